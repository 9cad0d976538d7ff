/*
 * libwire stage: the engine's handle on one running instance of a source,
 * sink or operation, passed to the component's vtable methods.
 *
 * Through it a component reads its options, reports errors with context,
 * logs, counts rejected records and hands records it cannot process to the
 * dead-letter path.  A stage is borrowed: valid from open/init until
 * close/fini returns.  Its methods may be called from the thread that runs
 * the component's methods.
 */
#ifndef WIRE_STAGE_H
#define WIRE_STAGE_H

#include "common.h"
#include "config.h"
#include "event.h"
#include "log.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wire_stage wire_stage;

/** The validated options of this DAG node. */
WIRE_API const wire_config *wire_stage_config(const wire_stage *st);

/** Id of the DAG node ("in"). */
WIRE_API const char *wire_stage_id(const wire_stage *st);

/** Partition index of this instance (0 for sources and sinks) and the number
 *  of partitions of the pipeline. */
WIRE_API unsigned wire_stage_partition(const wire_stage *st);
WIRE_API unsigned wire_stage_partitions(const wire_stage *st);

/** Record an error message for this stage ("open events.ndjson: No such
 *  file or directory"); the engine prefixes the stage kind and id.  Returns
 *  `code` so that a method can `return wire_stage_error(st, code, ...)`. */
WIRE_API int wire_stage_error(wire_stage *st, int code, const char *fmt, ...)
    WIRE_PRINTF(3, 4);

/** Log through the context's log callback, tagged with the stage. */
WIRE_API void wire_stage_log(wire_stage *st, wire_log_level level,
                             const char *fmt, ...) WIRE_PRINTF(3, 4);

/**
 * Reject one record because of its content (invalid JSON, a jq runtime
 * error).  The engine counts it in the stage's `errors`, logs the first ones
 * with `reason` (rate-limited), and, when the pipeline has a dead-letter
 * file, writes the record there with the stage id and the reason.  A
 * rejected record is never silently dropped.  `ev` may be NULL when the raw
 * bytes could not even form an event; then `raw`/`raw_len` are written.
 */
WIRE_API void wire_stage_reject(wire_stage *st, const wire_event *ev,
                                const void *raw, size_t raw_len,
                                const char *reason);

/**
 * Sources: the position every sink has acknowledged so far (the low
 * watermark: the position of the newest batch that, with every batch
 * before it, was delivered), copied into `buf`; "" when none yet.  Sinks
 * acknowledge from their own threads, so a source may call this from any
 * of its methods, poll included, and wait for it: a source that must give
 * its input up (a Kafka rebalance) waits until what it handed out was
 * delivered.  WIRE_OK; WIRE_EINVAL when `st` is not a running source;
 * WIRE_ENOMEM; WIRE_ETOOBIG when `buf` is too small (truncated).
 */
WIRE_API int wire_stage_acked_position(wire_stage *st, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* WIRE_STAGE_H */
