/*
 * cryptobound.c: the highest full-handshake rate one core could reach with
 * this wolfSSL, counting only the public-key work the server must do.
 *
 * The server side of a TLS 1.3 mutual-authentication handshake with an
 * ECDSA P-256 certificate and an X25519 key share does, at the least:
 *
 *	1 ECDSA P-256 signature		(its CertificateVerify)
 *	2 ECDSA P-256 verifications	(the client certificate's signature by
 *					 the CA, the client's CertificateVerify)
 *	1 X25519 key generation		(its key share)
 *	1 X25519 shared secret
 *
 * Hashing, the key schedule and record encryption are left out, so the
 * figure is an upper bound: no server using this library can beat it on
 * one core.  mtlsd's measured rate is reported as a share of it.
 *
 * Output (one line): lib=... sign_us=... verify_us=... keygen_us=...
 * shared_us=... handshake_us=... bound_per_s=...
 *
 *	cryptobound [--seconds S]	time spent on each operation (0.5)
 */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/curve25519.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ecdsa_state {
	WC_RNG		*rng;
	ecc_key		 key;
	byte		 digest[WC_SHA256_DIGEST_SIZE];
	byte		 sig[ECC_MAX_SIG_SIZE];
	word32		 siglen;
};

struct x25519_state {
	WC_RNG		*rng;
	curve25519_key	 ours;
	curve25519_key	 theirs;
};

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what, int ret)
{
	fprintf(stderr, "cryptobound: %s failed: %d\n", what, ret);
	exit(1);
}

static int
ecdsa_sign(void *arg)
{
	struct ecdsa_state *st = arg;

	st->siglen = sizeof(st->sig);
	return wc_ecc_sign_hash(st->digest, sizeof(st->digest), st->sig,
	    &st->siglen, st->rng, &st->key);
}

static int
ecdsa_verify(void *arg)
{
	struct ecdsa_state *st = arg;
	int valid = 0, ret;

	ret = wc_ecc_verify_hash(st->sig, st->siglen, st->digest,
	    sizeof(st->digest), &valid, &st->key);
	if (ret == 0 && valid != 1)
		return -1;
	return ret;
}

static int
x25519_keygen(void *arg)
{
	struct x25519_state *st = arg;

	wc_curve25519_free(&st->ours);
	wc_curve25519_init(&st->ours);
	return wc_curve25519_make_key(st->rng, CURVE25519_KEYSIZE, &st->ours);
}

static int
x25519_shared(void *arg)
{
	struct x25519_state *st = arg;
	byte secret[CURVE25519_KEYSIZE];
	word32 len = sizeof(secret);

	return wc_curve25519_shared_secret(&st->ours, &st->theirs, secret,
	    &len);
}

/*
 * Microseconds per call of op, run for about seconds after a short warm-up
 * (wolfSSL's fixed-point ECC builds its tables on first use).
 */
static double
time_op(const char *name, int (*op)(void *), void *arg, double seconds)
{
	double start, elapsed;
	long calls = 0;
	int ret, i;

	for (i = 0; i < 20; i++)
		if ((ret = op(arg)) != 0)
			die(name, ret);
	start = now_seconds();
	do {
		/* Check the clock every few calls, not every call. */
		for (i = 0; i < 16; i++, calls++)
			if ((ret = op(arg)) != 0)
				die(name, ret);
		elapsed = now_seconds() - start;
	} while (elapsed < seconds);
	return elapsed * 1e6 / (double)calls;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	struct ecdsa_state ecdsa;
	struct x25519_state x25519;
	WC_RNG rng;
	double seconds = 0.5, sign_us, verify_us, keygen_us, shared_us, hs_us;
	int ch, ret;

	while ((ch = getopt_long(argc, argv, "s:", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			seconds = strtod(optarg, NULL);
			if (seconds <= 0 || seconds > 60) {
				fprintf(stderr, "cryptobound: --seconds: 0 < S <= 60\n");
				return 2;
			}
			break;
		default:
			fprintf(stderr, "usage: cryptobound [--seconds S]\n");
			return 2;
		}
	}

	if ((ret = wolfCrypt_Init()) != 0)
		die("wolfCrypt_Init", ret);
	if ((ret = wc_InitRng(&rng)) != 0)
		die("wc_InitRng", ret);

	memset(&ecdsa, 0, sizeof(ecdsa));
	ecdsa.rng = &rng;
	if ((ret = wc_ecc_init(&ecdsa.key)) != 0 ||
	    (ret = wc_ecc_make_key_ex(&rng, 32, &ecdsa.key,
	    ECC_SECP256R1)) != 0)
		die("P-256 key generation", ret);
	if ((ret = wc_ecc_set_rng(&ecdsa.key, &rng)) != 0)
		die("wc_ecc_set_rng", ret);
	if ((ret = wc_Sha256Hash((const byte *)"handshake transcript", 20,
	    ecdsa.digest)) != 0)
		die("SHA-256", ret);

	memset(&x25519, 0, sizeof(x25519));
	x25519.rng = &rng;
	wc_curve25519_init(&x25519.ours);
	wc_curve25519_init(&x25519.theirs);
	if ((ret = wc_curve25519_make_key(&rng, CURVE25519_KEYSIZE,
	    &x25519.theirs)) != 0)
		die("X25519 peer key", ret);

	sign_us = time_op("ECDSA sign", ecdsa_sign, &ecdsa, seconds);
	verify_us = time_op("ECDSA verify", ecdsa_verify, &ecdsa, seconds);
	keygen_us = time_op("X25519 keygen", x25519_keygen, &x25519, seconds);
	shared_us = time_op("X25519 shared", x25519_shared, &x25519, seconds);
	hs_us = sign_us + 2 * verify_us + keygen_us + shared_us;

	printf("lib=wolfSSL-%s sign_us=%.1f verify_us=%.1f keygen_us=%.1f "
	    "shared_us=%.1f handshake_us=%.1f bound_per_s=%.0f\n",
	    wolfSSL_lib_version(), sign_us, verify_us, keygen_us, shared_us,
	    hs_us, 1e6 / hs_us);

	wc_curve25519_free(&x25519.ours);
	wc_curve25519_free(&x25519.theirs);
	wc_ecc_free(&ecdsa.key);
	wc_FreeRng(&rng);
	wolfCrypt_Cleanup();
	return 0;
}
