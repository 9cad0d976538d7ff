/*
 * Node tests in one process: real raft (libuv backend, TCP on 127.0.0.1),
 * real RocksDB in temporary directories.  Single-node clusters: bootstrap,
 * the key-value API (sync and async), limits, group commit, restart from
 * disk, two nodes in one process, refusal of a data dir without a cluster,
 * pipelines through the C API (validation, create, transient sink failures
 * retried, info, pause, delete).
 * Multi-node behaviour (join, forwarding, failover) is tested with real
 * processes in tests/integration/.
 */
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "node/node_int.h"
#include "wire/wire.h"
#include "wire/node.h"

/* ---- helpers ------------------------------------------------------------ */

static int rm_one(const char *p, const struct stat *sb, int flag,
                  struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(p);
}

static char *tmpdir(void) {
  char *d = strdup("/tmp/wire-node-XXXXXX");
  assert_non_null(d);
  assert_non_null(mkdtemp(d));
  return d;
}

static void rmdir_all(char *d) {
  nftw(d, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  free(d);
}

/* A TCP port free right now on 127.0.0.1. */
static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t len = sizeof a;
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  close(fd);
  return ntohs(a.sin_port);
}

typedef struct tnode {
  wire_ctx *ctx;
  wire_node *node;
  char *dir;
  int raft_port, http_port;
} tnode;

static void quiet_log(void *user, wire_log_level level, const char *component,
                      const char *msg) {
  (void)user, (void)level, (void)component, (void)msg;
}

static int open_node(tnode *t, uint64_t id, bool bootstrap,
                     const char *value_max) {
  wire_node_config *cfg;
  assert_int_equal(wire_node_config_new(&cfg), WIRE_OK);
  char buf[64];
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)id);
  assert_int_equal(wire_node_config_set(cfg, "id", buf), WIRE_OK);
  assert_int_equal(wire_node_config_set(cfg, "data-dir", t->dir), WIRE_OK);
  snprintf(buf, sizeof buf, "127.0.0.1:%d", t->raft_port);
  assert_int_equal(wire_node_config_set(cfg, "raft", buf), WIRE_OK);
  snprintf(buf, sizeof buf, "127.0.0.1:%d", t->http_port);
  assert_int_equal(wire_node_config_set(cfg, "http", buf), WIRE_OK);
  if (bootstrap)
    assert_int_equal(wire_node_config_set(cfg, "bootstrap", "true"), WIRE_OK);
  assert_int_equal(wire_node_config_set(cfg, "election-timeout", "200"),
                   WIRE_OK);
  assert_int_equal(wire_node_config_set(cfg, "heartbeat-timeout", "50"),
                   WIRE_OK);
  if (value_max)
    assert_int_equal(wire_node_config_set(cfg, "value-max", value_max),
                     WIRE_OK);
  int rc = wire_node_open(t->ctx, cfg, &t->node);
  wire_node_config_free(cfg);
  return rc;
}

static void start_node(tnode *t, uint64_t id, bool bootstrap,
                       const char *value_max) {
  assert_int_equal(open_node(t, id, bootstrap, value_max), WIRE_OK);
  int rc = wire_node_start(t->node);
  if (rc) fail_msg("start: %s", wire_node_errmsg(t->node));
}

static void wait_leader(tnode *t) {
  for (int i = 0; i < 400; i++) {
    wire_node_status st;
    assert_int_equal(wire_node_status_get(t->node, &st), WIRE_OK);
    if (st.role == WIRE_ROLE_LEADER) return;
    usleep(10000);
  }
  fail_msg("no leader after 4 s");
}

static void tnode_init(tnode *t) {
  memset(t, 0, sizeof *t);
  assert_int_equal(wire_ctx_new(&t->ctx), WIRE_OK);
  wire_ctx_set_log(t->ctx, WIRE_LOG_ERROR, quiet_log, NULL);
  t->dir = tmpdir();
  t->raft_port = free_port();
  t->http_port = free_port();
}

static void tnode_fini(tnode *t) {
  wire_node_close(t->node);
  wire_ctx_free(t->ctx);
  rmdir_all(t->dir);
}

