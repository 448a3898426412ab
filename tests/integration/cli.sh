#!/bin/bash
# The command line: every command has its own --help with its usage and
# options, refuses an option it does not take (exit 2, naming it) instead
# of ignoring it, and takes the ones it declares; unknown commands, verbs
# and options, missing or extra arguments and malformed ids are usage
# errors (exit 2).  The list below is what each command must take; the
# global usage must list exactly these commands.
. "${top_srcdir:-.}/tests/lib/lib.sh"

# words | options it takes | those it needs | its arguments, as its usage
# writes them
COMMANDS='init|||
unlock|||
lock|||
status|||
appeal add|||FILE|-
appeal get|||ID
appeal list|--status --country --category --assigned-to --query||
appeal update|||ID FILE|-
appeal delete|||ID
appeal import|||FILE|-
note add|||FILE|-
note get|||ID
note list|--appeal||
note update|||ID FILE|-
note delete|||ID
note import|||FILE|-
history|||ID
sync|||
enroll|||TOKEN
device invite|--assigned-to||NAME
device list|||
device revoke|||DEVICE-ID
bundle create|--out --for|--out|
bundle import|||FILE
export|--format --out --type --status --country --category --assigned-to --query --appeal --from --to|--format|
plugin list|||
exchange send|--partner --out --format|--partner --out|ID...
exchange import|--format||FILE
keys show|||'
ALL_OPTS="--status --country --category --assigned-to --query --appeal
    --type --from --to --format --out --for --partner"
ID=0123456789abcdef0123456789abcdef

# Nothing runs here: every command line that gets past its checks finds
# no daemon (exit 3) or, for init, makes a store in a temp dir.
fv_new n1
echo '{}' > "$T_ROOT/file"

value() {	# value OPTION: a value it accepts
	case $1 in
	--appeal) echo "$ID" ;;
	--out) echo "$T_ROOT/out" ;;
	*) echo x ;;
	esac
}

args() {	# args USAGE-ARGS: words that satisfy them
	local a
	for a in $1; do
		case $a in
		ID|DEVICE-ID) echo "$ID" ;;
		ID...) echo "$ID $ID" ;;
		FILE) echo "$T_ROOT/file" ;;
		FILE\|-) echo - ;;
		*) echo x ;;
		esac
	done
}

takes() {	# takes OPTION OPTIONS...
	local o=$1
	shift
	case " $* " in *" $o "*) return 0 ;; esac
	return 1
}

has_opt() {	# has_opt TEXT OPTION: the option as a word of the text
	printf '%s' "$1" | grep -Eq -- "(^|[[ ])$2( |]|$)"
}

# --- the global usage --------------------------------------------------------
out=$("$FV" --help 2>&1); rc=$?
is "$rc" 0 "fieldvault --help exits 0"
listed=$(printf '%s\n' "$out" | sed -n 's/^  \([a-z][a-z]*\)\( [a-z][a-z]*\)\{0,1\}\($\| .*\)/\1\2/p')
is "$listed" "$(printf '%s\n' "$COMMANDS" | cut -d'|' -f1)" \
    "it lists every command of the table, and only those"
like "$out" "-c CONFIG" "and the global options"
out=$("$FV" 2>&1 >/dev/null); rc=$?
is "$rc" 2 "no command: usage, 2"
like "$out" "appeal list.*
.*exchange send" "with the commands, on stderr"

# --- every command --------------------------------------------------------------
while IFS='|' read -r words opts needed usage_args; do
	# shellcheck disable=SC2086
	set -- $words
	out=$("$FV" "$@" --help 2>&1); rc=$?
	is "$rc" 0 "$words --help exits 0"
	synopsis=$(printf '%s\n' "$out" | sed '/^$/q' | tr -s ' \n' '  ')
	like "$synopsis" "^usage: fieldvault $words( |$)" \
	    "$words --help: its own usage line"
	bad=0
	for a in $usage_args; do
		case " $synopsis " in *" $a"*) ;; *) bad=1 ;; esac
	done
	ok "$bad" "$words --help: its arguments ($usage_args)"
	bad=0
	for o in $ALL_OPTS; do
		if takes "$o" $opts; then
			has_opt "$out" "$o" || bad=1
		elif has_opt "$out" "$o"; then
			bad=1
		fi
	done
	ok "$bad" "$words --help: its options ($opts), no other's"
	case $out in *"exit: 0 done"*|*"COMMAND [ARGS]"*) bad=1 ;; esac
	ok "$bad" "$words --help: not the global usage"

	# what it takes, it takes
	line=("$@")
	for o in $needed; do
		line+=("$o" "$(value "$o")")
	done
	# shellcheck disable=SC2207
	line+=($(args "$usage_args"))
	out=$(fv n1 "${line[@]}" < /dev/null 2>&1); rc=$?
	[ "$rc" -ne 2 ]; ok $? "$words with what it needs: accepted (rc $rc)"
	bad=0
	for o in $opts; do
		takes "$o" $needed && continue
		fv n1 "${line[@]}" "$o" "$(value "$o")" < /dev/null \
		    > /dev/null 2>&1
		[ $? -eq 2 ] && bad=1 && diag "$words refuses its own $o"
	done
	ok "$bad" "$words: each of its options is accepted"
	[ "$words" = init ] && rm -rf "$(datadir n1)"

	# what it does not take, it refuses, by name, before doing anything
	bad=0
	for o in $ALL_OPTS; do
		takes "$o" $opts && continue
		err=$(fv n1 "${line[@]}" "$o" "$(value "$o")" < /dev/null \
		    2>&1 >"$T_ROOT/stdout"); rc=$?
		if [ "$rc" -ne 2 ] || ! has_opt "$err" "$o" ||
		    [ -s "$T_ROOT/stdout" ]; then
			bad=1
			diag "$words $o: rc $rc: $err"
		fi
	done
	ok "$bad" "$words: every other option refused, exit 2, named"
	[ -d "$(datadir n1)" ]; is $? 1 "$words: nothing was done"

	# a missing needed option, or a missing or extra argument
	for o in $needed; do
		l=()
		skip=0
		for w in "${line[@]}"; do
			if [ "$skip" = 1 ]; then skip=0; continue; fi
			if [ "$w" = "$o" ]; then skip=1; continue; fi
			l+=("$w")
		done
		err=$(fv n1 "${l[@]}" < /dev/null 2>&1); rc=$?
		is "$rc" 2 "$words without $o: usage, 2"
		like "$err" "missing $o" "naming it"
	done
	if [ -n "$usage_args" ]; then
		fv n1 "$@" > /dev/null 2>&1; is $? 2 "$words without its arguments: 2"
	fi
	case $usage_args in
	*...) ;;
	*)	fv n1 "${line[@]}" extra < /dev/null > /dev/null 2>&1
		is $? 2 "$words with an extra argument: 2" ;;
	esac
