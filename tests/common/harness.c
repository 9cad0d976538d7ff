/*
 * Test harness: in-process pipelines with a `feed` source and a `capture`
 * sink, both implemented on the public vtables (which also exercises them).
 */
#include "harness.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct strvec {
  char **v;
  size_t n, cap;
} strvec;

static void strvec_push(strvec *s, const void *p, size_t n) {
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 64;
    s->v = realloc(s->v, s->cap * sizeof *s->v);
    if (!s->v) abort();
  }
  char *d = malloc(n + 1);
  if (!d) abort();
  memcpy(d, p, n);
  d[n] = '\0';
  s->v[s->n++] = d;
}

static void strvec_free(strvec *s) {
  for (size_t i = 0; i < s->n; i++) free(s->v[i]);
  free(s->v);
  memset(s, 0, sizeof *s);
}

typedef struct capture {
  char *id;
  strvec values, keys;
} capture;

struct harness {
  wire_ctx *ctx;
  wire_pipeline *p;
  strvec feed;
  pthread_mutex_t mu;
  capture *caps;
  size_t ncaps;
  char *diags;
};


/* ---- feed source ------------------------------------------------------- */

typedef struct feed_state {
  harness *h;
  size_t next, batch;
} feed_state;

static const wire_option feed_options[] = {
    {.key = "batch", .type = WIRE_OPT_INT, .def = "64", .min = 1,
     .max = 65536, .doc = "events per batch"},
    {0}};

static int feed_open(wire_stage *st, const char *resume, void **state) {
  feed_state *f = calloc(1, sizeof *f);
  if (!f) return WIRE_ENOMEM;
  f->h = wire_config_user(wire_stage_config(st));
  int64_t b = 64;
  wire_config_int(wire_stage_config(st), "batch", &b);
  f->batch = (size_t)b;
  if (resume) f->next = (size_t)strtoull(resume, NULL, 10);
  *state = f;
  return WIRE_OK;
}

static int feed_poll(void *state, wire_batch *batch, int timeout_ms) {
  (void)timeout_ms;
  feed_state *f = state;
  size_t end = f->next + f->batch;
  if (end > f->h->feed.n) end = f->h->feed.n;
  for (; f->next < end; f->next++) {
    int rc = wire_batch_append_value(batch, f->h->feed.v[f->next],
                                     strlen(f->h->feed.v[f->next]));
    if (rc) return rc;
  }
  char pos[32];
  snprintf(pos, sizeof pos, "%zu", f->next);
  wire_batch_set_position(batch, pos);
  return f->next >= f->h->feed.n ? WIRE_EOF : WIRE_OK;
}

static void feed_close(void *state) { free(state); }

static const wire_source_vtable feed_vt = {
    .version = WIRE_SOURCE_VERSION,
    .name = "feed",
    .doc = "test values",
    .options = feed_options,
    .open = feed_open,
    .poll = feed_poll,
    .close = feed_close,
};

/* ---- capture sink -------------------------------------------------------- */

typedef struct capture_state {
  harness *h;
  size_t index;
} capture_state;

static int capture_open(wire_stage *st, void **state) {
  harness *h = wire_config_user(wire_stage_config(st));
  capture_state *cs = malloc(sizeof *cs);
  if (!cs) return WIRE_ENOMEM;
  pthread_mutex_lock(&h->mu);
  h->caps = realloc(h->caps, (h->ncaps + 1) * sizeof *h->caps);
  if (!h->caps) abort();
  capture *c = &h->caps[h->ncaps];
  memset(c, 0, sizeof *c);
  c->id = strdup(wire_stage_id(st));
  cs->h = h;
  cs->index = h->ncaps++;
  *state = cs;
  pthread_mutex_unlock(&h->mu);
  return WIRE_OK;
}

static int capture_write(void *state, const wire_batch *b) {
  capture_state *cs = state;
  harness *h = cs->h;
  pthread_mutex_lock(&h->mu);
  capture *c = &h->caps[cs->index];
  for (size_t i = 0; i < wire_batch_count(b); i++) {
    const wire_event *e = wire_batch_event(b, i);
    strvec_push(&c->values, e->value, e->value_len);
    strvec_push(&c->keys, e->key ? (const char *)e->key : "", e->key_len);
  }
  pthread_mutex_unlock(&h->mu);
  return WIRE_OK;
}

