#!/usr/bin/env bash
# Measures the emulated lab that `collbench model validate` checks the scale model on: a network
# namespace per node, every link shaped to RATE both ways, at each rank count, in two sweeps.
#
#   sudo scripts/bench/model-lab.sh OUT [RATE=100mbit] [RANKS="2 3 4 6 8"] [ALGOS=ring,rhd,rd,tree]
#   collbench model validate OUT --fit-max-ranks 4
#
# EXTRA adds flags to every run, SMALL and LARGE replace the two sweeps' sizes and iterations;
# the noise lab, for example:
#   sudo EXTRA="--fault jitter:exp:200us" SMALL="-b 1K -e 16K -n 60 -w 20" \
#     scripts/bench/model-lab.sh OUT 500mbit
#   collbench model validate OUT --fit-max-ranks 4 --lab-noise exp:200us
#
# Why two sweeps: tc's token bucket (64 KiB here) lets a burst through at memory speed once the
# link has been idle, and a few back-to-back iterations of a small message never drain it, so
# they would measure the bucket instead of the link. The latency-bound sizes (1K..16K) therefore
# run 100 warm-up iterations, which drain it, and 200 timed ones; the bandwidth-bound sizes
# (32K..2M) drain it within their first iteration and run 10. `validate` fits one model on both.
set -euo pipefail
out=${1:?usage: model-lab.sh OUT [RATE] [RANKS] [ALGOS]}
rate=${2:-100mbit}
ranks=${3:-"2 3 4 6 8"}
algos=${4:-ring,rhd,rd,tree}
bin=${COLLBENCH:-target/release/collbench}
[ -x "$bin" ] || { echo "build first: cargo build --release (or set COLLBENCH)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "the netns launcher needs root" >&2; exit 1; }
sweep() { # NAME SIZES... ITERATIONS...
  local name=$1; shift
  for n in $ranks; do
    echo "model-lab: $name sweep, $n ranks" >&2
    # shellcheck disable=SC2086 # EXTRA is a list of flags
    "$bin" run --launcher netns --np "$n" --link-rate "$rate" --algo "$algos" "$@" ${EXTRA:-} \
      --out "$out/$name/n$n" --force > "$out/$name-n$n.log" 2>&1 ||
      { echo "model-lab: $name sweep at $n ranks failed; see $out/$name-n$n.log" >&2; exit 1; }
  done
}
mkdir -p "$out"
# shellcheck disable=SC2086 # each is a list of flags
sweep small ${SMALL:--b 1K -e 16K -n 200 -w 100}
# shellcheck disable=SC2086
sweep large ${LARGE:--b 32K -e 2M -n 10 -w 3}
echo "model-lab: done; next: $bin model validate $out --fit-max-ranks 4" >&2
