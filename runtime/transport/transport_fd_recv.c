/*
 * transport_fd_recv.c - the fd kind's input: small frames are read into
 * the input buffer `in`, as many bytes as the fd has (one read for
 * several frames), and copied out one at a time.  A frame whose header
 * says it does not fit in `in` switches to "big" mode: its bytes are read
 * straight into a buffer of its own that grows geometrically as they
 * arrive (so an announced size allocates nothing up front) and that is
 * handed to the caller whole, with one byte to spare after it.  That
 * buffer comes from bigbuf_alloc(): the thread that frees the frame keeps
 * its pages for the next large one.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <talloc.h>

#include "base/bigbuf_int.h"
#include "base/clock_int.h"
#include "transport/transport_int.h"

/* The default input buffer size: the one a thread keeps a spare of. */
#define READ_BUFFER TRANSPORT_DEFAULT_READ_BUFFER
/* At most this much is read by a transport's first read. */
#define FIRST_READ_MAX ((size_t)1024)

/* Input buffers.  A non-blocking transport gives its buffer back when
 * it is empty (an idle server connection holds none) and takes one again
 * at its next read.  Each thread keeps one spare buffer of the default
 * size, so a loop answering one request at a time does not go to the
 * allocator for 64 KiB twice per request.  Plain malloc: the spare
 * belongs to no talloc context; it is freed when its thread exits. */
static _Thread_local uint8_t *tl_spare;   /* this thread's spare */
static _Thread_local bool tl_spare_keyed; /* spare_key set for it */
static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;
static bool spare_ok;

/* At thread exit: free the thread's spare (the key's value points at
 * tl_spare, still valid while key destructors run). */
static void spare_exit(void *slot)
{
	free(*(uint8_t **)slot);
	*(uint8_t **)slot = NULL;
}

/* Once: the key whose destructor frees a thread's spare. */
static void spare_init(void)
{
	spare_ok = pthread_key_create(&spare_key, spare_exit) == 0;
}

/* A buffer of size bytes, the thread's spare when it fits; NULL when out
 * of memory. */
static uint8_t *in_alloc(size_t size)
{
	uint8_t *p = tl_spare;

	if (p != NULL && size == READ_BUFFER) {
		tl_spare = NULL;
		return p;
	}
	return malloc(size);
}

/* in_release() when the buffer cannot simply become the spare of a
 * thread already set up for one. */
static __attribute__((noinline)) void in_release_slow(uint8_t *p,
						      size_t size)
{
	if (p == NULL || size != READ_BUFFER || tl_spare != NULL) {
		free(p);
		return;
	}
	if (!tl_spare_keyed) {
		/* Once per thread: have the spare freed when it exits. */
		pthread_once(&spare_once, spare_init);
		if (!spare_ok ||
		    pthread_setspecific(spare_key, &tl_spare) != 0) {
			free(p);
			return;
		}
		tl_spare_keyed = true;
	}
	tl_spare = p;
}

/* Give back a buffer from in_alloc (NULL is fine). */
static inline void in_release(uint8_t *p, size_t size)
{
	if (p != NULL && size == READ_BUFFER && tl_spare == NULL &&
	    tl_spare_keyed)
		tl_spare = p;
	else
		in_release_slow(p, size);
}

void transport_in_release(uint8_t *p, size_t size)
{
	in_release(p, size);
}

/* Release the input buffer if it holds nothing, in non-blocking mode, so
 * idle server connections hold no buffer. */
static inline void in_trim(shade_transport *t)
{
	if (t->in_start == t->in_end) {
		t->in_start = t->in_end = 0;
		t->in_need = 0;
		if (t->nonblocking) {
			in_release(t->in, t->in_size);
			t->in = NULL;
		}
	}
}

/* Take a complete frame out of the buffered input if there is one:
 * SHADE_OK (frame on mem_ctx), SHADE_AGAIN (more bytes needed), or a
 * protocol/limit failure.  No system call. */
