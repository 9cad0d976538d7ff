/*
 * Internal interface of the replicated store (lib/store/): the command
 * codec, the state machine on RocksDB and its glue to libraft.
 *
 * Layers, bottom up:
 *   codec.c     versioned binary encoding of state-machine commands
 *   rocks.c     RocksDB handle with the column families kv, pipelines,
 *               checkpoints and meta (private header rocks.h)
 *   fsm.c       apply(index, entry) and reads; state change and applied
 *               index are written in one RocksDB write batch
 *   snap.c      snapshot of a consistent RocksDB view and restore from it
 *   raft_fsm.c  struct raft_fsm (version 2) over the FSM
 *
 * Threads: a store_fsm belongs to the node thread (apply, restore, reads).
 * A store_snap may be serialised on any one other thread while the node
 * thread keeps applying (RocksDB snapshots are immutable views); the raft
 * glue serialises on the node thread for now (see raft_fsm.c).
 *
 * Nothing here is public; the node API (include/wire/node.h, later) wraps it.
 */
#ifndef WIRE_STORE_H
#define WIRE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

struct raft;
struct raft_fsm;
struct raft_buffer;

/* ---- limits ---------------------------------------------------------------
 */

/* Keys (and pipeline, source names) are 1..STORE_KEY_MAX bytes. */
#define STORE_KEY_MAX (64u * 1024u)
/* Default value limit; a store may lower or raise it up to the ceiling. */
#define STORE_VALUE_MAX_DEFAULT (8u * 1024u * 1024u)
/* Largest value any node decodes, whatever its configuration.  The FSM
 * decodes with this ceiling, never with the configured limit: the limit is
 * checked when a command is proposed, so that nodes configured differently
 * still apply the same log identically. */
#define STORE_VALUE_CEILING (64u * 1024u * 1024u)

typedef struct store_limits {
  size_t key_max;   /* <= STORE_KEY_MAX */
  size_t value_max; /* <= STORE_VALUE_CEILING */
} store_limits;

void store_limits_default(store_limits *lim);

/* ---- commands (codec.c) -----------------------------------------------------
 */

/* Entry layout (format version 1), every integer an unsigned LEB128 varint
 * in its shortest form:
 *
 *   u8 version (1) | varint body_len | body | zero padding to a multiple of 8
 *
 * body = u8 type, then the fields of that type; "bytes" is varint length +
 * raw bytes.  The padding exists because libraft wants entry buffers whose
 * length is a multiple of 8; body_len gives the true length. */
#define STORE_FORMAT_VERSION 1

/* X(NAME, code, "name"): the type byte is part of the format, never reuse. */
#define STORE_CMD_MAP(X)                                                    \
  X(PUT, 1, "put")                   /* bytes key, bytes value */           \
  X(DELETE, 2, "delete")             /* bytes key */                        \
  X(CAS, 3, "cas")                   /* key, u8 flags, [expected], [new] */ \
  X(INCRBY, 4, "incrby")             /* bytes key, zigzag varint delta */   \
  X(BATCH, 5, "batch")               /* varint count >= 1, commands */      \
  X(PIPELINE_PUT, 6, "pipeline_put") /* bytes name, bytes definition */     \
  X(PIPELINE_DELETE, 7, "pipeline_delete") /* bytes name */                 \
  X(CHECKPOINT, 8, "checkpoint")   /* pipeline, source, position, term */   \
  X(MEMBER_META, 9, "member_meta") /* varint id, bytes raft, bytes http */ \
  X(PIPELINE_STATE, 10, "pipeline_state") /* bytes name, varint paused */ \
  X(PIPELINE_CREATE, 11, "pipeline_create") /* as PIPELINE_PUT */ \
  /* 16..40: Redis-style string commands (u.kv; see "kv commands") */ \
  X(KV_SET, 16, "kv_set")       /* key, value, flags, now, expire */ \
  X(KV_MSET, 17, "kv_mset")     /* pairs, flags (NX), now */ \
  X(KV_APPEND, 18, "kv_append") /* key, value, now */ \
  X(KV_GETDEL, 19, "kv_getdel") /* key, now */ \
  X(KV_EXPIRE, 20, "kv_expire") /* key, flags, now, expire */ \
  X(KV_DEL, 21, "kv_del")       /* key, now */ \
  X(KV_INCRBY, 22, "kv_incrby") /* key, delta, now */ \
  X(KV_FLUSH, 23, "kv_flush")   /* now */ \
  X(KV_EXPIRED, 24, "kv_expired") /* key, now: delete if expired */ \
  X(MEMBER_RESP, 25, "member_resp") /* varint id, bytes resp address */ \
  X(KV_GET, 26, "kv_get")       /* key, now: a read at its place */ \
  X(KV_CHECK, 27, "kv_check")   /* key, value, flags, now, span */ \
  X(KV_RENAME, 28, "kv_rename") /* key, dest (in value), flags, now */ \
  X(KV_INCRBYFLOAT, 29, "kv_incrbyfloat") /* key, increment (value), now */

