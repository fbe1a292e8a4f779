/*
 * test_config.c: config_load against good and bad mtlsd.conf snippets.
 *
 * Every bad snippet must fail with a message that starts with the exact
 * "PATH:LINE: " of the mistake and names the key, because that is what a
 * user sees from mtlsd -t.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <libconfig.h>

#include "config.h"
#include "error.h"
#include "unit.h"

/*
 * A listener with every required key; "opt" ends line 6, "extra" lands on
 * line 7, the listen value on line 2 and the upstream value on line 3.
 */
#define LST_OPT(listen, upstream, opt, extra)				\
	"listeners = ( { name = \"ssh\";\n"				\
	"    listen = \"" listen "\";\n"				\
	"    upstream = \"" upstream "\";\n"				\
	"    certificate = \"/etc/mtls/server.crt\";\n"			\
	"    private_key = \"/etc/mtls/server.key\";\n"			\
	"    client_ca = \"/etc/mtls/clients-ca.pem\";" opt "\n"	\
	extra								\
	"} );\n"
/* Without a rule set, which require_mapping (default true) refuses. */
#define NOMAP		" require_mapping = false;"
#define LST(listen, upstream, extra)					\
	LST_OPT(listen, upstream, NOMAP, extra)
#define GOOD_LST	LST("127.0.0.1:8443", "127.0.0.1:22", "")

/*
 * A listener using rule set "staff" (lines 1-7), then "mappings" with
 * that set: "mappings = {" on line 8, "staff = (" on line 9 and the
 * rules from line 10 on.
 */
#define MAPPED(rules)							\
	LST_OPT("127.0.0.1:8443", "127.0.0.1:22",			\
	    " mapping = \"staff\";", "")				\
	"mappings = {\n"						\
	"  staff = (\n"							\
	rules								\
	"  );\n"							\
	"};\n"

/* A good rule, for sets whose other rules are the point of a test. */
#define CN_RULE(name)							\
	"    { name = \"" name "\"; field = \"subject.CN\";"		\
	" regex = \"[a-z]+\"; account = \"{subject.CN}\"; }"

/* SHA-256 fingerprints as mtlsctl prints them, and as an issuer pin. */
#define FPR_AB								\
	"AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:"		\
	"AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"
#define PIN_01								\
	"sha256:0102030405060708090a0b0c0d0e0f10"			\
	"1112131415161718191a1b1c1d1e1f20"

/*
 * Every key the parser knows, none at its default.  The mappings come
 * after the listeners that name them.
 */
static const char full_config[] =
	"# every key, none at its default\n"
	"user = \"nobody\";\n"
	"group = \"nogroup\";\n"
	"query = { socket = \"/run/test/q.sock\"; group = \"wheel\";\n"
	"    mode = 0640; };\n"
	"log = { level = \"debug\"; facility = \"local3\"; };\n"
	"accounts = { min_uid = 500; allow_root = true; };\n"
	"workers = 4;\n"
	"listeners = (\n"
	"  { name = \"ssh\";\n"				/* line 10 */
	"    listen = \"[::1]:8443\";\n"
	"    certificate = \"/etc/mtls/server.crt\";\n"
	"    private_key = \"/etc/mtls/server.key\";\n"
	"    client_ca = \"/etc/mtls/clients-ca.pem\";\n"
	"    verify_depth = 2;\n"
	"    tls_min_version = \"1.3\";\n"
	"    require_client_auth_eku = false;\n"
	"    upstream = \"unix:/run/x.sock\";\n"
	"    handshake_timeout = 5;\n"
	"    idle_timeout = 60;\n"
	"    max_connections = 100; ocsp = { mode = \"hard\"; timeout = 5;"
	" cache = 60; responder = \"http://ocsp.corp.example:8080/ocsp\"; };\n"
	"    mapping = \"staff\";\n"
	"    require_mapping = false;"
	" crl = [ \"/etc/mtls/root.crl\", \"/etc/mtls/sub.crl\" ];"
	" crl_expired = \"warn\"; proxy_protocol = \"v2\";\n"	/* line 23 */
	"  },\n"
	"  { name = \"imap\";\n"			/* line 25 */
	"    listen = \"127.0.0.1:9993\";\n"
	"    certificate = \"/etc/mtls/imap.crt\";\n"
	"    private_key = \"/etc/mtls/imap.key\";\n"
	"    client_ca = \"/etc/mtls/clients-ca.pem\";\n"
	"    upstream = \"127.0.0.1:143\";\n"
	"    mapping = \"ops\"; },"
	" { name = \"whoami\"; listen = \"127.0.0.1:9443\";"
	" certificate = \"/etc/mtls/server.crt\";"
	" private_key = \"/etc/mtls/server.key\";"
	" client_ca = \"/etc/mtls/clients-ca.pem\";"
	" responder = true; mapping = \"ops\"; ticket_ttl = 300; }\n"	/* line 31 */
	");\n"
	"mappings = {\n"
	"  staff = (\n"					/* line 34 */
	"    { name = \"by-email\"; field = \"san.email\";\n"	/* 35 */
	"      glob = \"*@corp.example\"; ignore_case = true;\n"
	"      account = \"{san.email.local}\"; },\n"
	"    { name = \"by-cn\"; field = \"subject.CN\";\n"	/* 38 */
	"      regex = \"^[a-z][a-z0-9_-]{0,31}$\";\n"
	"      issuer = \"" PIN_01 "\";\n"
	"      account = \"{subject.CN}\"; },\n"
	"    { name = \"backup\"; field = \"cert.sha256\";\n"	/* 42 */
	"      equals = \"" FPR_AB "\";\n"
	"      account = \"svc-backup\"; }\n"
	"  );\n"
	"  ops = ( { name = \"team\"; field = \"subject.OU\";\n"	/* 46 */
	"      regex = \"(ops|dev)-([a-z]+)\"; account = \"{2}.{1}\"; } );\n"
	"};\n";

static int
write_temp(const char *data, size_t len, char *path, size_t size)
{
	ssize_t w;
	size_t off = 0;
	int fd;

	snprintf(path, size, "/tmp/mtls-test-config.XXXXXX");
	if ((fd = mkstemp(path)) == -1)
		return -1;
	while (off < len) {
		if ((w = write(fd, data + off, len - off)) <= 0) {
			close(fd);
			unlink(path);
			return -1;
		}
		off += (size_t)w;
	}
	close(fd);
	return 0;
}

/* Load text; returns config_load's code with the file already removed. */
static int
load_text(const char *text, struct mtlsd_config *cfg, char *err,
    size_t errsize)
{
	char path[64];
	int rc;

	if (write_temp(text, strlen(text), path, sizeof(path)) != 0)
		return MTLS_ERR_SYSTEM;
	rc = config_load(path, cfg, err, errsize);
	unlink(path);
	return rc;
}

/*
 * data must fail to load with "PATH:LINE: " then needle, and then needle2
 * (when not NULL) further on.
 */
static void
expect_error_at(const char *data, size_t len, unsigned int line,
    const char *needle, const char *needle2, int srcline)
{
	struct mtlsd_config cfg;
	char path[64], err[CONFIG_ERR_MAX], prefix[96];
	char msg[CONFIG_ERR_MAX + 512];
	const char *at;
	size_t plen;
	int rc, ok;

	if (write_temp(data, len, path, sizeof(path)) != 0) {
		CU_FAIL("cannot write a temporary config file");
		return;
	}
	strcpy(err, "(no message)");
	rc = config_load(path, &cfg, err, sizeof(err));
	unlink(path);
	snprintf(prefix, sizeof(prefix), "%s:%u: ", path, line);
	plen = strlen(prefix);
	ok = rc == MTLS_ERR_CONFIG && strncmp(err, prefix, plen) == 0 &&
	    (at = strstr(err + plen, needle)) != NULL &&
	    (needle2 == NULL || strstr(at + strlen(needle), needle2) != NULL) &&
	    strchr(err, '\n') == NULL;
	snprintf(msg, sizeof(msg), "test_config.c:%d: want \"%s...%s...%s\", "
	    "got %d \"%s\"", srcline, prefix, needle,
	    needle2 != NULL ? needle2 : "", rc, err);
	CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, (unsigned int)srcline,
	    msg, __FILE__, "", CU_FALSE);
	/* A failed load leaves nothing behind. */
	CU_ASSERT(cfg.file == NULL && cfg.listeners == NULL &&
	    cfg.user == NULL && cfg.n_listeners == 0 &&
	    cfg.mappings == NULL && cfg.n_mappings == 0);
	config_free(&cfg);
}

#define EXPECT_ERROR(text, line, needle)				\
	expect_error_at((text), strlen(text), (line), (needle), NULL,	\
	    __LINE__)
#define EXPECT_ERROR2(text, line, needle, needle2)			\
	expect_error_at((text), strlen(text), (line), (needle), (needle2), \
	    __LINE__)

static const char *
srcdir_file(const char *rel, char *buf, size_t size)
{
	const char *dir = getenv("MTLS_SRCDIR");

	snprintf(buf, size, "%s/%s", dir != NULL && *dir != '\0' ? dir : ".",
	    rel);
	return buf;
}

static int
is_known(const char *key)
{
	const char *const *k;

	for (k = config_known_keys(); *k != NULL; k++)
		if (strcmp(*k, key) == 0)
			return 1;
	return 0;
}

static void
check_pin(const unsigned char *pin)
{
	size_t i;

	for (i = 0; i < IDENTITY_SHA256_LEN; i++)
		if (pin[i] != i + 1)
			break;
	CU_ASSERT_EQUAL(i, IDENTITY_SHA256_LEN);
}

/* The "mappings" of full_config, as parsed and compiled. */
static void
check_full_mappings(const struct mtlsd_config *cfg)
{
	const struct mapping_set *set;
	const struct mapping_rule *r;
	size_t i;

	CU_ASSERT_EQUAL_FATAL(cfg->n_mappings, 2);
	CU_ASSERT_PTR_EQUAL(cfg->listeners[0].mapping_set, &cfg->mappings[0]);
	CU_ASSERT_PTR_EQUAL(cfg->listeners[1].mapping_set, &cfg->mappings[1]);

	set = &cfg->mappings[0];
	CU_ASSERT_STRING_EQUAL(set->name, "staff");
	CU_ASSERT_EQUAL(set->line, 34);
	CU_ASSERT_EQUAL_FATAL(set->nrules, 3);
	for (i = 0; i < set->nrules; i++)
		CU_ASSERT(set->rules[i].compiled);

	r = &set->rules[0];
	CU_ASSERT_STRING_EQUAL(r->name, "by-email");
	CU_ASSERT_EQUAL(r->line, 35);
	CU_ASSERT_STRING_EQUAL(r->field, "san.email");
	CU_ASSERT_EQUAL(r->matcher, MATCH_GLOB);
	CU_ASSERT_STRING_EQUAL(r->pattern, "*@corp.example");
	CU_ASSERT(r->ignore_case);
	CU_ASSERT(!r->has_issuer_pin);
	CU_ASSERT_STRING_EQUAL(r->account, "{san.email.local}");

	r = &set->rules[1];
	CU_ASSERT_STRING_EQUAL(r->name, "by-cn");
	CU_ASSERT_EQUAL(r->line, 38);
	CU_ASSERT_STRING_EQUAL(r->field, "subject.CN");
	CU_ASSERT_EQUAL(r->matcher, MATCH_REGEX);
	CU_ASSERT_STRING_EQUAL(r->pattern, "^[a-z][a-z0-9_-]{0,31}$");
	CU_ASSERT(!r->ignore_case);
	CU_ASSERT(r->has_issuer_pin);
	check_pin(r->issuer_pin);
	CU_ASSERT_STRING_EQUAL(r->account, "{subject.CN}");
	CU_ASSERT_EQUAL(r->ngroups, 0);

	r = &set->rules[2];
	CU_ASSERT_STRING_EQUAL(r->name, "backup");
	CU_ASSERT_EQUAL(r->line, 42);
	CU_ASSERT_STRING_EQUAL(r->field, "cert.sha256");
	CU_ASSERT_EQUAL(r->matcher, MATCH_EQUALS);
	CU_ASSERT_STRING_EQUAL(r->pattern, FPR_AB);
	CU_ASSERT(!r->ignore_case);
	CU_ASSERT(!r->has_issuer_pin);
	CU_ASSERT_STRING_EQUAL(r->account, "svc-backup");

	set = &cfg->mappings[1];
	CU_ASSERT_STRING_EQUAL(set->name, "ops");
	CU_ASSERT_EQUAL(set->line, 46);
	CU_ASSERT_EQUAL_FATAL(set->nrules, 1);
	r = &set->rules[0];
	CU_ASSERT_STRING_EQUAL(r->name, "team");
	CU_ASSERT_EQUAL(r->line, 46);
	CU_ASSERT_EQUAL(r->matcher, MATCH_REGEX);
	CU_ASSERT_STRING_EQUAL(r->account, "{2}.{1}");
	CU_ASSERT(r->compiled);
	CU_ASSERT_EQUAL(r->ngroups, 2);
	CU_ASSERT_EQUAL(r->nparts, 3);
}

