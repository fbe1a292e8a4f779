#!/bin/bash
# run.sh: measure mtlsd against stunnel, haproxy and nginx, side by side in
# one run, with the same certificates, backend and client, and write
# tests/bench/RESULTS.md.  See tests/bench/README.md.
#
# Every server runs at once, each pinned to CPU 0 (idle ones cost nothing),
# and the runs of the servers take turns, so that drift of the machine
# lands on all of them alike.  The load generator, the echo backend and
# authbench run on CPU 1.  Loopback only.  Everything started is stopped
# by pid on exit, and checked to be gone.
#
# Environment (defaults in brackets):
#   BENCH_SYSTEM_DIR  tree built against the system wolfSSL [top of tree]
#   BENCH_TUNED_DIR   the same built against the tuned wolfSSL [none]
#   BENCH_CLIENT      loadgen binary [tuned tree's, else system tree's]
#   BENCH_ECHO        echo binary [beside BENCH_CLIENT]
#   BENCH_OUT         work directory [tests/out/bench]
#   BENCH_RESULTS     the report [tests/bench/RESULTS.md; quick runs:
#                     BENCH_OUT/RESULTS.md]
#   BENCH_PEERS       peers to measure ["stunnel haproxy nginx"]
#   BENCH_RUNS        runs per handshake figure, median reported [3]
#   BENCH_SECONDS     seconds per handshake run [10]
#   BENCH_CONNS       concurrent handshakes [16]
#   BENCH_BULK        bytes per bulk figure [1G]
#   BENCH_IDLE        idle connections for RSS per connection [5000]
#   BENCH_CONC        concurrent connections held [10000]
#   BENCH_LONG        handshakes of the RSS growth test [1000000]
#   BENCH_AUTH_SECONDS, BENCH_AUTH_COUNT  authbench's --seconds, --count
#   BENCH_TLS12_GROUP TLS 1.2 key exchange offered [x25519]
#   BENCH_QUICK=1     a smoke run of a few minutes: 2 s runs, 1 run, 1,000
#                     idle and concurrent connections, 100 MiB bulk, 20,000
#                     handshakes for growth (explicit settings still win)
set -u
export LC_ALL=C

TOP=$(cd "$(dirname "$0")/../.." && pwd)
BENCH_SRC=$TOP/tests/bench
T_START=$(date +%s)

say() { printf 'bench: [%4ds] %s\n' "$(($(date +%s) - T_START))" "$*" >&2; }
die() { say "$*"; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
	die "must run as root: mtlsd binds and drops to nobody, nginx starts its worker as another user, and the servers need raised descriptor limits"
fi

# ------------------------------------------------------------- settings

QUICK=${BENCH_QUICK:-0}
[ "$QUICK" = 1 ] || QUICK=0
if [ "$QUICK" = 1 ]; then
	RUNS=${BENCH_RUNS:-1}
	HS_SECONDS=${BENCH_SECONDS:-2}
	BULK=${BENCH_BULK:-100M}
	IDLE_N=${BENCH_IDLE:-1000}
	CONC_N=${BENCH_CONC:-1000}
	LONG=${BENCH_LONG:-20000}
	AUTH_SECONDS=${BENCH_AUTH_SECONDS:-1}
	AUTH_COUNT=${BENCH_AUTH_COUNT:-3000}
else
	RUNS=${BENCH_RUNS:-3}
	HS_SECONDS=${BENCH_SECONDS:-10}
	BULK=${BENCH_BULK:-1G}
	IDLE_N=${BENCH_IDLE:-5000}
	CONC_N=${BENCH_CONC:-10000}
	LONG=${BENCH_LONG:-1000000}
	AUTH_SECONDS=${BENCH_AUTH_SECONDS:-3}
	AUTH_COUNT=${BENCH_AUTH_COUNT:-20000}
fi
HS_CONNS=${BENCH_CONNS:-16}
GROWTH_FIRST=10000
TLS12_GROUP=${BENCH_TLS12_GROUP:-x25519}
PEERS=${BENCH_PEERS-stunnel haproxy nginx}
CONC_TARGET=$CONC_N

for v in RUNS HS_SECONDS IDLE_N CONC_N LONG HS_CONNS AUTH_COUNT; do
	case ${!v} in
	''|*[!0-9]*) die "$v must be a whole number, not \"${!v}\"" ;;
	esac
done
[ "$LONG" -gt "$GROWTH_FIRST" ] ||
    die "BENCH_LONG must be more than $GROWTH_FIRST"

abspath() { (cd "$1" 2>/dev/null && pwd); }
SYS_DIR=$(abspath "${BENCH_SYSTEM_DIR:-$TOP}") ||
    die "BENCH_SYSTEM_DIR ${BENCH_SYSTEM_DIR:-} is not a directory"
TUNED_DIR=
if [ -n "${BENCH_TUNED_DIR:-}" ]; then
	TUNED_DIR=$(abspath "$BENCH_TUNED_DIR") ||
	    die "BENCH_TUNED_DIR $BENCH_TUNED_DIR is not a directory"
fi
OUT=${BENCH_OUT:-$TOP/tests/out/bench}
# A quick run is a smoke test: its report stays in the work directory
# unless BENCH_RESULTS says otherwise.
if [ "$QUICK" = 1 ]; then
	RESULTS=${BENCH_RESULTS:-$OUT/RESULTS.md}
else
	RESULTS=${BENCH_RESULTS:-$BENCH_SRC/RESULTS.md}
fi

declare -A VDIR=([system]=$SYS_DIR)
VARIANTS=(system)
if [ -n "$TUNED_DIR" ]; then
	VDIR[tuned]=$TUNED_DIR
	VARIANTS+=(tuned)
fi

CLIENT=${BENCH_CLIENT:-}
if [ -z "$CLIENT" ]; then
	if [ -n "$TUNED_DIR" ] && [ -x "$TUNED_DIR/tests/bench/loadgen" ]; then
		CLIENT=$TUNED_DIR/tests/bench/loadgen
	else
		CLIENT=$SYS_DIR/tests/bench/loadgen
	fi
fi
ECHO=${BENCH_ECHO:-$(dirname "$CLIENT")/echo}
[ -x "$ECHO" ] || ECHO=$SYS_DIR/tests/bench/echo
[ -x "$CLIENT" ] || die "no load generator at $CLIENT (make bench-progs)"
[ -x "$ECHO" ] || die "no echo backend at $ECHO (make bench-progs)"
for v in "${VARIANTS[@]}"; do
	[ -x "${VDIR[$v]}/mtlsd/mtlsd" ] ||
	    die "no mtlsd at ${VDIR[$v]}/mtlsd/mtlsd (make)"
done
command -v taskset >/dev/null || die "taskset is missing (util-linux)"
command -v ss >/dev/null || die "ss is missing (iproute2)"
command -v python3 >/dev/null || die "python3 is missing"
command -v openssl >/dev/null || die "openssl is missing"

# shellcheck source=tests/bench/peers.sh
. "$BENCH_SRC/peers.sh"
for v in "${VARIANTS[@]}"; do
	PEER_MTLSD_BIN[$v]=${VDIR[$v]}/mtlsd/mtlsd
done

