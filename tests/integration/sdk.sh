#!/bin/bash
# The SDK as a plugin author has it: `make install DESTDIR=` stages the
# headers, the mock host and the pkg-config files; the example in
# sdk/examples/hello is built out of tree with pkg-config alone, tested
# against the mock, and loaded by a daemon, where its exporter and its
# hook work.
. "${top_srcdir:-.}/tests/lib/lib.sh"

STAGE="$T_ROOT/stage"
make -s -C "$top_builddir" install DESTDIR="$STAGE" > "$T_ROOT/install.log" 2>&1
ok $? "make install DESTDIR= stages the SDK"
pcdir=$(dirname "$(find "$STAGE" -name fieldvault-plugin.pc | head -1)")
ok "$([ -f "$pcdir/fieldvault-plugin.pc" ] && [ -f "$pcdir/fieldvault-mock.pc" ]; echo $?)" "fieldvault-plugin.pc and fieldvault-mock.pc are installed"
inc=$(find "$STAGE" -path '*include/fieldvault/plugin.h' | head -1)
ok "$([ -n "$inc" ] && [ -f "$(dirname "$inc")/host.h" ] && [ -f "$(dirname "$inc")/record.h" ]; echo $?)" "the SDK headers are installed"
ok "$(ls "$STAGE"$(dirname "$(sed -n 's/^libdir=//p' "$pcdir/fieldvault-plugin.pc")")/*/fieldvault/plugins/csv.so > /dev/null 2>&1 || find "$STAGE" -name csv.so | grep -q plugins/csv.so; echo $?)" "the bundled plugins are installed"
ok "$(find "$STAGE" -name '*.la' -path '*plugins*' | grep -q .; [ $? -ne 0 ]; echo $?)" "without libtool archives"

# the author's side: a copy of the example, nothing of the source tree
SRC="$T_ROOT/hello"
cp -r "$top_srcdir/sdk/examples/hello" "$SRC"
chmod -R u+w "$SRC"
export PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$STAGE"
export PKG_CONFIG_LIBDIR="$pcdir"
like "$(pkg-config --cflags fieldvault-plugin)" "^-I$STAGE" "pkg-config finds the staged SDK"
like "$(pkg-config --libs fieldvault-plugin)" "-z,now" "and asks for -z now"
make -s -C "$SRC" > "$T_ROOT/build.log" 2>&1
ok $? "the example builds out of tree with pkg-config alone"
make -s -C "$SRC" check > "$T_ROOT/check.log" 2>&1
ok $? "and passes its tests against the mock host"
[ $? -eq 0 ] || sed 's/^/# /' "$T_ROOT/check.log" "$T_ROOT/build.log" | tail -20
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR

PLUG="$T_ROOT/plugins"
mkdir -p "$PLUG"
chmod 755 "$PLUG"
install -m 0644 "$SRC/hello.so" "$PLUG/hello.so"
fv_new hq hq "[plugins]
dir = $PLUG
load = hello
[plugin.hello]
log = $T_ROOT/hooks.txt"
fv_init hq
fv_start hq
fv_unlock hq
like "$(fv hq plugin list)" "hello .*exporter,hook" "the daemon loads the example"
id=$(fv hq appeal add - <<< "$(appeal_json "Hello Person")")
wait_for "$FV_WAIT" grep -q "create $id" "$T_ROOT/hooks.txt"
ok $? "its hook hears of the new appeal"
like "$(fv hq export --format hello)" "^$id	appeal	" "its exporter writes the appeal"
fv hq appeal delete "$id" > /dev/null
wait_for "$FV_WAIT" grep -q "delete $id" "$T_ROOT/hooks.txt"
ok $? "and of its deletion"
fv_stop hq
done_testing
