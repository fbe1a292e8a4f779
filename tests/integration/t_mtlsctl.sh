#!/bin/bash
# t_mtlsctl.sh: the live identity table as mtlsctl shows it (sessions,
# --json, whois by client and by upstream address, stats), that entries go
# when the client goes, who may ask (query socket group, per-connection
# ownership), and the privilege drop of the running daemon.
# shellcheck source=tests/integration/lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
require_built

P_WEB=$(free_port)
P_NOB=$(free_port)
B_ECHO=$(free_port)
B_NOB=$(free_port)
IS_ROOT=no
[ "$(id -u)" -eq 0 ] && IS_ROOT=yes

start_backend echo --echo --tcp "127.0.0.1:$B_ECHO" || finish
if [ "$IS_ROOT" = yes ]; then
	# A backend that runs as nobody, like a service whose PAM stack asks
	# mtlsd about its own connections.
	start_backend_as nobody nogroup nobody --echo --tcp "127.0.0.1:$B_NOB"
	# mtlsctl as other users: a copy, the tree may sit where they
	# cannot read (/root).
	cp "$MTLSCTL" "$RUNDIR/mtlsctl"
	chmod 755 "$RUNDIR/mtlsctl"
fi
add_listener web "127.0.0.1:$P_WEB" "127.0.0.1:$B_ECHO"
add_listener nob "127.0.0.1:$P_NOB" "127.0.0.1:$B_NOB"
write_conf "$LOGDIR/mtlsd.conf"
start_mtlsd "$LOGDIR/mtlsd.conf" || finish

ALICE_SUBJECT=$(cat "$PKI/alice.subject")
ALICE_SERIAL=$(cat "$PKI/alice.serial")
ALICE_SHA256=$(openssl x509 -in "$PKI/alice.crt" -noout -fingerprint -sha256 |
    sed 's/^.*=//')
BOB_SERIAL=$(cat "$PKI/bob.serial")

# --- a live session with alice
token="live-$RANDOM$RANDOM"
sclient_open alice "$P_WEB" -cert "$PKI/alice.crt" -key "$PKI/alice.key"
sclient_send alice "$token"
if ! sclient_wait alice "$token" 10; then
	fail alice_session "s_client with alice got no echo: $(tail -n 3 "${SC_OUT[alice]}.err")"
	finish
fi
# the client's own address, as the kernel sees it (not from mtlsctl)
CLIENT=$(ss -tnpH state established "( dport = :$P_WEB )" 2>/dev/null |
    awk '/openssl/ { print $3; exit }')
echo "s_client address: $CLIENT"

# --- sessions (human)
ctl sessions
line=$(printf '%s\n' "$CTL_OUT" | grep -F "serial=$ALICE_SERIAL" | head -1)
if [ "$CTL_RC" -eq 0 ] && [ -n "$line" ] &&
    printf '%s' "$line" | grep -qF "$ALICE_SUBJECT" &&
    printf '%s' "$line" | grep -qE '(^| )listener="?web"?( |$)'; then
	pass sessions_shows_alice
else
	fail sessions_shows_alice "exit $CTL_RC; want a line with serial=$ALICE_SERIAL and $ALICE_SUBJECT: $CTL_OUT"
fi
if [ -n "$CLIENT" ] && printf '%s' "$line" | grep -qE "(^| )client=\"?$CLIENT\"?( |$)"; then
	pass sessions_client_address
else
	fail sessions_client_address "want client=$CLIENT in: $line"
fi

