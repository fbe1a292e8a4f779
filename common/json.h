/*
 * json.h: JSON strings from byte strings.
 */
#ifndef MTLS_JSON_H
#define MTLS_JSON_H

#include <stddef.h>

#include "bytes.h"

/*
 * Append s as a JSON string: '"', '\\' and control bytes escaped, valid
 * UTF-8 kept, each byte of an invalid sequence as U+FFFD.
 */
int	 json_string(struct mtls_buf *b, const unsigned char *s, size_t len);

#endif
