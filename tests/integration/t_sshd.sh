#!/bin/bash
# t_sshd.sh: a real service end to end.  OpenSSH's sshd from the
# distribution runs behind mtlsd on loopback with its own configuration,
# port, host key and PAM service (sshd takes its PAM service name from the
# name it was started under, so it runs through a symlink named
# mtlstest-sshd, and /etc/pam.d/mtlstest-sshd has pam_mtls.so in auth,
# account and session, and no password module).  The OpenSSH client
# reaches it through "ProxyCommand openssl s_client" with a client
# certificate; mtlsd maps CN=alice to the local account mtlstest-alice and
# CN=bob to mtlstest-bob.
#
#   - alice's certificate logs in as mtlstest-alice with keyboard-interactive
#     and no password; "id -un" prints mtlstest-alice, and the session's
#     environment has MTLS_SUBJECT (pam_mtls's session stage puts it into
#     the PAM environment, sshd passes that on);
#   - bob's certificate logs in as mtlstest-bob, but not as mtlstest-alice;
#   - a connection straight to sshd's port, not through mtlsd, is denied;
#   - one-time tickets: a second sshd (symlink mtlstest-sshd-ticket, its
#     own port, /etc/pam.d/mtlstest-sshd-ticket with "pam_mtls.so ticket")
#     is reached directly, not through mtlsd.  alice gets a ticket with
#     "curl -X POST https://.../ticket" from a responder listener of the
#     same mtlsd, and ssh answers the "mTLS ticket: " prompt with it
#     through an SSH_ASKPASS script: "id -un" prints mtlstest-alice; the
#     same ticket again is denied, a ticket of alice's is denied for
#     mtlstest-bob, and no ticket appears in mtlsd's, sshd's or syslog's
#     log;
#   - with mtlsd stopped, there is no way in through the proxy, and a
#     direct connection is still denied (the daemon is down: fail closed).
#
# Needs root (it creates two users, writes /etc/pam.d/mtlstest-sshd and
# /etc/pam.d/mtlstest-sshd-ticket and runs two sshd); skipped otherwise.  Everything it adds to the system is
# removed on exit, also after a failure: the users, the PAM service files,
# /run/sshd when it made it, and /dev/log when it made it (when no syslog
# daemon listens there, the test runs a small one that copies what
# pam_mtls.so and sshd's PAM code log to $LOGDIR/syslog.log).
# shellcheck source=tests/integration/lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

CASES=(alice_logs_in alice_session_env bob_logs_in_as_bob
    bob_denied_as_alice direct_denied ticket_issued ticket_logs_in
    ticket_reuse_denied ticket_other_user_denied ticket_not_logged
    mtlsd_stops down_proxy_denied down_direct_denied)

if [ "$(id -u)" -ne 0 ]; then
	for c in "${CASES[@]}"; do
		skip "$c" "needs root to create users and run sshd"
	done
	finish
fi

require_built
PAM_MODULE=$MTLS_TOP/pam_mtls/pam_mtls.so
SSHD_BIN=/usr/sbin/sshd
if [ ! -f "$PAM_MODULE" ]; then
	fail build "$PAM_MODULE not built (make pam_mtls/pam_mtls.so)"
	finish
fi
for tool in "$SSHD_BIN" ssh ssh-keygen openssl useradd userdel setsid curl; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		for c in "${CASES[@]}"; do
			skip "$c" "$tool not installed (packaging/deps.sh)"
		done
		finish
	fi
done

U_ALICE=mtlstest-alice
U_BOB=mtlstest-bob
SERVICE=mtlstest-sshd
PAM_FILE=/etc/pam.d/$SERVICE
T_SERVICE=mtlstest-sshd-ticket
T_PAM_FILE=/etc/pam.d/$T_SERVICE
MARK="mtls-pam test user (tests/integration/t_sshd.sh)"
ALICE_SUBJECT=$(cat "$PKI/alice.subject")
BOB_SUBJECT=$(cat "$PKI/bob.subject")

