#!/usr/bin/env python3
"""Generate the mtls-pam test PKI.

    python3 tests/pki/mkpki.py OUTDIR

Everything is ECDSA P-256, PEM, keys unencrypted (mode 0600).  Re-running
regenerates every file in OUTDIR.  Needs python3-cryptography (Debian 12
ships 38.0.4; nothing newer is used).

Files (NAME.crt and NAME.key for each certificate):

  ca                 root "CN=mtls-pam Test Root CA,O=mtls-pam tests"
  clients-ca.pem     = ca.crt, the client trust anchor
  server             CN=localhost, SAN localhost/127.0.0.1/::1, serverAuth
  server-chain.pem   = server.crt (leaf first)
  alice, bob         clientAuth leaves signed by ca; NAME.serial (upper-case
                     hex, no leading zeros) and NAME.subject (as mtlsd prints
                     it: RFC 4514, so the RDN encoded last comes first)
  other-ca, untrusted  a CA that is not in clients-ca.pem, and its leaf
  expired, notyet, serverauth   bad leaves signed by ca
  inter, carol       intermediate CA and its leaf; carol-chain.pem = carol+inter
  d1..d5, deep       ca -> d1 -> ... -> d5 -> deep; deep-chain.pem = deep+d5..d1
  odd-*.der          DER certificates with unusual subjects, for unit tests;
  odd-*.expect       the exact subject string mtlsd must produce (bytes, no
                     trailing newline); odd-sans.san lists its SANs, one
                     "kind=value" line each, grouped by kind, in certificate
                     order
  map-*              clientAuth leaves for the mapping tests (signed by ca
                     unless said): map-email (SAN email alice@corp.example),
                     map-email-other (alice@evil.example), map-cn-alice2,
                     map-cn-xalice, map-cn-star (CN "al*ce", for glob
                     escapes), map-cn-newline (CN "alice\\nroot"),
                     map-cn-nul (CN "alice\\0root"), map-cn-upper (CN=ALICE),
                     map-cn-cyrillic (CN "\\u0430lice": Cyrillic a first),
                     map-multi-ou (CN=multi, OU=dev, OU=ops), map-two-emails
                     (SAN emails bob@ and carol@corp.example), map-ca2-alice
                     (CN=alice,O=Example Corp, signed by ca2)
  ca2                a second root with exactly the subject of ca, another key
  ca-both.pem        = ca.crt + ca2.crt
  ca.sha256, ca2.sha256  "sha256:AB:CD:..." (upper-case hex of the SHA-256 of
                     the DER certificate), the issuer pin format
"""

import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ObjectIdentifier

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pkilib  # noqa: E402
from pkilib import CLIENT, DAY, NOW, SERVER, issue, pem  # noqa: E402

# Names are listed as RFC 4514 prints them (most specific first) and encoded
# in reverse, the usual X.509 order (RFC 4514 section 2.1).
ROOT_NAME = [("CN", "mtls-pam Test Root CA"), ("O", "mtls-pam tests")]

OIDS = {
    "CN": NameOID.COMMON_NAME,
    "L": NameOID.LOCALITY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "C": NameOID.COUNTRY_NAME,
    "STREET": NameOID.STREET_ADDRESS,
    "DC": NameOID.DOMAIN_COMPONENT,
    "UID": NameOID.USER_ID,
    "emailAddress": NameOID.EMAIL_ADDRESS,
    "serialNumber": NameOID.SERIAL_NUMBER,
    "SN": NameOID.SURNAME,
    "GN": NameOID.GIVEN_NAME,
    "title": NameOID.TITLE,
}


