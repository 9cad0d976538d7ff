/*
 * Minimal HTTP/1.1 client on libuv + http_parser: one request per
 * connection (Connection: close), a timeout covering resolve, connect,
 * write and read, and cancellation of everything in flight when the client
 * closes.  Used between members (forwarding to the leader, joining), where
 * requests are few and small next to what they wait for (a raft commit).
 */
#include <http_parser.h>
#include <stdio.h>
#include <string.h>

#include "httpd/http.h"

typedef struct creq creq;

struct http_client {
  uv_loop_t *loop;
  creq *reqs;
  bool closing;
};

struct creq {
  http_client *cl;
  creq *prev, *next;
  uv_getaddrinfo_t gai;
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_connect_t connect;
  uv_write_t write;
  http_parser parser;
  core_buf out;  /* request bytes */
  core_buf body; /* response body */
  core_buf in;   /* read buffer */
  int port;
  int handles; /* open handles (tcp, timer) */
  bool resolving, tcp_open, done;
  http_client_cb cb;
  void *ud;
};

static http_parser_settings settings_of(void);

int http_client_new(uv_loop_t *loop, http_client **out) {
  http_client *c = core_calloc(1, sizeof *c);
  if (!c) return WIRE_ENOMEM;
  c->loop = loop;
  *out = c;
  return WIRE_OK;
}

static void client_maybe_free(http_client *c) {
  if (c->closing && !c->reqs) core_free(c);
}

/* Drop one reference (a handle closed, or the resolver returned). */
static void creq_release(creq *r) {
  if (--r->handles > 0) return;
  http_client *c = r->cl;
  if (r->prev) r->prev->next = r->next;
  else c->reqs = r->next;
  if (r->next) r->next->prev = r->prev;
  core_buf_free(&r->out);
  core_buf_free(&r->body);
  core_buf_free(&r->in);
  core_free(r);
  client_maybe_free(c);
}

static void creq_handle_closed(uv_handle_t *h) { creq_release(h->data); }

/* Finish once: callback, then close handles (the request is freed when
 * they are closed; a pending getaddrinfo is cancelled first). */
static void finish(creq *r, int rc, int status, const char *err) {
  if (r->done) return;
  r->done = true;
  r->cb(r->ud, rc, status, r->body.data ? r->body.data : "", r->body.len,
        err);
  if (r->resolving) uv_cancel((uv_req_t *)&r->gai);
  uv_close((uv_handle_t *)&r->timer, creq_handle_closed);
  if (r->tcp_open) uv_close((uv_handle_t *)&r->tcp, creq_handle_closed);
}

static void failf(creq *r, int rc, const char *fmt, const char *detail) {
  char msg[300];
  snprintf(msg, sizeof msg, fmt, detail);
  finish(r, rc, 0, msg);
}

static int on_body(http_parser *p, const char *at, size_t n) {
  creq *r = p->data;
  return core_buf_append(&r->body, at, n) ? -1 : 0;
}

static int on_complete(http_parser *p) {
  creq *r = p->data;
  finish(r, WIRE_OK, p->status_code, NULL);
  http_parser_pause(p, 1);
  return 0;
}

static http_parser_settings settings_of(void) {
  http_parser_settings s;
  http_parser_settings_init(&s);
  s.on_body = on_body;
  s.on_message_complete = on_complete;
  return s;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  creq *r = h->data;
  r->in.len = 0;
  if (core_buf_reserve(&r->in, 65536)) {
    *buf = uv_buf_init(NULL, 0);
    return;
  }
  *buf = uv_buf_init(r->in.data, (unsigned)r->in.cap);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
  creq *r = st->data;
  if (r->done) return;
  http_parser_settings s = settings_of();
  if (n == UV_EOF) {
    /* End of a close-delimited body (or a truncated response). */
    http_parser_execute(&r->parser, &s, NULL, 0);
    if (!r->done)
      failf(r, WIRE_EIO, "connection closed before the response was complete%s",
            "");
    return;
  }
  if (n < 0) {
    failf(r, WIRE_EIO, "read: %s", uv_strerror((int)n));
    return;
  }
  size_t got = http_parser_execute(&r->parser, &s, buf->base, (size_t)n);
  enum http_errno e = HTTP_PARSER_ERRNO(&r->parser);
  if (!r->done && (e != HPE_OK || got != (size_t)n))
    failf(r, WIRE_EPARSE, "malformed response: %s", http_errno_description(e));
}

static void on_write(uv_write_t *w, int status) {
  creq *r = w->data;
  if (r->done) return;
  if (status < 0) failf(r, WIRE_EIO, "write: %s", uv_strerror(status));
}

