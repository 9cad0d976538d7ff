/*
 * Unit tests of the store command codec (lib/store/codec.c): round trips
 * of every command, canonical re-encoding, every truncation and random
 * byte flips of valid entries (clean error or a well-formed command, never
 * a crash or an out-of-bounds read: each input sits in a heap block of its
 * exact size, so ASan sees any overread), limits and version handling.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/store.h"

static store_slice S(const char *s) { return store_str(s); }
static store_slice B(const char *p, size_t n) { return (store_slice){p, n}; }

static const char bin[] = {'a', 0, 'b', (char)0xff, 0, 0x7f};

/* One of each command (no batch), with awkward values. */
static size_t sample_cmds(store_cmd *out) {
  size_t n = 0;
  memset(out, 0, 32 * sizeof *out); /* callers hold 32 */
  out[n].type = STORE_CMD_PUT;
  out[n].u.put.key = S("user/1");
  out[n++].u.put.value = B(bin, sizeof bin);
  out[n].type = STORE_CMD_PUT; /* empty value */
  out[n].u.put.key = B(bin, 1);
  out[n++].u.put.value = B(NULL, 0);
  out[n].type = STORE_CMD_DELETE;
  out[n++].u.del.key = B(bin, sizeof bin);
  out[n].type = STORE_CMD_CAS; /* absent -> value */
  out[n].u.cas.key = S("k");
  out[n].u.cas.flags = STORE_CAS_NEW;
  out[n++].u.cas.value = S("v1");
  out[n].type = STORE_CMD_CAS; /* expected -> delete */
  out[n].u.cas.key = S("k");
  out[n].u.cas.flags = STORE_CAS_EXPECTED;
  out[n++].u.cas.expected = S("v1");
  out[n].type = STORE_CMD_CAS; /* expected -> value */
  out[n].u.cas.key = S("k");
  out[n].u.cas.flags = STORE_CAS_EXPECTED | STORE_CAS_NEW;
  out[n].u.cas.expected = S("");
  out[n++].u.cas.value = S("v2");
  out[n].type = STORE_CMD_CAS; /* absent -> delete (a no-op if absent) */
  out[n].u.cas.key = S("k");
  out[n++].u.cas.flags = 0;
  out[n].type = STORE_CMD_INCRBY;
  out[n].u.incrby.key = S("ctr");
  out[n++].u.incrby.delta = INT64_MIN;
  out[n].type = STORE_CMD_INCRBY;
  out[n].u.incrby.key = S("ctr");
  out[n++].u.incrby.delta = INT64_MAX;
  out[n].type = STORE_CMD_INCRBY;
  out[n].u.incrby.key = S("ctr");
  out[n++].u.incrby.delta = -1;
  out[n].type = STORE_CMD_PIPELINE_PUT;
  out[n].u.pipeline_put.name = S("orders");
  out[n++].u.pipeline_put.definition = S("name: orders\nsources: []\n");
  out[n].type = STORE_CMD_PIPELINE_DELETE;
  out[n++].u.pipeline_delete.name = S("orders");
  out[n].type = STORE_CMD_PIPELINE_CREATE;
  out[n].u.pipeline_put.name = S("orders");
  out[n++].u.pipeline_put.definition = S("{name: orders}");
  out[n].type = STORE_CMD_PIPELINE_STATE;
  out[n].u.pipeline_state.name = S("orders");
  out[n++].u.pipeline_state.paused = 1;
  out[n].type = STORE_CMD_CHECKPOINT;
  out[n].u.checkpoint.pipeline = S("orders");
  out[n].u.checkpoint.source = S("kafka-in");
  out[n].u.checkpoint.position = B(bin, sizeof bin);
  out[n++].u.checkpoint.term = UINT64_MAX;
  out[n].type = STORE_CMD_MEMBER_META;
  out[n].u.member.id = 3;
  out[n].u.member.raft_addr = S("127.0.0.1:7001");
  out[n++].u.member.http_addr = S("127.0.0.1:8001");
  out[n].type = STORE_CMD_MEMBER_META; /* forget */
  out[n++].u.member.id = UINT64_MAX;
  return n;
}

static void assert_slice(store_slice a, store_slice b) {
  assert_int_equal(a.len, b.len);
  if (a.len) assert_memory_equal(a.ptr, b.ptr, a.len);
}

