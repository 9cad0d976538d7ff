/*
 * The node's HTTP API (on the node thread) and its use of HTTP between
 * members: forwarding to the leader and joining.
 *
 *   GET    /healthz                 the process is up
 *   GET    /readyz                  200 when a leader is known and everything
 *                                   it committed is applied here, else 503
 *   GET    /status                  role, leader, term, indexes, members
 *   POST   /join                    {"id":N,"raft":"H:P","http":"H:P"}
 *   DELETE /members/{id}
 *   GET    /key/{key}[?consistency=stale|linearizable]
 *   PUT    /key/{key}               body = value            -> 204
 *   DELETE /key/{key}                                       -> 204 / 404
 *   GET    /keys?prefix=P&after=K&limit=N[&consistency=stale]
 *   POST   /internal/apply          a follower's encoded entry (binary)
 *
 * Errors are {"error":{"code":"...","message":"..."}} with a fitting
 * status.  Keys in URLs are percent-decoded bytes (binary-safe).
 *
 * With --http-token every request but GET /healthz and /readyz must carry
 * "Authorization: Bearer TOKEN" (else 401); members send theirs to each
 * other, so they all need the same token.
 *
 * On a follower, writes go through the node's group commit and are
 * forwarded as one entry (POST /internal/apply); linearizable reads,
 * listings, joins and removals are proxied to the leader as they came.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "httpd/http.h"
#include "node/node_int.h"

#define LOG(n, lv, ...) core_logf(&(n)->log, (lv), "http", __VA_ARGS__)
#define KEYS_LIMIT_MAX 10000
#define KEYS_LIMIT_DEFAULT 1000

/* ---- small helpers ------------------------------------------------------------ */

/* Headers of a request to another member: h (NULL-terminated, may be
 * NULL) and, with --http-token, Authorization.  out needs room for n + 2. */
static const char *const *member_hdrs(const wire_node *n, const char **out,
                                      const char *const *h) {
  size_t i = 0;
  for (; h && h[i]; i++) out[i] = h[i];
  if (n->http_auth) out[i++] = n->http_auth;
  out[i] = NULL;
  return out;
}


static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Percent-decode s[0..n) into out (appended).  '+' stays '+' in paths and
 * is a space in queries.  false on a malformed escape. */
static bool pct_decode(core_buf *out, const char *s, size_t n, bool query) {
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= n) return false;
      int hi = hexval((unsigned char)s[i + 1]);
      int lo = hexval((unsigned char)s[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = (char)(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && query) {
      c = ' ';
    }
    if (core_buf_putc(out, c)) return false;
  }
  return true;
}

/* Find query parameter `name` in q[0..qn); decoded into out.  1 found, 0
 * absent, -1 malformed. */
static int query_param(const char *q, size_t qn, const char *name,
                       core_buf *out) {
  size_t nl = strlen(name);
  const char *p = q, *end = q + qn;
  while (p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *e = amp ? amp : end;
    const char *eq = memchr(p, '=', (size_t)(e - p));
    const char *ke = eq ? eq : e;
    if ((size_t)(ke - p) == nl && !memcmp(p, name, nl)) {
      out->len = 0;
      if (eq && !pct_decode(out, eq + 1, (size_t)(e - eq - 1), true)) return -1;
      if (core_buf_putc(out, '\0')) return -1;
      out->len--;
      return 1;
    }
    p = e + 1;
  }
  return 0;
}

