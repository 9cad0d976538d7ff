/*
 * The store FSM under raft: libraft's deterministic in-memory cluster
 * (raft_fixture) with, on every server, a real RocksDB FSM in a temporary
 * directory behind the raft glue (lib/store/raft_fsm.c).
 *
 * Scenarios: elect, apply single commands and group-commit batches,
 * converge; kill the leader with proposals in flight, elect another, apply
 * more while the log is compacted (low snapshot threshold), revive the old
 * leader, which catches up through a snapshot install; a partitioned
 * leader whose uncommitted entries are discarded; checkpoint fencing across
 * a leader change; a disk fault on a follower (libraft turns it off); the
 * glue's snapshot and restore directly.
 *
 * Invariants checked after every step of the fixture (its hook):
 *   - raft's last applied index and the FSM's applied index never go back;
 *   - the FSM's applied index never passes raft's;
 *   - no two servers ever hold different states at the same applied index
 *     (a digest of the full database is recorded per index and compared);
 *   - the index the glue applies at equals the index raft assigned to the
 *     request (checked in the apply callback: index = last_applied + 1).
 * And at the end: every server holds byte-identical databases, every
 * acknowledged write is there, acknowledged increments are all distinct.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <raft.h>
#include <raft/fixture.h>

#include "store_test.h"

#define MAX_SERVERS 3
#define MAX_PROPS 4096
#define MAX_KEYS 20000

typedef struct cluster cluster;

typedef struct prop {
  struct raft_apply req;
  cluster *cl;
  bool done;
  int status;
  size_t n;
  store_result res[32];
  int kind;      /* K_PUT, K_INCR, K_BATCH, K_OTHER */
  int first_key; /* first unique key id written, -1 none */
  int n_keys;
} prop;

/* A batch holds 8 PUTs then 8 INCRBYs. */
enum { K_PUT, K_INCR, K_BATCH, K_OTHER };

struct cluster {
  struct raft_fixture f;
  unsigned n;
  char *dir;
  store_fsm *fsm[MAX_SERVERS];
  store_raft_fsm *glue[MAX_SERVERS];
  uint64_t last_la[MAX_SERVERS], last_fa[MAX_SERVERS];
  uint64_t *digest; /* per applied index, 0 = none seen yet */
  size_t digest_cap;
  prop *props;
  size_t n_props;
  bool acked_key[MAX_KEYS];
  int next_key;
  int64_t *incr_acks;
  size_t n_incr_acks;
  core_buf dump;
  unsigned long checks; /* digests compared across servers */
};

/* ---- invariants
 * --------------------------------------------------------------- */

static uint64_t state_digest(cluster *cl, unsigned i) {
  st_dump(cl->fsm[i], &cl->dump);
  return core_hash64(cl->dump.data, cl->dump.len, 7) | 1;
}

static void check_invariants(cluster *cl) {
  for (unsigned i = 0; i < cl->n; i++) {
    struct raft *r = raft_fixture_get(&cl->f, i);
    uint64_t la = raft_last_applied(r);
    uint64_t fa = store_fsm_applied(cl->fsm[i]);
    if (la < cl->last_la[i])
      fail_msg("server %u: raft applied went back %llu -> %llu", i,
               (unsigned long long)cl->last_la[i], (unsigned long long)la);
    if (fa < cl->last_fa[i])
      fail_msg("server %u: fsm applied went back %llu -> %llu", i,
               (unsigned long long)cl->last_fa[i], (unsigned long long)fa);
    if (fa > la)
      fail_msg("server %u: fsm applied %llu past raft's %llu", i,
               (unsigned long long)fa, (unsigned long long)la);
    cl->last_la[i] = la;
    if (fa != cl->last_fa[i]) {
      cl->last_fa[i] = fa;
      if (fa >= cl->digest_cap) {
        size_t cap = cl->digest_cap ? cl->digest_cap : 1024;
        while (cap <= fa) cap *= 2;
        cl->digest = realloc(cl->digest, cap * sizeof *cl->digest);
        memset(cl->digest + cl->digest_cap, 0,
               (cap - cl->digest_cap) * sizeof *cl->digest);
        cl->digest_cap = cap;
      }
      uint64_t d = state_digest(cl, i);
      if (cl->digest[fa] && cl->digest[fa] != d)
        fail_msg(
            "server %u: state at applied index %llu differs from "
            "another server's",
            i, (unsigned long long)fa);
      if (cl->digest[fa]) cl->checks++; /* compared with another server */
      cl->digest[fa] = d;
    }
  }
}

