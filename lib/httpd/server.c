/*
 * HTTP/1.1 server on libuv + http_parser (see http.h for the model).
 *
 * A connection owns a buffer of received bytes not yet parsed.  The parser
 * runs over it until a message completes; on_message_complete pauses the
 * parser (http_parser_pause), reading stops, and the request goes to the
 * handler.  http_respond() queues the response and resumes parsing of what
 * is buffered, then reading.  A request whose connection closes before the
 * response keeps living, detached (conn == NULL), until it is responded.
 */
#include <http_parser.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpd/http.h"

#define READ_CHUNK 65536

typedef struct conn conn;

struct http_req {
  conn *c; /* NULL once the connection is gone */
  char method[16];
  bool head, keep_alive;
  core_buf target;
  core_buf hdrs; /* name\0value\0name\0value\0... */
  core_buf body;
  core_buf extra; /* response headers */
  /* header parsing state */
  bool in_value;
  size_t name_at; /* offset of the header name being built */
};

struct conn {
  uv_tcp_t tcp;
  uv_timer_t idle;
  http_server *srv;
  http_parser parser;
  core_buf in;   /* received bytes */
  size_t off;    /* parsed up to here */
  http_req *req; /* being parsed, or waiting for its response */
  bool dispatched, reading, closing, close_after_write;
  bool in_parse, parse_again; /* parse_more() is on the stack / asked again */
  size_t header_bytes;
  int handles; /* open handles: tcp and timer */
  conn *prev, *next;
};

struct http_server {
  uv_loop_t *loop;
  uv_tcp_t listener;
  http_limits lim;
  http_handler fn;
  void *ud;
  const core_log *log;
  http_parser_settings settings;
  conn *conns;
  unsigned n_conns;
  int port;
  bool closing;
  int handles; /* listener + open connections */
  void (*done)(void *);
  void *done_ud;
};

typedef struct write_req {
  uv_write_t w;
  conn *c;
  char *buf;
} write_req;

void http_limits_default(http_limits *lim) {
  lim->max_header = 64 * 1024;
  lim->max_body = 9u * 1024 * 1024;
  lim->max_conns = 4096;
  lim->idle_ms = 60000;
}

/* ---- requests --------------------------------------------------------------- */

static void req_free(http_req *r) {
  core_buf_free(&r->target);
  core_buf_free(&r->hdrs);
  core_buf_free(&r->body);
  core_buf_free(&r->extra);
  core_free(r);
}

const char *http_req_method(const http_req *r) { return r->method; }

const char *http_req_target(const http_req *r, size_t *len) {
  *len = r->target.len;
  return r->target.data ? r->target.data : "";
}

const char *http_req_header(const http_req *r, const char *name) {
  const char *p = r->hdrs.data, *end = p + r->hdrs.len;
  while (p && p < end) {
    const char *v = p + strlen(p) + 1;
    if (v >= end) break;
    if (!strcasecmp(p, name)) return v;
    p = v + strlen(v) + 1;
  }
  return NULL;
}

const char *http_req_body(const http_req *r, size_t *len) {
  *len = r->body.len;
  return r->body.data ? r->body.data : "";
}

bool http_req_aborted(const http_req *r) { return r->c == NULL; }

void http_respond_header(http_req *r, const char *name, const char *value) {
  core_buf_printf(&r->extra, "%s: %s\r\n", name, value);
}

/* ---- connections ------------------------------------------------------------ */

static void server_maybe_done(http_server *s) {
  if (!s->closing || s->handles > 0) return;
  void (*done)(void *) = s->done;
  void *ud = s->done_ud;
  core_free(s);
  if (done) done(ud);
}

static void conn_handle_closed(uv_handle_t *h) {
  conn *c = h->data;
  if (--c->handles > 0) return;
  http_server *s = c->srv;
  core_buf_free(&c->in);
  core_free(c);
  s->handles--;
  server_maybe_done(s);
}

static void conn_close(conn *c) {
  if (c->closing) return;
  c->closing = true;
  http_server *s = c->srv;
  if (c->prev) c->prev->next = c->next;
  else s->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  s->n_conns--;
  if (c->req) {
    if (c->dispatched) c->req->c = NULL; /* the handler still owns it */
    else req_free(c->req);
    c->req = NULL;
  }
  uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
  uv_close((uv_handle_t *)&c->idle, conn_handle_closed);
}

static void on_write(uv_write_t *w, int status) {
  write_req *wr = (write_req *)w;
  conn *c = wr->c;
  core_free(wr->buf);
  core_free(wr);
  if (c->closing) return;
  if (status < 0 || (c->close_after_write && !c->req))
    conn_close(c);
}

