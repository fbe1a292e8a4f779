#!/bin/bash
# t_ocsp.sh: OCSP checks of client certificates against a real responder
# on loopback.  Every answer comes from "openssl ocsp" reading an OpenSSL
# CA index (tests/pki/mkocsp.py index); tests/pki/mkocsp.py serve is its
# HTTP front on 127.0.0.1 (OpenSSL 3.0's "openssl ocsp -port" binds the
# wildcard address only) and logs every request it gets, so the test can
# count what reached the responder.
#
# Cases: good (alice reaches the echo backend), revoked (bob refused with
# reason=revoked and an OCSP detail, in hard and in soft mode), unknown
# (hard: refused, reason=ocsp_unknown; soft: accepted with an
# event=ocsp result=unknown warning), responder down (nothing on the port;
# soft: accepted with event=ocsp result=unavailable, hard: refused,
# reason=ocsp_unavailable), a responder that accepts but never answers
# with timeout=1 (soft and hard: the client gets its answer within
# timeout + 3 s), answers served from the cache (the second connection
# does not reach the responder and logs cached=yes) and asked again once
# the cache time is over, the certificate's AIA OCSP URL used when no
# responder is set (hard mode refuses a certificate without one), and
# mode "off" never asks anybody, not even a certificate's AIA responder.
# shellcheck source=tests/integration/lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
require_built

MKOCSP=$MTLS_TOP/tests/pki/mkocsp.py
B_ECHO=$(free_port)
# listeners
P_HARD=$(free_port)
P_SOFT=$(free_port)
P_DSOFT=$(free_port)
P_DHARD=$(free_port)
P_HSOFT=$(free_port)
P_HHARD=$(free_port)
P_CACHE=$(free_port)
P_CSHORT=$(free_port)
P_AIA=$(free_port)
P_OFF=$(free_port)
# responders (R_DEAD: reserved, nothing ever listens there)
R_MAIN=$(free_port)
R_CACHE=$(free_port)
R_CSHORT=$(free_port)
R_AIA=$(free_port)
R_OFF=$(free_port)
R_HANG=$(free_port)
R_DEAD=$(free_port)

HANG_TIMEOUT=1		# ocsp.timeout of the listeners behind R_HANG
CSHORT_CACHE=2		# ocsp.cache of the listener "cshort"
CONF=$LOGDIR/mtlsd.conf
CERTS=$LOGDIR/certs
INDEX=$CERTS/index.txt
mkdir -p "$CERTS"

url() { echo "http://127.0.0.1:$1/"; }

# ------------------------------------------------------------------ the PKI

# newcert NAME [URL]: a fresh clientAuth certificate signed by the test CA
# ($CERTS/NAME.crt, .key, .serial), with an AIA OCSP URL when given.
newcert() {
	local aia=()
	[ -n "${2:-}" ] && aia=(--ocsp-url "$2")
	python3 "$MKOCSP" cert --ca "$PKI/ca.crt" --ca-key "$PKI/ca.key" \
	    --cn "$1" "${aia[@]}" -o "$CERTS/$1"
}

# Not in the index (the responder says "unknown"): unk-hard, unk-soft.
# no-aia has no AIA extension (and no responder asks about it).
# The others each serve one case, so that no answer cached for one case
# can decide another.
pki_ok=yes
for c in unk-hard unk-soft down-soft down-hard hang-soft hang-hard \
    cached cshort no-aia live; do
	newcert "$c" || pki_ok=no
done
newcert aia-good "$(url "$R_AIA")" || pki_ok=no
newcert aia-revoked "$(url "$R_AIA")" || pki_ok=no
newcert off-revoked "$(url "$R_OFF")" || pki_ok=no
valid=()
for c in down-soft down-hard hang-soft hang-hard cached cshort aia-good live; do
	valid+=(--valid "$CERTS/$c.crt")
done
python3 "$MKOCSP" index --valid "$PKI/alice.crt" "${valid[@]}" \
    --revoked "$PKI/bob.crt" --revoked "$CERTS/aia-revoked.crt" \
    --revoked "$CERTS/off-revoked.crt" -o "$INDEX" || pki_ok=no
