/*
 * loadgen.c: the benchmark client.  One thread, one epoll set, many
 * non-blocking wolfSSL client connections to an mTLS server (mtlsd in
 * front of tests/bench/echo, or anything else that echoes).
 *
 *   handshake  keep --conns full handshakes in flight, each followed by a
 *              one-byte echo, for --seconds or --count; print the rate and
 *              latency percentiles
 *   bulk       open --conns connections, push --bytes through them and
 *              check every byte that comes back; print MiB/s
 *   idle       open --conns connections and hold them; then check that
 *              each one still echoes
 *
 * Every handshake is a full one: a new WOLFSSL per connection, no session
 * cache, no tickets.  The server's certificate chain is verified against
 * --ca, its name is not (benchmark certificates may carry any name).
 * Output is one "key=value ..." line per result on stdout; errors go to
 * stderr as "loadgen: ...".  See usage() for the options.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>

#include "benchnet.h"

#define NSEC_PER_SEC		1000000000ULL
#define NSEC_PER_MSEC		1000000ULL

#define RECORD_MAX		16384	/* plaintext of one TLS record */
#define PATTERN_LEN		16384	/* period of the bulk payload */
#define MAX_EVENTS		512
#define TICK_MS			100	/* longest sleep; timeout sweep period */
#define ESTABLISH_INFLIGHT	256	/* idle and bulk: handshakes at once */
#define BULK_ROUNDS		8	/* write+read rounds per event */
#define ERRORS_SHOWN		5
#define FD_RESERVE		64	/* descriptors beyond one per conn */
/* Handshake mode: a slot whose attempt failed waits this long, so a
 * server that refuses at once does not turn us into a spin loop. */
#define RETRY_DELAY_NS		(10 * NSEC_PER_MSEC)
#define PING_BYTE		'p'

/* Latency histogram: bucket b holds [1.01^b, 1.01^(b+1)) microseconds,
 * about 1% resolution from 1 us to 10 s (1.01^1620 > 1e7); slower
 * samples land in the last bucket, max_ns keeps the exact maximum. */
#define HIST_GROWTH		1.01
#define HIST_BUCKETS		1621

#define TAG_SIGNAL		UINT64_MAX
#define TAG_STDIN		(UINT64_MAX - 1)

enum mode { MODE_HANDSHAKE, MODE_BULK, MODE_IDLE };

/* What the connections are doing; decides what a finished echo means. */
enum phase {
	PH_HANDSHAKE_RUN,	/* handshake mode */
	PH_ESTABLISH,		/* bulk and idle: opening the connections */
	PH_BULK,		/* bulk: moving the payload */
	PH_HOLD,		/* idle: holding */
	PH_CHECK		/* idle: the final echo on each */
};

enum conn_state {
	CS_FREE,		/* slot unused */
	CS_CONNECTING,		/* TCP connect in progress */
	CS_HANDSHAKE,
	CS_PING_WRITE,		/* sending the one-byte probe */
	CS_PING_READ,		/* waiting for it to come back */
	CS_QUIET,		/* established, idle; watched for a close */
	CS_BULK,
	CS_NSTATES
};

/* What a step of a connection's state machine left it in. */
enum step { STEP_BLOCKED, STEP_NEXT, STEP_CLOSED };

struct options {
	struct sockaddr_storage	 peer;
	socklen_t		 peer_len;
	struct sockaddr_storage	 source;
	socklen_t		 source_len;	/* 0: no --bind */
	const char		*ca;
	const char		*cert;
	const char		*key;
	int			 tls_version;	/* 12 or 13 */
	int			 group;		/* WOLFSSL_ECC_* */
	enum mode		 mode;
	bool			 have_mode;
	unsigned		 conns;
	double			 seconds;
	uint64_t		 count;		/* 0: no --count */
	uint64_t		 bytes;
	bool			 have_bytes;
	double			 hold;		/* < 0: until told */
	const char		*ready_file;
	double			 timeout;
	bool			 watch_stdin;
};

struct conn {
	WOLFSSL		*ssl;
	int		 fd;
	enum conn_state	 state;
	bool		 registered;	/* in the epoll set */
	uint32_t	 armed;		/* events asked for */
	uint64_t	 started;	/* connect() began, ns */
	uint64_t	 deadline;	/* ns; 0 when nothing is awaited */
	uint64_t	 not_before;	/* handshake mode: retry pacing */
	uint64_t	 to_send;	/* bulk */
	uint64_t	 sent;		/* records wolfSSL_write took */
	uint64_t	 received;
	uint32_t	 retrying;	/* length of a write that got
					 * WANT_WRITE: may be on the wire */
};

struct histogram {
	uint64_t	count[HIST_BUCKETS];
	uint64_t	n;
	uint64_t	max_ns;
};

struct loadgen {
	struct options	 opt;
	uint64_t	 timeout_ns;
	WOLFSSL_CTX	*ctx;
	int		 epoll_fd;
	int		 signal_fd;
	bool		 stdin_watched;
	bool		 stdin_eof;
	bool		 stop;		/* SIGTERM or SIGINT came */
	enum phase	 phase;
	struct conn	*conns;		/* opt.conns slots */
	unsigned	 in_state[CS_NSTATES];
	uint64_t	 last_sweep;

	uint64_t	 handshakes;	/* handshake mode: full round trips */
	uint64_t	 established;	/* bulk, idle */
	uint64_t	 alive;		/* idle check */
	uint64_t	 errors;
	uint64_t	 reported;	/* failures printed so far */
	uint64_t	 bulk_received;

