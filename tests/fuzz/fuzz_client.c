/*
 * fuzz_client.c - the client side of a connection (proxies, replies,
 * references and shapes received, callbacks) fed fuzzed server frames.
 *
 * Input: the byte stream a server sends (frames with their CBOR length
 * heads).  A connecting-side connection runs over a user transport that
 * hands out those frames as they are asked for and checks every frame
 * the client sends.  fl_script() then does what a program does with a
 * server: NAMES, LOOKUPs, attribute reads and writes, method calls with
 * local objects as arguments (so the server may call back into them),
 * bound methods, DESCRIBE/dir, container operations, iteration, a future
 * and narrowing; each step takes its reply from the next input frames.
 * When the input runs out the transport reports ConnectionLost, and every
 * later step must fail cleanly.
 *
 * The seeds in tests/fuzz/corpus/client/ are recordings of a real server
 * (exports.h) answering this very script (tests/fuzz/record_client.c).
 *
 * Invariants: every frame the client sends is a well-formed message;
 * HELLO first and once; every failed step reports its code in an error
 * object; afterwards no reference is left alive and nothing leaks.
 */
#include <string.h>

#include <talloc.h>

#include "shade/shade.h"
#include "conn/msg_int.h"
#include "object/object_int.h"
#include "exports.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Largest frame the fuzzed transport accepts. */
#define FL_MAX_FRAME ((size_t)1 << 20)

/* A tuple of the given ints (n of them) on ctx. */
static shade_value *fl_ints(TALLOC_CTX *ctx, int n, int a, int b)
{
	shade_value *t = shade_tuple_new(ctx, 2);

	if (n > 0)
		shade_seq_append_take(t, shade_int(t, a), NULL);
	if (n > 1)
		shade_seq_append_take(t, shade_int(t, b), NULL);
	return t;
}

/* Iterate r to its end (bounded). */
static void fl_iterate(TALLOC_CTX *ctx, shade_ref *r)
{
	shade_iter *it = NULL;
	shade_error *e = NULL;
	shade_status st;
	unsigned n;

	st = shade_iter_new(ctx, r, 2, &it, &e);
	if (fuzz_status(st, e) != SHADE_OK)
		return;
	for (n = 0; n < 1000; n++) {
		const shade_value *item = NULL;

		e = NULL;
		st = shade_iter_next(it, &item, &e);
		if (fuzz_status(st, e) != SHADE_OK || item == NULL)
			break;
	}
	talloc_free(it);
}

/* Container steps on r. */
static void fl_container(TALLOC_CTX *ctx, shade_ref *r, bool dict)
{
	shade_value *key = dict ? shade_str(ctx, "k") : shade_int(ctx, 0);
	shade_value *val = shade_str(ctx, "v"), *out = NULL;
	shade_error *e = NULL;
	shade_status st;
	size_t n;
	bool has;

	st = shade_len(r, &n, &e);
	fuzz_status(st, e), e = NULL;
	st = shade_getitem(ctx, r, key, &out, &e);
	fuzz_status(st, e), e = NULL;
	talloc_free(out), out = NULL;
	st = shade_setitem(r, key, val, &e);
	fuzz_status(st, e), e = NULL;
	st = shade_contains(r, val, &has, &e);
	fuzz_status(st, e), e = NULL;
	st = shade_append(r, val, &e);
	fuzz_status(st, e), e = NULL;
	st = shade_delitem(r, key, &e);
	fuzz_status(st, e), e = NULL;
	st = shade_force(ctx, r, &out, &e);
	fuzz_status(st, e), e = NULL;
	talloc_free(out), out = NULL;
	st = shade_force_range(ctx, r, 1, 2, &out, &e);
	fuzz_status(st, e), e = NULL;
	talloc_free(out);
	fl_iterate(ctx, r);
}

/* Steps on fuzz.Obj; fn is a local function passed along. */
static void fl_obj(TALLOC_CTX *ctx, shade_ref *r, shade_ref *fn)
{
	shade_value *out = NULL, *args, *bound = NULL;
	shade_value seven = shade_value_int(7);
	shade_future *fut = NULL;
	shade_error *e = NULL;
	shade_status st;
	char **names = NULL;
	size_t n;
	const shade_shape_desc *shape = NULL;

	st = shade_getattr(ctx, r, "x", &out, &e);
	fuzz_status(st, e), e = NULL;
	talloc_free(out), out = NULL;
	st = shade_setattr(r, "x", &seven, &e);
	fuzz_status(st, e), e = NULL;
	st = shade_invoke(ctx, r, "add", fl_ints(ctx, 2, 1, 2), NULL, &out,
			  &e);
	fuzz_status(st, e), e = NULL;
	talloc_free(out), out = NULL;
	st = shade_invoke(ctx, r, "fail", NULL, NULL, &out, &e);
	fuzz_status(st, e), e = NULL;
	talloc_free(out), out = NULL;
	args = shade_tuple_new(ctx, 2);
	shade_seq_append_take(args, shade_ref_value(args, fn), NULL);
	shade_seq_append_take(args, shade_int(args, 3), NULL);
	st = shade_invoke(ctx, r, "echo", args, NULL, &out, &e);
	fuzz_status(st, e), e = NULL;
	talloc_free(out), out = NULL;
	st = shade_invoke(ctx, r, "call", args, NULL, &out, &e);
	fuzz_status(st, e), e = NULL;
	talloc_free(out), out = NULL;
	talloc_free(args);
	st = shade_getattr(ctx, r, "add", &bound, &e);
	if (fuzz_status(st, e) == SHADE_OK &&
	    shade_value_kind(bound) == SHADE_REF) {
		e = NULL;
		st = shade_call(ctx, shade_value_as_ref(bound),
				fl_ints(ctx, 2, 4, 5), NULL, &out, &e);
		fuzz_status(st, e);
		talloc_free(out), out = NULL;
	}
	talloc_free(bound);
	e = NULL;
	st = shade_dir(ctx, r, &names, &n, &e);
	fuzz_status(st, e), e = NULL;
	talloc_free(names);
	st = shade_describe(r, &shape, &e);
	fuzz_status(st, e), e = NULL;
	st = shade_invoke_async(ctx, r, "add", fl_ints(ctx, 1, 5, 0), NULL,
				&fut, &e);
	if (fuzz_status(st, e) == SHADE_OK) {
		e = NULL;
		st = shade_future_wait(ctx, fut, -1, &out, &e);
		fuzz_status(st, e);
		talloc_free(out), out = NULL;
		talloc_free(fut);
	}
}

