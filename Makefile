# shade - top-level GNU Makefile.
#
#   make              build libshade (.a, .so) and the programs
#   make check        run every cmocka suite      (SAN=1: ASan + UBSan build,
#                                                 SAN=thread or TSAN=1:
#                                                 ThreadSanitizer)
#   make valgrind     run every suite under valgrind, failing on leaks
#   make demo         a server and a client over a real Unix socket
#   make bench        benchmarks (QUICK=1 for a short run)
#   make install      PREFIX=/usr/local DESTDIR= (LIBDIR, BINDIR, ... below)
#   make uninstall    remove what `make install` put there (same variables)
#   make deps         install missing Debian packages (root) or print how
#
# Objects go out of tree under build/ (build/san/ for SAN=1).  Each
# component adds its own rules in a <folder>/rules.mk fragment included
# below; this file owns the runtime library and the generic test rules.

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
# Where `make install` puts things (DESTDIR is prepended to each; the
# paths themselves are written into shade.pc and shadeConfig.cmake).
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
DOCDIR     ?= $(DATADIR)/doc/shade

# The version is written once, in shade/version.h; the soname follows the
# major number and the installed file carries all three.
VERSION_OF = $(shell sed -n 's/^.define SHADE_VERSION_$(1) \([0-9]*\)$$/\1/p' \
	runtime/include/shade/version.h)
VMAJOR  := $(call VERSION_OF,MAJOR)
VERSION := $(VMAJOR).$(call VERSION_OF,MINOR).$(call VERSION_OF,PATCH)
SONAME  := libshade.so.$(VMAJOR)

# TSAN=1 is SAN=thread (`make check TSAN=1`).
ifeq ($(TSAN),1)
SAN := thread
endif
ifeq ($(SAN),1)
BUILD   ?= build/san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT     ?= -O1
LTO     ?= 0
else ifeq ($(SAN),thread)
BUILD   ?= build/tsan
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
OPT     ?= -O1
LTO     ?= 0
else
BUILD   ?= build
SANFLAGS :=
OPT     ?= -O2
LTO     ?= 1
endif
# Link-time optimization: the runtime is one concern per file, and the
# calls of the hot paths cross files (api -> conn -> transport); LTO
# inlines across them as a single file would (doc/performance.md).  Fat
# objects keep libshade.a usable by builds without LTO.  LTO=0 turns it
# off.
ifeq ($(LTO),1)
LTOFLAGS := -flto=auto -ffat-lto-objects
# The installed archive keeps only the ordinary code: LTO bytecode is
# tied to this compiler's version.
STRIP_LTO := strip --remove-section='.gnu.lto_*' \
	--remove-section='.gnu.debuglto_*' -N __gnu_lto_v1 -N __gnu_lto_slim
else
LTOFLAGS :=
endif

WARN     := -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CPPFLAGS += -D_GNU_SOURCE -Iruntime/include -Iruntime
CFLAGS   += -std=c11 $(WARN) $(OPT) $(LTOFLAGS) -g -fPIC -fvisibility=hidden $(SANFLAGS)
LDFLAGS  += $(SANFLAGS) $(LTOFLAGS)
# GnuTLS for the tls: transport (doc/security.md says why this one).
CPPFLAGS += $(shell pkg-config --cflags gnutls 2>/dev/null)
LDLIBS   += -ltalloc $(shell pkg-config --libs gnutls 2>/dev/null || echo -lgnutls) -lpthread
# Every compile writes the headers it read to <object>.d, so touching any
# header rebuilds every object that includes it, generated ones too.
DEPFLAGS  = -MMD -MP -MF $@.d

