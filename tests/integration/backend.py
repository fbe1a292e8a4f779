#!/usr/bin/env python3
"""Test backends for the mtlsd integration tests (stdlib only).

    backend.py --echo|--http (--tcp HOST:PORT | --unix PATH [--mode 0666])

--echo   echoes every byte back.  Half-close aware: after reading EOF it
         finishes echoing what it read, then closes.
--http   tiny HTTP/1.1 server: GET / answers "hello from backend\\n",
         POST /echo answers with the request body.

Threaded.  Prints "ready" once listening and "accept N PEER" for every
accepted connection (stdout, line-buffered), so tests can count how many
connections reached the backend.  Stops on SIGTERM or SIGINT.
"""

import argparse
import os
import signal
import socket
import sys
import threading

MAX_HEADER = 16 * 1024
MAX_BODY = 64 * 1024 * 1024
IO_TIMEOUT = 120

counter_lock = threading.Lock()
counter = [0]


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def serve_echo(conn):
    while True:
        data = conn.recv(65536)
        if not data:
            break
        conn.sendall(data)
    # Peer half-closed: everything read has been echoed; close our side.
    try:
        conn.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def read_request(conn, buf):
    """Return (method, path, headers, body, rest) or None at EOF."""
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
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    length = int(headers.get("content-length", "0") or "0")
    if length < 0 or length > MAX_BODY:
        return None
    while len(rest) < length:
        data = conn.recv(65536)
        if not data:
            return None
        rest += data
    return parts[0], parts[1], headers, rest[:length], rest[length:]


def respond(conn, status, body, close):
    head = ("HTTP/1.1 %s\r\nContent-Type: text/plain\r\n"
            "Content-Length: %d\r\n%s\r\n"
            % (status, len(body), "Connection: close\r\n" if close else ""))
    conn.sendall(head.encode() + body)


def serve_http(conn):
    buf = b""
    while True:
        req = read_request(conn, buf)
        if req is None:
            return
        method, path, headers, body, buf = req
        close = headers.get("connection", "").lower() == "close"
        if method == "GET" and path == "/":
            respond(conn, "200 OK", b"hello from backend\n", close)
        elif method == "POST" and path == "/echo":
            respond(conn, "200 OK", body, close)
        else:
            respond(conn, "404 Not Found", b"not found\n", close)
        if close:
            return


def handle(conn, mode):
    conn.settimeout(IO_TIMEOUT)
    try:
        if mode == "echo":
            serve_echo(conn)
        else:
            serve_http(conn)
    except (OSError, ValueError):
        pass
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    m = ap.add_mutually_exclusive_group(required=True)
    m.add_argument("--echo", action="store_const", dest="mode", const="echo")
    m.add_argument("--http", action="store_const", dest="mode", const="http")
    a = ap.add_mutually_exclusive_group(required=True)
    a.add_argument("--tcp", metavar="HOST:PORT")
    a.add_argument("--unix", metavar="PATH")
    ap.add_argument("--mode", dest="sockmode", default="0666",
                    help="permissions of the unix socket (octal)")
    args = ap.parse_args()

    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        host = host.strip("[]")
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        srv = socket.socket(fam, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((host, int(port)))
    else:
        try:
            os.unlink(args.unix)
        except FileNotFoundError:
            pass
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(args.unix)
        # mtlsd connects after dropping privileges.
        os.chmod(args.unix, int(args.sockmode, 8))
    srv.listen(128)

    def stop(signum, frame):
        if args.unix:
            try:
                os.unlink(args.unix)
            except OSError:
                pass
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    say("ready")
    while True:
        conn, peer = srv.accept()
        with counter_lock:
            counter[0] += 1
            n = counter[0]
        say("accept %d %s" % (n, peer if peer else "unix"))
        t = threading.Thread(target=handle, args=(conn, args.mode), daemon=True)
        t.start()


if __name__ == "__main__":
    main()
