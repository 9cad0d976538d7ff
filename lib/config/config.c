/*
 * Diagnostics and component options (config layer).  A component's option
 * table (wire_option) drives validation of a DAG node's YAML mapping
 * (unknown keys with a did-you-mean, missing required keys, types, bounds,
 * enums) and the typed wire_config_* getters, which apply the defaults.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/spec.h"
#include "core/core.h"

/* ---- diagnostics ----------------------------------------------------- */

void diag_vadd(diag_list *d, const char *file, int line, int col,
               const char *fmt, va_list ap) {
  if (d->n == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 8;
    wire_diag *v = core_realloc(d->v, cap * sizeof *v);
    if (!v) return;
    d->v = v;
    d->cap = cap;
  }
  char msg[1024];
  vsnprintf(msg, sizeof msg, fmt, ap);
  char *m = core_strdup(msg);
  char *f = core_strdup(file ? file : "<pipeline>");
  if (!m || !f) {
    core_free(m);
    core_free(f);
    return;
  }
  d->v[d->n++] = (wire_diag){.file = f, .line = line, .col = col, .message = m};
}

void diag_add(diag_list *d, const char *file, int line, int col,
              const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_vadd(d, file, line, col, fmt, ap);
  va_end(ap);
}

void diag_clear(diag_list *d) {
  for (size_t i = 0; i < d->n; i++) {
    core_free((char *)d->v[i].file);
    core_free((char *)d->v[i].message);
  }
  core_free(d->v);
  d->v = NULL;
  d->n = d->cap = 0;
}

void diag_sort(diag_list *d) { /* insertion sort: stable, lists are short */
  for (size_t i = 1; i < d->n; i++) {
    wire_diag x = d->v[i];
    size_t j = i;
    while (j > 0 && (d->v[j - 1].line > x.line ||
                     (d->v[j - 1].line == x.line && d->v[j - 1].col > x.col))) {
      d->v[j] = d->v[j - 1];
      j--;
    }
    d->v[j] = x;
  }
}

/* ---- did you mean ------------------------------------------------------- */

size_t cfg_edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64) return 99;
  size_t row[65];
  for (size_t j = 0; j <= lb; j++) row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t prev = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t cur = row[j];
      size_t sub = prev + (a[i - 1] != b[j - 1]);
      size_t del = row[j] + 1, ins = row[j - 1] + 1;
      row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
      prev = cur;
    }
  }
  return row[lb];
}

/* ---- typed scalar parsing -------------------------------------------------- */

static bool parse_int(const char *s, int64_t *out) {
  if (!*s) return false;
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || *end) return false;
  *out = v;
  return true;
}

static bool parse_double(const char *s, double *out) {
  if (!*s) return false;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || *end || !isfinite(v)) return false;
  *out = v;
  return true;
}

static bool parse_bool(const char *s, bool *out) {
  if (!strcmp(s, "true")) return *out = true, true;
  if (!strcmp(s, "false")) return *out = false, true;
  return false;
}

static bool enum_has(const char *choices, const char *s) {
  size_t n = strlen(s);
  for (const char *p = choices; p && *p;) {
    const char *bar = strchr(p, '|');
    size_t l = bar ? (size_t)(bar - p) : strlen(p);
    if (l == n && strncmp(p, s, n) == 0) return true;
    p = bar ? bar + 1 : NULL;
  }
  return false;
}

static const wire_option *find_opt(const wire_option *t, const char *key) {
  for (; t && t->key; t++)
    if (strcmp(t->key, key) == 0) return t;
  return NULL;
}

/* Options that are not component options. */
static bool reserved_key(const char *k) {
  return !strcmp(k, "id") || !strcmp(k, "type") || !strcmp(k, "inputs");
}

static const char *kind_word(wire_node_kind k) {
  return k == WIRE_NODE_SOURCE ? "source" : k == WIRE_NODE_SINK ? "sink"
                                                                 : "operation";
}

