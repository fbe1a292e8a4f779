#!/bin/bash
# t_systemd.sh: mtlsd under systemd, without a running systemd.
#
#   - the sd_notify(3) protocol: with $NOTIFY_SOCKET set, mtlsd sends
#     READY=1 once it serves, RELOADING=1 (with MONOTONIC_USEC) and READY=1
#     around a reload by SIGHUP and by mtlsctl, READY=1 again after a reload
#     that failed, and STOPPING=1 on SIGTERM; a $NOTIFY_SOCKET that is no
#     socket address stops start-up with an error;
#   - as root, the query socket is created with query.group and query.mode
#     (the unit grants no CAP_CHOWN);
#   - socket activation: a listener takes the socket systemd passes for its
#     address (others bind their own), and a passed socket no listener
#     claims stops start-up;
#   - etc/systemd/mtlsd.service and mtlsd.socket pass `systemd-analyze
#     verify`, and `systemd-analyze security --offline=yes` rates the
#     service 2.0 or lower.
# shellcheck source=tests/integration/lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
require_built

UNIT=$MTLS_TOP/etc/systemd/mtlsd.service
NOTIFY_LOG=$LOGDIR/notify.log
: >"$NOTIFY_LOG"

# A stand-in for systemd's notification socket: every datagram becomes one
# line of $NOTIFY_LOG, its newlines shown as "|".
python3 - "$RUNDIR/notify.sock" "$NOTIFY_LOG" <<'EOF' &
import socket, sys
path, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
while True:
    msg = s.recv(4096).decode("utf-8", "replace")
    with open(log, "a") as f:
        f.write(msg.replace("\n", "|") + "\n")
EOF
NOTIFY_PID=$!
track_pid "$NOTIFY_PID"
for _ in $(seq 50); do
	[ -S "$RUNDIR/notify.sock" ] && break
	sleep 0.1
done
# Like systemd's own, open to the daemon after it dropped to its user.
chmod 0666 "$RUNDIR/notify.sock"

