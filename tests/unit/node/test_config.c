/*
 * Node configuration, second set (the first is test_options.c): the
 * bounds of every option at and past each edge, the YAML loader's
 * positions for syntax errors, unknown keys, wrong types and `join` as a
 * list or a string, the environment's naming, precedence with origins,
 * the typed copy, and an out-of-memory loop over the whole API.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/core.h"
#include "node/options.h"
#include "wire/node.h"

static wire_node_config *cfg_new(void) {
  wire_node_config *c = NULL;
  assert_int_equal(wire_node_config_new(&c), WIRE_OK);
  return c;
}

static char *write_tmp(const char *text) {
  char *p = strdup("/tmp/wire-ncfg-XXXXXX");
  int fd = mkstemp(p);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  return p;
}

static void drop_tmp(char *p) {
  unlink(p);
  free(p);
}

/* ---- bounds ---------------------------------------------------------------- */

typedef struct setcase {
  const char *key, *value;
  const char *canon; /* canonical text when accepted, NULL when refused */
  const char *msg;   /* the message when refused */
} setcase;

static const setcase CASES[] = {
    {"id", "1", "1", NULL},
    {"id", "9223372036854775807", "9223372036854775807", NULL},
    {"id", "9223372036854775808", NULL,
     "option 'id': must be between 1 and 9223372036854775807, got "
     "9223372036854775808"},
    {"id", "0", NULL,
     "option 'id': must be between 1 and 9223372036854775807, got 0"},
    {"id", "", NULL, "option 'id': expected an integer, got \"\""},
    {"id", "+1", NULL, "option 'id': expected an integer, got \"+1\""},
    {"id", "1x", NULL, "option 'id': expected an integer, got \"1x\""},
    {"id", "007", "7", NULL},
    {"data-dir", "/var/lib/wire", "/var/lib/wire", NULL},
    {"raft", "10.0.0.1:1", "10.0.0.1:1", NULL},
    {"raft", "node-1.example.com:65535", "node-1.example.com:65535", NULL},
    {"raft", "[fe80::1]:7000", "[fe80::1]:7000", NULL},
    {"raft", "h:0", NULL,
     "option 'raft': port must be between 1 and 65535, got 0"},
    {"raft", "h:65536", NULL,
     "option 'raft': expected HOST:PORT, got \"h:65536\""},
    {"raft", "h:", NULL, "option 'raft': expected HOST:PORT, got \"h:\""},
    {"raft", ":7000", NULL, "option 'raft': expected HOST:PORT, got \":7000\""},
    {"raft", "h:-1", NULL, "option 'raft': expected HOST:PORT, got \"h:-1\""},
    {"raft", "h:+1", NULL, "option 'raft': expected HOST:PORT, got \"h:+1\""},
    {"raft", "h:1x", NULL, "option 'raft': expected HOST:PORT, got \"h:1x\""},
    {"raft", "[]:1", NULL, "option 'raft': expected HOST:PORT, got \"[]:1\""},
    {"raft", "[::1:1", NULL,
     "option 'raft': expected HOST:PORT, got \"[::1:1\""},
    {"raft", "", NULL, "option 'raft': expected HOST:PORT, got \"\""},
    {"http", "0.0.0.0:0", "0.0.0.0:0", NULL}, /* any free port */
    {"http", "h:65535", "h:65535", NULL},
    {"http", "localhost", NULL,
     "option 'http': expected HOST:PORT, got \"localhost\""},
    {"bootstrap", "true", "true", NULL},
    {"bootstrap", "1", "true", NULL},
    {"bootstrap", "false", "false", NULL},
    {"bootstrap", "0", "false", NULL},
    {"bootstrap", "TRUE", NULL,
     "option 'bootstrap': expected true or false, got \"TRUE\""},
    {"join", "", "", NULL},
    {"join", "h:1", "h:1", NULL},
    {"join", " a:1 ,b:2 ", "a:1,b:2", NULL},
    {"join", "a:0", NULL, "option 'join': expected HOST:PORT, got \"a:0\""},
    {"join", "a:1,", "a:1", NULL}, /* a trailing comma is tolerated */
    {"join", ",a:1", NULL,
     "option 'join': expected HOST:PORT[,HOST:PORT...], got \",a:1\""},
    {"snapshot-threshold", "1", "1", NULL},
    {"snapshot-threshold", "0", NULL,
     "option 'snapshot-threshold': must be between 1 and 1073741824, got 0"},
    {"snapshot-threshold", "1073741824", "1073741824", NULL},
    {"snapshot-threshold", "1073741825", NULL,
     "option 'snapshot-threshold': must be between 1 and 1073741824, got "
     "1073741825"},
    {"snapshot-trailing", "0", "0", NULL},
    {"snapshot-trailing", "1073741825", NULL,
     "option 'snapshot-trailing': must be between 0 and 1073741824, got "
     "1073741825"},
    {"snapshot-install-timeout", "100", "100", NULL},
    {"snapshot-install-timeout", "99", NULL,
     "option 'snapshot-install-timeout': must be between 100 and 3600000, "
     "got 99"},
    {"election-timeout", "100", "100", NULL},
    {"election-timeout", "99", NULL,
     "option 'election-timeout': must be between 100 and 60000, got 99"},
    {"election-timeout", "60000", "60000", NULL},
    {"election-timeout", "60001", NULL,
     "option 'election-timeout': must be between 100 and 60000, got 60001"},
    {"heartbeat-timeout", "10", "10", NULL},
    {"heartbeat-timeout", "9", NULL,
     "option 'heartbeat-timeout': must be between 10 and 10000, got 9"},
    {"heartbeat-timeout", "10000", "10000", NULL},
    {"heartbeat-timeout", "10001", NULL,
     "option 'heartbeat-timeout': must be between 10 and 10000, got 10001"},
    {"request-timeout", "1", "1", NULL},
    {"request-timeout", "0", NULL,
     "option 'request-timeout': must be between 1 and 600000, got 0"},
    {"request-timeout", "600000", "600000", NULL},
    {"request-timeout", "600001", NULL,
     "option 'request-timeout': must be between 1 and 600000, got 600001"},
    {"value-max", "1", "1", NULL},
    {"value-max", "0", NULL,
     "option 'value-max': must be between 1 and 67108864 bytes, got 0"},
    {"value-max", "64MiB", "67108864", NULL},
    {"read-cache", "0", "0", NULL}, /* off */
    {"read-cache", "512M", "536870912", NULL},
    {"read-cache", "2GiB", "2147483648", NULL},
    {"read-cache", "-1", NULL,
     "option 'read-cache': expected a size in bytes (e.g. 8MiB), got \"-1\""},
    {"value-max", "64M", "67108864", NULL},
    {"value-max", "65536K", "67108864", NULL},
    {"value-max", "65537KiB", NULL,
     "option 'value-max': must be between 1 and 67108864 bytes, got "
     "67109888"},
    {"value-max", "67108865", NULL,
     "option 'value-max': must be between 1 and 67108864 bytes, got "
     "67108865"},
    {"value-max", "512k", "524288", NULL},
    {"value-max", "MiB", NULL,
     "option 'value-max': expected a size in bytes (e.g. 8MiB), got \"MiB\""},
    {"value-max", "1GiB", NULL,
     "option 'value-max': must be between 1 and 67108864 bytes, got 1073741824"},
    {"value-max", "1TiB", NULL,
     "option 'value-max': expected a size in bytes (e.g. 8MiB), got \"1TiB\""},
    {"log-level", "debug", "debug", NULL},
    {"log-level", "info", "info", NULL},
    {"log-level", "warn", "warn", NULL},
    {"log-level", "error", "error", NULL},
    {"log-level", "INFO", NULL,
     "option 'log-level': expected debug, info, warn or error, got \"INFO\""},
};

