/*
 * More tests of the HTTP layer (lib/httpd), covering what
 * tests/unit/httpd/test_http.c does not: the curl CLI against the server,
 * the client's response framings (close-delimited, chunked, truncated,
 * malformed) and name resolution, bind errors, closing a server while a
 * deferred request is pending, HTTP/1.0 keep-alive, empty header values,
 * the idle timeout of keep-alive connections and two servers on two loops,
 * 200,000 requests pipelined behind a deferred one (served in a loop, not
 * by recursion), a half-sent request timing out with 408, and 204 answers
 * without Content-Length.
 *
 * Servers run on a loop in a second thread (one loop per server); raw
 * sockets and fake servers run on plain threads.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "httpd/http.h"

/* ---- a server on its own loop thread ---------------------------------------- */

typedef struct srv {
  uv_loop_t loop;
  uv_async_t stop;
  uv_thread_t th;
  http_server *s;
  int port;
  const char *name; /* answered in every body */
  http_req *held;   /* "/hold": never answered until the server closes */
  http_req *later;  /* "/later": answered by a timer 300 ms later */
  uv_timer_t later_timer;
  atomic_int closed_done;
  atomic_int held_aborted;
} srv;

static void later_cb(uv_timer_t *t) {
  srv *v = t->data;
  if (v->later) http_respond(v->later, 200, "text/plain", "later", 5);
  v->later = NULL;
}

static void handler(void *ud, http_req *req) {
  srv *v = ud;
  size_t tl, bl;
  const char *target = http_req_target(req, &tl);
  if (!strcmp(target, "/hold")) {
    v->held = req;
    return;
  }
  if (!strcmp(target, "/later")) {
    v->later = req;
    uv_timer_start(&v->later_timer, later_cb, 300, 0);
    return;
  }
  if (!strcmp(target, "/nocontent")) {
    http_respond(req, 204, NULL, NULL, 0);
    return;
  }
  const char *body = http_req_body(req, &bl);
  const char *e = http_req_header(req, "X-Empty");
  const char *a = http_req_header(req, "X-A");
  char out[512];
  int n = snprintf(out, sizeof out, "%s %s %.*s [%.*s] e=%s a=%s", v->name,
                   http_req_method(req), (int)tl, target, (int)bl, body,
                   e ? (*e ? "set" : "empty") : "-", a ? a : "-");
  http_respond(req, 200, "text/plain", out, (size_t)n);
}

static void on_server_closed(void *ud) {
  srv *v = ud;
  v->closed_done++;
  /* The request outlives its server: answering it only frees it. */
  if (v->held) {
    v->held_aborted = http_req_aborted(v->held);
    http_respond(v->held, 200, "text/plain", "late", 4);
    v->held = NULL;
  }
}

static void on_stop(uv_async_t *a) {
  srv *v = a->data;
  http_server_close(v->s, on_server_closed, v);
  uv_close((uv_handle_t *)&v->stop, NULL);
  uv_close((uv_handle_t *)&v->later_timer, NULL);
}

static void srv_main(void *arg) {
  srv *v = arg;
  uv_run(&v->loop, UV_RUN_DEFAULT);
}

static srv *srv_start(const char *name, unsigned idle_ms) {
  srv *v = calloc(1, sizeof *v);
  assert_non_null(v);
  v->name = name;
  assert_int_equal(uv_loop_init(&v->loop), 0);
  uv_async_init(&v->loop, &v->stop, on_stop);
  v->stop.data = v;
  uv_timer_init(&v->loop, &v->later_timer);
  v->later_timer.data = v;
  http_limits lim;
  http_limits_default(&lim);
  if (idle_ms) lim.idle_ms = idle_ms;
  char err[200];
  assert_int_equal(http_server_start(&v->loop, "127.0.0.1", 0, &lim, handler,
                                     v, NULL, &v->s, err, sizeof err),
                   WIRE_OK);
  v->port = http_server_port(v->s);
  assert_true(v->port > 0);
  uv_thread_create(&v->th, srv_main, v);
  return v;
}

static void srv_stop(srv *v) {
  uv_async_send(&v->stop);
  uv_thread_join(&v->th);
  assert_int_equal(v->closed_done, 1);
  assert_int_equal(uv_loop_close(&v->loop), 0);
  free(v);
}

/* ---- raw sockets ------------------------------------------------------------ */

