/*
 * Pipelines kept in the replicated store and run by the leader.
 *
 * Definitions live in the pipelines column family (name -> generation,
 * paused flag, YAML text); source positions in the checkpoints family.
 * Every node has a manager thread; it runs pipelines only while its node
 * leads.  The manager talks to the node thread with requests, like any
 * other client, and never touches raft or the FSM directly:
 *
 *   - every MGR_TICK_MS it asks the node thread for a view (role, term, a
 *     counter of pipeline changes);
 *   - when the node leads and the term or the counter moved, it reads all
 *     definitions and committed positions after a raft barrier (so it sees
 *     everything committed before, by any earlier leader) and reconciles:
 *     runners whose pipeline was deleted, paused or replaced (new
 *     generation) are stopped; pipelines that should run and do not are
 *     started from their committed positions;
 *   - a running pipeline's position low watermarks (what every sink has
 *     acknowledged) are committed every checkpoint-interval, after
 *     checkpoint-records records, when it finishes or fails, and when it is
 *     stopped for pause, replace or a graceful node stop.
 *
 * Fencing.  Checkpoints carry the term in which their runner started; the
 * FSM refuses a checkpoint whose term is older than the newest it accepted
 * for that pipeline.  A new runner first re-commits the positions it
 * resumes from in its own term, which raises the fence: a deposed leader's
 * runner can no longer move positions.  Checkpoints are proposed as
 * leader-only entries (never forwarded), so a runner that lost leadership
 * cannot commit through the new leader either.  When the node stops
 * leading, the manager stops its runners (they drain; at-least-once: the
 * new leader may deliver the records after the last checkpoint again).
 *
 * Threads: the manager thread owns the runners; `mu` guards the published
 * runtime state read by the node thread (HTTP) and the stop flag.
 */
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connectors/connectors.h"
#include "node/node_int.h"
#include "pipeline/txn.h"
#include "wire/pipeline.h"

#define COMPONENT "pipelines"
#define LOG(n, lv, ...) core_logf(&(n)->log, (lv), COMPONENT, __VA_ARGS__)

#define MGR_TICK_MS 50
#define POS_MAX (64 * 1024) /* longest position kept */
#define CALL_TIMEOUT_MS 5000

typedef enum rstate {
  R_RUNNING,
  R_FAILED,   /* the pipeline failed (or could not start): err says why */
  R_FINISHED, /* bounded sources exhausted, all flushed and committed */
  R_DEPOSED,  /* a checkpoint was fenced off: a newer leader runs it */
} rstate;

struct sink_states;

typedef struct runner {
  struct sink_states *init_ss; /* exactly-once sinks' start offsets */
  char *name;
  uint64_t generation;
  uint64_t term; /* term the runner started in: its checkpoints carry it */
  wire_pipeline *p;
  rstate state;
  char err[1024];
  size_t nsrc;
  char **src;       /* source ids */
  char **committed; /* last committed position per source (NULL: none) */
  uint64_t n_ckpt, n_ckpt_fail;
  int64_t started_ns, last_ckpt_ns;
  uint64_t out_at_ckpt; /* records acknowledged by sinks at the last one */
  double last_ckpt_ms;  /* commit latency of the last checkpoint */
} runner;

struct node_pipes {
  wire_node *n;
  pthread_mutex_t mu;
  pthread_cond_t cond;
  bool stop, thread_started;
  uv_thread_t thread;
  json_t *pub; /* name -> runtime object (under mu) */

  /* manager thread only */
  runner **rs;
  size_t nrs;
  uint64_t term;         /* term in which the runners run; 0: not leading */
  uint64_t seen_version; /* pipelines version at the last reconcile */
  bool reload;           /* reconcile at the next step whatever the version */
  char *submit_text;     /* --pipeline: definition to create once */
  size_t submit_len;
  char submit_name[256];
  bool submitted;
  bool recovered; /* exactly-once sink files cut back (followers) */
  int64_t recover_next_ns;
  int64_t submit_next_ns;
  char *pos; /* POS_MAX scratch */
};

/* ---- definitions ----------------------------------------------------------------- */

/* Validate a definition the way `wire-node validate` does.  WIRE_OK and the
 * pipeline's name in name[0..nsz); WIRE_ECONFIG with every problem as
 * "FILE:LINE:COL: message" lines in msg (and, when `diags` is not NULL, as
 * JSON objects appended to it); other errors with msg. */
static int validate_def(wire_node *n, const char *text, size_t len,
                        const char *file, char *name, size_t nsz,
                        json_t *diags, char *msg, size_t msz) {
  wire_pipeline *p = NULL;
  int rc = wire_pipeline_parse(n->ctx, text, len, file, &p);
  if (rc == WIRE_OK) rc = wire_pipeline_validate(p);
  if (rc == WIRE_OK) {
    const char *nm = wire_pipeline_name(p);
    if (!nm || !*nm) {
      rc = core_msg(msg, msz, WIRE_ECONFIG, "%s: the pipeline has no name",
                    file);
    } else if (strlen(nm) >= nsz) {
      rc = core_msg(msg, msz, WIRE_ECONFIG,
                    "%s: pipeline name of %zu bytes (at most %zu)", file,
                    strlen(nm), nsz - 1);
    } else {
      snprintf(name, nsz, "%s", nm);
    }
    wire_pipeline_free(p);
    return rc;
  }
  size_t nd = p ? wire_pipeline_diag_count(p) : 0;
  if (!nd) {
    snprintf(msg, msz, "%s", p ? wire_pipeline_errmsg(p)
                               : wire_ctx_errmsg(n->ctx));
  } else {
    core_buf b = {0};
    for (size_t i = 0; i < nd; i++) {
      const wire_diag *d = wire_pipeline_diag(p, i);
      core_buf_printf(&b, "%s%s:%d:%d: %s", i ? "\n" : "", d->file, d->line,
                      d->col, d->message);
      if (diags)
        json_array_append_new(diags,
                              json_pack("{s:s,s:i,s:i,s:s}", "file", d->file,
                                        "line", d->line, "col", d->col,
                                        "message", d->message));
    }
    snprintf(msg, msz, "%s", b.data ? b.data : "invalid pipeline");
    core_buf_free(&b);
  }
  wire_pipeline_free(p);
  return rc ? rc : WIRE_ECONFIG;
}

/* ---- runtime state published for HTTP ------------------------------------------- */

static const char *rstate_name(rstate s) {
  switch (s) {
    case R_RUNNING:
      return "running";
    case R_FAILED:
      return "failed";
    case R_FINISHED:
      return "stopped";
    case R_DEPOSED:
      return "stopped";
  }
  return "unknown";
}

static const char *kind_name(wire_node_kind k) {
  return k == WIRE_NODE_SOURCE ? "source" : k == WIRE_NODE_SINK ? "sink" : "op";
}


static uint64_t sinks_out(const wire_pipeline *p) {
  uint64_t out = 0;
  for (size_t i = 0; i < wire_pipeline_node_count(p); i++) {
    wire_node_stats s;
    if (wire_pipeline_node_stats(p, i, &s) == WIRE_OK &&
        s.kind == WIRE_NODE_SINK)
      out += s.out;
  }
  return out;
}

