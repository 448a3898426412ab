#!/usr/bin/env python3
"""bench/patch_all.py SOCKET: edits every appeal once, through the control
API on one kept-alive connection (PATCH /v1/appeals/ID, status
under_review), so that each is read from its state, not from its one op.
Prints how many it edited."""
import http.client
import json
import socket
import sys


class Unix(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.unix_path)


def main():
    c = Unix(sys.argv[1])
    c.request("GET", "/v1/appeals")
    ids = [r["id"] for r in json.loads(c.getresponse().read())]
    for n, i in enumerate(ids, 1):
        c.request("PATCH", "/v1/appeals/" + i,
                  body=b'{"status":"under_review"}',
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        if r.status != 200:
            sys.exit("patch_all: %s: HTTP %d" % (i, r.status))
        if n % 10000 == 0:
            print("patch_all: %d of %d" % (n, len(ids)), file=sys.stderr)
    print(len(ids))


if __name__ == "__main__":
    main()
