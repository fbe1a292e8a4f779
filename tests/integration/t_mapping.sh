#!/bin/bash
# t_mapping.sh: certificate-to-account mapping in the running daemon.  A
# client whose certificate maps carries its accounts in mtlsctl sessions
# (text and --json) and in the handshake log line; one that maps to no
# account is refused after the handshake, logged with reason=no_mapping,
# its subject and serial, and never reaches the backend; with
# require_mapping = false it is let through without accounts.  mtlsd -t
# warns about unpinned rules on a listener that trusts several CAs (and
# only then), and reports bad rules with FILE:LINE and the rule name.
# shellcheck source=tests/integration/lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
require_built

P_MAP=$(free_port)
P_OPEN=$(free_port)
B_ECHO=$(free_port)

start_backend echo --echo --tcp "127.0.0.1:$B_ECHO" || finish

# alice has the SAN email alice@corp.example, bob has no email at all.
CORP_RULE='{ name = "by-email"; field = "san.email"; glob = "*@corp.example";
      account = "nobody"; }'
add_mapping corp "$CORP_RULE"
add_listener mapped "127.0.0.1:$P_MAP" "127.0.0.1:$B_ECHO" mapping='"corp"'
add_listener open "127.0.0.1:$P_OPEN" "127.0.0.1:$B_ECHO" mapping='"corp"' \
    require_mapping=false
write_conf "$LOGDIR/mtlsd.conf"
start_mtlsd "$LOGDIR/mtlsd.conf" || finish

ALICE_SERIAL=$(cat "$PKI/alice.serial")
ALICE_SUBJECT=$(cat "$PKI/alice.subject")
BOB_SERIAL=$(cat "$PKI/bob.serial")
BOB_SUBJECT=$(cat "$PKI/bob.subject")

# json_session SERIAL: from --json sessions on stdin, print the accounts
# list of the session with that serial as JSON (exit 1 when none).
json_session() {
	python3 -c '
import json, sys
serial = sys.argv[1]
for n, line in enumerate(sys.stdin, 1):
    line = line.strip()
    if not line:
        continue
    try:
        obj = json.loads(line)
    except ValueError as e:
        sys.exit("line %d is not JSON: %s" % (n, e))
    if isinstance(obj, dict) and obj.get("serial") == serial:
        print(json.dumps(obj.get("accounts", "MISSING")))
        sys.exit(0)
sys.exit("no session with serial %s" % serial)' "$1"
}

# --- (a) a mapped client: its accounts in sessions and in the log
log_mark
token="mapped-$RANDOM$RANDOM"
sclient_open alice "$P_MAP" -cert "$PKI/alice.crt" -key "$PKI/alice.key"
sclient_send alice "$token"
if sclient_wait alice "$token" 10; then
	pass mapped_client_reaches_backend
else
	fail mapped_client_reaches_backend "no echo for alice: $(tail -n 3 "${SC_OUT[alice]}.err" | tr '\n' ' ')"
fi
expect_event mapped_handshake_logs_accounts 5 event=handshake result=ok \
    listener=mapped "subject=$ALICE_SUBJECT" "serial=$ALICE_SERIAL" \
    accounts=nobody

ctl sessions
line=$(printf '%s\n' "$CTL_OUT" | grep -F "serial=$ALICE_SERIAL" | head -1)
if [ "$CTL_RC" -eq 0 ] &&
    printf '%s' "$line" | grep -qE '(^| )accounts="?nobody"?( |$)'; then
	pass sessions_shows_accounts
else
	fail sessions_shows_accounts "exit $CTL_RC; want accounts=nobody on alice's line: ${line:-no line with serial=$ALICE_SERIAL}"
fi

ctl --json sessions
if accounts=$(printf '%s\n' "$CTL_OUT" | json_session "$ALICE_SERIAL" 2>&1) &&
    [ "$CTL_RC" -eq 0 ] && [ "$accounts" = '["nobody"]' ]; then
	pass sessions_json_accounts
else
	fail sessions_json_accounts "exit $CTL_RC; want \"accounts\":[\"nobody\"], got: $accounts"
