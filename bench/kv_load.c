/*
 * kv_load: HTTP load generator for the node's key-value API.
 *
 *   kv_load --port P[,P...] [--host H] [--clients 64] [--seconds 5]
 *           [--op put|get] [--value-size 100] [--keys 10000]
 *
 * Each client is a thread with one keep-alive connection sending one request
 * at a time (closed loop), so `clients` is the number of requests in flight.
 * Clients are spread over the given ports round robin.  PUT writes
 * bench-<client>-<i % keys>; GET reads keys written by an earlier PUT run
 * (404s count as errors).  Prints one line:
 *
 *   op=put clients=64 seconds=5.00 ops=... ops_per_s=... p50_ms=... p99_ms=...
 *   max_ms=... errors=...
 *
 * Latencies are per request, measured on CLOCK_MONOTONIC, kept in a
 * log-linear histogram (1 us buckets up to 1 ms, then 1% steps).
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS 16
#define HIST_BUCKETS 4096

typedef struct opts {
  char host[64];
  int ports[MAX_PORTS], n_ports;
  int clients;
  double seconds;
  int put;
  size_t value_size;
  int keys;
} opts;

typedef struct client {
  const opts *o;
  int id, port;
  uint64_t ops, errors;
  uint64_t hist[HIST_BUCKETS];
  double max_ms;
  char first_error[200];
} client;

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
  struct timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
    close(fd);
    return -1;
  }
  return fd;
}

static int send_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w, n -= (size_t)w;
  }
  return 0;
}

/* Read one response; returns the status code or -1.  Handles
 * Content-Length bodies only (the node always sends it). */
static int read_response(int fd, char *buf, size_t cap, size_t *have) {
  for (;;) {
    char *hend = memmem(buf, *have, "\r\n\r\n", 4);
    if (hend) {
      size_t hlen = (size_t)(hend - buf) + 4;
      int status = 0;
      if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) return -1;
      size_t clen = 0;
      for (char *p = buf; p < hend; p++) {
        if ((p == buf || p[-1] == '\n') &&
            !strncasecmp(p, "content-length:", 15)) {
          clen = strtoul(p + 15, NULL, 10);
          break;
        }
      }
      while (*have < hlen + clen) {
        if (*have == cap) return -1;
        ssize_t r = recv(fd, buf + *have, cap - *have, 0);
        if (r <= 0) return -1;
        *have += (size_t)r;
      }
      memmove(buf, buf + hlen + clen, *have - hlen - clen);
      *have -= hlen + clen;
      return status;
    }
    if (*have == cap) return -1;
    ssize_t r = recv(fd, buf + *have, cap - *have, 0);
    if (r <= 0) return -1;
    *have += (size_t)r;
  }
}

static void *client_main(void *arg) {
  client *c = arg;
  const opts *o = c->o;
  size_t cap = 64 * 1024 + o->value_size;
  char *req = malloc(512 + o->value_size), *buf = malloc(cap);
  char *value = malloc(o->value_size + 1);
  memset(value, 'v', o->value_size);
  size_t have = 0;
  int fd = connect_to(o->host, c->port);
  uint64_t i = 0;
  while (!atomic_load(&stop_flag)) {
    if (fd < 0) {
      c->errors++;
      usleep(10000);
      fd = connect_to(o->host, c->port);
      have = 0;
      continue;
    }
    int k = (int)(i++ % (uint64_t)o->keys);
    int n;
    if (o->put)
      n = snprintf(req, 512,
                   "PUT /key/bench-%d-%d HTTP/1.1\r\nHost: %s\r\n"
                   "Content-Length: %zu\r\n\r\n",
                   c->id, k, o->host, o->value_size);
    else
      n = snprintf(req, 512, "GET /key/bench-%d-%d HTTP/1.1\r\nHost: %s\r\n\r\n",
                   c->id, k, o->host);
    if (o->put) memcpy(req + n, value, o->value_size), n += (int)o->value_size;
    double t0 = now_s();
    int st = send_all(fd, req, (size_t)n) ? -1 : read_response(fd, buf, cap, &have);
    double us = (now_s() - t0) * 1e6;
    if (st < 0) {
      close(fd);
      fd = -1;
      c->errors++;
      continue;
    }
    if (st != (o->put ? 204 : 200)) {
      if (!c->first_error[0])
        snprintf(c->first_error, sizeof c->first_error, "HTTP_%d", st);
      c->errors++;
      continue;
    }
    c->ops++;
    c->hist[bucket_of(us)]++;
    if (us / 1000 > c->max_ms) c->max_ms = us / 1000;
  }
  if (fd >= 0) close(fd);
  free(req);
  free(buf);
  free(value);
  return NULL;
}

static void usage(void) {
  fprintf(stderr, "usage: kv_load --port P[,P...] [--host H] [--clients N] "
                  "[--seconds S] [--op put|get] [--value-size B] [--keys N]\n");
  exit(2);
}

int main(int argc, char **argv) {
  opts o = {.host = "127.0.0.1", .clients = 64, .seconds = 5, .put = 1,
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
    else if (!strcmp(a, "--seconds")) o.seconds = atof(v);
    else if (!strcmp(a, "--op")) o.put = !strcmp(v, "put");
    else if (!strcmp(a, "--value-size")) o.value_size = strtoul(v, NULL, 10);
    else if (!strcmp(a, "--keys")) o.keys = atoi(v);
    else usage();
  }
  if (!o.n_ports || o.clients < 1 || o.keys < 1) usage();
  client *cs = calloc((size_t)o.clients, sizeof *cs);
  pthread_t *th = calloc((size_t)o.clients, sizeof *th);
  for (int i = 0; i < o.clients; i++) {
    cs[i].o = &o;
    cs[i].id = i;
    cs[i].port = o.ports[i % o.n_ports];
    pthread_create(&th[i], NULL, client_main, &cs[i]);
  }
  double t0 = now_s();
  usleep((useconds_t)(o.seconds * 1e6));
  atomic_store(&stop_flag, 1);
  for (int i = 0; i < o.clients; i++) pthread_join(th[i], NULL);
  double el = now_s() - t0;
  uint64_t ops = 0, errors = 0;
  double max_ms = 0;
  static uint64_t hist[HIST_BUCKETS];
  const char *first_error = "";
  for (int i = 0; i < o.clients; i++) {
    ops += cs[i].ops;
    errors += cs[i].errors;
    if (cs[i].max_ms > max_ms) max_ms = cs[i].max_ms;
    if (!first_error[0] && cs[i].first_error[0]) first_error = cs[i].first_error;
    for (int b = 0; b < HIST_BUCKETS; b++) hist[b] += cs[i].hist[b];
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
  free(th);
  return ops ? 0 : 1;
}
