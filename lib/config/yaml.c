/*
 * YAML text to a tree of values with positions (config layer).  libyaml's
 * event parser (yaml_parser_parse) feeds an explicit stack, so deeply nested
 * input cannot overflow the C stack; every node keeps its 1-based line and
 * column so that validation can point at the offending text.  Only the
 * first document is read.  Aliases, anchors and local tags are refused and
 * duplicate keys reported, each as a diagnostic; parsing goes on where it
 * can so that one run reports several problems.  Also here: the YAML 1.2
 * core schema readings of scalars (null, booleans, integers, floats) used
 * by the option getters and by the JSON rendering of option values.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config/spec.h"
#include "core/core.h"

#define YAML_MAX_DEPTH 256

/* ---- the tree ------------------------------------------------------------- */

static yval *node_new(yval_kind kind, const yaml_mark_t *m) {
  yval *v = core_calloc(1, sizeof *v);
  if (!v) return NULL;
  v->kind = kind;
  v->line = (int)m->line + 1;
  v->col = (int)m->column + 1;
  return v;
}

void yval_free(yval *v) {
  if (!v) return;
  for (size_t i = 0; i < v->n; i++) {
    yval_free(v->items[i]);
    if (v->keys) yval_free(v->keys[i]);
  }
  core_free(v->items);
  core_free(v->keys);
  core_free(v->str);
  core_free(v);
}

const yval *yval_get(const yval *map, const char *key) {
  if (!map || map->kind != Y_MAP || !key) return NULL;
  /* The last of duplicate keys wins (duplicates are diagnostics anyway). */
  for (size_t i = map->n; i-- > 0;)
    if (map->keys[i] && strcmp(map->keys[i]->str, key) == 0)
      return map->items[i];
  return NULL;
}

const char *yval_kind_name(const yval *v) {
  if (!v) return "nothing";
  return v->kind == Y_SCALAR ? "a scalar" : v->kind == Y_SEQ ? "a list"
                                                             : "a mapping";
}

/* ---- parsing ---------------------------------------------------------------- */

typedef struct frame {
  yval *node;
  yval *key; /* mappings: the key waiting for its value */
} frame;

typedef struct parser_state {
  const char *file;
  diag_list *d;
  frame *stack;
  size_t depth, cap;
  yval *root;
  int rc; /* WIRE_OK; WIRE_ECONFIG or WIRE_ENOMEM once parsing must stop */
} parser_state;

static void problem(parser_state *ps, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void problem(parser_state *ps, int line, int col, const char *fmt,
                    ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_vadd(ps->d, ps->file, line, col, fmt, ap);
  va_end(ap);
}

static int push_child(yval *parent, yval *key, yval *val) {
  /* Grow by doubling: the capacity is implied by n (powers of two). */
  size_t n = parent->n;
  if ((n & (n - 1)) == 0) {
    size_t cap = n ? n * 2 : 4;
    yval **items = core_realloc(parent->items, cap * sizeof *items);
    if (!items) return WIRE_ENOMEM;
    parent->items = items;
    if (parent->kind == Y_MAP) {
      yval **keys = core_realloc(parent->keys, cap * sizeof *keys);
      if (!keys) return WIRE_ENOMEM;
      parent->keys = keys;
    }
  }
  if (parent->kind == Y_MAP) parent->keys[n] = key;
  parent->items[n] = val;
  parent->n = n + 1;
  return WIRE_OK;
}

/* Tags: the YAML core ones are accepted ("!!str 5" is the string "5"),
 * local ones ("!include") would change the meaning of the document in ways
 * this loader does not implement, so they are refused. */
static void check_tag(parser_state *ps, const yaml_char_t *tag,
                      const yaml_mark_t *m) {
  if (!tag) return;
  const char *t = (const char *)tag;
  if (!strcmp(t, "!") || !strncmp(t, "tag:yaml.org,2002:", 18)) return;
  char shown[80];
  problem(ps, (int)m->line + 1, (int)m->column + 1,
          "YAML tag '%s' is not supported in pipeline definitions",
          cfg_show(shown, sizeof shown, t, strlen(t)));
}

static bool tag_is_string(const yaml_char_t *tag) {
  if (!tag) return false;
  const char *t = (const char *)tag;
  if (!strcmp(t, "!")) return true;
  if (strncmp(t, "tag:yaml.org,2002:", 18)) return false;
  t += 18;
  return strcmp(t, "int") && strcmp(t, "float") && strcmp(t, "bool") &&
         strcmp(t, "null");
}

static void anchor_refused(parser_state *ps, const yaml_mark_t *m) {
  problem(ps, (int)m->line + 1, (int)m->column + 1,
          "YAML anchors are not supported in pipeline definitions");
}

/* Duplicate keys of a finished mapping: reported at every repetition, with
 * the line of the first.  Large mappings sort an index (a stable merge sort,
 * so the first of equal keys stays first) instead of comparing all pairs. */
static int key_cmp(const yval *x, const yval *y) {
  size_t l = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->str, y->str, l);
  if (c) return c;
  return x->len < y->len ? -1 : x->len > y->len;
}

