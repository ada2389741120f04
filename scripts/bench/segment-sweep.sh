#!/usr/bin/env bash
# Measures the pipelined algorithms (tree, dbtree) at several segment sizes in one go and prints
# the mean out-of-place busbw of each segment size over the large messages, side by side.
# This is how the default of --segment was chosen (see README, "Segment size").
#
#   scripts/bench/segment-sweep.sh [RANKS=4] [SEGMENTS="64K 256K 1M 4M"] [MIN=4M] [MAX=32M]
set -euo pipefail
ranks=${1:-4}
segments=${2:-"64K 256K 1M 4M"}
min=${3:-4M}
max=${4:-32M}
bin=${COLLBENCH:-target/release/collbench}
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '%-8s %-8s %s\n' segment algo "mean busbw GB/s over $min..$max (p=$ranks)"
# Rounds interleave the segment sizes so drift on a noisy machine hits all of them alike.
for round in 1 2; do
  for seg in $segments; do
    "$bin" run --np "$ranks" --algo tree,dbtree -b "$min" -e "$max" -n 5 -w 2 --segment "$seg" \
      --out "$out/$seg-$round" >/dev/null 2>&1
  done
done
for seg in $segments; do
  python3 - "$out" "$seg" <<'PY'
import json, sys, glob, statistics
out, seg = sys.argv[1], sys.argv[2]
by = {}
for f in glob.glob(f"{out}/{seg}-*/results.json"):
    for r in json.load(open(f))["results"]:
        by.setdefault(r["algorithm"], []).append(r["bus_bw"])
for algo, v in sorted(by.items()):
    print(f"{seg:<8} {algo:<8} {statistics.mean(v):.4f}")
PY
done
