/*
 * bank_impl.c - the account and the auditor of examples/bank.idl.
 *
 * Both are plain C structs; the generated skeletons (bank_Account_serve,
 * bank_Auditor_serve) decode each request straight into C arguments and
 * call the functions of an impl struct, so nothing here touches a
 * dynamic value except where the IDL says `any` or `Object`.
 */
#include <string.h>

#include "bank.h"
#include "bank_impl.h"

/* What stands behind a bank.Account. */
typedef struct account {
	TALLOC_CTX *ctx;        /* owns owner, note and the history */
	char *owner;            /* the holder */
	bank_Money balance;     /* in cents */
	bank_Money limit;       /* overdraft allowed */
	shade_value *note;      /* the `any` attribute (NULL: none) */
	bank_Entry *entries;    /* talloc array of the history */
	uint32_t n_entries;     /* entries used */
} account;

/* What stands behind a bank.Auditor. */
typedef struct auditor {
	shade_ref *watched;     /* the account it watches (one count) */
	shade_ref *last;        /* last book audited (one count), or NULL */
	unsigned audits;        /* audits done */
} auditor;

/* ------------------------------------------------------------ account */

/* readonly attribute string owner: a copy on the call's context. */
static shade_status acct_get_owner(void *self, TALLOC_CTX *mem_ctx,
				   char **out, shade_error **err)
{
	account *a = self;

	*out = talloc_strdup(mem_ctx, a->owner);
	return *out ? SHADE_OK
		    : shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
}

/* readonly attribute Money balance */
static shade_status acct_get_balance(void *self, int64_t *out,
				     shade_error **err)
{
	(void)err;
	*out = ((account *)self)->balance;
	return SHADE_OK;
}

/* attribute Money limit (read) */
static shade_status acct_get_limit(void *self, int64_t *out, shade_error **err)
{
	(void)err;
	*out = ((account *)self)->limit;
	return SHADE_OK;
}

/* attribute Money limit (write): never negative. */
static shade_status acct_set_limit(void *self, int64_t value,
				   shade_error **err)
{
	if (value < 0)
		return shade_error_set(err, SHADE_ERR_VALUE,
				       "limit %lld is negative",
				       (long long)value);
	((account *)self)->limit = value;
	return SHADE_OK;
}

/* attribute any note (read): a copy; none when never set. */
static shade_status acct_get_note(void *self, TALLOC_CTX *mem_ctx,
				  shade_value **out, shade_error **err)
{
	account *a = self;

	if (a->note == NULL) {
		*out = NULL;    /* travels as none */
		return SHADE_OK;
	}
	*out = shade_value_copy(mem_ctx, a->note);
	return *out ? SHADE_OK
		    : shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
}

