/*
 * Contexts: the registry of source, sink and operation types and the log
 * configuration.  Replaces process-wide registries so that several
 * independent users of libwire can share a process.
 */
#include <string.h>

#include "connectors/connectors.h"
#include "ops/ops.h"
#include "pipe.h"

static const void *vt_find(const vt_list *l, const char *name,
                           const char *(*name_of)(const void *)) {
  for (size_t i = 0; i < l->n; i++)
    if (strcmp(name_of(l->v[i]), name) == 0) return l->v[i];
  return NULL;
}

static const char *source_name(const void *v) {
  return ((const wire_source_vtable *)v)->name;
}
static const char *sink_name(const void *v) {
  return ((const wire_sink_vtable *)v)->name;
}
static const char *op_name(const void *v) {
  return ((const wire_op_vtable *)v)->name;
}

static int vt_add(wire_ctx *ctx, vt_list *l, const void *vt, void *user,
                  const char *kind,
                  const char *name, uint32_t version, uint32_t max_version,
                  bool methods_ok, const char *(*name_of)(const void *)) {
  if (version == 0 || version > max_version)
    return core_msg(ctx->errmsg, sizeof ctx->errmsg, WIRE_EINVAL,
                    "register %s '%s': unsupported vtable version %u (this "
                    "library knows 1..%u)",
                    kind, name ? name : "?", version, max_version);
  if (!name || !*name)
    return core_msg(ctx->errmsg, sizeof ctx->errmsg, WIRE_EINVAL,
                    "register %s: missing name", kind);
  if (!methods_ok)
    return core_msg(ctx->errmsg, sizeof ctx->errmsg, WIRE_EINVAL,
                    "register %s '%s': a required method is NULL", kind, name);
  if (vt_find(l, name, name_of))
    return core_msg(ctx->errmsg, sizeof ctx->errmsg, WIRE_EEXISTS,
                    "register %s '%s': a %s type with this name exists", kind,
                    name, kind);
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    const void **v = core_realloc(l->v, cap * sizeof *v);
    if (!v) return WIRE_ENOMEM;
    l->v = v;
    void **u = core_realloc(l->user, cap * sizeof *u);
    if (!u) return WIRE_ENOMEM;
    l->user = u;
    l->cap = cap;
  }
  l->user[l->n] = user;
  l->v[l->n++] = vt;
  return WIRE_OK;
}

WIRE_API int wire_ctx_register_source(wire_ctx *ctx,
                                      const wire_source_vtable *vt,
                                      void *user) {
  if (!ctx || !vt) return WIRE_EINVAL;
  return vt_add(ctx, &ctx->sources, vt, user, "source", vt->name, vt->version,
                WIRE_SOURCE_VERSION,
                vt->open && vt->poll && vt->close, source_name);
}

WIRE_API int wire_ctx_register_sink(wire_ctx *ctx, const wire_sink_vtable *vt,
                                    void *user) {
  if (!ctx || !vt) return WIRE_EINVAL;
  return vt_add(ctx, &ctx->sinks, vt, user, "sink", vt->name, vt->version,
                WIRE_SINK_VERSION, vt->open && vt->write && vt->close,
                sink_name);
}

WIRE_API int wire_ctx_register_op(wire_ctx *ctx, const wire_op_vtable *vt,
                                  void *user) {
  if (!ctx || !vt) return WIRE_EINVAL;
  return vt_add(ctx, &ctx->ops, vt, user, "operation", vt->name, vt->version,
                WIRE_OP_VERSION, vt->init && vt->process, op_name);
}

WIRE_API int wire_ctx_new(wire_ctx **out) {
  *out = NULL;
  wire_ctx *ctx = core_calloc(1, sizeof *ctx);
  if (!ctx) return WIRE_ENOMEM;
  core_log_init(&ctx->log);
  static const wire_source_vtable *const sources[] = {
      &conn_file_source, &conn_generator_source, &conn_stdin_source,
      &conn_kafka_source};
  static const wire_sink_vtable *const sinks[] = {
      &conn_file_sink, &conn_stdout_sink, &conn_null_sink, &conn_kafka_sink};
  static const wire_op_vtable *const ops[] = {
      &ops_jq, &ops_set, &ops_rename, &ops_drop,
      &ops_route, &ops_sample, &ops_dedupe};
  int rc = WIRE_OK;
  for (size_t i = 0; rc == WIRE_OK && i < WIRE_ARRAY_SIZE(sources); i++)
    rc = wire_ctx_register_source(ctx, sources[i], NULL);
  for (size_t i = 0; rc == WIRE_OK && i < WIRE_ARRAY_SIZE(sinks); i++)
    rc = wire_ctx_register_sink(ctx, sinks[i], NULL);
  for (size_t i = 0; rc == WIRE_OK && i < WIRE_ARRAY_SIZE(ops); i++)
    rc = wire_ctx_register_op(ctx, ops[i], NULL);
  if (rc != WIRE_OK) {
    wire_ctx_free(ctx);
    return rc;
  }
  *out = ctx;
  return WIRE_OK;
}

