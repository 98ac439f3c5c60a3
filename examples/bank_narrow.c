/*
 * bank_narrow.c - turning a dynamic reference into a typed one.
 *
 * shade_lookup() gives a plain shade_ref, whatever the object is.
 * bank_Account_narrow() checks the shape that came with it against the
 * compiled-in bank_Account_shape: when the fingerprints match (same
 * members, kinds and signatures) that is one comparison and no message;
 * otherwise a structural check by member name, still local.  The
 * counters of the connection (shade_conn_stats_get) show what each step
 * cost.  Narrowing the auditor as an account fails with TypeError, naming
 * the first member it lacks.
 *
 * usage: bank_narrow ADDRESS
 * Exit status 0 when every answer was the expected one.
 */
#include <inttypes.h>
#include <stdio.h>

#include "bank.h"
#include "example.h"
#include "shade/shade.h"

/* Round trips on c since *mark; moves the mark. */
static uint64_t trips(shade_conn *c, uint64_t *mark)
{
	shade_conn_stats s;
	uint64_t n;

	shade_conn_stats_get(c, &s);
	n = s.round_trips - *mark;
	*mark = s.round_trips;
	return n;
}

/* Everything the client does; fails on the first unexpected answer. */
static shade_status run(TALLOC_CTX *ctx, const char *address,
			shade_error **err)
{
	shade_conn *c;
	shade_ref *ref, *other;
	bank_Account *acct, *again, *wrong = NULL;
	uint64_t mark = 0, t_lookup, t_narrow, t_get, t_bad;
	bank_Money bal;
	shade_value *note, *found;
	shade_status st;

	SHADE_CHECK(shade_connect(ctx, address, NULL, &c, err));
	SHADE_CHECK(shade_lookup(c, "account", &ref, err));
	t_lookup = trips(c, &mark);
	st = bank_Account_narrow(ctx, ref, &acct, err);
	shade_ref_release(ref);
	SHADE_CHECK(st);
	t_narrow = trips(c, &mark);
	SHADE_CHECK(bank_Account_get_balance(acct, &bal, err));
	t_get = trips(c, &mark);
	printf("lookup: %" PRIu64 " round trip, narrow to bank.Account: %"
	       PRIu64 ", get_balance: %" PRIu64 " (balance %" PRId64 ")\n",
	       t_lookup, t_narrow, t_get, bal);
	if (t_lookup != 1 || t_narrow != 0 || t_get != 1)
		return shade_error_set(err, SHADE_ERR_VALUE,
				       "unexpected round trips");

	/* `any`: a typed attribute holding whatever dynamic value we like */
	note = shade_dict_new(ctx, 1);
	if (note == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	SHADE_CHECK(shade_dict_set_str(note, "checked_by", shade_str(ctx,
				       "bank_narrow"), err));
	SHADE_CHECK(bank_Account_set_note(acct, note, err));
	SHADE_CHECK(bank_Account_get_note(acct, ctx, &note, err));
	printf("note (any) came back as a %s of %zu entry\n",
	       shade_value_kind(note) == SHADE_DICT ? "dict" : "?",
	       shade_value_len(note));
	if (shade_value_kind(note) != SHADE_DICT || shade_value_len(note) != 1)
		return shade_error_set(err, SHADE_ERR_VALUE, "wrong note");

	/* the wrong interface: refused locally, with the reason */
	SHADE_CHECK(shade_lookup(c, "auditor", &other, err));
	if (shade_ref_value_take(ctx, other) == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	trips(c, &mark);
	st = bank_Account_narrow(ctx, other, &wrong, err);
	t_bad = trips(c, &mark);
	if (st == SHADE_OK)
		return shade_error_set(err, SHADE_ERR_VALUE,
				       "auditor narrowed to an account");
	printf("narrow auditor to bank.Account: %s: %s (%" PRIu64
	       " round trips)\n", (*err)->name, (*err)->message, t_bad);
	if ((*err)->code != SHADE_ERR_TYPE || t_bad != 0)
		return (*err)->code;
	shade_error_clear(err);

	/* a reference found by a dynamic call (auditor.watched(), by name)
	 * narrows the same way; it is the very account we already hold */
	SHADE_CHECK(shade_invoke(ctx, other, "watched", NULL, NULL, &found,
				 err));
	if (shade_value_kind(found) != SHADE_REF)
		return shade_error_set(err, SHADE_ERR_TYPE,
				       "watched() is not a reference");
	trips(c, &mark);
	SHADE_CHECK(bank_Account_narrow(ctx, shade_value_as_ref(found), &again,
					err));
	t_narrow = trips(c, &mark);
	SHADE_CHECK(bank_Account_get_balance(again, &bal, err));
	printf("auditor.watched() narrowed in %" PRIu64 " round trips: %s "
	       "account, balance %" PRId64 "\n", t_narrow,
	       shade_ref_same(again->ref, acct->ref) ? "the same" : "another",
	       bal);
	if (t_narrow != 0 || !shade_ref_same(again->ref, acct->ref))
		return shade_error_set(err, SHADE_ERR_VALUE,
				       "watched() is not the account");
	return SHADE_OK;
}

/* run() against the address in argv[1] (example.h). */
int main(int argc, char **argv)
{
	return example_main(argc, argv, run);
}
