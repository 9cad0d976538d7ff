/*
 * kv_load: HTTP load generator for the node's key-value API.
 *
 *   kv_load --port P[,P...] [--host H] [--clients 64] [--threads 1]
 *           [--seconds 5] [--op put|get] [--value-size 100] [--keys 10000]
 *
 * `clients` keep-alive connections each send one request at a time (closed
 * loop), so `clients` is the number of requests in flight.  The connections
 * are driven by `threads` epoll loops (as redis-benchmark and wrk do; a
 * thread per connection would spend the shared cores on context switches
 * of the load generator rather than on the server).  Clients are spread
 * over the given ports round robin.  PUT writes bench-<client>-<i % keys>;
 * GET reads keys written by an earlier PUT run (404s count as errors).
 * Prints one line:
 *
 *   op=put clients=64 seconds=5.00 ops=... ops_per_s=... p50_ms=... p99_ms=...
 *   max_ms=... errors=...
 *
 * Latencies are per request (from the first byte sent to the last byte of
 * the response received), on CLOCK_MONOTONIC, kept in a log-linear
 * histogram (1 us buckets up to 1 ms, then 1% steps).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS 16
#define HIST_BUCKETS 4096

typedef struct opts {
  char host[64];
  int ports[MAX_PORTS], n_ports;
  int clients, threads;
  double seconds;
  int put;
  size_t value_size;
  int keys;
} opts;

/* One connection with one request in flight. */
typedef struct client {
  int id, port, fd;
  char *req;        /* the request being sent */
  size_t req_len, sent;
  char *buf;        /* response bytes received */
  size_t have;
  uint64_t i;       /* requests sent */
  double t0;        /* when the request's first byte went out */
} client;

/* One epoll loop and its clients' figures. */
typedef struct worker {
  const opts *o;
  client *cs;
  int n;
  uint64_t ops, errors;
  uint64_t hist[HIST_BUCKETS];
  double max_ms;
  char first_error[200];
} worker;

static atomic_int stop_flag;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Bucket of a latency in microseconds: exact below 1000 us, then
 * logarithmic with 1% resolution. */
static int bucket_of(double us) {
  if (us < 1000) return (int)us;
  int b = 1000 + (int)(log(us / 1000.0) / log(1.01));
  return b < HIST_BUCKETS ? b : HIST_BUCKETS - 1;
}

static double bucket_us(int b) {
  if (b < 1000) return b + 0.5;
  return 1000.0 * pow(1.01, b - 1000 + 0.5);
}

static int connect_to(const char *host, int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, host, &a.sin_addr);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
    close(fd);
    return -1;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

/* A complete response at the start of buf: its status and length, or 0
 * while incomplete, -1 when malformed.  Content-Length bodies only (the
 * node always sends it). */
static int parse_response(const char *buf, size_t have, size_t *len) {
  const char *hend = memmem(buf, have, "\r\n\r\n", 4);
  if (!hend) return 0;
  size_t hlen = (size_t)(hend - buf) + 4;
  int status = 0;
  if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) return -1;
  size_t clen = 0;
  for (const char *p = buf; p < hend; p++) {
    if ((p == buf || p[-1] == '\n') && !strncasecmp(p, "content-length:", 15)) {
      clen = strtoul(p + 15, NULL, 10);
      break;
    }
  }
  if (have < hlen + clen) return 0;
  *len = hlen + clen;
  return status;
}

#define BUF_CAP(o) (64 * 1024 + (o)->value_size)

/* Build the next request of c and send as much of it as the socket takes.
 * -1: the connection broke. */