def name(rdns):
    """rdns: the RDNs as RFC 4514 prints them, most specific first; each a
    (type, value) pair or a list of pairs for a multi-valued RDN.  They are
    encoded in reverse, the usual X.509 order.  Types are the short names
    above or dotted OIDs."""
    out = []
    for rdn in reversed(rdns):
        members = rdn if isinstance(rdn, list) else [rdn]
        attrs = []
        for typ, value in members:
            oid = OIDS.get(typ) or ObjectIdentifier(typ)
            attrs.append(x509.NameAttribute(oid, value))
        out.append(x509.RelativeDistinguishedName(attrs))
    return x509.Name(out)


# --- DER helpers, for the certificate whose subject is not valid UTF-8 ---

def der_len(n):
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def der_tlv(tag, body):
    return bytes([tag]) + der_len(len(body)) + body


def patch_and_resign(issued, signer, placeholder, replacement):
    """Return the DER of issued.cert with placeholder (bytes) replaced by
    replacement (same length) inside the TBSCertificate, re-signed by
    signer.  Lets us put bytes into a UTF8String that cryptography would
    refuse to encode."""
    assert len(placeholder) == len(replacement)
    tbs = issued.cert.tbs_certificate_bytes
    assert tbs.count(placeholder) == 1, "placeholder must occur once"
    tbs = tbs.replace(placeholder, replacement)
    sig = signer.key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    # ecdsa-with-SHA256, no parameters
    alg = der_tlv(0x30, der_tlv(0x06, bytes.fromhex("2a8648ce3d040302")))
    return der_tlv(0x30, tbs + alg + der_tlv(0x03, b"\x00" + sig))


# --- output ---

def write(outdir, fname, data, mode=0o644):
    pkilib.write(os.path.join(outdir, fname), data, mode)


def save(outdir, nm, issued):
    """NAME.crt and NAME.key."""
    pkilib.save(os.path.join(outdir, nm), issued)


def save_identity(outdir, nm, issued, subject_text):
    """Also NAME.serial and NAME.subject, as mtlsd prints them."""
    pkilib.save(os.path.join(outdir, nm), issued, serial=True)
    write(outdir, nm + ".subject", subject_text.encode("utf-8") + b"\n")

# Odd subjects: (fixture name, rdns, exact expected RFC 4514 text as bytes).
# Expected strings are written out by hand, not computed, so the fixtures
# check the escaper instead of mirroring it.
ODD = [
    ("comma", [("CN", "Doe, John")], b"CN=Doe\\, John"),
    ("plus", [("CN", "a+b")], b"CN=a\\+b"),
    ("quotes", [("CN", 'say "hi"')], b'CN=say \\"hi\\"'),
    ("backslash", [("CN", "back\\slash")], b"CN=back\\\\slash"),
    ("specials", [("CN", "a;b<c>d=e")], b"CN=a\\;b\\<c\\>d=e"),
    ("hash", [("CN", "#hash")], b"CN=\\#hash"),
    ("inner-hash", [("CN", "a#b")], b"CN=a#b"),
    ("spaces", [("CN", " padded ")], b"CN=\\ padded\\ "),
    ("inner-spaces", [("CN", "a  b")], b"CN=a  b"),
    ("utf8", [("CN", "J\u00fcrgen"), ("O", "\u65e5\u672c")],
     "CN=J\u00fcrgen,O=\u65e5\u672c".encode("utf-8")),
    ("nul", [("CN", "alice\x00.evil")], b"CN=alice\\00.evil"),
    ("newline", [("CN", "line1\nline2")], b"CN=line1\\0Aline2"),
    ("control", [("CN", "a\x01b\x1fc\x7fd\te")], b"CN=a\\01b\\1Fc\\7Fd\\09e"),
    ("multi", [[("CN", "a"), ("UID", "b")], ("O", "x")], b"CN=a+UID=b,O=x"),
    ("email", [("CN", "dave"), ("emailAddress", "dave@corp.example")],
     b"CN=dave,emailAddress=dave@corp.example"),
    ("types", [("C", "DE"), ("ST", "Bavaria"), ("L", "Munich"),
               ("STREET", "Main St 1"), ("O", "Org"), ("OU", "Unit"),
               ("DC", "example"), ("DC", "org"), ("UID", "u1"),
               ("serialNumber", "42"), ("SN", "Smith"), ("GN", "Ann"),
               ("title", "Dr"), ("emailAddress", "ann@example.org"),
               ("1.2.3.4.5", "opaque"), ("CN", "ann")],
     b"C=DE,ST=Bavaria,L=Munich,STREET=Main St 1,O=Org,OU=Unit,DC=example,"
     b"DC=org,UID=u1,serialNumber=42,SN=Smith,GN=Ann,title=Dr,"
     b"emailAddress=ann@example.org,1.2.3.4.5=#0C066F7061717565,CN=ann"),
]

