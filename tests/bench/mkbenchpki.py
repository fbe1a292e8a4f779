#!/usr/bin/env python3
"""Make the benchmark's PKI (python3-cryptography, ECDSA P-256, SHA-256).

    python3 tests/bench/mkbenchpki.py OUTDIR

Every server in the benchmark (mtlsd, stunnel, haproxy, nginx) presents the
same server certificate and verifies the same client certificate against
the same CA, so they all do the same public-key work per handshake.

Files written to OUTDIR (keys PKCS#8 PEM, unencrypted, mode 0600):

  ca.crt, ca.key          root "CN=mtls-pam Bench CA,O=mtls-pam bench"
  server.crt, server.key  CN=localhost, SAN DNS:localhost IP:127.0.0.1,
                          serverAuth, signed by ca
  server.pem              server.crt followed by server.key (haproxy's crt)
  client.crt, client.key  CN=alice, clientAuth, signed by ca

Re-running regenerates every file.
"""

import ipaddress
import os
import sys

from cryptography import x509
from cryptography.x509.oid import NameOID

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "pki"))
import pkilib  # noqa: E402


def name(cn, org):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def main():
    if len(sys.argv) != 2:
        print("usage: mkbenchpki.py OUTDIR", file=sys.stderr)
        return 2
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)

    ca = pkilib.issue(name("mtls-pam Bench CA", "mtls-pam bench"), None,
                      ca=True, pathlen=0)
    server = pkilib.issue(
        pkilib.cn_name("localhost"), ca, eku=pkilib.SERVER,
        san=[x509.DNSName("localhost"),
             x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    client = pkilib.issue(pkilib.cn_name("alice"), ca, eku=pkilib.CLIENT)

    pkilib.save(os.path.join(out, "ca"), ca)
    pkilib.save(os.path.join(out, "server"), server)
    pkilib.save(os.path.join(out, "client"), client)
    pkilib.write(os.path.join(out, "server.pem"),
                 pkilib.pem(server.cert) + pkilib.key_pem(server.key), 0o600)
    return 0


if __name__ == "__main__":
    sys.exit(main())
