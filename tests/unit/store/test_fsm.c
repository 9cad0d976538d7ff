/*
 * Unit tests of the store FSM on RocksDB (lib/store/fsm.c, snap.c,
 * rocks.c), each in its own temporary directory: apply and results, restart
 * (close and reopen) keeps state and applied index, replay of old indexes
 * is a no-op, CAS/INCRBY/DELETE semantics, batches that read their own
 * writes, checkpoint term fencing, pipelines and members, scans with
 * prefix and pagination, snapshot -> restore into another database,
 * restore skipped when local is newer, corrupt snapshots refused with the
 * state untouched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store_test.h"

typedef struct fx {
  char *dir, *path;
  store_fsm *f;
} fx;

static int setup(void **state) {
  fx *x = calloc(1, sizeof *x);
  x->dir = st_tmpdir();
  x->path = st_path(x->dir, "db");
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

static void reopen(fx *x) {
  store_fsm_close(x->f);
  char err[256];
  assert_int_equal(store_fsm_open(x->path, NULL, &x->f, err, sizeof err), 0);
}

static store_cmd put(const char *k, const char *v) {
  store_cmd c = {.type = STORE_CMD_PUT};
  c.u.put.key = store_str(k);
  c.u.put.value = store_str(v);
  return c;
}
static store_cmd del(const char *k) {
  store_cmd c = {.type = STORE_CMD_DELETE};
  c.u.del.key = store_str(k);
  return c;
}
static store_cmd incr(const char *k, int64_t d) {
  store_cmd c = {.type = STORE_CMD_INCRBY};
  c.u.incrby.key = store_str(k);
  c.u.incrby.delta = d;
  return c;
}
/* expected/value NULL: absent / delete */
static store_cmd cas(const char *k, const char *expected, const char *value) {
  store_cmd c = {.type = STORE_CMD_CAS};
  c.u.cas.key = store_str(k);
  if (expected) {
    c.u.cas.flags |= STORE_CAS_EXPECTED;
    c.u.cas.expected = store_str(expected);
  }
  if (value) {
    c.u.cas.flags |= STORE_CAS_NEW;
    c.u.cas.value = store_str(value);
  }
  return c;
}
static store_cmd ckpt(const char *p, const char *s, const char *pos,
                      uint64_t term) {
  store_cmd c = {.type = STORE_CMD_CHECKPOINT};
  c.u.checkpoint.pipeline = store_str(p);
  c.u.checkpoint.source = store_str(s);
  c.u.checkpoint.position = store_str(pos);
  c.u.checkpoint.term = term;
  return c;
}