static void assert_cmd_equal(const store_cmd *a, const store_cmd *b) {
  assert_int_equal(a->type, b->type);
  switch (a->type) {
    case STORE_CMD_PUT:
      assert_slice(a->u.put.key, b->u.put.key);
      assert_slice(a->u.put.value, b->u.put.value);
      break;
    case STORE_CMD_DELETE:
      assert_slice(a->u.del.key, b->u.del.key);
      break;
    case STORE_CMD_CAS:
      assert_slice(a->u.cas.key, b->u.cas.key);
      assert_int_equal(a->u.cas.flags, b->u.cas.flags);
      if (a->u.cas.flags & STORE_CAS_EXPECTED)
        assert_slice(a->u.cas.expected, b->u.cas.expected);
      if (a->u.cas.flags & STORE_CAS_NEW)
        assert_slice(a->u.cas.value, b->u.cas.value);
      break;
    case STORE_CMD_INCRBY:
      assert_slice(a->u.incrby.key, b->u.incrby.key);
      assert_true(a->u.incrby.delta == b->u.incrby.delta);
      break;
    case STORE_CMD_PIPELINE_PUT:
    case STORE_CMD_PIPELINE_CREATE:
      assert_slice(a->u.pipeline_put.name, b->u.pipeline_put.name);
      assert_slice(a->u.pipeline_put.definition, b->u.pipeline_put.definition);
      break;
    case STORE_CMD_PIPELINE_DELETE:
      assert_slice(a->u.pipeline_delete.name, b->u.pipeline_delete.name);
      break;
    case STORE_CMD_PIPELINE_STATE:
      assert_slice(a->u.pipeline_state.name, b->u.pipeline_state.name);
      assert_true(a->u.pipeline_state.paused == b->u.pipeline_state.paused);
      break;
    case STORE_CMD_CHECKPOINT:
      assert_slice(a->u.checkpoint.pipeline, b->u.checkpoint.pipeline);
      assert_slice(a->u.checkpoint.source, b->u.checkpoint.source);
      assert_slice(a->u.checkpoint.position, b->u.checkpoint.position);
      assert_true(a->u.checkpoint.term == b->u.checkpoint.term);
      break;
    case STORE_CMD_MEMBER_META:
      assert_true(a->u.member.id == b->u.member.id);
      assert_slice(a->u.member.raft_addr, b->u.member.raft_addr);
      assert_slice(a->u.member.http_addr, b->u.member.http_addr);
      break;
    default:
      fail_msg("unexpected type %d", a->type);
  }
}

/* Decode from an exact-size heap copy (so ASan catches overreads). */
static int decode_copy(const void *p, size_t n, store_cmd *out, char **copy,
                       char *err, size_t errsz) {
  *copy = malloc(n ? n : 1);
  assert_non_null(*copy);
  if (n) memcpy(*copy, p, n);
  return store_cmd_decode(*copy, n, out, err, errsz);
}

/* Re-encode a decoded command (expanding a batch through the iterator). */
static int reencode(const store_cmd *c, core_buf *out) {
  store_limits lim = {STORE_KEY_MAX, STORE_VALUE_CEILING};
  char err[256];
  if (c->type != STORE_CMD_BATCH)
    return store_cmd_encode(c, &lim, out, err, sizeof err);
  store_cmd *items = calloc(c->u.batch.count, sizeof *items);
  assert_non_null(items);
  store_batch_iter it;
  store_batch_iter_init(&it, c);
  size_t i = 0;
  int rc;
  while ((rc = store_batch_iter_next(&it, &items[i])) == 1) i++;
  assert_int_equal(rc, 0);
  assert_int_equal(i, c->u.batch.count);
  store_cmd b = {.type = STORE_CMD_BATCH};
  b.u.batch.items = items;
  b.u.batch.count = i;
  rc = store_cmd_encode(&b, &lim, out, err, sizeof err);
  free(items);
  return rc;
}

