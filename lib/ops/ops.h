/*
 * Built-in operations, registered into every context by wire_ctx_new().
 */
#ifndef WIRE_OPS_H
#define WIRE_OPS_H

#include "wire/op.h"

extern const wire_op_vtable ops_jq;
extern const wire_op_vtable ops_set;
extern const wire_op_vtable ops_rename;
extern const wire_op_vtable ops_drop;
extern const wire_op_vtable ops_route;
extern const wire_op_vtable ops_sample;
extern const wire_op_vtable ops_dedupe;

#endif
