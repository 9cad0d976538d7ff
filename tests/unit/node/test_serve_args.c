/*
 * wire-node's command line (daemon/serve_args.c, compiled into this test):
 * precedence flag > env > file > default with origins, the flag forms,
 * exact messages of every way a command line can be wrong, --help
 * detection, the usage text against the option table, and an
 * out-of-memory loop over a full parse.
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
#include "serve_args.h"
#include "wire/node.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static char *empty_env[] = {NULL};

static char *write_tmp(const char *text) {
  char *p = strdup("/tmp/wire-sargs-XXXXXX");
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

/* Parse into a fresh configuration; returns it (caller frees) and the
 * status in *rc, the message in err. */
static wire_node_config *parse(int argc, char **argv, char *const *envp,
                               int *rc, char *err, size_t errsz) {
  wire_node_config *c = NULL;
  assert_int_equal(wire_node_config_new(&c), WIRE_OK);
  *rc = serve_args_parse(argc, argv, envp, c, err, errsz);
  return c;
}

static void expect_error(int argc, char **argv, char *const *envp, int want_rc,
                         const char *want) {
  char err[2048];
  int rc;
  wire_node_config *c = parse(argc, argv, envp, &rc, err, sizeof err);
  assert_int_equal(rc, want_rc);
  assert_string_equal(err, want);
  wire_node_config_free(c);
}

static void expect_get(const wire_node_config *c, const char *key,
                       const char *value, const char *origin) {
  assert_string_equal(wire_node_config_get(c, key), value);
  assert_string_equal(wire_node_config_origin(c, key), origin);
}

static void test_precedence(void **state) {
  (void)state;
  char *file = write_tmp("id: 1\n"
                         "data-dir: /from-file\n"
                         "election-timeout: 500\n"
                         "heartbeat-timeout: 50\n"
                         "bootstrap: true\n"
                         "log-level: debug\n");
  char cfgvar[300];
  snprintf(cfgvar, sizeof cfgvar, "WIRE_CONFIG=%s", file);
  char *env[] = {"HOME=/root", cfgvar, "WIRE_DATA_DIR=/from-env",
                 "WIRE_ELECTION_TIMEOUT=700", "WIRE_LOG_LEVEL=warn", NULL};
  char *argv[] = {"--election-timeout", "900", "--log-level=error",
                  "--bootstrap=false", "--value-max", "1MiB"};
  char err[2048];
  int rc;
  wire_node_config *c = parse(ARGC(argv), argv, env, &rc, err, sizeof err);
  assert_int_equal(rc, WIRE_OK);
  assert_string_equal(err, "");
  expect_get(c, "id", "1", "file");                    /* file only */
  expect_get(c, "heartbeat-timeout", "50", "file");
  expect_get(c, "data-dir", "/from-env", "env");       /* env > file */
  expect_get(c, "election-timeout", "900", "api");     /* flag > env > file */
  expect_get(c, "log-level", "error", "api");
  expect_get(c, "bootstrap", "false", "api");          /* =false undoes file */
  expect_get(c, "value-max", "1048576", "api");
  expect_get(c, "raft", "127.0.0.1:7000", "default");  /* nobody */
  assert_int_equal(wire_node_config_validate(c), WIRE_OK);
  wire_node_config_free(c);

  /* --config beats WIRE_CONFIG; both forms; the last --config wins. */
  char *other = write_tmp("id: 2\n");
  char *argv2[] = {"--config", other};
  c = parse(ARGC(argv2), argv2, env, &rc, err, sizeof err);
  assert_int_equal(rc, WIRE_OK);
  expect_get(c, "id", "2", "file");
  expect_get(c, "heartbeat-timeout", "100", "default");
  wire_node_config_free(c);
  char eqform[300];
  snprintf(eqform, sizeof eqform, "--config=%s", file);
  char *argv3[] = {"--config", other, eqform, "--id", "9"};
  c = parse(ARGC(argv3), argv3, empty_env, &rc, err, sizeof err);
  assert_int_equal(rc, WIRE_OK);
  expect_get(c, "data-dir", "/from-file", "file");
  expect_get(c, "id", "9", "api");
  wire_node_config_free(c);

  /* No file at all; an empty WIRE_CONFIG means none. */
  char *env_empty_cfg[] = {"WIRE_CONFIG=", NULL};
  char *argv4[] = {"--id=3", "--data-dir", "/d", "--id", "4"};
  c = parse(ARGC(argv4), argv4, env_empty_cfg, &rc, err, sizeof err);
  assert_int_equal(rc, WIRE_OK);
  expect_get(c, "id", "4", "api"); /* repeated flag: last wins */
  expect_get(c, "election-timeout", "1000", "default");
  wire_node_config_free(c);
  drop_tmp(file);
  drop_tmp(other);
}

static void test_process_environment(void **state) {
  (void)state;
  setenv("WIRE_SNAPSHOT_TRAILING", "77", 1);
  char err[256];
  int rc;
  wire_node_config *c = parse(0, NULL, NULL, &rc, err, sizeof err);
  unsetenv("WIRE_SNAPSHOT_TRAILING");
  assert_int_equal(rc, WIRE_OK);
  expect_get(c, "snapshot-trailing", "77", "env");
  wire_node_config_free(c);
}

