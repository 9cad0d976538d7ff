/*
 * The `kafka` sink (connector layer, librdkafka): produces each record's
 * value to a topic, fixed (`topic`) or chosen per record by a jq expression
 * (`topic_expr`), with the event key (or the `key` path of the value), the
 * event time as the Kafka timestamp and the event headers.
 *
 * Delivery.  write() hands records to librdkafka (copied) and returns;
 * flush() waits until every record written so far has its delivery report,
 * so the engine acknowledges a batch upstream only when Kafka has it (with
 * the default acks=all and the idempotent producer: in all in-sync replicas,
 * no duplicates from librdkafka's own retries, order kept per partition).
 * librdkafka retries failed sends itself until message.timeout.ms; a record
 * that still fails with a retriable error (timeout, transport, leadership)
 * is produced again up to `retries` times.  Any other failure is permanent:
 * the record goes to the pipeline's dead-letter file when there is one,
 * else flush() fails the pipeline with the error.  A flush that cannot
 * finish within flush_timeout_ms (brokers down) answers WIRE_EAGAIN: the
 * engine retries it with backoff, nothing is acknowledged meanwhile.
 *
 * Delivery reports are served by rd_kafka_poll/rd_kafka_flush, which only
 * this sink's thread calls: every callback below runs on the sink thread.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "conn_util.h"
#include "connectors.h"
#include "core/json.h"
#include "kafka_util.h"
#include "ops/jqx.h"

/* A record produced again after a retriable failure (its copy of the
 * data lives here until its delivery report). */
typedef struct kretry {
  struct kretry *next;
  char *topic;
  void *key, *val;
  size_t key_len, len;
  rd_kafka_headers_t *hdrs; /* owned until produced */
  int64_t ts;
  int attempts;
} kretry;

typedef struct ksink {
  wire_stage *st;
  rd_kafka_t *rk;
  const char *topic;    /* fixed topic, or NULL */
  jq_state *topic_jq;   /* topic_expr */
  json_path key_path;
  bool has_key_path, headers, dlq;
  int retries;
  int flush_timeout_ms;
  int64_t inflight;     /* produced, no delivery report yet */
  kretry *retry;        /* waiting to be produced again */
  uint64_t failed;      /* permanent failures (no dead-letter file) */
  char failmsg[512];
  char fatal[512];
  char brokers[1024];
  char *scratch;
  size_t scap;
} ksink;

static const wire_option kafka_sink_options[] = {
    {.key = "brokers", .type = WIRE_OPT_LIST, .required = true,
     .doc = "bootstrap brokers, host:port (a list or one comma-separated "
            "string)"},
    {.key = "topic", .type = WIRE_OPT_STRING,
     .doc = "topic to write to (this or topic_expr)"},
    {.key = "topic_expr", .type = WIRE_OPT_STRING,
     .doc = "jq expression giving each record's topic from its value "
            "(records for which it gives no valid name are rejected)"},
    {.key = "key", .type = WIRE_OPT_STRING,
     .doc = "path in the value (.a.b) whose value is the Kafka key (a string "
            "as is, other values as JSON); default: the event key"},
    {.key = "acks", .type = WIRE_OPT_ENUM, .def = "all", .choices = "all|1|0",
     .doc = "replicas that must have a record before it counts as delivered"},
    {.key = "idempotence", .type = WIRE_OPT_BOOL, .def = "true",
     .doc = "idempotent producer: no duplicates or reordering from retries "
            "(needs acks: all; off by default with other acks)"},
    {.key = "compression", .type = WIRE_OPT_ENUM, .def = "none",
     .choices = "none|gzip|snappy|lz4|zstd", .doc = "compression codec"},
    {.key = "linger_ms", .type = WIRE_OPT_INT, .def = "5", .min = 0,
     .max = 900000, .doc = "how long librdkafka waits to fill a batch"},
    {.key = "batch_size", .type = WIRE_OPT_INT, .def = "1000000", .min = 1,
     .max = 2147483647, .doc = "largest batch sent to a partition, bytes"},
    {.key = "headers", .type = WIRE_OPT_BOOL, .def = "true",
     .doc = "write the event headers as Kafka record headers"},
    {.key = "retries", .type = WIRE_OPT_INT, .def = "3", .min = 0,
     .max = 1000,
     .doc = "times a record is produced again after a retriable delivery "
            "failure (librdkafka's own retries come first)"},
    {.key = "flush_interval_ms", .type = WIRE_OPT_INT, .def = "100",
     .min = 1, .max = 3600000,
     .doc = "longest time written records wait before the engine flushes "
            "(waits for their delivery reports) and acknowledges them"},
    {.key = "flush_timeout_ms", .type = WIRE_OPT_INT, .def = "10000",
     .min = 10, .max = 3600000,
     .doc = "how long one flush waits for delivery reports before the "
            "engine retries it"},
    {.key = "connect_timeout_ms", .type = WIRE_OPT_INT, .def = "10000",
     .min = 100, .max = 600000,
     .doc = "how long open waits for the brokers to answer before failing"},
    {.key = "properties", .type = WIRE_OPT_MAP,
     .doc = "librdkafka producer properties, passed through (they override "
            "the options above)"},
    {0}};