static json_t *runner_json(node_pipes *m, const runner *r) {
  int64_t now = core_monotonic_ns();
  json_t *o = json_pack(
      "{s:s,s:I,s:I,s:I,s:I,s:I}", "state", rstate_name(r->state), "node",
      (json_int_t)m->n->cfg.id, "term", (json_int_t)r->term, "generation",
      (json_int_t)r->generation, "checkpoints", (json_int_t)r->n_ckpt,
      "checkpoint_failures", (json_int_t)r->n_ckpt_fail);
  if (!o) return NULL;
  if (r->state == R_FINISHED) json_object_set_new(o, "finished", json_true());
  if (r->err[0]) json_object_set_new(o, "error", json_string(r->err));
  json_object_set_new(o, "uptime_s",
                      json_real((double)(now - r->started_ns) / 1e9));
  if (r->last_ckpt_ns) {
    json_object_set_new(o, "last_checkpoint_ago_ms",
                        json_integer((now - r->last_ckpt_ns) / 1000000));
    json_object_set_new(o, "last_checkpoint_commit_ms",
                        json_real(r->last_ckpt_ms));
  }
  json_t *pos = json_object();
  for (size_t i = 0; i < r->nsrc; i++) {
    json_t *e = json_object();
    if (r->p && wire_pipeline_watermark(r->p, r->src[i], m->pos, POS_MAX) ==
                    WIRE_OK)
      json_object_set_new(e, "acknowledged", json_string(m->pos));
    json_object_set_new(e, "committed", r->committed[i]
                                            ? json_string(r->committed[i])
                                            : json_null());
    json_object_set_new(pos, r->src[i], e);
  }
  json_object_set_new(o, "positions", pos);
  json_t *nodes = json_array();
  if (r->p) {
    double el = wire_pipeline_elapsed(r->p);
    for (size_t i = 0; i < wire_pipeline_node_count(r->p); i++) {
      wire_node_stats s;
      if (wire_pipeline_node_stats(r->p, i, &s) != WIRE_OK) continue;
      json_t *jn =
          json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:f}", "id", s.id,
                    "type", s.type, "kind", kind_name(s.kind), "in",
                    (json_int_t)s.in, "out", (json_int_t)s.out, "dropped",
                    (json_int_t)s.dropped, "errors", (json_int_t)s.errors,
                    "bytes_in", (json_int_t)s.bytes_in, "bytes_out",
                    (json_int_t)s.bytes_out, "rate",
                    el > 0 ? (double)s.out / el : 0.0);
      if (jn && s.lag >= 0 && s.lag_unit) {
        json_object_set_new(jn, "lag", json_integer((json_int_t)s.lag));
        json_object_set_new(jn, "lag_unit", json_string(s.lag_unit));
      }
      json_array_append_new(nodes, jn);
    }
  }
  json_object_set_new(o, "nodes", nodes);
  return o;
}

static void publish(node_pipes *m) {
  json_t *all = json_object();
  for (size_t i = 0; i < m->nrs; i++) {
    json_t *o = runner_json(m, m->rs[i]);
    if (o) json_object_set_new(all, m->rs[i]->name, o);
  }
  pthread_mutex_lock(&m->mu);
  json_decref(m->pub);
  m->pub = all;
  pthread_mutex_unlock(&m->mu);
}

char *node_pipes_runtime_json(wire_node *n, const char *name) {
  node_pipes *m = n->pipes;
  if (!m) return NULL;
  char *out = NULL;
  pthread_mutex_lock(&m->mu);
  json_t *o = m->pub ? (name ? json_object_get(m->pub, name) : m->pub) : NULL;
  if (o) out = json_dumps(o, JSON_COMPACT);
  pthread_mutex_unlock(&m->mu);
  return out;
}

/* ---- talking to the node thread ---------------------------------------------- */

typedef struct node_view {
  bool leader, leader_known, ready;
  uint64_t term, version;
  char leader_http[64];
} node_view;

static void view_call(wire_node *n, node_req *req) {
  node_view v = {0};
  v.leader = raft_state(&n->raft) == RAFT_LEADER;
  v.term = n->raft.current_term;
  v.version = store_fsm_pipelines_version(n->fsm);
  uint64_t lid;
  node_leader_http(n, &lid, v.leader_http, sizeof v.leader_http);
  v.leader_known = lid != 0;
  char why[128];
  v.ready = node_ready(n, why, sizeof why);
  node_req_finish(req, WIRE_OK, NULL, 0, (const char *)&v, sizeof v);
}

static int get_view(node_pipes *m, node_view *v, char *err, size_t esz) {
  node_req *req = node_req_new(NODE_OP_CALL, 0);
  if (!req) return WIRE_ENOMEM;
  req->call = view_call;
  char *val = NULL;
  size_t vl = 0;
  int rc = node_run_sync(m->n, req, CALL_TIMEOUT_MS, NULL, &val, &vl, err, esz);
  if (rc == WIRE_OK && val && vl == sizeof *v) memcpy(v, val, sizeof *v);
  else if (rc == WIRE_OK) rc = WIRE_EIO;
  core_free(val);
  return rc;
}

/* After a barrier: {"version": V, "pipelines": [{name, generation, paused,
 * definition, committed: {source: position}}]} */
typedef struct snap_ctx {
  wire_node *n;
  json_t *list;
  json_t *cur;
  int rc;
} snap_ctx;

static int snap_ckpt(void *ud, store_slice source, store_slice position,
                     uint64_t term) {
  (void)term;
  snap_ctx *c = ud;
  char *src = core_strndup(source.ptr, source.len);
  if (!src) return WIRE_ENOMEM;
  json_object_set_new(json_object_get(c->cur, "committed"), src,
                      json_stringn(position.ptr, position.len));
  core_free(src);
  return 0;
}

static int snap_pipe(void *ud, const store_pipeline *p) {
  snap_ctx *c = ud;
  json_t *o = json_object();
  json_object_set_new(o, "name", json_stringn(p->name.ptr, p->name.len));
  json_object_set_new(o, "generation", json_integer((json_int_t)p->generation));
  json_object_set_new(o, "paused", json_boolean(p->paused));
  json_object_set_new(o, "definition",
                      json_stringn(p->definition.ptr, p->definition.len));
  json_object_set_new(o, "committed", json_object());
  json_array_append_new(c->list, o);
  return 0;
}

static void snapshot_call(wire_node *n, node_req *req) {
  snap_ctx c = {.n = n, .list = json_array()};
  uint64_t version = store_fsm_pipelines_version(n->fsm);
  int rc = store_fsm_pipeline_scan(n->fsm, snap_pipe, &c);
  for (size_t i = 0; rc == WIRE_OK && i < json_array_size(c.list); i++) {
    c.cur = json_array_get(c.list, i);
    const char *nm = json_string_value(json_object_get(c.cur, "name"));
    rc = store_fsm_checkpoint_scan(n->fsm, store_str(nm), snap_ckpt, &c);
  }
  if (rc) {
    json_decref(c.list);
    node_req_fail(req, rc, "reading pipelines: %s", store_fsm_errmsg(n->fsm));
    return;
  }
  json_t *o = json_pack("{s:I,s:o}", "version", (json_int_t)version,
                        "pipelines", c.list);
  char *txt = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  if (!txt) {
    node_req_fail(req, WIRE_ENOMEM, "out of memory");
    return;
  }
  node_req_finish(req, WIRE_OK, NULL, 0, txt, strlen(txt));
  free(txt);
}

