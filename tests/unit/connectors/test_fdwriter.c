/*
 * Unit tests of the buffered record writer shared by the file and stdout
 * sinks (lib/connectors/fdwriter.c): a write or drain that fails with a
 * transient error and is retried with the same batch resumes exactly where
 * it stopped (no byte lost, none duplicated), and a hard error is fatal with
 * the descriptor's name in the message.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "connectors/fdwriter.h"
#include "pipeline/pipe.h"

typedef struct sink_buf {
  char *data;
  size_t len, cap;
} sink_buf;

/* Read everything available from a non-blocking descriptor. */
static void slurp(int fd, sink_buf *b) {
  for (;;) {
    if (b->cap - b->len < 4096) {
      b->cap = b->cap ? b->cap * 2 : 65536;
      b->data = realloc(b->data, b->cap);
    }
    ssize_t n = read(fd, b->data + b->len, b->cap - b->len);
    if (n <= 0) return;
    b->len += (size_t)n;
  }
}

static void test_retry_resumes_exactly(void **state) {
  (void)state;
  int fds[2];
  assert_int_equal(pipe2(fds, O_NONBLOCK), 0);
  fcntl(fds[1], F_SETPIPE_SZ, 4096); /* fill it quickly */
  wire_stage st;
  memset(&st, 0, sizeof st);
  fdw w;
  assert_int_equal(fdw_init(&w, &st, fds[1], "the-pipe", 1000, true), 0);

  core_rng rng;
  core_rng_seed(&rng, 1);
  sink_buf expect = {0}, got = {0};
  int eagain = 0;
  for (int round = 0; round < 3; round++) {
    wire_batch *b = batch_new(64, &rng, NULL);
    for (int i = 0; i < 3000; i++) {
      char v[64];
      int n = snprintf(v, sizeof v, "{\"r\":%d,\"i\":%d}", round, i);
      assert_int_equal(wire_batch_append_value(b, v, (size_t)n), 0);
      expect.data = realloc(expect.data, expect.len + (size_t)n + 1);
      memcpy(expect.data + expect.len, v, (size_t)n);
      expect.len += (size_t)n;
      expect.data[expect.len++] = '\n';
    }
    int rc;
    while ((rc = fdw_write(&w, b)) == WIRE_EAGAIN) { /* same batch again */
      if (++eagain > 100000) fail_msg("no progress after retries");
      assert_non_null(strstr(st.errmsg, "write the-pipe"));
      slurp(fds[0], &got);
    }
    assert_int_equal(rc, WIRE_OK);
    batch_unref(b);
  }
  int rc;
  while ((rc = fdw_drain(&w)) == WIRE_EAGAIN) {
    if (++eagain > 100000) fail_msg("no progress after retries");
    slurp(fds[0], &got);
  }
  assert_int_equal(rc, WIRE_OK);
  assert_int_equal(fdw_pending(&w), 0);
  slurp(fds[0], &got);
  assert_true(eagain > 10);
  assert_int_equal(got.len, expect.len);
  assert_memory_equal(got.data, expect.data, expect.len);
  assert_int_equal(w.written, expect.len);
  fdw_free(&w);
  close(fds[0]);
  close(fds[1]);
  free(expect.data);
  free(got.data);
}

static void test_hard_error_is_fatal(void **state) {
  (void)state;
  int fd = open("/dev/null", O_RDONLY);
  assert_true(fd >= 0);
  wire_stage st;
  memset(&st, 0, sizeof st);
  fdw w;
  assert_int_equal(fdw_init(&w, &st, fd, "/dev/null(ro)", 4096, true), 0);
  core_rng rng;
  core_rng_seed(&rng, 1);
  wire_batch *b = batch_new(4, &rng, NULL);
  assert_int_equal(wire_batch_append_value(b, "1", 1), 0);
  assert_int_equal(fdw_write(&w, b), WIRE_OK); /* buffered */
  assert_int_equal(fdw_drain(&w), WIRE_EIO);
  assert_non_null(strstr(st.errmsg, "write /dev/null(ro): Bad file descriptor"));
  assert_int_equal(fdw_pending(&w), 2); /* nothing dropped */
  batch_unref(b);
  fdw_free(&w);
  close(fd);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_retry_resumes_exactly),
      cmocka_unit_test(test_hard_error_is_fatal),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
