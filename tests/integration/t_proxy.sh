#!/bin/bash
# t_proxy.sh: the PROXY protocol header mtlsd sends to an upstream
# (listener proxy_protocol = "v1" / "v2", issue 6) and the lookup by the
# session id that a v2 header carries (MTLS/1 SESSION, mtlsctl session).
#
# (a) tests/integration/ppconsumer.py, a strict consumer written from
#     haproxy's proxy-protocol.txt, sits behind a v1 and a v2 listener on
#     127.0.0.1 and on [::1]; it must see the client's real address and
#     port, the listener's address, with v2 every TLV (TLS version, CN,
#     cipher, signature and key algorithm, the certificate, the session id,
#     the accounts and the SHA-256 fingerprint), and the client's bytes
#     unchanged after the header.  The session id must resolve through
#     "mtlsctl session ID" while the session lives, and no longer after.
# (b) haproxy from the distribution, "bind ... accept-proxy" in mode http,
#     answers every request with the source address it was given: curl
#     through mtlsd must get back its own address and port.
# shellcheck source=tests/integration/lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
require_built

IS_ROOT=no
[ "$(id -u)" -eq 0 ] && IS_ROOT=yes
HAVE6=no
have_ipv6 && HAVE6=yes

P_V1=$(free_port)
P_V2=$(free_port)
B_V1=$(free_port)
B_V2=$(free_port)
P_H1=$(free_port)
P_H2=$(free_port)
B_HA=$(free_port)
if [ "$HAVE6" = yes ]; then
	P6_V1=$(free_port ::1)
	P6_V2=$(free_port ::1)
	P6_H1=$(free_port ::1)
	P6_H2=$(free_port ::1)
fi

HAPROXY=$(command -v haproxy 2>/dev/null)
[ -z "$HAPROXY" ] && [ -x /usr/sbin/haproxy ] && HAPROXY=/usr/sbin/haproxy

ALICE_SUBJECT=$(cat "$PKI/alice.subject")
ALICE_SERIAL=$(cat "$PKI/alice.serial")
ALICE_SHA256=$(openssl x509 -in "$PKI/alice.crt" -noout -fingerprint -sha256 |
    sed 's/^.*=//')
ALICE_DER_HEX=$(openssl x509 -in "$PKI/alice.crt" -outform DER | od -An -v -tx1 |
    tr -d ' \n')

# --- the consumers: v2 runs as nobody when we are root, so that the owner
# of the backend end is someone else than the root caller.
start_consumer() {
	local name=$1 expect=$2 port=$3 as=${4:-}
	local py=python3
	if [ "$as" = nobody ]; then
		[ -x /usr/bin/python3 ] && py=/usr/bin/python3
		cp "$TESTS/ppconsumer.py" "$RUNDIR/ppconsumer.py"
		chmod 755 "$RUNDIR/ppconsumer.py"
		_start_backend "$name" setpriv --reuid=nobody --regid=nogroup \
		    --clear-groups -- "$py" -u "$RUNDIR/ppconsumer.py" serve \
		    --tcp "127.0.0.1:$port" --expect "$expect"
	else
		_start_backend "$name" "$py" -u "$TESTS/ppconsumer.py" serve \
		    --tcp "127.0.0.1:$port" --expect "$expect"
	fi
}
start_consumer cv1 v1 "$B_V1" || finish
if [ "$IS_ROOT" = yes ]; then
	start_consumer cv2 v2 "$B_V2" nobody || finish
	cp "$MTLSCTL" "$RUNDIR/mtlsctl"
	chmod 755 "$RUNDIR/mtlsctl"
else
	start_consumer cv2 v2 "$B_V2" || finish
fi

