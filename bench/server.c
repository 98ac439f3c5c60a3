/*
 * bench/server.c - shade-bench-server: the server side of every benchmark.
 *
 *   shade-bench-server <raw|transport|shade> <unix|tcp> <dir> <life-s>
 *       listen on <dir>/<mode>.sock (unix) or 127.0.0.1 port 0 (tcp),
 *       print "READY <address>" ("unix:/path" or "tcp:127.0.0.1:PORT")
 *       on stdout, serve until SIGTERM, or SIGALRM after <life-s>.
 *   shade-bench-server peer <unix|tcp> <path|port> <life-s>
 *       the contract of ../shared/bench/peers/src/common.h: the shade
 *       server on that Unix path or 127.0.0.1:<port>, prints "READY".
 *
 * echo       bytes on a socket, written back as they arrive (the
 *            baseline of the large-value echo figures).
 * raw        bytes on a socket: each add request frame (the bytes shade
 *            sends, bench.h) is answered with shade's reply frame; every
 *            request already read is answered with one write.
 * transport  the same frames through shade_transport recv/send.
 * shade      a shade connection per client (shade/conn.h), served by a
 *            shade_server loop (shade/server.h), exporting:
 *              adder  typed object bench.Adder, method add(a, b)
 *              sadder the same served by the skeleton shade-idlc
 *                     generates from bench/adder.idl (when built)
 *              obj    dynamic object bench.Obj, attribute x = 42
 *              big    a list of BENCH_BIG_LEN ints, by reference
 *              small  a list of 10 ints, by reference
 *              bigf   a list of BENCH_BIG_LEN floats, by reference
 *              bigs   a list of BENCH_STRS_LEN short strings ("s" and
 *                     the index, 2-6 bytes), by reference
 *              echo   dynamic: echo(x) -> x, borrowed (large values)
 *              techo  typed bench.Echo: echo(x) for one bytes or text
 *                     argument, written back from the request
 *              maker  dynamic: make(n) -> list of n fresh objects,
 *                     mem() -> heap bytes in use in this process,
 *                     objsize(n) -> heap bytes of one bare object,
 *                     its lazily built shape included
 *
 * BENCH_THREADS in the environment sets the shade server's worker
 * threads (shade_server_opts.threads; unset: the default, one per core;
 * 1: the single loop), to compare the two on any figure.
 */
#include "bench.h"
#include "stubs.h"
#include "weak.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <talloc.h>

#include <shade/cbor.h>
#include <shade/server.h>
#include <shade/transport.h>
#include <shade/value.h>

/* Elements of the big remote list. */
#define BENCH_BIG_LEN 1000000

/* Elements of the remote list of short strings (each one a talloc
 * block on the server: a tenth of the others). */
#define BENCH_STRS_LEN 100000

/* Input buffer of the raw server. */
#define RAW_BUF 65536

/* Print the READY line the driver waits for. */
static void
ready(const char *address)
{
	if (address != NULL)
		printf("READY %s\n", address);
	else
		printf("READY\n");
	fflush(stdout);
}

/* ------------------------------------------------------------ raw */

/* Answer add frames on fd until EOF or an error. */
static void
raw_serve(int fd)
{
	static uint8_t in[RAW_BUF];
	static uint8_t out[RAW_BUF];
	size_t have = 0;

	for (;;) { /* ends at EOF/error; the process ends by signal at most */
		ssize_t r = read(fd, in + have, sizeof in - have);
		size_t pos = 0, outlen = 0;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		have += (size_t)r;
		for (;;) { /* one pass per complete frame in the buffer */
			size_t hdr, len;
			uint64_t id, a, b;
			int st = bench_frame_split(in + pos, have - pos, &hdr,
						   &len);

			if (st < 0)
				return;
			if (st == 0 || outlen + BENCH_ADD_FRAME_MAX > sizeof out)
				break;
			if (bench_parse_add_request(in + pos + hdr, len, &id, &a,
						    &b) != 0)
				return;
			outlen += bench_add_reply_frame(out + outlen, id, a + b);
			pos += hdr + len;
		}
		if (outlen > 0 && bench_write_all(fd, out, outlen) != 0)
			return;
		have -= pos;
		if (have > 0)
			memmove(in, in + pos, have);
	}
}

