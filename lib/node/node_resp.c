/*
 * The Redis-compatible front end of a node: a RESP2 server on the node
 * loop (libuv), speaking to the same replicated key space as /key/{key}.
 *
 * Connections.  Bytes read go to a resp_parser (lib/resp); every complete
 * command is looked up in the command table (name, arity, flags, handler:
 * checked centrally as redis-server does) and run at once.  A command
 * either answers on the spot or becomes one or more node requests (writes
 * through group commit, linearizable reads behind a raft barrier).  Each
 * command owns a reply slot in a per-connection FIFO; slots are flushed
 * from the head as they complete, so pipelined replies leave in order
 * whatever the order of commits.  A connection stops reading while too
 * many replies are pending (RESP_MAX_PENDING) or unsent (RESP_MAX_OUT), and
 * is closed when it buffers more unparsed bytes than its limit.
 *
 * Departed clients.  A connection is reference counted: its handle and
 * every request in flight hold one reference.  When the client goes away
 * the handle closes, but the structure (and the reply slots requests point
 * to) stays until the last request completed into it; nothing is sent and
 * nothing leaks.  Writes already proposed still commit, as they would for
 * a Redis client that disconnects after sending.
 *
 * Consistency (doc/resp.md).  Writes are answered after the raft entry
 * carrying them is applied on the leader.  Reads are linearizable on the
 * leader.  A follower answers writes, and reads unless the connection
 * asked for READONLY (stale reads from the local state), with
 * "-MOVED 0 HOST:PORT" of the leader's RESP address, which each leader
 * records in the replicated member table (MEMBER_RESP) once per term.
 *
 * Expiry.  Commands carry absolute expiry times and the leader's clock
 * (store.h, kv commands), so applying them is deterministic.  The leader
 * proposes KV_EXPIRED for keys due (active expiry, every
 * RESP_EXPIRE_TICK_MS); reads hide expired keys before that.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "node/node_int.h"
#include "resp/resp.h"
#include "resp/resp_cmd.h"
#include "wire/version.h"

#define COMPONENT "resp"
#define LOG(n, lv, ...) core_logf(&(n)->log, (lv), COMPONENT, __VA_ARGS__)

#define RESP_READ_CHUNK 65536
#define RESP_MAX_PENDING 4096     /* reply slots before reading pauses */
#define RESP_MAX_OUT (16u << 20)  /* unsent reply bytes before it pauses */
#define RESP_EXPIRE_TICK_MS 100
#define RESP_EXPIRE_BATCH 256     /* KV_EXPIRED proposed per tick at most */
#define RESP_SCAN_CURSORS 1024    /* SCAN positions remembered */
#define RESP_KEYS_MAX 1000000     /* KEYS answers at most this many */

typedef struct resp_server resp_server;
typedef struct rconn rconn;
typedef struct rslot rslot;

/* How the results of a slot's requests become its reply. */
typedef enum rkind {
  K_IMM,    /* written at once */
  K_OK,     /* +OK */
  K_SET,    /* +OK, nil when a condition refused */
  K_SETGET, /* the old value or nil */
  K_BOOL,   /* :1 when OK, :0 otherwise */
  K_GETDEL, /* the old value, nil when absent */
  K_INT,    /* :value (INCR family) */
  K_APPEND, /* :length */
  K_FLOAT,  /* INCRBYFLOAT: the new value */
  K_COUNT,  /* :number of OK results over all requests (DEL) */
  K_GET,    /* a read: the value or nil */
  K_CALL,   /* a read run on the node thread after a barrier */
  /* Inside EXEC, reads are KV_GET commands of the transaction's entry: */
  K_TGET,    /* GET: the value or nil */
  K_TMGET,   /* MGET: one element per result (the array header is there) */
  K_TSTRLEN, /* STRLEN */
  K_TGETRANGE, /* GETRANGE: start in acc, end in tnow */
  K_TTYPE,   /* TYPE */
  K_TTTL,    /* TTL; acc: 1 ms (PTTL), 2 absolute (EXPIRETIME); `now` of
                the command in tnow */
  K_RENAME,   /* +OK, no such key */
  K_RENAMENX, /* :1, :0, no such key */
  K_COPY,     /* :1, :0 */
  K_EXEC,    /* EXEC: the array of the transaction's replies */
} rkind;

typedef struct rtxn rtxn;

struct rslot {
  rslot *next;
  rconn *c;
  core_buf out;
  rkind kind;
  bool ready, failed;
  unsigned pending; /* requests not completed */
  int64_t acc;
  int64_t sent_ns; /* when its requests were dispatched (leader lease) */
  uint64_t term;   /* leader term then; 0: not the leader */
  uint64_t tnow;   /* K_TTTL: the command's `now` */
  bool blocks;     /* a WATCH waiting for its barrier: input waits too */
};

struct rconn {
  uv_tcp_t tcp;
  resp_server *srv;
  resp_parser parser;
  rslot *head, *tail;
  size_t n_slots;
  core_buf out;  /* replies in order, not yet handed to uv_write */
  core_buf wbuf; /* being written */
  uv_write_t wreq;
  bool writing, reading, closing, quit, readonly;
  bool queued;   /* in srv->flushq */
  bool multi;     /* between MULTI and EXEC/DISCARD: commands are queued */
  bool multi_err; /* a command was refused while queued: EXEC aborts */
  core_buf mq;    /* the queued commands: varint argc, (varint len, bytes)* */
  size_t mq_n;
  rtxn *tx;       /* the EXEC being built (its commands run captured) */
  core_buf watch; /* WATCHed keys: varint len, key, u8 found, varint len,
                     value (what they held when watched) */
  size_t watch_n;
  bool blocked;   /* a WATCH is reading: the next commands wait for it */
  bool authed;    /* AUTH passed (or no --resp-password) */
  bool resume;    /* unblocked: parse what was buffered at the next check */
  rconn *next_flush;
  unsigned refs; /* the handle + requests in flight + a write + flushq */
  uint64_t id;
  rconn *prev, *next;
};

typedef struct scan_cursor {
  uint64_t id;
  core_buf after;
} scan_cursor;

struct resp_server {
  wire_node *n;
  uv_tcp_t listener;
  uv_timer_t timer;
  uv_check_t check;  /* flushes the connections in flushq once per
                        iteration, after the I/O callbacks */
  rconn *flushq;
  rconn *conns;
  unsigned n_conns;
  unsigned refs; /* handles + connections + background requests */
  bool closing;
  resp_limits lim;
  size_t max_buffered;
  uint64_t next_id;
  uint64_t meta_term; /* term our RESP address was published in */
  unsigned expiring;  /* KV_EXPIRED requests in flight */
  /* Leader lease (see lease_extend): reads are served from the local state
   * until lease_ns (monotonic) while the term is lease_term. */
  int64_t lease_ns;
  uint64_t lease_term;
  bool renewing; /* a barrier renewing the lease is in flight */
  int64_t started_ns;
  uint64_t n_commands, n_connections, n_expired, n_rejected;
  scan_cursor cursors[RESP_SCAN_CURSORS];
  uint64_t cursor_seq;
  char rbuf[RESP_READ_CHUNK];
};

/* ---- lifetime ------------------------------------------------------------- */

static void srv_unref(resp_server *s) {
  if (--s->refs) return;
  for (size_t i = 0; i < RESP_SCAN_CURSORS; i++)
    core_buf_free(&s->cursors[i].after);
  core_free(s);
}

static void slot_free(rslot *sl) {
  core_buf_free(&sl->out);
  core_free(sl);
}

static void conn_unref(rconn *c) {
  if (--c->refs) return;
  rslot *sl = c->head;
  while (sl) {
    rslot *next = sl->next;
    slot_free(sl);
    sl = next;
  }
  resp_parser_free(&c->parser);
  core_buf_free(&c->mq);
  core_buf_free(&c->watch);
  core_buf_free(&c->out);
  core_buf_free(&c->wbuf);
  resp_server *s = c->srv;
  core_free(c);
  srv_unref(s);
}

static void conn_closed(uv_handle_t *h) { conn_unref(h->data); }

static void conn_close(rconn *c) {
  if (c->closing) return;
  c->closing = true;
  resp_server *s = c->srv;
  if (c->prev) c->prev->next = c->next;
  else s->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  s->n_conns--;
  uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

/* ---- output ----------------------------------------------------------------- */

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);
static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
static void conn_process(rconn *c);
static void conn_flush(rconn *c);
static void on_check(uv_check_t *h);

static void on_write(uv_write_t *w, int status) {
  rconn *c = w->data;
  c->writing = false;
  c->wbuf.len = 0;
  if (status < 0) conn_close(c);
  else conn_flush(c);
  conn_unref(c);
}

/* Whether the connection may read more: not while replies pile up. */
static void conn_pace(rconn *c) {
  if (c->closing) return;
  bool full = c->n_slots >= RESP_MAX_PENDING ||
              c->out.len + c->wbuf.len >= RESP_MAX_OUT;
  if (c->quit || full) {
    if (c->reading) uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
  } else if (!c->reading) {
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
      c->reading = true;
  }
}

static void conn_flush(rconn *c) {
  if (c->closing) return;
  if (!c->writing && c->out.len) {
    /* Most replies fit the socket buffer: write them now, without a
     * request (uv_write costs an epoll_ctl and a callback per reply). */
    uv_buf_t now = uv_buf_init(c->out.data, (unsigned)c->out.len);
    int w = uv_try_write((uv_stream_t *)&c->tcp, &now, 1);
    if (w > 0) {
      memmove(c->out.data, c->out.data + w, c->out.len - (size_t)w);
      c->out.len -= (size_t)w;
    } else if (w != UV_EAGAIN && w != UV_ENOSYS) {
      conn_close(c);
      return;
    }
  }
  if (!c->writing && c->out.len) {
    core_buf t = c->wbuf;
    c->wbuf = c->out;
    c->out = t;
    c->out.len = 0;
    uv_buf_t b = uv_buf_init(c->wbuf.data, (unsigned)c->wbuf.len);
    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_write)) {
      conn_close(c);
      return;
    }
    c->writing = true;
    c->refs++;
  }
  if (c->quit && !c->writing && !c->head && !c->out.len) {
    conn_close(c);
    return;
  }
  conn_pace(c);
}

/* Move completed replies from the head of the FIFO to the output. */
static void conn_drain(rconn *c) {
  while (c->head && c->head->ready) {
    rslot *sl = c->head;
    c->head = sl->next;
    if (!c->head) c->tail = NULL;
    c->n_slots--;
    if (!c->closing && sl->out.len)
      core_buf_append(&c->out, sl->out.data, sl->out.len);
    slot_free(sl);
  }
}

/* MULTI/EXEC.  EXEC runs each queued command's function as usual but
 * captured: its reply slot is the command's element of the EXEC array and
 * the requests it submits are collected instead of dispatched; they then go
 * to the node as one write request whose command is a BATCH of them all,
 * which the node puts whole into one raft entry (node.c): the transaction
 * is applied atomically, on every node, with nothing interleaved.  Reads
 * inside it are KV_GET commands of the same entry, so they see the writes
 * queued before them. */
struct rtxn {
  rslot *exec;    /* the EXEC reply slot, in the connection's FIFO */
  rslot **subs;   /* one reply slot per queued command, not in the FIFO */
  size_t n, cur;  /* commands; the one running */
  node_req **reqs; /* captured requests, in order */
  size_t nreq, capreq;
  node_req **checks; /* KV_CHECK of each WATCHed key, before the others */
  size_t nchk;
  bool oom;
};

/* Where an immediate reply goes: straight to the output when nothing is
 * pending before it, else into a ready slot at the tail (inside EXEC: the
 * running command's element). */
static core_buf *imm(rconn *c) {
  if (c->tx) return &c->tx->subs[c->tx->cur]->out;
  if (!c->head) return &c->out;
  if (c->tail->ready && c->tail->kind == K_IMM) return &c->tail->out;
  rslot *sl = core_calloc(1, sizeof *sl);
  if (!sl) return &c->tail->out; /* OOM: reply lands after the pending one */
  sl->c = c;
  sl->kind = K_IMM;
  sl->ready = true;
  c->tail->next = sl;
  c->tail = sl;
  c->n_slots++;
  return &sl->out;
}

static rslot *slot_new(rconn *c, rkind kind) {
  rslot *sl = core_calloc(1, sizeof *sl);
  if (!sl) return NULL;
  sl->c = c;
  sl->kind = kind;
  wire_node *n = c->srv->n;
  if (!n->closing && raft_state(&n->raft) == RAFT_LEADER) {
    sl->sent_ns = core_monotonic_ns();
    sl->term = n->raft.current_term;
  }
  if (c->tail) c->tail->next = sl;
  else c->head = sl;
  c->tail = sl;
  c->n_slots++;
  return sl;
}

/* ---- requests ----------------------------------------------------------------- */

static bool is_leader(wire_node *n) {
  return !n->closing && raft_state(&n->raft) == RAFT_LEADER;
}

