/*
 * libwire error codes.
 *
 * Every function that can fail returns an int: WIRE_OK (0) on success or a
 * negative code from the list below.  Objects also keep their last error
 * message (wire_ctx_errmsg(), wire_pipeline_errmsg(), ...), which adds the
 * context the code alone cannot carry ("sink 'out': open /x: Permission
 * denied").  There is no errno-style or thread-local error state.
 *
 * In connector and operation vtables the same codes tell the engine what to
 * do: WIRE_EAGAIN means a transient failure (the engine retries with
 * exponential backoff and jitter), any other negative code is fatal for the
 * pipeline.
 */
#ifndef WIRE_ERROR_H
#define WIRE_ERROR_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(NAME, value, message): the enum value is WIRE_<NAME>.  WIRE_EOF is not
 * a failure for sources: it says a bounded source is exhausted. */
#define WIRE_ERRNO_MAP(X)                                               \
  X(ENOMEM, -1, "out of memory")                                         \
  X(EINVAL, -2, "invalid argument")                                      \
  X(EIO, -3, "I/O error")                                                \
  X(ENOTFOUND, -4, "not found")                                          \
  X(EEXISTS, -5, "already exists")                                       \
  X(EAGAIN, -6, "temporary failure, try again")                          \
  X(EOF, -7, "end of stream")                                           \
  X(ECONFIG, -8, "invalid configuration")                                \
  X(ESTATE, -9, "operation not allowed in the current state")            \
  X(ETIMEDOUT, -10, "timed out")                                         \
  X(EPARSE, -11, "malformed input")                                      \
  X(ETOOBIG, -12, "value too large")                                     \
  X(ECANCELED, -13, "canceled")                                          \
  X(EUNSUPPORTED, -14, "not supported")                                  \
  X(ESHUTDOWN, -15, "shutting down")                                     \
  X(ENOTLEADER, -16, "not the leader")                                   \
  X(ECORRUPT, -17, "data corrupted")                                     \
  X(EFAILED, -18, "operation failed")                                    \
  X(ENOLEADER, -19, "no leader known")                                   \
  X(EMISMATCH, -20, "compare failed")                                    \
  X(ENOSPC, -21, "no space left on device")

/** Error codes.  WIRE_OK is 0, failures are negative. */
typedef enum wire_error {
  WIRE_OK = 0,
#define WIRE__ERR_ENUM(name, val, msg) WIRE_##name = (val),
  WIRE_ERRNO_MAP(WIRE__ERR_ENUM)
#undef WIRE__ERR_ENUM
} wire_error;

/** Human-readable message for an error code ("out of memory").  Static
 *  string; unknown codes give "unknown error".  Any thread. */
WIRE_API const char *wire_strerror(int code);

/** Symbolic name for an error code ("WIRE_ENOMEM").  Static string.  Any
 *  thread. */
WIRE_API const char *wire_err_name(int code);

#ifdef __cplusplus
}
#endif
#endif /* WIRE_ERROR_H */
