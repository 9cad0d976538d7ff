/*
 * libFuzzer target for the HTTP server's request path (lib/httpd): request
 * line and header parsing, limits, chunked bodies, 100-continue,
 * pipelining, deferred responses and requests aborted by a departed client.
 *
 * lib/httpd has no socket-less entry point to its parser, so each input goes
 * over loopback TCP to a real server on the same loop: connect, write the
 * bytes, shut the write side down, read until the server closes.  The
 * handler answers at once, or (targets starting "/d") from a timer one loop
 * iteration later, which the client's EOF usually turns into an aborted
 * request.  All state lives in one struct created on the first input.
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=false -Db_lundef=false
 *   ninja -C build-fuzz
 *   ./build-fuzz/tests/fuzz/fuzz_http_request -max_total_time=60 \
 *       tests/fuzz/corpus/http
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpd/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fz {
  uv_loop_t loop;
  http_server *srv;
  int port;
  int deferred; /* responses still to give */
} fz;

typedef struct later {
  uv_timer_t t;
  http_req *req;
  fz *f;
} later;

typedef struct cli {
  uv_tcp_t tcp;
  uv_connect_t conn;
  uv_write_t w;
  uv_shutdown_t sh;
  char rbuf[4096];
  size_t got;
  bool closed;
} cli;

static void later_closed(uv_handle_t *h) { free(h->data); }

static void later_fire(uv_timer_t *t) {
  later *l = t->data;
  (void)http_req_aborted(l->req);
  http_respond_error(l->req, 503, "later", "deferred %s", "answer");
  l->f->deferred--;
  uv_close((uv_handle_t *)&l->t, later_closed);
}

/* Touch everything a request offers, then answer. */
static void handler(void *ud, http_req *req) {
  fz *f = ud;
  size_t tl, bl;
  const char *target = http_req_target(req, &tl);
  const char *body = http_req_body(req, &bl);
  const char *host = http_req_header(req, "host");
  const char *method = http_req_method(req);
  if (tl >= 2 && target[0] == '/' && target[1] == 'd') {
    later *l = calloc(1, sizeof *l);
    if (!l) abort();
    l->req = req;
    l->f = f;
    uv_timer_init(&f->loop, &l->t);
    l->t.data = l;
    uv_timer_start(&l->t, later_fire, 0, 0);
    f->deferred++;
    return;
  }
  if (bl && body[0] == 'e') {
    /* The target as a message: exercises JSON escaping of raw bytes. */
    http_respond_error(req, 400, "echo", "%.*s", (int)tl, target);
    return;
  }
  if (host) http_respond_header(req, "X-Host-Len", bl ? "1" : "0");
  http_respond(req, 200, method[0] == 'G' ? "text/plain" : NULL, body, bl);
}

static fz *fz_get(void) {
  static fz *f;
  if (f) return f;
  f = calloc(1, sizeof *f);
  if (!f || uv_loop_init(&f->loop)) abort();
  http_limits lim;
  http_limits_default(&lim);
  lim.max_header = 1024;
  lim.max_body = 512;
  char err[256];
  if (http_server_start(&f->loop, "127.0.0.1", 0, &lim, handler, f, NULL,
                        &f->srv, err, sizeof err) != WIRE_OK) {
    fprintf(stderr, "fuzz_http_request: %s\n", err);
    abort();
  }
  f->port = http_server_port(f->srv);
  return f;
}

static void cli_closed(uv_handle_t *h) {
  cli *c = h->data;
  c->closed = true;
}

static void cli_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  (void)hint;
  cli *c = h->data;
  *b = uv_buf_init(c->rbuf, sizeof c->rbuf);
}

static void cli_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  (void)b;
  cli *c = s->data;
  if (n > 0) {
    c->got += (size_t)n;
    return;
  }
  if (n < 0 && !uv_is_closing((uv_handle_t *)&c->tcp))
    uv_close((uv_handle_t *)&c->tcp, cli_closed);
}

static void cli_shut(uv_shutdown_t *r, int status) { (void)r, (void)status; }
static void cli_wrote(uv_write_t *w, int status) { (void)w, (void)status; }

static void cli_connected(uv_connect_t *r, int status) {
  cli *c = r->data;
  if (status < 0) {
    uv_close((uv_handle_t *)&c->tcp, cli_closed);
    return;
  }
  uv_read_start((uv_stream_t *)&c->tcp, cli_alloc, cli_read);
  uv_shutdown(&c->sh, (uv_stream_t *)&c->tcp, cli_shut);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz *f = fz_get();
  cli c = {0};
  uv_tcp_init(&f->loop, &c.tcp);
  c.tcp.data = c.conn.data = &c;
  struct sockaddr_in sa;
  uv_ip4_addr("127.0.0.1", f->port, &sa);
  if (uv_tcp_connect(&c.conn, &c.tcp, (struct sockaddr *)&sa, cli_connected)) {
    uv_close((uv_handle_t *)&c.tcp, cli_closed);
  } else if (size) {
    /* Queued before the shutdown (issued on connect): written first. */
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)size);
    uv_write(&c.w, (uv_stream_t *)&c.tcp, &b, 1, cli_wrote);
  }
  /* The server holds no other handles than its listener once the client
   * is gone and every deferred answer was given. */
  while (!c.closed || f->deferred > 0) uv_run(&f->loop, UV_RUN_ONCE);
  return 0;
}
