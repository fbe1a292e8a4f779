# mtls-pam top-level Makefile.
#
#   make            build common/, mtlsd, mtlsctl
#   make check      install missing deps, build, run unit + integration tests
#   make demo       install missing deps, build, run the loopback demo
#   make asan check build with AddressSanitizer and UBSan, then test
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

# Only resolve pkg-config flags when building (deps may not be installed yet).
DEP_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
DEP_LIBS   = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
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

.PHONY: all check demo deps asan clean install
all: $(BINS) $(PAM_MODULE)

asan:
	@:

deps:
	@packaging/deps.sh --check >/dev/null 2>&1 || packaging/deps.sh

%.o: %.c $(wildcard common/*.h mtlsd/*.h tests/unit/*.h)
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

check: deps
	$(MAKE) $(BINS) $(PAM_MODULE) tests/unit/unit_tests tests/pam/test_pam
	tests/run-tests.sh

demo: deps
	$(MAKE) $(BINS) $(PAM_MODULE)
	tests/demo.sh

# PAM modules live in libpam's own directory: /lib/<multiarch>/security on
# Debian, /usr/lib64/security on Fedora; override with PAM_MODULE_DIR=.
PAM_MODULE_DIR ?= $(shell $(PKG_CONFIG) --variable=libdir pam 2>/dev/null)/security

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

clean:
	rm -f common/*.o mtlsd/*.o pam_mtls/*.o tests/unit/*.o tests/pam/*.o \
	    $(LIBCOMMON) $(BINS) $(PAM_MODULE) tests/unit/unit_tests \
	    tests/pam/test_pam
