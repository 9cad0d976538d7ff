/*
 * libwire node: one member of a Raft cluster replicating a key-value store
 * kept in RocksDB.
 *
 * A node runs on its own thread (the node thread, one libuv loop) which owns
 * raft, the HTTP front end and every change of the replicated state.  All
 * functions below may be called from any thread other than the node thread
 * (callbacks of asynchronous calls run on the node thread and must not block
 * or call the synchronous functions).  Two nodes may live in one process.
 *
 * Lifecycle:
 *   1. wire_node_config_new(), wire_node_config_set() / _load_file() /
 *      _load_env() (last set wins: apply file, then env, then flags)
 *   2. wire_node_open(ctx, cfg, &node)   opens the data dir, checks it
 *   3. wire_node_start(node)             starts the node thread and raft
 *   4. put/get/delete/cas/status ...
 *   5. wire_node_stop(node)              graceful: hands leadership over
 *   6. wire_node_close(node)
 */
#ifndef WIRE_NODE_H
#define WIRE_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "error.h"
#include "ctx.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- configuration -------------------------------------------------------
 *
 * Options are named by their long flag without dashes ("data-dir", "raft").
 * Every option is text when set; the setter validates it at once. */

typedef struct wire_node_config wire_node_config;

/** Create a configuration holding the defaults.  WIRE_OK or WIRE_ENOMEM. */
WIRE_API int wire_node_config_new(wire_node_config **out);

/** Free a configuration (NULL is fine).  A node keeps its own copy. */
WIRE_API void wire_node_config_free(wire_node_config *cfg);

/** Set option `key` from its text form, replacing an earlier value.
 *  Returns WIRE_EINVAL for an unknown key (the message suggests the closest
 *  one) or a value that does not parse or is out of range; the message is in
 *  wire_node_config_error(). */
WIRE_API int wire_node_config_set(wire_node_config *cfg, const char *key,
                                  const char *value);

/** Read options from a YAML file holding one mapping of option keys to
 *  scalars (lists allowed where the option takes several values, such as
 *  `join`).  Every error is reported as FILE:LINE:COL: message, all of them,
 *  in wire_node_config_error(); then WIRE_ECONFIG (nothing is applied) or
 *  WIRE_EIO when the file cannot be read. */
WIRE_API int wire_node_config_load_file(wire_node_config *cfg,
                                        const char *path);

/** Apply every WIRE_<OPTION> variable of `envp` (NULL-terminated
 *  "NAME=value" strings; NULL: the process environment), where <OPTION> is
 *  the key upper-cased with '-' turned into '_' (WIRE_DATA_DIR).  Variables
 *  starting with WIRE_ that name no option are an error, so a typo does not
 *  go unnoticed.  WIRE_OK or WIRE_EINVAL. */
WIRE_API int wire_node_config_load_env(wire_node_config *cfg,
                                       char *const *envp);

/** Check the options together (id and data-dir given, addresses distinct,
 *  snapshot trailing vs threshold, heartbeat below election timeout, ...).
 *  WIRE_OK or WIRE_EINVAL with the message in wire_node_config_error(). */
WIRE_API int wire_node_config_validate(const wire_node_config *cfg);

/** Message of the last failed call on `cfg` ("" when none). */
WIRE_API const char *wire_node_config_error(const wire_node_config *cfg);

/** Current value of option `key` in canonical text form (NULL for an
 *  unknown key; "" when unset and without a default).  Valid until the
 *  option is set again or `cfg` is freed. */
WIRE_API const char *wire_node_config_get(const wire_node_config *cfg,
                                          const char *key);

/** Where the current value of `key` came from: "default", "file", "env",
 *  "api" (wire_node_config_set); NULL for an unknown key. */
WIRE_API const char *wire_node_config_origin(const wire_node_config *cfg,
                                             const char *key);

/** Description of option i (0 <= i < count) for help texts. */
typedef struct wire_node_option_info {
  const char *key;     /**< "data-dir" */
  const char *arg;     /**< "DIR", "HOST:PORT", NULL for a boolean flag */
  const char *def;     /**< default in text form, NULL when none */
  const char *doc;     /**< one sentence */
} wire_node_option_info;

WIRE_API size_t wire_node_config_option_count(void);
WIRE_API const wire_node_option_info *wire_node_config_option(size_t i);

/* ---- node ------------------------------------------------------------------ */

typedef struct wire_node wire_node;

/** Open a node from `cfg` (copied; validated first): creates or opens the
 *  data directory and the store in it and checks that they belong together
 *  (cluster identity, applied index not beyond the raft log).  Nothing
 *  listens yet.  On failure *out is NULL and the reason is in
 *  wire_ctx_errmsg(ctx).  `ctx` must outlive the node. */
