/*
 * gen_corpus.c - writes the seed corpora of the fuzz targets.
 *
 *   gen_corpus DIR      (make fuzz-corpus: DIR is tests/fuzz/corpus)
 *
 * Seeds are built with the real encoder: whole client sessions against
 * the export table of exports.h (DIR/conn/: HELLO, LOOKUPs, every member
 * access, container operation, call, callback and reply, RELEASE, CANCEL,
 * BYE, and the bad cases of the fault matrix), every message of those
 * sessions alone (DIR/msg/), the sessions as byte streams with reader
 * selector bytes (DIR/frame/), and values of every kind in every CBOR
 * form the decoder accepts (DIR/cbor/).  Export ids in the sessions follow
 * the order of the LOOKUPs (the first object looked up is export 1).
 * Exits 0, or 1 when a file cannot be written.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <talloc.h>

#include "shade/shade.h"
#include "conn/msg_int.h"

/* Output directory and failure flag. */
static const char *out_dir;
static int failed;

/* Member indexes of fuzz.Obj (exports.h, in declaration order). */
enum { M_X, M_RO, M_P, M_ADD, M_FAIL, M_ECHO, M_CALL, M_BIG, M_SLEEP,
       M_PING };

/* Write n bytes to out_dir/kind/name. */
static void write_file(const char *kind, const char *name, const void *p,
		       size_t n)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", out_dir, kind, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(p, 1, n, f) != n) {
		fprintf(stderr, "gen_corpus: cannot write %s\n", path);
		failed = 1;
	}
	if (f != NULL)
		fclose(f);
}

/*
 * Append CBOR items to b following fmt, one letter per item: u uint (int
 * arg), U uint (uint64_t arg), i int (int arg), s text (char *), y bytes
 * (char *, its characters), a array head (int n), m map head (int n), t
 * tag (int), n null, T true, F false, f float (double), x raw bytes given
 * as a hex string (char *), _ indefinite array head, . break.
 */
static void vput(shade_buf *b, const char *fmt, va_list *ap)
{
	const char *s;
	uint8_t *raw;
	size_t len;

	for (; *fmt; fmt++) {
		switch (*fmt) {
		case 'u':
			shade_cbor_put_uint(b, (uint64_t)va_arg(*ap, int));
			break;
		case 'U':
			shade_cbor_put_uint(b, va_arg(*ap, uint64_t));
			break;
		case 'i':
			shade_cbor_put_int(b, va_arg(*ap, int));
			break;
		case 's':
			shade_cbor_put_cstr(b, va_arg(*ap, const char *));
			break;
		case 'y':
			s = va_arg(*ap, const char *);
			shade_cbor_put_bytes(b, s, strlen(s));
			break;
		case 'a':
			shade_cbor_put_array(b, (uint64_t)va_arg(*ap, int));
			break;
		case 'm':
			shade_cbor_put_map(b, (uint64_t)va_arg(*ap, int));
			break;
		case 't':
			shade_cbor_put_tag(b, (uint64_t)va_arg(*ap, int));
			break;
		case 'n':
			shade_cbor_put_null(b);
			break;
		case 'T':
		case 'F':
			shade_cbor_put_bool(b, *fmt == 'T');
			break;
		case 'f':
			shade_cbor_put_float(b, va_arg(*ap, double));
			break;
		case 'x':
			raw = shade_hex_decode(b, va_arg(*ap, const char *),
					       &len);
			if (raw != NULL)
				shade_buf_append(b, raw, len);
			talloc_free(raw);
			break;
		case '_':
			shade_buf_append(b, "\x9f", 1);
			break;
		case '.':
			shade_buf_append(b, "\xff", 1);
			break;
		default:
			break;
		}
	}
}

/* vput() with the items as arguments. */
static void put(shade_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vput(b, fmt, &ap);
	va_end(ap);
}

/* A session being written: the stream of frames. */
struct session {
	shade_buf *stream; /* frames with their heads */
	shade_buf *msg;    /* the message being built */
	const char *name;  /* file name */
	unsigned n;        /* messages so far */
};