typedef enum store_cmd_type {
#define STORE__CMD_ENUM(name, code, str) STORE_CMD_##name = (code),
  STORE_CMD_MAP(STORE__CMD_ENUM)
#undef STORE__CMD_ENUM
} store_cmd_type;

/* Name of a command type ("put"), "unknown" otherwise. */
const char *store_cmd_name(int type);

/* Borrowed byte string. */
typedef struct store_slice {
  const char *ptr;
  size_t len;
} store_slice;

static inline store_slice store_str(const char *s) {
  store_slice sl = {s, 0};
  while (s && s[sl.len]) sl.len++;
  return sl;
}

/* CAS flags (also the encoded flag byte). */
#define STORE_CAS_EXPECTED                                            \
  0x01                     /* `expected` given: the key must hold it; \
                              otherwise the key must be absent */
#define STORE_CAS_NEW 0x02 /* `value` given: store it; otherwise delete */

/* kv commands (types 16..40).  Keys may carry an expiry time, absolute
 * milliseconds of the Unix epoch, kept beside the key (not in the value).
 * Every kv command carries `now`, the leader's wall clock when it was
 * proposed: apply treats a key whose expiry is <= now as absent (and
 * deletes it), so every node decides the same way whatever its own clock.
 *
 *   KV_SET     store value unless flags refuse: NX (key must be absent),
 *              XX (must exist); expiry: `expire` when non-zero, else the old
 *              one kept with KEEPTTL, else none.  OK, or MISMATCH when the
 *              condition failed (nothing written).  GET: the old value in
 *              result.bytes (value 1 when there was one, 0 otherwise).
 *   KV_MSET    `value` holds pairs (varint len, key, varint len, value ...);
 *              all set, expiries cleared; with NX nothing is set when any
 *              key exists (MISMATCH).  INVALID when the pairs are malformed.
 *   KV_APPEND  append to the value (absent: ""); value = new length.
 *   KV_GETDEL  delete; OK with the old value in bytes, or NOTFOUND.
 *   KV_EXPIRE  set the expiry to `expire` (<= now: delete the key) or, with
 *              PERSIST, remove it.  OK when done, NOTFOUND when the key is
 *              absent (PERSIST: or has no expiry).
 *   KV_DEL     delete; OK or NOTFOUND.  (DELETE ignores expiry times.)
 *   KV_INCRBY  as INCRBY but expiry-aware; the expiry is kept.
 *   KV_FLUSH   delete every key of the kv family and every expiry; value =
 *              keys deleted.
 *   KV_EXPIRED delete the key if it expired at `now` (active expiry by the
 *              leader); OK when deleted, NOTFOUND otherwise.
 *   KV_GET     a read at its place in the entry (MULTI/EXEC: it sees the
 *              writes before it in the same entry): OK with the value in
 *              bytes and its expiry in value (0: none), or NOTFOUND.  It
 *              changes nothing, except deleting the key if it expired.
 *   KV_CHECK   (WATCH) OK when the key holds `value` (flag EXISTS) or is
 *              absent (no EXISTS); otherwise MISMATCH, and the `span`
 *              commands after it in the batch are not run (ABORTED).
 *   KV_RENAME  (RENAME, RENAMENX, COPY) the key's value and expiry to the
 *              key named in `value`; the source is deleted unless KEEP.
 *              NOTFOUND when the source is absent; with NX, MISMATCH when
 *              the destination exists (nothing written); else OK.
 *   KV_INCRBYFLOAT  add `value`, a decimal float in text, to the key's
 *              value (absent: 0) as Redis does: long double arithmetic, the
 *              sum written with "%.17Lf" less trailing zeros; OK with it in
 *              bytes; NOTINT when the value is not a float, OVERFLOW when the
 *              sum is not finite (nothing written).  The expiry is kept.
 *              (Every node computes the sum: a cluster's nodes must share
 *              one long double format, i.e. one CPU architecture.)
 * PUT, DELETE and CAS remove a key's expiry; INCRBY keeps it. */