static void hook(struct raft_fixture *f, struct raft_fixture_event *ev) {
  (void)ev;
  check_invariants((cluster *)(void *)f); /* f is the first member */
}

/* ---- setup
 * --------------------------------------------------------------------- */

static cluster *cluster_new(unsigned n, unsigned threshold, unsigned trailing) {
  cluster *cl = calloc(1, sizeof *cl);
  assert_non_null(cl);
  cl->n = n;
  cl->dir = st_tmpdir();
  cl->props = calloc(MAX_PROPS, sizeof *cl->props);
  cl->incr_acks = calloc(MAX_PROPS * 32, sizeof *cl->incr_acks);
  /* The fixture must start zeroed (DEPENDENCIES.md). */
  memset(&cl->f, 0, sizeof cl->f);
  assert_int_equal(raft_fixture_initialize(&cl->f), 0);
  for (unsigned i = 0; i < n; i++) {
    char name[16], err[256];
    snprintf(name, sizeof name, "s%u", i);
    char *p = st_path(cl->dir, name);
    assert_int_equal(store_fsm_open(p, NULL, &cl->fsm[i], err, sizeof err), 0);
    free(p);
    assert_int_equal(store_raft_fsm_new(cl->fsm[i], &cl->glue[i]), 0);
    assert_int_equal(
        raft_fixture_grow(&cl->f, store_raft_fsm_vtable(cl->glue[i])), 0);
    struct raft *r = raft_fixture_get(&cl->f, i);
    store_raft_fsm_bind(cl->glue[i], r);
    raft_set_snapshot_threshold(r, threshold);
    raft_set_snapshot_trailing(r, trailing);
  }
  struct raft_configuration conf;
  assert_int_equal(raft_fixture_configuration(&cl->f, n, &conf), 0);
  assert_int_equal(raft_fixture_bootstrap(&cl->f, &conf), 0);
  raft_configuration_close(&conf);
  assert_int_equal(raft_fixture_start(&cl->f), 0);
  raft_fixture_hook(&cl->f, hook);
  return cl;
}

static void cluster_free(cluster *cl) {
  raft_fixture_hook(&cl->f, NULL);
  raft_fixture_close(&cl->f); /* may still apply: FSMs stay open */
  for (unsigned i = 0; i < cl->n; i++) {
    store_raft_fsm_free(cl->glue[i]);
    store_fsm_close(cl->fsm[i]);
  }
  st_rmdir(cl->dir);
  free(cl->props);
  free(cl->incr_acks);
  free(cl->digest);
  core_buf_free(&cl->dump);
  free(cl);
}

/* ---- proposals
 * ------------------------------------------------------------------ */

static void apply_cb(struct raft_apply *req, int status, void *result) {
  prop *p = req->data;
  p->done = true;
  p->status = status;
  if (status != 0) return;
  const store_apply_result *ar = result;
  assert_non_null(ar);
  /* The glue's index (last_applied + 1) is the one raft gave this entry. */
  assert_int_equal(ar->index, req->index);
  p->n = ar->n;
  assert_true(p->n <= 32);
  memcpy(p->res, ar->res, p->n * sizeof *p->res);
  for (int k = 0; k < p->n_keys; k++) p->cl->acked_key[p->first_key + k] = true;
}

/* The alive server in leader state with the highest term, or n.  (The
 * fixture's own leader_id waits until every connected server acknowledged
 * the leader, which a server with a failing disk never does.) */
