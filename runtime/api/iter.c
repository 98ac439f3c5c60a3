/*
 * iter.c - iterators over remote (or local) containers, fetching
 * elements in chunks through shade_force_range().
 */
#include <string.h>

#include <talloc.h>

#include "shade/cbor.h"
#include "shade/proxy.h"
#include "api/api_int.h"
#include "conn/conn_int.h"
#include "object/shape_int.h"

/* Iteration state. */
struct shade_iter {
	shade_ref *r;         /* the container (one count held) */
	size_t chunk;         /* elements per FORCE */
	size_t next;          /* index of the next chunk's first element */
	shade_value *buf;     /* current chunk, or NULL */
	size_t pos;           /* position inside buf (dict: iterator pos) */
	bool end;             /* the last chunk has been fetched */
};

/* Destructor: drop the container's count. */
static int iter_destructor(shade_iter *it)
{
	shade_ref_release(it->r);
	return 0;
}

shade_status shade_iter_new(TALLOC_CTX *mem_ctx, shade_ref *r, size_t chunk,
			    shade_iter **out, shade_error **err)
{
	shade_iter *it;

	SHADE_CHECK(api_check_ref(r, err));
	it = talloc_zero(mem_ctx, shade_iter);
	if (it == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	if (chunk == 0) {
		shade_conn *c = shade_ref_conn(r);

		chunk = c ? c->iter_chunk : 65536;
	}
	it->r = shade_ref_retain(r);
	it->chunk = chunk;
	talloc_set_destructor(it, iter_destructor);
	*out = it;
	return SHADE_OK;
}

shade_status shade_iter_next(shade_iter *it, const shade_value **item,
			     shade_error **err)
{
	const shade_value *k;

	*item = NULL;
	for (;;) {
		if (it->buf != NULL) {
			if (shade_value_kind(it->buf) == SHADE_LIST) {
				if (it->pos < shade_seq_len(it->buf)) {
					*item = shade_seq_at(it->buf,
							     it->pos++);
					return SHADE_OK;
				}
			} else if (shade_dict_next(it->buf, &it->pos, &k,
						   NULL)) {
				*item = k;
				return SHADE_OK;
			}
		}
		if (it->end)
			return SHADE_OK;
		TALLOC_FREE(it->buf);
		SHADE_CHECK(shade_force_range(it, it->r, it->next, it->chunk,
					      &it->buf, err));
		it->pos = 0;
		it->next += shade_value_len(it->buf);
		if (shade_value_len(it->buf) < it->chunk)
			it->end = true;
	}
}