static json_t *get_snapshot(node_pipes *m, bool barrier, char *err,
                            size_t esz) {
  node_req *req = node_req_new(NODE_OP_CALL, 0);
  if (!req) return NULL;
  req->call = snapshot_call;
  req->barrier = barrier;
  char *val = NULL;
  size_t vl = 0;
  int rc = node_run_sync(m->n, req, CALL_TIMEOUT_MS, NULL, &val, &vl, err, esz);
  if (rc) return NULL;
  json_error_t je;
  json_t *o = json_loadb(val, vl, 0, &je);
  core_free(val);
  if (!o) snprintf(err, esz, "pipelines snapshot: %s", je.text);
  return o;
}

/* Propose commands as one leader-only entry (never forwarded).  *res gets
 * the first result that is not OK. */
static int propose_entry(node_pipes *m, const store_cmd *cmds, size_t ncmd,
                         store_result *res, char *err, size_t esz) {
  store_cmd batch = {.type = STORE_CMD_BATCH};
  batch.u.batch.items = cmds;
  batch.u.batch.count = ncmd;
  core_buf enc = {0};
  int rc = store_cmd_encode(ncmd == 1 ? &cmds[0] : &batch, &m->n->limits,
                            &enc, err, esz);
  if (rc) {
    core_buf_free(&enc);
    return rc;
  }
  node_req *req = node_req_new(NODE_OP_ENTRY, enc.len);
  if (!req) {
    core_buf_free(&enc);
    return core_msg(err, esz, WIRE_ENOMEM, "out of memory");
  }
  memcpy(req->data, enc.data, enc.len);
  core_buf_free(&enc);
  return node_run_sync(m->n, req, CALL_TIMEOUT_MS, res, NULL, NULL, err, esz);
}

/* ---- runners -------------------------------------------------------------------------- */

static void runner_free(runner *r) {
  if (!r) return;
  wire_pipeline_free(r->p);
  for (size_t i = 0; i < r->nsrc; i++) {
    core_free(r->src[i]);
    core_free(r->committed[i]);
  }
  core_free(r->src);
  core_free(r->committed);
  core_free(r->init_ss);
  core_free(r->name);
  core_free(r);
}

/* Exactly-once sinks' offsets gathered with a source watermark. */
typedef struct sink_states {
  size_t n;
  char key[8][160];
  char val[8][24];
  bool overflow;
} sink_states;

static void sink_state_cb(void *ud, const char *sink_id, uint64_t offset) {
  void **a = ud;
  sink_states *ss = a[0];
  node_pipes *m = a[1];
  if (ss->n == 8) {
    ss->overflow = true;
    return;
  }
  snprintf(ss->key[ss->n], sizeof ss->key[0], "sink/%s@%" PRIu64, sink_id,
           m->n->cfg.id);
  snprintf(ss->val[ss->n], sizeof ss->val[0], "%" PRIu64, offset);
  ss->n++;
}

/* Watermark of source i, with the offsets of the exactly-once sinks that
 * match it.  *out: core_free; NULL when there is none. */
static int source_state(node_pipes *m, runner *r, size_t i, char **out,
                        sink_states *ss) {
  *out = NULL;
  ss->n = 0;
  if (!r->p) return WIRE_OK;
  if (pipe_txn_count(r->p)) {
    void *a[2] = {ss, m};
    int rc = pipe_checkpoint_state(r->p, r->src[i], out, sink_state_cb, a);
    if (rc == WIRE_OK && ss->overflow) rc = WIRE_EUNSUPPORTED;
    return rc;
  }
  if (wire_pipeline_watermark(r->p, r->src[i], m->pos, POS_MAX) == WIRE_OK &&
      m->pos[0]) {
    if (strlen(m->pos) >= POS_MAX - 1)
      LOG(m->n, WIRE_LOG_WARN, "pipeline %s: position of source %s is %d "
                               "bytes or more and was cut",
          r->name, r->src[i], POS_MAX - 1);
    *out = core_strdup(m->pos);
    if (!*out) return WIRE_ENOMEM;
  }
  return WIRE_OK;
}

/* Commit the acknowledged positions that moved (with the offsets of the
 * exactly-once sinks, in the same raft entry).  `force_all` commits every
 * known position even when unchanged (raising the fence at start). */
