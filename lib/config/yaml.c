/*
 * YAML to a tree of values with positions (config layer).  libyaml's event
 * parser builds a small tree of scalars, sequences and mappings, each with
 * its 1-based line and column, so that every validation message can point at
 * the offending node.  Anchors/aliases and duplicate keys are refused.
 */
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "config/spec.h"
#include "core/core.h"

static yval *node_new(yval_kind kind, const yaml_mark_t *m) {
  yval *v = core_calloc(1, sizeof *v);
  if (!v) return NULL;
  v->kind = kind;
  v->line = (int)m->line + 1;
  v->col = (int)m->column + 1;
  return v;
}

void yval_free(yval *v) {
  if (!v) return;
  for (size_t i = 0; i < v->n; i++) {
    yval_free(v->items[i]);
    if (v->keys) yval_free(v->keys[i]);
  }
  core_free(v->items);
  core_free(v->keys);
  core_free(v->str);
  core_free(v);
}

static int push_child(yval *parent, yval *key, yval *val) {
  yval **items = core_realloc(parent->items, (parent->n + 1) * sizeof *items);
  if (!items) return -1;
  parent->items = items;
  if (parent->kind == Y_MAP) {
    yval **keys = core_realloc(parent->keys, (parent->n + 1) * sizeof *keys);
    if (!keys) return -1;
    parent->keys = keys;
    keys[parent->n] = key;
  }
  items[parent->n++] = val;
  return 0;
}

typedef struct frame {
  yval *node;
  yval *pending_key; /* maps: key waiting for its value */
} frame;

/* Parse state: an explicit stack (no recursion, so deep input cannot
 * overflow the C stack). */
yval *yval_parse(const char *text, size_t len, const char *file,
                 diag_list *d) {
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) {
    diag_add(d, file, 0, 0, "out of memory");
    return NULL;
  }
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  frame *stack = NULL;
  size_t depth = 0, cap = 0;
  yval *root = NULL;
  bool done = false, failed = false;
  while (!done && !failed) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&parser, &ev)) {
      diag_add(d, file, (int)parser.problem_mark.line + 1,
               (int)parser.problem_mark.column + 1, "YAML syntax error: %s%s%s",
               parser.problem ? parser.problem : "invalid YAML",
               parser.context ? " " : "", parser.context ? parser.context : "");
      failed = true;
      break;
    }
    yval *v = NULL;
    switch (ev.type) {
      case YAML_DOCUMENT_END_EVENT:
      case YAML_STREAM_END_EVENT:
        done = true; /* only the first document */
        break;
      case YAML_ALIAS_EVENT:
        diag_add(d, file, (int)ev.start_mark.line + 1,
                 (int)ev.start_mark.column + 1,
                 "YAML aliases are not supported in pipeline definitions");
        failed = true;
        break;
      case YAML_SCALAR_EVENT:
        if (ev.data.scalar.anchor) {
          diag_add(d, file, (int)ev.start_mark.line + 1,
                   (int)ev.start_mark.column + 1,
                   "YAML anchors are not supported in pipeline definitions");
          failed = true;
          break;
        }
        v = node_new(Y_SCALAR, &ev.start_mark);
        if (v) {
          v->str = core_strndup((const char *)ev.data.scalar.value,
                                ev.data.scalar.length);
          v->len = ev.data.scalar.length;
          v->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
          if (!v->str) {
            yval_free(v);
            v = NULL;
          }
        }
        if (!v) failed = true;
        break;
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        bool anchor = ev.type == YAML_SEQUENCE_START_EVENT
                          ? ev.data.sequence_start.anchor != NULL
                          : ev.data.mapping_start.anchor != NULL;
        if (anchor) {
          diag_add(d, file, (int)ev.start_mark.line + 1,
                   (int)ev.start_mark.column + 1,
                   "YAML anchors are not supported in pipeline definitions");
          failed = true;
          break;
        }
        yval *c = node_new(ev.type == YAML_SEQUENCE_START_EVENT ? Y_SEQ : Y_MAP,
                           &ev.start_mark);
        if (!c || depth >= 256) {
          if (c)
            diag_add(d, file, c->line, c->col, "nesting deeper than 256 levels");
          yval_free(c);
          failed = true;
          break;
        }
        if (depth == cap) {
          size_t ncap = cap ? cap * 2 : 16;
          frame *s = core_realloc(stack, ncap * sizeof *s);
          if (!s) {
            yval_free(c);
            failed = true;
            break;
          }
          stack = s;
          cap = ncap;
        }
        stack[depth++] = (frame){c, NULL};
        break;
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT:
        v = stack[--depth].node;
        break;
      default:
        break;
    }
    if (!ev.type || failed) {
      yaml_event_delete(&ev);
      yval_free(v);
      break;
    }
    yaml_event_delete(&ev);
    if (!v) continue;
    /* Attach the completed value v to its parent. */
    if (depth == 0) {
      root = v;
      continue;
    }
    frame *f = &stack[depth - 1];
    if (f->node->kind == Y_SEQ) {
      if (push_child(f->node, NULL, v)) {
        yval_free(v);
        failed = true;
      }
    } else if (!f->pending_key) {
      if (v->kind != Y_SCALAR) {
        diag_add(d, file, v->line, v->col, "mapping keys must be scalars");
        yval_free(v);
        failed = true;
      } else {
        for (size_t i = 0; i < f->node->n; i++) {
          if (strcmp(f->node->keys[i]->str, v->str) == 0) {
            diag_add(d, file, v->line, v->col,
                     "duplicate key '%s' (first at line %d)", v->str,
                     f->node->keys[i]->line);
            break;
          }
        }
        f->pending_key = v;
      }
    } else {
      if (push_child(f->node, f->pending_key, v)) {
        yval_free(v);
        yval_free(f->pending_key);
        failed = true;
      }
      f->pending_key = NULL;
    }
  }
  if (failed) {
    for (size_t i = 0; i < depth; i++) {
      yval_free(stack[i].pending_key);
      yval_free(stack[i].node);
    }
    /* Unfinished containers were not attached to their parents, so freeing
     * every frame releases everything; root is only set when complete. */
    yval_free(root);
    root = NULL;
    if (d->n == 0) diag_add(d, file, 0, 0, "out of memory");
  }
  core_free(stack);
  yaml_parser_delete(&parser);
  if (!root && !failed) diag_add(d, file, 1, 1, "empty pipeline definition");
  return root;
}

