/*
 * Unit tests of the kv commands of the store (types 16..40: what the RESP
 * front end proposes): SET with NX/XX/GET/KEEPTTL and expiry, MSET(NX),
 * APPEND, GETDEL, EXPIRE/PERSIST, expiry-aware DEL and INCRBY, FLUSH,
 * KV_EXPIRED (active expiry), MEMBER_RESP; expiry as seen by reads (wall
 * clock) and by apply (the command's `now`, deterministic); the expiry
 * records travel in snapshots; results carry old values; codec round trip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "store_test.h"

/* `now` of the commands: the real clock, so that reads (which use the wall
 * clock) agree; expiries are set far in the past or future of it. */
static uint64_t NOW;

typedef struct fx {
  char *dir, *path;
  store_fsm *f;
  uint64_t idx;
} fx;

static int setup(void **state) {
  fx *x = calloc(1, sizeof *x);
  x->dir = st_tmpdir();
  x->path = st_path(x->dir, "db");
  NOW = store_now_ms();
  char err[256];
  if (store_fsm_open(x->path, NULL, &x->f, err, sizeof err)) {
    fprintf(stderr, "%s\n", err);
    return -1;
  }
  *state = x;
  return 0;
}

static int teardown(void **state) {
  fx *x = *state;
  store_fsm_close(x->f);
  free(x->path);
  st_rmdir(x->dir);
  free(x);
  return 0;
}


static store_cmd kv(int type, const char *k, const char *v, uint64_t flags,
                    uint64_t expire) {
  store_cmd c = {.type = (store_cmd_type)type};
  if (k) c.u.kv.key = store_str(k);
  if (v) c.u.kv.value = store_str(v);
  c.u.kv.flags = flags;
  c.u.kv.now = NOW;
  c.u.kv.expire = expire;
  return c;
}

/* Apply one command, expect `status`; the result is copied to *out. */
static store_result run(fx *x, store_cmd c, int status, core_buf *bytes) {
  const store_result *res;
  size_t n;
  assert_int_equal(st_apply(x->f, ++x->idx, &c, &res, &n), 0);
  assert_int_equal(n, 1);
  if ((int)res[0].status != status)
    fail_msg("%s: status %s, expected %s", store_cmd_name(c.type),
             store_status_str(res[0].status), store_status_str(status));
  if (bytes) {
    bytes->len = 0;
    if (res[0].bytes.ptr)
      core_buf_append(bytes, res[0].bytes.ptr, res[0].bytes.len);
    else
      core_buf_append(bytes, "(none)", 6);
  }
  return res[0];
}

/* Apply items[0..n) as one BATCH entry; its n results. */
static const store_result *run_batch(fx *x, store_cmd *items, size_t n) {
  store_cmd batch = {.type = STORE_CMD_BATCH};
  batch.u.batch.items = items;
  batch.u.batch.count = n;
  const store_result *res;
  size_t got;
  assert_int_equal(st_apply(x->f, ++x->idx, &batch, &res, &got), 0);
  assert_int_equal(got, n);
  return res;
}

static void assert_value(store_fsm *f, const char *k, const char *v) {
  core_buf b = {0};
  int rc = store_fsm_get(f, store_str(k), &b);
  if (!v) {
    assert_int_equal(rc, WIRE_ENOTFOUND);
  } else {
    assert_int_equal(rc, 0);
    assert_int_equal(b.len, strlen(v));
    assert_memory_equal(b.data, v, b.len);
  }
  core_buf_free(&b);
}

static void assert_bytes(const core_buf *b, const char *s) {
  assert_int_equal(b->len, strlen(s));
  assert_memory_equal(b->data, s, b->len);
}

static uint64_t expiry(store_fsm *f, const char *k) {
  uint64_t e = 99;
  int rc = store_fsm_expiry(f, store_str(k), NOW, &e);
  return rc == WIRE_ENOTFOUND ? (uint64_t)-1 : e;
}

static void test_set_flags(void **state) {
  fx *x = *state;
  core_buf b = {0};
  run(x, kv(STORE_CMD_KV_SET, "a", "1", 0, 0), STORE_OK, NULL);
  assert_value(x->f, "a", "1");
  run(x, kv(STORE_CMD_KV_SET, "a", "2", STORE_KV_NX, 0), STORE_MISMATCH, NULL);
  assert_value(x->f, "a", "1");
  run(x, kv(STORE_CMD_KV_SET, "b", "2", STORE_KV_XX, 0), STORE_MISMATCH, NULL);
  assert_value(x->f, "b", NULL);
  run(x, kv(STORE_CMD_KV_SET, "b", "2", STORE_KV_NX, 0), STORE_OK, NULL);
  /* GET: the old value, also when the condition refuses the write */
  store_result r =
      run(x, kv(STORE_CMD_KV_SET, "a", "3", STORE_KV_GET, 0), STORE_OK, &b);
  assert_int_equal(r.value, 1);
  assert_bytes(&b, "1");
  r = run(x, kv(STORE_CMD_KV_SET, "a", "4", STORE_KV_GET | STORE_KV_NX, 0),
          STORE_MISMATCH, &b);
  assert_bytes(&b, "3");
  r = run(x, kv(STORE_CMD_KV_SET, "new", "v", STORE_KV_GET, 0), STORE_OK, &b);
  assert_int_equal(r.value, 0);
  assert_bytes(&b, "(none)");
  /* empty and binary values */
  store_cmd c = kv(STORE_CMD_KV_SET, "bin", NULL, 0, 0);
  c.u.kv.value = (store_slice){"a\0b\r\n", 5};
  run(x, c, STORE_OK, NULL);
  core_buf v = {0};
  assert_int_equal(store_fsm_get(x->f, store_str("bin"), &v), 0);
  assert_int_equal(v.len, 5);
  assert_memory_equal(v.data, "a\0b\r\n", 5);
  core_buf_free(&v);
  core_buf_free(&b);
}

