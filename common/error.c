/*
 * error.c: text for MTLS_ERR_* codes.
 */
#include "error.h"

const char *
mtls_strerror(int code)
{
	switch (code) {
	case MTLS_OK:			return "success";
	case MTLS_ERR_NOMEM:		return "out of memory";
	case MTLS_ERR_INVALID:		return "malformed input";
	case MTLS_ERR_TOO_LARGE:	return "input too large";
	case MTLS_ERR_SYSTEM:		return "system error";
	case MTLS_ERR_NOT_FOUND:	return "not found";
	case MTLS_ERR_DENIED:		return "access denied";
	case MTLS_ERR_AGAIN:		return "try again";
	case MTLS_ERR_CLOSED:		return "connection closed";
	case MTLS_ERR_CONFIG:		return "configuration error";
	case MTLS_ERR_TLS:		return "TLS error";
	case MTLS_ERR_VERSION:		return "unsupported protocol version";
	case MTLS_ERR_TIMEOUT:		return "timed out";
	}
	return "unknown error";
}
