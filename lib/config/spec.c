/*
 * Pipeline definitions (config layer): building the model from YAML or the
 * C API, and validating it before anything runs.  Validation collects every
 * problem (unknown types and keys, ids, inputs, ports, cycles, options,
 * component checks such as jq compilation) as FILE:LINE:COL diagnostics.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/spec.h"
#include "core/core.h"
#include "core/json.h"

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
  core_free(n->id);
  core_free(n->type);
  yval_free(n->map);
  for (size_t i = 0; i < n->ninputs; i++) core_free(n->inputs[i].ref);
  core_free(n->inputs);
  for (size_t i = 0; i < n->njson; i++) core_free(n->json[i]);
  core_free(n->json);
  core_free(n->json_src);
  core_free(n);
}

void spec_free(spec *s) {
  release_ops(s);
  for (size_t i = 0; i < s->n; i++) node_free(s->nodes[i]);
  core_free(s->nodes);
  core_free(s->topo);
  core_free(s->file);
  core_free(s->name);
  core_free(s->partition_key);
  core_free(s->dead_letter);
  diag_clear(&s->diags);
  memset(s, 0, sizeof *s);
}

long spec_find(const spec *s, const char *id) {
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->nodes[i]->id, id) == 0) return (long)i;
  return -1;
}

static int push_node(spec *s, spec_node *n) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 8;
    spec_node **v = core_realloc(s->nodes, cap * sizeof *v);
    if (!v) return WIRE_ENOMEM;
    s->nodes = v;
    s->cap = cap;
  }
  s->nodes[s->n++] = n;
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
  n->ninputs++;
  return WIRE_OK;
}

static bool valid_id(const char *id) {
  if (!*id) return false;
  for (const char *p = id; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
          (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
      return false;
  return true;
}

/* Build a node from its YAML mapping (taken). */
static int node_from_yaml(spec *s, wire_node_kind kind, yval *m) {
  const char *f = s->file;
  if (m->kind != Y_MAP) {
    diag_add(&s->diags, f, m->line, m->col,
             "each %s must be a mapping with id and type, got %s",
             kind == WIRE_NODE_SOURCE ? "source"
             : kind == WIRE_NODE_SINK ? "sink"
                                      : "operation",
             yval_kind_name(m));
    yval_free(m);
    return WIRE_OK;
  }
  spec_node *n = core_calloc(1, sizeof *n);
  if (!n) {
    yval_free(m);
    return WIRE_ENOMEM;
  }
  n->kind = kind;
  n->map = m;
  n->line = m->line;
  n->col = m->col;
  const yval *id = yval_get(m, "id"), *type = yval_get(m, "type");
  const char *what = kind == WIRE_NODE_SOURCE ? "source"
                     : kind == WIRE_NODE_SINK ? "sink"
                                              : "operation";
  if (!id || id->kind != Y_SCALAR || !valid_id(id->str)) {
    if (!id)
      diag_add(&s->diags, f, m->line, m->col, "%s without 'id'", what);
    else
      diag_add(&s->diags, f, id->line, id->col,
               "invalid id%s%s%s: use letters, digits, '_' and '-'",
               id->kind == Y_SCALAR ? " '" : "",
               id->kind == Y_SCALAR ? id->str : "",
               id->kind == Y_SCALAR ? "'" : "");
  }
  if (!type || type->kind != Y_SCALAR || !*type->str)
    diag_add(&s->diags, f, type ? type->line : m->line,
             type ? type->col : m->col, "%s%s%s without a valid 'type'", what,
             id && id->kind == Y_SCALAR ? " " : "",
             id && id->kind == Y_SCALAR ? id->str : "");
  n->id = core_strdup(id && id->kind == Y_SCALAR ? id->str : "");
  n->type = core_strdup(type && type->kind == Y_SCALAR ? type->str : "");
  if (!n->id || !n->type) {
    node_free(n);
    return WIRE_ENOMEM;
  }
  const yval *inputs = yval_get(m, "inputs");
  if (inputs) {
    if (kind == WIRE_NODE_SOURCE) {
      diag_add(&s->diags, f, inputs->line, inputs->col,
               "source '%s' cannot have inputs", n->id);
    } else if (inputs->kind == Y_SCALAR) {
      if (add_input(n, inputs->str, inputs->len, inputs->line, inputs->col)) {
        node_free(n);
        return WIRE_ENOMEM;
      }
    } else if (inputs->kind == Y_SEQ) {
      for (size_t i = 0; i < inputs->n; i++) {
        const yval *it = inputs->items[i];
        if (it->kind != Y_SCALAR) {
          diag_add(&s->diags, f, it->line, it->col,
                   "inputs must be node ids, got %s", yval_kind_name(it));
          continue;
        }
        if (add_input(n, it->str, it->len, it->line, it->col)) {
          node_free(n);
          return WIRE_ENOMEM;
        }
      }
    } else {
      diag_add(&s->diags, f, inputs->line, inputs->col,
               "inputs must be a list of node ids");
    }
  }
  if (kind != WIRE_NODE_SOURCE && n->ninputs == 0 &&
      !(inputs && inputs->kind != Y_SEQ && inputs->kind != Y_SCALAR))
    diag_add(&s->diags, f, m->line, m->col, "%s '%s' needs 'inputs'", what,
             n->id);
  int rc = push_node(s, n);
  if (rc) node_free(n);
  return rc;
}

