#!/usr/bin/env bash
# check_layers.sh - holds the tree to its layers (doc/architecture.md).
#
#   tests/check_layers.sh [BUILD]
#
# 1. Includes.  Every runtime folder is a layer; the layers are strictly
#    ordered (LAYERS below, lowest first).  A file in runtime/<L>/ may
#    include public headers "shade/x.h" of its own or a lower layer, its
#    own layer's private headers ("<L>/x_int.h") and private headers of
#    lower layers.  Public headers may include public headers of their own
#    or lower layers.  idlc/ may include public runtime headers only,
#    and is layered in turn (IDLC_LAYERS below: ast.h, then its folders,
#    then compile.c and main.c): a compiler file includes nothing of a
#    higher part.
# 2. Calls (when the objects are built under BUILD, default build): no
#    object calls a function defined in a higher layer, and no two
#    objects of the runtime or of the compiler call each other.
#
# Prints one line per violation and exits 1 when there is any.
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build}

LAYERS="base value codec object transport loop conn api server"
# The layer of each public header (runtime/include/shade/); shade.h, the
# umbrella, is for users only.
declare -A PUBLIC=(
	[visibility.h]=base [version.h]=base [error.h]=base [buf.h]=base
	[log.h]=base
	[value.h]=value
	[cbor.h]=codec
	[shape.h]=object [object.h]=object
	[transport.h]=transport [tls.h]=transport
	[loop.h]=loop
	[conn.h]=conn [security.h]=conn
	[proxy.h]=api [typed.h]=api [stream.h]=api
	[server.h]=server
)

declare -A RANK
i=0
for l in $LAYERS; do RANK[$l]=$i; i=$((i + 1)); done

bad=0
fail() { echo "check-layers: $*"; bad=1; }

# rank_of_include FILE INCLUDED -> prints the layer of INCLUDED, or
# nothing when it is not a runtime header.
layer_of_include() {
	local inc=$1
	case $inc in
	shade/*.h)
		local h=${inc#shade/}
		if [ -n "${PUBLIC[$h]:-}" ]; then echo "${PUBLIC[$h]}"; else echo "?public"; fi ;;
	*/*_int.h)
		# a runtime layer's private header; other folders are not ours
		if [ -n "${RANK[${inc%%/*}]:-}" ]; then echo "${inc%%/*}"; fi ;;
	esac
}

check_file() {
	local f=$1 own=$2 allow_private=$3 n=0 line inc tl
	while IFS= read -r line; do
		n=$((n + 1))
		case $line in
		'#include "'*) ;;
		*) continue ;;
		esac
		inc=${line#\#include \"}
		inc=${inc%%\"*}
		tl=$(layer_of_include "$inc")
		[ -z "$tl" ] && continue
		if [ "$tl" = "?public" ]; then
			fail "$f:$n: $inc is a public header with no layer (add it to tests/check_layers.sh)"
			continue
		fi
		if [ -z "${RANK[$tl]:-}" ]; then
			fail "$f:$n: $inc names no layer"
			continue
		fi
		if [ "$allow_private" = no ] && [ "${inc#shade/}" = "$inc" ]; then
			fail "$f:$n: $inc is private to the runtime"
			continue
		fi
		[ "$own" = "-" ] && continue
		if [ "${RANK[$tl]}" -gt "${RANK[$own]}" ]; then
			fail "$f:$n: $own includes $inc of the higher layer $tl"
		fi
	done < "$f"
}

# Every runtime folder must be a known layer.
for d in runtime/*/; do
	d=${d%/}; d=${d#runtime/}
	[ "$d" = include ] && continue
	[ -n "${RANK[$d]:-}" ] || fail "runtime/$d/ is not a layer (add it to LAYERS in tests/check_layers.sh)"
done
for l in $LAYERS; do
	for f in runtime/$l/*.[ch]; do
		[ -e "$f" ] && check_file "$f" "$l" yes
	done
done
for f in runtime/include/shade/*.h; do
	h=${f##*/}
	[ "$h" = shade.h ] && continue
	own=${PUBLIC[$h]:-}
	if [ -z "$own" ]; then
		fail "$f: public header with no layer (add it to tests/check_layers.sh)"
		continue
	fi
	check_file "$f" "$own" no
