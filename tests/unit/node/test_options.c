/*
 * Node configuration: setters with exact messages, bounds, the environment,
 * the YAML file (positions, all errors, nothing applied on error),
 * precedence, whole-configuration checks and the typed copy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "node/options.h"
#include "wire/node.h"

static wire_node_config *cfg_new(void) {
  wire_node_config *c;
  assert_int_equal(wire_node_config_new(&c), WIRE_OK);
  return c;
}

static void expect_set_error(const char *key, const char *value,
                             const char *msg) {
  wire_node_config *c = cfg_new();
  assert_int_equal(wire_node_config_set(c, key, value), WIRE_EINVAL);
  assert_string_equal(wire_node_config_error(c), msg);
  wire_node_config_free(c);
}

static void test_defaults_and_set(void **state) {
  (void)state;
  wire_node_config *c = cfg_new();
  assert_string_equal(wire_node_config_get(c, "raft"), "127.0.0.1:7000");
  assert_string_equal(wire_node_config_get(c, "value-max"), "8388608");
  assert_string_equal(wire_node_config_origin(c, "raft"), "default");
  assert_null(wire_node_config_get(c, "nope"));
  assert_int_equal(wire_node_config_set(c, "value-max", "1KiB"), WIRE_OK);
  assert_string_equal(wire_node_config_get(c, "value-max"), "1024");
  assert_string_equal(wire_node_config_origin(c, "value-max"), "api");
  assert_int_equal(wire_node_config_set(c, "value-max", "2M"), WIRE_OK);
  assert_string_equal(wire_node_config_get(c, "value-max"), "2097152");
  assert_int_equal(wire_node_config_set(c, "raft", "[::1]:9000"), WIRE_OK);
  assert_int_equal(wire_node_config_set(c, "join", "a:1, b:2,[::1]:3"),
                   WIRE_OK);
  assert_string_equal(wire_node_config_get(c, "join"), "a:1,b:2,[::1]:3");
  assert_int_equal(wire_node_config_set(c, "bootstrap", ""), WIRE_OK);
  assert_string_equal(wire_node_config_get(c, "bootstrap"), "true");
  /* Every option is listed with a key and a doc. */
  size_t n = wire_node_config_option_count();
  assert_true(n >= 12);
  for (size_t i = 0; i < n; i++) {
    const wire_node_option_info *o = wire_node_config_option(i);
    assert_non_null(o->key);
    assert_non_null(o->doc);
    assert_non_null(wire_node_config_get(c, o->key));
  }
  assert_null(wire_node_config_option(n));
  wire_node_config_free(c);
}

static void test_set_errors(void **state) {
  (void)state;
  expect_set_error("data_dirr", "x",
                   "unknown option 'data_dirr' (did you mean 'data-dir'?)");
  expect_set_error("zzzzzzzzzz", "x", "unknown option 'zzzzzzzzzz'");
  expect_set_error("raft", "localhost",
                   "option 'raft': expected HOST:PORT, got \"localhost\"");
  expect_set_error("raft", "h:0",
                   "option 'raft': port must be between 1 and 65535, got 0");
  expect_set_error("raft", "h:70000",
                   "option 'raft': expected HOST:PORT, got \"h:70000\"");
  expect_set_error("raft", "::1:5", "option 'raft': expected HOST:PORT, got \"::1:5\"");
  expect_set_error("election-timeout", "5",
                   "option 'election-timeout': must be between 100 and "
                   "60000, got 5");
  expect_set_error("election-timeout", "-5",
                   "option 'election-timeout': expected an integer, got "
                   "\"-5\"");
  expect_set_error("id", "0", "option 'id': must be between 1 and "
                              "9223372036854775807, got 0");
  expect_set_error("id", "99999999999999999999999",
                   "option 'id': expected an integer, got "
                   "\"99999999999999999999999\"");
  expect_set_error("value-max", "65MiB",
                   "option 'value-max': must be between 1 and 67108864 "
                   "bytes, got 68157440");
  expect_set_error("value-max", "1X",
                   "option 'value-max': expected a size in bytes (e.g. 8MiB), "
                   "got \"1X\"");
  expect_set_error("bootstrap", "yes",
                   "option 'bootstrap': expected true or false, got \"yes\"");
  expect_set_error("log-level", "loud",
                   "option 'log-level': expected debug, info, warn or error, "
                   "got \"loud\"");
  expect_set_error("join", "a:1,,b:2",
                   "option 'join': expected HOST:PORT[,HOST:PORT...], got "
                   "\"a:1,,b:2\"");
  expect_set_error("join", "a:1,b",
                   "option 'join': expected HOST:PORT, got \"b\"");
}

