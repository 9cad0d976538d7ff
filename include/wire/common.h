/*
 * libwire: common definitions shared by every public header.
 *
 * Visibility: the library is built with -fvisibility=hidden and exports only
 * what is marked WIRE_API.  Every public header is C11 and C++-safe.
 */
#ifndef WIRE_COMMON_H
#define WIRE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define WIRE_API
#elif defined(WIRE_BUILDING) && defined(__GNUC__)
#define WIRE_API __attribute__((visibility("default")))
#else
#define WIRE_API
#endif

#if defined(__GNUC__)
#define WIRE_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define WIRE_PRINTF(f, a)
#endif

#endif /* WIRE_COMMON_H */
