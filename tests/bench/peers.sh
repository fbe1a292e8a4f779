# shellcheck shell=bash disable=SC2034 # PEER_* are read by the caller
# peers.sh: start, stop and measure the TLS servers of the benchmark (bash,
# sourced by tests/bench/run.sh).
#
# Every server terminates TLS 1.2 and 1.3 on 127.0.0.1:PORT with the
# bench PKI (tests/bench/mkbenchpki.py): ECDSA P-256 server certificate,
# client certificate required and verified against ca.crt, session tickets
# off, no session cache where the server has a switch for it, X25519 then
# P-256, the same cipher suites (those mtlsd negotiates), one
# core, and forwards the plaintext to the echo backend on 127.0.0.1:ECHO.
# Configurations follow /work/shared/BENCH-NOTES.md ("Configure peers
# fairly").
#
#   peer_start NAME PORT ECHO_PORT PKI OUT
#	NAME: mtlsd-system, mtlsd-tuned (or mtlsd-VARIANT-ANYTHING for a
#	second instance), stunnel, haproxy or nginx; OUT is
#	the server's own work directory (config, log, pid file, query
#	socket).  Pinned to CPU $PEER_CPU (default 0) with ulimit -n
#	$PEER_NOFILE (default 65536, or the hard limit when lower).  Waits until the port listens.  Sets
#	PEER_NAME, PEER_MAIN (the pid started), PEER_PIDS (every process of
#	the server: nginx's master and worker), PEER_LOG, PEER_CONF and, for
#	mtlsd, PEER_QUERY_SOCK.  Status 0 when up, else 1 with the reason in
#	PEER_ERROR (and the server stopped again).
#   peer_stop
#	SIGTERM to every process of the server, by pid; SIGKILL after 10 s.
#	Status 0 when it exited on SIGTERM.
#   peer_cpu_ticks	utime+stime (clock ticks) summed over PEER_PIDS
#   peer_rss_kib	VmRSS (KiB) summed over PEER_PIDS
#   peer_threads	threads summed over PEER_PIDS
#   peer_alive		every process of PEER_PIDS is alive
#   peer_version NAME	one line: the server's version
#
# mtlsd binaries: PEER_MTLSD_BIN[system] and PEER_MTLSD_BIN[tuned] (set by
# the caller).  Nginx's stream module: PEER_NGINX_STREAM_MODULE (found by
# peer_find_nginx_module when empty).

declare -A PEER_MTLSD_BIN=()
PEER_CPU=${PEER_CPU:-0}
# The descriptor limit: 65536, or the hard limit when that is lower (raising
# the hard limit needs CAP_SYS_RESOURCE, which a container may not have).
if [ -z "${PEER_NOFILE:-}" ]; then
	PEER_NOFILE=$(ulimit -Hn)
	if [ "$PEER_NOFILE" = unlimited ] || [ "$PEER_NOFILE" -gt 65536 ]; then
		PEER_NOFILE=65536
	fi
fi
PEER_NGINX_STREAM_MODULE=${PEER_NGINX_STREAM_MODULE:-}
# What the servers offer: the suites mtlsd picks (wolfSSL's server order)
# and the groups, X25519 first, so that every server does the same work.
# run.sh's pre-flight check prints what each server negotiates.
PEER_TLS13_SUITES=TLS_AES_128_GCM_SHA256
PEER_TLS12_CIPHERS=ECDHE-ECDSA-AES256-GCM-SHA384
PEER_GROUPS=X25519:P-256

# haproxy refuses to start when maxconn needs more descriptors than it may
# have (2 per connection and a few more).
PEER_MAXCONN=$(( PEER_NOFILE > 60200 ? 30000 : (PEER_NOFILE - 100) / 2 ))

PEER_NAME=
PEER_MAIN=
PEER_PIDS=()
PEER_LOG=
PEER_CONF=
PEER_QUERY_SOCK=
PEER_ERROR=