/* Queue bytes on the connection (owned: freed after the write). */
static void conn_write(conn *c, char *buf, size_t len) {
  write_req *wr = core_malloc(sizeof *wr);
  if (!wr) {
    core_free(buf);
    conn_close(c);
    return;
  }
  wr->c = c;
  wr->buf = buf;
  uv_buf_t b = uv_buf_init(buf, (unsigned)len);
  if (uv_write(&wr->w, (uv_stream_t *)&c->tcp, &b, 1, on_write)) {
    core_free(buf);
    core_free(wr);
    conn_close(c);
  }
}

static const char *reason(int status) {
  const char *s = http_status_str((enum http_status)status);
  return s && *s ? s : "Unknown";
}

static void parse_more(conn *c);

/* Build and queue a response; `r` may be detached. */
static void send_response(conn *c, bool head, bool keep_alive,
                          const core_buf *extra, int status, const char *ctype,
                          const void *body, size_t len) {
  core_buf out = {0};
  /* RFC 9110 8.6: no Content-Length in 1xx and 204 responses (nor a body). */
  if (status == 204 || status < 200) {
    core_buf_printf(&out, "HTTP/1.1 %d %s\r\n", status, reason(status));
    len = 0;
  } else {
    core_buf_printf(&out, "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n",
                    status, reason(status), len);
  }
  if (ctype) core_buf_printf(&out, "Content-Type: %s\r\n", ctype);
  if (extra && extra->len) core_buf_append(&out, extra->data, extra->len);
  if (!keep_alive) core_buf_printf(&out, "Connection: close\r\n");
  core_buf_append(&out, "\r\n", 2);
  if (!head && len) core_buf_append(&out, body, len);
  if (!out.data) {
    conn_close(c);
    return;
  }
  conn_write(c, out.data, out.len);
}

void http_respond(http_req *r, int status, const char *ctype, const void *body,
                  size_t len) {
  conn *c = r->c;
  if (!c) { /* the client went away */
    req_free(r);
    return;
  }
  bool keep = r->keep_alive;
  send_response(c, r->head, keep, &r->extra, status, ctype, body, len);
  req_free(r);
  if (c->closing) return;
  c->req = NULL;
  c->dispatched = false;
  if (!keep) {
    c->close_after_write = true;
    return;
  }
  http_parser_pause(&c->parser, 0);
  parse_more(c);
}

void http_respond_error(http_req *r, int status, const char *code,
                        const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  core_buf b = {0};
  core_buf_printf(&b, "{\"error\":{\"code\":");
  core_buf_json_string(&b, code, strlen(code));
  core_buf_printf(&b, ",\"message\":");
  core_buf_json_string(&b, msg, strlen(msg));
  core_buf_printf(&b, "}}");
  http_respond(r, status, "application/json", b.data ? b.data : "", b.len);
  core_buf_free(&b);
}

/* An error found while parsing: answer it and close. */
static void conn_fail(conn *c, int status, const char *code, const char *msg) {
  if (c->req && !c->dispatched) {
    req_free(c->req);
    c->req = NULL;
  }
  core_buf b = {0};
  core_buf_printf(&b, "{\"error\":{\"code\":\"%s\",\"message\":", code);
  core_buf_json_string(&b, msg, strlen(msg));
  core_buf_printf(&b, "}}");
  send_response(c, false, false, NULL, status, "application/json",
                b.data ? b.data : "", b.len);
  core_buf_free(&b);
  c->close_after_write = true;
  if (c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
  }
}

/* ---- parser callbacks ------------------------------------------------------- */

static int on_message_begin(http_parser *p) {
  conn *c = p->data;
  c->req = core_calloc(1, sizeof *c->req);
  if (!c->req) return -1;
  c->req->c = c;
  c->header_bytes = 0;
  return 0;
}

static int count_header(conn *c, size_t n) {
  c->header_bytes += n;
  return c->header_bytes > c->srv->lim.max_header ? -1 : 0;
}

static int on_url(http_parser *p, const char *at, size_t n) {
  conn *c = p->data;
  if (count_header(c, n)) return -1;
  return core_buf_append(&c->req->target, at, n) ? -1 : 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n) {
  conn *c = p->data;
  http_req *r = c->req;
  if (count_header(c, n)) return -1;
  if (r->in_value) { /* a new header starts: terminate the previous value */
    if (core_buf_putc(&r->hdrs, '\0')) return -1;
    r->in_value = false;
    r->name_at = r->hdrs.len;
  }
  return core_buf_append(&r->hdrs, at, n) ? -1 : 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n) {
  conn *c = p->data;
  http_req *r = c->req;
  if (count_header(c, n)) return -1;
  if (!r->in_value) {
    if (core_buf_putc(&r->hdrs, '\0')) return -1;
    r->in_value = true;
  }
  return core_buf_append(&r->hdrs, at, n) ? -1 : 0;
}

