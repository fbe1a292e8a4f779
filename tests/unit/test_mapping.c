/*
 * test_mapping.c: the certificate-to-account mapping engine
 * (common/mapping.c), table driven, on real certificates.
 *
 * Every case of the table names a certificate of the test PKI
 * (tests/pki/mkpki.py, directory in MTLS_TEST_PKI), the fingerprint of the
 * CA that issued it as mtlsd would pass it, a rule set built here and
 * compiled with mapping_rule_compile, an account policy whose lookup is a
 * fake user table, and what must come out: the accounts in order and, where
 * it matters, the kind of step (and words of the reason) each rule gave.
 * Each case is its own CUnit test, named after it.
 *
 * Besides the expected values, every evaluation is held to invariants that
 * hold whatever the rules: every rule leaves at least one step, there is
 * one "account" step per account and in the same order, every account
 * passed the policy, and no name that fails the username syntax is ever
 * handed to the user lookup (an LDAP directory may match case-insensitively
 * or worse).
 */
#include <sys/types.h>

#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "bytes.h"
#include "error.h"
#include "identity.h"
#include "mapping.h"
#include "unit.h"

/* A failed assertion with a formatted message (CUnit copies the text). */
#define MFAIL(...)	mfail(__LINE__, __VA_ARGS__)

static void mfail(unsigned int, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
mfail(unsigned int line, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	CU_assertImplementation(CU_FALSE, line, msg, __FILE__, "", CU_FALSE);
}

/* ------------------------------------------------------------ fixtures */

/* Read PKI file name whole (plus a NUL); NULL after recording why. */
static unsigned char *
pki_read(const char *name, size_t *lenp)
{
	const char *dir = unit_pki_dir();
	char path[4096];
	unsigned char *buf = NULL, *nbuf;
	size_t len = 0, cap = 0, got;
	FILE *f;

	if (dir == NULL || *dir == '\0') {
		MFAIL("MTLS_TEST_PKI is not set: make the test PKI with "
		    "\"python3 tests/pki/mkpki.py DIR\" and run with "
		    "MTLS_TEST_PKI=DIR (make check does both)");
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "rb")) == NULL) {
		MFAIL("cannot open %s (regenerate with tests/pki/mkpki.py)",
		    path);
		return NULL;
	}
	do {
		if (cap - len < 1024) {
			cap += 16384;
			if ((nbuf = realloc(buf, cap + 1)) == NULL) {
				free(buf);
				fclose(f);
				MFAIL("out of memory reading %s", path);
				return NULL;
			}
			buf = nbuf;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
	} while (got > 0);
	if (ferror(f)) {
		free(buf);
		fclose(f);
		MFAIL("error reading %s", path);
		return NULL;
	}
	fclose(f);
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

/* A one-line PKI text file without its line end; NULL after a failure. */
static char *
pki_text(const char *name)
{
	unsigned char *p;
	size_t len;

	if ((p = pki_read(name, &len)) == NULL)
		return NULL;
	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
		p[--len] = '\0';
	return (char *)p;
}

/*
 * Parse a PKI certificate into id: "NAME" reads NAME.crt (PEM),
 * "NAME.der" reads DER as is.  0, or -1 after recording a failure.
 */
static int
cert_identity(const char *name, struct identity *id)
{
	char file[512], err[256] = "";
	unsigned char *der;
	size_t derlen, nl = strlen(name);
	int rc;

	memset(id, 0, sizeof(*id));
	if (nl > 4 && strcmp(name + nl - 4, ".der") == 0) {
		if ((der = pki_read(name, &derlen)) == NULL)
			return -1;
	} else {
		snprintf(file, sizeof(file), "%s/%s.crt", unit_pki_dir(), name);
		if ((der = unit_pem_cert(file, &derlen)) == NULL) {
			MFAIL("%s: no PEM certificate in it", file);
			return -1;
		}
	}
	rc = identity_from_der(id, der, derlen, err, sizeof(err));
	free(der);
	if (rc != 0) {
		MFAIL("%s: identity_from_der: %d (%s)", name, rc, err);
		identity_free(id);
		return -1;
	}
	return 0;
}

/* SHA-256 of CA certificate name (what mtlsd passes as issuer_sha256). */
static int
ca_fingerprint(const char *name, unsigned char out[IDENTITY_SHA256_LEN])
{
	struct identity ca;

	if (cert_identity(name, &ca) != 0)
		return -1;
	memcpy(out, ca.cert_sha256, IDENTITY_SHA256_LEN);
	identity_free(&ca);
	return 0;
}

/* ------------------------------------------------------- fake accounts */

static const struct {
	const char	*name;
	uid_t		 uid;
} users[] = {
	{ "alice", 1001 },
	{ "bob", 1002 },
	{ "carol", 1003 },
	{ "erin", 1005 },
	{ "u1", 1010 },
	{ "dave", 1011 },
	{ "ann", 1014 },
	{ "alice2", 1020 },
	{ "svc-backup", 1500 },
	{ "dev", 2001 },
	{ "ops", 2002 },
	{ "corp.example", 3000 },
	/* 32 and 33 characters: only the length decides */
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaalice", 4000 },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaalice", 4001 },
	/* a directory that would answer for these must not be asked */
	{ "../bob", 4002 },
	{ "bob bob", 4003 },
	{ "root", 0 },
	{ "daemon", 1 },
	{ "nobody", 65534 },
	/* no "ALICE", no "ghost" */
};

#define LOOKUP_FAILS	"lookupfail"	/* the directory is down */

struct lookups {
	unsigned int	 calls;
	unsigned int	 bad_syntax;	/* calls with a name failing syntax */
	char		 first_bad[80];
};

static int
fake_lookup(const char *name, uid_t *uid, void *arg)
{
	struct lookups *l = arg;
	size_t i;

	l->calls++;
	if (!mapping_account_name_ok(name) && l->bad_syntax++ == 0)
		snprintf(l->first_bad, sizeof(l->first_bad), "%s", name);
	if (strcmp(name, LOOKUP_FAILS) == 0)
		return MTLS_ERR_SYSTEM;
	for (i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		if (strcmp(users[i].name, name) == 0) {
			*uid = users[i].uid;
			return 0;
		}
	}
	return MTLS_ERR_NOT_FOUND;
}

static bool
fake_uid(const char *name, uid_t *uid)
{
	return fake_lookup(name, uid, &(struct lookups){ 0 }) == 0;
}

/* ------------------------------------------------------------ the table */

enum issuer { ISS_NONE, ISS_CA, ISS_CA2 };
enum pin { PIN_NONE, PIN_CA, PIN_CA2 };

/* Account policies: accounts.min_uid and accounts.allow_root. */
enum policy {
	POL_STD,	/* 1000, root denied (the defaults) */
	POL_STD_ROOT,	/* 1000, allow_root */
	POL_MIN0,	/* 0, root denied */
	POL_MIN0_ROOT,	/* 0, allow_root */
	POL_MIN1,	/* 1, root denied */
};

struct rspec {
	const char		*name;
	const char		*field;
	enum mapping_matcher	 m;
	/* "@SHA256@", "@SPKI@", "@SERIAL@": the certificate's own */
	const char		*pattern;
	bool			 icase;
	enum pin		 pin;
	const char		*account;
};

#define K(kind)		(1u << (kind))

struct sspec {
	const char	*rule;		/* a step of this rule ... */
	unsigned int	 kinds;		/* ... of one of these kinds */
	const char	*reason;	/* "a|b": holds a or b (any case) */
	const char	*account;	/* the step's account, when set */
};

#define MAXR	5
#define MAXA	5
#define MAXS	5

struct mcase {
	const char	*title;
	const char	*cert;
	enum issuer	 issuer;
	enum policy	 policy;
	struct rspec	 rules[MAXR];		/* up to a NULL name */
	const char	*accounts[MAXA];	/* expected, in order */
	const char	*by[MAXA];		/* rule of each, when set */
	struct sspec	 steps[MAXS];
	bool		 no_steps;		/* expect no step at all */
};

#define EQ	MATCH_EQUALS
#define GLOB	MATCH_GLOB
#define RE	MATCH_REGEX

#define CONTROL_WHY	"control|nul"
#define SYNTAX_WHY	"valid|syntax|name"
#define ROOT_WHY	"uid 0|root"
#define PIN_WHY		"pin|issuer"

static const char rootdn[] = "CN=mtls-pam Test Root CA,O=mtls-pam tests";

