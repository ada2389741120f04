#!/usr/bin/env python3
"""device-summary.py OUT - the tables of a device-run.sh run (medians over its rounds).

Per rank count: each size's busbw of collbench on every channel count it ran (and its CPU-seconds
per GB sent and busy cores, means over ranks), Gloo's ring and PyTorch's gloo, and collbench's
best over the peers' best; then collbench's scaling with channels against one channel.
"""
import glob
import json
import os
import re
import statistics
import sys

PEER_ROW = re.compile(r"^\s+(\d+)\s+\d+\s+float\s+sum\s+([\d.]+)\s+[\d.]+\s+([\d.]+)\s+(\S+)\s*$")
TORCH_ROW = re.compile(r"^\s+(\d+)\s+([\d.]+)\s+[\d.]+\s+([\d.]+)\s*$")


def table(path, pattern):
    rows = {}
    try:
        text = open(path).read()
    except OSError:
        return rows
    for line in text.splitlines():
        m = pattern.match(line)
        if m and (pattern is TORCH_ROW or m.group(4) in ("0", "N/A")):
            rows[int(m.group(1))] = float(m.group(3))
    return rows


def collbench(path):
    """{size: (busbw, CPU-s per GB, busy cores, channels used)} from a results.json."""
    try:
        doc = json.load(open(os.path.join(path, "results.json")))
    except (OSError, ValueError):
        return {}
    rows = {}
    for r in doc.get("results", []):
        if r.get("nwrong") not in (0, None):
            continue
        cpu = r.get("rank_cpu") or []
        per_gb = [c["cpu_s_per_gb"] for c in cpu if c.get("cpu_s_per_gb")]
        busy = [c["busy_cores"] for c in cpu]
        rows[r["size"]] = (r["bus_bw"], statistics.mean(per_gb) if per_gb else None,
                           statistics.mean(busy) if busy else None, r.get("channels"))
    return rows


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, digits=3):
    return "-" if v is None else f"{v:.{digits}f}"


def size_name(b):
    return f"{b >> 20} MiB" if b >= 1 << 20 else f"{b} B"


def main():
    out = sys.argv[1]
    ranks = sorted({int(m.group(1)) for f in os.listdir(out) for m in [re.match(r"(?:cb|gloo|torch)-p(\d+)", f)] if m})
    print(f"# device run: {open(os.path.join(out, 'nproc.txt')).read().strip()} CPUs\n")
    for p in ranks:
        chans = sorted({re.match(r".*-c(\w+)-r\d+$", d).group(1) for d in glob.glob(f"{out}/cb-p{p}-c*-r*")
                        if os.path.isdir(d)}, key=lambda c: (c == "auto", int(c) if c.isdigit() else 0))
        cb = {c: [collbench(d) for d in glob.glob(f"{out}/cb-p{p}-c{c}-r*") if os.path.isdir(d)] for c in chans}
        gloo = [table(f, PEER_ROW) for f in glob.glob(f"{out}/gloo-p{p}-r*.txt")]
        torch = [table(f, TORCH_ROW) for f in glob.glob(f"{out}/torch-p{p}-r*.txt")]
        sizes = sorted(set().union(*[s.keys() for runs in cb.values() for s in runs], *gloo, *torch))
        print(f"## p = {p}\n")
        head = " | ".join(f"c={c} busbw" for c in chans)
        print(f"| size | {head} | Gloo ring | PyTorch gloo | best collbench / best peer |")
        print("|---|" + "---|" * (len(chans) + 3))
        for s in sizes:
            bw = {c: med(r[s][0] for r in cb[c] if s in r) for c in chans}
            peers = [med(t.get(s) for t in gloo), med(t.get(s) for t in torch)]
            best_cb = max((v for v in bw.values() if v), default=None)
            best_peer = max((v for v in peers if v), default=None)
            ratio = best_cb / best_peer if best_cb and best_peer else None
            print(f"| {size_name(s)} | " + " | ".join(fmt(bw[c]) for c in chans)
                  + f" | {fmt(peers[0])} | {fmt(peers[1])} | {fmt(ratio, 2)} |")
        print("\n| size | channels | busbw x one channel | CPU-s per GB | busy cores | channels used |")
        print("|---|---|---|---|---|---|")
        for s in sizes:
            one = med(r[s][0] for r in cb.get("1", []) if s in r)
            for c in chans:
                runs = [r[s] for r in cb[c] if s in r]
                if not runs:
                    continue
                bw = med(x[0] for x in runs)
                scale = bw / one if bw and one else None
                print(f"| {size_name(s)} | {c} | {fmt(scale, 2)} | {fmt(med(x[1] for x in runs), 2)} | "
                      f"{fmt(med(x[2] for x in runs), 2)} | {runs[0][3]} |")
        print()


if __name__ == "__main__":
    main()
