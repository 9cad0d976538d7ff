/*
 * The `kafka` source (connector layer, librdkafka): consumes topics (names
 * or "^regex") as a member of a consumer group.
 *
 * Offsets.  libwire is the source of truth: every batch carries the offsets
 * consumed so far (kafka_util.h: "topic/partition:offset,..."), the engine
 * commits them with the pipeline's checkpoint once every sink acknowledged
 * the batch, and hands them back to open() as `resume` after a restart.
 * Auto-commit is off; acknowledged offsets are also committed to the Kafka
 * group (asynchronously, from ack()) so that lag tools see them and so that
 * a run without a checkpoint store (`wire-node run`, resume NULL) continues
 * from the group's committed offsets.  When a partition is assigned its
 * start offset is, in this order: the offset this consumer already reached
 * (the partition came back after an eager rebalance: records in flight are
 * still being delivered), the `resume` offset, the group's committed
 * offset, and `start` (earliest|latest) when there is none.
 *
 * Rebalances.  The rebalance callback runs inside poll on the source
 * thread.  On revoke it waits, in the callback, until every record handed
 * to the engine so far is acknowledged by the sinks (which acknowledge from
 * their own threads: wire_stage_acked_position()) or `revoke_timeout_ms`
 * passed, then commits the acknowledged offsets of the revoked partitions
 * to the group synchronously and releases them, all before it returns: the
 * new owner starts right after what this pipeline delivered, with no
 * duplicate unless the timeout passed.  (librdkafka also allows the
 * unassign call to come after the callback; doing so from poll, as a first
 * version did, could hang rd_kafka_consumer_close under load.)  Offsets of
 * partitions no longer assigned are never committed, so a late
 * acknowledgement cannot move another member's offset backwards.  Lost
 * partitions (session timed out) are dropped at once.  Eager and
 * cooperative assignors both work.
 *
 * Events: the Kafka key is the event key, the Kafka timestamp the event
 * time, headers become event headers, the value is the payload (checked to
 * be JSON with `format: json`; other records are rejected).  Event ids are
 * UUIDv7(timestamp, hash(topic), partition, offset): a replay gives the same
 * ids.
 */
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "conn_util.h"
#include "connectors.h"
#include "core/json.h"
#include "kafka_util.h"

typedef struct ksrc {
  wire_stage *st;
  rd_kafka_t *rk;
  rd_kafka_queue_t *q; /* the consumer queue */
  bool json, key_json, headers, exit_at_end;
  bool cooperative;
  kpos consumed;  /* next offset per partition; `assigned` flags */
  kpos resume;    /* from open(); an entry is used once */
  kpos acked;     /* scratch for ack() */
  size_t neof;    /* assigned partitions at their end (exit_at_end) */
  kpos eof;       /* partitions at their end (offset = 1) */
  bool pos_dirty;
  bool had_assignment;
  bool closing; /* close(): rebalances do not wait for acknowledgements */
  int revoke_timeout_ms;
  char *acked_buf; /* scratch for wire_stage_acked_position() */
  size_t acked_cap;
  char fatal[512];    /* set from callbacks: poll fails with it */
  int fatal_code;
  char brokers[1024];
  core_buf pos;
  wire_header *hdrs;
  size_t hcap;
} ksrc;

