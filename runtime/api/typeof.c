/*
 * typeof.c - types and special members on references: the type of an
 * object (TYPEOF for a proxy, the local type otherwise) and repr.
 * The container operations reach the special members on the serving
 * side (object/dispatch.c); shade_equal calls __eq__ (containers.c).
 */
#include <string.h>

#include <talloc.h>

#include "shade/proxy.h"
#include "api/api_int.h"
#include "conn/conn_int.h"

shade_status shade_type_of(shade_ref *r, shade_ref **out, shade_error **err)
{
	struct api_field f;
	struct proxy *p;
	shade_value *v;

	SHADE_CHECK(api_check_ref(r, err));
	if (out == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "shade_type_of: out is NULL");
	if (!shade_ref_is_proxy(r))
		return shade_object_type(r, out, err);
	SHADE_CHECK(api_live_proxy(r, &p, err));
	f = (struct api_field){ API_FLD_UINT, p->eid, NULL, NULL };
	SHADE_CHECK(api_roundtrip(NULL, p->conn, p, OP_TYPEOF, &f, 1, NULL, NULL,
				  &v, err));
	return api_take_ref(v, out, err);
}

shade_status shade_repr(TALLOC_CTX *mem_ctx, shade_ref *r, char **out,
			shade_error **err)
{
	shade_value *res = NULL;
	shade_status st;

	SHADE_CHECK(api_check_ref(r, err));
	if (!api_has_special(r, SHADE_SPECIAL_REPR)) {
		*out = talloc_asprintf(mem_ctx, "<%s object>",
				       shade_ref_type_name(r));
		return *out ? SHADE_OK
			    : shade_error_set(err, SHADE_ERR_NOMEM,
					      "out of memory");
	}
	SHADE_CHECK(shade_invoke(NULL, r, SHADE_SPECIAL_REPR, NULL, NULL, &res,
				 err));
	if (shade_value_kind(res) != SHADE_STR)
		st = shade_error_set(err, SHADE_ERR_TYPE,
				     "%s.%s returned %s, not a str",
				     shade_ref_type_name(r), SHADE_SPECIAL_REPR,
				     shade_kind_name(shade_value_kind(res)));
	else if ((*out = shade_value_strdup(mem_ctx, res)) == NULL)
		st = shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	else
		st = SHADE_OK;
	talloc_free(res);
	return st;
}
