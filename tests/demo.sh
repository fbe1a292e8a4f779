#!/bin/bash
# demo.sh: a loopback walk-through of mtlsd, run by "make demo".
#
# Makes a throwaway PKI, starts a small HTTP backend and mtlsd in front of
# it, and shows: curl with a trusted client certificate reaching the
# backend, curl without a certificate and with an untrusted one being
# refused (with mtlsd's audit lines), "mtlsctl sessions" showing the
# verified identity of a live connection, and a PAM decision: a small
# in-house service behind a second listener runs pamtester (under
# pam_wrapper, with a PAM service file of the demo's own, so nothing in
# /etc is touched) on alice's connection, and pam_mtls.so lets her in as
# the account her certificate maps to and not as anyone else.  Stops
# everything it started; exits 0 only when every step behaved as expected.
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

# write_pam_backend FILE: the in-house service of step 7.  It reads user
# names, one a line, and for each runs pamtester (under pam_wrapper, the
# library in $PAM_WRAPPER_LIB) with the client's connection as fd 3, so
# that pam_mtls.so (fd=3) asks mtlsd about that connection; it answers
# "login USER: PAM_SUCCESS|denied (pamtester's last line)".
write_pam_backend() {
	cat >"$1" <<'PYEOF'
import os, re, socket, sys

host, port, pamtester, service = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}\Z")
MAX_LINES = 8

srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((host, port))
srv.listen(8)
print("ready", flush=True)


def pam_check(conn, user):
    env = dict(os.environ, LD_PRELOAD=os.environ["PAM_WRAPPER_LIB"])
    r, w = os.pipe()
    null = os.open(os.devnull, os.O_RDWR)
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(null, 0)
            os.dup2(w, 1)
            os.dup2(w, 2)
            os.dup2(conn.fileno(), 3)
            os.closerange(4, 1024)
            os.execve(pamtester, [pamtester, "-v", service, user,
                                  "authenticate", "acct_mgmt"], env)
        finally:
            os._exit(127)
    os.close(w)
    os.close(null)
    out = b""
    while len(out) < 65536:
        chunk = os.read(r, 4096)
        if not chunk:
            break
        out += chunk
    os.close(r)
    status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    return status, out.decode(errors="replace")


while True:
    conn, peer = srv.accept()
    print("accept %s:%d" % peer, flush=True)
    with conn, conn.makefile("rb") as rf:
        conn.sendall(b"in-house service: send a user name to log in as\n")
        for _ in range(MAX_LINES):
            line = rf.readline(256)
            if not line:
                break
            user = line.strip().decode(errors="replace")
            if not NAME.match(user):
                conn.sendall(b"not a user name\n")
                continue
            status, out = pam_check(conn, user)
            for l in out.splitlines():
                print("  " + l, flush=True)
            verdict = "PAM_SUCCESS" if status == 0 else "denied"
            lines = out.strip().splitlines()
            print("user=%s pamtester_exit=%d %s" % (user, status, verdict),
                  flush=True)
            conn.sendall(("login %s: %s (%s)\n" % (
                user, verdict, lines[-1] if lines else "")).encode())
    print("close", flush=True)
PYEOF
}

# pam_login ID USER WANT: send USER on the s_client session ID to the
# in-house service; show its answer, what pamtester printed and mtlsd's
# query line.  WANT is PAM_SUCCESS or denied.
pam_login() {
	local id=$1 user=$2 want=$3 answer line before
	log_mark
	before=$(wc -l <"${BACKEND_LOG[pam]}")
	printf '  client sends: %s\n' "$user"
	sclient_send "$id" "$user"
	if ! sclient_wait "$id" "login $user:" 20; then
		bad "no answer from the service for $user: $(tail -n 3 "${SC_OUT[$id]}.err")"
		return
	fi
	answer=$(grep -F "login $user:" "${SC_OUT[$id]}" | tail -n 1)
	echo "  service answers: $answer"
	# pamtester's lines, and pam_mtls's pam_syslog lines (which pam_wrapper
	# prints as debug output); the rest of pam_wrapper's chatter left out
	echo "  pamtester, run by the service (syslog: what pam_mtls logged):"
	tail -n +$((before + 1)) "${BACKEND_LOG[pam]}" | sed -n -E \
	    -e 's/^  PWRAP_[A-Z]+\[[^]]*\] - SYSLOG\([0-9]+\): /syslog: /p' \
	    -e t -e '/PWRAP_/d' -e '/^ *$/d' -e 's/^  //p' | indent
	if line=$(wait_event 5 event=query); then
		echo "  mtlsd audit log:"
		echo "$line" | indent
	else
		bad "no event=query line in mtlsd's log"
	fi
	case $answer in
	"login $user: $want "*)
		if [ "$want" = PAM_SUCCESS ]; then
			ok "alice's certificate maps to $user: pam_mtls said PAM_SUCCESS"
		else
			ok "alice's certificate does not map to $user: denied"
		fi ;;
	*)	bad "want $want for $user" ;;
	esac
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
P_APP=$(free_port)
B_APP=$(free_port)
header "2. A plaintext HTTP backend on 127.0.0.1:$B_HTTP, mtlsd on 127.0.0.1:$P_WEB"
echo "  (and a second listener, \"app\", on 127.0.0.1:$P_APP for step 7)"
start_backend http --http --tcp "127.0.0.1:$B_HTTP" >/dev/null || exit 1
add_listener web "127.0.0.1:$P_WEB" "127.0.0.1:$B_HTTP"
add_listener app "127.0.0.1:$P_APP" "127.0.0.1:$B_APP"
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

