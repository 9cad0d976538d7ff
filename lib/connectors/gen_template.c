/*
 * Generator templates (connector layer): compile a JSON template (jansson,
 * once, at open) into a program of operations, then render records from it
 * on the hot path without any JSON library.
 *
 * Compilation walks the template in its key order.  Literal text (keys,
 * punctuation, constant values) is pre-escaped into one pool and adjacent
 * pieces are merged, so the demo shape renders in about a dozen steps.  Each
 * operation knows its longest output, which bounds a record and lets the
 * renderer write without bounds checks.  Numbers are formatted by hand:
 * fast, and independent of the host's locale.
 */
#include "gen_template.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/event.h"

enum {
  GT_LIT,
  GT_SEQ,
  GT_INT,
  GT_FLOAT,
  GT_CHOICE,
  GT_UUID,
  GT_HEX,
  GT_WORD,
  GT_NOW,
  GT_KEY_BEGIN,
  GT_KEY_END
};

struct gt_op {
  uint8_t kind;
  bool quote;        /* a string-typed placeholder standing alone */
  uint32_t off, len; /* LIT: pool range; CHOICE: item index and count */
  int64_t a, b;      /* INT bounds; HEX: a = digits */
  double fa, fb;     /* FLOAT bounds */
};

#define MAX_DEPTH 64
#define FLOAT_LIMIT 1e14 /* |bounds| of {{float}}: 4 decimals fit 63 bits */

static const char *const words[] = {
    "alpha",  "amber",  "apple",  "arrow",  "basil",  "beacon", "birch",
    "blue",   "bridge", "cedar",  "cloud",  "comet",  "coral",  "delta",
    "ember",  "falcon", "fern",   "field",  "flint",  "frost",  "garnet",
    "harbor", "hazel",  "indigo", "iris",   "jade",   "juniper", "kernel",
    "lantern", "lemon", "maple",  "meadow", "nectar", "north",  "oak",
    "olive",  "orbit",  "pebble", "pine",   "quartz", "raven",  "river",
    "saffron", "stone", "thistle", "tide",  "umber",  "violet", "willow",
    "zephyr"};
#define NWORDS (sizeof words / sizeof words[0])
#define MAX_WORD 8

static const char default_template[] =
    "{\"level\":\"{{choice debug debug info info info info warn warn warn "
    "error}}\",\"user\":\"{{choice alice bob carol dave erin frank grace "
    "heidi}}\",\"msg\":\"{{word}} {{word}} {{word}}\",\"ms\":\"{{int 1 "
    "999}}\"}";

/* ---- compilation ------------------------------------------------------ */

typedef struct cctx {
  gen_template *t;
  char *err;
  size_t errlen;
  const char *field; /* top-level field being compiled, for messages */
} cctx;

static int fail(cctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(cctx *c, const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (c->field)
    snprintf(c->err, c->errlen, "field '%s': %s", c->field, msg);
  else
    snprintf(c->err, c->errlen, "%s", msg);
  return WIRE_ECONFIG;
}

static gt_op *add_op(cctx *c, int kind, size_t max_out) {
  gen_template *t = c->t;
  if (t->nops == t->opcap) {
    size_t cap = t->opcap ? t->opcap * 2 : 16;
    gt_op *v = core_realloc(t->ops, cap * sizeof *v);
    if (!v) return NULL;
    t->ops = v;
    t->opcap = cap;
  }
  gt_op *op = &t->ops[t->nops++];
  memset(op, 0, sizeof *op);
  op->kind = (uint8_t)kind;
  t->max_len += max_out;
  return op;
}

/* Make pool bytes [off, end) the next literal, merging with a preceding
 * literal when they are adjacent. */
static int pool_lit(cctx *c, size_t off) {
  gen_template *t = c->t;
  size_t n = t->pool.len - off;
  if (!n) return WIRE_OK;
  gt_op *last = t->nops ? &t->ops[t->nops - 1] : NULL;
  if (last && last->kind == GT_LIT && last->off + last->len == off) {
    last->len += (uint32_t)n;
    t->max_len += n;
    return WIRE_OK;
  }
  gt_op *op = add_op(c, GT_LIT, n);
  if (!op) return WIRE_ENOMEM;
  op->off = (uint32_t)off;
  op->len = (uint32_t)n;
  return WIRE_OK;
}

static int lit(cctx *c, const char *p, size_t n) {
  size_t off = c->t->pool.len;
  if (core_buf_append(&c->t->pool, p, n)) return WIRE_ENOMEM;
  return pool_lit(c, off);
}

/* Append s as JSON string text to the pool, with or without the quotes. */
static int pool_escaped(gen_template *t, const char *s, size_t n, bool quotes) {
  size_t at = t->pool.len;
  if (core_buf_json_string(&t->pool, s, n)) return WIRE_ENOMEM;
  if (!quotes) {
    size_t body = t->pool.len - at - 2;
    memmove(t->pool.data + at, t->pool.data + at + 1, body);
    t->pool.len -= 2;
  }
  return WIRE_OK;
}

static int lit_escaped(cctx *c, const char *s, size_t n, bool quotes) {
  size_t off = c->t->pool.len;
  if (pool_escaped(c->t, s, n, quotes)) return WIRE_ENOMEM;
  return pool_lit(c, off);
}

static bool parse_i64(const char *s, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || *end) return false;
  *out = v;
  return true;
}