if [ "$pki_ok" = yes ] &&
    openssl x509 -in "$CERTS/aia-good.crt" -noout -ext authorityInfoAccess |
    grep -qF "OCSP - URI:$(url "$R_AIA")"; then
	pass pki
else
	fail pki "tests/pki/mkocsp.py could not make the certificates or the index"
	finish
fi
cat "$INDEX"

serial() {
	if [ -f "$CERTS/$1.serial" ]; then cat "$CERTS/$1.serial"
	else cat "$PKI/$1.serial"; fi
}

# ------------------------------------------------------------- responders

declare -A OCSP_PID=() OCSP_LOG=()

# start_responder NAME PORT [--hang]: mkocsp.py serve on 127.0.0.1:PORT
# answering from $INDEX through "openssl ocsp", or holding every request
# unanswered with --hang; waits (bounded) for "ready".
start_responder() {
	local name=$1 port=$2 log i
	shift 2
	log=$LOGDIR/responder-$name.log
	if [ "${1:-}" = --hang ]; then
		python3 -u "$MKOCSP" serve --listen "127.0.0.1:$port" --hang \
		    >"$log" 2>&1 &
	else
		python3 -u "$MKOCSP" serve --listen "127.0.0.1:$port" \
		    --index "$INDEX" --ca "$PKI/ca.crt" --ca-key "$PKI/ca.key" \
		    >"$log" 2>&1 &
	fi
	OCSP_PID[$name]=$!
	OCSP_LOG[$name]=$log
	track_pid "$!"
	for ((i = 0; i < 100; i++)); do
		grep -q '^ready' "$log" 2>/dev/null && return 0
		alive "${OCSP_PID[$name]}" || break
		sleep 0.1
	done
	fail "responder_$name" "responder $name did not become ready: $(tail -n 5 "$log")"
	return 1
}

# requests NAME [SERIAL]: how many OCSP requests responder NAME got so far
# (only those about SERIAL when given).
requests() {
	if [ -n "${2:-}" ]; then
		grep -c "^request .* serial=$2\$" "${OCSP_LOG[$1]}" 2>/dev/null
	else
		grep -c '^request ' "${OCSP_LOG[$1]}" 2>/dev/null
	fi
	return 0
}

# answered NAME SERIAL STATUS: responder NAME answered a request about
# SERIAL with STATUS (good, revoked, unknown).
answered() {
	local n
	while read -r n; do
		grep -qx "response $n status=$3" "${OCSP_LOG[$1]}" && return 0
	done < <(sed -n "s/^request \([0-9]*\) .* serial=$2\$/\1/p" \
	    "${OCSP_LOG[$1]}")
	return 1
}

# A first look at the responder itself, with the openssl client.
start_responder main "$R_MAIN" || finish
probe=$(timeout 20 openssl ocsp -issuer "$PKI/ca.crt" -CAfile "$PKI/ca.crt" \
    -url "$(url "$R_MAIN")" -cert "$PKI/alice.crt" -cert "$PKI/bob.crt" \
    -cert "$CERTS/unk-hard.crt" 2>&1)
echo "$probe"
if printf '%s\n' "$probe" | grep -q 'alice.crt: good' &&
    printf '%s\n' "$probe" | grep -q 'bob.crt: revoked' &&
    printf '%s\n' "$probe" | grep -q 'unk-hard.crt: unknown' &&
    printf '%s\n' "$probe" | grep -q '^Response verify OK'; then
	pass responder
else
	fail responder "openssl ocsp client against the test responder: $(printf '%s' "$probe" | tail -n 4)"
	finish
fi

start_responder cache "$R_CACHE" || finish
start_responder cshort "$R_CSHORT" || finish
start_responder aia "$R_AIA" || finish
start_responder off "$R_OFF" || finish
start_responder hang "$R_HANG" --hang || finish

# ------------------------------------------------------------------ mtlsd

start_backend echo --echo --tcp "127.0.0.1:$B_ECHO" || finish

# ocsp MODE [URL-PORT] [key = value; ...]: an ocsp group for add_listener.
ocsp() {
	local g="{ mode = \"$1\";"
	[ -n "${2:-}" ] && g="$g responder = \"$(url "$2")\";"
	[ -n "${3:-}" ] && g="$g $3"
	echo "$g }"
}
add_listener hard "127.0.0.1:$P_HARD" "127.0.0.1:$B_ECHO" \
    ocsp="$(ocsp hard "$R_MAIN" "timeout = 2; cache = 300;")"
