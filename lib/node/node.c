/*
 * A node: lifecycle, the node thread, raft on its libuv backend, the request
 * queue from other threads, group commit, linearizable reads, membership
 * and status.
 *
 * Request flow.  A call from another thread builds a node_req (owning a copy
 * of its bytes), appends it to the inbox under `mu` and wakes the loop
 * (uv_async).  On the node thread, node_dispatch() routes it:
 *   - writes join `writes`; the uv_prepare handle `flush` runs once per loop
 *     iteration, before the loop blocks, and turns everything gathered into
 *     ONE raft entry (a BATCH command when there are several): group commit.
 *     Requests that arrived while the previous entry was on disk coalesce
 *     naturally, so under load entries grow and fsyncs are shared.  On a
 *     follower the same entry goes to the leader over HTTP instead
 *     (node_http_forward_entry) and the leader proposes it as is.
 *   - linearizable reads join `reads`; one raft barrier per iteration serves
 *     them all: once it is applied, the leader has confirmed its leadership
 *     with a quorum in the current term and applied everything committed
 *     before the read arrived.  Followers forward them to the leader.
 *     Stale reads are served at once from the local state.
 *   - without a known leader, requests are parked until one is known or
 *     their deadline passes.
 * Results come back through the request's `done` on the node thread.
 *
 * A write whose raft entry fails after it was proposed (leadership lost)
 * may or may not commit: it fails with WIRE_ENOTLEADER and a message that
 * says so; it is never retried behind the caller's back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "node/node_int.h"
#include "pipeline/pipe.h"

#define COMPONENT "node"
/* Upper bound of one group-commit entry (a single bigger command is still
 * proposed alone). */
#define GROUP_MAX_BYTES (4u << 20)
#define GROUP_MAX_CMDS 4096
/* Group commit waits while this many entries are in flight on the leader:
 * writes arriving meanwhile join the next entry instead of each loop
 * iteration proposing its own small one.  Fewer, bigger entries mean fewer
 * disk writes, messages and applies per command: with 50 closed-loop
 * clients on 3 nodes (2 cores) 5 -> 22 commands per entry and about 15%
 * more writes/s (bench/README.md, resp_bench.py). */
#define GROUP_MAX_INFLIGHT 1
/* Linearizable reads likewise: one barrier in flight serves every read that
 * arrived before it; reads arriving meanwhile share the next one. */
#define BARRIER_MAX_INFLIGHT 1
/* With one entry in flight, closed-loop writers split into two cohorts
 * that alternate (one waits while the other's entry commits), halving the
 * entry size.  When the previous commit saw more writers than are queued
 * now, the leader lingers up to this long for the others to come back, so
 * that they share one entry again.  It sleeps in the loop's poll meanwhile
 * (a timerfd bounds the wait: libuv timers count milliseconds): spinning
 * took the CPU from the very clients it waited for. */
#define GROUP_LINGER_NS 300000
#define TICK_MS 50

#define LOG(n, lv, ...) core_logf(&(n)->log, (lv), COMPONENT, __VA_ARGS__)

/* ---- requests -------------------------------------------------------------- */

node_req *node_req_new(node_op op, size_t n) {
  node_req *r = core_calloc(1, sizeof *r);
  if (!r) return NULL;
  r->op = op;
  if (n) {
    r->data = core_malloc(n);
    if (!r->data) {
      core_free(r);
      return NULL;
    }
  }
  r->data_len = n;
  return r;
}

void node_req_free(node_req *req) {
  if (!req) return;
  core_free(req->data);
  core_free(req);
}

void node_req_finish(node_req *req, int rc, const store_result *res, size_t n,
                     const char *val, size_t vlen) {
  if (rc == WIRE_OK) req->err[0] = '\0';
  else if (!req->err[0])
    snprintf(req->err, sizeof req->err, "%s", wire_strerror(rc));
  req->done(req, rc, res, n, val, vlen);
}

void node_req_fail(node_req *req, int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(req->err, sizeof req->err, fmt, ap);
  va_end(ap);
  node_req_finish(req, rc, NULL, 0, NULL, 0);
}

void node_reqlist_push(node_reqlist *l, node_req *r) {
  r->next = NULL;
  if (l->tail) l->tail->next = r;
  else l->head = r;
  l->tail = r;
  l->n++;
  l->bytes += r->data_len;
}

node_req *node_reqlist_pop(node_reqlist *l) {
  node_req *r = l->head;
  if (!r) return NULL;
  l->head = r->next;
  if (!l->head) l->tail = NULL;
  l->n--;
  l->bytes -= r->data_len;
  r->next = NULL;
  return r;
}

static void fail_all(node_reqlist *l, int rc, const char *msg) {
  node_req *r;
  while ((r = node_reqlist_pop(l))) node_req_fail(r, rc, "%s", msg);
}

/* The store's failure code (0: it takes writes), with what happened in
 * msg ("the store on node 1 cannot write (...)"). */
static int store_down(wire_node *n, char *msg, size_t size) {
  const char *why;
  int rc = store_fsm_failure(n->fsm, &why);
  if (rc)
    snprintf(msg, size, "the store on node %llu cannot write (%s)",
             (unsigned long long)n->cfg.id, why);
  return rc;
}

/* ---- raft helpers ---------------------------------------------------------- */

static wire_node_role role_of(int state) {
  switch (state) {
    case RAFT_LEADER:
      return WIRE_ROLE_LEADER;
    case RAFT_CANDIDATE:
      return WIRE_ROLE_CANDIDATE;
    case RAFT_FOLLOWER:
      return WIRE_ROLE_FOLLOWER;
    default:
      return WIRE_ROLE_STOPPED;
  }
}

const char *wire_node_role_name(wire_node_role role) {
  switch (role) {
    case WIRE_ROLE_LEADER:
      return "leader";
    case WIRE_ROLE_CANDIDATE:
      return "candidate";
    case WIRE_ROLE_FOLLOWER:
      return "follower";
    default:
      return "stopped";
  }
}

static bool is_leader(wire_node *n) {
  return n->raft_inited && !n->closing && raft_state(&n->raft) == RAFT_LEADER;
}

/* The leader's id (0 when unknown). */
static uint64_t leader_id(wire_node *n) {
  if (!n->raft_inited || n->closing) return 0;
  raft_id id = 0;
  const char *addr = NULL;
  raft_leader(&n->raft, &id, &addr);
  return id;
}

void node_leader_http(wire_node *n, uint64_t *id, char *http, size_t size) {
  uint64_t lid = leader_id(n);
  if (id) *id = lid;
  http[0] = '\0';
  if (!lid) return;
  if (lid == n->cfg.id) {
    snprintf(http, size, "%s", n->http_addr);
    return;
  }
  core_buf raddr = {0}, haddr = {0};
  if (store_fsm_member_get(n->fsm, lid, &raddr, &haddr) == WIRE_OK &&
      haddr.len && haddr.len < size) {
    memcpy(http, haddr.data, haddr.len);
    http[haddr.len] = '\0';
  }
  core_buf_free(&raddr);
  core_buf_free(&haddr);
}

/* ---- group commit -------------------------------------------------------- */

/* One proposed entry and the requests waiting for it. */
typedef struct node_prop {
  struct raft_apply apply;
  wire_node *node;
  node_req **reqs;
  size_t n;
  node_req *entry; /* NODE_OP_ENTRY proposed as is (reqs unused) */
  struct node_prop *prev, *next; /* n->live_props while in flight */
  bool answered; /* the requests were failed already (fail_inflight) */
} node_prop;

static void live_unlink(wire_node *n, node_prop *p) {
  if (p->prev) p->prev->next = p->next;
  else if (n->live_props == p) n->live_props = p->next;
  if (p->next) p->next->prev = p->prev;
  p->prev = p->next = NULL;
}

static void prop_free(node_prop *p) {
  core_free(p->reqs);
  core_free(p);
}

static int raft_to_wire(int rv) {
  switch (rv) {
    case 0:
      return WIRE_OK;
    case RAFT_NOMEM:
      return WIRE_ENOMEM;
    case RAFT_NOTLEADER:
    case RAFT_LEADERSHIPLOST:
      return WIRE_ENOTLEADER;
    case RAFT_SHUTDOWN:
      return WIRE_ESHUTDOWN;
    case RAFT_TOOBIG:
      return WIRE_ETOOBIG;
    default:
      return WIRE_EIO;
  }
}

static const char *lost_msg(int rv) {
  return rv == RAFT_LEADERSHIPLOST
             ? "leadership lost while the write was in flight: it may or "
               "may not have been applied"
             : raft_strerror(rv);
}

size_t node_req_ncmds(const node_req *r) {
  return r->cmd.type == STORE_CMD_BATCH ? r->cmd.u.batch.count : 1;
}

size_t node_req_flatten(const node_req *r, store_cmd *out) {
  if (r->cmd.type != STORE_CMD_BATCH) {
    out[0] = r->cmd;
    return 1;
  }
  for (size_t j = 0; j < r->cmd.u.batch.count; j++)
    out[j] = r->cmd.u.batch.items[j];
  return r->cmd.u.batch.count;
}

static void apply_cb(struct raft_apply *areq, int status, void *result) {
  node_prop *p = areq->data;
  wire_node *n = p->node;
  n->inflight--;
  live_unlink(n, p);
  if (!p->entry) n->group_expect = p->n + n->writes.n;
  if (p->answered) { /* its clients were told already (fail_inflight) */
    prop_free(p);
    return;
  }
  const store_apply_result *ar = result;
  if (p->entry) {
    if (status)
      node_req_fail(p->entry, raft_to_wire(status), "%s", lost_msg(status));
    else
      node_req_finish(p->entry, WIRE_OK, ar ? ar->res : NULL, ar ? ar->n : 0,
                      NULL, 0);
    prop_free(p);
    return;
  }
  size_t off = 0;
  for (size_t i = 0; i < p->n; i++) {
    size_t k = node_req_ncmds(p->reqs[i]);
    if (status) {
      node_req_fail(p->reqs[i], raft_to_wire(status), "%s", lost_msg(status));
    } else if (!ar || off + k > ar->n) {
      node_req_fail(p->reqs[i], WIRE_EIO, "no result for the command");
    } else {
      node_req_finish(p->reqs[i], WIRE_OK, &ar->res[off], k, NULL, 0);
    }
    off += k;
  }
  prop_free(p);
}

