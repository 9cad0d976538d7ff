/*
 * Source position tracking: the low watermark.
 *
 * Every source batch with a position gets a sequence number.  Batches are
 * completed out of order (partitions, sinks flushing at different times); the
 * watermark is the position of the highest sequence number such that it and
 * every earlier one are complete.  That position is safe to commit: resuming
 * from it loses nothing, at worst records after it are delivered again
 * (at-least-once).
 */
#include <string.h>

#include "pipe.h"

int track_init(src_track *t, atomic_bool *frozen, const char *initial) {
  memset(t, 0, sizeof *t);
  pthread_mutex_init(&t->mu, NULL);
  t->frozen = frozen;
  if (initial) {
    t->watermark = core_strdup(initial);
    if (!t->watermark) return WIRE_ENOMEM;
  }
  return WIRE_OK;
}

void track_destroy(src_track *t) {
  for (size_t i = 0; i < t->len; i++)
    core_free(t->ring[(t->head + i) % t->cap].pos);
  core_free(t->ring);
  core_free(t->watermark);
  pthread_mutex_destroy(&t->mu);
}

int track_add(src_track *t, wire_batch *b) {
  char *pos = core_strdup(b->position);
  if (!pos) return WIRE_ENOMEM;
  pthread_mutex_lock(&t->mu);
  if (t->len == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    track_ent *r = core_malloc(cap * sizeof *r);
    if (!r) {
      pthread_mutex_unlock(&t->mu);
      core_free(pos);
      return WIRE_ENOMEM;
    }
    for (size_t i = 0; i < t->len; i++) r[i] = t->ring[(t->head + i) % t->cap];
    core_free(t->ring);
    t->ring = r;
    t->cap = cap;
    t->head = 0;
  }
  b->seq = t->next_seq++;
  b->track = t;
  t->ring[(t->head + t->len) % t->cap] =
      (track_ent){.seq = b->seq, .pos = pos, .done = false};
  t->len++;
  pthread_mutex_unlock(&t->mu);
  return WIRE_OK;
}

void track_complete(src_track *t, uint64_t seq) {
  pthread_mutex_lock(&t->mu);
  if (t->len) {
    track_ent *first = &t->ring[t->head];
    size_t idx = (size_t)(seq - first->seq);
    if (idx < t->len) t->ring[(t->head + idx) % t->cap].done = true;
  }
  bool frozen = t->frozen && atomic_load(t->frozen);
  while (!frozen && t->len && t->ring[t->head].done) {
    track_ent *e = &t->ring[t->head];
    core_free(t->watermark);
    t->watermark = e->pos;
    t->wm_seq = e->seq;
    t->wm_has_seq = true;
    e->pos = NULL;
    t->wm_version++;
    t->head = (t->head + 1) % t->cap;
    t->len--;
  }
  pthread_mutex_unlock(&t->mu);
}

bool track_watermark(src_track *t, uint64_t *version, char **out) {
  pthread_mutex_lock(&t->mu);
  bool changed = !version || *version != t->wm_version;
  if (changed) {
    if (version) *version = t->wm_version;
    *out = core_strdup(t->watermark ? t->watermark : "");
  }
  pthread_mutex_unlock(&t->mu);
  return changed;
}

bool track_watermark_seq(src_track *t, char **out, uint64_t *seq,
                         bool *has_seq) {
  pthread_mutex_lock(&t->mu);
  *out = t->watermark ? core_strdup(t->watermark) : NULL;
  *seq = t->wm_seq;
  *has_seq = t->wm_has_seq;
  bool ok = !t->watermark || *out;
  pthread_mutex_unlock(&t->mu);
  return ok;
}