static unsigned state_leader(struct raft_fixture *f) {
  unsigned best = f->n;
  raft_term term = 0;
  for (unsigned i = 0; i < f->n; i++) {
    struct raft *r = raft_fixture_get(f, i);
    if (raft_fixture_alive(f, i) && raft_state(r) == RAFT_LEADER &&
        r->current_term > term) {
      best = i;
      term = r->current_term;
    }
  }
  return best;
}

static bool has_state_leader(struct raft_fixture *f, void *arg) {
  (void)arg;
  return state_leader(f) < f->n;
}

static unsigned leader(cluster *cl) {
  assert_true(raft_fixture_step_until(&cl->f, has_state_leader, NULL, 10000));
  return state_leader(&cl->f);
}

/* Propose `c` to server `i`; returns the proposal (done at once if raft
 * refused it). */
static prop *propose(cluster *cl, unsigned i, const store_cmd *c, int kind,
                     int first_key, int n_keys) {
  assert_true(cl->n_props < MAX_PROPS);
  prop *p = &cl->props[cl->n_props++];
  p->cl = cl;
  p->kind = kind;
  p->req.data = p;
  p->first_key = first_key;
  p->n_keys = n_keys;
  struct raft_buffer buf;
  char err[256];
  assert_int_equal(store_raft_encode(c, NULL, &buf, err, sizeof err), 0);
  assert_int_equal(buf.len % 8, 0);
  int rc = raft_apply(raft_fixture_get(&cl->f, i), &p->req, &buf, 1, apply_cb);
  if (rc) {
    raft_free(buf.base);
    p->done = true;
    p->status = rc;
  }
  return p;
}

static char keybuf[MAX_KEYS][16];
static char valbuf[MAX_KEYS][24];

static store_cmd put_key(cluster *cl, int id) {
  (void)cl;
  snprintf(keybuf[id], sizeof keybuf[id], "k/%06d", id);
  snprintf(valbuf[id], sizeof valbuf[id], "value-%d", id * 31);
  store_cmd c = {.type = STORE_CMD_PUT};
  c.u.put.key = store_str(keybuf[id]);
  c.u.put.value = store_str(valbuf[id]);
  return c;
}

static store_cmd incr_counter(void) {
  store_cmd c = {.type = STORE_CMD_INCRBY};
  c.u.incrby.key = store_str("counter");
  c.u.incrby.delta = 1;
  return c;
}

/* Alternate: a PUT, an INCRBY, a batch of 8 PUTs + 8 INCRBYs. */
static prop *propose_next(cluster *cl, unsigned i, int seq) {
  switch (seq % 3) {
    case 0: {
      int id = cl->next_key++;
      store_cmd c = put_key(cl, id);
      return propose(cl, i, &c, K_PUT, id, 1);
    }
    case 1: {
      store_cmd c = incr_counter();
      return propose(cl, i, &c, K_INCR, -1, 0);
    }
    default: {
      store_cmd items[16];
      int first = cl->next_key;
      for (int k = 0; k < 8; k++) items[k] = put_key(cl, cl->next_key++);
      for (int k = 8; k < 16; k++) items[k] = incr_counter();
      store_cmd b = {.type = STORE_CMD_BATCH};
      b.u.batch.items = items;
      b.u.batch.count = 16;
      return propose(cl, i, &b, K_BATCH, first, 8);
    }
  }
}

typedef struct wait_arg {
  prop **ps;
  size_t n;
} wait_arg;

static bool all_done(struct raft_fixture *f, void *arg) {
  (void)f;
  wait_arg *w = arg;
  for (size_t k = 0; k < w->n; k++)
    if (!w->ps[k]->done) return false;
  return true;
}

/* Propose `count` commands to the current leader, `inflight` at a time,
 * stepping until each wave completes.  Returns how many were acked. */
static int drive(cluster *cl, int count, int inflight, int *seq) {
  int acked = 0;
  prop *wave[64];
  while (count > 0) {
    unsigned l = leader(cl);
    size_t n = 0;
    for (; n < (size_t)inflight && count > 0; n++, count--)
      wave[n] = propose_next(cl, l, (*seq)++);
    wait_arg w = {wave, n};
    assert_true(raft_fixture_step_until(&cl->f, all_done, &w, 10000));
    for (size_t k = 0; k < n; k++) acked += wave[k]->status == 0;
  }
  return acked;
}

