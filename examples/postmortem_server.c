/*
 * postmortem_server.c - the server of the post-mortem demo: exports
 * `bank`, whose method transfer(amount) moves money out of an account
 * through withdraw(), which refuses an amount above the balance.  The
 * failure is raised with SHADE_RAISE (function, file and line recorded)
 * and each function on the way attaches the values a debugger would
 * show as its locals (shade_error_attach); a client that connects with
 * `postmortem` set gets a reference to the traceback and walks it
 * (postmortem_client.c).  `bank.exports()` says how many objects this
 * connection holds for its peer, so the client can see the traceback
 * released.
 *
 * usage: postmortem_server ADDRESS      (e.g. unix:/tmp/pm.sock)
 * Runs until SIGTERM or SIGINT.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "shade/shade.h"

static shade_server *server;

/* SIGTERM/SIGINT: stop the loop (shade_server_stop is signal-safe). */
static void on_signal(int sig)
{
	(void)sig;
	if (server != NULL)
		shade_server_stop(server);
}

/* Take amount out of *balance, or raise ValueError with both values
 * attached to this frame. */
static shade_status withdraw(int64_t *balance, int64_t amount,
			     shade_error **err)
{
	shade_value b = shade_value_int(*balance), a = shade_value_int(amount);

	if (amount <= *balance) {
		*balance -= amount;
		return SHADE_OK;
	}
	SHADE_RAISE(err, SHADE_ERR_VALUE, "insufficient funds: %lld < %lld",
		    (long long)*balance, (long long)amount);
	shade_error_attach(err, "balance", &b);
	shade_error_attach(err, "amount", &a);
	return SHADE_ERR_VALUE;
}

/* bank.transfer(amount): withdraw from "alice" (balance 100). */
static shade_status transfer(shade_call_ctx *call)
{
	int64_t *balance = call->udata;
	const shade_value *amount;
	shade_value *who;

	if (shade_seq_len(call->args) != 1 ||
	    shade_value_kind(amount = shade_seq_at(call->args, 0)) !=
		    SHADE_INT)
		return SHADE_RAISE(call->err, SHADE_ERR_TYPE,
				   "transfer() takes one int");
	if (withdraw(balance, shade_value_as_int(amount), call->err) ==
	    SHADE_OK)
		return SHADE_OK;
	/* this function's frame, with its own locals */
	SHADE_ERROR_FRAME(call->err);
	who = shade_str(call->mem, "alice");
	shade_error_attach(call->err, "account", who);
	shade_error_attach(call->err, "amount", amount);
	return (*call->err)->code;
}

/* bank.exports(): objects this connection holds for its peer. */
static shade_status exports(shade_call_ctx *call)
{
	shade_conn_stats s;

	shade_conn_stats_get(call->conn, &s);
	call->result = shade_int(call->mem, (int64_t)s.exports);
	return call->result ? SHADE_OK
			    : shade_error_set(call->err, SHADE_ERR_NOMEM,
					      "out of memory");
}

int main(int argc, char **argv)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_error *err = NULL;
	shade_ref *bank = NULL;
	struct sigaction sa;
	int64_t balance = 100;
	/* post-mortem by consent: tracebacks for the clients that ask */
	shade_conn_opts copts = { .postmortem = true };
	shade_server_opts sopts = { .conn = &copts };
	int rc = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: %s ADDRESS\n", argv[0]);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (shade_server_new(ctx, &sopts, &server, &err) != SHADE_OK ||
	    shade_object_new("demo.Bank", NULL, &bank, &err) != SHADE_OK ||
	    shade_object_add_method(bank, "transfer", transfer, &balance,
				    false, &err) != SHADE_OK ||
	    shade_object_add_method(bank, "exports", exports, NULL, false,
				    &err) != SHADE_OK ||
	    shade_server_export(server, "bank", bank, &err) != SHADE_OK ||
	    shade_server_listen(server, argv[1], &err) != SHADE_OK ||
	    shade_server_run(server, &err) != SHADE_OK)
		fprintf(stderr, "postmortem_server: %s\n",
			err ? err->message : "failed");
	else
		rc = 0;
	shade_error_free(err);
	shade_ref_release(bank);
	server = NULL;
	talloc_free(ctx);
	return rc;
}
