/*
 * Unit tests of the `file` sink (lib/connectors/file_sink.c): contents,
 * append versus truncate, NDJSON framing of multi-line values, the `lines`
 * format, fsync, a large volume through a small buffer, a clear error for a
 * path in a missing directory, ENOSPC (/dev/full) handled as a retryable
 * error with its reason, the `null` sink's counting, and `exactly_once`:
 * the committed length matching a watermark, and the cut back to it when
 * the pipeline resumes.
 */
#include "conn_test.h"
#include "pipeline/txn.h"

typedef struct fixture {
  char *dir, *out;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  f->dir = ct_tmpdir();
  f->out = ct_path(f->dir, "out.ndjson");
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  free(f->out);
  ct_rmdir(f->dir);
  free(f);
  return 0;
}

/* Feed `values` (NULL-terminated) into a file sink with `opts`. */
static int run_sink(const char *path, const char *opts,
                    const char *const *values, char *err, size_t errlen) {
  harness *h = harness_new();
  for (; *values; values++) harness_feed(h, *values);
  char *yaml = ct_fmt("name: t\n"
                      "sources: [{id: in, type: feed}]\n"
                      "sinks: [{id: out, type: file, inputs: [in], "
                      "path: '%s'%s%s}]\n",
                      path, opts ? ", " : "", opts ? opts : "");
  int rc = harness_run(h, yaml);
  free(yaml);
  if (err) snprintf(err, errlen, "%s", harness_errmsg(h));
  harness_free(h);
  return rc;
}

static void test_write_append_truncate(void **state) {
  fixture *f = *state;
  const char *const a[] = {"{\"a\":1}", "{\"a\":2}", NULL};
  const char *const b[] = {"{\"b\":3}", NULL};
  assert_int_equal(run_sink(f->out, NULL, a, NULL, 0), WIRE_OK);
  char *text = ct_read(f->out, NULL);
  assert_string_equal(text, "{\"a\":1}\n{\"a\":2}\n");
  free(text);
  /* append (the default) keeps what is there */
  assert_int_equal(run_sink(f->out, "append: true", b, NULL, 0), WIRE_OK);
  text = ct_read(f->out, NULL);
  assert_string_equal(text, "{\"a\":1}\n{\"a\":2}\n{\"b\":3}\n");
  free(text);
  /* append: false truncates at open */
  assert_int_equal(run_sink(f->out, "append: false", b, NULL, 0), WIRE_OK);
  text = ct_read(f->out, NULL);
  assert_string_equal(text, "{\"b\":3}\n");
  free(text);
}

static void test_formats(void **state) {
  fixture *f = *state;
  const char *const v[] = {"{\n  \"a\": 1\n}", "x\ny", NULL};
  assert_int_equal(run_sink(f->out, NULL, v, NULL, 0), WIRE_OK);
  char *text = ct_read(f->out, NULL);
  assert_string_equal(text, "{   \"a\": 1 }\nx y\n"); /* one line each */
  free(text);
  assert_int_equal(run_sink(f->out, "format: lines, append: false", v, NULL, 0),
                   WIRE_OK);
  text = ct_read(f->out, NULL);
  assert_string_equal(text, "{\n  \"a\": 1\n}\nx\ny\n"); /* as they are */
  free(text);
}

static void test_fsync_and_small_buffer(void **state) {
  fixture *f = *state;
  enum { N = 20000 };
  harness *h = harness_new();
  char v[64];
  size_t expect = 0;
  for (int i = 0; i < N; i++) {
    snprintf(v, sizeof v, "{\"i\":%d,\"pad\":\"%0*d\"}", i, i % 40, 0);
    harness_feed(h, v);
    expect += strlen(v) + 1;
  }
  /* A value longer than the buffer too. */
  char *big = malloc(10000);
  memset(big, 'z', 9999);
  big[0] = '"';
  big[9998] = '"';
  big[9999] = '\0';
  harness_feed(h, big);
  expect += 9999 + 1;
  char *yaml = ct_fmt("name: t\n"
                      "sources: [{id: in, type: feed, batch: 333}]\n"
                      "sinks: [{id: out, type: file, inputs: [in], path: '%s',"
                      " fsync: true, buffer_size: 4096}]\n",
                      f->out);
  assert_int_equal(harness_run(h, yaml), WIRE_OK);
  free(yaml);
  assert_int_equal(harness_stats(h, "out").out, N + 1);
  harness_free(h);
  size_t len = 0;
  char *text = ct_read(f->out, &len);
  assert_int_equal(len, expect);
  char *line = text;
  for (int i = 0; i < N; i++) {
    snprintf(v, sizeof v, "{\"i\":%d,\"pad\":\"%0*d\"}\n", i, i % 40, 0);
    assert_memory_equal(line, v, strlen(v));
    line += strlen(v);
  }
  assert_memory_equal(line, big, 9999);
  free(big);
  free(text);
}

static void test_missing_directory(void **state) {
  fixture *f = *state;
  char *path = ct_path(f->dir, "no/such/dir/out.ndjson");
  const char *const v[] = {"1", NULL};
  char err[512];
  int rc = run_sink(path, NULL, v, err, sizeof err);
  assert_int_not_equal(rc, WIRE_OK);
  assert_non_null(strstr(err, path));
  assert_non_null(strstr(err, "does not exist"));
  free(path);
}

/* /dev/full fails every write with ENOSPC: retried (the pipeline keeps
 * running), and after a stop the error names the reason. */