/* Every alive server applied everything the leader committed. */
static bool converged(struct raft_fixture *f, void *arg) {
  cluster *cl = arg;
  unsigned li = state_leader(f);
  if (li == f->n) return false;
  struct raft *l = raft_fixture_get(f, li);
  for (unsigned i = 0; i < cl->n; i++) {
    if (!raft_fixture_alive(f, i)) continue;
    struct raft *r = raft_fixture_get(f, i);
    if (raft_last_applied(r) != l->commit_index ||
        r->commit_index != l->commit_index)
      return false;
  }
  return true;
}

/* Wait for convergence, then compare the alive servers' databases. */
static void assert_converged(cluster *cl) {
  assert_true(raft_fixture_step_until(&cl->f, converged, cl, 20000));
  core_buf first = {0}, other = {0};
  int ref = -1;
  for (unsigned i = 0; i < cl->n; i++) {
    if (!raft_fixture_alive(&cl->f, i)) continue;
    if (ref < 0) {
      ref = (int)i;
      st_dump(cl->fsm[i], &first);
      continue;
    }
    assert_int_equal(store_fsm_applied(cl->fsm[i]),
                     store_fsm_applied(cl->fsm[ref]));
    st_dump(cl->fsm[i], &other);
    assert_int_equal(other.len, first.len);
    assert_memory_equal(other.data, first.data, first.len);
  }
  core_buf_free(&first);
  core_buf_free(&other);
}

/* Acked keys are on every server with their value; the counter counts at
 * least every acked increment and acked results are all distinct. */
static void assert_acked_writes(cluster *cl) {
  core_buf v = {0};
  for (unsigned i = 0; i < cl->n; i++) {
    if (!raft_fixture_alive(&cl->f, i)) continue;
    for (int id = 0; id < cl->next_key; id++) {
      if (!cl->acked_key[id]) continue;
      assert_int_equal(store_fsm_get(cl->fsm[i], store_str(keybuf[id]), &v), 0);
      assert_int_equal(v.len, strlen(valbuf[id]));
      assert_memory_equal(v.data, valbuf[id], v.len);
    }
  }
  cl->n_incr_acks = 0;
  for (size_t k = 0; k < cl->n_props; k++) {
    prop *p = &cl->props[k];
    if (!p->done || p->status) continue;
    if (p->kind == K_INCR) {
      assert_int_equal(p->res[0].status, STORE_OK);
      cl->incr_acks[cl->n_incr_acks++] = p->res[0].value;
    } else if (p->kind == K_BATCH) {
      assert_int_equal(p->n, 16);
      for (size_t j = 8; j < 16; j++) {
        assert_int_equal(p->res[j].status, STORE_OK);
        cl->incr_acks[cl->n_incr_acks++] = p->res[j].value;
      }
    }
  }
  int64_t max = 0;
  for (size_t a = 0; a < cl->n_incr_acks; a++) {
    assert_true(cl->incr_acks[a] > 0);
    if (cl->incr_acks[a] > max) max = cl->incr_acks[a];
    for (size_t b = a + 1; b < cl->n_incr_acks; b++)
      assert_true(cl->incr_acks[a] != cl->incr_acks[b]);
  }
  unsigned alive = 0;
  while (!raft_fixture_alive(&cl->f, alive)) alive++;
  assert_int_equal(store_fsm_get(cl->fsm[alive], store_str("counter"), &v), 0);
  char num[32] = {0};
  memcpy(num, v.data, WIRE_MIN(v.len, sizeof num - 1));
  int64_t counter = strtoll(num, NULL, 10);
  assert_true(counter >= (int64_t)cl->n_incr_acks);
  assert_true(counter >= max);
  core_buf_free(&v);
}

/* ---- scenarios
 * ------------------------------------------------------------------ */

