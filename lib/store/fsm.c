/*
 * State machine of the replicated store, on RocksDB.  raft hands it
 * committed entries in log order; it applies each one to the column
 * families and answers reads of the local state.
 *
 * The one rule everything rests on (DESIGN.md §3): the effects of an entry
 * and the new applied index are written in ONE RocksDB write batch.  Hence
 *   - a restart reads the applied index back and knows exactly which
 *     entries the state holds; raft replays its log from its last snapshot
 *     and apply() skips every index at or below the applied one, so nothing
 *     is applied twice (INCRBY stays correct) and nothing is lost;
 *   - a crash between raft committing an entry and the FSM applying it is
 *     harmless: the entry is in the raft log and is applied on replay;
 *   - writes need no fsync (see rocks.c): the raft log is the durable record.
 *
 * Commands of one entry (a BATCH from group commit) go into a write batch
 * with an index, so that a command reads what an earlier command of the
 * same entry wrote (two INCRBY of one key in one batch).  Results are kept
 * in an FSM-owned array, one per command, until the next apply.
 *
 * Semantics of the commands are in the handler table below.  All of them
 * are deterministic functions of the previous state and the entry: every
 * node computes the same state.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rocks.h"

/* ---- helpers
 * ---------------------------------------------------------------------- */

static int fsm_fail(store_fsm *f, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fsm_fail(store_fsm *f, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  core_vmsg(f->err, sizeof f->err, code, fmt, ap);
  va_end(ap);
  core_logf(f->log, WIRE_LOG_ERROR, "store", "%s", f->err);
  return code;
}

/* ---- the write log of an entry ---------------------------------------------
 *
 * The writes of the entry being applied go to a log (f->wlog) with a hash
 * index of the last write per (family, key) (f->wslots).  Reads during the
 * entry look there first, then in RocksDB, so a command sees the writes of
 * the commands before it.  At the end only the last write per key goes to
 * RocksDB, in one write batch with the applied index: an entry may write
 * one key many times (800 pipelined SETs of one key) and each version
 * would be a memtable insert, the most expensive step of apply.  The
 * resulting state is the same.  (A RocksDB WriteBatchWithIndex did the
 * reads before: its skip-list index cost a second sorted insert per write
 * and a skip-list search per read, which the hash index does not.) */

typedef struct wrec {
  uint32_t klen, vlen;
  uint8_t cf, del;
  uint8_t seen; /* batch_keys: also found in RocksDB */
} wrec;

static void wlog_reset(store_fsm *f) {
  f->wlog.len = 0;
  f->wlog_failed = false;
  if (f->wn) memset(f->wslots, 0, f->wcap * sizeof *f->wslots);
  f->wn = 0;
  if (f->wcap > 65536) { /* after a huge entry: do not keep clearing it */
    core_free(f->wslots);
    f->wslots = NULL;
    f->wcap = 0;
  }
}

static const wrec *wlog_at(const store_fsm *f, size_t off, const char **k) {
  const wrec *r = (const wrec *)(const void *)(f->wlog.data + off);
  *k = f->wlog.data + off + sizeof *r;
  return r;
}

static bool wlog_grow(store_fsm *f) {
  size_t cap = f->wcap ? 2 * f->wcap : 256;
  size_t *s = core_calloc(cap, sizeof *s);
  if (!s) return false;
  for (size_t i = 0; i < f->wcap; i++) {
    if (!f->wslots[i]) continue;
    const char *k;
    const wrec *r = wlog_at(f, f->wslots[i] - 1, &k);
    size_t h = (size_t)core_hash64(k, r->klen, r->cf) & (cap - 1);
    while (s[h]) h = (h + 1) & (cap - 1);
    s[h] = f->wslots[i];
  }
  core_free(f->wslots);
  f->wslots = s;
  f->wcap = cap;
  return true;
}

/* The last write of (cf, k) in this entry, or NULL. */
static wrec *wlog_find(const store_fsm *f, int cf, const char *k,
                       size_t klen) {
  if (!f->wn) return NULL;
  size_t h = (size_t)core_hash64(k, klen, (uint64_t)cf) & (f->wcap - 1);
  for (;; h = (h + 1) & (f->wcap - 1)) {
    if (!f->wslots[h]) return NULL;
    const char *ok;
    const wrec *o = wlog_at(f, f->wslots[h] - 1, &ok);
    if (o->cf == cf && o->klen == klen && !memcmp(ok, k, klen))
      return (wrec *)o;
  }
}

static void wlog_add(store_fsm *f, int cf, store_slice k, store_slice v,
                     bool del) {
  if (f->wlog_failed) return;
  if (k.len > UINT32_MAX || v.len > UINT32_MAX ||
      ((f->wn + 1) * 2 > f->wcap && !wlog_grow(f)))
    goto fail;
  size_t off = (f->wlog.len + 7) & ~(size_t)7; /* records stay aligned */
  wrec r = {(uint32_t)k.len, del ? 0 : (uint32_t)v.len, (uint8_t)cf, del, 0};
  if (core_buf_reserve(&f->wlog, off - f->wlog.len + sizeof r + k.len +
                                     r.vlen))
    goto fail;
  f->wlog.len = off;
  core_buf_append(&f->wlog, &r, sizeof r);
  if (k.len) core_buf_append(&f->wlog, k.ptr, k.len);
  if (r.vlen) core_buf_append(&f->wlog, v.ptr, r.vlen);
  size_t h = (size_t)core_hash64(k.ptr, k.len, (uint64_t)cf) & (f->wcap - 1);
  for (;; h = (h + 1) & (f->wcap - 1)) {
    if (!f->wslots[h]) {
      f->wn++;
      break;
    }
    const char *ok;
    const wrec *o = wlog_at(f, f->wslots[h] - 1, &ok);
    if (o->cf == cf && o->klen == k.len && !memcmp(ok, k.ptr, k.len)) break;
  }
  f->wslots[h] = off + 1;
  return;
fail:
  f->wlog_failed = true;
}

static void wb_put(store_fsm *f, int cf, store_slice k, store_slice v) {
  wlog_add(f, cf, k, v, false);
}

static void wb_del(store_fsm *f, int cf, store_slice k) {
  wlog_add(f, cf, k, (store_slice){NULL, 0}, true);
}

/* Drop the entry's writes. */
static void batch_clear(store_fsm *f) { wlog_reset(f); }

#define WLOG_OOM "apply: out of memory (write log)"
/* How often a failed store tries to reopen RocksDB. */
#define STORE_REOPEN_NS 1000000000

/* Read `key` of family `cf` as the entry being applied sees it (its own
 * earlier writes included).  *found false when absent. */
static int wb_get(store_fsm *f, int cf, store_slice key, core_buf *out,
                  bool *found) {
  /* A write the log could not take would be invisible: the entry fails
   * (and raft applies it again later). */
  if (f->wlog_failed) return fsm_fail(f, WIRE_ENOMEM, WLOG_OOM);
  const wrec *r = wlog_find(f, cf, key.ptr, key.len);
  out->len = 0;
  if (r) {
    *found = !r->del;
    if (*found && core_buf_append(out, (const char *)(r + 1) + r->klen,
                                  r->vlen))
      return fsm_fail(f, WIRE_ENOMEM, "apply: out of memory");
    return WIRE_OK;
  }
  char err[256];
  int rc = store_rocks_get(&f->rk, cf, NULL, key, out, err, sizeof err);
  *found = rc == WIRE_OK;
  if (rc == WIRE_ENOTFOUND) return WIRE_OK;
  if (rc) return fsm_fail(f, rc, "%s", err);
  return WIRE_OK;
}

/* The keys of family `cf` starting with `prefix` as the entry sees them
 * (RocksDB's, less those the entry deleted, plus those it wrote), into
 * f->tmp as (size_t length, bytes) pairs, in no particular order. */
static int batch_keys(store_fsm *f, int cf, store_slice prefix) {
  if (f->wlog_failed) return fsm_fail(f, WIRE_ENOMEM, WLOG_OOM);
  f->tmp.len = 0;
  int rc = WIRE_OK;
  rocksdb_iterator_t *it =
      rocksdb_create_iterator_cf(f->rk.db, f->rk.ro, f->rk.cf[cf]);
  for (rocksdb_iter_seek(it, prefix.ptr, prefix.len);
       !rc && rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
    size_t kl;
    const char *k = rocksdb_iter_key(it, &kl);
    if (kl < prefix.len || memcmp(k, prefix.ptr, prefix.len)) break;
    wrec *r = wlog_find(f, cf, k, kl);
    if (r) r->seen = 1;
    if (r && r->del) continue;
    if (core_buf_append(&f->tmp, &kl, sizeof kl) ||
        core_buf_append(&f->tmp, k, kl))
      rc = fsm_fail(f, WIRE_ENOMEM, "apply: out of memory");
  }
  char *rerr = NULL;
  rocksdb_iter_get_error(it, &rerr);
  rocksdb_iter_destroy(it);
  if (rerr && !rc) rc = fsm_fail(f, WIRE_EIO, "rocksdb iterate: %s", rerr);
  rocksdb_free(rerr);
  /* Then what the entry wrote that RocksDB does not have yet. */
  for (size_t i = 0; i < f->wcap; i++) {
    if (!f->wslots[i]) continue;
    const char *k;
    wrec *r = (wrec *)wlog_at(f, f->wslots[i] - 1, &k);
    bool seen = r->seen;
    r->seen = 0;
    if (rc || seen || r->del || r->cf != cf || r->klen < prefix.len ||
        memcmp(k, prefix.ptr, prefix.len))
      continue;
    size_t kl = r->klen;
    if (core_buf_append(&f->tmp, &kl, sizeof kl) ||
        core_buf_append(&f->tmp, k, kl))
      rc = fsm_fail(f, WIRE_ENOMEM, "apply: out of memory");
  }
  return rc;
}

/* Delete the keys of `cf` starting with `prefix` (as the entry sees them);
 * *count of them. */
static int batch_delete_prefix(store_fsm *f, int cf, store_slice prefix,
                               int64_t *count) {
  int rc = batch_keys(f, cf, prefix);
  if (rc) return rc;
  *count = 0;
  for (size_t off = 0; off < f->tmp.len; (*count)++) {
    size_t kl;
    memcpy(&kl, f->tmp.data + off, sizeof kl);
    off += sizeof kl;
    wb_del(f, cf, (store_slice){f->tmp.data + off, kl});
    off += kl;
  }
  return WIRE_OK;
}

static store_slice buf_slice(const core_buf *b) {
  return (store_slice){b->data ? b->data : "", b->len};
}

static bool slice_eq(store_slice a, const core_buf *b) {
  return a.len == b->len && (a.len == 0 || !memcmp(a.ptr, b->data, a.len));
}

/* ---- command handlers
 * --------------------------------------------------------------
 *
 * Each handler adds its writes to the write log and fills *res.  A negative return
 * means a storage failure: the whole entry is abandoned. */

typedef int (*apply_fn)(store_fsm *f, const store_cmd *c, store_result *res);

/* PUT: set key to value.  Always OK. */
static int exp_clear(store_fsm *f, store_slice key);

/* PUT: set key to value (and drop its expiry).  Always OK. */
static int apply_put(store_fsm *f, const store_cmd *c, store_result *res) {
  int rc = exp_clear(f, c->u.put.key);
  if (rc) return rc;
  wb_put(f, STORE_CF_KV, c->u.put.key, c->u.put.value);
  res->status = STORE_OK;
  return WIRE_OK;
}

/* DELETE: OK when the key existed (and is now gone), NOTFOUND otherwise. */
static int apply_delete(store_fsm *f, const store_cmd *c, store_result *res) {
  bool found;
  int rc = wb_get(f, STORE_CF_KV, c->u.del.key, &f->val, &found);
  if (rc) return rc;
  if (found) wb_del(f, STORE_CF_KV, c->u.del.key);
  if (found && (rc = exp_clear(f, c->u.del.key))) return rc;
  res->status = found ? STORE_OK : STORE_NOTFOUND;
  return WIRE_OK;
}

/* CAS: compare the current value with `expected` (given) or with absence
 * (not given); on a match store `value` (given) or delete the key (not
 * given) and answer OK, otherwise change nothing and answer MISMATCH. */
static int apply_cas(store_fsm *f, const store_cmd *c, store_result *res) {
  bool found;
  int rc = wb_get(f, STORE_CF_KV, c->u.cas.key, &f->val, &found);
  if (rc) return rc;
  bool match = (c->u.cas.flags & STORE_CAS_EXPECTED)
                   ? found && slice_eq(c->u.cas.expected, &f->val)
                   : !found;
  if (!match) {
    res->status = STORE_MISMATCH;
    return WIRE_OK;
  }
  if ((rc = exp_clear(f, c->u.cas.key))) return rc;
  if (c->u.cas.flags & STORE_CAS_NEW)
    wb_put(f, STORE_CF_KV, c->u.cas.key, c->u.cas.value);
  else if (found)
    wb_del(f, STORE_CF_KV, c->u.cas.key);
  res->status = STORE_OK;
  return WIRE_OK;
}

/* Pipeline records: see store_pipeline in store.h. */
#define PIPE_REC_VERSION 1
#define PIPE_REC_HEADER 10

static int pipe_rec_parse(store_slice name, const char *p, size_t n,
                          store_pipeline *out) {
  if (n < PIPE_REC_HEADER || (unsigned char)p[0] != PIPE_REC_VERSION)
    return WIRE_ECORRUPT;
  out->name = name;
  out->paused = (p[1] & STORE_PIPE_PAUSED) != 0;
  out->generation = store_be64_get(p + 2);
  out->definition = (store_slice){p + PIPE_REC_HEADER, n - PIPE_REC_HEADER};
  return WIRE_OK;
}

static int pipe_rec_build(core_buf *b, bool paused, uint64_t gen,
                          store_slice def) {
  char h[PIPE_REC_HEADER];
  h[0] = PIPE_REC_VERSION;
  h[1] = paused ? STORE_PIPE_PAUSED : 0;
  store_be64_put(h + 2, gen);
  b->len = 0;
  if (core_buf_append(b, h, sizeof h) ||
      core_buf_append(b, def.ptr ? def.ptr : "", def.len))
    return WIRE_ENOMEM;
  return WIRE_OK;
}

/* PIPELINE_PUT: create (generation 1, running) or replace the definition
 * (next generation, paused state kept); value = the new generation. */
static int apply_pipeline_put(store_fsm *f, const store_cmd *c,
                              store_result *res) {
  bool found;
  int rc =
      wb_get(f, STORE_CF_PIPELINES, c->u.pipeline_put.name, &f->val, &found);
  if (rc) return rc;
  if (found && c->type == STORE_CMD_PIPELINE_CREATE) {
    res->status = STORE_MISMATCH;
    return WIRE_OK;
  }
  store_pipeline old = {0};
  if (found &&
      pipe_rec_parse(c->u.pipeline_put.name, f->val.data, f->val.len, &old))
    old = (store_pipeline){0}; /* unreadable record: start over */
  uint64_t gen = old.generation + 1;
  if (pipe_rec_build(&f->tmp, old.paused, gen, c->u.pipeline_put.definition))
    return fsm_fail(f, WIRE_ENOMEM, "apply: out of memory");
  wb_put(f, STORE_CF_PIPELINES, c->u.pipeline_put.name, buf_slice(&f->tmp));
  f->pipes_version++;
  res->status = STORE_OK;
  res->value = (int64_t)gen;
  return WIRE_OK;
}

/* PIPELINE_STATE: pause or resume; the generation grows either way, so a
 * resume also restarts a runner that failed.  NOTFOUND if no such
 * pipeline. */
static int apply_pipeline_state(store_fsm *f, const store_cmd *c,
                                store_result *res) {
  bool found;
  store_slice name = c->u.pipeline_state.name;
  int rc = wb_get(f, STORE_CF_PIPELINES, name, &f->val, &found);
  if (rc) return rc;
  store_pipeline old;
  if (!found) {
    res->status = STORE_NOTFOUND;
    return WIRE_OK;
  }
  if (pipe_rec_parse(name, f->val.data, f->val.len, &old)) {
    res->status = STORE_INVALID;
    return WIRE_OK;
  }
  if (pipe_rec_build(&f->tmp, c->u.pipeline_state.paused != 0,
                     old.generation + 1, old.definition))
    return fsm_fail(f, WIRE_ENOMEM, "apply: out of memory");
  wb_put(f, STORE_CF_PIPELINES, name, buf_slice(&f->tmp));
  f->pipes_version++;
  res->status = STORE_OK;
  res->value = (int64_t)(old.generation + 1);
  return WIRE_OK;
}

/* PIPELINE_DELETE: remove the definition and the pipeline's checkpoint
 * positions (a pipeline created again under that name starts afresh).  The
 * term fence stays, so that a deposed leader cannot resurrect positions.
 * NOTFOUND when no such definition (positions are cleared anyway). */
static int apply_pipeline_delete(store_fsm *f, const store_cmd *c,
                                 store_result *res) {
  bool found;
  store_slice name = c->u.pipeline_delete.name;
  int rc = wb_get(f, STORE_CF_PIPELINES, name, &f->val, &found);
  if (rc) return rc;
  if (found) wb_del(f, STORE_CF_PIPELINES, name);
  f->pipes_version++;

  if (store_ckpt_key(&f->key, name, STORE_CKPT_POS, (store_slice){NULL, 0}))
    return fsm_fail(f, WIRE_ENOMEM, "apply: out of memory");
  int64_t gone;
  rc = batch_delete_prefix(f, STORE_CF_CHECKPOINTS, buf_slice(&f->key), &gone);
  if (rc) return rc;
  res->status = found ? STORE_OK : STORE_NOTFOUND;
  return WIRE_OK;
}

/* CHECKPOINT: store the position of (pipeline, source) with its term,
 * unless the term is older than the newest term accepted for the pipeline:
 * then FENCED (value = that term).  A deposed leader's runner proposes
 * with its old term and is refused once the new leader has checkpointed. */
static int apply_checkpoint(store_fsm *f, const store_cmd *c,
                            store_result *res) {
  const store_slice pipe = c->u.checkpoint.pipeline;
  uint64_t term = c->u.checkpoint.term;
  if (store_ckpt_key(&f->key, pipe, STORE_CKPT_FENCE, (store_slice){NULL, 0}))
    return fsm_fail(f, WIRE_ENOMEM, "apply: out of memory");
  bool found;
  int rc = wb_get(f, STORE_CF_CHECKPOINTS, buf_slice(&f->key), &f->val, &found);
  if (rc) return rc;
  uint64_t fence = found && f->val.len == 8 ? store_be64_get(f->val.data) : 0;
  if (term < fence) {
    res->status = STORE_FENCED;
    res->value = (int64_t)fence;
    return WIRE_OK;
  }
  char be[8];
  store_be64_put(be, term);
  if (term > fence || !found)
    wb_put(f, STORE_CF_CHECKPOINTS, buf_slice(&f->key), (store_slice){be, 8});

  if (store_ckpt_key(&f->key, pipe, STORE_CKPT_POS, c->u.checkpoint.source))
    return fsm_fail(f, WIRE_ENOMEM, "apply: out of memory");
  f->val.len = 0;
  if (core_buf_append(&f->val, be, 8) ||
      core_buf_append(
          &f->val,
          c->u.checkpoint.position.ptr ? c->u.checkpoint.position.ptr : "",
          c->u.checkpoint.position.len))
    return fsm_fail(f, WIRE_ENOMEM, "apply: out of memory");
  wb_put(f, STORE_CF_CHECKPOINTS, buf_slice(&f->key), buf_slice(&f->val));
  res->status = STORE_OK;
  return WIRE_OK;
}

static int member_key(core_buf *out, uint64_t id) {
  out->len = 0;
  char be[8];
  store_be64_put(be, id);
  if (core_buf_append(out, STORE_META_MEMBER, strlen(STORE_META_MEMBER)) ||
      core_buf_append(out, be, 8))
    return WIRE_ENOMEM;
  return WIRE_OK;
}

static int put_varbytes(core_buf *b, store_slice s) {
  char v[10];
  size_t n = 0;
  uint64_t x = s.len;
  while (x >= 0x80) {
    v[n++] = (char)(0x80 | (x & 0x7f));
    x >>= 7;
  }
  v[n++] = (char)x;
  if (core_buf_append(b, v, n)) return WIRE_ENOMEM;
  return s.len ? core_buf_append(b, s.ptr, s.len) : WIRE_OK;
}

/* MEMBER_META: record a member's addresses (both empty: forget it). */
static int apply_member(store_fsm *f, const store_cmd *c, store_result *res) {
  if (member_key(&f->key, c->u.member.id))
    return fsm_fail(f, WIRE_ENOMEM, "apply: out of memory");
  if (c->u.member.raft_addr.len == 0 && c->u.member.http_addr.len == 0) {
    wb_del(f, STORE_CF_META, buf_slice(&f->key));
  } else {
    f->val.len = 0;
    if (put_varbytes(&f->val, c->u.member.raft_addr) ||
        put_varbytes(&f->val, c->u.member.http_addr))
      return fsm_fail(f, WIRE_ENOMEM, "apply: out of memory");
    wb_put(f, STORE_CF_META, buf_slice(&f->key), buf_slice(&f->val));
  }
  res->status = STORE_OK;
  return WIRE_OK;
}

/* ---- expiry records and kv commands -------------------------------------- */

uint64_t store_now_ms(void) { return (uint64_t)(core_now_ns() / 1000000); }

/* 'k' key, or 't' BE64(ms) key, into b. */
static int exp_rec_key(core_buf *b, char tag, uint64_t ms, store_slice key) {
  b->len = 0;
  char h[9];
  h[0] = tag;
  size_t hl = 1;
  if (tag == STORE_EXP_TIME) {
    store_be64_put(h + 1, ms);
    hl = 9;
  }
  if (core_buf_append(b, h, hl) ||
      (key.len && core_buf_append(b, key.ptr, key.len)))
    return WIRE_ENOMEM;
  return WIRE_OK;
}

/* Expiry of `key` as the entry being applied sees it (0: none). */
static int exp_get(store_fsm *f, store_slice key, uint64_t *ms) {
  *ms = 0;
  if (!f->has_exp) return WIRE_OK;
  if (exp_rec_key(&f->ekey, STORE_EXP_KEY, 0, key))
    return fsm_fail(f, WIRE_ENOMEM, "apply: out of memory");
  bool found;
  int rc = wb_get(f, STORE_CF_EXPIRES, buf_slice(&f->ekey), &f->eval, &found);
  if (rc) return rc;
  if (found && f->eval.len == 8) *ms = store_be64_get(f->eval.data);
  return WIRE_OK;
}

/* Remove the expiry of `key` (both records) if it has one. */
static int exp_clear(store_fsm *f, store_slice key) {
  uint64_t ms;
  int rc = exp_get(f, key, &ms);
  if (rc || !ms) return rc;
  wb_del(f, STORE_CF_EXPIRES, buf_slice(&f->ekey));
  if (exp_rec_key(&f->ekey, STORE_EXP_TIME, ms, key))
    return fsm_fail(f, WIRE_ENOMEM, "apply: out of memory");
  wb_del(f, STORE_CF_EXPIRES, buf_slice(&f->ekey));
  return WIRE_OK;
}

static int exp_set(store_fsm *f, store_slice key, uint64_t ms) {
  int rc = exp_clear(f, key);
  if (rc) return rc;
  f->has_exp = true;
  char be[8];
  store_be64_put(be, ms);
  if (exp_rec_key(&f->ekey, STORE_EXP_KEY, 0, key))
    return fsm_fail(f, WIRE_ENOMEM, "apply: out of memory");
  wb_put(f, STORE_CF_EXPIRES, buf_slice(&f->ekey), (store_slice){be, 8});
  if (exp_rec_key(&f->ekey, STORE_EXP_TIME, ms, key))
    return fsm_fail(f, WIRE_ENOMEM, "apply: out of memory");
  wb_put(f, STORE_CF_EXPIRES, buf_slice(&f->ekey), (store_slice){"", 0});
  return WIRE_OK;
}

/* Read a live key into `val`: a key expired at `now` is deleted (in this
 * batch) and reads as absent. */
static int live_get(store_fsm *f, store_slice key, uint64_t now,
                    core_buf *val, bool *found) {
  int rc = wb_get(f, STORE_CF_KV, key, val, found);
  if (rc || !*found) return rc;
  uint64_t ms;
  rc = exp_get(f, key, &ms);
  if (rc) return rc;
  if (ms && ms <= now) {
    *found = false;
    wb_del(f, STORE_CF_KV, key);
    return exp_clear(f, key);
  }
  return WIRE_OK;
}

/* Hand `p[0..n)` back in res->bytes (copied; pointers fixed after apply). */
static int res_bytes(store_fsm *f, store_result *res, const char *p,
                     size_t n) {
  size_t off = f->rbytes.len;
  if (core_buf_append(&f->rbytes, n ? p : "", n) ||
      core_buf_putc(&f->rbytes, '\0'))
    return fsm_fail(f, WIRE_ENOMEM, "apply: out of memory");
  f->roff[res - f->res] = off + 1;
  res->bytes.len = n;
  return WIRE_OK;
}

static int apply_kv_set(store_fsm *f, const store_cmd *c, store_result *res) {
  const store_slice key = c->u.kv.key;
  uint64_t fl = c->u.kv.flags;
  bool found = false;
  int rc;
  /* A plain SET does not depend on the old value: no read. */
  if (fl & (STORE_KV_NX | STORE_KV_XX | STORE_KV_GET | STORE_KV_KEEPTTL)) {
    rc = live_get(f, key, c->u.kv.now, &f->val, &found);
    if (rc) return rc;
  }
  if ((fl & STORE_KV_GET) && found) {
    res->value = 1;
    if ((rc = res_bytes(f, res, f->val.data, f->val.len))) return rc;
  }
  if (((fl & STORE_KV_NX) && found) || ((fl & STORE_KV_XX) && !found)) {
    res->status = STORE_MISMATCH;
    return WIRE_OK;
  }
  if (c->u.kv.expire) rc = exp_set(f, key, c->u.kv.expire);
  else if (!(fl & STORE_KV_KEEPTTL) || !found) rc = exp_clear(f, key);
  if (rc) return rc;
  wb_put(f, STORE_CF_KV, key, c->u.kv.value);
  res->status = STORE_OK;
  return WIRE_OK;
}

static bool get_varbytes(const char **p, const char *end, store_slice *out);

static int apply_kv_mset(store_fsm *f, const store_cmd *c, store_result *res) {
  const char *end = c->u.kv.value.ptr + c->u.kv.value.len;
  store_slice k, v;
  size_t pairs = 0;
  for (const char *p = c->u.kv.value.ptr; p && p < end; pairs++)
    if (!get_varbytes(&p, end, &k) || !k.len || k.len > STORE_KEY_MAX ||
        !get_varbytes(&p, end, &v)) {
      res->status = STORE_INVALID;
      return WIRE_OK;
    }
  if (!pairs) {
    res->status = STORE_INVALID;
    return WIRE_OK;
  }
  int rc;
  if (c->u.kv.flags & STORE_KV_NX) {
    for (const char *p = c->u.kv.value.ptr; p < end;) {
      get_varbytes(&p, end, &k);
      get_varbytes(&p, end, &v);
      bool found;
      if ((rc = live_get(f, k, c->u.kv.now, &f->val, &found))) return rc;
      if (found) {
        res->status = STORE_MISMATCH;
        return WIRE_OK;
      }
    }
  }
  for (const char *p = c->u.kv.value.ptr; p < end;) {
    get_varbytes(&p, end, &k);
    get_varbytes(&p, end, &v);
    if ((rc = exp_clear(f, k))) return rc;
    wb_put(f, STORE_CF_KV, k, v);
  }
  res->status = STORE_OK;
  res->value = (int64_t)pairs;
  return WIRE_OK;
}

static int apply_kv_append(store_fsm *f, const store_cmd *c,
                           store_result *res) {
  bool found;
  int rc = live_get(f, c->u.kv.key, c->u.kv.now, &f->val, &found);
  if (rc) return rc;
  if (!found) f->val.len = 0;
  if (f->val.len + c->u.kv.value.len > STORE_VALUE_CEILING) {
    res->status = STORE_OVERFLOW;
    return WIRE_OK;
  }
  if (c->u.kv.value.len &&
      core_buf_append(&f->val, c->u.kv.value.ptr, c->u.kv.value.len))
    return fsm_fail(f, WIRE_ENOMEM, "apply: out of memory");
  wb_put(f, STORE_CF_KV, c->u.kv.key, buf_slice(&f->val));
  res->status = STORE_OK;
  res->value = (int64_t)f->val.len;
  return WIRE_OK;
}

/* KV_GETDEL and KV_DEL. */
static int apply_kv_del(store_fsm *f, const store_cmd *c, store_result *res) {
  bool found;
  int rc = live_get(f, c->u.kv.key, c->u.kv.now, &f->val, &found);
  if (rc) return rc;
  if (!found) {
    res->status = STORE_NOTFOUND;
    return WIRE_OK;
  }
  if (c->type == STORE_CMD_KV_GETDEL &&
      (rc = res_bytes(f, res, f->val.data, f->val.len)))
    return rc;
  wb_del(f, STORE_CF_KV, c->u.kv.key);
  if ((rc = exp_clear(f, c->u.kv.key))) return rc;
  res->status = STORE_OK;
  res->value = 1;
  return WIRE_OK;
}

static int apply_kv_expire(store_fsm *f, const store_cmd *c,
                           store_result *res) {
  const store_slice key = c->u.kv.key;
  bool found;
  int rc = live_get(f, key, c->u.kv.now, &f->val, &found);
  if (rc) return rc;
  res->status = STORE_NOTFOUND;
  if (!found) return WIRE_OK;
  if (c->u.kv.flags & STORE_KV_PERSIST) {
    uint64_t ms;
    if ((rc = exp_get(f, key, &ms)) || !ms) return rc;
    rc = exp_clear(f, key);
  } else if (c->u.kv.expire <= c->u.kv.now) {
    wb_del(f, STORE_CF_KV, key);
    rc = exp_clear(f, key);
  } else {
    rc = exp_set(f, key, c->u.kv.expire);
  }
  if (!rc) res->status = STORE_OK;
  return rc;
}

/* INCRBY and KV_INCRBY: the value (absent = 0) must be a strict decimal
 * int64; the sum is stored in decimal (any expiry kept) and returned.
 * NOTINT or OVERFLOW change nothing.  `now` NULL: expiry ignored (INCRBY);
 * else a key expired at *now counts as absent (KV_INCRBY). */
static int incr_key(store_fsm *f, store_slice key, int64_t delta,
                    const uint64_t *now, store_result *res) {
  bool found;
  int rc = now ? live_get(f, key, *now, &f->val, &found)
               : wb_get(f, STORE_CF_KV, key, &f->val, &found);
  if (rc) return rc;
  int64_t cur = 0, sum;
  if (found && !core_parse_i64(f->val.data, f->val.len, &cur)) {
    res->status = STORE_NOTINT;
    return WIRE_OK;
  }
  if (__builtin_add_overflow(cur, delta, &sum)) {
    res->status = STORE_OVERFLOW;
    return WIRE_OK;
  }
  char num[24];
  int n = snprintf(num, sizeof num, "%" PRId64, sum);
  wb_put(f, STORE_CF_KV, key, (store_slice){num, (size_t)n});
  res->status = STORE_OK;
  res->value = sum;
  return WIRE_OK;
}

static int apply_incrby(store_fsm *f, const store_cmd *c, store_result *res) {
  return incr_key(f, c->u.incrby.key, c->u.incrby.delta, NULL, res);
}

static int apply_kv_incrby(store_fsm *f, const store_cmd *c,
                           store_result *res) {
  return incr_key(f, c->u.kv.key, c->u.kv.delta, &c->u.kv.now, res);
}

bool store_parse_float(const char *p, size_t n, long double *out) {
  char buf[STORE_FLOAT_MAX + 1];
  if (n == 0 || n > STORE_FLOAT_MAX || isspace((unsigned char)p[0]))
    return false;
  memcpy(buf, p, n);
  buf[n] = '\0';
  char *end;
  errno = 0;
  long double v = strtold(buf, &end);
  if (end != buf + n || isnan(v) ||
      (errno == ERANGE &&
       (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO)))
    return false;
  *out = v;
  return true;
}

/* v as Redis writes a float it computed ("%.17Lf", trailing zeros and a
 * bare point dropped, "-0" as "0") into buf; the length. */
static size_t format_float(char *buf, size_t size, long double v) {
  int len = snprintf(buf, size, "%.17Lf", v);
  if (len < 0 || (size_t)len >= size) return 0;
  if (strchr(buf, '.')) {
    while (len > 0 && buf[len - 1] == '0') len--;
    if (len > 0 && buf[len - 1] == '.') len--;
  }
  if (len == 2 && buf[0] == '-' && buf[1] == '0') buf[0] = '0', len = 1;
  return (size_t)len;
}

static int apply_kv_incrbyfloat(store_fsm *f, const store_cmd *c,
                                store_result *res) {
  long double inc, cur = 0;
  if (!store_parse_float(c->u.kv.value.ptr, c->u.kv.value.len, &inc)) {
    res->status = STORE_NOTINT;
    return WIRE_OK;
  }
  bool found;
  int rc = live_get(f, c->u.kv.key, c->u.kv.now, &f->val, &found);
  if (rc) return rc;
  if (found && !store_parse_float(f->val.data, f->val.len, &cur)) {
    res->status = STORE_NOTINT;
    return WIRE_OK;
  }
  long double sum = cur + inc;
  if (!isfinite(sum)) {
    res->status = STORE_OVERFLOW;
    return WIRE_OK;
  }
  char num[STORE_FLOAT_MAX + 64]; /* %.17Lf of the largest long double */
  size_t n = format_float(num, sizeof num, sum);
  if (!n) {
    res->status = STORE_OVERFLOW;
    return WIRE_OK;
  }
  wb_put(f, STORE_CF_KV, c->u.kv.key, (store_slice){num, n});
  res->status = STORE_OK;
  return res_bytes(f, res, num, n);
}

/* Delete every key of family `cf` (as the batch sees it); *count of them. */
static int wipe_cf(store_fsm *f, int cf, int64_t *count) {
  return batch_delete_prefix(f, cf, (store_slice){"", 0}, count);
}

/* KV_FLUSH: every key is counted, expired ones too (they were still
 * stored). */
static int apply_kv_flush(store_fsm *f, const store_cmd *c,
                          store_result *res) {
  (void)c;
  int64_t n = 0, e = 0;
  int rc = wipe_cf(f, STORE_CF_KV, &n);
  if (!rc) rc = wipe_cf(f, STORE_CF_EXPIRES, &e);
  if (rc) return rc;
  res->status = STORE_OK;
  res->value = n;
  return WIRE_OK;
}

static int apply_kv_expired(store_fsm *f, const store_cmd *c,
                            store_result *res) {
  uint64_t ms;
  int rc = exp_get(f, c->u.kv.key, &ms);
  if (rc) return rc;
  res->status = STORE_NOTFOUND;
  if (!ms || ms > c->u.kv.now) return WIRE_OK;
  wb_del(f, STORE_CF_KV, c->u.kv.key);
  if ((rc = exp_clear(f, c->u.kv.key))) return rc;
  res->status = STORE_OK;
  return WIRE_OK;
}

/* KV_GET: see store.h. */
static int apply_kv_get(store_fsm *f, const store_cmd *c, store_result *res) {
  bool found;
  int rc = live_get(f, c->u.kv.key, c->u.kv.now, &f->val, &found);
  if (rc) return rc;
  res->status = STORE_NOTFOUND;
  if (!found) return WIRE_OK;
  uint64_t ms;
  if ((rc = exp_get(f, c->u.kv.key, &ms))) return rc;
  if ((rc = res_bytes(f, res, f->val.data, f->val.len))) return rc;
  res->status = STORE_OK;
  res->value = (int64_t)ms;
  return WIRE_OK;
}

/* KV_CHECK: see store.h (the skipping is in store_fsm_apply). */
static int apply_kv_check(store_fsm *f, const store_cmd *c,
                          store_result *res) {
  bool found;
  int rc = live_get(f, c->u.kv.key, c->u.kv.now, &f->val, &found);
  if (rc) return rc;
  bool want = c->u.kv.flags & STORE_KV_EXISTS;
  res->status = found == want && (!found || slice_eq(c->u.kv.value, &f->val))
                    ? STORE_OK
                    : STORE_MISMATCH;
  return WIRE_OK;
}

/* KV_RENAME: see store.h. */
static int apply_kv_rename(store_fsm *f, const store_cmd *c,
                           store_result *res) {
  const store_slice src = c->u.kv.key, dst = c->u.kv.value;
  bool found;
  int rc = live_get(f, src, c->u.kv.now, &f->val, &found);
  if (rc) return rc;
  res->status = STORE_NOTFOUND;
  if (!found) return WIRE_OK;
  bool same = src.len == dst.len && !memcmp(src.ptr, dst.ptr, src.len);
  if (c->u.kv.flags & STORE_KV_NX) {
    bool dfound = same;
    if (!same && (rc = live_get(f, dst, c->u.kv.now, &f->key, &dfound)))
      return rc;
    if (dfound) {
      res->status = STORE_MISMATCH;
      return WIRE_OK;
    }
  }
  res->status = STORE_OK;
  if (same) return WIRE_OK; /* RENAME k k: nothing to do */
  uint64_t ms;
  if ((rc = exp_get(f, src, &ms))) return rc;
  /* f->val holds the value: the writes below copy it into the batch. */
  wb_put(f, STORE_CF_KV, dst, buf_slice(&f->val));
  rc = ms ? exp_set(f, dst, ms) : exp_clear(f, dst);
  if (rc) return rc;
  if (!(c->u.kv.flags & STORE_KV_KEEP)) {
    wb_del(f, STORE_CF_KV, src);
    if ((rc = exp_clear(f, src))) return rc;
  }
  return WIRE_OK;
}

static int member_resp_key(core_buf *out, uint64_t id) {
  out->len = 0;
  char be[8];
  store_be64_put(be, id);
  if (core_buf_append(out, STORE_META_MEMBER_RESP,
                      strlen(STORE_META_MEMBER_RESP)) ||
      core_buf_append(out, be, 8))
    return WIRE_ENOMEM;
  return WIRE_OK;
}

/* MEMBER_RESP: a member's RESP address (empty: forget it). */
static int apply_member_resp(store_fsm *f, const store_cmd *c,
                             store_result *res) {
  if (member_resp_key(&f->key, c->u.member.id))
    return fsm_fail(f, WIRE_ENOMEM, "apply: out of memory");
  if (!c->u.member.resp_addr.len)
    wb_del(f, STORE_CF_META, buf_slice(&f->key));
  else
    wb_put(f, STORE_CF_META, buf_slice(&f->key), c->u.member.resp_addr);
  res->status = STORE_OK;
  return WIRE_OK;
}

static apply_fn handler_of(int type) {
  static const apply_fn handlers[] = {
      [STORE_CMD_PUT] = apply_put,
      [STORE_CMD_DELETE] = apply_delete,
      [STORE_CMD_CAS] = apply_cas,
      [STORE_CMD_INCRBY] = apply_incrby,
      [STORE_CMD_PIPELINE_PUT] = apply_pipeline_put,
      [STORE_CMD_PIPELINE_DELETE] = apply_pipeline_delete,
      [STORE_CMD_CHECKPOINT] = apply_checkpoint,
      [STORE_CMD_PIPELINE_STATE] = apply_pipeline_state,
      [STORE_CMD_PIPELINE_CREATE] = apply_pipeline_put,
      [STORE_CMD_MEMBER_META] = apply_member,
      [STORE_CMD_KV_SET] = apply_kv_set,
      [STORE_CMD_KV_MSET] = apply_kv_mset,
      [STORE_CMD_KV_APPEND] = apply_kv_append,
      [STORE_CMD_KV_GETDEL] = apply_kv_del,
      [STORE_CMD_KV_EXPIRE] = apply_kv_expire,
      [STORE_CMD_KV_DEL] = apply_kv_del,
      [STORE_CMD_KV_INCRBY] = apply_kv_incrby,
      [STORE_CMD_KV_FLUSH] = apply_kv_flush,
      [STORE_CMD_KV_EXPIRED] = apply_kv_expired,
      [STORE_CMD_MEMBER_RESP] = apply_member_resp,
      [STORE_CMD_KV_GET] = apply_kv_get,
      [STORE_CMD_KV_CHECK] = apply_kv_check,
      [STORE_CMD_KV_RENAME] = apply_kv_rename,
      [STORE_CMD_KV_INCRBYFLOAT] = apply_kv_incrbyfloat,
  };
  if (type <= 0 || (size_t)type >= WIRE_ARRAY_SIZE(handlers)) return NULL;
  return handlers[type];
}

/* ---- open / close
 * ------------------------------------------------------------------- */

static int reserve_results(store_fsm *f, size_t n) {
  if (n <= f->res_cap) return WIRE_OK;
  size_t cap = f->res_cap ? f->res_cap : 16;
  while (cap < n) cap *= 2;
  store_result *r = core_realloc(f->res, cap * sizeof *r);
  if (!r) return fsm_fail(f, WIRE_ENOMEM, "apply: out of memory");
  f->res = r;
  size_t *o = core_realloc(f->roff, cap * sizeof *o);
  if (!o) return fsm_fail(f, WIRE_ENOMEM, "apply: out of memory");
  f->roff = o;
  f->res_cap = cap;
  return WIRE_OK;
}

/* Read meta/format and meta/applied; stamp the format on a new database. */
static int load_meta(store_fsm *f) {
  int rc =
      store_rocks_get(&f->rk, STORE_CF_META, NULL, store_str(STORE_META_FORMAT),
                      &f->val, f->err, sizeof f->err);
  if (rc == WIRE_ENOTFOUND) {
    char be[4] = {0, 0, 0, STORE_DB_FORMAT};
    char *rerr = NULL;
    rocksdb_put_cf(f->rk.db, f->rk.wo, f->rk.cf[STORE_CF_META],
                   STORE_META_FORMAT, strlen(STORE_META_FORMAT), be, 4, &rerr);
    if (rerr) {
      rc = core_msg(f->err, sizeof f->err, WIRE_EIO, "rocksdb put: %s", rerr);
      rocksdb_free(rerr);
      return rc;
    }
  } else if (rc) {
    return rc;
  } else {
    if (f->val.len != 4)
      return core_msg(f->err, sizeof f->err, WIRE_ECORRUPT,
                      "meta/format has %zu bytes", f->val.len);
    unsigned fmt = ((unsigned)(unsigned char)f->val.data[0] << 24) |
                   ((unsigned)(unsigned char)f->val.data[1] << 16) |
                   ((unsigned)(unsigned char)f->val.data[2] << 8) |
                   (unsigned char)f->val.data[3];
    if (fmt != STORE_DB_FORMAT)
      return core_msg(f->err, sizeof f->err, WIRE_EUNSUPPORTED,
                      "database format %u, this build reads format %d", fmt,
                      STORE_DB_FORMAT);
  }
  rc = store_rocks_get(&f->rk, STORE_CF_META, NULL,
                       store_str(STORE_META_APPLIED), &f->val, f->err,
                       sizeof f->err);
  if (rc == WIRE_ENOTFOUND) {
    f->applied = 0;
    return WIRE_OK;
  }
  if (rc) return rc;
  if (f->val.len != 8)
    return core_msg(f->err, sizeof f->err, WIRE_ECORRUPT,
                    "meta/applied has %zu bytes", f->val.len);
  f->applied = store_be64_get(f->val.data);
  return WIRE_OK;
}

int store_fsm_open(const char *dir, const store_fsm_options *opt,
                   store_fsm **out, char *err, size_t errsz) {
  *out = NULL;
  store_fsm *f = core_calloc(1, sizeof *f);
  if (!f) return core_msg(err, errsz, WIRE_ENOMEM, "store: out of memory");
  f->log = opt ? opt->log : NULL;
  vcache_init(&f->vc, opt && opt->no_read_cache ? 0
                      : opt && opt->read_cache_bytes ? opt->read_cache_bytes
                                                     : STORE_READ_CACHE_DEFAULT);
  f->dir = core_strdup(dir);
  int rc = f->dir ? store_rocks_open(&f->rk, dir, f->err, sizeof f->err)
                  : core_msg(f->err, sizeof f->err, WIRE_ENOMEM,
                             "out of memory");
  if (!rc) rc = load_meta(f);
  if (!rc) {
    f->pb = rocksdb_writebatch_create();
    rc = reserve_results(f, 16);
  }
  if (!rc) { /* any expiry record at all? */
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(
        f->rk.db, f->rk.ro, f->rk.cf[STORE_CF_EXPIRES]);
    rocksdb_iter_seek_to_first(it);
    f->has_exp = rocksdb_iter_valid(it) != 0;
    rocksdb_iter_destroy(it);
  }
  if (rc) {
    core_msg(err, errsz, rc, "store %s: %s", dir, f->err);
    store_fsm_close(f);
    return rc;
  }
  *out = f;
  return WIRE_OK;
}

void store_fsm_close(store_fsm *f) {
  if (!f) return;
  if (f->live_snaps)
    core_logf(f->log, WIRE_LOG_ERROR, "store",
              "closing with %d snapshot(s) still open", f->live_snaps);
  if (f->pb) rocksdb_writebatch_destroy(f->pb);
  core_free(f->wslots);
  core_buf_free(&f->wlog);
  store_rocks_close(&f->rk);
  core_free(f->dir);
  core_free(f->res);
  core_free(f->roff);
  core_buf_free(&f->ekey);
  core_buf_free(&f->eval);
  core_buf_free(&f->rbytes);
  core_buf_free(&f->key);
  core_buf_free(&f->val);
  core_buf_free(&f->tmp);
  vcache_free(&f->vc);
  core_free(f);
}

const char *store_fsm_errmsg(const store_fsm *f) { return f ? f->err : ""; }

uint64_t store_fsm_applied(const store_fsm *f) { return f->applied; }

/* ---- apply
 * ---------------------------------------------------------------------------
 */

/* Bring the read cache in line with the batch just written (or not:
 * `ok` false): cached keys written get their value, deleted ones go, and
 * so do keys whose expiry record changed (after the values, so that a
 * value rewritten with a new expiry leaves no entry behind).  Without a
 * write log, or after a failed write, everything goes. */
static void cache_committed(store_fsm *f, bool ok) {
  if (!f->vc.count) return;
  if (!ok || f->wlog_failed) {
    vcache_clear(&f->vc);
    return;
  }
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < f->wcap; i++) {
      if (!f->wslots[i]) continue;
      const char *k;
      const wrec *r = wlog_at(f, f->wslots[i] - 1, &k);
      if (pass == 0 && r->cf == STORE_CF_KV) {
        if (r->del)
          vcache_drop(&f->vc, k, r->klen);
        else
          vcache_update(&f->vc, k, r->klen, k + r->klen, r->vlen);
      } else if (pass == 1 && r->cf == STORE_CF_EXPIRES && r->klen >= 1 &&
                 k[0] == STORE_EXP_KEY) {
        vcache_drop(&f->vc, k + 1, r->klen - 1);
      }
    }
  }
}