SSHD_PID=
SSHD_LOG=$LOGDIR/sshd.log
SSHD_MARK=0
T_SSHD_PID=
T_SSHD_LOG=$LOGDIR/sshd-ticket.log
SYSLOG_PID=
SYSLOG_LOG=$LOGDIR/syslog.log
MADE_USERS=()
MADE_PAM=no
MADE_T_PAM=no
MADE_RUNSSHD=no
MADE_DEVLOG=no

# ------------------------------------------------------------- clean-up

# Undo everything this script added to the system.  Runs on every exit
# (lib.sh's _cleanup then stops the remaining processes and removes
# $RUNDIR).  sshd goes first: userdel refuses users with processes.
sshd_cleanup() {
	local u i
	stop_pid "$SSHD_PID"
	SSHD_PID=
	stop_pid "$T_SSHD_PID"
	T_SSHD_PID=
	for u in "${MADE_USERS[@]}"; do
		for ((i = 0; i < 10; i++)); do
			userdel "$u" 2>/dev/null && break
			getent passwd "$u" >/dev/null || break
			sleep 0.5
		done
		if getent passwd "$u" >/dev/null; then
			echo "t_sshd: userdel $u failed; forcing"
			userdel -f "$u"
		fi
	done
	MADE_USERS=()
	if [ "$MADE_PAM" = yes ]; then
		rm -f "$PAM_FILE"
		MADE_PAM=no
	fi
	if [ "$MADE_T_PAM" = yes ]; then
		rm -f "$T_PAM_FILE"
		MADE_T_PAM=no
	fi
	if [ "$MADE_RUNSSHD" = yes ]; then
		rmdir /run/sshd 2>/dev/null
		MADE_RUNSSHD=no
	fi
	stop_pid "$SYSLOG_PID"
	SYSLOG_PID=
	if [ "$MADE_DEVLOG" = yes ]; then
		rm -f /dev/log
		MADE_DEVLOG=no
	fi
}
trap 'sshd_cleanup; _cleanup' EXIT

end_test() {
	sshd_cleanup
	finish
}

# Every case not reported yet fails with WHY (a set-up step went wrong).
abort_all() {
	local c why=$1
	for c in "${CASES[@]}"; do
		grep -q " $TEST_NAME/$c\(:\|$\)" "$MTLS_RESULTS" 2>/dev/null ||
		    fail "$c" "$why"
	done
	end_test
}

# ------------------------------------------------------------ the system

# A user of our own: locked password, no home directory, /bin/sh.  A
# leftover from an earlier run that died (recognised by its comment) is
# removed first; an account of that name that is not ours stops the test.
make_user() {
	local u=$1 gecos
	if gecos=$(getent passwd "$u"); then
		gecos=$(printf '%s' "$gecos" | cut -d: -f5)
		if [ "$gecos" != "$MARK" ]; then
			abort_all "user $u exists and is not a test user; not touching it"
		fi
		userdel "$u" || abort_all "cannot remove the stale test user $u"
	fi
	useradd -M -s /bin/sh -c "$MARK" "$u" ||
	    abort_all "useradd $u failed"
	MADE_USERS+=("$u")
	passwd -l "$u" >/dev/null 2>&1
}

# When nothing listens on /dev/log, listen there ourselves so that
# pam_syslog lines (pam_mtls's decisions) end up in $SYSLOG_LOG.
start_syslog() {
	[ -e /dev/log ] && return 0
	: >"$SYSLOG_LOG"
	timeout 280 python3 -u -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
os.chmod("/dev/log", 0o666)
print("ready", flush=True)
with open(sys.argv[1], "ab", buffering=0) as out:
    while True:
        msg = s.recv(8192)
        out.write(msg.rstrip(b"\0\n") + b"\n")
' "$SYSLOG_LOG" >"$LOGDIR/syslogd.out" 2>&1 &
	SYSLOG_PID=$!
	track_pid "$SYSLOG_PID"
	local i
	for ((i = 0; i < 50; i++)); do
		if grep -q '^ready' "$LOGDIR/syslogd.out" 2>/dev/null; then
			MADE_DEVLOG=yes
			return 0
		fi
		alive "$SYSLOG_PID" || break
		sleep 0.1
	done
	echo "t_sshd: could not listen on /dev/log: $(cat "$LOGDIR/syslogd.out")"
	stop_pid "$SYSLOG_PID"
	SYSLOG_PID=
	[ -S /dev/log ] && [ "$MADE_DEVLOG" = no ] && rm -f /dev/log
	return 0
}