static const char *const top_keys[] = {
    "name", "description", "partitions", "partition_key", "queue_depth",
    "batch_size", "dead_letter", "sources", "operations", "sinks"};

static int set_uint(spec *s, const yval *v, const char *key, unsigned *out,
                    long min, long max) {
  char *end;
  long x = v->kind == Y_SCALAR ? strtol(v->str, &end, 10) : 0;
  if (v->kind != Y_SCALAR || !*v->str || *end || x < min || x > max) {
    diag_add(&s->diags, s->file, v->line, v->col,
             "'%s' must be an integer between %ld and %ld", key, min, max);
    return WIRE_ECONFIG;
  }
  *out = (unsigned)x;
  return WIRE_OK;
}

static int set_str(spec *s, const yval *v, const char *key, char **out) {
  if (v->kind != Y_SCALAR || !*v->str) {
    diag_add(&s->diags, s->file, v->line, v->col,
             "'%s' must be a non-empty string", key);
    return WIRE_ECONFIG;
  }
  char *d = core_strdup(v->str);
  if (!d) return WIRE_ENOMEM;
  core_free(*out);
  *out = d;
  return WIRE_OK;
}

/* Apply one pipeline-level setting. */
static int apply_setting(spec *s, const char *k, const yval *v) {
  if (!strcmp(k, "name")) return set_str(s, v, k, &s->name);
  if (!strcmp(k, "description")) return WIRE_OK;
  if (!strcmp(k, "partitions"))
    return set_uint(s, v, k, &s->partitions, 1, 1024);
  if (!strcmp(k, "queue_depth"))
    return set_uint(s, v, k, &s->queue_depth, 1, 65536);
  if (!strcmp(k, "batch_size"))
    return set_uint(s, v, k, &s->batch_size, 1, 65536);
  if (!strcmp(k, "dead_letter")) return set_str(s, v, k, &s->dead_letter);
  if (!strcmp(k, "partition_key")) {
    int rc = set_str(s, v, k, &s->partition_key);
    if (rc) return rc;
    json_path jp;
    if (json_path_parse(s->partition_key, &jp) != 0) {
      diag_add(&s->diags, s->file, v->line, v->col,
               "partition_key must be a simple path such as .user, got '%s'",
               s->partition_key);
      return WIRE_ECONFIG;
    }
    json_path_free(&jp);
    return WIRE_OK;
  }
  return WIRE_ENOTFOUND;
}

