/*
 * libwire source vtable.
 *
 * A source produces batches of events.  The engine runs each source instance
 * on its own thread and calls, in order: open, then poll repeatedly, ack as
 * positions become committed, and close.  Only one method runs at a time.
 *
 * Positions: each batch a source returns carries the position the source
 * reached after it (wire_batch_set_position()).  When every sink downstream
 * has acknowledged a batch and all batches before it, that position becomes
 * the source's low watermark; the engine reports it to the source (ack) and
 * exposes it in the pipeline stats.  open() receives the position to resume
 * from, so a restarted pipeline continues where it stopped (at-least-once).
 */
#ifndef WIRE_SOURCE_H
#define WIRE_SOURCE_H

#include "common.h"
#include "config.h"
#include "event.h"
#include "stage.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 2: adds `lag`.  Version 1 components (without it) still register. */
#define WIRE_SOURCE_VERSION 2

typedef struct wire_source_vtable {
  /** WIRE_SOURCE_VERSION the component was written against.  Required. */
  uint32_t version;
  /** Type name used in pipeline definitions ("file").  Required. */
  const char *name;
  /** One-line description for generated documentation. */
  const char *doc;
  /** Option table, ending with a {NULL} entry.  NULL = no options. */
  const wire_option *options;

  /** Optional: extra validation beyond the option table, run before the
   *  pipeline starts (no side effects).  Report problems with
   *  wire_config_error() and return WIRE_ECONFIG. */
  int (*validate)(const wire_config *cfg);

  /** Open the source.  `resume` is the committed position to continue from,
   *  or NULL to start according to the options.  Store per-instance state in
   *  *state.  On failure return a negative code after wire_stage_error();
   *  WIRE_EAGAIN makes the engine retry with backoff.  Required. */
  int (*open)(wire_stage *st, const char *resume, void **state);

  /** Append up to wire_batch_room() events to `batch` and set its position.
   *  May block up to `timeout_ms` waiting for data.  Return WIRE_OK (with
   *  zero events when nothing arrived), WIRE_EOF when a bounded source is
   *  exhausted (events appended in the same call are still delivered),
   *  WIRE_EAGAIN for a transient failure, or another negative code for a
   *  fatal one.  Required. */
  int (*poll)(void *state, wire_batch *batch, int timeout_ms);

  /** Optional: `position` (a value previously set on a batch) is now
   *  acknowledged by every sink.  Sources that commit upstream (a Kafka
   *  consumer group) do it here.  Called on the source thread. */
  int (*ack)(void *state, const char *position);

  /** Release everything.  Required. */
  void (*close)(void *state);

  /** Optional (version >= 2): how far the source is behind the end of its
   *  input right now, in `*unit` (a static string: "bytes", "records"),
   *  e.g. the bytes of a file not read yet or the records of a bounded
   *  source not produced yet.  Called on the source thread between polls,
   *  at most every 100 ms.  WIRE_OK, or WIRE_ENOTFOUND when it cannot
   *  tell (unbounded, not open yet). */
  int (*lag)(void *state, uint64_t *amount, const char **unit);
} wire_source_vtable;

#ifdef __cplusplus
}
#endif
#endif /* WIRE_SOURCE_H */
