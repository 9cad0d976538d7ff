/*
 * Stages: the handle a component's methods receive.  Error messages with
 * context, logging tagged with the DAG node, and record rejection: counted,
 * logged (rate-limited) and written to the pipeline's dead-letter file when
 * one is configured.
 */
#include <stdio.h>
#include <string.h>

#include "pipe.h"

WIRE_API const wire_config *wire_stage_config(const wire_stage *st) {
  return &st->node->sn->cfg;
}

WIRE_API const char *wire_stage_id(const wire_stage *st) {
  return st->node->sn->id;
}

WIRE_API unsigned wire_stage_partition(const wire_stage *st) {
  return st->partition;
}

WIRE_API unsigned wire_stage_partitions(const wire_stage *st) {
  return st->p->partitions;
}

WIRE_API int wire_stage_error(wire_stage *st, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  core_vmsg(st->errmsg, sizeof st->errmsg, code, fmt, ap);
  va_end(ap);
  st->errcode = code;
  return code;
}

WIRE_API void wire_stage_log(wire_stage *st, wire_log_level level,
                             const char *fmt, ...) {
  const core_log *log = &st->p->ctx->log;
  if (!core_log_enabled(log, level)) return;
  char comp[256];
  snprintf(comp, sizeof comp, "pipeline %s: %s", st->p->spec.name,
           st->node->label);
  va_list ap;
  va_start(ap, fmt);
  core_vlogf(log, level, comp, fmt, ap);
  va_end(ap);
}

static void dead_letter(wire_stage *st, const wire_event *ev, const void *raw,
                        size_t raw_len, const char *reason) {
  wire_pipeline *p = st->p;
  core_buf b = {0};
  char id[37] = "";
  if (ev) wire_uuid_format(ev->id, id);
  core_buf_printf(&b, "{\"pipeline\":");
  core_buf_json_string(&b, p->spec.name, strlen(p->spec.name));
  core_buf_printf(&b, ",\"stage\":");
  core_buf_json_string(&b, st->node->sn->id, strlen(st->node->sn->id));
  core_buf_printf(&b, ",\"reason\":");
  core_buf_json_string(&b, reason, strlen(reason));
  if (ev) core_buf_printf(&b, ",\"id\":\"%s\"", id);
  core_buf_printf(&b, ",\"record\":");
  const char *data = ev ? (const char *)ev->value : raw;
  size_t len = ev ? ev->value_len : raw_len;
  core_buf_json_string(&b, data ? data : "", data ? len : 0);
  core_buf_append(&b, "}\n", 2);
  if (b.data) {
    pthread_mutex_lock(&p->dlq_mu);
    if (fwrite(b.data, 1, b.len, p->dlq) != b.len || fflush(p->dlq) != 0)
      engine_log(p, WIRE_LOG_ERROR, "dead-letter file %s: write failed",
                 p->spec.dead_letter);
    pthread_mutex_unlock(&p->dlq_mu);
  }
  core_buf_free(&b);
}

WIRE_API void wire_stage_reject(wire_stage *st, const wire_event *ev,
                                const void *raw, size_t raw_len,
                                const char *reason) {
  rnode *n = st->node;
  atomic_fetch_add_explicit(&n->errors, 1, memory_order_relaxed);
  st->rejected++;
  if (!reason) reason = "rejected";
  if (st->p->dlq) dead_letter(st, ev, raw, raw_len, reason);
  /* Log the first ten rejections of a node, then every thousandth. */
  uint64_t k = atomic_fetch_add(&n->rejects_logged, 1);
  if (k < 10 || k % 1000 == 0)
    wire_stage_log(st, WIRE_LOG_WARN, "rejected record%s: %s",
                   st->p->dlq ? " (dead-lettered)" : "", reason);
}

WIRE_API int wire_stage_acked_position(wire_stage *st, char *buf, size_t len) {
  if (!st || !buf || !len) return WIRE_EINVAL;
  rnode *n = st->node;
  if (n->kind != WIRE_NODE_SOURCE || !n->track_init) return WIRE_EINVAL;
  char *wm = NULL;
  track_watermark(&n->track, NULL, &wm);
  if (!wm) return WIRE_ENOMEM;
  size_t l = strlen(wm);
  int rc = l < len ? WIRE_OK : WIRE_ETOOBIG;
  snprintf(buf, len, "%s", wm);
  core_free(wm);
  return rc;
}
