#!/bin/bash
# Sync through a proxy that cuts and stalls the TCP stream at random
# offsets (seeded): no op lost, none duplicated, and sync completes once
# the cuts stop.
. "${top_srcdir:-.}/tests/lib/lib.sh"

fv_port port
fv_new hq hq "[sync]
listen = 127.0.0.1:$port"
fv_init hq; fv_start hq; fv_unlock hq
python3 "$top_srcdir/tests/lib/faultproxy.py" 0 "$port" "${FV_FAULT_SEED:-7}" "$T_ROOT/proxyport" &
T_PIDS="$T_PIDS $!"
wait_for "$FV_WAIT" test -s "$T_ROOT/proxyport"; ok $? "fault proxy up"
pport=$(cat "$T_ROOT/proxyport")
fv_new f1 field "[sync]
hq = 127.0.0.1:$pport
interval = 0"
fv_init f1; fv_start f1; fv_unlock f1
tok=$(fv hq device invite f1 --assigned-to g)
touch "$T_ROOT/proxyport.clean"		# enrollment itself goes through clean
fv f1 enroll "$tok" > /dev/null; ok $? "enrolled through the proxy"
rm -f "$T_ROOT/proxyport.clean"
python3 "$top_srcdir/bench/gen_appeals.py" 1500 3 > "$T_ROOT/a.jsonl"
split -l 60 "$T_ROOT/a.jsonl" "$T_ROOT/chunk."
cuts=0
i=0
for c in "$T_ROOT"/chunk.*; do
	i=$((i + 1))
	fv f1 appeal import "$c" > /dev/null
	appeal_json "Faulty $i" | fv f1 appeal add - > /dev/null
	[ $((i % 5)) -eq 0 ] && echo "{\"status\":\"under_review\"}" |
	    fv f1 appeal update "$(fv f1 appeal list --query "Faulty $i" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')" - > /dev/null
	fv f1 sync > /dev/null 2>&1 || cuts=$((cuts + 1))
done
diag "$cuts of 25 sessions were cut"
ok $([ "$cuts" -gt 3 ]; echo $?) "the proxy did cut sessions ($cuts of 25)"
touch "$T_ROOT/proxyport.clean"
fv f1 sync > /dev/null; ok $? "sync completes once the cuts stop"
# HQ applies the ops but its acknowledgement is cut on the way back: the
# next session, with nothing new to send, must still end (HQ's WANT says
# what it holds)
appeal_json "Ack Lost" | fv f1 appeal add - > /dev/null
echo 190 > "$T_ROOT/proxyport.cutdown"
fv f1 sync > /dev/null 2>&1
t0=$(date +%s)
fv f1 sync > /dev/null; ok $? "a session after a lost acknowledgement completes"
# the idle timeout is 60 s: half of it is "at once" even on a loaded machine
ok $([ $(( $(date +%s) - t0 )) -lt 30 ]; echo $?) "at once, not after the idle timeout"
is "$(fv f1 status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["pending"])')" 0 "nothing pending"
ids() { python3 -c 'import json,sys; print("\n".join(sorted(r["id"] for r in json.load(sys.stdin))))'; }
fv f1 appeal list --json | ids > "$T_ROOT/f1.ids"
fv hq appeal list --json | ids > "$T_ROOT/hq.ids"
is "$(wc -l < "$T_ROOT/hq.ids")" 1526 "HQ holds all 1,526 appeals"
is "$(comm -3 "$T_ROOT/f1.ids" "$T_ROOT/hq.ids" | wc -l)" 0 "exactly the device's: none lost, none extra"
is "$(fv hq appeal list --status under_review --query faulty --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 5 "and the updates"
F5=$(fv hq appeal list --query "Faulty 5" --json | python3 -c "import json,sys; print(json.load(sys.stdin)[0][\"id\"])")
hist=$(fv hq history "$F5" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
is "$hist" 2 "no op applied twice (an updated appeal: one create, one update)"
done_testing