/* ---- configuration -------------------------------------------------------- */

static rd_kafka_conf_t *sink_conf(const wire_config *cfg, bool report,
                                  char *err, size_t errlen) {
  char brokers[1024], num[32];
  if (kafka_brokers(cfg, brokers, sizeof brokers) < 0) {
    if (report) wire_config_error(cfg, "brokers", "broker list too long");
    snprintf(err, errlen, "broker list too long");
    return NULL;
  }
  const wire_config *rep = report ? cfg : NULL;
  const char *acks = conn_opt_string(cfg, "acks", "all");
  bool idem = conn_opt_bool(cfg, "idempotence", true) &&
              strcmp(acks, "all") == 0;
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  int bad = kafka_conf_set(conf, "bootstrap.servers", brokers, rep, "brokers",
                           err, errlen) ||
            kafka_conf_set(conf, "acks", acks, rep, "acks", err, errlen) ||
            kafka_conf_set(conf, "enable.idempotence", idem ? "true" : "false",
                           rep, "idempotence", err, errlen) ||
            kafka_conf_set(conf, "compression.codec",
                           conn_opt_string(cfg, "compression", "none"), rep,
                           "compression", err, errlen) ||
            kafka_conf_set(conf, "log_level", "4", rep, NULL, err, errlen);
  if (!bad) {
    snprintf(num, sizeof num, "%" PRId64, conn_opt_int(cfg, "linger_ms", 5));
    bad = kafka_conf_set(conf, "linger.ms", num, rep, "linger_ms", err, errlen);
  }
  if (!bad) {
    snprintf(num, sizeof num, "%" PRId64,
             conn_opt_int(cfg, "batch_size", 1000000));
    bad = kafka_conf_set(conf, "batch.size", num, rep, "batch_size", err,
                         errlen);
  }
  if (!bad) bad = kafka_conf_properties(conf, cfg, report, err, errlen);
  if (bad) {
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  return conf;
}

static int kafka_sink_validate(const wire_config *cfg) {
  char buf[1024], err[512];
  if (kafka_brokers(cfg, buf, sizeof buf) == 0)
    return wire_config_error(cfg, "brokers", "needs at least one broker "
                             "(host:port)");
  bool has_topic = wire_config_has(cfg, "topic");
  bool has_expr = wire_config_has(cfg, "topic_expr");
  if (has_topic == has_expr)
    return wire_config_error(cfg, has_expr ? "topic_expr" : NULL,
                             has_topic ? "give either topic or topic_expr, "
                                         "not both"
                                       : "needs a topic (or topic_expr)");
  if (has_topic) {
    const char *t = conn_opt_string(cfg, "topic", "");
    if (!kafka_topic_name_ok(t))
      return wire_config_error(cfg, "topic",
                               "'%s' is not a valid topic name (1 to 249 of "
                               "a-z A-Z 0-9 . _ -)", t);
  } else {
    jq_state *jq = jqx_compile(conn_opt_string(cfg, "topic_expr", ""), err,
                               sizeof err);
    if (!jq)
      return wire_config_error(cfg, "topic_expr", "invalid jq expression: %s",
                               err);
    jq_teardown(&jq);
  }
  if (wire_config_has(cfg, "key")) {
    json_path p;
    if (json_path_parse(conn_opt_string(cfg, "key", ""), &p) != 0)
      return wire_config_error(cfg, "key",
                               "'%s' is not a path such as .id or .user.name",
                               conn_opt_string(cfg, "key", ""));
    json_path_free(&p);
  }
  if (wire_config_has(cfg, "idempotence") &&
      conn_opt_bool(cfg, "idempotence", true) &&
      strcmp(conn_opt_string(cfg, "acks", "all"), "all") != 0)
    return wire_config_error(cfg, "idempotence",
                             "the idempotent producer needs acks: all");
  rd_kafka_conf_t *conf = sink_conf(cfg, true, err, sizeof err);
  if (!conf) return WIRE_ECONFIG;
  rd_kafka_conf_destroy(conf);
  return WIRE_OK;
}

/* ---- delivery reports (sink thread) ------------------------------------ */

static void retry_free(kretry *r) {
  if (!r) return;
  core_free(r->topic);
  core_free(r->key);
  core_free(r->val);
  if (r->hdrs) rd_kafka_headers_destroy(r->hdrs);
  core_free(r);
}

static kretry *retry_from(const rd_kafka_message_t *m) {
  kretry *r = core_calloc(1, sizeof *r);
  if (!r) return NULL;
  r->topic = core_strdup(rd_kafka_topic_name(m->rkt));
  if (m->key_len) r->key = core_malloc(m->key_len);
  if (m->len) r->val = core_malloc(m->len);
  if (!r->topic || (m->key_len && !r->key) || (m->len && !r->val)) {
    retry_free(r);
    return NULL;
  }
  if (m->key) {
    memcpy(r->key, m->key, m->key_len);
    r->key_len = m->key_len;
  }
  if (m->payload) {
    memcpy(r->val, m->payload, m->len);
    r->len = m->len;
  }
  rd_kafka_headers_t *h = NULL;
  if (rd_kafka_message_headers(m, &h) == 0 && h)
    r->hdrs = rd_kafka_headers_copy(h);
  rd_kafka_timestamp_type_t tt;
  r->ts = rd_kafka_message_timestamp(m, &tt);
  if (tt != RD_KAFKA_TIMESTAMP_CREATE_TIME || r->ts < 0) r->ts = 0;
  return r;
}

static void permanent_failure(ksink *s, const rd_kafka_message_t *m,
                              const char *why) {
  char reason[512];
  snprintf(reason, sizeof reason, "delivery to topic '%s' failed: %s",
           m->rkt ? rd_kafka_topic_name(m->rkt) : "?", why);
  if (s->dlq) {
    wire_stage_reject(s->st, NULL, m->payload, m->payload ? m->len : 0,
                      reason);
    return;
  }
  if (!s->failed++) snprintf(s->failmsg, sizeof s->failmsg, "%s", reason);
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  ksink *s = opaque;
  kretry *r = m->_private;
  s->inflight--;
  if (!m->err) {
    retry_free(r);
    return;
  }
  int attempts = r ? r->attempts : 0;
  if (kafka_err_retriable(m->err) && attempts < s->retries) {
    if (!r && !(r = retry_from(m))) {
      permanent_failure(s, m, "out of memory keeping it for a retry");
      return;
    }
    r->attempts = attempts + 1;
    r->next = s->retry;
    s->retry = r;
    return;
  }
  char why[300];
  snprintf(why, sizeof why, "%s%s", rd_kafka_err2str(m->err),
           attempts ? " (after retries)" : "");
  permanent_failure(s, m, why);
  retry_free(r);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason,
                     void *opaque) {
  ksink *s = opaque;
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[400];
    rd_kafka_fatal_error(rk, buf, sizeof buf);
    if (!s->fatal[0])
      snprintf(s->fatal, sizeof s->fatal, "fatal producer error: %s", buf);
    return;
  }
  wire_stage_log(s->st, WIRE_LOG_WARN, "%s", reason);
}