/* attribute any note (write): keep a copy of whatever came. */
static shade_status acct_set_note(void *self, const shade_value *value,
				  shade_error **err)
{
	account *a = self;
	shade_value *copy = shade_value_copy(a->ctx, value);

	if (copy == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	shade_value_free(a->note);
	a->note = copy;
	return SHADE_OK;
}

/* Append one history entry. */
static shade_status record(account *a, int64_t amount, const char *memo,
			   shade_error **err)
{
	bank_Entry *grown = talloc_realloc(a->ctx, a->entries, bank_Entry,
					   a->n_entries + 1);
	char *copy = talloc_strdup(a->ctx, memo);

	if (grown == NULL || copy == NULL) {
		talloc_free(copy);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	a->entries = grown;
	a->entries[a->n_entries].memo = copy;
	a->entries[a->n_entries].amount = amount;
	a->n_entries++;
	return SHADE_OK;
}

/* void deposit(in Money amount, in string memo) */
static shade_status acct_deposit(void *self, int64_t amount, const char *memo,
				 shade_error **err)
{
	account *a = self;

	if (amount <= 0)
		return shade_error_set(err, SHADE_ERR_VALUE,
				       "deposit of %lld is not positive",
				       (long long)amount);
	SHADE_CHECK(record(a, amount, memo, err));
	a->balance += amount;
	return SHADE_OK;
}

/* Money withdraw(in Money amount, in string memo, out Money left)
 * raises (Overdrawn): the declared exception carries its fields. */
static shade_status acct_withdraw(void *self, int64_t amount, const char *memo,
				  int64_t *left, int64_t *result,
				  shade_error **err)
{
	account *a = self;

	if (amount <= 0)
		return shade_error_set(err, SHADE_ERR_VALUE,
				       "withdrawal of %lld is not positive",
				       (long long)amount);
	if (amount > a->balance + a->limit) {
		bank_Overdrawn ex = {
			.missing = amount - (a->balance + a->limit),
			.owner = a->owner,
		};
		return bank_Overdrawn_raise(err, &ex);
	}
	SHADE_CHECK(record(a, -amount, memo, err));
	a->balance -= amount;
	*left = a->balance;
	*result = amount;
	return SHADE_OK;
}

/* History history(in unsigned long max): the last max entries, copied
 * onto the call's context (freed once the reply is sent). */
static shade_status acct_history(void *self, TALLOC_CTX *mem_ctx,
				 uint32_t max, bank_History *result,
				 shade_error **err)
{
	account *a = self;
	uint32_t n = max < a->n_entries ? max : a->n_entries;
	uint32_t first = a->n_entries - n, i;

	result->len = n;
	result->items = talloc_array(mem_ctx, bank_Entry, n + 1);
	if (result->items == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++)
		result->items[i] = a->entries[first + i]; /* strings borrowed:
							   * encoded before the
							   * next request */
	return SHADE_OK;
}

static const bank_Account_impl account_impl = {
	.get_owner = acct_get_owner,
	.get_balance = acct_get_balance,
	.get_limit = acct_get_limit,
	.set_limit = acct_set_limit,
	.get_note = acct_get_note,
	.set_note = acct_set_note,
	.deposit = acct_deposit,
	.withdraw = acct_withdraw,
	.history = acct_history,
};

/* ------------------------------------------------------------ auditor */

/*
 * string audit(in Object book, out Money total)
 *
 * `book` was declared nowhere: the caller built it with the dynamic
 * object API.  We use it dynamically, member by member; each access is
 * a request back to the caller, served on its thread while it waits for
 * this very call.  Only what we touch crosses the wire.
 */
static shade_status aud_audit(void *self, TALLOC_CTX *mem_ctx,
			      shade_ref *book, int64_t *total, char **result,
			      shade_error **err)
{
	auditor *au = self;
	shade_value *title = NULL, *sum = NULL;

	SHADE_CHECK(shade_getattr(mem_ctx, book, "title", &title, err));
	SHADE_CHECK(shade_invoke(mem_ctx, book, "total", NULL, NULL, &sum,
				 err));
	if (shade_value_kind(title) != SHADE_STR ||
	    shade_value_kind(sum) != SHADE_INT)
		return shade_error_set(err, SHADE_ERR_TYPE,
				       "a book needs a string title and an "
				       "int total()");
	*total = shade_value_as_int(sum);
	*result = talloc_asprintf(mem_ctx, "%s: %s", shade_value_cstr(title),
				  *total >= 0 ? "balanced" : "in the red");
	if (*result == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	/* keep the book (one count of our own) for last_book() */
	shade_ref_release(au->last);
	au->last = shade_ref_retain(book);
	au->audits++;
	return SHADE_OK;
}

/* Object last_book(): hand out one count (the skeleton sends it). */
static shade_status aud_last_book(void *self, shade_ref **result,
				  shade_error **err)
{
	auditor *au = self;

	if (au->last == NULL)
		return shade_error_set(err, SHADE_ERR_NOT_FOUND,
				       "no book audited yet");
	*result = shade_ref_retain(au->last);
	return SHADE_OK;
}

/* Object watched(): the account, as an untyped reference (one count). */
static shade_status aud_watched(void *self, shade_ref **result,
				shade_error **err)
{
	(void)err;
	*result = shade_ref_retain(((auditor *)self)->watched);
	return SHADE_OK;
}

static const bank_Auditor_impl auditor_impl = {
	.audit = aud_audit,
	.last_book = aud_last_book,
	.watched = aud_watched,
};

/* Destructor of an auditor: drop the references it holds. */
static int auditor_free(auditor *au)
{
	shade_ref_release(au->last);
	shade_ref_release(au->watched);
	return 0;
}

/* See bank_impl.h. */
shade_status bank_impl_export(TALLOC_CTX *mem_ctx, shade_server *s,
			      const char *owner, int64_t balance,
			      shade_error **err)
{
	account *a = talloc_zero(mem_ctx, account);
	auditor *au = talloc_zero(mem_ctx, auditor);
	shade_ref *aud = NULL;
	shade_status st;

	if (a == NULL || au == NULL ||
	    (a->owner = talloc_strdup(a, owner)) == NULL) {
		talloc_free(a);
		talloc_free(au);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	a->ctx = a;
	a->balance = balance;
	talloc_set_destructor(au, auditor_free);
	st = bank_Account_serve(&account_impl, a, &au->watched, err);
	if (st == SHADE_OK)
		st = bank_Auditor_serve(&auditor_impl, au, &aud, err);
	if (st == SHADE_OK)
		st = shade_server_export(s, "account", au->watched, err);
	if (st == SHADE_OK)
		st = shade_server_export(s, "auditor", aud, err);
	shade_ref_release(aud);      /* the server holds its own count */
	return st;
}
