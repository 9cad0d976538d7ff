/*
 * The `file` source (connector layer): reads NDJSON or plain lines from a
 * file, once to the end or following it like `tail -F`.
 *
 * Lines go through the shared line reader (linereader.c).  Following: at the
 * end of the file the source checks every poll_interval_ms whether the path
 * now names another file (rotation by rename + create: the old file is read
 * to its end first, then the new one from offset 0) or whether the file
 * shrank below what was read (truncation, as by copytruncate: restart at 0).
 * A path that does not exist yet is waited for.
 *
 * Position: {"path":"...","inode":N,"offset":N,"line":N} (plus "gen":N after
 * truncations), where offset is the byte after the last complete line
 * consumed.  Event ids are UUIDv7(birth time of the file, hash of path,
 * inode and truncation count, offset of the line), so replaying a file from
 * a position yields the same ids.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn_util.h"
#include "connectors.h"
#include "core/core.h"
#include "linereader.h"

/* Bytes read per poll at most, so that a stop request is noticed even when
 * a huge file is all rejected lines. */
#define POLL_BYTES_MAX ((size_t)16 << 20)

typedef struct fsrc {
  wire_stage *st;
  char *path;
  int fd;          /* -1: following a path that does not exist (yet) */
  uint64_t dev, ino;
  uint64_t gen;    /* truncations seen on this inode */
  bool follow;
  bool rotating;   /* the path names a new file: finish the old one */
  int64_t poll_ns;
  int64_t next_check_ns;
  core_buf pos;
  bool pos_set;    /* last position set: */
  uint64_t pos_ino, pos_off, pos_gen;
  lr_reader rd;    /* last: it is large */
} fsrc;

static const wire_option file_source_options[] = {
    {.key = "path", .type = WIRE_OPT_STRING, .required = true,
     .doc = "file to read"},
    {.key = "format", .type = WIRE_OPT_ENUM, .def = "ndjson",
     .choices = "ndjson|lines",
     .doc = "ndjson: one JSON value per line, validated; lines: raw text"},
    {.key = "start", .type = WIRE_OPT_ENUM, .def = "beginning",
     .choices = "beginning|end",
     .doc = "where to start without a resume position"},
    {.key = "follow", .type = WIRE_OPT_BOOL, .def = "false",
     .doc = "at the end wait for more data, surviving rotation and "
            "truncation (like tail -F)"},
    {.key = "poll_interval_ms", .type = WIRE_OPT_INT, .def = "200", .min = 1,
     .max = 60000, .doc = "follow: how often to look for new data"},
    {.key = "max_line", .type = WIRE_OPT_INT, .def = "1048576", .min = 1,
     .max = (int64_t)256 << 20,
     .doc = "longest accepted line in bytes; longer ones are rejected"},
    {0}};

static int file_validate(const wire_config *cfg) {
  const char *path = conn_opt_string(cfg, "path", "");
  if (!*path) return wire_config_error(cfg, "path", "path must not be empty");
  return WIRE_OK;
}

static uint64_t birth_ms(int fd) {
  struct statx sx;
  if (statx(fd, "", AT_EMPTY_PATH, STATX_BTIME, &sx) == 0 &&
      (sx.stx_mask & STATX_BTIME))
    return (uint64_t)sx.stx_btime.tv_sec * 1000 + sx.stx_btime.tv_nsec / 1000000;
  return 0;
}

static void set_ids(fsrc *f) {
  uint64_t k[2] = {f->ino, f->gen};
  uint64_t h = core_hash64(f->path, strlen(f->path), 0x66696c65);
  lr_set_ids(&f->rd, birth_ms(f->fd), core_hash64(k, sizeof k, h));
}

/* Open the path.  Returns 0 or an errno value. */
static int open_path(fsrc *f) {
  int fd = open(f->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  struct stat st;
  if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    int e = S_ISDIR(st.st_mode) ? EISDIR : errno;
    close(fd);
    return e;
  }
  f->fd = fd;
  f->dev = (uint64_t)st.st_dev;
  f->ino = (uint64_t)st.st_ino;
  f->gen = 0;
  lr_reset(&f->rd, 0, 0);
  set_ids(f);
  return 0;
}

