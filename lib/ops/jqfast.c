/*
 * jq fast path (lib/ops): parse a subset of jq at init, classify each raw
 * record in one pass, and evaluate paths and comparisons on raw bytes.
 *
 * Exactness is the point, speed the reason.  The rules of jq 1.6 that the
 * evaluator reproduces:
 *  - a missing key, or any step on null, gives null; a key step on anything
 *    but an object or null (or an index step on anything but an array or
 *    null) is a jq error: the caller falls back to libjq for that record;
 *  - duplicate keys: the last one wins (jq's parser overwrites);
 *  - ordering across kinds is null < false < true < numbers < strings <
 *    arrays < objects (jv_cmp compares jv kinds first); numbers compare as
 *    doubles; strings compare as unescaped UTF-8 bytes (memcmp, then length);
 *  - `and`/`or` short-circuit like jq's gen_and/gen_or; truthiness: only
 *    false and null are false.
 * A record is handled here only when jqf_scan() says libjq would parse it
 * to what the raw bytes mean (JQF_SAFE): jq replaces invalid UTF-8 with
 * U+FFFD, refuses lone high surrogates and nesting deeper than 256, and
 * accepts things RFC 8259 does not (nan, leading zeros); all of those go to
 * libjq.  JQF_CANON additionally means `jq -c .` would print the bytes
 * unchanged, so a selected record can be forwarded without re-serialising:
 * no whitespace, no duplicate keys, only the escapes jq writes itself
 * (\" \\ \b \f \n \r \t, other controls and DEL as lowercase \u00xx), and
 * numbers that jq's shortest round-trip printer (jvp_dtoa_fmt) reproduces:
 * no exponent, no trailing fraction zero, at most 15 significant digits and
 * at most three zeros after "0." (jq switches to 1e-05 notation at four).
 */
#include "jqfast.h"

#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/json.h"

#define JQF_MAX_NODES 64
#define JQF_MAX_DEPTH 512 /* strict validity, as json_validate */
#define JQF_JQ_DEPTH 256  /* jq 1.6 MAX_PARSING_DEPTH */
#define JQF_MAX_KEYS 256  /* keys tracked for the duplicate check */

/* ---- program ------------------------------------------------------------ */

typedef struct jqf_step {
  const char *key; /* NULL: index step */
  size_t klen;
  long index;
} jqf_step;

typedef enum node_type { N_PATH = 1, N_LIT, N_CMP, N_AND, N_OR, N_NOT } node_type;
typedef enum cmp_op { OP_EQ = 1, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE } cmp_op;

typedef struct jqf_node {
  node_type type;
  cmp_op op;
  int a, b; /* children */
  /* N_PATH */
  jqf_step *steps;
  size_t nsteps;
  /* N_LIT */
  json_kind kind;
  double num;
  const char *str; /* unescaped bytes */
  size_t slen;
} jqf_node;

struct jqf_prog {
  jqf_form form;
  int root;
  jqf_node nodes[JQF_MAX_NODES];
  int n;
  core_arena arena;
  locale_t c_locale; /* strtod independent of the host's LC_NUMERIC */
};

/* ---- byte classes ----------------------------------------------------- */

enum { B_STOP = 1, B_WS = 2, B_DIGIT = 4, B_IDENT = 8, B_DELIM = 16 };

/* A constant expression, so that the table below is a static const. */
#define CLS(c)                                                            \
  (((c) < 0x20 || (c) == '"' || (c) == '\\' || (c) >= 0x7f ? B_STOP : 0) | \
   ((c) == ' ' || (c) == '\t' || (c) == '\n' || (c) == '\r'              \
        ? B_WS | B_DELIM                                                  \
        : 0) |                                                            \
   ((c) >= '0' && (c) <= '9' ? B_DIGIT | B_IDENT : 0) |                   \
   (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z') || (c) == '_' \
        ? B_IDENT                                                         \
        : 0) |                                                            \
   ((c) == ',' || (c) == '}' || (c) == ']' || (c) == ':' ? B_DELIM : 0))
#define R4(b) CLS(b), CLS((b) + 1), CLS((b) + 2), CLS((b) + 3)
#define R16(b) R4(b), R4((b) + 4), R4((b) + 8), R4((b) + 12)
#define R64(b) R16(b), R16((b) + 16), R16((b) + 32), R16((b) + 48)
static const uint8_t cls[256] = {R64(0), R64(64), R64(128), R64(192)};
#undef R4
#undef R16
#undef R64
#undef CLS

#define IS(c, k) (cls[(uint8_t)(c)] & (k))

