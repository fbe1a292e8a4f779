/*
 * test_identity.c: the identity record (common/identity.c) and the DER
 * reader under it (common/der.c).
 *
 * The fixtures come from the test PKI (tests/pki/mkpki.py, directory in
 * MTLS_TEST_PKI).  Each odd-*.der must give exactly the subject bytes of
 * its odd-*.expect, written by hand there, so a wrong escaper cannot agree
 * with itself.  Hashes are checked against the openssl command line, an
 * independent implementation.  The DER reader is fed every truncation of a
 * real certificate and a few thousand bit flips, which ASan builds watch.
 */
#include <sys/types.h>

#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/CUnit.h>

#include "bytes.h"
#include "der.h"
#include "error.h"
#include "identity.h"
#include "unit.h"

#define ROOT_NAME	"CN=mtls-pam Test Root CA,O=mtls-pam tests"

/* A failed assertion with a formatted message (CUnit copies the text). */
#define FAILF(...)	failf(__LINE__, __VA_ARGS__)

static void failf(unsigned int, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
failf(unsigned int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	CU_assertImplementation(CU_FALSE, line, msg, __FILE__, "", CU_FALSE);
}

/* The PKI directory, or NULL after recording a failure. */
static const char *
pki_dir(void)
{
	const char *dir = unit_pki_dir();

	if (dir == NULL || *dir == '\0') {
		CU_FAIL("MTLS_TEST_PKI not set: run through make check");
		return NULL;
	}
	/* The directory is put into shell commands in single quotes. */
	if (strchr(dir, '\'') != NULL) {
		CU_FAIL("MTLS_TEST_PKI must not contain a single quote");
		return NULL;
	}
	return dir;
}

/* Read a whole file; the buffer gets one extra NUL.  NULL on error. */
static unsigned char *
read_all(const char *path, size_t *lenp)
{
	FILE *f;
	unsigned char *p = NULL, *np;
	size_t len = 0, cap = 0, n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			if ((np = realloc(p, cap + 1)) == NULL) {
				free(p);
				fclose(f);
				return NULL;
			}
			p = np;
		}
		n = fread(p + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		free(p);
		fclose(f);
		return NULL;
	}
	fclose(f);
	p[len] = '\0';
	*lenp = len;
	return p;
}

/* Read PKI file name; records a failure naming the file when missing. */
static unsigned char *
pki_file(const char *name, size_t *lenp)
{
	const char *dir;
	char path[4096];
	unsigned char *p;

	if ((dir = pki_dir()) == NULL)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((p = read_all(path, lenp)) == NULL)
		FAILF("cannot read %s (regenerate with tests/pki/mkpki.py)",
		    path);
	return p;
}

/* Read a one-line PKI text file without its trailing newline. */
static char *
pki_line(const char *name)
{
	unsigned char *p;
	size_t len;

	if ((p = pki_file(name, &len)) == NULL)
		return NULL;
	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		p[--len] = '\0';
	return (char *)p;
}

/* The DER of PKI certificate NAME.crt (read by x509_pem_read). */
static unsigned char *
pki_cert(const char *name, size_t *lenp)
{
	char path[512];
	unsigned char *der;

	if (pki_dir() == NULL)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s.crt", pki_dir(), name);
	if ((der = unit_pem_cert(path, lenp)) == NULL)
		FAILF("%s.crt: no PEM certificate", name);
	return der;
}

/* Run a shell command, collecting up to size - 1 bytes of its output. */
static ssize_t
run_cmd(const char *cmd, char *out, size_t size)
{
	FILE *f;
	size_t len = 0, n;
	int status;

	if ((f = popen(cmd, "r")) == NULL)
		return -1;
	while (len + 1 < size && (n = fread(out + len, 1, size - 1 - len,
	    f)) > 0)
		len += n;
	out[len] = '\0';
	status = pclose(f);
	if (status != 0)
		return -1;
	return (ssize_t)len;
}

/* Print bytes with C escapes, for failure output. */
static void
dump(const char *label, const unsigned char *p, size_t len)
{
	size_t i;

	fprintf(stderr, "  %s (%zu bytes): ", label, len);
	for (i = 0; i < len; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
			fputc(p[i], stderr);
		else
			fprintf(stderr, "\\x%02x", p[i]);
	}
	fputc('\n', stderr);
}

/* True when the byte string is exactly (want, wantlen); dumps if not. */
static int
bytes_is(const struct mtls_bytes *b, const void *want, size_t wantlen,
    const char *what)
{
	if (b->data != NULL && b->len == wantlen &&
	    memcmp(b->data, want, wantlen) == 0 && b->data[b->len] == '\0')
		return 1;
	fprintf(stderr, "\n%s differs\n", what);
	dump("want", want, wantlen);
	if (b->data != NULL)
		dump("got", b->data, b->len);
	else
		fprintf(stderr, "  got NULL\n");
	return 0;
}

/* The first attribute of type in name, or NULL. */
static const struct identity_attr *
find_attr(const struct identity_name *n, const char *type)
{
	size_t i;

	for (i = 0; i < n->count; i++)
		if (strcmp(n->attrs[i].type, type) == 0)
			return &n->attrs[i];
	return NULL;
}

/*
 * Parse odd-NAME.der and compare its subject with odd-NAME.expect byte
 * for byte.  Returns 0 with id filled (caller frees) when it parsed.
 */
static int
odd_load(const char *nm, struct identity *id)
{
	char file[256], err[256] = "";
	unsigned char *der, *expect;
	size_t derlen, explen;
	int rc;

	memset(id, 0, sizeof(*id));
	snprintf(file, sizeof(file), "odd-%s.der", nm);
	if ((der = pki_file(file, &derlen)) == NULL)
		return -1;
	snprintf(file, sizeof(file), "odd-%s.expect", nm);
	if ((expect = pki_file(file, &explen)) == NULL) {
		free(der);
		return -1;
	}
	rc = identity_from_der(id, der, derlen, err, sizeof(err));
	free(der);
	if (rc != 0) {
		FAILF("odd-%s.der: identity_from_der: %d (%s)", nm, rc, err);
		free(expect);
		return -1;
	}
	CU_ASSERT_EQUAL(id->subject.rfc4514.len, explen);
	CU_ASSERT_PTR_NOT_NULL(id->subject.rfc4514.data);
	if (!bytes_is(&id->subject.rfc4514, expect, explen, file))
		FAILF("odd-%s: subject differs from odd-%s.expect", nm, nm);
	CU_ASSERT_TRUE(bytes_equal_str(&id->issuer.rfc4514, ROOT_NAME));
	CU_ASSERT_TRUE(id->eku_client_auth);
	CU_ASSERT_FALSE(id->is_ca);
	free(expect);
	return 0;
}