add_listener soft "127.0.0.1:$P_SOFT" "127.0.0.1:$B_ECHO" \
    ocsp="$(ocsp soft "$R_MAIN" "timeout = 2; cache = 300;")"
add_listener downsoft "127.0.0.1:$P_DSOFT" "127.0.0.1:$B_ECHO" \
    ocsp="$(ocsp soft "$R_DEAD" "timeout = 2;")"
add_listener downhard "127.0.0.1:$P_DHARD" "127.0.0.1:$B_ECHO" \
    ocsp="$(ocsp hard "$R_DEAD" "timeout = 2;")"
add_listener hangsoft "127.0.0.1:$P_HSOFT" "127.0.0.1:$B_ECHO" \
    ocsp="$(ocsp soft "$R_HANG" "timeout = $HANG_TIMEOUT;")"
add_listener hanghard "127.0.0.1:$P_HHARD" "127.0.0.1:$B_ECHO" \
    ocsp="$(ocsp hard "$R_HANG" "timeout = $HANG_TIMEOUT;")"
add_listener cache "127.0.0.1:$P_CACHE" "127.0.0.1:$B_ECHO" \
    ocsp="$(ocsp hard "$R_CACHE" "cache = 300;")"
add_listener cshort "127.0.0.1:$P_CSHORT" "127.0.0.1:$B_ECHO" \
    ocsp="$(ocsp hard "$R_CSHORT" "cache = $CSHORT_CACHE;")"
add_listener aia "127.0.0.1:$P_AIA" "127.0.0.1:$B_ECHO" \
    ocsp="$(ocsp hard "" "timeout = 2;")"
add_listener off "127.0.0.1:$P_OFF" "127.0.0.1:$B_ECHO" \
    ocsp="$(ocsp off)"
write_conf "$CONF"
start_mtlsd "$CONF" || finish

# cert NAME / key NAME: the files of a certificate made here or in the PKI.
cert() { if [ -f "$CERTS/$1.crt" ]; then echo "$CERTS/$1.crt"; else echo "$PKI/$1.crt"; fi; }
key() { if [ -f "$CERTS/$1.key" ]; then echo "$CERTS/$1.key"; else echo "$PKI/$1.key"; fi; }

# before RESPONDER SERIAL: the count asked() compares with later.
before() {
	case $1 in
	-) echo 0 ;;
	!*) requests "${1#!}" ;;
	*) requests "$1" "$2" ;;
	esac
}

# asked RESPONDER BEFORE SERIAL STATUS: print why not, when responder
# RESPONDER got no request about SERIAL since it had BEFORE of them, or
# (STATUS not "-") did not answer one with STATUS.  RESPONDER "-": nothing
# to check; "!NAME": responder NAME must have got no request at all.
asked() {
	local resp=$1 before=$2 s=$3 status=$4 n
	[ "$resp" = - ] && return 0
	if [ "${resp#!}" != "$resp" ]; then
		n=$(requests "${resp#!}")
		[ "$n" -eq "$before" ] && return 0
		echo "responder ${resp#!} got $((n - before)) request(s) (want none)"
		return 1
	fi
	if [ "$(requests "$resp" "$s")" -le "$before" ]; then
		echo "responder $resp got no request about serial $s"
		return 1
	fi
	if [ "$status" != - ] && ! answered "$resp" "$s" "$status"; then
		echo "responder $resp did not answer $status about serial $s: $(tail -n 4 "${OCSP_LOG[$resp]}" | tr '\n' ' ')"
		return 1
	fi
}

# LAST_MS: how long the last accepted/refused client ran, in ms.
LAST_MS=0
timed_echo() {
	local t0 rc
	t0=$(now_ms)
	node_echo "$@"
	rc=$?
	LAST_MS=$(( $(now_ms) - t0 ))
	echo "node_echo $1 port $3: exit $rc after $LAST_MS ms"
	return $rc
}

