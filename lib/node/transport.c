/*
 * Raft transport: libraft's TCP transport with TCP_NODELAY on every
 * connection.
 *
 * libraft 0.15's TCP transport (raft_uv_tcp_init) never disables Nagle's
 * algorithm.  Raft sends small AppendEntries and their results back and
 * forth; with Nagle on, a message written while an earlier one is still
 * unacknowledged waits for the peer's delayed ACK, up to 40 ms on Linux.
 * That showed up as a p99 of about 42 ms for replicated writes in
 * bench/node_bench.py.  This wrapper implements struct raft_uv_transport by
 * delegating to the TCP transport and setting TCP_NODELAY on each stream
 * it accepts or connects, before raft sees it.
 */
#include <string.h>

#include "node/node_int.h"

static node_transport *of(struct raft_uv_transport *inner) {
  return inner->data;
}

static int tr_init(struct raft_uv_transport *t, raft_id id,
                   const char *address) {
  node_transport *nt = t->impl;
  int rv = nt->inner.init(&nt->inner, id, address);
  if (rv) memcpy(t->errmsg, nt->inner.errmsg, sizeof t->errmsg);
  return rv;
}

static void accept_wrap(struct raft_uv_transport *inner, raft_id id,
                        const char *address, struct uv_stream_s *stream) {
  node_transport *nt = of(inner);
  uv_tcp_nodelay((uv_tcp_t *)stream, 1);
  nt->accept_cb(&nt->outer, id, address, stream);
}

static int tr_listen(struct raft_uv_transport *t, raft_uv_accept_cb cb) {
  node_transport *nt = t->impl;
  nt->accept_cb = cb;
  int rv = nt->inner.listen(&nt->inner, accept_wrap);
  if (rv) memcpy(t->errmsg, nt->inner.errmsg, sizeof t->errmsg);
  return rv;
}

typedef struct connect_wrap {
  struct raft_uv_connect inner;
  struct raft_uv_connect *outer;
} connect_wrap;

static void connect_cb(struct raft_uv_connect *req, struct uv_stream_s *stream,
                       int status) {
  connect_wrap *w = req->data;
  struct raft_uv_connect *outer = w->outer;
  raft_free(w);
  if (status == 0 && stream) uv_tcp_nodelay((uv_tcp_t *)stream, 1);
  outer->cb(outer, stream, status);
}

static int tr_connect(struct raft_uv_transport *t, struct raft_uv_connect *req,
                      raft_id id, const char *address, raft_uv_connect_cb cb) {
  node_transport *nt = t->impl;
  connect_wrap *w = raft_malloc(sizeof *w);
  if (!w) return RAFT_NOMEM;
  w->inner.data = w;
  w->outer = req;
  req->cb = cb;
  int rv = nt->inner.connect(&nt->inner, &w->inner, id, address, connect_cb);
  if (rv) {
    memcpy(t->errmsg, nt->inner.errmsg, sizeof t->errmsg);
    raft_free(w);
  }
  return rv;
}

static void close_cb(struct raft_uv_transport *inner) {
  node_transport *nt = of(inner);
  if (nt->close_cb) nt->close_cb(&nt->outer);
}

static void tr_close(struct raft_uv_transport *t,
                     raft_uv_transport_close_cb cb) {
  node_transport *nt = t->impl;
  nt->close_cb = cb;
  nt->inner.close(&nt->inner, close_cb);
}

int node_transport_init(node_transport *nt, uv_loop_t *loop) {
  memset(nt, 0, sizeof *nt);
  int rv = raft_uv_tcp_init(&nt->inner, loop);
  if (rv) return rv;
  nt->inner.data = nt;
  nt->outer.impl = nt;
  nt->outer.init = tr_init;
  nt->outer.listen = tr_listen;
  nt->outer.connect = tr_connect;
  nt->outer.close = tr_close;
  return 0;
}

void node_transport_close(node_transport *nt) {
  raft_uv_tcp_close(&nt->inner);
}