NCPU=$(nproc)
SERVER_CPU=0
CLIENT_CPU=1
if [ "$NCPU" -lt 2 ]; then
	CLIENT_CPU=0
	say "only one CPU: the client shares CPU 0 with the servers"
fi
PEER_CPU=$SERVER_CPU
CLK=$(getconf CLK_TCK)

# Descriptors: the servers get PEER_NOFILE (peers.sh), so do we and our
# children (loadgen, echo).  A proxied connection costs a server two
# descriptors (client and upstream), so the hard limit caps how many
# connections any server can hold at once.
ulimit -n "$PEER_NOFILE" 2>/dev/null
CONC_MAX=$(( (PEER_NOFILE - 100) / 2 ))
CONC_NOTE=
if [ "$CONC_N" -gt "$CONC_MAX" ]; then
	CONC_NOTE="the descriptor hard limit here is $(ulimit -Hn) per process (raising it needs CAP_SYS_RESOURCE, which this machine does not give root), and a proxied connection holds two descriptors in the server, so at most $CONC_MAX connections could be held: $CONC_MAX were tested instead of $CONC_N"
	say "$CONC_NOTE"
	CONC_N=$CONC_MAX
fi
if [ "$IDLE_N" -gt "$CONC_MAX" ]; then
	IDLE_N=$CONC_MAX
fi

# ----------------------------------------------------------- work dir

case $OUT in
/|'') die "refusing BENCH_OUT=\"$OUT\"" ;;
esac
rm -rf "$OUT"
mkdir -p "$OUT" || die "cannot create $OUT"
OUT=$(abspath "$OUT")
chmod 755 "$OUT"
DATA=$OUT/data.txt
META=$OUT/meta.txt
RAW=$OUT/raw.log
LGERR=$OUT/loadgen.err
: >"$DATA"
: >"$META"
: >"$RAW"
: >"$LGERR"
PKI=$OUT/pki

meta() { printf '%s=%s\n' "$1" "$2" >>"$META"; }
data() { printf '%s\n' "$*" >>"$DATA"; }
raw() { printf '[%s] %s\n' "$1" "$2" >>"$RAW"; }

# --------------------------------------------------------- processes

STARTED=()	# pids of helpers started here (echo, loadgen, authbench)
declare -A S_MAIN=() S_PIDS=() S_PORT=() S_QSOCK=() S_DEAD=()
ALL_SERVER_PIDS=()

alive() {
	local state
	[ -r "/proc/$1/stat" ] || return 1
	state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# stop_pid PID [SECONDS]: SIGTERM, wait (bounded), SIGKILL; reap.
stop_pid() {
	local pid=$1 secs=${2:-5} i
	[ -n "$pid" ] || return 0
	if alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < secs * 10; i++)); do
			alive "$pid" || break
			sleep 0.1
		done
		alive "$pid" && kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	return 0
}

select_server() {
	PEER_NAME=$1
	PEER_MAIN=${S_MAIN[$1]:-}
	read -r -a PEER_PIDS <<<"${S_PIDS[$1]:-}"
	PEER_QUERY_SOCK=${S_QSOCK[$1]:-}
}

save_server() {
	S_MAIN[$PEER_NAME]=$PEER_MAIN
	S_PIDS[$PEER_NAME]="${PEER_PIDS[*]}"
	S_QSOCK[$PEER_NAME]=$PEER_QUERY_SOCK
	ALL_SERVER_PIDS+=("${PEER_PIDS[@]}")
}

# stop_server NAME: stop it; prints why when it did not exit on SIGTERM.
stop_server() {
	local name=$1
	[ -n "${S_MAIN[$name]:-}" ] || return 0
	select_server "$name"
	if ! peer_stop; then
		say "$name did not exit within 10 s of SIGTERM; killed"
		meta "problem" "$name did not exit within 10 s of SIGTERM and was killed"
	fi
	S_MAIN[$name]=
	S_PIDS[$name]=
}

cleanup() {
	local name pid left=()
	trap - EXIT
	for name in "${!S_MAIN[@]}"; do
		stop_server "$name"
	done
	for pid in "${STARTED[@]}"; do
		stop_pid "$pid" 3
	done
	for pid in "${ALL_SERVER_PIDS[@]}" "${STARTED[@]}"; do
		alive "$pid" && left+=("$pid")
	done
	if [ "${#left[@]}" -gt 0 ]; then
		say "still running after the stop: ${left[*]}"
	fi
}
trap cleanup EXIT
trap 'say "interrupted"; exit 143' TERM INT HUP

# free_port: an unused port on 127.0.0.1, never the same one twice (the
# ports handed out are kept in a file: this runs in $(...) subshells).
free_port() {
	local port i
	for ((i = 0; i < 50; i++)); do
		port=$(python3 -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])') || return 1
		grep -qx "$port" "$OUT/ports" 2>/dev/null && continue
		echo "$port" >>"$OUT/ports"
		echo "$port"
		return 0
	done
	return 1
}

# kv KEY LINE: the value of KEY=value in LINE.
kv() {
	awk -v k="$1" '{
		for (i = 1; i <= NF; i++) {
			p = index($i, "=")
			if (p > 1 && substr($i, 1, p - 1) == k) {
				print substr($i, p + 1); exit
			}
		}
	}' <<<"$2"
}

# calc EXPR: awk arithmetic, one decimal.
calc() { awk "BEGIN { printf \"%.1f\", $1 }"; }

# loadgen SERVER ARGS...: run the client against SERVER's port, pinned;
# LG_LINE is its last result line (empty when it printed none).
LG_LINE=
loadgen() {
	local port=${S_PORT[$1]} out
	shift
	out=$(taskset -c "$CLIENT_CPU" "$CLIENT" --connect "127.0.0.1:$port" \
	    --ca "$PKI/ca.crt" --cert "$PKI/client.crt" \
	    --key "$PKI/client.key" "$@" 2>>"$LGERR")
	LG_LINE=$(printf '%s\n' "$out" | grep '^mode=' | tail -n 1)
}

# lg_errors_tail: the last few distinct loadgen complaints.
lg_errors_tail() {
	tail -n 50 "$LGERR" | sort | uniq -c | sort -rn | head -n 3 |
	    awk '{ $1 = $1 "x"; print }' | tr '\n' ';'
}

server_died() {
	local s=$1 why=$2
	[ -n "${S_DEAD[$s]:-}" ] && return 0
	S_DEAD[$s]=$why
	say "$s: $why"
	data "server=$s fig=dead why=${why// /_}"
	meta "problem" "$s: $why"
}

check_alive() {
	select_server "$1"
	peer_alive || server_died "$1" "exited during the run (log: $OUT/$1/$1.log)"
}

usable() { [ -n "${S_MAIN[$1]:-}" ] && [ -z "${S_DEAD[$1]:-}" ]; }

# ---------------------------------------------------------------- start

