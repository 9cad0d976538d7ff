/* Unit tests of the YAML layer (lib/config/yaml.c and the diagnostics
 * helpers of config.c): the tree and its 1-based positions, refused YAML
 * features (anchors, aliases, local tags, complex keys), duplicate keys,
 * syntax and encoding errors with their positions, the first-document rule,
 * the nesting limit, the YAML 1.2 core schema readings and the JSON
 * rendering of values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/spec.h"
#include "core/core.h"

/* All diagnostics as "L:C: message\n" lines. */
static const char *lines_of(const diag_list *d) {
  static char buf[16384];
  buf[0] = '\0';
  for (size_t i = 0; i < d->n; i++) {
    size_t l = strlen(buf);
    snprintf(buf + l, sizeof buf - l, "%d:%d: %s\n", d->v[i].line,
             d->v[i].col, d->v[i].message);
  }
  return buf;
}

static yval *parse(const char *text, diag_list *d, int *rc) {
  return yval_parse_ex(text, strlen(text), "t.yaml", d, rc);
}

static void test_tree_and_positions(void **state) {
  (void)state;
  diag_list d = {0};
  int rc;
  yval *v = parse("name: t\n"
                  "list:\n"
                  "  - a\n"
                  "  - {k: v, 'q': \"x y\"}\n"
                  "quoted: \"x\"\n"
                  "empty:\n"
                  "block: |\n"
                  "  two\n"
                  "  lines\n",
                  &d, &rc);
  assert_non_null(v);
  assert_int_equal(rc, WIRE_OK);
  assert_int_equal(d.n, 0);
  assert_int_equal(v->kind, Y_MAP);
  assert_int_equal(v->line, 1);
  assert_int_equal(v->col, 1);
  assert_int_equal(v->n, 5);
  assert_string_equal(v->keys[0]->str, "name");
  assert_int_equal(v->keys[0]->line, 1);
  assert_int_equal(v->keys[0]->col, 1);
  const yval *t = yval_get(v, "name");
  assert_string_equal(t->str, "t");
  assert_int_equal(t->line, 1);
  assert_int_equal(t->col, 7);
  assert_true(t->plain);
  const yval *list = yval_get(v, "list");
  assert_int_equal(list->kind, Y_SEQ);
  assert_int_equal(list->n, 2);
  assert_int_equal(list->line, 3);
  assert_int_equal(list->col, 3);
  assert_int_equal(list->items[0]->line, 3);
  assert_int_equal(list->items[0]->col, 5);
  const yval *m = list->items[1];
  assert_int_equal(m->kind, Y_MAP);
  assert_int_equal(m->line, 4);
  assert_int_equal(m->col, 5);
  assert_int_equal(yval_get(m, "k")->col, 9);
  assert_string_equal(yval_get(m, "q")->str, "x y");
  assert_false(yval_get(m, "q")->plain);
  assert_false(m->keys[1]->plain);
  const yval *q = yval_get(v, "quoted");
  assert_false(q->plain);
  assert_int_equal(q->col, 9);
  const yval *e = yval_get(v, "empty");
  assert_int_equal(e->kind, Y_SCALAR);
  assert_int_equal(e->len, 0);
  assert_true(yval_is_null(e));
  assert_string_equal(yval_get(v, "block")->str, "two\nlines\n");
  assert_null(yval_get(v, "nope"));
  assert_null(yval_get(list, "a")); /* not a mapping */
  assert_string_equal(yval_kind_name(v), "a mapping");
  assert_string_equal(yval_kind_name(list), "a list");
  assert_string_equal(yval_kind_name(t), "a scalar");
  yval_free(v);
  diag_clear(&d);
}

static void test_empty_documents(void **state) {
  (void)state;
  const char *empties[] = {"", "   \n", "# just a comment\n", "---\n...\n"};
  for (size_t i = 0; i < 4; i++) {
    diag_list d = {0};
    int rc = -99;
    yval *v = parse(empties[i], &d, &rc);
    /* "---" alone is a document holding one empty scalar. */
    if (i == 3) {
      assert_non_null(v);
      assert_true(yval_is_null(v));
      yval_free(v);
    } else {
      assert_null(v);
      assert_int_equal(rc, WIRE_OK);
    }
    assert_int_equal(d.n, 0);
    diag_clear(&d);
  }
  diag_list d = {0};
  assert_null(yval_parse("# nothing\n", 10, "t.yaml", &d));
  assert_string_equal(lines_of(&d), "1:1: empty pipeline definition\n");
  assert_string_equal(d.v[0].file, "t.yaml");
  diag_clear(&d);
  /* A NULL text is an empty one. */
  int rc;
  assert_null(yval_parse_ex(NULL, 0, NULL, &d, &rc));
  assert_int_equal(rc, WIRE_OK);
  diag_clear(&d);
}