int spec_load_yaml(spec *s, const char *text, size_t len) {
  yval *root = yval_parse(text, len, s->file, &s->diags);
  if (!root) return s->diags.n ? WIRE_ECONFIG : WIRE_ENOMEM;
  int rc = WIRE_OK;
  if (root->kind != Y_MAP) {
    diag_add(&s->diags, s->file, root->line, root->col,
             "a pipeline definition must be a mapping (name, sources, "
             "operations, sinks), got %s",
             yval_kind_name(root));
    yval_free(root);
    return WIRE_ECONFIG;
  }
  for (size_t i = 0; i < root->n && rc != WIRE_ENOMEM; i++) {
    const yval *kv = root->keys[i];
    yval *v = root->items[i];
    wire_node_kind kind = 0;
    if (!strcmp(kv->str, "sources")) kind = WIRE_NODE_SOURCE;
    if (!strcmp(kv->str, "operations")) kind = WIRE_NODE_OP;
    if (!strcmp(kv->str, "sinks")) kind = WIRE_NODE_SINK;
    if (kind) {
      if (v->kind != Y_SEQ) {
        if (!(v->kind == Y_SCALAR && v->plain && v->len == 0))
          diag_add(&s->diags, s->file, v->line, v->col,
                   "'%s' must be a list", kv->str);
        continue;
      }
      for (size_t k = 0; k < v->n && rc != WIRE_ENOMEM; k++) {
        rc = node_from_yaml(s, kind, v->items[k]);
        v->items[k] = NULL; /* taken; the rest is freed with root */
      }
      continue;
    }
    int r = apply_setting(s, kv->str, v);
    if (r == WIRE_ENOMEM) rc = r;
    if (r == WIRE_ENOTFOUND) {
      const char *best = NULL;
      size_t bd = 3;
      for (size_t t = 0; t < WIRE_ARRAY_SIZE(top_keys); t++) {
        size_t d = cfg_edit_distance(kv->str, top_keys[t]);
        if (d < bd) bd = d, best = top_keys[t];
      }
      diag_add(&s->diags, s->file, kv->line, kv->col,
               "unknown pipeline key '%s'%s%s%s", kv->str,
               best ? " (did you mean '" : "", best ? best : "",
               best ? "'?)" : "");
    }
  }
  bool has_src = false, has_sink = false;
  for (size_t i = 0; i < s->n; i++) {
    has_src |= s->nodes[i]->kind == WIRE_NODE_SOURCE;
    has_sink |= s->nodes[i]->kind == WIRE_NODE_SINK;
  }
  if (!s->name)
    diag_add(&s->diags, s->file, root->line, root->col,
             "missing pipeline 'name'");
  if (!has_src && !yval_get(root, "sources"))
    diag_add(&s->diags, s->file, root->line, root->col,
             "missing 'sources' (at least one source)");
  if (!has_sink && !yval_get(root, "sinks"))
    diag_add(&s->diags, s->file, root->line, root->col,
             "missing 'sinks' (at least one sink)");
  yval_free(root);
  if (rc == WIRE_ENOMEM) return rc;
  return spec_validate(s);
}