static int checkpoint(node_pipes *m, runner *r, bool force_all) {
  wire_node *n = m->n;
  size_t cap = r->nsrc * 9 + 9;
  store_cmd *cmds = core_calloc(cap, sizeof *cmds);
  char **pos = core_calloc(r->nsrc ? r->nsrc : 1, sizeof *pos);
  sink_states *ss = core_calloc(r->nsrc ? r->nsrc : 1, sizeof *ss);
  size_t nc = 0;
  int rc = WIRE_OK;
  if (!cmds || !pos || !ss) {
    rc = WIRE_ENOMEM;
    goto out;
  }
  uint64_t out_now = r->p ? sinks_out(r->p) : r->out_at_ckpt;
  for (size_t i = 0; i < r->nsrc; i++) {
    char *now = NULL;
    rc = source_state(m, r, i, &now, &ss[i]);
    if (rc) {
      LOG(n, WIRE_LOG_WARN, "pipeline %s: state of source %s: %s", r->name,
          r->src[i], wire_strerror(rc));
      goto out;
    }
    if (!now && force_all && r->committed[i]) {
      now = core_strdup(r->committed[i]);
      if (!now) {
        rc = WIRE_ENOMEM;
        goto out;
      }
    }
    if (!now) continue;
    if (!force_all && r->committed[i] && !strcmp(r->committed[i], now)) {
      core_free(now);
      continue;
    }
    pos[i] = now;
    store_cmd *c = &cmds[nc++];
    c->type = STORE_CMD_CHECKPOINT;
    c->u.checkpoint.pipeline = store_str(r->name);
    c->u.checkpoint.source = store_str(r->src[i]);
    c->u.checkpoint.position = store_str(pos[i]);
    c->u.checkpoint.term = r->term;
    for (size_t k = 0; k < ss[i].n; k++) {
      c = &cmds[nc++];
      c->type = STORE_CMD_CHECKPOINT;
      c->u.checkpoint.pipeline = store_str(r->name);
      c->u.checkpoint.source = store_str(ss[i].key[k]);
      c->u.checkpoint.position = store_str(ss[i].val[k]);
      c->u.checkpoint.term = r->term;
    }
  }
  /* At start, with the fence: where each exactly-once sink starts
   * writing, so that a crash before the first regular checkpoint can
   * still be cut back. */
  if (force_all && r->init_ss && !pipe_txn_count(r->p))
    for (size_t k = 0; k < r->init_ss->n; k++) {
      store_cmd *c = &cmds[nc++];
      c->type = STORE_CMD_CHECKPOINT;
      c->u.checkpoint.pipeline = store_str(r->name);
      c->u.checkpoint.source = store_str(r->init_ss->key[k]);
      c->u.checkpoint.position = store_str(r->init_ss->val[k]);
      c->u.checkpoint.term = r->term;
    }
  int64_t t0 = core_monotonic_ns();
  if (nc) {
    store_result res = {0};
    char err[512];
    rc = propose_entry(m, cmds, nc, &res, err, sizeof err);
    if (rc) {
      r->n_ckpt_fail++;
      LOG(n, WIRE_LOG_WARN, "pipeline %s: checkpoint not committed: %s",
          r->name, err);
      goto out;
    }
    if (res.status == STORE_FENCED) {
      r->n_ckpt_fail++;
      snprintf(r->err, sizeof r->err,
               "checkpoint of term %" PRIu64 " refused: a leader of term %" PRId64
               " runs this pipeline now",
               r->term, res.value);
      LOG(n, WIRE_LOG_WARN, "pipeline %s: %s", r->name, r->err);
      rc = WIRE_ESTATE;
      r->state = R_DEPOSED;
      if (r->p) wire_pipeline_stop(r->p); /* freed (after draining) later */
      goto out;
    }
    if (res.status != STORE_OK) {
      r->n_ckpt_fail++;
      LOG(n, WIRE_LOG_WARN, "pipeline %s: checkpoint: %s", r->name,
          store_status_str(res.status));
      rc = WIRE_EFAILED;
      goto out;
    }
    for (size_t i = 0; i < r->nsrc; i++)
      if (pos[i]) {
        core_free(r->committed[i]);
        r->committed[i] = pos[i];
        pos[i] = NULL;
      }
    r->n_ckpt++;
    r->last_ckpt_ms = (double)(core_monotonic_ns() - t0) / 1e6;
  }
  r->last_ckpt_ns = core_monotonic_ns();
  r->out_at_ckpt = out_now;
out:
  for (size_t i = 0; pos && i < r->nsrc; i++) core_free(pos[i]);
  core_free(pos);
  core_free(ss);
  core_free(cmds);
  return rc;
}

/* Start the pipeline of `rec` (a snapshot entry) from its committed
 * positions.  Always returns a runner (failed ones say why), or NULL on
 * OOM. */
static runner *runner_start(node_pipes *m, json_t *rec) {
  wire_node *n = m->n;
  runner *r = core_calloc(1, sizeof *r);
  if (!r) return NULL;
  r->name = core_strdup(json_string_value(json_object_get(rec, "name")));
  if (!r->name) {
    core_free(r);
    return NULL;
  }
  r->generation =
      (uint64_t)json_integer_value(json_object_get(rec, "generation"));
  r->term = m->term;
  r->started_ns = core_monotonic_ns();
  r->state = R_FAILED;
  json_t *jdef = json_object_get(rec, "definition");
  int rc = wire_pipeline_parse(n->ctx, json_string_value(jdef),
                               json_string_length(jdef), r->name, &r->p);
  if (rc == WIRE_OK) rc = wire_pipeline_validate(r->p);
  if (rc) {
    size_t nd = r->p ? wire_pipeline_diag_count(r->p) : 0;
    if (nd) {
      const wire_diag *d = wire_pipeline_diag(r->p, 0);
      snprintf(r->err, sizeof r->err, "%s:%d:%d: %s%s", d->file, d->line,
               d->col, d->message, nd > 1 ? " (and more)" : "");
    } else {
      snprintf(r->err, sizeof r->err, "%s",
               r->p ? wire_pipeline_errmsg(r->p) : wire_ctx_errmsg(n->ctx));
    }
    goto failed;
  }
  /* Sources and their committed positions. */
  size_t nn = wire_pipeline_node_count(r->p);
  r->src = core_calloc(nn ? nn : 1, sizeof *r->src);
  r->committed = core_calloc(nn ? nn : 1, sizeof *r->committed);
  if (!r->src || !r->committed) goto oom;
  json_t *committed = json_object_get(rec, "committed");
  for (size_t i = 0; i < nn; i++) {
    wire_node_stats s;
    if (wire_pipeline_node_stats(r->p, i, &s) || s.kind != WIRE_NODE_SOURCE)
      continue;
    size_t k = r->nsrc++;
    r->src[k] = core_strdup(s.id);
    if (!r->src[k]) goto oom;
    const char *pos = json_string_value(json_object_get(committed, s.id));
    if (!pos) continue;
    r->committed[k] = core_strdup(pos);
    if (!r->committed[k]) goto oom;
    rc = wire_pipeline_set_resume(r->p, s.id, pos);
    if (rc) {
      snprintf(r->err, sizeof r->err, "resuming source %s from %s: %s", s.id,
               pos, wire_pipeline_errmsg(r->p));
      goto failed;
    }
  }
  /* Exactly-once sinks: the output length this node committed. */
  char suffix[32];
  snprintf(suffix, sizeof suffix, "@%" PRIu64, n->cfg.id);
  const char *key;
  json_t *val;
  json_object_foreach(committed, key, val) {
    size_t kl = strlen(key), sl = strlen(suffix);
    if (strncmp(key, "sink/", 5) || kl <= 5 + sl ||
        strcmp(key + kl - sl, suffix))
      continue;
    char sid[128];
    snprintf(sid, sizeof sid, "%.*s", (int)(kl - 5 - sl), key + 5);
    if (wire_pipeline_set_resume(r->p, sid, json_string_value(val))) goto oom;
  }
  r->init_ss = core_calloc(1, sizeof *r->init_ss);
  if (!r->init_ss) goto oom;
  for (size_t i = 0; i < nn; i++) {
    wire_node_stats s;
    if (wire_pipeline_node_stats(r->p, i, &s) || s.kind != WIRE_NODE_SINK ||
        strcmp(s.type, "file"))
      continue;
    wire_node_kind kind;
    const char *type;
    const wire_config *cfg = pipe_node_config(r->p, s.id, &kind, &type);
    char ck[160];
    snprintf(ck, sizeof ck, "sink/%s%s", s.id, suffix);
    uint64_t base;
    if (!cfg ||
        conn_file_sink_base(
            cfg, json_string_value(json_object_get(committed, ck)), &base) != 1)
      continue;
    if (r->init_ss->n == 8) {
      snprintf(r->err, sizeof r->err,
               "at most 8 exactly_once sinks per pipeline");
      goto failed;
    }
    sink_states *ss = r->init_ss;
    snprintf(ss->key[ss->n], sizeof ss->key[0], "%s", ck);
    snprintf(ss->val[ss->n], sizeof ss->val[0], "%" PRIu64, base);
    ss->n++;
  }
  /* Raise the fence in our term before anything runs. */
  rc = checkpoint(m, r, true);
  if (rc) {
    if (!r->err[0])
      snprintf(r->err, sizeof r->err,
               "could not commit the resume positions in term %" PRIu64,
               r->term);
    if (r->state != R_DEPOSED) r->state = R_DEPOSED;
    return r;
  }
  rc = wire_pipeline_start(r->p);
  if (rc) {
    snprintf(r->err, sizeof r->err, "%s", wire_pipeline_errmsg(r->p));
    goto failed;
  }
  r->state = R_RUNNING;
  r->err[0] = '\0';
  LOG(n, WIRE_LOG_INFO, "pipeline %s (generation %" PRIu64 ") started in "
                        "term %" PRIu64 "%s",
      r->name, r->generation, r->term,
      json_object_size(committed) ? " from committed positions" : "");
  return r;
oom:
  snprintf(r->err, sizeof r->err, "out of memory");
failed:
  r->state = R_FAILED;
  LOG(n, WIRE_LOG_ERROR, "pipeline %s cannot start: %s", r->name, r->err);
  return r;
}

