/*
 * libwire logging.
 *
 * The library never writes to stdout.  Diagnostics go through a callback the
 * host installs on a context (wire_ctx_set_log()); without one, messages at
 * WIRE_LOG_WARN and above go to stderr.
 */
#ifndef WIRE_LOG_H
#define WIRE_LOG_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum wire_log_level {
  WIRE_LOG_ERROR = 0,
  WIRE_LOG_WARN = 1,
  WIRE_LOG_INFO = 2,
  WIRE_LOG_DEBUG = 3,
  WIRE_LOG_TRACE = 4
} wire_log_level;

/**
 * Log callback.  `component` names the emitter ("pipeline errors-only",
 * "source in"); `message` is one line without a trailing newline.  Both are
 * borrowed for the duration of the call.  Called from any library thread,
 * possibly concurrently: the callback must be thread-safe and must not block
 * for long nor call back into the object that logged.
 */
typedef void (*wire_log_fn)(void *user, wire_log_level level,
                            const char *component, const char *message);

/** Name of a level ("error", "warn", "info", "debug", "trace"). */
WIRE_API const char *wire_log_level_name(wire_log_level level);

/** Parse a level name; returns WIRE_OK or WIRE_EINVAL. */
WIRE_API int wire_log_level_parse(const char *name, wire_log_level *out);

#ifdef __cplusplus
}
#endif
#endif /* WIRE_LOG_H */
