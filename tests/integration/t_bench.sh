#!/bin/bash
# t_bench.sh: the benchmark's own programs (tests/bench) work against the
# real mtlsd, so `make bench` does not rot between runs: loadgen counts
# full mutual-TLS handshakes and counts a refused one as an error, moves a
# payload through mtlsd and the echo backend and checks every byte, holds
# idle connections and finds them alive; cryptobound measures the library.
# Small counts only: this checks the harness, the figures come from
# `make bench`.
# shellcheck source=tests/integration/lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
require_built

BENCH=$MTLS_TOP/tests/bench
for prog in loadgen echo cryptobound; do
	if [ ! -x "$BENCH/$prog" ]; then
		fail build "$BENCH/$prog not built (make bench-progs)"
		finish
	fi
done

P_TLS=$(free_port)
B_ECHO=$(free_port)

"$BENCH/echo" --listen "127.0.0.1:$B_ECHO" 2>"$LOGDIR/echo.log" &
ECHO_PID=$!
track_pid "$ECHO_PID"
for _ in $(seq 50); do
	grep -q "listening on" "$LOGDIR/echo.log" && break
	sleep 0.1
done

add_listener bench "127.0.0.1:$P_TLS" "127.0.0.1:$B_ECHO"
write_conf "$LOGDIR/mtlsd.conf"
start_mtlsd "$LOGDIR/mtlsd.conf" || finish

# loadgen ARGS...: run it against the listener, bounded in time; the
# result line goes to $LG_OUT.
loadgen() {
	LG_OUT=$(timeout 60 "$BENCH/loadgen" --connect "127.0.0.1:$P_TLS" \
	    --ca "$PKI/ca.crt" "$@" 2>>"$LOGDIR/loadgen.err")
	LG_RC=$?
	printf 'loadgen %s -> %s\n%s\n' "$*" "$LG_RC" "$LG_OUT"
}

# field NAME: NAME=VALUE out of the last loadgen result lines.
field() {
	printf '%s\n' "$LG_OUT" | tr ' ' '\n' | sed -n "s/^$1=//p" | tail -n 1
}

# --- handshakes: every round trip is a full handshake mtlsd logs as ok
log_mark
loadgen --cert "$PKI/alice.crt" --key "$PKI/alice.key" \
    --mode handshake --conns 4 --count 100 --seconds 30
if [ "$LG_RC" -eq 0 ] && [ "$(field handshakes)" = 100 ] &&
    [ "$(field errors)" = 0 ]; then
	pass loadgen_handshakes
else
	fail loadgen_handshakes "rc $LG_RC: $LG_OUT"
fi
n=$(log_count event=handshake result=ok listener=bench)
if [ "$n" -ge 100 ]; then
	pass handshakes_seen_by_mtlsd
else
	fail handshakes_seen_by_mtlsd "mtlsd logged $n successful handshakes, want >= 100"
fi

# --- TLS 1.2 as well
loadgen --cert "$PKI/alice.crt" --key "$PKI/alice.key" \
    --mode handshake --conns 2 --count 20 --seconds 30 --tls 1.2
if [ "$LG_RC" -eq 0 ] && [ "$(field handshakes)" = 20 ] &&
    [ "$(field errors)" = 0 ]; then
	pass loadgen_handshakes_tls12
else
	fail loadgen_handshakes_tls12 "rc $LG_RC: $LG_OUT"
fi

# --- a refused certificate is an error, never a handshake
log_mark
loadgen --cert "$PKI/expired.crt" --key "$PKI/expired.key" \
    --mode handshake --conns 2 --count 10 --seconds 2
refused=$(log_count reason=expired listener=bench)
if [ "$(field handshakes)" = 0 ] && [ "${LG_OUT:+x}" = x ] &&
    [ "$(field errors)" -gt 0 ] 2>/dev/null && [ "$refused" -gt 0 ]; then
	pass loadgen_counts_refusals
else
	fail loadgen_counts_refusals "rc $LG_RC, mtlsd refused $refused (reason=expired): $LG_OUT"
fi

# --- bulk: 8 MiB through two connections, every byte checked
loadgen --cert "$PKI/alice.crt" --key "$PKI/alice.key" \
    --mode bulk --conns 2 --bytes 8M
if [ "$LG_RC" -eq 0 ] && [ "$(field bytes)" = 8388608 ] &&
    [ "$(field errors)" = 0 ]; then
	pass loadgen_bulk_checked
else
	fail loadgen_bulk_checked "rc $LG_RC: $LG_OUT"
fi

# --- idle: 50 connections held, then each one echoes
loadgen --cert "$PKI/alice.crt" --key "$PKI/alice.key" \
    --mode idle --conns 50 --hold 1
if [ "$LG_RC" -eq 0 ] && [ "$(field established)" = 50 ] &&
    [ "$(field alive)" = 50 ] && [ "$(field dead)" = 0 ]; then
	pass loadgen_idle_held
else
	fail loadgen_idle_held "rc $LG_RC: $LG_OUT"
fi

# --- cryptobound: the library's public-key rates as a handshake bound
out=$(timeout 60 "$BENCH/cryptobound" --seconds 0.1 2>&1)
echo "cryptobound -> $out"
bound=$(printf '%s\n' "$out" | tr ' ' '\n' | sed -n 's/^bound_per_s=//p')
if [ -n "$bound" ] && awk -v b="$bound" 'BEGIN { exit !(b > 0) }'; then
	pass cryptobound_measures
else
	fail cryptobound_measures "output: $out"
fi

stop_pid "$ECHO_PID"
check_stop stops_cleanly
finish