static void test_expiry(void **state) {
  fx *x = *state;
  uint64_t later = NOW + 3600 * 1000;
  run(x, kv(STORE_CMD_KV_SET, "t", "v", 0, later), STORE_OK, NULL);
  assert_int_equal(expiry(x->f, "t"), later);
  /* KEEPTTL keeps it, a plain SET drops it */
  run(x, kv(STORE_CMD_KV_SET, "t", "w", STORE_KV_KEEPTTL, 0), STORE_OK, NULL);
  assert_int_equal(expiry(x->f, "t"), later);
  run(x, kv(STORE_CMD_KV_SET, "t", "x", 0, 0), STORE_OK, NULL);
  assert_int_equal(expiry(x->f, "t"), 0);
  /* EXPIRE, PERSIST */
  run(x, kv(STORE_CMD_KV_EXPIRE, "t", NULL, 0, later + 1), STORE_OK, NULL);
  assert_int_equal(expiry(x->f, "t"), later + 1);
  run(x, kv(STORE_CMD_KV_EXPIRE, "t", NULL, STORE_KV_PERSIST, 0), STORE_OK,
      NULL);
  assert_int_equal(expiry(x->f, "t"), 0);
  run(x, kv(STORE_CMD_KV_EXPIRE, "t", NULL, STORE_KV_PERSIST, 0),
      STORE_NOTFOUND, NULL);
  run(x, kv(STORE_CMD_KV_EXPIRE, "none", NULL, 0, later), STORE_NOTFOUND,
      NULL);
  /* an expiry in the past deletes */
  run(x, kv(STORE_CMD_KV_EXPIRE, "t", NULL, 0, NOW - 1), STORE_OK, NULL);
  assert_value(x->f, "t", NULL);

  /* A key that expired (by the command's clock) but was not deleted yet is
   * absent for every command and for reads. */
  /* (expiry a minute ahead of the wall clock, so that the read sees the
   * key whatever the machine's load; then commands from "later") */
  uint64_t soon = store_now_ms() + 60000;
  run(x, kv(STORE_CMD_KV_SET, "old", "5", 0, soon), STORE_OK, NULL);
  assert_value(x->f, "old", "5");
  NOW = soon + 1;
  assert_int_equal(expiry(x->f, "old"), (uint64_t)-1);
  run(x, kv(STORE_CMD_KV_SET, "old", "z", STORE_KV_XX, 0), STORE_MISMATCH,
      NULL);
  store_cmd in = kv(STORE_CMD_KV_INCRBY, "old", NULL, 0, 0);
  in.u.kv.delta = 2;
  assert_int_equal(run(x, in, STORE_OK, NULL).value, 2); /* from 0 */
  assert_int_equal(expiry(x->f, "old"), 0);

  /* PUT (the HTTP API) drops an expiry too; INCRBY keeps it */
  run(x, kv(STORE_CMD_KV_SET, "p", "1", 0, later), STORE_OK, NULL);
  assert_int_equal(run(x, in, STORE_OK, NULL).value, 4);
  in.u.kv.key = store_str("p");
  run(x, in, STORE_OK, NULL);
  assert_int_equal(expiry(x->f, "p"), later);
  assert_value(x->f, "p", "3");
  store_cmd put = {.type = STORE_CMD_PUT};
  put.u.put.key = store_str("p");
  put.u.put.value = store_str("http");
  run(x, put, STORE_OK, NULL);
  assert_int_equal(expiry(x->f, "p"), 0);
}

static int collect(void *ud, store_slice key, store_slice value) {
  (void)value;
  core_buf *b = ud;
  core_buf_append(b, key.ptr, key.len);
  core_buf_putc(b, ',');
  return 0;
}

static void test_active_expiry_and_scan(void **state) {
  fx *x = *state;
  run(x, kv(STORE_CMD_KV_SET, "k1", "v", 0, NOW + 30), STORE_OK, NULL);
  run(x, kv(STORE_CMD_KV_SET, "k2", "v", 0, NOW + 10), STORE_OK, NULL);
  run(x, kv(STORE_CMD_KV_SET, "k3", "v", 0, NOW + 100000), STORE_OK, NULL);
  run(x, kv(STORE_CMD_KV_SET, "k4", "v", 0, 0), STORE_OK, NULL);
  core_buf b = {0};
  assert_int_equal(store_fsm_due(x->f, NOW + 50, 100, collect, &b), 0);
  assert_bytes(&b, "k2,k1,"); /* expiry order */
  b.len = 0;
  assert_int_equal(store_fsm_due(x->f, NOW + 50, 1, collect, &b), 0);
  assert_bytes(&b, "k2,");
  /* KV_EXPIRED deletes only what is due at its `now` */
  run(x, kv(STORE_CMD_KV_EXPIRED, "k1", NULL, 0, 0), STORE_NOTFOUND, NULL);
  run(x, kv(STORE_CMD_KV_EXPIRED, "k4", NULL, 0, 0), STORE_NOTFOUND, NULL);
  NOW += 50;
  run(x, kv(STORE_CMD_KV_EXPIRED, "k1", NULL, 0, 0), STORE_OK, NULL);
  run(x, kv(STORE_CMD_KV_EXPIRED, "k2", NULL, 0, 0), STORE_OK, NULL);
  b.len = 0;
  assert_int_equal(store_fsm_due(x->f, NOW + 1000, 100, collect, &b), 0);
  assert_int_equal(b.len, 0);
  b.len = 0;
  bool more;
  assert_int_equal(store_fsm_scan(x->f, store_str("k"), (store_slice){0}, 0,
                                  collect, &b, &more),
                   0);
  assert_bytes(&b, "k3,k4,");
  /* scans skip keys expired by the wall clock before their deletion */
  run(x, kv(STORE_CMD_KV_EXPIRE, "k3", NULL, 0, store_now_ms() + 30), STORE_OK,
      NULL);
  uint64_t until = store_now_ms() + 40;
  while (store_now_ms() < until) {
  }
  b.len = 0;
  assert_int_equal(store_fsm_scan(x->f, store_str("k"), (store_slice){0}, 0,
                                  collect, &b, &more),
                   0);
  assert_bytes(&b, "k4,");
  assert_value(x->f, "k3", NULL);
  core_buf_free(&b);
}