/* Start an empty session named name on ctx. */
static void begin(TALLOC_CTX *ctx, struct session *s, const char *name)
{
	s->stream = shade_buf_new(ctx, 256);
	s->msg = shade_buf_new(ctx, 64);
	s->name = name;
	s->n = 0;
}

/* End the message in s->msg: frame it into the stream and write it
 * alone to msg/<session>-<n>. */
static void end_msg(struct session *s)
{
	uint8_t head[SHADE_FRAME_HEADER_MAX];
	size_t hl = shade_frame_header_encode(s->msg->len, head);
	char name[256];

	shade_buf_append(s->stream, head, hl);
	shade_buf_append(s->stream, s->msg->data, s->msg->len);
	snprintf(name, sizeof(name), "%s-%02u", s->name, s->n++);
	write_file("msg", name, s->msg->data, s->msg->len);
	shade_buf_reset(s->msg);
}

/* Append one message to the session: vput(fmt, ...) then end it. */
static void msg(struct session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vput(s->msg, fmt, &ap);
	va_end(ap);
	end_msg(s);
}

/* Write the session's stream to conn/ and, with selector bytes, to
 * frame/. */
static void finish(struct session *s)
{
	static const uint8_t sel[] = { 0x00, 0x04, 0x24, 0x02 };
	size_t i;
	char name[256];
	uint8_t *p;

	write_file("conn", s->name, s->stream->data, s->stream->len);
	p = talloc_size(s->stream, s->stream->len + 1);
	for (i = 0; p != NULL && i < sizeof(sel); i++) {
		p[0] = sel[i];
		memcpy(p + 1, s->stream->data, s->stream->len);
		snprintf(name, sizeof(name), "%s-%02x", s->name, sel[i]);
		write_file("frame", name, p, s->stream->len + 1);
	}
	talloc_free(p);
}

/* HELLO version 1, no features. */
#define HELLO(s) msg(s, "auuuu", 4, OP_HELLO, 0, 1, 0)
/* LOOKUP name with request id. */
#define LOOKUP(s, id, name) msg(s, "auus", 3, OP_LOOKUP, id, name)
/* BYE. */
#define BYE(s) msg(s, "auu", 2, OP_BYE, 0)

