#!/bin/sh
# binding.sh -- Binding answers per second that turnd sustains on this
# machine, over UDP and TCP, on loopback.  A benchmark, not a test.
#   bench/binding.sh [BUILDDIR] [SECONDS] [RUNS]
# Starts turnd (workers = 0: one per CPU) on a free loopback port, runs
# bench/stunbench against it for each load shape RUNS times, prints one
# line per run and the median, and stops turnd by PID.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
secs=${2:-5}
runs=${3:-3}
make -C "$build" turnd bench/stunbench >/dev/null
tmp=$(mktemp -d)
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$tmp/turnd.conf" <<CONF
workers = 0;
listen: { udp = [ "127.0.0.1:$port" ]; tcp = [ "127.0.0.1:$port" ]; tls = [ ]; };
log: { level = "info"; file = "$tmp/turnd.log"; };
CONF
"$build/turnd" -f -c "$tmp/turnd.conf" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
i=0
until grep -q ready "$tmp/turnd.log" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "turnd did not start"; exit 1; }
	sleep 0.05
done
echo "turnd $("$build/turnd" -V | cut -d' ' -f2), $(nproc) CPUs, $secs s per run, $runs runs"
for shape in "udp 8 32" "udp 32 16" "tcp 8 32" "tcp 64 8"; do
	set -- $shape
	vals=""
	for r in $(seq "$runs"); do
		out=$("$build/bench/stunbench" -t "$1" -c "$2" -w "$3" -d "$secs" 127.0.0.1 "$port")
		echo "  $out"
		vals="$vals $(echo "$out" | sed -n 's/.*answers_per_sec=\([0-9]*\).*/\1/p')"
	done
	med=$(echo $vals | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
	echo "$1 conns=$2 window=$3: median $med answers/s"
done
kill -USR1 $pid; sleep 0.2
grep stats: "$tmp/turnd.log" | tail -1
