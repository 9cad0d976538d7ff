/*
 * Internal structures of the pipeline engine: contexts, batches, stages,
 * the per-source position tracker and the runtime DAG.
 */
#ifndef WIRE_PIPE_H
#define WIRE_PIPE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "config/spec.h"
#include "core/core.h"
#include "core/json.h"
#include "wire/wire.h"

/* ---- context ------------------------------------------------------------ */

typedef struct vt_list {
  const void **v;
  void **user;
  size_t n, cap;
} vt_list;

struct wire_ctx {
  core_log log;
  char errmsg[WIRE_ERRMSG_SIZE];
  vt_list sources, sinks, ops;
};

/* ---- batches -------------------------------------------------------------- */

typedef struct src_track src_track;

struct wire_batch {
  atomic_int refs;
  wire_event *ev;
  size_t n, cap;
  size_t bytes;
  size_t room;
  core_arena arena;
  char *position;     /* in the arena, or NULL */
  wire_batch *parent; /* keeps the bytes of forwarded events alive */
  src_track *track;   /* source batches: completion tracking */
  uint64_t seq;
  core_rng *rng;      /* id generation: the owning thread's generator */
  int64_t now_ns;     /* time given to events appended with time 0 */
  uint32_t origin;    /* runtime node index that produced the batch */
};

wire_batch *batch_new(size_t room, core_rng *rng, wire_batch *parent);
static inline void batch_ref(wire_batch *b) {
  atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
}
void batch_unref(wire_batch *b);
/* Append an event struct whose bytes stay where they are (in this batch's
 * arena or an ancestor's). */
int batch_push_ref(wire_batch *b, const wire_event *ev);

/* ---- position tracking ----------------------------------------------------- */

typedef struct track_ent {
  uint64_t seq;
  char *pos;
  bool done;
} track_ent;

struct src_track {
  pthread_mutex_t mu;
  track_ent *ring;
  size_t head, len, cap;
  uint64_t next_seq;
  char *watermark;      /* last committed position (owned) */
  uint64_t wm_seq;      /* sequence number of that batch ... */
  bool wm_has_seq;      /* ... unless it is the resume position */
  uint64_t wm_version;  /* bumps when the watermark moves */
  atomic_bool *frozen;  /* the pipeline failed: stop advancing */
};

int track_init(src_track *t, atomic_bool *frozen, const char *initial);
void track_destroy(src_track *t);
/* Register a source batch: assigns b->seq, takes a copy of its position. */
int track_add(src_track *t, wire_batch *b);
void track_complete(src_track *t, uint64_t seq);
/* Copy the watermark if its version differs from *version. */
bool track_watermark(src_track *t, uint64_t *version, char **out);
/* Copy the watermark (*out NULL when none) and the sequence number of its
 * batch (*has_seq false for the resume position).  false on OOM. */
bool track_watermark_seq(src_track *t, char **out, uint64_t *seq,
                         bool *has_seq);

/* ---- runtime DAG --------------------------------------------------------- */

typedef struct consumer_list {
  size_t *v;
  size_t n;
} consumer_list;

typedef struct rnode rnode;

struct wire_stage {
  wire_pipeline *p;
  rnode *node;
  unsigned partition;
  int errcode;
  uint64_t rejected; /* records rejected through this stage */
  char errmsg[WIRE_ERRMSG_SIZE];
};

struct rnode {
  spec_node *sn;
  size_t index;
  wire_node_kind kind;
  char label[160]; /* "sink 'out'" */
  atomic_uint_fast64_t in, out, dropped, errors, bytes_in, bytes_out;
  atomic_uint_fast64_t rejects_logged;
  atomic_int_fast64_t lag;          /* sources: -1 unknown */
  _Atomic(const char *) lag_unit;   /* static string from the source */
  int64_t lag_next_ns;              /* source thread: next lag() call */
  size_t nports;
  consumer_list *consumers; /* per port */
  /* sources and sinks: one instance */
  wire_stage stage;
  void *state;
  bool opened;
  pthread_t thread;
  bool thread_started;
  src_track track;
  bool track_init;
  core_queue q; /* sinks */
  bool q_init;
  int flush_interval_ms;
  /* exactly-once sinks (txn.h): per written batch, the sequence number of
   * its source batch and the sink's offset after it (under txn_mu) */
  bool txn, txn_broken;
  uint64_t (*txn_offset)(void *state);
  pthread_mutex_t txn_mu;
  struct txn_ent *txn_ring;
  size_t txn_head, txn_len, txn_cap;
  uint64_t txn_base; /* offset at open, then of the last trimmed entry */
  /* operations: one instance per partition */
  wire_stage *pstages;
  void **pstates;
  bool *popened;
  wire_batch **pouts; /* partitions x nports output slots */
};

typedef struct txn_ent {
  uint64_t seq, off;
} txn_ent;

struct wire_emitter {
  rnode *node;
  wire_batch *in;
  wire_batch **out; /* per port, lazily created */
  core_rng *rng;
  size_t emitted;
};

typedef struct resume_ent {
  char *id, *pos;
} resume_ent;

struct wire_pipeline {
  wire_ctx *ctx;
  spec spec;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  char errmsg[WIRE_ERRMSG_SIZE];
  int errcode;
  atomic_int state;
  atomic_bool stop;
  atomic_bool failed;
  /* runtime */
  rnode *nodes;
  size_t n;
  unsigned partitions;
  core_queue *wq;
  pthread_t *workers;
  size_t workers_started;
  atomic_size_t sources_running, workers_running, sinks_running;
  size_t threads_total, threads_exited;
  bool joined;
  resume_ent *resume;
  size_t nresume;
  json_path pkey;
  bool has_pkey;
  FILE *dlq;
  pthread_mutex_t dlq_mu;
  int64_t start_ns, end_ns;
};

/* txn.c */
void txn_written(rnode *r, const wire_batch *b);
void txn_destroy(rnode *r);

/* engine.c */
int engine_start(wire_pipeline *p);
void engine_join(wire_pipeline *p);
void engine_teardown(wire_pipeline *p);
/* Record a fatal error (first one wins) and ask everything to stop. */
void engine_fail(wire_pipeline *p, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void engine_log(wire_pipeline *p, wire_log_level lv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* WIRE_PIPE_H */
