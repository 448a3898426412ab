#!/bin/bash
# Bad input is refused with an error that names the cause, and nothing is
# written: bad JSON, unknown fields, wrong types, bounds, oversize bodies,
# a bad line anywhere in an import.
. "${top_srcdir:-.}/tests/lib/lib.sh"

fv_new r1
fv_init r1
fv_start r1
fv_unlock r1
A=$(appeal_json "Base Record" | fv r1 appeal add -)
seq() { fv r1 status --json | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["seq"], s["appeals"], s["notes"])'; }
before=$(seq)

refused() {	# refused NAME PATTERN CLI-ARGS... < input
	local name=$1 pat=$2 out rc
	shift 2
	out=$(fv r1 "$@" 2>&1); rc=$?
	is "$rc" 1 "$name: refused"
	like "$out" "$pat" "$name: the error names it"
}

refused "bad JSON" "invalid JSON" appeal add - <<< '{"applicant": {"full_name": "x"'
refused "not an object" "object" appeal add - <<< '[1,2,3]'
refused "unknown field" "colour.*unknown" appeal add - <<< "$(appeal_json "X" | sed 's/}$/,"colour":"red"}/')"
refused "unknown nested field" "applicant.nickname" appeal add - <<< '{"applicant":{"full_name":"X","nickname":"Y"},"concerns_country":"RU","category":"health","summary":"s"}'
refused "missing full_name" "applicant.full_name" appeal add - <<< '{"applicant":{},"concerns_country":"RU","category":"health","summary":"s"}'
refused "missing summary" "summary" appeal add - <<< '{"applicant":{"full_name":"X"},"concerns_country":"RU","category":"health"}'
refused "bad category" "category" appeal add - <<< '{"applicant":{"full_name":"X"},"concerns_country":"RU","category":"weather","summary":"s"}'
refused "bad country" "concerns_country" appeal add - <<< '{"applicant":{"full_name":"X"},"concerns_country":"ZZ","category":"health","summary":"s"}'
refused "wrong type" "applicant.full_name" appeal add - <<< '{"applicant":{"full_name":42},"concerns_country":"RU","category":"health","summary":"s"}'
refused "bad date" "birth_date" appeal add - <<< '{"applicant":{"full_name":"X","birth_date":"2023-02-29"},"concerns_country":"RU","category":"health","summary":"s"}'
refused "duplicate key" "invalid JSON" appeal add - <<< '{"summary":"a","summary":"b"}'
refused "name too long" "full_name" appeal add - <<< "$(appeal_json "$(python3 -c 'print("Ж"*201)')")"
refused "summary over 64 KiB" "summary" appeal add - <<< "$(appeal_json "X" "$(head -c 65537 /dev/zero | tr '\0' a)")"
refused "note without text" "text" note add - <<< '{"visit":{"country":"RU"}}'
big="$T_ROOT/big.json"
python3 -c 'print("{\"applicant\":{\"full_name\":\"X\"},\"x_pad\":\"" + "a"*1100000 + "\"}")' > "$big"
refused "oversize body" "larger than" appeal add "$big"
imp="$T_ROOT/imp.jsonl"
{ for i in 1 2 3 4; do appeal_json "Good $i"; echo; done; echo '{"applicant":{"full_name":"Bad"},"concerns_country":"RU","category":"nope","summary":"s"}'; appeal_json "Good 5"; echo; } > "$imp"
refused "import with a bad line" "line 5: category" appeal import "$imp"
refused "bad patch" "status" appeal update "$A" - <<< '{"status":"lost"}'
refused "patch of a read-only type" "type" appeal update "$A" - <<< '{"type":"note"}'
is "$(seq)" "$before" "nothing was written by any refused input"

# the raw API: sizes and garbage the CLI would not send
sock="$(datadir r1)/control.sock"
raw() { python3 - "$sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
s.shutdown(socket.SHUT_WR)
data = b""
while True:
    b = s.recv(65536)
    if not b: break
    data += b
print(data.split(b"\r\n")[0].decode(errors="replace"))
PY
}
like "$(raw 'GET /v1/nothing HTTP/1.1\r\nHost: x\r\n\r\n')" " 404" "unknown path: 404"
like "$(raw 'POST /v1/appeals HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n')" " 413" "declared body over the limit: 413"
like "$(raw 'PUT /v1/appeals HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n')" " (405|501)" "unknown method: refused"
like "$(raw 'GET /v1/appeals?colour=red HTTP/1.1\r\nHost: x\r\n\r\n')" " 400" "unknown list parameter: 400"
like "$(raw 'POST /v1/appeals HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n\xff\xfe\x00\x01')" " 400" "binary garbage: 400"
fv r1 status > /dev/null; ok $? "the daemon still serves"
is "$(seq)" "$before" "still nothing written"
done_testing