static void put_pair(core_buf *b, const char *k, const char *v) {
  size_t kl = strlen(k), vl = strlen(v);
  core_buf_putc(b, (char)kl);
  core_buf_append(b, k, kl);
  core_buf_putc(b, (char)vl);
  core_buf_append(b, v, vl);
}

static void test_mset_append_getdel_del(void **state) {
  fx *x = *state;
  core_buf pairs = {0}, b = {0};
  put_pair(&pairs, "m1", "a");
  put_pair(&pairs, "m2", "b");
  store_cmd c = kv(STORE_CMD_KV_MSET, NULL, NULL, 0, 0);
  c.u.kv.value = (store_slice){pairs.data, pairs.len};
  assert_int_equal(run(x, c, STORE_OK, NULL).value, 2);
  assert_value(x->f, "m1", "a");
  assert_value(x->f, "m2", "b");
  /* MSETNX: all or nothing */
  pairs.len = 0;
  put_pair(&pairs, "m3", "c");
  put_pair(&pairs, "m2", "x");
  c.u.kv.value = (store_slice){pairs.data, pairs.len};
  c.u.kv.flags = STORE_KV_NX;
  run(x, c, STORE_MISMATCH, NULL);
  assert_value(x->f, "m3", NULL);
  assert_value(x->f, "m2", "b");
  /* malformed pairs are an INVALID result, nothing written */
  c.u.kv.value = (store_slice){"\x05m", 2};
  run(x, c, STORE_INVALID, NULL);

  assert_int_equal(run(x, kv(STORE_CMD_KV_APPEND, "ap", "he", 0, 0), STORE_OK,
                       NULL).value, 2);
  assert_int_equal(run(x, kv(STORE_CMD_KV_APPEND, "ap", "llo", 0, 0),
                       STORE_OK, NULL).value, 5);
  assert_value(x->f, "ap", "hello");

  run(x, kv(STORE_CMD_KV_GETDEL, "ap", NULL, 0, 0), STORE_OK, &b);
  assert_bytes(&b, "hello");
  assert_value(x->f, "ap", NULL);
  run(x, kv(STORE_CMD_KV_GETDEL, "ap", NULL, 0, 0), STORE_NOTFOUND, NULL);
  run(x, kv(STORE_CMD_KV_DEL, "m1", NULL, 0, 0), STORE_OK, NULL);
  run(x, kv(STORE_CMD_KV_DEL, "m1", NULL, 0, 0), STORE_NOTFOUND, NULL);

  store_cmd in = kv(STORE_CMD_KV_INCRBY, "m2", NULL, 0, 0);
  in.u.kv.delta = 1;
  run(x, in, STORE_NOTINT, NULL);
  run(x, kv(STORE_CMD_KV_SET, "big", "9223372036854775807", 0, 0), STORE_OK,
      NULL);
  in.u.kv.key = store_str("big");
  run(x, in, STORE_OVERFLOW, NULL);

  /* FLUSH: every key and expiry gone */
  run(x, kv(STORE_CMD_KV_SET, "e", "v", 0, NOW + 100000), STORE_OK, NULL);
  assert_int_equal(run(x, kv(STORE_CMD_KV_FLUSH, NULL, NULL, 0, 0), STORE_OK,
                       NULL).value, 3);
  assert_value(x->f, "m2", NULL);
  b.len = 0;
  assert_int_equal(store_fsm_due(x->f, UINT64_MAX, 100, collect, &b), 0);
  assert_int_equal(b.len, 0);
  core_buf_free(&pairs);
  core_buf_free(&b);
}

/* Several GET results in one batch each point at their own bytes. */
static void test_batch_results(void **state) {
  fx *x = *state;
  run(x, kv(STORE_CMD_KV_SET, "a", "first", 0, 0), STORE_OK, NULL);
  store_cmd items[3] = {kv(STORE_CMD_KV_SET, "a", "second", STORE_KV_GET, 0),
                        kv(STORE_CMD_KV_SET, "a", "third", STORE_KV_GET, 0),
                        kv(STORE_CMD_KV_GETDEL, "a", NULL, 0, 0)};
  const store_result *res = run_batch(x, items, 3);
  assert_int_equal(res[0].bytes.len, 5);
  assert_memory_equal(res[0].bytes.ptr, "first", 5);
  assert_memory_equal(res[1].bytes.ptr, "second", 6);
  assert_memory_equal(res[2].bytes.ptr, "third", 5);
}

/* KV_GET reads at its place in the entry (MULTI/EXEC): it sees the writes
 * before it in the same batch, not those after; value and expiry; an
 * expired key reads as absent and is deleted; outside a batch it changes
 * nothing; codec round trip. */