	struct histogram hist;
	unsigned char	 pattern[PATTERN_LEN];
	unsigned char	 rbuf[RECORD_MAX];
};

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
"usage: loadgen --connect HOST:PORT --ca CA.crt --cert CLIENT.crt\n"
"           --key CLIENT.key --mode handshake|bulk|idle [options]\n"
"  --tls 1.2|1.3        protocol version (default 1.3)\n"
"  --group x25519|p256  key-exchange group offered (default x25519)\n"
"  --bind ADDR          source address of the connections\n"
"  --conns N            concurrent connections (default 8)\n"
"  --seconds S          handshake: run length (default 10)\n"
"  --count N            handshake: stop after N round trips\n"
"  --bytes N[K|M|G]     bulk: payload across all connections\n"
"  --hold S             idle: seconds to hold (default: until a signal,\n"
"                       or EOF on stdin with --stdin)\n"
"  --stdin              idle: stop holding at EOF on standard input\n"
"  --ready-file PATH    idle: write \"established=N\" there when up\n"
"  --timeout S          per-connection handshake/IO timeout (default 10)\n"
"HOST is an IPv4 literal or [IPv6 literal].\n");
	exit(2);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "loadgen: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	usage();
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static uint64_t
seconds_to_ns(double s)
{
	return (uint64_t)(s * (double)NSEC_PER_SEC);
}

/* ------------------------------------------------------------ arguments */

static double
parse_seconds(const char *name, const char *text)
{
	char *ep;
	double v;

	errno = 0;
	v = strtod(text, &ep);
	if (*text == '\0' || *ep != '\0' || errno != 0 || !isfinite(v) ||
	    v <= 0 || v > 1e7)
		bad_usage("--%s: \"%s\" is not a positive number of seconds",
		    name, text);
	return v;
}

static uint64_t
parse_uint(const char *name, const char *text, uint64_t min, uint64_t max)
{
	char *ep;
	unsigned long long v;

	errno = 0;
	v = strtoull(text, &ep, 10);
	if (*text < '0' || *text > '9' || *ep != '\0' || errno != 0 ||
	    v < min || v > max)
		bad_usage("--%s: \"%s\" is not a number from %" PRIu64
		    " to %" PRIu64, name, text, min, max);
	return v;
}

/* A byte count with an optional K, M or G (binary) suffix. */
static uint64_t
parse_size(const char *text)
{
	char *ep;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
	v = strtoull(text, &ep, 10);
	if (*text < '0' || *text > '9' || errno != 0)
		bad_usage("--bytes: \"%s\" is not a size", text);
	switch (*ep) {
	case '\0':
		break;
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	default:
		bad_usage("--bytes: \"%s\" is not a size", text);
	}
	if (*ep != '\0' && ep[1] != '\0')
		bad_usage("--bytes: \"%s\" is not a size", text);
	if (v > (UINT64_MAX >> shift))
		bad_usage("--bytes: \"%s\" is too large", text);
	return (uint64_t)v << shift;
}