static const wire_option kafka_source_options[] = {
    {.key = "brokers", .type = WIRE_OPT_LIST, .required = true,
     .doc = "bootstrap brokers, host:port (a list or one comma-separated "
            "string)"},
    {.key = "topics", .type = WIRE_OPT_LIST, .required = true,
     .doc = "topics to consume; a name starting with ^ is a regular "
            "expression matching topic names"},
    {.key = "group", .type = WIRE_OPT_STRING,
     .doc = "consumer group id (default wire-PIPELINE-SOURCEID)"},
    {.key = "start", .type = WIRE_OPT_ENUM, .def = "earliest",
     .choices = "earliest|latest",
     .doc = "where to start in a partition that has no committed offset"},
    {.key = "format", .type = WIRE_OPT_ENUM, .def = "json",
     .choices = "json|raw",
     .doc = "json: values must be JSON (others are rejected); raw: any "
            "bytes"},
    {.key = "key_format", .type = WIRE_OPT_ENUM, .def = "raw",
     .choices = "json|raw",
     .doc = "json: keys must be JSON (others are rejected); raw: any bytes"},
    {.key = "headers", .type = WIRE_OPT_BOOL, .def = "true",
     .doc = "copy Kafka record headers to event headers"},
    {.key = "exit_at_end", .type = WIRE_OPT_BOOL, .def = "false",
     .doc = "finish when every assigned partition is read to its end "
            "(like kcat -e)"},
    {.key = "connect_timeout_ms", .type = WIRE_OPT_INT, .def = "10000",
     .min = 100, .max = 600000,
     .doc = "how long open waits for the brokers to answer before failing"},
    {.key = "revoke_timeout_ms", .type = WIRE_OPT_INT, .def = "10000",
     .min = 0, .max = 600000,
     .doc = "how long a rebalance keeps revoked partitions until the "
            "records read from them are acknowledged (then they are "
            "released anyway and the new owner reads the rest again); keep "
            "it below max.poll.interval.ms"},
    {.key = "properties", .type = WIRE_OPT_MAP,
     .doc = "librdkafka consumer properties, passed through (they override "
            "the options above)"},
    {0}};

/* ---- configuration -------------------------------------------------------- */

static const char *group_of(const wire_config *cfg, const wire_stage *st,
                            char *buf, size_t len) {
  const char *g = conn_opt_string(cfg, "group", NULL);
  if (g) return g;
  snprintf(buf, len, "wire-%s-%s", st ? kafka_stage_pipeline(st) : "pipeline",
           wire_config_id(cfg));
  return buf;
}

/* Build the consumer configuration.  With `report` errors are reported
 * against the options (validation), else written to err. */
static rd_kafka_conf_t *source_conf(const wire_config *cfg, const char *group,
                                    bool report, char *err, size_t errlen) {
  char brokers[1024];
  if (kafka_brokers(cfg, brokers, sizeof brokers) < 0) {
    if (report) wire_config_error(cfg, "brokers", "broker list too long");
    snprintf(err, errlen, "broker list too long");
    return NULL;
  }
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  const char *start = conn_opt_string(cfg, "start", "earliest");
  const wire_config *rep = report ? cfg : NULL;
  if (kafka_conf_set(conf, "bootstrap.servers", brokers, rep, "brokers", err,
                     errlen) ||
      kafka_conf_set(conf, "group.id", group, rep, "group", err, errlen) ||
      kafka_conf_set(conf, "auto.offset.reset", start, rep, "start", err,
                     errlen) ||
      kafka_conf_set(conf, "enable.auto.commit", "false", rep, NULL, err,
                     errlen) ||
      kafka_conf_set(conf, "enable.auto.offset.store", "false", rep, NULL,
                     err, errlen) ||
      kafka_conf_set(conf, "enable.partition.eof",
                     conn_opt_bool(cfg, "exit_at_end", false) ? "true"
                                                              : "false",
                     rep, NULL, err, errlen) ||
      kafka_conf_set(conf, "log_level", "4", rep, NULL, err, errlen) ||
      kafka_conf_properties(conf, cfg, report, err, errlen)) {
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  return conf;
}

static int kafka_source_validate(const wire_config *cfg) {
  char buf[1024], err[512];
  int rc = kafka_brokers(cfg, buf, sizeof buf);
  if (rc == 0)
    return wire_config_error(cfg, "brokers", "needs at least one broker "
                             "(host:port)");
  size_t n = wire_config_list_count(cfg, "topics");
  if (n == 0) return wire_config_error(cfg, "topics", "needs at least one topic");
  for (size_t i = 0; i < n; i++) {
    const char *t = wire_config_list_item(cfg, "topics", i);
    if (!t || !*t) return wire_config_error(cfg, "topics", "empty topic name");
    if (t[0] == '^') {
      regex_t re;
      int e = regcomp(&re, t, REG_EXTENDED | REG_NOSUB);
      if (e) {
        regerror(e, &re, buf, sizeof buf);
        return wire_config_error(cfg, "topics",
                                 "topic pattern '%s' is not a valid regular "
                                 "expression: %s", t, buf);
      }
      regfree(&re);
    } else if (!kafka_topic_name_ok(t)) {
      return wire_config_error(cfg, "topics",
                               "'%s' is not a valid topic name (1 to 249 of "
                               "a-z A-Z 0-9 . _ -; a pattern starts with ^)",
                               t);
    }
  }
  const char *g = conn_opt_string(cfg, "group", NULL);
  if (g && !*g) return wire_config_error(cfg, "group", "group must not be empty");
  rd_kafka_conf_t *conf = source_conf(cfg, group_of(cfg, NULL, buf, sizeof buf),
                                      true, err, sizeof err);
  if (!conf) return WIRE_ECONFIG;
  rd_kafka_conf_destroy(conf);
  return WIRE_OK;
}

/* ---- callbacks (all run on the source thread, inside poll) -------------- */

static void set_fatal(ksrc *s, int code, const char *fmt, ...)
    WIRE_PRINTF(3, 4);
static void set_fatal(ksrc *s, int code, const char *fmt, ...) {
  if (s->fatal_code) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->fatal, sizeof s->fatal, fmt, ap);
  va_end(ap);
  s->fatal_code = code;
}

