# mtls-pam top-level Makefile.
#
#   make            build common/, mtlsd, mtlsctl
#   make check      install missing deps, build, run unit + integration tests
#   make demo       install missing deps, build, run the loopback demo
#   make asan check build with AddressSanitizer and UBSan, then test
#   make bench      measure mtlsd against stunnel, haproxy and nginx
#                   (tests/bench/RESULTS.md)
#   make WOLFSSL=tuned  link against wolfSSL rebuilt from the distribution's
#                   source with its assembly (packaging/wolfssl-tuned.sh)
#   make clean

PREFIX	?= /usr/local
DESTDIR	?=
PKG_CONFIG ?= pkg-config
PKGS	:= wolfssl libconfig

CC	?= cc
WERROR	?=
CFLAGS	?= -O2 -g
CFLAGS	+= -std=gnu11 -Wall -Wextra -Wformat=2 -Wshadow -Wpointer-arith \
	   -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter \
	   -Wvla -Wcast-align $(WERROR) \
	   -fstack-protector-strong -fPIE -D_FORTIFY_SOURCE=2 -D_GNU_SOURCE \
	   -Icommon
LDFLAGS	+= -pie -Wl,-z,relro,-z,now -Wl,--as-needed
ifeq ($(filter asan,$(MAKECMDGOALS)),asan)
CFLAGS	:= $(filter-out -D_FORTIFY_SOURCE=2 -O2,$(CFLAGS)) -O1 \
	   -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined
LDFLAGS	+= -fsanitize=address,undefined
endif

# WOLFSSL=system (default) links the distribution's shared libwolfssl.
# WOLFSSL=tuned links a static wolfSSL built from the distribution's own
# source package with x86-64 assembly, AES-NI and SP math, into
# WOLFSSL_PREFIX; the distribution build leaves all of that off.
WOLFSSL	?= system
WOLFSSL_PREFIX ?= $(CURDIR)/build/wolfssl-tuned
ifeq ($(WOLFSSL),tuned)
WOLFSSL_PC  := $(WOLFSSL_PREFIX)/lib/pkgconfig/wolfssl.pc
PKG_CONFIG  := PKG_CONFIG_PATH=$(WOLFSSL_PREFIX)/lib/pkgconfig $(PKG_CONFIG)
WOLFSSL_STATIC := --static
else ifeq ($(WOLFSSL),system)
WOLFSSL_PC  :=
WOLFSSL_STATIC :=
else
$(error WOLFSSL must be "system" or "tuned", not "$(WOLFSSL)")
endif

# Only resolve pkg-config flags when building (deps may not be installed yet).
DEP_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
DEP_LIBS   = $(shell $(PKG_CONFIG) $(WOLFSSL_STATIC) --libs wolfssl 2>/dev/null) \
	     $(shell $(PKG_CONFIG) --libs libconfig 2>/dev/null)
WOLFSSL_LIBS = $(shell $(PKG_CONFIG) $(WOLFSSL_STATIC) --libs wolfssl 2>/dev/null)
CUNIT_LIBS = $(shell $(PKG_CONFIG) --libs cunit 2>/dev/null)
PAMTEST_LIBS = $(shell $(PKG_CONFIG) --libs libpamtest 2>/dev/null)

COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:.c=.o)
MTLSD_SRC  := $(filter-out mtlsd/mtlsctl%,$(wildcard mtlsd/*.c))
CTL_OBJ    := mtlsd/mtlsctl.o mtlsd/mtlsctl_map.o
MTLSD_OBJ  := $(MTLSD_SRC:.c=.o)
UNIT_SRC   := $(wildcard tests/unit/*.c)
UNIT_OBJ   := $(UNIT_SRC:.c=.o)

LIBCOMMON  := common/libmtlscommon.a
BINS       := mtlsd/mtlsd mtlsd/mtlsctl

# pam_mtls.so: position-independent, only the common code it needs (no
# TLS, no libconfig), and only the pam_sm_* symbols exported.
PAM_SRC    := $(wildcard pam_mtls/*.c) common/query.c common/netaddr.c \
	      common/bytes.c common/error.c
PAM_OBJ    := $(PAM_SRC:.c=.pic.o)
PAM_MODULE := pam_mtls/pam_mtls.so

.PHONY: all check demo deps deps-bench deps-package asan bench bench-progs clean install uninstall \
	deb rpm \
	FORCE
all: $(BINS) $(PAM_MODULE)

# Objects built against one wolfSSL must not be linked with the other (the
# headers' options differ): the variant in use is kept in a file that
# changes only when WOLFSSL changes, and every object depends on it.
WOLFSSL_STAMP := build/wolfssl-variant
$(WOLFSSL_STAMP): FORCE
	@mkdir -p build
	@echo "$(WOLFSSL) $(if $(WOLFSSL_PC),$(WOLFSSL_PREFIX))" | cmp -s - $@ || \
	    echo "$(WOLFSSL) $(if $(WOLFSSL_PC),$(WOLFSSL_PREFIX))" >$@
FORCE:

ifneq ($(WOLFSSL_PC),)
$(WOLFSSL_PC):
	@packaging/deps.sh --tuned --check >/dev/null 2>&1 || \
	    packaging/deps.sh --tuned
	packaging/wolfssl-tuned.sh $(WOLFSSL_PREFIX)
endif

asan:
	@:

deps:
	@packaging/deps.sh --check >/dev/null 2>&1 || packaging/deps.sh

%.o: %.c $(wildcard common/*.h mtlsd/*.h tests/unit/*.h) $(WOLFSSL_STAMP) \
    $(WOLFSSL_PC)
	$(CC) $(CFLAGS) $(DEP_CFLAGS) -c -o $@ $<

%.pic.o: %.c $(wildcard common/*.h pam_mtls/*.h)
	$(CC) $(filter-out -fPIE,$(CFLAGS)) -fPIC -c -o $@ $<

$(PAM_MODULE): $(PAM_OBJ) pam_mtls/pam_mtls.map
	$(CC) -shared $(filter-out -pie,$(LDFLAGS)) \
	    -Wl,--version-script=pam_mtls/pam_mtls.map -o $@ $(PAM_OBJ) -lpam

$(LIBCOMMON): $(COMMON_OBJ)
	$(AR) rcs $@ $^

mtlsd/mtlsd: $(MTLSD_OBJ) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $(MTLSD_OBJ) $(LIBCOMMON) $(DEP_LIBS) -lpthread

mtlsd/mtlsctl: $(CTL_OBJ) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $(CTL_OBJ) $(LIBCOMMON) $(DEP_LIBS)

tests/unit/unit_tests: $(UNIT_OBJ) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $(UNIT_OBJ) $(LIBCOMMON) $(DEP_LIBS) $(CUNIT_LIBS)

# The PAM module's tests: libpamtest under pam_wrapper (tests/pam/run.sh).
PAMTEST_OBJ := $(patsubst %.c,%.o,$(wildcard tests/pam/*.c))
$(PAMTEST_OBJ): tests/pam/pam_test.h
tests/pam/test_pam: $(PAMTEST_OBJ) $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $(PAMTEST_OBJ) $(LIBCOMMON) $(PAMTEST_LIBS) \
	    -lpam -ldl

check: deps deps-package
	$(MAKE) $(BINS) $(PAM_MODULE) tests/unit/unit_tests tests/pam/test_pam \
	    tests/bench/loadgen tests/bench/echo tests/bench/cryptobound
	tests/run-tests.sh

demo: deps
	$(MAKE) $(BINS) $(PAM_MODULE)
	tests/demo.sh

# The benchmark (tests/bench/README.md): its programs, then both wolfSSL
# variants of the tree side by side in build/bench/, then the run.
BENCH_PROGS := tests/bench/loadgen tests/bench/echo tests/bench/cryptobound \
	       tests/bench/authbench
bench-progs: $(BENCH_PROGS)

tests/bench/loadgen: tests/bench/loadgen.o tests/bench/benchnet.o
	$(CC) $(LDFLAGS) -o $@ $^ $(WOLFSSL_LIBS) -lm

tests/bench/cryptobound: tests/bench/cryptobound.o
	$(CC) $(LDFLAGS) -o $@ $< $(WOLFSSL_LIBS) -lm

tests/bench/echo: tests/bench/echo.o tests/bench/benchnet.o
	$(CC) $(LDFLAGS) -o $@ $^

tests/bench/authbench: tests/bench/authbench.o $(LIBCOMMON)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBCOMMON) $(PAMTEST_LIBS) -lpam -lpthread

deps-bench:
	@packaging/deps.sh --bench --check >/dev/null 2>&1 || \
	    packaging/deps.sh --bench

bench: deps-bench
	tests/bench/build-trees.sh
	BENCH_SYSTEM_DIR=$(CURDIR)/build/bench/system \
	BENCH_TUNED_DIR=$(CURDIR)/build/bench/tuned tests/bench/run.sh

# PAM modules live in libpam's own directory: /lib/<multiarch>/security on
# Debian, /usr/lib64/security on Fedora; override with PAM_MODULE_DIR=.
PAM_MODULE_DIR ?= $(shell $(PKG_CONFIG) --variable=libdir pam 2>/dev/null)/security

# systemd's directories, from its pkg-config file when it has one.
SYSCONFDIR ?= /etc
SYSTEMD_UNIT_DIR ?= $(or $(shell $(PKG_CONFIG) --variable=systemdsystemunitdir \
	systemd 2>/dev/null),/lib/systemd/system)
SYSUSERS_DIR ?= $(or $(shell $(PKG_CONFIG) --variable=sysusersdir systemd \
	2>/dev/null),/usr/lib/sysusers.d)
TMPFILES_DIR ?= $(or $(shell $(PKG_CONFIG) --variable=tmpfilesdir systemd \
	2>/dev/null),/usr/lib/tmpfiles.d)
DOC_DIR ?= $(PREFIX)/share/doc/mtls-pam

# Everything install puts in place, for uninstall.
INSTALLED = $(PREFIX)/sbin/mtlsd $(PREFIX)/bin/mtlsctl \
	$(PREFIX)/share/man/man5/mtlsd.conf.5 \
	$(PREFIX)/share/man/man8/mtlsd.8 $(PREFIX)/share/man/man8/mtlsctl.8 \
	$(PREFIX)/share/man/man8/pam_mtls.8 $(PAM_MODULE_DIR)/pam_mtls.so \
	$(SYSTEMD_UNIT_DIR)/mtlsd.service $(SYSTEMD_UNIT_DIR)/mtlsd.socket \
	$(SYSUSERS_DIR)/mtls-pam.conf $(TMPFILES_DIR)/mtls-pam.conf \
	$(DOC_DIR)/examples/pam.d/mtls-sshd $(DOC_DIR)/examples/pam.d/mtls-service \
	$(DOC_DIR)/examples/mtlsd.conf

install: $(BINS) $(PAM_MODULE)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin
	install -m 0755 mtlsd/mtlsd $(DESTDIR)$(PREFIX)/sbin/mtlsd
	install -m 0755 mtlsd/mtlsctl $(DESTDIR)$(PREFIX)/bin/mtlsctl
	install -d $(DESTDIR)$(PREFIX)/share/man/man5 \
	    $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0644 mtlsd/mtlsd.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 0644 mtlsd/mtlsd.8 mtlsd/mtlsctl.8 pam_mtls/pam_mtls.8 \
	    $(DESTDIR)$(PREFIX)/share/man/man8/
	install -d $(DESTDIR)$(PAM_MODULE_DIR)
	install -m 0644 $(PAM_MODULE) $(DESTDIR)$(PAM_MODULE_DIR)/pam_mtls.so
	install -d $(DESTDIR)$(SYSTEMD_UNIT_DIR) $(DESTDIR)$(SYSUSERS_DIR) \
	    $(DESTDIR)$(TMPFILES_DIR) $(DESTDIR)$(DOC_DIR)/examples/pam.d
	sed 's|/usr/sbin/mtlsd|$(PREFIX)/sbin/mtlsd|g; s|/etc/mtls/|$(SYSCONFDIR)/mtls/|g' \
	    etc/systemd/mtlsd.service >$(DESTDIR)$(SYSTEMD_UNIT_DIR)/mtlsd.service
	chmod 0644 $(DESTDIR)$(SYSTEMD_UNIT_DIR)/mtlsd.service
	install -m 0644 etc/systemd/mtlsd.socket $(DESTDIR)$(SYSTEMD_UNIT_DIR)/
	install -m 0644 etc/sysusers.d/mtls-pam.conf $(DESTDIR)$(SYSUSERS_DIR)/
	install -m 0644 etc/tmpfiles.d/mtls-pam.conf $(DESTDIR)$(TMPFILES_DIR)/
	install -m 0644 etc/pam.d/mtls-sshd etc/pam.d/mtls-service \
	    $(DESTDIR)$(DOC_DIR)/examples/pam.d/
	install -m 0644 etc/mtlsd.conf $(DESTDIR)$(DOC_DIR)/examples/
	@# The configuration: never over an administrator's own.
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/mtls
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/mtls/mtlsd.conf ]; then \
		echo "install: kept the existing $(DESTDIR)$(SYSCONFDIR)/mtls/mtlsd.conf (example in $(DOC_DIR)/examples)"; \
	else \
		echo "install -m 0640 etc/mtlsd.conf $(DESTDIR)$(SYSCONFDIR)/mtls/mtlsd.conf"; \
		install -m 0640 etc/mtlsd.conf $(DESTDIR)$(SYSCONFDIR)/mtls/mtlsd.conf; \
	fi

# Packages, built from a copy of the tracked sources in build/deb and
# build/rpm; both fail on lintian's or rpmlint's errors.
VERSION = 0.1.0
deps-package:
	@packaging/deps.sh --package --check >/dev/null 2>&1 || \
	    packaging/deps.sh --package

deb: deps-package
	rm -rf build/deb
	mkdir -p build/deb/mtls-pam-$(VERSION)
	git ls-files --cached --others --exclude-standard | grep -v '^build/' | \
	    tar -cf - -T - | tar -xf - -C build/deb/mtls-pam-$(VERSION)
	cp -r packaging/debian build/deb/mtls-pam-$(VERSION)/debian
	cd build/deb/mtls-pam-$(VERSION) && dpkg-buildpackage -us -uc -b
	lintian --fail-on error build/deb/*.changes

rpm: deps-package
	packaging/rpm/build.sh $(VERSION)

# Removes what install put in place; a configuration that differs from the
# example is the administrator's and stays.
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	@conf=$(DESTDIR)$(SYSCONFDIR)/mtls/mtlsd.conf; \
	if [ -e "$$conf" ] && cmp -s "$$conf" etc/mtlsd.conf; then \
		rm -f "$$conf"; rmdir "$$(dirname "$$conf")" 2>/dev/null || :; \
	elif [ -e "$$conf" ]; then \
		echo "uninstall: kept $$conf (changed since it was installed)"; \
	fi
	-rmdir $(DESTDIR)$(DOC_DIR)/examples/pam.d $(DESTDIR)$(DOC_DIR)/examples \
	    $(DESTDIR)$(DOC_DIR) 2>/dev/null

clean:
	rm -f common/*.o mtlsd/*.o pam_mtls/*.o tests/unit/*.o tests/pam/*.o \
	    $(LIBCOMMON) $(BINS) $(PAM_MODULE) tests/unit/unit_tests \
	    tests/pam/test_pam tests/bench/*.o $(BENCH_PROGS)
	rm -rf build/bench build/wolfssl-variant build/deb build/rpm
