/*
 * responder.c: HTTP/1.1 answered by mtlsd itself on a listener with
 * `responder = true`: the verified client learns who it is.
 *
 *	GET /		the identity (text; JSON with Accept: application/json)
 *	GET /healthz	"ok"
 *	POST /ticket	a one-time ticket for the client's accounts (tickets.c)
 *
 * Parsing is bounded: a request line over RESP_LINE_MAX is 414, headers
 * over RESP_HEADERS_MAX 431, a body over RESP_BODY_MAX 413, anything
 * malformed 400, another method 405, another path 404.  A connection
 * serves at most RESP_KEEPALIVE_MAX requests; a request must arrive
 * within handshake_timeout, an idle connection lasts idle_timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "json.h"
#include "log.h"
#include "mtlsd.h"
#include "relay.h"

#define RESP_LINE_MAX		2048
#define RESP_HEADERS_MAX	8192
#define RESP_BODY_MAX		4096
#define RESP_KEEPALIVE_MAX	100

/* One parsed request (pointers into the connection's input buffer). */
struct request {
	const char	*method, *target;
	size_t		 method_len, target_len;
	bool		 http11;
	bool		 want_json;
	bool		 close;
	size_t		 body_len;
	size_t		 total;		/* bytes the request takes */
};

static bool
token_is(const char *p, size_t n, const char *s)
{
	return strlen(s) == n && memcmp(p, s, n) == 0;
}

/* Case-insensitive search of needle in p[0..n). */
static bool
contains_nocase(const char *p, size_t n, const char *needle)
{
	size_t m = strlen(needle), i;

	for (i = 0; i + m <= n; i++)
		if (strncasecmp(p + i, needle, m) == 0)
			return true;
	return false;
}

/*
 * Parse the request at the start of in.  Returns 0 when complete (r
 * filled), 1 when more bytes are needed, or an HTTP status to answer with
 * (and close).
 */
static int
parse_request(const char *in, size_t len, struct request *r)
{
	const char *eol, *end, *p, *sp1, *sp2, *colon, *line_end;
	size_t hlen, n, i;
	unsigned long long cl;

	memset(r, 0, sizeof(*r));
	/* Lines end in CRLF; a bare LF is malformed, not "more to come". */
	if ((p = memchr(in, '\n', len)) != NULL && (p == in || p[-1] != '\r'))
		return 400;
	eol = memmem(in, len, "\r\n", 2);
	if (eol == NULL)
		return len > RESP_LINE_MAX ? 414 : 1;
	if ((size_t)(eol - in) > RESP_LINE_MAX)
		return 414;
	end = memmem(in, len, "\r\n\r\n", 4);
	if (end == NULL)
		return len > RESP_LINE_MAX + RESP_HEADERS_MAX ? 431 : 1;
	hlen = (size_t)(end - eol);
	if (hlen > RESP_HEADERS_MAX)
		return 431;
	/* METHOD SP target SP HTTP/1.x, printable ASCII only */
	for (p = in; p < eol; p++)
		if (*p < 0x21 && *p != ' ')
			return 400;
	sp1 = memchr(in, ' ', (size_t)(eol - in));
	if (sp1 == NULL || sp1 == in)
		return 400;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
	if (sp2 == NULL || sp2 == sp1 + 1 ||
	    memchr(sp2 + 1, ' ', (size_t)(eol - sp2 - 1)) != NULL)
		return 400;
	r->method = in;
	r->method_len = (size_t)(sp1 - in);
	for (i = 0; i < r->method_len; i++)
		if (in[i] < 'A' || in[i] > 'Z')
			return 400;
	r->target = sp1 + 1;
	r->target_len = (size_t)(sp2 - sp1 - 1);
	if (r->target[0] != '/')
		return 400;
	if (token_is(sp2 + 1, (size_t)(eol - sp2 - 1), "HTTP/1.1"))
		r->http11 = true;
	else if (!token_is(sp2 + 1, (size_t)(eol - sp2 - 1), "HTTP/1.0"))
		return 400;
	r->close = !r->http11;
	/* headers: Name ":" value CRLF */
	for (p = eol + 2; p < end + 2; p = line_end + 2) {
		line_end = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
		n = (size_t)(line_end - p);
		if ((colon = memchr(p, ':', n)) == NULL || colon == p)
			return 400;
		for (i = 0; i < n; i++)
			if ((unsigned char)p[i] < 0x20 && p[i] != '\t')
				return 400;
		if (token_is(p, (size_t)(colon - p), "Content-Length") ||
		    strncasecmp(p, "content-length:", 15) == 0) {
			const char *v = colon + 1, *ve = p + n;
			char num[24];

			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			if (ve - v == 0 || ve - v > 20)
				return 400;
			memcpy(num, v, (size_t)(ve - v));
			num[ve - v] = '\0';
			if (strspn(num, "0123456789") != strlen(num))
				return 400;
			cl = strtoull(num, NULL, 10);
			if (cl > RESP_BODY_MAX)
				return 413;
			r->body_len = (size_t)cl;
		} else if (strncasecmp(p, "transfer-encoding:", 18) == 0) {
			return 400;	/* no chunked bodies here */
		} else if (strncasecmp(p, "connection:", 11) == 0) {
			if (contains_nocase(colon + 1, n - (size_t)(colon + 1 - p),
			    "close"))
				r->close = true;
			else if (contains_nocase(colon + 1,
			    n - (size_t)(colon + 1 - p), "keep-alive"))
				r->close = false;
		} else if (strncasecmp(p, "accept:", 7) == 0) {
			if (contains_nocase(colon + 1, n - (size_t)(colon + 1 - p),
			    "application/json"))
				r->want_json = true;
		}
	}
	r->total = (size_t)(end + 4 - in) + r->body_len;
	return r->total > len ? 1 : 0;
}

