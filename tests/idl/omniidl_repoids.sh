#!/usr/bin/env bash
# tests/idl/omniidl_repoids.sh - the repository ids shade-idlc gives
# (the C_REPO_ID macros of its headers) against omniidl's on the same
# files: every valid file of the omniORB CORBA services IDL
# (omniorb-idl), compiled by both; each id shade-idlc writes must be one
# omniidl writes (its _PD_repoId strings and TypeCodes, `-bcxx -Wba`).
# Needs omniidl (Debian package omniidl); run from the top of a clone:
#
#   tests/idl/omniidl_repoids.sh [IDLC]     (default build/bin/shade-idlc)
set -euo pipefail
cd "$(dirname "$0")/../.."
idlc=$(realpath "${1:-build/bin/shade-idlc}")
omni=/usr/share/idl/omniORB
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# the files omniidl refuses (see debian_corpora.sh)
invalid=" CosTSPortability DCE_CIOPSecurity NRService SECIOP SSLIOP Security
	SecurityAdmin SecurityLevel1 SecurityLevel2 SecurityReplaceable "
files=0 agree=0 ids=0
for f in "$omni"/*.idl "$omni"/COS/*.idl; do
	b=$(basename "$f" .idl)
	case "$invalid" in *[[:space:]]"$b"[[:space:]]*) continue ;; esac
	files=$((files + 1))
	(cd "$work" && omniidl -bcxx -Wba -I"$omni" -I"$omni/COS" "$f")
	(cd "$work" && "$idlc" -I"$omni" -I"$omni/COS" -o . "$f")
	cat "$work/${b}SK.cc" "$work/${b}DynSK.cc" "$work/$b.hh" |
		{ grep -o '"[A-Za-z]*:[^"]*"\|"omg\.org/[^"]*"' || true; } |
		sort -u > "$work/omniidl.ids"
	{ grep -o '_REPO_ID "[^"]*"' "$work/$b.h" || true; } |
		sed 's/^_REPO_ID //' | sort -u > "$work/shade.ids"
	ids=$((ids + $(wc -l < "$work/shade.ids")))
	if comm -13 "$work/omniidl.ids" "$work/shade.ids" | grep -q .; then
		echo "$b: ids that omniidl does not give:"
		comm -13 "$work/omniidl.ids" "$work/shade.ids"
	else
		agree=$((agree + 1))
	fi
	rm -f "$work"/*
done
echo "omniORB: $files files, $ids repository ids; files whose every id is omniidl's: $agree"
[ "$agree" -eq "$files" ]
