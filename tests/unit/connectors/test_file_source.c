/*
 * Unit tests of the `file` source (lib/connectors/file_source.c and the
 * shared line reader): NDJSON validation with line numbers, empty and CRLF
 * lines, a final line without newline, max_line (also across reads), the
 * `lines` format, empty and missing files, resume positions with
 * deterministic ids, start: end, batch boundaries, and follow mode with a
 * partial line, rotation, truncation and a file that appears late.  Every
 * test runs a real pipeline.
 */
#include "conn_test.h"

typedef struct fixture {
  char *dir;
  char *in;  /* DIR/in.ndjson */
  char *dlq; /* DIR/dlq.ndjson */
  seen s;
  wire_ctx *ctx;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  f->dir = ct_tmpdir();
  f->in = ct_path(f->dir, "in.ndjson");
  f->dlq = ct_path(f->dir, "dlq.ndjson");
  seen_init(&f->s);
  f->ctx = ct_ctx(&f->s);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  wire_ctx_free(f->ctx);
  seen_free(&f->s);
  free(f->in);
  free(f->dlq);
  ct_rmdir(f->dir);
  free(f);
  return 0;
}

/* Run `sources: [{id: in, type: file, path: IN, OPTS}]` into the seen sink
 * with a dead-letter file. */
static ct_run run_file(fixture *f, const char *opts, const char *resume) {
  char *yaml = ct_fmt("name: t\n"
                      "dead_letter: %s\n"
                      "sources: [{id: in, type: file, path: '%s'%s%s}]\n"
                      "sinks: [{id: out, type: seen, inputs: [in]}]\n",
                      f->dlq, f->in, opts ? ", " : "", opts ? opts : "");
  ct_run r = ct_pipeline(f->ctx, yaml, "in", resume, "in");
  free(yaml);
  return r;
}

static void test_ndjson_validation_and_line_numbers(void **state) {
  fixture *f = *state;
  const char *text = "{\"a\":1}\n"  /* 1 */
                     "{bad\n"       /* 2: invalid */
                     "\n"           /* 3: empty, skipped */
                     "   \t \n"     /* 4: blank, skipped */
                     "{\"a\":2}\r\n" /* 5: CRLF */
                     "[1,2]\n"      /* 6 */
                     "{\"a\":}\n"   /* 7: invalid */
                     "\"str\"";     /* 8: no final newline */
  ct_puts(f->in, "w", text);
  ct_run r = run_file(f, NULL, NULL);
  assert_int_equal(r.rc_start, WIRE_OK);
  assert_int_equal(r.rc_wait, WIRE_OK);
  assert_int_equal(f->s.n, 4);
  assert_string_equal(f->s.vals[0], "{\"a\":1}");
  assert_string_equal(f->s.vals[1], "{\"a\":2}");
  assert_string_equal(f->s.vals[2], "[1,2]");
  assert_string_equal(f->s.vals[3], "\"str\"");
  assert_int_equal(r.errors, 2);
  char *dlq = ct_read(f->dlq, NULL);
  assert_non_null(dlq);
  assert_non_null(strstr(dlq, "line 2: invalid JSON at byte"));
  assert_non_null(strstr(dlq, "line 7: invalid JSON at byte"));
  assert_non_null(strstr(dlq, "{bad"));
  free(dlq);
  /* The watermark is the end of the file, after line 8. */
  char *want = ct_fmt("{\"path\":\"%s\",\"inode\":%llu,\"offset\":%zu,"
                      "\"line\":8}",
                      f->in, (unsigned long long)ct_inode(f->in),
                      strlen(text));
  assert_string_equal(r.watermark, want);
  free(want);
}

static void test_lines_format(void **state) {
  fixture *f = *state;
  ct_puts(f->in, "w", "plain text\n{not json\n\n  spaced  \r\nlast");
  ct_run r = run_file(f, "format: lines", NULL);
  assert_int_equal(r.rc_wait, WIRE_OK);
  assert_int_equal(r.errors, 0);
  assert_int_equal(f->s.n, 4);
  assert_string_equal(f->s.vals[0], "plain text");
  assert_string_equal(f->s.vals[1], "{not json");
  assert_string_equal(f->s.vals[2], "  spaced  ");
  assert_string_equal(f->s.vals[3], "last");
}