static const char *
status_text(int status)
{
	switch (status) {
	case 200:	return "OK";
	case 400:	return "Bad Request";
	case 403:	return "Forbidden";
	case 503:	return "Service Unavailable";
	case 404:	return "Not Found";
	case 405:	return "Method Not Allowed";
	case 413:	return "Content Too Large";
	case 414:	return "URI Too Long";
	case 431:	return "Request Header Fields Too Large";
	}
	return "Error";
}

static void
identity_text(const struct conn *c, struct mtls_buf *b)
{
	const struct identity *id = &c->s.identity;
	char fpr[IDENTITY_FPR_TEXT], na[32];
	size_t i;

	identity_fingerprint_text(id->cert_sha256, fpr);
	identity_time_text(id->not_after, na, sizeof(na));
	buf_append_str(b, "subject: ");
	buf_append(b, id->subject.rfc4514.data, id->subject.rfc4514.len);
	buf_append_str(b, "\nissuer: ");
	buf_append(b, id->issuer.rfc4514.data, id->issuer.rfc4514.len);
	buf_printf(b, "\nserial: %s\nsha256: %s\nnot_after: %s\naccounts:",
	    id->serial, fpr, na);
	for (i = 0; i < c->s.naccounts; i++)
		buf_printf(b, "%s%s", i ? "," : " ", c->s.accounts[i].name);
	buf_printf(b, "\ntls: %s %s\n", c->s.tls_version, c->s.cipher);
}

static void
json_list(struct mtls_buf *b, const char *key,
    const struct mtls_bytes_list *l)
{
	size_t i;

	buf_printf(b, ",\"%s\":[", key);
	for (i = 0; i < l->count; i++) {
		if (i)
			buf_append(b, ",", 1);
		json_string(b, l->items[i].data, l->items[i].len);
	}
	buf_append(b, "]", 1);
}