static void
odd_simple(const char *nm)
{
	struct identity id;

	if (odd_load(nm, &id) == 0)
		identity_free(&id);
}

/* Check the one CN attribute of fixture nm holds exactly (v, len). */
static void
odd_cn(const char *nm, const char *v, size_t len)
{
	const struct identity_attr *a;
	struct identity id;

	if (odd_load(nm, &id) != 0)
		return;
	CU_ASSERT_EQUAL(id.subject.count, 1);
	a = find_attr(&id.subject, "CN");
	CU_ASSERT_PTR_NOT_NULL(a);
	if (a != NULL) {
		CU_ASSERT_FALSE(a->hex_form);
		CU_ASSERT_TRUE(bytes_is(&a->value, v, len, nm));
	}
	identity_free(&id);
}

/* One test per fixture whose subject is a single CN; sizeof keeps NULs. */
#define ODD_CN(fn, nm, v)						\
static void								\
fn(void)								\
{									\
	odd_cn(nm, v, sizeof(v) - 1);					\
}

ODD_CN(test_odd_comma, "comma", "Doe, John")
ODD_CN(test_odd_plus, "plus", "a+b")
ODD_CN(test_odd_quotes, "quotes", "say \"hi\"")
ODD_CN(test_odd_backslash, "backslash", "back\\slash")
ODD_CN(test_odd_specials, "specials", "a;b<c>d=e")
ODD_CN(test_odd_hash, "hash", "#hash")
ODD_CN(test_odd_inner_hash, "inner-hash", "a#b")
ODD_CN(test_odd_spaces, "spaces", " padded ")
ODD_CN(test_odd_inner_spaces, "inner-spaces", "a  b")
ODD_CN(test_odd_newline, "newline", "line1\nline2")
ODD_CN(test_odd_control, "control", "a\x01" "b\x1f" "c\x7f" "d\te")
ODD_CN(test_odd_badutf8, "badutf8", "bad-\xff\xfe\xc3(")
ODD_CN(test_odd_overlong, "overlong", "x\xc0\xafy\xed\xa0\x80z\xe2\x82")

static void
test_odd_nul(void)
{
	const struct identity_attr *a;
	struct identity id;

	if (odd_load("nul", &id) != 0)
		return;
	a = find_attr(&id.subject, "CN");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	/* Never cut at the NUL: all 11 bytes, then the extra terminator. */
	CU_ASSERT_EQUAL(a->value.len, 11);
	CU_ASSERT_TRUE(bytes_is(&a->value, "alice\0.evil", 11, "nul CN"));
	CU_ASSERT_FALSE(bytes_equal_str(&a->value, "alice"));
	CU_ASSERT_TRUE(bytes_has_control(&a->value));
	/* The escaped subject has no raw NUL left. */
	CU_ASSERT_PTR_NULL(memchr(id.subject.rfc4514.data, '\0',
	    id.subject.rfc4514.len));
	identity_free(&id);
}

static void
test_odd_utf8(void)
{
	const struct identity_attr *a;
	struct identity id;

	if (odd_load("utf8", &id) != 0)
		return;
	CU_ASSERT_EQUAL(id.subject.count, 2);
	a = find_attr(&id.subject, "CN");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_TRUE(bytes_is(&a->value, "J\xc3\xbcrgen", 7, "utf8 CN"));
	a = find_attr(&id.subject, "O");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_TRUE(bytes_is(&a->value, "\xe6\x97\xa5\xe6\x9c\xac", 6,
	    "utf8 O"));
	identity_free(&id);
}

static void
test_odd_multi(void)
{
	struct identity id;

	if (odd_load("multi", &id) != 0)
		return;
	/* Certificate order: O=x first, then the RDN CN=a+UID=b. */
	CU_ASSERT_EQUAL_FATAL(id.subject.count, 3);
	CU_ASSERT_STRING_EQUAL(id.subject.attrs[0].type, "O");
	CU_ASSERT_TRUE(bytes_equal_str(&id.subject.attrs[0].value, "x"));
	CU_ASSERT_STRING_EQUAL(id.subject.attrs[1].type, "CN");
	CU_ASSERT_TRUE(bytes_equal_str(&id.subject.attrs[1].value, "a"));
	CU_ASSERT_STRING_EQUAL(id.subject.attrs[2].type, "UID");
	CU_ASSERT_TRUE(bytes_equal_str(&id.subject.attrs[2].value, "b"));
	identity_free(&id);
}

static void
test_odd_email(void)
{
	const struct identity_attr *a;
	struct identity id;

	if (odd_load("email", &id) != 0)
		return;
	a = find_attr(&id.subject, "emailAddress");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_TRUE(bytes_equal_str(&a->value, "dave@corp.example"));
	a = find_attr(&id.subject, "CN");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_TRUE(bytes_equal_str(&a->value, "dave"));
	/* An emailAddress attribute is not a SAN. */
	CU_ASSERT_EQUAL(id.san_email.count, 0);
	identity_free(&id);
}

