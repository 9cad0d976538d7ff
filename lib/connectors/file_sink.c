/*
 * The `file` sink (connector layer): appends each record's value and a
 * newline to a file.
 *
 * write() only fills a memory buffer (written out with write(2) whenever it
 * fills); flush() writes everything buffered and, with `fsync: true`, calls
 * fdatasync(2), so that an acknowledged record survives a process crash
 * (without fsync) or a power loss (with it).  A file created with fsync on
 * also gets its directory synced once, so the new name itself is durable.
 *
 * With `exactly_once: true`, the sink's output is part of the pipeline's
 * checkpoints (lib/pipeline/txn.h): its length after every batch is
 * recorded, a checkpoint commits the length that matches the committed
 * source position, and when the pipeline resumes from a checkpoint the file
 * is first cut back to that length: what was written after the checkpoint
 * is delivered again by the replay, once.  Each node running the pipeline
 * has its own committed length (the cluster keeps one per node).
 *
 * fdatasync failures are fatal, never retried: after a failed writeback the
 * kernel may drop the dirty pages and a second fdatasync can report success
 * for data that was lost ("fsyncgate", PostgreSQL 2018).  Retrying would
 * acknowledge records that are not on disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn_util.h"
#include "connectors.h"
#include "core/core.h"
#include "fdwriter.h"
#include "pipeline/txn.h"

typedef struct fsink {
  wire_stage *st;
  char *path;
  int fd;
  bool fsync;
  bool sync_dir; /* the file was created: sync its directory once */
  uint64_t base;  /* file length at open */
  fdw w;
} fsink;

static const wire_option file_sink_options[] = {
    {.key = "path", .type = WIRE_OPT_STRING, .required = true,
     .doc = "file to write (its directory must exist)"},
    {.key = "format", .type = WIRE_OPT_ENUM, .def = "ndjson",
     .choices = "ndjson|lines",
     .doc = "ndjson: one value per line, line breaks inside a value become "
            "spaces; lines: values written as they are"},
    {.key = "append", .type = WIRE_OPT_BOOL, .def = "true",
     .doc = "append to an existing file; false truncates it at open"},
    {.key = "flush_interval_ms", .type = WIRE_OPT_INT, .def = "1000",
     .min = 1, .max = 3600000,
     .doc = "longest time written records wait in memory before a flush"},
    {.key = "fsync", .type = WIRE_OPT_BOOL, .def = "false",
     .doc = "flush also calls fdatasync: acknowledged records survive a "
            "power loss"},
    {.key = "exactly_once", .type = WIRE_OPT_BOOL, .def = "false",
     .doc = "in a cluster, cut the file back to the length committed with "
            "the source positions when the pipeline resumes, so a replay "
            "after a crash writes no record twice (one source, one "
            "partition)"},
    {.key = "buffer_size", .type = WIRE_OPT_INT, .def = "1048576",
     .min = 4096, .max = (int64_t)1 << 30,
     .doc = "bytes buffered in memory between write(2) calls"},
    {0}};

static int file_sink_validate(const wire_config *cfg) {
  const char *path = conn_opt_string(cfg, "path", "");
  if (!*path) return wire_config_error(cfg, "path", "path must not be empty");
  return WIRE_OK;
}

static void file_sink_close(void *state) {
  fsink *s = state;
  if (!s) return;
  if (fdw_pending(&s->w))
    wire_stage_log(s->st, WIRE_LOG_DEBUG,
                   "closing %s with %zu unflushed bytes (not acknowledged)",
                   s->path ? s->path : "?", fdw_pending(&s->w));
  fdw_free(&s->w);
  if (s->fd >= 0) close(s->fd);
  core_free(s->path);
  core_free(s);
}

/* Directory part of a path ("." for a bare name); malloc'd. */
static char *dir_of(const char *path) {
  char *copy = core_strdup(path);
  if (!copy) return NULL;
  char *d = core_strdup(dirname(copy));
  core_free(copy);
  return d;
}

static int open_error(wire_stage *st, const char *path, int e) {
  if (e == ENOENT) {
    char *dir = dir_of(path);
    struct stat sb;
    bool missing = dir && stat(dir, &sb) != 0;
    int rc = wire_stage_error(st, WIRE_ENOTFOUND,
                              "open %s: %s%s%s%s", path, strerror(e),
                              missing ? " (directory " : "",
                              missing ? dir : "",
                              missing ? " does not exist)" : "");
    core_free(dir);
    return rc;
  }
  return wire_stage_error(st, WIRE_EIO, "open %s: %s", path, strerror(e));
}

static int cut_back(fsink *s, wire_stage *st);

static int file_sink_open(wire_stage *st, void **state) {
  const wire_config *cfg = wire_stage_config(st);
  fsink *s = core_calloc(1, sizeof *s);
  if (!s) return WIRE_ENOMEM;
  s->st = st;
  s->fd = -1;
  s->path = core_strdup(conn_opt_string(cfg, "path", ""));
  s->fsync = conn_opt_bool(cfg, "fsync", false);
  bool append = conn_opt_bool(cfg, "append", true);
  bool ndjson = strcmp(conn_opt_string(cfg, "format", "ndjson"), "lines") != 0;
  size_t cap = (size_t)conn_opt_int(cfg, "buffer_size", 1 << 20);
  if (!s->path) {
    file_sink_close(s);
    return WIRE_ENOMEM;
  }
  struct stat sb;
  bool existed = stat(s->path, &sb) == 0;
  s->fd = open(s->path,
               O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC),
               0644);
  if (s->fd < 0) {
    int rc = open_error(st, s->path, errno);
    file_sink_close(s);
    return rc;
  }
  s->sync_dir = !existed;
  if (fdw_init(&s->w, st, s->fd, s->path, cap, ndjson)) {
    file_sink_close(s);
    return WIRE_ENOMEM;
  }
  if (conn_opt_bool(cfg, "exactly_once", false)) {
    int rc = cut_back(s, st);
    if (rc) {
      file_sink_close(s);
      return rc;
    }
  }
  *state = s;
  return WIRE_OK;
}

