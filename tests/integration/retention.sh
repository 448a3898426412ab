#!/bin/bash
# retention = purge_after_sync: after HQ's signed receipt a field device
# keeps only what HQ does not hold yet and what HQ assigns back to it; a
# failed sync purges nothing; a purged appeal HQ later assigns to the
# device's group comes back whole; a device with retention = keep keeps
# everything.
. "${top_srcdir:-.}/tests/lib/lib.sh"

fv_port port
fv_new hq hq "[sync]
listen = 127.0.0.1:$port"
fv_new f1 field "[sync]
interval = 0
retention = purge_after_sync"
fv_new f2 field "[sync]
interval = 0"
for n in hq f1 f2; do fv_init $n; fv_start $n; fv_unlock $n; done

ids() { fv "$1" appeal list --json | python3 -c 'import json,sys; print(" ".join(sorted(r["id"] for r in json.load(sys.stdin))))'; }
field() { fv "$1" status --json | python3 -c "import json,sys; s=json.load(sys.stdin); print(s.get('$2'))"; }

for i in 1 2 3; do appeal_json "Purged Person $i" "kept only until HQ has it $i"; echo; done > "$T_ROOT/a.jsonl"
fv f1 appeal import "$T_ROOT/a.jsonl" > /dev/null
A=$(fv f1 appeal list --query "Purged Person 1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
N=$(printf '{"text":"Visit note on an appeal HQ will hold.","appeal_id":"%s"}' "$A" | fv f1 note add -)
is "$(field f1 retention)" purge_after_sync "status names the retention"
is "$(field f1 appeals) $(field f1 notes)" "3 1" "before any sync the device holds its 3 appeals and 1 note"

tok=$(fv hq device invite f1 --assigned-to tashkent)
fv f1 enroll "$tok" > /dev/null; ok $? "the device enrolls and sends its records"
is "$(fv hq appeal list --query "Purged Person" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 3 "HQ holds the 3 appeals"
fv hq note get "$N" > /dev/null; ok $? "and the note"
is "$(field f1 appeals) $(field f1 notes) $(field f1 pending)" "0 0 0" "after HQ's receipt the device holds nothing HQ has"
is "$(field f1 purged)" 4 "status counts the 4 records purged"
is "$(fv f1 status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["receipt"]["up_to"])')" 4 "and shows HQ's receipt: ops up to #4"
fv f1 appeal get "$A" > /dev/null 2>&1; is $? 1 "a purged appeal is gone from the device"
fv f1 history "$A" > /dev/null 2>&1; is $? 1 "with its history"
grep -q "sync: purged 4 records HQ holds" "$T_ROOT/f1/log"; ok $? "the device logs the purge (counts, no content)"
out=$(fv f1 status); like "$out" "retention +purge_after_sync \\(4 purged" "status says so in words"

# a sync that fails purges nothing: what HQ has not receipted stays
fv_stop hq
B=$(appeal_json "Written Offline" | fv f1 appeal add -)
fv f1 sync > /dev/null 2>&1; is $? 1 "with HQ away the sync fails"
fv f1 appeal get "$B" > /dev/null; ok $? "and the new appeal stays on the device"
is "$(field f1 pending)" 1 "pending says HQ lacks one op"
fv_start hq && fv_unlock hq

# HQ assigns work to the device's group: it comes down and stays
D=$(printf '{"applicant":{"full_name":"Assigned Back"},"concerns_country":"RU","category":"health","summary":"follow up in Kazan","assigned_to":"tashkent"}' | fv hq appeal add -)
fv f1 sync > /dev/null; ok $? "the device syncs once HQ is back"
fv f1 appeal get "$B" > /dev/null 2>&1; is $? 1 "the offline appeal is purged once HQ has receipted it"
fv hq appeal get "$B" > /dev/null; ok $? "HQ has it"
is "$(fv f1 appeal get "$D" | python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"])')" "follow up in Kazan" "an appeal assigned to the device's group comes down and is kept"
M=$(printf '{"text":"Met the family.","appeal_id":"%s"}' "$D" | fv f1 note add -)
fv f1 sync > /dev/null
fv f1 note get "$M" > /dev/null; ok $? "a note on an assigned appeal is kept after HQ has it"
is "$(field f1 pending)" 0 "and nothing is pending"

# HQ edits a purged appeal that is not assigned back: it stays away
echo '{"status":"under_review"}' | fv hq appeal update "$A" - > /dev/null
fv f1 sync > /dev/null
fv f1 appeal get "$A" > /dev/null 2>&1; is $? 1 "HQ's edit of an appeal not assigned back does not bring it back"
# ... until HQ assigns it to the group: it comes back whole, the device's
# own ops included
echo '{"assigned_to":"tashkent"}' | fv hq appeal update "$A" - > /dev/null
fv f1 sync > /dev/null
is "$(fv f1 appeal get "$A" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["applicant"]["full_name"], "|", r["summary"], "|", r["status"], r["assigned_to"])')" \
    "Purged Person 1 | kept only until HQ has it 1 | under_review tashkent" "a purged appeal assigned back comes back whole"
is "$(fv hq appeal get "$A" | python3 -c 'import json,sys; r=json.load(sys.stdin); r.pop("updated_at"); print(json.dumps(r, sort_keys=True))')" \
    "$(fv f1 appeal get "$A" | python3 -c 'import json,sys; r=json.load(sys.stdin); r.pop("updated_at"); print(json.dumps(r, sort_keys=True))')" \
    "the same as HQ's copy"
echo '{"status":"closed"}' | fv f1 appeal update "$A" - > /dev/null
fv f1 sync > /dev/null
is "$(fv hq appeal get "$A" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" closed "the device's edit of it reaches HQ"

# retention = keep: a device keeps what it synced
tok2=$(fv hq device invite f2 --assigned-to samarkand)
E=$(appeal_json "Kept Here" | fv f2 appeal add -)
fv f2 enroll "$tok2" > /dev/null
fv f2 appeal get "$E" > /dev/null; ok $? "with retention = keep the device keeps its synced appeal"
is "$(field f2 purged)" 0 "and purges nothing"

fv_stop f1
fv_start f1 && fv_unlock f1
is "$(ids f1)" "$(echo "$A $D" | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')" "after a restart the device holds exactly the assigned appeals"
grep -qa "Purged Person\|Written Offline" "$T_ROOT/f1/log" "$T_ROOT/hq/log"; is $? 1 "no record content in either log"
done_testing
