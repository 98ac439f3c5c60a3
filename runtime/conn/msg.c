/*
 * msg.c - building and parsing protocol messages (see msg_int.h and
 * doc/protocol.md §3).
 */
#include <string.h>

#include <talloc.h>

#include "shade/cbor.h"
#include "shade/value.h"
#include "base/log_int.h"
#include "conn/msg_int.h"

/* Per opcode: name, fixed field count, whether one optional trailing
 * item (opts, or HELLO's known list, or RETURN's value) is allowed, and
 * whether it is a request. */
static const struct {
	const char *name;  /* for messages */
	uint8_t fixed;     /* fields after op and id */
	bool optional;     /* one more item allowed */
	bool request;      /* expects RETURN/ERROR */
} ops[OP_COUNT_] = {
	[OP_HELLO] = { "HELLO", 2, true, false },
	[OP_RETURN] = { "RETURN", 0, true, false },
	[OP_ERROR] = { "ERROR", 5, true, false },
	[OP_INVOKE] = { "INVOKE", 3, true, true },
	[OP_GETATTR] = { "GETATTR", 2, true, true },
	[OP_SETATTR] = { "SETATTR", 3, true, true },
	[OP_CALL] = { "CALL", 2, true, true },
	[OP_LOOKUP] = { "LOOKUP", 1, true, true },
	[OP_NAMES] = { "NAMES", 0, true, true },
	[OP_DESCRIBE] = { "DESCRIBE", 1, true, true },
	[OP_RELEASE] = { "RELEASE", 0, false, false },
	[OP_CANCEL] = { "CANCEL", 0, false, false },
	[OP_BYE] = { "BYE", 0, false, false },
	[OP_LEN] = { "LEN", 1, true, true },
	[OP_GETITEM] = { "GETITEM", 2, true, true },
	[OP_SETITEM] = { "SETITEM", 3, true, true },
	[OP_DELITEM] = { "DELITEM", 2, true, true },
	[OP_CONTAINS] = { "CONTAINS", 2, true, true },
	[OP_APPEND] = { "APPEND", 2, true, true },
	[OP_FORCE] = { "FORCE", 3, true, true },
	[OP_AUTH] = { "AUTH", 3, false, false },
	[OP_DROP] = { "DROP", 0, false, false },
	[OP_NAMES_IN] = { "NAMES_IN", 1, true, true },
	[OP_TYPEOF] = { "TYPEOF", 1, true, true },
};

/* True when op names a message (the table has gaps). */
static inline bool op_known(uint64_t op)
{
	return op < OP_COUNT_ && ops[op].name != NULL;
}

bool msg_is_request(unsigned op)
{
	return op_known(op) && ops[op].request;
}

const char *msg_op_name(unsigned op)
{
	return op_known(op) ? ops[op].name : "unknown";
}

void msg_trace(const char *side, const char *address, const char *dir,
	       const uint8_t *frame, size_t len)
{
	shade_cbor_dec d;
	uint64_t n = 0, op = OP_COUNT_, id = 0;
	char *hex = NULL;

	shade_cbor_dec_init(&d, frame, len);
	if (shade_cbor_read_array(&d, &n, NULL) != SHADE_OK || n < 2 ||
	    shade_cbor_read_uint(&d, &op, NULL) != SHADE_OK ||
	    shade_cbor_read_uint(&d, &id, NULL) != SHADE_OK)
		op = OP_COUNT_;
	if (LOG_ON(SHADE_LOG_MESSAGES, 2))
		hex = shade_hex_encode(NULL, frame, len);
	log_emit(SHADE_LOG_MESSAGES, 1, "%s: %s %s %s id %llu, %zu bytes%s%s",
		 side, address, dir, msg_op_name((unsigned)op),
		 (unsigned long long)id, len, hex ? ": " : "",
		 hex ? hex : "");
	talloc_free(hex);
}

enum obj_opcode msg_obj_op(unsigned op)
{
	switch (op) {
	case OP_GETATTR: return OBJ_OP_GETATTR;
	case OP_SETATTR: return OBJ_OP_SETATTR;
	case OP_INVOKE: return OBJ_OP_INVOKE;
	case OP_CALL: return OBJ_OP_CALL;
	case OP_LEN: return OBJ_OP_LEN;
	case OP_GETITEM: return OBJ_OP_GETITEM;
	case OP_SETITEM: return OBJ_OP_SETITEM;
	case OP_DELITEM: return OBJ_OP_DELITEM;
	case OP_CONTAINS: return OBJ_OP_CONTAINS;
	case OP_APPEND: return OBJ_OP_APPEND;
	case OP_FORCE: return OBJ_OP_FORCE;
	default: return OBJ_OP_COUNT_;
	}
}