static void test_flag_forms(void **state) {
  (void)state;
  char err[256];
  int rc;
  char *argv[] = {"--bootstrap", "--data-dir=--odd", "--join",
                  "a:1, b:2", "--http=[::1]:0", "--raft", "h:1"};
  wire_node_config *c = parse(ARGC(argv), argv, empty_env, &rc, err,
                              sizeof err);
  assert_int_equal(rc, WIRE_OK);
  expect_get(c, "bootstrap", "true", "api");
  expect_get(c, "data-dir", "--odd", "api");
  expect_get(c, "join", "a:1,b:2", "api");
  expect_get(c, "http", "[::1]:0", "api");
  expect_get(c, "raft", "h:1", "api");
  wire_node_config_free(c);
}

static void test_errors(void **state) {
  (void)state;
  char *a1[] = {"--data_dirr", "/x"};
  expect_error(ARGC(a1), a1, empty_env, WIRE_EINVAL,
               "unknown option 'data_dirr' (did you mean 'data-dir'?)");
  char *a2[] = {"--raft", "localhost"};
  expect_error(ARGC(a2), a2, empty_env, WIRE_EINVAL,
               "option 'raft': expected HOST:PORT, got \"localhost\"");
  char *a3[] = {"--id", "3", "--data-dir"};
  expect_error(ARGC(a3), a3, empty_env, WIRE_EINVAL,
               "option '--data-dir' needs a value (DIR)");
  char *a4[] = {"--data-dir", "--id", "3"};
  expect_error(ARGC(a4), a4, empty_env, WIRE_EINVAL,
               "option '--data-dir' needs a value (DIR)");
  char *a5[] = {"--id", "3", "stray"};
  expect_error(ARGC(a5), a5, empty_env, WIRE_EINVAL,
               "unexpected argument 'stray' (options are --KEY VALUE or "
               "--KEY=VALUE)");
  char *a6[] = {"-v"};
  expect_error(ARGC(a6), a6, empty_env, WIRE_EINVAL,
               "unexpected argument '-v' (options are --KEY VALUE or "
               "--KEY=VALUE)");
  char *a7[] = {"--"};
  expect_error(ARGC(a7), a7, empty_env, WIRE_EINVAL,
               "unexpected argument '--' (options are --KEY VALUE or "
               "--KEY=VALUE)");
  char *a8[] = {"--=x"};
  expect_error(ARGC(a8), a8, empty_env, WIRE_EINVAL,
               "unexpected argument '--=x' (options are --KEY VALUE or "
               "--KEY=VALUE)");
  char *a9[] = {"--bootstrap", "false"};
  expect_error(ARGC(a9), a9, empty_env, WIRE_EINVAL,
               "unexpected argument 'false' (a boolean option is given as "
               "--bootstrap or --bootstrap=false)");
  char *a10[] = {"--bootstrap=yes"};
  expect_error(ARGC(a10), a10, empty_env, WIRE_EINVAL,
               "option 'bootstrap': expected true or false, got \"yes\"");
  char *a11[] = {"--config"};
  expect_error(ARGC(a11), a11, empty_env, WIRE_EINVAL,
               "option '--config' needs a value (FILE)");
  char *a12[] = {"--config="};
  expect_error(ARGC(a12), a12, empty_env, WIRE_EINVAL,
               "option '--config' needs a value (FILE)");
  char *a13[] = {"--election-timeout", "-5"};
  expect_error(ARGC(a13), a13, empty_env, WIRE_EINVAL,
               "option 'election-timeout': expected an integer, got \"-5\"");
  char *a14[] = {"--bootstrp"}; /* unknown, no value: the setter names it */
  expect_error(ARGC(a14), a14, empty_env, WIRE_EINVAL,
               "unknown option 'bootstrp' (did you mean 'bootstrap'?)");
  char *a15[] = {"--help"};
  expect_error(ARGC(a15), a15, empty_env, WIRE_EINVAL,
               "unknown option 'help' (did you mean 'http'?)");
  char longkey[200];
  memset(longkey, 'k', sizeof longkey);
  memcpy(longkey, "--", 2);
  longkey[sizeof longkey - 1] = '\0';
  char *a16[] = {longkey, "v"};
  expect_error(ARGC(a16), a16, empty_env, WIRE_EINVAL,
               "unknown option 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
               "kkkkkkkkkk...'");

  /* The environment and the file, through the command line. */
  char *bad_env[] = {"WIRE_DATADIR=/d", NULL};
  expect_error(0, NULL, bad_env, WIRE_EINVAL,
               "WIRE_DATADIR: unknown option 'datadir' (did you mean "
               "'data-dir'?)");
  char *file = write_tmp("id: 1\n"
                         "election-timeout: 5\n");
  char *a17[] = {"--config", file};
  char want[1024];
  snprintf(want, sizeof want,
           "%s:2:19: option 'election-timeout': must be between 100 and "
           "60000, got 5", file);
  expect_error(ARGC(a17), a17, empty_env, WIRE_ECONFIG, want);
  char *a18[] = {"--config", "/nonexistent/node.yaml"};
  expect_error(ARGC(a18), a18, empty_env, WIRE_EIO,
               "/nonexistent/node.yaml: No such file or directory");
  char *cfg_env[] = {"WIRE_CONFIG=/nonexistent/env.yaml", NULL};
  expect_error(0, NULL, cfg_env, WIRE_EIO,
               "/nonexistent/env.yaml: No such file or directory");
  /* A malformed command line is reported before the file is read. */
  char *a19[] = {"--config", "/nonexistent/node.yaml", "oops"};
  expect_error(ARGC(a19), a19, empty_env, WIRE_EINVAL,
               "unexpected argument 'oops' (options are --KEY VALUE or "
               "--KEY=VALUE)");
  /* The file is read before the environment is looked at. */
  char *a20[] = {"--config", file};
  snprintf(want, sizeof want,
           "%s:2:19: option 'election-timeout': must be between 100 and "
           "60000, got 5", file);
  expect_error(ARGC(a20), a20, bad_env, WIRE_ECONFIG, want);
  drop_tmp(file);

  /* A small error buffer truncates, never overflows. */
  char small[8];
  wire_node_config *c = NULL;
  assert_int_equal(wire_node_config_new(&c), WIRE_OK);
  assert_int_equal(serve_args_parse(ARGC(a1), a1, empty_env, c, small,
                                    sizeof small), WIRE_EINVAL);
  assert_string_equal(small, "unknown");
  wire_node_config_free(c);
}

