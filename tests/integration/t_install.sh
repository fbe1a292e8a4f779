#!/bin/bash
# t_install.sh: `make install` and `make uninstall` into a staging
# directory (DESTDIR): every file in its place with its mode, the unit
# pointing at the installed mtlsd, an administrator's configuration never
# overwritten nor removed, and nothing else left behind by uninstall.
# Needs no root: DESTDIR is a directory of this test.
# shellcheck source=tests/integration/lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
require_built

ROOT=$RUNDIR/root
# The module directory and systemd's directories as the Makefile finds them.
PAMDIR=$(make -s -C "$MTLS_TOP" --no-print-directory -f - print-pamdir <<'EOF' 2>/dev/null
include Makefile
print-pamdir:
	@echo $(PAM_MODULE_DIR) $(SYSTEMD_UNIT_DIR) $(SYSUSERS_DIR) $(TMPFILES_DIR)
EOF
)
read -r PAM_DIR UNIT_DIR SYSUSERS_DIR TMPFILES_DIR <<<"$PAMDIR"
echo "dirs: $PAMDIR"

inst() {
	make -s -C "$MTLS_TOP" --no-print-directory "$@" DESTDIR="$ROOT" \
	    PREFIX=/usr >>"$LOGDIR/make.log" 2>&1
}

if inst install; then
	pass install_runs
else
	fail install_runs "make install failed: $(tail -n 5 "$LOGDIR/make.log")"
	finish
fi

want=(
	"/usr/sbin/mtlsd 755" "/usr/bin/mtlsctl 755"
	"$PAM_DIR/pam_mtls.so 644"
	"/usr/share/man/man8/mtlsd.8 644" "/usr/share/man/man8/mtlsctl.8 644"
	"/usr/share/man/man8/pam_mtls.8 644" "/usr/share/man/man5/mtlsd.conf.5 644"
	"$UNIT_DIR/mtlsd.service 644" "$UNIT_DIR/mtlsd.socket 644"
	"$SYSUSERS_DIR/mtls-pam.conf 644" "$TMPFILES_DIR/mtls-pam.conf 644"
	"/etc/mtls/mtlsd.conf 640"
	"/usr/share/doc/mtls-pam/examples/pam.d/mtls-sshd 644"
)
bad=
for w in "${want[@]}"; do
	f=${w% *} mode=${w##* }
	got=$(stat -c %a "$ROOT$f" 2>/dev/null) || { bad+=" $f(missing)"; continue; }
	[ "$got" = "$mode" ] || bad+=" $f(mode $got, want $mode)"
done
if [ -z "$bad" ]; then
	pass files_installed
else
	fail files_installed "$bad"
fi

if grep -qx 'ExecStart=/usr/sbin/mtlsd -f -c /etc/mtls/mtlsd.conf' \
    "$ROOT$UNIT_DIR/mtlsd.service"; then
	pass unit_paths
else
	fail unit_paths "$(grep ExecStart "$ROOT$UNIT_DIR/mtlsd.service")"
fi

# An administrator's configuration survives install and uninstall.
echo '# changed by the admin' >>"$ROOT/etc/mtls/mtlsd.conf"
inst install
if tail -n 1 "$ROOT/etc/mtls/mtlsd.conf" | grep -q 'changed by the admin'; then
	pass install_keeps_config
else
	fail install_keeps_config "the changed mtlsd.conf was overwritten"
fi
inst uninstall
left=$(cd "$ROOT" && find . -type f | sort | tr '\n' ' ')
if [ "$left" = "./etc/mtls/mtlsd.conf " ]; then
	pass uninstall_removes_all_but_config
else
	fail uninstall_removes_all_but_config "left behind: $left"
fi
rm -f "$ROOT/etc/mtls/mtlsd.conf"
inst install
inst uninstall
left=$(cd "$ROOT" && find . -type f | tr '\n' ' ')
if [ -z "$left" ]; then
	pass uninstall_removes_unchanged_config
else
	fail uninstall_removes_unchanged_config "left behind: $left"
fi

finish