/* "-MOVED 0 HOST:PORT" to the leader's RESP address, or CLUSTERDOWN. */
static void reply_moved(wire_node *n, core_buf *out) {
  raft_id id = 0;
  const char *addr = NULL;
  if (!n->closing) raft_leader(&n->raft, &id, &addr);
  core_buf a = {0};
  if (id && id != n->cfg.id && store_fsm_member_resp(n->fsm, id, &a) == 0 &&
      a.len)
    resp_error(out, "MOVED 0 %.*s", (int)a.len, a.data);
  else if (id && id != n->cfg.id)
    resp_error(out, "CLUSTERDOWN the leader (node %llu) has no RESP address "
                    "yet", (unsigned long long)id);
  else
    resp_error(out, "CLUSTERDOWN no leader known");
  core_buf_free(&a);
}

static void reply_failure(wire_node *n, core_buf *out, int rc,
                          const char *msg) {
  out->len = 0;
  if (rc == WIRE_ENOTLEADER && !strstr(msg, "may or may not"))
    reply_moved(n, out);
  else if (rc == WIRE_ENOLEADER)
    resp_error(out, "CLUSTERDOWN %s", msg);
  else if (rc == WIRE_ENOSPC) /* as redis-server when its AOF write fails */
    resp_error(out, "MISCONF %s", msg);
  else
    resp_error(out, "ERR %s", msg);
}

/* GETRANGE's reply: v[0..len) clamped to [start, end] as Redis does. */
static void range_reply(core_buf *out, const char *v, int64_t len,
                        int64_t start, int64_t end) {
  if (start < 0 && end < 0 && start > end) {
    resp_bulk(out, "", 0);
    return;
  }
  if (start < 0) start += len;
  if (end < 0) end += len;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (len == 0 || start > end) resp_bulk(out, "", 0);
  else resp_bulk(out, v + start, (size_t)(end - start + 1));
}

static const char *slot_trunc = "TRYAGAIN leadership moved while the command "
                                "was in flight; its result is unknown";

/* Completion of one request of a slot (node thread). */
static void slot_result(rslot *sl, int rc, const char *err,
                        const store_result *r, const char *val, size_t vlen) {
  rconn *c = sl->c;
  wire_node *n = c->srv->n;
  core_buf *o = &sl->out;
  if (sl->failed) return;
  if (rc && !(sl->kind == K_GET && rc == WIRE_ENOTFOUND)) {
    sl->failed = true;
    reply_failure(n, o, rc, err);
    return;
  }
  switch (sl->kind) {
    case K_OK:
      if (r && r->status == STORE_INVALID) resp_error(o, "ERR malformed");
      else resp_simple(o, "OK");
      break;
    case K_SET:
      if (r->status == STORE_OK) resp_simple(o, "OK");
      else resp_null(o);
      break;
    case K_SETGET:
      if (r->value && !r->bytes.ptr) resp_error(o, "%s", slot_trunc);
      else if (r->value) resp_bulk(o, r->bytes.ptr, r->bytes.len);
      else resp_null(o);
      break;
    case K_BOOL:
      resp_int(o, r->status == STORE_OK);
      break;
    case K_GETDEL:
      if (r->status != STORE_OK) resp_null(o);
      else if (!r->bytes.ptr) resp_error(o, "%s", slot_trunc);
      else resp_bulk(o, r->bytes.ptr, r->bytes.len);
      break;
    case K_INT:
    case K_APPEND:
      if (r->status == STORE_OK) resp_int(o, r->value);
      else if (r->status == STORE_NOTINT) resp_error(o, RESP_ERR_NOTINT);
      else if (sl->kind == K_APPEND)
        resp_error(o, "ERR string exceeds maximum allowed size "
                      "(proto-max-bulk-len)");
      else resp_error(o, RESP_ERR_OVERFLOW);
      break;
    case K_FLOAT:
      if (r->status == STORE_OK && r->bytes.ptr)
        resp_bulk(o, r->bytes.ptr, r->bytes.len);
      else if (r->status == STORE_OK) resp_error(o, "%s", slot_trunc);
      else if (r->status == STORE_NOTINT) resp_error(o, RESP_ERR_NOTFLOAT);
      else resp_error(o, "ERR increment would produce NaN or Infinity");
      break;
    case K_COUNT:
      sl->acc += r->status == STORE_OK;
      break;
    case K_GET:
      if (rc) resp_null(o);
      else resp_bulk(o, val, vlen);
      break;
    case K_TGET:
    case K_TMGET:
    case K_TSTRLEN:
      /* Results that crossed a forwarding (leadership moved after the
       * command was queued) carry no bytes. */
      if (r->status == STORE_OK && !r->bytes.ptr)
        resp_error(o, "%s", slot_trunc);
      else if (sl->kind == K_TSTRLEN)
        resp_int(o, r->status == STORE_OK ? (int64_t)r->bytes.len : 0);
      else if (r->status == STORE_OK)
        resp_bulk(o, r->bytes.ptr, r->bytes.len);
      else
        resp_null(o);
      break;
    case K_TGETRANGE:
      if (r->status == STORE_OK && !r->bytes.ptr)
        resp_error(o, "%s", slot_trunc);
      else
        range_reply(o, r->bytes.ptr,
                    r->status == STORE_OK ? (int64_t)r->bytes.len : 0,
                    sl->acc, (int64_t)sl->tnow);
      break;
    case K_TTYPE:
      resp_simple(o, r->status == STORE_OK ? "string" : "none");
      break;
    case K_TTTL:
      if (r->status != STORE_OK) resp_int(o, -2);
      else if (!r->value) resp_int(o, -1);
      else if (sl->acc & 2) resp_int(o, sl->acc & 1 ? r->value : r->value / 1000);
      else if ((uint64_t)r->value <= sl->tnow) resp_int(o, 0);
      else if (sl->acc & 1) resp_int(o, r->value - (int64_t)sl->tnow);
      else resp_int(o, (r->value - (int64_t)sl->tnow + 500) / 1000);
      break;
    case K_RENAME:
    case K_RENAMENX:
      if (r->status == STORE_NOTFOUND) resp_error(o, "ERR no such key");
      else if (sl->kind == K_RENAME) resp_simple(o, "OK");
      else resp_int(o, r->status == STORE_OK);
      break;
    case K_COPY:
      resp_int(o, r->status == STORE_OK);
      break;
    default:
      break;
  }
}

/* Replies completed by commits are sent once per loop iteration: a
 * pipeline whose commands commit in one raft entry gets one write, not one
 * per command. */
static void conn_defer_flush(rconn *c) {
  resp_server *s = c->srv;
  if (c->queued || c->closing || s->closing) return;
  c->queued = true;
  c->refs++;
  c->next_flush = s->flushq;
  s->flushq = c;
  if (!s->closing) uv_check_start(&s->check, on_check);
}

static void slot_complete(rslot *sl) {
  rconn *c = sl->c;
  if (--sl->pending) return;
  if (sl->kind == K_COUNT && !sl->failed) resp_int(&sl->out, sl->acc);
  sl->ready = true;
  if (sl == c->head) {
    conn_drain(c);
    conn_defer_flush(c);
  }
}

static void lease_extend(resp_server *s, uint64_t term, int64_t sent_ns);

static void req_done(node_req *req, int rc, const store_result *res, size_t n,
                     const char *val, size_t vlen) {
  rslot *sl = req->ud;
  rconn *c = sl->c;
  if (!rc && sl->term) lease_extend(c->srv, sl->term, sl->sent_ns);
  if (req->op != NODE_OP_CALL || rc)
    slot_result(sl, rc, req->err, n ? &res[0] : NULL, val, vlen);
  node_req_free(req);
  if (sl->blocks) { /* the WATCH has read: what came after it may run */
    sl->blocks = false;
    c->blocked = false;
    c->resume = true;
    conn_defer_flush(c);
  }
  slot_complete(sl);
  conn_unref(c);
}

static node_req *req_new(rslot *sl, node_op op, size_t bytes) {
  wire_node *n = sl->c->srv->n;
  node_req *r = node_req_new(op, bytes ? bytes : 1);
  if (!r) return NULL;
  r->data_len = bytes;
  r->done = req_done;
  r->ud = sl;
  r->deadline_ns =
      core_monotonic_ns() + (int64_t)n->cfg.request_timeout_ms * 1000000;
  sl->pending++;
  sl->c->refs++;
  return r;
}

/* A kv write with copies of key and value; NULL on OOM. */
static node_req *kv_req(rslot *sl, store_cmd_type type, const resp_arg *key,
                        const char *val, size_t vlen) {
  size_t kl = key ? key->len : 0;
  node_req *r = req_new(sl, NODE_OP_WRITE, kl + vlen);
  if (!r) return NULL;
  if (kl) memcpy(r->data, key->ptr, kl);
  if (vlen) memcpy(r->data + kl, val, vlen);
  r->cmd = (store_cmd){.type = type};
  r->cmd.u.kv.key = (store_slice){r->data, kl};
  r->cmd.u.kv.value = (store_slice){r->data + kl, vlen};
  r->cmd.u.kv.now = store_now_ms();
  return r;
}

static void oom_reply(rslot *sl) {
  if (!sl->failed) {
    sl->failed = true;
    sl->out.len = 0;
    resp_error(&sl->out, "OOM out of memory");
  }
}

/* ---- leader lease ------------------------------------------------------------------
 *
 * A linearizable read needs proof that this node still leads, and a raft
 * barrier per batch of reads costs a disk write on a majority.  Instead
 * the leader holds a lease (Raft thesis §6.4.1): when an entry it proposed
 * at time t in term T is applied while it still leads in T, a majority of
 * the voters heard from it after t.  Such a follower keeps its leader and
 * refuses votes (thesis §4.2.3; libraft recvRequestVote) until its
 * randomized election timeout, at least election-timeout, runs out without
 * hearing from the leader: no other leader can exist before
 * t + election-timeout.  Reads are served from the local state, which holds
 * every write acknowledged so far (writes are answered once applied here),
 * until t + election-timeout / 2: half the timeout is left as margin for
 * clock rate differences and scheduling.  Leadership transfers, which let
 * a follower start an election at once, only happen when this node shuts
 * down, and a closing node serves nothing.  Without a lease (idle leader, a
 * new term) reads wait for a barrier, which also renews the lease; a
 * barrier is proposed ahead of expiry while reads keep coming. */

static int64_t lease_len_ns(wire_node *n) {
  return (int64_t)n->cfg.election_timeout_ms * 1000000 / 2;
}

static void lease_extend(resp_server *s, uint64_t term, int64_t sent_ns) {
  wire_node *n = s->n;
  if (!is_leader(n) || n->raft.current_term != term) return;
  int64_t until = sent_ns + lease_len_ns(n);
  if (s->lease_term != term || until > s->lease_ns) {
    s->lease_term = term;
    s->lease_ns = until;
  }
}

typedef struct lease_req {
  resp_server *s;
  int64_t sent_ns;
  uint64_t term;
} lease_req;

static void lease_done(node_req *req, int rc, const store_result *res,
                       size_t n, const char *val, size_t vlen) {
  (void)res, (void)n, (void)val, (void)vlen;
  lease_req *l = req->ud;
  resp_server *s = l->s;
  s->renewing = false;
  if (!rc && !s->closing) lease_extend(s, l->term, l->sent_ns);
  core_free(l);
  node_req_free(req);
  srv_unref(s);
}

/* Whether reads may be served from the local state now (renewing the
 * lease ahead of its end). */
static bool lease_valid(resp_server *s) {
  wire_node *n = s->n;
  if (!is_leader(n) || s->lease_term != n->raft.current_term) return false;
  int64_t now = core_monotonic_ns();
  if (now >= s->lease_ns) return false;
  if (!s->renewing && s->lease_ns - now < lease_len_ns(n) / 2) {
    lease_req *l = core_calloc(1, sizeof *l);
    node_req *r = l ? node_req_new(NODE_OP_BARRIER, 0) : NULL;
    if (r) {
      l->s = s;
      l->sent_ns = now;
      l->term = n->raft.current_term;
      r->done = lease_done;
      r->ud = l;
      r->deadline_ns = now + (int64_t)n->cfg.request_timeout_ms * 1000000;
      s->renewing = true;
      s->refs++;
      node_dispatch(n, r);
    } else {
      core_free(l);
    }
  }
  return true;
}

/* ---- command context ---------------------------------------------------------- */

typedef struct rctx {
  rconn *c;
  wire_node *n;
  resp_arg *argv;
  size_t argc;
} rctx;

typedef void (*cmd_fn)(rctx *x);

/* Read commands run on the leader behind a barrier (K_CALL) or at once
 * (READONLY on a follower): they read the local FSM into `out`. */
typedef void (*read_fn)(wire_node *n, rconn *c, resp_arg *argv, size_t argc,
                        core_buf *out);

static void txn_read(rctx *x, read_fn fn);

typedef struct rcall {
  read_fn fn;
  size_t argc;
  resp_arg argv[];
} rcall;

