#!/usr/bin/env bash
# The fault-injection suite on the emulated cluster (issue 7): each run SIGKILLs a node at a
# random moment, SIGSTOPs a node, takes a node's link down, or SIGKILLs the coordinator, and the
# suite counts hangs, invalid results files, leftovers and wrongly named culprits (goal: 0 each).
#
#   sudo scripts/faults/suite.sh                    # 50 runs, debug build
#   sudo scripts/faults/suite.sh --runs 5 --seed 42 # CI size, a repeatable sequence
#   sudo scripts/faults/suite.sh --release          # against a release build
#
# Needs root, ip, tc and bridge (iproute2). `cargo test` runs the same suite with 4 runs.
set -euo pipefail
cd "$(dirname "$0")/../.."

usage() {
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

runs=50
seed=""
profile=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="${2:?--runs needs a number}"; shift 2 ;;
    --seed) seed="${2:?--seed needs a number}"; shift 2 ;;
    --release) profile=(--release); shift ;;
    -h|--help) usage 0 ;;
    *) echo "suite.sh: unknown argument '$1'" >&2; usage 2 >&2 ;;
  esac
done
case "$runs" in ''|*[!0-9]*) echo "suite.sh: --runs: '$runs' is not a whole number" >&2; exit 2 ;; esac
case "$seed" in *[!0-9]*) echo "suite.sh: --seed: '$seed' is not a whole number" >&2; exit 2 ;; esac
if [ "$(id -u)" != 0 ]; then
  echo "suite.sh: needs root (it builds network namespaces); run it with sudo -E" >&2
  exit 2
fi

export COLLBENCH_FAULT_RUNS="$runs"
[ -n "$seed" ] && export COLLBENCH_FAULT_SEED="$seed"
exec cargo test "${profile[@]}" --locked -p coordinator --test fault_suite -- --nocapture
