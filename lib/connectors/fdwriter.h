/*
 * Buffered writing of records to a file descriptor, shared by the `file` and
 * `stdout` sinks: values are copied into one buffer, each followed by '\n',
 * and the buffer goes out through write(2) in big chunks.
 *
 * Retry safety: the engine retries a write() or flush() that returned
 * WIRE_EAGAIN with the same batch.  The writer remembers how far the buffer
 * was written (short writes, ENOSPC in the middle) and how far into a batch
 * it had copied, so a retry resumes exactly where it stopped: no byte is
 * lost and none is written twice.
 */
#ifndef WIRE_CONN_FDWRITER_H
#define WIRE_CONN_FDWRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/event.h"
#include "wire/stage.h"

typedef struct fdw {
  wire_stage *st;   /* borrowed: error messages */
  int fd;           /* borrowed: the owner closes it */
  const char *what; /* borrowed: name in messages ("/x/out.ndjson") */
  bool ndjson;      /* line breaks inside a value are written as spaces */
  char *buf;
  size_t cap, off, len; /* bytes still to write: buf[off..len) */
  const wire_batch *partial; /* batch a failed write() stopped in */
  size_t partial_next;       /* ... and its first event not yet copied */
  uint64_t written;          /* bytes accepted by write(2) */
} fdw;

int fdw_init(fdw *w, wire_stage *st, int fd, const char *what, size_t cap,
             bool ndjson);
void fdw_free(fdw *w);

/* Copy the batch's values into the buffer, writing it out whenever it
 * fills.  WIRE_OK, WIRE_EAGAIN (retry with the same batch), WIRE_EIO or
 * WIRE_ENOMEM, with a message on the stage. */
int fdw_write(fdw *w, const wire_batch *b);

/* Write every buffered byte.  Same codes as fdw_write(). */
int fdw_drain(fdw *w);

static inline size_t fdw_pending(const fdw *w) { return w->len - w->off; }

#endif /* WIRE_CONN_FDWRITER_H */