static void call_run(wire_node *n, node_req *req) {
  rslot *sl = req->ud;
  rcall *rc = (rcall *)(void *)req->data;
  if (!sl->c->closing) rc->fn(n, sl->c, rc->argv, rc->argc, &sl->out);
  node_req_finish(req, WIRE_OK, NULL, 0, NULL, 0);
}

/* A slot for a write, or NULL after answering MOVED (not the leader). */
static rslot *write_slot(rctx *x, rkind kind) {
  if (x->c->tx) { /* inside EXEC: the command's own element */
    rslot *sl = x->c->tx->subs[x->c->tx->cur];
    sl->kind = kind;
    return sl;
  }
  if (!is_leader(x->n)) {
    reply_moved(x->n, imm(x->c));
    return NULL;
  }
  rslot *sl = slot_new(x->c, kind);
  if (!sl) resp_error(imm(x->c), "OOM out of memory");
  return sl;
}

/* Submit the one request of slot `sl` (NULL r: out of memory, the slot
 * completes with an error). */
static void submit(rctx *x, rslot *sl, node_req *r) {
  if (!r) {
    oom_reply(sl);
    if (!sl->pending) {
      sl->pending = 1;
      slot_complete(sl);
    }
    return;
  }
  rtxn *t = x->c->tx;
  if (!t) {
    node_dispatch(x->n, r);
    return;
  }
  if (t->nreq == t->capreq) {
    size_t cap = t->capreq ? 2 * t->capreq : 16;
    node_req **g = core_realloc(t->reqs, cap * sizeof *g);
    if (!g) { /* the request completes at once with the error */
      t->oom = true;
      node_req_fail(r, WIRE_ENOMEM, "out of memory");
      return;
    }
    t->reqs = g;
    t->capreq = cap;
  }
  t->reqs[t->nreq++] = r;
}

/* A read: behind a barrier on the leader, from the local state on a
 * READONLY follower connection, else MOVED. */
static void read_cmd(rctx *x, read_fn fn) {
  wire_node *n = x->n;
  if (x->c->tx) {
    txn_read(x, fn);
    return;
  }
  /* Under the lease, unless an earlier command of this connection is still
   * in flight (a pipelined SET then GET must see the SET). */
  if (!x->c->head && lease_valid(x->c->srv)) {
    fn(n, x->c, x->argv, x->argc, imm(x->c));
    return;
  }
  if (!is_leader(n)) {
    if (x->c->readonly) fn(n, x->c, x->argv, x->argc, imm(x->c));
    else reply_moved(n, imm(x->c));
    return;
  }
  rslot *sl = slot_new(x->c, K_CALL);
  if (!sl) {
    resp_error(imm(x->c), "OOM out of memory");
    return;
  }
  size_t bytes = sizeof(rcall) + x->argc * sizeof(resp_arg);
  for (size_t i = 0; i < x->argc; i++) bytes += x->argv[i].len;
  node_req *r = req_new(sl, NODE_OP_CALL, bytes);
  if (r) {
    rcall *rc = (rcall *)(void *)r->data;
    rc->fn = fn;
    rc->argc = x->argc;
    char *p = (char *)&rc->argv[x->argc];
    for (size_t i = 0; i < x->argc; i++) {
      memcpy(p, x->argv[i].ptr, x->argv[i].len);
      rc->argv[i] = (resp_arg){p, x->argv[i].len};
      p += x->argv[i].len;
    }
    r->call = call_run;
    r->barrier = true;
  }
  submit(x, sl, r);
}

static bool check_key(rctx *x, const resp_arg *k) {
  if (k->len == 0 || k->len > x->n->limits.key_max) {
    resp_error(imm(x->c), "ERR key of %zu bytes: keys are 1 to %zu bytes",
               k->len, x->n->limits.key_max);
    return false;
  }
  return true;
}

static bool check_val(rctx *x, size_t len) {
  if (len > x->n->limits.value_max) {
    resp_error(imm(x->c),
               "ERR value of %zu bytes exceeds the limit of %zu bytes "
               "(option value-max)",
               len, x->n->limits.value_max);
    return false;
  }
  return true;
}

/* ---- connection and server commands ---------------------------------------------- */

static void cmd_ping(rctx *x) {
  if (x->argc > 2) {
    resp_error(imm(x->c), "ERR wrong number of arguments for 'ping' command");
    return;
  }
  if (x->argc == 2) resp_bulk(imm(x->c), x->argv[1].ptr, x->argv[1].len);
  else resp_simple(imm(x->c), "PONG");
}

static void cmd_echo(rctx *x) {
  resp_bulk(imm(x->c), x->argv[1].ptr, x->argv[1].len);
}

static void cmd_quit(rctx *x) {
  resp_simple(imm(x->c), "OK");
  x->c->quit = true;
}

static void cmd_select(rctx *x) {
  int64_t db;
  if (!resp_parse_i64(x->argv[1].ptr, x->argv[1].len, &db))
    resp_error(imm(x->c), RESP_ERR_NOTINT);
  else if (db != 0)
    resp_error(imm(x->c), "ERR DB index is out of range");
  else
    resp_simple(imm(x->c), "OK");
}

static void cmd_readonly(rctx *x) {
  x->c->readonly = true;
  resp_simple(imm(x->c), "OK");
}

static void cmd_readwrite(rctx *x) {
  x->c->readonly = false;
  resp_simple(imm(x->c), "OK");
}

/* Whether `user`/`pass` match (user "default" as in Redis 6+), in time
 * independent of where the password differs. */
static bool auth_ok(rctx *x, const resp_arg *user, const resp_arg *pass) {
  if (user && !resp_arg_is(user, "default")) return false;
  return core_secret_eq(pass->ptr, pass->len, x->n->cfg.resp_password);
}

#define RESP_ERR_WRONGPASS \
  "WRONGPASS invalid username-password pair or user is disabled."

/* AUTH [username] password */
static void cmd_auth(rctx *x) {
  core_buf *o = imm(x->c);
  if (x->argc > 3) {
    resp_error(o, RESP_ERR_SYNTAX);
    return;
  }
  if (!x->n->cfg.resp_password) {
    resp_error(o, "ERR AUTH <password> called without any password "
                  "configured for the default user. Are you sure your "
                  "configuration is correct?");
    return;
  }
  const resp_arg *user = x->argc == 3 ? &x->argv[1] : NULL;
  if (auth_ok(x, user, &x->argv[x->argc - 1])) {
    x->c->authed = true;
    resp_simple(o, "OK");
  } else {
    resp_error(o, RESP_ERR_WRONGPASS);
  }
}

static void cmd_hello(rctx *x) {
  core_buf *o = imm(x->c);
  size_t i = 1;
  if (x->argc >= 2) {
    int64_t v;
    if (!resp_parse_i64(x->argv[1].ptr, x->argv[1].len, &v)) {
      resp_error(o, "ERR Protocol version is not an integer or out of range");
      return;
    }
    if (v != 2) {
      resp_error(o, RESP_ERR_NOPROTO);
      return;
    }
    i = 2;
  }
  bool authed = x->c->authed;
  for (; i < x->argc; i++) {
    if (resp_arg_is(&x->argv[i], "SETNAME") && i + 1 < x->argc) {
      i++;
    } else if (resp_arg_is(&x->argv[i], "AUTH") && i + 2 < x->argc) {
      if (!x->n->cfg.resp_password) {
        resp_error(o, "ERR AUTH <password> called without any password "
                      "configured for the default user. Are you sure your "
                      "configuration is correct?");
        return;
      }
      if (!auth_ok(x, &x->argv[i + 1], &x->argv[i + 2])) {
        resp_error(o, RESP_ERR_WRONGPASS);
        return;
      }
      authed = true;
      i += 2;
    } else {
      resp_error(o, "ERR Syntax error in HELLO option '%.*s'",
                 (int)WIRE_MIN(x->argv[i].len, 128), x->argv[i].ptr);
      return;
    }
  }
  if (!authed) {
    resp_error(o, "NOAUTH HELLO must be called with the client already "
                  "authenticated, otherwise the HELLO <proto> AUTH <user> "
                  "<pass> option can be used to authenticate the client and "
                  "select the RESP protocol version at the same time");
    return;
  }
  x->c->authed = true;
  bool leader = is_leader(x->n);
  resp_array(o, 14);
  resp_bulk(o, "server", 6);
  resp_bulk(o, "redis", 5);
  resp_bulk(o, "version", 7);
  resp_bulk(o, "7.0.0", 5);
  resp_bulk(o, "proto", 5);
  resp_int(o, 2);
  resp_bulk(o, "id", 2);
  resp_int(o, (int64_t)x->c->id);
  resp_bulk(o, "mode", 4);
  resp_bulk(o, "standalone", 10);
  resp_bulk(o, "role", 4);
  resp_bulk(o, leader ? "master" : "replica", leader ? 6 : 7);
  resp_bulk(o, "modules", 7);
  resp_array(o, 0);
}

static void cmd_client(rctx *x) {
  core_buf *o = imm(x->c);
  const resp_arg *sub = &x->argv[1];
  if (resp_arg_is(sub, "ID")) resp_int(o, (int64_t)x->c->id);
  else if (resp_arg_is(sub, "GETNAME")) resp_null(o);
  else if (resp_arg_is(sub, "SETNAME") || resp_arg_is(sub, "SETINFO"))
    resp_simple(o, "OK");
  else
    resp_error(o, "ERR unknown subcommand '%.*s'. Try CLIENT HELP.",
               (int)WIRE_MIN(sub->len, 128), sub->ptr);
}

static void cmd_config(rctx *x) {
  core_buf *o = imm(x->c);
  if (!resp_arg_is(&x->argv[1], "GET")) {
    resp_error(o, "ERR CONFIG %.*s is not supported",
               (int)WIRE_MIN(x->argv[1].len, 64), x->argv[1].ptr);
    return;
  }
  /* Enough for redis-benchmark, which asks for save and appendonly. */
  size_t n = 0;
  core_buf items = {0};
  for (size_t i = 2; i < x->argc; i++) {
    const char *val = NULL;
    if (resp_glob_match(x->argv[i].ptr, x->argv[i].len, "save", 4, true))
      val = "", resp_bulk(&items, "save", 4);
    else if (resp_glob_match(x->argv[i].ptr, x->argv[i].len, "appendonly", 10,
                             true))
      val = "yes", resp_bulk(&items, "appendonly", 10);
    else if (resp_glob_match(x->argv[i].ptr, x->argv[i].len, "databases", 9,
                             true))
      val = "1", resp_bulk(&items, "databases", 9);
    if (val) {
      resp_bulk(&items, val, strlen(val));
      n += 2;
    }
  }
  resp_array(o, n);
  if (items.len) core_buf_append(o, items.data, items.len);
  core_buf_free(&items);
}

/* ---- the command table ----------------------------------------------------------- */

#define F_WRITE 0x01
#define F_READ 0x02
#define F_FAST 0x04

typedef struct resp_cmd_def {
  const char *name;
  int arity; /* as Redis: n exact, -n at least n */
  unsigned flags;
  cmd_fn fn;
  int first_key, last_key, step; /* COMMAND's key positions */
} resp_cmd_def;

static const resp_cmd_def *cmd_lookup(const resp_arg *name);
static size_t cmd_count(void);
static const resp_cmd_def *cmd_at(size_t i);

static void command_info(core_buf *o, const resp_cmd_def *c) {
  resp_array(o, 6);
  resp_bulk(o, c->name, strlen(c->name));
  resp_int(o, c->arity);
  size_t nf = !!(c->flags & F_WRITE) + !!(c->flags & F_READ) +
              !!(c->flags & F_FAST);
  resp_array(o, nf);
  if (c->flags & F_WRITE) resp_simple(o, "write");
  if (c->flags & F_READ) resp_simple(o, "readonly");
  if (c->flags & F_FAST) resp_simple(o, "fast");
  resp_int(o, c->first_key);
  resp_int(o, c->last_key);
  resp_int(o, c->step);
}

static void cmd_command(rctx *x) {
  core_buf *o = imm(x->c);
  if (x->argc == 1) {
    resp_array(o, cmd_count());
    for (size_t i = 0; i < cmd_count(); i++) command_info(o, cmd_at(i));
    return;
  }
  const resp_arg *sub = &x->argv[1];
  if (resp_arg_is(sub, "COUNT")) {
    resp_int(o, (int64_t)cmd_count());
  } else if (resp_arg_is(sub, "INFO")) {
    resp_array(o, x->argc - 2);
    for (size_t i = 2; i < x->argc; i++) {
      const resp_cmd_def *c = cmd_lookup(&x->argv[i]);
      if (c) command_info(o, c);
      else resp_null_array(o);
    }
  } else if (resp_arg_is(sub, "DOCS")) {
    /* name -> map of docs; we give a summary for each known command. */
    size_t n = 0;
    core_buf items = {0};
    for (size_t i = 0; i < cmd_count(); i++) {
      const resp_cmd_def *c = cmd_at(i);
      bool want = x->argc == 2;
      for (size_t j = 2; j < x->argc && !want; j++)
        want = resp_arg_is(&x->argv[j], c->name);
      if (!want) continue;
      resp_bulk(&items, c->name, strlen(c->name));
      resp_array(&items, 4);
      resp_bulk(&items, "summary", 7);
      resp_bulk(&items, "see doc/resp.md", 15);
      resp_bulk(&items, "group", 5);
      const char *g = (c->flags & (F_WRITE | F_READ)) ? "string" : "server";
      resp_bulk(&items, g, strlen(g));
      n++;
    }
    resp_array(o, 2 * n);
    if (items.len) core_buf_append(o, items.data, items.len);
    core_buf_free(&items);
  } else {
    resp_error(o, "ERR unknown subcommand '%.*s'. Try COMMAND HELP.",
               (int)WIRE_MIN(sub->len, 128), sub->ptr);
  }
}

