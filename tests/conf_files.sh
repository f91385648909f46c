#!/bin/sh
#
# conf_files.sh -- "turnd -n -c FILE" over tests/conf, as TAP.
#
# good/*.conf must load: exit 0 and "configuration OK" on stdout.
# bad/*.conf must be refused: exit 1 and, on stderr, "FILE:LINE: TEXT"
# where the file's first line is "# expect: LINE: TEXT" and FILE is the
# path as given to turnd.
#
# make check sets top_srcdir and top_builddir; TURND overrides the binary.

srcdir=${top_srcdir:-$(dirname "$0")/..}
builddir=${top_builddir:-.}
turnd=${TURND:-$builddir/turnd}
dir=$srcdir/tests/conf
out=${TMPDIR:-/tmp}/turnd-conf-out.$$
err=${TMPDIR:-/tmp}/turnd-conf-err.$$
trap 'rm -f "$out" "$err"' EXIT INT TERM

if [ ! -x "$turnd" ]; then
	echo "1..0 # SKIP $turnd not built"
	exit 0
fi

n=0
for f in "$dir"/good/*.conf "$dir"/bad/*.conf; do
	[ -f "$f" ] && n=$((n + 1))
done
echo "1..$n"

i=0
failed=0

# ok NAME / notok NAME REASON: print a TAP line, the output as comments.
ok() {
	echo "ok $i - $1"
}
notok() {
	echo "not ok $i - $1: $2"
	sed 's/^/# stdout: /' "$out"
	sed 's/^/# stderr: /' "$err"
	failed=1
}

for f in "$dir"/good/*.conf; do
	[ -f "$f" ] || continue
	i=$((i + 1))
	name=good/${f##*/}
	"$turnd" -n -c "$f" >"$out" 2>"$err"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		notok "$name" "exit $rc, expected 0"
	elif [ "$(cat "$out")" != "configuration OK" ]; then
		notok "$name" "stdout is not \"configuration OK\""
	else
		ok "$name"
	fi
done

for f in "$dir"/bad/*.conf; do
	[ -f "$f" ] || continue
	i=$((i + 1))
	name=bad/${f##*/}
	expect=$(sed -n '1s/^# expect: //p' "$f")
	if [ -z "$expect" ]; then
		: >"$out"
		: >"$err"
		notok "$name" "first line is not \"# expect: LINE: TEXT\""
		continue
	fi
	want="$f:$expect"
	"$turnd" -n -c "$f" >"$out" 2>"$err"
	rc=$?
	if [ "$rc" -ne 1 ]; then
		notok "$name" "exit $rc, expected 1"
	elif ! grep -F -e "$want" "$err" >/dev/null; then
		notok "$name" "stderr lacks \"$want\""
	else
		ok "$name"
	fi
done

exit $failed
