#!/usr/bin/env bash
# Installs the Debian packages ivrd needs that are missing: to build (default), or with
# --test also the peers and tools the tests drive (SIPp, baresip, tshark, valgrind, clang
# for the libFuzzer targets).
set -eu
build=(meson ninja-build pkg-config gcc libc6-dev libevent-dev libconfig-dev libsndfile1-dev
  libsamplerate0-dev libosip2-dev libsqlite3-dev nettle-dev tzdata)
# clang with libclang-rt-14-dev (only recommended by clang-14) for -fsanitize=fuzzer;
# chromium, nodejs and npm for the dashboard's browser test (tests/browser: npm ci)
test=(python3 sip-tester baresip tshark sqlite3 valgrind iproute2 systemd procps clang sox
  libclang-rt-14-dev chromium nodejs)
want=("${build[@]}")
[ "${1:-}" = "--test" ] && want+=("${test[@]}")
# Debian's npm; a nodejs from elsewhere (NodeSource) brings its own and conflicts with it
[ "${1:-}" = "--test" ] && ! command -v npm >/dev/null && want+=(npm)

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
[ "$(id -u)" -ne 0 ] && sudo=(sudo)
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  "${missing[@]}"
