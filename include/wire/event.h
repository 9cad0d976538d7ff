/*
 * libwire events and batches.
 *
 * An event (a record) is an id (UUIDv7), an event time, key bytes, value
 * bytes and headers.  Events travel in batches.  A batch owns the memory of
 * its events (an arena) and is reference-counted: when the DAG fans out, one
 * batch is shared by every consumer, never copied.  Batches handed to a sink
 * or an operation are read-only and borrowed for the duration of the call.
 * Sources fill the batch the engine hands them with wire_batch_append*().
 */
#ifndef WIRE_EVENT_H
#define WIRE_EVENT_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wire_header {
  const char *name; /* not NUL-terminated */
  size_t name_len;
  const uint8_t *value;
  size_t value_len;
} wire_header;

typedef struct wire_event {
  uint8_t id[16];   /* UUIDv7; all zero in wire_batch_append() = generate */
  int64_t time_ns;  /* event time, ns since the Unix epoch; 0 = now */
  const uint8_t *key;
  size_t key_len;
  const uint8_t *value;
  size_t value_len;
  const wire_header *headers;
  size_t header_count;
} wire_event;

typedef struct wire_batch wire_batch;

/** Number of events in a batch. */
WIRE_API size_t wire_batch_count(const wire_batch *b);

/** Event i (0 <= i < count); borrowed from the batch. */
WIRE_API const wire_event *wire_batch_event(const wire_batch *b, size_t i);

/** All events as an array of wire_batch_count() elements. */
WIRE_API const wire_event *wire_batch_events(const wire_batch *b);

/** Total bytes of keys and values in the batch. */
WIRE_API size_t wire_batch_bytes(const wire_batch *b);

/** How many more events a source should append before returning from poll
 *  (a hint: appending more is allowed but grows memory). */
WIRE_API size_t wire_batch_room(const wire_batch *b);

/** Append a copy of `ev` (key, value and headers are copied into the
 *  batch).  A zero id is replaced by a fresh UUIDv7, a zero time by now.
 *  Returns WIRE_OK or WIRE_ENOMEM.  Source threads only. */
WIRE_API int wire_batch_append(wire_batch *b, const wire_event *ev);

/** Shorthand for appending an event with only a value (copied). */
WIRE_API int wire_batch_append_value(wire_batch *b, const void *value,
                                     size_t len);

/** Allocate `len` bytes inside the batch, valid as long as the batch, so a
 *  source can build a value in place and append it without another copy
 *  through wire_batch_append_owned().  NULL when out of memory. */
WIRE_API void *wire_batch_alloc(wire_batch *b, size_t len);

/** Append `ev` whose key/value/headers already live in memory returned by
 *  wire_batch_alloc() on this batch (not copied). */
WIRE_API int wire_batch_append_owned(wire_batch *b, const wire_event *ev);

/** Set the source position that this batch brings the source to (copied;
 *  a NUL-terminated string, by convention JSON such as {"offset":1234}).
 *  When every sink downstream has acknowledged the batch and all earlier
 *  ones, the position becomes the source's committed low watermark. */
WIRE_API int wire_batch_set_position(wire_batch *b, const char *position);

/** Format a 16-byte id as the canonical 36-character UUID text plus NUL. */
WIRE_API void wire_uuid_format(const uint8_t id[16], char out[37]);

/** Build a UUIDv7 from a millisecond timestamp and 74 bits taken from
 *  `rand_hi` (12 bits used) and `rand_lo` (62 bits used).  Sources that must
 *  replay identically derive ids this way from their position. */
WIRE_API void wire_uuid7_make(uint8_t id[16], uint64_t unix_ms,
                              uint64_t rand_hi, uint64_t rand_lo);

#ifdef __cplusplus
}
#endif
#endif /* WIRE_EVENT_H */