/* Apply one command at `index`, expect one result with `status`. */
static int64_t one(store_fsm *f, uint64_t index, store_cmd c, int status) {
  const store_result *res;
  size_t n;
  assert_int_equal(st_apply(f, index, &c, &res, &n), 0);
  assert_int_equal(n, 1);
  if ((int)res[0].status != status)
    fail_msg("index %llu: status %s, expected %s", (unsigned long long)index,
             store_status_str(res[0].status), store_status_str(status));
  assert_true(store_fsm_applied(f) >= index);
  return res[0].value;
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

static void test_apply_restart_replay(void **state) {
  fx *x = *state;
  assert_int_equal(store_fsm_applied(x->f), 0);
  one(x->f, 1, put("a", "1"), STORE_OK);
  one(x->f, 2, put("b", "2"), STORE_OK);
  one(x->f, 3, del("a"), STORE_OK);
  one(x->f, 4, del("a"), STORE_NOTFOUND);
  one(x->f, 5, incr("n", 10), STORE_OK);
  assert_int_equal(store_fsm_applied(x->f), 5);

  reopen(x);
  assert_int_equal(store_fsm_applied(x->f), 5);
  assert_value(x->f, "a", NULL);
  assert_value(x->f, "b", "2");
  assert_value(x->f, "n", "10");

  /* raft replays the log after a restart: old indexes change nothing,
   * INCRBY in particular is not counted twice. */
  one(x->f, 1, put("a", "again"), STORE_SKIPPED);
  one(x->f, 5, incr("n", 10), STORE_SKIPPED);
  assert_value(x->f, "a", NULL);
  assert_value(x->f, "n", "10");
  assert_int_equal(store_fsm_applied(x->f), 5);

  /* Gaps are fine (barriers and configuration entries skip the FSM). */
  one(x->f, 8, incr("n", 1), STORE_OK);
  assert_int_equal(store_fsm_applied(x->f), 8);
  reopen(x);
  assert_int_equal(store_fsm_applied(x->f), 8);
  assert_value(x->f, "n", "11");
}

static void test_cas(void **state) {
  fx *x = *state;
  uint64_t i = 1;
  one(x->f, i++, cas("k", NULL, "v1"), STORE_OK); /* absent -> v1 */
  assert_value(x->f, "k", "v1");
  one(x->f, i++, cas("k", NULL, "v2"), STORE_MISMATCH); /* not absent */
  assert_value(x->f, "k", "v1");
  one(x->f, i++, cas("k", "zz", "v2"), STORE_MISMATCH);
  one(x->f, i++, cas("k", "v", "v2"), STORE_MISMATCH); /* prefix is not equal */
  one(x->f, i++, cas("k", "v1x", "v2"), STORE_MISMATCH);
  assert_value(x->f, "k", "v1");
  one(x->f, i++, cas("k", "v1", "v2"), STORE_OK);
  assert_value(x->f, "k", "v2");
  one(x->f, i++, cas("k", "v2", NULL), STORE_OK); /* compare and delete */
  assert_value(x->f, "k", NULL);
  one(x->f, i++, cas("k", "v2", "v3"), STORE_MISMATCH); /* absent != v2 */
  one(x->f, i++, cas("k", NULL, NULL), STORE_OK); /* absent stays absent */
  assert_value(x->f, "k", NULL);
  one(x->f, i++, put("e", ""), STORE_OK);
  one(x->f, i++, cas("e", NULL, "x"), STORE_MISMATCH); /* empty != absent */
  one(x->f, i++, cas("e", "", "x"), STORE_OK);
  assert_value(x->f, "e", "x");
}

static void test_incrby(void **state) {
  fx *x = *state;
  uint64_t i = 1;
  assert_int_equal(one(x->f, i++, incr("c", 5), STORE_OK), 5);
  assert_int_equal(one(x->f, i++, incr("c", -7), STORE_OK), -2);
  assert_value(x->f, "c", "-2");
  const char *bad[] = {
      "abc", "007", "-0", "+1", " 1", "1 ", "", "-", "99999999999999999999",
      "1.5"};
  for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
    one(x->f, i++, put("s", bad[k]), STORE_OK);
    one(x->f, i++, incr("s", 1), STORE_NOTINT);
    assert_value(x->f, "s", bad[k]);
  }
  one(x->f, i++, put("m", "9223372036854775807"), STORE_OK);
  one(x->f, i++, incr("m", 1), STORE_OVERFLOW);
  assert_value(x->f, "m", "9223372036854775807");
  one(x->f, i++, put("m", "-9223372036854775808"), STORE_OK);
  one(x->f, i++, incr("m", -1), STORE_OVERFLOW);
  assert_true(one(x->f, i++, incr("m", 0), STORE_OK) == INT64_MIN);
  assert_true(one(x->f, i++, incr("m", INT64_MAX), STORE_OK) == -1);
  assert_value(x->f, "m", "-1");
  one(x->f, i++, put("z", "0"), STORE_OK);
  assert_int_equal(one(x->f, i++, incr("z", 0), STORE_OK), 0);
}

/* One entry with many commands: they see each other's writes, get one
 * result each, and the applied index moves once. */