static const struct mcase cases[] = {
	/* --- e-mail SANs --- */
	{ "email glob -> {san.email.local}", "alice", ISS_CA, POL_STD,
	  .rules = { { "by-email", "san.email", GLOB, "*@corp.example", false,
	      PIN_NONE, "{san.email.local}" } },
	  .accounts = { "alice" }, .by = { "by-email" },
	  .steps = { { "by-email", K(STEP_ACCOUNT), NULL, "alice" } } },
	{ "email glob on a SAN-only certificate", "map-email", ISS_CA,
	  POL_STD,
	  .rules = { { "by-email", "san.email", GLOB, "*@corp.example", false,
	      PIN_NONE, "{san.email.local}" } },
	  .accounts = { "alice" } },
	{ "email in another domain maps to nothing", "map-email-other",
	  ISS_CA, POL_STD,
	  .rules = { { "by-email", "san.email", GLOB, "*@corp.example", false,
	      PIN_NONE, "{san.email.local}" } },
	  .accounts = { NULL },
	  .steps = { { "by-email", K(STEP_NO_MATCH), NULL, NULL } } },
	{ "email equals in another domain", "map-email-other", ISS_CA,
	  POL_STD,
	  .rules = { { "exact", "san.email", EQ, "alice@corp.example", false,
	      PIN_NONE, "{san.email.local}" } },
	  .accounts = { NULL } },
	{ "{san.email.domain}", "alice", ISS_CA, POL_STD,
	  .rules = { { "domain", "san.email", GLOB, "*", false, PIN_NONE,
	      "{san.email.domain}" } },
	  .accounts = { "corp.example" } },
	{ "no SAN email: rule skipped", "bob", ISS_CA, POL_STD,
	  .rules = { { "by-email", "san.email", GLOB, "*", false, PIN_NONE,
	      "{san.email.local}" } },
	  .accounts = { NULL },
	  .steps = { { "by-email", K(STEP_SKIPPED), NULL, NULL } } },
	{ "subject emailAddress is not a SAN email", "odd-email.der",
	  ISS_CA, POL_STD,
	  .rules = { { "san", "san.email", GLOB, "*", false, PIN_NONE,
	      "{san.email.local}" },
	    { "attr", "subject.emailAddress", GLOB, "*@corp.example", false,
	      PIN_NONE, "{subject.emailAddress.local}" } },
	  .accounts = { "dave" }, .by = { "attr" },
	  .steps = { { "san", K(STEP_SKIPPED), NULL, NULL },
	    { "attr", K(STEP_ACCOUNT), NULL, "dave" } } },
	{ "two emails both match: two accounts in order", "map-two-emails",
	  ISS_CA, POL_STD,
	  .rules = { { "by-email", "san.email", GLOB, "*@corp.example", false,
	      PIN_NONE, "{san.email.local}" } },
	  .accounts = { "bob", "carol" }, .by = { "by-email", "by-email" } },
	{ "two emails through a regex group", "map-two-emails", ISS_CA,
	  POL_STD,
	  .rules = { { "re", "san.email", RE, "([a-z]+)@corp\\.example", false,
	      PIN_NONE, "{1}" } },
	  .accounts = { "bob", "carol" } },
	{ "two emails, only the second matches", "map-two-emails", ISS_CA,
	  POL_STD,
	  .rules = {
	    { "re", "san.email", RE, "c.*@corp\\.example", false, PIN_NONE,
	      "{san.email.local}" } },
	  .accounts = { "carol" } },

	/* --- globs --- */
	{ "glob * matches a whole value", "bob", ISS_CA, POL_STD,
	  .rules = { { "any", "subject.CN", GLOB, "*", false, PIN_NONE,
	      "{subject.CN}" } },
	  .accounts = { "bob" } },
	{ "glob ? is one character", "bob", ISS_CA, POL_STD,
	  .rules = { { "q", "subject.CN", GLOB, "b?b", false, PIN_NONE,
	      "{subject.CN}" } },
	  .accounts = { "bob" } },
	{ "glob ? is not zero characters", "bob", ISS_CA, POL_STD,
	  .rules = { { "q", "subject.CN", GLOB, "bob?", false, PIN_NONE,
	      "{subject.CN}" } },
	  .accounts = { NULL },
	  .steps = { { "q", K(STEP_NO_MATCH), NULL, NULL } } },
	{ "glob [a-c]*", "bob", ISS_CA, POL_STD,
	  .rules = { { "class", "subject.CN", GLOB, "[a-c]*", false, PIN_NONE,
	      "{subject.CN}" } },
	  .accounts = { "bob" } },
	{ "glob [b-z]* does not match alice", "alice", ISS_CA, POL_STD,
	  .rules = { { "class", "subject.CN", GLOB, "[b-z]*", false, PIN_NONE,
	      "{subject.CN}" } },
	  .accounts = { NULL } },
	{ "glob escaped \\* matches a literal star", "map-cn-star", ISS_CA,
	  POL_STD,
	  .rules = { { "star", "subject.CN", GLOB, "al\\*ce", false, PIN_NONE,
	      "alice" } },
	  .accounts = { "alice" } },
	{ "glob escaped \\* is not a wildcard", "alice", ISS_CA, POL_STD,
	  .rules = { { "star", "subject.CN", GLOB, "al\\*ce", false, PIN_NONE,
	      "alice" } },
	  .accounts = { NULL } },
	{ "glob unescaped * is a wildcard", "alice", ISS_CA, POL_STD,
	  .rules = { { "star", "subject.CN", GLOB, "al*ce", false, PIN_NONE,
	      "alice" } },
	  .accounts = { "alice" } },
	{ "glob empty pattern never matches", "alice", ISS_CA, POL_STD,
	  .rules = {
	    { "empty", "subject.CN", GLOB, "", false, PIN_NONE, "alice" } },
	  .accounts = { NULL } },
	{ "equals empty pattern never matches", "alice", ISS_CA, POL_STD,
	  .rules = {
	    { "empty", "subject.CN", EQ, "", false, PIN_NONE, "alice" } },
	  .accounts = { NULL } },
	{ "glob is matched against the whole value", "alice", ISS_CA,
	  POL_STD,
	  .rules = { { "prefix", "subject.CN", GLOB, "alic", false, PIN_NONE,
	      "alice" } },
	  .accounts = { NULL } },

	/* --- regexes: anchored, groups --- */
	{ "regex alice matches alice", "alice", ISS_CA, POL_STD,
	  .rules = { { "re", "subject.CN", RE, "alice", false, PIN_NONE,
	      "{subject.CN}" } },
	  .accounts = { "alice" } },
	{ "regex alice does not match alice2", "map-cn-alice2", ISS_CA,
	  POL_STD,
	  .rules = { { "re", "subject.CN", RE, "alice", false, PIN_NONE,
	      "{subject.CN}" } },
	  .accounts = { NULL },
	  .steps = { { "re", K(STEP_NO_MATCH), NULL, NULL } } },
	{ "regex alice does not match xalice", "map-cn-xalice", ISS_CA,
	  POL_STD,
	  .rules = {
	    { "re", "subject.CN", RE, "alice", false, PIN_NONE, "alice" } },
	  .accounts = { NULL },
	  .steps = { { "re", K(STEP_NO_MATCH), NULL, NULL } } },
	{ "regex x|alice stays anchored on xalice", "map-cn-xalice", ISS_CA,
	  POL_STD,
	  .rules = { { "re", "subject.CN", RE, "x|alice", false, PIN_NONE,
	      "alice" } },
	  .accounts = { NULL } },
	{ "regex alice|y stays anchored on alice2", "map-cn-alice2", ISS_CA,
	  POL_STD,
	  .rules = { { "re", "subject.CN", RE, "alice|y", false, PIN_NONE,
	      "alice" } },
	  .accounts = { NULL } },
	{ "regex alice|alice2 matches all of alice2", "map-cn-alice2",
	  ISS_CA, POL_STD,
	  .rules = { { "re", "subject.CN", RE, "alice|alice2", false, PIN_NONE,
	      "{subject.CN}" } },
	  .accounts = { "alice2" } },
	{ "regex with its own anchors", "alice", ISS_CA, POL_STD,
	  .rules = { { "re", "subject.CN", RE, "^alice$", false, PIN_NONE,
	      "{subject.CN}" } },
	  .accounts = { "alice" } },
	{ "regex group {1}", "map-cn-alice2", ISS_CA, POL_STD,
	  .rules = { { "re", "subject.CN", RE, "([a-z]+)2", false, PIN_NONE,
	      "{1}" } },
	  .accounts = { "alice" }, .by = { "re" },
	  .steps = { { "re", K(STEP_ACCOUNT), NULL, "alice" } } },
	{ "regex group {2}", "map-cn-xalice", ISS_CA, POL_STD,
	  .rules = { { "re", "subject.CN", RE, "(x)(alice)", false, PIN_NONE,
	      "{2}" } },
	  .accounts = { "alice" } },
	{ "regex empty group gives no account", "bob", ISS_CA, POL_STD,
	  .rules = {
	    { "re", "subject.CN", RE, "(x*)bob", false, PIN_NONE, "{1}" } },
	  .accounts = { NULL },
	  .steps = { { "re", K(STEP_REJECTED), NULL, NULL } } },
	{ "regex is case-sensitive by default", "map-cn-upper", ISS_CA,
	  POL_STD,
	  .rules = {
	    { "re", "subject.CN", RE, "alice", false, PIN_NONE, "alice" } },
	  .accounts = { NULL } },
	{ "regex ignore_case", "map-cn-upper", ISS_CA, POL_STD,
	  .rules = {
	    { "re", "subject.CN", RE, "alice", true, PIN_NONE, "alice" } },
	  .accounts = { "alice" } },

	/* --- NUL and control bytes never map --- */
	{ "CN alice\\nroot, regex .*", "map-cn-newline", ISS_CA, POL_STD,
	  .rules = { { "all", "subject.CN", RE, ".*", false, PIN_NONE,
	      "{subject.CN}" } },
	  .accounts = { NULL },
	  .steps = { { "all", K(STEP_REJECTED) | K(STEP_NO_MATCH), CONTROL_WHY,
	      NULL } } },
	{ "CN alice\\nroot, glob * to a literal account", "map-cn-newline",
	  ISS_CA, POL_STD,
	  .rules = {
	    { "all", "subject.CN", GLOB, "*", false, PIN_NONE, "alice" } },
	  .accounts = { NULL },
	  .steps = { { "all", K(STEP_REJECTED) | K(STEP_NO_MATCH), CONTROL_WHY,
	      NULL } } },
	{ "CN alice\\nroot, regex alice.root", "map-cn-newline", ISS_CA,
	  POL_STD,
	  .rules = { { "dot", "subject.CN", RE, "alice.root", false, PIN_NONE,
	      "alice" } },
	  .accounts = { NULL },
	  .steps = { { "dot", K(STEP_REJECTED) | K(STEP_NO_MATCH), CONTROL_WHY,
	      NULL } } },
	{ "CN alice\\nroot, equals the exact value", "map-cn-newline",
	  ISS_CA, POL_STD,
	  .rules = {
	    { "exact", "subject.CN", EQ, "alice\nroot", false, PIN_NONE,
	      "alice" } },
	  .accounts = { NULL } },
	{ "CN alice\\0root, regex .*", "map-cn-nul", ISS_CA, POL_STD,
	  .rules = { { "all", "subject.CN", RE, ".*", false, PIN_NONE,
	      "{subject.CN}" } },
	  .accounts = { NULL },
	  .steps = { { "all", K(STEP_REJECTED) | K(STEP_NO_MATCH), CONTROL_WHY,
	      NULL } } },
	{ "CN alice\\0root, equals alice (NUL cut)", "map-cn-nul", ISS_CA,
	  POL_STD,
	  .rules = { { "cut", "subject.CN", EQ, "alice", false, PIN_NONE,
	      "{subject.CN}" } },
	  .accounts = { NULL } },
	{ "CN alice\\0root, glob alice*", "map-cn-nul", ISS_CA, POL_STD,
	  .rules = { { "cut", "subject.CN", GLOB, "alice*", false, PIN_NONE,
	      "alice" } },
	  .accounts = { NULL } },
	{ "CN alice\\0.evil, regex alice.* ignore_case", "odd-nul.der",
	  ISS_CA, POL_STD,
	  .rules = { { "cut", "subject.CN", RE, "alice.*", true, PIN_NONE,
	      "alice" } },
	  .accounts = { NULL } },
	{ "CN with C0 controls and DEL, regex .*", "odd-control.der", ISS_CA,
	  POL_STD,
	  .rules = { { "all", "subject.CN", RE, ".*", false, PIN_NONE,
	      "alice" } },
	  .accounts = { NULL },
	  .steps = { { "all", K(STEP_REJECTED) | K(STEP_NO_MATCH),
	      CONTROL_WHY, NULL } } },
	{ "template takes a field holding a newline", "map-cn-newline",
	  ISS_CA, POL_STD,
	  .rules = { { "by-ca", "issuer.CN", EQ, "mtls-pam Test Root CA", false,
	      PIN_NONE, "{subject.CN}" } },
	  .accounts = { NULL },
	  .steps = { { "by-ca", K(STEP_REJECTED), CONTROL_WHY, NULL } } },

	/* --- case --- */
	{ "ignore_case off: ALICE is not alice", "map-cn-upper", ISS_CA,
	  POL_STD,
	  .rules = {
	    { "eq", "subject.CN", EQ, "alice", false, PIN_NONE, "alice" } },
	  .accounts = { NULL },
	  .steps = { { "eq", K(STEP_NO_MATCH), NULL, NULL } } },
	{ "ignore_case on: {subject.CN} stays ALICE, rejected",
	  "map-cn-upper", ISS_CA, POL_STD,
	  .rules = { { "eq", "subject.CN", EQ, "alice", true, PIN_NONE,
	      "{subject.CN}" } },
	  .accounts = { NULL },
	  .steps = { { "eq", K(STEP_REJECTED), SYNTAX_WHY, NULL } } },
	{ "ignore_case on, literal account alice", "map-cn-upper", ISS_CA,
	  POL_STD,
	  .rules = {
	    { "eq", "subject.CN", EQ, "alice", true, PIN_NONE, "alice" } },
	  .accounts = { "alice" }, .by = { "eq" },
	  .steps = { { "eq", K(STEP_ACCOUNT), NULL, "alice" } } },
	{ "ignore_case glob", "map-cn-upper", ISS_CA, POL_STD,
	  .rules = {
	    { "g", "subject.CN", GLOB, "ali*", true, PIN_NONE, "alice" } },
	  .accounts = { "alice" } },
	{ "glob is case-sensitive by default", "map-cn-upper", ISS_CA,
	  POL_STD,
	  .rules = {
	    { "g", "subject.CN", GLOB, "ali*", false, PIN_NONE, "alice" } },
	  .accounts = { NULL } },

	/* --- homoglyphs --- */
	{ "Cyrillic a is not alice", "map-cn-cyrillic", ISS_CA, POL_STD,
	  .rules = {
	    { "eq", "subject.CN", EQ, "alice", false, PIN_NONE, "alice" } },
	  .accounts = { NULL } },
	{ "Cyrillic a is not alice, ignore_case", "map-cn-cyrillic", ISS_CA,
	  POL_STD,
	  .rules = {
	    { "eq", "subject.CN", EQ, "alice", true, PIN_NONE, "alice" } },
	  .accounts = { NULL } },
	{ "Cyrillic a does not match [a-z]lice", "map-cn-cyrillic", ISS_CA,
	  POL_STD,
	  .rules = { { "re", "subject.CN", RE, "[a-z]lice", true, PIN_NONE,
	      "alice" } },
	  .accounts = { NULL } },
	{ "Cyrillic CN through a template fails the syntax",
	  "map-cn-cyrillic", ISS_CA, POL_STD,
	  .rules = { { "g", "subject.CN", GLOB, "*lice", false, PIN_NONE,
	      "{subject.CN}" } },
	  .accounts = { NULL },
	  .steps = { { "g", K(STEP_REJECTED), SYNTAX_WHY, NULL } } },

	/* --- the account policy --- */
	{ "root denied by default", "bob", ISS_CA, POL_STD,
	  .rules = { { "to-root", "subject.CN", EQ, "bob", false, PIN_NONE,
	      "root" } },
	  .accounts = { NULL },
	  .steps = { { "to-root", K(STEP_REJECTED), ROOT_WHY, NULL } } },
	{ "root denied with min_uid 0", "bob", ISS_CA, POL_MIN0,
	  .rules = { { "to-root", "subject.CN", EQ, "bob", false, PIN_NONE,
	      "root" } },
	  .accounts = { NULL },
	  .steps = { { "to-root", K(STEP_REJECTED), ROOT_WHY, NULL } } },
	{ "root allowed with allow_root", "bob", ISS_CA, POL_MIN0_ROOT,
	  .rules = { { "to-root", "subject.CN", EQ, "bob", false, PIN_NONE,
	      "root" } },
	  .accounts = { "root" }, .by = { "to-root" } },
	{ "allow_root with the default min_uid", "bob", ISS_CA,
	  POL_STD_ROOT,
	  .rules = { { "to-root", "subject.CN", EQ, "bob", false, PIN_NONE,
	      "root" } },
	  .accounts = { "root" } },
	{ "account that does not exist (ghost)", "bob", ISS_CA, POL_STD,
	  .rules = { { "ghost", "subject.CN", EQ, "bob", false, PIN_NONE,
	      "ghost" } },
	  .accounts = { NULL },
	  .steps = { { "ghost", K(STEP_REJECTED), NULL, NULL } } },
	{ "uid below min_uid (daemon)", "bob", ISS_CA, POL_STD,
	  .rules = {
	    { "d", "subject.CN", EQ, "bob", false, PIN_NONE, "daemon" } },
	  .accounts = { NULL },
	  .steps = { { "d", K(STEP_REJECTED), "min_uid|uid", NULL } } },
	{ "uid equal to min_uid is allowed", "bob", ISS_CA, POL_MIN1,
	  .rules = {
	    { "d", "subject.CN", EQ, "bob", false, PIN_NONE, "daemon" } },
	  .accounts = { "daemon" } },
	{ "a failing user lookup maps to nothing", "bob", ISS_CA, POL_STD,
	  .rules = { { "down", "subject.CN", EQ, "bob", false, PIN_NONE,
	      LOOKUP_FAILS } },
	  .accounts = { NULL },
	  .steps = { { "down", K(STEP_REJECTED), NULL, NULL } } },
	{ "a failing user lookup, even with allow_root", "bob", ISS_CA,
	  POL_MIN0_ROOT,
	  .rules = { { "down", "subject.CN", EQ, "bob", false, PIN_NONE,
	      LOOKUP_FAILS } },
	  .accounts = { NULL },
	  .steps = { { "down", K(STEP_REJECTED), NULL, NULL } } },

	/* --- several rules --- */
	{ "two rules giving the same account", "alice", ISS_CA, POL_STD,
	  .rules = { { "by-email", "san.email", GLOB, "*@corp.example", false,
	      PIN_NONE, "{san.email.local}" },
	    { "by-cn", "subject.CN", EQ, "alice", false, PIN_NONE,
	      "{subject.CN}" } },
	  .accounts = { "alice" }, .by = { "by-email" },
	  .steps = { { "by-email", K(STEP_ACCOUNT), NULL, "alice" },
	    { "by-cn", K(STEP_DUPLICATE), NULL, "alice" } } },
	{ "accounts come in rule order", "alice", ISS_CA, POL_STD,
	  .rules = {
	    { "by-org", "subject.O", EQ, "Example Corp", false, PIN_NONE,
	      "bob" },
	    { "by-email", "san.email", GLOB, "*@corp.example", false,
	      PIN_NONE, "{san.email.local}" } },
	  .accounts = { "bob", "alice" }, .by = { "by-org", "by-email" } },
	{ "two values of one rule, one account", "map-two-emails", ISS_CA,
	  POL_STD,
	  .rules = { { "svc", "san.email", GLOB, "*", false, PIN_NONE,
	      "svc-backup" } },
	  .accounts = { "svc-backup" }, .by = { "svc" },
	  .steps = { { "svc", K(STEP_ACCOUNT), NULL, "svc-backup" },
	    { "svc", K(STEP_DUPLICATE), NULL, "svc-backup" } } },
	{ "no rules: no account", "alice", ISS_CA, POL_STD,
	  .rules = { { NULL } },
	  .accounts = { NULL }, .steps = { { NULL } }, .no_steps = true },
	{ "no rule matches: no account", "alice", ISS_CA, POL_STD,
	  .rules = { { "cn", "subject.CN", EQ, "bob", false, PIN_NONE, "bob" },
	    { "mail", "san.email", GLOB, "*@evil.example", false, PIN_NONE,
	      "{san.email.local}" } },
	  .accounts = { NULL },
	  .steps = { { "cn", K(STEP_NO_MATCH), NULL, NULL },
	    { "mail", K(STEP_NO_MATCH), NULL, NULL } } },
	{ "a rejected rule does not stop the next", "alice", ISS_CA,
	  POL_STD,
	  .rules = { { "ghost", "subject.CN", EQ, "alice", false, PIN_NONE,
	      "ghost" },
	    { "cn", "subject.CN", EQ, "alice", false, PIN_NONE,
	      "{subject.CN}" } },
	  .accounts = { "alice" }, .by = { "cn" },
	  .steps = { { "ghost", K(STEP_REJECTED), NULL, NULL },
	    { "cn", K(STEP_ACCOUNT), NULL, "alice" } } },

	/* --- multi-valued attributes --- */
	{ "OU=dev of OU=ops,OU=dev", "map-multi-ou", ISS_CA, POL_STD,
	  .rules = { { "ou", "subject.OU", GLOB, "dev", false, PIN_NONE,
	      "{subject.OU}" } },
	  .accounts = { "dev" }, .by = { "ou" },
	  .steps = { { "ou", K(STEP_ACCOUNT), NULL, "dev" } } },
	{ "OU=ops of OU=ops,OU=dev", "map-multi-ou", ISS_CA, POL_STD,
	  .rules = { { "ou", "subject.OU", EQ, "ops", false, PIN_NONE,
	      "{subject.OU}" } },
	  .accounts = { "ops" } },
	{ "every OU, in certificate order", "map-multi-ou", ISS_CA, POL_STD,
	  .rules = { { "ou", "subject.OU", GLOB, "*", false, PIN_NONE,
	      "{subject.OU}" } },
	  .accounts = { "ops", "dev" } },
	{ "template names a field with two values (OU)", "map-multi-ou",
	  ISS_CA, POL_STD,
	  .rules = { { "cn", "subject.CN", EQ, "multi", false, PIN_NONE,
	      "{subject.OU}" } },
	  .accounts = { NULL },
	  .steps = { { "cn", K(STEP_REJECTED), NULL, NULL } } },
	{ "template {san.email} with two emails", "map-two-emails", ISS_CA,
	  POL_STD,
	  .rules = { { "cn", "subject.CN", EQ, "two", false, PIN_NONE,
	      "{san.email}" } },
	  .accounts = { NULL },
	  .steps = { { "cn", K(STEP_REJECTED), NULL, NULL } } },
	{ "template {san.email.local} with two emails", "map-two-emails",
	  ISS_CA, POL_STD,
	  .rules = { { "cn", "subject.CN", EQ, "two", false, PIN_NONE,
	      "{san.email.local}" } },
	  .accounts = { NULL } },
	{ "template {san.email.local} with one email", "alice", ISS_CA,
	  POL_STD,
	  .rules = { { "cn", "subject.CN", EQ, "alice", false, PIN_NONE,
	      "{san.email.local}" } },
	  .accounts = { "alice" } },
	{ "template names a field without a value", "bob", ISS_CA, POL_STD,
	  .rules = { { "cn", "subject.CN", EQ, "bob", false, PIN_NONE,
	      "{san.email.local}" } },
	  .accounts = { NULL },
	  .steps = { { "cn", K(STEP_REJECTED), NULL, NULL } } },

	/* --- the same subject DN from a second CA --- */
	{ "pinned to ca, issued by ca2: skipped", "map-ca2-alice", ISS_CA2,
	  POL_STD,
	  .rules = { { "pinned", "subject.CN", EQ, "alice", false, PIN_CA,
	      "{subject.CN}" } },
	  .accounts = { NULL },
	  .steps = { { "pinned", K(STEP_SKIPPED), PIN_WHY, NULL } } },
	{ "pinned to ca, issuer is ca", "map-ca2-alice", ISS_CA, POL_STD,
	  .rules = { { "pinned", "subject.CN", EQ, "alice", false, PIN_CA,
	      "{subject.CN}" } },
	  .accounts = { "alice" } },
	{ "pinned to ca, alice from ca", "alice", ISS_CA, POL_STD,
	  .rules = {
	    { "pinned", "subject", EQ, "CN=alice,O=Example Corp", false,
	      PIN_CA, "alice" } },
	  .accounts = { "alice" } },
	{ "unpinned rule, issued by ca2", "map-ca2-alice", ISS_CA2, POL_STD,
	  .rules = { { "open", "subject", EQ, "CN=alice,O=Example Corp", false,
	      PIN_NONE, "alice" } },
	  .accounts = { "alice" } },
	{ "unpinned rule, issued by ca", "alice", ISS_CA, POL_STD,
	  .rules = { { "open", "subject", EQ, "CN=alice,O=Example Corp", false,
	      PIN_NONE, "alice" } },
	  .accounts = { "alice" } },
	{ "pinned rule, issuer unknown", "alice", ISS_NONE, POL_STD,
	  .rules = { { "pinned", "subject.CN", EQ, "alice", false, PIN_CA,
	      "alice" } },
	  .accounts = { NULL },
	  .steps = { { "pinned", K(STEP_SKIPPED), NULL, NULL } } },
	{ "pinned to ca2, issued by ca2", "map-ca2-alice", ISS_CA2, POL_STD,
	  .rules = { { "pinned", "subject.CN", EQ, "alice", false, PIN_CA2,
	      "alice" } },
	  .accounts = { "alice" } },
	{ "pins choose between same-DN CAs", "map-ca2-alice", ISS_CA2,
	  POL_STD,
	  .rules = { { "from-ca", "subject.CN", EQ, "alice", false, PIN_CA,
	      "alice" },
	    { "from-ca2", "subject.CN", EQ, "alice", false, PIN_CA2,
	      "bob" } },
	  .accounts = { "bob" }, .by = { "from-ca2" },
	  .steps = { { "from-ca", K(STEP_SKIPPED), NULL, NULL },
	    { "from-ca2", K(STEP_ACCOUNT), NULL, "bob" } } },

	/* --- what a template may produce --- */
	{ "a 32-character account", "alice", ISS_CA, POL_STD,
	  .rules = { { "long", "subject.CN", EQ, "alice", false, PIN_NONE,
	      "aaaaaaaaaaaaaaaaaaaaaaaaaaa{subject.CN}" } },
	  .accounts = { "aaaaaaaaaaaaaaaaaaaaaaaaaaaalice" } },
	{ "a 33-character account is rejected", "alice", ISS_CA, POL_STD,
	  .rules = { { "long", "subject.CN", EQ, "alice", false, PIN_NONE,
	      "aaaaaaaaaaaaaaaaaaaaaaaaaaaa{subject.CN}" } },
	  .accounts = { NULL },
	  .steps = { { "long", K(STEP_REJECTED), NULL, NULL } } },
	{ "template giving ../bob is rejected", "bob", ISS_CA, POL_STD,
	  .rules = { { "dots", "subject.CN", EQ, "bob", false, PIN_NONE,
	      "../{subject.CN}" } },
	  .accounts = { NULL },
	  .steps = { { "dots", K(STEP_REJECTED), SYNTAX_WHY, NULL } } },
	{ "template giving \"bob bob\" is rejected", "bob", ISS_CA, POL_STD,
	  .rules = { { "space", "subject.CN", EQ, "bob", false, PIN_NONE,
	      "{subject.CN} {subject.CN}" } },
	  .accounts = { NULL },
	  .steps = { { "space", K(STEP_REJECTED), SYNTAX_WHY, NULL } } },

	/* --- other fields --- */
	{ "cert.sha256 equals -> svc-backup", "alice", ISS_CA, POL_STD,
	  .rules = {
	    { "pinned-cert", "cert.sha256", EQ, "@SHA256@", false, PIN_NONE,
	      "svc-backup" } },
	  .accounts = { "svc-backup" } },
	{ "cert.sha256 of another certificate", "alice", ISS_CA, POL_STD,
	  .rules = { { "pinned-cert", "cert.sha256", EQ,
	      "00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:"
	      "00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00", false,
	      PIN_NONE, "svc-backup" } },
	  .accounts = { NULL } },
	{ "spki.sha256 equals -> svc-backup", "bob", ISS_CA, POL_STD,
	  .rules = {
	    { "pinned-key", "spki.sha256", EQ, "@SPKI@", false, PIN_NONE,
	      "svc-backup" } },
	  .accounts = { "svc-backup" } },
	{ "serial equals", "alice", ISS_CA, POL_STD,
	  .rules = { { "serial", "serial", EQ, "@SERIAL@", false, PIN_NONE,
	      "alice" } },
	  .accounts = { "alice" } },
	{ "issuer.CN equals", "alice", ISS_CA, POL_STD,
	  .rules = { { "ca-cn", "issuer.CN", EQ, "mtls-pam Test Root CA", false,
	      PIN_NONE, "alice" } },
	  .accounts = { "alice" } },
	{ "issuer (whole) equals", "alice", ISS_CA, POL_STD,
	  .rules = {
	    { "ca-dn", "issuer", EQ, rootdn, false, PIN_NONE, "alice" } },
	  .accounts = { "alice" } },
	{ "subject (whole RFC 4514) equals", "alice", ISS_CA, POL_STD,
	  .rules = { { "dn", "subject", EQ, "CN=alice,O=Example Corp", false,
	      PIN_NONE, "alice" } },
	  .accounts = { "alice" } },
	{ "subject equals needs the whole DN", "alice", ISS_CA, POL_STD,
	  .rules = {
	    { "dn", "subject", EQ, "CN=alice", false, PIN_NONE, "alice" } },
	  .accounts = { NULL } },
	{ "san.uri regex group", "odd-sans.der", ISS_CA, POL_STD,
	  .rules = {
	    { "uri", "san.uri", RE, "https://id\\.example/users/([a-z]+)",
	      false, PIN_NONE, "{1}" } },
	  .accounts = { "erin" } },
	{ "san.dns second value", "odd-sans.der", ISS_CA, POL_STD,
	  .rules = { { "dns", "san.dns", GLOB, "two.*", false, PIN_NONE,
	      "{subject.CN}" } },
	  .accounts = { "erin" } },
	{ "subject.UID", "odd-types.der", ISS_CA, POL_STD,
	  .rules = { { "uid", "subject.UID", EQ, "u1", false, PIN_NONE,
	      "{subject.UID}" } },
	  .accounts = { "u1" } },
	{ "subject.DC second value", "odd-types.der", ISS_CA, POL_STD,
	  .rules = { { "dc", "subject.DC", EQ, "org", false, PIN_NONE,
	      "{subject.CN}" } },
	  .accounts = { "ann" } },
};