/* Propose buf (from raft_malloc; consumed either way) carrying prop's
 * requests. */
static void propose(wire_node *n, node_prop *p, struct raft_buffer buf) {
  p->apply.data = p;
  int rv = raft_apply(&n->raft, &p->apply, &buf, 1, apply_cb);
  if (rv) {
    raft_free(buf.base);
    int rc = raft_to_wire(rv);
    const char *msg = raft_errmsg(&n->raft);
    if (p->entry) node_req_fail(p->entry, rc, "raft: %s", msg);
    for (size_t i = 0; i < p->n; i++)
      node_req_fail(p->reqs[i], rc, "raft: %s", msg);
    prop_free(p);
    return;
  }
  n->inflight++;
  p->next = n->live_props;
  if (p->next) p->next->prev = p;
  n->live_props = p;
  atomic_fetch_add(&n->n_entries, 1);
  atomic_fetch_add(&n->n_commands, p->entry ? 1 : p->n);
}

/* Completion of a follower's forwarded group: spread the leader's results. */
static void forwarded_done(node_req *entry, int rc, const store_result *res,
                           size_t nres, const char *val, size_t vlen) {
  (void)val;
  (void)vlen;
  node_prop *p = entry->ud;
  size_t off = 0;
  for (size_t i = 0; i < p->n; i++) {
    size_t k = node_req_ncmds(p->reqs[i]);
    if (rc) {
      snprintf(p->reqs[i]->err, sizeof p->reqs[i]->err, "%s", entry->err);
      node_req_finish(p->reqs[i], rc, NULL, 0, NULL, 0);
    } else if (off + k > nres) {
      node_req_fail(p->reqs[i], WIRE_EIO, "leader returned %zu results for "
                    "more commands", nres);
    } else {
      node_req_finish(p->reqs[i], WIRE_OK, &res[off], k, NULL, 0);
    }
    off += k;
  }
  prop_free(p);
  node_req_free(entry);
}

/* Take up to GROUP_MAX_* requests off `writes` and encode them into one
 * entry.  Requests whose command does not encode fail on their own. */
static void flush_writes(wire_node *n) {
  char why[400];
  int down = n->writes.n && is_leader(n) ? store_down(n, why, sizeof why) : 0;
  if (down) { /* refused: nothing of them is written */
    node_req *r;
    while ((r = node_reqlist_pop(&n->writes)))
      node_req_fail(r, down, "%s; not written, retry when it has recovered",
                    why);
    return;
  }
  while (n->writes.n &&
         (!is_leader(n) || n->inflight < GROUP_MAX_INFLIGHT)) {
    node_prop *p = core_calloc(1, sizeof *p);
    size_t cap = WIRE_MIN(n->writes.n, (size_t)GROUP_MAX_CMDS);
    if (p) p->reqs = core_malloc(cap * sizeof *p->reqs);
    if (!p || !p->reqs) {
      if (p) core_free(p);
      fail_all(&n->writes, WIRE_ENOMEM, "out of memory");
      return;
    }
    p->node = n;
    size_t bytes = 0;
    while (p->n < cap && n->writes.head) {
      node_req *r = n->writes.head;
      if (p->n && bytes + r->data_len > GROUP_MAX_BYTES) break;
      node_reqlist_pop(&n->writes);
      p->reqs[p->n++] = r;
      bytes += r->data_len;
    }
    /* Encode: one command alone, several as a batch (a transaction's
     * commands inline: batches do not nest). */
    store_cmd *items = NULL;
    store_cmd batch;
    const store_cmd *cmd;
    size_t ncmds = 0;
    for (size_t i = 0; i < p->n; i++) ncmds += node_req_ncmds(p->reqs[i]);
    if (p->n == 1) {
      cmd = &p->reqs[0]->cmd;
    } else {
      items = core_malloc(ncmds * sizeof *items);
      if (!items) {
        for (size_t i = 0; i < p->n; i++)
          node_req_fail(p->reqs[i], WIRE_ENOMEM, "out of memory");
        prop_free(p);
        continue;
      }
      size_t k = 0;
      for (size_t i = 0; i < p->n; i++)
        k += node_req_flatten(p->reqs[i], items + k);
      batch = (store_cmd){.type = STORE_CMD_BATCH};
      batch.u.batch.items = items;
      batch.u.batch.count = ncmds;
      cmd = &batch;
    }
    char err[256];
    n->enc.len = 0;
    int rc = store_cmd_encode(cmd, &n->limits, &n->enc, err, sizeof err);
    core_free(items);
    if (rc) {
      /* Commands were checked when submitted; only OOM gets here. */
      for (size_t i = 0; i < p->n; i++)
        node_req_fail(p->reqs[i], rc, "encoding: %s", err);
      prop_free(p);
      continue;
    }
    if (is_leader(n)) {
      struct raft_buffer buf = {.base = raft_malloc(n->enc.len),
                                .len = n->enc.len};
      if (!buf.base) {
        for (size_t i = 0; i < p->n; i++)
          node_req_fail(p->reqs[i], WIRE_ENOMEM, "out of memory");
        prop_free(p);
        continue;
      }
      memcpy(buf.base, n->enc.data, n->enc.len);
      propose(n, p, buf);
    } else {
      node_req *e = node_req_new(NODE_OP_ENTRY, n->enc.len);
      if (!e) {
        for (size_t i = 0; i < p->n; i++)
          node_req_fail(p->reqs[i], WIRE_ENOMEM, "out of memory");
        prop_free(p);
        continue;
      }
      memcpy(e->data, n->enc.data, n->enc.len);
      e->done = forwarded_done;
      e->ud = p;
      e->deadline_ns = p->reqs[0]->deadline_ns;
      atomic_fetch_add(&n->n_forwarded, 1);
      node_http_forward_entry(n, e);
    }
  }
}

/* ---- linearizable reads --------------------------------------------------- */

typedef struct node_barrier {
  struct raft_barrier req;
  wire_node *node;
  node_reqlist reads;
  struct node_barrier *prev, *next; /* n->live_barriers while in flight */
} node_barrier;

static void serve_read(wire_node *n, node_req *r) {
  n->enc.len = 0;
  int rc = store_fsm_get(n->fsm, r->key, &n->enc);
  if (rc == WIRE_ENOTFOUND)
    node_req_fail(r, rc, "key not found");
  else if (rc)
    node_req_fail(r, rc, "store: %s", store_fsm_errmsg(n->fsm));
  else
    node_req_finish(r, WIRE_OK, NULL, 0, n->enc.data ? n->enc.data : "",
                    n->enc.len);
}

static void barrier_cb(struct raft_barrier *breq, int status) {
  node_barrier *b = breq->data;
  wire_node *n = b->node;
  n->barriers_inflight--;
  if (b->prev) b->prev->next = b->next;
  else if (n->live_barriers == b) n->live_barriers = b->next;
  if (b->next) b->next->prev = b->prev;
  node_req *r;
  while ((r = node_reqlist_pop(&b->reads))) {
    if (status)
      node_req_fail(r, raft_to_wire(status),
                    "could not confirm leadership for a linearizable read: %s",
                    raft_strerror(status));
    else if (r->op == NODE_OP_BARRIER)
      node_req_finish(r, WIRE_OK, NULL, 0, NULL, 0);
    else if (r->op == NODE_OP_CALL)
      r->call(n, r);
    else
      serve_read(n, r);
  }
  core_free(b);
}

static void flush_reads(wire_node *n) {
  if (!n->reads.n) return;
  if (!is_leader(n)) {
    node_req *r;
    while ((r = node_reqlist_pop(&n->reads))) {
      if (r->op == NODE_OP_BARRIER || r->op == NODE_OP_CALL)
        node_req_fail(r, WIRE_ENOTLEADER, "this node is not the leader");
      else
        node_http_forward_read(n, r);
    }
    return;
  }
  char why[400];
  int down = store_down(n, why, sizeof why);
  if (down) { /* the barrier would wait behind the entry that cannot apply */
    node_req *r;
    while ((r = node_reqlist_pop(&n->reads)))
      node_req_fail(r, down, "%s: a linearizable read waits for it; stale "
                    "reads work", why);
    return;
  }
  node_barrier *b = core_calloc(1, sizeof *b);
  if (!b) {
    fail_all(&n->reads, WIRE_ENOMEM, "out of memory");
    return;
  }
  b->node = n;
  b->reads = n->reads;
  n->reads = (node_reqlist){0};
  b->req.data = b;
  int rv = raft_barrier(&n->raft, &b->req, barrier_cb);
  if (rv) {
    n->reads = b->reads;
    core_free(b);
    fail_all(&n->reads, raft_to_wire(rv), raft_errmsg(&n->raft));
    return;
  }
  atomic_fetch_add(&n->n_barriers, 1);
  n->barriers_inflight++;
  b->next = n->live_barriers;
  if (b->next) b->next->prev = b;
  n->live_barriers = b;
}

/* ---- dispatch ---------------------------------------------------------------- */

void node_status_fill(wire_node *n, wire_node_status *st) {
  memset(st, 0, sizeof *st);
  st->id = n->cfg.id;
  if (!n->raft_inited || n->closing) {
    st->role = WIRE_ROLE_STOPPED;
    return;
  }
  struct raft *r = &n->raft;
  st->role = role_of(raft_state(r));
  node_leader_http(n, &st->leader_id, st->leader_http, sizeof st->leader_http);
  st->term = r->current_term;
  st->commit_index = r->commit_index;
  st->applied_index = raft_last_applied(r);
  st->last_index = raft_last_index(r);
  const struct raft_configuration *c = &r->configuration;
  st->n_members = c->n;
  core_buf ra = {0}, ha = {0};
  for (unsigned i = 0; i < c->n && i < WIRE_ARRAY_SIZE(st->members); i++) {
    wire_member *m = &st->members[i];
    m->id = c->servers[i].id;
    snprintf(m->raft, sizeof m->raft, "%s", c->servers[i].address);
    m->voter = c->servers[i].role == RAFT_VOTER;
    if (m->id == n->cfg.id)
      snprintf(m->http, sizeof m->http, "%.63s", n->http_addr);
    else if (store_fsm_member_get(n->fsm, m->id, &ra, &ha) == WIRE_OK &&
             ha.len < sizeof m->http) {
      memcpy(m->http, ha.data, ha.len);
      m->http[ha.len] = '\0';
    }
  }
  core_buf_free(&ra);
  core_buf_free(&ha);
}

