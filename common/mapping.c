/*
 * mapping.c: the certificate-to-account mapping engine (see mapping.h).
 *
 * Holes this engine is built to avoid (pam_pkcs11, SSSD certmap, OpenSSH
 * principals all had some): no rule means no account, never "anything";
 * regexes must match the whole value; a value with NUL or control bytes is
 * never matched (a C-string matcher would see "alice" in "alice\0root");
 * case folding is ASCII only and off by default; a raw field becomes a
 * login only when a template says so, and every account passes a strict
 * name syntax, NSS, and the uid policy.
 */
#include <stdarg.h>
#include <errno.h>
#include <fnmatch.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "error.h"
#include "mapping.h"

#define MAX_FIELD_VALUES	(IDENTITY_MAX_SANS + IDENTITY_MAX_ATTRS)
#define DISPLAY_MAX		160

static const char *const plain_fields[] = {
	"subject", "issuer", "serial", "cert.sha256", "spki.sha256",
	"san.email", "san.dns", "san.uri", NULL
};

/* The values of one field of an identity. */
struct field_values {
	const unsigned char	*v[MAX_FIELD_VALUES];
	size_t			 len[MAX_FIELD_VALUES];
	size_t			 n;
	char			 fpr[IDENTITY_FPR_TEXT];
};

static bool
dotted_oid(const char *s)
{
	bool dot = false;

	if (*s < '0' || *s > '9')
		return false;
	for (; *s; s++) {
		if (*s == '.') {
			if (s[1] < '0' || s[1] > '9')
				return false;
			dot = true;
		} else if (*s < '0' || *s > '9')
			return false;
	}
	return dot;
}

bool
mapping_field_known(const char *field)
{
	const char *attr = NULL;
	size_t i;

	for (i = 0; plain_fields[i] != NULL; i++)
		if (strcmp(field, plain_fields[i]) == 0)
			return true;
	if (strncmp(field, "subject.", 8) == 0)
		attr = field + 8;
	else if (strncmp(field, "issuer.", 7) == 0)
		attr = field + 7;
	return attr != NULL && (identity_attr_type_known(attr) ||
	    dotted_oid(attr));
}

static void
values_add_list(struct field_values *fv, const struct mtls_bytes_list *l)
{
	size_t i;

	for (i = 0; i < l->count && fv->n < MAX_FIELD_VALUES; i++) {
		fv->v[fv->n] = l->items[i].data;
		fv->len[fv->n++] = l->items[i].len;
	}
}

static void
values_add_attrs(struct field_values *fv, const struct identity_name *name,
    const char *type)
{
	size_t i;

	for (i = 0; i < name->count && fv->n < MAX_FIELD_VALUES; i++) {
		if (strcmp(name->attrs[i].type, type) != 0)
			continue;
		fv->v[fv->n] = name->attrs[i].value.data;
		fv->len[fv->n++] = name->attrs[i].value.len;
	}
}

static void
field_values(const struct identity *id, const char *field,
    struct field_values *fv)
{
	fv->n = 0;
	if (strcmp(field, "subject") == 0) {
		fv->v[0] = id->subject.rfc4514.data;
		fv->len[0] = id->subject.rfc4514.len;
		fv->n = 1;
	} else if (strcmp(field, "issuer") == 0) {
		fv->v[0] = id->issuer.rfc4514.data;
		fv->len[0] = id->issuer.rfc4514.len;
		fv->n = 1;
	} else if (strcmp(field, "serial") == 0) {
		fv->v[0] = (const unsigned char *)id->serial;
		fv->len[0] = strlen(id->serial);
		fv->n = 1;
	} else if (strcmp(field, "cert.sha256") == 0 ||
	    strcmp(field, "spki.sha256") == 0) {
		identity_fingerprint_text(field[0] == 'c' ? id->cert_sha256 :
		    id->spki_sha256, fv->fpr);
		fv->v[0] = (const unsigned char *)fv->fpr;
		fv->len[0] = strlen(fv->fpr);
		fv->n = 1;
	} else if (strcmp(field, "san.email") == 0)
		values_add_list(fv, &id->san_email);
	else if (strcmp(field, "san.dns") == 0)
		values_add_list(fv, &id->san_dns);
	else if (strcmp(field, "san.uri") == 0)
		values_add_list(fv, &id->san_uri);
	else if (strncmp(field, "subject.", 8) == 0)
		values_add_attrs(fv, &id->subject, field + 8);
	else if (strncmp(field, "issuer.", 7) == 0)
		values_add_attrs(fv, &id->issuer, field + 7);
}

