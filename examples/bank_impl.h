/*
 * bank_impl.h - the implementation behind examples/bank.idl.
 *
 * A bank.Account and a bank.Auditor as plain C state served through the
 * generated skeletons.  bank_server.c exports them; the end-to-end suite
 * (tests/test_typed_e2e.c) serves the very same code.
 */
#ifndef SHADE_EXAMPLE_BANK_IMPL_H
#define SHADE_EXAMPLE_BANK_IMPL_H

#include <stdint.h>

#include "shade/shade.h"

/*
 * Make an account held by `owner` with `balance` cents and an auditor
 * watching it, and export them on s as "account" and "auditor".  The
 * state lives on mem_ctx (freeing it releases what the auditor kept);
 * free it after the server, or once the server no longer runs.
 */
shade_status bank_impl_export(TALLOC_CTX *mem_ctx, shade_server *s,
			      const char *owner, int64_t balance,
			      shade_error **err);

#endif /* SHADE_EXAMPLE_BANK_IMPL_H */
