/*
 * Helpers shared by the built-in connectors (connector layer): resume
 * positions are small JSON objects parsed with jansson once at open, and
 * pacing sleeps on the monotonic clock.
 */
#include "conn_util.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static json_t *load_object(const char *text) {
  json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
  if (j && !json_is_object(j)) {
    json_decref(j);
    return NULL;
  }
  return j;
}

int conn_pos_uint(const char *json, const char *key, uint64_t *out) {
  json_t *j = load_object(json);
  if (!j) return -1;
  json_t *v = json_object_get(j, key);
  int rc = 0;
  if (v) {
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
      *out = (uint64_t)json_integer_value(v);
      rc = 1;
    } else {
      rc = -1;
    }
  }
  json_decref(j);
  return rc;
}

int conn_pos_string(const char *json, const char *key, char *out, size_t len) {
  json_t *j = load_object(json);
  if (!j) return -1;
  json_t *v = json_object_get(j, key);
  int rc = 0;
  if (v) {
    if (json_is_string(v)) {
      snprintf(out, len, "%s", json_string_value(v));
      rc = 1;
    } else {
      rc = -1;
    }
  }
  json_decref(j);
  return rc;
}

int64_t conn_opt_int(const wire_config *cfg, const char *key, int64_t def) {
  int64_t v;
  return wire_config_int(cfg, key, &v) == 0 ? v : def;
}

bool conn_opt_bool(const wire_config *cfg, const char *key, bool def) {
  bool v;
  return wire_config_bool(cfg, key, &v) == 0 ? v : def;
}

const char *conn_opt_string(const wire_config *cfg, const char *key,
                            const char *def) {
  const char *v;
  return wire_config_string(cfg, key, &v) == 0 ? v : def;
}

void conn_sleep_until(int64_t until_ns) {
  struct timespec ts = {.tv_sec = until_ns / 1000000000,
                        .tv_nsec = until_ns % 1000000000};
  if (until_ns <= 0) return;
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}
