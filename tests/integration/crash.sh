#!/bin/bash
# kill -9 during a stream of writes, 20 times: every write the daemon
# acknowledged is there after the restart, readable and whole.
. "${top_srcdir:-.}/tests/lib/lib.sh"

ROUNDS=${FV_CRASH_ROUNDS:-20}
WRITERS=4
fv_new c1
fv_init c1
ack="$T_ROOT/acked"
: > "$ack"

writer() {	# writer ROUND W: add appeals until the daemon dies
	local i=0 id
	while :; do
		i=$((i + 1))
		id=$(appeal_json "Crash $1-$2-$i" "round $1 writer $2 seq $i" |
		    fv c1 appeal add - 2>/dev/null) || return 0
		echo "$id" >> "$ack.$2"
	done
}

count_acked() { cat "$ack".* 2>/dev/null | wc -l; }
ids() { python3 -c 'import json,sys; print("\n".join(r["id"] for r in json.load(sys.stdin)))'; }

lost_total=0
for r in $(seq 1 "$ROUNDS"); do
	fv_start c1 && fv_unlock c1 || { ok 1 "round $r: restart"; break; }
	base=$(count_acked)
	pids=""
	for w in $(seq 1 $WRITERS); do
		writer "$r" "$w" &
		pids="$pids $!"
	done
	# let a varying number of writes through, then pull the plug
	want=$((base + 3 + (r * 7) % 23))
	wait_for "$FV_WAIT" sh -c "[ \$(cat '$ack'.* | wc -l) -ge $want ]"
	kill -9 "$(pid_of c1)"
	wait $pids 2>/dev/null
	wait "$(pid_of c1)" 2>/dev/null
	# everything acknowledged so far must be there
	fv_start c1 && fv_unlock c1
	present="$T_ROOT/present"
	fv c1 appeal list --json | ids | sort > "$present"
	cat "$ack".* | sort > "$T_ROOT/want"
	lost=$(comm -23 "$T_ROOT/want" "$present" | wc -l)
	lost_total=$((lost_total + lost))
	is "$lost" 0 "round $r: $(wc -l < "$T_ROOT/want") acknowledged writes, none lost after kill -9"
	fv_stop c1 KILL
done
is "$lost_total" 0 "no acknowledged write lost in $ROUNDS crashes"

fv_start c1 && fv_unlock c1
bad=0
for id in $(cat "$ack".* | shuf -n 20 --random-source=<(yes)); do
	fv c1 appeal get "$id" | grep -q '"summary": "round' || bad=$((bad + 1))
done
is "$bad" 0 "acknowledged appeals read back whole"
id=$(appeal_json "After the crashes" | fv c1 appeal add -)
like "$id" '^[0-9a-f]{32}$' "the store takes new writes after the crashes"
done_testing
