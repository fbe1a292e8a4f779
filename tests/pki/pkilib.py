"""Shared helpers of the test PKI scripts (mkpki.py, mkcert.py, mkcrl.py,
mkocsp.py); python3-cryptography, ECDSA P-256, SHA-256.

The scripts import this module from their own directory:

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import pkilib
"""

import datetime
import ipaddress
import os
import secrets

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# X.509 times have one-second resolution.
NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
DAY = datetime.timedelta(days=1)

CLIENT = [ExtendedKeyUsageOID.CLIENT_AUTH]
SERVER = [ExtendedKeyUsageOID.SERVER_AUTH]


def localhost_san():
    """The SANs of a server certificate for the tests: localhost,
    127.0.0.1 and ::1."""
    return [x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.IPAddress(ipaddress.ip_address("::1"))]


def cn_name(cn):
    """The subject "CN=cn"."""
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


# --- input

def load_cert(path):
    """A certificate from a PEM or DER file."""
    with open(path, "rb") as f:
        data = f.read()
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def load_key(path):
    """An unencrypted PEM private key."""
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


class Issued:
    """A certificate and its private key."""

    def __init__(self, cert, key):
        self.cert = cert
        self.key = key


def load_issued(cert_path, key_path):
    """An Issued (e.g. a CA to sign with) from a certificate and key file."""
    return Issued(load_cert(cert_path), load_key(key_path))


# --- issuing

def new_serial():
    # 16 bytes; first byte 0x10..0x7f, so the DER integer has no leading
    # zero byte and the hex text has no leading zero nibble.
    first = 0x10 + secrets.randbelow(0x70)
    return int.from_bytes(bytes([first]) + secrets.token_bytes(15), "big")


def serial_text(serial):
    """A serial as mtlsd prints it: upper-case hex, no leading zeros."""
    return "%X" % serial


def issue(subject, issuer, *, key=None, ca=False, pathlen=None, eku=None,
          san=None, extensions=(), not_before=None, not_after=None):
    """Make a certificate for subject (x509.Name) with a fresh ECDSA P-256
    key (unless key is given) and a fresh random serial; issuer is an
    Issued or None for self-signed.  extensions: further non-critical
    extension values, added last.  Validity defaults to NOW - 1 day ..
    NOW + 365 days."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    pub = key.public_key()
    issuer_name = issuer.cert.subject if issuer else subject
    signer = issuer.key if issuer else key
    b = (x509.CertificateBuilder()
         .subject_name(subject)
         .issuer_name(issuer_name)
         .public_key(pub)
         .serial_number(new_serial())
         .not_valid_before(NOW - DAY if not_before is None else not_before)
         .not_valid_after(NOW + 365 * DAY if not_after is None
                          else not_after))
    b = b.add_extension(x509.BasicConstraints(ca=ca, path_length=pathlen),
                        critical=True)
    ku = x509.KeyUsage(digital_signature=True, content_commitment=False,
                       key_encipherment=False, data_encipherment=False,
                       key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                       encipher_only=False, decipher_only=False)
    b = b.add_extension(ku, critical=True)
    b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(pub),
                        critical=False)
    b = b.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
        critical=False)
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    if san:
        b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
    for ext in extensions:
        b = b.add_extension(ext, critical=False)
    cert = b.sign(signer, hashes.SHA256())
    return Issued(cert, key)


# --- output

def write(path, data, mode=0o644):
    """Write path atomically (a temporary file renamed over it) with mode."""
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key):
    """PKCS#8 PEM, unencrypted."""
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def save(prefix, issued, *, serial=False):
    """PREFIX.crt (PEM) and PREFIX.key (PKCS#8 PEM, mode 0600); with
    serial also PREFIX.serial (serial_text and a newline)."""
    write(prefix + ".crt", pem(issued.cert))
    write(prefix + ".key", key_pem(issued.key), 0o600)
    if serial:
        write(prefix + ".serial",
              (serial_text(issued.cert.serial_number) + "\n").encode())
