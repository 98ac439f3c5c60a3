/*
 * record_client.c - records the seeds of the client fuzz target: the
 * script of fuzz_client.c runs against a real server connection (the
 * exports of exports.h, served by a thread over a socketpair), and every
 * frame the server sends is written, with its length head, to the file
 * named on the command line.  (make fuzz-corpus)
 */
#include <stdio.h>
#include <string.h>

#include "../helpers/testutil.h"

#define LLVMFuzzerTestOneInput record_unused_entry
#include "fuzz_client.c"
#undef LLVMFuzzerTestOneInput

/* The tap: a user transport over a real one, recording what it reads. */
struct tap {
	shade_transport *t; /* the real transport */
	shade_buf *rec;     /* frames received, with heads */
};

/* Send through the real transport. */
static shade_status tap_send(void *impl, const uint8_t *frame, size_t len,
			     shade_error **err)
{
	struct tap *tp = impl;

	return shade_transport_send(tp->t, frame, len, err);
}

/* Receive from the real transport and record the frame. */
static shade_status tap_recv(void *impl, void *mem_ctx, uint8_t **frame,
			     size_t *len, int timeout_ms, shade_error **err)
{
	struct tap *tp = impl;
	uint8_t head[SHADE_FRAME_HEADER_MAX];
	shade_status st;

	st = shade_transport_recv(tp->t, mem_ctx, frame, len, timeout_ms,
				  err);
	if (st == SHADE_OK) {
		shade_buf_append(tp->rec, head,
				 shade_frame_header_encode(*len, head));
		shade_buf_append(tp->rec, *frame, *len);
	}
	return st;
}

/* The tap's operations. */
static const shade_transport_ops tap_ops = {
	"tap", tap_send, tap_recv, NULL, NULL
};

/* The server thread. */
static void *serve_main(void *arg)
{
	shade_conn_serve(arg, 30000, NULL);
	return NULL;
}

int main(int argc, char **argv)
{
	static const fz_config scfg = { 4096, 0 }, ccfg = { 64, 0 };
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_registry *sreg = fz_exports_new(ctx, &scfg);
	shade_registry *creg = fz_exports_new(ctx, &ccfg);
	shade_transport *a, *b, *t;
	shade_conn *server, *client;
	shade_conn_opts so;
	struct tap tp;
	tu_thread th;
	FILE *f;
	int rc = 0;

	if (argc != 2 || sreg == NULL || creg == NULL) {
		fprintf(stderr, "usage: record_client FILE\n");
		return 2;
	}
	memset(&so, 0, sizeof(so));
	so.names = sreg;
	tp.rec = shade_buf_new(ctx, 4096);
	if (shade_transport_pair(ctx, NULL, &a, &b, NULL) != SHADE_OK ||
	    shade_conn_new(ctx, b, true, &so, &server, NULL) != SHADE_OK ||
	    tu_thread_start(&th, serve_main, server) != 0)
		return 1;
	tp.t = a;
	if (shade_transport_new(ctx, &tap_ops, &tp, NULL, &t, NULL) !=
		    SHADE_OK ||
	    shade_conn_new(ctx, t, false, NULL, &client, NULL) != SHADE_OK)
		return 1;
	fl_script(client, creg);
	shade_conn_close(client);
	tu_thread_join(&th, 30000, NULL);
	f = fopen(argv[1], "wb");
	if (f == NULL || fwrite(tp.rec->data, 1, tp.rec->len, f) !=
				 tp.rec->len)
		rc = 1;
	if (f != NULL)
		fclose(f);
	talloc_free(ctx);
	return rc;
}
