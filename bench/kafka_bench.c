/*
 * kafka_bench: Kafka -> Kafka pass-through throughput of a libwire pipeline
 * (`kafka` source -> `kafka` sink) beside a plain librdkafka
 * consumer -> producer loop, against librdkafka's in-process mock cluster.
 *
 *   kafka_bench [--records N] [--runs R] [--partitions P] [--format raw|json]
 *               [--only baseline|libwire] [--queued-min N] [--no-content-check]
 *
 * Defaults: 1,000,000 records, 3 runs, 32 partitions, format raw,
 * --queued-min 1000000 (librdkafka's queued.min.messages of both consumers,
 * the baseline's and the libwire source's via `properties:`; 0 leaves
 * librdkafka's default of 100000).
 *
 * Each run starts a fresh mock cluster (3 brokers, rdkafka_mock.h), creates
 * an input topic and two output topics of P partitions (replication factor
 * 3), fills the input with N records of exactly 100-byte JSON values
 * ({"seq":123,"pad":"xxx..."}, round robin over the partitions, not timed),
 * then copies the input to output A with the baseline and to output B with
 * libwire (the order alternates from run to run).  Both consume as a fresh
 * consumer group from the earliest offset and produce with the settings
 * libwire's sink uses by default (lib/connectors/kafka_sink.c): acks=all,
 * enable.idempotence=true, linger.ms=5, batch.size=1000000, no compression,
 * values copied (RD_KAFKA_MSG_F_COPY), key and timestamp passed through.
 *
 * Two times per case:
 *   stream  from the first record received to every record delivered
 *           (baseline: the first rd_kafka_consumer_poll() that returns a
 *           record -> rd_kafka_flush() returns; libwire: the source's `in`
 *           counter leaves 0 -> the sink's `out` counter, records whose
 *           delivery reports arrived, reaches N; both counters are read
 *           every 5 ms).  The group join, which takes ~3 s on the
 *           mock cluster, and the teardown are left out.
 *   whole   everything: baseline from creating the consumer to both clients
 *           destroyed; libwire from wire_pipeline_parse() to
 *           wire_pipeline_wait() returning (open, join, close included).
 * records/s = N / best stream time over the runs, MB/s = N * 100 bytes / the
 * same time.  After each case the output topic must hold exactly N records
 * (high watermarks summed over the partitions) and, unless
 * --no-content-check, every seq 0..N-1 exactly once with its 100 bytes.
 *
 * This is a benchmark program, not part of the library: it uses only the
 * public API of libwire (include/wire/) and librdkafka.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <wire/wire.h>

#ifndef BENCH_BUILDTYPE
#define BENCH_BUILDTYPE "unknown"
#endif

#define VALUE_LEN 100
#define STALL_S 60.0 /* a case that makes no progress this long fails */
/* The mock cluster keeps at most 5 MiB (and 100,000 message sets) per
 * partition and drops the oldest message sets beyond that
 * (rd_kafka_mock_msgset_new() in librdkafka 2.0.2; not configurable).  The
 * input must fit whole, so N records need N * ~(VALUE_LEN + 16) bytes / 5 MiB
 * partitions: 1,000,000 records need 24, hence the default of 32. */
/* How often the libwire case reads the pipeline's counters: the stream
 * time of libwire is known to +-POLL_MS (0.3% of a 1.6 s run); polling every
 * millisecond cost ~7% of a core, taken from the pipeline on 2 cores. */
#define POLL_MS 5
#define MOCK_PARTITION_BYTES (5 * 1024 * 1024)
#define RECORD_BYTES (VALUE_LEN + 16) /* value + v2 record overhead, rounded up */

typedef struct opts {
  long records;
  int runs;
  int partitions;
  const char *format; /* the libwire source's format: raw or json */
  bool content;       /* check every seq in the outputs */
  bool run_b, run_w;  /* cases to run (--only) */
  long queued_min;    /* consumers' queued.min.messages; 0: librdkafka's */
} opts;

