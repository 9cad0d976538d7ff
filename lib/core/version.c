/*
 * Library version, as compiled.
 */
#include "wire/version.h"

#define WIRE_STR2(x) #x
#define WIRE_STR(x) WIRE_STR2(x)

WIRE_API int wire_version(void) { return WIRE_VERSION_NUMBER; }

WIRE_API const char *wire_version_string(void) {
  return WIRE_STR(WIRE_VERSION_MAJOR) "." WIRE_STR(
      WIRE_VERSION_MINOR) "." WIRE_STR(WIRE_VERSION_PATCH);
}