/* Add the new applied index and write the batch. */
static int commit_batch(store_fsm *f, uint64_t index) {
  char be[8];
  store_be64_put(be, index);
  wb_put(f, STORE_CF_META, store_str(STORE_META_APPLIED), (store_slice){be, 8});
  if (f->wlog_failed) { /* a write is missing: nothing of the entry goes */
    batch_clear(f);
    return fsm_fail(f, WIRE_ENOMEM, "apply %" PRIu64 ": %s", index, WLOG_OOM);
  }
  char *rerr = NULL;
  for (size_t i = 0; i < f->wcap; i++) {
    if (!f->wslots[i]) continue;
    const char *k;
    const wrec *r = wlog_at(f, f->wslots[i] - 1, &k);
    if (r->del)
      rocksdb_writebatch_delete_cf(f->pb, f->rk.cf[r->cf], k, r->klen);
    else
      rocksdb_writebatch_put_cf(f->pb, f->rk.cf[r->cf], k, r->klen,
                                k + r->klen, r->vlen);
  }
  rocksdb_write(f->rk.db, f->rk.wo, f->pb, &rerr);
  rocksdb_writebatch_clear(f->pb);
  cache_committed(f, rerr == NULL);
  batch_clear(f);
  if (rerr) {
    /* RocksDB now refuses every write until it is reopened (a failed WAL
     * append is a hard error for it). */
    f->wfail = strstr(rerr, "No space left") ? WIRE_ENOSPC : WIRE_EIO;
    snprintf(f->wfail_msg, sizeof f->wfail_msg, "rocksdb write: %s", rerr);
    f->wfail_retry_ns = core_monotonic_ns() + STORE_REOPEN_NS;
    int rc = fsm_fail(f, f->wfail, "apply %" PRIu64 ": %s; retrying every "
                      "second", index, f->wfail_msg);
    rocksdb_free(rerr);
    return rc;
  }
  f->applied = index;
  return WIRE_OK;
}