static void
test_odd_types(void)
{
	struct identity id;

	if (odd_load("types", &id) != 0)
		return;
	CU_ASSERT_EQUAL_FATAL(id.subject.count, 16);
	/* Certificate order is the reverse of the printed order. */
	CU_ASSERT_STRING_EQUAL(id.subject.attrs[0].type, "CN");
	CU_ASSERT_TRUE(bytes_equal_str(&id.subject.attrs[0].value, "ann"));
	CU_ASSERT_STRING_EQUAL(id.subject.attrs[1].type, "1.2.3.4.5");
	CU_ASSERT_STRING_EQUAL(id.subject.attrs[15].type, "C");
	CU_ASSERT_TRUE(bytes_equal_str(&id.subject.attrs[15].value, "DE"));
	CU_ASSERT_STRING_EQUAL(id.subject.attrs[2].type, "emailAddress");
	CU_ASSERT_STRING_EQUAL(id.subject.attrs[6].type, "serialNumber");
	CU_ASSERT_STRING_EQUAL(id.subject.attrs[7].type, "UID");
	CU_ASSERT_STRING_EQUAL(id.subject.attrs[8].type, "DC");
	CU_ASSERT_TRUE(bytes_equal_str(&id.subject.attrs[8].value, "org"));
	CU_ASSERT_STRING_EQUAL(id.subject.attrs[9].type, "DC");
	CU_ASSERT_TRUE(bytes_equal_str(&id.subject.attrs[9].value,
	    "example"));
	identity_free(&id);
}

/* odd-sans.der: SAN lists equal odd-sans.san, in order. */
static void
test_odd_sans(void)
{
	struct mtls_bytes_list want_email = { NULL, 0 }, want_dns = { NULL, 0 },
	    want_uri = { NULL, 0 }, *l;
	struct identity id;
	char *text, *line, *next, *eq;
	size_t len, i;

	if ((text = (char *)pki_file("odd-sans.san", &len)) == NULL)
		return;
	for (line = text; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((eq = strchr(line, '=')) == NULL) {
			FAILF("odd-sans.san: bad line \"%s\"", line);
			continue;
		}
		*eq++ = '\0';
		if (strcmp(line, "san_email") == 0)
			l = &want_email;
		else if (strcmp(line, "san_dns") == 0)
			l = &want_dns;
		else if (strcmp(line, "san_uri") == 0)
			l = &want_uri;
		else {
			FAILF("odd-sans.san: unknown kind \"%s\"", line);
			continue;
		}
		CU_ASSERT_EQUAL_FATAL(bytes_list_add(l, eq, strlen(eq)), 0);
	}
	free(text);
	/* The file itself is what the fixture promises. */
	CU_ASSERT_EQUAL(want_email.count, 2);
	CU_ASSERT_EQUAL(want_dns.count, 2);
	CU_ASSERT_EQUAL(want_uri.count, 1);

	if (odd_load("sans", &id) == 0) {
		CU_ASSERT_EQUAL(id.san_email.count, want_email.count);
		CU_ASSERT_EQUAL(id.san_dns.count, want_dns.count);
		CU_ASSERT_EQUAL(id.san_uri.count, want_uri.count);
		for (i = 0; i < want_email.count && i < id.san_email.count; i++)
			CU_ASSERT_TRUE(bytes_is(&id.san_email.items[i],
			    want_email.items[i].data, want_email.items[i].len,
			    "san_email"));
		for (i = 0; i < want_dns.count && i < id.san_dns.count; i++)
			CU_ASSERT_TRUE(bytes_is(&id.san_dns.items[i],
			    want_dns.items[i].data, want_dns.items[i].len,
			    "san_dns"));
		for (i = 0; i < want_uri.count && i < id.san_uri.count; i++)
			CU_ASSERT_TRUE(bytes_is(&id.san_uri.items[i],
			    want_uri.items[i].data, want_uri.items[i].len,
			    "san_uri"));
		if (id.san_email.count == 2)
			CU_ASSERT_TRUE(bytes_equal_str(&id.san_email.items[0],
			    "first@corp.example"));
		identity_free(&id);
	}
	bytes_list_free(&want_email);
	bytes_list_free(&want_dns);
	bytes_list_free(&want_uri);
}

