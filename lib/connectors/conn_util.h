/*
 * Small helpers shared by the built-in connectors: reading a source's resume
 * position (JSON text written by the same source) and monotonic deadlines.
 */
#ifndef WIRE_CONN_UTIL_H
#define WIRE_CONN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/config.h"

/* Read the non-negative integer member `key` of the JSON object `json`.
 * Returns 1 when found, 0 when absent, -1 when `json` is not an object or
 * the member is not a non-negative integer. */
int conn_pos_uint(const char *json, const char *key, uint64_t *out);

/* Read the string member `key` into out (NUL-terminated, truncated to
 * `len`).  Returns 1 when found, 0 when absent, -1 on malformed input. */
int conn_pos_string(const char *json, const char *key, char *out, size_t len);

/* Option getters that fall back to `def` when the option is absent (the
 * table's default normally applies first). */
int64_t conn_opt_int(const wire_config *cfg, const char *key, int64_t def);
bool conn_opt_bool(const wire_config *cfg, const char *key, bool def);
const char *conn_opt_string(const wire_config *cfg, const char *key,
                            const char *def);

/* Sleep until the monotonic time `until_ns` (or not at all when past). */
void conn_sleep_until(int64_t until_ns);

#endif /* WIRE_CONN_UTIL_H */
