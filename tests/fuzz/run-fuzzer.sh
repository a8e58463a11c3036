#!/usr/bin/env bash
# One fuzz test: runs a libFuzzer target on a scratch copy of its seed corpus
# for a bounded time and fails on any finding (crash, leak, timeout, UBSan
# report, out-of-memory).
#
#   run-fuzzer.sh <fuzzer> <seed dir> <work dir> <seconds> [<dictionary>]
#
# <work dir>/corpus is the scratch corpus (the seeds plus what the run
# found interesting; the tracked seed directory is never written);
# <work dir>/findings/ receives crash-*, leak-*, timeout-*, oom-* inputs;
# <work dir>/fuzz.log is libFuzzer's output. Extra libFuzzer flags:
# INVSYS_FUZZ_FLAGS (e.g. "-jobs=2 -workers=2").
set -euo pipefail

[[ $# -ge 4 && $# -le 5 ]] || {
    echo "usage: run-fuzzer.sh <fuzzer> <seed dir> <work dir> <seconds> [<dictionary>]" >&2
    exit 2
}
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
fuzzer="$1" seeds="$2" work="$3" seconds="$4" dict="${5:-}"

rm -rf "$work/corpus"
mkdir -p "$work/corpus" "$work/findings"
cp -R "$seeds/." "$work/corpus/"
rm -f "$work/findings"/*

args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048
      -print_final_stats=1 -artifact_prefix="$work/findings/")
[[ -n $dict ]] && args+=(-dict="$dict")
# shellcheck disable=SC2206
args+=(${INVSYS_FUZZ_FLAGS:-})

status=0
ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:symbolize=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$here/ubsan.supp${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}" \
    "$fuzzer" "${args[@]}" "$work/corpus" >"$work/fuzz.log" 2>&1 || status=$?

findings=("$work/findings"/*)
if [[ $status != 0 || -e ${findings[0]} ]]; then
    tail -n 80 "$work/fuzz.log"
    echo "run-fuzzer.sh: $(basename "$fuzzer") failed (exit $status); log: $work/fuzz.log" >&2
    for finding in "${findings[@]}"; do
        [[ -e $finding ]] || continue
        echo "finding: $finding ($(stat -c %s "$finding") bytes), as a C string:" >&2
        head -c 1024 "$finding" | LC_ALL=C od -An -v -tx1 | tr -s ' \n' ' ' |
            sed 's/ \([0-9a-f][0-9a-f]\)/\\x\1/g; s/^/"/; s/ *$/"/' >&2
        echo >&2
    done
    exit 1
fi
grep -E '^(stat::|Done )|#[0-9]+ *DONE' "$work/fuzz.log" || true
echo "run-fuzzer.sh: $(basename "$fuzzer"): no findings in ${seconds} s"