/* Look name up; NULL when that failed. */
static shade_ref *fl_lookup(shade_conn *c, const char *name)
{
	shade_ref *r = NULL;
	shade_error *e = NULL;
	shade_status st = shade_lookup(c, name, &r, &e);

	if (fuzz_status(st, e) != SHADE_OK)
		return NULL;
	FUZZ_CHECK(r != NULL);
	return r;
}

/* The script: every client step, in a fixed order.  local holds the
 * objects passed to the server (its "fn" is used). */
static void fl_script(shade_conn *c, shade_registry *local)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_ref *fn = shade_registry_get(local, "fn");
	shade_ref *r;
	shade_value *out = NULL;
	shade_error *e = NULL;
	shade_status st;
	char **names = NULL;
	size_t n;

	st = shade_names(ctx, c, &names, &n, &e);
	fuzz_status(st, e), e = NULL;
	talloc_free(names);

	if ((r = fl_lookup(c, "obj")) != NULL) {
		fl_obj(ctx, r, fn);
		shade_ref_release(r);
	}
	if ((r = fl_lookup(c, "list")) != NULL) {
		fl_container(ctx, r, false);
		shade_ref_release(r);
	}
	if ((r = fl_lookup(c, "dict")) != NULL) {
		fl_container(ctx, r, true);
		shade_ref_release(r);
	}
	if ((r = fl_lookup(c, "type")) != NULL) {
		st = shade_call(ctx, r, NULL, NULL, &out, &e);
		if (fuzz_status(st, e) == SHADE_OK &&
		    shade_value_kind(out) == SHADE_REF) {
			bool is = false;

			e = NULL;
			st = shade_isinstance(shade_value_as_ref(out), r, &is,
					      &e);
			fuzz_status(st, e);
		}
		talloc_free(out), out = NULL;
		shade_ref_release(r);
	}
	e = NULL;
	if ((r = fl_lookup(c, "typed")) != NULL) {
		uint32_t map[3];

		st = shade_narrow(r, &fz_counter_shape, map, &e);
		fuzz_status(st, e), e = NULL;
		st = shade_invoke(ctx, r, "inc", fl_ints(ctx, 1, 2, 0), NULL,
				  &out, &e);
		fuzz_status(st, e), e = NULL;
		talloc_free(out), out = NULL;
		st = shade_getattr(ctx, r, "value", &out, &e);
		fuzz_status(st, e), e = NULL;
		talloc_free(out), out = NULL;
		shade_ref_release(r);
	}
	st = shade_conn_flush(c, &e);
	fuzz_status(st, e);
	talloc_free(ctx);
}

/* The user transport's state: server frames in, client frames checked. */
struct fl_chan {
	const uint8_t *s; /* input stream */
	size_t n;         /* its length */
	size_t pos;       /* next frame header */
	unsigned sent;    /* frames the client sent */
};

/* Send: check the client's frame. */
static shade_status fl_send(void *impl, const uint8_t *frame, size_t len,
			    shade_error **err)
{
	struct fl_chan *ch = impl;
	struct msg m;

	(void)err;
	FUZZ_CHECK(len > 0 && len <= FL_MAX_FRAME);
	FUZZ_CHECK(msg_parse(frame, len, &m, NULL) == SHADE_OK);
	FUZZ_CHECK((m.op == OP_HELLO) == (ch->sent == 0));
	ch->sent++;
	return SHADE_OK;
}

/* Receive: the next frame of the input, ConnectionLost at its end. */
static shade_status fl_recv(void *impl, void *mem_ctx, uint8_t **frame,
			    size_t *len, int timeout_ms, shade_error **err)
{
	struct fl_chan *ch = impl;

	(void)timeout_ms;
	return fuzz_next_frame(ch->s, ch->n, &ch->pos, FL_MAX_FRAME, mem_ctx,
			       frame, len, err);
}

/* The fuzzed channel. */
static const shade_transport_ops fl_ops = {
	"fuzz", fl_send, fl_recv, NULL, NULL
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const fz_config cfg = { 64, 0 };
	long refs = obj_live_refs();
	TALLOC_CTX *ctx = talloc_new(NULL);
	struct fl_chan ch = { data, size, 0, 0 };
	shade_transport_opts topts;
	shade_transport *t = NULL;
	shade_conn *c = NULL;
	shade_registry *local;

	if (ctx == NULL)
		return 0;
	local = fz_exports_new(ctx, &cfg);
	memset(&topts, 0, sizeof(topts));
	topts.max_frame = FL_MAX_FRAME;
	if (local == NULL ||
	    shade_transport_new(ctx, &fl_ops, &ch, &topts, &t, NULL) !=
		    SHADE_OK ||
	    shade_conn_new(ctx, t, false, NULL, &c, NULL) != SHADE_OK) {
		talloc_free(ctx);
		return 0;
	}
	fl_script(c, local);
	talloc_free(c);
	talloc_free(ctx);
	FUZZ_CHECK(obj_live_refs() == refs);
	return 0;
}
