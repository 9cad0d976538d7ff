/*
 * RESP2 parser: every split point of a pipelined buffer gives the same
 * commands as one read; protocol errors with Redis's texts; limits; reply
 * encoding.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "resp/resp.h"

/* Commands rendered as "arg|arg|...\n" with non-printable bytes as \xHH,
 * so that lists compare as strings. */
static void render(core_buf *out, resp_arg *argv, size_t argc) {
  for (size_t i = 0; i < argc; i++) {
    if (i) core_buf_putc(out, '|');
    for (size_t k = 0; k < argv[i].len; k++) {
      unsigned char c = (unsigned char)argv[i].ptr[k];
      if (c < 0x20 || c >= 0x7f || c == '|' || c == '\\')
        core_buf_printf(out, "\\x%02x", c);
      else
        core_buf_putc(out, (char)c);
    }
  }
  core_buf_putc(out, '\n');
}

/* Feed `in` in pieces cut at the given points; drain after each piece. */
static int parse_split(const char *in, size_t n, const size_t *cuts,
                       size_t ncuts, core_buf *out, char *err) {
  resp_parser p;
  resp_limits lim;
  resp_limits_default(&lim);
  lim.max_bulk = 1000;
  lim.max_inline = 200;
  lim.max_args = 50;
  resp_parser_init(&p, &lim);
  size_t prev = 0;
  int rc = 0;
  for (size_t c = 0; c <= ncuts && rc == 0; c++) {
    size_t to = c < ncuts ? cuts[c] : n;
    assert_int_equal(resp_parser_feed(&p, in + prev, to - prev), WIRE_OK);
    prev = to;
    resp_arg *argv;
    size_t argc;
    resp_rc r;
    while ((r = resp_parser_next(&p, &argv, &argc)) == RESP_COMMAND)
      render(out, argv, argc);
    if (r == RESP_ERROR) {
      strcpy(err, resp_parser_error(&p));
      rc = -1;
    }
  }
  resp_parser_free(&p);
  return rc;
}

static const char pipelined[] =
    "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nv\r\n\x00\xff\r\n" /* binary value */
    "PING\r\n"
    "\r\n"                                   /* empty inline: skipped */
    "*0\r\n"                                 /* empty multibulk: skipped */
    "set \"a b\" 'c d' \"\\x41\\n\"\n"       /* quotes and escapes, no \r */
    "  get   k  \r\n"
    "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n"         /* empty argument */
    "*1\r\n$4\r\nPING\r\n";

static const char expected[] =
    "SET|k|v\\x0d\\x0a\\x00\\xff\n"
    "PING\n"
    "set|a b|c d|A\\x0a\n"
    "get|k\n"
    "ECHO|\n"
    "PING\n";

static void test_every_split_point(void **state) {
  (void)state;
  size_t n = sizeof pipelined - 1;
  char err[200] = "";
  for (size_t cut = 0; cut <= n; cut++) {
    core_buf out = {0};
    if (parse_split(pipelined, n, &cut, 1, &out, err)) fail_msg("cut %zu: %s", cut, err);
    core_buf_putc(&out, '\0');
    if (strcmp(out.data, expected))
      fail_msg("cut at %zu:\n%s\nwant:\n%s", cut, out.data, expected);
    core_buf_free(&out);
  }
  /* Every pair of split points too, and byte by byte. */
  for (size_t a = 0; a <= n; a += 3)
    for (size_t b = a; b <= n; b += 5) {
      size_t cuts[2] = {a, b};
      core_buf out = {0};
      assert_int_equal(parse_split(pipelined, n, cuts, 2, &out, err), 0);
      core_buf_putc(&out, '\0');
      assert_string_equal(out.data, expected);
      core_buf_free(&out);
    }
  size_t *cuts = malloc(n * sizeof *cuts);
  for (size_t i = 0; i < n; i++) cuts[i] = i;
  core_buf out = {0};
  assert_int_equal(parse_split(pipelined, n, cuts, n, &out, err), 0);
  core_buf_putc(&out, '\0');
  assert_string_equal(out.data, expected);
  core_buf_free(&out);
  free(cuts);
}

static void expect_error(const char *in, size_t n, const char *want) {
  char err[200] = "";
  core_buf out = {0};
  /* Whole and byte by byte: the same error. */
  if (parse_split(in, n, NULL, 0, &out, err) != -1) fail_msg("no error for %s", in);
  assert_string_equal(err, want);
  size_t *cuts = malloc((n + 1) * sizeof *cuts);
  for (size_t i = 0; i < n; i++) cuts[i] = i;
  err[0] = '\0';
  assert_int_equal(parse_split(in, n, cuts, n, &out, err), -1);
  assert_string_equal(err, want);
  free(cuts);
  core_buf_free(&out);
}

#define ERR(in, want) expect_error(in, sizeof in - 1, want)

