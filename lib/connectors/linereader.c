/*
 * Line reader for the `file` and `stdin` sources (connector layer).
 *
 * Input is read in chunks of up to 1 MiB straight into one buffer; lines are
 * found with memchr.  For each scan the reader collects the line ends first,
 * then copies the whole run of lines into the batch with one
 * wire_batch_alloc() and appends events that point into that copy, so a
 * batch of a thousand lines costs one allocation and one memcpy.  The buffer
 * starts at 1 MiB and grows only when a single line needs it, up to max_line
 * plus one chunk.
 *
 * Line rules: '\n' ends a line, a '\r' before it is dropped; in NDJSON every
 * line is validated with json_validate() and whitespace-only lines are
 * skipped; in `lines` format only empty lines are skipped.  A line longer
 * than max_line is rejected (its first max_line bytes go to the dead-letter
 * path) and the rest of it is discarded as it arrives, so memory stays
 * bounded whatever the input.  Line numbers are 1-based and count every
 * line, skipped and rejected ones included.
 */
#include "linereader.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "core/json.h"

#define LR_CHUNK ((size_t)1 << 20)

int lr_format_parse(const char *s) {
  if (!s || strcmp(s, "ndjson") == 0) return LR_NDJSON;
  if (strcmp(s, "lines") == 0) return LR_LINES;
  return -1;
}

int lr_init(lr_reader *r, wire_stage *st, lr_format format, size_t max_line) {
  memset(r, 0, offsetof(lr_reader, ends));
  r->st = st;
  r->format = format;
  r->max_line = max_line ? max_line : 1;
  r->cap = LR_CHUNK;
  r->buf = core_malloc(r->cap);
  return r->buf ? WIRE_OK : WIRE_ENOMEM;
}

void lr_free(lr_reader *r) {
  core_free(r->buf);
  r->buf = NULL;
}

void lr_reset(lr_reader *r, uint64_t offset, uint64_t line) {
  r->start = r->end = 0;
  r->offset = offset;
  r->line = line;
  r->skipping = false;
}

void lr_set_ids(lr_reader *r, uint64_t ms, uint64_t hi) {
  r->ids = true;
  r->id_ms = ms;
  r->id_hi = hi;
}

/* Largest buffer ever needed: a partial line of max_line + 1 bytes (one more
 * for a '\r') plus a full chunk to read into. */
static size_t max_cap(const lr_reader *r) { return r->max_line + 2 + LR_CHUNK; }