/* The sessions against fuzz.Obj. */
static void sessions_obj(TALLOC_CTX *ctx, uint64_t fp_fn)
{
	struct session s;

	begin(ctx, &s, "hello");
	HELLO(&s);
	msg(&s, "auu", 2, OP_NAMES, 1);
	BYE(&s);
	finish(&s);

	begin(ctx, &s, "hello-known");
	msg(&s, "auuuuaUU", 5, OP_HELLO, 0, 1, 0, 2, fp_fn,
	    (uint64_t)0x1234567890abcdefULL);
	LOOKUP(&s, 1, "nothing");
	finish(&s);

	begin(ctx, &s, "obj-attrs");
	HELLO(&s);
	LOOKUP(&s, 1, "obj");
	msg(&s, "auuuu", 4, OP_GETATTR, 2, 1, M_X);
	msg(&s, "auuus", 4, OP_GETATTR, 3, 1, "x");
	msg(&s, "auuusi", 5, OP_SETATTR, 4, 1, "x", 42);
	msg(&s, "auuuus", 5, OP_SETATTR, 5, 1, M_RO, "nope");
	msg(&s, "auuuu", 4, OP_GETATTR, 6, 1, M_RO);
	msg(&s, "auuusi", 5, OP_SETATTR, 7, 1, "p", -7);
	msg(&s, "auuus", 4, OP_GETATTR, 8, 1, "p");
	msg(&s, "auuuss", 5, OP_SETATTR, 9, 1, "p", "not an int");
	msg(&s, "auuus", 4, OP_GETATTR, 10, 1, "absent");
	msg(&s, "auuuu", 4, OP_GETATTR, 11, 1, 99);
	msg(&s, "auuu", 3, OP_DESCRIBE, 12, 1);
	msg(&s, "auuu", 3, OP_DESCRIBE, 13, 77);
	msg(&s, "auuuu", 4, OP_RELEASE, 0, 1, 1);
	BYE(&s);
	finish(&s);

	begin(ctx, &s, "obj-methods");
	HELLO(&s);
	LOOKUP(&s, 1, "obj");
	msg(&s, "auuuuaii", 5, OP_INVOKE, 2, 1, M_ADD, 2, 1, 2);
	msg(&s, "auuusaii", 5, OP_INVOKE, 3, 1, "add", 2, 0x7fffffff, 5);
	msg(&s, "auuusai", 5, OP_INVOKE, 4, 1, "add", 1, 1);
	msg(&s, "auuusas", 5, OP_INVOKE, 4, 1, "add", 1, "x");
	msg(&s, "auuuua", 5, OP_INVOKE, 5, 1, M_FAIL, 0);
	msg(&s, "auuusasiT", 5, OP_INVOKE, 6, 1, "echo", 3, "a", 1);
	msg(&s, "auuusai", 5, OP_INVOKE, 7, 1, "big", 1, 100);
	msg(&s, "auuusai", 5, OP_INVOKE, 8, 1, "big", 1, 1 << 20);
	msg(&s, "auuusai", 5, OP_INVOKE, 9, 1, "sleep", 1, 0);
	msg(&s, "auuuua", 5, OP_INVOKE, 0, 1, M_PING, 0);
	msg(&s, "auuusa", 5, OP_INVOKE, 10, 1, "absent", 0);
	msg(&s, "auuuuai", 5, OP_INVOKE, 11, 1, M_X, 1, 0);
	msg(&s, "auuuuai", 5, OP_INVOKE, 12, 1, M_ADD, 1, 1);
	/* kwargs and timeout options */
	msg(&s, "auuuuaimumsi", 6, OP_INVOKE, 13, 1, M_ECHO, 1, 1, 1, 2, 1,
	    "k", 5);
	msg(&s, "auuuuamuu", 6, OP_INVOKE, 14, 1, M_ADD, 0, 1, 1, 250);
	msg(&s, "auuuuamuu", 6, OP_INVOKE, 15, 1, M_ADD, 0, 1, 9, 9);
	/* a bound method, then CALL on it */
	msg(&s, "auuuu", 4, OP_GETATTR, 16, 1, M_ADD);
	msg(&s, "auuuaii", 4, OP_CALL, 17, 2, 2, 20, 22);
	msg(&s, "auuuuuu", 6, OP_RELEASE, 0, 2, 1, 1, 1);
	msg(&s, "auu", 2, OP_CANCEL, 17);
	BYE(&s);
	finish(&s);

	/* References both ways: a client object (tag 200) passed and
	 * echoed back, the server's own object (tag 201) passed back. */
	begin(ctx, &s, "obj-refs");
	HELLO(&s);
	LOOKUP(&s, 1, "obj");
	msg(&s, "auuusatauU", 5, OP_INVOKE, 2, 1, "echo", 1, 200, 2, 1, fp_fn);
	msg(&s, "auuusatu", 5, OP_INVOKE, 3, 1, "echo", 1, 201, 1);
	msg(&s, "auuusatu", 5, OP_INVOKE, 4, 1, "echo", 1, 201, 99);
	msg(&s, "auuusata", 5, OP_INVOKE, 5, 1, "echo", 1, 200, 0);
	msg(&s, "auuusatauUausaaasuasu", 5, OP_INVOKE, 6, 1, "echo", 1, 200,
	    3, 2, (uint64_t)0xa97a6d863d18078aULL, 4, 0, "demo.Obj", 0, 2, 2,
	    "x", 0, 2, "meth", 2);
	BYE(&s);
	finish(&s);

	/* A callback: call(f) makes the server call the client's export 1
	 * (its first request, id 1); the client answers it, then the
	 * server's RETURN of request 2 follows. */
	begin(ctx, &s, "callback");
	HELLO(&s);
	LOOKUP(&s, 1, "obj");
	msg(&s, "auuusatauU", 5, OP_INVOKE, 2, 1, "call", 1, 200, 2, 1, fp_fn);
	msg(&s, "auui", 3, OP_RETURN, 1, 42);
	msg(&s, "auuusatauUi", 5, OP_INVOKE, 3, 1, "call", 2, 200, 2, 2,
	    fp_fn, 5);
	msg(&s, "auususaa", 7, OP_ERROR, 2, "ValueError", 0, "callback "
	    "failed", 0, 0);
	msg(&s, "auuuu", 4, OP_RELEASE, 0, 1, 1);
	BYE(&s);
	finish(&s);

	/* A callback whose nested request comes back inside it. */
	begin(ctx, &s, "callback-nested");
	HELLO(&s);
	LOOKUP(&s, 1, "obj");
	msg(&s, "auuusatauU", 5, OP_INVOKE, 2, 1, "call", 1, 200, 2, 1, fp_fn);
	msg(&s, "auuuuaiimuu", 6, OP_INVOKE, 3, 1, M_ADD, 2, 1, 1, 1, 0, 1);
	msg(&s, "auu", 2, OP_RETURN, 1);
	BYE(&s);
	finish(&s);
}