static void expect_get(wire_node *n, const char *key, const char *want,
                       wire_read_mode mode) {
  char *v = NULL;
  size_t len = 0;
  int rc = wire_node_get(n, key, strlen(key), mode, &v, &len, 0);
  if (!want) {
    assert_int_equal(rc, WIRE_ENOTFOUND);
    assert_null(v);
    return;
  }
  if (rc) fail_msg("get %s: %s", key, wire_node_errmsg(n));
  assert_int_equal(len, strlen(want));
  assert_memory_equal(v, want, len);
  assert_int_equal(v[len], '\0');
  free(v);
}

/* ---- tests ------------------------------------------------------------- */

static void test_kv_single_node(void **state) {
  (void)state;
  tnode t;
  tnode_init(&t);
  start_node(&t, 1, true, "1KiB");
  wait_leader(&t);
  wire_node *n = t.node;

  assert_int_equal(wire_node_put(n, "a", 1, "1", 1, 0), WIRE_OK);
  expect_get(n, "a", "1", WIRE_READ_LINEARIZABLE);
  expect_get(n, "a", "1", WIRE_READ_STALE);
  assert_int_equal(wire_node_put(n, "a", 1, "22", 2, 0), WIRE_OK);
  expect_get(n, "a", "22", WIRE_READ_LINEARIZABLE);
  expect_get(n, "missing", NULL, WIRE_READ_LINEARIZABLE);

  /* Binary keys and values, empty value. */
  const char bk[] = {'k', 0, 'x', (char)0xff};
  const char bv[] = {0, 1, 2, 0};
  assert_int_equal(wire_node_put(n, bk, sizeof bk, bv, sizeof bv, 0), WIRE_OK);
  char *v;
  size_t len;
  assert_int_equal(wire_node_get(n, bk, sizeof bk, 0, &v, &len, 0), WIRE_OK);
  assert_int_equal(len, sizeof bv);
  assert_memory_equal(v, bv, sizeof bv);
  free(v);
  assert_int_equal(wire_node_put(n, "empty", 5, "", 0, 0), WIRE_OK);
  expect_get(n, "empty", "", WIRE_READ_LINEARIZABLE);

  /* Delete: found, then not found. */
  assert_int_equal(wire_node_delete(n, "a", 1, 0), WIRE_OK);
  assert_int_equal(wire_node_delete(n, "a", 1, 0), WIRE_ENOTFOUND);
  expect_get(n, "a", NULL, WIRE_READ_LINEARIZABLE);

  /* CAS: create-if-absent, swap, mismatch, delete-if-equal. */
  assert_int_equal(wire_node_cas(n, "c", 1, NULL, 0, "v1", 2, 0), WIRE_OK);
  assert_int_equal(wire_node_cas(n, "c", 1, NULL, 0, "v2", 2, 0),
                   WIRE_EMISMATCH);
  assert_int_equal(wire_node_cas(n, "c", 1, "v1", 2, "v2", 2, 0), WIRE_OK);
  assert_int_equal(wire_node_cas(n, "c", 1, "v1", 2, "v3", 2, 0),
                   WIRE_EMISMATCH);
  assert_non_null(strstr(wire_node_errmsg(n), "compare failed"));
  expect_get(n, "c", "v2", WIRE_READ_LINEARIZABLE);
  assert_int_equal(wire_node_cas(n, "c", 1, "v2", 2, NULL, 0, 0), WIRE_OK);
  expect_get(n, "c", NULL, WIRE_READ_LINEARIZABLE);

  /* Limits: refused before anything is proposed. */
  assert_int_equal(wire_node_put(n, "", 0, "x", 1, 0), WIRE_EINVAL);
  assert_non_null(strstr(wire_node_errmsg(n), "empty key"));
  size_t big = 64 * 1024 + 1;
  char *bigkey = calloc(1, big);
  memset(bigkey, 'k', big);
  assert_int_equal(wire_node_put(n, bigkey, big, "x", 1, 0), WIRE_ETOOBIG);
  assert_int_equal(wire_node_put(n, bigkey, big - 1, "x", 1, 0), WIRE_OK);
  free(bigkey);
  char val[1025];
  memset(val, 'v', sizeof val);
  assert_int_equal(wire_node_put(n, "big", 3, val, 1025, 0), WIRE_ETOOBIG);
  assert_non_null(strstr(wire_node_errmsg(n), "value-max"));
  assert_int_equal(wire_node_put(n, "big", 3, val, 1024, 0), WIRE_OK);

  wire_node_status st;
  assert_int_equal(wire_node_status_get(n, &st), WIRE_OK);
  assert_int_equal(st.id, 1);
  assert_int_equal(st.role, WIRE_ROLE_LEADER);
  assert_int_equal(st.leader_id, 1);
  char http[64];
  snprintf(http, sizeof http, "127.0.0.1:%d", t.http_port);
  assert_string_equal(st.leader_http, http);
  assert_true(st.term >= 1);
  assert_true(st.commit_index >= 8);
  assert_true(st.applied_index == st.commit_index);
  assert_int_equal(st.n_members, 1);
  assert_int_equal(st.members[0].id, 1);
  assert_true(st.members[0].voter);
  assert_string_equal(wire_node_role_name(st.role), "leader");

  assert_int_equal(wire_node_stop(n), WIRE_OK);
  assert_int_equal(wire_node_stop(n), WIRE_OK); /* idempotent */
  assert_int_equal(wire_node_put(n, "a", 1, "1", 1, 0), WIRE_ESHUTDOWN);
  tnode_fini(&t);
}

