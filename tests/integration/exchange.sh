#!/bin/bash
# Partner exchange (ombx) between two HQs: A sends 7 appeals to B, B
# resolves 5 positively and 1 negatively and replies, A imports the reply,
# and A's stats for the period show it.  Confidential applicants travel
# without identifying fields; a tampered, truncated, foreign or unknown
# package is refused whole; importing twice changes nothing.
. "${top_srcdir:-.}/tests/lib/lib.sh"

PLUG="$T_ROOT/plugins"
mkdir -p "$PLUG"
chmod 755 "$PLUG"
for p in ombx stats csv; do
	install -m 0644 "$top_builddir/plugins/$p/.libs/$p.so" "$PLUG/$p.so"
done
plugconf="[plugins]
dir = $PLUG
load = ombx, stats, csv"
fv_new uzo hq "$plugconf"
fv_new ruo hq "$plugconf"
fv_new kzo hq "$plugconf"
for n in uzo ruo kzo; do fv_init $n; fv_start $n; fv_unlock $n; done
key() { fv "$1" keys show --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["partner_key"])'; }
KA=$(key uzo); KB=$(key ruo); KC=$(key kzo)
like "$KA" '^ombx1:[A-Za-z0-9_-]{43}$' "keys show --json gives the partner key"
like "$(fv uzo keys show)" "fingerprint +([0-9a-f]{4} ){7}[0-9a-f]{4}" "keys show prints a fingerprint"
printf '[partner.ru-ombudsman]\npublic_key = %s\n' "$KB" >> "$(conf uzo)"
printf '[partner.uz-ombudsman]\npublic_key = %s\n' "$KA" >> "$(conf ruo)"
printf '[partner.ru-ombudsman]\npublic_key = %s\n' "$KB" >> "$(conf kzo)"
for n in uzo ruo kzo; do kill -HUP "$(pid_of $n)"; done
for n in uzo ruo kzo; do wait_for "$FV_WAIT" grep -q "config: reloaded" "$T_ROOT/$n/log"; done

bad_key=$(mktemp -p "$T_ROOT")
cp "$(conf uzo)" "$bad_key"
printf '[partner.broken]\npublic_key = ombx1:tooshort\n' >> "$bad_key"
out=$("$FV" -c "$bad_key" status 2>&1); rc=$?
like "$out" "public_key: not a partner key" "a bad partner key in the config is refused with its line"

# eight appeals at A in the second quarter; one applicant confidential
for i in 1 2 3 4 5 6 7 8; do
	conf=false; [ $i = 3 ] && conf=true
	printf '{"applicant":{"full_name":"Заявитель Номер %s","birth_date":"1980-01-0%s","location":"Kazan","contact":"+7 900 000 00 0%s","confidential":%s},"concerns_country":"RU","category":"labour_rights","channel":"visit","received_at":"2026-05-1%sT10:00:00Z","summary":"Wages withheld for months, case %s."}\n' $i $i $i $conf $i $i
done > "$T_ROOT/a.jsonl"
is "$(fv uzo appeal import "$T_ROOT/a.jsonl")" 8 "A holds 8 appeals"
ids=$(fv uzo appeal list --json | python3 -c 'import json,sys; print(" ".join(a["id"] for a in sorted(json.load(sys.stdin), key=lambda a: a["received_at"])))')
set -- $ids
SEND="$1 $2 $3 $4 $5 $6 $7"
CONFID=$3
KEEP=$8

out=$(fv uzo exchange send --partner nobody --out "$T_ROOT/x.ombx" $SEND 2>&1); rc=$?
is "$rc" 1 "send to a partner not configured: refused"
like "$out" "no partner 'nobody'" "and told why"
out=$(fv uzo exchange send --partner ru-ombudsman --out "$T_ROOT/x.ombx" $1 0123456789abcdef0123456789abcdef 2>&1); rc=$?
is "$rc" 1 "send naming an unknown appeal: refused"
ok "$([ ! -e "$T_ROOT/x.ombx" ]; echo $?)" "and nothing written"
is "$(fv uzo appeal get $1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" received "nor anything marked"

