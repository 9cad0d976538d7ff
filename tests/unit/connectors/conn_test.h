/*
 * Helpers for the connector tests: a temporary directory, file helpers, a
 * "seen" sink that keeps values, keys and ids under a lock (readable while
 * the pipeline runs), and a runner on the public API for what the harness
 * does not cover (resume positions, watermarks, start errors).
 */
#ifndef WIRE_CONN_TEST_H
#define WIRE_CONN_TEST_H

#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* ---- files ---------------------------------------------------------------- */

static inline char *ct_tmpdir(void) {
  char tmpl[] = "/tmp/wire-conn-XXXXXX";
  char *d = mkdtemp(tmpl);
  assert_non_null(d);
  char *copy = d ? strdup(d) : NULL;
  if (!copy) abort();
  return copy;
}

static inline int ct_rm_one(const char *p, const struct stat *sb, int flag,
                            struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(p);
}

static inline void ct_rmdir(char *dir) {
  if (dir) nftw(dir, ct_rm_one, 16, FTW_DEPTH | FTW_PHYS);
  free(dir);
}

/* "DIR/NAME" in a static-free malloc'd string. */
static inline char *ct_path(const char *dir, const char *name) {
  if (!dir || !name) abort();
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  if (!p) abort();
  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

static inline void ct_write(const char *path, const char *mode,
                            const void *data, size_t n) {
  FILE *f = fopen(path, mode);
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, n, f), n);
  assert_int_equal(fclose(f), 0);
}

static inline void ct_puts(const char *path, const char *mode, const char *s) {
  ct_write(path, mode, s, strlen(s));
}

/* Whole file, NUL-terminated; *len gets its size.  NULL when missing. */
static inline char *ct_read(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  char *d = malloc(cap);
  size_t k;
  while ((k = fread(d + n, 1, cap - n - 1, f)) > 0) {
    n += k;
    if (cap - n - 1 == 0) d = realloc(d, cap *= 2);
  }
  fclose(f);
  d[n] = '\0';
  if (len) *len = n;
  return d;
}

static inline uint64_t ct_inode(const char *path) {
  struct stat sb;
  assert_int_equal(stat(path, &sb), 0);
  return (uint64_t)sb.st_ino;
}

/* Formatted string, malloc'd. */
static inline char *ct_fmt(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  assert_true(vasprintf(&s, fmt, ap) >= 0);
  va_end(ap);
  return s;
}

/* ---- the "seen" sink ---------------------------------------------------- */

typedef struct seen {
  pthread_mutex_t mu;
  char **vals, **keys;
  char (*ids)[37];
  size_t n, cap;
  int fail_flush; /* > 0: that many flushes answer WIRE_EAGAIN */
  int sleep_us;   /* sinks that sleep per batch (test_kafka's slowseen) */
} seen;

static inline void seen_init(seen *s) {
  memset(s, 0, sizeof *s);
  pthread_mutex_init(&s->mu, NULL);
}

static inline void seen_free(seen *s) {
  for (size_t i = 0; i < s->n; i++) {
    free(s->vals[i]);
    free(s->keys[i]);
  }
  free(s->vals);
  free(s->keys);
  free(s->ids);
  pthread_mutex_destroy(&s->mu);
}

static inline size_t seen_count(seen *s) {
  pthread_mutex_lock(&s->mu);
  size_t n = s->n;
  pthread_mutex_unlock(&s->mu);
  return n;
}

static inline int seen_open(wire_stage *st, void **state) {
  *state = wire_config_user(wire_stage_config(st));
  return *state ? WIRE_OK : WIRE_EINVAL;
}

