/*
 * Unit tests of the `generator` source (lib/connectors/generator.c,
 * gen_template.c): count and the `seq` field, the default demo shape,
 * determinism of values and ids across runs and after a resume, template
 * placeholders and the types they keep, the event key, configuration errors,
 * pacing by `rate`, and a throughput figure (generator -> null).
 */
#include <jansson.h>
#include <time.h>

#include "conn_test.h"

static json_t *parse(const char *text) {
  json_error_t e;
  json_t *j = json_loads(text, 0, &e);
  if (!j) fail_msg("invalid JSON record %s: %s", text, e.text);
  return j;
}

static bool in_set(const char *v, const char *const *set) {
  for (; *set; set++)
    if (strcmp(v, *set) == 0) return true;
  return false;
}

static void test_count_seq_and_default_shape(void **state) {
  (void)state;
  harness *h = harness_new();
  int rc = harness_run(h, "name: t\n"
                          "sources: [{id: in, type: generator, count: 10000}]\n"
                          "sinks: [{id: out, type: capture, inputs: [in]}]\n");
  assert_int_equal(rc, WIRE_OK);
  assert_int_equal(harness_count(h, "out"), 10000);
  assert_int_equal(harness_stats(h, "in").out, 10000);
  static const char *const levels[] = {"debug", "info", "warn", "error", NULL};
  static const char *const users[] = {"alice", "bob",   "carol", "dave",
                                      "erin",  "frank", "grace", "heidi",
                                      NULL};
  int errors = 0;
  for (size_t i = 0; i < 10000; i++) {
    const char *v = harness_value(h, "out", i);
    char prefix[40];
    snprintf(prefix, sizeof prefix, "{\"seq\":%zu,", i);
    assert_memory_equal(v, prefix, strlen(prefix)); /* seq first, in order */
    json_t *j = parse(v);
    assert_int_equal(json_integer_value(json_object_get(j, "seq")), i);
    const char *level = json_string_value(json_object_get(j, "level"));
    assert_non_null(level);
    assert_true(in_set(level, levels));
    errors += strcmp(level, "error") == 0;
    assert_true(in_set(json_string_value(json_object_get(j, "user")), users));
    json_t *ms = json_object_get(j, "ms");
    assert_true(json_is_integer(ms));
    assert_in_range(json_integer_value(ms), 1, 999);
    const char *msg = json_string_value(json_object_get(j, "msg"));
    assert_non_null(msg);
    int spaces = 0;
    for (const char *c = msg; *c; c++) spaces += *c == ' ';
    assert_int_equal(spaces, 2);
    assert_int_equal(json_object_size(j), 5);
    json_decref(j);
  }
  /* About 10% errors. */
  assert_in_range(errors, 700, 1300);
  harness_free(h);
}

static ct_run run_gen(wire_ctx *ctx, const char *opts, const char *resume) {
  char *yaml = ct_fmt("name: t\n"
                      "sources: [{id: in, type: generator, %s}]\n"
                      "sinks: [{id: out, type: seen, inputs: [in]}]\n",
                      opts);
  ct_run r = ct_pipeline(ctx, yaml, "in", resume, "in");
  free(yaml);
  return r;
}

