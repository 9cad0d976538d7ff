/*
 * Glue between libraft 0.15 and the store FSM: a struct raft_fsm, version
 * 2, whose methods call store_fsm_apply, store_snap_* and
 * store_fsm_restore.
 *
 * apply: raft does not pass the entry's index, but in 0.15
 * replicationApply() advances r->last_applied after each entry it applies
 * (commands, barriers and configuration changes alike) and restore sets it
 * to the snapshot's index, so inside apply the entry's index is
 * raft_last_applied(r) + 1.  The fixture test checks this against the
 * index raft gave each request.  The result handed to raft (and on the
 * leader to the request's raft_apply_cb, which raft calls synchronously
 * right after apply) points into the glue: valid only during that
 * callback.  Nothing is allocated per entry, so nothing leaks on followers,
 * where no callback takes it.
 *
 * apply failures (RocksDB error, entry from newer software) are returned to
 * raft, which then leaves last_applied where it is and retries the same
 * entry at its next apply round: the node stops applying rather than skip
 * an entry and diverge.
 *
 * Snapshots: `snapshot` serialises a pinned RocksDB view into buffers we
 * own (bufs[0] the header, then body chunks of 1 MiB) and
 * `snapshot_finalize` frees them once raft has stored them.  This runs on
 * the node thread.  Version 3 (`snapshot_async`, serialising on a worker
 * thread) would spare the loop, and store_snap is built for it, but 0.15's
 * backends declare io->version 1 (fixed upstream in 0.17), so raft_init
 * refuses a version 3 FSM unless the caller patches the io's version: not
 * worth it on a library version this old.  Measured here: 200,000 keys of
 * 100 bytes (23 MB) serialise in 0.13 s (about 180 MB/s, the bytewise
 * CRC-32C is a good part of it) and restore in 0.4 s: fine for the sizes
 * this store holds (metadata, checkpoints), to revisit for large ones.
 *
 * restore: on success the FSM owns buf->base and must raft_free it; on
 * failure raft keeps it (DEPENDENCIES.md).
 */
#include <raft.h>
#include <string.h>

#include "store.h"

#define CHUNK_SIZE (1u << 20)

struct store_raft_fsm {
  struct raft_fsm vt;
  store_fsm *fsm;
  struct raft *raft;
  store_apply_result last;
  uint64_t restores; /* snapshots that replaced the state */
};

static int to_raft(int rc) {
  switch (rc) {
    case WIRE_OK:
      return 0;
    case WIRE_ENOMEM:
      return RAFT_NOMEM;
    case WIRE_ECORRUPT:
    case WIRE_EPARSE:
      return RAFT_CORRUPT;
    case WIRE_EUNSUPPORTED:
      return RAFT_MALFORMED;
    default:
      return RAFT_IOERR;
  }
}

static int fsm_apply(struct raft_fsm *vt, const struct raft_buffer *buf,
                     void **result) {
  store_raft_fsm *g = vt->data;
  if (!g->raft) return RAFT_INVALID; /* store_raft_fsm_bind() missing */
  uint64_t index = raft_last_applied(g->raft) + 1;
  const store_result *res;
  size_t n;
  int rc = store_fsm_apply(g->fsm, index, buf->base, buf->len, &res, &n);
  if (rc) {
    *result = NULL;
    return to_raft(rc);
  }
  g->last.index = index;
  g->last.res = res;
  g->last.n = n;
  *result = &g->last;
  return 0;
}

/* Collects the body in chunks of CHUNK_SIZE after a header buffer. */
typedef struct collector {
  struct raft_buffer *bufs;
  unsigned n, cap;
  size_t used; /* bytes used in the last chunk */
} collector;

static void collector_free(collector *c) {
  for (unsigned i = 0; i < c->n; i++) core_free(c->bufs[i].base);
  core_free(c->bufs);
  memset(c, 0, sizeof *c);
}

static int collector_add(collector *c, size_t size) {
  if (c->n == c->cap) {
    unsigned cap = c->cap ? c->cap * 2 : 8;
    struct raft_buffer *b = core_realloc(c->bufs, cap * sizeof *b);
    if (!b) return WIRE_ENOMEM;
    c->bufs = b;
    c->cap = cap;
  }
  void *p = core_malloc(size);
  if (!p) return WIRE_ENOMEM;
  c->bufs[c->n].base = p;
  c->bufs[c->n].len = 0;
  c->n++;
  c->used = 0;
  return WIRE_OK;
}

