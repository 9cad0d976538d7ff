/*
 * RESP2 request parser and reply writers (see resp.h).
 */
#include "resp/resp.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_HEADER 32 /* "*<count>\r\n" / "$<len>\r\n": digits are short */
#define COMPACT_AT 65536
/* Internal: an empty command was skipped, parse on. */
#define SKIPPED ((resp_rc)2)

void resp_limits_default(resp_limits *lim) {
  lim->max_bulk = 512u * 1024 * 1024;
  lim->max_args = 1024 * 1024;
  lim->max_inline = 64 * 1024;
}

void resp_parser_init(resp_parser *p, const resp_limits *lim) {
  memset(p, 0, sizeof *p);
  if (lim) p->lim = *lim;
  else resp_limits_default(&p->lim);
}

void resp_parser_free(resp_parser *p) {
  core_buf_free(&p->in);
  core_buf_free(&p->scratch);
  core_free(p->argv);
  core_free(p->off);
  memset(p, 0, sizeof *p);
}

const char *resp_parser_error(const resp_parser *p) { return p->err; }

size_t resp_parser_buffered(const resp_parser *p) { return p->in.len - p->pos; }

static resp_rc fail(resp_parser *p, const char *msg) {
  p->failed = true;
  snprintf(p->err, sizeof p->err, "ERR Protocol error: %s", msg);
  return RESP_ERROR;
}

/* Drop consumed bytes once they are many (offsets of a command being
 * parsed are relative to the buffer start, so only between commands). */
static void compact(resp_parser *p) {
  if (p->want || p->pos == 0) return;
  if (p->pos == p->in.len) {
    p->in.len = p->pos = 0;
    return;
  }
  if (p->pos < COMPACT_AT) return;
  memmove(p->in.data, p->in.data + p->pos, p->in.len - p->pos);
  p->in.len -= p->pos;
  p->pos = 0;
}

int resp_parser_feed(resp_parser *p, const void *data, size_t len) {
  compact(p);
  return core_buf_append(&p->in, data, len);
}

static int grow_args(resp_parser *p, size_t need) {
  if (need <= p->cap) return WIRE_OK;
  size_t cap = p->cap ? p->cap : 8;
  while (cap < need) cap *= 2;
  resp_arg *a = core_realloc(p->argv, cap * sizeof *a);
  if (!a) return WIRE_ENOMEM;
  p->argv = a;
  size_t *o = core_realloc(p->off, cap * 2 * sizeof *o);
  if (!o) return WIRE_ENOMEM;
  p->off = o;
  p->cap = cap;
  return WIRE_OK;
}

/* Parse "<digits>\r\n" at s[0..n): 1 done (*v, *used), 0 need more, -1
 * malformed.  Negative numbers allowed (for *-1 / $-1). */
static int read_number(const char *s, size_t n, long long *v, size_t *used) {
  /* A CR further than MAX_HEADER is "too big" whether or not it has
   * arrived yet, so that the outcome does not depend on how reads split. */
  const char *cr = memchr(s, '\r', WIRE_MIN(n, (size_t)MAX_HEADER + 1));
  if (!cr) return n > MAX_HEADER ? -2 : 0;
  size_t len = (size_t)(cr - s);
  if (len + 1 >= n) return 0; /* the \n is not here yet */
  if (cr[1] != '\n' || len == 0 || len > 20) return -1;
  bool neg = s[0] == '-';
  size_t i = neg;
  if (i == len) return -1;
  unsigned long long x = 0;
  for (; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    if (x > (9223372036854775807ULL - (unsigned)(s[i] - '0')) / 10) return -1;
    x = x * 10 + (unsigned)(s[i] - '0');
  }
  *v = neg ? -(long long)x : (long long)x;
  *used = len + 2;
  return 1;
}

