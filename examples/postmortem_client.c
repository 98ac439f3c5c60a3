/*
 * postmortem_client.c - the client of the post-mortem demo, the seed's
 * pdb.post_mortem over the wire: it connects with `postmortem` set,
 * calls bank.transfer(250), catches the remote ValueError and walks the
 * remote traceback frame by frame (outermost first, as Python prints
 * them), printing where each frame was and the values its code
 * attached.  Every frame and every value is a remote object read on
 * demand; the figures at the end say how many round trips the walk
 * took, and that the server's exports went back to what they were once
 * the error (and with it the traceback) was freed.
 *
 * usage: postmortem_client ADDRESS
 * Exit status 0 when the walk found the frames and values expected.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "shade/shade.h"

/* Connect with post-mortem on, retrying while the server starts. */
static shade_status connect_retry(TALLOC_CTX *ctx, const char *address,
				  shade_conn **c, shade_error **err)
{
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	shade_conn_opts opts = { .postmortem = true };
	shade_status st = SHADE_ERR_CONNECTION_LOST;
	int i;

	for (i = 0; i < 250; i++) {
		shade_error_clear(err);
		st = shade_connect(ctx, address, &opts, c, err);
		if (st == SHADE_OK)
			return st;
		nanosleep(&pause, NULL);
	}
	return st;
}

/* bank.exports() into *n. */
static shade_status exports(TALLOC_CTX *ctx, shade_ref *bank, int64_t *n,
			    shade_error **err)
{
	shade_value *r;

	SHADE_CHECK(shade_invoke(ctx, bank, "exports", NULL, NULL, &r, err));
	*n = shade_value_as_int(r);
	talloc_free(r);
	return SHADE_OK;
}

/* Bytes of the same failing call on a connection of its own without
 * post-mortem, into *bytes. */
static shade_status plain_cost(TALLOC_CTX *ctx, const char *address,
			       const shade_value *args, uint64_t *bytes,
			       shade_error **err)
{
	TALLOC_CTX *tmp = talloc_new(ctx);
	shade_conn *c = NULL;
	shade_ref *bank = NULL;
	shade_value *r = NULL;
	shade_error *fail = NULL;
	shade_conn_stats s0, s1;
	shade_status st;

	st = shade_connect(tmp, address, NULL, &c, err);
	if (st == SHADE_OK)
		st = shade_lookup(c, "bank", &bank, err);
	if (st == SHADE_OK) {
		shade_conn_stats_get(c, &s0);
		shade_invoke(tmp, bank, "transfer", args, NULL, &r, &fail);
		shade_conn_stats_get(c, &s1);
		*bytes = s1.bytes_sent + s1.bytes_received - s0.bytes_sent -
			 s0.bytes_received;
		shade_error_free(fail);
		shade_ref_release(bank);
	}
	talloc_free(tmp);
	return st;
}

/* Print one remote frame: where, then each attached value; count the
 * values into *nvalues.  Everything read is on ctx. */
static shade_status print_frame(TALLOC_CTX *ctx, shade_ref *frame,
				size_t *nvalues, shade_error **err)
{
	shade_value *fn, *file, *line, *values, *keys, *v;
	size_t i, n;

	SHADE_CHECK(shade_getattr(ctx, frame, "function", &fn, err));
	SHADE_CHECK(shade_getattr(ctx, frame, "file", &file, err));
	SHADE_CHECK(shade_getattr(ctx, frame, "line", &line, err));
	printf("  File \"%s\", line %lld, in %s\n",
	       shade_value_strdup(ctx, file),
	       (long long)shade_value_as_int(line),
	       shade_value_strdup(ctx, fn));
	/* the frame's locals: a dict the server shares by reference */
	SHADE_CHECK(shade_getattr(ctx, frame, "values", &values, err));
	SHADE_CHECK(shade_keys(ctx, shade_value_as_ref(values), &keys, err));
	n = shade_seq_len(keys);
	for (i = 0; i < n; i++) {
		SHADE_CHECK(shade_getitem(ctx, shade_value_as_ref(values),
					  shade_seq_at(keys, i), &v, err));
		printf("      %s = %s\n",
		       shade_value_strdup(ctx, shade_seq_at(keys, i)),
		       shade_value_diag(ctx, v));
	}
	*nvalues += n;
	return SHADE_OK;
}