static void test_only_first_document(void **state) {
  (void)state;
  diag_list d = {0};
  int rc;
  yval *v = parse("a: 1\n---\nb: [unclosed\n", &d, &rc);
  assert_non_null(v);
  assert_int_equal(d.n, 0);
  assert_int_equal(v->n, 1);
  assert_string_equal(v->keys[0]->str, "a");
  yval_free(v);
  diag_clear(&d);
}

static void test_syntax_errors(void **state) {
  (void)state;
  struct {
    const char *text, *want;
  } cases[] = {
      {"a: [1, 2\nb: 3\n",
       "2:2: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence "
       "at line 1, column 4)\n"},
      {"a:\n  b: 1\n c: 2\n",
       "3:2: YAML syntax error: did not find expected key (while parsing a block mapping at "
       "line 1, column 1)\n"},
      {"a: 'open\n", "2:1: YAML syntax error: found unexpected end of stream (while scanning a "
                     "quoted scalar at line 1, column 4)\n"},
      {"a: b: c\n", "1:5: YAML syntax error: mapping values are not allowed in this context\n"},
      {"a: \"\\q\"\n", "1:5: YAML syntax error: found unknown escape character (while parsing a "
                       "quoted scalar at line 1, column 4)\n"},
      /* Encoding errors come as a byte offset: shown as a position too. */
      {"ok: 1\nbad: \xff\n", "2:6: YAML syntax error: invalid leading UTF-8 octet (byte 0xFF)\n"},
  };
  for (size_t i = 0; i < WIRE_ARRAY_SIZE(cases); i++) {
    diag_list d = {0};
    int rc;
    yval *v = parse(cases[i].text, &d, &rc);
    assert_null(v);
    assert_int_equal(rc, WIRE_ECONFIG);
    assert_string_equal(lines_of(&d), cases[i].want);
    diag_clear(&d);
  }
}

static void test_refused_features(void **state) {
  (void)state;
  diag_list d = {0};
  int rc;
  /* Anchors, aliases and local tags: each reported, parsing goes on so
   * that all of them are. */
  yval *v = parse("a: &x 1\n"
                  "b: *x\n"
                  "c: !include other.yaml\n"
                  "d: &m {k: v}\n"
                  "e: !!str 5\n",
                  &d, &rc);
  assert_non_null(v);
  assert_int_equal(rc, WIRE_OK);
  assert_string_equal(
      lines_of(&d),
      "1:4: YAML anchors are not supported in pipeline definitions\n"
      "2:4: YAML aliases are not supported in pipeline definitions\n"
      "3:4: YAML tag '!include' is not supported in pipeline definitions\n"
      "4:4: YAML anchors are not supported in pipeline definitions\n");
  assert_int_equal(v->n, 5);
  assert_true(yval_is_null(yval_get(v, "b"))); /* the alias stands as null */
  assert_false(yval_get(v, "e")->plain);       /* !!str makes it text */
  yval_free(v);
  diag_clear(&d);

  /* Complex keys stop the parse. */
  v = parse("? [a, b]\n: 1\n", &d, &rc);
  assert_null(v);
  assert_int_equal(rc, WIRE_ECONFIG);
  assert_string_equal(lines_of(&d),
                      "1:3: mapping keys must be scalars, got a list\n");
  diag_clear(&d);
  v = parse("{? {a: 1} : x}\n", &d, &rc);
  assert_null(v);
  assert_string_equal(lines_of(&d),
                      "1:4: mapping keys must be scalars, got a mapping\n");
  diag_clear(&d);

  /* NUL inside a key would make two different keys compare equal. */
  v = parse("\"a\\0b\": 1\n", &d, &rc);
  assert_non_null(v);
  assert_string_equal(lines_of(&d), "1:1: mapping keys must not contain NUL\n");
  assert_int_equal(v->keys[0]->len, 3);
  yval_free(v);
  diag_clear(&d);
}

