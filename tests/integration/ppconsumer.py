#!/usr/bin/env python3
"""A strict PROXY protocol consumer and a TLS client for t_proxy.sh
(stdlib only).

    ppconsumer.py serve --tcp HOST:PORT --expect v1|v2
        Listen; for every connection read the PROXY header exactly as
        haproxy's proxy-protocol.txt says (v1: one CRLF-ended line of at
        most 107 bytes, canonical addresses and ports; v2: signature,
        version 2 / PROXY, a known family, TLVs that exactly fill the
        length, SSL sub-TLVs that exactly fill the SSL TLV, no type twice).
        Prints "ready", then per connection:
            report N {json}    the parsed header
            error N WHY        a header that is not valid (connection closed)
            data N HEX         at EOF: every byte that followed the header
        and echoes every byte after the header back.

    ppconsumer.py client HOST PORT CA CERT KEY HEXPAYLOAD [--hold FILE]
        TLS to HOST:PORT (server name localhost) with that certificate,
        prints "local ADDR PORT" (its own address, from the kernel), sends
        the payload, reads as many bytes back and prints "echo ok" (or
        "echo bad"); with --hold waits (<= 60 s) until FILE exists before
        closing.  Exit 0 when the echo came back intact.
"""

import ipaddress
import json
import os
import re
import signal
import socket
import ssl
import sys
import threading
import time

V2_SIG = b"\x0d\x0a\x0d\x0a\x00\x0d\x0a\x51\x55\x49\x54\x0a"
IO_TIMEOUT = 60

out_lock = threading.Lock()


def say(line):
    with out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class Bad(Exception):
    pass


def recv_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise Bad("EOF after %d of %d header bytes" % (len(data), n))
        data += chunk
    return data


DEC_PORT = re.compile(r"^(0|[1-9][0-9]{0,4})$")
DEC_OCTET = re.compile(r"^(0|[1-9][0-9]{0,2})$")


def v1_port(text):
    if not DEC_PORT.match(text) or int(text) > 65535:
        raise Bad("bad port %r" % text)
    return int(text)


def v1_addr(proto, text):
    if proto == "TCP4":
        parts = text.split(".")
        if len(parts) != 4 or not all(DEC_OCTET.match(p) and int(p) <= 255
                                      for p in parts):
            raise Bad("bad IPv4 address %r" % text)
        return text
    # TCP6: groups of hex digits, at most one "::" (no dotted quad)
    if not re.match(r"^[0-9A-Fa-f:]+$", text):
        raise Bad("bad IPv6 address %r" % text)
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        raise Bad("bad IPv6 address %r" % text)
    return text


def read_v1(conn):
    line = b""
    while True:
        c = recv_exact(conn, 1)
        line += c
        if len(line) > 107:
            raise Bad("no CRLF in the first 107 bytes")
        if c == b"\n":
            if not line.endswith(b"\r\n"):
                raise Bad("LF without CR")
            break
        if len(line) >= 2 and line[-2:-1] == b"\r":
            raise Bad("CR without LF")
    raw = line
    try:
        text = line[:-2].decode("ascii")
    except UnicodeDecodeError:
        raise Bad("not US-ASCII")
    if not text.startswith("PROXY "):
        raise Bad("does not start with 'PROXY '")
    parts = text.split(" ")
    rep = {"version": 1, "raw": raw.decode("ascii")}
    if parts[1] == "UNKNOWN":
        rep["proto"] = "UNKNOWN"
        return rep
    if parts[1] not in ("TCP4", "TCP6"):
        raise Bad("bad protocol %r" % parts[1])
    if len(parts) != 6:
        raise Bad("%d fields (want 6, single spaces)" % len(parts))
    rep["proto"] = parts[1]
    rep["src"] = v1_addr(parts[1], parts[2])
    rep["dst"] = v1_addr(parts[1], parts[3])
    rep["sport"] = v1_port(parts[4])
    rep["dport"] = v1_port(parts[5])
    return rep