/* Containers, function, type, typed object. */
static void sessions_more(TALLOC_CTX *ctx)
{
	struct session s;

	begin(ctx, &s, "list");
	HELLO(&s);
	LOOKUP(&s, 1, "list");
	msg(&s, "auuu", 3, OP_LEN, 2, 1);
	msg(&s, "auuui", 4, OP_GETITEM, 3, 1, 0);
	msg(&s, "auuui", 4, OP_GETITEM, 4, 1, -1);
	msg(&s, "auuui", 4, OP_GETITEM, 5, 1, 9);
	msg(&s, "auuus", 4, OP_GETITEM, 6, 1, "k");
	msg(&s, "auuuis", 5, OP_SETITEM, 7, 1, 1, "b");
	msg(&s, "auuui", 4, OP_DELITEM, 8, 1, 0);
	msg(&s, "auuuf", 4, OP_CONTAINS, 9, 1, 2.5);
	msg(&s, "auuuaii", 4, OP_APPEND, 10, 1, 2, 1, 2);
	msg(&s, "auuuun", 5, OP_FORCE, 11, 1, 0);
	msg(&s, "auuuuu", 5, OP_FORCE, 12, 1, 1, 2);
	msg(&s, "auuuuu", 5, OP_FORCE, 13, 1, 100, 2);
	msg(&s, "auuuu", 4, OP_GETATTR, 14, 1, 0);
	BYE(&s);
	finish(&s);

	begin(ctx, &s, "dict");
	HELLO(&s);
	LOOKUP(&s, 1, "dict");
	msg(&s, "auuu", 3, OP_LEN, 2, 1);
	msg(&s, "auuus", 4, OP_GETITEM, 3, 1, "k");
	msg(&s, "auuui", 4, OP_GETITEM, 4, 1, 2);
	msg(&s, "auuus", 4, OP_GETITEM, 5, 1, "zz");
	msg(&s, "auuuai", 4, OP_GETITEM, 6, 1, 1, 2);
	msg(&s, "auuuta", 4, OP_GETITEM, 7, 1, 203, 0);
	msg(&s, "auuusf", 5, OP_SETITEM, 8, 1, "new", 1.5);
	msg(&s, "auuus", 4, OP_DELITEM, 9, 1, "k");
	msg(&s, "auuus", 4, OP_DELITEM, 10, 1, "k");
	msg(&s, "auuus", 4, OP_CONTAINS, 11, 1, "new");
	msg(&s, "auuui", 4, OP_APPEND, 12, 1, 1);
	msg(&s, "auuuun", 5, OP_FORCE, 13, 1, 0);
	msg(&s, "auuuuu", 5, OP_FORCE, 14, 1, 1, 1);
	BYE(&s);
	finish(&s);

	begin(ctx, &s, "callables");
	HELLO(&s);
	LOOKUP(&s, 1, "fn");
	LOOKUP(&s, 2, "type");
	msg(&s, "auuuaii", 4, OP_CALL, 3, 1, 2, 3, 4);
	msg(&s, "auuuas", 4, OP_CALL, 4, 1, 1, "x");
	msg(&s, "auuua", 4, OP_CALL, 5, 2, 0);
	msg(&s, "auuuuai", 5, OP_INVOKE, 6, 3, M_ADD, 1, 5);
	msg(&s, "auuuu", 4, OP_RELEASE, 0, 3, 1);
	msg(&s, "auuuuai", 5, OP_INVOKE, 7, 3, M_ADD, 1, 5);
	msg(&s, "auuu", 3, OP_DESCRIBE, 8, 2);
	msg(&s, "auuua", 4, OP_CALL, 9, 99, 0);
	BYE(&s);
	finish(&s);

	begin(ctx, &s, "typed");
	HELLO(&s);
	LOOKUP(&s, 1, "typed");
	msg(&s, "auuuu", 4, OP_GETATTR, 2, 1, 0);
	msg(&s, "auuuui", 5, OP_SETATTR, 3, 1, 0, 5);
	msg(&s, "auuuus", 5, OP_SETATTR, 4, 1, 0, "five");
	msg(&s, "auuuuai", 5, OP_INVOKE, 5, 1, 2, 1, 3);
	msg(&s, "auuusa", 5, OP_INVOKE, 6, 1, "inc", 0);
	msg(&s, "auuuuaii", 5, OP_INVOKE, 7, 1, 2, 2, 1, 2);
	msg(&s, "auuuu", 4, OP_GETATTR, 8, 1, 1);
	msg(&s, "auuuui", 5, OP_SETATTR, 9, 1, 1, 2);
	msg(&s, "auuuu", 4, OP_GETATTR, 10, 1, 2);
	msg(&s, "auuu", 3, OP_DESCRIBE, 11, 1);
	BYE(&s);
	finish(&s);
}