/* ---- open / close ---------------------------------------------------------- */

static void kafka_sink_close(void *state) {
  ksink *s = state;
  if (!s) return;
  if (s->rk) {
    /* Whatever is unflushed was never acknowledged: it will be replayed. */
    rd_kafka_purge(s->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    s->dlq = false; /* purged records are not failures */
    s->retries = INT_MAX;
    rd_kafka_flush(s->rk, 1000);
    rd_kafka_destroy(s->rk);
  }
  while (s->retry) {
    kretry *r = s->retry;
    s->retry = r->next;
    retry_free(r);
  }
  if (s->topic_jq) jq_teardown(&s->topic_jq);
  if (s->has_key_path) json_path_free(&s->key_path);
  core_free(s->scratch);
  core_free(s);
}

static int check_cluster(ksink *s, const wire_config *cfg) {
  int timeout = (int)conn_opt_int(cfg, "connect_timeout_ms", 10000);
  rd_kafka_topic_t *rkt = s->topic ? rd_kafka_topic_new(s->rk, s->topic, NULL)
                                   : NULL;
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t err = rd_kafka_metadata(s->rk, 0, rkt, &md, timeout);
  int rc = WIRE_OK;
  if (err) {
    rc = wire_stage_error(s->st, WIRE_EIO,
                          "brokers %s did not answer within %d ms: %s",
                          s->brokers, timeout, rd_kafka_err2str(err));
  } else if (rkt && md->topic_cnt == 1 && md->topics[0].err) {
    rd_kafka_resp_err_t te = md->topics[0].err;
    bool missing = te == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
    rc = wire_stage_error(s->st, missing ? WIRE_ENOTFOUND : WIRE_EIO,
                          "topic '%s' on brokers %s: %s%s", s->topic,
                          s->brokers, rd_kafka_err2str(te),
                          missing ? " (it does not exist and the brokers do "
                                    "not create topics automatically)"
                                  : "");
  }
  if (md) rd_kafka_metadata_destroy(md);
  if (rkt) rd_kafka_topic_destroy(rkt);
  return rc;
}

static int kafka_sink_open(wire_stage *st, void **state) {
  const wire_config *cfg = wire_stage_config(st);
  ksink *s = core_calloc(1, sizeof *s);
  if (!s) return WIRE_ENOMEM;
  s->st = st;
  s->topic = conn_opt_string(cfg, "topic", NULL);
  s->headers = conn_opt_bool(cfg, "headers", true);
  s->retries = (int)conn_opt_int(cfg, "retries", 3);
  s->flush_timeout_ms = (int)conn_opt_int(cfg, "flush_timeout_ms", 10000);
  s->dlq = kafka_stage_has_dlq(st);
  kafka_brokers(cfg, s->brokers, sizeof s->brokers);
  char err[512];
  if (!s->topic) {
    s->topic_jq = jqx_compile(conn_opt_string(cfg, "topic_expr", "."), err,
                              sizeof err);
    if (!s->topic_jq) {
      kafka_sink_close(s);
      return wire_stage_error(st, WIRE_ECONFIG, "topic_expr: %s", err);
    }
  }
  if (wire_config_has(cfg, "key")) {
    if (json_path_parse(conn_opt_string(cfg, "key", ""), &s->key_path) != 0) {
      kafka_sink_close(s);
      return wire_stage_error(st, WIRE_ECONFIG, "key is not a path");
    }
    s->has_key_path = true;
  }
  rd_kafka_conf_t *conf = sink_conf(cfg, false, err, sizeof err);
  if (!conf) {
    kafka_sink_close(s);
    return wire_stage_error(st, WIRE_ECONFIG, "%s", err);
  }
  rd_kafka_conf_set_opaque(conf, s);
  rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
  rd_kafka_conf_set_error_cb(conf, error_cb);
  kafka_conf_log(conf);
  s->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!s->rk) {
    rd_kafka_conf_destroy(conf);
    kafka_sink_close(s);
    return wire_stage_error(st, WIRE_ECONFIG, "producer: %s", err);
  }
  int rc = check_cluster(s, cfg);
  if (rc) {
    kafka_sink_close(s);
    return rc;
  }
  *state = s;
  return WIRE_OK;
}