static int start_request(worker *w, client *c) {
  const opts *o = w->o;
  int k = (int)(c->i++ % (uint64_t)o->keys);
  int n;
  if (o->put)
    n = snprintf(c->req, 512,
                 "PUT /key/bench-%d-%d HTTP/1.1\r\nHost: %s\r\n"
                 "Content-Length: %zu\r\n\r\n",
                 c->id, k, o->host, o->value_size);
  else
    n = snprintf(c->req, 512, "GET /key/bench-%d-%d HTTP/1.1\r\nHost: %s\r\n\r\n",
                 c->id, k, o->host);
  if (o->put) memset(c->req + n, 'v', o->value_size), n += (int)o->value_size;
  c->req_len = (size_t)n;
  c->sent = 0;
  c->t0 = now_s();
  while (c->sent < c->req_len) {
    ssize_t r = send(c->fd, c->req + c->sent, c->req_len - c->sent, MSG_NOSIGNAL);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EAGAIN) return 0; /* EPOLLOUT finishes it */
    if (r <= 0) return -1;
    c->sent += (size_t)r;
  }
  return 0;
}

static void reconnect(worker *w, client *c, int ep) {
  if (c->fd >= 0) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
  }
  w->errors++;
  c->have = 0;
  for (;;) {
    c->fd = connect_to(w->o->host, c->port);
    if (c->fd >= 0 || atomic_load(&stop_flag)) break;
    usleep(10000);
  }
  if (c->fd < 0) return;
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};
  epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
  if (start_request(w, c)) reconnect(w, c, ep);
}

/* Progress on c after an event. */
static void on_event(worker *w, client *c, int ep) {
  const opts *o = w->o;
  while (c->sent < c->req_len) { /* the rest of a request */
    ssize_t r = send(c->fd, c->req + c->sent, c->req_len - c->sent, MSG_NOSIGNAL);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EAGAIN) return;
    if (r <= 0) {
      reconnect(w, c, ep);
      return;
    }
    c->sent += (size_t)r;
  }
  for (;;) {
    if (c->have == BUF_CAP(o)) {
      reconnect(w, c, ep);
      return;
    }
    ssize_t r = recv(c->fd, c->buf + c->have, BUF_CAP(o) - c->have, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EAGAIN) break;
    if (r <= 0) {
      reconnect(w, c, ep);
      return;
    }
    c->have += (size_t)r;
    size_t len = 0;
    int st = parse_response(c->buf, c->have, &len);
    if (st == 0) continue;
    if (st < 0) {
      reconnect(w, c, ep);
      return;
    }
    double us = (now_s() - c->t0) * 1e6;
    memmove(c->buf, c->buf + len, c->have - len);
    c->have -= len;
    if (st != (o->put ? 204 : 200)) {
      if (!w->first_error[0])
        snprintf(w->first_error, sizeof w->first_error, "HTTP_%d", st);
      w->errors++;
    } else {
      w->ops++;
      w->hist[bucket_of(us)]++;
      if (us / 1000 > w->max_ms) w->max_ms = us / 1000;
    }
    if (atomic_load(&stop_flag)) return;
    if (start_request(w, c)) {
      reconnect(w, c, ep);
      return;
    }
  }
}

static void *worker_main(void *arg) {
  worker *w = arg;
  const opts *o = w->o;
  int ep = epoll_create1(0);
  for (int i = 0; i < w->n; i++) {
    client *c = &w->cs[i];
    c->req = malloc(512 + o->value_size);
    c->buf = malloc(BUF_CAP(o));
    c->fd = -1;
    w->errors--; /* the first connect is not an error */
    reconnect(w, c, ep);
  }
  struct epoll_event evs[256];
  while (!atomic_load(&stop_flag)) {
    int k = epoll_wait(ep, evs, 256, 100);
    for (int i = 0; i < k && !atomic_load(&stop_flag); i++)
      on_event(w, evs[i].data.ptr, ep);
  }
  for (int i = 0; i < w->n; i++) {
    if (w->cs[i].fd >= 0) close(w->cs[i].fd);
    free(w->cs[i].req);
    free(w->cs[i].buf);
  }
  close(ep);
  return NULL;
}

