/*
 * Unit tests of the pipeline engine (lib/pipeline): DAG shapes (linear,
 * fan-out, fan-in, diamond), partitioning with per-key order, backpressure,
 * the position watermark, retries and failures of sinks, graceful stop, and
 * vtable registration.  Components are defined here on the public vtables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* ---- a "tag" operation: appends its suffix option to every value --------- */

static const wire_option tag_options[] = {
    {.key = "suffix", .type = WIRE_OPT_STRING, .required = true, .doc = "x"},
    {0}};

static int tag_init(const wire_config *cfg, void **shared) {
  const char *s;
  if (wire_config_string(cfg, "suffix", &s) != WIRE_OK) return WIRE_ECONFIG;
  *shared = strdup(s);
  return WIRE_OK;
}

static int tag_process(void *state, wire_stage *st, const wire_batch *in,
                       wire_emitter *out) {
  (void)st;
  const char *suffix = state;
  size_t sl = strlen(suffix);
  for (size_t i = 0; i < wire_batch_count(in); i++) {
    const wire_event *e = wire_batch_event(in, i);
    char buf[256];
    if (e->value_len + sl >= sizeof buf) return WIRE_ETOOBIG;
    memcpy(buf, e->value, e->value_len);
    memcpy(buf + e->value_len, suffix, sl);
    int rc = wire_emit_value(out, 0, e, buf, e->value_len + sl);
    if (rc) return rc;
  }
  return WIRE_OK;
}

static void tag_fini(void *shared) { free(shared); }

static const wire_op_vtable tag_vt = {
    .version = WIRE_OP_VERSION,
    .name = "tag",
    .options = tag_options,
    .init = tag_init,
    .process = tag_process,
    .fini = tag_fini,
};

static harness *new_h(void) {
  harness *h = harness_new();
  assert_int_equal(wire_ctx_register_op(harness_ctx(h), &tag_vt, NULL), 0);
  return h;
}

static void feed_numbers(harness *h, int n) {
  char v[32];
  for (int i = 0; i < n; i++) {
    snprintf(v, sizeof v, "%d", i);
    harness_feed(h, v);
  }
}

static void test_linear(void **state) {
  (void)state;
  harness *h = new_h();
  feed_numbers(h, 1000);
  int rc = harness_run(h,
                       "name: t\n"
                       "sources: [{id: in, type: feed, batch: 7}]\n"
                       "sinks: [{id: out, type: capture, inputs: [in]}]\n");
  assert_int_equal(rc, WIRE_OK);
  assert_int_equal(harness_count(h, "out"), 1000);
  for (int i = 0; i < 1000; i++) {
    char v[32];
    snprintf(v, sizeof v, "%d", i);
    assert_string_equal(harness_value(h, "out", (size_t)i), v);
  }
  wire_node_stats s = harness_stats(h, "out");
  assert_int_equal(s.in, 1000);
  assert_int_equal(s.out, 1000);
  assert_int_equal(harness_stats(h, "in").out, 1000);
  harness_free(h);
}

static void test_fan_out_fan_in_diamond(void **state) {
  (void)state;
  harness *h = new_h();
  feed_numbers(h, 500);
  int rc = harness_run(h,
                       "name: t\n"
                       "sources: [{id: in, type: feed}]\n"
                       "operations:\n"
                       "  - {id: a, type: tag, inputs: [in], suffix: a}\n"
                       "  - {id: b, type: tag, inputs: [in], suffix: b}\n"
                       "  - {id: c, type: tag, inputs: [a, b], suffix: c}\n"
                       "sinks:\n"
                       "  - {id: raw, type: capture, inputs: [in]}\n"
                       "  - {id: both, type: capture, inputs: [a, b]}\n"
                       "  - {id: diamond, type: capture, inputs: [c]}\n");
  assert_int_equal(rc, WIRE_OK);
  assert_int_equal(harness_count(h, "raw"), 500);
  assert_int_equal(harness_count(h, "both"), 1000);
  assert_int_equal(harness_count(h, "diamond"), 1000);
  int seen_a = 0, seen_b = 0;
  for (size_t i = 0; i < 1000; i++) {
    const char *v = harness_value(h, "diamond", i);
    size_t l = strlen(v);
    assert_true(l >= 3 && v[l - 1] == 'c');
    if (v[l - 2] == 'a') seen_a++;
    if (v[l - 2] == 'b') seen_b++;
  }
  assert_int_equal(seen_a, 500);
  assert_int_equal(seen_b, 500);
  assert_int_equal(harness_stats(h, "c").in, 1000);
  assert_int_equal(harness_stats(h, "c").out, 1000);
  harness_free(h);
}