unsigned msg_opts_items(const struct msg_opts *o)
{
	if (o == NULL)
		return 0;
	if (o->in != 0 || o->timeout_ms != 0 || o->traceback ||
	    o->byvalue || o->keep || o->on != 0 || o->n_await > 0 ||
	    (o->kwargs != NULL && shade_dict_len(o->kwargs) > 0))
		return 1;
	return 0;
}

shade_status msg_begin(shade_buf *b, unsigned op, uint64_t id,
		       unsigned nfields, bool opts)
{
	unsigned n = 2u + nfields + (opts ? 1u : 0u);
	uint8_t *p;

	/* The common case, written in place: one-byte array head and
	 * opcode, an id of at most four bytes (always shortest form). */
	if (n < 24 && op < 24 && id <= UINT32_MAX && b->status == SHADE_OK &&
	    b->cap - b->len >= 7) {
		p = b->data + b->len;
		p[0] = (uint8_t)(SHADE_CBOR_ARRAY << 5 | n);
		p[1] = (uint8_t)op;
		if (id < 24) {
			p[2] = (uint8_t)id;
			b->len += 3;
		} else if (id <= UINT8_MAX) {
			p[2] = 24;
			p[3] = (uint8_t)id;
			b->len += 4;
		} else if (id <= UINT16_MAX) {
			p[2] = 25;
			p[3] = (uint8_t)(id >> 8);
			p[4] = (uint8_t)id;
			b->len += 5;
		} else {
			p[2] = 26;
			p[3] = (uint8_t)(id >> 24);
			p[4] = (uint8_t)(id >> 16);
			p[5] = (uint8_t)(id >> 8);
			p[6] = (uint8_t)id;
			b->len += 7;
		}
		return SHADE_OK;
	}
	shade_cbor_put_array(b, n);
	shade_cbor_put_uint(b, op);
	return shade_cbor_put_uint(b, id);
}

bool msg_add_opts_item(shade_buf *b)
{
	if (b->len < 1 || b->data[0] < (SHADE_CBOR_ARRAY << 5) ||
	    b->data[0] >= (SHADE_CBOR_ARRAY << 5 | 23))
		return false;
	b->data[0]++;
	return true;
}

shade_status msg_put_opts(shade_buf *b, const struct msg_opts *o,
			  const shade_cbor_opts *copts, shade_error **err)
{
	bool kw = o->kwargs != NULL && shade_dict_len(o->kwargs) > 0;
	size_t i;

	shade_cbor_put_map(b, (o->in != 0) + (o->timeout_ms != 0) + kw +
				      o->traceback + o->byvalue + o->keep +
				      (o->on != 0) + (o->n_await > 0));
	if (o->traceback) {
		shade_cbor_put_uint(b, OPT_TRACEBACK);
		shade_cbor_put_uint(b, 1);
	}
	if (o->in != 0) {
		shade_cbor_put_uint(b, OPT_IN);
		shade_cbor_put_uint(b, o->in);
	}
	if (o->timeout_ms != 0) {
		shade_cbor_put_uint(b, OPT_TIMEOUT);
		shade_cbor_put_uint(b, o->timeout_ms);
	}
	if (o->byvalue) {
		shade_cbor_put_uint(b, OPT_BYVALUE);
		shade_cbor_put_uint(b, 1);
	}
	if (o->keep) {
		shade_cbor_put_uint(b, OPT_KEEP);
		shade_cbor_put_uint(b, 1);
	}
	if (o->on != 0) {
		shade_cbor_put_uint(b, OPT_ON);
		shade_cbor_put_array(b, 1 + o->on_n);
		shade_cbor_put_uint(b, o->on);
		for (i = 0; i < o->on_n; i++)
			shade_cbor_put_cstr(b, o->on_path[i]);
	}
	if (o->n_await > 0) {
		shade_cbor_put_uint(b, OPT_AWAIT);
		shade_cbor_put_array(b, o->n_await);
		for (i = 0; i < o->n_await; i++)
			shade_cbor_put_uint(b, o->await[i]);
	}
	if (kw) {
		shade_cbor_put_uint(b, OPT_KWARGS);
		return shade_cbor_encode_value(b, o->kwargs, copts, err);
	}
	return b->status;
}

