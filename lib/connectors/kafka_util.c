/*
 * Helpers of the `kafka` connectors (connector layer): the source position
 * text (see kafka_util.h for the format), librdkafka configuration from the
 * options and the `properties` map, and error classification.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_util.h"
#include "pipeline/pipe.h"

/* ---- positions ---------------------------------------------------------- */

void kpos_clear(kpos *p) {
  for (size_t i = 0; i < p->n; i++) core_free(p->v[i].topic);
  p->n = 0;
}

void kpos_free(kpos *p) {
  kpos_clear(p);
  core_free(p->v);
  p->v = NULL;
  p->cap = 0;
}

static int cmp(const char *topic, int32_t partition, const kpos_entry *e) {
  int c = strcmp(topic, e->topic);
  if (c) return c;
  return partition < e->partition ? -1 : partition > e->partition;
}

/* Index of the first entry >= (topic, partition). */
static size_t lower_bound(const kpos *p, const char *topic, int32_t partition) {
  size_t lo = 0, hi = p->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (cmp(topic, partition, &p->v[mid]) > 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

kpos_entry *kpos_find(const kpos *p, const char *topic, int32_t partition) {
  size_t i = lower_bound(p, topic, partition);
  if (i < p->n && cmp(topic, partition, &p->v[i]) == 0) return &p->v[i];
  return NULL;
}

kpos_entry *kpos_upsert(kpos *p, const char *topic, int32_t partition) {
  size_t i = lower_bound(p, topic, partition);
  if (i < p->n && cmp(topic, partition, &p->v[i]) == 0) return &p->v[i];
  if (p->n == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 8;
    kpos_entry *v = core_realloc(p->v, cap * sizeof *v);
    if (!v) return NULL;
    p->v = v;
    p->cap = cap;
  }
  char *t = core_strdup(topic);
  if (!t) return NULL;
  memmove(&p->v[i + 1], &p->v[i], (p->n - i) * sizeof *p->v);
  p->v[i] = (kpos_entry){.topic = t, .partition = partition, .offset = -1,
                         .committed = -1};
  p->n++;
  return &p->v[i];
}

void kpos_remove(kpos *p, size_t i) {
  if (i >= p->n) return;
  core_free(p->v[i].topic);
  memmove(&p->v[i], &p->v[i + 1], (p->n - i - 1) * sizeof *p->v);
  p->n--;
}

static bool topic_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

bool kafka_topic_name_ok(const char *name) {
  size_t n = 0;
  for (; name[n]; n++)
    if (!topic_char(name[n])) return false;
  return n > 0 && n <= 249 && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* Parse a decimal number of at most `max` into *out; returns the end or
 * NULL. */
static const char *parse_num(const char *s, int64_t max, int64_t *out) {
  if (*s < '0' || *s > '9') return NULL;
  int64_t v = 0;
  for (; *s >= '0' && *s <= '9'; s++) {
    if (v > (max - (*s - '0')) / 10) return NULL;
    v = v * 10 + (*s - '0');
  }
  *out = v;
  return s;
}

int kpos_parse(kpos *p, const char *text, char *err, size_t errlen) {
  kpos_clear(p);
  const char *s = text;
  size_t item = 0;
  while (*s) {
    item++;
    const char *slash = s;
    while (topic_char(*slash)) slash++;
    size_t tlen = (size_t)(slash - s);
    if (*slash != '/' || tlen == 0 || tlen > 249) {
      snprintf(err, errlen,
               "entry %zu: expected TOPIC/PARTITION:OFFSET (a topic name of "
               "[a-zA-Z0-9._-] and '/')",
               item);
      goto bad;
    }
    char topic[250];
    memcpy(topic, s, tlen);
    topic[tlen] = '\0';
    int64_t part, off;
    const char *e = parse_num(slash + 1, INT32_MAX, &part);
    if (!e || *e != ':') {
      snprintf(err, errlen, "entry %zu (%s): expected a partition number and "
               "':' after '/'", item, topic);
      goto bad;
    }
    e = parse_num(e + 1, INT64_MAX, &off);
    if (!e || (*e != ',' && *e != '\0')) {
      snprintf(err, errlen, "entry %zu (%s/%" PRId64 "): expected a "
               "non-negative offset after ':'", item, topic, part);
      goto bad;
    }
    if (kpos_find(p, topic, (int32_t)part)) {
      snprintf(err, errlen, "entry %zu: %s/%" PRId64 " appears twice", item,
               topic, part);
      goto bad;
    }
    kpos_entry *en = kpos_upsert(p, topic, (int32_t)part);
    if (!en) {
      snprintf(err, errlen, "out of memory");
      goto bad;
    }
    en->offset = off;
    s = e;
    if (*s == ',') {
      s++;
      if (!*s) {
        snprintf(err, errlen, "trailing ','");
        goto bad;
      }
    }
  }
  return 0;
bad:
  kpos_clear(p);
  return -1;
}

int kpos_format(const kpos *p, core_buf *out) {
  bool first = true;
  for (size_t i = 0; i < p->n; i++) {
    const kpos_entry *e = &p->v[i];
    if (e->offset < 0) continue; /* nothing consumed yet */
    if (core_buf_printf(out, "%s%s/%" PRId32 ":%" PRId64, first ? "" : ",",
                        e->topic, e->partition, e->offset))
      return -1;
    first = false;
  }
  if (first && core_buf_reserve(out, 1)) return -1;
  if (out->data) out->data[out->len] = '\0';
  return 0;
}

/* ---- configuration ------------------------------------------------------- */

int kafka_brokers(const wire_config *cfg, char *buf, size_t len) {
  size_t n = wire_config_list_count(cfg, "brokers"), off = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    const char *b = wire_config_list_item(cfg, "brokers", i);
    if (!b || !*b) continue;
    int k = snprintf(buf + off, len - off, "%s%s", off ? "," : "", b);
    if (k < 0 || (size_t)k >= len - off) return -1;
    off += (size_t)k;
  }
  return (int)off;
}

int kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value,
                   const wire_config *cfg, const char *opt, char *err,
                   size_t errlen) {
  char e[512];
  rd_kafka_conf_res_t r = rd_kafka_conf_set(conf, name, value, e, sizeof e);
  if (r == RD_KAFKA_CONF_OK) return 0;
  if (cfg)
    wire_config_error(cfg, opt, "librdkafka property '%s': %s", name, e);
  else
    snprintf(err, errlen, "librdkafka property '%s': %s", name, e);
  return -1;
}

int kafka_conf_properties(rd_kafka_conf_t *conf, const wire_config *cfg,
                          bool report, char *err, size_t errlen) {
  size_t n = wire_config_map_count(cfg, "properties");
  for (size_t i = 0; i < n; i++) {
    const char *name = NULL, *text = NULL, *json = NULL;
    if (wire_config_map_item(cfg, "properties", i, &name, &text, &json) != 0)
      continue;
    if (kafka_conf_set(conf, name, text ? text : "", report ? cfg : NULL,
                       "properties", err, errlen))
      return -1;
  }
  return 0;
}

/* ---- engine context ------------------------------------------------------ */

const char *kafka_stage_pipeline(const wire_stage *st) {
  return st->p->spec.name;
}

bool kafka_stage_has_dlq(const wire_stage *st) { return st->p->dlq != NULL; }

static void log_cb(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf) {
  wire_stage *const *st = rd_kafka_opaque(rk);
  if (!st || !*st) return;
  /* syslog levels: 0..4 warning, 5..6 info, 7 debug.  librdkafka logs a
   * refused connection at level 3 and then retries on its own: what fails
   * the pipeline comes through the error and delivery callbacks, which log
   * their errors themselves, so its log lines are warnings at most. */
  wire_log_level l = level <= 4   ? WIRE_LOG_WARN
                     : level <= 6 ? WIRE_LOG_INFO
                                  : WIRE_LOG_DEBUG;
  wire_stage_log(*st, l, "librdkafka %s: %s", fac, buf);
}

void kafka_conf_log(rd_kafka_conf_t *conf) {
  rd_kafka_conf_set_log_cb(conf, log_cb);
}

/* ---- errors ----------------------------------------------------------------- */

bool kafka_err_retriable(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR:
      return true;
    default:
      return false;
  }
}