/* Commit the offsets in `p` of assigned partitions (of `only` when given)
 * that moved since the last commit, async or not.  A synchronous commit
 * sends them all, moved or not (an earlier async one may have failed).
 * Returns the error of a synchronous commit. */
static rd_kafka_resp_err_t commit_offsets(
    ksrc *s, const kpos *p, bool async,
    const rd_kafka_topic_partition_list_t *only) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
  for (size_t i = 0; i < p->n; i++) {
    const kpos_entry *a = &p->v[i];
    kpos_entry *c = kpos_find(&s->consumed, a->topic, a->partition);
    if (!c || !c->assigned || a->offset < 0 ||
        (async && a->offset <= c->committed))
      continue;
    if (only && !rd_kafka_topic_partition_list_find(only, a->topic,
                                                    a->partition))
      continue;
    rd_kafka_topic_partition_list_add(l, a->topic, a->partition)->offset =
        a->offset;
    c->committed = a->offset;
  }
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (l->cnt) {
    err = rd_kafka_commit(s->rk, l, async);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
      wire_stage_log(s->st, WIRE_LOG_WARN, "commit to group: %s",
                     rd_kafka_err2str(err));
  }
  rd_kafka_topic_partition_list_destroy(l);
  return err;
}

static void on_assign(ksrc *s, rd_kafka_topic_partition_list_t *parts) {
  for (int i = 0; i < parts->cnt; i++) {
    rd_kafka_topic_partition_t *tp = &parts->elems[i];
    kpos_entry *c = kpos_find(&s->consumed, tp->topic, tp->partition);
    kpos_entry *r = kpos_find(&s->resume, tp->topic, tp->partition);
    if (c && c->offset >= 0) {
      tp->offset = c->offset;
    } else if (r) {
      tp->offset = r->offset;
    }
    if (r) kpos_remove(&s->resume, (size_t)(r - s->resume.v));
    c = kpos_upsert(&s->consumed, tp->topic, tp->partition);
    if (!c) {
      set_fatal(s, WIRE_ENOMEM, "out of memory");
      return;
    }
    c->assigned = true;
    if (tp->offset >= 0) c->offset = tp->offset;
  }
  if (!s->cooperative) /* eager: what is not in the list went elsewhere */
    for (size_t i = s->consumed.n; i-- > 0;)
      if (!s->consumed.v[i].assigned) kpos_remove(&s->consumed, i);
  kpos_clear(&s->eof);
  s->neof = 0;
  s->had_assignment = true;
  s->pos_dirty = true;
  wire_stage_log(s->st, WIRE_LOG_INFO, "assigned %d partition(s)", parts->cnt);
}