static shade_status rx_extract(shade_transport *t, void *mem_ctx,
			       uint8_t **frame, size_t *len, shade_error **err)
{
	size_t avail, hl, have, cap;
	uint64_t flen;
	char msg[160];
	shade_status st;
	uint8_t *p;

	if (t->big != NULL) {
		if (t->big_have < t->big_len)
			return SHADE_AGAIN;
		*frame = talloc_steal(mem_ctx, t->big);
		*len = t->big_len;
		t->big = NULL;
		t->big_len = t->big_have = t->big_cap = 0;
		STAT_ADD(t, frames_received, 1);
		return SHADE_OK;
	}
	avail = t->in_end - t->in_start;
	if (avail == 0)
		return SHADE_AGAIN;
	if (!transport_header_quick(t->in + t->in_start, avail, t->max_frame,
				    &flen,
				    &hl)) {
		st = transport_header_parse(t->in + t->in_start, avail,
					    t->max_frame,
					    &flen, &hl, msg, sizeof(msg));
		if (st == SHADE_AGAIN)
			return SHADE_AGAIN;
		if (st < 0)
			return transport_fail(t, err, st, "%s: %s",
					      t->address, msg);
	}
	if (hl + flen <= avail) {
		/* Into the caller's slot when it fits (transport_recv_slot):
		 * no allocation. */
		p = t->rx_slot != NULL && flen <= t->rx_slot_cap
			    ? t->rx_slot
			    : talloc_size(mem_ctx, flen);
		if (p == NULL)
			return shade_error_set(err, SHADE_ERR_NOMEM,
					       "out of memory for a frame of "
					       "%zu bytes", (size_t)flen);
		memcpy(p, t->in + t->in_start + hl, flen);
		t->in_start += hl + flen;
		t->in_need = 0;
		in_trim(t);
		*frame = p;
		*len = flen;
		STAT_ADD(t, frames_received, 1);
		return SHADE_OK;
	}
	if (hl + flen <= t->in_size) {
		t->in_need = hl + flen;
		return SHADE_AGAIN;
	}
	/* Big frame: give it a buffer of its own, sized for what has come
	 * so far and grown as more arrives. */
	have = avail - hl;
	cap = t->in_size > have * 2 ? t->in_size : have * 2;
	if (cap < BIGBUF_MIN) /* at least that: a kept block can serve */
		cap = BIGBUF_MIN;
	if (cap > flen)
		cap = flen;
	/* Whole: one byte to spare after the payload (a NUL after a string
	 * that ends the frame, when a decoded value keeps the frame). */
	p = bigbuf_alloc(cap == flen ? cap + 1 : cap);
	if (p == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM,
				       "out of memory for a frame of %zu bytes",
				       (size_t)flen);
	memcpy(p, t->in + t->in_start + hl, have);
	t->big = p;
	t->big_len = flen;
	t->big_have = have;
	/* A kept block may hold more than asked: use it up to the frame. */
	t->big_cap = bigbuf_cap(p) < flen ? bigbuf_cap(p) : flen;
	t->in_start = t->in_end = 0;
	t->in_need = 0;
	in_trim(t);
	return SHADE_AGAIN;
}

/* Where the next read goes: *buf, at most *n bytes. */
static shade_status rx_room(shade_transport *t, uint8_t **buf, size_t *n,
			    shade_error **err)
{
	size_t used, cap;
	uint8_t *p;

	if (t->big != NULL) {
		if (t->big_have == t->big_cap) {
			cap = t->big_cap * 2;
			if (cap > t->big_len || cap < t->big_cap)
				cap = t->big_len;
			p = bigbuf_realloc(t->big, cap == t->big_len ? cap + 1
								   : cap);
			if (p == NULL)
				return shade_error_set(err, SHADE_ERR_NOMEM,
						       "out of memory for a "
						       "frame of %zu bytes",
						       t->big_len);
			t->big = p;
			t->big_cap = bigbuf_cap(p) < t->big_len ? bigbuf_cap(p)
								: t->big_len;
		}
		*buf = t->big + t->big_have;
		*n = t->big_cap - t->big_have;
		return SHADE_OK;
	}
	if (t->in == NULL) {
		t->in = in_alloc(t->in_size);
		if (t->in == NULL)
			return shade_error_set(err, SHADE_ERR_NOMEM,
					       "out of memory");
		t->in_start = t->in_end = 0;
	}
	used = t->in_end - t->in_start;
	if (t->in_start > 0 &&
	    (t->in_end == t->in_size || t->in_start + t->in_need > t->in_size)) {
		memmove(t->in, t->in + t->in_start, used);
		t->in_start = 0;
		t->in_end = used;
	}
	*buf = t->in + t->in_end;
	*n = t->in_size - t->in_end;
	/* The first read is short: it holds a first frame (a HELLO, a few
	 * bytes) and tells a peer that opens with garbage from one that
	 * does not, without copying a whole buffer of the garbage. */
	if (*n > FIRST_READ_MAX && STAT_GET(t, read_calls) == 0)
		*n = FIRST_READ_MAX;
	return SHADE_OK;
}

