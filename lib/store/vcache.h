/*
 * A bounded cache of key -> (value, expiry) in front of the kv family, for
 * point reads (store_fsm_get).  RocksDB's memtable is a skip list: under a
 * stream of writes a point read walks ~20 levels of cache-missing nodes
 * with a comparator that touches thread-local perf counters, which was most
 * of a leader's time serving pipelined GETs.  A hash lookup here is one or
 * two cache lines.
 *
 * Coherence: the cache is filled only by reads (a miss reads RocksDB and
 * stores what it read) and changed by the FSM after every write batch it
 * committed: a written key that is cached gets its new value, a deleted
 * one, or one whose expiry record changed, is dropped; writes that bypass
 * the per-key write log (an entry too big for it, a snapshot restore)
 * clear the whole cache.  Single-threaded, like the FSM (the node thread).
 * Eviction is CLOCK over the slots.  The budget counts the entries and the
 * slot array (8 bytes a slot, at most half of them used): with small keys
 * and values the array is a good part of the memory.
 */
#ifndef WIRE_STORE_VCACHE_H
#define WIRE_STORE_VCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct vc_entry vc_entry;

typedef struct store_vcache {
  vc_entry **slots; /* open addressing, linear probing; NULL: empty */
  size_t cap;       /* power of two, 0 when disabled */
  size_t count, bytes;
  size_t max_bytes, max_entry;
  size_t hand; /* CLOCK hand, a slot index */
  uint64_t hits, misses;
} store_vcache;

/* max_bytes 0 disables the cache (every call is then a no-op or a miss). */
void vcache_init(store_vcache *c, size_t max_bytes);
void vcache_free(store_vcache *c);
void vcache_clear(store_vcache *c);

/* The cached value of key: true with *val (valid until the next change of
 * the cache), *vlen and *expire_ms (0: none). */
bool vcache_get(store_vcache *c, const void *key, size_t klen,
                const char **val, size_t *vlen, uint64_t *expire_ms);

/* Store what a read found (replacing any entry).  Values bigger than
 * max_bytes / 64 are not cached.  Out of memory leaves the key uncached. */
void vcache_fill(store_vcache *c, const void *key, size_t klen,
                 const void *val, size_t vlen, uint64_t expire_ms);

/* A committed write of key: the cached entry, if any, gets `val` and keeps
 * its expiry. */
void vcache_update(store_vcache *c, const void *key, size_t klen,
                   const void *val, size_t vlen);

/* Drop key's entry, if any. */
void vcache_drop(store_vcache *c, const void *key, size_t klen);

#endif /* WIRE_STORE_VCACHE_H */