static int on_headers_complete(http_parser *p) {
  conn *c = p->data;
  http_req *r = c->req;
  if (r->in_value && core_buf_putc(&r->hdrs, '\0')) return -1;
  r->in_value = false;
  if (core_buf_putc(&r->target, '\0')) return -1;
  r->target.len--;
  snprintf(r->method, sizeof r->method, "%s",
           http_method_str((enum http_method)p->method));
  r->head = p->method == HTTP_HEAD;
  r->keep_alive = http_should_keep_alive(p) != 0;
  if ((p->flags & F_CONTENTLENGTH) &&
      p->content_length > c->srv->lim.max_body) {
    c->header_bytes = (size_t)-1; /* marks "body too large" */
    return -1;
  }
  const char *expect = http_req_header(r, "Expect");
  if (expect && !strcasecmp(expect, "100-continue")) {
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    char *b = core_malloc(sizeof cont - 1);
    if (!b) return -1;
    memcpy(b, cont, sizeof cont - 1);
    conn_write(c, b, sizeof cont - 1);
  }
  return 0;
}

static int on_body(http_parser *p, const char *at, size_t n) {
  conn *c = p->data;
  http_req *r = c->req;
  if (r->body.len + n > c->srv->lim.max_body) {
    c->header_bytes = (size_t)-1;
    return -1;
  }
  return core_buf_append(&r->body, at, n) ? -1 : 0;
}

static int on_message_complete(http_parser *p) {
  conn *c = p->data;
  c->dispatched = true;
  http_parser_pause(p, 1);
  return 0;
}

/* ---- reading ------------------------------------------------------------------ */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  conn *c = h->data;
  if (core_buf_reserve(&c->in, READ_CHUNK)) {
    *buf = uv_buf_init(NULL, 0);
    return;
  }
  *buf = uv_buf_init(c->in.data + c->in.len, (unsigned)(c->in.cap - c->in.len));
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
  (void)buf;
  conn *c = st->data;
  if (n < 0) {
    conn_close(c);
    return;
  }
  if (n == 0) return;
  c->in.len += (size_t)n;
  uv_timer_again(&c->idle);
  if (c->dispatched) {
    /* A request is with the handler: buffer, within bounds. */
    if (c->in.len - c->off > c->srv->lim.max_header + c->srv->lim.max_body) {
      uv_read_stop((uv_stream_t *)&c->tcp);
      c->reading = false;
    }
    return;
  }
  parse_more(c);
}

static void on_idle(uv_timer_t *t) {
  conn *c = t->data;
  if (c->dispatched || c->closing) return; /* a response is pending */
  if (c->req && !c->close_after_write) /* half a request, then silence */
    conn_fail(c, 408, "timeout", "request not received within the idle "
                                 "timeout");
  else if (!c->req)
    conn_close(c);
}

static void start_reading(conn *c) {
  if (c->reading || c->closing) return;
  if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
    c->reading = true;
  else
    conn_close(c);
}

static void parse_once(conn *c);

/* Parse what is buffered; dispatch a complete request or read more.  A
 * handler that answers at once calls back into here (http_respond): that
 * only asks the outer call to go on, so pipelined requests are served in a
 * loop, never by recursion (which a client could drive as deep as it has
 * requests buffered). */
static void parse_more(conn *c) {
  if (c->in_parse) {
    c->parse_again = true;
    return;
  }
  c->in_parse = true;
  do {
    c->parse_again = false;
    parse_once(c);
  } while (c->parse_again && !c->closing);
  c->in_parse = false;
}