static void test_kill_revive_snapshot_install(void **state) {
  (void)state;
  cluster *cl = cluster_new(3, 32, 8);
  assert_true(raft_fixture_step_until_has_leader(&cl->f, 10000));
  int seq = 0;
  int acked = drive(cl, 150, 8, &seq);
  assert_int_equal(acked, 150);
  assert_converged(cl);
  assert_acked_writes(cl);

  /* Kill the leader with proposals in flight. */
  unsigned old = leader(cl);
  for (int k = 0; k < 6; k++) propose_next(cl, old, seq++);
  raft_fixture_step_n(&cl->f, 3);
  raft_fixture_kill(&cl->f, old);
  assert_true(raft_fixture_step_until_has_no_leader(&cl->f, 10000));
  assert_true(raft_fixture_step_until_has_leader(&cl->f, 10000));
  assert_true(leader(cl) != old);

  /* Many more entries: the two alive servers snapshot and compact well
   * past where the dead one stopped. */
  drive(cl, 300, 8, &seq);
  assert_converged(cl);
  struct raft *nl = raft_fixture_get(&cl->f, leader(cl));
  assert_true(nl->log.offset > raft_last_index(raft_fixture_get(&cl->f, old)));

  /* Revive: it can only catch up through a snapshot install. */
  uint64_t before = store_fsm_applied(cl->fsm[old]);
  raft_fixture_revive(&cl->f, old);
  drive(cl, 30, 4, &seq);
  assert_converged(cl);
  assert_true(raft_fixture_n_recv(&cl->f, old, RAFT_IO_INSTALL_SNAPSHOT) > 0);
  assert_true(store_fsm_applied(cl->fsm[old]) > before);
  assert_acked_writes(cl);
  /* The cross-server comparison really happened, often. */
  assert_true(cl->checks > 50);
  cluster_free(cl);
}

static bool all_props_done(struct raft_fixture *f, void *arg) {
  (void)f;
  cluster *cl = arg;
  for (size_t k = 0; k < cl->n_props; k++)
    if (!cl->props[k].done) return false;
  return true;
}

/* A leader cut off from the others keeps proposing: its entries never
 * commit, a new leader takes over, and after healing the old leader's log
 * is overwritten; its FSM never applied the orphaned entries. */
static void test_partitioned_leader(void **state) {
  (void)state;
  cluster *cl = cluster_new(3, 64, 16);
  assert_true(raft_fixture_step_until_has_leader(&cl->f, 10000));
  int seq = 0;
  drive(cl, 30, 4, &seq);
  assert_converged(cl);
  unsigned old = leader(cl);
  for (unsigned i = 0; i < cl->n; i++) {
    if (i == old) continue;
    raft_fixture_saturate(&cl->f, old, i);
    raft_fixture_saturate(&cl->f, i, old);
  }
  size_t first_orphan = cl->n_props;
  for (int k = 0; k < 10; k++) propose_next(cl, old, seq++);
  uint64_t applied_cut = store_fsm_applied(cl->fsm[old]);
  /* The majority elects a new leader (the fixture's leader_id needs the
   * leader acknowledged by the alive servers, so look at states). */
  bool elected = false;
  for (int k = 0; k < 200000 && !elected; k++) {
    raft_fixture_step(&cl->f);
    for (unsigned i = 0; i < cl->n; i++)
      if (i != old && raft_state(raft_fixture_get(&cl->f, i)) == RAFT_LEADER)
        elected = true;
  }
  assert_true(elected);
  assert_int_equal(store_fsm_applied(cl->fsm[old]), applied_cut);
  for (unsigned i = 0; i < cl->n; i++) {
    if (i == old) continue;
    raft_fixture_desaturate(&cl->f, old, i);
    raft_fixture_desaturate(&cl->f, i, old);
  }
  assert_true(raft_fixture_step_until_has_leader(&cl->f, 10000));
  drive(cl, 60, 8, &seq);
  assert_true(raft_fixture_step_until(&cl->f, all_props_done, cl, 10000));
  assert_converged(cl);
  /* The orphaned proposals failed, and none of their keys exist. */
  core_buf v = {0};
  for (size_t k = first_orphan; k < first_orphan + 10; k++) {
    prop *p = &cl->props[k];
    assert_true(p->done);
    assert_true(p->status != 0);
    for (int j = 0; j < p->n_keys; j++)
      for (unsigned i = 0; i < cl->n; i++)
        assert_int_equal(
            store_fsm_get(cl->fsm[i], store_str(keybuf[p->first_key + j]), &v),
            WIRE_ENOTFOUND);
  }
  core_buf_free(&v);
  assert_acked_writes(cl);
  cluster_free(cl);
}