static void test_round_trip_each(void **state) {
  (void)state;
  store_cmd cmds[32];
  size_t n = sample_cmds(cmds);
  for (size_t i = 0; i < n; i++) {
    core_buf b = {0};
    char err[256] = "";
    assert_int_equal(store_cmd_encode(&cmds[i], NULL, &b, err, sizeof err), 0);
    assert_int_equal(b.len % 8, 0);
    assert_int_equal(b.len, store_cmd_encoded_size(&cmds[i]));
    assert_int_equal((unsigned char)b.data[0], STORE_FORMAT_VERSION);
    store_cmd d;
    char *copy;
    int rc = decode_copy(b.data, b.len, &d, &copy, err, sizeof err);
    assert_int_equal(rc, 0);
    assert_cmd_equal(&cmds[i], &d);
    core_buf again = {0};
    assert_int_equal(reencode(&d, &again), 0);
    assert_int_equal(again.len, b.len);
    assert_memory_equal(again.data, b.data, b.len);
    free(copy);
    core_buf_free(&again);
    core_buf_free(&b);
  }
}

static void test_round_trip_batch(void **state) {
  (void)state;
  store_cmd cmds[32];
  size_t n = sample_cmds(cmds);
  store_cmd batch = {.type = STORE_CMD_BATCH};
  batch.u.batch.items = cmds;
  batch.u.batch.count = n;
  core_buf b = {0};
  char err[256];
  assert_int_equal(store_cmd_encode(&batch, NULL, &b, err, sizeof err), 0);
  assert_int_equal(b.len % 8, 0);
  assert_int_equal(b.len, store_cmd_encoded_size(&batch));
  store_cmd d;
  char *copy;
  assert_int_equal(decode_copy(b.data, b.len, &d, &copy, err, sizeof err), 0);
  assert_int_equal(d.type, STORE_CMD_BATCH);
  assert_int_equal(d.u.batch.count, n);
  store_batch_iter it;
  store_batch_iter_init(&it, &d);
  store_cmd sub;
  size_t i = 0;
  while (store_batch_iter_next(&it, &sub) == 1)
    assert_cmd_equal(&cmds[i++], &sub);
  assert_int_equal(i, n);
  free(copy);
  core_buf_free(&b);

  /* Appending to a non-empty buffer pads relative to the entry start. */
  core_buf two = {0};
  assert_int_equal(core_buf_append(&two, "xyz", 3), 0);
  assert_int_equal(store_cmd_encode(&cmds[0], NULL, &two, err, sizeof err), 0);
  assert_int_equal((two.len - 3) % 8, 0);
  assert_int_equal(
      store_cmd_decode(two.data + 3, two.len - 3, &d, err, sizeof err), 0);
  core_buf_free(&two);
}

/* Every truncation, of the buffer and of the body with a consistent
 * header and padding, is refused. */
static void test_truncations(void **state) {
  (void)state;
  store_cmd cmds[33];
  size_t n = sample_cmds(cmds);
  store_cmd batch = {.type = STORE_CMD_BATCH};
  batch.u.batch.items = cmds;
  batch.u.batch.count = n;
  cmds[n++] = batch;
  for (size_t i = 0; i < n; i++) {
    core_buf b = {0};
    char err[256];
    store_cmd d;
    char *copy;
    assert_int_equal(store_cmd_encode(&cmds[i], NULL, &b, err, sizeof err), 0);
    for (size_t len = 0; len < b.len; len++) {
      int rc = decode_copy(b.data, len, &d, &copy, err, sizeof err);
      assert_int_equal(rc, WIRE_EPARSE);
      free(copy);
    }
    /* Body truncations: rebuild header and padding around a shorter body. */
    size_t hdr = 2;
    size_t body = (unsigned char)b.data[1];
    if (body & 0x80) {
      body = (body & 0x7f) | ((size_t)(unsigned char)b.data[2] << 7);
      hdr = 3;
    }
    for (size_t k = 0; k < body; k++) {
      char *t = calloc(1, body + 16);
      assert_non_null(t);
      size_t h = 0;
      t[h++] = 1;
      size_t v = k;
      while (v >= 0x80) {
        t[h++] = (char)(0x80 | (v & 0x7f));
        v >>= 7;
      }
      t[h++] = (char)v;
      memcpy(t + h, b.data + hdr, k);
      size_t total = (h + k + 7) & ~(size_t)7;
      int rc = decode_copy(t, total, &d, &copy, err, sizeof err);
      assert_int_equal(rc, WIRE_EPARSE);
      assert_true(strlen(err) > 0);
      free(copy);
      free(t);
    }
    core_buf_free(&b);
  }
}