static void test_validate(void **state) {
  (void)state;
  wire_node_config *c = cfg_new();
  assert_int_equal(wire_node_config_validate(c), WIRE_EINVAL);
  assert_non_null(strstr(wire_node_config_error(c), "option 'id' is required"));
  wire_node_config_set(c, "id", "3");
  assert_int_equal(wire_node_config_validate(c), WIRE_EINVAL);
  assert_non_null(strstr(wire_node_config_error(c), "'data-dir' is required"));
  wire_node_config_set(c, "data-dir", "/tmp/x");
  assert_int_equal(wire_node_config_validate(c), WIRE_OK);
  wire_node_config_set(c, "http", "127.0.0.1:7000");
  assert_int_equal(wire_node_config_validate(c), WIRE_EINVAL);
  assert_string_equal(wire_node_config_error(c),
                      "options 'raft' and 'http' need distinct addresses "
                      "(both 127.0.0.1:7000)");
  wire_node_config_set(c, "http", "127.0.0.1:8000");
  wire_node_config_set(c, "heartbeat-timeout", "600");
  assert_int_equal(wire_node_config_validate(c), WIRE_EINVAL);
  assert_string_equal(wire_node_config_error(c),
                      "option 'heartbeat-timeout' (600 ms) must be at most "
                      "half of 'election-timeout' (1000 ms)");
  wire_node_config_set(c, "heartbeat-timeout", "100");
  wire_node_config_set(c, "bootstrap", "true");
  wire_node_config_set(c, "join", "h:1");
  assert_int_equal(wire_node_config_validate(c), WIRE_EINVAL);
  assert_non_null(strstr(wire_node_config_error(c), "exclude each other"));
  wire_node_config_set(c, "bootstrap", "false");
  assert_int_equal(wire_node_config_validate(c), WIRE_OK);

  struct node_config t;
  assert_int_equal(node_config_copy(c, &t), WIRE_OK);
  assert_int_equal(t.id, 3);
  assert_string_equal(t.data_dir, "/tmp/x");
  assert_string_equal(t.raft_host, "127.0.0.1");
  assert_int_equal(t.raft_port, 7000);
  assert_int_equal(t.n_join, 1);
  assert_string_equal(t.join[0], "h:1");
  assert_int_equal(t.value_max, 8 << 20);
  assert_int_equal(t.election_timeout_ms, 1000);
  node_config_free(&t);
  wire_node_config_free(c);
}

static void test_env(void **state) {
  (void)state;
  wire_node_config *c = cfg_new();
  char *env[] = {"PATH=/bin", "WIRE_DATA_DIR=/d", "WIRE_ELECTION_TIMEOUT=300",
                 "WIRE_E2E_KEEP=1", "WIRE_CONFIG=/x.yaml", NULL};
  assert_int_equal(wire_node_config_load_env(c, env), WIRE_OK);
  assert_string_equal(wire_node_config_get(c, "data-dir"), "/d");
  assert_string_equal(wire_node_config_origin(c, "data-dir"), "env");
  assert_string_equal(wire_node_config_get(c, "election-timeout"), "300");
  char *bad[] = {"WIRE_DATADIR=/d", NULL};
  assert_int_equal(wire_node_config_load_env(c, bad), WIRE_EINVAL);
  assert_string_equal(wire_node_config_error(c),
                      "WIRE_DATADIR: unknown option 'datadir' (did you mean "
                      "'data-dir'?)");
  char *badv[] = {"WIRE_RAFT=nope", NULL};
  assert_int_equal(wire_node_config_load_env(c, badv), WIRE_EINVAL);
  assert_string_equal(wire_node_config_error(c),
                      "WIRE_RAFT: option 'raft': expected HOST:PORT, got "
                      "\"nope\"");
  wire_node_config_free(c);
}

