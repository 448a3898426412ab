#!/bin/bash
# Nothing of a record reaches the disk in plaintext: a unique canary written
# into names, locations, summaries, notes and tags is found nowhere under the
# data dir or in the log (at debug level), before and after delete.  And a
# deleted record's key slot is destroyed.
. "${top_srcdir:-.}/tests/lib/lib.sh"

fv_new k1
fv_init k1
fv_start k1
fv_unlock k1
CANARY="zq$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')qz"
UCANARY="Ҷ${CANARY}ҷ"

scan() {	# scan: 0 if the canary is nowhere under the dir or log
	local hits=0 form
	for form in "$CANARY" "$UCANARY" \
	    "$(printf '%s' "$CANARY" | od -An -tx1 | tr -d ' \n')" \
	    "$(printf '%s' "$CANARY" | base64)"; do
		grep -ral -- "$form" "$(datadir k1)" "$T_ROOT/k1/log" && hits=1
	done
	# UTF-16 too, in case something widened it
	python3 - "$(datadir k1)" "$CANARY" <<'PY' || hits=1
import os, sys
root, c = sys.argv[1], sys.argv[2]
forms = [c.encode(), c.encode("utf-16-le"), c.upper().encode()]
for d, _, files in os.walk(root):
    for f in files:
        p = os.path.join(d, f)
        try:
            b = open(p, "rb").read()
        except OSError:
            continue
        for x in forms:
            if x in b:
                print("found in", p); sys.exit(1)
PY
	return $hits
}

A=$(printf '{"applicant":{"full_name":"%s","location":"%s","contact":"%s"},"concerns_country":"RU","category":"health","summary":"%s %s","tags":["%s"],"x_note":"%s"}' \
    "$UCANARY" "$CANARY" "$CANARY" "$CANARY" "$UCANARY" "$CANARY" "$CANARY" | fv k1 appeal add -)
like "$A" '^[0-9a-f]{32}$' "appeal with the canary everywhere"
N=$(printf '{"text":"%s","appeal_id":"%s","visit":{"institution":"%s"}}' "$CANARY" "$A" "$CANARY" | fv k1 note add -)
like "$N" '^[0-9a-f]{32}$' "note with the canary"
printf '{"summary":"changed %s"}' "$CANARY" | fv k1 appeal update "$A" - > /dev/null
for i in $(seq 1 50); do appeal_json "filler $i $CANARY" "summary $CANARY $i"; echo; done > "$T_ROOT/imp.jsonl"
fv k1 appeal import "$T_ROOT/imp.jsonl" > /dev/null
fv k1 appeal list --query "$CANARY" > /dev/null
is "$(fv k1 appeal list --query "$CANARY" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 51 "the canary is searchable"
scan; ok $? "canary nowhere under the data dir nor in the log while stored"
fv_stop k1
scan; ok $? "nor after a clean stop"

fv_start k1 && fv_unlock k1
keys="$(datadir k1)/recordkeys"
cp "$keys" "$T_ROOT/keys.before"
fv k1 note delete "$N" > /dev/null
fv k1 appeal delete "$A" > /dev/null; ok $? "delete"
scan; ok $? "canary nowhere after delete"
changed=$(cmp -l "$T_ROOT/keys.before" "$keys" | wc -l)
ok $([ "$changed" -gt 0 ]; echo $?) "the record key file changed in place ($changed bytes)"
zero_slots=$(python3 - "$T_ROOT/keys.before" "$keys" <<'PY'
import sys
a, b = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
n = 0
for off in range(64, len(a), 72):
    if a[off:off+72] != b[off:off+72]:
        n += 1 if b[off:off+72] == bytes(72) else 1000
print(n)
PY
)
is "$zero_slots" 2 "exactly the two deleted records' key slots are now zero"
fv_stop k1
grep -qa "$CANARY" "$T_ROOT/k1/log"; is $? 1 "the debug log never held record content"
done_testing
