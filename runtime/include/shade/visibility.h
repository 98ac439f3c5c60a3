/*
 * shade/visibility.h - symbol visibility macros.
 *
 * SHADE_API marks the public interface: exported from libshade.so.
 * SHADE_INTERNAL marks functions shared between the runtime's modules
 * but not part of the API: hidden in the shared library.
 */
#ifndef SHADE_VISIBILITY_H
#define SHADE_VISIBILITY_H

#if defined(__GNUC__) && __GNUC__ >= 4
#define SHADE_API __attribute__((visibility("default")))
#define SHADE_INTERNAL __attribute__((visibility("hidden")))
#else
#define SHADE_API
#define SHADE_INTERNAL
#endif

#endif /* SHADE_VISIBILITY_H */
