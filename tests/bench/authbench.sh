#!/bin/bash
# authbench.sh: run tests/bench/authbench under pam_wrapper, with a PAM
# service of its own, so nothing in /etc/pam.d is read or touched.
#
#   authbench.sh --listen ADDR:PORT --query-socket PATH --user NAME
#	[--count N] [--seconds S] [--threads T] [--pam-service NAME]
#	[--svcdir DIR]
#
# The arguments are authbench's (see authbench.c); they are passed on as
# they are.  pam_wrapper copies the service directory when the process
# starts, so the service file is written here, first: into --svcdir when
# given (kept), else into a temporary directory (removed at the end), and
# authbench is told where with --svcdir so it can check the file.  The
# file names descriptor AUTHBENCH_FD, to which authbench moves the
# connection it accepts.
#
# pam_mtls trusts the query socket when it is owned by root (mtlsd started
# as root) or by daemon_uid: the owner of the socket is passed as
# daemon_uid when it is not root, and so is our own uid when the socket
# does not exist yet and we are not root (mtlsd started by this user).
#
# Environment: MTLS_TOP, the top of the tree (default: two levels up from
# this script), for pam_mtls/pam_mtls.so and tests/bench/authbench.
# Exit status: authbench's; 2 when it could not be started.
set -u

AUTHBENCH_FD=100	# AUTHBENCH_FD in authbench.c

MTLS_TOP=${MTLS_TOP:-$(dirname "$0")/../..}
MTLS_TOP=$(cd "$MTLS_TOP" && pwd) || exit 2
PROG=$MTLS_TOP/tests/bench/authbench
MODULE=$MTLS_TOP/pam_mtls/pam_mtls.so

die() {
	echo "authbench.sh: $*" >&2
	exit 2
}

# The few arguments the service file needs, in either getopt_long form.
SOCK='' SERVICE=mtls-authbench SVCDIR=''
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
	a=${args[$i]}
	next=${args[$((i + 1))]:-}
	case $a in
	--query-socket) SOCK=$next ;;
	--query-socket=*) SOCK=${a#*=} ;;
	--pam-service) SERVICE=$next ;;
	--pam-service=*) SERVICE=${a#*=} ;;
	--svcdir) SVCDIR=$next ;;
	--svcdir=*) SVCDIR=${a#*=} ;;
	esac
done

[ -x "$PROG" ] || die "$PROG is not built (make tests/bench/authbench)"
[ -f "$MODULE" ] || die "$MODULE is not built (make)"
[ -n "$SOCK" ] || die "--query-socket is required"
# A PAM argument ends at white space; pam_mtls wants an absolute path.
case $SOCK in
/*) ;;
*) die "--query-socket must be an absolute path: $SOCK" ;;
esac
case "$SOCK$MODULE$SERVICE" in
*[[:space:]]*) die "no white space in the query socket, tree or service name" ;;
esac
case $SERVICE in
*/*|'') die "bad --pam-service: $SERVICE" ;;
esac

PWRAP=$(ldconfig -p 2>/dev/null | awk '/libpam_wrapper\.so/ { print $NF; exit }')
[ -n "$PWRAP" ] || die "libpam_wrapper.so not found (install libpam-wrapper)"

uidarg=''
owner=$(stat -c %u "$SOCK" 2>/dev/null) || owner=$(id -u)
if [ "$owner" != 0 ]; then
	uidarg=" daemon_uid=$owner"
fi

TMPSVC=''
if [ -z "$SVCDIR" ]; then
	TMPSVC=$(mktemp -d "${TMPDIR:-/tmp}/authbench-svc.XXXXXX") || exit 2
	SVCDIR=$TMPSVC
	args+=(--svcdir "$SVCDIR")
fi
mkdir -p "$SVCDIR" || exit 2
printf 'auth required %s socket=%s fd=%d%s\n' "$MODULE" "$SOCK" \
    "$AUTHBENCH_FD" "$uidarg" >"$SVCDIR/$SERVICE" || exit 2
# libpam reads "other" at every pam_start, as on a real system; without
# one it logs an error each time, which would flood stderr (as
# tests/demo.sh does, an empty one: this service defines what it uses).
if [ ! -e "$SVCDIR/other" ]; then
	: >"$SVCDIR/other" || exit 2
fi

# In the background, so that a signal to this script reaches authbench
# and the temporary directory is still removed.
child=''
# shellcheck disable=SC2317 # run by the traps
cleanup() {
	if [ -n "$TMPSVC" ]; then
		rm -rf "$TMPSVC"
	fi
}
# shellcheck disable=SC2317
stop() {
	if [ -n "$child" ]; then
		kill -TERM "$child" 2>/dev/null
		wait "$child"
	fi
	exit 143
}
trap cleanup EXIT
trap stop TERM INT HUP

env LD_PRELOAD="$PWRAP" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$SVCDIR" \
    "$PROG" "${args[@]}" &
child=$!
wait "$child"
rc=$?
child=''
exit "$rc"