static void merge_sort(size_t *a, size_t *tmp, size_t n, yval *const *keys) {
  if (n < 2) return;
  size_t h = n / 2;
  merge_sort(a, tmp, h, keys);
  merge_sort(a + h, tmp, n - h, keys);
  size_t i = 0, j = h, k = 0;
  while (i < h && j < n)
    tmp[k++] = key_cmp(keys[a[j]], keys[a[i]]) < 0 ? a[j++] : a[i++];
  while (i < h) tmp[k++] = a[i++];
  while (j < n) tmp[k++] = a[j++];
  memcpy(a, tmp, n * sizeof *a);
}

static void report_dup(parser_state *ps, const yval *first,
                       const yval *again) {
  char shown[80];
  problem(ps, again->line, again->col, "duplicate key '%s' (first at line %d)",
          cfg_show(shown, sizeof shown, again->str, again->len), first->line);
}

static bool same_key(const yval *a, const yval *b) {
  return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
}

static void check_duplicates(parser_state *ps, const yval *map) {
  size_t n = map->n;
  if (n < 2) return;
  if (n <= 16) {
    for (size_t i = 1; i < n; i++)
      for (size_t j = 0; j < i; j++)
        if (same_key(map->keys[i], map->keys[j])) {
          report_dup(ps, map->keys[j], map->keys[i]);
          break;
        }
    return;
  }
  size_t *idx = core_malloc(2 * n * sizeof *idx);
  if (!idx) {
    ps->rc = WIRE_ENOMEM;
    return;
  }
  for (size_t i = 0; i < n; i++) idx[i] = i;
  merge_sort(idx, idx + n, n, map->keys);
  for (size_t i = 1, first = 0; i < n; i++) {
    if (same_key(map->keys[idx[i]], map->keys[idx[first]]))
      report_dup(ps, map->keys[idx[first]], map->keys[idx[i]]);
    else
      first = i;
  }
  core_free(idx);
}

/* Attach a finished value to the open container (or make it the root). */
static void attach(parser_state *ps, yval *v) {
  if (ps->depth == 0) {
    ps->root = v;
    return;
  }
  frame *f = &ps->stack[ps->depth - 1];
  if (f->node->kind == Y_SEQ) {
    if (push_child(f->node, NULL, v)) {
      yval_free(v);
      ps->rc = WIRE_ENOMEM;
    }
    return;
  }
  if (!f->key) {
    if (v->kind != Y_SCALAR) {
      problem(ps, v->line, v->col,
              "mapping keys must be scalars, got %s", yval_kind_name(v));
      yval_free(v);
      ps->rc = WIRE_ECONFIG;
      return;
    }
    if (strlen(v->str) != v->len)
      problem(ps, v->line, v->col, "mapping keys must not contain NUL");
    f->key = v;
    return;
  }
  if (push_child(f->node, f->key, v)) {
    yval_free(v);
    yval_free(f->key);
    ps->rc = WIRE_ENOMEM;
  }
  f->key = NULL;
}

static yval *scalar_new(const yaml_mark_t *m, const char *text, size_t len,
                        bool plain) {
  yval *v = node_new(Y_SCALAR, m);
  if (!v) return NULL;
  v->len = len;
  v->str = core_strndup(text, len);
  if (!v->str) {
    core_free(v);
    return NULL;
  }
  v->plain = plain;
  return v;
}

/* Handle one event.  Returns 0 to go on, 1 at the end of the first
 * document, -1 to stop (ps->rc says why). */
