/*
 * mtlsctl: the admin tool.  Asks a running mtlsd over its query socket
 * for its live sessions, one session by address, or its counters, and
 * prints the answer as logfmt-style lines or as JSON (one object a line).
 * "map" (mtlsctl_map.c) works offline: it loads the configuration and a
 * certificate and shows which accounts the certificate maps to, rule by
 * rule.
 *
 * Whatever the daemon sends is treated as untrusted bytes: every line is
 * bounded, every record parsed by the query codec, and no value reaches
 * the terminal without being escaped.  The same holds for the fields of
 * the certificate given to "map".
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bytes.h"
#include "config.h"
#include "error.h"
#include "log.h"
#include "netaddr.h"
#include "json.h"
#include "query.h"

#include "mtlsctl.h"

#define MTLSCTL_DEFAULT_SOCKET	"/run/mtlsd/query.sock"
#define MTLSCTL_TIMEOUT_MS	5000

/* Keys of session records that are lists in JSON even when absent. */
static const char *const json_list_keys[] = {
	"san_email", "san_dns", "san_uri", "accounts",
};

/* Keys of session records shown as JSON numbers when they are numeric. */
static const char *const json_number_keys[] = {
	"bytes_in", "bytes_out", "pid", "uid",
};

/* A bounded line reader over a non-blocking socket. */
struct reader {
	int	 fd;
	char	*buf;
	size_t	 cap;		/* QUERY_RECORD_MAX: longest line incl. "\n" */
	size_t	 start;		/* first unconsumed byte */
	size_t	 len;		/* bytes held (from 0) */
	bool	 eof;
};

struct ctl {
	const char	*socket;
	bool		 json;
};

void
usage(void)
{
	fputs(USAGE, stderr);
	exit(EXIT_FAIL);
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Wait until fd is ready for events or the deadline passes.  Returns 0,
 * MTLS_ERR_TIMEOUT or MTLS_ERR_SYSTEM.
 */
static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd;
	long long left;
	int n;

	for (;;) {
		if ((left = deadline - now_ms()) <= 0)
			return MTLS_ERR_TIMEOUT;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return 0;
		if (n == 0)
			return MTLS_ERR_TIMEOUT;
		if (errno != EINTR)
			return MTLS_ERR_SYSTEM;
	}
}

/*
 * Connect to the query socket.  Returns the fd, or -1 with errno set (and
 * ENAMETOOLONG for a path that does not fit a sockaddr_un).
 */
static int
ctl_connect(const char *path)
{
	struct sockaddr_un sun;
	size_t n = strlen(path);
	int fd, saved;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (n == 0 || n >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, path, n + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	/* Non-blocking from here on so that every wait has a deadline. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

static int
send_all(int fd, const char *data, size_t len)
{
	ssize_t n;
	int rc;

	while (len > 0) {
		/* MSG_NOSIGNAL: a vanished daemon is an error, not SIGPIPE. */
		n = send(fd, data, len, MSG_NOSIGNAL);
		if (n > 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((rc = wait_fd(fd, POLLOUT,
			    now_ms() + MTLSCTL_TIMEOUT_MS)) != 0)
				return rc;
			continue;
		}
		return MTLS_ERR_SYSTEM;
	}
	return 0;
}

static int
reader_init(struct reader *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->cap = QUERY_RECORD_MAX;
	if ((r->buf = malloc(r->cap)) == NULL)
		return MTLS_ERR_NOMEM;
	return 0;
}

static void
reader_free(struct reader *r)
{
	free(r->buf);
	r->buf = NULL;
}

/*
 * Return the next line (without "\n") in *line and *len.  The line stays
 * valid until the next call.  Lines longer than QUERY_RECORD_MAX bytes
 * with their "\n" are MTLS_ERR_TOO_LARGE; end of stream before a full line
 * is MTLS_ERR_CLOSED; no progress for MTLSCTL_TIMEOUT_MS is
 * MTLS_ERR_TIMEOUT.
 */