static void test_batch(void **state) {
  fx *x = *state;
  store_cmd items[] = {incr("c", 1),         incr("c", 1), put("x", "x1"),
                       cas("x", "x1", "x2"), del("nope"),  del("x"),
                       cas("x", NULL, "x3"), incr("c", 40)};
  store_cmd b = {.type = STORE_CMD_BATCH};
  b.u.batch.items = items;
  b.u.batch.count = sizeof items / sizeof *items;
  const store_result *res;
  size_t n;
  assert_int_equal(st_apply(x->f, 7, &b, &res, &n), 0);
  assert_int_equal(n, 8);
  int want[] = {STORE_OK,       STORE_OK, STORE_OK, STORE_OK,
                STORE_NOTFOUND, STORE_OK, STORE_OK, STORE_OK};
  for (size_t k = 0; k < n; k++) assert_int_equal(res[k].status, want[k]);
  assert_int_equal(res[0].value, 1);
  assert_int_equal(res[1].value, 2);
  assert_int_equal(res[7].value, 42);
  assert_int_equal(store_fsm_applied(x->f), 7);
  assert_value(x->f, "c", "42");
  assert_value(x->f, "x", "x3");

  /* A bigger batch than the initial result array. */
  store_cmd many[300];
  char keys[300][16];
  for (int k = 0; k < 300; k++) {
    snprintf(keys[k], sizeof keys[k], "m%03d", k);
    many[k] = incr(keys[k], k);
  }
  b.u.batch.items = many;
  b.u.batch.count = 300;
  assert_int_equal(st_apply(x->f, 8, &b, &res, &n), 0);
  assert_int_equal(n, 300);
  assert_int_equal(res[299].value, 299);
  assert_value(x->f, "m123", "123");
  /* Replayed batch: skipped as a whole. */
  assert_int_equal(st_apply(x->f, 8, &b, &res, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(res[0].status, STORE_SKIPPED);
  assert_value(x->f, "m123", "123");
}

static void assert_ckpt(store_fsm *f, const char *p, const char *s,
                        const char *pos, uint64_t term) {
  core_buf b = {0};
  uint64_t t = 0;
  int rc = store_fsm_checkpoint_get(f, store_str(p), store_str(s), &b, &t);
  if (!pos) {
    assert_int_equal(rc, WIRE_ENOTFOUND);
  } else {
    assert_int_equal(rc, 0);
    assert_int_equal(b.len, strlen(pos));
    assert_memory_equal(b.data, pos, b.len);
    assert_int_equal(t, term);
  }
  core_buf_free(&b);
}

typedef struct ckpt_seen {
  int n;
  char src[8][32];
} ckpt_seen;

static int ckpt_collect(void *ud, store_slice source, store_slice position,
                        uint64_t term) {
  (void)position, (void)term;
  ckpt_seen *c = ud;
  if (c->n < 8)
    snprintf(c->src[c->n++], sizeof c->src[0], "%.*s", (int)source.len,
             source.ptr);
  return 0;
}

typedef struct pipes_seen {
  int n;
  char name[8][32];
  uint64_t gen[8];
} pipes_seen;

static int pipe_collect(void *ud, const store_pipeline *p) {
  pipes_seen *c = ud;
  if (c->n < 8) {
    snprintf(c->name[c->n], sizeof c->name[0], "%.*s", (int)p->name.len,
             p->name.ptr);
    c->gen[c->n++] = p->generation;
  }
  return 0;
}

static void test_checkpoint_fencing(void **state) {
  fx *x = *state;
  uint64_t i = 1, t;
  assert_int_equal(store_fsm_checkpoint_term(x->f, store_str("p"), &t),
                   WIRE_ENOTFOUND);
  one(x->f, i++, ckpt("p", "s1", "pos1", 2), STORE_OK);
  assert_int_equal(store_fsm_checkpoint_term(x->f, store_str("p"), &t), 0);
  assert_int_equal(t, 2);
  one(x->f, i++, ckpt("p", "s1", "pos2", 2), STORE_OK); /* same term */
  assert_ckpt(x->f, "p", "s1", "pos2", 2);
  /* A deposed leader (term 1) is refused and told the newest term. */
  assert_int_equal(one(x->f, i++, ckpt("p", "s1", "old", 1), STORE_FENCED), 2);
  assert_ckpt(x->f, "p", "s1", "pos2", 2);
  /* A newer term on another source raises the fence for the pipeline. */
  one(x->f, i++, ckpt("p", "s2", "x", 3), STORE_OK);
  assert_int_equal(one(x->f, i++, ckpt("p", "s1", "y", 2), STORE_FENCED), 3);
  assert_ckpt(x->f, "p", "s1", "pos2", 2);
  one(x->f, i++, ckpt("p", "s1", "y", 3), STORE_OK);
  assert_ckpt(x->f, "p", "s1", "y", 3);
  /* Fences are per pipeline; names cannot run into each other. */
  one(x->f, i++, ckpt("q", "s1", "q1", 1), STORE_OK);
  one(x->f, i++, ckpt("ab", "c", "AB", 1), STORE_OK);
  one(x->f, i++, ckpt("a", "bc", "A", 1), STORE_OK);
  assert_ckpt(x->f, "ab", "c", "AB", 1);
  assert_ckpt(x->f, "a", "bc", "A", 1);
  one(x->f, i++, ckpt("pq", "s1", "PQ", 1), STORE_OK);

  /* Pipelines: create (generation 1), replace (2), pause and resume (3,
   * 4: the paused flag survives a replace), delete clears positions of
   * that pipeline only and keeps its fence. */
  uint64_t v0 = store_fsm_pipelines_version(x->f);
  store_cmd pp = {.type = STORE_CMD_PIPELINE_PUT};
  pp.u.pipeline_put.name = store_str("p");
  pp.u.pipeline_put.definition = store_str("def1");
  assert_int_equal(one(x->f, i++, pp, STORE_OK), 1);
  assert_true(store_fsm_pipelines_version(x->f) > v0);
  pp.u.pipeline_put.definition = store_str("def2");
  assert_int_equal(one(x->f, i++, pp, STORE_OK), 2);
  core_buf def = {0};
  store_pipeline rec;
  assert_int_equal(store_fsm_pipeline_get(x->f, store_str("p"), &def, &rec), 0);
  assert_int_equal(rec.definition.len, 4);
  assert_memory_equal(rec.definition.ptr, "def2", 4);
  assert_int_equal(rec.generation, 2);
  assert_false(rec.paused);
  store_cmd ps = {.type = STORE_CMD_PIPELINE_STATE};
  ps.u.pipeline_state.name = store_str("p");
  ps.u.pipeline_state.paused = 1;
  assert_int_equal(one(x->f, i++, ps, STORE_OK), 3);
  pp.u.pipeline_put.definition = store_str("def3");
  assert_int_equal(one(x->f, i++, pp, STORE_OK), 4);
  assert_int_equal(store_fsm_pipeline_get(x->f, store_str("p"), &def, &rec), 0);
  assert_true(rec.paused);
  assert_int_equal(rec.generation, 4);
  assert_memory_equal(rec.definition.ptr, "def3", 4);
  ps.u.pipeline_state.paused = 0;
  assert_int_equal(one(x->f, i++, ps, STORE_OK), 5);
  assert_int_equal(store_fsm_pipeline_get(x->f, store_str("p"), &def, &rec), 0);
  assert_false(rec.paused);
  ps.u.pipeline_state.name = store_str("nope");
  one(x->f, i++, ps, STORE_NOTFOUND);
  /* CREATE refuses a taken name and writes nothing; creates otherwise. */
  store_cmd pc = pp;
  pc.type = STORE_CMD_PIPELINE_CREATE;
  pc.u.pipeline_put.definition = store_str("other");
  one(x->f, i++, pc, STORE_MISMATCH);
  assert_int_equal(store_fsm_pipeline_get(x->f, store_str("p"), &def, &rec), 0);
  assert_memory_equal(rec.definition.ptr, "def3", 4);
  assert_int_equal(rec.generation, 5);
  /* Positions of one pipeline, in source order, none of "pq"'s. */
  ckpt_seen seen = {0};
  assert_int_equal(
      store_fsm_checkpoint_scan(x->f, store_str("p"), ckpt_collect, &seen), 0);
  assert_int_equal(seen.n, 2);
  assert_string_equal(seen.src[0], "s1");
  assert_string_equal(seen.src[1], "s2");
  /* Scan visits every pipeline. */
  pc.u.pipeline_put.name = store_str("a-first");
  assert_int_equal(one(x->f, i++, pc, STORE_OK), 1);
  pipes_seen ps2 = {0};
  assert_int_equal(store_fsm_pipeline_scan(x->f, pipe_collect, &ps2), 0);
  assert_int_equal(ps2.n, 2);
  assert_string_equal(ps2.name[0], "a-first");
  assert_string_equal(ps2.name[1], "p");
  assert_int_equal(ps2.gen[1], 5);
  store_cmd pd = {.type = STORE_CMD_PIPELINE_DELETE};
  pd.u.pipeline_delete.name = store_str("p");
  one(x->f, i++, pd, STORE_OK);
  assert_int_equal(store_fsm_pipeline_get(x->f, store_str("p"), &def, &rec),
                   WIRE_ENOTFOUND);
  assert_ckpt(x->f, "p", "s1", NULL, 0);
  assert_ckpt(x->f, "p", "s2", NULL, 0);
  assert_ckpt(x->f, "pq", "s1", "PQ", 1);
  assert_ckpt(x->f, "q", "s1", "q1", 1);
  assert_int_equal(store_fsm_checkpoint_term(x->f, store_str("p"), &t), 0);
  assert_int_equal(t, 3);
  one(x->f, i++, ckpt("p", "s1", "late", 2), STORE_FENCED);
  assert_ckpt(x->f, "p", "s1", NULL, 0);
  one(x->f, i++, pd, STORE_NOTFOUND);

  /* In one batch: checkpoints written then the pipeline deleted -> the
   * delete sees the batch's own positions. */
  store_cmd items[] = {ckpt("r", "s1", "1", 1), ckpt("r", "s2", "2", 1), pd};
  items[2].u.pipeline_delete.name = store_str("r");
  store_cmd b = {.type = STORE_CMD_BATCH};
  b.u.batch.items = items;
  b.u.batch.count = 3;
  const store_result *res;
  size_t n;
  assert_int_equal(st_apply(x->f, i++, &b, &res, &n), 0);
  assert_int_equal(n, 3);
  assert_int_equal(res[2].status, STORE_NOTFOUND);
  assert_ckpt(x->f, "r", "s1", NULL, 0);
  assert_ckpt(x->f, "r", "s2", NULL, 0);
  core_buf_free(&def);

  /* Survives a restart. */
  reopen(x);
  assert_int_equal(store_fsm_checkpoint_term(x->f, store_str("p"), &t), 0);
  assert_int_equal(t, 3);
  assert_ckpt(x->f, "q", "s1", "q1", 1);
}

static void test_members(void **state) {
  fx *x = *state;
  store_cmd m = {.type = STORE_CMD_MEMBER_META};
  m.u.member.id = 2;
  m.u.member.raft_addr = store_str("127.0.0.1:7002");
  m.u.member.http_addr = store_str("127.0.0.1:8002");
  one(x->f, 1, m, STORE_OK);
  core_buf r = {0}, h = {0};
  assert_int_equal(store_fsm_member_get(x->f, 2, &r, &h), 0);
  assert_int_equal(r.len, 14);
  assert_memory_equal(r.data, "127.0.0.1:7002", 14);
  assert_memory_equal(h.data, "127.0.0.1:8002", 14);
  assert_int_equal(store_fsm_member_get(x->f, 3, &r, &h), WIRE_ENOTFOUND);
  m.u.member.raft_addr = m.u.member.http_addr = (store_slice){NULL, 0};
  one(x->f, 2, m, STORE_OK);
  assert_int_equal(store_fsm_member_get(x->f, 2, &r, &h), WIRE_ENOTFOUND);
  core_buf_free(&r);
  core_buf_free(&h);
}

/* Entries the FSM cannot use: malformed -> recorded as a no-op (every node
 * does the same); newer format -> refused, nothing advances. */
static void test_bad_entries(void **state) {
  fx *x = *state;
  const char malformed[8] = {1, 3, STORE_CMD_PUT, 0, 0, 0, 0, 0};
  const store_result *res;
  size_t n;
  assert_int_equal(store_fsm_apply(x->f, 1, malformed, 8, &res, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(res[0].status, STORE_INVALID);
  assert_int_equal(store_fsm_applied(x->f), 1);
  const char newer[8] = {2, 3, STORE_CMD_PUT, 1, 'k', 0, 0, 0};
  assert_int_equal(store_fsm_apply(x->f, 2, newer, 8, &res, &n),
                   WIRE_EUNSUPPORTED);
  assert_non_null(strstr(store_fsm_errmsg(x->f), "version 2"));
  assert_int_equal(store_fsm_applied(x->f), 1);
  reopen(x);
  assert_int_equal(store_fsm_applied(x->f), 1);
  one(x->f, 2, put("k", "v"), STORE_OK);
}

typedef struct scan_acc {
  char keys[64][16];
  size_t n;
  int stop_after;
} scan_acc;

static int scan_cb(void *ud, store_slice k, store_slice v) {
  scan_acc *a = ud;
  assert_true(k.len < 16);
  assert_int_equal(v.len, k.len); /* value = key */
  assert_memory_equal(v.ptr, k.ptr, k.len);
  memcpy(a->keys[a->n], k.ptr, k.len);
  a->keys[a->n][k.len] = 0;
  a->n++;
  if (a->stop_after && (int)a->n == a->stop_after) return 99;
  return 0;
}

static void test_scan(void **state) {
  fx *x = *state;
  uint64_t i = 1;
  char k[16];
  for (int j = 1; j <= 25; j++) {
    snprintf(k, sizeof k, "a/%d", j);
    one(x->f, i++, put(k, k), STORE_OK);
  }
  one(x->f, i++, put("a", "a"), STORE_OK);
  one(x->f, i++, put("b/1", "b/1"), STORE_OK);
  one(x->f, i++, put("0", "0"), STORE_OK);

  scan_acc acc = {0};
  bool more;
  store_slice none = {NULL, 0};
  assert_int_equal(
      store_fsm_scan(x->f, store_str("a/"), none, 10, scan_cb, &acc, &more), 0);
  assert_int_equal(acc.n, 10);
  assert_true(more);
  /* Byte order: a/1 a/10 a/11 ... a/19 a/2 a/20 ... */
  assert_string_equal(acc.keys[0], "a/1");
  assert_string_equal(acc.keys[1], "a/10");
  assert_string_equal(acc.keys[9], "a/18");
  size_t total = acc.n;
  char last[16];
  while (more) {
    strcpy(last, acc.keys[acc.n - 1]);
    acc.n = 0;
    assert_int_equal(store_fsm_scan(x->f, store_str("a/"), store_str(last), 10,
                                    scan_cb, &acc, &more),
                     0);
    assert_true(acc.n > 0);
    assert_true(strcmp(acc.keys[0], last) > 0);
    total += acc.n;
  }
  assert_int_equal(total, 25);
  assert_string_equal(acc.keys[acc.n - 1], "a/9");

  /* Exactly `limit` left: more is false. */
  acc.n = 0;
  assert_int_equal(store_fsm_scan(x->f, store_str("a/"), store_str("a/7"), 2,
                                  scan_cb, &acc, &more),
                   0);
  assert_int_equal(acc.n, 2);
  assert_false(more);
  /* No prefix, no limit: everything in order. */
  acc.n = 0;
  assert_int_equal(store_fsm_scan(x->f, none, none, 0, scan_cb, &acc, &more),
                   0);
  assert_int_equal(acc.n, 28);
  assert_string_equal(acc.keys[0], "0");
  assert_string_equal(acc.keys[1], "a");
  assert_string_equal(acc.keys[27], "b/1");
  /* `after` before the prefix starts at the prefix; past it: nothing. */
  acc.n = 0;
  assert_int_equal(store_fsm_scan(x->f, store_str("b/"), store_str("a/5"), 0,
                                  scan_cb, &acc, &more),
                   0);
  assert_int_equal(acc.n, 1);
  acc.n = 0;
  assert_int_equal(store_fsm_scan(x->f, store_str("a/"), store_str("a/99"), 0,
                                  scan_cb, &acc, &more),
                   0);
  assert_int_equal(acc.n, 0);
  acc.n = 0;
  assert_int_equal(
      store_fsm_scan(x->f, store_str("zz"), none, 0, scan_cb, &acc, &more), 0);
  assert_int_equal(acc.n, 0);
  assert_false(more);
  /* The callback stops the scan with its code. */
  acc.n = 0;
  acc.stop_after = 3;
  assert_int_equal(store_fsm_scan(x->f, none, none, 0, scan_cb, &acc, &more),
                   99);
  assert_int_equal(acc.n, 3);
}

/* ---- snapshots
 * ---------------------------------------------------------------- */

/* Serialise `f` into out: header then body. */
static uint64_t take_snapshot(store_fsm *f, core_buf *out) {
  uint64_t idx;
  assert_int_equal(st_snapshot(f, out, &idx), 0);
  assert_int_equal(idx, store_fsm_applied(f));
  return idx;
}

static uint64_t fill(store_fsm *f, uint64_t i, int n) {
  char k[32], v[64];
  for (int j = 0; j < n; j++) {
    snprintf(k, sizeof k, "key/%05d", j);
    snprintf(v, sizeof v, "value %d with some bytes \x01\xff", j * 7);
    one(f, i++, put(k, v), STORE_OK);
    if (j % 10 == 0) one(f, i++, incr("counter", j), STORE_OK);
    if (j % 25 == 0) one(f, i++, ckpt("pipe", k, v, (uint64_t)j), STORE_OK);
  }
  store_cmd pp = {.type = STORE_CMD_PIPELINE_PUT};
  pp.u.pipeline_put.name = store_str("pipe");
  pp.u.pipeline_put.definition = store_str("name: pipe");
  one(f, i++, pp, STORE_OK);
  store_cmd m = {.type = STORE_CMD_MEMBER_META};
  m.u.member.id = 1;
  m.u.member.raft_addr = store_str("r1");
  m.u.member.http_addr = store_str("h1");
  one(f, i++, m, STORE_OK);
  return i;
}

static void test_snapshot_restore(void **state) {
  fx *x = *state;
  uint64_t i = fill(x->f, 1, 300);
  uint64_t applied = store_fsm_applied(x->f);

  /* The view is pinned at begin: later applies are not in it. */
  store_snap *s;
  assert_int_equal(store_snap_begin(x->f, &s), 0);
  core_buf before = {0};
  st_dump(x->f, &before);
  one(x->f, i++, put("late", "not in the snapshot"), STORE_OK);
  one(x->f, i++, del("key/00001"), STORE_OK);
  core_buf body = {0};
  uint8_t hdr[STORE_SNAP_HEADER_SIZE];
  assert_int_equal(store_snap_write(s, st_buf_write, &body, hdr), 0);
  assert_int_equal(store_snap_index(s), applied);
  store_snap_end(s);
  core_buf snap = {0};
  core_buf_append(&snap, hdr, sizeof hdr);
  core_buf_append(&snap, body.data, body.len);

  /* Another database with older, different state in every family. */
  char *p2 = st_path(x->dir, "db2");
  store_fsm *f2;
  char err[256];
  assert_int_equal(store_fsm_open(p2, NULL, &f2, err, sizeof err), 0);
  one(f2, 1, put("junk", "x"), STORE_OK);
  one(f2, 2, put("zzzz", "x"), STORE_OK);
  one(f2, 3, ckpt("other", "s", "p", 9), STORE_OK);
  store_cmd m = {.type = STORE_CMD_MEMBER_META};
  m.u.member.id = 77;
  m.u.member.raft_addr = store_str("gone");
  one(f2, 4, m, STORE_OK);

  /* Corrupt snapshots are refused and change nothing. */
  core_buf junk_state = {0}, now = {0};
  st_dump(f2, &junk_state);
  bool skipped;
  core_buf bad = {0};
  core_buf_append(&bad, snap.data, snap.len);
  bad.data[STORE_SNAP_HEADER_SIZE + 40] ^= 0x20;
  assert_int_equal(store_fsm_restore(f2, bad.data, bad.len, &skipped),
                   WIRE_ECORRUPT);
  assert_non_null(strstr(store_fsm_errmsg(f2), "checksum"));
  assert_int_equal(store_fsm_restore(f2, snap.data, snap.len - 1, &skipped),
                   WIRE_ECORRUPT);
  assert_int_equal(store_fsm_restore(f2, snap.data, 20, &skipped),
                   WIRE_ECORRUPT);
  memcpy(bad.data, snap.data, snap.len);
  bad.data[0] = 'X';
  assert_int_equal(store_fsm_restore(f2, bad.data, bad.len, &skipped),
                   WIRE_ECORRUPT);
  memcpy(bad.data, snap.data, snap.len);
  bad.data[8] = 2; /* format 2, header checksum fixed up */
  uint32_t hc = store_crc32c(0, bad.data, 44);
  for (int b = 0; b < 4; b++) bad.data[44 + b] = (char)(hc >> (8 * b));
  assert_int_equal(store_fsm_restore(f2, bad.data, bad.len, &skipped),
                   WIRE_EUNSUPPORTED);
  st_dump(f2, &now);
  assert_int_equal(now.len, junk_state.len);
  assert_memory_equal(now.data, junk_state.data, now.len);
  assert_int_equal(store_fsm_applied(f2), 4);

  /* The real one replaces everything. */
  assert_int_equal(store_fsm_restore(f2, snap.data, snap.len, &skipped), 0);
  assert_false(skipped);
  assert_int_equal(store_fsm_applied(f2), applied);
  st_dump(f2, &now);
  assert_int_equal(now.len, before.len);
  assert_memory_equal(now.data, before.data, now.len);
  assert_value(f2, "junk", NULL);
  assert_value(f2, "late", NULL);
  assert_value(f2, "key/00001", "value 7 with some bytes \x01\xff");

  /* Durable across a reopen, and applying continues from there. */
  store_fsm_close(f2);
  assert_int_equal(store_fsm_open(p2, NULL, &f2, err, sizeof err), 0);
  assert_int_equal(store_fsm_applied(f2), applied);
  st_dump(f2, &now);
  assert_memory_equal(now.data, before.data, now.len);
  one(f2, applied, put("k", "v"), STORE_SKIPPED);
  one(f2, applied + 1, put("k", "v"), STORE_OK);

  /* Local state newer than the snapshot: restore skipped, nothing moves. */
  st_dump(f2, &junk_state);
  assert_int_equal(store_fsm_restore(f2, snap.data, snap.len, &skipped), 0);
  assert_true(skipped);
  assert_int_equal(store_fsm_applied(f2), applied + 1);
  st_dump(f2, &now);
  assert_int_equal(now.len, junk_state.len);
  assert_memory_equal(now.data, junk_state.data, now.len);
  /* Equal index: skipped as well (same log prefix, same state). */
  core_buf snap2 = {0};
  take_snapshot(x->f, &snap2);
  assert_int_equal(store_fsm_restore(x->f, snap2.data, snap2.len, &skipped), 0);
  assert_true(skipped);

  store_fsm_close(f2);
  free(p2);
  core_buf_free(&before);
  core_buf_free(&body);
  core_buf_free(&snap);
  core_buf_free(&snap2);
  core_buf_free(&bad);
  core_buf_free(&junk_state);
  core_buf_free(&now);
}

/* Snapshot of an empty database and of one with large values; restore of
 * a round trip gives back identical bytes when snapshotted again. */
static void test_snapshot_sizes(void **state) {
  fx *x = *state;
  core_buf s0 = {0};
  take_snapshot(x->f, &s0);
  assert_true(s0.len > STORE_SNAP_HEADER_SIZE); /* meta/format at least */
  char *big = malloc(3u << 20);
  memset(big, 'v', 3u << 20);
  store_cmd c = {.type = STORE_CMD_PUT};
  c.u.put.key = store_str("big");
  c.u.put.value = (store_slice){big, 3u << 20};
  one(x->f, 1, c, STORE_OK);
  c.u.put.key = store_str("big2");
  one(x->f, 2, c, STORE_OK);
  core_buf s1 = {0};
  take_snapshot(x->f, &s1);
  assert_true(s1.len > (6u << 20));

  char *p2 = st_path(x->dir, "db2");
  store_fsm *f2;
  char err[256];
  bool skipped;
  assert_int_equal(store_fsm_open(p2, NULL, &f2, err, sizeof err), 0);
  assert_int_equal(store_fsm_restore(f2, s1.data, s1.len, &skipped), 0);
  core_buf s2 = {0};
  take_snapshot(f2, &s2);
  assert_int_equal(s2.len, s1.len);
  assert_memory_equal(s2.data, s1.data, s1.len);
  store_fsm_close(f2);
  free(p2);
  free(big);
  core_buf_free(&s0);
  core_buf_free(&s1);
  core_buf_free(&s2);
}

/* Fail the Nth allocation for every N along apply (a batch touching every
 * kind of state), snapshot and open: each call either works or returns
 * WIRE_ENOMEM having changed nothing, and nothing leaks (ASan). */
static void test_out_of_memory(void **state) {
  fx *x = *state;
  store_cmd pd = {.type = STORE_CMD_PIPELINE_DELETE};
  pd.u.pipeline_delete.name = store_str("p");
  store_cmd pp = {.type = STORE_CMD_PIPELINE_PUT};
  pp.u.pipeline_put.name = store_str("p");
  pp.u.pipeline_put.definition = store_str("d");
  store_cmd items[] = {incr("c", 1), ckpt("p", "s", "1", 1), pd,
                       pp,           cas("k", NULL, "v"),    del("k"),
                       put("k", "v")};
  store_cmd b = {.type = STORE_CMD_BATCH};
  b.u.batch.items = items;
  b.u.batch.count = sizeof items / sizeof *items;
  core_buf entry = {0};
  char err[256];
  assert_int_equal(store_cmd_encode(&b, NULL, &entry, err, sizeof err), 0);

  uint64_t next = 1;
  int failures = 0;
  for (long n = 0; n < 60; n++) {
    const store_result *res;
    size_t cnt;
    core_alloc_fail_after(n);
    int rc = store_fsm_apply(x->f, next, entry.data, entry.len, &res, &cnt);
    core_alloc_fail_after(-1);
    if (rc) {
      assert_int_equal(rc, WIRE_ENOMEM);
      assert_int_equal(store_fsm_applied(x->f), next - 1);
      failures++;
      continue;
    }
    assert_int_equal(cnt, b.u.batch.count);
    /* The counter counts successful applies only: failed ones left no
     * partial write behind. */
    assert_int_equal(res[0].value, (int64_t)next);
    next++;
  }
  assert_true(failures > 0);
  assert_true(next > 1);
  char num[24];
  snprintf(num, sizeof num, "%llu", (unsigned long long)(next - 1));
  assert_value(x->f, "c", num);

  /* Encoding. */
  for (long n = 0; n < 3; n++) {
    core_buf out = {0};
    core_alloc_fail_after(n);
    int rc = store_cmd_encode(&b, NULL, &out, err, sizeof err);
    core_alloc_fail_after(-1);
    assert_true(rc == 0 || (rc == WIRE_ENOMEM && out.len == 0));
    core_buf_free(&out);
  }

  /* Snapshots. */
  core_buf snap = {0};
  for (long n = 0; n < 40; n++) {
    store_snap *sn = NULL;
    core_buf body = {0};
    uint8_t hdr[STORE_SNAP_HEADER_SIZE];
    core_alloc_fail_after(n);
    int rc = store_snap_begin(x->f, &sn);
    if (!rc) rc = store_snap_write(sn, st_buf_write, &body, hdr);
    store_snap_end(sn);
    core_alloc_fail_after(-1);
    if (!rc && !snap.len) {
      core_buf_append(&snap, hdr, sizeof hdr);
      core_buf_append(&snap, body.data, body.len);
    }
    assert_true(rc == 0 || rc == WIRE_ENOMEM);
    core_buf_free(&body);
  }
  assert_true(snap.len > 0);

  /* Open and restore. */
  char *p2 = st_path(x->dir, "db2");
  for (long n = 0; n < 20; n++) {
    store_fsm *f2 = NULL;
    bool skipped;
    core_alloc_fail_after(n);
    int rc = store_fsm_open(p2, NULL, &f2, err, sizeof err);
    if (!rc) rc = store_fsm_restore(f2, snap.data, snap.len, &skipped);
    core_alloc_fail_after(-1);
    assert_true(rc == 0 || rc == WIRE_ENOMEM);
    if (!rc) assert_int_equal(store_fsm_applied(f2), next - 1);
    store_fsm_close(f2);
  }
  free(p2);
  core_buf_free(&snap);
  core_buf_free(&entry);
}

static void test_open_errors(void **state) {
  (void)state;
  store_fsm *f = (store_fsm *)1;
  char err[256] = "";
  assert_int_equal(
      store_fsm_open("/proc/definitely/not/here", NULL, &f, err, sizeof err),
      WIRE_EIO);
  assert_null(f);
  assert_non_null(strstr(err, "/proc/definitely/not/here"));
  store_fsm_close(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_apply_restart_replay, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_cas, setup, teardown),
      cmocka_unit_test_setup_teardown(test_incrby, setup, teardown),
      cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
      cmocka_unit_test_setup_teardown(test_checkpoint_fencing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_members, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_entries, setup, teardown),
      cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
      cmocka_unit_test_setup_teardown(test_snapshot_restore, setup, teardown),
      cmocka_unit_test_setup_teardown(test_snapshot_sizes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_out_of_memory, setup, teardown),
      cmocka_unit_test(test_open_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