say "work directory $OUT; server on CPU $SERVER_CPU, client on CPU $CLIENT_CPU; quick=$QUICK"
meta started "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
meta quick "$QUICK"
meta runs "$RUNS"
meta hs_seconds "$HS_SECONDS"
meta hs_conns "$HS_CONNS"
meta bulk "$BULK"
meta idle_n "$IDLE_N"
meta conc_n "$CONC_N"
meta conc_target "$CONC_TARGET"
meta conc_note "$CONC_NOTE"
meta long "$LONG"
meta growth_first "$GROWTH_FIRST"
meta nofile "$PEER_NOFILE"
meta variants "${VARIANTS[*]}"
meta client "$CLIENT"
meta server_cpu "$SERVER_CPU"
meta client_cpu "$CLIENT_CPU"

# machine and versions
meta cpu_model "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
meta cpus "$NCPU"
meta kernel "$(uname -r)"
meta debian "$(cat /etc/debian_version 2>/dev/null || echo '?')"
meta os "$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-?}")"
meta loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)"
meta mem "$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
meta mtlsd_version "$(git -C "$TOP" describe --always --dirty --tags 2>/dev/null || echo unknown)"
meta openssl "$(openssl version 2>/dev/null)"
if [ -S /dev/log ]; then
	meta syslog "present"
else
	meta syslog "absent"
fi

python3 "$BENCH_SRC/mkbenchpki.py" "$PKI" || die "cannot make the bench PKI"

# the crypto bound of each variant, on the server's CPU, before any load
for v in "${VARIANTS[@]}"; do
	cb=${VDIR[$v]}/tests/bench/cryptobound
	if [ ! -x "$cb" ]; then
		say "no cryptobound in ${VDIR[$v]} (make bench-progs): no crypto bound for $v"
		meta problem "no cryptobound binary for the $v variant"
		continue
	fi
	line=$(taskset -c "$SERVER_CPU" "$cb" 2>>"$OUT/cryptobound.err" | tail -n 1)
	raw "cryptobound $v" "$line"
	data "server=mtlsd-$v fig=crypto $line"
	meta "wolfssl_$v" "$(kv lib "$line")"
	say "crypto bound ($v, $(kv lib "$line")): $(kv handshake_us "$line") µs/handshake, $(kv bound_per_s "$line")/s"
done

# the echo backend, shared by every server
ECHO_PORT=$(free_port) || die "no free port"
taskset -c "$CLIENT_CPU" "$ECHO" --listen "127.0.0.1:$ECHO_PORT" \
    >"$OUT/echo.log" 2>&1 &
ECHO_PID=$!
STARTED+=("$ECHO_PID")
for ((i = 0; i < 50; i++)); do
	grep -q 'listening' "$OUT/echo.log" 2>/dev/null && break
	alive "$ECHO_PID" || die "echo did not start: $(cat "$OUT/echo.log")"
	sleep 0.1
done

SERVERS=()
for v in "${VARIANTS[@]}"; do SERVERS+=("mtlsd-$v"); done
for p in $PEERS; do SERVERS+=("$p"); done
meta servers "${SERVERS[*]}"

for s in "${SERVERS[@]}"; do
	case $s in
	mtlsd-*) ver=$(kv lib "$(grep "^server=$s fig=crypto" "$DATA")") ;;
	*) ver=$(peer_version "$s") ;;
	esac
	meta "version_$s" "${ver:-?}"
	port=$(free_port) || die "no free port"
	S_PORT[$s]=$port
	if ! peer_start "$s" "$port" "$ECHO_PORT" "$PKI" "$OUT/$s"; then
		say "$s did not start: $PEER_ERROR"
		meta problem "$s did not start: $PEER_ERROR"
		data "server=$s fig=dead why=did_not_start"
		S_DEAD[$s]="did not start: $PEER_ERROR"
		continue
	fi
	save_server
	say "$s up on 127.0.0.1:$port (pids ${PEER_PIDS[*]}, RSS $(peer_rss_kib) KiB)"
done

# ------------------------------------------------------------ pre-flight
# Each server: the TLS 1.3 and 1.2 handshake with the client certificate
# (what it negotiates), an echo through it, and a refusal without one.

sclient() {
	local port=$1 proto=$2
	shift 2
	# stdin stays open a moment, for the echo to come back before EOF
	{ echo ping; sleep 1; } | timeout 15 openssl s_client \
	    -connect "127.0.0.1:$port" "$proto" -groups X25519:P-256 \
	    -CAfile "$PKI/ca.crt" -verify_return_error "$@" 2>&1
}

for s in "${SERVERS[@]}"; do
	usable "$s" || continue
	port=${S_PORT[$s]}
	pre="server=$s fig=preflight"
	for p in 1.3 1.2; do
		out=$(sclient "$port" "-tls${p/./_}" -cert "$PKI/client.crt" \
		    -key "$PKI/client.key")
		cipher=$(printf '%s\n' "$out" | sed -n 's/^New, [^,]*, Cipher is //p' | head -n 1)
		group=$(printf '%s\n' "$out" | sed -n 's/^Server Temp Key: \([^,]*\).*/\1/p' | head -n 1)
		echoed=no
		printf '%s\n' "$out" | grep -qx ping && echoed=yes
		pre="$pre tls${p/./}_cipher=${cipher:-none} tls${p/./}_group=${group:-none} tls${p/./}_echo=$echoed"
		[ "$echoed" = yes ] ||
		    server_died "$s" "no echo through it with openssl s_client -tls${p/./_} and the client certificate"
	done
	out=$(sclient "$port" -tls1_3)
	refused=yes
	printf '%s\n' "$out" | grep -qx ping && refused=no
	pre="$pre nocert_refused=$refused"
	[ "$refused" = yes ] ||
	    server_died "$s" "it let a client without a certificate through"
	data "$pre"
	say "pre-flight $s: $(echo "$pre" | cut -d' ' -f3-)"
done

# The load generator itself, in both versions, through every server: a
# few handshakes each.  An OpenSSL server refuses a P-256 certificate to
# a TLS 1.2 client that lists only x25519; loadgen adds P-256 as second
# choice for that, and if it does not, TLS 1.2 is run with P-256 alone.
smoke() {
	local s=$1 tls=$2 group=$3
	loadgen "$s" --tls "$tls" --group "$group" --mode handshake \
	    --conns 4 --count 20 --seconds 20
	[ "$(kv handshakes "$LG_LINE")" = 20 ] && [ "$(kv errors "$LG_LINE")" = 0 ]
}
for s in "${SERVERS[@]}"; do
	usable "$s" || continue
	if ! smoke "$s" 1.3 x25519; then
		server_died "$s" "loadgen TLS 1.3 failed: ${LG_LINE:-no result} $(lg_errors_tail)"
	fi
done
for s in "${SERVERS[@]}"; do
	usable "$s" || continue
	if ! smoke "$s" 1.2 "$TLS12_GROUP"; then
		if [ "$TLS12_GROUP" != p256 ] && smoke "$s" 1.2 p256; then
			say "TLS 1.2 with $TLS12_GROUP fails through $s but p256 works: TLS 1.2 runs with p256 for every server"
			meta tls12_note "loadgen's TLS 1.2 handshake offering $TLS12_GROUP failed through $s ($(lg_errors_tail)), so TLS 1.2 was measured with P-256 key exchange for every server"
			TLS12_GROUP=p256
		else
			server_died "$s" "loadgen TLS 1.2 failed: ${LG_LINE:-no result} $(lg_errors_tail)"
		fi
	fi
