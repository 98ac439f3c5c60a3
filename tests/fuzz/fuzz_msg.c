/*
 * fuzz_msg.c - the protocol message decoder (runtime/conn/msg.c).
 *
 * Input: one frame payload.  msg_parse() reads its head and options;
 * then every field of the opcode is read the way the connection engine
 * reads it (members, values with the default limits, ERROR bodies through
 * msg_read_error, RELEASE pairs, HELLO's known list, kwargs).  References
 * are refused here (no hooks): the conn target covers them.
 *
 * Invariants: a failure always comes with an error object carrying the
 * same code; a parsed message has a known opcode, a field count the
 * opcode allows and a cursor inside the frame; an ERROR read back has a
 * code, a name and a message.
 */
#include <string.h>

#include <talloc.h>

#include "shade/cbor.h"
#include "shade/error.h"
#include "shade/value.h"
#include "conn/msg_int.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read one value field. */
static shade_status fm_value(TALLOC_CTX *ctx, shade_cbor_dec *d)
{
	shade_value *v = NULL;
	shade_error *e = NULL;
	shade_status st = shade_cbor_decode_value(ctx, d, NULL, &v, &e);

	FUZZ_CHECK((st == SHADE_OK) == (v != NULL));
	FUZZ_CHECK(d->pos <= d->len);
	talloc_free(v);
	return fuzz_status(st, e);
}

/* Read a target (uint) field. */
static shade_status fm_uint(shade_cbor_dec *d)
{
	uint64_t u;
	shade_error *e = NULL;
	shade_status st = shade_cbor_read_uint(d, &u, &e);

	return fuzz_status(st, e);
}

/* Read a member field. */
static shade_status fm_member(TALLOC_CTX *ctx, shade_cbor_dec *d)
{
	uint64_t index = 0;
	char *name = NULL;
	shade_error *e = NULL;
	shade_status st = msg_read_member(ctx, d, &index, &name, &e);

	if (st == SHADE_OK && name != NULL)
		FUZZ_CHECK(strlen(name) <= talloc_get_size(name));
	talloc_free(name);
	return fuzz_status(st, e);
}

/* Read the fields of a parsed message the way the engine does. */
static void fm_fields(TALLOC_CTX *ctx, struct msg *m)
{
	shade_cbor_dec *d = &m->d;
	shade_error *e = NULL, *got = NULL;
	uint64_t i, n;
	char *name;
	shade_status st;

	switch (m->op) {
	case OP_HELLO:
		if (fm_uint(d) != SHADE_OK || fm_uint(d) != SHADE_OK)
			return;
		if (m->nfields != 3)
			return;
		st = shade_cbor_read_array(d, &n, &e);
		if (fuzz_status(st, e) == SHADE_OK && n != SHADE_CBOR_INDEFINITE)
			for (i = 0; i < n; i++)
				if (fm_uint(d) != SHADE_OK)
					return;
		return;
	case OP_RETURN:
		if (m->nfields == 1)
			fm_value(ctx, d);
		return;
	case OP_ERROR:
		st = msg_read_error(m, NULL, &got, &e);
		if (fuzz_status(st, e) == SHADE_OK) {
			FUZZ_CHECK(got != NULL && got->code < 0);
			FUZZ_CHECK(got->name != NULL && got->message != NULL);
			FUZZ_CHECK(shade_status_name(got->code) != NULL);
			shade_error_free(got);
		}
		return;
	case OP_INVOKE:
		if (fm_uint(d) == SHADE_OK && fm_member(ctx, d) == SHADE_OK)
			fm_value(ctx, d);
		break;
	case OP_GETATTR:
		if (fm_uint(d) == SHADE_OK)
			fm_member(ctx, d);
		break;
	case OP_SETATTR:
		if (fm_uint(d) == SHADE_OK && fm_member(ctx, d) == SHADE_OK)
			fm_value(ctx, d);
		break;
	case OP_CALL:
	case OP_GETITEM:
	case OP_DELITEM:
	case OP_CONTAINS:
	case OP_APPEND:
		if (fm_uint(d) == SHADE_OK)
			fm_value(ctx, d);
		break;
	case OP_SETITEM:
		if (fm_uint(d) == SHADE_OK && fm_value(ctx, d) == SHADE_OK)
			fm_value(ctx, d);
		break;
	case OP_LOOKUP:
		st = shade_cbor_read_text_dup(ctx, d, &name, NULL, &e);
		if (fuzz_status(st, e) == SHADE_OK)
			talloc_free(name);
		break;
	case OP_DESCRIBE:
	case OP_LEN:
		fm_uint(d);
		break;
	case OP_FORCE:
		if (fm_uint(d) != SHADE_OK)
			break;
		if (shade_cbor_at_null(d)) {
			st = shade_cbor_read_null(d, &e);
			fuzz_status(st, e);
		} else
			fm_uint(d);
		break;
	case OP_RELEASE:
		for (i = 0; i < m->nfields; i++)
			if (fm_uint(d) != SHADE_OK)
				break;
		return;
	default:
		return;
	}
	if (m->kwargs_pos != 0) {
		shade_cbor_dec kd;

		FUZZ_CHECK(m->kwargs_pos < m->d.len);
		shade_cbor_dec_init(&kd, m->d.buf, m->d.len);
		kd.pos = m->kwargs_pos;
		fm_value(ctx, &kd);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	struct msg m;
	shade_error *e = NULL;
	shade_status st;

	if (ctx == NULL)
		return 0;
	st = msg_parse(data, size, &m, &e);
	FUZZ_CHECK(msg_op_name(m.op) != NULL);
	if (fuzz_status(st, e) == SHADE_OK) {
		FUZZ_CHECK(m.op < OP_COUNT_);
		FUZZ_CHECK(m.d.pos <= m.d.len && m.d.len == size);
		FUZZ_CHECK(m.op != OP_RELEASE || m.nfields % 2 == 0);
		fm_fields(ctx, &m);
	}
	talloc_free(ctx);
	return 0;
}
