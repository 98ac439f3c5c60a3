/*
 * lifetime.c - a connection's life: creating it (options, tables, hooks,
 * the client's HELLO), closing it (BYE, then the end in lost.c), its
 * destructor, and the getters and setters of the public API.
 *
 * Lock order: takes `mu` alone (the BYE flag, statistics, the timeout);
 * the BYE is sent (send_mu) after mu is released.
 */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <talloc.h>

#include "shade/conn.h"
#include "shade/transport.h"
#include "base/log_int.h"
#include "base/misuse_int.h"
#include "conn/auth_int.h"
#include "conn/conn_int.h"
#include "conn/refs_int.h"
#include "conn/route_int.h"
#include "conn/send_int.h"
#include "transport/transport_int.h"

/* Default FORCE chunk when iterating, and outstanding request limit. */
#define DEFAULT_ITER_CHUNK 65536u
#define DEFAULT_MAX_PENDING 65536u
#define DEFAULT_MAX_TABLE ((size_t)1 << 24)

/* Destructor: say BYE, end the connection, free the locks. */
static int conn_destructor(shade_conn *c)
{
	if (!c->mu_ready)
		return 0;
	shade_conn_close(c);
	/* Made without a parent, as threads make them outside mu. */
	TALLOC_FREE(c->outb);
	TALLOC_FREE(c->rbuf);
	TALLOC_FREE(c->scratch);
	queue_clear(&c->unnested); /* what came after the end, if any */
	item_cache_free(&c->items);
	pthread_mutex_destroy(&c->mu);
	pthread_mutex_destroy(&c->send_mu);
	pthread_cond_destroy(&c->cv);
	return 0;
}

void shade_conn_close(shade_conn *c)
{
	shade_buf *b;
	bool send_bye;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	send_bye = c->open && !c->bye_sent;
	c->bye_sent = true;
	pthread_mutex_unlock(&c->mu);
	if (send_bye) {
		/* On a non-blocking transport what the socket does not take
		 * now is dropped: a peer that does not read cannot hold the
		 * closing side up. */
		b = shade_buf_new(NULL, 8);
		if (b != NULL) {
			msg_begin(b, OP_BYE, 0, 0, false);
			send_frame(c, b, NULL);
		}
		talloc_free(b);
	}
	conn_lost(c, SHADE_ERR_CONNECTION_LOST, "connection closed");
}