static void test_partitions_keep_key_order(void **state) {
  (void)state;
  harness *h = new_h();
  enum { USERS = 13, PER = 400 };
  char v[64];
  for (int i = 0; i < PER; i++)
    for (int u = 0; u < USERS; u++) {
      snprintf(v, sizeof v, "{\"user\":\"u%d\",\"n\":%d}", u, i);
      harness_feed(h, v);
    }
  int rc = harness_run(h,
                       "name: t\n"
                       "partitions: 4\n"
                       "partition_key: .user\n"
                       "sources: [{id: in, type: feed, batch: 100}]\n"
                       "operations: [{id: x, type: tag, inputs: [in], suffix: ''}]\n"
                       "sinks: [{id: out, type: capture, inputs: [x]}]\n");
  assert_int_equal(rc, WIRE_OK);
  assert_int_equal(harness_count(h, "out"), USERS * PER);
  int last[USERS];
  for (int u = 0; u < USERS; u++) last[u] = -1;
  for (size_t i = 0; i < USERS * PER; i++) {
    int u, n;
    assert_int_equal(sscanf(harness_value(h, "out", i), "{\"user\":\"u%d\",\"n\":%d}", &u, &n), 2);
    assert_int_equal(n, last[u] + 1); /* every record, in order per key */
    last[u] = n;
  }
  harness_free(h);
}

/* ---- components for backpressure, retries and failures --------------------- */

typedef struct counters {
  atomic_long produced, written, write_calls;
  int fail_first;     /* sink: number of writes answered WIRE_EAGAIN */
  int fatal;          /* sink: answer WIRE_EIO */
  int slow_us;        /* sink: sleep per batch */
  long limit;         /* source: stop after this many (0 = unbounded) */
} counters;

static int counter_open(wire_stage *st, const char *resume, void **state) {
  (void)resume;
  *state = wire_config_user(wire_stage_config(st));
  return WIRE_OK;
}

static int counter_poll(void *state, wire_batch *b, int timeout_ms) {
  (void)timeout_ms;
  counters *c = state;
  for (int i = 0; i < 100; i++) {
    long n = atomic_load(&c->produced);
    if (c->limit && n >= c->limit) return WIRE_EOF;
    char v[32];
    int len = snprintf(v, sizeof v, "%ld", n);
    wire_batch_append_value(b, v, (size_t)len);
    atomic_fetch_add(&c->produced, 1);
  }
  char pos[32];
  snprintf(pos, sizeof pos, "%ld", atomic_load(&c->produced));
  wire_batch_set_position(b, pos);
  return WIRE_OK;
}

static void nop_close(void *state) { (void)state; }

static const wire_source_vtable counter_src = {
    .version = WIRE_SOURCE_VERSION, .name = "counter",
    .open = counter_open, .poll = counter_poll, .close = nop_close};

static int probe_open(wire_stage *st, void **state) {
  *state = wire_config_user(wire_stage_config(st));
  return WIRE_OK;
}

static int probe_write(void *state, const wire_batch *b) {
  counters *c = state;
  long k = atomic_fetch_add(&c->write_calls, 1);
  if (c->fatal) return WIRE_EIO;
  if (k < c->fail_first) return WIRE_EAGAIN;
  if (c->slow_us) usleep((useconds_t)c->slow_us);
  atomic_fetch_add(&c->written, (long)wire_batch_count(b));
  return WIRE_OK;
}

