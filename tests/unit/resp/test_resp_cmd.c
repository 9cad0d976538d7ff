/*
 * Unit tests of the pure RESP command layer (lib/resp/resp_cmd.c): Redis's
 * integer rules, glob patterns and their literal prefixes, SET options and
 * their error texts, expiry arithmetic with overflow, and the exact
 * unknown-command message of redis-server 7.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "resp/resp_cmd.h"

static resp_arg A(const char *s) { return (resp_arg){s, strlen(s)}; }

static void test_parse_i64(void **state) {
  (void)state;
  int64_t v;
  assert_true(resp_parse_i64("0", 1, &v) && v == 0);
  assert_true(resp_parse_i64("-12", 3, &v) && v == -12);
  assert_true(resp_parse_i64("9223372036854775807", 19, &v) && v == INT64_MAX);
  assert_true(resp_parse_i64("-9223372036854775808", 20, &v) && v == INT64_MIN);
  const char *bad[] = {"", "-", "+1", " 1", "1 ", "01", "-0", "1.5", "abc",
                       "9223372036854775808", "-9223372036854775809",
                       "99999999999999999999"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_false(resp_parse_i64(bad[i], strlen(bad[i]), &v));
}

static bool gm(const char *p, const char *s) {
  return resp_glob_match(p, strlen(p), s, strlen(s), false);
}

static void test_glob(void **state) {
  (void)state;
  assert_true(gm("*", ""));
  assert_true(gm("*", "anything"));
  assert_true(gm("h?llo", "hello"));
  assert_false(gm("h?llo", "hllo"));
  assert_true(gm("h*llo", "heeeello"));
  assert_true(gm("h[ae]llo", "hallo"));
  assert_false(gm("h[ae]llo", "hillo"));
  assert_true(gm("h[^e]llo", "hallo"));
  assert_false(gm("h[^e]llo", "hello"));
  assert_true(gm("h[a-b]llo", "hbllo"));
  assert_false(gm("h[a-b]llo", "hcllo"));
  assert_true(gm("a\\*b", "a*b"));
  assert_false(gm("a\\*b", "axb"));
  assert_true(gm("key:*:x", "key:1:2:x"));
  assert_false(gm("key:*:x", "key:1:2:y"));
  assert_true(gm("**a**", "bab"));
  assert_false(gm("abc", "abcd"));
  assert_true(resp_glob_match("ABC", 3, "abc", 3, true));
  /* pathological pattern: linear, not exponential */
  char pat[200], s[200];
  for (int i = 0; i < 99; i++) pat[2 * i] = '*', pat[2 * i + 1] = 'a';
  pat[198] = 'b';
  memset(s, 'a', 199);
  assert_false(resp_glob_match(pat, 199, s, 199, false));
  assert_int_equal(resp_glob_prefix("user:*", 6), 5);
  assert_int_equal(resp_glob_prefix("abc", 3), 3);
  assert_int_equal(resp_glob_prefix("a\\*", 3), 1);
  assert_int_equal(resp_glob_prefix("?x", 2), 0);
}

static bool setp(const char *const *words, size_t n, resp_set_opts *o,
                 char *err) {
  resp_arg argv[16];
  for (size_t i = 0; i < n; i++) argv[i] = A(words[i]);
  return resp_set_opts_parse(argv, n, 3, 1000000, o, err, 160);
}

static void test_set_opts(void **state) {
  (void)state;
  resp_set_opts o;
  char err[160];
  const char *a[] = {"SET", "k", "v", "nx", "get", "EX", "10"};
  assert_true(setp(a, 7, &o, err));
  assert_true(o.nx && o.get && !o.xx && !o.keepttl);
  assert_int_equal(o.expire_at, 1000000 + 10000);
  const char *b[] = {"SET", "k", "v", "PX", "5", "XX"};
  assert_true(setp(b, 6, &o, err));
  assert_true(o.xx);
  assert_int_equal(o.expire_at, 1000005);
  const char *c[] = {"SET", "k", "v", "PXAT", "7"};
  assert_true(setp(c, 5, &o, err));
  assert_int_equal(o.expire_at, 7);
  const char *d[] = {"SET", "k", "v", "KEEPTTL"};
  assert_true(setp(d, 4, &o, err) && o.keepttl && !o.expire_at);
  /* errors, with Redis's texts */
  const char *e1[] = {"SET", "k", "v", "NX", "XX"};
  assert_false(setp(e1, 5, &o, err));
  assert_string_equal(err, "ERR syntax error");
  const char *e2[] = {"SET", "k", "v", "EX", "1", "KEEPTTL"};
  assert_false(setp(e2, 6, &o, err));
  assert_string_equal(err, "ERR syntax error");
  const char *e3[] = {"SET", "k", "v", "EX", "x"};
  assert_false(setp(e3, 5, &o, err));
  assert_string_equal(err, RESP_ERR_NOTINT);
  const char *e4[] = {"SET", "k", "v", "EX", "0"};
  assert_false(setp(e4, 5, &o, err));
  assert_string_equal(err, "ERR invalid expire time in 'set' command");
  const char *e5[] = {"SET", "k", "v", "EX", "9223372036854775807"};
  assert_false(setp(e5, 5, &o, err));
  assert_string_equal(err, "ERR invalid expire time in 'set' command");
  const char *e6[] = {"SET", "k", "v", "EX"};
  assert_false(setp(e6, 4, &o, err));
  assert_string_equal(err, "ERR syntax error");
  const char *e7[] = {"SET", "k", "v", "BOGUS"};
  assert_false(setp(e7, 4, &o, err));
  int64_t at;
  assert_false(resp_expire_at(INT64_MAX / 10, 1000, false, 0, &at));
  assert_true(resp_expire_at(-5, 1000, false, 10000, &at) && at == 5000);
}

static void test_unknown(void **state) {
  (void)state;
  core_buf b = {0};
  resp_arg argv[3] = {A("FOO"), A("a"), A("b c")};
  assert_int_equal(resp_unknown_command(&b, argv, 3), 0);
  const char *want =
      "-ERR unknown command 'FOO', with args beginning with: 'a' 'b c' \r\n";
  assert_int_equal(b.len, strlen(want));
  assert_memory_equal(b.data, want, b.len);
  b.len = 0;
  assert_int_equal(resp_unknown_command(&b, argv, 1), 0);
  want = "-ERR unknown command 'FOO', with args beginning with: \r\n";
  assert_int_equal(b.len, strlen(want));
  assert_memory_equal(b.data, want, b.len);
  /* long arguments are cut at 128 bytes overall, CR/LF never leak */
  char big[300];
  memset(big, 'x', sizeof big);
  big[5] = '\r';
  big[6] = '\n';
  resp_arg a2[3] = {A("X"), {big, sizeof big}, {big, sizeof big}};
  b.len = 0;
  assert_int_equal(resp_unknown_command(&b, a2, 3), 0);
  assert_true(b.len < 260);
  assert_null(memchr(b.data, '\n', b.len - 1));
  assert_int_equal(b.data[b.len - 2], '\r');
  core_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_i64),
      cmocka_unit_test(test_glob),
      cmocka_unit_test(test_set_opts),
      cmocka_unit_test(test_unknown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