/* Stop a runner; with `commit`, drain it and commit its final positions
 * (pause, replace, graceful stop).  Without, it is being deposed or
 * deleted: it still drains (at-least-once) but commits nothing. */
static void runner_stop(node_pipes *m, runner *r, bool commit,
                        const char *why) {
  if (r->p && r->state == R_RUNNING) {
    wire_pipeline_stop(r->p);
    wire_pipeline_wait(r->p, -1);
    if (commit) checkpoint(m, r, false);
  }
  LOG(m->n, WIRE_LOG_INFO, "pipeline %s (generation %" PRIu64 ") stopped: %s",
      r->name, r->generation, why);
}

static void drop_runner(node_pipes *m, size_t i) {
  runner_free(m->rs[i]);
  m->rs[i] = m->rs[--m->nrs];
}

static void stop_all(node_pipes *m, bool commit, const char *why) {
  while (m->nrs) {
    runner_stop(m, m->rs[m->nrs - 1], commit, why);
    drop_runner(m, m->nrs - 1);
  }
}

static json_t *find_rec(json_t *list, const char *name) {
  for (size_t i = 0; i < json_array_size(list); i++) {
    json_t *o = json_array_get(list, i);
    const char *nm = json_string_value(json_object_get(o, "name"));
    if (nm && !strcmp(nm, name)) return o;
  }
  return NULL;
}

static void reconcile(node_pipes *m, json_t *snap) {
  json_t *list = json_object_get(snap, "pipelines");
  bool stopped = false;
  for (size_t i = 0; i < m->nrs;) {
    runner *r = m->rs[i];
    json_t *rec = find_rec(list, r->name);
    if (r->state == R_DEPOSED) {
      drop_runner(m, i); /* started again below if we may */
      continue;
    }
    if (!rec) {
      runner_stop(m, r, false, "deleted");
      drop_runner(m, i);
      continue;
    }
    bool paused = json_is_true(json_object_get(rec, "paused"));
    uint64_t gen =
        (uint64_t)json_integer_value(json_object_get(rec, "generation"));
    if (paused || gen != r->generation) {
      runner_stop(m, r, true, paused ? "paused" : "replaced");
      drop_runner(m, i);
      stopped = true;
      continue;
    }
    i++;
  }
  if (stopped) {
    /* Their final positions were committed after `snap` was read: start
     * replacements from a fresh one. */
    m->reload = true;
    return;
  }
  for (size_t i = 0; i < json_array_size(list); i++) {
    json_t *rec = json_array_get(list, i);
    const char *nm = json_string_value(json_object_get(rec, "name"));
    if (!nm || json_is_true(json_object_get(rec, "paused"))) continue;
    bool have = false;
    for (size_t k = 0; k < m->nrs && !have; k++)
      have = !strcmp(m->rs[k]->name, nm);
    if (have) continue;
    runner **nrs = core_realloc(m->rs, (m->nrs + 1) * sizeof *nrs);
    if (!nrs) return;
    m->rs = nrs;
    runner *r = runner_start(m, rec);
    if (!r) return;
    m->rs[m->nrs++] = r;
    /* Deposed before it ran: try again at the next reconcile. */
    if (r->state == R_DEPOSED) m->reload = true;
  }
}

/* A running pipeline: notice its end, commit its positions when due. */
static void runner_poll(node_pipes *m, runner *r, int64_t now) {
  if (r->state != R_RUNNING) return;
  /* wait(0) finishes the bookkeeping of a pipeline whose threads are done
   * and says whether they are. */
  if (wire_pipeline_wait(r->p, 0) != WIRE_ETIMEDOUT) {
    wire_pipeline_state st = wire_pipeline_get_state(r->p);
    if (st == WIRE_PIPELINE_FAILED) {
      snprintf(r->err, sizeof r->err, "%s", wire_pipeline_errmsg(r->p));
      r->state = R_FAILED;
      LOG(m->n, WIRE_LOG_ERROR, "pipeline %s failed: %s", r->name, r->err);
      checkpoint(m, r, false); /* what was acknowledged stays delivered */
    } else if (checkpoint(m, r, false) == WIRE_OK) {
      r->state = R_FINISHED;
      LOG(m->n, WIRE_LOG_INFO, "pipeline %s finished", r->name);
    }
    return;
  }
  const struct node_config *c = &m->n->cfg;
  bool due = c->checkpoint_interval_ms &&
             now - r->last_ckpt_ns >= (int64_t)c->checkpoint_interval_ms * 1000000;
  if (!due && c->checkpoint_records)
    due = sinks_out(r->p) - r->out_at_ckpt >= c->checkpoint_records;
  if (due) checkpoint(m, r, false);
}

/* --pipeline FILE: create it once a leader is known, unless it exists. */
static void submit_file(node_pipes *m, int64_t now) {
  if (m->submitted || !m->submit_text || now < m->submit_next_ns) return;
  store_cmd c = {.type = STORE_CMD_PIPELINE_CREATE};
  c.u.pipeline_put.name = store_str(m->submit_name);
  c.u.pipeline_put.definition = (store_slice){m->submit_text, m->submit_len};
  node_req *req = node_write_req(&c);
  if (!req) return;
  store_result res = {0};
  char err[512];
  int rc = node_run_sync(m->n, req, CALL_TIMEOUT_MS, &res, NULL, NULL, err,
                         sizeof err);
  if (rc) {
    LOG(m->n, WIRE_LOG_WARN, "submitting pipeline %s: %s (retrying)",
        m->submit_name, err);
    m->submit_next_ns = now + 1000000000LL;
    return;
  }
  m->submitted = true;
  if (res.status == STORE_MISMATCH)
    LOG(m->n, WIRE_LOG_INFO, "pipeline %s exists already: %s not submitted",
        m->submit_name, m->n->cfg.pipeline);
  else
    LOG(m->n, WIRE_LOG_INFO, "pipeline %s submitted from %s", m->submit_name,
        m->n->cfg.pipeline);
}

