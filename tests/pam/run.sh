#!/bin/bash
# run.sh: the pam_mtls.so tests.  Runs tests/pam/test_pam (built by make)
# under pam_wrapper, then once more under valgrind memcheck, and appends
# "PASS|FAIL|SKIP pam/NAME[: why]" lines to $MTLS_RESULTS (the format of
# tests/integration/lib.sh).  Needs no root; builds nothing.
#
# The program writes the PAM service files first (pam_wrapper copies the
# service directory when the process starts), then runs every case: the
# real mtlsd with this process as its backend, and fake daemons.
#
# Environment (set by tests/run-tests.sh; defaults for a run by hand from
# the top of the tree): MTLS_TOP, MTLS_OUT, MTLS_TEST_PKI, MTLS_RESULTS.
# Logs: $MTLS_OUT/pam/plain/ and $MTLS_OUT/pam/valgrind/ (test_pam.log with
# the PAM log lines, mtlsd.log, openssl s_client errors, valgrind reports).
set -u

MTLS_TOP=${MTLS_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
MTLS_OUT=${MTLS_OUT:-$MTLS_TOP/tests/out}
export MTLS_TOP MTLS_OUT
LOGDIR=$MTLS_OUT/pam
rm -rf "$LOGDIR"
mkdir -p "$LOGDIR"
MTLS_RESULTS=${MTLS_RESULTS:-$LOGDIR/results}
PROG=$MTLS_TOP/tests/pam/test_pam
PROG_TIMEOUT=120

if [ -z "${MTLS_TEST_PKI:-}" ]; then
	MTLS_TEST_PKI=$LOGDIR/pki
	python3 "$MTLS_TOP/tests/pki/mkpki.py" "$MTLS_TEST_PKI" \
	    >"$LOGDIR/mkpki.log" 2>&1 || {
		echo "FAIL pam/pki: mkpki.py failed" | tee -a "$MTLS_RESULTS"
		exit 1
	}
fi
export MTLS_TEST_PKI

report() {
	printf '%s\n' "$1" | tee -a "$MTLS_RESULTS"
}

_RUNDIRS=()
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	local d
	for d in "${_RUNDIRS[@]}"; do
		rm -rf "$d"
	done
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

for f in "$PROG" "$MTLS_TOP/pam_mtls/pam_mtls.so" "$MTLS_TOP/mtlsd/mtlsd"; do
	if [ ! -e "$f" ]; then
		report "FAIL pam/build: $f not built (run make check)"
		exit 1
	fi
done

PWRAP=$(ldconfig -p 2>/dev/null | awk '/libpam_wrapper\.so/ { print $NF; exit }')
if [ -z "$PWRAP" ]; then
	report "FAIL pam/pam_wrapper: libpam_wrapper.so not found (install libpam-wrapper)"
	exit 1
fi

# newrun NAME: a fresh, short run directory (unix socket paths) that a
# daemon dropped to nobody can traverse, with the service files in it.
# Sets RUNDIR and SVCDIR.
newrun() {
	RUNDIR=$(mktemp -d "${TMPDIR:-/tmp}/mtls-pam.XXXXXX") || exit 2
	_RUNDIRS+=("$RUNDIR")
	chmod 755 "$RUNDIR"
	SVCDIR=$RUNDIR/services
	mkdir "$SVCDIR"
	RUNLOG=$LOGDIR/$1
	mkdir -p "$RUNLOG"
	if ! "$PROG" --services "$SVCDIR" "$RUNDIR" >"$RUNLOG/services.log" 2>&1; then
		report "FAIL pam/services_$1: test_pam --services failed: $(tail -n 3 "$RUNLOG/services.log")"
		exit 1
	fi
	cp -r "$SVCDIR" "$RUNLOG/services"
}

# --- under pam_wrapper
newrun plain
OUT=$RUNLOG/test_pam.out
LOG=$RUNLOG/test_pam.log
echo "== pam: test_pam under pam_wrapper (log: $LOG)"
timeout --kill-after=10 "$PROG_TIMEOUT" \
    env LD_PRELOAD="$PWRAP" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$SVCDIR" \
    PAM_WRAPPER_DEBUGLEVEL=2 "$PROG" "$RUNDIR" "$RUNLOG" >"$OUT" 2>"$LOG"
rc=$?
grep -E '^(PASS|FAIL|SKIP) ' "$OUT" | tee -a "$MTLS_RESULTS"
if ! grep -q '^PASS ' "$OUT" && ! grep -q '^FAIL ' "$OUT"; then
	report "FAIL pam/run: test_pam reported nothing (exit $rc, log: $LOG)"
elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
	report "FAIL pam/run: test_pam killed after ${PROG_TIMEOUT}s (log: $LOG)"
elif [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$OUT"; then
	report "FAIL pam/run: test_pam exited $rc without reporting a failure (log: $LOG)"
fi

# --- under valgrind: the test process only (mtlsd and openssl are exec'd
# children and run natively); forked fake daemons die by SIGKILL before
# any report.
if ! command -v valgrind >/dev/null 2>&1; then
	report "SKIP pam/valgrind_memcheck: valgrind is not installed"
	exit 0
fi
newrun valgrind
VOUT=$RUNLOG/test_pam.out
VLOG=$RUNLOG/test_pam.log
echo "== pam: test_pam under valgrind memcheck (log: $VLOG)"
timeout --kill-after=10 "$((PROG_TIMEOUT * 2))" \
    env LD_PRELOAD="$PWRAP" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$SVCDIR" \
    PAM_WRAPPER_DISABLE_DEEPBIND=1 PAM_WRAPPER_DEBUGLEVEL=2 \
    valgrind --error-exitcode=1 --leak-check=full \
    --errors-for-leak-kinds=definite --trace-children=no \
    --log-file="$RUNLOG/valgrind.%p.vg" \
    "$PROG" "$RUNDIR" "$RUNLOG" >"$VOUT" 2>"$VLOG"
vrc=$?
# Memory errors: any process whose report counts errors.
verrs=$(grep -l 'ERROR SUMMARY: [1-9]' "$RUNLOG"/valgrind.*.vg 2>/dev/null)
vfails=$(grep '^FAIL ' "$VOUT" | sed 's/^FAIL pam\//FAIL pam\/valgrind\//')
if [ "$vrc" -eq 124 ] || [ "$vrc" -eq 137 ]; then
	report "FAIL pam/valgrind_memcheck: killed after $((PROG_TIMEOUT * 2))s (log: $VLOG)"
elif [ -n "$verrs" ]; then
	for f in $verrs; do
		cat "$f" >>"$VLOG"
	done
	report "FAIL pam/valgrind_memcheck: memcheck errors in $(echo "$verrs" | tr '\n' ' ')(see $VLOG)"
elif ! grep -q '^PASS ' "$VOUT"; then
	report "FAIL pam/valgrind_memcheck: test_pam reported nothing under valgrind (exit $vrc, log: $VLOG)"
elif [ -n "$vfails" ]; then
	printf '%s\n' "$vfails" | tee -a "$MTLS_RESULTS"
	report "FAIL pam/valgrind_memcheck: cases failed under valgrind (log: $VLOG)"
elif [ "$vrc" -ne 0 ]; then
	report "FAIL pam/valgrind_memcheck: exit $vrc (log: $VLOG)"
else
	report "PASS pam/valgrind_memcheck"
fi
exit 0
