#!/bin/bash
# Bundles: sync by file, device -> HQ and HQ -> device, sealed to the
# receiver and signed by the sender; importing twice changes nothing; a
# tampered, truncated or misaddressed bundle is refused whole.
. "${top_srcdir:-.}/tests/lib/lib.sh"

# The devices enroll over the network, then carry their ops by file alone:
# they sync only when asked (interval 0), and their [sync] hq is a port
# nobody listens on, so no sync of theirs can bring HQ what a step below
# expects a bundle to bring.
fv_port port
fv_port nowhere
fv_new hq hq "[sync]
listen = 127.0.0.1:$port"
offline="[sync]
hq = 127.0.0.1:$nowhere
interval = 0"
fv_new f1 field "$offline"
fv_new f2 field "$offline
retention = purge_after_sync"
fv_new f3 field "$offline"
for n in hq f1 f2 f3; do fv_init $n; fv_start $n; fv_unlock $n; done
raw_part() {	# raw_part SIZE OFFSET: one part of 4 bytes, the HTTP status
	python3 - "$(datadir hq)/control.sock" "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(("POST /v1/bundle/import?size=%s&offset=%s HTTP/1.1\r\nHost: x\r\n"
           "Content-Length: 4\r\nConnection: close\r\n\r\nabcd" % (sys.argv[2], sys.argv[3])).encode())
print(s.recv(100).split(b" ")[1].decode())
PY
}
count() { fv "$1" status --json | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }
devid() { fv hq device list --json | python3 -c "import json,sys; print([d['id'] for d in json.load(sys.stdin) if d['name'] == '$1'][0])"; }
flip() {	# flip FILE OFFSET-FROM-END: a copy with one byte changed
	python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[len(b) - int(sys.argv[2])] ^= 1; open(sys.argv[1] + ".bad", "wb").write(b)' "$1" "$2"
}

out=$(fv f3 bundle create --out "$T_ROOT/x.fvb" 2>&1); rc=$?
is "$rc" 1 "a device not enrolled cannot make a bundle"
like "$out" "not enrolled" "and is told why"

