/* Unit tests of the raw JSON scanner (lib/core/json.c): validation against
 * RFC 8259 edge cases, jq-style paths, lookup with duplicate keys, escapes
 * and a rough speed check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/core.h"
#include "core/json.h"

static bool valid(const char *s) { return json_validate(s, strlen(s), NULL); }

static void test_valid_texts(void **state) {
  (void)state;
  static const char *const ok[] = {
      "0", "-0", "1", "-1", "123", "1.5", "-0.25", "1e5", "1E+5", "1e-5",
      "0.0e0", "true", "false", "null", "\"\"", "\"abc\"", " \t\r\n1 \n",
      "[]", "{}", "[1,2,3]", "[ 1 , [ ] , { } ]", "{\"a\":1}",
      "{ \"a\" : { \"b\" : [ true , null ] } }",
      "\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"", "\"\\u0041\\u00e9\\uD83D\\uDE00\"",
      "\"caf\xc3\xa9\"", "\"\x7f\"", "{\"a\":1,\"a\":2}",
      "[\"x\",{\"y\":[-1.0e-2]}]",
  };
  for (size_t i = 0; i < WIRE_ARRAY_SIZE(ok); i++) {
    if (!valid(ok[i])) fail_msg("should be valid: %s", ok[i]);
  }
}

static void test_invalid_texts(void **state) {
  (void)state;
  static const char *const bad[] = {
      "", " ", "01", "-01", "+1", "1.", ".5", "1e", "1e+", "-", "0x10",
      "1.5.2", "tru", "True", "nul", "nulll", "\"abc", "\"\\x\"",
      "\"\\u12\"", "\"\\u12G4\"", "\"a\nb\"", "\"tab\there\"", "[1,]",
      "[,1]", "[1 2]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "{\"a\":}",
      "{,}", "[", "]", "{", "}", "1 2", "[1]]", "{\"a\":1}}", "NaN",
      "Infinity", "'a'", "[\"a\",]", "\"\\", "[1,2", "{\"a\"",
  };
  for (size_t i = 0; i < WIRE_ARRAY_SIZE(bad); i++) {
    if (valid(bad[i])) fail_msg("should be invalid: '%s'", bad[i]);
  }
}

static void test_error_offset(void **state) {
  (void)state;
  size_t off = 999;
  const char *s = "{\"a\":[1,2,]}";
  assert_false(json_validate(s, strlen(s), &off));
  assert_int_equal(off, 10); /* the ']' after the trailing comma */
  s = "[1] x";
  assert_false(json_validate(s, strlen(s), &off));
  assert_int_equal(off, 4);
  s = "\"ab\x01\"";
  assert_false(json_validate(s, strlen(s), &off));
  assert_int_equal(off, 3);
  /* A length shorter than the text: validation stops at n. */
  s = "[1,2]";
  assert_false(json_validate(s, 4, &off));
  assert_true(json_validate(s, 5, NULL));
}

static char *nested(int depth, char open, char close) {
  char *s = malloc((size_t)depth * 2 + 1);
  for (int i = 0; i < depth; i++) s[i] = open;
  for (int i = 0; i < depth; i++) s[depth + i] = close;
  s[depth * 2] = '\0';
  return s;
}

static void test_depth_limit(void **state) {
  (void)state;
  char *s = nested(512, '[', ']');
  assert_true(valid(s));
  free(s);
  s = nested(513, '[', ']');
  assert_false(valid(s));
  free(s);
  /* Objects count too. */
  char buf[8 * 600];
  size_t n = 0;
  for (int i = 0; i < 513; i++) n += (size_t)sprintf(buf + n, "{\"a\":");
  buf[n++] = '1';
  for (int i = 0; i < 513; i++) buf[n++] = '}';
  assert_false(json_validate(buf, n, NULL));
  /* One level less is fine. */
  assert_true(json_validate(buf + 5, n - 6, NULL));
}

