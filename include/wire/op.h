/*
 * libwire operation vtable.
 *
 * An operation transforms batches: filter, map, route, aggregate.  It is
 * initialised once per pipeline (init: compile expressions, validate), then
 * opened once per partition worker (open: per-thread state such as a jq
 * interpreter).  Each worker calls process() with input batches and the op
 * emits output events to one of its output ports through the emitter.
 *
 * Ports: port 0 is the default output, consumed by naming the op's id as an
 * input.  An op with named outputs lists them (outputs()); consumers name
 * them "id.port".
 */
#ifndef WIRE_OP_H
#define WIRE_OP_H

#include "common.h"
#include "config.h"
#include "event.h"
#include "stage.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WIRE_OP_VERSION 1

typedef struct wire_emitter wire_emitter;

/** Forward event `ev`, which must belong to the input batch of the current
 *  process() call, to output `port` without copying its bytes. */
WIRE_API int wire_emit_forward(wire_emitter *out, unsigned port,
                               const wire_event *ev);

/** Emit a new event: key, value and headers of `ev` are copied.  A zero id
 *  is replaced by a fresh UUIDv7. */
WIRE_API int wire_emit_copy(wire_emitter *out, unsigned port,
                            const wire_event *ev);

/** Emit an event that keeps the id, time, key and headers of `like` (an
 *  event of the input batch) with a new value (copied). */
WIRE_API int wire_emit_value(wire_emitter *out, unsigned port,
                             const wire_event *like, const void *value,
                             size_t len);

typedef struct wire_op_vtable {
  /** WIRE_OP_VERSION the component was written against.  Required. */
  uint32_t version;
  /** Type name used in pipeline definitions ("jq").  Required. */
  const char *name;
  /** One-line description for generated documentation. */
  const char *doc;
  /** Option table, ending with a {NULL} entry.  NULL = no options. */
  const wire_option *options;

  /** Once per pipeline, before it runs and also by `validate`: compile and
   *  check the options, report problems with wire_config_error(), build the
   *  shared read-only state in *shared.  Required. */
  int (*init)(const wire_config *cfg, void **shared);

  /** Optional: NULL-terminated names of the output ports (index = port).
   *  NULL means one unnamed output (port 0).  Must stay valid until fini. */
  const char *const *(*outputs)(void *shared);

  /** Once per partition worker thread.  Optional (state = shared). */
  int (*open)(void *shared, wire_stage *st, void **state);

  /** Process one input batch (borrowed).  Records that fail go to
   *  wire_stage_reject(); a negative return is fatal for the pipeline.
   *  Required. */
  int (*process)(void *state, wire_stage *st, const wire_batch *in,
                 wire_emitter *out);

  /** Optional: per-worker cleanup. */
  void (*close)(void *state);

  /** Optional: release the shared state. */
  void (*fini)(void *shared);
} wire_op_vtable;

#ifdef __cplusplus
}
#endif
#endif /* WIRE_OP_H */