static void
parse_args(int argc, char *argv[], struct options *o)
{
	enum { O_CONNECT = 256, O_CA, O_CERT, O_KEY, O_TLS, O_GROUP, O_BIND,
	    O_MODE, O_CONNS, O_SECONDS, O_COUNT, O_BYTES, O_HOLD, O_READY,
	    O_TIMEOUT, O_STDIN };
	static const struct option longopts[] = {
		{ "connect",	required_argument,	NULL, O_CONNECT },
		{ "ca",		required_argument,	NULL, O_CA },
		{ "cert",	required_argument,	NULL, O_CERT },
		{ "key",	required_argument,	NULL, O_KEY },
		{ "tls",	required_argument,	NULL, O_TLS },
		{ "group",	required_argument,	NULL, O_GROUP },
		{ "bind",	required_argument,	NULL, O_BIND },
		{ "mode",	required_argument,	NULL, O_MODE },
		{ "conns",	required_argument,	NULL, O_CONNS },
		{ "seconds",	required_argument,	NULL, O_SECONDS },
		{ "count",	required_argument,	NULL, O_COUNT },
		{ "bytes",	required_argument,	NULL, O_BYTES },
		{ "hold",	required_argument,	NULL, O_HOLD },
		{ "ready-file",	required_argument,	NULL, O_READY },
		{ "timeout",	required_argument,	NULL, O_TIMEOUT },
		{ "stdin",	no_argument,		NULL, O_STDIN },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	bool have_connect = false;
	int ch;

	memset(o, 0, sizeof(*o));
	o->tls_version = 13;
	o->group = WOLFSSL_ECC_X25519;
	o->conns = 8;
	o->seconds = 10;
	o->hold = -1;
	o->timeout = 10;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case O_CONNECT:
			if (bench_parse_hostport(optarg, &o->peer,
			    &o->peer_len) == -1 ||
			    /* sin_port and sin6_port share their place */
			    ((struct sockaddr_in *)&o->peer)->sin_port == 0)
				bad_usage("--connect: \"%s\" is not "
				    "IPV4:PORT or [IPV6]:PORT", optarg);
			have_connect = true;
			break;
		case O_CA:
			o->ca = optarg;
			break;
		case O_CERT:
			o->cert = optarg;
			break;
		case O_KEY:
			o->key = optarg;
			break;
		case O_TLS:
			if (strcmp(optarg, "1.2") == 0)
				o->tls_version = 12;
			else if (strcmp(optarg, "1.3") == 0)
				o->tls_version = 13;
			else
				bad_usage("--tls: 1.2 or 1.3, not \"%s\"",
				    optarg);
			break;
		case O_GROUP:
			if (strcmp(optarg, "x25519") == 0)
				o->group = WOLFSSL_ECC_X25519;
			else if (strcmp(optarg, "p256") == 0)
				o->group = WOLFSSL_ECC_SECP256R1;
			else
				bad_usage("--group: x25519 or p256, not "
				    "\"%s\"", optarg);
			break;
		case O_BIND:
			if (bench_parse_addr(optarg, 0, &o->source, &o->source_len)
			    == -1)
				bad_usage("--bind: \"%s\" is not an IP "
				    "address", optarg);
			break;
		case O_MODE:
			if (strcmp(optarg, "handshake") == 0)
				o->mode = MODE_HANDSHAKE;
			else if (strcmp(optarg, "bulk") == 0)
				o->mode = MODE_BULK;
			else if (strcmp(optarg, "idle") == 0)
				o->mode = MODE_IDLE;
			else
				bad_usage("--mode: handshake, bulk or idle, "
				    "not \"%s\"", optarg);
			o->have_mode = true;
			break;
		case O_CONNS:
			o->conns = (unsigned)parse_uint("conns", optarg, 1,
			    1000000);
			break;
		case O_SECONDS:
			o->seconds = parse_seconds("seconds", optarg);
			break;
		case O_COUNT:
			o->count = parse_uint("count", optarg, 1, UINT64_MAX);
			break;
		case O_BYTES:
			o->bytes = parse_size(optarg);
			o->have_bytes = true;
			break;
		case O_HOLD:
			o->hold = parse_seconds("hold", optarg);
			break;
		case O_READY:
			o->ready_file = optarg;
			break;
		case O_TIMEOUT:
			o->timeout = parse_seconds("timeout", optarg);
			break;
		case O_STDIN:
			o->watch_stdin = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		bad_usage("unexpected argument \"%s\"", argv[optind]);
	if (!have_connect || o->ca == NULL || o->cert == NULL ||
	    o->key == NULL || !o->have_mode)
		bad_usage("--connect, --ca, --cert, --key and --mode are "
		    "required");
	if (o->mode == MODE_BULK && !o->have_bytes)
		bad_usage("--mode bulk needs --bytes");
	if (o->source_len != 0 && o->source.ss_family != o->peer.ss_family)
		bad_usage("--bind and --connect are of different address "
		    "families");
}

/* ------------------------------------------------------------ setup */

/*
 * One descriptor per connection plus a few.  Raise the soft limit to the
 * hard one, and the hard one too when we may (root) and it is short.
 */
static int
raise_nofile(unsigned conns)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)conns + FD_RESERVE;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		fprintf(stderr, "loadgen: getrlimit: %s\n", strerror(errno));
		return -1;
	}
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		struct rlimit want = { need, need };

		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			return 0;
		fprintf(stderr, "loadgen: --conns %u needs %llu file "
		    "descriptors, but the RLIMIT_NOFILE hard limit is %llu "
		    "and may not be raised here (it needs "
		    "CAP_SYS_RESOURCE: ulimit -Hn, prlimit)\n", conns,
		    (unsigned long long)need,
		    (unsigned long long)rl.rlim_max);
		return -1;
	}
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
		fprintf(stderr, "loadgen: setrlimit: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Name the key-exchange group ourselves, so the server cannot pick another
 * one from wolfSSL's default list (which may start with P-521).  TLS 1.3
 * offers exactly that group, and its key share.  In TLS 1.2 the list also
 * says which curves the client accepts in the server's ECDSA certificate,
 * and OpenSSL servers refuse a P-256 certificate to a client that lists
 * only x25519; so P-256 follows as second choice there.  Both wolfSSL and
 * OpenSSL servers then still use x25519 for the key exchange.
 */
static int
offer_group(WOLFSSL_CTX *ctx, int tls_version, int group)
{
	if (wolfSSL_CTX_UseSupportedCurve(ctx, (word16)group) !=
	    WOLFSSL_SUCCESS)
		return -1;
	if (tls_version == 13)
		return wolfSSL_CTX_set_groups(ctx, &group, 1) ==
		    WOLFSSL_SUCCESS ? 0 : -1;
	if (group != WOLFSSL_ECC_SECP256R1 &&
	    wolfSSL_CTX_UseSupportedCurve(ctx, WOLFSSL_ECC_SECP256R1) !=
	    WOLFSSL_SUCCESS)
		return -1;
	return 0;
}

static int
tls_setup(struct loadgen *lg)
{
	const struct options *o = &lg->opt;
	WOLFSSL_METHOD *method;
	int group = o->group;

	if (wolfSSL_Init() != WOLFSSL_SUCCESS) {
		fprintf(stderr, "loadgen: wolfSSL_Init failed\n");
		return -1;
	}
	method = o->tls_version == 12 ? wolfTLSv1_2_client_method() :
	    wolfTLSv1_3_client_method();
	if (method == NULL || (lg->ctx = wolfSSL_CTX_new(method)) == NULL) {
		fprintf(stderr, "loadgen: wolfSSL_CTX_new failed\n");
		return -1;
	}
	if (wolfSSL_CTX_load_verify_locations(lg->ctx, o->ca, NULL) !=
	    WOLFSSL_SUCCESS) {
		fprintf(stderr, "loadgen: cannot load CA file %s\n", o->ca);
		return -1;
	}
	if (wolfSSL_CTX_use_certificate_chain_file(lg->ctx, o->cert) !=
	    WOLFSSL_SUCCESS) {
		fprintf(stderr, "loadgen: cannot load certificate %s\n",
		    o->cert);
		return -1;
	}
	if (wolfSSL_CTX_use_PrivateKey_file(lg->ctx, o->key,
	    WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) {
		fprintf(stderr, "loadgen: cannot load key %s\n", o->key);
		return -1;
	}
	if (wolfSSL_CTX_check_private_key(lg->ctx) != WOLFSSL_SUCCESS) {
		fprintf(stderr, "loadgen: %s does not belong to %s\n",
		    o->key, o->cert);
		return -1;
	}
	/* Chain verified against --ca; no host name is ever checked. */
	wolfSSL_CTX_set_verify(lg->ctx, WOLFSSL_VERIFY_PEER, NULL);
	/* Every handshake must be a full one. */
	wolfSSL_CTX_set_session_cache_mode(lg->ctx, WOLFSSL_SESS_CACHE_OFF);
#ifdef HAVE_SESSION_TICKET
	wolfSSL_CTX_NoTicketTLSv12(lg->ctx);
#endif
	if (offer_group(lg->ctx, o->tls_version, group) == -1) {
		fprintf(stderr, "loadgen: cannot restrict the key-exchange "
		    "group\n");
		return -1;
	}
	return 0;
}

static int
watch_fd(struct loadgen *lg, int fd, uint64_t tag)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = tag;
	return epoll_ctl(lg->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
}

/* A payload whose bytes depend on their offset, so reordered, lost or
 * repeated data does not compare equal. */
static void
make_pattern(unsigned char *p, size_t len)
{
	uint32_t x = 0x2545f491;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)(x >> 24);
	}
}