out=$(fv uzo exchange send --partner ru-ombudsman --out "$T_ROOT/p1.ombx" $SEND); rc=$?
is "$rc" 0 "A sends 7 appeals to B"
like "$out" "7 appeals, 0 replies" "the CLI says what went"
ok "$(grep -c 'Заявитель\|Wages withheld\|Kazan' "$T_ROOT/p1.ombx" | grep -qx 0; echo $?)" "the package holds no plaintext"
st=$(fv uzo appeal list --json | python3 -c '
import json,sys
a = json.load(sys.stdin)
print(sorted(set((x["status"], x.get("partner", "")) for x in a)))')
is "$st" "[('forwarded', 'ru-ombudsman'), ('received', '')]" "A's sent appeals are forwarded to ru-ombudsman, the eighth untouched"

# refusals at B: tampered, truncated, foreign, unknown sender
python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[len(b) // 2] ^= 1; open(sys.argv[2], "wb").write(b)' "$T_ROOT/p1.ombx" "$T_ROOT/tampered.ombx"
head -c 200 "$T_ROOT/p1.ombx" > "$T_ROOT/truncated.ombx"
for f in tampered truncated; do
	out=$(fv ruo exchange import "$T_ROOT/$f.ombx" 2>&1); rc=$?
	is "$rc" 1 "a $f package is refused"
	like "$out" "refused" "with a reason ($f)"
done
out=$(fv kzo exchange import "$T_ROOT/p1.ombx" 2>&1); rc=$?
is "$rc" 1 "a package for another institution is refused"
like "$out" "another institution" "and said so"
fv kzo appeal add - > /dev/null <<< "$(appeal_json "Kz Person")"
kid=$(fv kzo appeal list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
fv kzo exchange send --partner ru-ombudsman --out "$T_ROOT/k.ombx" $kid > /dev/null
out=$(fv ruo exchange import "$T_ROOT/k.ombx" 2>&1); rc=$?
is "$rc" 1 "a package from an institution B has not configured is refused"
like "$out" "not a configured partner" "and said so"
is "$(fv ruo status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["appeals"])')" 0 "B holds nothing after the refusals"

out=$(fv ruo exchange import "$T_ROOT/p1.ombx"); rc=$?
is "$rc" 0 "B imports A's package"
like "$out" "7 new appeals" "7 appeals created"
out=$(fv ruo exchange import "$T_ROOT/p1.ombx"); rc=$?
like "$out" "0 new appeals, 7 already here" "importing twice creates nothing"
is "$(fv ruo status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["appeals"])')" 7 "B holds 7 appeals"
chk=$(fv ruo appeal list --json | python3 -c '
import json,sys
a = json.load(sys.stdin)
ok = all(x["channel"] == "partner" and x["partner"] == "uz-ombudsman" and len(x["partner_ref"]) == 32 for x in a)
c = [x for x in a if x["applicant"].get("confidential")]
print(ok, len(c), [sorted(x["applicant"].keys()) for x in c], c[0]["applicant"]["full_name"] if c else "")')
is "$chk" "True 1 [['confidential', 'full_name']] (withheld)" "channel partner, partner, partner_ref set; the confidential applicant arrives without name, birth date, location or contact"
is "$(fv ruo appeal list --json | python3 -c 'import json,sys; print(sorted(x["partner_ref"] for x in json.load(sys.stdin)) == sorted(sys.argv[1:]))' $SEND)" True "partner_ref is A's id of each appeal"

# B resolves 5 positively and 1 negatively, and replies
bids=$(fv ruo appeal list --json | python3 -c 'import json,sys; print(" ".join(x["id"] for x in sorted(json.load(sys.stdin), key=lambda x: x["received_at"])))')
set -- $bids
for b in $1 $2 $3 $4 $5; do
	fv ruo appeal update $b - > /dev/null <<< '{"status":"resolved_positive","x_outcome":"Wages paid in full."}'
done
fv ruo appeal update $6 - > /dev/null <<< '{"status":"resolved_negative"}'
fv ruo appeal update $7 - > /dev/null <<< '{"status":"under_review"}'
out=$(fv ruo exchange send --partner uz-ombudsman --out "$T_ROOT/r1.ombx" $bids); rc=$?
is "$rc" 0 "B sends its reply"
like "$out" "0 appeals, 7 replies" "as 7 replies"
is "$(fv ruo appeal list --json | python3 -c 'import json,sys; print(sorted(set(x["status"] for x in json.load(sys.stdin))))')" "['resolved_negative', 'resolved_positive', 'under_review']" "a reply leaves B's statuses as they are"
out=$(fv uzo exchange import "$T_ROOT/r1.ombx"); rc=$?
is "$rc" 0 "A imports B's reply"
like "$out" "7 replies applied" "7 replies"
res=$(fv uzo appeal list --json | python3 -c '
import json,sys
a = json.load(sys.stdin)
from collections import Counter
print(sorted(Counter(x["status"] for x in a).items()), sum(1 for x in a if x.get("x_partner_outcome") == "Wages paid in full."), sum(1 for x in a if x.get("partner_ref") and len(x["partner_ref"]) == 32))')
is "$res" "[('received', 1), ('resolved_negative', 1), ('resolved_positive', 5), ('under_review', 1)] 5 7" "A's appeals carry B's statuses, B's outcome, and B's ref"
out=$(fv uzo exchange import "$T_ROOT/r1.ombx"); rc=$?
is "$rc" 0 "importing the reply twice is accepted"
n1=$(fv uzo history $(echo $SEND | cut -d' ' -f1) --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
fv uzo exchange import "$T_ROOT/r1.ombx" > /dev/null
n2=$(fv uzo history $(echo $SEND | cut -d' ' -f1) --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
is "$n2" "$n1" "and changes nothing"
out=$(fv kzo exchange import "$T_ROOT/r1.ombx" 2>&1); rc=$?
is "$rc" 1 "B's reply is for A alone"

# A's figures for the quarter
st=$(fv uzo export --format stats --from 2026-04-01 --to 2026-06-30 --json | python3 -c '
import json,sys
s = json.load(sys.stdin)
print(s["total"], s["by_status"].get("resolved_positive"), s["by_status"].get("resolved_negative"), s["by_status"].get("under_review"), s["by_status"].get("received"), s["by_concerns_country"].get("RU"))')
is "$st" "8 5 1 1 1 8" "A's stats for the quarter: 8 appeals, 5 resolved positively, 1 negatively"
txt=$(fv uzo export --format stats --from 2026-04-01 --to 2026-06-30)
like "$txt" "resolved_positive +5" "the text table shows it"
is "$(fv uzo export --format stats --from 2026-07-01 --to 2026-09-30 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')" 0 "another quarter counts none"
done_testing
