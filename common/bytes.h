/*
 * bytes.h: length-carrying byte strings and a growable output buffer.
 *
 * Identity values are kept as (data, len) pairs so that a NUL inside a
 * certificate field can never cut a value short.  data is always followed
 * by one extra NUL byte so that values without NULs can be printed, but
 * code must use len, never strlen().
 */
#ifndef MTLS_BYTES_H
#define MTLS_BYTES_H

#include <stdbool.h>
#include <stddef.h>

struct mtls_bytes {
	unsigned char	*data;
	size_t		 len;
};

/* An ordered list of byte strings (multi-valued fields such as SANs). */
struct mtls_bytes_list {
	struct mtls_bytes	*items;
	size_t			 count;
};

/* A growable buffer; buf_append* return 0 or MTLS_ERR_NOMEM / TOO_LARGE. */
struct mtls_buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
	size_t	 limit;		/* 0: no limit */
};

int	 bytes_set(struct mtls_bytes *b, const void *data, size_t len);
void	 bytes_free(struct mtls_bytes *b);
bool	 bytes_equal_str(const struct mtls_bytes *b, const char *s);
/* True when the value holds a NUL, a C0 control byte or DEL. */
bool	 bytes_has_control(const struct mtls_bytes *b);

int	 bytes_list_add(struct mtls_bytes_list *l, const void *data, size_t len);
void	 bytes_list_free(struct mtls_bytes_list *l);

void	 buf_init(struct mtls_buf *b, size_t limit);
int	 buf_append(struct mtls_buf *b, const void *data, size_t len);
int	 buf_append_str(struct mtls_buf *b, const char *s);
int	 buf_printf(struct mtls_buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 buf_reset(struct mtls_buf *b);
void	 buf_free(struct mtls_buf *b);

#endif