static void test_kv_get_in_batch(void **state) {
  fx *x = *state;
  core_buf b = {0};
  run(x, kv(STORE_CMD_KV_GET, "g", NULL, 0, 0), STORE_NOTFOUND, NULL);
  run(x, kv(STORE_CMD_KV_SET, "g", "old", 0, NOW + 50000), STORE_OK, NULL);
  store_result r = run(x, kv(STORE_CMD_KV_GET, "g", NULL, 0, 0), STORE_OK, &b);
  assert_bytes(&b, "old");
  assert_int_equal(r.value, (int64_t)(NOW + 50000));
  store_cmd incr = kv(STORE_CMD_KV_INCRBY, "n", NULL, 0, 0);
  incr.u.kv.delta = 5;
  store_cmd items[6] = {kv(STORE_CMD_KV_GET, "g", NULL, 0, 0),
                        kv(STORE_CMD_KV_SET, "g", "new", 0, 0),
                        kv(STORE_CMD_KV_GET, "g", NULL, 0, 0),
                        incr,
                        kv(STORE_CMD_KV_GET, "n", NULL, 0, 0),
                        kv(STORE_CMD_KV_DEL, "g", NULL, 0, 0)};
  const store_result *res = run_batch(x, items, 6);
  assert_int_equal(res[0].status, STORE_OK);
  assert_int_equal(res[0].bytes.len, 3);
  assert_memory_equal(res[0].bytes.ptr, "old", 3);
  assert_int_equal(res[2].status, STORE_OK);
  assert_memory_equal(res[2].bytes.ptr, "new", 3);
  assert_int_equal(res[2].value, 0); /* a plain SET cleared the expiry */
  assert_int_equal(res[4].status, STORE_OK);
  assert_int_equal(res[4].bytes.len, 1);
  assert_memory_equal(res[4].bytes.ptr, "5", 1);
  assert_value(x->f, "g", NULL); /* deleted after the reads */
  assert_value(x->f, "n", "5");
  /* Expired at the command's `now`: absent, and the key is gone. */
  run(x, kv(STORE_CMD_KV_SET, "e", "v", 0, NOW + 10), STORE_OK, NULL);
  store_cmd late = kv(STORE_CMD_KV_GET, "e", NULL, 0, 0);
  late.u.kv.now = NOW + 20;
  run(x, late, STORE_NOTFOUND, NULL);
  assert_int_equal(expiry(x->f, "e"), (uint64_t)-1); /* key deleted */
  assert_value(x->f, "e", NULL);
  /* Codec round trip. */
  core_buf enc = {0};
  char err[128];
  store_cmd c = kv(STORE_CMD_KV_GET, "key", NULL, 0, 0), d;
  assert_int_equal(store_cmd_encode(&c, NULL, &enc, err, sizeof err), 0);
  assert_int_equal(store_cmd_decode(enc.data, enc.len, &d, err, sizeof err), 0);
  assert_int_equal(d.type, STORE_CMD_KV_GET);
  assert_int_equal(d.u.kv.key.len, 3);
  assert_memory_equal(d.u.kv.key.ptr, "key", 3);
  assert_int_equal(d.u.kv.now, NOW);
  assert_string_equal(store_cmd_name(STORE_CMD_KV_GET), "kv_get");
  core_buf_free(&enc);
  core_buf_free(&b);
}

/* KV_CHECK (WATCH): the commands it guards run only when the key holds the
 * expected value (or is absent as expected); commands after its span run
 * either way; expired counts as absent. */
static void test_kv_check_guards_span(void **state) {
  fx *x = *state;
  run(x, kv(STORE_CMD_KV_SET, "w", "1", 0, 0), STORE_OK, NULL);
  for (int round = 0; round < 2; round++) {
    /* round 0: w is "1", the check holds; round 1: w is "2" by then */
    store_cmd items[5] = {kv(STORE_CMD_KV_CHECK, "w", "1", STORE_KV_EXISTS, 0),
                          kv(STORE_CMD_KV_CHECK, "none", NULL, 0, 0),
                          kv(STORE_CMD_KV_SET, "w", "2", 0, 0),
                          kv(STORE_CMD_KV_INCRBY, "guarded", NULL, 0, 0),
                          kv(STORE_CMD_KV_INCRBY, "other", NULL, 0, 0)};
    items[0].u.kv.span = 3; /* the second check and the two writes */
    items[1].u.kv.span = 2;
    items[3].u.kv.delta = 1;
    items[4].u.kv.delta = 1;
    const store_result *res = run_batch(x, items, 5);
    if (round == 0) {
      for (size_t i = 0; i < 5; i++) assert_int_equal(res[i].status, STORE_OK);
    } else {
      assert_int_equal(res[0].status, STORE_MISMATCH);
      for (size_t i = 1; i < 4; i++)
        assert_int_equal(res[i].status, STORE_ABORTED);
      assert_int_equal(res[4].status, STORE_OK); /* outside the span */
    }
  }
  assert_value(x->f, "w", "2");
  assert_value(x->f, "guarded", "1"); /* once: the second round aborted */
  assert_value(x->f, "other", "2");   /* both rounds */
  /* Absent expected but present, present expected but different value. */
  run(x, kv(STORE_CMD_KV_CHECK, "w", NULL, 0, 0), STORE_MISMATCH, NULL);
  run(x, kv(STORE_CMD_KV_CHECK, "w", "22", STORE_KV_EXISTS, 0), STORE_MISMATCH,
      NULL);
  run(x, kv(STORE_CMD_KV_CHECK, "w", "2", STORE_KV_EXISTS, 0), STORE_OK, NULL);
  /* Expired at the command's `now`: absent. */
  run(x, kv(STORE_CMD_KV_SET, "e", "v", 0, NOW + 10), STORE_OK, NULL);
  store_cmd c = kv(STORE_CMD_KV_CHECK, "e", NULL, 0, 0);
  c.u.kv.now = NOW + 20;
  run(x, c, STORE_OK, NULL);
  /* Codec round trip keeps the span. */
  core_buf enc = {0};
  char err[128];
  store_cmd d;
  c = kv(STORE_CMD_KV_CHECK, "k", "v", STORE_KV_EXISTS, 0);
  c.u.kv.span = 77;
  assert_int_equal(store_cmd_encode(&c, NULL, &enc, err, sizeof err), 0);
  assert_int_equal(store_cmd_decode(enc.data, enc.len, &d, err, sizeof err), 0);
  assert_int_equal(d.type, STORE_CMD_KV_CHECK);
  assert_int_equal(d.u.kv.span, 77);
  assert_int_equal(d.u.kv.flags, STORE_KV_EXISTS);
  assert_int_equal(d.u.kv.value.len, 1);
  core_buf_free(&enc);
}

/* KV_RENAME: RENAME moves value and expiry, RENAMENX refuses an existing
 * destination, COPY (KEEP) keeps the source; an absent or expired source is
 * NOTFOUND; renaming a key onto itself changes nothing. */