/* RocksDB is closed: a reopen after a failed write failed too (the next
 * apply tries again). */
int store_fsm_db_gone(store_fsm *f) {
  return core_msg(f->err, sizeof f->err, f->wfail ? f->wfail : WIRE_EIO,
                  "the store is closed after \"%s\" (it reopens when it "
                  "can)", f->wfail_msg);
}

int store_fsm_failure(const store_fsm *f, const char **msg) {
  if (msg) *msg = f->wfail ? f->wfail_msg : "";
  return f->wfail;
}

/* After a failed write: reopen RocksDB (at most every STORE_REOPEN_NS) so
 * that it takes writes again once the cause (a full disk) is gone. */
static int recover_writes(store_fsm *f) {
  int64_t now = core_monotonic_ns();
  if (now < f->wfail_retry_ns || f->live_snaps) {
    core_msg(f->err, sizeof f->err, f->wfail, "%s", f->wfail_msg);
    return f->wfail;
  }
  f->wfail_retry_ns = now + STORE_REOPEN_NS;
  store_rocks_close(&f->rk);
  char err[300];
  int rc = store_rocks_open(&f->rk, f->dir, err, sizeof err);
  if (!rc) rc = load_meta(f);
  else snprintf(f->err, sizeof f->err, "%s", err);
  if (rc) {
    /* Closed or half open: reads must not use it.  The next attempt opens
     * it again; until then reads fail with this error. */
    core_logf(f->log, WIRE_LOG_WARN, "store",
              "reopening the store after \"%s\" failed: %s", f->wfail_msg,
              f->err);
    return f->wfail;
  }
  vcache_clear(&f->vc);
  core_logf(f->log, WIRE_LOG_INFO, "store",
            "store reopened after \"%s\": writes resume at index %" PRIu64,
            f->wfail_msg, f->applied + 1);
  f->wfail = WIRE_OK;
  f->wfail_msg[0] = '\0';
  return WIRE_OK;
}