#define NCASES	(sizeof(cases) / sizeof(cases[0]))

/* ------------------------------------------------------------ the runner */

static void
policy_of(enum policy p, struct account_policy *pol, struct lookups *l)
{
	memset(pol, 0, sizeof(*pol));
	pol->min_uid = 1000;
	switch (p) {
	case POL_STD:
		break;
	case POL_STD_ROOT:
		pol->allow_root = true;
		break;
	case POL_MIN0:
		pol->min_uid = 0;
		break;
	case POL_MIN0_ROOT:
		pol->min_uid = 0;
		pol->allow_root = true;
		break;
	case POL_MIN1:
		pol->min_uid = 1;
		break;
	}
	pol->lookup = fake_lookup;
	pol->lookup_arg = l;
}

/* The pattern of spec for certificate id (placeholders filled in). */
static char *
case_pattern(const struct mcase *c, const struct rspec *rs,
    const struct identity *id)
{
	char fpr[IDENTITY_FPR_TEXT], file[256];

	if (strcmp(rs->pattern, "@SHA256@") == 0) {
		identity_fingerprint_text(id->cert_sha256, fpr);
		return strdup(fpr);
	}
	if (strcmp(rs->pattern, "@SPKI@") == 0) {
		identity_fingerprint_text(id->spki_sha256, fpr);
		return strdup(fpr);
	}
	if (strcmp(rs->pattern, "@SERIAL@") == 0) {
		/* as mkpki.py wrote it, not as identity.c computed it */
		snprintf(file, sizeof(file), "%s.serial", c->cert);
		return pki_text(file);
	}
	return strdup(rs->pattern);
}