static void parse_once(conn *c) {
  if (c->closing || c->dispatched) return;
  while (c->off < c->in.len) {
    size_t n = http_parser_execute(&c->parser, &c->srv->settings,
                                   c->in.data + c->off, c->in.len - c->off);
    c->off += n;
    enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
    if (e == HPE_PAUSED) break;
    if (e != HPE_OK) {
      if (c->header_bytes == (size_t)-1)
        conn_fail(c, 413, "too_big", "request body too large");
      else if (e == HPE_HEADER_OVERFLOW || c->header_bytes > c->srv->lim.max_header)
        conn_fail(c, 431, "headers_too_large",
                  "request line and headers too large");
      else {
        char msg[200];
        snprintf(msg, sizeof msg, "malformed HTTP request: %s",
                 http_errno_description(e));
        conn_fail(c, 400, "bad_request", msg);
      }
      return;
    }
  }
  /* Drop parsed bytes. */
  if (c->off == c->in.len) {
    c->in.len = c->off = 0;
  } else if (c->off > READ_CHUNK) {
    memmove(c->in.data, c->in.data + c->off, c->in.len - c->off);
    c->in.len -= c->off;
    c->off = 0;
  }
  if (c->dispatched) {
    /* Reading goes on while the handler works (pipelined requests are
     * buffered, not parsed); stopping and restarting it for every request
     * would cost two epoll_ctl calls each.  on_read stops it when too much
     * piles up. */
    http_req *r = c->req;
    c->srv->fn(c->srv->ud, r); /* may respond (and free r) right away */
    return;
  }
  start_reading(c);
}

static void on_connection(uv_stream_t *ls, int status) {
  http_server *s = ls->data;
  if (status < 0 || s->closing) return;
  conn *c = core_calloc(1, sizeof *c);
  if (!c) return;
  c->srv = s;
  uv_tcp_init(s->loop, &c->tcp);
  uv_timer_init(s->loop, &c->idle);
  c->tcp.data = c->idle.data = c;
  c->handles = 2;
  s->handles++;
  c->next = s->conns;
  if (s->conns) s->conns->prev = c;
  s->conns = c;
  s->n_conns++;
  if (uv_accept(ls, (uv_stream_t *)&c->tcp) || s->n_conns > s->lim.max_conns) {
    conn_close(c);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  http_parser_init(&c->parser, HTTP_REQUEST);
  c->parser.data = c;
  uv_timer_start(&c->idle, on_idle, s->lim.idle_ms, s->lim.idle_ms);
  start_reading(c);
}

/* ---- server ------------------------------------------------------------------------ */

static void free_on_close(uv_handle_t *h) { core_free(h->data); }

int http_server_start(uv_loop_t *loop, const char *host, int port,
                      const http_limits *lim, http_handler fn, void *ud,
                      const core_log *log, http_server **out, char *err,
                      size_t errsz) {
  *out = NULL;
  struct sockaddr_storage sa;
  int rv = strchr(host, ':')
               ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&sa)
               : uv_ip4_addr(host, port, (struct sockaddr_in *)&sa);
  if (rv)
    return core_msg(err, errsz, WIRE_EINVAL,
                    "listen address %s is not an IP address", host);
  http_server *s = core_calloc(1, sizeof *s);
  if (!s) return core_msg(err, errsz, WIRE_ENOMEM, "out of memory");
  s->loop = loop;
  if (lim) s->lim = *lim;
  else http_limits_default(&s->lim);
  s->fn = fn;
  s->ud = ud;
  s->log = log;
  http_parser_settings_init(&s->settings);
  s->settings.on_message_begin = on_message_begin;
  s->settings.on_url = on_url;
  s->settings.on_header_field = on_header_field;
  s->settings.on_header_value = on_header_value;
  s->settings.on_headers_complete = on_headers_complete;
  s->settings.on_body = on_body;
  s->settings.on_message_complete = on_message_complete;
  uv_tcp_init(loop, &s->listener);
  s->listener.data = s;
  s->handles = 1;
  rv = uv_tcp_bind(&s->listener, (struct sockaddr *)&sa, 0);
  if (!rv) rv = uv_listen((uv_stream_t *)&s->listener, 511, on_connection);
  if (rv) {
    core_msg(err, errsz, WIRE_EIO, "cannot listen on %s:%d: %s", host, port,
             uv_strerror(rv));
    uv_close((uv_handle_t *)&s->listener, free_on_close);
    return WIRE_EIO;
  }
  struct sockaddr_storage bound;
  int blen = sizeof bound;
  uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &blen);
  s->port = bound.ss_family == AF_INET6
                ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                : ntohs(((struct sockaddr_in *)&bound)->sin_port);
  *out = s;
  return WIRE_OK;
}

int http_server_port(const http_server *s) { return s->port; }

static void listener_closed(uv_handle_t *h) {
  http_server *s = h->data;
  s->handles--;
  server_maybe_done(s);
}

void http_server_close(http_server *s, void (*done)(void *), void *ud) {
  if (!s || s->closing) return;
  s->closing = true;
  s->done = done;
  s->done_ud = ud;
  while (s->conns) conn_close(s->conns);
  uv_close((uv_handle_t *)&s->listener, listener_closed);
}