static void test_duplicate_keys(void **state) {
  (void)state;
  diag_list d = {0};
  int rc;
  yval *v = parse("a: 1\nb: 2\na: 3\nc: {x: 1, x: 2}\n", &d, &rc);
  assert_non_null(v);
  assert_string_equal(lines_of(&d),
                      "4:11: duplicate key 'x' (first at line 4)\n"
                      "3:1: duplicate key 'a' (first at line 1)\n");
  assert_string_equal(yval_get(v, "a")->str, "3"); /* the last one wins */
  yval_free(v);
  diag_clear(&d);

  /* A large mapping takes the sorted path: same answers. */
  char text[4096] = "";
  for (int i = 0; i < 40; i++) {
    size_t l = strlen(text);
    snprintf(text + l, sizeof text - l, "k%d: %d\n", i, i);
  }
  strcat(text, "k5: again\nk39: again\nk5: thrice\n");
  v = parse(text, &d, &rc);
  assert_non_null(v);
  assert_int_equal(v->n, 43);
  assert_string_equal(lines_of(&d),
                      "42:1: duplicate key 'k39' (first at line 40)\n"
                      "41:1: duplicate key 'k5' (first at line 6)\n"
                      "43:1: duplicate key 'k5' (first at line 6)\n");
  yval_free(v);
  diag_clear(&d);

  /* Same prefix, different lengths: not duplicates. */
  v = parse("ab: 1\na: 2\nabc: 3\n\"a\\0\": 4\n", &d, &rc);
  assert_non_null(v);
  assert_string_equal(lines_of(&d), "4:1: mapping keys must not contain NUL\n");
  yval_free(v);
  diag_clear(&d);
}

static void test_nesting_limit(void **state) {
  (void)state;
  char deep[1200];
  size_t n = 0;
  for (int i = 0; i < 300; i++) deep[n++] = '[';
  for (int i = 0; i < 300; i++) deep[n++] = ']';
  deep[n] = '\0';
  diag_list d = {0};
  int rc;
  assert_null(parse(deep, &d, &rc));
  assert_int_equal(rc, WIRE_ECONFIG);
  assert_string_equal(lines_of(&d),
                      "1:257: nesting deeper than 256 levels\n");
  diag_clear(&d);
  /* 256 levels are fine. */
  n = 0;
  for (int i = 0; i < 256; i++) deep[n++] = '[';
  for (int i = 0; i < 256; i++) deep[n++] = ']';
  deep[n] = '\0';
  yval *v = parse(deep, &d, &rc);
  assert_non_null(v);
  assert_int_equal(d.n, 0);
  char *j = yval_to_json(v);
  assert_int_equal(strlen(j), 512);
  core_free(j);
  yval_free(v);
}

static void test_json_rendering(void **state) {
  (void)state;
  diag_list d = {0};
  int rc;
  yval *v = parse(
      "{n1: null, n2: ~, n3: , n4: Null, n5: NULL,"
      " b1: true, b2: False, b3: TRUE,"
      " i1: 42, i2: -7, i3: +7, i4: 007, i5: 0x1F, i6: 0o17, i7: -0, i8: 00,"
      " f1: 1.5, f2: .5, f3: 1., f4: -1e3, f5: 1E+05, f6: +0.25, f7: -00.50,"
      " s1: .inf, s2: .nan, s3: yes, s4: \"42\", s5: 'true', s6: \"a\\\"b\\\\c\\nd\\u00e9\","
      " s7: 0x, s8: 12abc, s9: 0xFFFFFFFFFFFFFFFFF, s10: 1_000, s11: \"\", s12: !!str 5,"
      " s13: \"\\t\\x01\","
      " i9: !!int '12', big: 123456789012345678901234567890, l: [1, a, {x: ~}], e: [], m: {}}\n",
      &d, &rc);
  assert_non_null(v);
  assert_int_equal(d.n, 0);
  char *j = yval_to_json(v);
  assert_non_null(j);
  assert_string_equal(
      j,
      "{\"n1\":null,\"n2\":null,\"n3\":null,\"n4\":null,\"n5\":null,"
      "\"b1\":true,\"b2\":false,\"b3\":true,"
      "\"i1\":42,\"i2\":-7,\"i3\":7,\"i4\":7,\"i5\":31,\"i6\":15,\"i7\":-0,\"i8\":0,"
      "\"f1\":1.5,\"f2\":0.5,\"f3\":1.0,\"f4\":-1e3,\"f5\":1E+05,\"f6\":0.25,\"f7\":-0.50,"
      "\"s1\":\".inf\",\"s2\":\".nan\",\"s3\":\"yes\",\"s4\":\"42\",\"s5\":\"true\","
      "\"s6\":\"a\\\"b\\\\c\\nd\xc3\xa9\","
      "\"s7\":\"0x\",\"s8\":\"12abc\",\"s9\":\"0xFFFFFFFFFFFFFFFFF\",\"s10\":\"1_000\","
      "\"s11\":\"\",\"s12\":\"5\",\"s13\":\"\\t\\u0001\","
      "\"i9\":12,\"big\":123456789012345678901234567890,"
      "\"l\":[1,\"a\",{\"x\":null}],\"e\":[],\"m\":{}}");
  core_free(j);
  assert_null(yval_to_json(NULL));
  yval_free(v);
  diag_clear(&d);
}