/* ---- write -------------------------------------------------------------------- */

/* The topic of one record from topic_expr, into s->scratch.  NULL and a
 * reason when there is none. */
static const char *topic_of(ksink *s, const wire_event *ev, char *why,
                            size_t wlen) {
  if (ev->value_len > INT_MAX) {
    snprintf(why, wlen, "topic_expr: record too large");
    return NULL;
  }
  jv in = jv_parse_sized((const char *)ev->value, (int)ev->value_len);
  if (!jv_is_valid(in)) {
    jqx_parse_error(in, why, wlen);
    return NULL;
  }
  jq_start(s->topic_jq, in, 0);
  jv o = jq_next(s->topic_jq);
  const char *res = NULL;
  if (!jv_is_valid(o)) {
    if (jv_invalid_has_msg(jv_copy(o)))
      jqx_error_text(jv_invalid_get_msg(o), why, wlen);
    else {
      jv_free(o);
      snprintf(why, wlen, "topic_expr gave no output");
    }
    return NULL;
  }
  if (jv_get_kind(o) == JV_KIND_STRING) {
    const char *t = jv_string_value(o);
    size_t n = strlen(t);
    if (kafka_topic_name_ok(t) && n < s->scap) {
      memcpy(s->scratch, t, n + 1);
      res = s->scratch;
    } else if (kafka_topic_name_ok(t)) {
      char *d = core_realloc(s->scratch, n + 64);
      if (d) {
        s->scratch = d;
        s->scap = n + 64;
        memcpy(s->scratch, t, n + 1);
        res = s->scratch;
      }
    } else {
      snprintf(why, wlen, "topic_expr gave \"%.100s\", not a valid topic "
               "name", t);
    }
  } else {
    snprintf(why, wlen, "topic_expr gave a %s, not a topic name (string)",
             jv_kind_name(jv_get_kind(o)));
  }
  jv_free(o);
  return res;
}

