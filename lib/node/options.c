/*
 * Node configuration (wire_node_config_*, include/wire/node.h).
 *
 * One table describes every option: its key (the long flag without
 * dashes), argument name, default, bounds and documentation.  Setters,
 * the environment (WIRE_<KEY>), the YAML file loader, the usage text of
 * `wire-node serve --help` and the typed copy a node keeps all read it.
 * Values are validated when set and kept in canonical text form with the
 * place they came from (default, file, env, api).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/spec.h"
#include "core/core.h"
#include "node/options.h"

typedef enum otype { OT_ID, OT_UINT, OT_STR, OT_ADDR, OT_BOOL, OT_LIST,
                     OT_BYTES, OT_LEVEL } otype;

typedef struct opt {
  wire_node_option_info info;
  otype type;
  uint64_t min, max;
  bool optional_addr; /* address may be empty (disabled) */
} opt;

static const opt OPTS[] = {
    {{"id", "ID", NULL, "raft server id of this node, unique in the cluster"},
     OT_ID, 1, INT64_MAX, false},
    {{"data-dir", "DIR", NULL,
      "directory of the raft log, snapshots and the RocksDB store"},
     OT_STR, 0, 0, false},
    {{"raft", "HOST:PORT", "127.0.0.1:7000",
      "raft address: listened on and advertised to the other members"},
     OT_ADDR, 1, 65535, false},
    {{"http", "HOST:PORT", "127.0.0.1:8000",
      "HTTP API address (port 0: any free port)"},
     OT_ADDR, 0, 65535, false},
    {{"http-token", "SECRET", "",
      "bearer token every HTTP request must carry (Authorization: Bearer "
      "SECRET) except GET /healthz and /readyz; members send it to each "
      "other, so give every member the same one (empty: none); set it in "
      "the config file or WIRE_HTTP_TOKEN: a command line is readable by "
      "every local user"},
     OT_STR, 0, 0, false},
    {{"bootstrap", NULL, "false",
      "start a new single-node cluster when the data dir is empty"},
     OT_BOOL, 0, 0, false},
    {{"join", "HOST:PORT,...", "",
      "HTTP addresses of members to ask for admission (empty data dir)"},
     OT_LIST, 0, 0, false},
    {{"snapshot-threshold", "N", "8192",
      "raft entries between two snapshots"},
     OT_UINT, 1, 1u << 30, false},
    {{"snapshot-trailing", "N", "2048",
      "raft entries kept in the log after a snapshot"},
     OT_UINT, 0, 1u << 30, false},
    {{"snapshot-install-timeout", "MS", "10000",
      "time a leader waits for a follower to install the snapshot it sent "
      "before sending it again (raise it for stores of many GiB)"},
     OT_UINT, 100, 3600000, false},
    {{"election-timeout", "MS", "1000", "raft election timeout"},
     OT_UINT, 100, 60000, false},
    {{"heartbeat-timeout", "MS", "100", "raft heartbeat interval"},
     OT_UINT, 10, 10000, false},
    {{"request-timeout", "MS", "5000",
      "default time a client request may wait for its commit"},
     OT_UINT, 1, 600000, false},
    {{"value-max", "BYTES", "8MiB",
      "largest value accepted (suffixes K, KiB, M, MiB)"},
     OT_BYTES, 1, 64u << 20, false},
    {{"read-cache", "BYTES", "64MiB",
      "memory for values of recent point reads (GET), kept coherent with "
      "every write; 0: off (suffixes K, M, G)"},
     OT_BYTES, 0, 1ull << 40, false},
    {{"log-level", "LEVEL", "info", "debug, info, warn or error"},
     OT_LEVEL, 0, 0, false},
    {{"pipeline", "FILE", "",
      "pipeline definition (YAML) to submit at start unless one of that "
      "name exists"},
     OT_STR, 0, 0, false},
    {{"checkpoint-interval", "MS", "1000",
      "commit pipeline source positions at least this often (0: only on "
      "pause, stop and --checkpoint-records)"},
     OT_UINT, 0, 3600000, false},
    {{"checkpoint-records", "N", "100000",
      "also commit positions after this many records reached the sinks (0: "
      "off)"},
     OT_UINT, 0, 1u << 30, false},
    {{"resp", "HOST:PORT", "",
      "Redis-compatible RESP2 server address (empty: off; port 0: any free "
      "port), see doc/resp.md"},
     OT_ADDR, 0, 65535, true},
    {{"resp-max-clients", "N", "10000",
      "RESP connections served at once; one more is told -ERR max number "
      "of clients reached and closed"},
     OT_UINT, 1, 1000000, false},
    {{"resp-password", "SECRET", "",
      "password RESP clients must give (AUTH, HELLO AUTH) before any other "
      "command (empty: none); set it in the config file or "
      "WIRE_RESP_PASSWORD: a command line is readable by every local user"},
     OT_STR, 0, 0, false},
};

