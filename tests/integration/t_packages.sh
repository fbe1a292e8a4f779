#!/bin/bash
# t_packages.sh: `make deb` and `make rpm` build the two packages each, with
# no lintian or rpmlint errors (both targets fail on those), and the files
# land where each distribution wants them.  Installing the packages is left
# to a person (it changes the machine: users, units).
# shellcheck source=tests/integration/lib.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

if ! command -v dpkg-buildpackage >/dev/null 2>&1 ||
    ! command -v lintian >/dev/null 2>&1; then
	skip deb_builds "dpkg-buildpackage or lintian not installed (packaging/deps.sh --package)"
else
	if make -s -C "$MTLS_TOP" --no-print-directory deb \
	    >"$LOGDIR/deb.log" 2>&1; then
		pass deb_builds
	else
		fail deb_builds "make deb: $(tail -n 5 "$LOGDIR/deb.log" | tr '\n' ' ')"
	fi
	D=$MTLS_TOP/build/deb
	c_mtlsd=$(dpkg -c "$D"/mtlsd_*.deb 2>&1 | awk '{ print $6 }')
	c_pam=$(dpkg -c "$D"/libpam-mtls_*.deb 2>&1 | awk '{ print $6 }')
	miss=
	for f in ./usr/sbin/mtlsd ./usr/bin/mtlsctl ./etc/mtls/mtlsd.conf \
	    ./lib/systemd/system/mtlsd.service ./usr/lib/sysusers.d/mtls-pam.conf; do
		grep -qx "$f" <<<"$c_mtlsd" || miss+=" mtlsd:$f"
	done
	grep -q '^\./lib/[^/]*/security/pam_mtls\.so$' <<<"$c_pam" ||
	    miss+=" libpam-mtls:pam_mtls.so"
	grep -q 'pam_mtls' <<<"$c_mtlsd" && miss+=" mtlsd ships the module"
	if [ -z "$miss" ]; then
		pass deb_contents
	else
		fail deb_contents "$miss"
	fi
	# The config file is a conffile; no PAM stack is touched.
	if dpkg-deb -I "$D"/mtlsd_*.deb conffiles 2>/dev/null |
	    grep -qx /etc/mtls/mtlsd.conf &&
	    ! dpkg-deb -c "$D"/libpam-mtls_*.deb | grep -q 'pam-configs\|etc/pam.d'; then
		pass deb_conffile_no_pam_stack
	else
		fail deb_conffile_no_pam_stack "conffiles: $(dpkg-deb -I "$D"/mtlsd_*.deb conffiles 2>&1)"
	fi
fi

if ! command -v rpmbuild >/dev/null 2>&1 || ! command -v rpmlint >/dev/null 2>&1; then
	skip rpm_builds "rpmbuild or rpmlint not installed (packaging/deps.sh --package)"
else
	if make -s -C "$MTLS_TOP" --no-print-directory rpm \
	    >"$LOGDIR/rpm.log" 2>&1; then
		pass rpm_builds
	else
		fail rpm_builds "make rpm: $(tail -n 5 "$LOGDIR/rpm.log" | tr '\n' ' ')"
	fi
	R=$MTLS_TOP/build/rpm/RPMS
	if rpm -qlp "$R"/*/pam_mtls-*.rpm 2>/dev/null | grep -qx '/usr/lib64/security/pam_mtls.so' &&
	    rpm -qlp "$R"/*/mtlsd-*.rpm 2>/dev/null | grep -qx '/usr/lib/systemd/system/mtlsd.service'; then
		pass rpm_contents
	else
		fail rpm_contents "$(rpm -qlp "$R"/*/*.rpm 2>&1 | tr '\n' ' ')"
	fi
fi

finish