static void test_bounds(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
    const setcase *t = &CASES[i];
    wire_node_config *c = cfg_new();
    const char *before = wire_node_config_get(c, t->key);
    assert_non_null(before);
    char *saved = strdup(before);
    int rc = wire_node_config_set(c, t->key, t->value);
    if (t->canon) {
      if (rc != WIRE_OK)
        fail_msg("%s=%s: %s", t->key, t->value, wire_node_config_error(c));
      assert_string_equal(wire_node_config_get(c, t->key), t->canon);
      assert_string_equal(wire_node_config_origin(c, t->key), "api");
    } else {
      if (rc != WIRE_EINVAL) fail_msg("%s=%s accepted", t->key, t->value);
      assert_string_equal(wire_node_config_error(c), t->msg);
      /* A refused value changes nothing. */
      assert_string_equal(wire_node_config_get(c, t->key), saved);
      assert_string_equal(wire_node_config_origin(c, t->key), "default");
    }
    free(saved);
    wire_node_config_free(c);
  }
}

static void test_table(void **state) {
  (void)state;
  wire_node_config *c = cfg_new();
  /* The defaults of the table are the values of a new configuration (in
   * canonical form), and every option has an argument name but the flag. */
  size_t n = wire_node_config_option_count();
  for (size_t i = 0; i < n; i++) {
    const wire_node_option_info *o = wire_node_config_option(i);
    assert_string_equal(wire_node_config_origin(c, o->key), "default");
    assert_true(o->doc && *o->doc);
    if (!o->arg) assert_string_equal(o->key, "bootstrap");
    if (!o->def) {
      assert_string_equal(wire_node_config_get(c, o->key), "");
    } else {
      wire_node_config *d = cfg_new();
      if (*o->def)
        assert_int_equal(wire_node_config_set(d, o->key, o->def), WIRE_OK);
      assert_string_equal(wire_node_config_get(d, o->key),
                          wire_node_config_get(c, o->key));
      wire_node_config_free(d);
    }
  }
  assert_null(wire_node_config_origin(c, "nope"));
  assert_int_equal(wire_node_config_set(c, NULL, "x"), WIRE_EINVAL);
  assert_int_equal(wire_node_config_set(c, "id", NULL), WIRE_EINVAL);
  assert_string_equal(wire_node_config_error(c), "");
  assert_string_equal(wire_node_config_error(NULL), "");
  wire_node_config_free(NULL);
  wire_node_config_free(c);
}