int store_fsm_recover(store_fsm *f) {
  return f->wfail ? recover_writes(f) : WIRE_OK;
}

int store_fsm_apply(store_fsm *f, uint64_t index, const void *buf, size_t len,
                    const store_result **res, size_t *n) {
  *res = f->res;
  *n = 1;
  memset(f->res, 0, sizeof *f->res);
  if (f->wfail) {
    int rc = recover_writes(f);
    if (rc) return rc;
  }
  if (index <= f->applied) {
    f->res[0].status = STORE_SKIPPED;
    return WIRE_OK;
  }

  store_cmd cmd;
  char derr[256];
  int rc = store_cmd_decode(buf, len, &cmd, derr, sizeof derr);
  if (rc == WIRE_EPARSE) {
    core_logf(f->log, WIRE_LOG_WARN, "store",
              "entry %" PRIu64 " is malformed, applied as a no-op: %s", index,
              derr);
    batch_clear(f);
    rc = commit_batch(f, index);
    if (rc) return rc;
    f->res[0].status = STORE_INVALID;
    return WIRE_OK;
  }
  if (rc)
    return fsm_fail(f, rc, "entry %" PRIu64 ": %s (not applied)", index, derr);

  batch_clear(f);
  f->rbytes.len = 0;
  f->roff[0] = 0;
  if (cmd.type == STORE_CMD_BATCH) {
    rc = reserve_results(f, cmd.u.batch.count);
    if (rc) return rc;
    *res = f->res;
    memset(f->res, 0, cmd.u.batch.count * sizeof *f->res);
    memset(f->roff, 0, cmd.u.batch.count * sizeof *f->roff);
    store_batch_iter it;
    store_cmd sub;
    size_t i = 0;
    uint64_t skip = 0; /* commands a failed KV_CHECK keeps from running */
    store_batch_iter_init(&it, &cmd);
    while ((rc = store_batch_iter_next(&it, &sub)) == 1) {
      store_result *r = &f->res[i++];
      if (skip) {
        skip--;
        r->status = STORE_ABORTED;
        continue;
      }
      rc = handler_of(sub.type)(f, &sub, r);
      if (rc) break;
      if (sub.type == STORE_CMD_KV_CHECK && r->status != STORE_OK)
        skip = sub.u.kv.span;
    }
    if (rc < 0) {
      batch_clear(f);
      return rc;
    }
    *n = i;
  } else {
    rc = handler_of(cmd.type)(f, &cmd, &f->res[0]);
    if (rc) {
      batch_clear(f);
      return rc;
    }
  }
  rc = commit_batch(f, index);
  if (rc) return rc;
  if (f->rbytes.len) /* the buffer is final now: point into it */
    for (size_t i = 0; i < *n; i++)
      if (f->roff[i]) f->res[i].bytes.ptr = f->rbytes.data + f->roff[i] - 1;
  return WIRE_OK;
}