/* Write back every byte read from fd until EOF or an error. */
static void
echo_serve(int fd)
{
	static uint8_t buf[1 << 20];

	for (;;) { /* ends at EOF/error */
		ssize_t r = read(fd, buf, sizeof buf);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || bench_write_all(fd, buf, (size_t)r) != 0)
			return;
	}
}

/* Accept clients one after the other and serve each (echo: write back
 * what arrives; else answer add frames). */
static int
raw_main(int lfd, bool echo)
{
	for (;;) { /* ends by signal */
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			fprintf(stderr, "raw server: accept: %s\n",
				strerror(errno));
			return 1;
		}
		if (echo)
			echo_serve(fd);
		else
			raw_serve(fd);
		close(fd);
	}
}

/* ------------------------------------------------------------ transport */

/* Answer add frames through shade's transport until the peer leaves. */
static void
transport_serve(shade_transport *t)
{
	TALLOC_CTX *tmp = talloc_new(t);

	for (;;) { /* ends when the peer closes */
		uint8_t *frame, out[BENCH_ADD_FRAME_MAX];
		size_t len;
		uint64_t id, a, b;
		shade_error *err = NULL;

		if (shade_transport_recv(t, tmp, &frame, &len, -1, &err) !=
		    SHADE_OK)
			break;
		if (bench_parse_add_request(frame, len, &id, &a, &b) != 0)
			break;
		len = bench_add_reply_payload(out, id, a + b);
		talloc_free(frame);
		if (shade_transport_send(t, out, len, &err) != SHADE_OK)
			break;
	}
	talloc_free(tmp);
}

/* Accept transports one after the other and serve each. */
static int
transport_main(TALLOC_CTX *ctx, shade_listener *l)
{
	for (;;) { /* ends by signal */
		shade_transport *t = NULL;
		shade_error *err = NULL;

		if (shade_listener_accept(l, ctx, -1, &t, &err) != SHADE_OK) {
			fprintf(stderr, "transport server: accept: %s\n",
				err != NULL ? err->message : "?");
			talloc_free(err);
			continue;
		}
		transport_serve(t);
		talloc_free(t);
	}
	return 0;
}

/* ------------------------------------------------------------ shade */

/* bench.Adder: one method, add(a, b). */
static const shade_member_desc adder_members[] = {
	{ "add", SHADE_MEMBER_METHOD, "(in long long a, in long long b)->long long", NULL },
};

/* The declared shape of the adder. */
static const shade_shape_desc adder_shape = {
	SHADE_SHAPE_OBJECT, "bench.Adder", NULL, 0, adder_members, 1, 0, NULL
};

/* The head of a typed call to member 0: an array of n arguments. */
static shade_status
typed_args(uint32_t member, shade_dispatch_op op, struct shade_cbor_dec *in,
	   uint64_t n, shade_error **err)
{
	uint64_t got;
	shade_status st;

	if (member != 0 || op != SHADE_DISPATCH_INVOKE)
		return shade_error_set(err, SHADE_ERR_INVALID, "no such member");
	st = shade_cbor_read_array(in, &got, err);
	if (st == SHADE_OK && got != n)
		st = shade_error_set(err, SHADE_ERR_TYPE,
				     "takes %llu argument(s)",
				     (unsigned long long)n);
	return st;
}

/* Dispatch of the typed adder: reads [a, b], writes a + b. */
static shade_status
adder_dispatch(void *self, shade_dispatch_ctx *cx, uint32_t member,
	       shade_dispatch_op op, struct shade_cbor_dec *in,
	       struct shade_buf *out, shade_error **err)
{
	int64_t a, b;
	shade_status st;

	(void)self;
	(void)cx;
	st = typed_args(member, op, in, 2, err);
	if (st == SHADE_OK)
		st = shade_cbor_read_int(in, &a, err);
	if (st == SHADE_OK)
		st = shade_cbor_read_int(in, &b, err);
	if (st != SHADE_OK)
		return st;
	return shade_cbor_put_int(out, a + b);
}