/* ---- record classification --------------------------------------------- */

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int hex4v(const char *p) {
  int v = 0;
  for (int i = 0; i < 4; i++) {
    int h = hexval(p[i]);
    if (h < 0) return -1;
    v = v << 4 | h;
  }
  return v;
}

/* Length of the strict UTF-8 sequence (RFC 3629: no overlongs, surrogates
 * or code points above U+10FFFF) at p, whose first byte is >= 0x80; 0 when
 * invalid.  jq replaces exactly these invalid sequences with U+FFFD. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end) {
  unsigned c = p[0];
  ptrdiff_t room = end - p;
  if (c < 0xC2) return 0;
  if (c < 0xE0) return room >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
  if (c < 0xF0) {
    if (room < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && p[1] < 0xA0) return 0; /* overlong */
    if (c == 0xED && p[1] > 0x9F) return 0; /* surrogate */
    return 3;
  }
  if (c < 0xF5) {
    if (room < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
        (p[3] & 0xC0) != 0x80)
      return 0;
    if (c == 0xF0 && p[1] < 0x90) return 0; /* overlong */
    if (c == 0xF4 && p[1] > 0x8F) return 0; /* above U+10FFFF */
    return 4;
  }
  return 0;
}

typedef struct scanner {
  const char *p, *end;
  bool safe, canon;
} scanner;

/* Whether jq prints the code point of a \u escape with exactly these six
 * bytes: controls other than \b \t \n \f \r, and DEL, in lowercase hex. */
static bool canon_u_escape(const char *p, int cp) {
  if (!((cp < 0x20 && cp != 8 && cp != 9 && cp != 10 && cp != 12 &&
         cp != 13) ||
        cp == 0x7f))
    return false;
  for (int i = 2; i < 6; i++)
    if (p[i] >= 'A' && p[i] <= 'F') return false;
  return true;
}

/* s->p just after the opening quote; on success s->p is past the closing
 * quote. */
static bool scan_str(scanner *s) {
  const char *p = s->p, *end = s->end;
  for (;;) {
    while (end - p >= 4 && !IS(p[0], B_STOP) && !IS(p[1], B_STOP) &&
           !IS(p[2], B_STOP) && !IS(p[3], B_STOP))
      p += 4;
    while (p < end && !IS(*p, B_STOP)) p++;
    if (p >= end) return false;
    unsigned char c = (unsigned char)*p;
    if (c == '"') {
      s->p = p + 1;
      return true;
    }
    if (c == '\\') {
      if (end - p < 2) return false;
      switch (p[1]) {
        case '"': case '\\': case 'b': case 'f': case 'n': case 'r': case 't':
          p += 2;
          continue;
        case '/':
          s->canon = false;
          p += 2;
          continue;
        case 'u': {
          if (end - p < 6) return false;
          int cp = hex4v(p + 2);
          if (cp < 0) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            s->canon = false;
            if (end - p >= 12 && p[6] == '\\' && p[7] == 'u') {
              int lo = hex4v(p + 8);
              if (lo >= 0xDC00 && lo <= 0xDFFF) {
                p += 12;
                continue;
              }
            }
            s->safe = false; /* jq: "Invalid \uXXXX\uXXXX surrogate pair" */
          } else if (s->canon && !canon_u_escape(p, cp)) {
            s->canon = false;
          }
          p += 6;
          continue;
        }
        default:
          return false;
      }
    }
    if (c < 0x20) return false;
    if (c == 0x7f) {
      s->canon = false; /* jq writes \u007f */
      p++;
      continue;
    }
    size_t l = utf8_len((const unsigned char *)p, (const unsigned char *)end);
    if (!l) {
      s->safe = s->canon = false;
      p++;
    } else {
      p += l;
    }
  }
}

static bool scan_num(scanner *s) {
  const char *p = s->p, *end = s->end;
  if (*p == '-') p++;
  if (p >= end) return false;
  ptrdiff_t idig, fdig = 0, flz = 0;
  bool izero = false;
  if (*p == '0') {
    izero = true;
    idig = 1;
    p++;
  } else if (IS(*p, B_DIGIT)) {
    const char *b = p;
    while (p < end && IS(*p, B_DIGIT)) p++;
    idig = p - b;
  } else {
    return false;
  }
  if (p < end && *p == '.') {
    const char *b = ++p;
    if (p >= end || !IS(*p, B_DIGIT)) return false;
    while (p < end && IS(*p, B_DIGIT)) p++;
    fdig = p - b;
    if (p[-1] == '0') s->canon = false; /* 0.10 -> 0.1, 1.0 -> 1 */
    while (flz < fdig && b[flz] == '0') flz++;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    s->canon = false;
    p++;
    if (p < end && (*p == '+' || *p == '-')) p++;
    if (p >= end || !IS(*p, B_DIGIT)) return false;
    while (p < end && IS(*p, B_DIGIT)) p++;
  }
  if (s->canon) {
    if (izero) {
      if (fdig && (flz > 3 || fdig - flz > 15)) s->canon = false;
    } else if (idig + fdig > 15) {
      s->canon = false;
    }
  }
  s->p = p;
  return true;
}

