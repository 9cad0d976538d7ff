/*
 * wire-node: the libwire command-line program.  A thin shell over the public
 * API in <wire/wire.h>; everything it does, an embedding program can do.
 *
 *   wire-node serve [OPTIONS] run a node of a replicated cluster (raft,
 *                             RocksDB, HTTP API) until SIGTERM/SIGINT
 *   wire-node recover [OPTS]  force a stopped node's data dir to a cluster
 *                             of itself alone (lost majority)
 *   wire-node run FILE        run a pipeline in-process until its bounded
 *                             sources are exhausted (Ctrl-C: graceful stop)
 *   wire-node validate FILE   print FILE:LINE:COL diagnostics, exit 1 if any
 *   wire-node demo [DIR]      a single-node cluster running the demo pipeline
 *   wire-node types [--markdown]   list sources, operations and sinks
 *   wire-node version
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wire/wire.h"
#include "serve_args.h"


enum { EXIT_INVALID = 1, EXIT_USAGE = 2, EXIT_RUNTIME = 3 };

static volatile sig_atomic_t interrupted;

static void on_signal(int sig) {
  (void)sig;
  if (interrupted) _exit(130); /* second Ctrl-C: no more patience */
  interrupted = 1;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: wire-node <command> [options]\n"
          "\n"
          "commands:\n"
          "  serve [OPTIONS]   run a cluster node (wire-node serve --help)\n"
          "  recover [OPTIONS] make a stopped node the only member of its\n"
          "                    cluster (lost majority; see doc/node.md)\n"
          "  run FILE [--resume SOURCE=POSITION]... [--quiet] [--log-level L]\n"
          "                    run a pipeline in this process\n"
          "  validate FILE     check a pipeline definition\n"
          "  demo [DIR] [SERVE OPTIONS]\n"
          "                    start a single-node cluster (data and output\n"
          "                    in DIR, default ./wire-demo) with the built-in\n"
          "                    demo pipeline submitted to it\n"
          "  types [--markdown]  list the source, operation and sink types\n"
          "  version           print the version\n");
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print_diags(const wire_pipeline *p, FILE *f) {
  for (size_t i = 0; i < wire_pipeline_diag_count(p); i++) {
    const wire_diag *d = wire_pipeline_diag(p, i);
    fprintf(f, "%s:%d:%d: %s\n", d->file, d->line, d->col, d->message);
  }
}

static int load(wire_ctx *ctx, const char *path, wire_pipeline **p) {
  int rc = wire_pipeline_load(ctx, path, p);
  if (rc == WIRE_OK) return WIRE_OK;
  if (*p && wire_pipeline_diag_count(*p)) {
    print_diags(*p, stderr);
  } else {
    fprintf(stderr, "wire-node: %s\n",
            *p ? wire_pipeline_errmsg(*p) : wire_ctx_errmsg(ctx));
  }
  return rc;
}

static void totals(const wire_pipeline *p, uint64_t *in, uint64_t *out) {
  *in = *out = 0;
  for (size_t i = 0; i < wire_pipeline_node_count(p); i++) {
    wire_node_stats s;
    if (wire_pipeline_node_stats(p, i, &s) != WIRE_OK) continue;
    if (s.kind == WIRE_NODE_SOURCE) *in += s.out;
    if (s.kind == WIRE_NODE_SINK) *out += s.out;
  }
}

static const char *kind_name(wire_node_kind k) {
  return k == WIRE_NODE_SOURCE ? "source" : k == WIRE_NODE_SINK ? "sink" : "op";
}

static void summary(const wire_pipeline *p, FILE *f) {
  double el = wire_pipeline_elapsed(p);
  fprintf(f, "pipeline %s: %s in %.3f s\n", wire_pipeline_name(p),
          wire_pipeline_state_name(wire_pipeline_get_state(p)), el);
  fprintf(f, "  %-16s %-6s %-10s %12s %12s %10s %10s %14s\n", "node", "kind",
          "type", "in", "out", "dropped", "errors", "rate (out/s)");
  for (size_t i = 0; i < wire_pipeline_node_count(p); i++) {
    wire_node_stats s;
    if (wire_pipeline_node_stats(p, i, &s) != WIRE_OK) continue;
    fprintf(f, "  %-16s %-6s %-10s %12llu %12llu %10llu %10llu %14.0f\n", s.id,
            kind_name(s.kind), s.type, (unsigned long long)s.in,
            (unsigned long long)s.out, (unsigned long long)s.dropped,
            (unsigned long long)s.errors, el > 0 ? (double)s.out / el : 0.0);
  }
  for (size_t i = 0; i < wire_pipeline_node_count(p); i++) {
    wire_node_stats s;
    char wm[512];
    if (wire_pipeline_node_stats(p, i, &s) != WIRE_OK ||
        s.kind != WIRE_NODE_SOURCE)
      continue;
    if (wire_pipeline_watermark(p, s.id, wm, sizeof wm) == WIRE_OK && wm[0])
      fprintf(f, "  position of %s: %s\n", s.id, wm);
  }
}