static void test_kind_and_skip(void **state) {
  (void)state;
  assert_int_equal(json_kind_of("null", 4), JSON_NULL);
  assert_int_equal(json_kind_of("true", 4), JSON_TRUE);
  assert_int_equal(json_kind_of("false", 5), JSON_FALSE);
  assert_int_equal(json_kind_of("-3", 2), JSON_NUMBER);
  assert_int_equal(json_kind_of("7", 1), JSON_NUMBER);
  assert_int_equal(json_kind_of("\"x\"", 3), JSON_STRING);
  assert_int_equal(json_kind_of("[1]", 3), JSON_ARRAY);
  assert_int_equal(json_kind_of("{}", 2), JSON_OBJECT);
  assert_int_equal(json_kind_of("x", 1), JSON_INVALID);
  assert_int_equal(json_kind_of("", 0), JSON_INVALID);

  const char *s = "  {\"a\":[1,{\"b\":\"]}\"}]}  ,5";
  const char *e = json_skip_value(s, s + strlen(s));
  assert_non_null(e);
  assert_string_equal(e, "  ,5");
  s = "[1,2";
  assert_null(json_skip_value(s, s + strlen(s)));
  s = "\"a\\\"b\" rest";
  e = json_skip_value(s, s + strlen(s));
  assert_string_equal(e, " rest");
}

static void test_path_parse(void **state) {
  (void)state;
  json_path p;
  assert_int_equal(json_path_parse(".", &p), 0);
  assert_int_equal(p.n, 0);
  json_path_free(&p);

  assert_int_equal(json_path_parse(" .user.name ", &p), 0);
  assert_int_equal(p.n, 2);
  assert_string_equal(p.steps[0].key, "user");
  assert_int_equal(p.steps[0].key_len, 4);
  assert_string_equal(p.steps[1].key, "name");
  json_path_free(&p);

  assert_int_equal(json_path_parse(".[\"a b\"].c_1[2]", &p), 0);
  assert_int_equal(p.n, 3);
  assert_string_equal(p.steps[0].key, "a b");
  assert_string_equal(p.steps[1].key, "c_1");
  assert_null(p.steps[2].key);
  assert_int_equal(p.steps[2].index, 2);
  json_path_free(&p);

  assert_int_equal(json_path_parse(".\"x\\ny\"[-1]", &p), 0);
  assert_int_equal(p.n, 2);
  assert_int_equal(p.steps[0].key_len, 3);
  assert_memory_equal(p.steps[0].key, "x\ny", 3);
  assert_int_equal(p.steps[1].index, -1);
  json_path_free(&p);

  static const char *const bad[] = {
      "", "a", "..", ".a.", ".1a", ".a b", ".[", ".[]", ".[x]", ".[\"a\"",
      ".a | .b", ".a[1", ".[\"\\(x)\"]", "select(.a)", ".a?", ".a[]",
  };
  for (size_t i = 0; i < WIRE_ARRAY_SIZE(bad); i++) {
    if (json_path_parse(bad[i], &p) == 0) fail_msg("parsed: %s", bad[i]);
    assert_null(p.steps);
  }
  json_path_free(NULL);
}

static int find(const char *doc, const char *path, char *out) {
  json_path p;
  assert_int_equal(json_path_parse(path, &p), 0);
  const char *v = NULL;
  size_t vl = 0;
  int rc = json_find(doc, strlen(doc), &p, &v, &vl);
  json_path_free(&p);
  out[0] = '\0';
  if (rc == 1) {
    memcpy(out, v, vl);
    out[vl] = '\0';
  }
  return rc;
}

