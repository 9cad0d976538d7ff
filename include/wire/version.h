/*
 * libwire version.
 *
 * The macros give the version of the headers a program was compiled with;
 * wire_version() gives the version of the library it runs with.
 */
#ifndef WIRE_VERSION_H
#define WIRE_VERSION_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WIRE_VERSION_MAJOR 0
#define WIRE_VERSION_MINOR 1
#define WIRE_VERSION_PATCH 0
/** Encoded as MAJOR * 10000 + MINOR * 100 + PATCH. */
#define WIRE_VERSION_NUMBER \
  (WIRE_VERSION_MAJOR * 10000 + WIRE_VERSION_MINOR * 100 + WIRE_VERSION_PATCH)

/** Version of the running library, encoded as WIRE_VERSION_NUMBER.
 *  Any thread. */
WIRE_API int wire_version(void);

/** Version of the running library as "MAJOR.MINOR.PATCH" (static string).
 *  Any thread. */
WIRE_API const char *wire_version_string(void);

#ifdef __cplusplus
}
#endif
#endif /* WIRE_VERSION_H */
