/*
 * log.c: log helpers with fixed meanings (after relayd's log.c) and the
 * logfmt builder for audit lines.
 *
 * The process-wide settings (destination, level) are set once at start-up
 * by the daemon or mtlsctl; pam_mtls never links this file.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "bytes.h"
#include "log.h"

static int	log_to_stderr = 1;
static int	log_level = LOGLVL_INFO;
static int	log_startup = 0;
static const char *log_ident = "mtls";

static const int syslog_prio[] = {
	[LOGLVL_ERR] = LOG_ERR,
	[LOGLVL_WARNING] = LOG_WARNING,
	[LOGLVL_NOTICE] = LOG_NOTICE,
	[LOGLVL_INFO] = LOG_INFO,
	[LOGLVL_DEBUG] = LOG_DEBUG,
};

void
log_init(const char *ident, int to_stderr, int facility)
{
	log_ident = ident;
	log_to_stderr = to_stderr;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, facility);
}

void
log_startup_stderr(int on)
{
	log_startup = on;
}

void
log_setlevel(enum log_level level)
{
	log_level = (int)level;
}

int
log_getlevel(void)
{
	return log_level;
}

static void
log_emit(enum log_level level, const char *msg)
{
	if ((int)level > log_level)
		return;
	if (log_to_stderr)
		fprintf(stderr, "%s: %s\n", log_ident, msg);
	else {
		syslog(syslog_prio[level], "%s", msg);
		if (log_startup && level <= LOGLVL_WARNING)
			fprintf(stderr, "%s: %s\n", log_ident, msg);
	}
}

static void
log_vformat(enum log_level level, int with_errno, const char *fmt,
    va_list ap)
{
	char msg[2048];
	int saved = errno;
	size_t n;

	if ((int)level > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno) {
		n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(saved));
	}
	log_emit(level, msg);
	errno = saved;
}

#define LOG_FN(name, level, with_errno)					\
void									\
name(const char *fmt, ...)						\
{									\
	va_list ap;							\
	va_start(ap, fmt);						\
	log_vformat(level, with_errno, fmt, ap);			\
	va_end(ap);							\
}

LOG_FN(log_warn, LOGLVL_WARNING, 1)
LOG_FN(log_warnx, LOGLVL_WARNING, 0)
LOG_FN(log_notice, LOGLVL_NOTICE, 0)
LOG_FN(log_info, LOGLVL_INFO, 0)
LOG_FN(log_debug, LOGLVL_DEBUG, 0)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vformat(LOGLVL_ERR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vformat(LOGLVL_ERR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

/* A value is quoted when it is empty or holds anything but safe bytes. */
static int
logfmt_needs_quotes(const unsigned char *v, size_t len)
{
	size_t i;

	if (len == 0)
		return 1;
	for (i = 0; i < len; i++)
		if (v[i] <= 0x20 || v[i] >= 0x7f || v[i] == '"' ||
		    v[i] == '=' || v[i] == '\\')
			return 1;
	return 0;
}

int
logfmt_append(struct mtls_buf *b, const char *key, const void *value,
    size_t len)
{
	const unsigned char *v = value;
	size_t i;
	int rc = 0;

	if (b->len > 0)
		rc = buf_append(b, " ", 1);
	if (rc == 0)
		rc = buf_printf(b, "%s=", key);
	if (rc != 0)
		return rc;
	if (!logfmt_needs_quotes(v, len))
		return buf_append(b, v, len);
	if ((rc = buf_append(b, "\"", 1)) != 0)
		return rc;
	/* Escaped so that no value can fake another key or another line. */
	for (i = 0; i < len && rc == 0; i++) {
		switch (v[i]) {
		case '"':	rc = buf_append(b, "\\\"", 2); break;
		case '\\':	rc = buf_append(b, "\\\\", 2); break;
		case '\n':	rc = buf_append(b, "\\n", 2); break;
		case '\r':	rc = buf_append(b, "\\r", 2); break;
		case '\t':	rc = buf_append(b, "\\t", 2); break;
		default:
			if (v[i] < 0x20 || v[i] >= 0x7f)
				rc = buf_printf(b, "\\x%02X", v[i]);
			else
				rc = buf_append(b, &v[i], 1);
		}
	}
	if (rc == 0)
		rc = buf_append(b, "\"", 1);
	return rc;
}

void
logfmt_init(struct logfmt *l, const char *event)
{
	buf_init(&l->buf, 16 * 1024);
	logfmt_str(l, "event", event);
}

void
logfmt_str(struct logfmt *l, const char *key, const char *value)
{
	if (value == NULL)
		value = "";
	logfmt_append(&l->buf, key, value, strlen(value));
}

void
logfmt_bytes(struct logfmt *l, const char *key, const void *value,
    size_t len)
{
	logfmt_append(&l->buf, key, value, len);
}

void
logfmt_int(struct logfmt *l, const char *key, long long value)
{
	char num[32];

	snprintf(num, sizeof(num), "%lld", value);
	logfmt_str(l, key, num);
}

void
logfmt_emit(struct logfmt *l, enum log_level level)
{
	if (l->buf.data != NULL)
		log_emit(level, l->buf.data);
	buf_free(&l->buf);
}