WIRE_API void wire_ctx_free(wire_ctx *ctx) {
  if (!ctx) return;
  core_free(ctx->sources.v);
  core_free(ctx->sinks.v);
  core_free(ctx->ops.v);
  core_free(ctx->sources.user);
  core_free(ctx->sinks.user);
  core_free(ctx->ops.user);
  core_free(ctx);
}

WIRE_API void wire_ctx_set_log(wire_ctx *ctx, wire_log_level level,
                               wire_log_fn fn, void *user) {
  ctx->log.level = level;
  ctx->log.fn = fn;
  ctx->log.user = user;
}

WIRE_API const char *wire_ctx_errmsg(const wire_ctx *ctx) {
  return ctx ? ctx->errmsg : "";
}

const wire_source_vtable *registry_source(const wire_ctx *ctx, const char *n) {
  return vt_find(&ctx->sources, n, source_name);
}
const wire_sink_vtable *registry_sink(const wire_ctx *ctx, const char *n) {
  return vt_find(&ctx->sinks, n, sink_name);
}
const wire_op_vtable *registry_op(const wire_ctx *ctx, const char *n) {
  return vt_find(&ctx->ops, n, op_name);
}

static const vt_list *kind_list(const wire_ctx *ctx, wire_node_kind kind) {
  switch (kind) {
    case WIRE_NODE_SOURCE: return &ctx->sources;
    case WIRE_NODE_SINK: return &ctx->sinks;
    case WIRE_NODE_OP: return &ctx->ops;
  }
  return NULL;
}

size_t registry_count(const wire_ctx *ctx, wire_node_kind kind) {
  const vt_list *l = kind_list(ctx, kind);
  return l ? l->n : 0;
}

const char *registry_name(const wire_ctx *ctx, wire_node_kind kind, size_t i) {
  const vt_list *l = kind_list(ctx, kind);
  if (!l || i >= l->n) return NULL;
  switch (kind) {
    case WIRE_NODE_SOURCE: return source_name(l->v[i]);
    case WIRE_NODE_SINK: return sink_name(l->v[i]);
    case WIRE_NODE_OP: return op_name(l->v[i]);
  }
  return NULL;
}

WIRE_API void *wire_config_user(const wire_config *cfg) {
  if (!cfg || !cfg->node || !cfg->s) return NULL;
  const vt_list *l = kind_list(cfg->s->ctx, cfg->node->kind);
  for (size_t i = 0; l && i < l->n; i++) {
    const char *name = registry_name(cfg->s->ctx, cfg->node->kind, i);
    if (name && cfg->node->type && strcmp(name, cfg->node->type) == 0)
      return l->user[i];
  }
  return NULL;
}

WIRE_API size_t wire_ctx_type_count(const wire_ctx *ctx, int kind) {
  return ctx ? registry_count(ctx, (wire_node_kind)kind) : 0;
}

WIRE_API int wire_ctx_type_info(const wire_ctx *ctx, int kind, size_t i,
                                const char **name, const char **doc,
                                const wire_option **options) {
  const vt_list *l = ctx ? kind_list(ctx, (wire_node_kind)kind) : NULL;
  if (!l || i >= l->n) return WIRE_EINVAL;
  const char *n = NULL, *d = NULL;
  const wire_option *o = NULL;
  switch ((wire_node_kind)kind) {
    case WIRE_NODE_SOURCE: {
      const wire_source_vtable *vt = l->v[i];
      n = vt->name, d = vt->doc, o = vt->options;
      break;
    }
    case WIRE_NODE_SINK: {
      const wire_sink_vtable *vt = l->v[i];
      n = vt->name, d = vt->doc, o = vt->options;
      break;
    }
    case WIRE_NODE_OP: {
      const wire_op_vtable *vt = l->v[i];
      n = vt->name, d = vt->doc, o = vt->options;
      break;
    }
  }
  if (name) *name = n;
  if (doc) *doc = d ? d : "";
  if (options) *options = o;
  return WIRE_OK;
}