done
meta tls12_group "$TLS12_GROUP"

# -------------------------------------------------- 1. full handshakes

hs_run() {
	local s=$1 tls=$2 run=$3 group t0 t1 hs errs rate secs cpu_us util
	group=x25519
	[ "$tls" = 1.2 ] && group=$TLS12_GROUP
	select_server "$s"
	t0=$(peer_cpu_ticks)
	loadgen "$s" --tls "$tls" --group "$group" --mode handshake \
	    --conns "$HS_CONNS" --seconds "$HS_SECONDS"
	t1=$(peer_cpu_ticks)
	raw "$s tls$tls run $run" "${LG_LINE:-(no result)}"
	hs=$(kv handshakes "$LG_LINE")
	errs=$(kv errors "$LG_LINE")
	rate=$(kv rate "$LG_LINE")
	secs=$(kv seconds "$LG_LINE")
	if [ -z "$hs" ] || [ "$hs" -eq 0 ]; then
		say "$s tls$tls run $run/$RUNS: no handshakes (${LG_LINE:-no result}) $(lg_errors_tail)"
		data "server=$s fig=hs${tls/./} run=$run failed=1"
		check_alive "$s"
		return
	fi
	cpu_us=$(calc "($t1 - $t0) * 1000000 / $CLK / $hs")
	util=$(calc "($t1 - $t0) * 100 / $CLK / $secs")
	data "server=$s fig=hs${tls/./} run=$run ticks=$((t1 - t0)) clk=$CLK group=$group $LG_LINE"
	say "$s tls$tls run $run/$RUNS: $rate/s, $cpu_us µs/hs of server CPU (server busy $util%, errors $errs)"
	[ "${errs:-0}" -gt 0 ] && say "  loadgen errors: $(lg_errors_tail)"
	check_alive "$s"
}

for ((run = 1; run <= RUNS; run++)); do
	for tls in 1.3 1.2; do
		for s in "${SERVERS[@]}"; do
			usable "$s" && hs_run "$s" "$tls" "$run"
		done
	done
done

# ----------------------------------------------------- 2. throughput

for s in "${SERVERS[@]}"; do
	for c in 1 64; do
		usable "$s" || continue
		select_server "$s"
		t0=$(peer_cpu_ticks)
		loadgen "$s" --tls 1.3 --group x25519 --mode bulk --conns "$c" \
		    --bytes "$BULK" --timeout 60
		t1=$(peer_cpu_ticks)
		raw "$s bulk conns=$c" "${LG_LINE:-(no result)}"
		if [ -z "$LG_LINE" ]; then
			say "$s bulk $c conn(s): no result $(lg_errors_tail)"
			data "server=$s fig=bulk$c failed=1"
		else
			bytes=$(kv bytes "$LG_LINE")
			cpu_gib=$(awk -v t=$((t1 - t0)) -v c="$CLK" -v b="$bytes" \
			    'BEGIN { printf "%.3f", (b > 0 ? t / c / (b / 1073741824) : 0) }')
			data "server=$s fig=bulk$c ticks=$((t1 - t0)) clk=$CLK cpu_s_gib=$cpu_gib $LG_LINE"
			say "$s bulk $c conn(s): $(kv mib_s "$LG_LINE") MiB/s, $cpu_gib s of server CPU per GiB (errors $(kv errors "$LG_LINE"))"
		fi
		check_alive "$s"
	done
done

# ------------------------------------------- 3, 4. idle connections held

# idle_hold SERVER N LABEL [--bind ADDR]: open N connections and hold them;
# RSS and threads of the server before and once all are up; then the
# check.  Result in a data line.
idle_hold() {
	local s=$1 n=$2 label=$3 ready out pid i limit rss0 rss1 thr0 thr1 est alive dead errs line check
	shift 3
	select_server "$s"
	ready=$OUT/$s/idle-$label.ready
	out=$OUT/$s/idle-$label.out
	rm -f "$ready"
	rss0=$(peer_rss_kib)
	thr0=$(peer_threads)
	taskset -c "$CLIENT_CPU" "$CLIENT" --connect "127.0.0.1:${S_PORT[$s]}" \
	    --ca "$PKI/ca.crt" --cert "$PKI/client.crt" --key "$PKI/client.key" \
	    --tls 1.3 --group x25519 --mode idle --conns "$n" --hold 3600 \
	    --ready-file "$ready" --timeout 60 "$@" >"$out" 2>>"$LGERR" &
	pid=$!
	STARTED+=("$pid")
	limit=$((120 + n / 20))
	for ((i = 0; i < limit * 10; i++)); do
		[ -s "$ready" ] && break
		alive "$pid" || break
		sleep 0.1
	done
	sleep 1
	rss1=$(peer_rss_kib)
	thr1=$(peer_threads)
	peer_alive || server_died "$s" "exited while holding $n connections"
	stop_pid "$pid" 300
	line=$(grep '^mode=idle ' "$out" | tail -n 1)
	check=$(grep '^mode=idle-check' "$out" | tail -n 1)
	raw "$s $label" "${line:-(no result)}"
	raw "$s $label" "${check:-(no check)}"
	est=$(kv established "$line")
	errs=$(kv errors "$line")
	alive=$(kv alive "$check")
	dead=$(kv dead "$check")
	data "server=$s fig=$label n=$n rss0=$rss0 rss1=$rss1 threads0=$thr0 threads1=$thr1 established=${est:-0} errors=${errs:-0} alive=${alive:-0} dead=${dead:-0} idle_seconds=$(kv seconds "$line")"
	say "$s $label: $n asked, ${est:-0} established (errors ${errs:-?}), ${alive:-0} alive at the check; RSS $rss0 -> $rss1 KiB ($(calc "($rss1 - $rss0) / ($n > 0 ? $n : 1)") KiB/conn), threads $thr0 -> $thr1"
	[ "${errs:-0}" != 0 ] && say "  loadgen errors: $(lg_errors_tail)"
	check_alive "$s"
	# let the server close the upstream side before the next figure
	sleep 2
}

for s in "${SERVERS[@]}"; do
	usable "$s" && idle_hold "$s" "$IDLE_N" idle
done
for s in "${SERVERS[@]}"; do
	usable "$s" && idle_hold "$s" "$CONC_N" conc --bind 127.0.0.2
done

# The rest only concerns mtlsd: the peers are done.
for s in "${SERVERS[@]}"; do
	case $s in mtlsd-*) ;; *) stop_server "$s" ;; esac
done

# ------------------------------------------------------ 5. authbench