static void test_max_line(void **state) {
  fixture *f = *state;
  ct_puts(f->in, "w", "\"short\"\n\"0123456789abcdef\"\n\"ok\"\n");
  ct_run r = run_file(f, "max_line: 10", NULL);
  assert_int_equal(r.rc_wait, WIRE_OK);
  assert_int_equal(f->s.n, 2);
  assert_string_equal(f->s.vals[0], "\"short\"");
  assert_string_equal(f->s.vals[1], "\"ok\"");
  assert_int_equal(r.errors, 1);
  char *dlq = ct_read(f->dlq, NULL);
  assert_non_null(strstr(dlq, "line 2 longer than max_line"));
  free(dlq);
}

/* A 3 MiB line with the default max_line (1 MiB) spans several reads: it is
 * rejected once, discarded as it arrives, and the next line is intact. */
static void test_max_line_across_reads(void **state) {
  fixture *f = *state;
  size_t big = 3u << 20;
  char *data = malloc(big + 64);
  if (!data) abort();
  size_t n = 0;
  n += (size_t)sprintf(data, "{\"a\":1}\n\"");
  memset(data + n, 'x', big);
  n += big;
  n += (size_t)sprintf(data + n, "\"\n{\"b\":2}\n");
  ct_write(f->in, "w", data, n);
  free(data);
  ct_run r = run_file(f, NULL, NULL);
  assert_int_equal(r.rc_wait, WIRE_OK);
  assert_int_equal(f->s.n, 2);
  assert_string_equal(f->s.vals[0], "{\"a\":1}");
  assert_string_equal(f->s.vals[1], "{\"b\":2}");
  assert_int_equal(r.errors, 1);
  char *dlq = ct_read(f->dlq, NULL);
  assert_non_null(strstr(dlq, "line 2 longer than max_line"));
  free(dlq);
  assert_non_null(strstr(r.watermark, "\"line\":3}"));
}

static void test_empty_files(void **state) {
  fixture *f = *state;
  ct_puts(f->in, "w", "");
  ct_run r = run_file(f, NULL, NULL);
  assert_int_equal(r.rc_wait, WIRE_OK);
  assert_int_equal(f->s.n, 0);
  assert_int_equal(r.errors, 0);
  ct_puts(f->in, "w", "\n\n  \n\n");
  r = run_file(f, NULL, NULL);
  assert_int_equal(r.rc_wait, WIRE_OK);
  assert_int_equal(f->s.n, 0);
  assert_int_equal(r.errors, 0);
  assert_non_null(strstr(r.watermark, "\"offset\":6,\"line\":4}"));
}

static void test_missing_file(void **state) {
  fixture *f = *state;
  ct_run r = run_file(f, NULL, NULL);
  assert_int_not_equal(r.rc_start, WIRE_OK);
  assert_non_null(strstr(r.errmsg, f->in));
  assert_non_null(strstr(r.errmsg, "No such file or directory"));
}

static void test_resume_and_deterministic_ids(void **state) {
  fixture *f = *state;
  char text[1024] = "";
  size_t off6 = 0;
  for (int i = 1; i <= 10; i++) {
    if (i == 6) off6 = strlen(text);
    sprintf(text + strlen(text), "{\"n\":%d}\n", i);
  }
  ct_puts(f->in, "w", text);
  ct_run r = run_file(f, NULL, NULL);
  assert_int_equal(r.rc_wait, WIRE_OK);
  assert_int_equal(f->s.n, 10);
  char ids[10][37];
  for (int i = 0; i < 10; i++) {
    memcpy(ids[i], f->s.ids[i], 37);
    for (int j = 0; j < i; j++) assert_string_not_equal(ids[i], ids[j]);
  }
  /* A second full run gives the same ids. */
  r = run_file(f, NULL, NULL);
  assert_int_equal(f->s.n, 20);
  for (int i = 0; i < 10; i++) assert_string_equal(f->s.ids[10 + i], ids[i]);
  /* Resume at line 6: lines 6..10 with the ids of the first run. */
  char *pos = ct_fmt("{\"path\":\"%s\",\"inode\":%llu,\"offset\":%zu,"
                     "\"line\":5}",
                     f->in, (unsigned long long)ct_inode(f->in), off6);
  r = run_file(f, NULL, pos);
  free(pos);
  assert_int_equal(r.rc_wait, WIRE_OK);
  assert_int_equal(f->s.n, 25);
  for (int i = 0; i < 5; i++) {
    char want[32];
    sprintf(want, "{\"n\":%d}", 6 + i);
    assert_string_equal(f->s.vals[20 + i], want);
    assert_string_equal(f->s.ids[20 + i], ids[5 + i]);
  }
  assert_non_null(strstr(r.watermark, "\"line\":10}"));
  /* A line number after resume still counts from the file's start. */
  ct_puts(f->in, "a", "{oops\n");
  pos = ct_fmt("{\"inode\":%llu,\"offset\":%zu,\"line\":10}",
               (unsigned long long)ct_inode(f->in), strlen(text));
  r = run_file(f, NULL, pos);
  free(pos);
  assert_int_equal(r.errors, 1);
  char *dlq = ct_read(f->dlq, NULL);
  assert_non_null(strstr(dlq, "line 11: invalid JSON"));
  free(dlq);
  /* A position for another inode (the file was rotated): from the start. */
  r = run_file(f, NULL, "{\"inode\":1,\"offset\":5,\"line\":1}");
  assert_int_equal(r.rc_wait, WIRE_OK);
  assert_int_equal(f->s.n, 25 + 10);
  assert_string_equal(f->s.vals[25], "{\"n\":1}");
  /* A malformed position is an error, not a silent restart. */
  r = run_file(f, NULL, "{\"offset\":\"x\"}");
  assert_int_not_equal(r.rc_start, WIRE_OK);
  assert_non_null(strstr(r.errmsg, "invalid resume position"));
}