static size_t digits(const char *s, size_t i, size_t n) {
  while (i < n && s[i] >= '0' && s[i] <= '9') i++;
  return i;
}

/* Whether a choice item is a JSON number (RFC 8259 §6), true, false or null:
 * emitted raw when the placeholder stands alone.  (lib/core/json.h cannot be
 * included next to jansson.h: their enumerators clash.) */
static bool json_scalar(const char *s, size_t n) {
  if ((n == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "null", 4))) ||
      (n == 5 && !memcmp(s, "false", 5)))
    return true;
  size_t i = 0, j;
  if (i < n && s[i] == '-') i++;
  if (i < n && s[i] == '0')
    i++;
  else if ((j = digits(s, i, n)) > i)
    i = j;
  else
    return false;
  if (i < n && s[i] == '.') {
    if ((j = digits(s, i + 1, n)) == i + 1) return false;
    i = j;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    if ((j = digits(s, i, n)) == i) return false;
    i = j;
  }
  return i == n;
}

static int add_item(cctx *c, const char *s, size_t n, bool alone,
                    size_t *max_item) {
  gen_template *t = c->t;
  if (t->nitems * 2 + 2 > t->itemcap) {
    size_t cap = t->itemcap ? t->itemcap * 2 : 32;
    uint32_t *v = core_realloc(t->items, cap * sizeof *v);
    if (!v) return WIRE_ENOMEM;
    t->items = v;
    t->itemcap = cap;
  }
  size_t off = t->pool.len;
  int rc = alone && json_scalar(s, n) ? core_buf_append(&t->pool, s, n)
                                      : pool_escaped(t, s, n, alone);
  if (rc) return WIRE_ENOMEM;
  size_t len = t->pool.len - off;
  t->items[t->nitems * 2] = (uint32_t)off;
  t->items[t->nitems * 2 + 1] = (uint32_t)len;
  t->nitems++;
  if (len > *max_item) *max_item = len;
  return WIRE_OK;
}

/* Compile the inside of one {{...}}.  `alone`: the placeholder is the whole
 * string value, so it keeps its type. */