for v in "${VARIANTS[@]}"; do
	dir=${VDIR[$v]}
	ab=$dir/tests/bench/authbench.sh
	s=mtlsd-$v-auth
	if [ ! -x "$ab" ] || [ ! -x "$dir/tests/bench/authbench" ] ||
	    [ ! -f "$dir/pam_mtls/pam_mtls.so" ]; then
		say "authbench or pam_mtls.so missing in $dir: no authbench for $v"
		meta problem "authbench not built for the $v variant"
		continue
	fi
	aport=$(free_port) || die "no free port"
	port=$(free_port) || die "no free port"
	S_PORT[$s]=$port
	if ! peer_start "$s" "$port" "$aport" "$PKI" "$OUT/$s"; then
		say "$s did not start: $PEER_ERROR"
		meta problem "$s did not start: $PEER_ERROR"
		continue
	fi
	save_server
	MTLS_TOP=$dir taskset -c "$CLIENT_CPU" "$ab" --listen "127.0.0.1:$aport" \
	    --query-socket "$PEER_QUERY_SOCK" --user nobody \
	    --seconds "$AUTH_SECONDS" --count "$AUTH_COUNT" \
	    >"$OUT/$s/authbench.out" 2>"$OUT/$s/authbench.err" &
	abpid=$!
	STARTED+=("$abpid")
	for ((i = 0; i < 100; i++)); do
		[ -n "$(ss -Hltn "sport = :$aport")" ] && break
		alive "$abpid" || break
		sleep 0.1
	done
	taskset -c "$CLIENT_CPU" "$CLIENT" --connect "127.0.0.1:$port" \
	    --ca "$PKI/ca.crt" --cert "$PKI/client.crt" --key "$PKI/client.key" \
	    --mode idle --conns 1 --hold 600 --timeout 60 \
	    >"$OUT/$s/idle.out" 2>"$OUT/$s/idle.err" &
	lgpid=$!
	STARTED+=("$lgpid")
	for ((i = 0; i < 6000; i++)); do
		alive "$abpid" || break
		sleep 0.1
	done
	alive "$abpid" && { say "authbench $v still running after 600 s; stopped"; kill -TERM "$abpid"; }
	wait "$abpid" 2>/dev/null
	abrc=$?
	stop_pid "$lgpid" 30
	line=$(grep -E '(^| )query_per_s=' "$OUT/$s/authbench.out" | tail -n 1)
	raw "authbench $v" "${line:-(no result, exit $abrc)}"
	if [ -n "$line" ]; then
		data "server=mtlsd-$v fig=auth rc=$abrc $line"
		say "authbench $v: $line"
	else
		say "authbench $v: no result (exit $abrc): $(tail -n 3 "$OUT/$s/authbench.err" | tr '\n' ' ')"
		meta problem "authbench $v gave no result (exit $abrc): $(tail -n 2 "$OUT/$s/authbench.err" | tr '\n' ' ')"
	fi
	stop_server "$s"
done

# ----------------------------------------------------- 6. RSS growth

gv=${VARIANTS[-1]}
s=mtlsd-$gv-growth
port=$(free_port) || die "no free port"
S_PORT[$s]=$port
if peer_start "$s" "$port" "$ECHO_PORT" "$PKI" "$OUT/$s"; then
	save_server
	done_hs=0
	rss_first=
	traj=
	chunks=5
	failed=0
	rest=$((LONG - GROWTH_FIRST))
	for ((k = 0; k <= chunks; k++)); do
		if [ "$k" -eq 0 ]; then
			n=$GROWTH_FIRST
		elif [ "$k" -eq "$chunks" ]; then
			n=$((LONG - done_hs))
		else
			n=$((rest / chunks))
		fi
		loadgen "$s" --tls 1.3 --group x25519 --mode handshake \
		    --conns "$HS_CONNS" --count "$n" --seconds 86400
		raw "$s chunk $k" "${LG_LINE:-(no result)}"
		got=$(kv handshakes "$LG_LINE")
		done_hs=$((done_hs + ${got:-0}))
		sleep 0.5
		select_server "$s"
		if ! peer_alive; then
			server_died "$s" "exited after $done_hs handshakes"
			failed=1
			break
		fi
		rss=$(peer_rss_kib)
		[ "$k" -eq 0 ] && rss_first=$rss
		traj="$traj${traj:+,}$done_hs:$rss"
		say "growth ($gv): $done_hs handshakes, RSS $rss KiB (chunk: $(kv rate "$LG_LINE")/s, errors $(kv errors "$LG_LINE"))"
		[ "${got:-0}" -lt "$n" ] && { failed=1; say "  fewer handshakes than asked: $(lg_errors_tail)"; }
	done
	data "server=mtlsd-$gv fig=growth variant=$gv first=$GROWTH_FIRST long=$LONG done=$done_hs rss_first=${rss_first:-0} rss_last=${rss:-0} failed=$failed traj=$traj"
	stop_server "$s"
else
	say "$s did not start: $PEER_ERROR"
	meta problem "$s did not start: $PEER_ERROR"
fi

# ------------------------------------------------------------- stop

for s in "${SERVERS[@]}"; do
	[ -n "${S_MAIN[$s]:-}" ] || continue
	stop_server "$s"
done
stop_pid "$ECHO_PID" 5
left=()
for pid in "${ALL_SERVER_PIDS[@]}" "${STARTED[@]}"; do
	alive "$pid" && left+=("$pid")
done
if [ "${#left[@]}" -gt 0 ]; then
	meta problem "processes still running after the stop: ${left[*]}"
	say "still running after the stop: ${left[*]}"
fi
for s in "${!S_PORT[@]}"; do
	if [ -n "$(ss -Hltn "sport = :${S_PORT[$s]}")" ]; then
		meta problem "port ${S_PORT[$s]} ($s) still listening after the stop"
	fi
done
# server logs: anything that looks like trouble, less what the bench
# itself causes: the pre-flight's client without a certificate (refused,
# or, in TLS 1.3, its data after the refusal), and the handshakes still in
# flight when a timed run ends, which the client drops
EXPECTED='did not return a certificate|sent no required SSL certificate|certificate required|application data after close notify|unexpected eof while reading|closed \(SSL_read\) with 1 unsent byte'
for s in "${SERVERS[@]}"; do
	for f in "$OUT/$s/$s.log" "$OUT/$s/nginx-error.log"; do
		[ -s "$f" ] || continue
		trouble=$(grep -iE 'error|alert|fatal|emerg|crit|warn' "$f" |
		    grep -vE "$EXPECTED")
		[ -n "$trouble" ] || continue
		meta "log_$s" "$(printf '%s\n' "$trouble" | wc -l) lines with errors or warnings in $f, e.g.: $(printf '%s\n' "$trouble" | head -n 1 | cut -c1-200)"
	done
done

meta elapsed_s "$(($(date +%s) - T_START))"
meta loadavg_end "$(cut -d' ' -f1-3 /proc/loadavg)"
meta loadgen_errors "$(wc -l <"$LGERR")"
meta loadgen_errors_top "$(sed 's/[0-9][0-9]* more failures/N more failures/' "$LGERR" |
    sort | uniq -c | sort -rn | head -n 3 | awk '{ $1 = $1 "×"; print }' |
    paste -sd ';' | sed 's/;/; /g')"

# ----------------------------------------------------------- report

python3 - "$DATA" "$META" "$RESULTS" "$OUT" "$BENCH_SRC/why.md" <<'PYEOF' || die "cannot write $RESULTS"
import statistics
import sys

data_path, meta_path, results_path, out_dir, why_path = sys.argv[1:6]

meta = {}
problems = []
for line in open(meta_path):
    line = line.rstrip("\n")
    if "=" not in line:
        continue
    k, v = line.split("=", 1)
    if k == "problem":
        problems.append(v)
    else:
        meta[k] = v

