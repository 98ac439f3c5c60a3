/*
 * fuzz_conn.c - a whole server connection fed fuzzed frames.
 *
 * Input: the byte stream a client sends (frames: CBOR length head +
 * payload, as on a socket).  The accepting side of a connection runs over
 * a user transport that hands out those frames one by one and records
 * what the server sends; the connection exports the objects of
 * exports.h by name, so LOOKUP, member access, calls, containers,
 * references (tags 200/201), releases, callbacks nested in a call (their
 * replies are the next frames of the input) and BYE are all reachable.
 * The connection is driven with shade_conn_process() the way a server
 * loop drives it, until the input runs out (the transport then reports
 * ConnectionLost, as a closed socket would).
 *
 * Invariants:
 *   - every frame the server sends is a well-formed message (msg_parse
 *     accepts it), HELLO at most once and only first: the first frame
 *     is HELLO or ERROR id 0;
 *   - the connection ends with a clean error code;
 *   - once the connection and the registry are freed, no reference is
 *     left alive (obj_live_refs back to its start) and LeakSanitizer finds
 *     nothing.
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
#define FX_MAX_FRAME ((size_t)1 << 20)

/* The user transport's state: the input stream and what was sent. */
struct fx_chan {
	const uint8_t *s; /* input stream */
	size_t n;         /* its length */
	size_t pos;       /* next frame header */
	unsigned sent;    /* frames the server sent */
	bool hello_sent;  /* one of them was HELLO */
	bool closed;      /* close callback ran */
};

/* Send: check the server's frame. */
static shade_status fx_send(void *impl, const uint8_t *frame, size_t len,
			    shade_error **err)
{
	struct fx_chan *ch = impl;
	struct msg m;
	shade_error *e = NULL;

	(void)err;
	FUZZ_CHECK(len > 0 && len <= FX_MAX_FRAME);
	FUZZ_CHECK(msg_parse(frame, len, &m, &e) == SHADE_OK);
	FUZZ_CHECK(m.op != OP_HELLO || !ch->hello_sent);
	ch->hello_sent |= m.op == OP_HELLO;
	FUZZ_CHECK(m.op != OP_HELLO || ch->sent == 0);
	/* The accepting side says HELLO before anything else (protocol.md
	 * §3.1); a malformed request before HELLO ends the connection. */
	FUZZ_CHECK(ch->sent > 0 || m.op == OP_HELLO ||
		   (m.op == OP_ERROR && m.id == 0));
	ch->sent++;
	return SHADE_OK;
}

/* Receive: the next frame of the input, ConnectionLost at its end. */
static shade_status fx_recv(void *impl, void *mem_ctx, uint8_t **frame,
			    size_t *len, int timeout_ms, shade_error **err)
{
	struct fx_chan *ch = impl;

	(void)timeout_ms;
	return fuzz_next_frame(ch->s, ch->n, &ch->pos, FX_MAX_FRAME, mem_ctx,
			       frame, len, err);
}

/* Close: remember it ran. */
static void fx_close(void *impl)
{
	struct fx_chan *ch = impl;

	FUZZ_CHECK(!ch->closed);
	ch->closed = true;
}

/* The fuzzed channel. */
static const shade_transport_ops fx_ops = {
	"fuzz", fx_send, fx_recv, fx_close, NULL
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const fz_config cfg = { 4096, 0 };
	long refs = obj_live_refs();
	TALLOC_CTX *ctx = talloc_new(NULL);
	struct fx_chan ch = { data, size, 0, 0, false, false };
	shade_transport_opts topts;
	shade_conn_opts copts;
	shade_transport *t = NULL;
	shade_conn *c = NULL;
	shade_registry *reg;
	shade_error *e = NULL;
	shade_status st = SHADE_OK;
	unsigned turns;

	if (ctx == NULL)
		return 0;
	reg = fz_exports_new(ctx, &cfg);
	memset(&topts, 0, sizeof(topts));
	topts.max_frame = FX_MAX_FRAME;
	memset(&copts, 0, sizeof(copts));
	copts.names = reg;
	copts.max_pending = 8;
	if (reg == NULL ||
	    shade_transport_new(ctx, &fx_ops, &ch, &topts, &t, NULL) !=
		    SHADE_OK ||
	    shade_conn_new(ctx, t, true, &copts, &c, NULL) != SHADE_OK) {
		talloc_free(ctx);
		return 0;
	}
	/* Each turn consumes at least one frame until the connection ends. */
	for (turns = 0; turns <= size + 1; turns++) {
		st = shade_conn_process(c, 4, &e);
		if (st < 0)
			break;
		shade_error_clear(&e);
	}
	FUZZ_CHECK(st < 0);
	FUZZ_CHECK(e != NULL && e->code == st);
	FUZZ_CHECK(!shade_conn_is_open(c));
	shade_error_free(e);
	talloc_free(ctx);
	FUZZ_CHECK(ch.closed);
	FUZZ_CHECK(obj_live_refs() == refs);
	return 0;
}