/* Restart from the data dir, without --bootstrap: state and index kept. */
static void test_restart_from_disk(void **state) {
  (void)state;
  tnode t;
  tnode_init(&t);
  start_node(&t, 7, true, NULL);
  wait_leader(&t);
  char key[32], val[32];
  for (int i = 0; i < 200; i++) {
    snprintf(key, sizeof key, "k%03d", i);
    snprintf(val, sizeof val, "v%d", i);
    assert_int_equal(wire_node_put(t.node, key, strlen(key), val, strlen(val), 0),
                     WIRE_OK);
  }
  wire_node_status before;
  assert_int_equal(wire_node_status_get(t.node, &before), WIRE_OK);
  wire_node_close(t.node);
  t.node = NULL;

  start_node(&t, 7, false, NULL);
  wait_leader(&t);
  wire_node_status after;
  assert_int_equal(wire_node_status_get(t.node, &after), WIRE_OK);
  assert_true(after.applied_index >= before.applied_index);
  assert_true(after.term >= before.term);
  for (int i = 0; i < 200; i++) {
    snprintf(key, sizeof key, "k%03d", i);
    snprintf(val, sizeof val, "v%d", i);
    expect_get(t.node, key, val, WIRE_READ_STALE);
  }
  assert_int_equal(wire_node_put(t.node, "after", 5, "x", 1, 0), WIRE_OK);
  expect_get(t.node, "after", "x", WIRE_READ_LINEARIZABLE);
  tnode_fini(&t);
}

/* An empty data dir without --bootstrap or --join is refused clearly. */
static void test_refuses_empty_dir(void **state) {
  (void)state;
  tnode t;
  tnode_init(&t);
  assert_int_equal(open_node(&t, 1, false, NULL), WIRE_ECONFIG);
  assert_null(t.node);
  assert_non_null(strstr(wire_ctx_errmsg(t.ctx), "holds no cluster"));
  assert_non_null(strstr(wire_ctx_errmsg(t.ctx), "--bootstrap"));
  tnode_fini(&t);
}

/* Many writers at once: every write commits, in fewer raft entries. */
typedef struct writer {
  wire_node *node;
  int id, count, failures;
} writer;

static void *writer_main(void *arg) {
  writer *w = arg;
  char key[32], val[32];
  for (int i = 0; i < w->count; i++) {
    snprintf(key, sizeof key, "w%d-%d", w->id, i);
    snprintf(val, sizeof val, "%d", i);
    if (wire_node_put(w->node, key, strlen(key), val, strlen(val), 0))
      w->failures++;
  }
  return NULL;
}

