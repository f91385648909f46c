#!/bin/sh
# build.sh DIR [configure options] -- configure and build turnd out of tree
# in DIR (relative to the source tree), regenerating configure if needed.
set -eu
cd "$(dirname "$0")/.."
src=$(pwd)
dir=${1:-build}
shift || true
[ -x configure ] || autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
mkdir -p "$dir"
cd "$dir"
want="$*"
if [ ! -f Makefile ] || [ "$(cat .configure-args 2>/dev/null)" != "$want" ]; then
	# shellcheck disable=SC2086
	"$src/configure" -q $want
	echo "$want" > .configure-args
fi
make -j"$(nproc)" >/dev/null