/* ---- string writes ------------------------------------------------------------------- */

static void do_set(rctx *x, const resp_arg *key, const resp_arg *val,
                   const resp_set_opts *o, rkind kind) {
  if (!check_key(x, key) || !check_val(x, val->len)) return;
  rslot *sl = write_slot(x, kind);
  if (!sl) return;
  node_req *r = kv_req(sl, STORE_CMD_KV_SET, key, val->ptr, val->len);
  if (r) {
    r->cmd.u.kv.flags = (o->nx ? STORE_KV_NX : 0) | (o->xx ? STORE_KV_XX : 0) |
                        (o->get ? STORE_KV_GET : 0) |
                        (o->keepttl ? STORE_KV_KEEPTTL : 0);
    r->cmd.u.kv.expire = o->expire_at;
  }
  submit(x, sl, r);
}

static void cmd_set(rctx *x) {
  resp_set_opts o;
  char err[160];
  if (!resp_set_opts_parse(x->argv, x->argc, 3, store_now_ms(), &o, err,
                           sizeof err)) {
    resp_error(imm(x->c), "%s", err);
    return;
  }
  do_set(x, &x->argv[1], &x->argv[2], &o, o.get ? K_SETGET : K_SET);
}

static void cmd_setnx(rctx *x) {
  resp_set_opts o = {.nx = true};
  do_set(x, &x->argv[1], &x->argv[2], &o, K_BOOL);
}

static void cmd_getset(rctx *x) {
  resp_set_opts o = {.get = true};
  do_set(x, &x->argv[1], &x->argv[2], &o, K_SETGET);
}

/* SETEX key seconds value, PSETEX key ms value */
static void cmd_setex(rctx *x) {
  bool ms = x->argv[0].len == 6;
  int64_t v, at;
  if (!resp_parse_i64(x->argv[2].ptr, x->argv[2].len, &v)) {
    resp_error(imm(x->c), RESP_ERR_NOTINT);
    return;
  }
  if (v <= 0 || !resp_expire_at(v, ms ? 1 : 1000, false, store_now_ms(), &at)) {
    resp_error(imm(x->c), "ERR invalid expire time in '%s' command",
               ms ? "psetex" : "setex");
    return;
  }
  resp_set_opts o = {.expire_at = (uint64_t)at};
  do_set(x, &x->argv[1], &x->argv[3], &o, K_OK);
}

static void cmd_getdel(rctx *x) {
  if (!check_key(x, &x->argv[1])) return;
  rslot *sl = write_slot(x, K_GETDEL);
  if (sl) submit(x, sl, kv_req(sl, STORE_CMD_KV_GETDEL, &x->argv[1], NULL, 0));
}

static void cmd_mset(rctx *x) {
  bool nx = x->argv[0].len == 6; /* MSETNX */
  if (x->argc % 2 == 0) {
    resp_error(imm(x->c), "ERR wrong number of arguments for '%s' command",
               nx ? "msetnx" : "mset");
    return;
  }
  core_buf pairs = {0};
  char v[10];
  for (size_t i = 1; i < x->argc; i++) {
    if (i % 2 ? !check_key(x, &x->argv[i]) : !check_val(x, x->argv[i].len)) {
      core_buf_free(&pairs);
      return;
    }
    size_t len = x->argv[i].len, k = 0;
    while (len >= 0x80) v[k++] = (char)(0x80 | (len & 0x7f)), len >>= 7;
    v[k++] = (char)len;
    if (core_buf_append(&pairs, v, k) ||
        core_buf_append(&pairs, x->argv[i].ptr, x->argv[i].len)) {
      core_buf_free(&pairs);
      resp_error(imm(x->c), "OOM out of memory");
      return;
    }
  }
  if (!check_val(x, pairs.len)) {
    core_buf_free(&pairs);
    return;
  }
  rslot *sl = write_slot(x, nx ? K_BOOL : K_OK);
  if (sl) {
    node_req *r = kv_req(sl, STORE_CMD_KV_MSET, NULL, pairs.data, pairs.len);
    if (r) r->cmd.u.kv.flags = nx ? STORE_KV_NX : 0;
    submit(x, sl, r);
  }
  core_buf_free(&pairs);
}

/* DEL/UNLINK k...: one KV_DEL per key, counted. */
static void cmd_del(rctx *x) {
  for (size_t i = 1; i < x->argc; i++)
    if (!check_key(x, &x->argv[i])) return;
  rslot *sl = write_slot(x, K_COUNT);
  if (!sl) return;
  sl->acc = 0;
  sl->pending++; /* held until every request is submitted */
  for (size_t i = 1; i < x->argc; i++) {
    node_req *r = kv_req(sl, STORE_CMD_KV_DEL, &x->argv[i], NULL, 0);
    if (!r) {
      oom_reply(sl);
      break;
    }
    submit(x, sl, r);
  }
  slot_complete(sl);
}

static void incr_by(rctx *x, int64_t delta) {
  if (!check_key(x, &x->argv[1])) return;
  rslot *sl = write_slot(x, K_INT);
  if (!sl) return;
  node_req *r = kv_req(sl, STORE_CMD_KV_INCRBY, &x->argv[1], NULL, 0);
  if (r) r->cmd.u.kv.delta = delta;
  submit(x, sl, r);
}

static void cmd_incr(rctx *x) { incr_by(x, 1); }
static void cmd_decr(rctx *x) { incr_by(x, -1); }

static void cmd_incrby(rctx *x) {
  int64_t d;
  if (!resp_parse_i64(x->argv[2].ptr, x->argv[2].len, &d)) {
    resp_error(imm(x->c), RESP_ERR_NOTINT);
    return;
  }
  if (x->argv[0].len == 6 && toupper((unsigned char)x->argv[0].ptr[0]) == 'D') {
    if (d == INT64_MIN) {
      resp_error(imm(x->c), "ERR decrement would overflow");
      return;
    }
    d = -d;
  }
  incr_by(x, d);
}

/* INCRBYFLOAT key increment: the sum is computed where the entry is
 * applied (every node alike), as Redis computes it. */
static void cmd_incrbyfloat(rctx *x) {
  long double inc;
  if (!check_key(x, &x->argv[1])) return;
  if (!store_parse_float(x->argv[2].ptr, x->argv[2].len, &inc)) {
    resp_error(imm(x->c), RESP_ERR_NOTFLOAT);
    return;
  }
  rslot *sl = write_slot(x, K_FLOAT);
  if (sl)
    submit(x, sl, kv_req(sl, STORE_CMD_KV_INCRBYFLOAT, &x->argv[1],
                         x->argv[2].ptr, x->argv[2].len));
}

static void cmd_append(rctx *x) {
  if (!check_key(x, &x->argv[1]) || !check_val(x, x->argv[2].len)) return;
  rslot *sl = write_slot(x, K_APPEND);
  if (sl)
    submit(x, sl, kv_req(sl, STORE_CMD_KV_APPEND, &x->argv[1], x->argv[2].ptr,
                         x->argv[2].len));
}

/* EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT key n, PERSIST key */
static void cmd_expire(rctx *x) {
  const resp_arg *cmd = &x->argv[0];
  bool persist = resp_arg_is(cmd, "PERSIST");
  bool ms = toupper((unsigned char)cmd->ptr[0]) == 'P' && !persist;
  bool at = cmd->len >= 2 && toupper((unsigned char)cmd->ptr[cmd->len - 1]) ==
                                 'T';
  int64_t v = 0, when = 0;
  uint64_t now = store_now_ms();
  if (!persist) {
    if (x->argc > 3) {
      resp_error(imm(x->c), "ERR Unsupported option %.*s",
                 (int)WIRE_MIN(x->argv[3].len, 64), x->argv[3].ptr);
      return;
    }
    if (!resp_parse_i64(x->argv[2].ptr, x->argv[2].len, &v)) {
      resp_error(imm(x->c), RESP_ERR_NOTINT);
      return;
    }
    if (!resp_expire_at(v, ms ? 1 : 1000, at, now, &when)) {
      char lc[16];
      size_t i = 0;
      for (; i < cmd->len && i < sizeof lc - 1; i++)
        lc[i] = (char)tolower((unsigned char)cmd->ptr[i]);
      lc[i] = '\0';
      resp_error(imm(x->c), "ERR invalid expire time in '%s' command", lc);
      return;
    }
  }
  if (!check_key(x, &x->argv[1])) return;
  rslot *sl = write_slot(x, K_BOOL);
  if (!sl) return;
  node_req *r = kv_req(sl, STORE_CMD_KV_EXPIRE, &x->argv[1], NULL, 0);
  if (r) {
    r->cmd.u.kv.now = now;
    if (persist) r->cmd.u.kv.flags = STORE_KV_PERSIST;
    else r->cmd.u.kv.expire = when <= (int64_t)now ? 0 : (uint64_t)when;
  }
  submit(x, sl, r);
}

static void cmd_flushdb(rctx *x) {
  if (x->argc > 2 || (x->argc == 2 && !resp_arg_is(&x->argv[1], "SYNC") &&
                      !resp_arg_is(&x->argv[1], "ASYNC"))) {
    resp_error(imm(x->c), RESP_ERR_SYNTAX);
    return;
  }
  rslot *sl = write_slot(x, K_OK);
  if (sl) submit(x, sl, kv_req(sl, STORE_CMD_KV_FLUSH, NULL, NULL, 0));
}

/* ---- reads ------------------------------------------------------------------------ */

static void cmd_get(rctx *x) {
  wire_node *n = x->n;
  const resp_arg *k = &x->argv[1];
  if (!check_key(x, k)) return;
  if (x->c->tx) {
    rslot *sl = write_slot(x, K_TGET);
    submit(x, sl, kv_req(sl, STORE_CMD_KV_GET, k, NULL, 0));
    return;
  }
  bool lease = !x->c->head && lease_valid(x->c->srv);
  if (lease || !is_leader(n)) {
    if (!lease && !x->c->readonly) {
      reply_moved(n, imm(x->c));
      return;
    }
    n->enc.len = 0;
    core_buf *o = imm(x->c);
    int rc = store_fsm_get(n->fsm, (store_slice){k->ptr, k->len}, &n->enc);
    if (rc == WIRE_OK) resp_bulk(o, n->enc.data ? n->enc.data : "", n->enc.len);
    else if (rc == WIRE_ENOTFOUND) resp_null(o);
    else resp_error(o, "ERR store: %s", store_fsm_errmsg(n->fsm));
    return;
  }
  rslot *sl = slot_new(x->c, K_GET);
  if (!sl) {
    resp_error(imm(x->c), "OOM out of memory");
    return;
  }
  node_req *r = req_new(sl, NODE_OP_READ, k->len);
  if (r) {
    memcpy(r->data, k->ptr, k->len);
    r->key = (store_slice){r->data, k->len};
    r->mode = WIRE_READ_LINEARIZABLE;
  }
  submit(x, sl, r);
}

/* The value of a live key into n->enc: WIRE_OK, WIRE_ENOTFOUND, or an
 * error already written to out. */
static int get_local(wire_node *n, const resp_arg *k, core_buf *out) {
  n->enc.len = 0;
  int rc = store_fsm_get(n->fsm, (store_slice){k->ptr, k->len}, &n->enc);
  if (rc && rc != WIRE_ENOTFOUND)
    resp_error(out, "ERR store: %s", store_fsm_errmsg(n->fsm));
  return rc;
}

static void rd_mget(wire_node *n, rconn *c, resp_arg *argv, size_t argc,
                    core_buf *out) {
  (void)c;
  resp_array(out, argc - 1);
  for (size_t i = 1; i < argc; i++) {
    n->enc.len = 0;
    if (store_fsm_get(n->fsm, (store_slice){argv[i].ptr, argv[i].len},
                      &n->enc) == WIRE_OK)
      resp_bulk(out, n->enc.data ? n->enc.data : "", n->enc.len);
    else
      resp_null(out);
  }
}

static void rd_exists(wire_node *n, rconn *c, resp_arg *argv, size_t argc,
                      core_buf *out) {
  (void)c;
  int64_t k = 0;
  for (size_t i = 1; i < argc; i++) {
    n->enc.len = 0;
    k += store_fsm_get(n->fsm, (store_slice){argv[i].ptr, argv[i].len},
                       &n->enc) == WIRE_OK;
  }
  resp_int(out, k);
}

