# lib.sh: shell library for the mtlsd integration tests (bash).
#
# Sourced by every tests/integration/t_*.sh.  Each script drives the real
# mtlsd, mtlsctl and real TLS peers (curl, openssl s_client, node) on
# loopback, reports named results with pass/fail/skip, and stops everything
# it started (by pid, on EXIT).
#
# Environment (set by tests/run-tests.sh; defaults for running one script
# by hand from the top of the tree):
#   MTLS_TOP        top of the source tree (binaries in $MTLS_TOP/mtlsd/)
#   MTLS_TEST_PKI   the test PKI made by tests/pki/mkpki.py
#   MTLS_RESULTS    file that collects "PASS|FAIL|SKIP name[: why]" lines
#   MTLS_OUT        where logs go ($MTLS_OUT/t_<test>/), default tests/out
#
# Results are named "<test>/<name>", <test> being the script name without
# "t_" and ".sh".

set -u

MTLS_TOP=${MTLS_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
MTLS_OUT=${MTLS_OUT:-$MTLS_TOP/tests/out}
MTLSD=$MTLS_TOP/mtlsd/mtlsd
MTLSCTL=$MTLS_TOP/mtlsd/mtlsctl
TESTS=$MTLS_TOP/tests/integration
TEST_NAME=$(basename "$0" .sh)
TEST_NAME=${TEST_NAME#t_}

# Logs and configs stay after the run (tests/out/t_<test>/); sockets live in
# a short /tmp directory that nobody can traverse to (mtlsd drops to
# nobody/nogroup when started as root).
LOGDIR=$MTLS_OUT/t_$TEST_NAME
rm -rf "$LOGDIR"
mkdir -p "$LOGDIR"
RUNDIR=$(mktemp -d "${TMPDIR:-/tmp}/mtls-$TEST_NAME.XXXXXX") || exit 2
chmod 755 "$RUNDIR"
MTLS_RESULTS=${MTLS_RESULTS:-$LOGDIR/results}

if [ -z "${MTLS_TEST_PKI:-}" ]; then
	MTLS_TEST_PKI=$LOGDIR/pki
	python3 "$MTLS_TOP/tests/pki/mkpki.py" "$MTLS_TEST_PKI" || exit 2
fi
PKI=$MTLS_TEST_PKI

_PIDS=()		# every background process we started
_FAILED=0
MTLSD_PID=
MTLSD_LOG=
MTLSD_RC=
LOG_MARK=0
_MTLSD_STARTS=0
# Ports handed out so far: a file, because free_port runs in $(...)
# subshells whose variables do not come back.
_USED_PORTS_FILE=$RUNDIR/.used-ports
: >"$_USED_PORTS_FILE"
declare -A BACKEND_PID=() BACKEND_LOG=()
declare -A SC_PID=() SC_HOLD=() SC_FIFO=() SC_OUT=()

# ---------------------------------------------------------------- results

_result() {
	local kind=$1 name=$2 why=${3:-} line
	line="$kind $TEST_NAME/$name"
	if [ -n "$why" ]; then
		why=$(printf '%s' "$why" | tr '\n\t' '  ' | cut -c1-400)
		line="$line: $why"
	fi
	printf '%s\n' "$line" >>"$MTLS_RESULTS"
	printf '%s\n' "$line"
}

pass() { _result PASS "$1"; }
skip() { _result SKIP "$1" "${2:-}"; }
fail() {
	_FAILED=$((_FAILED + 1))
	_result FAIL "$1" "${2:-}"
}

# check NAME WHY COMMAND...: pass NAME when COMMAND succeeds, else fail
# with WHY.
check() {
	local name=$1 why=$2
	shift 2
	if "$@"; then pass "$name"; else fail "$name" "$why"; fi
}

# Print a banner and a file into the script's log, for post-mortems.
show() {
	local title=$1 file=$2
	echo "---- $title ($file)"
	[ -f "$file" ] && tail -n 40 "$file"
	echo "----"
}

# --------------------------------------------------------------- processes

track_pid() { _PIDS+=("$1"); }

# alive PID: the process exists and is not a zombie.
alive() {
	local state
	[ -r "/proc/$1/stat" ] || return 1
	state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# wait_gone PID SECONDS: wait (bounded) until PID has exited.
wait_gone() {
	local pid=$1 i n
	n=$(( ${2:-10} * 10 ))
	for ((i = 0; i < n; i++)); do
		alive "$pid" || return 0
		sleep 0.1
	done
	return 1
}

# stop_pid PID: SIGTERM, up to 3 s, then SIGKILL; reaps our children.
stop_pid() {
	local pid=$1
	[ -n "$pid" ] || return 0
	if alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		wait_gone "$pid" 3 || kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	return 0
}

_cleanup() {
	local pid
	trap - EXIT
	for pid in "${_PIDS[@]}"; do
		alive "$pid" && kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${_PIDS[@]}"; do
		wait_gone "$pid" 3 || kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	rm -rf "$RUNDIR"
}
trap _cleanup EXIT
trap 'exit 143' TERM INT HUP

# finish: end of a test script; exit status says whether anything failed.
finish() {
	_cleanup
	[ "$_FAILED" -eq 0 ]
	exit $?
}

# ------------------------------------------------------------------ network

# free_port [ADDR]: print an unused TCP port on ADDR (default 127.0.0.1),
# never the same one twice in a script.
# shellcheck disable=SC2120 # the address argument is optional
free_port() {
	local addr=${1:-127.0.0.1} port i
	for ((i = 0; i < 20; i++)); do
		port=$(python3 -c '
import socket, sys
a = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET)
s.bind((a, 0))
print(s.getsockname()[1])' "$addr") || return 1
		grep -qx "$port" "$_USED_PORTS_FILE" && continue
		echo "$port" >>"$_USED_PORTS_FILE"
		echo "$port"
		return 0
	done
	return 1
}

# have_ipv6: the IPv6 loopback ::1 can be bound.
have_ipv6() {
	python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' \
	    2>/dev/null
}

# ----------------------------------------------------------------- backends

# start_backend NAME --echo|--http --tcp HOST:PORT|--unix PATH
# Starts tests/integration/backend.py, waits until it prints "ready".
start_backend() {
	local name=$1
	shift
	_start_backend "$name" python3 -u "$TESTS/backend.py" "$@"
}

# start_backend_as USER GROUP NAME ARGS...: the same, run as USER:GROUP
# (needs root).  Runs a copy in $RUNDIR: the tree may sit where USER
# cannot read (/root).
start_backend_as() {
	local user=$1 group=$2 name=$3
	shift 3
	local py=python3
	# the system interpreter: python3 on PATH may live under /root
	[ -x /usr/bin/python3 ] && py=/usr/bin/python3
	cp "$TESTS/backend.py" "$RUNDIR/backend.py"
	chmod 755 "$RUNDIR/backend.py"
	_start_backend "$name" setpriv --reuid="$user" --regid="$group" \
	    --clear-groups -- "$py" -u "$RUNDIR/backend.py" "$@"
}

_start_backend() {
	local name=$1 log i
	shift
	log=$LOGDIR/backend-$name.log
	"$@" >"$log" 2>&1 &
	BACKEND_PID[$name]=$!
	BACKEND_LOG[$name]=$log
	track_pid "$!"
	for ((i = 0; i < 100; i++)); do
		grep -q '^ready' "$log" 2>/dev/null && return 0
		alive "${BACKEND_PID[$name]}" || break
		sleep 0.1
	done
	fail "backend_$name" "backend $name did not become ready: $(tail -n 5 "$log")"
	BACKEND_PID[$name]=
	return 1
}

# backend_conns NAME: how many connections the backend accepted so far.
backend_conns() {
	grep -c '^accept ' "${BACKEND_LOG[$1]}" 2>/dev/null
}

stop_backend() {
	stop_pid "${BACKEND_PID[$1]}"
}

# ------------------------------------------------------------------- config

_LISTENERS=()
_MAPPINGS=()
_CONF_EXTRA=()

# Every listener maps by default (require_mapping is true in mtlsd): the
# rule set "testusers" maps any certificate with a CN to the account
# nobody, which exists on every Debian system with a uid (65534) above the
# default accounts.min_uid.  Tests about mapping add their own sets.
TESTUSERS_RULES='{ name = "any-cn"; field = "subject.CN"; regex = ".+";
      account = "nobody"; }'

# add_listener NAME LISTEN UPSTREAM [key=value ...]
# Adds a listener with the test server certificate and client CA.  Values
# are written as given (quote strings yourself: tls_min_version='"1.3"').
# Defaults: certificate, private_key and client_ca from the PKI,
# handshake_timeout=10 idle_timeout=60 max_connections=100, and
# mapping="testusers".  A key given an empty value (mapping=) is left out.
add_listener() {
	local name=$1 listen=$2 upstream=$3 kv k block
	shift 3
	declare -A opt=([certificate]="\"$PKI/server-chain.pem\""
	    [private_key]="\"$PKI/server.key\""
	    [client_ca]="\"$PKI/clients-ca.pem\""
	    [handshake_timeout]=10 [idle_timeout]=60 [max_connections]=100
	    [mapping]='"testusers"')
	local order=(certificate private_key client_ca handshake_timeout
	    idle_timeout max_connections mapping)
	for kv in "$@"; do
		k=${kv%%=*}
		[ -n "${opt[$k]+x}" ] || order+=("$k")
		opt[$k]=${kv#*=}
	done
	block="  { name = \"$name\";
    listen = \"$listen\";
    upstream = \"$upstream\";"
	for k in "${order[@]}"; do
		[ -n "${opt[$k]}" ] || continue
		block="$block
    $k = ${opt[$k]};"
	done
	_LISTENERS+=("$block
  }")
}

# add_mapping NAME RULES: one more rule set for write_conf; RULES is the
# text between the parentheses, e.g.
#   add_mapping corp '{ name = "by-email"; field = "san.email";
#       glob = "*@corp.example"; account = "nobody"; }'
add_mapping() {
	_MAPPINGS+=("  $1 = (
    $2
  );")
}

# add_conf_line TEXT: a top-level line for write_conf (e.g. accounts).
add_conf_line() {
	_CONF_EXTRA+=("$1")
}

# write_conf FILE: the common header, the rule set "testusers" and every
# add_mapping, and every add_listener so far.
# The query socket is $RUNDIR/query.sock (QUERY_SOCK).
QUERY_SOCK=$RUNDIR/query.sock
write_conf() {
	local file=$1 i n=${#_LISTENERS[@]}
	{
		echo "# written by tests/integration/$TEST_NAME"
		echo 'user = "nobody";'
		echo 'group = "nogroup";'
		echo "query = { socket = \"$QUERY_SOCK\"; group = \"nogroup\"; mode = 0660; };"
		for ((i = 0; i < ${#_CONF_EXTRA[@]}; i++)); do
			printf '%s\n' "${_CONF_EXTRA[$i]}"
		done
		echo "mappings = {"
		echo "  testusers = ("
		echo "    $TESTUSERS_RULES"
		echo "  );"
		for ((i = 0; i < ${#_MAPPINGS[@]}; i++)); do
			printf '%s\n' "${_MAPPINGS[$i]}"
		done
		echo "};"
		echo "listeners = ("
		for ((i = 0; i < n; i++)); do
			printf '%s' "${_LISTENERS[$i]}"
			if [ $((i + 1)) -lt "$n" ]; then echo ","; else echo; fi
		done
		echo ");"
	} >"$file"
	_LISTENERS=()
	_MAPPINGS=()
	_CONF_EXTRA=()
}

# -------------------------------------------------------------------- mtlsd

# start_mtlsd CONF: "mtlsd -t" first (fails the test "config_check" with its
# output when that fails), then "mtlsd -f -d" in the background with stderr
# to $MTLSD_LOG; waits up to 10 s for event=ready.
start_mtlsd() {
	local conf=$1 out i
	if [ ! -x "$MTLSD" ]; then
		fail "start_mtlsd" "$MTLSD not built"
		return 1
	fi
	if ! out=$("$MTLSD" -t -c "$conf" 2>&1); then
		fail "config_check" "mtlsd -t -c $conf failed: $out"
		return 1
	fi
	_MTLSD_STARTS=$((_MTLSD_STARTS + 1))
	MTLSD_LOG=$LOGDIR/mtlsd-$_MTLSD_STARTS.log
	LOG_MARK=0
	"$MTLSD" -f -d -c "$conf" >"$MTLSD_LOG" 2>&1 &
	MTLSD_PID=$!
	track_pid "$MTLSD_PID"
	for ((i = 0; i < 100; i++)); do
		if log_find event=ready >/dev/null; then
			return 0
		fi
		alive "$MTLSD_PID" || break
		sleep 0.1
	done
	fail "start_mtlsd" "mtlsd did not log event=ready within 10 s: $(tail -n 5 "$MTLSD_LOG")"
	return 1
}

# stop_mtlsd: SIGTERM by pid, wait up to 10 s (SIGKILL after that);
# returns 0 only for exit status 0.  Sets MTLSD_RC.
stop_mtlsd() {
	local pid=$MTLSD_PID
	MTLSD_RC=
	[ -n "$pid" ] || return 1
	kill -TERM "$pid" 2>/dev/null
	if ! wait_gone "$pid" 10; then
		echo "mtlsd $pid ignored SIGTERM for 10 s; SIGKILL"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		MTLSD_RC=killed
		MTLSD_PID=
		return 1
	fi
	wait "$pid" 2>/dev/null
	MTLSD_RC=$?
	MTLSD_PID=
	[ "$MTLSD_RC" -eq 0 ]
}

# check_stop NAME: stop mtlsd and report NAME: exit 0 and event=stop logged.
check_stop() {
	local name=$1
	log_mark
	if ! stop_mtlsd; then
		fail "$name" "mtlsd exit status $MTLSD_RC after SIGTERM (want 0)"
	elif ! log_find event=stop >/dev/null; then
		fail "$name" "no event=stop in $MTLSD_LOG"
	else
		pass "$name"
	fi
}

# ---------------------------------------------------------------- the log

# log_mark: later log searches only look at lines written after this.
log_mark() {
	if [ -f "$MTLSD_LOG" ]; then
		LOG_MARK=$(wc -l <"$MTLSD_LOG")
	else
		LOG_MARK=0
	fi
}

# _log_scan MODE TOKEN...: MODE first prints the first line after the mark
# holding every TOKEN as a whole logfmt field; MODE count prints how many.
_log_scan() {
	local mode=$1
	shift
	[ -f "$MTLSD_LOG" ] || { [ "$mode" = count ] && echo 0; return 1; }
	LOGFIND_TOKENS=$(printf '%s\n' "$@") awk -v start=$((LOG_MARK + 1)) \
	    -v mode="$mode" '
	function hasfield(line, tok,    p, off, before, after) {
		off = 0
		while ((p = index(substr(line, off + 1), tok)) > 0) {
			p += off
			before = substr(line, p - 1, 1)
			after = substr(line, p + length(tok), 1)
			if ((p == 1 || before ~ /[ \t:\[]/) &&
			    (after == "" || after ~ /[ \t]/))
				return 1
			off = p
		}
		return 0
	}
	# key=value also matches key="value" (logfmt may quote any value)
	function hastoken(line, tok,    eq, v, q, j, c) {
		if (hasfield(line, tok))
			return 1
		eq = index(tok, "=")
		if (eq == 0)
			return 0
		v = substr(tok, eq + 1)
		if (substr(v, 1, 1) == "\"")
			return 0
		q = ""
		for (j = 1; j <= length(v); j++) {
			c = substr(v, j, 1)
			if (c == "\\" || c == "\"")
				q = q "\\"
			q = q c
		}
		q = substr(tok, 1, eq) "\"" q "\""
		return hasfield(line, q)
	}
	BEGIN { n = split(ENVIRON["LOGFIND_TOKENS"], t, "\n"); found = 0 }
	NR >= start {
		ok = 1
		for (i = 1; i <= n; i++)
			if (t[i] != "" && !hastoken($0, t[i])) { ok = 0; break }
		if (ok) {
			found++
			if (mode == "first") { print; exit }
		}
	}
	END {
		if (mode == "count") print found
		exit found ? 0 : 1
	}' "$MTLSD_LOG"
}

# log_find TOKEN...: print the first log line after the mark that holds
# every TOKEN as a whole logfmt field (e.g. event=handshake,
# subject="CN=alice,O=Example Corp"); fixed strings, any line prefix.
# A token key=value also matches the quoted form key="value".
log_find() { _log_scan first "$@"; }

# log_count TOKEN...: how many lines after the mark hold every TOKEN.
log_count() { _log_scan count "$@"; return 0; }

# wait_event SECONDS TOKEN...: wait (bounded) for a log_find match; prints
# the line.
wait_event() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		log_find "$@" && return 0
		sleep 0.1
	done
	return 1
}

# wait_for_log PATTERN [SECONDS]: wait (bounded, default 5 s) for a line
# after the mark matching the extended regex PATTERN; prints it.
wait_for_log() {
	local pattern=$1 secs=${2:-5} i
	for ((i = 0; i < secs * 10; i++)); do
		tail -n +$((LOG_MARK + 1)) "$MTLSD_LOG" 2>/dev/null |
		    grep -E -m1 -- "$pattern" && return 0
		sleep 0.1
	done
	return 1
}

# expect_event NAME SECONDS TOKEN...: pass/fail NAME on wait_event.
expect_event() {
	local name=$1 secs=$2
	shift 2
	if wait_event "$secs" "$@" >/dev/null; then
		pass "$name"
	else
		fail "$name" "no log line with: $* (see $MTLSD_LOG)"
	fi
}

# --------------------------------------------------------------- clients

# curl_cert NAME PORT [curl args...]: curl https://localhost:PORT/ as the
# client NAME (certificate from the PKI; "-" for no certificate), forcing
# localhost to 127.0.0.1.  Bounded by --max-time 15.
curl_cert() {
	local who=$1 port=$2 certargs=()
	shift 2
	[ "$who" != - ] && certargs=(--cert "$PKI/$who.crt" --key "$PKI/$who.key")
	curl -sS --max-time 15 --cacert "$PKI/ca.crt" "${certargs[@]}" \
	    --resolve "localhost:$port:127.0.0.1" "$@" "https://localhost:$port/"
}

# sclient_open ID PORT [s_client args...]: start "openssl s_client -quiet"
# to 127.0.0.1:PORT reading from a fifo that a holder process keeps open
# (so the session stays up until sclient_close), output in SC_OUT[ID].
# Bounded by timeout 120.
sclient_open() {
	local id=$1 port=$2 fifo
	shift 2
	fifo=$RUNDIR/sc-$id.fifo
	rm -f "$fifo"
	mkfifo "$fifo"
	SC_FIFO[$id]=$fifo
	SC_OUT[$id]=$LOGDIR/sclient-$id.out
	timeout 120 openssl s_client -quiet -no_ign_eof \
	    -connect "127.0.0.1:$port" \
	    -servername localhost -CAfile "$PKI/ca.crt" "$@" \
	    <"$fifo" >"${SC_OUT[$id]}" 2>"${SC_OUT[$id]}.err" &
	SC_PID[$id]=$!
	track_pid "$!"
	sleep 120 >"$fifo" &
	SC_HOLD[$id]=$!
	track_pid "$!"
}

# sclient_send ID TEXT: one line to the session.
sclient_send() {
	# shellcheck disable=SC2016 # expanded by the inner sh
	timeout 5 sh -c 'printf "%s\n" "$1" >"$2"' sh "$2" "${SC_FIFO[$1]}"
}

# sclient_wait ID FIXED-STRING SECONDS: wait for the string in the output.
sclient_wait() {
	local id=$1 str=$2 secs=${3:-10} i
	for ((i = 0; i < secs * 10; i++)); do
		grep -qF -- "$str" "${SC_OUT[$id]}" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# sclient_close ID: end the session (stdin EOF), wait up to 5 s.
sclient_close() {
	local id=$1
	stop_pid "${SC_HOLD[$id]}"
	wait_gone "${SC_PID[$id]}" 5 || stop_pid "${SC_PID[$id]}"
	wait "${SC_PID[$id]}" 2>/dev/null
}

# sclient_exited ID SECONDS: wait for s_client to exit on its own (the
# server closed the connection).
sclient_exited() {
	wait_gone "${SC_PID[$1]}" "${2:-10}"
}

# --------------------------------------------------------------- mtlsctl

# ctl ARGS...: mtlsctl on the test's query socket; output in CTL_OUT,
# status in CTL_RC.
ctl() {
	CTL_OUT=$(timeout 20 "$MTLSCTL" -s "$QUERY_SOCK" "$@" 2>&1)
	CTL_RC=$?
	printf 'mtlsctl %s -> %s\n%s\n' "$*" "$CTL_RC" "$CTL_OUT"
	return 0
}

# require_built: end the script (one failure) when the binaries are missing.
require_built() {
	if [ ! -x "$MTLSD" ] || [ ! -x "$MTLSCTL" ]; then
		fail "build" "$MTLSD or $MTLSCTL not built (run make)"
		finish
	fi
}

echo "== $TEST_NAME: logs in $LOGDIR, sockets in $RUNDIR"

# ------------------------------------------------ revocation, reload, expiry

# mkcrl ARGS...: tests/pki/mkcrl.py (a CRL signed by a given CA).
# mkcert ARGS...: tests/pki/mkcert.py (a leaf issued at test time).
mkcrl() { python3 "$MTLS_TOP/tests/pki/mkcrl.py" "$@"; }
mkcert() { python3 "$MTLS_TOP/tests/pki/mkcert.py" "$@"; }

# session_json SERIAL [FIELD]: from "mtlsctl --json sessions", print the
# session whose serial is SERIAL (one JSON object), or only its FIELD
# (strings as they are, anything else as JSON).  Status 0 found, 1 no such
# session, 2 mtlsctl failed.
session_json() {
	local out
	out=$(timeout 20 "$MTLSCTL" -s "$QUERY_SOCK" --json sessions 2>&1) ||
	    { echo "mtlsctl --json sessions: $out" >&2; return 2; }
	printf '%s\n' "$out" | python3 -c '
import json, sys
serial = sys.argv[1]
field = sys.argv[2] if len(sys.argv) > 2 else None
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    obj = json.loads(line)
    if obj.get("serial") != serial:
        continue
    if field is None:
        print(json.dumps(obj, sort_keys=True))
    else:
        v = obj.get(field)
        print(v if isinstance(v, str) else json.dumps(v))
    sys.exit(0)
sys.exit(1)' "$@"
}

# session_listed SERIAL: "mtlsctl sessions" succeeds and lists SERIAL.
session_listed() {
	local out
	out=$(timeout 20 "$MTLSCTL" -s "$QUERY_SOCK" sessions 2>&1) || return 1
	printf '%s\n' "$out" | grep -qE "(^| )serial=\"?$1\"?( |$)"
}

# wait_session_gone SERIAL SECONDS: wait (bounded) until "mtlsctl sessions"
# answers without SERIAL.
wait_session_gone() {
	local serial=$1 secs=${2:-5} i out
	for ((i = 0; i < secs * 10; i++)); do
		if out=$(timeout 20 "$MTLSCTL" -s "$QUERY_SOCK" sessions 2>&1) &&
		    ! printf '%s\n' "$out" | grep -qE "(^| )serial=\"?$serial\"?( |$)"; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# RELOAD_LINE: an ERE for the one line that ends a reload (event=reload
# with a result=; mtlsd may log event=reload problem=... lines before it).
RELOAD_LINE='(^|[ :])event="?reload"? (.* )?result='

# sighup_wait SECONDS: SIGHUP to mtlsd (by pid), then wait (bounded) for
# the next reload outcome line (RELOAD_LINE) after the current end of the
# log; prints it.  The mark moves to the end of the log first.
sighup_wait() {
	log_mark
	kill -HUP "$MTLSD_PID" 2>/dev/null || return 1
	wait_for_log "$RELOAD_LINE" "${1:-10}"
}

# reloadable_key SRC DST: copy the private key SRC to DST so that mtlsd can
# read it again after it dropped privileges (it reads keys as its own user
# when reloading): owner root, group nogroup (write_conf's group), mode
# 0640.  Not root: a plain 0600 copy.
reloadable_key() {
	cp "$1" "$2" || return 1
	chmod 600 "$2"
	if [ "$(id -u)" -eq 0 ]; then
		chgrp nogroup "$2" && chmod 640 "$2"
	fi
}

# now_ms: wall-clock time in milliseconds since the epoch.
now_ms() { date +%s%3N; }

# node_echo CERT KEY PORT [SIZE]: tests/integration/tls_client.js to an echo
# listener on 127.0.0.1:PORT with that certificate (a PKI name such as
# "alice" for $PKI/alice.crt and .key, or paths); status 0 only when SIZE
# (default 1000) random bytes came back intact.  Output appended to
# $LOGDIR/node_echo.out.
node_echo() {
	local cert=$1 key=$2 port=$3 size=${4:-1000}
	[ -f "$cert" ] || cert=$PKI/$cert.crt
	[ -f "$key" ] || key=$PKI/$key.key
	echo "== node_echo $cert $port $size" >>"$LOGDIR/node_echo.out"
	timeout 70 node "$TESTS/tls_client.js" 127.0.0.1 "$port" "$PKI/ca.crt" \
	    "$cert" "$key" "$size" >>"$LOGDIR/node_echo.out" 2>&1
}

# expect_echo NAME CERT KEY PORT: pass NAME when node_echo succeeds.
expect_echo() {
	if node_echo "$2" "$3" "$4"; then
		pass "$1"
	else
		fail "$1" "no echo through 127.0.0.1:$4 with $2: $(tail -n 2 "$LOGDIR/node_echo.out" | tr '\n' ' ')"
	fi
}

# expect_refused NAME REASON LISTENER CERT KEY PORT: node_echo fails, mtlsd
# logs "event=handshake result=fail reason=REASON listener=LISTENER" and
# the echo backend (BACKEND_LOG[echo]) gets no new connection.
expect_refused() {
	local name=$1 reason=$2 lst=$3 cert=$4 key=$5 port=$6 before after line
	before=$(backend_conns echo)
	log_mark
	if node_echo "$cert" "$key" "$port"; then
		fail "$name" "the client got its echo through $lst (want reason=$reason)"
		return
	fi
	after=$(backend_conns echo)
	if line=$(wait_event 5 event=handshake result=fail "reason=$reason" \
	    "listener=$lst"); then
		if [ "$before" = "$after" ]; then
			pass "$name"
		else
			fail "$name" "logged reason=$reason but the backend got a connection ($before -> $after)"
		fi
	else
		line=$(log_find event=handshake "listener=$lst")
		fail "$name" "want event=handshake result=fail reason=$reason listener=$lst; got: ${line:-nothing}"
	fi
}

# ---------------------------------------------------------------- responder

# add_responder NAME LISTEN [key=value ...]: add_listener for a listener
# with responder = true (mtlsd answers HTTP itself): no upstream line, and
# proxy_protocol left out (its default, "off").
add_responder() {
	local name=$1 listen=$2 n
	shift 2
	add_listener "$name" "$listen" "" responder=true "$@"
	n=$((${#_LISTENERS[@]} - 1))
	_LISTENERS[n]=${_LISTENERS[n]/$'\n    upstream = "";'/}
}
