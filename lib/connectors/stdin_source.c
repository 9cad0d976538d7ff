/*
 * The `stdin` source (connector layer): NDJSON or lines from file
 * descriptor 0 until its end, through the shared line reader.
 *
 * poll(2) bounds each wait by the poll timeout, so a stop request is noticed
 * on an idle terminal or pipe.  Position: {"offset":N,"line":N}.  Resuming
 * seeks when the input is a regular file and otherwise discards the first N
 * bytes (the same stream piped again).  Event ids come from the engine: a
 * pipe cannot be replayed, so there is nothing to keep deterministic.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "conn_util.h"
#include "connectors.h"
#include "core/core.h"
#include "linereader.h"

#define POLL_BYTES_MAX ((size_t)16 << 20)

typedef struct ssrc {
  wire_stage *st;
  int fd;
  uint64_t skip; /* bytes still to discard before the resume offset */
  core_buf pos;
  bool pos_set;
  uint64_t pos_off;
  lr_reader rd; /* last: it is large */
} ssrc;

static const wire_option stdin_options[] = {
    {.key = "format", .type = WIRE_OPT_ENUM, .def = "ndjson",
     .choices = "ndjson|lines",
     .doc = "ndjson: one JSON value per line, validated; lines: raw text"},
    {.key = "max_line", .type = WIRE_OPT_INT, .def = "1048576", .min = 1,
     .max = (int64_t)256 << 20,
     .doc = "longest accepted line in bytes; longer ones are rejected"},
    {0}};

static void stdin_close(void *state) {
  ssrc *s = state;
  if (!s) return;
  lr_free(&s->rd);
  core_buf_free(&s->pos);
  core_free(s);
}

static int stdin_open(wire_stage *st, const char *resume, void **state) {
  const wire_config *cfg = wire_stage_config(st);
  int format = lr_format_parse(conn_opt_string(cfg, "format", "ndjson"));
  if (format < 0) return wire_stage_error(st, WIRE_ECONFIG, "bad format");
  ssrc *s = core_calloc(1, sizeof *s);
  if (!s) return WIRE_ENOMEM;
  s->st = st;
  s->fd = STDIN_FILENO;
  size_t max_line = (size_t)conn_opt_int(cfg, "max_line", 1 << 20);
  if (lr_init(&s->rd, st, (lr_format)format, max_line)) {
    stdin_close(s);
    return WIRE_ENOMEM;
  }
  if (resume && *resume) {
    uint64_t off = 0, line = 0;
    if (conn_pos_uint(resume, "offset", &off) != 1 ||
        conn_pos_uint(resume, "line", &line) < 0) {
      stdin_close(s);
      return wire_stage_error(st, WIRE_EPARSE,
                              "invalid resume position '%s' (expected "
                              "{\"offset\":N})",
                              resume);
    }
    if (lseek(s->fd, (off_t)off, SEEK_SET) == (off_t)off) {
      lr_reset(&s->rd, off, line);
    } else {
      lr_reset(&s->rd, 0, line);
      s->skip = off;
      wire_stage_log(st, WIRE_LOG_INFO,
                     "stdin is not seekable: skipping its first %" PRIu64
                     " bytes to resume",
                     off);
    }
  }
  *state = s;
  return WIRE_OK;
}

/* Wait up to timeout_ms for fd 0 to be readable (or at its end).  1 ready,
 * 0 not yet, negative on failure. */
static int wait_input(ssrc *s, int timeout_ms) {
  struct pollfd p = {.fd = s->fd, .events = POLLIN};
  int n = poll(&p, 1, timeout_ms);
  if (n < 0)
    return errno == EINTR ? 0
                          : wire_stage_error(s->st, WIRE_EIO, "poll stdin: %s",
                                             strerror(errno));
  if (n > 0 && (p.revents & POLLNVAL))
    return wire_stage_error(s->st, WIRE_EIO, "stdin is closed");
  return n > 0;
}

static int set_position(ssrc *s, wire_batch *b, bool force) {
  if (s->skip) return WIRE_OK;
  if (!force && s->pos_set && s->pos_off == s->rd.offset) return WIRE_OK;
  s->pos.len = 0;
  if (core_buf_printf(&s->pos, "{\"offset\":%" PRIu64 ",\"line\":%" PRIu64 "}",
                      s->rd.offset, s->rd.line) ||
      wire_batch_set_position(b, s->pos.data))
    return WIRE_ENOMEM;
  s->pos_set = true;
  s->pos_off = s->rd.offset;
  return WIRE_OK;
}

static int stdin_poll(void *state, wire_batch *b, int timeout_ms) {
  ssrc *s = state;
  size_t room = wire_batch_room(b);
  if (room == 0) room = 1;
  int64_t deadline = core_monotonic_ns() + (int64_t)timeout_ms * 1000000;
  size_t total = 0, bytes = 0, n;
  int rc = WIRE_OK;
  for (;;) {
    if (!s->skip) {
      if ((rc = lr_drain(&s->rd, b, room - total, false, &n))) break;
      total += n;
      if (total >= room || bytes >= POLL_BYTES_MAX) break;
    }
    int64_t left = deadline - core_monotonic_ns();
    int w = wait_input(s, total || left <= 0 ? 0
                                             : (int)((left + 999999) / 1000000));
    if (w < 0) {
      rc = w;
      break;
    }
    if (w == 0) {
      if (total || core_monotonic_ns() >= deadline) break;
      continue;
    }
    ssize_t r = lr_read(&s->rd, s->fd, "stdin");
    if (r == LR_WOULDBLOCK) continue;
    if (r < 0) {
      rc = (int)r;
      break;
    }
    if (r == 0) {
      if (s->skip) {
        wire_stage_log(s->st, WIRE_LOG_WARN,
                       "stdin ended before the resume offset");
        s->skip = 0;
      }
      rc = lr_drain(&s->rd, b, room - total, true, &n);
      total += n;
      if (rc == WIRE_OK) rc = WIRE_EOF;
      break;
    }
    bytes += (size_t)r;
    if (s->skip) s->skip -= lr_skip(&s->rd, s->skip);
  }
  if (rc == WIRE_OK || rc == WIRE_EOF) {
    int prc = set_position(s, b, total > 0);
    if (prc) return prc;
  }
  return rc;
}

const wire_source_vtable conn_stdin_source = {
    .version = WIRE_SOURCE_VERSION,
    .name = "stdin",
    .doc = "Read NDJSON or lines from standard input until it ends",
    .options = stdin_options,
    .open = stdin_open,
    .poll = stdin_poll,
    .close = stdin_close,
};
