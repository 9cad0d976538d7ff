/*
 * Diagnostics and component options (config layer).  A component's option
 * table (wire_option) drives the validation of a DAG node's YAML mapping
 * (unknown keys with a did-you-mean, missing required keys, types, bounds,
 * enums) and the typed wire_config_* getters, which apply the defaults.
 *
 * Scalars read by the YAML 1.2 core schema (yaml.c): booleans are
 * true/false (not yes/no/on/off), integers decimal, 0x or 0o.  After a
 * successful validation a node's defaults and the JSON renderings of its
 * options are built up front (cfg_prepare), so the getters only read and may
 * be called from any thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/spec.h"
#include "core/core.h"

/* ---- diagnostics ----------------------------------------------------- */

void diag_vadd(diag_list *d, const char *file, int line, int col,
               const char *fmt, va_list ap) {
  if (!d) return;
  if (d->n == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 8;
    wire_diag *v = core_realloc(d->v, cap * sizeof *v);
    if (!v) {
      d->oom = true;
      return;
    }
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
    d->oom = true;
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
  d->oom = false;
}

static bool diag_before(const wire_diag *a, const wire_diag *b) {
  return a->line < b->line || (a->line == b->line && a->col < b->col);
}

/* Stable sort by position: merge sort with a scratch array, falling back to
 * insertion sort when that cannot be allocated. */
void diag_sort(diag_list *d) {
  size_t n = d->n;
  if (n < 2) return;
  wire_diag *tmp = n > 32 ? core_malloc(n * sizeof *tmp) : NULL;
  if (!tmp) {
    for (size_t i = 1; i < n; i++) {
      wire_diag x = d->v[i];
      size_t j = i;
      while (j > 0 && diag_before(&x, &d->v[j - 1])) {
        d->v[j] = d->v[j - 1];
        j--;
      }
      d->v[j] = x;
    }
    return;
  }
  wire_diag *a = d->v, *b = tmp;
  for (size_t w = 1; w < n; w *= 2) {
    for (size_t lo = 0; lo < n; lo += 2 * w) {
      size_t mid = WIRE_MIN(lo + w, n), hi = WIRE_MIN(lo + 2 * w, n);
      size_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) b[k++] = diag_before(&a[j], &a[i]) ? a[j++] : a[i++];
      while (i < mid) b[k++] = a[i++];
      while (j < hi) b[k++] = a[j++];
    }
    wire_diag *t = a;
    a = b;
    b = t;
  }
  if (a != d->v) memcpy(d->v, a, n * sizeof *a);
  core_free(tmp);
}

const char *cfg_show(char *buf, size_t size, const char *s, size_t len) {
  static const char hex[] = "0123456789abcdef";
  size_t o = 0, shown = 0;
  if (!size) return buf;
  for (size_t i = 0; s && i < len;) {
    /* One character: an escape, or a whole UTF-8 sequence. */
    unsigned char c = (unsigned char)s[i];
    char e[8];
    size_t el = 0, take = 1;
    if (c == '\n') e[el++] = '\\', e[el++] = 'n';
    else if (c == '\t') e[el++] = '\\', e[el++] = 't';
    else if (c == '"' || c == '\\') e[el++] = '\\', e[el++] = (char)c;
    else if (c < 0x20 || c == 0x7f)
      e[el++] = '\\', e[el++] = 'x', e[el++] = hex[c >> 4], e[el++] = hex[c & 15];
    else {
      take = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
      for (size_t k = 0; k < take && i + k < len; k++) e[el++] = s[i + k];
      take = el;
    }
    /* Keep room for "..." and the NUL; cut at about 60 characters. */
    if (shown >= 60 || o + el + 4 > size) {
      if (o + 4 <= size) memcpy(buf + o, "...", 3), o += 3;
      break;
    }
    memcpy(buf + o, e, el);
    o += el;
    i += take;
    shown++;
  }
  buf[o] = '\0';
  return buf;
}

const char *spec_kind_name(wire_node_kind kind) {
  return kind == WIRE_NODE_SOURCE ? "source"
         : kind == WIRE_NODE_SINK ? "sink"
                                  : "operation";
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
      row[j] = WIRE_MIN(sub, WIRE_MIN(del, ins));
      prev = cur;
    }
  }
  return row[lb];
}

/* ---- validation of a node's options -------------------------------------- */

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
  for (; t && t->key && key; t++)
    if (strcmp(t->key, key) == 0) return t;
  return NULL;
}

/* Keys of a node mapping that are not component options. */
static bool reserved_key(const char *k) {
  return !strcmp(k, "id") || !strcmp(k, "type") || !strcmp(k, "inputs");
}