# Subjects that are not valid UTF-8: (name, placeholder CN, raw bytes, expect).
ODD_RAW = [
    ("badutf8", "bad-XXXX", b"bad-\xff\xfe\xc3(", b"CN=bad-\\FF\\FE\\C3("),
    ("overlong", "xXXyXXXzXX", b"x\xc0\xafy\xed\xa0\x80z\xe2\x82",
     b"CN=x\\C0\\AFy\\ED\\A0\\80z\\E2\\82"),
]


def pin_text(cert):
    """The issuer pin of cert: "sha256:" and colon-separated upper-case hex
    of the SHA-256 of its DER."""
    digest = cert.fingerprint(hashes.SHA256())
    return "sha256:" + ":".join("%02X" % b for b in digest)


# Mapping fixtures signed by ca: (name, rdns, SAN list or None).
MAP = [
    ("map-email", [("CN", "alice-mail")],
     [x509.RFC822Name("alice@corp.example")]),
    ("map-email-other", [("CN", "alice-evil")],
     [x509.RFC822Name("alice@evil.example")]),
    ("map-cn-alice2", [("CN", "alice2")], None),
    ("map-cn-xalice", [("CN", "xalice")], None),
    ("map-cn-star", [("CN", "al*ce")], None),
    ("map-cn-newline", [("CN", "alice\nroot")], None),
    ("map-cn-nul", [("CN", "alice\x00root")], None),
    ("map-cn-upper", [("CN", "ALICE")], None),
    ("map-cn-cyrillic", [("CN", "\u0430lice")], None),
    ("map-multi-ou", [("CN", "multi"), ("OU", "dev"), ("OU", "ops")], None),
    ("map-two-emails", [("CN", "two")],
     [x509.RFC822Name("bob@corp.example"),
      x509.RFC822Name("carol@corp.example")]),
]


def mapping_fixtures(outdir, ca):
    for nm, rdns, san in MAP:
        save(outdir, nm, issue(name(rdns), ca, eku=CLIENT, san=san))

    # Same subject DN as ca, another key: only an issuer pin tells them
    # apart.
    ca2 = issue(name(ROOT_NAME), None, ca=True, not_after=NOW + 3650 * DAY)
    assert ca2.cert.subject == ca.cert.subject
    save(outdir, "ca2", ca2)
    write(outdir, "ca-both.pem", pem(ca.cert) + pem(ca2.cert))
    for nm, c in (("ca", ca), ("ca2", ca2)):
        write(outdir, nm + ".sha256", (pin_text(c.cert) + "\n").encode())
    alice2 = issue(name([("CN", "alice"), ("O", "Example Corp")]), ca2,
                   eku=CLIENT)
    save_identity(outdir, "map-ca2-alice", alice2, "CN=alice,O=Example Corp")


