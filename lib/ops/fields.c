/*
 * Field operations on JSON object records: `set` (fields to given JSON
 * values), `rename` (old name -> new name) and `drop` (remove fields).  They
 * touch top-level fields only; a record that is not a JSON object is
 * rejected with the reason.
 *
 * They work on the raw bytes: the record is validated (RFC 8259, so big
 * integers and any \u escape are fine, as in jq), its top-level members
 * are walked with the raw scanner (core/json.h), and the output is the
 * record with members dropped, renamed or replaced; every other byte
 * (numbers, string escapes, key order) is kept as written.  Semantics
 * follow jq on duplicate keys (the last one wins when read back):
 *   set     replaces every occurrence of a field by one, at the place of the
 *           first (like `.f = v`), or appends it;
 *   rename  maps each key once through the table (like `with_entries`);
 *   drop    removes every occurrence (like `del(.f)`).
 * Like jq, a lone UTF-16 surrogate escape comes out as \ufffd.
 */
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "core/json.h"
#include "ops/ops.h"

typedef enum { F_SET, F_RENAME, F_DROP } fkind;

typedef struct fields_shared {
  fkind kind;
  size_t n;
  char **names;   /* set: field; rename: old; drop: field */
  char **targets; /* rename: new */
  char **keys;     /* names as JSON strings (set), targets (rename) */
  char **vtext;    /* set: the value as compact JSON text */
} fields_shared;

