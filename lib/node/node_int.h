/*
 * Internals of a node (lib/node/): the struct behind wire_node, the
 * requests other threads hand to the node thread, and the pieces of the
 * node split over several files:
 *
 *   config.c     wire_node_config_* (options, file, environment)
 *   node.c       lifecycle, node thread, raft, request queue, group commit,
 *                linearizable reads, membership, status
 *   node_http.c  the HTTP API and forwarding to the leader
 *
 * Threads: everything below `--- node thread only ---` belongs to the node
 * thread.  Other threads only touch the inbox (under `mu`) and the atomics.
 */
#ifndef WIRE_NODE_INT_H
#define WIRE_NODE_INT_H

#include <raft.h>
#include <raft/uv.h>
#include <stdatomic.h>
#include <uv.h>

#include "core/core.h"
#include "node/options.h"
#include "store/store.h"
#include "wire/node.h"

typedef struct node_req node_req;

/* What a request asks for. */
typedef enum node_op {
  NODE_OP_WRITE,  /* cmd: put, delete, cas, ... committed through raft */
  NODE_OP_READ,   /* get key, linearizable or stale */
  NODE_OP_STATUS, /* fill *status */
  NODE_OP_ENTRY,  /* an encoded entry forwarded by a follower: propose as is */
  NODE_OP_LEADER, /* completes once a leader is known (parks until then) */
  NODE_OP_BARRIER, /* leader only: completes once a barrier is applied */
  NODE_OP_CALL,    /* run `call` on the node thread (after a barrier when
                      `barrier`: leader only, linearizable) */
} node_op;

/* Completion of a request, on the node thread.  `res` is the store result
 * of a write (NULL otherwise); `val` the value of a read; for NODE_OP_ENTRY
 * the whole result vector (res[0..n)). */
typedef void (*node_done_fn)(node_req *req, int rc, const store_result *res,
                             size_t n, const char *val, size_t vlen);

struct node_req {
  node_req *next;
  node_op op;
  store_cmd cmd;         /* NODE_OP_WRITE: slices point into `data`; a
                            BATCH (a transaction: items owned by the
                            request too) is applied whole in one entry and
                            completes with all its results */
  wire_read_mode mode;   /* NODE_OP_READ */
  store_slice key;       /* NODE_OP_READ: into `data` */
  char *data;            /* owned copy of the key/value bytes or the entry */
  size_t data_len;
  wire_node_status *status; /* NODE_OP_STATUS */
  int64_t deadline_ns;      /* monotonic; 0: none */
  node_done_fn done;
  void *ud;
  void (*call)(wire_node *n, node_req *req); /* NODE_OP_CALL: finishes req */
  bool barrier;                               /* NODE_OP_CALL */
  void *arg;                                  /* NODE_OP_CALL: for `call` */
  wire_node_cb cb; /* asynchronous public calls */
  void *user;
  char err[256]; /* message to go with a failure rc */
};

/* Store commands a write request puts in an entry (a BATCH: its count). */
size_t node_req_ncmds(const node_req *r);
/* Copy those commands to out[0..node_req_ncmds(r)); returns the count. */
size_t node_req_flatten(const node_req *r, store_cmd *out);

/* Allocate a request with `n` bytes of data space.  NULL on OOM. */
node_req *node_req_new(node_op op, size_t n);
void node_req_free(node_req *req);
/* Complete `req` (calls done, which owns/frees it). */
void node_req_finish(node_req *req, int rc, const store_result *res, size_t n,
                     const char *val, size_t vlen);