static bool
has_control(const unsigned char *v, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (v[i] < 0x20 || v[i] == 0x7f)
			return true;
	return false;
}

/* A value as an explanation shows it: printable ASCII, the rest \xNN. */
static char *
display(const unsigned char *v, size_t len)
{
	struct mtls_buf b;
	size_t i;

	buf_init(&b, 0);
	for (i = 0; i < len && b.len < DISPLAY_MAX; i++) {
		if (v[i] == '\\')
			buf_append(&b, "\\\\", 2);
		else if (v[i] < 0x20 || v[i] >= 0x7f)
			buf_printf(&b, "\\x%02X", v[i]);
		else
			buf_append(&b, &v[i], 1);
	}
	if (i < len)
		buf_append_str(&b, "...");
	if (b.data == NULL)
		buf_append(&b, "", 0);
	return b.data;
}

int
mapping_parse_pin(const char *text, unsigned char out[IDENTITY_SHA256_LEN])
{
	size_t n = 0;
	int hi = -1, d;
	const char *p;

	if (strncmp(text, "sha256:", 7) != 0)
		return MTLS_ERR_INVALID;
	for (p = text + 7; *p; p++) {
		if (*p == ':') {
			/* Colons only between byte pairs. */
			if (hi != -1 || p[1] == '\0' || p == text + 7 ||
			    p[-1] == ':')
				return MTLS_ERR_INVALID;
			continue;
		}
		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			return MTLS_ERR_INVALID;
		if (hi == -1) {
			hi = d;
			continue;
		}
		if (n >= IDENTITY_SHA256_LEN)
			return MTLS_ERR_INVALID;
		out[n++] = (unsigned char)(hi << 4 | d);
		hi = -1;
	}
	return n == IDENTITY_SHA256_LEN && hi == -1 ? 0 : MTLS_ERR_INVALID;
}