done <<< "$COMMANDS"

# --- what is not a command line ---------------------------------------------------
err=$(fv n1 frobnicate 2>&1); rc=$?
is "$rc" 2 "unknown command: 2"
like "$err" "unknown command 'frobnicate'" "naming it"
err=$(fv n1 frobnicate --help 2>&1); rc=$?
is "$rc" 2 "unknown command with --help: 2"
err=$(fv n1 appeal frobnicate 2>&1); rc=$?
is "$rc" 2 "unknown verb: 2"
like "$err" "unknown verb 'frobnicate' \(add, get, list, update, delete, import\)" \
    "naming it and the verbs"
err=$(fv n1 note 2>&1); rc=$?
is "$rc" 2 "a missing verb: 2"
out=$(fv n1 appeal --help); rc=$?
is "$rc" 0 "appeal --help: 0"
is "$(printf '%s\n' "$out" | grep -c '^  appeal ')" 6 "lists the verbs of appeal"
err=$(fv n1 --bogus status 2>&1); rc=$?
is "$rc" 2 "unknown option: 2"
like "$err" "unknown option --bogus" "naming it"
err=$(fv n1 appeal list --status 2>&1); rc=$?
is "$rc" 2 "an option without its value: 2"
like "$err" "--status needs a value" "naming it"
err=$(fv n1 appeal list --status a --status b 2>&1); rc=$?
is "$rc" 2 "an option given twice: 2, not the last one silently"
like "$err" "--status given twice" "naming it"
for w in get delete; do
	err=$(fv n1 appeal $w not-an-id 2>&1); rc=$?
	is "$rc" 2 "appeal $w with a malformed id: 2"
	like "$err" "ID: not an id" "naming it"
done
err=$(fv n1 note list --appeal not-an-id 2>&1); rc=$?
is "$rc" 2 "note list --appeal with a malformed id: 2"
like "$err" "--appeal: not an id" "naming the option"
is "$(fv n1 --help appeal list | head -1)" "$(fv n1 appeal list --help | head -1)" \
    "--help anywhere on the line"
is "$(fv n1 appeal list -h | head -1)" "$(fv n1 appeal list --help | head -1)" \
    "-h as --help"
fv n1 --json status > /dev/null 2>&1; is $? 3 "a global option before the command"
fv n1 status --json > /dev/null 2>&1; is $? 3 "or after it"
fv n1 status --passphrase-file "$T_ROOT/file" > /dev/null 2>&1
is $? 3 "--passphrase-file is taken by every command"

# --- against a daemon: a foreign option is not silently ignored -------------------
fv_new h1 hq
fv_init h1
fv_start h1
fv_unlock h1
A=$(appeal_json "Cli Person" | fv h1 appeal add -)
is "$(fv h1 appeal list --country RU --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" \
    1 "appeal list --country RU finds the appeal"
out=$(fv h1 appeal list --partner X 2>"$T_ROOT/err"); rc=$?
is "$rc" 2 "appeal list --partner X: 2, not an answer"
is "$out" "" "and prints no list"
like "$(cat "$T_ROOT/err")" "appeal list: unexpected option --partner" \
    "saying which option"
fv h1 note add - <<< "{\"appeal_id\":\"$A\",\"text\":\"visited\"}" > /dev/null
is "$(fv h1 note list --appeal "$A" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" \
    1 "note list --appeal ID"
fv h1 note add --country RU - <<< '{"text":"x"}' > /dev/null 2>&1
is $? 2 "note add --country RU: 2"
is "$(fv h1 note list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" \
    1 "and no note was added"
fv h1 export --for Y > /dev/null 2>&1; is $? 2 "export --for Y: 2"
fv h1 appeal get "$A" --status x > /dev/null 2>&1; is $? 2 "appeal get --status x: 2"

done_testing
