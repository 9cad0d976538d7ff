/*
 * Unit tests of the `stdin` source and the `stdout` sink
 * (lib/connectors/stdin_source.c, simple_sinks.c).  Each pipeline runs in a
 * forked child whose fd 0 or fd 1 is a pipe or a file set up by the test;
 * the child reports through its exit status and an output file.
 */
#include <fcntl.h>
#include <sys/wait.h>

#include "conn_test.h"

/* In the child: run `yaml` (resuming source "in" from `resume` when given)
 * and exit with 0 when it ended normally, 1 + errors of "in" capped, or 100
 * when it failed. */
__attribute__((noreturn)) static void child_run(const char *yaml,
                                                const char *resume) {
  wire_ctx *ctx = NULL;
  if (wire_ctx_new(&ctx) != WIRE_OK) _exit(101);
  wire_ctx_set_log(ctx, WIRE_LOG_ERROR, NULL, NULL);
  wire_pipeline *p = NULL;
  if (wire_pipeline_parse(ctx, yaml, strlen(yaml), NULL, &p) != WIRE_OK)
    _exit(102);
  if (resume) wire_pipeline_set_resume(p, "in", resume);
  if (wire_pipeline_start(p) != WIRE_OK) _exit(103);
  if (wire_pipeline_wait(p, 20000) != WIRE_OK) _exit(100);
  wire_node_stats st;
  if (wire_pipeline_node_stats(p, 0, &st) != WIRE_OK) _exit(104);
  wire_pipeline_free(p);
  wire_ctx_free(ctx);
  _exit(st.errors > 50 ? 51 : (int)st.errors);
}

static int wait_child(pid_t pid) {
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  return WEXITSTATUS(status);
}

/* Run stdin -> file sink with `input` written to a pipe in pieces (pausing
 * mid-line), return the child's status; the output lands in `out`. */
static int pipe_stdin(const char *out, const char *opts, const char *input,
                      const char *resume) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  char *yaml = ct_fmt("name: t\n"
                      "sources: [{id: in, type: stdin%s%s}]\n"
                      "sinks: [{id: out, type: file, inputs: [in], path: '%s',"
                      " append: false}]\n",
                      opts ? ", " : "", opts ? opts : "", out);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(fds[0], 0);
    close(fds[0]);
    close(fds[1]);
    child_run(yaml, resume);
  }
  close(fds[0]);
  size_t n = strlen(input), half = n / 2;
  assert_int_equal(write(fds[1], input, half), (ssize_t)half);
  usleep(150000); /* the source polls in between */
  assert_int_equal(write(fds[1], input + half, n - half), (ssize_t)(n - half));
  close(fds[1]);
  free(yaml);
  return wait_child(pid);
}

static void test_stdin_pipe(void **state) {
  (void)state;
  char *dir = ct_tmpdir();
  char *out = ct_path(dir, "out.ndjson");
  const char *input = "{\"a\":1}\n"
                      "not json\n"
                      "\n"
                      "{\"b\":[1,2,3],\"c\":\"a long enough value\"}\n"
                      "{\"last\":true}";
  assert_int_equal(pipe_stdin(out, NULL, input, NULL), 1); /* one error */
  char *text = ct_read(out, NULL);
  assert_string_equal(text, "{\"a\":1}\n"
                            "{\"b\":[1,2,3],\"c\":\"a long enough value\"}\n"
                            "{\"last\":true}\n");
  free(text);
  /* lines format keeps the text; resuming a pipe skips the first bytes. */
  assert_int_equal(pipe_stdin(out, "format: lines", "one\ntwo\nthree\n",
                              "{\"offset\":4,\"line\":1}"),
                   0);
  text = ct_read(out, NULL);
  assert_string_equal(text, "two\nthree\n");
  free(text);
  free(out);
  ct_rmdir(dir);
}

/* stdin redirected from a regular file: resume seeks. */
static void test_stdin_file_resume(void **state) {
  (void)state;
  char *dir = ct_tmpdir();
  char *in = ct_path(dir, "in.ndjson");
  char *out = ct_path(dir, "out.ndjson");
  ct_puts(in, "w", "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n");
  char *yaml = ct_fmt("name: t\n"
                      "sources: [{id: in, type: stdin}]\n"
                      "sinks: [{id: out, type: file, inputs: [in], path: '%s'}]"
                      "\n",
                      out);
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(in, O_RDONLY);
    dup2(fd, 0);
    child_run(yaml, "{\"offset\":8,\"line\":1}");
  }
  assert_int_equal(wait_child(pid), 0);
  char *text = ct_read(out, NULL);
  assert_string_equal(text, "{\"n\":2}\n{\"n\":3}\n");
  free(text);
  free(yaml);
  free(in);
  free(out);
  ct_rmdir(dir);
}

static void test_stdout_sink(void **state) {
  (void)state;
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    child_run("name: t\n"
              "sources: [{id: in, type: generator, count: 5000, "
              "template: {x: '{{seq}}'}}]\n"
              "sinks: [{id: out, type: stdout, inputs: [in]}]\n",
              NULL);
  }
  close(fds[1]);
  size_t cap = 1 << 20, len = 0;
  char *buf = malloc(cap);
  ssize_t n;
  while ((n = read(fds[0], buf + len, cap - len - 1)) > 0) len += (size_t)n;
  buf[len] = '\0';
  close(fds[0]);
  assert_int_equal(wait_child(pid), 0);
  char *line = buf;
  for (int i = 0; i < 5000; i++) {
    char want[64];
    int k = snprintf(want, sizeof want, "{\"seq\":%d,\"x\":%d}\n", i, i);
    if (strncmp(line, want, (size_t)k) != 0)
      fail_msg("line %d: %.40s", i, line);
    line += k;
  }
  assert_int_equal(line - buf, (ptrdiff_t)len);
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stdin_pipe),
      cmocka_unit_test(test_stdin_file_resume),
      cmocka_unit_test(test_stdout_sink),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
