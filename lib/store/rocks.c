/*
 * RocksDB handle of the replicated store: opens the database with one
 * column family per kind of state (kv, pipelines, checkpoints, meta),
 * creating missing ones, and keeps the read and write options the FSM uses.
 *
 * Durability: writes go through the WAL without fsync (sync=false).  That
 * is safe only because the raft log is the durable record: every FSM write
 * batch carries the raft index it applies, so after a crash the FSM reads
 * back its applied index and raft replays the rest of the log onto it, and
 * entries at or below that index are skipped.  A process crash loses
 * nothing (the WAL is in the page cache); a machine crash may lose a tail
 * of writes, and point-in-time WAL recovery guarantees that what is left is
 * a prefix, so the applied index still describes the state exactly.
 */
#include <string.h>

#include "rocks.h"

static const char *const cf_names[STORE_CF_COUNT] = {
    [STORE_CF_KV] = "kv",
    [STORE_CF_PIPELINES] = "pipelines",
    [STORE_CF_CHECKPOINTS] = "checkpoints",
    [STORE_CF_META] = "meta",
    [STORE_CF_EXPIRES] = "expires",
};

/* Copy a RocksDB error into err and free it. */
static int rocks_err(char *rerr, int code, char *err, size_t errsz,
                     const char *what) {
  core_msg(err, errsz, code, "rocksdb %s: %s", what, rerr ? rerr : "failed");
  rocksdb_free(rerr);
  return code;
}

void store_rocks_close(store_rocks *r) {
  if (!r) return;
  for (size_t i = 0; i < r->n_all; i++)
    rocksdb_column_family_handle_destroy(r->all[i]);
  core_free(r->all);
  if (r->db) rocksdb_close(r->db);
  if (r->ro) rocksdb_readoptions_destroy(r->ro);
  if (r->wo) rocksdb_writeoptions_destroy(r->wo);
  if (r->opts) rocksdb_options_destroy(r->opts);
  memset(r, 0, sizeof *r);
}

int store_rocks_open(store_rocks *r, const char *dir, char *err, size_t errsz) {
  memset(r, 0, sizeof *r);
  int rc = WIRE_OK;
  char *rerr = NULL;
  char **found = NULL;
  size_t n_found = 0;
  const char **names = NULL;
  const rocksdb_options_t **cf_opts = NULL;

  r->opts = rocksdb_options_create();
  rocksdb_options_set_create_if_missing(r->opts, 1);
  rocksdb_options_set_create_missing_column_families(r->opts, 1);
  /* 2 = kPointInTimeRecovery: recover a consistent prefix of the WAL. */
  rocksdb_options_set_wal_recovery_mode(r->opts, 2);
  rocksdb_options_set_keep_log_file_num(r->opts, 4);
  rocksdb_options_set_max_log_file_size(r->opts, 4u << 20);
  /* RocksDB's info LOG file keeps only its header (the options, at open).
   * Debian's librocksdb is built with assertions on, and its logger
   * asserts on the next line after a failed write: with the disk full, the
   * error handler's own log line aborted the process.  Errors reach the
   * node's log through the statuses RocksDB returns (fsm.c). */
  rocksdb_options_set_info_log_level(r->opts, 5); /* HEADER_LEVEL */
  r->ro = rocksdb_readoptions_create();
  r->wo = rocksdb_writeoptions_create();
  rocksdb_writeoptions_set_sync(r->wo, 0); /* see the comment at the top */

  /* Families already on disk (none for a new database: the call fails). */
  found = rocksdb_list_column_families(r->opts, dir, &n_found, &rerr);
  if (rerr) {
    /* The list is allocated (empty) even on failure. */
    if (found) rocksdb_list_column_families_destroy(found, n_found);
    rocksdb_free(rerr);
    rerr = NULL;
    found = NULL;
    n_found = 0;
  }

  size_t cap = n_found + STORE_CF_COUNT + 1;
  names = core_calloc(cap, sizeof *names);
  cf_opts = core_calloc(cap, sizeof *cf_opts);
  r->all = core_calloc(cap, sizeof *r->all);
  if (!names || !cf_opts || !r->all) {
    rc = core_msg(err, errsz, WIRE_ENOMEM, "rocksdb open: out of memory");
    goto out;
  }
  size_t n = 0;
  bool has_default = false;
  for (size_t i = 0; i < n_found; i++) {
    names[n++] = found[i];
    if (!strcmp(found[i], "default")) has_default = true;
  }
  if (!has_default) names[n++] = "default";
  for (int c = 0; c < STORE_CF_COUNT; c++) {
    bool have = false;
    for (size_t i = 0; i < n; i++)
      if (!strcmp(names[i], cf_names[c])) have = true;
    if (!have) names[n++] = cf_names[c];
  }
  for (size_t i = 0; i < n; i++) cf_opts[i] = r->opts;

  r->db = rocksdb_open_column_families(r->opts, dir, (int)n, names, cf_opts,
                                       r->all, &rerr);
  if (rerr || !r->db) {
    r->db = NULL;
    rc = rocks_err(rerr, WIRE_EIO, err, errsz, "open");
    goto out;
  }
  r->n_all = n;
  for (int c = 0; c < STORE_CF_COUNT; c++)
    for (size_t i = 0; i < n; i++)
      if (!strcmp(names[i], cf_names[c])) r->cf[c] = r->all[i];

out:
  if (found) rocksdb_list_column_families_destroy(found, n_found);
  core_free(names);
  core_free(cf_opts);
  if (rc) store_rocks_close(r);
  return rc;
}

int store_rocks_get(store_rocks *r, int cf, const rocksdb_readoptions_t *ro,
                    store_slice key, core_buf *out, char *err, size_t errsz) {
  char *rerr = NULL;
  rocksdb_pinnableslice_t *v = rocksdb_get_pinned_cf(
      r->db, ro ? ro : r->ro, r->cf[cf], key.ptr, key.len, &rerr);
  if (rerr) return rocks_err(rerr, WIRE_EIO, err, errsz, "get");
  if (!v) return WIRE_ENOTFOUND;
  size_t n;
  const char *p = rocksdb_pinnableslice_value(v, &n);
  out->len = 0;
  int rc = core_buf_append(out, p, n);
  rocksdb_pinnableslice_destroy(v);
  if (rc) return core_msg(err, errsz, WIRE_ENOMEM, "get: out of memory");
  return WIRE_OK;
}

int store_ckpt_key(core_buf *out, store_slice pipeline, int tag,
                   store_slice source) {
  char len[10];
  size_t h = 0;
  uint64_t v = pipeline.len;
  while (v >= 0x80) {
    len[h++] = (char)(0x80 | (v & 0x7f));
    v >>= 7;
  }
  len[h++] = (char)v;
  out->len = 0;
  if (core_buf_reserve(out, h + pipeline.len + 1 + source.len + 1))
    return WIRE_ENOMEM;
  char *p = out->data;
  memcpy(p, len, h);
  p += h;
  if (pipeline.len) memcpy(p, pipeline.ptr, pipeline.len);
  p += pipeline.len;
  *p++ = (char)tag;
  if (source.len) memcpy(p, source.ptr, source.len);
  p += source.len;
  out->len = (size_t)(p - out->data);
  return WIRE_OK;
}
