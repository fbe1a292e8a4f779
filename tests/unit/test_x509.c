/*
 * test_x509.c: x509_path on the test PKI (MTLS_TEST_PKI), and that the
 * memo of verified signatures never vouches for a certificate it has not
 * seen: a returning certificate is accepted again, an altered one not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "unit.h"
#include "x509.h"

struct fixture {
	struct x509_anchors	*anchors;
	unsigned char		*leaf;		/* alice, issued by ca */
	size_t			 leaf_len;
};

static bool
fixture_load(struct fixture *f)
{
	char path[512], err[256];
	const char *dir = unit_pki_dir();

	memset(f, 0, sizeof(*f));
	if (dir == NULL) {
		CU_FAIL("MTLS_TEST_PKI not set: run through make check");
		return false;
	}
	snprintf(path, sizeof(path), "%s/ca.crt", dir);
	if (x509_anchors_load(path, &f->anchors, err, sizeof(err)) != 0) {
		CU_FAIL(err);
		return false;
	}
	snprintf(path, sizeof(path), "%s/alice.crt", dir);
	f->leaf = unit_pem_cert(path, &f->leaf_len);
	CU_ASSERT_PTR_NOT_NULL(f->leaf);
	return f->leaf != NULL;
}

static void
fixture_free(struct fixture *f)
{
	x509_anchors_free(f->anchors);
	free(f->leaf);
}

static int
path_of(struct fixture *f, const unsigned char *der, size_t len)
{
	const unsigned char *certs[1] = { der };
	unsigned char issuer[IDENTITY_SHA256_LEN];
	int inter = -1;

	return x509_path(f->anchors, certs, &len, 1, 4, &inter, issuer);
}

/* Twice the same certificate: the second answer comes from the memo. */
static void
test_returning_leaf(void)
{
	struct fixture f;

	if (!fixture_load(&f))
		goto out;
	CU_ASSERT_EQUAL(path_of(&f, f.leaf, f.leaf_len), 0);
	CU_ASSERT_EQUAL(path_of(&f, f.leaf, f.leaf_len), 0);
out:
	fixture_free(&f);
}

/*
 * The genuine certificate is verified (and remembered) first; then the
 * same certificate with one bit of its signature flipped must still be
 * refused, and so must one with a changed TBS byte.
 */
static void
test_altered_after_genuine(void)
{
	struct fixture f;
	unsigned char *bad;

	if (!fixture_load(&f))
		goto out;
	CU_ASSERT_EQUAL(path_of(&f, f.leaf, f.leaf_len), 0);
	if ((bad = malloc(f.leaf_len)) == NULL)
		goto out;
	memcpy(bad, f.leaf, f.leaf_len);
	bad[f.leaf_len - 3] ^= 0x01;		/* inside the signature */
	CU_ASSERT_EQUAL(path_of(&f, bad, f.leaf_len), MTLS_ERR_NOT_FOUND);
	memcpy(bad, f.leaf, f.leaf_len);
	bad[f.leaf_len / 2] ^= 0x01;		/* inside the TBS */
	CU_ASSERT_NOT_EQUAL(path_of(&f, bad, f.leaf_len), 0);
	free(bad);
	/* The genuine one is still good. */
	CU_ASSERT_EQUAL(path_of(&f, f.leaf, f.leaf_len), 0);
out:
	fixture_free(&f);
}

/* A certificate from another CA finds no path, before and after. */
static void
test_other_ca(void)
{
	struct fixture f;
	unsigned char *other = NULL;
	size_t len = 0;
	char path[512];

	if (!fixture_load(&f))
		goto out;
	snprintf(path, sizeof(path), "%s/map-ca2-alice.crt", unit_pki_dir());
	other = unit_pem_cert(path, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(other);
	CU_ASSERT_EQUAL(path_of(&f, other, len), MTLS_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(path_of(&f, f.leaf, f.leaf_len), 0);
	CU_ASSERT_EQUAL(path_of(&f, other, len), MTLS_ERR_NOT_FOUND);
out:
	free(other);
	fixture_free(&f);
}

void
unit_register_x509(void)
{
	CU_pSuite s;

	s = CU_add_suite("x509 path", NULL, NULL);
	CU_add_test(s, "returning leaf", test_returning_leaf);
	CU_add_test(s, "altered after genuine", test_altered_after_genuine);
	CU_add_test(s, "other CA", test_other_ca);
}