/* Walk the traceback tb (frames innermost first) outermost first. */
static shade_status walk(TALLOC_CTX *ctx, shade_ref *tb, size_t *nframes,
			 size_t *nvalues, shade_error **err)
{
	shade_value *frame;
	TALLOC_CTX *tmp;
	shade_status st = SHADE_OK;
	size_t n, i;

	SHADE_CHECK(shade_len(tb, &n, err));
	printf("Remote traceback (most recent call last):\n");
	for (i = n; st == SHADE_OK && i-- > 0;) {
		shade_value idx = shade_value_int((int64_t)i);

		/* what one frame reads is freed (released) after it */
		if ((tmp = talloc_new(ctx)) == NULL)
			return shade_error_set(err, SHADE_ERR_NOMEM, "oom");
		st = shade_getitem(tmp, tb, &idx, &frame, err);
		if (st == SHADE_OK)
			st = print_frame(tmp, shade_value_as_ref(frame),
					 nvalues, err);
		talloc_free(tmp);
	}
	*nframes = n;
	return st;
}

int main(int argc, char **argv)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_conn *c = NULL;
	shade_ref *bank = NULL;
	shade_value *args, *r = NULL;
	shade_value amount = shade_value_int(250);
	shade_error *err = NULL, *remote = NULL;
	shade_conn_stats s0, s1;
	int64_t before = -1, during = -1, after = -1;
	uint64_t plain_bytes = 0;
	size_t nframes = 0, nvalues = 0;
	int rc = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: %s ADDRESS\n", argv[0]);
		return 2;
	}
	args = shade_tuple_new(ctx, 1);
	if (args == NULL || shade_seq_append(args, &amount, &err) != SHADE_OK ||
	    connect_retry(ctx, argv[1], &c, &err) != SHADE_OK ||
	    shade_lookup(c, "bank", &bank, &err) != SHADE_OK ||
	    exports(ctx, bank, &before, &err) != SHADE_OK)
		goto fail;
	shade_conn_stats_get(c, &s0);
	if (shade_invoke(ctx, bank, "transfer", args, NULL, &r, &remote) ==
	    SHADE_OK) {
		fprintf(stderr, "postmortem_client: transfer did not fail\n");
		goto out;
	}
	shade_conn_stats_get(c, &s1);
	if (plain_cost(ctx, argv[1], args, &plain_bytes, &err) != SHADE_OK)
		goto fail;
	printf("the failure: 1 round trip, %llu bytes with the traceback "
	       "reference, %llu bytes on a connection without post-mortem\n",
	       (unsigned long long)(s1.bytes_sent + s1.bytes_received -
				    s0.bytes_sent - s0.bytes_received),
	       (unsigned long long)plain_bytes);
	printf("bank.transfer(250) raised %s\n",
	       shade_error_describe(ctx, remote));
	if (remote->traceback == NULL) {
		fprintf(stderr, "postmortem_client: no remote traceback\n");
		goto out;
	}
	shade_conn_stats_get(c, &s0);
	if (walk(ctx, shade_value_as_ref(remote->traceback), &nframes,
		 &nvalues, &err) != SHADE_OK)
		goto fail;
	shade_conn_stats_get(c, &s1);
	printf("%s: %s\n", remote->name, remote->message);
	printf("the walk: %zu frames, %zu values, %llu round trips, "
	       "%llu bytes\n", nframes, nvalues,
	       (unsigned long long)(s1.round_trips - s0.round_trips),
	       (unsigned long long)(s1.bytes_sent + s1.bytes_received -
				    s0.bytes_sent - s0.bytes_received));
	if (exports(ctx, bank, &during, &err) != SHADE_OK)
		goto fail;
	/* Dropping the error drops the traceback: its RELEASE rides in
	 * front of the next call. */
	shade_error_clear(&remote);
	if (exports(ctx, bank, &after, &err) != SHADE_OK)
		goto fail;
	printf("server exports: %lld before, %lld holding the traceback, "
	       "%lld after it was freed\n", (long long)before,
	       (long long)during, (long long)after);
	if (nframes == 2 && nvalues == 4 && after == before && during > before)
		rc = 0;
	goto out;
fail:
	fprintf(stderr, "postmortem_client: %s: %s\n",
		err ? err->name : "error", err ? err->message : "failed");
out:
	shade_error_free(err);
	shade_error_free(remote);
	shade_ref_release(bank);
	talloc_free(ctx);
	return rc;
}
