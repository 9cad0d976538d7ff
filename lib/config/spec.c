/*
 * Pipeline definitions (config layer): building the model from YAML or the
 * C API, and validating it before anything runs.
 *
 * Problems found while building (YAML syntax, unknown pipeline keys, nodes
 * without an id or type, malformed inputs) are kept in spec.build; each
 * validation starts its diagnostics from those and adds its own: unknown
 * types, duplicate ids, option checks, component checks (validate/init, e.g.
 * jq compilation), unknown inputs and ports, cycles.  Every problem is
 * collected, not just the first, and they are sorted by position.
 * Lookups use sorted indexes and the graph walks are linear, so that even a
 * huge or hostile definition is rejected in reasonable time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/spec.h"
#include "core/core.h"
#include "core/json.h"

#define NO_NODE ((size_t)-1)

void spec_init(spec *s, wire_ctx *ctx, const char *file, const char *name) {
  memset(s, 0, sizeof *s);
  s->ctx = ctx;
  s->file = core_strdup(file ? file : "<pipeline>");
  s->name = name ? core_strdup(name) : NULL;
  s->partitions = 1;
  s->queue_depth = 8;
  s->batch_size = 1024;
}

static void release_ops(spec *s) {
  for (size_t i = 0; i < s->n; i++) {
    spec_node *n = s->nodes[i];
    if (n->op_inited && n->op_vt && n->op_vt->fini) n->op_vt->fini(n->op_shared);
    n->op_inited = false;
    n->op_shared = NULL;
    n->ports = NULL;
    n->nports = 1;
  }
}

static void node_free(spec_node *n) {
  if (!n) return;
  cfg_release(n);
  core_free(n->id);
  core_free(n->type);
  yval_free(n->map);
  for (size_t i = 0; i < n->ninputs; i++) core_free(n->inputs[i].ref);
  core_free(n->inputs);
  core_free(n);
}

void spec_free(spec *s) {
  if (!s) return;
  release_ops(s);
  for (size_t i = 0; i < s->n; i++) node_free(s->nodes[i]);
  core_free(s->nodes);
  core_free(s->topo);
  core_free(s->file);
  core_free(s->name);
  core_free(s->partition_key);
  core_free(s->dead_letter);
  diag_clear(&s->diags);
  diag_clear(&s->build);
  memset(s, 0, sizeof *s);
}

long spec_find(const spec *s, const char *id) {
  for (size_t i = 0; id && i < s->n; i++)
    if (strcmp(s->nodes[i]->id, id) == 0) return (long)i;
  return -1;
}

/* ---- building ------------------------------------------------------------ */

/* A problem found while building: kept in s->build for every validation. */
static void build_diag(spec *s, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void build_diag(spec *s, int line, int col, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_vadd(&s->build, s->file, line, col, fmt, ap);
  va_end(ap);
}

/* Show the build problems from index `from` on in s->diags right away, so
 * that they can be read before validation. */
static void mirror(spec *s, size_t from) {
  for (size_t i = from; i < s->build.n; i++) {
    const wire_diag *d = &s->build.v[i];
    diag_add(&s->diags, d->file, d->line, d->col, "%s", d->message);
  }
  if (s->build.oom) s->diags.oom = true;
}

/* The status of a build step that started at build.n == from. */
static int build_status(spec *s, size_t from) {
  mirror(s, from);
  if (s->build.oom) return WIRE_ENOMEM;
  return s->build.n > from ? WIRE_ECONFIG : WIRE_OK;
}

/* After a failure that may be for lack of memory but does not say so (the
 * jq path parser returns -1 for both): can we still allocate? */
static bool memory_exhausted(void) {
  void *p = core_malloc(16);
  core_free(p);
  return p == NULL;
}

/* Insert keeping the documented order: sources, operations, sinks, each in
 * the order given. */
static int insert_node(spec *s, spec_node *n) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 8;
    spec_node **v = core_realloc(s->nodes, cap * sizeof *v);
    if (!v) return WIRE_ENOMEM;
    s->nodes = v;
    s->cap = cap;
  }
  size_t at = s->n;
  while (at > 0 && s->nodes[at - 1]->kind > n->kind) at--;
  memmove(&s->nodes[at + 1], &s->nodes[at], (s->n - at) * sizeof *s->nodes);
  s->nodes[at] = n;
  s->n++;
  n->cfg.node = n;
  n->cfg.s = s;
  n->nports = 1;
  return WIRE_OK;
}

static int add_input(spec_node *n, const char *ref, size_t len, int line,
                     int col) {
  spec_input *v = core_realloc(n->inputs, (n->ninputs + 1) * sizeof *v);
  if (!v) return WIRE_ENOMEM;
  n->inputs = v;
  spec_input *in = &v[n->ninputs];
  memset(in, 0, sizeof *in);
  in->ref = core_strndup(ref, len);
  if (!in->ref) return WIRE_ENOMEM;
  in->line = line;
  in->col = col;
  in->node = NO_NODE;
  n->ninputs++;
  return WIRE_OK;
}

