/*
 * Example: a custom sink written in C through the public vtable, built
 * programmatically (no YAML).  The sink counts records per "level" field and
 * prints the histogram when the pipeline closes it.
 *
 *   cc custom_sink.c $(pkg-config --cflags --libs wire) -o custom_sink
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wire/wire.h>

typedef struct histogram {
  const char *names[4];
  unsigned long counts[4];
  unsigned long other;
} histogram;

static const wire_option level_count_options[] = {
    {.key = "field", .type = WIRE_OPT_STRING, .def = "level",
     .doc = "name of the field to count (top-level string field)"},
    {0}};

typedef struct level_count {
  histogram *h; /* host state, reached through wire_config_user() */
  char needle[64];
} level_count;

static int lc_open(wire_stage *st, void **state) {
  const wire_config *cfg = wire_stage_config(st);
  level_count *lc = calloc(1, sizeof *lc);
  if (!lc) return WIRE_ENOMEM;
  const char *field = "level";
  wire_config_string(cfg, "field", &field);
  snprintf(lc->needle, sizeof lc->needle, "\"%s\":\"", field);
  lc->h = wire_config_user(cfg);
  *state = lc;
  return WIRE_OK;
}

static int lc_write(void *state, const wire_batch *b) {
  level_count *lc = state;
  size_t nlen = strlen(lc->needle);
  for (size_t i = 0; i < wire_batch_count(b); i++) {
    const wire_event *e = wire_batch_event(b, i);
    const char *v = memmem(e->value, e->value_len, lc->needle, nlen);
    int k = -1;
    for (int j = 0; v && j < 4; j++) {
      size_t l = strlen(lc->h->names[j]);
      if (strncmp(v + nlen, lc->h->names[j], l) == 0 && v[nlen + l] == '"')
        k = j;
    }
    if (k >= 0)
      lc->h->counts[k]++;
    else
      lc->h->other++;
  }
  return WIRE_OK;
}

static void lc_close(void *state) { free(state); }

static const wire_sink_vtable level_count_sink = {
    .version = WIRE_SINK_VERSION,
    .name = "level_count",
    .doc = "counts records per level (example)",
    .options = level_count_options,
    .open = lc_open,
    .write = lc_write,
    .close = lc_close,
};

int main(void) {
  histogram h = {.names = {"debug", "info", "warn", "error"}};
  wire_ctx *ctx;
  if (wire_ctx_new(&ctx) != WIRE_OK) return 1;
  if (wire_ctx_register_sink(ctx, &level_count_sink, &h) != WIRE_OK) {
    fprintf(stderr, "%s\n", wire_ctx_errmsg(ctx));
    return 1;
  }
  wire_pipeline *p;
  wire_pipeline_new(ctx, "histogram", &p);
  wire_pipeline_add(p, WIRE_NODE_SOURCE, "gen", "generator", NULL,
                    "{count: 50000, seed: 7}");
  wire_pipeline_add(p, WIRE_NODE_SINK, "hist", "level_count", "gen", NULL);
  int rc = wire_pipeline_start(p);
  if (rc == WIRE_OK) rc = wire_pipeline_wait(p, -1);
  if (rc != WIRE_OK) {
    for (size_t i = 0; i < wire_pipeline_diag_count(p); i++)
      fprintf(stderr, "%s\n", wire_pipeline_diag(p, i)->message);
    fprintf(stderr, "failed: %s\n", wire_pipeline_errmsg(p));
  }
  wire_pipeline_free(p);
  wire_ctx_free(ctx);
  for (int j = 0; j < 4; j++) printf("%-6s %lu\n", h.names[j], h.counts[j]);
  printf("%-6s %lu\n", "other", h.other);
  return rc == WIRE_OK ? 0 : 1;
}
