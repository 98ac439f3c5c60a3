/*
 * peer.h - a client and a server connection over a socketpair, the server
 * side served by its own thread, for the connection, proxy and object
 * suites; and a whole server whose loop runs on a thread of the test
 * (tp_server), for the server, wire, protocol, trace, command-line and
 * scale suites.  Every wait is bounded.
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

/* A server whose loop a thread of the test runs.  A talloc block the
 * case holds by pointer: after an assertion ends a case early the loop
 * thread and the clean-up still use it, which a struct on the case's
 * stack would not survive. */
typedef struct tp_server {
	shade_server *s;      /* the server (a child of this block) */
	char *dir;            /* a fresh directory of its own (tu_mkdtemp) */
	char *path;           /* the Unix socket tp_server_listen made in
			       * dir, or NULL */
	const char *addr;     /* its first listener's address, or NULL */
	tu_thread th;         /* runs the loop, once tp_server_run started
			       * it */
	shade_status ran;     /* what shade_server_run returned */
} tp_server;

/* A server on mem_ctx with opts (NULL: the defaults) and a fresh
 * directory; the case exports its objects, then calls tp_server_listen.
 * Fails the case when it cannot be made. */
tp_server *tp_server_new(TALLOC_CTX *mem_ctx, const shade_server_opts *opts);

/* Listen on address, or on unix:DIR/s.sock when address is NULL (then
 * path is that socket); addr is the first listener's address. */
void tp_server_listen(tp_server *v, const char *address);

/* Run v's loop on a thread until tp_server_stop.  If an assertion ends
 * the case first, its teardown stops the thread and frees v. */
void tp_server_run(tp_server *v);

/* Stop v's loop thread if it runs (the loop must have ended SHADE_OK)
 * and free v. */
void tp_server_stop(tp_server *v);

/* In a child process (tu_fork_ready): serve s until SIGTERM stops it,
 * having said `line` on ready once SIGTERM is handled; on a failure,
 * print it to stderr after `who`.  Says "failed" on ready at the end
 * either way (the parent stops waiting).  0 on a clean stop, else 1. */
int tp_serve_child(shade_server *s, tu_ready *ready, const char *line,
		   const char *who);

#endif /* SHADE_TEST_PEER_H */
