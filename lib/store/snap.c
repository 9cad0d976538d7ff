/*
 * Snapshots of the replicated store: serialise a consistent view of every
 * column family with the applied index it reflects, and restore the whole
 * state from such a stream.  raft takes snapshots every `threshold`
 * entries and sends them to followers that fell behind its trailing log.
 *
 * Consistency comes from a RocksDB snapshot: store_snap_begin pins the
 * view on the node thread between two applies (so its meta/applied is
 * exactly the state it holds) and the serialisation may then run on a
 * worker thread while applies go on.
 *
 * Restore validates the whole stream (header checksum, format, lengths,
 * record structure, count, body checksum) before touching anything, then
 * replaces the state with ONE write batch: per column family a range
 * deletion from "" to the current last key plus a point deletion of that
 * key, then every record, then the applied index.  A write batch is atomic,
 * so a crash during restore leaves the old state or the new one, each with
 * its own applied index.  (The alternative, restoring into a fresh database
 * directory and swapping it in, would not hold both copies in memory but
 * needs the handle closed and reopened under the FSM's users; the write
 * batch is simpler while snapshots fit in memory, which raft's in-memory
 * snapshot buffers require anyway.)
 *
 * A restore is skipped when the local applied index is at or past the
 * snapshot's: committed entries are the same on every node, so the local
 * state then already contains the snapshot's.  That happens at every
 * restart (raft restores its last snapshot, the FSM is usually ahead) and
 * the replayed entries after it are then skipped by apply.
 */
#include <string.h>

#include "rocks.h"

/* ---- CRC-32C
 * ------------------------------------------------------------------- */

static const uint32_t crc32c_table[256] = {
    0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4, 0xc79a971f, 0x35f1141c,
    0x26a1e7e8, 0xd4ca64eb, 0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b,
    0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24, 0x105ec76f, 0xe235446c,
    0xf165b798, 0x030e349b, 0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
    0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54, 0x5d1d08bf, 0xaf768bbc,
    0xbc267848, 0x4e4dfb4b, 0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a,
    0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35, 0xaa64d611, 0x580f5512,
    0x4b5fa6e6, 0xb93425e5, 0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
    0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45, 0xf779deae, 0x05125dad,
    0x1642ae59, 0xe4292d5a, 0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a,
    0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595, 0x417b1dbc, 0xb3109ebf,
    0xa0406d4b, 0x522bee48, 0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
    0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687, 0x0c38d26c, 0xfe53516f,
    0xed03a29b, 0x1f682198, 0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927,
    0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38, 0xdbfc821c, 0x2997011f,
    0x3ac7f2eb, 0xc8ac71e8, 0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
    0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096, 0xa65c047d, 0x5437877e,
    0x4767748a, 0xb50cf789, 0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859,
    0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46, 0x7198540d, 0x83f3d70e,
    0x90a324fa, 0x62c8a7f9, 0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
    0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36, 0x3cdb9bdd, 0xceb018de,
    0xdde0eb2a, 0x2f8b6829, 0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c,
    0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93, 0x082f63b7, 0xfa44e0b4,
    0xe9141340, 0x1b7f9043, 0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
    0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3, 0x55326b08, 0xa759e80b,
    0xb4091bff, 0x466298fc, 0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c,
    0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033, 0xa24bb5a6, 0x502036a5,
    0x4370c551, 0xb11b4652, 0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
    0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d, 0xef087a76, 0x1d63f975,
    0x0e330a81, 0xfc588982, 0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d,
    0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622, 0x38cc2a06, 0xcaa7a905,
    0xd9f75af1, 0x2b9cd9f2, 0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
    0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530, 0x0417b1db, 0xf67c32d8,
    0xe52cc12c, 0x1747422f, 0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff,
    0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0, 0xd3d3e1ab, 0x21b862a8,
    0x32e8915c, 0xc083125f, 0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
    0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90, 0x9e902e7b, 0x6cfbad78,
    0x7fab5e8c, 0x8dc0dd8f, 0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee,
    0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1, 0x69e9f0d5, 0x9b8273d6,
    0x88d28022, 0x7ab90321, 0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
    0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81, 0x34f4f86a, 0xc69f7b69,
    0xd5cf889d, 0x27a40b9e, 0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e,
    0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351,
};

uint32_t store_crc32c(uint32_t crc, const void *p, size_t n) {
  const unsigned char *s = p;
  crc = ~crc;
  while (n--) crc = crc32c_table[(crc ^ *s++) & 0xff] ^ (crc >> 8);
  return ~crc;
}