static void test_group_commit(void **state) {
  (void)state;
  tnode t;
  tnode_init(&t);
  start_node(&t, 1, true, NULL);
  wait_leader(&t);
  enum { W = 16, PER = 200 };
  pthread_t th[W];
  writer w[W];
  uint64_t e0 = atomic_load(&t.node->n_entries);
  uint64_t c0 = atomic_load(&t.node->n_commands);
  for (int i = 0; i < W; i++) {
    w[i] = (writer){.node = t.node, .id = i, .count = PER};
    pthread_create(&th[i], NULL, writer_main, &w[i]);
  }
  for (int i = 0; i < W; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < W; i++) assert_int_equal(w[i].failures, 0);
  uint64_t entries = atomic_load(&t.node->n_entries) - e0;
  uint64_t cmds = atomic_load(&t.node->n_commands) - c0;
  assert_int_equal(cmds, W * PER);
  /* 16 writers each waiting for their commit: entries carry several. */
  assert_true(entries < cmds / 2);
  char key[32], val[32];
  for (int i = 0; i < W; i++)
    for (int j = 0; j < PER; j += 37) {
      snprintf(key, sizeof key, "w%d-%d", i, j);
      snprintf(val, sizeof val, "%d", j);
      expect_get(t.node, key, val, WIRE_READ_STALE);
    }
  tnode_fini(&t);
}

/* Asynchronous calls complete once each, on the node thread. */
typedef struct async_state {
  pthread_mutex_t mu;
  pthread_cond_t cond;
  int done, ok, notfound, mismatch;
  char got[16];
} async_state;

static void on_done(void *user, int rc, const char *val, size_t vlen) {
  async_state *a = user;
  pthread_mutex_lock(&a->mu);
  a->done++;
  if (rc == WIRE_OK) a->ok++;
  if (rc == WIRE_ENOTFOUND) a->notfound++;
  if (rc == WIRE_EMISMATCH) a->mismatch++;
  if (rc == WIRE_OK && val && vlen < sizeof a->got) {
    memcpy(a->got, val, vlen);
    a->got[vlen] = '\0';
  }
  pthread_cond_signal(&a->cond);
  pthread_mutex_unlock(&a->mu);
}

static void wait_done(async_state *a, int n) {
  pthread_mutex_lock(&a->mu);
  while (a->done < n) pthread_cond_wait(&a->cond, &a->mu);
  pthread_mutex_unlock(&a->mu);
}

static void test_async(void **state) {
  (void)state;
  tnode t;
  tnode_init(&t);
  start_node(&t, 1, true, NULL);
  wait_leader(&t);
  async_state a = {.mu = PTHREAD_MUTEX_INITIALIZER,
                   .cond = PTHREAD_COND_INITIALIZER};
  for (int i = 0; i < 100; i++)
    assert_int_equal(wire_node_put_async(t.node, "k", 1, "v", 1, on_done, &a),
                     WIRE_OK);
  wait_done(&a, 100);
  assert_int_equal(a.ok, 100);
  assert_int_equal(wire_node_get_async(t.node, "k", 1, WIRE_READ_LINEARIZABLE,
                                       on_done, &a),
                   WIRE_OK);
  wait_done(&a, 101);
  assert_string_equal(a.got, "v");
  assert_int_equal(wire_node_delete_async(t.node, "k", 1, on_done, &a),
                   WIRE_OK);
  assert_int_equal(wire_node_delete_async(t.node, "k", 1, on_done, &a),
                   WIRE_OK);
  wait_done(&a, 103);
  assert_int_equal(a.ok, 102);
  assert_int_equal(a.notfound, 1);
  assert_int_equal(wire_node_put_async(t.node, "", 0, "v", 1, on_done, &a),
                   WIRE_EINVAL);
  /* CAS: create when absent, then swap only from the expected value. */
  assert_int_equal(wire_node_cas_async(t.node, "c", 1, NULL, 0, "1", 1,
                                       on_done, &a),
                   WIRE_OK);
  wait_done(&a, 104);
  assert_int_equal(wire_node_cas_async(t.node, "c", 1, "0", 1, "2", 1,
                                       on_done, &a),
                   WIRE_OK);
  wait_done(&a, 105);
  assert_int_equal(a.mismatch, 1);
  assert_int_equal(wire_node_cas_async(t.node, "c", 1, "1", 1, "2", 1,
                                       on_done, &a),
                   WIRE_OK);
  wait_done(&a, 106);
  assert_int_equal(a.ok, 104);
  expect_get(t.node, "c", "2", WIRE_READ_LINEARIZABLE);
  tnode_fini(&t);
}