/*
 * Build and compile the rule set of case c into set.  0, or -1 after
 * recording a failure (set is then freed).
 */
static int
case_set(const struct mcase *c, const struct identity *id,
    const unsigned char pins[2][IDENTITY_SHA256_LEN], struct mapping_set *set)
{
	const struct rspec *rs;
	struct mapping_rule *r;
	char err[MAPPING_ERR_MAX];
	size_t n;

	memset(set, 0, sizeof(*set));
	for (n = 0; n < MAXR && c->rules[n].name != NULL; n++)
		;
	set->name = strdup("table");
	set->line = 1;
	if (set->name == NULL ||
	    (n > 0 && (set->rules = calloc(n, sizeof(*r))) == NULL)) {
		MFAIL("%s: out of memory", c->title);
		mapping_set_free(set);
		return -1;
	}
	for (; set->nrules < n; set->nrules++) {
		rs = &c->rules[set->nrules];
		r = &set->rules[set->nrules];
		r->name = strdup(rs->name);
		r->line = (int)set->nrules + 10;
		r->field = strdup(rs->field);
		r->matcher = rs->m;
		r->pattern = case_pattern(c, rs, id);
		r->ignore_case = rs->icase;
		r->account = strdup(rs->account);
		if (rs->pin != PIN_NONE) {
			r->has_issuer_pin = true;
			memcpy(r->issuer_pin, pins[rs->pin == PIN_CA ? 0 : 1],
			    IDENTITY_SHA256_LEN);
		}
		if (r->name == NULL || r->field == NULL ||
		    r->pattern == NULL || r->account == NULL) {
			set->nrules++;
			MFAIL("%s: rule %s: cannot build it", c->title,
			    rs->name);
			mapping_set_free(set);
			return -1;
		}
		err[0] = '\0';
		if (mapping_rule_compile(r, err, sizeof(err)) != 0) {
			set->nrules++;
			MFAIL("%s: rule %s does not compile: %s", c->title,
			    rs->name, err);
			mapping_set_free(set);
			return -1;
		}
		if (!r->compiled)
			MFAIL("%s: rule %s: compiled is false after success",
			    c->title, rs->name);
	}
	return 0;
}

