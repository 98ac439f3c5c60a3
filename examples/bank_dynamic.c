/*
 * bank_dynamic.c - a client with no IDL calling the typed bank server.
 *
 * The reference from shade_lookup() comes with its shape, so this
 * client discovers what the object offers (shade_dir, and the shape's
 * member kinds and signatures) without another round trip, then reads
 * attributes and calls methods by name with dynamic values.  A typed
 * server and a dynamic client meet on the same wire form: arguments are
 * the array of in parameters; an operation with out parameters answers
 * [result, out...].
 *
 * usage: bank_dynamic ADDRESS
 * Exit status 0 when every answer was the expected one.
 */
#include <inttypes.h>
#include <stdio.h>

#include "example.h"
#include "shade/shade.h"

/* A tuple (amount, memo) on mem_ctx, or NULL. */
static shade_value *amount_memo(TALLOC_CTX *mem_ctx, int64_t amount,
				const char *memo, shade_error **err)
{
	shade_value *args = shade_tuple_new(mem_ctx, 2);

	if (args == NULL ||
	    shade_seq_append_take(args, shade_int(mem_ctx, amount), err) !=
		    SHADE_OK ||
	    shade_seq_append_take(args, shade_str(mem_ctx, memo), err) !=
		    SHADE_OK)
		return NULL;
	return args;
}

/* Everything the client does; fails on the first unexpected answer. */
static shade_status run(TALLOC_CTX *ctx, const char *address,
			shade_error **err)
{
	shade_conn *c;
	shade_ref *acct;
	const shade_shape_desc *shape;
	shade_conn_stats s0, s1;
	shade_value *v, *args, *r;
	char **names;
	size_t n, i;
	int64_t before;

	SHADE_CHECK(shade_connect(ctx, address, NULL, &c, err));
	SHADE_CHECK(shade_lookup(c, "account", &acct, err));
	/* tie our count to ctx: freeing ctx releases it */
	if (shade_ref_value_take(ctx, acct) == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");

	/* discovery: local, the shape arrived with the reference */
	shade_conn_stats_get(c, &s0);
	SHADE_CHECK(shade_dir(ctx, acct, &names, &n, err));
	shape = shade_ref_shape(acct);
	shade_conn_stats_get(c, &s1);
	printf("%s has %zu members (listed in %" PRIu64 " round trips):\n",
	       shade_ref_type_name(acct), n, s1.round_trips - s0.round_trips);
	for (i = 0; i < n; i++) {
		long m = shade_shape_find(shape, names[i]);
		printf("  %-8s %-9s %s\n", names[i],
		       m < 0 ? "?" :
			       shade_member_kind_name(shape->members[m].kind),
		       m < 0 || shape->members[m].signature == NULL ?
			       "" : shape->members[m].signature);
	}

	/* attributes by name */
	SHADE_CHECK(shade_getattr(ctx, acct, "balance", &v, err));
	before = shade_value_as_int(v);

	/* methods by name, arguments as a tuple */
	if ((args = amount_memo(ctx, 700, "gift", err)) == NULL)
		return err && *err ? (*err)->code : SHADE_ERR_NOMEM;
	SHADE_CHECK(shade_invoke(ctx, acct, "deposit", args, NULL, &r, err));
	if ((args = amount_memo(ctx, 200, "coffee", err)) == NULL)
		return err && *err ? (*err)->code : SHADE_ERR_NOMEM;
	SHADE_CHECK(shade_invoke(ctx, acct, "withdraw", args, NULL, &r, err));
	/* Money withdraw(in amount, in memo, out left) -> [result, left] */
	printf("deposit(700, \"gift\"); withdraw(200, \"coffee\") -> [%" PRId64
	       ", %" PRId64 "]\n", shade_value_as_int(shade_seq_at(r, 0)),
	       shade_value_as_int(shade_seq_at(r, 1)));
	if (shade_value_len(r) != 2 ||
	    shade_value_as_int(shade_seq_at(r, 0)) != 200 ||
	    shade_value_as_int(shade_seq_at(r, 1)) != before + 500)
		return shade_error_set(err, SHADE_ERR_VALUE,
				       "unexpected withdraw result");

	/* a member the shape lacks fails at once, with no message sent */
	shade_conn_stats_get(c, &s0);
	if (shade_getattr(ctx, acct, "vault", &v, err) == SHADE_OK)
		return shade_error_set(err, SHADE_ERR_VALUE, "vault exists?");
	shade_conn_stats_get(c, &s1);
	printf("getattr vault: %s (%" PRIu64 " frames sent)\n", (*err)->name,
	       s1.frames_sent - s0.frames_sent);
	if ((*err)->code != SHADE_ERR_ATTRIBUTE ||
	    s1.frames_sent != s0.frames_sent)
		return (*err)->code;
	shade_error_clear(err);
	return SHADE_OK;
}

/* run() against the address in argv[1] (example.h). */
int main(int argc, char **argv)
{
	return example_main(argc, argv, run);
}