static resp_rc multibulk(resp_parser *p, resp_arg **argv, size_t *argc) {
  const char *d = p->in.data;
  if (!p->want) {
    long long n;
    size_t used;
    int r = read_number(d + p->pos + 1, p->in.len - p->pos - 1, &n, &used);
    if (r == -2) return fail(p, "too big mbulk count string");
    if (r < 0) return fail(p, "invalid multibulk length");
    if (r == 0) return RESP_NEED_MORE;
    if (n > (long long)p->lim.max_args)
      return fail(p, "invalid multibulk length");
    p->pos += 1 + used;
    if (n <= 0) return SKIPPED; /* *0 or *-1: nothing to run */
    if (grow_args(p, (size_t)n)) return fail(p, "out of memory");
    p->want = (size_t)n;
    p->argc = 0;
  }
  while (p->argc < p->want) {
    size_t avail = p->in.len - p->pos;
    if (avail == 0) return RESP_NEED_MORE;
    if (d[p->pos] != '$') {
      char m[40];
      snprintf(m, sizeof m, "expected '$', got '%c'", d[p->pos]);
      return fail(p, m);
    }
    long long blen;
    size_t used;
    int r = read_number(d + p->pos + 1, avail - 1, &blen, &used);
    if (r == -2) return fail(p, "too big bulk count string");
    if (r == 0) return RESP_NEED_MORE;
    if (r < 0 || blen < 0 || (unsigned long long)blen > p->lim.max_bulk)
      return fail(p, "invalid bulk length");
    size_t need = 1 + used + (size_t)blen + 2;
    if (avail < need) {
      /* Reserve the whole bulk now: one allocation, not one per read. */
      if (core_buf_reserve(&p->in, need - avail)) return fail(p, "out of memory");
      return RESP_NEED_MORE;
    }
    size_t at = p->pos + 1 + used;
    if (d[at + (size_t)blen] != '\r' || d[at + (size_t)blen + 1] != '\n')
      return fail(p, "invalid bulk length");
    p->off[2 * p->argc] = at;
    p->off[2 * p->argc + 1] = (size_t)blen;
    p->argc++;
    p->pos += need;
  }
  for (size_t i = 0; i < p->argc; i++)
    p->argv[i] = (resp_arg){p->in.data + p->off[2 * i], p->off[2 * i + 1]};
  p->want = 0;
  *argv = p->argv;
  *argc = p->argc;
  return RESP_COMMAND;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Split one inline line the way redis-server (sdssplitargs) does.  Arguments
 * are written to p->scratch, offsets to p->off. */
static resp_rc split_inline(resp_parser *p, const char *s, size_t n) {
  p->scratch.len = 0;
  p->argc = 0;
  size_t i = 0;
  for (;;) {
    while (i < n && is_space(s[i])) i++;
    if (i >= n) break;
    if (grow_args(p, p->argc + 1)) return fail(p, "out of memory");
    size_t start = p->scratch.len;
    bool inq = false, insq = false, done = false;
    while (!done) {
      if (inq) {
        if (i >= n) return fail(p, "unbalanced quotes in request");
        if (s[i] == '\\' && i + 3 < n && s[i + 1] == 'x' &&
            hexval((unsigned char)s[i + 2]) >= 0 &&
            hexval((unsigned char)s[i + 3]) >= 0) {
          core_buf_putc(&p->scratch, (char)(hexval((unsigned char)s[i + 2]) * 16 +
                                            hexval((unsigned char)s[i + 3])));
          i += 3;
        } else if (s[i] == '\\' && i + 1 < n) {
          char c = s[++i];
          switch (c) {
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'b': c = '\b'; break;
            case 'a': c = '\a'; break;
            default: break;
          }
          core_buf_putc(&p->scratch, c);
        } else if (s[i] == '"') {
          /* The closing quote must be followed by a space or the end. */
          if (i + 1 < n && !is_space(s[i + 1]))
            return fail(p, "unbalanced quotes in request");
          done = true;
        } else {
          core_buf_putc(&p->scratch, s[i]);
        }
      } else if (insq) {
        if (i >= n) return fail(p, "unbalanced quotes in request");
        if (s[i] == '\\' && i + 1 < n && s[i + 1] == '\'') {
          i++;
          core_buf_putc(&p->scratch, '\'');
        } else if (s[i] == '\'') {
          if (i + 1 < n && !is_space(s[i + 1]))
            return fail(p, "unbalanced quotes in request");
          done = true;
        } else {
          core_buf_putc(&p->scratch, s[i]);
        }
      } else {
        if (i >= n || is_space(s[i])) {
          done = true;
          break;
        } else if (s[i] == '"') {
          inq = true;
        } else if (s[i] == '\'') {
          insq = true;
        } else {
          core_buf_putc(&p->scratch, s[i]);
        }
      }
      if (i < n) i++;
    }
    p->off[2 * p->argc] = start;
    p->off[2 * p->argc + 1] = p->scratch.len - start;
    p->argc++;
  }
  for (size_t k = 0; k < p->argc; k++)
    p->argv[k] = (resp_arg){p->scratch.data + p->off[2 * k], p->off[2 * k + 1]};
  return RESP_COMMAND;
}

static resp_rc inline_cmd(resp_parser *p, resp_arg **argv, size_t *argc) {
  const char *s = p->in.data + p->pos;
  size_t avail = p->in.len - p->pos;
  const char *nl = memchr(s, '\n', avail);
  if (!nl) {
    if (avail > p->lim.max_inline) return fail(p, "too big inline request");
    return RESP_NEED_MORE;
  }
  size_t len = (size_t)(nl - s);
  if (len > p->lim.max_inline) return fail(p, "too big inline request");
  p->pos += len + 1;
  if (len && s[len - 1] == '\r') len--;
  resp_rc rc = split_inline(p, s, len);
  if (rc != RESP_COMMAND) return rc;
  if (p->argc == 0) return SKIPPED; /* empty line */
  *argv = p->argv;
  *argc = p->argc;
  return RESP_COMMAND;
}

resp_rc resp_parser_next(resp_parser *p, resp_arg **argv, size_t *argc) {
  *argv = NULL;
  *argc = 0;
  for (;;) {
    if (p->failed) return RESP_ERROR;
    if (p->pos == p->in.len && !p->want) return RESP_NEED_MORE;
    resp_rc rc = (p->want || p->in.data[p->pos] == '*')
                     ? multibulk(p, argv, argc)
                     : inline_cmd(p, argv, argc);
    if (rc == SKIPPED) continue;
    return rc;
  }
}

/* ---- replies ---------------------------------------------------------------- */

/* A type byte, a decimal number and CRLF, in one append: replies are on
 * the hot path of every GET (printf was 6% of a leader serving pipelined
 * GETs). */
static int put_header(core_buf *out, char type, bool neg, uint64_t v) {
  char tmp[24], *e = tmp + sizeof tmp, *q = e;
  *--q = '\n';
  *--q = '\r';
  do {
    *--q = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  if (neg) *--q = '-';
  *--q = type;
  return core_buf_append(out, q, (size_t)(e - q));
}

int resp_simple(core_buf *out, const char *s) {
  size_t n = strlen(s);
  if (core_buf_reserve(out, n + 3)) return WIRE_ENOMEM;
  out->data[out->len++] = '+';
  memcpy(out->data + out->len, s, n);
  out->len += n;
  return core_buf_append(out, "\r\n", 2);
}

int resp_error(core_buf *out, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  /* An error line must not contain CR or LF. */
  for (char *c = msg; *c; c++)
    if (*c == '\r' || *c == '\n') *c = ' ';
  return core_buf_printf(out, "-%s\r\n", msg);
}

int resp_int(core_buf *out, int64_t v) {
  return put_header(out, ':', v < 0,
                    v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
}

int resp_bulk(core_buf *out, const void *p, size_t n) {
  if (core_buf_reserve(out, n + 26)) return WIRE_ENOMEM;
  if (put_header(out, '$', false, n)) return WIRE_ENOMEM;
  if (n) memcpy(out->data + out->len, p, n);
  out->len += n;
  return core_buf_append(out, "\r\n", 2);
}

int resp_null(core_buf *out) { return core_buf_append(out, "$-1\r\n", 5); }

int resp_array(core_buf *out, size_t n) { return put_header(out, '*', false, n); }

int resp_null_array(core_buf *out) { return core_buf_append(out, "*-1\r\n", 5); }