static const wire_sink_vtable probe_sink = {
    .version = WIRE_SINK_VERSION, .name = "probe",
    .open = probe_open, .write = probe_write, .close = nop_close};

static wire_pipeline *start_counter_pipeline(wire_ctx *ctx, counters *c,
                                             const char *extra) {
  assert_int_equal(wire_ctx_register_source(ctx, &counter_src, c), 0);
  assert_int_equal(wire_ctx_register_sink(ctx, &probe_sink, c), 0);
  char yaml[512];
  snprintf(yaml, sizeof yaml,
           "name: t\n%s"
           "sources: [{id: in, type: counter}]\n"
           "sinks: [{id: out, type: probe, inputs: [in]}]\n",
           extra);
  wire_pipeline *p = NULL;
  assert_int_equal(wire_pipeline_parse(ctx, yaml, strlen(yaml), "t.yaml", &p), 0);
  assert_int_equal(wire_pipeline_start(p), 0);
  return p;
}

static void test_backpressure_bounds_memory(void **state) {
  (void)state;
  wire_ctx *ctx;
  wire_ctx_new(&ctx);
  counters c = {.slow_us = 2000};
  wire_pipeline *p = start_counter_pipeline(ctx, &c, "queue_depth: 2\n");
  for (int i = 0; i < 10; i++) {
    usleep(100000);
    long in_flight = atomic_load(&c.produced) - atomic_load(&c.written);
    /* worker queue + sink queue (2 batches each) + the batch in each stage
     * + at most 64 batches a sink holds between flushes. */
    assert_true(in_flight <= (2 + 2 + 3 + 64) * 100);
  }
  /* The slow sink (~500 batches/s) paced the source: a free-running source
   * would have produced millions of records in a second. */
  assert_true(atomic_load(&c.produced) < 200000);
  wire_pipeline_stop(p);
  assert_int_equal(wire_pipeline_wait(p, 10000), 0);
  assert_int_equal(wire_pipeline_get_state(p), WIRE_PIPELINE_STOPPED);
  /* Graceful stop drains: everything produced was written. */
  assert_int_equal(atomic_load(&c.written), atomic_load(&c.produced));
  char wm[64];
  assert_int_equal(wire_pipeline_watermark(p, "in", wm, sizeof wm), 0);
  assert_int_equal(atol(wm), atomic_load(&c.produced));
  wire_pipeline_free(p);
  wire_ctx_free(ctx);
}

static void test_sink_retry_then_success(void **state) {
  (void)state;
  wire_ctx *ctx;
  wire_ctx_new(&ctx);
  wire_ctx_set_log(ctx, WIRE_LOG_ERROR, NULL, NULL);
  counters c = {.fail_first = 3, .limit = 5000};
  wire_pipeline *p = start_counter_pipeline(ctx, &c, "");
  assert_int_equal(wire_pipeline_wait(p, 20000), 0);
  assert_int_equal(wire_pipeline_get_state(p), WIRE_PIPELINE_FINISHED);
  assert_int_equal(atomic_load(&c.written), 5000); /* no loss, no duplicate */
  char wm[64];
  wire_pipeline_watermark(p, "in", wm, sizeof wm);
  assert_string_equal(wm, "5000");
  wire_pipeline_free(p);
  wire_ctx_free(ctx);
}

static void test_sink_fatal_fails_pipeline(void **state) {
  (void)state;
  wire_ctx *ctx;
  wire_ctx_new(&ctx);
  wire_ctx_set_log(ctx, WIRE_LOG_ERROR + 0, NULL, NULL);
  counters c = {.fatal = 1};
  wire_pipeline *p = start_counter_pipeline(ctx, &c, "");
  assert_int_equal(wire_pipeline_wait(p, 10000), WIRE_EIO);
  assert_int_equal(wire_pipeline_get_state(p), WIRE_PIPELINE_FAILED);
  assert_non_null(strstr(wire_pipeline_errmsg(p), "sink 'out'"));
  assert_non_null(strstr(wire_pipeline_errmsg(p), "I/O error"));
  char wm[64];
  wire_pipeline_watermark(p, "in", wm, sizeof wm);
  assert_string_equal(wm, ""); /* nothing was acknowledged */
  wire_pipeline_free(p);
  wire_ctx_free(ctx);
}