static int on_event(parser_state *ps, const yaml_event_t *ev) {
  const yaml_mark_t *m = &ev->start_mark;
  yval *v = NULL;
  switch (ev->type) {
    case YAML_DOCUMENT_END_EVENT:
    case YAML_STREAM_END_EVENT:
      return 1;
    case YAML_ALIAS_EVENT: {
      problem(ps, (int)m->line + 1, (int)m->column + 1,
              "YAML aliases are not supported in pipeline definitions");
      /* Stand in a null so that the structure stays whole and parsing can
       * report further problems. */
      v = scalar_new(m, "", 0, true);
      if (!v) return ps->rc = WIRE_ENOMEM, -1;
      break;
    }
    case YAML_SCALAR_EVENT: {
      const yaml_char_t *tag = ev->data.scalar.tag;
      if (ev->data.scalar.anchor) anchor_refused(ps, m);
      check_tag(ps, tag, m);
      /* A core tag decides how the text reads ("!!str 5" is a string,
       * "!!int '5'" a number); untagged, plain style may be a number. */
      bool plain = tag ? !tag_is_string(tag)
                       : ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
      v = scalar_new(m, (const char *)ev->data.scalar.value,
                     ev->data.scalar.length, plain);
      if (!v) return ps->rc = WIRE_ENOMEM, -1;
      break;
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
      bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
      if (seq ? ev->data.sequence_start.anchor != NULL
              : ev->data.mapping_start.anchor != NULL)
        anchor_refused(ps, m);
      check_tag(ps,
                seq ? ev->data.sequence_start.tag : ev->data.mapping_start.tag,
                m);
      if (ps->depth >= YAML_MAX_DEPTH) {
        problem(ps, (int)m->line + 1, (int)m->column + 1,
                "nesting deeper than %d levels", YAML_MAX_DEPTH);
        ps->rc = WIRE_ECONFIG;
        return -1;
      }
      if (ps->depth == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 16;
        frame *s = core_realloc(ps->stack, cap * sizeof *s);
        if (!s) return ps->rc = WIRE_ENOMEM, -1;
        ps->stack = s;
        ps->cap = cap;
      }
      yval *c = node_new(seq ? Y_SEQ : Y_MAP, m);
      if (!c) return ps->rc = WIRE_ENOMEM, -1;
      ps->stack[ps->depth++] = (frame){c, NULL};
      return 0;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
      if (ps->depth == 0) return 0; /* cannot happen with libyaml */
      v = ps->stack[--ps->depth].node;
      yval_free(ps->stack[ps->depth].key); /* none when well formed */
      if (v->kind == Y_MAP) check_duplicates(ps, v);
      break;
    default: /* stream and document start */
      return 0;
  }
  attach(ps, v);
  return ps->rc == WIRE_OK ? 0 : -1;
}

/* Position of a reader error (bad encoding), which libyaml gives as a byte
 * offset only. */
static void offset_position(const char *text, size_t len, size_t off,
                            int *line, int *col) {
  *line = 1;
  *col = 1;
  for (size_t i = 0; i < off && i < len; i++) {
    if (text[i] == '\n') {
      ++*line;
      *col = 1;
    } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
      ++*col; /* count characters, not UTF-8 continuation bytes */
    }
  }
}