/* Every odd-*.der in the PKI, so a new fixture cannot go unchecked. */
static void
test_odd_all(void)
{
	const char *dir;
	struct dirent *de;
	DIR *d;
	char nm[256];
	size_t n, seen = 0;

	if ((dir = pki_dir()) == NULL)
		return;
	if ((d = opendir(dir)) == NULL) {
		FAILF("cannot open %s", dir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (strncmp(de->d_name, "odd-", 4) != 0 || n < 9 ||
		    strcmp(de->d_name + n - 4, ".der") != 0 ||
		    n - 8 >= sizeof(nm))
			continue;
		memcpy(nm, de->d_name + 4, n - 8);
		nm[n - 8] = '\0';
		odd_simple(nm);
		seen++;
	}
	closedir(d);
	/* 16 ODD + 2 raw + sans, as mkpki.py writes them. */
	CU_ASSERT_TRUE(seen >= 19);
	if (seen < 19)
		FAILF("only %zu odd-*.der fixtures in %s", seen, dir);
}

/* --- the PKI leaves --- */

/* Parse certificate NAME.crt; 0 with id filled, or -1 (failure noted). */
static int
cert_load(const char *name, struct identity *id)
{
	unsigned char *der;
	size_t len;
	char err[256] = "";
	int rc;

	memset(id, 0, sizeof(*id));
	if ((der = pki_cert(name, &len)) == NULL)
		return -1;
	rc = identity_from_der(id, der, len, err, sizeof(err));
	free(der);
	if (rc != 0) {
		FAILF("%s.crt: identity_from_der: %d (%s)", name, rc, err);
		return -1;
	}
	return 0;
}

/* Seconds since the epoch of openssl's "notBefore=Nov 22 16:47:28 2026 GMT". */
static int
openssl_date(const char *name, const char *which, time_t *out)
{
	char cmd[4400], line[256], *p;
	struct tm tm;

	snprintf(cmd, sizeof(cmd), "openssl x509 -in '%s/%s.crt' -noout -%s",
	    pki_dir(), name, which);
	if (run_cmd(cmd, line, sizeof(line)) <= 0 ||
	    (p = strchr(line, '=')) == NULL)
		return -1;
	memset(&tm, 0, sizeof(tm));
	p = strptime(p + 1, "%b %d %H:%M:%S %Y GMT", &tm);
	if (p == NULL)
		return -1;
	*out = timegm(&tm);
	return 0;
}

static void
test_alice(void)
{
	struct identity id;
	char *serial, *subject, fpr[IDENTITY_FPR_TEXT], cmd[4400], out[512];
	char hex[2 * IDENTITY_SHA256_LEN + 1];
	unsigned char *der = NULL, *oder = NULL;
	size_t len, i;
	ssize_t n;
	time_t now = time(NULL), t;
	const char *dir;

	if ((dir = pki_dir()) == NULL)
		return;
	serial = pki_line("alice.serial");
	subject = pki_line("alice.subject");
	if (serial == NULL || subject == NULL || cert_load("alice", &id) != 0)
		goto done;

	CU_ASSERT_STRING_EQUAL(id.serial, serial);
	CU_ASSERT_TRUE(bytes_equal_str(&id.subject.rfc4514, subject));
	CU_ASSERT_TRUE(bytes_equal_str(&id.issuer.rfc4514, ROOT_NAME));
	CU_ASSERT_EQUAL(id.issuer.count, 2);
	CU_ASSERT_TRUE(id.has_eku);
	CU_ASSERT_TRUE(id.eku_client_auth);
	CU_ASSERT_FALSE(id.eku_server_auth);
	CU_ASSERT_FALSE(id.eku_any);
	CU_ASSERT_FALSE(id.is_ca);
	CU_ASSERT_EQUAL(id.san_email.count, 1);
	if (id.san_email.count == 1)
		CU_ASSERT_TRUE(bytes_equal_str(&id.san_email.items[0],
		    "alice@corp.example"));
	CU_ASSERT_EQUAL(id.san_dns.count, 0);
	CU_ASSERT_EQUAL(id.san_uri.count, 0);

	/* mkpki.py: valid from now - 1 day to now + 365 days. */
	CU_ASSERT_TRUE(id.not_before < now);
	CU_ASSERT_TRUE(now < id.not_after);
	CU_ASSERT_EQUAL(id.not_after - id.not_before, 366 * 86400);
	if (openssl_date("alice", "startdate", &t) == 0) {
		CU_ASSERT_EQUAL(id.not_before, t);
	} else {
		CU_FAIL("openssl x509 -startdate failed");
	}
	if (openssl_date("alice", "enddate", &t) == 0) {
		CU_ASSERT_EQUAL(id.not_after, t);
	} else {
		CU_FAIL("openssl x509 -enddate failed");
	}

	/* The C PEM decoder agrees with openssl's DER output. */
	der = pki_cert("alice", &len);
	oder = malloc(IDENTITY_DER_MAX);
	CU_ASSERT_PTR_NOT_NULL_FATAL(oder);
	snprintf(cmd, sizeof(cmd),
	    "openssl x509 -in '%s/alice.crt' -outform der", dir);
	n = run_cmd(cmd, (char *)oder, IDENTITY_DER_MAX);
	CU_ASSERT_TRUE(der != NULL && n > 0 && (size_t)n == len &&
	    memcmp(der, oder, len) == 0);

	/* cert_sha256 against openssl's fingerprint. */
	identity_fingerprint_text(id.cert_sha256, fpr);
	snprintf(cmd, sizeof(cmd), "openssl x509 -in '%s/alice.crt' -noout "
	    "-fingerprint -sha256", dir);
	if (run_cmd(cmd, out, sizeof(out)) <= 0 ||
	    strchr(out, '=') == NULL) {
		CU_FAIL("openssl x509 -fingerprint failed");
	} else {
		char *f = strchr(out, '=') + 1;

		f[strcspn(f, "\r\n")] = '\0';
		CU_ASSERT_STRING_EQUAL(fpr, f);
		if (strcmp(fpr, f) != 0)
			fprintf(stderr, "\ncert_sha256 %s, openssl %s\n", fpr,
			    f);
	}

	/* spki_sha256 against the hash of openssl's DER public key. */
	for (i = 0; i < IDENTITY_SHA256_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", id.spki_sha256[i]);
	snprintf(cmd, sizeof(cmd), "openssl x509 -in '%s/alice.crt' -noout "
	    "-pubkey | openssl pkey -pubin -outform der | "
	    "openssl dgst -sha256 -r", dir);
	if (run_cmd(cmd, out, sizeof(out)) < 64) {
		CU_FAIL("openssl pkey | dgst failed");
	} else {
		out[64] = '\0';
		CU_ASSERT_STRING_EQUAL(hex, out);
		if (strcmp(hex, out) != 0)
			fprintf(stderr, "\nspki_sha256 %s, openssl %s\n", hex,
			    out);
	}
	/* The two digests are of different things. */
	CU_ASSERT_NOT_EQUAL(memcmp(id.cert_sha256, id.spki_sha256,
	    IDENTITY_SHA256_LEN), 0);
	identity_free(&id);
done:
	free(der);
	free(oder);
	free(serial);
	free(subject);
}

/* Every client leaf: serial and subject as NAME.serial / NAME.subject. */
static void
test_leaves(void)
{
	static const struct {
		const char	*name;
		const char	*issuer;
	} leaves[] = {
		{ "alice", ROOT_NAME },
		{ "bob", ROOT_NAME },
		{ "carol", "CN=mtls-pam Test Intermediate CA" },
		{ "deep", "CN=Deep CA 5" },
		{ "expired", ROOT_NAME },
		{ "notyet", ROOT_NAME },
		{ "serverauth", ROOT_NAME },
		{ "untrusted", "CN=Other CA" },
	};
	struct identity id;
	char file[64], *serial, *subject;
	time_t now = time(NULL);
	size_t i;

	if (pki_dir() == NULL)
		return;
	for (i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
		snprintf(file, sizeof(file), "%s.serial", leaves[i].name);
		serial = pki_line(file);
		snprintf(file, sizeof(file), "%s.subject", leaves[i].name);
		subject = pki_line(file);
		if (serial != NULL && subject != NULL &&
		    cert_load(leaves[i].name, &id) == 0) {
			CU_ASSERT_STRING_EQUAL(id.serial, serial);
			CU_ASSERT_TRUE(bytes_equal_str(&id.subject.rfc4514,
			    subject));
			CU_ASSERT_TRUE(bytes_equal_str(&id.issuer.rfc4514,
			    leaves[i].issuer));
			CU_ASSERT_FALSE(id.is_ca);
			CU_ASSERT_TRUE(id.not_before < id.not_after);
			if (strcmp(leaves[i].name, "expired") == 0)
				CU_ASSERT_TRUE(id.not_after < now);
			if (strcmp(leaves[i].name, "notyet") == 0)
				CU_ASSERT_TRUE(id.not_before > now);
			identity_free(&id);
		}
		free(serial);
		free(subject);
	}
}

static void
test_serverauth(void)
{
	struct identity id;

	if (cert_load("serverauth", &id) != 0)
		return;
	CU_ASSERT_TRUE(id.has_eku);
	CU_ASSERT_TRUE(id.eku_server_auth);
	CU_ASSERT_FALSE(id.eku_client_auth);
	CU_ASSERT_FALSE(id.is_ca);
	identity_free(&id);

	/* The server's IP SANs are skipped, its DNS name kept. */
	if (cert_load("server", &id) != 0)
		return;
	CU_ASSERT_TRUE(id.eku_server_auth);
	CU_ASSERT_EQUAL(id.san_dns.count, 1);
	if (id.san_dns.count == 1)
		CU_ASSERT_TRUE(bytes_equal_str(&id.san_dns.items[0],
		    "localhost"));
	identity_free(&id);
}

static void
test_ca(void)
{
	struct identity id;

	if (cert_load("ca", &id) != 0)
		return;
	CU_ASSERT_TRUE(id.is_ca);
	CU_ASSERT_FALSE(id.has_eku);
	CU_ASSERT_FALSE(id.eku_client_auth);
	CU_ASSERT_TRUE(bytes_equal_str(&id.subject.rfc4514, ROOT_NAME));
	CU_ASSERT_TRUE(bytes_equal_str(&id.issuer.rfc4514, ROOT_NAME));
	identity_free(&id);

	if (cert_load("inter", &id) != 0)
		return;
	CU_ASSERT_TRUE(id.is_ca);
	identity_free(&id);
}

/* --- rejections --- */

/* Parse a private copy of exactly len bytes, so ASan sees any over-read. */
static int
parse_copy(const unsigned char *p, size_t len, char *err, size_t errlen)
{
	struct identity id;
	unsigned char *copy;
	int rc;

	if ((copy = malloc(len ? len : 1)) == NULL)
		return MTLS_ERR_NOMEM;
	if (len > 0)
		memcpy(copy, p, len);
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	memset(&id, 0xa5, sizeof(id));
	rc = identity_from_der(&id, copy, len, err, errlen);
	if (rc == 0)
		identity_free(&id);
	else if (id.subject.rfc4514.data != NULL ||
	    id.subject.attrs != NULL || id.san_email.items != NULL)
		rc = 1;		/* a failure must leave nothing behind */
	free(copy);
	return rc;
}

static void
test_reject(void)
{
	unsigned char *der, *buf;
	struct der in;
	struct der_elem e;
	size_t len, i, hdr, bad = 0;
	char err[256];
	int rc;

	/* Empty input. */
	err[0] = '\0';
	CU_ASSERT_EQUAL(parse_copy((const unsigned char *)"", 0, err,
	    sizeof(err)), MTLS_ERR_INVALID);
	CU_ASSERT_NOT_EQUAL(err[0], '\0');
	/* A NULL err buffer is allowed. */
	CU_ASSERT_EQUAL(parse_copy((const unsigned char *)"\x30\x00", 2, NULL,
	    0), MTLS_ERR_INVALID);

	if ((der = pki_cert("alice", &len)) == NULL)
		return;
	CU_ASSERT_EQUAL_FATAL(parse_copy(der, len, err, sizeof(err)), 0);

	/* Every truncation fails cleanly. */
	for (i = 0; i < len; i++) {
		rc = parse_copy(der, i, err, sizeof(err));
		if (rc >= 0 || err[0] == '\0') {
			if (bad++ == 0)
				FAILF("prefix of %zu bytes: rc %d", i, rc);
		}
	}
	CU_ASSERT_EQUAL(bad, 0);

	buf = malloc(len + 16);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);

	/* A trailing extra byte. */
	memcpy(buf, der, len);
	buf[len] = 0x00;
	CU_ASSERT_EQUAL(parse_copy(buf, len + 1, err, sizeof(err)),
	    MTLS_ERR_INVALID);
	buf[len] = 0x30;
	CU_ASSERT_EQUAL(parse_copy(buf, len + 1, err, sizeof(err)),
	    MTLS_ERR_INVALID);

	/* The same content under an indefinite length (BER, not DER). */
	in.p = der;
	in.len = len;
	CU_ASSERT_EQUAL_FATAL(der_next(&in, &e), 0);
	CU_ASSERT_EQUAL_FATAL(in.len, 0);
	hdr = e.whole.len - e.content.len;
	buf[0] = 0x30;
	buf[1] = 0x80;
	memcpy(buf + 2, e.content.p, e.content.len);
	buf[2 + e.content.len] = 0;
	buf[3 + e.content.len] = 0;
	CU_ASSERT_EQUAL(parse_copy(buf, e.content.len + 4, err, sizeof(err)),
	    MTLS_ERR_INVALID);

	/* The same content with a 5-byte length. */
	buf[0] = 0x30;
	buf[1] = 0x85;
	buf[2] = buf[3] = buf[4] = 0;
	buf[5] = (unsigned char)(e.content.len >> 8);
	buf[6] = (unsigned char)e.content.len;
	memcpy(buf + 7, e.content.p, e.content.len);
	CU_ASSERT_EQUAL(parse_copy(buf, e.content.len + 7, err, sizeof(err)),
	    MTLS_ERR_INVALID);

	/* An outer length one byte longer than the data. */
	memcpy(buf, der, len);
	CU_ASSERT_EQUAL_FATAL(hdr, 4);		/* 30 82 HH LL */
	buf[3]++;
	CU_ASSERT_EQUAL(parse_copy(buf, len, err, sizeof(err)),
	    MTLS_ERR_INVALID);
	free(buf);

	/* Over IDENTITY_DER_MAX: too large, whatever the content. */
	buf = calloc(1, IDENTITY_DER_MAX + 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	memcpy(buf, der, len);
	err[0] = '\0';
	CU_ASSERT_EQUAL(parse_copy(buf, IDENTITY_DER_MAX + 1, err,
	    sizeof(err)), MTLS_ERR_TOO_LARGE);
	CU_ASSERT_NOT_EQUAL(err[0], '\0');
	/* At the limit it is only malformed (the trailing zeros). */
	CU_ASSERT_EQUAL(parse_copy(buf, IDENTITY_DER_MAX, err, sizeof(err)),
	    MTLS_ERR_INVALID);
	free(buf);

	/* A tiny err buffer is filled but not overrun. */
	{
		char small[4] = { 'x', 'x', 'x', 'x' };

		CU_ASSERT_EQUAL(parse_copy(der, 1, small, 3), MTLS_ERR_INVALID);
		CU_ASSERT_EQUAL(small[2], '\0');
		CU_ASSERT_EQUAL(small[3], 'x');
	}
	free(der);
}

/* A small fixed-seed generator, the same on every libc. */
static uint32_t
lcg(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void
test_bitflips(void)
{
	unsigned char *der, *buf;
	size_t len, pos;
	uint32_t seed = 20240611;
	char err[256];
	int i, j, flips, rc, ok = 0, failed = 0, bad = 0;

	if ((der = pki_cert("alice", &len)) == NULL)
		return;
	buf = malloc(len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	for (i = 0; i < 2000; i++) {
		memcpy(buf, der, len);
		flips = 1 + (int)(lcg(&seed) % 3);
		for (j = 0; j < flips; j++) {
			pos = lcg(&seed) % len;
			buf[pos] ^= (unsigned char)(1u << (lcg(&seed) % 8));
		}
		rc = parse_copy(buf, len, err, sizeof(err));
		if (rc == 0)
			ok++;
		else if (rc < 0 && err[0] != '\0' &&
		    strlen(err) < sizeof(err))
			failed++;
		else if (bad++ == 0)
			FAILF("bit flip iteration %d: rc %d err \"%s\"", i, rc,
			    err);
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(ok + failed, 2000);
	/* Flips in the structure are caught, flips in the key are not. */
	CU_ASSERT_TRUE(failed > 0);
	CU_ASSERT_TRUE(ok > 0);
	free(buf);
	free(der);
}

static void
test_free_zeroed(void)
{
	struct identity id;

	memset(&id, 0, sizeof(id));
	identity_free(&id);
	identity_free(&id);
	CU_ASSERT_PTR_NULL(id.subject.attrs);
	CU_ASSERT_PTR_NULL(id.subject.rfc4514.data);
	CU_ASSERT_EQUAL(id.san_dns.count, 0);

	/* A failed parse leaves a struct that can be freed. */
	memset(&id, 0x5a, sizeof(id));
	CU_ASSERT_TRUE(identity_from_der(&id, (const unsigned char *)"\x30",
	    1, NULL, 0) < 0);
	identity_free(&id);
	CU_ASSERT_PTR_NULL(id.subject.attrs);
}

/* --- der.c --- */

static int
oid_text(const void *p, size_t len, char *out, size_t size)
{
	struct der oid = { p, len };

	return der_oid_text(&oid, out, size);
}

static void
test_der_oid(void)
{
	static const uint8_t email[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
	    0x01, 0x09, 0x01 };
	static const uint8_t eku_any[] = { 0x55, 0x1d, 0x25, 0x00 };
	static const uint8_t big_first[] = { 0x88, 0x37 };
	static const uint8_t dangling[] = { 0x2a, 0x86 };
	static const uint8_t huge[] = { 0x81, 0x81, 0x81, 0x81, 0x81, 0x81,
	    0x81, 0x81, 0x81, 0x81, 0x01 };
	struct der oid = { email, sizeof(email) };
	char out[128];

	memset(out, 0, sizeof(out));
	CU_ASSERT_EQUAL(oid_text(email, sizeof(email), out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "1.2.840.113549.1.9.1");
	CU_ASSERT_EQUAL(oid_text(eku_any, sizeof(eku_any), out, sizeof(out)),
	    0);
	CU_ASSERT_STRING_EQUAL(out, "2.5.29.37.0");
	/* First arcs beyond 2.39 (X.690 8.19.4). */
	CU_ASSERT_EQUAL(oid_text(big_first, sizeof(big_first), out,
	    sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "2.999");

	/* Malformed: empty, a dangling continuation, a 64-bit overflow. */
	CU_ASSERT_EQUAL(oid_text(email, 0, out, sizeof(out)),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(oid_text(dangling, sizeof(dangling), out,
	    sizeof(out)), MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(oid_text(email, 2, out, sizeof(out)),
	    MTLS_ERR_INVALID);
	CU_ASSERT_EQUAL(oid_text(huge, sizeof(huge), out, sizeof(out)),
	    MTLS_ERR_INVALID);
	/* Too small an output: an error, and no overrun. */
	memset(out, 'x', sizeof(out));
	CU_ASSERT_EQUAL(oid_text(email, sizeof(email), out, 8),
	    MTLS_ERR_TOO_LARGE);
	CU_ASSERT_EQUAL(out[8], 'x');
	CU_ASSERT_TRUE(memchr(out, '\0', 8) != NULL);
	CU_ASSERT_TRUE(oid_text(email, sizeof(email), out, 0) < 0);

	CU_ASSERT_TRUE(der_oid_is(&oid, email, sizeof(email)));
	CU_ASSERT_FALSE(der_oid_is(&oid, email, sizeof(email) - 1));
	CU_ASSERT_FALSE(der_oid_is(&oid, eku_any, sizeof(eku_any)));
}

static void
test_der_next(void)
{
	static const uint8_t intg[] = { 0x02, 0x01, 0x05, 0x04, 0x00 };
	static const uint8_t indef[] = { 0x30, 0x80, 0x00, 0x00 };
	static const uint8_t len5[] = { 0x04, 0x85, 0x00, 0x00, 0x00, 0x00,
	    0x01, 0x41 };
	static const uint8_t len4_big[] = { 0x04, 0x84, 0xff, 0xff, 0xff, 0xff,
	    0x00 };
	static const uint8_t len_short[] = { 0x04, 0x05, 0x41 };
	static const uint8_t hdr_short[] = { 0x04, 0x82, 0x01 };
	static const uint8_t high_tag[] = { 0x1f, 0x01, 0x00 };
	/* Non-minimal lengths: DER allows one encoding per value. */
	static const uint8_t long_small[] = { 0x04, 0x81, 0x01, 0x41 };
	static const uint8_t long_zero_lead[] = { 0x04, 0x82, 0x00, 0x81,
	    0x41 };
	uint8_t longform[3 + 128];
	struct der in;
	struct der_elem e;

	in.p = intg;
	in.len = sizeof(intg);
	CU_ASSERT_TRUE(der_peek(&in, DER_INTEGER));
	CU_ASSERT_FALSE(der_peek(&in, DER_SEQUENCE));
	CU_ASSERT_EQUAL_FATAL(der_next(&in, &e), 0);
	CU_ASSERT_EQUAL(e.tag, DER_INTEGER);
	CU_ASSERT_EQUAL(e.content.len, 1);
	CU_ASSERT_EQUAL(e.content.p[0], 0x05);
	CU_ASSERT_PTR_EQUAL(e.whole.p, intg);
	CU_ASSERT_EQUAL(e.whole.len, 3);
	CU_ASSERT_EQUAL(in.len, 2);
	/* der_expect refuses another tag; an empty element is fine. */
	{
		struct der save = in;

		CU_ASSERT_EQUAL(der_expect(&in, DER_INTEGER, &e),
		    MTLS_ERR_INVALID);
		in = save;
	}
	CU_ASSERT_EQUAL_FATAL(der_expect(&in, DER_OCTET_STRING, &e), 0);
	CU_ASSERT_EQUAL(e.content.len, 0);
	CU_ASSERT_EQUAL(in.len, 0);
	CU_ASSERT_FALSE(der_peek(&in, DER_OCTET_STRING));
	CU_ASSERT_EQUAL(der_next(&in, &e), MTLS_ERR_INVALID);

	/* Long-form length. */
	longform[0] = DER_OCTET_STRING;
	longform[1] = 0x81;
	longform[2] = 0x80;
	memset(longform + 3, 'a', 128);
	in.p = longform;
	in.len = sizeof(longform);
	CU_ASSERT_EQUAL_FATAL(der_next(&in, &e), 0);
	CU_ASSERT_EQUAL(e.content.len, 128);
	CU_ASSERT_PTR_EQUAL(e.content.p, longform + 3);
	CU_ASSERT_EQUAL(in.len, 0);
	/* ... one byte short. */
	in.p = longform;
	in.len = sizeof(longform) - 1;
	CU_ASSERT_EQUAL(der_next(&in, &e), MTLS_ERR_INVALID);

#define BAD(a) do {							\
	in.p = (a);							\
	in.len = sizeof(a);						\
	CU_ASSERT_EQUAL(der_next(&in, &e), MTLS_ERR_INVALID);		\
} while (0)
	BAD(indef);
	BAD(long_small);
	BAD(long_zero_lead);
	BAD(len5);
	BAD(len4_big);
	BAD(len_short);
	BAD(hdr_short);
	BAD(high_tag);
#undef BAD
	in.p = intg;
	in.len = 1;
	CU_ASSERT_EQUAL(der_next(&in, &e), MTLS_ERR_INVALID);
}

/* --- text helpers --- */

static void
esc_check(const char *in, size_t len, const char *want)
{
	struct mtls_buf b;

	buf_init(&b, 0);
	CU_ASSERT_EQUAL(buf_append_str(&b, "CN="), 0);
	CU_ASSERT_EQUAL(identity_escape_rfc4514(&b,
	    (const unsigned char *)in, len), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b.data);
	CU_ASSERT_EQUAL(b.len, strlen(b.data));
	CU_ASSERT_STRING_EQUAL(b.data, want);
	if (strcmp(b.data, want) != 0) {
		fprintf(stderr, "\nescape:\n");
		dump("in", (const unsigned char *)in, len);
		dump("want", (const unsigned char *)want, strlen(want));
		dump("got", (const unsigned char *)b.data, b.len);
	}
	buf_free(&b);
}

static void
test_escape(void)
{
	struct mtls_buf b;

	esc_check("alice", 5, "CN=alice");
	esc_check("", 0, "CN=");
	esc_check("#a", 2, "CN=\\#a");
	esc_check("a#", 2, "CN=a#");
	esc_check("a ", 2, "CN=a\\ ");
	esc_check(" a", 2, "CN=\\ a");
	esc_check(" ", 1, "CN=\\ ");
	esc_check("a b", 3, "CN=a b");
	esc_check("=", 1, "CN==");
	esc_check(",+\";<>\\", 7, "CN=\\,\\+\\\"\\;\\<\\>\\\\");
	esc_check("a\0b", 3, "CN=a\\00b");
	esc_check("\x7f\x1b", 2, "CN=\\7F\\1B");
	/* Invalid UTF-8 is escaped byte by byte. */
	esc_check("\xff", 1, "CN=\\FF");
	esc_check("x\xc3", 2, "CN=x\\C3");
	esc_check("\xc3(", 2, "CN=\\C3(");
	esc_check("\x80", 1, "CN=\\80");
	esc_check("\xc0\xaf", 2, "CN=\\C0\\AF");
	esc_check("\xe0\x80\xaf", 3, "CN=\\E0\\80\\AF");
	esc_check("\xf0\x8f\xbf\xbf", 4, "CN=\\F0\\8F\\BF\\BF");
	esc_check("\xf4\x90\x80\x80", 4, "CN=\\F4\\90\\80\\80");
	esc_check("\xf0\x9f\x98", 3, "CN=\\F0\\9F\\98");
	/* A UTF-16 surrogate is not a character. */
	esc_check("\xed\xa0\x80", 3, "CN=\\ED\\A0\\80");
	esc_check("\xed\xbf\xbf", 3, "CN=\\ED\\BF\\BF");
	/* Valid UTF-8 passes through, up to 4-byte sequences. */
	esc_check("J\xc3\xbcrgen", 7, "CN=J\xc3\xbcrgen");
	esc_check("\xe6\x97\xa5", 3, "CN=\xe6\x97\xa5");
	esc_check("\xf0\x9f\x98\x80", 4, "CN=\xf0\x9f\x98\x80");
	esc_check("\xf4\x8f\xbf\xbf", 4, "CN=\xf4\x8f\xbf\xbf");
	esc_check("\xed\x9f\xbf", 3, "CN=\xed\x9f\xbf");

	/* A buffer limit is reported. */
	buf_init(&b, 4);
	CU_ASSERT_EQUAL(identity_escape_rfc4514(&b,
	    (const unsigned char *)"abcdefgh", 8), MTLS_ERR_TOO_LARGE);
	CU_ASSERT_TRUE(b.len <= 4);
	buf_free(&b);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void
test_fingerprint_text(void)
{
	unsigned char d[IDENTITY_SHA256_LEN];
	char out[IDENTITY_FPR_TEXT + 8];
	size_t i, bad = 0;

	CU_ASSERT_EQUAL(IDENTITY_FPR_TEXT, 96);
	for (i = 0; i < sizeof(d); i++)
		d[i] = (unsigned char)(i * 37 + 0xab);
	d[sizeof(d) - 1] = 0x0f;
	memset(out, 'x', sizeof(out));
	identity_fingerprint_text(d, out);
	CU_ASSERT_EQUAL(strlen(out), 95);
	CU_ASSERT_EQUAL(out[IDENTITY_FPR_TEXT], 'x');
	CU_ASSERT_EQUAL(strncmp(out, "AB:D0:F5:1A:", 12), 0);
	CU_ASSERT_STRING_EQUAL(out + 92, ":0F");
	for (i = 0; i < sizeof(d); i++) {
		if (hexval(out[3 * i]) < 0 || hexval(out[3 * i + 1]) < 0 ||
		    hexval(out[3 * i]) * 16 + hexval(out[3 * i + 1]) != d[i] ||
		    out[3 * i + 2] != (i + 1 < sizeof(d) ? ':' : '\0'))
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);

	memset(d, 0, sizeof(d));
	identity_fingerprint_text(d, out);
	CU_ASSERT_STRING_EQUAL(out, "00:00:00:00:00:00:00:00:00:00:00:00:"
	    "00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00");
}

static void
test_time_text(void)
{
	char out[64];

	identity_time_text(0, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "1970-01-01T00:00:00Z");
	identity_time_text(1795452448, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "2026-11-23T16:47:28Z");
	identity_time_text(951782400, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "2000-02-29T00:00:00Z");
	identity_time_text(2524608000, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "2050-01-01T00:00:00Z");
	identity_time_text(-1, out, sizeof(out));
	CU_ASSERT_STRING_EQUAL(out, "1969-12-31T23:59:59Z");
	/* A small buffer stays terminated. */
	memset(out, 'x', sizeof(out));
	identity_time_text(1795452448, out, 8);
	CU_ASSERT_TRUE(memchr(out, '\0', 8) != NULL);
	CU_ASSERT_EQUAL(out[8], 'x');
}

void
unit_register_identity(void)
{
	CU_pSuite s;

	s = CU_add_suite("identity", NULL, NULL);
	CU_add_test(s, "odd comma", test_odd_comma);
	CU_add_test(s, "odd plus", test_odd_plus);
	CU_add_test(s, "odd quotes", test_odd_quotes);
	CU_add_test(s, "odd backslash", test_odd_backslash);
	CU_add_test(s, "odd specials", test_odd_specials);
	CU_add_test(s, "odd hash", test_odd_hash);
	CU_add_test(s, "odd inner-hash", test_odd_inner_hash);
	CU_add_test(s, "odd spaces", test_odd_spaces);
	CU_add_test(s, "odd inner-spaces", test_odd_inner_spaces);
	CU_add_test(s, "odd utf8", test_odd_utf8);
	CU_add_test(s, "odd nul", test_odd_nul);
	CU_add_test(s, "odd newline", test_odd_newline);
	CU_add_test(s, "odd control", test_odd_control);
	CU_add_test(s, "odd multi", test_odd_multi);
	CU_add_test(s, "odd email", test_odd_email);
	CU_add_test(s, "odd types", test_odd_types);
	CU_add_test(s, "odd badutf8", test_odd_badutf8);
	CU_add_test(s, "odd overlong", test_odd_overlong);
	CU_add_test(s, "odd sans", test_odd_sans);
	CU_add_test(s, "every odd-*.der", test_odd_all);
	CU_add_test(s, "alice", test_alice);
	CU_add_test(s, "leaf serials and subjects", test_leaves);
	CU_add_test(s, "serverAuth EKU", test_serverauth);
	CU_add_test(s, "CA basicConstraints", test_ca);
	CU_add_test(s, "DER rejections", test_reject);
	CU_add_test(s, "bit flips", test_bitflips);
	CU_add_test(s, "free zeroed", test_free_zeroed);
	CU_add_test(s, "escape rfc4514", test_escape);
	CU_add_test(s, "fingerprint text", test_fingerprint_text);
	CU_add_test(s, "time text", test_time_text);

	s = CU_add_suite("der", NULL, NULL);
	CU_add_test(s, "der_next", test_der_next);
	CU_add_test(s, "der_oid_text", test_der_oid);
}
