/*
 * Private to lib/store/: the RocksDB handle under the FSM, the key layouts
 * of its column families and the FSM object itself (shared by fsm.c and
 * snap.c).  Other subsystems use store.h only.
 */
#ifndef WIRE_STORE_ROCKS_H
#define WIRE_STORE_ROCKS_H

#include <rocksdb/c.h>

#include "store.h"
#include "store/vcache.h"

/* Column families we own.  The number is also the family byte of snapshot
 * records: part of the snapshot format, never renumber. */
enum {
  STORE_CF_KV = 0,          /* client keys -> values */
  STORE_CF_PIPELINES = 1,   /* pipeline name -> definition */
  STORE_CF_CHECKPOINTS = 2, /* see the checkpoint key layout below */
  STORE_CF_META = 3,        /* applied index, format, members */
  STORE_CF_EXPIRES = 4,     /* expiry times of kv keys, see below */
  STORE_CF_COUNT = 5
};

/* Keys of the expires family: both records exist for every key with an
 * expiry, so that a key's expiry is one point read and the keys due are
 * the first records of the 't' range.
 *   'k' key             -> u64 BE expiry (ms since the epoch)
 *   't' u64 BE expiry key -> empty */
#define STORE_EXP_KEY 'k'
#define STORE_EXP_TIME 't'
#define STORE_META_MEMBER_RESP "member_resp/" /* + u64 BE id -> address */

/* Keys of the meta family. */
#define STORE_META_APPLIED "applied" /* u64 big-endian */
#define STORE_META_FORMAT "format"   /* u32 big-endian, STORE_DB_FORMAT */
#define STORE_META_MEMBER                         \
  "member/" /* + u64 big-endian id -> value:      \
               varint len, raft addr, varint len, \
               http addr */
#define STORE_DB_FORMAT 1

/* Checkpoint keys: varint len(pipeline) | pipeline | tag [| source].  The
 * length prefix keeps "ab"+"c" and "a"+"bc" apart and makes one pipeline's
 * keys a contiguous range. */
#define STORE_CKPT_FENCE 0x00 /* -> u64 BE newest accepted term */
#define STORE_CKPT_POS 0x01   /* + source -> u64 BE term | position */

typedef struct store_rocks {
  rocksdb_t *db;
  rocksdb_options_t *opts;
  rocksdb_readoptions_t *ro;
  rocksdb_writeoptions_t *wo;
  rocksdb_column_family_handle_t *cf[STORE_CF_COUNT];
  /* Every family opened, ours and any other found on disk (RocksDB wants
   * them all open); handles are destroyed from here. */
  rocksdb_column_family_handle_t **all;
  size_t n_all;
} store_rocks;

/* Open or create the database in `dir` with our column families (missing
 * ones are created).  On failure everything is released. */
int store_rocks_open(store_rocks *r, const char *dir, char *err, size_t errsz);

/* Error for calls on an FSM whose RocksDB is closed (a reopen after a
 * failed write failed too; store_fsm_apply retries it): sets f->err. */
int store_fsm_db_gone(struct store_fsm *f);
void store_rocks_close(store_rocks *r);

/* Point read in family `cf`; value appended to `out` after out->len = 0.
 * WIRE_OK, WIRE_ENOTFOUND, WIRE_EIO (message in err). */
int store_rocks_get(store_rocks *r, int cf, const rocksdb_readoptions_t *ro,
                    store_slice key, core_buf *out, char *err, size_t errsz);

/* Big-endian fixed-width helpers (sort order = numeric order). */
static inline void store_be64_put(char *p, uint64_t v) {
  for (int i = 7; i >= 0; i--) {
    p[i] = (char)(v & 0xff);
    v >>= 8;
  }
}
static inline uint64_t store_be64_get(const char *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | (unsigned char)p[i];
  return v;
}

struct store_fsm {
  store_rocks rk;
  const core_log *log;
  uint64_t applied; /* mirror of meta/applied */
  /* Per-apply scratch, reused: the results, key and value buffers (the
   * entry's writes are in the write log below). */
  store_result *res;
  size_t res_cap;
  core_buf key, val, tmp;
  core_buf ekey, eval; /* expiry records */
  /* false only while the expires family is known to be empty: then no
   * read or write needs to look expiries up (the common case) */
  bool has_exp;
  core_buf rbytes;      /* result bytes of the entry being applied */
  /* The writes of the entry being applied, last one per (family, key):
   * records in wlog, a hash index of them in wslots (offset + 1); what is
   * read back by later commands of the entry and written to RocksDB (see
   * commit_batch).  wlog_failed: out of memory: the entry fails. */
  core_buf wlog;
  size_t *wslots, wcap, wn;
  bool wlog_failed;
  rocksdb_writebatch_t *pb;
  size_t *roff;         /* per result: offset in rbytes + 1 (0: none) */
  int live_snaps; /* store_snap objects not yet ended */
  char *dir;      /* of the database (reopened after a failed write) */
  int wfail;      /* WIRE_OK, or the code of a failed RocksDB write */
  char wfail_msg[300];
  int64_t wfail_retry_ns; /* next reopen attempt (monotonic) */
  uint64_t pipes_version; /* store_fsm_pipelines_version() */
  store_vcache vc;        /* point reads of the kv family (vcache.h) */
  char err[WIRE_ERRMSG_SIZE];
};

/* Build the checkpoint key for (pipeline, tag, source) into `out`. */
int store_ckpt_key(core_buf *out, store_slice pipeline, int tag,
                   store_slice source);

#endif /* WIRE_STORE_ROCKS_H */
