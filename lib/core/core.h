/*
 * Internal core of libwire: error messages, logging, arenas, bounded queues,
 * UUIDv7 and random numbers, hashing and clocks.  Nothing here is public;
 * the public API wraps it.
 */
#ifndef WIRE_CORE_H
#define WIRE_CORE_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/error.h"
#include "wire/log.h"

#define WIRE_ERRMSG_SIZE 512

#define WIRE_UNUSED(x) ((void)(x))
#define WIRE_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define WIRE_MIN(a, b) ((a) < (b) ? (a) : (b))
#define WIRE_MAX(a, b) ((a) > (b) ? (a) : (b))

/* ---- error messages ------------------------------------------------- */

/* Format into a fixed message buffer (truncating).  Returns `code`. */
int core_msg(char *buf, size_t size, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int core_vmsg(char *buf, size_t size, int code, const char *fmt, va_list ap);

/* ---- logging ---------------------------------------------------------- */

typedef struct core_log {
  wire_log_level level;
  wire_log_fn fn; /* NULL: stderr */
  void *user;
} core_log;

void core_log_init(core_log *log);
static inline bool core_log_enabled(const core_log *log, wire_log_level lv) {
  return log && lv <= log->level;
}
void core_logf(const core_log *log, wire_log_level level, const char *component,
               const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void core_vlogf(const core_log *log, wire_log_level level,
                const char *component, const char *fmt, va_list ap);

/* ---- memory ----------------------------------------------------------- */

/* Allocation wrappers; every allocation of the core goes through them so
 * that tests can fail the Nth allocation (core_alloc_fail_after). */
void *core_malloc(size_t n);
void *core_calloc(size_t n, size_t size);
void *core_realloc(void *p, size_t n);
char *core_strdup(const char *s);
char *core_strndup(const char *s, size_t n);
void core_free(void *p);
/* Testing: make the allocation after `n` more succeed-calls fail (n < 0:
 * never).  Process-wide; only for unit tests. */
void core_alloc_fail_after(long n);

/* Arena: bump allocator over chained blocks; freed all at once. */
typedef struct core_arena_block core_arena_block;
typedef struct core_arena {
  core_arena_block *head;
  size_t block_size; /* default size of new blocks */
  size_t used;       /* bytes handed out */
} core_arena;

void core_arena_init(core_arena *a, size_t block_size);
void *core_arena_alloc(core_arena *a, size_t n); /* 8-byte aligned */
void *core_arena_memdup(core_arena *a, const void *p, size_t n);
void core_arena_reset(core_arena *a); /* keep the first block */
void core_arena_destroy(core_arena *a);

/* Growable byte buffer. */
typedef struct core_buf {
  char *data;
  size_t len, cap;
} core_buf;
int core_buf_reserve(core_buf *b, size_t extra);
int core_buf_append(core_buf *b, const void *p, size_t n);
int core_buf_printf(core_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int core_buf_putc(core_buf *b, char c);
void core_buf_free(core_buf *b);
/* Append `s` as a JSON string literal (quotes and escapes added). */
int core_buf_json_string(core_buf *b, const char *s, size_t n);

/* ---- bounded blocking queue (MPMC, mutex + condvars) ------------------- */

typedef struct core_queue {
  pthread_mutex_t mu;
  pthread_cond_t not_empty, not_full;
  void **slots;
  size_t cap, head, len;
  bool closed;
  uint64_t push_waits; /* times a producer blocked (backpressure) */
} core_queue;

int core_queue_init(core_queue *q, size_t cap);
void core_queue_destroy(core_queue *q);
/* Blocks while full.  WIRE_OK, or WIRE_ESHUTDOWN when closed. */
int core_queue_push(core_queue *q, void *item);
/* Blocks while empty up to timeout_ms (<0 forever).  WIRE_OK with *item,
 * WIRE_ETIMEDOUT, or WIRE_EOF when closed and drained. */
int core_queue_pop(core_queue *q, void **item, int timeout_ms);
/* No more pushes; poppers drain what is left then get WIRE_EOF. */
void core_queue_close(core_queue *q);
size_t core_queue_len(core_queue *q);

/* ---- randomness and ids ------------------------------------------------ */

/* xoshiro256** state: fast, per-thread, never shared. */
typedef struct core_rng {
  uint64_t s[4];
} core_rng;
void core_rng_seed(core_rng *r, uint64_t seed); /* 0: seed from the OS */
uint64_t core_rng_next(core_rng *r);
double core_rng_double(core_rng *r); /* [0,1) */

/* UUIDv7 (RFC 9562 §5.7): 48-bit ms timestamp, version, 74 random bits. */
void core_uuid7(core_rng *r, uint64_t unix_ms, uint8_t out[16]);

/* ---- hashing ------------------------------------------------------------ */

uint64_t core_hash64(const void *p, size_t n, uint64_t seed);

/* ---- numbers -------------------------------------------------------------- */

/* A strict decimal int64 in p[0..n), the way Redis and the kv store write
 * one: optional '-', digits, no '+', spaces or leading zeros ("0" is fine,
 * "-0" is not).  false when malformed or out of range. */
bool core_parse_i64(const char *p, size_t n, int64_t *out);

/* ---- secrets -------------------------------------------------------------- */

/* Whether got[0..n) equals the NUL-terminated secret `want` (never equal
 * when want is empty), in time that depends on the lengths only, not on
 * where the bytes differ. */
bool core_secret_eq(const char *got, size_t n, const char *want);

/* Overwrite the NUL-terminated s with zeros (it held a secret) and free it. */
void core_secret_free(char *s);

/* ---- clocks -------------------------------------------------------------- */

int64_t core_now_ns(void);       /* CLOCK_REALTIME */
int64_t core_monotonic_ns(void); /* CLOCK_MONOTONIC */
void core_sleep_ms(int ms);

#endif /* WIRE_CORE_H */