static void test_protocol_errors(void **state) {
  (void)state;
  ERR("*x\r\n", "ERR Protocol error: invalid multibulk length");
  ERR("*51\r\n", "ERR Protocol error: invalid multibulk length");
  ERR("*1\r\n+x\r\n", "ERR Protocol error: expected '$', got '+'");
  ERR("*1\r\n$-1\r\n", "ERR Protocol error: invalid bulk length");
  ERR("*1\r\n$1001\r\n", "ERR Protocol error: invalid bulk length");
  ERR("*1\r\n$3\r\nabcd\r\n", "ERR Protocol error: invalid bulk length");
  ERR("*1\r\n$1x\r\n", "ERR Protocol error: invalid bulk length");
  ERR("*1111111111111111111111111111111111111111",
      "ERR Protocol error: too big mbulk count string");
  ERR("*1\r\n$1111111111111111111111111111111111111111",
      "ERR Protocol error: too big bulk count string");
  ERR("set \"a\n", "ERR Protocol error: unbalanced quotes in request");
  ERR("set \"a\"b\n", "ERR Protocol error: unbalanced quotes in request");
  ERR("set 'a\n", "ERR Protocol error: unbalanced quotes in request");
  char big[300];
  memset(big, 'a', sizeof big);
  expect_error(big, sizeof big, "ERR Protocol error: too big inline request");
  /* After an error the parser stays failed. */
  resp_parser p;
  resp_parser_init(&p, NULL);
  resp_parser_feed(&p, "*x\r\nPING\r\n", 10);
  resp_arg *argv;
  size_t argc;
  assert_int_equal(resp_parser_next(&p, &argv, &argc), RESP_ERROR);
  assert_int_equal(resp_parser_next(&p, &argv, &argc), RESP_ERROR);
  resp_parser_free(&p);
}

/* A big bulk arriving in small reads is parsed once complete, and the
 * buffer does not keep growing with consumed commands. */
static void test_large_and_many(void **state) {
  (void)state;
  resp_parser p;
  resp_parser_init(&p, NULL);
  size_t vlen = 1 << 20;
  char *v = malloc(vlen);
  memset(v, 'x', vlen);
  char hdr[64];
  int hl = snprintf(hdr, sizeof hdr, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%zu\r\n", vlen);
  resp_parser_feed(&p, hdr, (size_t)hl);
  resp_arg *argv;
  size_t argc;
  for (size_t off = 0; off < vlen; off += 4096) {
    assert_int_equal(resp_parser_next(&p, &argv, &argc), RESP_NEED_MORE);
    resp_parser_feed(&p, v + off, 4096);
  }
  assert_int_equal(resp_parser_next(&p, &argv, &argc), RESP_NEED_MORE);
  resp_parser_feed(&p, "\r\n", 2);
  assert_int_equal(resp_parser_next(&p, &argv, &argc), RESP_COMMAND);
  assert_int_equal(argc, 3);
  assert_int_equal(argv[2].len, vlen);
  assert_memory_equal(argv[2].ptr, v, vlen);
  free(v);
  for (int i = 0; i < 100000; i++) {
    resp_parser_feed(&p, "*1\r\n$4\r\nPING\r\n", 14);
    assert_int_equal(resp_parser_next(&p, &argv, &argc), RESP_COMMAND);
    assert_int_equal(resp_parser_next(&p, &argv, &argc), RESP_NEED_MORE);
  }
  assert_true(p.in.cap < 4 * 1024 * 1024);
  assert_int_equal(resp_parser_buffered(&p), 0);
  resp_parser_free(&p);
}

static void test_replies(void **state) {
  (void)state;
  core_buf b = {0};
  resp_simple(&b, "OK");
  resp_error(&b, "ERR unknown command '%s'", "a\r\nb");
  resp_int(&b, -42);
  resp_bulk(&b, "a\0b", 3);
  resp_null(&b);
  resp_array(&b, 2);
  resp_null_array(&b);
  const char want[] = "+OK\r\n-ERR unknown command 'a  b'\r\n:-42\r\n$3\r\na\0b\r\n"
                      "$-1\r\n*2\r\n*-1\r\n";
  assert_int_equal(b.len, sizeof want - 1);
  assert_memory_equal(b.data, want, b.len);
  /* numbers at their edges, an empty bulk string, big lengths */
  b.len = 0;
  resp_int(&b, 0);
  resp_int(&b, INT64_MAX);
  resp_int(&b, INT64_MIN);
  resp_int(&b, 7);
  resp_bulk(&b, "", 0);
  resp_array(&b, 0);
  resp_array(&b, 1234567890123);
  const char want2[] = ":0\r\n:9223372036854775807\r\n:-9223372036854775808\r\n"
                       ":7\r\n$0\r\n\r\n*0\r\n*1234567890123\r\n";
  assert_int_equal(b.len, sizeof want2 - 1);
  assert_memory_equal(b.data, want2, b.len);
  /* a bulk string longer than the buffer had room for */
  b.len = 0;
  char *big = malloc(100000);
  memset(big, 'x', 100000);
  resp_bulk(&b, big, 100000);
  assert_int_equal(b.len, 9 + 100000 + 2);
  assert_memory_equal(b.data, "$100000\r\n", 9);
  assert_memory_equal(b.data + 9, big, 100000);
  assert_memory_equal(b.data + 9 + 100000, "\r\n", 2);
  free(big);
  core_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_split_point),
      cmocka_unit_test(test_protocol_errors),
      cmocka_unit_test(test_large_and_many),
      cmocka_unit_test(test_replies),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
