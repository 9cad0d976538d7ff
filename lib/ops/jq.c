/*
 * The `jq` operation (lib/ops): runs a jq program on every record; each
 * output of the program becomes a record, printed like `jq -c`.
 *
 * Two paths give identical results:
 *  - the fast path (jqfast.c) evaluates `.`, simple paths, `select(COND)`
 *    and bare conditions on the raw bytes.  A selected record that is
 *    already in jq's compact form is forwarded without a copy; otherwise it
 *    is parsed and printed by libjq (still without running the program);
 *  - everything else runs through libjq per record: jv_parse_sized,
 *    jq_start, jq_next until invalid, jv_dump_string.  An output identical to
 *    the input (same jv) of a compact-form record is forwarded too.
 * Invalid JSON and jq runtime errors are rejected with jq's message; outputs
 * produced before a runtime error are kept, as the jq CLI prints them.
 *
 * init compiles the program once to report errors; each partition worker
 * compiles its own jq_state in open (a jq_state is single-threaded).
 */
#include <limits.h>
#include <pthread.h>
#include <string.h>

#include "core/core.h"
#include "jqfast.h"
#include "jqx.h"
#include "ops.h"

typedef struct jq_shared {
  char *expr;
  jqf_prog *fast; /* NULL: libjq only */
  pthread_mutex_t mu; /* serialises jq_compile across workers */
} jq_shared;

typedef struct jq_worker {
  jq_shared *sh;
  jq_state *jq;
  jqf_scratch scratch;
  char reason[WIRE_ERRMSG_SIZE];
} jq_worker;

static const wire_option jq_options[] = {
    {.key = "expr", .type = WIRE_OPT_STRING, .required = true,
     .doc = "jq program (jq 1.6 syntax); every output becomes a record, "
            "printed like `jq -c`; invalid JSON input and jq runtime errors "
            "are rejected (counted as errors, dead-lettered) with jq's "
            "message.  `.`, simple paths and select(...) over comparisons "
            "of paths and literals run on a fast path without libjq"},
    {0}};

static void jq_fini(void *shared) {
  jq_shared *sh = shared;
  if (!sh) return;
  jqf_free(sh->fast);
  core_free(sh->expr);
  pthread_mutex_destroy(&sh->mu);
  core_free(sh);
}

static int jq_init_op(const wire_config *cfg, void **shared) {
  const char *expr = NULL;
  if (wire_config_string(cfg, "expr", &expr) != WIRE_OK || !expr)
    return wire_config_error(cfg, "expr", "a jq expression is required");
  char err[WIRE_ERRMSG_SIZE];
  jq_state *jq = jqx_compile(expr, err, sizeof err);
  if (!jq) return wire_config_error(cfg, "expr", "invalid jq expression: %s", err);
  jq_teardown(&jq);
  jq_shared *sh = core_calloc(1, sizeof *sh);
  if (!sh) return WIRE_ENOMEM;
  pthread_mutex_init(&sh->mu, NULL);
  sh->expr = core_strdup(expr);
  if (!sh->expr) {
    jq_fini(sh);
    return WIRE_ENOMEM;
  }
  sh->fast = jqf_compile(expr); /* NULL: not in the fast subset */
  *shared = sh;
  return WIRE_OK;
}

static int jq_open(void *shared, wire_stage *st, void **state) {
  jq_shared *sh = shared;
  jq_worker *w = core_calloc(1, sizeof *w);
  if (!w) return WIRE_ENOMEM;
  w->sh = sh;
  char err[WIRE_ERRMSG_SIZE];
  pthread_mutex_lock(&sh->mu);
  w->jq = jqx_compile(sh->expr, err, sizeof err);
  pthread_mutex_unlock(&sh->mu);
  if (!w->jq) {
    core_free(w);
    return wire_stage_error(st, WIRE_ECONFIG, "invalid jq expression: %s", err);
  }
  *state = w;
  return WIRE_OK;
}

static void jq_close(void *state) {
  jq_worker *w = state;
  if (!w) return;
  if (w->jq) jq_teardown(&w->jq);
  jqf_scratch_free(&w->scratch);
  core_free(w);
}

/* Emit `x` printed like jq -c (consumes x). */
static int emit_jv(wire_emitter *out, const wire_event *ev, jv x) {
  jv s = jv_dump_string(x, 0);
  if (!jv_is_valid(s)) {
    jv_free(s);
    return WIRE_ENOMEM;
  }
  int rc = wire_emit_value(out, 0, ev, jv_string_value(s),
                           (size_t)jv_string_length_bytes(jv_copy(s)));
  jv_free(s);
  return rc;
}

/* Emit the value whose raw text is v[0..n) as jq prints it.  1 done, 0
 * when libjq does not parse it (the caller falls back), <0 error. */
static int emit_reprinted(wire_emitter *out, const wire_event *ev,
                          const char *v, size_t n) {
  if (n > INT_MAX) return 0;
  jv x = jv_parse_sized(v, (int)n);
  if (!jv_is_valid(x)) {
    jv_free(x);
    return 0;
  }
  int rc = emit_jv(out, ev, x);
  return rc < 0 ? rc : 1;
}