/* The bad cases of the fault matrix, as sessions. */
static void sessions_bad(TALLOC_CTX *ctx)
{
	struct session s;
	int i;

	begin(ctx, &s, "bad-version");
	msg(&s, "auuuu", 4, OP_HELLO, 0, 9, 0);
	finish(&s);

	begin(ctx, &s, "bad-no-hello");
	LOOKUP(&s, 1, "obj");
	finish(&s);

	begin(ctx, &s, "bad-unknown-op");
	HELLO(&s);
	msg(&s, "auu", 2, 23, 5);
	msg(&s, "auuu", 3, 99, 6, 1);
	msg(&s, "auu", 2, 23, 0);
	finish(&s);

	begin(ctx, &s, "bad-fields");
	HELLO(&s);
	msg(&s, "auu", 2, OP_INVOKE, 1);
	msg(&s, "auuuuuuu", 7, OP_GETATTR, 2, 1, 0, 0, 0, 0);
	msg(&s, "auuu", 3, OP_RELEASE, 0, 1);
	msg(&s, "auuss", 3, OP_LOOKUP, 3, "obj", "extra");
	msg(&s, "auuu", 3, OP_LOOKUP, 4, 1);
	msg(&s, "auusm", 4, OP_LOOKUP, 5, "obj", 0);
	msg(&s, "auusx", 4, OP_LOOKUP, 6, "obj", "bf01ff");
	msg(&s, "mu", 0, 1);
	finish(&s);

	begin(ctx, &s, "bad-refs");
	HELLO(&s);
	LOOKUP(&s, 1, "obj");
	msg(&s, "auuuu", 4, OP_GETATTR, 2, 7, 0);
	msg(&s, "auuuuuu", 6, OP_RELEASE, 0, 1, 1, 1, 1);
	msg(&s, "auuuu", 4, OP_RELEASE, 0, 1, 5);
	msg(&s, "auuuu", 4, OP_RELEASE, 0, 42, 1);
	LOOKUP(&s, 3, "obj");
	msg(&s, "auuuu", 4, OP_RELEASE, 0, 1, 3);
	msg(&s, "auuuu", 4, OP_GETATTR, 4, 1, 0);
	finish(&s);

	begin(ctx, &s, "bad-replies");
	HELLO(&s);
	msg(&s, "auui", 3, OP_RETURN, 99, 5);
	msg(&s, "auususaa", 7, OP_ERROR, 98, "KeyError", 0, "k", 0, 0);
	msg(&s, "auu", 2, OP_RETURN, 0);
	finish(&s);

	begin(ctx, &s, "bad-error-id0");
	HELLO(&s);
	msg(&s, "auususaa", 7, OP_ERROR, 0, "ProtocolError", 0, "bye",
	    0, 0);
	finish(&s);

	begin(ctx, &s, "bad-deep");
	HELLO(&s);
	LOOKUP(&s, 1, "obj");
	put(s.msg, "auuusa", 5, OP_INVOKE, 2, 1, "echo", 1);
	for (i = 0; i < 80; i++)
		put(s.msg, "a", 1);
	put(s.msg, "u", 0);
	end_msg(&s);
	finish(&s);

	begin(ctx, &s, "bad-flood");
	HELLO(&s);
	LOOKUP(&s, 1, "obj");
	for (i = 0; i < 24; i++)
		msg(&s, "auuuuaii", 5, OP_INVOKE, 10 + i, 1, M_ADD, 2, i, 1);
	finish(&s);

	begin(ctx, &s, "bad-truncated");
	HELLO(&s);
	LOOKUP(&s, 1, "obj");
	put(s.stream, "x", "18");
	finish(&s);
}

