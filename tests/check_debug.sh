#!/usr/bin/env bash
# check_debug.sh - a misuse of the API (a NULL out-pointer) is an error in
# a release build and stops the program in a debug build (SHADE_DEBUG).
#
#   tests/check_debug.sh BUILD
#
# Builds the library again under BUILD/debug with -DSHADE_DEBUG, links
# tests/debug_misuse.c against both libraries and checks what each does.
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build}
MAKE=${MAKE:-make}
DBG=$BUILD/debug
out=$(mktemp -d) || exit 1
trap 'rm -rf "$out"' EXIT
fail() { echo "check-debug: $*"; exit 1; }

$MAKE -s --no-print-directory BUILD="$DBG" LTO=0 OPT="-O1 -DSHADE_DEBUG" \
	"$DBG/lib/libshade.a" >"$out/make.log" 2>&1 ||
	{ cat "$out/make.log"; fail "the debug library does not build"; }
for kind in release debug; do
	lib=$BUILD/lib/libshade.a
	[ $kind = debug ] && lib=$DBG/lib/libshade.a
	# -fno-lto: the ordinary code of the library's objects, as an installed
	# libshade.a has (make install strips the LTO bytecode)
	cc -std=c11 -Wall -Wextra -Werror -fno-lto -Iruntime/include \
		-o "$out/$kind" tests/debug_misuse.c "$lib" -ltalloc \
		$(pkg-config --libs gnutls 2>/dev/null || echo -lgnutls) -lpthread ||
		fail "$kind: the program does not build"
	"$out/$kind" >"$out/$kind.out" 2>"$out/$kind.err"
	echo $? >"$out/$kind.rc"
done
want="InvalidArgument: shade_connect: out is NULL"
[ "$(cat "$out/release.rc")" = 0 ] || fail "release: exit $(cat "$out/release.rc"), want 0"
[ "$(cat "$out/release.out")" = "$want" ] ||
	fail "release: printed '$(cat "$out/release.out")', want '$want'"
rc=$(cat "$out/debug.rc")
[ "$rc" = 134 ] || fail "debug: exit $rc, want 134 (SIGABRT)"
grep -qx "shade: misuse: shade_connect: out is NULL" "$out/debug.err" ||
	fail "debug: stderr '$(cat "$out/debug.err")'"
echo "check-debug: misuse is InvalidArgument in release and stops a debug build"