/* Run until done or interrupted, with a progress line on a terminal. */
static int run_pipeline(wire_pipeline *p, bool quiet) {
  int rc = wire_pipeline_start(p);
  if (rc != WIRE_OK) {
    fprintf(stderr, "wire-node: %s\n", wire_pipeline_errmsg(p));
    return EXIT_RUNTIME;
  }
  bool tty = !quiet && isatty(STDERR_FILENO);
  double last_t = now_s();
  uint64_t last_in = 0;
  bool stopping = false;
  for (;;) {
    rc = wire_pipeline_wait(p, 250);
    if (rc != WIRE_ETIMEDOUT) break;
    if (interrupted && !stopping) {
      stopping = true;
      if (!quiet) fprintf(stderr, "%s", tty ? "\r\033[K" : "");
      if (!quiet) fprintf(stderr, "wire-node: stopping (flushing sinks)...\n");
      wire_pipeline_stop(p);
    }
    if (tty) {
      uint64_t in, out;
      totals(p, &in, &out);
      double t = now_s();
      fprintf(stderr, "\r\033[K%s: in %llu  out %llu  %.0f rec/s",
              wire_pipeline_name(p), (unsigned long long)in,
              (unsigned long long)out, (double)(in - last_in) / (t - last_t));
      last_in = in;
      last_t = t;
    }
  }
  if (tty) fprintf(stderr, "\r\033[K");
  if (!quiet) summary(p, stderr);
  if (rc != WIRE_OK) {
    fprintf(stderr, "wire-node: pipeline failed: %s\n",
            wire_pipeline_errmsg(p));
    return EXIT_RUNTIME;
  }
  return 0;
}

static void install_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
}

static int cmd_run(wire_ctx *ctx, int argc, char **argv) {
  const char *file = NULL;
  bool quiet = false;
  const char *resume[64];
  size_t nresume = 0;
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
      quiet = true;
    } else if (strcmp(argv[i], "--resume") == 0 && i + 1 < argc) {
      if (nresume == 64) return EXIT_USAGE;
      resume[nresume++] = argv[++i];
    } else if (strcmp(argv[i], "--log-level") == 0 && i + 1 < argc) {
      wire_log_level lv;
      if (wire_log_level_parse(argv[++i], &lv) != WIRE_OK) {
        fprintf(stderr, "wire-node: unknown log level '%s'\n", argv[i]);
        return EXIT_USAGE;
      }
      wire_ctx_set_log(ctx, lv, NULL, NULL);
    } else if (argv[i][0] == '-' && argv[i][1]) {
      fprintf(stderr, "wire-node run: unknown option '%s'\n", argv[i]);
      return EXIT_USAGE;
    } else if (!file) {
      file = argv[i];
    } else {
      usage(stderr);
      return EXIT_USAGE;
    }
  }
  if (!file) {
    usage(stderr);
    return EXIT_USAGE;
  }
  wire_pipeline *p = NULL;
  if (load(ctx, file, &p) != WIRE_OK) {
    wire_pipeline_free(p);
    return EXIT_INVALID;
  }
  for (size_t i = 0; i < nresume; i++) {
    char id[256];
    const char *eq = strchr(resume[i], '=');
    if (!eq || (size_t)(eq - resume[i]) >= sizeof id) {
      fprintf(stderr, "wire-node: --resume wants SOURCE=POSITION\n");
      wire_pipeline_free(p);
      return EXIT_USAGE;
    }
    memcpy(id, resume[i], (size_t)(eq - resume[i]));
    id[eq - resume[i]] = '\0';
    if (wire_pipeline_set_resume(p, id, eq + 1) != WIRE_OK) {
      fprintf(stderr, "wire-node: --resume %s: failed\n", resume[i]);
      wire_pipeline_free(p);
      return EXIT_USAGE;
    }
  }
  install_signals();
  int rc = run_pipeline(p, quiet);
  wire_pipeline_free(p);
  return rc;
}

