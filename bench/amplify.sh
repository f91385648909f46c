#!/bin/sh
# amplify.sh -- reflection by unauthenticated requests: the size of each
# answer and its ratio to the request, turnd beside coturn (Debian's
# turnserver, when installed), both with the same realm and a user; then
# the 401s one source IP draws a second from turnd with 1, 2 and 4
# workers (auth.unauth_rate = 10).  A benchmark, not a test.
#   bench/amplify.sh [BUILDDIR] [SECONDS]
# Both servers on loopback, stopped by PID at exit.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
secs=${2:-2}
make -C "$build" turnd >/dev/null
. bench/lib.sh
realm=test.realm

# start_turnd WORKERS RATE: sets tport and tpid
start_turnd() {
	tport=$(freeport)
	cat > "$tmp/turnd.conf" <<CONF
metrics: { listen = ""; };
control: { socket = ""; };
workers = $1;
realm = "$realm";
listen: { udp = [ "127.0.0.1:$tport" ]; tcp = [ ]; tls = [ ]; };
relay: { addresses = [ "127.0.0.1" ]; };
auth: { users = ( { user = "alice"; password = "secret"; } );
	unauth_rate = $2; };
log: { level = "info"; file = "$tmp/turnd.log"; };
CONF
	: > "$tmp/turnd.log"
	"$build/turnd" -f -c "$tmp/turnd.conf" &
	tpid=$!
	pids="$pids $tpid"
	waitfor "$tmp/turnd.log" " ready"
}

stop() {
	kill "$1"
	wait "$1" 2>/dev/null || true
}

echo "$("$build/turnd" -V); realm \"$realm\" (10 bytes)"
start_turnd 1 0
/usr/bin/python3 bench/amplify.py sizes turnd "$tport"
stop "$tpid"

if command -v turnserver >/dev/null 2>&1; then
	cport=$(freeport)
	turnserver -n --listening-ip=127.0.0.1 --listening-port="$cport" \
	    --no-tls --no-dtls --no-cli --lt-cred-mech --user=alice:secret \
	    --realm="$realm" --log-file=stdout --simple-log \
	    > "$tmp/coturn.log" 2>&1 &
	cpid=$!
	pids="$pids $cpid"
	waitfor "$tmp/coturn.log" "Total General servers"
	echo "$(turnserver --version 2>&1 | head -1 | sed 's/^/coturn /')"
	/usr/bin/python3 bench/amplify.py sizes coturn "$cport"
	stop "$cpid"
fi

for w in 1 2 4; do
	start_turnd "$w" 10
	printf 'turnd workers=%s unauth_rate=10: ' "$w"
	/usr/bin/python3 bench/amplify.py flood "$tport" "$secs"
	stop "$tpid"
done
