/*
 * libjq glue shared by the jq and route operations (lib/ops): compiling
 * with jq's own error text captured, and jq-CLI-compatible wording of
 * runtime errors.
 */
#ifndef WIRE_OPS_JQX_H
#define WIRE_OPS_JQX_H

#include <stddef.h>

#include <jq.h>
#include <jv.h>

/* Compile `expr` into a new jq_state.  NULL on failure, with jq's compile
 * messages (one line each, "jq: error: " and the source excerpt removed,
 * joined with "; ") in err.  The state reports nothing to stderr. */
jq_state *jqx_compile(const char *expr, char *err, size_t errlen);

/* Text of a jq error value as the jq CLI prints it after
 * "jq: error (at <file>:N): ": the string itself, or "(not a string): "
 * and its JSON.  Consumes `msg`. */
void jqx_error_text(jv msg, char *buf, size_t len);

/* The message of a parse failure of jv_parse_sized (consumes `invalid`). */
void jqx_parse_error(jv invalid, char *buf, size_t len);

/* jq truthiness: false and null are false.  Does not consume `v`. */
static inline int jqx_truthy(jv v) {
  jv_kind k = jv_get_kind(v);
  return k != JV_KIND_NULL && k != JV_KIND_FALSE;
}

#endif /* WIRE_OPS_JQX_H */