static void test_core_schema(void **state) {
  (void)state;
  int64_t i = 0;
  assert_int_equal(yval_text_int("42", &i), WIRE_OK);
  assert_int_equal(i, 42);
  assert_int_equal(yval_text_int("+42", &i), WIRE_OK);
  assert_int_equal(i, 42);
  assert_int_equal(yval_text_int("-9223372036854775808", &i), WIRE_OK);
  assert_true(i == INT64_MIN);
  assert_int_equal(yval_text_int("9223372036854775807", &i), WIRE_OK);
  assert_true(i == INT64_MAX);
  assert_int_equal(yval_text_int("9223372036854775808", &i), WIRE_ETOOBIG);
  assert_int_equal(yval_text_int("-9223372036854775809", &i), WIRE_ETOOBIG);
  assert_int_equal(yval_text_int("0x7fffffffffffffff", &i), WIRE_OK);
  assert_true(i == INT64_MAX);
  assert_int_equal(yval_text_int("0x8000000000000000", &i), WIRE_ETOOBIG);
  assert_int_equal(yval_text_int("0o777", &i), WIRE_OK);
  assert_int_equal(i, 511);
  i = 5;
  const char *bad[] = {"", "+", "-", " 1", "1 ", "1.0", "0x", "0o8", "1_000",
                       "0b101", "abc", "1e3", "--1"};
  for (size_t k = 0; k < WIRE_ARRAY_SIZE(bad); k++)
    assert_int_equal(yval_text_int(bad[k], &i), WIRE_EINVAL);
  assert_int_equal(i, 5); /* untouched */
  assert_int_equal(yval_text_int(NULL, &i), WIRE_EINVAL);

  double x = 0;
  assert_true(yval_text_double("1.5", &x));
  assert_true(x == 1.5);
  assert_true(yval_text_double(".5", &x));
  assert_true(x == 0.5);
  assert_true(yval_text_double("-1e3", &x));
  assert_true(x == -1000);
  assert_true(yval_text_double("0x10", &x));
  assert_true(x == 16);
  assert_true(yval_text_double("7", &x));
  assert_true(x == 7);
  assert_true(yval_text_double("99999999999999999999", &x)); /* > int64 */
  const char *nonum[] = {"1e999", ".inf", "-.inf", ".nan", "nan", "inf",
                         "abc",   "1e",   ".",     "",     "0x1p3", " 1"};
  for (size_t k = 0; k < WIRE_ARRAY_SIZE(nonum); k++)
    assert_false(yval_text_double(nonum[k], &x));

  bool b = false;
  assert_true(yval_text_bool("true", &b) && b);
  assert_true(yval_text_bool("True", &b) && b);
  assert_true(yval_text_bool("TRUE", &b) && b);
  assert_true(yval_text_bool("false", &b) && !b);
  assert_true(yval_text_bool("FALSE", &b) && !b);
  b = true;
  const char *nobool[] = {"yes", "no", "on", "off", "1", "0", "tRuE", ""};
  for (size_t k = 0; k < WIRE_ARRAY_SIZE(nobool); k++)
    assert_false(yval_text_bool(nobool[k], &b));
  assert_true(b);

  yval s = {.kind = Y_SCALAR, .str = (char *)"~", .len = 1, .plain = true};
  assert_true(yval_is_null(&s));
  s.plain = false; /* '~' quoted is text */
  assert_false(yval_is_null(&s));
  s = (yval){.kind = Y_SCALAR, .str = (char *)"nil", .len = 3, .plain = true};
  assert_false(yval_is_null(&s));
  assert_false(yval_is_null(NULL));
}

