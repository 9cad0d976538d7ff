/*
 * Arena allocator: bump allocation over a chain of blocks, released all at
 * once.  Batches keep their events' bytes in one, so a batch of a thousand
 * records costs a handful of mallocs instead of thousands.
 */
#include <string.h>

#include "core.h"

struct core_arena_block {
  core_arena_block *next;
  size_t size, used;
  /* data follows, 16-byte aligned */
  _Alignas(16) unsigned char data[];
};

void core_arena_init(core_arena *a, size_t block_size) {
  a->head = NULL;
  a->block_size = block_size ? block_size : 64 * 1024;
  a->used = 0;
}

static core_arena_block *block_new(size_t size) {
  core_arena_block *b = core_malloc(sizeof *b + size);
  if (!b) return NULL;
  b->next = NULL;
  b->size = size;
  b->used = 0;
  return b;
}

void *core_arena_alloc(core_arena *a, size_t n) {
  size_t need = (n + 7) & ~(size_t)7;
  if (need < n) return NULL; /* overflow */
  core_arena_block *b = a->head;
  if (!b || b->size - b->used < need) {
    /* Large requests get a block of their own, linked after the current
     * one so the current block keeps serving small requests. */
    if (b && need > a->block_size / 4) {
      core_arena_block *big = block_new(need);
      if (!big) return NULL;
      big->used = need;
      big->next = b->next;
      b->next = big;
      a->used += n;
      return big->data;
    }
    size_t size = need > a->block_size ? need : a->block_size;
    core_arena_block *nb = block_new(size);
    if (!nb) return NULL;
    nb->next = b;
    a->head = b = nb;
  }
  void *p = b->data + b->used;
  b->used += need;
  a->used += n;
  return p;
}

void *core_arena_memdup(core_arena *a, const void *p, size_t n) {
  void *d = core_arena_alloc(a, n ? n : 1);
  if (d && n) memcpy(d, p, n);
  return d;
}

void core_arena_reset(core_arena *a) {
  core_arena_block *b = a->head;
  if (!b) return;
  /* Keep the oldest block (the last in the chain) if it is standard size. */
  core_arena_block *keep = NULL;
  while (b) {
    core_arena_block *next = b->next;
    if (!next && b->size == a->block_size) {
      keep = b;
    } else {
      core_free(b);
    }
    b = next;
  }
  if (keep) keep->used = 0;
  a->head = keep;
  a->used = 0;
}

void core_arena_destroy(core_arena *a) {
  core_arena_block *b = a->head;
  while (b) {
    core_arena_block *next = b->next;
    core_free(b);
    b = next;
  }
  a->head = NULL;
  a->used = 0;
}