typedef struct key_ref {
  const char *p;
  size_t len;
} key_ref;

unsigned jqf_scan(const char *rec, size_t n) {
  scanner s = {.p = rec, .end = rec + n, .safe = true, .canon = true};
  const char *p = rec, *end = rec + n;
  uint8_t stack[JQF_MAX_DEPTH]; /* 1 = object */
  uint16_t kstart[JQF_MAX_DEPTH];
  key_ref keys[JQF_MAX_KEYS];
  int depth = 0, nk = 0;

#define SKIP_WS()                                     \
  do {                                                \
    if (p < end && IS(*p, B_WS)) {                    \
      s.canon = false;                                \
      while (p < end && IS(*p, B_WS)) p++;            \
    }                                                 \
  } while (0)

value:
  SKIP_WS();
  if (p >= end) return 0;
  switch (*p) {
    case '{':
    case '[':
      if (depth >= JQF_MAX_DEPTH) return 0;
      if (depth >= JQF_JQ_DEPTH) s.safe = false;
      stack[depth] = *p == '{';
      kstart[depth] = (uint16_t)nk;
      depth++;
      p++;
      SKIP_WS();
      if (p < end && *p == (stack[depth - 1] ? '}' : ']')) {
        p++;
        depth--;
        goto after;
      }
      if (stack[depth - 1]) goto key;
      goto value;
    case '"':
      s.p = p + 1;
      if (!scan_str(&s)) return 0;
      p = s.p;
      goto after;
    case 't':
      if (end - p < 4 || memcmp(p, "true", 4) != 0) return 0;
      p += 4;
      goto after;
    case 'f':
      if (end - p < 5 || memcmp(p, "false", 5) != 0) return 0;
      p += 5;
      goto after;
    case 'n':
      if (end - p < 4 || memcmp(p, "null", 4) != 0) return 0;
      p += 4;
      goto after;
    default:
      s.p = p;
      if (!scan_num(&s)) return 0;
      p = s.p;
      goto after;
  }

after:
  if (depth == 0) {
    SKIP_WS();
    if (p != end) return 0;
    unsigned f = JQF_VALID;
    if (s.safe) f |= JQF_SAFE;
    if (s.safe && s.canon) f |= JQF_CANON;
    return f;
  }
  SKIP_WS();
  if (p >= end) return 0;
  if (*p == ',') {
    p++;
    SKIP_WS();
    if (stack[depth - 1]) goto key;
    goto value;
  }
  if (*p == (stack[depth - 1] ? '}' : ']')) {
    p++;
    depth--;
    if (stack[depth]) nk = kstart[depth];
    goto after;
  }
  return 0;

key:
  if (p >= end || *p != '"') return 0;
  {
    const char *ks = p + 1;
    s.p = ks;
    if (!scan_str(&s)) return 0;
    p = s.p;
    if (s.canon) {
      /* Canonical keys have one spelling, so equal bytes = equal keys. */
      size_t kl = (size_t)(p - 1 - ks);
      for (int i = kstart[depth - 1]; i < nk; i++) {
        if (keys[i].len == kl && memcmp(keys[i].p, ks, kl) == 0) {
          s.canon = false; /* jq keeps only the last value */
          break;
        }
      }
      if (nk < JQF_MAX_KEYS) {
        keys[nk].p = ks;
        keys[nk].len = kl;
        nk++;
      } else {
        s.canon = false; /* too many to check cheaply */
      }
    }
  }
  SKIP_WS();
  if (p >= end || *p != ':') return 0;
  p++;
  goto value;
#undef SKIP_WS
}

/* ---- lenient walking (the record is known to be valid) ------------------ */

static inline const char *ws_skip(const char *p, const char *end) {
  while (p < end && IS(*p, B_WS)) p++;
  return p;
}

/* p after the opening quote; returns past the closing quote. */
static const char *lskip_str(const char *p, const char *end) {
  for (;;) {
    const char *q = memchr(p, '"', (size_t)(end - p));
    if (!q) return end;
    const char *b = q;
    while (b > p && b[-1] == '\\') b--;
    if (((q - b) & 1) == 0) return q + 1;
    p = q + 1;
  }
}

