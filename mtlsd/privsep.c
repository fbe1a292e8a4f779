/*
 * privsep.c: the one place where mtlsd gives up root.
 *
 * Called once, after the listeners are bound, the query socket created
 * and every key read.  Any failure is fatal: a daemon that meant to drop
 * privileges must never go on as root.
 */
#include <sys/prctl.h>
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "mtlsd.h"

int
priv_lookup(const char *user, const char *group, uid_t *uid, gid_t *gid,
    char *err, size_t errsize)
{
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	char buf[16384];

	errno = 0;
	if (getpwnam_r(user, &pw, buf, sizeof(buf), &pwp) != 0 ||
	    pwp == NULL) {
		snprintf(err, errsize, "user \"%s\" does not exist", user);
		return MTLS_ERR_NOT_FOUND;
	}
	*uid = pw.pw_uid;
	if (getgrnam_r(group, &gr, buf, sizeof(buf), &grp) != 0 ||
	    grp == NULL) {
		snprintf(err, errsize, "group \"%s\" does not exist", group);
		return MTLS_ERR_NOT_FOUND;
	}
	*gid = gr.gr_gid;
	return 0;
}

void
priv_drop(const char *user, const char *group)
{
	char err[256];
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0) {
		log_info("running as uid %u: no privileges to drop",
		    (unsigned)geteuid());
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
			fatal("prctl(PR_SET_NO_NEW_PRIVS)");
		return;
	}
	if (priv_lookup(user, group, &uid, &gid, err, sizeof(err)) != 0)
		fatalx("cannot drop privileges: %s", err);
	if (uid == 0)
		fatalx("cannot drop privileges: user \"%s\" is root", user);
	if (setgroups(1, &gid) == -1)
		fatal("setgroups");
	if (setresgid(gid, gid, gid) == -1)
		fatal("setresgid(%u)", (unsigned)gid);
	if (setresuid(uid, uid, uid) == -1)
		fatal("setresuid(%u)", (unsigned)uid);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("prctl(PR_SET_NO_NEW_PRIVS)");
	/* Prove it: getting root back must now be impossible. */
	if (setuid(0) != -1 || seteuid(0) != -1)
		fatalx("privilege drop failed: root could be regained");
	log_info("dropped privileges to %s(%u):%s(%u)", user, (unsigned)uid,
	    group, (unsigned)gid);
}
