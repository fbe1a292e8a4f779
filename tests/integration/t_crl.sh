#!/bin/bash
# t_crl.sh: certificate revocation lists.  A CRL that starts listing alice
# while she and bob have live sessions (the watched file replaced by
# rename(), no signal) closes her session within 2 s, logs reason=revoked,
# takes her out of the identity table (whois finds nothing, which is what
# pam_mtls's account stage relies on), leaves bob alone, and refuses her
# next handshake; a CRL rewritten in place is picked up too; DER CRLs; an
# intermediate's CRL; expired CRLs (refuse by default, crl_expired =
# "warn" accepts with a warning but still refuses listed serials; a CRL
# that expires while mtlsd runs); a CRL added on SIGHUP closes a live
# session; CRLs from the wrong CA or with a bad signature are configuration
# errors naming the file.
# shellcheck source=tests/integration/lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
require_built

B_ECHO=$(free_port)
P_WEB=$(free_port)
P_DER=$(free_port)
P_EXP=$(free_port)
P_EXPR=$(free_port)
P_WARN=$(free_port)
P_SOON=$(free_port)
P_INT=$(free_port)
P_HUP=$(free_port)
CONF=$LOGDIR/mtlsd.conf

ALICE_SERIAL=$(cat "$PKI/alice.serial")
BOB_SERIAL=$(cat "$PKI/bob.serial")

CA=(--ca "$PKI/ca.crt" --ca-key "$PKI/ca.key")
CRL_WEB=$RUNDIR/web.crl		# PEM, replaced while mtlsd runs
CRL_DER=$RUNDIR/der.crl		# DER, lists alice
CRL_EXP=$RUNDIR/expired.crl	# expired, lists nobody
CRL_WARN=$RUNDIR/warn.crl	# expired, lists alice
CRL_SOON=$RUNDIR/soon.crl	# expires SOON_SECS after start-up
CRL_ROOT=$RUNDIR/root.crl	# the root's, empty
CRL_INTER=$RUNDIR/inter.crl	# the intermediate's, lists carol
CRL_HUP=$RUNDIR/hup.crl		# lists bob, added to listener hup on SIGHUP
CRL_OTHER=$RUNDIR/other.crl	# signed by "Other CA" (not a client CA)
CRL_FORGED=$RUNDIR/forged.crl	# the root's name, signed by Other CA's key
CRL_GARBAGE=$RUNDIR/garbage.crl
SOON_SECS=20

# --- configuration errors: the CRL's file is named (mtlsd -t)
mkcrl --ca "$PKI/other-ca.crt" --ca-key "$PKI/other-ca.key" \
    --revoke "$PKI/untrusted.crt" -o "$CRL_OTHER"
mkcrl --ca "$PKI/ca.crt" --ca-key "$PKI/other-ca.key" \
    --revoke "$PKI/bob.crt" -o "$CRL_FORGED"
printf 'this is not a CRL\n' >"$CRL_GARBAGE"

# conf_error NAME CRLFILE: mtlsd -t refuses a listener with that CRL and
# names the file.
conf_error() {
	local name=$1 file=$2 conf=$LOGDIR/conf-$1.conf out rc
	add_listener web "127.0.0.1:$(free_port)" "127.0.0.1:$B_ECHO" \
	    crl="[ \"$file\" ]"
	write_conf "$conf"
	out=$(timeout 20 "$MTLSD" -t -c "$conf" 2>&1)
	rc=$?
	printf 'mtlsd -t -c %s -> %s\n%s\n' "$conf" "$rc" "$out"
	if [ "$rc" -ne 0 ] && printf '%s' "$out" | grep -qF -- "$file"; then
		pass "$name"
	else
		fail "$name" "mtlsd -t exit $rc (want non-zero, naming $file): $out"
	fi
}
conf_error config_crl_wrong_ca "$CRL_OTHER"
conf_error config_crl_bad_signature "$CRL_FORGED"
conf_error config_crl_garbage "$CRL_GARBAGE"
conf_error config_crl_missing "$RUNDIR/no-such.crl"

# --- the daemon
start_backend echo --echo --tcp "127.0.0.1:$B_ECHO" || finish