static void test_enospc_is_retryable(void **state) {
  (void)state;
  if (access("/dev/full", W_OK) != 0) skip();
  harness *h = harness_new();
  harness_feed(h, "{\"a\":1}");
  wire_ctx *ctx = harness_ctx(h);
  const char *yaml = "name: t\n"
                     "sources: [{id: in, type: feed}]\n"
                     "sinks: [{id: out, type: file, inputs: [in], "
                     "path: /dev/full}]\n";
  wire_pipeline *p = NULL;
  assert_int_equal(wire_pipeline_parse(ctx, yaml, strlen(yaml), NULL, &p), 0);
  assert_int_equal(wire_pipeline_start(p), 0);
  usleep(300000);
  assert_int_equal(wire_pipeline_get_state(p), WIRE_PIPELINE_RUNNING);
  wire_pipeline_stop(p);
  int rc = wire_pipeline_wait(p, 20000);
  assert_int_not_equal(rc, WIRE_OK);
  assert_non_null(strstr(wire_pipeline_errmsg(p), "write /dev/full"));
  assert_non_null(strstr(wire_pipeline_errmsg(p), "No space left on device"));
  wire_pipeline_free(p);
  harness_free(h);
}

static void test_null_sink_counts(void **state) {
  (void)state;
  harness *h = harness_new();
  for (int i = 0; i < 1000; i++) harness_feed(h, "{}");
  assert_int_equal(harness_run(h, "name: t\n"
                                  "sources: [{id: in, type: feed}]\n"
                                  "sinks: [{id: out, type: 'null', "
                                  "inputs: [in]}]\n"),
                   WIRE_OK);
  assert_int_equal(harness_stats(h, "out").in, 1000);
  assert_int_equal(harness_stats(h, "out").out, 1000);
  harness_free(h);
}

/* ---- exactly_once ------------------------------------------------------- */

typedef struct ckpt {
  char pos[256];
  char off[32];
  int sinks;
} ckpt;

static void ckpt_sink(void *ud, const char *sink_id, uint64_t offset) {
  ckpt *c = ud;
  assert_string_equal(sink_id, "out");
  snprintf(c->off, sizeof c->off, "%llu", (unsigned long long)offset);
  c->sinks++;
}

/* generator(count) -> jq .seq -> file (exactly_once), resumed from `from`
 * when given; returns the checkpoint state at the end. */
static ckpt run_eo(const char *path, int count, const ckpt *from,
                   const char *extra) {
  wire_ctx *ctx = NULL;
  assert_int_equal(wire_ctx_new(&ctx), 0);
  wire_ctx_set_log(ctx, WIRE_LOG_ERROR, NULL, NULL);
  char *yaml = ct_fmt("name: eo\n%s"
                      "sources: [{id: gen, type: generator, count: %d}]\n"
                      "operations: [{id: j, type: jq, inputs: [gen], expr: '.seq'}]\n"
                      "sinks: [{id: out, type: file, inputs: [j], path: '%s', "
                      "exactly_once: true}]\n",
                      extra ? extra : "", count, path);
  wire_pipeline *p = NULL;
  assert_int_equal(wire_pipeline_parse(ctx, yaml, strlen(yaml), "t", &p), 0);
  free(yaml);
  if (from) {
    assert_int_equal(wire_pipeline_set_resume(p, "gen", from->pos), 0);
    assert_int_equal(wire_pipeline_set_resume(p, "out", from->off), 0);
  }
  ckpt c = {0};
  int rc = wire_pipeline_start(p);
  if (rc) {
    snprintf(c.pos, sizeof c.pos, "%s", wire_pipeline_errmsg(p));
    c.sinks = -1;
  } else {
    assert_int_equal(wire_pipeline_wait(p, 20000), 0);
    assert_int_equal(pipe_txn_count(p), 1);
    char *pos = NULL;
    assert_int_equal(pipe_checkpoint_state(p, "gen", &pos, ckpt_sink, &c), 0);
    assert_non_null(pos);
    snprintf(c.pos, sizeof c.pos, "%s", pos);
    free(pos);
  }
  wire_pipeline_free(p);
  wire_ctx_free(ctx);
  return c;
}

static void expect_seqs(const char *path, int n) {
  size_t len;
  char *text = ct_read(path, &len);
  int next = 0;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
    assert_int_equal(atoi(line), next++);
  assert_int_equal(next, n);
  free(text);
}

static void test_exactly_once(void **state) {
  fixture *f = *state;
  /* All acknowledged: the committed length is the file's. */
  ckpt a = run_eo(f->out, 400, NULL, NULL);
  assert_int_equal(a.sinks, 1);
  struct stat sb;
  assert_int_equal(stat(f->out, &sb), 0);
  assert_int_equal(strtoull(a.off, NULL, 10), (unsigned long long)sb.st_size);
  expect_seqs(f->out, 400);
  /* Go on to 1000, then "crash": more records after what was committed
   * (and a torn line). */
  ckpt b = run_eo(f->out, 1000, &a, NULL);
  assert_int_equal(b.sinks, 1);
  expect_seqs(f->out, 1000);
  ct_puts(f->out, "a", "12345\n99");
  /* Resuming from the first checkpoint cuts the file back to its length
   * and replays 400..999: every record exactly once. */
  ckpt c = run_eo(f->out, 1000, &a, NULL);
  assert_string_equal(c.off, b.off);
  expect_seqs(f->out, 1000);
  /* One source and one partition only. */
  ckpt d = run_eo(f->out, 10, NULL, "partitions: 2\n");
  assert_int_equal(d.sinks, -1);
  assert_non_null(strstr(d.pos, "exactly_once needs a pipeline with one "
                                "source and one partition"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_write_append_truncate, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_formats, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fsync_and_small_buffer, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_missing_directory, setup, teardown),
      cmocka_unit_test(test_enospc_is_retryable),
      cmocka_unit_test(test_null_sink_counts),
      cmocka_unit_test_setup_teardown(test_exactly_once, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