int spec_add_node(spec *s, wire_node_kind kind, const char *id,
                  const char *type, const char *inputs_csv,
                  const char *options_yaml) {
  yval *m = NULL;
  if (options_yaml && *options_yaml) {
    m = yval_parse(options_yaml, strlen(options_yaml), s->file, &s->diags);
    if (!m) return WIRE_ECONFIG;
    if (m->kind != Y_MAP) {
      diag_add(&s->diags, s->file, m->line, m->col,
               "options of '%s' must be a mapping", id);
      yval_free(m);
      return WIRE_ECONFIG;
    }
  } else {
    m = core_calloc(1, sizeof *m);
    if (!m) return WIRE_ENOMEM;
    m->kind = Y_MAP;
  }
  /* Prepend id and type so that they look as if written. */
  yval *kid = core_calloc(1, sizeof *kid), *vid = core_calloc(1, sizeof *vid);
  yval *kty = core_calloc(1, sizeof *kty), *vty = core_calloc(1, sizeof *vty);
  yval **keys = core_malloc((m->n + 3) * sizeof *keys);
  yval **items = core_malloc((m->n + 3) * sizeof *items);
  if (!kid || !vid || !kty || !vty || !keys || !items) goto oom;
  *kid = (yval){.kind = Y_SCALAR, .str = core_strdup("id"), .len = 2};
  *vid = (yval){.kind = Y_SCALAR, .str = core_strdup(id), .len = strlen(id)};
  *kty = (yval){.kind = Y_SCALAR, .str = core_strdup("type"), .len = 4};
  *vty = (yval){.kind = Y_SCALAR, .str = core_strdup(type), .len = strlen(type)};
  if (!kid->str || !vid->str || !kty->str || !vty->str) goto oom;
  keys[0] = kid, items[0] = vid, keys[1] = kty, items[1] = vty;
  size_t n = 2;
  yval *kin = NULL, *vin = NULL;
  if (inputs_csv && *inputs_csv) {
    kin = core_calloc(1, sizeof *kin);
    vin = core_calloc(1, sizeof *vin);
    if (!kin || !vin) {
      core_free(kin);
      core_free(vin);
      goto oom;
    }
    *kin = (yval){.kind = Y_SCALAR, .str = core_strdup("inputs"), .len = 6};
    vin->kind = Y_SEQ;
    keys[n] = kin, items[n] = vin, n++;
    if (!kin->str) goto oom2;
    for (const char *p = inputs_csv; *p;) {
      const char *c = strchr(p, ',');
      size_t l = c ? (size_t)(c - p) : strlen(p);
      while (l && *p == ' ') p++, l--;
      while (l && p[l - 1] == ' ') l--;
      yval *it = core_calloc(1, sizeof *it);
      yval **nv = core_realloc(vin->items, (vin->n + 1) * sizeof *nv);
      if (!it || !nv) {
        core_free(it);
        goto oom2;
      }
      vin->items = nv;
      *it = (yval){.kind = Y_SCALAR, .str = core_strndup(p, l), .len = l};
      vin->items[vin->n++] = it;
      if (!it->str) goto oom2;
      p = c ? c + 1 : p + strlen(p);
    }
  }
  for (size_t i = 0; i < m->n; i++) keys[n + i] = m->keys[i], items[n + i] = m->items[i];
  core_free(m->keys);
  core_free(m->items);
  m->keys = keys;
  m->items = items;
  m->n += n;
  return node_from_yaml(s, kind, m);
oom2:
  yval_free(kin);
  yval_free(vin);
  n = 2;
oom:
  if (kid) core_free(kid->str), core_free(kid);
  if (vid) core_free(vid->str), core_free(vid);
  if (kty) core_free(kty->str), core_free(kty);
  if (vty) core_free(vty->str), core_free(vty);
  core_free(keys);
  core_free(items);
  yval_free(m);
  return WIRE_ENOMEM;
}

int spec_set(spec *s, const char *key, const char *value) {
  yval v = {.kind = Y_SCALAR, .str = (char *)value, .len = strlen(value),
            .plain = true};
  int rc = apply_setting(s, key, &v);
  if (rc == WIRE_ENOTFOUND) {
    diag_add(&s->diags, s->file, 0, 0, "unknown pipeline setting '%s'", key);
    return WIRE_EINVAL;
  }
  s->valid = false;
  return rc;
}

static const wire_option *node_table(spec_node *n) {
  if (n->source_vt) return n->source_vt->options;
  if (n->sink_vt) return n->sink_vt->options;
  if (n->op_vt) return n->op_vt->options;
  return NULL;
}