static void test_find(void **state) {
  (void)state;
  char v[256];
  const char *doc =
      " { \"id\" : 7 , \"user\" : { \"name\" : \"ann\" , \"tags\" : [ \"a\" , "
      "{ \"k\" : null } ] } , \"a b\" : true } ";
  assert_int_equal(find(doc, ".id", v), 1);
  assert_string_equal(v, "7");
  assert_int_equal(find(doc, ".user.name", v), 1);
  assert_string_equal(v, "\"ann\"");
  assert_int_equal(find(doc, ".user.tags[1].k", v), 1);
  assert_string_equal(v, "null");
  assert_int_equal(find(doc, ".user.tags[-1]", v), 1);
  assert_string_equal(v, "{ \"k\" : null }");
  assert_int_equal(find(doc, ".user.tags[-3]", v), 0);
  assert_int_equal(find(doc, ".user.tags[2]", v), 0);
  assert_int_equal(find(doc, ".[\"a b\"]", v), 1);
  assert_string_equal(v, "true");
  assert_int_equal(find(doc, ".", v), 1);
  assert_int_equal(strlen(v), strlen(doc) - 2); /* trimmed */
  assert_int_equal(find(doc, ".missing", v), 0);
  assert_int_equal(find(doc, ".id.x", v), 0);       /* through a number */
  assert_int_equal(find(doc, ".user.name[0]", v), 0); /* through a string */
  assert_int_equal(find("[1,2]", ".a", v), 0);
  assert_int_equal(find("{\"a\":1}", ".[0]", v), 0);
  assert_int_equal(find("{}", ".a", v), 0);
  assert_int_equal(find("[]", ".[0]", v), 0);

  /* Duplicate keys: the last one wins, also on the way down. */
  assert_int_equal(find("{\"a\":1,\"b\":2,\"a\":3}", ".a", v), 1);
  assert_string_equal(v, "3");
  assert_int_equal(
      find("{\"a\":{\"x\":1},\"a\":{\"y\":2}}", ".a.x", v), 0);
  assert_int_equal(
      find("{\"a\":{\"x\":1},\"a\":{\"y\":2}}", ".a.y", v), 1);
  assert_string_equal(v, "2");

  /* Escaped keys compare after unescaping. */
  assert_int_equal(find("{\"\\u0061\":5}", ".a", v), 1);
  assert_string_equal(v, "5");
  assert_int_equal(find("{\"a\\nb\":5,\"ab\":6}", ".\"a\\nb\"", v), 1);
  assert_string_equal(v, "5");
  assert_int_equal(find("{\"a\\\"\":1}", ".[\"a\\\"\"]", v), 1);
  assert_int_equal(find("{\"\\u00e9\":1}", ".\"\xc3\xa9\"", v), 1);
  assert_int_equal(find("{\"ab\\\\\":1}", ".ab", v), 0);

  /* Invalid JSON on the way is reported. */
  assert_int_equal(find("{\"a\":[1,}", ".a", v), -1);
  assert_int_equal(find("{\"a\":1,\"b\":tru}", ".b", v), -1);
  assert_int_equal(find("{\"x\":1,", ".a", v), -1);
  assert_int_equal(find("", ".a", v), -1);
  assert_int_equal(find("{\"a\" 1}", ".a", v), -1);
}

static void test_unescape(void **state) {
  (void)state;
  char out[64];
  struct {
    const char *in;
    const char *out;
    long n;
  } cases[] = {
      {"\"\"", "", 0},
      {"\"plain\"", "plain", 5},
      {"\"a\\\"b\\\\c\\/d\"", "a\"b\\c/d", 7},
      {"\"\\b\\f\\n\\r\\t\"", "\b\f\n\r\t", 5},
      {"\"\\u0041\\u00e9\\u20AC\"", "A\xc3\xa9\xe2\x82\xac", 6},
      {"\"\\uD83D\\uDE00!\"", "\xf0\x9f\x98\x80!", 5},
      {"\"\\uDE00\"", "\xef\xbf\xbd", 3},      /* lone low surrogate */
      {"\"\\uD83Dx\"", "\xef\xbf\xbdx", 4},    /* lone high surrogate */
      {"\"\\u0000z\"", "\0z", 2},
      {"\"caf\xc3\xa9\"", "caf\xc3\xa9", 5},
  };
  for (size_t i = 0; i < WIRE_ARRAY_SIZE(cases); i++) {
    long n = json_unescape(cases[i].in, strlen(cases[i].in), out);
    assert_int_equal(n, cases[i].n);
    assert_memory_equal(out, cases[i].out, (size_t)n);
  }
  assert_int_equal(json_unescape("\"\\x\"", 4, out), -1);
  assert_int_equal(json_unescape("\"\\u12\"", 6, out), -1);
  assert_int_equal(json_unescape("abc", 3, out), -1);
  assert_int_equal(json_unescape("\"", 1, out), -1);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void test_speed(void **state) {
  (void)state;
  const char *rec =
      "{\"id\":123456,\"ts\":\"2024-05-01T12:34:56Z\",\"user\":\"alice\","
      "\"level\":\"info\",\"msg\":\"request served in time\",\"ms\":12.5,"
      "\"ok\":true}";
  size_t n = strlen(rec);
  int iters = 200000;
  int okc = 0;
  double t0 = now_s();
  for (int i = 0; i < iters; i++) okc += json_validate(rec, n, NULL);
  double ns = (now_s() - t0) * 1e9 / iters;
  assert_int_equal(okc, iters);
  print_message("json_validate: %zu-byte record in %.1f ns\n", n, ns);
  /* Generous bound (sanitizer builds, loaded machines): catches only a
   * pathological slowdown. */
  assert_true(ns < 5000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid_texts),  cmocka_unit_test(test_invalid_texts),
      cmocka_unit_test(test_error_offset), cmocka_unit_test(test_depth_limit),
      cmocka_unit_test(test_kind_and_skip), cmocka_unit_test(test_path_parse),
      cmocka_unit_test(test_find),         cmocka_unit_test(test_unescape),
      cmocka_unit_test(test_speed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
