// Example: libwire from C++.  The public headers are C11 and wrapped in
// extern "C", so a C++ program includes them directly.
//
//   c++ -std=c++17 embed.cpp $(pkg-config --cflags --libs wire) -o embed_cpp
#include <wire/wire.h>

#include <cstdio>
#include <memory>
#include <string>

namespace {
struct CtxDeleter {
  void operator()(wire_ctx *c) const { wire_ctx_free(c); }
};
struct PipelineDeleter {
  void operator()(wire_pipeline *p) const { wire_pipeline_free(p); }
};
}  // namespace

int main() {
  wire_ctx *raw = nullptr;
  if (wire_ctx_new(&raw) != WIRE_OK) return 1;
  std::unique_ptr<wire_ctx, CtxDeleter> ctx(raw);

  const std::string yaml =
      "name: cpp\n"
      "sources: [{id: gen, type: generator, count: 1000}]\n"
      "sinks: [{id: out, type: null, inputs: [gen]}]\n";
  wire_pipeline *p = nullptr;
  int rc = wire_pipeline_parse(ctx.get(), yaml.data(), yaml.size(), "cpp.yaml", &p);
  std::unique_ptr<wire_pipeline, PipelineDeleter> pipeline(p);
  if (rc != WIRE_OK) {
    std::fprintf(stderr, "%s\n", wire_pipeline_errmsg(p));
    return 1;
  }
  if ((rc = wire_pipeline_start(p)) == WIRE_OK) rc = wire_pipeline_wait(p, -1);
  wire_node_stats s{};
  wire_pipeline_node_stats(p, 1, &s);
  std::printf("libwire %s: %s received %llu records\n", wire_version_string(),
              s.id, static_cast<unsigned long long>(s.out));
  return rc == WIRE_OK && s.out == 1000 ? 0 : 1;
}
