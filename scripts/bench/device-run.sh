#!/usr/bin/env bash
# device-run.sh [DIR]
#
# On a measuring machine (DIR made by device-pack.sh): collbench's ring on 1, 2, 4 and 8 channels
# and on `auto`, Gloo's ring and PyTorch's gloo (when `import torch` works), loopback, p = 2, 4
# and 8, 16-256 MiB, interleaved in rounds with a rotating order. Every tool's output goes to
# $OUT (default ./device-out); summary.md there has per p and size the median busbw of each,
# collbench's best against the best peer, its scaling with channels, and its CPU-seconds per GB.
# ROUNDS (default 2), RANKS ("2 4 8"), CHANNELS ("1 2 4 8 auto"), ITERS ("-n 5 -w 2"), SIZES
# ("-b 16M -e 256M -f 4") and TORCH_SIZES (the same, in bytes) change it; EXTRA goes to every
# collbench run (for example EXTRA="--cpu-bind core").
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=$(cd "${1:-$HERE/../../.measure}" && pwd)
OUT=${OUT:-$PWD/device-out}
ROUNDS=${ROUNDS:-2}
RANKS=${RANKS:-2 4 8}
CHANNELS=${CHANNELS:-1 2 4 8 auto}
ITERS=${ITERS:--n 5 -w 2}
SIZES=${SIZES:--b 16M -e 256M -f 4}
TORCH_SIZES=${TORCH_SIZES:-16777216,67108864,268435456}
EXTRA=${EXTRA:-}
mkdir -p "$OUT"
nproc > "$OUT/nproc.txt"
torch=0
python3 -c 'import torch' 2>/dev/null && torch=1

run_collbench() { # p channels round
  "$DIR/collbench" run --np "$1" $SIZES $ITERS --channels "$2" $EXTRA \
    --out "$OUT/cb-p$1-c$2-r$3" --force > "$OUT/cb-p$1-c$2-r$3.txt" 2>&1
}
run_gloo() { # p round
  LD_LIBRARY_PATH="$DIR/gloo/lib" BUILD_DIR="$DIR/gloo" "$DIR/gloo/gloo_run.sh" "$1" -a ring \
    $SIZES -w 2 -n 5 > "$OUT/gloo-p$1-r$2.txt" 2>&1
}
run_torch() { # p round
  python3 "$DIR/torch_gloo.py" "$1" "$TORCH_SIZES" 2 5 > "$OUT/torch-p$1-r$2.txt" 2>&1
}

for ((r = 1; r <= ROUNDS; r++)); do
  for p in $RANKS; do
    tools=()
    for c in $CHANNELS; do tools+=("collbench $c"); done
    tools+=("gloo")
    [ "$torch" = 1 ] && tools+=("torch")
    n=${#tools[@]}
    for ((i = 0; i < n; i++)); do
      t=${tools[$(((i + r) % n))]}
      echo "round $r p=$p: $t" >&2
      case $t in
        collbench*) run_collbench "$p" "${t#collbench }" "$r" ;;
        gloo) run_gloo "$p" "$r" ;;
        torch) run_torch "$p" "$r" ;;
      esac
    done
  done
done
python3 "$HERE/device-summary.py" "$OUT" > "$OUT/summary.md"
cat "$OUT/summary.md"
