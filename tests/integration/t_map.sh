#!/bin/bash
# t_map.sh: "mtlsctl map", offline (no daemon): which accounts a
# certificate maps to under the rules of mtlsd.conf, and why.  alice (SAN
# email alice@corp.example) maps to the literal account "nobody", a rule
# that would give "root" is refused (uid 0, accounts.allow_root false), bob
# (no email) maps to nothing; --user, --explain, --json, the choice of rule
# set (--mapping, --listener, "several rule sets"), issuer pins against the
# CA path mtlsctl finds in client_ca, values with control bytes shown
# escaped, and the errors that exit 2: a bad configuration (FILE:LINE), a
# missing certificate, an unknown listener or set.
# shellcheck source=tests/integration/lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
require_built

# Nothing listens: map never binds or connects, the ports only make the
# configuration valid for "mtlsd -t".
P_WEB=$(free_port)
P_PLAIN=$(free_port)
P_BOTH=$(free_port)
B_ECHO=$(free_port)

HAVE_CA2=no
[ -f "$PKI/ca2.sha256" ] && [ -f "$PKI/ca-both.pem" ] &&
    [ -f "$PKI/map-ca2-alice.crt" ] && [ -f "$PKI/ca.sha256" ] && HAVE_CA2=yes

# map_run ARGS...: mtlsctl ARGS; stdout in MAP_OUT, stderr in MAP_ERR,
# status in MAP_RC; everything into the script's log.
map_run() {
	MAP_OUT=$(timeout 20 "$MTLSCTL" "$@" 2>"$RUNDIR/map.err")
	MAP_RC=$?
	MAP_ERR=$(cat "$RUNDIR/map.err")
	printf 'mtlsctl %s -> %s\n%s\n' "$*" "$MAP_RC" "$MAP_OUT"
	[ -n "$MAP_ERR" ] && printf 'stderr: %s\n' "$MAP_ERR"
	return 0
}

# has_line TEXT FIXED: TEXT holds a line that is exactly FIXED.
has_line() { printf '%s\n' "$1" | grep -qxF -- "$2"; }
# has_match TEXT ERE: TEXT holds a line matching ERE.
has_match() { printf '%s\n' "$1" | grep -qE -- "$2"; }

# expect_rc NAME WANT [ERE]: MAP_RC is WANT (and the output has a line
# matching ERE).
expect_rc() {
	local name=$1 want=$2 re=${3:-}
	if [ "$MAP_RC" -ne "$want" ]; then
		fail "$name" "exit $MAP_RC, want $want: $MAP_OUT $MAP_ERR"
	elif [ -n "$re" ] && ! has_match "$MAP_OUT" "$re"; then
		fail "$name" "no line matching /$re/ in: $MAP_OUT"
	else
		pass "$name"
	fi
}

# --- the configuration: one listener per rule set, plus one without
# (write_conf also always writes lib.sh's rule set "testusers")
CONF=$LOGDIR/mtlsd.conf
add_conf_line 'accounts = { min_uid = 1000; allow_root = false; };'
add_mapping staff '{ name = "by-email"; field = "san.email";
      glob = "*@corp.example"; account = "nobody"; },
    { name = "to-root"; field = "subject.CN"; equals = "alice";
      account = "root"; },
    { name = "by-cn"; field = "subject.CN";
      regex = "[a-z][a-z0-9]*"; account = "{subject.CN}"; }'
add_listener web "127.0.0.1:$P_WEB" "127.0.0.1:$B_ECHO" 'mapping="staff"'
add_listener plain "127.0.0.1:$P_PLAIN" "127.0.0.1:$B_ECHO" mapping= \
    require_mapping=false
if [ "$HAVE_CA2" = yes ]; then
	# "both" trusts ca and ca2, whose subjects are the same
	add_mapping pinned "{ name = \"alice-from-ca\"; field = \"subject.CN\";
      equals = \"alice\"; account = \"nobody\";
      issuer = \"$(cat "$PKI/ca.sha256")\"; }"
	add_listener both "127.0.0.1:$P_BOTH" "127.0.0.1:$B_ECHO" \
	    'mapping="pinned"' "client_ca=\"$PKI/ca-both.pem\""
fi
write_conf "$CONF"

# The listener "web" alone with one rule set, for the default choice.
ONE=$LOGDIR/one.conf
cat >"$ONE" <<EOF
user = "nobody";
group = "nogroup";
query = { socket = "$QUERY_SOCK"; group = "nogroup"; mode = 0660; };
listeners = (
  { name = "web";
    listen = "127.0.0.1:$P_WEB";
    certificate = "$PKI/server-chain.pem";
    private_key = "$PKI/server.key";
    client_ca = "$PKI/clients-ca.pem";
    upstream = "127.0.0.1:$B_ECHO";
    mapping = "only"; } );
