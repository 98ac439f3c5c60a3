/*
 * idlc/gen.c - code generation driver.
 */
#include "gen.h"

/* Generate; see gen.h. */
int idlc_generate(idlc_compilation *comp, const char *out_dir,
		  const char *templates_dir)
{
	(void)out_dir;
	(void)templates_dir;
	if (idlc_check_subset(comp) < 0)
		return -1;
	idlc_error(comp, NULL, "code generation is not available yet");
	return -1;
}