static void test_determinism_and_resume(void **state) {
  (void)state;
  seen s;
  seen_init(&s);
  wire_ctx *ctx = ct_ctx(&s);
  const char *opts = "count: 300, seed: 7, template: {u: '{{uuid}}', "
                     "n: '{{int 0 1000000}}', w: '{{word}}'}";
  ct_run r = run_gen(ctx, opts, NULL);
  assert_int_equal(r.rc_wait, WIRE_OK);
  assert_string_equal(r.watermark, "{\"seq\":300}");
  assert_int_equal(s.n, 300);
  /* Same options: the same bytes and ids. */
  r = run_gen(ctx, opts, NULL);
  assert_int_equal(s.n, 600);
  for (size_t i = 0; i < 300; i++) {
    assert_string_equal(s.vals[300 + i], s.vals[i]);
    assert_string_equal(s.ids[300 + i], s.ids[i]);
  }
  for (size_t i = 1; i < 300; i++) {
    assert_string_not_equal(s.ids[i], s.ids[i - 1]);
    assert_true(strcmp(s.ids[i], s.ids[i - 1]) > 0); /* UUIDv7 sort order */
  }
  /* Resume from seq 100: records 100..299, identical. */
  r = run_gen(ctx, opts, "{\"seq\":100}");
  assert_int_equal(r.rc_wait, WIRE_OK);
  assert_int_equal(s.n, 800);
  for (size_t i = 0; i < 200; i++) {
    assert_string_equal(s.vals[600 + i], s.vals[100 + i]);
    assert_string_equal(s.ids[600 + i], s.ids[100 + i]);
  }
  assert_string_equal(r.watermark, "{\"seq\":300}");
  /* Another seed: other values (seq aside) and other ids. */
  r = run_gen(ctx, "count: 300, seed: 8, template: {u: '{{uuid}}', "
                   "n: '{{int 0 1000000}}', w: '{{word}}'}",
              NULL);
  assert_int_equal(s.n, 1100);
  int same = 0;
  for (size_t i = 0; i < 300; i++) {
    same += strcmp(s.vals[800 + i], s.vals[i]) == 0;
    assert_string_not_equal(s.ids[800 + i], s.ids[i]);
  }
  assert_int_equal(same, 0);
  /* Resuming at the end of a bounded run produces nothing. */
  r = run_gen(ctx, opts, "{\"seq\":300}");
  assert_int_equal(r.rc_wait, WIRE_OK);
  assert_int_equal(s.n, 1100);
  /* A malformed position is an error. */
  r = run_gen(ctx, opts, "{\"offset\":1}");
  assert_int_not_equal(r.rc_start, WIRE_OK);
  assert_non_null(strstr(r.errmsg, "invalid resume position"));
  wire_ctx_free(ctx);
  seen_free(&s);
}

static bool all_hex(const char *s, size_t n) {
  if (strlen(s) != n) return false;
  for (size_t i = 0; i < n; i++)
    if (!strchr("0123456789abcdef", s[i])) return false;
  return true;
}

static void test_template_placeholders_and_types(void **state) {
  (void)state;
  harness *h = harness_new();
  int rc = harness_run(
      h,
      "name: t\n"
      "sources:\n"
      "  - id: in\n"
      "    type: generator\n"
      "    count: 500\n"
      "    template:\n"
      "      id: '{{uuid}}'\n"
      "      n: '{{int -5 5}}'\n"
      "      f: '{{float 1.5 2.5}}'\n"
      "      c: '{{choice 1 x true}}'\n"
      "      h: '{{hex 12}}'\n"
      "      w: '{{word}}'\n"
      "      t: '{{now}}'\n"
      "      s: 'n={{int 7 7}} s={{seq}} \"q\"'\n"
      "      nest: {a: ['{{seq}}', 2.5, plain, null]}\n"
      "      num: 42\n"
      "sinks: [{id: out, type: capture, inputs: [in]}]\n");
  assert_int_equal(rc, WIRE_OK);
  assert_int_equal(harness_count(h, "out"), 500);
  bool lo = false, hi = false, c_num = false, c_str = false, c_bool = false;
  for (size_t i = 0; i < 500; i++) {
    json_t *j = parse(harness_value(h, "out", i));
    const char *id = json_string_value(json_object_get(j, "id"));
    assert_non_null(id);
    assert_int_equal(strlen(id), 36);
    assert_int_equal(id[14], '4');
    json_t *n = json_object_get(j, "n");
    assert_true(json_is_integer(n));
    assert_in_range(json_integer_value(n) + 5, 0, 10);
    lo |= json_integer_value(n) == -5;
    hi |= json_integer_value(n) == 5;
    json_t *fv = json_object_get(j, "f");
    assert_true(json_is_real(fv));
    assert_true(json_real_value(fv) >= 1.5 && json_real_value(fv) <= 2.5);
    json_t *c = json_object_get(j, "c");
    if (json_is_integer(c)) {
      assert_int_equal(json_integer_value(c), 1);
      c_num = true;
    } else if (json_is_string(c)) {
      assert_string_equal(json_string_value(c), "x");
      c_str = true;
    } else {
      assert_true(json_is_true(c));
      c_bool = true;
    }
    assert_true(all_hex(json_string_value(json_object_get(j, "h")), 12));
    const char *w = json_string_value(json_object_get(j, "w"));
    assert_non_null(w);
    assert_true(strlen(w) >= 3);
    char want[64];
    snprintf(want, sizeof want, "2024-01-01T00:00:00.%03zuZ", i);
    assert_string_equal(json_string_value(json_object_get(j, "t")), want);
    snprintf(want, sizeof want, "n=7 s=%zu \"q\"", i);
    assert_string_equal(json_string_value(json_object_get(j, "s")), want);
    json_t *a = json_object_get(json_object_get(j, "nest"), "a");
    assert_int_equal(json_array_size(a), 4);
    assert_int_equal(json_integer_value(json_array_get(a, 0)), i);
    assert_true(json_real_value(json_array_get(a, 1)) == 2.5);
    assert_string_equal(json_string_value(json_array_get(a, 2)), "plain");
    assert_true(json_is_null(json_array_get(a, 3)));
    assert_int_equal(json_integer_value(json_object_get(j, "num")), 42);
    json_decref(j);
  }
  assert_true(lo && hi);
  assert_true(c_num && c_str && c_bool);
  harness_free(h);
}