/* p at the first byte of a value; returns past it. */
static const char *lskip(const char *p, const char *end) {
  char c = *p;
  if (c == '"') return lskip_str(p + 1, end);
  if (c == '{' || c == '[') {
    int d = 0;
    while (p < end) {
      c = *p++;
      if (c == '"') {
        p = lskip_str(p, end);
      } else if (c == '{' || c == '[') {
        d++;
      } else if (c == '}' || c == ']') {
        if (--d == 0) return p;
      }
    }
    return end;
  }
  while (p < end && !IS(*p, B_DELIM)) p++;
  return p;
}

/* Raw key ks[0..kl) (between quotes) equals the unescaped key?  -1 when it
 * cannot tell (a long escaped key). */
static int key_eq(const char *ks, size_t kl, const jqf_step *st) {
  if (!memchr(ks, '\\', kl)) return kl == st->klen && memcmp(ks, st->key, kl) == 0;
  char buf[258];
  if (kl > 256) return -1;
  long n = json_unescape(ks - 1, kl + 2, buf);
  if (n < 0) return -1;
  return (size_t)n == st->klen && memcmp(buf, st->key, st->klen) == 0;
}

/* Member `st` of the object at b.  1 with the span, 0 absent, -1 unsure. */
static int member(const char *b, const char *end, const jqf_step *st,
                  bool nodup, const char **vb, const char **ve) {
  const char *p = ws_skip(b + 1, end);
  int found = 0;
  if (p < end && *p == '}') return 0;
  while (p < end) {
    const char *ks = p + 1;
    const char *kq = lskip_str(ks, end);
    int m = key_eq(ks, (size_t)(kq - 1 - ks), st);
    if (m < 0) return -1;
    p = ws_skip(kq, end);
    p = ws_skip(p + 1, end); /* ':' */
    const char *v = p;
    p = lskip(p, end);
    if (m) {
      *vb = v;
      *ve = p;
      found = 1;
      if (nodup) return 1;
    }
    p = ws_skip(p, end);
    if (p >= end || *p == '}') break;
    p = ws_skip(p + 1, end); /* ',' */
  }
  return found;
}

static int element(const char *b, const char *end, long index,
                   const char **vb, const char **ve) {
  if (index < 0) {
    long count = 0;
    const char *p = ws_skip(b + 1, end);
    if (p < end && *p != ']') {
      while (p < end) {
        p = lskip(p, end);
        count++;
        p = ws_skip(p, end);
        if (p >= end || *p == ']') break;
        p = ws_skip(p + 1, end);
      }
    }
    index += count;
    if (index < 0) return 0;
  }
  const char *p = ws_skip(b + 1, end);
  if (p < end && *p == ']') return 0;
  for (long i = 0; p < end; i++) {
    const char *v = p;
    p = lskip(p, end);
    if (i == index) {
      *vb = v;
      *ve = p;
      return 1;
    }
    p = ws_skip(p, end);
    if (p >= end || *p == ']') break;
    p = ws_skip(p + 1, end);
  }
  return 0;
}

/* Value of path node nd: 1 with span, 0 null, -1 jq error or unsure. */
static int walk(const jqf_node *nd, const char *rec, size_t n, bool nodup,
                const char **vb, const char **ve) {
  const char *end = rec + n;
  const char *b = ws_skip(rec, end), *e = NULL;
  if (b >= end) return -1;
  for (size_t i = 0; i < nd->nsteps; i++) {
    const jqf_step *st = &nd->steps[i];
    int rc;
    if (*b == 'n') return 0; /* null.a, null[0]: null */
    if (st->key) {
      if (*b != '{') return -1; /* "Cannot index number with ..." */
      rc = member(b, end, st, nodup, &b, &e);
    } else {
      if (*b != '[') return -1;
      rc = element(b, end, st->index, &b, &e);
    }
    if (rc <= 0) return rc;
    end = e;
  }
  if (!e) {
    e = lskip(b, end);
    while (e > b && IS(e[-1], B_WS)) e--;
  }
  *vb = b;
  *ve = e;
  return 1;
}

/* ---- evaluation ------------------------------------------------------------ */

typedef struct ectx {
  const jqf_prog *p;
  jqf_scratch *s;
  const char *rec;
  size_t n;
  bool nodup;
  size_t used; /* scratch bytes used by the current comparison */
} ectx;

typedef struct fval {
  json_kind kind;
  const char *raw; /* record values */
  size_t len;
  const jqf_node *lit; /* literals */
} fval;

static int eval_bool(ectx *c, int idx);