bool node_ready(wire_node *n, char *why, size_t size) {
  if (!n->raft_inited || n->closing) {
    snprintf(why, size, "node is not running");
    return false;
  }
  if (store_down(n, why, size)) return false;
  if (!leader_id(n)) {
    snprintf(why, size, "no leader known");
    return false;
  }
  uint64_t applied = raft_last_applied(&n->raft);
  uint64_t commit = n->raft.commit_index;
  if (applied < commit) {
    snprintf(why, size, "applied index %llu behind commit index %llu",
             (unsigned long long)applied, (unsigned long long)commit);
    return false;
  }
  if (n->raft.configuration.n == 0) {
    snprintf(why, size, "not a member of a cluster yet");
    return false;
  }
  return true;
}

void node_dispatch(wire_node *n, node_req *req) {
  if (n->closing) {
    node_req_fail(req, WIRE_ESHUTDOWN, "node is shutting down");
    return;
  }
  switch (req->op) {
    case NODE_OP_STATUS:
      node_status_fill(n, req->status);
      node_req_finish(req, WIRE_OK, NULL, 0, NULL, 0);
      return;
    case NODE_OP_LEADER:
      if (leader_id(n)) node_req_finish(req, WIRE_OK, NULL, 0, NULL, 0);
      else node_reqlist_push(&n->parked, req);
      return;
    case NODE_OP_BARRIER:
      if (!leader_id(n)) node_reqlist_push(&n->parked, req);
      else if (!is_leader(n))
        node_req_fail(req, WIRE_ENOTLEADER, "this node is not the leader");
      else node_reqlist_push(&n->reads, req);
      return;
    case NODE_OP_CALL:
      if (!req->barrier) req->call(n, req);
      else if (!leader_id(n)) node_reqlist_push(&n->parked, req);
      else if (!is_leader(n))
        node_req_fail(req, WIRE_ENOTLEADER, "this node is not the leader");
      else node_reqlist_push(&n->reads, req);
      return;
    case NODE_OP_READ:
      if (req->mode == WIRE_READ_STALE) {
        serve_read(n, req);
        return;
      }
      if (!leader_id(n)) {
        node_reqlist_push(&n->parked, req);
        return;
      }
      node_reqlist_push(&n->reads, req);
      return;
    case NODE_OP_WRITE:
      if (!leader_id(n)) {
        node_reqlist_push(&n->parked, req);
        return;
      }
      node_reqlist_push(&n->writes, req);
      return;
    case NODE_OP_ENTRY: {
      /* From a follower: the leader proposes it as one entry.  On a
       * follower it is one of our own groups waiting to be forwarded. */
      if (!is_leader(n)) {
        if (req->done == forwarded_done) {
          if (leader_id(n)) node_http_forward_entry(n, req);
          else node_reqlist_push(&n->parked, req);
        } else {
          node_req_fail(req, WIRE_ENOTLEADER, "this node is not the leader");
        }
        return;
      }
      store_cmd cmd;
      char err[400];
      int rc = store_down(n, err, sizeof err);
      if (rc) {
        node_req_fail(req, rc, "%s; not written, retry when it has recovered",
                      err);
        return;
      }
      rc = store_cmd_decode(req->data, req->data_len, &cmd, err, sizeof err);
      if (rc) {
        node_req_fail(req, rc, "forwarded entry: %s", err);
        return;
      }
      node_prop *p = core_calloc(1, sizeof *p);
      struct raft_buffer buf = {.base = raft_malloc(req->data_len),
                                .len = req->data_len};
      if (!p || !buf.base) {
        core_free(p);
        raft_free(buf.base);
        node_req_fail(req, WIRE_ENOMEM, "out of memory");
        return;
      }
      memcpy(buf.base, req->data, req->data_len);
      p->node = n;
      p->entry = req;
      propose(n, p, buf);
      return;
    }
  }
}

void node_repark(wire_node *n, node_req *req) {
  if (!req->deadline_ns)
    req->deadline_ns =
        core_monotonic_ns() + (int64_t)n->cfg.request_timeout_ms * 1000000;
  node_reqlist_push(&n->parked, req);
}

/* Parked requests: dispatch when a leader appears, fail when late. */
static void unpark(wire_node *n, int64_t now) {
  if (!n->parked.n) return;
  bool have_leader = leader_id(n) != 0;
  node_reqlist keep = {0};
  node_req *r;
  while ((r = node_reqlist_pop(&n->parked))) {
    if (have_leader) node_dispatch(n, r);
    else if (r->deadline_ns && now >= r->deadline_ns)
      node_req_fail(r, WIRE_ENOLEADER,
                    "no reachable leader within the request timeout");
    else node_reqlist_push(&keep, r);
  }
  n->parked = keep;
}

/* ---- loop callbacks ------------------------------------------------------- */

static void propose_own_meta(wire_node *n);
static void start_close(wire_node *n);

static void on_wake(uv_async_t *h) {
  wire_node *n = h->data;
  pthread_mutex_lock(&n->mu);
  node_reqlist in = n->inbox;
  n->inbox = (node_reqlist){0};
  bool stop = n->stop_requested;
  pthread_mutex_unlock(&n->mu);
  node_req *r;
  while ((r = node_reqlist_pop(&in))) node_dispatch(n, r);
  if (stop) start_close(n);
}

/* The linger timer expired: the loop goes round and on_flush proposes. */
static void on_linger(uv_poll_t *h, int status, int events) {
  (void)status;
  (void)events;
  wire_node *n = h->data;
  uint64_t ticks;
  while (read(n->linger_fd, &ticks, sizeof ticks) > 0) {
  }
}

static void linger_arm(wire_node *n, uint64_t ns) {
  struct itimerspec its = {0};
  its.it_value.tv_sec = (time_t)(ns / 1000000000u);
  its.it_value.tv_nsec = (long)(ns % 1000000000u);
  timerfd_settime(n->linger_fd, 0, &its, NULL);
}

/* Whether group commit should wait a little for more writers (see
 * GROUP_LINGER_NS). */
static bool linger(wire_node *n) {
  if (n->writes.n < n->group_expect && n->inflight < GROUP_MAX_INFLIGHT &&
      n->linger_inited && is_leader(n)) {
    uint64_t now = uv_hrtime();
    if (!n->linger_until) {
      n->linger_until = now + GROUP_LINGER_NS;
      linger_arm(n, GROUP_LINGER_NS);
      uv_poll_start(&n->linger, UV_READABLE, on_linger);
    }
    if (now < n->linger_until) return true;
  }
  if (n->linger_until) {
    n->linger_until = 0;
    linger_arm(n, 0); /* disarm */
    uv_poll_stop(&n->linger);
  }
  return false;
}

static void linger_closed(uv_handle_t *h) {
  wire_node *n = h->data;
  close(n->linger_fd);
  n->linger_fd = -1;
}

static void close_linger(wire_node *n) {
  if (n->linger_inited && !uv_is_closing((uv_handle_t *)&n->linger))
    uv_close((uv_handle_t *)&n->linger, linger_closed);
}

static void on_flush(uv_prepare_t *h) {
  wire_node *n = h->data;
  if (n->closing) return;
  if (n->writes.n && !linger(n)) flush_writes(n);
  /* A read must see the writes queued before it: while writes are held
   * back (an entry in flight, lingering), so are reads, else their barrier
   * would be ordered before those writes. */
  if (n->reads.n && !n->writes.n &&
      n->barriers_inflight < BARRIER_MAX_INFLIGHT)
    flush_reads(n);
}

static unsigned voter_count(const wire_node *n) {
  unsigned voters = 0;
  for (unsigned i = 0; i < n->raft.configuration.n; i++)
    voters += n->raft.configuration.servers[i].role == RAFT_VOTER;
  return voters;
}

static void finish_close(wire_node *n);

typedef struct transfer_req {
  struct raft_transfer t;
  wire_node *node;
  bool then_close; /* start_close: finish closing once it is done */
} transfer_req;

static void transfer_cb(struct raft_transfer *t) {
  transfer_req *tr = t->data;
  wire_node *n = tr->node;
  bool then_close = tr->then_close;
  raft_id id = 0;
  const char *addr = NULL;
  raft_leader(&n->raft, &id, &addr);
  LOG(n, WIRE_LOG_INFO, "leadership transfer %s (leader now %llu)",
      id && id != n->cfg.id ? "done" : "did not complete",
      (unsigned long long)id);
  core_free(tr);
  if (then_close) finish_close(n);
}

/* As leader with another voter: hand leadership to one (raft picks it).
 * true when the transfer started (transfer_cb runs when it ends). */
static bool transfer_leadership(wire_node *n, bool then_close,
                                const char *why) {
  if (!n->raft_inited || raft_state(&n->raft) != RAFT_LEADER ||
      voter_count(n) < 2)
    return false;
  transfer_req *tr = core_calloc(1, sizeof *tr);
  if (!tr) return false;
  tr->node = n;
  tr->then_close = then_close;
  tr->t.data = tr;
  if (raft_transfer(&n->raft, &tr->t, 0, transfer_cb)) {
    core_free(tr);
    return false;
  }
  LOG(n, WIRE_LOG_INFO, "transferring leadership %s", why);
  return true;
}

/* Answer every client write and linearizable read in flight: they wait
 * for an entry this node cannot apply. */
static void fail_inflight(wire_node *n, const char *why) {
  char msg[600];
  snprintf(msg, sizeof msg, "outcome unknown: %s; the write is in the raft "
           "log and is applied when the store has recovered", why);
  for (node_prop *p = n->live_props; p; p = p->next) {
    if (p->answered) continue;
    p->answered = true;
    if (p->entry) node_req_fail(p->entry, WIRE_ETIMEDOUT, "%s", msg);
    for (size_t i = 0; i < p->n; i++)
      node_req_fail(p->reqs[i], WIRE_ETIMEDOUT, "%s", msg);
  }
  snprintf(msg, sizeof msg, "%s: a linearizable read waits for it; stale "
           "reads work", why);
  for (node_barrier *b = n->live_barriers; b; b = b->next)
    fail_all(&b->reads, WIRE_ETIMEDOUT, msg);
}