fi

# --- (b) an unmapped client is refused after the handshake and logged
before=$(backend_conns echo)
log_mark
token="unmapped-$RANDOM$RANDOM"
closed=yes
sclient_open bob "$P_MAP" -cert "$PKI/bob.crt" -key "$PKI/bob.key"
sclient_send bob "$token"
sclient_exited bob 10 || closed=no
sclient_close bob
after=$(backend_conns echo)
if line=$(wait_event 5 event=handshake result=fail reason=no_mapping \
    listener=mapped "subject=$BOB_SUBJECT" "serial=$BOB_SERIAL"); then
	echo "log: $line"
	if [ "$closed" = yes ]; then
		pass unmapped_refused_logged
	else
		fail unmapped_refused_logged "logged no_mapping but left the connection open for 10 s"
	fi
else
	line=$(log_find event=handshake "serial=$BOB_SERIAL")
	fail unmapped_refused_logged "want event=handshake result=fail reason=no_mapping with subject=$BOB_SUBJECT serial=$BOB_SERIAL; got: ${line:-nothing}"
fi
if [ "$before" = "$after" ] && ! grep -qF -- "$token" "${SC_OUT[bob]}"; then
	pass unmapped_no_backend
else
	fail unmapped_no_backend "backend connections $before -> $after; echoed: $(grep -cF -- "$token" "${SC_OUT[bob]}")"
fi
ctl sessions
if [ "$CTL_RC" -eq 0 ] && ! printf '%s' "$CTL_OUT" | grep -qF "serial=$BOB_SERIAL"; then
	pass unmapped_not_in_sessions
else
	fail unmapped_not_in_sessions "exit $CTL_RC; bob listed: $CTL_OUT"
fi
ctl stats
n=$(printf '%s\n' "$CTL_OUT" | grep -oE '(^|[ "])rejected_no_mapping[=:] *[0-9]+' |
    grep -oE '[0-9]+$' | head -1)
if [ "$CTL_RC" -eq 0 ] && [ "${n:-0}" -ge 1 ]; then
	pass stats_rejected_no_mapping
else
	fail stats_rejected_no_mapping "exit $CTL_RC; rejected_no_mapping=${n:-missing}: $CTL_OUT"
fi

# alice's session lived through bob's refusal
token="still-$RANDOM$RANDOM"
sclient_send alice "$token"
if sclient_wait alice "$token" 10 && alive "$MTLSD_PID"; then
	pass mapped_session_survives_refusal
else
	fail mapped_session_survives_refusal "no echo for alice after bob was refused"
fi
sclient_close alice

# --- require_mapping = false: bob passes, without accounts
token="open-$RANDOM$RANDOM"
sclient_open bobopen "$P_OPEN" -cert "$PKI/bob.crt" -key "$PKI/bob.key"
sclient_send bobopen "$token"
if sclient_wait bobopen "$token" 10; then
	ctl --json sessions
	accounts=$(printf '%s\n' "$CTL_OUT" | json_session "$BOB_SERIAL" 2>&1)
	if [ "$accounts" = '[]' ]; then
		pass require_mapping_false_no_accounts
	else
		fail require_mapping_false_no_accounts "want \"accounts\":[] for bob, got: $accounts"
	fi
else
	fail require_mapping_false_no_accounts "no echo for bob on a require_mapping = false listener: $(tail -n 3 "${SC_OUT[bobopen]}.err" | tr '\n' ' ')"
fi
sclient_close bobopen

check_stop sigterm_clean_exit

# --- (c) mtlsd -t warns about unpinned rules when client_ca holds 2 CAs
# conf_check NAME: run "mtlsd -t" on $LOGDIR/NAME.conf; CHECK_OUT, CHECK_RC.
conf_check() {
	CHECK_OUT=$(timeout 30 "$MTLSD" -t -c "$LOGDIR/$1.conf" 2>&1)
	CHECK_RC=$?
	printf 'mtlsd -t -c %s -> %s\n%s\n' "$LOGDIR/$1.conf" "$CHECK_RC" \
	    "$CHECK_OUT"
}