# ------------------------------------------------------------------ sshd

sshd_mark() {
	SSHD_MARK=$(wc -l <"$SSHD_LOG" 2>/dev/null || echo 0)
}

# sshd_wait SECONDS EREGEX: a line of sshd's log after the mark (bounded).
sshd_wait() {
	local secs=$1 pattern=$2 i
	for ((i = 0; i < secs * 10; i++)); do
		tail -n +$((SSHD_MARK + 1)) "$SSHD_LOG" 2>/dev/null |
		    grep -E -m1 -- "$pattern" && return 0
		sleep 0.1
	done
	return 1
}

# sshd_since: sshd's log after the mark, for failure messages.
sshd_since() {
	tail -n +$((SSHD_MARK + 1)) "$SSHD_LOG" 2>/dev/null |
	    grep -vE 'debug[23]:' | tail -n 12
}

# pam_lines: what pam_mtls.so logged so far (when we run the syslog).
pam_lines() {
	[ -f "$SYSLOG_LOG" ] && grep -a 'pam_mtls' "$SYSLOG_LOG" | tail -n 4
}

# start_sshd LINK PORT LOG: sshd run as LINK (its PAM service) on
# 127.0.0.1:PORT, logging to LOG; its pid in STARTED_PID.
start_sshd() {
	local link=$1 port=$2 log=$3 name out i
	name=$(basename "$link")
	local conf=$RUNDIR/sshd_config-$name
	cat >"$conf" <<EOF
# written by tests/integration/t_sshd.sh
ListenAddress 127.0.0.1
Port $port
HostKey $RUNDIR/ssh_host_ed25519_key
PidFile $RUNDIR/$name.pid
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
PubkeyAuthentication no
HostbasedAuthentication no
GSSAPIAuthentication no
AuthenticationMethods keyboard-interactive
PermitRootLogin no
AllowUsers $U_ALICE $U_BOB
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PermitTunnel no
MaxAuthTries 3
LoginGraceTime 30
LogLevel DEBUG1
EOF
	cp "$conf" "$LOGDIR/sshd_config-$name"
	if ! out=$("$link" -t -f "$conf" 2>&1); then
		abort_all "sshd -t -f $conf failed: $out"
	fi
	: >"$log"
	"$link" -D -e -f "$conf" >>"$log" 2>&1 &
	STARTED_PID=$!
	track_pid "$STARTED_PID"
	for ((i = 0; i < 100; i++)); do
		grep -q "Server listening on 127.0.0.1 port $port" \
		    "$log" && return 0
		alive "$STARTED_PID" || break
		sleep 0.1
	done
	abort_all "$name did not start listening: $(tail -n 5 "$log")"
}

# ---------------------------------------------------------------- client