static int bad_open(wire_stage *st, const char *resume, void **state) {
  (void)resume;
  (void)state;
  return wire_stage_error(st, WIRE_EIO, "open /nonexistent/x: No such file");
}

static const wire_source_vtable bad_src = {
    .version = WIRE_SOURCE_VERSION, .name = "bad",
    .open = bad_open, .poll = counter_poll, .close = nop_close};

static void test_open_failure_message(void **state) {
  (void)state;
  harness *h = new_h();
  assert_int_equal(wire_ctx_register_source(harness_ctx(h), &bad_src, NULL), 0);
  int rc = harness_run(h,
                       "name: t\n"
                       "sources: [{id: src1, type: bad}]\n"
                       "sinks: [{id: out, type: capture, inputs: [src1]}]\n");
  assert_int_equal(rc, WIRE_EIO);
  assert_string_equal(harness_errmsg(h),
                      "source 'src1': open: open /nonexistent/x: No such file");
  harness_free(h);
}

static void test_registration_checks(void **state) {
  (void)state;
  wire_ctx *ctx;
  wire_ctx_new(&ctx);
  wire_source_vtable v0 = counter_src;
  v0.version = 0;
  assert_int_equal(wire_ctx_register_source(ctx, &v0, NULL), WIRE_EINVAL);
  assert_non_null(strstr(wire_ctx_errmsg(ctx), "version"));
  wire_source_vtable vf = counter_src;
  vf.version = WIRE_SOURCE_VERSION + 1;
  assert_int_equal(wire_ctx_register_source(ctx, &vf, NULL), WIRE_EINVAL);
  wire_source_vtable nopoll = counter_src;
  nopoll.poll = NULL;
  assert_int_equal(wire_ctx_register_source(ctx, &nopoll, NULL), WIRE_EINVAL);
  wire_source_vtable dup = counter_src;
  dup.name = "file";
  assert_int_equal(wire_ctx_register_source(ctx, &dup, NULL), WIRE_EEXISTS);
  assert_int_equal(wire_ctx_register_source(ctx, &counter_src, NULL), WIRE_OK);
  assert_true(wire_ctx_type_count(ctx, WIRE_NODE_SOURCE) >= 4);
  wire_ctx_free(ctx);
}

static void test_programmatic_build(void **state) {
  (void)state;
  harness *h = new_h();
  feed_numbers(h, 10);
  wire_pipeline *p;
  assert_int_equal(wire_pipeline_new(harness_ctx(h), "prog", &p), 0);
  assert_int_equal(wire_pipeline_add(p, WIRE_NODE_SOURCE, "in", "feed", NULL, "{batch: 3}"), 0);
  assert_int_equal(wire_pipeline_add(p, WIRE_NODE_OP, "t", "tag", "in", "{suffix: '!'}"), 0);
  assert_int_equal(wire_pipeline_add(p, WIRE_NODE_SINK, "out", "null", "t", NULL), 0);
  assert_int_equal(wire_pipeline_start(p), 0);
  assert_int_equal(wire_pipeline_wait(p, 10000), 0);
  wire_node_stats s;
  assert_int_equal(wire_pipeline_node_stats(p, 2, &s), 0);
  assert_string_equal(s.id, "out");
  assert_int_equal(s.out, 10);
  assert_int_equal(wire_pipeline_start(p), WIRE_ESTATE);
  wire_pipeline_free(p);
  harness_free(h);
}

/* ---- wire_stage_acked_position --------------------------------------------- */

typedef struct waiter {
  wire_stage *st;
  int emitted;      /* batches handed out, positions "1".."emitted" */
  int waited_ok;    /* the acked position reached the last one in poll */
  int sink_einval;  /* a sink asking got WIRE_EINVAL */
  int small_buf;    /* a one-byte buffer gave WIRE_ETOOBIG */
  atomic_int written;
} waiter;

