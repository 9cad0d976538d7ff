/*
 * Fast JSON scanning on raw bytes (RFC 8259), lib/core.
 *
 * A single iterative scanner validates a value while walking it: strings are
 * scanned with a byte-class table (quote, backslash and control characters
 * stop the loop, everything else is skipped), numbers follow the RFC grammar
 * exactly (no leading zeros, no '+', digits required around '.' and after
 * 'e'), and nesting is tracked on a fixed stack of JSON_MAX_DEPTH levels, so
 * no allocation happens and no recursion can overflow.  UTF-8 is not
 * validated: bytes >= 0x80 pass through strings untouched.
 *
 * json_find() walks only the containers on the path, skipping (and thereby
 * validating) sibling values; every member of an object on the path is read
 * so that the last of duplicate keys wins, as in jq.
 */
#include "core/json.h"

#include <stdlib.h>
#include <string.h>

#include "core/core.h"

#define JSON_MAX_DEPTH 512

/* Byte classes.  STR_STOP: bytes that end the fast loop inside a string.
 * WS: insignificant whitespace. */
enum { CL_STR_STOP = 1, CL_WS = 2, CL_DIGIT = 4, CL_HEX = 8 };

#define C1 CL_STR_STOP
#define W3 (CL_STR_STOP | CL_WS)
#define WS CL_WS
#define D (CL_DIGIT | CL_HEX)
#define H CL_HEX
static const uint8_t json_class[256] = {
    /* 0x00 */ C1, C1, C1, C1, C1, C1, C1, C1, C1, W3, W3, C1, C1, W3, C1, C1,
    /* 0x10 */ C1, C1, C1, C1, C1, C1, C1, C1, C1, C1, C1, C1, C1, C1, C1, C1,
    /* 0x20 */ WS, 0, C1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x30 */ D, D, D, D, D, D, D, D, D, D, 0, 0, 0, 0, 0, 0,
    /* 0x40 */ 0, H, H, H, H, H, H, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x50 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, C1, 0, 0, 0,
    /* 0x60 */ 0, H, H, H, H, H, H, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x70 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x80 and up: 0 */
};
#undef C1
#undef W3
#undef WS
#undef D
#undef H

#define IS_WS(c) (json_class[(uint8_t)(c)] & CL_WS)
#define IS_DIGIT(c) (json_class[(uint8_t)(c)] & CL_DIGIT)
#define IS_HEX(c) (json_class[(uint8_t)(c)] & CL_HEX)

static inline const char *skip_ws(const char *p, const char *end) {
  while (p < end && IS_WS(*p)) p++;
  return p;
}

/* p is just after the opening quote.  Returns the position after the closing
 * quote, or NULL with *err at the offending byte. */
static const char *scan_string(const char *p, const char *end,
                               const char **err) {
  for (;;) {
    /* Unrolled fast loop over ordinary bytes. */
    while (end - p >= 4) {
      if (json_class[(uint8_t)p[0]] & CL_STR_STOP) goto stop;
      if (json_class[(uint8_t)p[1]] & CL_STR_STOP) { p += 1; goto stop; }
      if (json_class[(uint8_t)p[2]] & CL_STR_STOP) { p += 2; goto stop; }
      if (json_class[(uint8_t)p[3]] & CL_STR_STOP) { p += 3; goto stop; }
      p += 4;
    }
    while (p < end && !(json_class[(uint8_t)*p] & CL_STR_STOP)) p++;
    if (p >= end) {
      *err = p;
      return NULL;
    }
  stop:
    if (*p == '"') return p + 1;
    if (*p != '\\') { /* control character */
      *err = p;
      return NULL;
    }
    if (end - p < 2) {
      *err = end;
      return NULL;
    }
    switch (p[1]) {
      case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r':
      case 't':
        p += 2;
        break;
      case 'u':
        if (end - p < 6 || !IS_HEX(p[2]) || !IS_HEX(p[3]) || !IS_HEX(p[4]) ||
            !IS_HEX(p[5])) {
          *err = p;
          return NULL;
        }
        p += 6;
        break;
      default:
        *err = p + 1;
        return NULL;
    }
  }
}

static const char *scan_number(const char *p, const char *end,
                               const char **err) {
  if (*p == '-') p++;
  if (p >= end) goto bad;
  if (*p == '0') {
    p++;
  } else if (IS_DIGIT(*p)) {
    while (p < end && IS_DIGIT(*p)) p++;
  } else {
    goto bad;
  }
  if (p < end && *p == '.') {
    p++;
    if (p >= end || !IS_DIGIT(*p)) goto bad;
    while (p < end && IS_DIGIT(*p)) p++;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < end && (*p == '+' || *p == '-')) p++;
    if (p >= end || !IS_DIGIT(*p)) goto bad;
    while (p < end && IS_DIGIT(*p)) p++;
  }
  return p;