/* Longest float text KV_INCRBYFLOAT takes (Redis: MAX_LONG_DOUBLE_CHARS). */
#define STORE_FLOAT_MAX 5120
/* A decimal float as Redis reads one (strtold; no leading space, nothing
 * after it, no NaN, no overflow): true with *out. */
bool store_parse_float(const char *p, size_t n, long double *out);

#define STORE_KV_NX 0x01
#define STORE_KV_XX 0x02
#define STORE_KV_GET 0x04
#define STORE_KV_KEEPTTL 0x08
#define STORE_KV_PERSIST 0x10
#define STORE_KV_EXISTS 0x20 /* KV_CHECK: the key must exist */
#define STORE_KV_KEEP 0x40   /* KV_RENAME: keep the source (COPY) */

/* A command.  Every slice is borrowed: from the caller when encoding, from
 * the decoded buffer when decoding (valid while that buffer is). */
typedef struct store_cmd {
  store_cmd_type type;
  union {
    struct {
      store_slice key, value;
    } put;
    struct {
      store_slice key;
    } del;
    struct {
      store_slice key, expected, value;
      unsigned flags; /* STORE_CAS_* */
    } cas;
    struct {
      store_slice key;
      int64_t delta;
    } incrby;
    struct {
      /* Encoding: `items[0..count)`, none of them a batch.  Decoding:
       * `items` is NULL and `raw` holds the validated sub-commands; walk
       * them with store_batch_iter. */
      const struct store_cmd *items;
      size_t count;
      store_slice raw;
    } batch;
    struct {
      store_slice name, definition;
    } pipeline_put; /* also PIPELINE_CREATE */
    struct {
      store_slice name;
    } pipeline_delete;
    struct {
      store_slice name;
      uint64_t paused; /* 0 run, 1 pause */
    } pipeline_state;
    struct {
      store_slice pipeline, source, position;
      uint64_t term; /* raft term of the leader that proposed it */
    } checkpoint;
    struct {
      uint64_t id;                      /* raft server id, >= 1 */
      store_slice raft_addr, http_addr; /* both empty: forget the member */
      store_slice resp_addr;            /* MEMBER_RESP only */
    } member;
    struct {
      store_slice key, value; /* KV_MSET: value = the pairs */
      uint64_t flags;         /* STORE_KV_* */
      uint64_t now;           /* ms since the epoch, leader's clock */
      uint64_t expire;        /* absolute ms; 0: none */
      int64_t delta;          /* KV_INCRBY */
      uint64_t span;          /* KV_CHECK: commands it guards */
    } kv;
  } u;
} store_cmd;

/* Encoded size of `cmd` as a whole entry, padding included (0 if `cmd` is
 * not encodable: unknown type, nested batch). */
size_t store_cmd_encoded_size(const store_cmd *cmd);

/* Append `cmd` as one entry to `out` (padded to 8 bytes counted from where
 * the entry starts).  Checks the limits (NULL: defaults): empty key
 * WIRE_EINVAL, oversized key or value WIRE_ETOOBIG, bad type or a batch in a
 * batch WIRE_EINVAL; the message goes to err.  On failure `out` keeps its
 * previous length. */
int store_cmd_encode(const store_cmd *cmd, const store_limits *lim,
                     core_buf *out, char *err, size_t errsz);

/* Decode one entry.  Never reads outside buf[0..len).  Fields point into
 * `buf`.  WIRE_OK; WIRE_EUNSUPPORTED for an unknown format version or
 * command type (written by newer software); WIRE_EPARSE for anything
 * malformed (truncated, overlong varint, bad padding, limits of the format
 * broken, trailing bytes).  Batches are validated completely. */
int store_cmd_decode(const void *buf, size_t len, store_cmd *out, char *err,
                     size_t errsz);

typedef struct store_batch_iter {
  const char *p, *end;
  size_t left;
} store_batch_iter;

void store_batch_iter_init(store_batch_iter *it, const store_cmd *batch);
/* 1 and *out filled, 0 at the end, negative on malformed input (cannot
 * happen after a successful store_cmd_decode). */
int store_batch_iter_next(store_batch_iter *it, store_cmd *out);

/* ---- results
 * ------------------------------------------------------------------ */