done
# The compiler's own parts, lowest first: the tree, the compilation
# state and diagnostics, the scanner and parser actions, the checks, the
# generator, then the pipeline and the command line.
IDLC_LAYERS="ast base front check gen top"
declare -A IRANK
i=0
for l in $IDLC_LAYERS; do IRANK[$l]=$i; i=$((i + 1)); done
idlc_part() {
	case $1 in
	ast.[ch] | idlc/ast.[ch]) echo ast ;;
	compile.[ch] | main.c | idlc/compile.[ch] | idlc/main.c) echo top ;;
	*/*) local d=${1#idlc/}; d=${d%%/*}
	     [ -n "${IRANK[$d]:-}" ] && echo "$d" ;;
	esac
}
while IFS= read -r f; do
	check_file "$f" - no
	own=$(idlc_part "$f")
	if [ -z "$own" ]; then
		fail "$f: a compiler file in no part (add it to IDLC_LAYERS in tests/check_layers.sh)"
		continue
	fi
	n=0
	while IFS= read -r line; do
		n=$((n + 1))
		case $line in '#include "'*) ;; *) continue ;; esac
		inc=${line#\#include \"}; inc=${inc%%\"*}
		part=$(idlc_part "$inc")
		[ -z "$part" ] && continue
		if [ "${IRANK[$part]}" -gt "${IRANK[$own]}" ]; then
			fail "$f:$n: $own includes $inc of the higher part $part"
		fi
	done < "$f"
done < <(find idlc -name '*.[ch]' | sort)

# ---------------------------------------------------------------- calls
layer_of_obj() {
	local o=${1#"$BUILD"/obj/runtime/}
	echo "${o%%/*}"
}

check_calls() {
	local part=$1 objs src
	# the objects of today's sources only (a build tree may keep others)
	objs=$(find "$part" -name '*.c' | sort | while read -r src; do
		[ -f "$BUILD/obj/${src%.c}.o" ] && echo "$BUILD/obj/${src%.c}.o"; done)
	[ -n "$objs" ] || return 0
	local defs uses
	defs=$(for o in $objs; do nm --defined-only -g "$o" | awk -v o="$o" 'NF==3 && $2 ~ /[TDBR]/ {print $3, o}'; done | sort -u)
	uses=$(for o in $objs; do nm -u "$o" | awk -v o="$o" '{print $NF, o}'; done | sort -u)
	# edges "user definer" between distinct objects
	local edges
	edges=$(join <(echo "$uses") <(echo "$defs") | awk '$2 != $3 {print $2, $3}' | sort -u)
	[ -n "$edges" ] || return 0
	while read -r a b; do
		if [ "$part" = runtime ]; then
			local la lb
			la=$(layer_of_obj "$a"); lb=$(layer_of_obj "$b")
			if [ -n "${RANK[$la]:-}" ] && [ -n "${RANK[$lb]:-}" ] &&
			   [ "${RANK[$lb]}" -gt "${RANK[$la]}" ]; then
				fail "${a#"$BUILD"/obj/} ($la) calls up into ${b#"$BUILD"/obj/} ($lb):" \
					"$(join <(nm -u "$a" | awk '{print $NF}' | sort) \
						<(nm --defined-only -g "$b" | awk 'NF==3 {print $3}' | sort) | tr '\n' ' ')"
			fi
		fi
		if [[ "$a" < "$b" ]] && grep -qx "$b $a" <<<"$edges"; then
			fail "${a#"$BUILD"/obj/} and ${b#"$BUILD"/obj/} call each other"
		fi
	done <<<"$edges"
}
check_calls runtime
check_calls idlc

if [ $bad -ne 0 ]; then
	echo "check-layers: FAILED"
	exit 1
fi
echo "check-layers: every include and call goes down a layer"
