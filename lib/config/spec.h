/*
 * Pipeline definitions (the "spec"): the YAML tree with positions, the
 * definition model built from YAML or the C API, diagnostics, and the
 * validation that runs before a pipeline may start.  This is the config
 * layer; the engine (lib/pipeline) runs a validated spec.
 */
#ifndef WIRE_SPEC_H
#define WIRE_SPEC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "wire/config.h"
#include "wire/ctx.h"
#include "wire/op.h"
#include "wire/pipeline.h"
#include "wire/sink.h"
#include "wire/source.h"

/* ---- diagnostics ---------------------------------------------------- */

typedef struct diag_list {
  wire_diag *v; /* file and message strings owned by the list */
  size_t n, cap;
  bool oom; /* a diagnostic was lost for lack of memory (cleared by
             * diag_clear): the list is incomplete, report WIRE_ENOMEM */
} diag_list;

void diag_add(diag_list *d, const char *file, int line, int col,
              const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void diag_vadd(diag_list *d, const char *file, int line, int col,
               const char *fmt, va_list ap);
void diag_clear(diag_list *d);
/* Sort by (line, col), stable. */
void diag_sort(diag_list *d);
/* Quote `len` bytes of user text for a message: control characters and
 * quotes escaped, cut to about 60 characters with "...".  Returns buf. */
const char *cfg_show(char *buf, size_t size, const char *s, size_t len);

/* ---- YAML tree with positions -------------------------------------- */

typedef enum yval_kind { Y_SCALAR = 1, Y_SEQ, Y_MAP } yval_kind;

typedef struct yval yval;
struct yval {
  yval_kind kind;
  int line, col; /* 1-based start of the node */
  /* Y_SCALAR */
  char *str; /* NUL-terminated */
  size_t len;
  bool plain; /* plain (unquoted) style: may be a number, bool or null */
  /* Y_SEQ: items[n]; Y_MAP: keys[n] (scalars) -> items[n] */
  size_t n;
  yval **items;
  yval **keys;
};

/* Parse YAML text into a tree (first document only; aliases are refused;
 * duplicate map keys are diagnostics).  Syntax errors go to `d` with their
 * position.  Returns the root or NULL. */
yval *yval_parse(const char *text, size_t len, const char *file, diag_list *d);
/* Same, telling why there is no tree: with NULL returned, *rc is WIRE_OK for
 * an empty document (no diagnostic added), WIRE_ECONFIG (diagnostics added)
 * or WIRE_ENOMEM.  With a tree returned *rc is WIRE_OK, though non-fatal
 * problems (duplicate keys, anchors, tags) may have added diagnostics. */
yval *yval_parse_ex(const char *text, size_t len, const char *file,
                    diag_list *d, int *rc);
void yval_free(yval *v);
/* Value of `key` in a map, or NULL. */
const yval *yval_get(const yval *map, const char *key);
/* Render as JSON (plain scalars that look like numbers/true/false/null stay
 * so, other scalars become strings).  Malloc'd, NULL on OOM. */
char *yval_to_json(const yval *v);
const char *yval_kind_name(const yval *v); /* "a scalar", "a list", ... */

/* YAML 1.2 core schema readings of scalar text (any quoting style: the
 * option getters are lenient).  Integers: [-+]?[0-9]+, 0x[0-9a-fA-F]+,
 * 0o[0-7]+ -> WIRE_OK, WIRE_EINVAL (not an integer) or WIRE_ETOOBIG
 * (outside int64).  Doubles: integers and [-+]?(.N|N(.N*)?)([eE][-+]?N)?,
 * finite only.  Booleans: true|True|TRUE|false|False|FALSE. */
int yval_text_int(const char *s, int64_t *out);
bool yval_text_double(const char *s, double *out);
bool yval_text_bool(const char *s, bool *out);
/* A plain scalar meaning null: empty, ~, null, Null, NULL. */
bool yval_is_null(const yval *v);

/* ---- definition model ---------------------------------------------- */

typedef struct spec spec;
typedef struct spec_node spec_node;

/* struct wire_config is the options view handed to components. */
struct wire_config {
  spec_node *node;
  const wire_option *table; /* NULL when the node's type is unknown */
  spec *s;
};

typedef struct spec_input {
  char *ref;  /* as written: "id" or "id.port" */
  int line, col;
  /* resolved by spec_validate(): */
  size_t node; /* index into spec.nodes */
  unsigned port;
} spec_input;

struct spec_node {
  wire_node_kind kind;
  char *id;
  char *type;
  int line, col;   /* position of the node's mapping */
  yval *map;       /* the node mapping as written (owned) */
  spec_input *inputs;
  size_t ninputs;
  wire_config cfg;
  /* resolved by spec_validate(): */
  const wire_source_vtable *source_vt;
  const wire_sink_vtable *sink_vt;
  const wire_op_vtable *op_vt;
  void *op_shared;                /* from op init, released by spec_free */
  bool op_inited;
  /* JSON renderings handed out by wire_config_json/map_item (owned) */
  char **json;
  const yval **json_src;
  size_t njson;
  const char *const *ports;       /* op output names or NULL */
  size_t nports;                  /* >= 1 */
  /* Defaults of options not written, built from the type's table by
   * cfg_prepare() (owned; NULL before). */
  yval *defaults;
  bool api; /* added with spec_add_node(): positions are in its snippet */
};

struct spec {
  wire_ctx *ctx;
  char *file; /* for diagnostics */
  char *name;
  unsigned partitions;   /* default 1 */
  char *partition_key;   /* jq path or NULL */
  unsigned queue_depth;  /* batches per queue, default 8 */
  unsigned batch_size;   /* events per source batch, default 1024 */
  char *dead_letter;     /* file path or NULL */
  spec_node **nodes;     /* definition order: sources, operations, sinks */
  size_t n, cap;
  size_t *topo;          /* topological order of nodes (after validate) */
  diag_list diags;       /* build problems + those of the last validation */
  diag_list build;       /* problems found while building (kept across
                          * validations, copied into diags by each) */
  bool valid;            /* spec_validate() succeeded */
};

void spec_init(spec *s, wire_ctx *ctx, const char *file, const char *name);
/* Fill from YAML text: WIRE_OK or WIRE_ECONFIG (diagnostics in s->diags).
 * Also runs spec_validate() when the text parsed. */
int spec_load_yaml(spec *s, const char *text, size_t len);
int spec_add_node(spec *s, wire_node_kind kind, const char *id,
                  const char *type, const char *inputs_csv,
                  const char *options_yaml);
int spec_set(spec *s, const char *key, const char *value);
/* Resolve types and inputs, check ids, cycles and options, run op init.
 * WIRE_OK or WIRE_ECONFIG.  Idempotent (re-validation first releases the
 * op state of a previous run). */
int spec_validate(spec *s);
void spec_free(spec *s);

/* Check a node's options against its type's table (diagnostics added).
 * WIRE_OK or WIRE_ECONFIG. */
int cfg_check_options(spec *s, spec_node *n, const wire_option *table);
size_t cfg_edit_distance(const char *a, const char *b);
/* After cfg_check_options() passed: build the node's defaults and render
 * every option value as JSON up front, so that the wire_config getters only
 * read afterwards (components may call them from any thread).  WIRE_OK,
 * WIRE_ENOMEM, or WIRE_ECONFIG when a default in the table is invalid. */
int cfg_prepare(spec *s, spec_node *n);
/* Free what cfg_prepare() and the getters built for the node. */
void cfg_release(spec_node *n);
/* "source", "operation", "sink". */
const char *spec_kind_name(wire_node_kind kind);

/* Index of a node by id, or -1. */
long spec_find(const spec *s, const char *id);

/* Registry lookups (implemented with wire_ctx). */
const wire_source_vtable *registry_source(const wire_ctx *ctx, const char *n);
const wire_sink_vtable *registry_sink(const wire_ctx *ctx, const char *n);
const wire_op_vtable *registry_op(const wire_ctx *ctx, const char *n);
/* Names of the registered types of a kind, for messages: count and i-th. */
size_t registry_count(const wire_ctx *ctx, wire_node_kind kind);
const char *registry_name(const wire_ctx *ctx, wire_node_kind kind, size_t i);

#endif /* WIRE_SPEC_H */
