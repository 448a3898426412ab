#!/bin/bash
# HQ and three field devices edit the same appeals concurrently and sync in
# random order (seeded), 200 rounds; then every copy holds byte for byte
# the same record set.
. "${top_srcdir:-.}/tests/lib/lib.sh"

SEED=${FV_CONVERGE_SEED:-42}
ROUNDS=${FV_CONVERGE_ROUNDS:-200}
RANDOM=$SEED
fv_port port
fv_new hq hq "[sync]
listen = 127.0.0.1:$port"
fv_init hq; fv_start hq; fv_unlock hq
for n in d1 d2 d3; do
	fv_new $n field "[sync]
interval = 0"
	fv_init $n; fv_start $n; fv_unlock $n
	fv $n enroll "$(fv hq device invite $n --assigned-to g)" > /dev/null ||
	    diag "enroll $n failed"
done
nodes=(hq d1 d2 d3)
statuses=(received under_review forwarded resolved_positive closed)
ids=()
pick_id() {	# a live appeal id the node holds, or nothing
	fv "$1" appeal list --json | python3 -c "
import json, sys, random
a = [r['id'] for r in json.load(sys.stdin)]
random.seed($RANDOM)
print(random.choice(a) if a else '')"
}
errors=0
for r in $(seq 1 "$ROUNDS"); do
	n=${nodes[$((RANDOM % 4))]}
	case $((RANDOM % 6)) in
	0|1)	printf '{"applicant":{"full_name":"Person %d","location":"Place %d"},"concerns_country":"RU","category":"health","summary":"round %d","assigned_to":"g"}' \
		    $r $r $r | fv $n appeal add - > /dev/null || errors=$((errors + 1));;
	2|3)	id=$(pick_id $n)
		[ -n "$id" ] && { printf '{"status":"%s","applicant":{"location":"L%d-%s"}}' \
		    "${statuses[$((RANDOM % 5))]}" $r $n | fv $n appeal update "$id" - > /dev/null ||
		    errors=$((errors + 1)); };;
	4)	id=$(pick_id $n)
		[ -n "$id" ] && [ $((RANDOM % 3)) -eq 0 ] &&
		    { fv $n appeal delete "$id" > /dev/null || errors=$((errors + 1)); };;
	5)	;;
	esac
	s=${nodes[$((1 + RANDOM % 3))]}
	[ $((RANDOM % 4)) -eq 0 ] && { fv $s sync > /dev/null || errors=$((errors + 1)); }
done
is "$errors" 0 "$ROUNDS rounds of concurrent edits and syncs without an error"
# settle: two full passes, so every device has everything HQ has
for pass in 1 2; do
	for n in d1 d2 d3; do fv $n sync > /dev/null; done
done
snap() {
	fv "$1" appeal list --json | python3 -c '
import json, sys
recs = json.load(sys.stdin)
print(json.dumps(sorted(recs, key=lambda r: r["id"]), sort_keys=True))'
}
snap hq > "$T_ROOT/hq.json"
n_hq=$(python3 -c "import json; print(len(json.load(open('$T_ROOT/hq.json'))))")
ok $([ "$n_hq" -gt 10 ]; echo $?) "HQ holds $n_hq appeals after $ROUNDS rounds"
for n in d1 d2 d3; do
	snap $n > "$T_ROOT/$n.json"
	cmp -s "$T_ROOT/hq.json" "$T_ROOT/$n.json"
	ok $? "$n holds byte for byte the same record set as HQ"
done
conflicts=$(python3 -c "import json; print(sum(1 for r in json.load(open('$T_ROOT/hq.json')) if r.get('conflict')))")
ok $([ "$conflicts" -gt 0 ]; echo $?) "concurrent edits happened ($conflicts appeals say conflict) and still converged"
done_testing
