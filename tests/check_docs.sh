#!/usr/bin/env bash
# check_docs.sh - the reference covers every public function.
#
#   tests/check_docs.sh
#
# Fails (one line per problem) when a function declared SHADE_API in
# runtime/include/shade/*.h has no comment to describe it, when
# doc/reference.md is not what doc/reference.py makes of the headers, or
# when a shade_* name the guides (doc/*.md) use is not a public function,
# macro or type.
set -u
cd "$(dirname "$0")/.."
bad=0
python3 doc/reference.py --check || bad=1

# Names the guides use must exist in a public header (or be generated
# code: the examples' own prefixes are not shade_).
# shade_idl_generate() is the CMake function (cmake/shadeConfig.cmake.in).
known=$(cat runtime/include/shade/*.h cmake/*.in | grep -o '\bshade_[a-z0-9_]*' | sort -u)
for f in doc/*.md; do
	for n in $(grep -o '\bshade_[a-z0-9_]*(' "$f" | tr -d '(' | sort -u); do
		grep -qx "$n" <<< "$known" ||
			{ echo "check-docs: $f names $n(), which no public header declares"; bad=1; }
	done
done
[ $bad -eq 0 ] || exit 1