static void
test_full(void)
{
	struct mtlsd_config cfg;
	struct listener_config *l;
	const struct sockaddr_in6 *sin6;
	const struct sockaddr_un *sun;
	char err[CONFIG_ERR_MAX];
	int rc;

	rc = load_text(full_config, &cfg, err, sizeof(err));
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL(cfg.file);
	CU_ASSERT_STRING_EQUAL(cfg.user, "nobody");
	CU_ASSERT_STRING_EQUAL(cfg.group, "nogroup");
	CU_ASSERT_STRING_EQUAL(cfg.query_socket, "/run/test/q.sock");
	CU_ASSERT_STRING_EQUAL(cfg.query_group, "wheel");
	CU_ASSERT_EQUAL(cfg.query_mode, 0640);
	CU_ASSERT_EQUAL(cfg.log_level, LOGLVL_DEBUG);
	CU_ASSERT_EQUAL(cfg.log_facility, LOG_LOCAL3);
	CU_ASSERT_EQUAL(cfg.accounts_min_uid, 500);
	CU_ASSERT(cfg.accounts_allow_root);
	CU_ASSERT_EQUAL(cfg.workers, 4);
	CU_ASSERT_EQUAL_FATAL(cfg.n_listeners, 3);

	l = &cfg.listeners[0];
	CU_ASSERT_STRING_EQUAL(l->name, "ssh");
	CU_ASSERT_STRING_EQUAL(l->listen, "[::1]:8443");
	CU_ASSERT_EQUAL(l->listen_addr.ss.ss_family, AF_INET6);
	sin6 = (const struct sockaddr_in6 *)&l->listen_addr.ss;
	CU_ASSERT_EQUAL(ntohs(sin6->sin6_port), 8443);
	CU_ASSERT(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	CU_ASSERT_STRING_EQUAL(l->certificate, "/etc/mtls/server.crt");
	CU_ASSERT_STRING_EQUAL(l->private_key, "/etc/mtls/server.key");
	CU_ASSERT_STRING_EQUAL(l->client_ca, "/etc/mtls/clients-ca.pem");
	CU_ASSERT_EQUAL(l->verify_depth, 2);
	CU_ASSERT_EQUAL(l->tls_min_version, 13);
	CU_ASSERT(!l->require_client_auth_eku);
	CU_ASSERT_STRING_EQUAL(l->upstream, "unix:/run/x.sock");
	CU_ASSERT_EQUAL(l->upstream_addr.ss.ss_family, AF_UNIX);
	sun = (const struct sockaddr_un *)&l->upstream_addr.ss;
	CU_ASSERT_STRING_EQUAL(sun->sun_path, "/run/x.sock");
	CU_ASSERT_EQUAL(l->handshake_timeout, 5);
	CU_ASSERT_EQUAL(l->idle_timeout, 60);
	CU_ASSERT_EQUAL(l->max_connections, 100);
	CU_ASSERT_EQUAL(l->line, 10);
	CU_ASSERT_STRING_EQUAL(l->mapping, "staff");
	CU_ASSERT(!l->require_mapping);
	CU_ASSERT_EQUAL_FATAL(l->n_crl, 2);
	CU_ASSERT_STRING_EQUAL(l->crl[0], "/etc/mtls/root.crl");
	CU_ASSERT_STRING_EQUAL(l->crl[1], "/etc/mtls/sub.crl");
	CU_ASSERT(l->crl_expired_warn);
	CU_ASSERT_EQUAL(l->ocsp_mode, OCSP_HARD);
	CU_ASSERT_STRING_EQUAL(l->ocsp_responder,
	    "http://ocsp.corp.example:8080/ocsp");
	CU_ASSERT_EQUAL(l->ocsp_timeout, 5);
	CU_ASSERT_EQUAL(l->ocsp_cache, 60);
	CU_ASSERT_EQUAL(l->proxy_protocol, PROXY_V2);

	l = &cfg.listeners[1];
	CU_ASSERT_STRING_EQUAL(l->name, "imap");
	CU_ASSERT_EQUAL(l->proxy_protocol, PROXY_OFF);
	CU_ASSERT_PTR_NULL(l->crl);
	CU_ASSERT_EQUAL(l->n_crl, 0);
	CU_ASSERT(!l->crl_expired_warn);
	CU_ASSERT_EQUAL(l->ocsp_mode, OCSP_OFF);
	CU_ASSERT_PTR_NULL(l->ocsp_responder);
	CU_ASSERT_EQUAL(l->ocsp_timeout, 2);
	CU_ASSERT_EQUAL(l->ocsp_cache, 300);
	CU_ASSERT_EQUAL(l->listen_addr.ss.ss_family, AF_INET);
	CU_ASSERT_EQUAL(l->upstream_addr.ss.ss_family, AF_INET);
	CU_ASSERT_EQUAL(l->line, 25);
	CU_ASSERT_STRING_EQUAL(l->mapping, "ops");
	CU_ASSERT(l->require_mapping);
	CU_ASSERT(!l->responder);
	CU_ASSERT_EQUAL(l->ticket_ttl, 60);

	l = &cfg.listeners[2];
	CU_ASSERT_STRING_EQUAL(l->name, "whoami");
	CU_ASSERT(l->responder);
	CU_ASSERT_EQUAL(l->ticket_ttl, 300);
	CU_ASSERT_PTR_NULL(l->upstream);
	CU_ASSERT_EQUAL(l->line, 31);
	CU_ASSERT_STRING_EQUAL(l->mapping, "ops");
	CU_ASSERT_PTR_NOT_NULL(l->mapping_set);
	CU_ASSERT(l->require_mapping);
	CU_ASSERT_EQUAL(l->proxy_protocol, PROXY_OFF);

	check_full_mappings(&cfg);
	config_free(&cfg);
	CU_ASSERT_PTR_NULL(cfg.listeners);
	CU_ASSERT_PTR_NULL(cfg.mappings);
	CU_ASSERT_EQUAL(cfg.n_mappings, 0);
	/* Freeing twice, or a zeroed struct, is harmless. */
	config_free(&cfg);
}

static void
test_defaults(void)
{
	struct mtlsd_config cfg;
	struct listener_config *l;
	char err[CONFIG_ERR_MAX];

	CU_ASSERT_EQUAL_FATAL(load_text(GOOD_LST, &cfg, err, sizeof(err)), 0);
	CU_ASSERT_STRING_EQUAL(cfg.user, "_mtlsd");
	CU_ASSERT_STRING_EQUAL(cfg.group, "_mtlsd");
	CU_ASSERT_STRING_EQUAL(cfg.query_socket, "/run/mtlsd/query.sock");
	CU_ASSERT_STRING_EQUAL(cfg.query_group, "mtls");
	CU_ASSERT_EQUAL(cfg.query_mode, 0660);
	CU_ASSERT_EQUAL(cfg.log_level, LOGLVL_INFO);
	CU_ASSERT_EQUAL(cfg.log_facility, LOG_AUTHPRIV);
	CU_ASSERT_EQUAL(cfg.accounts_min_uid, 1000);
	CU_ASSERT(!cfg.accounts_allow_root);
	CU_ASSERT_EQUAL(cfg.workers, 0);
	CU_ASSERT_EQUAL_FATAL(cfg.n_listeners, 1);
	l = &cfg.listeners[0];
	CU_ASSERT_EQUAL(l->verify_depth, 4);
	CU_ASSERT_EQUAL(l->tls_min_version, 12);
	CU_ASSERT(l->require_client_auth_eku);
	CU_ASSERT_EQUAL(l->handshake_timeout, 10);
	CU_ASSERT_EQUAL(l->idle_timeout, 600);
	CU_ASSERT_EQUAL(l->max_connections, 10000);
	CU_ASSERT_EQUAL(l->line, 1);
	CU_ASSERT_PTR_NULL(l->crl);
	CU_ASSERT_EQUAL(l->n_crl, 0);
	CU_ASSERT(!l->crl_expired_warn);
	CU_ASSERT_EQUAL(l->ocsp_mode, OCSP_OFF);
	CU_ASSERT_PTR_NULL(l->ocsp_responder);
	CU_ASSERT_EQUAL(l->ocsp_timeout, 2);
	CU_ASSERT_EQUAL(l->ocsp_cache, 300);
	CU_ASSERT_PTR_NULL(l->mapping);
	CU_ASSERT_PTR_NULL(l->mapping_set);
	CU_ASSERT_EQUAL(l->proxy_protocol, PROXY_OFF);
	CU_ASSERT(!l->responder);
	CU_ASSERT_PTR_NULL(cfg.mappings);
	CU_ASSERT_EQUAL(cfg.n_mappings, 0);
	config_free(&cfg);

	/* require_mapping is true unless turned off; ignore_case false. */
	CU_ASSERT_EQUAL_FATAL(load_text(MAPPED(CN_RULE("cn") "\n"), &cfg,
	    err, sizeof(err)), 0);
	l = &cfg.listeners[0];
	CU_ASSERT(l->require_mapping);
	CU_ASSERT_STRING_EQUAL(l->mapping, "staff");
	CU_ASSERT_EQUAL_FATAL(cfg.n_mappings, 1);
	CU_ASSERT_PTR_EQUAL(l->mapping_set, &cfg.mappings[0]);
	CU_ASSERT_EQUAL_FATAL(cfg.mappings[0].nrules, 1);
	CU_ASSERT(!cfg.mappings[0].rules[0].ignore_case);
	CU_ASSERT(!cfg.mappings[0].rules[0].has_issuer_pin);
	config_free(&cfg);
}

/* Values at the edges of their ranges, and the other accepted spellings. */
static void
test_edges_accepted(void)
{
	struct mtlsd_config cfg;
	char err[CONFIG_ERR_MAX];
	int rc;

	rc = load_text("query = { mode = 0; };\n"
	    "workers = 64;\n"
	    "accounts = { min_uid = 0; };\n"
	    "log = { facility = \"daemon\"; level = \"err\"; };\n"
	    LST("0.0.0.0:1", "127.0.0.1:65535",
	    "verify_depth = 8; idle_timeout = 604800;\n"
	    "handshake_timeout = 3600; max_connections = 1000000;\n"),
	    &cfg, err, sizeof(err));
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL(cfg.query_mode, 0);
	CU_ASSERT_EQUAL(cfg.workers, 64);
	CU_ASSERT_EQUAL(cfg.accounts_min_uid, 0);
	CU_ASSERT_EQUAL(cfg.log_facility, LOG_DAEMON);
	CU_ASSERT_EQUAL(cfg.log_level, LOGLVL_ERR);
	CU_ASSERT_EQUAL(cfg.listeners[0].verify_depth, 8);
	CU_ASSERT_EQUAL(cfg.listeners[0].idle_timeout, 604800);
	CU_ASSERT_EQUAL(cfg.listeners[0].handshake_timeout, 3600);
	CU_ASSERT_EQUAL(cfg.listeners[0].max_connections, 1000000);
	config_free(&cfg);

	/* Hex and 64-bit literals are integers too; 0x1b0 == 0660. */
	rc = load_text("query = { mode = 0x1b0; };\nworkers = 8L;\n"
	    LST("[::]:2222", "unix:/run/svc.sock", ""), &cfg, err,
	    sizeof(err));
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL(cfg.query_mode, 0660);
	CU_ASSERT_EQUAL(cfg.workers, 8);
	CU_ASSERT_EQUAL(cfg.listeners[0].listen_addr.ss.ss_family, AF_INET6);
	config_free(&cfg);
}

static void
test_ipv6_listen(void)
{
	struct mtlsd_config cfg;
	char err[CONFIG_ERR_MAX];
	const struct sockaddr_in6 *sin6;

	CU_ASSERT_EQUAL_FATAL(load_text(LST("[::1]:8443", "127.0.0.1:22", ""),
	    &cfg, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(cfg.listeners[0].listen_addr.ss.ss_family, AF_INET6);
	sin6 = (const struct sockaddr_in6 *)&cfg.listeners[0].listen_addr.ss;
	CU_ASSERT_EQUAL(ntohs(sin6->sin6_port), 8443);
	config_free(&cfg);
}

static void
test_unix_upstream(void)
{
	struct mtlsd_config cfg;
	char err[CONFIG_ERR_MAX];
	const struct sockaddr_un *sun;

	CU_ASSERT_EQUAL_FATAL(load_text(LST("127.0.0.1:8443",
	    "unix:/run/x.sock", ""), &cfg, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(cfg.listeners[0].upstream_addr.ss.ss_family, AF_UNIX);
	sun = (const struct sockaddr_un *)&cfg.listeners[0].upstream_addr.ss;
	CU_ASSERT_STRING_EQUAL(sun->sun_path, "/run/x.sock");
	CU_ASSERT_STRING_EQUAL(cfg.listeners[0].upstream, "unix:/run/x.sock");
	config_free(&cfg);
}

/* The shipped example must load as it is. */
static void
test_example_file(void)
{
	struct mtlsd_config cfg;
	char path[4096], err[CONFIG_ERR_MAX];
	size_t i;
	int rc;

	srcdir_file("etc/mtlsd.conf", path, sizeof(path));
	rc = config_load(path, &cfg, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "%s\n", err);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL_FATAL(cfg.n_listeners, 1);
	CU_ASSERT_STRING_EQUAL(cfg.listeners[0].name, "ssh");
	CU_ASSERT_STRING_EQUAL(cfg.listeners[0].listen, "[::]:2222");
	CU_ASSERT_STRING_EQUAL(cfg.listeners[0].upstream, "127.0.0.1:22");
	CU_ASSERT_STRING_EQUAL(cfg.listeners[0].mapping, "staff");
	CU_ASSERT(cfg.listeners[0].require_mapping);
	CU_ASSERT_EQUAL_FATAL(cfg.n_mappings, 1);
	CU_ASSERT_PTR_EQUAL(cfg.listeners[0].mapping_set, &cfg.mappings[0]);
	CU_ASSERT(cfg.mappings[0].nrules >= 2);
	for (i = 0; i < cfg.mappings[0].nrules; i++)
		CU_ASSERT(cfg.mappings[0].rules[i].compiled);
	config_free(&cfg);
}

/*
 * Each member of a group is a known key under prefix, or a group of them
 * ("ocsp" in a listener holds "listeners.ocsp.mode" and so on).
 */
static void
check_members_known(const config_setting_t *g, const char *prefix)
{
	const config_setting_t *m;
	char key[128];
	int i;

	for (i = 0; i < config_setting_length(g); i++) {
		m = config_setting_get_elem(g, (unsigned int)i);
		snprintf(key, sizeof(key), "%s.%s", prefix,
		    config_setting_name(m));
		if (config_setting_is_group(m)) {
			check_members_known(m, key);
			continue;
		}
		if (!is_known(key))
			fprintf(stderr, "full_config: unknown %s\n", key);
		CU_ASSERT(is_known(key));
	}
}

/* Does some rule of some set in mappings have member name? */
static int
rule_has_member(const config_setting_t *mappings, const char *name)
{
	const config_setting_t *set;
	int i, j;

	for (i = 0; i < config_setting_length(mappings); i++) {
		set = config_setting_get_elem(mappings, (unsigned int)i);
		for (j = 0; j < config_setting_length(set); j++)
			if (config_setting_get_member(config_setting_get_elem(
			    set, (unsigned int)j), name) != NULL)
				return 1;
	}
	return 0;
}

/*
 * Every key of full_config is known, and full_config uses every known
 * key, so test_full really covers the whole table.
 */
static void
test_known_keys(void)
{
	const char *const *k;
	const config_setting_t *root, *m, *set, *lst, *maps;
	config_t lc;
	int i, j, n, found;

	config_init(&lc);
	CU_ASSERT_FATAL(config_read_string(&lc, full_config) == CONFIG_TRUE);
	root = config_root_setting(&lc);
	for (i = 0; i < config_setting_length(root); i++) {
		m = config_setting_get_elem(root, (unsigned int)i);
		if (strcmp(config_setting_name(m), "mappings") == 0) {
			/* mappings.SET[i].key is known as "mappings.*.key". */
			CU_ASSERT(is_known("mappings"));
			for (j = 0; j < config_setting_length(m); j++) {
				set = config_setting_get_elem(m,
				    (unsigned int)j);
				for (n = 0; n < config_setting_length(set); n++)
					check_members_known(
					    config_setting_get_elem(set,
					    (unsigned int)n), "mappings.*");
			}
		} else if (config_setting_is_group(m))
			check_members_known(m, config_setting_name(m));
		else if (config_setting_is_list(m))
			for (j = 0; j < config_setting_length(m); j++)
				check_members_known(config_setting_get_elem(m,
				    (unsigned int)j), config_setting_name(m));
		else
			CU_ASSERT(is_known(config_setting_name(m)));
	}

	/* And the other way round: full_config sets every known key. */
	lst = config_lookup(&lc, "listeners");
	CU_ASSERT_PTR_NOT_NULL_FATAL(lst);
	maps = config_lookup(&lc, "mappings");
	CU_ASSERT_PTR_NOT_NULL_FATAL(maps);
	n = 0;
	for (k = config_known_keys(); *k != NULL; k++) {
		if (strncmp(*k, "listeners.", 10) == 0) {
			/* In any listener: responder is not for "ssh". */
			found = 0;
			for (j = 0; j < config_setting_length(lst); j++)
				if (config_setting_lookup(
				    config_setting_get_elem(lst,
				    (unsigned int)j), *k + 10) != NULL)
					found = 1;
		} else if (strncmp(*k, "mappings.*.", 11) == 0)
			found = rule_has_member(maps, *k + 11);
		else
			found = config_lookup(&lc, *k) != NULL;
		if (!found)
			fprintf(stderr, "full_config lacks %s\n", *k);
		CU_ASSERT(found);
		n++;
	}
	CU_ASSERT_EQUAL(n, 42);
	CU_ASSERT(is_known("mappings"));
	CU_ASSERT(is_known("listeners.mapping"));
	CU_ASSERT(is_known("listeners.require_mapping"));
	CU_ASSERT(is_known("mappings.*.regex"));
	CU_ASSERT(!is_known("mappings.*.colour"));
	CU_ASSERT(is_known("listeners.crl"));
	CU_ASSERT(is_known("listeners.crl_expired"));
	CU_ASSERT(!is_known("crl"));
	CU_ASSERT(is_known("listeners.ocsp.mode"));
	CU_ASSERT(is_known("listeners.ocsp.responder"));
	CU_ASSERT(is_known("listeners.ocsp.timeout"));
	CU_ASSERT(is_known("listeners.ocsp.cache"));
	CU_ASSERT(!is_known("listeners.mode"));
	CU_ASSERT(!is_known("ocsp.mode"));
	CU_ASSERT(is_known("listeners.proxy_protocol"));
	CU_ASSERT(!is_known("proxy_protocol"));
	CU_ASSERT(is_known("listeners.responder"));
	CU_ASSERT(!is_known("responder"));
	CU_ASSERT(is_known("listeners.ticket_ttl"));
	CU_ASSERT(!is_known("ticket_ttl"));
	config_destroy(&lc);
}

/* Where mtlsd.conf.5 documents the keys that start with prefix. */
static const struct {
	const char	*prefix;
	const char	*section;
} man_sections[] = {
	{ "query.",		"Query socket" },
	{ "log.",		"Logging" },
	{ "accounts.",		"Accounts" },
	{ "listeners.",		"Listeners" },
	{ "mappings.*.",	"Mapping rules" },
	{ "mappings",		"Mappings" },
	{ "",			"Global settings" },	/* undotted keys */
};
#define NSECTIONS	(sizeof(man_sections) / sizeof(man_sections[0]))

/*
 * The ".It Ic name" item of the outermost lists in [p, end): where its
 * text starts, with *iend set to where it stops (the list's next item or
 * its .El); NULL when there is none.
 */
static const char *
man_item(const char *p, const char *end, const char *name, size_t namelen,
    const char **iend)
{
	const char *line, *next, *found = NULL;
	int depth = 0;

	for (line = p; line < end; line = next) {
		next = strchr(line, '\n');
		next = next != NULL && next < end ? next + 1 : end;
		if (strncmp(line, ".Bl ", 4) == 0)
			depth++;
		else if (strncmp(line, ".El", 3) == 0 &&
		    (line[3] == '\n' || line[3] == '\0')) {
			if (depth == 1 && found != NULL)
				break;
			depth--;
		} else if (depth == 1 && strncmp(line, ".It", 3) == 0) {
			if (found != NULL)
				break;
			if (strncmp(line, ".It Ic ", 7) == 0 &&
			    strncmp(line + 7, name, namelen) == 0 &&
			    (line[7 + namelen] == ' ' ||
			    line[7 + namelen] == '\n'))
				found = next;
		}
	}
	if (found != NULL)
		*iend = line < end ? line : end;
	return found;
}

/*
 * mtlsd.conf.5 has an ".It Ic key" entry for every known key, in the
 * subsection for its group (".Ss Listeners" for "listeners.name").  A key
 * of a group inside a listener is an item of a list inside the group's
 * own item: "listeners.ocsp.mode" is ".It Ic mode" within ".It Ic ocsp".
 */
static void
test_man_page(void)
{
	const char *const *k;
	const char *leaf, *sec, *end, *nsh, *rest, *dot, *item, *iend;
	char path[4096], want[128], *text = NULL;
	size_t i, len = 0, plen;
	FILE *f;

	srcdir_file("mtlsd/mtlsd.conf.5", path, sizeof(path));
	f = fopen(path, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	text = calloc(1, 256 * 1024);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	len = fread(text, 1, 256 * 1024 - 1, f);
	fclose(f);
	text[len] = '\0';
	for (k = config_known_keys(); *k != NULL; k++) {
		leaf = strrchr(*k, '.') != NULL ? strrchr(*k, '.') + 1 : *k;
		for (i = 0; i < NSECTIONS; i++)
			if (strncmp(*k, man_sections[i].prefix,
			    strlen(man_sections[i].prefix)) == 0)
				break;
		/* Every dotted key needs its own row above. */
		if (i == NSECTIONS || (man_sections[i].prefix[0] == '\0' &&
		    leaf != *k)) {
			fprintf(stderr, "no man page section for %s\n", *k);
			CU_FAIL("key without a man page section");
			continue;
		}
		snprintf(want, sizeof(want), "\n.Ss %s\n",
		    man_sections[i].section);
		if ((sec = strstr(text, want)) == NULL) {
			fprintf(stderr, "mtlsd.conf.5 lacks %s", want + 1);
			CU_FAIL("man page subsection missing");
			continue;
		}
		/* To the next .Ss or .Sh (not .Sx, a cross-reference). */
		sec += strlen(want);
		if ((end = strstr(sec, "\n.Ss ")) == NULL)
			end = text + len;
		if ((nsh = strstr(sec, "\n.Sh ")) != NULL && nsh < end)
			end = nsh;
		/* "ocsp.mode" for "listeners.ocsp.mode", "group" for "group". */
		plen = strlen(man_sections[i].prefix);
		rest = plen > 0 && man_sections[i].prefix[plen - 1] == '.' ?
		    *k + plen : leaf;
		item = sec;
		iend = end;
		for (;;) {
			dot = strchr(rest, '.');
			item = man_item(item, iend, rest, dot != NULL ?
			    (size_t)(dot - rest) : strlen(rest), &iend);
			if (item == NULL || dot == NULL)
				break;
			rest = dot + 1;
		}
		if (item == NULL)
			fprintf(stderr, "mtlsd.conf.5 lacks %s in .Ss %s\n",
			    *k, man_sections[i].section);
		CU_ASSERT_PTR_NOT_NULL(item);
	}
	free(text);
}

static void
test_log_level_name(void)
{
	CU_ASSERT_STRING_EQUAL(config_log_level_name(LOGLVL_ERR), "err");
	CU_ASSERT_STRING_EQUAL(config_log_level_name(LOGLVL_WARNING),
	    "warning");
	CU_ASSERT_STRING_EQUAL(config_log_level_name(LOGLVL_NOTICE), "notice");
	CU_ASSERT_STRING_EQUAL(config_log_level_name(LOGLVL_INFO), "info");
	CU_ASSERT_STRING_EQUAL(config_log_level_name(LOGLVL_DEBUG), "debug");
	CU_ASSERT_STRING_EQUAL(config_log_level_name((enum log_level)42),
	    "unknown");
}

static void
test_zeroed_free(void)
{
	struct mtlsd_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	config_free(&cfg);
	config_free(NULL);
	CU_PASS("config_free on a zeroed struct");
}

static void
test_err_syntax(void)
{
	EXPECT_ERROR("user = \"a\";\nworkers = ;\n" GOOD_LST, 2,
	    "syntax error");
	/* libconfig's own duplicate check, at the second one. */
	EXPECT_ERROR("user = \"a\";\nuser = \"b\";\n" GOOD_LST, 2,
	    "duplicate setting name \"user\"");
	/* Not fooled by names in strings and comments, or other groups. */
	EXPECT_ERROR("log = { level = \"info\"; };\n"
	    "query = { group = \"level = 1\"; /* level = */ mode = 0600;\n"
	    "  group = \"b\"; };\n" GOOD_LST, 3,
	    "duplicate setting name \"group\"");
}

static void
test_err_missing_file(void)
{
	struct mtlsd_config cfg;
	char err[CONFIG_ERR_MAX];
	const char *path = "/nonexistent/mtls-test/mtlsd.conf";

	CU_ASSERT_EQUAL(config_load(path, &cfg, err, sizeof(err)),
	    MTLS_ERR_SYSTEM);
	CU_ASSERT_NSTRING_EQUAL(err, "/nonexistent/mtls-test/mtlsd.conf: ",
	    strlen(path) + 2);
	config_free(&cfg);
}

static void
test_err_nul_byte(void)
{
	static const char text[] = "user = \"a\";\nworkers = 1;\0\n";

	expect_error_at(text, sizeof(text) - 1, 2, "NUL byte", NULL,
	    __LINE__);
}

static void
test_err_unknown_top(void)
{
	EXPECT_ERROR("user = \"a\";\nlistners = ();\n" GOOD_LST, 2,
	    "unknown key \"listners\"");
	EXPECT_ERROR("query = {\n  sockt = \"/run/q\";\n};\n" GOOD_LST, 2,
	    "unknown key \"query.sockt\"");
}

static void
test_err_unknown_listener_key(void)
{
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    colour = \"blue\";\n"), 7,
	    "listener \"ssh\": unknown key \"colour\"");
}

/*
 * GOOD_LST with extra (built at run time) from line 7 on; returns cfg,
 * or NULL when it does not load.
 */
static struct mtlsd_config *
load_listener(const char *extra, struct mtlsd_config *cfg)
{
	static const char head[] = GOOD_LST, tail[] = "} );\n";
	char text[8192], err[CONFIG_ERR_MAX];

	snprintf(text, sizeof(text), "%.*s%s%s",
	    (int)(sizeof(head) - sizeof(tail)), head, extra, tail);
	if (load_text(text, cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return NULL;
	}
	return cfg;
}

/* crl as an array and as a list, empty, full; crl_expired's values. */
static void
test_crl_accepted(void)
{
	struct mtlsd_config cfg;
	const struct listener_config *l;
	char extra[4096], *p;
	size_t i;

	/* An array over several lines. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(load_listener(
	    "    crl = [ \"/etc/mtls/root.crl\",\n"
	    "        \"/etc/mtls/staff-ca.crl\",\n"
	    "        \"/etc/mtls/partner ca.der\" ];\n", &cfg));
	l = &cfg.listeners[0];
	CU_ASSERT_EQUAL_FATAL(l->n_crl, 3);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l->crl);
	CU_ASSERT_STRING_EQUAL(l->crl[0], "/etc/mtls/root.crl");
	CU_ASSERT_STRING_EQUAL(l->crl[1], "/etc/mtls/staff-ca.crl");
	CU_ASSERT_STRING_EQUAL(l->crl[2], "/etc/mtls/partner ca.der");
	CU_ASSERT(!l->crl_expired_warn);
	config_free(&cfg);
	CU_ASSERT_PTR_NULL(cfg.listeners);

	/* A list, with crl_expired in both spellings. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(load_listener(
	    "    crl = ( \"/a.crl\", \"/b.crl\" ); crl_expired = \"warn\";\n",
	    &cfg));
	l = &cfg.listeners[0];
	CU_ASSERT_EQUAL_FATAL(l->n_crl, 2);
	CU_ASSERT_STRING_EQUAL(l->crl[0], "/a.crl");
	CU_ASSERT_STRING_EQUAL(l->crl[1], "/b.crl");
	CU_ASSERT(l->crl_expired_warn);
	config_free(&cfg);

	CU_ASSERT_PTR_NOT_NULL_FATAL(load_listener(
	    "    crl = [ \"/a.crl\" ]; crl_expired = \"refuse\";\n", &cfg));
	CU_ASSERT_EQUAL(cfg.listeners[0].n_crl, 1);
	CU_ASSERT(!cfg.listeners[0].crl_expired_warn);
	config_free(&cfg);

	/* Empty, either way, means none. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(load_listener("    crl = [ ];\n", &cfg));
	CU_ASSERT_EQUAL(cfg.listeners[0].n_crl, 0);
	CU_ASSERT_PTR_NULL(cfg.listeners[0].crl);
	config_free(&cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(load_listener("    crl = ( );\n", &cfg));
	CU_ASSERT_EQUAL(cfg.listeners[0].n_crl, 0);
	CU_ASSERT_PTR_NULL(cfg.listeners[0].crl);
	config_free(&cfg);

	/* 64 files is the most. */
	p = extra + snprintf(extra, sizeof(extra), "    crl = [");
	for (i = 0; i < 64; i++)
		p += snprintf(p, sizeof(extra) - (size_t)(p - extra),
		    "%s\"/c/%zu.crl\"", i > 0 ? ", " : " ", i);
	snprintf(p, sizeof(extra) - (size_t)(p - extra), " ];\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(load_listener(extra, &cfg));
	l = &cfg.listeners[0];
	CU_ASSERT_EQUAL_FATAL(l->n_crl, 64);
	CU_ASSERT_STRING_EQUAL(l->crl[0], "/c/0.crl");
	CU_ASSERT_STRING_EQUAL(l->crl[63], "/c/63.crl");
	config_free(&cfg);
}

static void
test_err_crl(void)
{
	char text[8192], *p;
	size_t i;

	/* Errors name the element and give the line of "crl". */
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    crl = [ \"/etc/mtls/root.crl\",\n"
	    "        \"clients.crl\" ];\n"), 7,
	    "listener \"ssh\": crl[1] must be an absolute path "
	    "(got \"clients.crl\")");
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    crl = ( \"../x.crl\" );\n"), 7,
	    "listener \"ssh\": crl[0] must be an absolute path");
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    crl = ( \"/a.crl\", 5 );\n"), 7,
	    "listener \"ssh\": crl[1] must be a string");
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    crl = [ 1, 2 ];\n"), 7,
	    "listener \"ssh\": crl[0] must be a string");
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    crl = ( { file = \"/a.crl\"; } );\n"), 7,
	    "listener \"ssh\": crl[0] must be a string");
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    crl = ( ( \"/a.crl\" ) );\n"), 7,
	    "listener \"ssh\": crl[0] must be a string");
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    crl = \"/etc/mtls/clients.crl\";\n"), 7,
	    "listener \"ssh\": key \"crl\" must be a list of paths");
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    crl = [ \"/a.crl\", \"\" ];\n"), 7,
	    "listener \"ssh\": key \"crl[1]\" must not be empty");
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    crl = [ \"/a\\tb.crl\" ];\n"), 7,
	    "listener \"ssh\": key \"crl[0]\" must not contain control");
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    crl = [ \"/a.crl\", \"/b.crl\",\n"
	    "        \"/a.crl\" ];\n"), 7,
	    "listener \"ssh\": crl[2] \"/a.crl\" is listed twice "
	    "(also crl[0])");

	/* 65 files. */
	p = text + snprintf(text, sizeof(text), "listeners = ( {\n"
	    "    name = \"ssh\"; listen = \"127.0.0.1:8443\";\n"
	    "    upstream = \"127.0.0.1:22\"; require_mapping = false;\n"
	    "    certificate = \"/etc/mtls/server.crt\";\n"
	    "    private_key = \"/etc/mtls/server.key\";\n"
	    "    client_ca = \"/etc/mtls/clients-ca.pem\";\n"
	    "    crl = [");
	for (i = 0; i < 65; i++)
		p += snprintf(p, sizeof(text) - (size_t)(p - text),
		    "%s\"/c/%zu.crl\"", i > 0 ? ",\n" : " ", i);
	snprintf(p, sizeof(text) - (size_t)(p - text), " ];\n} );\n");
	EXPECT_ERROR(text, 7,
	    "listener \"ssh\": crl has too many entries (at most 64)");

	/* The second listener's error names it. */
	EXPECT_ERROR("listeners = (\n"
	    "  { name = \"ssh\"; listen = \"127.0.0.1:8443\";\n"
	    "    upstream = \"127.0.0.1:22\"; require_mapping = false;\n"
	    "    certificate = \"/etc/mtls/server.crt\";\n"
	    "    private_key = \"/etc/mtls/server.key\";\n"
	    "    client_ca = \"/etc/mtls/clients-ca.pem\";\n"
	    "    crl = [ \"/etc/mtls/clients.crl\" ]; },\n"
	    "  { name = \"imap\"; listen = \"127.0.0.1:9993\";\n"
	    "    upstream = \"127.0.0.1:143\"; require_mapping = false;\n"
	    "    certificate = \"/etc/mtls/server.crt\";\n"
	    "    private_key = \"/etc/mtls/server.key\";\n"
	    "    client_ca = \"/etc/mtls/clients-ca.pem\";\n"
	    "    crl = [ \"/etc/mtls/clients.crl\", \"imap.crl\" ]; }\n"
	    ");\n", 13,
	    "listener \"imap\": crl[1] must be an absolute path");
}