# enrolled once over the network; from then on, files
fv f1 enroll "$(fv hq device invite f1 --assigned-to tashkent)" > /dev/null
fv f2 enroll "$(fv hq device invite f2 --assigned-to samarkand)" > /dev/null
for i in 1 2 3; do appeal_json "Bundled Person $i" "carried on a USB stick $i"; echo; done > "$T_ROOT/a.jsonl"
fv f1 appeal import "$T_ROOT/a.jsonl" > /dev/null
A=$(fv f1 appeal list --query "Bundled Person 1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
python3 -c 'import json,sys; print(json.dumps({"text": ("Отчёт о посещении, длинный. " * 5000)[:100000], "appeal_id": sys.argv[1]}, ensure_ascii=False))' "$A" > "$T_ROOT/big.json"
BIG=$(fv f1 note add "$T_ROOT/big.json")
out=$(fv f1 bundle create --out "$T_ROOT/up.fvb"); ok $? "the device writes a bundle for HQ"
like "$out" "4 ops for 'hq'" "saying what it holds"
is "$(stat -c %a "$T_ROOT/up.fvb")" 600 "the file is 0600"
grep -qa "Bundled Person\|USB stick\|Отчёт" "$T_ROOT/up.fvb"; is $? 1 "no content in clear in the file"

flip "$T_ROOT/up.fvb" 200
out=$(fv hq bundle import "$T_ROOT/up.fvb.bad" 2>&1); rc=$?
is "$rc" 1 "a tampered bundle is refused"
like "$out" "tampered" "with a clear error"
head -c -100 "$T_ROOT/up.fvb" > "$T_ROOT/cut.fvb"
fv hq bundle import "$T_ROOT/cut.fvb" > /dev/null 2>&1; is $? 1 "a truncated bundle is refused"
out=$(fv f2 bundle import "$T_ROOT/up.fvb" 2>&1); rc=$?
is "$rc" 1 "a bundle for another installation is refused"
like "$out" "addressed to another" "saying so"
is "$(count hq appeals)" 0 "nothing of them reached HQ"

out=$(FIELDVAULT_BUNDLE_PART=65536 fv hq bundle import "$T_ROOT/up.fvb" --json); ok $? "HQ imports the device's bundle (sent in parts of 64 KiB)"
is "$(echo "$out" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["from"], r["ops"], r["applied"])')" "f1 4 4" "4 ops, all new"
is "$(fv hq appeal get "$A" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["applicant"]["full_name"], r["created_by"])')" "Bundled Person 1 f1" "HQ has the appeal, by the device"
fv hq note get "$BIG" | python3 -c 'import json,sys; t=json.load(sys.stdin)["text"]; sys.exit(t != json.load(open(sys.argv[1]))["text"])' "$T_ROOT/big.json"
ok $? "and the 190 KB note, whole"
out=$(fv hq bundle import "$T_ROOT/up.fvb" --json)
is "$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["applied"])') $(count hq appeals)" "0 3" "importing it twice changes nothing"
is "$(count f1 pending)" 4 "the device still counts its 4 ops pending (no receipt yet)"

is "$(raw_part 1000 10 | head -1)" "409" "a part out of order is refused"

# HQ -> device: work assigned to the device's group, and HQ's receipt
D=$(printf '{"applicant":{"full_name":"Assigned By File"},"concerns_country":"RU","category":"health","summary":"visit in Kazan","assigned_to":"tashkent"}' | fv hq appeal add -)
out=$(fv hq bundle create --out "$T_ROOT/down.fvb" 2>&1); rc=$?
is "$rc" 1 "HQ must say which device a bundle is for"
like "$out" "--for" "and is told how"
fv hq bundle create --for "$(devid f1)" --out "$T_ROOT/down.fvb" > /dev/null; ok $? "HQ writes a bundle for the device"
fv f2 bundle import "$T_ROOT/down.fvb" > /dev/null 2>&1; is $? 1 "another device cannot import it"
out=$(fv f1 bundle import "$T_ROOT/down.fvb" --json); ok $? "the device imports it"
is "$(fv f1 appeal get "$D" | python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"])')" "visit in Kazan" "the assigned appeal arrives"
is "$(count f1 pending)" 0 "HQ's signed receipt in the bundle clears pending"
is "$(fv f1 bundle import "$T_ROOT/down.fvb" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["applied"])') $(count f1 appeals)" "0 4" "importing it twice changes nothing"
fv hq bundle import "$T_ROOT/down.fvb" > /dev/null 2>&1; is $? 1 "HQ cannot import its own bundle"

# purge_after_sync by file: the receipt in HQ's bundle is what counts
P=$(appeal_json "Purged By File" | fv f2 appeal add -)
fv f2 bundle create --out "$T_ROOT/up2.fvb" > /dev/null
fv hq bundle create --for "$(devid f2)" --out "$T_ROOT/early.fvb" > /dev/null
fv f2 bundle import "$T_ROOT/early.fvb" > /dev/null
fv f2 appeal get "$P" > /dev/null; ok $? "a receipt from before HQ had the appeal purges nothing"
fv hq bundle import "$T_ROOT/up2.fvb" > /dev/null
fv hq bundle create --for "$(devid f2)" --out "$T_ROOT/down2.fvb" > /dev/null
out=$(fv f2 bundle import "$T_ROOT/down2.fvb")
like "$out" "purged what HQ holds" "HQ's bundle with its receipt"
fv f2 appeal get "$P" > /dev/null 2>&1; is $? 1 "purges the appeal HQ now holds"
is "$(count f2 purged)" 1 "status counts it"

# a revoked device's bundle is refused
fv hq device revoke "$(devid f1)" > /dev/null
echo '{"status":"closed"}' | fv f1 appeal update "$A" - > /dev/null
fv f1 bundle create --out "$T_ROOT/late.fvb" > /dev/null
out=$(fv hq bundle import "$T_ROOT/late.fvb" 2>&1); rc=$?
is "$rc" 1 "HQ refuses a bundle from a revoked device"
is "$(fv hq appeal get "$A" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" received "nothing of it applied"
grep -q "bundle refused" "$T_ROOT/hq/log"; ok $? "HQ logs refusals"
grep -qa "Bundled Person\|Assigned By File" "$T_ROOT/hq/log" "$T_ROOT/f1/log"; is $? 1 "no record content in the logs"
done_testing