typedef struct result {
  double stream; /* first record -> all delivered, seconds */
  double whole;  /* the whole case, seconds */
} result;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("kafka_bench: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* Set a property or report it; 0 or -1. */
static int conf_set(rd_kafka_conf_t *conf, const char *key, const char *val) {
  char err[256];
  if (rd_kafka_conf_set(conf, key, val, err, sizeof err) == RD_KAFKA_CONF_OK)
    return 0;
  fail("config %s=%s: %s", key, val, err);
  return -1;
}

static rd_kafka_t *client_new(rd_kafka_type_t type, rd_kafka_conf_t *conf) {
  char err[512];
  rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) {
    fail("rd_kafka_new: %s", err);
    rd_kafka_conf_destroy(conf);
  }
  return rk;
}

/* ---- the mock cluster ------------------------------------------------------ */

typedef struct cluster {
  rd_kafka_t *rk; /* owns the mock cluster's thread */
  rd_kafka_mock_cluster_t *mc;
  const char *bootstraps; /* borrowed from mc */
} cluster;

static void cluster_stop(cluster *c) {
  if (c->mc) rd_kafka_mock_cluster_destroy(c->mc);
  if (c->rk) rd_kafka_destroy(c->rk);
  memset(c, 0, sizeof *c);
}

static int cluster_start(cluster *c, const char *const *topics, int ntopics,
                         int partitions) {
  memset(c, 0, sizeof *c);
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (conf_set(conf, "log_level", "3")) {
    rd_kafka_conf_destroy(conf);
    return -1;
  }
  if (!(c->rk = client_new(RD_KAFKA_PRODUCER, conf))) return -1;
  if (!(c->mc = rd_kafka_mock_cluster_new(c->rk, 3))) {
    fail("cannot create the mock cluster");
    cluster_stop(c);
    return -1;
  }
  for (int i = 0; i < ntopics; i++) {
    rd_kafka_resp_err_t e =
        rd_kafka_mock_topic_create(c->mc, topics[i], partitions, 3);
    if (e) {
      fail("create topic %s: %s", topics[i], rd_kafka_err2str(e));
      cluster_stop(c);
      return -1;
    }
  }
  c->bootstraps = rd_kafka_mock_cluster_bootstraps(c->mc);
  return 0;
}

/* ---- producers: the common configuration and delivery reports -------------- */

typedef struct delivery {
  long ok, failed;
  rd_kafka_resp_err_t first_err;
} delivery;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  delivery *d = opaque;
  if (!m->err) {
    d->ok++;
  } else if (!d->failed++) {
    d->first_err = m->err;
  }
}

/* The settings of libwire's kafka sink with its default options. */
static rd_kafka_t *producer_new(const char *bootstraps, delivery *d,
                                bool sink_defaults) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  int bad = conf_set(conf, "bootstrap.servers", bootstraps) ||
            conf_set(conf, "log_level", "4");
  if (sink_defaults)
    bad = bad || conf_set(conf, "acks", "all") ||
          conf_set(conf, "enable.idempotence", "true") ||
          conf_set(conf, "compression.codec", "none") ||
          conf_set(conf, "linger.ms", "5") ||
          conf_set(conf, "batch.size", "1000000");
  else /* filling the input: as fast as it goes */
    bad = bad || conf_set(conf, "acks", "1") ||
          conf_set(conf, "linger.ms", "20");
  if (getenv("KB_PCONF")) { /* experiments: k=v;k=v */
    char *dup = strdup(getenv("KB_PCONF")), *save = NULL;
    for (char *kv = strtok_r(dup, ";", &save); kv; kv = strtok_r(NULL, ";", &save)) {
      char *eq = strchr(kv, '=');
      if (eq) { *eq = 0; bad = bad || conf_set(conf, kv, eq + 1); }
    }
    free(dup);
  }
  if (bad) {
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  rd_kafka_conf_set_opaque(conf, d);
  rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
  return client_new(RD_KAFKA_PRODUCER, conf);
}

/* Produce one copied record, waiting while librdkafka's queue is full. */
static int produce(rd_kafka_t *rk, const char *topic, int32_t partition,
                   const void *key, size_t klen, const void *val, size_t len,
                   int64_t ts) {
  for (;;) {
    rd_kafka_resp_err_t e = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY((void *)key, klen), RD_KAFKA_V_VALUE((void *)val, len),
        RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_END);
    if (!e) return 0;
    if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      fail("produce to %s: %s", topic, rd_kafka_err2str(e));
      return -1;
    }
    rd_kafka_poll(rk, 10);
  }
}

