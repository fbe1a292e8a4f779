/*
 * identity.c: build the identity record from a verified leaf certificate.
 *
 * We walk the DER ourselves instead of using the TLS library's X509 name
 * helpers: those copy values into C strings, and a NUL inside a CN would
 * cut "alice\0.evil" down to "alice".  Here every value keeps its length.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>

#include "der.h"
#include "error.h"
#include "identity.h"

#define FAIL(code, ...) do {						\
	if (err != NULL)						\
		snprintf(err, errlen, __VA_ARGS__);			\
	rc = (code);							\
	goto fail;							\
} while (0)

static const struct {
	uint8_t		 oid[10];
	size_t		 len;
	const char	*name;
} attr_names[] = {
	{ { 0x55, 0x04, 0x03 }, 3, "CN" },
	{ { 0x55, 0x04, 0x04 }, 3, "SN" },
	{ { 0x55, 0x04, 0x05 }, 3, "serialNumber" },
	{ { 0x55, 0x04, 0x06 }, 3, "C" },
	{ { 0x55, 0x04, 0x07 }, 3, "L" },
	{ { 0x55, 0x04, 0x08 }, 3, "ST" },
	{ { 0x55, 0x04, 0x09 }, 3, "STREET" },
	{ { 0x55, 0x04, 0x0a }, 3, "O" },
	{ { 0x55, 0x04, 0x0b }, 3, "OU" },
	{ { 0x55, 0x04, 0x0c }, 3, "title" },
	{ { 0x55, 0x04, 0x2a }, 3, "GN" },
	{ { 0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19 }, 10,
	  "DC" },
	{ { 0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01 }, 10,
	  "UID" },
	{ { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01 }, 9,
	  "emailAddress" },
};

static const uint8_t oid_san[] = { 0x55, 0x1d, 0x11 };
static const uint8_t oid_eku[] = { 0x55, 0x1d, 0x25 };
static const uint8_t oid_basic_constraints[] = { 0x55, 0x1d, 0x13 };
static const uint8_t oid_eku_any[] = { 0x55, 0x1d, 0x25, 0x00 };
static const uint8_t oid_kp_server[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07,
	0x03, 0x01 };
static const uint8_t oid_kp_client[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07,
	0x03, 0x02 };

/* Append code point cp as UTF-8. */
static int
append_utf8(struct mtls_buf *b, unsigned long cp)
{
	unsigned char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | (cp >> 6));
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | (cp >> 12));
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | (cp >> 18));
		u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_append(b, u, n);
}

/*
 * Decode a directory string into UTF-8 bytes.  UTF8String and the ASCII
 * types are taken byte for byte (invalid sequences are escaped later);
 * BMPString and UniversalString are converted.  Other types: 1 = not a
 * string (the caller shows it as #hex).
 */
static int
decode_string(const struct der_elem *e, struct mtls_buf *out)
{
	const uint8_t *p = e->content.p;
	size_t i, n = e->content.len;
	unsigned long cp;
	int rc = 0;

	switch (e->tag) {
	case DER_UTF8STRING:
	case DER_PRINTABLESTRING:
	case DER_IA5STRING:
	case DER_T61STRING:
	case DER_NUMERICSTRING:
	case DER_VISIBLESTRING:
		return buf_append(out, p, n);
	case DER_BMPSTRING:
		if (n % 2)
			return MTLS_ERR_INVALID;
		for (i = 0; i < n && rc == 0; i += 2) {
			cp = ((unsigned long)p[i] << 8) | p[i + 1];
			rc = append_utf8(out, cp);
		}
		return rc;
	case DER_UNIVERSALSTRING:
		if (n % 4)
			return MTLS_ERR_INVALID;
		for (i = 0; i < n && rc == 0; i += 4) {
			cp = ((unsigned long)p[i] << 24) |
			    ((unsigned long)p[i + 1] << 16) |
			    ((unsigned long)p[i + 2] << 8) | p[i + 3];
			if (cp > 0x10ffff)
				return MTLS_ERR_INVALID;
			rc = append_utf8(out, cp);
		}
		return rc;
	}
	return 1;
}

