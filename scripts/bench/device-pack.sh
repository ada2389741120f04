#!/usr/bin/env bash
# device-pack.sh [DIR]
#
# Prepares DIR (default .measure, which .git/info/exclude must ignore; never commit it) for a
# measuring machine that has no Rust, no package manager and no network: the stripped release
# collbench, the Gloo peer (../shared/peers/device_pack.sh), PyTorch's gloo peer
# (../shared/peers/torch_gloo.py) and the run script. Take DIR along with the checkout and run
# there:  bash scripts/bench/device-run.sh DIR   (results and a summary under $OUT).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR=${1:-$ROOT/.measure}
PEERS=${PEERS:-$ROOT/../shared/peers}
cd "$ROOT"
grep -qx '/.measure/' .git/info/exclude 2>/dev/null || echo '/.measure/' >> .git/info/exclude
cargo build --release -q
mkdir -p "$DIR"
cp target/release/collbench "$DIR/collbench"
strip "$DIR/collbench"
[ -x "${BUILD_DIR:-/tmp/peers_build}/gloo_allreduce" ] || bash "$PEERS/build.sh"
bash "$PEERS/device_pack.sh" "$DIR/gloo"
cp "$PEERS/torch_gloo.py" "$DIR/"
du -sh "$DIR"