mappings = {
  only = (
    { name = "by-email"; field = "san.email"; glob = "*@corp.example";
      account = "nobody"; } );
};
EOF

for f in "$CONF" "$ONE"; do
	if ! out=$("$MTLSD" -t -c "$f" 2>&1); then
		fail config_check "mtlsd -t -c $f: $out"
		finish
	fi
done
pass config_check

# With several rule sets, every run names one (or a listener).
MAPARGS=(-c "$CONF" map --mapping staff)

# --- alice: nobody through her email; root refused
map_run "${MAPARGS[@]}" "$PKI/alice.crt"
expect_rc alice_maps 0 '^accounts: nobody$'
if has_line "$MAP_OUT" "subject=\"$(cat "$PKI/alice.subject")\"" &&
    has_line "$MAP_OUT" "serial=$(cat "$PKI/alice.serial")" &&
    has_line "$MAP_OUT" "san.email=alice@corp.example" &&
    has_match "$MAP_OUT" '^issuer_ca_sha256=([0-9A-F]{2}:){31}[0-9A-F]{2}$' &&
    ! has_match "$MAP_OUT" '^rule '; then
	pass alice_identity_summary
else
	fail alice_identity_summary "want subject, serial, san.email, issuer_ca_sha256 and no rule lines: $MAP_OUT"
fi

map_run "${MAPARGS[@]}" --user nobody "$PKI/alice.crt"
expect_rc user_nobody 0 '^user=nobody mapped=yes$'
map_run "${MAPARGS[@]}" --user root "$PKI/alice.crt"
expect_rc user_root 1 '^user=root mapped=no$'
map_run "${MAPARGS[@]}" --user alice "$PKI/alice.crt"
expect_rc user_not_listed 1

# --- --explain: one verdict per rule
map_run "${MAPARGS[@]}" --explain "$PKI/alice.crt"
if [ "$MAP_RC" -eq 0 ] &&
    has_match "$MAP_OUT" '^rule by-email: matched: value=alice@corp\.example account=nobody ' &&
    has_match "$MAP_OUT" '^rule to-root: rejected: value=alice account=root reason=".*uid 0 denied' &&
    has_match "$MAP_OUT" '^rule by-cn: rejected: value=alice account=alice ' &&
    has_line "$MAP_OUT" 'subject.CN=alice' &&
    has_line "$MAP_OUT" 'accounts: nobody'; then
	pass explain_alice
else
	fail explain_alice "want by-email matched, to-root rejected (uid 0 denied), by-cn rejected: $MAP_OUT"
fi
# The rule order of the configuration is kept.
rule_order=$(printf '%s\n' "$MAP_OUT" | sed -n 's/^rule \([^:]*\):.*/\1/p' |
    tr '\n' ' ')
check explain_order "rule lines in order: $rule_order" \
    test "$rule_order" = "by-email to-root by-cn "

# --- bob: no email, CN bob is no account here
map_run "${MAPARGS[@]}" "$PKI/bob.crt"
expect_rc bob_unmapped 1 '^accounts: none$'
map_run "${MAPARGS[@]}" --explain "$PKI/bob.crt"
if [ "$MAP_RC" -eq 1 ] &&
    has_match "$MAP_OUT" '^rule by-email: skipped: reason="certificate has no san\.email"' &&
    has_match "$MAP_OUT" '^rule to-root: not matched: value=bob ' &&
    has_line "$MAP_OUT" 'accounts: none'; then
	pass explain_bob
else
	fail explain_bob "want by-email skipped and to-root not matched: $MAP_OUT"
fi

# --- --json: one object that python's json accepts
map_run "${MAPARGS[@]}" --json "$PKI/alice.crt"
if [ "$MAP_RC" -eq 0 ] && printf '%s' "$MAP_OUT" | python3 -c '
import json, sys
subject, serial = sys.argv[1:3]
lines = sys.stdin.read().splitlines()
assert len(lines) == 1, lines
d = json.loads(lines[0])
assert d["accounts"] == ["nobody"], d["accounts"]
assert d["subject"] == subject, d["subject"]
assert d["serial"] == serial, d["serial"]
assert d["san_email"] == ["alice@corp.example"], d["san_email"]
assert d["san_dns"] == [] and d["san_uri"] == []
assert len(d["issuer_ca_sha256"]) == 95, d["issuer_ca_sha256"]
steps = {s["rule"]: s for s in d["steps"]}
assert steps["by-email"]["result"] == "matched", steps
assert steps["by-email"]["account"] == "nobody", steps
assert steps["to-root"]["result"] == "rejected", steps
assert "uid 0 denied" in steps["to-root"]["reason"], steps
for k in ("rule", "result", "value", "account", "reason"):
    assert all(k in s for s in d["steps"]), k
