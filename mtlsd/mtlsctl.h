/*
 * mtlsctl.h: what the parts of mtlsctl share.  mtlsctl.c holds the
 * command line and the query commands (sessions, whois, stats);
 * mtlsctl_map.c the offline "map" command.
 */
#ifndef MTLSCTL_H
#define MTLSCTL_H

#include <stdbool.h>
#include <stddef.h>

#include "bytes.h"

#define USAGE \
	"usage: mtlsctl [-s SOCKET] [--json] sessions\n" \
	"       mtlsctl [-s SOCKET] [--json] whois ADDR:PORT\n" \
	"       mtlsctl [-s SOCKET] [--json] stats\n" \
	"       mtlsctl [-s SOCKET] [--json] reload\n" \
	"       mtlsctl [-s SOCKET] [--json] session ID\n" \
	"       mtlsctl [-c FILE] map [--mapping NAME | --listener NAME] " \
	"[--user USER]\n" \
	"               [--explain] [--json] CERT.pem\n"

/* Exit codes. */
#define EXIT_OK			0
#define EXIT_NOTFOUND		1
#define EXIT_FAIL		2

/* getopt values of long-only options, outside the range of short ones. */
#define OPT_JSON		256
#define OPT_HELP		257
#define OPT_EXPLAIN		258
#define OPT_LISTENER		259
#define OPT_MAPPING		260
#define OPT_USER		261

struct map_opts {
	const char	*config;	/* -c FILE */
	const char	*mapping;	/* --mapping NAME */
	const char	*listener;	/* --listener NAME */
	const char	*user;		/* --user U */
	const char	*cert;		/* CERT.pem */
	bool		 explain;
	bool		 json;
};

/* mtlsctl.c */
void	 usage(void) __attribute__((noreturn));

/* mtlsctl_map.c */
/* Parse map's arguments; -1 to go on, else the exit code. */
int	 map_parse(int argc, char *argv[], struct map_opts *o);
int	 ctl_map(const struct map_opts *o);

#endif
