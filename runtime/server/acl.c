/*
 * acl.c - access control on a server: exporting an object read-only
 * (doc/security.md).  The decisions themselves are taken per request by
 * the connection (runtime/conn/access.c); this file only records them.
 */
#include "shade/object.h"
#include "shade/server.h"

shade_status shade_server_export_readonly(shade_server *s, const char *name,
					  struct shade_ref *obj,
					  shade_error **err)
{
	return shade_registry_add_readonly(shade_server_registry(s), name,
					   obj, err);
}