/* ---- reads
 * -----------------------------------------------------------------------------
 */

/* Expiry of `key` in the stored state (0: none).  Reads only. */
static int exp_read(store_fsm *f, store_slice key, uint64_t *ms) {
  *ms = 0;
  if (!f->has_exp) return WIRE_OK;
  if (exp_rec_key(&f->ekey, STORE_EXP_KEY, 0, key)) return WIRE_ENOMEM;
  int rc = store_rocks_get(&f->rk, STORE_CF_EXPIRES, NULL, buf_slice(&f->ekey),
                           &f->eval, f->err, sizeof f->err);
  if (rc == WIRE_ENOTFOUND) return WIRE_OK;
  if (rc) return rc;
  if (f->eval.len == 8) *ms = store_be64_get(f->eval.data);
  return WIRE_OK;
}

int store_fsm_get(store_fsm *f, store_slice key, core_buf *val) {
  if (!f->rk.db) return store_fsm_db_gone(f);
  const char *cv;
  size_t cl;
  uint64_t ms;
  if (vcache_get(&f->vc, key.ptr, key.len, &cv, &cl, &ms)) {
    val->len = 0;
    if (ms && ms <= store_now_ms()) return WIRE_ENOTFOUND;
    if (core_buf_append(val, cv, cl))
      return core_msg(f->err, sizeof f->err, WIRE_ENOMEM,
                      "get: out of memory");
    return WIRE_OK;
  }
  int rc = store_rocks_get(&f->rk, STORE_CF_KV, NULL, key, val, f->err,
                           sizeof f->err);
  if (rc) return rc;
  if ((rc = exp_read(f, key, &ms))) return rc;
  if (ms && ms <= store_now_ms()) {
    val->len = 0;
    return WIRE_ENOTFOUND;
  }
  vcache_fill(&f->vc, key.ptr, key.len, val->data ? val->data : "", val->len,
              ms);
  return WIRE_OK;
}