/* Validate one option value against its declaration. */
static void check_value(spec *s, const wire_option *o, const yval *v) {
  const char *f = s->file;
  switch (o->type) {
    case WIRE_OPT_STRING:
    case WIRE_OPT_INT:
    case WIRE_OPT_DOUBLE:
    case WIRE_OPT_BOOL:
    case WIRE_OPT_ENUM:
      if (v->kind != Y_SCALAR) {
        diag_add(&s->diags, f, v->line, v->col,
                 "option '%s' must be a scalar, got %s", o->key,
                 yval_kind_name(v));
        return;
      }
      break;
    case WIRE_OPT_LIST:
      if (v->kind == Y_MAP) {
        diag_add(&s->diags, f, v->line, v->col,
                 "option '%s' must be a list, got a mapping", o->key);
        return;
      }
      for (size_t i = 0; v->kind == Y_SEQ && i < v->n; i++)
        if (v->items[i]->kind != Y_SCALAR)
          diag_add(&s->diags, f, v->items[i]->line, v->items[i]->col,
                   "items of option '%s' must be scalars", o->key);
      return;
    case WIRE_OPT_MAP:
      if (v->kind != Y_MAP) {
        diag_add(&s->diags, f, v->line, v->col,
                 "option '%s' must be a mapping, got %s", o->key,
                 yval_kind_name(v));
        return;
      }
      for (size_t i = 0; i < v->n; i++)
        if (v->items[i]->kind != Y_SCALAR)
          diag_add(&s->diags, f, v->items[i]->line, v->items[i]->col,
                   "values of option '%s' must be scalars", o->key);
      return;
    case WIRE_OPT_ANY:
      return;
  }
  const char *str = v->str;
  int64_t i;
  double dv;
  bool b;
  switch (o->type) {
    case WIRE_OPT_INT:
      if (!parse_int(str, &i))
        diag_add(&s->diags, f, v->line, v->col,
                 "option '%s' must be an integer, got \"%s\"", o->key, str);
      else if (o->min < o->max && (i < o->min || i > o->max))
        diag_add(&s->diags, f, v->line, v->col,
                 "option '%s' must be between %lld and %lld, got %lld", o->key,
                 (long long)o->min, (long long)o->max, (long long)i);
      break;
    case WIRE_OPT_DOUBLE:
      if (!parse_double(str, &dv))
        diag_add(&s->diags, f, v->line, v->col,
                 "option '%s' must be a number, got \"%s\"", o->key, str);
      break;
    case WIRE_OPT_BOOL:
      if (!parse_bool(str, &b))
        diag_add(&s->diags, f, v->line, v->col,
                 "option '%s' must be true or false, got \"%s\"", o->key, str);
      break;
    case WIRE_OPT_ENUM:
      if (!enum_has(o->choices, str))
        diag_add(&s->diags, f, v->line, v->col,
                 "option '%s' must be one of %s, got \"%s\"", o->key,
                 o->choices ? o->choices : "", str);
      break;
    default:
      break;
  }
}

int cfg_check_options(spec *s, spec_node *n, const wire_option *table) {
  size_t before = s->diags.n;
  const yval *m = n->map;
  for (size_t i = 0; m && i < m->n; i++) {
    const char *k = m->keys[i]->str;
    if (reserved_key(k)) continue;
    const wire_option *o = find_opt(table, k);
    if (!o) {
      const char *best = NULL;
      size_t bd = 3;
      for (const wire_option *t = table; t && t->key; t++) {
        size_t dd = cfg_edit_distance(k, t->key);
        if (dd < bd) bd = dd, best = t->key;
      }
      if (best)
        diag_add(&s->diags, s->file, m->keys[i]->line, m->keys[i]->col,
                 "unknown option '%s' for %s type '%s' (did you mean '%s'?)",
                 k, kind_word(n->kind), n->type, best);
      else
        diag_add(&s->diags, s->file, m->keys[i]->line, m->keys[i]->col,
                 "unknown option '%s' for %s type '%s'", k, kind_word(n->kind),
                 n->type);
      continue;
    }
    check_value(s, o, m->items[i]);
  }
  for (const wire_option *t = table; t && t->key; t++)
    if (t->required && !yval_get(m, t->key))
      diag_add(&s->diags, s->file, n->line, n->col,
               "%s '%s' (%s): missing required option '%s'", kind_word(n->kind),
               n->id, n->type, t->key);
  return s->diags.n == before ? WIRE_OK : WIRE_ECONFIG;
}

/* ---- wire_config getters ------------------------------------------------------- */

/* The option's text: as written, else its default; NULL when neither. */
static const yval *opt_val(const wire_config *cfg, const char *key) {
  if (!cfg || !cfg->node || reserved_key(key)) return NULL;
  return yval_get(cfg->node->map, key);
}

static const char *opt_text(const wire_config *cfg, const char *key) {
  const yval *v = opt_val(cfg, key);
  if (v) return v->kind == Y_SCALAR ? v->str : NULL;
  const wire_option *o = find_opt(cfg ? cfg->table : NULL, key);
  return o ? o->def : NULL;
}

WIRE_API const char *wire_config_id(const wire_config *cfg) {
  return cfg && cfg->node ? cfg->node->id : "";
}

WIRE_API const char *wire_config_type(const wire_config *cfg) {
  return cfg && cfg->node ? cfg->node->type : "";
}

