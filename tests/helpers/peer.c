/*
 * peer.c - see peer.h.
 */
#include <string.h>

#include "peer.h"

/* Server thread: serve until the client says BYE (bounded). */
static void *serve_main(void *arg)
{
	tp_peer *pp = arg;
	shade_error *err = NULL;

	pp->served = shade_conn_serve(pp->server, 60000, &err);
	shade_error_free(err);
	return NULL;
}

int tp_start(tp_peer *pp, TALLOC_CTX *mem_ctx, shade_registry *reg,
	     const shade_conn_opts *sopts, const shade_conn_opts *copts)
{
	shade_transport *a, *b;
	shade_conn_opts so;
	shade_error *err = NULL;

	memset(pp, 0, sizeof(*pp));
	pp->ctx = talloc_new(mem_ctx);
	if (pp->ctx == NULL ||
	    shade_transport_pair(pp->ctx, NULL, &a, &b, &err) != SHADE_OK)
		goto fail;
	if (sopts != NULL)
		so = *sopts;
	else
		memset(&so, 0, sizeof(so));
	so.names = reg;
	if (shade_conn_new(pp->ctx, b, true, &so, &pp->server, &err) !=
	    SHADE_OK)
		goto fail;
	if (shade_conn_new(pp->ctx, a, false, copts, &pp->client, &err) !=
	    SHADE_OK)
		goto fail;
	if (tu_thread_start(&pp->th, serve_main, pp) != 0)
		goto fail;
	return 0;
fail:
	shade_error_free(err);
	talloc_free(pp->ctx);
	pp->ctx = NULL;
	return -1;
}

void tp_stop(tp_peer *pp)
{
	if (pp->ctx == NULL)
		return;
	shade_conn_close(pp->client);
	if (pp->th.started)
		tu_thread_join(&pp->th, 30000, NULL);
	talloc_free(pp->ctx);
	pp->ctx = NULL;
}

shade_conn_stats tp_stats(shade_conn *c)
{
	shade_conn_stats s;

	shade_conn_stats_get(c, &s);
	return s;
}

