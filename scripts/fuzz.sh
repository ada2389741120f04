#!/usr/bin/env bash
# fuzz.sh - run every parser-of-untrusted-input fuzz target with many inputs (issue 7, item 5).
#
#   scripts/fuzz.sh [-n CASES] [TARGET...]
#
# The targets are the proptest fuzzers that `cargo test` runs with a few thousand cases each:
#   wire/tests/fuzz_decoders.rs         frame_header framed_messages control_from_node
#                                       control_from_coordinator histogram
#   coordinator/tests/fuzz_inputs.rs    results_typed results_model_load histogram_samples
#                                       topology_files hostfiles
#   scale-model/tests/fuzz_scenarios.rs scenario_files
# Here they run in release mode with CASES inputs each (default 1,000,000; COLLBENCH_FUZZ_CASES
# is how the tests read it) and a fresh random seed, one after the other, and the script prints
# one line per target: inputs tried, panics (must be 0), errors returned, inputs accepted and the
# largest single allocation seen during one parse. A target fails (and the script exits 1) on
# any panic, unclear error or allocation beyond its stated bound; the first offending inputs are
# printed.
set -euo pipefail

cases=1000000
if [[ "${1:-}" == "-n" ]]; then
    cases="$2"
    shift 2
fi

declare -A file_of=(
    [frame_header]="wire fuzz_decoders"
    [framed_messages]="wire fuzz_decoders"
    [control_from_node]="wire fuzz_decoders"
    [control_from_coordinator]="wire fuzz_decoders"
    [histogram]="wire fuzz_decoders"
    [results_typed]="coordinator fuzz_inputs"
    [results_model_load]="coordinator fuzz_inputs"
    [histogram_samples]="coordinator fuzz_inputs"
    [topology_files]="coordinator fuzz_inputs"
    [hostfiles]="coordinator fuzz_inputs"
    [scenario_files]="scale-model fuzz_scenarios"
)
order=(frame_header framed_messages control_from_node control_from_coordinator histogram
    results_typed results_model_load histogram_samples topology_files hostfiles scenario_files)
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${order[@]}")
for t in "${targets[@]}"; do
    [[ -n "${file_of[$t]:-}" ]] || { echo "fuzz.sh: unknown target '$t' (one of: ${order[*]})" >&2; exit 2; }
done

cd "$(dirname "$0")/.."
echo "fuzz.sh: building the fuzz targets (release)" >&2
declare -A exe_of
for pf in wire:fuzz_decoders coordinator:fuzz_inputs scale-model:fuzz_scenarios; do
    f=${pf#*:}
    exe_of[$f]=$(cargo test --release -p "${pf%%:*}" --test "$f" --no-run \
        --message-format=json 2>/dev/null | grep -o '"executable":"[^"]*/deps/[^"]*"' | cut -d'"' -f4)
    [[ -x "${exe_of[$f]}" ]] || { echo "fuzz.sh: could not build $f" >&2; exit 2; }
done

status=0
printf '%-26s %10s %7s %10s %10s %12s %8s\n' target inputs panics errors accepted max-alloc seconds
for t in "${targets[@]}"; do
    read -r _ file <<<"${file_of[$t]}"
    start=$(date +%s)
    log=$(mktemp)
    # The test binary directly (not through cargo, which would hold the build lock).
    if COLLBENCH_FUZZ_CASES="$cases" "${exe_of[$file]}" --exact "fuzz_$t" --nocapture \
        --test-threads 1 >"$log" 2>&1; then ok=1; else ok=0; fi
    secs=$(( $(date +%s) - start ))
    line=$(grep -o "fuzz target $t:.*" "$log" || true)
    if [[ -n "$line" ]]; then
        # fuzz target T: inputs N panics P errors E accepted A largest-allocation B
        read -r _ _ _ _ n _ p _ e _ a _ b <<<"$line"
        printf '%-26s %10s %7s %10s %10s %12s %8s\n' "$t" "$n" "$p" "$e" "$a" "$b" "$secs"
    else
        printf '%-26s %s\n' "$t" "no result line"
    fi
    if [[ $ok -ne 1 ]]; then
        status=1
        echo "--- $t FAILED:" >&2
        grep -v "^   " "$log" | tail -30 >&2
    fi
    rm -f "$log"
done
exit $status