WIRE_API bool wire_config_has(const wire_config *cfg, const char *key) {
  return opt_val(cfg, key) != NULL;
}

WIRE_API int wire_config_string(const wire_config *cfg, const char *key,
                                const char **out) {
  const yval *v = opt_val(cfg, key);
  if (v && v->kind != Y_SCALAR) return WIRE_EINVAL;
  const char *t = opt_text(cfg, key);
  if (!t) return WIRE_ENOTFOUND;
  *out = t;
  return WIRE_OK;
}

WIRE_API int wire_config_int(const wire_config *cfg, const char *key,
                             int64_t *out) {
  const char *t = opt_text(cfg, key);
  if (!t) return WIRE_ENOTFOUND;
  return parse_int(t, out) ? WIRE_OK : WIRE_EINVAL;
}

WIRE_API int wire_config_double(const wire_config *cfg, const char *key,
                                double *out) {
  const char *t = opt_text(cfg, key);
  if (!t) return WIRE_ENOTFOUND;
  return parse_double(t, out) ? WIRE_OK : WIRE_EINVAL;
}

WIRE_API int wire_config_bool(const wire_config *cfg, const char *key,
                              bool *out) {
  const char *t = opt_text(cfg, key);
  if (!t) return WIRE_ENOTFOUND;
  return parse_bool(t, out) ? WIRE_OK : WIRE_EINVAL;
}

WIRE_API size_t wire_config_list_count(const wire_config *cfg,
                                       const char *key) {
  const yval *v = opt_val(cfg, key);
  if (!v) return 0;
  return v->kind == Y_SEQ ? v->n : v->kind == Y_SCALAR ? 1 : 0;
}

WIRE_API const char *wire_config_list_item(const wire_config *cfg,
                                           const char *key, size_t i) {
  const yval *v = opt_val(cfg, key);
  if (!v) return NULL;
  if (v->kind == Y_SCALAR) return i == 0 ? v->str : NULL;
  if (v->kind != Y_SEQ || i >= v->n || v->items[i]->kind != Y_SCALAR)
    return NULL;
  return v->items[i]->str;
}

WIRE_API size_t wire_config_map_count(const wire_config *cfg,
                                      const char *key) {
  const yval *v = opt_val(cfg, key);
  return v && v->kind == Y_MAP ? v->n : 0;
}

/* JSON renderings are cached on the node (owned by the spec) so that the
 * returned pointers live as long as the pipeline. */
static const char *cache_json(const wire_config *cfg, const yval *v) {
  spec_node *n = cfg->node;
  for (size_t i = 0; i < n->njson; i++)
    if (n->json_src[i] == v) return n->json[i];
  char *j = yval_to_json(v);
  if (!j) return NULL;
  char **a = core_realloc(n->json, (n->njson + 1) * sizeof *a);
  const yval **b = a ? core_realloc(n->json_src, (n->njson + 1) * sizeof *b)
                     : NULL;
  if (a) n->json = a;
  if (!b) {
    core_free(j);
    return NULL;
  }
  n->json_src = b;
  n->json[n->njson] = j;
  n->json_src[n->njson++] = v;
  return j;
}

WIRE_API int wire_config_map_item(const wire_config *cfg, const char *key,
                                  size_t i, const char **name,
                                  const char **value_text,
                                  const char **value_json) {
  const yval *v = opt_val(cfg, key);
  if (!v || v->kind != Y_MAP || i >= v->n) return WIRE_ENOTFOUND;
  if (name) *name = v->keys[i]->str;
  if (value_text)
    *value_text = v->items[i]->kind == Y_SCALAR ? v->items[i]->str : NULL;
  if (value_json) {
    *value_json = cache_json(cfg, v->items[i]);
    if (!*value_json) return WIRE_ENOMEM;
  }
  return WIRE_OK;
}

WIRE_API const char *wire_config_json(const wire_config *cfg, const char *key) {
  const yval *v = opt_val(cfg, key);
  return v ? cache_json(cfg, v) : NULL;
}

WIRE_API int wire_config_error(const wire_config *cfg, const char *key,
                               const char *fmt, ...) {
  if (!cfg || !cfg->s || !cfg->node) return WIRE_ECONFIG;
  const yval *v = key ? opt_val(cfg, key) : NULL;
  int line = v ? v->line : cfg->node->line, col = v ? v->col : cfg->node->col;
  char msg[900];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  diag_add(&cfg->s->diags, cfg->s->file, line, col, "%s '%s': %s",
           kind_word(cfg->node->kind), cfg->node->id, msg);
  return WIRE_ECONFIG;
}