# ssh_login NAME CERT USER [DIRECT]: run the OpenSSH client as USER, through
# "openssl s_client" with the PKI's certificate CERT (or straight to
# sshd's port with DIRECT), running 'id -un; echo "S=$MTLS_SUBJECT"'.
# Output in $LOGDIR/ssh-NAME.out and .err; status in SSH_RC.  Nothing can
# prompt: no terminal (setsid), stdin from /dev/null, and any question ssh
# would ask goes to /bin/false as its askpass program.  Bounded by 20 s.
ssh_login() {
	local name=$1 cert=$2 user=$3 direct=${4:-} target=()
	SSH_OUT=$LOGDIR/ssh-$name.out
	SSH_ERR=$LOGDIR/ssh-$name.err
	if [ -n "$direct" ]; then
		target=(-p "$SSHD_PORT" "$user@127.0.0.1")
	else
		target=(-o "ProxyCommand=openssl s_client -quiet -verify_return_error -verify_hostname localhost -connect 127.0.0.1:$P_SSH -servername localhost -CAfile $PKI/ca.crt -cert $PKI/$cert.crt -key $PKI/$cert.key"
		    "$user@mtlsd-test")
	fi
	# shellcheck disable=SC2016 # $MTLS_SUBJECT is the remote shell's
	timeout -k 5 20 env SSH_ASKPASS=/bin/false SSH_ASKPASS_REQUIRE=force \
	    setsid -w ssh -F /dev/null \
	    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	    -o GlobalKnownHostsFile=/dev/null -o LogLevel=ERROR \
	    -o PreferredAuthentications=keyboard-interactive \
	    -o KbdInteractiveAuthentication=yes -o BatchMode=no \
	    -o NumberOfPasswordPrompts=1 -o ConnectTimeout=10 \
	    "${target[@]}" 'id -un; echo "S=$MTLS_SUBJECT"' \
	    </dev/null >"$SSH_OUT" 2>"$SSH_ERR"
	SSH_RC=$?
	printf 'ssh %s (%s as %s%s) -> %s\n' "$name" "$cert" "$user" \
	    "${direct:+, direct}" "$SSH_RC"
	sed 's/^/  out: /' "$SSH_OUT"
	sed 's/^/  err: /' "$SSH_ERR"
}

# get_ticket NAME CERT: POST /ticket to the responder with the PKI's
# certificate CERT; the ticket in TICKET (empty on failure), curl's
# status in CURL_RC, the HTTP status in CURL_CODE.  Bounded by 10 s.
# The ticket itself is never printed.
get_ticket() {
	local name=$1 cert=$2 body=$RUNDIR/ticket-$1.body
	CURL_CODE=$(curl -sS --max-time 10 -o "$body" -w '%{http_code}' \
	    --cacert "$PKI/ca.crt" --cert "$PKI/$cert.crt" --key "$PKI/$cert.key" \
	    --resolve "localhost:$P_RESP:127.0.0.1" \
	    -X POST "https://localhost:$P_RESP/ticket" 2>"$LOGDIR/curl-$name.err")
	CURL_RC=$?
	TICKET=$(tr -d '\r\n' <"$body")
	[ "$CURL_RC" -eq 0 ] && [ "$CURL_CODE" = 200 ] || TICKET=
	printf 'POST /ticket %s (%s) -> curl %s, HTTP %s, %s characters\n' \
	    "$name" "$cert" "$CURL_RC" "$CURL_CODE" "${#TICKET}"
}

# ssh_ticket NAME USER TICKET: ssh straight to the ticket sshd as USER,
# keyboard-interactive, answering its prompt through an SSH_ASKPASS script
# that prints TICKET (and records the prompt it was asked in
# $LOGDIR/askpass-NAME.prompt).  Runs "id -un".  No terminal (setsid),
# stdin from /dev/null, bounded by 20 s; output as ssh_login's.
ssh_ticket() {
	local name=$1 user=$2 ticket=$3 askpass=$RUNDIR/askpass-$1
	SSH_OUT=$LOGDIR/ssh-$name.out
	SSH_ERR=$LOGDIR/ssh-$name.err
	printf '%s\n' "$ticket" >"$RUNDIR/ticket-$name"
	cat >"$askpass" <<EOF
#!/bin/sh
printf '%s\n' "\$*" >>"$LOGDIR/askpass-$name.prompt"
cat "$RUNDIR/ticket-$name"
EOF
	chmod 0700 "$askpass"
	timeout -k 5 20 env SSH_ASKPASS="$askpass" SSH_ASKPASS_REQUIRE=force \
	    DISPLAY=:0 setsid -w ssh -F /dev/null \
	    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	    -o GlobalKnownHostsFile=/dev/null -o LogLevel=ERROR \
	    -o PreferredAuthentications=keyboard-interactive \
	    -o KbdInteractiveAuthentication=yes -o BatchMode=no \
	    -o NumberOfPasswordPrompts=1 -o ConnectTimeout=10 \
	    -p "$T_SSHD_PORT" "$user@127.0.0.1" 'id -un' \
	    </dev/null >"$SSH_OUT" 2>"$SSH_ERR"
	SSH_RC=$?
	printf 'ssh %s (ticket, as %s, direct to the ticket sshd) -> %s; askpass asked: %s\n' \
	    "$name" "$user" "$SSH_RC" \
	    "$(tr '\n' '|' <"$LOGDIR/askpass-$name.prompt" 2>/dev/null)"
	sed 's/^/  out: /' "$SSH_OUT"
	sed 's/^/  err: /' "$SSH_ERR"
}