rows = []
for line in open(data_path):
    d = {}
    for tok in line.split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            d[k] = v
    if "server" in d and "fig" in d:
        rows.append(d)


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def get(server, fig):
    return [r for r in rows if r["server"] == server and r["fig"] == fig]


def one(server, fig):
    r = get(server, fig)
    return r[-1] if r else None


servers = meta.get("servers", "").split()
peers = [s for s in servers if not s.startswith("mtlsd-")]
mtlsds = [s for s in servers if s.startswith("mtlsd-")]
variants = meta.get("variants", "").split()
dead = {r["server"]: r.get("why", "").replace("_", " ")
        for r in rows if r["fig"] == "dead"}


def fmt(v, nd=0, unit=""):
    if v is None:
        return "–"
    if nd == 0:
        return f"{v:,.0f}{unit}"
    return f"{v:,.{nd}f}{unit}"


# ---- handshakes
hs = {}
for s in servers:
    for fig in ("hs13", "hs12"):
        runs = [r for r in get(s, fig) if "handshakes" in r and
                num(r.get("handshakes"))]
        if not runs:
            hs[(s, fig)] = None
            continue
        cpu = [num(r["ticks"]) * 1e6 / num(r["clk"]) / num(r["handshakes"])
               for r in runs]
        util = [num(r["ticks"]) / num(r["clk"]) / num(r["seconds"]) * 100
                for r in runs]
        med_cpu = statistics.median(cpu)
        hs[(s, fig)] = {
            "rate": statistics.median([num(r["rate"]) for r in runs]),
            "cpu_us": med_cpu,
            "per_core": 1e6 / med_cpu if med_cpu > 0 else None,
            "util": statistics.median(util),
            "p50": statistics.median([num(r["p50_us"]) for r in runs]),
            "p99": statistics.median([num(r["p99_us"]) for r in runs]),
            "errors": sum(int(num(r.get("errors")) or 0) for r in runs),
            "runs": len(runs),
            "all_rates": [num(r["rate"]) for r in runs],
            "all_cpu": cpu,
        }

# ---- bulk
bulk = {}
for s in servers:
    for c in ("1", "64"):
        r = one(s, "bulk" + c)
        if r and "mib_s" in r:
            bulk[(s, c)] = {"mib_s": num(r["mib_s"]),
                            "cpu_gib": num(r["cpu_s_gib"]),
                            "errors": int(num(r.get("errors")) or 0)}
        else:
            bulk[(s, c)] = None

# ---- idle / conc
idle = {}
conc = {}
for s in servers:
    r = one(s, "idle")
    if r:
        n = num(r["n"])
        est = num(r["established"])
        per = (num(r["rss1"]) - num(r["rss0"])) / est if est else None
        idle[s] = dict(r, per=per)
    r = one(s, "conc")
    if r:
        ok = (num(r["established"]) == num(r["n"]) and
              num(r["alive"]) == num(r["n"]))
        conc[s] = dict(r, ok=ok)

crypto = {v: one("mtlsd-" + v, "crypto") for v in variants}
auth = {v: one("mtlsd-" + v, "auth") for v in variants}
growth = None
for v in variants:
    g = one("mtlsd-" + v, "growth")
    if g:
        growth = g


def best_peer(getter, lower=False):
    vals = [(getter(p), p) for p in peers]
    vals = [(v, p) for v, p in vals if v is not None and v > 0]
    if not vals:
        return None, None
    v, p = (min if lower else max)(vals)
    return v, p


def verdict(value, target, lower=False):
    if value is None or target is None:
        return "n/a"
    if not lower:
        if value >= target:
            return f"**MET**, {(value / target - 1) * 100:.0f}% above the target"
        return f"**MISSED**, {(1 - value / target) * 100:.0f}% below the target"
    if value <= target:
        return f"**MET**, {(1 - value / target) * 100:.0f}% under the limit"
    return f"**MISSED**, {(value / target - 1) * 100:.0f}% over the limit"


out = []
w = out.append
w("# mtlsd benchmark results")
w("")
w(f"Run started {meta.get('started', '?')}, took "
  f"{int(num(meta.get('elapsed_s')) or 0) // 60} min "
  f"{int(num(meta.get('elapsed_s')) or 0) % 60} s"
  + (" — **quick smoke run (BENCH_QUICK=1): short runs, small counts; "
     "not for conclusions**" if meta.get("quick") == "1" else "") + ".")
w("Written by `tests/bench/run.sh` (`make bench`); raw client lines in "
  "`BENCH_OUT/raw.log`, server configurations and logs in "
  "`BENCH_OUT/<server>/`.")
w("")
w("## Machine and versions")
w("")
w("| | |")
w("|---|---|")
w(f"| CPU | {meta.get('cpu_model', '?')}, {meta.get('cpus', '?')} cores "
  f"online |")
w(f"| memory | {meta.get('mem', '?')} |")
w(f"| load average (1, 5, 15 min) | {meta.get('loadavg_start', '?')} at the "
  f"start, {meta.get('loadavg_end', '?')} at the end (this run adds about "
  "2 while it measures; more means other work shared the machine) |")
w(f"| kernel | {meta.get('kernel', '?')} |")
w(f"| OS | {meta.get('os', '?')} (Debian {meta.get('debian', '?')}) |")
w(f"| mtlsd | {meta.get('mtlsd_version', '?')} |")
how = {"system": "the distribution's shared library",
       "tuned": "the distribution's source rebuilt with assembly, "
                "static (packaging/wolfssl-tuned.sh)"}
for v in variants:
    w(f"| wolfSSL ({v}) | {meta.get('wolfssl_' + v, '?')}, "
      f"{how.get(v, '')} |")
if "tuned" not in variants:
    w("| wolfSSL (tuned) | not measured: BENCH_TUNED_DIR was not set |")
for p in peers:
    w(f"| {p} | {meta.get('version_' + p, '?')} |")
w(f"| OpenSSL (peers) | {meta.get('openssl', '?')} |")
w(f"| client | loadgen ({meta.get('client', '?')}) |")
w("")
w("## Method")
w("")
tls12g = meta.get("tls12_group", "x25519")
w(f"- Every server runs at the same time, pinned to CPU "
  f"{meta.get('server_cpu')} (`taskset`), one worker/thread/process each "
  "(mtlsd `workers = 1`, haproxy `nbthread 1`, nginx `worker_processes 1`, "
  "stunnel's thread per connection); the load generator, the echo "
  f"backend and authbench run on CPU {meta.get('client_cpu')}. Runs of "
  "the servers take turns, so drift of the machine falls on all alike. "
  "Loopback only.")
w("- Same bench PKI for all (ECDSA P-256 CA, server and client "
  "certificates; client certificate required and verified), same echo "
  "backend, same client. Session tickets off everywhere (mtlsd has no "
  "tickets and no session cache; nginx `ssl_session_tickets off; "
  "ssl_session_cache off`, haproxy `no-tls-tickets` and "
  "`tune.ssl.cachesize 0`, stunnel `options = NO_TICKET`), server cipher "
  "preference with the suites mtlsd negotiates (TLS 1.3 "
  "TLS_AES_128_GCM_SHA256, TLS 1.2 ECDHE-ECDSA-AES256-GCM-SHA384), "
  "X25519 first. stunnel per BENCH-NOTES: `syslog = no`, `debug = 3`, "
  "`MALLOC_ARENA_MAX=1`.")