static int waiter_open(wire_stage *st, const char *resume, void **state) {
  (void)resume;
  waiter *w = wire_config_user(wire_stage_config(st));
  w->st = st;
  *state = w;
  return WIRE_OK;
}

/* Ten batches, then, inside poll, wait until every sink acknowledged the
 * last position (as a Kafka source does on a rebalance), then EOF. */
static int waiter_poll(void *state, wire_batch *b, int timeout_ms) {
  (void)timeout_ms;
  waiter *w = state;
  char pos[16], got[16];
  if (w->emitted < 10) {
    wire_batch_append_value(b, "{}", 2);
    snprintf(pos, sizeof pos, "%d", ++w->emitted);
    wire_batch_set_position(b, pos);
    return WIRE_OK;
  }
  for (int i = 0; i < 1000 && !w->waited_ok; i++) {
    assert_int_equal(wire_stage_acked_position(w->st, got, sizeof got), 0);
    /* never ahead of what the sink wrote */
    assert_true(atoi(got) <= atomic_load(&w->written));
    if (strcmp(got, "10") == 0) w->waited_ok = 1;
    else usleep(2000);
  }
  char one[1];
  w->small_buf =
      wire_stage_acked_position(w->st, one, sizeof one) == WIRE_ETOOBIG;
  return WIRE_EOF;
}

static const wire_source_vtable waiter_src = {
    .version = WIRE_SOURCE_VERSION, .name = "waiter",
    .open = waiter_open, .poll = waiter_poll, .close = nop_close};

static int waitsink_write(void *state, const wire_batch *b) {
  waiter *w = state;
  usleep(3000);
  atomic_fetch_add(&w->written, (int)wire_batch_count(b));
  return WIRE_OK;
}

static int waitsink_open(wire_stage *st, void **state) {
  waiter *w = wire_config_user(wire_stage_config(st));
  char buf[16];
  w->sink_einval = wire_stage_acked_position(st, buf, sizeof buf) == WIRE_EINVAL;
  *state = w;
  return WIRE_OK;
}

static const wire_sink_vtable waiter_sink = {
    .version = WIRE_SINK_VERSION, .name = "waitsink",
    .open = waitsink_open, .write = waitsink_write, .close = nop_close};

static void test_acked_position_seen_from_poll(void **state) {
  (void)state;
  wire_ctx *ctx;
  wire_ctx_new(&ctx);
  waiter w = {0};
  assert_int_equal(wire_ctx_register_source(ctx, &waiter_src, &w), 0);
  assert_int_equal(wire_ctx_register_sink(ctx, &waiter_sink, &w), 0);
  const char *yaml = "name: t\nbatch_size: 1\n"
                     "sources: [{id: in, type: waiter}]\n"
                     "sinks: [{id: out, type: waitsink, inputs: [in]}]\n";
  wire_pipeline *p = NULL;
  assert_int_equal(wire_pipeline_parse(ctx, yaml, strlen(yaml), "t.yaml", &p), 0);
  assert_int_equal(wire_pipeline_start(p), 0);
  assert_int_equal(wire_pipeline_wait(p, 20000), 0);
  assert_true(w.waited_ok);
  assert_true(w.small_buf);
  assert_true(w.sink_einval);
  assert_int_equal(atomic_load(&w.written), 10);
  wire_pipeline_free(p);
  wire_ctx_free(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_linear),
      cmocka_unit_test(test_fan_out_fan_in_diamond),
      cmocka_unit_test(test_partitions_keep_key_order),
      cmocka_unit_test(test_backpressure_bounds_memory),
      cmocka_unit_test(test_sink_retry_then_success),
      cmocka_unit_test(test_sink_fatal_fails_pipeline),
      cmocka_unit_test(test_open_failure_message),
      cmocka_unit_test(test_registration_checks),
      cmocka_unit_test(test_programmatic_build),
      cmocka_unit_test(test_acked_position_seen_from_poll),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