static bool has_nul(const yval *v) { return strlen(v->str) != v->len; }

/* A diagnostic about one of node n's options.  Nodes added through the C
 * API have no file of their own, so their messages name the node. */
static void opt_diag(spec *s, const spec_node *n, int line, int col,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void opt_diag(spec *s, const spec_node *n, int line, int col,
                     const char *fmt, ...) {
  char msg[900];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (n->api)
    diag_add(&s->diags, s->file, line, col, "%s '%s': %s",
             spec_kind_name(n->kind), n->id, msg);
  else
    diag_add(&s->diags, s->file, line, col, "%s", msg);
}

static bool yaml11_bool(const char *s) {
  static const char *const w[] = {"yes", "no", "on", "off", "y", "n"};
  for (size_t i = 0; i < WIRE_ARRAY_SIZE(w); i++)
    if (!strcasecmp(s, w[i])) return true;
  return false;
}

/* Check one scalar against a scalar type; *why gets the message tail. */
static bool scalar_fits(const wire_option *o, const yval *v, char *why,
                        size_t size) {
  char shown[96];
  cfg_show(shown, sizeof shown, v->str, v->len);
  int64_t i;
  double dv;
  bool b;
  switch (o->type) {
    case WIRE_OPT_INT: {
      int rc = yval_text_int(v->str, &i);
      if (rc == WIRE_ETOOBIG) {
        snprintf(why, size, "must be an integer within 64 bits, got \"%s\"",
                 shown);
        return false;
      }
      if (rc != WIRE_OK) {
        snprintf(why, size, "must be an integer, got \"%s\"", shown);
        return false;
      }
      if (o->min < o->max && (i < o->min || i > o->max)) {
        snprintf(why, size, "must be between %lld and %lld, got %lld",
                 (long long)o->min, (long long)o->max, (long long)i);
        return false;
      }
      return true;
    }
    case WIRE_OPT_DOUBLE:
      if (yval_text_double(v->str, &dv)) return true;
      snprintf(why, size, "must be a number, got \"%s\"", shown);
      return false;
    case WIRE_OPT_BOOL:
      if (yval_text_bool(v->str, &b)) return true;
      snprintf(why, size, "must be true or false, got \"%s\"%s", shown,
               yaml11_bool(v->str) ? " (YAML 1.2: yes/no/on/off are not "
                                     "booleans)"
                                   : "");
      return false;
    case WIRE_OPT_ENUM:
      if (!has_nul(v) && enum_has(o->choices, v->str)) return true;
      snprintf(why, size, "must be one of %s, got \"%s\"",
               o->choices ? o->choices : "(none)", shown);
      return false;
    case WIRE_OPT_STRING:
      if (!has_nul(v)) return true;
      snprintf(why, size, "must not contain NUL characters");
      return false;
    default:
      return true;
  }
}

/* Validate one option value (`key` is its key in the mapping). */
static void check_value(spec *s, const spec_node *n, const wire_option *o,
                        const yval *key, const yval *v) {
  char why[600];
  if (o->type != WIRE_OPT_ANY && yval_is_null(v) &&
      !(o->type == WIRE_OPT_ENUM && enum_has(o->choices, v->str))) {
    /* `path:` with nothing after it: point at the key, the empty value has
     * no useful position of its own. */
    opt_diag(s, n, key->line, key->col, "option '%s' has no value", o->key);
    return;
  }
  switch (o->type) {
    case WIRE_OPT_STRING:
    case WIRE_OPT_INT:
    case WIRE_OPT_DOUBLE:
    case WIRE_OPT_BOOL:
    case WIRE_OPT_ENUM:
      if (v->kind != Y_SCALAR)
        opt_diag(s, n, v->line, v->col, "option '%s' must be a scalar, got %s",
                 o->key, yval_kind_name(v));
      else if (!scalar_fits(o, v, why, sizeof why))
        opt_diag(s, n, v->line, v->col, "option '%s' %s", o->key, why);
      return;
    case WIRE_OPT_LIST:
      if (v->kind == Y_MAP) {
        opt_diag(s, n, v->line, v->col,
                 "option '%s' must be a list, got a mapping", o->key);
        return;
      }
      if (v->kind == Y_SCALAR) {
        if (has_nul(v))
          opt_diag(s, n, v->line, v->col,
                   "option '%s' must not contain NUL characters", o->key);
        return;
      }
      for (size_t i = 0; i < v->n; i++) {
        const yval *it = v->items[i];
        if (it->kind != Y_SCALAR)
          opt_diag(s, n, it->line, it->col,
                   "items of option '%s' must be scalars, got %s", o->key,
                   yval_kind_name(it));
        else if (has_nul(it))
          opt_diag(s, n, it->line, it->col,
                   "items of option '%s' must not contain NUL characters",
                   o->key);
      }
      return;
    case WIRE_OPT_MAP:
      if (v->kind != Y_MAP) {
        opt_diag(s, n, v->line, v->col, "option '%s' must be a mapping, got %s",
                 o->key, yval_kind_name(v));
        return;
      }
      for (size_t i = 0; i < v->n; i++)
        if (v->items[i]->kind != Y_SCALAR)
          opt_diag(s, n, v->items[i]->line, v->items[i]->col,
                   "values of option '%s' must be scalars, got %s", o->key,
                   yval_kind_name(v->items[i]));
      return;
    case WIRE_OPT_ANY:
      return;
  }
  opt_diag(s, n, v->line, v->col, "option '%s' has an unknown type %d",
           o->key, (int)o->type);
}

static void unknown_option(spec *s, const spec_node *n, const yval *k,
                           const wire_option *table) {
  static const char *const reserved[] = {"id", "type", "inputs"};
  const char *best = NULL;
  size_t bd = 3; /* suggest at edit distance <= 2 */
  for (const wire_option *t = table; t && t->key; t++) {
    size_t d = cfg_edit_distance(k->str, t->key);
    if (d < bd) bd = d, best = t->key;
  }
  for (size_t i = 0; i < WIRE_ARRAY_SIZE(reserved); i++) {
    if (n->kind == WIRE_NODE_SOURCE && i == 2) break; /* no inputs */
    size_t d = cfg_edit_distance(k->str, reserved[i]);
    if (d < bd) bd = d, best = reserved[i];
  }
  char shown[96];
  cfg_show(shown, sizeof shown, k->str, k->len);
  if (best)
    opt_diag(s, n, k->line, k->col,
             "unknown option '%s' for %s type '%s' (did you mean '%s'?)", shown,
             spec_kind_name(n->kind), n->type, best);
  else
    opt_diag(s, n, k->line, k->col, "unknown option '%s' for %s type '%s'",
             shown, spec_kind_name(n->kind), n->type);
}

int cfg_check_options(spec *s, spec_node *n, const wire_option *table) {
  size_t before = s->diags.n;
  bool lost = s->diags.oom;
  const yval *m = n->map;
  for (size_t i = 0; m && m->kind == Y_MAP && i < m->n; i++) {
    const yval *k = m->keys[i];
    if (reserved_key(k->str) && !has_nul(k)) continue;
    const wire_option *o = has_nul(k) ? NULL : find_opt(table, k->str);
    if (!o) unknown_option(s, n, k, table);
    else check_value(s, n, o, k, m->items[i]);
  }
  for (const wire_option *t = table; t && t->key; t++)
    if (t->required && !yval_get(m, t->key))
      diag_add(&s->diags, s->file, n->line, n->col,
               "%s '%s' (%s): missing required option '%s'",
               spec_kind_name(n->kind), n->id, n->type, t->key);
  return s->diags.n == before && s->diags.oom == lost ? WIRE_OK
                                                      : WIRE_ECONFIG;
}

/* ---- defaults and JSON, built once per validation ----------------------- */

void cfg_release(spec_node *n) {
  for (size_t i = 0; i < n->njson; i++) core_free(n->json[i]);
  core_free(n->json);
  core_free(n->json_src);
  n->json = NULL;
  n->json_src = NULL;
  n->njson = 0;
  yval_free(n->defaults);
  n->defaults = NULL;
}

/* The JSON rendering of v, cached on the node (owned by the spec) so that
 * the returned pointers live as long as the pipeline.  Only called on a
 * miss before validation completed; afterwards every lookup hits. */
static const char *cache_json(spec_node *n, const yval *v) {
  for (size_t i = 0; i < n->njson; i++)
    if (n->json_src[i] == v) return n->json[i];
  char *j = yval_to_json(v);
  if (!j) return NULL;
  char **a = core_realloc(n->json, (n->njson + 1) * sizeof *a);
  if (a) n->json = a;
  const yval **b =
      a ? core_realloc(n->json_src, (n->njson + 1) * sizeof *b) : NULL;
  if (!b) {
    core_free(j);
    return NULL;
  }
  n->json_src = b;
  n->json[n->njson] = j;
  n->json_src[n->njson++] = v;
  return j;
}

/* A default as a tree: scalar types take the text as it is; lists, maps
 * and ANY read it as YAML ("[a, b]", "{}"), or as a scalar when it does not
 * parse. */
static yval *default_value(const wire_option *o, int *rc) {
  *rc = WIRE_OK;
  if (o->type == WIRE_OPT_LIST || o->type == WIRE_OPT_MAP ||
      o->type == WIRE_OPT_ANY) {
    diag_list quiet = {0};
    int prc;
    yval *v = yval_parse_ex(o->def, strlen(o->def), NULL, &quiet, &prc);
    diag_clear(&quiet);
    if (v || prc == WIRE_ENOMEM) {
      *rc = prc;
      return v;
    }
  }
  yval *v = core_calloc(1, sizeof *v);
  if (v) v->str = core_strdup(o->def);
  if (!v || !v->str) {
    core_free(v);
    *rc = WIRE_ENOMEM;
    return NULL;
  }
  v->kind = Y_SCALAR;
  v->len = strlen(v->str);
  v->plain = true;
  return v;
}

int cfg_prepare(spec *s, spec_node *n) {
  cfg_release(n);
  const wire_option *table = n->cfg.table;
  size_t nd = 0;
  for (const wire_option *t = table; t && t->key; t++)
    if (t->def && !yval_get(n->map, t->key)) nd++;
  int rc = WIRE_OK;
  if (nd) {
    yval *d = core_calloc(1, sizeof *d);
    yval **keys = core_calloc(nd, sizeof *keys);
    yval **items = core_calloc(nd, sizeof *items);
    if (d) d->keys = keys, d->items = items, d->kind = Y_MAP;
    n->defaults = d;
    if (!d || !keys || !items) {
      if (!d) core_free(keys), core_free(items);
      return WIRE_ENOMEM;
    }
    for (const wire_option *t = table; t && t->key; t++) {
      if (!t->def || yval_get(n->map, t->key)) continue;
      yval *k = core_calloc(1, sizeof *k);
      if (k) k->str = core_strdup(t->key);
      if (!k || !k->str) {
        core_free(k);
        return WIRE_ENOMEM;
      }
      k->kind = Y_SCALAR;
      k->len = strlen(k->str);
      int drc;
      yval *v = default_value(t, &drc);
      if (!v) {
        yval_free(k);
        return drc;
      }
      d->keys[d->n] = k;
      d->items[d->n++] = v;
      /* A table whose default does not pass its own checks is a bug of the
       * component; say so rather than fail later at run time. */
      char why[600] = "";
      bool ok = true;
      if (t->type == WIRE_OPT_LIST) ok = v->kind != Y_MAP;
      else if (t->type == WIRE_OPT_MAP) ok = v->kind == Y_MAP;
      else if (t->type != WIRE_OPT_ANY) ok = scalar_fits(t, v, why, sizeof why);
      if (!ok) {
        diag_add(&s->diags, s->file, n->line, n->col,
                 "%s type '%s' has an invalid default for option '%s'%s%s",
                 spec_kind_name(n->kind), n->type, t->key, *why ? ": " : "",
                 why);
        rc = WIRE_ECONFIG;
      }
    }
  }
  /* Render every option value, and each value of a mapping option, so that
   * wire_config_json and wire_config_map_item never write later. */
  for (int pass = 0; pass < 2; pass++) {
    const yval *m = pass ? n->defaults : n->map;
    for (size_t i = 0; m && m->kind == Y_MAP && i < m->n; i++) {
      if (!pass && reserved_key(m->keys[i]->str)) continue;
      const yval *v = m->items[i];
      if (!cache_json(n, v)) return WIRE_ENOMEM;
      for (size_t k = 0; v->kind == Y_MAP && k < v->n; k++)
        if (!cache_json(n, v->items[k])) return WIRE_ENOMEM;
    }
  }
  return rc;
}

/* ---- wire_config getters ------------------------------------------------------- */

/* The option as written, or NULL. */
static const yval *written(const wire_config *cfg, const char *key) {
  if (!cfg || !cfg->node || !key || reserved_key(key)) return NULL;
  return yval_get(cfg->node->map, key);
}

/* The option as written, else its default (once prepared), else NULL. */
static const yval *value_of(const wire_config *cfg, const char *key) {
  const yval *v = written(cfg, key);
  if (!v && cfg && cfg->node && key && !reserved_key(key))
    v = yval_get(cfg->node->defaults, key);
  return v;
}

/* Scalar text of an option: WIRE_OK, WIRE_EINVAL (not a scalar) or
 * WIRE_ENOTFOUND.  Falls back on the table's default text before
 * cfg_prepare() ran. */
static int scalar_text(const wire_config *cfg, const char *key,
                       const char **out) {
  const yval *v = value_of(cfg, key);
  if (v) {
    if (v->kind != Y_SCALAR) return WIRE_EINVAL;
    *out = v->str;
    return WIRE_OK;
  }
  const wire_option *o = key && !reserved_key(key)
                             ? find_opt(cfg ? cfg->table : NULL, key)
                             : NULL;
  if (!o || !o->def) return WIRE_ENOTFOUND;
  *out = o->def;
  return WIRE_OK;
}

WIRE_API const char *wire_config_id(const wire_config *cfg) {
  return cfg && cfg->node && cfg->node->id ? cfg->node->id : "";
}

WIRE_API const char *wire_config_type(const wire_config *cfg) {
  return cfg && cfg->node && cfg->node->type ? cfg->node->type : "";
}

WIRE_API bool wire_config_has(const wire_config *cfg, const char *key) {
  return written(cfg, key) != NULL;
}

WIRE_API int wire_config_string(const wire_config *cfg, const char *key,
                                const char **out) {
  const char *t;
  int rc = scalar_text(cfg, key, &t);
  if (rc == WIRE_OK && out) *out = t;
  return rc;
}

WIRE_API int wire_config_int(const wire_config *cfg, const char *key,
                             int64_t *out) {
  const char *t;
  int64_t v;
  int rc = scalar_text(cfg, key, &t);
  if (rc != WIRE_OK) return rc;
  if (yval_text_int(t, &v) != WIRE_OK) return WIRE_EINVAL;
  if (out) *out = v;
  return WIRE_OK;
}

WIRE_API int wire_config_double(const wire_config *cfg, const char *key,
                                double *out) {
  const char *t;
  double v;
  int rc = scalar_text(cfg, key, &t);
  if (rc != WIRE_OK) return rc;
  if (!yval_text_double(t, &v)) return WIRE_EINVAL;
  if (out) *out = v;
  return WIRE_OK;
}

WIRE_API int wire_config_bool(const wire_config *cfg, const char *key,
                              bool *out) {
  const char *t;
  bool v;
  int rc = scalar_text(cfg, key, &t);
  if (rc != WIRE_OK) return rc;
  if (!yval_text_bool(t, &v)) return WIRE_EINVAL;
  if (out) *out = v;
  return WIRE_OK;
}

/* A list option: a sequence, or a lone scalar as a list of one. */
WIRE_API size_t wire_config_list_count(const wire_config *cfg,
                                       const char *key) {
  const yval *v = value_of(cfg, key);
  if (!v) return 0;
  if (v->kind == Y_SCALAR) return yval_is_null(v) ? 0 : 1;
  return v->kind == Y_SEQ ? v->n : 0;
}

WIRE_API const char *wire_config_list_item(const wire_config *cfg,
                                           const char *key, size_t i) {
  const yval *v = value_of(cfg, key);
  if (!v || i >= wire_config_list_count(cfg, key)) return NULL;
  if (v->kind == Y_SCALAR) return v->str;
  return v->items[i]->kind == Y_SCALAR ? v->items[i]->str : NULL;
}

WIRE_API size_t wire_config_map_count(const wire_config *cfg,
                                      const char *key) {
  const yval *v = value_of(cfg, key);
  return v && v->kind == Y_MAP ? v->n : 0;
}

WIRE_API int wire_config_map_item(const wire_config *cfg, const char *key,
                                  size_t i, const char **name,
                                  const char **value_text,
                                  const char **value_json) {
  const yval *v = value_of(cfg, key);
  if (!v || v->kind != Y_MAP || i >= v->n) return WIRE_ENOTFOUND;
  const yval *it = v->items[i];
  if (value_json) {
    const char *j = cache_json(cfg->node, it);
    if (!j) return WIRE_ENOMEM;
    *value_json = j;
  }
  if (name) *name = v->keys[i]->str;
  if (value_text) *value_text = it->kind == Y_SCALAR ? it->str : NULL;
  return WIRE_OK;
}

WIRE_API const char *wire_config_json(const wire_config *cfg, const char *key) {
  const yval *v = value_of(cfg, key);
  return v ? cache_json(cfg->node, v) : NULL;
}

WIRE_API int wire_config_error(const wire_config *cfg, const char *key,
                               const char *fmt, ...) {
  if (!cfg || !cfg->s || !cfg->node || !fmt) return WIRE_ECONFIG;
  const spec_node *n = cfg->node;
  const yval *v = written(cfg, key);
  int line = v ? v->line : n->line, col = v ? v->col : n->col;
  char msg[900];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  diag_add(&cfg->s->diags, cfg->s->file, line, col, "%s '%s': %s",
           spec_kind_name(n->kind), n->id, msg);
  return WIRE_ECONFIG;
}
