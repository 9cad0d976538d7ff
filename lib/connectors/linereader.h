/*
 * The line reader shared by the `file` and `stdin` sources: big read(2)
 * chunks into one buffer, lines split with memchr, each batch's lines copied
 * into the batch with a single allocation, NDJSON lines validated, empty
 * lines skipped and bad ones (invalid JSON, longer than max_line) rejected
 * with their line number.  The reader only knows a file descriptor and byte
 * offsets; opening, following and rotation belong to the sources.
 */
#ifndef WIRE_CONN_LINEREADER_H
#define WIRE_CONN_LINEREADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "wire/event.h"
#include "wire/stage.h"

typedef enum lr_format { LR_NDJSON = 0, LR_LINES = 1 } lr_format;

/* Lines collected per scan (a poll may scan several times). */
#define LR_SCAN_MAX 4096

typedef struct lr_reader {
  wire_stage *st; /* borrowed: rejects and errors */
  lr_format format;
  size_t max_line;
  char *buf;               /* unconsumed bytes are buf[start..end) */
  size_t cap, start, end;
  uint64_t offset;         /* input offset of buf[start] */
  uint64_t line;           /* complete lines consumed so far */
  bool skipping;           /* discarding the tail of an over-long line */
  bool ids;                /* deterministic ids (else the engine's) */
  uint64_t id_ms, id_hi;   /* id basis, see lr_set_ids() */
  size_t ends[LR_SCAN_MAX]; /* scratch: line ends of one scan */
} lr_reader;

/* Parse a `format` option value ("ndjson" or "lines"); -1 when neither. */
int lr_format_parse(const char *s);

/* Set up a reader.  Its buffer holds max_line plus one read chunk.
 * WIRE_OK or WIRE_ENOMEM. */
int lr_init(lr_reader *r, wire_stage *st, lr_format format, size_t max_line);
void lr_free(lr_reader *r);

/* Forget buffered bytes and continue as if at `offset` after `line`
 * complete lines (after a seek, a truncation or a file switch). */
void lr_reset(lr_reader *r, uint64_t offset, uint64_t line);

/* Make event ids a pure function of the line's start offset:
 * UUIDv7(ms, hi, offset).  Without this call ids are left to the engine. */
void lr_set_ids(lr_reader *r, uint64_t ms, uint64_t hi);

/* Bytes read from the input so far: consumed plus buffered. */
static inline uint64_t lr_read_pos(const lr_reader *r) {
  return r->offset + (r->end - r->start);
}

/* Whether unconsumed bytes (a line without its newline yet) are buffered. */
static inline bool lr_pending(const lr_reader *r) { return r->end > r->start; }

/* One read(2) from `fd` into the buffer, retrying EINTR.  Returns the number
 * of bytes read, 0 at end of input, LR_WOULDBLOCK for EAGAIN on a
 * non-blocking descriptor, or WIRE_EIO after wire_stage_error() naming
 * `what`. */
#define LR_WOULDBLOCK (-1000)
ssize_t lr_read(lr_reader *r, int fd, const char *what);

/* Drop up to `n` buffered bytes without line processing (resuming a
 * non-seekable input).  Returns the number dropped. */
size_t lr_skip(lr_reader *r, uint64_t n);

/* Move complete buffered lines into `b`, at most `room` events.  With
 * `final` (end of a bounded input) a trailing line without newline counts
 * too.  Rejected and skipped lines do not use room.  *appended gets the
 * number of events added.  WIRE_OK or WIRE_ENOMEM. */
int lr_drain(lr_reader *r, wire_batch *b, size_t room, bool final,
             size_t *appended);

#endif /* WIRE_CONN_LINEREADER_H */
