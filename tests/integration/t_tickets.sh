#!/bin/bash
# t_tickets.sh: one-time tickets from the responder (POST /ticket) and
# their redemption through the query socket (MTLS/1 REDEEM): once only,
# never after ticket_ttl, never a forged or truncated one, and no ticket
# ever in the log; and pam_mtls's ticket option redeeming them.
# shellcheck source=tests/integration/lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
require_built

TTL=2
P=$(free_port)
PB=$(free_port)
add_responder tick "127.0.0.1:$P" ticket_ttl=$TTL
add_mapping nobob '{ name = "alice-only"; field = "subject.CN"; equals = "alice"; account = "nobody"; }'
add_responder nomap "127.0.0.1:$PB" mapping=\"nobob\" require_mapping=false
write_conf "$LOGDIR/mtlsd.conf"
start_mtlsd "$LOGDIR/mtlsd.conf" || finish

# ticket CERT [ARGS]: POST /ticket as that client; the body on stdout.
ticket() {
	local who=$1 port=${2:-$P}
	shift 2 2>/dev/null
	curl -sS --max-time 10 --cacert "$PKI/ca.crt" --cert "$PKI/$who.crt" \
	    --key "$PKI/$who.key" -X POST "$@" "https://localhost:$port/ticket"
}

# redeem TICKET: the query socket's answer, first line then record.
redeem() {
	python3 - "$QUERY_SOCK" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(("MTLS/1 REDEEM " + sys.argv[2] + "\n").encode())
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
sys.stdout.write(data.decode())
PY
}

T1=$(ticket alice)
if [[ $T1 =~ ^[A-Za-z0-9_-]{43}$ ]]; then
	pass issued
else
	fail issued "POST /ticket gave: $T1"
fi
A=$(redeem "$T1")
if printf '%s' "$A" | head -n 1 | grep -qx 'MTLS/1 OK 1' &&
    printf '%s' "$A" | grep -q 'accounts=nobody' &&
    printf '%s' "$A" | grep -qF "serial=$(cat "$PKI/alice.serial")"; then
	pass redeem_once
else
	fail redeem_once "first redemption: $A"
fi
A=$(redeem "$T1")
if printf '%s' "$A" | head -n 1 | grep -q '^MTLS/1 ERR not_found'; then
	pass redeem_twice_refused
else
	fail redeem_twice_refused "second redemption: $A"
fi

T2=$(ticket alice)
sleep $((TTL + 1))
A=$(redeem "$T2")
if printf '%s' "$A" | head -n 1 | grep -q '^MTLS/1 ERR not_found'; then
	pass expired_refused
else
	fail expired_refused "redeemed after ticket_ttl: $A"
fi

T3=$(ticket alice)
forged=${T3:0:42}A
[ "$forged" = "$T3" ] && forged=${T3:0:42}B
A=$(redeem "$forged")
B=$(redeem "${T3:0:20}")
if printf '%s' "$A" | head -n 1 | grep -q 'ERR not_found' &&
    printf '%s' "$B" | head -n 1 | grep -q 'ERR not_found'; then
	pass forged_truncated_refused
else
	fail forged_truncated_refused "forged: $A / truncated: $B"
fi
# ... and the real one still works after those attempts
A=$(redeem "$T3")
if printf '%s' "$A" | head -n 1 | grep -qx 'MTLS/1 OK 1'; then
	pass genuine_after_forgeries
else
	fail genuine_after_forgeries "$A"
fi

J=$(ticket alice "$P" -H 'Accept: application/json')
if printf '%s' "$J" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert len(d["ticket"]) == 43 and d["expires_in"] == '"$TTL"' and d["accounts"] == ["nobody"]
'; then
	pass issued_json
else
	fail issued_json "$J"
fi

# bob maps to nothing on "nomap": no ticket for him.
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 \
    --cacert "$PKI/ca.crt" --cert "$PKI/bob.crt" --key "$PKI/bob.key" \
    -X POST "https://localhost:$PB/ticket")
if [ "$code" = 403 ]; then
	pass unmapped_refused
else
	fail unmapped_refused "bob got HTTP $code"
fi

# No ticket ever reaches the log; their ids do.
leaked=no
for t in "$T1" "$T2" "$T3"; do
	grep -qF -- "$t" "$MTLSD_LOG" && leaked=yes