# What a failed case reports: the client's, sshd's, mtlsd's and pam_mtls's
# last words.
why_login() {
	printf 'ssh exit %s; stdout: %s; stderr: %s; sshd: %s; mtlsd: %s; pam_mtls: %s' \
	    "$SSH_RC" "$(head -c 200 "$SSH_OUT")" "$(tail -n 3 "$SSH_ERR")" \
	    "$(sshd_since | grep -E 'PAM|Accepted|Failed|fatal|error|Disconnect' | tail -n 4)" \
	    "$(tail -n +$((LOG_MARK + 1)) "$MTLSD_LOG" 2>/dev/null | tail -n 3)" \
	    "$(pam_lines)"
}

# expect_denied NAME USER: the last ssh_login did not log in: ssh failed,
# printed nothing, the client was told "Permission denied", sshd logged the
# failed keyboard-interactive/pam attempt and never "Accepted".
expect_denied() {
	local name=$1 user=$2
	sshd_wait 5 "Failed keyboard-interactive/pam for $user " >/dev/null
	if [ "$SSH_RC" -eq 0 ] || [ -s "$SSH_OUT" ]; then
		fail "$name" "logged in: $(why_login)"
	elif tail -n +$((SSHD_MARK + 1)) "$SSHD_LOG" | grep -q 'Accepted '; then
		fail "$name" "sshd accepted a login: $(why_login)"
	elif ! grep -q 'Permission denied' "$SSH_ERR"; then
		fail "$name" "want 'Permission denied' from ssh: $(why_login)"
	elif ! tail -n +$((SSHD_MARK + 1)) "$SSHD_LOG" |
	    grep -q "Failed keyboard-interactive/pam for $user "; then
		fail "$name" "sshd logged no failed keyboard-interactive/pam for $user: $(why_login)"
	else
		pass "$name"
	fi
}

# ------------------------------------------------------------------ set-up

P_SSH=$(free_port)
SSHD_PORT=$(free_port)
T_SSHD_PORT=$(free_port)
P_RESP=$(free_port)

start_syslog
make_user "$U_ALICE"
make_user "$U_BOB"

if [ ! -d /run/sshd ]; then
	mkdir -m 0755 /run/sshd || abort_all "cannot create /run/sshd"
	MADE_RUNSSHD=yes
fi

if [ -e "$PAM_FILE" ] && ! grep -q 't_sshd.sh' "$PAM_FILE"; then
	abort_all "$PAM_FILE exists and is not ours; not touching it"
fi
MADE_PAM=yes
cat >"$PAM_FILE" <<EOF || abort_all "cannot write $PAM_FILE"
# $PAM_FILE: written by tests/integration/t_sshd.sh, removed when it ends.
# No password module: the certificate behind the connection is the only
# way in.
auth     required  $PAM_MODULE socket=$QUERY_SOCK
account  required  $PAM_MODULE socket=$QUERY_SOCK
session  optional  $PAM_MODULE socket=$QUERY_SOCK
session  required  pam_env.so
EOF
cp "$PAM_FILE" "$LOGDIR/pam.d-$SERVICE"

