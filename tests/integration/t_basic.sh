#!/bin/bash
# t_basic.sh: the happy paths.  curl, openssl s_client and node reach TCP
# and unix-socket backends through mtlsd with verified client certificates
# (direct and through an intermediate), over IPv4 and IPv6; an upstream that
# refuses is handled; SIGTERM stops mtlsd cleanly.
# shellcheck source=tests/integration/lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
require_built

P_WEB=$(free_port)
P_ECHO=$(free_port)
P_UNIX=$(free_port)
P_DEAD=$(free_port)
B_HTTP=$(free_port)
B_ECHO=$(free_port)
B_NONE=$(free_port)	# nothing listens here
BACKEND_SOCK=$RUNDIR/backend.sock

start_backend http --http --tcp "127.0.0.1:$B_HTTP" || finish
start_backend echo --echo --tcp "127.0.0.1:$B_ECHO" || finish
start_backend unix --http --unix "$BACKEND_SOCK" || finish

add_listener web "127.0.0.1:$P_WEB" "127.0.0.1:$B_HTTP"
add_listener echo "127.0.0.1:$P_ECHO" "127.0.0.1:$B_ECHO"
add_listener unix "127.0.0.1:$P_UNIX" "unix:$BACKEND_SOCK"
add_listener dead "127.0.0.1:$P_DEAD" "127.0.0.1:$B_NONE"
P_V6=
if have_ipv6; then
	P_V6=$(free_port ::1)
	add_listener v6 "[::1]:$P_V6" "127.0.0.1:$B_HTTP"
fi
write_conf "$LOGDIR/mtlsd.conf"
start_mtlsd "$LOGDIR/mtlsd.conf" || finish

ALICE_SUBJECT=$(cat "$PKI/alice.subject")
ALICE_SERIAL=$(cat "$PKI/alice.serial")

# --- curl with alice's certificate gets the backend's answer
log_mark
out=$(curl_cert alice "$P_WEB" 2>&1)
if [ "$out" = "hello from backend" ]; then
	pass curl_alice
else
	fail curl_alice "curl output: $out"
fi
expect_event handshake_ok_logged 5 event=handshake result=ok listener=web \
    "subject=$ALICE_SUBJECT" "serial=$ALICE_SERIAL"
if line=$(wait_event 5 event=session_close listener=web); then
	if echo "$line" | grep -Eq '(^|[ :])bytes_in=[1-9][0-9]*( |$)' &&
	    echo "$line" | grep -Eq '(^|[ :])bytes_out=[1-9][0-9]*( |$)' &&
	    echo "$line" | grep -Eq '(^|[ :])duration_ms=[0-9]+( |$)'; then
		pass session_close_logged
	else
		fail session_close_logged "bytes_in/bytes_out/duration_ms missing or zero: $line"
	fi
else
	fail session_close_logged "no event=session_close listener=web"
fi

# --- HTTP POST body through the proxy
body="posted-$RANDOM-$RANDOM"
out=$(curl -sS --max-time 15 --cacert "$PKI/ca.crt" --cert "$PKI/alice.crt" \
    --key "$PKI/alice.key" --resolve "localhost:$P_WEB:127.0.0.1" \
    --data-binary "$body" "https://localhost:$P_WEB/echo" 2>&1)
if [ "$out" = "$body" ]; then
	pass curl_post_echo
else
	fail curl_post_echo "curl output: $out"
fi

# --- openssl s_client with bob's certificate reaches the echo backend
token="echo-token-$RANDOM$RANDOM"
sclient_open bob "$P_ECHO" -cert "$PKI/bob.crt" -key "$PKI/bob.key"
sclient_send bob "$token"
if sclient_wait bob "$token" 10; then
	pass s_client_bob_echo
else
	fail s_client_bob_echo "no echo; s_client: $(tail -n 3 "${SC_OUT[bob]}.err")"
fi
sclient_close bob

