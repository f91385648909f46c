# lib.sh -- what the bench scripts share; sourced, not run.
# Sets tmp (a scratch directory) and pids (processes to stop at exit).

tmp=$(mktemp -d)
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$tmp"' EXIT

# A free loopback port, for UDP and TCP alike.
freeport() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# waitfor FILE PATTERN: until a server logs PATTERN, 10 s at most.
waitfor() {
	i=0
	until grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1)); [ $i -lt 200 ] || { echo "server did not start"; exit 1; }
		sleep 0.05
	done
}
