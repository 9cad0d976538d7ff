/*
 * libFuzzer target for the RESP2 request parser (lib/resp/resp.c).
 *
 * The input is fed twice: in one piece, and cut at split points chosen by
 * the input's first byte; both runs must yield the same commands and the
 * same error, and every returned argument must lie inside the buffers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resp/resp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t run(const uint8_t *data, size_t size, size_t step) {
  resp_parser p;
  resp_limits lim;
  resp_limits_default(&lim);
  lim.max_bulk = 4096;
  lim.max_args = 64;
  lim.max_inline = 1024;
  resp_parser_init(&p, &lim);
  uint64_t h = 1469598103934665603ULL;
  size_t off = 0;
  int failed = 0;
  while (off < size && !failed) {
    size_t n = step ? (size - off < step ? size - off : step) : size;
    if (resp_parser_feed(&p, data + off, n)) abort();
    off += n;
    resp_arg *argv;
    size_t argc;
    resp_rc rc;
    while ((rc = resp_parser_next(&p, &argv, &argc)) == RESP_COMMAND) {
      if (argc == 0) abort();
      for (size_t i = 0; i < argc; i++) {
        for (size_t k = 0; k < argv[i].len; k++)
          h = (h ^ (uint8_t)argv[i].ptr[k]) * 1099511628211ULL;
        h = (h ^ 0x100) * 1099511628211ULL;
      }
      h = (h ^ 0x200) * 1099511628211ULL;
    }
    if (rc == RESP_ERROR) {
      const char *e = resp_parser_error(&p);
      for (; *e; e++) h = (h ^ (uint8_t)*e) * 1099511628211ULL;
      failed = 1;
    }
  }
  resp_parser_free(&p);
  return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  size_t step = (data[0] % 7) + 1;
  if (run(data + 1, size - 1, 0) != run(data + 1, size - 1, step)) abort();
  return 0;
}