static int
reader_line(struct reader *r, const char **line, size_t *len)
{
	char *nl;
	size_t scanned = 0;
	ssize_t n;
	int rc;

	for (;;) {
		nl = memchr(r->buf + r->start + scanned, '\n',
		    r->len - r->start - scanned);
		if (nl != NULL) {
			*line = r->buf + r->start;
			*len = (size_t)(nl - *line);
			r->start = (size_t)(nl - r->buf) + 1;
			return 0;
		}
		scanned = r->len - r->start;
		if (scanned >= r->cap)
			return MTLS_ERR_TOO_LARGE;
		if (r->eof)
			return MTLS_ERR_CLOSED;
		/* Slide the partial line to the front to make room. */
		if (r->start > 0) {
			memmove(r->buf, r->buf + r->start, scanned);
			r->len = scanned;
			r->start = 0;
		}
		n = read(r->fd, r->buf + r->len, r->cap - r->len);
		if (n > 0) {
			r->len += (size_t)n;
			continue;
		}
		if (n == 0) {
			r->eof = true;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return MTLS_ERR_SYSTEM;
		if ((rc = wait_fd(r->fd, POLLIN,
		    now_ms() + MTLSCTL_TIMEOUT_MS)) != 0)
			return rc;
	}
}

static bool
key_in(const char *key, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(key, list[i]) == 0)
			return true;
	return false;
}

/* A JSON integer: digits only, no leading zero, at most 20 digits. */
static bool
json_is_number(const struct mtls_bytes *v)
{
	size_t i;

	if (v->len == 0 || v->len > 20 || (v->data[0] == '0' && v->len > 1))
		return false;
	for (i = 0; i < v->len; i++)
		if (v->data[i] < '0' || v->data[i] > '9')
			return false;
	return true;
}

static int
json_value(struct mtls_buf *b, const struct mtls_bytes *v, bool number)
{
	if (number && json_is_number(v))
		return buf_append(b, v->data, v->len);
	return json_string(b, v->data, v->len);
}

/* Append every value of key as a JSON array. */
static int
json_array(struct mtls_buf *b, const struct query_record *r, const char *key)
{
	size_t i, n = 0;
	int rc;

	if ((rc = buf_append(b, "[", 1)) != 0)
		return rc;
	for (i = 0; i < r->count && rc == 0; i++) {
		if (strcmp(r->fields[i].key, key) != 0)
			continue;
		if (n++ > 0 && (rc = buf_append(b, ",", 1)) != 0)
			return rc;
		rc = json_string(b, r->fields[i].value.data,
		    r->fields[i].value.len);
	}
	if (rc == 0)
		rc = buf_append(b, "]", 1);
	return rc;
}

/*
 * One record as one JSON object.  Keys keep their first position; a key
 * that repeats becomes an array so that no key appears twice in the
 * object.  Session records always carry the list keys, empty if absent.
 */