static int get_val(ectx *c, int idx, fval *v) {
  const jqf_node *nd = &c->p->nodes[idx];
  v->lit = NULL;
  v->raw = NULL;
  v->len = 0;
  if (nd->type == N_PATH) {
    const char *b, *e;
    int rc = walk(nd, c->rec, c->n, c->nodup, &b, &e);
    if (rc < 0) return -1;
    if (rc == 0) {
      v->kind = JSON_NULL;
    } else {
      v->raw = b;
      v->len = (size_t)(e - b);
      v->kind = json_kind_of(b, v->len);
    }
    return 0;
  }
  if (nd->type == N_LIT) {
    v->kind = nd->kind;
    v->lit = nd;
    return 0;
  }
  int r = eval_bool(c, idx);
  if (r < 0) return -1;
  v->kind = r ? JSON_TRUE : JSON_FALSE;
  return 0;
}

static int num_of(const ectx *c, const fval *v, double *out) {
  if (v->lit) {
    *out = v->lit->num;
    return 0;
  }
  const char *r = v->raw;
  size_t len = v->len, i = 0;
  bool neg = false;
  if (len && r[0] == '-') {
    neg = true;
    i = 1;
  }
  if (len - i >= 1 && len - i <= 15) {
    int64_t x = 0;
    size_t k = i;
    for (; k < len && IS(r[k], B_DIGIT); k++) x = x * 10 + (r[k] - '0');
    if (k == len) { /* an integer of <= 15 digits is exact as a double */
      *out = neg ? -(double)x : (double)x;
      return 0;
    }
  }
  char buf[128];
  if (len >= sizeof buf) return -1;
  memcpy(buf, r, len);
  buf[len] = '\0';
  *out = strtod_l(buf, NULL, c->p->c_locale);
  return 0;
}

static int str_of(ectx *c, const fval *v, const char **s, size_t *len) {
  if (v->lit) {
    *s = v->lit->str;
    *len = v->lit->slen;
    return 0;
  }
  const char *in = v->raw + 1;
  size_t il = v->len - 2;
  if (!memchr(in, '\\', il)) {
    *s = in;
    *len = il;
    return 0;
  }
  if (c->used + v->len > c->s->cap) return -1; /* sized in eval_begin */
  char *o = c->s->buf + c->used;
  long n = json_unescape(v->raw, v->len, o);
  if (n < 0) return -1;
  c->used += (size_t)n;
  *s = o;
  *len = (size_t)n;
  return 0;
}

/* jv_cmp: -1/0/1 into *r; -1 return when unsupported. */
static int compare(ectx *c, const fval *a, const fval *b, int *r) {
  if (a->kind != b->kind) {
    *r = a->kind < b->kind ? -1 : 1;
    return 0;
  }
  switch (a->kind) {
    case JSON_NUMBER: {
      double x, y;
      if (num_of(c, a, &x) < 0 || num_of(c, b, &y) < 0) return -1;
      *r = x < y ? -1 : x == y ? 0 : 1;
      return 0;
    }
    case JSON_STRING: {
      const char *x, *y;
      size_t xl, yl;
      c->used = 0;
      if (str_of(c, a, &x, &xl) < 0 || str_of(c, b, &y, &yl) < 0) return -1;
      int m = memcmp(x, y, WIRE_MIN(xl, yl));
      if (m == 0) m = xl < yl ? -1 : xl > yl ? 1 : 0;
      *r = m < 0 ? -1 : m > 0;
      return 0;
    }
    case JSON_NULL:
    case JSON_TRUE:
    case JSON_FALSE:
      *r = 0;
      return 0;
    default:
      return -1; /* arrays and objects: leave to jq */
  }
}

static bool truthy_kind(json_kind k) { return k != JSON_NULL && k != JSON_FALSE; }

static int eval_bool(ectx *c, int idx) {
  const jqf_node *nd = &c->p->nodes[idx];
  switch (nd->type) {
    case N_AND: {
      int x = eval_bool(c, nd->a);
      if (x <= 0) return x;
      return eval_bool(c, nd->b);
    }
    case N_OR: {
      int x = eval_bool(c, nd->a);
      if (x != 0) return x;
      return eval_bool(c, nd->b);
    }
    case N_NOT: {
      int x = eval_bool(c, nd->a);
      return x < 0 ? -1 : !x;
    }
    case N_CMP: {
      fval a, b;
      int r;
      if (get_val(c, nd->a, &a) < 0 || get_val(c, nd->b, &b) < 0) return -1;
      if (compare(c, &a, &b, &r) < 0) return -1;
      switch (nd->op) {
        case OP_EQ: return r == 0;
        case OP_NE: return r != 0;
        case OP_LT: return r < 0;
        case OP_LE: return r <= 0;
        case OP_GT: return r > 0;
        case OP_GE: return r >= 0;
      }
      return -1;
    }
    default: {
      fval v;
      if (get_val(c, idx, &v) < 0) return -1;
      return truthy_kind(v.kind);
    }
  }
}