# --- sessions --json
ctl --json sessions
json=$CTL_OUT
UPSTREAM_LOCAL=$(printf '%s\n' "$json" | python3 -c '
import json, sys
serial, subject, sha = sys.argv[1:4]
found = None
for n, line in enumerate(sys.stdin, 1):
    line = line.strip()
    if not line:
        continue
    try:
        obj = json.loads(line)
    except ValueError as e:
        sys.exit("line %d is not JSON: %s" % (n, e))
    if not isinstance(obj, dict):
        sys.exit("line %d is not an object" % n)
    if obj.get("serial") == serial:
        found = obj
if found is None:
    sys.exit("no session with serial %s" % serial)
print(found.get("upstream_local", ""))
for key in ("subject", "serial", "sha256", "client", "upstream_local",
            "issuer", "listener"):
    if key not in found:
        sys.exit("field %s missing" % key)
if found["subject"] != subject:
    sys.exit("subject %r != %r" % (found["subject"], subject))
if found["sha256"].upper() != sha.upper():
    sys.exit("sha256 %s != %s" % (found["sha256"], sha))
' "$ALICE_SERIAL" "$ALICE_SUBJECT" "$ALICE_SHA256" 2>"$LOGDIR/json-check.err")
rc=$?
if [ "$CTL_RC" -eq 0 ] && [ "$rc" -eq 0 ]; then
	pass sessions_json
else
	fail sessions_json "mtlsctl exit $CTL_RC; check: $(cat "$LOGDIR/json-check.err")"
fi

# --- whois by client address and by upstream source address
if [ -n "$CLIENT" ]; then
	ctl whois "$CLIENT"
	if [ "$CTL_RC" -eq 0 ] && printf '%s' "$CTL_OUT" | grep -qF "serial=$ALICE_SERIAL"; then
		pass whois_client
	else
		fail whois_client "whois $CLIENT: exit $CTL_RC: $CTL_OUT"
	fi
else
	fail whois_client "could not find the s_client connection with ss"
fi
if [ -n "$UPSTREAM_LOCAL" ]; then
	ctl whois "$UPSTREAM_LOCAL"
	if [ "$CTL_RC" -eq 0 ] && printf '%s' "$CTL_OUT" | grep -qF "serial=$ALICE_SERIAL"; then
		pass whois_upstream_local
	else
		fail whois_upstream_local "whois $UPSTREAM_LOCAL: exit $CTL_RC: $CTL_OUT"
	fi
else
	fail whois_upstream_local "no upstream_local from --json sessions"
fi
ctl whois 127.0.0.1:1
if [ "$CTL_RC" -eq 1 ]; then
	pass whois_not_found
else
	fail whois_not_found "whois 127.0.0.1:1: exit $CTL_RC (want 1): $CTL_OUT"
fi

# --- who may ask
# asuser USER GROUP ARGS...: the copied mtlsctl as another user.
asuser() {
	local u=$1 g=$2
	shift 2
	AS_OUT=$(timeout 20 setpriv --reuid="$u" --regid="$g" --clear-groups -- \
	    "$RUNDIR/mtlsctl" -s "$QUERY_SOCK" "$@" 2>&1)
	AS_RC=$?
	printf 'as %s: mtlsctl %s -> %s\n%s\n' "$u" "$*" "$AS_RC" "$AS_OUT"
}
if [ "$IS_ROOT" = yes ]; then
	asuser daemon daemon sessions
	if [ "$AS_RC" -eq 2 ] && printf '%s' "$AS_OUT" | grep -qi 'access denied'; then
		pass query_denied_outside_group
	else
		fail query_denied_outside_group "user daemon: exit $AS_RC (want 2, access denied): $AS_OUT"
	fi

	asuser nobody nogroup sessions
	if [ "$AS_RC" -eq 0 ] && ! printf '%s' "$AS_OUT" | grep -qF "$ALICE_SERIAL"; then
		pass query_group_member_allowed_filtered
	else
		fail query_group_member_allowed_filtered "user nobody: exit $AS_RC (want 0 and no session of a root backend): $AS_OUT"
	fi
	if [ -n "$CLIENT" ]; then
		asuser nobody nogroup whois "$CLIENT"
		if [ "$AS_RC" -eq 1 ]; then
			pass whois_other_owner_not_found
		else
			fail whois_other_owner_not_found "nobody whois $CLIENT (root's backend): exit $AS_RC (want 1): $AS_OUT"
		fi
		ctl whois "$CLIENT"
		if [ "$CTL_RC" -eq 0 ]; then
			pass whois_root_sees_all
		else
			fail whois_root_sees_all "root whois $CLIENT: exit $CTL_RC"
		fi
	fi

	# the owner of the backend end does see its own session
	if [ -n "${BACKEND_PID[nobody]:-}" ]; then
		token="nob-$RANDOM$RANDOM"
		sclient_open bob "$P_NOB" -cert "$PKI/bob.crt" -key "$PKI/bob.key"
		sclient_send bob "$token"
		if sclient_wait bob "$token" 10; then
			BOB_CLIENT=$(ss -tnpH state established "( dport = :$P_NOB )" |
			    awk '/openssl/ { print $3; exit }')
			asuser nobody nogroup sessions
			ok=yes
			printf '%s' "$AS_OUT" | grep -qF "serial=$BOB_SERIAL" || ok=no
			[ "$AS_RC" -eq 0 ] || ok=no
			asuser nobody nogroup whois "$BOB_CLIENT"
			[ "$AS_RC" -eq 0 ] || ok=no
			printf '%s' "$AS_OUT" | grep -qF "serial=$BOB_SERIAL" || ok=no
			if [ "$ok" = yes ]; then
				pass query_owner_sees_own_session
			else
				fail query_owner_sees_own_session "nobody (owner of the backend end) does not see bob's session $BOB_CLIENT"
			fi
		else
			fail query_owner_sees_own_session "s_client with bob to the nobody backend got no echo"
		fi
		sclient_close bob
	fi
else
	skip query_denied_outside_group "needs root to switch users"
	skip query_group_member_allowed_filtered "needs root to switch users"
	skip whois_other_owner_not_found "needs root to switch users"
	skip query_owner_sees_own_session "needs root to switch users"
fi

# --- the entry goes with the client
sclient_close alice
gone=no
for ((i = 0; i < 50; i++)); do
	out=$(timeout 10 "$MTLSCTL" -s "$QUERY_SOCK" sessions 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ] && ! printf '%s' "$out" | grep -qF "serial=$ALICE_SERIAL"; then
		gone=yes
		break
	fi
	sleep 0.1
done
if [ "$gone" = yes ]; then
	pass session_gone_after_disconnect
else
	fail session_gone_after_disconnect "alice's session still listed 5 s after the client left: $out"
fi
if [ -n "$CLIENT" ]; then
	ctl whois "$CLIENT"
	if [ "$CTL_RC" -eq 1 ]; then
		pass whois_gone_after_disconnect
	else
		fail whois_gone_after_disconnect "whois $CLIENT after disconnect: exit $CTL_RC (want 1)"
	fi
fi

# --- stats, after one accepted and one unknown-CA handshake
log_mark
sclient_open untrusted "$P_WEB" -cert "$PKI/untrusted.crt" -key "$PKI/untrusted.key"
sclient_send untrusted "x"
sclient_exited untrusted 10
sclient_close untrusted
wait_event 5 event=handshake result=fail reason=unknown_ca >/dev/null
ctl stats
ok=$(printf '%s\n' "$CTL_OUT" | grep -oE '(^|[ "])handshakes_ok[=:] *[0-9]+' | grep -oE '[0-9]+$' | head -1)
bad=$(printf '%s\n' "$CTL_OUT" | grep -oE '(^|[ "])rejected_unknown_ca[=:] *[0-9]+' | grep -oE '[0-9]+$' | head -1)
if [ "$CTL_RC" -eq 0 ] && [ "${ok:-0}" -gt 0 ] && [ "${bad:-0}" -gt 0 ]; then
	pass stats_counters
else
	fail stats_counters "exit $CTL_RC; handshakes_ok=${ok:-missing} rejected_unknown_ca=${bad:-missing}: $CTL_OUT"
fi
ctl --json stats
if [ "$CTL_RC" -eq 0 ] && printf '%s\n' "$CTL_OUT" | python3 -c '
import json, sys
objs = [json.loads(l) for l in sys.stdin if l.strip()]
assert objs and all(isinstance(o, dict) for o in objs)
merged = {}
for o in objs:
    merged.update(o)
assert int(merged["handshakes_ok"]) > 0
assert int(merged["rejected_unknown_ca"]) > 0
'; then
	pass stats_json
else
	fail stats_json "exit $CTL_RC: $CTL_OUT"
fi

# --- privileges of the running daemon (every thread)
if [ "$IS_ROOT" = yes ]; then
	NOBODY_UID=$(id -u nobody)
	NOGROUP_GID=$(getent group nogroup | cut -d: -f3)
	bad=
	ntasks=0
	for st in /proc/"$MTLSD_PID"/task/*/status; do
		ntasks=$((ntasks + 1))
		u=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "$st")
		g=$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "$st")
		grp=$(awk '/^Groups:/ { $1 = ""; print }' "$st" | tr -d ' ')
		[ "$u" = "$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID" ] || bad="$bad $st Uid=$u"
		[ "$g" = "$NOGROUP_GID $NOGROUP_GID $NOGROUP_GID $NOGROUP_GID" ] || bad="$bad $st Gid=$g"
		[ -z "$grp" ] || [ "$grp" = "$NOGROUP_GID" ] || bad="$bad $st Groups=$grp"
	done
	if [ "$ntasks" -gt 0 ] && [ -z "$bad" ]; then
		pass privdrop_uid_gid
	else
		fail privdrop_uid_gid "tasks=$ntasks;$bad"
	fi
	bad=
	for st in /proc/"$MTLSD_PID"/task/*/status; do
		nnp=$(awk '/^NoNewPrivs:/ { print $2 }' "$st")
		cap=$(awk '/^CapEff:/ { print $2 }' "$st")
		[ "$nnp" = 1 ] || bad="$bad $st NoNewPrivs=$nnp"
		[ "$cap" = 0000000000000000 ] || bad="$bad $st CapEff=$cap"
	done
	if [ -z "$bad" ]; then
		pass privdrop_no_new_privs
	else
		fail privdrop_no_new_privs "$bad"
	fi
else
	skip privdrop_uid_gid "needs root to switch users"
	skip privdrop_no_new_privs "needs root to switch users"
fi

check_stop sigterm_clean_exit
finish
