#!/usr/bin/env bash
# tutorial.sh - runs doc/tutorial.md against an installed shade.
#
#   tests/tutorial.sh PREFIX [LIBDIR]
#
# In a fresh temporary folder: writes every fenced block whose info string
# names a file (```c greeter_server.c) to that file, checks that the
# example files are the ones in examples/ (the page and the installed
# example cannot drift apart), then runs the ```sh run blocks in order in
# one shell (so a server started in one block is stopped by a later one)
# and compares what each printed with the ```text output block right
# after it, if any.  PATH, PKG_CONFIG_PATH, CMAKE_PREFIX_PATH and
# LD_LIBRARY_PATH point at PREFIX, as they would for /usr/local.
#
# The whole run is bounded (TUTORIAL_TIMEOUT seconds, default 120); every
# process it started is stopped through its process group.  Exits 0 when
# every block ran and printed what the page shows.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
doc=$top/doc/tutorial.md
prefix=${1:?usage: tutorial.sh PREFIX [LIBDIR]}
libdir=${2:-$prefix/lib}
limit=${TUTORIAL_TIMEOUT:-120}

dir=$(mktemp -d) || exit 1
trap '[ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
fail() { echo "tutorial: $*"; exit 1; }

# Split the page: files, run blocks (run.N) and expected outputs (want.N).
awk -v dir="$dir" '
	/^```/ && !inblock {
		inblock = 1; split(substr($0, 4), w, " "); out = ""
		if (w[2] == "run") { n++; out = dir "/.run." n }
		else if (w[2] == "output") out = dir "/.want." n
		else if (w[2] != "") out = dir "/" w[2]
		if (out != "") printf "" > out
		next
	}
	/^```/ && inblock { inblock = 0; if (out != "") close(out); next }
	inblock && out != "" { print > out }
' "$doc"
n=$(ls "$dir"/.run.* 2>/dev/null | wc -l)
[ "$n" -gt 0 ] || fail "no \`\`\`sh run blocks in $doc"

for f in greeter.idl greeter_server.c greeter_client.c greeter_dynamic.c; do
	[ -f "$dir/$f" ] || fail "$f is not in the tutorial"
	cmp -s "$dir/$f" "$top/examples/$f" ||
		fail "$f in doc/tutorial.md differs from examples/$f"
done

# One shell runs every block, each block's output into .got.N.
{
	echo 'echo $$ > .pgid'      # its own session and process group
	echo 'set -e'
	for i in $(seq 1 "$n"); do
		echo "{"
		cat "$dir/.run.$i"
		echo "} > .got.$i 2>&1"     # set -e: a failure ends the script
	done
} > "$dir/.script"

export PATH="$prefix/bin:$PATH"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
# (LIBDIR/cmake too: CMake looks in PREFIX/lib, not in every LIBDIR)
export CMAKE_PREFIX_PATH="$prefix:$libdir/cmake"
export LD_LIBRARY_PATH="$libdir"
# a make that runs this script must not pass its flags and variables on
unset MAKEFLAGS MFLAGS MAKELEVEL
(cd "$dir" && exec timeout -k 5 "$limit" setsid bash .script)
rc=$?
# anything a block left running (a server whose block failed)
[ -s "$dir/.pgid" ] && kill -TERM -- -"$(cat "$dir/.pgid")" 2>/dev/null

if [ "$rc" -ne 0 ]; then
	# the last block that started is the one that failed or hung
	i=$(ls "$dir"/.got.* | sed 's/.*\.got\.//' | sort -n | tail -1)
	echo "tutorial: block $i failed or did not finish (status $rc):"
	cat "$dir/.run.$i"
	echo "-- it printed:"
	cat "$dir/.got.$i"
	exit 1
fi
bad=0
for i in $(seq 1 "$n"); do
	if [ -f "$dir/.want.$i" ] && ! cmp -s "$dir/.want.$i" "$dir/.got.$i"; then
		echo "tutorial: block $i printed something else than the page shows:"
		diff "$dir/.want.$i" "$dir/.got.$i"
		bad=1
	fi
done
[ $bad -eq 0 ] || exit 1
echo "tutorial: $n blocks run, outputs as shown"