static bool utf8_valid(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    size_t len;
    unsigned min;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, min = 0x80, c &= 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, min = 0x800, c &= 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, min = 0x10000, c &= 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      c = (c << 6) | (s[i + k] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

/* A key or address as JSON: a string when it is UTF-8, otherwise an object
 * {"pct": "<percent-encoded bytes>"}. */
static void json_bytes(core_buf *b, const char *s, size_t n) {
  if (utf8_valid((const unsigned char *)s, n)) {
    core_buf_json_string(b, s, n);
    return;
  }
  core_buf pe = {0};
  http_pct_encode(&pe, s, n);
  core_buf_printf(b, "{\"pct\":");
  core_buf_json_string(b, pe.data ? pe.data : "", pe.len);
  core_buf_putc(b, '}');
  core_buf_free(&pe);
}

static const char *err_code(int rc) {
  switch (rc) {
    case WIRE_ENOTFOUND:
      return "not_found";
    case WIRE_EINVAL:
    case WIRE_EPARSE:
      return "bad_request";
    case WIRE_ETOOBIG:
      return "too_big";
    case WIRE_ETIMEDOUT:
      return "timeout";
    case WIRE_ENOLEADER:
      return "no_leader";
    case WIRE_ENOTLEADER:
      return "not_leader";
    case WIRE_ESHUTDOWN:
      return "shutting_down";
    case WIRE_EMISMATCH:
      return "conflict";
    case WIRE_EEXISTS:
      return "exists";
    case WIRE_ENOMEM:
      return "out_of_memory";
    case WIRE_ENOSPC:
      return "insufficient_storage";
    default:
      return "internal";
  }
}

static int err_status(int rc) {
  switch (rc) {
    case WIRE_ENOTFOUND:
      return 404;
    case WIRE_EINVAL:
    case WIRE_EPARSE:
      return 400;
    case WIRE_ETOOBIG:
      return 413;
    case WIRE_ETIMEDOUT:
      return 504;
    case WIRE_ENOLEADER:
    case WIRE_ENOTLEADER:
    case WIRE_ESHUTDOWN:
      return 503;
    case WIRE_EMISMATCH:
    case WIRE_EEXISTS:
      return 409;
    case WIRE_ENOSPC:
      return 507;
    default:
      return 500;
  }
}

static void reply_error(http_req *hr, int rc, const char *msg) {
  http_respond_error(hr, err_status(rc), err_code(rc), "%s", msg);
}

static void reply_json(http_req *hr, int status, const core_buf *b) {
  http_respond(hr, status, "application/json", b->data ? b->data : "",
               b->len);
}

/* ---- requests completing into HTTP responses ------------------------------- */

/* node_req.ud = the http_req. */
static void write_done(node_req *req, int rc, const store_result *res,
                       size_t n, const char *val, size_t vlen) {
  (void)val, (void)vlen;
  http_req *hr = req->ud;
  if (rc) reply_error(hr, rc, req->err);
  else if (n && res[0].status == STORE_NOTFOUND)
    http_respond_error(hr, 404, "not_found", "key not found");
  else if (n && res[0].status == STORE_MISMATCH)
    http_respond_error(hr, 409, "conflict", "compare failed");
  else if (n && res[0].status != STORE_OK)
    http_respond_error(hr, 500, "internal", "%s",
                       store_status_str(res[0].status));
  else http_respond(hr, 204, NULL, NULL, 0);
  node_req_free(req);
}

static void read_done(node_req *req, int rc, const store_result *res,
                      size_t n, const char *val, size_t vlen) {
  (void)res, (void)n;
  http_req *hr = req->ud;
  if (rc) reply_error(hr, rc, req->err);
  else http_respond(hr, 200, "application/octet-stream", val, vlen);
  node_req_free(req);
}

/* ---- proxying to the leader ------------------------------------------------- */

typedef struct proxy {
  wire_node *node;
  http_req *hr;
  int64_t deadline_ns;
  char method[16];
  char *target; /* path?query */
  char *body;
  size_t len;
} proxy;

static void proxy_free(proxy *p) {
  core_free(p->target);
  core_free(p->body);
  core_free(p);
}

static bool split_hostport(const char *hp, char *host, size_t hsz, int *port) {
  const char *colon = strrchr(hp, ':');
  if (!colon || colon == hp) return false;
  size_t hl = (size_t)(colon - hp);
  if (hp[0] == '[' && hl >= 2 && hp[hl - 1] == ']') hp++, hl -= 2;
  if (hl >= hsz) return false;
  memcpy(host, hp, hl);
  host[hl] = '\0';
  *port = atoi(colon + 1);
  return *port > 0 && *port < 65536;
}

static void proxy_park(wire_node *n, proxy *p);

static void proxy_cb(void *ud, int rc, int status, const char *body,
                     size_t len, const char *err) {
  proxy *p = ud;
  if (rc == WIRE_EAGAIN && !p->node->closing &&
      core_monotonic_ns() < p->deadline_ns) {
    proxy_park(p->node, p); /* not sent: wait for a leader, send again */
    return;
  }
  if (rc)
    http_respond_error(p->hr, rc == WIRE_ETIMEDOUT ? 504 : 503,
                       rc == WIRE_ETIMEDOUT ? "timeout" : "leader_unreachable",
                       "forwarding to the leader: %s", err ? err : "failed");
  else
    http_respond(p->hr, status,
                 len && (body[0] == '{' || body[0] == '[')
                     ? "application/json"
                     : "application/octet-stream",
                 body, len);
  proxy_free(p);
}

static void proxy_send(wire_node *n, proxy *p) {
  uint64_t lid;
  char leader[64], host[64];
  int port;
  node_leader_http(n, &lid, leader, sizeof leader);
  if (!lid || !leader[0] || !split_hostport(leader, host, sizeof host, &port)) {
    http_respond_error(p->hr, 503, "no_leader",
                       "no leader known (or its HTTP address is not known "
                       "yet); retry");
    proxy_free(p);
    return;
  }
  static const char *const fwd_hdr[] = {"X-Wire-Forwarded: 1", NULL};
  const char *hdrs[4];
  http_client_request(n->hc, host, port, p->method, p->target,
                      member_hdrs(n, hdrs, fwd_hdr), p->body,
                      p->len, (int)n->cfg.request_timeout_ms, proxy_cb, p);
}

/* A proxied request first waits (parked) for a leader to be known. */
static void proxy_leader_known(node_req *req, int rc, const store_result *res,
                               size_t n, const char *val, size_t vlen) {
  (void)res, (void)n, (void)val, (void)vlen;
  proxy *p = req->ud;
  wire_node *node = p->node;
  if (rc) {
    reply_error(p->hr, rc, req->err);
    proxy_free(p);
  } else {
    proxy_send(node, p);
  }
  node_req_free(req);
}

static void proxy_park(wire_node *n, proxy *p) {
  node_req *req = node_req_new(NODE_OP_LEADER, 0);
  if (!req) {
    http_respond_error(p->hr, 500, "out_of_memory", "out of memory");
    proxy_free(p);
    return;
  }
  req->done = proxy_leader_known;
  req->ud = p;
  req->deadline_ns = p->deadline_ns;
  node_repark(n, req);
}

static void proxy_to_leader(wire_node *n, http_req *hr) {
  if (http_req_header(hr, "X-Wire-Forwarded")) {
    /* Forwarded to us but we do not lead (any more): no second hop. */
    http_respond_error(hr, 503, "not_leader",
                       "node %llu is not the leader (leadership moved); retry",
                       (unsigned long long)n->cfg.id);
    return;
  }
  proxy *p = core_calloc(1, sizeof *p);
  node_req *req = node_req_new(NODE_OP_LEADER, 0);
  size_t tl;
  const char *target = http_req_target(hr, &tl);
  size_t bl;
  const char *body = http_req_body(hr, &bl);
  if (p) {
    p->target = core_strndup(target, tl);
    p->body = bl ? core_malloc(bl) : NULL;
  }
  if (!p || !req || !p->target || (bl && !p->body)) {
    if (p) proxy_free(p);
    node_req_free(req);
    http_respond_error(hr, 500, "out_of_memory", "out of memory");
    return;
  }
  if (bl) memcpy(p->body, body, bl);
  p->len = bl;
  p->node = n;
  p->hr = hr;
  snprintf(p->method, sizeof p->method, "%s", http_req_method(hr));
  req->done = proxy_leader_known;
  req->ud = p;
  req->deadline_ns =
      core_monotonic_ns() + (int64_t)n->cfg.request_timeout_ms * 1000000;
  p->deadline_ns = req->deadline_ns;
  node_dispatch(n, req);
}

/* ---- routes ----------------------------------------------------------------------- */

static void route_status(wire_node *n, http_req *hr) {
  wire_node_status st;
  node_status_fill(n, &st);
  core_buf b = {0};
  core_buf_printf(&b, "{\"id\":%llu,\"state\":\"%s\",\"leader_id\":%llu,"
                      "\"leader_http\":",
                  (unsigned long long)st.id, wire_node_role_name(st.role),
                  (unsigned long long)st.leader_id);
  core_buf_json_string(&b, st.leader_http, strlen(st.leader_http));
  core_buf_printf(&b, ",\"cluster_id\":");
  core_buf_json_string(&b, n->cluster_id, strlen(n->cluster_id));
  core_buf_printf(&b, ",\"raft\":");
  core_buf_json_string(&b, n->raft_addr, strlen(n->raft_addr));
  core_buf_printf(&b, ",\"http\":");
  core_buf_json_string(&b, n->http_addr, strlen(n->http_addr));
  core_buf_printf(&b, ",\"term\":%llu,\"commit_index\":%llu,"
                      "\"applied_index\":%llu,\"last_index\":%llu,"
                      "\"members\":[",
                  (unsigned long long)st.term,
                  (unsigned long long)st.commit_index,
                  (unsigned long long)st.applied_index,
                  (unsigned long long)st.last_index);
  for (size_t i = 0; i < st.n_members && i < WIRE_ARRAY_SIZE(st.members);
       i++) {
    const wire_member *m = &st.members[i];
    core_buf_printf(&b, "%s{\"id\":%llu,\"raft\":", i ? "," : "",
                    (unsigned long long)m->id);
    core_buf_json_string(&b, m->raft, strlen(m->raft));
    core_buf_printf(&b, ",\"http\":");
    core_buf_json_string(&b, m->http, strlen(m->http));
    core_buf_printf(&b, ",\"role\":\"%s\"}", m->voter ? "voter" : "spare");
  }
  core_buf_printf(&b, "],\"stats\":{\"entries\":%llu,\"commands\":%llu,"
                      "\"barriers\":%llu,\"forwarded\":%llu,"
                      "\"snapshots_installed\":%llu}}",
                  (unsigned long long)atomic_load(&n->n_entries),
                  (unsigned long long)atomic_load(&n->n_commands),
                  (unsigned long long)atomic_load(&n->n_barriers),
                  (unsigned long long)atomic_load(&n->n_forwarded),
                  (unsigned long long)store_raft_fsm_restores(n->glue));
  const char *serr;
  if (store_fsm_failure(n->fsm, &serr)) { /* only while it cannot write */
    b.len--; /* reopen the object */
    core_buf_printf(&b, ",\"store_error\":");
    core_buf_json_string(&b, serr, strlen(serr));
    core_buf_putc(&b, '}');
  }
  reply_json(hr, 200, &b);
  core_buf_free(&b);
}

/* GET /metrics: Prometheus text exposition format 0.0.4. */
static void route_metrics(wire_node *n, http_req *hr) {
  wire_node_status st;
  node_status_fill(n, &st);
  core_buf b = {0};
  struct {
    const char *name, *type, *help;
    unsigned long long v;
  } m[] = {
      {"wire_raft_term", "gauge", "Current raft term.", st.term},
      {"wire_raft_commit_index", "gauge", "Highest committed raft index.",
       st.commit_index},
      {"wire_raft_applied_index", "gauge",
       "Highest raft index applied to the store.", st.applied_index},
      {"wire_raft_last_index", "gauge", "Last raft index in the local log.",
       st.last_index},
      {"wire_raft_leader", "gauge", "1 when this node is the leader.",
       st.role == WIRE_ROLE_LEADER},
      {"wire_raft_members", "gauge", "Members of the raft configuration.",
       st.n_members},
      {"wire_raft_entries_total", "counter",
       "Raft entries proposed by this node for client writes.",
       (unsigned long long)atomic_load(&n->n_entries)},
      {"wire_store_commands_total", "counter",
       "Client commands proposed by this node (several per entry).",
       (unsigned long long)atomic_load(&n->n_commands)},
      {"wire_raft_barriers_total", "counter",
       "Raft barriers for linearizable reads.",
       (unsigned long long)atomic_load(&n->n_barriers)},
      {"wire_node_forwarded_total", "counter",
       "Write groups forwarded to the leader.",
       (unsigned long long)atomic_load(&n->n_forwarded)},
      {"wire_http_requests_total", "counter", "HTTP requests received.",
       (unsigned long long)n->n_http},
      {"wire_store_write_failed", "gauge",
       "1 while the store cannot write (a full disk), else 0.",
       store_fsm_failure(n->fsm, NULL) != 0},
      {"wire_http_unauthorized_total", "counter",
       "HTTP requests refused for a missing or wrong bearer token.",
       (unsigned long long)n->n_http_unauthorized},
  };
  core_buf_printf(&b, "# HELP wire_node_info Node identity.\n"
                      "# TYPE wire_node_info gauge\n"
                      "wire_node_info{id=\"%llu\",cluster_id=\"%s\","
                      "role=\"%s\"} 1\n",
                  (unsigned long long)st.id, n->cluster_id,
                  wire_node_role_name(st.role));
  for (size_t i = 0; i < WIRE_ARRAY_SIZE(m); i++)
    core_buf_printf(&b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", m[i].name,
                    m[i].help, m[i].name, m[i].type, m[i].name, m[i].v);
  http_respond(hr, 200, "text/plain; version=0.0.4", b.data ? b.data : "",
               b.len);
  core_buf_free(&b);
}

/* A follower's own commit index only covers the entries it has stored, so
 * after a pause or a restart it can look caught up while the leader is far
 * ahead.  Followers therefore ask the leader for its commit index
 * (GET /status) every PROBE_MS; /readyz wants a recent answer and this
 * node's applied index at or past it. */
#define PROBE_MS 250
#define PROBE_FRESH_NS (4LL * PROBE_MS * 1000000)

typedef struct leader_probe {
  uv_timer_t t;
  wire_node *n;
  int refs; /* the timer, a request in flight */
  bool closing;
} leader_probe;

static void probe_unref(leader_probe *p) {
  if (--p->refs == 0) core_free(p);
}

static void probe_timer_closed(uv_handle_t *h) { probe_unref(h->data); }

static void probe_cb(void *ud, int rc, int status, const char *body,
                     size_t len, const char *err) {
  (void)err;
  leader_probe *p = ud;
  if (!p->closing && rc == WIRE_OK && status == 200) {
    json_t *o = json_loadb(body, len, 0, NULL);
    json_t *ci = o ? json_object_get(o, "commit_index") : NULL;
    const char *state = o ? json_string_value(json_object_get(o, "state")) : NULL;
    if (json_is_integer(ci) && state && !strcmp(state, "leader")) {
      wire_node *n = p->n;
      uint64_t c = (uint64_t)json_integer_value(ci);
      if (c > n->known_commit) n->known_commit = c;
      n->known_commit_ns = core_monotonic_ns();
    }
    json_decref(o);
  }
  probe_unref(p);
}

static void probe_tick(uv_timer_t *t) {
  leader_probe *p = t->data;
  wire_node *n = p->n;
  if (p->closing || n->closing || p->refs > 1) return;
  if (raft_state(&n->raft) == RAFT_LEADER) {
    n->known_commit = n->raft.commit_index;
    n->known_commit_ns = core_monotonic_ns();
    return;
  }
  uint64_t lid;
  char leader[64], host[64];
  int port;
  node_leader_http(n, &lid, leader, sizeof leader);
  if (!lid || lid == n->cfg.id || !leader[0] ||
      !split_hostport(leader, host, sizeof host, &port))
    return;
  static const char *const fwd_hdr[] = {"X-Wire-Forwarded: 1", NULL};
  const char *hdrs[4];
  p->refs++;
  http_client_request(n->hc, host, port, "GET", "/status",
                      member_hdrs(n, hdrs, fwd_hdr), NULL, 0,
                      2000, probe_cb, p);
}

static void route_readyz(wire_node *n, http_req *hr) {
  char why[200];
  bool ready = node_ready(n, why, sizeof why);
  if (ready && raft_state(&n->raft) != RAFT_LEADER) {
    int64_t now = core_monotonic_ns();
    uint64_t applied = raft_last_applied(&n->raft);
    if (!n->known_commit_ns || now - n->known_commit_ns > PROBE_FRESH_NS) {
      ready = false;
      snprintf(why, sizeof why, "the leader's commit index was not heard "
                                "recently");
    } else if (applied < n->known_commit) {
      ready = false;
      snprintf(why, sizeof why,
               "applied index %llu behind the leader's commit index %llu",
               (unsigned long long)applied,
               (unsigned long long)n->known_commit);
    }
  }
  if (ready) {
    static const char ok[] = "{\"ready\":true}";
    http_respond(hr, 200, "application/json", ok, sizeof ok - 1);
  } else {
    http_respond_error(hr, 503, "not_ready", "%s", why);
  }
}

static void member_done(node_req *req, int rc, const store_result *res,
                        size_t n, const char *val, size_t vlen) {
  (void)res, (void)n, (void)val, (void)vlen;
  http_req *hr = req->ud;
  wire_node *node = req->user;
  if (rc) {
    reply_error(hr, rc, req->err);
  } else if (req->cmd.type == STORE_CMD_MEMBER_META) { /* join */
    core_buf b = {0};
    core_buf_printf(&b, "{\"cluster_id\":");
    core_buf_json_string(&b, node->cluster_id, strlen(node->cluster_id));
    core_buf_printf(&b, ",\"leader_id\":%llu}",
                    (unsigned long long)node->cfg.id);
    reply_json(hr, 200, &b);
    core_buf_free(&b);
  } else {
    http_respond(hr, 204, NULL, NULL, 0);
  }
  node_req_free(req);
}

static bool valid_hostport(const char *s) {
  char host[300];
  int port;
  return strlen(s) < sizeof host && split_hostport(s, host, sizeof host, &port);
}

static void route_join(wire_node *n, http_req *hr) {
  size_t bl;
  const char *body = http_req_body(hr, &bl);
  json_error_t je;
  json_t *doc = json_loadb(body, bl, 0, &je);
  if (!doc) {
    http_respond_error(hr, 400, "bad_request",
                       "body is not valid JSON: %s (line %d, column %d)",
                       je.text, je.line, je.column);
    return;
  }
  json_t *jid = json_object_get(doc, "id");
  json_t *jraft = json_object_get(doc, "raft");
  json_t *jhttp = json_object_get(doc, "http");
  const char *bad = NULL;
  if (!json_is_object(doc)) bad = "body must be a JSON object";
  else if (!json_is_integer(jid) || json_integer_value(jid) < 1)
    bad = "\"id\" must be an integer >= 1";
  else if (!json_is_string(jraft) || !valid_hostport(json_string_value(jraft)))
    bad = "\"raft\" must be a string HOST:PORT";
  else if (!json_is_string(jhttp) || !valid_hostport(json_string_value(jhttp)))
    bad = "\"http\" must be a string HOST:PORT";
  if (bad) {
    http_respond_error(hr, 400, "bad_request", "join: %s", bad);
    json_decref(doc);
    return;
  }
  if (raft_state(&n->raft) != RAFT_LEADER) {
    json_decref(doc);
    proxy_to_leader(n, hr);
    return;
  }
  node_req *req = node_req_new(NODE_OP_STATUS, 0);
  if (!req) {
    json_decref(doc);
    http_respond_error(hr, 500, "out_of_memory", "out of memory");
    return;
  }
  req->cmd.type = STORE_CMD_MEMBER_META; /* marks a join for member_done */
  req->done = member_done;
  req->ud = hr;
  req->user = n;
  uint64_t id = (uint64_t)json_integer_value(jid);
  LOG(n, WIRE_LOG_INFO, "node %llu at %s (http %s) asks to join",
      (unsigned long long)id, json_string_value(jraft),
      json_string_value(jhttp));
  node_member_add(n, req, id, json_string_value(jraft),
                  json_string_value(jhttp));
  json_decref(doc);
}

static void route_member_delete(wire_node *n, http_req *hr, const char *idtxt,
                                size_t len) {
  char buf[32];
  char *end;
  if (!len || len >= sizeof buf) goto bad;
  memcpy(buf, idtxt, len);
  buf[len] = '\0';
  unsigned long long id = strtoull(buf, &end, 10);
  if (*end || !id || buf[0] == '-' || buf[0] == '+') goto bad;
  if (raft_state(&n->raft) != RAFT_LEADER) {
    proxy_to_leader(n, hr);
    return;
  }
  node_req *req = node_req_new(NODE_OP_STATUS, 0);
  if (!req) {
    http_respond_error(hr, 500, "out_of_memory", "out of memory");
    return;
  }
  req->done = member_done;
  req->ud = hr;
  req->user = n;
  node_member_remove(n, req, id);
  return;
bad:
  http_respond_error(hr, 400, "bad_request",
                     "member id must be an integer >= 1, got \"%.*s\"",
                     (int)WIRE_MIN(len, 40), idtxt);
}

/* consistency=stale|linearizable; -1 when malformed (reply sent). */
static int read_mode(http_req *hr, const char *q, size_t qn, core_buf *tmp) {
  int f = query_param(q, qn, "consistency", tmp);
  if (f < 0) {
    http_respond_error(hr, 400, "bad_request", "bad percent-encoding in the "
                                               "query string");
    return -1;
  }
  if (f == 0 || !strcmp(tmp->data, "linearizable"))
    return WIRE_READ_LINEARIZABLE;
  if (!strcmp(tmp->data, "stale")) return WIRE_READ_STALE;
  http_respond_error(hr, 400, "bad_request",
                     "consistency must be linearizable or stale, got \"%.*s\"",
                     (int)WIRE_MIN(tmp->len, 40), tmp->data);
  return -1;
}

static void route_key(wire_node *n, http_req *hr, const char *method,
                      const char *enc, size_t elen, const char *q, size_t qn) {
  core_buf key = {0}, tmp = {0};
  if (!pct_decode(&key, enc, elen, false)) {
    http_respond_error(hr, 400, "bad_request",
                       "bad percent-encoding in the key \"%.*s\"",
                       (int)WIRE_MIN(elen, 80), enc);
    goto out;
  }
  if (key.len == 0) {
    http_respond_error(hr, 400, "bad_request",
                       "empty key: keys are 1 to %zu bytes", n->limits.key_max);
    goto out;
  }
  if (key.len > n->limits.key_max) {
    http_respond_error(hr, 413, "too_big",
                       "key of %zu bytes: keys are at most %zu bytes", key.len,
                       n->limits.key_max);
    goto out;
  }
  if (!strcmp(method, "GET") || !strcmp(method, "HEAD")) {
    int mode = read_mode(hr, q, qn, &tmp);
    if (mode < 0) goto out;
    if (mode == WIRE_READ_LINEARIZABLE && raft_state(&n->raft) != RAFT_LEADER) {
      proxy_to_leader(n, hr);
      goto out;
    }
    node_req *req = node_req_new(NODE_OP_READ, key.len);
    if (!req) goto oom;
    memcpy(req->data, key.data, key.len);
    req->key = (store_slice){req->data, key.len};
    req->mode = (wire_read_mode)mode;
    req->done = read_done;
    req->ud = hr;
    req->deadline_ns =
        core_monotonic_ns() + (int64_t)n->cfg.request_timeout_ms * 1000000;
    node_dispatch(n, req);
    goto out;
  }
  store_cmd cmd = {0};
  size_t bl = 0;
  const char *body = NULL;
  if (!strcmp(method, "PUT")) {
    body = http_req_body(hr, &bl);
    if (bl > n->limits.value_max) {
      http_respond_error(hr, 413, "too_big",
                         "value of %zu bytes: values are at most %zu bytes "
                         "(option value-max)",
                         bl, n->limits.value_max);
      goto out;
    }
    cmd.type = STORE_CMD_PUT;
  } else if (!strcmp(method, "DELETE")) {
    cmd.type = STORE_CMD_DELETE;
  } else {
    http_respond_header(hr, "Allow", "GET, HEAD, PUT, DELETE");
    http_respond_error(hr, 405, "method_not_allowed",
                       "%s is not allowed on /key/{key}", method);
    goto out;
  }
  node_req *req = node_req_new(NODE_OP_WRITE, key.len + bl);
  if (!req) goto oom;
  memcpy(req->data, key.data, key.len);
  if (bl) memcpy(req->data + key.len, body, bl);
  req->cmd = cmd;
  if (cmd.type == STORE_CMD_PUT) {
    req->cmd.u.put.key = (store_slice){req->data, key.len};
    req->cmd.u.put.value = (store_slice){req->data + key.len, bl};
  } else {
    req->cmd.u.del.key = (store_slice){req->data, key.len};
  }
  req->done = write_done;
  req->ud = hr;
  req->deadline_ns =
      core_monotonic_ns() + (int64_t)n->cfg.request_timeout_ms * 1000000;
  node_dispatch(n, req);
  goto out;
oom:
  http_respond_error(hr, 500, "out_of_memory", "out of memory");
out:
  core_buf_free(&key);
  core_buf_free(&tmp);
}

/* GET /keys: listing served from the local state (after a barrier on the
 * leader for a linearizable listing; followers proxy those). */
typedef struct keys_list {
  wire_node *node;
  http_req *hr;
  core_buf prefix, after;
  size_t limit;
} keys_list;

typedef struct scan_out {
  core_buf *b;
  size_t n;
} scan_out;

static int scan_cb(void *ud, store_slice key, store_slice value) {
  (void)value;
  scan_out *o = ud;
  if (o->n++) core_buf_putc(o->b, ',');
  json_bytes(o->b, key.ptr, key.len);
  return 0;
}

static void keys_serve(keys_list *k) {
  wire_node *n = k->node;
  core_buf b = {0};
  core_buf_printf(&b, "{\"keys\":[");
  scan_out o = {&b, 0};
  bool more = false;
  int rc = store_fsm_scan(n->fsm, (store_slice){k->prefix.data, k->prefix.len},
                          (store_slice){k->after.data, k->after.len}, k->limit,
                          scan_cb, &o, &more);
  if (rc) {
    http_respond_error(k->hr, 500, "internal", "store: %s",
                       store_fsm_errmsg(n->fsm));
  } else {
    core_buf_printf(&b, "],\"more\":%s}", more ? "true" : "false");
    reply_json(k->hr, 200, &b);
  }
  core_buf_free(&b);
}

static void keys_free(keys_list *k) {
  core_buf_free(&k->prefix);
  core_buf_free(&k->after);
  core_free(k);
}

static void keys_barrier_done(node_req *req, int rc, const store_result *res,
                              size_t n, const char *val, size_t vlen) {
  (void)res, (void)n, (void)val, (void)vlen;
  keys_list *k = req->ud;
  if (rc) reply_error(k->hr, rc, req->err);
  else keys_serve(k);
  keys_free(k);
  node_req_free(req);
}

static void route_keys(wire_node *n, http_req *hr, const char *q, size_t qn) {
  keys_list *k = core_calloc(1, sizeof *k);
  core_buf tmp = {0};
  if (!k) {
    http_respond_error(hr, 500, "out_of_memory", "out of memory");
    return;
  }
  k->node = n;
  k->hr = hr;
  k->limit = KEYS_LIMIT_DEFAULT;
  int mode = read_mode(hr, q, qn, &tmp);
  if (mode < 0) goto done;
  if (query_param(q, qn, "prefix", &k->prefix) < 0 ||
      query_param(q, qn, "after", &k->after) < 0) {
    http_respond_error(hr, 400, "bad_request",
                       "bad percent-encoding in the query string");
    goto done;
  }
  int f = query_param(q, qn, "limit", &tmp);
  if (f > 0) {
    char *end;
    unsigned long long v = strtoull(tmp.data, &end, 10);
    if (*end || !tmp.len || v < 1 || v > KEYS_LIMIT_MAX) {
      http_respond_error(hr, 400, "bad_request",
                         "limit must be an integer from 1 to %d, got \"%.*s\"",
                         KEYS_LIMIT_MAX, (int)WIRE_MIN(tmp.len, 40), tmp.data);
      goto done;
    }
    k->limit = (size_t)v;
  }
  if (mode == WIRE_READ_STALE) {
    keys_serve(k);
    goto done;
  }
  if (raft_state(&n->raft) != RAFT_LEADER) {
    proxy_to_leader(n, hr);
    goto done;
  }
  node_req *req = node_req_new(NODE_OP_BARRIER, 0);
  if (!req) {
    http_respond_error(hr, 500, "out_of_memory", "out of memory");
    goto done;
  }
  req->done = keys_barrier_done;
  req->ud = k;
  req->deadline_ns =
      core_monotonic_ns() + (int64_t)n->cfg.request_timeout_ms * 1000000;
  core_buf_free(&tmp);
  node_dispatch(n, req);
  return;
done:
  core_buf_free(&tmp);
  keys_free(k);
}

static void method_not_allowed(http_req *hr, const char *allow);

/* ---- /pipelines ---------------------------------------------------------------------- */

/* Reads run after a barrier on the leader (which runs the pipelines and so
 * knows their runtime state); followers proxy every /pipelines request to
 * the leader. */
static void pipes_call_done(node_req *req, int rc, const store_result *res,
                            size_t n, const char *val, size_t vlen) {
  (void)res, (void)n, (void)val, (void)vlen;
  if (rc) reply_error(req->ud, rc, req->err);
  node_req_free(req);
}

static void pipes_info_call(wire_node *n, node_req *req) {
  char *out = NULL;
  char err[256];
  const char *name = req->data_len ? req->data : NULL;
  int rc = node_pipes_info(n, name, req->data_len, &out, err, sizeof err);
  if (rc) {
    reply_error(req->ud, rc, err);
  } else {
    http_respond(req->ud, 200, "application/json", out, strlen(out));
    free(out);
  }
  node_req_finish(req, WIRE_OK, NULL, 0, NULL, 0);
}

typedef enum pipes_op { P_CREATE, P_REPLACE, P_DELETE, P_PAUSE, P_RESUME } pipes_op;

static void pipes_write_done(node_req *req, int rc, const store_result *res,
                             size_t n, const char *val, size_t vlen) {
  (void)val, (void)vlen;
  http_req *hr = req->ud;
  pipes_op op = (pipes_op)(intptr_t)req->arg;
  store_slice name = req->cmd.type == STORE_CMD_PIPELINE_DELETE
                         ? req->cmd.u.pipeline_delete.name
                     : req->cmd.type == STORE_CMD_PIPELINE_STATE
                         ? req->cmd.u.pipeline_state.name
                         : req->cmd.u.pipeline_put.name;
  if (rc) {
    reply_error(hr, rc, req->err);
  } else if (!n) {
    http_respond_error(hr, 500, "internal", "no result");
  } else if (res[0].status == STORE_NOTFOUND) {
    http_respond_error(hr, 404, "not_found", "no pipeline named '%.*s'",
                       (int)WIRE_MIN(name.len, 200), name.ptr);
  } else if (res[0].status == STORE_MISMATCH) {
    http_respond_error(hr, 409, "conflict",
                       "a pipeline named '%.*s' exists already (PUT "
                       "/pipelines/{name} replaces it)",
                       (int)WIRE_MIN(name.len, 200), name.ptr);
  } else if (res[0].status != STORE_OK) {
    http_respond_error(hr, 500, "internal", "%s",
                       store_status_str(res[0].status));
  } else if (op == P_DELETE) {
    http_respond(hr, 204, NULL, NULL, 0);
  } else {
    core_buf b = {0};
    core_buf_printf(&b, "{\"name\":");
    json_bytes(&b, name.ptr, name.len);
    core_buf_printf(&b, ",\"generation\":%" PRId64, res[0].value);
    if (op == P_PAUSE || op == P_RESUME)
      core_buf_printf(&b, ",\"paused\":%s", op == P_PAUSE ? "true" : "false");
    core_buf_printf(&b, "}");
    reply_json(hr, op == P_CREATE || (op == P_REPLACE && res[0].value == 1)
                       ? 201
                       : 200,
               &b);
    core_buf_free(&b);
  }
  node_req_free(req);
}

static void pipes_write(wire_node *n, http_req *hr, pipes_op op,
                        const store_cmd *cmd) {
  node_req *req = node_write_req(cmd);
  if (!req) {
    http_respond_error(hr, 500, "out_of_memory", "out of memory");
    return;
  }
  req->done = pipes_write_done;
  req->ud = hr;
  req->arg = (void *)(intptr_t)op;
  req->deadline_ns =
      core_monotonic_ns() + (int64_t)n->cfg.request_timeout_ms * 1000000;
  node_dispatch(n, req);
}

/* POST /pipelines, PUT /pipelines/{name}: validate the body first. */
static void pipes_submit(wire_node *n, http_req *hr, const core_buf *url_name) {
  size_t bl;
  const char *body = http_req_body(hr, &bl);
  char name[256], msg[4096];
  json_t *diags = json_array();
  int rc = node_pipes_validate(n, body ? body : "", bl, "<request>", name,
                               sizeof name, diags, msg, sizeof msg);
  if (rc == WIRE_ECONFIG) {
    json_t *e = json_pack("{s:{s:s,s:s,s:O}}", "error", "code",
                          "invalid_pipeline", "message", msg, "errors", diags);
    char *txt = e ? json_dumps(e, JSON_COMPACT) : NULL;
    if (txt) http_respond(hr, 400, "application/json", txt, strlen(txt));
    else http_respond_error(hr, 500, "out_of_memory", "out of memory");
    free(txt);
    json_decref(e);
    json_decref(diags);
    return;
  }
  json_decref(diags);
  if (rc) {
    reply_error(hr, rc, msg);
    return;
  }
  if (url_name &&
      (url_name->len != strlen(name) || memcmp(url_name->data, name, url_name->len))) {
    http_respond_error(hr, 400, "bad_request",
                       "the definition names pipeline '%s' but the URL names "
                       "'%.*s'",
                       name, (int)WIRE_MIN(url_name->len, 200), url_name->data);
    return;
  }
  if (bl > n->limits.value_max) {
    http_respond_error(hr, 413, "too_large",
                       "definition of %zu bytes: at most %zu (value-max)", bl,
                       n->limits.value_max);
    return;
  }
  store_cmd c = {.type = url_name ? STORE_CMD_PIPELINE_PUT
                                  : STORE_CMD_PIPELINE_CREATE};
  c.u.pipeline_put.name = store_str(name);
  c.u.pipeline_put.definition = (store_slice){body ? body : "", bl};
  pipes_write(n, hr, url_name ? P_REPLACE : P_CREATE, &c);
}

static void route_pipelines(wire_node *n, http_req *hr, const char *method,
                            const char *rest, size_t rl) {
  if (raft_state(&n->raft) != RAFT_LEADER) {
    proxy_to_leader(n, hr);
    return;
  }
  bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
  /* rest: "" | "/NAME" | "/NAME/pause" | "/NAME/resume" */
  if (rl == 0) {
    if (get) {
      node_req *req = node_req_new(NODE_OP_CALL, 0);
      if (!req) {
        http_respond_error(hr, 500, "out_of_memory", "out of memory");
        return;
      }
      req->data_len = 0;
      req->call = pipes_info_call;
      req->barrier = true;
      req->done = pipes_call_done;
      req->ud = hr;
      req->deadline_ns =
          core_monotonic_ns() + (int64_t)n->cfg.request_timeout_ms * 1000000;
      node_dispatch(n, req);
    } else if (!strcmp(method, "POST")) {
      pipes_submit(n, hr, NULL);
    } else {
      method_not_allowed(hr, "GET, HEAD, POST");
    }
    return;
  }
  const char *p = rest + 1, *end = rest + rl;
  const char *slash = memchr(p, '/', (size_t)(end - p));
  const char *action = slash ? slash + 1 : NULL;
  size_t al = slash ? (size_t)(end - action) : 0;
  core_buf name = {0};
  if (!pct_decode(&name, p, (size_t)((slash ? slash : end) - p), false) ||
      name.len == 0 || name.len > STORE_KEY_MAX) {
    http_respond_error(hr, 400, "bad_request",
                       "bad pipeline name in the URL (empty, too long or bad "
                       "percent-encoding)");
    core_buf_free(&name);
    return;
  }
  if (action) {
    bool pause = al == 5 && !memcmp(action, "pause", 5);
    bool resume = al == 6 && !memcmp(action, "resume", 6);
    if (!pause && !resume) {
      http_respond_error(hr, 404, "not_found",
                         "no route for %s /pipelines/%.*s (actions: pause, "
                         "resume)",
                         method, (int)WIRE_MIN(rl, 200), rest + 1);
    } else if (strcmp(method, "POST")) {
      method_not_allowed(hr, "POST");
    } else {
      store_cmd c = {.type = STORE_CMD_PIPELINE_STATE};
      c.u.pipeline_state.name = (store_slice){name.data, name.len};
      c.u.pipeline_state.paused = pause;
      pipes_write(n, hr, pause ? P_PAUSE : P_RESUME, &c);
    }
  } else if (get) {
    node_req *req = node_req_new(NODE_OP_CALL, name.len);
    if (!req) {
      http_respond_error(hr, 500, "out_of_memory", "out of memory");
    } else {
      memcpy(req->data, name.data, name.len);
      req->data_len = name.len;
      req->call = pipes_info_call;
      req->barrier = true;
      req->done = pipes_call_done;
      req->ud = hr;
      req->deadline_ns =
          core_monotonic_ns() + (int64_t)n->cfg.request_timeout_ms * 1000000;
      node_dispatch(n, req);
    }
  } else if (!strcmp(method, "PUT")) {
    pipes_submit(n, hr, &name);
  } else if (!strcmp(method, "DELETE")) {
    store_cmd c = {.type = STORE_CMD_PIPELINE_DELETE};
    c.u.pipeline_delete.name = (store_slice){name.data, name.len};
    pipes_write(n, hr, P_DELETE, &c);
  } else {
    method_not_allowed(hr, "GET, HEAD, PUT, DELETE");
  }
  core_buf_free(&name);
}

/* POST /internal/apply: results as u32 count, then per command u8 status
 * and i64 value, little-endian. */
static void put_le(core_buf *b, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) core_buf_putc(b, (char)(v >> (8 * i)));
}

static void entry_done(node_req *req, int rc, const store_result *res,
                       size_t n, const char *val, size_t vlen) {
  (void)val, (void)vlen;
  http_req *hr = req->ud;
  if (rc) {
    reply_error(hr, rc, req->err);
  } else {
    core_buf b = {0};
    put_le(&b, n, 4);
    for (size_t i = 0; i < n; i++) {
      put_le(&b, (uint64_t)res[i].status, 1);
      put_le(&b, (uint64_t)res[i].value, 8);
    }
    http_respond(hr, 200, "application/octet-stream", b.data, b.len);
    core_buf_free(&b);
  }
  node_req_free(req);
}

static void route_apply(wire_node *n, http_req *hr) {
  size_t bl;
  const char *body = http_req_body(hr, &bl);
  node_req *req = node_req_new(NODE_OP_ENTRY, bl ? bl : 1);
  if (!req) {
    http_respond_error(hr, 500, "out_of_memory", "out of memory");
    return;
  }
  if (bl) memcpy(req->data, body, bl);
  req->data_len = bl;
  req->done = entry_done;
  req->ud = hr;
  node_dispatch(n, req);
}

static bool path_is(const char *p, size_t pl, const char *s) {
  return pl == strlen(s) && !memcmp(p, s, pl);
}

static bool path_prefix(const char *p, size_t pl, const char *s) {
  size_t sl = strlen(s);
  return pl >= sl && !memcmp(p, s, sl);
}

static void method_not_allowed(http_req *hr, const char *allow) {
  http_respond_header(hr, "Allow", allow);
  http_respond_error(hr, 405, "method_not_allowed",
                     "%s is not allowed here (allowed: %s)",
                     http_req_method(hr), allow);
}

/* Whether the request may go on: with --http-token it must carry the token
 * (probes excepted); if not, it is answered 401 here. */
static bool authorized(wire_node *n, http_req *hr, const char *target,
                       size_t pl, bool get) {
  const char *want = n->cfg.http_token;
  if (!want || (get && (path_is(target, pl, "/healthz") ||
                        path_is(target, pl, "/readyz"))))
    return true;
  const char *h = http_req_header(hr, "Authorization");
  static const char bearer[] = "Bearer ";
  const char *why = "this node requires a bearer token (Authorization: "
                    "Bearer TOKEN, see --http-token)";
  if (h && !strncasecmp(h, bearer, sizeof bearer - 1)) {
    const char *tok = h + sizeof bearer - 1;
    while (*tok == ' ') tok++;
    size_t tl = strlen(tok);
    while (tl && tok[tl - 1] == ' ') tl--;
    if (core_secret_eq(tok, tl, want)) return true;
    why = "wrong bearer token";
  }
  n->n_http_unauthorized++;
  http_respond_header(hr, "WWW-Authenticate", h ? "Bearer error=\"invalid_token\""
                                                : "Bearer");
  http_respond_error(hr, 401, "unauthorized", "%s", why);
  return false;
}

static void handler(void *ud, http_req *hr) {
  wire_node *n = ud;
  const char *method = http_req_method(hr);
  size_t tl;
  const char *target = http_req_target(hr, &tl);
  const char *qm = memchr(target, '?', tl);
  size_t pl = qm ? (size_t)(qm - target) : tl;
  const char *q = qm ? qm + 1 : "";
  size_t qn = qm ? tl - pl - 1 : 0;
  bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
  n->n_http++;

  if (!authorized(n, hr, target, pl, get)) {
    return;
  } else if (n->closing) {
    http_respond_error(hr, 503, "shutting_down", "node is shutting down");
  } else if (path_prefix(target, pl, "/key/")) {
    route_key(n, hr, method, target + 5, pl - 5, q, qn);
  } else if (path_is(target, pl, "/keys")) {
    if (get) route_keys(n, hr, q, qn);
    else method_not_allowed(hr, "GET, HEAD");
  } else if (path_is(target, pl, "/pipelines") ||
             path_prefix(target, pl, "/pipelines/")) {
    route_pipelines(n, hr, method, target + 10, pl - 10);
  } else if (path_is(target, pl, "/status")) {
    if (get) route_status(n, hr);
    else method_not_allowed(hr, "GET, HEAD");
  } else if (path_is(target, pl, "/healthz")) {
    static const char ok[] = "{\"status\":\"ok\"}";
    if (get) http_respond(hr, 200, "application/json", ok, sizeof ok - 1);
    else method_not_allowed(hr, "GET, HEAD");
  } else if (path_is(target, pl, "/metrics")) {
    if (get) route_metrics(n, hr);
    else method_not_allowed(hr, "GET, HEAD");
  } else if (path_is(target, pl, "/readyz")) {
    if (get) route_readyz(n, hr);
    else method_not_allowed(hr, "GET, HEAD");
  } else if (path_is(target, pl, "/join")) {
    if (!strcmp(method, "POST")) route_join(n, hr);
    else method_not_allowed(hr, "POST");
  } else if (path_prefix(target, pl, "/members/")) {
    if (!strcmp(method, "DELETE"))
      route_member_delete(n, hr, target + 9, pl - 9);
    else method_not_allowed(hr, "DELETE");
  } else if (path_is(target, pl, "/internal/apply")) {
    if (!strcmp(method, "POST")) route_apply(n, hr);
    else method_not_allowed(hr, "POST");
  } else {
    http_respond_error(hr, 404, "not_found", "no route for %s %.*s", method,
                       (int)WIRE_MIN(pl, 200), target);
  }
}

/* ---- forwarding from the node (C API calls on a follower) ---------------- */

typedef struct fwd {
  wire_node *node;
  node_req *req;
} fwd;

static bool get_le(const char **p, const char *end, uint64_t *v, int bytes) {
  if (end - *p < bytes) return false;
  uint64_t x = 0;
  for (int i = 0; i < bytes; i++)
    x |= (uint64_t)(unsigned char)(*p)[i] << (8 * i);
  *p += bytes;
  *v = x;
  return true;
}

/* An error body from another node: its message, or the raw text. */
static void remote_error(node_req *req, int status, const char *body,
                         size_t len) {
  json_t *doc = json_loadb(body, len, 0, NULL);
  const char *msg = json_string_value(
      json_object_get(json_object_get(doc, "error"), "message"));
  const char *code = json_string_value(
      json_object_get(json_object_get(doc, "error"), "code"));
  int rc = status == 404   ? WIRE_ENOTFOUND
           : status == 413 ? WIRE_ETOOBIG
           : status == 400 ? WIRE_EINVAL
           : status == 504 ? WIRE_ETIMEDOUT
           : code && !strcmp(code, "not_leader") ? WIRE_ENOTLEADER
           : code && !strcmp(code, "no_leader")  ? WIRE_ENOLEADER
           : status == 503                       ? WIRE_ENOTLEADER
                                                 : WIRE_EIO;
  node_req_fail(req, rc, "leader answered %d: %s", status,
                msg ? msg : "(no message)");
  json_decref(doc);
}

static void fwd_entry_cb(void *ud, int rc, int status, const char *body,
                         size_t len, const char *err) {
  fwd *f = ud;
  node_req *req = f->req;
  wire_node *n = f->node;
  core_free(f);
  if (rc == WIRE_EAGAIN && !n->closing) {
    /* Not sent (the leader is gone?): wait for a leader and send again. */
    node_repark(n, req);
    return;
  }
  if (rc) {
    node_req_fail(req, rc == WIRE_ETIMEDOUT ? WIRE_ETIMEDOUT : WIRE_ENOTLEADER,
                  "forwarding to the leader: %s", err ? err : "failed");
    return;
  }
  if (status != 200) {
    remote_error(req, status, body, len);
    return;
  }
  const char *p = body, *end = body + len;
  uint64_t count;
  if (!get_le(&p, end, &count, 4) || (size_t)(end - p) != count * 9) {
    node_req_fail(req, WIRE_EPARSE, "malformed results from the leader");
    return;
  }
  store_result *res = core_calloc(count ? count : 1, sizeof *res);
  if (!res) {
    node_req_fail(req, WIRE_ENOMEM, "out of memory");
    return;
  }
  for (uint64_t i = 0; i < count; i++) {
    uint64_t st = 0, v = 0;
    get_le(&p, end, &st, 1);
    get_le(&p, end, &v, 8);
    res[i].status = (store_status)st;
    res[i].value = (int64_t)v;
  }
  node_req_finish(req, WIRE_OK, res, count, NULL, 0);
  core_free(res);
}

void node_http_forward_entry(wire_node *n, node_req *req) {
  uint64_t lid;
  char leader[64], host[64];
  int port;
  node_leader_http(n, &lid, leader, sizeof leader);
  fwd *f = core_malloc(sizeof *f);
  if (!f) {
    node_req_fail(req, WIRE_ENOMEM, "out of memory");
    return;
  }
  if (!lid || !split_hostport(leader, host, sizeof host, &port)) {
    core_free(f);
    node_req_fail(req, WIRE_ENOLEADER,
                  "leader %llu has no known HTTP address yet",
                  (unsigned long long)lid);
    return;
  }
  f->node = n;
  f->req = req;
  static const char *const fwd_hdr[] = {
      "X-Wire-Forwarded: 1", "Content-Type: application/octet-stream", NULL};
  const char *hdrs[5];
  http_client_request(n->hc, host, port, "POST", "/internal/apply",
                      member_hdrs(n, hdrs, fwd_hdr),
                      req->data, req->data_len,
                      (int)n->cfg.request_timeout_ms, fwd_entry_cb, f);
}

static void fwd_read_cb(void *ud, int rc, int status, const char *body,
                        size_t len, const char *err) {
  fwd *f = ud;
  node_req *req = f->req;
  wire_node *n = f->node;
  core_free(f);
  if (rc == WIRE_EAGAIN && !n->closing)
    node_repark(n, req); /* reads are safe to send again */
  else if (rc)
    node_req_fail(req, rc == WIRE_ETIMEDOUT ? WIRE_ETIMEDOUT : WIRE_ENOTLEADER,
                  "forwarding to the leader: %s", err ? err : "failed");
  else if (status == 200)
    node_req_finish(req, WIRE_OK, NULL, 0, body ? body : "", len);
  else if (status == 404)
    node_req_fail(req, WIRE_ENOTFOUND, "key not found");
  else
    remote_error(req, status, body, len);
}

void node_http_forward_read(wire_node *n, node_req *req) {
  uint64_t lid;
  char leader[64], host[64];
  int port;
  node_leader_http(n, &lid, leader, sizeof leader);
  core_buf path = {0};
  fwd *f = core_malloc(sizeof *f);
  if (!f || core_buf_printf(&path, "/key/")) {
    core_free(f);
    node_req_fail(req, WIRE_ENOMEM, "out of memory");
    return;
  }
  if (!lid || !split_hostport(leader, host, sizeof host, &port)) {
    core_free(f);
    core_buf_free(&path);
    node_req_fail(req, WIRE_ENOLEADER,
                  "leader %llu has no known HTTP address yet",
                  (unsigned long long)lid);
    return;
  }
  http_pct_encode(&path, req->key.ptr, req->key.len);
  core_buf_putc(&path, '\0');
  f->node = n;
  f->req = req;
  static const char *const fwd_hdr[] = {"X-Wire-Forwarded: 1", NULL};
  const char *hdrs[4];
  http_client_request(n->hc, host, port, "GET", path.data,
                      member_hdrs(n, hdrs, fwd_hdr), NULL, 0,
                      (int)n->cfg.request_timeout_ms, fwd_read_cb, f);
  core_buf_free(&path);
}

/* ---- joining -------------------------------------------------------------------- */

typedef struct joiner {
  wire_node *node;
  uv_timer_t timer;
  size_t next; /* index into cfg.join */
  unsigned attempts;
  bool checking; /* restart with data: only compare cluster ids */
} joiner;

static void join_attempt(uv_timer_t *t);

static void join_closed(uv_handle_t *h) { core_free(h->data); }

static void join_stop(joiner *j) {
  j->node->joiner = NULL;
  uv_close((uv_handle_t *)&j->timer, join_closed);
}

static void join_retry(joiner *j, const char *why) {
  wire_node *n = j->node;
  j->attempts++;
  unsigned delay = j->attempts < 5 ? 200u << j->attempts : 5000;
  LOG(n, j->attempts % 5 == 1 ? WIRE_LOG_WARN : WIRE_LOG_DEBUG,
      "join via %s failed (%s); retrying in %u ms", n->cfg.join[j->next], why,
      delay);
  j->next = (j->next + 1) % n->cfg.n_join;
  uv_timer_start(&j->timer, join_attempt, delay, 0);
}

static void join_cb(void *ud, int rc, int status, const char *body,
                    size_t len, const char *err) {
  joiner *j = ud;
  wire_node *n = j->node;
  if (n->closing || !n->joiner) return; /* being torn down */
  if (rc) {
    join_retry(j, err ? err : wire_strerror(rc));
    return;
  }
  json_t *doc = json_loadb(body, len, 0, NULL);
  const char *cid = json_string_value(json_object_get(doc, "cluster_id"));
  const char *msg = json_string_value(
      json_object_get(json_object_get(doc, "error"), "message"));
  if (status != 200 || !cid) {
    char why[300];
    snprintf(why, sizeof why, "HTTP %d: %s", status, msg ? msg : "no cluster id");
    json_decref(doc);
    if (status == 409 || status == 400 || status == 401) {
      join_stop(j);
      node_fatal(n, "cannot join the cluster via %s: %s%s",
                 n->cfg.join[j->next], why,
                 status == 401 ? " (every member needs the same --http-token)"
                               : "");
      return;
    }
    join_retry(j, why);
    return;
  }
  if (n->cluster_id[0] && strcmp(n->cluster_id, cid) != 0) {
    join_stop(j);
    node_fatal(n, "data dir %s belongs to cluster %s, but the members at %s "
                  "are of another cluster (%s): refusing to start; use an "
                  "empty data dir to join that cluster",
               n->cfg.data_dir, n->cluster_id, n->cfg.join[j->next], cid);
    json_decref(doc);
    return;
  }
  if (!n->cluster_id[0]) {
    int wrc = node_identity_set(n, cid);
    if (wrc) {
      join_stop(j);
      node_fatal(n, "cannot record the cluster id in %s: %s", n->cfg.data_dir,
                 wire_strerror(wrc));
      json_decref(doc);
      return;
    }
  }
  LOG(n, WIRE_LOG_INFO, "%s cluster %s via %s",
      j->checking ? "data dir matches" : "joined", cid, n->cfg.join[j->next]);
  json_decref(doc);
  join_stop(j);
}

static void join_attempt(uv_timer_t *t) {
  joiner *j = t->data;
  wire_node *n = j->node;
  if (n->closing) return;
  char host[300];
  int port;
  const char *target = n->cfg.join[j->next];
  if (!split_hostport(target, host, sizeof host, &port)) {
    join_retry(j, "bad address");
    return;
  }
  if (j->checking) {
    /* Only compare the cluster id: /status carries it. */
    const char *hdrs[2];
    http_client_request(n->hc, host, port, "GET", "/status",
                        member_hdrs(n, hdrs, NULL), NULL, 0,
                        (int)n->cfg.request_timeout_ms, join_cb, j);
    return;
  }
  core_buf b = {0};
  core_buf_printf(&b, "{\"id\":%llu,\"raft\":", (unsigned long long)n->cfg.id);
  core_buf_json_string(&b, n->raft_addr, strlen(n->raft_addr));
  core_buf_printf(&b, ",\"http\":");
  core_buf_json_string(&b, n->http_addr, strlen(n->http_addr));
  core_buf_putc(&b, '}');
  static const char *const json_hdr[] = {"Content-Type: application/json",
                                         NULL};
  const char *hdrs[4];
  http_client_request(n->hc, host, port, "POST", "/join",
                      member_hdrs(n, hdrs, json_hdr), b.data, b.len,
                      (int)WIRE_MAX(n->cfg.request_timeout_ms, 10000u), join_cb,
                      j);
  core_buf_free(&b);
}

void node_http_join(wire_node *n, bool check_only) {
  joiner *j = core_calloc(1, sizeof *j);
  if (!j) {
    node_fatal(n, "out of memory");
    return;
  }
  j->node = n;
  j->checking = check_only;
  uv_timer_init(&n->loop, &j->timer);
  j->timer.data = j;
  n->joiner = j;
  uv_timer_start(&j->timer, join_attempt, 0, 0);
}

/* ---- start / close ------------------------------------------------------------------ */

int node_http_start(wire_node *n) {
  http_limits lim;
  http_limits_default(&lim);
  lim.max_body = n->limits.value_max + 64 * 1024;
  char err[300];
  if (n->cfg.http_token) {
    core_buf h = {0};
    if (core_buf_printf(&h, "Authorization: Bearer %s", n->cfg.http_token) ||
        core_buf_putc(&h, '\0'))
      return core_msg(n->errmsg, sizeof n->errmsg, WIRE_ENOMEM,
                      "out of memory");
    n->http_auth = h.data;
  }
  int rc = http_client_new(&n->loop, &n->hc);
  if (rc)
    return core_msg(n->errmsg, sizeof n->errmsg, rc, "HTTP client: out of "
                                                     "memory");
  rc = http_server_start(&n->loop, n->cfg.http_host, n->cfg.http_port, &lim,
                         handler, n, &n->log, &n->http, err, sizeof err);
  if (rc)
    return core_msg(n->errmsg, sizeof n->errmsg, rc, "HTTP API on %s: %s",
                    n->http_addr, err);
  n->http_port = http_server_port(n->http);
  if (n->cfg.http_port == 0) /* advertise the port actually bound */
    snprintf(n->http_addr, sizeof n->http_addr, "%s:%d", n->cfg.http_host,
             n->http_port);
  LOG(n, WIRE_LOG_INFO, "HTTP API on http://%s", n->http_addr);
  leader_probe *p = core_calloc(1, sizeof *p);
  if (!p) return core_msg(n->errmsg, sizeof n->errmsg, WIRE_ENOMEM,
                          "out of memory");
  p->n = n;
  p->refs = 1;
  p->t.data = p;
  uv_timer_init(&n->loop, &p->t);
  uv_timer_start(&p->t, probe_tick, 0, PROBE_MS);
  n->probe = p;
  return node_resp_start(n);
}

void node_http_close(wire_node *n) {
  node_resp_close(n);
  if (n->probe) {
    n->probe->closing = true;
    uv_close((uv_handle_t *)&n->probe->t, probe_timer_closed);
    n->probe = NULL;
  }
  if (n->joiner) join_stop(n->joiner);
  if (n->http) {
    http_server_close(n->http, NULL, NULL);
    n->http = NULL;
  }
  if (n->hc) {
    http_client_close(n->hc);
    n->hc = NULL;
  }
  core_secret_free(n->http_auth);
  n->http_auth = NULL;
}
