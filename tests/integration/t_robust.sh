#!/bin/bash
# t_robust.sh: mtlsd under hostile or lazy peers: random bytes on the TLS
# port, clients that stall mid-handshake (handshake_timeout), idle sessions
# (idle_timeout), oversized and malformed query requests, and
# max_connections; the service keeps serving through all of it.
# shellcheck source=tests/integration/lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
require_built

P_WEB=$(free_port)
P_LIM=$(free_port)
P_IDLE=$(free_port)
B_HTTP=$(free_port)
B_ECHO=$(free_port)
RAW=(python3 "$TESTS/rawclient.py")

start_backend http --http --tcp "127.0.0.1:$B_HTTP" || finish
start_backend echo --echo --tcp "127.0.0.1:$B_ECHO" || finish
add_listener web "127.0.0.1:$P_WEB" "127.0.0.1:$B_HTTP" handshake_timeout=2
add_listener lim "127.0.0.1:$P_LIM" "127.0.0.1:$B_HTTP" max_connections=2 \
    handshake_timeout=30
add_listener idle "127.0.0.1:$P_IDLE" "127.0.0.1:$B_ECHO" idle_timeout=2
write_conf "$LOGDIR/mtlsd.conf"
start_mtlsd "$LOGDIR/mtlsd.conf" || finish

# curl_ok NAME PORT: curl with alice gets the backend's answer.
curl_ok() {
	local out
	out=$(curl_cert alice "$2" 2>&1)
	if [ "$out" = "hello from backend" ]; then
		pass "$1"
	else
		fail "$1" "curl with alice: $out"
	fi
}

# mtlsd_conns PORT: established connections mtlsd holds on a listener.
mtlsd_conns() {
	ss -tnpH state established "( sport = :$1 )" 2>/dev/null |
	    grep -c '"mtlsd"'
}

# --- the query socket's permissions follow the configuration
perm=$(stat -c '%a %G' "$QUERY_SOCK" 2>&1)
if [ "$perm" = "660 nogroup" ]; then
	pass query_socket_mode
else
	fail query_socket_mode "$QUERY_SOCK: mode/group '$perm' (want 660 nogroup)"
fi

# --- 100 KiB of random bytes to the TLS port
log_mark
out=$("${RAW[@]}" garbage 127.0.0.1 "$P_WEB" 102400 2>&1)
rc=$?
if [ "$rc" -eq 0 ]; then
	pass garbage_closed
else
	fail garbage_closed "rawclient: $out"
fi
expect_event garbage_reason_protocol 5 event=handshake result=fail reason=protocol
curl_ok serves_after_garbage "$P_WEB"

# --- clients that stall mid-handshake are closed at handshake_timeout,
# while others are served
log_mark
"${RAW[@]}" stall 127.0.0.1 "$P_WEB" 20 >"$LOGDIR/stall-silent.out" 2>&1 &
STALL1=$!
track_pid "$STALL1"
"${RAW[@]}" stall 127.0.0.1 "$P_WEB" 20 --partial >"$LOGDIR/stall-partial.out" 2>&1 &
STALL2=$!
track_pid "$STALL2"
for ((i = 0; i < 50; i++)); do
	[ "$(cat "$LOGDIR"/stall-*.out 2>/dev/null | grep -c '^connected')" -ge 2 ] && break
	sleep 0.1
done
curl_ok served_during_stall "$P_WEB"
for pair in "silent:$STALL1" "partial:$STALL2"; do
	kind=${pair%%:*}
	pid=${pair#*:}
	if wait_gone "$pid" 25; then
		wait "$pid"
		rc=$?
	else
		rc=timeout
	fi
	if [ "$rc" = 0 ]; then
		pass "stall_${kind}_closed"
	else
		fail "stall_${kind}_closed" "not closed by mtlsd ($rc): $(cat "$LOGDIR/stall-$kind.out")"
	fi
done
n=0
for ((i = 0; i < 50; i++)); do
	n=$(log_count event=handshake result=fail reason=timeout)
	[ "$n" -ge 2 ] && break
	sleep 0.1
done
if [ "$n" -ge 2 ]; then
	pass stall_reason_timeout
else
	fail stall_reason_timeout "$n of 2 stalled handshakes logged with reason=timeout"
fi

# --- idle sessions are closed at idle_timeout
token="idle-$RANDOM$RANDOM"
log_mark
sclient_open idle "$P_IDLE" -cert "$PKI/alice.crt" -key "$PKI/alice.key"
sclient_send idle "$token"
if sclient_wait idle "$token" 10; then
	if sclient_exited idle 15 &&
	    wait_event 5 event=session_close listener=idle >/dev/null; then
		pass idle_timeout_closes
	else
		fail idle_timeout_closes "idle session (idle_timeout=2) still open after 15 s or no event=session_close"
	fi
else
	fail idle_timeout_closes "no echo on the idle listener"
fi
sclient_close idle

# --- query requests: too large, malformed, wrong version
out=$("${RAW[@]}" query "$QUERY_SOCK" --size 5000 2>&1)
rc=$?
echo "too large: $out"
if [ "$rc" -eq 0 ] && printf '%s\n' "$out" | head -1 | grep -q '^MTLS/1 ERR too_large'; then
	pass query_too_large
else
	fail query_too_large "want 'MTLS/1 ERR too_large' then close; got (rc $rc): $out"
fi
out=$("${RAW[@]}" query "$QUERY_SOCK" --line "MTLS/1 FROBNICATE" --first-line 2>&1)
if printf '%s\n' "$out" | head -1 | grep -q '^MTLS/1 ERR bad_request'; then
	pass query_bad_request
else
	fail query_bad_request "want 'MTLS/1 ERR bad_request'; got: $out"
fi
out=$("${RAW[@]}" query "$QUERY_SOCK" --line "MTLS/9 SESSIONS" --first-line 2>&1)
if printf '%s\n' "$out" | head -1 | grep -q '^MTLS/1 ERR unsupported_version'; then
	pass query_bad_version
else
	fail query_bad_version "want 'MTLS/1 ERR unsupported_version'; got: $out"
fi
ctl stats
check query_works_after_bad_requests "mtlsctl stats exit $CTL_RC" \
    test "$CTL_RC" -eq 0

# --- max_connections = 2
"${RAW[@]}" hold 127.0.0.1 "$P_LIM" >"$LOGDIR/hold1.out" 2>&1 &
HOLD1=$!
track_pid "$HOLD1"
"${RAW[@]}" hold 127.0.0.1 "$P_LIM" >"$LOGDIR/hold2.out" 2>&1 &
HOLD2=$!
track_pid "$HOLD2"
for ((i = 0; i < 100; i++)); do
	[ "$(mtlsd_conns "$P_LIM")" -ge 2 ] && break
	sleep 0.1
done
echo "mtlsd holds $(mtlsd_conns "$P_LIM") connections on $P_LIM"
log_mark
out=$(curl_cert alice "$P_LIM" 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 28 ] && ! printf '%s' "$out" | grep -q hello; then
	pass max_connections_refuses_third
else
	fail max_connections_refuses_third "third connection: curl exit $rc: $out"
fi
expect_event max_connections_logged 5 event=limit reason=max_connections
stop_pid "$HOLD1"
stop_pid "$HOLD2"
for ((i = 0; i < 100; i++)); do
	[ "$(mtlsd_conns "$P_LIM")" -eq 0 ] && break
	sleep 0.1
done
curl_ok max_connections_recovers "$P_LIM"

check_stop sigterm_clean_exit
finish