static void test_diag_helpers(void **state) {
  (void)state;
  char buf[96];
  assert_string_equal(cfg_show(buf, sizeof buf, "a\"b\\c\nd\te\x01", 10),
                      "a\\\"b\\\\c\\nd\\te\\x01");
  char longer[200];
  memset(longer, 'x', sizeof longer);
  cfg_show(buf, sizeof buf, longer, sizeof longer);
  assert_int_equal(strlen(buf), 63);
  assert_string_equal(buf + 60, "...");
  /* Never cut inside a UTF-8 sequence, even with a tiny buffer. */
  char tiny[8];
  cfg_show(tiny, sizeof tiny, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 8);
  assert_string_equal(tiny, "\xc3\xa9\xc3\xa9...");
  char two[2];
  assert_string_equal(cfg_show(two, sizeof two, "abc", 3), "");
  char tinier[7];
  cfg_show(tinier, sizeof tinier, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 8);
  assert_string_equal(tinier, "\xc3\xa9...");
  cfg_show(tinier, sizeof tinier, "ab", 2);
  assert_string_equal(tinier, "ab");
  char four[4];
  cfg_show(four, sizeof four, "abcdef", 6);
  assert_string_equal(four, "...");
  cfg_show(buf, sizeof buf, "a\0b", 3);
  assert_string_equal(buf, "a\\x00b");

  assert_int_equal(cfg_edit_distance("pth", "path"), 1);
  assert_int_equal(cfg_edit_distance("kitten", "sitting"), 3);
  assert_int_equal(cfg_edit_distance("", "abc"), 3);
  assert_int_equal(cfg_edit_distance("same", "same"), 0);

  /* Sorting keeps the order of equal positions, on both paths (small and
   * merge sort). */
  for (int total = 5; total <= 100; total += 95) {
    diag_list d = {0};
    for (int k = 0; k < total; k++)
      diag_add(&d, "f", (total - k) % 3, 1, "m%d", k);
    diag_sort(&d);
    for (size_t k = 1; k < d.n; k++) {
      assert_true(d.v[k - 1].line <= d.v[k].line);
      if (d.v[k - 1].line == d.v[k].line)
        assert_true(atoi(d.v[k - 1].message + 1) < atoi(d.v[k].message + 1));
    }
    diag_clear(&d);
    assert_int_equal(d.n, 0);
    assert_null(d.v);
  }
  diag_list d = {0};
  diag_add(&d, NULL, 0, 0, "no file");
  assert_string_equal(d.v[0].file, "<pipeline>");
  diag_clear(&d);
}

/* Every allocation failing in turn: NULL with WIRE_ENOMEM, never a crash or
 * a leak (run under ASan), and the full tree once there is enough memory. */
static void test_oom(void **state) {
  (void)state;
  const char *text = "a: [1, {b: c, d: [e, f]}]\ng: \"h\"\n"
                     "k0: 0\nk1: 1\nk2: 2\nk3: 3\nk4: 4\nk5: 5\nk6: 6\nk7: 7\n"
                     "k8: 8\nk9: 9\nk10: 0\nk11: 1\nk12: 2\nk13: 3\nk14: 4\n"
                     "k15: 5\nk16: 6\nk17: 7\nk0: dup\n";
  int done = 0;
  for (long n = 0; n < 10000 && !done; n++) {
    diag_list d = {0};
    int rc;
    core_alloc_fail_after(n);
    yval *v = parse(text, &d, &rc);
    char *j = v ? yval_to_json(v) : NULL;
    core_alloc_fail_after(-1);
    if (v) {
      assert_int_equal(rc, WIRE_OK);
      if (j && !d.oom && d.n == 1) done = 1;
    } else {
      assert_int_equal(rc, WIRE_ENOMEM);
    }
    core_free(j);
    yval_free(v);
    diag_clear(&d);
  }
  assert_true(done);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tree_and_positions),
      cmocka_unit_test(test_empty_documents),
      cmocka_unit_test(test_only_first_document),
      cmocka_unit_test(test_syntax_errors),
      cmocka_unit_test(test_refused_features),
      cmocka_unit_test(test_duplicate_keys),
      cmocka_unit_test(test_nesting_limit),
      cmocka_unit_test(test_json_rendering),
      cmocka_unit_test(test_core_schema),
      cmocka_unit_test(test_diag_helpers),
      cmocka_unit_test(test_oom),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