# _peer_alive PID: exists and is not a zombie.
_peer_alive() {
	local state
	[ -r "/proc/$1/stat" ] || return 1
	state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) ||
	    return 1
	[ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# _peer_listening PORT: something listens on 127.0.0.1:PORT.
_peer_listening() {
	[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
}

peer_find_nginx_module() {
	local f
	[ -n "$PEER_NGINX_STREAM_MODULE" ] && [ -f "$PEER_NGINX_STREAM_MODULE" ] &&
	    return 0
	for f in /usr/lib/nginx/modules/ngx_stream_module.so \
	    /usr/lib64/nginx/modules/ngx_stream_module.so \
	    /usr/share/nginx/modules/ngx_stream_module.so; do
		if [ -f "$f" ]; then
			PEER_NGINX_STREAM_MODULE=$f
			return 0
		fi
	done
	f=$(find /usr/lib /usr/lib64 /usr/share/nginx -name ngx_stream_module.so \
	    2>/dev/null | head -n 1)
	[ -n "$f" ] || return 1
	PEER_NGINX_STREAM_MODULE=$f
}

# ------------------------------------------------------------- configs

_peer_conf_mtlsd() {
	local port=$1 echo_port=$2 pki=$3 out=$4
	cat <<EOF
# written by tests/bench/peers.sh
user = "nobody";
group = "nogroup";
workers = 1;
# The audit line of each connection is at level info.  The peers log no
# line per connection here (stunnel debug = 3, nginx error_log warn,
# haproxy no log), and a machine without a syslog daemon makes syslog(3)
# open a socket per line, so mtlsd logs notice and above, like them.
log = { level = "notice"; };
query = { socket = "$PEER_QUERY_SOCK"; group = "nogroup"; mode = 0660; };
mappings = {
  bench = (
    { name = "any-cn"; field = "subject.CN"; regex = ".+";
      account = "nobody"; }
  );
};
listeners = (
  { name = "bench";
    listen = "127.0.0.1:$port";
    upstream = "127.0.0.1:$echo_port";
    certificate = "$pki/server.crt";
    private_key = "$pki/server.key";
    client_ca = "$pki/ca.crt";
    mapping = "bench";
    max_connections = 30000;
    handshake_timeout = 60;
    idle_timeout = 3600;
  }
);
EOF
}

_peer_conf_stunnel() {
	local port=$1 echo_port=$2 pki=$3 out=$4
	cat <<EOF
; written by tests/bench/peers.sh
foreground = yes
pid = $out/stunnel.pid
syslog = no
debug = 3

[bench]
accept = 127.0.0.1:$port
connect = 127.0.0.1:$echo_port
cert = $pki/server.crt
key = $pki/server.key
CAfile = $pki/ca.crt
verifyChain = yes
requireCert = yes
sslVersionMin = TLSv1.2
options = NO_TICKET
options = CIPHER_SERVER_PREFERENCE
ciphers = $PEER_TLS12_CIPHERS
ciphersuites = $PEER_TLS13_SUITES
curves = $PEER_GROUPS
TIMEOUTidle = 3600
EOF
}

_peer_conf_haproxy() {
	local port=$1 echo_port=$2 pki=$3 out=$4
	cat <<EOF
# written by tests/bench/peers.sh
global
	nbthread 1
	maxconn $PEER_MAXCONN
	pidfile $out/haproxy.pid
	tune.ssl.cachesize 0

defaults
	mode tcp
	maxconn $PEER_MAXCONN
	timeout connect 10s
	timeout client 10m
	timeout server 10m

frontend bench
	bind 127.0.0.1:$port ssl crt $pki/server.pem ca-file $pki/ca.crt verify required no-tls-tickets ssl-min-ver TLSv1.2 ciphers $PEER_TLS12_CIPHERS ciphersuites $PEER_TLS13_SUITES curves $PEER_GROUPS
	default_backend echo

backend echo
	server echo 127.0.0.1:$echo_port
EOF
}

_peer_conf_nginx() {
	local port=$1 echo_port=$2 pki=$3 out=$4
	cat <<EOF
# written by tests/bench/peers.sh
load_module $PEER_NGINX_STREAM_MODULE;
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile $PEER_NOFILE;
pid $out/nginx.pid;
error_log $out/nginx-error.log warn;

events {
	worker_connections $(( PEER_NOFILE > 30064 ? 30000 : PEER_NOFILE - 64 ));
}

stream {
	server {
		listen 127.0.0.1:$port ssl;
		ssl_certificate $pki/server.crt;
		ssl_certificate_key $pki/server.key;
		ssl_client_certificate $pki/ca.crt;
		ssl_verify_client on;
		ssl_protocols TLSv1.2 TLSv1.3;
		ssl_prefer_server_ciphers on;
		ssl_ciphers $PEER_TLS12_CIPHERS;
		ssl_conf_command Ciphersuites $PEER_TLS13_SUITES;
		ssl_ecdh_curve $PEER_GROUPS;
		ssl_session_tickets off;
		ssl_session_cache off;
		ssl_handshake_timeout 60s;
		proxy_pass 127.0.0.1:$echo_port;
		proxy_timeout 10m;
	}
}
EOF
}

# ------------------------------------------------------------ start/stop

# _peer_launch ENV... -- COMMAND...: start COMMAND in the background, pinned
# and with the raised descriptor limit, output to PEER_LOG; sets PEER_MAIN.
_peer_launch() {
	local envs=()
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	(
		ulimit -n "$PEER_NOFILE" || exit 126
		exec env "${envs[@]}" taskset -c "$PEER_CPU" "$@"
	) </dev/null >"$PEER_LOG" 2>&1 &
	PEER_MAIN=$!
}

# _peer_children PID: the pids whose parent is PID.
_peer_children() {
	local f
	for f in /proc/[0-9]*/stat; do
		# field 4 (ppid) counted after the ")" that ends the command name
		sed -n 's/.*) [A-Za-z] \([0-9]*\) .*/\1/p' "$f" 2>/dev/null |
		    grep -qx "$1" && { f=${f#/proc/}; echo "${f%/stat}"; }
	done
}

peer_start() {
	local name=$1 port=$2 echo_port=$3 pki=$4 out=$5 bin out2 i
	PEER_NAME=$name
	PEER_MAIN=
	PEER_PIDS=()
	PEER_QUERY_SOCK=
	PEER_ERROR=
	mkdir -p "$out"
	PEER_LOG=$out/$name.log
	PEER_CONF=$out/$name.conf
	case $name in
	mtlsd-*)
		# mtlsd-VARIANT or mtlsd-VARIANT-PURPOSE
		bin=${name#mtlsd-}
		bin=${PEER_MTLSD_BIN[${bin%%-*}]:-}
		if [ -z "$bin" ] || [ ! -x "$bin" ]; then
			PEER_ERROR="no mtlsd binary for $name (${bin:-unset})"
			return 1
		fi
		PEER_QUERY_SOCK=$out/query.sock
		_peer_conf_mtlsd "$port" "$echo_port" "$pki" "$out" >"$PEER_CONF"
		if ! out2=$("$bin" -t -c "$PEER_CONF" 2>&1); then
			PEER_ERROR="mtlsd -t -c $PEER_CONF: $out2"
			return 1
		fi
		printf '%s\n' "$out2" >"$out/$name.check"
		_peer_launch -- "$bin" -f -c "$PEER_CONF"
		;;
	stunnel)
		bin=$(command -v stunnel4 || command -v stunnel) ||
		    { PEER_ERROR="stunnel is not installed"; return 1; }
		_peer_conf_stunnel "$port" "$echo_port" "$pki" "$out" >"$PEER_CONF"
		_peer_launch MALLOC_ARENA_MAX=1 -- "$bin" "$PEER_CONF"
		;;
	haproxy)
		bin=$(command -v haproxy) ||
		    { PEER_ERROR="haproxy is not installed"; return 1; }
		_peer_conf_haproxy "$port" "$echo_port" "$pki" "$out" >"$PEER_CONF"
		if ! out2=$("$bin" -c -f "$PEER_CONF" 2>&1); then
			PEER_ERROR="haproxy -c -f $PEER_CONF: $out2"
			return 1
		fi
		_peer_launch -- "$bin" -db -f "$PEER_CONF"
		;;
	nginx)
		bin=$(command -v nginx) ||
		    { PEER_ERROR="nginx is not installed"; return 1; }
		peer_find_nginx_module ||
		    { PEER_ERROR="nginx's ngx_stream_module.so not found (libnginx-mod-stream)"; return 1; }
		_peer_conf_nginx "$port" "$echo_port" "$pki" "$out" >"$PEER_CONF"
		if ! out2=$("$bin" -t -p "$out" -e "$out/nginx-error.log" \
		    -c "$PEER_CONF" 2>&1); then
			PEER_ERROR="nginx -t -c $PEER_CONF: $out2"
			return 1
		fi
		_peer_launch -- "$bin" -p "$out" -e "$out/nginx-error.log" \
		    -c "$PEER_CONF"
		;;
	*)
		PEER_ERROR="unknown server $name"
		return 1
		;;
	esac
	PEER_PIDS=("$PEER_MAIN")
	for ((i = 0; i < 150; i++)); do
		if ! _peer_alive "$PEER_MAIN"; then
			PEER_ERROR="$name exited at start: $(tail -n 5 "$PEER_LOG" | tr '\n' ' ')"
			wait "$PEER_MAIN" 2>/dev/null
			PEER_MAIN=
			PEER_PIDS=()
			return 1
		fi
		if _peer_listening "$port"; then
			if [ "$name" = nginx ]; then
				# the worker does the work; wait for it
				mapfile -t PEER_PIDS < <(echo "$PEER_MAIN"; _peer_children "$PEER_MAIN")
				[ "${#PEER_PIDS[@]}" -ge 2 ] && break
			elif [ -n "$PEER_QUERY_SOCK" ]; then
				[ -S "$PEER_QUERY_SOCK" ] && break
			else
				break
			fi
		fi
		sleep 0.1
	done
	if [ "$i" -ge 150 ]; then
		PEER_ERROR="$name did not listen on 127.0.0.1:$port within 15 s: $(tail -n 5 "$PEER_LOG" | tr '\n' ' ')"
		peer_stop
		return 1
	fi
	# mtlsd starts its workers after the query socket; give it a moment
	sleep 0.3
	return 0
}