/* True when text holds one of the '|'-separated words (any case). */
static bool
reason_has(const char *text, const char *words)
{
	char w[64];
	const char *p = words, *bar;
	size_t n;

	while (*p != '\0') {
		bar = strchr(p, '|');
		n = bar ? (size_t)(bar - p) : strlen(p);
		if (n > 0 && n < sizeof(w)) {
			memcpy(w, p, n);
			w[n] = '\0';
			if (strcasestr(text, w) != NULL)
				return true;
		}
		if (bar == NULL)
			break;
		p = bar + 1;
	}
	return false;
}

static bool
rule_in_set(const struct mapping_set *set, const struct mapping_rule *r)
{
	return r != NULL && set->nrules > 0 && r >= set->rules &&
	    r < set->rules + set->nrules;
}

/* What every evaluation must satisfy, whatever the case expects. */
static void
check_invariants(const struct mcase *c, const struct mapping_set *set,
    const struct mapping_result *res, const struct account_policy *pol,
    const struct lookups *l)
{
	const struct mapping_step *st;
	size_t i, j, nacc = 0, seen;
	uid_t uid;

	if (l->bad_syntax > 0)
		MFAIL("%s: the user lookup was asked %u time(s) for a name "
		    "failing the username syntax (first: \"%s\")", c->title,
		    l->bad_syntax, l->first_bad);
	for (i = 0; i < set->nrules; i++) {
		for (seen = 0, j = 0; j < res->nsteps; j++)
			if (res->steps[j].rule == &set->rules[i])
				seen++;
		if (seen == 0)
			MFAIL("%s: rule %s left no step in the explanation",
			    c->title, set->rules[i].name);
	}
	for (j = 0; j < res->nsteps; j++) {
		st = &res->steps[j];
		if (!rule_in_set(set, st->rule)) {
			MFAIL("%s: step %zu names no rule of the set", c->title,
			    j);
			continue;
		}
		if (st->reason[0] == '\0')
			MFAIL("%s: step %zu (rule %s, %s) has no reason",
			    c->title, j, st->rule->name,
			    mapping_step_kind_name(st->kind));
		if (st->kind == STEP_ACCOUNT || st->kind == STEP_DUPLICATE) {
			if (st->account == NULL) {
				MFAIL("%s: step %zu (rule %s) is %s without "
				    "an account", c->title, j, st->rule->name,
				    mapping_step_kind_name(st->kind));
				continue;
			}
		}
		if (st->kind != STEP_ACCOUNT)
			continue;
		/* the n-th account step gives the n-th account */
		if (nacc >= res->naccounts)
			MFAIL("%s: more account steps than accounts (%zu)",
			    c->title, res->naccounts);
		else if (strcmp(res->accounts[nacc].name, st->account) != 0 ||
		    res->accounts[nacc].rule != st->rule)
			MFAIL("%s: account step %zu gives %s (rule %s) but "
			    "account %zu is %s", c->title, j, st->account,
			    st->rule->name, nacc, res->accounts[nacc].name);
		nacc++;
	}
	if (nacc != res->naccounts)
		MFAIL("%s: %zu accounts but %zu account steps", c->title,
		    res->naccounts, nacc);
	for (i = 0; i < res->naccounts; i++) {
		const struct mapping_account *a = &res->accounts[i];

		if (!rule_in_set(set, a->rule))
			MFAIL("%s: account %s names no rule of the set",
			    c->title, a->name);
		if (!mapping_account_name_ok(a->name))
			MFAIL("%s: account \"%s\" fails the username syntax",
			    c->title, a->name);
		if (!fake_uid(a->name, &uid))
			MFAIL("%s: account %s does not exist", c->title,
			    a->name);
		else if (uid != a->uid)
			MFAIL("%s: account %s has uid %u, want %u", c->title,
			    a->name, (unsigned)a->uid, (unsigned)uid);
		if (a->uid == 0 && !pol->allow_root)
			MFAIL("%s: account %s is uid 0 without allow_root",
			    c->title, a->name);
		if (a->uid != 0 && a->uid < (uid_t)pol->min_uid)
			MFAIL("%s: account %s has uid %u below min_uid %d",
			    c->title, a->name, (unsigned)a->uid, pol->min_uid);
		for (j = 0; j < i; j++)
			if (strcmp(res->accounts[j].name, a->name) == 0)
				MFAIL("%s: account %s listed twice", c->title,
				    a->name);
	}
}

