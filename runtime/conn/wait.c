/*
 * wait.c - waiting for replies: leader/follower reading (one thread reads
 * the transport, the others sleep on `cv`), serving the requests nested
 * in the calls waited for meanwhile, and nested turns of the loop that
 * serves the connection, if any, instead of blocking its thread.
 *
 * Lock order: holds `mu` while it decides, releases it to read, to serve
 * (handlers run with no lock), to flush (send_mu) and to turn the loop;
 * sleeps on `cv` (with mu) while another thread reads.  The reader role
 * (`reading`) is taken and given up under mu, and the frame read is
 * routed before it is given up.
 */
#include <pthread.h>
#include <time.h>

#include <talloc.h>

#include "base/clock_int.h"
#include "base/log_int.h"
#include "conn/conn_int.h"
#include "conn/pool_int.h"
#include "conn/route_int.h"
#include "conn/send_int.h"
#include "conn/serve_int.h"
#include "loop/loop_int.h"
#include "transport/transport_int.h"

/* Room where a thread waiting for replies reads a small frame when it
 * does not read into its own request's (several outstanding): a reply
 * is then copied into the room its request keeps, if any, with no
 * block allocated for it (route_for_waiter). */
#define WAIT_SCRATCH 256
static _Thread_local uint8_t tl_scratch[WAIT_SCRATCH];

/* True when the wait is satisfied (under mu). */
static bool wait_done(struct pending *const *ps, size_t n, bool all,
		      size_t *which)
{
	size_t i, done = 0;

	for (i = 0; i < n; i++)
		if (ps[i]->done) {
			if (!all) {
				if (which != NULL)
					*which = i;
				return true;
			}
			done++;
		}
	return n > 0 && done == n;
}

/* The queue holding the next request to serve: one nested in a call of
 * ps, or the unnested one; NULL when all are empty (under mu). */
static struct frame_queue *wait_work(shade_conn *c, struct pending *const *ps,
				     size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ps[i]->nested.head != NULL)
			return &ps[i]->nested;
	/* With a worker pool the unnested requests are the pool's. */
	return c->unnested.head != NULL && c->pool == NULL ? &c->unnested
							   : NULL;
}

/* Wait on cv until the deadline (monotonic clock). */
static void cv_wait(shade_conn *c, int64_t deadline)
{
	struct timespec ts;

	c->sleepers++;
	if (deadline < 0) {
		pthread_cond_wait(&c->cv, &c->mu);
	} else {
		clock_timespec(deadline, &ts);
		pthread_cond_timedwait(&c->cv, &c->mu, &ts);
	}
	c->sleepers--;
}

/* conn_wait; reader: the caller took the reader role when it registered
 * ps[0], its only outstanding request (conn_req_send, REQ_WAIT_NOW), and
 * reads at once, without taking mu first. */