if [ -e "$T_PAM_FILE" ] && ! grep -q 't_sshd.sh' "$T_PAM_FILE"; then
	abort_all "$T_PAM_FILE exists and is not ours; not touching it"
fi
MADE_T_PAM=yes
cat >"$T_PAM_FILE" <<EOF || abort_all "cannot write $T_PAM_FILE"
# $T_PAM_FILE: written by tests/integration/t_sshd.sh, removed when it ends.
# The only way in is a one-time ticket from mtlsd's responder.
auth     required  $PAM_MODULE ticket socket=$QUERY_SOCK
account  required  pam_permit.so
session  required  pam_env.so
EOF
cp "$T_PAM_FILE" "$LOGDIR/pam.d-$T_SERVICE"

# sshd names its PAM service after the name it was run under (__progname),
# and re-executes itself by that absolute path for every connection.
mkdir "$RUNDIR/bin"
SSHD_LINK=$RUNDIR/bin/$SERVICE
ln -s "$SSHD_BIN" "$SSHD_LINK"
T_SSHD_LINK=$RUNDIR/bin/$T_SERVICE
ln -s "$SSHD_BIN" "$T_SSHD_LINK"
ssh-keygen -q -t ed25519 -N '' -C t_sshd -f "$RUNDIR/ssh_host_ed25519_key" ||
    abort_all "ssh-keygen failed"

# The query socket lives in $RUNDIR: root's, mode 0755, as pam_mtls wants.
add_mapping sshusers '{ name = "alice"; field = "subject.CN"; equals = "alice";
      account = "mtlstest-alice"; },
    { name = "bob"; field = "subject.CN"; equals = "bob";
      account = "mtlstest-bob"; }'
add_listener ssh "127.0.0.1:$P_SSH" "127.0.0.1:$SSHD_PORT" \
    mapping='"sshusers"'
add_responder tickets "127.0.0.1:$P_RESP" mapping='"sshusers"'
write_conf "$LOGDIR/mtlsd.conf"
start_mtlsd "$LOGDIR/mtlsd.conf" ||
    abort_all "mtlsd did not start: $(tail -n 3 "$MTLSD_LOG" 2>/dev/null)"
start_sshd "$SSHD_LINK" "$SSHD_PORT" "$SSHD_LOG"
SSHD_PID=$STARTED_PID
start_sshd "$T_SSHD_LINK" "$T_SSHD_PORT" "$T_SSHD_LOG"
T_SSHD_PID=$STARTED_PID

# ------------------------------------------------------------------ cases

# --- alice's certificate, as mtlstest-alice: in, no password
sshd_mark
log_mark
ssh_login alice alice "$U_ALICE"
first=$(sed -n 1p "$SSH_OUT")
if [ "$SSH_RC" -eq 0 ] && [ "$first" = "$U_ALICE" ]; then
	pass alice_logs_in
else
	fail alice_logs_in "want exit 0 and id -un = $U_ALICE: $(why_login)"
fi
env_line=$(grep '^S=' "$SSH_OUT")
if [ "$env_line" = "S=$ALICE_SUBJECT" ]; then
	pass alice_session_env
elif [ "$SSH_RC" -eq 0 ]; then
	fail alice_session_env "logged in, but the session has '$env_line', want 'S=$ALICE_SUBJECT' (MTLS_SUBJECT from the PAM environment); sshd: $(sshd_since | grep -E 'PAM|session' | tail -n 4); pam_mtls: $(pam_lines)"
else
	fail alice_session_env "no session: $(why_login)"
fi
line=$(log_find event=handshake result=ok "subject=$ALICE_SUBJECT" \
    accounts=$U_ALICE) && echo "mtlsd: $line"