static void on_connect(uv_connect_t *cr, int status) {
  creq *r = cr->data;
  if (r->done) return;
  if (status < 0) {
    char msg[300];
    snprintf(msg, sizeof msg, "connect to port %d: %s", r->port,
             uv_strerror(status));
    finish(r, WIRE_EAGAIN, 0, msg); /* nothing was sent */
    return;
  }
  uv_buf_t b = uv_buf_init(r->out.data, (unsigned)r->out.len);
  r->write.data = r;
  if (uv_write(&r->write, (uv_stream_t *)&r->tcp, &b, 1, on_write) ||
      uv_read_start((uv_stream_t *)&r->tcp, on_alloc, on_read))
    failf(r, WIRE_EIO, "cannot send the request%s", "");
}

static void start_connect(creq *r, const struct sockaddr *sa) {
  if (uv_tcp_init(r->cl->loop, &r->tcp)) {
    failf(r, WIRE_EIO, "socket%s", "");
    return;
  }
  r->tcp.data = r;
  r->tcp_open = true;
  r->handles++;
  uv_tcp_nodelay(&r->tcp, 1);
  r->connect.data = r;
  int rv = uv_tcp_connect(&r->connect, &r->tcp, sa, on_connect);
  if (rv) failf(r, WIRE_EIO, "connect: %s", uv_strerror(rv));
}

static void on_resolved(uv_getaddrinfo_t *g, int status, struct addrinfo *ai) {
  creq *r = g->data;
  r->resolving = false;
  if (!r->done) {
    if (status < 0 || !ai)
      failf(r, WIRE_EIO, "cannot resolve the host: %s",
            status < 0 ? uv_strerror(status) : "no address");
    else
      start_connect(r, ai->ai_addr);
  }
  uv_freeaddrinfo(ai);
  creq_release(r); /* the resolver's reference */
}

static void on_timeout(uv_timer_t *t) {
  creq *r = t->data;
  failf(r, WIRE_ETIMEDOUT, "no response within the timeout%s", "");
}

void http_client_request(http_client *c, const char *host, int port,
                         const char *method, const char *path,
                         const char *const *headers, const void *body,
                         size_t len, int timeout_ms, http_client_cb cb,
                         void *ud) {
  if (c->closing) {
    cb(ud, WIRE_ECANCELED, 0, "", 0, "client closed");
    return;
  }
  creq *r = core_calloc(1, sizeof *r);
  if (!r) {
    cb(ud, WIRE_ENOMEM, 0, "", 0, "out of memory");
    return;
  }
  r->cl = c;
  r->cb = cb;
  r->ud = ud;
  r->port = port;
  r->next = c->reqs;
  if (c->reqs) c->reqs->prev = r;
  c->reqs = r;
  uv_timer_init(c->loop, &r->timer);
  r->timer.data = r;
  r->handles = 1;
  http_parser_init(&r->parser, HTTP_RESPONSE);
  r->parser.data = r;
  bool v6 = strchr(host, ':') != NULL;
  core_buf_printf(&r->out, "%s %s HTTP/1.1\r\nHost: %s%s%s:%d\r\n"
                           "Connection: close\r\nContent-Length: %zu\r\n",
                  method, path, v6 ? "[" : "", host, v6 ? "]" : "", port, len);
  for (size_t i = 0; headers && headers[i]; i++)
    core_buf_printf(&r->out, "%s\r\n", headers[i]);
  core_buf_append(&r->out, "\r\n", 2);
  if (len) core_buf_append(&r->out, body, len);
  if (!r->out.data) {
    failf(r, WIRE_ENOMEM, "out of memory%s", "");
    return;
  }
  uv_timer_start(&r->timer, on_timeout, (uint64_t)(timeout_ms > 0 ? timeout_ms : 5000), 0);
  struct sockaddr_storage sa;
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)&sa) == 0 ||
      uv_ip6_addr(host, port, (struct sockaddr_in6 *)&sa) == 0) {
    start_connect(r, (struct sockaddr *)&sa);
    return;
  }
  char service[16];
  snprintf(service, sizeof service, "%d", port);
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  r->gai.data = r;
  r->resolving = true;
  r->handles++;
  int rv = uv_getaddrinfo(c->loop, &r->gai, on_resolved, host, service, &hints);
  if (rv) {
    r->resolving = false;
    r->handles--;
    failf(r, WIRE_EIO, "cannot resolve the host: %s", uv_strerror(rv));
  }
}

void http_client_close(http_client *c) {
  if (!c || c->closing) return;
  c->closing = true;
  for (creq *r = c->reqs; r; r = r->next)
    if (!r->done) finish(r, WIRE_ECANCELED, 0, "client closed");
  client_maybe_free(c);
}

void http_pct_encode(core_buf *out, const void *p, size_t n) {
  static const char hex[] = "0123456789ABCDEF";
  const unsigned char *s = p;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = s[i];
    if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
        (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' ||
        ch == '~') {
      core_buf_putc(out, (char)ch);
    } else {
      char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
      core_buf_append(out, e, 3);
    }
  }
}