/* Fail with a formatted message. */
void node_req_fail(node_req *req, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef struct node_reqlist {
  node_req *head, *tail;
  size_t n;
  size_t bytes;
} node_reqlist;

void node_reqlist_push(node_reqlist *l, node_req *r);
node_req *node_reqlist_pop(node_reqlist *l);

struct http_server;
struct http_client;
typedef struct node_pipes node_pipes;

/* Raft transport: libraft's TCP transport plus TCP_NODELAY (transport.c). */
typedef struct node_transport {
  struct raft_uv_transport outer; /* given to raft_uv_init */
  struct raft_uv_transport inner; /* raft_uv_tcp_init */
  raft_uv_accept_cb accept_cb;
  raft_uv_transport_close_cb close_cb;
} node_transport;

int node_transport_init(node_transport *nt, uv_loop_t *loop);
/* After raft_uv_close (in the raft close callback). */
void node_transport_close(node_transport *nt);

struct wire_node {
  wire_ctx *ctx;
  core_log log;
  struct node_config cfg;
  store_limits limits;
  char raft_dir[4096], db_dir[4096];
  char raft_addr[300], http_addr[300];

  /* Inbox from other threads. */
  pthread_mutex_t mu;
  node_reqlist inbox;
  bool accepting; /* false before start and after stop */

  /* Start/stop handshake. */
  pthread_cond_t cond;
  int start_rc;
  bool started, thread_running, stop_requested, loop_done;
  uv_thread_t thread;
  char errmsg[WIRE_ERRMSG_SIZE]; /* node-level: start failure, fatal stop */
  /* Messages of failed calls, one buffer per calling thread (node_err). */
  pthread_mutex_t err_mu;
  struct node_errbuf **errs;
  size_t nerrs;
  bool fatal;         /* the node stopped itself; errmsg says why */
  char cluster_id[40]; /* "" until bootstrapped or joined */
  bool fresh;          /* no raft data in the data dir at open */

  atomic_int role; /* wire_node_role, for cheap reads */
  node_pipes *pipes; /* pipeline runners (node_pipes.c) */

  /* --- node thread only --------------------------------------------- */
  uv_loop_t loop;
  uv_async_t wake;
  uv_prepare_t flush;
  uv_timer_t tick;
  node_transport transport;
  struct raft_io io;
  struct raft raft;
  bool loop_inited, raft_inited, closing;
  store_fsm *fsm;
  store_raft_fsm *glue;
  int last_state;       /* raft state seen at the last tick */
  bool meta_proposed;   /* own member metadata proposed in this term */
  uint64_t meta_term;
  uint64_t known_commit; /* leader's commit index last heard (readyz) */
  int64_t known_commit_ns; /* when (monotonic; 0: never) */

  node_reqlist writes;  /* waiting for the next group commit */
  node_reqlist reads;   /* linearizable reads waiting for a barrier */
  node_reqlist parked;  /* waiting for a leader to be known */
  unsigned inflight;    /* raft entries proposed, not yet applied */
  unsigned barriers_inflight; /* raft barriers proposed, not yet applied */
  /* Client writes and read barriers in flight (node.c), failed at once
   * when the store cannot write (store_fsm_failure). */
  struct node_prop *live_props;
  struct node_barrier *live_barriers;
  int store_failed; /* the failure code last seen by on_tick, or 0 */
  uv_poll_t linger;       /* linger_fd: wakes the loop when a group is due */
  int linger_fd;          /* timerfd; -1 until thread_setup made it */
  bool linger_inited;     /* `linger` initialised (closed at shutdown) */
  size_t group_expect;    /* writers active at the last commit */
  uint64_t linger_until;  /* uv_hrtime() ns; 0: not lingering */
  core_buf enc;         /* encoding scratch */

  struct http_server *http;
  struct resp_server *resp; /* node_resp.c; NULL when off */
  char resp_addr[300];      /* advertised RESP address ("" when off) */
  struct http_client *hc;
  char *http_auth; /* "Authorization: Bearer ..." for members, or NULL */
  struct joiner *joiner;
  struct leader_probe *probe; /* followers: the leader's commit index */
  int http_port; /* bound port */

  /* counters (node thread writes, any thread may read roughly) */
  atomic_uint_least64_t n_entries, n_commands, n_barriers, n_forwarded;
  uint64_t n_http; /* node thread only */
  uint64_t n_http_unauthorized; /* answered 401 (node thread only) */
};

/* ---- node.c, for node_http.c (node thread) ------------------------------ */

/* Take a request into the node: writes are queued for the next group
 * commit (or forwarded), reads served or queued for a barrier. */
void node_dispatch(wire_node *n, node_req *req);
/* Put a request back to wait: it is dispatched again at the next tick when
 * a leader is known (so a dead leader is not retried in a tight loop), or
 * fails when its deadline passes. */
void node_repark(wire_node *n, node_req *req);
/* Current leader's HTTP address ("" when unknown); buffers of 64 bytes. */
void node_leader_http(wire_node *n, uint64_t *id, char *http, size_t size);
/* Fill a status snapshot. */
void node_status_fill(wire_node *n, wire_node_status *st);
/* Membership changes on the leader; `done` gets WIRE_OK or an error. */
void node_member_add(wire_node *n, node_req *req, uint64_t id,
                     const char *raft_addr, const char *http_addr);
void node_member_remove(wire_node *n, node_req *req, uint64_t id);
/* Stop the node because it cannot go on (wrong cluster, ...): logs the
 * message, keeps it for wire_node_errmsg() and closes. */
void node_fatal(wire_node *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Record the cluster id in the data dir (identity file, fsync'd). */
int node_identity_set(wire_node *n, const char *cluster_id);
/* ready: a leader is known and everything it committed is applied here. */
bool node_ready(wire_node *n, char *why, size_t size);

/* The calling thread's buffer for the message of a failed call on `n`
 * (WIRE_ERRMSG_SIZE bytes; n->errmsg if none can be allocated). */
char *node_err(wire_node *n);

/* Run `req` from another thread and wait at most timeout_ms (<= 0: the
 * request timeout).  WIRE_OK or the error, with its message in err.  On
 * success *res (may be NULL) gets the first result that is not STORE_OK,
 * else the first, and *val (may be NULL) a copy of the value (core_free).
 * Unlike the public calls it leaves n->errmsg alone. */
int node_run_sync(wire_node *n, node_req *req, int timeout_ms,
                  store_result *res, char **val, size_t *vlen, char *err,
                  size_t errsz);
/* A write request owning copies of the command's bytes (NULL on OOM or for
 * a type it does not know). */
node_req *node_write_req(const store_cmd *cmd);

/* ---- node_pipes.c: pipelines kept in the store, run on the leader ------ */

/* Create the runner manager (before the node thread starts) and start its
 * thread (after).  WIRE_OK or an error in n->errmsg. */
int node_pipes_new(wire_node *n);
/* Read and validate the --pipeline file (a bad file refuses to start). */
int node_pipes_load_file(wire_node *n, char *err, size_t esz);
/* Validate a definition like `wire-node validate`: WIRE_OK and its name, or
 * WIRE_ECONFIG with "FILE:LINE:COL: message" lines in msg and one JSON
 * object per problem appended to `diags` (a json_t array, may be NULL). */
struct json_t;
int node_pipes_validate(wire_node *n, const char *text, size_t len,
                        const char *file, char *name, size_t nsz,
                        struct json_t *diags, char *msg, size_t msz);
/* Node thread: JSON of one stored pipeline (name given) or of all, with
 * the runtime state when this node runs them.  *out: free(). */
int node_pipes_info(wire_node *n, const char *name, size_t nlen, char **out,
                    char *err, size_t esz);
int node_pipes_start(wire_node *n);
/* Stop the runners gracefully (drain, flush, final checkpoint while this
 * node still leads) and join the thread.  Before the node thread stops. */
void node_pipes_stop(wire_node *n);
void node_pipes_free(wire_node *n);
/* JSON of the runtime state of pipeline `name` (NULL: an object of all,
 * by name) as published by the manager; caller frees.  NULL when none. */
char *node_pipes_runtime_json(wire_node *n, const char *name);

/* ---- node_resp.c: the Redis-compatible RESP2 server ---------------------- */

/* Start it on the node loop when the option `resp` is set (from
 * node_http_start).  WIRE_OK or an error in n->errmsg. */
int node_resp_start(wire_node *n);
/* Close it (async; in-flight requests complete into closed connections). */
void node_resp_close(wire_node *n);

/* ---- node_http.c ----------------------------------------------------------- */

/* Start the HTTP API on the node loop.  WIRE_OK or an error in n->errmsg. */
int node_http_start(wire_node *n);
/* Close it (async; the loop keeps running until its handles close). */
void node_http_close(wire_node *n);
/* Forward an encoded entry to the leader; `req` completes with the leader's
 * results (NODE_OP_ENTRY semantics) or an error. */
void node_http_forward_entry(wire_node *n, node_req *req);
/* Forward a linearizable read to the leader. */
void node_http_forward_read(wire_node *n, node_req *req);
/* Ask the members in cfg.join to admit this node (retrying); with
 * check_only (a restart from data) only compare the cluster ids. */
void node_http_join(wire_node *n, bool check_only);

#endif /* WIRE_NODE_INT_H */