#define STORE_STATUS_MAP(X)                                                 \
  X(OK, 0, "ok")                   /* done (DELETE: found and deleted) */   \
  X(NOTFOUND, 1, "not found")      /* DELETE, PIPELINE_DELETE of nothing */ \
  X(MISMATCH, 2, "compare failed") /* CAS: current value differs */         \
  X(NOTINT, 3, "value is not an integer")       /* INCRBY */                \
  X(OVERFLOW, 4, "increment would overflow")    /* INCRBY */                \
  X(FENCED, 5, "checkpoint from an older term") /* CHECKPOINT */            \
  X(SKIPPED, 6, "entry already applied")        /* replay after restart */  \
  X(INVALID, 7, "malformed entry, applied as a no-op")                     \
  X(ABORTED, 8, "not run: a KV_CHECK before it failed")

typedef enum store_status {
#define STORE__ST_ENUM(name, code, str) STORE_##name = (code),
  STORE_STATUS_MAP(STORE__ST_ENUM)
#undef STORE__ST_ENUM
} store_status;

const char *store_status_str(int status);

/* Result of one command.  `value`: INCRBY the new value; PIPELINE_PUT,
 * PIPELINE_CREATE and PIPELINE_STATE the pipeline's new generation
 * (PIPELINE_CREATE of an existing name: MISMATCH, nothing written); CHECKPOINT (FENCED) the
 * newest stored term; otherwise 0. */
typedef struct store_result {
  store_status status;
  int64_t value;
  /* KV_SET with GET, KV_GETDEL: the old value, in FSM memory valid until
   * the next apply (ptr NULL when none, or when the result came over the
   * network, which carries status and value only). */
  store_slice bytes;
} store_result;

/* ---- state machine (fsm.c)
 * ------------------------------------------------------ */

typedef struct store_fsm store_fsm;

typedef struct store_fsm_options {
  const core_log *log; /* borrowed, may be NULL */
  /* Bytes of the read cache of point reads (vcache.h): 0 means the
   * default, STORE_READ_CACHE_DEFAULT; no_read_cache turns it off. */
  size_t read_cache_bytes;
  bool no_read_cache;
} store_fsm_options;

#define STORE_READ_CACHE_DEFAULT ((size_t)64 << 20)

/* Open (creating if needed) the RocksDB database in `dir` and read back the
 * applied index.  `opt` may be NULL.  On failure *out is NULL and err says
 * why.  Node thread. */
int store_fsm_open(const char *dir, const store_fsm_options *opt,
                   store_fsm **out, char *err, size_t errsz);
/* Close; NULL is fine.  No store_snap of this FSM may be alive. */
void store_fsm_close(store_fsm *f);

/* Last message of a failed call on `f`. */
const char *store_fsm_errmsg(const store_fsm *f);

/* Highest raft index whose command is reflected in the state (0: none). */
uint64_t store_fsm_applied(const store_fsm *f);

/* Apply the entry at raft index `index`.
 *
 *  - index <= applied: nothing is written; one result STORE_SKIPPED.  This
 *    only happens on replay after a restart or a skipped restore, when no
 *    client waits for the original result, so none is kept.  (It relies on
 *    the raft log holding every applied entry: a node must refuse to start
 *    when store_fsm_applied() > raft_last_index() after raft_start, i.e. a
 *    data dir whose raft log lost what the FSM applied.)
 *  - malformed entry (WIRE_EPARSE): the applied index advances, nothing
 *    else changes, one result STORE_INVALID.  Every node decodes the same
 *    bytes the same way, so they stay identical.
 *  - otherwise: the commands' effects and the applied index go to RocksDB in
 *    one write batch; one result per command (a batch of n gives n).
 *
 * Returns WIRE_OK, or a negative code when nothing was applied and the
 * caller must not advance: WIRE_EUNSUPPORTED (entry from newer software:
 * stop rather than diverge), WIRE_EIO (RocksDB), WIRE_ENOSPC (RocksDB: the
 * disk is full), WIRE_ENOMEM.  *res points to FSM-owned memory valid until
 * the next apply or restore.
 *
 * After a failed RocksDB write (a full disk) RocksDB takes no more writes
 * until it is reopened: the FSM is then failed (store_fsm_failure) and
 * every apply fails at once, except that at most once per second it first
 * reopens RocksDB and, when that works, carries on (raft calls apply again
 * for the same entry: nothing is lost).  Reads keep working meanwhile. */
