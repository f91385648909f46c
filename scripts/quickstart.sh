#!/bin/sh
# quickstart.sh -- install what is missing, build, and start turnd in the
# foreground on its embedded default: loopback listeners, a generated demo
# user and a self-signed certificate.  Ctrl-C stops it.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh build
exec build/turnd --demo
