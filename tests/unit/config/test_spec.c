/* Unit tests of the config layer (lib/config): YAML positions, pipeline
 * validation diagnostics with exact LINE:COL, defaults and typed getters,
 * the programmatic API, and an out-of-memory loop over a full parse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config/spec.h"
#include "core/core.h"
#include "wire/wire.h"

static char *diags_of(const wire_pipeline *p) {
  static char buf[8192];
  buf[0] = '\0';
  for (size_t i = 0; i < wire_pipeline_diag_count(p); i++) {
    const wire_diag *d = wire_pipeline_diag(p, i);
    size_t l = strlen(buf);
    snprintf(buf + l, sizeof buf - l, "%d:%d: %s\n", d->line, d->col, d->message);
  }
  return buf;
}

static int parse(wire_ctx *ctx, const char *y, wire_pipeline **p) {
  return wire_pipeline_parse(ctx, y, strlen(y), "t.yaml", p);
}

static void test_all_errors_with_positions(void **state) {
  (void)state;
  wire_ctx *ctx;
  wire_ctx_new(&ctx);
  wire_pipeline *p;
  const char *y =
      "name: t\n"                                          /* 1 */
      "partitons: 2\n"                                     /* 2 */
      "sources:\n"                                         /* 3 */
      "  - {id: in, type: generator, count: abc}\n"        /* 4 */
      "  - {id: f, type: fil, path: x}\n"                  /* 5 */
      "operations:\n"                                      /* 6 */
      "  - {id: j, type: jq, inputs: [in], expr: '.a |'}\n" /* 7 */
      "sinks:\n"                                           /* 8 */
      "  - {id: out, type: file, inputs: [j, ghost]}\n"    /* 9 */
      "  - {id: in, type: null, inputs: [out]}\n";         /* 10 */
  assert_int_equal(parse(ctx, y, &p), WIRE_ECONFIG);
  const char *d = diags_of(p);
  assert_non_null(strstr(d, "2:1: unknown pipeline key 'partitons' (did you mean 'partitions'?)\n"));
  assert_non_null(strstr(d, "4:38: option 'count' must be an integer, got \"abc\"\n"));
  assert_non_null(strstr(d, "5:19: unknown source type 'fil' (did you mean 'file'?)\n"));
  assert_non_null(strstr(d, "7:43: operation 'j': invalid jq expression"));
  assert_non_null(strstr(d, "9:5: sink 'out' (file): missing required option 'path'\n"));
  assert_non_null(strstr(d, "9:39: input 'ghost' of sink 'out' does not exist\n"));
  assert_non_null(strstr(d, "10:10: duplicate id 'in' (first defined at line 4)\n"));
  /* Sorted by position. */
  int last = 0;
  for (size_t i = 0; i < wire_pipeline_diag_count(p); i++) {
    assert_true(wire_pipeline_diag(p, i)->line >= last);
    last = wire_pipeline_diag(p, i)->line;
  }
  assert_int_equal(wire_pipeline_start(p), WIRE_ECONFIG);
  wire_pipeline_free(p);
  wire_ctx_free(ctx);
}

static void test_cycle_and_syntax(void **state) {
  (void)state;
  wire_ctx *ctx;
  wire_ctx_new(&ctx);
  wire_pipeline *p;
  assert_int_equal(parse(ctx,
                         "name: t\n"
                         "sources: [{id: in, type: generator}]\n"
                         "operations:\n"
                         "  - {id: a, type: jq, inputs: [in, b], expr: .}\n"
                         "  - {id: b, type: jq, inputs: [a], expr: .}\n"
                         "sinks: [{id: out, type: null, inputs: [b]}]\n",
                         &p),
                   WIRE_ECONFIG);
  assert_non_null(strstr(diags_of(p), "cycle: "));
  wire_pipeline_free(p);
  assert_int_equal(parse(ctx, "name: t\nsources: [\n", &p), WIRE_ECONFIG);
  assert_non_null(strstr(diags_of(p), "YAML syntax error"));
  wire_pipeline_free(p);
  assert_int_equal(parse(ctx, "", &p), WIRE_ECONFIG);
  assert_non_null(strstr(diags_of(p), "empty pipeline definition"));
  wire_pipeline_free(p);
  assert_int_equal(parse(ctx, "name: &x t\n", &p), WIRE_ECONFIG);
  assert_non_null(strstr(diags_of(p), "anchors are not supported"));
  wire_pipeline_free(p);
  assert_int_equal(parse(ctx, "name: t\nname: u\n", &p), WIRE_ECONFIG);
  assert_non_null(strstr(diags_of(p), "2:1: duplicate key 'name' (first at line 1)"));
  wire_pipeline_free(p);
  wire_ctx_free(ctx);
}