/* bench.Echo: one method, echo(x), x bytes or text. */
static const shade_member_desc echo_members[] = {
	{ "echo", SHADE_MEMBER_METHOD, "(in any x)->any", NULL },
};

/* The declared shape of the typed echo. */
static const shade_shape_desc echo_shape = {
	SHADE_SHAPE_OBJECT, "bench.Echo", NULL, 0, echo_members, 1, 0, NULL
};

/* Dispatch of the typed echo: reads [x] (bytes or text), writes x. */
static shade_status
echo_dispatch(void *self, shade_dispatch_ctx *cx, uint32_t member,
	      shade_dispatch_op op, struct shade_cbor_dec *in,
	      struct shade_buf *out, shade_error **err)
{
	const uint8_t *p = NULL;
	const char *s = NULL;
	size_t len = 0;
	shade_status st;

	(void)self;
	(void)cx;
	st = typed_args(member, op, in, 1, err);
	if (st != SHADE_OK)
		return st;
	if (in->pos < in->len && (in->buf[in->pos] >> 5) == SHADE_CBOR_TEXT) {
		st = shade_cbor_read_text(in, &s, &len, err);
		return st != SHADE_OK ? st : shade_cbor_put_text(out, s, len);
	}
	st = shade_cbor_read_bytes(in, &p, &len, err);
	return st != SHADE_OK ? st : shade_cbor_put_bytes(out, p, len);
}

/* Dynamic echo(x): x, its bytes borrowed (doc/api.md, "Handlers"). */
static shade_status
dyn_echo(shade_call_ctx *call)
{
	const shade_value *x = shade_seq_at(call->args, 0);

	if (x == NULL)
		return shade_error_set(call->err, SHADE_ERR_TYPE,
				       "echo takes 1 argument");
	call->result = shade_value_borrow(call->mem, x);
	return call->result != NULL
		       ? SHADE_OK
		       : shade_error_set(call->err, SHADE_ERR_NOMEM, "no memory");
}

/* Read argument i of args as an int. */
static shade_status
int_arg(const shade_value *args, size_t i, int64_t *out, shade_error **err)
{
	const shade_value *v = args != NULL ? shade_seq_at(args, i) : NULL;

	if (v == NULL || shade_value_kind(v) != SHADE_INT)
		return shade_error_set(err, SHADE_ERR_TYPE,
				       "argument %zu must be an int", i);
	*out = shade_value_as_int(v);
	return SHADE_OK;
}

/* Store an int result on mem_ctx. */
static shade_status
int_result(TALLOC_CTX *mem_ctx, int64_t v, shade_value **result,
	   shade_error **err)
{
	*result = shade_int(mem_ctx, v);
	return *result != NULL ? SHADE_OK
			       : shade_error_set(err, SHADE_ERR_NOMEM, "no memory");
}

/* Dynamic add(a, b), for a server without typed objects. */
static shade_status
dyn_add(shade_call_ctx *call)
{
	int64_t a = 0, b = 0;
	shade_status st;

	st = int_arg(call->args, 0, &a, call->err);
	if (st == SHADE_OK)
		st = int_arg(call->args, 1, &b, call->err);
	if (st != SHADE_OK)
		return st;
	return int_result(call->mem, a + b, &call->result, call->err);
}

/* A bare dynamic object of type bench.Item with attribute v. */
static shade_status
new_item(int64_t i, shade_ref **out, shade_error **err)
{
	shade_value iv = { .tag = SHADE_INT, .u.i = i };
	shade_status st = shade_object_new("bench.Item", NULL, out, err);

	if (st != SHADE_OK)
		return st;
	st = shade_object_add_attr(*out, "v", &iv, true, err);
	if (st != SHADE_OK)
		shade_ref_release(*out);
	return st;
}

