#!/bin/sh
# Every exported name of the daemon and of sdk/lib starts with its file's
# word (tools/check-names, on the objects make check has built).
. "${top_srcdir:-.}/tests/lib/lib.sh"

# the checker finds a misnamed function in a tree of one file
mkdir -p "$T_ROOT/daemon/core/.libs"
cat > "$T_ROOT/daemon/core/thing.c" <<'EOC'
static int fv_other_hidden(void) { return 0; }
int fv_thing_ok(void) { return fv_other_hidden(); }
int fv_other_bad(void) { return 1; }
EOC
${CC:-cc} -c -o "$T_ROOT/daemon/core/.libs/thing.o" "$T_ROOT/daemon/core/thing.c"
got=$(top_srcdir="$T_ROOT" top_builddir="$T_ROOT" \
    "$top_srcdir/tools/check-names")
is "$?:$got" "1:daemon/core/thing.c: fv_other_bad (want fv_thing_)" \
    "check-names lists an exported name of another file's word, and only it"

got=$("$top_srcdir/tools/check-names")
rc=$?
ok $rc "every exported name starts with its file's word"
[ $rc -eq 0 ] || printf '%s\n' "$got" | sed 's/^/#   /'
done_testing