static void unknown_type(spec *s, spec_node *n) {
  const yval *t = yval_get(n->map, "type");
  int line = t ? t->line : n->line, col = t ? t->col : n->col;
  char known[512] = "";
  const char *best = NULL;
  size_t bd = 3;
  for (size_t i = 0; i < registry_count(s->ctx, n->kind); i++) {
    const char *name = registry_name(s->ctx, n->kind, i);
    size_t l = strlen(known);
    snprintf(known + l, sizeof known - l, "%s%s", l ? ", " : "", name);
    size_t d = cfg_edit_distance(n->type, name);
    if (d < bd) bd = d, best = name;
  }
  const char *what = n->kind == WIRE_NODE_SOURCE ? "source"
                     : n->kind == WIRE_NODE_SINK ? "sink"
                                                 : "operation";
  if (best)
    diag_add(&s->diags, s->file, line, col,
             "unknown %s type '%s' (did you mean '%s'?)", what, n->type, best);
  else
    diag_add(&s->diags, s->file, line, col, "unknown %s type '%s' (known: %s)",
             what, n->type, known);
}

/* Resolve "id" or "id.port" of input k of node n. */
static void resolve_input(spec *s, spec_node *n, spec_input *in) {
  const char *ref = in->ref;
  long idx = spec_find(s, ref);
  const char *port = NULL;
  char base[256];
  if (idx < 0) {
    const char *dot = strrchr(ref, '.');
    if (dot && (size_t)(dot - ref) < sizeof base) {
      memcpy(base, ref, (size_t)(dot - ref));
      base[dot - ref] = '\0';
      idx = spec_find(s, base);
      port = dot + 1;
    }
  }
  if (idx < 0) {
    diag_add(&s->diags, s->file, in->line, in->col,
             "input '%s' of %s '%s' does not exist", ref,
             n->kind == WIRE_NODE_SINK ? "sink" : "operation", n->id);
    in->node = (size_t)-1;
    return;
  }
  spec_node *from = s->nodes[idx];
  if (from->kind == WIRE_NODE_SINK) {
    diag_add(&s->diags, s->file, in->line, in->col,
             "input '%s' of '%s' is a sink; sinks have no output", ref, n->id);
    in->node = (size_t)-1;
    return;
  }
  in->node = (size_t)idx;
  in->port = 0;
  if (port) {
    if (!from->ports) {
      diag_add(&s->diags, s->file, in->line, in->col,
               "'%s' has no named outputs (use '%s')", from->id, from->id);
      in->node = (size_t)-1;
      return;
    }
    char list[256] = "";
    for (size_t p = 0; from->ports[p]; p++) {
      if (!strcmp(from->ports[p], port)) {
        in->port = (unsigned)p;
        return;
      }
      size_t l = strlen(list);
      snprintf(list + l, sizeof list - l, "%s%s", l ? ", " : "",
               from->ports[p]);
    }
    diag_add(&s->diags, s->file, in->line, in->col,
             "operation '%s' has no output '%s' (outputs: %s)", from->id, port,
             list);
    in->node = (size_t)-1;
  }
}

/* Kahn's algorithm; on a cycle, report one. */
static int topo_sort(spec *s) {
  size_t n = s->n;
  size_t *indeg = core_calloc(n ? n : 1, sizeof *indeg);
  size_t *order = core_malloc((n ? n : 1) * sizeof *order);
  if (!indeg || !order) {
    core_free(indeg);
    core_free(order);
    return WIRE_ENOMEM;
  }
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < s->nodes[i]->ninputs; k++)
      if (s->nodes[i]->inputs[k].node != (size_t)-1) indeg[i]++;
  size_t head = 0, tail = 0;
  for (size_t i = 0; i < n; i++)
    if (!indeg[i]) order[tail++] = i;
  while (head < tail) {
    size_t u = order[head++];
    for (size_t i = 0; i < n; i++)
      for (size_t k = 0; k < s->nodes[i]->ninputs; k++)
        if (s->nodes[i]->inputs[k].node == u && --indeg[i] == 0)
          order[tail++] = i;
  }
  if (tail < n) {
    /* Walk back along inputs from a node left in the cycle. */
    size_t start = 0;
    while (start < n && !indeg[start]) start++;
    char path[512] = "";
    size_t cur = start;
    size_t steps = 0;
    bool *seen = core_calloc(n, sizeof *seen);
    while (seen && !seen[cur] && steps++ < n) {
      seen[cur] = true;
      size_t l = strlen(path);
      snprintf(path + l, sizeof path - l, "%s%s", s->nodes[cur]->id, " <- ");
      size_t next = cur;
      for (size_t k = 0; k < s->nodes[cur]->ninputs; k++) {
        size_t in = s->nodes[cur]->inputs[k].node;
        if (in != (size_t)-1 && indeg[in]) {
          next = in;
          break;
        }
      }
      cur = next;
    }
    size_t l = strlen(path);
    snprintf(path + l, sizeof path - l, "%s", s->nodes[cur]->id);
    core_free(seen);
    diag_add(&s->diags, s->file, s->nodes[cur]->line, s->nodes[cur]->col,
             "cycle: %s", path);
  }
  core_free(indeg);
  core_free(s->topo);
  s->topo = order;
  return WIRE_OK;
}

