/* Unit tests of UUIDv7 generation, formatting, the RNG and the hash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/core.h"
#include "wire/event.h"

static void test_layout(void **state) {
  (void)state;
  core_rng r;
  core_rng_seed(&r, 42);
  uint8_t id[16];
  uint64_t ms = 0x0123456789abULL;
  core_uuid7(&r, ms, id);
  /* RFC 9562 §5.7: 48-bit big-endian ms, version 7, variant 0b10. */
  uint64_t got = 0;
  for (int i = 0; i < 6; i++) got = got << 8 | id[i];
  assert_int_equal(got, ms);
  assert_int_equal(id[6] >> 4, 7);
  assert_int_equal(id[8] >> 6, 2);
  char text[37];
  wire_uuid_format(id, text);
  assert_int_equal(strlen(text), 36);
  assert_memory_equal(text, "01234567-89ab-7", 15);
  assert_int_equal(text[8], '-');
  assert_int_equal(text[23], '-');
}

static void test_unique_and_sortable(void **state) {
  (void)state;
  core_rng r;
  core_rng_seed(&r, 0);
  uint8_t prev[16], id[16];
  core_uuid7(&r, 1000, prev);
  for (uint64_t ms = 1001; ms < 3000; ms++) {
    core_uuid7(&r, ms, id);
    assert_true(memcmp(prev, id, 16) < 0); /* time-ordered */
    memcpy(prev, id, 16);
  }
  uint8_t a[16], b[16];
  core_uuid7(&r, 5, a);
  core_uuid7(&r, 5, b);
  assert_true(memcmp(a, b, 16) != 0);
}

static void test_deterministic_make(void **state) {
  (void)state;
  uint8_t a[16], b[16];
  wire_uuid7_make(a, 77, 1, 2);
  wire_uuid7_make(b, 77, 1, 2);
  assert_memory_equal(a, b, 16);
  wire_uuid7_make(b, 77, 1, 3);
  assert_memory_not_equal(a, b, 16);
}

static void test_rng_and_hash(void **state) {
  (void)state;
  core_rng a, b;
  core_rng_seed(&a, 7);
  core_rng_seed(&b, 7);
  for (int i = 0; i < 100; i++) assert_int_equal(core_rng_next(&a), core_rng_next(&b));
  double sum = 0;
  for (int i = 0; i < 10000; i++) {
    double d = core_rng_double(&a);
    assert_true(d >= 0 && d < 1);
    sum += d;
  }
  assert_true(sum > 4500 && sum < 5500);
  assert_int_equal(core_hash64("abc", 3, 1), core_hash64("abc", 3, 1));
  assert_int_not_equal(core_hash64("abc", 3, 1), core_hash64("abd", 3, 1));
  assert_int_not_equal(core_hash64("abc", 3, 1), core_hash64("abc", 3, 2));
  /* Spread over 8 buckets is roughly even. */
  int buckets[8] = {0};
  char key[32];
  for (int i = 0; i < 8000; i++) {
    int n = snprintf(key, sizeof key, "user-%d", i);
    buckets[core_hash64(key, (size_t)n, 0) % 8]++;
  }
  for (int i = 0; i < 8; i++) assert_true(buckets[i] > 800 && buckets[i] < 1200);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_layout),
      cmocka_unit_test(test_unique_and_sortable),
      cmocka_unit_test(test_deterministic_make),
      cmocka_unit_test(test_rng_and_hash),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
