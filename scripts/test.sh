#!/usr/bin/env bash
# Sets up a machine and runs every herd test: the build with warnings as
# errors, unit/integration/e2e tests, then the same tests under ASan+UBSan,
# the fuzz targets for a few seconds each, then the tests of the code
# without protobuf under TSan.
#
#   scripts/test.sh            everything (what CI runs)
#   scripts/test.sh --quick    only the regular build and its tests
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
[[ "${1:-}" == "--quick" ]] && quick=1
jobs=${HERD_JOBS:-2}

scripts/install-deps.sh

# The three builds take about 16 GB (build/ 5, build-asan/ 8, build-tsan/ and
# build-fuzz/ the rest); a full disk fails a link far into the run, so say it
# up front.
need_gb=$(( quick ? 6 : 17 ))
for d in build build-asan build-tsan build-fuzz; do
  [[ -d $d ]] && need_gb=$(( need_gb - $(du -sk "$d" | cut -f1) / 1024 / 1024 ))
done
free_gb=$(( $(df -Pk . | awk 'NR==2 {print $4}') / 1024 / 1024 ))
if (( free_gb < need_gb )); then
  echo "scripts/test.sh: ${free_gb} GB free on $(df -P . | awk 'NR==2 {print $6}'), the builds need about ${need_gb} GB" >&2
  exit 1
fi

step() { printf '\n== %s\n' "$*"; }

step "build (build/)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHERD_WERROR=ON >/dev/null
cmake --build build -j"$jobs"

step "tests (build/)"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 300

# The container image's runtime stage from the binaries just built, run
# (scripts/image-test.sh --prebuilt; the full image build is
# scripts/image-test.sh alone, kept out of CI for its length).
step "container image from build/bin (scripts/image-test.sh --prebuilt)"
if command -v buildah >/dev/null && STORAGE_DRIVER=vfs buildah info >/dev/null 2>&1; then
  scripts/image-test.sh --prebuilt
else
  echo "SKIPPED: buildah cannot run on this machine (STORAGE_DRIVER=vfs buildah info fails); the image is not tested"
fi

(( quick )) && exit 0

step "build with ASan+UBSan (build-asan/)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DHERD_WERROR=ON \
  -DHERD_SANITIZE=address,undefined -DHERD_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"

step "tests under ASan+UBSan (build-asan/)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 600

# Every parser of outside input, fuzzed briefly from its seed corpus
# (test/fuzz; the long run is in docs/RELIABILITY.md).
step "fuzz targets, ${HERD_FUZZ_SECONDS:-4} s each (build-fuzz/)"
scripts/fuzz.sh --seconds "${HERD_FUZZ_SECONDS:-4}"

# Debian's protobuf does not work with TSan-instrumented callers, so the
# TSan build covers the code that shares state across threads without it:
# the Kubernetes client (transport, watches, informers), the event loop and
# the HTTP server.
step "build with TSan (build-tsan/): the tests in build-tsan/tsan_tests.txt"
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHERD_WERROR=ON \
  -DHERD_SANITIZE=thread -DHERD_BUILD_BENCH=OFF >/dev/null
cmake --build build-tsan -j"$jobs" --target tsan_tests

step "tests under TSan (build-tsan/)"
failed=0
while read -r t; do
  [[ -n "$t" ]] || continue
  if ! TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 "build-tsan/tests/$t" --gtest_brief=1; then
    echo "FAILED under TSan: $t"
    failed=1
  fi
done < build-tsan/tsan_tests.txt
(( failed == 0 ))

step "all tests passed"
