#!/bin/bash
# t_reject.sh: client certificates mtlsd must refuse, each with its audit
# reason, and without the client ever reaching the backend: no certificate,
# unknown CA, expired, not yet valid, serverAuth-only EKU, a chain deeper
# than verify_depth.  Also: the same deep chain with a larger verify_depth
# is accepted, a leaf cannot borrow intermediates that earlier clients
# sent, and a TLS 1.3-only listener refuses TLS 1.2.
# shellcheck source=tests/integration/lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
require_built

P_STRICT=$(free_port)
P_DEEP8=$(free_port)
P_TLS13=$(free_port)
B_ECHO=$(free_port)

start_backend echo --echo --tcp "127.0.0.1:$B_ECHO" || finish
add_listener strict "127.0.0.1:$P_STRICT" "127.0.0.1:$B_ECHO" verify_depth=4 \
    require_client_auth_eku=true
add_listener deep8 "127.0.0.1:$P_DEEP8" "127.0.0.1:$B_ECHO" verify_depth=8
add_listener tls13 "127.0.0.1:$P_TLS13" "127.0.0.1:$B_ECHO" \
    'tls_min_version="1.3"'
write_conf "$LOGDIR/mtlsd.conf"
start_mtlsd "$LOGDIR/mtlsd.conf" || finish

# The deep chain's intermediates, for s_client -cert_chain (d5 .. d1).
cat "$PKI/d5.crt" "$PKI/d4.crt" "$PKI/d3.crt" "$PKI/d2.crt" "$PKI/d1.crt" \
    >"$LOGDIR/deep-inters.pem"

# probe_ok NAME PORT [s_client args]: a line sent is echoed back.
probe_ok() {
	local name=$1 port=$2 token="ok-$1-$RANDOM$RANDOM"
	shift 2
	sclient_open "$name" "$port" "$@"
	sclient_send "$name" "$token"
	if sclient_wait "$name" "$token" 10; then
		pass "$name"
	else
		fail "$name" "no echo through mtlsd; s_client: $(tail -n 3 "${SC_OUT[$name]}.err" | tr '\n' ' ')"
	fi
	sclient_close "$name"
}

# probe_refused NAME REASON PORT [s_client args]: mtlsd closes the
# connection, logs "event=handshake result=fail reason=REASON", and the
# backend sees no connection and the client gets no echo.
# Reports NAME (the closed connection and its logged reason) and
# NAME_no_backend.
probe_refused() {
	local name=$1 reason=$2 port=$3 token="refused-$1-$RANDOM$RANDOM"
	local before after closed=yes line
	shift 3
	before=$(backend_conns echo)
	log_mark
	sclient_open "$name" "$port" "$@"
	sclient_send "$name" "$token"
	sclient_exited "$name" 10 || closed=no
	sclient_close "$name"
	after=$(backend_conns echo)
	if line=$(wait_event 5 event=handshake result=fail "reason=$reason"); then
		if [ "$closed" = yes ]; then
			pass "$name"
		else
			fail "$name" "logged reason=$reason but left the connection open for 10 s"
		fi
	else
		line=$(log_find event=handshake result=fail)
		fail "$name" "want event=handshake result=fail reason=$reason; got: ${line:-nothing}; s_client: $(tail -n 2 "${SC_OUT[$name]}.err" | tr '\n' ' ')"
	fi
	if [ "$before" = "$after" ] && ! grep -qF -- "$token" "${SC_OUT[$name]}"; then
		pass "${name}_no_backend"
	else
		fail "${name}_no_backend" "backend connections $before -> $after; echoed: $(grep -cF -- "$token" "${SC_OUT[$name]}")"
	fi
}

# positive control on the strict listener
probe_ok accept_bob "$P_STRICT" -cert "$PKI/bob.crt" -key "$PKI/bob.key"

probe_refused refuse_no_cert no_cert "$P_STRICT"
probe_refused refuse_untrusted unknown_ca "$P_STRICT" \
    -cert "$PKI/untrusted.crt" -key "$PKI/untrusted.key"
probe_refused refuse_expired expired "$P_STRICT" \
    -cert "$PKI/expired.crt" -key "$PKI/expired.key"
probe_refused refuse_notyet not_yet_valid "$P_STRICT" \
    -cert "$PKI/notyet.crt" -key "$PKI/notyet.key"
probe_refused refuse_serverauth_eku bad_eku "$P_STRICT" \
    -cert "$PKI/serverauth.crt" -key "$PKI/serverauth.key"
probe_refused refuse_depth4 depth "$P_STRICT" \
    -cert "$PKI/deep.crt" -key "$PKI/deep.key" \
    -cert_chain "$LOGDIR/deep-inters.pem"

# the same chain is fine with verify_depth = 8
probe_ok accept_depth8 "$P_DEEP8" \
    -cert "$PKI/deep.crt" -key "$PKI/deep.key" \
    -cert_chain "$LOGDIR/deep-inters.pem"

# carol's chain (leaf + intermediate) through s_client as well
probe_ok accept_carol_chain "$P_STRICT" \
    -cert "$PKI/carol.crt" -key "$PKI/carol.key" -cert_chain "$PKI/inter.crt"

# The library remembers intermediates it verified for earlier clients; a
# later client must still bring its own path.  After the full chains above
# were accepted, the same leaves without their intermediates are refused,
# and the deep leaf cannot borrow d1..d5 to get past verify_depth.
probe_refused refuse_carol_without_chain unknown_ca "$P_STRICT" \
    -cert "$PKI/carol.crt" -key "$PKI/carol.key"
probe_refused refuse_deep_without_chain unknown_ca "$P_DEEP8" \
    -cert "$PKI/deep.crt" -key "$PKI/deep.key"
probe_refused refuse_deep_partial_chain unknown_ca "$P_STRICT" \
    -cert "$PKI/deep.crt" -key "$PKI/deep.key" -cert_chain "$PKI/d5.crt"

# TLS 1.2 works where allowed (default minimum 1.2)
probe_ok accept_tls12_default "$P_STRICT" -tls1_2 \
    -cert "$PKI/alice.crt" -key "$PKI/alice.key"

# TLS 1.3-only listener: -tls1_2 refused, -tls1_3 accepted
before=$(backend_conns echo)
out=$(timeout 15 openssl s_client -tls1_2 -connect "127.0.0.1:$P_TLS13" \
    -servername localhost -CAfile "$PKI/ca.crt" \
    -cert "$PKI/alice.crt" -key "$PKI/alice.key" </dev/null 2>&1)
rc=$?
after=$(backend_conns echo)
# s_client prints "Cipher is (NONE)" when no session was established
if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$before" = "$after" ] &&
    echo "$out" | grep -q 'Cipher is (NONE)'; then
	pass tls13_only_refuses_tls12
else
	fail tls13_only_refuses_tls12 "s_client -tls1_2 exit $rc, backend $before -> $after: $(echo "$out" | grep -E 'Protocol|error|alert' | head -3)"
fi
probe_ok tls13_only_accepts_tls13 "$P_TLS13" -tls1_3 \
    -cert "$PKI/alice.crt" -key "$PKI/alice.key"

check_stop sigterm_clean_exit
finish
