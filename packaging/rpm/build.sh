#!/bin/sh
# Build the mtlsd and pam_mtls RPMs from the tracked sources, then rpmlint
# them; fails on rpmlint errors.  The RPMs land in build/rpm/RPMS/<arch>/.
#
#   packaging/rpm/build.sh [VERSION]	(from the top of the tree; make rpm)
set -eu

version=${1:-0.1.0}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
R=$top/build/rpm
rm -rf "$R"
mkdir -p "$R/SOURCES" "$R/tar/mtls-pam-$version"

# The tarball the spec's Source0 names: what git tracks plus what is not
# yet committed, or, outside a git checkout, everything but build output.
if git rev-parse --git-dir >/dev/null 2>&1; then
	git ls-files --cached --others --exclude-standard
else
	find . -path ./build -prune -o -path ./tests/out -prune -o -type f -print
fi | grep -v '^\(\./\)\{0,1\}build/' | tar -cf - -T - |
    tar -xf - -C "$R/tar/mtls-pam-$version"
tar -czf "$R/SOURCES/mtls-pam-$version.tar.gz" -C "$R/tar" "mtls-pam-$version"

# Where rpm does not know the build dependencies (rpmbuild on Debian, whose
# libraries come from dpkg), check them through pkg-config ourselves.
nodeps=
if ! command -v dnf >/dev/null 2>&1; then
	for m in wolfssl libconfig pam; do
		pkg-config --exists "$m" || { echo "build.sh: missing pkg-config module $m" >&2; exit 1; }
	done
	echo "build.sh: no dnf here: rpmbuild --nodeps (build dependencies checked with pkg-config)" >&2
	nodeps=--nodeps
fi
rpmbuild -bb $nodeps --define "_topdir $R" \
    packaging/rpm/mtls-pam.spec

echo "build.sh: rpmlint"
rpmlint -c packaging/rpm/rpmlint.toml packaging/rpm/mtls-pam.spec "$R"/RPMS/*/*.rpm | tee "$R/rpmlint.log"
if grep -q ' E: ' "$R/rpmlint.log"; then
	echo "build.sh: rpmlint reports errors" >&2
	exit 1
fi
ls "$R"/RPMS/*/*.rpm