static void rd_strlen(wire_node *n, rconn *c, resp_arg *argv, size_t argc,
                      core_buf *out) {
  (void)c, (void)argc;
  int rc = get_local(n, &argv[1], out);
  if (rc == WIRE_OK || rc == WIRE_ENOTFOUND)
    resp_int(out, rc ? 0 : (int64_t)n->enc.len);
}

/* GETRANGE/SUBSTR key start end (the indexes are checked by the caller). */
static void rd_getrange(wire_node *n, rconn *c, resp_arg *argv, size_t argc,
                        core_buf *out) {
  (void)c, (void)argc;
  int64_t start = 0, end = 0;
  resp_parse_i64(argv[2].ptr, argv[2].len, &start);
  resp_parse_i64(argv[3].ptr, argv[3].len, &end);
  int rc = get_local(n, &argv[1], out);
  if (rc != WIRE_OK && rc != WIRE_ENOTFOUND) return;
  range_reply(out, n->enc.data, rc ? 0 : (int64_t)n->enc.len, start, end);
}

static void rd_type(wire_node *n, rconn *c, resp_arg *argv, size_t argc,
                    core_buf *out) {
  (void)c, (void)argc;
  int rc = get_local(n, &argv[1], out);
  if (rc == WIRE_OK) resp_simple(out, "string");
  else if (rc == WIRE_ENOTFOUND) resp_simple(out, "none");
}

static void rd_ttl(wire_node *n, rconn *c, resp_arg *argv, size_t argc,
                   core_buf *out) {
  (void)c, (void)argc;
  uint64_t now = store_now_ms(), exp;
  int rc = store_fsm_expiry(n->fsm, (store_slice){argv[1].ptr, argv[1].len},
                            now, &exp);
  bool ms = toupper((unsigned char)argv[0].ptr[0]) == 'P';
  if (rc == WIRE_ENOTFOUND) resp_int(out, -2);
  else if (rc) resp_error(out, "ERR store: %s", store_fsm_errmsg(n->fsm));
  else if (!exp) resp_int(out, -1);
  else if (ms) resp_int(out, (int64_t)(exp - now));
  else resp_int(out, (int64_t)((exp - now + 500) / 1000));
}

/* EXPIRETIME/PEXPIRETIME: the absolute expiry (s or ms), -1 none, -2 no key */
static void rd_expiretime(wire_node *n, rconn *c, resp_arg *argv, size_t argc,
                          core_buf *out) {
  (void)c, (void)argc;
  uint64_t exp;
  int rc = store_fsm_expiry(n->fsm, (store_slice){argv[1].ptr, argv[1].len},
                            store_now_ms(), &exp);
  bool ms = toupper((unsigned char)argv[0].ptr[0]) == 'P';
  if (rc == WIRE_ENOTFOUND) resp_int(out, -2);
  else if (rc) resp_error(out, "ERR store: %s", store_fsm_errmsg(n->fsm));
  else if (!exp) resp_int(out, -1);
  else resp_int(out, ms ? (int64_t)exp : (int64_t)(exp / 1000));
}

typedef struct match_ctx {
  core_buf *items;
  size_t n, max;
  const resp_arg *pat; /* NULL: every key */
  core_buf *last;      /* SCAN: last key visited */
} match_ctx;

static int match_cb(void *ud, store_slice key, store_slice value) {
  (void)value;
  match_ctx *m = ud;
  if (m->last) {
    m->last->len = 0;
    core_buf_append(m->last, key.ptr, key.len);
  }
  if (!m->pat ||
      resp_glob_match(m->pat->ptr, m->pat->len, key.ptr, key.len, false)) {
    if (m->n >= m->max) return 1;
    resp_bulk(m->items, key.ptr, key.len);
    m->n++;
  }
  return 0;
}

static void rd_keys(wire_node *n, rconn *c, resp_arg *argv, size_t argc,
                    core_buf *out) {
  (void)c, (void)argc;
  core_buf items = {0};
  match_ctx m = {&items, 0, RESP_KEYS_MAX, &argv[1], NULL};
  size_t pl = resp_glob_prefix(argv[1].ptr, argv[1].len);
  int rc = store_fsm_scan(n->fsm, (store_slice){argv[1].ptr, pl},
                          (store_slice){NULL, 0}, 0, match_cb, &m, NULL);
  if (rc < 0) {
    resp_error(out, "ERR store: %s", store_fsm_errmsg(n->fsm));
  } else if (rc > 0) {
    resp_error(out, "ERR more than %d keys match: use SCAN", RESP_KEYS_MAX);
  } else {
    resp_array(out, m.n);
    if (items.len) core_buf_append(out, items.data, items.len);
  }
  core_buf_free(&items);
}

static int count_cb(void *ud, store_slice key, store_slice value) {
  (void)key, (void)value;
  (*(int64_t *)ud)++;
  return 0;
}

static void rd_dbsize(wire_node *n, rconn *c, resp_arg *argv, size_t argc,
                      core_buf *out) {
  (void)c, (void)argv, (void)argc;
  int64_t k = 0;
  if (store_fsm_scan(n->fsm, (store_slice){NULL, 0}, (store_slice){NULL, 0},
                     0, count_cb, &k, NULL))
    resp_error(out, "ERR store: %s", store_fsm_errmsg(n->fsm));
  else
    resp_int(out, k);
}

/* SCAN cursor [MATCH pattern] [COUNT n] [TYPE t].  The key space is
 * ordered, so a cursor is a remembered "last key returned" (per node, the
 * RESP_SCAN_CURSORS most recent): the guarantees of Redis hold (a key
 * present during the whole iteration is returned, exactly once here). */
static void rd_scan(wire_node *n, rconn *c, resp_arg *argv, size_t argc,
                    core_buf *out) {
  resp_server *s = c->srv;
  int64_t cur;
  if (!resp_parse_i64(argv[1].ptr, argv[1].len, &cur) || cur < 0) {
    resp_error(out, "ERR invalid cursor");
    return;
  }
  const resp_arg *pat = NULL;
  int64_t count = 10;
  bool type_ok = true;
  for (size_t i = 2; i < argc; i++) {
    if (i + 1 >= argc) {
      resp_error(out, RESP_ERR_SYNTAX);
      return;
    }
    if (resp_arg_is(&argv[i], "MATCH")) {
      pat = &argv[++i];
    } else if (resp_arg_is(&argv[i], "COUNT")) {
      i++;
      if (!resp_parse_i64(argv[i].ptr, argv[i].len, &count)) {
        resp_error(out, RESP_ERR_NOTINT);
        return;
      }
      if (count < 1) {
        resp_error(out, RESP_ERR_SYNTAX);
        return;
      }
    } else if (resp_arg_is(&argv[i], "TYPE")) {
      type_ok = resp_arg_is(&argv[++i], "string");
    } else {
      resp_error(out, RESP_ERR_SYNTAX);
      return;
    }
  }
  core_buf after = {0};
  if (cur) {
    scan_cursor *sc = &s->cursors[(uint64_t)cur % RESP_SCAN_CURSORS];
    if (sc->id != (uint64_t)cur) {
      resp_error(out, "ERR invalid cursor");
      return;
    }
    core_buf_append(&after, sc->after.data, sc->after.len);
  }
  core_buf items = {0}, last = {0};
  match_ctx m = {&items, 0, SIZE_MAX, pat, &last};
  bool more = false;
  int rc = WIRE_OK;
  if (type_ok)
    rc = store_fsm_scan(n->fsm, (store_slice){NULL, 0},
                        (store_slice){after.data, after.len},
                        (size_t)WIRE_MIN(count, 100000), match_cb, &m, &more);
  if (rc) {
    resp_error(out, "ERR store: %s", store_fsm_errmsg(n->fsm));
  } else {
    uint64_t next = 0;
    if (more && last.len) {
      next = ++s->cursor_seq;
      scan_cursor *sc = &s->cursors[next % RESP_SCAN_CURSORS];
      sc->id = next;
      sc->after.len = 0;
      core_buf_append(&sc->after, last.data, last.len);
    }
    char num[24];
    int nl = snprintf(num, sizeof num, "%" PRIu64, next);
    resp_array(out, 2);
    resp_bulk(out, num, (size_t)nl);
    resp_array(out, m.n);
    if (items.len) core_buf_append(out, items.data, items.len);
  }
  core_buf_free(&after);
  core_buf_free(&items);
  core_buf_free(&last);
}

static int due_count(void *ud, store_slice key, store_slice value) {
  (void)key, (void)value;
  (*(int64_t *)ud)++;
  return 0;
}

static void rd_info(wire_node *n, rconn *c, resp_arg *argv, size_t argc,
                    core_buf *out) {
  resp_server *s = c->srv;
  bool all = argc == 1;
  bool want[3] = {all, all, all};
  static const char *const names[3] = {"server", "replication", "keyspace"};
  for (size_t i = 1; i < argc; i++)
    for (int j = 0; j < 3; j++)
      if (resp_arg_is(&argv[i], names[j]) || resp_arg_is(&argv[i], "all") ||
          resp_arg_is(&argv[i], "default") ||
          resp_arg_is(&argv[i], "everything"))
        want[j] = true;
  core_buf b = {0};
  if (want[0]) {
    int64_t up = (core_monotonic_ns() - s->started_ns) / 1000000000;
    core_buf_printf(&b,
                    "# Server\r\nredis_version:7.0.0\r\nredis_mode:standalone"
                    "\r\nwire_version:%d.%d.%d\r\nwire_node_id:%llu\r\n"
                    "process_id:%d\r\ntcp_port:%d\r\nuptime_in_seconds:%lld\r\n"
                    "connected_clients:%u\r\nmaxclients:%u\r\n"
                    "total_connections_received:%llu\r\n"
                    "rejected_connections:%llu\r\n"
                    "total_commands_processed:%llu\r\nexpired_keys:%llu"
                    "\r\n\r\n",
                    WIRE_VERSION_MAJOR, WIRE_VERSION_MINOR, WIRE_VERSION_PATCH,
                    (unsigned long long)n->cfg.id, (int)getpid(),
                    n->cfg.resp_port, (long long)up, s->n_conns,
                    n->cfg.resp_max_clients,
                    (unsigned long long)s->n_connections,
                    (unsigned long long)s->n_rejected,
                    (unsigned long long)s->n_commands,
                    (unsigned long long)s->n_expired);
  }
  if (want[1]) {
    bool leader = is_leader(n);
    core_buf_printf(&b, "# Replication\r\nrole:%s\r\n",
                    leader ? "master" : "slave");
    if (leader) {
      core_buf_printf(&b, "connected_slaves:%u\r\n",
                      n->raft.configuration.n ? n->raft.configuration.n - 1
                                              : 0);
    } else {
      core_buf a = {0};
      raft_id id = 0;
      const char *addr = NULL;
      raft_leader(&n->raft, &id, &addr);
      const char *host = "", *port = "";
      char tmp[300] = "";
      if (id && store_fsm_member_resp(n->fsm, id, &a) == 0 &&
          a.len < sizeof tmp) {
        memcpy(tmp, a.data, a.len);
        char *colon = strrchr(tmp, ':');
        if (colon) *colon = '\0', host = tmp, port = colon + 1;
      }
      core_buf_printf(&b, "master_host:%s\r\nmaster_port:%s\r\n"
                          "master_link_status:%s\r\nslave_read_only:1\r\n",
                      host, port, id ? "up" : "down");
      core_buf_free(&a);
    }
    core_buf_printf(&b, "raft_term:%llu\r\nraft_commit_index:%llu\r\n"
                        "raft_applied_index:%llu\r\n\r\n",
                    (unsigned long long)n->raft.current_term,
                    (unsigned long long)n->raft.commit_index,
                    (unsigned long long)raft_last_applied(&n->raft));
  }
  if (want[2]) {
    int64_t keys = 0, exp = 0;
    store_fsm_scan(n->fsm, (store_slice){NULL, 0}, (store_slice){NULL, 0}, 0,
                   count_cb, &keys, NULL);
    store_fsm_due(n->fsm, UINT64_MAX, SIZE_MAX, due_count, &exp);
    core_buf_printf(&b, "# Keyspace\r\n");
    if (keys)
      core_buf_printf(&b, "db0:keys=%lld,expires=%lld,avg_ttl=0\r\n",
                      (long long)keys, (long long)exp);
  }
  resp_bulk(out, b.data ? b.data : "", b.len);
  core_buf_free(&b);
}

static void cmd_mget(rctx *x) { read_cmd(x, rd_mget); }
static void cmd_exists(rctx *x) { read_cmd(x, rd_exists); }
static void cmd_strlen(rctx *x) { read_cmd(x, rd_strlen); }

static void cmd_getrange(rctx *x) {
  int64_t v;
  if (!check_key(x, &x->argv[1])) return;
  if (!resp_parse_i64(x->argv[2].ptr, x->argv[2].len, &v) ||
      !resp_parse_i64(x->argv[3].ptr, x->argv[3].len, &v)) {
    resp_error(imm(x->c), RESP_ERR_NOTINT);
    return;
  }
  read_cmd(x, rd_getrange);
}
static void cmd_type(rctx *x) { read_cmd(x, rd_type); }
static void cmd_ttl(rctx *x) { read_cmd(x, rd_ttl); }
static void cmd_expiretime(rctx *x) { read_cmd(x, rd_expiretime); }

