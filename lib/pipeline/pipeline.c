/*
 * The public pipeline API: definitions (YAML or programmatic), validation
 * diagnostics, lifecycle (start, stop, wait) and statistics.  The engine
 * (engine.c) does the running; the config layer (lib/config) the parsing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pipe.h"

static wire_pipeline *pipeline_alloc(wire_ctx *ctx, const char *file,
                                     const char *name) {
  wire_pipeline *p = core_calloc(1, sizeof *p);
  if (!p) return NULL;
  p->ctx = ctx;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  pthread_mutex_init(&p->dlq_mu, NULL);
  atomic_init(&p->state, WIRE_PIPELINE_CREATED);
  spec_init(&p->spec, ctx, file, name);
  return p;
}

WIRE_API int wire_pipeline_parse(wire_ctx *ctx, const char *yaml, size_t len,
                                 const char *file, wire_pipeline **out) {
  if (!out) return WIRE_EINVAL;
  *out = NULL;
  if (!ctx || !yaml) return WIRE_EINVAL;
  wire_pipeline *p = pipeline_alloc(ctx, file ? file : "<pipeline>", NULL);
  if (!p) return WIRE_ENOMEM;
  *out = p;
  int rc = spec_load_yaml(&p->spec, yaml, len);
  if (rc == WIRE_ECONFIG)
    core_msg(p->errmsg, sizeof p->errmsg, rc,
             "%s: invalid pipeline definition (%zu problem%s)",
             p->spec.file, p->spec.diags.n, p->spec.diags.n == 1 ? "" : "s");
  else if (rc < 0)
    core_msg(p->errmsg, sizeof p->errmsg, rc, "%s: %s", p->spec.file,
             wire_strerror(rc));
  return rc;
}

WIRE_API int wire_pipeline_load(wire_ctx *ctx, const char *path,
                                wire_pipeline **out) {
  if (!out) return WIRE_EINVAL;
  *out = NULL;
  if (!ctx || !path) return WIRE_EINVAL;
  FILE *f = fopen(path, "rb");
  if (!f) {
    core_msg(ctx->errmsg, sizeof ctx->errmsg, WIRE_EIO, "open %s: %s", path,
             strerror(errno));
    return WIRE_EIO;
  }
  core_buf b = {0};
  char chunk[65536];
  size_t n;
  int rc = WIRE_OK;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    if ((rc = core_buf_append(&b, chunk, n))) break;
  if (rc == WIRE_OK && ferror(f)) {
    core_msg(ctx->errmsg, sizeof ctx->errmsg, WIRE_EIO, "read %s: %s", path,
             strerror(errno));
    rc = WIRE_EIO;
  }
  fclose(f);
  if (rc == WIRE_OK)
    rc = wire_pipeline_parse(ctx, b.data ? b.data : "", b.len, path, out);
  core_buf_free(&b);
  return rc;
}

WIRE_API int wire_pipeline_new(wire_ctx *ctx, const char *name,
                               wire_pipeline **out) {
  if (!out) return WIRE_EINVAL;
  *out = NULL;
  if (!ctx || !name) return WIRE_EINVAL;
  wire_pipeline *p = pipeline_alloc(ctx, "<pipeline>", name);
  if (!p || !p->spec.name) {
    wire_pipeline_free(p);
    return WIRE_ENOMEM;
  }
  *out = p;
  return WIRE_OK;
}

static int need_created(wire_pipeline *p) {
  if (atomic_load(&p->state) != WIRE_PIPELINE_CREATED)
    return core_msg(p->errmsg, sizeof p->errmsg, WIRE_ESTATE,
                    "pipeline %s: already started", p->spec.name);
  return WIRE_OK;
}

WIRE_API int wire_pipeline_add(wire_pipeline *p, wire_node_kind kind,
                               const char *id, const char *type,
                               const char *inputs, const char *options_yaml) {
  if (!p || !id || !type) return WIRE_EINVAL;
  int rc = need_created(p);
  if (rc) return rc;
  return spec_add_node(&p->spec, kind, id, type, inputs, options_yaml);
}

WIRE_API int wire_pipeline_set(wire_pipeline *p, const char *key,
                               const char *value) {
  if (!p || !key || !value) return WIRE_EINVAL;
  int rc = need_created(p);
  if (rc) return rc;
  return spec_set(&p->spec, key, value);
}

WIRE_API int wire_pipeline_validate(wire_pipeline *p) {
  if (!p) return WIRE_EINVAL;
  int rc = spec_validate(&p->spec);
  if (rc == WIRE_ECONFIG)
    core_msg(p->errmsg, sizeof p->errmsg, rc,
             "%s: invalid pipeline definition (%zu problem%s)",
             p->spec.file, p->spec.diags.n, p->spec.diags.n == 1 ? "" : "s");
  return rc;
}

WIRE_API size_t wire_pipeline_diag_count(const wire_pipeline *p) {
  return p ? p->spec.diags.n : 0;
}

WIRE_API const wire_diag *wire_pipeline_diag(const wire_pipeline *p,
                                             size_t i) {
  return p && i < p->spec.diags.n ? &p->spec.diags.v[i] : NULL;
}

WIRE_API const char *wire_pipeline_name(const wire_pipeline *p) {
  return p && p->spec.name ? p->spec.name : "";
}

WIRE_API int wire_pipeline_set_resume(wire_pipeline *p, const char *source_id,
                                      const char *position) {
  if (!p || !source_id || !position) return WIRE_EINVAL;
  int rc = need_created(p);
  if (rc) return rc;
  for (size_t i = 0; i < p->nresume; i++) {
    if (strcmp(p->resume[i].id, source_id) == 0) {
      char *pos = core_strdup(position);
      if (!pos) return WIRE_ENOMEM;
      core_free(p->resume[i].pos);
      p->resume[i].pos = pos;
      return WIRE_OK;
    }
  }
  resume_ent *r = core_realloc(p->resume, (p->nresume + 1) * sizeof *r);
  if (!r) return WIRE_ENOMEM;
  p->resume = r;
  r[p->nresume].id = core_strdup(source_id);
  r[p->nresume].pos = core_strdup(position);
  if (!r[p->nresume].id || !r[p->nresume].pos) {
    core_free(r[p->nresume].id);
    core_free(r[p->nresume].pos);
    return WIRE_ENOMEM;
  }
  p->nresume++;
  return WIRE_OK;
}

WIRE_API int wire_pipeline_start(wire_pipeline *p) {
  if (!p) return WIRE_EINVAL;
  int rc = need_created(p);
  if (rc) return rc;
  if (!p->spec.valid && (rc = wire_pipeline_validate(p)) != WIRE_OK)
    return rc;
  for (size_t i = 0; i < p->nresume; i++) {
    long k = spec_find(&p->spec, p->resume[i].id);
    if (k < 0 || p->spec.nodes[k]->kind == WIRE_NODE_OP)
      return core_msg(p->errmsg, sizeof p->errmsg, WIRE_ENOTFOUND,
                      "resume position for unknown source or sink '%s'",
                      p->resume[i].id);
  }
  p->errmsg[0] = '\0';
  rc = engine_start(p);
  if (rc < 0) {
    atomic_store(&p->state, WIRE_PIPELINE_FAILED);
    p->errcode = rc;
    engine_log(p, WIRE_LOG_ERROR, "start: %s", p->errmsg);
    return rc;
  }
  engine_log(p, WIRE_LOG_INFO, "started (%u partition%s)", p->partitions,
             p->partitions == 1 ? "" : "s");
  return WIRE_OK;
}

WIRE_API void wire_pipeline_stop(wire_pipeline *p) {
  if (p) atomic_store(&p->stop, true);
}

static bool all_exited(wire_pipeline *p) {
  return p->threads_exited == p->threads_total;
}

WIRE_API int wire_pipeline_wait(wire_pipeline *p, int timeout_ms) {
  if (!p) return WIRE_EINVAL;
  int st = atomic_load(&p->state);
  if (st == WIRE_PIPELINE_CREATED)
    return core_msg(p->errmsg, sizeof p->errmsg, WIRE_ESTATE,
                    "pipeline %s: not started", p->spec.name);
  if (st == WIRE_PIPELINE_RUNNING || st == WIRE_PIPELINE_STOPPING) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    if (timeout_ms >= 0) {
      deadline.tv_sec += timeout_ms / 1000;
      deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
      if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
      }
    }
    pthread_mutex_lock(&p->mu);
    while (!all_exited(p)) {
      if (timeout_ms < 0) {
        pthread_cond_wait(&p->cv, &p->mu);
      } else if (pthread_cond_timedwait(&p->cv, &p->mu, &deadline) ==
                     ETIMEDOUT &&
                 !all_exited(p)) {
        pthread_mutex_unlock(&p->mu);
        return WIRE_ETIMEDOUT;
      }
    }
    pthread_mutex_unlock(&p->mu);
    engine_join(p);
    engine_teardown(p);
    p->end_ns = core_monotonic_ns();
    int end = atomic_load(&p->failed)  ? WIRE_PIPELINE_FAILED
              : atomic_load(&p->stop) ? WIRE_PIPELINE_STOPPED
                                      : WIRE_PIPELINE_FINISHED;
    atomic_store(&p->state, end);
    engine_log(p, WIRE_LOG_INFO, "%s", wire_pipeline_state_name(end));
  }
  return atomic_load(&p->state) == WIRE_PIPELINE_FAILED
             ? (p->errcode ? p->errcode : WIRE_EFAILED)
             : WIRE_OK;
}

WIRE_API wire_pipeline_state wire_pipeline_get_state(const wire_pipeline *p) {
  wire_pipeline_state s = atomic_load(&((wire_pipeline *)p)->state);
  if (s == WIRE_PIPELINE_RUNNING && atomic_load(&((wire_pipeline *)p)->stop))
    s = WIRE_PIPELINE_STOPPING;
  return s;
}

WIRE_API const char *wire_pipeline_state_name(wire_pipeline_state s) {
  switch (s) {
    case WIRE_PIPELINE_CREATED: return "created";
    case WIRE_PIPELINE_RUNNING: return "running";
    case WIRE_PIPELINE_STOPPING: return "stopping";
    case WIRE_PIPELINE_FINISHED: return "finished";
    case WIRE_PIPELINE_STOPPED: return "stopped";
    case WIRE_PIPELINE_FAILED: return "failed";
  }
  return "unknown";
}

WIRE_API const char *wire_pipeline_errmsg(const wire_pipeline *p) {
  return p ? p->errmsg : "";
}

WIRE_API size_t wire_pipeline_node_count(const wire_pipeline *p) {
  return p ? p->spec.n : 0;
}

WIRE_API int wire_pipeline_node_stats(const wire_pipeline *p, size_t i,
                                      wire_node_stats *out) {
  if (!p || !out || i >= p->spec.n) return WIRE_EINVAL;
  memset(out, 0, sizeof *out);
  out->lag = -1;
  const spec_node *sn = p->spec.nodes[i];
  out->id = sn->id;
  out->type = sn->type;
  out->kind = sn->kind;
  if (p->nodes && i < p->n) {
    rnode *r = &p->nodes[i];
    out->in = atomic_load_explicit(&r->in, memory_order_relaxed);
    out->out = atomic_load_explicit(&r->out, memory_order_relaxed);
    out->dropped = atomic_load_explicit(&r->dropped, memory_order_relaxed);
    out->errors = atomic_load_explicit(&r->errors, memory_order_relaxed);
    out->bytes_in = atomic_load_explicit(&r->bytes_in, memory_order_relaxed);
    out->bytes_out = atomic_load_explicit(&r->bytes_out, memory_order_relaxed);
    if (r->kind == WIRE_NODE_SOURCE) {
      const char *unit = atomic_load(&r->lag_unit);
      int64_t lag = atomic_load(&r->lag);
      if (unit && lag >= 0) {
        out->lag = lag;
        out->lag_unit = unit;
      }
    }
  }
  return WIRE_OK;
}

WIRE_API int wire_pipeline_watermark(const wire_pipeline *p,
                                     const char *source_id, char *buf,
                                     size_t len) {
  if (!p || !source_id || !buf || !len) return WIRE_EINVAL;
  long k = spec_find(&p->spec, source_id);
  if (k < 0 || p->spec.nodes[k]->kind != WIRE_NODE_SOURCE)
    return WIRE_ENOTFOUND;
  buf[0] = '\0';
  if (!p->nodes || !p->nodes[k].track_init) {
    for (size_t i = 0; i < p->nresume; i++)
      if (strcmp(p->resume[i].id, source_id) == 0)
        snprintf(buf, len, "%s", p->resume[i].pos);
    return WIRE_OK;
  }
  char *wm = NULL;
  if (!track_watermark(&p->nodes[k].track, NULL, &wm)) return WIRE_OK;
  if (!wm) return WIRE_ENOMEM;
  snprintf(buf, len, "%s", wm);
  core_free(wm);
  return WIRE_OK;
}

WIRE_API double wire_pipeline_elapsed(const wire_pipeline *p) {
  if (!p || !p->start_ns) return 0;
  int64_t end = p->end_ns ? p->end_ns : core_monotonic_ns();
  return (double)(end - p->start_ns) / 1e9;
}

WIRE_API void wire_pipeline_free(wire_pipeline *p) {
  if (!p) return;
  int st = atomic_load(&p->state);
  if (st == WIRE_PIPELINE_RUNNING || st == WIRE_PIPELINE_STOPPING) {
    wire_pipeline_stop(p);
    wire_pipeline_wait(p, -1);
  }
  engine_teardown(p);
  for (size_t i = 0; p->nodes && i < p->n; i++) {
    rnode *r = &p->nodes[i];
    for (size_t k = 0; r->consumers && k < r->nports; k++)
      core_free(r->consumers[k].v);
    core_free(r->consumers);
    if (r->track_init) track_destroy(&r->track);
    txn_destroy(r);
  }
  core_free(p->nodes);
  for (size_t i = 0; i < p->nresume; i++) {
    core_free(p->resume[i].id);
    core_free(p->resume[i].pos);
  }
  core_free(p->resume);
  spec_free(&p->spec);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->cv);
  pthread_mutex_destroy(&p->dlq_mu);
  core_free(p);
}
