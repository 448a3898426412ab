#!/bin/bash
# The documentation is self-contained: no file of the tree sends the reader
# to a document that is not in it, every link of README.md and docs/*.md
# leads to a file (and heading) that exists, and docs/records.md names
# every field, value and limit that daemon/core/record.[ch] enforce.
. "${top_srcdir:-.}/tests/lib/lib.sh"

cd "$top_srcdir" || exit 1

# The files of the tree: git's list, or, in a tree without git (a
# distribution tarball), every file; build-aux holds autotools' own.
# (a tarball unpacked inside another checkout, as distcheck does, is not
# that checkout's: git's list only when this is git's top)
if [ "$(git rev-parse --show-toplevel 2> /dev/null)" = "$(pwd -P)" ]; then
	git ls-files > "$T_ROOT/files"
else
	find . -path ./.git -prune -o -path ./autom4te.cache -prune -o \
	    -type f -print | sed 's|^\./||' > "$T_ROOT/files"
fi
grep -v '^build-aux/' "$T_ROOT/files" > "$T_ROOT/ours"
ok "$([ -s "$T_ROOT/ours" ]; echo $?)" "the tree's files are listed"

# The product's contract and design notes were kept outside the tree; a
# reference to them is one the reader cannot follow.  (The brackets keep
# this file from matching itself.)
tr '\n' '\0' < "$T_ROOT/ours" | xargs -0 grep -nwIE 'SPE[C]|ARCHITECTUR[E]' \
    -- > "$T_ROOT/refs" 2>/dev/null
ok "$([ ! -s "$T_ROOT/refs" ]; echo $?)" "no file refers to the spec or architecture documents"
sed 's/^/#   /' "$T_ROOT/refs" | head -20

python3 - "$T_ROOT/ours" > "$T_ROOT/links.tap" <<'EOF'
import os, re, sys

files = [l.rstrip("\n") for l in open(sys.argv[1], encoding="utf-8")]
have = set(files)
dirs = {os.path.dirname(f) for f in files}
for d in list(dirs):
    while d:
        d = os.path.dirname(d)
        dirs.add(d)
docs = [f for f in files if f == "README.md" or
        (f.startswith("docs/") and f.endswith(".md"))]

def exists(p):
    p = os.path.normpath(p)
    return p in have or p in dirs

def slug(title):
    """A heading's anchor, as GitHub makes it."""
    t = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return t.replace(" ", "-")

def anchors(path):
    out, fence = set(), False
    for line in open(path, encoding="utf-8"):
        if line.startswith("```"):
            fence = not fence
        m = None if fence else re.match(r"#{1,6} (.*)", line)
        if m:
            out.add(slug(m.group(1)))
    return out

def code_free(path):
    """The text of a Markdown file without its fenced blocks."""
    out, fence = [], False
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        if line.startswith("```"):
            fence = not fence
        elif not fence:
            out.append((n, line))
    return out

bad_links, bad_names = [], []
for f in docs:
    here = os.path.dirname(f)
    for n, line in code_free(f):
        for target in re.findall(r"\]\(([^)\s]+)\)", line):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, frag = target.partition("#")
            dest = os.path.join(here, path) if path else f
            if not exists(dest):
                bad_links.append("%s:%d: %s: no such file" % (f, n, target))
            elif frag and dest.endswith(".md") and \
                    frag not in anchors(os.path.normpath(dest)):
                bad_links.append("%s:%d: %s: no such heading" %
                                 (f, n, target))

# Any file naming a Markdown document names one of the tree: relative
# to itself, to the top or to docs/.
for f in files:
    if f.startswith("build-aux/"):
        continue
    try:
        text = open(f, encoding="utf-8").read()
    except (UnicodeDecodeError, OSError):
        continue
    for n, line in enumerate(text.splitlines(), 1):
        for m in re.finditer(r"(?<![\w/.:-])([\w./-]*\w)\.md\b", line):
            name = m.group(1) + ".md"
            here = os.path.dirname(f)
            if not any(exists(os.path.join(b, name))
                       for b in (here, "", "docs")):
                bad_names.append("%s:%d: %s" % (f, n, name))

def report(ok, what, bad):
    print("%sok - %s" % ("" if ok else "not ", what))
    for b in bad[:20]:
        print("#   " + b)

report(not bad_links, "every relative link of README.md and docs/*.md "
       "leads to a file and heading of the tree", bad_links)
report(not bad_names, "every document a file names is in the tree",
       bad_names)
EOF
ok $? "the link check ran"
while IFS= read -r line; do
	case $line in
	"ok - "*) ok 0 "${line#ok - }" ;;
	"not ok - "*) ok 1 "${line#not ok - }" ;;
	*) echo "$line" ;;
	esac
done < "$T_ROOT/links.tap"

# records.md is linked from where a reader starts.
grep -q '](docs/records.md)' README.md
ok $? "README.md links docs/records.md"
grep -q '](records.md)' docs/api.md
ok $? "docs/api.md links records.md"

# records.md documents what the code enforces: every field of the schema's
# tables, every value of its enums, every limit of record.h.
missing= n=0
for f in $(sed -n 's/.*\.name = "\([a-z_]*\)".*/\1/p' daemon/core/record.c); do
	n=$((n + 1))
	grep -q "\`\\(applicant\\.\\|visit\\.\\)\\?$f\`" docs/records.md ||
	    missing="$missing $f"
done
ok "$([ "$n" -gt 0 ] && [ -z "$missing" ]; echo $?)" "records.md names every field of record.c ($n)"
[ -z "$missing" ] || diag "not in records.md:$missing"

missing= n=0
for v in $(sed -n '/^static const char \*const \(categories\|channels\|statuses\)\[\]/,/};/p' \
    daemon/core/record.c | grep -o '"[a-z_]*"' | tr -d '"'); do
	n=$((n + 1))
	grep -q "\`$v\`" docs/records.md || missing="$missing $v"
done
ok "$([ "$n" -gt 0 ] && [ -z "$missing" ]; echo $?)" "records.md names every category, channel and status ($n)"
[ -z "$missing" ] || diag "not in records.md:$missing"

missing= n=0
for c in $(sed -n 's/^#define \(FV_[A-Z_]*\)[[:space:]].*/\1/p' daemon/core/record.h); do
	n=$((n + 1))
	grep -q "$c" docs/records.md || missing="$missing $c"
done
ok "$([ "$n" -gt 0 ] && [ -z "$missing" ]; echo $?)" "records.md gives every limit of record.h ($n)"
[ -z "$missing" ] || diag "not in records.md:$missing"

done_testing