add_listener v1 "127.0.0.1:$P_V1" "127.0.0.1:$B_V1" 'proxy_protocol="v1"'
add_listener v2 "127.0.0.1:$P_V2" "127.0.0.1:$B_V2" 'proxy_protocol="v2"'
add_listener hv1 "127.0.0.1:$P_H1" "127.0.0.1:$B_HA" 'proxy_protocol="v1"'
add_listener hv2 "127.0.0.1:$P_H2" "127.0.0.1:$B_HA" 'proxy_protocol="v2"'
if [ "$HAVE6" = yes ]; then
	add_listener v1six "[::1]:$P6_V1" "127.0.0.1:$B_V1" 'proxy_protocol="v1"'
	add_listener v2six "[::1]:$P6_V2" "127.0.0.1:$B_V2" 'proxy_protocol="v2"'
	add_listener hv1six "[::1]:$P6_H1" "127.0.0.1:$B_HA" 'proxy_protocol="v1"'
	add_listener hv2six "[::1]:$P6_H2" "127.0.0.1:$B_HA" 'proxy_protocol="v2"'
fi
write_conf "$LOGDIR/mtlsd.conf"
start_mtlsd "$LOGDIR/mtlsd.conf" || finish

# ------------------------------------------------------------- helpers

# wait_line FILE ERE SECONDS: wait (bounded) for a line; prints it.
wait_line() {
	local file=$1 re=$2 secs=$3 i
	for ((i = 0; i < secs * 10; i++)); do
		grep -E -m1 -- "$re" "$file" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# logval LINE KEY: the value of KEY=... in a logfmt line, unquoted.
logval() {
	printf '%s\n' "$1" | grep -oE "(^| )$2=(\"[^\"]*\"|[^ ]*)" | head -1 |
	    sed -E "s/^ ?$2=//; s/^\"(.*)\"$/\1/"
}

# same_endpoint A B: "ADDR:PORT" forms (IPv6 bracketed or not) name the
# same address and port.
same_endpoint() {
	python3 -c '
import ipaddress, sys
def norm(s):
    host, port = s.rsplit(":", 1)
    return ipaddress.ip_address(host.strip("[]")), int(port)
sys.exit(0 if norm(sys.argv[1]) == norm(sys.argv[2]) else 1)' "$1" "$2" \
	    2>/dev/null
}

# asuser USER GROUP ARGS...: the copied mtlsctl as another user.
asuser() {
	local u=$1 g=$2
	shift 2
	AS_OUT=$(timeout 20 setpriv --reuid="$u" --regid="$g" --clear-groups -- \
	    "$RUNDIR/mtlsctl" -s "$QUERY_SOCK" "$@" 2>&1)
	AS_RC=$?
	printf 'as %s: mtlsctl %s -> %s\n%s\n' "$u" "$*" "$AS_RC" "$AS_OUT"
}

# The client's bytes: a fake v1 line, a v2 signature, every byte value and
# some random ones: a consumer must see them exactly, after the header.
payload_hex() {
	python3 -c '
import os, sys
p = (b"PROXY TCP4 6.6.6.6 7.7.7.7 1 2\r\n" +
     bytes.fromhex("0d0a0d0a000d0a515549540a2111000c") +
     bytes(range(256)) + os.urandom(64) + b"\n")
sys.stdout.write(p.hex())'
}

# check_report TAG VERSION REPORT WANT_SRC WANT_DST [HANDSHAKE_LINE]:
# compare the consumer's parsed header with what it must say; prints
# "NAME ok" or "NAME why" lines, one per check.
check_report() {
	python3 - "$@" <<'EOF'
import ipaddress, json, re, sys

tag, version, report, want_src, want_dst = sys.argv[1:6]
hs = sys.argv[6] if len(sys.argv) > 6 else ""
extra = dict(a.split("=", 1) for a in sys.argv[7:])
rep = json.loads(report)

def out(name, ok, why=""):
    print("%s_%s %s" % (tag, name, "ok" if ok else (why or "mismatch")))

def hp(s):
    host, port = s.rsplit(":", 1)
    return ipaddress.ip_address(host.strip("[]")), int(port)

def seen(side):
    try:
        return ipaddress.ip_address(rep[side]), rep[side[0] + "port"]
    except (KeyError, ValueError) as e:
        return None

ws, wd = hp(want_src), hp(want_dst)
fam6 = ws[0].version == 6
if version == "v1":
    want = "TCP6" if fam6 else "TCP4"
    out("family", rep.get("proto") == want,
        "header %r, want %s" % (rep.get("raw"), want))
else:
    want = 0x21 if fam6 else 0x11
    out("family", rep.get("fam") == want,
        "family byte 0x%02x, want 0x%02x" % (rep.get("fam", -1), want))
out("source", seen("src") == ws,
    "consumer saw %s port %s, client is %s" % (rep.get("src"),
                                              rep.get("sport"), want_src))
out("destination", seen("dst") == wd,
    "consumer saw %s port %s, listener is %s" % (rep.get("dst"),
                                                rep.get("dport"), want_dst))
if version == "v1":
    sys.exit(0)

def logval(key):
    m = re.search(r'(?:^| )%s=("[^"]*"|\S*)' % key, hs)
    return m.group(1).strip('"') if m else None

ssl = rep.get("ssl", {})
tlvs = rep.get("tlvs", {})
def sub(t):
    v = ssl.get(t)
    return bytes.fromhex(v) if v is not None else None
def top(t):
    v = tlvs.get(t)
    return bytes.fromhex(v) if v is not None else None

out("ssl_flags", rep.get("ssl_client") == 0x07 and rep.get("ssl_verify") == 0,
    "client 0x%02x verify %s (want 0x07, 0)" % (rep.get("ssl_client", -1),
                                                rep.get("ssl_verify")))
out("tlv_types", sorted(tlvs) == ["05", "20", "e0", "e1"] and
    sorted(ssl) == ["21", "22", "23", "24", "25", "28"],
    "TLVs %s, SSL sub-TLVs %s" % (sorted(tlvs), sorted(ssl)))
want_ver = logval("tls_version")
out("ssl_version", want_ver and sub("21") == want_ver.encode(),
    "0x21 %r, handshake said %r" % (sub("21"), want_ver))
out("ssl_cn", sub("22") == b"alice", "0x22 %r" % sub("22"))
want_cipher = logval("cipher")
out("ssl_cipher", want_cipher and sub("23") == want_cipher.encode(),
    "0x23 %r, handshake said %r" % (sub("23"), want_cipher))
out("ssl_sig_alg", sub("24") == b"ECDSA-SHA256", "0x24 %r" % sub("24"))
out("ssl_key_alg", sub("25") == b"EC256", "0x25 %r" % sub("25"))
cert = sub("28")
out("ssl_cert", cert == bytes.fromhex(extra["der"]),
    "0x28 %s bytes, alice.crt DER %d bytes" % (
        None if cert is None else len(cert), len(extra["der"]) // 2))
uid = top("05")
out("unique_id", uid is not None and re.fullmatch(rb"[0-9a-f]{32}", uid)
    and uid.decode() == logval("id"),
    "0x05 %r, handshake id %r" % (uid, logval("id")))
out("accounts", top("e0") == extra["accounts"].encode(),
    "0xE0 %r, want %r" % (top("e0"), extra["accounts"]))
out("sha256", top("e1") == extra["sha256"].encode(),
    "0xE1 %r, openssl says %r" % (top("e1"), extra["sha256"]))
EOF
}

# report_results OUTPUT: pass/fail every "NAME ok|why" line.
report_results() {
	local name rest
	while read -r name rest; do
		[ -n "$name" ] || continue
		if [ "$rest" = ok ]; then pass "$name"; else fail "$name" "$rest"; fi
	done <<<"$1"
}

# ------------------------------------------------ (a) the strict consumer

# pp_conn TAG LISTENER VERSION HOST PORT CONSUMER: alice through LISTENER
# (on HOST:PORT) to CONSUMER; checks the header, for v2 the TLVs and the
# session lookup by id, and the data after the header.
pp_conn() {
	local tag=$1 lst=$2 ver=$3 host=$4 port=$5 be=$6
	local blog=${BACKEND_LOG[$be]} n payload cout hold cpid hs client id
	local rep local_line cl_local results out data rc i gone want_dst

	n=$(( $(grep -c '^accept ' "$blog") + 1 ))
	payload=$(payload_hex)
	cout=$LOGDIR/client-$tag.out
	hold=$RUNDIR/release-$tag
	rm -f "$hold"
	log_mark
	timeout 90 python3 -u "$TESTS/ppconsumer.py" client "$host" "$port" \
	    "$PKI/ca.crt" "$PKI/alice.crt" "$PKI/alice.key" "$payload" \
	    --hold "$hold" >"$cout" 2>&1 &
	cpid=$!
	track_pid "$cpid"

	if ! wait_line "$cout" '^echo ' 20 >/dev/null; then
		fail "${tag}_connect" "no echo through $lst: $(tail -n 3 "$cout" | tr '\n' ' ')"
		touch "$hold"
		stop_pid "$cpid"
		return 1
	fi
	if ! hs=$(wait_event 10 event=handshake result=ok "listener=$lst"); then
		fail "${tag}_connect" "no event=handshake result=ok listener=$lst in $MTLSD_LOG"
		touch "$hold"
		stop_pid "$cpid"
		return 1
	fi
	client=$(logval "$hs" client)
	id=$(logval "$hs" id)
	echo "handshake: client=$client id=$id"
	rep=$(wait_line "$blog" "^(report|error) $n " 10)
	case $rep in
	"report $n "*)
		pass "${tag}_header_parsed"
		rep=${rep#"report $n "}
		;;
	*)
		fail "${tag}_header_parsed" "consumer: ${rep:-no report for connection $n}"
		touch "$hold"
		stop_pid "$cpid"
		return 1
		;;
	esac
	echo "consumer report: $rep"

	# The client's address as the kernel gave it to the client itself
	# must be what mtlsd logged, and what the header says.
	local_line=$(grep -m1 '^local ' "$cout")
	cl_local=$(printf '%s' "$local_line" | awk '{ print $2 ":" $3 }')
	if same_endpoint "$client" "$cl_local"; then
		pass "${tag}_log_client_is_real"
	else
		fail "${tag}_log_client_is_real" "mtlsd logged client=$client, the client is $cl_local"
	fi
	if [ "$host" = "::1" ]; then
		want_dst="[::1]:$port"
	else
		want_dst="$host:$port"
	fi
	results=$(check_report "$tag" "$ver" "$rep" "$client" "$want_dst" \
	    "$hs" "der=$ALICE_DER_HEX" "accounts=nobody" \
	    "sha256=$ALICE_SHA256")
	report_results "$results"

	# v2: the session id the header carries names alice's live session.
	if [ "$ver" = v2 ]; then
		ctl session "$id"
		if [ "$CTL_RC" -eq 0 ] &&
		    printf '%s\n' "$CTL_OUT" | grep -qE "(^| )serial=\"?$ALICE_SERIAL\"?( |$)" &&
		    printf '%s\n' "$CTL_OUT" | grep -qF "$ALICE_SUBJECT"; then
			pass "${tag}_session_lookup"
		else
			fail "${tag}_session_lookup" "mtlsctl session $id: exit $CTL_RC: $CTL_OUT"
		fi
		ctl --json session "$id"
		if [ "$CTL_RC" -eq 0 ] && printf '%s\n' "$CTL_OUT" | python3 -c '
import json, sys
id_, serial, subject = sys.argv[1:4]
objs = [json.loads(l) for l in sys.stdin if l.strip()]
assert len(objs) == 1, objs
o = objs[0]
assert o.get("id") == id_, o
assert o.get("serial") == serial, o
assert o.get("subject") == subject, o
' "$id" "$ALICE_SERIAL" "$ALICE_SUBJECT"; then
			pass "${tag}_session_lookup_json"
		else
			fail "${tag}_session_lookup_json" "mtlsctl --json session $id: exit $CTL_RC: $CTL_OUT"
		fi
		if [ "$IS_ROOT" = yes ]; then
			# the backend end belongs to nobody (the consumer)
			asuser nobody nogroup session "$id"
			if [ "$AS_RC" -eq 0 ] && printf '%s' "$AS_OUT" | grep -qF "$ALICE_SERIAL"; then
				pass "${tag}_session_owner_sees"
			else
				fail "${tag}_session_owner_sees" "nobody (owner of the backend end): exit $AS_RC: $AS_OUT"
			fi
			asuser daemon nogroup session "$id"
			if [ "$AS_RC" -eq 1 ] && ! printf '%s' "$AS_OUT" | grep -qF "$ALICE_SERIAL"; then
				pass "${tag}_session_other_user_not_found"
			else
				fail "${tag}_session_other_user_not_found" "daemon (query group, not the owner): exit $AS_RC (want 1): $AS_OUT"
			fi
		fi
	fi

	# The client's bytes, after the header, unchanged; and the echo.
	touch "$hold"
	wait_gone "$cpid" 20 || stop_pid "$cpid"
	wait "$cpid" 2>/dev/null
	rc=$?
	out=$(wait_line "$blog" "^data $n " 15)
	data=${out#"data $n "}
	if [ "$rc" -eq 0 ] && grep -qx 'echo ok' "$cout" && [ "$data" = "$payload" ]; then
		pass "${tag}_data_unchanged"
	else
		fail "${tag}_data_unchanged" "client exit $rc, $(grep '^echo' "$cout"); consumer got ${#data} hex digits after the header, want ${#payload}"
	fi

	if [ "$ver" = v2 ]; then
		gone=no
		for ((i = 0; i < 50; i++)); do
			timeout 20 "$MTLSCTL" -s "$QUERY_SOCK" session "$id" >/dev/null 2>&1
			if [ $? -eq 1 ]; then
				gone=yes
				break
			fi
			sleep 0.1
		done
		ctl session "$id"
		if [ "$gone" = yes ] && [ "$CTL_RC" -eq 1 ]; then
			pass "${tag}_session_gone"
		else
			fail "${tag}_session_gone" "mtlsctl session $id after the client left: exit $CTL_RC (want 1): $CTL_OUT"
		fi
	fi
}

pp_conn v1_ipv4 v1 v1 127.0.0.1 "$P_V1" cv1
pp_conn v2_ipv4 v2 v2 127.0.0.1 "$P_V2" cv2
if [ "$HAVE6" = yes ]; then
	pp_conn v1_ipv6 v1six v1 ::1 "$P6_V1" cv1
	pp_conn v2_ipv6 v2six v2 ::1 "$P6_V2" cv2
else
	skip v1_ipv6 "IPv6 loopback ::1 not available"
	skip v2_ipv6 "IPv6 loopback ::1 not available"
fi

# An id of the right shape that no session has.
ctl session 00000000000000000000000000000000
if [ "$CTL_RC" -eq 1 ]; then
	pass session_unknown_id
else
	fail session_unknown_id "mtlsctl session 000...0: exit $CTL_RC (want 1): $CTL_OUT"
fi
ctl session 0123456789ABCDEF0123456789ABCDEF
if [ "$CTL_RC" -eq 2 ]; then
	pass session_bad_id_refused
else
	fail session_bad_id_refused "mtlsctl session with upper-case hex: exit $CTL_RC (want 2): $CTL_OUT"
fi

# ------------------------------------------------------ (b) haproxy

# ha_curl TAG LISTENER VERSION URL RESOLVE...: curl as alice through mtlsd
# to haproxy; haproxy answers with the source it was told.
ha_curl() {
	local tag=$1 lst=$2 ver=$3 url=$4 out body hs client id local_ep
	local src dst uid want_dst
	shift 4
	log_mark
	out=$(curl -sS --max-time 15 --cacert "$PKI/ca.crt" \
	    --cert "$PKI/alice.crt" --key "$PKI/alice.key" "$@" \
	    -w '\nlocal=%{local_ip}:%{local_port}\n' "$url" 2>&1)
	echo "curl $url: $out"
	body=$(printf '%s\n' "$out" | head -1)
	local_ep=$(printf '%s\n' "$out" | sed -n 's/^local=//p' | tail -1)
	if ! hs=$(wait_event 10 event=handshake result=ok "listener=$lst"); then
		fail "${tag}_source" "no event=handshake result=ok listener=$lst; curl: $out"
		return
	fi
	client=$(logval "$hs" client)
	id=$(logval "$hs" id)
	read -r src dst uid <<<"$body"
	if [ -n "$src" ] && same_endpoint "$src" "$local_ep" &&
	    same_endpoint "$src" "$client"; then
		pass "${tag}_source"
	else
		fail "${tag}_source" "haproxy saw '${src}', curl is '${local_ep}', mtlsd logged client=$client (body: $body)"
	fi
	want_dst=${url#https://}
	want_dst=${want_dst%/}
	want_dst=${want_dst/localhost/127.0.0.1}
	if [ -n "$dst" ] && same_endpoint "$dst" "$want_dst"; then
		pass "${tag}_destination"
	else
		fail "${tag}_destination" "haproxy saw destination '${dst}', listener is $want_dst"
	fi
	if [ "$ver" = v2 ]; then
		if [ -n "$id" ] && [ "$uid" = "$id" ]; then
			pass "${tag}_unique_id"
		else
			fail "${tag}_unique_id" "haproxy fc_pp_unique_id '${uid}', session id $id"
		fi
	fi
}

HA_NAMES=(haproxy_v1_ipv4 haproxy_v2_ipv4 haproxy_v1_ipv6 haproxy_v2_ipv6)
if [ -z "$HAPROXY" ]; then
	for n in "${HA_NAMES[@]}"; do
		skip "$n" "haproxy not installed (packaging/deps.sh)"
	done
else
	cat >"$LOGDIR/haproxy.cfg" <<EOF
# written by tests/integration/t_proxy.sh: a PROXY consumer that tells the
# client which source address it was given
global
    maxconn 100
defaults
    mode http
    timeout connect 5s
    timeout client 15s
    timeout server 15s
    timeout http-request 15s
frontend pp
    bind 127.0.0.1:$B_HA accept-proxy
    http-request return status 200 content-type text/plain lf-string "%[src]:%[src_port] %[dst]:%[dst_port] %[fc_pp_unique_id]\n"
EOF
	if ! out=$("$HAPROXY" -c -f "$LOGDIR/haproxy.cfg" 2>&1); then
		fail haproxy_config "$HAPROXY -c: $out"
	else
		"$HAPROXY" -f "$LOGDIR/haproxy.cfg" -db >"$LOGDIR/haproxy.log" 2>&1 &
		HA_PID=$!
		track_pid "$HA_PID"
		up=no
		for ((i = 0; i < 100; i++)); do
			if python3 -c '
import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
			    "$B_HA" 2>/dev/null; then
				up=yes
				break
			fi
			alive "$HA_PID" || break
			sleep 0.1
		done
		if [ "$up" = yes ]; then
			ha_curl haproxy_v1_ipv4 hv1 v1 "https://localhost:$P_H1/" \
			    --resolve "localhost:$P_H1:127.0.0.1"
			ha_curl haproxy_v2_ipv4 hv2 v2 "https://localhost:$P_H2/" \
			    --resolve "localhost:$P_H2:127.0.0.1"
			if [ "$HAVE6" = yes ]; then
				ha_curl haproxy_v1_ipv6 hv1six v1 "https://[::1]:$P6_H1/"
				ha_curl haproxy_v2_ipv6 hv2six v2 "https://[::1]:$P6_H2/"
			else
				skip haproxy_v1_ipv6 "IPv6 loopback ::1 not available"
				skip haproxy_v2_ipv6 "IPv6 loopback ::1 not available"
			fi
		else
			fail haproxy_start "haproxy did not listen on 127.0.0.1:$B_HA within 10 s: $(tail -n 5 "$LOGDIR/haproxy.log")"
		fi
		stop_pid "$HA_PID"
		show haproxy "$LOGDIR/haproxy.log"
	fi
fi

check_stop sigterm_clean_exit
finish
