/*
 * Command line of `wire-node serve`: options from --config FILE (or
 * WIRE_CONFIG), then WIRE_* variables, then flags; each later source
 * overrides the earlier ones, which gives flag > env > file > default.
 *
 * This is the daemon layer; it knows no option by name.  Which keys exist,
 * which of them are boolean, how values parse and what the messages say all
 * come from the option table behind wire_node_config_* (lib/node), so a new
 * option is a flag, an environment variable, a file key and a line of
 * --help at once.  The one name known here is `config`, which is not a node
 * option but says where the file is.
 */
#include "serve_args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

/* One flag of the command line, as tokenised by read_flag(). */
typedef struct flag {
  const char *key; /* into argv, not terminated: klen bytes */
  size_t klen;
  const char *value; /* "true" for a bare boolean flag */
  bool is_config;    /* --config */
  bool bare_bool;    /* a boolean option given without =VALUE */
  int next;          /* index of the following flag */
} flag;

static const wire_node_option_info *option_named(const char *key,
                                                 size_t klen) {
  size_t n = wire_node_config_option_count();
  for (size_t i = 0; i < n; i++) {
    const wire_node_option_info *o = wire_node_config_option(i);
    if (strlen(o->key) == klen && !memcmp(o->key, key, klen)) return o;
  }
  return NULL;
}

/* A separate value may not look like a flag: `--data-dir --id 3` is a
 * forgotten value, not a data dir called "--id". */
static bool is_value(const char *a) { return strncmp(a, "--", 2) != 0; }

/* Read the flag at argv[i] into *f (which holds the previous flag, if
 * any, on entry: zeroed before the first flag).  -1 with a message in err when the command line is malformed;
 * unknown keys are left to the setter, which knows the suggestions. */
static int read_flag(int argc, char **argv, int i, flag *f, char *err,
                     size_t errsz) {
  const char *a = argv[i];
  if (i > 0 && f->bare_bool && (!strcmp(a, "true") || !strcmp(a, "false"))) {
    snprintf(err, errsz, "unexpected argument '%s' (a boolean option is "
             "given as --%.*s or --%.*s=%s)", a, (int)f->klen, f->key,
             (int)f->klen, f->key, a);
    return -1;
  }
  memset(f, 0, sizeof *f);
  if (!is_value(a) && a[2] && a[2] != '=') {
    f->key = a + 2;
    const char *eq = strchr(f->key, '=');
    f->klen = eq ? (size_t)(eq - f->key) : strlen(f->key);
    f->next = i + 1;
    f->is_config = f->klen == 6 && !memcmp(f->key, "config", 6);
    const wire_node_option_info *o =
        f->is_config ? NULL : option_named(f->key, f->klen);
    const char *arg = f->is_config ? "FILE" : o ? o->arg : NULL;
    if (eq) {
      f->value = eq + 1;
    } else if (o && !o->arg) {
      f->value = "true";
      f->bare_bool = true;
    } else if (i + 1 < argc && is_value(argv[i + 1])) {
      f->value = argv[i + 1];
      f->next = i + 2;
    } else if (o || f->is_config) {
      snprintf(err, errsz, "option '--%.*s' needs a value (%s)",
               (int)f->klen, f->key, arg);
      return -1;
    } else {
      f->value = ""; /* unknown key: the setter says so */
    }
    if (f->is_config && !*f->value) {
      snprintf(err, errsz, "option '--config' needs a value (FILE)");
      return -1;
    }
    return 0;
  }
  snprintf(err, errsz, "unexpected argument '%s' (options are --KEY VALUE "
           "or --KEY=VALUE)", a);
  return -1;
}

static const char *env_lookup(char *const *envp, const char *name) {
  size_t n = strlen(name);
  for (; *envp; envp++)
    if (!strncmp(*envp, name, n) && (*envp)[n] == '=') return *envp + n + 1;
  return NULL;
}

static int fail(const wire_node_config *cfg, int rc, char *err, size_t errsz) {
  snprintf(err, errsz, "%s", wire_node_config_error(cfg));
  return rc;
}

int serve_args_parse(int argc, char **argv, char *const *envp,
                     wire_node_config *cfg, char *err, size_t errsz) {
  if (!envp) envp = environ;
  if (errsz) err[0] = '\0';
  flag f = {0};

  /* 1. The file: --config wins over WIRE_CONFIG.  This pass also rejects a
   *    malformed command line before anything is read. */
  const char *file = env_lookup(envp, "WIRE_CONFIG");
  for (int i = 0; i < argc; i = f.next) {
    if (read_flag(argc, argv, i, &f, err, errsz)) return WIRE_EINVAL;
    if (f.is_config) file = f.value;
  }
  if (file && *file) {
    int rc = wire_node_config_load_file(cfg, file);
    if (rc) return fail(cfg, rc, err, errsz);
  }

  /* 2. The environment. */
  int rc = wire_node_config_load_env(cfg, envp);
  if (rc) return fail(cfg, rc, err, errsz);

  /* 3. The flags, left to right: a repeated flag's last value wins. */
  memset(&f, 0, sizeof f);
  for (int i = 0; i < argc; i = f.next) {
    if (read_flag(argc, argv, i, &f, err, errsz)) return WIRE_EINVAL;
    if (f.is_config) continue;
    char key[128];
    if (f.klen >= sizeof key) {
      snprintf(err, errsz, "unknown option '%.60s...'", f.key);
      return WIRE_EINVAL;
    }
    memcpy(key, f.key, f.klen);
    key[f.klen] = '\0';
    rc = wire_node_config_set(cfg, key, f.value);
    if (rc) return fail(cfg, rc, err, errsz);
  }
  return WIRE_OK;
}

bool serve_args_wants_help(int argc, char **argv) {
  char scratch[8];
  flag f = {0};
  for (int i = 0; i < argc;) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return true;
    if (read_flag(argc, argv, i, &f, scratch, sizeof scratch)) {
      memset(&f, 0, sizeof f);
      i++;
    } else {
      i = f.next;
    }
  }
  return false;
}

/* WIRE_<KEY> with '-' as '_', as wire_node_config_load_env() reads it. */
static void env_name(const char *key, char *out, size_t sz) {
  size_t n = 0;
  for (const char *p = "WIRE_"; *p && n + 1 < sz; p++) out[n++] = *p;
  for (; *key && n + 1 < sz; key++)
    out[n++] = *key == '-'                  ? '_'
               : *key >= 'a' && *key <= 'z' ? (char)(*key - 'a' + 'A')
                                            : *key;
  out[n] = '\0';
}

void serve_args_usage(FILE *out) {
  size_t n = wire_node_config_option_count();
  for (size_t i = 0; i < n; i++) {
    const wire_node_option_info *o = wire_node_config_option(i);
    char left[64], env[64];
    snprintf(left, sizeof left, "--%s%s%s", o->key, o->arg ? " " : "",
             o->arg ? o->arg : "");
    env_name(o->key, env, sizeof env);
    fprintf(out, "  %-26s %s (default: %s; env %s)\n", left, o->doc,
            o->def && *o->def ? o->def : "none", env);
  }
  fprintf(out, "  %-26s %s (env WIRE_CONFIG)\n", "--config FILE",
          "YAML file of options, keys as above; read first");
}
