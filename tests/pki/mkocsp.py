#!/usr/bin/env python3
"""OCSP fixtures for the mtlsd tests (python3-cryptography).

    mkocsp.py cert --ca CA.crt --ca-key CA.key --cn NAME [--ocsp-url URL]
                   -o PREFIX
    mkocsp.py index [--valid CERT ...] [--revoked CERT ...] -o INDEX
    mkocsp.py serve --listen 127.0.0.1:PORT (--index INDEX --ca CA.crt
                    --ca-key CA.key | --hang)

cert    issues a client certificate (clientAuth, fresh ECDSA P-256 key and
        random serial) signed by CA.  With --ocsp-url it carries an
        AuthorityInformationAccess extension whose OCSP accessLocation is
        URL (e.g. http://127.0.0.1:PORT/).  Writes PREFIX.crt (PEM),
        PREFIX.key (PKCS#8 PEM, mode 0600) and PREFIX.serial (upper-case
        hex, no leading zeros, as mtlsd prints it).

index   writes INDEX, an OpenSSL CA database ("openssl ca" index.txt
        format) as "openssl ocsp -index INDEX" reads it: one line per
        certificate, tab separated: status (V valid, R revoked), notAfter,
        revocation date ("YYMMDDHHMMSSZ,keyCompromise", one hour ago; empty
        for V), serial (upper-case hex, whole bytes, the way OpenSSL's
        BN_bn2hex prints it), file name ("unknown") and the subject in
        OpenSSL's one-line form (/CN=bob).  Also writes INDEX.attr with
        "unique_subject = no".  A certificate that is not listed gets the
        status "unknown" from the responder.

serve   an OCSP responder over HTTP on a loopback address.  OpenSSL 3.0's
        "openssl ocsp -port N" takes a port number only and binds the
        wildcard address (*:N); the tests must not listen beyond loopback,
        so this helper does the HTTP side (POST, and GET with the base64
        request in the path) on the given address and lets the real
        "openssl ocsp" responder make every answer:
            openssl ocsp -index INDEX -CA CA.crt -rsigner CA.crt
                         -rkey CA.key -ndays 1 -reqin REQ -respout RESP
        The index is read afresh for every request.  Prints "ready" once
        listening, then for every HTTP request (stdout, line-buffered)
            request N METHOD PATH serial=HEX
            response N status=good|revoked|unknown|error
        so tests can count what reached the responder.  Answers with
        "Connection: close".  --hang accepts and reads requests but never
        answers (each connection is held for up to 120 s), for timeouts.
        Stops on SIGTERM or SIGINT.
"""

import argparse
import base64
import datetime
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

from cryptography import x509
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pkilib  # noqa: E402
from pkilib import NOW, load_cert, write  # noqa: E402


def cmd_cert(a):
    ca = pkilib.load_issued(a.ca, a.ca_key)
    aia = []
    if a.ocsp_url:
        aia = [x509.AuthorityInformationAccess([
            x509.AccessDescription(
                AuthorityInformationAccessOID.OCSP,
                x509.UniformResourceIdentifier(a.ocsp_url))])]
    leaf = pkilib.issue(pkilib.cn_name(a.cn), ca, eku=pkilib.CLIENT,
                        extensions=aia,
                        not_before=NOW - datetime.timedelta(hours=1),
                        not_after=NOW + datetime.timedelta(days=365))
    pkilib.save(a.out, leaf, serial=True)
    return 0


def index_time(dt):
    # OpenSSL writes UTCTime (YYMMDDHHMMSSZ) up to 2049, GeneralizedTime
    # after that.
    dt = dt.astimezone(datetime.timezone.utc)
    if dt.year < 2050:
        return dt.strftime("%y%m%d%H%M%SZ")
    return dt.strftime("%Y%m%d%H%M%SZ")


def index_serial(n):
    # BN_bn2hex: upper case, two digits per byte, no leading zero bytes
    nbytes = max(1, (n.bit_length() + 7) // 8)
    return "%0*X" % (2 * nbytes, n)


def oneline_name(name):
    # X509_NAME_oneline: "/type=value" in encoding order.  Only the simple
    # names of the test PKI occur here; "/" and tabs would break the line.
    parts = []
    for rdn in name.rdns:
        for attr in rdn:
            short = {
                NameOID.COMMON_NAME: "CN",
                NameOID.ORGANIZATION_NAME: "O",
                NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
                NameOID.COUNTRY_NAME: "C",
            }.get(attr.oid, attr.oid.dotted_string)
            value = attr.value
            if any(c in value for c in "/\t\n"):
                raise SystemExit("mkocsp.py: subject %r does not fit the "
                                 "index format" % value)
            parts.append("/%s=%s" % (short, value))
    return "".join(parts)


def not_after(cert):
    try:
        return cert.not_valid_after_utc
    except AttributeError:  # cryptography < 42
        return cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)


def cmd_index(a):
    revoked_at = index_time(NOW - datetime.timedelta(hours=1))
    lines = []
    seen = set()
    for status, paths in (("V", a.valid), ("R", a.revoked)):
        for path in paths:
            cert = load_cert(path)
            serial = index_serial(cert.serial_number)
            if serial in seen:
                raise SystemExit("mkocsp.py: %s: serial %s listed twice"
                                 % (path, serial))
            seen.add(serial)
            rev = revoked_at + ",keyCompromise" if status == "R" else ""
            lines.append("\t".join([status, index_time(not_after(cert)), rev,
                                    serial, "unknown",
                                    oneline_name(cert.subject)]))
    write(a.out, "".join(line + "\n" for line in lines).encode())
    write(a.out + ".attr", b"unique_subject = no\n")
    return 0