int store_fsm_apply(store_fsm *f, uint64_t index, const void *buf, size_t len,
                    const store_result **res, size_t *n);

/* WIRE_OK while RocksDB takes writes; otherwise the code of the failed
 * write (WIRE_ENOSPC, WIRE_EIO) and *msg what RocksDB said (FSM memory). */
int store_fsm_failure(const store_fsm *f, const char **msg);
/* After a failure: reopen RocksDB now if the last attempt is a second old
 * (store_fsm_apply does the same).  WIRE_OK when it takes writes again. */
int store_fsm_recover(store_fsm *f);

/* Reads of the current local state (not linearizable by themselves: the
 * caller decides consistency).  A key whose expiry passed by the wall
 * clock reads as absent, even before its deletion is applied.  Values are appended to `val` after its
 * current contents are dropped (val->len = 0 first).  WIRE_OK,
 * WIRE_ENOTFOUND, WIRE_EIO. */
int store_fsm_get(store_fsm *f, store_slice key, core_buf *val);

/* A stored pipeline.  The pipelines family maps a name to
 *   u8 version (1) | u8 flags (STORE_PIPE_PAUSED) | u64 BE generation |
 *   definition bytes
 * The generation starts at 1 and grows with every PIPELINE_PUT (a new
 * definition) and PIPELINE_STATE (pause, resume): a runner started for one
 * generation is restarted when it changes. */
#define STORE_PIPE_PAUSED 0x01
typedef struct store_pipeline {
  store_slice name;       /* borrowed (scan: valid during the callback) */
  store_slice definition; /* idem */
  uint64_t generation;
  bool paused;
} store_pipeline;

/* One pipeline; `buf` receives the record and `out`'s slices point into it.
 * WIRE_OK, WIRE_ENOTFOUND, WIRE_ECORRUPT, WIRE_EIO. */
int store_fsm_pipeline_get(store_fsm *f, store_slice name, core_buf *buf,
                           store_pipeline *out);
/* Visit every pipeline in name order; cb returning non-zero stops with that
 * code. */
typedef int (*store_pipeline_cb)(void *ud, const store_pipeline *p);
int store_fsm_pipeline_scan(store_fsm *f, store_pipeline_cb cb, void *ud);
/* Visit the checkpointed positions of one pipeline (source order). */
typedef int (*store_ckpt_cb)(void *ud, store_slice source, store_slice position,
                             uint64_t term);
int store_fsm_checkpoint_scan(store_fsm *f, store_slice pipeline,
                              store_ckpt_cb cb, void *ud);
/* Grows whenever an applied entry or a restore may have changed the
 * pipelines family (cheap change detection; checkpoints do not count). */
uint64_t store_fsm_pipelines_version(const store_fsm *f);
/* Position of (pipeline, source) and the term it was committed in. */
int store_fsm_checkpoint_get(store_fsm *f, store_slice pipeline,
                             store_slice source, core_buf *pos, uint64_t *term);
/* Newest checkpoint term accepted for `pipeline` (0 and WIRE_ENOTFOUND if
 * none). */
int store_fsm_checkpoint_term(store_fsm *f, store_slice pipeline,
                              uint64_t *term);
int store_fsm_member_get(store_fsm *f, uint64_t id, core_buf *raft_addr,
                         core_buf *http_addr);
/* RESP address of a member (MEMBER_RESP).  WIRE_OK, WIRE_ENOTFOUND. */
int store_fsm_member_resp(store_fsm *f, uint64_t id, core_buf *resp_addr);


/* Visit keys of the kv family that start with `prefix` and sort after
 * `after` (empty: from the start), in byte order, at most `limit` (0: no
 * limit).  `cb` returning non-zero stops the scan with that code.  *more
 * (may be NULL) says whether another matching key follows the last one
 * visited.  Slices passed to cb are valid during the call only.  Keys
 * expired by the wall clock are skipped. */
typedef int (*store_scan_cb)(void *ud, store_slice key, store_slice value);
int store_fsm_scan(store_fsm *f, store_slice prefix, store_slice after,
                   size_t limit, store_scan_cb cb, void *ud, bool *more);

/* ---- expiry (kv commands) ---- */

/* Wall clock in ms since the epoch (what `now` of kv commands holds). */
uint64_t store_now_ms(void);
/* Expiry of a live key: WIRE_OK and *expire (0: the key has none), or
 * WIRE_ENOTFOUND when the key is absent or expired at `now`. */
