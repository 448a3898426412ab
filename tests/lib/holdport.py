#!/usr/bin/env python3
"""Finds a free TCP port on 127.0.0.1 and holds it for a test.

usage: holdport.py FILE

Picks a port outside the kernel's ephemeral range (so that no connect()
can be given it), binds it exclusively (so that no other test holds it),
then sets SO_REUSEADDR on the bound socket: a listener that sets
SO_REUSEADDR too may now bind the port beside it, again and again, and
nothing else may.  Writes the port to FILE once held, then holds it until
killed.  Used by fv_port in tests/lib/lib.sh.
"""
import os
import random
import signal
import socket
import sys


def ranges():
    """The port ranges a connect() is never given, largest first."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        lo, hi = (int(x) for x in f.read().split())
    free = [(10000, lo - 1), (hi + 1, 65535)]
    return sorted((r for r in free if r[1] - r[0] >= 100),
                  key=lambda r: r[0] - r[1])


def hold():
    rs = ranges() or [(1024, 65535)]
    for _ in range(1000):
        port = random.randint(*rs[0])
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            s.close()
            continue
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        return s, port
    sys.exit("holdport.py: no free port")


def main():
    s, port = hold()
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