static void
test_err_crl_expired(void)
{
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    crl = [ \"/a.crl\" ];\n    crl_expired = \"accept\";\n"), 8,
	    "listener \"ssh\": crl_expired must be \"refuse\" or \"warn\"");
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    crl = [ \"/a.crl\" ]; crl_expired = \"WARN\";\n"), 7,
	    "listener \"ssh\": crl_expired must be \"refuse\" or \"warn\"");
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    crl = [ \"/a.crl\" ]; crl_expired = true;\n"), 7,
	    "listener \"ssh\": crl_expired must be \"refuse\" or \"warn\"");
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    crl = [ \"/a.crl\" ]; crl_expired = 1;\n"), 7,
	    "listener \"ssh\": crl_expired must be \"refuse\" or \"warn\"");
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    crl = [ \"/a.crl\" ]; crl_expired = [ \"warn\" ];\n"), 7,
	    "listener \"ssh\": crl_expired must be \"refuse\" or \"warn\"");

	/* Without crl, wherever crl_expired is in the group. */
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    crl_expired = \"warn\";\n"), 7,
	    "listener \"ssh\": crl_expired is set but the listener has no "
	    "crl");
	EXPECT_ERROR("listeners = ( { crl_expired = \"refuse\";\n"
	    "    name = \"ssh\"; listen = \"127.0.0.1:8443\";\n"
	    "    upstream = \"127.0.0.1:22\"; require_mapping = false;\n"
	    "    certificate = \"/etc/mtls/server.crt\";\n"
	    "    private_key = \"/etc/mtls/server.key\";\n"
	    "    client_ca = \"/etc/mtls/clients-ca.pem\"; } );\n", 1,
	    "listener \"ssh\": crl_expired is set but the listener has no "
	    "crl");
	/* An empty crl is no crl. */
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    crl = [ ];\n    crl_expired = \"warn\";\n"), 8,
	    "listener \"ssh\": crl_expired is set but the listener has no "
	    "crl");
}

