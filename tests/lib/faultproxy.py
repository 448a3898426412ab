#!/usr/bin/env python3
"""A TCP proxy that cuts or stalls the stream at random offsets.

usage: faultproxy.py LISTEN_PORT TARGET_PORT SEED PORTFILE

Each connection gets a random fate (seeded): pass through, cut after a
random number of bytes in either direction, or stall for a while at a
random offset.  Writes its listening port to PORTFILE once ready.  Used by
tests/integration/faults.sh: whatever the cut, no op may be lost or
duplicated, and sync completes once the cuts stop (touch PORTFILE.clean).
"""
import os
import random
import select
import socket
import sys
import threading
import time


def pump(a, b, limit, stall_at, stall_for, state):
    sent = 0
    try:
        while True:
            r, _, _ = select.select([a], [], [], 30)
            if not r:
                break
            data = a.recv(4096)
            if not data:
                break
            if limit is not None and sent + len(data) > limit:
                b.sendall(data[:limit - sent])
                break                       # cut here
            if stall_at is not None and sent + len(data) > stall_at:
                time.sleep(stall_for)       # stall, then go on
                stall_at = None
            b.sendall(data)
            sent += len(data)
    except OSError:
        pass
    finally:
        state["done"] += 1
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main():
    _, listen_port, target_port, seed, portfile = sys.argv
    rnd = random.Random(int(seed))
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", int(listen_port)))
    srv.listen(16)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    while True:
        c, _ = srv.accept()
        u = socket.create_connection(("127.0.0.1", int(target_port)))
        clean = os.path.exists(portfile + ".clean")
        fate = "pass" if clean else rnd.choice(["up", "down", "stall", "pass"])
        up = down = stall = None
        if os.path.exists(portfile + ".cutdown"):
            # one connection cut HQ-to-device at a given byte, then clean
            with open(portfile + ".cutdown") as f:
                fate, down = "cutdown", int(f.read())
            os.unlink(portfile + ".cutdown")
        if fate == "up":
            up = rnd.randint(0, 60000)
        elif fate == "down":
            down = rnd.randint(0, 500)
        elif fate == "stall":
            stall = rnd.randint(0, 20000)
        state = {"done": 0}
        for a, b, lim in ((c, u, up), (u, c, down)):
            threading.Thread(target=pump, daemon=True,
                             args=(a, b, lim, stall, 1.5, state)).start()


if __name__ == "__main__":
    main()
