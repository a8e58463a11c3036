#!/usr/bin/env bash
# THE TEST COMMAND: installs what is missing, builds, runs every test.
#
#   scripts/test.sh
#
# 0. The formatting check (scripts/check-format.sh: clang-format --dry-run
#    -Werror with the repository's .clang-format on every tracked C++ file).
# 1. build/ (Release): every CTest test but the deployment's (labels unit,
#    plugins, integration, ...).
# 2. build-asan/ (Debug, -DINVSYS_SANITIZE=ON: AddressSanitizer + UBSan):
#    every test not labelled integration (the unit and plugin tests) again.
# 3. build-fuzz/ (clang-14, -DINVSYS_FUZZ=ON: libFuzzer + ASan + UBSan): the
#    fuzz tests (label fuzz), each libFuzzer target on a scratch copy of its
#    seed corpus (tests/fuzz/corpus/) for INVSYS_FUZZ_SECONDS, two at a time.
# 4. The deployment (label deploy, in build/; needs root): the compose
#    deployment built and run, scaled on PostgreSQL and killed under load,
#    and the Debian package installed in a clean container. Its CTest
#    fixture starts Debian's dockerd when none answers (and stops it after),
#    and brings in debian:bookworm-slim (scripts/docker-base.sh: debootstrap
#    where no registry answers; once per machine). Everything it starts is
#    removed; the built images stay cached in /var/lib/docker.
# Exits non-zero when any test fails or when any run finds no test.
#
# Environment: INVSYS_JOBS (build jobs, default: cores), INVSYS_TEST_JOBS
# (parallel tests, default: cores), INVSYS_TEST_TIMEOUT (seconds per test
# without a TIMEOUT of its own, default 300), INVSYS_SKIP_ASAN=1 (skip 2.),
# INVSYS_SKIP_FUZZ=1 (skip 3.), INVSYS_FUZZ_SECONDS (seconds per fuzz
# target, default 60), INVSYS_SKIP_DEPLOY=1 (skip 4.).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

jobs="${INVSYS_JOBS:-$(nproc)}"
test_jobs="${INVSYS_TEST_JOBS:-$(nproc)}"
timeout="${INVSYS_TEST_TIMEOUT:-300}"

bash scripts/setup.sh

status=0
echo "=== formatting"
bash scripts/check-format.sh || status=1

echo "=== tests (build/, Release)"
ctest --test-dir build --output-on-failure --no-tests=error -LE deploy \
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
        -LE 'integration|deploy' -j"$test_jobs" --timeout "$timeout" || status=1
fi

if [[ "${INVSYS_SKIP_FUZZ:-0}" != 1 ]]; then
    fuzz_seconds="${INVSYS_FUZZ_SECONDS:-60}"
    echo "=== fuzz tests, ${fuzz_seconds} s per target (build-fuzz/, clang-14, libFuzzer + ASan + UBSan)"
    # Configured every run (cheap when nothing changed) so that the fuzz
    # time and the tests' CTest timeouts follow INVSYS_FUZZ_SECONDS.
    if [[ ! -f build-fuzz/CMakeCache.txt ]]; then
        CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
            -DINVSYS_FUZZ=ON -DINVSYS_FUZZ_SECONDS="$fuzz_seconds"
    else
        cmake -S . -B build-fuzz -DINVSYS_FUZZ_SECONDS="$fuzz_seconds" >/dev/null
    fi
    # Only what the fuzz tests run: the targets and the plugins they load.
    if cmake --build build-fuzz -j"$jobs" --target invsys_fuzzers; then
        ctest --test-dir build-fuzz --output-on-failure --no-tests=error \
            -L fuzz -j"$(( test_jobs < 2 ? test_jobs : 2 ))" || status=1
    else
        status=1
    fi
fi

if [[ "${INVSYS_SKIP_DEPLOY:-0}" != 1 ]]; then
    echo "=== deployment: compose (SQLite, PostgreSQL x3, a replica killed), Debian package (build/)"
    # One test at a time (they share the engine); each has its own TIMEOUT.
    INVSYS_BUILD_JOBS="$jobs" ctest --test-dir build --output-on-failure --no-tests=error -L deploy || status=1
fi

if [[ $status != 0 ]]; then
    echo "test.sh: FAILED" >&2
else
    echo "test.sh: all tests passed"
fi
exit "$status"
