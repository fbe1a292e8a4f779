#!/bin/bash
# t_responder.sh: a listener with responder = true answers HTTP/1.1 itself
# (issue 6, the HTTPS identity responder; mtlsd/responder.c).
#
# (a) curl (text and JSON), openssl s_client (a request typed into it) and
#     node's https client get alice's identity: subject, serial and sha256
#     equal to the PKI files and openssl's fingerprint; HEAD and /healthz.
# (b) the bad-request matrix over tests/integration/httpraw.py (a raw
#     HTTP-over-TLS client with the client certificate): 400, 404, 405 with
#     Allow, 413, 414, 431, each closing the connection.
# (c) keep-alive: two requests on one connection, the 100-request limit,
#     Connection: close, a slow sender closed at handshake_timeout, an idle
#     connection closed at idle_timeout.
# (d) a client without a certificate is refused at the handshake.
# (e) headless Chromium with a PKCS#12: only when chromium is installed.
# shellcheck source=tests/integration/lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
require_built

HS_TIMEOUT=2
IDLE_TIMEOUT=5
P=$(free_port)

ALICE_SUBJECT=$(cat "$PKI/alice.subject")
ALICE_SERIAL=$(cat "$PKI/alice.serial")
ALICE_SHA256=$(openssl x509 -in "$PKI/alice.crt" -noout -fingerprint -sha256 |
    sed 's/^.*=//')

add_responder resp "127.0.0.1:$P" handshake_timeout=$HS_TIMEOUT \
    idle_timeout=$IDLE_TIMEOUT
write_conf "$LOGDIR/mtlsd.conf"
if ! grep -q 'responder = true;' "$LOGDIR/mtlsd.conf" ||
    grep -q 'upstream' "$LOGDIR/mtlsd.conf"; then
	fail "conf" "add_responder wrote: $(cat "$LOGDIR/mtlsd.conf")"
fi
start_mtlsd "$LOGDIR/mtlsd.conf" || finish
pass "start"

# raw MODE [ARGS...]: httpraw.py as alice to the responder, stdin passed on;
# JSON result on stdout, also appended to $LOGDIR/httpraw.out.
raw() {
	local mode=$1 out
	shift
	out=$(timeout 150 python3 "$TESTS/httpraw.py" "$mode" 127.0.0.1 "$P" \
	    "$PKI/ca.crt" "$PKI/alice.crt" "$PKI/alice.key" "$@")
	printf '%s %s\n%s\n' "$mode" "$*" "$out" >>"$LOGDIR/httpraw.out"
	printf '%s\n' "$out"
}

# jq_py JSON EXPR: print the Python expression EXPR over the object j.
jq_py() {
	python3 -c '
import json, sys
j = json.loads(sys.argv[1])
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2"
}

# ------------------------------------------------------------ (a) clients

# curl, text
out=$(curl_cert alice "$P" 2>&1)
echo "$out" >"$LOGDIR/curl-text.out"
if printf '%s\n' "$out" | grep -qxF "subject: $ALICE_SUBJECT" &&
    printf '%s\n' "$out" | grep -qxF "serial: $ALICE_SERIAL" &&
    printf '%s\n' "$out" | grep -qxF "sha256: $ALICE_SHA256" &&
    printf '%s\n' "$out" | grep -qxF "accounts: nobody"; then
	pass "curl_text"
else
	fail "curl_text" "want subject: $ALICE_SUBJECT, serial: $ALICE_SERIAL, sha256: $ALICE_SHA256, accounts: nobody; got: $out"
fi

