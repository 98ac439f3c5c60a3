/*
 * idlc/base/attr.h - compiler attributes the whole compiler uses.
 */
#ifndef IDLC_BASE_ATTR_H
#define IDLC_BASE_ATTR_H


#if defined(__GNUC__)
#define IDLC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define IDLC_PRINTF(f, a)
#endif

#endif /* IDLC_BASE_ATTR_H */