static void test_now_crosses_days(void **state) {
  (void)state;
  seen s;
  seen_init(&s);
  wire_ctx *ctx = ct_ctx(&s);
  /* seq 86400000 is one day after the epoch; 2024 is a leap year. */
  ct_run r = run_gen(ctx, "count: 86400001, template: {t: '{{now}}'}",
                     "{\"seq\":86400000}");
  assert_int_equal(r.rc_wait, WIRE_OK);
  assert_int_equal(s.n, 1);
  assert_string_equal(s.vals[0],
                      "{\"seq\":86400000,\"t\":\"2024-01-02T00:00:00.000Z\"}");
  uint64_t mar1 = (31 + 29) * 86400000ULL + 3723004; /* 01:02:03.004 */
  char *opts = ct_fmt("count: %llu, template: {t: '{{now}}'}",
                      (unsigned long long)mar1 + 1);
  char *pos = ct_fmt("{\"seq\":%llu}", (unsigned long long)mar1);
  r = run_gen(ctx, opts, pos);
  assert_int_equal(s.n, 2);
  assert_non_null(strstr(s.vals[1], "\"2024-03-01T01:02:03.004Z\""));
  free(opts);
  free(pos);
  wire_ctx_free(ctx);
  seen_free(&s);
}

static void test_key(void **state) {
  (void)state;
  harness *h = harness_new();
  int rc = harness_run(h, "name: t\n"
                          "sources: [{id: in, type: generator, count: 200, "
                          "key: user}]\n"
                          "sinks: [{id: out, type: capture, inputs: [in]}]\n");
  assert_int_equal(rc, WIRE_OK);
  for (size_t i = 0; i < 200; i++) {
    json_t *j = parse(harness_value(h, "out", i));
    assert_string_equal(harness_key(h, "out", i),
                        json_string_value(json_object_get(j, "user")));
    json_decref(j);
  }
  harness_free(h);
  h = harness_new();
  rc = harness_run(h, "name: t\n"
                      "sources: [{id: in, type: generator, count: 20, "
                      "key: seq, template: {x: 1}}]\n"
                      "sinks: [{id: out, type: capture, inputs: [in]}]\n");
  assert_int_equal(rc, WIRE_OK);
  assert_string_equal(harness_key(h, "out", 13), "13");
  assert_string_equal(harness_value(h, "out", 13), "{\"seq\":13,\"x\":1}");
  harness_free(h);
}

static void expect_config_error(const char *opts, const char *text) {
  harness *h = harness_new();
  char *yaml = ct_fmt("name: t\n"
                      "sources: [{id: in, type: generator, %s}]\n"
                      "sinks: [{id: out, type: capture, inputs: [in]}]\n",
                      opts);
  int rc = harness_run(h, yaml);
  free(yaml);
  assert_int_equal(rc, WIRE_ECONFIG);
  if (!strstr(harness_diags(h), text))
    fail_msg("diagnostics of '%s' lack '%s':\n%s", opts, text,
             harness_diags(h));
  harness_free(h);
}

static void test_config_errors(void **state) {
  (void)state;
  expect_config_error("template: {a: '{{nope}}'}",
                      "unknown placeholder {{nope}}");
  expect_config_error("template: {a: '{{int 5 1}}'}", "{{int A B}}");
  expect_config_error("template: {a: '{{hex 0}}'}", "{{hex N}}");
  expect_config_error("template: {a: 'x {{seq'}", "unterminated placeholder");
  expect_config_error("template: {a: '{{choice}}'}", "at least one item");
  expect_config_error("template: {seq: 1}", "'seq' is set by the generator");
  expect_config_error("template: [1, 2]", "mapping");
  expect_config_error("key: nothere", "'nothere' is not a field");
  expect_config_error("rate: -1", "rate must be");
}