static char *write_tmp(const char *text) {
  char *p = strdup("/tmp/wire-opt-XXXXXX");
  int fd = mkstemp(p);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  return p;
}

static void test_file(void **state) {
  (void)state;
  wire_node_config *c = cfg_new();
  char *ok = write_tmp("id: 4\n"
                       "data-dir: /var/lib/wire\n"
                       "join:\n  - 10.0.0.1:8000\n  - 10.0.0.2:8000\n"
                       "election-timeout: 500\n"
                       "value-max: 4MiB\n");
  assert_int_equal(wire_node_config_load_file(c, ok), WIRE_OK);
  assert_string_equal(wire_node_config_get(c, "id"), "4");
  assert_string_equal(wire_node_config_get(c, "join"),
                      "10.0.0.1:8000,10.0.0.2:8000");
  assert_string_equal(wire_node_config_origin(c, "join"), "file");
  assert_string_equal(wire_node_config_get(c, "value-max"), "4194304");

  /* All errors, with positions; nothing applied. */
  char *bad = write_tmp("id: 5\n"
                        "election-timeout: 5\n"
                        "data_dir: /x\n"
                        "raft: [1, 2]\n"
                        "http: {a: b}\n");
  assert_int_equal(wire_node_config_load_file(c, bad), WIRE_ECONFIG);
  char want[1024];
  snprintf(want, sizeof want,
           "%s:2:19: option 'election-timeout': must be between 100 and "
           "60000, got 5\n"
           "%s:3:1: unknown option 'data_dir' (did you mean 'data-dir'?)\n"
           "%s:4:7: option 'raft' takes one value, not a list\n"
           "%s:5:7: option 'http' takes a value, not a mapping",
           bad, bad, bad, bad);
  assert_string_equal(wire_node_config_error(c), want);
  assert_string_equal(wire_node_config_get(c, "id"), "4"); /* unchanged */

  char *syntax = write_tmp("id: [\n");
  assert_int_equal(wire_node_config_load_file(c, syntax), WIRE_ECONFIG);
  assert_non_null(strstr(wire_node_config_error(c), "YAML syntax error"));
  char *notmap = write_tmp("- a\n");
  assert_int_equal(wire_node_config_load_file(c, notmap), WIRE_ECONFIG);
  assert_non_null(strstr(wire_node_config_error(c),
                         "expected a mapping of option names"));
  assert_int_equal(wire_node_config_load_file(c, "/nonexistent/x.yaml"),
                   WIRE_EIO);
  assert_string_equal(wire_node_config_error(c),
                      "/nonexistent/x.yaml: No such file or directory");

  /* Precedence: file, then env, then api (flags): last wins. */
  char *env[] = {"WIRE_ELECTION_TIMEOUT=700", NULL};
  assert_int_equal(wire_node_config_load_env(c, env), WIRE_OK);
  assert_string_equal(wire_node_config_get(c, "election-timeout"), "700");
  assert_int_equal(wire_node_config_set(c, "election-timeout", "900"), WIRE_OK);
  assert_string_equal(wire_node_config_get(c, "election-timeout"), "900");
  assert_string_equal(wire_node_config_origin(c, "election-timeout"), "api");
  const char *files[] = {ok, bad, syntax, notmap};
  for (size_t i = 0; i < 4; i++) {
    unlink(files[i]);
    free((void *)files[i]);
  }
  wire_node_config_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults_and_set),
      cmocka_unit_test(test_set_errors),
      cmocka_unit_test(test_validate),
      cmocka_unit_test(test_env),
      cmocka_unit_test(test_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