bad:
  *err = p;
  return NULL;
}

static const char *scan_literal(const char *p, const char *end,
                                const char *lit, size_t n, const char **err) {
  if ((size_t)(end - p) < n || memcmp(p, lit, n) != 0) {
    *err = p;
    return NULL;
  }
  return p + n;
}

/* Scan one value at p (no leading whitespace skipped by the caller needed:
 * it is skipped here).  Returns the position just after it or NULL with
 * *err set. */
static const char *scan_value(const char *p, const char *end,
                              const char **err) {
  uint8_t stack[JSON_MAX_DEPTH]; /* 1 = object, 0 = array */
  int depth = 0;

value:
  p = skip_ws(p, end);
  if (p >= end) goto bad;
  switch (*p) {
    case '{':
      if (depth >= JSON_MAX_DEPTH) goto bad;
      stack[depth++] = 1;
      p = skip_ws(p + 1, end);
      if (p < end && *p == '}') {
        p++;
        depth--;
        goto after;
      }
      goto key;
    case '[':
      if (depth >= JSON_MAX_DEPTH) goto bad;
      stack[depth++] = 0;
      p = skip_ws(p + 1, end);
      if (p < end && *p == ']') {
        p++;
        depth--;
        goto after;
      }
      goto value;
    case '"':
      p = scan_string(p + 1, end, err);
      if (!p) return NULL;
      goto after;
    case 't':
      p = scan_literal(p, end, "true", 4, err);
      break;
    case 'f':
      p = scan_literal(p, end, "false", 5, err);
      break;
    case 'n':
      p = scan_literal(p, end, "null", 4, err);
      break;
    default:
      p = scan_number(p, end, err);
      break;
  }
  if (!p) return NULL;

after:
  if (depth == 0) return p;
  p = skip_ws(p, end);
  if (p >= end) goto bad;
  if (*p == ',') {
    p = skip_ws(p + 1, end);
    if (stack[depth - 1]) goto key;
    goto value;
  }
  if (*p == (stack[depth - 1] ? '}' : ']')) {
    p++;
    depth--;
    goto after;
  }
  goto bad;

key:
  if (p >= end || *p != '"') goto bad;
  p = scan_string(p + 1, end, err);
  if (!p) return NULL;
  p = skip_ws(p, end);
  if (p >= end || *p != ':') goto bad;
  p++;
  goto value;

bad:
  *err = p;
  return NULL;
}

bool json_validate(const char *p, size_t n, size_t *err_off) {
  const char *end = p + n, *err = p;
  const char *q = scan_value(p, end, &err);
  if (q) {
    q = skip_ws(q, end);
    if (q == end) return true;
    err = q;
  }
  if (err_off) *err_off = (size_t)(err - p);
  return false;
}

const char *json_skip_value(const char *p, const char *end) {
  const char *err;
  if (!p || p >= end) return NULL;
  return scan_value(p, end, &err);
}

json_kind json_kind_of(const char *v, size_t n) {
  const char *end = v + n;
  v = skip_ws(v, end);
  if (v >= end) return JSON_INVALID;
  switch (*v) {
    case 'n': return JSON_NULL;
    case 'f': return JSON_FALSE;
    case 't': return JSON_TRUE;
    case '"': return JSON_STRING;
    case '[': return JSON_ARRAY;
    case '{': return JSON_OBJECT;
    case '-': return JSON_NUMBER;
    default: return IS_DIGIT(*v) ? JSON_NUMBER : JSON_INVALID;
  }
}

/* ---- unescaping ------------------------------------------------------- */

static int hex4(const char *p) {
  int v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= c - '0';
    else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
    else return -1;
  }
  return v;
}

static size_t put_utf8(char *o, unsigned cp) {
  if (cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xC0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | (cp >> 18));
  o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* Decode one escape at p (p[0] == '\\', p < end).  Writes UTF-8 to o (at most
 * 4 bytes) and returns the number of input bytes consumed, or 0 when
 * invalid; *olen gets the output length.  A lone surrogate becomes U+FFFD
 * (3 output bytes for 6 input bytes, so output never outgrows input). */
static size_t decode_escape(const char *p, const char *end, char *o,
                            size_t *olen) {
  if (end - p < 2) return 0;
  char c;
  switch (p[1]) {
    case '"': c = '"'; break;
    case '\\': c = '\\'; break;
    case '/': c = '/'; break;
    case 'b': c = '\b'; break;
    case 'f': c = '\f'; break;
    case 'n': c = '\n'; break;
    case 'r': c = '\r'; break;
    case 't': c = '\t'; break;
    case 'u': {
      if (end - p < 6) return 0;
      int cp = hex4(p + 2);
      if (cp < 0) return 0;
      if (cp >= 0xD800 && cp <= 0xDBFF && end - p >= 12 && p[6] == '\\' &&
          p[7] == 'u') {
        int lo = hex4(p + 8);
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
          unsigned full = 0x10000u + (((unsigned)cp - 0xD800u) << 10) +
                          ((unsigned)lo - 0xDC00u);
          *olen = put_utf8(o, full);
          return 12;
        }
      }
      if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
      *olen = put_utf8(o, (unsigned)cp);
      return 6;
    }
    default:
      return 0;
  }
  o[0] = c;
  *olen = 1;
  return 2;
}

