#!/bin/sh
# The C sources follow .clang-format (tools/check-style); skipped where
# clang-format is not installed.
. "${top_srcdir:-.}/tests/lib/lib.sh"

if ! command -v "${CLANG_FORMAT:-clang-format}" > /dev/null 2>&1; then
	echo "1..0 # SKIP clang-format is not installed"
	exit 0
fi

# the checker finds a file that does not follow the style
cp "$top_srcdir/.clang-format" "$T_ROOT/.clang-format"
printf 'int f(void){return 0;}\n' > "$T_ROOT/bad.c"
printf 'int\nf(void)\n{\n\treturn 0;\n}\n' > "$T_ROOT/good.c"
got=$("$top_srcdir/tools/check-style" "$T_ROOT/bad.c" "$T_ROOT/good.c")
is "$?:$got" "1:$T_ROOT/bad.c" "check-style lists a file that differs, and only it"

got=$("$top_srcdir/tools/check-style")
rc=$?
ok $rc "every .c and .h follows .clang-format"
[ $rc -eq 0 ] || printf '%s\n' "$got" | sed 's/^/#   differs: /'
done_testing