# ------------------------------------------------------------------ serve

MAX_HEADER = 16 * 1024
MAX_BODY = 64 * 1024
IO_TIMEOUT = 30

_out_lock = threading.Lock()
_counter = [0]


def say(line):
    with _out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def read_request(conn, buf):
    """Return (method, path, body, rest) or None at EOF or on a bad
    request."""
    while b"\r\n\r\n" not in buf:
        if len(buf) > MAX_HEADER:
            return None
        data = conn.recv(65536)
        if not data:
            return None
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        return None
    method, path = parts[0], parts[1]
    length = 0
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "content-length":
            try:
                length = int(v.strip())
            except ValueError:
                return None
    if length < 0 or length > MAX_BODY:
        return None
    while len(rest) < length:
        data = conn.recv(65536)
        if not data:
            return None
        rest += data
    return method, path, rest[:length], rest[length:]


def request_der(method, path, body):
    if method == "POST":
        return body
    if method == "GET":
        # RFC 6960 appendix A.1: GET {url}/{url-encoding of base-64 of DER}
        b64 = urllib.parse.unquote(path.rsplit("/", 1)[-1])
        return base64.b64decode(b64 + "=" * (-len(b64) % 4))
    return None


def describe(der):
    try:
        req = ocsp.load_der_ocsp_request(der)
        return "serial=%X" % req.serial_number
    except Exception as e:  # anything unparsable is logged, not fatal
        return "serial=? (%s)" % str(e).replace("\n", " ")[:80]


def answer(a, der):
    """The DER response from "openssl ocsp", and its status word."""
    with tempfile.TemporaryDirectory(prefix="mkocsp-") as tmp:
        reqf = os.path.join(tmp, "req.der")
        respf = os.path.join(tmp, "resp.der")
        with open(reqf, "wb") as f:
            f.write(der)
        p = subprocess.run(
            ["openssl", "ocsp", "-index", a.index, "-CA", a.ca,
             "-rsigner", a.ca, "-rkey", a.ca_key, "-ndays", "1",
             "-reqin", reqf, "-respout", respf],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20,
            check=False)
        if p.returncode != 0 or not os.path.exists(respf):
            say("openssl-error %s" % p.stdout.decode("latin-1")
                .replace("\n", " ")[:300])
            return None, "error"
        with open(respf, "rb") as f:
            resp = f.read()
    try:
        r = ocsp.load_der_ocsp_response(resp)
        if r.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            status = "status-" + r.response_status.name.lower()
        else:
            status = r.certificate_status.name.lower()
    except Exception:
        status = "unparsed"
    return resp, status


def serve_conn(a, conn):
    conn.settimeout(IO_TIMEOUT)
    buf = b""
    try:
        while True:
            req = read_request(conn, buf)
            if req is None:
                return
            method, path, body, buf = req
            with _out_lock:
                _counter[0] += 1
                n = _counter[0]
            try:
                der = request_der(method, path, body)
            except Exception:
                der = None
            say("request %d %s %s %s" % (n, method, path[:60],
                                         describe(der or b"")))
            if a.hang:
                conn.settimeout(None)
                end = time.monotonic() + 120
                while time.monotonic() < end:
                    time.sleep(1)
                return
            resp, status = answer(a, der) if der else (None, "bad-request")
            say("response %d status=%s" % (n, status))
            if resp is None:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n"
                             b"Content-Length: 0\r\nConnection: close\r\n\r\n")
                return
            conn.sendall(b"HTTP/1.1 200 OK\r\n"
                         b"Content-Type: application/ocsp-response\r\n"
                         b"Content-Length: %d\r\n"
                         b"Connection: close\r\n\r\n" % len(resp) + resp)
            return
    except (OSError, subprocess.TimeoutExpired) as e:
        say("error %s" % e)
    finally:
        try:
            conn.close()
        except OSError:
            pass


def cmd_serve(a):
    if not a.hang and not (a.index and a.ca and a.ca_key):
        raise SystemExit("mkocsp.py serve: --index, --ca and --ca-key, "
                         "or --hang")
    host, _, port = a.listen.rpartition(":")
    host = host.strip("[]")
    if host not in ("127.0.0.1", "::1", "localhost"):
        raise SystemExit("mkocsp.py serve: loopback addresses only")
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    srv = socket.socket(fam, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, int(port)))
    srv.listen(64)

    def stop(signum, frame):
        os._exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    say("ready")
    while True:
        conn, peer = srv.accept()
        say("accept %s:%d" % peer[:2])
        threading.Thread(target=serve_conn, args=(a, conn),
                         daemon=True).start()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("cert")
    c.add_argument("--ca", required=True)
    c.add_argument("--ca-key", required=True)
    c.add_argument("--cn", required=True)
    c.add_argument("--ocsp-url")
    c.add_argument("-o", "--out", required=True)
    i = sub.add_parser("index")
    i.add_argument("--valid", action="append", default=[])
    i.add_argument("--revoked", action="append", default=[])
    i.add_argument("-o", "--out", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--listen", required=True)
    s.add_argument("--index")
    s.add_argument("--ca")
    s.add_argument("--ca-key")
    s.add_argument("--hang", action="store_true")
    a = p.parse_args()
    if a.cmd == "cert":
        return cmd_cert(a)
    if a.cmd == "serve":
        return cmd_serve(a)
    return cmd_index(a)


if __name__ == "__main__":
    sys.exit(main())