static void test_getters_and_defaults(void **state) {
  (void)state;
  wire_ctx *ctx;
  wire_ctx_new(&ctx);
  wire_pipeline *p;
  assert_int_equal(parse(ctx,
                         "name: t\n"
                         "sources: [{id: in, type: file, path: /x, follow: true}]\n"
                         "operations: [{id: s, type: set, inputs: [in], fields: {a: 1, b: '1', c: x}}]\n"
                         "sinks: [{id: out, type: null, inputs: [s]}]\n",
                         &p),
                   WIRE_OK);
  wire_pipeline_free(p);
  spec sp;
  spec_init(&sp, ctx, "t.yaml", NULL);
  const char *y = "name: t\nsources: [{id: in, type: file, path: /x, follow: true}]\n"
                  "operations: [{id: s, type: set, inputs: [in], fields: {a: 1, b: '1', c: x}}]\n"
                  "sinks: [{id: out, type: null, inputs: [s]}]\n";
  assert_int_equal(spec_load_yaml(&sp, y, strlen(y)), WIRE_OK);
  const wire_config *cfg = &sp.nodes[0]->cfg;
  const char *str;
  bool b;
  assert_int_equal(wire_config_string(cfg, "path", &str), 0);
  assert_string_equal(str, "/x");
  assert_int_equal(wire_config_bool(cfg, "follow", &b), 0);
  assert_true(b);
  assert_int_equal(wire_config_string(cfg, "format", &str), 0); /* default */
  assert_string_equal(str, "ndjson");
  assert_false(wire_config_has(cfg, "format"));
  const wire_config *set = &sp.nodes[1]->cfg;
  assert_int_equal(wire_config_map_count(set, "fields"), 3);
  const char *name, *text, *js;
  wire_config_map_item(set, "fields", 0, &name, &text, &js);
  assert_string_equal(js, "1");
  wire_config_map_item(set, "fields", 1, &name, &text, &js);
  assert_string_equal(js, "\"1\"");
  assert_string_equal(wire_config_json(set, "fields"), "{\"a\":1,\"b\":\"1\",\"c\":\"x\"}");
  spec_free(&sp);
  wire_ctx_free(ctx);
}

static void test_programmatic_errors(void **state) {
  (void)state;
  wire_ctx *ctx;
  wire_ctx_new(&ctx);
  wire_pipeline *p;
  wire_pipeline_new(ctx, "prog", &p);
  wire_pipeline_add(p, WIRE_NODE_SOURCE, "in", "generator", NULL, "{count: 10}");
  wire_pipeline_add(p, WIRE_NODE_SINK, "out", "file", "in, nope", "{append: maybe}");
  assert_int_equal(wire_pipeline_set(p, "partitions", "0"), WIRE_ECONFIG);
  assert_int_equal(wire_pipeline_validate(p), WIRE_ECONFIG);
  const char *d = diags_of(p);
  assert_non_null(strstr(d, "option 'append' must be true or false"));
  assert_non_null(strstr(d, "input 'nope' of sink 'out' does not exist"));
  assert_non_null(strstr(d, "missing required option 'path'"));
  wire_pipeline_free(p);
  wire_ctx_free(ctx);
}

static void test_oom_loop(void **state) {
  (void)state;
  const char *y =
      "name: t\npartitions: 2\npartition_key: .user\n"
      "sources: [{id: in, type: generator, count: 5}]\n"
      "operations:\n"
      "  - {id: r, type: route, inputs: [in], routes: {e: '.level == \"error\"'}}\n"
      "  - {id: s, type: set, inputs: [r.e], fields: {a: 1}}\n"
      "sinks: [{id: out, type: null, inputs: [s, r.unmatched]}]\n";
  int ok = 0;
  for (long n = 0; n < 2000; n++) {
    wire_ctx *ctx = NULL;
    core_alloc_fail_after(n);
    int rc = wire_ctx_new(&ctx);
    if (rc == WIRE_OK) {
      wire_pipeline *p = NULL;
      rc = wire_pipeline_parse(ctx, y, strlen(y), "t.yaml", &p);
      core_alloc_fail_after(-1);
      assert_true(rc == WIRE_OK || rc == WIRE_ENOMEM || rc == WIRE_ECONFIG);
      wire_pipeline_free(p);
    }
    core_alloc_fail_after(-1);
    wire_ctx_free(ctx);
    if (rc == WIRE_OK && ++ok > 3) break; /* past the last allocation */
  }
  assert_true(ok > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_all_errors_with_positions),
      cmocka_unit_test(test_cycle_and_syntax),
      cmocka_unit_test(test_getters_and_defaults),
      cmocka_unit_test(test_programmatic_errors),
      cmocka_unit_test(test_oom_loop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