/* Values for the CBOR target: the encoder's output and hand-made forms. */
static void values(TALLOC_CTX *ctx)
{
	static const struct {
		const char *name; /* file name */
		const char *hex;  /* the item */
	} raw[] = {
		{ "uint-forms", "9f00171818181919010019ffff1a000100001b0000000100000000ff" },
		{ "nint-forms", "8420383b3b7fffffffffffffff3901f4" },
		{ "nonminimal", "83180019000a1a00000001" },
		{ "floats", "88f90000f98000f93c00f97c00f97e00fa47c35000fb3ff199999999999afbfff0000000000000" },
		{ "simple", "84f4f5f6f7" },
		{ "text", "846061616449455446f09f9880" },
		{ "bytes", "8340410142010203" },
		{ "indef-text", "7f657374726561646d696e67ff" },
		{ "indef-bytes", "5f42010243030405ff" },
		{ "indef-array", "9f018202039f0405ffff" },
		{ "indef-map", "bf61610161629f0203ffff" },
		{ "map", "a3616101616202f6f5" },
		{ "dup-key", "a2616101616102" },
		{ "list-tag", "d8cb83010203" },
		{ "exc-tag", "d8ca84684b65794572726f72616b81016081836673657276657260606161" },
		{ "bignum", "82c249010000000000000000c349010000000000000000" },
		{ "bignum-small", "82c24101c34100" },
		{ "other-tag", "c11a514b67b0" },
		{ "ref-tags", "82d8c882011b68c10fbcb07e79f1d8c901" },
		{ "deep", "818181818181818181818181818181818181818100" },
		{ "bad-utf8", "62c328" },
		{ "bad-ai", "1c" },
		{ "break-alone", "ff" },
		{ "trailing", "0000" },
		{ "huge-len", "5b7fffffffffffffff" },
		{ "huge-array", "9b7fffffffffffffff" },
	};
	shade_value *v, *d;
	shade_error *e = NULL;
	uint8_t *p;
	size_t i, len;

	for (i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
		p = shade_hex_decode(ctx, raw[i].hex, &len);
		if (p == NULL) {
			fprintf(stderr, "gen_corpus: bad hex %s\n",
				raw[i].name);
			failed = 1;
			continue;
		}
		write_file("cbor", raw[i].name, p, len);
		talloc_free(p);
	}

	/* A value of every kind through the encoder. */
	v = shade_tuple_new(ctx, 8);
	shade_seq_append_take(v, shade_none(v), NULL);
	shade_seq_append_take(v, shade_bool(v, true), NULL);
	shade_seq_append_take(v, shade_int(v, INT64_MIN), NULL);
	shade_seq_append_take(v, shade_float(v, 0.1), NULL);
	shade_seq_append_take(v, shade_str(v, "h\xc3\xa9llo"), NULL);
	shade_seq_append_take(v, shade_bytes(v, "\0\1\2", 3), NULL);
	d = shade_dict_new(v, 2);
	shade_dict_set_take(d, shade_str(d, "a"), shade_list_new(d, 0), NULL);
	shade_dict_set_take(d, shade_int(d, 1), shade_tuple_new(d, 0), NULL);
	shade_seq_append_take(v, d, NULL);
	shade_error_set(&e, SHADE_ERR_KEY, "missing");
	shade_error_push_frame(e, "server", "demo.X", "get");
	shade_seq_append_take(v, shade_exc(v, e), NULL);
	shade_error_free(e);
	p = shade_cbor_encode(ctx, v, NULL, &len, NULL);
	if (p != NULL)
		write_file("cbor", "every-kind", p, len);
	talloc_free(p);
	talloc_free(v);
}