static void
identity_json(const struct conn *c, struct mtls_buf *b)
{
	const struct identity *id = &c->s.identity;
	char fpr[IDENTITY_FPR_TEXT], na[32], nb[32];
	size_t i;

	identity_fingerprint_text(id->cert_sha256, fpr);
	identity_time_text(id->not_before, nb, sizeof(nb));
	identity_time_text(id->not_after, na, sizeof(na));
	buf_append_str(b, "{\"subject\":");
	json_string(b, id->subject.rfc4514.data, id->subject.rfc4514.len);
	buf_append_str(b, ",\"issuer\":");
	json_string(b, id->issuer.rfc4514.data, id->issuer.rfc4514.len);
	buf_printf(b, ",\"serial\":\"%s\",\"sha256\":\"%s\","
	    "\"not_before\":\"%s\",\"not_after\":\"%s\"", id->serial, fpr, nb,
	    na);
	json_list(b, "san_email", &id->san_email);
	json_list(b, "san_dns", &id->san_dns);
	json_list(b, "san_uri", &id->san_uri);
	buf_append_str(b, ",\"accounts\":[");
	for (i = 0; i < c->s.naccounts; i++)
		buf_printf(b, "%s\"%s\"", i ? "," : "", c->s.accounts[i].name);
	buf_append_str(b, "],\"listener\":");
	json_string(b, (const unsigned char *)c->l->cfg->name,
	    strlen(c->l->cfg->name));
	buf_printf(b, ",\"tls_version\":\"%s\",\"cipher\":\"%s\"}\n",
	    c->s.tls_version, c->s.cipher);
}

/* Queue one response; close after it when asked or on errors. */
static void
respond(struct conn *c, int status, const char *type, struct mtls_buf *body,
    bool close, const char *allow, bool head)
{
	struct mtls_buf *out = &c->resp;		/* the outgoing bytes */

	if (status >= 400)
		close = true;
	buf_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n%s%s%s"
	    "Connection: %s\r\n\r\n", status, status_text(status), type,
	    body ? body->len : 0, allow ? "Allow: " : "", allow ? allow : "",
	    allow ? "\r\n" : "", close ? "close" : "keep-alive");
	/* HEAD: the length GET would send, without the body (RFC 9110 9.3.2). */
	if (body != NULL && body->len > 0 && !head)
		buf_append(out, body->data, body->len);
	c->http_close = close;
}

/*
 * POST /ticket: only for a certificate that maps to an account.  The
 * ticket goes to the client and nowhere else; the log names it by id.
 */
static void
issue_ticket(struct conn *c, const struct request *r, bool last)
{
	char text[TICKET_TEXT_MAX], id[TICKET_ID_TEXT];
	struct mtls_buf body;
	struct logfmt lf;
	int ttl = c->l->cfg->ticket_ttl, rc;
	size_t i;

	if (c->s.naccounts == 0) {
		buf_init(&body, 0);
		buf_append_str(&body, "this certificate maps to no account\n");
		respond(c, 403, "text/plain", &body, last, NULL, false);
		buf_free(&body);
		return;
	}
	if ((rc = ticket_issue(&c->s, ttl, text, id)) != 0) {
		respond(c, 503, "text/plain", NULL, last, NULL, false);
		log_warnx("event=ticket result=fail listener=%s client=%s "
		    "error=\"%s\"", c->l->cfg->name, c->s.client,
		    mtls_strerror(rc));
		return;
	}
	buf_init(&body, 0);
	if (r->want_json) {
		buf_printf(&body, "{\"ticket\":\"%s\",\"expires_in\":%d,"
		    "\"accounts\":[", text, ttl);
		for (i = 0; i < c->s.naccounts; i++)
			buf_printf(&body, "%s\"%s\"", i ? "," : "",
			    c->s.accounts[i].name);
		buf_append_str(&body, "]}\n");
	} else
		buf_printf(&body, "%s\n", text);
	respond(c, 200, r->want_json ? "application/json" :
	    "text/plain; charset=utf-8", &body, last, NULL, false);
	explicit_bzero(body.data, body.len);
	buf_free(&body);
	explicit_bzero(text, sizeof(text));

	logfmt_init(&lf, "ticket");
	logfmt_str(&lf, "result", "issued");
	logfmt_str(&lf, "listener", c->l->cfg->name);
	logfmt_str(&lf, "client", c->s.client);
	logfmt_identity(&lf, &c->s.identity);
	logfmt_str(&lf, "ticket_id", id);
	logfmt_int(&lf, "ttl", ttl);
	logfmt_emit(&lf, LOGLVL_NOTICE);
}