static int cmd_validate(wire_ctx *ctx, int argc, char **argv) {
  if (argc != 1) {
    usage(stderr);
    return EXIT_USAGE;
  }
  wire_pipeline *p = NULL;
  int rc = load(ctx, argv[0], &p);
  wire_pipeline_free(p);
  if (rc == WIRE_OK) {
    printf("%s: ok\n", argv[0]);
    return 0;
  }
  return rc == WIRE_ECONFIG ? EXIT_INVALID : EXIT_RUNTIME;
}

static const char demo_yaml[] =
    "# The built-in demo: a generator of log-like records, two jq operations\n"
    "# (errors projected to a few fields, warnings kept whole) and two file\n"
    "# sinks.\n"
    "name: demo\n"
    "sources:\n"
    "  - {id: gen, type: generator, count: 200000, rate: 50000}\n"
    "operations:\n"
    "  - {id: errors, type: jq, inputs: [gen], expr: 'select(.level == \"error\") | {seq, user, msg}'}\n"
    "  - {id: warnings, type: jq, inputs: [gen], expr: 'select(.level == \"warn\")'}\n"
    "sinks:\n"
    "  - {id: errors_out, type: file, inputs: [errors], path: DIR/errors.ndjson, exactly_once: true}\n"
    "  - {id: warnings_out, type: file, inputs: [warnings], path: DIR/warnings.ndjson, exactly_once: true}\n";

static int cmd_serve(wire_ctx *ctx, int argc, char **argv);

/* wire-node demo [DIR [SERVE OPTIONS]]: a single-node cluster in DIR/node1
 * with the demo pipeline submitted to it (exactly-once file sinks in DIR). */
static int cmd_demo(wire_ctx *ctx, int argc, char **argv) {
  const char *dir = argc > 0 && argv[0][0] != '-' ? argv[0] : "wire-demo";
  int skip = argc > 0 && argv[0][0] != '-' ? 1 : 0;
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "wire-node: mkdir %s: %s\n", dir, strerror(errno));
    return EXIT_RUNTIME;
  }
  char adir[4096];
  if (!realpath(dir, adir)) {
    fprintf(stderr, "wire-node: %s: %s\n", dir, strerror(errno));
    return EXIT_RUNTIME;
  }
  /* Substitute DIR (absolute: the sinks' paths do not depend on the working
   * directory of the node that runs the pipeline). */
  char yaml[8192];
  size_t o = 0;
  for (const char *s = demo_yaml; *s && o + 4200 < sizeof yaml;) {
    if (strncmp(s, "DIR", 3) == 0) {
      o += (size_t)snprintf(yaml + o, sizeof yaml - o, "%s", adir);
      s += 3;
    } else {
      yaml[o++] = *s++;
    }
  }
  yaml[o] = '\0';
  char path[4200], data[4200];
  snprintf(path, sizeof path, "%s/demo.yaml", adir);
  snprintf(data, sizeof data, "%s/node1", adir);
  FILE *f = fopen(path, "w");
  if (!f || fputs(yaml, f) < 0 || fclose(f) != 0) {
    fprintf(stderr, "wire-node: write %s: %s\n", path, strerror(errno));
    return EXIT_RUNTIME;
  }
  printf("wire-node %s demo: a single-node cluster running a pipeline\n",
         wire_version_string());
  printf("  node 1:    data in %s, HTTP API on http://127.0.0.1:8001 "
         "(unless --http is given)\n",
         data);
  printf("  pipeline:  %s (generator -> jq filters -> file sinks),\n", path);
  printf("             submitted to the cluster and run by its leader\n");
  printf("  output:    %s/errors.ndjson and %s/warnings.ndjson\n", adir, adir);
  printf("  watch:     curl http://127.0.0.1:8001/pipelines/demo\n");
  printf("  add nodes: wire-node serve --id 2 --data-dir %s/node2 --raft "
         "127.0.0.1:7002 --http 127.0.0.1:8002 --join 127.0.0.1:8001\n",
         adir);
  printf("             wire-node serve --id 3 --data-dir %s/node3 --raft "
         "127.0.0.1:7003 --http 127.0.0.1:8003 --join 127.0.0.1:8001\n",
         adir);
  printf("  Ctrl-C stops the node gracefully; run the demo again to restart "
         "it from %s.\n",
         data);
  fflush(stdout);
  char *args[64];
  int n = 0;
  args[n++] = "--id";
  args[n++] = "1";
  args[n++] = "--data-dir";
  args[n++] = data;
  args[n++] = "--raft";
  args[n++] = "127.0.0.1:7001";
  args[n++] = "--http";
  args[n++] = "127.0.0.1:8001";
  args[n++] = "--bootstrap";
  args[n++] = "--pipeline";
  args[n++] = path;
  for (int i = skip; i < argc && n < 63; i++) args[n++] = argv[i];
  args[n] = NULL;
  return cmd_serve(ctx, n, args);
}