/* Print the result, to make a failure readable. */
static void
dump_result(const struct mcase *c, const struct mapping_result *res)
{
	size_t j;

	fprintf(stderr, "\n  case \"%s\" (%s): %zu account(s):", c->title,
	    c->cert, res->naccounts);
	for (j = 0; j < res->naccounts; j++)
		fprintf(stderr, " %s", res->accounts[j].name);
	fputc('\n', stderr);
	for (j = 0; j < res->nsteps; j++)
		fprintf(stderr, "    rule %s: %s value=%s account=%s: %s\n",
		    res->steps[j].rule ? res->steps[j].rule->name : "?",
		    mapping_step_kind_name(res->steps[j].kind),
		    res->steps[j].value ? res->steps[j].value : "-",
		    res->steps[j].account ? res->steps[j].account : "-",
		    res->steps[j].reason);
}

static void
check_expected(const struct mcase *c, const struct mapping_result *res,
    unsigned int *failures)
{
	const struct sspec *ss;
	const struct mapping_step *st;
	size_t i, want = 0;
	bool found;

	while (want < MAXA && c->accounts[want] != NULL)
		want++;
	if (res->naccounts != want) {
		MFAIL("%s: %zu account(s), want %zu", c->title,
		    res->naccounts, want);
		(*failures)++;
	}
	for (i = 0; i < want && i < res->naccounts; i++) {
		if (strcmp(res->accounts[i].name, c->accounts[i]) != 0) {
			MFAIL("%s: account %zu is \"%s\", want \"%s\"",
			    c->title, i, res->accounts[i].name,
			    c->accounts[i]);
			(*failures)++;
		}
		if (c->by[i] != NULL && (res->accounts[i].rule == NULL ||
		    strcmp(res->accounts[i].rule->name, c->by[i]) != 0)) {
			MFAIL("%s: account %s comes from rule %s, want %s",
			    c->title, c->accounts[i],
			    res->accounts[i].rule ?
			    res->accounts[i].rule->name : "(none)", c->by[i]);
			(*failures)++;
		}
	}
	if (c->no_steps && res->nsteps != 0) {
		MFAIL("%s: %zu steps, want none", c->title, res->nsteps);
		(*failures)++;
	}
	for (ss = c->steps; ss < c->steps + MAXS && ss->rule != NULL; ss++) {
		found = false;
		for (i = 0; i < res->nsteps && !found; i++) {
			st = &res->steps[i];
			if (st->rule == NULL ||
			    strcmp(st->rule->name, ss->rule) != 0 ||
			    (K(st->kind) & ss->kinds) == 0)
				continue;
			if (ss->reason != NULL &&
			    !reason_has(st->reason, ss->reason))
				continue;
			if (ss->account != NULL && (st->account == NULL ||
			    strcmp(st->account, ss->account) != 0))
				continue;
			found = true;
		}
		if (!found) {
			MFAIL("%s: no step of rule %s of the expected kind%s%s"
			    "%s%s", c->title, ss->rule,
			    ss->reason ? " with a reason saying " : "",
			    ss->reason ? ss->reason : "",
			    ss->account ? " for account " : "",
			    ss->account ? ss->account : "");
			(*failures)++;
		}
	}
}

static void
run_case(const struct mcase *c)
{
	unsigned char pins[2][IDENTITY_SHA256_LEN];
	const unsigned char *issuer = NULL;
	struct identity id;
	struct mapping_set set;
	struct mapping_result res;
	struct account_policy pol;
	struct lookups l;
	unsigned int failures = 0, before;
	int rc;

	if (ca_fingerprint("ca", pins[0]) != 0 ||
	    ca_fingerprint("ca2", pins[1]) != 0)
		return;
	if (c->issuer == ISS_CA)
		issuer = pins[0];
	else if (c->issuer == ISS_CA2)
		issuer = pins[1];
	if (cert_identity(c->cert, &id) != 0)
		return;
	if (case_set(c, &id, (const unsigned char (*)[IDENTITY_SHA256_LEN])pins,
	    &set) != 0) {
		identity_free(&id);
		return;
	}
	memset(&l, 0, sizeof(l));
	policy_of(c->policy, &pol, &l);
	memset(&res, 0x5a, sizeof(res));
	rc = mapping_evaluate(&set, &id, issuer, &pol, &res);
	if (rc != 0) {
		MFAIL("%s: mapping_evaluate: %d", c->title, rc);
		identity_free(&id);
		mapping_set_free(&set);
		return;
	}
	before = CU_get_number_of_failures();
	check_expected(c, &res, &failures);
	check_invariants(c, &set, &res, &pol, &l);
	if (failures > 0 || CU_get_number_of_failures() != before)
		dump_result(c, &res);
	else
		CU_PASS("case ok");
	mapping_result_free(&res);
	CU_ASSERT_EQUAL(res.naccounts, 0);
	CU_ASSERT_PTR_NULL(res.steps);
	mapping_set_free(&set);
	identity_free(&id);
}

/* Every table case is registered under its own name and found by it. */
static void
test_case(void)
{
	CU_pTest t = CU_get_current_test();
	unsigned int n;

	if (t == NULL || t->pName == NULL ||
	    sscanf(t->pName, "case %u:", &n) != 1 || n == 0 || n > NCASES) {
		CU_FAIL("mapping table case not found by test name");
		return;
	}
	run_case(&cases[n - 1]);
}

/* ------------------------------------------------- direct function tests */