# --- TLS 1.3 key updates, asked for ("K") and not ("k"), midway through a
# session: mtlsd keeps only the traffic secrets after the handshake, and
# the data after each update must still come back.
sclient_open ku "$P_ECHO" -tls1_3 -cert "$PKI/bob.crt" -key "$PKI/bob.key"
ok=no
if sclient_send ku "before-$token" && sclient_wait ku "before-$token" 10 &&
    sclient_send ku K && sclient_send ku "after-K-$token" &&
    sclient_wait ku "after-K-$token" 10 &&
    sclient_send ku k && sclient_send ku "after-k-$token" &&
    sclient_wait ku "after-k-$token" 10; then
	ok=yes
fi
if [ "$ok" = yes ] && [ "$(grep -c KEYUPDATE "${SC_OUT[ku]}.err")" -eq 2 ]; then
	pass tls13_key_update
else
	fail tls13_key_update "echo after key updates: $ok; s_client: $(tail -n 3 "${SC_OUT[ku]}.err")"
fi
sclient_close ku

# --- node: 1 MiB of random bytes to the echo backend and back
out=$(timeout 90 node "$TESTS/tls_client.js" 127.0.0.1 "$P_ECHO" \
    "$PKI/ca.crt" "$PKI/alice.crt" "$PKI/alice.key" 1048576 2>&1)
rc=$?
echo "node: $out"
if [ "$rc" -eq 0 ]; then
	pass node_1mib_sha256
else
	fail node_1mib_sha256 "tls_client.js exit $rc: $out"
fi

# --- half-close passes through: the client ends its side, the echo
# backend finishes echoing and closes, the client reads everything
out=$(timeout 90 node "$TESTS/tls_client.js" 127.0.0.1 "$P_ECHO" \
    "$PKI/ca.crt" "$PKI/alice.crt" "$PKI/alice.key" 262144 --half-close 2>&1)
rc=$?
echo "node half-close: $out"
if [ "$rc" -eq 0 ]; then
	pass node_half_close
else
	fail node_half_close "tls_client.js --half-close exit $rc: $out"
fi

# --- carol, whose certificate is issued by an intermediate CA she sends
log_mark
out=$(curl -sS --max-time 15 --cacert "$PKI/ca.crt" \
    --cert "$PKI/carol-chain.pem" --key "$PKI/carol.key" \
    --resolve "localhost:$P_WEB:127.0.0.1" "https://localhost:$P_WEB/" 2>&1)
if [ "$out" = "hello from backend" ] &&
    wait_event 5 event=handshake result=ok "subject=$(cat "$PKI/carol.subject")" \
    "serial=$(cat "$PKI/carol.serial")" >/dev/null; then
	pass carol_via_intermediate
else
	fail carol_via_intermediate "curl output: $out"
fi

# --- IPv6 listener
if [ -n "$P_V6" ]; then
	out=$(curl -sS --max-time 15 --cacert "$PKI/ca.crt" \
	    --cert "$PKI/alice.crt" --key "$PKI/alice.key" \
	    "https://[::1]:$P_V6/" 2>&1)
	if [ "$out" = "hello from backend" ]; then
		pass ipv6_curl
	else
		fail ipv6_curl "curl https://[::1]:$P_V6/: $out"
	fi
else
	skip ipv6_curl "IPv6 loopback ::1 not available"
fi

# --- unix: upstream
before=$(backend_conns unix)
out=$(curl_cert bob "$P_UNIX" 2>&1)
after=$(backend_conns unix)
if [ "$out" = "hello from backend" ] && [ "$after" -gt "$before" ]; then
	pass unix_upstream
else
	fail unix_upstream "curl output: $out; unix backend connections $before -> $after"
fi

# --- upstream refusing: the client is closed, mtlsd logs it and goes on
log_mark
out=$(curl_cert alice "$P_DEAD" 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 28 ] && ! echo "$out" | grep -q "hello"; then
	pass upstream_refused_client_closed
else
	fail upstream_refused_client_closed "curl exit $rc (want a closed connection, not a timeout): $out"
fi
expect_event upstream_refused_logged 5 event=upstream result=fail listener=dead
out=$(curl_cert alice "$P_WEB" 2>&1)
if [ "$out" = "hello from backend" ] && alive "$MTLSD_PID"; then
	pass serves_after_upstream_fail
else
	fail serves_after_upstream_fail "curl output: $out"
fi

# --- SIGTERM: exit status 0 and event=stop
check_stop sigterm_clean_exit
finish