static void test_kv_rename_copy(void **state) {
  fx *x = *state;
  run(x, kv(STORE_CMD_KV_SET, "r1", "v1", 0, NOW + 60000), STORE_OK, NULL);
  run(x, kv(STORE_CMD_KV_SET, "r2", "v2", 0, 0), STORE_OK, NULL);
  run(x, kv(STORE_CMD_KV_SET, "r3", "v3", 0, NOW + 90000), STORE_OK, NULL);
  /* RENAME onto an existing key replaces it, value and expiry */
  run(x, kv(STORE_CMD_KV_RENAME, "r1", "r3", 0, 0), STORE_OK, NULL);
  assert_value(x->f, "r1", NULL);
  assert_int_equal(expiry(x->f, "r1"), (uint64_t)-1);
  assert_value(x->f, "r3", "v1");
  assert_int_equal(expiry(x->f, "r3"), NOW + 60000);
  /* a source without expiry clears the destination's */
  run(x, kv(STORE_CMD_KV_RENAME, "r2", "r3", 0, 0), STORE_OK, NULL);
  assert_value(x->f, "r3", "v2");
  assert_int_equal(expiry(x->f, "r3"), 0);
  /* NX: refused onto an existing key, done onto a new one */
  run(x, kv(STORE_CMD_KV_SET, "r4", "v4", 0, 0), STORE_OK, NULL);
  run(x, kv(STORE_CMD_KV_RENAME, "r4", "r3", STORE_KV_NX, 0), STORE_MISMATCH,
      NULL);
  assert_value(x->f, "r4", "v4");
  assert_value(x->f, "r3", "v2");
  run(x, kv(STORE_CMD_KV_RENAME, "r4", "r5", STORE_KV_NX, 0), STORE_OK, NULL);
  assert_value(x->f, "r4", NULL);
  assert_value(x->f, "r5", "v4");
  /* COPY keeps the source */
  run(x, kv(STORE_CMD_KV_RENAME, "r5", "r6", STORE_KV_KEEP | STORE_KV_NX, 0),
      STORE_OK, NULL);
  assert_value(x->f, "r5", "v4");
  assert_value(x->f, "r6", "v4");
  run(x, kv(STORE_CMD_KV_RENAME, "r5", "r6", STORE_KV_KEEP | STORE_KV_NX, 0),
      STORE_MISMATCH, NULL);
  /* absent source; onto itself */
  run(x, kv(STORE_CMD_KV_RENAME, "nope", "r7", 0, 0), STORE_NOTFOUND, NULL);
  assert_value(x->f, "r7", NULL);
  run(x, kv(STORE_CMD_KV_RENAME, "r6", "r6", 0, 0), STORE_OK, NULL);
  assert_value(x->f, "r6", "v4");
  run(x, kv(STORE_CMD_KV_RENAME, "r6", "r6", STORE_KV_NX, 0), STORE_MISMATCH,
      NULL);
  /* expired source at the command's `now` */
  run(x, kv(STORE_CMD_KV_SET, "r8", "v8", 0, NOW + 10), STORE_OK, NULL);
  store_cmd c = kv(STORE_CMD_KV_RENAME, "r8", "r9", 0, 0);
  c.u.kv.now = NOW + 20;
  run(x, c, STORE_NOTFOUND, NULL);
  assert_value(x->f, "r9", NULL);
  /* in a batch, later commands see the moved key */
  store_cmd items[2] = {kv(STORE_CMD_KV_RENAME, "r6", "r10", 0, 0),
                        kv(STORE_CMD_KV_GET, "r10", NULL, 0, 0)};
  const store_result *res = run_batch(x, items, 2);
  assert_int_equal(res[1].status, STORE_OK);
  assert_memory_equal(res[1].bytes.ptr, "v4", 2);
  /* codec: the destination is a key (empty refused) */
  core_buf enc = {0};
  char err[128];
  c = kv(STORE_CMD_KV_RENAME, "a", "", 0, 0);
  assert_int_not_equal(store_cmd_encode(&c, NULL, &enc, err, sizeof err), 0);
  core_buf_free(&enc);
}

/* Only the last write of each key reaches RocksDB (the write log of an
 * entry): the state is the one of applying every write in order. */
static void test_batch_last_write_wins(void **state) {
  fx *x = *state;
  enum { N = 1500 };
  static store_cmd items[N];
  static char keys[N][16];
  size_t n = 0;
  items[n++] = kv(STORE_CMD_KV_SET, "a", "1", 0, 0);
  items[n++] = kv(STORE_CMD_KV_SET, "b", "2", 0, NOW + 100000);
  items[n++] = kv(STORE_CMD_KV_DEL, "a", NULL, 0, 0);
  items[n++] = kv(STORE_CMD_KV_SET, "a", "3", 0, 0);
  items[n++] = kv(STORE_CMD_KV_SET, "c", "x", 0, 0);
  items[n++] = kv(STORE_CMD_KV_DEL, "c", NULL, 0, 0);
  items[n++] = kv(STORE_CMD_KV_SET, "b", "4", STORE_KV_KEEPTTL, 0);
  while (n < N) { /* many distinct keys (the index grows), some twice */
    snprintf(keys[n], sizeof keys[n], "k%04zu", n % 1000);
    items[n] = kv(STORE_CMD_KV_INCRBY, keys[n], NULL, 0, 0);
    items[n].u.kv.delta = 1;
    n++;
  }
  run_batch(x, items, n);
  assert_value(x->f, "a", "3");
  assert_value(x->f, "b", "4");
  assert_value(x->f, "c", NULL);
  assert_int_equal(expiry(x->f, "b"), NOW + 100000);
  assert_value(x->f, "k0007", "2"); /* n = 7 and 1007 */
  assert_value(x->f, "k0600", "1"); /* n = 600 only */
  assert_value(x->f, "k0000", "1"); /* n = 1000 only */
  /* and after a restart (what was written is what RocksDB holds) */
  store_fsm_close(x->f);
  char err[256];
  assert_int_equal(store_fsm_open(x->path, NULL, &x->f, err, sizeof err), 0);
  assert_value(x->f, "a", "3");
  assert_value(x->f, "k0010", "2");
  assert_int_equal(store_fsm_applied(x->f), x->idx);
}

