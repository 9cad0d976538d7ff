/*
 * The `route` operation: named outputs chosen by jq predicates.  A record
 * goes to every route whose condition is truthy (mode all) or to the first
 * (mode first); a record matching none goes to the `unmatched` output.
 * Consumers name the outputs "id.route".  Conditions are compiled once at
 * init (for diagnostics) and once per worker thread (jq states are not
 * thread-safe).
 */
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "ops/jqx.h"
#include "ops/ops.h"

typedef struct route_shared {
  size_t n;          /* routes, not counting unmatched */
  char **names;      /* n + 1 names, NULL-terminated after "unmatched" */
  char **exprs;
  bool first;
} route_shared;

typedef struct route_state {
  route_shared *sh;
  jq_state **jq;
} route_state;

static const wire_option route_options[] = {
    {.key = "routes", .type = WIRE_OPT_MAP, .required = true,
     .doc = "output name -> jq condition; records go to the routes whose "
            "condition is true (false and null are false)"},
    {.key = "mode", .type = WIRE_OPT_ENUM, .def = "all",
     .choices = "all|first",
     .doc = "all: every matching route; first: the first matching route"},
    {0}};

static void route_fini(void *shared) {
  route_shared *sh = shared;
  if (!sh) return;
  for (size_t i = 0; i <= sh->n; i++) core_free(sh->names ? sh->names[i] : NULL);
  for (size_t i = 0; i < sh->n; i++) core_free(sh->exprs ? sh->exprs[i] : NULL);
  core_free(sh->names);
  core_free(sh->exprs);
  core_free(sh);
}

static int route_init(const wire_config *cfg, void **shared) {
  size_t n = wire_config_map_count(cfg, "routes");
  if (n == 0) return wire_config_error(cfg, "routes", "needs at least one route");
  route_shared *sh = core_calloc(1, sizeof *sh);
  if (!sh) return WIRE_ENOMEM;
  sh->names = core_calloc(n + 2, sizeof *sh->names);
  sh->exprs = core_calloc(n, sizeof *sh->exprs);
  if (!sh->names || !sh->exprs) {
    route_fini(sh);
    return WIRE_ENOMEM;
  }
  sh->n = n;
  const char *mode = "all";
  wire_config_string(cfg, "mode", &mode);
  sh->first = strcmp(mode, "first") == 0;
  int rc = WIRE_OK;
  for (size_t i = 0; i < n; i++) {
    const char *name, *text;
    wire_config_map_item(cfg, "routes", i, &name, &text, NULL);
    sh->names[i] = core_strdup(name);
    sh->exprs[i] = core_strdup(text ? text : "");
    if (!sh->names[i] || !sh->exprs[i]) {
      route_fini(sh);
      return WIRE_ENOMEM;
    }
    if (!strcmp(name, "unmatched"))
      rc = wire_config_error(cfg, "routes",
                             "'unmatched' is reserved for records no route "
                             "matches");
    char err[512];
    jq_state *jq = jqx_compile(sh->exprs[i], err, sizeof err);
    if (!jq)
      rc = wire_config_error(cfg, "routes", "route '%s': invalid jq expression: %s",
                             name, err);
    else
      jq_teardown(&jq);
  }
  sh->names[n] = core_strdup("unmatched");
  if (!sh->names[n]) rc = WIRE_ENOMEM;
  if (rc != WIRE_OK) {
    route_fini(sh);
    return rc;
  }
  *shared = sh;
  return WIRE_OK;
}

static const char *const *route_outputs(void *shared) {
  return (const char *const *)((route_shared *)shared)->names;
}

static void route_close(void *state) {
  route_state *st = state;
  if (!st) return;
  for (size_t i = 0; st->jq && i < st->sh->n; i++)
    if (st->jq[i]) jq_teardown(&st->jq[i]);
  core_free(st->jq);
  core_free(st);
}

static int route_open(void *shared, wire_stage *stage, void **state) {
  route_shared *sh = shared;
  route_state *st = core_calloc(1, sizeof *st);
  if (!st) return WIRE_ENOMEM;
  st->sh = sh;
  st->jq = core_calloc(sh->n, sizeof *st->jq);
  if (!st->jq) {
    route_close(st);
    return WIRE_ENOMEM;
  }
  for (size_t i = 0; i < sh->n; i++) {
    char err[256];
    st->jq[i] = jqx_compile(sh->exprs[i], err, sizeof err);
    if (!st->jq[i]) {
      route_close(st);
      return wire_stage_error(stage, WIRE_ECONFIG, "route '%s': %s",
                              sh->names[i], err);
    }
  }
  *state = st;
  return WIRE_OK;
}

/* Evaluate route i on `input` (not consumed).  1 true, 0 false, -1 error
 * (message in err). */
static int eval(jq_state *jq, jv input, char *err, size_t errlen) {
  jq_start(jq, jv_copy(input), 0);
  jv r = jq_next(jq);
  int res;
  if (jv_is_valid(r)) {
    res = jqx_truthy(r) ? 1 : 0;
    jv_free(r);
    /* Drain further outputs; the first decides (like `if COND`). */
    for (jv more = jq_next(jq); jv_is_valid(more); more = jq_next(jq))
      jv_free(more);
    return res;
  }
  if (jv_invalid_has_msg(jv_copy(r))) {
    jqx_error_text(jv_invalid_get_msg(r), err, errlen);
    return -1;
  }
  jv_free(r);
  return 0; /* no output (e.g. empty): false */
}

static int route_process(void *state, wire_stage *stage, const wire_batch *in,
                         wire_emitter *out) {
  route_state *st = state;
  size_t n = st->sh->n;
  for (size_t k = 0; k < wire_batch_count(in); k++) {
    const wire_event *e = wire_batch_event(in, k);
    jv input = jv_parse_sized((const char *)e->value, (int)e->value_len);
    if (!jv_is_valid(input)) {
      char err[256];
      jqx_parse_error(input, err, sizeof err);
      wire_stage_reject(stage, e, NULL, 0, err);
      continue;
    }
    bool matched = false, failed = false;
    for (size_t i = 0; i < n && !failed; i++) {
      char err[512];
      int r = eval(st->jq[i], input, err, sizeof err);
      if (r < 0) {
        char reason[640];
        snprintf(reason, sizeof reason, "route '%s': %s", st->sh->names[i], err);
        wire_stage_reject(stage, e, NULL, 0, reason);
        failed = true;
      } else if (r) {
        matched = true;
        int rc = wire_emit_forward(out, (unsigned)i, e);
        if (rc) {
          jv_free(input);
          return rc;
        }
        if (st->sh->first) break;
      }
    }
    jv_free(input);
    if (!matched && !failed) {
      int rc = wire_emit_forward(out, (unsigned)n, e);
      if (rc) return rc;
    }
  }
  return WIRE_OK;
}

const wire_op_vtable ops_route = {
    .version = WIRE_OP_VERSION,
    .name = "route",
    .doc = "Send records to named outputs (`id.name`) by jq predicates; "
           "records matching none go to `id.unmatched`.",
    .options = route_options,
    .init = route_init,
    .outputs = route_outputs,
    .open = route_open,
    .process = route_process,
    .close = route_close,
    .fini = route_fini,
};
