# tests/lib/lib.sh - helpers for integration tests (TAP on stdout).
#
# Each test: . "$top_srcdir/tests/lib/lib.sh"; fv_new NAME; fv_init NAME;
# fv_start NAME; ... ok/is/...; done_testing.  Every daemon started is
# stopped and every temp dir removed on exit, whatever happens.

set -u
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$top_builddir}"
FVD="$top_builddir/daemon/fieldvaultd"
FV="$top_builddir/cli/fieldvault"
export FIELDVAULT_PASSPHRASE="correct horse battery staple"
unset FIELDVAULT_CONFIG

T_N=0
T_FAIL=0
T_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/fvtest.XXXXXX")
T_PIDS=""
T_NPORTS=0

fv_cleanup() {
	for p in $T_PIDS; do
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$T_ROOT"
}
trap fv_cleanup EXIT
[ -n "${FV_KEEP:-}" ] && trap - EXIT
trap 'exit 1' INT TERM

ok() {	# ok COND-EXIT-STATUS NAME
	T_N=$((T_N + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $T_N - $2"
	else
		T_FAIL=$((T_FAIL + 1))
		echo "not ok $T_N - $2"
	fi
}

is() {	# is GOT WANT NAME
	T_N=$((T_N + 1))
	if [ "$1" = "$2" ]; then
		echo "ok $T_N - $3"
	else
		T_FAIL=$((T_FAIL + 1))
		echo "not ok $T_N - $3"
		printf '#   got:  %s\n#   want: %s\n' "$1" "$2"
	fi
}

like() {	# like GOT PATTERN NAME  (grep -E)
	T_N=$((T_N + 1))
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		echo "ok $T_N - $3"
	else
		T_FAIL=$((T_FAIL + 1))
		echo "not ok $T_N - $3"
		printf '#   got:  %s\n#   want: /%s/\n' "$1" "$2"
	fi
}

diag() { echo "# $*"; }

done_testing() {
	echo "1..$T_N"
	[ "$T_FAIL" -eq 0 ]
	exit $?
}

# fv_new NAME [ROLE] [EXTRA-CONFIG-LINES]: a config and a data dir.
fv_new() {
	local name=$1 role=${2:-field} extra=${3:-}
	mkdir -p "$T_ROOT/$name"
	cat > "$T_ROOT/$name/fv.conf" <<EOC
[daemon]
role = $role
name = $name
data_dir = $T_ROOT/$name/data
log_level = debug
auto_lock = 0
$extra
EOC
}

conf() { echo "$T_ROOT/$1/fv.conf"; }
datadir() { echo "$T_ROOT/$1/data"; }
fv() {	# fv NAME ARGS...: run the CLI against NAME's config
	local name=$1
	shift
	"$FV" -c "$T_ROOT/$name/fv.conf" "$@"
}

fv_init() { fv "$1" init > /dev/null; }

# How long a test waits for a condition before it calls it failed.  Long,
# as a loaded machine is slow; a wait costs only the time its condition
# takes.  Nothing may wait a fixed time instead.
FV_WAIT=${FV_WAIT:-60}

# wait_for DEADLINE-SECONDS COMMAND...: retry until it succeeds.
wait_for() {
	local deadline=$(( $(date +%s%N) / 1000000 + $1 * 1000 ))
	shift
	until "$@" > /dev/null 2>&1; do
		[ $(( $(date +%s%N) / 1000000 )) -ge $deadline ] && return 1
		sleep 0.02
	done
	return 0
}

var_of() { echo "$1" | tr -c 'a-zA-Z0-9\n' _; }	# NAME, fit for a variable's

# fv_start NAME [DAEMON-ARGS...]: start a daemon, wait until it answers.
fv_start() {
	local name=$1
	shift
	"$FVD" -c "$T_ROOT/$name/fv.conf" "$@" >> "$T_ROOT/$name/log" 2>&1 &
	eval "PID_$(var_of "$name")=$!"
	T_PIDS="$T_PIDS $!"
	wait_for "$FV_WAIT" fv "$name" status
}

pid_of() { eval "echo \${PID_$(var_of "$1")}"; }

# fv_stop NAME [SIGNAL]: stop and wait for the exit.
fv_stop() {
	local pid
	pid=$(pid_of "$1")
	kill -"${2:-TERM}" "$pid" 2>/dev/null
	wait_for "$FV_WAIT" sh -c "! kill -0 $pid 2>/dev/null"
	wait "$pid" 2>/dev/null
	return 0
}

fv_unlock() { fv "$1" unlock > /dev/null; }

# fv_port VAR: a free TCP port on 127.0.0.1 into VAR, for a daemon or a
# proxy to listen on later, as often as it likes.  A port merely found free
# could be taken before the daemon binds it (by any connect() when it lies
# in the kernel's ephemeral range, by a test running beside this one
# otherwise): it is taken from outside that range, and held until the test
# ends by a socket bound to it with SO_REUSEADDR and never listening, which
# lets a listener that sets SO_REUSEADDR too (fieldvaultd, the proxies in
# tests/lib) bind it and nothing else.
fv_port() {
	local f="$T_ROOT/port.$((T_NPORTS += 1))"

	python3 "$top_srcdir/tests/lib/holdport.py" "$f" &
	T_PIDS="$T_PIDS $!"
	wait_for "$FV_WAIT" test -s "$f" || return 1
	eval "$1=$(cat "$f")"
}

# log_mark NAME: where NAME's log ends now; log_has looks only past it, so
# a line written before the step a test waits on cannot answer for it.
log_mark() {
	eval "LOGMARK_$(var_of "$1")=$(stat -c %s "$T_ROOT/$1/log")"
}

# log_has NAME PATTERN: PATTERN (grep -E) in NAME's log past its mark.
log_has() {
	local mark
	mark=$(eval "echo \${LOGMARK_$(var_of "$1"):-0}")
	tail -c +$((mark + 1)) "$T_ROOT/$1/log" | grep -Eq -- "$2"
}

# a valid appeal with optional overrides merged in by python
appeal_json() {	# appeal_json NAME [SUMMARY]
	printf '{"applicant":{"full_name":"%s","location":"Novosibirsk, SIZO-1"},"concerns_country":"RU","category":"detention_conditions","summary":"%s"}' \
	    "$1" "${2:-Denied medical care for three weeks.}"
}
