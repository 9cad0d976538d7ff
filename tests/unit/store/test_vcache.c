/*
 * Unit tests of the read cache of the store (lib/store/vcache.c): hits
 * return the latest value stored for the key, dropped keys miss, the byte
 * budget (entries and slot array) holds under eviction, CLOCK keeps entries that are read, the
 * probing table survives deletions (backward shift) in any order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/vcache.h"

static uint64_t rng(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static void test_basics(void **state) {
  (void)state;
  store_vcache c;
  vcache_init(&c, 1 << 20);
  const char *v;
  size_t n;
  uint64_t ms;
  assert_false(vcache_get(&c, "a", 1, &v, &n, &ms));
  vcache_fill(&c, "a", 1, "one", 3, 0);
  vcache_fill(&c, "b", 1, "", 0, 77);
  assert_true(vcache_get(&c, "a", 1, &v, &n, &ms));
  assert_int_equal(n, 3);
  assert_memory_equal(v, "one", 3);
  assert_int_equal(ms, 0);
  assert_true(vcache_get(&c, "b", 1, &v, &n, &ms));
  assert_int_equal(n, 0);
  assert_int_equal(ms, 77);
  /* update keeps the expiry; same length in place, other length moves */
  vcache_update(&c, "b", 1, "xyz", 3);
  assert_true(vcache_get(&c, "b", 1, &v, &n, &ms));
  assert_memory_equal(v, "xyz", 3);
  assert_int_equal(ms, 77);
  vcache_update(&c, "b", 1, "abc", 3);
  assert_true(vcache_get(&c, "b", 1, &v, &n, &ms));
  assert_memory_equal(v, "abc", 3);
  /* update of an uncached key caches nothing */
  vcache_update(&c, "z", 1, "zz", 2);
  assert_false(vcache_get(&c, "z", 1, &v, &n, &ms));
  vcache_drop(&c, "a", 1);
  assert_false(vcache_get(&c, "a", 1, &v, &n, &ms));
  /* binary keys: a prefix is another key */
  vcache_fill(&c, "k\0x", 3, "1", 1, 0);
  assert_false(vcache_get(&c, "k", 1, &v, &n, &ms));
  assert_true(vcache_get(&c, "k\0x", 3, &v, &n, &ms));
  /* too big for the cache: not kept */
  static char big[1 << 16];
  vcache_fill(&c, "big", 3, big, sizeof big, 0);
  assert_false(vcache_get(&c, "big", 3, &v, &n, &ms));
  vcache_clear(&c);
  assert_int_equal(c.count, 0);
  assert_int_equal(c.bytes, 0);
  assert_false(vcache_get(&c, "b", 1, &v, &n, &ms));
  vcache_free(&c);
  /* disabled */
  vcache_init(&c, 0);
  vcache_fill(&c, "a", 1, "one", 3, 0);
  assert_false(vcache_get(&c, "a", 1, &v, &n, &ms));
  vcache_free(&c);
}

/* Random fills, updates, drops and reads against a model: a hit always
 * has the model's value, the byte budget always holds. */
static void test_model(void **state) {
  (void)state;
  enum { KEYS = 3000 };
  static char model[KEYS][40];
  static int present[KEYS];
  store_vcache c;
  vcache_init(&c, 64 * 1024); /* far fewer bytes than the keys need */
  uint64_t s = 88172645463325252ull;
  uint64_t hits = 0;
  for (int step = 0; step < 400000; step++) {
    int k = (int)(rng(&s) % KEYS);
    char key[16];
    int kl = snprintf(key, sizeof key, "key%d", k);
    char val[40];
    int vl = snprintf(val, sizeof val, "v%llu", (unsigned long long)(rng(&s) % 100000000000ull));
    switch (rng(&s) % 4) {
      case 0:
        vcache_fill(&c, key, (size_t)kl, val, (size_t)vl, 0);
        memcpy(model[k], val, (size_t)vl + 1);
        present[k] = 1;
        break;
      case 1:
        vcache_update(&c, key, (size_t)kl, val, (size_t)vl);
        memcpy(model[k], val, (size_t)vl + 1);
        present[k] = 1;
        break;
      case 2:
        vcache_drop(&c, key, (size_t)kl);
        present[k] = 0;
        break;
      default: {
        const char *v;
        size_t n;
        uint64_t ms;
        if (vcache_get(&c, key, (size_t)kl, &v, &n, &ms)) {
          hits++;
          if (!present[k]) fail_msg("step %d: %s dropped but cached", step, key);
          if (n != strlen(model[k]) || memcmp(v, model[k], n))
            fail_msg("step %d: %s cached '%.*s', latest '%s'", step, key,
                     (int)n, v, model[k]);
        }
      }
    }
    assert_true(c.bytes + c.cap * sizeof(void *) <= 64 * 1024);
  }
  assert_true(hits > 1000);
  /* every entry is findable (no probe run broken by the deletions) */
  size_t found = 0;
  for (int k = 0; k < KEYS; k++) {
    char key[16];
    int kl = snprintf(key, sizeof key, "key%d", k);
    const char *v;
    size_t n;
    uint64_t ms;
    found += vcache_get(&c, key, (size_t)kl, &v, &n, &ms);
  }
  assert_int_equal(found, c.count);
  vcache_free(&c);
}

/* Tiny entries: the slot array counts in the budget too (it would
 * otherwise add half again to it), and the cache still works at its cap. */
static void test_budget_counts_slots(void **state) {
  (void)state;
  enum { BUDGET = 256 * 1024 };
  store_vcache c;
  vcache_init(&c, BUDGET);
  const char *v;
  size_t n;
  uint64_t ms;
  for (int i = 0; i < 100000; i++) {
    char key[16];
    int kl = snprintf(key, sizeof key, "k%d", i);
    vcache_fill(&c, key, (size_t)kl, "x", 1, 0);
    if (c.bytes + c.cap * sizeof(void *) > BUDGET)
      fail_msg("after %d fills: %zu bytes of entries + %zu slots > %d", i + 1,
               c.bytes, c.cap, BUDGET);
    assert_true(vcache_get(&c, key, (size_t)kl, &v, &n, &ms));
  }
  assert_true(c.count > 2000); /* about 40 bytes an entry + 2 slots */
  assert_true(c.count * 2 <= c.cap);
  vcache_free(&c);
}

/* CLOCK: an entry read between fills outlives entries never read. */
static void test_clock_keeps_read_entries(void **state) {
  (void)state;
  store_vcache c;
  vcache_init(&c, 32 * 1024);
  const char *v;
  size_t n;
  uint64_t ms;
  vcache_fill(&c, "hot", 3, "h", 1, 0);
  for (int i = 0; i < 20000; i++) {
    char key[16];
    int kl = snprintf(key, sizeof key, "cold%d", i);
    vcache_fill(&c, key, (size_t)kl, "0123456789", 10, 0);
    assert_true(vcache_get(&c, "hot", 3, &v, &n, &ms));
  }
  assert_false(vcache_get(&c, "cold0", 5, &v, &n, &ms));
  vcache_free(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_basics),
      cmocka_unit_test(test_model),
      cmocka_unit_test(test_clock_keeps_read_entries),
      cmocka_unit_test(test_budget_counts_slots),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