def main():
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        sys.stderr.write("usage: mkpki.py OUTDIR\n")
        return 2
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)

    ca = issue(name(ROOT_NAME), None, ca=True, not_after=NOW + 3650 * DAY)
    save(outdir, "ca", ca)
    write(outdir, "clients-ca.pem", pem(ca.cert))

    server = issue(name([("CN", "localhost")]), ca, eku=SERVER,
                   san=pkilib.localhost_san())
    save(outdir, "server", server)
    write(outdir, "server-chain.pem", pem(server.cert))

    alice = issue(name([("CN", "alice"), ("O", "Example Corp")]), ca,
                  eku=CLIENT, san=[x509.RFC822Name("alice@corp.example")])
    save_identity(outdir, "alice", alice, "CN=alice,O=Example Corp")
    bob = issue(name([("CN", "bob")]), ca, eku=CLIENT)
    save_identity(outdir, "bob", bob, "CN=bob")
    assert alice.cert.serial_number != bob.cert.serial_number

    other = issue(name([("CN", "Other CA")]), None, ca=True)
    save(outdir, "other-ca", other)
    untrusted = issue(name([("CN", "untrusted")]), other, eku=CLIENT)
    save_identity(outdir, "untrusted", untrusted, "CN=untrusted")

    expired = issue(name([("CN", "expired")]), ca, eku=CLIENT,
                    not_before=NOW - 30 * DAY, not_after=NOW - DAY)
    save_identity(outdir, "expired", expired, "CN=expired")
    notyet = issue(name([("CN", "notyet")]), ca, eku=CLIENT,
                   not_before=NOW + 30 * DAY, not_after=NOW + 60 * DAY)
    save_identity(outdir, "notyet", notyet, "CN=notyet")
    serverauth = issue(name([("CN", "serverauth")]), ca, eku=SERVER)
    save_identity(outdir, "serverauth", serverauth, "CN=serverauth")

    inter = issue(name([("CN", "mtls-pam Test Intermediate CA")]), ca, ca=True)
    save(outdir, "inter", inter)
    carol = issue(name([("CN", "carol")]), inter, eku=CLIENT)
    save_identity(outdir, "carol", carol, "CN=carol")
    write(outdir, "carol-chain.pem", pem(carol.cert) + pem(inter.cert))

    parent = ca
    chain = []
    for i in range(1, 6):
        d = issue(name([("CN", "Deep CA %d" % i)]), parent, ca=True)
        save(outdir, "d%d" % i, d)
        chain.append(d)
        parent = d
    deep = issue(name([("CN", "deep")]), parent, eku=CLIENT)
    save_identity(outdir, "deep", deep, "CN=deep")
    write(outdir, "deep-chain.pem",
          pem(deep.cert) + b"".join(pem(d.cert) for d in reversed(chain)))

    for nm, rdns, expect in ODD:
        c = issue(name(rdns), ca, eku=CLIENT)
        write(outdir, "odd-%s.der" % nm,
              c.cert.public_bytes(serialization.Encoding.DER))
        write(outdir, "odd-%s.expect" % nm, expect)

    for nm, placeholder, raw, expect in ODD_RAW:
        c = issue(name([("CN", placeholder)]), ca, eku=CLIENT)
        der = patch_and_resign(c, ca, placeholder.encode(), raw)
        write(outdir, "odd-%s.der" % nm, der)
        write(outdir, "odd-%s.expect" % nm, expect)

    sans = [x509.RFC822Name("first@corp.example"),
            x509.DNSName("one.example"),
            x509.RFC822Name("second@corp.example"),
            x509.UniformResourceIdentifier("https://id.example/users/erin"),
            x509.DNSName("two.example")]
    c = issue(name([("CN", "erin")]), ca, eku=CLIENT, san=sans)
    write(outdir, "odd-sans.der", c.cert.public_bytes(serialization.Encoding.DER))
    write(outdir, "odd-sans.expect", b"CN=erin")
    write(outdir, "odd-sans.san",
          b"san_email=first@corp.example\n"
          b"san_email=second@corp.example\n"
          b"san_dns=one.example\n"
          b"san_dns=two.example\n"
          b"san_uri=https://id.example/users/erin\n")

    mapping_fixtures(outdir, ca)
    return 0


if __name__ == "__main__":
    sys.exit(main())