static const char *opt_type_name(wire_opt_type t) {
  switch (t) {
    case WIRE_OPT_STRING: return "string";
    case WIRE_OPT_INT: return "integer";
    case WIRE_OPT_DOUBLE: return "number";
    case WIRE_OPT_BOOL: return "boolean";
    case WIRE_OPT_ENUM: return "enum";
    case WIRE_OPT_LIST: return "list";
    case WIRE_OPT_MAP: return "mapping";
    case WIRE_OPT_ANY: return "any";
  }
  return "?";
}

static int cmd_types(wire_ctx *ctx, int argc, char **argv) {
  bool md = argc > 0 && strcmp(argv[0], "--markdown") == 0;
  static const struct {
    int kind;
    const char *title;
  } kinds[] = {{WIRE_NODE_SOURCE, "Sources"},
               {WIRE_NODE_OP, "Operations"},
               {WIRE_NODE_SINK, "Sinks"}};
  if (md)
    printf("# Component reference\n\nGenerated by `wire-node types "
           "--markdown` from the option tables in the code.\n");
  for (size_t k = 0; k < 3; k++) {
    printf(md ? "\n## %s\n" : "%s:\n", kinds[k].title);
    for (size_t i = 0; i < wire_ctx_type_count(ctx, kinds[k].kind); i++) {
      const char *name, *doc;
      const wire_option *opts;
      wire_ctx_type_info(ctx, kinds[k].kind, i, &name, &doc, &opts);
      if (!md) {
        printf("  %-10s %s\n", name, doc);
        continue;
      }
      printf("\n### `%s`\n\n%s\n\n", name, doc);
      if (!opts || !opts->key) {
        printf("No options.\n");
        continue;
      }
      printf("| option | type | default | description |\n"
             "|---|---|---|---|\n");
      for (const wire_option *o = opts; o->key; o++) {
        char type[128];
        if (o->type == WIRE_OPT_ENUM && o->choices)
          snprintf(type, sizeof type, "`%s`", o->choices);
        else if (o->type == WIRE_OPT_INT && o->min < o->max)
          snprintf(type, sizeof type, "integer %lld..%lld",
                   (long long)o->min, (long long)o->max);
        else
          snprintf(type, sizeof type, "%s", opt_type_name(o->type));
        printf("| `%s` | %s | %s | %s |\n", o->key, type,
               o->required ? "**required**"
               : o->def    ? o->def
                           : "",
               o->doc ? o->doc : "");
      }
    }
  }
  return 0;
}

