#!/bin/sh
# Install the build and test dependencies of mtls-pam.
#
#   packaging/deps.sh [--tuned] [--bench] [--package] [--check]
#
# With --check, only report whether everything is present (exit 0) or not (exit 1).
# Otherwise install what is missing with apt (Debian/Ubuntu) or dnf (Fedora/RHEL).
# With --tuned, also the tools that rebuild wolfSSL from its source package
# (`make WOLFSSL=tuned`, packaging/wolfssl-tuned.sh).  With --bench, those and
# what `make bench` needs besides: the peers it measures mtlsd against
# (stunnel, nginx with its stream module; haproxy is already a test dependency).
# With --package, what `make deb` and `make rpm` need (debhelper, lintian,
# rpmbuild, rpmlint).
# Needs root (or sudo) to install.
set -eu

BENCH=0
TUNED=0
PACKAGE=0
CHECK=0
for arg in "$@"; do
	case $arg in
	--tuned) TUNED=1 ;;
	--bench) BENCH=1 TUNED=1 ;;
	--package) PACKAGE=1 ;;
	--check) CHECK=1 ;;
	*) echo "usage: packaging/deps.sh [--tuned] [--bench] [--package] [--check]" >&2; exit 2 ;;
	esac
done

# pkg-config modules the build links against.
PC_MODULES="wolfssl libconfig pam cunit libpamtest"
# Commands the build and the tests run.
TOOLS="cc make pkg-config openssl curl node python3 ssh valgrind pamtester mandoc \
systemd-analyze systemd-socket-activate"

APT_PACKAGES="build-essential pkg-config libwolfssl-dev libconfig-dev libpam0g-dev \
libcunit1-dev libpam-wrapper libpamtest0-dev openssl curl nodejs python3 \
python3-cryptography procps iproute2 openssh-client openssh-server valgrind pamtester mandoc haproxy \
systemd"
DNF_PACKAGES="gcc make pkgconf-pkg-config wolfssl-devel libconfig-devel pam-devel \
CUnit-devel pam_wrapper libpamtest-devel openssl curl nodejs python3 \
python3-cryptography procps-ng iproute openssh-clients openssh-server valgrind pamtester mandoc haproxy \
systemd"

if [ "$TUNED" -eq 1 ]; then
	APT_PACKAGES="$APT_PACKAGES dpkg-dev autoconf automake libtool"
	DNF_PACKAGES="$DNF_PACKAGES dnf-plugins-core rpm cpio autoconf automake libtool"
fi
if [ "$PACKAGE" -eq 1 ]; then
	APT_PACKAGES="$APT_PACKAGES dpkg-dev debhelper fakeroot lintian rpm rpmlint"
	DNF_PACKAGES="$DNF_PACKAGES rpm-build rpmlint systemd-rpm-macros"
fi
if [ "$BENCH" -eq 1 ]; then
	APT_PACKAGES="$APT_PACKAGES stunnel4 nginx-light libnginx-mod-stream"
	DNF_PACKAGES="$DNF_PACKAGES stunnel nginx nginx-mod-stream"
fi

# nginx's stream module, wherever the distribution puts it.
nginx_stream_module() {
	for dir in /usr/lib/nginx/modules /usr/lib64/nginx/modules; do
		[ -e "$dir/ngx_stream_module.so" ] && return 0
	done
	return 1
}

# pam_wrapper's preload library, found through the dynamic linker's cache.
pam_wrapper_lib() {
	ldconfig -p 2>/dev/null | awk '/libpam_wrapper\.so/ { print $NF; exit }' | grep .
}

missing() {
	for tool in $TOOLS; do
		command -v "$tool" >/dev/null 2>&1 || { echo "missing command: $tool"; return 0; }
	done
	for mod in $PC_MODULES; do
		pkg-config --exists "$mod" 2>/dev/null || { echo "missing pkg-config module: $mod"; return 0; }
	done
	python3 -c 'import cryptography' 2>/dev/null || { echo "missing python3 module: cryptography"; return 0; }
	[ -x /usr/sbin/sshd ] || { echo "missing /usr/sbin/sshd (openssh-server)"; return 0; }
	command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || { echo "missing command: haproxy"; return 0; }
	pam_wrapper_lib >/dev/null || { echo "missing libpam_wrapper.so"; return 0; }
	if [ "$TUNED" -eq 1 ]; then
		for tool in autoreconf libtoolize; do
			command -v "$tool" >/dev/null 2>&1 || { echo "missing command: $tool"; return 0; }
		done
		if command -v apt-get >/dev/null 2>&1; then
			command -v dpkg-source >/dev/null 2>&1 ||
			    { echo "missing command: dpkg-source"; return 0; }
		fi
	fi
	if [ "$PACKAGE" -eq 1 ]; then
		for tool in rpmbuild rpmlint; do
			command -v "$tool" >/dev/null 2>&1 || { echo "missing command: $tool"; return 0; }
		done
		if command -v apt-get >/dev/null 2>&1; then
			for tool in dpkg-buildpackage dh lintian fakeroot; do
				command -v "$tool" >/dev/null 2>&1 ||
				    { echo "missing command: $tool"; return 0; }
			done
		fi
	fi
	if [ "$BENCH" -eq 1 ]; then
		for tool in stunnel nginx; do
			command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] ||
			    { echo "missing command: $tool"; return 0; }
		done
		nginx_stream_module || { echo "missing nginx stream module"; return 0; }
	fi
	return 1
}

if [ "$CHECK" -eq 1 ]; then
	if missing; then exit 1; fi
	exit 0
fi

if ! missing >/dev/null; then
	echo "deps.sh: all build and test dependencies present"
	exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO="sudo"
	else
		echo "deps.sh: dependencies are missing and this is not root (and no sudo)" >&2
		exit 1
	fi
fi

if command -v apt-get >/dev/null 2>&1; then
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -q
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -q --no-install-recommends $APT_PACKAGES
elif command -v dnf >/dev/null 2>&1; then
	# shellcheck disable=SC2086
	$SUDO dnf install -y $DNF_PACKAGES
else
	echo "deps.sh: neither apt-get nor dnf found; install by hand: $APT_PACKAGES" >&2
	exit 1
fi

if missing; then
	echo "deps.sh: still missing after install" >&2
	exit 1
fi
echo "deps.sh: dependencies installed"