static int dial(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

#define SEND(fd, lit)                                                          \
  assert_int_equal(send(fd, lit, sizeof lit - 1, MSG_NOSIGNAL),                \
                   (ssize_t)(sizeof lit - 1))

/* Read one response with a Content-Length (or until close when want_close).
 * Returns the bytes read, NUL-terminated, in buf. */
static size_t read_resp(int fd, char *buf, size_t cap, bool want_close) {
  size_t len = 0;
  for (;;) {
    buf[len] = '\0';
    const char *he = strstr(buf, "\r\n\r\n");
    if (he && !want_close) {
      const char *cl = strstr(buf, "Content-Length: ");
      size_t blen = cl && cl < he ? strtoul(cl + 16, NULL, 10) : 0;
      if ((size_t)(he + 4 - buf) + blen <= len) return len;
    }
    ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
    if (r <= 0) return len;
    len += (size_t)r;
  }
}

/* ---- server tests ------------------------------------------------------------ */

/* The curl CLI, when installed, against the server. */
static void test_curl(void **state) {
  (void)state;
  /* curl is installed by scripts/deps: a missing curl fails the test. */
  assert_int_equal(access("/usr/bin/curl", X_OK), 0);
  srv *v = srv_start("S", 0);
  static const struct {
    const char *args, *want;
  } cases[] = {
      {"/a%20b?q=1", "S GET /a%20b?q=1 [] e=- a=- 200"},
      {"-X PUT --data-binary hello /put", "S PUT /put [hello] e=- a=- 200"},
      {"-H 'Transfer-Encoding: chunked' --data-binary abc /ch",
       "S POST /ch [abc] e=- a=- 200"},
      {"-H 'Expect: 100-continue' --data-binary xyz /ex",
       "S POST /ex [xyz] e=- a=- 200"},
      {"-I /head", " 200"}, /* HEAD: no body, then the code */
      {"-H 'X-Empty;' -H 'X-A: b' /hdr", "S GET /hdr [] e=empty a=b 200"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char cmd[512], out[1024] = {0};
    /* The path comes last so that curl reads it as a URL. */
    const char *path = strrchr(cases[i].args, ' ');
    path = path ? path + 1 : cases[i].args;
    snprintf(cmd, sizeof cmd,
             "curl -s --max-time 5 -o - -w ' %%{http_code}' %.*s "
             "http://127.0.0.1:%d%s",
             (int)(path - cases[i].args), cases[i].args, v->port, path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    pclose(p);
    out[n] = '\0';
    if (!strncmp(cases[i].args, "-I", 2)) {
      /* Headers only, with the length of the body not sent. */
      assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
      char cl[64];
      snprintf(cl, sizeof cl, "Content-Length: %zu\r\n",
               strlen("S HEAD /head [] e=- a=-"));
      assert_non_null(strstr(out, cl));
      assert_null(strstr(out, "S HEAD"));
    } else {
      assert_string_equal(out, cases[i].want);
    }
  }
  srv_stop(v);
}

/* HTTP/1.0 with Connection: keep-alive keeps the connection; an empty
 * header value does not run into the next header. */
static void test_http10_keepalive_empty_header(void **state) {
  (void)state;
  srv *v = srv_start("S", 0);
  int fd = dial(v->port);
  char buf[4096];
  SEND(fd, "GET /one HTTP/1.0\r\nConnection: keep-alive\r\nX-Empty:\r\n"
           "X-A: b\r\n\r\n");
  read_resp(fd, buf, sizeof buf, false);
  assert_non_null(strstr(buf, "HTTP/1.1 200 OK\r\n"));
  assert_null(strstr(buf, "Connection: close"));
  assert_non_null(strstr(buf, "\r\n\r\nS GET /one [] e=empty a=b"));
  SEND(fd, "GET /two HTTP/1.0\r\n\r\n"); /* no keep-alive: closed after */
  size_t n = read_resp(fd, buf, sizeof buf, true);
  assert_true(n > 0);
  assert_non_null(strstr(buf, "Connection: close\r\n"));
  assert_non_null(strstr(buf, "\r\n\r\nS GET /two [] e=- a=-"));
  close(fd);
  srv_stop(v);
}

/* An idle keep-alive connection is closed after idle_ms. */
static void test_idle_timeout(void **state) {
  (void)state;
  srv *v = srv_start("S", 100);
  int fd = dial(v->port);
  char buf[4096];
  SEND(fd, "GET /x HTTP/1.1\r\n\r\n");
  read_resp(fd, buf, sizeof buf, false);
  assert_non_null(strstr(buf, "S GET /x"));
  struct timeval t0, t1;
  gettimeofday(&t0, NULL);
  assert_int_equal(recv(fd, buf, sizeof buf, 0), 0); /* closed by the server */
  gettimeofday(&t1, NULL);
  long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_usec - t0.tv_usec) / 1000;
  assert_true(ms >= 50 && ms < 3000);
  close(fd);
  srv_stop(v);
}

/* Closing the server with a request at the handler: the client's
 * connection closes, done runs, and the request stays valid (aborted)
 * until answered. */
static void test_close_with_pending(void **state) {
  (void)state;
  srv *v = srv_start("S", 0);
  int fd = dial(v->port);
  SEND(fd, "GET /hold HTTP/1.1\r\n\r\n");
  usleep(50000);
  uv_async_send(&v->stop);
  uv_thread_join(&v->th);
  assert_int_equal(v->closed_done, 1);
  assert_int_equal(v->held_aborted, 1);
  char buf[256];
  assert_int_equal(recv(fd, buf, sizeof buf, 0), 0); /* no response, closed */
  close(fd);
  assert_int_equal(uv_loop_close(&v->loop), 0);
  free(v);
}

/* Two servers on two loops at once: nothing shared. */
static void test_two_servers(void **state) {
  (void)state;
  srv *a = srv_start("A", 0), *b = srv_start("B", 0);
  assert_int_not_equal(a->port, b->port);
  char buf[4096];
  for (int i = 0; i < 20; i++) {
    srv *v = i % 2 ? a : b;
    int fd = dial(v->port);
    SEND(fd, "GET /w HTTP/1.1\r\nConnection: close\r\n\r\n");
    read_resp(fd, buf, sizeof buf, true);
    char want[16];
    snprintf(want, sizeof want, "\r\n\r\n%s GET", v->name);
    assert_non_null(strstr(buf, want));
    close(fd);
  }
  srv_stop(a);
  srv_stop(b);
}

/* Bind errors say which address and why; a host that is no IP literal is
 * refused. */
static void test_bind_errors(void **state) {
  (void)state;
  srv *v = srv_start("S", 0);
  uv_loop_t loop;
  uv_loop_init(&loop);
  http_server *s = NULL;
  char err[200] = "";
  assert_int_equal(http_server_start(&loop, "127.0.0.1", v->port, NULL,
                                     handler, NULL, NULL, &s, err, sizeof err),
                   WIRE_EIO);
  assert_null(s);
  char want[64];
  snprintf(want, sizeof want, "127.0.0.1:%d", v->port);
  assert_non_null(strstr(err, want));
  assert_non_null(strstr(err, "address already in use"));
  assert_int_equal(http_server_start(&loop, "no-such-host", 0, NULL, handler,
                                     NULL, NULL, &s, err, sizeof err),
                   WIRE_EINVAL);
  assert_non_null(strstr(err, "no-such-host"));
  uv_run(&loop, UV_RUN_DEFAULT); /* the failed listener's close */
  assert_int_equal(uv_loop_close(&loop), 0);
  srv_stop(v);
}

/* ---- client against canned responses ------------------------------------------ */

typedef struct fake {
  int lfd, port;
  const char *resp; /* sent after the request's headers, then closed */
  size_t resp_len;
  pthread_t th;
  char req[4096];
} fake;

static void *fake_main(void *arg) {
  fake *f = arg;
  int fd = accept(f->lfd, NULL, NULL);
  if (fd < 0) return NULL;
  size_t len = 0;
  while (len < sizeof f->req - 1 && !strstr(f->req, "\r\n\r\n")) {
    ssize_t r = recv(fd, f->req + len, sizeof f->req - 1 - len, 0);
    if (r <= 0) break;
    len += (size_t)r;
    f->req[len] = '\0';
  }
  send(fd, f->resp, f->resp_len, MSG_NOSIGNAL);
  close(fd);
  return NULL;
}

static void fake_start(fake *f, const char *resp, size_t len) {
  memset(f, 0, sizeof *f);
  f->resp = resp;
  f->resp_len = len;
  f->lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(f->lfd, 4), 0);
  socklen_t al = sizeof a;
  getsockname(f->lfd, (struct sockaddr *)&a, &al);
  f->port = ntohs(a.sin_port);
  pthread_create(&f->th, NULL, fake_main, f);
}

static void fake_stop(fake *f) {
  pthread_join(f->th, NULL);
  close(f->lfd);
}

typedef struct cres {
  int rc, status, calls;
  char body[256], err[256];
  size_t len;
} cres;

static void client_cb(void *ud, int rc, int status, const char *body,
                      size_t len, const char *err) {
  cres *r = ud;
  r->calls++;
  r->rc = rc;
  r->status = status;
  r->len = len;
  size_t n = len < sizeof r->body - 1 ? len : sizeof r->body - 1;
  memcpy(r->body, body, n); /* binary: may hold NULs */
  r->body[n] = '\0';
  snprintf(r->err, sizeof r->err, "%s", err ? err : "");
}

static cres request(const char *host, int port, const char *method,
                    const char *path, const char *body) {
  cres r = {0};
  uv_loop_t loop;
  uv_loop_init(&loop);
  http_client *c;
  assert_int_equal(http_client_new(&loop, &c), WIRE_OK);
  http_client_request(c, host, port, method, path, NULL, body,
                      body ? strlen(body) : 0, 3000, client_cb, &r);
  uv_run(&loop, UV_RUN_DEFAULT);
  http_client_close(c);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
  assert_int_equal(r.calls, 1);
  return r;
}

#define FAKE(f, lit) fake_start(f, lit, sizeof lit - 1)

static void test_client_framings(void **state) {
  (void)state;
  fake f;
  /* Close-delimited body. */
  FAKE(&f, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello world");
  cres r = request("127.0.0.1", f.port, "PUT", "/k%2Fx", "v");
  fake_stop(&f);
  assert_int_equal(r.rc, WIRE_OK);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "hello world");
  /* What the client sent. */
  assert_non_null(strstr(f.req, "PUT /k%2Fx HTTP/1.1\r\n"));
  assert_non_null(strstr(f.req, "Connection: close\r\n"));
  assert_non_null(strstr(f.req, "Content-Length: 1\r\n"));

  /* Chunked body, decoded. */
  FAKE(&f, "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
           "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n");
  r = request("127.0.0.1", f.port, "GET", "/", NULL);
  fake_stop(&f);
  assert_int_equal(r.rc, WIRE_OK);
  assert_int_equal(r.status, 201);
  assert_string_equal(r.body, "abcdefg");

  /* Binary body with a NUL, by Content-Length. */
  FAKE(&f, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\na\0b");
  r = request("127.0.0.1", f.port, "GET", "/", NULL);
  fake_stop(&f);
  assert_int_equal(r.rc, WIRE_OK);
  assert_int_equal(r.len, 3);
  assert_memory_equal(r.body, "a\0b", 3);

  /* Truncated: fewer bytes than announced, then close. */
  FAKE(&f, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  r = request("127.0.0.1", f.port, "GET", "/", NULL);
  fake_stop(&f);
  assert_int_equal(r.rc, WIRE_EIO);
  assert_non_null(strstr(r.err, "closed"));

  /* Not HTTP. */
  FAKE(&f, "SSH-2.0-OpenSSH\r\n");
  r = request("127.0.0.1", f.port, "GET", "/", NULL);
  fake_stop(&f);
  assert_int_equal(r.rc, WIRE_EPARSE);
  assert_non_null(strstr(r.err, "malformed response"));

  /* Closed without a byte. */
  FAKE(&f, "");
  r = request("127.0.0.1", f.port, "GET", "/", NULL);
  fake_stop(&f);
  assert_int_equal(r.rc, WIRE_EIO);
}

/* The client against the real server, by name, and with an unresolvable
 * name. */
static void test_client_names(void **state) {
  (void)state;
  srv *v = srv_start("S", 0);
  cres r = request("localhost", v->port, "POST", "/n", "body");
  if (r.rc == WIRE_EAGAIN) {
    /* localhost resolved to ::1 first; the server is on 127.0.0.1 only. */
    print_message("localhost resolves to IPv6 first here: %s\n", r.err);
  } else {
    assert_int_equal(r.rc, WIRE_OK);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "S POST /n [body] e=- a=-");
  }
  r = request("no-such-host.invalid", v->port, "GET", "/", NULL);
  assert_int_equal(r.rc, WIRE_EIO);
  assert_non_null(strstr(r.err, "resolve"));
  srv_stop(v);
}

/* Requests pipelined behind one whose answer is deferred pile up in the
 * connection's buffer; when the deferred answer goes out they are served
 * one after the other, in a loop: 200,000 of them used to recurse once per
 * request (http_respond -> parse -> handler -> http_respond ...) and
 * overflow the stack. */
typedef struct pipe_sender {
  int fd;
  int n;
} pipe_sender;

static void *send_pipelined(void *arg) {
  pipe_sender *ps = arg;
  static const char later[] = "GET /later HTTP/1.1\r\nHost: a\r\n\r\n";
  static const char one[] = "GET /x HTTP/1.1\r\n\r\n";
  size_t per = sizeof one - 1, batch = 4096;
  char *buf = malloc(per * batch);
  for (size_t i = 0; i < batch; i++) memcpy(buf + i * per, one, per);
  send(ps->fd, later, sizeof later - 1, MSG_NOSIGNAL);
  for (int left = ps->n; left > 0;) {
    int k = left < (int)batch ? left : (int)batch;
    size_t len = (size_t)k * per, off = 0;
    while (off < len) {
      ssize_t w = send(ps->fd, buf + off, len - off, MSG_NOSIGNAL);
      if (w <= 0) break;
      off += (size_t)w;
    }
    left -= k;
  }
  free(buf);
  return NULL;
}

static void test_deep_pipelining(void **state) {
  (void)state;
  srv *v = srv_start("deep", 0);
  int fd = dial(v->port);
  pipe_sender ps = {fd, 200000};
  pthread_t th;
  pthread_create(&th, NULL, send_pipelined, &ps);
  /* Count the status lines; the first answer is the deferred one. */
  static const char pat[] = "HTTP/1.1 200 OK\r\n";
  size_t plen = sizeof pat - 1, carry = 0;
  char buf[65536 + 32];
  int seen = 0;
  bool first_later = false;
  while (seen < ps.n + 1) {
    ssize_t r = recv(fd, buf + carry, sizeof buf - carry - 1, 0);
    if (r <= 0) break;
    size_t len = carry + (size_t)r;
    buf[len] = '\0';
    if (!seen) first_later = strstr(buf, "later") != NULL;
    for (char *p = buf; (p = memmem(p, (size_t)(buf + len - p), pat, plen));
         p += plen)
      seen++;
    carry = len < plen ? len : plen - 1;
    memmove(buf, buf + len - carry, carry);
  }
  pthread_join(th, NULL);
  close(fd);
  assert_int_equal(seen, ps.n + 1);
  assert_true(first_later);
  srv_stop(v);
}

/* Half a request and then silence: 408 and the connection is closed
 * (before, only idle connections without a request were closed). */
static void test_half_request_times_out(void **state) {
  (void)state;
  srv *v = srv_start("half", 200);
  int fd = dial(v->port);
  SEND(fd, "GET /x HTTP/1.1\r\nHost: a\r\nX-A: par");
  char buf[4096];
  size_t n = read_resp(fd, buf, sizeof buf, true); /* until the close */
  assert_non_null(strstr(buf, "HTTP/1.1 408 "));
  assert_non_null(strstr(buf, "\"timeout\""));
  assert_true(n > 0);
  close(fd);
  srv_stop(v);
}

/* 204 answers carry no Content-Length (RFC 9110 8.6) and keep the
 * connection usable. */
static void test_204_has_no_length(void **state) {
  (void)state;
  srv *v = srv_start("nc", 0);
  int fd = dial(v->port);
  SEND(fd, "GET /nocontent HTTP/1.1\r\n\r\nGET /x HTTP/1.1\r\n\r\n");
  char buf[4096] = "";
  size_t n = 0;
  while (!strstr(buf, "nc GET /x")) {
    ssize_t r = recv(fd, buf + n, sizeof buf - n - 1, 0);
    assert_true(r > 0);
    n += (size_t)r;
    buf[n] = '\0';
  }
  const char *second = strstr(buf + 1, "HTTP/1.1 200");
  assert_non_null(second);
  assert_memory_equal(buf, "HTTP/1.1 204 ", 13);
  char first[1024];
  snprintf(first, sizeof first, "%.*s", (int)(second - buf), buf);
  assert_null(strstr(first, "Content-Length"));
  close(fd);
  srv_stop(v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_curl),
      cmocka_unit_test(test_http10_keepalive_empty_header),
      cmocka_unit_test(test_idle_timeout),
      cmocka_unit_test(test_close_with_pending),
      cmocka_unit_test(test_two_servers),
      cmocka_unit_test(test_bind_errors),
      cmocka_unit_test(test_client_framings),
      cmocka_unit_test(test_client_names),
      cmocka_unit_test(test_deep_pipelining),
      cmocka_unit_test(test_half_request_times_out),
      cmocka_unit_test(test_204_has_no_length),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
