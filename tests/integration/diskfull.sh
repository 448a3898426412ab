#!/bin/bash
# A full disk gives a clear error and no corruption: the daemon runs with a
# file size limit (the kernel then fails writes past it, as on a full disk),
# writes until refused, keeps serving reads, and after a restart without
# the limit every acknowledged write is there and the store takes more.
. "${top_srcdir:-.}/tests/lib/lib.sh"

fv_new d1
fv_init d1
limit_kb=1536
( ulimit -f $limit_kb; exec "$FVD" -c "$(conf d1)" ) >> "$T_ROOT/d1/log" 2>&1 &
PID_d1=$!
T_PIDS="$T_PIDS $!"
wait_for "$FV_WAIT" fv d1 status; ok $? "daemon started with a ${limit_kb} KiB file size limit"
fv_unlock d1
acked="$T_ROOT/acked"
: > "$acked"
full=0
err=""
for i in $(seq 1 3000); do
	if id=$(appeal_json "Disk Full $i" "$(head -c 1500 /dev/zero | tr '\0' x) $i" | fv d1 appeal add - 2>"$T_ROOT/err"); then
		echo "$id" >> "$acked"
	else
		full=$i
		err=$(cat "$T_ROOT/err")
		break
	fi
done
ok $([ "$full" -gt 1 ]; echo $?) "writes are refused once the disk is full (after $((full - 1)))"
like "$err" "disk full" "with a clear error"
# more writes: each is either acknowledged (there was room for a small one
# in pages LMDB had freed) or refused with the same clear error
bad=0
for i in $(seq 1 10); do
	if id=$(appeal_json "More $i" | fv d1 appeal add - 2>"$T_ROOT/err"); then
		echo "$id" >> "$acked"
	else
		grep -q "disk full" "$T_ROOT/err" || bad=$((bad + 1))
	fi
done
is "$bad" 0 "every further write is stored or refused as 'disk full'"
kill -0 "$PID_d1"; ok $? "the daemon keeps running"
first=$(head -1 "$acked")
fv d1 appeal get "$first" > /dev/null; ok $? "and keeps serving reads"
grep -q "group commit failed: disk full" "$T_ROOT/d1/log"; ok $? "the log says why"
fv_stop d1
fv_start d1; ok $? "restart without the limit"
fv_unlock d1; ok $? "unlock"
python3 - "$acked" <<'PY' > "$T_ROOT/want"
import sys
print("\n".join(sorted(l.strip() for l in open(sys.argv[1]) if l.strip())))
PY
fv d1 appeal list --json | python3 -c 'import json,sys; print("\n".join(sorted(r["id"] for r in json.load(sys.stdin))))' > "$T_ROOT/have"
is "$(comm -23 "$T_ROOT/want" "$T_ROOT/have" | wc -l)" 0 "every acknowledged write survived the full disk ($(wc -l < "$T_ROOT/want"))"
is "$(comm -13 "$T_ROOT/want" "$T_ROOT/have" | wc -l)" 0 "and no refused write appeared"
id=$(appeal_json "After" | fv d1 appeal add -); ok $? "the store takes new writes"
fv d1 appeal get "$id" > /dev/null; ok $? "and reads them back"
done_testing
