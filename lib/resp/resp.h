/*
 * RESP2 (the Redis serialization protocol, version 2): an incremental
 * request parser and reply writers.  No I/O here: the server (later, on the
 * node thread) feeds whatever bytes a read returned and gets complete
 * commands out, so pipelining (many commands in one read) and partial reads
 * (a command split across reads at any byte) are the same code path.
 *
 * Requests come in two forms:
 *   multibulk  *<n>\r\n then n times $<len>\r\n<len bytes>\r\n
 *   inline     words separated by spaces or tabs, ending in \n (an optional
 *              \r before it), with "double" (backslash escapes, \xHH) and
 *              'single' quotes as redis-server understands them
 *
 * Limits (resp_limits) are checked as soon as a header announces a size,
 * before anything is buffered: a bulk longer than max_bulk, an array longer
 * than max_args, an inline line longer than max_inline.  A protocol error
 * puts the parser in a terminal state: the server replies with the error
 * (Redis's own texts) and closes the connection, as redis-server does.
 */
#ifndef WIRE_RESP_H
#define WIRE_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

typedef struct resp_limits {
  size_t max_bulk;   /* bytes of one argument (default 512 MiB as Redis; the
                        node lowers it to its value limit plus slack) */
  size_t max_args;   /* arguments of one command (default 1M) */
  size_t max_inline; /* bytes of one inline command (default 64 KiB) */
} resp_limits;

void resp_limits_default(resp_limits *lim);

/* One argument of a parsed command: points into the parser's buffer, valid
 * until the next resp_parser_next() or resp_parser_feed() call. */
typedef struct resp_arg {
  const char *ptr;
  size_t len;
} resp_arg;

typedef enum resp_rc {
  RESP_NEED_MORE = 0, /* no complete command buffered */
  RESP_COMMAND = 1,   /* argv and argc hold one command */
  RESP_ERROR = -1     /* protocol error: resp_parser_error() says which */
} resp_rc;

typedef struct resp_parser {
  resp_limits lim;
  core_buf in;      /* received bytes; [0, pos) are consumed */
  size_t pos;       /* parse position in `in` */
  core_buf scratch; /* unescaped inline arguments */
  resp_arg *argv;   /* returned to the caller */
  size_t *off;      /* (offset, length) pairs: into `in` (multibulk) or `scratch` (inline) */
  size_t argc, cap;
  /* multibulk state, kept across feeds so that a big command is parsed
   * once, not again at every read */
  size_t want;      /* arguments announced by the '*' header; 0: between
                       commands */
  bool failed;
  char err[160];
} resp_parser;

void resp_parser_init(resp_parser *p, const resp_limits *lim);
void resp_parser_free(resp_parser *p);

/* Append bytes read from the connection.  WIRE_OK or WIRE_ENOMEM. */
int resp_parser_feed(resp_parser *p, const void *data, size_t len);

/* Parse the next complete command.  RESP_COMMAND with *argv (argc >= 1;
 * empty inline lines are skipped, as Redis does) or RESP_NEED_MORE or
 * RESP_ERROR.  Loop until RESP_NEED_MORE to drain a pipelined read. */
resp_rc resp_parser_next(resp_parser *p, resp_arg **argv, size_t *argc);

/* The protocol error, in the form Redis sends it without the leading '-'
 * ("ERR Protocol error: invalid bulk length"). */
const char *resp_parser_error(const resp_parser *p);

/* Bytes buffered but not yet parsed (for per-client limits). */
size_t resp_parser_buffered(const resp_parser *p);

/* ---- replies ------------------------------------------------------------ */

int resp_simple(core_buf *out, const char *s);                 /* +OK */
int resp_error(core_buf *out, const char *fmt, ...)            /* -ERR ... */
    __attribute__((format(printf, 2, 3)));
int resp_int(core_buf *out, int64_t v);                        /* :42 */
int resp_bulk(core_buf *out, const void *p, size_t n);         /* $n ... */
int resp_null(core_buf *out);                                  /* $-1 */
int resp_array(core_buf *out, size_t n);                       /* *n */
int resp_null_array(core_buf *out);                            /* *-1 */

#endif /* WIRE_RESP_H */
