/*
 * stream.c - streams (shade/stream.h): a stream object serving a
 * source's bytes through read(offset, max) and close(), and a reader
 * pulling a stream, local or remote, with up to `window` reads in
 * flight (doc/protocol.md §14).
 *
 * Invariants:
 *   - a stream object serves its bytes in order: read(offset, max) is
 *     answered only at offset == the bytes served so far (or with
 *     nothing once the source ended and offset is at or past the end);
 *     every chunk but the last holds exactly max bytes (the source is
 *     called until it does), so a reader may ask for chunk k+1 before
 *     chunk k came back;
 *   - a reader holds at most `window` chunks in flight and the one it
 *     handed out last; a failure is sticky;
 *   - the stream state is freed (done hook run) with its object.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <talloc.h>

#include "shade/object.h"
#include "shade/proxy.h"
#include "shade/stream.h"
#include "shade/transport.h"
#include "api/api_int.h"
#include "base/bigbuf_int.h"

/* The type name of stream objects. */
#define STREAM_TYPE "shade.Stream"

/* Room a reply needs around a chunk (message head, bytes head). */
#define CHUNK_OVERHEAD 64

/* ------------------------------------------------------------ the object */

/* A stream object's state (the udata of its methods). */
struct stream_src {
	shade_stream_source_fn source; /* gives the bytes */
	void *udata;                   /* for source and done */
	void (*done)(void *udata);     /* run when the object is freed */
	uint64_t pos;                  /* bytes served so far */
	bool eof;                      /* the source gave 0 bytes */
	bool closed;                   /* close() was called */
};

/* on_free hook: run done and free the state. */
static void src_free(void *arg)
{
	struct stream_src *s = arg;

	if (s->done != NULL)
		s->done(s->udata);
	talloc_free(s);
}

/* An int argument >= 0 at index i of call's args into *out. */
static shade_status arg_uint(shade_call_ctx *call, size_t i, uint64_t *out)
{
	const shade_value *v = shade_seq_len(call->args) > i
				       ? shade_seq_at(call->args, i)
				       : NULL;

	if (v == NULL || shade_value_kind(v) != SHADE_INT || v->u.i < 0)
		return shade_error_set(call->err, SHADE_ERR_TYPE,
				       "%s.read(offset, max): argument %zu is "
				       "not an int >= 0", STREAM_TYPE, i);
	*out = (uint64_t)v->u.i;
	return SHADE_OK;
}

/* read(offset, max): the next chunk, bytes of max (fewer only at the
 * end). */
static shade_status src_read(shade_call_ctx *call)
{
	struct stream_src *s = call->udata;
	uint64_t off, max;
	size_t got = 0, n;
	uint8_t *buf;

	SHADE_CHECK(arg_uint(call, 0, &off));
	SHADE_CHECK(arg_uint(call, 1, &max));
	if (max == 0 || max > SHADE_STREAM_CHUNK_MAX)
		return shade_error_set(call->err, SHADE_ERR_VALUE,
				       "%s.read: max %" PRIu64 " is not in 1.."
				       "%zu", STREAM_TYPE, max,
				       SHADE_STREAM_CHUNK_MAX);
	if (s->closed)
		return shade_error_set(call->err, SHADE_ERR_VALUE,
				       "%s.read: the stream is closed",
				       STREAM_TYPE);
	if (off != s->pos && !(s->eof && off >= s->pos))
		return shade_error_set(call->err, SHADE_ERR_VALUE,
				       "%s.read at offset %" PRIu64 ", the "
				       "stream is at %" PRIu64, STREAM_TYPE,
				       off, s->pos);
	buf = max >= BIGBUF_MIN ? talloc_steal(call->mem,
					       bigbuf_alloc((size_t)max))
				: talloc_size(call->mem, (size_t)max);
	if (buf == NULL)
		return shade_error_set(call->err, SHADE_ERR_NOMEM,
				       "out of memory for a chunk of %" PRIu64
				       " bytes", max);
	while (got < max && !s->eof) { /* each turn gives bytes or ends */
		n = 0;
		SHADE_CHECK(s->source(s->udata, buf + got, (size_t)max - got,
				      &n, call->err));
		if (n > max - got)
			return shade_error_set(call->err, SHADE_ERR_VALUE,
					       "stream source gave %zu bytes, "
					       "asked for at most %zu", n,
					       (size_t)max - got);
		s->eof = n == 0;
		got += n;
	}
	s->pos += got;
	call->result = shade_bytes_borrow(call->mem, buf, got);
	return call->result != NULL ? SHADE_OK
				    : shade_error_set(call->err,
						      SHADE_ERR_NOMEM,
						      "out of memory");
}

/* close(): no more reads. */
static shade_status src_close(shade_call_ctx *call)
{
	struct stream_src *s = call->udata;

	s->closed = true;
	return SHADE_OK;
}