static int collector_write(void *ctx, const void *p, size_t n) {
  collector *c = ctx;
  while (n) {
    struct raft_buffer *last = &c->bufs[c->n - 1];
    if (c->n == 1 || last->len == CHUNK_SIZE) {
      int rc = collector_add(c, CHUNK_SIZE);
      if (rc) return rc;
      last = &c->bufs[c->n - 1];
    }
    size_t k = WIRE_MIN(n, CHUNK_SIZE - last->len);
    memcpy((char *)last->base + last->len, p, k);
    last->len += k;
    p = (const char *)p + k;
    n -= k;
  }
  return WIRE_OK;
}

static int fsm_snapshot(struct raft_fsm *vt, struct raft_buffer *bufs[],
                        unsigned *n_bufs) {
  store_raft_fsm *g = vt->data;
  collector c = {0};
  store_snap *snap = NULL;
  *bufs = NULL;
  *n_bufs = 0;
  int rc = store_snap_begin(g->fsm, &snap);
  if (!rc) rc = collector_add(&c, STORE_SNAP_HEADER_SIZE);
  if (!rc) rc = store_snap_write(snap, collector_write, &c, c.bufs[0].base);
  store_snap_end(snap);
  if (rc) {
    collector_free(&c);
    return to_raft(rc);
  }
  c.bufs[0].len = STORE_SNAP_HEADER_SIZE;
  *bufs = c.bufs;
  *n_bufs = c.n;
  return 0;
}

static int fsm_snapshot_finalize(struct raft_fsm *vt,
                                 struct raft_buffer *bufs[], unsigned *n_bufs) {
  (void)vt;
  if (*bufs) {
    collector c = {*bufs, *n_bufs, *n_bufs, 0};
    collector_free(&c);
  }
  *bufs = NULL;
  *n_bufs = 0;
  return 0;
}

static int fsm_restore(struct raft_fsm *vt, struct raft_buffer *buf) {
  store_raft_fsm *g = vt->data;
  bool skipped;
  int rc = store_fsm_restore(g->fsm, buf->base, buf->len, &skipped);
  if (rc) return to_raft(rc);
  if (!skipped) g->restores++;
  raft_free(buf->base); /* ours on success (DEPENDENCIES.md) */
  buf->base = NULL;
  return 0;
}

uint64_t store_raft_fsm_restores(const store_raft_fsm *g) {
  return g->restores;
}

int store_raft_fsm_new(store_fsm *fsm, store_raft_fsm **out) {
  store_raft_fsm *g = core_calloc(1, sizeof *g);
  *out = g;
  if (!g) return WIRE_ENOMEM;
  g->fsm = fsm;
  g->vt.version = 2;
  g->vt.data = g;
  g->vt.apply = fsm_apply;
  g->vt.snapshot = fsm_snapshot;
  g->vt.restore = fsm_restore;
  g->vt.snapshot_finalize = fsm_snapshot_finalize;
  g->vt.snapshot_async = NULL; /* see the top of the file */
  return WIRE_OK;
}

struct raft_fsm *store_raft_fsm_vtable(store_raft_fsm *g) {
  return &g->vt;
}

void store_raft_fsm_bind(store_raft_fsm *g, struct raft *r) { g->raft = r; }

void store_raft_fsm_free(store_raft_fsm *g) { core_free(g); }

int store_raft_encode(const store_cmd *cmd, const store_limits *lim,
                      struct raft_buffer *out, char *err, size_t errsz) {
  out->base = NULL;
  out->len = 0;
  size_t size = store_cmd_encoded_size(cmd);
  core_buf b = {0};
  if (size) {
    b.data = raft_malloc(size);
    if (!b.data) return core_msg(err, errsz, WIRE_ENOMEM, "out of memory");
    b.cap = size;
  }
  /* With cap == the exact size, encode never reallocates: the memory stays
   * raft_malloc's, as raft_apply requires. */
  char *mem = b.data;
  int rc = store_cmd_encode(cmd, lim, &b, err, errsz);
  if (rc || b.data != mem || b.len != size) {
    if (b.data != mem) core_buf_free(&b);
    raft_free(mem);
    return rc ? rc
              : core_msg(err, errsz, WIRE_EINVAL, "encoding size mismatch");
  }
  out->base = b.data;
  out->len = b.len;
  return WIRE_OK;
}