peer_stop() {
	local pid i rc=0 all
	[ -n "$PEER_MAIN" ] || return 0
	# nginx: the worker too, in case it was re-spawned since start
	all=("${PEER_PIDS[@]}")
	[ "$PEER_NAME" = nginx ] && mapfile -t -O "${#all[@]}" all < <(_peer_children "$PEER_MAIN")
	kill -TERM "$PEER_MAIN" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		_peer_alive "$PEER_MAIN" || break
		sleep 0.1
	done
	if _peer_alive "$PEER_MAIN"; then
		kill -KILL "$PEER_MAIN" 2>/dev/null
		rc=1
	fi
	wait "$PEER_MAIN" 2>/dev/null
	for pid in "${all[@]}"; do
		[ "$pid" = "$PEER_MAIN" ] && continue
		for ((i = 0; i < 30; i++)); do
			_peer_alive "$pid" || break
			sleep 0.1
		done
		if _peer_alive "$pid"; then
			kill -KILL "$pid" 2>/dev/null
			rc=1
		fi
	done
	PEER_MAIN=
	PEER_PIDS=()
	return $rc
}

peer_alive() {
	local pid
	[ "${#PEER_PIDS[@]}" -gt 0 ] || return 1
	for pid in "${PEER_PIDS[@]}"; do
		_peer_alive "$pid" || return 1
	done
}

