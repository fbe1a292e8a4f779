#!/usr/bin/env python3
"""Issue one leaf certificate at test time (python3-cryptography).

    mkcert.py --ca CA.crt --ca-key CA.key --cn NAME [--server]
              [--valid-seconds N] [--not-before SECONDS] -o PREFIX

Writes PREFIX.crt (PEM), PREFIX.key (PKCS#8 PEM, mode 0600),
PREFIX.serial (upper-case hex, no leading zeros, as mtlsd prints it) and
PREFIX.notafter (notAfter in seconds since the epoch), all with a fresh
ECDSA P-256 key and a fresh random serial.

--cn             subject "CN=NAME"
--server         a server certificate: serverAuth, SAN localhost,
                 127.0.0.1 and ::1 (like tests/pki/mkpki.py's server);
                 default a client certificate (clientAuth)
--valid-seconds  notAfter = now + N seconds (default one year); X.509 times
                 have one-second resolution, so the certificate is valid up
                 to and including that second
--not-before     notBefore relative to now, in seconds (default -3600)
"""

import argparse
import datetime
import ipaddress
import os
import secrets
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def write(path, data, mode=0o644):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ca", required=True)
    p.add_argument("--ca-key", required=True)
    p.add_argument("--cn", required=True)
    p.add_argument("--server", action="store_true")
    p.add_argument("--valid-seconds", type=int, default=365 * 86400)
    p.add_argument("--not-before", type=int, default=-3600)
    p.add_argument("-o", "--out", required=True)
    a = p.parse_args()

    with open(a.ca, "rb") as f:
        ca = x509.load_pem_x509_certificate(f.read())
    with open(a.ca_key, "rb") as f:
        ca_key = serialization.load_pem_private_key(f.read(), password=None)

    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    not_before = now + datetime.timedelta(seconds=a.not_before)
    not_after = now + datetime.timedelta(seconds=a.valid_seconds)
    key = ec.generate_private_key(ec.SECP256R1())
    pub = key.public_key()
    # 16 bytes, first byte 0x10..0x7f: no leading zero byte or nibble
    serial = int.from_bytes(bytes([0x10 + secrets.randbelow(0x70)]) +
                            secrets.token_bytes(15), "big")

    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                     a.cn)]))
         .issuer_name(ca.subject)
         .public_key(pub)
         .serial_number(serial)
         .not_valid_before(not_before)
         .not_valid_after(not_after))
    b = b.add_extension(x509.BasicConstraints(ca=False, path_length=None),
                        critical=True)
    b = b.add_extension(x509.KeyUsage(
        digital_signature=True, content_commitment=False,
        key_encipherment=False, data_encipherment=False, key_agreement=False,
        key_cert_sign=False, crl_sign=False, encipher_only=False,
        decipher_only=False), critical=True)
    b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(pub),
                        critical=False)
    b = b.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
        critical=False)
    if a.server:
        b = b.add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        b = b.add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1"))]), critical=False)
    else:
        b = b.add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    cert = b.sign(ca_key, hashes.SHA256())

    write(a.out + ".key", key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()), 0o600)
    write(a.out + ".crt", cert.public_bytes(serialization.Encoding.PEM))
    write(a.out + ".serial", ("%X\n" % serial).encode())
    write(a.out + ".notafter",
          ("%d\n" % int(not_after.timestamp())).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