/* A disk fault on a follower: libraft 0.15 turns that server off
 * (RAFT_UNAVAILABLE until it is restarted) rather than carry on with a log
 * it could not write.  Its FSM stays at a consistent applied index (the
 * invariants keep checking it), the other two go on and converge. */
static void test_follower_io_fault(void **state) {
  (void)state;
  cluster *cl = cluster_new(3, 24, 4);
  assert_true(raft_fixture_step_until_has_leader(&cl->f, 10000));
  int seq = 0;
  drive(cl, 30, 4, &seq);
  assert_converged(cl);
  unsigned f = (leader(cl) + 1) % cl->n;
  raft_fixture_io_fault(&cl->f, f, 0, 1);
  drive(cl, 60, 8, &seq);
  assert_int_equal(raft_state(raft_fixture_get(&cl->f, f)), RAFT_UNAVAILABLE);
  uint64_t stuck = store_fsm_applied(cl->fsm[f]);
  raft_fixture_kill(&cl->f, f);
  drive(cl, 60, 8, &seq);
  assert_converged(cl);
  assert_acked_writes(cl);
  assert_int_equal(store_fsm_applied(cl->fsm[f]), stuck);
  cluster_free(cl);
}

static prop *propose_ckpt(cluster *cl, unsigned i, const char *pos,
                          uint64_t term) {
  store_cmd c = {.type = STORE_CMD_CHECKPOINT};
  c.u.checkpoint.pipeline = store_str("orders");
  c.u.checkpoint.source = store_str("in");
  c.u.checkpoint.position = store_str(pos);
  c.u.checkpoint.term = term;
  return propose(cl, i, &c, K_OTHER, -1, 0);
}

/* A runner on a deposed leader commits with its old term: refused once
 * the new leader has checkpointed in its newer term. */
static void test_checkpoint_fencing_across_leaders(void **state) {
  (void)state;
  cluster *cl = cluster_new(3, 1024, 64);
  assert_true(raft_fixture_step_until_has_leader(&cl->f, 10000));
  unsigned l1 = leader(cl);
  raft_term t1 = raft_fixture_get(&cl->f, l1)->current_term;
  prop *p = propose_ckpt(cl, l1, "pos-100", t1);
  wait_arg w = {&p, 1};
  assert_true(raft_fixture_step_until(&cl->f, all_done, &w, 10000));
  assert_int_equal(p->status, 0);
  assert_int_equal(p->res[0].status, STORE_OK);

  raft_fixture_depose(&cl->f);
  assert_true(raft_fixture_step_until_has_leader(&cl->f, 10000));
  unsigned l2 = leader(cl);
  raft_term t2 = raft_fixture_get(&cl->f, l2)->current_term;
  assert_true(t2 > t1);
  p = propose_ckpt(cl, l2, "pos-200", t2);
  assert_true(raft_fixture_step_until(&cl->f, all_done, &w, 10000));
  assert_int_equal(p->res[0].status, STORE_OK);
  /* A stale runner's checkpoint (old term) is committed but refused. */
  p = propose_ckpt(cl, l2, "pos-150", t1);
  w.ps = &p;
  assert_true(raft_fixture_step_until(&cl->f, all_done, &w, 10000));
  assert_int_equal(p->status, 0);
  assert_int_equal(p->res[0].status, STORE_FENCED);
  assert_int_equal((uint64_t)p->res[0].value, t2);
  assert_converged(cl);
  core_buf pos = {0};
  for (unsigned i = 0; i < cl->n; i++) {
    uint64_t term;
    assert_int_equal(store_fsm_checkpoint_get(cl->fsm[i], store_str("orders"),
                                              store_str("in"), &pos, &term),
                     0);
    assert_int_equal(term, t2);
    assert_int_equal(pos.len, 7);
    assert_memory_equal(pos.data, "pos-200", 7);
  }
  core_buf_free(&pos);
  cluster_free(cl);
}

