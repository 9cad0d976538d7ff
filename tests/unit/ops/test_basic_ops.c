/* Unit tests of the set, rename, drop, route, sample and dedupe operations
 * (lib/ops), run through real pipelines with the test harness. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

static harness *run(const char *ops_yaml, const char *sink_inputs,
                    const char *const *values, size_t n, int expect_rc) {
  harness *h = harness_new();
  for (size_t i = 0; i < n; i++) harness_feed(h, values[i]);
  char yaml[2048];
  snprintf(yaml, sizeof yaml,
           "name: t\n"
           "sources: [{id: in, type: feed}]\n"
           "operations:\n%s"
           "sinks:\n%s",
           ops_yaml, sink_inputs);
  int rc = harness_run(h, yaml);
  if (rc != expect_rc) fprintf(stderr, "diags:\n%s\nerr: %s\n", harness_diags(h), harness_errmsg(h));
  assert_int_equal(rc, expect_rc);
  return h;
}

static void test_set_rename_drop(void **state) {
  (void)state;
  const char *in[] = {"{\"a\":1,\"b\":\"x\",\"c\":true}", "[1,2]", "{bad"};
  harness *h = run("  - {id: s, type: set, inputs: [in], fields: {env: prod, n: 1, q: '1'}}\n"
                   "  - {id: r, type: rename, inputs: [s], fields: {a: alpha, zz: yy}}\n"
                   "  - {id: d, type: drop, inputs: [r], fields: [c, missing]}\n",
                   "  - {id: out, type: capture, inputs: [d]}\n", in, 3, WIRE_OK);
  assert_int_equal(harness_count(h, "out"), 1);
  /* A renamed key keeps its place (as jq's with_entries). */
  assert_string_equal(harness_value(h, "out", 0),
                      "{\"alpha\":1,\"b\":\"x\",\"env\":\"prod\",\"n\":1,\"q\":\"1\"}");
  /* The array and the invalid record are rejected by `set`, not lost. */
  assert_int_equal(harness_stats(h, "s").errors, 2);
  harness_free(h);
}

/* What jq accepts, the field ops accept: integers beyond 64 bits (kept as
 * written), escapes (a lone surrogate comes out as \ufffd, as from jq),
 * duplicate keys (set replaces all of them at the first one's place, drop
 * removes all, rename maps each), escaped key names, whitespace. */
static void test_fields_raw_json(void **state) {
  (void)state;
  const char *in[] = {
      "{\"big\":123456789012345678901234567890, \"s\":\"\\udc00x\\ud83d\\ude00\"}",
      "{\"k\":1,\"x\":2,\"k\":3}",
      " { \"\\u006b\" : [1, {\"k\":0}] , \"y\" : \"\\\"\" } ",
      "{}"};
  harness *h = run("  - {id: s, type: set, inputs: [in], fields: {k: 9}}\n"
                   "  - {id: r, type: rename, inputs: [s], fields: {x: k2, y: z}}\n"
                   "  - {id: d, type: drop, inputs: [r], fields: [big]}\n",
                   "  - {id: out, type: capture, inputs: [d]}\n"
                   "  - {id: sets, type: capture, inputs: [s]}\n",
                   in, 4, WIRE_OK);
  assert_int_equal(harness_count(h, "out"), 4);
  assert_string_equal(harness_value(h, "sets", 0),
                      "{\"big\":123456789012345678901234567890,"
                      "\"s\":\"\\ufffdx\\ud83d\\ude00\",\"k\":9}");
  assert_string_equal(harness_value(h, "out", 0),
                      "{\"s\":\"\\ufffdx\\ud83d\\ude00\",\"k\":9}");
  assert_string_equal(harness_value(h, "out", 1), "{\"k\":9,\"k2\":2}");
  assert_string_equal(harness_value(h, "out", 2),
                      "{\"k\":9,\"z\":\"\\\"\"}");
  assert_string_equal(harness_value(h, "out", 3), "{\"k\":9}");
  assert_int_equal(harness_stats(h, "s").errors, 0);
  harness_free(h);
}