static int eval_begin(ectx *c, const jqf_prog *p, jqf_scratch *s,
                      const char *rec, size_t n, unsigned flags) {
  if (!(flags & JQF_SAFE)) return -1;
  c->p = p;
  c->s = s;
  c->rec = rec;
  c->n = n;
  c->nodup = (flags & JQF_CANON) != 0;
  c->used = 0;
  /* Two unescaped strings of one comparison never exceed 2n bytes. */
  size_t need = 2 * n + 16;
  if (s->cap < need) {
    size_t cap = s->cap ? s->cap : 256;
    while (cap < need) cap *= 2;
    char *nb = core_realloc(s->buf, cap);
    if (!nb) return -1;
    s->buf = nb;
    s->cap = cap;
  }
  return 0;
}

int jqf_eval(const jqf_prog *p, jqf_scratch *s, const char *rec, size_t n,
             unsigned flags) {
  ectx c;
  if (p->form != JQF_SELECT && p->form != JQF_BOOL) return -1;
  if (eval_begin(&c, p, s, rec, n, flags) < 0) return -1;
  return eval_bool(&c, p->root);
}

int jqf_value(const jqf_prog *p, const char *rec, size_t n, unsigned flags,
              const char **val, size_t *val_len) {
  if (!(flags & JQF_SAFE)) return -1;
  if (p->form != JQF_PATH && p->form != JQF_IDENTITY) return -1;
  const char *b, *e;
  int rc = walk(&p->nodes[p->root], rec, n, (flags & JQF_CANON) != 0, &b, &e);
  if (rc == 1) {
    *val = b;
    *val_len = (size_t)(e - b);
  }
  return rc;
}

int jqf_truthy(const jqf_prog *p, jqf_scratch *s, const char *rec, size_t n,
               unsigned flags) {
  const char *v = NULL;
  size_t vl = 0;
  int rc;
  switch (p->form) {
    case JQF_BOOL:
      return jqf_eval(p, s, rec, n, flags);
    case JQF_SELECT:
      rc = jqf_eval(p, s, rec, n, flags);
      if (rc <= 0) return rc; /* no output: not truthy */
      /* the output is the input itself */
      return truthy_kind(json_kind_of(rec, n));
    default:
      rc = jqf_value(p, rec, n, flags, &v, &vl);
      if (rc <= 0) return rc; /* null */
      return truthy_kind(json_kind_of(v, vl));
  }
}

void jqf_scratch_free(jqf_scratch *s) {
  if (!s) return;
  core_free(s->buf);
  s->buf = NULL;
  s->cap = 0;
}

/* ---- expression parser ---------------------------------------------------- */

typedef struct parser {
  const char *s;
  size_t i;
  jqf_prog *p;
} parser;

static void pws(parser *ps) {
  while (IS(ps->s[ps->i], B_WS)) ps->i++;
}

static bool kw(parser *ps, const char *w) {
  size_t l = strlen(w);
  if (strncmp(ps->s + ps->i, w, l) != 0 || IS(ps->s[ps->i + l], B_IDENT))
    return false;
  ps->i += l;
  return true;
}

static int new_node(parser *ps, node_type t, int a, int b) {
  if (ps->p->n >= JQF_MAX_NODES) return -1;
  int k = ps->p->n++;
  jqf_node *nd = &ps->p->nodes[k];
  memset(nd, 0, sizeof *nd);
  nd->type = t;
  nd->a = a;
  nd->b = b;
  return k;
}

/* A jq string literal at s[i] == '"' without interpolation; its unescaped
 * bytes go to the arena. */
