/*
 * Buffered record writer over a file descriptor (connector layer), used by
 * the `file` and `stdout` sinks.  See fdwriter.h for the retry contract.
 *
 * Error policy: ENOSPC and EDQUOT are transient (space may be freed; the
 * engine retries with backoff and the buffered bytes wait), as is EAGAIN on
 * a non-blocking descriptor; every other write error (EIO, EBADF, EFBIG,
 * EPIPE...) is fatal for the pipeline.
 */
#include "fdwriter.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"

int fdw_init(fdw *w, wire_stage *st, int fd, const char *what, size_t cap,
             bool ndjson) {
  memset(w, 0, sizeof *w);
  w->st = st;
  w->fd = fd;
  w->what = what;
  w->ndjson = ndjson;
  w->cap = cap ? cap : 1 << 20;
  w->buf = core_malloc(w->cap);
  return w->buf ? WIRE_OK : WIRE_ENOMEM;
}

void fdw_free(fdw *w) {
  core_free(w->buf);
  w->buf = NULL;
}

int fdw_drain(fdw *w) {
  while (w->off < w->len) {
    ssize_t k = write(w->fd, w->buf + w->off, w->len - w->off);
    if (k > 0) {
      w->off += (size_t)k;
      w->written += (uint64_t)k;
      continue;
    }
    int e = k < 0 ? errno : EAGAIN; /* 0 bytes written: try again later */
    if (e == EINTR) continue;
    if (e == ENOSPC || e == EDQUOT || e == EAGAIN || e == EWOULDBLOCK)
      return wire_stage_error(w->st, WIRE_EAGAIN,
                              "write %s: %s (%zu bytes kept for a retry)",
                              w->what, strerror(e), w->len - w->off);
    return wire_stage_error(w->st, WIRE_EIO, "write %s: %s", w->what,
                            strerror(e));
  }
  w->off = w->len = 0;
  return WIRE_OK;
}

/* NDJSON: a value spread over several lines (pretty-printed JSON) would
 * break the one-record-per-line framing.  Outside strings a line break is
 * whitespace, and valid JSON has none inside strings, so a space keeps the
 * value's meaning. */
static void flatten(char *p, size_t n) {
  char *end = p + n;
  while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) *p++ = ' ';
}

int fdw_write(fdw *w, const wire_batch *b) {
  size_t n = wire_batch_count(b);
  const wire_event *ev = wire_batch_events(b);
  size_t i = w->partial == b ? w->partial_next : 0;
  w->partial = NULL;
  for (; i < n; i++) {
    size_t vlen = ev[i].value_len, need = vlen + 1;
    if (need > w->cap - w->len) {
      int rc = fdw_drain(w);
      if (rc != WIRE_OK) {
        w->partial = b;
        w->partial_next = i;
        return rc;
      }
      if (need > w->cap) { /* one value larger than the buffer */
        char *nb = core_realloc(w->buf, need);
        if (!nb)
          return wire_stage_error(w->st, WIRE_ENOMEM,
                                  "write %s: no memory for a %zu-byte record",
                                  w->what, vlen);
        w->buf = nb;
        w->cap = need;
      }
    }
    char *d = w->buf + w->len;
    if (vlen) memcpy(d, ev[i].value, vlen);
    if (w->ndjson && memchr(d, '\n', vlen)) flatten(d, vlen);
    d[vlen] = '\n';
    w->len += need;
  }
  return WIRE_OK;
}