int spec_validate(spec *s) {
  release_ops(s);
  s->valid = false;
  size_t before_errors = s->diags.n;
  /* 1. ids and types */
  for (size_t i = 0; i < s->n; i++) {
    spec_node *n = s->nodes[i];
    for (size_t j = 0; j < i && *n->id; j++)
      if (!strcmp(s->nodes[j]->id, n->id)) {
        const yval *idv = yval_get(n->map, "id");
        diag_add(&s->diags, s->file, idv ? idv->line : n->line,
                 idv ? idv->col : n->col,
                 "duplicate id '%s' (first defined at line %d)", n->id,
                 s->nodes[j]->line);
        break;
      }
    n->source_vt = NULL, n->sink_vt = NULL, n->op_vt = NULL;
    if (!*n->type) continue;
    if (n->kind == WIRE_NODE_SOURCE) n->source_vt = registry_source(s->ctx, n->type);
    if (n->kind == WIRE_NODE_SINK) n->sink_vt = registry_sink(s->ctx, n->type);
    if (n->kind == WIRE_NODE_OP) n->op_vt = registry_op(s->ctx, n->type);
    if (!n->source_vt && !n->sink_vt && !n->op_vt) unknown_type(s, n);
  }
  /* 2. options, then component checks (op init gives the ports) */
  for (size_t i = 0; i < s->n; i++) {
    spec_node *n = s->nodes[i];
    n->cfg.table = node_table(n);
    if (!n->source_vt && !n->sink_vt && !n->op_vt) continue;
    if (cfg_check_options(s, n, n->cfg.table) != WIRE_OK) continue;
    int rc = WIRE_OK;
    size_t nd = s->diags.n;
    if (n->source_vt && n->source_vt->validate)
      rc = n->source_vt->validate(&n->cfg);
    if (n->sink_vt && n->sink_vt->validate) rc = n->sink_vt->validate(&n->cfg);
    if (n->op_vt) {
      rc = n->op_vt->init(&n->cfg, &n->op_shared);
      if (rc == WIRE_OK) {
        n->op_inited = true;
        n->ports = n->op_vt->outputs ? n->op_vt->outputs(n->op_shared) : NULL;
        n->nports = 0;
        for (size_t p = 0; n->ports && n->ports[p]; p++) n->nports++;
        if (!n->nports) n->nports = 1, n->ports = NULL;
      }
    }
    if (rc != WIRE_OK && s->diags.n == nd)
      diag_add(&s->diags, s->file, n->line, n->col, "%s '%s': %s",
               n->kind == WIRE_NODE_SOURCE ? "source"
               : n->kind == WIRE_NODE_SINK ? "sink"
                                           : "operation",
               n->id, wire_strerror(rc));
  }
  /* 3. inputs and the graph */
  for (size_t i = 0; i < s->n; i++)
    for (size_t k = 0; k < s->nodes[i]->ninputs; k++)
      resolve_input(s, s->nodes[i], &s->nodes[i]->inputs[k]);
  if (topo_sort(s) != WIRE_OK) return WIRE_ENOMEM;
  diag_sort(&s->diags);
  if (s->diags.n) {
    (void)before_errors;
    release_ops(s);
    return WIRE_ECONFIG;
  }
  s->valid = true;
  return WIRE_OK;
}