/* proxy_protocol: each value, and "off" when it is not set. */
static void
test_proxy_protocol_accepted(void)
{
	static const struct {
		const char	*extra;
		int		 want;
	} cases[] = {
		{ "", PROXY_OFF },
		{ "    proxy_protocol = \"off\";\n", PROXY_OFF },
		{ "    proxy_protocol = \"v1\";\n", PROXY_V1 },
		{ "    proxy_protocol = \"v2\";\n", PROXY_V2 },
	};
	struct mtlsd_config cfg;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(load_listener(cases[i].extra,
		    &cfg));
		CU_ASSERT_EQUAL(cfg.listeners[0].proxy_protocol,
		    cases[i].want);
		config_free(&cfg);
	}
}

static void
test_err_proxy_protocol(void)
{
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    proxy_protocol = \"v3\";\n"), 7,
	    "listener \"ssh\": proxy_protocol must be \"off\", \"v1\" or "
	    "\"v2\" (got \"v3\")");
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    idle_timeout = 60;\n    proxy_protocol = \"V2\";\n"), 8,
	    "listener \"ssh\": proxy_protocol must be \"off\", \"v1\" or "
	    "\"v2\" (got \"V2\")");
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    proxy_protocol = \"on\";\n"), 7,
	    "listener \"ssh\": proxy_protocol must be \"off\", \"v1\" or "
	    "\"v2\" (got \"on\")");
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    proxy_protocol = true;\n"), 7,
	    "listener \"ssh\": proxy_protocol must be \"off\", \"v1\" or "
	    "\"v2\"");
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    proxy_protocol = 2;\n"), 7,
	    "listener \"ssh\": proxy_protocol must be \"off\", \"v1\" or "
	    "\"v2\"");
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    proxy_protocol = \"\";\n"), 7,
	    "listener \"ssh\": key \"proxy_protocol\" must not be empty");
	/* Not a global key. */
	EXPECT_ERROR("proxy_protocol = \"v2\";\n" GOOD_LST, 1,
	    "unknown key \"proxy_protocol\"");
}

/*
 * A responder listener: every required key but upstream; "extra" lands
 * on line 6.
 */
#define RESP_LST(extra)							\
	"listeners = ( { name = \"who\";\n"				\
	"    listen = \"127.0.0.1:8443\"; responder = true;\n"	\
	"    certificate = \"/etc/mtls/server.crt\";\n"			\
	"    private_key = \"/etc/mtls/server.key\";\n"			\
	"    client_ca = \"/etc/mtls/clients-ca.pem\";" NOMAP "\n"	\
	extra								\
	"} );\n"

/* responder = true needs no upstream; mapping works as for a proxy. */
static void
test_responder_accepted(void)
{
	struct mtlsd_config cfg;
	const struct listener_config *l;
	char err[CONFIG_ERR_MAX];

	CU_ASSERT_EQUAL_FATAL(load_text(RESP_LST(""), &cfg, err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL_FATAL(cfg.n_listeners, 1);
	l = &cfg.listeners[0];
	CU_ASSERT(l->responder);
	CU_ASSERT_PTR_NULL(l->upstream);
	CU_ASSERT_EQUAL(l->upstream_addr.len, 0);
	CU_ASSERT_EQUAL(l->proxy_protocol, PROXY_OFF);
	CU_ASSERT(!l->require_mapping);
	CU_ASSERT_EQUAL(l->ticket_ttl, 60);
	config_free(&cfg);

	/* proxy_protocol "off" written out is fine. */
	CU_ASSERT_EQUAL_FATAL(load_text(RESP_LST(
	    "    proxy_protocol = \"off\";\n"), &cfg, err, sizeof(err)), 0);
	CU_ASSERT(cfg.listeners[0].responder);
	config_free(&cfg);

	/* responder = false is a proxying listener, as by default. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(load_listener(
	    "    responder = false;\n", &cfg));
	CU_ASSERT(!cfg.listeners[0].responder);
	CU_ASSERT_STRING_EQUAL(cfg.listeners[0].upstream, "127.0.0.1:22");
	config_free(&cfg);

	/* With a rule set, require_mapping as today. */
	CU_ASSERT_EQUAL_FATAL(load_text(
	    "listeners = ( { name = \"who\"; responder = true;\n"
	    "    listen = \"127.0.0.1:8443\"; mapping = \"staff\";\n"
	    "    certificate = \"/etc/mtls/server.crt\";\n"
	    "    private_key = \"/etc/mtls/server.key\";\n"
	    "    client_ca = \"/etc/mtls/clients-ca.pem\"; } );\n"
	    "mappings = { staff = (\n" CN_RULE("cn") "\n); };\n",
	    &cfg, err, sizeof(err)), 0);
	l = &cfg.listeners[0];
	CU_ASSERT(l->responder);
	CU_ASSERT(l->require_mapping);
	CU_ASSERT_STRING_EQUAL(l->mapping, "staff");
	CU_ASSERT_PTR_NOT_NULL(l->mapping_set);
	config_free(&cfg);
}

static void
test_err_responder(void)
{
	/* No upstream on a responder, wherever it is written. */
	EXPECT_ERROR(RESP_LST("    upstream = \"127.0.0.1:22\";\n"), 6,
	    "listener \"who\": a responder listener has no upstream");
	EXPECT_ERROR(RESP_LST("    idle_timeout = 60;\n"
	    "    upstream = \"unix:/run/x.sock\";\n"), 7,
	    "listener \"who\": a responder listener has no upstream");
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    responder = true;\n"), 3,
	    "listener \"ssh\": a responder listener has no upstream");
	/* No PROXY header: there is no one to send it to. */
	EXPECT_ERROR(RESP_LST("    proxy_protocol = \"v2\";\n"), 6,
	    "listener \"who\": proxy_protocol must be \"off\" on a "
	    "responder listener");
	EXPECT_ERROR(RESP_LST("    idle_timeout = 60;\n"
	    "    proxy_protocol = \"v1\";\n"), 7,
	    "listener \"who\": proxy_protocol must be \"off\" on a "
	    "responder listener");
	/* responder false (written or not) still needs its upstream. */
	EXPECT_ERROR("listeners = (\n"
	    "  { name = \"ssh\"; responder = false;\n"
	    "    listen = \"127.0.0.1:8443\";\n"
	    "    certificate = \"/etc/mtls/server.crt\";\n"
	    "    private_key = \"/etc/mtls/server.key\";\n"
	    "    client_ca = \"/etc/mtls/ca.pem\";\n"
	    "  } );\n", 2,
	    "listener \"ssh\": missing required key \"upstream\"");
	/* A boolean, in a listener only. */
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    responder = \"yes\";\n"), 7,
	    "listener \"ssh\": key \"responder\" must be true or false");
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    responder = 1;\n"), 7,
	    "listener \"ssh\": key \"responder\" must be true or false");
	EXPECT_ERROR("responder = true;\n" GOOD_LST, 1,
	    "unknown key \"responder\"");
}

