/* Unit tests of the arena allocator and growable buffers (lib/core). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/core.h"

static void test_alignment_and_content(void **state) {
  (void)state;
  core_arena a;
  core_arena_init(&a, 256);
  char *ptrs[1000];
  for (int i = 0; i < 1000; i++) {
    size_t n = (size_t)(i % 37) + 1;
    ptrs[i] = core_arena_alloc(&a, n);
    assert_non_null(ptrs[i]);
    assert_int_equal((uintptr_t)ptrs[i] % 8, 0);
    memset(ptrs[i], i & 0xff, n);
  }
  /* Nothing overlapped: every allocation still holds its own byte. */
  for (int i = 0; i < 1000; i++) {
    size_t n = (size_t)(i % 37) + 1;
    for (size_t k = 0; k < n; k++)
      assert_int_equal((unsigned char)ptrs[i][k], i & 0xff);
  }
  core_arena_destroy(&a);
}

static void test_large_allocations(void **state) {
  (void)state;
  core_arena a;
  core_arena_init(&a, 1024);
  char *small1 = core_arena_alloc(&a, 16);
  char *big = core_arena_alloc(&a, 100000);
  char *small2 = core_arena_alloc(&a, 16);
  assert_non_null(big);
  memset(big, 'x', 100000);
  /* The big block did not displace the current block. */
  assert_ptr_equal(small2, small1 + 16);
  assert_int_equal(a.used, 16 + 100000 + 16);
  core_arena_reset(&a);
  assert_int_equal(a.used, 0);
  assert_non_null(core_arena_alloc(&a, 8));
  core_arena_destroy(&a);
}

static void test_memdup(void **state) {
  (void)state;
  core_arena a;
  core_arena_init(&a, 0);
  const char *s = "hello arena";
  char *d = core_arena_memdup(&a, s, strlen(s) + 1);
  assert_string_equal(d, s);
  assert_ptr_not_equal(d, s);
  core_arena_destroy(&a);
}

static void test_oom(void **state) {
  (void)state;
  core_arena a;
  core_arena_init(&a, 64);
  core_alloc_fail_after(0);
  assert_null(core_arena_alloc(&a, 8));
  core_alloc_fail_after(-1);
  assert_non_null(core_arena_alloc(&a, 8));
  core_arena_destroy(&a);
}

static void test_buf(void **state) {
  (void)state;
  core_buf b = {0};
  for (int i = 0; i < 1000; i++) assert_int_equal(core_buf_printf(&b, "%d,", i), 0);
  assert_memory_equal(b.data, "0,1,2,", 6);
  assert_int_equal(b.data[b.len], '\0');
  core_buf_free(&b);
  core_buf j = {0};
  const char raw[] = "a\"b\\c\n\x01";
  assert_int_equal(core_buf_json_string(&j, raw, sizeof raw - 1), 0);
  assert_string_equal(j.data, "\"a\\\"b\\\\c\\n\\u0001\"");
  core_buf_free(&j);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_alignment_and_content),
      cmocka_unit_test(test_large_allocations),
      cmocka_unit_test(test_memdup),
      cmocka_unit_test(test_oom),
      cmocka_unit_test(test_buf),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
