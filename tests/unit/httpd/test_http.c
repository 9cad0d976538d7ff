/*
 * HTTP server and client (lib/httpd) over real sockets on 127.0.0.1.
 *
 * The server runs on a loop in a second thread; the tests talk to it with
 * raw sockets (pipelining, requests split byte by byte, limits, clients
 * that leave while their response is deferred) and with the client API.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "httpd/http.h"

/* ---- server fixture --------------------------------------------------- */

typedef struct fixture {
  uv_loop_t loop;
  uv_async_t stop;
  uv_thread_t th;
  http_server *srv;
  int port;
  atomic_int aborted; /* deferred responses whose client was gone */
} fixture;

typedef struct deferred {
  uv_timer_t t;
  http_req *req;
  fixture *f;
} deferred;

static void deferred_closed(uv_handle_t *h) { free(h->data); }

static void deferred_fire(uv_timer_t *t) {
  deferred *d = t->data;
  if (http_req_aborted(d->req)) d->f->aborted++;
  http_respond(d->req, 200, "text/plain", "slow", 4);
  uv_close((uv_handle_t *)&d->t, deferred_closed);
}

/* Echo: "METHOD TARGET body=<body> x=<X-Test header>". /slow answers 50 ms
 * later from a timer. */
static void handler(void *ud, http_req *req) {
  fixture *f = ud;
  size_t tl, bl;
  const char *target = http_req_target(req, &tl);
  if (!strcmp(target, "/slow")) {
    deferred *d = calloc(1, sizeof *d);
    d->req = req;
    d->f = f;
    uv_timer_init(&f->loop, &d->t);
    d->t.data = d;
    uv_timer_start(&d->t, deferred_fire, 50, 0);
    return;
  }
  if (!strcmp(target, "/error")) {
    http_respond_error(req, 409, "conflict", "quote \" and %d", 7);
    return;
  }
  const char *body = http_req_body(req, &bl);
  const char *x = http_req_header(req, "x-test");
  char out[4096];
  int n = snprintf(out, sizeof out, "%s %.*s body=%.*s x=%s",
                   http_req_method(req), (int)tl, target, (int)bl, body,
                   x ? x : "-");
  http_respond_header(req, "X-Echo", "1");
  http_respond(req, 200, "text/plain", out, (size_t)n);
}

static void on_stop(uv_async_t *a) {
  fixture *f = a->data;
  http_server_close(f->srv, NULL, NULL);
  uv_close((uv_handle_t *)&f->stop, NULL);
}

static void loop_main(void *arg) {
  fixture *f = arg;
  uv_run(&f->loop, UV_RUN_DEFAULT);
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  uv_loop_init(&f->loop);
  uv_async_init(&f->loop, &f->stop, on_stop);
  f->stop.data = f;
  http_limits lim;
  http_limits_default(&lim);
  lim.max_header = 2048;
  lim.max_body = 1000;
  char err[200];
  assert_int_equal(http_server_start(&f->loop, "127.0.0.1", 0, &lim, handler,
                                     f, NULL, &f->srv, err, sizeof err),
                   WIRE_OK);
  f->port = http_server_port(f->srv);
  assert_true(f->port > 0);
  uv_thread_create(&f->th, loop_main, f);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  uv_async_send(&f->stop);
  uv_thread_join(&f->th);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  free(f);
  return 0;
}

/* ---- raw socket helpers ------------------------------------------------ */

