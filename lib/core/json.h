/*
 * Fast JSON scanning on raw bytes (RFC 8259), used on the hot path where
 * building a full document tree would dominate: validating NDJSON input,
 * extracting a field for partitioning or dedupe, and the jq fast path.
 * Full transformations use libjq; configuration uses jansson.
 */
#ifndef WIRE_JSON_H
#define WIRE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Validate one JSON text (any value, surrounding whitespace allowed).
 * Returns true when valid; on failure *err_off (if not NULL) gets the byte
 * offset of the first error.  Depth is limited to 512. */
bool json_validate(const char *p, size_t n, size_t *err_off);

/* A parsed path such as .user.name or .["a b"] or .items[0]. */
typedef struct json_path_step {
  const char *key; /* NUL-terminated, unescaped; NULL for an array index */
  size_t key_len;
  long index;
} json_path_step;
typedef struct json_path {
  json_path_step *steps;
  size_t n;
} json_path;

/* Parse a jq-style path expression (".", ".a", ".a.b", ".[\"k\"]", ".a[2]").
 * Returns 0 or -1 (not a simple path). */
int json_path_parse(const char *expr, json_path *out);
void json_path_free(json_path *p);

/* Find the value at `path` in the JSON text p[0..n).  For duplicate keys the
 * last one wins (as jq).  Returns 1 and sets *val and *val_len to the raw value
 * bytes (no surrounding whitespace) when found, 0 when absent (including a
 * step through a non-object, which jq would make null or an error), -1 when
 * the text is not valid JSON along the way. */
int json_find(const char *p, size_t n, const json_path *path, const char **val,
              size_t *val_len);

/* Kind of a raw JSON value from its first byte. */
typedef enum json_kind {
  JSON_INVALID = 0,
  JSON_NULL,
  JSON_FALSE,
  JSON_TRUE,
  JSON_NUMBER,
  JSON_STRING,
  JSON_ARRAY,
  JSON_OBJECT
} json_kind;
json_kind json_kind_of(const char *v, size_t n);

/* Skip one value starting at p (after whitespace); returns a pointer past it
 * or NULL when invalid. */
const char *json_skip_value(const char *p, const char *end);

/* Unescape a raw JSON string value (with its quotes) into out (at least
 * n bytes).  Returns the length or -1. */
long json_unescape(const char *v, size_t n, char *out);

#endif /* WIRE_JSON_H */
