#!/bin/bash
# t_expiry.sh: a live session ends when its client certificate does.  A
# certificate issued now and valid for 3 more seconds gets a session; mtlsd
# closes it once notAfter has passed (not before; within 2 s after), logs
# reason=certificate_expired, removes it from the identity table, and
# refuses a fresh handshake with the same certificate as expired.  A
# session with a long-lived certificate stays up.
# shellcheck source=tests/integration/lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
require_built

B_ECHO=$(free_port)
P_ECHO=$(free_port)
VALID=3

start_backend echo --echo --tcp "127.0.0.1:$B_ECHO" || finish
add_listener echo "127.0.0.1:$P_ECHO" "127.0.0.1:$B_ECHO"
write_conf "$LOGDIR/mtlsd.conf"
start_mtlsd "$LOGDIR/mtlsd.conf" || finish

# bob: a long-lived certificate, for contrast
token="bob-$RANDOM$RANDOM"
sclient_open bob "$P_ECHO" -cert "$PKI/bob.crt" -key "$PKI/bob.key"
sclient_send bob "$token"
if ! sclient_wait bob "$token" 10; then
	fail bob_session "bob got no echo: $(tail -n 3 "${SC_OUT[bob]}.err" | tr '\n' ' ')"
	finish
fi

# the short-lived certificate, issued just before it is used
CERT=$RUNDIR/shorty
if ! mkcert --ca "$PKI/ca.crt" --ca-key "$PKI/ca.key" --cn shorty \
    --valid-seconds "$VALID" -o "$CERT"; then
	fail setup "mkcert.py failed"
	finish
fi
NOT_AFTER=$(cat "$CERT.notafter")
SERIAL=$(cat "$CERT.serial")
log_mark
token="shorty-$RANDOM$RANDOM"
sclient_open shorty "$P_ECHO" -cert "$CERT.crt" -key "$CERT.key"
sclient_send shorty "$token"
if sclient_wait shorty "$token" "$VALID" &&
    [ "$(date +%s)" -lt "$NOT_AFTER" ]; then
	pass short_cert_session
else
	fail short_cert_session "no echo before notAfter ($NOT_AFTER, now $(date +%s)): $(tail -n 3 "${SC_OUT[shorty]}.err" | tr '\n' ' ')"
	finish
fi
if session_listed "$SERIAL"; then
	pass short_cert_listed
else
	fail short_cert_listed "mtlsctl sessions does not list serial=$SERIAL"
fi

# bounded wait: until 2 s past notAfter (X.509 times are whole seconds: the
# certificate is valid through the second NOT_AFTER, so a close at
# NOT_AFTER + 1 is on time)
DEADLINE_MS=$(( (NOT_AFTER + 2) * 1000 ))
closed_ms=
while [ "$(now_ms)" -le "$DEADLINE_MS" ]; do
	if ! alive "${SC_PID[shorty]}"; then
		closed_ms=$(now_ms)
		break
	fi
	sleep 0.05
done
if [ -n "$closed_ms" ]; then
	echo "closed at $closed_ms ms, notAfter $NOT_AFTER s"
	pass expired_session_closed
	if [ "$closed_ms" -ge $((NOT_AFTER * 1000)) ]; then
		pass expired_session_not_closed_early
	else
		fail expired_session_not_closed_early "closed at $closed_ms ms, before notAfter ${NOT_AFTER}000 ms"
	fi
else
	fail expired_session_closed "the session was still up 2 s after notAfter ($NOT_AFTER, now $(date +%s))"
	sclient_close shorty
fi
if line=$(wait_event 3 event=session_close "serial=$SERIAL" reason=certificate_expired); then
	echo "$line"
	pass expired_close_logged
else
	fail expired_close_logged "no event=session_close serial=$SERIAL reason=certificate_expired; got: $(log_find event=session_close "serial=$SERIAL")"
fi
if wait_session_gone "$SERIAL" 2; then
	pass expired_session_not_listed
else
	fail expired_session_not_listed "mtlsctl sessions still lists serial=$SERIAL"
fi
sclient_close shorty

# the same certificate cannot start a new session, once the second
# NOT_AFTER is over (bounded: at most about 1 s from here)
for ((i = 0; i < 40; i++)); do
	[ "$(now_ms)" -ge $(( (NOT_AFTER + 1) * 1000 )) ] && break
	sleep 0.05
done
expect_refused expired_handshake_refused expired echo "$CERT.crt" "$CERT.key" "$P_ECHO"

# bob's session was not touched
token="bob2-$RANDOM$RANDOM"
if alive "${SC_PID[bob]}" && sclient_send bob "$token" &&
    sclient_wait bob "$token" 5; then
	pass long_lived_session_untouched
else
	fail long_lived_session_untouched "bob's session was dropped or stopped echoing"
fi
sclient_close bob

check_stop sigterm_clean_exit
finish
