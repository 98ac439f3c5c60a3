/*
 * defer_int.h - deferred replies (defer.c): what the router and the end
 * of a connection tell the handlers holding one.
 */
#ifndef SHADE_DEFER_INT_H
#define SHADE_DEFER_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "shade/conn.h"
#include "shade/visibility.h"
#include "conn/conn_int.h"

/* A deferred reply: a malloc block with a count (owner, notices), freed
 * by whichever thread drops the last one. */
struct shade_reply {
	shade_conn *c;          /* the connection the request came on */
	uint64_t rid;           /* the peer's request id */
	char *type;             /* type name for the error chain (malloc) */
	char *member;           /* member name for it (malloc) */
	unsigned refs;          /* counts (atomic): owner, notices */
	bool answered;          /* given (under c's mu) */
	bool cancelled;         /* CANCEL or loss arrived (atomic) */
	bool told;              /* fn ran (under c's mu) */
	shade_reply_fn fn;      /* cancel callback, or NULL (under mu) */
	void *udata;            /* for fn */
};

/* Drop one count of r. */
static inline void defer_unref(shade_reply *r)
{
	if (__atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	free(r->type);
	free(r->member);
	free(r);
}

/* Run r's callback once, when it has one and r is cancelled and not
 * answered (takes c's mu; the callback runs without it). */
static inline void defer_tell(shade_reply *r)
{
	shade_conn *c = r->c;
	shade_reply_fn fn = NULL;
	void *udata = NULL;

	pthread_mutex_lock(&c->mu);
	if (!r->answered && !r->told && r->fn != NULL &&
	    __atomic_load_n(&r->cancelled, __ATOMIC_ACQUIRE)) {
		r->told = true;
		fn = r->fn;
		udata = r->udata;
		__atomic_add_fetch(&r->refs, 1, __ATOMIC_ACQ_REL);
	}
	pthread_mutex_unlock(&c->mu);
	if (fn == NULL)
		return;
	fn(r, udata);
	defer_unref(r);
}

/* The peer withdrew request rid (CANCEL): when its reply is deferred and
 * not given yet, mark it cancelled and run its callback.  No lock held. */
SHADE_INTERNAL void defer_cancel(struct shade_conn *c, uint64_t rid);

/* c ended: every deferred reply not given yet is marked cancelled and its
 * callback runs (lost.c).  No lock held. */
SHADE_INTERNAL void defer_lost(struct shade_conn *c);

#endif /* SHADE_DEFER_INT_H */