static void on_revoke(ksrc *s, rd_kafka_topic_partition_list_t *parts) {
  /* Commit what is acknowledged before the partitions go. */
  commit_offsets(s, &s->acked, false, parts);
  for (int i = 0; i < parts->cnt; i++) {
    rd_kafka_topic_partition_t *tp = &parts->elems[i];
    kpos_entry *c = kpos_find(&s->consumed, tp->topic, tp->partition);
    if (!c) continue;
    c->assigned = false;
    if (s->cooperative) kpos_remove(&s->consumed, (size_t)(c - s->consumed.v));
  }
  kpos_clear(&s->eof);
  s->neof = 0;
  s->pos_dirty = true;
}

/* Tell librdkafka the partitions are released. */
static void unassign(ksrc *s, rd_kafka_topic_partition_list_t *parts) {
  rd_kafka_error_t *e = NULL;
  rd_kafka_resp_err_t e2 = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (s->cooperative)
    e = rd_kafka_incremental_unassign(s->rk, parts);
  else
    e2 = rd_kafka_assign(s->rk, NULL);
  if (e) {
    set_fatal(s, WIRE_EIO, "rebalance: %s", rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
  } else if (e2) {
    set_fatal(s, WIRE_EIO, "rebalance: %s", rd_kafka_err2str(e2));
  }
}

/* Whether every position handed to the engine is acknowledged; the
 * acknowledged position is left in acked_buf. */
static bool caught_up(ksrc *s) {
  if (!s->pos.data || !s->pos.len) return true; /* nothing handed out */
  for (int attempt = 0; attempt < 2; attempt++) {
    size_t want = (s->pos.len + 64) << attempt;
    if (s->acked_cap < want) {
      char *b = core_realloc(s->acked_buf, want);
      if (!b) return false;
      s->acked_buf = b;
      s->acked_cap = want;
    }
    int rc = wire_stage_acked_position(s->st, s->acked_buf, s->acked_cap);
    if (rc == WIRE_OK) return strcmp(s->acked_buf, s->pos.data) == 0;
    if (rc != WIRE_ETOOBIG) break;
  }
  if (s->acked_buf) s->acked_buf[0] = '\0';
  return false;
}

/* Revoked (not lost): wait until what was handed out is delivered, commit,
 * release. */
static void revoke(ksrc *s, rd_kafka_topic_partition_list_t *parts) {
  bool done = s->closing || caught_up(s);
  int64_t deadline =
      core_monotonic_ns() + (int64_t)s->revoke_timeout_ms * 1000000;
  while (!done && core_monotonic_ns() < deadline) {
    struct timespec ts = {0, 5 * 1000000};
    nanosleep(&ts, NULL);
    done = caught_up(s);
  }
  if (done) {
    wire_stage_log(s->st, WIRE_LOG_INFO,
                   "rebalance: %d partition(s) released after their records "
                   "were acknowledged", parts->cnt);
  } else {
    wire_stage_log(s->st, WIRE_LOG_WARN,
                   "rebalance: %d partition(s) released before every record "
                   "read from them was acknowledged (revoke_timeout_ms %d): "
                   "the new owner reads those records again",
                   parts->cnt, s->revoke_timeout_ms);
  }
  /* The acknowledged offsets: the engine's watermark, newer than what
   * ack() last saw (ack() is called between polls, not during this one). */
  if (s->acked_buf && *s->acked_buf) {
    char err[256];
    if (kpos_parse(&s->acked, s->acked_buf, err, sizeof err))
      wire_stage_log(s->st, WIRE_LOG_WARN, "rebalance: position '%s': %s",
                     s->acked_buf, err);
  }
  on_revoke(s, parts);
  unassign(s, parts);
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts,
                         void *opaque) {
  ksrc *s = opaque;
  /* The protocol is asked on assignment only: asked from a callback that
   * consumer_close runs, rd_kafka_rebalance_protocol() can block for ever
   * (librdkafka issue 4041). */
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS && !s->closing)
    s->cooperative =
        strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    on_assign(s, parts);
    rd_kafka_error_t *e = NULL;
    rd_kafka_resp_err_t e2 = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (s->cooperative)
      e = rd_kafka_incremental_assign(rk, parts);
    else
      e2 = rd_kafka_assign(rk, parts);
    if (e) {
      set_fatal(s, WIRE_EIO, "rebalance: %s", rd_kafka_error_string(e));
      rd_kafka_error_destroy(e);
    } else if (e2) {
      set_fatal(s, WIRE_EIO, "rebalance: %s", rd_kafka_err2str(e2));
    }
    return;
  }
  if (rd_kafka_assignment_lost(rk)) {
    /* Another member may own them already: commit nothing. */
    for (int i = 0; i < parts->cnt; i++) {
      kpos_entry *c = kpos_find(&s->consumed, parts->elems[i].topic,
                                parts->elems[i].partition);
      if (c) kpos_remove(&s->consumed, (size_t)(c - s->consumed.v));
    }
    kpos_clear(&s->eof);
    s->neof = 0;
    s->pos_dirty = true;
    unassign(s, parts);
    return;
  }
  revoke(s, parts);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason,
                     void *opaque) {
  ksrc *s = opaque;
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    rd_kafka_fatal_error(rk, buf, sizeof buf);
    set_fatal(s, WIRE_EIO, "fatal consumer error: %s", buf);
    return;
  }
  wire_stage_log(s->st, WIRE_LOG_WARN, "%s", reason);
}

