/*
 * mapping.h: certificate-to-account mapping (DESIGN 3.2 "mappings", 4.5,
 * 4.6).  Pure: an identity record and the issuing CA's fingerprint in,
 * accounts and an explanation out.  Shared by mtlsd and "mtlsctl map".
 *
 * A rule set is an ordered list of rules.  Every rule is evaluated; each
 * value of the rule's field that matches yields the account its template
 * expands to, and that account is kept only if the account policy accepts
 * it.  The result is the ordered, de-duplicated list of accounts, each
 * with the first rule that produced it.  No rule matching means no account.
 */
#ifndef MTLS_MAPPING_H
#define MTLS_MAPPING_H

#include <sys/types.h>

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "identity.h"

#define MAPPING_NAME_MAX	64
#define MAPPING_MAX_SETS	64
#define MAPPING_MAX_RULES	256	/* per set */
#define MAPPING_PATTERN_MAX	1024
#define MAPPING_TEMPLATE_MAX	256
#define MAPPING_ACCOUNT_MAX	32	/* longest account name */
#define MAPPING_MAX_ACCOUNTS	64	/* per evaluation */
#define MAPPING_MAX_GROUPS	9	/* {1}..{9} */
#define MAPPING_ERR_MAX		512

enum mapping_matcher {
	MATCH_EQUALS = 1,
	MATCH_GLOB,
	MATCH_REGEX,
};

/* One piece of an account template: literal text or a reference. */
struct template_part {
	char	*literal;	/* NULL for a reference */
	char	*field;		/* "san.email", or NULL for a group */
	int	 part;		/* TPART_WHOLE, TPART_LOCAL, TPART_DOMAIN */
	int	 group;		/* 1..9 for {N}, else 0 */
};
#define TPART_WHOLE	0
#define TPART_LOCAL	1
#define TPART_DOMAIN	2

struct mapping_rule {
	/* as configured (filled by the configuration loader) */
	char			*name;
	int			 line;		/* where the rule starts */
	char			*field;		/* "subject.CN", "san.email", ... */
	enum mapping_matcher	 matcher;
	char			*pattern;
	bool			 ignore_case;
	bool			 has_issuer_pin;
	unsigned char		 issuer_pin[IDENTITY_SHA256_LEN];
	char			*account;	/* literal or template */
	/* compiled by mapping_rule_compile */
	bool			 compiled;
	regex_t			 re;		/* MATCH_REGEX; must span the value */
	size_t			 ngroups;	/* groups of the user's pattern */
	struct template_part	*parts;
	size_t			 nparts;
};

struct mapping_set {
	char			*name;
	int			 line;
	struct mapping_rule	*rules;
	size_t			 nrules;
};

/*
 * Parse "sha256:AB:CD:..." (64 hex digits, colons optional, any case)
 * into out.  Returns 0 or MTLS_ERR_INVALID.
 */
int	 mapping_parse_pin(const char *text, unsigned char out[IDENTITY_SHA256_LEN]);

/* True when field names a field rules may use ("subject.CN", "serial"...). */
bool	 mapping_field_known(const char *field);

/*
 * Check and compile a rule: known field, pattern compiles (regex), template
 * references known fields and existing groups.  On failure err holds a
 * message without position ("bad regex: ..."); the caller adds
 * "FILE:LINE: mapping SET rule NAME: ".
 */
int	 mapping_rule_compile(struct mapping_rule *r, char *err, size_t errsize);
void	 mapping_rule_free(struct mapping_rule *r);
void	 mapping_set_free(struct mapping_set *s);

/* Who may be an account (accounts.min_uid, accounts.allow_root, NSS). */
struct account_policy {
	int	 min_uid;
	bool	 allow_root;
	/*
	 * Look name up; 0 and *uid when it exists, MTLS_ERR_NOT_FOUND when
	 * not, another negative code when the lookup failed.  NULL means
	 * getpwnam_r (NSS: files, LDAP, SSSD).
	 */
	int	(*lookup)(const char *name, uid_t *uid, void *arg);
	void	*lookup_arg;
};

/* Syntax every account must have: ^[a-z_][a-z0-9_.-]{0,31}$ */
bool	 mapping_account_name_ok(const char *name);

enum step_kind {
	STEP_NO_MATCH,		/* the rule did not match (reason says why) */
	STEP_SKIPPED,		/* issuer pin differs, or field has no value */
	STEP_REJECTED,		/* matched, but the value or account was refused */
	STEP_ACCOUNT,		/* matched and produced an accepted account */
	STEP_DUPLICATE,		/* matched, account already produced */
};

/* One line of the explanation. */
struct mapping_step {
	const struct mapping_rule *rule;
	enum step_kind		 kind;
	char			*value;		/* the field value, display form */
	char			*account;	/* expanded account, or NULL */
	char			 reason[192];
};

struct mapping_account {
	char			 name[MAPPING_ACCOUNT_MAX + 1];
	uid_t			 uid;
	const struct mapping_rule *rule;	/* first rule that produced it */
};

struct mapping_result {
	struct mapping_account	*accounts;
	size_t			 naccounts;
	struct mapping_step	*steps;
	size_t			 nsteps;
};

/*
 * Evaluate every rule of set against id.  issuer_sha256 is the fingerprint
 * of the certificate that issued id (NULL when unknown: rules with an
 * issuer pin then never match).  Returns 0 (even when no account results)
 * or MTLS_ERR_NOMEM; the result must be freed.
 */
int	 mapping_evaluate(const struct mapping_set *set,
	    const struct identity *id, const unsigned char *issuer_sha256,
	    const struct account_policy *policy, struct mapping_result *out);
void	 mapping_result_free(struct mapping_result *r);

const char *mapping_step_kind_name(enum step_kind kind);

#endif