' "$(cat "$PKI/alice.subject")" "$(cat "$PKI/alice.serial")"; then
	pass json_alice
else
	fail json_alice "exit $MAP_RC; not the JSON expected: $MAP_OUT"
fi
map_run "${MAPARGS[@]}" --json --user root "$PKI/bob.crt"
if [ "$MAP_RC" -eq 1 ] && printf '%s' "$MAP_OUT" | python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
assert d["accounts"] == [] and d["user_mapped"] is False, d
assert d["san_email"] == [], d
'; then
	pass json_bob
else
	fail json_bob "exit $MAP_RC: $MAP_OUT"
fi

# --- a CN of "alice\nroot": refused, and shown escaped on one line
if [ -f "$PKI/map-cn-newline.crt" ]; then
	map_run "${MAPARGS[@]}" --explain "$PKI/map-cn-newline.crt"
	if [ "$MAP_RC" -eq 1 ] && has_line "$MAP_OUT" 'accounts: none' &&
	    has_line "$MAP_OUT" 'subject.CN="alice\nroot"' &&
	    ! has_match "$MAP_OUT" '^root' &&
	    has_match "$MAP_OUT" '^rule to-root: rejected: .*control bytes'; then
		pass newline_cn_escaped
	else
		fail newline_cn_escaped "exit $MAP_RC: $MAP_OUT"
	fi
else
	skip newline_cn_escaped "no map-cn-newline.crt in $PKI"
fi

# --- rule set selection
map_run -c "$CONF" map --listener web "$PKI/alice.crt"
expect_rc listener_web 0 '^accounts: nobody$'
map_run -c "$CONF" map --listener plain "$PKI/alice.crt"
if [ "$MAP_RC" -eq 2 ] && has_match "$MAP_ERR" 'listener "plain" has no mapping'; then
	pass listener_without_mapping
else
	fail listener_without_mapping "exit $MAP_RC, want 2: $MAP_ERR"
fi
map_run -c "$CONF" map --listener nosuch "$PKI/alice.crt"
if [ "$MAP_RC" -eq 2 ] && has_match "$MAP_ERR" 'no listener named "nosuch"' &&
    [ -z "$MAP_OUT" ]; then
	pass unknown_listener
else
	fail unknown_listener "exit $MAP_RC, want 2: $MAP_ERR"
fi
map_run -c "$CONF" map --mapping nosuch "$PKI/alice.crt"
check unknown_mapping "exit $MAP_RC, want 2: $MAP_ERR" test "$MAP_RC" -eq 2
map_run -c "$CONF" map --mapping staff --listener web "$PKI/alice.crt"
check mapping_and_listener "exit $MAP_RC, want 2: $MAP_ERR" test "$MAP_RC" -eq 2

map_run -c "$CONF" map "$PKI/alice.crt"
if [ "$MAP_RC" -eq 2 ] && has_match "$MAP_ERR" 'several rule sets: use --mapping or --listener'; then
	pass several_sets
else
	fail several_sets "exit $MAP_RC, want 2: $MAP_ERR"
fi
map_run -c "$ONE" map --explain "$PKI/alice.crt"
if [ "$MAP_RC" -eq 0 ] && has_match "$MAP_OUT" '^mapping=only listener=web ' &&
    has_line "$MAP_OUT" 'accounts: nobody'; then
	pass only_set_by_default
else
	fail only_set_by_default "exit $MAP_RC: $MAP_OUT $MAP_ERR"
fi