/* ------------------------------------------------------------ histogram */

static void
hist_add(struct histogram *h, uint64_t ns)
{
	double us = (double)ns / 1000.0;
	size_t b = 0;

	if (us >= HIST_GROWTH)
		b = (size_t)(log(us) / log(HIST_GROWTH));
	if (b >= HIST_BUCKETS)
		b = HIST_BUCKETS - 1;
	h->count[b]++;
	h->n++;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

/* The upper edge of the bucket holding the p-th percentile, in us,
 * never above the largest sample. */
static double
hist_percentile(const struct histogram *h, double p)
{
	double max_us = (double)h->max_ns / 1000.0, edge;
	uint64_t rank, seen = 0;
	size_t b;

	if (h->n == 0)
		return 0;
	rank = (uint64_t)ceil(p / 100.0 * (double)h->n);
	if (rank == 0)
		rank = 1;
	for (b = 0; b < HIST_BUCKETS; b++) {
		seen += h->count[b];
		if (seen >= rank)
			break;
	}
	edge = pow(HIST_GROWTH, (double)(b + 1));
	return edge < max_us ? edge : max_us;
}

/* ------------------------------------------------------------ connections */

static bool
state_in_flight(enum conn_state s)
{
	return s == CS_CONNECTING || s == CS_HANDSHAKE ||
	    s == CS_PING_WRITE || s == CS_PING_READ;
}

static unsigned
in_flight(const struct loadgen *lg)
{
	return lg->in_state[CS_CONNECTING] + lg->in_state[CS_HANDSHAKE] +
	    lg->in_state[CS_PING_WRITE] + lg->in_state[CS_PING_READ];
}

static void
conn_set_state(struct loadgen *lg, struct conn *c, enum conn_state s)
{
	lg->in_state[c->state]--;
	lg->in_state[s]++;
	c->state = s;
}

static const char *
state_stage(enum conn_state s)
{
	switch (s) {
	case CS_CONNECTING:
		return "connect";
	case CS_HANDSHAKE:
		return "handshake";
	case CS_PING_WRITE:
	case CS_PING_READ:
		return "echo";
	case CS_QUIET:
		return "idle";
	case CS_BULK:
		return "bulk";
	default:
		return "conn";
	}
}

/* Level-triggered interest; only tell the kernel when it changes. */
static int
conn_want(struct loadgen *lg, struct conn *c, uint32_t events)
{
	struct epoll_event ev;
	int op;

	if (c->registered && c->armed == events)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.u64 = (uint64_t)(c - lg->conns);
	op = c->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(lg->epoll_fd, op, c->fd, &ev) == -1)
		return -1;
	c->registered = true;
	c->armed = events;
	return 0;
}

/*
 * Close without close_notify (not needed; the server sees a FIN).  Read
 * what may still sit in the receive queue first: closing a socket with
 * unread data makes the kernel send a RST instead.
 */
static void
conn_close(struct loadgen *lg, struct conn *c)
{
	int i;

	if (c->ssl != NULL)
		wolfSSL_free(c->ssl);
	if (c->fd != -1) {
		for (i = 0; i < 4; i++)
			if (recv(c->fd, lg->rbuf, sizeof(lg->rbuf),
			    MSG_DONTWAIT) <= 0)
				break;
		close(c->fd);
	}
	c->ssl = NULL;
	c->fd = -1;
	c->registered = false;
	c->armed = 0;
	c->deadline = 0;
	conn_set_state(lg, c, CS_FREE);
}

/* Idle mode counts a failure only while establishing: a connection that
 * dies later is reported by the final check as dead. */
static bool
failure_is_error(const struct loadgen *lg, const struct conn *c)
{
	if (lg->opt.mode != MODE_IDLE)
		return true;
	return lg->phase == PH_ESTABLISH && state_in_flight(c->state);
}

static void __attribute__((format(printf, 3, 4)))
conn_fail(struct loadgen *lg, struct conn *c, const char *fmt, ...)
{
	va_list ap;

	if (lg->reported++ < ERRORS_SHOWN) {
		fprintf(stderr, "loadgen: %s: ", state_stage(c->state));
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fprintf(stderr, "\n");
	}
	if (failure_is_error(lg, c))
		lg->errors++;
	if (lg->phase == PH_HANDSHAKE_RUN)
		c->not_before = now_ns() + RETRY_DELAY_NS;
	conn_close(lg, c);
}

/* Why a wolfSSL call failed, as "reason (code)", plus any alert the
 * peer sent (a refused client certificate shows up that way). */
static void
tls_reason(WOLFSSL *ssl, int err, char *buf, size_t size)
{
	WOLFSSL_ALERT_HISTORY h;
	char reason[128];
	int saved_errno = errno;
	size_t len;

	/* wolfSSL reports an EOF in mid-handshake as a socket error; errno
	 * then still holds 0 (set by conn_step) or an EAGAIN of before. */
	if (err == WOLFSSL_ERROR_ZERO_RETURN || err == SOCKET_PEER_CLOSED_E ||
	    (err == SOCKET_ERROR_E && (saved_errno == 0 ||
	    saved_errno == EAGAIN || saved_errno == EWOULDBLOCK))) {
		snprintf(buf, size, "connection closed by the server");
		return;
	}
	if (err == SOCKET_ERROR_E) {
		snprintf(buf, size, "%s", strerror(saved_errno));
		return;
	}
	wolfSSL_ERR_error_string_n((unsigned long)err, reason,
	    sizeof(reason));
	snprintf(buf, size, "%s (%d)", reason, err);
	memset(&h, 0, sizeof(h));
	h.last_rx.code = -1;
	if (wolfSSL_get_alert_history(ssl, &h) == WOLFSSL_SUCCESS &&
	    h.last_rx.code > 0 && (len = strlen(buf)) < size)
		snprintf(buf + len, size - len, ", server sent alert %s",
		    wolfSSL_alert_desc_string_long(h.last_rx.code));
}