# check_json NAME JSON: the identity object is alice's
check_json() {
	local name=$1 js=$2 why
	if why=$(python3 -c '
import json, sys
j = json.loads(sys.argv[1])
want = {"subject": sys.argv[2], "serial": sys.argv[3], "sha256": sys.argv[4],
        "accounts": ["nobody"], "listener": "resp"}
bad = ["%s=%r (want %r)" % (k, j.get(k), v) for k, v in want.items()
       if j.get(k) != v]
for k in ("issuer", "not_before", "not_after", "tls_version", "cipher"):
    if not isinstance(j.get(k), str) or not j.get(k):
        bad.append("%s=%r" % (k, j.get(k)))
for k in ("san_email", "san_dns", "san_uri"):
    if not isinstance(j.get(k), list):
        bad.append("%s=%r" % (k, j.get(k)))
if not j.get("tls_version", "").startswith("TLS"):
    bad.append("tls_version=%r" % j.get("tls_version"))
print("; ".join(bad))
sys.exit(1 if bad else 0)' "$js" "$ALICE_SUBJECT" "$ALICE_SERIAL" \
	    "$ALICE_SHA256" 2>&1); then
		pass "$name"
	else
		fail "$name" "$why; body: $js"
	fi
}

# curl, JSON (and its Content-Type)
out=$(curl_cert alice "$P" -H 'Accept: application/json' \
    -D "$LOGDIR/curl-json.headers" 2>&1)
echo "$out" >"$LOGDIR/curl-json.out"
check_json "curl_json" "$out"
if grep -qi '^content-type: application/json' "$LOGDIR/curl-json.headers"; then
	pass "curl_json_content_type"
else
	fail "curl_json_content_type" "headers: $(cat "$LOGDIR/curl-json.headers")"
fi
out=$(openssl x509 -in "$PKI/alice.crt" -noout -issuer -nameopt RFC2253 |
    sed 's/^issuer=//')
js=$(cat "$LOGDIR/curl-json.out")
if [ "$(jq_py "$js" 'j["issuer"]' 2>/dev/null)" = "$out" ]; then
	pass "json_issuer"
else
	fail "json_issuer" "want issuer $out; body: $js"
fi

# HEAD: the headers of GET /, no body
out=$(curl -sS --max-time 15 --cacert "$PKI/ca.crt" --cert "$PKI/alice.crt" \
    --key "$PKI/alice.key" --resolve "localhost:$P:127.0.0.1" -I \
    -o /dev/null -w '%{http_code} %{size_download}' "https://localhost:$P/" 2>&1)
if [ "$out" = "200 0" ]; then
	pass "curl_head"
else
	fail "curl_head" "want \"200 0\" (status, body size); got: $out"
fi

# GET /healthz
out=$(curl -sS --max-time 15 --cacert "$PKI/ca.crt" --cert "$PKI/alice.crt" \
    --key "$PKI/alice.key" --resolve "localhost:$P:127.0.0.1" \
    -w '%{http_code}' "https://localhost:$P/healthz" 2>&1)
if [ "$out" = $'ok\n200' ]; then
	pass "curl_healthz"
else
	fail "curl_healthz" "want \"ok\\n\" and 200; got: $out"
fi

# openssl s_client: a request typed in (-crlf: the lines end in CRLF)
sclient_open typed "$P" -cert "$PKI/alice.crt" -key "$PKI/alice.key" -crlf
sclient_send typed "GET / HTTP/1.1"
sclient_send typed "Host: localhost"
sclient_send typed "Connection: close"
sclient_send typed ""
if sclient_wait typed "subject: $ALICE_SUBJECT" 10 &&
    sclient_wait typed "sha256: $ALICE_SHA256" 2 &&
    grep -q '^HTTP/1.1 200 OK' "${SC_OUT[typed]}" &&
    sclient_exited typed 5; then
	pass "sclient_typed"
else
	fail "sclient_typed" "want 200 with alice's identity and a close; got: $(head -c 600 "${SC_OUT[typed]}") / $(tail -n 3 "${SC_OUT[typed]}.err")"
fi
sclient_close typed

# node's https client, JSON
out=$(timeout 30 node "$TESTS/https_identity.js" 127.0.0.1 "$P" \
    "$PKI/ca.crt" "$PKI/alice.crt" "$PKI/alice.key" 2>&1)
rc=$?
echo "$out" >"$LOGDIR/node.out"
if [ "$rc" -eq 0 ]; then
	check_json "node_json" "$out"
else
	fail "node_json" "node exit $rc: $out"
fi

# -------------------------------------------------- (b) bad-request matrix

# expect_status NAME STATUS [WANT_ALLOW]: stdin is the request; the one
# answer has STATUS, says Connection: close, and the server closed.
expect_status() {
	local name=$1 want=$2 allow=${3:-} res why
	res=$(raw raw 10)
	if why=$(python3 -c '
import json, sys
j = json.loads(sys.argv[1])
want, allow = int(sys.argv[2]), sys.argv[3]
r = j["responses"]
bad = []
if j["error"]:
    bad.append("error " + j["error"])
if len(r) != 1:
    bad.append("%d answers (want 1)" % len(r))
else:
    if r[0]["status"] != want:
        bad.append("status line %r (want %d)" % (r[0]["status_line"], want))
    if r[0]["headers"].get("connection", "").lower() != "close":
        bad.append("Connection: %r" % r[0]["headers"].get("connection"))
    if allow and r[0]["headers"].get("allow") != allow:
        bad.append("Allow: %r (want %r)" % (r[0]["headers"].get("allow"), allow))
if not j["closed"]:
    bad.append("connection not closed within 10 s")
elif j["elapsed"] > 1.5:
    bad.append("closed only after %.2f s" % j["elapsed"])
print("; ".join(bad))
sys.exit(1 if bad else 0)' "$res" "$want" "$allow" 2>&1); then
		pass "$name"
	else
		fail "$name" "$why; result: $(printf '%s' "$res" | cut -c1-300)"
	fi
}

H=$'Host: localhost\r\n'
printf 'GET/ HTTP/1.1\r\n%s\r\n' "$H" | expect_status bad_request_line 400
printf 'GET  / HTTP/1.1\r\n%s\r\n' "$H" | expect_status bad_double_space 400
printf 'get / HTTP/1.1\r\n%s\r\n' "$H" | expect_status bad_lowercase_method 400
printf 'GET /\r\n%s\r\n' "$H" | expect_status bad_missing_version 400
printf 'GET / HTTP/2.0\r\n%s\r\n' "$H" | expect_status bad_http2 400
printf 'GET / HTTP/1.1\n%s\r\n' "$H" | expect_status bad_lf_in_request 400
printf 'GET / HTTP/1.1\nHost: localhost\n\n' | expect_status bad_lf_only 400
printf 'GET / HTTP/1.1\r\n%sNoColonHere\r\n\r\n' "$H" |
    expect_status bad_header_no_colon 400
printf 'POST / HTTP/1.1\r\n%sTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' "$H" |
    expect_status bad_chunked 400
printf 'GET /nope HTTP/1.1\r\n%s\r\n' "$H" | expect_status unknown_path 404
printf 'GET /ticket HTTP/1.1\r\n%s\r\n' "$H" |
    expect_status get_ticket 405 "POST"
printf 'POST / HTTP/1.1\r\n%sContent-Length: 0\r\n\r\n' "$H" |
    expect_status post_root 405 "GET, HEAD"
printf 'DELETE /healthz HTTP/1.1\r\n%s\r\n' "$H" |
    expect_status delete_healthz 405 "GET, HEAD"
# 413: a 4097-byte body (4096 is allowed: that one is a 405 on POST /)
{
	printf 'POST / HTTP/1.1\r\n%sContent-Length: 4097\r\n\r\n' "$H"
	head -c 4097 /dev/zero | tr '\0' x
} | expect_status body_4097 413
{
	printf 'POST / HTTP/1.1\r\n%sContent-Length: 4096\r\n\r\n' "$H"
	head -c 4096 /dev/zero | tr '\0' x
} | expect_status body_4096 405 "GET, HEAD"
# 414: a 2049-byte target, and a long line without its end yet
{
	printf 'GET /'
	head -c 2048 /dev/zero | tr '\0' a
	printf ' HTTP/1.1\r\n%s\r\n' "$H"
} | expect_status target_2049 414
{
	printf 'GET /'
	head -c 3000 /dev/zero | tr '\0' a
} | expect_status target_unfinished 414
# 431: 8193+ bytes of headers (and a request line of 2047 bytes is fine)
{
	printf 'GET / HTTP/1.1\r\n%s' "$H"
	for i in $(seq 1 9); do
		printf 'X-Pad-%d: ' "$i"
		head -c 1000 /dev/zero | tr '\0' p
		printf '\r\n'
	done
	printf '\r\n'
} | expect_status headers_8193 431
{
	printf 'GET / HTTP/1.1\r\n%s' "$H"
	for i in $(seq 1 12); do
		printf 'X-Pad-%d: ' "$i"
		head -c 1000 /dev/zero | tr '\0' p
		printf '\r\n'
	done
} | expect_status headers_unfinished 431
# under the limits: 7 KiB of headers still answered 200
res=$({
	printf 'GET / HTTP/1.1\r\n%s' "$H"
	for i in $(seq 1 7); do
		printf 'X-Pad-%d: ' "$i"
		head -c 1000 /dev/zero | tr '\0' p
		printf '\r\n'
	done
	printf 'Connection: close\r\n\r\n'
} | raw raw 10)
if [ "$(jq_py "$res" '[r["status"] for r in j["responses"]]')" = "[200]" ]; then
	pass "headers_7k_ok"
else
	fail "headers_7k_ok" "want one 200; got: $(printf '%s' "$res" | cut -c1-300)"
fi

# ------------------------------------------------------- (c) connections

# two requests in one write, both answered, the connection kept
res=$(printf 'GET /healthz HTTP/1.1\r\n%s\r\nGET / HTTP/1.1\r\n%sAccept: application/json\r\n\r\n' "$H" "$H" |
    raw raw 3)
if [ "$(jq_py "$res" '[(r["status"], r["headers"].get("connection")) for r in j["responses"]] + [j["closed"]]')" = \
    '[[200, "keep-alive"], [200, "keep-alive"], false]' ]; then
	pass "keepalive_pipelined"
else
	fail "keepalive_pipelined" "want two 200 keep-alive answers, connection open; got: $(printf '%s' "$res" | cut -c1-400)"
fi

# two requests one after the other
res=$(raw seq 2 2)
if [ "$(jq_py "$res" '[(r["status"], r["body"]) for r in j["responses"]] + [j["closed"], j["error"]]')" = \
    '[[200, "ok\n"], [200, "ok\n"], false, null]' ]; then
	pass "keepalive_two"
else
	fail "keepalive_two" "got: $(printf '%s' "$res" | cut -c1-400)"
fi

# 100 requests: the 100th says Connection: close, then the server closes
res=$(raw seq 100 5)
if why=$(python3 -c '
import json, sys
j = json.loads(sys.argv[1])
r = j["responses"]
bad = []
if j["error"]:
    bad.append("error " + j["error"])
if len(r) != 100:
    bad.append("%d answers" % len(r))
else:
    ka = [i + 1 for i, x in enumerate(r[:99])
          if x["status"] != 200 or x["headers"].get("connection") != "keep-alive"]
    if ka:
        bad.append("answers %s not 200 keep-alive" % ka[:5])
    if r[99]["status"] != 200 or r[99]["headers"].get("connection") != "close":
        bad.append("100th: %r Connection: %r" % (r[99]["status_line"],
                   r[99]["headers"].get("connection")))
if not j["closed"]:
    bad.append("not closed after the 100th answer")
print("; ".join(bad))
sys.exit(1 if bad else 0)' "$res" 2>&1); then
	pass "keepalive_limit_100"
else
	fail "keepalive_limit_100" "$why"
fi

# Connection: close honoured (well before any timeout)
res=$(printf 'GET / HTTP/1.1\r\n%sConnection: close\r\n\r\n' "$H" | raw raw 10)
if [ "$(jq_py "$res" '[(r["status"], r["headers"].get("connection")) for r in j["responses"]] + [j["closed"], j["elapsed"] < 1.5]')" = \
    '[[200, "close"], true, true]' ]; then
	pass "connection_close"
else
	fail "connection_close" "want one 200 Connection: close and a prompt close; got: $(printf '%s' "$res" | cut -c1-400)"
fi
# HTTP/1.0 without keep-alive closes too
res=$(printf 'GET /healthz HTTP/1.0\r\n\r\n' | raw raw 10)
if [ "$(jq_py "$res" '[(r["status"], r["headers"].get("connection")) for r in j["responses"]] + [j["closed"], j["elapsed"] < 1.5]')" = \
    '[[200, "close"], true, true]' ]; then
	pass "http10_close"
else
	fail "http10_close" "got: $(printf '%s' "$res" | cut -c1-400)"
fi

# a slow sender: half a request line, then nothing: closed at
# handshake_timeout (2 s), not answered
log_mark
res=$(printf 'GET /hea' | raw stall 10)
if [ "$(jq_py "$res" '[len(j["responses"]), j["closed"], j["error"]]')" = '[0, true, null]' ] &&
    python3 -c 'import sys; e = float(sys.argv[1]); sys.exit(0 if 1.5 <= e <= 4.5 else 1)' \
    "$(jq_py "$res" 'j["elapsed"]')"; then
	pass "slow_sender"
else
	fail "slow_sender" "want a close without an answer after ~${HS_TIMEOUT} s; got: $res"
fi

# a request in two parts within the timeout is answered
res=$( { printf 'GET /healthz HTTP/1.1\r\n'; sleep 1
    printf 'Host: localhost\r\nConnection: close\r\n\r\n'; } |
    python3 -c '
import json, socket, ssl, sys, time
ctx = ssl.create_default_context(cafile=sys.argv[3])
ctx.load_cert_chain(sys.argv[4], sys.argv[5])
s = ctx.wrap_socket(socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10),
                    server_hostname="localhost")
s.sendall(sys.stdin.buffer.read(24))
time.sleep(1)
s.sendall(sys.stdin.buffer.read())
data = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    data += d
print(data.split(b"\r\n")[0].decode())' 127.0.0.1 "$P" "$PKI/ca.crt" \
    "$PKI/alice.crt" "$PKI/alice.key" 2>&1)
if [ "$res" = "HTTP/1.1 200 OK" ]; then
	pass "split_request"
else
	fail "split_request" "want HTTP/1.1 200 OK; got: $res"
fi

# an idle connection after an answer: closed at idle_timeout (5 s)
res=$(raw seq 1 15)
if [ "$(jq_py "$res" '[len(j["responses"]), j["closed"], j["error"]]')" = '[1, true, null]' ] &&
    python3 -c 'import sys; e = float(sys.argv[1]); sys.exit(0 if 4.0 <= e <= 8.0 else 1)' \
    "$(jq_py "$res" 'j["elapsed"]')"; then
	pass "idle_timeout"
else
	fail "idle_timeout" "want a close ~${IDLE_TIMEOUT} s after the answer; got: $res"
fi

# ------------------------------------------------------------ (d) no cert

log_mark
if out=$(curl_cert - "$P" 2>&1); then
	fail "no_cert" "curl without a certificate got an answer: $out"
elif line=$(wait_event 5 event=handshake result=fail reason=no_cert \
    listener=resp); then
	pass "no_cert"
else
	fail "no_cert" "want event=handshake result=fail reason=no_cert listener=resp; got: $(log_find event=handshake listener=resp)"
fi

# ------------------------------------------------------------ (e) chromium

if command -v chromium >/dev/null 2>&1; then
	skip "chromium" "chromium is installed but the PKCS#12/NSS case is not written"
else
	skip "chromium" "chromium not installed"
fi

check "mtlsd_alive" "mtlsd died: $(tail -n 5 "$MTLSD_LOG")" alive "$MTLSD_PID"
check_stop "stop"
finish
