/*
 * log.h: logging for mtlsd and mtlsctl (never for pam_mtls, which logs
 * through pam_syslog).
 *
 * log_warn and fatal append strerror(errno); log_warnx and fatalx do not.
 * With log_init(debug=true) lines go to stderr, otherwise to syslog.
 *
 * Audit events (DESIGN 3.5) are logfmt lines built with struct logfmt:
 *	event=handshake result=fail reason=expired client=192.0.2.1:5555 ...
 */
#ifndef MTLS_LOG_H
#define MTLS_LOG_H

#include <stdarg.h>
#include <stddef.h>

#include "bytes.h"
#include "config.h"

void	 log_init(const char *ident, int to_stderr, int facility);
void	 log_setlevel(enum log_level level);
/* While starting in the background, warnings also go to stderr. */
void	 log_startup_stderr(int on);
int	 log_getlevel(void);

void	 log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	 fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/* A logfmt line under construction. */
struct logfmt {
	struct mtls_buf	 buf;
};

void	 logfmt_init(struct logfmt *l, const char *event);
void	 logfmt_str(struct logfmt *l, const char *key, const char *value);
void	 logfmt_bytes(struct logfmt *l, const char *key, const void *value,
	    size_t len);
void	 logfmt_int(struct logfmt *l, const char *key, long long value);
/* Emit at the given level and free the buffer. */
void	 logfmt_emit(struct logfmt *l, enum log_level level);
/* Append key=value with logfmt quoting to any buffer (for tests). */
int	 logfmt_append(struct mtls_buf *b, const char *key, const void *value,
	    size_t len);

#endif