static int apply_resume(fsrc *f, const char *resume) {
  uint64_t ino = 0, off = 0, line = 0, gen = 0;
  if (conn_pos_uint(resume, "inode", &ino) != 1 ||
      conn_pos_uint(resume, "offset", &off) != 1 ||
      conn_pos_uint(resume, "line", &line) < 0 ||
      conn_pos_uint(resume, "gen", &gen) < 0)
    return wire_stage_error(f->st, WIRE_EPARSE,
                            "invalid resume position '%s' (expected "
                            "{\"inode\":N,\"offset\":N,\"line\":N})",
                            resume);
  if (f->fd < 0) {
    wire_stage_log(f->st, WIRE_LOG_WARN,
                   "resume: %s does not exist; it will be read from the "
                   "beginning when it appears",
                   f->path);
    return WIRE_OK;
  }
  if (ino != f->ino) {
    wire_stage_log(f->st, WIRE_LOG_WARN,
                   "resume: %s is now inode %" PRIu64 ", the position was "
                   "for inode %" PRIu64 " (rotated?): reading it from the "
                   "beginning",
                   f->path, f->ino, ino);
    return WIRE_OK;
  }
  struct stat st;
  if (fstat(f->fd, &st) == 0 && (uint64_t)st.st_size < off) {
    wire_stage_log(f->st, WIRE_LOG_WARN,
                   "resume: %s is shorter (%lld bytes) than the resume "
                   "offset %" PRIu64 " (truncated?): reading it from the "
                   "beginning",
                   f->path, (long long)st.st_size, off);
    f->gen = gen + 1;
    set_ids(f);
    return WIRE_OK;
  }
  if (lseek(f->fd, (off_t)off, SEEK_SET) < 0)
    return wire_stage_error(f->st, WIRE_EIO, "seek %s to %" PRIu64 ": %s",
                            f->path, off, strerror(errno));
  f->gen = gen;
  set_ids(f);
  lr_reset(&f->rd, off, line);
  return WIRE_OK;
}

static void file_close(void *state) {
  fsrc *f = state;
  if (!f) return;
  if (f->fd >= 0) close(f->fd);
  lr_free(&f->rd);
  core_buf_free(&f->pos);
  core_free(f->path);
  core_free(f);
}

static int file_open(wire_stage *st, const char *resume, void **state) {
  const wire_config *cfg = wire_stage_config(st);
  int format = lr_format_parse(conn_opt_string(cfg, "format", "ndjson"));
  if (format < 0) return wire_stage_error(st, WIRE_ECONFIG, "bad format");
  fsrc *f = core_calloc(1, sizeof *f);
  if (!f) return WIRE_ENOMEM;
  f->st = st;
  f->fd = -1;
  f->follow = conn_opt_bool(cfg, "follow", false);
  f->poll_ns = conn_opt_int(cfg, "poll_interval_ms", 200) * 1000000;
  f->path = core_strdup(conn_opt_string(cfg, "path", ""));
  size_t max_line = (size_t)conn_opt_int(cfg, "max_line", 1 << 20);
  if (!f->path || lr_init(&f->rd, st, (lr_format)format, max_line)) {
    file_close(f);
    return WIRE_ENOMEM;
  }
  int e = open_path(f);
  if (e == ENOENT && f->follow) {
    wire_stage_log(st, WIRE_LOG_WARN, "%s does not exist (yet): waiting",
                   f->path);
  } else if (e) {
    int code = e == ENOENT ? WIRE_ENOTFOUND : WIRE_EIO;
    wire_stage_error(st, code, "open %s: %s", f->path, strerror(e));
    file_close(f);
    return code;
  }
  int rc = WIRE_OK;
  if (resume && *resume) {
    rc = apply_resume(f, resume);
  } else if (f->fd >= 0 &&
             strcmp(conn_opt_string(cfg, "start", "beginning"), "end") == 0) {
    off_t end = lseek(f->fd, 0, SEEK_END);
    if (end < 0)
      rc = wire_stage_error(st, WIRE_EIO, "seek %s: %s", f->path,
                            strerror(errno));
    else
      lr_reset(&f->rd, (uint64_t)end, 0);
  }
  if (rc != WIRE_OK) {
    file_close(f);
    return rc;
  }
  *state = f;
  return WIRE_OK;
}

/* At the end of the followed file: has the path moved on to another file,
 * or did the file shrink?  Returns true when there is something to read. */
static bool check_file(fsrc *f) {
  struct stat st;
  if (stat(f->path, &st) == 0 &&
      ((uint64_t)st.st_ino != f->ino || (uint64_t)st.st_dev != f->dev)) {
    f->rotating = true; /* read the old file to its end, then switch */
    return true;
  }
  if (fstat(f->fd, &st) == 0 && S_ISREG(st.st_mode) &&
      (uint64_t)st.st_size < lr_read_pos(&f->rd)) {
    wire_stage_log(f->st, WIRE_LOG_WARN,
                   "%s was truncated (%lld bytes, %" PRIu64
                   " were read): reading it from the beginning",
                   f->path, (long long)st.st_size, lr_read_pos(&f->rd));
    if (lseek(f->fd, 0, SEEK_SET) == 0) {
      lr_reset(&f->rd, 0, 0);
      f->gen++;
      set_ids(f);
      return true;
    }
  }
  return false;
}

/* The old file of a rotation is read to its end: close it and open what the
 * path names now (or wait for it). */