static void test_route_ports(void **state) {
  (void)state;
  const char *in[] = {"{\"l\":\"error\"}", "{\"l\":\"warn\"}", "{\"l\":\"info\"}",
                      "{\"l\":\"error\",\"slow\":true}"};
  harness *h = run("  - id: r\n    type: route\n    inputs: [in]\n"
                   "    routes: {errors: '.l == \"error\"', slow: '.slow'}\n",
                   "  - {id: e, type: capture, inputs: [r.errors]}\n"
                   "  - {id: s, type: capture, inputs: [r.slow]}\n"
                   "  - {id: u, type: capture, inputs: [r.unmatched]}\n",
                   in, 4, WIRE_OK);
  assert_int_equal(harness_count(h, "e"), 2);
  assert_int_equal(harness_count(h, "s"), 1);
  assert_string_equal(harness_value(h, "s", 0), in[3]);
  assert_int_equal(harness_count(h, "u"), 2);
  harness_free(h);
}

static void test_route_bad_port_and_expr(void **state) {
  (void)state;
  harness *h = run("  - id: r\n    type: route\n    inputs: [in]\n"
                   "    routes: {errors: '.l =='}\n",
                   "  - {id: e, type: capture, inputs: [r.nope]}\n", NULL, 0,
                   WIRE_ECONFIG);
  assert_non_null(strstr(harness_diags(h), "invalid jq expression"));
  harness_free(h);
  h = run("  - id: r\n    type: route\n    inputs: [in]\n"
          "    routes: {errors: '.l'}\n",
          "  - {id: e, type: capture, inputs: [r.nope]}\n", NULL, 0, WIRE_ECONFIG);
  assert_non_null(strstr(harness_diags(h), "has no output 'nope' (outputs: errors, unmatched)"));
  harness_free(h);
}

static void test_sample(void **state) {
  (void)state;
  /* Ids are generated, so compare two samples of the same batch rather than
   * across runs: rate 0.5 keeps about half, every: 4 about a quarter. */
  enum { N = 4000 };
  static char vals[N][16];
  const char *in[N];
  for (int i = 0; i < N; i++) {
    snprintf(vals[i], sizeof vals[i], "%d", i);
    in[i] = vals[i];
  }
  harness *h = run("  - {id: half, type: sample, inputs: [in], rate: 0.5}\n"
                   "  - {id: quarter, type: sample, inputs: [in], every: 4}\n"
                   "  - {id: none, type: sample, inputs: [in], rate: 0}\n",
                   "  - {id: a, type: capture, inputs: [half]}\n"
                   "  - {id: b, type: capture, inputs: [quarter]}\n"
                   "  - {id: c, type: capture, inputs: [none]}\n",
                   in, N, WIRE_OK);
  assert_in_range(harness_count(h, "a"), N / 2 - 200, N / 2 + 200);
  assert_in_range(harness_count(h, "b"), N / 4 - 150, N / 4 + 150);
  assert_int_equal(harness_count(h, "c"), 0);
  assert_int_equal(harness_stats(h, "none").dropped, N);
  harness_free(h);
  h = run("  - {id: s, type: sample, inputs: [in], rate: 0.5, every: 3}\n",
          "  - {id: a, type: capture, inputs: [s]}\n", NULL, 0, WIRE_ECONFIG);
  assert_non_null(strstr(harness_diags(h), "exactly one of 'rate' and 'every'"));
  harness_free(h);
}

static void test_dedupe_window(void **state) {
  (void)state;
  const char *in[] = {"{\"id\":\"a\"}", "{\"id\":\"b\"}", "{\"id\":\"\\u0061\"}",
                      "{\"id\":\"c\"}", "{\"x\":1}", "{\"x\":1}", "{\"id\":\"a\"}"};
  /* window 2: "a" is forgotten once b and c have been seen. */
  harness *h = run("  - {id: d, type: dedupe, inputs: [in], key: .id, window: 2}\n",
                   "  - {id: out, type: capture, inputs: [d]}\n", in, 7, WIRE_OK);
  assert_int_equal(harness_count(h, "out"), 6);
  assert_string_equal(harness_value(h, "out", 0), in[0]);
  assert_string_equal(harness_value(h, "out", 1), in[1]);
  assert_string_equal(harness_value(h, "out", 2), in[3]);
  assert_string_equal(harness_value(h, "out", 5), in[6]);
  harness_free(h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_set_rename_drop),
      cmocka_unit_test(test_fields_raw_json),
      cmocka_unit_test(test_route_ports),
      cmocka_unit_test(test_route_bad_port_and_expr),
      cmocka_unit_test(test_sample),
      cmocka_unit_test(test_dedupe_window),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