static int parse_string(parser *ps, const char **out, size_t *olen) {
  const char *b = ps->s + ps->i, *p = b + 1;
  for (;;) {
    unsigned char c = (unsigned char)*p;
    if (c == '\0' || c < 0x20) return -1;
    if (c == '"') break;
    if (c == '\\') {
      char e = p[1];
      if (e == 'u') {
        int cp = hex4v(p + 2); /* stops at a NUL: hexval('\0') < 0 */
        if (cp < 0 || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
        p += 6;
        continue;
      }
      if (!strchr("\"\\/bfnrt", e) || e == '\0') return -1; /* also \( */
      p += 2;
      continue;
    }
    p++;
  }
  size_t rawlen = (size_t)(p + 1 - b);
  char *buf = core_arena_alloc(&ps->p->arena, rawlen + 1);
  if (!buf) return -1;
  long n = json_unescape(b, rawlen, buf);
  if (n < 0) return -1;
  for (long k = 0; k < n;) { /* jq would replace invalid UTF-8 */
    if ((unsigned char)buf[k] < 0x80) {
      k++;
      continue;
    }
    size_t l = utf8_len((const unsigned char *)buf + k,
                        (const unsigned char *)buf + n);
    if (!l) return -1;
    k += (long)l;
  }
  *out = buf;
  *olen = (size_t)n;
  ps->i += rawlen;
  return 0;
}

static int parse_number(parser *ps, bool neg) {
  const char *b = ps->s + ps->i, *p = b;
  while (IS(*p, B_DIGIT)) p++;
  if (*p == '.') {
    p++;
    if (!IS(*p, B_DIGIT)) return -1;
    while (IS(*p, B_DIGIT)) p++;
  }
  if (*p == 'e' || *p == 'E') {
    p++;
    if (*p == '+' || *p == '-') p++;
    if (!IS(*p, B_DIGIT)) return -1;
    while (IS(*p, B_DIGIT)) p++;
  }
  if (IS(*p, B_IDENT) || *p == '.') return -1;
  char buf[128];
  size_t len = (size_t)(p - b);
  if (len >= sizeof buf) return -1;
  memcpy(buf, b, len);
  buf[len] = '\0';
  int k = new_node(ps, N_LIT, -1, -1);
  if (k < 0) return -1;
  jqf_node *nd = &ps->p->nodes[k];
  nd->kind = JSON_NUMBER;
  nd->num = strtod_l(buf, NULL, ps->p->c_locale);
  if (neg) nd->num = -nd->num;
  ps->i += len;
  return k;
}

#define JQF_MAX_STEPS 32

static int parse_path(parser *ps) {
  jqf_step steps[JQF_MAX_STEPS];
  size_t n = 0;
  const char *s = ps->s;
  size_t i = ps->i + 1; /* past '.' */
  bool first = true;
  for (;;) {
    jqf_step st = {0};
    if (first || s[i] == '.') {
      size_t j = first ? i : i + 1;
      if (IS(s[j], B_IDENT) && !IS(s[j], B_DIGIT)) {
        size_t b = j;
        while (IS(s[j], B_IDENT)) j++;
        char *k = core_arena_memdup(&ps->p->arena, s + b, j - b + 1);
        if (!k) return -1;
        k[j - b] = '\0';
        st.key = k;
        st.klen = j - b;
        i = j;
      } else if (s[j] == '"') {
        ps->i = j;
        if (parse_string(ps, &st.key, &st.klen) < 0) return -1;
        i = ps->i;
      } else if (first && s[j] == '[') {
        i = j;
        first = false;
        continue;
      } else if (first) {
        /* plain `.`: must not be `..`, `.?`, `.5`... */
        if (s[j] == '.' || s[j] == '?' || IS(s[j], B_IDENT)) return -1;
        break;
      } else {
        return -1; /* `.a.` followed by something else */
      }
    } else if (s[i] == '[') {
      ps->i = i + 1;
      pws(ps);
      if (s[ps->i] == '"') {
        if (parse_string(ps, &st.key, &st.klen) < 0) return -1;
      } else {
        bool neg = false;
        if (s[ps->i] == '-') {
          neg = true;
          ps->i++;
        }
        if (!IS(s[ps->i], B_DIGIT)) return -1;
        long v = 0;
        size_t nd = 0;
        while (IS(s[ps->i], B_DIGIT)) {
          if (++nd > 9) return -1;
          v = v * 10 + (s[ps->i++] - '0');
        }
        if (s[ps->i] == '.' || IS(s[ps->i], B_IDENT)) return -1;
        st.index = neg ? -v : v;
      }
      pws(ps);
      if (s[ps->i] != ']') return -1;
      i = ps->i + 1;
    } else {
      break;
    }
    first = false;
    if (n >= JQF_MAX_STEPS) return -1;
    steps[n++] = st;
    while (s[i] == '?') i++; /* errors make us fall back anyway */
  }
  int k = new_node(ps, N_PATH, -1, -1);
  if (k < 0) return -1;
  jqf_node *nd = &ps->p->nodes[k];
  nd->nsteps = n;
  if (n) {
    nd->steps = core_arena_memdup(&ps->p->arena, steps, n * sizeof steps[0]);
    if (!nd->steps) return -1;
  }
  ps->i = i;
  return k;
}

static int parse_pipe(parser *ps);

static int parse_primary(parser *ps) {
  pws(ps);
  char c = ps->s[ps->i];
  if (c == '(') {
    ps->i++;
    int k = parse_pipe(ps);
    if (k < 0) return -1;
    pws(ps);
    if (ps->s[ps->i] != ')') return -1;
    ps->i++;
    return k;
  }
  if (c == '.') return parse_path(ps);
  if (c == '"') {
    const char *str;
    size_t len;
    if (parse_string(ps, &str, &len) < 0) return -1;
    int k = new_node(ps, N_LIT, -1, -1);
    if (k < 0) return -1;
    ps->p->nodes[k].kind = JSON_STRING;
    ps->p->nodes[k].str = str;
    ps->p->nodes[k].slen = len;
    return k;
  }
  if (IS(c, B_DIGIT)) return parse_number(ps, false);
  if (c == '-') {
    ps->i++;
    pws(ps);
    if (!IS(ps->s[ps->i], B_DIGIT)) return -1;
    return parse_number(ps, true);
  }
  json_kind kind = JSON_INVALID;
  if (kw(ps, "true")) kind = JSON_TRUE;
  else if (kw(ps, "false")) kind = JSON_FALSE;
  else if (kw(ps, "null")) kind = JSON_NULL;
  if (!kind) return -1;
  int k = new_node(ps, N_LIT, -1, -1);
  if (k >= 0) ps->p->nodes[k].kind = kind;
  return k;
}

static cmp_op parse_op(parser *ps) {
  const char *s = ps->s + ps->i;
  cmp_op op = 0;
  size_t l = 2;
  if (s[0] == '=' && s[1] == '=') op = OP_EQ;
  else if (s[0] == '!' && s[1] == '=') op = OP_NE;
  else if (s[0] == '<' && s[1] == '=') op = OP_LE;
  else if (s[0] == '>' && s[1] == '=') op = OP_GE;
  else if (s[0] == '<') op = OP_LT, l = 1;
  else if (s[0] == '>') op = OP_GT, l = 1;
  if (op) ps->i += l;
  return op;
}

static int parse_cmp(parser *ps) {
  int a = parse_primary(ps);
  if (a < 0) return -1;
  pws(ps);
  cmp_op op = parse_op(ps);
  if (!op) return a;
  int b = parse_primary(ps);
  if (b < 0) return -1;
  pws(ps);
  size_t save = ps->i;
  if (parse_op(ps)) return -1; /* non-associative in jq */
  ps->i = save;
  int k = new_node(ps, N_CMP, a, b);
  if (k >= 0) ps->p->nodes[k].op = op;
  return k;
}

static int parse_and(parser *ps) {
  int a = parse_cmp(ps);
  while (a >= 0) {
    pws(ps);
    if (!kw(ps, "and")) break;
    int b = parse_cmp(ps);
    if (b < 0) return -1;
    a = new_node(ps, N_AND, a, b);
  }
  return a;
}

static int parse_or(parser *ps) {
  int a = parse_and(ps);
  while (a >= 0) {
    pws(ps);
    if (!kw(ps, "or")) break;
    int b = parse_and(ps);
    if (b < 0) return -1;
    a = new_node(ps, N_OR, a, b);
  }
  return a;
}

static int parse_pipe(parser *ps) {
  int a = parse_or(ps);
  while (a >= 0) {
    pws(ps);
    if (ps->s[ps->i] != '|' || ps->s[ps->i + 1] == '=') break;
    ps->i++;
    pws(ps);
    if (!kw(ps, "not")) return -1;
    a = new_node(ps, N_NOT, a, -1);
  }
  return a;
}

jqf_prog *jqf_compile(const char *expr) {
  if (!expr) return NULL;
  jqf_prog *p = core_calloc(1, sizeof *p);
  if (!p) return NULL;
  core_arena_init(&p->arena, 512);
  p->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
  if (p->c_locale == (locale_t)0) goto fail;
  parser ps = {.s = expr, .i = 0, .p = p};
  pws(&ps);
  size_t start = ps.i;
  if (kw(&ps, "select")) {
    pws(&ps);
    if (ps.s[ps.i] != '(') goto fail;
    ps.i++;
    p->root = parse_pipe(&ps);
    if (p->root < 0) goto fail;
    pws(&ps);
    if (ps.s[ps.i] != ')') goto fail;
    ps.i++;
    p->form = JQF_SELECT;
  } else {
    ps.i = start;
    p->root = parse_pipe(&ps);
    if (p->root < 0) goto fail;
    const jqf_node *nd = &p->nodes[p->root];
    if (nd->type == N_LIT) goto fail;
    if (nd->type == N_PATH)
      p->form = nd->nsteps ? JQF_PATH : JQF_IDENTITY;
    else
      p->form = JQF_BOOL;
  }
  pws(&ps);
  if (ps.s[ps.i] != '\0') goto fail;
  return p;
fail:
  jqf_free(p);
  return NULL;
}

void jqf_free(jqf_prog *p) {
  if (!p) return;
  if (p->c_locale != (locale_t)0) freelocale(p->c_locale);
  core_arena_destroy(&p->arena);
  core_free(p);
}

jqf_form jqf_form_of(const jqf_prog *p) { return p->form; }
