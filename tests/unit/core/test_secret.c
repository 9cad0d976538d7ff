/* Unit tests of the secret helpers (RESP AUTH, HTTP bearer token). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/core.h"

static bool eq(const char *got, const char *want) {
  return core_secret_eq(got, strlen(got), want);
}

static void test_secret_eq(void **state) {
  (void)state;
  assert_true(eq("s3cret", "s3cret"));
  /* every kind of difference: a byte anywhere, a prefix, a longer value */
  assert_false(eq("S3cret", "s3cret"));
  assert_false(eq("s3creT", "s3cret"));
  assert_false(eq("s3cre", "s3cret"));
  assert_false(eq("s3crets", "s3cret"));
  assert_false(eq("", "s3cret"));
  /* an empty secret never matches (it means "none configured") */
  assert_false(eq("", ""));
  assert_false(eq("x", ""));
  /* binary-safe: a NUL inside the given bytes is a difference */
  assert_false(core_secret_eq("s3c\0et", 6, "s3cret"));
  /* a value that repeats the secret is not the secret */
  assert_false(eq("s3crets3cret", "s3cret"));
}

static void test_secret_free(void **state) {
  (void)state;
  core_secret_free(NULL); /* no-op */
  char *s = core_strdup("hunter2");
  assert_non_null(s);
  core_secret_free(s); /* ASan checks the free; zeroing is not observable */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_secret_eq),
      cmocka_unit_test(test_secret_free),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