# --- issuer pins: the same subject from ca and from ca2
if [ "$HAVE_CA2" = yes ]; then
	CA_FPR=$(sed 's/^sha256://' "$PKI/ca.sha256")
	CA2_FPR=$(sed 's/^sha256://' "$PKI/ca2.sha256")
	map_run -c "$CONF" map --listener both --explain "$PKI/alice.crt"
	if [ "$MAP_RC" -eq 0 ] &&
	    has_line "$MAP_OUT" "issuer_ca_sha256=$CA_FPR" &&
	    has_match "$MAP_OUT" '^rule alice-from-ca: matched: '; then
		pass pin_same_ca
	else
		fail pin_same_ca "want issuer $CA_FPR and a match: $MAP_OUT"
	fi
	map_run -c "$CONF" map --listener both --explain "$PKI/map-ca2-alice.crt"
	if [ "$MAP_RC" -eq 1 ] &&
	    has_line "$MAP_OUT" "issuer_ca_sha256=$CA2_FPR" &&
	    has_match "$MAP_OUT" '^rule alice-from-ca: skipped: reason="issuer pin does not match' &&
	    has_line "$MAP_OUT" 'accounts: none'; then
		pass pin_other_ca
	else
		fail pin_other_ca "want issuer $CA2_FPR and the rule skipped: $MAP_OUT"
	fi
	# --mapping: the anchors of the first listener using the set
	map_run -c "$CONF" map --mapping pinned "$PKI/alice.crt"
	expect_rc mapping_uses_listener_ca 0 '^accounts: nobody$'
	# clients-ca.pem does not hold ca2: no path, the issuer is unknown,
	# mapping still runs (and its unpinned rules still match)
	map_run -c "$CONF" map --mapping staff --explain "$PKI/map-ca2-alice.crt"
	if has_line "$MAP_OUT" 'issuer_ca_sha256=unknown' &&
	    has_match "$MAP_OUT" '^issuer unknown: pinned rules are skipped' &&
	    has_match "$MAP_OUT" '^rule to-root: rejected: .*uid 0 denied'; then
		pass issuer_unknown
	else
		fail issuer_unknown "exit $MAP_RC: $MAP_OUT"
	fi
else
	skip pin_same_ca "no ca2 in $PKI"
	skip pin_other_ca "no ca2 in $PKI"
	skip mapping_uses_listener_ca "no ca2 in $PKI"
	skip issuer_unknown "no ca2 in $PKI"
fi

# --- errors: exit 2, one line saying what and where
BAD=$LOGDIR/bad.conf
sed 's/glob = "\*@corp.example";/glob = "*@corp.example"; colour = "red";/' \
    "$CONF" >"$BAD"
badline=$(grep -n 'colour = "red"' "$BAD" | cut -d: -f1)
map_run -c "$BAD" map "$PKI/alice.crt"
if [ "$MAP_RC" -eq 2 ] && [ -n "$badline" ] &&
    has_match "$MAP_ERR" "^mtlsctl: $BAD:$badline: .*colour" &&
    [ "$(printf '%s\n' "$MAP_ERR" | wc -l)" -eq 1 ]; then
	pass bad_config
else
	fail bad_config "exit $MAP_RC, want 2 and \"$BAD:$badline: ...colour...\": $MAP_ERR"
fi
BADRE=$LOGDIR/badre.conf
sed 's/regex = "\[a-z\]\[a-z0-9\]\*";/regex = "([a-z]";/' "$CONF" >"$BADRE"
badline=$(grep -n 'regex = "(\[a-z\]"' "$BADRE" | cut -d: -f1)
map_run -c "$BADRE" map "$PKI/alice.crt"
if [ "$MAP_RC" -eq 2 ] && [ -n "$badline" ] &&
    has_match "$MAP_ERR" "^mtlsctl: $BADRE:[0-9]+: .*by-cn.*regex"; then
	pass bad_regex
else
	fail bad_regex "exit $MAP_RC, want 2 and FILE:LINE naming rule by-cn: $MAP_ERR"
fi
map_run -c "$RUNDIR/no-such.conf" map "$PKI/alice.crt"
check missing_config "exit $MAP_RC, want 2: $MAP_ERR" test "$MAP_RC" -eq 2
map_run "${MAPARGS[@]}" "$RUNDIR/no-such-cert.pem"
if [ "$MAP_RC" -eq 2 ] && has_match "$MAP_ERR" "no-such-cert\.pem"; then
	pass missing_cert
else
	fail missing_cert "exit $MAP_RC, want 2 naming the file: $MAP_ERR"
fi
map_run "${MAPARGS[@]}" "$PKI/alice.key"
check not_a_cert "exit $MAP_RC, want 2: $MAP_ERR" test "$MAP_RC" -eq 2
map_run "${MAPARGS[@]}"
check map_no_cert_arg "exit $MAP_RC, want 2: $MAP_ERR" test "$MAP_RC" -eq 2

# --- the other commands are still there
map_run --help
if [ "$MAP_RC" -eq 0 ] && has_match "$MAP_OUT" 'map \[--mapping NAME' &&
    has_match "$MAP_OUT" ' sessions$'; then
	pass usage_lists_map
else
	fail usage_lists_map "exit $MAP_RC: $MAP_OUT"
fi
map_run -s "$RUNDIR/none.sock" stats
if [ "$MAP_RC" -eq 2 ] && has_match "$MAP_ERR" 'cannot connect to'; then
	pass stats_still_queries
else
	fail stats_still_queries "exit $MAP_RC: $MAP_ERR"
fi

finish
