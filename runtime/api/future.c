/*
 * future.c - futures: asynchronous invoke, readiness, waiting for one,
 * any or all of them.
 */
#include <string.h>

#include <talloc.h>

#include "shade/cbor.h"
#include "shade/proxy.h"
#include "api/api_int.h"
#include "conn/conn_int.h"
#include "object/shape_int.h"
#include <pthread.h>

/* A call in flight. */
struct shade_future {
	shade_conn *c;        /* its connection */
	struct outreq rq;     /* the request; rq.p is the pending */
	bool taken;           /* the result was taken */
};

/* Destructor: withdraw an unwaited request. */
static int future_destructor(shade_future *f)
{
	if (!f->taken && f->rq.p != NULL)
		conn_abandon(f->rq.p);
	return 0;
}

shade_status shade_invoke_async(TALLOC_CTX *mem_ctx, shade_ref *r,
				const char *name, const shade_value *args,
				const shade_value *kwargs, shade_future **out,
				shade_error **err)
{
	struct api_field fl[3];
	struct proxy *p;
	shade_future *f;
	shade_status st;

	SHADE_CHECK(api_check_ref(r, err));
	if (!shade_ref_is_proxy(r))
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "asynchronous calls need a proxy");
	SHADE_CHECK(api_live_proxy(r, &p, err));
	fl[0] = (struct api_field){ API_FLD_UINT, p->eid, NULL, NULL };
	SHADE_CHECK(api_member_field(p, name, &fl[1], err));
	fl[2] = (struct api_field){ api_args_kind(p, NULL, &fl[1]), 0, NULL,
				    args };
	f = talloc_zero(mem_ctx, shade_future);
	if (f == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	f->c = p->conn;
	st = conn_req_init(&f->rq, f->c, f, OP_INVOKE, 3, kwargs, -1, false,
			   err);
	f->rq.queued = true;
	if (st == SHADE_OK)
		st = api_put_fields(f->c, f->rq.b, fl, 3, err);
	if (st == SHADE_OK)
		st = conn_req_send(&f->rq, f, err);
	if (st != SHADE_OK) {
		talloc_free(f);
		return st;
	}
	TALLOC_FREE(f->rq.b);
	talloc_set_destructor(f, future_destructor);
	*out = f;
	return SHADE_OK;
}

bool shade_future_ready(shade_future *f)
{
	bool done;

	if (f->rq.p == NULL)
		return true;
	conn_flush_batch(f->c, NULL);
	pthread_mutex_lock(&f->c->mu);
	done = f->rq.p->done;
	pthread_mutex_unlock(&f->c->mu);
	return done;
}

/* The effective timeout of a wait: 0 means the connection default. */
static int wait_timeout(shade_conn *c, int timeout_ms)
{
	if (timeout_ms != 0)
		return timeout_ms;
	return c->timeout_ms > 0 ? c->timeout_ms : -1;
}

shade_status shade_future_wait(TALLOC_CTX *mem_ctx, shade_future *f,
			       int timeout_ms, shade_value **out,
			       shade_error **err)
{
	shade_cbor_dec d;
	bool has = false;
	shade_value *v = NULL;

	if (f->taken || f->rq.p == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "future already waited for");
	SHADE_CHECK(conn_wait(f->c, &f->rq.p, 1, false,
			      wait_timeout(f->c, timeout_ms), NULL, err));
	f->taken = true;
	SHADE_CHECK(conn_take_reply(f->c, f->rq.p, &d, &has, err));
	if (has)
		SHADE_CHECK(shade_cbor_decode_value(mem_ctx, &d, &f->c->copts,
						    &v, err));
	else if ((v = shade_none(mem_ctx)) == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	TALLOC_FREE(f->rq.p->reply); /* the result is taken */
	f->rq.p = NULL;
	if (out != NULL)
		*out = v;
	else
		talloc_free(v);
	return SHADE_OK;
}

/* Wait for any or all of fs. */
static shade_status futures_wait(shade_future *const *fs, size_t n, bool all,
				 int timeout_ms, size_t *index,
				 shade_error **err)
{
	struct pending **ps;
	shade_status st;
	size_t i;

	if (n == 0)
		return shade_error_set(err, SHADE_ERR_INVALID, "no futures");
	ps = talloc_array(NULL, struct pending *, n);
	if (ps == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		if (fs[i]->rq.p == NULL || fs[i]->c != fs[0]->c) {
			talloc_free(ps);
			return shade_error_set(err, SHADE_ERR_INVALID,
					       "future %zu already waited for "
					       "or on another connection", i);
		}
		ps[i] = fs[i]->rq.p;
	}
	st = conn_wait(fs[0]->c, ps, n, all,
		       wait_timeout(fs[0]->c, timeout_ms), index, err);
	talloc_free(ps);
	return st;
}

shade_status shade_future_wait_any(shade_future *const *fs, size_t n,
				   int timeout_ms, size_t *index,
				   shade_error **err)
{
	return futures_wait(fs, n, false, timeout_ms, index, err);
}

shade_status shade_future_wait_all(shade_future *const *fs, size_t n,
				   int timeout_ms, shade_error **err)
{
	return futures_wait(fs, n, true, timeout_ms, NULL, err);
}
