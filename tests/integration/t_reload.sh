#!/bin/bash
# t_reload.sh: configuration reload (SIGHUP and "mtlsctl reload").  An
# unchanged configuration reloads; a broken one is refused with file:line
# and the old one keeps serving; mtlsctl reload prints the outcome and its
# exit status says it; a changed mapping updates a live session's accounts
# without dropping it; the server certificate is rotated with no dropped
# session; the listen addresses cannot change on reload; only root and the
# daemon's own uid may ask for a reload; 100 SIGHUPs while clients move
# data drop nobody and crash nothing.
# shellcheck source=tests/integration/lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
require_built

B_HTTP=$(free_port)
B_ECHO=$(free_port)
P_WEB=$(free_port)
P_ECHO=$(free_port)
P_BULK=$(free_port)
P_NEW=$(free_port)
CONF=$LOGDIR/mtlsd.conf
IS_ROOT=no
[ "$(id -u)" -eq 0 ] && IS_ROOT=yes

ALICE_SERIAL=$(cat "$PKI/alice.serial")
BOB_SERIAL=$(cat "$PKI/bob.serial")

start_backend http --http --tcp "127.0.0.1:$B_HTTP" || finish
start_backend echo --echo --tcp "127.0.0.1:$B_ECHO" || finish

# A second server certificate for the rotation, issued now; its key is
# root's and mode 0600, like a real one.
mkcert --ca "$PKI/ca.crt" --ca-key "$PKI/ca.key" --cn localhost --server \
    -o "$RUNDIR/server2" || { fail setup "mkcert.py failed"; finish; }
# mtlsd reads keys as its own user when it reloads: copies it can read
reloadable_key "$PKI/server.key" "$RUNDIR/server.key"
reloadable_key "$RUNDIR/server2.key" "$RUNDIR/server2-r.key"
SERVER_CERT=$PKI/server-chain.pem
SERVER_KEY=$RUNDIR/server.key
ALICE_ACCOUNT=nobody
EXTRA_LISTENER=

