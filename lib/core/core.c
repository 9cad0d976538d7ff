/*
 * Core utilities: error message formatting, the default log sink,
 * allocation wrappers (with a fail-after switch for out-of-memory tests),
 * growable buffers, error names and clocks.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"
#include "wire/common.h"

/* ---- error codes ------------------------------------------------------ */

WIRE_API const char *wire_strerror(int code) {
  switch (code) {
    case WIRE_OK:
      return "success";
#define X(name, val, msg) \
  case WIRE_##name:       \
    return msg;
      WIRE_ERRNO_MAP(X)
#undef X
    default:
      return "unknown error";
  }
}

WIRE_API const char *wire_err_name(int code) {
  switch (code) {
    case WIRE_OK:
      return "WIRE_OK";
#define X(name, val, msg) \
  case WIRE_##name:       \
    return "WIRE_" #name;
      WIRE_ERRNO_MAP(X)
#undef X
    default:
      return "WIRE_EUNKNOWN";
  }
}

int core_vmsg(char *buf, size_t size, int code, const char *fmt, va_list ap) {
  if (buf && size) vsnprintf(buf, size, fmt, ap);
  return code;
}

int core_msg(char *buf, size_t size, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  core_vmsg(buf, size, code, fmt, ap);
  va_end(ap);
  return code;
}

/* ---- logging ------------------------------------------------------------ */

static const char *const level_names[] = {"error", "warn", "info", "debug",
                                          "trace"};

WIRE_API const char *wire_log_level_name(wire_log_level level) {
  if ((unsigned)level < WIRE_ARRAY_SIZE(level_names)) return level_names[level];
  return "unknown";
}

WIRE_API int wire_log_level_parse(const char *name, wire_log_level *out) {
  if (!name || !out) return WIRE_EINVAL;
  for (size_t i = 0; i < WIRE_ARRAY_SIZE(level_names); i++) {
    if (strcasecmp(name, level_names[i]) == 0) {
      *out = (wire_log_level)i;
      return WIRE_OK;
    }
  }
  return WIRE_EINVAL;
}

void core_log_init(core_log *log) {
  log->level = WIRE_LOG_WARN;
  log->fn = NULL;
  log->user = NULL;
}

void core_vlogf(const core_log *log, wire_log_level level,
                const char *component, const char *fmt, va_list ap) {
  if (!core_log_enabled(log, level)) return;
  char msg[1024];
  vsnprintf(msg, sizeof msg, fmt, ap);
  if (log->fn) {
    log->fn(log->user, level, component ? component : "", msg);
    return;
  }
  /* One fprintf per line: stdio locks the stream, lines do not interleave. */
  fprintf(stderr, "wire %s: %s%s%s\n", wire_log_level_name(level),
          component ? component : "", component ? ": " : "", msg);
}

void core_logf(const core_log *log, wire_log_level level, const char *component,
               const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  core_vlogf(log, level, component, fmt, ap);
  va_end(ap);
}

/* ---- allocation ---------------------------------------------------------- */

/* The fail-after counter is the one piece of process-wide state, and only
 * out-of-memory unit tests set it; it is atomic so that concurrent threads
 * stay well-defined. */
static atomic_long alloc_fail_after = -1;

void core_alloc_fail_after(long n) { atomic_store(&alloc_fail_after, n); }

static int alloc_should_fail(void) {
  long n = atomic_load_explicit(&alloc_fail_after, memory_order_relaxed);
  if (n < 0) return 0;
  for (;;) {
    if (n == 0) return 1;
    if (atomic_compare_exchange_weak(&alloc_fail_after, &n, n - 1)) return 0;
    if (n < 0) return 0;
  }
}

void *core_malloc(size_t n) {
  if (alloc_should_fail()) return NULL;
  return malloc(n ? n : 1);
}

void *core_calloc(size_t n, size_t size) {
  if (alloc_should_fail()) return NULL;
  return calloc(n ? n : 1, size ? size : 1);
}

void *core_realloc(void *p, size_t n) {
  if (alloc_should_fail()) return NULL;
  return realloc(p, n ? n : 1);
}

char *core_strndup(const char *s, size_t n) {
  char *d = core_malloc(n + 1);
  if (!d) return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

char *core_strdup(const char *s) {
  return s ? core_strndup(s, strlen(s)) : NULL;
}

void core_free(void *p) { free(p); }

/* ---- buffers --------------------------------------------------------------- */

int core_buf_reserve(core_buf *b, size_t extra) {
  if (b->len + extra <= b->cap) return WIRE_OK;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra) cap *= 2;
  char *d = core_realloc(b->data, cap);
  if (!d) return WIRE_ENOMEM;
  b->data = d;
  b->cap = cap;
  return WIRE_OK;
}

int core_buf_append(core_buf *b, const void *p, size_t n) {
  if (core_buf_reserve(b, n + 1)) return WIRE_ENOMEM;
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return WIRE_OK;
}

int core_buf_putc(core_buf *b, char c) { return core_buf_append(b, &c, 1); }

int core_buf_printf(core_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return WIRE_EINVAL;
  if (core_buf_reserve(b, (size_t)n + 1)) return WIRE_ENOMEM;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return WIRE_OK;
}

void core_buf_free(core_buf *b) {
  core_free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

/* ---- clocks ------------------------------------------------------------------ */

int64_t core_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t core_monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void core_sleep_ms(int ms) {
  if (ms <= 0) return;
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
}

int core_buf_json_string(core_buf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  if (core_buf_reserve(b, n + 3)) return WIRE_ENOMEM;
  core_buf_putc(b, '"');
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    if (core_buf_append(b, s + run, i - run)) return WIRE_ENOMEM;
    run = i + 1;
    char esc[7] = {'\\', 0};
    switch (c) {
      case '"': esc[1] = '"'; break;
      case '\\': esc[1] = '\\'; break;
      case '\n': esc[1] = 'n'; break;
      case '\t': esc[1] = 't'; break;
      case '\r': esc[1] = 'r'; break;
      case '\b': esc[1] = 'b'; break;
      case '\f': esc[1] = 'f'; break;
      default:
        esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
        esc[4] = hex[c >> 4]; esc[5] = hex[c & 15];
        break;
    }
    if (core_buf_append(b, esc, esc[1] == 'u' ? 6 : 2)) return WIRE_ENOMEM;
  }
  if (core_buf_append(b, s + run, n - run)) return WIRE_ENOMEM;
  return core_buf_putc(b, '"');
}

bool core_parse_i64(const char *p, size_t n, int64_t *out) {
  if (n == 0 || n > 20) return false;
  size_t i = 0;
  bool neg = false;
  if (p[0] == '-') {
    neg = true;
    i = 1;
    if (n == 1) return false;
  }
  if (p[i] == '0' && (n - i > 1 || neg)) return false;
  uint64_t v = 0;
  for (; i < n; i++) {
    if (p[i] < '0' || p[i] > '9') return false;
    uint64_t d = (uint64_t)(p[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  if (neg) {
    if (v > (uint64_t)INT64_MAX + 1) return false;
    *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
  } else {
    if (v > (uint64_t)INT64_MAX) return false;
    *out = (int64_t)v;
  }
  return true;
}

bool core_secret_eq(const char *got, size_t n, const char *want) {
  size_t wl = strlen(want);
  unsigned char diff = n != wl;
  for (size_t i = 0; i < n; i++)
    diff |= (unsigned char)(got[i] ^ want[wl ? i % wl : 0]);
  return diff == 0 && wl > 0;
}

void core_secret_free(char *s) {
  if (!s) return;
  volatile char *p = s;
  while (*p) *p++ = 0;
  core_free(s);
}