/* The fd reached end of file: say how much of a frame was missing. */
static shade_status rx_eof(shade_transport *t, shade_error **err)
{
	char what[200];
	size_t avail = t->in_end - t->in_start;
	size_t hl = 0;
	uint64_t flen = 0;

	if (avail > 0 && t->in_need > 0)
		transport_header_parse(t->in + t->in_start, avail,
				       t->max_frame, &flen,
				       &hl, what, sizeof(what));
	if (t->big != NULL)
		snprintf(what, sizeof(what),
			 "peer closed mid-frame: %zu of %zu payload bytes "
			 "missing", t->big_len - t->big_have, t->big_len);
	else if (avail > 0 && t->in_need > 0)
		snprintf(what, sizeof(what),
			 "peer closed mid-frame: %zu of %zu payload bytes "
			 "missing", t->in_need - avail, (size_t)flen);
	else if (avail > 0)
		snprintf(what, sizeof(what),
			 "peer closed mid-frame: frame header incomplete "
			 "(%zu byte(s) received)", avail);
	else
		snprintf(what, sizeof(what), "peer closed");
	return transport_peer_gone(t, err, what);
}

/* How long recv may still wait: timeout_ms itself when it is 0 or -1,
 * else what is left until deadline. */
static inline int wait_ms(int timeout_ms, int64_t deadline)
{
	return timeout_ms > 0 ? clock_remaining_ms(deadline) : timeout_ms;
}

/* The fd kind's recv: frames out of the input buffer, reading the fd
 * when it holds none (shade_transport_recv). */
shade_status transport_fd_recv(shade_transport *t, void *mem_ctx,
			       uint8_t **frame, size_t *len, int timeout_ms,
			       shade_error **err)
{
	int64_t deadline;
	bool did_read = false, bounded;
	shade_status st;
	uint8_t *buf = NULL;
	size_t n = 0;
	ssize_t r;
	int w;

	/* Only a positive timeout needs the clock: 0 never waits and -1
	 * waits as long as it takes. */
	deadline = timeout_ms > 0 ? clock_now_ms() + timeout_ms : -1;
	/* A bounded wait on a blocking fd: sockets try a MSG_DONTWAIT read
	 * first (one system call when data is there), other fds poll
	 * first. */
	bounded = !t->nonblocking && timeout_ms >= 0;
	for (;;) {
		st = rx_extract(t, mem_ctx, frame, len, err);
		if (st != SHADE_AGAIN)
			return st;
		if (timeout_ms == 0 && did_read)
			return SHADE_AGAIN;
		SHADE_CHECK(rx_room(t, &buf, &n, err));
		if (bounded && !t->rsock) {
			w = transport_poll_fd(t->rfd, POLLIN,
					      wait_ms(timeout_ms, deadline));
			if (w < 0)
				return transport_io_fail(t, err, errno, "poll");
			if (w == 0)
				goto timed_out;
		}
		STAT_ADD(t, read_calls, 1);
		if (t->kind->raw_read != NULL)
			r = t->kind->raw_read(t, buf, n);
		else if (bounded && t->rsock)
			r = recv(t->rfd, buf, n, MSG_DONTWAIT);
		else
			r = read(t->rfd, buf, n);
		if (r > 0) {
			STAT_ADD(t, bytes_received, (uint64_t)r);
			t->drained = (size_t)r < n;
			if (t->big != NULL)
				t->big_have += (size_t)r;
			else
				t->in_end += (size_t)r;
			did_read = true;
			continue;
		}
		if (r == 0)
			return rx_eof(t, err);
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return transport_io_fail(t, err, errno, "read");
		t->drained = true; /* whatever the read before it took */
		did_read = true;
		if (timeout_ms == 0)
			return SHADE_AGAIN;
		w = transport_poll_fd(t->rfd, POLLIN,
				      wait_ms(timeout_ms, deadline));
		if (w < 0)
			return transport_io_fail(t, err, errno, "poll");
		if (w == 0)
			goto timed_out;
	}
timed_out:
	in_trim(t);
	if (timeout_ms == 0)
		return SHADE_AGAIN;
	return shade_error_set(err, SHADE_ERR_TIMEOUT,
			       "%s: no frame within %d ms", t->address,
			       timeout_ms);
}

/* A whole frame is buffered (or a bad header, reported by the next
 * receive). */
static inline bool frame_ready(const shade_transport *t)
{
	size_t avail, hl;
	uint64_t flen;
	char msg[8];
	shade_status st;

	if (t->big != NULL)
		return t->big_have == t->big_len;
	avail = t->in_end - t->in_start;
	if (avail == 0)
		return false;
	if (t->in_need > 0)
		return avail >= t->in_need;
	if (transport_header_quick(t->in + t->in_start, avail, t->max_frame,
				   &flen, &hl))
		return hl + flen <= avail;
	st = transport_header_parse(t->in + t->in_start, avail, t->max_frame,
				    &flen, &hl,
				    msg, sizeof(msg));
	/* A bad header counts as "ready": try_recv reports it at once. */
	return st < 0 || (st == SHADE_OK && hl + flen <= avail);
}

bool transport_fd_has_frame(const shade_transport *t)
{
	return frame_ready(t);
}

bool transport_fd_drained(const shade_transport *t)
{
	return t->drained && !frame_ready(t);
}