/* Length of the valid UTF-8 sequence at p (>= 2 bytes), or 0. */
static size_t
utf8_seq_len(const unsigned char *p, size_t avail)
{
	unsigned long cp;
	size_t n, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (avail < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	/* No overlong forms, no surrogates, nothing past U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

int
identity_escape_rfc4514(struct mtls_buf *b, const unsigned char *v,
    size_t len)
{
	size_t i, n;
	int rc = 0;

	for (i = 0; i < len && rc == 0; i++) {
		unsigned char c = v[i];

		if (c < 0x20 || c == 0x7f) {
			rc = buf_printf(b, "\\%02X", c);
		} else if (c >= 0x80) {
			if ((n = utf8_seq_len(v + i, len - i)) == 0) {
				rc = buf_printf(b, "\\%02X", c);
			} else {
				rc = buf_append(b, v + i, n);
				i += n - 1;
			}
		} else if (strchr("\"+,;<>\\", c) != NULL ||
		    (i == 0 && (c == ' ' || c == '#')) ||
		    (i == len - 1 && c == ' ')) {
			char esc[2] = { '\\', (char)c };
			rc = buf_append(b, esc, 2);
		} else {
			rc = buf_append(b, &c, 1);
		}
	}
	return rc;
}

bool
identity_attr_type_known(const char *type)
{
	size_t i;

	for (i = 0; i < sizeof(attr_names) / sizeof(attr_names[0]); i++)
		if (strcmp(type, attr_names[i].name) == 0)
			return true;
	return false;
}

static void
attr_type_name(const struct der *oid, char *out, size_t size)
{
	size_t i;

	for (i = 0; i < sizeof(attr_names) / sizeof(attr_names[0]); i++) {
		if (der_oid_is(oid, attr_names[i].oid, attr_names[i].len)) {
			snprintf(out, size, "%s", attr_names[i].name);
			return;
		}
	}
	if (der_oid_text(oid, out, size) != 0)
		snprintf(out, size, "unknown");
}

static void
name_free(struct identity_name *n)
{
	size_t i;

	for (i = 0; i < n->count; i++)
		bytes_free(&n->attrs[i].value);
	free(n->attrs);
	bytes_free(&n->rfc4514);
	memset(n, 0, sizeof(*n));
}

/* "TYPE=value" of one attribute as RFC 4514 section 2.3-2.4 writes it. */
static int
attr_text(struct mtls_buf *b, const struct identity_attr *a,
    const struct der_elem *val)
{
	size_t i;
	int rc;

	if ((rc = buf_printf(b, "%s=", a->type)) != 0)
		return rc;
	/*
	 * A dotted type, or a value that is not a string, is shown as "#"
	 * and the hex of its BER encoding.
	 */
	if (a->hex_form || (a->type[0] >= '0' && a->type[0] <= '9')) {
		rc = buf_append(b, "#", 1);
		for (i = 0; i < val->whole.len && rc == 0; i++)
			rc = buf_printf(b, "%02X", val->whole.p[i]);
		return rc;
	}
	return identity_escape_rfc4514(b, a->value.data, a->value.len);
}

/*
 * Parse a Name.  Attributes are stored in certificate order; the RFC 4514
 * string lists RDNs in reverse order (RFC 4514 section 2.1), the members
 * of a multi-valued RDN joined by '+' in certificate order.
 */
static int
parse_name(const struct der_elem *name, struct identity_name *out)
{
	struct der rdns = name->content, set, seq;
	struct der_elem rdn, atv, oid, val;
	struct mtls_buf value, *rdn_text = NULL;
	size_t nrdn = 0, i;
	struct identity_attr *a;
	int rc = 0, r;

	buf_init(&value, 0);
	out->attrs = calloc(IDENTITY_MAX_ATTRS, sizeof(*out->attrs));
	rdn_text = calloc(IDENTITY_MAX_ATTRS, sizeof(*rdn_text));
	if (out->attrs == NULL || rdn_text == NULL) {
		rc = MTLS_ERR_NOMEM;
		goto done;
	}
	while (rdns.len > 0) {
		if ((rc = der_expect(&rdns, DER_SET, &rdn)) != 0)
			goto done;
		set = rdn.content;
		if (set.len == 0 || nrdn >= IDENTITY_MAX_ATTRS) {
			rc = MTLS_ERR_INVALID;
			goto done;
		}
		buf_init(&rdn_text[nrdn++], 0);
		while (set.len > 0) {
			if (out->count >= IDENTITY_MAX_ATTRS) {
				rc = MTLS_ERR_TOO_LARGE;
				goto done;
			}
			if ((rc = der_expect(&set, DER_SEQUENCE, &atv)) != 0)
				goto done;
			seq = atv.content;
			if ((rc = der_expect(&seq, DER_OID, &oid)) != 0 ||
			    (rc = der_next(&seq, &val)) != 0)
				goto done;
			if (seq.len != 0) {
				rc = MTLS_ERR_INVALID;
				goto done;
			}
			a = &out->attrs[out->count];
			attr_type_name(&oid.content, a->type, sizeof(a->type));
			buf_reset(&value);
			if ((r = decode_string(&val, &value)) < 0) {
				rc = r;
				goto done;
			}
			if (r == 1) {
				/* Not a string: keep "#" + hex as the value. */
				rc = buf_append(&value, "#", 1);
				for (i = 0; i < val.whole.len && rc == 0; i++)
					rc = buf_printf(&value, "%02X",
					    val.whole.p[i]);
				if (rc != 0)
					goto done;
			}
			a->hex_form = r == 1;
			if ((rc = bytes_set(&a->value, value.data ?
			    value.data : "", value.len)) != 0)
				goto done;
			out->count++;
			if ((rdn_text[nrdn - 1].len > 0 &&
			    (rc = buf_append(&rdn_text[nrdn - 1], "+", 1)) != 0) ||
			    (rc = attr_text(&rdn_text[nrdn - 1], a, &val)) != 0)
				goto done;
		}
	}
	buf_reset(&value);
	for (i = nrdn; i-- > 0; ) {
		if ((i + 1 < nrdn && (rc = buf_append(&value, ",", 1)) != 0) ||
		    (rc = buf_append(&value, rdn_text[i].data,
		    rdn_text[i].len)) != 0)
			goto done;
	}
	rc = bytes_set(&out->rfc4514, value.data ? value.data : "",
	    value.len);
	/*
	 * Room for IDENTITY_MAX_ATTRS was taken while parsing; a session
	 * keeps its names for its whole life, so give back what is unused.
	 */
	if (rc == 0 && out->count > 0 && out->count < IDENTITY_MAX_ATTRS &&
	    (a = realloc(out->attrs, out->count * sizeof(*a))) != NULL)
		out->attrs = a;
done:
	if (rdn_text != NULL)
		for (i = 0; i < nrdn; i++)
			buf_free(&rdn_text[i]);
	free(rdn_text);
	buf_free(&value);
	return rc;
}

static int
parse_serial(const struct der_elem *e, char *out, size_t size)
{
	const uint8_t *p = e->content.p;
	size_t n = e->content.len, i, used = 0;

	if (n == 0 || n > 21)
		return MTLS_ERR_INVALID;
	/* Drop the sign-padding zero byte; show upper-case hex. */
	while (n > 1 && p[0] == 0) {
		p++;
		n--;
	}
	for (i = 0; i < n; i++) {
		if (used + 3 > size)
			return MTLS_ERR_TOO_LARGE;
		if (i == 0 && p[0] < 0x10)
			used += (size_t)snprintf(out + used, size - used,
			    "%X", p[0]);
		else
			used += (size_t)snprintf(out + used, size - used,
			    "%02X", p[i]);
	}
	return 0;
}

static int
parse_san(struct identity *id, struct der ext)
{
	struct der_elem seq, gn;
	struct der names;
	struct mtls_bytes_list *list;
	size_t total = 0;
	int rc;

	if ((rc = der_expect(&ext, DER_SEQUENCE, &seq)) != 0)
		return rc;
	names = seq.content;
	while (names.len > 0) {
		if ((rc = der_next(&names, &gn)) != 0)
			return rc;
		if (++total > 3 * IDENTITY_MAX_SANS)
			return MTLS_ERR_TOO_LARGE;
		switch (gn.tag) {
		case 0x81:	list = &id->san_email; break;
		case 0x82:	list = &id->san_dns; break;
		case 0x86:	list = &id->san_uri; break;
		default:	continue;	/* IP, otherName, dirName... */
		}
		if (list->count >= IDENTITY_MAX_SANS)
			return MTLS_ERR_TOO_LARGE;
		if ((rc = bytes_list_add(list, gn.content.p,
		    gn.content.len)) != 0)
			return rc;
	}
	return 0;
}

static int
parse_eku(struct identity *id, struct der ext)
{
	struct der_elem seq, oid;
	struct der oids;
	int rc;

	if ((rc = der_expect(&ext, DER_SEQUENCE, &seq)) != 0)
		return rc;
	id->has_eku = true;
	oids = seq.content;
	while (oids.len > 0) {
		if ((rc = der_expect(&oids, DER_OID, &oid)) != 0)
			return rc;
		if (der_oid_is(&oid.content, oid_kp_client,
		    sizeof(oid_kp_client)))
			id->eku_client_auth = true;
		else if (der_oid_is(&oid.content, oid_kp_server,
		    sizeof(oid_kp_server)))
			id->eku_server_auth = true;
		else if (der_oid_is(&oid.content, oid_eku_any,
		    sizeof(oid_eku_any)))
			id->eku_any = true;
	}
	return 0;
}

static int
parse_basic_constraints(struct identity *id, struct der ext)
{
	struct der_elem seq, ca;
	struct der body;
	int rc;

	if ((rc = der_expect(&ext, DER_SEQUENCE, &seq)) != 0)
		return rc;
	body = seq.content;
	if (der_peek(&body, DER_BOOLEAN)) {
		if ((rc = der_next(&body, &ca)) != 0 || ca.content.len != 1)
			return MTLS_ERR_INVALID;
		id->is_ca = ca.content.p[0] != 0;
	}
	return 0;
}

static int
parse_extensions(struct identity *id, const struct der_elem *wrap)
{
	struct der_elem list, ext, oid, crit, value;
	struct der exts, body;
	int rc;

	body = wrap->content;
	if ((rc = der_expect(&body, DER_SEQUENCE, &list)) != 0)
		return rc;
	exts = list.content;
	while (exts.len > 0) {
		if ((rc = der_expect(&exts, DER_SEQUENCE, &ext)) != 0)
			return rc;
		body = ext.content;
		if ((rc = der_expect(&body, DER_OID, &oid)) != 0)
			return rc;
		if (der_peek(&body, DER_BOOLEAN) &&
		    (rc = der_next(&body, &crit)) != 0)
			return rc;
		if ((rc = der_expect(&body, DER_OCTET_STRING, &value)) != 0)
			return rc;
		if (der_oid_is(&oid.content, oid_san, sizeof(oid_san)))
			rc = parse_san(id, value.content);
		else if (der_oid_is(&oid.content, oid_eku, sizeof(oid_eku)))
			rc = parse_eku(id, value.content);
		else if (der_oid_is(&oid.content, oid_basic_constraints,
		    sizeof(oid_basic_constraints)))
			rc = parse_basic_constraints(id, value.content);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static const struct {
	uint8_t		 oid[9];
	size_t		 len;
	const char	*name;
} sig_algs[] = {
	{ { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 }, 8,
	  "ECDSA-SHA256" },
	{ { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03 }, 8,
	  "ECDSA-SHA384" },
	{ { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04 }, 8,
	  "ECDSA-SHA512" },
	{ { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b }, 9,
	  "RSA-SHA256" },
	{ { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c }, 9,
	  "RSA-SHA384" },
	{ { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d }, 9,
	  "RSA-SHA512" },
	{ { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a }, 9,
	  "RSA-PSS" },
	{ { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05 }, 9,
	  "RSA-SHA1" },
	{ { 0x2b, 0x65, 0x70 }, 3, "ED25519" },
};

/* The name of a signature AlgorithmIdentifier (PROXY protocol, logs). */
static void
sig_alg_name(const struct der_elem *alg, char *out, size_t size)
{
	struct der in = alg->content;
	struct der_elem oid;
	size_t i;

	snprintf(out, size, "unknown");
	if (der_expect(&in, DER_OID, &oid) != 0)
		return;
	for (i = 0; i < sizeof(sig_algs) / sizeof(sig_algs[0]); i++)
		if (der_oid_is(&oid.content, sig_algs[i].oid, sig_algs[i].len)) {
			snprintf(out, size, "%s", sig_algs[i].name);
			return;
		}
	if (der_oid_text(&oid.content, out, size) != 0)
		snprintf(out, size, "unknown");
}

/* "EC256", "RSA2048", "ED25519": the key of a SubjectPublicKeyInfo. */
static void
key_alg_name(const struct der_elem *spki, char *out, size_t size)
{
	static const uint8_t ec[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
	static const uint8_t rsa[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
	    0x01, 0x01 };
	static const uint8_t ed25519[] = { 0x2b, 0x65, 0x70 };
	static const uint8_t p256[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01,
	    0x07 };
	static const uint8_t p384[] = { 0x2b, 0x81, 0x04, 0x00, 0x22 };
	static const uint8_t p521[] = { 0x2b, 0x81, 0x04, 0x00, 0x23 };
	struct der in = spki->content, alg, bits;
	struct der_elem e, oid, param, key, mod;
	size_t n;

	snprintf(out, size, "unknown");
	if (der_expect(&in, DER_SEQUENCE, &e) != 0)
		return;
	alg = e.content;
	if (der_expect(&alg, DER_OID, &oid) != 0)
		return;
	if (der_oid_is(&oid.content, ed25519, sizeof(ed25519))) {
		snprintf(out, size, "ED25519");
	} else if (der_oid_is(&oid.content, ec, sizeof(ec))) {
		if (der_expect(&alg, DER_OID, &param) != 0)
			return;
		snprintf(out, size, "%s",
		    der_oid_is(&param.content, p256, sizeof(p256)) ? "EC256" :
		    der_oid_is(&param.content, p384, sizeof(p384)) ? "EC384" :
		    der_oid_is(&param.content, p521, sizeof(p521)) ? "EC521" :
		    "EC");
	} else if (der_oid_is(&oid.content, rsa, sizeof(rsa))) {
		/* BIT STRING { 0 unused bits, RSAPublicKey { modulus, e } } */
		if (der_expect(&in, DER_BIT_STRING, &key) != 0 ||
		    key.content.len < 1)
			return;
		bits.p = key.content.p + 1;
		bits.len = key.content.len - 1;
		if (der_expect(&bits, DER_SEQUENCE, &e) != 0)
			return;
		bits = e.content;
		if (der_expect(&bits, DER_INTEGER, &mod) != 0)
			return;
		n = mod.content.len;
		if (n > 0 && mod.content.p[0] == 0)
			n--;
		snprintf(out, size, "RSA%zu", n * 8);
	}
}

int
identity_from_der(struct identity *id, const unsigned char *der, size_t len,
    char *err, size_t errlen)
{
	struct der in = { der, len }, cert, tbs;
	struct der_elem e_cert, e_tbs, e, serial, issuer, validity, subject,
	    spki, nb, na;
	struct der val;
	int rc = 0;

	memset(id, 0, sizeof(*id));
	if (len > IDENTITY_DER_MAX)
		FAIL(MTLS_ERR_TOO_LARGE, "certificate larger than %d bytes",
		    IDENTITY_DER_MAX);
	if (der_expect(&in, DER_SEQUENCE, &e_cert) != 0 || in.len != 0)
		FAIL(MTLS_ERR_INVALID, "not a DER certificate");
	cert = e_cert.content;
	if (der_expect(&cert, DER_SEQUENCE, &e_tbs) != 0)
		FAIL(MTLS_ERR_INVALID, "bad tbsCertificate");
	tbs = e_tbs.content;
	if (der_peek(&tbs, 0xa0) && der_next(&tbs, &e) != 0)
		FAIL(MTLS_ERR_INVALID, "bad version");
	if (der_expect(&tbs, DER_INTEGER, &serial) != 0 ||
	    parse_serial(&serial, id->serial, sizeof(id->serial)) != 0)
		FAIL(MTLS_ERR_INVALID, "bad serial number");
	if (der_expect(&tbs, DER_SEQUENCE, &e) != 0)
		FAIL(MTLS_ERR_INVALID, "bad signature algorithm");
	sig_alg_name(&e, id->sig_alg, sizeof(id->sig_alg));
	if (der_expect(&tbs, DER_SEQUENCE, &issuer) != 0 ||
	    (rc = parse_name(&issuer, &id->issuer)) != 0)
		FAIL(rc ? rc : MTLS_ERR_INVALID, "bad issuer name");
	if (der_expect(&tbs, DER_SEQUENCE, &validity) != 0)
		FAIL(MTLS_ERR_INVALID, "bad validity");
	val = validity.content;
	if (der_next(&val, &nb) != 0 || der_next(&val, &na) != 0 ||
	    der_time(&nb, &id->not_before) != 0 ||
	    der_time(&na, &id->not_after) != 0)
		FAIL(MTLS_ERR_INVALID, "bad validity dates");
	if (der_expect(&tbs, DER_SEQUENCE, &subject) != 0 ||
	    (rc = parse_name(&subject, &id->subject)) != 0)
		FAIL(rc ? rc : MTLS_ERR_INVALID, "bad subject name");
	if (der_expect(&tbs, DER_SEQUENCE, &spki) != 0)
		FAIL(MTLS_ERR_INVALID, "bad subject public key info");
	key_alg_name(&spki, id->key_alg, sizeof(id->key_alg));
	while (tbs.len > 0) {
		if (der_next(&tbs, &e) != 0)
			FAIL(MTLS_ERR_INVALID, "bad certificate field");
		if (e.tag == 0xa3 && (rc = parse_extensions(id, &e)) != 0)
			FAIL(rc, "bad extensions");
	}
	if (wc_Sha256Hash(der, (word32)len, id->cert_sha256) != 0 ||
	    wc_Sha256Hash(spki.whole.p, (word32)spki.whole.len,
	    id->spki_sha256) != 0)
		FAIL(MTLS_ERR_TLS, "sha256 failed");
	return 0;
fail:
	identity_free(id);
	return rc;
}

void
identity_free(struct identity *id)
{
	name_free(&id->subject);
	name_free(&id->issuer);
	bytes_list_free(&id->san_email);
	bytes_list_free(&id->san_dns);
	bytes_list_free(&id->san_uri);
	memset(id, 0, sizeof(*id));
}

void
identity_fingerprint_text(const unsigned char digest[IDENTITY_SHA256_LEN],
    char out[IDENTITY_FPR_TEXT])
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < IDENTITY_SHA256_LEN; i++) {
		out[i * 3] = hex[digest[i] >> 4];
		out[i * 3 + 1] = hex[digest[i] & 0xf];
		out[i * 3 + 2] = i + 1 < IDENTITY_SHA256_LEN ? ':' : '\0';
	}
}

void
identity_time_text(time_t t, char *out, size_t size)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, size, "%lld", (long long)t);
}