/* The status ERROR's `more` carries for e: its code when the name
 * alone would give another (a user error), else 0. */
static int64_t more_status(const shade_error *e)
{
	const char *name = e->name ? e->name : shade_status_name(e->code);

	return shade_status_from_name(name) != e->code ? (int64_t)e->code : 0;
}

/* Write ERROR's `more` map for e (see msg_put_error). */
static void put_more(shade_buf *b, const shade_error *e,
		     const shade_cbor_opts *copts)
{
	int64_t status = more_status(e);
	size_t mark;

	shade_cbor_put_map(b, (status != 0) + (e->user_code != 0) +
				      (e->traceback != NULL));
	if (status != 0) {
		shade_cbor_put_uint(b, MORE_STATUS);
		shade_cbor_put_int(b, status);
	}
	if (e->user_code != 0) {
		shade_cbor_put_uint(b, MORE_USER_CODE);
		shade_cbor_put_int(b, e->user_code);
	}
	if (e->traceback == NULL)
		return;
	shade_cbor_put_uint(b, MORE_TRACEBACK);
	mark = b->len;
	if (shade_cbor_encode_value(b, e->traceback, copts, NULL) !=
	    SHADE_OK) {
		/* A traceback that cannot travel (a proxy of another
		 * connection): none. */
		b->len = mark;
		if (b->status != SHADE_ERR_NOMEM)
			b->status = SHADE_OK;
		shade_cbor_put_null(b);
	}
}

shade_status msg_put_error(shade_buf *b, uint64_t id, const shade_error *e,
			   const shade_cbor_opts *copts, bool more)
{
	size_t i, n = 0, mark;

	more = more && (more_status(e) != 0 || e->user_code != 0 ||
			e->traceback != NULL);
	msg_begin(b, OP_ERROR, id, 5, more);
	shade_cbor_put_cstr(b, e->name ? e->name : shade_status_name(e->code));
	shade_cbor_put_uint(b, (uint64_t)e->category);
	shade_cbor_put_cstr(b, e->message ? e->message : "");
	mark = b->len;
	if (e->args != NULL && shade_value_is_seq(e->args)) {
		const shade_value *items = shade_seq_items(e->args, &n);

		shade_cbor_put_array(b, n);
		for (i = 0; i < n; i++)
			if (shade_cbor_encode_value(b, &items[i], copts,
						    NULL) != SHADE_OK)
				break;
		if (i < n) {
			/* An argument that cannot travel: send none. */
			b->len = mark;
			if (b->status != SHADE_ERR_NOMEM)
				b->status = SHADE_OK;
			shade_cbor_put_array(b, 0);
		}
	} else {
		shade_cbor_put_array(b, 0);
	}
	shade_cbor_put_array(b, e->chain_len);
	for (i = 0; i < e->chain_len; i++) {
		shade_cbor_put_array(b, 3);
		shade_cbor_put_cstr(b, e->chain[i].side);
		shade_cbor_put_cstr(b, e->chain[i].type);
		shade_cbor_put_cstr(b, e->chain[i].member);
	}
	if (more)
		put_more(b, e, copts);
	return b->status;
}

/* Parse OPT_ON at d ([rid, name...], doc/protocol.md §13) into m: the
 * request id read, the names checked to be text and skipped. */
static shade_status parse_on(shade_cbor_dec *d, struct msg *m,
			     shade_error **err)
{
	uint64_t n, i;
	size_t pos = d->pos;

	SHADE_CHECK(shade_cbor_read_array(d, &n, err));
	if (n == SHADE_CBOR_INDEFINITE || n < 1)
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "%s: option 4 (on) is not [rid, "
				       "name...]", msg_op_name(m->op));
	SHADE_CHECK(shade_cbor_read_uint(d, &m->on, err));
	if (m->on == 0)
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "%s: option 4 (on) names request 0",
				       msg_op_name(m->op));
	for (i = 1; i < n; i++) {
		shade_cbor_major major = SHADE_CBOR_UINT;

		SHADE_CHECK(shade_cbor_peek(d, &major, err));
		if (major != SHADE_CBOR_TEXT)
			return shade_error_set(err, SHADE_ERR_PROTOCOL,
					       "%s: option 4 (on): name %llu "
					       "is not text",
					       msg_op_name(m->op),
					       (unsigned long long)i);
		SHADE_CHECK(shade_cbor_skip(d, 0, err));
	}
	m->on_pos = pos;
	return SHADE_OK;
}