static void test_member_resp_codec_snapshot(void **state) {
  fx *x = *state;
  store_cmd m = {.type = STORE_CMD_MEMBER_RESP};
  m.u.member.id = 3;
  m.u.member.resp_addr = store_str("127.0.0.1:6390");
  run(x, m, STORE_OK, NULL);
  core_buf a = {0};
  assert_int_equal(store_fsm_member_resp(x->f, 3, &a), 0);
  assert_bytes(&a, "127.0.0.1:6390");
  assert_int_equal(store_fsm_member_resp(x->f, 4, &a), WIRE_ENOTFOUND);
  m.u.member.id = 0;
  core_buf enc = {0};
  char err[200];
  assert_int_equal(store_cmd_encode(&m, NULL, &enc, err, sizeof err),
                   WIRE_EINVAL);

  /* round trip of every kv type */
  int types[] = {STORE_CMD_KV_SET,    STORE_CMD_KV_MSET,   STORE_CMD_KV_APPEND,
                 STORE_CMD_KV_GETDEL, STORE_CMD_KV_EXPIRE, STORE_CMD_KV_DEL,
                 STORE_CMD_KV_INCRBY, STORE_CMD_KV_FLUSH,  STORE_CMD_KV_EXPIRED,
                 STORE_CMD_KV_INCRBYFLOAT};
  for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
    store_cmd c = kv(types[i], "key", "\x01k\x01v", 5, 1234567);
    c.u.kv.delta = -7;
    enc.len = 0;
    assert_int_equal(store_cmd_encode(&c, NULL, &enc, err, sizeof err), 0);
    store_cmd d;
    assert_int_equal(store_cmd_decode(enc.data, enc.len, &d, err, sizeof err),
                     0);
    assert_int_equal(d.type, types[i]);
    assert_int_equal(d.u.kv.now, NOW);
    core_buf again = {0};
    assert_int_equal(store_cmd_encode(&d, NULL, &again, err, sizeof err), 0);
    assert_int_equal(again.len, enc.len);
    assert_memory_equal(again.data, enc.data, enc.len);
    core_buf_free(&again);
    assert_string_not_equal(store_cmd_name(types[i]), "unknown");
  }
  core_buf_free(&enc);

  /* expiries travel in snapshots */
  uint64_t later = NOW + 3600 * 1000;
  run(x, kv(STORE_CMD_KV_SET, "ttl", "v", 0, later), STORE_OK, NULL);
  core_buf snap = {0};
  assert_int_equal(st_snapshot(x->f, &snap, NULL), 0);
  char *p2 = st_path(x->dir, "db2");
  store_fsm *f2;
  assert_int_equal(store_fsm_open(p2, NULL, &f2, err, sizeof err), 0);
  bool skipped;
  assert_int_equal(store_fsm_restore(f2, snap.data, snap.len, &skipped), 0);
  assert_false(skipped);
  uint64_t e;
  assert_int_equal(store_fsm_expiry(f2, store_str("ttl"), NOW, &e), 0);
  assert_int_equal(e, later);
  assert_int_equal(store_fsm_member_resp(f2, 3, &a), 0);
  core_buf d1 = {0}, d2 = {0};
  st_dump(x->f, &d1);
  st_dump(f2, &d2);
  assert_int_equal(d1.len, d2.len);
  assert_memory_equal(d1.data, d2.data, d1.len);
  store_fsm_close(f2);
  free(p2);
  core_buf_free(&d1);
  core_buf_free(&d2);
  core_buf_free(&a);
  core_buf_free(&snap);
}

/* ---- the read cache (vcache.h) ------------------------------------------------ */

/* What a read without the cache gives: RocksDB, then the expiry. */
static int uncached_get(store_fsm *f, const char *k, core_buf *out) {
  int rc = store_rocks_get(&f->rk, STORE_CF_KV, NULL, store_str(k), out, NULL,
                           0);
  if (rc) return rc;
  uint64_t e;
  if (store_fsm_expiry(f, store_str(k), store_now_ms(), &e) == WIRE_ENOTFOUND)
    return WIRE_ENOTFOUND;
  return WIRE_OK;
}

static void check_read(store_fsm *f, const char *k, int step) {
  core_buf a = {0}, b = {0};
  int ra = store_fsm_get(f, store_str(k), &a);
  int rb = uncached_get(f, k, &b);
  if (ra != rb || (ra == 0 && (a.len != b.len || memcmp(a.data, b.data, a.len))))
    fail_msg("step %d, key %s: cached read %d '%.*s', RocksDB %d '%.*s'", step,
             k, ra, ra ? 0 : (int)a.len, a.data ? a.data : "", rb,
             rb ? 0 : (int)b.len, b.data ? b.data : "");
  core_buf_free(&a);
  core_buf_free(&b);
}

