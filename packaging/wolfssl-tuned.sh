#!/bin/sh
# Build a fast, static wolfSSL from the distribution's own source package.
#
#   packaging/wolfssl-tuned.sh PREFIX        (e.g. build/wolfssl-tuned)
#
# Debian's libwolfssl is built without assembly (AES-GCM ~1/25 of OpenSSL, P-256
# signing ~1/4).  This rebuilds the *same* version, with the distribution's patches and
# configure feature flags, adding x86-64 assembly, AES-NI and SP math, as a static
# library installed in PREFIX for `make WOLFSSL=tuned`.  The source package is
# fetched and built in PREFIX.src; nothing outside PREFIX and PREFIX.src is written.
# It never falls back to another source (e.g. upstream git): if the distribution's
# source can't be had, it fails.
set -eu

me=wolfssl-tuned
die() { echo "$me: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found: $2"; }

[ $# -eq 1 ] || die "usage: $0 PREFIX"
case $1 in /*) P=$1 ;; *) P=$(pwd)/$1 ;; esac
P=${P%/}
W=$P.src

# The tuning added on top of the distribution's flags.  --enable-intelasm implies
# AES-NI and AVX/AVX2 code (USE_INTEL_SPEEDUP); --enable-sp + --enable-sp-asm give the
# x86-64 assembly P-256/P-384/P-521 and RSA/DH 2048-4096 code; --enable-sp-math-all
# keeps every other key size working.  Static only, PIC because it ends up in a PIE.
TUNED="--enable-intelasm --enable-aesni --enable-sp --enable-sp-asm --enable-sp-math-all --enable-static --disable-shared"
# The distribution turns on the full OpenSSL compatibility layer (OPENSSL_ALL) for
# the other programs it serves (nginx, lighttpd, OpenVPN, Qt, ...).  With it every
# connection keeps the peer's public key a second time as an EVP_PKEY with 4096-bit
# big numbers: 18 KiB a connection and 6% of a handshake.  mtlsd needs the
# OpenSSL-extra API only, so those integrations are switched off.  So are
# post-handshake authentication (it keeps the handshake hashes and messages of
# every connection, 3 KiB), DTLS and QUIC, which mtlsd has no use for.
TUNED="$TUNED --disable-postauth --disable-dtls --disable-dtls13 --disable-dtlscid --disable-mcast --disable-srtp --disable-sctp --disable-quic --disable-opensslall --disable-nginx --disable-lighty --disable-openvpn --disable-asio --disable-libwebsockets --disable-qt --disable-openssh --disable-haproxy --disable-stunnel --disable-wpas --disable-signal --disable-fortress --disable-apachehttpd --disable-bind --disable-curl --disable-krb --disable-net-snmp --disable-ntp --disable-openresty --disable-chrony --disable-openldap --disable-rsyslog --disable-strongswan --disable-bump --disable-smime --disable-wolfclu --disable-wpas-dpp --disable-ffmpeg"
# WOLFSSL_GETRANDOM seeds each random generator with one getrandom() call
# instead of opening, reading and closing /dev/urandom: a TLS server makes
# several generators per handshake.  HAVE_EX_DATA, which OPENSSL_ALL used to bring,
# lets mtlsd's verify callback find its connection.  The hardening flags are Debian's own.
TUNED_CFLAGS="-O2 -g -fPIC -DHAVE_EX_DATA -DWOLFSSL_GETRANDOM -D_FORTIFY_SOURCE=2 -fstack-protector-strong"
# Settings the distribution's flags force on that cost memory on every
# connection and that mtlsd does not use: SESSION_CERTS keeps a copy of the
# peer's chain in fixed 2 KiB slots (9 of them) in each connection's session
# object, WOLFSSL_ALT_CERT_CHAINS a second such copy: 37 KiB a connection.
# mtlsd has no session resumption and reads the chain in its verify callback.
TUNED_DROP="SESSION_CERTS WOLFSSL_ALT_CERT_CHAINS"
[ "$(uname -m)" = x86_64 ] || die "the tuned flags are for x86_64 only (this is $(uname -m))"

# --- which source version: the one the system's wolfSSL development package has ---
if command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1; then
	FAMILY=deb
	# ${source:Version} rather than the binary version, which may carry a +bN binNMU.
	st=$(dpkg-query -W -f='${db:Status-Status} ${source:Package} ${source:Version}' libwolfssl-dev 2>/dev/null || true)
	# shellcheck disable=SC2086 # three words
	set -- $st
	if [ "${1:-}" = installed ]; then
		PKG=$2 VERSION=$3
	else
		cand=$(apt-cache policy libwolfssl-dev 2>/dev/null | awk '/Candidate:/ { print $2 }')
		case ${cand:-(none)} in "(none)")
			die "libwolfssl-dev is neither installed nor known to apt (run apt-get update?)" ;;
		esac
		src=$(apt-cache show "libwolfssl-dev=$cand" | sed -n 's/^Source: //p' | head -n 1)
		PKG=${src%% *}
		VERSION=$(echo "$src" | sed -n 's/.*(\(.*\))$/\1/p')
		PKG=${PKG:-wolfssl} VERSION=${VERSION:-$cand}
	fi
elif command -v dnf >/dev/null 2>&1; then
	FAMILY=rpm PKG=wolfssl
	VERSION=$(rpm -q --qf '%{VERSION}-%{RELEASE}' wolfssl-devel 2>/dev/null) ||
		die "install wolfssl-devel first: its version is the one rebuilt"
else
	die "neither apt-get/dpkg nor dnf found: don't know where the distribution's source is"
fi

# --- quick exit when PREFIX already holds this version built with these flags ---
# The distribution's own flags are a function of the source version, so version +
# the tuning flags identify a build.
if [ -f "$P/lib/pkgconfig/wolfssl.pc" ] && [ -f "$P/.tuned-stamp" ] &&
	grep -qxF "version=$VERSION" "$P/.tuned-stamp" &&
	grep -qxF "tuned=$TUNED CFLAGS=$TUNED_CFLAGS drop=$TUNED_DROP" "$P/.tuned-stamp"; then
	echo "$me: up to date ($VERSION)"
	exit 0
fi
# PREFIX is wiped below: refuse to do that to a directory this script didn't make.
if [ -d "$P" ] && [ ! -f "$P/.tuned-stamp" ] && [ -n "$(ls -A "$P")" ]; then
	die "$P is not empty and has no .tuned-stamp: refusing to overwrite it"
fi
for t in cc make pkg-config; do need "$t" "install a C toolchain, make and pkg-config"; done

echo "$me: building wolfSSL $VERSION ($FAMILY source package '$PKG') into $P"
rm -rf "$W" "$P"
mkdir -p "$W/dl" "$P"
echo "state=building" >"$P/.tuned-stamp"

# --- fetch and unpack the source package into $W/src ---
if [ "$FAMILY" = deb ]; then
	need dpkg-source "install dpkg-dev"
	A=$W/apt
	mkdir -p "$A/parts" "$A/lists/partial" "$A/cache/archives/partial"
	# The machine's sources are usually binary-only (Types: deb).  Turn the entries of
	# the archives that serve libwolfssl-dev (its origins per apt-cache policy) into
	# deb-src ones in a private list; /etc/apt itself is left untouched.  Without known
	# origins (e.g. apt lists deleted), every deb entry is taken.
	ORIGINS=$(apt-cache policy libwolfssl-dev 2>/dev/null |
		awk '$1 ~ /^[0-9]+$/ && $2 ~ /:/ { sub("/+$", "", $2); print $2 }' | sort -u | tr '\n' ' ')
	SL=/etc/apt/sources.list SP=/etc/apt/sources.list.d/
	eval "$(apt-config shell SL Dir::Etc::SourceList/f SP Dir::Etc::SourceParts/d)"
	for f in "$SL" "$SP"*.list; do
		[ -f "$f" ] || continue
		awk -v o=" $ORIGINS" '$1 == "deb" {
			i = 2	# the URI follows the optional [ option=value ... ]
			if ($2 ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; i++ }
			u = $i; sub("/+$", "", u)
			if (o == " " || index(o, " " u " ")) { sub(/^[ \t]*deb/, "deb-src"); print }
		}' "$f"
	done >"$A/parts/src.list"
	for f in "$SP"*.sources; do
		[ -f "$f" ] || continue
		# deb822: one stanza per paragraph; keep it whole, only its Types changes.
		awk -v o=" $ORIGINS" 'BEGIN { RS = ""; FS = "\n" } {
			deb = 0; hit = (o == " "); on = 1
			for (i = 1; i <= NF; i++) {
				k = tolower($i)
				if (k ~ /^types:/ && (" " substr(k, 7) " ") ~ /[ \t]deb[ \t]/) deb = 1
				if (k ~ /^enabled:[ \t]*no/) on = 0
				if (k ~ /^uris:/) { n = split(substr($i, 6), u, /[ \t]+/)
					for (j = 1; j <= n; j++) { sub("/+$", "", u[j]); if (u[j] != "" && index(o, " " u[j] " ")) hit = 1 } }
			}
			if (!deb || !hit || !on) next
			for (i = 1; i <= NF; i++) print (tolower($i) ~ /^types:/ ? "Types: deb-src" : $i)
			print ""
		}' "$f"
	done >"$A/parts/src.sources"
	[ -s "$A/parts/src.list" ] || [ -s "$A/parts/src.sources" ] ||
		die "no apt source entry serves libwolfssl-dev (origins: ${ORIGINS:-none})"
	# Private state: own lists and cache, no system update hooks (packagekit, appstream).
	cat >"$A/apt.conf" <<-EOF
		Dir::Etc::SourceList "/dev/null";
		Dir::Etc::SourceParts "$A/parts";
		Dir::State::Lists "$A/lists";
		Dir::Cache "$A/cache";
		#clear APT::Update::Post-Invoke;
		#clear APT::Update::Post-Invoke-Success;
	EOF
	echo "$me: apt-get update (private deb-src lists in $A)"
	apt-get -q -c "$A/apt.conf" update || die "apt-get update of the deb-src entries failed"
	# As root, apt warns that it downloads unsandboxed ($W/dl isn't _apt's): harmless.
	(cd "$W/dl" && apt-get -q -c "$A/apt.conf" source --download-only "$PKG=$VERSION") ||
		die "apt-get source $PKG=$VERSION failed"
	dpkg-source -x "$W/dl/${PKG}_${VERSION#*:}.dsc" "$W/src" >"$W/dpkg-source.log" 2>&1 ||
		{ cat "$W/dpkg-source.log" >&2; die "dpkg-source -x failed"; }
	RULES=$W/src/debian/rules
	START=dh_auto_configure
else
	need rpm2cpio "install rpm"
	need cpio "install cpio"
	(cd "$W/dl" && dnf download --source "$PKG-$VERSION") || die "dnf download --source $PKG-$VERSION failed"
	(cd "$W/dl" && rpm2cpio ./*.src.rpm | cpio -idm --quiet) || die "unpacking the source rpm failed"
	mkdir "$W/src"
	set -- "$W"/dl/*.tar.*
	tar -xf "$1" -C "$W/src" --strip-components=1 || die "unpacking $1 failed"
	set -- "$W"/dl/*.spec
	RULES=$1
	START=%configure
fi

# --- the distribution's configure feature flags, read from its build recipe ---
# Only --enable/--disable/--with options: paths and build flags are ours.
DISTRO=$(awk -v s="$START" '!/^[ \t]*#/ && index($0, s) { on = 1 } on {
	for (i = 1; i <= NF; i++) if ($i ~ /^--(enable|disable|with|without)-/) printf "%s ", $i
	if ($NF != "\\") on = 0 }' "$RULES")
DISTRO=${DISTRO% }
[ -n "$DISTRO" ] || die "no configure flags found after '$START' in $RULES"
case $DISTRO in *'$'* | *'%'*) die "unexpanded variables in $RULES flags: $DISTRO" ;; esac

cd "$W/src"
# Debian's tarball is a git export without configure: dh_autoreconf regenerates it
# with `autoreconf -f -i`, as we do.
if [ ! -x configure ]; then
	for t in autoreconf aclocal automake libtoolize; do need "$t" "install autoconf automake libtool"; done
	autoreconf -f -i >"$W/autoreconf.log" 2>&1 || { tail -n 30 "$W/autoreconf.log" >&2; die "autoreconf failed"; }
fi
echo "$me: configure $DISTRO $TUNED CFLAGS='$TUNED_CFLAGS'"
# shellcheck disable=SC2086 # the flag lists are meant to split
./configure --prefix="$P" $DISTRO $TUNED CFLAGS="$TUNED_CFLAGS" >"$W/configure.log" 2>&1 ||
	{ tail -n 30 "$W/configure.log" >&2; die "configure failed (log: $W/configure.log)"; }
# Configure may drop an option it can't combine; check the assembly really is on.
for d in WOLFSSL_AESNI USE_INTEL_SPEEDUP WOLFSSL_HAVE_SP_ECC WOLFSSL_SP_X86_64_ASM WOLFSSL_SP_MATH_ALL; do
	grep -q "^#define $d\$" wolfssl/options.h || die "configure did not enable $d"
done
grep -q '^#define OPENSSL_ALL$' wolfssl/options.h && die "configure kept OPENSSL_ALL on (another option turned it on)"
# Drop TUNED_DROP from the compiler flags configure chose and from the options.h
# that programs include, so library and programs agree on the structures.
for d in $TUNED_DROP; do
	sed -i "s/ -D$d\([ ]\|\$\)/\1/g" Makefile
	for h in wolfssl/options.h cyassl/options.h; do
		[ ! -f "$h" ] || sed -i "/^#undef  *$d\$/d; /^#define  *$d\$/d" "$h"
	done
	! grep -qw -- "$d" Makefile wolfssl/options.h || die "could not drop $d"
done
echo "$me: make (log: $W/make.log)"	# JOBS=n overrides -j2
{ make -j"${JOBS:-2}" && make install; } >"$W/make.log" 2>&1 ||
	{ tail -n 30 "$W/make.log" >&2; die "make failed (log: $W/make.log)"; }

# A distro build doesn't install options.h (the .deb's libwolfssl-dev.install copies
# it from the build tree); mtlsd includes it, so do the same.
for h in wolfssl/options.h cyassl/options.h; do
	[ -f "$P/include/$h" ] || [ ! -f "$h" ] || cp "$h" "$P/include/$h"
done
# wolfssl.pc has no Libs.private, yet the static library needs libtool's dependency
# libs (-lm for dh.c's pow/log, ...): add them.  --enable-distro forces a shared
# library too: drop it so -lwolfssl can only mean the static one.
libs=$(sed -n "s/^dependency_libs='[ ]*\(.*\)'$/\1/p" "$P/lib/libwolfssl.la")
[ -z "$libs" ] || echo "Libs.private: $libs" >>"$P/lib/pkgconfig/wolfssl.pc"
rm -f "$P"/lib/libwolfssl.so* "$P/lib/libwolfssl.la"

# --- sanity check: link a program the way mtlsd will (static lib inside a PIE) ---
cat >"$W/t.c" <<-'EOF'
	#include <wolfssl/options.h>
	#include <wolfssl/ssl.h>
	#include <stdio.h>
	int main(void) {
		if (wolfSSL_Init() != WOLFSSL_SUCCESS) return 1;
		printf("%s\n", wolfSSL_lib_version());
		return wolfSSL_Cleanup() == WOLFSSL_SUCCESS ? 0 : 1;
	}
EOF
pc=$(PKG_CONFIG_PATH=$P/lib/pkgconfig pkg-config --static --cflags --libs wolfssl) ||
	die "pkg-config cannot find wolfssl in $P"
# shellcheck disable=SC2086
cc -fPIE -pie -o "$W/t" "$W/t.c" $pc || die "linking a test program against $P failed"
libver=$("$W/t") || die "the test program failed"
up=${VERSION#*:}
case ${up%-*} in "$libver"*) ;; *) die "library says $libver, source package is $VERSION" ;; esac

printf 'version=%s\ndistro=%s\ntuned=%s CFLAGS=%s drop=%s\n' "$VERSION" "$DISTRO" "$TUNED" "$TUNED_CFLAGS" "$TUNED_DROP" >"$P/.tuned-stamp"
echo "$me: wolfSSL $libver ($PKG $VERSION) installed in $P"
echo "$me: configure flags: $DISTRO $TUNED CFLAGS='$TUNED_CFLAGS' (dropped: $TUNED_DROP)"
echo "$me: pkg-config: $pc"