ssize_t lr_read(lr_reader *r, int fd, const char *what) {
  if (r->start > 0) {
    size_t n = r->end - r->start;
    if (n) memmove(r->buf, r->buf + r->start, n);
    r->start = 0;
    r->end = n;
  }
  if (r->cap - r->end < LR_CHUNK / 16 && r->cap < max_cap(r)) {
    size_t cap = WIRE_MIN(r->cap * 2, max_cap(r));
    char *nb = core_realloc(r->buf, cap);
    if (!nb)
      return wire_stage_error(r->st, WIRE_ENOMEM,
                              "read %s: no memory for a %zu-byte line buffer",
                              what, cap);
    r->buf = nb;
    r->cap = cap;
  }
  if (r->end == r->cap) /* cannot happen: lr_drain bounds partial lines */
    return wire_stage_error(r->st, WIRE_EIO, "read %s: line buffer full",
                            what);
  for (;;) {
    ssize_t n = read(fd, r->buf + r->end, r->cap - r->end);
    if (n >= 0) {
      r->end += (size_t)n;
      return n;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return LR_WOULDBLOCK;
    return wire_stage_error(r->st, WIRE_EIO, "read %s: %s", what,
                            strerror(errno));
  }
}

size_t lr_skip(lr_reader *r, uint64_t n) {
  size_t k = r->end - r->start;
  if (n < k) k = (size_t)n;
  r->start += k;
  r->offset += k;
  if (r->start == r->end) r->start = r->end = 0;
  return k;
}

static bool all_space(const char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
      return false;
  return true;
}

static void reject_long(lr_reader *r, const char *p, size_t len,
                        uint64_t lno) {
  char reason[96];
  snprintf(reason, sizeof reason, "line %" PRIu64 " longer than max_line (%zu)",
           lno, r->max_line);
  wire_stage_reject(r->st, NULL, p, WIRE_MIN(len, r->max_line), reason);
}

/* Emit the n lines whose ends are r->ends[0..n) (`last`: the final one has
 * no newline and ends at r->end).  Consumes them from the buffer. */
static int emit(lr_reader *r, wire_batch *b, size_t n, bool last,
                size_t *appended) {
  size_t s0 = r->start;
  size_t stop = r->ends[n - 1];
  char *dst = NULL;
  if (stop > s0 && !(dst = wire_batch_alloc(b, stop - s0)))
    return WIRE_ENOMEM;
  if (dst) memcpy(dst, r->buf + s0, stop - s0);
  size_t s = s0;
  for (size_t i = 0; i < n; i++) {
    size_t e = r->ends[i];
    const char *line = r->buf + s;
    size_t len = e - s;
    uint64_t lno = r->line + 1;
    if (len && line[len - 1] == '\r') len--;
    bool keep = len > 0;
    if (len > r->max_line) {
      reject_long(r, line, len, lno);
      keep = false;
    } else if (r->format == LR_NDJSON) {
      size_t err = 0;
      if (!json_validate(line, len, &err)) {
        keep = false;
        if (!all_space(line, len)) {
          char reason[96];
          snprintf(reason, sizeof reason,
                   "line %" PRIu64 ": invalid JSON at byte %zu", lno, err);
          wire_stage_reject(r->st, NULL, line, len, reason);
        }
      }
    }
    if (keep) {
      wire_event ev;
      memset(&ev, 0, sizeof ev);
      ev.value = (const uint8_t *)dst + (s - s0);
      ev.value_len = len;
      if (r->ids) wire_uuid7_make(ev.id, r->id_ms, r->id_hi, r->offset + (s - s0));
      if (wire_batch_append_owned(b, &ev) != WIRE_OK) return WIRE_ENOMEM;
      (*appended)++;
    }
    r->line++;
    s = e + 1;
  }
  size_t used = (last ? r->end : stop + 1) - s0;
  r->start += used;
  r->offset += used;
  if (r->start == r->end) r->start = r->end = 0;
  return WIRE_OK;
}

int lr_drain(lr_reader *r, wire_batch *b, size_t room, bool final,
             size_t *appended) {
  *appended = 0;
  for (;;) {
    if (r->skipping) {
      char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
      if (!nl) {
        lr_skip(r, r->end - r->start);
        return WIRE_OK;
      }
      lr_skip(r, (size_t)(nl - (r->buf + r->start)) + 1);
      r->line++;
      r->skipping = false;
    }
    if (*appended >= room) return WIRE_OK;
    size_t want = WIRE_MIN(room - *appended, (size_t)LR_SCAN_MAX);
    size_t n = 0, p = r->start;
    while (n < want && p < r->end) {
      char *nl = memchr(r->buf + p, '\n', r->end - p);
      if (!nl) break;
      p = (size_t)(nl - r->buf);
      r->ends[n++] = p++;
    }
    bool last = false;
    if (n == 0) {
      size_t partial = r->end - r->start;
      if (partial == 0) return WIRE_OK;
      if (!final) {
        /* +1: the line may still end in "\r\n". */
        if (partial <= r->max_line + 1) return WIRE_OK;
        reject_long(r, r->buf + r->start, partial, r->line + 1);
        r->skipping = true;
        continue;
      }
      r->ends[n++] = r->end;
      last = true;
    }
    int rc = emit(r, b, n, last, appended);
    if (rc != WIRE_OK) return rc;
  }
}
