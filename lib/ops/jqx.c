/*
 * libjq glue (lib/ops): compile with captured errors, format runtime error
 * values the way the jq CLI does.
 *
 * jq reports compile errors through its error callback, one message per
 * problem ("jq: error: syntax error, unexpected $end (Unix shell quoting
 * issues?) at <top-level>, line 1:\n<source excerpt>") followed by a count
 * ("jq: 1 compile error").  For a configuration diagnostic we keep the
 * first line of each problem without the CLI-specific parts.
 */
#include "jqx.h"

#include <string.h>

#include "core/core.h"

typedef struct errsink {
  core_buf buf;
} errsink;

static void strip(char *s, const char *what) {
  char *p = strstr(s, what);
  if (p) memmove(p, p + strlen(what), strlen(p + strlen(what)) + 1);
}

static void collect_cb(void *data, jv msg) {
  errsink *e = data;
  if (jv_get_kind(msg) != JV_KIND_STRING) msg = jv_dump_string(msg, 0);
  const char *s = jv_string_value(msg);
  if (strncmp(s, "jq: error: ", 11) == 0) {
    s += 11;
    size_t n = strcspn(s, "\n");
    char line[512];
    if (n >= sizeof line) n = sizeof line - 1;
    memcpy(line, s, n);
    line[n] = '\0';
    strip(line, " (Unix shell quoting issues?)");
    strip(line, " at <top-level>, line 1:");
    strip(line, "<top-level>, ");
    n = strlen(line);
    if (n && line[n - 1] == ':') line[--n] = '\0';
    if (e->buf.len) core_buf_append(&e->buf, "; ", 2);
    core_buf_append(&e->buf, line, n);
  } else if (strncmp(s, "jq: ", 4) != 0 || !strstr(s, "compile error")) {
    if (e->buf.len) core_buf_append(&e->buf, "; ", 2);
    core_buf_append(&e->buf, s, strlen(s));
  }
  jv_free(msg);
}

static void silent_cb(void *data, jv msg) {
  (void)data;
  jv_free(msg);
}

jq_state *jqx_compile(const char *expr, char *err, size_t errlen) {
  if (errlen) err[0] = '\0';
  jq_state *jq = jq_init();
  if (!jq) {
    core_msg(err, errlen, WIRE_ENOMEM, "out of memory");
    return NULL;
  }
  errsink e = {{0}};
  jq_set_error_cb(jq, collect_cb, &e);
  int ok = jq_compile(jq, expr);
  jq_set_error_cb(jq, silent_cb, NULL);
  if (!ok) {
    core_msg(err, errlen, WIRE_EINVAL, "%.*s", (int)e.buf.len,
             e.buf.len ? e.buf.data : "does not compile");
    core_buf_free(&e.buf);
    jq_teardown(&jq);
    return NULL;
  }
  core_buf_free(&e.buf);
  return jq;
}

void jqx_error_text(jv msg, char *buf, size_t len) {
  if (jv_get_kind(msg) == JV_KIND_STRING) {
    core_msg(buf, len, 0, "%s", jv_string_value(msg));
    jv_free(msg);
    return;
  }
  jv s = jv_dump_string(msg, 0);
  core_msg(buf, len, 0, "(not a string): %s", jv_string_value(s));
  jv_free(s);
}

void jqx_parse_error(jv invalid, char *buf, size_t len) {
  jv msg = jv_invalid_get_msg(invalid);
  if (jv_get_kind(msg) == JV_KIND_STRING)
    core_msg(buf, len, 0, "invalid JSON: %s", jv_string_value(msg));
  else
    core_msg(buf, len, 0, "invalid JSON");
  jv_free(msg);
}