# ---------------------------------------------------------------- runtime
RUNTIME_SRC := $(sort $(wildcard runtime/*/*.c))
RUNTIME_OBJ := $(RUNTIME_SRC:%.c=$(BUILD)/obj/%.o)
LIB_A  := $(BUILD)/lib/libshade.a
LIB_SO := $(BUILD)/lib/libshade.so

# Stamp of `make deps` (see below); targets that need the packages use it.
DEPS_STAMP := $(BUILD)/deps.ok

# Programs in build/bin, appended to by the fragments.
PROGRAMS :=
# Extra objects linked into every test (fragments may append).
TEST_EXTRA_OBJ :=
# Extra prerequisites of every test binary (generated headers...).
TEST_EXTRA_DEP :=

.PHONY: all check check-layers check-docs check-install valgrind demo bench \
	install uninstall clean deps fuzz
# Keep intermediate objects (test objects are built through pattern chains).
.SECONDARY:
all: $(LIB_A) $(LIB_SO) programs

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(LIB_A): $(RUNTIME_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(LIB_SO): $(RUNTIME_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,$(SONAME) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# ---------------------------------------------------------------- fragments
include $(sort $(wildcard */rules.mk */*/rules.mk))

programs: $(PROGRAMS)
.PHONY: programs

# ---------------------------------------------------------------- tests
# Every tests/test_<name>.c is one cmocka suite, linked statically.
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_HELPER_SRC := $(sort $(wildcard tests/helpers/*.c))
TEST_HELPER_OBJ := $(TEST_HELPER_SRC:%.c=$(BUILD)/obj/%.o)

# The archive goes last: objects a fragment adds as extra prerequisites
# (generated stubs...) may need any member of it.
$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_HELPER_OBJ) $(TEST_EXTRA_OBJ) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter-out $(LIB_A),$^) $(LIB_A) $(LDLIBS) -lcmocka

$(BUILD)/obj/tests/%.o: $(TEST_EXTRA_DEP)

# Suites run from the top of the tree with SHADE_BUILD set, so they can
# find programs and fixtures.  Each prints cmocka's summary lines.
# Then the docs cover every public function, and (not under SAN=1 or
# SAN=thread, whose library needs the sanitizers' run time) the installed
# tree builds the tutorial and outside projects.
check: $(DEPS_STAMP) all $(TEST_BIN)
	@tests/check_layers.sh $(BUILD)
	@tests/check_docs.sh
	@fail=0; for t in $(TEST_BIN); do \
		echo "== $$t"; \
		SHADE_BUILD=$(BUILD) $(if $(filter thread,$(SAN)),SHADE_SLOW=1) ./$$t || \
		{ echo "make check: $$t exited with status $$?"; fail=1; }; \
	done; \
	$(if $(SAN),,echo "== check-install"; \
	MAKE="$(MAKE)" tests/check_install.sh || fail=1; \
	echo "== check-debug"; \
	MAKE="$(MAKE)" tests/check_debug.sh $(BUILD) || fail=1;) \
	if [ $$fail -ne 0 ]; then echo "make check: FAILED"; exit 1; fi

VALGRIND := valgrind -q --error-exitcode=99 --leak-check=full \
	--show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \
	--track-fds=no --trace-children=no
valgrind: $(DEPS_STAMP) all $(TEST_BIN)
	@fail=0; for t in $(TEST_BIN); do \
		echo "== valgrind $$t"; \
		SHADE_BUILD=$(BUILD) SHADE_VALGRIND=1 $(VALGRIND) ./$$t || fail=1; \
	done; \
	if [ $$fail -ne 0 ]; then echo "make valgrind: FAILED"; exit 1; fi

# Includes and calls follow the layers (doc/architecture.md).
check-layers: all
	@tests/check_layers.sh $(BUILD)

# Every public function described (doc/reference.py); doc/api.md's
# examples name only functions that exist.
check-docs:
	@tests/check_docs.sh

# Install into a temporary prefix, run doc/tutorial.md and outside
# builds (make+pkg-config, CMake) against it, uninstall.
check-install: $(DEPS_STAMP) all
	@MAKE="$(MAKE)" tests/check_install.sh

# A misuse (NULL out-pointer) is InvalidArgument in this build and stops a
# debug build of the library (-DSHADE_DEBUG, built under $(BUILD)/debug).
check-debug: all
	@MAKE="$(MAKE)" tests/check_debug.sh $(BUILD)

# ---------------------------------------------------------------- deps
# `make deps` always looks; the other targets look once per build tree
# (the stamp is remade when this Makefile changes the package list).
DEB_PACKAGES := gcc g++ make flex bison libtalloc-dev libcmocka-dev \
	python3 python3-cbor2 valgrind pkg-config cmake binutils \
	libgnutls28-dev gnutls-bin \
	libglib2.0-dev libuv1-dev
$(DEPS_STAMP): Makefile
	@$(MAKE) --no-print-directory deps
	@mkdir -p $(dir $@) && touch $@
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update && apt-get install -y $$missing; \
		else \
			echo "missing packages; run: sudo apt-get install -y$$missing"; exit 1; \
		fi; \
	fi

# ---------------------------------------------------------------- install
# Installed: the headers, libshade.a, libshade.so.X.Y.Z with its soname
# and development links, shade.pc, the CMake package (cmake/), PROGRAMS
# (the tools only: examples are installed as sources, with the docs),
# the man pages, the docs and the examples' sources.
INSTALL_HEADERS := $(wildcard runtime/include/shade/*.h)
INSTALL_DOCS    := $(wildcard doc/*.md) README.md
INSTALL_EXAMPLES := $(wildcard examples/*.c examples/*.h examples/*.idl) \
	examples/README.md
MAN1 := $(wildcard doc/*.1)
# Section 3: shade.3 (the overview) and one page per header, written by
# doc/reference.py from the headers' comments, as doc/reference.md is.
MAN3 := $(BUILD)/man/shade.3 $(patsubst runtime/include/shade/%.h,$(BUILD)/man/shade-%.3, \
	$(filter-out %/shade.h %/visibility.h,$(INSTALL_HEADERS)))
# Files written with the install paths in them.
CONFIGURED := $(BUILD)/install/shade.pc $(BUILD)/install/shadeConfig.cmake \
	$(BUILD)/install/shadeConfigVersion.cmake
SUBST := sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' \
	-e 's|@VERSION@|$(VERSION)|g' -e 's|@VMAJOR@|$(VMAJOR)|g' \
	-e 's|@SONAME@|$(SONAME)|g'
# Remade when an install path changes.
$(BUILD)/install/paths: FORCE
	@mkdir -p $(dir $@)
	@echo '$(PREFIX) $(LIBDIR) $(INCLUDEDIR) $(BINDIR) $(VERSION)' > $@.tmp
	@cmp -s $@.tmp $@ && rm $@.tmp || mv $@.tmp $@
$(BUILD)/install/shade.pc: shade.pc.in $(BUILD)/install/paths
	$(SUBST) $< > $@
$(BUILD)/install/%.cmake: cmake/%.cmake.in $(BUILD)/install/paths
	$(SUBST) $< > $@
.PHONY: FORCE

$(BUILD)/man/shade-%.3: runtime/include/shade/%.h doc/reference.py
	@mkdir -p $(dir $@)
	python3 doc/reference.py --man $(VERSION) $*.h > $@.tmp && mv $@.tmp $@
$(BUILD)/man/shade.3: $(INSTALL_HEADERS) doc/reference.py
	@mkdir -p $(dir $@)
	python3 doc/reference.py --man $(VERSION) shade > $@.tmp && mv $@.tmp $@

install: all $(CONFIGURED) $(MAN3)
	install -d $(DESTDIR)$(INCLUDEDIR)/shade $(DESTDIR)$(LIBDIR) \
		$(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(LIBDIR)/cmake/shade \
		$(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(DOCDIR)/examples
	install -m 644 $(INSTALL_HEADERS) $(DESTDIR)$(INCLUDEDIR)/shade/
	install -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	$(if $(LTOFLAGS),$(STRIP_LTO) $(DESTDIR)$(LIBDIR)/libshade.a)
	install -m 755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/libshade.so.$(VERSION)
	ln -sf libshade.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libshade.so
	install -m 644 $(BUILD)/install/shade.pc $(DESTDIR)$(LIBDIR)/pkgconfig/
	install -m 644 $(BUILD)/install/shadeConfig.cmake \
		$(BUILD)/install/shadeConfigVersion.cmake \
		$(DESTDIR)$(LIBDIR)/cmake/shade/
	install -m 755 $(PROGRAMS) $(DESTDIR)$(BINDIR)/
	$(if $(MAN1),install -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/)
	$(if $(MAN3),install -m 644 $(MAN3) $(DESTDIR)$(MANDIR)/man3/)
	install -m 644 $(INSTALL_DOCS) $(DESTDIR)$(DOCDIR)/
	install -m 644 $(INSTALL_EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/

# Removes exactly the files install writes, then the folders that are
# left empty (never a folder that holds anything else).
uninstall:
	rm -f $(addprefix $(DESTDIR)$(INCLUDEDIR)/shade/,$(notdir $(INSTALL_HEADERS)))
	rm -f $(addprefix $(DESTDIR)$(LIBDIR)/,libshade.a libshade.so \
		$(SONAME) libshade.so.$(VERSION) pkgconfig/shade.pc \
		cmake/shade/shadeConfig.cmake cmake/shade/shadeConfigVersion.cmake)
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(PROGRAMS)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MAN1)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man3/,$(notdir $(MAN3)))
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(INSTALL_DOCS)))
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/examples/,$(notdir $(INSTALL_EXAMPLES)))
	-rmdir $(DESTDIR)$(INCLUDEDIR)/shade $(DESTDIR)$(LIBDIR)/cmake/shade \
		$(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.o.d' 2>/dev/null)