static int flush_all(rd_kafka_t *rk, const delivery *d, long n,
                     const char *what) {
  rd_kafka_resp_err_t e = rd_kafka_flush(rk, (int)(STALL_S * 1000));
  if (e) {
    fail("%s: flush: %s", what, rd_kafka_err2str(e));
    return -1;
  }
  if (d->failed || d->ok != n) {
    fail("%s: %ld delivered, %ld failed (%s), expected %ld", what, d->ok,
         d->failed, d->failed ? rd_kafka_err2str(d->first_err) : "-", n);
    return -1;
  }
  return 0;
}

/* ---- filling the input topic (not timed) --------------------------------- */

/* {"seq":123,"pad":"xxx"}: exactly VALUE_LEN bytes. */
static size_t make_value(char *buf, long seq) {
  int k = snprintf(buf, VALUE_LEN + 1, "{\"seq\":%ld,\"pad\":\"", seq);
  memset(buf + k, 'x', (size_t)(VALUE_LEN - 2 - k));
  memcpy(buf + VALUE_LEN - 2, "\"}", 2);
  return VALUE_LEN;
}

static int fill(const char *bootstraps, const char *topic, long n,
                int partitions) {
  delivery d = {0};
  rd_kafka_t *rk = producer_new(bootstraps, &d, false);
  if (!rk) return -1;
  char val[VALUE_LEN + 1];
  int rc = 0;
  for (long i = 0; i < n && rc == 0; i++) {
    size_t len = make_value(val, i);
    rc = produce(rk, topic, (int32_t)(i % partitions), NULL, 0, val, len, 0);
    if ((i & 1023) == 0) rd_kafka_poll(rk, 0);
  }
  if (rc == 0) rc = flush_all(rk, &d, n, "fill");
  rd_kafka_destroy(rk);
  return rc;
}

/* ---- baseline: a plain librdkafka consumer -> producer loop ---------------- */

