#!/bin/bash
# t_manpages.sh: the manual pages.
#
#   - every page in the tree (mtlsd/*.5, mtlsd/*.8, pam_mtls/*.8) passes
#     "mandoc -Tlint -Wwarning" (skipped when mandoc is not installed;
#     packaging/deps.sh installs it);
#   - every argument of pam_mtls.so, as listed in args_table in
#     pam_mtls/pam_mtls.c, has an ".It Cm NAME" entry in the OPTIONS
#     section of pam_mtls/pam_mtls.8, and every such entry names an argument
#     of that table: adding an argument without documenting it fails here.
#
# Needs no daemon, no network and no root.
# shellcheck source=tests/integration/lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

PAM_SRC=$MTLS_TOP/pam_mtls/pam_mtls.c
PAM_MAN=$MTLS_TOP/pam_mtls/pam_mtls.8

# --- lint every page
pages=()
for p in "$MTLS_TOP"/mtlsd/*.5 "$MTLS_TOP"/mtlsd/*.8 "$MTLS_TOP"/pam_mtls/*.8; do
	[ -f "$p" ] && pages+=("$p")
done
for want in mtlsd/mtlsd.8 mtlsd/mtlsd.conf.5 mtlsd/mtlsctl.8 pam_mtls/pam_mtls.8; do
	check "present_$(basename "$want")" "$want is missing" \
	    test -f "$MTLS_TOP/$want"
done

if ! command -v mandoc >/dev/null 2>&1; then
	for p in "${pages[@]}"; do
		skip "lint_$(basename "$p")" "mandoc not installed (packaging/deps.sh)"
	done
else
	for p in "${pages[@]}"; do
		name=lint_$(basename "$p")
		# -Wwarning: warnings and worse fail; style hints (such as
		# references to pages not installed here) do not.
		if out=$(mandoc -Tlint -Wwarning "$p" 2>&1); then
			pass "$name"
		else
			echo "$out"
			fail "$name" "mandoc -Tlint -Wwarning ${p#"$MTLS_TOP"/}: $out"
		fi
	done
fi

# --- pam_mtls.so's arguments are all documented, and only those
# The names: the first string of each row between "args_table[] = {" and
# the "};" that ends it.
table=$(awk '
	/args_table\[\][[:space:]]*=[[:space:]]*\{/ { intable = 1; next }
	intable && /^[[:space:]]*\}[[:space:]]*;/ { exit }
	intable && match($0, /^[[:space:]]*\{[[:space:]]*"[^"]+"/) {
		row = substr($0, RSTART, RLENGTH)
		sub(/^[^"]*"/, "", row)
		sub(/"$/, "", row)
		print row
	}' "$PAM_SRC" 2>/dev/null | sort -u)

# The documented ones: ".It Cm NAME ..." between ".Sh OPTIONS" and the next
# ".Sh".
documented=$(awk '
	/^\.Sh[[:space:]]/ { inopts = ($0 ~ /^\.Sh[[:space:]]+OPTIONS[[:space:]]*$/); next }
	inopts && /^\.It[[:space:]]+Cm[[:space:]]/ { print $3 }' \
	"$PAM_MAN" 2>/dev/null | sort -u)

echo "arguments in args_table: $(printf '%s\n' "$table" | tr '\n' ' ' | sed 's/ $//')"
echo "arguments under OPTIONS: $(printf '%s\n' "$documented" | tr '\n' ' ' | sed 's/ $//')"

if [ -z "$table" ]; then
	fail args_table_found "no argument names found in args_table of ${PAM_SRC#"$MTLS_TOP"/} (did its layout change? update this script)"
else
	pass args_table_found
	undocumented=$(comm -23 <(printf '%s\n' "$table") \
	    <(printf '%s\n' "$documented") | tr '\n' ' ' | sed 's/ $//')
	if [ -z "$undocumented" ]; then
		pass args_documented
	else
		fail args_documented "arguments of pam_mtls.so without an \".It Cm NAME\" entry under OPTIONS in pam_mtls/pam_mtls.8: $undocumented"
	fi
	unknown=$(comm -13 <(printf '%s\n' "$table") \
	    <(printf '%s\n' "$documented") | tr '\n' ' ' | sed 's/ $//')
	if [ -z "$unknown" ]; then
		pass args_exist
	else
		fail args_exist "pam_mtls/pam_mtls.8 documents arguments that args_table does not have: $unknown"
	fi
fi

finish