/* GET http://hostport/path from the leader, blocking (this thread only
 * waits for the node), with X-Wire-Forwarded so that a node that stopped
 * leading answers 503 instead of proxying.  The JSON body of a 200, else
 * NULL with *status set (0: no answer). */
static json_t *leader_get(const char *hostport, const char *path, int *status,
                          char *err, size_t esz) {
  *status = 0;
  char host[64];
  int port;
  if (!node_split_hostport(hostport, host, sizeof host, &port)) {
    snprintf(err, esz, "bad leader address '%s'", hostport);
    return NULL;
  }
  char portstr[16];
  snprintf(portstr, sizeof portstr, "%d", port);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  struct addrinfo *ai = NULL;
  int gr = getaddrinfo(host, portstr, &hints, &ai);
  if (gr) {
    snprintf(err, esz, "%s: %s", hostport, gai_strerror(gr));
    return NULL;
  }
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct timeval tv = {5, 0};
  if (fd >= 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    snprintf(err, esz, "connect %s: %s", hostport, strerror(errno));
    if (fd >= 0) close(fd);
    freeaddrinfo(ai);
    return NULL;
  }
  freeaddrinfo(ai);
  char req[1024];
  int rl = snprintf(req, sizeof req,
                    "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n"
                    "X-Wire-Forwarded: 1\r\n\r\n",
                    path, hostport);
  core_buf b = {0};
  json_t *out = NULL;
  if (rl <= 0 || (size_t)rl >= sizeof req || write(fd, req, (size_t)rl) != rl) {
    snprintf(err, esz, "send to %s: %s", hostport, strerror(errno));
    goto done;
  }
  char chunk[16384];
  ssize_t k;
  while ((k = read(fd, chunk, sizeof chunk)) > 0)
    if (b.len > (64u << 20) || core_buf_append(&b, chunk, (size_t)k)) {
      snprintf(err, esz, "answer of %s too large", hostport);
      goto done;
    }
  if (k < 0) {
    snprintf(err, esz, "read from %s: %s", hostport, strerror(errno));
    goto done;
  }
  const char *hdr_end =
      b.len ? memmem(b.data, b.len, "\r\n\r\n", 4) : NULL;
  if (!hdr_end || b.len < 12 || memcmp(b.data, "HTTP/1.", 7)) {
    snprintf(err, esz, "malformed answer from %s", hostport);
    goto done;
  }
  *status = atoi(b.data + 9);
  if (*status != 200) {
    snprintf(err, esz, "%s answered %d", hostport, *status);
    goto done;
  }
  /* Our server answers with Content-Length (never chunked). */
  const char *body = hdr_end + 4;
  json_error_t je;
  out = json_loadb(body, (size_t)(b.data + b.len - body), 0, &je);
  if (!out) snprintf(err, esz, "answer of %s: %s", hostport, je.text);
done:
  core_buf_free(&b);
  close(fd);
  return out;
}

/* A node that ran pipelines with exactly-once file sinks, and now does not
 * lead (it restarted, or lost leadership), cuts those files back to the
 * lengths it committed: what it wrote after its last checkpoint is being
 * delivered again by the leader.  The committed lengths come from the
 * leader (read after a raft barrier), never from this node's own state,
 * which may lag behind what it committed. */
static int recover_sinks(node_pipes *m, const char *leader_http) {
  wire_node *n = m->n;
  char err[512], path[512];
  int status;
  json_t *list = leader_get(leader_http, "/pipelines", &status, err, sizeof err);
  if (!list) {
    LOG(n, WIRE_LOG_DEBUG, "recovering sinks: %s (retrying)", err);
    return WIRE_EAGAIN;
  }
  char suffix[32];
  snprintf(suffix, sizeof suffix, "@%" PRIu64, n->cfg.id);
  size_t sl = strlen(suffix);
  int rc = WIRE_OK;
  json_t *arr = json_object_get(list, "pipelines");
  for (size_t i = 0; i < json_array_size(arr) && !rc; i++) {
    const char *name =
        json_string_value(json_object_get(json_array_get(arr, i), "name"));
    if (!name) continue;
    core_buf enc = {0};
    for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
      if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
          (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.')
        core_buf_putc(&enc, (char)*c);
      else
        core_buf_printf(&enc, "%%%02X", *c);
    }
    snprintf(path, sizeof path, "/pipelines/%.*s", (int)WIRE_MIN(enc.len, 400),
             enc.data ? enc.data : "");
    core_buf_free(&enc);
    json_t *rec = leader_get(leader_http, path, &status, err, sizeof err);
    if (!rec) {
      if (status != 404) rc = WIRE_EAGAIN; /* deleted meanwhile: fine */
      continue;
    }
    json_t *def = json_object_get(rec, "definition");
    wire_pipeline *p = NULL;
    const char *key;
    json_t *val;
    json_object_foreach(json_object_get(rec, "committed"), key, val) {
      size_t kl = strlen(key);
      if (strncmp(key, "sink/", 5) || kl <= 5 + sl ||
          strcmp(key + kl - sl, suffix))
        continue;
      if (!p && (wire_pipeline_parse(n->ctx, json_string_value(def),
                                     json_string_length(def), name, &p) ||
                 wire_pipeline_validate(p))) {
        LOG(n, WIRE_LOG_WARN, "pipeline %s: cannot parse its definition to "
                              "recover its sinks",
            name);
        break;
      }
      char sid[128];
      snprintf(sid, sizeof sid, "%.*s", (int)(kl - 5 - sl), key + 5);
      wire_node_kind kind;
      const char *type;
      const wire_config *cfg = pipe_node_config(p, sid, &kind, &type);
      if (!cfg || kind != WIRE_NODE_SINK || strcmp(type, "file")) continue;
      const char *pos =
          json_string_value(json_object_get(val, "position"));
      int r2 = conn_file_sink_recover(cfg, pos ? pos : "", err, sizeof err);
      if (r2 < 0)
        LOG(n, WIRE_LOG_ERROR, "pipeline %s: sink %s: %s", name, sid, err);
      else if (r2 > 0)
        LOG(n, WIRE_LOG_INFO, "pipeline %s: sink %s: %s", name, sid, err);
    }
    wire_pipeline_free(p);
    json_decref(rec);
  }
  json_decref(list);
  return rc;
}

static void step(node_pipes *m) {
  char err[512];
  node_view v;
  if (get_view(m, &v, err, sizeof err)) return;
  int64_t now = core_monotonic_ns();
  if (v.leader_known) submit_file(m, now);
  if (!v.leader && v.leader_known && v.leader_http[0] && !m->recovered &&
      now >= m->recover_next_ns) {
    if (recover_sinks(m, v.leader_http) == WIRE_OK) m->recovered = true;
    else m->recover_next_ns = now + 200000000LL;
  }
  if (!v.leader || v.term != m->term) {
    if (m->nrs) {
      stop_all(m, false, v.leader ? "new term" : "this node no longer leads");
      m->recovered = false; /* cut back what they wrote after committing */
    }
    m->term = v.leader ? v.term : 0;
    m->reload = true;
    if (!v.leader) {
      publish(m);
      return;
    }
  }
  if (m->reload || v.version != m->seen_version) {
    json_t *snap = get_snapshot(m, true, err, sizeof err);
    if (!snap) {
      LOG(m->n, WIRE_LOG_DEBUG, "reading pipelines: %s", err);
      return;
    }
    m->reload = false;
    m->seen_version =
        (uint64_t)json_integer_value(json_object_get(snap, "version"));
    reconcile(m, snap);
    json_decref(snap);
  }
  for (size_t i = 0; i < m->nrs; i++) runner_poll(m, m->rs[i], now);
  publish(m);
}

