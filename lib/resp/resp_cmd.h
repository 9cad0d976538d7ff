/*
 * The pure part of the RESP command layer (lib/resp/resp_cmd.c): argument
 * parsing with Redis's rules and error texts, glob patterns (KEYS, SCAN
 * MATCH), the options of SET and the unknown-command message.  No I/O and
 * no store here, so that it is unit-tested on its own; the server that
 * uses it is lib/node/node_resp.c.
 */
#ifndef WIRE_RESP_CMD_H
#define WIRE_RESP_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "resp/resp.h"

/* Redis's error texts, without the leading '-'. */
#define RESP_ERR_NOTINT "ERR value is not an integer or out of range"
#define RESP_ERR_NOTFLOAT "ERR value is not a valid float"
#define RESP_ERR_SYNTAX "ERR syntax error"
#define RESP_ERR_OVERFLOW "ERR increment or decrement would overflow"
#define RESP_ERR_NOPROTO "NOPROTO unsupported protocol version"

/* A decimal int64 the way Redis's string2ll reads it: optional '-', no
 * spaces, no '+', no leading zeros; "-0" refused. */
bool resp_parse_i64(const char *p, size_t n, int64_t *out);

/* Case-insensitive comparison of an argument with a NUL-terminated word. */
bool resp_arg_is(const resp_arg *a, const char *word);

/* Redis glob (stringmatchlen): * ? [abc] [^a] [a-z] and \x escapes.
 * `nocase` folds ASCII case. */
bool resp_glob_match(const char *pat, size_t plen, const char *s, size_t slen,
                     bool nocase);
/* Length of the literal prefix of a pattern (bytes before the first
 * special character), for prefix scans; escapes end the prefix. */
size_t resp_glob_prefix(const char *pat, size_t plen);

/* SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]. */
typedef struct resp_set_opts {
  bool nx, xx, get, keepttl;
  uint64_t expire_at; /* absolute ms; 0: none */
} resp_set_opts;

/* Parse argv[first..argc) of SET given the clock `now_ms`.  On error
 * returns false with the reply text (no '-') in err. */
bool resp_set_opts_parse(const resp_arg *argv, size_t argc, size_t first,
                         uint64_t now_ms, resp_set_opts *o, char *err,
                         size_t errsz);

/* Absolute expiry in ms from a relative amount (`unit_ms` 1000: seconds,
 * 1: ms) or an absolute one (`absolute`).  false on overflow. */
bool resp_expire_at(int64_t v, int64_t unit_ms, bool absolute, uint64_t now_ms,
                    int64_t *out);

/* "-ERR unknown command 'X', with args beginning with: 'a' 'b' \r\n" as
 * redis-server 7 words it, appended to out. */
int resp_unknown_command(core_buf *out, const resp_arg *argv, size_t argc);

#endif /* WIRE_RESP_CMD_H */
