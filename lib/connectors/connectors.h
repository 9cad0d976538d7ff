/*
 * Built-in connectors, registered into every context by wire_ctx_new().
 */
#ifndef WIRE_CONNECTORS_H
#define WIRE_CONNECTORS_H

#include "wire/sink.h"
#include "wire/source.h"

extern const wire_source_vtable conn_file_source;
extern const wire_source_vtable conn_generator_source;
extern const wire_source_vtable conn_stdin_source;
extern const wire_sink_vtable conn_file_sink;
extern const wire_sink_vtable conn_stdout_sink;
extern const wire_sink_vtable conn_null_sink;

#endif
