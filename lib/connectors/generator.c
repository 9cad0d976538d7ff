/*
 * The `generator` source (connector layer): synthetic JSON records for
 * demos, tests and benchmarks.
 *
 * Record N is a pure function of (N, seed, template) (see gen_template.h),
 * and so is its event id, so a pipeline that resumes from {"seq":N} emits
 * byte-identical records with identical ids.  A batch is rendered into one
 * scratch buffer owned by the source, copied into the batch with a single
 * allocation, and its events point into that copy: no per-record
 * allocation.  `rate` paces production on the monotonic clock; a batch may
 * be emitted as a burst, and debt after a stall is capped at one second of
 * records (or one batch) so a slow sink is not followed by a flood.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "conn_util.h"
#include "connectors.h"
#include "core/core.h"
#include "gen_template.h"

typedef struct grec {
  size_t off, len, koff, klen;
} grec;

typedef struct gsrc {
  wire_stage *st;
  gen_template t;
  uint64_t seq;   /* next record to produce */
  uint64_t count; /* 0: unbounded */
  uint64_t seed;
  double rate;    /* records/s, 0: unpaced */
  int64_t t0;     /* pacing: start of the schedule (monotonic ns) */
  uint64_t n0;    /* records produced on the schedule */
  core_buf out;   /* rendered records of the current batch */
  grec *recs;
  size_t reccap;
} gsrc;

static const wire_option generator_options[] = {
    {.key = "count", .type = WIRE_OPT_INT, .def = "0", .min = 0,
     .max = INT64_MAX, .doc = "records to produce; 0 = unbounded"},
    {.key = "rate", .type = WIRE_OPT_DOUBLE, .def = "0",
     .doc = "records per second; 0 = as fast as possible"},
    {.key = "template", .type = WIRE_OPT_ANY,
     .doc = "record shape: a mapping whose string values may hold "
            "placeholders {{seq}} {{int A B}} {{float A B}} {{choice a b}} "
            "{{uuid}} {{hex N}} {{word}} {{now}}; default: a log-like demo "
            "record (level, user, msg, ms)"},
    {.key = "seed", .type = WIRE_OPT_INT, .def = "0",
     .doc = "seed of the pseudo-random values; same seed, same records"},
    {.key = "key", .type = WIRE_OPT_STRING,
     .doc = "top-level field whose value becomes the event key"},
    {0}};

static int compile(const wire_config *cfg, gen_template *t, bool report) {
  char err[320];
  const char *key = conn_opt_string(cfg, "key", NULL);
  int rc = gt_compile(t, wire_config_json(cfg, "template"), key, err,
                      sizeof err);
  if (rc == WIRE_ECONFIG && report)
    return wire_config_error(cfg, strstr(err, "key field") ? "key" : "template",
                             "%s", err);
  return rc;
}

static int generator_validate(const wire_config *cfg) {
  double rate = 0;
  if (wire_config_double(cfg, "rate", &rate) == WIRE_OK &&
      (!isfinite(rate) || rate < 0))
    return wire_config_error(cfg, "rate",
                             "rate must be a number >= 0 (records per "
                             "second; 0 = unpaced)");
  gen_template t;
  int rc = compile(cfg, &t, true);
  if (rc == WIRE_OK) gt_free(&t);
  return rc;
}

static void generator_close(void *state) {
  gsrc *g = state;
  if (!g) return;
  gt_free(&g->t);
  core_buf_free(&g->out);
  core_free(g->recs);
  core_free(g);
}

static int generator_open(wire_stage *st, const char *resume, void **state) {
  const wire_config *cfg = wire_stage_config(st);
  gsrc *g = core_calloc(1, sizeof *g);
  if (!g) return WIRE_ENOMEM;
  g->st = st;
  g->count = (uint64_t)conn_opt_int(cfg, "count", 0);
  g->seed = (uint64_t)conn_opt_int(cfg, "seed", 0);
  if (wire_config_double(cfg, "rate", &g->rate) != WIRE_OK) g->rate = 0;
  int rc = compile(cfg, &g->t, false);
  if (rc) {
    generator_close(g);
    return rc == WIRE_ECONFIG
               ? wire_stage_error(st, rc, "invalid template")
               : rc;
  }
  if (resume && *resume &&
      conn_pos_uint(resume, "seq", &g->seq) != 1) {
    generator_close(g);
    return wire_stage_error(st, WIRE_EPARSE,
                            "invalid resume position '%s' (expected "
                            "{\"seq\":N})",
                            resume);
  }
  *state = g;
  return WIRE_OK;
}