bool
mapping_account_name_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > MAPPING_ACCOUNT_MAX)
		return false;
	if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
		return false;
	for (i = 1; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

static void
template_free(struct mapping_rule *r)
{
	size_t i;

	for (i = 0; i < r->nparts; i++) {
		free(r->parts[i].literal);
		free(r->parts[i].field);
	}
	free(r->parts);
	r->parts = NULL;
	r->nparts = 0;
}

static int
template_add(struct mapping_rule *r, struct template_part *part)
{
	struct template_part *p;

	p = reallocarray(r->parts, r->nparts + 1, sizeof(*p));
	if (p == NULL)
		return MTLS_ERR_NOMEM;
	r->parts = p;
	r->parts[r->nparts++] = *part;
	return 0;
}

/* Parse "{name}" reference text (without braces) into part. */
static int
template_ref(const struct mapping_rule *r, const char *ref,
    struct template_part *part, char *err, size_t errsize)
{
	size_t n = strlen(ref);

	memset(part, 0, sizeof(*part));
	if (n == 1 && ref[0] >= '1' && ref[0] <= '9') {
		part->group = ref[0] - '0';
		if (r->matcher != MATCH_REGEX) {
			snprintf(err, errsize, "account template uses {%s} but "
			    "only a regex rule has groups", ref);
			return MTLS_ERR_CONFIG;
		}
		if ((size_t)part->group > r->ngroups) {
			snprintf(err, errsize, "account template uses {%s} but "
			    "the regex has %zu group%s", ref, r->ngroups,
			    r->ngroups == 1 ? "" : "s");
			return MTLS_ERR_CONFIG;
		}
		return 0;
	}
	if ((part->field = strdup(ref)) == NULL)
		return MTLS_ERR_NOMEM;
	if (mapping_field_known(ref))
		return 0;
	if (n > 6 && strcmp(ref + n - 6, ".local") == 0) {
		part->field[n - 6] = '\0';
		part->part = TPART_LOCAL;
	} else if (n > 7 && strcmp(ref + n - 7, ".domain") == 0) {
		part->field[n - 7] = '\0';
		part->part = TPART_DOMAIN;
	}
	if (part->part != TPART_WHOLE && mapping_field_known(part->field))
		return 0;
	snprintf(err, errsize, "account template names unknown field {%s}",
	    ref);
	free(part->field);
	part->field = NULL;
	return MTLS_ERR_CONFIG;
}

static int
template_compile(struct mapping_rule *r, char *err, size_t errsize)
{
	const char *p = r->account, *close;
	struct template_part part;
	char ref[MAPPING_TEMPLATE_MAX];
	size_t n;
	int rc;

	if (strlen(r->account) > MAPPING_TEMPLATE_MAX) {
		snprintf(err, errsize, "account template longer than %d bytes",
		    MAPPING_TEMPLATE_MAX);
		return MTLS_ERR_CONFIG;
	}
	while (*p != '\0') {
		if (*p == '{') {
			if ((close = strchr(p + 1, '}')) == NULL ||
			    memchr(p + 1, '{', (size_t)(close - p - 1)) !=
			    NULL) {
				snprintf(err, errsize, "account template has "
				    "an unbalanced '{'");
				return MTLS_ERR_CONFIG;
			}
			n = (size_t)(close - p - 1);
			if (n == 0) {
				snprintf(err, errsize, "account template has "
				    "an empty {}");
				return MTLS_ERR_CONFIG;
			}
			memcpy(ref, p + 1, n);
			ref[n] = '\0';
			if ((rc = template_ref(r, ref, &part, err,
			    errsize)) != 0)
				return rc;
			p = close + 1;
		} else if (*p == '}') {
			snprintf(err, errsize, "account template has an "
			    "unbalanced '}'");
			return MTLS_ERR_CONFIG;
		} else {
			n = strcspn(p, "{}");
			memset(&part, 0, sizeof(part));
			if ((part.literal = strndup(p, n)) == NULL)
				return MTLS_ERR_NOMEM;
			p += n;
		}
		if ((rc = template_add(r, &part)) != 0) {
			free(part.literal);
			free(part.field);
			return rc;
		}
	}
	if (r->nparts == 0) {
		snprintf(err, errsize, "account is empty");
		return MTLS_ERR_CONFIG;
	}
	return 0;
}

int
mapping_rule_compile(struct mapping_rule *r, char *err, size_t errsize)
{
	char msg[256];
	int rc;

	if (r->compiled)
		return 0;
	if (r->field == NULL || !mapping_field_known(r->field)) {
		snprintf(err, errsize, "unknown field \"%s\"",
		    r->field ? r->field : "");
		return MTLS_ERR_CONFIG;
	}
	if (r->pattern == NULL || r->account == NULL ||
	    (r->matcher != MATCH_EQUALS && r->matcher != MATCH_GLOB &&
	    r->matcher != MATCH_REGEX)) {
		snprintf(err, errsize, "rule needs a matcher and an account");
		return MTLS_ERR_CONFIG;
	}
	if (strlen(r->pattern) > MAPPING_PATTERN_MAX) {
		snprintf(err, errsize, "pattern longer than %d bytes",
		    MAPPING_PATTERN_MAX);
		return MTLS_ERR_CONFIG;
	}
	if (r->matcher == MATCH_REGEX) {
		/*
		 * Not wrapped in ^(...)$: a pattern such as "a)|(b" would
		 * break out of the wrapper.  mapping_evaluate instead
		 * requires the match to span the whole value.
		 */
		rc = regcomp(&r->re, r->pattern, REG_EXTENDED |
		    (r->ignore_case ? REG_ICASE : 0));
		if (rc != 0) {
			regerror(rc, &r->re, msg, sizeof(msg));
			snprintf(err, errsize, "bad regex \"%s\": %s",
			    r->pattern, msg);
			return MTLS_ERR_CONFIG;
		}
		r->ngroups = r->re.re_nsub;
	}
	if ((rc = template_compile(r, err, errsize)) != 0) {
		template_free(r);
		if (r->matcher == MATCH_REGEX)
			regfree(&r->re);
		return rc;
	}
	r->compiled = true;
	return 0;
}

void
mapping_rule_free(struct mapping_rule *r)
{
	if (r->compiled && r->matcher == MATCH_REGEX)
		regfree(&r->re);
	template_free(r);
	free(r->name);
	free(r->field);
	free(r->pattern);
	free(r->account);
	memset(r, 0, sizeof(*r));
}

void
mapping_set_free(struct mapping_set *s)
{
	size_t i;

	for (i = 0; i < s->nrules; i++)
		mapping_rule_free(&s->rules[i]);
	free(s->rules);
	free(s->name);
	memset(s, 0, sizeof(*s));
}

static void
ascii_lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static bool
ascii_equal_nocase(const unsigned char *a, size_t alen, const char *b)
{
	size_t i;

	if (alen != strlen(b))
		return false;
	for (i = 0; i < alen; i++) {
		unsigned char x = a[i], y = (unsigned char)b[i];
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

/*
 * Match one control-free value.  groups receives the regex groups (as
 * offsets into value).  Returns 1 matched, 0 not, negative on error.
 */
static int
rule_match(const struct mapping_rule *r, const unsigned char *value,
    size_t len, regmatch_t groups[MAPPING_MAX_GROUPS + 1])
{
	char *v, *pat;
	int rc;

	switch (r->matcher) {
	case MATCH_EQUALS:
		if (r->ignore_case)
			return ascii_equal_nocase(value, len, r->pattern);
		return len == strlen(r->pattern) &&
		    memcmp(value, r->pattern, len) == 0;
	case MATCH_GLOB:
		/* An empty pattern matches only the empty value. */
		if ((v = strndup((const char *)value, len)) == NULL ||
		    (pat = strdup(r->pattern)) == NULL) {
			free(v);
			return MTLS_ERR_NOMEM;
		}
		if (r->ignore_case) {
			ascii_lower(v);
			ascii_lower(pat);
		}
		rc = fnmatch(pat, v, 0) == 0;
		free(v);
		free(pat);
		return rc;
	case MATCH_REGEX:
		if ((v = strndup((const char *)value, len)) == NULL)
			return MTLS_ERR_NOMEM;
		memset(groups, 0, sizeof(regmatch_t) *
		    (MAPPING_MAX_GROUPS + 1));
		rc = regexec(&r->re, v, MAPPING_MAX_GROUPS + 1, groups, 0);
		free(v);
		/* The whole value, never a part of it (DESIGN 4.6). */
		return rc == 0 && groups[0].rm_so == 0 &&
		    (size_t)groups[0].rm_eo == len;
	}
	return 0;
}

/* Expand the template; 0, or a reason in why. */
static int
template_expand(const struct mapping_rule *r, const struct identity *id,
    const unsigned char *value, size_t len, const regmatch_t *groups,
    struct mtls_buf *out, char *why, size_t whysize)
{
	const struct template_part *p;
	struct field_values fv;
	const unsigned char *v, *at;
	size_t i, vlen;

	for (i = 0; i < r->nparts; i++) {
		p = &r->parts[i];
		if (p->literal != NULL) {
			buf_append_str(out, p->literal);
			continue;
		}
		if (p->group > 0) {
			if (groups[p->group].rm_so < 0) {
				snprintf(why, whysize, "regex group {%d} did "
				    "not take part in the match", p->group);
				return -1;
			}
			buf_append(out, value + groups[p->group].rm_so,
			    (size_t)(groups[p->group].rm_eo -
			    groups[p->group].rm_so));
			continue;
		}
		if (strcmp(p->field, r->field) == 0) {
			v = value;
			vlen = len;
		} else {
			field_values(id, p->field, &fv);
			if (fv.n != 1) {
				snprintf(why, whysize, "template field {%s} "
				    "has %zu values, needs exactly one",
				    p->field, fv.n);
				return -1;
			}
			v = fv.v[0];
			vlen = fv.len[0];
			if (has_control(v, vlen)) {
				snprintf(why, whysize, "template field {%s} "
				    "holds NUL or control bytes", p->field);
				return -1;
			}
		}
		if (p->part != TPART_WHOLE) {
			at = memchr(v, '@', vlen);
			if (at == NULL || memchr(at + 1, '@',
			    vlen - (size_t)(at - v) - 1) != NULL) {
				snprintf(why, whysize, "{%s.%s}: value is not "
				    "of the form local@domain", p->field,
				    p->part == TPART_LOCAL ? "local" :
				    "domain");
				return -1;
			}
			if (p->part == TPART_LOCAL)
				vlen = (size_t)(at - v);
			else {
				vlen -= (size_t)(at - v) + 1;
				v = at + 1;
			}
		}
		buf_append(out, v, vlen);
	}
	return 0;
}

static int
default_lookup(const char *name, uid_t *uid, void *arg)
{
	struct passwd pw, *res = NULL;
	char buf[16384];
	int rc;

	(void)arg;
	rc = getpwnam_r(name, &pw, buf, sizeof(buf), &res);
	if (rc != 0)
		return MTLS_ERR_SYSTEM;
	if (res == NULL)
		return MTLS_ERR_NOT_FOUND;
	*uid = pw.pw_uid;
	return 0;
}

static int
add_step(struct mapping_result *res, const struct mapping_rule *r,
    enum step_kind kind, const unsigned char *value, size_t vlen,
    const char *account, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static int
add_step(struct mapping_result *res, const struct mapping_rule *r,
    enum step_kind kind, const unsigned char *value, size_t vlen,
    const char *account, const char *fmt, ...)
{
	struct mapping_step *s;
	va_list ap;

	s = reallocarray(res->steps, res->nsteps + 1, sizeof(*s));
	if (s == NULL)
		return MTLS_ERR_NOMEM;
	res->steps = s;
	s = &res->steps[res->nsteps];
	memset(s, 0, sizeof(*s));
	s->rule = r;
	s->kind = kind;
	if ((value != NULL && (s->value = display(value, vlen)) == NULL) ||
	    (account != NULL && (s->account = strdup(account)) == NULL)) {
		free(s->value);
		return MTLS_ERR_NOMEM;
	}
	va_start(ap, fmt);
	vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
	va_end(ap);
	res->nsteps++;
	return 0;
}

/* Check an expanded account and add it; returns 0 or MTLS_ERR_NOMEM. */
static int
consider_account(struct mapping_result *res, const struct mapping_rule *r,
    const struct account_policy *pol, const unsigned char *value,
    size_t vlen, const char *account)
{
	struct mapping_account *a;
	uid_t uid = 0;
	size_t i;
	int rc;

	if (!mapping_account_name_ok(account))
		return add_step(res, r, STEP_REJECTED, value, vlen, NULL,
		    "account \"%.64s\" is not a valid account name", account);
	rc = (pol->lookup ? pol->lookup : default_lookup)(account, &uid,
	    pol->lookup_arg);
	if (rc == MTLS_ERR_NOT_FOUND)
		return add_step(res, r, STEP_REJECTED, value, vlen, account,
		    "account %s: no such user", account);
	if (rc != 0)
		return add_step(res, r, STEP_REJECTED, value, vlen, account,
		    "account %s: user lookup failed", account);
	if (uid == 0 && !pol->allow_root)
		return add_step(res, r, STEP_REJECTED, value, vlen, account,
		    "account %s: uid 0 denied (accounts.allow_root is false)",
		    account);
	if (uid != 0 && uid < (uid_t)pol->min_uid)
		return add_step(res, r, STEP_REJECTED, value, vlen, account,
		    "account %s: uid %u below accounts.min_uid %d", account,
		    (unsigned)uid, pol->min_uid);
	for (i = 0; i < res->naccounts; i++)
		if (strcmp(res->accounts[i].name, account) == 0)
			return add_step(res, r, STEP_DUPLICATE, value, vlen,
			    account, "account %s already given by rule %s",
			    account, res->accounts[i].rule->name);
	if (res->naccounts >= MAPPING_MAX_ACCOUNTS)
		return add_step(res, r, STEP_REJECTED, value, vlen, account,
		    "more than %d accounts", MAPPING_MAX_ACCOUNTS);
	a = reallocarray(res->accounts, res->naccounts + 1, sizeof(*a));
	if (a == NULL)
		return MTLS_ERR_NOMEM;
	res->accounts = a;
	a = &res->accounts[res->naccounts++];
	memset(a, 0, sizeof(*a));
	snprintf(a->name, sizeof(a->name), "%s", account);
	a->uid = uid;
	a->rule = r;
	return add_step(res, r, STEP_ACCOUNT, value, vlen, account,
	    "account %s (uid %u)", account, (unsigned)uid);
}

static int
evaluate_rule(const struct mapping_rule *r, const struct identity *id,
    const unsigned char *issuer_sha256, const struct account_policy *pol,
    struct mapping_result *res)
{
	regmatch_t groups[MAPPING_MAX_GROUPS + 1];
	struct field_values fv;
	struct mtls_buf account;
	char why[160], fpr[IDENTITY_FPR_TEXT];
	bool matched = false, refused = false;
	size_t i;
	int rc = 0, m;

	if (r->has_issuer_pin && (issuer_sha256 == NULL ||
	    memcmp(issuer_sha256, r->issuer_pin, IDENTITY_SHA256_LEN) != 0)) {
		if (issuer_sha256 == NULL)
			return add_step(res, r, STEP_SKIPPED, NULL, 0, NULL,
			    "issuer pin set but the issuing CA is unknown");
		identity_fingerprint_text(issuer_sha256, fpr);
		return add_step(res, r, STEP_SKIPPED, NULL, 0, NULL,
		    "issuer pin does not match (issuer sha256:%s)", fpr);
	}
	field_values(id, r->field, &fv);
	if (fv.n == 0)
		return add_step(res, r, STEP_SKIPPED, NULL, 0, NULL,
		    "certificate has no %s", r->field);
	for (i = 0; i < fv.n && rc == 0; i++) {
		if (has_control(fv.v[i], fv.len[i])) {
			refused = true;
			rc = add_step(res, r, STEP_REJECTED, fv.v[i], fv.len[i],
			    NULL, "value holds NUL or control bytes: never "
			    "mapped");
			continue;
		}
		if ((m = rule_match(r, fv.v[i], fv.len[i], groups)) < 0)
			return m;
		if (m == 0)
			continue;
		matched = true;
		buf_init(&account, MAPPING_TEMPLATE_MAX * 4);
		if (template_expand(r, id, fv.v[i], fv.len[i], groups,
		    &account, why, sizeof(why)) != 0)
			rc = add_step(res, r, STEP_REJECTED, fv.v[i], fv.len[i],
			    NULL, "%s", why);
		else if (account.data == NULL ||
		    strlen(account.data) != account.len)
			rc = add_step(res, r, STEP_REJECTED, fv.v[i], fv.len[i],
			    NULL, "template gave an empty or invalid account");
		else
			rc = consider_account(res, r, pol, fv.v[i], fv.len[i],
			    account.data);
		buf_free(&account);
	}
	if (rc == 0 && !matched && !refused)
		rc = add_step(res, r, STEP_NO_MATCH, fv.n == 1 ? fv.v[0] : NULL,
		    fv.n == 1 ? fv.len[0] : 0, NULL, "%s does not match",
		    fv.n == 1 ? r->field : "no value of the field");
	return rc;
}

int
mapping_evaluate(const struct mapping_set *set, const struct identity *id,
    const unsigned char *issuer_sha256, const struct account_policy *policy,
    struct mapping_result *out)
{
	size_t i;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	for (i = 0; set != NULL && i < set->nrules && rc == 0; i++) {
		if (!set->rules[i].compiled)
			continue;	/* never happens: config compiles all */
		rc = evaluate_rule(&set->rules[i], id, issuer_sha256, policy,
		    out);
	}
	if (rc != 0)
		mapping_result_free(out);
	return rc;
}

void
mapping_result_free(struct mapping_result *r)
{
	size_t i;

	for (i = 0; i < r->nsteps; i++) {
		free(r->steps[i].value);
		free(r->steps[i].account);
	}
	free(r->steps);
	free(r->accounts);
	memset(r, 0, sizeof(*r));
}

const char *
mapping_step_kind_name(enum step_kind kind)
{
	switch (kind) {
	case STEP_NO_MATCH:	return "not matched";
	case STEP_SKIPPED:	return "skipped";
	case STEP_REJECTED:	return "rejected";
	case STEP_ACCOUNT:	return "matched";
	case STEP_DUPLICATE:	return "duplicate";
	}
	return "unknown";
}
