/*
 * version.c - the version of the library linked at run time.
 */
#include "shade/version.h"

const char *shade_version(void)
{
	return SHADE_VERSION_STRING;
}