long json_unescape(const char *v, size_t n, char *out) {
  if (n < 2 || v[0] != '"' || v[n - 1] != '"') return -1;
  const char *p = v + 1, *end = v + n - 1;
  char *o = out;
  while (p < end) {
    const char *bs = memchr(p, '\\', (size_t)(end - p));
    size_t plain = bs ? (size_t)(bs - p) : (size_t)(end - p);
    memmove(o, p, plain);
    o += plain;
    p += plain;
    if (!bs) break;
    size_t olen;
    size_t used = decode_escape(p, end, o, &olen);
    if (!used) return -1;
    o += olen;
    p += used;
  }
  return (long)(o - out);
}

/* Whether the raw string contents raw[0..n) (between the quotes, possibly
 * escaped) equal key[0..klen) once unescaped, without allocating. */
static bool key_equals(const char *raw, size_t n, const char *key,
                       size_t klen) {
  const char *bs = memchr(raw, '\\', n);
  if (!bs) return n == klen && memcmp(raw, key, n) == 0;
  /* Unescaping only shrinks, so a key longer than the raw text can't match. */
  if (klen > n) return false;
  const char *p = raw, *end = raw + n;
  size_t k = 0;
  while (p < end) {
    if (*p != '\\') {
      if (k >= klen || key[k] != *p) return false;
      k++;
      p++;
      continue;
    }
    char tmp[4];
    size_t olen;
    size_t used = decode_escape(p, end, tmp, &olen);
    if (!used || klen - k < olen || memcmp(key + k, tmp, olen) != 0)
      return false;
    k += olen;
    p += used;
  }
  return k == klen;
}

/* ---- paths -------------------------------------------------------------- */

static bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool is_ident(char c) { return is_ident_start(c) || IS_DIGIT(c); }

/* Parse a jq string literal at s (s[0] == '"') into out; returns the end of
 * the literal or NULL (interpolation and invalid escapes are rejected). */
static const char *parse_path_string(const char *s, const char *end, char *out,
                                     size_t *out_len) {
  const char *err;
  const char *q = scan_string(s + 1, end, &err);
  if (!q) return NULL;
  long n = json_unescape(s, (size_t)(q - s), out);
  if (n < 0) return NULL;
  *out_len = (size_t)n;
  return q;
}

int json_path_parse(const char *expr, json_path *out) {
  out->steps = NULL;
  out->n = 0;
  if (!expr) return -1;
  const char *s = expr, *end = expr + strlen(expr);
  s = skip_ws(s, end);
  while (end > s && IS_WS(end[-1])) end--;
  if (s >= end || *s != '.') return -1;
  size_t len = (size_t)(end - s);
  /* Each step takes at least two characters; keys never outgrow the text. */
  size_t max_steps = len / 2 + 1;
  char *mem = core_malloc(max_steps * sizeof(json_path_step) + len + max_steps);
  if (!mem) return -1;
  json_path_step *steps = (json_path_step *)(void *)mem;
  char *kbuf = mem + max_steps * sizeof(json_path_step);
  size_t n = 0;

  if (len == 1) goto done; /* "." */
  while (s < end) {
    if (n >= max_steps) goto fail;
    json_path_step *st = &steps[n];
    if (*s == '.') {
      s++;
      if (s < end && is_ident_start(*s)) {
        const char *b = s;
        while (s < end && is_ident(*s)) s++;
        st->key = kbuf;
        st->key_len = (size_t)(s - b);
        memcpy(kbuf, b, st->key_len);
        kbuf[st->key_len] = '\0';
        kbuf += st->key_len + 1;
        st->index = 0;
        n++;
        continue;
      }
      if (s < end && *s == '"') {
        size_t kl;
        s = parse_path_string(s, end, kbuf, &kl);
        if (!s) goto fail;
        st->key = kbuf;
        st->key_len = kl;
        kbuf[kl] = '\0';
        kbuf += kl + 1;
        st->index = 0;
        n++;
        continue;
      }
      if (s < end && *s == '[') continue; /* .[...] */
      goto fail;
    }
    if (*s == '[') {
      s++;
      if (s < end && *s == '"') {
        size_t kl;
        s = parse_path_string(s, end, kbuf, &kl);
        if (!s) goto fail;
        st->key = kbuf;
        st->key_len = kl;
        kbuf[kl] = '\0';
        kbuf += kl + 1;
        st->index = 0;
      } else {
        const char *b = s;
        if (s < end && *s == '-') s++;
        if (s >= end || !IS_DIGIT(*s)) goto fail;
        while (s < end && IS_DIGIT(*s)) s++;
        if (s - b > 18) goto fail;
        st->key = NULL;
        st->key_len = 0;
        st->index = strtol(b, NULL, 10);
      }
      if (s >= end || *s != ']') goto fail;
      s++;
      n++;
      continue;
    }
    goto fail;
  }
done:
  if (n == 0 && len != 1) goto fail;
  out->steps = steps; /* allocated even for ".", freed by json_path_free */
  out->n = n;
  return 0;
fail:
  core_free(mem);
  return -1;
}