static int emit_text(wire_emitter *out, const wire_event *ev, const char *v,
                     size_t n) {
  int rc = wire_emit_value(out, 0, ev, v, n);
  return rc < 0 ? rc : 1;
}

/* The input record itself as output: forwarded when jq would print it
 * byte for byte, reprinted otherwise. */
static int emit_input(wire_emitter *out, const wire_event *ev, unsigned f) {
  if (f & JQF_CANON) {
    int rc = wire_emit_forward(out, 0, ev);
    return rc < 0 ? rc : 1;
  }
  return emit_reprinted(out, ev, (const char *)ev->value, ev->value_len);
}

/* Fast path: 1 handled, 0 use libjq, <0 error. */
static int run_fast(jq_worker *w, const wire_event *ev, wire_emitter *out,
                    unsigned *flags) {
  const jqf_prog *fp = w->sh->fast;
  const char *v = (const char *)ev->value;
  size_t n = ev->value_len;
  unsigned f = *flags = jqf_scan(v, n);
  if (!(f & JQF_SAFE)) return 0;
  const char *val;
  size_t vl;
  int r;
  switch (jqf_form_of(fp)) {
    case JQF_SELECT:
      r = jqf_eval(fp, &w->scratch, v, n, f);
      if (r <= 0) return r == 0; /* false: no output */
      return emit_input(out, ev, f);
    case JQF_IDENTITY:
      return emit_input(out, ev, f);
    case JQF_PATH:
      r = jqf_value(fp, v, n, f, &val, &vl);
      if (r < 0) return 0;
      if (r == 0) return emit_text(out, ev, "null", 4);
      if (f & JQF_CANON) return emit_text(out, ev, val, vl);
      return emit_reprinted(out, ev, val, vl);
    case JQF_BOOL:
      r = jqf_eval(fp, &w->scratch, v, n, f);
      if (r < 0) return 0;
      return r ? emit_text(out, ev, "true", 4) : emit_text(out, ev, "false", 5);
  }
  return 0;
}

/* libjq path.  flags: jqf_scan() result, or ~0u when not computed yet. */
static int run_jq(jq_worker *w, wire_stage *st, const wire_event *ev,
                  wire_emitter *out, unsigned flags) {
  const char *v = (const char *)ev->value;
  size_t n = ev->value_len;
  if (n > INT_MAX) {
    wire_stage_reject(st, ev, NULL, 0, "invalid JSON: record too large");
    return WIRE_OK;
  }
  jv in = jv_parse_sized(v, (int)n);
  if (!jv_is_valid(in)) {
    jqx_parse_error(in, w->reason, sizeof w->reason);
    wire_stage_reject(st, ev, NULL, 0, w->reason);
    return WIRE_OK;
  }
  jq_start(w->jq, jv_copy(in), 0);
  int rc = WIRE_OK;
  for (;;) {
    jv o = jq_next(w->jq);
    if (!jv_is_valid(o)) {
      if (jv_invalid_has_msg(jv_copy(o))) {
        jqx_error_text(jv_invalid_get_msg(o), w->reason, sizeof w->reason);
        wire_stage_reject(st, ev, NULL, 0, w->reason);
      } else {
        jv_free(o);
        if (jq_halted(w->jq)) {
          jv msg = jq_get_error_message(w->jq);
          if (jv_is_valid(msg) && jv_get_kind(msg) != JV_KIND_NULL) {
            jqx_error_text(msg, w->reason, sizeof w->reason);
            wire_stage_reject(st, ev, NULL, 0, w->reason);
          } else {
            jv_free(msg);
          }
        }
      }
      break;
    }
    if (jv_identical(jv_copy(in), jv_copy(o))) {
      if (flags == ~0u) flags = jqf_scan(v, n);
      if (flags & JQF_CANON) {
        jv_free(o);
        if (wire_emit_forward(out, 0, ev) < 0) {
          rc = WIRE_ENOMEM;
          break;
        }
        continue;
      }
    }
    if (emit_jv(out, ev, o) < 0) {
      rc = WIRE_ENOMEM;
      break;
    }
  }
  jv_free(in);
  return rc;
}

static int jq_process(void *state, wire_stage *st, const wire_batch *in,
                      wire_emitter *out) {
  jq_worker *w = state;
  size_t n = wire_batch_count(in);
  const wire_event *evs = wire_batch_events(in);
  for (size_t i = 0; i < n; i++) {
    const wire_event *ev = &evs[i];
    unsigned flags = ~0u;
    if (w->sh->fast) {
      int rc = run_fast(w, ev, out, &flags);
      if (rc < 0)
        return wire_stage_error(st, rc, "jq: cannot emit: %s",
                                wire_strerror(rc));
      if (rc > 0) continue;
    }
    int rc = run_jq(w, st, ev, out, flags);
    if (rc < 0)
      return wire_stage_error(st, rc, "jq: cannot emit: %s", wire_strerror(rc));
  }
  return WIRE_OK;
}

const wire_op_vtable ops_jq = {
    .version = WIRE_OP_VERSION,
    .name = "jq",
    .doc = "transform records with a jq program (filter, map, project)",
    .options = jq_options,
    .init = jq_init_op,
    .open = jq_open,
    .process = jq_process,
    .close = jq_close,
    .fini = jq_fini,
};