shade_status msg_skip_await(shade_cbor_dec *d, const char *op,
			    shade_error **err)
{
	uint64_t n, i, rid;

	SHADE_CHECK(shade_cbor_read_array(d, &n, err));
	if (n == SHADE_CBOR_INDEFINITE || n < 1)
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "%s: option 15 (await) is not [rid, "
				       "...]", op);
	for (i = 0; i < n; i++) {
		SHADE_CHECK(shade_cbor_read_uint(d, &rid, err));
		if (rid == 0)
			return shade_error_set(err, SHADE_ERR_PROTOCOL,
					       "%s: option 15 (await) names "
					       "request 0", op);
	}
	return SHADE_OK;
}

/* Parse the opts map at d into m. */
static shade_status parse_opts(shade_cbor_dec *d, struct msg *m,
			       shade_error **err)
{
	uint64_t n, i, key, v;

	SHADE_CHECK(shade_cbor_read_map(d, &n, err));
	if (n == SHADE_CBOR_INDEFINITE)
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "%s: indefinite opts map",
				       msg_op_name(m->op));
	for (i = 0; i < n; i++) {
		SHADE_CHECK(shade_cbor_read_uint(d, &key, err));
		switch (key) {
		case OPT_IN:
			SHADE_CHECK(shade_cbor_read_uint(d, &m->in, err));
			break;
		case OPT_TIMEOUT:
			SHADE_CHECK(shade_cbor_read_uint(d, &m->timeout_ms,
							 err));
			break;
		case OPT_KWARGS:
			m->kwargs_pos = d->pos;
			SHADE_CHECK(shade_cbor_skip(d, 0, err));
			break;
		case OPT_TRACEBACK:
			SHADE_CHECK(shade_cbor_read_uint(d, &v, err));
			m->traceback = v != 0;
			break;
		case OPT_BYVALUE:
			SHADE_CHECK(shade_cbor_read_uint(d, &key, err));
			m->byvalue = key != 0;
			break;
		case OPT_KEEP:
			SHADE_CHECK(shade_cbor_read_uint(d, &v, err));
			m->keep = v != 0;
			break;
		case OPT_ON:
			SHADE_CHECK(parse_on(d, m, err));
			break;
		case OPT_AWAIT:
			m->await_pos = d->pos;
			SHADE_CHECK(msg_skip_await(d, msg_op_name(m->op),
						   err));
			break;
		default:
			SHADE_CHECK(shade_cbor_skip(d, 0, err));
			break;
		}
	}
	return SHADE_OK;
}

/*
 * The fast path of msg_parse: frames whose array head and opcode are one
 * byte each and whose items have definite lengths and heads of at most
 * nine bytes.  It only ever accepts what parse_full() accepts, with the
 * same result; anything else (every malformed frame among it) it leaves
 * to parse_full(), which reports the error.
 */

/* Containers and tags the fast path walks through per message, fewer
 * than SHADE_CBOR_DEFAULT_MAX_DEPTH so the depth limit cannot trip. */
#define FAST_MAX_NEST 32

/* Read the head at *p (before end) into its major type and argument and
 * move *p past it.  False, *p unmoved, at the end of the input and for
 * additional information 28-31 (reserved, indefinite, break). */
static inline bool fast_head(const uint8_t **p, const uint8_t *end,
			     unsigned *major, uint64_t *arg)
{
	const uint8_t *q = *p;
	size_t left = (size_t)(end - q);
	unsigned ai;

	if (left == 0)
		return false;
	*major = q[0] >> 5;
	ai = q[0] & 31;
	if (ai < 24) {
		*arg = ai;
		*p = q + 1;
		return true;
	}
	switch (ai) {
	case 24:
		if (left < 2)
			return false;
		*arg = q[1];
		*p = q + 2;
		return true;
	case 25:
		if (left < 3)
			return false;
		*arg = (uint64_t)q[1] << 8 | q[2];
		*p = q + 3;
		return true;
	case 26:
		if (left < 5)
			return false;
		*arg = (uint64_t)q[1] << 24 | (uint64_t)q[2] << 16 |
		       (uint64_t)q[3] << 8 | q[4];
		*p = q + 5;
		return true;
	case 27:
		if (left < 9)
			return false;
		*arg = 0;
		for (int i = 1; i <= 8; i++)
			*arg = *arg << 8 | q[i];
		*p = q + 9;
		return true;
	default:
		return false;
	}
}