/* Random corruption: refused cleanly, or decodes to a command that
 * re-encodes to exactly the corrupted bytes (canonical form). */
static void test_random_flips(void **state) {
  (void)state;
  store_cmd cmds[33];
  size_t n = sample_cmds(cmds);
  store_cmd batch = {.type = STORE_CMD_BATCH};
  batch.u.batch.items = cmds;
  batch.u.batch.count = n;
  cmds[n++] = batch;
  core_buf enc[33] = {{0}};
  char err[256];
  for (size_t i = 0; i < n; i++)
    assert_int_equal(store_cmd_encode(&cmds[i], NULL, &enc[i], err, sizeof err),
                     0);
  core_rng rng;
  core_rng_seed(&rng, 12345);
  size_t ok = 0, refused = 0;
  for (int iter = 0; iter < 60000; iter++) {
    const core_buf *src = &enc[core_rng_next(&rng) % n];
    char *t = malloc(src->len);
    assert_non_null(t);
    memcpy(t, src->data, src->len);
    int flips = 1 + (int)(core_rng_next(&rng) % 3);
    for (int k = 0; k < flips; k++) {
      size_t pos = core_rng_next(&rng) % src->len;
      if (core_rng_next(&rng) & 1)
        t[pos] ^= (char)(1u << (core_rng_next(&rng) % 8));
      else
        t[pos] = (char)core_rng_next(&rng);
    }
    store_cmd d;
    int rc = store_cmd_decode(t, src->len, &d, err, sizeof err);
    if (rc == 0) {
      core_buf again = {0};
      assert_int_equal(reencode(&d, &again), 0);
      assert_int_equal(again.len, src->len);
      assert_memory_equal(again.data, t, src->len);
      core_buf_free(&again);
      ok++;
    } else {
      assert_true(rc == WIRE_EPARSE || rc == WIRE_EUNSUPPORTED);
      refused++;
    }
    free(t);
  }
  /* Both outcomes occur (flips inside values stay valid). */
  assert_true(ok > 100);
  assert_true(refused > 100);
  /* Pure garbage of every small length. */
  for (int iter = 0; iter < 20000; iter++) {
    size_t len = core_rng_next(&rng) % 64;
    char *t = malloc(len ? len : 1);
    for (size_t k = 0; k < len; k++) t[k] = (char)core_rng_next(&rng);
    if (len && (core_rng_next(&rng) & 1)) t[0] = 1; /* get past the version */
    store_cmd d;
    int rc = store_cmd_decode(t, len, &d, err, sizeof err);
    if (rc == 0) {
      core_buf again = {0};
      assert_int_equal(reencode(&d, &again), 0);
      assert_memory_equal(again.data, t, len);
      core_buf_free(&again);
    }
    free(t);
  }
  for (size_t i = 0; i < n; i++) core_buf_free(&enc[i]);
}