/* How many records the rate allows now (at least 1 once due), waiting up
 * to the deadline for the next one.  0 when none is due yet. */
static size_t paced(gsrc *g, size_t want, int64_t deadline) {
  int64_t now = core_monotonic_ns();
  if (!g->t0) {
    g->t0 = now;
    g->n0 = 0;
  }
  for (;;) {
    double elapsed = (double)(now - g->t0) / 1e9;
    uint64_t allowed = (uint64_t)(elapsed * g->rate) + 1;
    if (allowed > g->n0) {
      uint64_t due = allowed - g->n0;
      uint64_t cap = WIRE_MAX((uint64_t)g->rate, (uint64_t)want);
      if (due > cap) { /* forgive debt beyond the cap */
        g->n0 = allowed - cap;
        due = cap;
      }
      return (size_t)WIRE_MIN(due, (uint64_t)want);
    }
    int64_t next = g->t0 + (int64_t)((double)g->n0 / g->rate * 1e9);
    if (next >= deadline) {
      conn_sleep_until(deadline);
      return 0;
    }
    conn_sleep_until(next);
    now = core_monotonic_ns();
  }
}

static int generator_poll(void *state, wire_batch *b, int timeout_ms) {
  gsrc *g = state;
  if (g->count && g->seq >= g->count) return WIRE_EOF;
  size_t n = wire_batch_room(b);
  if (n == 0) n = 1;
  if (g->count && g->count - g->seq < n) n = (size_t)(g->count - g->seq);
  if (g->rate > 0) {
    n = paced(g, n, core_monotonic_ns() + (int64_t)timeout_ms * 1000000);
    if (n == 0) return WIRE_OK;
  }
  if (n > g->reccap) {
    grec *r = core_realloc(g->recs, n * sizeof *r);
    if (!r) return WIRE_ENOMEM;
    g->recs = r;
    g->reccap = n;
  }
  g->out.len = 0;
  if (core_buf_reserve(&g->out, n * g->t.max_len + 1)) return WIRE_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    grec *r = &g->recs[i];
    r->off = g->out.len;
    r->len = gt_render(&g->t, g->seq + i, g->seed, g->out.data + g->out.len,
                       &r->koff, &r->klen);
    g->out.len += r->len;
  }
  char *dst = wire_batch_alloc(b, g->out.len);
  if (!dst) return WIRE_ENOMEM;
  memcpy(dst, g->out.data, g->out.len);
  wire_event ev;
  memset(&ev, 0, sizeof ev);
  for (size_t i = 0; i < n; i++) {
    const grec *r = &g->recs[i];
    uint64_t seq = g->seq + i;
    uint64_t h = core_hash64(&seq, sizeof seq, g->seed ^ 0x67656e);
    wire_uuid7_make(ev.id, GT_EPOCH_MS + seq, h >> 52, h * 0x9e3779b97f4a7c15ULL);
    ev.value = (const uint8_t *)dst + r->off;
    ev.value_len = r->len;
    if (g->t.has_key) {
      ev.key = (const uint8_t *)dst + r->off + r->koff;
      ev.key_len = r->klen;
    }
    if (wire_batch_append_owned(b, &ev) != WIRE_OK) return WIRE_ENOMEM;
  }
  g->seq += n;
  g->n0 += n;
  char pos[48];
  snprintf(pos, sizeof pos, "{\"seq\":%" PRIu64 "}", g->seq);
  if (wire_batch_set_position(b, pos) != WIRE_OK) return WIRE_ENOMEM;
  return g->count && g->seq >= g->count ? WIRE_EOF : WIRE_OK;
}

/* Records of a bounded generator not produced yet. */
static int generator_lag(void *state, uint64_t *amount, const char **unit) {
  gsrc *g = state;
  if (!g->count) return WIRE_ENOTFOUND;
  *amount = g->count > g->seq ? g->count - g->seq : 0;
  *unit = "records";
  return WIRE_OK;
}

const wire_source_vtable conn_generator_source = {
    .version = WIRE_SOURCE_VERSION,
    .name = "generator",
    .doc = "Generate deterministic synthetic JSON records from a template, "
           "optionally rate-limited",
    .options = generator_options,
    .validate = generator_validate,
    .open = generator_open,
    .poll = generator_poll,
    .close = generator_close,
    .lag = generator_lag,
};