static void
test_fixtures(void)
{
	struct identity id, ca, ca2;
	unsigned char pin[IDENTITY_SHA256_LEN];
	char *text;

	/* ca and ca2: same subject, different certificates and keys */
	if (cert_identity("ca", &ca) != 0)
		return;
	if (cert_identity("ca2", &ca2) != 0) {
		identity_free(&ca);
		return;
	}
	CU_ASSERT_EQUAL(ca.subject.rfc4514.len, ca2.subject.rfc4514.len);
	CU_ASSERT_TRUE(bytes_equal_str(&ca.subject.rfc4514, rootdn));
	CU_ASSERT_TRUE(bytes_equal_str(&ca2.subject.rfc4514, rootdn));
	CU_ASSERT_NOT_EQUAL(memcmp(ca.cert_sha256, ca2.cert_sha256,
	    IDENTITY_SHA256_LEN), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(ca.spki_sha256, ca2.spki_sha256,
	    IDENTITY_SHA256_LEN), 0);
	/* NAME.sha256 parses to the digest identity.c computes */
	if ((text = pki_text("ca.sha256")) != NULL) {
		CU_ASSERT_EQUAL(strncmp(text, "sha256:", 7), 0);
		CU_ASSERT_EQUAL(strlen(text), 7 + IDENTITY_FPR_TEXT - 1);
		CU_ASSERT_EQUAL(mapping_parse_pin(text, pin), 0);
		CU_ASSERT_EQUAL(memcmp(pin, ca.cert_sha256, sizeof(pin)), 0);
		free(text);
	}
	if ((text = pki_text("ca2.sha256")) != NULL) {
		CU_ASSERT_EQUAL(mapping_parse_pin(text, pin), 0);
		CU_ASSERT_EQUAL(memcmp(pin, ca2.cert_sha256, sizeof(pin)), 0);
		free(text);
	}
	identity_free(&ca);
	identity_free(&ca2);

	if (cert_identity("map-cn-nul", &id) == 0) {
		CU_ASSERT_EQUAL_FATAL(id.subject.count, 1);
		CU_ASSERT_EQUAL(id.subject.attrs[0].value.len, 10);
		CU_ASSERT_EQUAL(memcmp(id.subject.attrs[0].value.data,
		    "alice\0root", 10), 0);
		identity_free(&id);
	}
	if (cert_identity("map-cn-newline", &id) == 0) {
		CU_ASSERT_EQUAL_FATAL(id.subject.count, 1);
		CU_ASSERT_TRUE(bytes_equal_str(&id.subject.attrs[0].value,
		    "alice\nroot"));
		identity_free(&id);
	}
	if (cert_identity("map-cn-cyrillic", &id) == 0) {
		CU_ASSERT_EQUAL_FATAL(id.subject.count, 1);
		CU_ASSERT_TRUE(bytes_equal_str(&id.subject.attrs[0].value,
		    "\xd0\xb0lice"));
		identity_free(&id);
	}
	if (cert_identity("map-multi-ou", &id) == 0) {
		/* certificate order: OU=ops, OU=dev, CN=multi */
		CU_ASSERT_EQUAL_FATAL(id.subject.count, 3);
		CU_ASSERT_STRING_EQUAL(id.subject.attrs[0].type, "OU");
		CU_ASSERT_TRUE(bytes_equal_str(&id.subject.attrs[0].value,
		    "ops"));
		CU_ASSERT_TRUE(bytes_equal_str(&id.subject.attrs[1].value,
		    "dev"));
		identity_free(&id);
	}
	if (cert_identity("map-two-emails", &id) == 0) {
		CU_ASSERT_EQUAL_FATAL(id.san_email.count, 2);
		CU_ASSERT_TRUE(bytes_equal_str(&id.san_email.items[0],
		    "bob@corp.example"));
		CU_ASSERT_TRUE(bytes_equal_str(&id.san_email.items[1],
		    "carol@corp.example"));
		identity_free(&id);
	}
	if (cert_identity("map-ca2-alice", &id) == 0) {
		CU_ASSERT_TRUE(bytes_equal_str(&id.subject.rfc4514,
		    "CN=alice,O=Example Corp"));
		CU_ASSERT_TRUE(bytes_equal_str(&id.issuer.rfc4514, rootdn));
		CU_ASSERT_TRUE(id.eku_client_auth);
		identity_free(&id);
	}
}

static void
test_parse_pin(void)
{
	static const char upper[] = "sha256:"
	    "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
	    "F0:E1:D2:C3:B4:A5:96:87:78:69:5A:4B:3C:2D:1E:0F";
	static const char bare[] = "sha256:"
	    "00112233445566778899aabbccddeeff"
	    "f0e1d2c3b4a5968778695a4b3c2d1e0f";
	static const char mixed[] = "sha256:"
	    "00:11:22:33:44:55:66:77:88:99:aA:Bb:cc:DD:ee:FF:"
	    "f0:E1:d2:C3:b4:A5:96:87:78:69:5a:4B:3c:2D:1e:0f";
	static const unsigned char want[IDENTITY_SHA256_LEN] = {
		0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
		0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
		0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87,
		0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f };
	static const char *const bad[] = {
		"",
		"sha256:",
		/* no prefix */
		"00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
		"F0:E1:D2:C3:B4:A5:96:87:78:69:5A:4B:3C:2D:1E:0F",
		"sha1:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
		"F0:E1:D2:C3",
		/* 31 bytes */
		"sha256:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
		"F0:E1:D2:C3:B4:A5:96:87:78:69:5A:4B:3C:2D:1E",
		/* 63 digits */
		"sha256:00112233445566778899aabbccddeeff"
		"f0e1d2c3b4a5968778695a4b3c2d1e0",
		/* 33 bytes */
		"sha256:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
		"F0:E1:D2:C3:B4:A5:96:87:78:69:5A:4B:3C:2D:1E:0F:00",
		/* not hex */
		"sha256:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
		"F0:E1:D2:C3:B4:A5:96:87:78:69:5A:4B:3C:2D:1E:0G",
		"sha256:zz:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
		"F0:E1:D2:C3:B4:A5:96:87:78:69:5A:4B:3C:2D:1E:0F",
		/* a space inside, a trailing newline */
		"sha256:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF "
		"F0:E1:D2:C3:B4:A5:96:87:78:69:5A:4B:3C:2D:1E:0F",
		"sha256:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
		"F0:E1:D2:C3:B4:A5:96:87:78:69:5A:4B:3C:2D:1E:0F\n",
		/* a colon splitting a byte */
		"sha256:0:011:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
		"F0:E1:D2:C3:B4:A5:96:87:78:69:5A:4B:3C:2D:1E:0F",
	};
	unsigned char out[IDENTITY_SHA256_LEN];
	size_t i;

	memset(out, 0, sizeof(out));
	CU_ASSERT_EQUAL(mapping_parse_pin(upper, out), 0);
	CU_ASSERT_EQUAL(memcmp(out, want, sizeof(want)), 0);
	memset(out, 0, sizeof(out));
	CU_ASSERT_EQUAL(mapping_parse_pin(bare, out), 0);
	CU_ASSERT_EQUAL(memcmp(out, want, sizeof(want)), 0);
	memset(out, 0, sizeof(out));
	CU_ASSERT_EQUAL(mapping_parse_pin(mixed, out), 0);
	CU_ASSERT_EQUAL(memcmp(out, want, sizeof(want)), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (mapping_parse_pin(bad[i], out) != MTLS_ERR_INVALID)
			MFAIL("mapping_parse_pin accepted \"%s\"", bad[i]);
	}
}

static void
test_account_name_ok(void)
{
	static const char *const good[] = {
		"alice", "a", "_", "_svc", "svc-backup", "a.b", "a_b", "a-",
		"bob1", "a0.-_",
		"abcdefghijklmnopqrstuvwxyz012345",	/* 32 */
	};
	static const char *const bad[] = {
		"",
		"abcdefghijklmnopqrstuvwxyz0123456",	/* 33 */
		"1abc",			/* the pattern starts with [a-z_] */
		"-x",			/* ... so no leading '-' (an option) */
		".hidden", ".", "..", "../etc", "a/b",
		"Alice", "ALICE", "aLice",
		"a b", " alice", "alice ", "alice\n", "alice\t", "a\x7f",
		"alice$",		/* samba machine accounts: not here */
		"a:b", "a@b", "a+b", "a\\b", "a*", "a?",
		"\xd0\xb0lice",		/* Cyrillic a */
		"j\xc3\xbcrgen",		/* UTF-8 */
		"alice\xff",
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!mapping_account_name_ok(good[i]))
			MFAIL("mapping_account_name_ok refused \"%s\"",
			    good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (mapping_account_name_ok(bad[i]))
			MFAIL("mapping_account_name_ok accepted \"%s\"",
			    bad[i]);
}

static void
test_field_known(void)
{
	static const char *const known[] = {
		"subject", "issuer", "serial", "cert.sha256", "spki.sha256",
		"san.email", "san.dns", "san.uri",
		"subject.CN", "subject.O", "subject.OU", "subject.UID",
		"subject.emailAddress", "subject.serialNumber", "subject.DC",
		"subject.C", "issuer.CN", "issuer.O",
	};
	static const char *const unknown[] = {
		"", "nosuch", "subject.", "issuer.", "san", "san.", "san.ip",
		"san.email.x", "cert", "cert.sha1", "spki", "sha256",
		"subject.nosuch", "Subject.CN", "subject.cn", "subjectCN",
		"subject CN", " subject", "serial ",
	};
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!mapping_field_known(known[i]))
			MFAIL("mapping_field_known(\"%s\") is false", known[i]);
	for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		if (mapping_field_known(unknown[i]))
			MFAIL("mapping_field_known(\"%s\") is true",
			    unknown[i]);
}