/* ticket_ttl: seconds a one-time ticket lives, on a responder only. */
static void
test_ticket_ttl(void)
{
	struct mtlsd_config cfg;
	char err[CONFIG_ERR_MAX];

	/* The default, on a responder and on a proxying listener. */
	CU_ASSERT_EQUAL_FATAL(load_text(RESP_LST(""), &cfg, err,
	    sizeof(err)), 0);
	CU_ASSERT_EQUAL(cfg.listeners[0].ticket_ttl, 60);
	config_free(&cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(load_listener("", &cfg));
	CU_ASSERT_EQUAL(cfg.listeners[0].ticket_ttl, 60);
	config_free(&cfg);

	/* A value, and both edges. */
	CU_ASSERT_EQUAL_FATAL(load_text(RESP_LST("    ticket_ttl = 300;\n"),
	    &cfg, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(cfg.listeners[0].ticket_ttl, 300);
	config_free(&cfg);
	CU_ASSERT_EQUAL_FATAL(load_text(RESP_LST("    ticket_ttl = 1;\n"),
	    &cfg, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(cfg.listeners[0].ticket_ttl, 1);
	config_free(&cfg);
	CU_ASSERT_EQUAL_FATAL(load_text(RESP_LST("    ticket_ttl = 3600;\n"),
	    &cfg, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(cfg.listeners[0].ticket_ttl, 3600);
	config_free(&cfg);
}

static void
test_err_ticket_ttl(void)
{
	/* Out of range. */
	EXPECT_ERROR(RESP_LST("    ticket_ttl = 0;\n"), 6,
	    "listener \"who\": ticket_ttl must be between 1 and 3600 "
	    "(got 0)");
	EXPECT_ERROR(RESP_LST("    ticket_ttl = 3601;\n"), 6,
	    "listener \"who\": ticket_ttl must be between 1 and 3600 "
	    "(got 3601)");
	EXPECT_ERROR(RESP_LST("    idle_timeout = 60;\n"
	    "    ticket_ttl = -1;\n"), 7,
	    "listener \"who\": ticket_ttl must be between 1 and 3600 "
	    "(got -1)");
	EXPECT_ERROR(RESP_LST("    ticket_ttl = \"60\";\n"), 6,
	    "listener \"who\": key \"ticket_ttl\"");
	/* Only on a responder: written or not, responder false refuses it. */
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    ticket_ttl = 60;\n"), 7,
	    "listener \"ssh\": ticket_ttl is set but the listener is not a "
	    "responder");
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    responder = false;\n"
	    "    ticket_ttl = 300;\n"), 8,
	    "listener \"ssh\": ticket_ttl is set but the listener is not a "
	    "responder");
	/* Not a global key. */
	EXPECT_ERROR("ticket_ttl = 60;\n" GOOD_LST, 1,
	    "unknown key \"ticket_ttl\"");
}

/* A listener whose "ocsp" group is extra, written from line 7. */
#define OCSP_LST(extra)	LST("127.0.0.1:8443", "127.0.0.1:22", extra)

/* The ocsp group: values, edges, defaults, and responder URL forms. */
static void
test_ocsp_accepted(void)
{
	struct mtlsd_config cfg;
	const struct listener_config *l;
	char extra[1024];

	/* Over several lines, every key, at the low edges. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(load_listener(
	    "    ocsp = {\n"
	    "        mode = \"hard\";\n"
	    "        responder = \"http://127.0.0.1:8888/ocsp\";\n"
	    "        timeout = 1;\n"
	    "        cache = 0;\n"
	    "    };\n", &cfg));
	l = &cfg.listeners[0];
	CU_ASSERT_EQUAL(l->ocsp_mode, OCSP_HARD);
	CU_ASSERT_STRING_EQUAL(l->ocsp_responder,
	    "http://127.0.0.1:8888/ocsp");
	CU_ASSERT_EQUAL(l->ocsp_timeout, 1);
	CU_ASSERT_EQUAL(l->ocsp_cache, 0);
	config_free(&cfg);

	/* soft, at the high edges; responder left to the AIA URL. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(load_listener(
	    "    ocsp = { mode = \"soft\"; timeout = 30; cache = 86400; };\n",
	    &cfg));
	l = &cfg.listeners[0];
	CU_ASSERT_EQUAL(l->ocsp_mode, OCSP_SOFT);
	CU_ASSERT_PTR_NULL(l->ocsp_responder);
	CU_ASSERT_EQUAL(l->ocsp_timeout, 30);
	CU_ASSERT_EQUAL(l->ocsp_cache, 86400);
	config_free(&cfg);

	/* mode alone: the other keys take their defaults. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(load_listener(
	    "    ocsp = { mode = \"hard\"; };\n", &cfg));
	l = &cfg.listeners[0];
	CU_ASSERT_EQUAL(l->ocsp_mode, OCSP_HARD);
	CU_ASSERT_PTR_NULL(l->ocsp_responder);
	CU_ASSERT_EQUAL(l->ocsp_timeout, 2);
	CU_ASSERT_EQUAL(l->ocsp_cache, 300);
	config_free(&cfg);

	/* An empty group, or mode "off" alone, is off. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(load_listener("    ocsp = { };\n",
	    &cfg));
	CU_ASSERT_EQUAL(cfg.listeners[0].ocsp_mode, OCSP_OFF);
	CU_ASSERT_PTR_NULL(cfg.listeners[0].ocsp_responder);
	config_free(&cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(load_listener(
	    "    ocsp = { mode = \"off\"; };\n", &cfg));
	CU_ASSERT_EQUAL(cfg.listeners[0].ocsp_mode, OCSP_OFF);
	CU_ASSERT_EQUAL(cfg.listeners[0].ocsp_timeout, 2);
	CU_ASSERT_EQUAL(cfg.listeners[0].ocsp_cache, 300);
	config_free(&cfg);

	/* A missing path is "/"; the scheme is stored in lower case. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(load_listener("    ocsp = {"
	    " mode = \"soft\"; responder = \"http://ocsp.example.com\"; };\n",
	    &cfg));
	CU_ASSERT_STRING_EQUAL(cfg.listeners[0].ocsp_responder,
	    "http://ocsp.example.com/");
	config_free(&cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(load_listener("    ocsp = {"
	    " mode = \"soft\"; responder = \"HTTP://Ocsp.Example:80?a=b\"; };\n",
	    &cfg));
	CU_ASSERT_STRING_EQUAL(cfg.listeners[0].ocsp_responder,
	    "http://Ocsp.Example:80/?a=b");
	config_free(&cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(load_listener("    ocsp = {"
	    " mode = \"soft\"; responder = \"http://[2001:db8::1]:65535\"; };\n",
	    &cfg));
	CU_ASSERT_STRING_EQUAL(cfg.listeners[0].ocsp_responder,
	    "http://[2001:db8::1]:65535/");
	config_free(&cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(load_listener("    ocsp = {"
	    " mode = \"soft\"; responder = \"http://[::1]/a/b%20c?x=1&y\"; };\n",
	    &cfg));
	CU_ASSERT_STRING_EQUAL(cfg.listeners[0].ocsp_responder,
	    "http://[::1]/a/b%20c?x=1&y");
	config_free(&cfg);

	/* 512 bytes is the longest. */
	snprintf(extra, sizeof(extra), "    ocsp = { mode = \"soft\";"
	    " responder = \"http://o.example/%0*d\"; };\n", 512 - 17, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(load_listener(extra, &cfg));
	CU_ASSERT_EQUAL(strlen(cfg.listeners[0].ocsp_responder), 512);
	config_free(&cfg);
}

static void
test_err_ocsp(void)
{
	char text[2048];

	/* mode */
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"on\"; };\n"), 7,
	    "listener \"ssh\": ocsp.mode must be \"off\", \"soft\" or "
	    "\"hard\" (got \"on\")");
	EXPECT_ERROR(OCSP_LST("    ocsp = {\n      mode = \"HARD\"; };\n"), 8,
	    "listener \"ssh\": ocsp.mode must be \"off\", \"soft\" or "
	    "\"hard\" (got \"HARD\")");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = true; };\n"), 7,
	    "listener \"ssh\": ocsp.mode must be \"off\", \"soft\" or "
	    "\"hard\"");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"\"; };\n"), 7,
	    "listener \"ssh\": key \"ocsp.mode\" must not be empty");

	/* responder: http only, absolute, a host, a good port. */
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"hard\";\n"
	    "      responder = \"https://ocsp.example.com/\"; };\n"), 8,
	    "listener \"ssh\": ocsp.responder \"https://ocsp.example.com/\": "
	    "https responders are not supported");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"hard\";"
	    " responder = \"HTTPS://ocsp.example.com\"; };\n"), 7,
	    "ocsp.responder \"HTTPS://ocsp.example.com\": https responders "
	    "are not supported");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"hard\";"
	    " responder = \"/ocsp\"; };\n"), 7,
	    "listener \"ssh\": ocsp.responder \"/ocsp\" must be an absolute "
	    "http:// URL");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"hard\";"
	    " responder = \"ocsp.example.com:80/ocsp\"; };\n"), 7,
	    "ocsp.responder \"ocsp.example.com:80/ocsp\" must be an absolute "
	    "http:// URL");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"hard\";"
	    " responder = \"//ocsp.example.com/\"; };\n"), 7,
	    "must be an absolute http:// URL");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"hard\";"
	    " responder = \"ftp://ocsp.example.com/\"; };\n"), 7,
	    "must be an absolute http:// URL");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"hard\";"
	    " responder = \"http:/ocsp.example.com/\"; };\n"), 7,
	    "must be an absolute http:// URL");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"hard\";"
	    " responder = \"http://o.example:0/\"; };\n"), 7,
	    "listener \"ssh\": ocsp.responder \"http://o.example:0/\": the port "
	    "must be a number from 1 to 65535");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"hard\";"
	    " responder = \"http://o.example:65536/\"; };\n"), 7,
	    "ocsp.responder \"http://o.example:65536/\": the port must be");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"hard\";"
	    " responder = \"http://o.example:99999999999999999999\"; };\n"), 7,
	    "the port must be a number from 1 to 65535");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"hard\";"
	    " responder = \"http://o.example:/\"; };\n"), 7,
	    "ocsp.responder \"http://o.example:/\": the port must be");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"hard\";"
	    " responder = \"http://o.example:8o/\"; };\n"), 7,
	    "ocsp.responder \"http://o.example:8o/\": the port must be");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"hard\";"
	    " responder = \"http://[::1]x:80/\"; };\n"), 7,
	    "ocsp.responder \"http://[::1]x:80/\": only a :port may follow");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"hard\";"
	    " responder = \"http:///ocsp\"; };\n"), 7,
	    "ocsp.responder \"http:///ocsp\" has no host");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"hard\";"
	    " responder = \"http://:8080/\"; };\n"), 7,
	    "ocsp.responder \"http://:8080/\" has no host");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"hard\";"
	    " responder = \"http://[fe80::zz]/\"; };\n"), 7,
	    "ocsp.responder \"http://[fe80::zz]/\": \"fe80::zz\" is not an "
	    "IPv6 address");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"hard\";"
	    " responder = \"http://[::1/\"; };\n"), 7,
	    "ocsp.responder \"http://[::1/\": the host must be");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"hard\";"
	    " responder = \"http://o%2e.example/\"; };\n"), 7,
	    "ocsp.responder \"http://o%2e.example/\": the host must be");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"hard\";"
	    " responder = \"http://u:p@o.example/\"; };\n"), 7,
	    "ocsp.responder \"http://u:p@o.example/\": a user name");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"hard\";"
	    " responder = \"http://o.example/ocsp#x\"; };\n"), 7,
	    "must not have a #fragment");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"hard\";"
	    " responder = \"http://o.example/a b\"; };\n"), 7,
	    "listener \"ssh\": ocsp.responder must be printable ASCII without "
	    "spaces");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"hard\";"
	    " responder = \"http://o.example/\\xc3\\xa9\"; };\n"), 7,
	    "ocsp.responder must be printable ASCII without spaces");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"hard\";"
	    " responder = \"http://o.example/\\t\"; };\n"), 7,
	    "key \"ocsp.responder\" must not contain control characters");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"hard\";"
	    " responder = \"\"; };\n"), 7,
	    "key \"ocsp.responder\" must not be empty");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"hard\";"
	    " responder = 80; };\n"), 7,
	    "listener \"ssh\": ocsp.responder must be a quoted http:// URL");
	snprintf(text, sizeof(text), "%s    ocsp = { mode = \"soft\";"
	    " responder = \"http://o.example/%0*d\"; };\n} );\n",
	    "listeners = ( { name = \"ssh\";\n"
	    "    listen = \"127.0.0.1:8443\";\n"
	    "    upstream = \"127.0.0.1:22\";\n"
	    "    certificate = \"/etc/mtls/server.crt\";\n"
	    "    private_key = \"/etc/mtls/server.key\";\n"
	    "    client_ca = \"/etc/mtls/clients-ca.pem\";" NOMAP "\n",
	    513 - 17, 0);
	EXPECT_ERROR(text, 7, "listener \"ssh\": ocsp.responder is too long "
	    "(at most 512 bytes)");

	/* With mode off (written or not), the other keys are mistakes. */
	EXPECT_ERROR(OCSP_LST("    ocsp = {\n"
	    "      responder = \"http://o.example/\"; };\n"), 8,
	    "listener \"ssh\": ocsp.responder is set but ocsp.mode is off");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"off\";\n"
	    "      responder = \"http://o.example/\"; };\n"), 8,
	    "listener \"ssh\": ocsp.responder is set but ocsp.mode is off");
	EXPECT_ERROR(OCSP_LST("    ocsp = { timeout = 5;\n"
	    "      mode = \"off\"; };\n"), 7,
	    "listener \"ssh\": ocsp.timeout is set but ocsp.mode is off");
	EXPECT_ERROR(OCSP_LST("    ocsp = {\n      mode = \"off\";\n"
	    "      cache = 0; };\n"), 9,
	    "listener \"ssh\": ocsp.cache is set but ocsp.mode is off");

	/* timeout and cache ranges. */
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"soft\";\n"
	    "      timeout = 0; };\n"), 8,
	    "listener \"ssh\": ocsp.timeout must be between 1 and 30 (got 0)");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"soft\";"
	    " timeout = 31; };\n"), 7,
	    "listener \"ssh\": ocsp.timeout must be between 1 and 30 "
	    "(got 31)");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"soft\";"
	    " timeout = 4294967297; };\n"), 7,
	    "ocsp.timeout must be between 1 and 30 (got 4294967297)");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"soft\";"
	    " timeout = 2.5; };\n"), 7,
	    "listener \"ssh\": key \"ocsp.timeout\" must be an integer");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"soft\"; cache = -1; };\n"),
	    7, "listener \"ssh\": ocsp.cache must be between 0 and 86400 "
	    "(got -1)");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"soft\";\n"
	    "      cache = 86401; };\n"), 8,
	    "ocsp.cache must be between 0 and 86400 (got 86401)");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"soft\";"
	    " cache = \"300\"; };\n"), 7,
	    "listener \"ssh\": key \"ocsp.cache\" must be an integer");

	/* Unknown keys in the group, and the group's shape. */
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"soft\";\n"
	    "      url = \"http://o.example/\"; };\n"), 8,
	    "listener \"ssh\": unknown key \"ocsp.url\"");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"soft\";"
	    " nonce = { enabled = true; }; };\n"), 7,
	    "listener \"ssh\": unknown key \"ocsp.nonce\"");
	EXPECT_ERROR(OCSP_LST("    ocsp = { crl = [ \"/a.crl\" ]; };\n"), 7,
	    "listener \"ssh\": unknown key \"ocsp.crl\"");
	EXPECT_ERROR(OCSP_LST("    ocsp = \"hard\";\n"), 7,
	    "listener \"ssh\": key \"ocsp\" must be a group");
	EXPECT_ERROR(OCSP_LST("    ocsp = ( { mode = \"hard\"; } );\n"), 7,
	    "listener \"ssh\": key \"ocsp\" must be a group");
	EXPECT_ERROR(OCSP_LST("    ocsp = { mode = \"soft\"; };\n"
	    "    ocsp = { mode = \"hard\"; };\n"), 8,
	    "duplicate setting name \"ocsp\"");
	/* Its keys are not listener keys, nor it a global group. */
	EXPECT_ERROR(OCSP_LST("    mode = \"hard\";\n"), 7,
	    "listener \"ssh\": unknown key \"mode\"");
	EXPECT_ERROR("ocsp = { mode = \"hard\"; };\n" GOOD_LST, 1,
	    "unknown key \"ocsp\"");

	/* The second listener's error names it. */
	EXPECT_ERROR("listeners = (\n"
	    "  { name = \"ssh\"; listen = \"127.0.0.1:8443\";\n"
	    "    upstream = \"127.0.0.1:22\"; require_mapping = false;\n"
	    "    certificate = \"/c\"; private_key = \"/k\";"
	    " client_ca = \"/ca\";\n"
	    "    ocsp = { mode = \"hard\"; }; },\n"
	    "  { name = \"imap\"; listen = \"127.0.0.1:9993\";\n"
	    "    upstream = \"127.0.0.1:143\"; require_mapping = false;\n"
	    "    certificate = \"/c\"; private_key = \"/k\";"
	    " client_ca = \"/ca\";\n"
	    "    ocsp = { mode = \"soft\";\n"
	    "      responder = \"https://ocsp.example/\"; }; }\n"
	    ");\n", 10,
	    "listener \"imap\": ocsp.responder \"https://ocsp.example/\": https "
	    "responders are not supported");
}