int store_fsm_expiry(store_fsm *f, store_slice key, uint64_t now,
                     uint64_t *expire) {
  if (!f->rk.db) return store_fsm_db_gone(f);
  *expire = 0;
  int rc = store_rocks_get(&f->rk, STORE_CF_KV, NULL, key, &f->tmp, f->err,
                           sizeof f->err);
  if (rc) return rc;
  if ((rc = exp_read(f, key, expire))) return rc;
  if (*expire && *expire <= now) return WIRE_ENOTFOUND;
  return WIRE_OK;
}

int store_fsm_due(store_fsm *f, uint64_t now, size_t limit, store_scan_cb cb,
                  void *ud) {
  if (!f->rk.db) return store_fsm_db_gone(f);
  if (!f->has_exp) return WIRE_OK;
  rocksdb_iterator_t *it = rocksdb_create_iterator_cf(
      f->rk.db, f->rk.ro, f->rk.cf[STORE_CF_EXPIRES]);
  char t = STORE_EXP_TIME;
  int rc = WIRE_OK;
  size_t seen = 0;
  for (rocksdb_iter_seek(it, &t, 1); rocksdb_iter_valid(it) && seen < limit;
       rocksdb_iter_next(it)) {
    size_t kl;
    const char *k = rocksdb_iter_key(it, &kl);
    if (kl < 10 || k[0] != STORE_EXP_TIME) break;
    if (store_be64_get(k + 1) > now) break;
    seen++;
    if ((rc = cb(ud, (store_slice){k + 9, kl - 9}, (store_slice){"", 0})))
      break;
  }
  char *rerr = NULL;
  rocksdb_iter_get_error(it, &rerr);
  rocksdb_iter_destroy(it);
  if (rerr) {
    rc = core_msg(f->err, sizeof f->err, WIRE_EIO, "rocksdb iterate: %s", rerr);
    rocksdb_free(rerr);
  }
  return rc;
}

