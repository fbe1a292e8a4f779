/*
 * error.h: the one error convention of mtls-pam.
 *
 * Functions return 0 (or a non-negative count) on success and a negative
 * MTLS_ERR_* code on failure.  mtls_strerror() turns a code into text.
 * Code in common/ never exits the process; only mtlsd may call fatal().
 */
#ifndef MTLS_ERROR_H
#define MTLS_ERROR_H

#define MTLS_OK			  0
#define MTLS_ERR_NOMEM		 -1	/* out of memory */
#define MTLS_ERR_INVALID	 -2	/* malformed input */
#define MTLS_ERR_TOO_LARGE	 -3	/* input over a size or count limit */
#define MTLS_ERR_SYSTEM		 -4	/* a system call failed; see errno */
#define MTLS_ERR_NOT_FOUND	 -5	/* no such entry */
#define MTLS_ERR_DENIED		 -6	/* caller not allowed */
#define MTLS_ERR_AGAIN		 -7	/* would block; retry when ready */
#define MTLS_ERR_CLOSED		 -8	/* peer closed */
#define MTLS_ERR_CONFIG		 -9	/* configuration error */
#define MTLS_ERR_TLS		-10	/* TLS library error */
#define MTLS_ERR_VERSION	-11	/* unsupported protocol version */
#define MTLS_ERR_TIMEOUT	-12	/* deadline passed */

const char *mtls_strerror(int code);

#endif
