/*
 * Node options: the table behind wire_node_config_* (public, node.h) and the
 * typed copy a node keeps (struct node_config).
 */
#ifndef WIRE_NODE_OPTIONS_H
#define WIRE_NODE_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/log.h"
#include "wire/node.h"

struct node_config {
  uint64_t id;
  char *data_dir;
  char raft_host[256];
  int raft_port;
  char http_host[256];
  int http_port;
  bool bootstrap;
  char **join; /* HOST:PORT strings */
  size_t n_join;
  size_t read_cache; /* bytes of the FSM read cache, 0: off */
  unsigned snapshot_threshold, snapshot_trailing;
  unsigned snapshot_install_timeout_ms;
  unsigned election_timeout_ms, heartbeat_timeout_ms, request_timeout_ms;
  size_t value_max;
  wire_log_level log_level;
  char *pipeline; /* file to submit at start, NULL: none */
  char *resp_password; /* AUTH password of the RESP server, NULL: none */
  char *http_token;    /* bearer token of the HTTP API, NULL: none */
  unsigned resp_max_clients; /* RESP connections at once */
  unsigned checkpoint_interval_ms, checkpoint_records;
  bool resp_on; /* RESP server (node_resp.c) */
  char resp_host[256];
  int resp_port;
};

/* Typed copy of a validated configuration; free with node_config_free. */
int node_config_copy(const wire_node_config *cfg, struct node_config *out);
void node_config_free(struct node_config *c);

/* HOST:PORT ([v6]:port allowed) into host and port.  false when malformed. */
bool node_split_hostport(const char *s, char *host, size_t hsz, int *port);

#endif /* WIRE_NODE_OPTIONS_H */
