#!/bin/bash
# A field device and HQ on loopback: enrollment with a one-time token, ops
# up over the Noise channel, incremental and idempotent, and the refusals:
# a used or forged token, an unenrolled device, a revoked one.
. "${top_srcdir:-.}/tests/lib/lib.sh"

# the devices sync when told to, and only then, until automatic sync is
# what is tested: the counts of what each sync moved are exact
fv_port port
fv_new hq hq "[sync]
listen = 127.0.0.1:$port"
fv_new f1 field "[sync]
interval = 0"
fv_new f2 field "[sync]
interval = 0"
for n in hq f1 f2; do fv_init $n; fv_start $n; fv_unlock $n; done

out=$(fv f1 sync 2>&1); rc=$?
is "$rc" 1 "a device never enrolled cannot sync"
like "$out" "not enrolled" "and is told why"
tok=$(fv hq device invite f1 --assigned-to tashkent)
like "$tok" '^fv1\.[A-Za-z0-9_-]+$' "HQ prints a one-time token"
out=$(fv f2 enroll "fv1.${tok:4:20}AAAA" 2>&1); rc=$?
is "$rc" 1 "a mangled token is refused"
for i in 1 2 3; do appeal_json "Sync Person $i" "recorded abroad $i"; echo; done > "$T_ROOT/a.jsonl"
fv f1 appeal import "$T_ROOT/a.jsonl" > /dev/null
A=$(fv f1 appeal list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
out=$(fv f1 enroll "$tok"); rc=$?
is "$rc" 0 "enroll pairs the device with HQ"
like "$out" "3 ops sent" "and sends what it holds"
is "$(fv hq appeal get "$A" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["applicant"]["full_name"], r["created_by"])')" \
    "Sync Person 1 f1" "HQ has the appeal, created by the device"
is "$(fv f1 status --json | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["pending"], s["last_sync"] is not None)')" \
    "0 True" "nothing pending on the device, last sync set"
is "$(fv hq device list --json | python3 -c 'import json,sys; print(sorted((d["name"], d["group"], d["revoked"]) for d in json.load(sys.stdin) if d["role"] == "field"))')" \
    "[('f1', 'tashkent', False)]" "HQ lists the device with its group"

echo '{"status":"forwarded","partner":"ru-ombudsman"}' | fv f1 appeal update "$A" - > /dev/null
fv f1 appeal delete "$(fv f1 appeal list --query "Sync Person 2" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')" > /dev/null
out=$(fv f1 sync --json)
is "$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["up"])')" 2 "the next sync moves only the 2 new changes"
is "$(fv hq appeal get "$A" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["status"], r["partner"])')" \
    "forwarded ru-ombudsman" "HQ has the update"
is "$(fv hq appeal list --query "Sync Person 2" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" \
    0 "and the delete"
is "$(fv hq history "$A" --json | python3 -c 'import json,sys; print([h["device_name"] for h in json.load(sys.stdin)])')" \
    "['f1', 'f1']" "HQ's history says which device wrote what"
is "$(fv f1 sync --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["up"])')" 0 "a sync with nothing new moves nothing"

out=$(fv f2 enroll "$tok" 2>&1); rc=$?
is "$rc" 1 "a used token is refused"
like "$out" "enrollment refused" "with a clear error"
grep -q "refused device.*enrollment refused" "$T_ROOT/hq/log"; ok $? "and HQ logs it"

fv_stop hq
fv_start hq && fv_unlock hq
is "$(fv hq appeal get "$A" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" forwarded "HQ keeps the synced appeals across a restart"
echo '{"status":"closed"}' | fv f1 appeal update "$A" - > /dev/null
fv f1 sync > /dev/null; ok $? "the device syncs again after HQ restarted"

# down: HQ assigns appeals to the device's group; other groups' stay at HQ
D=$(printf '{"applicant":{"full_name":"Assigned Down"},"concerns_country":"RU","category":"health","summary":"follow up","assigned_to":"tashkent"}' | fv hq appeal add -)
X=$(printf '{"applicant":{"full_name":"Other Group"},"concerns_country":"KZ","category":"health","summary":"not yours","assigned_to":"bukhara"}' | fv hq appeal add -)
fv f1 sync > /dev/null
is "$(fv f1 appeal get "$D" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["applicant"]["full_name"], r["created_by"])')" \
    "Assigned Down hq" "an appeal HQ assigns to the device's group comes down"
fv f1 appeal get "$X" > /dev/null 2>&1; is $? 1 "an appeal of another group does not"
tok2=$(fv hq device invite f2 --assigned-to tashkent)
fv f2 enroll "$tok2" > /dev/null; ok $? "a second device of the group enrolls"
echo '{"status":"under_review","applicant":{"location":"Kazan"}}' | fv f1 appeal update "$D" - > /dev/null
fv f1 sync > /dev/null
fv f2 sync > /dev/null
is "$(fv f2 appeal get "$D" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["status"], r["applicant"]["location"])')" \
    "under_review Kazan" "the other device of the group gets the first one's edit (HQ vouches for its key)"
echo '{"assigned_to":"tashkent"}' | fv hq appeal update "$X" - > /dev/null
fv f2 sync > /dev/null
is "$(fv f2 appeal get "$X" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["applicant"]["full_name"], r["summary"])')" \
    "Other Group not yours" "an appeal assigned later comes down whole"
fv f1 sync > /dev/null
copies=$(for n in f1 f2 hq; do
	fv $n appeal get "$D" | python3 -c 'import json,sys; r=json.load(sys.stdin); r.pop("updated_at"); print(json.dumps(r, sort_keys=True))'
done | sort -u | wc -l)
is "$copies" 1 "HQ and both devices hold the same appeal"

# an op larger than any frame (a long visit note) travels in parts, both ways
python3 -c 'import json,sys; print(json.dumps({"text": ("Долгий отчёт о посещении. " * 9000)[:120000], "appeal_id": sys.argv[1]}, ensure_ascii=False))' "$D" > "$T_ROOT/big.json"
BIG=$(fv f1 note add "$T_ROOT/big.json")
out=$(fv f1 sync --json); ok $? "a device syncs a note of 120,000 characters (210 KB)"
same_text() { fv "$1" note get "$BIG" | python3 -c 'import json,sys; t=json.load(sys.stdin)["text"]; e=json.load(open(sys.argv[1]))["text"]; sys.exit(t != e)' "$T_ROOT/big.json"; }
same_text hq; ok $? "HQ has it whole"
fv f2 sync > /dev/null; ok $? "the other device of the group syncs"
same_text f2; ok $? "and has it whole too"

# automatic sync: every interval, and again once HQ is back
fv_stop f1
sed -i 's/^interval = 0/interval = 2s/' "$(conf f1)"
fv_start f1 && fv_unlock f1
B=$(appeal_json "Auto Sync" | fv f1 appeal add -)
has() { fv hq appeal get "$1" > /dev/null 2>&1; }
wait_for "$FV_WAIT" has "$B"; ok $? "a new appeal reaches HQ by itself (interval 2s)"
log_mark f1
fv_stop hq
C=$(appeal_json "While HQ Was Away" | fv f1 appeal add -)
wait_for "$FV_WAIT" log_has f1 "sync: with HQ failed"; ok $? "the device notices HQ is gone"
fv_start hq && fv_unlock hq
wait_for "$FV_WAIT" has "$C"; ok $? "and syncs on its own once HQ is back"
# HQ holds the ops before the device has HQ's receipt and logs
wait_for "$FV_WAIT" log_has f1 "sync: HQ reachable again"; ok $? "saying so in its log"

id=$(fv hq device list --json | python3 -c 'import json,sys; print([d["id"] for d in json.load(sys.stdin) if d["name"] == "f1"][0])')
log_mark f1
fv hq device revoke "$id" > /dev/null; ok $? "HQ revokes the device"
# a sync asked for joins a session under way, which may have begun before
# the revocation: wait for one that began after it
wait_for "$FV_WAIT" log_has f1 "sync: with HQ failed.*revoked"
out=$(fv f1 sync 2>&1); rc=$?
is "$rc" 1 "a revoked device is refused"
like "$out" "device revoked" "and told so"
grep -q "refused device 'f1': device revoked" "$T_ROOT/hq/log"; ok $? "HQ logs the refusal"
fv hq status > /dev/null; ok $? "HQ keeps serving"
grep -qa "Sync Person" "$T_ROOT/hq/log" "$T_ROOT/f1/log"; is $? 1 "no record content in either log"
done_testing
