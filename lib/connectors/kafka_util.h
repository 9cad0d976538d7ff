/*
 * Shared by the `kafka` source and sink (connector layer, librdkafka): the
 * position text of the source (per-partition offsets), building a
 * librdkafka configuration from the connector options and the `properties`
 * passthrough map, and classification of librdkafka errors.
 *
 * Position format (the source's; doc/connectors-kafka.md):
 *
 *   TOPIC/PARTITION:OFFSET[,TOPIC/PARTITION:OFFSET]...
 *
 * for example "orders/0:1200,orders/1:980", sorted by topic then partition.
 * OFFSET is the next offset to consume (Kafka's committed-offset
 * convention).  Kafka topic names are [a-zA-Z0-9._-]+, so '/', ':' and ','
 * cannot be part of one.  The empty string is the empty map.
 */
#ifndef WIRE_KAFKA_UTIL_H
#define WIRE_KAFKA_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "core/core.h"
#include "wire/config.h"
#include "wire/stage.h"

/* ---- positions ---------------------------------------------------------- */

typedef struct kpos_entry {
  char *topic;
  int32_t partition;
  int64_t offset;   /* next offset to consume */
  bool assigned;    /* source: currently assigned to this consumer */
  int64_t committed; /* source: last offset committed to the group, or -1 */
} kpos_entry;

typedef struct kpos {
  kpos_entry *v; /* sorted by (topic, partition) */
  size_t n, cap;
} kpos;

void kpos_free(kpos *p);
void kpos_clear(kpos *p);

/* Parse `text` into `p` (cleared first).  Returns 0, or -1 with a message
 * in err (the text is malformed: a bad topic name, partition or offset, a
 * missing separator, a duplicate entry). */
int kpos_parse(kpos *p, const char *text, char *err, size_t errlen);

/* Append the text form of `p` to `out` (not cleared).  0 or -1 (memory). */
int kpos_format(const kpos *p, core_buf *out);

/* The entry of (topic, partition) or NULL. */
kpos_entry *kpos_find(const kpos *p, const char *topic, int32_t partition);

/* Find or insert (topic, partition) (offset -1 when new).  NULL: memory. */
kpos_entry *kpos_upsert(kpos *p, const char *topic, int32_t partition);

/* Remove entry i. */
void kpos_remove(kpos *p, size_t i);

/* Whether `name` is a valid Kafka topic name (1..249 of [a-zA-Z0-9._-]). */
bool kafka_topic_name_ok(const char *name);

/* ---- configuration ------------------------------------------------------- */

/* The `brokers` option (a list, or one comma-separated string) joined with
 * commas into buf.  Returns the length, 0 when empty, or -1 when too long. */
int kafka_brokers(const wire_config *cfg, char *buf, size_t len);

/* Set one librdkafka property; on failure report it with
 * wire_config_error(cfg, key_for_error, ...) when cfg is given, else write
 * it to err.  Returns 0 or -1. */
int kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value,
                   const wire_config *cfg, const char *opt, char *err,
                   size_t errlen);

/* Apply the `properties` map.  Same contract as kafka_conf_set. */
int kafka_conf_properties(rd_kafka_conf_t *conf, const wire_config *cfg,
                          bool report, char *err, size_t errlen);

/* ---- engine context ------------------------------------------------------ */

/* Name of the pipeline the stage belongs to (for the default group id). */
const char *kafka_stage_pipeline(const wire_stage *st);

/* Whether the pipeline has a dead-letter file (wire_stage_reject() then
 * keeps the record). */
bool kafka_stage_has_dlq(const wire_stage *st);

/* Route librdkafka's own log lines (from its threads) to the stage log
 * instead of stderr.  The conf's opaque must be a struct whose first
 * member is the `wire_stage *` (ksrc, ksink). */
void kafka_conf_log(rd_kafka_conf_t *conf);

/* ---- errors ----------------------------------------------------------------- */

/* Whether a delivery failure may succeed when the record is produced
 * again (timeouts, transport and leadership errors). */
bool kafka_err_retriable(rd_kafka_resp_err_t err);

#endif /* WIRE_KAFKA_UTIL_H */
