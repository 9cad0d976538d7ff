/*
 * Record templates of the `generator` source, compiled once into a flat
 * program of literal segments and placeholders so that rendering a record is
 * a few memcpy calls and random draws, with no JSON library involved.
 *
 * Placeholders (in string values of the template mapping, at any depth):
 *   {{seq}}          the record's sequence number
 *   {{int A B}}      uniform integer in [A, B]
 *   {{float A B}}    uniform number in [A, B), 4 decimals
 *   {{choice a b c}} one of the words (each equally likely)
 *   {{uuid}}         a random UUID (version 4 layout)
 *   {{hex N}}        N random hex digits
 *   {{word}}         a word from a fixed list
 *   {{now}}          ISO-8601 time: 2024-01-01T00:00:00Z plus seq ms
 * A string that is exactly one placeholder keeps the placeholder's type
 * ("{{int 1 9}}" renders 7, "{{choice 1 x}}" renders 1 or "x"); otherwise the
 * placeholders are interpolated into the string.  A record is a pure
 * function of (seq, seed, template): randomness comes from a generator
 * seeded with the pair for every record.
 */
#ifndef WIRE_CONN_GEN_TEMPLATE_H
#define WIRE_CONN_GEN_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* Time of record 0 for {{now}} and generator event ids (2024-01-01Z). */
#define GT_EPOCH_MS UINT64_C(1704067200000)

typedef struct gt_op gt_op;

typedef struct gen_template {
  gt_op *ops;
  size_t nops, opcap;
  core_buf pool;   /* literal bytes and rendered choice items */
  uint32_t *items; /* choice items: (pool offset, length) pairs */
  size_t nitems, itemcap;
  size_t max_len; /* upper bound of one rendered record */
  bool has_key;
} gen_template;

/* Compile `json` (a JSON object; NULL = the built-in demo shape).  `key`
 * (may be NULL) names the top-level field whose value becomes the event
 * key.  On failure returns WIRE_ECONFIG (message in err) or WIRE_ENOMEM. */
int gt_compile(gen_template *t, const char *json, const char *key, char *err,
               size_t errlen);
void gt_free(gen_template *t);

/* Render record `seq` into out (room for t->max_len bytes).  Returns its
 * length; with a key, *koff and *klen locate the key bytes in out (a string
 * field's text without its quotes). */
size_t gt_render(const gen_template *t, uint64_t seq, uint64_t seed, char *out,
                 size_t *koff, size_t *klen);

#endif /* WIRE_CONN_GEN_TEMPLATE_H */