static void test_start_end(void **state) {
  fixture *f = *state;
  ct_puts(f->in, "w", "{\"a\":1}\n{\"a\":2}\n");
  ct_run r = run_file(f, "start: end", NULL);
  assert_int_equal(r.rc_wait, WIRE_OK);
  assert_int_equal(f->s.n, 0);
}

/* Many lines, tiny batches: every line once, in order. */
static void test_batch_boundaries(void **state) {
  fixture *f = *state;
  FILE *fp = fopen(f->in, "w");
  for (int i = 0; i < 100000; i++) fprintf(fp, "{\"i\":%d}\n", i);
  fclose(fp);
  char *yaml = ct_fmt("name: t\nbatch_size: 7\n"
                      "sources: [{id: in, type: file, path: '%s'}]\n"
                      "sinks: [{id: out, type: seen, inputs: [in]}]\n",
                      f->in);
  ct_run r = ct_pipeline(f->ctx, yaml, "in", NULL, "in");
  free(yaml);
  assert_int_equal(r.rc_wait, WIRE_OK);
  assert_int_equal(f->s.n, 100000);
  for (int i = 0; i < 100000; i++) {
    char want[32];
    sprintf(want, "{\"i\":%d}", i);
    if (strcmp(f->s.vals[i], want) != 0) fail_msg("record %d: %s", i, f->s.vals[i]);
  }
}

/* ---- follow mode ------------------------------------------------------- */

static wire_pipeline *start_follow(fixture *f, const char *extra) {
  char *yaml = ct_fmt("name: t\n"
                      "sources: [{id: in, type: file, path: '%s', follow: "
                      "true, poll_interval_ms: 20%s}]\n"
                      "sinks: [{id: out, type: seen, inputs: [in]}]\n",
                      f->in, extra ? extra : "");
  wire_pipeline *p = NULL;
  assert_int_equal(wire_pipeline_parse(f->ctx, yaml, strlen(yaml), "t.yaml", &p),
                   0);
  free(yaml);
  assert_int_equal(wire_pipeline_start(p), 0);
  return p;
}

static void append_range(const char *path, int from, int to) {
  FILE *fp = fopen(path, "a");
  assert_non_null(fp);
  for (int i = from; i < to; i++) fprintf(fp, "{\"i\":%d}\n", i);
  fclose(fp);
}

static void assert_sequence(seen *s, int n) {
  pthread_mutex_lock(&s->mu);
  assert_int_equal(s->n, n);
  for (int i = 0; i < n; i++) {
    char want[32];
    sprintf(want, "{\"i\":%d}", i);
    if (strcmp(s->vals[i], want) != 0)
      fail_msg("record %d is %s, expected %s", i, s->vals[i], want);
  }
  pthread_mutex_unlock(&s->mu);
}

