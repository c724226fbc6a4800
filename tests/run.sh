#!/usr/bin/env bash
# Installs what is missing, builds with AddressSanitizer and UBSan, runs every test (unit
# and end to end with real SIP peers), runs the unit tests again under valgrind, checks the
# release build compiles, runs each fuzz target briefly, and ends
# with "N passed, N failed" counted from meson's test logs. Exit status 0 only if all pass.
set -u
cd "$(dirname "$0")/.."
tests/deps.sh --test || { echo "0 passed, 1 failed"; exit 1; }
# playwright-core for the dashboard's browser test (it drives the system's chromium)
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error) ||
  echo "tests/browser: npm ci failed; the browser test will fail" >&2

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
asan=${BUILD_ASAN:-build-asan}
vg=${BUILD_VALGRIND:-build-valgrind}
logs=()
failed_builds=0

[ -f "$asan/build.ninja" ] || meson setup "$asan" -Db_sanitize=address,undefined -Db_lundef=false
rm -f "$asan"/meson-logs/testlog*.json
if meson compile -C "$asan"; then
  meson test -C "$asan" --print-errorlogs --num-processes "$(nproc)"
  logs+=("$asan/meson-logs")
else
  failed_builds=$((failed_builds + 1))
fi

[ -f "$vg/build.ninja" ] || meson setup "$vg" --buildtype=debug
rm -f "$vg"/meson-logs/testlog*.json
if meson compile -C "$vg"; then
  meson test -C "$vg" --suite unit --print-errorlogs --timeout-multiplier 10 \
    --wrapper "valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect"
  logs+=("$vg/meson-logs")
else
  failed_builds=$((failed_builds + 1))
fi

# libFuzzer targets (tests/fuzz), 15 s each over their seed corpora; clang only. werror is
# off: clang warns where gcc does not, and this build is for finding crashes.
fz=${BUILD_FUZZ:-build-fuzz}
if command -v clang >/dev/null; then
  [ -f "$fz/build.ninja" ] || CC=clang meson setup "$fz" -Dfuzz=true -Dwerror=false \
    -Db_sanitize=address,undefined -Db_lundef=false
  rm -f "$fz"/meson-logs/testlog*.json
  if meson compile -C "$fz"; then
    meson test -C "$fz" --suite fuzz --print-errorlogs --num-processes "$(nproc)"
    logs+=("$fz/meson-logs")
  else
    failed_builds=$((failed_builds + 1))
  fi
fi

# the build people deploy: -O3 finds warnings the others do not, and warnings are errors
rel=${BUILD_RELEASE:-build-release}
[ -f "$rel/build.ninja" ] || meson setup "$rel" --buildtype=release
meson compile -C "$rel" || failed_builds=$((failed_builds + 1))

python3 - "$failed_builds" "${logs[@]}" <<'PY'
import glob, json, sys
passed, failed = 0, int(sys.argv[1])
for logdir in sys.argv[2:]:
    # meson names the log after a --wrapper too (testlog-valgrind.json)
    lines = [l for f in glob.glob(logdir + "/testlog*.json") for l in open(f).read().splitlines()]
    if not lines:  # the run ended before writing a result: count it against us
        failed += 1
    for line in lines:
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r != "SKIP":
            failed += 1
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