/* ---- YAML file ---------------------------------------------------------------- */

/* Load `text` from a file; expect `rc` and, with "%F" standing for the
 * file's path, the message `want` (NULL: not checked). */
static void expect_file(wire_node_config *c, const char *text, int rc,
                        const char *want) {
  char *path = write_tmp(text);
  int got = wire_node_config_load_file(c, path);
  if (got != rc)
    fail_msg("rc %d, want %d: %s", got, rc, wire_node_config_error(c));
  if (want) {
    char exp[4096];
    size_t o = 0;
    for (const char *p = want; *p && o < sizeof exp - 300; p++) {
      if (p[0] == '%' && p[1] == 'F') {
        o += (size_t)snprintf(exp + o, sizeof exp - o, "%s", path);
        p++;
      } else {
        exp[o++] = *p;
      }
    }
    exp[o] = '\0';
    assert_string_equal(wire_node_config_error(c), exp);
  }
  drop_tmp(path);
}

static void test_file_positions(void **state) {
  (void)state;
  wire_node_config *c = cfg_new();
  /* Syntax error: line and column of the parser. */
  expect_file(c, "id: 1\n  data-dir: x\n", WIRE_ECONFIG,
              "%F:2:11: YAML syntax error: mapping values are not allowed in "
              "this context");
  expect_file(c, "id: 1\nraft: \"127.0.0.1:7000\n", WIRE_ECONFIG,
              "%F:3:1: YAML syntax error: found unexpected end of stream "
              "(while scanning a quoted scalar at line 2, column 7)");
  expect_file(c, "id: 1\nid: 2\n", WIRE_ECONFIG,
              "%F:2:1: duplicate key 'id' (first at line 1)");
  /* Unknown key: at the key; value errors: at the value. */
  expect_file(c,
              "id: 1\n"
              "data-dir: /d\n"
              "raftt: 127.0.0.1:7001\n"
              "http:   nope\n",
              WIRE_ECONFIG,
              "%F:3:1: unknown option 'raftt' (did you mean 'raft'?)\n"
              "%F:4:9: option 'http': expected HOST:PORT, got \"nope\"");
  expect_file(c, "election-timeout: 5\n", WIRE_ECONFIG,
              "%F:1:19: option 'election-timeout': must be between 100 and "
              "60000, got 5");
  /* Wrong types. */
  expect_file(c, "id: [1]\n", WIRE_ECONFIG,
              "%F:1:5: option 'id' takes one value, not a list");
  expect_file(c, "log-level:\n  a: b\n", WIRE_ECONFIG,
              "%F:2:3: option 'log-level' takes a value, not a mapping");
  expect_file(c, "bootstrap: yes\n", WIRE_ECONFIG,
              "%F:1:12: option 'bootstrap': expected true or false, got "
              "\"yes\"");
  expect_file(c, "id: 1.5\n", WIRE_ECONFIG,
              "%F:1:5: option 'id': expected an integer, got \"1.5\"");
  /* join: a list, or one comma-separated string; items must be scalars. */
  expect_file(c, "join: [[a:1]]\n", WIRE_ECONFIG,
              "%F:1:8: join: expected HOST:PORT, got a list");
  expect_file(c, "join:\n  - a:1\n  - {b: 2}\n", WIRE_ECONFIG,
              "%F:3:5: join: expected HOST:PORT, got a mapping");
  expect_file(c, "join:\n  - a:1\n  - nope\n", WIRE_ECONFIG,
              "%F:2:3: option 'join': expected HOST:PORT, got \"nope\"");
  /* Not a mapping at all. */
  expect_file(c, "just text\n", WIRE_ECONFIG,
              "%F:1:1: expected a mapping of option names to values, got a "
              "scalar");
  /* Nothing of the failed files was applied. */
  for (size_t i = 0; i < wire_node_config_option_count(); i++)
    assert_string_equal(
        wire_node_config_origin(c, wire_node_config_option(i)->key),
        "default");

  /* Good files: list and string forms of join; quoted, null and empty
   * values; an empty file changes nothing. */
  expect_file(c, "join: a:1, b:2\n", WIRE_OK, NULL);
  assert_string_equal(wire_node_config_get(c, "join"), "a:1,b:2");
  expect_file(c, "join: ['[::1]:1', b:2]\n", WIRE_OK, NULL);
  assert_string_equal(wire_node_config_get(c, "join"), "[::1]:1,b:2");
  expect_file(c, "join: []\n", WIRE_OK, NULL);
  assert_string_equal(wire_node_config_get(c, "join"), "");
  assert_string_equal(wire_node_config_origin(c, "join"), "file");
  expect_file(c,
              "# node 1\n"
              "id: \"12\"\n"
              "election-timeout: 2000\n"
              "heartbeat-timeout: 200\n"
              "bootstrap: true\n"
              "value-max: 16MiB\n"
              "data-dir: '/srv/wire data'\n",
              WIRE_OK, NULL);
  assert_string_equal(wire_node_config_get(c, "id"), "12");
  assert_string_equal(wire_node_config_get(c, "bootstrap"), "true");
  assert_string_equal(wire_node_config_get(c, "value-max"), "16777216");
  assert_string_equal(wire_node_config_get(c, "data-dir"), "/srv/wire data");
  /* A long list is taken whole (it used to be cut at 4 KiB, which could
   * turn the invalid last item "hh:1234567" into a valid "hh:1234"). */
  {
    core_buf b = {0};
    core_buf_printf(&b, "join:\n");
    for (int i = 0; i < 292; i++) core_buf_printf(&b, "  - 10.0.0.1:8000\n");
    core_buf_printf(&b, "  - hh:1234567\n");
    expect_file(c, b.data, WIRE_ECONFIG,
                "%F:2:3: option 'join': expected HOST:PORT, got "
                "\"hh:1234567\"");
    core_buf_free(&b);
  }
  expect_file(c, "", WIRE_OK, NULL);
  expect_file(c, "# only a comment\n", WIRE_OK, NULL);
  assert_string_equal(wire_node_config_get(c, "id"), "12");
  assert_string_equal(wire_node_config_origin(c, "id"), "file");
  assert_string_equal(wire_node_config_origin(c, "raft"), "default");
  wire_node_config_free(c);
}