/* Compile one rule; returns the code and leaves the message in err. */
static int
compile_one(const char *field, enum mapping_matcher m, const char *pattern,
    const char *account, char *err, size_t errsize, size_t *ngroups)
{
	struct mapping_rule r;
	int rc;

	memset(&r, 0, sizeof(r));
	r.name = strdup("r");
	r.line = 3;
	r.field = strdup(field);
	r.matcher = m;
	r.pattern = strdup(pattern);
	r.account = strdup(account);
	if (r.name == NULL || r.field == NULL || r.pattern == NULL ||
	    r.account == NULL) {
		mapping_rule_free(&r);
		return MTLS_ERR_NOMEM;
	}
	err[0] = '\0';
	rc = mapping_rule_compile(&r, err, errsize);
	if (rc == 0 && ngroups != NULL)
		*ngroups = r.ngroups;
	if (rc == 0 && !r.compiled)
		rc = 1;
	mapping_rule_free(&r);
	return rc;
}

static void
test_compile(void)
{
	static const struct {
		const char		*field;
		enum mapping_matcher	 m;
		const char		*pattern;
		const char		*account;
		const char		*says;	/* in the message */
	} bad[] = {
		{ "nosuch", EQ, "x", "alice", "nosuch" },
		{ "san.ip", EQ, "x", "alice", "san.ip" },
		{ "subject.nosuch", EQ, "x", "alice", "subject.nosuch" },
		{ "subject.CN", RE, "(alice", "alice", "regex" },
		{ "subject.CN", RE, "[a-", "alice", "regex" },
		{ "subject.CN", RE, "a{2,1}", "alice", "regex" },
		{ "subject.CN", RE, "(a)", "{2}", "2" },
		{ "subject.CN", RE, "alice", "{1}", "1" },
		{ "subject.CN", GLOB, "a*", "{1}", "1" },
		{ "subject.CN", EQ, "alice", "{1}", "1" },
		{ "subject.CN", RE, "(a)", "{0}", "0" },
		{ "subject.CN", EQ, "alice", "{nosuch}", "nosuch" },
		{ "subject.CN", EQ, "alice", "{subject.nosuch}", "nosuch" },
		{ "subject.CN", EQ, "alice", "{san.email.nosuch}", "nosuch" },
		{ "subject.CN", EQ, "alice", "{subject.CN", "{" },
		{ "subject.CN", EQ, "alice", "x{subject.CN", "{" },
		{ "subject.CN", EQ, "alice", "{{subject.CN}}", "{" },
		{ "subject.CN", EQ, "alice", "{}", "{" },
		{ "subject.CN", EQ, "alice", "", "" },
	};
	char err[MAPPING_ERR_MAX];
	size_t i, ng = 99;
	int rc;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = compile_one(bad[i].field, bad[i].m, bad[i].pattern,
		    bad[i].account, err, sizeof(err), NULL);
		if (rc >= 0)
			MFAIL("rule field=%s pattern=\"%s\" account=\"%s\" "
			    "compiled", bad[i].field, bad[i].pattern,
			    bad[i].account);
		else if (err[0] == '\0')
			MFAIL("rule field=%s account=\"%s\": failed (%d) "
			    "without a message", bad[i].field, bad[i].account,
			    rc);
		else if (strstr(err, bad[i].says) == NULL)
			MFAIL("rule field=%s pattern=\"%s\" account=\"%s\": "
			    "message \"%s\" does not mention \"%s\"",
			    bad[i].field, bad[i].pattern, bad[i].account, err,
			    bad[i].says);
	}

	/* what must compile */
	CU_ASSERT_EQUAL(compile_one("subject.CN", RE, "(a)(b)(c)", "{3}{1}",
	    err, sizeof(err), &ng), 0);
	CU_ASSERT_EQUAL(ng, 3);
	CU_ASSERT_EQUAL(compile_one("subject.CN", RE, "alice", "alice", err,
	    sizeof(err), &ng), 0);
	CU_ASSERT_EQUAL(ng, 0);
	CU_ASSERT_EQUAL(compile_one("subject.CN", RE,
	    "(1)(2)(3)(4)(5)(6)(7)(8)(9)", "{9}", err, sizeof(err), &ng), 0);
	CU_ASSERT_EQUAL(ng, 9);
	CU_ASSERT_EQUAL(compile_one("san.email", GLOB, "*@corp.example",
	    "{san.email.local}", err, sizeof(err), NULL), 0);
	CU_ASSERT_EQUAL(compile_one("san.email", GLOB, "*",
	    "x-{san.email.domain}-{subject.CN}", err, sizeof(err), NULL), 0);
	CU_ASSERT_EQUAL(compile_one("subject.emailAddress", GLOB, "*",
	    "{subject.emailAddress.local}", err, sizeof(err), NULL), 0);
	CU_ASSERT_EQUAL(compile_one("cert.sha256", EQ, "AB:CD", "svc-backup",
	    err, sizeof(err), NULL), 0);
}

static void
test_step_kind_names(void)
{
	static const enum step_kind kinds[] = { STEP_NO_MATCH, STEP_SKIPPED,
	    STEP_REJECTED, STEP_ACCOUNT, STEP_DUPLICATE };
	const char *names[5];
	size_t i, j;

	for (i = 0; i < 5; i++) {
		names[i] = mapping_step_kind_name(kinds[i]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(names[i]);
		CU_ASSERT_NOT_EQUAL(names[i][0], '\0');
		for (j = 0; j < i; j++)
			if (strcmp(names[i], names[j]) == 0)
				MFAIL("step kinds %zu and %zu are both \"%s\"",
				    j, i, names[i]);
	}
}

/* NULL lookup: the real NSS (Debian always has nobody and root). */
static void
test_real_nss(void)
{
	static const struct rspec rules[] = {
		{ "to-nobody", "subject.CN", EQ, "alice", false, PIN_NONE,
		  "nobody" },
		{ "to-root", "subject.CN", EQ, "alice", false, PIN_NONE,
		  "root" },
		{ "to-ghost", "subject.CN", EQ, "alice", false, PIN_NONE,
		  "no-such-user-mtls" },
	};
	struct mapping_rule r[3];
	struct mapping_set set;
	struct mapping_result res;
	struct account_policy pol;
	struct identity id;
	struct passwd *pw;
	char err[MAPPING_ERR_MAX];
	size_t i;

	if ((pw = getpwnam("nobody")) == NULL) {
		CU_FAIL("no user nobody on this system");
		return;
	}
	if (cert_identity("alice", &id) != 0)
		return;
	memset(r, 0, sizeof(r));
	for (i = 0; i < 3; i++) {
		r[i].name = (char *)rules[i].name;
		r[i].field = (char *)rules[i].field;
		r[i].matcher = rules[i].m;
		r[i].pattern = (char *)rules[i].pattern;
		r[i].account = (char *)rules[i].account;
		if (mapping_rule_compile(&r[i], err, sizeof(err)) != 0)
			MFAIL("rule %s: %s", r[i].name, err);
	}
	memset(&set, 0, sizeof(set));
	set.rules = r;
	set.nrules = 3;
	memset(&pol, 0, sizeof(pol));
	pol.min_uid = 1000;
	CU_ASSERT_EQUAL_FATAL(mapping_evaluate(&set, &id, NULL, &pol, &res),
	    0);
	CU_ASSERT_EQUAL(res.naccounts, 1);
	if (res.naccounts >= 1) {
		CU_ASSERT_STRING_EQUAL(res.accounts[0].name, "nobody");
		CU_ASSERT_EQUAL(res.accounts[0].uid, pw->pw_uid);
	}
	CU_ASSERT_EQUAL(res.nsteps, 3);
	for (i = 0; i < res.nsteps; i++)
		if (res.steps[i].rule != &r[0] &&
		    res.steps[i].kind != STEP_REJECTED)
			MFAIL("rule %s: step %s, want rejected",
			    res.steps[i].rule->name,
			    mapping_step_kind_name(res.steps[i].kind));
	mapping_result_free(&res);
	/* the strings belong to the table: free only what compile made */
	for (i = 0; i < 3; i++) {
		r[i].name = r[i].field = r[i].pattern = r[i].account = NULL;
		mapping_rule_free(&r[i]);
	}
	identity_free(&id);
}

void
unit_register_mapping(void)
{
	CU_pSuite s;
	char name[160];
	size_t i;

	s = CU_add_suite("mapping", NULL, NULL);
	CU_add_test(s, "fixtures", test_fixtures);
	CU_add_test(s, "mapping_parse_pin", test_parse_pin);
	CU_add_test(s, "mapping_account_name_ok", test_account_name_ok);
	CU_add_test(s, "mapping_field_known", test_field_known);
	CU_add_test(s, "mapping_rule_compile", test_compile);
	CU_add_test(s, "mapping_step_kind_name", test_step_kind_names);
	CU_add_test(s, "real NSS lookup", test_real_nss);

	s = CU_add_suite("mapping table", NULL, NULL);
	for (i = 0; i < NCASES; i++) {
		snprintf(name, sizeof(name), "case %zu: %s", i + 1,
		    cases[i].title);
		CU_add_test(s, name, test_case);
	}
}
