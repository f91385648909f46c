#!/bin/sh
# relay.sh -- relayed ChannelData packets per second and per CPU-second of
# the server, turnd beside Debian's coturn on the same load in the same run.
# A benchmark, not a test.
#   bench/relay.sh [BUILDDIR] [SESSIONS] [MESSAGES] [RUNS]
# Load: coturn's turnutils_uclient, channels over UDP (-c: no RTCP),
# SESSIONS allocations each sending MESSAGES ChannelData messages as fast
# as it can (-z 0) to turnutils_peer, which echoes them.  Each round trip
# is 2 relayed packets: the server forwards one to the peer and one back.  Server CPU comes from /proc/PID/stat
# (utime + stime) before and after each run.  uclient is open loop and
# shares the two cores, so compare the servers on CPU per packet first.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
sessions=${2:-10}
msgs=${3:-2000}
runs=${4:-3}
make -C "$build" turnd >/dev/null
. bench/lib.sh
cputicks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

tport=$(freeport)
cat > "$tmp/turnd.conf" <<CONF
metrics: { listen = ""; };
control: { socket = ""; };
workers = 0;
realm = "bench.realm";
listen: { udp = [ "127.0.0.1:$tport" ]; tcp = [ ]; tls = [ ]; };
relay: { addresses = [ "127.0.0.1" ]; allow_peers = [ "127.0.0.0/8" ];
  min_port = 20000; max_port = 29999; rfc5766_channels = true;
  user_quota = 0; };	# uclient leaves its probe allocations behind
auth: { users = ( { user = "bench"; password = "bench"; } ); };
log: { level = "info"; file = "$tmp/turnd.log"; };
CONF
"$build/turnd" -f -c "$tmp/turnd.conf" &
tpid=$!
pids="$tpid"
waitfor "$tmp/turnd.log" " ready"

cport=$(freeport)
turnserver -n --listening-ip=127.0.0.1 --listening-port="$cport" \
    --relay-ip=127.0.0.1 --min-port=30000 --max-port=39999 \
    --lt-cred-mech --user=bench:bench --realm=bench.realm \
    --allow-loopback-peers --no-tls --no-dtls --no-cli --no-tcp \
    --log-file=stdout --simple-log > "$tmp/coturn.log" 2>&1 &
cpid=$!
pids="$pids $cpid"
waitfor "$tmp/coturn.log" "Total General servers"

peerport=$(freeport)
turnutils_peer -p "$peerport" -L 127.0.0.1 > /dev/null 2>&1 &
pids="$pids $!"
sleep 0.2	# turnutils_peer prints nothing to wait for

echo "$("$build/turnd" -V) vs coturn $(dpkg-query -W -f='${Version}' coturn);" \
    "$(nproc) CPUs; $sessions sessions x $msgs messages, $runs runs"
for size in ${SIZES:-100 1000}; do
	for r in $(seq "$runs"); do
		for s in "turnd:$tport:$tpid" "coturn:$cport:$cpid"; do
			name=${s%%:*}; rest=${s#*:}; port=${rest%%:*}; pid=${rest#*:}
			c0=$(cputicks "$pid"); t0=$(date +%s.%N)
			out=$(timeout 120 turnutils_uclient -c -z 0 -u bench -w bench \
			    -e 127.0.0.1 -r "$peerport" -p "$port" -m "$sessions" \
			    -n "$msgs" -l "$size" 127.0.0.1 2>&1) || true
			t1=$(date +%s.%N); c1=$(cputicks "$pid")
			sent=$(echo "$out" | sed -n 's/.*tot_send_msgs=\([0-9]*\), tot_recv_msgs=\([0-9]*\).*/\1/p' | tail -1)
			recv=$(echo "$out" | sed -n 's/.*tot_send_msgs=\([0-9]*\), tot_recv_msgs=\([0-9]*\).*/\2/p' | tail -1)
			awk -v n="$name" -v sz="$size" -v s="${sent:-0}" -v rc="${recv:-0}" \
			    -v t0="$t0" -v t1="$t1" -v c="$((c1 - c0))" -v hz="$hz" 'BEGIN {
				wall = t1 - t0; cpu = c / hz; pk = 2 * rc;
				fmt = "%-6s %4d B: %6d/%6d back, %5.2f s, relayed %7.0f pkt/s, server CPU %5.2f s = %7.0f pkt per CPU-s, loss %.1f%%\n";
				printf fmt, n, sz, rc, s, wall, pk / wall, cpu, (cpu > 0 ? pk / cpu : 0), (s > 0 ? 100 * (s - rc) / s : 100) }'
		done
	done
done