static void mgr_thread(void *arg) {
  node_pipes *m = arg;
  for (;;) {
    pthread_mutex_lock(&m->mu);
    if (!m->stop) {
      struct timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      ts.tv_nsec += MGR_TICK_MS * 1000000L;
      if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
      pthread_cond_timedwait(&m->cond, &m->mu, &ts);
    }
    bool stop = m->stop;
    pthread_mutex_unlock(&m->mu);
    if (stop) break;
    step(m);
  }
  /* Graceful: drain and commit while we may still lead (a deposed runner's
   * commit is refused, which is right). */
  stop_all(m, true, "node stopping");
  publish(m);
}

/* ---- lifecycle ---------------------------------------------------------------- */

int node_pipes_new(wire_node *n) {
  node_pipes *m = core_calloc(1, sizeof *m);
  if (!m) return WIRE_ENOMEM;
  m->n = n;
  m->pos = core_malloc(POS_MAX);
  if (!m->pos) {
    core_free(m);
    return WIRE_ENOMEM;
  }
  pthread_mutex_init(&m->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&m->cond, &ca);
  pthread_condattr_destroy(&ca);
  n->pipes = m;
  return WIRE_OK;
}

/* --pipeline FILE: read and validate now, so that a bad file stops the
 * node from starting. */
int node_pipes_load_file(wire_node *n, char *err, size_t esz) {
  node_pipes *m = n->pipes;
  const char *path = n->cfg.pipeline;
  if (!path) return WIRE_OK;
  FILE *f = fopen(path, "rb");
  if (!f)
    return core_msg(err, esz, WIRE_EIO, "--pipeline %s: %s", path,
                    strerror(errno));
  core_buf b = {0};
  char chunk[8192];
  size_t k;
  int rc = WIRE_OK;
  while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
    if (core_buf_append(&b, chunk, k)) {
      rc = core_msg(err, esz, WIRE_ENOMEM, "--pipeline %s: out of memory",
                    path);
      break;
    }
  if (!rc && ferror(f))
    rc = core_msg(err, esz, WIRE_EIO, "--pipeline %s: read error", path);
  fclose(f);
  if (!rc)
    rc = validate_def(n, b.data ? b.data : "", b.len, path, m->submit_name,
                      sizeof m->submit_name, NULL, err, esz);
  if (rc) {
    core_buf_free(&b);
    return rc;
  }
  m->submit_text = b.data ? b.data : core_strdup("");
  m->submit_len = b.len;
  return m->submit_text ? WIRE_OK : WIRE_ENOMEM;
}

int node_pipes_start(wire_node *n) {
  node_pipes *m = n->pipes;
  int rv = uv_thread_create(&m->thread, mgr_thread, m);
  if (rv)
    return core_msg(node_err(n), WIRE_ERRMSG_SIZE, WIRE_EIO,
                    "cannot start the pipelines thread: %s", uv_strerror(rv));
  m->thread_started = true;
  return WIRE_OK;
}

void node_pipes_stop(wire_node *n) {
  node_pipes *m = n->pipes;
  if (!m || !m->thread_started) return;
  pthread_mutex_lock(&m->mu);
  m->stop = true;
  pthread_cond_signal(&m->cond);
  pthread_mutex_unlock(&m->mu);
  uv_thread_join(&m->thread);
  m->thread_started = false;
}

void node_pipes_free(wire_node *n) {
  node_pipes *m = n->pipes;
  if (!m) return;
  node_pipes_stop(n);
  for (size_t i = 0; i < m->nrs; i++) runner_free(m->rs[i]);
  core_free(m->rs);
  json_decref(m->pub);
  core_free(m->submit_text);
  core_free(m->pos);
  pthread_mutex_destroy(&m->mu);
  pthread_cond_destroy(&m->cond);
  core_free(m);
  n->pipes = NULL;
}

/* ---- node thread: what HTTP and the C API show ----------------------------------- */

int node_pipes_validate(wire_node *n, const char *text, size_t len,
                        const char *file, char *name, size_t nsz,
                        json_t *diags, char *msg, size_t msz) {
  return validate_def(n, text, len, file, name, nsz, diags, msg, msz);
}

typedef struct info_ctx {
  json_t *committed;
} info_ctx;

static int info_ckpt(void *ud, store_slice source, store_slice position,
                     uint64_t term) {
  info_ctx *c = ud;
  char *src = core_strndup(source.ptr, source.len);
  if (!src) return WIRE_ENOMEM;
  json_object_set_new(c->committed, src,
                      json_pack("{s:s%,s:I}", "position", position.ptr,
                                position.len, "term", (json_int_t)term));
  core_free(src);
  return 0;
}

/* The object describing one stored pipeline. */
static json_t *info_of(wire_node *n, const store_pipeline *p, bool brief) {
  json_t *o = json_object();
  json_object_set_new(o, "name", json_stringn(p->name.ptr, p->name.len));
  char *name = core_strndup(p->name.ptr, p->name.len);
  char *rt = name ? node_pipes_runtime_json(n, name) : NULL;
  json_t *run = rt ? json_loads(rt, 0, NULL) : NULL;
  free(rt);
  core_free(name);
  const char *state;
  if (p->paused) state = "paused";
  else if (run) state = json_string_value(json_object_get(run, "state"));
  else state = "starting";
  json_object_set_new(o, "state", json_string(state ? state : "unknown"));
  json_object_set_new(o, "generation", json_integer((json_int_t)p->generation));
  json_object_set_new(o, "paused", json_boolean(p->paused));
  if (run) {
    json_object_set(o, "node", json_object_get(run, "node"));
    json_t *e = json_object_get(run, "error");
    if (e) json_object_set(o, "error", e);
  } else {
    json_object_set_new(o, "node", json_null());
  }
  if (!brief) {
    info_ctx c = {json_object()};
    store_fsm_checkpoint_scan(n->fsm, p->name, info_ckpt, &c);
    json_object_set_new(o, "committed", c.committed);
    json_object_set_new(o, "definition",
                        json_stringn(p->definition.ptr, p->definition.len));
    if (run) {
      json_object_del(run, "state");
      json_object_del(run, "node");
      json_object_del(run, "error");
      json_object_set(o, "runtime", run);
    } else {
      json_object_set_new(o, "runtime", json_null());
    }
  }
  json_decref(run);
  return o;
}

static int list_cb(void *ud, const store_pipeline *p) {
  json_t **a = ud;
  json_array_append_new(a[0], info_of((wire_node *)a[1], p, true));
  return 0;
}

