#!/bin/sh
# test.sh -- the whole test suite: unit and config tests (make check) and
# the black-box suite against the real turnd, first on a normal build, then
# on an AddressSanitizer + UBSan build.  Ends with "N passed, N failed".
#   scripts/test.sh            everything
#   scripts/test.sh --quick    normal build only (no ASan pass)
set -u
cd "$(dirname "$0")/.."
src=$(pwd)
PY=/usr/bin/python3		# Debian's: it sees python3-aioice and pytest
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

scripts/deps.sh --test || exit 1

# run_pass NAME BUILDDIR [configure options]
run_pass() {
	name=$1 dir=$2
	shift 2
	echo "== $name: build ($dir)"
	if ! scripts/build.sh "$dir" "$@"; then
		echo "build failed" >&2
		echo "0 1 0" > "$results/$name.build"
		return
	fi
	echo "== $name: unit and config tests"
	(cd "$dir" && make -j"$(nproc)" check >/dev/null 2>&1)
	p=$(cat "$dir"/tests/*/*.trs "$dir"/tests/*.trs 2>/dev/null |
	    grep -c '^:test-result: PASS')
	f=$(cat "$dir"/tests/*/*.trs "$dir"/tests/*.trs 2>/dev/null |
	    grep -c -E '^:test-result: (FAIL|ERROR|XPASS)')
	s=$(cat "$dir"/tests/*/*.trs "$dir"/tests/*.trs 2>/dev/null |
	    grep -c '^:test-result: SKIP')
	if [ "$f" -gt 0 ]; then
		grep -h -B2 -E '^(not ok|# .*failed|FAIL|ERROR)' \
		    "$dir"/tests/*/*.log "$dir"/tests/*.log 2>/dev/null | head -60
	fi
	echo "   unit: $p passed, $f failed, $s skipped"
	echo "$p $f $s" > "$results/$name.unit"

	echo "== $name: black-box tests"
	TURND="$src/$dir/turnd" $PY -m pytest -q -p no:cacheprovider \
	    --junitxml="$results/$name.xml" tests/blackbox 2>&1 | tail -25
	$PY - "$results/$name.xml" > "$results/$name.bb" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
try:
    r = ET.parse(sys.argv[1]).getroot()
except Exception:
    print("0 1 0"); sys.exit()
s = r if r.tag == "testsuite" else r.find("testsuite")
t, f, e, k = (int(s.get(a, 0)) for a in ("tests", "failures", "errors", "skipped"))
print(t - f - e - k, f + e, k)
PYEOF
}

run_pass normal build
if [ "${1:-}" != "--quick" ]; then
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	export ASAN_OPTIONS UBSAN_OPTIONS
	run_pass asan build-asan --enable-asan
fi

# the counts only (*.xml beside them hold failure texts, not counts)
cat "$results"/*.unit "$results"/*.bb "$results"/*.build 2>/dev/null | awk '{p+=$1; f+=$2; s+=$3}
    END { if (s > 0) printf "%d passed, %d failed, %d skipped\n", p, f, s;
	  else printf "%d passed, %d failed\n", p, f; exit (f > 0) }'