/* After a wolfSSL call returned ret <= 0: wait for the socket, or fail. */
static enum step
tls_wait_or_fail(struct loadgen *lg, struct conn *c, int ret)
{
	char why[256];
	int err = wolfSSL_get_error(c->ssl, ret);

	if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) {
		uint32_t ev = err == WOLFSSL_ERROR_WANT_READ ? EPOLLIN :
		    EPOLLOUT;

		if (conn_want(lg, c, ev) == -1) {
			conn_fail(lg, c, "epoll_ctl: %s", strerror(errno));
			return STEP_CLOSED;
		}
		return STEP_BLOCKED;
	}
	tls_reason(c->ssl, err, why, sizeof(why));
	conn_fail(lg, c, "%s", why);
	return STEP_CLOSED;
}

/* Start a connection in slot c: socket, optional bind, connect. */
static void
conn_open(struct loadgen *lg, struct conn *c)
{
	const struct options *o = &lg->opt;
	int one = 1;

	c->fd = -1;
	c->ssl = NULL;
	c->registered = false;
	c->armed = 0;
	c->to_send = c->sent = c->received = 0;
	c->retrying = 0;
	c->started = now_ns();
	c->deadline = c->started + lg->timeout_ns;
	conn_set_state(lg, c, CS_CONNECTING);

	c->fd = socket(o->peer.ss_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		conn_fail(lg, c, "socket: %s", strerror(errno));
		return;
	}
	/* The one-byte echo right after Finished must not wait for an ACK. */
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (o->source_len != 0) {
		/* Pick the port at connect(), per destination: many more
		 * connections fit than with bind()'s global choice. */
		if (o->source.ss_family == AF_INET)
			setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT,
			    &one, sizeof(one));
		if (bind(c->fd, (const struct sockaddr *)&o->source,
		    o->source_len) == -1) {
			conn_fail(lg, c, "bind: %s", strerror(errno));
			return;
		}
	}
	if (connect(c->fd, (const struct sockaddr *)&o->peer, o->peer_len)
	    == -1 && errno != EINPROGRESS) {
		conn_fail(lg, c, "%s", strerror(errno));
		return;
	}
	if ((c->ssl = wolfSSL_new(lg->ctx)) == NULL ||
	    wolfSSL_set_fd(c->ssl, c->fd) != WOLFSSL_SUCCESS) {
		conn_fail(lg, c, "cannot set up a WOLFSSL");
		return;
	}
	/* Even a connect() that succeeded at once reports writable. */
	if (conn_want(lg, c, EPOLLOUT) == -1)
		conn_fail(lg, c, "epoll_ctl: %s", strerror(errno));
}

static enum step
step_connecting(struct loadgen *lg, struct conn *c, uint32_t events)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == 0)
		return STEP_BLOCKED;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		conn_fail(lg, c, "%s", strerror(err));
		return STEP_CLOSED;
	}
	conn_set_state(lg, c, CS_HANDSHAKE);
	return STEP_NEXT;
}

static enum step
step_handshake(struct loadgen *lg, struct conn *c)
{
	int ret = wolfSSL_connect(c->ssl);

	if (ret != WOLFSSL_SUCCESS)
		return tls_wait_or_fail(lg, c, ret);
	conn_set_state(lg, c, CS_PING_WRITE);
	return STEP_NEXT;
}

static enum step
step_ping_write(struct loadgen *lg, struct conn *c)
{
	const unsigned char ping = PING_BYTE;
	int ret = wolfSSL_write(c->ssl, &ping, 1);

	if (ret <= 0)
		return tls_wait_or_fail(lg, c, ret);
	conn_set_state(lg, c, CS_PING_READ);
	return STEP_NEXT;
}

/* The echo came back: what that means depends on the phase. */
static enum step
ping_done(struct loadgen *lg, struct conn *c)
{
	switch (lg->phase) {
	case PH_HANDSHAKE_RUN:
		hist_add(&lg->hist, now_ns() - c->started);
		lg->handshakes++;
		conn_close(lg, c);
		return STEP_CLOSED;
	case PH_CHECK:
		lg->alive++;
		conn_close(lg, c);
		return STEP_CLOSED;
	default:
		lg->established++;
		c->deadline = 0;
		conn_set_state(lg, c, CS_QUIET);
		if (conn_want(lg, c, EPOLLIN) == -1) {
			conn_fail(lg, c, "epoll_ctl: %s", strerror(errno));
			return STEP_CLOSED;
		}
		return STEP_BLOCKED;
	}
}

static enum step
step_ping_read(struct loadgen *lg, struct conn *c)
{
	unsigned char pong;
	int ret = wolfSSL_read(c->ssl, &pong, 1);

	if (ret <= 0)
		return tls_wait_or_fail(lg, c, ret);
	if (pong != PING_BYTE) {
		conn_fail(lg, c, "sent 0x%02x, got 0x%02x back", PING_BYTE,
		    pong);
		return STEP_CLOSED;
	}
	return ping_done(lg, c);
}

/* Nothing is expected on a quiet connection: data or EOF kills it. */
static enum step
step_quiet(struct loadgen *lg, struct conn *c)
{
	int ret = wolfSSL_read(c->ssl, lg->rbuf, sizeof(lg->rbuf));

	if (ret > 0) {
		conn_fail(lg, c, "%d unexpected bytes from the server", ret);
		return STEP_CLOSED;
	}
	return tls_wait_or_fail(lg, c, ret);
}