static void syntax_error(parser_state *ps, const yaml_parser_t *p,
                         const char *text, size_t len) {
  if (p->error == YAML_MEMORY_ERROR) {
    ps->rc = WIRE_ENOMEM;
    return;
  }
  ps->rc = WIRE_ECONFIG;
  const char *what = p->problem ? p->problem : "invalid YAML";
  if (p->error == YAML_READER_ERROR) {
    int line, col;
    offset_position(text, len, p->problem_offset, &line, &col);
    if (p->problem_value >= 0)
      problem(ps, line, col, "YAML syntax error: %s (byte 0x%02X)", what,
              (unsigned)p->problem_value & 0xFF);
    else
      problem(ps, line, col, "YAML syntax error: %s", what);
    return;
  }
  int line = (int)p->problem_mark.line + 1;
  int col = (int)p->problem_mark.column + 1;
  if (p->context)
    problem(ps, line, col, "YAML syntax error: %s (%s at line %d, column %d)",
            what, p->context,
            (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
  else
    problem(ps, line, col, "YAML syntax error: %s", what);
}

yval *yval_parse_ex(const char *text, size_t len, const char *file,
                    diag_list *d, int *rc) {
  int dummy;
  if (!rc) rc = &dummy;
  if (!text) text = "", len = 0;
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) {
    *rc = WIRE_ENOMEM;
    return NULL;
  }
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  parser_state ps = {.file = file, .d = d, .rc = WIRE_OK};
  for (;;) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&parser, &ev)) {
      syntax_error(&ps, &parser, text, len);
      break;
    }
    int r = on_event(&ps, &ev);
    yaml_event_delete(&ev);
    if (r) break;
  }
  yaml_parser_delete(&parser);
  /* Containers still open were never attached to their parents, so freeing
   * every frame (and its pending key) releases all of them. */
  for (size_t i = 0; i < ps.depth; i++) {
    yval_free(ps.stack[i].key);
    yval_free(ps.stack[i].node);
  }
  core_free(ps.stack);
  if (ps.rc != WIRE_OK || ps.depth) {
    yval_free(ps.root);
    *rc = ps.rc != WIRE_OK ? ps.rc : WIRE_ECONFIG;
    return NULL;
  }
  *rc = WIRE_OK;
  return ps.root;
}

yval *yval_parse(const char *text, size_t len, const char *file,
                 diag_list *d) {
  int rc;
  yval *v = yval_parse_ex(text, len, file, d, &rc);
  if (!v && rc == WIRE_OK)
    diag_add(d, file, 1, 1, "empty pipeline definition");
  return v;
}

/* ---- YAML 1.2 core schema ------------------------------------------------- */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* 0x... or 0o... into an unsigned value.  WIRE_OK, WIRE_EINVAL when `s` is
 * not of that form, WIRE_ETOOBIG on overflow. */
static int based_uint(const char *s, uint64_t *out) {
  if (s[0] != '0' || (s[1] != 'x' && s[1] != 'o') || !s[2]) return WIRE_EINVAL;
  unsigned base = s[1] == 'x' ? 16 : 8;
  uint64_t v = 0;
  bool big = false;
  for (const char *p = s + 2; *p; p++) {
    int d = hex_value(*p);
    if (d < 0 || (unsigned)d >= base) return WIRE_EINVAL;
    if (v > (UINT64_MAX - (unsigned)d) / base) big = true;
    v = v * base + (unsigned)d;
  }
  if (big) return WIRE_ETOOBIG;
  *out = v;
  return WIRE_OK;
}

int yval_text_int(const char *s, int64_t *out) {
  if (!s || !*s) return WIRE_EINVAL;
  uint64_t u;
  int rc = based_uint(s, &u);
  if (rc != WIRE_EINVAL) {
    if (rc == WIRE_OK && u > (uint64_t)INT64_MAX) rc = WIRE_ETOOBIG;
    if (rc == WIRE_OK) *out = (int64_t)u;
    return rc;
  }
  const char *p = s;
  bool neg = *p == '-';
  if (*p == '-' || *p == '+') p++;
  if (!*p) return WIRE_EINVAL;
  uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  bool big = false;
  for (; *p; p++) {
    if (!is_digit(*p)) return WIRE_EINVAL;
    unsigned d = (unsigned)(*p - '0');
    if (v > (limit - d) / 10) big = true;
    else v = v * 10 + d;
  }
  if (big) return WIRE_ETOOBIG;
  *out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v)
             : (int64_t)v;
  return WIRE_OK;
}

/* The float grammar of the core schema, without .inf/.nan:
 * [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool float_syntax(const char *s) {
  const char *p = s;
  if (*p == '-' || *p == '+') p++;
  size_t ndig = 0;
  while (is_digit(*p)) p++, ndig++;
  if (*p == '.') {
    p++;
    size_t nfrac = 0;
    while (is_digit(*p)) p++, nfrac++;
    if (!ndig && !nfrac) return false;
  } else if (!ndig) {
    return false;
  }
  if (*p == 'e' || *p == 'E') {
    p++;
    if (*p == '-' || *p == '+') p++;
    if (!is_digit(*p)) return false;
    while (is_digit(*p)) p++;
  }
  return *p == '\0';
}

bool yval_text_double(const char *s, double *out) {
  if (!s || !*s) return false;
  int64_t i;
  int rc = yval_text_int(s, &i);
  if (rc == WIRE_OK) {
    *out = (double)i;
    return true;
  }
  if (!float_syntax(s)) return false; /* also big integers: strtod below */
  errno = 0;
  char *end;
  double v = strtod(s, &end);
  if (*end || errno == ERANGE || !isfinite(v)) return false;
  *out = v;
  return true;
}

