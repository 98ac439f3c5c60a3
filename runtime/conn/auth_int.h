/*
 * auth_int.h - the authentication exchange of HELLO (doc/protocol.md
 * §3.7, doc/security.md) and what a connection knows of its peer.
 *
 * auth.c computes and checks the proofs and sends AUTH messages; it
 * calls send.c (frames, refusals) and msg.c only.  route.c feeds it the
 * AUTH messages it reads, lifetime.c sets a connection up with it.
 */
#ifndef SHADE_AUTH_INT_H
#define SHADE_AUTH_INT_H

#include "shade/conn.h"
#include "shade/error.h"
#include "conn/msg_int.h"

struct shade_conn;

/* Take the authentication options of opts and fill c's identity from
 * its transport: its kind, and on a connecting side the credentials
 * (SO_PEERCRED on a Unix socket); an accepting side reads those at the
 * peer's HELLO (auth_hello), so a peer that never says HELLO costs no
 * system call for them.  SHADE_ERR_INVALID for a
 * key outside the limits of shade/security.h. */
SHADE_INTERNAL shade_status auth_init(struct shade_conn *c,
				      const shade_conn_opts *opts,
				      shade_error **err);

/* Connecting side, right after its HELLO: send AUTH step 0 (our key's
 * name and a fresh nonce). */
SHADE_INTERNAL shade_status auth_start(struct shade_conn *c,
				       shade_error **err);

/* Accepting side: the peer's HELLO announced `features`; false when it
 * was refused (PermissionDenied sent, c ended). */
SHADE_INTERNAL bool auth_hello(struct shade_conn *c, uint64_t features);

/* Handle an AUTH message m (cursor at its first field): accepting side,
 * steps 0 and 2; connecting side, steps 1 and 3.  A failure refuses the
 * peer (ERROR id 0, PermissionDenied or ProtocolError) and ends c. */
SHADE_INTERNAL void auth_step(struct shade_conn *c, struct msg *m);

#endif /* SHADE_AUTH_INT_H */