int node_pipes_info(wire_node *n, const char *name, size_t nlen, char **out,
                    char *err, size_t esz) {
  json_t *o;
  if (name) {
    core_buf buf = {0};
    store_pipeline p;
    int rc = store_fsm_pipeline_get(n->fsm, (store_slice){name, nlen}, &buf, &p);
    if (rc) {
      core_buf_free(&buf);
      if (rc == WIRE_ENOTFOUND)
        return core_msg(err, esz, rc, "no pipeline named '%.*s'",
                        (int)WIRE_MIN(nlen, 200), name);
      return core_msg(err, esz, rc, "store: %s", store_fsm_errmsg(n->fsm));
    }
    o = info_of(n, &p, false);
    core_buf_free(&buf);
  } else {
    json_t *list = json_array();
    void *a[2] = {list, n};
    int rc = store_fsm_pipeline_scan(n->fsm, list_cb, a);
    if (rc) {
      json_decref(list);
      return core_msg(err, esz, rc, "store: %s", store_fsm_errmsg(n->fsm));
    }
    o = json_pack("{s:o}", "pipelines", list);
  }
  *out = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  if (!*out) return core_msg(err, esz, WIRE_ENOMEM, "out of memory");
  return WIRE_OK;
}

/* ---- public API ---------------------------------------------------------------------------- */

static int write_cmd(wire_node *n, const store_cmd *c, int timeout_ms,
                     store_result *res) {
  node_req *req = node_write_req(c);
  if (!req)
    return core_msg(node_err(n), WIRE_ERRMSG_SIZE, WIRE_ENOMEM, "out of memory");
  return node_run_sync(n, req, timeout_ms, res, NULL, NULL, node_err(n), WIRE_ERRMSG_SIZE);
}

static int check_name(wire_node *n, const char *name) {
  if (!name || !*name)
    return core_msg(node_err(n), WIRE_ERRMSG_SIZE, WIRE_EINVAL,
                    "empty pipeline name");
  if (strlen(name) > STORE_KEY_MAX)
    return core_msg(node_err(n), WIRE_ERRMSG_SIZE, WIRE_ETOOBIG,
                    "pipeline name longer than %u bytes", STORE_KEY_MAX);
  return WIRE_OK;
}

WIRE_API int wire_node_pipeline_submit(wire_node *n, const char *text,
                                       size_t len, bool replace, char *name,
                                       size_t name_size, int timeout_ms) {
  if (!n || !text) return WIRE_EINVAL;
  char nm[256];
  int rc = validate_def(n, text, len, "<submitted>", nm, sizeof nm, NULL,
                        node_err(n), WIRE_ERRMSG_SIZE);
  if (rc) return rc;
  if (len > n->limits.value_max)
    return core_msg(node_err(n), WIRE_ERRMSG_SIZE, WIRE_ETOOBIG,
                    "definition of %zu bytes: at most %zu (value-max)", len,
                    n->limits.value_max);
  store_cmd c = {.type = replace ? STORE_CMD_PIPELINE_PUT
                                 : STORE_CMD_PIPELINE_CREATE};
  c.u.pipeline_put.name = store_str(nm);
  c.u.pipeline_put.definition = (store_slice){text, len};
  store_result res = {0};
  rc = write_cmd(n, &c, timeout_ms, &res);
  if (rc) return rc;
  if (name && name_size) snprintf(name, name_size, "%s", nm);
  if (res.status == STORE_MISMATCH)
    return core_msg(node_err(n), WIRE_ERRMSG_SIZE, WIRE_EEXISTS,
                    "a pipeline named '%s' exists already", nm);
  if (res.status != STORE_OK)
    return core_msg(node_err(n), WIRE_ERRMSG_SIZE, WIRE_EFAILED, "%s",
                    store_status_str(res.status));
  return WIRE_OK;
}

WIRE_API int wire_node_pipeline_delete(wire_node *n, const char *name,
                                       int timeout_ms) {
  if (!n) return WIRE_EINVAL;
  int rc = check_name(n, name);
  if (rc) return rc;
  store_cmd c = {.type = STORE_CMD_PIPELINE_DELETE};
  c.u.pipeline_delete.name = store_str(name);
  store_result res = {0};
  rc = write_cmd(n, &c, timeout_ms, &res);
  if (rc) return rc;
  if (res.status == STORE_NOTFOUND)
    return core_msg(node_err(n), WIRE_ERRMSG_SIZE, WIRE_ENOTFOUND,
                    "no pipeline named '%s'", name);
  return WIRE_OK;
}

WIRE_API int wire_node_pipeline_pause(wire_node *n, const char *name,
                                      bool paused, int timeout_ms) {
  if (!n) return WIRE_EINVAL;
  int rc = check_name(n, name);
  if (rc) return rc;
  store_cmd c = {.type = STORE_CMD_PIPELINE_STATE};
  c.u.pipeline_state.name = store_str(name);
  c.u.pipeline_state.paused = paused;
  store_result res = {0};
  rc = write_cmd(n, &c, timeout_ms, &res);
  if (rc) return rc;
  if (res.status == STORE_NOTFOUND)
    return core_msg(node_err(n), WIRE_ERRMSG_SIZE, WIRE_ENOTFOUND,
                    "no pipeline named '%s'", name);
  return res.status == STORE_OK
             ? WIRE_OK
             : core_msg(node_err(n), WIRE_ERRMSG_SIZE, WIRE_EFAILED, "%s",
                        store_status_str(res.status));
}

static void info_call(wire_node *n, node_req *req) {
  char *out = NULL;
  char err[256];
  const char *name = req->data_len ? req->data : NULL;
  int rc = node_pipes_info(n, name, req->data_len, &out, err, sizeof err);
  if (rc) {
    node_req_fail(req, rc, "%s", err);
    return;
  }
  node_req_finish(req, WIRE_OK, NULL, 0, out, strlen(out));
  free(out);
}

WIRE_API int wire_node_pipeline_info(wire_node *n, const char *name,
                                     char **json, int timeout_ms) {
  if (!n || !json) return WIRE_EINVAL;
  *json = NULL;
  size_t nl = name ? strlen(name) : 0;
  if (name) {
    int rc = check_name(n, name);
    if (rc) return rc;
  }
  node_req *req = node_req_new(NODE_OP_CALL, nl);
  if (!req)
    return core_msg(node_err(n), WIRE_ERRMSG_SIZE, WIRE_ENOMEM, "out of memory");
  if (nl) memcpy(req->data, name, nl);
  req->data_len = nl;
  req->call = info_call;
  char *val = NULL;
  size_t vl;
  int rc = node_run_sync(n, req, timeout_ms, NULL, &val, &vl, node_err(n),
                         WIRE_ERRMSG_SIZE);
  if (rc) return rc;
  *json = malloc(vl + 1);
  if (!*json) {
    core_free(val);
    return core_msg(node_err(n), WIRE_ERRMSG_SIZE, WIRE_ENOMEM, "out of memory");
  }
  memcpy(*json, val, vl + 1);
  core_free(val);
  return WIRE_OK;
}
