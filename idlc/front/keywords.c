/*
 * idlc/front/keywords.c - the keywords of IDL, and the identifiers of a
 * compilation that equal one of them but for case (OMG IDL 7.2.3: such an
 * identifier may not be declared; the scanner records them, the resolve
 * pass refuses their declarations).
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "base/comp.h"
#include "front/keywords.h"

/* The keywords of the scanner (grammar/idl.l), sorted ignoring case. */
static const char *const keywords[] = {
	"abstract",
	"any",
	"attribute",
	"bitfield",
	"bitmask",
	"bitset",
	"boolean",
	"case",
	"char",
	"component",
	"const",
	"consumes",
	"context",
	"custom",
	"default",
	"double",
	"emits",
	"enum",
	"eventtype",
	"exception",
	"factory",
	"FALSE",
	"finder",
	"fixed",
	"float",
	"getraises",
	"home",
	"import",
	"in",
	"inout",
	"int16",
	"int32",
	"int64",
	"int8",
	"interface",
	"local",
	"long",
	"manages",
	"map",
	"module",
	"multiple",
	"native",
	"Object",
	"octet",
	"oneway",
	"out",
	"primarykey",
	"private",
	"provides",
	"public",
	"publishes",
	"raises",
	"readonly",
	"sequence",
	"setraises",
	"short",
	"string",
	"struct",
	"supports",
	"switch",
	"TRUE",
	"truncatable",
	"typedef",
	"typeid",
	"typeprefix",
	"uint16",
	"uint32",
	"uint64",
	"uint8",
	"union",
	"unsigned",
	"uses",
	"ValueBase",
	"valuetype",
	"void",
	"wchar",
	"wstring",
};

/* Keyword ignoring case; see its header. */
const char *idlc_keyword_ignoring_case(const char *text, size_t len)
{
	size_t lo = 0, hi = sizeof(keywords) / sizeof(keywords[0]);

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strncasecmp(text, keywords[mid], len);
		if (c == 0 && keywords[mid][len] != '\0')
			c = -1;
		if (c == 0)
			return keywords[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Slot of `name` in the keyword-identifier table (its pair's index). */
static size_t kw_slot(const idlc_compilation *comp, const char *name)
{
	size_t mask = comp->kw_slots - 1;
	size_t i = (size_t)(((uintptr_t)name >> 3) * 0x9e3779b97f4a7c15u) &
		   mask;

	while (comp->kw_idents[2 * i] && comp->kw_idents[2 * i] != name)
		i = (i + 1) & mask;
	return i;
}

/* Remember a keyword identifier; see its header. */
int idlc_keyword_ident_add(idlc_compilation *comp, const char *name,
			   const char *kw)
{
	size_t i;

	if ((comp->kw_used + 1) * 2 > comp->kw_slots) {
		const char **old = comp->kw_idents;
		size_t n = comp->kw_slots;
		comp->kw_slots = n ? n * 2 : 16;
		comp->kw_idents = talloc_zero_array(comp, const char *,
						    2 * comp->kw_slots);
		if (comp->kw_idents == NULL)
			return -1;
		for (i = 0; i < n; i++)
			if (old[2 * i]) {
				size_t j = kw_slot(comp, old[2 * i]);
				comp->kw_idents[2 * j] = old[2 * i];
				comp->kw_idents[2 * j + 1] = old[2 * i + 1];
			}
		talloc_free(old);
	}
	i = kw_slot(comp, name);
	if (comp->kw_idents[2 * i] == NULL)
		comp->kw_used++;
	comp->kw_idents[2 * i] = name;
	comp->kw_idents[2 * i + 1] = kw;
	return 0;
}

/* Look a keyword identifier up; see its header. */
const char *idlc_keyword_ident(const idlc_compilation *comp,
			       const char *name)
{
	if (comp->kw_used == 0)
		return NULL;
	return comp->kw_idents[2 * kw_slot(comp, name) + 1];
}