static bool
pattern_matches(const struct loadgen *lg, uint64_t offset,
    const unsigned char *data, size_t len)
{
	size_t off, n;

	while (len > 0) {
		off = (size_t)(offset % PATTERN_LEN);
		n = PATTERN_LEN - off;
		if (n > len)
			n = len;
		if (memcmp(data, lg->pattern + off, n) != 0)
			return false;
		data += n;
		len -= n;
		offset += n;
	}
	return true;
}

/* Write the next record of the payload; returns -1 when c is closed. */
static int
bulk_write(struct loadgen *lg, struct conn *c, bool *progress)
{
	size_t off = (size_t)(c->sent % PATTERN_LEN), len = PATTERN_LEN - off;
	int ret, err;

	if (len > c->to_send - c->sent)
		len = (size_t)(c->to_send - c->sent);
	/* After WANT_WRITE wolfSSL wants the same call again: it is, since
	 * sent (and so off and len) only moves on success. */
	ret = wolfSSL_write(c->ssl, lg->pattern + off, (int)len);
	if (ret > 0) {
		c->sent += (uint64_t)ret;
		c->retrying = 0;
		*progress = true;
		return 0;
	}
	err = wolfSSL_get_error(c->ssl, ret);
	if (err == WOLFSSL_ERROR_WANT_WRITE || err == WOLFSSL_ERROR_WANT_READ) {
		c->retrying = (uint32_t)len;
		return 0;
	}
	tls_wait_or_fail(lg, c, ret);
	return -1;
}

/* Read and check what came back; returns -1 when c is closed. */
static int
bulk_read(struct loadgen *lg, struct conn *c, bool *progress)
{
	int ret, err;

	ret = wolfSSL_read(c->ssl, lg->rbuf, sizeof(lg->rbuf));
	if (ret > 0) {
		if (c->received + (uint64_t)ret > c->sent + c->retrying) {
			conn_fail(lg, c, "more bytes came back than were "
			    "sent");
			return -1;
		}
		if (!pattern_matches(lg, c->received, lg->rbuf,
		    (size_t)ret)) {
			conn_fail(lg, c, "echoed bytes differ from those sent "
			    "(in %d bytes at offset %" PRIu64 ")", ret,
			    c->received);
			return -1;
		}
		c->received += (uint64_t)ret;
		lg->bulk_received += (uint64_t)ret;
		*progress = true;
		return 0;
	}
	err = wolfSSL_get_error(c->ssl, ret);
	if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE)
		return 0;
	tls_wait_or_fail(lg, c, ret);
	return -1;
}

/*
 * Send and receive at once: the echo path only drains if we keep reading
 * while we write.  A bounded number of rounds per event keeps one
 * connection from starving the others; level-triggered epoll brings us
 * back while there is more to do.
 */
static enum step
step_bulk(struct loadgen *lg, struct conn *c)
{
	bool progress;
	int round;

	for (round = 0; round < BULK_ROUNDS; round++) {
		progress = false;
		if (c->sent < c->to_send && bulk_write(lg, c, &progress) == -1)
			return STEP_CLOSED;
		/* Always read: it is also how a close by the server shows. */
		if (bulk_read(lg, c, &progress) == -1)
			return STEP_CLOSED;
		if (c->received == c->to_send) {
			conn_close(lg, c);
			return STEP_CLOSED;
		}
		if (!progress)
			break;
		c->deadline = now_ns() + lg->timeout_ns;
	}
	if (conn_want(lg, c, EPOLLIN |
	    (c->sent < c->to_send ? EPOLLOUT : 0)) == -1) {
		conn_fail(lg, c, "epoll_ctl: %s", strerror(errno));
		return STEP_CLOSED;
	}
	return STEP_BLOCKED;
}

static void
conn_step(struct loadgen *lg, struct conn *c, uint32_t events)
{
	enum step st = STEP_NEXT;

	errno = 0;		/* see tls_reason */
	while (st == STEP_NEXT) {
		switch (c->state) {
		case CS_CONNECTING:
			st = step_connecting(lg, c, events);
			break;
		case CS_HANDSHAKE:
			st = step_handshake(lg, c);
			break;
		case CS_PING_WRITE:
			st = step_ping_write(lg, c);
			break;
		case CS_PING_READ:
			st = step_ping_read(lg, c);
			break;
		case CS_QUIET:
			st = step_quiet(lg, c);
			break;
		case CS_BULK:
			st = step_bulk(lg, c);
			break;
		default:
			/* A stale event for a slot closed in this batch. */
			return;
		}
	}
}

/* ------------------------------------------------------------ event loop */

static void
signal_event(struct loadgen *lg)
{
	struct signalfd_siginfo si;

	while (read(lg->signal_fd, &si, sizeof(si)) == sizeof(si))
		lg->stop = true;
}

static void
stdin_event(struct loadgen *lg)
{
	ssize_t n = read(STDIN_FILENO, lg->rbuf, sizeof(lg->rbuf));

	if (n > 0 || (n == -1 && (errno == EINTR || errno == EAGAIN)))
		return;
	lg->stdin_eof = true;
	epoll_ctl(lg->epoll_fd, EPOLL_CTL_DEL, STDIN_FILENO, NULL);
	lg->stdin_watched = false;
}

static void
sweep_timeouts(struct loadgen *lg, uint64_t now)
{
	struct conn *c;
	unsigned i;

	for (i = 0; i < lg->opt.conns; i++) {
		c = &lg->conns[i];
		if (c->state == CS_FREE || c->deadline == 0 ||
		    now < c->deadline)
			continue;
		conn_fail(lg, c, "timed out (--timeout %g s)",
		    lg->opt.timeout);
	}
	lg->last_sweep = now;
}