static inline int seen_write(void *state, const wire_batch *b) {
  seen *s = state;
  pthread_mutex_lock(&s->mu);
  for (size_t i = 0; i < wire_batch_count(b); i++) {
    const wire_event *e = wire_batch_event(b, i);
    if (s->n == s->cap) {
      s->cap = s->cap ? s->cap * 2 : 256;
      s->vals = realloc(s->vals, s->cap * sizeof *s->vals);
      s->keys = realloc(s->keys, s->cap * sizeof *s->keys);
      s->ids = realloc(s->ids, s->cap * sizeof *s->ids);
    }
    s->vals[s->n] = strndup((const char *)e->value, e->value_len);
    s->keys[s->n] = strndup(e->key ? (const char *)e->key : "", e->key_len);
    wire_uuid_format(e->id, s->ids[s->n]);
    s->n++;
  }
  pthread_mutex_unlock(&s->mu);
  return WIRE_OK;
}

static inline void seen_close(void *state) { (void)state; }

static const wire_sink_vtable seen_vt = {
    .version = WIRE_SINK_VERSION,
    .name = "seen",
    .doc = "test sink keeping values, keys and ids",
    .open = seen_open,
    .write = seen_write,
    .close = seen_close,
};

/* ---- running pipelines on the public API -------------------------------- */

typedef struct ct_run {
  int rc_parse, rc_start, rc_wait;
  char errmsg[512];
  char diags[2048];
  char watermark[512]; /* of source `wm_source` */
  uint64_t errors;     /* errors of node `stats_node` */
  uint64_t in;
} ct_run;

/* Parse, optionally resume `src` from `pos`, start, wait (10 s), read the
 * watermark of `src` and the stats of `node`. */
static inline ct_run ct_pipeline(wire_ctx *ctx, const char *yaml,
                                 const char *src, const char *pos,
                                 const char *node) {
  ct_run r;
  memset(&r, 0, sizeof r);
  r.rc_parse = r.rc_start = r.rc_wait = WIRE_EFAILED;
  wire_pipeline *p = NULL;
  r.rc_parse = wire_pipeline_parse(ctx, yaml, strlen(yaml), "test.yaml", &p);
  if (p) {
    size_t off = 0;
    for (size_t i = 0; i < wire_pipeline_diag_count(p); i++) {
      const wire_diag *d = wire_pipeline_diag(p, i);
      int k = snprintf(r.diags + off, sizeof r.diags - off, "%d:%d: %s\n",
                       d->line, d->col, d->message);
      if (k > 0 && (size_t)k < sizeof r.diags - off) off += (size_t)k;
    }
  }
  if (r.rc_parse == WIRE_OK) {
    if (src && pos) assert_int_equal(wire_pipeline_set_resume(p, src, pos), 0);
    r.rc_start = wire_pipeline_start(p);
    if (r.rc_start == WIRE_OK) {
      r.rc_wait = wire_pipeline_wait(p, 10000);
      if (r.rc_wait == WIRE_ETIMEDOUT) {
        wire_pipeline_stop(p);
        wire_pipeline_wait(p, -1);
      }
    }
    snprintf(r.errmsg, sizeof r.errmsg, "%s", wire_pipeline_errmsg(p));
    if (src)
      wire_pipeline_watermark(p, src, r.watermark, sizeof r.watermark);
    for (size_t i = 0; node && i < wire_pipeline_node_count(p); i++) {
      wire_node_stats st;
      if (wire_pipeline_node_stats(p, i, &st) == WIRE_OK &&
          strcmp(st.id, node) == 0) {
        r.errors = st.errors;
        r.in = st.in;
      }
    }
  }
  wire_pipeline_free(p);
  return r;
}

/* A context with the "seen" sink bound to `s`. */
static inline wire_ctx *ct_ctx(seen *s) {
  wire_ctx *ctx = NULL;
  assert_int_equal(wire_ctx_new(&ctx), 0);
  wire_ctx_set_log(ctx, WIRE_LOG_ERROR, NULL, NULL);
  assert_int_equal(wire_ctx_register_sink(ctx, &seen_vt, s), 0);
  return ctx;
}

/* Wait until `s` holds at least n records (at most ms). */
static inline bool ct_wait_count(seen *s, size_t n, int ms) {
  for (int t = 0; t < ms; t += 10) {
    if (seen_count(s) >= n) return true;
    usleep(10000);
  }
  return seen_count(s) >= n;
}

#endif /* WIRE_CONN_TEST_H */
