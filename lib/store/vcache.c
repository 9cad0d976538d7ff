/* Read cache of the kv family: see vcache.h. */
#include "store/vcache.h"

#include <string.h>

#include "core/core.h"

struct vc_entry {
  uint64_t hash;
  uint64_t expire_ms;
  uint32_t klen;
  uint32_t vlen;
  uint8_t ref; /* CLOCK: read since the hand last passed */
  char data[]; /* key then value */
};

#define VC_SEED 0x76636163686531ull /* "vcache1" */
#define VC_MIN_CAP 1024
/* Slots at most half full: short probe runs. */
#define VC_FULL(c, n) ((n) * 2 > (c)->cap)

static size_t entry_size(const vc_entry *e) {
  return sizeof *e + e->klen + e->vlen;
}

void vcache_init(store_vcache *c, size_t max_bytes) {
  memset(c, 0, sizeof *c);
  c->max_bytes = max_bytes;
  c->max_entry = max_bytes / 64;
}

void vcache_clear(store_vcache *c) {
  for (size_t i = 0; i < c->cap; i++) {
    core_free(c->slots[i]);
    c->slots[i] = NULL;
  }
  c->count = 0;
  c->bytes = 0;
  c->hand = 0;
}

void vcache_free(store_vcache *c) {
  vcache_clear(c);
  core_free(c->slots);
  c->slots = NULL;
  c->cap = 0;
}

/* The slot holding key, or SIZE_MAX. */
static size_t find(const store_vcache *c, uint64_t h, const void *key,
                   size_t klen) {
  if (!c->cap) return SIZE_MAX;
  for (size_t i = (size_t)h & (c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
    const vc_entry *e = c->slots[i];
    if (!e) return SIZE_MAX;
    if (e->hash == h && e->klen == klen && memcmp(e->data, key, klen) == 0)
      return i;
  }
}

/* Empty slot i and shift the rest of its probe run back (no tombstones). */
static void remove_at(store_vcache *c, size_t i) {
  vc_entry *gone = c->slots[i];
  c->bytes -= entry_size(gone);
  c->count--;
  core_free(gone);
  c->slots[i] = NULL;
  size_t mask = c->cap - 1;
  for (size_t j = (i + 1) & mask; c->slots[j]; j = (j + 1) & mask) {
    size_t home = (size_t)c->slots[j]->hash & mask;
    /* Move j back to i unless its home lies cyclically in (i, j]. */
    bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (stays) continue;
    c->slots[i] = c->slots[j];
    c->slots[j] = NULL;
    i = j;
  }
}

static void insert_slot(vc_entry **slots, size_t cap, vc_entry *e) {
  size_t i = (size_t)e->hash & (cap - 1);
  while (slots[i]) i = (i + 1) & (cap - 1);
  slots[i] = e;
}

static bool grow(store_vcache *c) {
  size_t cap = c->cap ? c->cap * 2 : VC_MIN_CAP;
  vc_entry **s = core_calloc(cap, sizeof *s);
  if (!s) return false;
  for (size_t i = 0; i < c->cap; i++)
    if (c->slots[i]) insert_slot(s, cap, c->slots[i]);
  core_free(c->slots);
  c->slots = s;
  c->cap = cap;
  c->hand = 0;
  return true;
}

/* Memory of the slot array, counted in the budget with the entries. */
static size_t slot_bytes(size_t cap) { return cap * sizeof(vc_entry *); }

/* Evict by CLOCK until `need` more bytes fit and at most `max_count`
 * entries are left. */
static void make_room(store_vcache *c, size_t need, size_t max_count) {
  while (c->count && (c->bytes + slot_bytes(c->cap) + need > c->max_bytes ||
                      c->count > max_count)) {
    c->hand &= c->cap - 1;
    vc_entry *e = c->slots[c->hand];
    if (!e) {
      c->hand++;
    } else if (e->ref) {
      e->ref = 0;
      c->hand++;
    } else {
      remove_at(c, c->hand); /* the slot may now hold a shifted entry */
    }
  }
}

bool vcache_get(store_vcache *c, const void *key, size_t klen,
                const char **val, size_t *vlen, uint64_t *expire_ms) {
  size_t i = find(c, core_hash64(key, klen, VC_SEED), key, klen);
  if (i == SIZE_MAX) {
    c->misses++;
    return false;
  }
  vc_entry *e = c->slots[i];
  e->ref = 1;
  *val = e->data + e->klen;
  *vlen = e->vlen;
  *expire_ms = e->expire_ms;
  c->hits++;
  return true;
}

void vcache_fill(store_vcache *c, const void *key, size_t klen,
                 const void *val, size_t vlen, uint64_t expire_ms) {
  if (!c->max_bytes || klen > UINT32_MAX || vlen > UINT32_MAX) return;
  size_t size = sizeof(vc_entry) + klen + vlen;
  if (size > c->max_entry) return;
  uint64_t h = core_hash64(key, klen, VC_SEED);
  size_t i = find(c, h, key, klen);
  if (i != SIZE_MAX) remove_at(c, i);
  make_room(c, size, SIZE_MAX);
  if (VC_FULL(c, c->count + 1)) {
    size_t grown = c->cap ? c->cap * 2 : VC_MIN_CAP;
    if (c->bytes + slot_bytes(grown) + size <= c->max_bytes) {
      if (!grow(c)) return;
    } else if (c->cap >= 4) { /* no room for a bigger table: fewer entries */
      make_room(c, size, c->cap / 2 - 1);
    } else {
      return; /* the budget does not hold the smallest table */
    }
  }
  vc_entry *e = core_malloc(size);
  if (!e) return;
  e->hash = h;
  e->expire_ms = expire_ms;
  e->klen = (uint32_t)klen;
  e->vlen = (uint32_t)vlen;
  e->ref = 0;
  memcpy(e->data, key, klen);
  if (vlen) memcpy(e->data + klen, val, vlen);
  insert_slot(c->slots, c->cap, e);
  c->count++;
  c->bytes += size;
}

void vcache_update(store_vcache *c, const void *key, size_t klen,
                   const void *val, size_t vlen) {
  if (!c->count) return;
  size_t i = find(c, core_hash64(key, klen, VC_SEED), key, klen);
  if (i == SIZE_MAX) return;
  vc_entry *e = c->slots[i];
  if (e->vlen == vlen) { /* in place: the common rewrite of a counter */
    if (vlen) memcpy(e->data + klen, val, vlen);
    return;
  }
  uint64_t ms = e->expire_ms;
  remove_at(c, i);
  vcache_fill(c, key, klen, val, vlen, ms);
}

void vcache_drop(store_vcache *c, const void *key, size_t klen) {
  if (!c->count) return;
  size_t i = find(c, core_hash64(key, klen, VC_SEED), key, klen);
  if (i != SIZE_MAX) remove_at(c, i);
}
