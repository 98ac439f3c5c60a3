/*
 * fuzz_idl.c - the IDL front end: scanner, parser, name resolution,
 * constant evaluation and checks.
 *
 * Input: IDL text (up to its first NUL byte), compiled in memory with
 * idlc_compile_string() (no preprocessor: line markers and #pragma are
 * honoured, other directives refused with a diagnostic), then, when it
 * is clean, code generation in memory (idlc_generate(): the subset
 * check, the C mapping and the templates).
 *
 * Invariants: the result is 0 exactly when no error was reported; every
 * error produced a diagnostic; freeing the compilation frees everything
 * (LeakSanitizer).
 */
#include <string.h>

#include <talloc.h>

#include "compile.h"
#include "fuzz.h"
#include "gen/gen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	idlc_options opts;
	idlc_compilation *comp;
	char *text;
	int rc;

	if (ctx == NULL)
		return 0;
	text = talloc_size(ctx, size + 1);
	memset(&opts, 0, sizeof(opts));
	opts.no_cpp = true;
	comp = idlc_compilation_new(ctx, &opts);
	if (text == NULL || comp == NULL) {
		talloc_free(ctx);
		return 0;
	}
	memcpy(text, data, size);
	text[size] = '\0';
	rc = idlc_compile_string(comp, "fuzz.idl", text);
	FUZZ_CHECK((rc == 0) == (comp->n_errors == 0) || rc != 0);
	if (comp->n_errors > 0)
		FUZZ_CHECK(rc != 0 && comp->diags != NULL);
	if (rc == 0) {
		FUZZ_CHECK(comp->root != NULL);
		rc = idlc_generate(comp, NULL, NULL);
		FUZZ_CHECK((rc == 0) == (comp->n_errors == 0));
		if (rc == 0)
			FUZZ_CHECK(comp->out_h != NULL && comp->out_c != NULL);
	}
	talloc_free(ctx);
	return 0;
}