w(f"- Handshake figures: {meta.get('hs_conns')} connections in flight, "
  f"{meta.get('hs_seconds')} s per run, {meta.get('runs')} run(s), median "
  "reported. Each handshake is a TCP connect, a full mutual-TLS handshake "
  "(no resumption), a one-byte echo through the server to the backend "
  f"and a close. TLS 1.3 offers X25519 only; TLS 1.2 offers {tls12g}"
  + (" and P-256 (needed for the server's P-256 certificate), and the "
     "servers pick X25519" if tls12g == "x25519" else "") + ".")
if meta.get("tls12_note"):
    w(f"- TLS 1.2: {meta['tls12_note']}.")
w("- **Per core** = 1,000,000 / (server CPU µs per handshake), where the "
  "server's CPU time is utime+stime of all its processes (nginx: master "
  "and worker) from /proc/PID/stat over the run, divided by the "
  "handshakes the client completed. It is the rate one fully busy core "
  "would sustain, and stays honest when the one-core client, not the "
  "server, limits the rate (the *busy* column shows how loaded the "
  "server core was).")
w(f"- Throughput: TLS 1.3, {meta.get('bulk')} pushed through 1 and "
  "through 64 connections, echoed back and checked by the client; MiB/s "
  "counts the payload one way; CPU s/GiB is the server's CPU time per "
  "GiB of payload (it decrypts and encrypts each byte once).")
w(f"- RSS per idle connection: VmRSS of all the server's processes before "
  f"and 1 s after {meta.get('idle_n')} connections are up (handshake done "
  "and one echo through, so the upstream is connected too), divided by "
  "the connections established.")
w(f"- Concurrency: {meta.get('conc_n')} connections opened (from "
  "127.0.0.2) and held, then each one checked with an echo.")
if meta.get("conc_note"):
    w(f"  **Note**: {meta['conc_note']}. Every server was limited alike.")
w("- Logging: none of the peers logs a line per connection (stunnel "
  "`debug = 3`, nginx `error_log warn`, haproxy no `log`), so mtlsd runs "
  "with `log.level = notice`, which leaves out its per-connection audit "
  "lines (level info).")
if meta.get("syslog") == "absent":
    w("- There is no syslog daemon here (/dev/log is missing): what mtlsd "
      "logs at notice and above is dropped by syslog(3).")
w("")