peer_cpu_ticks() {
	local pid t=0 v
	for pid in "${PEER_PIDS[@]}"; do
		# utime and stime: fields 14 and 15, the 12th and 13th after ")"
		v=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null |
		    awk '{ print $12 + $13 }') || continue
		t=$((t + ${v:-0}))
	done
	echo "$t"
}

# A numeric field of /proc/PID/status, summed over PEER_PIDS.
peer_status_sum() {
	local field=$1 pid t=0 v
	for pid in "${PEER_PIDS[@]}"; do
		v=$(awk -v f="$field:" '$1 == f { print $2 }' \
		    "/proc/$pid/status" 2>/dev/null)
		t=$((t + ${v:-0}))
	done
	echo "$t"
}

peer_rss_kib() { peer_status_sum VmRSS; }
peer_threads() { peer_status_sum Threads; }

peer_version() {
	case $1 in
	stunnel)
		{ stunnel4 -version 2>&1 || stunnel -version 2>&1; } |
		    grep -m1 -E '^stunnel [0-9]' | awk '{ print $1, $2 }'
		;;
	haproxy)
		haproxy -v 2>&1 | head -n 1 | awk '{ print "haproxy", $3 }'
		;;
	nginx)
		nginx -v 2>&1 | sed 's/^nginx version: //'
		;;
	*)
		echo "?"
		;;
	esac
}
