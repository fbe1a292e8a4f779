#!/usr/bin/env python3
"""Write a CRL for the mtlsd tests (python3-cryptography).

    mkcrl.py --ca CA.crt --ca-key CA.key [--revoke CERT.pem ...]
             [--serial HEX ...] [--last-update SECONDS]
             [--next-update SECONDS] [--number N] [--der] -o OUT

--ca          the issuer: its subject becomes the CRL's issuer name and its
              public key the authority key identifier
--ca-key      the key that signs the CRL (normally CA.key; another CA's key
              makes a CRL whose signature does not verify)
--revoke      a certificate (PEM or DER) whose serial is listed; repeatable
--serial      a serial (hex) to list; repeatable
--last-update thisUpdate, in seconds relative to now (default -60)
--next-update nextUpdate, in seconds relative to now (default 3600;
              negative for a CRL that has already expired)
--number      the cRLNumber extension (default: the current time)
--der         DER instead of PEM
-o OUT        the file, written in place (open, truncate, write); "-" for
              stdout.  Tests that want an atomic replacement write to a
              temporary name and rename it over the watched file.

Revocation dates are thisUpdate; reason codes are keyCompromise.
"""

import argparse
import datetime
import os
import sys
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pkilib import NOW, load_cert, load_key  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ca", required=True)
    p.add_argument("--ca-key", required=True)
    p.add_argument("--revoke", action="append", default=[])
    p.add_argument("--serial", action="append", default=[])
    p.add_argument("--last-update", type=int, default=-60)
    p.add_argument("--next-update", type=int, default=3600)
    p.add_argument("--number", type=int, default=None)
    p.add_argument("--der", action="store_true")
    p.add_argument("-o", "--out", required=True)
    a = p.parse_args()

    ca = load_cert(a.ca)
    key = load_key(a.ca_key)
    last = NOW + datetime.timedelta(seconds=a.last_update)
    nxt = NOW + datetime.timedelta(seconds=a.next_update)

    serials = [load_cert(c).serial_number for c in a.revoke]
    serials += [int(s, 16) for s in a.serial]

    b = (x509.CertificateRevocationListBuilder()
         .issuer_name(ca.subject)
         .last_update(last)
         .next_update(nxt))
    b = b.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()),
        critical=False)
    number = a.number if a.number is not None else int(time.time() * 1000)
    b = b.add_extension(x509.CRLNumber(number), critical=False)
    for s in serials:
        r = (x509.RevokedCertificateBuilder()
             .serial_number(s)
             .revocation_date(last)
             .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise),
                            critical=False)
             .build())
        b = b.add_revoked_certificate(r)
    crl = b.sign(key, hashes.SHA256())
    enc = serialization.Encoding.DER if a.der else serialization.Encoding.PEM
    data = crl.public_bytes(enc)

    if a.out == "-":
        sys.stdout.buffer.write(data)
        return 0
    fd = os.open(a.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