static rd_kafka_t *consumer_new(const char *bootstraps, const char *group,
                                long queued_min) {
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  char num[32];
  snprintf(num, sizeof num, "%ld", queued_min);
  if (queued_min && conf_set(conf, "queued.min.messages", num)) {
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  if (conf_set(conf, "bootstrap.servers", bootstraps) ||
      conf_set(conf, "log_level", "4") ||
      (group && (conf_set(conf, "group.id", group) ||
                 conf_set(conf, "session.timeout.ms", "6000"))) ||
      conf_set(conf, "auto.offset.reset", "earliest")) {
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  if (!group && (conf_set(conf, "group.id", "kafka_bench-check") ||
                 conf_set(conf, "enable.auto.commit", "false"))) {
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  if (group && getenv("KB_CCONF")) { /* experiments: k=v;k=v */
    char *dup = strdup(getenv("KB_CCONF")), *save = NULL;
    for (char *kv = strtok_r(dup, ";", &save); kv; kv = strtok_r(NULL, ";", &save)) {
      char *eq = strchr(kv, '=');
      if (eq) { *eq = 0; conf_set(conf, kv, eq + 1); }
    }
    free(dup);
  }
  rd_kafka_t *rk = client_new(RD_KAFKA_CONSUMER, conf);
  if (rk) rd_kafka_poll_set_consumer(rk);
  return rk;
}

static int run_baseline(const char *bootstraps, const char *in,
                        const char *out, const char *group, long n,
                        long queued_min, result *r) {
  double t0 = now_s();
  delivery d = {0};
  rd_kafka_t *c = consumer_new(bootstraps, group, queued_min);
  rd_kafka_t *p = c ? producer_new(bootstraps, &d, true) : NULL;
  if (!p) {
    if (c) rd_kafka_destroy(c);
    return -1;
  }
  /* Learn the output topic's partitions and leaders before records flow,
   * as libwire's sink does when it opens (check_cluster() in
   * kafka_sink.c).  Without it the first records wait for the producer's
   * first metadata request for the topic, ~0.8 s on the mock cluster. */
  int rc = 0;
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(p, out, NULL);
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t e = rkt ? rd_kafka_metadata(p, 0, rkt, &md, 10000)
                              : rd_kafka_last_error();
  if (e || md->topic_cnt != 1 || md->topics[0].err) {
    fail("baseline: metadata of %s: %s", out,
         rd_kafka_err2str(e ? e : md->topic_cnt ? md->topics[0].err
                                                : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
    rc = -1;
  }
  if (md) rd_kafka_metadata_destroy(md);
  if (rkt) rd_kafka_topic_destroy(rkt);
  rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, in, RD_KAFKA_PARTITION_UA);
  e = rc ? RD_KAFKA_RESP_ERR_NO_ERROR : rd_kafka_subscribe(c, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (e) {
    fail("baseline: subscribe: %s", rd_kafka_err2str(e));
    rc = -1;
  }
  long got = 0;
  double first = 0, last_progress = now_s();
  while (rc == 0 && got < n) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
    if (!m) {
      if (now_s() - last_progress > STALL_S) {
        fail("baseline: no record for %.0f s after %ld", STALL_S, got);
        rc = -1;
      }
      continue;
    }
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
        fprintf(stderr, "kafka_bench: baseline: consumer: %s\n",
                rd_kafka_message_errstr(m));
      rd_kafka_message_destroy(m);
      continue;
    }
    if (got == 0) first = now_s();
    rd_kafka_timestamp_type_t tt;
    int64_t ts = rd_kafka_message_timestamp(m, &tt);
    rc = produce(p, out, RD_KAFKA_PARTITION_UA, m->key, m->key_len,
                 m->payload, m->len, ts > 0 ? ts : 0);
    rd_kafka_message_destroy(m);
    /* Serve delivery reports once per 1024 records, as libwire's sink does
     * once per batch. */
    if ((++got & 1023) == 0) {
      rd_kafka_poll(p, 0);
      last_progress = now_s();
    }
  }
  double consumed = now_s();
  if (rc == 0) rc = flush_all(p, &d, n, "baseline");
  double done = now_s();
  if (getenv("KB_DEBUG"))
    fprintf(stderr, "baseline: join %.3f s, consume %.3f s, flush %.3f s "
            "(wall clock at the end %.3f)\n",
            first - t0, consumed - first, done - consumed,
            ({ struct timespec w; clock_gettime(CLOCK_REALTIME, &w);
               (double)w.tv_sec + (double)w.tv_nsec / 1e9; }));
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
  rd_kafka_destroy(p);
  r->stream = done - first;
  r->whole = now_s() - t0;
  return rc;
}

/* ---- libwire: kafka source -> kafka sink through the public API ----------- */

static int run_libwire(wire_ctx *ctx, const char *bootstraps, const char *in,
                       const char *out, const char *group, const char *format,
                       long n, long queued_min, result *r) {
  char yaml[4096], props[128] = "";
  if (queued_min)
    snprintf(props, sizeof props,
             "    properties: {queued.min.messages: %ld}\n", queued_min);
  snprintf(yaml, sizeof yaml,
           "name: kafka-bench\n"
           "sources:\n"
           "  - id: in\n"
           "    type: kafka\n"
           "    brokers: '%s'\n"
           "    topics: [%s]\n"
           "    group: %s\n"
           "    start: earliest\n"
           "    exit_at_end: true\n"
           "    format: %s\n"
           "%s"
           "sinks:\n"
           "  - id: out\n"
           "    type: kafka\n"
           "    inputs: [in]\n"
           "    brokers: '%s'\n"
           "    topic: %s\n",
           bootstraps, in, group, format, props, bootstraps, out);
  double t0 = now_s();
  wire_pipeline *p = NULL;
  int rc = wire_pipeline_parse(ctx, yaml, strlen(yaml), "kafka_bench.yaml", &p);
  if (rc != WIRE_OK) {
    for (size_t i = 0; i < wire_pipeline_diag_count(p); i++) {
      const wire_diag *dg = wire_pipeline_diag(p, i);
      fail("%s:%d:%d: %s", dg->file, dg->line, dg->col, dg->message);
    }
    wire_pipeline_free(p);
    return -1;
  }
  if ((rc = wire_pipeline_start(p)) != WIRE_OK) {
    fail("libwire: start: %s", wire_pipeline_errmsg(p));
    wire_pipeline_free(p);
    return -1;
  }
  size_t src = SIZE_MAX, snk = SIZE_MAX;
  for (size_t i = 0; i < wire_pipeline_node_count(p); i++) {
    wire_node_stats s;
    wire_pipeline_node_stats(p, i, &s);
    if (s.kind == WIRE_NODE_SOURCE) src = i;
    if (s.kind == WIRE_NODE_SINK) snk = i;
  }
  double first = 0, done = 0, last_progress = now_s();
  uint64_t last_out = 0;
  for (;;) {
    rc = wire_pipeline_wait(p, POLL_MS);
    double t = now_s();
    wire_node_stats si, so;
    wire_pipeline_node_stats(p, src, &si);
    wire_pipeline_node_stats(p, snk, &so);
    if (!first && si.in > 0) first = t;
    if (!done && so.out >= (uint64_t)n) done = t;
    if (rc != WIRE_ETIMEDOUT) break;
    if (so.out != last_out) {
      last_out = so.out;
      last_progress = t;
    } else if (t - last_progress > STALL_S) {
      fail("libwire: no progress for %.0f s (source in %" PRIu64
           ", sink out %" PRIu64 ")", STALL_S, si.in, so.out);
      wire_pipeline_stop(p);
    }
  }
  double end = now_s();
  wire_node_stats si, so;
  wire_pipeline_node_stats(p, src, &si);
  wire_pipeline_node_stats(p, snk, &so);
  if (rc != WIRE_OK) {
    fail("libwire: %s: %s", wire_pipeline_state_name(wire_pipeline_get_state(p)),
         wire_pipeline_errmsg(p));
  } else if (si.in != (uint64_t)n || so.out != (uint64_t)n || si.errors ||
             so.errors) {
    fail("libwire: source in %" PRIu64 " (errors %" PRIu64 "), sink out %"
         PRIu64 " (errors %" PRIu64 "), expected %ld",
         si.in, si.errors, so.out, so.errors, n);
    rc = WIRE_EFAILED;
  }
  wire_pipeline_free(p);
  if (!done) done = end;
  r->stream = done - first;
  r->whole = end - t0;
  return rc == WIRE_OK ? 0 : -1;
}

/* ---- checking a topic -------------------------------------------------------- */

/* The topic holds exactly n records: its high watermarks (end offsets)
 * summed over the partitions.  With `whole` every partition must also still
 * start at offset 0 (the input: see MOCK_PARTITION_BYTES).  With `content`
 * the records the mock still keeps are read back: each must be one of the
 * VALUE_LEN-byte values with a seq in 0..n-1, none twice. */
static int verify(const char *bootstraps, const char *topic, int partitions,
                  long n, bool whole, bool content) {
  rd_kafka_t *c = consumer_new(bootstraps, NULL, 0);
  if (!c) return -1;
  int64_t total = 0, kept = 0;
  rd_kafka_topic_partition_list_t *parts =
      rd_kafka_topic_partition_list_new(partitions);
  int rc = 0;
  for (int i = 0; i < partitions && rc == 0; i++) {
    int64_t lo = 0, hi = 0;
    rd_kafka_resp_err_t e =
        rd_kafka_query_watermark_offsets(c, topic, i, &lo, &hi, 10000);
    if (e) {
      fail("verify %s/%d: watermarks: %s", topic, i, rd_kafka_err2str(e));
      rc = -1;
    } else if (whole && lo != 0) {
      fail("verify %s/%d: the mock cluster dropped offsets 0..%" PRId64
           " (more than its 5 MiB per partition): use more --partitions",
           topic, i, lo - 1);
      rc = -1;
    }
    total += hi;
    kept += hi - lo;
    if (hi > lo)
      rd_kafka_topic_partition_list_add(parts, topic, i)->offset = lo;
  }
  if (rc == 0 && total != n) {
    fail("verify %s: %" PRId64 " records, expected %ld", topic, total, n);
    rc = -1;
  }
  if (rc == 0 && content) {
    unsigned char *seen = calloc((size_t)n, 1);
    rd_kafka_resp_err_t e = seen ? rd_kafka_assign(c, parts) : 0;
    if (!seen || e) {
      fail("verify %s: %s", topic, e ? rd_kafka_err2str(e) : "out of memory");
      rc = -1;
    }
    int64_t got = 0;
    double last = now_s();
    while (rc == 0 && got < kept) {
      rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
      if (!m) {
        if (now_s() - last > STALL_S) {
          fail("verify %s: stalled after %" PRId64 " records", topic, got);
          rc = -1;
        }
        continue;
      }
      last = now_s();
      if (!m->err) {
        char buf[VALUE_LEN + 1];
        long seq = -1;
        if (m->len == VALUE_LEN) {
          memcpy(buf, m->payload, VALUE_LEN);
          buf[VALUE_LEN] = '\0';
          if (sscanf(buf, "{\"seq\":%ld,", &seq) != 1) seq = -1;
        }
        if (seq < 0 || seq >= n || seen[seq]++) {
          fail("verify %s: unexpected or repeated record at %d:%" PRId64,
               topic, m->partition, m->offset);
          rc = -1;
        }
        got++;
      }
      rd_kafka_message_destroy(m);
    }
    free(seen);
  }
  rd_kafka_topic_partition_list_destroy(parts);
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
  if (rc == 0 && content)
    fprintf(stderr, "  %s: %ld records (high watermarks); the %" PRId64
            " the mock still keeps read back and checked\n", topic, n, kept);
  return rc;
}

/* ---- main ------------------------------------------------------------------------ */

static void usage(void) {
  fprintf(stderr,
          "usage: kafka_bench [--records N] [--runs R] [--partitions P]\n"
          "                   [--format raw|json] [--only baseline|libwire]\n"
          "                   [--queued-min N] [--no-content-check]\n");
}

static void warn_log(void *user, wire_log_level level, const char *component,
                     const char *msg) {
  (void)user;
  fprintf(stderr, "libwire %s: %s: %s\n", wire_log_level_name(level),
          component, msg);
}

static void print_row(const char *name, long n, const result *r) {
  printf("| %s | %ld | %.3f | %.0f | %.1f | %.3f |\n", name, n, r->stream,
         (double)n / r->stream, (double)n * VALUE_LEN / r->stream / 1e6,
         r->whole);
}

int main(int argc, char **argv) {
  opts o = {.records = 1000000, .runs = 3, .partitions = 32, .format = "raw",
            .content = true, .run_b = true, .run_w = true,
            .queued_min = 1000000};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--records") == 0 && v) {
      o.records = atol(v), i++;
    } else if (strcmp(a, "--runs") == 0 && v) {
      o.runs = atoi(v), i++;
    } else if (strcmp(a, "--partitions") == 0 && v) {
      o.partitions = atoi(v), i++;
    } else if (strcmp(a, "--format") == 0 && v &&
               (strcmp(v, "raw") == 0 || strcmp(v, "json") == 0)) {
      o.format = v, i++;
    } else if (strcmp(a, "--only") == 0 && v &&
               (strcmp(v, "baseline") == 0 || strcmp(v, "libwire") == 0)) {
      o.run_b = strcmp(v, "baseline") == 0;
      o.run_w = !o.run_b;
      i++;
    } else if (strcmp(a, "--queued-min") == 0 && v) {
      o.queued_min = atol(v), i++;
    } else if (strcmp(a, "--no-content-check") == 0) {
      o.content = false;
    } else {
      usage();
      return 2;
    }
  }
  if (o.records <= 0 || o.runs <= 0 || o.partitions <= 0 || o.queued_min < 0) {
    usage();
    return 2;
  }
  long per = (o.records + o.partitions - 1) / o.partitions;
  if ((double)per * RECORD_BYTES > MOCK_PARTITION_BYTES) {
    long need = (long)((double)o.records * RECORD_BYTES / MOCK_PARTITION_BYTES) + 1;
    fail("%ld records do not fit in %d partitions of the mock cluster (it keeps "
         "5 MiB per partition): use --partitions %ld or more",
         o.records, o.partitions, need);
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);

  wire_ctx *ctx;
  if (wire_ctx_new(&ctx) != WIRE_OK) {
    fail("wire_ctx_new failed");
    return 1;
  }
  wire_ctx_set_log(ctx, WIRE_LOG_WARN, warn_log, NULL);

  result best_b = {1e300, 1e300}, best_w = {1e300, 1e300};
  int rc = 0;
  for (int run = 1; run <= o.runs && rc == 0; run++) {
    char in[64], out_b[64], out_w[64], group_b[96], group_w[96];
    snprintf(in, sizeof in, "bench-in-%d", run);
    snprintf(out_b, sizeof out_b, "bench-out-baseline-%d", run);
    snprintf(out_w, sizeof out_w, "bench-out-libwire-%d", run);
    snprintf(group_b, sizeof group_b, "bench-baseline-%d-%ld", run,
             (long)getpid());
    snprintf(group_w, sizeof group_w, "bench-libwire-%d-%ld", run,
             (long)getpid());
    const char *topics[] = {in, out_b, out_w};
    cluster cl;
    if (cluster_start(&cl, topics, 3, o.partitions)) {
      rc = 1;
      break;
    }
    double tf = now_s();
    if (fill(cl.bootstraps, in, o.records, o.partitions) ||
        verify(cl.bootstraps, in, o.partitions, o.records, true, false)) {
      rc = 1;
    } else {
      fprintf(stderr, "run %d: filled %s with %ld records in %.2f s\n", run,
              in, o.records, now_s() - tf);
    }
    result rb = {0}, rw = {0};
    /* Alternate the order so neither side always meets a fresher cluster. */
    for (int k = 0; k < 2 && rc == 0; k++) {
      bool base = (k == 0) == (run % 2 == 1);
      if (base ? !o.run_b : !o.run_w) continue;
      if (base) {
        if (run_baseline(cl.bootstraps, in, out_b, group_b, o.records,
                         o.queued_min, &rb) ||
            verify(cl.bootstraps, out_b, o.partitions, o.records, false,
                   o.content))
          rc = 1;
        else
          fprintf(stderr, "run %d: baseline %.3f s stream (%.0f records/s), "
                  "%.3f s whole; output verified\n", run, rb.stream,
                  (double)o.records / rb.stream, rb.whole);
      } else {
        if (run_libwire(ctx, cl.bootstraps, in, out_w, group_w, o.format,
                        o.records, o.queued_min, &rw) ||
            verify(cl.bootstraps, out_w, o.partitions, o.records, false,
                   o.content))
          rc = 1;
        else
          fprintf(stderr, "run %d: libwire  %.3f s stream (%.0f records/s), "
                  "%.3f s whole; output verified\n", run, rw.stream,
                  (double)o.records / rw.stream, rw.whole);
      }
    }
    cluster_stop(&cl);
    if (rc) break;
    if (rb.stream < best_b.stream) best_b.stream = rb.stream;
    if (rb.whole < best_b.whole) best_b.whole = rb.whole;
    if (rw.stream < best_w.stream) best_w.stream = rw.stream;
    if (rw.whole < best_w.whole) best_w.whole = rw.whole;
  }
  wire_ctx_free(ctx);
  if (rc) {
    fail("FAILED");
    return 1;
  }

  struct utsname u;
  uname(&u);
  printf("\ncommand:");
  for (int i = 0; i < argc; i++) printf(" %s", argv[i]);
  printf("\nmachine: %s %s, %ld cores; build: %s; libwire %s, librdkafka %s "
         "(mock cluster, 3 brokers, in process)\n",
         u.sysname, u.machine, sysconf(_SC_NPROCESSORS_ONLN), BENCH_BUILDTYPE,
         wire_version_string(), rd_kafka_version_str());
  printf("%ld records of %d bytes, %d partitions, best of %d run(s); "
         "stream = first record received -> all delivered, whole = "
         "including group join and teardown\n\n",
         o.records, VALUE_LEN, o.partitions, o.runs);
  printf("| case | records | stream s | records/s | MB/s | whole s |\n"
         "|---|---:|---:|---:|---:|---:|\n");
  if (o.run_b)
    print_row("baseline: librdkafka consumer -> producer loop", o.records,
              &best_b);
  char name[96];
  snprintf(name, sizeof name, "libwire: kafka source (format: %s) -> kafka sink",
           o.format);
  if (o.run_w) print_row(name, o.records, &best_w);
  if (o.run_b && o.run_w) {
    printf("\nlibwire / baseline (records/s, stream): %.2f\n",
           best_b.stream / best_w.stream);
    printf("libwire / baseline (records/s, whole run): %.2f\n",
           best_b.whole / best_w.whole);
  }
  return 0;
}
