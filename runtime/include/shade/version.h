/*
 * shade/version.h - the version of libshade.
 *
 * The macros give the version a program was compiled against (the one
 * place the version is written: the Makefile, shade.pc and the CMake
 * package read it from here); shade_version() gives the version of the
 * library it runs with.  The soname follows the major number
 * (libshade.so.0); minor releases only add to the API.
 */
#ifndef SHADE_VERSION_H
#define SHADE_VERSION_H

#include "shade/visibility.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Incompatible API or ABI changes. */
#define SHADE_VERSION_MAJOR 0
/* Additions that keep the API and ABI. */
#define SHADE_VERSION_MINOR 1
/* Fixes. */
#define SHADE_VERSION_PATCH 0

/* Expand, then quote (for SHADE_VERSION_STRING). */
#define SHADE_VERSION_STR_(x) #x
/* Quote the expansion of x. */
#define SHADE_VERSION_XSTR_(x) SHADE_VERSION_STR_(x)

/* "MAJOR.MINOR.PATCH". */
#define SHADE_VERSION_STRING                          \
	SHADE_VERSION_XSTR_(SHADE_VERSION_MAJOR) "."  \
	SHADE_VERSION_XSTR_(SHADE_VERSION_MINOR) "."  \
	SHADE_VERSION_XSTR_(SHADE_VERSION_PATCH)

/* One number to compare in #if: 0x00MMmmpp. */
#define SHADE_VERSION_NUMBER                                       \
	((SHADE_VERSION_MAJOR << 16) | (SHADE_VERSION_MINOR << 8) | \
	 SHADE_VERSION_PATCH)

/* The version of the library linked at run time, "MAJOR.MINOR.PATCH"
 * (static storage, never NULL); compare with SHADE_VERSION_STRING to see
 * whether the program runs with the library it was built against. */
SHADE_API const char *shade_version(void);

#ifdef __cplusplus
}
#endif

#endif /* SHADE_VERSION_H */