static void cmd_time(rctx *x) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  char a[24], b[24];
  int la = snprintf(a, sizeof a, "%lld", (long long)ts.tv_sec);
  int lb = snprintf(b, sizeof b, "%ld", ts.tv_nsec / 1000);
  core_buf *o = imm(x->c);
  resp_array(o, 2);
  resp_bulk(o, a, (size_t)la);
  resp_bulk(o, b, (size_t)lb);
}

/* RENAME/RENAMENX src dst, COPY src dst [DB 0] [REPLACE]: one KV_RENAME. */
static void cmd_rename(rctx *x) {
  bool copy = x->argv[0].len == 4, nx = x->argv[0].len == 8, replace = false;
  for (size_t i = 3; copy && i < x->argc; i++) {
    if (resp_arg_is(&x->argv[i], "REPLACE")) {
      replace = true;
    } else if (resp_arg_is(&x->argv[i], "DB") && i + 1 < x->argc) {
      int64_t db;
      if (!resp_parse_i64(x->argv[i + 1].ptr, x->argv[i + 1].len, &db)) {
        resp_error(imm(x->c), RESP_ERR_NOTINT);
        return;
      }
      if (db != 0) {
        resp_error(imm(x->c), "ERR DB index is out of range");
        return;
      }
      i++;
    } else {
      resp_error(imm(x->c), RESP_ERR_SYNTAX);
      return;
    }
  }
  const resp_arg *src = &x->argv[1], *dst = &x->argv[2];
  if (!check_key(x, src) || !check_key(x, dst)) return;
  if (copy && src->len == dst->len && !memcmp(src->ptr, dst->ptr, src->len)) {
    resp_error(imm(x->c), "ERR source and destination objects are the same");
    return;
  }
  rslot *sl = write_slot(x, copy ? K_COPY : nx ? K_RENAMENX : K_RENAME);
  if (!sl) return;
  node_req *r = kv_req(sl, STORE_CMD_KV_RENAME, src, dst->ptr, dst->len);
  if (r)
    r->cmd.u.kv.flags = (copy ? STORE_KV_KEEP : 0) |
                        (nx || (copy && !replace) ? STORE_KV_NX : 0);
  submit(x, sl, r);
}

/* GETEX key [EX s|PX ms|EXAT s|PXAT ms|PERSIST]: a GET, or with an option
 * one request of two commands in one entry, KV_GET then KV_EXPIRE. */
static void cmd_getex(rctx *x) {
  if (x->argc == 2) {
    cmd_get(x);
    return;
  }
  const resp_arg *k = &x->argv[1], *opt = &x->argv[2];
  uint64_t now = store_now_ms();
  bool persist = false;
  int64_t at = 0;
  if (x->argc == 3 && resp_arg_is(opt, "PERSIST")) {
    persist = true;
  } else if (x->argc == 4 &&
             (resp_arg_is(opt, "EX") || resp_arg_is(opt, "PX") ||
              resp_arg_is(opt, "EXAT") || resp_arg_is(opt, "PXAT"))) {
    bool ms = toupper((unsigned char)opt->ptr[0]) == 'P';
    int64_t v;
    if (!resp_parse_i64(x->argv[3].ptr, x->argv[3].len, &v)) {
      resp_error(imm(x->c), RESP_ERR_NOTINT);
      return;
    }
    if (v <= 0 || !resp_expire_at(v, ms ? 1 : 1000, opt->len == 4, now, &at)) {
      resp_error(imm(x->c), "ERR invalid expire time in 'getex' command");
      return;
    }
  } else {
    resp_error(imm(x->c), RESP_ERR_SYNTAX);
    return;
  }
  if (!check_key(x, k)) return;
  rslot *sl = write_slot(x, K_TGET);
  if (!sl) return;
  size_t head = 2 * sizeof(store_cmd);
  node_req *r = req_new(sl, NODE_OP_WRITE, head + k->len);
  if (r) {
    store_cmd *items = (store_cmd *)(void *)r->data;
    memcpy(r->data + head, k->ptr, k->len);
    store_slice key = {r->data + head, k->len};
    items[0] = (store_cmd){.type = STORE_CMD_KV_GET};
    items[1] = (store_cmd){.type = STORE_CMD_KV_EXPIRE};
    for (int i = 0; i < 2; i++) {
      items[i].u.kv.key = key;
      items[i].u.kv.now = now;
    }
    if (persist) items[1].u.kv.flags = STORE_KV_PERSIST;
    else items[1].u.kv.expire = at <= (int64_t)now ? 0 : (uint64_t)at;
    r->data_len = k->len;
    r->cmd = (store_cmd){.type = STORE_CMD_BATCH};
    r->cmd.u.batch.items = items;
    r->cmd.u.batch.count = 2;
  }
  submit(x, sl, r);
}
static void cmd_keys(rctx *x) { read_cmd(x, rd_keys); }
static void cmd_scan(rctx *x) { read_cmd(x, rd_scan); }
static void cmd_dbsize(rctx *x) { read_cmd(x, rd_dbsize); }

/* INFO is answered locally on any node (a follower describes itself). */
static void cmd_info(rctx *x) {
  rd_info(x->n, x->c, x->argv, x->argc, imm(x->c));
}


/* ---- MULTI / EXEC ------------------------------------------------------------- */


/* A read command inside EXEC: KV_GET requests in the transaction. */
static void rd_getrange(wire_node *n, rconn *c, resp_arg *argv, size_t argc,
                        core_buf *out);

static void txn_read(rctx *x, read_fn fn) {
  if (fn == rd_getrange) { /* one key, then the two indexes */
    rslot *sl = write_slot(x, K_TGETRANGE);
    if (!sl) return;
    resp_parse_i64(x->argv[2].ptr, x->argv[2].len, &sl->acc);
    int64_t end = 0;
    resp_parse_i64(x->argv[3].ptr, x->argv[3].len, &end);
    sl->tnow = (uint64_t)end;
    submit(x, sl, kv_req(sl, STORE_CMD_KV_GET, &x->argv[1], NULL, 0));
    return;
  }
  rkind kind = fn == rd_mget     ? K_TMGET
               : fn == rd_exists ? K_COUNT
               : fn == rd_strlen ? K_TSTRLEN
               : fn == rd_type   ? K_TTYPE
                                 : K_TTTL; /* rd_ttl, rd_expiretime */
  for (size_t i = 1; i < x->argc; i++)
    if (!check_key(x, &x->argv[i])) return;
  rslot *sl = write_slot(x, kind);
  uint64_t now = store_now_ms();
  if (kind == K_TMGET) resp_array(&sl->out, x->argc - 1);
  if (kind == K_TTTL) {
    sl->tnow = now;
    sl->acc = (toupper((unsigned char)x->argv[0].ptr[0]) == 'P') |
              (fn == rd_expiretime ? 2 : 0);
  }
  sl->pending++; /* held until every request is submitted */
  for (size_t i = 1; i < x->argc; i++) {
    node_req *r = kv_req(sl, STORE_CMD_KV_GET, &x->argv[i], NULL, 0);
    if (!r) {
      oom_reply(sl);
      break;
    }
    r->cmd.u.kv.now = now;
    submit(x, sl, r);
  }
  slot_complete(sl);
}

/* What may be queued: writes, the point reads and PING/ECHO.  KEYS, SCAN,
 * DBSIZE and INFO would need a view of the whole key space inside the
 * entry; the connection and server commands do not belong in it. */
static bool txn_allowed(const resp_cmd_def *d) {
  static const char *ok[] = {"get",  "mget",       "exists",      "strlen",
                             "type", "ttl",        "pttl",        "ping",
                             "echo", "touch",      "expiretime",  "pexpiretime",
                             "time", "getrange",   "substr"};
  if (d->flags & F_WRITE) return true;
  for (size_t i = 0; i < WIRE_ARRAY_SIZE(ok); i++)
    if (!strcmp(d->name, ok[i])) return true;
  return false;
}

static void put_varint(core_buf *b, size_t v, bool *oom) {
  char t[10];
  size_t k = 0;
  while (v >= 0x80) t[k++] = (char)(0x80 | (v & 0x7f)), v >>= 7;
  t[k++] = (char)v;
  if (core_buf_append(b, t, k)) *oom = true;
}

static size_t get_varint(const char **p) {
  size_t v = 0;
  for (unsigned sh = 0;; sh += 7) {
    unsigned char ch = (unsigned char)*(*p)++;
    v |= (size_t)(ch & 0x7f) << sh;
    if (!(ch & 0x80)) return v;
  }
}

static void multi_reset(rconn *c) {
  c->multi = c->multi_err = false;
  c->mq_n = 0;
  if (c->mq.cap > (64u << 10)) core_buf_free(&c->mq);
  c->mq.len = 0;
}

/* A command arriving between MULTI and EXEC: +QUEUED, or an error that
 * makes EXEC abort (as Redis: unknown command, wrong arity; here also what
 * cannot run inside a transaction, and anything on a follower). */
static void multi_queue(rconn *c, const resp_cmd_def *d, resp_arg *argv,
                        size_t argc) {
  wire_node *n = c->srv->n;
  if (!txn_allowed(d)) {
    resp_error(imm(c), "ERR '%s' inside MULTI is not supported (libwire "
               "transactions hold string reads and writes)", d->name);
    c->multi_err = true;
    return;
  }
  if (!is_leader(n)) {
    reply_moved(n, imm(c));
    c->multi_err = true;
    return;
  }
  size_t bytes = 10;
  for (size_t i = 0; i < argc; i++) bytes += argv[i].len + 10;
  if (c->mq.len + bytes > c->srv->max_buffered) {
    resp_error(imm(c), "ERR transaction of more than %zu bytes queued "
               "(the client query buffer limit)", c->srv->max_buffered);
    c->multi_err = true;
    return;
  }
  bool oom = false;
  size_t mark = c->mq.len;
  put_varint(&c->mq, argc, &oom);
  for (size_t i = 0; i < argc && !oom; i++) {
    put_varint(&c->mq, argv[i].len, &oom);
    if (!oom && core_buf_append(&c->mq, argv[i].ptr, argv[i].len)) oom = true;
  }
  if (oom) {
    c->mq.len = mark;
    resp_error(imm(c), "OOM out of memory");
    c->multi_err = true;
    return;
  }
  c->mq_n++;
  resp_simple(imm(c), "QUEUED");
}

static void cmd_multi(rctx *x) {
  if (x->c->multi) {
    resp_error(imm(x->c), "ERR MULTI calls can not be nested");
    return;
  }
  x->c->multi = true;
  resp_simple(imm(x->c), "OK");
}

static void watch_reset(rconn *c);

static void cmd_discard(rctx *x) {
  if (!x->c->multi) {
    resp_error(imm(x->c), "ERR DISCARD without MULTI");
    return;
  }
  multi_reset(x->c);
  watch_reset(x->c);
  resp_simple(imm(x->c), "OK");
}

static void watch_reset(rconn *c) {
  c->watch_n = 0;
  if (c->watch.cap > (64u << 10)) core_buf_free(&c->watch);
  c->watch.len = 0;
}

/* WATCH, run where reads run (lease, barrier, READONLY): remember what
 * each key holds now.  EXEC then checks in its entry that they still do. */
static void rd_watch(wire_node *n, rconn *c, resp_arg *argv, size_t argc,
                     core_buf *out) {
  size_t mark = c->watch.len, n0 = c->watch_n;
  bool oom = false;
  for (size_t i = 1; i < argc && !oom; i++) {
    n->enc.len = 0;
    int rc = store_fsm_get(n->fsm, (store_slice){argv[i].ptr, argv[i].len},
                           &n->enc);
    if (rc && rc != WIRE_ENOTFOUND) {
      c->watch.len = mark;
      c->watch_n = n0;
      resp_error(out, "ERR store: %s", store_fsm_errmsg(n->fsm));
      return;
    }
    size_t vl = rc ? 0 : n->enc.len;
    if (c->watch.len + argv[i].len + vl + 21 > c->srv->max_buffered) {
      c->watch.len = mark;
      c->watch_n = n0;
      resp_error(out, "ERR WATCH of more than %zu bytes of keys and values "
                 "(the client query buffer limit)", c->srv->max_buffered);
      return;
    }
    put_varint(&c->watch, argv[i].len, &oom);
    if (!oom && core_buf_append(&c->watch, argv[i].ptr, argv[i].len)) oom = true;
    if (!oom && core_buf_putc(&c->watch, rc ? 0 : 1)) oom = true;
    put_varint(&c->watch, vl, &oom);
    if (!oom && vl && core_buf_append(&c->watch, n->enc.data, vl)) oom = true;
    c->watch_n++;
  }
  if (oom) {
    c->watch.len = mark;
    c->watch_n = n0;
    resp_error(out, "OOM out of memory");
    return;
  }
  resp_simple(out, "OK");
}