static uint64_t rng_next(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

/* A random command on one of 24 keys. */
static store_cmd random_cmd(uint64_t *rs, char (*keys)[8], char *val) {
  const char *k = keys[rng_next(rs) % 24];
  snprintf(val, 24, "%s", rng_next(rs) % 3 ? "17" : "value-of-another-length");
  uint64_t r = rng_next(rs) % 100;
  uint64_t exp = 0;
  switch (rng_next(rs) % 4) {
    case 0: exp = NOW + 3600 * 1000; break;
    case 1: exp = store_now_ms() + 20; break; /* expires during the test */
    default: break;
  }
  store_cmd c;
  if (r < 30) {
    uint64_t fl[] = {0, STORE_KV_NX, STORE_KV_XX, STORE_KV_KEEPTTL,
                     STORE_KV_GET};
    c = kv(STORE_CMD_KV_SET, k, val, fl[rng_next(rs) % 5], exp);
  } else if (r < 42) {
    c = kv(STORE_CMD_KV_INCRBY, k, NULL, 0, 0);
    c.u.kv.delta = (int64_t)(rng_next(rs) % 2001) - 1000;
  } else if (r < 52) {
    c = kv(STORE_CMD_KV_DEL, k, NULL, 0, 0);
  } else if (r < 62) {
    c = kv(STORE_CMD_KV_EXPIRE, k, NULL,
           rng_next(rs) % 3 ? 0 : STORE_KV_PERSIST,
           rng_next(rs) % 2 ? NOW + 7200 * 1000 : NOW - 1);
  } else if (r < 70) {
    c = kv(STORE_CMD_KV_APPEND, k, "+", 0, 0);
  } else if (r < 76) {
    c = kv(STORE_CMD_KV_GETDEL, k, NULL, 0, 0);
  } else if (r < 84) {
    c = (store_cmd){.type = STORE_CMD_PUT};
    c.u.put.key = store_str(k);
    c.u.put.value = store_str(val);
  } else if (r < 90) {
    c = (store_cmd){.type = STORE_CMD_DELETE};
    c.u.del.key = store_str(k);
  } else if (r < 97) {
    c = (store_cmd){.type = STORE_CMD_CAS};
    c.u.cas.key = store_str(k);
    c.u.cas.expected = store_str("17");
    c.u.cas.value = store_str(val);
    c.u.cas.flags = (unsigned)(rng_next(rs) % 4); /* EXPECTED, NEW or both */
  } else if (r < 99) {
    c = kv(STORE_CMD_KV_EXPIRED, k, NULL, 0, 0);
    c.u.kv.now = store_now_ms();
  } else {
    c = kv(STORE_CMD_KV_FLUSH, NULL, NULL, 0, 0);
  }
  return c;
}

/* INCRBYFLOAT: Redis's arithmetic and text (%.17Lf less trailing zeros),
 * its refusals, the expiry kept. */
static void test_kv_incrbyfloat(void **state) {
  fx *x = *state;
  core_buf b = {0};
  static const struct {
    const char *start, *inc, *want;
  } cases[] = {
      {NULL, "10.5", "10.5"},      {"10.5", "0.1", "10.6"},
      {"5.0e3", "2.0e2", "5200"},  {"0.1", "0.2", "0.3"},
      {"3", "-3", "0"},            {"-0", "0", "0"},
      {"1", "-1.5", "-0.5"},       {"10", "1e2", "110"},
      {"1e17", "1", "100000000000000001"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    if (cases[i].start)
      run(x, kv(STORE_CMD_KV_SET, "f", cases[i].start, 0, 0), STORE_OK, NULL);
    else
      run(x, kv(STORE_CMD_KV_DEL, "f", NULL, 0, 0), STORE_NOTFOUND, NULL);
    run(x, kv(STORE_CMD_KV_INCRBYFLOAT, "f", cases[i].inc, 0, 0), STORE_OK,
        &b);
    if (b.len != strlen(cases[i].want) ||
        memcmp(b.data, cases[i].want, b.len))
      fail_msg("%s + %s: got %.*s, want %s", cases[i].start, cases[i].inc,
               (int)b.len, b.data, cases[i].want);
    assert_value(x->f, "f", cases[i].want);
  }
  /* not a float: the value or the increment; nothing written */
  run(x, kv(STORE_CMD_KV_SET, "f", "abc", 0, 0), STORE_OK, NULL);
  run(x, kv(STORE_CMD_KV_INCRBYFLOAT, "f", "1", 0, 0), STORE_NOTINT, NULL);
  assert_value(x->f, "f", "abc");
  static const char *const bad[] = {"", " 1", "1 ", "1x", "nan", "0x"};
  run(x, kv(STORE_CMD_KV_SET, "f", "1", 0, 0), STORE_OK, NULL);
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    run(x, kv(STORE_CMD_KV_INCRBYFLOAT, "f", bad[i], 0, 0), STORE_NOTINT,
        NULL);
  /* infinite: refused, nothing written */
  run(x, kv(STORE_CMD_KV_SET, "f", "1.1e4932", 0, 0), STORE_OK, NULL);
  run(x, kv(STORE_CMD_KV_INCRBYFLOAT, "f", "1.1e4932", 0, 0), STORE_OVERFLOW,
      NULL);
  run(x, kv(STORE_CMD_KV_INCRBYFLOAT, "f", "inf", 0, 0), STORE_OVERFLOW, NULL);
  assert_value(x->f, "f", "1.1e4932");
  /* the largest values still print in full */
  run(x, kv(STORE_CMD_KV_INCRBYFLOAT, "f", "-1e4932", 0, 0), STORE_OK, &b);
  assert_true(b.len > 4900 && b.data[0] == '9');
  /* the expiry stays */
  uint64_t later = NOW + 3600 * 1000;
  run(x, kv(STORE_CMD_KV_SET, "g", "2", 0, later), STORE_OK, NULL);
  run(x, kv(STORE_CMD_KV_INCRBYFLOAT, "g", "0.5", 0, 0), STORE_OK, &b);
  assert_bytes(&b, "2.5");
  assert_int_equal(expiry(x->f, "g"), later);
  core_buf_free(&b);
}

/* Entries of random kv commands (no expiries) against a model: every
 * result and, after each entry, every key.  Commands of one entry must see
 * the writes of those before them (reads through the entry's write log),
 * FLUSH must count what the entry itself wrote and not what it deleted,
 * and RocksDB must end up with the last write per key. */
static void test_batch_model(void **state) {
  fx *x = *state;
  enum { NK = 12 };
  static char keys[NK][8];
  char model[NK][24];
  bool have[NK] = {false};
  for (int i = 0; i < NK; i++) snprintf(keys[i], sizeof keys[i], "m%02d", i);
  uint64_t rs = 0x2545f4914f6cdd1dull;
  static char vals[16][24];
  store_cmd items[16];
  int kind[16], ki[16];
  for (int step = 0; step < 3000; step++) {
    size_t n = 1 + (size_t)(rng_next(&rs) % 16);
    for (size_t j = 0; j < n; j++) {
      int k = (int)(rng_next(&rs) % NK), r = (int)(rng_next(&rs) % 100);
      ki[j] = k;
      if (r < 35) {
        kind[j] = 0; /* SET */
        snprintf(vals[j], sizeof vals[j], "v%d", (int)(rng_next(&rs) % 50));
        items[j] = kv(STORE_CMD_KV_SET, keys[k], vals[j], 0, 0);
      } else if (r < 55) {
        kind[j] = 1; /* DEL */
        items[j] = kv(STORE_CMD_KV_DEL, keys[k], NULL, 0, 0);
      } else if (r < 75) {
        kind[j] = 2; /* INCRBY (on a non-number: NOTINT) */
        items[j] = kv(STORE_CMD_KV_INCRBY, keys[k], NULL, 0, 0);
        items[j].u.kv.delta = (int64_t)(rng_next(&rs) % 7) - 3;
      } else if (r < 97) {
        kind[j] = 3; /* GET */
        items[j] = kv(STORE_CMD_KV_GET, keys[k], NULL, 0, 0);
      } else {
        kind[j] = 4; /* FLUSH */
        items[j] = kv(STORE_CMD_KV_FLUSH, NULL, NULL, 0, 0);
      }
    }
    const store_result *res = run_batch(x, items, n);
    for (size_t j = 0; j < n; j++) {
      int k = ki[j];
      switch (kind[j]) {
        case 0:
          assert_int_equal(res[j].status, STORE_OK);
          memcpy(model[k], vals[j], sizeof model[k]);
          have[k] = true;
          break;
        case 1:
          assert_int_equal(res[j].status, have[k] ? STORE_OK : STORE_NOTFOUND);
          have[k] = false;
          break;
        case 2: {
          char *end = NULL;
          long long cur = have[k] ? strtoll(model[k], &end, 10) : 0;
          if (have[k] && (*end || model[k][0] == 'v')) {
            assert_int_equal(res[j].status, STORE_NOTINT);
            break;
          }
          assert_int_equal(res[j].status, STORE_OK);
          cur += items[j].u.kv.delta;
          assert_int_equal(res[j].value, cur);
          snprintf(model[k], sizeof model[k], "%lld", cur);
          have[k] = true;
          break;
        }
        case 3:
          assert_int_equal(res[j].status, have[k] ? STORE_OK : STORE_NOTFOUND);
          if (have[k]) {
            assert_int_equal(res[j].bytes.len, strlen(model[k]));
            assert_memory_equal(res[j].bytes.ptr, model[k], res[j].bytes.len);
          }
          break;
        default: {
          int64_t count = 0;
          for (int i = 0; i < NK; i++) count += have[i], have[i] = false;
          assert_int_equal(res[j].status, STORE_OK);
          assert_int_equal(res[j].value, count);
        }
      }
    }
    for (int i = 0; i < NK; i++) assert_value(x->f, keys[i], have[i] ? model[i] : NULL);
  }
}

/* Whatever the commands, single or batched, a cached read answers what
 * RocksDB answers (values, deletions, expiries set, changed, reached). */
static void test_read_cache_coherent(void **state) {
  fx *x = *state;
  static char keys[24][8];
  for (int i = 0; i < 24; i++) snprintf(keys[i], sizeof keys[i], "c%02d", i);
  uint64_t rs = 0x9e3779b97f4a7c15ull;
  static char vals[16][24];
  for (int step = 0; step < 6000; step++) {
    const store_result *res;
    size_t n;
    if (rng_next(&rs) % 4 == 0) { /* a batch, keys repeating inside it */
      store_cmd items[16];
      size_t cnt = 2 + rng_next(&rs) % 14;
      for (size_t i = 0; i < cnt; i++)
        items[i] = random_cmd(&rs, keys, vals[i]);
      store_cmd b = {.type = STORE_CMD_BATCH};
      b.u.batch.items = items;
      b.u.batch.count = cnt;
      assert_int_equal(st_apply(x->f, ++x->idx, &b, &res, &n), 0);
    } else {
      store_cmd c = random_cmd(&rs, keys, vals[0]);
      assert_int_equal(st_apply(x->f, ++x->idx, &c, &res, &n), 0);
    }
    for (int r = 0; r < 4; r++)
      check_read(x->f, keys[rng_next(&rs) % 24], step);
    if (step % 1000 == 999) usleep(25000); /* let short expiries pass */
  }
  /* the cache did serve reads */
  assert_true(x->f->vc.hits > 1000);
  printf("# read cache: %llu hits, %llu misses, %zu entries\n",
         (unsigned long long)x->f->vc.hits,
         (unsigned long long)x->f->vc.misses, x->f->vc.count);
}

/* A snapshot restored over a state whose reads were cached: reads give
 * the snapshot's values. */
static void test_read_cache_restore(void **state) {
  fx *x = *state;
  x->idx = 10; /* the snapshot is newer than what the other node applied */
  run(x, kv(STORE_CMD_KV_SET, "r", "old", 0, 0), STORE_OK, NULL);
  core_buf snap = {0};
  assert_int_equal(st_snapshot(x->f, &snap, NULL), 0);
  /* another node: newer value cached, then the snapshot (of a later index)
   * replaces its state */
  char *p2 = st_path(x->dir, "db2");
  store_fsm *f2;
  char err[256];
  assert_int_equal(store_fsm_open(p2, NULL, &f2, err, sizeof err), 0);
  store_cmd c = kv(STORE_CMD_KV_SET, "r", "new", 0, 0);
  const store_result *res;
  size_t n;
  assert_int_equal(st_apply(f2, 1, &c, &res, &n), 0);
  c = kv(STORE_CMD_KV_SET, "gone", "x", 0, 0);
  assert_int_equal(st_apply(f2, 2, &c, &res, &n), 0);
  assert_value(f2, "r", "new");
  assert_value(f2, "gone", "x");
  assert_true(f2->vc.count >= 2);
  bool skipped;
  assert_int_equal(store_fsm_restore(f2, snap.data, snap.len, &skipped), 0);
  assert_false(skipped);
  assert_value(f2, "r", "old");
  assert_value(f2, "gone", NULL);
  store_fsm_close(f2);
  free(p2);
  core_buf_free(&snap);
}

int main(void) {
  NOW = store_now_ms();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_set_flags, setup, teardown),
      cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
      cmocka_unit_test_setup_teardown(test_active_expiry_and_scan, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_mset_append_getdel_del, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_batch_results, setup, teardown),
      cmocka_unit_test_setup_teardown(test_kv_get_in_batch, setup, teardown),
      cmocka_unit_test_setup_teardown(test_kv_check_guards_span, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_kv_rename_copy, setup, teardown),
      cmocka_unit_test_setup_teardown(test_batch_last_write_wins, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_kv_incrbyfloat, setup, teardown),
      cmocka_unit_test_setup_teardown(test_batch_model, setup, teardown),
      cmocka_unit_test_setup_teardown(test_read_cache_coherent, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_read_cache_restore, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_member_resp_codec_snapshot, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
