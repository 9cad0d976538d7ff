/*
 * Field operations on JSON object records: `set` (fields to given JSON
 * values), `rename` (old name -> new name) and `drop` (remove fields).  They
 * touch top-level fields only; a record that is not a JSON object is
 * rejected with the reason.  jansson parses and re-serialises compactly
 * (key order kept).
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "ops/ops.h"

typedef enum { F_SET, F_RENAME, F_DROP } fkind;

typedef struct fields_shared {
  fkind kind;
  size_t n;
  char **names;   /* set: field; rename: old; drop: field */
  char **targets; /* rename: new */
  json_t **values; /* set: value */
} fields_shared;

static void fields_fini(void *shared) {
  fields_shared *f = shared;
  if (!f) return;
  for (size_t i = 0; i < f->n; i++) {
    if (f->names) core_free(f->names[i]);
    if (f->targets) core_free(f->targets[i]);
    if (f->values) json_decref(f->values[i]);
  }
  core_free(f->names);
  core_free(f->targets);
  core_free(f->values);
  core_free(f);
}

static int fields_init(const wire_config *cfg, void **shared, fkind kind) {
  fields_shared *f = core_calloc(1, sizeof *f);
  if (!f) return WIRE_ENOMEM;
  f->kind = kind;
  size_t n = kind == F_DROP ? wire_config_list_count(cfg, "fields")
                            : wire_config_map_count(cfg, "fields");
  if (n == 0) {
    core_free(f);
    return wire_config_error(cfg, "fields", "needs at least one field");
  }
  f->names = core_calloc(n, sizeof *f->names);
  f->targets = core_calloc(n, sizeof *f->targets);
  f->values = core_calloc(n, sizeof *f->values);
  if (!f->names || !f->targets || !f->values) {
    fields_fini(f);
    return WIRE_ENOMEM;
  }
  f->n = n;
  for (size_t i = 0; i < n; i++) {
    const char *name = NULL, *text = NULL, *js = NULL;
    if (kind == F_DROP)
      name = wire_config_list_item(cfg, "fields", i);
    else if (wire_config_map_item(cfg, "fields", i, &name, &text, &js)) {
      fields_fini(f);
      return WIRE_ENOMEM;
    }
    f->names[i] = core_strdup(name ? name : "");
    if (!f->names[i]) {
      fields_fini(f);
      return WIRE_ENOMEM;
    }
    if (kind == F_RENAME) {
      f->targets[i] = core_strdup(text ? text : "");
      if (!f->targets[i]) {
        fields_fini(f);
        return WIRE_ENOMEM;
      }
    }
    if (kind == F_SET) {
      json_error_t jerr;
      f->values[i] = json_loads(js, JSON_DECODE_ANY, &jerr);
      if (!f->values[i]) {
        int rc = wire_config_error(cfg, "fields", "field '%s': %s", name,
                                   jerr.text);
        fields_fini(f);
        return rc;
      }
    }
  }
  *shared = f;
  return WIRE_OK;
}

static int set_init(const wire_config *cfg, void **shared) {
  return fields_init(cfg, shared, F_SET);
}
static int rename_init(const wire_config *cfg, void **shared) {
  return fields_init(cfg, shared, F_RENAME);
}
static int drop_init(const wire_config *cfg, void **shared) {
  return fields_init(cfg, shared, F_DROP);
}

static int fields_process(void *state, wire_stage *st, const wire_batch *in,
                          wire_emitter *out) {
  fields_shared *f = state;
  for (size_t k = 0; k < wire_batch_count(in); k++) {
    const wire_event *e = wire_batch_event(in, k);
    json_error_t jerr;
    json_t *obj = json_loadb((const char *)e->value, e->value_len,
                             JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!obj || !json_is_object(obj)) {
      char reason[256];
      if (!obj)
        snprintf(reason, sizeof reason, "invalid JSON: %s", jerr.text);
      else
        snprintf(reason, sizeof reason, "record is not a JSON object");
      json_decref(obj);
      wire_stage_reject(st, e, NULL, 0, reason);
      continue;
    }
    for (size_t i = 0; i < f->n; i++) {
      switch (f->kind) {
        case F_SET:
          json_object_set(obj, f->names[i], f->values[i]);
          break;
        case F_DROP:
          json_object_del(obj, f->names[i]);
          break;
        case F_RENAME: {
          json_t *v = json_object_get(obj, f->names[i]);
          if (v) {
            json_incref(v);
            json_object_del(obj, f->names[i]);
            json_object_set_new(obj, f->targets[i], v);
          }
          break;
        }
      }
    }
    char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                     JSON_ENCODE_ANY);
    json_decref(obj);
    if (!text) return WIRE_ENOMEM;
    int rc = wire_emit_value(out, 0, e, text, strlen(text));
    free(text);
    if (rc) return rc;
  }
  return WIRE_OK;
}

static const wire_option set_options[] = {
    {.key = "fields", .type = WIRE_OPT_MAP, .required = true,
     .doc = "field -> value (a YAML scalar: 1 is a number, '1' a string)"},
    {0}};
static const wire_option rename_options[] = {
    {.key = "fields", .type = WIRE_OPT_MAP, .required = true,
     .doc = "old name -> new name (absent fields are left alone)"},
    {0}};
static const wire_option drop_options[] = {
    {.key = "fields", .type = WIRE_OPT_LIST, .required = true,
     .doc = "names of the top-level fields to remove"},
    {0}};

const wire_op_vtable ops_set = {
    .version = WIRE_OP_VERSION, .name = "set",
    .doc = "Set top-level fields of JSON object records to fixed values.",
    .options = set_options, .init = set_init, .process = fields_process,
    .fini = fields_fini};
const wire_op_vtable ops_rename = {
    .version = WIRE_OP_VERSION, .name = "rename",
    .doc = "Rename top-level fields of JSON object records.",
    .options = rename_options, .init = rename_init, .process = fields_process,
    .fini = fields_fini};
const wire_op_vtable ops_drop = {
    .version = WIRE_OP_VERSION, .name = "drop",
    .doc = "Remove top-level fields from JSON object records.",
    .options = drop_options, .init = drop_init, .process = fields_process,
    .fini = fields_fini};