static void test_limits(void **state) {
  (void)state;
  char err[256];
  core_buf b = {0};
  store_cmd c = {.type = STORE_CMD_PUT};
  char *big = calloc(1, STORE_VALUE_MAX_DEFAULT + 2);
  assert_non_null(big);
  memset(big, 'k', STORE_KEY_MAX + 1);

  c.u.put.key = B(big, 0);
  assert_int_equal(store_cmd_encode(&c, NULL, &b, err, sizeof err),
                   WIRE_EINVAL);
  assert_non_null(strstr(err, "empty key"));
  assert_int_equal(b.len, 0);

  c.u.put.key = B(big, STORE_KEY_MAX);
  assert_int_equal(store_cmd_encode(&c, NULL, &b, err, sizeof err), 0);
  store_cmd d;
  assert_int_equal(store_cmd_decode(b.data, b.len, &d, err, sizeof err), 0);
  assert_int_equal(d.u.put.key.len, STORE_KEY_MAX);
  b.len = 0;
  c.u.put.key = B(big, STORE_KEY_MAX + 1);
  assert_int_equal(store_cmd_encode(&c, NULL, &b, err, sizeof err),
                   WIRE_ETOOBIG);
  assert_non_null(strstr(err, "key of 65537 bytes"));
  assert_int_equal(b.len, 0);

  c.u.put.key = S("k");
  c.u.put.value = B(big, STORE_VALUE_MAX_DEFAULT);
  assert_int_equal(store_cmd_encode(&c, NULL, &b, err, sizeof err), 0);
  b.len = 0;
  c.u.put.value = B(big, STORE_VALUE_MAX_DEFAULT + 1);
  assert_int_equal(store_cmd_encode(&c, NULL, &b, err, sizeof err),
                   WIRE_ETOOBIG);
  assert_non_null(strstr(err, "value"));

  /* Configurable: lower and higher than the default. */
  store_limits lim = {16, 100};
  c.u.put.value = B(big, 101);
  assert_int_equal(store_cmd_encode(&c, &lim, &b, err, sizeof err),
                   WIRE_ETOOBIG);
  c.u.put.value = B(big, 100);
  assert_int_equal(store_cmd_encode(&c, &lim, &b, err, sizeof err), 0);
  b.len = 0;
  c.u.put.key = B(big, 17);
  assert_int_equal(store_cmd_encode(&c, &lim, &b, err, sizeof err),
                   WIRE_ETOOBIG);
  lim = (store_limits){STORE_KEY_MAX, STORE_VALUE_MAX_DEFAULT * 2};
  char *huge = calloc(1, STORE_VALUE_MAX_DEFAULT + 1);
  c.u.put.key = S("k");
  c.u.put.value = B(huge, STORE_VALUE_MAX_DEFAULT + 1);
  assert_int_equal(store_cmd_encode(&c, &lim, &b, err, sizeof err), 0);
  /* The decoder takes it whatever the local setting: it only enforces the
   * format's ceiling, so differently configured nodes agree. */
  assert_int_equal(store_cmd_decode(b.data, b.len, &d, err, sizeof err), 0);
  assert_int_equal(d.u.put.value.len, STORE_VALUE_MAX_DEFAULT + 1);
  b.len = 0;

  /* Limits apply inside batches and to every kind of key. */
  store_cmd items[2] = {{.type = STORE_CMD_PUT},
                        {.type = STORE_CMD_CHECKPOINT}};
  items[0].u.put.key = S("a");
  items[1].u.checkpoint.pipeline = S("p");
  items[1].u.checkpoint.source = S("");
  store_cmd batch = {.type = STORE_CMD_BATCH};
  batch.u.batch.items = items;
  batch.u.batch.count = 2;
  assert_int_equal(store_cmd_encode(&batch, NULL, &b, err, sizeof err),
                   WIRE_EINVAL);
  assert_non_null(strstr(err, "source"));
  /* No nesting, no empty batch, no unknown type or flags, no id 0. */
  items[1] = batch;
  assert_int_equal(store_cmd_encode(&batch, NULL, &b, err, sizeof err),
                   WIRE_EINVAL);
  assert_int_equal(store_cmd_encoded_size(&batch), 0);
  batch.u.batch.count = 0;
  assert_int_equal(store_cmd_encode(&batch, NULL, &b, err, sizeof err),
                   WIRE_EINVAL);
  store_cmd bad = {.type = (store_cmd_type)42};
  assert_int_equal(store_cmd_encode(&bad, NULL, &b, err, sizeof err),
                   WIRE_EINVAL);
  bad.type = STORE_CMD_CAS;
  bad.u.cas.key = S("k");
  bad.u.cas.flags = 4;
  assert_int_equal(store_cmd_encode(&bad, NULL, &b, err, sizeof err),
                   WIRE_EINVAL);
  bad = (store_cmd){.type = STORE_CMD_MEMBER_META};
  assert_int_equal(store_cmd_encode(&bad, NULL, &b, err, sizeof err),
                   WIRE_EINVAL);
  assert_int_equal(b.len, 0);
  core_buf_free(&b);
  free(big);
  free(huge);
}

