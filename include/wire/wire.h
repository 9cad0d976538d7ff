/*
 * libwire: consensus-backed stream pipelines, embeddable in C and C++.
 *
 * Umbrella header: include <wire/wire.h> and link with `pkg-config --libs
 * wire`.  See doc/ for the guide and each header for the reference.
 */
#ifndef WIRE_WIRE_H
#define WIRE_WIRE_H

#include "common.h"
#include "config.h"
#include "ctx.h"
#include "error.h"
#include "event.h"
#include "log.h"
#include "node.h"
#include "op.h"
#include "pipeline.h"
#include "sink.h"
#include "source.h"
#include "stage.h"
#include "version.h"

#endif /* WIRE_WIRE_H */