# ---- tables
w("## 1. Full handshakes")
w("")
for fig, title in (("hs13", "TLS 1.3"), ("hs12", f"TLS 1.2")):
    w(f"### {title}")
    w("")
    w("| server | client hs/s | server CPU µs/hs | **hs/s per core** | "
      "server busy | p50 ms | p99 ms | errors | runs (hs/s) |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for s in servers:
        h = hs.get((s, fig))
        if not h:
            w(f"| {s} | – | – | – | – | – | – | – | "
              f"{dead.get(s, 'no result')} |")
            continue
        w(f"| {s} | {fmt(h['rate'])} | {fmt(h['cpu_us'])} | "
          f"**{fmt(h['per_core'])}** | {fmt(h['util'])}% | "
          f"{fmt(h['p50'] / 1000, 1)} | {fmt(h['p99'] / 1000, 1)} | "
          f"{h['errors']} | "
          f"{', '.join(fmt(x) for x in h['all_rates'])} |")
    w("")

w("## 2. Throughput (TLS 1.3)")
w("")
w("| server | 1 conn MiB/s | 1 conn CPU s/GiB | 64 conns MiB/s | "
  "64 conns CPU s/GiB | errors |")
w("|---|---:|---:|---:|---:|---:|")
for s in servers:
    b1, b64 = bulk.get((s, "1")), bulk.get((s, "64"))
    errs = sum(b["errors"] for b in (b1, b64) if b)
    w(f"| {s} | {fmt(b1 and b1['mib_s'], 1)} | "
      f"{fmt(b1 and b1['cpu_gib'], 2)} | {fmt(b64 and b64['mib_s'], 1)} | "
      f"{fmt(b64 and b64['cpu_gib'], 2)} | {errs} |")
w("")

w(f"## 3. RSS per idle connection ({meta.get('idle_n')} held)")
w("")
w("| server | RSS before KiB | RSS held KiB | **KiB per conn** | "
  "established | alive at check | threads held |")
w("|---|---:|---:|---:|---:|---:|---:|")
for s in servers:
    r = idle.get(s)
    if not r:
        w(f"| {s} | – | – | – | – | – | – |")
        continue
    w(f"| {s} | {fmt(num(r['rss0']))} | {fmt(num(r['rss1']))} | "
      f"**{fmt(r['per'], 1)}** | {fmt(num(r['established']))} | "
      f"{fmt(num(r['alive']))} | {fmt(num(r['threads1']))} |")
w("")

w(f"## 4. {int(num(meta.get('conc_n')) or 0):,} concurrent connections")
w("")
w("| server | asked | established | alive at check | RSS held MiB | "
  "held? |")
w("|---|---:|---:|---:|---:|---|")
for s in servers:
    r = conc.get(s)
    if not r:
        w(f"| {s} | – | – | – | – | no result |")
        continue
    w(f"| {s} | {fmt(num(r['n']))} | {fmt(num(r['established']))} | "
      f"{fmt(num(r['alive']))} | {fmt(num(r['rss1']) / 1024, 1)} | "
      f"{'yes' if r['ok'] else '**no**'} |")
w("")

w("## 5. Query socket and PAM (authbench, one live connection through "
  "mtlsd)")
w("")
any_auth = False
for v in variants:
    a = auth.get(v)
    if not a:
        w(f"- mtlsd-{v}: no result")
        continue
    any_auth = True
    fields = [(k, x) for k, x in a.items()
              if k not in ("server", "fig", "rc")]
    w(f"- mtlsd-{v} (exit {a.get('rc')}): " +
      " ".join(f"`{k}={x}`" for k, x in fields))
w("")
if any_auth:
    w("bare = the same exchange with a trivial unix-socket echo (the IPC "
      "floor); query = one MTLS/1 LOOKUP to mtlsd; pam = pam_start + "
      "pam_authenticate (pam_mtls) + pam_end.")
    w("")

w("## 6. RSS growth under load")
w("")
if growth:
    f0 = num(growth["rss_first"])
    f1 = num(growth["rss_last"])
    gp = (f1 - f0) / f0 * 100 if f0 else None
    w(f"mtlsd-{growth['variant']}, one process: RSS after "
      f"{int(num(growth['first'])):,} handshakes **{fmt(f0)} KiB**, after "
      f"{int(num(growth['done'])):,} handshakes **{fmt(f1)} KiB**: growth "
      f"**{fmt(gp, 2)}%**" + (" (the run did not complete)"
                             if growth.get("failed") == "1" else "") + ".")
    w("")
    w("Checkpoints (handshakes: KiB): " +
      ", ".join(f"{int(a):,}: {int(b):,}" for a, b in
                (t.split(":") for t in growth["traj"].split(",") if t)))
else:
    gp = None
    w("No result.")
w("")

w("## 7. Crypto bound")
w("")
w("Server-side public-key work of one TLS 1.3 mutual-auth handshake (1 "
  "ECDSA P-256 sign, 2 verifies, 1 X25519 key generation, 1 shared "
  "secret) on CPU 0, as the highest handshake rate one core could reach "
  "with that wolfSSL.")
w("")
w("| variant | library | sign µs | verify µs | keygen µs | shared µs | "
  "handshake µs | bound hs/s | mtlsd hs/s per core (TLS 1.3) | share |")
w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
share = {}
for v in variants:
    c = crypto.get(v)
    h = hs.get(("mtlsd-" + v, "hs13"))
    if not c:
        w(f"| {v} | – | – | – | – | – | – | – | – | – |")
        continue
    bound = num(c.get("bound_per_s"))
    pc = h["per_core"] if h else None
    share[v] = pc / bound if pc and bound else None
    w(f"| {v} | {c.get('lib')} | {c.get('sign_us')} | {c.get('verify_us')} "
      f"| {c.get('keygen_us')} | {c.get('shared_us')} | "
      f"{c.get('handshake_us')} | {fmt(bound)} | {fmt(pc)} | "
      f"{fmt(share[v] and share[v] * 100, 0, '%')} |")
w("")

# ---- ratios
w("## Ratios and targets")
w("")
w("mtlsd / best peer, measured in this run. For RSS lower is better: the "
  "best peer is the one with the least, and the ratio is mtlsd / that.")
w("")
w("| figure | target | variant | mtlsd | best peer | ratio | verdict |")
w("|---|---|---|---:|---|---:|---|")

order = [v for v in ("tuned", "system") if v in variants]


def ratio_row(title, target_text, target, getter, lower=False, nd=0):
    bp, bname = best_peer(getter, lower)
    for v in order:
        m = getter("mtlsd-" + v)
        r = m / bp if m is not None and bp else None
        w(f"| {title} | {target_text} | {v} | {fmt(m, nd)} | "
          f"{bname or '–'} {fmt(bp, nd)} | {fmt(r, 2, '×')} | "
          f"{verdict(r, target, lower) if target else '(no target)'} |")


def hsget(fig, key):
    return lambda s: (hs.get((s, fig)) or {}).get(key)


def bget(c, key):
    return lambda s: (bulk.get((s, c)) or {}).get(key)


ratio_row("hs/s per core, TLS 1.3", "≥ 1.5× best peer", 1.5,
          hsget("hs13", "per_core"))
ratio_row("hs/s per core, TLS 1.2", "≥ 1.5× best peer", 1.5,
          hsget("hs12", "per_core"))
ratio_row("client hs/s, TLS 1.3", "–", None, hsget("hs13", "rate"))
ratio_row("client hs/s, TLS 1.2", "–", None, hsget("hs12", "rate"))
for v in order:
    sv = share.get(v)
    w(f"| share of the crypto bound, TLS 1.3 | ≥ 70% | {v} | "
      f"{fmt(sv and sv * 100, 0, '%')} | – | – | "
      f"{verdict(sv, 0.70)} |")
ratio_row("bulk MiB/s, 1 conn", "≥ 1.0× best peer", 1.0,
          bget("1", "mib_s"), nd=1)
ratio_row("bulk MiB/s, 64 conns", "≥ 1.0× best peer", 1.0,
          bget("64", "mib_s"), nd=1)
ratio_row("bulk CPU s/GiB, 64 conns", "– (lower is better)", None,
          bget("64", "cpu_gib"), lower=True, nd=2)
ratio_row("RSS KiB per idle conn", "≤ 0.5× best peer", 0.5,
          lambda s: (idle.get(s) or {}).get("per"), lower=True, nd=1)
conc_n = int(num(meta.get("conc_n")) or 0)
conc_t = int(num(meta.get("conc_target")) or 0)
for v in order:
    r = conc.get("mtlsd-" + v)
    if r is None:
        vd = "n/a"
    elif r["ok"]:
        vd = "**MET**" if conc_n >= conc_t else \
            f"**MET at {conc_n:,}** ({conc_t:,} cannot be held on this " \
            "machine by any server, see Method)"
    else:
        vd = f"**MISSED**: {int(num(r['established'])):,} established, " \
             f"{int(num(r['alive'])):,} alive of {conc_n:,}"
    okpeers = [p for p in peers if conc.get(p) and conc[p]["ok"]]
    w(f"| {conc_t:,} concurrent connections | all held | {v} | "
      f"{fmt(r and num(r['alive']))} alive | "
      f"{', '.join(okpeers) or 'none'} held all | – | {vd} |")
if growth:
    gvd = "n/a" if gp is None else (
        f"**MET** ({gp:+.2f}%, limit +1%)" if gp < 1.0 else
        f"**MISSED** ({gp:+.2f}%, limit +1%)")
    w(f"| RSS growth, {int(num(growth['first'])):,} → "
      f"{int(num(growth['done'])):,} handshakes | no growth (< 1%) | "
      f"{growth['variant']} | {fmt(gp, 2, '%')} | – | – | {gvd} |")
w("")

# ---- the reasons for the misses, written by hand from profiles
with open(why_path) as f:
    w(f.read().rstrip("\n"))
w("")

# ---- pre-flight and problems
w("## Checks and problems")
w("")
w("Pre-flight, with `openssl s_client` (offering X25519 and P-256): what "
  "each server negotiated, whether the echo came back, and whether a "
  "client without a certificate was refused.")
w("")
w("| server | TLS 1.3 | TLS 1.2 | no certificate |")
w("|---|---|---|---|")
for s in servers:
    r = one(s, "preflight")
    if not r:
        w(f"| {s} | – | – | – |")
        continue
    w(f"| {s} | {r.get('tls13_cipher')} {r.get('tls13_group')} "
      f"(echo {r.get('tls13_echo')}) | {r.get('tls12_cipher')} "
      f"{r.get('tls12_group')} (echo {r.get('tls12_echo')}) | "
      f"{'refused' if r.get('nocert_refused') == 'yes' else '**accepted**'} |")
w("")
w("Server log lines that the bench itself causes are not listed: the "
  "pre-flight's client without a certificate, and handshakes still in "
  "flight when a timed run ends.")
w("")
if meta.get("loadgen_errors", "0") != "0":
    problems.append(f"the load generator wrote {meta['loadgen_errors']} "
                    f"lines to {out_dir}/loadgen.err, most often: "
                    f"{meta.get('loadgen_errors_top', '?')} (the tables "
                    "say in which figure)")
for k, v in meta.items():
    if k.startswith("log_"):
        problems.append(v)
for s, why in dead.items():
    problems.append(f"{s}: {why}")
if problems:
    for p in dict.fromkeys(problems):
        w(f"- {p}")
else:
    w("- none")
w("")

with open(results_path, "w") as f:
    f.write("\n".join(out))
PYEOF

say "results in $RESULTS ($(($(date +%s) - T_START)) s)"
