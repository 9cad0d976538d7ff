/* Unit tests of the per-source position tracker (lib/pipeline/track.c): the
 * low watermark only moves over a contiguous prefix of completed batches,
 * and freezes after a failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pipeline/pipe.h"

static wire_batch *batch_at(int pos) {
  wire_batch *b = batch_new(4, NULL, NULL);
  char s[32];
  snprintf(s, sizeof s, "{\"offset\":%d}", pos);
  wire_batch_set_position(b, s);
  return b;
}

static char *wm(src_track *t) {
  static char buf[64];
  char *w = NULL;
  track_watermark(t, NULL, &w);
  snprintf(buf, sizeof buf, "%s", w);
  core_free(w);
  return buf;
}

static void test_out_of_order(void **state) {
  (void)state;
  atomic_bool frozen = false;
  src_track t;
  assert_int_equal(track_init(&t, &frozen, NULL), 0);
  wire_batch *b[200];
  for (int i = 0; i < 200; i++) { /* more than the initial ring capacity */
    b[i] = batch_at((i + 1) * 10);
    assert_int_equal(track_add(&t, b[i]), 0);
    assert_int_equal(b[i]->seq, (uint64_t)i);
  }
  assert_string_equal(wm(&t), "");
  batch_unref(b[1]); /* completes seq 1: not contiguous yet */
  assert_string_equal(wm(&t), "");
  batch_unref(b[0]);
  assert_string_equal(wm(&t), "{\"offset\":20}");
  uint64_t v = 0;
  char *w = NULL;
  assert_true(track_watermark(&t, &v, &w));
  core_free(w);
  assert_false(track_watermark(&t, &v, &w)); /* unchanged since */
  for (int i = 199; i >= 2; i--) batch_unref(b[i]);
  assert_string_equal(wm(&t), "{\"offset\":2000}");
  track_destroy(&t);
}

static void test_child_batches_hold_position(void **state) {
  (void)state;
  atomic_bool frozen = false;
  src_track t;
  track_init(&t, &frozen, "{\"offset\":0}");
  assert_string_equal(wm(&t), "{\"offset\":0}");
  wire_batch *src = batch_at(5);
  track_add(&t, src);
  wire_batch *child = batch_new(4, NULL, src);
  batch_unref(src); /* the source thread lets go; the child keeps it */
  assert_string_equal(wm(&t), "{\"offset\":0}");
  batch_unref(child);
  assert_string_equal(wm(&t), "{\"offset\":5}");
  track_destroy(&t);
}

static void test_frozen_after_failure(void **state) {
  (void)state;
  atomic_bool frozen = false;
  src_track t;
  track_init(&t, &frozen, NULL);
  wire_batch *a = batch_at(1), *b = batch_at(2);
  track_add(&t, a);
  track_add(&t, b);
  batch_unref(a);
  atomic_store(&frozen, true);
  batch_unref(b);
  assert_string_equal(wm(&t), "{\"offset\":1}");
  track_destroy(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_out_of_order),
      cmocka_unit_test(test_child_batches_hold_position),
      cmocka_unit_test(test_frozen_after_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