/* Wait up to wait_ms for events and handle them. */
static void
loop_once(struct loadgen *lg, int wait_ms)
{
	struct epoll_event events[MAX_EVENTS];
	uint64_t now;
	int i, n;

	n = epoll_wait(lg->epoll_fd, events, MAX_EVENTS, wait_ms);
	if (n == -1 && errno != EINTR) {
		fprintf(stderr, "loadgen: epoll_wait: %s\n", strerror(errno));
		lg->stop = true;
		return;
	}
	for (i = 0; i < n; i++) {
		uint64_t tag = events[i].data.u64;

		if (tag == TAG_SIGNAL)
			signal_event(lg);
		else if (tag == TAG_STDIN)
			stdin_event(lg);
		else if (tag < lg->opt.conns)
			conn_step(lg, &lg->conns[tag], events[i].events);
	}
	now = now_ns();
	if (now - lg->last_sweep >= TICK_MS * NSEC_PER_MSEC)
		sweep_timeouts(lg, now);
}

/* Milliseconds to sleep: at most a tick, at most until 'until' (ns). */
static int
wait_ms_until(uint64_t now, uint64_t until)
{
	uint64_t ms;

	if (until <= now)
		return 0;
	ms = (until - now + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC;
	return ms < TICK_MS ? (int)ms : TICK_MS;
}

/* ------------------------------------------------------------ modes */

/* Open a free slot in handshake mode if it is its turn; returns whether
 * a slot waits out its retry delay. */
static bool
refill_handshake_slots(struct loadgen *lg, uint64_t now)
{
	bool pacing = false;
	struct conn *c;
	unsigned i;

	for (i = 0; i < lg->opt.conns; i++) {
		c = &lg->conns[i];
		if (c->state != CS_FREE)
			continue;
		if (lg->opt.count != 0 &&
		    lg->handshakes + in_flight(lg) >= lg->opt.count)
			break;
		if (c->not_before > now) {
			pacing = true;
			continue;
		}
		conn_open(lg, c);
	}
	return pacing;
}

static int
run_handshake(struct loadgen *lg)
{
	const struct options *o = &lg->opt;
	uint64_t start = now_ns(), end = start + seconds_to_ns(o->seconds);
	uint64_t now = start, attempts;
	double secs;
	int wait;

	lg->phase = PH_HANDSHAKE_RUN;
	while (!lg->stop && now < end &&
	    (o->count == 0 || lg->handshakes < o->count)) {
		wait = wait_ms_until(now, end);
		if (refill_handshake_slots(lg, now) && wait > 1)
			wait = 1;
		loop_once(lg, wait);
		now = now_ns();
	}
	/* Connections still under way when time is up are not counted. */
	secs = (double)(now - start) / (double)NSEC_PER_SEC;
	printf("mode=handshake conns=%u handshakes=%" PRIu64 " errors=%"
	    PRIu64 " seconds=%.3f rate=%.1f p50_us=%.0f p90_us=%.0f "
	    "p99_us=%.0f max_us=%.0f\n", o->conns, lg->handshakes,
	    lg->errors, secs, secs > 0 ? (double)lg->handshakes / secs : 0,
	    hist_percentile(&lg->hist, 50), hist_percentile(&lg->hist, 90),
	    hist_percentile(&lg->hist, 99), (double)lg->hist.max_ns / 1000.0);
	attempts = lg->handshakes + lg->errors;
	return lg->errors * 100 > attempts ? 1 : 0;
}

/*
 * Open every connection: handshake, then a one-byte echo so the server
 * holds its upstream too.  At most ESTABLISH_INFLIGHT at once, so a run
 * of many thousands does not time out in the server's accept queue.
 */
static void
establish_all(struct loadgen *lg)
{
	unsigned next = 0;

	lg->phase = PH_ESTABLISH;
	while (!lg->stop) {
		while (next < lg->opt.conns &&
		    in_flight(lg) < ESTABLISH_INFLIGHT)
			conn_open(lg, &lg->conns[next++]);
		if (next == lg->opt.conns && in_flight(lg) == 0)
			break;
		loop_once(lg, TICK_MS);
	}
}

static int
run_bulk(struct loadgen *lg)
{
	const struct options *o = &lg->opt;
	uint64_t start, per_conn = o->bytes / o->conns;
	uint64_t extra = o->bytes % o->conns;
	double secs;
	struct conn *c;
	unsigned i;

	establish_all(lg);
	/* Conns that failed to get up are counted; the rest carry all of
	 * their share, so a failure shows as errors, not as a lower rate. */
	lg->phase = PH_BULK;
	start = now_ns();
	for (i = 0; i < o->conns && !lg->stop; i++) {
		c = &lg->conns[i];
		if (c->state != CS_QUIET)
			continue;
		c->to_send = per_conn + (i < extra ? 1 : 0);
		c->sent = c->received = 0;
		c->retrying = 0;
		c->deadline = start + lg->timeout_ns;
		conn_set_state(lg, c, CS_BULK);
		conn_step(lg, c, EPOLLIN | EPOLLOUT);
	}
	while (!lg->stop && lg->in_state[CS_BULK] > 0)
		loop_once(lg, TICK_MS);

	/* The loop ends in the batch where the last byte came back. */
	secs = (double)(now_ns() - start) / (double)NSEC_PER_SEC;
	if (lg->stop)
		fprintf(stderr, "loadgen: interrupted\n");
	printf("mode=bulk conns=%u bytes=%" PRIu64 " seconds=%.3f "
	    "mib_s=%.1f errors=%" PRIu64 "\n", o->conns, o->bytes, secs,
	    secs > 0 ? (double)lg->bulk_received / 1048576.0 / secs : 0,
	    lg->errors);
	return lg->errors == 0 && !lg->stop &&
	    lg->bulk_received == o->bytes ? 0 : 1;
}

/* "established=N\n" into path, atomically: a reader never sees half. */
static int
write_ready_file(const char *path, uint64_t established)
{
	char tmp[PATH_MAX], line[64];
	int fd, len;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path,
	    (long)getpid()) >= sizeof(tmp)) {
		fprintf(stderr, "loadgen: --ready-file: path too long\n");
		return -1;
	}
	len = snprintf(line, sizeof(line), "established=%" PRIu64 "\n",
	    established);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1 || write(fd, line, (size_t)len) != len ||
	    close(fd) == -1 || rename(tmp, path) == -1) {
		fprintf(stderr, "loadgen: --ready-file %s: %s\n", path,
		    strerror(errno));
		if (fd != -1)
			unlink(tmp);
		return -1;
	}
	return 0;
}