static int placeholder(cctx *c, const char *p, size_t n, bool alone) {
  char buf[1024];
  if (n >= sizeof buf) return fail(c, "placeholder too long");
  memcpy(buf, p, n);
  buf[n] = '\0';
  char *tok[130];
  size_t nt = 0;
  for (char *save = NULL, *s = strtok_r(buf, " \t", &save); s;
       s = strtok_r(NULL, " \t", &save)) {
    if (nt == WIRE_ARRAY_SIZE(tok))
      return fail(c, "placeholder has more than %zu words",
                  WIRE_ARRAY_SIZE(tok) - 1);
    tok[nt++] = s;
  }
  if (nt == 0) return fail(c, "empty placeholder {{}}");
  const char *name = tok[0];
  size_t nargs = nt - 1;
  size_t q = alone ? 2 : 0;
  gt_op *op;
#define ARGS(k)                                                            \
  if (nargs != (k))                                                        \
    return fail(c, "{{%s}} takes %d argument%s, got %zu", name, (k),       \
                (k) == 1 ? "" : "s", nargs);
  if (strcmp(name, "seq") == 0) {
    ARGS(0);
    return add_op(c, GT_SEQ, 20) ? WIRE_OK : WIRE_ENOMEM;
  }
  if (strcmp(name, "int") == 0) {
    ARGS(2);
    int64_t a, b;
    if (!parse_i64(tok[1], &a) || !parse_i64(tok[2], &b) || a > b)
      return fail(c, "{{int A B}} needs integers A <= B, got '%s' '%s'",
                  tok[1], tok[2]);
    if (!(op = add_op(c, GT_INT, 20))) return WIRE_ENOMEM;
    op->a = a;
    op->b = b;
    return WIRE_OK;
  }
  if (strcmp(name, "float") == 0) {
    ARGS(2);
    char *e1, *e2;
    double a = strtod(tok[1], &e1), b = strtod(tok[2], &e2);
    if (*e1 || *e2 || !(a <= b) || fabs(a) > FLOAT_LIMIT ||
        fabs(b) > FLOAT_LIMIT)
      return fail(c, "{{float A B}} needs numbers A <= B within +-1e14, got "
                  "'%s' '%s'", tok[1], tok[2]);
    if (!(op = add_op(c, GT_FLOAT, 24))) return WIRE_ENOMEM;
    op->fa = a;
    op->fb = b;
    return WIRE_OK;
  }
  if (strcmp(name, "choice") == 0) {
    if (nargs < 1) return fail(c, "{{choice}} needs at least one item");
    uint32_t first = (uint32_t)c->t->nitems;
    size_t max_item = 0;
    for (size_t i = 1; i < nt; i++)
      if (add_item(c, tok[i], strlen(tok[i]), alone, &max_item))
        return WIRE_ENOMEM;
    if (!(op = add_op(c, GT_CHOICE, max_item))) return WIRE_ENOMEM;
    op->off = first;
    op->len = (uint32_t)nargs;
    return WIRE_OK;
  }
  if (strcmp(name, "uuid") == 0) {
    ARGS(0);
    if (!(op = add_op(c, GT_UUID, 36 + q))) return WIRE_ENOMEM;
    op->quote = alone;
    return WIRE_OK;
  }
  if (strcmp(name, "hex") == 0) {
    ARGS(1);
    int64_t d;
    if (!parse_i64(tok[1], &d) || d < 1 || d > 1024)
      return fail(c, "{{hex N}} needs 1 <= N <= 1024, got '%s'", tok[1]);
    if (!(op = add_op(c, GT_HEX, (size_t)d + q))) return WIRE_ENOMEM;
    op->quote = alone;
    op->a = d;
    return WIRE_OK;
  }
  if (strcmp(name, "word") == 0) {
    ARGS(0);
    if (!(op = add_op(c, GT_WORD, MAX_WORD + q))) return WIRE_ENOMEM;
    op->quote = alone;
    return WIRE_OK;
  }
  if (strcmp(name, "now") == 0) {
    ARGS(0);
    if (!(op = add_op(c, GT_NOW, 48 + q))) return WIRE_ENOMEM;
    op->quote = alone;
    return WIRE_OK;
  }
#undef ARGS
  return fail(c, "unknown placeholder {{%s}} (known: seq, int A B, float A B, "
              "choice ITEMS..., uuid, hex N, word, now)", name);
}

static int compile_string(cctx *c, const char *s, size_t n) {
  const char *open = memmem(s, n, "{{", 2);
  if (!open) return lit_escaped(c, s, n, true);
  const char *close = memmem(open + 2, n - (size_t)(open + 2 - s), "}}", 2);
  if (open == s && close && close + 2 == s + n)
    return placeholder(c, s + 2, n - 4, true);
  int rc = lit(c, "\"", 1);
  const char *p = s, *end = s + n;
  while (rc == WIRE_OK && p < end) {
    open = memmem(p, (size_t)(end - p), "{{", 2);
    if (!open) {
      rc = lit_escaped(c, p, (size_t)(end - p), false);
      break;
    }
    close = memmem(open + 2, (size_t)(end - open - 2), "}}", 2);
    if (!close)
      return fail(c, "unterminated placeholder in \"%.*s\"", (int)n, s);
    if ((rc = lit_escaped(c, p, (size_t)(open - p), false))) break;
    rc = placeholder(c, open + 2, (size_t)(close - open - 2), false);
    p = close + 2;
  }
  return rc ? rc : lit(c, "\"", 1);
}

static int compile_value(cctx *c, json_t *v, int depth) {
  if (depth > MAX_DEPTH) return fail(c, "nested too deeply");
  int rc = WIRE_OK;
  if (json_is_object(v)) {
    const char *k;
    json_t *item;
    bool first = true;
    rc = lit(c, "{", 1);
    json_object_foreach(v, k, item) {
      if (rc == WIRE_OK && !first) rc = lit(c, ",", 1);
      if (rc == WIRE_OK) rc = lit_escaped(c, k, strlen(k), true);
      if (rc == WIRE_OK) rc = lit(c, ":", 1);
      if (rc == WIRE_OK) rc = compile_value(c, item, depth + 1);
      first = false;
    }
    return rc ? rc : lit(c, "}", 1);
  }
  if (json_is_array(v)) {
    size_t i;
    json_t *item;
    rc = lit(c, "[", 1);
    json_array_foreach(v, i, item) {
      if (rc == WIRE_OK && i) rc = lit(c, ",", 1);
      if (rc == WIRE_OK) rc = compile_value(c, item, depth + 1);
    }
    return rc ? rc : lit(c, "]", 1);
  }
  if (json_is_string(v))
    return compile_string(c, json_string_value(v), json_string_length(v));
  char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
  if (!text) return WIRE_ENOMEM;
  rc = lit(c, text, strlen(text));
  free(text);
  return rc;
}

