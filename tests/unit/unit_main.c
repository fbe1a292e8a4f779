/*
 * unit_main.c: runs every CUnit suite and prints "unit: N passed, N failed"
 * as its last line, which tests/run-tests.sh adds to the suite's total.
 */
#include <stdio.h>
#include <stdlib.h>

#include <CUnit/Basic.h>

#include "unit.h"
#include "x509.h"

const char *
unit_pki_dir(void)
{
	return getenv("MTLS_TEST_PKI");
}

unsigned char *
unit_pem_cert(const char *path, size_t *len)
{
	unsigned char **der, *first;
	size_t *lens;
	char err[256];
	int n;

	if ((n = x509_pem_read(path, &der, &lens, err, sizeof(err))) < 1)
		return NULL;
	first = der[0];
	*len = lens[0];
	der[0] = NULL;
	x509_der_list_free(der, lens, (size_t)n);
	return first;
}

int
main(void)
{
	unsigned int run, failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	unit_register_bytes();
	unit_register_config();
	unit_register_identity();
	unit_register_query();
	unit_register_mapping();
	unit_register_proxyproto();
	unit_register_x509();
	unit_register_srcport();

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	run = CU_get_number_of_tests_run();
	failed = CU_get_number_of_tests_failed();
	if (CU_get_error() != CUE_SUCCESS)
		failed++;
	CU_cleanup_registry();
	printf("\nunit: %u passed, %u failed\n", run - failed, failed);
	return failed ? 1 : 0;
}