/* Step from q past `items` whole items, all before end: where they end,
 * or NULL when one of them needs shade_cbor_skip (or makes it fail). */
static const uint8_t *fast_skip(const uint8_t *q, const uint8_t *end,
				uint64_t items)
{
	const uint8_t *at;
	unsigned major, nest = 0;
	uint64_t arg;

	while (items > 0) {
		if (q == end)
			return NULL;
		items--;
		/* A one-byte integer, the most common field. */
		if (*q < 0x40 && (*q & 31) < 24) {
			q++;
			continue;
		}
		/* A text of 0-23 bytes (one-byte head), and the ones right
		 * after it in one tight loop: a list of short strings. */
		if (*q >= 0x60 && *q <= 0x77) {
			if ((size_t)(end - q) <= (size_t)(*q & 31))
				return NULL;
			q += 1 + (*q & 31);
			/* where 24 bytes are left any such item fits */
			while (items > 0 && end - q >= 24 &&
			       (unsigned)(*q - 0x60) < 24) {
				q += 1 + (*q - 0x60);
				items--;
			}
			continue;
		}
		at = q;
		if (!fast_head(&q, end, &major, &arg))
			return NULL;
		switch (major) {
		case SHADE_CBOR_UINT:
		case SHADE_CBOR_NINT:
			break;
		case SHADE_CBOR_BYTES:
		case SHADE_CBOR_TEXT:
			if (arg > (size_t)(end - q))
				return NULL;
			q += arg;
			break;
		case SHADE_CBOR_ARRAY:
		case SHADE_CBOR_MAP:
		case SHADE_CBOR_TAG:
			/* Every item takes a byte: a longer count fails. */
			if (++nest > FAST_MAX_NEST || arg > (size_t)(end - q))
				return NULL;
			items += major == SHADE_CBOR_ARRAY ? arg
				 : major == SHADE_CBOR_MAP ? 2 * arg : 1;
			break;
		default:
			/* A two-byte simple value below 32 is malformed. */
			if (*at == 0xf8 && arg < 32)
				return NULL;
			break;
		}
	}
	return q;
}

/* The opts of a fast-path request m whose opts item starts at p: read
 * them into m; false when parse_full() must look.  Out of line, with
 * the cursor it needs. */
static __attribute__((noinline)) bool parse_fast_opts(const uint8_t *frame,
						      size_t len,
						      const uint8_t *p,
						      struct msg *m)
{
	shade_cbor_dec probe;

	shade_cbor_dec_init(&probe, frame, len);
	probe.pos = (size_t)(p - frame);
	return parse_opts(&probe, m, NULL) == SHADE_OK &&
	       shade_cbor_dec_done(&probe);
}

/* Parse the common frame into m (see above); false: use parse_full(). */
static bool parse_fast(const uint8_t *frame, size_t len, struct msg *m)
{
	const uint8_t *p = frame, *end = frame + len;
	unsigned major, op, n, fixed;

	if (frame == NULL || len < 3)
		return false;
	n = frame[0] ^ (SHADE_CBOR_ARRAY << 5); /* >= 32 unless an array */
	op = frame[1];                           /* one-byte uint: 0-23 */
	if (n < 2 || n >= 24 || op >= 24 || !op_known(op) || op == OP_RELEASE ||
	    op == OP_DROP)
		return false;
	p += 2;
	if (!fast_head(&p, end, &major, &m->id) || major != SHADE_CBOR_UINT)
		return false;
	n -= 2;
	fixed = ops[op].fixed;
	if (n < fixed || n > fixed + (ops[op].optional ? 1u : 0u))
		return false;
	m->op = op;
	m->d.buf = frame;
	m->d.len = len;
	m->d.pos = (size_t)(p - frame);
	m->d.depth = 0;
	m->in = 0;
	m->timeout_ms = 0;
	m->kwargs_pos = 0;
	m->traceback = false;
	m->byvalue = false;
	m->keep = false;
	m->on = 0;
	m->on_pos = 0;
	m->await_pos = 0;
	if (n > fixed && ops[op].request) {
		if ((p = fast_skip(p, end, fixed)) == NULL ||
		    !parse_fast_opts(frame, len, p, m))
			return false;
		m->nfields = fixed;
		return true;
	}
	m->nfields = n;
	return fast_skip(p, end, n) == end;
}