static void nudge_cb(struct raft_barrier *req, int status) {
  (void)status;
  core_free(req);
}

/* A store that cannot write (a full disk): say so once, answer what waits
 * for it, and as leader hand leadership to a member that can apply. */
static void check_store(wire_node *n, int state) {
  char why[400];
  int down = store_down(n, why, sizeof why);
  if (down && n->store_failed && !store_fsm_recover(n->fsm)) {
    down = 0;
    /* What is committed but not applied waits for raft's next apply
     * round, which a new entry starts; a barrier is one. */
    struct raft_barrier *b = state == RAFT_LEADER ? core_calloc(1, sizeof *b)
                                                  : NULL;
    if (b && raft_barrier(&n->raft, b, nudge_cb)) core_free(b);
  }
  if (down && !n->store_failed) {
    LOG(n, WIRE_LOG_ERROR, "%s", why);
    transfer_leadership(n, false, "away: this node's store cannot apply");
  } else if (!down && n->store_failed) {
    LOG(n, WIRE_LOG_INFO, "the store takes writes again");
  }
  n->store_failed = down;
  if (down) fail_inflight(n, why);
}

static void on_tick(uv_timer_t *h) {
  wire_node *n = h->data;
  if (n->closing) return;
  int state = raft_state(&n->raft);
  atomic_store(&n->role, (int)role_of(state));
  if (state != n->last_state) {
    LOG(n, WIRE_LOG_INFO, "node %llu is now %s (term %llu)",
        (unsigned long long)n->cfg.id, wire_node_role_name(role_of(state)),
        (unsigned long long)n->raft.current_term);
    n->last_state = state;
  }
  if (state == RAFT_UNAVAILABLE) {
    /* libraft 0.15 stops for good when a follower cannot apply a committed
     * entry or its own log cannot be written (a full disk): exit, so that
     * a restart once there is room loads the log and carries on. */
    char why[400];
    if (!store_down(n, why, sizeof why))
      snprintf(why, sizeof why, "its log or snapshot storage failed (%s)",
               *raft_errmsg(&n->raft) ? raft_errmsg(&n->raft) : "no detail");
    node_fatal(n, "raft stopped: %s; restart the node once the cause (a full "
                  "disk?) is gone: nothing committed is lost",
               why);
    return;
  }
  if (state == RAFT_LEADER && n->meta_term != n->raft.current_term)
    propose_own_meta(n);
  check_store(n, state);
  unpark(n, core_monotonic_ns());
  pthread_mutex_lock(&n->mu);
  bool stop = n->stop_requested;
  pthread_mutex_unlock(&n->mu);
  if (stop) start_close(n);
}

/* The leader makes sure its own HTTP address is in the replicated member
 * table (once per term; cheap when unchanged). */
typedef struct meta_prop {
  struct raft_apply apply;
  wire_node *node;
} meta_prop;

static void meta_cb(struct raft_apply *req, int status, void *result) {
  (void)result;
  meta_prop *m = req->data;
  wire_node *n = m->node;
  n->inflight--;
  if (status) n->meta_term = 0; /* retry at the next tick as leader */
  core_free(m);
}

static void propose_own_meta(wire_node *n) {
  n->meta_term = n->raft.current_term;
  core_buf ra = {0}, ha = {0};
  bool same = store_fsm_member_get(n->fsm, n->cfg.id, &ra, &ha) == WIRE_OK &&
              ra.len == strlen(n->raft_addr) &&
              !memcmp(ra.data, n->raft_addr, ra.len) &&
              ha.len == strlen(n->http_addr) &&
              !memcmp(ha.data, n->http_addr, ha.len);
  core_buf_free(&ra);
  core_buf_free(&ha);
  if (same) return;
  store_cmd cmd = {.type = STORE_CMD_MEMBER_META};
  cmd.u.member.id = n->cfg.id;
  cmd.u.member.raft_addr = store_str(n->raft_addr);
  cmd.u.member.http_addr = store_str(n->http_addr);
  struct raft_buffer buf;
  char err[200];
  meta_prop *m = core_calloc(1, sizeof *m);
  if (!m || store_raft_encode(&cmd, &n->limits, &buf, err, sizeof err)) {
    core_free(m);
    n->meta_term = 0;
    return;
  }
  m->node = n;
  m->apply.data = m;
  if (raft_apply(&n->raft, &m->apply, &buf, 1, meta_cb)) {
    raft_free(buf.base);
    core_free(m);
    n->meta_term = 0;
    return;
  }
  n->inflight++;
}

/* ---- membership ------------------------------------------------------------ */

typedef struct member_change {
  struct raft_change change;
  struct raft_apply apply;
  wire_node *node;
  node_req *req;
  uint64_t id;
  char raft_addr[300], http_addr[300];
  int step;
} member_change;

static void change_finish(member_change *c, int rc, const char *msg) {
  if (rc) node_req_fail(c->req, rc, "%s", msg);
  else node_req_finish(c->req, WIRE_OK, NULL, 0, NULL, 0);
  core_free(c);
}

static void add_meta_cb(struct raft_apply *req, int status, void *result) {
  (void)result;
  member_change *c = req->data;
  c->node->inflight--;
  change_finish(c, raft_to_wire(status),
                status ? lost_msg(status) : "");
}

static void add_step_cb(struct raft_change *req, int status) {
  member_change *c = req->data;
  wire_node *n = c->node;
  if (status) {
    char msg[300];
    snprintf(msg, sizeof msg, "%s member %llu: %s",
             c->step == 0 ? "adding" : "promoting",
             (unsigned long long)c->id, raft_strerror(status));
    change_finish(c, raft_to_wire(status), msg);
    return;
  }
  if (c->step == 0) {
    c->step = 1;
    int rv = raft_assign(&n->raft, &c->change, c->id, RAFT_VOTER, add_step_cb);
    if (rv == RAFT_BADROLE) rv = 0, add_step_cb(&c->change, 0);
    else if (rv) {
      char msg[300];
      snprintf(msg, sizeof msg, "promoting member %llu: %s",
               (unsigned long long)c->id, raft_errmsg(&n->raft));
      change_finish(c, raft_to_wire(rv), msg);
    }
    return;
  }
  /* Voter now: record its addresses in the replicated member table. */
  store_cmd cmd = {.type = STORE_CMD_MEMBER_META};
  cmd.u.member.id = c->id;
  cmd.u.member.raft_addr = store_str(c->raft_addr);
  cmd.u.member.http_addr = store_str(c->http_addr);
  struct raft_buffer buf;
  char err[200];
  if (store_raft_encode(&cmd, &n->limits, &buf, err, sizeof err)) {
    change_finish(c, WIRE_EINVAL, err);
    return;
  }
  c->apply.data = c;
  int rv = raft_apply(&n->raft, &c->apply, &buf, 1, add_meta_cb);
  if (rv) {
    raft_free(buf.base);
    change_finish(c, raft_to_wire(rv), raft_errmsg(&n->raft));
    return;
  }
  n->inflight++;
}

void node_member_add(wire_node *n, node_req *req, uint64_t id,
                     const char *raft_addr, const char *http_addr) {
  if (!is_leader(n)) {
    node_req_fail(req, WIRE_ENOTLEADER, "this node is not the leader");
    return;
  }
  /* Already a member with the same address: a retried or repeated join. */
  const struct raft_configuration *conf = &n->raft.configuration;
  for (unsigned i = 0; i < conf->n; i++) {
    if (conf->servers[i].id != id) continue;
    if (strcmp(conf->servers[i].address, raft_addr) != 0) {
      node_req_fail(req, WIRE_EEXISTS,
                    "member %llu already exists with raft address %s",
                    (unsigned long long)id, conf->servers[i].address);
      return;
    }
    if (conf->servers[i].role == RAFT_VOTER) {
      node_req_finish(req, WIRE_OK, NULL, 0, NULL, 0);
      return;
    }
  }
  member_change *c = core_calloc(1, sizeof *c);
  if (!c) {
    node_req_fail(req, WIRE_ENOMEM, "out of memory");
    return;
  }
  c->node = n;
  c->req = req;
  c->id = id;
  snprintf(c->raft_addr, sizeof c->raft_addr, "%s", raft_addr);
  snprintf(c->http_addr, sizeof c->http_addr, "%s", http_addr);
  c->change.data = c;
  bool present = false;
  for (unsigned i = 0; i < conf->n; i++) present |= conf->servers[i].id == id;
  int rv;
  if (present) {
    c->step = 1;
    rv = raft_assign(&n->raft, &c->change, id, RAFT_VOTER, add_step_cb);
  } else {
    rv = raft_add(&n->raft, &c->change, id, c->raft_addr, add_step_cb);
  }
  if (rv) {
    char msg[400];
    snprintf(msg, sizeof msg, "adding member %llu: %s", (unsigned long long)id,
             raft_errmsg(&n->raft));
    change_finish(c, rv == RAFT_DUPLICATEID || rv == RAFT_DUPLICATEADDRESS
                         ? WIRE_EEXISTS
                         : raft_to_wire(rv),
                  msg);
  }
}

static void remove_cb(struct raft_change *req, int status) {
  member_change *c = req->data;
  wire_node *n = c->node;
  if (status) {
    char msg[300];
    snprintf(msg, sizeof msg, "removing member %llu: %s",
             (unsigned long long)c->id, raft_strerror(status));
    change_finish(c, raft_to_wire(status), msg);
    return;
  }
  /* Forget its addresses (both empty). */
  store_cmd cmd = {.type = STORE_CMD_MEMBER_META};
  cmd.u.member.id = c->id;
  struct raft_buffer buf;
  char err[200];
  if (n->closing ||
      store_raft_encode(&cmd, &n->limits, &buf, err, sizeof err)) {
    change_finish(c, WIRE_OK, "");
    return;
  }
  c->apply.data = c;
  if (raft_apply(&n->raft, &c->apply, &buf, 1, add_meta_cb)) {
    raft_free(buf.base);
    change_finish(c, WIRE_OK, ""); /* removed; metadata left behind */
    return;
  }
  n->inflight++;
}

