/*
 * Pure helpers of the RESP command layer: argument parsing the way
 * redis-server does it (src/util.c string2ll, stringmatchlen;
 * src/t_string.c parseExtendedStringArgumentsOrReply), so that clients see
 * the same accepted inputs and the same error texts.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "resp/resp_cmd.h"

bool resp_parse_i64(const char *p, size_t n, int64_t *out) {
  return core_parse_i64(p, n, out);
}

bool resp_arg_is(const resp_arg *a, const char *word) {
  size_t n = strlen(word);
  return a->len == n && strncasecmp(a->ptr, word, n) == 0;
}

static int fold(int c, bool nocase) {
  return nocase ? tolower((unsigned char)c) : (unsigned char)c;
}

/* Iterative glob with backtracking to the last '*' (linear in practice,
 * unlike the recursive original, so a hostile pattern cannot blow the
 * stack). */
bool resp_glob_match(const char *pat, size_t plen, const char *s, size_t slen,
                     bool nocase) {
  size_t p = 0, i = 0, star_p = (size_t)-1, star_i = 0;
  while (i < slen) {
    if (p < plen) {
      char c = pat[p];
      if (c == '*') {
        while (p < plen && pat[p] == '*') p++;
        if (p == plen) return true;
        star_p = p;
        star_i = i;
        continue;
      }
      if (c == '?') {
        p++, i++;
        continue;
      }
      if (c == '[') {
        size_t q = p + 1;
        bool neg = false, match = false;
        if (q < plen && pat[q] == '^') neg = true, q++;
        for (; q < plen && pat[q] != ']'; q++) {
          if (pat[q] == '\\' && q + 1 < plen) {
            q++;
            if (fold(pat[q], nocase) == fold(s[i], nocase)) match = true;
          } else if (q + 2 < plen && pat[q + 1] == '-' && pat[q + 2] != ']') {
            int lo = fold(pat[q], nocase), hi = fold(pat[q + 2], nocase);
            if (lo > hi) {
              int t = lo;
              lo = hi;
              hi = t;
            }
            int ch = fold(s[i], nocase);
            if (ch >= lo && ch <= hi) match = true;
            q += 2;
          } else if (fold(pat[q], nocase) == fold(s[i], nocase)) {
            match = true;
          }
        }
        if (neg) match = !match;
        if (match) {
          p = q < plen ? q + 1 : q;
          i++;
          continue;
        }
      } else {
        if (c == '\\' && p + 1 < plen) c = pat[++p];
        if (fold(c, nocase) == fold(s[i], nocase)) {
          p++, i++;
          continue;
        }
      }
    }
    if (star_p == (size_t)-1) return false;
    p = star_p;
    i = ++star_i;
  }
  while (p < plen && pat[p] == '*') p++;
  return p == plen;
}

size_t resp_glob_prefix(const char *pat, size_t plen) {
  size_t i = 0;
  while (i < plen && !strchr("*?[\\", pat[i])) i++;
  return i;
}

bool resp_expire_at(int64_t v, int64_t unit_ms, bool absolute, uint64_t now_ms,
                    int64_t *out) {
  int64_t ms;
  if (__builtin_mul_overflow(v, unit_ms, &ms)) return false;
  if (!absolute && __builtin_add_overflow(ms, (int64_t)now_ms, &ms))
    return false;
  *out = ms;
  return true;
}

bool resp_set_opts_parse(const resp_arg *argv, size_t argc, size_t first,
                         uint64_t now_ms, resp_set_opts *o, char *err,
                         size_t errsz) {
  memset(o, 0, sizeof *o);
  bool have_exp = false;
  for (size_t i = first; i < argc; i++) {
    const resp_arg *a = &argv[i];
    int64_t unit = 0;
    bool abs = false;
    if (resp_arg_is(a, "NX") && !o->xx) {
      o->nx = true;
    } else if (resp_arg_is(a, "XX") && !o->nx) {
      o->xx = true;
    } else if (resp_arg_is(a, "GET")) {
      o->get = true;
    } else if (resp_arg_is(a, "KEEPTTL") && !have_exp) {
      o->keepttl = true;
    } else if (resp_arg_is(a, "EX")) {
      unit = 1000;
    } else if (resp_arg_is(a, "PX")) {
      unit = 1;
    } else if (resp_arg_is(a, "EXAT")) {
      unit = 1000, abs = true;
    } else if (resp_arg_is(a, "PXAT")) {
      unit = 1, abs = true;
    } else {
      snprintf(err, errsz, "%s", RESP_ERR_SYNTAX);
      return false;
    }
    if (!unit) continue;
    if (have_exp || o->keepttl || i + 1 >= argc) {
      snprintf(err, errsz, "%s", RESP_ERR_SYNTAX);
      return false;
    }
    have_exp = true;
    int64_t v, at;
    i++;
    if (!resp_parse_i64(argv[i].ptr, argv[i].len, &v)) {
      snprintf(err, errsz, "%s", RESP_ERR_NOTINT);
      return false;
    }
    if (v <= 0 || !resp_expire_at(v, unit, abs, now_ms, &at)) {
      snprintf(err, errsz, "ERR invalid expire time in 'set' command");
      return false;
    }
    /* An absolute time in the past: the key is set and expires at once
     * (kept >= 1 so that 0 still means "none"). */
    o->expire_at = at > 0 ? (uint64_t)at : 1;
  }
  return true;
}

int resp_unknown_command(core_buf *out, const resp_arg *argv, size_t argc) {
  core_buf args = {0};
  int rc = WIRE_OK;
  for (size_t i = 1; i < argc && args.len < 128 && !rc; i++) {
    int room = 128 - (int)args.len;
    int n = argv[i].len < (size_t)room ? (int)argv[i].len : room;
    rc = core_buf_printf(&args, "'%.*s' ", n, argv[i].ptr);
  }
  if (!rc) {
    int n = argv[0].len < 128 ? (int)argv[0].len : 128;
    rc = resp_error(out,
                    "ERR unknown command '%.*s', with args beginning with: "
                    "%.*s",
                    n, argv[0].ptr, (int)args.len, args.data ? args.data : "");
  }
  core_buf_free(&args);
  return rc;
}
