#!/usr/bin/env bash
# Sets up a machine and runs every herd test: the build with warnings as
# errors, unit/integration/e2e tests, then the same tests under ASan+UBSan.
#
#   scripts/test.sh            everything (what CI runs)
#   scripts/test.sh --quick    only the regular build and its tests
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
[[ "${1:-}" == "--quick" ]] && quick=1
jobs=${HERD_JOBS:-2}

scripts/install-deps.sh

step() { printf '\n== %s\n' "$*"; }

step "build (build/)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHERD_WERROR=ON >/dev/null
cmake --build build -j"$jobs"

step "tests (build/)"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 300

(( quick )) && exit 0

step "build with ASan+UBSan (build-asan/)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DHERD_WERROR=ON \
  -DHERD_SANITIZE=address,undefined -DHERD_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"

step "tests under ASan+UBSan (build-asan/)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 600

step "all tests passed"