def read_v2(conn):
    head = recv_exact(conn, 16)
    if head[:12] != V2_SIG:
        raise Bad("bad v2 signature %s" % head[:12].hex())
    if head[12] >> 4 != 2:
        raise Bad("version %d" % (head[12] >> 4))
    if head[12] & 0x0F != 1:
        raise Bad("command %d (want 1, PROXY)" % (head[12] & 0x0F))
    fam = head[13]
    length = head[14] << 8 | head[15]
    body = recv_exact(conn, length)
    rep = {"version": 2, "fam": fam, "length": length}
    if fam == 0x11:
        alen, fa = 4, socket.AF_INET
    elif fam == 0x21:
        alen, fa = 16, socket.AF_INET6
    elif fam == 0x31:
        alen, fa = 108, None
    elif fam == 0x00:
        alen, fa = 0, None
    else:
        raise Bad("family/protocol 0x%02x" % fam)
    off = 0
    if fa is not None:
        if length < 2 * alen + 4:
            raise Bad("length %d shorter than the address block" % length)
        rep["src"] = socket.inet_ntop(fa, body[0:alen])
        rep["dst"] = socket.inet_ntop(fa, body[alen:2 * alen])
        rep["sport"] = body[2 * alen] << 8 | body[2 * alen + 1]
        rep["dport"] = body[2 * alen + 2] << 8 | body[2 * alen + 3]
        off = 2 * alen + 4
    elif alen:
        if length < 2 * alen:
            raise Bad("length %d shorter than the unix addresses" % length)
        rep["src"] = body[0:alen].hex()
        rep["dst"] = body[alen:2 * alen].hex()
        off = 2 * alen
    tlvs = {}
    ssl_subs = {}
    while off < length:
        if length - off < 3:
            raise Bad("TLV header cut at %d" % off)
        t = body[off]
        tl = body[off + 1] << 8 | body[off + 2]
        if tl > length - off - 3:
            raise Bad("TLV 0x%02x of %d bytes overruns the header" % (t, tl))
        key = "%02x" % t
        if key in tlvs:
            raise Bad("TLV 0x%02x twice" % t)
        val = body[off + 3:off + 3 + tl]
        tlvs[key] = val.hex()
        if t == 0x20:
            if tl < 5:
                raise Bad("SSL TLV of %d bytes" % tl)
            rep["ssl_client"] = val[0]
            rep["ssl_verify"] = int.from_bytes(val[1:5], "big")
            so = 5
            while so < tl:
                if tl - so < 3:
                    raise Bad("SSL sub-TLV header cut")
                st = val[so]
                sl = val[so + 1] << 8 | val[so + 2]
                if sl > tl - so - 3:
                    raise Bad("SSL sub-TLV 0x%02x overruns" % st)
                sk = "%02x" % st
                if sk in ssl_subs:
                    raise Bad("SSL sub-TLV 0x%02x twice" % st)
                ssl_subs[sk] = val[so + 3:so + 3 + sl].hex()
                so += 3 + sl
        off += 3 + tl
    rep["tlvs"] = tlvs
    rep["ssl"] = ssl_subs
    return rep


def serve_one(conn, n, expect):
    conn.settimeout(IO_TIMEOUT)
    try:
        rep = read_v1(conn) if expect == "v1" else read_v2(conn)
    except (Bad, OSError) as e:
        say("error %d %s" % (n, e))
        conn.close()
        return
    rep["conn"] = n
    say("report %d %s" % (n, json.dumps(rep, sort_keys=True)))
    data = b""
    try:
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
            conn.sendall(chunk)
    except OSError as e:
        say("ioerror %d %s" % (n, e))
    say("data %d %s" % (n, data.hex()))
    conn.close()


def serve(argv):
    host, port, expect = None, None, None
    i = 0
    while i < len(argv):
        if argv[i] == "--tcp":
            host, port = argv[i + 1].rsplit(":", 1)
            i += 2
        elif argv[i] == "--expect":
            expect = argv[i + 1]
            i += 2
        else:
            raise SystemExit("unknown argument %s" % argv[i])
    if expect not in ("v1", "v2") or host is None:
        raise SystemExit(__doc__)
    host = host.strip("[]")
    ls = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, int(port)))
    ls.listen(64)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    say("ready")
    n = 0
    while True:
        conn, peer = ls.accept()
        n += 1
        say("accept %d %s" % (n, peer[0]))
        threading.Thread(target=serve_one, args=(conn, n, expect),
                         daemon=True).start()


def client(argv):
    host, port, ca, cert, key, payload = argv[:6]
    hold = None
    if len(argv) > 7 and argv[6] == "--hold":
        hold = argv[7]
    payload = bytes.fromhex(payload)
    ctx = ssl.create_default_context(cafile=ca)
    ctx.load_cert_chain(cert, key)
    h = host.strip("[]")
    raw = socket.socket(socket.AF_INET6 if ":" in h else socket.AF_INET)
    raw.settimeout(15)
    raw.connect((h, int(port)))
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    local = s.getsockname()
    say("local %s %d" % (local[0], local[1]))
    s.sendall(payload)
    got = b""
    try:
        while len(got) < len(payload):
            chunk = s.recv(len(payload) - len(got))
            if not chunk:
                break
            got += chunk
    except OSError as e:
        say("recv: %s" % e)
    ok = got == payload
    say("echo ok" if ok else "echo bad (%d of %d bytes)" % (len(got),
                                                             len(payload)))
    if hold:
        deadline = time.monotonic() + 60
        while not os.path.exists(hold) and time.monotonic() < deadline:
            time.sleep(0.05)
    try:
        s.settimeout(10)
        s.unwrap()
    except (OSError, ValueError):
        pass
    s.close()
    say("closed")
    return 0 if ok else 1


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    if sys.argv[1] == "serve":
        return serve(sys.argv[2:])
    if sys.argv[1] == "client":
        return client(sys.argv[2:])
    raise SystemExit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