header "7. A PAM decision: pam_mtls.so inside a service behind mtlsd"
# The rule set "testusers" maps every certificate with a CN to the account
# nobody (the demo cannot create users), so nobody is the right user for
# alice's certificate and root a wrong one.
PAM_MODULE=$MTLS_TOP/pam_mtls/pam_mtls.so
PAM_WRAPPER_LIB=$(ldconfig -p 2>/dev/null |
    awk '/libpam_wrapper\.so/ { print $NF; exit }')
PAMTESTER=$(command -v pamtester)
if [ ! -f "$PAM_MODULE" ] || [ -z "$PAMTESTER" ] || [ -z "$PAM_WRAPPER_LIB" ]; then
	bad "needs $PAM_MODULE (make), pamtester and libpam_wrapper.so (packaging/deps.sh)"
else
	# The service's PAM configuration, in a directory of the demo's own:
	# pam_wrapper (LD_PRELOAD) makes pamtester read it instead of
	# /etc/pam.d ("other", empty, keeps libpam from complaining that it
	# is missing).  The service hands the connection to pamtester as fd 3.
	# Not root: mtlsd runs as us and its socket is ours, so pam_mtls must
	# be told to trust that uid.
	mkdir -p "$DEMO_TMP/pam.d"
	: >"$DEMO_TMP/pam.d/other"
	uidarg=
	[ "$(id -u)" -ne 0 ] && uidarg=" daemon_uid=$(id -u)"
	{
		echo "auth     required  $PAM_MODULE socket=$QUERY_SOCK fd=3$uidarg"
		echo "account  required  $PAM_MODULE socket=$QUERY_SOCK fd=3$uidarg"
	} >"$DEMO_TMP/pam.d/mtls-demo"
	echo "  PAM service \"mtls-demo\" ($DEMO_TMP/pam.d/mtls-demo):"
	indent <"$DEMO_TMP/pam.d/mtls-demo"
	write_pam_backend "$DEMO_TMP/pam_backend.py"
	echo "  An in-house service on 127.0.0.1:$B_APP (the \"app\" upstream) reads user"
	echo "  names and for each runs, with the client's connection as fd 3:"
	cmd "LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$DEMO_TMP/pam.d PAM_WRAPPER_DEBUGLEVEL=2 pamtester -v mtls-demo USER authenticate acct_mgmt"
	if PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$DEMO_TMP/pam.d PAM_WRAPPER_DEBUGLEVEL=2 \
	    PAM_WRAPPER_LIB=$PAM_WRAPPER_LIB _start_backend pam python3 -u \
	    "$DEMO_TMP/pam_backend.py" 127.0.0.1 "$B_APP" "$PAMTESTER" \
	    mtls-demo >/dev/null; then
		cmd "openssl s_client -connect 127.0.0.1:$P_APP -cert alice.crt -key alice.key ...   (kept open)"
		sclient_open app "$P_APP" -cert "$PKI/alice.crt" -key "$PKI/alice.key"
		pam_login app nobody PAM_SUCCESS
		pam_login app root denied
		sclient_close app
	else
		bad "the in-house service did not start"
	fi
fi

header "8. Stopping mtlsd (SIGTERM)"
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
