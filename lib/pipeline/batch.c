/*
 * Batches: events plus the arena that holds their bytes, reference-counted
 * so that a DAG fan-out shares one batch between consumers.  A batch derived
 * from another (a partition slice, an operation's output) holds a reference
 * on its parent; so a source batch is released only when everything derived
 * from it has been acknowledged by the sinks, and that release is what marks
 * its position complete (see track.c).
 */
#include <string.h>

#include "pipe.h"

wire_batch *batch_new(size_t room, core_rng *rng, wire_batch *parent) {
  wire_batch *b = core_malloc(sizeof *b);
  if (!b) return NULL;
  memset(b, 0, sizeof *b);
  atomic_init(&b->refs, 1);
  b->room = room ? room : 1024;
  b->cap = b->room;
  b->ev = core_malloc(b->cap * sizeof *b->ev);
  if (!b->ev) {
    core_free(b);
    return NULL;
  }
  /* Size the first arena block for a typical batch of ~128-byte records. */
  core_arena_init(&b->arena, WIRE_MIN(b->room * 160, (size_t)4 << 20));
  b->rng = rng;
  b->now_ns = core_now_ns();
  if (parent) {
    batch_ref(parent);
    b->parent = parent;
    b->origin = parent->origin;
  }
  return b;
}

void batch_unref(wire_batch *b) {
  while (b) {
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
      return;
    wire_batch *parent = b->parent;
    if (b->track) track_complete(b->track, b->seq);
    core_arena_destroy(&b->arena);
    core_free(b->ev);
    core_free(b);
    b = parent; /* iterative: no recursion on long chains */
  }
}

static int grow(wire_batch *b) {
  size_t cap = b->cap * 2;
  wire_event *ev = core_realloc(b->ev, cap * sizeof *ev);
  if (!ev) return WIRE_ENOMEM;
  b->ev = ev;
  b->cap = cap;
  return WIRE_OK;
}

int batch_push_ref(wire_batch *b, const wire_event *ev) {
  if (b->n == b->cap && grow(b)) return WIRE_ENOMEM;
  b->ev[b->n++] = *ev;
  b->bytes += ev->key_len + ev->value_len;
  return WIRE_OK;
}

static void fill_defaults(wire_batch *b, wire_event *e) {
  static const uint8_t zero[16];
  if (e->time_ns == 0) e->time_ns = b->now_ns;
  if (memcmp(e->id, zero, 16) == 0) {
    if (b->rng) {
      core_uuid7(b->rng, (uint64_t)(e->time_ns / 1000000), e->id);
    } else {
      core_rng r;
      core_rng_seed(&r, 0);
      core_uuid7(&r, (uint64_t)(e->time_ns / 1000000), e->id);
    }
  }
}

WIRE_API size_t wire_batch_count(const wire_batch *b) { return b->n; }

WIRE_API const wire_event *wire_batch_event(const wire_batch *b, size_t i) {
  return i < b->n ? &b->ev[i] : NULL;
}

WIRE_API const wire_event *wire_batch_events(const wire_batch *b) {
  return b->ev;
}

WIRE_API size_t wire_batch_bytes(const wire_batch *b) { return b->bytes; }

WIRE_API size_t wire_batch_room(const wire_batch *b) {
  return b->n < b->room ? b->room - b->n : 0;
}

WIRE_API void *wire_batch_alloc(wire_batch *b, size_t len) {
  return core_arena_alloc(&b->arena, len ? len : 1);
}

WIRE_API int wire_batch_append_owned(wire_batch *b, const wire_event *ev) {
  if (b->n == b->cap && grow(b)) return WIRE_ENOMEM;
  wire_event *e = &b->ev[b->n];
  *e = *ev;
  fill_defaults(b, e);
  b->n++;
  b->bytes += ev->key_len + ev->value_len;
  return WIRE_OK;
}

WIRE_API int wire_batch_append(wire_batch *b, const wire_event *ev) {
  wire_event e = *ev;
  if (ev->key_len) {
    e.key = core_arena_memdup(&b->arena, ev->key, ev->key_len);
    if (!e.key) return WIRE_ENOMEM;
  }
  e.value = core_arena_memdup(&b->arena, ev->value, ev->value_len);
  if (!e.value) return WIRE_ENOMEM;
  if (ev->header_count) {
    wire_header *h =
        core_arena_alloc(&b->arena, ev->header_count * sizeof *h);
    if (!h) return WIRE_ENOMEM;
    for (size_t i = 0; i < ev->header_count; i++) {
      const wire_header *s = &ev->headers[i];
      h[i].name = core_arena_memdup(&b->arena, s->name, s->name_len);
      h[i].name_len = s->name_len;
      h[i].value = core_arena_memdup(&b->arena, s->value, s->value_len);
      h[i].value_len = s->value_len;
      if (!h[i].name || !h[i].value) return WIRE_ENOMEM;
    }
    e.headers = h;
  }
  return wire_batch_append_owned(b, &e);
}

WIRE_API int wire_batch_append_value(wire_batch *b, const void *value,
                                     size_t len) {
  wire_event e;
  memset(&e, 0, sizeof e);
  e.value = value;
  e.value_len = len;
  return wire_batch_append(b, &e);
}

WIRE_API int wire_batch_set_position(wire_batch *b, const char *position) {
  if (!position) {
    b->position = NULL;
    return WIRE_OK;
  }
  char *p = core_arena_memdup(&b->arena, position, strlen(position) + 1);
  if (!p) return WIRE_ENOMEM;
  b->position = p;
  return WIRE_OK;
}

/* ---- emitter (operations' output) ------------------------------------ */

static wire_batch *out_batch(wire_emitter *o, unsigned port) {
  if (port >= o->node->nports) return NULL;
  if (!o->out[port]) {
    o->out[port] = batch_new(o->in->n ? o->in->n : 16, o->rng, o->in);
  }
  return o->out[port];
}

WIRE_API int wire_emit_forward(wire_emitter *o, unsigned port,
                               const wire_event *ev) {
  wire_batch *b = out_batch(o, port);
  if (!b) return port >= o->node->nports ? WIRE_EINVAL : WIRE_ENOMEM;
  o->emitted++;
  return batch_push_ref(b, ev);
}

WIRE_API int wire_emit_copy(wire_emitter *o, unsigned port,
                            const wire_event *ev) {
  wire_batch *b = out_batch(o, port);
  if (!b) return port >= o->node->nports ? WIRE_EINVAL : WIRE_ENOMEM;
  o->emitted++;
  return wire_batch_append(b, ev);
}

WIRE_API int wire_emit_value(wire_emitter *o, unsigned port,
                             const wire_event *like, const void *value,
                             size_t len) {
  wire_batch *b = out_batch(o, port);
  if (!b) return port >= o->node->nports ? WIRE_EINVAL : WIRE_ENOMEM;
  wire_event e = *like; /* key and headers stay in the input's memory */
  e.value = core_arena_memdup(&b->arena, value, len);
  if (!e.value) return WIRE_ENOMEM;
  e.value_len = len;
  o->emitted++;
  return batch_push_ref(b, &e);
}