static void
hold(struct loadgen *lg)
{
	uint64_t now = now_ns(), end = UINT64_MAX;

	lg->phase = PH_HOLD;
	if (lg->opt.hold > 0)
		end = now + seconds_to_ns(lg->opt.hold);
	while (!lg->stop && !lg->stdin_eof && now < end) {
		loop_once(lg, wait_ms_until(now, end));
		now = now_ns();
	}
}

/* One more echo on every connection still up, bounded in flight like
 * establish_all.  Runs even after a signal: it ends by itself. */
static void
check_all(struct loadgen *lg)
{
	struct conn *c;
	unsigned next = 0;

	lg->phase = PH_CHECK;
	for (;;) {
		while (next < lg->opt.conns &&
		    in_flight(lg) < ESTABLISH_INFLIGHT) {
			c = &lg->conns[next++];
			if (c->state != CS_QUIET)
				continue;
			c->deadline = now_ns() + lg->timeout_ns;
			conn_set_state(lg, c, CS_PING_WRITE);
			conn_step(lg, c, EPOLLOUT);
		}
		if (next == lg->opt.conns && in_flight(lg) == 0)
			break;
		loop_once(lg, TICK_MS);
	}
}

static int
run_idle(struct loadgen *lg)
{
	const struct options *o = &lg->opt;
	uint64_t start = now_ns(), dead;
	bool ready_failed = false;

	establish_all(lg);
	printf("mode=idle conns=%u established=%" PRIu64 " errors=%" PRIu64
	    " seconds=%.3f\n", o->conns, lg->established, lg->errors,
	    (double)(now_ns() - start) / (double)NSEC_PER_SEC);
	fflush(stdout);
	/* Written even when some failed, so a waiting script need not time
	 * out to learn that: it compares the number. */
	if (o->ready_file != NULL &&
	    write_ready_file(o->ready_file, lg->established) == -1)
		ready_failed = true;
	/* Nothing up means nothing to hold (and no one to wait for). */
	if (lg->established > 0)
		hold(lg);
	check_all(lg);
	dead = lg->established - lg->alive;
	printf("mode=idle-check alive=%" PRIu64 " dead=%" PRIu64 "\n",
	    lg->alive, dead);
	return dead == 0 && lg->errors == 0 && !ready_failed &&
	    lg->established == o->conns ? 0 : 1;
}

/* ------------------------------------------------------------ main */

static void
cleanup(struct loadgen *lg)
{
	unsigned i;

	if (lg->conns != NULL) {
		for (i = 0; i < lg->opt.conns; i++)
			if (lg->conns[i].state != CS_FREE)
				conn_close(lg, &lg->conns[i]);
		free(lg->conns);
	}
	if (lg->ctx != NULL)
		wolfSSL_CTX_free(lg->ctx);
	wolfSSL_Cleanup();
	if (lg->signal_fd != -1)
		close(lg->signal_fd);
	if (lg->epoll_fd != -1)
		close(lg->epoll_fd);
	free(lg);
}

static int
setup(struct loadgen *lg)
{
	unsigned i;

	if (raise_nofile(lg->opt.conns) == -1)
		return -1;
	if ((lg->signal_fd = bench_signalfd()) == -1 ||
	    (lg->epoll_fd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    watch_fd(lg, lg->signal_fd, TAG_SIGNAL) == -1) {
		fprintf(stderr, "loadgen: %s\n", strerror(errno));
		return -1;
	}
	if (lg->opt.watch_stdin && lg->opt.mode == MODE_IDLE) {
		/* A regular file or /dev/null cannot be polled; reading
		 * one would give EOF at once, so take that as read. */
		if (watch_fd(lg, STDIN_FILENO, TAG_STDIN) == 0)
			lg->stdin_watched = true;
		else
			lg->stdin_eof = true;
	}
	if ((lg->conns = calloc(lg->opt.conns, sizeof(*lg->conns))) == NULL) {
		fprintf(stderr, "loadgen: out of memory\n");
		return -1;
	}
	for (i = 0; i < lg->opt.conns; i++)
		lg->conns[i].fd = -1;
	lg->in_state[CS_FREE] = lg->opt.conns;
	make_pattern(lg->pattern, sizeof(lg->pattern));
	lg->timeout_ns = seconds_to_ns(lg->opt.timeout);
	lg->last_sweep = now_ns();
	return tls_setup(lg);
}

int
main(int argc, char *argv[])
{
	struct options opt;
	struct loadgen *lg;
	int rc;

	parse_args(argc, argv, &opt);
	if ((lg = calloc(1, sizeof(*lg))) == NULL) {
		fprintf(stderr, "loadgen: out of memory\n");
		return 1;
	}
	lg->opt = opt;
	lg->signal_fd = lg->epoll_fd = -1;
	signal(SIGPIPE, SIG_IGN);
	if (setup(lg) == -1) {
		cleanup(lg);
		return 1;
	}
	switch (lg->opt.mode) {
	case MODE_HANDSHAKE:
		rc = run_handshake(lg);
		break;
	case MODE_BULK:
		rc = run_bulk(lg);
		break;
	default:
		rc = run_idle(lg);
		break;
	}
	if (lg->reported > ERRORS_SHOWN)
		fprintf(stderr, "loadgen: %" PRIu64 " more failures not "
		    "shown\n", lg->reported - ERRORS_SHOWN);
	fflush(stdout);
	cleanup(lg);
	return rc;
}
