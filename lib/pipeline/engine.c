/*
 * The pipeline engine: threads, queues and the flow of batches.
 *
 *   source threads --(partition by key)--> worker queues (bounded)
 *   worker thread per partition: runs the operations of the DAG in place
 *   --> sink queues (bounded) --> sink threads: write, flush, acknowledge
 *
 * Bounded queues give backpressure: a slow sink fills its queue, the workers
 * block pushing into it, the worker queues fill, and the sources block.
 * Memory is bounded by (queue depth x batch size) per queue plus the batches
 * a sink holds between flushes.
 *
 * Shutdown cascades: when every source has ended (exhausted, or stopped by
 * wire_pipeline_stop()), the worker queues are closed; workers drain them
 * and exit; the last worker closes the sink queues; sinks drain, flush and
 * exit.  Component close() methods run afterwards on the thread that waits.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pipe.h"

#define SINK_MAX_PENDING 64
#define SINK_IDLE_FLUSH_NS (10 * 1000000LL)
#define OPEN_ATTEMPTS 5
#define STOP_RETRY_ATTEMPTS 5

void engine_log(wire_pipeline *p, wire_log_level lv, const char *fmt, ...) {
  if (!core_log_enabled(&p->ctx->log, lv)) return;
  char comp[160];
  snprintf(comp, sizeof comp, "pipeline %s", p->spec.name);
  va_list ap;
  va_start(ap, fmt);
  core_vlogf(&p->ctx->log, lv, comp, fmt, ap);
  va_end(ap);
}

void engine_fail(wire_pipeline *p, int code, const char *fmt, ...) {
  pthread_mutex_lock(&p->mu);
  bool first = !atomic_load(&p->failed);
  if (first) {
    va_list ap;
    va_start(ap, fmt);
    core_vmsg(p->errmsg, sizeof p->errmsg, code, fmt, ap);
    va_end(ap);
    p->errcode = code < 0 ? code : WIRE_EFAILED;
    atomic_store(&p->failed, true);
    atomic_store(&p->stop, true);
  }
  pthread_mutex_unlock(&p->mu);
  if (first) engine_log(p, WIRE_LOG_ERROR, "failed: %s", p->errmsg);
}

/* Message of a failed component call: the stage's own text when it set one,
 * else the code's. */
static const char *stage_msg(wire_stage *st, int rc) {
  return st->errmsg[0] ? st->errmsg : wire_strerror(rc);
}

static int backoff_ms(int attempt, core_rng *r) {
  int base = 50 << (attempt < 7 ? attempt : 7); /* 50 ms .. 6.4 s */
  if (base > 5000) base = 5000;
  return base / 2 + (int)(core_rng_double(r) * (base / 2));
}

/* Sleep in short steps so that a stop request is noticed. */
static void sleep_interruptible(wire_pipeline *p, int ms) {
  while (ms > 0 && !atomic_load(&p->stop)) {
    int step = ms < 20 ? ms : 20;
    core_sleep_ms(step);
    ms -= step;
  }
}