int store_fsm_member_resp(store_fsm *f, uint64_t id, core_buf *resp_addr) {
  if (!f->rk.db) return store_fsm_db_gone(f);
  if (member_resp_key(&f->key, id)) return WIRE_ENOMEM;
  return store_rocks_get(&f->rk, STORE_CF_META, NULL, buf_slice(&f->key),
                         resp_addr, f->err, sizeof f->err);
}

int store_fsm_pipeline_get(store_fsm *f, store_slice name, core_buf *buf,
                           store_pipeline *out) {
  if (!f->rk.db) return store_fsm_db_gone(f);
  int rc = store_rocks_get(&f->rk, STORE_CF_PIPELINES, NULL, name, buf, f->err,
                           sizeof f->err);
  if (rc) return rc;
  if (pipe_rec_parse(name, buf->data, buf->len, out))
    return core_msg(f->err, sizeof f->err, WIRE_ECORRUPT,
                    "pipeline '%.*s': malformed record", (int)WIRE_MIN(name.len, 100),
                    name.ptr);
  return WIRE_OK;
}

int store_fsm_pipeline_scan(store_fsm *f, store_pipeline_cb cb, void *ud) {
  if (!f->rk.db) return store_fsm_db_gone(f);
  rocksdb_iterator_t *it = rocksdb_create_iterator_cf(
      f->rk.db, f->rk.ro, f->rk.cf[STORE_CF_PIPELINES]);
  int rc = WIRE_OK;
  for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it);
       rocksdb_iter_next(it)) {
    size_t kl, vl;
    const char *k = rocksdb_iter_key(it, &kl);
    const char *v = rocksdb_iter_value(it, &vl);
    store_pipeline p;
    if (pipe_rec_parse((store_slice){k, kl}, v, vl, &p)) {
      rc = core_msg(f->err, sizeof f->err, WIRE_ECORRUPT,
                    "pipeline '%.*s': malformed record", (int)WIRE_MIN(kl, 100),
                    k);
      break;
    }
    if ((rc = cb(ud, &p))) break;
  }
  char *rerr = NULL;
  rocksdb_iter_get_error(it, &rerr);
  rocksdb_iter_destroy(it);
  if (rerr) {
    rc = core_msg(f->err, sizeof f->err, WIRE_EIO, "rocksdb iterate: %s", rerr);
    rocksdb_free(rerr);
  }
  return rc;
}