/* maker.make(n): a list of n fresh objects (each exported once sent). */
static shade_status
maker_make(shade_call_ctx *call)
{
	int64_t n = 0, i;
	shade_value *list;
	shade_status st;

	st = int_arg(call->args, 0, &n, call->err);
	if (st != SHADE_OK)
		return st;
	if (n < 0 || n > 2000000)
		return shade_error_set(call->err, SHADE_ERR_INVALID,
				       "n out of range");
	list = shade_list_new(call->mem, (size_t)n);
	if (list == NULL)
		return shade_error_set(call->err, SHADE_ERR_NOMEM, "no memory");
	for (i = 0; i < n; i++) { /* bounded by n */
		shade_ref *o = NULL;
		shade_value *rv;

		st = new_item(i, &o, call->err);
		if (st != SHADE_OK)
			return st;
		rv = shade_ref_value_take(list, o);
		if (rv == NULL)
			return shade_error_set(call->err, SHADE_ERR_NOMEM,
					       "no memory");
		st = shade_seq_append_take(list, rv, call->err);
		if (st != SHADE_OK)
			return st;
	}
	/* The objects are the figure: the list itself by value. */
	shade_value_set_byvalue(list, true);
	call->result = list;
	return SHADE_OK;
}

/* maker.mem(): heap bytes in use in this process (bench_heap_bytes),
 * the buffers this thread keeps for reuse freed first. */
static shade_status
maker_mem(shade_call_ctx *call)
{
	bench_trim_kept();
	return int_result(call->mem, (int64_t)bench_heap_bytes(), &call->result,
			  call->err);
}

/* maker.objsize(n): heap bytes of one bare bench.Item (with the shape
 * it builds when first used), averaged over n objects made and freed
 * here. */
static shade_status
maker_objsize(shade_call_ctx *call)
{
	int64_t n = 0, i;
	size_t before, after;
	shade_ref **objs;
	shade_status st = SHADE_OK;

	st = int_arg(call->args, 0, &n, call->err);
	if (st != SHADE_OK)
		return st;
	if (n <= 0 || n > 2000000)
		return shade_error_set(call->err, SHADE_ERR_INVALID,
				       "n out of range");
	objs = calloc((size_t)n, sizeof *objs);
	if (objs == NULL)
		return shade_error_set(call->err, SHADE_ERR_NOMEM, "no memory");
	before = bench_heap_bytes();
	for (i = 0; i < n && st == SHADE_OK; i++) { /* bounded by n */
		st = new_item(i, &objs[i], call->err);
		/* a dynamic object builds its shape on first use (when it
		 * is first exported): count it as part of the object */
		if (st == SHADE_OK && BENCH_HAVE(shade_ref_shape))
			(void)shade_ref_shape(objs[i]);
	}
	after = bench_heap_bytes();
	for (i = 0; i < n; i++)
		shade_ref_release(objs[i]);
	free(objs);
	if (st != SHADE_OK)
		return st;
	return int_result(call->mem, (int64_t)((after - before) / (size_t)n),
			  &call->result, call->err);
}

/* A container object holding a list of n ints 0..n-1. */
static shade_status
new_int_list(size_t n, shade_ref **out, shade_error **err)
{
	shade_value *list = shade_list_new(NULL, n);
	size_t i;
	shade_status st;

	if (list == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "no memory");
	for (i = 0; i < n; i++) { /* bounded by n */
		shade_value iv = { .tag = SHADE_INT, .u.i = (int64_t)i };

		st = shade_seq_append(list, &iv, err);
		if (st != SHADE_OK) {
			talloc_free(list);
			return st;
		}
	}
	return shade_container_new(list, out, err);
}

/* A container object holding a list of n values: floats i / 4 when
 * strs is false, else the short strings "s<i>". */
static shade_status
new_list(size_t n, bool strs, shade_ref **out, shade_error **err)
{
	shade_value *list = shade_list_new(NULL, n);
	shade_value *sv;
	char text[24];
	size_t i;
	shade_status st = SHADE_OK;

	if (list == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "no memory");
	for (i = 0; i < n && st == SHADE_OK; i++) { /* bounded by n */
		shade_value fv = shade_value_float((double)i / 4);

		if (!strs) {
			st = shade_seq_append(list, &fv, err);
			continue;
		}
		snprintf(text, sizeof text, "s%zu", i);
		sv = shade_str(NULL, text);
		st = sv != NULL ? shade_seq_append(list, sv, err)
				: shade_error_set(err, SHADE_ERR_NOMEM,
						  "no memory");
		talloc_free(sv);
	}
	if (st != SHADE_OK) {
		talloc_free(list);
		return st;
	}
	return shade_container_new(list, out, err);
}

