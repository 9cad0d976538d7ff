/*
 * Helpers shared by the store unit tests: temporary directories, applying
 * a command in one call, and a full dump of every column family (through
 * the private rocks.h) to compare two databases byte for byte.
 */
#ifndef WIRE_STORE_TEST_H
#define WIRE_STORE_TEST_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/rocks.h"
#include "store/store.h"

static inline char *st_tmpdir(void) {
  char *d = strdup("/tmp/wire-store-XXXXXX");
  if (!d || !mkdtemp(d)) abort();
  return d;
}

static inline int st_rm_one(const char *p, const struct stat *sb, int flag,
                            struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(p);
}

static inline void st_rmdir(char *d) {
  if (!d) return;
  nftw(d, st_rm_one, 16, FTW_DEPTH | FTW_PHYS);
  free(d);
}

/* A subdirectory path of `d` (malloc'd). */
static inline char *st_path(const char *d, const char *name) {
  size_t n = strlen(d) + strlen(name) + 2;
  char *p = malloc(n);
  if (!p) abort();
  snprintf(p, n, "%s/%s", d, name);
  return p;
}

/* Encode and apply; results as store_fsm_apply gives them. */
static inline int st_apply(store_fsm *f, uint64_t index, const store_cmd *c,
                           const store_result **res, size_t *n) {
  core_buf b = {0};
  char err[256];
  int rc = store_cmd_encode(c, NULL, &b, err, sizeof err);
  if (rc) {
    fprintf(stderr, "encode: %s\n", err);
    return rc;
  }
  rc = store_fsm_apply(f, index, b.data, b.len, res, n);
  core_buf_free(&b);
  return rc;
}

/* Every (family, key, value) of the database, in order, as bytes. */
static inline void st_dump(store_fsm *f, core_buf *out) {
  out->len = 0;
  for (int cf = 0; cf < STORE_CF_COUNT; cf++) {
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf(f->rk.db, f->rk.ro, f->rk.cf[cf]);
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
      size_t kl, vl;
      const char *k = rocksdb_iter_key(it, &kl);
      const char *v = rocksdb_iter_value(it, &vl);
      char fam = (char)cf;
      core_buf_append(out, &fam, 1);
      core_buf_append(out, &kl, sizeof kl);
      core_buf_append(out, k, kl);
      core_buf_append(out, &vl, sizeof vl);
      core_buf_append(out, v, vl);
    }
    rocksdb_iter_destroy(it);
  }
}

static inline int st_buf_write(void *ctx, const void *p, size_t n) {
  return core_buf_append(ctx, p, n);
}

/* A whole snapshot of f into out (header then body), as raft would ship
 * it; *index (may be NULL) its index.  0 or the store's error. */
static inline int st_snapshot(store_fsm *f, core_buf *out, uint64_t *index) {
  store_snap *s;
  int rc = store_snap_begin(f, &s);
  if (rc) return rc;
  if (index) *index = store_snap_index(s);
  core_buf body = {0};
  uint8_t hdr[STORE_SNAP_HEADER_SIZE];
  rc = store_snap_write(s, st_buf_write, &body, hdr);
  store_snap_end(s);
  out->len = 0;
  if (!rc) {
    core_buf_append(out, hdr, sizeof hdr);
    core_buf_append(out, body.data, body.len);
  }
  core_buf_free(&body);
  return rc;
}

#endif
