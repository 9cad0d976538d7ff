/*
 * Command line of `wire-node serve` (and `recover`): the node options from
 * a YAML file, the environment and flags, with the precedence
 * flag > environment > file > default.  Only the public configuration API
 * (wire/node.h) is used, so every option, its parsing and its messages come
 * from the one option table of lib/node.
 */
#ifndef WIRE_DAEMON_SERVE_ARGS_H
#define WIRE_DAEMON_SERVE_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "wire/node.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Fill `cfg` from the arguments argv[0..argc) (the options only: no
 *  program or subcommand name), in this order, each step overriding the
 *  previous one:
 *    1. the YAML file named by `--config FILE` / `--config=FILE` (the last
 *       one given), else by WIRE_CONFIG in `envp`; none when neither is set;
 *    2. every WIRE_<OPTION> variable of `envp` (NULL-terminated "NAME=value"
 *       strings; NULL: the process environment);
 *    3. the flags, left to right: `--KEY VALUE` or `--KEY=VALUE` for every
 *       option key; a boolean option is given bare (`--bootstrap`) or as
 *       `--bootstrap=true|false`.  A value that itself starts with "--" must
 *       use the `--KEY=VALUE` form.
 *  `--help` is not handled here (see serve_args_wants_help()).
 *
 *  Returns WIRE_OK, or the first error with its message in err[0..errsz):
 *  WIRE_EINVAL (bad flag or environment variable), WIRE_ECONFIG (invalid
 *  file: all its errors, one per line), WIRE_EIO (file unreadable),
 *  WIRE_ENOMEM.  On error `cfg` may hold part of the arguments; discard it.
 *  The options are not checked together: call wire_node_config_validate().
 *  `argv`, `envp` borrowed; `cfg` modified.  Any thread; not reentrant for
 *  one `cfg`. */
int serve_args_parse(int argc, char **argv, char *const *envp,
                     wire_node_config *cfg, char *err, size_t errsz);

/** true when argv[0..argc) asks for help (`--help` or `-h` in the place of
 *  an option, not as the value of one). */
bool serve_args_wants_help(int argc, char **argv);

/** Print one line per option to `f`: flag, argument, description, default
 *  and environment variable, from the option table; then --config. */
void serve_args_usage(FILE *f);

#ifdef __cplusplus
}
#endif
#endif /* WIRE_DAEMON_SERVE_ARGS_H */