/* Register `obj` under name and drop our count; keeps the first error. */
static shade_status
export(shade_registry *reg, const char *name, shade_status st, shade_ref *obj,
       shade_error **err)
{
	if (st == SHADE_OK) {
		st = shade_registry_add(reg, name, obj, err);
		shade_ref_release(obj);
	}
	return st;
}

/* Build every exported object into a new registry on ctx. */
static shade_status
shade_exports(TALLOC_CTX *ctx, shade_registry **out, shade_error **err)
{
	shade_registry *reg = shade_registry_new(ctx);
	shade_ref *o = NULL;
	shade_value x = { .tag = SHADE_INT, .u.i = 42 };
	shade_status st;

	if (reg == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "no memory");
	if (BENCH_HAVE(shade_object_new_typed)) {
		st = shade_object_new_typed(&adder_shape, adder_dispatch, NULL,
					    &o, err);
	} else {
		st = shade_object_new("bench.Adder", NULL, &o, err);
		if (st == SHADE_OK)
			st = shade_object_add_method(o, "add", dyn_add, NULL,
						     false, err);
	}
	st = export(reg, "adder", st, o, err);
	if (st == SHADE_OK && BENCH_HAVE(bench_stub_serve)) {
		st = bench_stub_serve(&o, err);
		st = export(reg, "sadder", st, o, err);
	}
	if (st == SHADE_OK) {
		st = shade_object_new("bench.Obj", NULL, &o, err);
		if (st == SHADE_OK)
			st = shade_object_add_attr(o, "x", &x, false, err);
		st = export(reg, "obj", st, o, err);
	}
	if (st == SHADE_OK) {
		st = new_int_list(BENCH_BIG_LEN, &o, err);
		st = export(reg, "big", st, o, err);
	}
	if (st == SHADE_OK) {
		st = new_int_list(10, &o, err);
		st = export(reg, "small", st, o, err);
	}
	if (st == SHADE_OK) {
		st = new_list(BENCH_BIG_LEN, false, &o, err);
		st = export(reg, "bigf", st, o, err);
	}
	if (st == SHADE_OK) {
		st = new_list(BENCH_STRS_LEN, true, &o, err);
		st = export(reg, "bigs", st, o, err);
	}
	if (st == SHADE_OK) {
		st = shade_object_new("bench.DynEcho", NULL, &o, err);
		if (st == SHADE_OK)
			st = shade_object_add_method(o, "echo", dyn_echo, NULL,
						     false, err);
		st = export(reg, "echo", st, o, err);
	}
	if (st == SHADE_OK && BENCH_HAVE(shade_object_new_typed)) {
		st = shade_object_new_typed(&echo_shape, echo_dispatch, NULL,
					    &o, err);
		st = export(reg, "techo", st, o, err);
	}
	if (st == SHADE_OK) {
		st = shade_object_new("bench.Maker", NULL, &o, err);
		if (st == SHADE_OK)
			st = shade_object_add_method(o, "make", maker_make,
						     NULL, false, err);
		if (st == SHADE_OK)
			st = shade_object_add_method(o, "mem", maker_mem, NULL,
						     false, err);
		if (st == SHADE_OK)
			st = shade_object_add_method(o, "objsize",
						     maker_objsize, NULL, false,
						     err);
		st = export(reg, "maker", st, o, err);
	}
	if (st != SHADE_OK) {
		talloc_free(reg);
		return st;
	}
	*out = reg;
	return SHADE_OK;
}

