/*
 * Example: embed a pipeline defined in YAML in a C program.
 *
 *   cc embed_yaml.c $(pkg-config --cflags --libs wire) -o embed_yaml
 *   ./embed_yaml [OUTPUT]
 *
 * It generates 10,000 records, keeps those whose level is "error" with a jq
 * filter and writes them to OUTPUT (default errors.ndjson).
 */
#include <stdio.h>
#include <string.h>

#include <wire/wire.h>

int main(int argc, char **argv) {
  const char *out = argc > 1 ? argv[1] : "errors.ndjson";
  char yaml[1024];
  snprintf(yaml, sizeof yaml,
           "name: embedded\n"
           "sources:\n"
           "  - {id: gen, type: generator, count: 10000}\n"
           "operations:\n"
           "  - {id: errs, type: jq, inputs: [gen], expr: 'select(.level == \"error\")'}\n"
           "sinks:\n"
           "  - {id: out, type: file, inputs: [errs], path: '%s', append: false}\n",
           out);

  wire_ctx *ctx;
  if (wire_ctx_new(&ctx) != WIRE_OK) return 1;
  wire_pipeline *p = NULL;
  int rc = wire_pipeline_parse(ctx, yaml, strlen(yaml), "embedded.yaml", &p);
  if (rc != WIRE_OK) {
    /* The handle is returned even on failure so the diagnostics can be read. */
    for (size_t i = 0; i < wire_pipeline_diag_count(p); i++) {
      const wire_diag *d = wire_pipeline_diag(p, i);
      fprintf(stderr, "%s:%d:%d: %s\n", d->file, d->line, d->col, d->message);
    }
    wire_pipeline_free(p);
    wire_ctx_free(ctx);
    return 1;
  }
  if ((rc = wire_pipeline_start(p)) == WIRE_OK) rc = wire_pipeline_wait(p, -1);
  if (rc != WIRE_OK) {
    fprintf(stderr, "pipeline failed: %s\n", wire_pipeline_errmsg(p));
  } else {
    for (size_t i = 0; i < wire_pipeline_node_count(p); i++) {
      wire_node_stats s;
      wire_pipeline_node_stats(p, i, &s);
      printf("%-6s in %llu out %llu\n", s.id, (unsigned long long)s.in,
             (unsigned long long)s.out);
    }
  }
  wire_pipeline_free(p);
  wire_ctx_free(ctx);
  return rc == WIRE_OK ? 0 : 1;
}