static void switch_file(fsrc *f) {
  uint64_t old = f->ino;
  close(f->fd);
  f->fd = -1;
  f->rotating = false;
  int e = open_path(f);
  if (e == 0)
    wire_stage_log(f->st, WIRE_LOG_INFO,
                   "%s was rotated: finished inode %" PRIu64
                   ", now reading inode %" PRIu64,
                   f->path, old, f->ino);
  else
    wire_stage_log(f->st, WIRE_LOG_WARN,
                   "%s was rotated but cannot be opened (%s): waiting",
                   f->path, strerror(e));
}

static int set_position(fsrc *f, wire_batch *b, bool force) {
  uint64_t off = f->rd.offset;
  if (!force && f->pos_set && f->pos_ino == f->ino && f->pos_off == off &&
      f->pos_gen == f->gen)
    return WIRE_OK;
  if (f->fd < 0 && !f->pos_set && !force) return WIRE_OK;
  f->pos.len = 0;
  int rc = core_buf_append(&f->pos, "{\"path\":", 8);
  if (!rc) rc = core_buf_json_string(&f->pos, f->path, strlen(f->path));
  if (!rc)
    rc = core_buf_printf(&f->pos,
                         ",\"inode\":%" PRIu64 ",\"offset\":%" PRIu64
                         ",\"line\":%" PRIu64,
                         f->ino, off, f->rd.line);
  if (!rc && f->gen) rc = core_buf_printf(&f->pos, ",\"gen\":%" PRIu64, f->gen);
  if (!rc) rc = core_buf_putc(&f->pos, '}');
  if (!rc) rc = wire_batch_set_position(b, f->pos.data);
  if (rc) return WIRE_ENOMEM;
  f->pos_set = true;
  f->pos_ino = f->ino;
  f->pos_off = off;
  f->pos_gen = f->gen;
  return WIRE_OK;
}

static int file_poll(void *state, wire_batch *b, int timeout_ms) {
  fsrc *f = state;
  size_t room = wire_batch_room(b);
  if (room == 0) room = 1;
  int64_t deadline = core_monotonic_ns() + (int64_t)timeout_ms * 1000000;
  size_t total = 0, bytes = 0, n;
  int rc = WIRE_OK;
  for (;;) {
    if (f->fd >= 0) {
      if ((rc = lr_drain(&f->rd, b, room - total, false, &n))) break;
      total += n;
      if (total >= room || bytes >= POLL_BYTES_MAX) break;
      ssize_t r = lr_read(&f->rd, f->fd, f->path);
      if (r > 0) {
        bytes += (size_t)r;
        continue;
      }
      if (r < 0 && r != LR_WOULDBLOCK) {
        rc = (int)r;
        break;
      }
      /* End of file. */
      if (!f->follow) {
        rc = lr_drain(&f->rd, b, room - total, true, &n);
        total += n;
        if (rc == WIRE_OK) rc = WIRE_EOF;
        break;
      }
      if (f->rotating) {
        /* The old file is finished: its last line needs no newline. */
        if ((rc = lr_drain(&f->rd, b, room - total, true, &n))) break;
        total += n;
        switch_file(f);
        continue;
      }
      if (total > 0) break; /* deliver before waiting */
      int64_t now = core_monotonic_ns();
      if (now >= f->next_check_ns) {
        f->next_check_ns = now + f->poll_ns;
        if (check_file(f)) continue;
      }
    } else {
      int64_t now = core_monotonic_ns();
      if (now >= f->next_check_ns) {
        f->next_check_ns = now + f->poll_ns;
        if (open_path(f) == 0) {
          wire_stage_log(f->st, WIRE_LOG_INFO, "%s appeared: reading it",
                         f->path);
          continue;
        }
      }
    }
    int64_t now = core_monotonic_ns();
    if (now >= deadline) break;
    conn_sleep_until(WIRE_MIN(f->next_check_ns, deadline));
  }
  if (rc == WIRE_OK || rc == WIRE_EOF) {
    int prc = set_position(f, b, total > 0);
    if (prc) return prc;
  }
  return rc;
}

/* Bytes of the current file after the last position handed out. */
static int file_lag(void *state, uint64_t *amount, const char **unit) {
  fsrc *s = state;
  struct stat sb;
  if (s->fd < 0 || !s->pos_set || fstat(s->fd, &sb) != 0)
    return WIRE_ENOTFOUND;
  uint64_t size = (uint64_t)sb.st_size;
  *amount = size > s->pos_off ? size - s->pos_off : 0;
  *unit = "bytes";
  return WIRE_OK;
}

const wire_source_vtable conn_file_source = {
    .version = WIRE_SOURCE_VERSION,
    .name = "file",
    .doc = "Read NDJSON or lines from a file, optionally following it "
           "(tail -F: rotation and truncation survive)",
    .options = file_source_options,
    .validate = file_validate,
    .open = file_open,
    .poll = file_poll,
    .close = file_close,
    .lag = file_lag,
};
