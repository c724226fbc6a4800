#!/usr/bin/env bash
# Installs what is missing, builds, and runs ivrd on the demo configuration in the
# foreground (Ctrl-C stops it). Dial sip:18005550100@127.0.0.1 for the English menu,
# sip:18005550101@127.0.0.1 for the Vietnamese one.
set -eu
cd "$(dirname "$0")/.."
tests/deps.sh
[ -f build/build.ninja ] || meson setup build
meson compile -C build
mkdir -p var/lib/ivrd var/run
exec build/src/ivrd -c etc/ivrd.conf "$@"
