/*
 * bank_client.c - a typed client for examples/bank.idl.
 *
 * Every call goes through a generated stub: C arguments in, C results
 * out, the declared exception caught with its fields.  The stub writes
 * the arguments straight into the request; no dynamic value is built.
 *
 * usage: bank_client ADDRESS
 * Exit status 0 when every answer was the expected one.
 */
#include <inttypes.h>
#include <stdio.h>

#include "bank.h"
#include "example.h"
#include "shade/shade.h"

/* Print cents as units with two decimals ("-12.30"). */
static void money(const char *label, bank_Money m)
{
	printf("%s%s%" PRId64 ".%02d", label, m < 0 ? "-" : "",
	       (m < 0 ? -m : m) / 100, (int)((m < 0 ? -m : m) % 100));
}

/* Everything the client does; fails on the first unexpected answer. */
static shade_status run(TALLOC_CTX *ctx, const char *address,
			shade_error **err)
{
	shade_conn *c;
	shade_ref *ref;
	bank_Account *acct;
	bank_Overdrawn ov;
	bank_History h;
	bank_Money start, bal, took, left;
	shade_status st;
	char *owner;
	uint32_t i;

	/* 1. the reference, then its typed view: narrowing checks the shape
	 *    that came with the reference (no round trip here) */
	SHADE_CHECK(shade_connect(ctx, address, NULL, &c, err));
	SHADE_CHECK(shade_lookup(c, "account", &ref, err));
	st = bank_Account_narrow(ctx, ref, &acct, err);
	shade_ref_release(ref);      /* acct holds its own count */
	SHADE_CHECK(st);

	/* 2. attributes */
	SHADE_CHECK(bank_Account_get_owner(acct, ctx, &owner, err));
	SHADE_CHECK(bank_Account_get_balance(acct, &start, err));
	printf("owner %s", owner);
	money(", balance ", start);
	printf("\n");

	/* 3. an operation with in parameters, one with an out parameter */
	SHADE_CHECK(bank_Account_deposit(acct, 2500, "salary", err));
	SHADE_CHECK(bank_Account_withdraw(acct, 4000, "rent", &left, &took,
					  err));
	money("deposit 25.00 salary, withdraw 40.00 rent: took ", took);
	money(", left ", left);
	printf("\n");
	if (took != 4000 || left != start - 1500)
		return shade_error_set(err, SHADE_ERR_VALUE,
				       "unexpected balance after withdraw");

	/* 4. the declared exception, caught with its fields */
	SHADE_CHECK(bank_Account_get_balance(acct, &bal, err));
	st = bank_Account_withdraw(acct, bal + 5000, "car", &left, &took, err);
	if (st == SHADE_OK)
		return shade_error_set(err, SHADE_ERR_VALUE,
				       "overdraft was allowed");
	if (!bank_Overdrawn_catch(ctx, *err, &ov))
		return st;             /* some other failure: pass it on */
	printf("withdraw %" PRId64 ".00 car: %s", (bal + 5000) / 100,
	       (*err)->name);
	money(" {missing ", ov.missing);
	printf(", owner %s}\n", ov.owner);
	shade_error_clear(err);
	if (ov.missing != 5000)
		return shade_error_set(err, SHADE_ERR_VALUE,
				       "wrong missing amount");

	/* 5. a writable attribute, and a sequence of structs */
	SHADE_CHECK(bank_Account_set_limit(acct, 10000, err));
	SHADE_CHECK(bank_Account_history(acct, ctx, 2, &h, err));
	printf("history:");
	for (i = 0; i < h.len; i++) {
		money(i ? ", " : " ", h.items[i].amount);
		printf(" %s", h.items[i].memo);
	}
	printf("\n");
	if (h.len != 2 || h.items[1].amount != -4000)
		return shade_error_set(err, SHADE_ERR_VALUE, "wrong history");
	SHADE_CHECK(bank_Account_set_limit(acct, 0, err));
	return SHADE_OK;
}

/* run() against the address in argv[1] (example.h). */
int main(int argc, char **argv)
{
	return example_main(argc, argv, run);
}
