#!/bin/sh
# shape.sh -- the size limits of src/: no function longer than 120 lines
# (from its name's line to its closing brace, style(9) layout), no file
# over 900 lines.  Prints what is over; exit status 1 if anything is.
cd "$(dirname "$0")/.." || exit 1
bad=0
for f in $(find src -name "*.[ch]" | sort); do
	n=$(wc -l < "$f")
	if [ "$n" -gt 900 ]; then
		echo "$f: $n lines (over 900)"
		bad=1
	fi
	awk -v f="$f" '
	/^[A-Za-z_][A-Za-z0-9_]*\(/ { name = $0; sub(/\(.*/, "", name); start = NR; next }
	/^\{/ && start { open = 1; next }
	/^\}/ && open {
		if (NR - start + 1 > 120) {
			printf "%s:%d: %s() is %d lines (over 120)\n", f, start, name, NR - start + 1
			bad = 1
		}
		open = 0; start = 0
	}
	END { exit bad }' "$f" || bad=1
done
[ "$bad" -eq 0 ] && echo "shape: no function over 120 lines, no file over 900"
exit $bad