# accepted NAME WHO PORT LISTENER RESPONDER STATUS [TOKEN...]: WHO's echo
# comes back through PORT; the responder RESPONDER got a request about
# WHO's serial and answered STATUS (see asked); when
# TOKENs are given, mtlsd logs a line with event=ocsp listener=LISTENER
# serial=<WHO's serial> and the TOKENs.
accepted() {
	local name=$1 who=$2 port=$3 lst=$4 resp=$5 status=$6 before=0 s why
	shift 6
	s=$(serial "$who")
	before=$(before "$resp" "$s")
	log_mark
	if ! timed_echo "$(cert "$who")" "$(key "$who")" "$port"; then
		fail "$name" "no echo for $who through listener $lst; mtlsd: $(log_find event=handshake "listener=$lst") $(log_find event=ocsp "listener=$lst"); client: $(tail -n 1 "$LOGDIR/node_echo.out")"
		return 1
	fi
	if ! why=$(asked "$resp" "$before" "$s" "$status"); then
		fail "$name" "$who was let through, but $why"
		return 1
	fi
	if [ $# -gt 0 ] && ! wait_event 5 event=ocsp "listener=$lst" \
	    "serial=$s" "$@"; then
		fail "$name" "$who was let through, but no log line with: event=ocsp listener=$lst serial=$s $*; got: $(log_find event=ocsp "listener=$lst")"
		return 1
	fi
	pass "$name"
}

# refused NAME WHO PORT LISTENER REASON RESPONDER STATUS: WHO gets no echo
# through PORT, mtlsd logs event=handshake result=fail reason=REASON
# listener=LISTENER serial=<WHO's serial> with a detail that mentions
# OCSP, the echo backend gets no connection, and the responder RESPONDER
# got a request about the serial and answered STATUS (see asked).
refused() {
	local name=$1 who=$2 port=$3 lst=$4 reason=$5 resp=$6 status=$7
	local before=0 conns line s why
	s=$(serial "$who")
	before=$(before "$resp" "$s")
	conns=$(backend_conns echo)
	log_mark
	if timed_echo "$(cert "$who")" "$(key "$who")" "$port"; then
		fail "$name" "$who got its echo through listener $lst (want reason=$reason)"
		return 1
	fi
	if ! line=$(wait_event 5 event=handshake result=fail "reason=$reason" \
	    "listener=$lst" "serial=$s"); then
		fail "$name" "want event=handshake result=fail reason=$reason listener=$lst serial=$s; got: $(log_find event=handshake "listener=$lst")"
		return 1
	fi
	echo "$line"
	if ! printf '%s' "$line" | grep -qE ' detail="?[^"]*OCSP'; then
		fail "$name" "the refusal's detail does not mention OCSP: $line"
	elif [ "$(backend_conns echo)" != "$conns" ]; then
		fail "$name" "logged reason=$reason, but the backend got a connection"
	elif ! why=$(asked "$resp" "$before" "$s" "$status"); then
		fail "$name" "$who was refused, but $why"
	else
		pass "$name"
		return 0
	fi
	return 1
}

# ------------------------------------------------------------------ cases

# good: alice through the hard listener; the responder said good.
accepted good alice "$P_HARD" hard main good result=good cached=no

# revoked: bob is refused, in hard mode and in soft mode alike.
refused revoked bob "$P_HARD" hard revoked main revoked
refused revoked_soft bob "$P_SOFT" soft revoked main revoked

# unknown: hard refuses, soft lets through with a warning.
refused unknown_hard unk-hard "$P_HARD" hard ocsp_unknown main unknown
accepted unknown_soft unk-soft "$P_SOFT" soft main unknown result=unknown

# responder down: nothing listens on R_DEAD.
accepted down_soft down-soft "$P_DSOFT" downsoft - - result=unavailable
refused down_hard down-hard "$P_DHARD" downhard ocsp_unavailable - -

# a responder that reads the request and never answers: the client has
# its answer within ocsp.timeout + 3 s, in both modes.
HANG_LIMIT_MS=$(( (HANG_TIMEOUT + 3) * 1000 ))
# bounded NAME: the last client's run took at most HANG_LIMIT_MS.
bounded() {
	echo "$1: the client ran $LAST_MS ms"
	if [ "$LAST_MS" -le "$HANG_LIMIT_MS" ]; then
		pass "$1"
	else
		fail "$1" "the client ran $LAST_MS ms (ocsp.timeout = $HANG_TIMEOUT s, want <= $HANG_LIMIT_MS ms)"
	fi
}
refused hang_hard hang-hard "$P_HHARD" hanghard ocsp_unavailable hang - &&
    bounded hang_hard_bounded
accepted hang_soft hang-soft "$P_HSOFT" hangsoft hang - result=unavailable &&
    bounded hang_soft_bounded

# the cache: the second connection within ocsp.cache does not reach the
# responder and is logged cached=yes.
if accepted cache_first cached "$P_CACHE" cache cache good result=good \
    cached=no; then
	accepted cache_hit cached "$P_CACHE" cache '!cache' - result=good \
	    cached=yes
else
	skip cache_hit "the first connection failed"
fi

# ... and once ocsp.cache seconds have passed, the responder is asked
# again.
if accepted cache_short_first cshort "$P_CSHORT" cshort cshort good \
    result=good cached=no; then
	sleep $((CSHORT_CACHE + 1)).5
	accepted cache_expires cshort "$P_CSHORT" cshort cshort good \
	    result=good cached=no
else
	skip cache_expires "the first connection failed"
fi

# A live session follows OCSP news: "live" holds a session; the responder
# then revokes it; once its cached answer has expired, its next handshake
# is refused as revoked, and its live session is closed (reason=revoked)
# and unpublished within 2 s.
sclient_open live "$P_CSHORT" -cert "$(cert live)" -key "$(key live)"
sclient_send live "hello-live"
if sclient_wait live "hello-live" 10; then
	still_valid=()
	for c in down-soft down-hard hang-soft hang-hard cached cshort \
	    aia-good; do
		still_valid+=(--valid "$CERTS/$c.crt")
	done
	python3 "$MKOCSP" index --valid "$PKI/alice.crt" "${still_valid[@]}" \
	    --revoked "$PKI/bob.crt" --revoked "$CERTS/aia-revoked.crt" \
	    --revoked "$CERTS/off-revoked.crt" --revoked "$CERTS/live.crt" \
	    -o "$INDEX" || fail live_index "cannot rewrite the index"
	sleep $((CSHORT_CACHE + 1)).5
	log_mark
	refused live_next_handshake live "$P_CSHORT" cshort revoked cshort \
	    revoked
	if wait_event 2 event=session_close reason=revoked \
	    "serial=$(serial live)" >/dev/null && sclient_exited live 3; then
		pass live_session_closed
	else
		fail live_session_closed "the live session of a certificate the responder now calls revoked was not closed within 2 s: $(log_find event=session_close "serial=$(serial live)")"
	fi
else
	fail live_session_open "no echo for live through listener cshort"
fi
sclient_close live

# AIA: no responder configured, the certificate's own OCSP URL is used.
accepted aia aia-good "$P_AIA" aia aia good result=good cached=no
refused aia_revoked aia-revoked "$P_AIA" aia revoked aia revoked
# ... and a certificate without one: nobody can be asked, so hard mode
# refuses (not "no URL, so good").
refused aia_missing_hard no-aia "$P_AIA" aia ocsp_unavailable - -

# mode off: nobody is asked, not even the certificate's AIA responder
# (off-revoked is revoked there), and no OCSP line is logged.
off_before=$(requests off)
log_mark
off_ok=yes
for who in alice bob off-revoked; do
	if ! node_echo "$(cert "$who")" "$(key "$who")" "$P_OFF"; then
		off_ok=no
		fail off "no echo for $who through listener off: $(log_find event=handshake listener=off)"
		break
	fi
done
if [ "$off_ok" = yes ]; then
	sleep 0.5
	if [ "$(requests off)" -ne "$off_before" ]; then
		fail off "mode off: the AIA responder got $(( $(requests off) - off_before )) request(s)"
	elif [ -n "$(log_find event=ocsp listener=off)" ]; then
		fail off "mode off logged an OCSP line: $(log_find event=ocsp listener=off)"
	else
		pass off
	fi
fi

check_stop stop
for r in "${!OCSP_PID[@]}"; do
	stop_pid "${OCSP_PID[$r]}"
	show "responder $r" "${OCSP_LOG[$r]}"
done
finish