static int compile_root(cctx *c, json_t *root, const char *key) {
  if (!json_is_object(root))
    return fail(c, "the template must be a mapping of field names to values");
  bool key_seq = key && strcmp(key, "seq") == 0;
  int rc = lit(c, "{\"seq\":", 7);
  if (!rc && key_seq) rc = add_op(c, GT_KEY_BEGIN, 0) ? 0 : WIRE_ENOMEM;
  if (!rc) rc = add_op(c, GT_SEQ, 20) ? 0 : WIRE_ENOMEM;
  if (!rc && key_seq) rc = add_op(c, GT_KEY_END, 0) ? 0 : WIRE_ENOMEM;
  bool found = key_seq;
  const char *k;
  json_t *v;
  json_object_foreach(root, k, v) {
    if (rc) break;
    if (strcmp(k, "seq") == 0)
      return fail(c, "field 'seq' is set by the generator (the record's "
                  "sequence number); remove it from the template");
    bool is_key = key && strcmp(k, key) == 0;
    found |= is_key;
    c->field = k;
    rc = lit(c, ",", 1);
    if (!rc) rc = lit_escaped(c, k, strlen(k), true);
    if (!rc) rc = lit(c, ":", 1);
    if (!rc && is_key) rc = add_op(c, GT_KEY_BEGIN, 0) ? 0 : WIRE_ENOMEM;
    if (!rc) rc = compile_value(c, v, 1);
    if (!rc && is_key) rc = add_op(c, GT_KEY_END, 0) ? 0 : WIRE_ENOMEM;
    c->field = NULL;
  }
  if (!rc) rc = lit(c, "}", 1);
  if (!rc && key && !found) {
    c->field = NULL;
    return fail(c, "key field '%s' is not a field of the template", key);
  }
  c->t->has_key = key != NULL;
  return rc;
}

int gt_compile(gen_template *t, const char *json, const char *key, char *err,
               size_t errlen) {
  memset(t, 0, sizeof *t);
  cctx c = {.t = t, .err = err, .errlen = errlen};
  if (errlen) err[0] = '\0';
  json_error_t jerr;
  json_t *root = json_loads(json ? json : default_template,
                            JSON_REJECT_DUPLICATES, &jerr);
  int rc;
  if (!root)
    rc = fail(&c, "invalid template: %s", jerr.text);
  else
    rc = compile_root(&c, root, key && *key ? key : NULL);
  json_decref(root);
  if (rc == WIRE_ENOMEM) snprintf(err, errlen, "out of memory");
  if (rc) gt_free(t);
  return rc;
}

void gt_free(gen_template *t) {
  core_free(t->ops);
  core_free(t->items);
  core_buf_free(&t->pool);
  memset(t, 0, sizeof *t);
}

/* ---- rendering ----------------------------------------------------------- */

static inline uint64_t fmix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* splitmix64 */
static inline uint64_t draw(uint64_t *x) {
  return fmix(*x += 0x9e3779b97f4a7c15ULL);
}

static char *put_u64(char *p, uint64_t v) {
  char tmp[20];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) *p++ = tmp[--n];
  return p;
}

static char *put_i64(char *p, int64_t v) {
  if (v < 0) {
    *p++ = '-';
    return put_u64(p, 0 - (uint64_t)v);
  }
  return put_u64(p, (uint64_t)v);
}

static char *put_2(char *p, unsigned v) {
  p[0] = (char)('0' + v / 10);
  p[1] = (char)('0' + v % 10);
  return p + 2;
}

/* Number with up to 4 decimals, at least one. */
static char *put_fixed4(char *p, double v) {
  bool neg = v < 0;
  uint64_t scaled = (uint64_t)((neg ? -v : v) * 10000.0 + 0.5);
  if (neg && scaled) *p++ = '-';
  p = put_u64(p, scaled / 10000);
  unsigned frac = (unsigned)(scaled % 10000);
  *p++ = '.';
  char d[4] = {(char)('0' + frac / 1000), (char)('0' + frac / 100 % 10),
               (char)('0' + frac / 10 % 10), (char)('0' + frac % 10)};
  int n = 4;
  while (n > 1 && d[n - 1] == '0') n--;
  memcpy(p, d, (size_t)n);
  return p + n;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" (proleptic Gregorian calendar, from days since
 * 1970-01-01 by the usual era/day-of-era arithmetic). */
