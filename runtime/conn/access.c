/*
 * access.c - deciding whether a peer may make a request: read-only
 * exports (the registry's flag) first, then the connection's access
 * hook with the peer's identity.  Calls only the registry and the hook;
 * runs on the thread serving the request, no lock held.
 */
#include <stddef.h>

#include "shade/security.h"
#include "conn/access_int.h"
#include "conn/conn_int.h"
#include "conn/msg_int.h"

/* The hook's kind of request for a wire opcode. */
static shade_access_kind access_kind(unsigned op)
{
	switch (op) {
	case OP_SETATTR:
	case OP_SETITEM:
	case OP_DELITEM:
	case OP_APPEND:
		return SHADE_ACCESS_SET;
	case OP_INVOKE:
	case OP_CALL:
		return SHADE_ACCESS_INVOKE;
	case OP_LOOKUP:
	case OP_NAMES:
		return SHADE_ACCESS_LOOKUP;
	default:
		return SHADE_ACCESS_GET;
	}
}

bool access_lookup(shade_conn *c, const char *name)
{
	shade_access a = { SHADE_ACCESS_LOOKUP, OP_LOOKUP, name, NULL, NULL };

	return c->access == NULL || c->access(c->access_udata, &c->id, &a);
}

shade_status access_check(shade_conn *c, unsigned op, shade_ref *target,
			  const char *member, bool method, shade_error **err)
{
	shade_access a;
	const char *name;

	if (c->access == NULL && !shade_registry_is_readonly(c->names, target))
		return SHADE_OK;
	a.kind = access_kind(op);
	if (method && op == OP_GETATTR)
		a.kind = SHADE_ACCESS_INVOKE; /* a bound method: a way to run
					       * it, as INVOKE is */
	a.op = op;
	a.target = target;
	a.member = member;
	name = a.name = shade_registry_name_of(c->names, target);
	if (a.kind != SHADE_ACCESS_GET &&
	    shade_registry_is_readonly(c->names, target))
		return shade_error_set(err, SHADE_ERR_PERMISSION,
				       "'%s' is exported read-only: %s%s%s%s "
				       "refused",
				       name ? name : "?", msg_op_name(op),
				       member ? " of '" : "",
				       member ? member : "",
				       member ? "'" : "");
	if (c->access != NULL && !c->access(c->access_udata, &c->id, &a))
		return shade_error_set(err, SHADE_ERR_PERMISSION,
				       "access denied: %s%s%s%s on %s%s%s",
				       msg_op_name(op),
				       member ? " of '" : "",
				       member ? member : "",
				       member ? "'" : "",
				       name ? "'" : "an object handed out",
				       name ? name : "", name ? "'" : "");
	return SHADE_OK;
}
