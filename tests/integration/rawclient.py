#!/usr/bin/env python3
"""Raw socket clients for the mtlsd robustness tests (stdlib only).

    rawclient.py garbage HOST PORT NBYTES
        connect, send NBYTES random bytes, wait (<= 10 s) for the server to
        close; exit 0 when it closed.
    rawclient.py stall HOST PORT MAXWAIT [--partial]
        connect, optionally send the first bytes of a TLS ClientHello, then
        send nothing; print "connected" and wait up to MAXWAIT seconds for
        the server to close.  Exit 0 when the server closed, 1 if not.
    rawclient.py hold HOST PORT
        connect, print "connected", and hold the connection until killed
        (or 120 s).
    rawclient.py query SOCKET (--size N | --line TEXT) [--first-line]
        send N bytes of "A" without a newline, or TEXT plus "\\n", to a unix
        socket; print what comes back (<= 64 KiB) and "EOF" when the server
        closed.  Exit 0 when it closed within 10 s.  With --first-line,
        stop after the first line and exit 0 when one came.
"""

import os
import socket
import sys
import time

# A TLS record header announcing a 512-byte handshake record, then the start
# of a ClientHello: a real client that stopped mid-message.
PARTIAL_HELLO = bytes.fromhex("1603010200" "010001fc" "0303") + b"\x11" * 16


def connect(host, port):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect((host.strip("[]"), int(port)))
    return s


def wait_closed(s, maxwait):
    """True when the peer closed (EOF or reset) within maxwait seconds."""
    deadline = time.monotonic() + maxwait
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        s.settimeout(left)
        try:
            data = s.recv(65536)
        except socket.timeout:
            return False
        except OSError:
            return True
        if not data:
            return True


def say(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    cmd = argv[1]
    if cmd == "garbage":
        s = connect(argv[2], argv[3])
        try:
            s.sendall(os.urandom(int(argv[4])))
        except OSError as e:
            say("send stopped: %s" % e)
        closed = wait_closed(s, 10)
        say("closed" if closed else "still open")
        return 0 if closed else 1
    if cmd == "stall":
        s = connect(argv[2], argv[3])
        if "--partial" in argv:
            s.sendall(PARTIAL_HELLO)
        say("connected")
        t0 = time.monotonic()
        closed = wait_closed(s, float(argv[4]))
        say("%s after %.1f s" % ("closed" if closed else "still open",
                                  time.monotonic() - t0))
        return 0 if closed else 1
    if cmd == "hold":
        s = connect(argv[2], argv[3])
        say("connected")
        wait_closed(s, 120)
        say("closed")
        return 0
    if cmd == "query":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(argv[2])
        if argv[3] == "--size":
            payload = b"A" * int(argv[4])
        else:
            payload = argv[4].encode() + b"\n"
        try:
            s.sendall(payload)
        except OSError as e:
            say("send stopped: %s" % e)
        got = b""
        deadline = time.monotonic() + 10
        closed = False
        while len(got) < 65536 and time.monotonic() < deadline:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                data = s.recv(65536)
            except socket.timeout:
                break
            except OSError:
                closed = True
                break
            if not data:
                closed = True
                break
            got += data
            if "--first-line" in argv and b"\n" in got:
                got = got.split(b"\n", 1)[0] + b"\n"
                sys.stdout.write(got.decode("utf-8", "backslashreplace"))
                return 0
        sys.stdout.write(got.decode("utf-8", "backslashreplace"))
        if got and not got.endswith(b"\n"):
            sys.stdout.write("\n")
        say("EOF" if closed else "NO EOF")
        return 0 if closed else 1
    sys.stderr.write("unknown command %s\n" % cmd)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