const yval *yval_get(const yval *map, const char *key) {
  if (!map || map->kind != Y_MAP) return NULL;
  for (size_t i = map->n; i-- > 0;)
    if (strcmp(map->keys[i]->str, key) == 0) return map->items[i];
  return NULL;
}

const char *yval_kind_name(const yval *v) {
  if (!v) return "nothing";
  return v->kind == Y_SCALAR ? "a scalar" : v->kind == Y_SEQ ? "a list"
                                                             : "a mapping";
}

/* YAML 1.2 core schema scalars that stay JSON literals. */
static bool plain_is_literal(const yval *v) {
  const char *s = v->str;
  if (!v->plain) return false;
  if (!strcmp(s, "true") || !strcmp(s, "false") || !strcmp(s, "null"))
    return true;
  /* JSON number grammar */
  const char *p = s;
  if (*p == '-') p++;
  if (*p == '0') {
    p++;
  } else if (*p >= '1' && *p <= '9') {
    while (*p >= '0' && *p <= '9') p++;
  } else {
    return false;
  }
  if (*p == '.') {
    p++;
    if (!(*p >= '0' && *p <= '9')) return false;
    while (*p >= '0' && *p <= '9') p++;
  }
  if (*p == 'e' || *p == 'E') {
    p++;
    if (*p == '+' || *p == '-') p++;
    if (!(*p >= '0' && *p <= '9')) return false;
    while (*p >= '0' && *p <= '9') p++;
  }
  return *p == '\0';
}

static int to_json(const yval *v, core_buf *b) {
  switch (v->kind) {
    case Y_SCALAR:
      if (v->plain && (!strcmp(v->str, "~") || v->len == 0))
        return core_buf_append(b, "null", 4);
      if (plain_is_literal(v)) return core_buf_append(b, v->str, v->len);
      return core_buf_json_string(b, v->str, v->len);
    case Y_SEQ:
      if (core_buf_putc(b, '[')) return WIRE_ENOMEM;
      for (size_t i = 0; i < v->n; i++) {
        if (i && core_buf_putc(b, ',')) return WIRE_ENOMEM;
        if (to_json(v->items[i], b)) return WIRE_ENOMEM;
      }
      return core_buf_putc(b, ']');
    case Y_MAP:
      if (core_buf_putc(b, '{')) return WIRE_ENOMEM;
      for (size_t i = 0; i < v->n; i++) {
        if (i && core_buf_putc(b, ',')) return WIRE_ENOMEM;
        if (core_buf_json_string(b, v->keys[i]->str, v->keys[i]->len) ||
            core_buf_putc(b, ':') || to_json(v->items[i], b))
          return WIRE_ENOMEM;
      }
      return core_buf_putc(b, '}');
  }
  return WIRE_EINVAL;
}

char *yval_to_json(const yval *v) {
  core_buf b = {0};
  if (to_json(v, &b) != WIRE_OK) {
    core_buf_free(&b);
    return NULL;
  }
  return b.data;
}
