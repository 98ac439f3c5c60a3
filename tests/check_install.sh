#!/usr/bin/env bash
# check_install.sh - installs the tree into a fresh temporary prefix and
# uses it as an outside project would (run by `make check-install`, which
# `make check` runs).
#
#   tests/check_install.sh        (MAKE: the make to call, default make)
#
# 1. `make install PREFIX=tmp/usr LIBDIR=tmp/usr/lib64` and the layout:
#    libshade.so.X.Y.Z with its soname and both links, shade.pc (version,
#    shade_idlc), the CMake package, the man pages, the docs, the
#    examples as sources, and no example program in bin/.
# 2. doc/tutorial.md, every step, with make+pkg-config and with CMake
#    (tests/tutorial.sh).
# 3. Regeneration: a project whose IDL #includes another IDL file, built
#    with make (shade-idlc -MD) and with CMake (shade_idl_generate); after
#    the included file changes, both builds generate the stubs again.
# 4. `make uninstall` with the same variables leaves no file behind.
set -u
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/usr
libdir=$prefix/lib64
fail() { echo "check-install: $*"; exit 1; }

$MAKE --no-print-directory -s install PREFIX="$prefix" LIBDIR="$libdir" \
	> "$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; fail "make install failed"; }

# ---- 1. layout
version=$(sed -n 's/^#define SHADE_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)$/\2/p' \
	runtime/include/shade/version.h | paste -sd.)
major=${version%%.*}
[ -f "$libdir/libshade.so.$version" ] || fail "no libshade.so.$version"
[ "$(readlink "$libdir/libshade.so.$major")" = "libshade.so.$version" ] ||
	fail "libshade.so.$major does not point at libshade.so.$version"
[ "$(readlink "$libdir/libshade.so")" = "libshade.so.$major" ] ||
	fail "libshade.so does not point at libshade.so.$major"
soname=$(readelf -d "$libdir/libshade.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libshade.so.$major" ] || fail "soname is '$soname'"
export PKG_CONFIG_PATH=$libdir/pkgconfig
[ "$(pkg-config --modversion shade)" = "$version" ] || fail "shade.pc version"
idlc=$(pkg-config --variable=shade_idlc shade)
[ "$idlc" = "$prefix/bin/shade-idlc" ] && [ -x "$idlc" ] ||
	fail "shade_idlc=$idlc is not the installed compiler"
[ "$("$idlc" --version)" = "shade-idlc $version" ] || fail "shade-idlc --version"
for f in "$libdir/cmake/shade/shadeConfig.cmake" \
	 "$libdir/cmake/shade/shadeConfigVersion.cmake" \
	 "$prefix/include/shade/version.h" \
	 "$prefix/share/man/man1/shade-idlc.1" "$prefix/share/man/man3/shade.3" \
	 "$prefix/share/doc/shade/idl.md" "$prefix/share/doc/shade/tutorial.md" \
	 "$prefix/share/doc/shade/reference.md" \
	 "$prefix/share/doc/shade/examples/greeter.idl"; do
	[ -f "$f" ] || fail "${f#$tmp/} was not installed"
done
for h in runtime/include/shade/*.h; do
	h=$(basename "$h" .h)
	[ "$h" = shade ] || [ "$h" = visibility ] ||
		[ -f "$prefix/share/man/man3/shade-$h.3" ] ||
		fail "no man page shade-$h.3"
done
for p in "$prefix"/bin/*; do
	case $(basename "$p") in
	shade*) ;;
	*) fail "bin/$(basename "$p") installed: only the tools belong in bin/" ;;
	esac
done
# a program built against the headers reports the same version at run time
printf '#include <stdio.h>\n#include <string.h>\n#include "shade/shade.h"\nint main(void)\n{\n\tprintf("%%s\\n", shade_version());\n\treturn strcmp(shade_version(), SHADE_VERSION_STRING) != 0;\n}\n' > "$tmp/v.c"
cc -o "$tmp/v" "$tmp/v.c" $(pkg-config --cflags --libs shade) &&
	[ "$(LD_LIBRARY_PATH=$libdir "$tmp/v")" = "$version" ] ||
	fail "shade_version() does not say $version"

# ---- 2. the tutorial
tests/tutorial.sh "$prefix" "$libdir" || fail "the tutorial failed"

# ---- 3. an included IDL file changes: both builds regenerate
proj=$tmp/regen
mkdir -p "$proj/idl"
cat > "$proj/idl/types.idl" <<'IDL'
module regen { typedef long Count; };
IDL
cat > "$proj/main.idl" <<'IDL'
#include "types.idl"
module regen { interface Counter { Count next(); }; };
IDL
printf '#include "main.h"\nint main(void) { return 0; }\n' > "$proj/main.c"
cat > "$proj/Makefile" <<'MK'
IDLC   := $(shell pkg-config --variable=shade_idlc shade)
CFLAGS += -Igen/deep $(shell pkg-config --cflags shade)
LDLIBS += $(shell pkg-config --libs shade)
main: main.o gen/deep/main.o gen/deep/types.o
main.o gen/deep/main.o: gen/deep/main.h gen/deep/types.h
gen/deep/main.h gen/deep/main.c &: main.idl
	$(IDLC) -I idl -MD -o gen/deep $<
gen/deep/types.h gen/deep/types.c &: idl/types.idl
	$(IDLC) -MD -o gen/deep $<
-include gen/deep/*.d
MK
cat > "$proj/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.20)
project(regen C)
find_package(shade 0.1 REQUIRED)
add_executable(main main.c)
shade_idl_generate(main IDL main.idl idl/types.idl INCLUDE_DIRS idl
                   OUTPUT_DIR gen)
target_link_libraries(main PRIVATE shade::shade)
CM
export CMAKE_PREFIX_PATH="$prefix:$libdir/cmake"
outside() { (cd "$proj" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "$@"); }
outside make -s > "$tmp/regen.log" 2>&1 &&
	outside cmake -S . -B build >> "$tmp/regen.log" 2>&1 &&
	outside cmake --build build >> "$tmp/regen.log" 2>&1 ||
	{ cat "$tmp/regen.log"; fail "outside build"; }
[ -x "$proj/main" ] && [ -x "$proj/build/main" ] || fail "no outside programs"
# main.c depends on types.idl only through the dependency file
made=$(stat -c %y "$proj/gen/deep/main.c" "$proj/build/gen/main.c")
sed -i 's/typedef long Count;/typedef long long Count;/' "$proj/idl/types.idl"
outside make -s > "$tmp/regen.log" 2>&1 &&
	outside cmake --build build >> "$tmp/regen.log" 2>&1 ||
	{ cat "$tmp/regen.log"; fail "outside rebuild"; }
remade=$(stat -c %y "$proj/gen/deep/main.c" "$proj/build/gen/main.c")
[ "$(sed -n 1p <<< "$made")" != "$(sed -n 1p <<< "$remade")" ] ||
	fail "make did not regenerate main.c after the IDL file it includes changed"
[ "$(sed -n 2p <<< "$made")" != "$(sed -n 2p <<< "$remade")" ] ||
	fail "CMake did not regenerate main.c after the IDL file it includes changed"

# ---- 4. uninstall
$MAKE --no-print-directory -s uninstall PREFIX="$prefix" LIBDIR="$libdir" \
	> "$tmp/uninstall.log" 2>&1 || { cat "$tmp/uninstall.log"; fail "make uninstall failed"; }
left=$(find "$prefix" ! -type d)
[ -z "$left" ] || fail "make uninstall left: $left"
echo "check-install: installed $version into a temporary prefix, tutorial and outside builds passed, uninstall left nothing"