/* Serve every connection on `address` with shade's server loop. */
static int
shade_main(TALLOC_CTX *ctx, const char *address, bool print_address)
{
	shade_registry *reg = NULL;
	shade_server *srv = NULL;
	shade_server_opts sopts = { 0 };
	shade_error *err = NULL;
	size_t i;

	if (!BENCH_HAVE(shade_server_new) || !BENCH_HAVE(shade_registry_new) ||
	    !BENCH_HAVE(shade_object_new)) {
		fprintf(stderr, "shade server: server API not in the library\n");
		return 2;
	}
	bench_raise_nofile();
	sopts.side = "bench-server";
	if (getenv("BENCH_THREADS") != NULL)
		sopts.threads = (unsigned)atoi(getenv("BENCH_THREADS"));
	if (shade_server_new(ctx, &sopts, &srv, &err) != SHADE_OK ||
	    shade_exports(ctx, &reg, &err) != SHADE_OK)
		goto fail;
	for (i = 0; i < shade_registry_count(reg); i++) {
		const char *name = shade_registry_name(reg, i);

		if (shade_server_export(srv, name, shade_registry_get(reg, name),
					&err) != SHADE_OK)
			goto fail;
	}
	if (shade_server_listen(srv, address, &err) != SHADE_OK)
		goto fail;
	ready(print_address ? shade_server_address(srv, 0) : NULL);
	if (shade_server_run(srv, &err) != SHADE_OK)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "shade server: %s\n", err != NULL ? err->message : "?");
	talloc_free(err);
	return 1;
}

/* ------------------------------------------------------------ main */

/* Print usage and return the exit status 2. */
static int
usage(void)
{
	fprintf(stderr,
		"usage: shade-bench-server <raw|echo|transport|shade> <unix|tcp> <dir> <life-s>\n"
		"       shade-bench-server peer <unix|tcp> <path|port> <life-s>\n");
	return 2;
}

int
main(int argc, char **argv)
{
	TALLOC_CTX *ctx;
	bench_net net;
	char path[512], address[600];
	long life;
	bool peer;
	int rc;

	if (argc != 5)
		return usage();
	if (strcmp(argv[2], "unix") == 0)
		net = BENCH_UNIX;
	else if (strcmp(argv[2], "tcp") == 0)
		net = BENCH_TCP;
	else
		return usage();
	life = strtol(argv[4], NULL, 10);
	if (life <= 0 || life > 86400)
		return usage();
	peer = strcmp(argv[1], "peer") == 0;
	signal(SIGPIPE, SIG_IGN);
	alarm((unsigned)life);
	ctx = talloc_new(NULL);

	if (peer)
		snprintf(path, sizeof path, "%s", argv[3]);
	else
		snprintf(path, sizeof path, "%s/%s.sock", argv[3], argv[1]);

	if (strcmp(argv[1], "raw") == 0 || strcmp(argv[1], "echo") == 0) {
		int port = 0;
		int lfd = bench_listen(net, path, &port);

		if (lfd < 0) {
			fprintf(stderr, "raw server: listen: %s\n",
				strerror(errno));
			return 1;
		}
		if (net == BENCH_UNIX)
			snprintf(address, sizeof address, "unix:%s", path);
		else
			snprintf(address, sizeof address, "tcp:127.0.0.1:%d",
				 port);
		ready(address);
		rc = raw_main(lfd, strcmp(argv[1], "echo") == 0);
	} else if (strcmp(argv[1], "transport") == 0 || strcmp(argv[1], "shade") == 0 ||
		   peer) {
		shade_listener *l = NULL;
		shade_error *err = NULL;

		if (net == BENCH_UNIX)
			snprintf(address, sizeof address, "unix:%s", path);
		else
			snprintf(address, sizeof address, "tcp:127.0.0.1:%s",
				 peer ? argv[3] : "0");
		if (strcmp(argv[1], "transport") != 0) {
			rc = shade_main(ctx, address, !peer);
		} else if (shade_listener_open(ctx, address, NULL, &l, &err) !=
			   SHADE_OK) {
			fprintf(stderr, "server: listen %s: %s\n", address,
				err != NULL ? err->message : "?");
			rc = 1;
		} else {
			ready(shade_listener_address(l));
			rc = transport_main(ctx, l);
		}
	} else {
		rc = usage();
	}
	talloc_free(ctx);
	return rc;
}
