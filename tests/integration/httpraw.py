#!/usr/bin/env python3
"""A raw HTTP/1.1-over-TLS client for the mtlsd responder tests (stdlib).

    httpraw.py raw HOST PORT CA CERT KEY [MAXWAIT]
        send stdin's bytes as they are (one write), then read until the
        server closes (at most MAXWAIT s, default 10).
    httpraw.py seq HOST PORT CA CERT KEY N [MAXWAIT]
        send N "GET /healthz" requests one after the other on one
        connection, each after the previous answer, then wait (at most
        MAXWAIT s, default 10) for the server to close.
    httpraw.py stall HOST PORT CA CERT KEY [MAXWAIT]
        send stdin's bytes (a partial request), then nothing; wait at most
        MAXWAIT s (default 10) for the server to close.

CERT may be "-" for no client certificate.  Prints one JSON object:
responses (status, reason, headers with lower-case names, body), closed
(the server closed within MAXWAIT), elapsed (seconds from the last write
to the close, or to giving up), rest (unparsed bytes), error.
"""

import json
import socket
import ssl
import sys
import time


def connect(host, port, ca, cert, key):
    ctx = ssl.create_default_context(cafile=ca)
    if cert != "-":
        ctx.load_cert_chain(cert, key)
    raw = socket.create_connection((host, int(port)), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    return s


def read_until_close(s, buf, maxwait):
    """Read into buf until EOF; returns True when the peer closed."""
    end = time.monotonic() + maxwait
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return False
        s.settimeout(left)
        try:
            data = s.recv(65536)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError):
            return True
        if not data:
            return True
        buf.extend(data)


def parse_one(buf, head=False):
    """One response from the start of buf: (dict, bytes used) or None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = 0 if head else int(headers.get("content-length", "0"))
    if len(buf) < end + 4 + n:
        return None
    body = bytes(buf[end + 4:end + 4 + n]).decode("utf-8", "replace")
    return ({"status": int(parts[1]) if len(parts) > 1 and parts[1].isdigit()
             else None, "reason": parts[2] if len(parts) > 2 else "",
             "status_line": lines[0], "headers": headers, "body": body},
            end + 4 + n)


def parse_all(buf):
    out = []
    while True:
        r = parse_one(buf)
        if r is None:
            return out
        out.append(r[0])
        del buf[:r[1]]


def main():
    mode = sys.argv[1]
    host, port, ca, cert, key = sys.argv[2:7]
    res = {"responses": [], "closed": False, "elapsed": None, "rest": "",
           "error": None}
    buf = bytearray()
    try:
        s = connect(host, port, ca, cert, key)
        if mode in ("raw", "stall"):
            maxwait = float(sys.argv[7]) if len(sys.argv) > 7 else 10
            s.sendall(sys.stdin.buffer.read())
            t0 = time.monotonic()
            res["closed"] = read_until_close(s, buf, maxwait)
            res["elapsed"] = round(time.monotonic() - t0, 2)
            res["responses"] = parse_all(buf)
        elif mode == "seq":
            n = int(sys.argv[7])
            maxwait = float(sys.argv[8]) if len(sys.argv) > 8 else 10
            for i in range(n):
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
                s.settimeout(10)
                while True:
                    r = parse_one(buf)
                    if r is not None:
                        res["responses"].append(r[0])
                        del buf[:r[1]]
                        break
                    data = s.recv(65536)
                    if not data:
                        raise EOFError("closed after %d answers" % i)
                    buf.extend(data)
            t0 = time.monotonic()
            res["closed"] = read_until_close(s, buf, maxwait)
            res["elapsed"] = round(time.monotonic() - t0, 2)
        else:
            sys.exit("unknown mode " + mode)
    except Exception as e:  # reported, not raised: the caller judges
        res["error"] = "%s: %s" % (type(e).__name__, e)
    res["rest"] = bytes(buf).decode("latin-1")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
