/*
 * peer.h - a client and a server connection over a socketpair, the server
 * side served by its own thread, for the connection, proxy and object
 * suites.  Every wait is bounded.
 */
#ifndef SHADE_TEST_PEER_H
#define SHADE_TEST_PEER_H

#include "shade/shade.h"
#include "testutil.h"

/* Two connected peers. */
typedef struct tp_peer {
	TALLOC_CTX *ctx;          /* owns both connections */
	shade_conn *client;       /* the connecting side (this thread) */
	shade_conn *server;       /* the accepting side (served by th) */
	tu_thread th;             /* serves `server` until BYE */
	shade_status served;      /* what shade_conn_serve returned */
} tp_peer;

/* Connect a client to a server exporting reg's names; the server is
 * served by a thread.  sopts/copts may be NULL.  Returns 0 or -1. */
int tp_start(tp_peer *pp, TALLOC_CTX *mem_ctx, shade_registry *reg,
	     const shade_conn_opts *sopts, const shade_conn_opts *copts);

/* Close the client (BYE), join the server thread, free both. */
void tp_stop(tp_peer *pp);

/* Client stats (shortcut). */
shade_conn_stats tp_stats(shade_conn *c);

#endif /* SHADE_TEST_PEER_H */