/* ---- little-endian header fields
 * --------------------------------------------------- */

static void le32_put(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void le64_put(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t le32_get(const uint8_t *p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
static uint64_t le64_get(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

#define SNAP_MAGIC "WIRESNAP"
/* Header offsets. */
enum {
  H_MAGIC = 0,
  H_FORMAT = 8,
  H_FLAGS = 12,
  H_INDEX = 16,
  H_COUNT = 24,
  H_BODYLEN = 32,
  H_BODYCRC = 40,
  H_HDRCRC = 44
};

/* ---- taking a snapshot
 * ------------------------------------------------------------------ */

struct store_snap {
  store_fsm *f;
  const rocksdb_snapshot_t *snap;
  rocksdb_readoptions_t *ro;
  uint64_t index;
};

int store_snap_begin(store_fsm *f, store_snap **out) {
  *out = NULL;
  if (!f->rk.db) return store_fsm_db_gone(f);
  store_snap *s = core_calloc(1, sizeof *s);
  if (!s)
    return core_msg(f->err, sizeof f->err, WIRE_ENOMEM,
                    "snapshot: out of memory");
  s->f = f;
  s->snap = rocksdb_create_snapshot(f->rk.db);
  s->ro = rocksdb_readoptions_create();
  rocksdb_readoptions_set_snapshot(s->ro, s->snap);
  /* The view's own applied index (not f->applied): they agree on the node
   * thread, and reading it through the view makes that evident. */
  core_buf v = {0};
  int rc =
      store_rocks_get(&f->rk, STORE_CF_META, s->ro,
                      store_str(STORE_META_APPLIED), &v, f->err, sizeof f->err);
  if (rc == WIRE_OK && v.len == 8)
    s->index = store_be64_get(v.data);
  else if (rc == WIRE_ENOTFOUND)
    s->index = 0, rc = WIRE_OK;
  else if (rc == WIRE_OK)
    rc = core_msg(f->err, sizeof f->err, WIRE_ECORRUPT,
                  "meta/applied has %zu bytes", v.len);
  core_buf_free(&v);
  f->live_snaps++;
  if (rc) {
    store_snap_end(s);
    return rc;
  }
  *out = s;
  return WIRE_OK;
}

uint64_t store_snap_index(const store_snap *s) { return s->index; }

void store_snap_end(store_snap *s) {
  if (!s) return;
  rocksdb_readoptions_destroy(s->ro);
  rocksdb_release_snapshot(s->f->rk.db, s->snap);
  s->f->live_snaps--;
  core_free(s);
}

/* Staging for small pieces; large values bypass it. */
typedef struct snap_out {
  store_write_fn write;
  void *ctx;
  uint32_t crc;
  uint64_t len;
  char stage[64 * 1024];
  size_t n;
} snap_out;

static int out_flush(snap_out *o) {
  if (!o->n) return WIRE_OK;
  int rc = o->write(o->ctx, o->stage, o->n);
  o->n = 0;
  return rc;
}

static int out_put(snap_out *o, const void *p, size_t n) {
  o->crc = store_crc32c(o->crc, p, n);
  o->len += n;
  if (n > sizeof o->stage / 2) {
    int rc = out_flush(o);
    return rc ? rc : o->write(o->ctx, p, n);
  }
  if (o->n + n > sizeof o->stage) {
    int rc = out_flush(o);
    if (rc) return rc;
  }
  memcpy(o->stage + o->n, p, n);
  o->n += n;
  return WIRE_OK;
}

static int out_varint(snap_out *o, uint64_t v) {
  char b[10];
  size_t n = 0;
  while (v >= 0x80) {
    b[n++] = (char)(0x80 | (v & 0x7f));
    v >>= 7;
  }
  b[n++] = (char)v;
  return out_put(o, b, n);
}

int store_snap_write(store_snap *s, store_write_fn write, void *ctx,
                     uint8_t header[STORE_SNAP_HEADER_SIZE]) {
  store_rocks *rk = &s->f->rk;
  snap_out *o = core_malloc(sizeof *o);
  if (!o) return WIRE_ENOMEM;
  o->write = write;
  o->ctx = ctx;
  o->crc = 0;
  o->len = 0;
  o->n = 0;
  uint64_t count = 0;
  int rc = WIRE_OK;
  for (int cf = 0; cf < STORE_CF_COUNT && !rc; cf++) {
    rocksdb_iterator_t *it =
        rocksdb_create_iterator_cf(rk->db, s->ro, rk->cf[cf]);
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it) && !rc;
         rocksdb_iter_next(it)) {
      size_t kl, vl;
      const char *k = rocksdb_iter_key(it, &kl);
      const char *v = rocksdb_iter_value(it, &vl);
      char fam = (char)cf;
      rc = out_put(o, &fam, 1);
      if (!rc) rc = out_varint(o, kl);
      if (!rc) rc = out_put(o, k, kl);
      if (!rc) rc = out_varint(o, vl);
      if (!rc && vl) rc = out_put(o, v, vl);
      count++;
    }
    char *rerr = NULL;
    rocksdb_iter_get_error(it, &rerr);
    rocksdb_iter_destroy(it);
    if (rerr) {
      /* Worker thread: no write to the FSM's message buffer. */
      rocksdb_free(rerr);
      if (!rc) rc = WIRE_EIO;
    }
  }
  if (!rc) rc = out_flush(o);
  if (!rc) {
    memset(header, 0, STORE_SNAP_HEADER_SIZE);
    memcpy(header + H_MAGIC, SNAP_MAGIC, 8);
    le32_put(header + H_FORMAT, STORE_SNAP_FORMAT);
    le32_put(header + H_FLAGS, 0);
    le64_put(header + H_INDEX, s->index);
    le64_put(header + H_COUNT, count);
    le64_put(header + H_BODYLEN, o->len);
    le32_put(header + H_BODYCRC, o->crc);
    le32_put(header + H_HDRCRC, store_crc32c(0, header, H_HDRCRC));
  }
  core_free(o);
  return rc;
}

/* ---- restore
 * ------------------------------------------------------------------------------
 */

typedef struct rec {
  int cf;
  store_slice key, value;
} rec;

static bool rd_varint(const char **p, const char *end, uint64_t *out) {
  uint64_t v = 0;
  for (unsigned i = 0; i < 10; i++) {
    if (*p >= end) return false;
    unsigned char b = (unsigned char)*(*p)++;
    if (i == 9 && b > 1) return false;
    v |= (uint64_t)(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      *out = v;
      return true;
    }
  }
  return false;
}

static bool next_rec(const char **p, const char *end, rec *r) {
  if (*p >= end) return false;
  r->cf = (unsigned char)*(*p)++;
  if (r->cf >= STORE_CF_COUNT) return false;
  uint64_t n;
  if (!rd_varint(p, end, &n) || n > (uint64_t)(end - *p)) return false;
  r->key = (store_slice){*p, (size_t)n};
  *p += n;
  if (!rd_varint(p, end, &n) || n > (uint64_t)(end - *p)) return false;
  r->value = (store_slice){*p, (size_t)n};
  *p += n;
  return true;
}

/* Header checks; fills index, count. */
static int check_header(store_fsm *f, const uint8_t *h, size_t len,
                        uint64_t *index, uint64_t *count) {
  if (len < STORE_SNAP_HEADER_SIZE)
    return core_msg(f->err, sizeof f->err, WIRE_ECORRUPT,
                    "snapshot: %zu bytes, shorter than its header", len);
  if (memcmp(h + H_MAGIC, SNAP_MAGIC, 8))
    return core_msg(f->err, sizeof f->err, WIRE_ECORRUPT,
                    "snapshot: bad magic");
  if (le32_get(h + H_HDRCRC) != store_crc32c(0, h, H_HDRCRC))
    return core_msg(f->err, sizeof f->err, WIRE_ECORRUPT,
                    "snapshot: header checksum mismatch");
  uint32_t fmt = le32_get(h + H_FORMAT);
  if (fmt != STORE_SNAP_FORMAT || le32_get(h + H_FLAGS) != 0)
    return core_msg(f->err, sizeof f->err, WIRE_EUNSUPPORTED,
                    "snapshot: format %u flags 0x%x not supported", fmt,
                    le32_get(h + H_FLAGS));
  if (le64_get(h + H_BODYLEN) != len - STORE_SNAP_HEADER_SIZE)
    return core_msg(f->err, sizeof f->err, WIRE_ECORRUPT,
                    "snapshot: body of %zu bytes, header says %llu",
                    len - STORE_SNAP_HEADER_SIZE,
                    (unsigned long long)le64_get(h + H_BODYLEN));
  *index = le64_get(h + H_INDEX);
  *count = le64_get(h + H_COUNT);
  return WIRE_OK;
}

/* Delete everything in family `cf`: a range tombstone ["", last) and a
 * point tombstone for `last` (the range end is exclusive). */
static int wipe_family(store_fsm *f, rocksdb_writebatch_t *wb, int cf) {
  rocksdb_iterator_t *it =
      rocksdb_create_iterator_cf(f->rk.db, f->rk.ro, f->rk.cf[cf]);
  rocksdb_iter_seek_to_last(it);
  if (rocksdb_iter_valid(it)) {
    size_t kl;
    const char *k = rocksdb_iter_key(it, &kl);
    rocksdb_writebatch_delete_range_cf(wb, f->rk.cf[cf], "", 0, k, kl);
    rocksdb_writebatch_delete_cf(wb, f->rk.cf[cf], k, kl);
  }
  char *rerr = NULL;
  rocksdb_iter_get_error(it, &rerr);
  rocksdb_iter_destroy(it);
  if (rerr) {
    int rc =
        core_msg(f->err, sizeof f->err, WIRE_EIO, "rocksdb iterate: %s", rerr);
    rocksdb_free(rerr);
    return rc;
  }
  return WIRE_OK;
}

int store_fsm_restore(store_fsm *f, const void *buf, size_t len,
                      bool *skipped) {
  *skipped = false;
  if (!f->rk.db) return store_fsm_db_gone(f);
  uint64_t index = 0, count = 0;
  int rc = check_header(f, buf, len, &index, &count);
  if (rc) return rc;
  if (f->applied >= index) {
    *skipped = true;
    core_logf(f->log, WIRE_LOG_INFO, "store",
              "snapshot at %llu skipped: applied index is %llu",
              (unsigned long long)index, (unsigned long long)f->applied);
    return WIRE_OK;
  }
  const uint8_t *h = buf;
  const char *body = (const char *)buf + STORE_SNAP_HEADER_SIZE;
  const char *end = (const char *)buf + len;
  if (store_crc32c(0, body, (size_t)(end - body)) != le32_get(h + H_BODYCRC))
    return core_msg(f->err, sizeof f->err, WIRE_ECORRUPT,
                    "snapshot: body checksum mismatch");
  /* Structure and count, before changing anything. */
  uint64_t n = 0;
  rec r;
  for (const char *p = body; p < end; n++)
    if (!next_rec(&p, end, &r))
      return core_msg(f->err, sizeof f->err, WIRE_ECORRUPT,
                      "snapshot: malformed record %llu", (unsigned long long)n);
  if (n != count)
    return core_msg(f->err, sizeof f->err, WIRE_ECORRUPT,
                    "snapshot: %llu records, header says %llu",
                    (unsigned long long)n, (unsigned long long)count);

  f->pipes_version++;
  vcache_clear(&f->vc); /* the state is replaced wholesale */
  rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
  for (int cf = 0; cf < STORE_CF_COUNT && !rc; cf++)
    rc = wipe_family(f, wb, cf);
  for (const char *p = body; !rc && p < end;) {
    next_rec(&p, end, &r);
    rocksdb_writebatch_put_cf(wb, f->rk.cf[r.cf], r.key.ptr, r.key.len,
                              r.value.len ? r.value.ptr : "", r.value.len);
  }
  char be[8];
  store_be64_put(be, index);
  rocksdb_writebatch_put_cf(wb, f->rk.cf[STORE_CF_META], STORE_META_APPLIED,
                            strlen(STORE_META_APPLIED), be, 8);
  char fmt[4] = {0, 0, 0, STORE_DB_FORMAT};
  rocksdb_writebatch_put_cf(wb, f->rk.cf[STORE_CF_META], STORE_META_FORMAT,
                            strlen(STORE_META_FORMAT), fmt, 4);
  if (!rc) {
    char *rerr = NULL;
    rocksdb_write(f->rk.db, f->rk.wo, wb, &rerr);
    if (rerr) {
      rc = core_msg(f->err, sizeof f->err, WIRE_EIO,
                    "snapshot restore: rocksdb write: %s", rerr);
      rocksdb_free(rerr);
    }
  }
  rocksdb_writebatch_destroy(wb);
  if (rc) return rc;
  core_logf(f->log, WIRE_LOG_INFO, "store",
            "restored snapshot at %llu (%llu records), applied was %llu",
            (unsigned long long)index, (unsigned long long)count,
            (unsigned long long)f->applied);
  f->applied = index;
  f->has_exp = true; /* the snapshot may hold expiries */
  return WIRE_OK;
}
