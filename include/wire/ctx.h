/*
 * libwire context: the registry of component types and the log sink.
 *
 * A context replaces what other libraries keep in globals.  It holds the
 * source, sink and operation types that pipelines may name (the built-in ones
 * are registered by wire_ctx_new()), and the log callback.  Pipelines (and,
 * later, nodes) are created against a context, which must outlive them.
 *
 * Lifecycle:
 *   1. wire_ctx_new()
 *   2. optional: wire_ctx_set_log(), wire_ctx_register_*()
 *   3. create and run pipelines
 *   4. free the pipelines, then wire_ctx_free()
 *
 * Threads: configure a context (step 2) before any pipeline is created from
 * it; after that it is read-only and may be shared by any number of threads.
 */
#ifndef WIRE_CTX_H
#define WIRE_CTX_H

#include "common.h"
#include "log.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wire_ctx wire_ctx;
struct wire_source_vtable;
struct wire_sink_vtable;
struct wire_op_vtable;
struct wire_option;

/** Create a context with the built-in types registered.  On success stores
 *  the new context in *out and returns WIRE_OK; otherwise returns
 *  WIRE_ENOMEM and stores NULL. */
WIRE_API int wire_ctx_new(wire_ctx **out);

/** Free a context.  Accepts NULL.  All pipelines created from it must have
 *  been freed. */
WIRE_API void wire_ctx_free(wire_ctx *ctx);

/** Install a log callback receiving messages at `level` or more severe.  A
 *  NULL `fn` restores the default (stderr).  `user` is passed to `fn`. */
WIRE_API void wire_ctx_set_log(wire_ctx *ctx, wire_log_level level,
                               wire_log_fn fn, void *user);

/** Register a custom source, sink or operation type.  The vtable is borrowed
 *  and must outlive the context (a static const struct is typical).  `user`
 *  is handed back to the type's methods through wire_config_user() (may be
 *  NULL).  Fails with WIRE_EINVAL when the version is 0 or newer than this
 *  library knows, a required method or the name is missing, and
 *  WIRE_EEXISTS when a type of that kind already has the name.  The reason
 *  is in wire_ctx_errmsg(). */
WIRE_API int wire_ctx_register_source(wire_ctx *ctx,
                                      const struct wire_source_vtable *vt,
                                      void *user);
WIRE_API int wire_ctx_register_sink(wire_ctx *ctx,
                                    const struct wire_sink_vtable *vt,
                                    void *user);
WIRE_API int wire_ctx_register_op(wire_ctx *ctx,
                                  const struct wire_op_vtable *vt, void *user);

/** Registered types of a kind (WIRE_NODE_SOURCE, WIRE_NODE_OP,
 *  WIRE_NODE_SINK; values of enum wire_node_kind in pipeline.h): how many,
 *  and the name, description and option table of type i (borrowed from the
 *  vtable).  Returns WIRE_EINVAL when i is out of range.  Used to generate
 *  the option reference. */
WIRE_API size_t wire_ctx_type_count(const wire_ctx *ctx, int kind);
WIRE_API int wire_ctx_type_info(const wire_ctx *ctx, int kind, size_t i,
                                const char **name, const char **doc,
                                const struct wire_option **options);

/** The last error message of the context (never NULL; "" when none). */
WIRE_API const char *wire_ctx_errmsg(const wire_ctx *ctx);

#ifdef __cplusplus
}
#endif
#endif /* WIRE_CTX_H */
