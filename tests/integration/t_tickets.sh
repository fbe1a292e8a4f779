#!/bin/bash
# t_tickets.sh: one-time tickets from the responder (POST /ticket) and
# their redemption through the query socket (MTLS/1 REDEEM): once only,
# never after ticket_ttl, never a forged or truncated one, and no ticket
# ever in the log.  (pam_mtls's side of tickets comes with its own tests.)
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

check_stop stop
finish
