#!/bin/bash
# Process hygiene: no core dumps, not dumpable, private files, LMDB's and
# the key file's descriptors close-on-exec, the socket 0600, logs without
# content; concurrent writers share commits (group commit).
. "${top_srcdir:-.}/tests/lib/lib.sh"

fv_new s1
fv_init s1
fv_start s1
fv_unlock s1
pid=$(pid_of s1)
like "$(grep '^Max core file size' /proc/$pid/limits)" "Max core file size +0 +0" "core dumps are off"
# /proc/PID/status has no "Dumpable"; an undumpable process's /proc files
# belong to root: check the flag through prctl's effect on the fd dir owner
is "$(stat -c %U /proc/$pid/fd)" root "process is not dumpable (its /proc entries are root's)"
for f in data.mdb lock.mdb recordkeys; do
	is "$(stat -c %a "$(datadir s1)/$f")" 600 "$f is 0600"
done
cloexec_bad=0
nfd=0
for fd in /proc/$pid/fd/*; do
	n=${fd##*/}
	target=$(readlink "$fd")
	case "$target" in
	"$(datadir s1)"/*)
		nfd=$((nfd + 1))
		flags=$(awk '/^flags:/ {print $2}' /proc/$pid/fdinfo/$n)
		# O_CLOEXEC is 02000000 (octal)
		if [ $(( 0$flags & 02000000 )) -eq 0 ]; then
			diag "not close-on-exec: $target"
			cloexec_bad=$((cloexec_bad + 1))
		fi;;
	esac
done
ok $([ "$nfd" -ge 3 ]; echo $?) "the daemon holds $nfd descriptors in the data dir"
is "$cloexec_bad" 0 "every one of them is close-on-exec"

# group commit: 8 clients at once share fsyncs.  Each round, 8
# connections send their request before any answer is read, so the
# requests are waiting together when the loop wakes.
python3 - "$(datadir s1)/control.sock" "$(appeal_json "Group Commit")" <<'PY' || echo "# load client failed"
import socket, sys
sock, body = sys.argv[1], sys.argv[2].encode()
req = b"POST /v1/appeals HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
for _ in range(25):
    conns = []
    for _ in range(8):
        c = socket.socket(socket.AF_UNIX)
        c.connect(sock)
        conns.append(c)
    for c in conns:
        c.sendall(req)
    for c in conns:
        data = b""
        while True:
            b = c.recv(4096)
            if not b:
                break
            data += b
        if b" 201 " not in data.split(b"\r\n")[0]:
            sys.exit(1)
        c.close()
PY
is "$(fv s1 status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["appeals"])')" 200 "8 concurrent clients: 200 appeals stored"
max=$(grep -o 'group of [0-9]* writes' "$T_ROOT/s1/log" | awk '{print $3}' | sort -n | tail -1)
ok $([ "${max:-0}" -gt 1 ]; echo $?) "writes were grouped into shared commits (largest group: ${max:-0})"
fv_stop s1
like "$(tail -1 "$T_ROOT/s1/log")" "stopped" "clean stop"
done_testing