shade_status shade_conn_new(TALLOC_CTX *mem_ctx, shade_transport *t,
			    bool accepting, const shade_conn_opts *opts,
			    shade_conn **out, shade_error **err)
{
	shade_conn_opts none;
	shade_conn *c;
	pthread_condattr_t ca;
	size_t i;

	if (t == NULL || out == NULL) {
		talloc_free(t);
		return misuse(err, "shade_conn_new: %s is NULL",
			      t == NULL ? "transport" : "out");
	}
	if (opts == NULL) {
		memset(&none, 0, sizeof(none));
		opts = &none;
	}
	c = talloc_zero(mem_ctx, shade_conn);
	if (c == NULL) {
		talloc_free(t);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	c->t = talloc_steal(c, t);
	pthread_mutex_init(&c->mu, NULL);
	pthread_mutex_init(&c->send_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cv, &ca);
	pthread_condattr_destroy(&ca);
	c->mu_ready = true;
	talloc_set_destructor(c, conn_destructor);
	__atomic_store_n(&c->open, true, __ATOMIC_RELEASE);
	c->accepting = accepting;
	c->hello_seen = false;
	c->next_rid = 1;
	c->next_eid = 1;
	hmap_init(&c->pending, c);
	hmap_init(&c->held, c);
	etab_init(&c->exports, c);
	itab_init(&c->imports, c);
	hmap_init(&c->shapes, c);
	hmap_init(&c->shapes_sent, c);
	hmap_init(&c->peer_known, c);
	hmap_init(&c->eager, c);
	hmap_init(&c->deferred, c);
	c->no_pipelining = opts->no_pipelining;
	c->no_typed_arrays = opts->no_typed_arrays;
	hmap_init(&c->promises, c);
	hmap_init(&c->uses, c);
	hmap_init(&c->promise_refs, c);
	c->side = talloc_strdup(c, opts->side ? opts->side
				     : accepting ? "server" : "client");
	c->timeout_ms = opts->timeout_ms;
	c->iter_chunk = opts->iter_chunk ? opts->iter_chunk
					 : DEFAULT_ITER_CHUNK;
	c->max_pending = opts->max_pending ? opts->max_pending
					   : DEFAULT_MAX_PENDING;
	c->names = opts->names;
	c->max_exports = opts->max_exports ? opts->max_exports
					   : DEFAULT_MAX_TABLE;
	c->max_imports = opts->max_imports ? opts->max_imports
					   : DEFAULT_MAX_TABLE;
	c->copts.max_depth = opts->max_depth;
	c->copts.max_len = opts->max_len;
	c->copts.max_items = opts->max_items;
	c->known = opts->known;
	c->postmortem = opts->postmortem;
	/* Shapes compiled in are known without a description. */
	for (i = 0; c->known != NULL && c->known[i] != NULL; i++) {
		uint64_t fp = shade_shape_fp(c->known[i]);

		if (fp != 0 && hmap_get(&c->shapes, fp) == NULL)
			hmap_put(&c->shapes, fp, (void *)c->known[i]);
	}
	refs_init(c);
	if (c->side == NULL) {
		talloc_free(c);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	log_init();
	if (LOG_ON(SHADE_LOG_LIFETIMES, 1))
		log_emit(SHADE_LOG_LIFETIMES, 1, "%s: %s: connection %s",
			 c->side, shade_transport_address(c->t),
			 accepting ? "accepted" : "opened");
	if (auth_init(c, opts, err) != SHADE_OK) {
		talloc_free(c);
		return SHADE_ERR_INVALID;
	}
	if (!accepting && (route_send_hello(c, err) != SHADE_OK ||
			   (c->n_auth > 0 &&
			    (auth_start(c, err) != SHADE_OK ||
			     route_handshake(c, err) != SHADE_OK)))) {
		talloc_free(c);
		return err && *err ? (*err)->code : SHADE_ERR_CONNECTION_LOST;
	}
	*out = c;
	return SHADE_OK;
}

shade_status shade_connect(TALLOC_CTX *mem_ctx, const char *address,
			   const shade_conn_opts *opts, shade_conn **out,
			   shade_error **err)
{
	shade_transport *t;

	if (address == NULL || out == NULL)
		return misuse(err, "shade_connect: %s is NULL",
			      address == NULL ? "address" : "out");
	SHADE_CHECK(shade_transport_connect(mem_ctx, address,
					    opts ? opts->transport : NULL, &t,
					    err));
	return shade_conn_new(mem_ctx, t, false, opts, out, err);
}

void shade_conn_stats_get(shade_conn *c, shade_conn_stats *out)
{
	shade_transport_stats ts;

	/* The transport's counters are relaxed atomics: read from any
	 * thread while others send and receive, each is a value it had. */
	shade_transport_stats_get(c->t, &ts);
	pthread_mutex_lock(&c->mu);
	*out = c->st;
	out->exports = c->exports.n;
	out->imports = c->imports.n;
	out->export_bytes = etab_bytes(&c->exports);
	/* A malloc chunk: the block plus an 8-byte head, in 16-byte steps. */
	out->import_bytes = itab_bytes(&c->imports) +
			    c->imports.n *
				    ((sizeof(struct proxy) + 8 + 15) & ~(size_t)15);
	out->pending = c->pending.count;
	out->promises = c->promises.count;
	pthread_mutex_unlock(&c->mu);
	out->frames_sent = ts.frames_sent;
	out->bytes_sent = ts.bytes_sent;
	out->frames_received = ts.frames_received;
	out->bytes_received = ts.bytes_received;
}

void conn_set_loop(shade_conn *c, struct loop *loop, struct loop_fd *w,
		   const char *side)
{
	c->loop = loop;
	c->watch = w;
	if (side != NULL && strcmp(side, c->side) == 0) {
		/* One block less per connection. */
		talloc_free((void *)c->side);
		c->side = side;
	}
}

void shade_conn_set_timeout(shade_conn *c, int timeout_ms)
{
	pthread_mutex_lock(&c->mu);
	c->timeout_ms = timeout_ms;
	pthread_mutex_unlock(&c->mu);
}

const char *shade_conn_side(const shade_conn *c)
{
	return c->side;
}

shade_transport *shade_conn_transport(shade_conn *c)
{
	return c->t;
}

int shade_conn_fd(const shade_conn *c)
{
	return shade_transport_fd(c->t);
}