/* The authentication exchange (protocol.md §3.7) against the keys of
 * fuzz_conn's keyed mode (a HELLO with feature 1 selects it): the
 * client's side of it, wrong proofs (the server's nonce is random, so
 * no input proves a key), requests before the proof, malformed and
 * out-of-order steps, and a HELLO without the feature. */
static void sessions_auth(TALLOC_CTX *ctx)
{
	static const char nonce[] = "0123456789abcdef0123456789abcdef";
	struct session s;

	begin(ctx, &s, "auth-exchange");
	msg(&s, "auuuu", 4, OP_HELLO, 0, 1, 1);
	msg(&s, "auuusy", 5, OP_AUTH, 0, 0, "alice", nonce);
	msg(&s, "auuusy", 5, OP_AUTH, 0, 2, "alice", nonce);
	LOOKUP(&s, 1, "obj");
	finish(&s);

	begin(ctx, &s, "auth-unknown-key");
	msg(&s, "auuuu", 4, OP_HELLO, 0, 1, 1);
	msg(&s, "auuusy", 5, OP_AUTH, 0, 0, "mallory", nonce);
	msg(&s, "auuusy", 5, OP_AUTH, 0, 2, "mallory", nonce);
	finish(&s);

	begin(ctx, &s, "auth-pipelined");
	msg(&s, "auuuu", 4, OP_HELLO, 0, 1, 1);
	msg(&s, "auuusy", 5, OP_AUTH, 0, 0, "alice", nonce);
	LOOKUP(&s, 1, "obj");
	msg(&s, "auu", 2, OP_NAMES, 2);
	finish(&s);

	begin(ctx, &s, "auth-malformed");
	msg(&s, "auuuu", 4, OP_HELLO, 0, 1, 1);
	msg(&s, "auuusy", 5, OP_AUTH, 0, 0, "alice", "short");
	msg(&s, "auuus", 4, OP_AUTH, 0, 0, "alice");
	msg(&s, "auuuuy", 5, OP_AUTH, 0, 0, 7, nonce);
	finish(&s);

	begin(ctx, &s, "auth-out-of-order");
	msg(&s, "auuuu", 4, OP_HELLO, 0, 1, 1);
	msg(&s, "auuusy", 5, OP_AUTH, 0, 2, "alice", nonce);
	msg(&s, "auuusy", 5, OP_AUTH, 0, 3, "alice", nonce);
	finish(&s);

	begin(ctx, &s, "auth-before-hello");
	msg(&s, "auuusy", 5, OP_AUTH, 0, 0, "alice", nonce);
	msg(&s, "auuuu", 4, OP_HELLO, 0, 1, 1);
	finish(&s);

	begin(ctx, &s, "auth-unasked");
	HELLO(&s);
	msg(&s, "auuusy", 5, OP_AUTH, 0, 0, "alice", nonce);
	LOOKUP(&s, 1, "obj");
	finish(&s);
}

int main(int argc, char **argv)
{
	TALLOC_CTX *ctx;

	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus DIR\n");
		return 2;
	}
	out_dir = argv[1];
	ctx = talloc_new(NULL);
	sessions_obj(ctx, shade_shape_fp(&shade_shape_function));
	sessions_more(ctx);
	sessions_bad(ctx);
	sessions_auth(ctx);
	values(ctx);
	talloc_free(ctx);
	return failed;
}