/* Parse any frame into m, reporting what is wrong with it (out of line:
 * the fast path needs no stack frame of its own). */
static __attribute__((noinline)) shade_status
parse_full(const uint8_t *frame, size_t len, struct msg *m, shade_error **err)
{
	uint64_t n, op, i;
	shade_cbor_dec probe;

	memset(m, 0, sizeof(*m));
	m->op = OP_COUNT_;
	shade_cbor_dec_init(&m->d, frame, len);
	SHADE_CHECK(shade_cbor_read_array(&m->d, &n, err));
	if (n == SHADE_CBOR_INDEFINITE || n < 2)
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "message is not an array [op, id, ...]");
	SHADE_CHECK(shade_cbor_read_uint(&m->d, &op, err));
	m->op = op_known(op) ? (unsigned)op : OP_COUNT_;
	SHADE_CHECK(shade_cbor_read_uint(&m->d, &m->id, err));
	if (!op_known(op))
		return shade_error_set(err, SHADE_ERR_UNIMPLEMENTED,
				       "unknown opcode %llu",
				       (unsigned long long)op);
	m->nfields = n - 2;
	if (m->op == OP_RELEASE) {
		if (m->nfields % 2 != 0)
			return shade_error_set(err, SHADE_ERR_PROTOCOL,
					       "RELEASE: odd number of fields");
		return SHADE_OK;
	}
	if (m->op == OP_DROP)
		return SHADE_OK; /* any number of request ids */
	if (m->nfields < ops[m->op].fixed ||
	    m->nfields > ops[m->op].fixed + (ops[m->op].optional ? 1u : 0u))
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "%s: %llu fields, want %u",
				       ops[m->op].name,
				       (unsigned long long)m->nfields,
				       ops[m->op].fixed);
	if (m->nfields > ops[m->op].fixed && ops[m->op].request) {
		/* Trailing opts: skip the fixed fields on a probe cursor. */
		probe = m->d;
		for (i = 0; i < ops[m->op].fixed; i++)
			SHADE_CHECK(shade_cbor_skip(&probe, 0, err));
		SHADE_CHECK(parse_opts(&probe, m, err));
		if (!shade_cbor_dec_done(&probe))
			return shade_error_set(err, SHADE_ERR_PROTOCOL,
					       "%s: bytes after the message",
					       ops[m->op].name);
		m->nfields = ops[m->op].fixed;
	} else {
		/* No opts: the fields must end the frame (protocol.md §2). */
		probe = m->d;
		for (i = 0; i < m->nfields; i++)
			SHADE_CHECK(shade_cbor_skip(&probe, 0, err));
		if (!shade_cbor_dec_done(&probe))
			return shade_error_set(err, SHADE_ERR_PROTOCOL,
					       "%s: bytes after the message",
					       ops[m->op].name);
	}
	return SHADE_OK;
}

shade_status msg_parse(const uint8_t *frame, size_t len, struct msg *m,
		       shade_error **err)
{
	if (parse_fast(frame, len, m))
		return SHADE_OK;
	return parse_full(frame, len, m, err);
}

/* Read a text field as a NUL-terminated copy on mem_ctx. */
static shade_status read_cstr(TALLOC_CTX *mem_ctx, shade_cbor_dec *d,
			      char **out, shade_error **err)
{
	return shade_cbor_read_text_dup(mem_ctx, d, out, NULL, err);
}