static void
test_err_string_for_int(void)
{
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    verify_depth = \"4\";\n"), 7,
	    "key \"verify_depth\" must be an integer");
	EXPECT_ERROR("workers = 1.5;\n" GOOD_LST, 1,
	    "key \"workers\" must be an integer");
}

static void
test_err_range(void)
{
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    verify_depth = 40;\n"), 7,
	    "listener \"ssh\": verify_depth must be between 1 and 8 "
	    "(got 40)");
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    handshake_timeout = 0;\n"), 7, "handshake_timeout");
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    idle_timeout = 604801;\n"), 7, "idle_timeout");
	EXPECT_ERROR("workers = 65;\n" GOOD_LST, 1,
	    "workers must be between 0 and 64 (got 65)");
	EXPECT_ERROR("accounts = {\n  min_uid = -1;\n};\n" GOOD_LST, 2,
	    "accounts.min_uid");
}

/* libconfig 1.5 wraps these silently (4294967297 reads as 1). */
static void
test_err_overflow(void)
{
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    idle_timeout = 99999999999;\n"), 7,
	    "idle_timeout must be between 1 and 604800 (got 99999999999)");
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    max_connections = 4294967297;\n"), 7,
	    "max_connections must be between 1 and 1000000 (got 4294967297)");
	EXPECT_ERROR("workers = 0x100000001;\n" GOOD_LST, 1,
	    "workers must be between 0 and 64 (got 0x100000001)");
	/* Two listeners on one line: the second one's value is the bad one. */
	EXPECT_ERROR("listeners = (\n"
	    "{ name = \"a\"; listen = \"127.0.0.1:1\";"
	    " upstream = \"127.0.0.1:2\";"
	    " certificate = \"/c\"; private_key = \"/k\"; client_ca = \"/ca\";"
	    " idle_timeout = 5;" NOMAP " }, { name = \"b\";"
	    " listen = \"127.0.0.1:3\";"
	    " upstream = \"127.0.0.1:2\"; certificate = \"/c\";"
	    " private_key = \"/k\"; client_ca = \"/ca\";"
	    " idle_timeout = 4294967297; }\n);\n", 2,
	    "listener \"b\": idle_timeout must be between 1 and 604800 "
	    "(got 4294967297)");
	EXPECT_ERROR("accounts = { min_uid =\n"
	    "  99999999999999999999999999; };\n" GOOD_LST, 1,
	    "accounts.min_uid");
}

static void
test_err_mode(void)
{
	EXPECT_ERROR("query = {\n  mode = 01000;\n};\n" GOOD_LST, 2,
	    "query.mode must be between 0 and 0777 (got 01000)");
	/* Without the leading 0 it is decimal: refused, not guessed. */
	EXPECT_ERROR("query = {\n  mode = 660;\n};\n" GOOD_LST, 2,
	    "query.mode must be written in octal");
	EXPECT_ERROR("query = {\n  mode = 08;\n};\n" GOOD_LST, 2,
	    "query.mode");
	EXPECT_ERROR("query = {\n  mode = \"0660\";\n};\n" GOOD_LST, 2,
	    "key \"query.mode\" must be an integer");
}

static void
test_err_tls_min_version(void)
{
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    tls_min_version = \"1.1\";\n"), 7,
	    "\"tls_min_version\" must be \"1.2\" or \"1.3\"");
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    tls_min_version = 1.2;\n"), 7,
	    "\"tls_min_version\" must be \"1.2\" or \"1.3\"");
}

static void
test_err_log(void)
{
	EXPECT_ERROR("log = {\n  level = \"verbose\";\n};\n" GOOD_LST, 2,
	    "\"log.level\" must be one of");
	EXPECT_ERROR("log = {\n  level = 7;\n};\n" GOOD_LST, 2,
	    "\"log.level\" must be one of");
	EXPECT_ERROR("log = { level = \"info\";\n  facility = \"local8\"; };\n"
	    GOOD_LST, 2, "\"log.facility\" must be one of");
}

static void
test_err_bool(void)
{
	EXPECT_ERROR("accounts = { allow_root = 1; };\n" GOOD_LST, 1,
	    "key \"accounts.allow_root\" must be true or false");
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    require_client_auth_eku = \"yes\";\n"), 7,
	    "key \"require_client_auth_eku\" must be true or false");
}

static void
test_err_duplicate_name(void)
{
	EXPECT_ERROR("listeners = (\n"
	    "  { name = \"ssh\"; listen = \"127.0.0.1:8443\";\n"
	    "    upstream = \"127.0.0.1:22\";\n"
	    "    certificate = \"/etc/mtls/a.crt\";\n"
	    "    private_key = \"/etc/mtls/a.key\";\n"
	    "    client_ca = \"/etc/mtls/ca.pem\";" NOMAP " },\n"
	    "  { name = \"ssh\"; listen = \"127.0.0.1:8444\";\n"
	    "    upstream = \"127.0.0.1:22\";\n"
	    "    certificate = \"/etc/mtls/a.crt\";\n"
	    "    private_key = \"/etc/mtls/a.key\";\n"
	    "    client_ca = \"/etc/mtls/ca.pem\";" NOMAP " }\n"
	    ");\n", 7, "duplicate listener name \"ssh\" (first at line 2)");
}

static void
test_err_duplicate_listen(void)
{
	EXPECT_ERROR("listeners = (\n"
	    "  { name = \"a\"; listen = \"127.0.0.1:8443\";\n"
	    "    upstream = \"127.0.0.1:22\";\n"
	    "    certificate = \"/etc/mtls/a.crt\";\n"
	    "    private_key = \"/etc/mtls/a.key\";\n"
	    "    client_ca = \"/etc/mtls/ca.pem\";" NOMAP " },\n"
	    "  { name = \"b\";\n"
	    "    listen = \"127.0.0.1:8443\";\n"
	    "    upstream = \"127.0.0.1:22\";\n"
	    "    certificate = \"/etc/mtls/a.crt\";\n"
	    "    private_key = \"/etc/mtls/a.key\";\n"
	    "    client_ca = \"/etc/mtls/ca.pem\";" NOMAP " }\n"
	    ");\n", 8, "listen \"127.0.0.1:8443\" is already used");
}

static void
test_err_missing_required(void)
{
	EXPECT_ERROR("user = \"a\";\n"
	    "listeners = (\n"
	    "  { name = \"ssh\";\n"
	    "    listen = \"127.0.0.1:8443\";\n"
	    "    certificate = \"/etc/mtls/server.crt\";\n"
	    "    private_key = \"/etc/mtls/server.key\";\n"
	    "    client_ca = \"/etc/mtls/ca.pem\";\n"
	    "  } );\n", 3,
	    "listener \"ssh\": missing required key \"upstream\"");
	EXPECT_ERROR("listeners = (\n"
	    "  { listen = \"127.0.0.1:8443\";\n"
	    "    upstream = \"127.0.0.1:22\";\n"
	    "    certificate = \"/etc/mtls/server.crt\";\n"
	    "    private_key = \"/etc/mtls/server.key\";\n"
	    "    client_ca = \"/etc/mtls/ca.pem\";\n"
	    "  } );\n", 2, "listeners[0]: missing required key \"name\"");
	EXPECT_ERROR("listeners = ( { name = \"ssh\";\n"
	    "    listen = \"127.0.0.1:8443\";\n"
	    "    upstream = \"127.0.0.1:22\"; } );\n", 1,
	    "missing required key \"certificate\"");
}

static void
test_err_no_listeners(void)
{
	EXPECT_ERROR("user = \"a\";\nlisteners = ();\n", 2,
	    "no listeners configured");
	EXPECT_ERROR("user = \"a\";\n", 1, "no listeners configured");
	EXPECT_ERROR("# nothing at all\n", 1, "no listeners configured");
}

static void
test_err_too_many_listeners(void)
{
	char *text, *p;
	size_t size = 64 * 1024;
	int i;

	text = malloc(size);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	p = text + snprintf(text, size, "listeners = (\n");
	for (i = 0; i <= CONFIG_MAX_LISTENERS; i++)
		p += snprintf(p, size - (size_t)(p - text),
		    "{ name = \"l%d\"; listen = \"127.0.0.1:%d\"; "
		    "upstream = \"127.0.0.1:22\"; certificate = \"/c\"; "
		    "private_key = \"/k\"; client_ca = \"/ca\"; }%s\n",
		    i, 10000 + i, i < CONFIG_MAX_LISTENERS ? "," : "");
	snprintf(p, size - (size_t)(p - text), ");\n");
	/* Line 1 opens the list, listener i is on line i + 2. */
	EXPECT_ERROR(text, CONFIG_MAX_LISTENERS + 2,
	    "too many listeners (at most 64)");
	free(text);
}

static void
test_err_listen(void)
{
	EXPECT_ERROR(LST("localhost:8443", "127.0.0.1:22", ""), 2,
	    "listen \"localhost:8443\" must be a numeric host:port");
	EXPECT_ERROR(LST("127.0.0.1", "127.0.0.1:22", ""), 2,
	    "listen \"127.0.0.1\"");
	EXPECT_ERROR(LST("::1:8443", "127.0.0.1:22", ""), 2,
	    "listen \"::1:8443\"");
	EXPECT_ERROR(LST("unix:/run/x.sock", "127.0.0.1:22", ""), 2,
	    "listen \"unix:/run/x.sock\"");
}

static void
test_err_upstream(void)
{
	EXPECT_ERROR(LST("127.0.0.1:8443", "unix:run/x.sock", ""), 3,
	    "upstream \"unix:run/x.sock\": the socket must be an absolute "
	    "path");
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1", ""), 3,
	    "upstream \"127.0.0.1\" must be host:port");
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:99999", ""), 3,
	    "upstream \"127.0.0.1:99999\"");
}

static void
test_err_relative_path(void)
{
	EXPECT_ERROR("listeners = ( { name = \"ssh\";\n"
	    "    listen = \"127.0.0.1:8443\";\n"
	    "    upstream = \"127.0.0.1:22\";\n"
	    "    certificate = \"server.crt\";\n"
	    "    private_key = \"/etc/mtls/server.key\";\n"
	    "    client_ca = \"/etc/mtls/ca.pem\"; } );\n", 4,
	    "certificate must be an absolute path (got \"server.crt\")");
	EXPECT_ERROR("listeners = ( { name = \"ssh\";\n"
	    "    listen = \"127.0.0.1:8443\";\n"
	    "    upstream = \"127.0.0.1:22\";\n"
	    "    certificate = \"/etc/mtls/server.crt\";\n"
	    "    private_key = \"../server.key\";\n"
	    "    client_ca = \"/etc/mtls/ca.pem\"; } );\n", 5,
	    "private_key must be an absolute path");
	EXPECT_ERROR("listeners = ( { name = \"ssh\";\n"
	    "    listen = \"127.0.0.1:8443\";\n"
	    "    upstream = \"127.0.0.1:22\";\n"
	    "    certificate = \"/etc/mtls/server.crt\";\n"
	    "    private_key = \"/etc/mtls/server.key\";\n"
	    "    client_ca = \"ca.pem\"; } );\n", 6,
	    "client_ca must be an absolute path");
	EXPECT_ERROR("query = {\n  socket = \"run/q.sock\";\n};\n" GOOD_LST,
	    2, "query.socket must be an absolute path");
}

