/*
 * refs_int.h - references across a connection (refs.c): the codec hooks,
 * export lookups and RELEASE.
 */
#ifndef SHADE_REFS_INT_H
#define SHADE_REFS_INT_H

#include "shade/cbor.h"
#include "shade/error.h"
#include "shade/visibility.h"

struct shade_conn;
struct shade_ref;
struct msg;

/* Install the reference hooks in c's codec options (udata: c). */
SHADE_INTERNAL void refs_init(struct shade_conn *c);

/* Read an export id at d and find that export's object (retained) in
 * *out; `code` (NotFound for targets, ProtocolError for tag 201) when
 * there is none. */
SHADE_INTERNAL shade_status refs_read_export(struct shade_conn *c,
					     shade_cbor_dec *d,
					     shade_status code,
					     struct shade_ref **out,
					     shade_error **err);

/* Apply a RELEASE message m: subtract counts; drop exports reaching
 * zero (their objects released after mu). */
SHADE_INTERNAL void refs_apply_release(struct shade_conn *c, struct msg *m);

#endif /* SHADE_REFS_INT_H */
