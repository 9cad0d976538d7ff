/*
 * Exactly-once sinks: the offset of a sink's output that matches a source
 * watermark (see txn.h).
 */
#include <string.h>

#include "pipe.h"
#include "txn.h"

int stage_txn_enable(wire_stage *st, uint64_t (*offset)(void *state),
                     uint64_t base) {
  wire_pipeline *p = st->p;
  rnode *r = st->node;
  size_t nsrc = 0;
  for (size_t i = 0; i < p->n; i++)
    nsrc += p->nodes[i].kind == WIRE_NODE_SOURCE;
  unsigned parts = p->spec.partitions ? p->spec.partitions : 1;
  if (nsrc != 1 || parts != 1)
    return wire_stage_error(st, WIRE_ECONFIG,
                            "exactly_once needs a pipeline with one source and "
                            "one partition (this one has %zu sources and %u "
                            "partitions): only then does the sink write in "
                            "source order",
                            nsrc, parts);
  if (!r->txn) pthread_mutex_init(&r->txn_mu, NULL);
  r->txn = true;
  r->txn_offset = offset;
  r->txn_base = base;
  r->txn_len = r->txn_head = 0;
  return WIRE_OK;
}

const char *stage_resume(wire_stage *st) {
  wire_pipeline *p = st->p;
  const char *id = st->node->sn->id;
  for (size_t i = 0; i < p->nresume; i++)
    if (strcmp(p->resume[i].id, id) == 0) return p->resume[i].pos;
  return NULL;
}

size_t pipe_txn_count(wire_pipeline *p) {
  size_t n = 0;
  for (size_t i = 0; p->nodes && i < p->n; i++) n += p->nodes[i].txn;
  return n;
}

/* Sink thread, after a successful write of `b`. */
void txn_written(rnode *r, const wire_batch *b) {
  const wire_batch *root = b;
  while (root && !root->track) root = root->parent;
  if (!root) return;
  uint64_t off = r->txn_offset(r->state);
  pthread_mutex_lock(&r->txn_mu);
  if (r->txn_len == r->txn_cap) {
    size_t cap = r->txn_cap ? r->txn_cap * 2 : 64;
    txn_ent *ring = core_malloc(cap * sizeof *ring);
    if (!ring) {
      /* An offset we cannot record: no checkpoint may commit a sink
       * offset any more (pipe_checkpoint_state fails). */
      r->txn_broken = true;
      pthread_mutex_unlock(&r->txn_mu);
      return;
    }
    for (size_t i = 0; i < r->txn_len; i++)
      ring[i] = r->txn_ring[(r->txn_head + i) % r->txn_cap];
    core_free(r->txn_ring);
    r->txn_ring = ring;
    r->txn_cap = cap;
    r->txn_head = 0;
  }
  r->txn_ring[(r->txn_head + r->txn_len) % r->txn_cap] =
      (txn_ent){root->seq, off};
  r->txn_len++;
  pthread_mutex_unlock(&r->txn_mu);
}

/* Offset matching every batch up to `seq` (and trim what it covers). */
static uint64_t txn_offset_upto(rnode *r, bool has_seq, uint64_t seq) {
  pthread_mutex_lock(&r->txn_mu);
  while (has_seq && r->txn_len) {
    txn_ent *e = &r->txn_ring[r->txn_head];
    if (e->seq > seq) break;
    r->txn_base = e->off;
    r->txn_head = (r->txn_head + 1) % r->txn_cap;
    r->txn_len--;
  }
  uint64_t off = r->txn_base;
  pthread_mutex_unlock(&r->txn_mu);
  return off;
}

int pipe_checkpoint_state(wire_pipeline *p, const char *source_id, char **pos,
                          pipe_sink_state_fn fn, void *ud) {
  *pos = NULL;
  long k = spec_find(&p->spec, source_id);
  if (k < 0 || !p->nodes || p->nodes[k].kind != WIRE_NODE_SOURCE)
    return WIRE_ENOTFOUND;
  rnode *src = &p->nodes[k];
  uint64_t seq = 0;
  bool has_seq = false;
  if (src->track_init) {
    if (!track_watermark_seq(&src->track, pos, &seq, &has_seq))
      return WIRE_ENOMEM;
  } else {
    for (size_t i = 0; i < p->nresume; i++)
      if (strcmp(p->resume[i].id, source_id) == 0) {
        *pos = core_strdup(p->resume[i].pos);
        if (!*pos) return WIRE_ENOMEM;
      }
  }
  for (size_t i = 0; i < p->n; i++) {
    rnode *r = &p->nodes[i];
    if (r->txn && r->txn_broken) {
      core_free(*pos);
      *pos = NULL;
      return WIRE_ENOMEM;
    }
  }
  for (size_t i = 0; i < p->n; i++) {
    rnode *r = &p->nodes[i];
    if (r->txn) fn(ud, r->sn->id, txn_offset_upto(r, has_seq, seq));
  }
  return WIRE_OK;
}

void txn_destroy(rnode *r) {
  if (!r->txn) return;
  core_free(r->txn_ring);
  pthread_mutex_destroy(&r->txn_mu);
  r->txn = false;
}

const wire_config *pipe_node_config(wire_pipeline *p, const char *id,
                                    wire_node_kind *kind, const char **type) {
  long k = spec_find(&p->spec, id);
  if (k < 0) return NULL;
  spec_node *sn = p->spec.nodes[k];
  *kind = sn->kind;
  *type = sn->type;
  return &sn->cfg;
}