static void
test_err_socket_too_long(void)
{
	char text[1024], longpath[200];

	memset(longpath, 'a', sizeof(longpath));
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	snprintf(text, sizeof(text), "query = { socket = \"%s\"; };\n%s",
	    longpath, GOOD_LST);
	EXPECT_ERROR(text, 1, "query.socket is too long");
}

static void
test_err_empty_and_control(void)
{
	EXPECT_ERROR("user = \"\";\n" GOOD_LST, 1,
	    "key \"user\" must not be empty");
	EXPECT_ERROR("group = \"a\\nb\";\n" GOOD_LST, 1,
	    "key \"group\" must not contain control characters");
	EXPECT_ERROR("query = { group = \"\"; };\n" GOOD_LST, 1,
	    "key \"query.group\" must not be empty");
	EXPECT_ERROR(LST("127.0.0.1:8443", "", ""), 3,
	    "key \"upstream\" must not be empty");
	EXPECT_ERROR("user = 5;\n" GOOD_LST, 1,
	    "key \"user\" must be a string");
}

static void
test_err_listener_name(void)
{
	EXPECT_ERROR("listeners = ( {\n  name = \"s s\";\n"
	    "    listen = \"127.0.0.1:8443\";\n"
	    "    upstream = \"127.0.0.1:22\";\n"
	    "    certificate = \"/etc/mtls/server.crt\";\n"
	    "    private_key = \"/etc/mtls/server.key\";\n"
	    "    client_ca = \"/etc/mtls/ca.pem\"; } );\n", 2,
	    "listeners[0]: name \"s s\" must be");
}

static void
test_err_shapes(void)
{
	EXPECT_ERROR("query = 5;\n" GOOD_LST, 1,
	    "key \"query\" must be a group");
	EXPECT_ERROR("user = \"a\";\nlisteners = { name = \"x\"; };\n", 2,
	    "key \"listeners\" must be a list");
	/* (A string element would be placed on the line after it.) */
	EXPECT_ERROR("listeners = (\n  5\n);\n", 2,
	    "listeners[0]: must be a group");
	EXPECT_ERROR("user = [ \"a\" ];\n" GOOD_LST, 1,
	    "key \"user\" must be a string");
}

static void
test_err_include(void)
{
	char inc[64], text[512];

	/* The included file exists, so only our refusal can fail this. */
	if (write_temp("workers = 1;\n", 13, inc, sizeof(inc)) != 0) {
		CU_FAIL("cannot write a temporary file");
		return;
	}
	snprintf(text, sizeof(text), "user = \"a\";\n@include \"%s\"\n%s", inc,
	    GOOD_LST);
	EXPECT_ERROR(text, 2, "@include is not supported");
	unlink(inc);
}

/*
 * Mapping rules.  MAPPED() puts "staff = (" on line 9 and the first rule
 * on line 10; every error names the set and the rule.
 */

/* The DESIGN 3.2 example, with real fingerprints, mappings first. */
static void
test_mapping_design_example(void)
{
	struct mtlsd_config cfg;
	const struct mapping_set *set;
	char err[CONFIG_ERR_MAX];
	size_t i;
	int rc;

	rc = load_text("accounts = { min_uid = 1000; allow_root = false; };\n"
	    "mappings = {\n"
	    "  staff = (\n"
	    "    { name = \"by-email\"; field = \"san.email\";"
	    " glob = \"*@corp.example\";\n"
	    "      account = \"{san.email.local}\"; },\n"
	    "    { name = \"by-cn\";    field = \"subject.CN\";"
	    " regex = \"^[a-z][a-z0-9_-]{0,31}$\";\n"
	    "      account = \"{subject.CN}\"; issuer = \"" PIN_01 "\"; },\n"
	    "    { name = \"backup\";   field = \"cert.sha256\";"
	    " equals = \"" FPR_AB "\";\n"
	    "      account = \"svc-backup\"; } );\n"
	    "};\n"
	    LST_OPT("[::]:2222", "127.0.0.1:22", " mapping = \"staff\";", ""),
	    &cfg, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "%s\n", err);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL_FATAL(cfg.n_mappings, 1);
	set = &cfg.mappings[0];
	CU_ASSERT_PTR_EQUAL(cfg.listeners[0].mapping_set, set);
	CU_ASSERT(cfg.listeners[0].require_mapping);
	CU_ASSERT_STRING_EQUAL(set->name, "staff");
	CU_ASSERT_EQUAL(set->line, 3);
	CU_ASSERT_EQUAL_FATAL(set->nrules, 3);
	CU_ASSERT_STRING_EQUAL(set->rules[0].name, "by-email");
	CU_ASSERT_EQUAL(set->rules[0].line, 4);
	CU_ASSERT_EQUAL(set->rules[0].matcher, MATCH_GLOB);
	CU_ASSERT_STRING_EQUAL(set->rules[1].name, "by-cn");
	CU_ASSERT_EQUAL(set->rules[1].line, 6);
	CU_ASSERT_EQUAL(set->rules[1].matcher, MATCH_REGEX);
	CU_ASSERT(set->rules[1].has_issuer_pin);
	check_pin(set->rules[1].issuer_pin);
	CU_ASSERT_STRING_EQUAL(set->rules[2].name, "backup");
	CU_ASSERT_EQUAL(set->rules[2].line, 8);
	CU_ASSERT_EQUAL(set->rules[2].matcher, MATCH_EQUALS);
	CU_ASSERT_STRING_EQUAL(set->rules[2].pattern, FPR_AB);
	for (i = 0; i < set->nrules; i++)
		CU_ASSERT(set->rules[i].compiled);
	config_free(&cfg);
}

/* Other spellings that are fine: OIDs, issuer fields, pins, sizes. */
static void
test_mapping_accepted(void)
{
	struct mtlsd_config cfg;
	const struct mapping_rule *r;
	char err[CONFIG_ERR_MAX], text[8192], pat[MAPPING_PATTERN_MAX + 1];
	int rc;

	rc = load_text(MAPPED(
	    "    { name = \"oid\";"
	    " field = \"subject.0.9.2342.19200300.100.1.1\";"
	    " equals = \"alice\"; account = \"alice\"; },\n"
	    "    { name = \"ou\"; field = \"issuer.OU\"; glob = \"Staff*\";"
	    " ignore_case = true; account = \"staff-{subject.CN}\";\n"
	    "      issuer = \"sha256:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:"
	    "0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F:20\"; },\n"
	    "    { name = \"u.r-i_1\"; field = \"san.uri\";"
	    " regex = \"https://([a-z]+)\\\\.example/(.*)\";"
	    " account = \"{1}\"; },\n"
	    "    { name = \"dom\"; field = \"san.email\"; equals = \"x@y\";"
	    " account = \"{san.email.domain}\"; }\n"), &cfg, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "%s\n", err);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL_FATAL(cfg.n_mappings, 1);
	CU_ASSERT_EQUAL_FATAL(cfg.mappings[0].nrules, 4);
	r = &cfg.mappings[0].rules[1];
	CU_ASSERT(r->ignore_case);
	CU_ASSERT(r->has_issuer_pin);
	check_pin(r->issuer_pin);
	r = &cfg.mappings[0].rules[2];
	CU_ASSERT_STRING_EQUAL(r->pattern, "https://([a-z]+)\\.example/(.*)");
	CU_ASSERT_EQUAL(r->ngroups, 2);
	CU_ASSERT(r->compiled);
	config_free(&cfg);

	/* A pattern of exactly MAPPING_PATTERN_MAX bytes is allowed. */
	memset(pat, 'a', MAPPING_PATTERN_MAX);
	pat[MAPPING_PATTERN_MAX] = '\0';
	snprintf(text, sizeof(text), MAPPED(
	    "    { name = \"long\"; field = \"subject.CN\"; equals = \"%s\";"
	    " account = \"alice\"; }\n"), pat);
	CU_ASSERT_EQUAL(load_text(text, &cfg, err, sizeof(err)), 0);
	config_free(&cfg);
}

static void
test_err_rule_unknown_key(void)
{
	EXPECT_ERROR(MAPPED(
	    "    { name = \"r1\"; field = \"subject.CN\";\n"
	    "      colour = \"blue\";\n"
	    "      equals = \"alice\"; account = \"alice\"; }\n"), 11,
	    "mapping \"staff\" rule \"r1\": unknown key \"colour\"");
	/* A listener key is not a rule key, nor the other way round. */
	EXPECT_ERROR(MAPPED(CN_RULE("r0") ",\n"
	    "    { name = \"r1\"; field = \"subject.CN\";\n"
	    "      equals = \"alice\"; account = \"alice\";\n"
	    "      upstream = \"127.0.0.1:22\"; }\n"), 13,
	    "mapping \"staff\" rule \"r1\": unknown key \"upstream\"");
	EXPECT_ERROR(LST("127.0.0.1:8443", "127.0.0.1:22",
	    "    glob = \"*\";\n"), 7,
	    "listener \"ssh\": unknown key \"glob\"");
}

static void
test_err_rule_missing(void)
{
	EXPECT_ERROR(MAPPED(
	    "    { field = \"subject.CN\";\n"
	    "      equals = \"alice\"; account = \"alice\"; }\n"), 10,
	    "mapping \"staff\" rule #1: missing required key \"name\"");
	EXPECT_ERROR(MAPPED(CN_RULE("r1") ",\n"
	    "    { name = \"r2\";\n"
	    "      equals = \"alice\"; account = \"alice\"; }\n"), 11,
	    "mapping \"staff\" rule \"r2\": missing required key \"field\"");
	EXPECT_ERROR(MAPPED(
	    "    { name = \"r1\"; field = \"subject.CN\";\n"
	    "      equals = \"alice\"; }\n"), 10,
	    "mapping \"staff\" rule \"r1\": missing required key \"account\"");
	EXPECT_ERROR(MAPPED(
	    "    { name = \"r1\"; field = \"subject.CN\";\n"
	    "      equals = \"alice\"; account = \"\"; }\n"), 11,
	    "mapping \"staff\" rule \"r1\": key \"account\" must not be "
	    "empty");
	/* An invalid name is not used in the label. */
	EXPECT_ERROR(MAPPED(CN_RULE("r1") ",\n"
	    "    { name = \"a b\"; field = \"subject.CN\";\n"
	    "      equals = \"alice\"; account = \"alice\"; }\n"), 11,
	    "mapping \"staff\" rule #2: name \"a b\" must be 1 to 64");
}

static void
test_err_rule_matcher(void)
{
	EXPECT_ERROR(MAPPED(
	    "    { name = \"r1\"; field = \"subject.CN\";\n"
	    "      account = \"alice\"; }\n"), 10,
	    "mapping \"staff\" rule \"r1\": no matcher: set one of equals, "
	    "glob or regex");
	EXPECT_ERROR(MAPPED(
	    "    { name = \"r1\"; field = \"subject.CN\";\n"
	    "      glob = \"a*\";\n"
	    "      regex = \"a.*\"; account = \"alice\"; }\n"), 12,
	    "mapping \"staff\" rule \"r1\": \"glob\" and \"regex\" are both "
	    "set; a rule has exactly one of equals, glob or regex");
	EXPECT_ERROR(MAPPED(
	    "    { name = \"r1\"; field = \"subject.CN\"; equals = \"a\";\n"
	    "      account = \"alice\";\n"
	    "      glob = \"a\"; regex = \"a\"; }\n"), 12,
	    "mapping \"staff\" rule \"r1\": \"equals\" and \"glob\"");
	EXPECT_ERROR(MAPPED(
	    "    { name = \"r1\"; field = \"subject.CN\";\n"
	    "      equals = \"\"; account = \"alice\"; }\n"), 11,
	    "mapping \"staff\" rule \"r1\": key \"equals\" must not be empty");
	EXPECT_ERROR(MAPPED(
	    "    { name = \"r1\"; field = \"subject.CN\";\n"
	    "      equals = \"alice\\nroot\"; account = \"alice\"; }\n"), 11,
	    "mapping \"staff\" rule \"r1\": key \"equals\" must not contain "
	    "control characters");
	EXPECT_ERROR(MAPPED(
	    "    { name = \"r1\"; field = \"subject.CN\";\n"
	    "      regex = 5; account = \"alice\"; }\n"), 11,
	    "mapping \"staff\" rule \"r1\": key \"regex\" must be a string");
	EXPECT_ERROR(MAPPED(
	    "    { name = \"r1\"; field = \"subject.CN\"; equals = \"a\";\n"
	    "      ignore_case = \"yes\"; account = \"alice\"; }\n"), 11,
	    "mapping \"staff\" rule \"r1\": key \"ignore_case\" must be true "
	    "or false");
}

static void
test_err_rule_too_long(void)
{
	char text[8192], pat[MAPPING_PATTERN_MAX + 2];
	char acct[MAPPING_TEMPLATE_MAX + 2];

	memset(pat, 'a', sizeof(pat) - 1);
	pat[sizeof(pat) - 1] = '\0';
	snprintf(text, sizeof(text), MAPPED(
	    "    { name = \"r1\"; field = \"subject.CN\";\n"
	    "      glob = \"%s\"; account = \"alice\"; }\n"), pat);
	EXPECT_ERROR(text, 11, "mapping \"staff\" rule \"r1\": glob is too "
	    "long (at most 1024 bytes)");
	memset(acct, 'a', sizeof(acct) - 1);
	acct[sizeof(acct) - 1] = '\0';
	snprintf(text, sizeof(text), MAPPED(
	    "    { name = \"r1\"; field = \"subject.CN\"; equals = \"a\";\n"
	    "      account = \"%s\"; }\n"), acct);
	EXPECT_ERROR(text, 11, "mapping \"staff\" rule \"r1\": account is too "
	    "long (at most 256 bytes)");
}

