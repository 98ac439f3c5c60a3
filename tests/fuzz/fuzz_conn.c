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
 * An input whose first frame is a HELLO with feature bit 0 (AUTH) meets
 * a connection holding keys (protocol.md §3.7): the fuzzer exercises the
 * authentication exchange, which no input can pass (the server's nonce
 * is random).  Other inputs meet one without keys but with an access
 * hook (allowing everything) and a read-only export, "ro_obj".
 *
 * Invariants:
 *   - every frame the server sends is a well-formed message (msg_parse
 *     accepts it), HELLO at most once and only first: the first frame
 *     is HELLO or ERROR id 0;
 *   - with keys, nothing is served: the server sends HELLO, AUTH and
 *     ERROR id 0 only;
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
	bool keyed;       /* the connection holds keys */
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
	FUZZ_CHECK(!ch->keyed || m.op == OP_HELLO || m.op == OP_AUTH ||
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

/* The keys of the keyed mode. */
static const shade_auth_key fx_keys[] = {
	{ "alice", (const uint8_t *)"0123456789abcdef0123456789abcdef", 32 },
	{ "bob", (const uint8_t *)"fedcba9876543210fedcba9876543210", 32 },
};

/* The access hook of the other mode: sees everything, refuses nothing. */
static bool fx_access(void *udata, const shade_identity *who,
		      const shade_access *what)
{
	(void)udata;
	FUZZ_CHECK(who != NULL && who->key == NULL && what != NULL);
	return true;
}

/* True when the input's first frame is a HELLO asking for AUTH. */
static bool fx_wants_auth(const uint8_t *data, size_t size)
{
	size_t pos = 0, len = 0;
	uint8_t *frame = NULL;
	uint64_t version, features;
	struct msg m;
	bool yes = false;

	if (fuzz_next_frame(data, size, &pos, FX_MAX_FRAME, NULL, &frame,
			    &len, NULL) != SHADE_OK)
		return false;
	if (msg_parse(frame, len, &m, NULL) == SHADE_OK &&
	    m.op == OP_HELLO &&
	    shade_cbor_read_uint(&m.d, &version, NULL) == SHADE_OK &&
	    shade_cbor_read_uint(&m.d, &features, NULL) == SHADE_OK)
		yes = (features & 1) != 0;
	talloc_free(frame);
	return yes;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const fz_config cfg = { 4096, 0 };
	long refs = obj_live_refs();
	TALLOC_CTX *ctx = talloc_new(NULL);
	struct fx_chan ch = { data, size, 0, 0, false, false, false };
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
	ch.keyed = fx_wants_auth(data, size);
	if (ch.keyed) {
		copts.auth = fx_keys;
		copts.n_auth = 2;
	} else {
		copts.access = fx_access;
	}
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