static int
format_json(const struct query_record *r, struct mtls_buf *b)
{
	const struct mtls_bytes *type;
	bool stats, session_lists, reload, number, first = true;
	size_t i, k;
	int rc;

	type = query_record_get(r, "type", 0);
	/* stats: every counter a number; reload: its serial; sessions:
	 * the list keys always present. */
	stats = type != NULL && bytes_equal_str(type, "stats");
	session_lists = type != NULL && bytes_equal_str(type, "session");
	reload = type != NULL && bytes_equal_str(type, "reload");

	if ((rc = buf_append(b, "{", 1)) != 0)
		return rc;
	for (i = 0; i < r->count; i++) {
		const struct query_field *f = &r->fields[i];

		/* Only the first occurrence of a key writes it. */
		if (query_record_get(r, f->key, 0) != &f->value)
			continue;
		if ((!first && (rc = buf_append(b, ",", 1)) != 0) ||
		    (rc = json_string(b, (const unsigned char *)f->key,
		    strlen(f->key))) != 0 ||
		    (rc = buf_append(b, ":", 1)) != 0)
			return rc;
		first = false;
		if ((session_lists && key_in(f->key, json_list_keys,
		    sizeof(json_list_keys) / sizeof(json_list_keys[0]))) ||
		    query_record_count(r, f->key) > 1) {
			rc = json_array(b, r, f->key);
		} else {
			number = stats ? strcmp(f->key, "type") != 0 :
			    reload ? strcmp(f->key, "serial") == 0 :
			    key_in(f->key, json_number_keys,
			    sizeof(json_number_keys) /
			    sizeof(json_number_keys[0]));
			rc = json_value(b, &f->value, number);
		}
		if (rc != 0)
			return rc;
	}
	for (k = 0; session_lists && k < sizeof(json_list_keys) /
	    sizeof(json_list_keys[0]); k++) {
		if (query_record_count(r, json_list_keys[k]) > 0)
			continue;
		if ((!first && (rc = buf_append(b, ",", 1)) != 0) ||
		    (rc = buf_printf(b, "\"%s\":[]", json_list_keys[k])) != 0)
			return rc;
		first = false;
	}
	return buf_append(b, "}", 1);
}

/* One record as "key=value ..." with logfmt quoting of each value. */
static int
format_text(const struct query_record *r, struct mtls_buf *b)
{
	size_t i;
	int rc;

	for (i = 0; i < r->count; i++)
		if ((rc = logfmt_append(b, r->fields[i].key,
		    r->fields[i].value.data, r->fields[i].value.len)) != 0)
			return rc;
	return 0;
}

static int
print_record(const struct ctl *ctl, const struct query_record *r)
{
	struct mtls_buf b;
	int rc;

	buf_init(&b, 0);
	rc = ctl->json ? format_json(r, &b) : format_text(r, &b);
	if (rc == 0)
		rc = buf_append(&b, "\n", 1);
	if (rc == 0 && fwrite(b.data, 1, b.len, stdout) != b.len)
		rc = MTLS_ERR_SYSTEM;
	buf_free(&b);
	return rc;
}

static const char *
read_error(int rc)
{
	switch (rc) {
	case MTLS_ERR_CLOSED:
		return "connection closed before the response was complete";
	case MTLS_ERR_TOO_LARGE:
		return "response line too long";
	case MTLS_ERR_TIMEOUT:
		return "timed out waiting for the daemon";
	case MTLS_ERR_SYSTEM:
		return strerror(errno);
	default:
		return mtls_strerror(rc);
	}
}

/*
 * Send one request and print its answer.  Returns the exit code; every
 * failure has printed one line to stderr.
 */
