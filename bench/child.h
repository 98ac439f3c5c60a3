/*
 * bench/child.h - the server child the worker-pool, peers and embedding
 * benchmarks start (bench/pool.c, peers.c, embed.c): a process of its
 * own, forked before any thread, serving one object with add(a, b) (and
 * one more method when asked) on one address, stopped by SIGTERM.
 * Header-only: each program includes it once.
 */
#ifndef SHADE_BENCH_CHILD_H
#define SHADE_BENCH_CHILD_H

#include <signal.h>
#include <unistd.h>

#include <talloc.h>

#include "shade/shade.h"

/* The child's server, stopped by SIGTERM. */
static shade_server *bench_child_srv;

/* SIGTERM in the child: stop the loop (a step then says SHADE_AGAIN). */
static void bench_child_term(int sig)
{
	(void)sig;
	if (bench_child_srv != NULL)
		shade_server_stop(bench_child_srv);
}

/* add(a, b). */
static shade_status bench_child_add(shade_call_ctx *call)
{
	int64_t a = shade_value_as_int(shade_seq_at(call->args, 0));
	int64_t b = shade_value_as_int(shade_seq_at(call->args, 1));

	call->result = shade_int(call->mem, a + b);
	return SHADE_OK;
}

/* Fork a server child with options so (NULL: the defaults) listening on
 * address and exporting `name`, an object with add() and, when extra_fn
 * is not NULL, extra_name; drive (NULL: shade_server_run) turns it.
 * Returns the child's pid in the parent; the child exits 2 when it could
 * not start. */
static pid_t bench_child_start(const char *address,
			       const shade_server_opts *so, const char *name,
			       const char *extra_name, shade_method_fn extra_fn,
			       void (*drive)(shade_server *s))
{
	pid_t pid = fork();
	shade_ref *o;

	if (pid != 0)
		return pid;
	signal(SIGTERM, bench_child_term);
	if (shade_server_new(NULL, so, &bench_child_srv, NULL) != SHADE_OK ||
	    shade_object_new("bench.Calc", NULL, &o, NULL) != SHADE_OK ||
	    shade_object_add_method(o, "add", bench_child_add, NULL, false,
				    NULL) != SHADE_OK ||
	    (extra_fn != NULL &&
	     shade_object_add_method(o, extra_name, extra_fn, NULL, false,
				     NULL) != SHADE_OK) ||
	    shade_server_export(bench_child_srv, name, o, NULL) != SHADE_OK ||
	    shade_server_listen(bench_child_srv, address, NULL) != SHADE_OK)
		_exit(2);
	shade_ref_release(o);
	alarm(600); /* never outlives a lost parent for long */
	if (drive != NULL)
		drive(bench_child_srv);
	else
		shade_server_run(bench_child_srv, NULL);
	talloc_free(bench_child_srv);
	_exit(0);
}

#endif /* SHADE_BENCH_CHILD_H */