void node_member_remove(wire_node *n, node_req *req, uint64_t id) {
  if (!is_leader(n)) {
    node_req_fail(req, WIRE_ENOTLEADER, "this node is not the leader");
    return;
  }
  const struct raft_configuration *conf = &n->raft.configuration;
  bool present = false;
  for (unsigned i = 0; i < conf->n; i++) present |= conf->servers[i].id == id;
  if (!present) {
    node_req_fail(req, WIRE_ENOTFOUND, "no member with id %llu",
                  (unsigned long long)id);
    return;
  }
  member_change *c = core_calloc(1, sizeof *c);
  if (!c) {
    node_req_fail(req, WIRE_ENOMEM, "out of memory");
    return;
  }
  c->node = n;
  c->req = req;
  c->id = id;
  c->change.data = c;
  int rv = raft_remove(&n->raft, &c->change, id, remove_cb);
  if (rv) {
    char msg[400];
    snprintf(msg, sizeof msg, "removing member %llu: %s",
             (unsigned long long)id, raft_errmsg(&n->raft));
    change_finish(c, raft_to_wire(rv), msg);
  }
}

/* ---- identity of the data dir -------------------------------------------- */

/* <data-dir>/identity: which cluster and node the data dir belongs to.
 *   wire-node data dir 1
 *   cluster <uuid>
 *   node <id>
 * Written atomically (temp file, fsync, rename, fsync of the dir). */
static int identity_load(wire_node *n, char *err, size_t size) {
  char path[4200];
  snprintf(path, sizeof path, "%s/identity", n->cfg.data_dir);
  FILE *f = fopen(path, "r");
  if (!f) {
    if (errno == ENOENT) return WIRE_OK;
    return core_msg(err, size, WIRE_EIO, "cannot read %s: %s", path,
                    strerror(errno));
  }
  char line[200], cid[64] = "";
  unsigned long long id = 0;
  int version = 0;
  while (fgets(line, sizeof line, f)) {
    if (sscanf(line, "wire-node data dir %d", &version) == 1) continue;
    if (sscanf(line, "cluster %63s", cid) == 1) continue;
    if (sscanf(line, "node %llu", &id) == 1) continue;
  }
  fclose(f);
  if (version != 1 || !cid[0] || !id)
    return core_msg(err, size, WIRE_ECORRUPT,
                    "%s is not a valid identity file (version %d)", path,
                    version);
  if (id != n->cfg.id)
    return core_msg(err, size, WIRE_ECONFIG,
                    "data dir %s belongs to node %llu of cluster %s, not to "
                    "node %llu: use that node's id or another data dir",
                    n->cfg.data_dir, id, cid, (unsigned long long)n->cfg.id);
  snprintf(n->cluster_id, sizeof n->cluster_id, "%.39s", cid);
  return WIRE_OK;
}

int node_identity_set(wire_node *n, const char *cluster_id) {
  char path[4200], tmp[4300];
  snprintf(path, sizeof path, "%s/identity", n->cfg.data_dir);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return WIRE_EIO;
  char buf[200];
  int len = snprintf(buf, sizeof buf, "wire-node data dir 1\ncluster %s\nnode %llu\n",
                     cluster_id, (unsigned long long)n->cfg.id);
  bool ok = write(fd, buf, (size_t)len) == len && fsync(fd) == 0;
  ok = close(fd) == 0 && ok;
  if (!ok || rename(tmp, path) != 0) {
    unlink(tmp);
    return WIRE_EIO;
  }
  int dfd = open(n->cfg.data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  snprintf(n->cluster_id, sizeof n->cluster_id, "%s", cluster_id);
  return WIRE_OK;
}

static void new_cluster_id(char out[40]) {
  uint8_t u[16];
  core_rng rng;
  core_rng_seed(&rng, 0);
  core_uuid7(&rng, (uint64_t)(core_now_ns() / 1000000), u);
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = hex[u[i] >> 4];
    out[o++] = hex[u[i] & 15];
  }
  out[o] = '\0';
}

/* ---- shutdown --------------------------------------------------------------- */

static void close_handle(uv_handle_t *h) {
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

static void raft_closed(struct raft *r) {
  wire_node *n = r->data;
  raft_uv_close(&n->io);
  node_transport_close(&n->transport);
  close_handle((uv_handle_t *)&n->wake);
  close_handle((uv_handle_t *)&n->flush);
  close_linger(n);
  close_handle((uv_handle_t *)&n->tick);
}

static void finish_close(wire_node *n) {
  /* Nothing more comes in: fail what is queued anywhere. */
  pthread_mutex_lock(&n->mu);
  n->accepting = false;
  node_reqlist in = n->inbox;
  n->inbox = (node_reqlist){0};
  pthread_mutex_unlock(&n->mu);
  fail_all(&in, WIRE_ESHUTDOWN, "node is shutting down");
  fail_all(&n->writes, WIRE_ESHUTDOWN, "node is shutting down");
  fail_all(&n->reads, WIRE_ESHUTDOWN, "node is shutting down");
  fail_all(&n->parked, WIRE_ESHUTDOWN, "node is shutting down");
  node_http_close(n);
  atomic_store(&n->role, (int)WIRE_ROLE_STOPPED);
  if (n->raft_inited) raft_close(&n->raft, raft_closed);
  else {
    close_handle((uv_handle_t *)&n->wake);
    close_handle((uv_handle_t *)&n->flush);
    close_linger(n);
    close_handle((uv_handle_t *)&n->tick);
  }
}

void node_fatal(wire_node *n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  pthread_mutex_lock(&n->mu);
  core_vmsg(n->errmsg, sizeof n->errmsg, WIRE_EFAILED, fmt, ap);
  n->fatal = true;
  pthread_mutex_unlock(&n->mu);
  va_end(ap);
  LOG(n, WIRE_LOG_ERROR, "%s", n->errmsg);
  start_close(n);
}

static void start_close(wire_node *n) {
  if (n->closing) return;
  n->closing = true;
  /* A leader with another voter hands leadership over first so that the
   * cluster does not wait for an election timeout. */
  if (transfer_leadership(n, true, "before shutdown")) return;
  finish_close(n);
}

/* ---- node thread ------------------------------------------------------------ */

static int thread_setup(wire_node *n) {
  int rv = uv_loop_init(&n->loop);
  if (rv)
    return core_msg(n->errmsg, sizeof n->errmsg, WIRE_EIO, "uv loop: %s",
                    uv_strerror(rv));
  n->loop_inited = true;
  uv_async_init(&n->loop, &n->wake, on_wake);
  n->wake.data = n;
  uv_prepare_init(&n->loop, &n->flush);
  n->flush.data = n;
  uv_prepare_start(&n->flush, on_flush);
  n->linger_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (n->linger_fd < 0)
    return core_msg(n->errmsg, sizeof n->errmsg, WIRE_EIO, "timerfd: %s",
                    strerror(errno));
  rv = uv_poll_init(&n->loop, &n->linger, n->linger_fd);
  if (rv) {
    close(n->linger_fd);
    n->linger_fd = -1;
    return core_msg(n->errmsg, sizeof n->errmsg, WIRE_EIO,
                    "uv poll of a timerfd: %s", uv_strerror(rv));
  }
  n->linger.data = n;
  n->linger_inited = true;
  uv_timer_init(&n->loop, &n->tick);
  n->tick.data = n;

  rv = node_transport_init(&n->transport, &n->loop);
  if (rv)
    return core_msg(n->errmsg, sizeof n->errmsg, WIRE_EIO,
                    "raft transport: %s", raft_strerror(rv));
  rv = raft_uv_init(&n->io, &n->loop, n->raft_dir, &n->transport.outer);
  if (rv) {
    node_transport_close(&n->transport);
    return core_msg(n->errmsg, sizeof n->errmsg, WIRE_EIO,
                    "raft storage in %s: %s", n->raft_dir,
                    n->io.errmsg[0] ? n->io.errmsg : raft_strerror(rv));
  }
  rv = raft_init(&n->raft, &n->io, store_raft_fsm_vtable(n->glue), n->cfg.id,
                 n->raft_addr);
  if (rv) {
    int rc = core_msg(n->errmsg, sizeof n->errmsg, WIRE_EIO, "raft init: %s",
                      raft_errmsg(&n->raft));
    raft_uv_close(&n->io);
    node_transport_close(&n->transport);
    return rc;
  }
  n->raft.data = n;
  n->raft_inited = true;
  store_raft_fsm_bind(n->glue, &n->raft);
  raft_set_election_timeout(&n->raft, n->cfg.election_timeout_ms);
  raft_set_heartbeat_timeout(&n->raft, n->cfg.heartbeat_timeout_ms);
  raft_set_snapshot_threshold(&n->raft, n->cfg.snapshot_threshold);
  raft_set_snapshot_trailing(&n->raft, n->cfg.snapshot_trailing);
  /* libraft drops an InstallSnapshot that arrives while the follower takes
   * a snapshot of its own (a restarted node often does, right after
   * replaying its log) and the leader only sends it again when this
   * timeout expires: 30 s by default, too long to wait for a node to
   * catch up. */
  raft_set_install_snapshot_timeout(&n->raft,
                                    n->cfg.snapshot_install_timeout_ms);
  raft_set_pre_vote(&n->raft, true);

  if (n->cfg.bootstrap && n->fresh) {
    char cid[40];
    new_cluster_id(cid);
    if (node_identity_set(n, cid))
      return core_msg(n->errmsg, sizeof n->errmsg, WIRE_EIO,
                      "cannot write %s/identity: %s", n->cfg.data_dir,
                      strerror(errno));
  }
  if (n->cfg.bootstrap) {
    struct raft_configuration conf;
    raft_configuration_init(&conf);
    rv = raft_configuration_add(&conf, n->cfg.id, n->raft_addr, RAFT_VOTER);
    if (!rv) rv = raft_bootstrap(&n->raft, &conf);
    raft_configuration_close(&conf);
    if (rv == RAFT_CANTBOOTSTRAP)
      LOG(n, WIRE_LOG_INFO, "data dir holds a cluster already: bootstrap "
                            "skipped, restarting from it");
    else if (rv)
      return core_msg(n->errmsg, sizeof n->errmsg, WIRE_EIO, "bootstrap: %s",
                      raft_errmsg(&n->raft));
    else
      LOG(n, WIRE_LOG_INFO, "bootstrapped a new cluster with node %llu at %s",
          (unsigned long long)n->cfg.id, n->raft_addr);
  }
  rv = raft_start(&n->raft);
  if (rv)
    return core_msg(n->errmsg, sizeof n->errmsg, WIRE_EIO, "raft start: %s",
                    raft_errmsg(&n->raft));
  /* The FSM must not be ahead of the raft log: that data dir lost raft
   * entries the state already reflects (restored from another backup?). */
  uint64_t applied = store_fsm_applied(n->fsm);
  uint64_t last = raft_last_index(&n->raft);
  if (applied > last)
    return core_msg(n->errmsg, sizeof n->errmsg, WIRE_ECORRUPT,
                    "data dir %s is inconsistent: the store has applied "
                    "index %llu but the raft log ends at %llu; restore the "
                    "whole data dir from one backup, or remove it and join "
                    "the cluster again",
                    n->cfg.data_dir, (unsigned long long)applied,
                    (unsigned long long)last);
  n->last_state = raft_state(&n->raft);
  rv = node_http_start(n);
  if (rv) return rv;
  uv_timer_start(&n->tick, on_tick, TICK_MS, TICK_MS);
  return WIRE_OK;
}

static void node_thread(void *arg) {
  wire_node *n = arg;
  int rc = thread_setup(n);
  pthread_mutex_lock(&n->mu);
  n->start_rc = rc;
  n->started = true;
  n->accepting = rc == WIRE_OK;
  pthread_cond_broadcast(&n->cond);
  pthread_mutex_unlock(&n->mu);
  if (rc) {
    n->closing = true;
    if (n->loop_inited) {
      finish_close(n);
      uv_run(&n->loop, UV_RUN_DEFAULT);
      uv_loop_close(&n->loop);
    }
  } else {
    if (n->cfg.n_join) node_http_join(n, !n->fresh);
    uv_run(&n->loop, UV_RUN_DEFAULT);
    int cr = uv_loop_close(&n->loop);
    if (cr) LOG(n, WIRE_LOG_ERROR, "loop closed with handles: %s",
                uv_strerror(cr));
  }
  pthread_mutex_lock(&n->mu);
  n->loop_done = true;
  pthread_cond_broadcast(&n->cond);
  pthread_mutex_unlock(&n->mu);
}

/* ---- public API -------------------------------------------------------------- */

static int mkdir_p(const char *path, char *err, size_t size) {
  char tmp[4096];
  size_t len = strlen(path);
  if (len >= sizeof tmp)
    return core_msg(err, size, WIRE_EINVAL, "path too long: %s", path);
  memcpy(tmp, path, len + 1);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(tmp, 0755) && errno != EEXIST)
      return core_msg(err, size, WIRE_EIO, "cannot create %s: %s", tmp,
                      strerror(errno));
    *p = '/';
  }
  if (mkdir(tmp, 0755) && errno != EEXIST)
    return core_msg(err, size, WIRE_EIO, "cannot create %s: %s", tmp,
                    strerror(errno));
  struct stat st;
  if (stat(tmp, &st) || !S_ISDIR(st.st_mode))
    return core_msg(err, size, WIRE_EIO, "%s is not a directory", tmp);
  return WIRE_OK;
}