int store_fsm_checkpoint_scan(store_fsm *f, store_slice pipeline,
                              store_ckpt_cb cb, void *ud) {
  if (!f->rk.db) return store_fsm_db_gone(f);
  if (store_ckpt_key(&f->key, pipeline, STORE_CKPT_POS, (store_slice){NULL, 0}))
    return WIRE_ENOMEM;
  rocksdb_iterator_t *it = rocksdb_create_iterator_cf(
      f->rk.db, f->rk.ro, f->rk.cf[STORE_CF_CHECKPOINTS]);
  int rc = WIRE_OK;
  size_t pl = f->key.len;
  for (rocksdb_iter_seek(it, f->key.data, pl); rocksdb_iter_valid(it);
       rocksdb_iter_next(it)) {
    size_t kl, vl;
    const char *k = rocksdb_iter_key(it, &kl);
    if (kl < pl || memcmp(k, f->key.data, pl)) break;
    const char *v = rocksdb_iter_value(it, &vl);
    if (vl < 8) {
      rc = core_msg(f->err, sizeof f->err, WIRE_ECORRUPT,
                    "checkpoint record of %zu bytes", vl);
      break;
    }
    if ((rc = cb(ud, (store_slice){k + pl, kl - pl},
                 (store_slice){v + 8, vl - 8}, store_be64_get(v))))
      break;
  }
  char *rerr = NULL;
  rocksdb_iter_get_error(it, &rerr);
  rocksdb_iter_destroy(it);
  if (rerr) {
    rc = core_msg(f->err, sizeof f->err, WIRE_EIO, "rocksdb iterate: %s", rerr);
    rocksdb_free(rerr);
  }
  return rc;
}

uint64_t store_fsm_pipelines_version(const store_fsm *f) {
  return f->pipes_version;
}

int store_fsm_checkpoint_get(store_fsm *f, store_slice pipeline,
                             store_slice source, core_buf *pos,
                             uint64_t *term) {
  if (!f->rk.db) return store_fsm_db_gone(f);
  if (store_ckpt_key(&f->key, pipeline, STORE_CKPT_POS, source))
    return WIRE_ENOMEM;
  int rc = store_rocks_get(&f->rk, STORE_CF_CHECKPOINTS, NULL,
                           buf_slice(&f->key), &f->tmp, f->err, sizeof f->err);
  if (rc) return rc;
  if (f->tmp.len < 8)
    return core_msg(f->err, sizeof f->err, WIRE_ECORRUPT,
                    "checkpoint record of %zu bytes", f->tmp.len);
  *term = store_be64_get(f->tmp.data);
  pos->len = 0;
  return core_buf_append(pos, f->tmp.data + 8, f->tmp.len - 8);
}

int store_fsm_checkpoint_term(store_fsm *f, store_slice pipeline,
                              uint64_t *term) {
  if (!f->rk.db) return store_fsm_db_gone(f);
  *term = 0;
  if (store_ckpt_key(&f->key, pipeline, STORE_CKPT_FENCE,
                     (store_slice){NULL, 0}))
    return WIRE_ENOMEM;
  int rc = store_rocks_get(&f->rk, STORE_CF_CHECKPOINTS, NULL,
                           buf_slice(&f->key), &f->tmp, f->err, sizeof f->err);
  if (rc) return rc;
  if (f->tmp.len != 8)
    return core_msg(f->err, sizeof f->err, WIRE_ECORRUPT,
                    "checkpoint fence of %zu bytes", f->tmp.len);
  *term = store_be64_get(f->tmp.data);
  return WIRE_OK;
}

static bool get_varbytes(const char **p, const char *end, store_slice *out) {
  uint64_t n = 0;
  for (unsigned i = 0; i < 10; i++) {
    if (*p >= end) return false;
    unsigned char b = (unsigned char)*(*p)++;
    n |= (uint64_t)(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      if (n > (uint64_t)(end - *p)) return false;
      *out = (store_slice){*p, (size_t)n};
      *p += n;
      return true;
    }
  }
  return false;
}

int store_fsm_member_get(store_fsm *f, uint64_t id, core_buf *raft_addr,
                         core_buf *http_addr) {
  if (!f->rk.db) return store_fsm_db_gone(f);
  if (member_key(&f->key, id)) return WIRE_ENOMEM;
  int rc = store_rocks_get(&f->rk, STORE_CF_META, NULL, buf_slice(&f->key),
                           &f->tmp, f->err, sizeof f->err);
  if (rc) return rc;
  const char *p = f->tmp.data, *end = p + f->tmp.len;
  store_slice ra, ha;
  if (!get_varbytes(&p, end, &ra) || !get_varbytes(&p, end, &ha) || p != end)
    return core_msg(f->err, sizeof f->err, WIRE_ECORRUPT,
                    "member %" PRIu64 ": malformed record", id);
  raft_addr->len = 0;
  http_addr->len = 0;
  if (core_buf_append(raft_addr, ra.ptr, ra.len) ||
      core_buf_append(http_addr, ha.ptr, ha.len))
    return WIRE_ENOMEM;
  return WIRE_OK;
}

static bool has_prefix(const char *k, size_t kl, store_slice prefix) {
  return kl >= prefix.len &&
         (prefix.len == 0 || !memcmp(k, prefix.ptr, prefix.len));
}

static int slice_cmp(store_slice a, store_slice b) {
  size_t n = WIRE_MIN(a.len, b.len);
  int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
  if (c) return c;
  return a.len < b.len ? -1 : a.len > b.len;
}

int store_fsm_scan(store_fsm *f, store_slice prefix, store_slice after,
                   size_t limit, store_scan_cb cb, void *ud, bool *more) {
  if (!f->rk.db) return store_fsm_db_gone(f);
  if (more) *more = false;
  rocksdb_iterator_t *it =
      rocksdb_create_iterator_cf(f->rk.db, f->rk.ro, f->rk.cf[STORE_CF_KV]);
  bool from_after = after.len && slice_cmp(after, prefix) >= 0;
  if (from_after)
    rocksdb_iter_seek(it, after.ptr, after.len);
  else
    rocksdb_iter_seek(it, prefix.len ? prefix.ptr : "", prefix.len);
  size_t seen = 0;
  int rc = WIRE_OK;
  uint64_t now = store_now_ms(), ms;
  for (; rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
    size_t kl, vl;
    const char *k = rocksdb_iter_key(it, &kl);
    if (!has_prefix(k, kl, prefix)) break;
    if (from_after && slice_cmp((store_slice){k, kl}, after) <= 0) continue;
    if (exp_read(f, (store_slice){k, kl}, &ms) == WIRE_OK && ms && ms <= now)
      continue;
    if (limit && seen == limit) {
      if (more) *more = true;
      break;
    }
    const char *v = rocksdb_iter_value(it, &vl);
    seen++;
    rc = cb(ud, (store_slice){k, kl}, (store_slice){v, vl});
    if (rc) break;
  }
  char *rerr = NULL;
  rocksdb_iter_get_error(it, &rerr);
  rocksdb_iter_destroy(it);
  if (rerr) {
    rc = core_msg(f->err, sizeof f->err, WIRE_EIO, "rocksdb scan: %s", rerr);
    rocksdb_free(rerr);
  }
  return rc;
}
