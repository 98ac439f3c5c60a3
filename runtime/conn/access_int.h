/*
 * access_int.h - access control of served requests (doc/security.md):
 * the read-only exports of the registry and the connection's access
 * hook (shade/security.h).  serve.c asks before anything runs.
 */
#ifndef SHADE_ACCESS_INT_H
#define SHADE_ACCESS_INT_H

#include <stdbool.h>

#include "shade/error.h"
#include "shade/object.h"

struct shade_conn;

/* True when c's peer may LOOKUP name (and see it in NAMES). */
SHADE_INTERNAL bool access_lookup(struct shade_conn *c, const char *name);

/* SHADE_OK when c's peer may perform wire request op on target (member:
 * the member's name for INVOKE/GETATTR/SETATTR, else NULL; method: that
 * member is a method), else PermissionDenied in *err. */
SHADE_INTERNAL shade_status access_check(struct shade_conn *c, unsigned op,
					 shade_ref *target, const char *member,
					 bool method, shade_error **err);

#endif /* SHADE_ACCESS_INT_H */