static void test_rate(void **state) {
  (void)state;
  harness *h = harness_new();
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  int rc = harness_run(h, "name: t\n"
                          "sources: [{id: in, type: generator, count: 50, "
                          "rate: 200}]\n"
                          "sinks: [{id: out, type: capture, inputs: [in]}]\n");
  clock_gettime(CLOCK_MONOTONIC, &b);
  assert_int_equal(rc, WIRE_OK);
  assert_int_equal(harness_count(h, "out"), 50);
  double s = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
  /* Record 49 is due 245 ms after the first. */
  assert_true(s >= 0.22);
  assert_true(s < 3.0);
  harness_free(h);
}

/* A bounded generator reports its lag: the records it has not produced
 * yet, shrinking while it runs, 0 at the end. */
static void test_lag(void **state) {
  (void)state;
  wire_ctx *ctx = NULL;
  assert_int_equal(wire_ctx_new(&ctx), 0);
  const char *yaml = "name: t\n"
                     "sources: [{id: in, type: generator, count: 2000, "
                     "rate: 4000}]\n"
                     "sinks: [{id: out, type: \"null\", inputs: [in]}]\n";
  wire_pipeline *p = NULL;
  assert_int_equal(wire_pipeline_parse(ctx, yaml, strlen(yaml), NULL, &p), 0);
  wire_node_stats st;
  assert_int_equal(wire_pipeline_node_stats(p, 0, &st), 0);
  assert_int_equal(st.lag, -1); /* not started: unknown */
  assert_null(st.lag_unit);
  assert_int_equal(wire_pipeline_start(p), 0);
  int64_t seen_mid = -1;
  for (int i = 0; i < 100 && seen_mid < 0; i++) {
    usleep(20000);
    assert_int_equal(wire_pipeline_node_stats(p, 0, &st), 0);
    if (st.lag > 0 && st.lag < 2000) seen_mid = st.lag;
  }
  assert_true(seen_mid > 0);
  assert_string_equal(st.lag_unit, "records");
  assert_int_equal(wire_pipeline_wait(p, 10000), WIRE_OK);
  assert_int_equal(wire_pipeline_node_stats(p, 0, &st), 0);
  assert_int_equal(st.lag, 0);
  assert_int_equal(wire_pipeline_node_stats(p, 1, &st), 0);
  assert_int_equal(st.lag, -1); /* a sink has none */
  wire_pipeline_free(p);
  wire_ctx_free(ctx);
}

static void test_speed_to_null(void **state) {
  (void)state;
  wire_ctx *ctx = NULL;
  assert_int_equal(wire_ctx_new(&ctx), 0);
  const char *yaml = "name: t\n"
                     "sources: [{id: in, type: generator, count: 3000000}]\n"
                     "sinks: [{id: out, type: \"null\", inputs: [in]}]\n";
  wire_pipeline *p = NULL;
  assert_int_equal(wire_pipeline_parse(ctx, yaml, strlen(yaml), NULL, &p), 0);
  assert_int_equal(wire_pipeline_start(p), 0);
  assert_int_equal(wire_pipeline_wait(p, 60000), WIRE_OK);
  wire_node_stats st;
  assert_int_equal(wire_pipeline_node_stats(p, 1, &st), 0);
  assert_string_equal(st.id, "out");
  assert_int_equal(st.out, 3000000);
  double secs = wire_pipeline_elapsed(p);
  printf("# generator -> null: 3M records (%.0f MB) in %.3f s = %.2f M "
         "records/s\n",
         (double)st.bytes_in / 1e6, secs, 3.0 / secs);
  wire_pipeline_free(p);
  wire_ctx_free(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_count_seq_and_default_shape),
      cmocka_unit_test(test_lag),
      cmocka_unit_test(test_determinism_and_resume),
      cmocka_unit_test(test_template_placeholders_and_types),
      cmocka_unit_test(test_now_crosses_days),
      cmocka_unit_test(test_key),
      cmocka_unit_test(test_config_errors),
      cmocka_unit_test(test_rate),
      cmocka_unit_test(test_speed_to_null),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