static bool file_exists(const char *dir, const char *name) {
  char p[4200];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return access(p, F_OK) == 0;
}

int wire_node_open(wire_ctx *ctx, const wire_node_config *cfg,
                   wire_node **out) {
  *out = NULL;
  if (!ctx || !cfg) return WIRE_EINVAL;
  int rc = wire_node_config_validate(cfg);
  if (rc)
    return core_msg(ctx->errmsg, sizeof ctx->errmsg, rc, "%s",
                    wire_node_config_error(cfg));
  wire_node *n = core_calloc(1, sizeof *n);
  if (!n) return WIRE_ENOMEM;
  n->ctx = ctx;
  n->log = ctx->log;
  rc = node_config_copy(cfg, &n->cfg);
  if (rc) {
    core_free(n);
    return core_msg(ctx->errmsg, sizeof ctx->errmsg, rc, "out of memory");
  }
  const char *lo = wire_node_config_origin(cfg, "log-level");
  if (lo && strcmp(lo, "default") != 0) n->log.level = n->cfg.log_level;
  store_limits_default(&n->limits);
  n->limits.value_max = n->cfg.value_max;
  pthread_mutex_init(&n->mu, NULL);
  pthread_mutex_init(&n->err_mu, NULL);
  pthread_cond_init(&n->cond, NULL);
  snprintf(n->raft_addr, sizeof n->raft_addr, "%s:%d", n->cfg.raft_host,
           n->cfg.raft_port);
  snprintf(n->http_addr, sizeof n->http_addr, "%s:%d", n->cfg.http_host,
           n->cfg.http_port);
  snprintf(n->raft_dir, sizeof n->raft_dir, "%s/raft", n->cfg.data_dir);
  snprintf(n->db_dir, sizeof n->db_dir, "%s/store", n->cfg.data_dir);
  char err[WIRE_ERRMSG_SIZE];
  rc = mkdir_p(n->raft_dir, err, sizeof err);
  if (rc) goto fail;
  bool fresh = !file_exists(n->raft_dir, "metadata1") &&
               !file_exists(n->raft_dir, "metadata2");
  n->fresh = fresh;
  rc = identity_load(n, err, sizeof err);
  if (rc) goto fail;
  if (fresh && !n->cfg.bootstrap && !n->cfg.n_join) {
    rc = core_msg(err, sizeof err, WIRE_ECONFIG,
                  "data dir %s holds no cluster: start the first node with "
                  "--bootstrap, or the others with --join HOST:PORT",
                  n->cfg.data_dir);
    goto fail;
  }
  store_fsm_options fo = {.log = &n->log,
                          .read_cache_bytes = n->cfg.read_cache,
                          .no_read_cache = n->cfg.read_cache == 0};
  rc = store_fsm_open(n->db_dir, &fo, &n->fsm, err, sizeof err);
  if (rc) goto fail;
  if (fresh && store_fsm_applied(n->fsm) > 0) {
    rc = core_msg(err, sizeof err, WIRE_ECORRUPT,
                  "data dir %s has a store (applied index %llu) but no raft "
                  "log: refusing to start on a partial data dir",
                  n->cfg.data_dir,
                  (unsigned long long)store_fsm_applied(n->fsm));
    goto fail;
  }
  rc = store_raft_fsm_new(n->fsm, &n->glue);
  if (!rc) rc = node_pipes_new(n);
  if (rc) {
    core_msg(err, sizeof err, rc, "out of memory");
    goto fail;
  }
  rc = node_pipes_load_file(n, err, sizeof err);
  if (rc) goto fail;
  atomic_store(&n->role, (int)WIRE_ROLE_STOPPED);
  *out = n;
  return WIRE_OK;
fail:
  core_msg(ctx->errmsg, sizeof ctx->errmsg, rc, "%s", err);
  node_pipes_free(n);
  store_raft_fsm_free(n->glue);
  store_fsm_close(n->fsm);
  node_config_free(&n->cfg);
  pthread_mutex_destroy(&n->mu);
  for (size_t i = 0; i < n->nerrs; i++) core_free(n->errs[i]);
  core_free(n->errs);
  pthread_mutex_destroy(&n->err_mu);
  pthread_cond_destroy(&n->cond);
  core_free(n);
  return rc;
}

static void recover_closed(struct raft *r) { (void)r; }

int wire_node_recover(wire_ctx *ctx, const wire_node_config *cfg) {
  wire_node *n = NULL;
  int rc = wire_node_open(ctx, cfg, &n);
  if (rc) return rc;
  if (n->fresh) {
    wire_node_close(n);
    return core_msg(ctx->errmsg, sizeof ctx->errmsg, WIRE_ECONFIG,
                    "data dir %s holds no raft log: nothing to recover",
                    n->cfg.data_dir);
  }
  /* raft_init .. raft_recover .. raft_close on a private loop, this thread. */
  int rv = uv_loop_init(&n->loop);
  if (rv) {
    wire_node_close(n);
    return core_msg(ctx->errmsg, sizeof ctx->errmsg, WIRE_EIO, "uv loop: %s",
                    uv_strerror(rv));
  }
  rc = WIRE_OK;
  rv = node_transport_init(&n->transport, &n->loop);
  if (!rv) rv = raft_uv_init(&n->io, &n->loop, n->raft_dir, &n->transport.outer);
  if (!rv)
    rv = raft_init(&n->raft, &n->io, store_raft_fsm_vtable(n->glue), n->cfg.id,
                   n->raft_addr);
  if (rv) {
    rc = core_msg(ctx->errmsg, sizeof ctx->errmsg, WIRE_EIO,
                  "opening the raft log in %s: %s", n->raft_dir,
                  raft_strerror(rv));
  } else {
    struct raft_configuration conf;
    raft_configuration_init(&conf);
    rv = raft_configuration_add(&conf, n->cfg.id, n->raft_addr, RAFT_VOTER);
    if (!rv) rv = raft_recover(&n->raft, &conf);
    raft_configuration_close(&conf);
    if (rv)
      rc = core_msg(ctx->errmsg, sizeof ctx->errmsg, WIRE_EIO,
                    "raft recover: %s", raft_errmsg(&n->raft));
    raft_close(&n->raft, recover_closed);
    uv_run(&n->loop, UV_RUN_DEFAULT);
    raft_uv_close(&n->io);
    node_transport_close(&n->transport);
  }
  uv_run(&n->loop, UV_RUN_DEFAULT);
  uv_loop_close(&n->loop);
  if (rc == WIRE_OK)
    LOG(n, WIRE_LOG_WARN, "data dir %s: raft configuration forced to node "
                          "%llu alone at %s",
        n->cfg.data_dir, (unsigned long long)n->cfg.id, n->raft_addr);
  wire_node_close(n);
  return rc;
}