static shade_status wait_for(shade_conn *c, struct pending *const *ps,
			     size_t n, bool all, int timeout_ms, size_t *which,
			     bool reader, shade_error **err)
{
	void *where;
	int64_t deadline = clock_deadline(timeout_ms);
	struct frame_item *it;
	struct frame_queue *q;
	uint8_t *frame, *slot;
	size_t len, cap;
	shade_status st = SHADE_OK;
	shade_error *e = NULL;
	bool nest;

	pool_block(true); /* a worker waiting: another serves */
	if (reader) {
		where = ps[0]->owner;
		slot = ps[0]->slot;
		cap = ps[0]->slot_cap;
		goto read_now;
	}
	pthread_mutex_lock(&c->mu);
	if (n > 0 && !wait_done(ps, n, all, which))
		c->st.round_trips++;
	for (;;) {
		if (wait_done(ps, n, all, which))
			break;
		if ((q = wait_work(c, ps, n)) != NULL) {
			/* What arrived meanwhile first: a CANCEL may
			 * withdraw the request (the queues are the
			 * caller's or c's: they stay). */
			if (!c->reading && c->pool == NULL) {
				pthread_mutex_unlock(&c->mu);
				serve_catch_up(c, q, CATCH_UP_FRAMES);
				pthread_mutex_lock(&c->mu);
			}
			it = NULL;
			q = wait_work(c, ps, n);
			if (q != NULL)
				it = queue_pop(q);
			if (it == NULL)
				continue;
			pthread_mutex_unlock(&c->mu);
			serve_item(c, it);
			pthread_mutex_lock(&c->mu);
			continue;
		}
		if (!c->open) {
			st = SHADE_ERR_CONNECTION_LOST;
			break;
		}
		if (deadline >= 0 && clock_now_ms() >= deadline) {
			st = SHADE_ERR_TIMEOUT;
			break;
		}
		if (__atomic_load_n(&c->out_frames, __ATOMIC_RELAXED) > 0) {
			/* A hint read without send_mu.  Write what we
			 * queued (replies served above) before sleeping;
			 * what a non-blocking socket does not take is
			 * written by the reader's send_flush_out. */
			pthread_mutex_unlock(&c->mu);
			conn_flush_batch(c, NULL);
			pthread_mutex_lock(&c->mu);
			if (__atomic_load_n(&c->out_frames,
					    __ATOMIC_RELAXED) == 0)
				continue; /* all written: look again */
			/* mu was let go: another reader may have delivered
			 * our reply meanwhile (reading on would put the next
			 * frame into the room of a call that is over). */
			if (wait_done(ps, n, all, which))
				break;
		}
		if (c->reading || c->pool != NULL) {
			/* With a worker pool only the loop reads: it routes
			 * our reply and the requests nested in our call
			 * here and wakes us. */
			cv_wait(c, deadline);
			continue;
		}
		c->reading = true;
		/* With one request outstanding, the frame read is almost
		 * surely its reply: read it onto the request's owner, where
		 * it then stays.  With more, each would be copied out. */
		where = n == 1 && c->pending.count <= 1 ? ps[0]->owner : NULL;
		/* ... or into the room the request keeps for it, if any;
		 * with several, into the thread's scratch first. */
		slot = where != NULL ? ps[0]->slot
		       : n > 0	     ? tl_scratch
				     : NULL;
		cap = where != NULL ? ps[0]->slot_cap : sizeof(tl_scratch);
		pthread_mutex_unlock(&c->mu);
read_now:
		nest = c->loop != NULL && loop_can_nest(c->loop);
		if (nest) {
			/* A callback on its loop's thread: read c
			 * without blocking, then turn the loop for the
			 * other connections until c has more. */
			st = send_flush_now(c, &e);
			if (st == SHADE_OK)
				st = transport_recv_slot(c->t, slot, cap,
							 where, &frame, &len,
							 0, &e);
		} else {
			st = send_flush_out(c, deadline, &e);
			if (st == SHADE_OK)
				st = transport_recv_slot(
					c->t, slot, cap, where, &frame, &len,
					clock_remaining_ms(deadline), &e);
		}
		if (st != SHADE_OK && st != SHADE_ERR_TIMEOUT &&
		    st != SHADE_AGAIN)
			conn_lost(c, SHADE_ERR_CONNECTION_LOST,
				  e ? e->message : "receive failed");
		talloc_free(e);
		e = NULL;
		/* Routed while still the reader: requests are queued, so
		 * no handler runs here. */
		if (st == SHADE_OK && LOG_ON(SHADE_LOG_MESSAGES, 1))
			msg_trace(c->side, shade_transport_address(c->t),
				  "received", frame, len);
		if (st == SHADE_OK)
			route_for_waiter(c, frame, len, where,
					 slot != NULL && frame == slot);
		else
			pthread_mutex_lock(&c->mu);
		if (conn_reader_leave(c)) {
			/* It ended while we read: the close is ours. */
			pthread_mutex_unlock(&c->mu);
			conn_close_transport(c);
			pthread_mutex_lock(&c->mu);
		}
		conn_wake_all(c);
		if (nest && st == SHADE_AGAIN && c->open) {
			pthread_mutex_unlock(&c->mu);
			/* Its input wakes the nested turn, whatever the
			 * server set (it sets it again afterwards). */
			loop_fd_set(c->watch, shade_transport_fd(c->t),
				    LOOP_READ);
			loop_nest(c->loop, c->watch,
				  clock_remaining_ms(deadline));
			pthread_mutex_lock(&c->mu);
		}
		st = SHADE_OK;
	}
	pthread_mutex_unlock(&c->mu);
	pool_block(false);
	/* Replies batched while serving go before we return. */
	if (__atomic_load_n(&c->out_frames, __ATOMIC_RELAXED) > 0)
		conn_flush_batch(c, NULL);
	if (st == SHADE_ERR_TIMEOUT)
		return shade_error_set(err, SHADE_ERR_TIMEOUT,
				       "no reply within %d ms", timeout_ms);
	if (st == SHADE_ERR_CONNECTION_LOST)
		return conn_check_open(c, err);
	return SHADE_OK;
}

shade_status conn_wait(shade_conn *c, struct pending *const *ps, size_t n,
		       bool all, int timeout_ms, size_t *which,
		       shade_error **err)
{
	return wait_for(c, ps, n, all, timeout_ms, which, false, err);
}

shade_status conn_wait_reply(struct outreq *rq, shade_error **err)
{
	bool reader = rq->reader;

	rq->reader = false;
	return wait_for(rq->c, &rq->p, 1, false, rq->timeout_ms, NULL, reader,
			err);
}

shade_status shade_conn_serve(shade_conn *c, int timeout_ms,
			      shade_error **err)
{
	shade_status st;
	bool bye;

	st = conn_wait(c, NULL, 0, false, timeout_ms, NULL, err);
	pthread_mutex_lock(&c->mu);
	bye = c->bye_seen;
	pthread_mutex_unlock(&c->mu);
	if (st == SHADE_ERR_CONNECTION_LOST && bye) {
		shade_error_clear(err);
		return SHADE_OK;
	}
	return st;
}
