/*
 * The `dedupe` operation: drop a record whose key was seen among the last
 * `window` distinct keys.  The key is a jq path evaluated on the raw JSON
 * (no parse); keys are remembered as 64-bit hashes in an open-addressing set
 * with a FIFO ring for eviction.  State is per partition worker: partition
 * by the same key to make it global.  Records without the key pass through.
 */
#include <string.h>

#include "core/core.h"
#include "core/json.h"
#include "ops/ops.h"

typedef struct dedupe_shared {
  json_path path;
  size_t window;
} dedupe_shared;

typedef struct dedupe_state {
  dedupe_shared *sh;
  uint64_t *table; /* 0 = empty, 1 = tombstone */
  size_t mask;
  uint64_t *ring;
  size_t head, len;
} dedupe_state;

static const wire_option dedupe_options[] = {
    {.key = "key", .type = WIRE_OPT_STRING, .required = true,
     .doc = "jq path of the key (.id, .a.b); records without it pass through"},
    {.key = "window", .type = WIRE_OPT_INT, .def = "100000", .min = 1,
     .max = 100000000, .doc = "how many recent distinct keys are remembered"},
    {0}};

static int dedupe_init(const wire_config *cfg, void **shared) {
  const char *key;
  if (wire_config_string(cfg, "key", &key) != WIRE_OK) return WIRE_ECONFIG;
  dedupe_shared *s = core_calloc(1, sizeof *s);
  if (!s) return WIRE_ENOMEM;
  if (json_path_parse(key, &s->path) != 0) {
    core_free(s);
    return wire_config_error(cfg, "key",
                             "must be a simple path such as .id, got '%s'", key);
  }
  int64_t w = 100000;
  wire_config_int(cfg, "window", &w);
  s->window = (size_t)w;
  *shared = s;
  return WIRE_OK;
}

static void dedupe_fini(void *shared) {
  dedupe_shared *s = shared;
  if (!s) return;
  json_path_free(&s->path);
  core_free(s);
}

static int dedupe_open(void *shared, wire_stage *st, void **state) {
  (void)st;
  dedupe_shared *sh = shared;
  dedupe_state *d = core_calloc(1, sizeof *d);
  if (!d) return WIRE_ENOMEM;
  size_t cap = 16;
  while (cap < sh->window * 2) cap <<= 1;
  d->sh = sh;
  d->mask = cap - 1;
  d->table = core_calloc(cap, sizeof *d->table);
  d->ring = core_calloc(sh->window, sizeof *d->ring);
  if (!d->table || !d->ring) {
    core_free(d->table);
    core_free(d->ring);
    core_free(d);
    return WIRE_ENOMEM;
  }
  *state = d;
  return WIRE_OK;
}

static void dedupe_close(void *state) {
  dedupe_state *d = state;
  if (!d) return;
  core_free(d->table);
  core_free(d->ring);
  core_free(d);
}

static size_t find_slot(dedupe_state *d, uint64_t h, bool *found) {
  size_t i = (size_t)h & d->mask, tomb = (size_t)-1;
  for (;;) {
    uint64_t v = d->table[i];
    if (v == 0) {
      *found = false;
      return tomb != (size_t)-1 ? tomb : i;
    }
    if (v == 1) {
      if (tomb == (size_t)-1) tomb = i;
    } else if (v == h) {
      *found = true;
      return i;
    }
    i = (i + 1) & d->mask;
  }
}

static void forget(dedupe_state *d, uint64_t h) {
  bool found;
  size_t i = find_slot(d, h, &found);
  if (found) d->table[i] = 1;
}

/* Returns true when h was already present; inserts it otherwise. */
static bool seen(dedupe_state *d, uint64_t h) {
  bool found;
  size_t i = find_slot(d, h, &found);
  if (found) return true;
  if (d->len == d->sh->window) { /* evict the oldest */
    forget(d, d->ring[d->head]);
    d->head = (d->head + 1) % d->sh->window;
    d->len--;
    i = find_slot(d, h, &found);
  }
  d->table[i] = h;
  d->ring[(d->head + d->len) % d->sh->window] = h;
  d->len++;
  return false;
}

static int dedupe_process(void *state, wire_stage *st, const wire_batch *in,
                          wire_emitter *out) {
  dedupe_state *d = state;
  char buf[512];
  for (size_t k = 0; k < wire_batch_count(in); k++) {
    const wire_event *e = wire_batch_event(in, k);
    const char *v;
    size_t vl;
    int r = json_find((const char *)e->value, e->value_len, &d->sh->path, &v, &vl);
    if (r < 0) {
      wire_stage_reject(st, e, NULL, 0, "invalid JSON");
      continue;
    }
    if (r == 1) {
      /* Strings compare by content: "a" and "\u0061" are the same key. */
      json_kind kind = json_kind_of(v, vl);
      if (kind == JSON_STRING) {
        if (vl < sizeof buf && memchr(v, '\\', vl)) {
          long n = json_unescape(v, vl, buf);
          if (n >= 0) v = buf, vl = (size_t)n;
        } else if (vl >= 2) {
          v++, vl -= 2; /* content without the quotes */
        }
      }
      uint64_t h = core_hash64(v, vl, 0xdedu + (uint64_t)kind); /* "1" != 1 */
      if (h < 2) h += 2; /* 0 and 1 are markers */
      if (seen(d, h)) continue;
    }
    int rc = wire_emit_forward(out, 0, e);
    if (rc) return rc;
  }
  return WIRE_OK;
}

const wire_op_vtable ops_dedupe = {
    .version = WIRE_OP_VERSION, .name = "dedupe",
    .doc = "Drop records whose key was seen among the last `window` distinct "
           "keys (per partition).",
    .options = dedupe_options, .init = dedupe_init, .open = dedupe_open,
    .process = dedupe_process, .close = dedupe_close, .fini = dedupe_fini};
