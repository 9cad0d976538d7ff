/*
 * The `stdout` and `null` sinks (connector layer).
 *
 * stdout writes each value and a newline to file descriptor 1 through the
 * shared buffered writer (fdwriter.c); flush() writes the buffer out.  The
 * library never touches stdout otherwise, so a host that uses this sink owns
 * the descriptor's framing.  null discards everything: the engine's
 * counters are all it leaves, which makes it the reference sink for
 * measuring sources and operations.
 */
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "conn_util.h"
#include "connectors.h"
#include "core/core.h"
#include "fdwriter.h"

/* ---- stdout -------------------------------------------------------------- */

typedef struct ssink {
  wire_stage *st;
  fdw w;
} ssink;

static const wire_option stdout_options[] = {
    {.key = "format", .type = WIRE_OPT_ENUM, .def = "ndjson",
     .choices = "ndjson|lines",
     .doc = "ndjson: one value per line, line breaks inside a value become "
            "spaces; lines: values written as they are"},
    {.key = "flush_interval_ms", .type = WIRE_OPT_INT, .def = "100", .min = 1,
     .max = 3600000,
     .doc = "longest time written records wait in memory before a flush"},
    {.key = "buffer_size", .type = WIRE_OPT_INT, .def = "262144",
     .min = 4096, .max = (int64_t)1 << 30,
     .doc = "bytes buffered in memory between write(2) calls"},
    {0}};

static int stdout_open(wire_stage *st, void **state) {
  const wire_config *cfg = wire_stage_config(st);
  ssink *s = core_calloc(1, sizeof *s);
  if (!s) return WIRE_ENOMEM;
  s->st = st;
  bool ndjson = strcmp(conn_opt_string(cfg, "format", "ndjson"), "lines") != 0;
  size_t cap = (size_t)conn_opt_int(cfg, "buffer_size", 262144);
  if (fdw_init(&s->w, st, STDOUT_FILENO, "stdout", cap, ndjson)) {
    core_free(s);
    return WIRE_ENOMEM;
  }
  *state = s;
  return WIRE_OK;
}

static int stdout_write(void *state, const wire_batch *b) {
  ssink *s = state;
  return fdw_write(&s->w, b);
}

static int stdout_flush(void *state) {
  ssink *s = state;
  return fdw_drain(&s->w);
}

static void stdout_close(void *state) {
  ssink *s = state;
  if (!s) return;
  fdw_free(&s->w);
  core_free(s);
}

const wire_sink_vtable conn_stdout_sink = {
    .version = WIRE_SINK_VERSION,
    .name = "stdout",
    .doc = "Write each record as a line to standard output",
    .options = stdout_options,
    .open = stdout_open,
    .write = stdout_write,
    .flush = stdout_flush,
    .close = stdout_close,
};

/* ---- null ---------------------------------------------------------------- */

typedef struct nsink {
  wire_stage *st;
  uint64_t records, bytes;
} nsink;

static int null_open(wire_stage *st, void **state) {
  nsink *s = core_calloc(1, sizeof *s);
  if (!s) return WIRE_ENOMEM;
  s->st = st;
  *state = s;
  return WIRE_OK;
}

static int null_write(void *state, const wire_batch *b) {
  nsink *s = state;
  s->records += wire_batch_count(b);
  s->bytes += wire_batch_bytes(b);
  return WIRE_OK;
}

static void null_close(void *state) {
  nsink *s = state;
  if (!s) return;
  wire_stage_log(s->st, WIRE_LOG_DEBUG,
                 "discarded %" PRIu64 " records, %" PRIu64 " bytes",
                 s->records, s->bytes);
  core_free(s);
}

const wire_sink_vtable conn_null_sink = {
    .version = WIRE_SINK_VERSION,
    .name = "null",
    .doc = "Discard every record (counts only); for measurements",
    .open = null_open,
    .write = null_write,
    .close = null_close,
};