/* Hand-made entries that break the format's rules. */
static void test_format_rules(void **state) {
  (void)state;
  char err[256];
  store_cmd d;
  /* version 1, body 3: PUT, key len 1 'k', value len 0 */
  const char good[8] = {1, 4, STORE_CMD_PUT, 1, 'k', 0, 0, 0};
  assert_int_equal(store_cmd_decode(good, 8, &d, err, sizeof err), 0);
  assert_int_equal(d.type, STORE_CMD_PUT);

  char t[16];
  memcpy(t, good, 8);
  t[0] = 2; /* newer format */
  assert_int_equal(store_cmd_decode(t, 8, &d, err, sizeof err),
                   WIRE_EUNSUPPORTED);
  assert_non_null(strstr(err, "version 2"));
  memcpy(t, good, 8);
  t[2] = 42; /* unknown type */
  assert_int_equal(store_cmd_decode(t, 8, &d, err, sizeof err),
                   WIRE_EUNSUPPORTED);
  memcpy(t, good, 8);
  t[6] = 1; /* non-zero padding */
  assert_int_equal(store_cmd_decode(t, 8, &d, err, sizeof err), WIRE_EPARSE);
  assert_non_null(strstr(err, "padding"));
  memset(t, 0, sizeof t);
  memcpy(t, good, 8);
  assert_int_equal(store_cmd_decode(t, 16, &d, err, sizeof err),
                   WIRE_EPARSE); /* extra padding */
  const char overlong[8] = {1, (char)0x84, 0, STORE_CMD_PUT, 1, 'k', 0, 0};
  assert_int_equal(store_cmd_decode(overlong, 8, &d, err, sizeof err),
                   WIRE_EPARSE);
  assert_non_null(strstr(err, "overlong"));
  const char emptykey[8] = {1, 3, STORE_CMD_PUT, 0, 0, 0, 0, 0};
  assert_int_equal(store_cmd_decode(emptykey, 8, &d, err, sizeof err),
                   WIRE_EPARSE);
  assert_non_null(strstr(err, "key"));
  const char trailing[8] = {1, 5, STORE_CMD_PUT, 1, 'k', 0, 9, 0};
  assert_int_equal(store_cmd_decode(trailing, 8, &d, err, sizeof err),
                   WIRE_EPARSE);
  const char badflags[8] = {1, 4, STORE_CMD_CAS, 1, 'k', 8, 0, 0};
  assert_int_equal(store_cmd_decode(badflags, 8, &d, err, sizeof err),
                   WIRE_EPARSE);
  const char nested[8] = {1, 3, STORE_CMD_BATCH, 1, STORE_CMD_BATCH, 0, 0, 0};
  assert_int_equal(store_cmd_decode(nested, 8, &d, err, sizeof err),
                   WIRE_EPARSE);
  const char zero_batch[8] = {1, 2, STORE_CMD_BATCH, 0, 0, 0, 0, 0};
  assert_int_equal(store_cmd_decode(zero_batch, 8, &d, err, sizeof err),
                   WIRE_EPARSE);
  /* Huge count: refused before any work proportional to it. */
  const char huge_batch[16] = {1,          11,         STORE_CMD_BATCH,
                               (char)0xff, (char)0xff, (char)0xff,
                               (char)0xff, (char)0xff, (char)0xff,
                               (char)0xff, (char)0xff, (char)0xff,
                               0x01,       0,          0,
                               0};
  assert_int_equal(store_cmd_decode(huge_batch, 16, &d, err, sizeof err),
                   WIRE_EPARSE);
  /* Length claiming 2^63 bytes. */
  const char hugelen[16] = {1,          13,         STORE_CMD_PUT,
                            (char)0xff, (char)0xff, (char)0xff,
                            (char)0xff, (char)0xff, (char)0xff,
                            (char)0xff, (char)0xff, (char)0x7f,
                            0,          0,          0,
                            0};
  assert_int_equal(store_cmd_decode(hugelen, 16, &d, err, sizeof err),
                   WIRE_EPARSE);
  assert_int_equal(store_cmd_decode(NULL, 0, &d, err, sizeof err), WIRE_EPARSE);
  assert_string_equal(store_cmd_name(STORE_CMD_CHECKPOINT), "checkpoint");
  assert_string_equal(store_cmd_name(99), "unknown");
  assert_string_equal(store_status_str(STORE_FENCED),
                      "checkpoint from an older term");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip_each),
      cmocka_unit_test(test_round_trip_batch),
      cmocka_unit_test(test_truncations),
      cmocka_unit_test(test_random_flips),
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_format_rules),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