static void cmd_watch(rctx *x) {
  if (x->c->multi) {
    resp_error(imm(x->c), "ERR WATCH inside MULTI is not allowed");
    return;
  }
  for (size_t i = 1; i < x->argc; i++)
    if (!check_key(x, &x->argv[i])) return;
  rslot *last = x->c->tail;
  read_cmd(x, rd_watch);
  rslot *sl = x->c->tail;
  if (sl && sl != last && sl->kind == K_CALL && sl->pending) {
    /* Behind a barrier: a pipelined EXEC must not run before it read. */
    sl->blocks = true;
    x->c->blocked = true;
  }
}

static void cmd_unwatch(rctx *x) {
  watch_reset(x->c);
  resp_simple(imm(x->c), "OK");
}

static void txn_free(rtxn *t) {
  for (size_t i = 0; i < t->n; i++)
    if (t->subs[i]) slot_free(t->subs[i]);
  for (size_t i = 0; i < t->nchk; i++) node_req_free(t->checks[i]);
  core_free(t->checks);
  core_free(t->subs);
  core_free(t->reqs);
  core_free(t);
}

/* All replies are in: the EXEC array, nil when a WATCHed key changed, or
 * the error that sank it all. */
static void txn_reply(rtxn *t, int rc, const char *err, bool aborted) {
  rslot *ex = t->exec;
  rconn *c = ex->c;
  if (!c->closing) {
    if (rc) {
      reply_failure(c->srv->n, &ex->out, rc, err);
    } else if (aborted) {
      resp_null_array(&ex->out);
    } else {
      resp_array(&ex->out, t->n);
      for (size_t i = 0; i < t->n; i++)
        if (core_buf_append(&ex->out, t->subs[i]->out.data,
                            t->subs[i]->out.len)) {
          ex->out.len = 0;
          resp_error(&ex->out, "OOM out of memory");
          break;
        }
    }
  }
  txn_free(t);
  slot_complete(ex);
}

/* The transaction's entry is applied (or failed): each captured request
 * gets its result, which its command formats into its element. */
static void txn_done(node_req *req, int rc, const store_result *res, size_t n,
                     const char *val, size_t vlen) {
  (void)val, (void)vlen;
  rtxn *t = req->ud;
  rconn *c = t->exec->c;
  bool aborted = false; /* a WATCHed key changed: nothing ran */
  for (size_t i = 0; i < t->nchk && !rc; i++)
    aborted |= i >= n || res[i].status != STORE_OK;
  size_t k = t->nchk;
  for (size_t i = 0; i < t->nreq; i++) {
    node_req *r = t->reqs[i];
    size_t m = node_req_ncmds(r);
    if (rc) {
      snprintf(r->err, sizeof r->err, "%s", req->err);
      r->done(r, rc, NULL, 0, NULL, 0);
    } else if (k + m <= n) {
      r->done(r, WIRE_OK, &res[k], m, NULL, 0);
      k += m;
    } else {
      snprintf(r->err, sizeof r->err, "no result for the command");
      r->done(r, WIRE_EIO, NULL, 0, NULL, 0);
    }
  }
  t->nreq = 0;
  txn_reply(t, rc, req->err, aborted);
  node_req_free(req);
  conn_unref(c);
}

static void cmd_exec(rctx *x) {
  rconn *c = x->c;
  wire_node *n = x->n;
  if (!c->multi) {
    resp_error(imm(c), "ERR EXEC without MULTI");
    return;
  }
  if (c->multi_err) {
    multi_reset(c);
    watch_reset(c);
    resp_error(imm(c), "EXECABORT Transaction discarded because of previous "
               "errors.");
    return;
  }
  if (!is_leader(n)) {
    multi_reset(c);
    watch_reset(c);
    reply_moved(n, imm(c));
    return;
  }
  rslot *ex = slot_new(c, K_EXEC);
  rtxn *t = ex ? core_calloc(1, sizeof *t) : NULL;
  if (t) t->subs = core_calloc(c->mq_n ? c->mq_n : 1, sizeof *t->subs);
  if (t && t->subs) {
    t->n = c->mq_n;
    for (size_t i = 0; i < t->n && t->subs; i++) {
      t->subs[i] = core_calloc(1, sizeof **t->subs);
      if (!t->subs[i]) t->oom = true;
      else t->subs[i]->c = c, t->subs[i]->kind = K_IMM;
    }
  }
  if (!ex || !t || !t->subs || t->oom) {
    if (t) txn_free(t);
    multi_reset(c);
    watch_reset(c);
    if (ex) {
      resp_error(&ex->out, "OOM out of memory");
      ex->pending = 1;
      slot_complete(ex);
    } else {
      resp_error(imm(c), "OOM out of memory");
    }
    return;
  }
  t->exec = ex;
  ex->pending = 1; /* completed by txn_reply */
  /* Run each queued command captured. */
  resp_arg argv_small[16], *argv = argv_small;
  size_t argv_cap = WIRE_ARRAY_SIZE(argv_small);
  const char *p = c->mq.data;
  c->tx = t;
  for (size_t i = 0; i < t->n; i++) {
    size_t argc = get_varint(&p);
    if (argc > argv_cap) {
      resp_arg *a = core_malloc(argc * sizeof *a);
      if (!a) {
        t->cur = i;
        resp_error(imm(c), "OOM out of memory");
        for (size_t j = 0; j < argc; j++) p += get_varint(&p);
        continue;
      }
      if (argv != argv_small) core_free(argv);
      argv = a;
      argv_cap = argc;
    }
    for (size_t j = 0; j < argc; j++) {
      argv[j].len = get_varint(&p);
      argv[j].ptr = p;
      p += argv[j].len;
    }
    t->cur = i;
    rctx y = {c, n, argv, argc};
    cmd_lookup(&argv[0])->fn(&y);
  }
  c->tx = NULL;
  if (argv != argv_small) core_free(argv);
  multi_reset(c);
  /* WATCHed keys: a KV_CHECK each, guarding everything after it. */
  uint64_t now = store_now_ms();
  if (c->watch_n) t->checks = core_calloc(c->watch_n, sizeof *t->checks);
  if (c->watch_n && !t->checks) t->oom = true;
  p = c->watch.data;
  for (size_t i = 0; i < c->watch_n && !t->oom; i++) {
    size_t kl = get_varint(&p);
    const char *key = p;
    p += kl;
    bool found = *p++;
    size_t vl = get_varint(&p);
    const char *val = p;
    p += vl;
    node_req *q = node_req_new(NODE_OP_WRITE, kl + vl);
    if (!q) {
      t->oom = true;
      break;
    }
    memcpy(q->data, key, kl);
    if (vl) memcpy(q->data + kl, val, vl);
    q->data_len = kl + vl;
    q->cmd = (store_cmd){.type = STORE_CMD_KV_CHECK};
    q->cmd.u.kv.key = (store_slice){q->data, kl};
    q->cmd.u.kv.value = (store_slice){q->data + kl, vl};
    q->cmd.u.kv.flags = found ? STORE_KV_EXISTS : 0;
    q->cmd.u.kv.now = now;
    q->cmd.u.kv.span = (c->watch_n - i - 1) + t->nreq;
    t->checks[t->nchk++] = q;
  }
  watch_reset(c);
  if (!t->nreq && !t->nchk && !t->oom) { /* nothing for the store (PING,
                                            errors only, empty) */
    txn_reply(t, WIRE_OK, NULL, false);
    return;
  }
  size_t bytes = 0, ncmds = t->nchk;
  for (size_t i = 0; i < t->nreq; i++) {
    bytes += t->reqs[i]->data_len;
    ncmds += node_req_ncmds(t->reqs[i]);
  }
  for (size_t i = 0; i < t->nchk; i++) bytes += t->checks[i]->data_len;
  node_req *r = node_req_new(NODE_OP_WRITE, ncmds * sizeof(store_cmd));
  if (!r) {
    txn_done_oom:
    for (size_t i = 0; i < t->nreq; i++) {
      node_req *q = t->reqs[i];
      snprintf(q->err, sizeof q->err, "out of memory");
      q->done(q, WIRE_ENOMEM, NULL, 0, NULL, 0);
    }
    t->nreq = 0;
    txn_reply(t, WIRE_ENOMEM, "out of memory", false);
    return;
  }
  if (t->oom) {
    node_req_free(r);
    goto txn_done_oom;
  }
  store_cmd *items = (store_cmd *)(void *)r->data;
  size_t k = 0;
  for (size_t i = 0; i < t->nchk; i++) items[k++] = t->checks[i]->cmd;
  for (size_t i = 0; i < t->nreq; i++) /* GETEX's pair inline */
    k += node_req_flatten(t->reqs[i], items + k);
  r->data_len = bytes; /* what the entry carries, for group commit's cap */
  r->cmd = (store_cmd){.type = STORE_CMD_BATCH};
  r->cmd.u.batch.items = items;
  r->cmd.u.batch.count = ncmds;
  r->done = txn_done;
  r->ud = t;
  r->deadline_ns =
      core_monotonic_ns() + (int64_t)n->cfg.request_timeout_ms * 1000000;
  c->refs++;
  node_dispatch(n, r);
}

#define W F_WRITE
#define R F_READ
static const resp_cmd_def COMMANDS[] = {
    {"append", 3, W, cmd_append, 1, 1, 1},
    {"auth", -2, F_FAST, cmd_auth, 0, 0, 0},
    {"client", -2, 0, cmd_client, 0, 0, 0},
    {"command", -1, 0, cmd_command, 0, 0, 0},
    {"config", -2, 0, cmd_config, 0, 0, 0},
    {"copy", -3, W, cmd_rename, 1, 2, 1},
    {"dbsize", 1, R, cmd_dbsize, 0, 0, 0},
    {"decr", 2, W | F_FAST, cmd_decr, 1, 1, 1},
    {"decrby", 3, W | F_FAST, cmd_incrby, 1, 1, 1},
    {"del", -2, W, cmd_del, 1, -1, 1},
    {"discard", 1, F_FAST, cmd_discard, 0, 0, 0},
    {"echo", 2, F_FAST, cmd_echo, 0, 0, 0},
    {"exec", 1, 0, cmd_exec, 0, 0, 0},
    {"exists", -2, R | F_FAST, cmd_exists, 1, -1, 1},
    {"expire", -3, W | F_FAST, cmd_expire, 1, 1, 1},
    {"expireat", -3, W | F_FAST, cmd_expire, 1, 1, 1},
    {"expiretime", 2, R | F_FAST, cmd_expiretime, 1, 1, 1},
    {"flushall", -1, W, cmd_flushdb, 0, 0, 0},
    {"flushdb", -1, W, cmd_flushdb, 0, 0, 0},
    {"get", 2, R | F_FAST, cmd_get, 1, 1, 1},
    {"getdel", 2, W | F_FAST, cmd_getdel, 1, 1, 1},
    {"getex", -2, W | F_FAST, cmd_getex, 1, 1, 1},
    {"getrange", 4, R, cmd_getrange, 1, 1, 1},
    {"getset", 3, W | F_FAST, cmd_getset, 1, 1, 1},
    {"hello", -1, F_FAST, cmd_hello, 0, 0, 0},
    {"incr", 2, W | F_FAST, cmd_incr, 1, 1, 1},
    {"incrby", 3, W | F_FAST, cmd_incrby, 1, 1, 1},
    {"incrbyfloat", 3, W | F_FAST, cmd_incrbyfloat, 1, 1, 1},
    {"info", -1, 0, cmd_info, 0, 0, 0},
    {"keys", 2, R, cmd_keys, 0, 0, 0},
    {"mget", -2, R | F_FAST, cmd_mget, 1, -1, 1},
    {"mset", -3, W, cmd_mset, 1, -1, 2},
    {"msetnx", -3, W, cmd_mset, 1, -1, 2},
    {"multi", 1, F_FAST, cmd_multi, 0, 0, 0},
    {"persist", 2, W | F_FAST, cmd_expire, 1, 1, 1},
    {"pexpire", -3, W | F_FAST, cmd_expire, 1, 1, 1},
    {"pexpireat", -3, W | F_FAST, cmd_expire, 1, 1, 1},
    {"pexpiretime", 2, R | F_FAST, cmd_expiretime, 1, 1, 1},
    {"ping", -1, F_FAST, cmd_ping, 0, 0, 0},
    {"psetex", 4, W, cmd_setex, 1, 1, 1},
    {"pttl", 2, R | F_FAST, cmd_ttl, 1, 1, 1},
    {"quit", -1, F_FAST, cmd_quit, 0, 0, 0},
    {"readonly", 1, F_FAST, cmd_readonly, 0, 0, 0},
    {"readwrite", 1, F_FAST, cmd_readwrite, 0, 0, 0},
    {"rename", 3, W, cmd_rename, 1, 2, 1},
    {"renamenx", 3, W | F_FAST, cmd_rename, 1, 2, 1},
    {"scan", -2, R, cmd_scan, 0, 0, 0},
    {"select", 2, F_FAST, cmd_select, 0, 0, 0},
    {"set", -3, W, cmd_set, 1, 1, 1},
    {"setex", 4, W, cmd_setex, 1, 1, 1},
    {"setnx", 3, W | F_FAST, cmd_setnx, 1, 1, 1},
    {"strlen", 2, R | F_FAST, cmd_strlen, 1, 1, 1},
    {"substr", 4, R, cmd_getrange, 1, 1, 1},
    {"time", 1, F_FAST, cmd_time, 0, 0, 0},
    {"touch", -2, R | F_FAST, cmd_exists, 1, -1, 1},
    {"ttl", 2, R | F_FAST, cmd_ttl, 1, 1, 1},
    {"type", 2, R | F_FAST, cmd_type, 1, 1, 1},
    {"unlink", -2, W | F_FAST, cmd_del, 1, -1, 1},
    {"unwatch", 1, F_FAST, cmd_unwatch, 0, 0, 0},
    {"watch", -2, F_FAST, cmd_watch, 1, -1, 1},
};
#undef W
#undef R

