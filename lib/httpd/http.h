/*
 * HTTP/1.1 on a libuv loop: the server behind the node's API and the small
 * client members use to talk to each other (forwarding, joining).  Parsing
 * is Node.js's http_parser (Debian's libhttp-parser-dev).
 *
 * Everything runs on the thread of the loop given at creation; nothing is
 * global, two servers may run on two loops in one process.
 *
 * Server model: one request at a time per connection.  When a request is
 * complete (headers and body) the handler gets it; reading and parsing of
 * that connection pause until the handler responds, so pipelined requests
 * are answered in order.  The handler may respond at once or later (after a
 * raft commit): a request stays valid until http_respond(), even when the
 * client went away meanwhile (http_req_aborted() then says so and the
 * response is dropped).  Every response carries Content-Length.
 */
#ifndef WIRE_HTTP_H
#define WIRE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "core/core.h"

typedef struct http_limits {
  size_t max_header;  /* bytes of the request line and headers (64 KiB) */
  size_t max_body;    /* bytes of a request body (9 MiB) */
  unsigned max_conns; /* open connections (4096); more are closed at once */
  unsigned idle_ms;   /* keep-alive connections idle this long close (60 s) */
} http_limits;

void http_limits_default(http_limits *lim);

typedef struct http_server http_server;
typedef struct http_req http_req;

/* Called once per complete request; must lead to exactly one
 * http_respond*() on this request, now or later (same thread). */
typedef void (*http_handler)(void *ud, http_req *req);

/* Listen on host:port (IPv4 or IPv6 literal; port 0: any free port).  On
 * failure err says why (address in use, ...). */
int http_server_start(uv_loop_t *loop, const char *host, int port,
                      const http_limits *lim, http_handler fn, void *ud,
                      const core_log *log, http_server **out, char *err,
                      size_t errsz);
int http_server_port(const http_server *s);
/* Stop listening and close every connection (pending requests are aborted
 * and stay valid until responded).  `done` (may be NULL) runs once every
 * handle is closed; the server is then freed. */
void http_server_close(http_server *s, void (*done)(void *), void *ud);

/* ---- requests --------------------------------------------------------------- */

const char *http_req_method(const http_req *r); /* "GET" */
/* The request target as sent: path and query, still percent-encoded. */
const char *http_req_target(const http_req *r, size_t *len);
/* Value of a header (case-insensitive name), NUL-terminated; NULL when
 * absent. */
const char *http_req_header(const http_req *r, const char *name);
const char *http_req_body(const http_req *r, size_t *len);
bool http_req_aborted(const http_req *r);

/* Add a response header ("Allow", "GET") before responding. */
void http_respond_header(http_req *r, const char *name, const char *value);
/* Respond (body copied; ctype NULL when there is no body) and release the
 * request.  HEAD requests get the headers only. */
void http_respond(http_req *r, int status, const char *ctype, const void *body,
                  size_t len);
/* {"error":{"code":"<code>","message":"<formatted>"}} */
void http_respond_error(http_req *r, int status, const char *code,
                        const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- client ------------------------------------------------------------------ */

typedef struct http_client http_client;

/* rc WIRE_OK with the response status and body, or WIRE_EAGAIN (could not
 * connect: the request was not sent, safe to retry), WIRE_EIO (failed
 * after connecting: the peer may have acted on it), WIRE_ETIMEDOUT,
 * WIRE_EPARSE, WIRE_ECANCELED (client closed), with `err` saying why.  Runs
 * exactly once, on the loop thread. */
typedef void (*http_client_cb)(void *ud, int rc, int status, const char *body,
                               size_t len, const char *err);

int http_client_new(uv_loop_t *loop, http_client **out);
/* One request on its own connection (Connection: close).  `host` is an IP
 * literal or a name; `path` is sent as is (percent-encode it); `headers`
 * is a NULL-terminated list of "Name: value" (may be NULL).  The callback
 * always runs, possibly before this returns (bad host). */
void http_client_request(http_client *c, const char *host, int port,
                         const char *method, const char *path,
                         const char *const *headers, const void *body,
                         size_t len, int timeout_ms, http_client_cb cb,
                         void *ud);
/* Fail every request in flight with WIRE_ECANCELED and free the client
 * once their handles are closed. */
void http_client_close(http_client *c);

/* Percent-encode bytes (everything but unreserved characters). */
void http_pct_encode(core_buf *out, const void *p, size_t n);

#endif /* WIRE_HTTP_H */
