/*
 * unit.h: the CUnit test program.  Each test_*.c file registers its suite
 * through one function listed here; unit_main.c calls them all.
 */
#ifndef MTLS_UNIT_H
#define MTLS_UNIT_H

#include <stddef.h>

#include <CUnit/CUnit.h>

void	 unit_register_config(void);
void	 unit_register_identity(void);
void	 unit_register_query(void);
void	 unit_register_bytes(void);
void	 unit_register_mapping(void);
void	 unit_register_proxyproto(void);
void	 unit_register_x509(void);
void	 unit_register_srcport(void);

/*
 * Directory of the test PKI made by tests/pki/mkpki.py (environment
 * MTLS_TEST_PKI); NULL when unset.  Tests that need it fail when absent.
 */
const char *unit_pki_dir(void);

/*
 * The DER of the first certificate in a PEM file (through the project's
 * own reader, x509_pem_read), malloc'd; NULL when unreadable or not PEM.
 */
unsigned char *unit_pem_cert(const char *path, size_t *len);

#endif