static size_t cmd_count(void) { return WIRE_ARRAY_SIZE(COMMANDS); }
static const resp_cmd_def *cmd_at(size_t i) { return &COMMANDS[i]; }

static const resp_cmd_def *cmd_lookup(const resp_arg *name) {
  size_t lo = 0, hi = WIRE_ARRAY_SIZE(COMMANDS);
  char lc[16];
  if (name->len >= sizeof lc) return NULL;
  for (size_t i = 0; i < name->len; i++)
    lc[i] = (char)tolower((unsigned char)name->ptr[i]);
  lc[name->len] = '\0';
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = strcmp(lc, COMMANDS[mid].name);
    if (!c) return &COMMANDS[mid];
    if (c < 0) hi = mid;
    else lo = mid + 1;
  }
  return NULL;
}

static void exec_command(rconn *c, resp_arg *argv, size_t argc) {
  resp_server *s = c->srv;
  s->n_commands++;
  const resp_cmd_def *cmd = cmd_lookup(&argv[0]);
  if (!c->authed && (!cmd || (cmd->fn != cmd_auth && cmd->fn != cmd_hello &&
                              cmd->fn != cmd_quit))) {
    resp_error(imm(c), "NOAUTH Authentication required.");
    c->multi_err = c->multi;
    return;
  }
  if (!cmd) {
    resp_unknown_command(imm(c), argv, argc);
    c->multi_err = c->multi;
    return;
  }
  if ((cmd->arity > 0 && argc != (size_t)cmd->arity) ||
      (cmd->arity < 0 && argc < (size_t)-cmd->arity)) {
    resp_error(imm(c), "ERR wrong number of arguments for '%s' command",
               cmd->name);
    c->multi_err = c->multi;
    return;
  }
  if (c->multi && cmd->fn != cmd_exec && cmd->fn != cmd_discard &&
      cmd->fn != cmd_multi && cmd->fn != cmd_watch && cmd->fn != cmd_quit) {
    multi_queue(c, cmd, argv, argc);
    return;
  }
  rctx x = {c, s->n, argv, argc};
  cmd->fn(&x);
}

/* ---- reading -------------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  rconn *c = h->data;
  *buf = uv_buf_init(c->srv->rbuf, sizeof c->srv->rbuf);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
  rconn *c = st->data;
  if (nread < 0) {
    conn_close(c);
    return;
  }
  if (nread == 0 || c->closing || c->quit) return;
  if (resp_parser_feed(&c->parser, buf->base, (size_t)nread)) {
    resp_error(imm(c), "OOM out of memory");
    c->quit = true;
    conn_flush(c);
    return;
  }
  c->refs++; /* a command may close the connection under us */
  conn_process(c);
  conn_flush(c);
  conn_unref(c);
}

/* Run the complete commands buffered in the parser (until a WATCH has to
 * wait for its read: `blocked`). */
static void conn_process(rconn *c) {
  resp_arg *argv;
  size_t argc;
  while (!c->closing && !c->quit && !c->blocked) {
    resp_rc rc = resp_parser_next(&c->parser, &argv, &argc);
    if (rc == RESP_NEED_MORE) break;
    if (rc == RESP_ERROR) {
      resp_error(imm(c), "%s", resp_parser_error(&c->parser));
      c->quit = true;
      break;
    }
    exec_command(c, argv, argc);
  }
  /* What the connection holds: the command being assembled (its complete
   * arguments are not "unparsed" but stay in the buffer) and the rest. */
  size_t held = c->parser.in.len;
  if (!c->closing && !c->quit && held > c->srv->max_buffered) {
    resp_error(imm(c),
               "ERR client query buffer of %zu bytes exceeds the limit of "
               "%zu bytes",
               held, c->srv->max_buffered);
    c->quit = true;
  }
  conn_drain(c);
}

static void on_connection(uv_stream_t *l, int status) {
  resp_server *s = l->data;
  if (status < 0 || s->closing) return;
  rconn *c = core_calloc(1, sizeof *c);
  if (!c) return;
  c->srv = s;
  c->refs = 1;
  c->id = ++s->next_id;
  c->authed = !s->n->cfg.resp_password;
  resp_parser_init(&c->parser, &s->lim);
  uv_tcp_init(l->loop, &c->tcp);
  c->tcp.data = c;
  s->refs++;
  s->n_conns++;
  s->n_connections++;
  c->next = s->conns;
  if (s->conns) s->conns->prev = c;
  s->conns = c;
  if (uv_accept(l, (uv_stream_t *)&c->tcp)) {
    conn_close(c);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  if (s->n_conns > s->n->cfg.resp_max_clients) { /* as redis-server does */
    s->n_rejected++;
    resp_error(&c->out, "ERR max number of clients reached");
    c->quit = true;
    conn_flush(c); /* writes it and closes */
    return;
  }
  conn_pace(c);
}

static void on_check(uv_check_t *h) {
  resp_server *s = h->data;
  rconn *c = s->flushq;
  s->flushq = NULL;
  uv_check_stop(h);
  while (c) {
    rconn *next = c->next_flush;
    c->queued = false;
    if (c->resume) {
      c->resume = false;
      conn_process(c);
    }
    conn_flush(c);
    conn_unref(c);
    c = next;
  }
}

/* ---- leader duties: our address, active expiry ----------------------------------- */

typedef struct bg_req {
  resp_server *s;
  bool expiry;
} bg_req;

static void bg_done(node_req *req, int rc, const store_result *res, size_t n,
                    const char *val, size_t vlen) {
  (void)val, (void)vlen;
  bg_req *b = req->ud;
  resp_server *s = b->s;
  if (b->expiry) {
    s->expiring--;
    if (!rc && n && res[0].status == STORE_OK) s->n_expired++;
  } else if (rc) {
    s->meta_term = 0; /* publish again at the next tick */
  }
  core_free(b);
  node_req_free(req);
  srv_unref(s);
}

static void bg_write(resp_server *s, const store_cmd *cmd, store_slice bytes,
                     bool expiry) {
  wire_node *n = s->n;
  bg_req *b = core_calloc(1, sizeof *b);
  node_req *r = node_req_new(NODE_OP_WRITE, bytes.len ? bytes.len : 1);
  if (!b || !r) {
    core_free(b);
    node_req_free(r);
    if (!expiry) s->meta_term = 0;
    return;
  }
  memcpy(r->data, bytes.ptr, bytes.len);
  r->data_len = bytes.len;
  r->cmd = *cmd;
  if (cmd->type == STORE_CMD_MEMBER_RESP)
    r->cmd.u.member.resp_addr = (store_slice){r->data, bytes.len};
  else
    r->cmd.u.kv.key = (store_slice){r->data, bytes.len};
  b->s = s;
  b->expiry = expiry;
  r->ud = b;
  r->done = bg_done;
  r->deadline_ns =
      core_monotonic_ns() + (int64_t)n->cfg.request_timeout_ms * 1000000;
  s->refs++;
  if (expiry) s->expiring++;
  node_dispatch(n, r);
}

typedef struct due_ctx {
  resp_server *s;
  uint64_t now;
} due_ctx;

static int due_cb(void *ud, store_slice key, store_slice value) {
  (void)value;
  due_ctx *d = ud;
  store_cmd cmd = {.type = STORE_CMD_KV_EXPIRED};
  cmd.u.kv.now = d->now;
  bg_write(d->s, &cmd, key, true);
  return 0;
}

static void on_timer(uv_timer_t *t) {
  resp_server *s = t->data;
  wire_node *n = s->n;
  if (s->closing || !is_leader(n)) return;
  if (s->meta_term != n->raft.current_term) {
    s->meta_term = n->raft.current_term;
    core_buf a = {0};
    bool same = store_fsm_member_resp(n->fsm, n->cfg.id, &a) == 0 &&
                a.len == strlen(n->resp_addr) &&
                !memcmp(a.data, n->resp_addr, a.len);
    core_buf_free(&a);
    if (!same) {
      store_cmd cmd = {.type = STORE_CMD_MEMBER_RESP};
      cmd.u.member.id = n->cfg.id;
      bg_write(s, &cmd, store_str(n->resp_addr), false);
    }
  }
  /* Active expiry: one round in flight at a time; the keys due are the
   * first records of the time index, so no sampling is needed. */
  if (!s->expiring) {
    due_ctx d = {s, store_now_ms()};
    store_fsm_due(n->fsm, d.now, RESP_EXPIRE_BATCH, due_cb, &d);
  }
}

/* ---- start / close ---------------------------------------------------------------- */

static void srv_handle_closed(uv_handle_t *h) { srv_unref(h->data); }

int node_resp_start(wire_node *n) {
  if (!n->cfg.resp_on) return WIRE_OK;
  const char *host = n->cfg.resp_host;
  int port = n->cfg.resp_port;
  struct sockaddr_storage sa;
  int rv = strchr(host, ':')
               ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&sa)
               : uv_ip4_addr(host, port, (struct sockaddr_in *)&sa);
  if (rv)
    return core_msg(n->errmsg, sizeof n->errmsg, WIRE_EINVAL,
                    "RESP server: listen address %s is not an IP address",
                    host);
  resp_server *s = core_calloc(1, sizeof *s);
  if (!s)
    return core_msg(n->errmsg, sizeof n->errmsg, WIRE_ENOMEM,
                    "RESP server: out of memory");
  s->n = n;
  s->started_ns = core_monotonic_ns();
  /* Cursors of an earlier run (or another node) are unlikely to be taken
   * for ours: start from the clock. */
  s->cursor_seq = (uint64_t)(core_now_ns() / 1000000 % 1000000) * 1000;
  resp_limits_default(&s->lim);
  s->lim.max_bulk = n->limits.value_max + 1024;
  s->max_buffered = 2 * n->limits.value_max + (1u << 20);
  uv_tcp_init(&n->loop, &s->listener);
  s->listener.data = s;
  uv_timer_init(&n->loop, &s->timer);
  s->timer.data = s;
  uv_check_init(&n->loop, &s->check);
  s->check.data = s;
  s->refs = 3;
  rv = uv_tcp_bind(&s->listener, (struct sockaddr *)&sa, 0);
  if (!rv) rv = uv_listen((uv_stream_t *)&s->listener, 511, on_connection);
  if (rv) {
    s->closing = true;
    uv_close((uv_handle_t *)&s->listener, srv_handle_closed);
    uv_close((uv_handle_t *)&s->timer, srv_handle_closed);
    uv_close((uv_handle_t *)&s->check, srv_handle_closed);
    return core_msg(n->errmsg, sizeof n->errmsg, WIRE_EIO,
                    "RESP server: cannot listen on %s:%d: %s", host, port,
                    uv_strerror(rv));
  }
  struct sockaddr_storage bound;
  int blen = sizeof bound;
  uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &blen);
  int bport = bound.ss_family == AF_INET6
                  ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                  : ntohs(((struct sockaddr_in *)&bound)->sin_port);
  n->cfg.resp_port = bport;
  snprintf(n->resp_addr, sizeof n->resp_addr, strchr(host, ':') ? "[%s]:%d"
                                                                 : "%s:%d",
           host, bport);
  uv_timer_start(&s->timer, on_timer, RESP_EXPIRE_TICK_MS,
                 RESP_EXPIRE_TICK_MS);
  n->resp = s;
  LOG(n, WIRE_LOG_INFO, "RESP server on %s", n->resp_addr);
  return WIRE_OK;
}

void node_resp_close(wire_node *n) {
  resp_server *s = n->resp;
  if (!s) return;
  n->resp = NULL;
  s->closing = true;
  while (s->conns) conn_close(s->conns);
  rconn *c = s->flushq; /* closed: nothing to flush, drop their refs */
  s->flushq = NULL;
  while (c) {
    rconn *next = c->next_flush;
    c->queued = false;
    conn_unref(c);
    c = next;
  }
  uv_close((uv_handle_t *)&s->listener, srv_handle_closed);
  uv_close((uv_handle_t *)&s->timer, srv_handle_closed);
  uv_close((uv_handle_t *)&s->check, srv_handle_closed);
}