static int produce_one(ksink *s, const char *topic, const void *key,
                       size_t klen, const void *val, size_t len, int64_t ts,
                       rd_kafka_headers_t *hdrs, kretry *r) {
  for (;;) {
    rd_kafka_resp_err_t err = rd_kafka_producev(
        s->rk, RD_KAFKA_V_TOPIC(topic),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY((void *)key, klen), RD_KAFKA_V_VALUE((void *)val, len),
        RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_HEADERS(hdrs),
        RD_KAFKA_V_OPAQUE(r), RD_KAFKA_V_END);
    if (!err) {
      s->inflight++;
      return 0;
    }
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) return (int)err;
    /* librdkafka's queue is full: serve delivery reports and wait. */
    rd_kafka_poll(s->rk, 10);
    if (s->fatal[0]) return (int)RD_KAFKA_RESP_ERR__FATAL;
  }
}

static int kafka_sink_write(void *state, const wire_batch *b) {
  ksink *s = state;
  size_t n = wire_batch_count(b);
  char why[400];
  for (size_t i = 0; i < n; i++) {
    const wire_event *ev = wire_batch_event(b, i);
    const char *topic = s->topic;
    if (!topic && !(topic = topic_of(s, ev, why, sizeof why))) {
      wire_stage_reject(s->st, ev, NULL, 0, why);
      continue;
    }
    const void *key = ev->key;
    size_t klen = ev->key_len;
    char *kbuf = NULL;
    if (s->has_key_path) {
      const char *kv;
      size_t kl;
      key = NULL;
      klen = 0;
      if (json_find((const char *)ev->value, ev->value_len, &s->key_path, &kv,
                    &kl) == 1 &&
          json_kind_of(kv, kl) != JSON_NULL) {
        if (json_kind_of(kv, kl) == JSON_STRING && (kbuf = core_malloc(kl))) {
          long u = json_unescape(kv, kl, kbuf);
          if (u >= 0) {
            key = kbuf;
            klen = (size_t)u;
          }
        } else {
          key = kv;
          klen = kl;
        }
      }
    }
    rd_kafka_headers_t *hdrs = NULL;
    if (s->headers && ev->header_count) {
      hdrs = rd_kafka_headers_new(ev->header_count);
      for (size_t k = 0; k < ev->header_count; k++) {
        const wire_header *h = &ev->headers[k];
        rd_kafka_header_add(hdrs, h->name, (ssize_t)h->name_len, h->value,
                            (ssize_t)h->value_len);
      }
    }
    int err = produce_one(s, topic, key, klen, ev->value, ev->value_len,
                          ev->time_ns / 1000000, hdrs, NULL);
    core_free(kbuf);
    if (err) {
      if (hdrs) rd_kafka_headers_destroy(hdrs);
      if (s->fatal[0])
        return wire_stage_error(s->st, WIRE_EIO, "%s", s->fatal);
      snprintf(why, sizeof why, "produce to topic '%s' failed: %s", topic,
               rd_kafka_err2str((rd_kafka_resp_err_t)err));
      if (s->dlq) {
        wire_stage_reject(s->st, ev, NULL, 0, why);
        continue;
      }
      return wire_stage_error(s->st, WIRE_EIO, "%s", why);
    }
  }
  rd_kafka_poll(s->rk, 0); /* serve delivery reports as we go */
  return WIRE_OK;
}

