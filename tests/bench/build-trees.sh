#!/bin/sh
# build-trees.sh: build the tree twice for the benchmark, once against the
# distribution's wolfSSL and once against the tuned one, in
# build/bench/system and build/bench/tuned.  The working tree itself is
# left alone, whatever it was last built with.
#
#   tests/bench/build-trees.sh		(from the top of the source tree)
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
prefix=$top/build/wolfssl-tuned
targets="mtlsd/mtlsd mtlsd/mtlsctl pam_mtls/pam_mtls.so common/libmtlscommon.a bench-progs"

packaging/wolfssl-tuned.sh "$prefix"

# The sources to copy: what git tracks plus what is not yet committed,
# or, outside a git checkout, everything but build output.
list_sources() {
	if git rev-parse --git-dir >/dev/null 2>&1; then
		git ls-files --cached --others --exclude-standard
	else
		find . -path ./build -prune -o -path ./tests/out -prune -o \
		    -type f ! -name '*.o' ! -name '*.a' -print
	fi
}

for variant in system tuned; do
	dir=build/bench/$variant
	mkdir -p "$dir"
	list_sources | grep -v '^build/' | tar -cf - -T - | tar -xf - -C "$dir"
	echo "build-trees: building $dir (WOLFSSL=$variant)"
	make -s -C "$dir" WOLFSSL="$variant" WOLFSSL_PREFIX="$prefix" \
	    $targets
done