static void capture_close(void *state) { free(state); }

static const wire_sink_vtable capture_vt = {
    .version = WIRE_SINK_VERSION,
    .name = "capture",
    .doc = "test capture",
    .open = capture_open,
    .write = capture_write,
    .close = capture_close,
};

/* ---- harness --------------------------------------------------------------- */

harness *harness_new(void) {
  harness *h = calloc(1, sizeof *h);
  if (!h || wire_ctx_new(&h->ctx) != WIRE_OK) abort();
  wire_ctx_set_log(h->ctx, WIRE_LOG_ERROR, NULL, NULL);
  if (wire_ctx_register_source(h->ctx, &feed_vt, h) ||
      wire_ctx_register_sink(h->ctx, &capture_vt, h))
    abort();
  pthread_mutex_init(&h->mu, NULL);
  return h;
}

wire_ctx *harness_ctx(harness *h) { return h->ctx; }

void harness_feed(harness *h, const char *value) {
  strvec_push(&h->feed, value, strlen(value));
}

void harness_feed_n(harness *h, const void *value, size_t len) {
  strvec_push(&h->feed, value, len);
}

int harness_run(harness *h, const char *yaml) {
  int rc = wire_pipeline_parse(h->ctx, yaml, strlen(yaml), "test.yaml", &h->p);
  size_t nd = wire_pipeline_diag_count(h->p);
  size_t size = 1;
  for (size_t i = 0; i < nd; i++)
    size += strlen(wire_pipeline_diag(h->p, i)->message) + 32;
  h->diags = calloc(1, size);
  for (size_t i = 0; i < nd; i++) {
    const wire_diag *d = wire_pipeline_diag(h->p, i);
    char line[64];
    snprintf(line, sizeof line, "%d:%d: ", d->line, d->col);
    strcat(h->diags, line);
    strcat(h->diags, d->message);
    strcat(h->diags, "\n");
  }
  if (rc != WIRE_OK) return rc;
  rc = wire_pipeline_start(h->p);
  if (rc != WIRE_OK) return rc;
  rc = wire_pipeline_wait(h->p, 30000);
  if (rc == WIRE_ETIMEDOUT) {
    wire_pipeline_stop(h->p);
    wire_pipeline_wait(h->p, -1);
  }
  return rc;
}

const char *harness_diags(const harness *h) { return h->diags ? h->diags : ""; }

const char *harness_errmsg(const harness *h) {
  return h->p ? wire_pipeline_errmsg(h->p) : "";
}

static const capture *find_cap(const harness *h, const char *id) {
  for (size_t i = 0; i < h->ncaps; i++)
    if (strcmp(h->caps[i].id, id) == 0) return &h->caps[i];
  return NULL;
}

size_t harness_count(const harness *h, const char *sink_id) {
  const capture *c = find_cap(h, sink_id);
  return c ? c->values.n : 0;
}

const char *harness_value(const harness *h, const char *sink_id, size_t i) {
  const capture *c = find_cap(h, sink_id);
  return c && i < c->values.n ? c->values.v[i] : NULL;
}

const char *harness_key(const harness *h, const char *sink_id, size_t i) {
  const capture *c = find_cap(h, sink_id);
  return c && i < c->keys.n ? c->keys.v[i] : NULL;
}

wire_node_stats harness_stats(const harness *h, const char *node_id) {
  wire_node_stats s;
  memset(&s, 0, sizeof s);
  for (size_t i = 0; h->p && i < wire_pipeline_node_count(h->p); i++) {
    wire_node_stats t;
    if (wire_pipeline_node_stats(h->p, i, &t) == WIRE_OK &&
        strcmp(t.id, node_id) == 0)
      return t;
  }
  return s;
}

void harness_free(harness *h) {
  if (!h) return;
  wire_pipeline_free(h->p);
  wire_ctx_free(h->ctx);
  strvec_free(&h->feed);
  for (size_t i = 0; i < h->ncaps; i++) {
    free(h->caps[i].id);
    strvec_free(&h->caps[i].values);
    strvec_free(&h->caps[i].keys);
  }
  free(h->caps);
  free(h->diags);
  pthread_mutex_destroy(&h->mu);
  free(h);
}