static void fields_fini(void *shared) {
  fields_shared *f = shared;
  if (!f) return;
  for (size_t i = 0; i < f->n; i++) {
    if (f->names) core_free(f->names[i]);
    if (f->targets) core_free(f->targets[i]);
    if (f->keys) core_free(f->keys[i]);
    if (f->vtext) core_free(f->vtext[i]);
  }
  core_free(f->keys);
  core_free(f->vtext);
  core_free(f->names);
  core_free(f->targets);
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
  f->keys = core_calloc(n, sizeof *f->keys);
  f->vtext = core_calloc(n, sizeof *f->vtext);
  if (!f->names || !f->targets || !f->keys || !f->vtext) {
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
      size_t bad;
      if (!js || !json_validate(js, strlen(js), &bad)) {
        int rc = wire_config_error(cfg, "fields", "field '%s': not a JSON value",
                                   name);
        fields_fini(f);
        return rc;
      }
      f->vtext[i] = core_strdup(js);
    }
    /* The key written out: the field (set) or the new name (rename). */
    const char *k = kind == F_RENAME ? f->targets[i] : f->names[i];
    core_buf kb = {0};
    if (core_buf_json_string(&kb, k, strlen(k)) || core_buf_putc(&kb, '\0') ||
        (kind == F_SET && !f->vtext[i])) {
      core_buf_free(&kb);
      fields_fini(f);
      return WIRE_ENOMEM;
    }
    f->keys[i] = kb.data;
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

static int hexval4(const char *p) {
  int v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/* Copy valid JSON text p[0..n) to o with every lone surrogate escape
 * replaced by \ufffd (what jq prints for them). */
static int fix_surrogates(core_buf *o, const char *p, size_t n) {
  const char *end = p + n;
  bool in_str = false;
  while (p < end) {
    char c = *p;
    if (!in_str) {
      if (c == '"') in_str = true;
      if (core_buf_putc(o, c)) return WIRE_ENOMEM;
      p++;
      continue;
    }
    if (c == '"') {
      in_str = false;
      if (core_buf_putc(o, c)) return WIRE_ENOMEM;
      p++;
      continue;
    }
    if (c != '\\') {
      if (core_buf_putc(o, c)) return WIRE_ENOMEM;
      p++;
      continue;
    }
    if (p[1] != 'u') { /* valid JSON: an escape is complete */
      if (core_buf_append(o, p, 2)) return WIRE_ENOMEM;
      p += 2;
      continue;
    }
    int cp = hexval4(p + 2);
    if (cp >= 0xD800 && cp <= 0xDBFF && end - p >= 12 && p[6] == '\\' &&
        p[7] == 'u') {
      int lo = hexval4(p + 8);
      if (lo >= 0xDC00 && lo <= 0xDFFF) {
        if (core_buf_append(o, p, 12)) return WIRE_ENOMEM;
        p += 12;
        continue;
      }
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) {
      if (core_buf_append(o, "\\ufffd", 6)) return WIRE_ENOMEM;
    } else if (core_buf_append(o, p, 6)) {
      return WIRE_ENOMEM;
    }
    p += 6;
  }
  return WIRE_OK;
}

static const char *skip_ws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
  return p;
}

/* Index of the table entry whose name equals the raw key k[0..kn) (with
 * quotes), or -1.  `scratch` holds at least kn bytes. */
static long find_name(const fields_shared *f, const char *k, size_t kn,
                      char *scratch) {
  const char *name = k + 1;
  size_t len = kn - 2;
  if (memchr(name, '\\', len)) {
    long u = json_unescape(k, kn, scratch);
    if (u < 0) return -1;
    name = scratch;
    len = (size_t)u;
  }
  for (size_t i = 0; i < f->n; i++)
    if (strlen(f->names[i]) == len && !memcmp(f->names[i], name, len))
      return (long)i;
  return -1;
}

/* One record: WIRE_OK with the new text in `o`, WIRE_EPARSE with a reason
 * for a record to reject, or WIRE_ENOMEM. */
static int rewrite(const fields_shared *f, const char *v, size_t n, core_buf *o,
                   core_buf *scratch, bool *done, char *reason, size_t rsz) {
  size_t bad;
  if (!json_validate(v, n, &bad)) {
    snprintf(reason, rsz, "invalid JSON at byte %zu", bad);
    return WIRE_EPARSE;
  }
  const char *end = v + n, *p = skip_ws(v, end);
  if (json_kind_of(p, (size_t)(end - p)) != JSON_OBJECT) {
    snprintf(reason, rsz, "record is not a JSON object");
    return WIRE_EPARSE;
  }
  memset(done, 0, f->n * sizeof *done);
  scratch->len = 0;
  if (core_buf_reserve(scratch, n)) return WIRE_ENOMEM;
  o->len = 0;
  if (core_buf_putc(o, '{')) return WIRE_ENOMEM;
  bool first = true;
  p = skip_ws(p + 1, end);
  while (p < end && *p != '}') {
    const char *ks = p, *ke = json_skip_value(p, end);
    p = skip_ws(ke, end) + 1; /* ':' */
    p = skip_ws(p, end);
    const char *vs = p, *ve = json_skip_value(p, end);
    p = skip_ws(ve, end);
    if (p < end && *p == ',') p = skip_ws(p + 1, end);
    long i = find_name(f, ks, (size_t)(ke - ks), scratch->data);
    const char *key = ks, *val = vs;
    size_t kl = (size_t)(ke - ks), vl = (size_t)(ve - vs);
    if (i >= 0) {
      if (f->kind == F_DROP) continue;
      if (f->kind == F_SET) {
        if (done[i]) continue;
        done[i] = true;
        val = f->vtext[i];
        vl = strlen(val);
      }
      key = f->keys[i];
      kl = strlen(key);
    }
    if ((!first && core_buf_putc(o, ',')) || core_buf_append(o, key, kl) ||
        core_buf_putc(o, ':') || core_buf_append(o, val, vl))
      return WIRE_ENOMEM;
    first = false;
  }
  for (size_t i = 0; f->kind == F_SET && i < f->n; i++) {
    if (done[i]) continue;
    if ((!first && core_buf_putc(o, ',')) ||
        core_buf_append(o, f->keys[i], strlen(f->keys[i])) ||
        core_buf_putc(o, ':') ||
        core_buf_append(o, f->vtext[i], strlen(f->vtext[i])))
      return WIRE_ENOMEM;
    first = false;
  }
  if (core_buf_putc(o, '}')) return WIRE_ENOMEM;
  /* Rare: lone surrogates, printed by jq as U+FFFD. */
  if (memmem(o->data, o->len, "\\ud", 3) || memmem(o->data, o->len, "\\uD", 3)) {
    scratch->len = 0;
    if (fix_surrogates(scratch, o->data, o->len)) return WIRE_ENOMEM;
    core_buf t = *o;
    *o = *scratch;
    *scratch = t;
  }
  return WIRE_OK;
}

static int fields_process(void *state, wire_stage *st, const wire_batch *in,
                          wire_emitter *out) {
  fields_shared *f = state;
  core_buf o = {0}, scratch = {0};
  bool *done = core_calloc(f->n, sizeof *done);
  int rc = done ? WIRE_OK : WIRE_ENOMEM;
  for (size_t k = 0; rc == WIRE_OK && k < wire_batch_count(in); k++) {
    const wire_event *e = wire_batch_event(in, k);
    char reason[128];
    rc = rewrite(f, (const char *)e->value, e->value_len, &o, &scratch, done,
                 reason, sizeof reason);
    if (rc == WIRE_EPARSE) {
      wire_stage_reject(st, e, NULL, 0, reason);
      rc = WIRE_OK;
      continue;
    }
    if (rc == WIRE_OK) rc = wire_emit_value(out, 0, e, o.data, o.len);
  }
  core_buf_free(&o);
  core_buf_free(&scratch);
  core_free(done);
  return rc;
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