/* ---- environment and precedence ------------------------------------------------ */

static void test_env_and_precedence(void **state) {
  (void)state;
  wire_node_config *c = cfg_new();
  char *path = write_tmp("id: 1\nrequest-timeout: 100\nsnapshot-trailing: 10\n"
                         "raft: 10.0.0.1:7000\n");
  assert_int_equal(wire_node_config_load_file(c, path), WIRE_OK);
  char *env[] = {"WIRE_REQUEST_TIMEOUT=200", "WIRE_SNAPSHOT_TRAILING=20",
                 "WIRE_BOOTSTRAP=", "NOT_WIRE_ID=9", "WIRE_ID", NULL};
  assert_int_equal(wire_node_config_load_env(c, env), WIRE_OK);
  assert_int_equal(wire_node_config_set(c, "request-timeout", "300"), WIRE_OK);
  /* default < file < env < api, each with its origin */
  assert_string_equal(wire_node_config_get(c, "http"), "127.0.0.1:8000");
  assert_string_equal(wire_node_config_origin(c, "http"), "default");
  assert_string_equal(wire_node_config_get(c, "raft"), "10.0.0.1:7000");
  assert_string_equal(wire_node_config_origin(c, "raft"), "file");
  assert_string_equal(wire_node_config_get(c, "id"), "1");
  assert_string_equal(wire_node_config_origin(c, "id"), "file");
  assert_string_equal(wire_node_config_get(c, "snapshot-trailing"), "20");
  assert_string_equal(wire_node_config_origin(c, "snapshot-trailing"), "env");
  assert_string_equal(wire_node_config_get(c, "bootstrap"), "true");
  assert_string_equal(wire_node_config_get(c, "request-timeout"), "300");
  assert_string_equal(wire_node_config_origin(c, "request-timeout"), "api");
  /* A later file overrides what it names, and only that. */
  char *path2 = write_tmp("snapshot-trailing: 30\n");
  assert_int_equal(wire_node_config_load_file(c, path2), WIRE_OK);
  assert_string_equal(wire_node_config_origin(c, "snapshot-trailing"), "file");
  assert_string_equal(wire_node_config_origin(c, "request-timeout"), "api");

  char *bad[] = {"WIRE_HEARTBEAT_TIMEOUT=5", NULL};
  assert_int_equal(wire_node_config_load_env(c, bad), WIRE_EINVAL);
  assert_string_equal(wire_node_config_error(c),
                      "WIRE_HEARTBEAT_TIMEOUT: option 'heartbeat-timeout': "
                      "must be between 10 and 10000, got 5");
  char *typo[] = {"WIRE_SNAPSHOT_TRESHOLD=5", NULL};
  assert_int_equal(wire_node_config_load_env(c, typo), WIRE_EINVAL);
  assert_string_equal(wire_node_config_error(c),
                      "WIRE_SNAPSHOT_TRESHOLD: unknown option "
                      "'snapshot-treshold' (did you mean "
                      "'snapshot-threshold'?)");
  drop_tmp(path);
  drop_tmp(path2);
  wire_node_config_free(c);
}

