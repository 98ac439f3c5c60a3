#!/usr/bin/env bash
# tests/idl/corpus_check.sh - shade-idlc on IDL corpora: every valid file
# must pass --check, generate, and its .c compile with
# cc -std=c11 -Wall -Wextra -Wpedantic -Werror; every invalid file must
# be refused with a file:line diagnostic; every generated header must
# compile as C++11.  Prints the counts; exits 1
# below 100%.
#
#   tests/idl/corpus_check.sh IDLC NAME DIR[:DIR...] [-I DIR]... \
#       [--invalid BASE]... [--] FILE.idl...
#
# NAME labels the output.  Each file is generated into a temporary
# folder shared by the corpus, in the order given (a file's includes
# first), under the folders of its path relative to the -I directory
# that holds it (as the generated #include names it: a/msg/Time.idl ->
# OUT/a/msg/Time.h), and compiled against runtime/include.  --invalid BASE names a
# file (by base name) that is not valid IDL: it must be refused.
set -u

idlc=$1 name=$2
shift 2
incs=() dirs=() invalid=" " files=()
while [ $# -gt 0 ]; do
	case $1 in
	-I) incs+=("-I$2"); dirs+=("${2%/}"); shift 2 ;;
	--invalid) invalid+="$2 "; shift 2 ;;
	--) shift; files+=("$@"); break ;;
	*) files+=("$1"); shift ;;
	esac
done

top=$(cd "$(dirname "$0")/../.." && pwd)
cc=${CC:-cc}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# a failure: what failed, and the first errors
report() {
	echo "$name: $1"
	grep -m3 error "$out/err.txt"
}

# the path of f relative to the -I directory that holds it (the
# shortest), without .idl; its base name when none does
relpath() {
	local f=${1%.idl} best= d r
	for d in "${dirs[@]}"; do
		case $f in "$d"/*)
			r=${f#"$d"/}
			if [ -z "$best" ] || [ ${#r} -lt ${#best} ]; then
				best=$r
			fi ;;
		esac
	done
	echo "${best:-$(basename "$f")}"
}

# each file once, in the order given
declare -A seen
uniq=()
for f in "${files[@]}"; do
	[ -n "${seen[$f]:-}" ] && continue
	seen[$f]=1
	uniq+=("$f")
done

# pass 1: check and generate (every header exists before pass 2)
n_valid=0 n_check=0 n_gen=0 n_cc=0 n_invalid=0 n_refused=0
generated=()
for f in "${uniq[@]}"; do
	base=$(basename "$f" .idl)
	if [ "${invalid#* $base }" != "$invalid" ]; then
		n_invalid=$((n_invalid + 1))
		if "$idlc" --check "${incs[@]}" "$f" >/dev/null \
			2>"$out/err.txt"; then
			echo "$name: ACCEPTED (invalid): $f"
		elif grep -Eq '^[^: ]+:[0-9]+(:[0-9]+)?: error:' "$out/err.txt"; then
			n_refused=$((n_refused + 1))
		else
			echo "$name: refused without file:line: $f"
			head -3 "$out/err.txt"
		fi
		continue
	fi
	n_valid=$((n_valid + 1))
	if ! "$idlc" --check "${incs[@]}" "$f" >/dev/null 2>"$out/err.txt"; then
		report "CHECK FAILED: $f"
		continue
	fi
	n_check=$((n_check + 1))
	rel=$(relpath "$f")
	mkdir -p "$out/$(dirname "$rel")"
	if ! "$idlc" -o "$out/$(dirname "$rel")" "${incs[@]}" "$f" >/dev/null \
		2>"$out/err.txt"; then
		report "GENERATION FAILED: $f"
		continue
	fi
	n_gen=$((n_gen + 1))
	generated+=("$rel")
done

# pass 2: compile every generated file
for base in "${generated[@]}"; do
	if ! "$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror -I"$out" \
		-I"$top/runtime/include" -c "$out/$base.c" -o "$out/$base.o" \
		2>"$out/err.txt"; then
		report "COMPILE FAILED: $base.c"
		continue
	fi
	n_cc=$((n_cc + 1))
done

# pass 3: every header compiles as C++ too (when a C++ compiler is here)
cxx=${CXX:-c++}
n_cxx=0
if command -v "$cxx" >/dev/null; then
	for base in "${generated[@]}"; do
		if ! "$cxx" -std=c++11 -Wall -Wextra -Werror -fsyntax-only \
			-I"$out" -I"$top/runtime/include" -x c++ "$out/$base.h" \
			2>"$out/err.txt"; then
			report "C++ HEADER FAILED: $base.h"
			continue
		fi
		n_cxx=$((n_cxx + 1))
	done
else
	n_cxx=${#generated[@]}
	echo "$name: no C++ compiler: headers not compiled as C++"
fi

pct() { [ "$2" -eq 0 ] && echo 100 || echo $(( $1 * 100 / $2 )); }
echo "$name: $n_valid valid files: checked $n_check ($(pct $n_check $n_valid)%)," \
	"generated $n_gen ($(pct $n_gen $n_valid)%)," \
	"compiled $n_cc ($(pct $n_cc $n_valid)%)," \
	"headers as C++ $n_cxx ($(pct $n_cxx $n_valid)%);" \
	"$n_invalid invalid: refused with file:line $n_refused"
[ "$n_cc" -eq "$n_valid" ] && [ "$n_cxx" -eq "$n_valid" ] &&
	[ "$n_refused" -eq "$n_invalid" ]