void json_path_free(json_path *p) {
  if (!p) return;
  core_free(p->steps);
  p->steps = NULL;
  p->n = 0;
}

/* ---- lookup -------------------------------------------------------------- */

/* Find member `key` in the object at p (p[0] == '{').  Returns 1 with the
 * value span, 0 when absent, -1 on invalid JSON. */
static int find_member(const char *p, const char *end, const char *key,
                       size_t klen, const char **vb, const char **ve) {
  const char *err;
  int found = 0;
  p = skip_ws(p + 1, end);
  if (p < end && *p == '}') return 0;
  for (;;) {
    if (p >= end || *p != '"') return -1;
    const char *ks = p + 1;
    p = scan_string(ks, end, &err);
    if (!p) return -1;
    bool match = key_equals(ks, (size_t)(p - 1 - ks), key, klen);
    p = skip_ws(p, end);
    if (p >= end || *p != ':') return -1;
    p = skip_ws(p + 1, end);
    const char *b = p;
    p = scan_value(p, end, &err);
    if (!p) return -1;
    if (match) {
      *vb = b;
      *ve = p;
      found = 1;
    }
    p = skip_ws(p, end);
    if (p >= end) return -1;
    if (*p == '}') return found;
    if (*p != ',') return -1;
    p = skip_ws(p + 1, end);
  }
}

/* Find element `index` (negative: from the end) of the array at p. */
static int find_element(const char *p, const char *end, long index,
                        const char **vb, const char **ve) {
  const char *err;
  if (index < 0) {
    /* Count first, then look up from the front. */
    long count = 0;
    const char *q = skip_ws(p + 1, end);
    if (q < end && *q != ']') {
      for (;;) {
        q = scan_value(q, end, &err);
        if (!q) return -1;
        count++;
        q = skip_ws(q, end);
        if (q >= end) return -1;
        if (*q == ']') break;
        if (*q != ',') return -1;
        q++;
      }
    }
    index += count;
    if (index < 0) return 0;
  }
  p = skip_ws(p + 1, end);
  if (p < end && *p == ']') return 0;
  for (long i = 0;; i++) {
    p = skip_ws(p, end);
    const char *b = p;
    p = scan_value(p, end, &err);
    if (!p) return -1;
    if (i == index) {
      *vb = b;
      *ve = p;
      return 1;
    }
    p = skip_ws(p, end);
    if (p >= end) return -1;
    if (*p == ']') return 0;
    if (*p != ',') return -1;
    p++;
  }
}

int json_find(const char *p, size_t n, const json_path *path, const char **val,
              size_t *val_len) {
  const char *end = p + n;
  const char *b = skip_ws(p, end), *e = NULL;
  for (size_t i = 0; i < path->n; i++) {
    const json_path_step *st = &path->steps[i];
    if (b >= end) return -1;
    int rc;
    if (st->key) {
      if (*b != '{') return json_kind_of(b, (size_t)(end - b)) ? 0 : -1;
      rc = find_member(b, end, st->key, st->key_len, &b, &e);
    } else {
      if (*b != '[') return json_kind_of(b, (size_t)(end - b)) ? 0 : -1;
      rc = find_element(b, end, st->index, &b, &e);
    }
    if (rc <= 0) return rc;
    end = e; /* the next step stays inside this value */
  }
  if (!e) { /* root path: the whole value */
    const char *err;
    e = scan_value(b, end, &err);
    if (!e) return -1;
  }
  *val = b;
  *val_len = (size_t)(e - b);
  return 1;
}