/* ---- validation and the typed copy ---------------------------------------------- */

static void test_validate_and_copy(void **state) {
  (void)state;
  wire_node_config *c = cfg_new();
  assert_int_equal(wire_node_config_validate(c), WIRE_EINVAL);
  assert_string_equal(wire_node_config_error(c),
                      "option 'id' is required (--id, WIRE_ID or 'id:' in "
                      "the config file)");
  assert_int_equal(wire_node_config_set(c, "id", "18446744073709551615"),
                   WIRE_EINVAL);
  assert_int_equal(wire_node_config_set(c, "id", "9223372036854775807"),
                   WIRE_OK);
  assert_int_equal(wire_node_config_validate(c), WIRE_EINVAL);
  assert_string_equal(wire_node_config_error(c),
                      "option 'data-dir' is required (--data-dir, "
                      "WIRE_DATA_DIR or 'data-dir:' in the config file)");
  assert_int_equal(wire_node_config_set(c, "data-dir", "/d"), WIRE_OK);
  assert_int_equal(wire_node_config_validate(c), WIRE_OK);
  assert_string_equal(wire_node_config_error(c), "");
  /* heartbeat exactly half of the election timeout is the limit. */
  assert_int_equal(wire_node_config_set(c, "election-timeout", "100"), WIRE_OK);
  assert_int_equal(wire_node_config_set(c, "heartbeat-timeout", "51"), WIRE_OK);
  assert_int_equal(wire_node_config_validate(c), WIRE_EINVAL);
  assert_string_equal(wire_node_config_error(c),
                      "option 'heartbeat-timeout' (51 ms) must be at most "
                      "half of 'election-timeout' (100 ms)");
  assert_int_equal(wire_node_config_set(c, "heartbeat-timeout", "50"), WIRE_OK);
  assert_int_equal(wire_node_config_validate(c), WIRE_OK);

  assert_int_equal(wire_node_config_set(c, "raft", "[::1]:9000"), WIRE_OK);
  assert_int_equal(wire_node_config_set(c, "http", "[::1]:0"), WIRE_OK);
  assert_int_equal(wire_node_config_set(c, "join", "a:1,[::2]:2,c:3"), WIRE_OK);
  assert_int_equal(wire_node_config_set(c, "log-level", "warn"), WIRE_OK);
  assert_int_equal(wire_node_config_set(c, "value-max", "1K"), WIRE_OK);
  assert_int_equal(wire_node_config_validate(c), WIRE_OK);
  struct node_config t;
  assert_int_equal(node_config_copy(c, &t), WIRE_OK);
  assert_true(t.id == UINT64_C(9223372036854775807));
  assert_string_equal(t.data_dir, "/d");
  assert_string_equal(t.raft_host, "::1");
  assert_int_equal(t.raft_port, 9000);
  assert_string_equal(t.http_host, "::1");
  assert_int_equal(t.http_port, 0);
  assert_false(t.bootstrap);
  assert_int_equal(t.n_join, 3);
  assert_string_equal(t.join[0], "a:1");
  assert_string_equal(t.join[1], "[::2]:2");
  assert_string_equal(t.join[2], "c:3");
  assert_int_equal(t.snapshot_threshold, 8192);
  assert_int_equal(t.snapshot_trailing, 2048);
  assert_int_equal(t.snapshot_install_timeout_ms, 10000);
  assert_int_equal(t.election_timeout_ms, 100);
  assert_int_equal(t.heartbeat_timeout_ms, 50);
  assert_int_equal(t.request_timeout_ms, 5000);
  assert_int_equal(t.value_max, 1024);
  assert_int_equal(t.log_level, WIRE_LOG_WARN);
  node_config_free(&t);
  assert_null(t.data_dir); /* cleared: a second free is harmless */
  node_config_free(&t);
  wire_node_config_free(c);
}

