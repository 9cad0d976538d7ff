/*
 * Exactly-once sinks (internal).
 *
 * A sink whose output can be cut back to an offset (the `file` sink with
 * `exactly_once: true`: a byte length) enables this at open.  The engine
 * then records, for every batch the sink wrote, the sequence number of the
 * source batch it derives from and the sink's offset after it.  A
 * checkpoint commits, together with the source's watermark (everything up
 * to it acknowledged by every sink), the offset of each such sink that
 * matches that watermark: the output up to it holds exactly the records up
 * to the watermark, because the sink writes batches in source order.  When
 * the pipeline resumes from that checkpoint, the sink first cuts its output
 * back to the committed offset, dropping what was written after the
 * checkpoint and is about to be delivered again.
 *
 * Batches reach a sink in source order only with one source and one
 * partition; stage_txn_enable() refuses other pipelines.
 */
#ifndef WIRE_PIPELINE_TXN_H
#define WIRE_PIPELINE_TXN_H

#include <stdint.h>

#include "wire/pipeline.h"
#include "wire/stage.h"

/* Called by the sink's open(): `offset(state)` gives the sink's offset
 * after everything written so far (called on the sink's thread right after
 * each successful write); `base` is the offset at open.  WIRE_OK, or
 * WIRE_ECONFIG with a message on the stage. */
int stage_txn_enable(wire_stage *st, uint64_t (*offset)(void *state),
                     uint64_t base);

/* The resume state given for this stage's node with
 * wire_pipeline_set_resume() (a sink's committed offset), or NULL. */
const char *stage_resume(wire_stage *st);

/* Number of exactly-once sinks (known once the pipeline started). */
size_t pipe_txn_count(wire_pipeline *p);

/* For a checkpoint: the watermark of `source_id` (*pos malloc'd, NULL when
 * nothing was acknowledged nor resumed) and, through `fn`, every
 * exactly-once sink with the offset matching it.  WIRE_OK, WIRE_ENOTFOUND,
 * WIRE_ENOMEM. */
typedef void (*pipe_sink_state_fn)(void *ud, const char *sink_id,
                                   uint64_t offset);
int pipe_checkpoint_state(wire_pipeline *p, const char *source_id, char **pos,
                          pipe_sink_state_fn fn, void *ud);

/* Options of DAG node `id` of a parsed pipeline, with its kind and type;
 * NULL when there is no such node. */
const wire_config *pipe_node_config(wire_pipeline *p, const char *id,
                                    wire_node_kind *kind, const char **type);

#endif /* WIRE_PIPELINE_TXN_H */
