#!/bin/sh
# binding.sh -- Binding answers per second on this machine, over UDP and
# TCP on loopback.  A benchmark, not a test.
#   bench/binding.sh [--coturn] [BUILDDIR] [SECONDS] [RUNS]
# Starts turnd (workers = 0: one per CPU) on a free loopback port -- and
# with --coturn, Debian's turnserver beside it with its default thread
# count -- runs bench/stunbench for each load shape RUNS times, alternating
# the servers run by run, prints every run and the medians, and stops the
# servers by PID.
set -eu
cd "$(dirname "$0")/.."
coturn=0
[ "${1:-}" = "--coturn" ] && { coturn=1; shift; }
build=${1:-build}
secs=${2:-5}
runs=${3:-3}
make -C "$build" turnd bench/stunbench >/dev/null
. bench/lib.sh

tport=$(freeport)
cat > "$tmp/turnd.conf" <<CONF
metrics: { listen = ""; };
control: { socket = ""; };
workers = 0;
listen: { udp = [ "127.0.0.1:$tport" ]; tcp = [ "127.0.0.1:$tport" ]; tls = [ ]; };
log: { level = "info"; file = "$tmp/turnd.log"; };
CONF
"$build/turnd" -f -c "$tmp/turnd.conf" &
tpid=$!
pids="$tpid"
waitfor "$tmp/turnd.log" " ready"
servers="turnd:$tport"

if [ $coturn -eq 1 ]; then
	cport=$(freeport)
	turnserver -n --listening-ip=127.0.0.1 --listening-port="$cport" \
	    --no-tls --no-dtls --no-cli --realm=bench --log-file=stdout \
	    --simple-log > "$tmp/coturn.log" 2>&1 &
	pids="$pids $!"
	waitfor "$tmp/coturn.log" "Total General servers"
	servers="$servers coturn:$cport"
fi

echo "$("$build/turnd" -V), $(nproc) CPUs, $secs s per run, $runs runs;" \
    "the load generator shares the CPUs"
for shape in "udp 8 32" "udp 32 16" "tcp 8 32" "tcp 64 8"; do
	set -- $shape
	for s in $servers; do : > "$tmp/vals.${s%%:*}"; done
	for r in $(seq "$runs"); do
		for s in $servers; do
			out=$("$build/bench/stunbench" -t "$1" -c "$2" -w "$3" \
			    -d "$secs" 127.0.0.1 "${s#*:}") || true
			echo "  ${s%%:*} $out"
			echo "$out" | sed -n 's/.*answers_per_sec=\([0-9]*\).*/\1/p' \
			    >> "$tmp/vals.${s%%:*}"
		done
	done
	for s in $servers; do
		med=$(sort -n "$tmp/vals.${s%%:*}" |
		    awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
		echo "${s%%:*} $1 conns=$2 window=$3: median $med answers/s"
	done
done
kill -USR1 "$tpid"
sleep 0.2
grep stats: "$tmp/turnd.log" | tail -1 | sed 's/.*stats:/turnd stats:/'