static void thread_exit(wire_pipeline *p) {
  pthread_mutex_lock(&p->mu);
  p->threads_exited++;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

static void sinks_close_queues(wire_pipeline *p) {
  for (size_t i = 0; i < p->n; i++)
    if (p->nodes[i].q_init) core_queue_close(&p->nodes[i].q);
}

static void worker_done(wire_pipeline *p) {
  if (atomic_fetch_sub(&p->workers_running, 1) == 1) sinks_close_queues(p);
}

static void source_done(wire_pipeline *p) {
  if (atomic_fetch_sub(&p->sources_running, 1) == 1)
    for (unsigned i = 0; i < p->partitions; i++) core_queue_close(&p->wq[i]);
}

/* ---- sources ---------------------------------------------------------- */

static void push_worker(wire_pipeline *p, unsigned w, wire_batch *b) {
  if (core_queue_push(&p->wq[w], b) != WIRE_OK) batch_unref(b);
}

/* Hand a source batch to the partition workers; takes the reference. */
static int dispatch(wire_pipeline *p, wire_batch *b, uint64_t *rr) {
  unsigned P = p->partitions;
  if (P == 1) {
    push_worker(p, 0, b);
    return WIRE_OK;
  }
  bool keyed = p->has_pkey;
  for (size_t i = 0; !keyed && i < b->n; i++) keyed = b->ev[i].key_len > 0;
  if (!keyed) { /* no key: any partition will do, keep batches whole */
    push_worker(p, (unsigned)((*rr)++ % P), b);
    return WIRE_OK;
  }
  wire_batch *slice[P];
  memset(slice, 0, sizeof slice);
  int rc = WIRE_OK;
  for (size_t i = 0; i < b->n && rc == WIRE_OK; i++) {
    const wire_event *e = &b->ev[i];
    const char *k = (const char *)e->key;
    size_t klen = e->key_len;
    if (p->has_pkey) {
      if (json_find((const char *)e->value, e->value_len, &p->pkey, &k,
                    &klen) != 1) {
        k = "null";
        klen = 4;
      }
    }
    unsigned w = (unsigned)(core_hash64(k, klen, 0x5eed) % P);
    if (!slice[w] && !(slice[w] = batch_new(b->n / P + 16, NULL, b))) {
      rc = WIRE_ENOMEM;
      break;
    }
    rc = batch_push_ref(slice[w], e);
  }
  for (unsigned w = 0; w < P; w++) {
    if (!slice[w]) continue;
    if (rc == WIRE_OK)
      push_worker(p, w, slice[w]);
    else
      batch_unref(slice[w]);
  }
  batch_unref(b);
  return rc;
}

static void source_ack(wire_pipeline *p, rnode *n, uint64_t *version) {
  const wire_source_vtable *vt = n->sn->source_vt;
  char *pos = NULL;
  if (!vt->ack || !track_watermark(&n->track, version, &pos)) return;
  if (pos && *pos) {
    int rc = vt->ack(n->state, pos);
    if (rc < 0)
      engine_log(p, WIRE_LOG_WARN, "%s: ack: %s", n->label,
                 stage_msg(&n->stage, rc));
  }
  core_free(pos);
}

static void *source_main(void *arg) {
  rnode *n = arg;
  wire_pipeline *p = n->stage.p;
  const wire_source_vtable *vt = n->sn->source_vt;
  core_rng rng;
  core_rng_seed(&rng, 0);
  uint64_t rr = (uint64_t)n->index, wm_version = 0;
  int attempt = 0;
  while (!atomic_load(&p->stop)) {
    wire_batch *b = batch_new(p->spec.batch_size, &rng, NULL);
    if (!b) {
      engine_fail(p, WIRE_ENOMEM, "%s: out of memory", n->label);
      break;
    }
    b->origin = (uint32_t)n->index;
    n->stage.errmsg[0] = '\0';
    int rc = vt->poll(n->state, b, 100);
    bool eof = rc == WIRE_EOF;
    if (rc == WIRE_EAGAIN) {
      batch_unref(b);
      int ms = backoff_ms(attempt++, &rng);
      engine_log(p, WIRE_LOG_WARN, "%s: %s (retry %d in %d ms)", n->label,
                 stage_msg(&n->stage, rc), attempt, ms);
      sleep_interruptible(p, ms);
      continue;
    }
    if (rc < 0 && !eof) {
      batch_unref(b);
      engine_fail(p, rc, "%s: %s", n->label, stage_msg(&n->stage, rc));
      break;
    }
    attempt = 0;
    if (b->n) {
      atomic_fetch_add_explicit(&n->in, b->n, memory_order_relaxed);
      atomic_fetch_add_explicit(&n->out, b->n, memory_order_relaxed);
      atomic_fetch_add_explicit(&n->bytes_in, b->bytes, memory_order_relaxed);
      atomic_fetch_add_explicit(&n->bytes_out, b->bytes, memory_order_relaxed);
    }
    if (b->position && track_add(&n->track, b) != WIRE_OK) {
      batch_unref(b);
      engine_fail(p, WIRE_ENOMEM, "%s: out of memory", n->label);
      break;
    }
    if (b->n) {
      if (dispatch(p, b, &rr) != WIRE_OK) {
        engine_fail(p, WIRE_ENOMEM, "%s: out of memory", n->label);
        break;
      }
    } else {
      batch_unref(b); /* completes its position at once */
    }
    source_ack(p, n, &wm_version);
    if (vt->version >= 2 && vt->lag) {
      int64_t now = core_monotonic_ns();
      if (now >= n->lag_next_ns || eof) {
        uint64_t amount;
        const char *unit = NULL;
        n->lag_next_ns = now + 100000000;
        if (vt->lag(n->state, &amount, &unit) == WIRE_OK && unit) {
          atomic_store(&n->lag_unit, unit);
          atomic_store(&n->lag, amount > INT64_MAX ? INT64_MAX : (int64_t)amount);
        } else {
          atomic_store(&n->lag, -1);
        }
      }
    }
    if (eof) break;
  }
  source_done(p);
  thread_exit(p);
  return NULL;
}

/* ---- workers: operations ---------------------------------------------- */

static void deliver(wire_pipeline *p, unsigned w, core_rng *rng, size_t from,
                    unsigned port, wire_batch *b);

static void run_op(wire_pipeline *p, unsigned w, core_rng *rng, rnode *c,
                   wire_batch *b) {
  wire_stage *st = &c->pstages[w];
  wire_batch **outs = &c->pouts[(size_t)w * c->nports];
  wire_emitter em = {.node = c, .in = b, .out = outs, .rng = rng};
  uint64_t rejected = st->rejected;
  st->errmsg[0] = '\0';
  int rc = c->sn->op_vt->process(c->pstates[w], st, b, &em);
  uint64_t err = st->rejected - rejected;
  atomic_fetch_add_explicit(&c->in, b->n, memory_order_relaxed);
  atomic_fetch_add_explicit(&c->bytes_in, b->bytes, memory_order_relaxed);
  atomic_fetch_add_explicit(&c->out, em.emitted, memory_order_relaxed);
  if (b->n > em.emitted + err)
    atomic_fetch_add_explicit(&c->dropped, b->n - em.emitted - err,
                              memory_order_relaxed);
  if (rc < 0)
    engine_fail(p, rc, "%s: %s", c->label, stage_msg(st, rc));
  for (size_t port = 0; port < c->nports; port++) {
    wire_batch *o = outs[port];
    if (!o) continue;
    outs[port] = NULL;
    if (o->n && rc >= 0) {
      atomic_fetch_add_explicit(&c->bytes_out, o->bytes, memory_order_relaxed);
      deliver(p, w, rng, c->index, (unsigned)port, o);
    } else {
      batch_unref(o);
    }
  }
}

/* Give batch `b` (reference taken) to every consumer of (from, port). */
static void deliver(wire_pipeline *p, unsigned w, core_rng *rng, size_t from,
                    unsigned port, wire_batch *b) {
  consumer_list *cl = &p->nodes[from].consumers[port];
  for (size_t i = 0; i < cl->n && !atomic_load(&p->failed); i++) {
    rnode *c = &p->nodes[cl->v[i]];
    if (c->kind == WIRE_NODE_SINK) {
      batch_ref(b);
      if (core_queue_push(&c->q, b) != WIRE_OK) batch_unref(b);
    } else {
      run_op(p, w, rng, c, b);
    }
  }
  batch_unref(b);
}

typedef struct worker_arg {
  wire_pipeline *p;
  unsigned w;
} worker_arg;

static void *worker_main(void *arg) {
  worker_arg *wa = arg;
  wire_pipeline *p = wa->p;
  unsigned w = wa->w;
  core_free(wa);
  core_rng rng;
  core_rng_seed(&rng, 0);
  void *item;
  while (core_queue_pop(&p->wq[w], &item, -1) == WIRE_OK) {
    wire_batch *b = item;
    if (atomic_load(&p->failed)) {
      batch_unref(b);
      continue;
    }
    deliver(p, w, &rng, b->origin, 0, b);
  }
  worker_done(p);
  thread_exit(p);
  return NULL;
}

/* ---- sinks --------------------------------------------------------------- */

typedef struct sink_run {
  wire_pipeline *p;
  rnode *n;
  core_rng rng;
  wire_batch *pending[SINK_MAX_PENDING];
  size_t npending;
  int64_t first_pending_ns, last_flush_ns;
} sink_run;

/* Call `fn` (write or flush) until it succeeds, fails fatally, or the
 * pipeline is stopping and retries are exhausted. */
static int sink_call(sink_run *s, const char *what, const wire_batch *b) {
  rnode *n = s->n;
  const wire_sink_vtable *vt = n->sn->sink_vt;
  for (int attempt = 0;; attempt++) {
    n->stage.errmsg[0] = '\0';
    int rc = b ? vt->write(n->state, b) : vt->flush(n->state);
    if (rc >= 0) return WIRE_OK;
    if (rc != WIRE_EAGAIN) {
      engine_fail(s->p, rc, "%s: %s: %s", n->label, what,
                  stage_msg(&n->stage, rc));
      return rc;
    }
    if (atomic_load(&s->p->stop) && attempt >= STOP_RETRY_ATTEMPTS) {
      engine_fail(s->p, WIRE_EAGAIN, "%s: %s: %s (gave up while stopping)",
                  n->label, what, stage_msg(&n->stage, rc));
      return WIRE_EAGAIN;
    }
    int ms = backoff_ms(attempt, &s->rng);
    engine_log(s->p, WIRE_LOG_WARN, "%s: %s: %s (retry %d in %d ms)",
               n->label, what, stage_msg(&n->stage, rc), attempt + 1, ms);
    if (atomic_load(&s->p->stop))
      core_sleep_ms(ms);
    else
      sleep_interruptible(s->p, ms);
  }
}

static void sink_release(sink_run *s, bool acked) {
  for (size_t i = 0; i < s->npending; i++) {
    wire_batch *b = s->pending[i];
    if (acked) {
      atomic_fetch_add_explicit(&s->n->out, b->n, memory_order_relaxed);
      atomic_fetch_add_explicit(&s->n->bytes_out, b->bytes,
                                memory_order_relaxed);
    }
    batch_unref(b);
  }
  s->npending = 0;
}

static void sink_flush(sink_run *s) {
  s->last_flush_ns = core_monotonic_ns();
  if (!s->npending) return;
  bool ok = atomic_load(&s->p->failed)
                ? false
                : (!s->n->sn->sink_vt->flush ||
                   sink_call(s, "flush", NULL) == WIRE_OK);
  sink_release(s, ok);
}

static void *sink_main(void *arg) {
  sink_run s = {.n = arg};
  rnode *n = s.n;
  s.p = n->stage.p;
  core_rng_seed(&s.rng, 0);
  int64_t interval_ns = (int64_t)n->flush_interval_ms * 1000000;
  s.last_flush_ns = core_monotonic_ns();
  for (;;) {
    int timeout = -1;
    if (s.npending) {
      int64_t left = s.first_pending_ns + interval_ns - core_monotonic_ns();
      timeout = left > 0 ? (int)(left / 1000000) + 1 : 0;
    }
    void *item;
    int rc = core_queue_pop(&n->q, &item, timeout);
    if (rc == WIRE_EOF) break;
    if (rc == WIRE_ETIMEDOUT) {
      sink_flush(&s);
      continue;
    }
    wire_batch *b = item;
    if (atomic_load(&s.p->failed)) {
      batch_unref(b);
      continue;
    }
    atomic_fetch_add_explicit(&n->in, b->n, memory_order_relaxed);
    atomic_fetch_add_explicit(&n->bytes_in, b->bytes, memory_order_relaxed);
    if (sink_call(&s, "write", b) != WIRE_OK) {
      batch_unref(b);
      continue;
    }
    if (n->txn) txn_written(n, b);
    if (!s.npending) s.first_pending_ns = core_monotonic_ns();
    s.pending[s.npending++] = b;
    int64_t now = core_monotonic_ns();
    if (s.npending == SINK_MAX_PENDING ||
        now - s.first_pending_ns >= interval_ns ||
        (core_queue_len(&n->q) == 0 &&
         now - s.last_flush_ns >= SINK_IDLE_FLUSH_NS))
      sink_flush(&s);
  }
  sink_flush(&s);
  sink_release(&s, false);
  atomic_fetch_sub(&s.p->sinks_running, 1);
  thread_exit(s.p);
  return NULL;
}

/* ---- setup and teardown ---------------------------------------------------- */

static const char *kind_name(wire_node_kind k) {
  return k == WIRE_NODE_SOURCE ? "source" : k == WIRE_NODE_SINK ? "sink"
                                                                 : "operation";
}

static int build_graph(wire_pipeline *p) {
  spec *s = &p->spec;
  p->n = s->n;
  p->nodes = core_calloc(p->n, sizeof *p->nodes);
  if (!p->nodes) return WIRE_ENOMEM;
  for (size_t i = 0; i < p->n; i++) {
    rnode *r = &p->nodes[i];
    r->sn = s->nodes[i];
    r->index = i;
    r->kind = r->sn->kind;
    snprintf(r->label, sizeof r->label, "%s '%s'", kind_name(r->kind),
             r->sn->id);
    r->nports = r->sn->nports ? r->sn->nports : 1;
    r->consumers = core_calloc(r->nports, sizeof *r->consumers);
    if (!r->consumers) return WIRE_ENOMEM;
    r->stage.p = p;
    r->stage.node = r;
  }
  for (size_t i = 0; i < p->n; i++) {
    spec_node *sn = s->nodes[i];
    for (size_t k = 0; k < sn->ninputs; k++) {
      rnode *from = &p->nodes[sn->inputs[k].node];
      consumer_list *cl = &from->consumers[sn->inputs[k].port];
      size_t *v = core_realloc(cl->v, (cl->n + 1) * sizeof *v);
      if (!v) return WIRE_ENOMEM;
      v[cl->n++] = i;
      cl->v = v;
    }
  }
  return WIRE_OK;
}

static const char *resume_for(wire_pipeline *p, const char *id) {
  for (size_t i = 0; i < p->nresume; i++)
    if (strcmp(p->resume[i].id, id) == 0) return p->resume[i].pos;
  return NULL;
}

/* Open with a few retries when the component says the failure is
 * transient. */
#define OPEN_WITH_RETRY(p, st, call)                                   \
  ({                                                                   \
    int rc_ = WIRE_EAGAIN;                                             \
    core_rng rng_;                                                     \
    core_rng_seed(&rng_, 0);                                           \
    for (int a_ = 0; a_ < OPEN_ATTEMPTS && rc_ == WIRE_EAGAIN; a_++) { \
      if (a_) core_sleep_ms(backoff_ms(a_, &rng_));                    \
      (st)->errmsg[0] = '\0';                                          \
      rc_ = (call);                                                    \
    }                                                                  \
    rc_;                                                               \
  })

static int open_all(wire_pipeline *p) {
  int rc;
  for (size_t i = 0; i < p->n; i++) { /* sinks first */
    rnode *r = &p->nodes[i];
    if (r->kind != WIRE_NODE_SINK) continue;
    int64_t ms = 100;
    if (wire_config_int(&r->sn->cfg, "flush_interval_ms", &ms) != WIRE_OK ||
        ms <= 0)
      ms = 100;
    r->flush_interval_ms = (int)ms;
    if ((rc = core_queue_init(&r->q, p->spec.queue_depth))) return rc;
    r->q_init = true;
    rc = OPEN_WITH_RETRY(p, &r->stage,
                         r->sn->sink_vt->open(&r->stage, &r->state));
    if (rc < 0)
      return core_msg(p->errmsg, sizeof p->errmsg, rc, "%s: open: %s",
                      r->label, stage_msg(&r->stage, rc));
    r->opened = true;
  }
  for (size_t i = 0; i < p->n; i++) {
    rnode *r = &p->nodes[i];
    if (r->kind != WIRE_NODE_OP) continue;
    unsigned P = p->partitions;
    r->pstages = core_calloc(P, sizeof *r->pstages);
    r->pstates = core_calloc(P, sizeof *r->pstates);
    r->popened = core_calloc(P, sizeof *r->popened);
    r->pouts = core_calloc((size_t)P * r->nports, sizeof *r->pouts);
    if (!r->pstages || !r->pstates || !r->popened || !r->pouts)
      return WIRE_ENOMEM;
    for (unsigned w = 0; w < P; w++) {
      wire_stage *st = &r->pstages[w];
      st->p = p;
      st->node = r;
      st->partition = w;
      if (r->sn->op_vt->open) {
        rc = r->sn->op_vt->open(r->sn->op_shared, st, &r->pstates[w]);
        if (rc < 0)
          return core_msg(p->errmsg, sizeof p->errmsg, rc, "%s: open: %s",
                          r->label, stage_msg(st, rc));
      } else {
        r->pstates[w] = r->sn->op_shared;
      }
      r->popened[w] = true;
    }
  }
  for (size_t i = 0; i < p->n; i++) {
    rnode *r = &p->nodes[i];
    if (r->kind != WIRE_NODE_SOURCE) continue;
    const char *resume = resume_for(p, r->sn->id);
    if ((rc = track_init(&r->track, &p->failed, resume))) return rc;
    r->track_init = true;
    rc = OPEN_WITH_RETRY(p, &r->stage,
                         r->sn->source_vt->open(&r->stage, resume, &r->state));
    if (rc < 0)
      return core_msg(p->errmsg, sizeof p->errmsg, rc, "%s: open: %s",
                      r->label, stage_msg(&r->stage, rc));
    r->opened = true;
  }
  return WIRE_OK;
}

static int spawn(wire_pipeline *p, pthread_t *t, void *(*fn)(void *),
                 void *arg) {
  if (pthread_create(t, NULL, fn, arg) != 0) return WIRE_ENOMEM;
  pthread_mutex_lock(&p->mu);
  p->threads_total++;
  pthread_mutex_unlock(&p->mu);
  return WIRE_OK;
}

int engine_start(wire_pipeline *p) {
  spec *s = &p->spec;
  int rc;
  p->partitions = s->partitions ? s->partitions : 1;
  if (s->queue_depth == 0) s->queue_depth = 8;
  if (s->batch_size == 0) s->batch_size = 1024;
  if (s->partition_key) {
    if (json_path_parse(s->partition_key, &p->pkey) != 0)
      return core_msg(p->errmsg, sizeof p->errmsg, WIRE_ECONFIG,
                      "partition_key '%s' is not a simple path",
                      s->partition_key);
    p->has_pkey = true;
  }
  if (s->dead_letter) {
    p->dlq = fopen(s->dead_letter, "a");
    if (!p->dlq)
      return core_msg(p->errmsg, sizeof p->errmsg, WIRE_EIO,
                      "dead_letter: open %s: %s", s->dead_letter,
                      strerror(errno));
  }
  if ((rc = build_graph(p))) goto fail;
  p->wq = core_calloc(p->partitions, sizeof *p->wq);
  p->workers = core_calloc(p->partitions, sizeof *p->workers);
  if (!p->wq || !p->workers) {
    rc = WIRE_ENOMEM;
    goto fail;
  }
  for (unsigned w = 0; w < p->partitions; w++)
    if ((rc = core_queue_init(&p->wq[w], s->queue_depth))) goto fail;
  if ((rc = open_all(p))) goto fail;

  size_t nsources = 0, nsinks = 0;
  for (size_t i = 0; i < p->n; i++) {
    if (p->nodes[i].kind == WIRE_NODE_SOURCE) nsources++;
    if (p->nodes[i].kind == WIRE_NODE_SINK) nsinks++;
  }
  atomic_store(&p->sources_running, nsources);
  atomic_store(&p->workers_running, p->partitions);
  atomic_store(&p->sinks_running, nsinks);
  p->start_ns = core_monotonic_ns();
  atomic_store(&p->state, WIRE_PIPELINE_RUNNING);
  /* From here on a failure to spawn is handled by the shutdown cascade: the
   * counters of threads that never started are released by hand. */
  for (size_t i = 0; i < p->n; i++) {
    rnode *r = &p->nodes[i];
    if (r->kind != WIRE_NODE_SINK) continue;
    if (spawn(p, &r->thread, sink_main, r) == WIRE_OK) {
      r->thread_started = true;
    } else {
      atomic_fetch_sub(&p->sinks_running, 1);
      core_queue_close(&r->q); /* nobody will drain it: refuse pushes */
      engine_fail(p, WIRE_ENOMEM, "%s: cannot start thread", r->label);
    }
  }
  for (unsigned w = 0; w < p->partitions; w++) {
    worker_arg *wa = core_malloc(sizeof *wa);
    if (wa) *wa = (worker_arg){p, w};
    if (wa && spawn(p, &p->workers[w], worker_main, wa) == WIRE_OK) {
      p->workers_started = w + 1;
    } else {
      core_free(wa);
      engine_fail(p, WIRE_ENOMEM, "cannot start worker thread");
      for (unsigned k = w; k < p->partitions; k++) worker_done(p);
      break;
    }
  }
  for (size_t i = 0; i < p->n; i++) {
    rnode *r = &p->nodes[i];
    if (r->kind != WIRE_NODE_SOURCE) continue;
    if (spawn(p, &r->thread, source_main, r) == WIRE_OK) {
      r->thread_started = true;
    } else {
      engine_fail(p, WIRE_ENOMEM, "%s: cannot start thread", r->label);
      source_done(p);
    }
  }
  return WIRE_OK;

fail:
  if (rc == WIRE_ENOMEM && !p->errmsg[0])
    core_msg(p->errmsg, sizeof p->errmsg, rc, "out of memory");
  p->errcode = rc;
  engine_teardown(p);
  return rc;
}

/* Join every thread (they must be finishing: see the cascade above), then
 * give sources their final watermark. */
void engine_join(wire_pipeline *p) {
  if (p->joined) return;
  for (size_t i = 0; i < p->n; i++)
    if (p->nodes[i].thread_started) pthread_join(p->nodes[i].thread, NULL);
  for (size_t w = 0; w < p->workers_started; w++)
    pthread_join(p->workers[w], NULL);
  p->joined = true;
  for (size_t i = 0; i < p->n; i++) {
    rnode *r = &p->nodes[i];
    if (r->kind == WIRE_NODE_SOURCE && r->opened && r->track_init) {
      uint64_t v = (uint64_t)-1; /* force */
      source_ack(p, r, &v);
    }
  }
}

void engine_teardown(wire_pipeline *p) {
  for (size_t i = 0; p->nodes && i < p->n; i++) {
    rnode *r = &p->nodes[i];
    if (r->opened) {
      if (r->kind == WIRE_NODE_SOURCE) r->sn->source_vt->close(r->state);
      if (r->kind == WIRE_NODE_SINK) r->sn->sink_vt->close(r->state);
      r->opened = false;
    }
    if (r->popened) {
      for (unsigned w = 0; w < p->partitions; w++)
        if (r->popened[w] && r->sn->op_vt->close && r->sn->op_vt->open)
          r->sn->op_vt->close(r->pstates[w]);
    }
    core_free(r->pstages);
    core_free(r->pstates);
    core_free(r->popened);
    core_free(r->pouts);
    r->pstages = NULL;
    r->pstates = NULL;
    r->popened = NULL;
    r->pouts = NULL;
    if (r->q_init) core_queue_destroy(&r->q);
    r->q_init = false;
  }
  if (p->wq) {
    for (unsigned w = 0; w < p->partitions; w++) core_queue_destroy(&p->wq[w]);
    core_free(p->wq);
    p->wq = NULL;
  }
  core_free(p->workers);
  p->workers = NULL;
  if (p->dlq) {
    fclose(p->dlq);
    p->dlq = NULL;
  }
  if (p->has_pkey) {
    json_path_free(&p->pkey);
    p->has_pkey = false;
  }
}
