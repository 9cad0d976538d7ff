/*
 * libwire component configuration: option tables and typed accessors.
 *
 * Every source, sink and operation type declares its options in a table of
 * wire_option (key, type, default, bounds, description).  The pipeline loader
 * validates each DAG node's options against that table before anything runs
 * (unknown keys, missing required keys, wrong types, out-of-range values),
 * reporting FILE:LINE:COL diagnostics, and the same table generates the
 * option reference in doc/.  At run time a component reads its validated
 * options through the wire_config accessors, which apply the defaults.
 */
#ifndef WIRE_CONFIG_H
#define WIRE_CONFIG_H

#include <stdbool.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum wire_opt_type {
  WIRE_OPT_STRING = 1, /* scalar, kept as text */
  WIRE_OPT_INT,        /* integer; `min`/`max` bound it when min < max */
  WIRE_OPT_DOUBLE,     /* number */
  WIRE_OPT_BOOL,       /* true/false */
  WIRE_OPT_ENUM,       /* one of `choices`, written "a|b|c" */
  WIRE_OPT_LIST,       /* sequence of scalars (a lone scalar is a list of 1) */
  WIRE_OPT_MAP,        /* mapping of scalar keys to scalar values */
  WIRE_OPT_ANY         /* any YAML value; read it as JSON */
} wire_opt_type;

/** One option of a component type.  Tables end with an entry whose key is
 *  NULL. */
typedef struct wire_option {
  const char *key;
  wire_opt_type type;
  bool required;
  const char *def;     /* default, as YAML scalar text, or NULL */
  const char *choices; /* WIRE_OPT_ENUM: "a|b|c" */
  int64_t min, max;    /* WIRE_OPT_INT: bounds when min < max */
  const char *doc;     /* one-line description */
} wire_option;

/** Read-only view of one DAG node's validated options.  Borrowed from the
 *  pipeline; valid while the pipeline lives.  Any thread. */
typedef struct wire_config wire_config;

/** Node id ("in") and type name ("file"). */
WIRE_API const char *wire_config_id(const wire_config *cfg);
WIRE_API const char *wire_config_type(const wire_config *cfg);

/** The `user` pointer given when this node's type was registered
 *  (wire_ctx_register_*), or NULL.  How a host's custom component reaches
 *  the host's own state. */
WIRE_API void *wire_config_user(const wire_config *cfg);

/** Whether the option was written in the definition (defaults excluded). */
WIRE_API bool wire_config_has(const wire_config *cfg, const char *key);

/** Typed getters.  They return WIRE_OK, or WIRE_ENOTFOUND when the option is
 *  absent and has no default (out is untouched), or WIRE_EINVAL when it does
 *  not convert.  Strings are borrowed from the pipeline. */
WIRE_API int wire_config_string(const wire_config *cfg, const char *key,
                                const char **out);
WIRE_API int wire_config_int(const wire_config *cfg, const char *key,
                             int64_t *out);
WIRE_API int wire_config_double(const wire_config *cfg, const char *key,
                                double *out);
WIRE_API int wire_config_bool(const wire_config *cfg, const char *key,
                              bool *out);

/** Lists: number of items (0 when absent) and item i (NULL when out of
 *  range). */
WIRE_API size_t wire_config_list_count(const wire_config *cfg, const char *key);
WIRE_API const char *wire_config_list_item(const wire_config *cfg,
                                           const char *key, size_t i);

/** Maps: number of entries (0 when absent) and entry i.  `*value_json` is
 *  the value as JSON text (a plain `1` is the number 1, `"1"` the string). */
WIRE_API size_t wire_config_map_count(const wire_config *cfg, const char *key);
WIRE_API int wire_config_map_item(const wire_config *cfg, const char *key,
                                  size_t i, const char **name,
                                  const char **value_text,
                                  const char **value_json);

/** Any option rendered as JSON text (borrowed), or NULL when absent. */
WIRE_API const char *wire_config_json(const wire_config *cfg, const char *key);

/** Report a validation error about option `key` (or the node itself when
 *  `key` is NULL) from a component's init/validate method.  It becomes a
 *  FILE:LINE:COL diagnostic pointing at that option.  Returns
 *  WIRE_ECONFIG so that a caller can `return wire_config_error(...)`. */
WIRE_API int wire_config_error(const wire_config *cfg, const char *key,
                               const char *fmt, ...) WIRE_PRINTF(3, 4);

#ifdef __cplusplus
}
#endif
#endif /* WIRE_CONFIG_H */
