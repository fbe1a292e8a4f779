#!/bin/bash
# run-tests.sh: the test suite, run by "make check" from the top of the tree
# after building.  Makes the test PKI once, runs the CUnit program, then
# every tests/integration/t_*.sh and tests/pam/run.sh (each under a 300 s
# timeout), and ends with exactly one line "N passed, N failed, N skipped".
# Exits non-zero when anything failed.
#
#   tests/run-tests.sh [t_NAME|pam ...] (default: every integration script
#                                        and the PAM module tests)
set -u

MTLS_TOP=$(cd "$(dirname "$0")/.." && pwd)
export MTLS_TOP
export MTLS_SRCDIR=$MTLS_TOP
export MTLS_OUT=$MTLS_TOP/tests/out
export MTLS_TEST_PKI=$MTLS_OUT/pki
SCRIPT_TIMEOUT=300

passed=0
failed=0
skipped=0
failures=()

mkdir -p "$MTLS_OUT"

# --- the test PKI, once
if ! python3 "$MTLS_TOP/tests/pki/mkpki.py" "$MTLS_TEST_PKI" \
    >"$MTLS_OUT/mkpki.log" 2>&1; then
	cat "$MTLS_OUT/mkpki.log"
	echo "FAIL pki: tests/pki/mkpki.py failed (log: $MTLS_OUT/mkpki.log)"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi

# --- unit tests
unit=$MTLS_TOP/tests/unit/unit_tests
unit_log=$MTLS_OUT/unit.log
if [ -x "$unit" ]; then
	echo "== unit tests"
	(cd "$MTLS_TOP" && timeout "$SCRIPT_TIMEOUT" "$unit") >"$unit_log" 2>&1
	rc=$?
	last=$(tail -n 1 "$unit_log")
	if [[ $last =~ ^unit:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
		passed=$((passed + BASH_REMATCH[1]))
		failed=$((failed + BASH_REMATCH[2]))
		[ "${BASH_REMATCH[2]}" -gt 0 ] && failures+=("unit tests: $unit_log")
		echo "$last"
		if [ "$rc" -ne 0 ] && [ "${BASH_REMATCH[2]}" -eq 0 ]; then
			failed=$((failed + 1))
			failures+=("unit tests exited $rc: $unit_log")
		fi
	else
		# crashed or killed before its summary line
		failed=$((failed + 1))
		failures+=("unit tests crashed (exit $rc): $unit_log")
		echo "unit tests: no summary line (exit $rc)"
	fi
else
	failed=$((failed + 1))
	failures+=("unit tests: $unit not built")
	echo "unit tests: $unit not built"
fi

# --- integration tests
if [ $# -gt 0 ]; then
	scripts=()
	for s in "$@"; do
		s=${s%.sh}
		if [ "$s" = pam ]; then
			scripts+=("$MTLS_TOP/tests/pam/run.sh")
			continue
		fi
		scripts+=("$MTLS_TOP/tests/integration/${s#tests/integration/}.sh")
	done
else
	scripts=("$MTLS_TOP"/tests/integration/t_*.sh "$MTLS_TOP/tests/pam/run.sh")
fi

for script in "${scripts[@]}"; do
	[ -f "$script" ] || continue
	name=$(basename "$script" .sh)
	[ "$name" = run ] && name=$(basename "$(dirname "$script")")
	results=$MTLS_OUT/$name.results
	log=$MTLS_OUT/$name.log
	: >"$results"
	echo "== $name"
	MTLS_RESULTS=$results timeout --kill-after=10 "$SCRIPT_TIMEOUT" \
	    bash "$script" >"$log" 2>&1
	rc=$?
	p=$(grep -c '^PASS ' "$results")
	f=$(grep -c '^FAIL ' "$results")
	s=$(grep -c '^SKIP ' "$results")
	grep -E '^(PASS|FAIL|SKIP) ' "$results"
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	if [ "$f" -gt 0 ]; then
		while IFS= read -r line; do
			failures+=("$line (log: $log, $MTLS_OUT/$name/)")
		done < <(grep '^FAIL ' "$results")
	fi
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		failed=$((failed + 1))
		failures+=("$name: killed after ${SCRIPT_TIMEOUT}s (log: $log)")
		echo "FAIL $name: timed out after ${SCRIPT_TIMEOUT}s"
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		failed=$((failed + 1))
		failures+=("$name: exit $rc without reporting a failure (log: $log)")
		echo "FAIL $name: exit $rc without reporting a failure"
	elif [ $((p + f + s)) -eq 0 ]; then
		failed=$((failed + 1))
		failures+=("$name: reported no results (log: $log)")
		echo "FAIL $name: reported no results"
	fi
done

if [ "${#failures[@]}" -gt 0 ]; then
	echo
	echo "Failures:"
	for f in "${failures[@]}"; do
		echo "  $f"
	done
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