/* Read the args and chain of an ERROR into e. */
static shade_status read_error_tail(shade_error *e, shade_cbor_dec *d,
				    const shade_cbor_opts *copts,
				    shade_error **err)
{
	uint64_t n, i, f;
	shade_value *args;
	char *side, *type, *member;

	SHADE_CHECK(shade_cbor_decode_value(e, d, copts, &args, err));
	if (shade_value_kind(args) != SHADE_TUPLE) {
		talloc_free(args);
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "ERROR: args is not an array");
	}
	if (shade_seq_len(args) > 0)
		e->args = args;
	else
		talloc_free(args);
	SHADE_CHECK(shade_cbor_read_array(d, &n, err));
	if (n == SHADE_CBOR_INDEFINITE)
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "ERROR: indefinite chain");
	for (i = 0; i < n; i++) {
		SHADE_CHECK(shade_cbor_read_array(d, &f, err));
		if (f != 3)
			return shade_error_set(err, SHADE_ERR_PROTOCOL,
					       "ERROR: chain entry of %llu "
					       "fields", (unsigned long long)f);
		SHADE_CHECK(read_cstr(e, d, &side, err));
		SHADE_CHECK(read_cstr(e, d, &type, err));
		SHADE_CHECK(read_cstr(e, d, &member, err));
		if (shade_error_push_frame(e, side, type, member) != SHADE_OK)
			return shade_error_set(err, SHADE_ERR_NOMEM,
					       "out of memory");
		talloc_free(side);
		talloc_free(type);
		talloc_free(member);
	}
	return SHADE_OK;
}

/* Read ERROR's `more` map into e (unknown keys skipped). */
static shade_status read_more(shade_error *e, shade_cbor_dec *d,
			      const shade_cbor_opts *copts, shade_error **err)
{
	uint64_t n, i, key;
	int64_t v;
	shade_value *tb;

	SHADE_CHECK(shade_cbor_read_map(d, &n, err));
	if (n == SHADE_CBOR_INDEFINITE)
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "ERROR: indefinite more map");
	for (i = 0; i < n; i++) {
		SHADE_CHECK(shade_cbor_read_uint(d, &key, err));
		if ((key == MORE_STATUS || key == MORE_USER_CODE)) {
			SHADE_CHECK(shade_cbor_read_int(d, &v, err));
			if (key == MORE_USER_CODE)
				e->user_code = v;
			else if (v < 0 && v > SHADE_STATUS_MIN_)
				e->code = (shade_status)v;
		} else if (key == MORE_TRACEBACK && copts != NULL) {
			SHADE_CHECK(shade_cbor_decode_value(e, d, copts, &tb,
							    err));
			if (shade_value_kind(tb) == SHADE_REF)
				e->traceback = tb;
			else
				talloc_free(tb);
		} else {
			SHADE_CHECK(shade_cbor_skip(d, 0, err));
		}
	}
	return SHADE_OK;
}

shade_status msg_read_error(struct msg *m, const shade_cbor_opts *copts,
			    shade_error **out, shade_error **err)
{
	shade_error *e = talloc_zero(NULL, shade_error);
	uint64_t cat;
	shade_status st;

	if (e == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	st = read_cstr(e, &m->d, &e->name, err);
	if (st == SHADE_OK)
		st = shade_cbor_read_uint(&m->d, &cat, err);
	if (st == SHADE_OK)
		st = read_cstr(e, &m->d, &e->message, err);
	if (st == SHADE_OK)
		st = read_error_tail(e, &m->d, copts, err);
	if (st == SHADE_OK) {
		e->code = shade_status_from_name(e->name);
		if (m->nfields > 5)
			st = read_more(e, &m->d, copts, err);
	}
	if (st != SHADE_OK) {
		talloc_free(e);
		return st;
	}
	e->category = cat <= SHADE_CAT_UNIMPLEMENTED ? (shade_category)cat
						     : SHADE_CAT_FAILED;
	*out = e;
	return SHADE_OK;
}

shade_status msg_read_member(TALLOC_CTX *mem_ctx, shade_cbor_dec *d,
			     uint64_t *index, char **name, shade_error **err)
{
	shade_cbor_major major = SHADE_CBOR_UINT;

	*name = NULL;
	/* The common member, a one-byte index. */
	if (d->pos < d->len && d->buf[d->pos] < 24) {
		*index = d->buf[d->pos++];
		return SHADE_OK;
	}
	*index = 0;
	SHADE_CHECK(shade_cbor_peek(d, &major, err));
	if (major == SHADE_CBOR_UINT)
		return shade_cbor_read_uint(d, index, err);
	if (major == SHADE_CBOR_TEXT)
		return read_cstr(mem_ctx, d, name, err);
	return shade_error_set(err, SHADE_ERR_PROTOCOL,
			       "member is neither an index nor a name");
}
