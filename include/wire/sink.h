/*
 * libwire sink vtable.
 *
 * A sink consumes batches.  The engine runs each sink instance on its own
 * thread: open, then write for every batch and flush from time to time, and
 * close.  Only one method runs at a time.
 *
 * Acknowledgement: a batch counts as delivered (and its source position may
 * be committed) only after a flush that follows its write returned WIRE_OK.
 * So write may just buffer or send asynchronously; flush must wait until
 * everything written so far is durable at the destination.
 */
#ifndef WIRE_SINK_H
#define WIRE_SINK_H

#include "common.h"
#include "config.h"
#include "event.h"
#include "stage.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WIRE_SINK_VERSION 1

typedef struct wire_sink_vtable {
  /** WIRE_SINK_VERSION the component was written against.  Required. */
  uint32_t version;
  /** Type name used in pipeline definitions ("file").  Required. */
  const char *name;
  /** One-line description for generated documentation. */
  const char *doc;
  /** Option table, ending with a {NULL} entry.  NULL = no options. */
  const wire_option *options;

  /** Optional extra validation, as for sources. */
  int (*validate)(const wire_config *cfg);

  /** Open the sink.  Required. */
  int (*open)(wire_stage *st, void **state);

  /** Accept a batch (borrowed for the call).  WIRE_EAGAIN: transient, the
   *  engine retries the same batch with backoff.  Records rejected for their
   *  content go to wire_stage_reject(), the rest of the batch continues.
   *  Required. */
  int (*write)(void *state, const wire_batch *batch);

  /** Make everything written so far durable.  NULL means write() is already
   *  durable when it returns. */
  int (*flush)(void *state);

  /** Release everything (after a final flush when the pipeline stops
   *  gracefully).  Required. */
  void (*close)(void *state);
} wire_sink_vtable;

#ifdef __cplusplus
}
#endif
#endif /* WIRE_SINK_H */