# --- bob's certificate: as mtlstest-bob yes, as mtlstest-alice no
sshd_mark
log_mark
ssh_login bob-bob bob "$U_BOB"
if [ "$SSH_RC" -eq 0 ] && [ "$(sed -n 1p "$SSH_OUT")" = "$U_BOB" ] &&
    grep -qxF "S=$BOB_SUBJECT" "$SSH_OUT"; then
	pass bob_logs_in_as_bob
else
	fail bob_logs_in_as_bob "want exit 0, $U_BOB and S=$BOB_SUBJECT: $(why_login)"
fi

sshd_mark
log_mark
ssh_login bob-alice bob "$U_ALICE"
expect_denied bob_denied_as_alice "$U_ALICE"
if ! log_find event=handshake result=ok "subject=$BOB_SUBJECT" >/dev/null; then
	echo "note: no handshake line for bob in this attempt (see $MTLSD_LOG)"
fi

# --- straight to sshd, around mtlsd
sshd_mark
log_mark
ssh_login direct alice "$U_ALICE" direct
expect_denied direct_denied "$U_ALICE"

# --- one-time tickets, at the second sshd (its log is SSHD_LOG for these)
MAIN_SSHD_LOG=$SSHD_LOG
SSHD_LOG=$T_SSHD_LOG
TICKETS=()
get_ticket alice1 alice
if [ -n "$TICKET" ]; then
	TICKETS+=("$TICKET")
	pass ticket_issued
else
	fail ticket_issued "want HTTP 200 and a ticket: curl $CURL_RC, HTTP $CURL_CODE, $(tail -n 2 "$LOGDIR/curl-alice1.err")"
fi

sshd_mark
log_mark
ssh_ticket ticket-alice "$U_ALICE" "$TICKET"
if [ -n "$TICKET" ] && [ "$SSH_RC" -eq 0 ] &&
    [ "$(sed -n 1p "$SSH_OUT")" = "$U_ALICE" ]; then
	pass ticket_logs_in
else
	fail ticket_logs_in "want exit 0 and id -un = $U_ALICE: $(why_login)"
fi

sshd_mark
log_mark
ssh_ticket ticket-again "$U_ALICE" "$TICKET"
expect_denied ticket_reuse_denied "$U_ALICE"

get_ticket alice2 alice
[ -n "$TICKET" ] && TICKETS+=("$TICKET")
sshd_mark
log_mark
if [ -n "$TICKET" ]; then
	ssh_ticket ticket-bob "$U_BOB" "$TICKET"
	expect_denied ticket_other_user_denied "$U_BOB"
else
	fail ticket_other_user_denied "no second ticket: curl $CURL_RC, HTTP $CURL_CODE"
fi

leaked=
for t in "${TICKETS[@]}"; do
	for f in "$MTLSD_LOG" "$T_SSHD_LOG" "$MAIN_SSHD_LOG" "$SYSLOG_LOG"; do
		[ -f "$f" ] && grep -qF -- "$t" "$f" && leaked="$leaked $f"
	done
done
if [ "${#TICKETS[@]}" -eq 0 ]; then
	fail ticket_not_logged "no ticket was issued to look for"
elif [ -n "$leaked" ]; then
	fail ticket_not_logged "a ticket appears in:$leaked"
else
	pass ticket_not_logged
fi
SSHD_LOG=$MAIN_SSHD_LOG

# --- mtlsd stopped
check_stop mtlsd_stops

sshd_mark
ssh_login down-proxy alice "$U_ALICE"
if [ "$SSH_RC" -ne 0 ] && [ ! -s "$SSH_OUT" ] &&
    ! tail -n +$((SSHD_MARK + 1)) "$SSHD_LOG" | grep -q 'Accepted '; then
	pass down_proxy_denied
else
	fail down_proxy_denied "want no login with mtlsd stopped: $(why_login)"
fi

sshd_mark
ssh_login down-direct alice "$U_ALICE" direct
expect_denied down_direct_denied "$U_ALICE"

if [ -f "$SYSLOG_LOG" ]; then
	show "pam_mtls and PAM lines in syslog" "$SYSLOG_LOG"
fi
end_test