/* mapping_rule_compile's message, after "mapping SET rule NAME: ". */
static void
test_err_rule_compile(void)
{
	EXPECT_ERROR2(MAPPED(CN_RULE("r1") ",\n"
	    "    { name = \"bad-re\"; field = \"subject.CN\";\n"
	    "      regex = \"a(\"; account = \"alice\"; }\n"), 11,
	    "mapping \"staff\" rule \"bad-re\": ", "regex");
	EXPECT_ERROR2(MAPPED(
	    "    { name = \"r1\"; field = \"subject.CN\";\n"
	    "      regex = \"([a-z]+)\";\n"
	    "      account = \"{2}\"; }\n"), 10,
	    "mapping \"staff\" rule \"r1\": ", "{2}");
	/* Groups exist only in a regex. */
	EXPECT_ERROR2(MAPPED(
	    "    { name = \"r1\"; field = \"subject.CN\";\n"
	    "      glob = \"*\"; account = \"{1}\"; }\n"), 10,
	    "mapping \"staff\" rule \"r1\": ", "{1}");
	EXPECT_ERROR2(MAPPED(
	    "    { name = \"r1\"; field = \"subject.CN\"; equals = \"a\";\n"
	    "      account = \"{subject.FOO}\"; }\n"), 10,
	    "mapping \"staff\" rule \"r1\": ", "subject.FOO");
	EXPECT_ERROR2(MAPPED(
	    "    { name = \"r1\"; field = \"subject.CN\"; equals = \"a\";\n"
	    "      account = \"{subject.CN\"; }\n"), 10,
	    "mapping \"staff\" rule \"r1\": ", "{");
}

static void
test_err_rule_field(void)
{
	EXPECT_ERROR(MAPPED(
	    "    { name = \"r1\";\n"
	    "      field = \"subject.FOO\";\n"
	    "      equals = \"alice\"; account = \"alice\"; }\n"), 11,
	    "mapping \"staff\" rule \"r1\": field \"subject.FOO\" is not a "
	    "known field");
	EXPECT_ERROR(MAPPED(
	    "    { name = \"r1\"; field = \"CN\";\n"
	    "      equals = \"alice\"; account = \"alice\"; }\n"), 10,
	    "mapping \"staff\" rule \"r1\": field \"CN\" is not a known field");
	EXPECT_ERROR(MAPPED(
	    "    { name = \"r1\"; field = \"subject.cn\";\n"
	    "      equals = \"alice\"; account = \"alice\"; }\n"), 10,
	    "field \"subject.cn\" is not a known field");
}

static void
test_err_rule_duplicate(void)
{
	struct mtlsd_config cfg;
	char err[CONFIG_ERR_MAX];

	EXPECT_ERROR(MAPPED(CN_RULE("r1") ",\n"
	    CN_RULE("r2") ",\n"
	    "    { field = \"subject.CN\"; equals = \"a\";\n"
	    "      name = \"r1\"; account = \"alice\"; }\n"), 13,
	    "mapping \"staff\" rule \"r1\": duplicate rule name \"r1\" (first "
	    "at line 10)");

	/* The same rule name in two sets is fine. */
	CU_ASSERT_EQUAL(load_text(GOOD_LST "mappings = {\n"
	    "  a = ( " CN_RULE("r1") " );\n"
	    "  b = ( " CN_RULE("r1") " );\n};\n", &cfg, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(cfg.n_mappings, 2);
	config_free(&cfg);
}

static void
test_err_rule_issuer(void)
{
	EXPECT_ERROR(MAPPED(
	    "    { name = \"r1\"; field = \"subject.CN\"; equals = \"a\";\n"
	    "      account = \"alice\";\n"
	    "      issuer = \"sha256:zz\"; }\n"), 12,
	    "mapping \"staff\" rule \"r1\": issuer \"sha256:zz\" must be "
	    "\"sha256:\" and the 64 hex digits");
	/* 31 bytes, a wrong algorithm, no prefix. */
	EXPECT_ERROR(MAPPED(
	    "    { name = \"r1\"; field = \"subject.CN\"; equals = \"a\";\n"
	    "      account = \"alice\"; issuer = \"sha256:"
	    "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	    "\"; }\n"), 11, "mapping \"staff\" rule \"r1\": issuer");
	EXPECT_ERROR(MAPPED(
	    "    { name = \"r1\"; field = \"subject.CN\"; equals = \"a\";\n"
	    "      account = \"alice\"; issuer = \"sha1:0102030405060708090a"
	    "0b0c0d0e0f1011121314\"; }\n"), 11,
	    "mapping \"staff\" rule \"r1\": issuer \"sha1:");
	EXPECT_ERROR(MAPPED(
	    "    { name = \"r1\"; field = \"subject.CN\"; equals = \"a\";\n"
	    "      account = \"alice\"; issuer = \""
	    "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
	    "\"; }\n"), 11, "mapping \"staff\" rule \"r1\": issuer");
}

static void
test_err_listener_mapping(void)
{
	/* mapping on line 6 names a set that does not exist. */
	EXPECT_ERROR(LST_OPT("127.0.0.1:8443", "127.0.0.1:22",
	    " mapping = \"nosuch\";", "")
	    "mappings = { staff = ( " CN_RULE("r1") " ); };\n", 6,
	    "listener \"ssh\": mapping \"nosuch\" is not defined in mappings");
	EXPECT_ERROR(LST_OPT("127.0.0.1:8443", "127.0.0.1:22",
	    " mapping = \"staff\";", ""), 6,
	    "listener \"ssh\": mapping \"staff\" is not defined in mappings");
	EXPECT_ERROR(LST_OPT("127.0.0.1:8443", "127.0.0.1:22",
	    " mapping = \"a b\";", ""), 6,
	    "listener \"ssh\": mapping \"a b\" must be");
	EXPECT_ERROR(LST_OPT("127.0.0.1:8443", "127.0.0.1:22",
	    " require_mapping = 1;", ""), 6,
	    "listener \"ssh\": key \"require_mapping\" must be true or false");
}

static void
test_err_require_mapping(void)
{
	struct mtlsd_config cfg;
	char err[CONFIG_ERR_MAX];

	/* The default, and written out: reported at the listener's line. */
	EXPECT_ERROR(LST_OPT("127.0.0.1:8443", "127.0.0.1:22", "", ""), 1,
	    "listener \"ssh\": require_mapping is true but no mapping is set "
	    "(set mapping = \"...\" or require_mapping = false)");
	EXPECT_ERROR("mappings = { staff = ( " CN_RULE("r1") " ); };\n"
	    "listeners = (\n"
	    "  { name = \"x\"; listen = \"127.0.0.1:1\";"
	    " upstream = \"127.0.0.1:2\"; certificate = \"/c\";"
	    " private_key = \"/k\"; client_ca = \"/ca\";"
	    " mapping = \"staff\"; },\n"
	    "  { name = \"y\"; listen = \"127.0.0.1:3\";\n"
	    "    upstream = \"127.0.0.1:2\"; certificate = \"/c\";"
	    " private_key = \"/k\"; client_ca = \"/ca\";"
	    " require_mapping = true; }\n);\n", 4,
	    "listener \"y\": require_mapping is true but no mapping is set");

	/* require_mapping = false without a mapping is accepted. */
	CU_ASSERT_EQUAL_FATAL(load_text(GOOD_LST, &cfg, err, sizeof(err)), 0);
	CU_ASSERT(!cfg.listeners[0].require_mapping);
	CU_ASSERT_PTR_NULL(cfg.listeners[0].mapping);
	CU_ASSERT_PTR_NULL(cfg.listeners[0].mapping_set);
	config_free(&cfg);
}

static void
test_err_mapping_sets(void)
{
	EXPECT_ERROR(MAPPED(""), 9, "mapping \"staff\" has no rules");
	EXPECT_ERROR(GOOD_LST "mappings = {\n  staff = ( " CN_RULE("r1")
	    " );\n  other = [ ];\n};\n", 10,
	    "mapping \"other\" must be a list of rules");
	EXPECT_ERROR(GOOD_LST "mappings = {\n  staff = { name = \"x\"; };\n"
	    "};\n", 9, "mapping \"staff\" must be a list of rules");
	EXPECT_ERROR(GOOD_LST "mappings = {\n  colour = \"blue\";\n};\n", 9,
	    "mapping \"colour\" must be a list of rules");
	EXPECT_ERROR(GOOD_LST "mappings = {\n  a*b = ( " CN_RULE("r1")
	    " );\n};\n", 9, "mapping name \"a*b\" must be 1 to 64");
	EXPECT_ERROR(GOOD_LST "mappings = (\n  { name = \"x\"; } );\n", 8,
	    "key \"mappings\" must be a group");
	EXPECT_ERROR(MAPPED("    5\n"), 10,
	    "mapping \"staff\" rule #1: must be a group");
	/* libconfig refuses a second set of the same name, at its line. */
	EXPECT_ERROR(GOOD_LST "mappings = {\n  staff = ( " CN_RULE("r1")
	    " );\n  staff = ( " CN_RULE("r2") " );\n};\n", 10,
	    "duplicate setting name \"staff\"");
	/* And a second key of the same name in a rule. */
	EXPECT_ERROR(MAPPED("    { name = \"r1\"; field = \"subject.CN\";\n"
	    "      equals = \"a\"; account = \"alice\";\n"
	    "      name = \"r2\"; }\n"), 12, "duplicate setting name \"name\"");
}

static void
test_err_mapping_limits(void)
{
	char *text, *p;
	size_t size = 256 * 1024;
	int i;

	text = malloc(size);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	/* Set i is on line i + 9 (GOOD_LST is 7 lines, then "{"). */
	p = text + snprintf(text, size, GOOD_LST "mappings = {\n");
	for (i = 0; i <= MAPPING_MAX_SETS; i++)
		p += snprintf(p, size - (size_t)(p - text),
		    "  s%d = ( " CN_RULE("r") " );\n", i);
	snprintf(p, size - (size_t)(p - text), "};\n");
	EXPECT_ERROR(text, MAPPING_MAX_SETS + 9,
	    "too many mappings (at most 64)");

	/* Rule i is on line i + 10. */
	p = text + snprintf(text, size, GOOD_LST "mappings = {\n  staff = (\n");
	for (i = 0; i <= MAPPING_MAX_RULES; i++)
		p += snprintf(p, size - (size_t)(p - text),
		    "    { name = \"r%d\"; field = \"subject.CN\";"
		    " equals = \"a\"; account = \"alice\"; }%s\n", i,
		    i < MAPPING_MAX_RULES ? "," : "");
	snprintf(p, size - (size_t)(p - text), "  );\n};\n");
	EXPECT_ERROR(text, MAPPING_MAX_RULES + 10,
	    "mapping \"staff\" has too many rules (at most 256)");
	free(text);
}

static const struct {
	const char	*name;
	CU_TestFunc	 fn;
} tests[] = {
	{ "full configuration", test_full },
	{ "defaults", test_defaults },
	{ "edge values accepted", test_edges_accepted },
	{ "IPv6 listen accepted", test_ipv6_listen },
	{ "unix upstream accepted", test_unix_upstream },
	{ "shipped etc/mtlsd.conf loads", test_example_file },
	{ "known keys cover the full example", test_known_keys },
	{ "man page documents every key", test_man_page },
	{ "log level names", test_log_level_name },
	{ "config_free on zeroed struct", test_zeroed_free },
	{ "error: libconfig syntax", test_err_syntax },
	{ "error: missing file", test_err_missing_file },
	{ "error: NUL byte", test_err_nul_byte },
	{ "error: unknown top-level key", test_err_unknown_top },
	{ "error: unknown listener key", test_err_unknown_listener_key },
	{ "crl and crl_expired accepted", test_crl_accepted },
	{ "error: crl", test_err_crl },
	{ "error: crl_expired", test_err_crl_expired },
	{ "ocsp accepted", test_ocsp_accepted },
	{ "error: ocsp", test_err_ocsp },
	{ "proxy_protocol accepted", test_proxy_protocol_accepted },
	{ "error: proxy_protocol", test_err_proxy_protocol },
	{ "responder accepted", test_responder_accepted },
	{ "error: responder", test_err_responder },
	{ "ticket_ttl", test_ticket_ttl },
	{ "error: ticket_ttl", test_err_ticket_ttl },
	{ "error: string for int", test_err_string_for_int },
	{ "error: out of range", test_err_range },
	{ "error: integer overflow", test_err_overflow },
	{ "error: query.mode", test_err_mode },
	{ "error: tls_min_version", test_err_tls_min_version },
	{ "error: log level and facility", test_err_log },
	{ "error: booleans", test_err_bool },
	{ "error: duplicate listener name", test_err_duplicate_name },
	{ "error: duplicate listen", test_err_duplicate_listen },
	{ "error: missing required keys", test_err_missing_required },
	{ "error: no listeners", test_err_no_listeners },
	{ "error: too many listeners", test_err_too_many_listeners },
	{ "error: listen", test_err_listen },
	{ "error: upstream", test_err_upstream },
	{ "error: relative paths", test_err_relative_path },
	{ "error: query.socket too long", test_err_socket_too_long },
	{ "error: empty and control strings", test_err_empty_and_control },
	{ "error: listener name", test_err_listener_name },
	{ "error: wrong shapes", test_err_shapes },
	{ "error: @include", test_err_include },
	{ "mappings: DESIGN 3.2 example", test_mapping_design_example },
	{ "mappings: other accepted forms", test_mapping_accepted },
	{ "error: rule unknown key", test_err_rule_unknown_key },
	{ "error: rule missing keys", test_err_rule_missing },
	{ "error: rule matchers", test_err_rule_matcher },
	{ "error: rule values too long", test_err_rule_too_long },
	{ "error: rule does not compile", test_err_rule_compile },
	{ "error: rule field", test_err_rule_field },
	{ "error: duplicate rule name", test_err_rule_duplicate },
	{ "error: rule issuer pin", test_err_rule_issuer },
	{ "error: listener mapping", test_err_listener_mapping },
	{ "error: require_mapping", test_err_require_mapping },
	{ "error: mapping sets", test_err_mapping_sets },
	{ "error: mapping limits", test_err_mapping_limits },
};

void
unit_register_config(void)
{
	CU_pSuite suite;
	size_t i;

	if ((suite = CU_add_suite("config", NULL, NULL)) == NULL)
		return;
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(suite, tests[i].name, tests[i].fn);
}
