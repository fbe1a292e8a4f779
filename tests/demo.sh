#!/bin/bash
# demo.sh: a loopback walk-through of mtlsd, run by "make demo".
#
# Makes a throwaway PKI, starts a small HTTP backend and mtlsd in front of
# it, and shows: curl with a trusted client certificate reaching the
# backend, curl without a certificate and with an untrusted one being
# refused (with mtlsd's audit lines), and "mtlsctl sessions" showing the
# verified identity of a live connection.  Stops everything it started;
# exits 0 only when every step behaved as expected.
set -u

DEMO_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mtls-demo.XXXXXX") || exit 2
chmod 755 "$DEMO_TMP"
export MTLS_OUT=$DEMO_TMP/out
export MTLS_TEST_PKI=$DEMO_TMP/pki
export MTLS_RESULTS=$DEMO_TMP/results
MTLS_TOP=$(cd "$(dirname "$0")/.." && pwd)
export MTLS_TOP

if ! python3 "$MTLS_TOP/tests/pki/mkpki.py" "$MTLS_TEST_PKI"; then
	echo "demo: could not make the demo PKI (python3-cryptography missing?)" >&2
	rm -rf "$DEMO_TMP"
	exit 1
fi

# shellcheck source=tests/integration/lib.sh
. "$MTLS_TOP/tests/integration/lib.sh" >/dev/null
trap '_cleanup; rm -rf "$DEMO_TMP"' EXIT

BAD=0
header() {
	printf '\n==== %s\n' "$*"
}
cmd() {
	printf '$ %s\n' "$*"
}
ok() {
	printf '  -> ok: %s\n' "$*"
}
bad() {
	printf '  -> UNEXPECTED: %s\n' "$*"
	BAD=$((BAD + 1))
}
indent() {
	sed 's/^/    /'
}

if [ ! -x "$MTLSD" ] || [ ! -x "$MTLSCTL" ]; then
	echo "demo: build first (make): $MTLSD, $MTLSCTL" >&2
	exit 1
fi

header "1. A throwaway test PKI (ECDSA P-256) in $MTLS_TEST_PKI"
echo "  root CA:  $(openssl x509 -in "$PKI/ca.crt" -noout -subject)"
echo "  server:   $(openssl x509 -in "$PKI/server.crt" -noout -subject) (localhost, 127.0.0.1, ::1)"
echo "  clients:  alice ($(cat "$PKI/alice.subject")), bob ($(cat "$PKI/bob.subject"))"
echo "  untrusted: a client certificate from a CA mtlsd does not trust"

P_WEB=$(free_port)
B_HTTP=$(free_port)
header "2. A plaintext HTTP backend on 127.0.0.1:$B_HTTP, mtlsd on 127.0.0.1:$P_WEB"
start_backend http --http --tcp "127.0.0.1:$B_HTTP" >/dev/null || exit 1
add_listener web "127.0.0.1:$P_WEB" "127.0.0.1:$B_HTTP"
write_conf "$DEMO_TMP/mtlsd.conf"
echo "  configuration ($DEMO_TMP/mtlsd.conf):"
indent <"$DEMO_TMP/mtlsd.conf"
cmd "mtlsd -f -d -c $DEMO_TMP/mtlsd.conf"
if start_mtlsd "$DEMO_TMP/mtlsd.conf" >/dev/null; then
	log_find event=ready | indent
	ok "mtlsd is ready"
else
	bad "mtlsd did not start:"
	tail -n 20 "$MTLSD_LOG" 2>/dev/null | indent
	exit 1
fi

header "3. curl with alice's certificate reaches the backend"
cmd "curl --cacert ca.crt --cert alice.crt --key alice.key https://localhost:$P_WEB/"
log_mark
out=$(curl_cert alice "$P_WEB" 2>&1)
echo "$out" | indent
if [ "$out" = "hello from backend" ]; then
	ok "the backend answered through mtlsd"
else
	bad "expected the backend's greeting"
fi
if line=$(wait_event 5 event=handshake result=ok); then
	echo "  mtlsd audit log:"
	echo "$line" | indent
else
	bad "no event=handshake result=ok in the log"
fi

header "4. curl without a client certificate is refused"
cmd "curl --cacert ca.crt https://localhost:$P_WEB/"
log_mark
out=$(curl_cert - "$P_WEB" 2>&1)
rc=$?
echo "$out" | indent
if [ "$rc" -ne 0 ] && ! echo "$out" | grep -q hello; then
	ok "curl failed (exit $rc)"
else
	bad "curl got through without a certificate"
fi
if line=$(wait_event 5 event=handshake result=fail reason=no_cert); then
	echo "  mtlsd audit log:"
	echo "$line" | indent
else
	bad "no event=handshake result=fail reason=no_cert in the log"
fi

header "5. curl with a certificate from an untrusted CA is refused"
cmd "curl --cacert ca.crt --cert untrusted.crt --key untrusted.key https://localhost:$P_WEB/"
log_mark
out=$(curl_cert untrusted "$P_WEB" 2>&1)
rc=$?
echo "$out" | indent
if [ "$rc" -ne 0 ] && ! echo "$out" | grep -q hello; then
	ok "curl failed (exit $rc)"
else
	bad "curl got through with an untrusted certificate"
fi
if line=$(wait_event 5 event=handshake result=fail reason=unknown_ca); then
	echo "  mtlsd audit log:"
	echo "$line" | indent
else
	bad "no event=handshake result=fail reason=unknown_ca in the log"
fi

header "6. mtlsctl shows the verified identity of a live connection"
cmd "openssl s_client -connect 127.0.0.1:$P_WEB -cert bob.crt -key bob.key ...   (kept open)"
sclient_open bob "$P_WEB" -cert "$PKI/bob.crt" -key "$PKI/bob.key"
BOB_SERIAL=$(cat "$PKI/bob.serial")
found=no
for ((i = 0; i < 50; i++)); do
	out=$(timeout 10 "$MTLSCTL" -s "$QUERY_SOCK" sessions 2>&1)
	if echo "$out" | grep -qF "serial=$BOB_SERIAL"; then
		found=yes
		break
	fi
	sleep 0.1
done
cmd "mtlsctl -s $QUERY_SOCK sessions"
echo "$out" | indent
if [ "$found" = yes ]; then
	ok "bob's session is listed with his subject and serial $BOB_SERIAL"
else
	bad "bob's session is not listed"
fi
sclient_close bob

header "7. Stopping mtlsd (SIGTERM)"
log_mark
if stop_mtlsd && log_find event=stop >/dev/null; then
	log_find event=stop | indent
	ok "mtlsd exited 0"
else
	bad "mtlsd exit status ${MTLSD_RC:-?} after SIGTERM, or no event=stop"
fi

echo
if [ "$BAD" -eq 0 ] && [ "$_FAILED" -eq 0 ]; then
	echo "demo: every step behaved as expected"
	exit 0
fi
echo "demo: $((BAD + _FAILED)) step(s) did not behave as expected"
exit 1
