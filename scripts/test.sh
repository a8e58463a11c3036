#!/usr/bin/env bash
# THE TEST COMMAND: installs what is missing, builds, runs every test.
#
#   scripts/test.sh
#
# 1. build/ (Release): every CTest test (labels unit, plugins, integration).
# 2. build-asan/ (Debug, -DINVSYS_SANITIZE=ON: AddressSanitizer + UBSan):
#    every test not labelled integration (the unit and plugin tests) again.
# Exits non-zero when any test fails or when either run finds no test.
#
# Environment: INVSYS_JOBS (build jobs, default: cores), INVSYS_TEST_JOBS
# (parallel tests, default: cores), INVSYS_TEST_TIMEOUT (seconds per test
# without a TIMEOUT of its own, default 300), INVSYS_SKIP_ASAN=1 (skip 2.).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs="${INVSYS_JOBS:-$(nproc)}"
test_jobs="${INVSYS_TEST_JOBS:-$(nproc)}"
timeout="${INVSYS_TEST_TIMEOUT:-300}"

bash scripts/setup.sh

echo "=== tests (build/, Release)"
status=0
ctest --test-dir build --output-on-failure --no-tests=error \
    -j"$test_jobs" --timeout "$timeout" || status=1

if [[ "${INVSYS_SKIP_ASAN:-0}" != 1 ]]; then
    echo "=== unit and plugin tests under AddressSanitizer + UBSan (build-asan/, Debug)"
    if [[ ! -f build-asan/CMakeCache.txt ]]; then
        cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DINVSYS_SANITIZE=ON
    fi
    cmake --build build-asan -j"$jobs"
    ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}" \
    UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
        ctest --test-dir build-asan --output-on-failure --no-tests=error \
        -LE integration -j"$test_jobs" --timeout "$timeout" || status=1
fi

if [[ $status != 0 ]]; then
    echo "test.sh: FAILED" >&2
else
    echo "test.sh: all tests passed"
fi
exit "$status"