static void test_follow_rotation_truncation(void **state) {
  fixture *f = *state;
  ct_puts(f->in, "w", "");
  wire_pipeline *p = start_follow(f, NULL);
  /* Appends arrive. */
  append_range(f->in, 0, 100);
  assert_true(ct_wait_count(&f->s, 100, 5000));
  /* A line without its newline waits for it. */
  ct_puts(f->in, "a", "{\"i\":100}");
  usleep(150000);
  assert_int_equal(seen_count(&f->s), 100);
  ct_puts(f->in, "a", "\n");
  assert_true(ct_wait_count(&f->s, 101, 5000));
  /* Rotation by rename + create, with unread lines left in the old file,
   * the last one without its newline: the old file is finished (its last
   * line included) before the new one starts. */
  append_range(f->in, 101, 150);
  ct_puts(f->in, "a", "{\"i\":150}");
  char *old = ct_path(f->dir, "in.ndjson.1");
  assert_int_equal(rename(f->in, old), 0);
  append_range(f->in, 151, 201);
  assert_true(ct_wait_count(&f->s, 201, 5000));
  /* Truncation (copytruncate): the file restarts at 0. */
  append_range(f->in, 201, 231); /* read, then the file is cut */
  assert_true(ct_wait_count(&f->s, 231, 5000));
  ct_puts(f->in, "w", "");
  usleep(200000);
  append_range(f->in, 231, 241);
  assert_true(ct_wait_count(&f->s, 241, 5000));
  usleep(100000);
  wire_pipeline_stop(p);
  assert_int_equal(wire_pipeline_wait(p, 10000), WIRE_OK);
  assert_sequence(&f->s, 241);
  char wm[512];
  assert_int_equal(wire_pipeline_watermark(p, "in", wm, sizeof wm), 0);
  char *want = ct_fmt("\"inode\":%llu,\"offset\":%d,\"line\":10,\"gen\":1}",
                      (unsigned long long)ct_inode(f->in), 10 * 10);
  assert_non_null(strstr(wm, want));
  free(want);
  wire_pipeline_free(p);
  free(old);
}

static void test_follow_waits_for_file(void **state) {
  fixture *f = *state;
  wire_pipeline *p = start_follow(f, NULL);
  usleep(100000);
  assert_int_equal(wire_pipeline_get_state(p), WIRE_PIPELINE_RUNNING);
  append_range(f->in, 0, 20);
  assert_true(ct_wait_count(&f->s, 20, 5000));
  wire_pipeline_stop(p);
  assert_int_equal(wire_pipeline_wait(p, 10000), WIRE_OK);
  assert_sequence(&f->s, 20);
  wire_pipeline_free(p);
}

static void test_follow_start_end(void **state) {
  fixture *f = *state;
  append_range(f->in, -5, 0); /* before the start: not read */
  wire_pipeline *p = start_follow(f, ", start: end");
  usleep(100000);
  append_range(f->in, 0, 10);
  assert_true(ct_wait_count(&f->s, 10, 5000));
  wire_pipeline_stop(p);
  assert_int_equal(wire_pipeline_wait(p, 10000), WIRE_OK);
  assert_sequence(&f->s, 10);
  wire_pipeline_free(p);
}

/* The file source's lag: bytes of the file after what it handed out; 0
 * once it read everything, and growing again when the file grows while
 * it follows it. */
static void test_lag_bytes(void **state) {
  fixture *f = *state;
  FILE *fp = fopen(f->in, "w");
  assert_non_null(fp);
  for (int i = 0; i < 1000; i++) fprintf(fp, "{\"i\":%d}\n", i);
  fclose(fp);
  char *yaml = ct_fmt("name: t\nsources: [{id: in, type: file, path: '%s', "
                      "follow: true}]\nsinks: [{id: out, type: seen, "
                      "inputs: [in]}]\n",
                      f->in);
  wire_pipeline *p = NULL;
  assert_int_equal(wire_pipeline_parse(f->ctx, yaml, strlen(yaml), NULL, &p), 0);
  free(yaml);
  assert_int_equal(wire_pipeline_start(p), 0);
  assert_true(ct_wait_count(&f->s, 1000, 5000));
  wire_node_stats st = {0};
  for (int i = 0; i < 100; i++) { /* the lag is sampled every 100 ms */
    assert_int_equal(wire_pipeline_node_stats(p, 0, &st), 0);
    if (st.lag == 0) break;
    usleep(20000);
  }
  assert_int_equal(st.lag, 0);
  assert_string_equal(st.lag_unit, "bytes");
  wire_pipeline_stop(p);
  assert_int_equal(wire_pipeline_wait(p, 5000), 0);
  wire_pipeline_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_ndjson_validation_and_line_numbers,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_lines_format, setup, teardown),
      cmocka_unit_test_setup_teardown(test_lag_bytes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_max_line, setup, teardown),
      cmocka_unit_test_setup_teardown(test_max_line_across_reads, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_empty_files, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_resume_and_deterministic_ids, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_start_end, setup, teardown),
      cmocka_unit_test_setup_teardown(test_batch_boundaries, setup, teardown),
      cmocka_unit_test_setup_teardown(test_follow_rotation_truncation, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_follow_waits_for_file, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_follow_start_end, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