# notified N PATTERN: wait (up to 5 s) until line N of the log exists and
# matches the extended regular expression PATTERN.
notified() {
	local n=$1 pattern=$2 i
	for ((i = 0; i < 50; i++)); do
		if sed -n "${n}p" "$NOTIFY_LOG" | grep -Eq "$pattern"; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

P_TLS=$(free_port)
B_ECHO=$(free_port)
start_backend echo --echo --tcp "127.0.0.1:$B_ECHO" || finish
add_listener main "127.0.0.1:$P_TLS" "127.0.0.1:$B_ECHO"
write_conf "$LOGDIR/mtlsd.conf"

export NOTIFY_SOCKET=$RUNDIR/notify.sock
start_mtlsd "$LOGDIR/mtlsd.conf" || finish
unset NOTIFY_SOCKET

if notified 1 '^READY=1(\||$)'; then
	pass notify_ready
else
	fail notify_ready "first message: $(sed -n 1p "$NOTIFY_LOG")"
fi

kill -HUP "$MTLSD_PID"
if notified 2 '^RELOADING=1\|MONOTONIC_USEC=[0-9]+$' &&
    notified 3 '^READY=1'; then
	pass notify_reload_sighup
else
	fail notify_reload_sighup "messages: $(tr '\n' ' ' <"$NOTIFY_LOG")"
fi

ctl reload
if [ "$CTL_RC" -eq 0 ] && notified 4 '^RELOADING=1' && notified 5 '^READY=1'; then
	pass notify_reload_mtlsctl
else
	fail notify_reload_mtlsctl "mtlsctl reload -> $CTL_RC; messages: $(tr '\n' ' ' <"$NOTIFY_LOG")"
fi

# A reload that fails leaves the old configuration serving: ready again.
cp "$LOGDIR/mtlsd.conf" "$LOGDIR/mtlsd.conf.good"
echo 'this is not libconfig' >>"$LOGDIR/mtlsd.conf"
kill -HUP "$MTLSD_PID"
if notified 6 '^RELOADING=1' && notified 7 '^READY=1\|STATUS=.*reload failed'; then
	pass notify_reload_failed_ready
else
	fail notify_reload_failed_ready "messages: $(tr '\n' ' ' <"$NOTIFY_LOG")"
fi
cp "$LOGDIR/mtlsd.conf.good" "$LOGDIR/mtlsd.conf"

# --- as root, the query socket has its group from the start
if [ "$(id -u)" -eq 0 ]; then
	got=$(stat -c '%G %a' "$QUERY_SOCK" 2>&1)
	if [ "$got" = "nogroup 660" ]; then
		pass query_socket_group
	else
		fail query_socket_group "query socket is \"$got\", want \"nogroup 660\""
	fi
else
	skip query_socket_group "needs root (the group is set by the root start-up)"
fi

check_stop stops_cleanly
if notified 8 '^STOPPING=1$'; then
	pass notify_stopping
else
	fail notify_stopping "messages: $(tr '\n' ' ' <"$NOTIFY_LOG")"
fi

# --- a $NOTIFY_SOCKET that is not a socket address stops start-up
out=$(NOTIFY_SOCKET=relative/path timeout 10 "$MTLSD" -f -d \
    -c "$LOGDIR/mtlsd.conf" 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && printf '%s' "$out" | grep -q 'NOTIFY_SOCKET'; then
	pass notify_socket_invalid
else
	fail notify_socket_invalid "exit $rc: $out"
fi

# --- socket activation: systemd-socket-activate binds the port, waits for
# the first connection and execs mtlsd with the socket as descriptor 3,
# the way systemd starts mtlsd.service from mtlsd.socket.
if ! command -v systemd-socket-activate >/dev/null 2>&1; then
	skip socket_activation "systemd-socket-activate not installed"
	skip socket_activation_mismatch "systemd-socket-activate not installed"
else
	P_SA=$(free_port)
	P_OWN=$(free_port)
	add_listener passed "127.0.0.1:$P_SA" "127.0.0.1:$B_ECHO"
	add_listener own "127.0.0.1:$P_OWN" "127.0.0.1:$B_ECHO"
	write_conf "$LOGDIR/mtlsd-sa.conf"
	systemd-socket-activate -l "127.0.0.1:$P_SA" "$MTLSD" -f -d \
	    -c "$LOGDIR/mtlsd-sa.conf" >"$LOGDIR/mtlsd-sa.log" 2>&1 &
	SA_PID=$!
	track_pid "$SA_PID"
	sleep 0.3
	# The first connection starts mtlsd, which then serves it.
	if node_echo alice alice "$P_SA" 1000 &&
	    grep -q "event=ready.*listen_systemd=127.0.0.1:$P_SA" \
	    "$LOGDIR/mtlsd-sa.log" && node_echo alice alice "$P_OWN" 1000; then
		pass socket_activation
	else
		fail socket_activation "$(tail -n 3 "$LOGDIR/mtlsd-sa.log" | tr '\n' ' ')"
	fi
	stop_pid "$SA_PID"

	# A passed socket that no listener claims: refuse to start.
	P_ODD=$(free_port)
	systemd-socket-activate -l "127.0.0.1:$P_ODD" "$MTLSD" -f -d \
	    -c "$LOGDIR/mtlsd-sa.conf" >"$LOGDIR/mtlsd-sa-odd.log" 2>&1 &
	SA_PID=$!
	track_pid "$SA_PID"
	sleep 0.3
	(exec 3<>"/dev/tcp/127.0.0.1/$P_ODD") 2>/dev/null
	if wait_gone "$SA_PID" 10 && grep -q "127.0.0.1:$P_ODD (descriptor 3) matches no listener" \
	    "$LOGDIR/mtlsd-sa-odd.log"; then
		pass socket_activation_mismatch
	else
		fail socket_activation_mismatch "$(tail -n 3 "$LOGDIR/mtlsd-sa-odd.log" | tr '\n' ' ')"
	fi
	stop_pid "$SA_PID"
fi

# --- the unit
if ! command -v systemd-analyze >/dev/null 2>&1; then
	skip unit_verify "systemd-analyze not installed"
	skip unit_security "systemd-analyze not installed"
	finish
fi
# verify checks that ExecStart's binary exists and Documentation's pages
# open: point it at this tree's binary and man pages.
mkdir -p "$RUNDIR/man/man5" "$RUNDIR/man/man8"
cp "$MTLS_TOP"/mtlsd/*.5 "$RUNDIR/man/man5/"
cp "$MTLS_TOP"/mtlsd/*.8 "$RUNDIR/man/man8/"
sed "s|/usr/sbin/mtlsd|$MTLSD|g" "$UNIT" >"$RUNDIR/mtlsd.service"
cp "$MTLS_TOP/etc/systemd/mtlsd.socket" "$RUNDIR/mtlsd.socket"
if out=$(MANPATH=$RUNDIR/man systemd-analyze verify \
    "$RUNDIR/mtlsd.service" "$RUNDIR/mtlsd.socket" 2>&1) && [ -z "$out" ]; then
	pass unit_verify
else
	fail unit_verify "systemd-analyze verify: $out"
fi
out=$(systemd-analyze security --offline=yes "$UNIT" 2>&1)
score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
echo "systemd-analyze security: ${score:-?}"
if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
	pass unit_security
else
	fail unit_security "exposure ${score:-unknown}, want 2.0 or lower: $(printf '%s\n' "$out" | tail -n 3)"
fi

finish
