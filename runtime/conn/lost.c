/*
 * lost.c - the end of a connection: failing pendings, dropping exports,
 * detaching proxies, leaving the loop, closing the transport, telling
 * the deferred replies not given yet (defer_int.h); and the checks of
 * whether it is still open.
 *
 * Lock order: takes `mu` alone; everything that runs user code (releasing
 * objects, whose free hooks may run) or takes other locks (the loop's,
 * the transport's) happens after mu is released.  `open` is written
 * under mu with an atomic store and read without it as a hint.
 */
#include <pthread.h>
#include <string.h>

#include <talloc.h>

#include "base/log_int.h"
#include "conn/conn_int.h"
#include "conn/defer_int.h"
#include "conn/promise_int.h"
#include "loop/loop_int.h"
#include "object/shape_int.h"

/* Release the objects of dropped exports (no lock held). */
void lost_release_objs(shade_conn *c, struct shade_ref **objs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		obj_unexported(objs[i], c);
		shade_ref_release(objs[i]);
	}
}

void defer_lost(shade_conn *c)
{
	shade_reply **rs;
	shade_reply *r;
	size_t n = 0, i, pos = 0;

	pthread_mutex_lock(&c->mu);
	if (c->deferred.count == 0) {
		pthread_mutex_unlock(&c->mu);
		return;
	}
	rs = talloc_array(NULL, shade_reply *, c->deferred.count);
	while (rs != NULL && hmap_next(&c->deferred, &pos, NULL, (void **)&r)) {
		__atomic_store_n(&r->cancelled, true, __ATOMIC_RELEASE);
		__atomic_add_fetch(&r->refs, 1, __ATOMIC_ACQ_REL);
		rs[n++] = r;
	}
	pthread_mutex_unlock(&c->mu);
	for (i = 0; i < n; i++) {
		defer_tell(rs[i]);
		defer_unref(rs[i]);
	}
	talloc_free(rs);
}

void conn_lost(shade_conn *c, shade_status code, const char *why)
{
	struct shade_ref **objs = NULL;
	size_t n = 0, pos = 0;
	struct pending *p;
	struct proxy *px;

	pthread_mutex_lock(&c->mu);
	if (!c->open) {
		pthread_mutex_unlock(&c->mu);
		return;
	}
	__atomic_store_n(&c->open, false, __ATOMIC_RELEASE);
	if (LOG_ON(SHADE_LOG_ERRORS, 1) || LOG_ON(SHADE_LOG_LIFETIMES, 1)) {
		/* An orderly end (our close, the peer's BYE or its close)
		 * is a lifetime event; anything else an error too. */
		bool orderly = code == SHADE_ERR_CONNECTION_LOST &&
			       (strcmp(why, "connection closed") == 0 ||
				strcmp(why, "peer said BYE") == 0 ||
				(strstr(why, "peer closed") != NULL &&
				 strstr(why, "mid-frame") == NULL));

		if (!orderly)
			log_emit(SHADE_LOG_ERRORS, 1,
				 "%s: %s: connection dropped: %s: %s",
				 c->side, shade_transport_address(c->t),
				 shade_status_name(code), why);
		log_emit(SHADE_LOG_LIFETIMES, 1, "%s: %s: connection ended: %s",
			 c->side, shade_transport_address(c->t), why);
	}
	shade_error_set(&c->lost, code, "%s", why);
	if (c->lost != NULL)
		talloc_steal(c, c->lost);
	/* Fail every pending call. */
	while (hmap_next(&c->pending, &pos, NULL, (void **)&p)) {
		p->done = true;
		if (p->reply == NULL && p->fail == NULL) {
			shade_error_set(&p->fail, code, "%s", why);
			if (p->fail != NULL)
				talloc_steal(p->owner, p->fail);
		}
		pending_unlink(p); /* last: a reader without mu sees all */
	}
	hmap_clear(&c->pending);
	/* Replies not taken keep their bytes, not their connection. */
	pos = 0;
	while (hmap_next(&c->held, &pos, NULL, (void **)&p))
		pending_unlink(p);
	hmap_clear(&c->held);
	/* Drop every export. */
	objs = talloc_array(NULL, struct shade_ref *, c->exports.n + 1);
	if (objs != NULL) {
		for (n = 0; n < c->exports.n; n++)
			objs[n] = c->exports.ents[n].obj;
		etab_clear(&c->exports);
	}
	/* Detach every proxy: later use reports ConnectionLost.  Shapes the
	 * connection cached go with it. */
	pos = 0;
	while ((px = itab_next(&c->imports, &pos)) != NULL) {
		px->conn = NULL;
		if (px->ref.shape != NULL &&
		    !shape_is_builtin(px->ref.shape->fingerprint))
			px->ref.shape = NULL;
	}
	itab_clear(&c->imports);
	pos = 0;
	while (hmap_next(&c->promise_refs, &pos, NULL, (void **)&px)) {
		px->conn = NULL;
		px->ref.shape = NULL; /* a declared shape (narrowed) */
	}
	hmap_clear(&c->promise_refs);
	hmap_clear(&c->uses);
	TALLOC_FREE(c->rel);
	__atomic_store_n(&c->n_rel, 0, __ATOMIC_RELAXED);
	queue_clear(&c->unnested);
	conn_wake_all(c);
	pthread_mutex_unlock(&c->mu);
	if (c->watch != NULL)
		loop_fd_close(c->watch);
	__atomic_store_n(&c->t_close, 1, __ATOMIC_SEQ_CST);
	conn_close_transport(c);
	promise_clear(c);
	lost_release_objs(c, objs, n);
	talloc_free(objs);
	defer_lost(c); /* deferred replies not given hear of it */
}

void conn_close_transport(shade_conn *c)
{
	bool now;

	/* A sender holds send_mu: it calls again once it let go
	 * (send_unlock reads t_close, stored before this try). */
	if (pthread_mutex_trylock(&c->send_mu) != 0)
		return;
	pthread_mutex_lock(&c->mu);
	now = __atomic_load_n(&c->t_close, __ATOMIC_ACQUIRE) != 0 &&
	      !c->reading && !c->pool_loop_busy;
	if (now)
		__atomic_store_n(&c->t_close, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&c->mu);
	if (now)
		shade_transport_close(c->t);
	pthread_mutex_unlock(&c->send_mu);
}

void conn_reader_done(shade_conn *c)
{
	bool ended;

	pthread_mutex_lock(&c->mu);
	ended = conn_reader_leave(c);
	conn_wake_all(c);
	pthread_mutex_unlock(&c->mu);
	if (ended)
		conn_close_transport(c);
}

shade_status conn_check_open(shade_conn *c, shade_error **err)
{
	bool open;
	char *why = NULL;

	if (__atomic_load_n(&c->open, __ATOMIC_ACQUIRE))
		return SHADE_OK;
	pthread_mutex_lock(&c->mu);
	open = c->open;
	if (!open && c->lost != NULL)
		why = talloc_strdup(NULL, c->lost->message);
	pthread_mutex_unlock(&c->mu);
	if (open)
		return SHADE_OK;
	shade_error_set(err, SHADE_ERR_CONNECTION_LOST, "connection lost: %s",
			why ? why : "closed");
	talloc_free(why);
	return SHADE_ERR_CONNECTION_LOST;
}

bool shade_conn_is_open(const shade_conn *c)
{
	/* Written under mu, read without it: a snapshot either way. */
	return __atomic_load_n(&c->open, __ATOMIC_ACQUIRE);
}