static int
ctl_query(const struct ctl *ctl, const struct query_request *req,
    const char *shown_addr)
{
	char reqline[QUERY_REQUEST_MAX + 1];
	char code[64], message[256];
	struct query_record rec;
	struct reader rd;
	const char *line;
	size_t len, count, i;
	bool reload_failed = false;
	int fd, n, rc, ret = EXIT_FAIL;

	if ((n = query_request_format(req, reqline, sizeof(reqline))) < 0) {
		fprintf(stderr, "mtlsctl: cannot build request: %s\n",
		    mtls_strerror(n));
		return EXIT_FAIL;
	}
	if ((fd = ctl_connect(ctl->socket)) == -1) {
		if (errno == EACCES || errno == EPERM)
			fprintf(stderr, "mtlsctl: %s: access denied (need root "
			    "or membership in the query group)\n", ctl->socket);
		else
			fprintf(stderr, "mtlsctl: cannot connect to %s: %s\n",
			    ctl->socket, strerror(errno));
		return EXIT_FAIL;
	}
	if (reader_init(&rd, fd) != 0) {
		fprintf(stderr, "mtlsctl: out of memory\n");
		close(fd);
		return EXIT_FAIL;
	}
	if ((rc = send_all(fd, reqline, (size_t)n)) != 0) {
		fprintf(stderr, "mtlsctl: %s: cannot send request: %s\n",
		    ctl->socket, rc == MTLS_ERR_TIMEOUT ?
		    "timed out" : strerror(errno));
		goto done;
	}
	if ((rc = reader_line(&rd, &line, &len)) != 0) {
		fprintf(stderr, "mtlsctl: %s: %s\n", ctl->socket,
		    read_error(rc));
		goto done;
	}
	rc = query_status_parse(line, len, &count, code, sizeof(code),
	    message, sizeof(message));
	if (rc == MTLS_ERR_NOT_FOUND && (req->verb == QUERY_WHOIS ||
	    req->verb == QUERY_SESSION)) {
		fprintf(stderr, "mtlsctl: no session for %s\n", shown_addr);
		ret = EXIT_NOTFOUND;
		goto done;
	}
	if (rc == MTLS_ERR_DENIED) {
		/* The daemon says what was missing (the codec made it
		 * printable). */
		fprintf(stderr, "mtlsctl: %s: access denied (%s)\n",
		    ctl->socket, message[0] ? message :
		    "need root or membership in the query group");
		goto done;
	}
	if (rc == MTLS_ERR_VERSION) {
		fprintf(stderr, "mtlsctl: %s: daemon does not speak protocol "
		    "%s\n", ctl->socket, QUERY_MAGIC);
		goto done;
	}
	if (rc == MTLS_ERR_NOMEM) {
		fprintf(stderr, "mtlsctl: out of memory\n");
		goto done;
	}
	if (rc != 0 && code[0] == '\0') {
		fprintf(stderr, "mtlsctl: %s: malformed response status "
		    "line\n", ctl->socket);
		goto done;
	}
	if (rc != 0) {
		/* The codec made message printable; code is [a-z_]. */
		fprintf(stderr, "mtlsctl: %s: daemon error %s%s%s\n",
		    ctl->socket, code, message[0] ? ": " : "", message);
		goto done;
	}
	/* whois names one session; more than one would be a daemon bug. */
	if ((req->verb == QUERY_WHOIS || req->verb == QUERY_SESSION) &&
	    count == 0) {
		fprintf(stderr, "mtlsctl: no session for %s\n", shown_addr);
		ret = EXIT_NOTFOUND;
		goto done;
	}
	if ((req->verb == QUERY_STATS || req->verb == QUERY_RELOAD) &&
	    count != 1) {
		fprintf(stderr, "mtlsctl: %s: expected one record, got %zu\n",
		    ctl->socket, count);
		goto done;
	}

	for (i = 0; i < count; i++) {
		if ((rc = reader_line(&rd, &line, &len)) != 0) {
			fprintf(stderr, "mtlsctl: %s: record %zu of %zu: %s\n",
			    ctl->socket, i + 1, count, read_error(rc));
			goto done;
		}
		if ((rc = query_record_parse(line, len, &rec)) != 0) {
			fprintf(stderr, "mtlsctl: %s: record %zu of %zu: "
			    "malformed (%s)\n", ctl->socket, i + 1, count,
			    mtls_strerror(rc));
			goto done;
		}
		rc = print_record(ctl, &rec);
		/* A reload that failed is the answer "no": exit 1. */
		if (req->verb == QUERY_RELOAD &&
		    (query_record_get(&rec, "result", 0) == NULL ||
		    !bytes_equal_str(query_record_get(&rec, "result", 0),
		    "ok")))
			reload_failed = true;
		query_record_free(&rec);
		if (rc != 0) {
			fprintf(stderr, "mtlsctl: cannot write output: %s\n",
			    rc == MTLS_ERR_SYSTEM ? strerror(errno) :
			    mtls_strerror(rc));
			goto done;
		}
	}
	if (fflush(stdout) == EOF) {
		fprintf(stderr, "mtlsctl: cannot write output: %s\n",
		    strerror(errno));
		goto done;
	}
	ret = reload_failed ? EXIT_NOTFOUND : EXIT_OK;
 done:
	reader_free(&rd);
	close(fd);
	return ret;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "json",	no_argument,		NULL, OPT_JSON },
		{ "help",	no_argument,		NULL, OPT_HELP },
		{ "socket",	required_argument,	NULL, 's' },
		{ NULL,		0,			NULL, 0 },
	};
	struct ctl ctl = { MTLSCTL_DEFAULT_SOCKET, false };
	struct map_opts mo;
	struct query_request req;
	const char *cmd, *shown = NULL, *config = NULL;
	bool socket_given = false;
	int ch, rc;

	/* "+": options end at the command, as usage shows. */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:c:hs:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case OPT_JSON:
			ctl.json = true;
			break;
		case 's':
			ctl.socket = optarg;
			socket_given = true;
			break;
		case 'h':
		case OPT_HELP:
			fputs(USAGE, stdout);
			return EXIT_OK;
		case ':':
			fprintf(stderr, "mtlsctl: option %s needs an argument\n",
			    argv[optind - 1]);
			usage();
		default:
			if (optopt > 0 && optopt < OPT_JSON)
				fprintf(stderr, "mtlsctl: unknown option -%c\n",
				    optopt);
			else
				fprintf(stderr, "mtlsctl: unknown option %s\n",
				    argv[optind - 1]);
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	cmd = argv[0];

	if (strcmp(cmd, "map") == 0) {
		if (socket_given) {
			fprintf(stderr, "mtlsctl: map: -s is not used: map "
			    "reads the configuration, not the daemon\n");
			usage();
		}
		memset(&mo, 0, sizeof(mo));
		mo.config = config != NULL ? config : CONFIG_DEFAULT_PATH;
		mo.json = ctl.json;
		if ((rc = map_parse(argc, argv, &mo)) >= 0)
			return rc;
		return ctl_map(&mo);
	}
	if (config != NULL) {
		fprintf(stderr, "mtlsctl: -c is only used by map\n");
		usage();
	}

	memset(&req, 0, sizeof(req));
	if (strcmp(cmd, "sessions") == 0 && argc == 1)
		req.verb = QUERY_SESSIONS;
	else if (strcmp(cmd, "stats") == 0 && argc == 1)
		req.verb = QUERY_STATS;
	else if (strcmp(cmd, "reload") == 0 && argc == 1)
		req.verb = QUERY_RELOAD;
	else if (strcmp(cmd, "session") == 0 && argc == 2) {
		req.verb = QUERY_SESSION;
		shown = argv[1];
		if (strlen(argv[1]) != 32 ||
		    strspn(argv[1], "0123456789abcdef") != 32) {
			fprintf(stderr, "mtlsctl: session: invalid id \"%s\": "
			    "expected 32 lower-case hex digits\n", argv[1]);
			return EXIT_FAIL;
		}
		memcpy(req.id, argv[1], 33);
	}
	else if (strcmp(cmd, "whois") == 0 && argc == 2) {
		req.verb = QUERY_WHOIS;
		shown = argv[1];
		rc = netaddr_canonical(argv[1], req.addr, sizeof(req.addr));
		if (rc != 0) {
			fprintf(stderr, "mtlsctl: whois: invalid address "
			    "\"%s\": expected IPv4:PORT or [IPv6]:PORT\n",
			    argv[1]);
			return EXIT_FAIL;
		}
	} else if (strcmp(cmd, "sessions") == 0 ||
	    strcmp(cmd, "stats") == 0 || strcmp(cmd, "whois") == 0 ||
	    strcmp(cmd, "reload") == 0 || strcmp(cmd, "session") == 0) {
		fprintf(stderr, "mtlsctl: %s: wrong number of arguments\n",
		    cmd);
		usage();
	} else {
		fprintf(stderr, "mtlsctl: unknown command: %s\n", cmd);
		usage();
	}
	return ctl_query(&ctl, &req, shown);
}