/* ---- out of memory ---------------------------------------------------------------- */

/* Fail each allocation in turn over new, set, file, env, validate and copy:
 * no crash, no leak (ASan), and whatever succeeded holds the right values. */
static void test_oom(void **state) {
  (void)state;
  char *path = write_tmp("id: 5\ndata-dir: /d\njoin: [a:1, b:2]\n"
                         "election-timeout: 2000\n");
  char *env[] = {"WIRE_RAFT=h:1", NULL};
  int ok = 0;
  for (long n = 0; n < 5000 && ok < 3; n++) {
    wire_node_config *c = NULL;
    struct node_config t;
    bool copied = false;
    core_alloc_fail_after(n);
    int rc = wire_node_config_new(&c);
    if (rc == WIRE_OK) {
      rc = wire_node_config_load_file(c, path);
      /* All or nothing: a file either applies whole or not at all. */
      const char *id = wire_node_config_get(c, "id");
      assert_non_null(id);
      assert_string_equal(id, rc == WIRE_OK ? "5" : "");
      if (rc) assert_string_not_equal(wire_node_config_error(c), "");
    }
    if (rc == WIRE_OK) rc = wire_node_config_load_env(c, env);
    if (rc == WIRE_OK) rc = wire_node_config_set(c, "value-max", "2MiB");
    if (rc == WIRE_OK) rc = wire_node_config_validate(c);
    if (rc == WIRE_OK) copied = (rc = node_config_copy(c, &t)) == WIRE_OK;
    core_alloc_fail_after(-1);
    /* Whatever failed, every option still has a value. */
    for (size_t i = 0; c && i < wire_node_config_option_count(); i++)
      assert_non_null(wire_node_config_get(c, wire_node_config_option(i)->key));
    if (rc == WIRE_OK) {
      ok++;
      assert_string_equal(wire_node_config_get(c, "join"), "a:1,b:2");
      assert_string_equal(wire_node_config_get(c, "raft"), "h:1");
      assert_string_equal(wire_node_config_get(c, "value-max"), "2097152");
      assert_int_equal(t.n_join, 2);
      assert_int_equal(t.election_timeout_ms, 2000);
    } else if (rc != WIRE_ENOMEM) {
      fail_msg("after %ld allocations: rc %d: %s", n, rc,
               c ? wire_node_config_error(c) : "");
    }
    if (copied) node_config_free(&t);
    wire_node_config_free(c);
  }
  assert_int_equal(ok, 3);
  drop_tmp(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bounds),
      cmocka_unit_test(test_table),
      cmocka_unit_test(test_file_positions),
      cmocka_unit_test(test_env_and_precedence),
      cmocka_unit_test(test_validate_and_copy),
      cmocka_unit_test(test_oom),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
