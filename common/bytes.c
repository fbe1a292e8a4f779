/*
 * bytes.c: length-carrying byte strings and growable buffers.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "error.h"

int
bytes_set(struct mtls_bytes *b, const void *data, size_t len)
{
	unsigned char *p;

	if (len == SIZE_MAX)
		return MTLS_ERR_TOO_LARGE;
	/* One extra NUL so values can be printed; users must still use len. */
	if ((p = malloc(len + 1)) == NULL)
		return MTLS_ERR_NOMEM;
	if (len > 0)
		memcpy(p, data, len);
	p[len] = '\0';
	free(b->data);
	b->data = p;
	b->len = len;
	return 0;
}

void
bytes_free(struct mtls_bytes *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

bool
bytes_equal_str(const struct mtls_bytes *b, const char *s)
{
	size_t n = strlen(s);

	return b->data != NULL && b->len == n && memcmp(b->data, s, n) == 0;
}

bool
bytes_has_control(const struct mtls_bytes *b)
{
	size_t i;

	for (i = 0; i < b->len; i++)
		if (b->data[i] < 0x20 || b->data[i] == 0x7f)
			return true;
	return false;
}

int
bytes_list_add(struct mtls_bytes_list *l, const void *data, size_t len)
{
	struct mtls_bytes *items;
	int rc;

	items = reallocarray(l->items, l->count + 1, sizeof(*items));
	if (items == NULL)
		return MTLS_ERR_NOMEM;
	l->items = items;
	memset(&items[l->count], 0, sizeof(items[0]));
	if ((rc = bytes_set(&items[l->count], data, len)) != 0)
		return rc;
	l->count++;
	return 0;
}

void
bytes_list_free(struct mtls_bytes_list *l)
{
	size_t i;

	for (i = 0; i < l->count; i++)
		bytes_free(&l->items[i]);
	free(l->items);
	l->items = NULL;
	l->count = 0;
}

void
buf_init(struct mtls_buf *b, size_t limit)
{
	memset(b, 0, sizeof(*b));
	b->limit = limit;
}

static int
buf_reserve(struct mtls_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > SIZE_MAX - b->len - 1)
		return MTLS_ERR_TOO_LARGE;
	need = b->len + extra + 1;
	if (b->limit != 0 && need > b->limit + 1)
		return MTLS_ERR_TOO_LARGE;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if ((p = realloc(b->data, cap)) == NULL)
		return MTLS_ERR_NOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int
buf_append(struct mtls_buf *b, const void *data, size_t len)
{
	int rc;

	if ((rc = buf_reserve(b, len)) != 0)
		return rc;
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_append_str(struct mtls_buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_printf(struct mtls_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return MTLS_ERR_INVALID;
	if ((rc = buf_reserve(b, (size_t)n)) != 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void
buf_reset(struct mtls_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
buf_free(struct mtls_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