#define N_OPTS (sizeof OPTS / sizeof OPTS[0])

struct wire_node_config {
  char *val[N_OPTS];
  const char *origin[N_OPTS];
  char err[2048];
};

size_t wire_node_config_option_count(void) { return N_OPTS; }

const wire_node_option_info *wire_node_config_option(size_t i) {
  return i < N_OPTS ? &OPTS[i].info : NULL;
}

static int find(const char *key) {
  for (size_t i = 0; i < N_OPTS; i++)
    if (!strcmp(OPTS[i].info.key, key)) return (int)i;
  return -1;
}

/* The option closest to `key`, or NULL when none is close. */
static const char *closest(const char *key) {
  const char *best = NULL;
  size_t bd = 3;
  for (size_t i = 0; i < N_OPTS; i++) {
    size_t d = cfg_edit_distance(key, OPTS[i].info.key);
    if (d < bd) bd = d, best = OPTS[i].info.key;
  }
  return best;
}

static bool parse_bytes(const char *s, uint64_t *out);

int wire_node_config_new(wire_node_config **out) {
  wire_node_config *c = core_calloc(1, sizeof *c);
  if (!c) return WIRE_ENOMEM;
  for (size_t i = 0; i < N_OPTS; i++) {
    /* Values are kept canonical: default byte sizes too. */
    const char *def = OPTS[i].info.def ? OPTS[i].info.def : "";
    char num[24];
    uint64_t u;
    if (OPTS[i].type == OT_BYTES && parse_bytes(def, &u)) {
      snprintf(num, sizeof num, "%llu", (unsigned long long)u);
      def = num;
    }
    c->val[i] = core_strdup(def);
    c->origin[i] = "default";
    if (!c->val[i]) {
      wire_node_config_free(c);
      return WIRE_ENOMEM;
    }
  }
  *out = c;
  return WIRE_OK;
}

void wire_node_config_free(wire_node_config *c) {
  if (!c) return;
  for (size_t i = 0; i < N_OPTS; i++) core_free(c->val[i]);
  core_free(c);
}

const char *wire_node_config_error(const wire_node_config *c) {
  return c ? c->err : "";
}

const char *wire_node_config_get(const wire_node_config *c, const char *key) {
  int i = find(key);
  return i < 0 ? NULL : c->val[i];
}

const char *wire_node_config_origin(const wire_node_config *c,
                                    const char *key) {
  int i = find(key);
  return i < 0 ? NULL : c->origin[i];
}

/* ---- parsing of one value -------------------------------------------------- */

bool node_split_hostport(const char *s, char *host, size_t hsz, int *port) {
  const char *colon = strrchr(s, ':');
  if (!colon || colon == s || !colon[1]) return false;
  const char *h = s;
  size_t hl = (size_t)(colon - s);
  if (h[0] == '[') {
    if (hl < 3 || h[hl - 1] != ']') return false;
    h++, hl -= 2;
  } else if (memchr(h, ':', hl)) {
    return false; /* IPv6 needs brackets */
  }
  if (hl == 0 || hl >= hsz) return false;
  char *end;
  errno = 0;
  long p = strtol(colon + 1, &end, 10);
  if (*end || errno || p < 0 || p > 65535 || colon[1] == '-' || colon[1] == '+')
    return false;
  memcpy(host, h, hl);
  host[hl] = '\0';
  *port = (int)p;
  return true;
}

static bool parse_u64(const char *s, uint64_t *out) {
  if (!*s || *s == '-' || *s == '+') return false;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end) return false;
  *out = v;
  return true;
}

