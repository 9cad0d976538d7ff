/*
 * libFuzzer target for the pipeline loader: YAML parsing, the definition
 * model and every validation path (wire_pipeline_parse).  Nothing runs.
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=false -Db_lundef=false
 *   ninja -C build-fuzz
 *   ./build-fuzz/tests/fuzz/fuzz_pipeline_yaml -max_total_time=60 \
 *       tests/fuzz/corpus/pipeline
 */
#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  wire_ctx *ctx = NULL;
  if (wire_ctx_new(&ctx) != WIRE_OK) return 0;
  wire_ctx_set_log(ctx, WIRE_LOG_ERROR, NULL, NULL);
  wire_pipeline *p = NULL;
  wire_pipeline_parse(ctx, (const char *)data, size, "fuzz.yaml", &p);
  for (size_t i = 0; i < wire_pipeline_diag_count(p); i++)
    (void)wire_pipeline_diag(p, i)->message[0];
  wire_pipeline_free(p);
  wire_ctx_free(ctx);
  return 0;
}