/* The glue's snapshot methods give buffers that its restore accepts on
 * another FSM (concatenated into one raft_malloc buffer, as raft does);
 * restore takes ownership of the buffer only on success. */
static void test_glue_snapshot_restore(void **state) {
  (void)state;
  char *dir = st_tmpdir();
  char *p1 = st_path(dir, "a"), *p2 = st_path(dir, "b");
  char err[256];
  store_fsm *a, *b;
  assert_int_equal(store_fsm_open(p1, NULL, &a, err, sizeof err), 0);
  assert_int_equal(store_fsm_open(p2, NULL, &b, err, sizeof err), 0);
  const store_result *res;
  size_t n;
  char big[3000];
  memset(big, 'x', sizeof big);
  for (int k = 0; k < 1500; k++) { /* > 1 MiB: several chunks */
    char key[16];
    snprintf(key, sizeof key, "key%05d", k);
    store_cmd c = {.type = STORE_CMD_PUT};
    c.u.put.key = store_str(key);
    c.u.put.value = (store_slice){big, 500 + (size_t)k};
    assert_int_equal(st_apply(a, (uint64_t)k + 1, &c, &res, &n), 0);
  }
  store_raft_fsm *ga, *gb;
  assert_int_equal(store_raft_fsm_new(a, &ga), 0);
  assert_int_equal(store_raft_fsm_new(b, &gb), 0);
  struct raft_fsm *va = store_raft_fsm_vtable(ga),
                  *vb = store_raft_fsm_vtable(gb);
  assert_int_equal(va->version, 2);
  assert_non_null(va->snapshot_finalize);
  assert_null(va->snapshot_async);
  struct raft_buffer *bufs = NULL;
  unsigned nb = 0;
  assert_int_equal(va->snapshot(va, &bufs, &nb), 0);
  assert_true(nb >= 3);
  assert_int_equal(bufs[0].len, STORE_SNAP_HEADER_SIZE);
  size_t total = 0;
  for (unsigned k = 0; k < nb; k++) total += bufs[k].len;
  struct raft_buffer one = {raft_malloc(total), total};
  size_t off = 0;
  for (unsigned k = 0; k < nb; k++) {
    memcpy((char *)one.base + off, bufs[k].base, bufs[k].len);
    off += bufs[k].len;
  }
  assert_int_equal(va->snapshot_finalize(va, &bufs, &nb), 0);
  assert_null(bufs);

  /* A corrupt copy is refused and stays the caller's. */
  struct raft_buffer bad = {raft_malloc(total), total};
  memcpy(bad.base, one.base, total);
  ((char *)bad.base)[total - 1] ^= 1;
  assert_int_equal(vb->restore(vb, &bad), RAFT_CORRUPT);
  raft_free(bad.base);

  assert_int_equal(vb->restore(vb, &one), 0); /* freed by restore */
  assert_int_equal(store_fsm_applied(b), 1500);
  core_buf da = {0}, db = {0};
  st_dump(a, &da);
  st_dump(b, &db);
  assert_int_equal(da.len, db.len);
  assert_memory_equal(da.data, db.data, da.len);

  store_raft_fsm_free(ga);
  store_raft_fsm_free(gb);
  store_fsm_close(a);
  store_fsm_close(b);
  core_buf_free(&da);
  core_buf_free(&db);
  free(p1);
  free(p2);
  st_rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kill_revive_snapshot_install),
      cmocka_unit_test(test_partitioned_leader),
      cmocka_unit_test(test_checkpoint_fencing_across_leaders),
      cmocka_unit_test(test_follower_io_fault),
      cmocka_unit_test(test_glue_snapshot_restore),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
