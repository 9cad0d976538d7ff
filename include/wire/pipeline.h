/*
 * libwire pipelines: sources -> a DAG of operations -> sinks.
 *
 * A pipeline is defined in YAML (wire_pipeline_parse(), wire_pipeline_load())
 * or built node by node (wire_pipeline_new() + wire_pipeline_add()).  Before
 * it runs it is validated: unknown types, unknown or missing inputs,
 * duplicate ids, cycles, missing or ill-typed options, invalid expressions.
 * Every problem becomes a diagnostic with a file, line and column.
 *
 * Lifecycle:
 *   1. parse/load/new (+ add) -> a wire_pipeline handle (returned even when
 *      the definition is invalid, so that its diagnostics can be read)
 *   2. wire_pipeline_validate() (start validates too)
 *   3. wire_pipeline_start(): threads start, records flow
 *   4. wire_pipeline_wait(): returns when bounded sources are exhausted and
 *      everything is flushed, or after wire_pipeline_stop(), or on failure
 *   5. wire_pipeline_free()
 *
 * Threads: steps 1-5 from one controlling thread; wire_pipeline_stop() and
 * the stats functions from any thread.
 */
#ifndef WIRE_PIPELINE_H
#define WIRE_PIPELINE_H

#include <stdbool.h>

#include "common.h"
#include "ctx.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wire_pipeline wire_pipeline;

typedef enum wire_node_kind {
  WIRE_NODE_SOURCE = 1,
  WIRE_NODE_OP = 2,
  WIRE_NODE_SINK = 3
} wire_node_kind;

typedef enum wire_pipeline_state {
  WIRE_PIPELINE_CREATED = 0,
  WIRE_PIPELINE_RUNNING,
  WIRE_PIPELINE_STOPPING,
  WIRE_PIPELINE_FINISHED, /* bounded sources exhausted, all flushed */
  WIRE_PIPELINE_STOPPED,  /* stopped by wire_pipeline_stop() */
  WIRE_PIPELINE_FAILED    /* a fatal error; see wire_pipeline_errmsg() */
} wire_pipeline_state;

/** One validation problem.  Strings are borrowed from the pipeline. */
typedef struct wire_diag {
  const char *file; /* file name given at parse time, or "<pipeline>" */
  int line;         /* 1-based; 0 when unknown */
  int col;          /* 1-based; 0 when unknown */
  const char *message;
} wire_diag;

/** Parse a YAML definition.  `file` names it in diagnostics (may be NULL).
 *  `yaml` is copied.  Returns WIRE_OK, or WIRE_ECONFIG with the diagnostics
 *  in the handle, or WIRE_ENOMEM (then *out may be NULL).  The definition is
 *  also fully validated (types, inputs, cycles, options). */
WIRE_API int wire_pipeline_parse(wire_ctx *ctx, const char *yaml, size_t len,
                                 const char *file, wire_pipeline **out);

/** Read and parse a YAML file.  WIRE_EIO when it cannot be read. */
WIRE_API int wire_pipeline_load(wire_ctx *ctx, const char *path,
                                wire_pipeline **out);

/** Start an empty definition to build programmatically. */
WIRE_API int wire_pipeline_new(wire_ctx *ctx, const char *name,
                               wire_pipeline **out);

/**
 * Add a DAG node.  `inputs` is a comma-separated list of node ids (or
 * "id.port"), NULL for sources.  `options_yaml` is a YAML mapping in flow or
 * block style ("{path: out.ndjson, fsync: true}"), or NULL.  Strings are
 * copied.  Problems become diagnostics, checked by wire_pipeline_validate().
 */
WIRE_API int wire_pipeline_add(wire_pipeline *p, wire_node_kind kind,
                               const char *id, const char *type,
                               const char *inputs, const char *options_yaml);

/** Set a pipeline-level setting: "partitions", "partition_key",
 *  "queue_depth", "batch_size", "dead_letter".  `value` is YAML scalar
 *  text. */
WIRE_API int wire_pipeline_set(wire_pipeline *p, const char *key,
                               const char *value);

