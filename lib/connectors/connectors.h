/*
 * Built-in connectors, registered into every context by wire_ctx_new().
 */
#ifndef WIRE_CONNECTORS_H
#define WIRE_CONNECTORS_H

#include <stdint.h>

#include "wire/sink.h"
#include "wire/source.h"

extern const wire_source_vtable conn_file_source;
extern const wire_source_vtable conn_generator_source;
extern const wire_source_vtable conn_stdin_source;
extern const wire_source_vtable conn_kafka_source;
extern const wire_sink_vtable conn_file_sink;
extern const wire_sink_vtable conn_stdout_sink;
extern const wire_sink_vtable conn_null_sink;
extern const wire_sink_vtable conn_kafka_sink;

/* A node that ran a pipeline with an exactly_once file sink and restarted
 * as a follower cuts the sink's file back to the length it committed
 * (lib/node/node_pipes.c).  WIRE_OK when nothing was cut, 1 when it was
 * (err says what), or an error. */
int conn_file_sink_recover(const wire_config *cfg, const char *committed,
                           char *err, size_t esz);

/* The length an exactly_once file sink will start writing at when opened
 * with `committed` (NULL: none): 1 and *base, or 0 when the sink is not
 * exactly_once. */
int conn_file_sink_base(const wire_config *cfg, const char *committed,
                        uint64_t *base);

#endif