static void usage(void) {
  fprintf(stderr, "usage: kv_load --port P[,P...] [--host H] [--clients N] "
                  "[--threads T] [--seconds S] [--op put|get] "
                  "[--value-size B] [--keys N]\n");
  exit(2);
}

int main(int argc, char **argv) {
  opts o = {.host = "127.0.0.1", .clients = 64, .threads = 1, .seconds = 5,
            .put = 1,
            .value_size = 100, .keys = 10000};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (i + 1 >= argc) usage();
    const char *v = argv[++i];
    if (!strcmp(a, "--host")) snprintf(o.host, sizeof o.host, "%s", v);
    else if (!strcmp(a, "--port")) {
      char *s = strdup(v), *save = NULL;
      for (char *t = strtok_r(s, ",", &save); t && o.n_ports < MAX_PORTS;
           t = strtok_r(NULL, ",", &save))
        o.ports[o.n_ports++] = atoi(t);
      free(s);
    } else if (!strcmp(a, "--clients")) o.clients = atoi(v);
    else if (!strcmp(a, "--threads")) o.threads = atoi(v);
    else if (!strcmp(a, "--seconds")) o.seconds = atof(v);
    else if (!strcmp(a, "--op")) o.put = !strcmp(v, "put");
    else if (!strcmp(a, "--value-size")) o.value_size = strtoul(v, NULL, 10);
    else if (!strcmp(a, "--keys")) o.keys = atoi(v);
    else usage();
  }
  if (!o.n_ports || o.clients < 1 || o.keys < 1 || o.threads < 1) usage();
  if (o.threads > o.clients) o.threads = o.clients;
  client *cs = calloc((size_t)o.clients, sizeof *cs);
  worker *ws = calloc((size_t)o.threads, sizeof *ws);
  pthread_t *th = calloc((size_t)o.threads, sizeof *th);
  for (int i = 0; i < o.clients; i++) {
    cs[i].id = i;
    cs[i].port = o.ports[i % o.n_ports];
  }
  for (int t = 0, from = 0; t < o.threads; t++) {
    int n = o.clients / o.threads + (t < o.clients % o.threads);
    ws[t].o = &o;
    ws[t].cs = cs + from;
    ws[t].n = n;
    from += n;
    pthread_create(&th[t], NULL, worker_main, &ws[t]);
  }
  double t0 = now_s();
  usleep((useconds_t)(o.seconds * 1e6));
  atomic_store(&stop_flag, 1);
  double el = now_s() - t0;
  for (int t = 0; t < o.threads; t++) pthread_join(th[t], NULL);
  uint64_t ops = 0, errors = 0;
  double max_ms = 0;
  static uint64_t hist[HIST_BUCKETS];
  const char *first_error = "";
  for (int t = 0; t < o.threads; t++) {
    ops += ws[t].ops;
    errors += ws[t].errors;
    if (ws[t].max_ms > max_ms) max_ms = ws[t].max_ms;
    if (!first_error[0] && ws[t].first_error[0]) first_error = ws[t].first_error;
    for (int b = 0; b < HIST_BUCKETS; b++) hist[b] += ws[t].hist[b];
  }
  double p50 = 0, p99 = 0;
  uint64_t acc = 0;
  for (int b = 0; b < HIST_BUCKETS && ops; b++) {
    acc += hist[b];
    if (!p50 && acc * 2 >= ops) p50 = bucket_us(b) / 1000;
    if (!p99 && acc * 100 >= ops * 99) p99 = bucket_us(b) / 1000;
  }
  printf("op=%s clients=%d seconds=%.2f ops=%llu ops_per_s=%.0f p50_ms=%.2f "
         "p99_ms=%.2f max_ms=%.2f errors=%llu%s%s\n",
         o.put ? "put" : "get", o.clients, el, (unsigned long long)ops,
         (double)ops / el, p50, p99, max_ms, (unsigned long long)errors,
         first_error[0] ? " first_error=" : "", first_error);
  free(cs);
  free(ws);
  free(th);
  return ops ? 0 : 1;
}