/** Validate the whole definition.  WIRE_OK or WIRE_ECONFIG (see diags). */
WIRE_API int wire_pipeline_validate(wire_pipeline *p);

/** Diagnostics of the last parse/validate. */
WIRE_API size_t wire_pipeline_diag_count(const wire_pipeline *p);
WIRE_API const wire_diag *wire_pipeline_diag(const wire_pipeline *p,
                                             size_t i);

/** Pipeline name. */
WIRE_API const char *wire_pipeline_name(const wire_pipeline *p);

/** Resume positions: before start, set the position source `source_id`
 *  continues from (copied).  A sink that takes part in checkpoints (the
 *  `file` sink with `exactly_once`) also takes the state committed with
 *  that position (for the file sink, the file length to cut back to).
 *  wire_pipeline_start() fails with WIRE_ENOTFOUND when the id names no
 *  source or sink. */
WIRE_API int wire_pipeline_set_resume(wire_pipeline *p, const char *source_id,
                                      const char *position);

/** Validate, open every component and start the threads.  On failure the
 *  pipeline is left stopped and the reason is in wire_pipeline_errmsg(). */
WIRE_API int wire_pipeline_start(wire_pipeline *p);

/** Ask a running pipeline to stop gracefully: sources stop polling, queued
 *  batches drain through the DAG, sinks flush.  Returns at once; use
 *  wire_pipeline_wait().  Any thread, also a signal-handling thread (it
 *  only stores a flag and wakes threads up). */
WIRE_API void wire_pipeline_stop(wire_pipeline *p);

/** Wait until the pipeline is finished, stopped or failed, at most
 *  `timeout_ms` (< 0: forever).  Returns WIRE_OK when it ended normally,
 *  WIRE_ETIMEDOUT, or the fatal error code of a failed pipeline. */
WIRE_API int wire_pipeline_wait(wire_pipeline *p, int timeout_ms);

/** Current state.  Any thread. */
WIRE_API wire_pipeline_state wire_pipeline_get_state(const wire_pipeline *p);
WIRE_API const char *wire_pipeline_state_name(wire_pipeline_state s);

/** Last error message (never NULL). */
WIRE_API const char *wire_pipeline_errmsg(const wire_pipeline *p);

/** Counters of one DAG node. */
typedef struct wire_node_stats {
  const char *id;   /* borrowed from the pipeline */
  const char *type; /* borrowed from the pipeline */
  wire_node_kind kind;
  uint64_t in;      /* records received (sources: produced) */
  uint64_t out;     /* records emitted (sinks: acknowledged) */
  uint64_t dropped; /* records filtered out on purpose */
  uint64_t errors;  /* records rejected (bad input, runtime errors) */
  uint64_t bytes_in;
  uint64_t bytes_out;
  /* sources that can tell (the `lag` method): how far behind the end of
   * their input they are, in `lag_unit` ("bytes", "records"); -1 and NULL
   * otherwise */
  int64_t lag;
  const char *lag_unit;
} wire_node_stats;

/** Number of DAG nodes; stats of node i (in definition order: sources,
 *  operations, sinks).  Any thread while the pipeline lives. */
WIRE_API size_t wire_pipeline_node_count(const wire_pipeline *p);
WIRE_API int wire_pipeline_node_stats(const wire_pipeline *p, size_t i,
                                      wire_node_stats *out);

/** The committed low watermark of source `source_id`: the position up to
 *  which every sink has acknowledged.  Copies at most `len` bytes (NUL
 *  included) into `buf`; "" when nothing is acknowledged yet.  WIRE_ENOTFOUND
 *  for an unknown source. */
WIRE_API int wire_pipeline_watermark(const wire_pipeline *p,
                                     const char *source_id, char *buf,
                                     size_t len);

/** Seconds since start (frozen at the end). */
WIRE_API double wire_pipeline_elapsed(const wire_pipeline *p);

/** Free a pipeline; stops and waits for it first when running.  NULL ok. */
WIRE_API void wire_pipeline_free(wire_pipeline *p);

#ifdef __cplusplus
}
#endif
#endif /* WIRE_PIPELINE_H */