bool yval_text_bool(const char *s, bool *out) {
  if (!s) return false;
  if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
    return *out = true, true;
  if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
    return *out = false, true;
  return false;
}

static bool null_text(const char *s) {
  return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
         !strcmp(s, "NULL");
}

bool yval_is_null(const yval *v) {
  return v && v->kind == Y_SCALAR && v->plain && strlen(v->str) == v->len &&
         null_text(v->str);
}

/* ---- JSON rendering ----------------------------------------------------- */

/* A decimal integer or float of the core schema rewritten in JSON's
 * stricter number grammar: no '+', no leading zeros, digits around '.'. */
static int json_number(core_buf *b, const char *s) {
  const char *p = s;
  if (*p == '-' && core_buf_putc(b, '-')) return WIRE_ENOMEM;
  if (*p == '-' || *p == '+') p++;
  const char *ip = p;
  while (is_digit(*p)) p++;
  const char *ie = p;
  while (ip + 1 < ie && *ip == '0') ip++;
  if (ip == ie ? core_buf_putc(b, '0') : core_buf_append(b, ip, (size_t)(ie - ip)))
    return WIRE_ENOMEM;
  if (*p == '.') {
    const char *fp = ++p;
    while (is_digit(*p)) p++;
    if (core_buf_putc(b, '.')) return WIRE_ENOMEM;
    if (p == fp ? core_buf_putc(b, '0') : core_buf_append(b, fp, (size_t)(p - fp)))
      return WIRE_ENOMEM;
  }
  /* The exponent ([eE][-+]?[0-9]+) is valid JSON as written. */
  return core_buf_append(b, p, strlen(p));
}

static int scalar_json(core_buf *b, const yval *v) {
  const char *s = v->str;
  if (v->plain && strlen(s) == v->len) {
    bool bv;
    if (null_text(s)) return core_buf_append(b, "null", 4);
    if (yval_text_bool(s, &bv))
      return bv ? core_buf_append(b, "true", 4) : core_buf_append(b, "false", 5);
    uint64_t u;
    int rc = based_uint(s, &u);
    if (rc == WIRE_OK) return core_buf_printf(b, "%llu", (unsigned long long)u);
    /* Integers of any size and floats; .inf and .nan have no JSON form and
     * stay strings, as do 0x/0o integers beyond 64 bits. */
    if (rc == WIRE_EINVAL && float_syntax(s)) return json_number(b, s);
  }
  return core_buf_json_string(b, s, v->len);
}

static int to_json(const yval *v, core_buf *b) {
  switch (v->kind) {
    case Y_SCALAR:
      return scalar_json(b, v);
    case Y_SEQ:
      if (core_buf_putc(b, '[')) return WIRE_ENOMEM;
      for (size_t i = 0; i < v->n; i++) {
        if (i && core_buf_putc(b, ',')) return WIRE_ENOMEM;
        if (to_json(v->items[i], b)) return WIRE_ENOMEM;
      }
      return core_buf_putc(b, ']');
    case Y_MAP:
      if (core_buf_putc(b, '{')) return WIRE_ENOMEM;
      for (size_t i = 0; i < v->n; i++) {
        if (i && core_buf_putc(b, ',')) return WIRE_ENOMEM;
        if (core_buf_json_string(b, v->keys[i]->str, v->keys[i]->len) ||
            core_buf_putc(b, ':') || to_json(v->items[i], b))
          return WIRE_ENOMEM;
      }
      return core_buf_putc(b, '}');
  }
  return WIRE_EINVAL;
}

char *yval_to_json(const yval *v) {
  if (!v) return NULL;
  core_buf b = {0};
  if (to_json(v, &b) != WIRE_OK) {
    core_buf_free(&b);
    return NULL;
  }
  return b.data;
}
