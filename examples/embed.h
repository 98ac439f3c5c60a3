/*
 * embed.h - what the loop examples (embed_glib.c, embed_uv.c) share: the
 * command line, a server exporting "calc", the one blocking call (the
 * lookup) run on a thread of its own, a batch of asynchronous calls, and
 * the connection drain of doc/api.md.  Each example shows only how its
 * loop drives the server and the client connection.
 *
 * usage: PROGRAM [--serve] [--idle MS] [--calls N] ADDRESS
 *
 * The program serves "calc" on ADDRESS, connects to itself, makes N
 * pipelined calls (default 50) through the same loop and prints how many
 * were answered.  Without --serve it then stops; with --serve it prints
 * "serving ADDRESS" (the bound address) and serves until SIGTERM or
 * SIGINT.  --idle closes connections idle for MS milliseconds (a timer
 * of the server that the host loop runs).
 */
#ifndef SHADE_EXAMPLE_EMBED_H
#define SHADE_EXAMPLE_EMBED_H

#include <pthread.h>
#include <stdbool.h>

#include "shade/shade.h"

/* The command line. */
struct embed_opts {
	const char *address;  /* where to listen */
	int idle_ms;          /* idle timeout of connections; 0: none */
	int calls;            /* calls the program makes to itself */
	bool serve;           /* keep serving after them */
};

/* Parse argv into *o: 0, or 2 after printing the usage. */
int embed_parse(int argc, char **argv, struct embed_opts *o);

/* A server on ctx exporting "calc" (add(a, b), plus_one(f) = f() + 1,
 * calling back), listening on o->address; SIGTERM and SIGINT stop it
 * (its fd turns readable and the next step says SHADE_AGAIN). */
shade_status embed_server_new(TALLOC_CTX *ctx, const struct embed_opts *o,
			      shade_server **out, shade_error **err);

/* shade_lookup() waits for its answer, which this thread's loop must
 * serve: it runs on a thread of its own, which writes a byte to `done`
 * when it ends (watch done[0] for input, then embed_lookup_finish). */
struct embed_lookup {
	pthread_t th;         /* the thread */
	bool started;         /* th runs or ran and was not joined */
	int done[2];          /* pipe: the loop watches done[0] */
	shade_conn *c;        /* the connection (blocking until finished) */
	shade_ref *calc;      /* the result */
	shade_error *err;     /* the failure */
	shade_status st;      /* the lookup's status */
};

/* Connect to address (a client on ctx) and start looking up "calc". */
shade_status embed_lookup_start(TALLOC_CTX *ctx, struct embed_lookup *lk,
				const char *address, shade_error **err);

/* Join the thread (done[0] was readable, or to clean up), close the
 * pipe; on success *calc is the reference and the connection is made
 * non-blocking for the loop.  Nothing when not started. */
shade_status embed_lookup_finish(struct embed_lookup *lk, shade_ref **calc,
				 shade_error **err);

/* A batch of calls in flight. */
struct embed_calls {
	shade_future **f;     /* the futures (NULL once taken) */
	int n;                /* their number */
};

/* Start n pipelined calls calc.add(i, i) (flushed when the loop sees
 * the fd writable). */
shade_status embed_calls_start(TALLOC_CTX *ctx, shade_ref *calc,
			       struct embed_calls *k, int n,
			       shade_error **err);

/* SHADE_AGAIN while some call is unanswered; SHADE_OK once all are,
 * each with its expected answer (printed with the loop's name), or the
 * first failure.  Frees the futures once all are answered. */
shade_status embed_calls_check(struct embed_calls *k, const char *loop,
			       shade_error **err);

/* What a loop example holds, whatever its loop. */
struct embed_app {
	TALLOC_CTX *ctx;          /* everything shade allocates */
	struct embed_opts o;      /* the command line */
	shade_server *srv;        /* the server */
	struct embed_lookup lk;   /* the lookup, then the client connection */
	shade_ref *calc;          /* the lookup's result */
	struct embed_calls calls; /* the calls in flight */
	int rc;                   /* exit status */
};

/* All calls were answered: release calc, free the client connection
 * (BYE), then print "serving ADDRESS" with --serve, else stop the
 * server (the next step says SHADE_AGAIN). */
void embed_calls_done(struct embed_app *e);

/* After the loop: free what is left (the calls, calc, the server, whose
 * end a lookup still waiting hears as ConnectionLost, the lookup, ctx);
 * returns e->rc. */
int embed_end(struct embed_app *e);

/* The connection's fd was readable (or writable): process until nothing
 * is left (doc/api.md "Embedding"), then write queued output.
 * SHADE_ERR_CONNECTION_LOST when the peer left. */
shade_status embed_conn_ready(shade_conn *c, shade_error **err);

#endif /* SHADE_EXAMPLE_EMBED_H */