static void
route(struct conn *c, const struct request *r)
{
	struct mtls_buf body;
	bool head = token_is(r->method, r->method_len, "HEAD");
	bool get = head || token_is(r->method, r->method_len, "GET");
	bool last = r->close || ++c->http_requests >= RESP_KEEPALIVE_MAX;

	buf_init(&body, 0);
	if (token_is(r->target, r->target_len, "/")) {
		if (!get) {
			respond(c, 405, "text/plain", NULL, last, "GET, HEAD",
			    false);
			return;
		}
		if (r->want_json)
			identity_json(c, &body);
		else
			identity_text(c, &body);
		respond(c, 200, r->want_json ? "application/json" :
		    "text/plain; charset=utf-8", &body, last, NULL, head);
	} else if (token_is(r->target, r->target_len, "/healthz")) {
		if (!get) {
			respond(c, 405, "text/plain", NULL, last, "GET, HEAD",
			    false);
			return;
		}
		buf_append_str(&body, "ok\n");
		respond(c, 200, "text/plain", &body, last, NULL, head);
	} else if (token_is(r->target, r->target_len, "/ticket")) {
		if (!token_is(r->method, r->method_len, "POST")) {
			respond(c, 405, "text/plain", NULL, last, "POST", false);
			return;
		}
		issue_ticket(c, r, last);
	} else
		respond(c, 404, "text/plain", NULL, last, NULL, false);
	buf_free(&body);
}

/*
 * Read, answer, repeat.  Returns 0 while the connection lives, -1 once it
 * has been closed.
 */
int
responder_pump(struct conn *c)
{
	struct request r;
	bool progress;
	int rc, status;

	do {
		progress = false;
		c->c_want_in = c->c_want_out = false;
		/* What is queued goes out first. */
		if (c->resp_off < c->resp.len) {
			rc = tls_write(c->tls, c->resp.data + c->resp_off,
			    c->resp.len - c->resp_off);
			if (rc > 0) {
				c->resp_off += (size_t)rc;
				progress = true;
			} else if (rc == MTLS_ERR_AGAIN) {
				c->c_want_out = tls_conn_wants_write(c->tls);
				c->c_want_in = !c->c_want_out;
				return 0;
			} else {
				conn_close(c, "client_closed");
				return -1;
			}
		}
		if (c->resp_off == c->resp.len) {
			buf_reset(&c->resp);
			c->resp_off = 0;
			if (c->http_close) {
				(void)tls_shutdown(c->tls);
				conn_close(c, "closed");
				return -1;
			}
		}
		/* A complete request in the buffer? */
		status = c->c2u_len > 0 ? parse_request((const char *)c->c2u,
		    c->c2u_len, &r) : 1;
		if (status == 0) {
			route(c, &r);
			memmove(c->c2u, c->c2u + r.total, c->c2u_len - r.total);
			c->c2u_len -= r.total;
			c->deadline = now_ms() + (uint64_t)(c->c2u_len > 0 ?
			    c->l->cfg->handshake_timeout :
			    c->l->cfg->idle_timeout) * 1000;
			progress = true;
			continue;
		}
		if (status != 1) {
			respond(c, status, "text/plain", NULL, true, NULL,
			    false);
			c->c2u_len = 0;
			progress = true;
			continue;
		}
		if (c->c2u_len == RELAY_BUF) {
			respond(c, 431, "text/plain", NULL, true, NULL, false);
			c->c2u_len = 0;
			progress = true;
			continue;
		}
		if (conn_buf_take(c, &c->c2u) == -1) {
			conn_close(c, "no_memory");
			return -1;
		}
		rc = tls_read(c->tls, c->c2u + c->c2u_len,
		    RELAY_BUF - c->c2u_len);
		if (rc > 0) {
			/* The first byte of a request starts its clock. */
			if (c->c2u_len == 0)
				c->deadline = now_ms() +
				    (uint64_t)c->l->cfg->handshake_timeout *
				    1000;
			c->c2u_len += (size_t)rc;
			progress = true;
		} else if (rc == MTLS_ERR_AGAIN) {
			if (tls_conn_wants_write(c->tls))
				c->c_want_out = true;
			else
				c->c_want_in = true;
		} else {
			conn_close(c, "closed");
			return -1;
		}
	} while (progress);
	if (c->c2u_len == 0)
		conn_buf_give(c, &c->c2u);
	return 0;
}