/* ---- flush -------------------------------------------------------------------------- */

static int kafka_sink_flush(void *state) {
  ksink *s = state;
  int64_t deadline = core_monotonic_ns() + (int64_t)s->flush_timeout_ms * 1000000;
  for (;;) {
    while (s->retry && !s->fatal[0]) { /* produce failed records again */
      kretry *r = s->retry;
      s->retry = r->next;
      r->next = NULL;
      int err = produce_one(s, r->topic, r->key, r->key_len, r->val, r->len,
                            r->ts, r->hdrs, r);
      if (err) {
        r->next = s->retry;
        s->retry = r;
        break;
      }
      r->hdrs = NULL; /* librdkafka owns them now */
    }
    while (s->inflight > 0 && !s->fatal[0]) {
      int64_t left = (deadline - core_monotonic_ns()) / 1000000;
      if (left <= 0) break;
      rd_kafka_flush(s->rk, (int)(left < 100 ? left : 100));
      rd_kafka_poll(s->rk, 0);
    }
    if (s->fatal[0]) return wire_stage_error(s->st, WIRE_EIO, "%s", s->fatal);
    if (s->failed)
      return wire_stage_error(s->st, WIRE_EIO,
                              "%" PRIu64 " record(s) could not be delivered "
                              "(no dead_letter file configured); first: %s",
                              s->failed, s->failmsg);
    if (!s->inflight && !s->retry) return WIRE_OK;
    if (core_monotonic_ns() >= deadline)
      return wire_stage_error(s->st, WIRE_EAGAIN,
                              "%" PRId64 " record(s) still wait for delivery "
                              "to brokers %s after %d ms",
                              s->inflight + (s->retry ? 1 : 0), s->brokers,
                              s->flush_timeout_ms);
    if (s->retry) rd_kafka_poll(s->rk, 100); /* pace the retries */
  }
}

const wire_sink_vtable conn_kafka_sink = {
    .version = WIRE_SINK_VERSION,
    .name = "kafka",
    .doc = "Produce records to Kafka (librdkafka): acks=all and idempotent "
           "by default; a batch is acknowledged when every record is "
           "delivered",
    .options = kafka_sink_options,
    .validate = kafka_sink_validate,
    .open = kafka_sink_open,
    .write = kafka_sink_write,
    .flush = kafka_sink_flush,
    .close = kafka_sink_close,
};
