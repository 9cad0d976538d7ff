/*
 * Test harness: run a pipeline in-process on the public API with a "feed"
 * source (values given by the test) and a "capture" sink (values kept in
 * memory), both registered through the public vtables.
 *
 *   harness *h = harness_new();
 *   harness_feed(h, "{\"a\":1}");
 *   int rc = harness_run(h,
 *       "name: t\n"
 *       "sources: [{id: in, type: feed}]\n"
 *       "operations: [{id: x, type: jq, inputs: [in], expr: '.a'}]\n"
 *       "sinks: [{id: out, type: capture, inputs: [x]}]\n");
 *   assert_int_equal(rc, 0);
 *   assert_int_equal(harness_count(h, "out"), 1);
 *   assert_string_equal(harness_value(h, "out", 0), "1");
 *   harness_free(h);
 *
 * feed options: `batch` (events per batch, default 64).  capture keeps the
 * values of every batch it is given, in arrival order, per sink id.
 */
#ifndef WIRE_TEST_HARNESS_H
#define WIRE_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

typedef struct harness harness;

harness *harness_new(void);
void harness_free(harness *h);
/* The context (to register more types before harness_run). */
wire_ctx *harness_ctx(harness *h);
/* Append a value to what every feed source emits (copied). */
void harness_feed(harness *h, const char *value);
void harness_feed_n(harness *h, const void *value, size_t len);
/* Parse, validate and run the pipeline to completion (30 s timeout).
 * Returns WIRE_OK, WIRE_ECONFIG (see harness_diags) or the pipeline's
 * error code.  May be called once per harness. */
int harness_run(harness *h, const char *yaml);
/* Diagnostics of the last run as "LINE:COL: message\n" lines. */
const char *harness_diags(const harness *h);
/* The pipeline's error message after a failed run. */
const char *harness_errmsg(const harness *h);
size_t harness_count(const harness *h, const char *sink_id);
const char *harness_value(const harness *h, const char *sink_id, size_t i);
/* Key of captured event i ("" when none). */
const char *harness_key(const harness *h, const char *sink_id, size_t i);
/* Stats of a node after the run (zeroed when unknown). */
wire_node_stats harness_stats(const harness *h, const char *node_id);

#endif
