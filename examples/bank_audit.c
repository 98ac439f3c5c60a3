/*
 * bank_audit.c - a typed operation taking an undeclared object.
 *
 * bank.Auditor.audit(in Object book, out Money total) accepts any
 * object.  This client builds one at run time with the dynamic object
 * API (type "client.Book": a `title`, a `total()` method and a large
 * `pages` attribute), no IDL involved, and passes it through the typed
 * stub.  The server then uses it dynamically: it reads `title` and calls
 * `total()`, each a request back to this process, served on this thread
 * while it waits for audit() to return.  `pages` is never asked for, so
 * it never crosses the wire: access is lazy, member by member.
 *
 * usage: bank_audit ADDRESS
 * Exit status 0 when every answer was the expected one.
 */
#include <inttypes.h>
#include <stdio.h>

#include "bank.h"
#include "example.h"
#include "shade/shade.h"

/* What stands behind the client.Book object. */
typedef struct book {
	const char *title;     /* the title attribute */
	int64_t lines[3];      /* what total() adds up */
	unsigned title_reads;  /* times the title was read */
	unsigned total_calls;  /* times total() ran */
	unsigned page_reads;   /* times pages was read */
} book;

/* Getter of `title`: counts and answers the title. */
static shade_status get_title(shade_call_ctx *call)
{
	book *b = call->udata;

	b->title_reads++;
	printf("  book: title read by the server\n");
	call->result = shade_str(call->mem, b->title);
	return call->result ? SHADE_OK
			    : shade_error_set(call->err, SHADE_ERR_NOMEM,
					      "out of memory");
}

/* Getter of `pages`: a large value, built only if someone asks. */
static shade_status get_pages(shade_call_ctx *call)
{
	book *b = call->udata;
	int i;

	b->page_reads++;
	call->result = shade_list_new(call->mem, 1000);
	for (i = 0; call->result != NULL && i < 1000; i++)
		SHADE_CHECK(shade_seq_append_take(
			call->result, shade_str(call->mem, "lorem ipsum"),
			call->err));
	return call->result ? SHADE_OK
			    : shade_error_set(call->err, SHADE_ERR_NOMEM,
					      "out of memory");
}

/* Method total(): the sum of the lines. */
static shade_status total(shade_call_ctx *call)
{
	book *b = call->udata;

	b->total_calls++;
	printf("  book: total() called by the server\n");
	call->result =
		shade_int(call->mem, b->lines[0] + b->lines[1] + b->lines[2]);
	return call->result ? SHADE_OK
			    : shade_error_set(call->err, SHADE_ERR_NOMEM,
					      "out of memory");
}

/* Build the undeclared object: one count in *out. */
static shade_status make_book(book *b, shade_ref **out, shade_error **err)
{
	shade_ref *obj;
	shade_status st;

	SHADE_CHECK(shade_object_new("client.Book", NULL, &obj, err));
	st = shade_object_add_property(obj, "title", get_title, NULL, b, err);
	if (st == SHADE_OK)
		st = shade_object_add_property(obj, "pages", get_pages, NULL,
					       b, err);
	if (st == SHADE_OK)
		st = shade_object_add_method(obj, "total", total, b, false,
					     err);
	if (st != SHADE_OK) {
		shade_ref_release(obj);
		return st;
	}
	*out = obj;
	return SHADE_OK;
}

/* Everything the client does; fails on the first unexpected answer. */
static shade_status run(TALLOC_CTX *ctx, const char *address,
			shade_error **err)
{
	book bk = { .title = "ledger 2026", .lines = { 1000, -300, 500 } };
	book *b = &bk;     /* only called while run() waits on the server */
	shade_conn *c;
	shade_ref *ref, *mine = NULL, *back = NULL;
	bank_Auditor *aud;
	shade_conn_stats before, after;
	bank_Money sum = 0;
	char *verdict;
	shade_status st;
	bool same;

	SHADE_CHECK(shade_connect(ctx, address, NULL, &c, err));
	SHADE_CHECK(shade_lookup(c, "auditor", &ref, err));
	st = bank_Auditor_narrow(ctx, ref, &aud, err);
	shade_ref_release(ref);
	SHADE_CHECK(st);
	SHADE_CHECK(make_book(b, &mine, err));
	/* tie our count to ctx: freeing ctx releases it */
	if (shade_ref_value_take(ctx, mine) == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");

	/* the typed call: our object goes out as a reference */
	shade_conn_stats_get(c, &before);
	printf("audit(book):\n");
	SHADE_CHECK(bank_Auditor_audit(aud, ctx, mine, &sum, &verdict, err));
	shade_conn_stats_get(c, &after);
	printf("  -> \"%s\", total %" PRId64 "; the server made %" PRIu64
	       " requests to us, pages read %u times\n", verdict, sum,
	       after.requests_served - before.requests_served, b->page_reads);
	if (sum != 1200 || b->title_reads != 1 || b->total_calls != 1 ||
	    b->page_reads != 0 ||
	    after.requests_served - before.requests_served != 2)
		return shade_error_set(err, SHADE_ERR_VALUE,
				       "unexpected audit");

	/* an Object coming back: a reference to our own object arrives as
	 * that very object, not as a proxy of a proxy */
	SHADE_CHECK(bank_Auditor_last_book(aud, &back, err));
	same = shade_ref_same(back, mine);
	printf("last_book() is our own object: %s (%s)\n", same ? "yes" : "no",
	       shade_ref_type_name(back));
	shade_ref_release(back);
	if (!same)
		return shade_error_set(err, SHADE_ERR_VALUE,
				       "last_book() is not our book");
	return SHADE_OK;
}

/* run() against the address in argv[1] (example.h). */
int main(int argc, char **argv)
{
	return example_main(argc, argv, run);
}