static char *put_iso(char *p, uint64_t ms) {
  uint64_t days = ms / 86400000, rem = ms % 86400000;
  uint64_t z = days + 719468;
  uint64_t era = z / 146097;
  uint64_t doe = z - era * 146097;
  uint64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  uint64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  uint64_t mp = (5 * doy + 2) / 153;
  unsigned d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
  unsigned m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
  uint64_t y = yoe + era * 400 + (m <= 2);
  if (y < 1000) *p++ = '0';
  if (y < 100) *p++ = '0';
  if (y < 10) *p++ = '0';
  p = put_u64(p, y);
  *p++ = '-';
  p = put_2(p, m);
  *p++ = '-';
  p = put_2(p, d);
  *p++ = 'T';
  p = put_2(p, (unsigned)(rem / 3600000));
  *p++ = ':';
  p = put_2(p, (unsigned)(rem / 60000 % 60));
  *p++ = ':';
  p = put_2(p, (unsigned)(rem / 1000 % 60));
  *p++ = '.';
  unsigned msec = (unsigned)(rem % 1000);
  *p++ = (char)('0' + msec / 100);
  p = put_2(p, msec % 100);
  *p++ = 'Z';
  return p;
}

size_t gt_render(const gen_template *t, uint64_t seq, uint64_t seed, char *out,
                 size_t *koff, size_t *klen) {
  static const char hex[] = "0123456789abcdef";
  uint64_t x = fmix(seed ^ fmix(seq + 0x5eedULL));
  const char *pool = t->pool.data;
  char *p = out;
  size_t kb = 0, ke = 0;
  for (size_t i = 0; i < t->nops; i++) {
    const gt_op *op = &t->ops[i];
    switch (op->kind) {
      case GT_LIT:
        memcpy(p, pool + op->off, op->len);
        p += op->len;
        break;
      case GT_SEQ:
        p = put_u64(p, seq);
        break;
      case GT_INT: {
        uint64_t span = (uint64_t)op->b - (uint64_t)op->a + 1;
        uint64_t r = draw(&x);
        p = put_i64(p, (int64_t)((uint64_t)op->a + (span ? r % span : r)));
        break;
      }
      case GT_FLOAT: {
        double u = (double)(draw(&x) >> 11) * 0x1.0p-53;
        p = put_fixed4(p, op->fa + (op->fb - op->fa) * u);
        break;
      }
      case GT_CHOICE: {
        const uint32_t *it = &t->items[2 * (op->off + draw(&x) % op->len)];
        memcpy(p, pool + it[0], it[1]);
        p += it[1];
        break;
      }
      case GT_UUID: {
        uint8_t id[16];
        uint64_t a = draw(&x), b = draw(&x);
        memcpy(id, &a, 8);
        memcpy(id + 8, &b, 8);
        id[6] = (uint8_t)(0x40 | (id[6] & 0x0f));
        id[8] = (uint8_t)(0x80 | (id[8] & 0x3f));
        char text[37];
        wire_uuid_format(id, text);
        if (op->quote) *p++ = '"';
        memcpy(p, text, 36);
        p += 36;
        if (op->quote) *p++ = '"';
        break;
      }
      case GT_HEX: {
        if (op->quote) *p++ = '"';
        uint64_t r = 0;
        for (int64_t k = 0; k < op->a; k++) {
          if (k % 16 == 0) r = draw(&x);
          *p++ = hex[r & 15];
          r >>= 4;
        }
        if (op->quote) *p++ = '"';
        break;
      }
      case GT_WORD: {
        const char *w = words[draw(&x) % NWORDS];
        size_t n = strlen(w);
        if (op->quote) *p++ = '"';
        memcpy(p, w, n);
        p += n;
        if (op->quote) *p++ = '"';
        break;
      }
      case GT_NOW:
        if (op->quote) *p++ = '"';
        p = put_iso(p, GT_EPOCH_MS + seq);
        if (op->quote) *p++ = '"';
        break;
      case GT_KEY_BEGIN:
        kb = (size_t)(p - out);
        break;
      case GT_KEY_END:
        ke = (size_t)(p - out);
        break;
    }
  }
  if (t->has_key && koff && klen) {
    if (ke >= kb + 2 && out[kb] == '"' && out[ke - 1] == '"') {
      kb++;
      ke--;
    }
    *koff = kb;
    *klen = ke - kb;
  }
  return (size_t)(p - out);
}
