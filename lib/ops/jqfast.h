/*
 * jq fast path (lib/ops): a small subset of jq evaluated directly on raw
 * JSON bytes, without building jv values.  Used by the jq and route
 * operations; everything outside the subset, and every record on which the
 * fast evaluation could differ from jq 1.6, goes to libjq instead.
 *
 * Subset: `.`, a simple path (`.a`, `.a.b`, `.["k"]`, `.a[0]`, `?` allowed),
 * `select(COND)` and a bare COND, where COND combines comparisons
 * (== != < <= > >=) of paths and literals (string, number, true, false,
 * null) with `and`, `or`, `| not` and parentheses; a bare path in COND is
 * tested for truthiness.
 */
#ifndef WIRE_OPS_JQFAST_H
#define WIRE_OPS_JQFAST_H

#include <stdbool.h>
#include <stddef.h>

typedef enum jqf_form {
  JQF_IDENTITY = 1, /* `.` */
  JQF_PATH,         /* `.a.b`: outputs the value (null when missing) */
  JQF_SELECT,       /* `select(COND)`: outputs the input when COND holds */
  JQF_BOOL          /* `COND`: outputs true or false */
} jqf_form;

typedef struct jqf_prog jqf_prog;

/* Compile `expr` when it is in the subset; NULL when it is not (or out of
 * memory): the caller then uses libjq only.  The caller must have checked
 * that libjq compiles `expr`: the subset parser relies on it for syntax
 * errors.  The program is read-only and may be shared by threads. */
jqf_prog *jqf_compile(const char *expr);
void jqf_free(jqf_prog *p);
jqf_form jqf_form_of(const jqf_prog *p);

/* Classification of one raw record by jqf_scan(). */
enum {
  JQF_VALID = 1, /* strictly valid JSON (RFC 8259, depth <= 512) */
  JQF_SAFE = 2,  /* and libjq parses it to exactly what the raw bytes say:
                    depth <= 256, valid UTF-8, no lone high surrogate */
  JQF_CANON = 4  /* and `jq -c .` prints it byte for byte as it is */
};
unsigned jqf_scan(const char *p, size_t n);

/* Per-thread scratch memory of the evaluator. */
typedef struct jqf_scratch {
  char *buf;
  size_t cap;
} jqf_scratch;
void jqf_scratch_free(jqf_scratch *s);

/* Evaluate on a record whose jqf_scan() flags are `flags` (JQF_SAFE must be
 * set).  Results: 1 / 0 as below, -1 when the fast path cannot decide this
 * record exactly like jq (a jq error, an unsupported comparison, out of
 * memory): use libjq for it.
 *   jqf_eval:   SELECT and BOOL forms: whether COND holds.
 *   jqf_truthy: any form: whether the first output is truthy (0 as well
 *               when there is no output).
 *   jqf_value:  PATH and IDENTITY forms: 1 with the raw value span, 0 when
 *               the value is null because a key or index is missing. */
int jqf_eval(const jqf_prog *p, jqf_scratch *s, const char *rec, size_t n,
             unsigned flags);
int jqf_truthy(const jqf_prog *p, jqf_scratch *s, const char *rec, size_t n,
               unsigned flags);
int jqf_value(const jqf_prog *p, const char *rec, size_t n, unsigned flags,
              const char **val, size_t *val_len);

#endif /* WIRE_OPS_JQFAST_H */