static void commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *offsets, void *opaque) {
  (void)rk;
  ksrc *s = opaque;
  if (!err || err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;
  /* Not committed after all: the next commit sends these again.  (A
   * rebalance in progress refuses commits; that is expected.) */
  for (int i = 0; offsets && i < offsets->cnt; i++) {
    const rd_kafka_topic_partition_t *tp = &offsets->elems[i];
    kpos_entry *c = kpos_find(&s->consumed, tp->topic, tp->partition);
    if (c && c->committed == tp->offset) c->committed = -1;
  }
  wire_stage_log(s->st,
                 err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS
                     ? WIRE_LOG_DEBUG
                     : WIRE_LOG_WARN,
                 "commit to group failed: %s", rd_kafka_err2str(err));
}

/* ---- open / close ------------------------------------------------------------- */

static void kafka_source_close(void *state) {
  ksrc *s = state;
  if (!s) return;
  if (s->rk) {
    /* Leave the group now (a restarted run rejoins at once) after a last
     * commit of what the engine acknowledged.  Unsubscribe first and serve
     * the resulting revoke from poll, then close with nothing assigned:
     * an unassign called from the callback that rd_kafka_consumer_close
     * runs can block for ever when the group evicted this member meanwhile
     * (seen with librdkafka 2.0.2 under load; librdkafka issues 4527 and
     * 4884 describe the same hang and this workaround). */
    s->closing = true;
    commit_offsets(s, &s->acked, false, NULL);
    rd_kafka_unsubscribe(s->rk);
    int64_t until = core_monotonic_ns() + (int64_t)5000 * 1000000;
    while (core_monotonic_ns() < until) {
      rd_kafka_topic_partition_list_t *a = NULL;
      bool empty = rd_kafka_assignment(s->rk, &a) == 0 && a && a->cnt == 0;
      if (a) rd_kafka_topic_partition_list_destroy(a);
      if (empty) break;
      rd_kafka_message_t *m = rd_kafka_consumer_poll(s->rk, 50);
      if (m) rd_kafka_message_destroy(m); /* not consumed: not acked */
    }
    rd_kafka_consumer_close(s->rk);
    if (s->q) rd_kafka_queue_destroy(s->q);
    rd_kafka_destroy(s->rk);
  }
  kpos_free(&s->consumed);
  kpos_free(&s->resume);
  kpos_free(&s->acked);
  kpos_free(&s->eof);
  core_free(s->acked_buf);
  core_buf_free(&s->pos);
  core_free(s->hdrs);
  core_free(s);
}

/* Ask the cluster for the topics: brokers reachable within the timeout and
 * every literal topic exists. */
static int check_cluster(ksrc *s, const wire_config *cfg) {
  int timeout = (int)conn_opt_int(cfg, "connect_timeout_ms", 10000);
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t err = rd_kafka_metadata(s->rk, 1, NULL, &md, timeout);
  if (err)
    return wire_stage_error(
        s->st, WIRE_EIO, "brokers %s did not answer within %d ms: %s",
        s->brokers, timeout, rd_kafka_err2str(err));
  int rc = WIRE_OK;
  size_t n = wire_config_list_count(cfg, "topics");
  for (size_t i = 0; i < n && rc == WIRE_OK; i++) {
    const char *t = wire_config_list_item(cfg, "topics", i);
    if (t[0] == '^') continue;
    bool found = false;
    for (int k = 0; k < md->topic_cnt && !found; k++)
      found = strcmp(md->topics[k].topic, t) == 0 && !md->topics[k].err;
    if (!found)
      rc = wire_stage_error(s->st, WIRE_ENOTFOUND,
                            "topic '%s' does not exist on brokers %s", t,
                            s->brokers);
  }
  rd_kafka_metadata_destroy(md);
  return rc;
}

static int kafka_source_open(wire_stage *st, const char *resume, void **state) {
  const wire_config *cfg = wire_stage_config(st);
  ksrc *s = core_calloc(1, sizeof *s);
  if (!s) return WIRE_ENOMEM;
  s->st = st;
  s->json = strcmp(conn_opt_string(cfg, "format", "json"), "json") == 0;
  s->key_json = strcmp(conn_opt_string(cfg, "key_format", "raw"), "json") == 0;
  s->headers = conn_opt_bool(cfg, "headers", true);
  s->exit_at_end = conn_opt_bool(cfg, "exit_at_end", false);
  s->revoke_timeout_ms = (int)conn_opt_int(cfg, "revoke_timeout_ms", 10000);
  kafka_brokers(cfg, s->brokers, sizeof s->brokers);
  char err[512];
  if (resume && *resume && kpos_parse(&s->resume, resume, err, sizeof err)) {
    wire_stage_error(st, WIRE_EPARSE,
                     "invalid resume position '%s': %s (expected "
                     "topic/partition:offset,...)",
                     resume, err);
    kafka_source_close(s);
    return WIRE_EPARSE;
  }
  char gbuf[512];
  const char *group = group_of(cfg, st, gbuf, sizeof gbuf);
  rd_kafka_conf_t *conf = source_conf(cfg, group, false, err, sizeof err);
  if (!conf) {
    kafka_source_close(s);
    return wire_stage_error(st, WIRE_ECONFIG, "%s", err);
  }
  rd_kafka_conf_set_opaque(conf, s);
  rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
  rd_kafka_conf_set_error_cb(conf, error_cb);
  kafka_conf_log(conf);
  rd_kafka_conf_set_offset_commit_cb(conf, commit_cb);
  s->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!s->rk) {
    rd_kafka_conf_destroy(conf);
    kafka_source_close(s);
    return wire_stage_error(st, WIRE_ECONFIG, "consumer: %s", err);
  }
  rd_kafka_poll_set_consumer(s->rk);
  s->q = rd_kafka_queue_get_consumer(s->rk);
  int rc = check_cluster(s, cfg);
  if (rc) {
    kafka_source_close(s);
    return rc;
  }
  size_t n = wire_config_list_count(cfg, "topics");
  rd_kafka_topic_partition_list_t *topics =
      rd_kafka_topic_partition_list_new((int)n);
  for (size_t i = 0; i < n; i++)
    rd_kafka_topic_partition_list_add(topics,
                                      wire_config_list_item(cfg, "topics", i),
                                      RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t e = rd_kafka_subscribe(s->rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (e) {
    kafka_source_close(s);
    return wire_stage_error(st, WIRE_EIO, "subscribe: %s", rd_kafka_err2str(e));
  }
  wire_stage_log(st, WIRE_LOG_INFO, "consuming as group '%s' from %s%s",
                 group, s->brokers,
                 s->resume.n ? " (resuming from the checkpoint)" : "");
  *state = s;
  return WIRE_OK;
}

/* ---- poll ------------------------------------------------------------------------ */

/* A consumer error event (not a record). */
static int consumer_error(ksrc *s, rd_kafka_message_t *m) {
  const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : NULL;
  if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    kpos_entry *e = kpos_upsert(&s->eof, topic, m->partition);
    if (!e) return WIRE_ENOMEM;
    if (e->offset != 1) {
      e->offset = 1;
      s->neof++;
    }
    return WIRE_OK;
  }
  if (m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
      m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)
    return wire_stage_error(s->st, WIRE_ENOTFOUND,
                            "topic '%s' does not exist on brokers %s: %s",
                            topic ? topic : "?", s->brokers,
                            rd_kafka_message_errstr(m));
  if (m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
      m->err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED ||
      m->err == RD_KAFKA_RESP_ERR__FATAL)
    return wire_stage_error(s->st, WIRE_EIO, "%s", rd_kafka_message_errstr(m));
  /* Transport and leadership trouble: librdkafka recovers by itself. */
  wire_stage_log(s->st, WIRE_LOG_WARN, "consumer: %s",
                 rd_kafka_message_errstr(m));
  return WIRE_OK;
}

/* Whether `p` is JSON; if not, the record is rejected with where and why. */
static bool json_or_reject(ksrc *s, const wire_event *ev, const void *p,
                           size_t len, const char *what, const char *topic,
                           const rd_kafka_message_t *m) {
  size_t bad;
  if (json_validate((const char *)p, len, &bad)) return true;
  char why[160];
  snprintf(why, sizeof why, "%s/%" PRId32 ":%" PRId64
           ": %s is not JSON (error at byte %zu)",
           topic, m->partition, m->offset, what, bad);
  wire_stage_reject(s->st, ev, NULL, 0, why);
  return false;
}

static int add_record(ksrc *s, wire_batch *b, rd_kafka_message_t *m,
                      const char *topic, kpos_entry **last) {
  kpos_entry *pe = *last;
  if (!pe || pe->partition != m->partition || strcmp(pe->topic, topic) != 0) {
    pe = kpos_upsert(&s->consumed, topic, m->partition);
    if (!pe) return WIRE_ENOMEM;
    *last = pe;
  }
  pe->offset = m->offset + 1;
  s->pos_dirty = true;
  if (s->neof) {
    kpos_entry *e = kpos_find(&s->eof, topic, m->partition);
    if (e && e->offset == 1) {
      e->offset = 0;
      s->neof--;
    }
  }
  rd_kafka_timestamp_type_t tt;
  int64_t ts = rd_kafka_message_timestamp(m, &tt);
  wire_event ev = {0};
  uint64_t ms = ts > 0 ? (uint64_t)ts : (uint64_t)(core_now_ns() / 1000000);
  wire_uuid7_make(ev.id, ms, core_hash64(topic, strlen(topic), 0x6b61666b),
                  ((uint64_t)(m->partition & 0x3ffff) << 44) |
                      ((uint64_t)m->offset & ((UINT64_C(1) << 44) - 1)));
  ev.time_ns = ts > 0 ? ts * 1000000 : 0;
  ev.key = m->key;
  ev.key_len = m->key_len;
  if (m->payload) {
    ev.value = m->payload;
    ev.value_len = m->len;
  } else if (s->json) {
    ev.value = (const uint8_t *)"null"; /* a tombstone */
    ev.value_len = 4;
  }
  rd_kafka_headers_t *hs = NULL;
  if (s->headers && rd_kafka_message_headers(m, &hs) == 0 && hs) {
    size_t n = rd_kafka_header_cnt(hs);
    if (n > s->hcap) {
      wire_header *h = core_realloc(s->hdrs, n * sizeof *h);
      if (!h) return WIRE_ENOMEM;
      s->hdrs = h;
      s->hcap = n;
    }
    const char *name;
    const void *val;
    size_t vlen;
    size_t k = 0;
    while (k < n && rd_kafka_header_get_all(hs, k, &name, &val, &vlen) == 0) {
      s->hdrs[k] = (wire_header){.name = name, .name_len = strlen(name),
                                 .value = val, .value_len = val ? vlen : 0};
      k++;
    }
    ev.headers = s->hdrs;
    ev.header_count = k;
  }
  if ((s->json && !json_or_reject(s, &ev, ev.value, ev.value_len, "value",
                                  topic, m)) ||
      (s->key_json && ev.key &&
       !json_or_reject(s, &ev, ev.key, ev.key_len, "key", topic, m)))
    return WIRE_OK;
  return wire_batch_append(b, &ev);
}

static int kafka_source_poll(void *state, wire_batch *b, int timeout_ms) {
  ksrc *s = state;
  size_t room = wire_batch_room(b);
  if (room == 0) room = 1;
  int64_t deadline = core_monotonic_ns() + (int64_t)timeout_ms * 1000000;
  size_t got = 0;
  int rc = WIRE_OK;
  kpos_entry *last = NULL;
  while (got < room) {
    int wait = 0;
    if (got == 0) {
      int64_t left = deadline - core_monotonic_ns();
      if (left <= 0) break;
      wait = (int)(left / 1000000) + 1;
    }
    rd_kafka_message_t *m = rd_kafka_consumer_poll(s->rk, wait);
    last = NULL; /* a rebalance may have run: entries moved */
    if (s->fatal_code) {
      if (m) rd_kafka_message_destroy(m);
      return wire_stage_error(s->st, s->fatal_code, "%s", s->fatal);
    }
    if (!m) {
      if (got || wait == 0) break;
      continue;
    }
    if (m->err) {
      rc = consumer_error(s, m);
    } else {
      rc = add_record(s, b, m, rd_kafka_topic_name(m->rkt), &last);
      got++;
    }
    rd_kafka_message_destroy(m);
    if (rc) return rc;
    if (s->exit_at_end && s->neof && s->neof == s->eof.n && got == 0) break;
  }
  if (s->pos_dirty) {
    s->pos.len = 0;
    if (kpos_format(&s->consumed, &s->pos) ||
        wire_batch_set_position(b, s->pos.data))
      return WIRE_ENOMEM;
    s->pos_dirty = false;
  }
  if (s->exit_at_end && s->had_assignment && s->neof > 0) {
    /* At the end when every assigned partition reported its end. */
    size_t assigned = 0;
    for (size_t i = 0; i < s->consumed.n; i++)
      assigned += s->consumed.v[i].assigned;
    if (s->neof >= assigned) {
      bool all = true;
      for (size_t i = 0; i < s->consumed.n && all; i++) {
        const kpos_entry *c = &s->consumed.v[i];
        if (!c->assigned) continue;
        const kpos_entry *e = kpos_find(&s->eof, c->topic, c->partition);
        all = e && e->offset == 1;
      }
      if (all) return WIRE_EOF;
    }
  }
  return WIRE_OK;
}

static int kafka_source_ack(void *state, const char *position) {
  ksrc *s = state;
  char err[256];
  if (kpos_parse(&s->acked, position, err, sizeof err))
    return wire_stage_error(s->st, WIRE_EPARSE, "ack '%s': %s", position, err);
  commit_offsets(s, &s->acked, true, NULL);
  return WIRE_OK;
}

/* Records between the consumed offsets and the high watermarks of the
 * assigned partitions, from the watermarks librdkafka caches from its fetch
 * responses (no request to the brokers).  Partitions whose watermark is not
 * known yet count nothing; when none is known the lag is unknown. */
static int kafka_source_lag(void *state, uint64_t *amount,
                            const char **unit) {
  ksrc *s = state;
  uint64_t sum = 0;
  bool known = false;
  for (size_t i = 0; i < s->consumed.n; i++) {
    const kpos_entry *e = &s->consumed.v[i];
    int64_t lo, hi;
    if (!e->assigned ||
        rd_kafka_get_watermark_offsets(s->rk, e->topic, e->partition, &lo,
                                       &hi) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        hi < 0)
      continue;
    known = true;
    int64_t next = e->offset >= 0 ? e->offset : (lo >= 0 ? lo : hi);
    if (hi > next) sum += (uint64_t)(hi - next);
  }
  if (!known) return WIRE_ENOTFOUND;
  *amount = sum;
  *unit = "records";
  return WIRE_OK;
}

const wire_source_vtable conn_kafka_source = {
    .version = WIRE_SOURCE_VERSION,
    .name = "kafka",
    .doc = "Consume Kafka topics as a consumer group (librdkafka); offsets "
           "are the position, committed to the group when acknowledged",
    .options = kafka_source_options,
    .validate = kafka_source_validate,
    .open = kafka_source_open,
    .poll = kafka_source_poll,
    .ack = kafka_source_ack,
    .close = kafka_source_close,
    .lag = kafka_source_lag,
};
