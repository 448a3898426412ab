#!/usr/bin/env python3
"""A hostile network between a field device and HQ, for tests.

usage:
  hostile.py record LISTEN_PORT TARGET_PORT FILE
      a proxy for one connection: passes it through and writes what the
      device sent (every byte, client to server) to FILE
  hostile.py flip LISTEN_PORT TARGET_PORT OFFSET
      a proxy for one connection: flips one bit of the byte at OFFSET of
      what the device sends (after the handshake: a tampered frame)
  hostile.py replay TARGET_PORT FILE
      sends FILE's bytes to HQ on a fresh connection as fast as HQ reads
      them; prints "closed N" once HQ closes the connection (N: bytes HQ
      sent), "open N" if it is still open after 10 s
  hostile.py oversize TARGET_PORT
      sends a first handshake message of the largest length (65,535
      bytes: far over what a hello may be) and watches as for replay
  hostile.py raw TARGET_PORT HEX
      sends the bytes (hex) and prints "closed N" / "open N" the same way
  hostile.py stall TARGET_PORT SECONDS
      opens a connection, sends half a handshake message and nothing more,
      holds it SECONDS or until the file named by $HOSTILE_RELEASE (if
      set) exists, then prints "held" if HQ still holds it open too,
      "dropped" if HQ closed it (HQ must go on serving others meanwhile)

The proxies listen on LISTEN_PORT (127.0.0.1), create the file named by
$HOSTILE_READY (if set) once listening, and serve one connection.  Nothing here speaks Noise: it only breaks what the device
sends, as an attacker on the wire could.
"""
import os
import socket
import sys
import threading
import time


def listen(port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(port)))
    ls.listen(4)
    if os.environ.get("HOSTILE_READY"):
        open(os.environ["HOSTILE_READY"], "w").close()
    return ls


def pipe(a, b, tap=None, flip_at=None):
    off = 0
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            if flip_at is not None and off <= flip_at < off + len(data):
                data = bytearray(data)
                data[flip_at - off] ^= 0x01
                data = bytes(data)
            if tap is not None:
                tap.write(data)
            off += len(data)
            b.sendall(data)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def proxy_one(port, target, tap=None, flip_at=None):
    ls = listen(port)
    c, _ = ls.accept()
    s = socket.create_connection(("127.0.0.1", target))
    t = threading.Thread(target=pipe, args=(s, c))
    t.start()
    pipe(c, s, tap, flip_at)
    t.join()
    c.close()
    s.close()


def watch(s):
    """Bytes HQ sends until it closes (or 10 s pass)."""
    got, deadline = 0, time.time() + 10
    s.settimeout(0.2)
    while time.time() < deadline:
        try:
            b = s.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            return "closed", got
        if not b:
            return "closed", got
        got += len(b)
    return "open", got


def still_open(s):
    """True if the peer has neither closed s nor sent anything on it."""
    s.setblocking(False)
    try:
        s.recv(1)           # b"": closed; a byte: answered
    except BlockingIOError:
        return True         # nothing to read yet
    except OSError:
        pass                # reset
    return False


def stall(target, seconds):
    s = socket.create_connection(("127.0.0.1", target))
    s.sendall(b"\x00\x20" + b"\x11" * 10)   # 10 of 32 bytes
    if os.environ.get("HOSTILE_READY"):
        open(os.environ["HOSTILE_READY"], "w").close()
    release = os.environ.get("HOSTILE_RELEASE")
    deadline = time.time() + seconds
    while time.time() < deadline and not (release and
                                          os.path.exists(release)):
        time.sleep(0.02)
    print("held" if still_open(s) else "dropped")
    s.close()


def send_and_watch(target, data):
    s = socket.create_connection(("127.0.0.1", target))
    result = {}

    def reader():
        result["r"] = watch(s)
    t = threading.Thread(target=reader)
    t.start()
    try:
        s.sendall(data)
    except OSError:
        pass
    t.join()
    print("%s %d" % result["r"])
    s.close()


def main():
    mode = sys.argv[1]
    if mode == "record":
        with open(sys.argv[4], "wb") as tap:
            proxy_one(sys.argv[2], int(sys.argv[3]), tap=tap)
    elif mode == "flip":
        proxy_one(sys.argv[2], int(sys.argv[3]), flip_at=int(sys.argv[4]))
    elif mode == "replay":
        send_and_watch(int(sys.argv[2]), open(sys.argv[3], "rb").read())
    elif mode == "oversize":
        send_and_watch(int(sys.argv[2]), b"\xff\xff" + b"\xab" * 65535)
    elif mode == "raw":
        send_and_watch(int(sys.argv[2]), bytes.fromhex(sys.argv[3]))
    elif mode == "stall":
        stall(int(sys.argv[2]), float(sys.argv[3]))
    else:
        sys.exit("hostile.py: unknown mode " + mode)


if __name__ == "__main__":
    main()