static bool valid_id(const char *id, size_t len) {
  if (!len || strlen(id) != len) return false;
  for (const char *p = id; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
          (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
      return false;
  return true;
}

static spec_node *node_alloc(wire_node_kind kind, int line, int col) {
  spec_node *n = core_calloc(1, sizeof *n);
  if (!n) return NULL;
  n->kind = kind;
  n->line = line;
  n->col = col;
  n->nports = 1;
  return n;
}

/* Checks common to both ways of building, then insertion (n is taken).
 * `inputs_given`: an `inputs` key or argument was written (at line:col). */
static int node_finish(spec *s, spec_node *n, bool inputs_given,
                       bool inputs_malformed, int line, int col) {
  const char *what = spec_kind_name(n->kind);
  if (n->kind == WIRE_NODE_SOURCE && inputs_given) {
    build_diag(s, line, col, "source '%s' cannot have inputs", n->id);
  } else if (n->kind != WIRE_NODE_SOURCE && n->ninputs == 0 &&
             !inputs_malformed) {
    build_diag(s, n->line, n->col, "%s '%s' needs 'inputs'", what, n->id);
  }
  int rc = insert_node(s, n);
  if (rc) node_free(n);
  return rc;
}

/* Build a node from its YAML mapping (taken). */
static int node_from_yaml(spec *s, wire_node_kind kind, yval *m) {
  const char *what = spec_kind_name(kind);
  char shown[96];
  if (m->kind != Y_MAP) {
    build_diag(s, m->line, m->col,
               "each %s must be a mapping with 'id' and 'type', got %s", what,
               yval_is_null(m) ? "nothing" : yval_kind_name(m));
    yval_free(m);
    return WIRE_OK;
  }
  spec_node *n = node_alloc(kind, m->line, m->col);
  if (!n) {
    yval_free(m);
    return WIRE_ENOMEM;
  }
  n->map = m;
  const yval *id = yval_get(m, "id"), *type = yval_get(m, "type");
  const yval *inputs = yval_get(m, "inputs");
  /* Names are text: `type: null` is the null sink, so only an empty value
   * counts as missing here. */
  bool id_scalar = id && id->kind == Y_SCALAR && id->len > 0;
  if (!id)
    build_diag(s, m->line, m->col, "%s without 'id'", what);
  else if (!id_scalar)
    build_diag(s, id->line, id->col, "'id' of a %s must be a name, got %s",
               what, id->kind == Y_SCALAR ? "nothing" : yval_kind_name(id));
  else if (!valid_id(id->str, id->len))
    build_diag(s, id->line, id->col,
               "invalid id '%s': use letters, digits, '_' and '-'",
               cfg_show(shown, sizeof shown, id->str, id->len));
  n->id = core_strdup(id_scalar ? id->str : "");
  bool type_ok = type && type->kind == Y_SCALAR && type->len > 0 &&
                 strlen(type->str) == type->len;
  if (!type)
    build_diag(s, m->line, m->col, "%s '%s' has no 'type'", what,
               id_scalar ? cfg_show(shown, sizeof shown, id->str, id->len)
                         : "");
  else if (!type_ok)
    build_diag(s, type->line, type->col,
               "'type' must be a type name, got %s",
               type->kind != Y_SCALAR ? yval_kind_name(type)
               : type->len == 0       ? "nothing"
                                      : "a name with a NUL character");
  n->type = core_strdup(type_ok ? type->str : "");
  if (!n->id || !n->type) {
    node_free(n);
    return WIRE_ENOMEM;
  }
  bool malformed = false;
  if (inputs && kind != WIRE_NODE_SOURCE) {
    if (inputs->kind == Y_SCALAR && inputs->len > 0) {
      if (add_input(n, inputs->str, inputs->len, inputs->line, inputs->col)) {
        node_free(n);
        return WIRE_ENOMEM;
      }
    } else if (inputs->kind == Y_SEQ) {
      for (size_t i = 0; i < inputs->n; i++) {
        const yval *it = inputs->items[i];
        if (it->kind != Y_SCALAR || it->len == 0) {
          build_diag(s, it->line, it->col,
                     "inputs of %s '%s' must be node ids, got %s", what, n->id,
                     it->kind == Y_SCALAR ? "nothing" : yval_kind_name(it));
          malformed = true;
          continue;
        }
        if (add_input(n, it->str, it->len, it->line, it->col)) {
          node_free(n);
          return WIRE_ENOMEM;
        }
      }
    } else if (inputs->kind == Y_MAP) {
      build_diag(s, inputs->line, inputs->col,
                 "inputs of %s '%s' must be a list of node ids, got a mapping",
                 what, n->id);
      malformed = true;
    }
  }
  bool given = inputs && !(inputs->kind == Y_SCALAR && inputs->len == 0);
  return node_finish(s, n, given, malformed,
                     inputs ? inputs->line : 0, inputs ? inputs->col : 0);
}

static const char *const top_keys[] = {
    "name",       "description", "partitions", "partition_key", "queue_depth",
    "batch_size", "dead_letter", "sources",    "operations",    "sinks"};

static int set_uint(spec *s, const yval *v, const char *key, unsigned *out,
                    long min, long max) {
  int64_t x = 0;
  if (v->kind != Y_SCALAR || yval_text_int(v->str, &x) != WIRE_OK || x < min ||
      x > max) {
    char shown[96];
    if (v->kind == Y_SCALAR)
      build_diag(s, v->line, v->col,
                 "'%s' must be an integer between %ld and %ld, got \"%s\"", key,
                 min, max, cfg_show(shown, sizeof shown, v->str, v->len));
    else
      build_diag(s, v->line, v->col,
                 "'%s' must be an integer between %ld and %ld, got %s", key,
                 min, max, yval_kind_name(v));
    return WIRE_ECONFIG;
  }
  *out = (unsigned)x;
  return WIRE_OK;
}

static int set_str(spec *s, const yval *v, const char *key, char **out) {
  if (v->kind != Y_SCALAR || yval_is_null(v) || !*v->str ||
      strlen(v->str) != v->len) {
    build_diag(s, v->line, v->col, "'%s' must be a non-empty string, got %s",
               key,
               v->kind != Y_SCALAR ? yval_kind_name(v)
               : yval_is_null(v)   ? "nothing"
               : !*v->str          ? "an empty string"
                                   : "a string with a NUL character");
    return WIRE_ECONFIG;
  }
  if (!out) return WIRE_OK;
  char *d = core_strdup(v->str);
  if (!d) return WIRE_ENOMEM;
  core_free(*out);
  *out = d;
  return WIRE_OK;
}

/* Apply one pipeline-level setting: WIRE_OK, WIRE_ECONFIG (diagnosed),
 * WIRE_ENOMEM, or WIRE_ENOTFOUND for an unknown key. */
static int apply_setting(spec *s, const char *k, const yval *v) {
  if (!strcmp(k, "name")) return set_str(s, v, k, &s->name);
  if (!strcmp(k, "description")) {
    if (v->kind == Y_SCALAR) return WIRE_OK;
    build_diag(s, v->line, v->col, "'description' must be text, got %s",
               yval_kind_name(v));
    return WIRE_ECONFIG;
  }
  if (!strcmp(k, "partitions"))
    return set_uint(s, v, k, &s->partitions, 1, 1024);
  if (!strcmp(k, "queue_depth"))
    return set_uint(s, v, k, &s->queue_depth, 1, 65536);
  if (!strcmp(k, "batch_size"))
    return set_uint(s, v, k, &s->batch_size, 1, 65536);
  if (!strcmp(k, "dead_letter")) return set_str(s, v, k, &s->dead_letter);
  if (!strcmp(k, "partition_key")) {
    int rc = set_str(s, v, k, NULL);
    if (rc) return rc;
    json_path jp;
    if (json_path_parse(v->str, &jp) != 0) {
      if (memory_exhausted()) return WIRE_ENOMEM;
      char shown[96];
      build_diag(s, v->line, v->col,
                 "'partition_key' must be a simple path such as .user or "
                 ".a.b, got \"%s\"",
                 cfg_show(shown, sizeof shown, v->str, v->len));
      return WIRE_ECONFIG;
    }
    json_path_free(&jp);
    return set_str(s, v, k, &s->partition_key);
  }
  return WIRE_ENOTFOUND;
}

static const char *suggest(const char *word, const char *const *cands,
                           size_t n) {
  const char *best = NULL;
  size_t bd = 3;
  for (size_t i = 0; i < n; i++) {
    size_t d = cfg_edit_distance(word, cands[i]);
    if (d < bd) bd = d, best = cands[i];
  }
  return best;
}

/* The node lists: `sources`, `operations`, `sinks`. */
static int load_nodes(spec *s, yval *root, const char *key,
                      wire_node_kind kind) {
  yval *v = NULL;
  size_t ki = 0;
  for (size_t i = root->n; i-- > 0;)
    if (!strcmp(root->keys[i]->str, key)) {
      v = root->items[i], ki = i;
      break;
    }
  bool required = kind != WIRE_NODE_OP;
  const char *what = spec_kind_name(kind);
  if (!v) {
    if (required)
      build_diag(s, root->line, root->col,
                 "missing '%s' (at least one %s is needed)", key, what);
    return WIRE_OK;
  }
  if (yval_is_null(v) || (v->kind == Y_SEQ && v->n == 0)) {
    if (required)
      build_diag(s, root->keys[ki]->line, root->keys[ki]->col,
                 "'%s' is empty: at least one %s is needed", key, what);
    return WIRE_OK;
  }
  if (v->kind != Y_SEQ) {
    build_diag(s, v->line, v->col, "'%s' must be a list of %ss, got %s", key,
               what, yval_kind_name(v));
    return WIRE_OK;
  }
  for (size_t k = 0; k < v->n; k++) {
    yval *item = v->items[k];
    v->items[k] = NULL; /* taken; the rest is freed with the root */
    int rc = node_from_yaml(s, kind, item);
    if (rc) return rc;
  }
  return WIRE_OK;
}

int spec_load_yaml(spec *s, const char *text, size_t len) {
  s->valid = false;
  size_t from = s->build.n;
  int prc;
  yval *root = yval_parse_ex(text, len, s->file, &s->build, &prc);
  if (!root || yval_is_null(root)) {
    if (prc == WIRE_OK) build_diag(s, 1, 1, "empty pipeline definition");
    yval_free(root);
    int rc = build_status(s, from);
    return prc == WIRE_ENOMEM ? WIRE_ENOMEM : rc ? rc : WIRE_ECONFIG;
  }
  if (root->kind != Y_MAP) {
    build_diag(s, root->line, root->col,
               "a pipeline definition must be a mapping (name, sources, "
               "operations, sinks), got %s",
               yval_kind_name(root));
    yval_free(root);
    int rc = build_status(s, from);
    return rc ? rc : WIRE_ECONFIG;
  }
  int rc = WIRE_OK;
  bool named = s->name != NULL;
  for (size_t i = 0; i < root->n && rc != WIRE_ENOMEM; i++) {
    const yval *kv = root->keys[i];
    const char *k = kv->str;
    if (!strcmp(k, "sources") || !strcmp(k, "operations") ||
        !strcmp(k, "sinks"))
      continue;
    int r = apply_setting(s, k, root->items[i]);
    if (r == WIRE_ENOMEM) rc = r;
    if (!strcmp(k, "name")) named = true;
    if (r == WIRE_ENOTFOUND) {
      char shown[96];
      const char *best = suggest(k, top_keys, WIRE_ARRAY_SIZE(top_keys));
      cfg_show(shown, sizeof shown, k, kv->len);
      if (best)
        build_diag(s, kv->line, kv->col,
                   "unknown pipeline key '%s' (did you mean '%s'?)", shown,
                   best);
      else
        build_diag(s, kv->line, kv->col,
                   "unknown pipeline key '%s' (known: name, description, "
                   "partitions, partition_key, queue_depth, batch_size, "
                   "dead_letter, sources, operations, sinks)",
                   shown);
    }
  }
  if (!named)
    build_diag(s, root->line, root->col, "missing pipeline 'name'");
  /* Sources first, then operations, then sinks, whatever the text order. */
  if (rc == WIRE_OK) rc = load_nodes(s, root, "sources", WIRE_NODE_SOURCE);
  if (rc == WIRE_OK) rc = load_nodes(s, root, "operations", WIRE_NODE_OP);
  if (rc == WIRE_OK) rc = load_nodes(s, root, "sinks", WIRE_NODE_SINK);
  yval_free(root);
  int brc = build_status(s, from);
  if (rc == WIRE_ENOMEM || brc == WIRE_ENOMEM) return WIRE_ENOMEM;
  return spec_validate(s);
}

int spec_add_node(spec *s, wire_node_kind kind, const char *id,
                  const char *type, const char *inputs_csv,
                  const char *options_yaml) {
  if (!s || !id || !type ||
      (kind != WIRE_NODE_SOURCE && kind != WIRE_NODE_OP &&
       kind != WIRE_NODE_SINK))
    return WIRE_EINVAL;
  s->valid = false;
  size_t from = s->build.n;
  const char *what = spec_kind_name(kind);
  char shown[96];
  cfg_show(shown, sizeof shown, id, strlen(id));
  yval *m = NULL;
  if (options_yaml) {
    int prc;
    m = yval_parse_ex(options_yaml, strlen(options_yaml), s->file, &s->build,
                      &prc);
    if (prc == WIRE_ENOMEM) {
      build_status(s, from);
      return WIRE_ENOMEM;
    }
    if (!m && prc == WIRE_ECONFIG)
      build_diag(s, 0, 0, "%s '%s': its options are not valid YAML (above)",
                 what, shown);
    if (m && yval_is_null(m)) {
      yval_free(m);
      m = NULL;
    } else if (m && m->kind != Y_MAP) {
      build_diag(s, m->line, m->col,
                 "%s '%s': options must be a mapping such as {key: value}, "
                 "got %s",
                 what, shown, yval_kind_name(m));
      yval_free(m);
      m = NULL;
    }
    for (size_t i = 0; m && i < m->n; i++) {
      const char *k = m->keys[i]->str;
      if (!strcmp(k, "id") || !strcmp(k, "type") || !strcmp(k, "inputs"))
        build_diag(s, m->keys[i]->line, m->keys[i]->col,
                   "%s '%s': '%s' is an argument of wire_pipeline_add, not "
                   "an option",
                   what, shown, k);
    }
  }
  spec_node *n = node_alloc(kind, 0, 0);
  if (!n) {
    yval_free(m);
    build_status(s, from);
    return WIRE_ENOMEM;
  }
  n->api = true;
  n->map = m;
  n->id = core_strdup(id);
  n->type = core_strdup(type);
  if (!n->id || !n->type) {
    node_free(n);
    build_status(s, from);
    return WIRE_ENOMEM;
  }
  if (!valid_id(id, strlen(id)))
    build_diag(s, 0, 0, "invalid id '%s': use letters, digits, '_' and '-'",
               shown);
  if (!*type) build_diag(s, 0, 0, "%s '%s' has no 'type'", what, shown);
  bool given = inputs_csv && *inputs_csv;
  if (given && kind != WIRE_NODE_SOURCE) {
    for (const char *p = inputs_csv;;) {
      const char *c = strchr(p, ',');
      size_t l = c ? (size_t)(c - p) : strlen(p);
      while (l && (*p == ' ' || *p == '\t')) p++, l--;
      while (l && (p[l - 1] == ' ' || p[l - 1] == '\t')) l--;
      if (!l) {
        char list[96];
        build_diag(s, 0, 0, "inputs of %s '%s': empty id in \"%s\"", what,
                   shown, cfg_show(list, sizeof list, inputs_csv,
                                   strlen(inputs_csv)));
      }
      else if (add_input(n, p, l, 0, 0)) {
        node_free(n);
        build_status(s, from);
        return WIRE_ENOMEM;
      }
      if (!c) break;
      p = c + 1;
    }
  }
  int rc = node_finish(s, n, given, given, 0, 0);
  int brc = build_status(s, from);
  return rc ? rc : brc;
}

int spec_set(spec *s, const char *key, const char *value) {
  if (!s || !key || !value) return WIRE_EINVAL;
  s->valid = false;
  size_t from = s->build.n;
  /* The value is YAML scalar text: 'quoted' or plain. */
  diag_list quiet = {0};
  int prc;
  yval *v = yval_parse_ex(value, strlen(value), s->file, &quiet, &prc);
  diag_clear(&quiet);
  if (prc == WIRE_ENOMEM) return WIRE_ENOMEM;
  yval empty = {.kind = Y_SCALAR, .str = (char *)"", .plain = true};
  const yval *use = v ? v : &empty;
  char shown[96];
  cfg_show(shown, sizeof shown, value, strlen(value));
  int rc;
  if (!strcmp(key, "sources") || !strcmp(key, "operations") ||
      !strcmp(key, "sinks")) {
    build_diag(s, 0, 0, "'%s' cannot be set; add nodes with wire_pipeline_add",
               key);
    rc = WIRE_EINVAL;
  } else if (!v && prc == WIRE_ECONFIG) {
    build_diag(s, 0, 0, "'%s': \"%s\" is not a YAML scalar", key, shown);
    rc = WIRE_ECONFIG;
  } else {
    /* Positions would refer to the one-line value: leave them out. */
    yval copy = *use;
    copy.line = copy.col = 0;
    rc = apply_setting(s, key, &copy);
    if (rc == WIRE_ENOTFOUND) {
      const char *best = suggest(key, top_keys, 7);
      cfg_show(shown, sizeof shown, key, strlen(key));
      build_diag(s, 0, 0, "unknown pipeline setting '%s'%s%s%s", shown,
                 best ? " (did you mean '" : "", best ? best : "",
                 best ? "'?)" : "");
      rc = WIRE_EINVAL;
    }
  }
  yval_free(v);
  int brc = build_status(s, from);
  return brc == WIRE_ENOMEM ? brc : rc;
}

/* ---- validation ------------------------------------------------------------ */

static const wire_option *node_table(const spec_node *n) {
  if (n->source_vt) return n->source_vt->options;
  if (n->sink_vt) return n->sink_vt->options;
  if (n->op_vt) return n->op_vt->options;
  return NULL;
}

static bool resolved(const spec_node *n) {
  return n->source_vt || n->sink_vt || n->op_vt;
}

static void node_diag(spec *s, const spec_node *n, int line, int col,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void node_diag(spec *s, const spec_node *n, int line, int col,
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

static void unknown_type(spec *s, const spec_node *n) {
  const yval *t = yval_get(n->map, "type");
  int line = t && !n->api ? t->line : n->line;
  int col = t && !n->api ? t->col : n->col;
  size_t count = registry_count(s->ctx, n->kind);
  const char *best = NULL;
  size_t bd = 3;
  core_buf known = {0};
  for (size_t i = 0; i < count; i++) {
    const char *name = registry_name(s->ctx, n->kind, i);
    if (!name) continue;
    size_t d = cfg_edit_distance(n->type, name);
    if (d < bd) bd = d, best = name;
    (void)core_buf_printf(&known, "%s%s", i ? ", " : "", name);
  }
  char shown[96];
  cfg_show(shown, sizeof shown, n->type, strlen(n->type));
  const char *what = spec_kind_name(n->kind);
  if (best)
    node_diag(s, n, line, col, "unknown %s type '%s' (did you mean '%s'?)",
              what, shown, best);
  else
    node_diag(s, n, line, col, "unknown %s type '%s' (known: %s)", what, shown,
              known.data ? known.data : "none");
  core_buf_free(&known);
}

/* Sorted index of node ids, for lookups and duplicate detection. */
typedef struct id_entry {
  const char *id;
  size_t node;
} id_entry;

static int id_cmp(const void *a, const void *b) {
  const id_entry *x = a, *y = b;
  int c = strcmp(x->id, y->id);
  if (c) return c;
  return x->node < y->node ? -1 : x->node > y->node;
}

static size_t id_lookup(const id_entry *ix, size_t n, const char *id) {
  size_t lo = 0, hi = n;
  while (lo < hi) { /* first entry >= id: the earliest of duplicates */
    size_t mid = lo + (hi - lo) / 2;
    if (strcmp(ix[mid].id, id) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo < n && !strcmp(ix[lo].id, id) ? ix[lo].node : NO_NODE;
}

static void id_position(const spec_node *n, int *line, int *col) {
  const yval *idv = n->api ? NULL : yval_get(n->map, "id");
  *line = idv ? idv->line : n->line;
  *col = idv ? idv->col : n->col;
}

/* Each group of equal ids: the one written first (by position, then by
 * order of addition) keeps it, every other one is reported. */
static void check_ids(spec *s, const id_entry *ix) {
  for (size_t g = 0, e; g < s->n; g = e) {
    e = g + 1;
    while (e < s->n && !strcmp(ix[e].id, ix[g].id)) e++;
    if (e - g < 2 || !*ix[g].id) continue;
    size_t first = g;
    int fl, fc;
    id_position(s->nodes[ix[g].node], &fl, &fc);
    for (size_t i = g + 1; i < e; i++) {
      int l, c;
      id_position(s->nodes[ix[i].node], &l, &c);
      if (l < fl || (l == fl && c < fc)) first = i, fl = l, fc = c;
    }
    const spec_node *f = s->nodes[ix[first].node];
    for (size_t i = g; i < e; i++) {
      if (i == first) continue;
      const spec_node *n = s->nodes[ix[i].node];
      int l, c;
      id_position(n, &l, &c);
      if (fl > 0)
        diag_add(&s->diags, s->file, l, c,
                 "duplicate id '%s' (first defined at line %d)", n->id, fl);
      else
        diag_add(&s->diags, s->file, l, c,
                 "duplicate id '%s' (already the id of a %s)", n->id,
                 spec_kind_name(f->kind));
    }
  }
}

/* Resolve "id" or "id.port" of one input of node n. */
static void resolve_input(spec *s, const id_entry *ix, spec_node *n,
                          spec_input *in) {
  const char *ref = in->ref;
  const char *what = spec_kind_name(n->kind);
  char shown[96], base[128];
  cfg_show(shown, sizeof shown, ref, strlen(ref));
  size_t idx = id_lookup(ix, s->n, ref);
  const char *port = NULL;
  const char *dot = idx == NO_NODE ? strrchr(ref, '.') : NULL;
  if (dot && (size_t)(dot - ref) < sizeof base) {
    memcpy(base, ref, (size_t)(dot - ref));
    base[dot - ref] = '\0';
    idx = id_lookup(ix, s->n, base);
    port = dot + 1;
  }
  in->node = NO_NODE;
  in->port = 0;
  if (idx == NO_NODE) {
    const char *best = NULL;
    size_t bd = 3;
    for (size_t i = 0; i < s->n && strlen(ref) <= 64; i++) {
      if (s->nodes[i] == n || s->nodes[i]->kind == WIRE_NODE_SINK) continue;
      size_t d = cfg_edit_distance(ref, s->nodes[i]->id);
      if (d < bd) bd = d, best = s->nodes[i]->id;
    }
    if (best)
      diag_add(&s->diags, s->file, in->line, in->col,
               "input '%s' of %s '%s' does not exist (did you mean '%s'?)",
               shown, what, n->id, best);
    else
      diag_add(&s->diags, s->file, in->line, in->col,
               "input '%s' of %s '%s' does not exist", shown, what, n->id);
    return;
  }
  spec_node *from = s->nodes[idx];
  if (from->kind == WIRE_NODE_SINK) {
    diag_add(&s->diags, s->file, in->line, in->col,
             "input '%s' of %s '%s' is a sink; sinks have no outputs", shown,
             what, n->id);
    return;
  }
  in->node = idx;
  if (!port) return;
  if (from->op_vt && !from->op_inited) return; /* its own errors came first */
  if (!from->ports) {
    diag_add(&s->diags, s->file, in->line, in->col,
             "%s '%s' has no output '%s' (it has one unnamed output: use '%s')",
             spec_kind_name(from->kind), from->id,
             cfg_show(shown, sizeof shown, port, strlen(port)), from->id);
    in->node = NO_NODE;
    return;
  }
  core_buf list = {0};
  for (size_t p = 0; p < from->nports; p++) {
    if (!strcmp(from->ports[p], port)) {
      in->port = (unsigned)p;
      core_buf_free(&list);
      return;
    }
    (void)core_buf_printf(&list, "%s%s", p ? ", " : "", from->ports[p]);
  }
  diag_add(&s->diags, s->file, in->line, in->col,
           "operation '%s' has no output '%s' (outputs: %s)", from->id,
           cfg_show(shown, sizeof shown, port, strlen(port)),
           list.data ? list.data : "");
  core_buf_free(&list);
  in->node = NO_NODE;
}

/* The same producer output named twice by one node would deliver every
 * record twice. */
typedef struct edge_key {
  size_t node;
  unsigned port;
  size_t k;
} edge_key;

static int edge_cmp(const void *a, const void *b) {
  const edge_key *x = a, *y = b;
  if (x->node != y->node) return x->node < y->node ? -1 : 1;
  if (x->port != y->port) return x->port < y->port ? -1 : 1;
  return x->k < y->k ? -1 : x->k > y->k;
}

static int check_repeated_inputs(spec *s, spec_node *n) {
  if (n->ninputs < 2) return WIRE_OK;
  edge_key *e = core_malloc(n->ninputs * sizeof *e);
  if (!e) return WIRE_ENOMEM;
  size_t m = 0;
  for (size_t k = 0; k < n->ninputs; k++)
    if (n->inputs[k].node != NO_NODE)
      e[m++] = (edge_key){n->inputs[k].node, n->inputs[k].port, k};
  qsort(e, m, sizeof *e, edge_cmp);
  for (size_t i = 1; i < m; i++) {
    if (e[i].node != e[i - 1].node || e[i].port != e[i - 1].port) continue;
    const spec_input *in = &n->inputs[e[i].k];
    char shown[96];
    diag_add(&s->diags, s->file, in->line, in->col,
             "input '%s' of %s '%s' is listed twice",
             cfg_show(shown, sizeof shown, in->ref, strlen(in->ref)),
             spec_kind_name(n->kind), n->id);
  }
  core_free(e);
  return WIRE_OK;
}

/* Report the cycle through `start`, a node left over by Kahn's algorithm:
 * walk back along inputs that are left over too until a node repeats. */
static int report_cycle(spec *s, const size_t *indeg, unsigned char *mark,
                        size_t start, size_t *walk) {
  size_t len = 0, cur = start;
  /* mark: 0 unseen, 1 on this walk, 2 done */
  while (mark[cur] == 0) {
    mark[cur] = 1;
    walk[len++] = cur;
    const spec_node *n = s->nodes[cur];
    size_t next = NO_NODE;
    for (size_t k = 0; k < n->ninputs && next == NO_NODE; k++) {
      size_t in = n->inputs[k].node;
      if (in != NO_NODE && indeg[in]) next = in;
    }
    if (next == NO_NODE) break; /* cannot happen: left-over nodes have one */
    cur = next;
  }
  int rc = WIRE_OK;
  if (mark[cur] == 1) {
    /* walk[c..len) is the cycle, against the flow: reverse it and start at
     * the node defined first. */
    size_t c = 0;
    while (walk[c] != cur) c++;
    size_t lo = c;
    for (size_t i = c; i < len; i++)
      if (walk[i] < walk[lo]) lo = i;
    core_buf b = {0};
    size_t m = len - c;
    for (size_t j = 0; j <= m; j++) {
      /* Backwards through the walk (cyclically) is the data flow. */
      size_t pos = c + (lo - c + m - j % m) % m;
      if (core_buf_printf(&b, "%s%s", j ? " -> " : "", s->nodes[walk[pos]]->id))
        rc = WIRE_ENOMEM;
    }
    const spec_node *at = s->nodes[walk[lo]];
    if (rc == WIRE_OK)
      diag_add(&s->diags, s->file, at->line, at->col, "cycle: %s", b.data);
    core_buf_free(&b);
  }
  for (size_t i = 0; i < len; i++) mark[walk[i]] = 2;
  return rc;
}

/* Kahn's algorithm over an adjacency list built once (linear time); nodes
 * left over lie on or behind a cycle. */
static int topo_sort(spec *s) {
  size_t n = s->n, nedges = 0;
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < s->nodes[i]->ninputs; k++)
      if (s->nodes[i]->inputs[k].node != NO_NODE) nedges++;
  size_t *indeg = core_calloc(n + 1, sizeof *indeg);
  size_t *start = core_calloc(n + 1, sizeof *start);
  size_t *adj = core_malloc((nedges + 1) * sizeof *adj);
  size_t *order = core_malloc((n + 1) * sizeof *order);
  size_t *fill = core_calloc(n + 1, sizeof *fill);
  int rc = WIRE_OK;
  if (!indeg || !start || !adj || !order || !fill) {
    rc = WIRE_ENOMEM;
    goto out;
  }
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < s->nodes[i]->ninputs; k++) {
      size_t u = s->nodes[i]->inputs[k].node;
      if (u == NO_NODE) continue;
      indeg[i]++;
      start[u + 1]++;
    }
  for (size_t i = 0; i < n; i++) start[i + 1] += start[i];
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < s->nodes[i]->ninputs; k++) {
      size_t u = s->nodes[i]->inputs[k].node;
      if (u != NO_NODE) adj[start[u] + fill[u]++] = i;
    }
  size_t head = 0, tail = 0;
  for (size_t i = 0; i < n; i++)
    if (!indeg[i]) order[tail++] = i;
  while (head < tail) {
    size_t u = order[head++];
    for (size_t e = start[u]; e < start[u + 1]; e++)
      if (--indeg[adj[e]] == 0) order[tail++] = adj[e];
  }
  if (tail < n) {
    unsigned char *mark = core_calloc(n, 1);
    size_t *walk = core_malloc(n * sizeof *walk);
    if (!mark || !walk) rc = WIRE_ENOMEM;
    for (size_t i = 0; rc == WIRE_OK && i < n; i++)
      if (indeg[i] && !mark[i]) rc = report_cycle(s, indeg, mark, i, walk);
    core_free(mark);
    core_free(walk);
  }
  core_free(s->topo);
  s->topo = order;
  order = NULL;
out:
  core_free(indeg);
  core_free(start);
  core_free(adj);
  core_free(order);
  core_free(fill);
  return rc;
}

/* Options, then the component's own checks: validate() of sources and
 * sinks, init() of operations (which also gives the output ports). */
static int check_component(spec *s, spec_node *n) {
  n->cfg.table = node_table(n);
  if (cfg_check_options(s, n, n->cfg.table) != WIRE_OK) return WIRE_OK;
  int rc = cfg_prepare(s, n);
  if (rc != WIRE_OK) return rc == WIRE_ENOMEM ? rc : WIRE_OK;
  size_t nd = s->diags.n;
  if (n->source_vt && n->source_vt->validate)
    rc = n->source_vt->validate(&n->cfg);
  if (n->sink_vt && n->sink_vt->validate) rc = n->sink_vt->validate(&n->cfg);
  if (n->op_vt) {
    void *shared = NULL;
    rc = n->op_vt->init(&n->cfg, &shared);
    if (rc == WIRE_OK) {
      n->op_shared = shared;
      n->op_inited = true;
      n->ports = n->op_vt->outputs ? n->op_vt->outputs(shared) : NULL;
      n->nports = 0;
      for (size_t p = 0; n->ports && n->ports[p]; p++) n->nports++;
      if (!n->nports) n->nports = 1, n->ports = NULL;
    }
  }
  if (rc == WIRE_ENOMEM) return rc;
  if (rc != WIRE_OK && s->diags.n == nd)
    diag_add(&s->diags, s->file, n->line, n->col, "%s '%s': %s",
             spec_kind_name(n->kind), n->id, wire_strerror(rc));
  return WIRE_OK;
}

int spec_validate(spec *s) {
  release_ops(s);
  s->valid = false;
  diag_clear(&s->diags);
  mirror(s, 0);
  int rc = WIRE_OK;
  for (size_t i = 0; i < s->n; i++) {
    spec_node *n = s->nodes[i];
    n->source_vt = NULL, n->sink_vt = NULL, n->op_vt = NULL;
    n->cfg.table = NULL;
    cfg_release(n);
    for (size_t k = 0; k < n->ninputs; k++)
      n->inputs[k].node = NO_NODE, n->inputs[k].port = 0;
  }
  id_entry *ix = core_malloc((s->n + 1) * sizeof *ix);
  if (!ix) {
    rc = WIRE_ENOMEM;
    goto out;
  }
  for (size_t i = 0; i < s->n; i++) ix[i] = (id_entry){s->nodes[i]->id, i};
  qsort(ix, s->n, sizeof *ix, id_cmp);
  /* 1. ids and types */
  check_ids(s, ix);
  for (size_t i = 0; i < s->n; i++) {
    spec_node *n = s->nodes[i];
    if (!*n->type) continue; /* diagnosed while building */
    if (n->kind == WIRE_NODE_SOURCE) n->source_vt = registry_source(s->ctx, n->type);
    if (n->kind == WIRE_NODE_SINK) n->sink_vt = registry_sink(s->ctx, n->type);
    if (n->kind == WIRE_NODE_OP) n->op_vt = registry_op(s->ctx, n->type);
    if (!resolved(n)) unknown_type(s, n);
  }
  /* 2. options and component checks (op init gives the ports) */
  for (size_t i = 0; rc == WIRE_OK && i < s->n; i++)
    if (resolved(s->nodes[i])) rc = check_component(s, s->nodes[i]);
  /* 3. inputs and the graph */
  for (size_t i = 0; rc == WIRE_OK && i < s->n; i++) {
    spec_node *n = s->nodes[i];
    for (size_t k = 0; k < n->ninputs; k++)
      resolve_input(s, ix, n, &n->inputs[k]);
    rc = check_repeated_inputs(s, n);
  }
  if (rc == WIRE_OK) rc = topo_sort(s);
out:
  core_free(ix);
  diag_sort(&s->diags);
  if (rc == WIRE_OK && s->diags.oom) rc = WIRE_ENOMEM;
  if (rc == WIRE_OK && s->diags.n) rc = WIRE_ECONFIG;
  if (rc != WIRE_OK) {
    release_ops(s);
    return rc;
  }
  s->valid = true;
  return WIRE_OK;
}
