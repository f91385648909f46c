#!/bin/sh
# layout.sh -- the shape of src/ as a test (TAP): no link-level cycle
# between the objects of one folder and the module order kept
# (scripts/layers.py on the built objects), no function over 120 lines
# and no file over 900 (scripts/shape.sh).
src=${top_srcdir:-.}
build=${top_builddir:-.}
echo "1..2"
if out=$(python3 "$src/scripts/layers.py" "$build" 2>&1); then
	echo "ok 1 - layers"
else
	echo "$out" | sed 's/^/# /'
	echo "not ok 1 - layers"
fi
if out=$(cd "$src" && scripts/shape.sh 2>&1); then
	echo "ok 2 - shape"
else
	echo "$out" | sed 's/^/# /'
	echo "not ok 2 - shape"
fi