/* wire-node serve: options from --config FILE < WIRE_* env < flags. */
static int cmd_serve(wire_ctx *ctx, int argc, char **argv) {
  if (serve_args_wants_help(argc, argv)) {
    printf("usage: wire-node serve [OPTIONS]\n\n"
           "Every option may also be set as WIRE_<OPTION> in the environment\n"
           "(WIRE_DATA_DIR=...) or as a key of the YAML file given by\n"
           "--config; precedence: flag > environment > file > default.\n\n");
    serve_args_usage(stdout);
    return 0;
  }
  wire_node_config *cfg = NULL;
  if (wire_node_config_new(&cfg)) {
    fprintf(stderr, "wire-node serve: out of memory\n");
    return EXIT_RUNTIME;
  }
  char err[2048];
  int rc = serve_args_parse(argc, argv, NULL, cfg, err, sizeof err);
  if (rc == WIRE_OK && wire_node_config_validate(cfg) != WIRE_OK) {
    snprintf(err, sizeof err, "%s", wire_node_config_error(cfg));
    rc = WIRE_EINVAL;
  }
  if (rc) {
    fprintf(stderr, "wire-node serve: %s\n", err);
    wire_node_config_free(cfg);
    return EXIT_USAGE;
  }
  const char *lv = wire_node_config_get(cfg, "log-level");
  wire_log_level level = WIRE_LOG_INFO;
  if (lv && !strcmp(lv, "debug")) level = WIRE_LOG_DEBUG;
  else if (lv && !strcmp(lv, "warn")) level = WIRE_LOG_WARN;
  else if (lv && !strcmp(lv, "error")) level = WIRE_LOG_ERROR;
  wire_ctx_set_log(ctx, level, NULL, NULL);

  /* Signals are taken synchronously by this thread; the node thread (and
   * raft's) inherit the blocked mask. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);

  wire_node *node = NULL;
  rc = wire_node_open(ctx, cfg, &node);
  wire_node_config_free(cfg);
  if (rc) {
    fprintf(stderr, "wire-node serve: %s\n", wire_ctx_errmsg(ctx));
    return rc == WIRE_ECONFIG ? EXIT_USAGE : EXIT_RUNTIME;
  }
  rc = wire_node_start(node);
  if (rc) {
    fprintf(stderr, "wire-node serve: %s\n", wire_node_errmsg(node));
    wire_node_close(node);
    return EXIT_RUNTIME;
  }
  int exit_code = 0;
  for (;;) {
    struct timespec ts = {0, 200 * 1000000L};
    int sig = sigtimedwait(&set, NULL, &ts);
    if (sig == SIGINT || sig == SIGTERM) {
      fprintf(stderr, "wire-node serve: %s received, stopping\n",
              sig == SIGINT ? "SIGINT" : "SIGTERM");
      wire_node_stop(node);
      break;
    }
    rc = wire_node_wait(node, 0);
    if (rc == WIRE_EFAILED) {
      fprintf(stderr, "wire-node serve: %s\n", wire_node_errmsg(node));
      exit_code = EXIT_RUNTIME;
      break;
    }
    if (rc == WIRE_OK) break;
  }
  wire_node_close(node);
  return exit_code;
}

/* wire-node recover: force this node's data dir to a configuration of
 * itself alone (cluster that lost its majority for good); see doc/node.md. */
static int cmd_recover(wire_ctx *ctx, int argc, char **argv) {
  wire_node_config *cfg = NULL;
  if (wire_node_config_new(&cfg)) return EXIT_RUNTIME;
  char err[2048];
  int rc = serve_args_parse(argc, argv, NULL, cfg, err, sizeof err);
  if (rc == WIRE_OK && wire_node_config_validate(cfg) != WIRE_OK) {
    snprintf(err, sizeof err, "%s", wire_node_config_error(cfg));
    rc = WIRE_EINVAL;
  }
  if (rc) {
    fprintf(stderr, "wire-node recover: %s\n", err);
    wire_node_config_free(cfg);
    return EXIT_USAGE;
  }
  wire_ctx_set_log(ctx, WIRE_LOG_INFO, NULL, NULL);
  rc = wire_node_recover(ctx, cfg);
  wire_node_config_free(cfg);
  if (rc) {
    fprintf(stderr, "wire-node recover: %s\n", wire_ctx_errmsg(ctx));
    return EXIT_RUNTIME;
  }
  printf("recovered: start this node normally; it is the only member now, "
         "add the others back with --join and empty data dirs\n");
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
    printf("wire-node %s\n", wire_version_string());
    return 0;
  }
  if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
      strcmp(cmd, "-h") == 0) {
    usage(stdout);
    return 0;
  }
  wire_ctx *ctx = NULL;
  if (wire_ctx_new(&ctx) != WIRE_OK) {
    fprintf(stderr, "wire-node: out of memory\n");
    return EXIT_RUNTIME;
  }
  wire_ctx_set_log(ctx, WIRE_LOG_WARN, NULL, NULL);
  int rc;
  if (strcmp(cmd, "serve") == 0)
    rc = cmd_serve(ctx, argc - 2, argv + 2);
  else if (strcmp(cmd, "recover") == 0)
    rc = cmd_recover(ctx, argc - 2, argv + 2);
  else if (strcmp(cmd, "run") == 0)
    rc = cmd_run(ctx, argc - 2, argv + 2);
  else if (strcmp(cmd, "validate") == 0)
    rc = cmd_validate(ctx, argc - 2, argv + 2);
  else if (strcmp(cmd, "demo") == 0)
    rc = cmd_demo(ctx, argc - 2, argv + 2);
  else if (strcmp(cmd, "types") == 0)
    rc = cmd_types(ctx, argc - 2, argv + 2);
  else {
    fprintf(stderr, "wire-node: unknown command '%s'\n", cmd);
    usage(stderr);
    rc = EXIT_USAGE;
  }
  wire_ctx_free(ctx);
  return rc;
}