# build_conf: the configuration from the variables above.  Accounts from
# uid 1 on, so that alice can be mapped to "daemon" (uid 1).
build_conf() {
	local srv=(certificate="\"$SERVER_CERT\"" private_key="\"$SERVER_KEY\"")
	add_conf_line 'accounts = { min_uid = 1; allow_root = false; };'
	add_mapping people "{ name = \"alice\"; field = \"subject.CN\";
      equals = \"alice\"; account = \"$ALICE_ACCOUNT\"; },
    { name = \"bob\"; field = \"subject.CN\"; equals = \"bob\";
      account = \"nobody\"; }"
	add_listener web "127.0.0.1:$P_WEB" "127.0.0.1:$B_HTTP" "${srv[@]}"
	add_listener echo "127.0.0.1:$P_ECHO" "127.0.0.1:$B_ECHO" "${srv[@]}" \
	    mapping='"people"'
	add_listener bulk "127.0.0.1:$P_BULK" "127.0.0.1:$B_ECHO" "${srv[@]}"
	if [ -n "$EXTRA_LISTENER" ]; then
		add_listener extra "$EXTRA_LISTENER" "127.0.0.1:$B_ECHO" "${srv[@]}"
	fi
	write_conf "$CONF"
}
build_conf
start_mtlsd "$CONF" || finish

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

# sessions_survive NAME ID...: every held session still echoes.
sessions_survive() {
	local name=$1 id bad=
	shift
	for id in "$@"; do
		still_echoes "$id" || bad="$bad $id"
	done
	if [ -z "$bad" ]; then
		pass "$name"
	else
		fail "$name" "session(s) dropped or silent:$bad"
	fi
}

# curl_ok NAME: a new connection to the web listener is served.
curl_ok() {
	local out
	out=$(curl_cert alice "$P_WEB" 2>&1)
	if [ "$out" = "hello from backend" ]; then
		pass "$1"
	else
		fail "$1" "curl with alice: $out"
	fi
}

# reload_serial LINE: the serial=N of a reload line ("" when none).
reload_serial() {
	printf '%s\n' "$1" | grep -oE '(^| )serial="?[0-9]+' | head -1 |
	    grep -oE '[0-9]+$'
}

# served_serial PORT: the serial of the certificate the server presents to
# a new handshake (verified against the test CA).
served_serial() {
	timeout 15 openssl s_client -connect "127.0.0.1:$1" \
	    -servername localhost -CAfile "$PKI/ca.crt" -verify_return_error \
	    -cert "$PKI/bob.crt" -key "$PKI/bob.key" </dev/null 2>/dev/null |
	    openssl x509 -noout -serial 2>/dev/null | sed 's/^serial=//'
}

if ! open_session alice "$P_ECHO" alice || ! open_session bob "$P_ECHO" bob; then
	fail live_sessions "alice or bob got no echo: $(tail -n 3 "${SC_OUT[alice]}.err" "${SC_OUT[bob]}.err" | tr '\n' ' ')"
	finish
fi
pass live_sessions

# --- SIGHUP, configuration unchanged
line=$(sighup_wait 10)
echo "$line"
SERIAL1=$(reload_serial "$line")
if printf '%s' "$line" | grep -qE '(^| )result="?ok"?( |$)' && [ -n "$SERIAL1" ]; then
	pass sighup_unchanged_ok
else
	fail sighup_unchanged_ok "want event=reload result=ok serial=N; got: ${line:-no event=reload within 10 s}"
fi
sessions_survive sighup_sessions_survive alice bob
curl_ok sighup_serves

# --- mtlsctl reload, unchanged: prints the outcome, exit 0
log_mark
ctl reload
line=$(wait_for_log "$RELOAD_LINE" 10)
SERIAL2=$(reload_serial "$CTL_OUT")
if [ "$CTL_RC" -eq 0 ] && printf '%s' "$CTL_OUT" | grep -qE '(^| )result="?ok"?( |$)' &&
    printf '%s' "$line" | grep -qE '(^| )result="?ok"?( |$)'; then
	pass ctl_reload_ok
else
	fail ctl_reload_ok "mtlsctl reload: exit $CTL_RC (want 0, result=ok): $CTL_OUT; log: ${line:-none}"
fi
if [ -n "$SERIAL2" ] && [ "$SERIAL2" = "$(reload_serial "$line")" ] &&
    [ -n "$SERIAL1" ] && [ "$SERIAL2" -gt "$SERIAL1" ]; then
	pass reload_serial_increments
else
	fail reload_serial_increments "SIGHUP serial=${SERIAL1:-none}, mtlsctl reload serial=${SERIAL2:-none}, its log line: ${line:-none}"
fi

# --- a syntax error: refused with file:line, the old configuration serves
BAD_LINE=$(grep -n 'idle_timeout' "$CONF" | head -1 | cut -d: -f1)
sed -i "${BAD_LINE}s/idle_timeout = /idle_timeout = = /" "$CONF"
sed -n "${BAD_LINE}p" "$CONF"
line=$(sighup_wait 10)
echo "$line"
if printf '%s' "$line" | grep -qE '(^| )result="?fail"?( |$)'; then
	pass broken_config_rejected
else
	fail broken_config_rejected "want event=reload result=fail; got: ${line:-no event=reload within 10 s}"
fi
if printf '%s' "$line" | grep -qF -- "$CONF:$BAD_LINE"; then
	pass broken_config_file_line
else
	fail broken_config_file_line "want $CONF:$BAD_LINE in: ${line:-nothing}"
fi
if alive "$MTLSD_PID"; then pass broken_config_alive; else
	fail broken_config_alive "mtlsd exited after a broken configuration: $(tail -n 3 "$MTLSD_LOG")"
	finish
fi
curl_ok broken_config_old_serves
sessions_survive broken_config_sessions_survive alice bob

log_mark
ctl reload
if [ "$CTL_RC" -ne 0 ] && printf '%s' "$CTL_OUT" | grep -qE '(^| )result="?fail"?( |$)' &&
    printf '%s' "$CTL_OUT" | grep -qF -- "$CONF:$BAD_LINE"; then
	pass ctl_reload_fail
else
	fail ctl_reload_fail "mtlsctl reload of a broken file: exit $CTL_RC (want non-zero, result=fail and $CONF:$BAD_LINE): $CTL_OUT"
fi
curl_ok ctl_reload_fail_old_serves

# a key that cannot be read: refused, the file named, still serving
SERVER_KEY=$RUNDIR/no-such.key
build_conf
line=$(sighup_wait 10)
echo "$line"
if printf '%s' "$line" | grep -qE '(^| )result="?fail"?( |$)' &&
    printf '%s' "$line" | grep -qF -- "$SERVER_KEY"; then
	pass missing_key_rejected
else
	fail missing_key_rejected "want event=reload result=fail naming $SERVER_KEY; got: ${line:-nothing}"
fi
SERVER_KEY=$RUNDIR/server.key
curl_ok missing_key_old_serves

# a key mtlsd cannot read as its own user (root's, mode 0600)
if [ "$IS_ROOT" = yes ]; then
	SERVER_KEY=$PKI/server.key
	build_conf
	line=$(sighup_wait 10)
	echo "$line"
	if printf '%s' "$line" | grep -qE '(^| )result="?fail"?( |$)' &&
	    printf '%s' "$line" | grep -qF -- "$SERVER_KEY"; then
		pass unreadable_key_rejected
	else
		fail unreadable_key_rejected "want event=reload result=fail naming $SERVER_KEY; got: ${line:-nothing}"
	fi
	SERVER_KEY=$RUNDIR/server.key
	curl_ok unreadable_key_old_serves
else
	skip unreadable_key_rejected "needs root (mtlsd keeps its user's rights)"
fi

# a key that does not match the certificate
SERVER_KEY=$RUNDIR/server2-r.key
build_conf
line=$(sighup_wait 10)
echo "$line"
if printf '%s' "$line" | grep -qE '(^| )result="?fail"?( |$)'; then
	pass mismatched_key_rejected
else
	fail mismatched_key_rejected "certificate $SERVER_CERT with key $SERVER_KEY: want event=reload result=fail; got: ${line:-nothing}"
fi
SERVER_KEY=$RUNDIR/server.key
curl_ok mismatched_key_old_serves

# --- a changed mapping updates alice's live session, which stays up
ALICE_ID=$(session_json "$ALICE_SERIAL" id)
before=$(session_json "$ALICE_SERIAL" accounts)
if [ "$before" = '["nobody"]' ]; then
	pass mapping_before
else
	fail mapping_before "alice's accounts before the change: ${before:-no session} (want [\"nobody\"])"
fi
ALICE_ACCOUNT=daemon
build_conf
line=$(sighup_wait 10)
echo "$line"
if printf '%s' "$line" | grep -qE '(^| )result="?ok"?( |$)'; then
	pass mapping_reload_ok
else
	fail mapping_reload_ok "want event=reload result=ok; got: ${line:-nothing}"
fi
after=
for ((i = 0; i < 20; i++)); do
	after=$(session_json "$ALICE_SERIAL" accounts)
	[ "$after" = '["daemon"]' ] && break
	sleep 0.1
done
if [ "$after" = '["daemon"]' ] && [ "$(session_json "$ALICE_SERIAL" id)" = "$ALICE_ID" ]; then
	pass mapping_updates_live_session
else
	fail mapping_updates_live_session "alice's session (id $ALICE_ID): accounts ${after:-none} (want [\"daemon\"]), id now $(session_json "$ALICE_SERIAL" id)"
fi
if [ "$(session_json "$BOB_SERIAL" accounts)" = '["nobody"]' ]; then
	pass mapping_other_session_unchanged
else
	fail mapping_other_session_unchanged "bob's accounts: $(session_json "$BOB_SERIAL" accounts)"
fi
sessions_survive mapping_session_not_dropped alice bob
log_mark
if node_echo alice alice "$P_ECHO" &&
    wait_event 5 event=handshake result=ok listener=echo \
    "serial=$ALICE_SERIAL" accounts=daemon >/dev/null; then
	pass mapping_new_handshake
else
	fail mapping_new_handshake "a new handshake as alice: $(log_find event=handshake listener=echo)"
fi

# --- server certificate rotation
OLD_SRV=$(openssl x509 -in "$PKI/server.crt" -noout -serial | sed 's/^serial=//')
NEW_SRV=$(cat "$RUNDIR/server2.serial")
got=$(served_serial "$P_ECHO")
if [ "$got" = "$OLD_SRV" ]; then
	pass rotation_before
else
	fail rotation_before "served serial ${got:-none}, want $OLD_SRV"
fi
SERVER_CERT=$RUNDIR/server2.crt
SERVER_KEY=$RUNDIR/server2-r.key
build_conf
line=$(sighup_wait 10)
echo "$line"
if printf '%s' "$line" | grep -qE '(^| )result="?ok"?( |$)'; then
	pass rotation_reload_ok
else
	fail rotation_reload_ok "reload with $SERVER_CERT: ${line:-nothing}"
fi
got=$(served_serial "$P_ECHO")
if [ "$got" = "$NEW_SRV" ]; then
	pass rotation_new_handshake_new_cert
else
	fail rotation_new_handshake_new_cert "served serial ${got:-none} after rotation, want $NEW_SRV (old $OLD_SRV)"
fi
got=$(served_serial "$P_WEB")
if [ "$got" = "$NEW_SRV" ]; then pass rotation_all_listeners; else
	fail rotation_all_listeners "listener web serves ${got:-none}, want $NEW_SRV"
fi
sessions_survive rotation_sessions_survive alice bob
curl_ok rotation_curl

# --- the listen addresses cannot change on reload
# one listener moved to another port
good_echo=$P_ECHO
P_ECHO=$P_NEW
build_conf
P_ECHO=$good_echo
line=$(sighup_wait 10)
echo "$line"
if printf '%s' "$line" | grep -qE '(^| )result="?fail"?( |$)' &&
    printf '%s' "$line" | grep -qi 'restart'; then
	pass listen_change_rejected
else
	fail listen_change_rejected "want event=reload result=fail saying a restart is needed; got: ${line:-nothing}"
fi
if node_echo bob bob "$P_ECHO"; then
	pass listen_change_old_serves
else
	fail listen_change_old_serves "the old address 127.0.0.1:$P_ECHO no longer serves"
fi
if ! timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$P_NEW" 2>/dev/null; then
	pass listen_change_not_bound
else
	fail listen_change_not_bound "127.0.0.1:$P_NEW accepts connections after a refused reload"
fi
# one listener more
EXTRA_LISTENER=127.0.0.1:$P_NEW
build_conf
EXTRA_LISTENER=
line=$(sighup_wait 10)
echo "$line"
if printf '%s' "$line" | grep -qE '(^| )result="?fail"?( |$)' &&
    printf '%s' "$line" | grep -qi 'restart'; then
	pass listen_added_rejected
else
	fail listen_added_rejected "want event=reload result=fail saying a restart is needed; got: ${line:-nothing}"
fi
ctl reload
if [ "$CTL_RC" -ne 0 ] && printf '%s' "$CTL_OUT" | grep -qi 'restart'; then
	pass ctl_reload_listen_change
else
	fail ctl_reload_listen_change "mtlsctl reload: exit $CTL_RC (want non-zero, saying a restart is needed): $CTL_OUT"
fi
build_conf
sessions_survive failed_reloads_sessions_survive alice bob

# --- who may reload: root and the daemon's own uid, not other members of
# the query group
if [ "$IS_ROOT" = yes ]; then
	cp "$MTLSCTL" "$RUNDIR/mtlsctl"
	chmod 755 "$RUNDIR/mtlsctl"
	log_mark
	out=$(timeout 20 setpriv --reuid=daemon --regid=nogroup --clear-groups -- \
	    "$RUNDIR/mtlsctl" -s "$QUERY_SOCK" reload 2>&1)
	rc=$?
	echo "as daemon:nogroup: mtlsctl reload -> $rc: $out"
	sleep 0.5
	if [ "$rc" -ne 0 ] && [ "$(log_count event=reload)" -eq 0 ] &&
	    printf '%s' "$out" | grep -qiE 'denied|not allowed|permission'; then
		pass reload_denied_other_uid
	else
		fail reload_denied_other_uid "uid daemon in the query group: exit $rc, $(log_count event=reload) reload line(s): $out"
	fi
	log_mark
	out=$(timeout 20 setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
	    "$RUNDIR/mtlsctl" -s "$QUERY_SOCK" reload 2>&1)
	rc=$?
	echo "as nobody:nogroup: mtlsctl reload -> $rc: $out"
	if [ "$rc" -eq 0 ] && printf '%s' "$out" | grep -qE '(^| )result="?ok"?( |$)'; then
		pass reload_allowed_daemon_uid
	else
		fail reload_allowed_daemon_uid "uid nobody (the daemon's): exit $rc: $out"
	fi
else
	skip reload_denied_other_uid "needs root to switch users"
	skip reload_allowed_daemon_uid "needs root to switch users"
fi
sclient_close alice
sclient_close bob

# ------------------------------------------------------------------------
# 100 SIGHUPs while 4 held sessions send a line every 50 ms and node
# clients move 2 MiB each, over and over
NLINES=200
LOAD_IDS=(l1 l2 l3 l4)
ok=yes
for k in 1 2 3 4; do
	who=alice
	[ $((k % 2)) -eq 0 ] && who=bob
	open_session "l$k" "$P_ECHO" "$who" || ok=no
done
if [ "$ok" = no ]; then
	fail storm_setup "the load sessions did not start"
	finish
fi
# ids of the sessions on listener echo, sorted
echo_ids() {
	timeout 20 "$MTLSCTL" -s "$QUERY_SOCK" --json sessions 2>/dev/null |
	    python3 -c '
import json, sys
ids = sorted(o["id"] for o in map(json.loads, filter(str.strip, sys.stdin))
             if o.get("listener") == "echo")
print(" ".join(ids))'
}
IDS_BEFORE=$(echo_ids)
echo "echo sessions before: $IDS_BEFORE"

WRITERS=()
for k in 1 2 3 4; do
	(
		for ((i = 1; i <= NLINES; i++)); do
			printf 'load%d-%d\n' "$k" "$i"
			sleep 0.05
		done
	) >"${SC_FIFO[l$k]}" &
	WRITERS+=("$!")
	track_pid "$!"
done
STOP=$RUNDIR/storm.stop
BULK=()
for j in 1 2; do
	(
		for ((n = 0; n < 50; n++)); do
			[ -e "$STOP" ] && break
			node_echo bob bob "$P_BULK" 2097152
			echo "rc=$?"
		done
	) >"$LOGDIR/bulk-$j.rc" 2>&1 &
	BULK+=("$!")
	track_pid "$!"
done

log_mark
STORM_MARK=$LOG_MARK
for ((i = 0; i < 100; i++)); do
	kill -HUP "$MTLSD_PID" 2>/dev/null || break
	sleep 0.1
done
echo "sent $i SIGHUPs"
touch "$STOP"
for pid in "${WRITERS[@]}"; do wait_gone "$pid" 30; done
for pid in "${BULK[@]}"; do wait_gone "$pid" 90; done

if [ "$i" -eq 100 ] && alive "$MTLSD_PID"; then
	pass storm_no_crash
else
	fail storm_no_crash "mtlsd died during the SIGHUP storm after $i signals: $(tail -n 5 "$MTLSD_LOG")"
	finish
fi
ctl stats
if [ "$CTL_RC" -eq 0 ]; then pass storm_stats_answer; else
	fail storm_stats_answer "mtlsctl stats after the storm: exit $CTL_RC: $CTL_OUT"
fi

# every line of every held session came back, in order
bad=
for k in 1 2 3 4; do
	sclient_wait "l$k" "load$k-$NLINES" 15
	want=$(for ((i = 1; i <= NLINES; i++)); do echo "load$k-$i"; done)
	got=$(grep "^load$k-" "${SC_OUT[l$k]}")
	if [ "$got" != "$want" ] || ! alive "${SC_PID[l$k]}"; then
		bad="$bad l$k($(printf '%s\n' "$got" | grep -c .)/$NLINES lines, alive=$(alive "${SC_PID[l$k]}" && echo yes || echo no))"
	fi
done
if [ -z "$bad" ]; then
	pass storm_sessions_echo_all
else
	fail storm_sessions_echo_all "held sessions lost data or were dropped:$bad"
fi
IDS_AFTER=$(echo_ids)
if [ -n "$IDS_BEFORE" ] && [ "$IDS_AFTER" = "$IDS_BEFORE" ]; then
	pass storm_sessions_same
else
	fail storm_sessions_same "echo sessions before: $IDS_BEFORE; after: $IDS_AFTER"
fi
runs=$(cat "$LOGDIR"/bulk-*.rc | grep -c '^rc=')
badruns=$(cat "$LOGDIR"/bulk-*.rc | grep '^rc=' | grep -vc '^rc=0$')
if [ "$runs" -ge 2 ] && [ "$badruns" -eq 0 ]; then
	pass storm_bulk_digests
else
	fail storm_bulk_digests "$runs node runs of 2 MiB, $badruns failed (see $LOGDIR/node_echo.out)"
fi
LOG_MARK=$STORM_MARK
nok=$(log_count event=reload result=ok)
nfail=$(log_count event=reload result=fail)
echo "storm: $nok reload ok, $nfail reload fail"
if [ "$nok" -ge 1 ] && [ "$nfail" -eq 0 ]; then
	pass storm_reload_ok_logged
else
	fail storm_reload_ok_logged "$nok event=reload result=ok and $nfail result=fail lines during the storm"
fi
nclose=$(log_count event=session_close listener=echo)
if [ "$nclose" -eq 0 ]; then
	pass storm_no_session_closed
else
	fail storm_no_session_closed "$nclose session_close line(s) on listener echo during the storm: $(log_find event=session_close listener=echo)"
fi
for id in "${LOAD_IDS[@]}"; do sclient_close "$id"; done

check_stop sigterm_clean_exit
finish