/* Two independent nodes in one process do not share anything. */
static void test_two_nodes_one_process(void **state) {
  (void)state;
  tnode a, b;
  tnode_init(&a);
  tnode_init(&b);
  start_node(&a, 1, true, NULL);
  start_node(&b, 1, true, NULL);
  wait_leader(&a);
  wait_leader(&b);
  assert_int_equal(wire_node_put(a.node, "x", 1, "a", 1, 0), WIRE_OK);
  assert_int_equal(wire_node_put(b.node, "x", 1, "b", 1, 0), WIRE_OK);
  expect_get(a.node, "x", "a", WIRE_READ_LINEARIZABLE);
  expect_get(b.node, "x", "b", WIRE_READ_LINEARIZABLE);
  tnode_fini(&a);
  expect_get(b.node, "x", "b", WIRE_READ_LINEARIZABLE);
  tnode_fini(&b);
}

/* wire_node_errmsg() is per calling thread: two threads failing different
 * calls at the same time each read their own message. */
typedef struct err_thread {
  wire_node *node;
  bool empty_key; /* else: a read of a missing key */
  int ok;
} err_thread;

static void *err_worker(void *arg) {
  err_thread *t = arg;
  for (int i = 0; i < 200; i++) {
    int rc;
    const char *want;
    if (t->empty_key) {
      rc = wire_node_put(t->node, "", 0, "v", 1, 0);
      want = "empty key";
    } else {
      char *v = NULL;
      size_t len;
      rc = wire_node_get(t->node, "missing", 7, WIRE_READ_STALE, &v, &len, 0);
      want = "key not found";
    }
    if (rc != (t->empty_key ? WIRE_EINVAL : WIRE_ENOTFOUND)) return NULL;
    if (!strstr(wire_node_errmsg(t->node), want)) return NULL;
  }
  t->ok = 1;
  return NULL;
}

static void test_errmsg_per_thread(void **state) {
  (void)state;
  tnode t;
  tnode_init(&t);
  start_node(&t, 1, true, NULL);
  wait_leader(&t);
  err_thread a = {t.node, true, 0}, b = {t.node, false, 0};
  pthread_t ta, tb;
  pthread_create(&ta, NULL, err_worker, &a);
  pthread_create(&tb, NULL, err_worker, &b);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  assert_int_equal(a.ok, 1);
  assert_int_equal(b.ok, 1);
  /* This thread failed nothing yet. */
  assert_null(strstr(wire_node_errmsg(t.node), "empty key"));
  tnode_fini(&t);
}

/* ---- pipelines through the C API ------------------------------------------- */

/* A sink whose first `fail` writes answer WIRE_EAGAIN (transient). */
typedef struct flaky {
  pthread_mutex_t mu;
  int fail, failed;
  size_t n;
} flaky;

static int flaky_open(wire_stage *st, void **state) {
  *state = wire_config_user(wire_stage_config(st));
  return WIRE_OK;
}

static int flaky_write(void *state, const wire_batch *b) {
  flaky *f = state;
  pthread_mutex_lock(&f->mu);
  int rc = WIRE_OK;
  if (f->failed < f->fail) f->failed++, rc = WIRE_EAGAIN;
  else f->n += wire_batch_count(b);
  pthread_mutex_unlock(&f->mu);
  return rc;
}

static void flaky_close(void *state) { (void)state; }

static const wire_sink_vtable flaky_vt = {
    .version = WIRE_SINK_VERSION,
    .name = "flaky",
    .doc = "test sink failing its first writes transiently",
    .open = flaky_open,
    .write = flaky_write,
    .close = flaky_close,
};