WIRE_API int wire_node_open(wire_ctx *ctx, const wire_node_config *cfg,
                            wire_node **out);

/** Forced recovery of a cluster that lost its majority for good: rewrite
 *  the raft configuration in the data dir of `cfg` so that this node is the
 *  only voter (raft_recover), keeping every entry and the store.  The node
 *  must not be running.  Afterwards start it normally (it elects itself) and
 *  let the other machines join again with empty data dirs.  Entries that
 *  only the lost members had are gone: pick the survivor with the highest
 *  last index.  WIRE_OK or an error in wire_ctx_errmsg(ctx). */
WIRE_API int wire_node_recover(wire_ctx *ctx, const wire_node_config *cfg);

/** Start the node thread: raft (bootstrapping or joining as configured),
 *  then the HTTP front end.  Returns once both listen (WIRE_OK) or failed
 *  (the reason in wire_node_errmsg()). */
WIRE_API int wire_node_start(wire_node *node);

/** Graceful stop: a leader first transfers leadership to an up-to-date
 *  follower (bounded by the election timeout), then raft and the front ends
 *  close and the node thread ends.  Pending calls fail with WIRE_ESHUTDOWN.
 *  Idempotent. */
WIRE_API int wire_node_stop(wire_node *node);

/** Wait up to `timeout_ms` for the node thread to end (after
 *  wire_node_stop() from another thread, or when the node stopped itself
 *  because it cannot go on, e.g. its data dir belongs to another cluster).
 *  WIRE_OK when it ended normally, WIRE_EFAILED when it stopped itself (the
 *  reason in wire_node_errmsg()), WIRE_ETIMEDOUT while it still runs.  For
 *  daemons: poll this between signal checks. */
WIRE_API int wire_node_wait(wire_node *node, int timeout_ms);

/** Stop if needed and free everything.  NULL is fine. */
WIRE_API void wire_node_close(wire_node *node);

/** Message of the last failed call on `node` from this thread ("" when
 *  none). */
WIRE_API const char *wire_node_errmsg(const wire_node *node);

/* ---- key-value operations ------------------------------------------------
 *
 * Keys are 1..65536 bytes, values up to the `value-max` option (8 MiB by
 * default); both are binary-safe.  Writes commit through raft (forwarded to
 * the leader when called on a follower); concurrent writes are coalesced
 * into one raft entry.  `timeout_ms` <= 0 means the node's default
 * (`request-timeout`).  Errors: WIRE_EINVAL (empty key), WIRE_ETOOBIG
 * (limits), WIRE_ETIMEDOUT (not committed in time: the write may still
 * commit later), WIRE_ENOLEADER (no leader known), WIRE_ESHUTDOWN. */

/** Read consistency. */
typedef enum wire_read_mode {
  WIRE_READ_LINEARIZABLE = 0, /**< leader confirms leadership first */
  WIRE_READ_STALE = 1         /**< this node's local state, any role */
} wire_read_mode;

WIRE_API int wire_node_put(wire_node *node, const void *key, size_t klen,
                           const void *val, size_t vlen, int timeout_ms);

/** On success *val is a malloc'd copy (free() it; NUL-terminated for
 *  convenience, not counted in *vlen).  WIRE_ENOTFOUND when absent. */
WIRE_API int wire_node_get(wire_node *node, const void *key, size_t klen,
                           wire_read_mode mode, char **val, size_t *vlen,
                           int timeout_ms);

/** WIRE_OK when the key existed and is deleted, WIRE_ENOTFOUND when it did
 *  not exist (nothing written). */
WIRE_API int wire_node_delete(wire_node *node, const void *key, size_t klen,
                              int timeout_ms);

/** Compare and swap: when `expected` is NULL the key must be absent,
 *  otherwise it must hold exactly expected[0..elen); then the key is set to
 *  val[0..vlen), or deleted when `val` is NULL.  WIRE_OK when swapped,
 *  WIRE_EMISMATCH when the comparison failed (nothing written). */
WIRE_API int wire_node_cas(wire_node *node, const void *key, size_t klen,
                           const void *expected, size_t elen, const void *val,
                           size_t vlen, int timeout_ms);

/** Completion of an asynchronous call, on the node thread.  `rc` as for
 *  the synchronous form; `val`/`vlen` only for a successful get (borrowed
 *  for the duration of the callback). */
typedef void (*wire_node_cb)(void *user, int rc, const char *val,
                             size_t vlen);