/* Length of the file once everything accepted so far is written. */
static uint64_t file_sink_offset(void *state) {
  fsink *s = state;
  return s->base + s->w.written + fdw_pending(&s->w);
}

/* exactly_once at open: cut the file back to the committed length. */
static int cut_back(fsink *s, wire_stage *st) {
  struct stat sb;
  if (fstat(s->fd, &sb) != 0)
    return wire_stage_error(st, WIRE_EIO, "stat %s: %s", s->path,
                            strerror(errno));
  uint64_t len = (uint64_t)sb.st_size;
  const char *resume = stage_resume(st);
  if (resume) {
    char *end;
    errno = 0;
    unsigned long long want = strtoull(resume, &end, 10);
    if (errno || *end || end == resume)
      return wire_stage_error(st, WIRE_ECORRUPT,
                              "%s: committed length '%s' is not a number",
                              s->path, resume);
    if (want > len) {
      wire_stage_log(st, WIRE_LOG_WARN,
                     "%s is %llu bytes, shorter than the %llu committed: "
                     "records were removed by someone else",
                     s->path, (unsigned long long)len, want);
    } else if (want < len) {
      if (ftruncate(s->fd, (off_t)want) != 0)
        return wire_stage_error(st, WIRE_EIO, "truncate %s to %llu: %s",
                                s->path, want, strerror(errno));
      wire_stage_log(st, WIRE_LOG_INFO,
                     "%s cut back from %llu to the committed %llu bytes "
                     "(records after the checkpoint are replayed)",
                     s->path, (unsigned long long)len, want);
      len = want;
    }
  }
  s->base = len;
  return stage_txn_enable(st, file_sink_offset, len);
}

static int file_sink_write(void *state, const wire_batch *b) {
  fsink *s = state;
  return fdw_write(&s->w, b);
}

static void sync_directory(fsink *s) {
  s->sync_dir = false;
  char *dir = dir_of(s->path);
  int fd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  if (fd < 0 || fsync(fd) != 0)
    wire_stage_log(s->st, WIRE_LOG_WARN, "fsync directory %s: %s",
                   dir ? dir : "?", strerror(errno));
  if (fd >= 0) close(fd);
  core_free(dir);
}

static int file_sink_flush(void *state) {
  fsink *s = state;
  int rc = fdw_drain(&s->w);
  if (rc != WIRE_OK || !s->fsync) return rc;
  while (fdatasync(s->fd) != 0) {
    if (errno == EINTR) continue;
    return wire_stage_error(s->st, WIRE_EIO,
                            "fdatasync %s: %s (not retried: the kernel may "
                            "have dropped the data)",
                            s->path, strerror(errno));
  }
  if (s->sync_dir) sync_directory(s);
  return WIRE_OK;
}

const wire_sink_vtable conn_file_sink = {
    .version = WIRE_SINK_VERSION,
    .name = "file",
    .doc = "Write each record as a line to a file (buffered, optionally "
           "fdatasync'ed on flush)",
    .options = file_sink_options,
    .validate = file_sink_validate,
    .open = file_sink_open,
    .write = file_sink_write,
    .flush = file_sink_flush,
    .close = file_sink_close,
};

int conn_file_sink_recover(const wire_config *cfg, const char *committed,
                           char *err, size_t esz) {
  if (!conn_opt_bool(cfg, "exactly_once", false)) return WIRE_OK;
  const char *path = conn_opt_string(cfg, "path", "");
  char *end;
  errno = 0;
  unsigned long long want = strtoull(committed, &end, 10);
  if (errno || *end || end == committed)
    return core_msg(err, esz, WIRE_ECORRUPT,
                    "%s: committed length '%s' is not a number", path,
                    committed);
  struct stat sb;
  if (stat(path, &sb) != 0) {
    if (errno == ENOENT) return WIRE_OK;
    return core_msg(err, esz, WIRE_EIO, "stat %s: %s", path, strerror(errno));
  }
  if ((unsigned long long)sb.st_size <= want) return WIRE_OK;
  if (truncate(path, (off_t)want) != 0)
    return core_msg(err, esz, WIRE_EIO, "truncate %s to %llu: %s", path, want,
                    strerror(errno));
  return core_msg(err, esz, 1, "%s cut back from %llu to the committed %llu "
                  "bytes", path, (unsigned long long)sb.st_size, want);
}

int conn_file_sink_base(const wire_config *cfg, const char *committed,
                        uint64_t *base) {
  if (!conn_opt_bool(cfg, "exactly_once", false)) return 0;
  struct stat sb;
  uint64_t len = stat(conn_opt_string(cfg, "path", ""), &sb) == 0
                     ? (uint64_t)sb.st_size
                     : 0;
  if (committed) {
    char *end;
    errno = 0;
    unsigned long long want = strtoull(committed, &end, 10);
    if (!errno && *committed && !*end && want < len) len = want;
  }
  *base = len;
  return 1;
}