int wire_node_start(wire_node *n) {
  pthread_mutex_lock(&n->mu);
  if (n->thread_running || n->loop_done) {
    pthread_mutex_unlock(&n->mu);
    return core_msg(node_err(n), WIRE_ERRMSG_SIZE, WIRE_ESTATE,
                    "node was started already");
  }
  n->thread_running = true;
  pthread_mutex_unlock(&n->mu);
  int rv = uv_thread_create(&n->thread, node_thread, n);
  if (rv) {
    pthread_mutex_lock(&n->mu);
    n->thread_running = false;
    pthread_mutex_unlock(&n->mu);
    return core_msg(node_err(n), WIRE_ERRMSG_SIZE, WIRE_EIO,
                    "cannot start the node thread: %s", uv_strerror(rv));
  }
  pthread_mutex_lock(&n->mu);
  while (!n->started) pthread_cond_wait(&n->cond, &n->mu);
  int rc = n->start_rc;
  pthread_mutex_unlock(&n->mu);
  if (rc) {
    uv_thread_join(&n->thread);
    pthread_mutex_lock(&n->mu);
    n->thread_running = false;
    pthread_mutex_unlock(&n->mu);
    snprintf(node_err(n), WIRE_ERRMSG_SIZE, "%s", n->errmsg);
    return rc;
  }
  rc = node_pipes_start(n);
  if (rc) wire_node_stop(n);
  return rc;
}

int wire_node_stop(wire_node *n) {
  if (!n) return WIRE_EINVAL;
  /* Runners first, while this node may still lead and commit their final
   * positions. */
  node_pipes_stop(n);
  pthread_mutex_lock(&n->mu);
  bool running = n->thread_running;
  if (running && !n->stop_requested) {
    n->stop_requested = true;
    /* Not accepting: the loop is closing by itself (a fatal error) and its
     * wake handle may be gone (libuv aborts on a send to a closed loop). */
    if (n->accepting) uv_async_send(&n->wake); /* the tick notices within TICK_MS */
  }
  pthread_mutex_unlock(&n->mu);
  if (!running) return WIRE_OK;
  uv_thread_join(&n->thread);
  pthread_mutex_lock(&n->mu);
  n->thread_running = false;
  pthread_mutex_unlock(&n->mu);
  return WIRE_OK;
}

void wire_node_close(wire_node *n) {
  if (!n) return;
  wire_node_stop(n);
  node_pipes_free(n);
  store_raft_fsm_free(n->glue);
  store_fsm_close(n->fsm);
  core_buf_free(&n->enc);
  core_secret_free(n->http_auth); /* when the loop never ran node_http_close */
  node_config_free(&n->cfg);
  pthread_mutex_destroy(&n->mu);
  for (size_t i = 0; i < n->nerrs; i++) core_free(n->errs[i]);
  core_free(n->errs);
  pthread_mutex_destroy(&n->err_mu);
  pthread_cond_destroy(&n->cond);
  core_free(n);
}

int wire_node_wait(wire_node *n, int timeout_ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += timeout_ms / 1000;
  ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
  pthread_mutex_lock(&n->mu);
  while (n->thread_running && !n->loop_done)
    if (pthread_cond_timedwait(&n->cond, &n->mu, &ts) == ETIMEDOUT) break;
  bool done = !n->thread_running || n->loop_done;
  bool fatal = n->fatal;
  pthread_mutex_unlock(&n->mu);
  if (!done) return WIRE_ETIMEDOUT;
  if (fatal) snprintf(node_err(n), WIRE_ERRMSG_SIZE, "%s", n->errmsg);
  return fatal ? WIRE_EFAILED : WIRE_OK;
}

typedef struct node_errbuf {
  pthread_t tid;
  char msg[WIRE_ERRMSG_SIZE];
} node_errbuf;

static node_errbuf *err_find(wire_node *n, bool create) {
  pthread_t self = pthread_self();
  node_errbuf *e = NULL;
  pthread_mutex_lock(&n->err_mu);
  for (size_t i = 0; i < n->nerrs && !e; i++)
    if (pthread_equal(n->errs[i]->tid, self)) e = n->errs[i];
  if (!e && create) {
    node_errbuf **v = core_realloc(n->errs, (n->nerrs + 1) * sizeof *v);
    if (v) {
      n->errs = v;
      e = core_calloc(1, sizeof *e);
      if (e) {
        e->tid = self;
        n->errs[n->nerrs++] = e;
      }
    }
  }
  pthread_mutex_unlock(&n->err_mu);
  return e;
}

char *node_err(wire_node *n) {
  node_errbuf *e = err_find(n, true);
  return e ? e->msg : n->errmsg;
}

/* Per calling thread: a call's failure on one thread never shows up as
 * another thread's message.  Node-level failures (start, fatal stop) are
 * copied to the thread that gets their error code. */
const char *wire_node_errmsg(const wire_node *n) {
  if (!n) return "";
  node_errbuf *e = err_find((wire_node *)n, false);
  return e ? e->msg : n->errmsg;
}

/* Hand a request to the node thread.  On failure the request is freed. */
static int submit(wire_node *n, node_req *req) {
  pthread_mutex_lock(&n->mu);
  if (!n->accepting || n->stop_requested) {
    pthread_mutex_unlock(&n->mu);
    node_req_free(req);
    return WIRE_ESHUTDOWN;
  }
  node_reqlist_push(&n->inbox, req);
  uv_async_send(&n->wake);
  pthread_mutex_unlock(&n->mu);
  return WIRE_OK;
}

/* ---- synchronous calls: a refcounted rendezvous -------------------------- */

typedef struct sync_call {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  int refs;
  bool done;
  int rc;
  store_result res;
  char *val;
  size_t vlen;
  char err[256];
} sync_call;

static void sync_unref(sync_call *s) {
  pthread_mutex_lock(&s->mu);
  int left = --s->refs;
  pthread_mutex_unlock(&s->mu);
  if (left) return;
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->cond);
  free(s->val);
  core_free(s);
}

static void sync_done(node_req *req, int rc, const store_result *res,
                      size_t n, const char *val, size_t vlen) {
  sync_call *s = req->ud;
  pthread_mutex_lock(&s->mu);
  s->rc = rc;
  if (res && n) {
    s->res = res[0];
    for (size_t i = 0; i < n; i++)
      if (res[i].status != STORE_OK) {
        s->res = res[i];
        break;
      }
  }
  if (rc == WIRE_OK && val) {
    s->val = malloc(vlen + 1);
    if (s->val) {
      memcpy(s->val, val, vlen);
      s->val[vlen] = '\0';
      s->vlen = vlen;
    } else {
      s->rc = WIRE_ENOMEM;
    }
  }
  snprintf(s->err, sizeof s->err, "%s", req->err);
  s->done = true;
  pthread_cond_signal(&s->cond);
  pthread_mutex_unlock(&s->mu);
  node_req_free(req);
  sync_unref(s);
}

static int timeout_of(wire_node *n, int timeout_ms) {
  return timeout_ms > 0 ? timeout_ms : (int)n->cfg.request_timeout_ms;
}

/* Run req synchronously; *s_out (when wanted) keeps the result and must be
 * released with sync_unref.  Failure messages go to err. */