/** Asynchronous forms: they return WIRE_OK once queued (the callback then
 *  runs exactly once) or an error without calling it. */
WIRE_API int wire_node_put_async(wire_node *node, const void *key, size_t klen,
                                 const void *val, size_t vlen,
                                 wire_node_cb cb, void *user);
WIRE_API int wire_node_get_async(wire_node *node, const void *key, size_t klen,
                                 wire_read_mode mode, wire_node_cb cb,
                                 void *user);
WIRE_API int wire_node_delete_async(wire_node *node, const void *key,
                                    size_t klen, wire_node_cb cb, void *user);
/** Compare and swap as wire_node_cas(); the callback gets WIRE_OK when
 *  swapped, WIRE_EMISMATCH when the comparison failed. */
WIRE_API int wire_node_cas_async(wire_node *node, const void *key,
                                 size_t klen, const void *expected,
                                 size_t elen, const void *val, size_t vlen,
                                 wire_node_cb cb, void *user);

/* ---- status --------------------------------------------------------------- */

typedef enum wire_node_role {
  WIRE_ROLE_FOLLOWER = 0,
  WIRE_ROLE_CANDIDATE = 1,
  WIRE_ROLE_LEADER = 2,
  WIRE_ROLE_STOPPED = 3
} wire_node_role;

typedef struct wire_member {
  uint64_t id;
  char raft[64]; /**< HOST:PORT */
  char http[64]; /**< HOST:PORT, "" when not known yet */
  bool voter;
} wire_member;

typedef struct wire_node_status {
  uint64_t id;
  wire_node_role role;
  uint64_t leader_id; /**< 0 when none is known */
  char leader_http[64];
  uint64_t term;
  uint64_t commit_index;
  uint64_t applied_index;
  uint64_t last_index;
  size_t n_members;
  wire_member members[16]; /**< the first 16 members */
} wire_node_status;

/** Snapshot of the node's state, taken on the node thread. */
WIRE_API int wire_node_status_get(wire_node *node, wire_node_status *out);

/** Name of a role: "follower", "candidate", "leader", "stopped". */
WIRE_API const char *wire_node_role_name(wire_node_role role);

/* ---- pipelines kept in the cluster ---------------------------------------
 *
 * A pipeline submitted to the cluster is stored (replicated) with a
 * generation and a paused flag; the leader runs every pipeline that is not
 * paused, committing its source positions through raft (checkpoints, see
 * the options checkpoint-interval and checkpoint-records), and a new leader
 * resumes each one from its committed positions: at-least-once delivery
 * across crashes and leader changes.  doc/pipelines.md has the details.
 * Writes go through the leader (forwarded from a follower).  `timeout_ms`
 * as for the key-value calls. */

/** Submit a definition (YAML, or JSON, text[0..len)).  It is validated
 *  first: WIRE_ECONFIG with every problem as a "FILE:LINE:COL: message"
 *  line in wire_node_errmsg().  Without `replace`, WIRE_EEXISTS when a
 *  pipeline of that name exists; with it, an existing pipeline is replaced
 *  (its runner drains and stops, the new definition resumes from the
 *  committed positions of the sources it keeps).  The pipeline's name is
 *  copied to name[0..name_size) when `name` is not NULL. */
WIRE_API int wire_node_pipeline_submit(wire_node *node, const char *text,
                                       size_t len, bool replace, char *name,
                                       size_t name_size, int timeout_ms);

/** Delete a pipeline and its committed positions (its runner stops).
 *  WIRE_ENOTFOUND when there is none of that name. */
WIRE_API int wire_node_pipeline_delete(wire_node *node, const char *name,
                                       int timeout_ms);

/** Pause (drain, commit the positions, stop) or resume (start again from
 *  the committed positions; also restarts a pipeline that failed).
 *  WIRE_ENOTFOUND when there is none of that name. */
WIRE_API int wire_node_pipeline_pause(wire_node *node, const char *name,
                                      bool paused, int timeout_ms);

/** JSON description of pipeline `name`, or of all of them when `name` is
 *  NULL ({"pipelines": [...]}), from this node's local state: name, state
 *  ("running", "paused", "failed", "stopped", or "starting" before a
 *  runner reported), generation, node (id of the node running it), error,
 *  committed positions, definition, and the runtime counters (per DAG
 *  node in/out/dropped/errors) when this node runs it, i.e. is the leader.
 *  *json is malloc'd (free() it).  WIRE_ENOTFOUND for an unknown name. */
WIRE_API int wire_node_pipeline_info(wire_node *node, const char *name,
                                     char **json, int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif /* WIRE_NODE_H */
