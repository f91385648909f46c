#!/bin/sh
# deps.sh -- install the Debian/Ubuntu packages turnd needs that are missing.
#   scripts/deps.sh           build and runtime dependencies
#   scripts/deps.sh --test    plus what the test suite drives (third-party
#                             STUN/TURN clients, redis-server, pytest,
#                             a Prometheus text parser)
#   scripts/deps.sh --ci      plus clang for the fuzzers
set -eu

pkgs="build-essential autoconf automake pkg-config libevent-dev libssl-dev
libhiredis-dev libconfig-dev openssl"
case "${1:-}" in
--test) pkgs="$pkgs python3 python3-pytest python3-aioice python3-prometheus-client coturn mandoc redis-server iproute2 haproxy" ;;
--ci) pkgs="$pkgs python3 python3-pytest python3-aioice python3-prometheus-client coturn mandoc redis-server iproute2 haproxy
	clang libclang-rt-dev" ;;
esac

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
# Installing coturn must not leave a turnserver running on our ports.
if command -v systemctl >/dev/null 2>&1; then
	$SUDO systemctl disable --now coturn redis-server >/dev/null 2>&1 || true
fi