mkcrl "${CA[@]}" -o "$CRL_WEB"
mkcrl "${CA[@]}" --der --revoke "$PKI/alice.crt" -o "$CRL_DER"
mkcrl "${CA[@]}" --last-update -7200 --next-update -60 -o "$CRL_EXP"
mkcrl "${CA[@]}" --last-update -7200 --next-update -60 \
    --revoke "$PKI/alice.crt" -o "$CRL_WARN"
mkcrl "${CA[@]}" -o "$CRL_ROOT"
mkcrl --ca "$PKI/inter.crt" --ca-key "$PKI/inter.key" \
    --revoke "$PKI/carol.crt" -o "$CRL_INTER"
mkcrl "${CA[@]}" --revoke "$PKI/bob.crt" -o "$CRL_HUP"
cat "$PKI/ca.crt" "$PKI/inter.crt" >"$RUNDIR/ca-inter.pem"
chmod 644 "$RUNDIR"/*.crl "$RUNDIR/ca-inter.pem"

# mtlsd reads keys as its own user when it reloads: a copy it can read
reloadable_key "$PKI/server.key" "$RUNDIR/server.key"

# build_conf [HUP-CRL-LIST]: the test's configuration; the listener "hup"
# gets crl = [ HUP-CRL-LIST ] when given.
build_conf() {
	local k=private_key="\"$RUNDIR/server.key\""
	add_listener web "127.0.0.1:$P_WEB" "127.0.0.1:$B_ECHO" "$k" \
	    crl="[ \"$CRL_WEB\" ]"
	add_listener der "127.0.0.1:$P_DER" "127.0.0.1:$B_ECHO" "$k" \
	    crl="[ \"$CRL_DER\" ]"
	add_listener exp "127.0.0.1:$P_EXP" "127.0.0.1:$B_ECHO" "$k" \
	    crl="[ \"$CRL_EXP\" ]"
	add_listener expr "127.0.0.1:$P_EXPR" "127.0.0.1:$B_ECHO" "$k" \
	    crl="[ \"$CRL_EXP\" ]" crl_expired='"refuse"'
	add_listener warn "127.0.0.1:$P_WARN" "127.0.0.1:$B_ECHO" "$k" \
	    crl="[ \"$CRL_WARN\" ]" crl_expired='"warn"'
	add_listener soon "127.0.0.1:$P_SOON" "127.0.0.1:$B_ECHO" "$k" \
	    crl="[ \"$CRL_SOON\" ]"
	add_listener int "127.0.0.1:$P_INT" "127.0.0.1:$B_ECHO" "$k" \
	    client_ca="\"$RUNDIR/ca-inter.pem\"" \
	    crl="[ \"$CRL_ROOT\", \"$CRL_INTER\" ]"
	if [ -n "${1:-}" ]; then
		add_listener hup "127.0.0.1:$P_HUP" "127.0.0.1:$B_ECHO" "$k" \
		    crl="[ $1 ]"
	else
		add_listener hup "127.0.0.1:$P_HUP" "127.0.0.1:$B_ECHO" "$k"
	fi
	write_conf "$CONF"
}
build_conf
mkcrl "${CA[@]}" --next-update "$SOON_SECS" -o "$CRL_SOON"
SOON_END=$(( $(date +%s) + SOON_SECS ))
chmod 644 "$CRL_SOON"
start_mtlsd "$CONF" || finish

# a CRL that is still valid: bob passes (checked first, before it expires)
expect_echo soon_valid_crl_accepts bob bob "$P_SOON"

# open_session ID PORT WHO: a held s_client session as WHO, echo checked.
open_session() {
	local id=$1 port=$2 who=$3 token="hello-$1-$RANDOM$RANDOM"
	sclient_open "$id" "$port" -cert "$PKI/$who.crt" -key "$PKI/$who.key"
	sclient_send "$id" "$token"
	sclient_wait "$id" "$token" 10
}

# still_echoes ID: the held session answers a new line.
still_echoes() {
	local token="again-$1-$RANDOM$RANDOM"
	alive "${SC_PID[$1]}" || return 1
	sclient_send "$1" "$token"
	sclient_wait "$1" "$token" 5
}

# ------------------------------------------------------------------------
# live revocation: the watched file is replaced (rename), no signal
if ! open_session alice "$P_WEB" alice || ! open_session bob "$P_WEB" bob; then
	fail live_sessions "alice or bob got no echo on listener web: $(tail -n 3 "${SC_OUT[alice]}.err" "${SC_OUT[bob]}.err" | tr '\n' ' ')"
	finish
fi
pass live_sessions
ALICE_CLIENT=$(session_json "$ALICE_SERIAL" client)
ALICE_UPLOCAL=$(session_json "$ALICE_SERIAL" upstream_local)
echo "alice: client=$ALICE_CLIENT upstream_local=$ALICE_UPLOCAL"
ctl whois "$ALICE_CLIENT"
if [ -n "$ALICE_CLIENT" ] && [ "$CTL_RC" -eq 0 ]; then
	pass whois_alice_before
else
	fail whois_alice_before "whois $ALICE_CLIENT before revocation: exit $CTL_RC"
fi

log_mark
mkcrl "${CA[@]}" --revoke "$PKI/alice.crt" -o "$CRL_WEB.new"
chmod 644 "$CRL_WEB.new"
mv -f "$CRL_WEB.new" "$CRL_WEB"
t0=$(now_ms)
if sclient_exited alice 2; then
	listed=no
	session_listed "$ALICE_SERIAL" && listed=yes
	echo "alice's s_client gone after $(( $(now_ms) - t0 )) ms"
	pass revoked_session_closed_2s
	if [ "$listed" = no ]; then
		pass revoked_session_removed_first
	else
		fail revoked_session_removed_first "alice's session still listed by mtlsctl sessions after her connection closed"
	fi
else
	fail revoked_session_closed_2s "alice's s_client still connected 2 s after her serial was listed in $CRL_WEB"
	wait_session_gone "$ALICE_SERIAL" 3
	fail revoked_session_removed_first "the session was not closed"
fi
if line=$(wait_event 3 event=session_close "serial=$ALICE_SERIAL" reason=revoked); then
	echo "$line"
	pass revoked_close_logged
else
	fail revoked_close_logged "no event=session_close serial=$ALICE_SERIAL reason=revoked; got: $(log_find event=session_close "serial=$ALICE_SERIAL")"
fi
if wait_session_gone "$ALICE_SERIAL" 2; then
	pass revoked_session_not_listed
else
	fail revoked_session_not_listed "mtlsctl sessions still lists serial=$ALICE_SERIAL"
fi
for addr in "$ALICE_CLIENT" "$ALICE_UPLOCAL"; do
	ctl whois "$addr"
	[ "$CTL_RC" -eq 1 ] || break
done
if [ "$CTL_RC" -eq 1 ]; then
	pass whois_alice_gone
else
	fail whois_alice_gone "whois $addr after revocation: exit $CTL_RC (want 1): $CTL_OUT"
fi

# bob is untouched
if [ "$(log_count event=session_close "serial=$BOB_SERIAL")" -eq 0 ] &&
    still_echoes bob && session_listed "$BOB_SERIAL"; then
	pass bob_untouched
else
	fail bob_untouched "bob's session was closed or stopped echoing when alice was revoked"
fi

expect_refused revoked_handshake_refused revoked web alice alice "$P_WEB"
expect_echo bob_new_handshake_ok bob bob "$P_WEB"

# rewritten in place (open, truncate, write): now bob is listed too
log_mark
mkcrl "${CA[@]}" --revoke "$PKI/alice.crt" --revoke "$PKI/bob.crt" \
    -o "$CRL_WEB"
if sclient_exited bob 2; then
	pass inplace_rewrite_closes_bob
else
	fail inplace_rewrite_closes_bob "bob's session still up 2 s after $CRL_WEB was rewritten in place listing him"
fi
expect_event inplace_rewrite_close_logged 3 event=session_close \
    "serial=$BOB_SERIAL" reason=revoked
sclient_close alice
sclient_close bob

# a new CRL without alice: her handshakes pass again (bounded retries while
# the change is picked up)
mkcrl "${CA[@]}" -o "$CRL_WEB"
ok=no
for ((i = 0; i < 10; i++)); do
	if node_echo alice alice "$P_WEB"; then ok=yes; break; fi
	sleep 0.3
done
if [ "$ok" = yes ]; then
	pass new_crl_replaces_old
else
	fail new_crl_replaces_old "alice still refused 3 s after a CRL without her replaced the one listing her"
fi

# ------------------------------------------------------------------------
# DER
expect_refused der_crl_revoked revoked der alice alice "$P_DER"
expect_echo der_crl_accepts_bob bob bob "$P_DER"

# an intermediate's CRL next to the root's
expect_refused intermediate_crl_revoked revoked int \
    "$PKI/carol-chain.pem" "$PKI/carol.key" "$P_INT"
expect_echo intermediate_crl_accepts_bob bob bob "$P_INT"

# ------------------------------------------------------------------------
# expired CRLs: refused by default and with crl_expired = "refuse"
expect_refused expired_crl_refuses_alice crl_expired exp alice alice "$P_EXP"
expect_refused expired_crl_refuses_bob crl_expired exp bob bob "$P_EXP"
expect_refused expired_crl_refuse_explicit crl_expired expr bob bob "$P_EXPR"

# crl_expired = "warn": bob passes with a warning, alice is still revoked
log_mark
expect_echo expired_crl_warn_accepts_bob bob bob "$P_WARN"
saved_mark=$LOG_MARK
LOG_MARK=0
line=$(log_find event=crl result=expired listener=warn ||
    log_find event=crl result=expired "file=$CRL_WARN")
LOG_MARK=$saved_mark
if [ -n "$line" ]; then
	echo "$line"
	pass expired_crl_warn_logged
else
	fail expired_crl_warn_logged "no event=crl result=expired line naming listener=warn or file=$CRL_WARN in $MTLSD_LOG"
fi
expect_refused expired_crl_warn_still_revokes revoked warn alice alice "$P_WARN"

# ------------------------------------------------------------------------
# a CRL added to a listener on SIGHUP closes a live session it lists
if open_session hupbob "$P_HUP" bob; then
	build_conf "\"$CRL_HUP\""
	if line=$(sighup_wait 10) && printf '%s' "$line" | grep -q 'result=ok'; then
		pass reload_with_new_crl
	else
		fail reload_with_new_crl "SIGHUP with a crl added to listener hup: ${line:-no event=reload}"
	fi
	if sclient_exited hupbob 2; then
		pass reload_new_crl_closes_session
	else
		fail reload_new_crl_closes_session "bob's session on hup still up 2 s after a reload that revoked him"
	fi
	expect_event reload_new_crl_close_logged 3 event=session_close \
	    "serial=$BOB_SERIAL" reason=revoked
	expect_refused reload_new_crl_refuses_bob revoked hup bob bob "$P_HUP"
else
	fail reload_new_crl_closes_session "bob got no echo on listener hup"
fi
sclient_close hupbob

# a reload naming a CRL from the wrong CA fails (the file named); the old
# CRLs stay in force
build_conf "\"$CRL_HUP\", \"$CRL_OTHER\""
line=$(sighup_wait 10)
if printf '%s' "$line" | grep -q 'result=fail' &&
    printf '%s' "$line" | grep -qF -- "$CRL_OTHER"; then
	pass reload_wrong_ca_crl_fails
else
	fail reload_wrong_ca_crl_fails "want event=reload result=fail naming $CRL_OTHER; got: ${line:-nothing}"
fi
expect_refused reload_failed_keeps_crl revoked hup bob bob "$P_HUP"
expect_echo reload_failed_keeps_serving alice alice "$P_HUP"
build_conf "\"$CRL_HUP\""

# ------------------------------------------------------------------------
# the CRL of listener soon passed its nextUpdate while mtlsd ran
for ((i = 0; i < SOON_SECS + 5; i++)); do
	[ "$(date +%s)" -gt $((SOON_END + 1)) ] && break
	sleep 1
done
expect_refused crl_expired_while_running crl_expired soon bob bob "$P_SOON"

if alive "$MTLSD_PID"; then
	pass mtlsd_alive
else
	fail mtlsd_alive "mtlsd exited: $(tail -n 5 "$MTLSD_LOG")"
fi
check_stop sigterm_clean_exit
finish