done
if [ "$leaked" = no ] && grep -q 'event=ticket result=issued .*ticket_id=' \
    "$MTLSD_LOG" && grep -q 'lookup=redeem ticket_id=' "$MTLSD_LOG"; then
	pass never_logged
else
	fail never_logged "a ticket appears in $MTLSD_LOG, or no ticket_id lines"
fi

# pam_mtls's ticket option, through pamtester under pam_wrapper: the
# module prompts "mTLS ticket: " and mtlsd uses the ticket up.
SVC=$RUNDIR/pam.d
mkdir -p "$SVC"
duid=
[ "$(id -u)" -ne 0 ] && duid="daemon_uid=$(id -u)"
MOD=$MTLS_TOP/pam_mtls/pam_mtls.so
echo "auth required $MOD ticket socket=$QUERY_SOCK $duid" >"$SVC/mtls-ticket"
echo "auth required $MOD ticket use_first_pass socket=$QUERY_SOCK $duid" \
    >"$SVC/mtls-ticket-ufp"
echo "auth required $MOD use_first_pass socket=$QUERY_SOCK $duid" \
    >"$SVC/mtls-badargs"
# pam USER SERVICE (ticket on stdin): pamtester's last line
pam() {
	PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$SVC \
	    LD_PRELOAD=$(ldconfig -p | awk '/libpam_wrapper\.so/ { print $NF; exit }') \
	    timeout 20 pamtester "$2" "$1" authenticate 2>&1 | tail -n 1
}
if command -v pamtester >/dev/null 2>&1; then
	T=$(ticket alice)
	r1=$(printf '%s\n' "$T" | pam nobody mtls-ticket)
	r2=$(printf '%s\n' "$T" | pam nobody mtls-ticket)
	case $r1 in
	*"successfully authenticated"*) pass pam_ticket_success ;;
	*) fail pam_ticket_success "pamtester: $r1" ;;
	esac
	case $r2 in
	*"successfully authenticated"*) fail pam_ticket_single_use "$r2" ;;
	*"Authentication failure"*) pass pam_ticket_single_use ;;
	*) fail pam_ticket_single_use "pamtester: $r2" ;;
	esac
	T=$(ticket alice)
	r=$(printf '%s\n' "$T" | pam daemon mtls-ticket)
	case $r in
	*"successfully authenticated"*) fail pam_ticket_other_user "$r" ;;
	*"Authentication failure"*) pass pam_ticket_other_user ;;
	*) fail pam_ticket_other_user "pamtester: $r" ;;
	esac
	r=$(printf '%s\n' "${T:0:42}x" | pam nobody mtls-ticket)
	r3=$(printf '%s\n' "not a ticket!" | pam nobody mtls-ticket)
	case "$r|$r3" in
	*"successfully authenticated"*) fail pam_ticket_forged "$r / $r3" ;;
	*"Authentication failure"*"|"*"Authentication failure"*)
		pass pam_ticket_forged ;;
	*) fail pam_ticket_forged "pamtester: $r / $r3" ;;
	esac
	r=$(printf '%s\n' "$T" | pam nobody mtls-ticket-ufp)
	case $r in
	*"successfully authenticated"*) fail pam_use_first_pass_without_token "$r" ;;
	*"Authentication failure"*) pass pam_use_first_pass_without_token ;;
	*) fail pam_use_first_pass_without_token "pamtester: $r" ;;
	esac
	r=$(printf '%s\n' "$T" | pam nobody mtls-badargs)
	case $r in
	*"successfully authenticated"*) fail pam_pass_option_needs_ticket "$r" ;;
	*"error"*|*"Error"*|*"failure"*) pass pam_pass_option_needs_ticket ;;
	*) fail pam_pass_option_needs_ticket "pamtester: $r" ;;
	esac
	if grep -qF -- "$T" "$MTLSD_LOG"; then
		fail pam_ticket_never_logged "the ticket appears in $MTLSD_LOG"
	else
		pass pam_ticket_never_logged
	fi
else
	for n in pam_ticket_success pam_ticket_single_use pam_ticket_other_user \
	    pam_ticket_forged pam_use_first_pass_without_token \
	    pam_pass_option_needs_ticket pam_ticket_never_logged; do
		skip "$n" "pamtester not installed"
	done
fi

check_stop stop
finish