P_T=$(free_port)
add_mapping twoca '{ name = "unpinned-cn"; field = "subject.CN"; equals = "alice";
      account = "nobody"; }'
add_listener twoca "127.0.0.1:$P_T" "127.0.0.1:$B_ECHO" mapping='"twoca"' \
    "client_ca=\"$PKI/ca-both.pem\""
write_conf "$LOGDIR/unpinned.conf"
conf_check unpinned
warn=$(printf '%s\n' "$CHECK_OUT" | grep -i warn | grep -F unpinned-cn)
if [ "$CHECK_RC" -eq 0 ] && [ -n "$warn" ]; then
	pass check_warns_unpinned_rule
else
	fail check_warns_unpinned_rule "mtlsd -t exit $CHECK_RC (want 0 and a warning naming rule unpinned-cn): $CHECK_OUT"
fi

CA_PIN=$(cat "$PKI/ca.sha256")
add_mapping twoca "{ name = \"pinned-cn\"; field = \"subject.CN\"; equals = \"alice\";
      issuer = \"$CA_PIN\"; account = \"nobody\"; }"
add_listener twoca "127.0.0.1:$P_T" "127.0.0.1:$B_ECHO" mapping='"twoca"' \
    "client_ca=\"$PKI/ca-both.pem\""
write_conf "$LOGDIR/pinned.conf"
conf_check pinned
if [ "$CHECK_RC" -eq 0 ] && ! printf '%s\n' "$CHECK_OUT" | grep -qiE 'warn|pinned-cn'; then
	pass check_pinned_rule_no_warning
else
	fail check_pinned_rule_no_warning "mtlsd -t exit $CHECK_RC (want 0, no warning): $CHECK_OUT"
fi

# one CA only: nothing to confuse, no warning
add_mapping oneca '{ name = "unpinned-cn"; field = "subject.CN"; equals = "alice";
      account = "nobody"; }'
add_listener oneca "127.0.0.1:$P_T" "127.0.0.1:$B_ECHO" mapping='"oneca"'
write_conf "$LOGDIR/oneca.conf"
conf_check oneca
if [ "$CHECK_RC" -eq 0 ] && ! printf '%s\n' "$CHECK_OUT" | grep -qiE 'warn|unpinned-cn'; then
	pass check_one_ca_no_warning
else
	fail check_one_ca_no_warning "mtlsd -t exit $CHECK_RC (want 0, no warning): $CHECK_OUT"
fi

# --- (d) bad rules: mtlsd -t fails with FILE:LINE and the rule name
# bad_rule NAME RULE-NAME RULE-TEXT: RULE-TEXT on one line, so its line is
# the rule's line.
bad_rule() {
	local name=$1 rule=$2 text=$3 conf line
	conf=$LOGDIR/$name.conf
	add_mapping broken "$text"
	add_listener broken "127.0.0.1:$P_T" "127.0.0.1:$B_ECHO" \
	    mapping='"broken"'
	write_conf "$conf"
	line=$(grep -nF "name = \"$rule\"" "$conf" | cut -d: -f1)
	conf_check "$name"
	if [ "$CHECK_RC" -ne 0 ] &&
	    printf '%s\n' "$CHECK_OUT" | grep -F "$conf:$line:" | grep -qF "$rule"; then
		pass "$name"
	else
		fail "$name" "mtlsd -t exit $CHECK_RC (want non-zero and \"$conf:$line: ... $rule\"): $CHECK_OUT"
	fi
}
bad_rule check_bad_regex bad-re \
    '{ name = "bad-re"; field = "subject.CN"; regex = "(unclosed"; account = "nobody"; }'
bad_rule check_unknown_field bad-field \
    '{ name = "bad-field"; field = "subject.nosuch"; equals = "x"; account = "nobody"; }'
bad_rule check_missing_group bad-group \
    '{ name = "bad-group"; field = "subject.CN"; regex = "(a)lice"; account = "{2}"; }'

finish