static int sync_run(wire_node *n, node_req *req, int timeout_ms,
                    sync_call **s_out, char *err, size_t errsz) {
  sync_call *s = core_calloc(1, sizeof *s);
  if (!s) {
    node_req_free(req);
    return core_msg(err, errsz, WIRE_ENOMEM, "out of memory");
  }
  pthread_mutex_init(&s->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&s->cond, &ca);
  pthread_condattr_destroy(&ca);
  s->refs = 2;
  int tmo = timeout_of(n, timeout_ms);
  req->done = sync_done;
  req->ud = s;
  req->deadline_ns = core_monotonic_ns() + (int64_t)tmo * 1000000;
  int rc = submit(n, req);
  if (rc) {
    s->refs = 1;
    sync_unref(s);
    return core_msg(err, errsz, rc, "node is not running");
  }
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += tmo / 1000;
  ts.tv_nsec += (long)(tmo % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
  pthread_mutex_lock(&s->mu);
  while (!s->done)
    if (pthread_cond_timedwait(&s->cond, &s->mu, &ts) == ETIMEDOUT) break;
  bool done = s->done;
  rc = s->rc;
  if (done && rc) snprintf(err, errsz, "%s", s->err);
  pthread_mutex_unlock(&s->mu);
  if (!done) {
    sync_unref(s);
    return core_msg(err, errsz, WIRE_ETIMEDOUT,
                    "no answer within %d ms (a write may still commit)", tmo);
  }
  if (s_out && rc == WIRE_OK) *s_out = s;
  else sync_unref(s);
  return rc;
}

static int run_sync(wire_node *n, node_req *req, int timeout_ms,
                    sync_call **s_out) {
  return sync_run(n, req, timeout_ms, s_out, node_err(n), WIRE_ERRMSG_SIZE);
}

int node_run_sync(wire_node *n, node_req *req, int timeout_ms,
                  store_result *res, char **val, size_t *vlen, char *err,
                  size_t errsz) {
  sync_call *s = NULL;
  int rc = sync_run(n, req, timeout_ms, &s, err, errsz);
  if (rc) return rc;
  if (res) *res = s->res;
  if (val) {
    *val = NULL;
    if (s->val) {
      *val = core_malloc(s->vlen + 1);
      if (!*val) {
        sync_unref(s);
        return core_msg(err, errsz, WIRE_ENOMEM, "out of memory");
      }
      memcpy(*val, s->val, s->vlen + 1);
    }
    if (vlen) *vlen = s->vlen;
  }
  sync_unref(s);
  return WIRE_OK;
}

static int check_key(wire_node *n, size_t klen) {
  if (klen == 0)
    return core_msg(node_err(n), WIRE_ERRMSG_SIZE, WIRE_EINVAL,
                    "empty key: keys are 1 to %zu bytes", n->limits.key_max);
  if (klen > n->limits.key_max)
    return core_msg(node_err(n), WIRE_ERRMSG_SIZE, WIRE_ETOOBIG,
                    "key of %zu bytes: keys are at most %zu bytes", klen,
                    n->limits.key_max);
  return WIRE_OK;
}

static int check_val(wire_node *n, size_t vlen) {
  if (vlen > n->limits.value_max)
    return core_msg(node_err(n), WIRE_ERRMSG_SIZE, WIRE_ETOOBIG,
                    "value of %zu bytes: values are at most %zu bytes "
                    "(option value-max)",
                    vlen, n->limits.value_max);
  return WIRE_OK;
}

/* Build a write request owning copies of its slices. */
static node_req *write_req(const store_cmd *cmd) {
  store_slice s[3] = {{0}};
  size_t ns = 0;
  switch (cmd->type) {
    case STORE_CMD_PUT:
      s[0] = cmd->u.put.key, s[1] = cmd->u.put.value, ns = 2;
      break;
    case STORE_CMD_DELETE:
      s[0] = cmd->u.del.key, ns = 1;
      break;
    case STORE_CMD_CAS:
      s[0] = cmd->u.cas.key, s[1] = cmd->u.cas.expected, s[2] = cmd->u.cas.value;
      ns = 3;
      break;
    case STORE_CMD_INCRBY:
      s[0] = cmd->u.incrby.key, ns = 1;
      break;
    case STORE_CMD_PIPELINE_PUT:
    case STORE_CMD_PIPELINE_CREATE:
      s[0] = cmd->u.pipeline_put.name, s[1] = cmd->u.pipeline_put.definition;
      ns = 2;
      break;
    case STORE_CMD_PIPELINE_DELETE:
      s[0] = cmd->u.pipeline_delete.name, ns = 1;
      break;
    case STORE_CMD_PIPELINE_STATE:
      s[0] = cmd->u.pipeline_state.name, ns = 1;
      break;
    default:
      return NULL;
  }
  size_t total = 0;
  for (size_t i = 0; i < ns; i++) total += s[i].len;
  node_req *r = node_req_new(NODE_OP_WRITE, total ? total : 1);
  if (!r) return NULL;
  r->data_len = total;
  store_slice c[3] = {{0}};
  size_t off = 0;
  for (size_t i = 0; i < ns; i++) {
    if (s[i].len) memcpy(r->data + off, s[i].ptr, s[i].len);
    c[i] = (store_slice){r->data + off, s[i].len};
    off += s[i].len;
  }
  r->cmd = *cmd;
  switch (cmd->type) {
    case STORE_CMD_PUT:
      r->cmd.u.put.key = c[0], r->cmd.u.put.value = c[1];
      break;
    case STORE_CMD_DELETE:
      r->cmd.u.del.key = c[0];
      break;
    case STORE_CMD_CAS:
      r->cmd.u.cas.key = c[0], r->cmd.u.cas.expected = c[1];
      r->cmd.u.cas.value = c[2];
      break;
    case STORE_CMD_PIPELINE_PUT:
    case STORE_CMD_PIPELINE_CREATE:
      r->cmd.u.pipeline_put.name = c[0];
      r->cmd.u.pipeline_put.definition = c[1];
      break;
    case STORE_CMD_PIPELINE_DELETE:
      r->cmd.u.pipeline_delete.name = c[0];
      break;
    case STORE_CMD_PIPELINE_STATE:
      r->cmd.u.pipeline_state.name = c[0];
      break;
    default:
      r->cmd.u.incrby.key = c[0];
      break;
  }
  return r;
}

node_req *node_write_req(const store_cmd *cmd) { return write_req(cmd); }

static int result_rc(wire_node *n, const sync_call *s) {
  switch (s->res.status) {
    case STORE_OK:
      return WIRE_OK;
    case STORE_NOTFOUND:
      return core_msg(node_err(n), WIRE_ERRMSG_SIZE, WIRE_ENOTFOUND,
                      "key not found");
    case STORE_MISMATCH:
      return core_msg(node_err(n), WIRE_ERRMSG_SIZE, WIRE_EMISMATCH,
                      "compare failed: the key does not hold the expected "
                      "value");
    default:
      return core_msg(node_err(n), WIRE_ERRMSG_SIZE, WIRE_EFAILED, "%s",
                      store_status_str(s->res.status));
  }
}

static int write_sync(wire_node *n, const store_cmd *cmd, int timeout_ms) {
  node_req *r = write_req(cmd);
  if (!r) return core_msg(node_err(n), WIRE_ERRMSG_SIZE, WIRE_ENOMEM,
                          "out of memory");
  sync_call *s = NULL;
  int rc = run_sync(n, r, timeout_ms, &s);
  if (rc) return rc;
  rc = result_rc(n, s);
  sync_unref(s);
  return rc;
}

int wire_node_put(wire_node *n, const void *key, size_t klen, const void *val,
                  size_t vlen, int timeout_ms) {
  int rc = check_key(n, klen);
  if (!rc) rc = check_val(n, vlen);
  if (rc) return rc;
  store_cmd cmd = {.type = STORE_CMD_PUT};
  cmd.u.put.key = (store_slice){key, klen};
  cmd.u.put.value = (store_slice){val, vlen};
  return write_sync(n, &cmd, timeout_ms);
}

int wire_node_delete(wire_node *n, const void *key, size_t klen,
                     int timeout_ms) {
  int rc = check_key(n, klen);
  if (rc) return rc;
  store_cmd cmd = {.type = STORE_CMD_DELETE};
  cmd.u.del.key = (store_slice){key, klen};
  return write_sync(n, &cmd, timeout_ms);
}

static int cas_cmd(wire_node *n, store_cmd *cmd, const void *key, size_t klen,
                   const void *expected, size_t elen, const void *val,
                   size_t vlen) {
  int rc = check_key(n, klen);
  if (!rc && val) rc = check_val(n, vlen);
  if (!rc && expected) rc = check_val(n, elen);
  if (rc) return rc;
  *cmd = (store_cmd){.type = STORE_CMD_CAS};
  cmd->u.cas.key = (store_slice){key, klen};
  if (expected) {
    cmd->u.cas.flags |= STORE_CAS_EXPECTED;
    cmd->u.cas.expected = (store_slice){expected, elen};
  }
  if (val) {
    cmd->u.cas.flags |= STORE_CAS_NEW;
    cmd->u.cas.value = (store_slice){val, vlen};
  }
  return WIRE_OK;
}

int wire_node_cas(wire_node *n, const void *key, size_t klen,
                  const void *expected, size_t elen, const void *val,
                  size_t vlen, int timeout_ms) {
  store_cmd cmd;
  int rc = cas_cmd(n, &cmd, key, klen, expected, elen, val, vlen);
  if (rc) return rc;
  return write_sync(n, &cmd, timeout_ms);
}

static node_req *read_req(const void *key, size_t klen, wire_read_mode mode) {
  node_req *r = node_req_new(NODE_OP_READ, klen);
  if (!r) return NULL;
  memcpy(r->data, key, klen);
  r->key = (store_slice){r->data, klen};
  r->mode = mode;
  return r;
}

int wire_node_get(wire_node *n, const void *key, size_t klen,
                  wire_read_mode mode, char **val, size_t *vlen,
                  int timeout_ms) {
  *val = NULL;
  if (vlen) *vlen = 0;
  int rc = check_key(n, klen);
  if (rc) return rc;
  node_req *r = read_req(key, klen, mode);
  if (!r) return core_msg(node_err(n), WIRE_ERRMSG_SIZE, WIRE_ENOMEM,
                          "out of memory");
  sync_call *s = NULL;
  rc = run_sync(n, r, timeout_ms, &s);
  if (rc) return rc;
  *val = s->val;
  if (vlen) *vlen = s->vlen;
  s->val = NULL;
  sync_unref(s);
  return WIRE_OK;
}

int wire_node_status_get(wire_node *n, wire_node_status *out) {
  memset(out, 0, sizeof *out);
  node_req *r = node_req_new(NODE_OP_STATUS, 0);
  if (!r) return WIRE_ENOMEM;
  r->status = out;
  int rc = run_sync(n, r, 0, NULL);
  if (rc == WIRE_ESHUTDOWN) {
    out->id = n->cfg.id;
    out->role = WIRE_ROLE_STOPPED;
  }
  return rc;
}

/* ---- asynchronous calls ------------------------------------------------------ */

static void async_done(node_req *req, int rc, const store_result *res,
                       size_t n, const char *val, size_t vlen) {
  wire_node_cb cb = req->cb;
  void *user = req->user;
  if (rc == WIRE_OK && res && n) {
    if (res[0].status == STORE_NOTFOUND) rc = WIRE_ENOTFOUND;
    else if (res[0].status == STORE_MISMATCH) rc = WIRE_EMISMATCH;
    else if (res[0].status != STORE_OK) rc = WIRE_EFAILED;
  }
  cb(user, rc, rc == WIRE_OK ? val : NULL, rc == WIRE_OK ? vlen : 0);
  node_req_free(req);
}

static int submit_async(wire_node *n, node_req *r, wire_node_cb cb,
                        void *user) {
  if (!r) return WIRE_ENOMEM;
  r->done = async_done;
  r->cb = cb;
  r->user = user;
  r->deadline_ns =
      core_monotonic_ns() + (int64_t)n->cfg.request_timeout_ms * 1000000;
  return submit(n, r);
}

int wire_node_put_async(wire_node *n, const void *key, size_t klen,
                        const void *val, size_t vlen, wire_node_cb cb,
                        void *user) {
  int rc = check_key(n, klen);
  if (!rc) rc = check_val(n, vlen);
  if (rc || !cb) return rc ? rc : WIRE_EINVAL;
  store_cmd cmd = {.type = STORE_CMD_PUT};
  cmd.u.put.key = (store_slice){key, klen};
  cmd.u.put.value = (store_slice){val, vlen};
  return submit_async(n, write_req(&cmd), cb, user);
}

int wire_node_delete_async(wire_node *n, const void *key, size_t klen,
                           wire_node_cb cb, void *user) {
  int rc = check_key(n, klen);
  if (rc || !cb) return rc ? rc : WIRE_EINVAL;
  store_cmd cmd = {.type = STORE_CMD_DELETE};
  cmd.u.del.key = (store_slice){key, klen};
  return submit_async(n, write_req(&cmd), cb, user);
}

int wire_node_get_async(wire_node *n, const void *key, size_t klen,
                        wire_read_mode mode, wire_node_cb cb, void *user) {
  int rc = check_key(n, klen);
  if (rc || !cb) return rc ? rc : WIRE_EINVAL;
  return submit_async(n, read_req(key, klen, mode), cb, user);
}

int wire_node_cas_async(wire_node *n, const void *key, size_t klen,
                        const void *expected, size_t elen, const void *val,
                        size_t vlen, wire_node_cb cb, void *user) {
  store_cmd cmd;
  int rc = cas_cmd(n, &cmd, key, klen, expected, elen, val, vlen);
  if (rc || !cb) return rc ? rc : WIRE_EINVAL;
  return submit_async(n, write_req(&cmd), cb, user);
}