shade_status shade_stream_new(shade_stream_source_fn source, void *udata,
			      void (*done)(void *udata), shade_ref **out,
			      shade_error **err)
{
	struct stream_src *s;
	shade_ref *o = NULL;
	shade_status st;

	*out = NULL;
	if (source == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "stream source is NULL");
	s = talloc_zero(NULL, struct stream_src);
	if (s == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	s->source = source;
	s->udata = udata;
	st = shade_object_new(STREAM_TYPE, NULL, &o, err);
	if (st == SHADE_OK)
		st = shade_object_add_method(o, "read", src_read, s, false,
					     err);
	if (st == SHADE_OK)
		st = shade_object_add_method(o, "close", src_close, s, false,
					     err);
	if (st != SHADE_OK) {
		shade_ref_release(o);
		talloc_free(s);
		return st;
	}
	s->done = done;
	shade_object_on_free(o, src_free, s);
	*out = o;
	return SHADE_OK;
}

/* ------------------------------------------------------------ the reader */

struct shade_stream_reader {
	shade_ref *s;          /* the stream (one count), NULL once closed */
	size_t chunk;          /* bytes asked per read */
	unsigned window;       /* reads in flight at most */
	int timeout_ms;        /* bound on each wait */
	shade_future *f[SHADE_STREAM_WINDOW_MAX]; /* reads in flight, a ring */
	unsigned head;         /* the oldest read's slot */
	unsigned n;            /* reads in flight */
	uint64_t next;         /* offset of the next read to ask */
	uint64_t off;          /* bytes handed out */
	bool end;              /* a short chunk came: ask nothing more */
	shade_status failed;   /* the first failure, SHADE_OK before */
	char *why;             /* its message */
	shade_value *cur;      /* the chunk handed out last */
};

/* The args (offset, max) of a read on ctx, or NULL. */
static shade_value *read_args(TALLOC_CTX *ctx, uint64_t off, size_t max)
{
	shade_value *a = shade_tuple_new(ctx, 2);
	shade_value o = shade_value_int((int64_t)off);
	shade_value m = shade_value_int((int64_t)max);

	if (a == NULL || shade_seq_append(a, &o, NULL) != SHADE_OK ||
	    shade_seq_append(a, &m, NULL) != SHADE_OK) {
		talloc_free(a);
		return NULL;
	}
	return a;
}

/* Record the failure (once) and give it to err. */
static shade_status reader_fail(shade_stream_reader *rd, shade_status st,
				shade_error *e, shade_error **err)
{
	if (rd->failed == SHADE_OK) {
		rd->failed = st;
		rd->why = talloc_strdup(rd, e != NULL && e->message != NULL
						    ? e->message
						    : shade_status_name(st));
	}
	if (err != NULL && *err == NULL && e != NULL) {
		*err = e;
		return st;
	}
	shade_error_free(e);
	return shade_error_set(err, rd->failed, "%s", rd->why ? rd->why : "");
}

/* Withdraw every read in flight. */
static void drop_inflight(shade_stream_reader *rd)
{
	while (rd->n > 0) {
		TALLOC_FREE(rd->f[rd->head]);
		rd->head = (rd->head + 1) % rd->window;
		rd->n--;
	}
}

/* Ask for chunks until window reads are in flight (a remote stream). */
static shade_status top_up(shade_stream_reader *rd, shade_error **err)
{
	shade_call_opts o = { .timeout_ms = rd->timeout_ms };
	shade_value *args;
	unsigned slot;
	shade_status st;

	while (!rd->end && rd->n < rd->window) { /* at most window turns */
		slot = (rd->head + rd->n) % rd->window;
		args = read_args(rd, rd->next, rd->chunk);
		if (args == NULL)
			return shade_error_set(err, SHADE_ERR_NOMEM,
					       "out of memory");
		st = shade_invoke_async_ex(rd, rd->s, "read", args, NULL, &o,
					   &rd->f[slot], err);
		talloc_free(args);
		SHADE_CHECK(st);
		rd->n++;
		rd->next += rd->chunk;
	}
	return SHADE_OK;
}

/* Destructor: close. */
static int reader_destructor(shade_stream_reader *rd)
{
	shade_stream_close(rd);
	return 0;
}

shade_status shade_stream_open(TALLOC_CTX *mem_ctx, shade_ref *stream,
			       const shade_stream_opts *opts,
			       shade_stream_reader **out, shade_error **err)
{
	shade_stream_reader *rd;
	size_t chunk = opts && opts->chunk ? opts->chunk
					   : SHADE_STREAM_DEFAULT_CHUNK;
	unsigned window = opts && opts->window ? opts->window
					       : SHADE_STREAM_DEFAULT_WINDOW;
	struct proxy *p;
	size_t limit;

	*out = NULL;
	if (stream == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "stream is NULL");
	if (chunk > SHADE_STREAM_CHUNK_MAX || window > SHADE_STREAM_WINDOW_MAX)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "stream chunk %zu or window %u over "
				       "the limits (%zu, %u)", chunk, window,
				       SHADE_STREAM_CHUNK_MAX,
				       SHADE_STREAM_WINDOW_MAX);
	if (shade_ref_is_proxy(stream)) {
		SHADE_CHECK(api_live_proxy(stream, &p, err));
		limit = shade_transport_max_frame(p->conn->t);
		if (limit <= CHUNK_OVERHEAD || chunk > limit - CHUNK_OVERHEAD)
			return shade_error_set(err, SHADE_ERR_INVALID,
					       "stream chunk %zu does not fit "
					       "the frame limit of %zu", chunk,
					       limit);
	} else {
		window = 1; /* a local stream is read one call at a time */
	}
	rd = talloc_zero(mem_ctx, shade_stream_reader);
	if (rd == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	rd->s = shade_ref_retain(stream);
	rd->chunk = chunk;
	rd->window = window;
	rd->timeout_ms = opts ? opts->timeout_ms : 0;
	talloc_set_destructor(rd, reader_destructor);
	if (shade_ref_is_proxy(stream) && top_up(rd, err) != SHADE_OK) {
		talloc_free(rd);
		return err && *err ? (*err)->code : SHADE_ERR_NOMEM;
	}
	*out = rd;
	return SHADE_OK;
}

/* The next chunk of a local stream: one call. */
static shade_status read_local(shade_stream_reader *rd, shade_value **out,
			       shade_error **err)
{
	shade_value *args = read_args(rd, rd->next, rd->chunk);
	shade_status st;

	if (args == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	st = shade_invoke(rd, rd->s, "read", args, NULL, out, err);
	talloc_free(args);
	if (st == SHADE_OK)
		rd->next += rd->chunk;
	return st;
}

shade_status shade_stream_read(shade_stream_reader *rd, const uint8_t **data,
			       size_t *len, shade_error **err)
{
	shade_value *v = NULL;
	shade_error *e = NULL;
	shade_status st;
	uint64_t at;

	*data = NULL;
	*len = 0;
	if (rd->failed != SHADE_OK)
		return shade_error_set(err, rd->failed, "%s", rd->why);
	if (rd->s == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "stream reader is closed");
	TALLOC_FREE(rd->cur);
	if (rd->end) {
		drop_inflight(rd);
		return SHADE_OK;
	}
	at = rd->off;
	if (!shade_ref_is_proxy(rd->s)) {
		st = read_local(rd, &v, &e);
	} else {
		st = shade_future_wait(rd, rd->f[rd->head], rd->timeout_ms,
				       &v, &e);
		TALLOC_FREE(rd->f[rd->head]);
		rd->head = (rd->head + 1) % rd->window;
		rd->n--;
	}
	if (st != SHADE_OK)
		return reader_fail(rd, st, e, err);
	if (shade_value_kind(v) != SHADE_BYTES) {
		shade_error_set(&e, SHADE_ERR_PROTOCOL,
				"stream chunk at offset %" PRIu64 " is %s, not "
				"bytes", at,
				shade_kind_name(shade_value_kind(v)));
		talloc_free(v);
		return reader_fail(rd, SHADE_ERR_PROTOCOL, e, err);
	}
	if (v->len > rd->chunk) {
		shade_error_set(&e, SHADE_ERR_PROTOCOL,
				"stream chunk at offset %" PRIu64 " holds %"
				PRIu32 " bytes, more than the %zu asked", at,
				v->len, rd->chunk);
		talloc_free(v);
		return reader_fail(rd, SHADE_ERR_PROTOCOL, e, err);
	}
	rd->end = v->len < rd->chunk;
	rd->off += v->len;
	rd->cur = v;
	if (rd->end) {
		drop_inflight(rd);
	} else if (shade_ref_is_proxy(rd->s) && top_up(rd, &e) != SHADE_OK) {
		TALLOC_FREE(rd->cur);
		return reader_fail(rd, e ? e->code : SHADE_ERR_NOMEM, e, err);
	}
	*data = v->u.p;
	*len = v->len;
	return SHADE_OK;
}

uint64_t shade_stream_offset(const shade_stream_reader *rd)
{
	return rd->off;
}

void shade_stream_close(shade_stream_reader *rd)
{
	shade_call_opts oneway = { .oneway = true };
	bool lost;

	if (rd == NULL || rd->s == NULL)
		return;
	drop_inflight(rd);
	TALLOC_FREE(rd->cur);
	/* Tell the stream, unless it ended or its connection is gone (the
	 * release below frees it on the peer all the same). */
	lost = rd->failed == SHADE_ERR_CONNECTION_LOST;
	if (!rd->end && !lost)
		(void)shade_invoke_ex(rd, rd->s, "close", NULL, NULL, &oneway,
				      NULL, NULL);
	shade_ref_release(rd->s);
	rd->s = NULL;
}
