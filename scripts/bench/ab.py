#!/usr/bin/env python3
"""ab.py ROUNDS "RUN ARGS" BINARY... - collbench builds against each other, interleaved.

Runs `BINARY run RUN ARGS` for every binary once per round (in the same order each round, each
run writing its own results directory), and prints per run and then as medians: the last row's
out-of-place and in-place busbw, the ranks' mean CPU-seconds per GB sent (from results.json;
absent in builds before it was recorded), the whole run's CPU (coordinator and nodes, user and
system) per GB sent by all ranks, and the CPU the hypervisor stole while it ran. For ring rows:
the bytes a rank sends per iteration are 2(p-1)/p x size.

  python3 scripts/bench/ab.py 6 "--np 4 -b 64M -e 64M -n 10 -w 2 --algo ring" /tmp/collbench-old target/release/collbench
"""
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile


def stolen():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[7], sum(v)


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    rounds, args, bins = int(sys.argv[1]), sys.argv[2].split(), sys.argv[3:]
    tmp = tempfile.mkdtemp(prefix="collbench-ab-")
    got = {b: [] for b in bins}
    try:
        for i in range(rounds):
            for n, b in enumerate(bins):
                out = os.path.join(tmp, f"{n}-{i}")
                s0, t0 = stolen()
                c0 = children_cpu()
                subprocess.run([b, "run", *args, "--out", out], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, check=True)
                c1 = children_cpu()
                s1, t1 = stolen()
                with open(os.path.join(out, "results.json")) as f:
                    v = json.load(f)
                c = v["config"]
                r = v["results"][-1]
                p = c["nranks"]
                iters = (c["warmup_iters"] + c["iters"] + (1 if c["check"] else 0)) * 2
                sent = sum(2 * (p - 1) / p * row["size"] * iters for row in v["results"])
                per_gb = [x["cpu_s_per_gb"] for x in r.get("rank_cpu", []) if x.get("cpu_s_per_gb")]
                sample = (r["bus_bw"], r["in_place"]["bus_bw"],
                          statistics.mean(per_gb) if per_gb else None,
                          (c1 - c0) / (sent / 1e9) if sent else None)
                got[b].append(sample)
                rank_cpu = f"{sample[2]:.3f}" if sample[2] is not None else "-"
                print(f"{b}: round {i + 1}: busbw {sample[0]:.3f}, in place {sample[1]:.3f}, rank "
                      f"CPU-s/GB {rank_cpu}, whole-run CPU-s/GB {sample[3]:.3f}, stolen "
                      f"{(s1 - s0) / max(1, t1 - t0):.1%}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for b in bins:
        col = lambda k: [s[k] for s in got[b] if s[k] is not None]
        med = lambda k: f"{statistics.median(col(k)):.3f}" if col(k) else "-"
        print(f"{b}: median busbw {med(0)} ({min(col(0)):.3f}-{max(col(0)):.3f}), in place {med(1)}, "
              f"rank CPU-s/GB {med(2)}, whole-run CPU-s/GB {med(3)}")


if __name__ == "__main__":
    main()