static int dial(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

static void send_str(int fd, const char *s, size_t n) {
  assert_int_equal(send(fd, s, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Read until the peer closes or `want` responses (by counting "HTTP/1.1 "
 * status lines other than 100) are complete.  Returns malloc'd text. */
static char *read_all(int fd, int want) {
  size_t cap = 1 << 16, len = 0;
  char *buf = calloc(1, cap);
  for (;;) {
    /* Count complete responses: header end plus Content-Length bytes. */
    int done = 0;
    const char *p = buf;
    while ((p = strstr(p, "HTTP/1.1 ")) != NULL) {
      const char *he = strstr(p, "\r\n\r\n");
      if (!he) break;
      if (!strncmp(p, "HTTP/1.1 100", 12)) {
        p = he + 4;
        continue;
      }
      const char *cl = strstr(p, "Content-Length: ");
      size_t blen = cl && cl < he ? strtoul(cl + 16, NULL, 10) : 0;
      if ((size_t)(he + 4 - buf) + blen > len) break;
      done++;
      p = he + 4 + blen;
    }
    if (want && done >= want) break;
    ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
    if (r <= 0) break;
    len += (size_t)r;
  }
  buf[len] = '\0';
  return buf;
}

#define SEND(fd, lit) send_str(fd, lit, sizeof lit - 1)

static int count(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
  return n;
}

/* ---- tests --------------------------------------------------------------------- */

static void test_pipelined_in_order(void **state) {
  fixture *f = *state;
  int fd = dial(f->port);
  const char req[] =
      "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
      "PUT /b?q=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nX-Test: t\r\n\r\nhello"
      "GET /c HTTP/1.1\r\nHost: x\r\n\r\n";
  send_str(fd, req, sizeof req - 1);
  char *out = read_all(fd, 3);
  const char *a = strstr(out, "slow"), *b = strstr(out, "PUT /b?q=1 body=hello x=t"),
             *c = strstr(out, "GET /c body= x=-");
  assert_non_null(a);
  assert_non_null(b);
  assert_non_null(c);
  assert_true(a < b && b < c); /* the deferred one first: order kept */
  assert_int_equal(count(out, "X-Echo: 1"), 2);
  free(out);
  close(fd);
}

static void test_split_byte_by_byte(void **state) {
  fixture *f = *state;
  int fd = dial(f->port);
  const char req[] =
      "POST /split HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  for (size_t i = 0; i < sizeof req - 1; i++) {
    send_str(fd, req + i, 1);
    usleep(200);
  }
  char *out = read_all(fd, 1);
  assert_non_null(strstr(out, "HTTP/1.1 200 OK"));
  assert_non_null(strstr(out, "POST /split body=abcde"));
  free(out);
  close(fd);
}

static void test_limits_and_errors(void **state) {
  fixture *f = *state;
  /* Body larger than the limit, announced: 413 at once, closed. */
  int fd = dial(f->port);
  const char big[] = "PUT /x HTTP/1.1\r\nContent-Length: 1001\r\n\r\n";
  send_str(fd, big, sizeof big - 1);
  char *out = read_all(fd, 0);
  assert_non_null(strstr(out, "HTTP/1.1 413"));
  assert_non_null(strstr(out, "\"code\":\"too_big\""));
  assert_non_null(strstr(out, "Connection: close"));
  free(out);
  close(fd);
  /* Headers over the limit: 431. */
  fd = dial(f->port);
  char hdr[4096];
  int n = snprintf(hdr, sizeof hdr, "GET / HTTP/1.1\r\nX-Big: %03000d\r\n\r\n", 1);
  send_str(fd, hdr, (size_t)n);
  out = read_all(fd, 0);
  assert_non_null(strstr(out, "HTTP/1.1 431"));
  free(out);
  close(fd);
  /* Garbage request line: 400 with the parser's reason. */
  fd = dial(f->port);
  SEND(fd, "HELLO\r\n\r\n");
  out = read_all(fd, 0);
  assert_non_null(strstr(out, "HTTP/1.1 400"));
  assert_non_null(strstr(out, "malformed HTTP request"));
  free(out);
  close(fd);
  /* JSON error body escapes quotes. */
  fd = dial(f->port);
  SEND(fd, "GET /error HTTP/1.1\r\n\r\n");
  out = read_all(fd, 1);
  assert_non_null(strstr(out, "HTTP/1.1 409 Conflict"));
  assert_non_null(strstr(out, "{\"error\":{\"code\":\"conflict\",\"message\":"
                              "\"quote \\\" and 7\"}}"));
  free(out);
  close(fd);
}

static void test_keepalive_close_head_continue(void **state) {
  fixture *f = *state;
  int fd = dial(f->port);
  SEND(fd, "GET /1 HTTP/1.1\r\n\r\n");
  char *out = read_all(fd, 1);
  assert_non_null(strstr(out, "GET /1"));
  free(out);
  SEND(fd, "GET /2 HTTP/1.1\r\n\r\n"); /* same connection */
  out = read_all(fd, 1);
  assert_non_null(strstr(out, "GET /2"));
  free(out);
  close(fd);

  /* HEAD: Content-Length of the body that is not sent. */
  fd = dial(f->port);
  SEND(fd, "HEAD /h HTTP/1.1\r\nConnection: close\r\n\r\n");
  out = read_all(fd, 0);
  assert_non_null(strstr(out, "Content-Length: 17")); /* "HEAD /h body= x=-" */
  assert_null(strstr(out, "HEAD /h body"));
  assert_non_null(strstr(out, "Connection: close"));
  free(out);
  close(fd);

  /* HTTP/1.0 closes after the response. */
  fd = dial(f->port);
  SEND(fd, "GET /old HTTP/1.0\r\n\r\n");
  out = read_all(fd, 0);
  assert_non_null(strstr(out, "GET /old"));
  free(out);
  close(fd);

  /* Expect: 100-continue gets the interim response, then the final one. */
  fd = dial(f->port);
  SEND(fd, "PUT /e HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
  char buf[64] = {0};
  assert_true(recv(fd, buf, 25, MSG_WAITALL) == 25);
  assert_string_equal(buf, "HTTP/1.1 100 Continue\r\n\r\n");
  SEND(fd, "ok");
  out = read_all(fd, 1);
  assert_non_null(strstr(out, "PUT /e body=ok"));
  free(out);
  close(fd);
}

static void test_client_leaves_during_deferred(void **state) {
  fixture *f = *state;
  int before = f->aborted;
  for (int i = 0; i < 5; i++) {
    int fd = dial(f->port);
    SEND(fd, "GET /slow HTTP/1.1\r\n\r\n");
    usleep(5000);
    close(fd);
  }
  usleep(200000); /* the timers fire and respond into nothing */
  assert_int_equal(f->aborted - before, 5);
  /* The server is still fine. */
  int fd = dial(f->port);
  SEND(fd, "GET /after HTTP/1.1\r\n\r\n");
  char *out = read_all(fd, 1);
  assert_non_null(strstr(out, "GET /after"));
  free(out);
  close(fd);
}

/* ---- client ------------------------------------------------------------------- */

typedef struct cres {
  int rc, status;
  char body[256], err[256];
  int calls;
} cres;

static void client_cb(void *ud, int rc, int status, const char *body,
                      size_t len, const char *err) {
  cres *r = ud;
  r->calls++;
  r->rc = rc;
  r->status = status;
  snprintf(r->body, sizeof r->body, "%.*s", (int)len, body);
  snprintf(r->err, sizeof r->err, "%s", err ? err : "");
}

static void run_client(int port, const char *path, int timeout_ms, cres *r) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  http_client *c;
  assert_int_equal(http_client_new(&loop, &c), WIRE_OK);
  static const char *const hdrs[] = {"X-Test: from-client", NULL};
  http_client_request(c, "127.0.0.1", port, "POST", path, hdrs, "abc", 3,
                      timeout_ms, client_cb, r);
  uv_run(&loop, UV_RUN_DEFAULT);
  http_client_close(c);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_client(void **state) {
  fixture *f = *state;
  cres r = {0};
  run_client(f->port, "/c?x=%2F", 2000, &r);
  assert_int_equal(r.calls, 1);
  assert_int_equal(r.rc, WIRE_OK);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "POST /c?x=%2F body=abc x=from-client");

  /* Connection refused: nothing was sent, EAGAIN. */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, (struct sockaddr *)&a, sizeof a);
  socklen_t al = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &al);
  int dead_port = ntohs(a.sin_port);
  close(fd);
  memset(&r, 0, sizeof r);
  run_client(dead_port, "/", 2000, &r);
  assert_int_equal(r.calls, 1);
  assert_int_equal(r.rc, WIRE_EAGAIN);
  assert_non_null(strstr(r.err, "connect"));

  /* A listener that never answers: timeout. */
  fd = socket(AF_INET, SOCK_STREAM, 0);
  a.sin_port = 0;
  bind(fd, (struct sockaddr *)&a, sizeof a);
  listen(fd, 4);
  al = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &al);
  memset(&r, 0, sizeof r);
  run_client(ntohs(a.sin_port), "/", 100, &r);
  assert_int_equal(r.calls, 1);
  assert_int_equal(r.rc, WIRE_ETIMEDOUT);
  close(fd);

  /* Closing the client cancels what is in flight. */
  uv_loop_t loop;
  uv_loop_init(&loop);
  http_client *c;
  http_client_new(&loop, &c);
  memset(&r, 0, sizeof r);
  http_client_request(c, "127.0.0.1", f->port, "GET", "/slow", NULL, NULL, 0,
                      2000, client_cb, &r);
  http_client_close(c);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
  assert_int_equal(r.calls, 1);
  assert_int_equal(r.rc, WIRE_ECANCELED);
  usleep(100000); /* let the server's deferred response find no client */
}

static void test_pct_encode(void **state) {
  (void)state;
  core_buf b = {0};
  http_pct_encode(&b, "a/b c\0~", 7);
  core_buf_putc(&b, '\0');
  assert_string_equal(b.data, "a%2Fb%20c%00~");
  core_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_pipelined_in_order, setup, teardown),
      cmocka_unit_test_setup_teardown(test_split_byte_by_byte, setup, teardown),
      cmocka_unit_test_setup_teardown(test_limits_and_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_keepalive_close_head_continue, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_client_leaves_during_deferred, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_client, setup, teardown),
      cmocka_unit_test(test_pct_encode),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