static char *info_of(wire_node *n, const char *name) {
  char *json = NULL;
  int rc = wire_node_pipeline_info(n, name, &json, 0);
  if (rc) fail_msg("info %s: %s", name, wire_node_errmsg(n));
  return json;
}

static void test_pipeline_api(void **state) {
  (void)state;
  tnode t;
  tnode_init(&t);
  flaky fl = {.fail = 3};
  pthread_mutex_init(&fl.mu, NULL);
  assert_int_equal(wire_ctx_register_sink(t.ctx, &flaky_vt, &fl), WIRE_OK);
  start_node(&t, 1, true, NULL);
  wait_leader(&t);

  /* Invalid definitions are refused with every problem and its place. */
  const char bad[] = "name: p\nsources:\n  - {id: g, type: nope}\n"
                     "sinks:\n  - {id: s, type: flaky, inputs: [x]}\n";
  assert_int_equal(wire_node_pipeline_submit(t.node, bad, sizeof bad - 1,
                                             false, NULL, 0, 0),
                   WIRE_ECONFIG);
  assert_non_null(strstr(wire_node_errmsg(t.node), "<submitted>:3:"));
  assert_non_null(strstr(wire_node_errmsg(t.node), "<submitted>:5:"));

  const char good[] = "name: p\nsources:\n  - {id: g, type: generator, "
                      "count: 5000}\nsinks:\n  - {id: s, type: flaky, "
                      "inputs: [g]}\n";
  char name[64];
  assert_int_equal(wire_node_pipeline_submit(t.node, good, sizeof good - 1,
                                             false, name, sizeof name, 0),
                   WIRE_OK);
  assert_string_equal(name, "p");
  assert_int_equal(wire_node_pipeline_submit(t.node, good, sizeof good - 1,
                                             false, NULL, 0, 0),
                   WIRE_EEXISTS);

  /* The transient failures are retried with backoff; it finishes. */
  char *json = NULL;
  for (int i = 0; i < 200; i++) {
    free(json);
    json = info_of(t.node, "p");
    if (strstr(json, "\"finished\":true")) break;
    usleep(50000);
  }
  if (!strstr(json, "\"finished\":true")) fail_msg("not finished: %s", json);
  assert_non_null(strstr(json, "\"state\":\"stopped\""));
  assert_non_null(strstr(json, "\"committed\":{\"g\":{\"position\":"));
  free(json);
  pthread_mutex_lock(&fl.mu);
  assert_int_equal(fl.failed, 3);
  assert_int_equal(fl.n, 5000);
  pthread_mutex_unlock(&fl.mu);

  /* List, pause, delete. */
  json = info_of(t.node, NULL);
  assert_non_null(strstr(json, "{\"pipelines\":[{\"name\":\"p\""));
  free(json);
  assert_int_equal(wire_node_pipeline_pause(t.node, "p", true, 0), WIRE_OK);
  json = info_of(t.node, "p");
  assert_non_null(strstr(json, "\"state\":\"paused\""));
  free(json);
  assert_int_equal(wire_node_pipeline_pause(t.node, "none", true, 0),
                   WIRE_ENOTFOUND);
  assert_int_equal(wire_node_pipeline_delete(t.node, "p", 0), WIRE_OK);
  assert_int_equal(wire_node_pipeline_delete(t.node, "p", 0), WIRE_ENOTFOUND);
  assert_int_equal(wire_node_pipeline_info(t.node, "p", &json, 0),
                   WIRE_ENOTFOUND);
  tnode_fini(&t);
  pthread_mutex_destroy(&fl.mu);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kv_single_node),
      cmocka_unit_test(test_restart_from_disk),
      cmocka_unit_test(test_refuses_empty_dir),
      cmocka_unit_test(test_group_commit),
      cmocka_unit_test(test_async),
      cmocka_unit_test(test_two_nodes_one_process),
      cmocka_unit_test(test_pipeline_api),
      cmocka_unit_test(test_errmsg_per_thread),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
