/*
 * The `sample` operation: keep a deterministic fraction of records.  The
 * decision hashes the event id with a seed, so a replay keeps exactly the
 * same records and the result does not depend on partitioning.
 */
#include "core/core.h"
#include "ops/ops.h"

typedef struct sample_shared {
  uint64_t threshold; /* keep when hash < threshold (rate) */
  uint64_t every;     /* keep when hash % every == 0 */
  uint64_t seed;
} sample_shared;

static const wire_option sample_options[] = {
    {.key = "rate", .type = WIRE_OPT_DOUBLE,
     .doc = "fraction of records to keep, 0..1 (exclusive with every)"},
    {.key = "every", .type = WIRE_OPT_INT, .min = 1, .max = INT64_MAX,
     .doc = "keep about one record in N (exclusive with rate)"},
    {.key = "seed", .type = WIRE_OPT_INT, .def = "0",
     .doc = "changes which records are kept"},
    {0}};

static int sample_init(const wire_config *cfg, void **shared) {
  bool has_rate = wire_config_has(cfg, "rate"),
       has_every = wire_config_has(cfg, "every");
  if (has_rate == has_every)
    return wire_config_error(cfg, NULL, "set exactly one of 'rate' and 'every'");
  sample_shared *s = core_calloc(1, sizeof *s);
  if (!s) return WIRE_ENOMEM;
  int64_t seed = 0, every = 0;
  double rate = 0;
  wire_config_int(cfg, "seed", &seed);
  s->seed = (uint64_t)seed;
  if (has_rate) {
    wire_config_double(cfg, "rate", &rate);
    if (!(rate >= 0 && rate <= 1)) {
      core_free(s);
      return wire_config_error(cfg, "rate", "must be between 0 and 1, got %g",
                               rate);
    }
    s->threshold = rate >= 1 ? UINT64_MAX : (uint64_t)(rate * 18446744073709551616.0);
    s->every = 0;
  } else {
    wire_config_int(cfg, "every", &every);
    s->every = (uint64_t)every;
  }
  *shared = s;
  return WIRE_OK;
}

static int sample_process(void *state, wire_stage *st, const wire_batch *in,
                          wire_emitter *out) {
  (void)st;
  sample_shared *s = state;
  for (size_t k = 0; k < wire_batch_count(in); k++) {
    const wire_event *e = wire_batch_event(in, k);
    uint64_t h = core_hash64(e->id, 16, s->seed);
    bool keep = s->every ? h % s->every == 0
                         : (s->threshold == UINT64_MAX || h < s->threshold);
    if (keep) {
      int rc = wire_emit_forward(out, 0, e);
      if (rc) return rc;
    }
  }
  return WIRE_OK;
}

static void sample_fini(void *shared) { core_free(shared); }

const wire_op_vtable ops_sample = {
    .version = WIRE_OP_VERSION, .name = "sample",
    .doc = "Keep a deterministic fraction of records (by event id hash).",
    .options = sample_options, .init = sample_init, .process = sample_process,
    .fini = sample_fini};
