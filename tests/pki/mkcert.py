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
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pkilib  # noqa: E402


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

    ca = pkilib.load_issued(a.ca, a.ca_key)
    not_before = pkilib.NOW + datetime.timedelta(seconds=a.not_before)
    not_after = pkilib.NOW + datetime.timedelta(seconds=a.valid_seconds)
    leaf = pkilib.issue(pkilib.cn_name(a.cn), ca,
                        eku=pkilib.SERVER if a.server else pkilib.CLIENT,
                        san=pkilib.localhost_san() if a.server else None,
                        not_before=not_before, not_after=not_after)

    pkilib.save(a.out, leaf, serial=True)
    pkilib.write(a.out + ".notafter",
                 ("%d\n" % int(not_after.timestamp())).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
