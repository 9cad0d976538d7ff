/*
 * Random numbers, UUIDv7 and hashing.
 *
 * xoshiro256** (Blackman & Vigna) gives each thread a fast generator seeded
 * from the OS; UUIDv7 follows RFC 9562 §5.7 (48-bit Unix ms, version 7,
 * variant 10, 74 random bits).  core_hash64 is a simple multiply-xorshift
 * hash over 8-byte words, good enough for partitioning and hash sets.
 */
#include <string.h>
#include <sys/random.h>

#include "core.h"
#include "wire/event.h"

static inline uint64_t rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void core_rng_seed(core_rng *r, uint64_t seed) {
  if (seed == 0) {
    if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed)
      seed = (uint64_t)core_monotonic_ns() ^ (uint64_t)(uintptr_t)r;
  }
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

uint64_t core_rng_next(core_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double core_rng_double(core_rng *r) {
  return (double)(core_rng_next(r) >> 11) * 0x1.0p-53;
}

WIRE_API void wire_uuid7_make(uint8_t id[16], uint64_t unix_ms,
                              uint64_t rand_hi, uint64_t rand_lo) {
  unix_ms &= 0xffffffffffffULL;
  for (int i = 0; i < 6; i++) id[i] = (uint8_t)(unix_ms >> (40 - 8 * i));
  id[6] = (uint8_t)(0x70 | ((rand_hi >> 8) & 0x0f));
  id[7] = (uint8_t)rand_hi;
  id[8] = (uint8_t)(0x80 | ((rand_lo >> 56) & 0x3f));
  for (int i = 9; i < 16; i++) id[i] = (uint8_t)(rand_lo >> (8 * (15 - i)));
}

void core_uuid7(core_rng *r, uint64_t unix_ms, uint8_t out[16]) {
  wire_uuid7_make(out, unix_ms, core_rng_next(r), core_rng_next(r));
}

WIRE_API void wire_uuid_format(const uint8_t id[16], char out[37]) {
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = hex[id[i] >> 4];
    out[o++] = hex[id[i] & 15];
  }
  out[o] = '\0';
}

static inline uint64_t mix(uint64_t a, uint64_t b) {
  __uint128_t m = (__uint128_t)a * b;
  return (uint64_t)m ^ (uint64_t)(m >> 64);
}

uint64_t core_hash64(const void *p, size_t n, uint64_t seed) {
  const unsigned char *s = p;
  uint64_t h = seed ^ 0x243f6a8885a308d3ULL ^ (n * 0x13198a2e03707344ULL);
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, s, 8);
    h = mix(h ^ w, 0x9e3779b97f4a7c15ULL);
    s += 8;
    n -= 8;
  }
  uint64_t w = 0;
  memcpy(&w, s, n);
  h = mix(h ^ w ^ ((uint64_t)n << 56), 0xa4093822299f31d1ULL);
  return mix(h, 0x082efa98ec4e6c89ULL) ^ h;
}