static bool parse_bytes(const char *s, uint64_t *out) {
  if (!*s || *s == '-' || *s == '+') return false;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s) return false;
  uint64_t mul = 1;
  if (!*end || !strcasecmp(end, "B")) mul = 1;
  else if (!strcasecmp(end, "K") || !strcasecmp(end, "KiB") ||
           !strcasecmp(end, "KB"))
    mul = 1024;
  else if (!strcasecmp(end, "M") || !strcasecmp(end, "MiB") ||
           !strcasecmp(end, "MB"))
    mul = 1024 * 1024;
  else if (!strcasecmp(end, "G") || !strcasecmp(end, "GiB") ||
           !strcasecmp(end, "GB"))
    mul = 1024 * 1024 * 1024;
  else return false;
  if (v > UINT64_MAX / mul) return false;
  *out = v * mul;
  return true;
}

/* Check `value` for option o; on success *canon is the malloc'd canonical
 * text.  On failure `why` says what is wrong (without the option name). */
static bool parse_value(const opt *o, const char *value, char **canon,
                        char *why, size_t wsz) {
  char buf[64];
  uint64_t u;
  why[0] = '\0';
  int port;
  char host[256];
  switch (o->type) {
    case OT_ID:
    case OT_UINT:
      if (!parse_u64(value, &u)) {
        snprintf(why, wsz, "expected an integer, got \"%.60s\"", value);
        return false;
      }
      if (u < o->min || u > o->max) {
        snprintf(why, wsz, "must be between %llu and %llu, got %llu",
                 (unsigned long long)o->min, (unsigned long long)o->max,
                 (unsigned long long)u);
        return false;
      }
      snprintf(buf, sizeof buf, "%llu", (unsigned long long)u);
      *canon = core_strdup(buf);
      return true;
    case OT_BYTES:
      if (!parse_bytes(value, &u)) {
        snprintf(why, wsz, "expected a size in bytes (e.g. 8MiB), got \"%.60s\"",
                 value);
        return false;
      }
      if (u < o->min || u > o->max) {
        snprintf(why, wsz, "must be between %llu and %llu bytes, got %llu",
                 (unsigned long long)o->min, (unsigned long long)o->max,
                 (unsigned long long)u);
        return false;
      }
      snprintf(buf, sizeof buf, "%llu", (unsigned long long)u);
      *canon = core_strdup(buf);
      return true;
    case OT_BOOL:
      if (!strcmp(value, "true") || !strcmp(value, "1") || !*value)
        *canon = core_strdup("true");
      else if (!strcmp(value, "false") || !strcmp(value, "0"))
        *canon = core_strdup("false");
      else {
        snprintf(why, wsz, "expected true or false, got \"%.60s\"", value);
        return false;
      }
      return true;
    case OT_LEVEL:
      if (strcmp(value, "debug") && strcmp(value, "info") &&
          strcmp(value, "warn") && strcmp(value, "error")) {
        snprintf(why, wsz, "expected debug, info, warn or error, got \"%.60s\"",
                 value);
        return false;
      }
      *canon = core_strdup(value);
      return true;
    case OT_STR:
      *canon = core_strdup(value);
      return true;
    case OT_ADDR:
      if (!*value && o->optional_addr) {
        *canon = core_strdup("");
        return true;
      }
      if (!node_split_hostport(value, host, sizeof host, &port)) {
        snprintf(why, wsz, "expected HOST:PORT, got \"%.60s\"", value);
        return false;
      }
      if ((uint64_t)port < o->min) {
        snprintf(why, wsz, "port must be between %llu and 65535, got %d",
                 (unsigned long long)o->min, port);
        return false;
      }
      *canon = core_strdup(value);
      return true;
    case OT_LIST: {
      core_buf b = {0};
      const char *p = value;
      while (*p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char item[300];
        while (len && (*p == ' ')) p++, len--;
        while (len && p[len - 1] == ' ') len--;
        if (len == 0 || len >= sizeof item) {
          snprintf(why, wsz, "expected HOST:PORT[,HOST:PORT...], got \"%.60s\"",
                   value);
          core_buf_free(&b);
          return false;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        if (!node_split_hostport(item, host, sizeof host, &port) || port == 0) {
          snprintf(why, wsz, "expected HOST:PORT, got \"%.60s\"", item);
          core_buf_free(&b);
          return false;
        }
        if ((b.len && core_buf_putc(&b, ',')) ||
            core_buf_append(&b, item, len)) {
          core_buf_free(&b);
          *canon = NULL;
          return true; /* out of memory: the caller sees no value */
        }
        p += len;
        while (*p == ' ') p++;
        if (*p == ',') p++;
      }
      if (core_buf_putc(&b, '\0')) {
        core_buf_free(&b);
        *canon = NULL;
        return true;
      }
      *canon = b.data;
      return true;
    }
  }
  return false;
}

static int set_from(wire_node_config *c, const char *key, const char *value,
                    const char *origin, const char *where) {
  int i = find(key);
  if (i < 0) {
    const char *near = closest(key);
    if (near)
      core_msg(c->err, sizeof c->err, WIRE_EINVAL,
               "%sunknown option '%s' (did you mean '%s'?)", where, key, near);
    else
      core_msg(c->err, sizeof c->err, WIRE_EINVAL, "%sunknown option '%s'",
               where, key);
    return WIRE_EINVAL;
  }
  char why[300];
  char *canon = NULL;
  if (!parse_value(&OPTS[i], value, &canon, why, sizeof why))
    return core_msg(c->err, sizeof c->err, WIRE_EINVAL, "%soption '%s': %s",
                    where, key, why);
  if (!canon) return core_msg(c->err, sizeof c->err, WIRE_ENOMEM, "out of memory");
  core_free(c->val[i]);
  c->val[i] = canon;
  c->origin[i] = origin;
  return WIRE_OK;
}

int wire_node_config_set(wire_node_config *c, const char *key,
                         const char *value) {
  if (!c || !key || !value) return WIRE_EINVAL;
  return set_from(c, key, value, "api", "");
}

/* ---- environment -------------------------------------------------------------- */

extern char **environ;

int wire_node_config_load_env(wire_node_config *c, char *const *envp) {
  if (!envp) envp = environ;
  for (; *envp; envp++) {
    const char *e = *envp;
    if (strncmp(e, "WIRE_", 5) != 0) continue;
    const char *eq = strchr(e, '=');
    if (!eq) continue;
    char key[64];
    size_t n = (size_t)(eq - e - 5);
    if (n == 0 || n >= sizeof key) continue;
    for (size_t k = 0; k < n; k++) {
      char ch = e[5 + k];
      key[k] = ch == '_' ? '-' : (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
    }
    key[n] = '\0';
    if (!strcmp(key, "config")) continue; /* the daemon's --config */
    char where[80];
    snprintf(where, sizeof where, "%.*s: ", (int)(eq - e), e);
    if (find(key) < 0) {
      /* Other programs' WIRE_ variables are left alone; a near miss of an
       * option name is a typo worth stopping for. */
      if (closest(key)) return set_from(c, key, eq + 1, "env", where);
      continue;
    }
    int rc = set_from(c, key, eq + 1, "env", where);
    if (rc) return rc;
  }
  return WIRE_OK;
}

/* ---- YAML file ------------------------------------------------------------------- */

int wire_node_config_load_file(wire_node_config *c, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return core_msg(c->err, sizeof c->err, WIRE_EIO, "%s: %s", path,
                    strerror(errno));
  core_buf text = {0};
  char chunk[8192];
  size_t n;
  bool nomem = false;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    if (core_buf_append(&text, chunk, n)) {
      nomem = true; /* never parse a partial file */
      break;
    }
  bool rerr = ferror(f) != 0;
  fclose(f);
  if (nomem) {
    core_buf_free(&text);
    return core_msg(c->err, sizeof c->err, WIRE_ENOMEM, "%s: out of memory",
                    path);
  }
  if (rerr) {
    core_buf_free(&text);
    return core_msg(c->err, sizeof c->err, WIRE_EIO, "%s: read error", path);
  }
  diag_list d = {0};
  int prc = WIRE_OK;
  bool oom = false;
  yval *root = yval_parse_ex(text.data ? text.data : "", text.len, path, &d,
                             &prc);
  core_buf_free(&text);
  /* Apply to a scratch copy: nothing changes unless everything is valid. */
  wire_node_config *tmp = NULL;
  int rc = wire_node_config_new(&tmp);
  if (rc) goto out;
  for (size_t i = 0; i < N_OPTS; i++) {
    core_free(tmp->val[i]);
    tmp->val[i] = core_strdup(c->val[i]);
    tmp->origin[i] = c->origin[i];
    if (!tmp->val[i]) {
      rc = WIRE_ENOMEM;
      goto out;
    }
  }
  if (root && root->kind != Y_MAP && !(root->kind == Y_SCALAR && !root->len))
    diag_add(&d, path, root->line, root->col,
             "expected a mapping of option names to values, got %s",
             yval_kind_name(root));
  for (size_t i = 0; root && root->kind == Y_MAP && i < root->n; i++) {
    const yval *k = root->keys[i], *v = root->items[i];
    core_buf list = {0};
    const char *value;
    if (v->kind == Y_SEQ) {
      /* A list: only for `join`. */
      if (strcmp(k->str, "join") != 0) {
        diag_add(&d, path, v->line, v->col, "option '%s' takes one value, "
                 "not a list", k->str);
        continue;
      }
      bool ok = true;
      for (size_t j = 0; j < v->n; j++) {
        if (v->items[j]->kind != Y_SCALAR) {
          diag_add(&d, path, v->items[j]->line, v->items[j]->col,
                   "join: expected HOST:PORT, got %s",
                   yval_kind_name(v->items[j]));
          ok = false;
          break;
        }
        if ((list.len && core_buf_putc(&list, ',')) ||
            core_buf_append(&list, v->items[j]->str, v->items[j]->len)) {
          oom = true;
          ok = false;
          break;
        }
      }
      if (ok && core_buf_putc(&list, '\0')) oom = true, ok = false;
      if (!ok) {
        core_buf_free(&list);
        continue;
      }
      value = list.data;
    } else if (v->kind == Y_MAP) {
      diag_add(&d, path, v->line, v->col,
               "option '%s' takes a value, not a mapping", k->str);
      continue;
    } else {
      value = yval_is_null(v) ? "" : v->str;
    }
    int src = set_from(tmp, k->str, value, "file", "");
    core_buf_free(&list);
    if (src == WIRE_ENOMEM) {
      oom = true;
    } else if (src) {
      const yval *at = find(k->str) < 0 ? k : v;
      diag_add(&d, path, at->line, at->col, "%s", tmp->err);
    }
  }
  if (oom || d.oom || prc == WIRE_ENOMEM) {
    rc = WIRE_ENOMEM;
    goto out;
  }
  if (d.n || prc) {
    diag_sort(&d);
    core_buf b = {0};
    for (size_t i = 0; i < d.n; i++)
      core_buf_printf(&b, "%s%s:%d:%d: %s", i ? "\n" : "", d.v[i].file,
                      d.v[i].line, d.v[i].col, d.v[i].message);
    snprintf(c->err, sizeof c->err, "%s", b.data ? b.data : "out of memory");
    rc = b.data ? WIRE_ECONFIG : WIRE_ENOMEM;
    core_buf_free(&b);
    goto out;
  }
  for (size_t i = 0; i < N_OPTS; i++) {
    char *t = c->val[i];
    c->val[i] = tmp->val[i];
    c->origin[i] = tmp->origin[i];
    tmp->val[i] = t;
  }
  rc = WIRE_OK;
out:
  if (rc == WIRE_ENOMEM)
    core_msg(c->err, sizeof c->err, WIRE_ENOMEM, "%s: out of memory", path);
  wire_node_config_free(tmp);
  yval_free(root);
  diag_clear(&d);
  return rc;
}

/* ---- whole-configuration checks ------------------------------------------------------ */

static uint64_t uval(const wire_node_config *c, const char *key) {
  return strtoull(c->val[find(key)], NULL, 10);
}

int wire_node_config_validate(const wire_node_config *cc) {
  wire_node_config *c = (wire_node_config *)cc; /* err is a cache */
  if (!*c->val[find("id")])
    return core_msg(c->err, sizeof c->err, WIRE_EINVAL,
                    "option 'id' is required (--id, WIRE_ID or 'id:' in the "
                    "config file)");
  if (!*c->val[find("data-dir")])
    return core_msg(c->err, sizeof c->err, WIRE_EINVAL,
                    "option 'data-dir' is required (--data-dir, WIRE_DATA_DIR "
                    "or 'data-dir:' in the config file)");
  const char *raft = c->val[find("raft")], *http = c->val[find("http")];
  if (!strcmp(raft, http))
    return core_msg(c->err, sizeof c->err, WIRE_EINVAL,
                    "options 'raft' and 'http' need distinct addresses (both "
                    "%s)", raft);
  if (!strcmp(c->val[find("bootstrap")], "true") && *c->val[find("join")])
    return core_msg(c->err, sizeof c->err, WIRE_EINVAL,
                    "options 'bootstrap' and 'join' exclude each other: "
                    "bootstrap starts a new cluster, join enters an existing "
                    "one");
  uint64_t el = uval(c, "election-timeout"), hb = uval(c, "heartbeat-timeout");
  if (hb * 2 > el)
    return core_msg(c->err, sizeof c->err, WIRE_EINVAL,
                    "option 'heartbeat-timeout' (%llu ms) must be at most half "
                    "of 'election-timeout' (%llu ms)",
                    (unsigned long long)hb, (unsigned long long)el);
  c->err[0] = '\0';
  return WIRE_OK;
}

/* ---- typed copy ------------------------------------------------------------------------ */

int node_config_copy(const wire_node_config *c, struct node_config *o) {
  memset(o, 0, sizeof *o);
  o->id = uval(c, "id");
  o->data_dir = core_strdup(c->val[find("data-dir")]);
  node_split_hostport(c->val[find("raft")], o->raft_host, sizeof o->raft_host,
                      &o->raft_port);
  node_split_hostport(c->val[find("http")], o->http_host, sizeof o->http_host,
                      &o->http_port);
  o->bootstrap = !strcmp(c->val[find("bootstrap")], "true");
  const char *j = c->val[find("join")];
  if (*j) {
    size_t n = 1;
    for (const char *p = j; *p; p++) n += *p == ',';
    o->join = core_calloc(n, sizeof *o->join);
    if (!o->join) goto oom;
    const char *p = j;
    while (*p) {
      const char *comma = strchr(p, ',');
      size_t len = comma ? (size_t)(comma - p) : strlen(p);
      o->join[o->n_join] = core_strndup(p, len);
      if (!o->join[o->n_join]) goto oom;
      o->n_join++;
      p += len + (comma != NULL);
    }
  }
  o->snapshot_threshold = (unsigned)uval(c, "snapshot-threshold");
  o->snapshot_trailing = (unsigned)uval(c, "snapshot-trailing");
  o->snapshot_install_timeout_ms =
      (unsigned)uval(c, "snapshot-install-timeout");
  o->election_timeout_ms = (unsigned)uval(c, "election-timeout");
  o->heartbeat_timeout_ms = (unsigned)uval(c, "heartbeat-timeout");
  o->request_timeout_ms = (unsigned)uval(c, "request-timeout");
  o->value_max = (size_t)uval(c, "value-max");
  o->read_cache = (size_t)uval(c, "read-cache");
  o->checkpoint_interval_ms = (unsigned)uval(c, "checkpoint-interval");
  o->checkpoint_records = (unsigned)uval(c, "checkpoint-records");
  if (*c->val[find("resp")]) {
    o->resp_on = true;
    node_split_hostport(c->val[find("resp")], o->resp_host,
                        sizeof o->resp_host, &o->resp_port);
  }
  o->resp_max_clients = (unsigned)uval(c, "resp-max-clients");
  if (*c->val[find("resp-password")]) {
    o->resp_password = core_strdup(c->val[find("resp-password")]);
    if (!o->resp_password) goto oom;
  }
  if (*c->val[find("http-token")]) {
    o->http_token = core_strdup(c->val[find("http-token")]);
    if (!o->http_token) goto oom;
  }
  if (*c->val[find("pipeline")]) {
    o->pipeline = core_strdup(c->val[find("pipeline")]);
    if (!o->pipeline) goto oom;
  }
  const char *lv = c->val[find("log-level")];
  o->log_level = !strcmp(lv, "debug")  ? WIRE_LOG_DEBUG
                 : !strcmp(lv, "warn") ? WIRE_LOG_WARN
                 : !strcmp(lv, "error") ? WIRE_LOG_ERROR
                                        : WIRE_LOG_INFO;
  if (!o->data_dir) goto oom;
  return WIRE_OK;
oom:
  node_config_free(o);
  return WIRE_ENOMEM;
}

void node_config_free(struct node_config *o) {
  core_free(o->data_dir);
  core_free(o->pipeline);
  core_secret_free(o->resp_password); /* not left in freed memory */
  core_secret_free(o->http_token);
  for (size_t i = 0; i < o->n_join; i++) core_free(o->join[i]);
  core_free(o->join);
  memset(o, 0, sizeof *o);
}