static void test_wants_help(void **state) {
  (void)state;
  char *a1[] = {"--help"};
  assert_true(serve_args_wants_help(ARGC(a1), a1));
  char *a2[] = {"--id", "3", "-h"};
  assert_true(serve_args_wants_help(ARGC(a2), a2));
  char *a3[] = {"--data-dir", "-h"}; /* a data dir named -h */
  assert_false(serve_args_wants_help(ARGC(a3), a3));
  char *a4[] = {"stray", "--bootstrap", "--help=1"};
  assert_false(serve_args_wants_help(ARGC(a4), a4));
  assert_false(serve_args_wants_help(0, NULL));
}

static void test_usage(void **state) {
  (void)state;
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  assert_non_null(f);
  serve_args_usage(f);
  fclose(f);
  size_t n = wire_node_config_option_count(), lines = 0;
  for (const char *p = text; *p; p++) lines += *p == '\n';
  assert_int_equal(lines, n + 1);
  for (size_t i = 0; i < n; i++) {
    const wire_node_option_info *o = wire_node_config_option(i);
    char flagtxt[128];
    snprintf(flagtxt, sizeof flagtxt, "  --%s%s%s ", o->key, o->arg ? " " : "",
             o->arg ? o->arg : "");
    assert_non_null(strstr(text, flagtxt));
    assert_non_null(strstr(text, o->doc));
  }
  assert_non_null(strstr(text, "\n  --raft HOST:PORT "));
  assert_non_null(strstr(text, "(default: 127.0.0.1:7000; env WIRE_RAFT)\n"));
  assert_non_null(strstr(text, "(default: none; env WIRE_DATA_DIR)\n"));
  assert_non_null(strstr(text, "  --bootstrap "));
  assert_non_null(strstr(text, "(default: false; env WIRE_BOOTSTRAP)\n"));
  assert_non_null(strstr(text, "env WIRE_SNAPSHOT_THRESHOLD)\n"));
  assert_non_null(strstr(text, "  --config FILE "));
  free(text);
}

/* Fail each allocation of a full parse in turn: no crash, no leak (ASan),
 * and either success or WIRE_ENOMEM / a message. */
static void test_oom(void **state) {
  (void)state;
  char *file = write_tmp("id: 1\n"
                         "data-dir: /f\n"
                         "join: [a:1, b:2]\n");
  char *env[] = {"WIRE_ELECTION_TIMEOUT=700", NULL};
  char *argv[] = {"--config", file, "--raft", "h:1", "--join=c:3"};
  int ok = 0;
  for (long n = 0; n < 5000 && ok < 3; n++) {
    wire_node_config *c = NULL;
    char err[2048];
    core_alloc_fail_after(n);
    int rc = wire_node_config_new(&c);
    if (rc == WIRE_OK)
      rc = serve_args_parse(ARGC(argv), argv, env, c, err, sizeof err);
    core_alloc_fail_after(-1);
    if (rc == WIRE_OK) {
      ok++;
      expect_get(c, "join", "c:3", "api");
      expect_get(c, "election-timeout", "700", "env");
      expect_get(c, "data-dir", "/f", "file");
    } else {
      assert_true(rc == WIRE_ENOMEM || rc == WIRE_ECONFIG ||
                  rc == WIRE_EINVAL);
    }
    wire_node_config_free(c);
  }
  assert_int_equal(ok, 3);
  drop_tmp(file);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_precedence),
      cmocka_unit_test(test_process_environment),
      cmocka_unit_test(test_flag_forms),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_wants_help),
      cmocka_unit_test(test_usage),
      cmocka_unit_test(test_oom),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