int store_fsm_expiry(store_fsm *f, store_slice key, uint64_t now,
                     uint64_t *expire);
/* Keys whose expiry is <= now, in expiry order, at most `limit`: what the
 * leader proposes KV_EXPIRED for.  cb as for scans (value empty). */
int store_fsm_due(store_fsm *f, uint64_t now, size_t limit, store_scan_cb cb,
                  void *ud);

/* ---- snapshots (snap.c)
 * ------------------------------------------------------------ */

/* Snapshot stream, format version 1:
 *
 *   header (STORE_SNAP_HEADER_SIZE bytes, little-endian):
 *     magic "WIRESNAP" | u32 format | u32 flags (0) | u64 applied index |
 *     u64 record count | u64 body length | u32 crc32c(body) |
 *     u32 crc32c(header bytes 0..43)
 *   body: records, column family by column family, keys in order:
 *     u8 family | varint klen | key | varint vlen | value
 *
 * The header comes first in the stream but is produced last (it needs the
 * count and checksum): store_snap_write hands it back for the caller to put
 * in front (raft: the first buffer; a file: pwrite at offset 0). */
#define STORE_SNAP_HEADER_SIZE 48
#define STORE_SNAP_FORMAT 1

typedef struct store_snap store_snap;

/* Pin a consistent view of `f` (cheap: a RocksDB snapshot) and its applied
 * index.  Node thread. */
int store_snap_begin(store_fsm *f, store_snap **out);
uint64_t store_snap_index(const store_snap *s);
/* Serialise the view: body bytes go to `write` in pieces (a non-zero return
 * aborts and is returned), then the header is stored in `header`.  May run
 * on another thread than the node thread, concurrently with applies. */
typedef int (*store_write_fn)(void *ctx, const void *p, size_t n);
int store_snap_write(store_snap *s, store_write_fn write, void *ctx,
                     uint8_t header[STORE_SNAP_HEADER_SIZE]);
void store_snap_end(store_snap *s); /* NULL is fine */

/* Replace the whole state of `f` by the snapshot in buf[0..len) (header +
 * body, contiguous).  The snapshot is validated completely (magic, format,
 * lengths, record structure, count, checksums) before anything changes;
 * then one RocksDB write batch deletes every existing key and writes the
 * snapshot's, applied index included, so a crash leaves either the old or
 * the new state.  Skipped (*skipped = true, nothing changes) when the local
 * applied index is >= the snapshot's: the local state is then the same
 * log prefix or a longer one.  WIRE_OK, WIRE_ECORRUPT, WIRE_EUNSUPPORTED,
 * WIRE_EIO, WIRE_ENOMEM.  Node thread. */
int store_fsm_restore(store_fsm *f, const void *buf, size_t len, bool *skipped);

/* CRC-32C (Castagnoli), software; `crc` 0 to start. */
uint32_t store_crc32c(uint32_t crc, const void *p, size_t n);

/* ---- raft glue (raft_fsm.c)
 * ------------------------------------------------------ */

typedef struct store_raft_fsm store_raft_fsm;

/* What a raft_apply_cb receives as `result` for our entries: valid only
 * during the callback (it lives in the glue and is reused). */
typedef struct store_apply_result {
  uint64_t index;
  const store_result *res;
  size_t n;
} store_apply_result;

/* Glue for one FSM (borrowed; must outlive the glue). */
int store_raft_fsm_new(store_fsm *fsm, store_raft_fsm **out);
/* The vtable to give raft_init (or raft_fixture_grow). */
struct raft_fsm *store_raft_fsm_vtable(store_raft_fsm *g);
/* The raft instance, needed to know the index being applied; set after
 * raft_init and before raft_start. */
void store_raft_fsm_bind(store_raft_fsm *g, struct raft *r);
/* Free after the raft instance is closed; NULL is fine. */
void store_raft_fsm_free(store_raft_fsm *g);
/* Snapshots restored that replaced the state (not the skipped ones, such as
 * a node's own snapshot at startup): counts snapshot installs. */
uint64_t store_raft_fsm_restores(const store_raft_fsm *g);

/* Encode `cmd` into a buffer from raft_malloc, ready for raft_apply. */
int store_raft_encode(const store_cmd *cmd, const store_limits *lim,
                      struct raft_buffer *out, char *err, size_t errsz);

#endif /* WIRE_STORE_H */
