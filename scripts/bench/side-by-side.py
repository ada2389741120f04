#!/usr/bin/env python3
"""side-by-side.py - collbench against Gloo and Open MPI, interleaved, in one run.

Runs collbench's ring all-reduce and the peers of ../shared/peers (Gloo ring over TCP, Open MPI
over TCP) on the same sizes and rank counts, round-robin (each round runs every tool once, in a
rotating order, so drift on a noisy machine hits all of them alike), and prints per size the
median busbw of each and collbench's ratio to the best peer:

  loopback, p = 4 and 8, float sum, 1 KiB .. 64 MiB;
  the emulated cluster (root): p = 4 (--netns-ranks), 500 Mbit/s links, MTU 9000 - collbench's netns launcher,
  and the peers on the same fabric built by scripts/netns-fabric.sh;
  1 KiB at p = 4: collbench's fastest algorithm against Open MPI;
  peak RSS of the largest collbench process against 2 x the largest buffer + 64 MiB;
  the channel sweep (--channel-sweep, or --channels-only): collbench's ring on 1, 2, 4 and 8
  channels at p = 2 and 4, 16 MiB .. 256 MiB, with the scaling against one channel, the cores
  each rank kept busy and its CPU-seconds per GB sent (polling left out), beside the peers.

collbench's columns carry its CPU-seconds per GB sent (mean over ranks), comparable with
`transport_floor`'s CPU per GB moved: what its own work adds to the transport's. PyTorch's gloo
(../shared/peers/torch_gloo.py) joins the peers where `import torch` works.

Under the loopback and emulated tables, every run's busbw at 64 MiB with the machine's busy and
stolen CPU while it ran; rounds in which the hypervisor took more than 5% are flagged.

Usage: scripts/bench/side-by-side.py [--rounds 3] [--ranks 4,8] [--skip-netns | --netns-only |
       --small-only | --channels-only] [--channel-sweep] [--netns-ranks 4,8] [--out FILE]
Needs: openmpi-bin libopenmpi-dev libgloo-dev (the peers are built with their build.sh when
missing), a release build of collbench (built when missing), root for the netns part.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FABRIC = os.path.join(ROOT, "scripts", "netns-fabric.sh")
AGENT = os.path.join(ROOT, "scripts", "bench", "netns-rsh-agent.sh")
# Peers' rows: size count type redop time_us algbw busbw #wrong
PEER_ROW = re.compile(r"^\s+(\d+)\s+\d+\s+float\s+sum\s+([\d.]+)\s+[\d.]+\s+([\d.]+)\s+(\S+)\s*$")
SIZES = "-b 1K -e 64M -f 4".split()
NETNS_SIZES = "-b 1M -e 64M -f 4".split()


def log(msg):
    print(f"[side-by-side] {msg}", file=sys.stderr, flush=True)


def run(cmd, timeout=900, env=None):
    """Runs cmd; returns stdout. A failure is reported and returns None (the other tools go on)."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        log(f"timed out: {' '.join(cmd)}")
        return None
    if p.returncode != 0:
        log(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}")
        return None
    return p.stdout


def peer_table(text):
    """{size: (time_us, busbw GB/s)} from a peer's table; wrong results are refused."""
    rows = {}
    for line in (text or "").splitlines():
        m = PEER_ROW.match(line)
        if m:
            if m.group(4) not in ("0", "N/A"):
                log(f"peer reported {m.group(4)} wrong elements at {m.group(1)} bytes")
                continue
            rows[int(m.group(1))] = (float(m.group(2)), float(m.group(3)))
    return rows


def collbench_table(out_dir, algorithm="ring"):
    """{size: (time_us, busbw GB/s, CPU-s per GB, busy cores)} of out-of-place rows from
    results.json; the CPU numbers are means over ranks (None in files without them)."""
    with open(os.path.join(out_dir, "results.json")) as f:
        doc = json.load(f)
    rows = {}
    for r in doc["results"]:
        if r["algorithm"] == algorithm and r.get("nwrong") in (0, None):
            cpu = r.get("rank_cpu") or []
            per_gb = [c["cpu_s_per_gb"] for c in cpu if c.get("cpu_s_per_gb")]
            busy = [c["busy_cores"] for c in cpu]
            rows[r["size"]] = (r["time"], r["bus_bw"],
                               statistics.mean(per_gb) if per_gb else None,
                               statistics.mean(busy) if busy else None)
    return rows


TORCH_ROW = re.compile(r"^\s+(\d+)\s+([\d.]+)\s+[\d.]+\s+([\d.]+)\s*$")


def torch_table(text):
    """{size: (time_us, busbw GB/s)} from torch_gloo.py's table."""
    rows = {}
    for line in (text or "").splitlines():
        m = TORCH_ROW.match(line)
        if m:
            rows[int(m.group(1))] = (float(m.group(2)), float(m.group(3)))
    return rows


def have_torch():
    return subprocess.run([sys.executable, "-c", "import torch"], capture_output=True).returncode == 0


class Tools:
    def __init__(self, args):
        self.collbench = args.collbench
        self.build = args.build_dir
        self.peers = args.peers
        self.tmp = tempfile.mkdtemp(prefix="side-by-side-")

    def torch(self, n, sizes):
        script = os.path.join(self.peers, "torch_gloo.py")
        return torch_table(run([sys.executable, script, str(n), ",".join(str(s) for s in sizes), "3", "10"]))

    def collbench_run(self, n, extra, algorithm="ring", sizes=SIZES, iters=("-n", "10", "-w", "3")):
        out = os.path.join(self.tmp, "cb")
        cmd = [self.collbench, "run", "--np", str(n), *sizes, *iters, "--out", out, "--force", *extra]
        if run(cmd) is None:
            return {}
        return collbench_table(out, algorithm)

    def gloo(self, n, sizes=SIZES):
        return peer_table(run([os.path.join(self.peers, "gloo_run.sh"), str(n), "-a", "ring", *sizes],
                              env={**os.environ, "BUILD_DIR": self.build}))

    def mpi(self, n, sizes=SIZES):
        return peer_table(run(["mpirun", "--allow-run-as-root", "--oversubscribe", "-np", str(n),
                               "--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", "lo",
                               os.path.join(self.build, "mpi_allreduce"), *sizes]))


def medians(samples):
    """{size: (median time, median busbw, ...)} over rounds, each column on its own (None where
    a tool has no such column)."""
    out = {}
    sizes = set().union(*[s.keys() for s in samples]) if samples else set()
    for size in sizes:
        vals = [s[size] for s in samples if size in s]
        cols = []
        for i in range(max(len(v) for v in vals)):
            col = [v[i] for v in vals if len(v) > i and v[i] is not None]
            cols.append(statistics.median(col) if col else None)
        out[size] = tuple(cols)
    return out


def cpu_times():
    """The machine's CPU time so far, in ticks, from /proc/stat: (busy, idle, steal)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
    idle = v[3] + v[4]
    steal = v[7] if len(v) > 7 else 0
    return sum(v[:8]) - idle - steal, idle, steal


def interleave(rounds, tools, detail):
    """Runs every (name, fn) once per round in rotating order; {name: medians}. Appends
    (round, name, sample, cpu) per run to the list `detail`, cpu being the machine's busy and
    stolen shares while it ran: a hypervisor's steal or someone else's work shows there."""
    got = {name: [] for name, _ in tools}
    for r in range(rounds):
        order = tools[r % len(tools):] + tools[:r % len(tools)]
        for name, fn in order:
            log(f"round {r + 1}/{rounds}: {name}")
            before = cpu_times()
            sample = fn()
            after = cpu_times()
            d = [a - b for a, b in zip(after, before)]
            total = max(sum(d), 1)
            got[name].append(sample)
            detail.append((r + 1, name, sample, (d[0] / total, d[2] / total)))
    return {name: medians(s) for name, s in got.items()}


# Stolen CPU share above which a run's numbers are flagged as disturbed.
STEAL_WARN = 0.05


def rounds_table(detail, size, link_gbs=None):
    """Per run: busbw at `size` against the link, and the machine's CPU while it ran."""
    lines = ["", f"Each run at {size_name(size)} (the machine's CPU over the whole run, all sizes: busy, "
             "and stolen by the hypervisor, of both cores):", "",
             "| round | tool | busbw GB/s |" + (" of the link |" if link_gbs else "") + " CPU busy | CPU stolen |",
             "|---|---|---|" + ("---|" if link_gbs else "") + "---|---|"]
    for r, name, sample, (busy, steal) in detail:
        bw = sample.get(size, (None, None))[1] if sample else None
        cells = f"{bw:.4f}" if bw else "-"
        if link_gbs:
            cells += f" | {bw / link_gbs:.1%}" if bw else " | -"
        lines.append(f"| {r} | {name} | {cells} | {busy:.0%} | {steal:.0%} |")
    stolen = sorted({r for r, _, _, (_, steal) in detail if steal > STEAL_WARN})
    if stolen:
        lines += ["", f"**Round(s) {', '.join(map(str, stolen))}: the hypervisor took more than "
                  f"{STEAL_WARN:.0%} of the CPU during a run; those numbers measure the host as much as "
                  "the tools. Run again on a quiet machine.**"]
    return "\n".join(lines) + "\n"


def size_name(b):
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if b >= 1 << shift and b % (1 << shift) == 0:
            return f"{b >> shift} {unit}"
    return f"{b} B"


def busbw_table(title, results, link_gbs=None):
    names = list(results)
    peers = [n for n in names if n != "collbench"]
    sizes = sorted(set().union(*[results[n].keys() for n in names]))
    lines = [f"### {title}", "", "| size | " + " | ".join(f"{n} busbw GB/s" for n in names)
             + " | collbench / best peer |" + (" collbench / link |" if link_gbs else "")
             + " collbench CPU-s/GB | collbench busy cores |",
             "|---|" + "---|" * (len(names) + 3 + (1 if link_gbs else 0))]
    for s in sizes:
        cells = [f"{results[n][s][1]:.4f}" if s in results[n] else "-" for n in names]
        best = max((results[p][s][1] for p in peers if s in results[p]), default=None)
        cb = results["collbench"].get(s)
        ratio = f"{cb[1] / best:.2f}" if cb and best else "-"
        link = f" {cb[1] / link_gbs:.1%} |" if link_gbs and cb else (" - |" if link_gbs else "")
        cpu = fmt_cpu(cb)
        lines.append(f"| {size_name(s)} | " + " | ".join(cells) + f" | {ratio} |" + link + cpu)
    return "\n".join(lines) + "\n"


def fmt_cpu(cb):
    """collbench's CPU-s per GB and busy cores cells (from collbench_table's columns)."""
    per_gb = cb[2] if cb and len(cb) > 2 else None
    busy = cb[3] if cb and len(cb) > 3 else None
    return (f" {per_gb:.2f} |" if per_gb is not None else " - |") + \
        (f" {busy:.2f} |" if busy is not None else " - |")


CHANNEL_COUNTS = (1, 2, 4, 8)
CHANNEL_RANKS = (2, 4)
CHANNEL_SIZES = "-b 16M -e 256M -f 4".split()


def channel_sweep(args, tools):
    """collbench's ring on 1, 2, 4 and 8 channels at p = 2 and 4, 16-256 MiB, interleaved with the
    peers at the same sizes; per size busbw, scaling against one channel, CPU-s/GB, busy cores."""
    sections = []
    sizes = [16 << 20, 64 << 20, 256 << 20]
    torch_ok = have_torch()
    for n in CHANNEL_RANKS:
        tools_list = [(f"collbench c={c}",
                       (lambda c=c: tools.collbench_run(n, ["--channels", str(c)], sizes=CHANNEL_SIZES,
                                                        iters=("-n", "5", "-w", "2"))))
                      for c in CHANNEL_COUNTS]
        tools_list.append(("gloo", lambda: tools.gloo(n, CHANNEL_SIZES)))
        if torch_ok:
            tools_list.append(("torch-gloo", lambda: tools.torch(n, sizes)))
        detail = []
        res = interleave(args.rounds, tools_list, detail)
        lines = [f"### Channel sweep, loopback, p = {n}, ring", "",
                 "| size | channels | busbw GB/s | x one channel | CPU-s/GB | busy cores |",
                 "|---|---|---|---|---|---|"]
        for s in sizes:
            one = res["collbench c=1"].get(s)
            for c in CHANNEL_COUNTS:
                cb = res[f"collbench c={c}"].get(s)
                if not cb:
                    continue
                scale = f"{cb[1] / one[1]:.2f}" if one else "-"
                lines.append(f"| {size_name(s)} | {c} | {cb[1]:.3f} | {scale} |" + fmt_cpu(cb))
        peers = [name for name, _ in tools_list if not name.startswith("collbench")]
        lines += ["", "| size | " + " | ".join(f"{p} busbw GB/s" for p in peers)
                  + " | best collbench / best peer |", "|---|" + "---|" * (len(peers) + 1)]
        for s in sizes:
            cells = [f"{res[p][s][1]:.3f}" if s in res[p] else "-" for p in peers]
            best_peer = max((res[p][s][1] for p in peers if s in res[p]), default=None)
            best_cb = max((res[f"collbench c={c}"][s][1] for c in CHANNEL_COUNTS
                           if s in res[f"collbench c={c}"]), default=None)
            ratio = f"{best_cb / best_peer:.2f}" if best_cb and best_peer else "-"
            lines.append(f"| {size_name(s)} | " + " | ".join(cells) + f" | {ratio} |")
        sections.append("\n".join(lines) + "\n" + rounds_table(detail, 64 << 20))
    return sections


def loopback(args, tools):
    sections = []
    for n in args.ranks:
        detail = []
        res = interleave(args.rounds, [("collbench", lambda: tools.collbench_run(n, [])),
                                       ("gloo", lambda: tools.gloo(n)),
                                       ("mpi-tcp", lambda: tools.mpi(n))], detail)
        sections.append(busbw_table(f"Loopback, p = {n}, ring (MPI: its own choice)", res)
                        + rounds_table(detail, 64 << 20))
    return sections


def small_message(args, tools):
    """1 KiB at p = 4: collbench's fastest algorithm (median over rounds) against Open MPI.

    Both run the same back-to-back loop, 2000 timed iterations after 100 warm-up ones (about
    0.1-0.2 s): Open MPI's default 20 (as in the sweep) and collbench's earlier 200 were short
    enough that one scheduling hiccup on a 2-core VM moved the mean by half."""
    algos = ["ring", "tree", "dbtree", "rhd", "rd"]
    one_k = ("-b", "1K", "-e", "1K")
    iters = ("-n", "2000", "-w", "100")
    samples = {a: [] for a in algos}
    mpi = []
    for r in range(args.rounds):
        log(f"round {r + 1}/{args.rounds}: 1 KiB")
        out = os.path.join(tools.tmp, "cb1k")
        if run([tools.collbench, "run", "--np", "4", *one_k, *iters, "--algo", ",".join(algos),
                "--out", out, "--force"]) is not None:
            for a in algos:
                t = collbench_table(out, a).get(1024)
                if t:
                    samples[a].append(t[0])
        m = tools.mpi(4, [*one_k, *iters]).get(1024)
        if m:
            mpi.append(m[0])
    med = {a: statistics.median(v) for a, v in samples.items() if v}
    if not med or not mpi:
        return "### 1 KiB at p = 4\n\nno result (see the log above)\n"
    best = min(med, key=med.get)
    mpi_t = statistics.median(mpi)
    rows = "\n".join(f"| collbench {a} | {t:.1f} |" for a, t in sorted(med.items(), key=lambda x: x[1]))
    return (f"### 1 KiB at p = 4 (median of {args.rounds} rounds)\n\n| tool | time us |\n|---|---|\n"
            f"{rows}\n| Open MPI tcp | {mpi_t:.1f} |\n\n"
            f"best collbench ({best}) / Open MPI = {med[best] / mpi_t:.2f} (goal <= 2)\n")


def peak_rss(tools):
    """Peak RSS (GNU time %M: the largest of collbench and its nodes) of a loopback 64 MiB run."""
    out = os.path.join(tools.tmp, "rss")
    p = subprocess.run(["/usr/bin/time", "-f", "%M", tools.collbench, "run", "--np", "4", "-b", "64M",
                        "-e", "64M", "-n", "5", "-w", "1", "--out", out, "--force"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return "### Peak RSS\n\nrun failed\n"
    kib = int(p.stderr.strip().splitlines()[-1])
    bound = 2 * 64 + 64
    return (f"### Peak RSS (loopback, p = 4, 64 MiB)\n\nlargest process: {kib / 1024:.0f} MiB; "
            f"bound 2 x 64 MiB + 64 MiB = {bound} MiB; ratio {kib / 1024 / bound:.2f} (goal <= 1)\n")


def netns(args, tools, n):
    """p = n, shaped links: collbench's netns launcher; the peers on netns-fabric.sh's fabric."""
    rate = args.rate
    link_gbs = parse_rate(rate) / 8e9
    name = "sbs"
    ip = lambda r: f"10.77.0.{r + 2}"
    peer_sizes = [*NETNS_SIZES, "-n", "5", "-w", "2", "-T", "4M", "-W", "1", "-N", "2"]

    def gloo():
        store = tempfile.mkdtemp(dir=tools.tmp)
        procs = []
        for r in reversed(range(n)):
            procs.append(subprocess.Popen(
                [FABRIC, "exec", str(r), "-N", name, "--", os.path.join(tools.build, "gloo_allreduce"),
                 "-r", str(r), "-s", str(n), "-p", f"sbs{os.getpid()}", "-d", store, "-H", ip(r),
                 "-a", "ring", *peer_sizes], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True))
        outs = [p.communicate(timeout=900)[0] for p in procs]
        return peer_table(outs[-1]) if all(p.returncode == 0 for p in procs) else {}

    def mpi():
        with open(os.path.join(tools.tmp, "hostfile"), "w") as f:
            f.writelines(f"{ip(r)} slots=1\n" for r in range(n))
        return peer_table(run([FABRIC, "exec", "0", "-N", name, "--", "mpirun", "--allow-run-as-root",
                               "-np", str(n), "--hostfile", f.name, "--map-by", "node",
                               "--mca", "plm_rsh_agent", AGENT, "--mca", "plm_rsh_no_tree_spawn", "1",
                               "--mca", "oob_tcp_if_include", "10.77.0.0/16",
                               "--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", "10.77.0.0/16",
                               "--mca", "mpi_yield_when_idle", "1",
                               os.path.join(tools.build, "mpi_allreduce"), *peer_sizes],
                              env={**os.environ, "CBF_NAME": name}))

    cb = lambda: tools.collbench_run(n, ["--launcher", "netns", "--link-rate", rate], sizes=NETNS_SIZES,
                                     iters=("-n", "5", "-w", "2"))
    if run([FABRIC, "up", "-n", str(n), "-r", rate, "-N", name]) is None:
        return "### Emulated cluster\n\ncould not build the fabric\n"
    detail = []
    try:
        res = interleave(args.rounds, [("collbench", cb), ("gloo", gloo), ("mpi-tcp", mpi)], detail)
    finally:
        run([FABRIC, "down", "-N", name])
    return (busbw_table(f"Emulated cluster, p = {n}, {rate} links both ways, MTU 9000", res, link_gbs)
            + rounds_table(detail, 64 << 20, link_gbs))


def parse_rate(r):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(k|m|g)bit", r.lower())
    if not m:
        sys.exit(f"--rate {r}: expected a tc rate like 500mbit")
    return float(m.group(1)) * {"k": 1e3, "m": 1e6, "g": 1e9}[m.group(2)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds per setting (median)")
    ap.add_argument("--ranks", default="4,8", help="loopback rank counts")
    ap.add_argument("--rate", default="500mbit", help="emulated cluster link rate")
    ap.add_argument("--skip-netns", action="store_true", help="loopback only (no root needed)")
    ap.add_argument("--netns-ranks", default="4", help="emulated cluster rank counts")
    ap.add_argument("--netns-only", action="store_true", help="the emulated cluster only")
    ap.add_argument("--small-only", action="store_true", help="the 1 KiB comparison only")
    ap.add_argument("--channel-sweep", action="store_true",
                    help="add the channel sweep (1, 2, 4, 8 channels at p = 2 and 4, 16-256 MiB)")
    ap.add_argument("--channels-only", action="store_true", help="the channel sweep only")
    ap.add_argument("--peers", default=os.path.join(ROOT, "..", "shared", "peers"))
    ap.add_argument("--build-dir", default="/tmp/peers_build", help="where the peers' binaries are")
    ap.add_argument("--collbench", default=os.path.join(ROOT, "target", "release", "collbench"))
    ap.add_argument("--out", help="also write the tables to this Markdown file")
    args = ap.parse_args()
    args.ranks = [int(x) for x in args.ranks.split(",")]
    args.netns_ranks = [int(x) for x in args.netns_ranks.split(",")]
    if args.rounds < 1:
        sys.exit("--rounds must be at least 1")
    for tool in ("mpirun",):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found: apt-get install openmpi-bin libopenmpi-dev libgloo-dev")
    if not os.path.exists(os.path.join(args.build_dir, "gloo_allreduce")):
        log("building the peers")
        if run([os.path.join(args.peers, "build.sh")], env={**os.environ, "BUILD_DIR": args.build_dir}) is None:
            sys.exit("building the peers failed")
    if args.collbench == os.path.join(ROOT, "target", "release", "collbench"):
        log("cargo build --release")
        subprocess.run(["cargo", "build", "--release", "-q"], cwd=ROOT, check=True)
    if args.channels_only:
        args.skip_netns = True
    if not args.skip_netns and not args.small_only and os.geteuid() != 0:
        sys.exit("the emulated cluster needs root (or pass --skip-netns)")

    tools = Tools(args)
    try:
        head = subprocess.run(["git", "-C", ROOT, "log", "-1", "--format=%h %cs"], capture_output=True,
                              text=True).stdout.strip()
        parts = [f"## collbench side by side ({head}; {args.rounds} interleaved rounds, medians)\n"]
        if args.channels_only:
            parts += channel_sweep(args, tools)
        elif args.small_only:
            parts.append(small_message(args, tools))
        elif not args.netns_only:
            parts += loopback(args, tools)
            parts.append(small_message(args, tools))
            parts.append(peak_rss(tools))
            if args.channel_sweep:
                parts += channel_sweep(args, tools)
        if not args.skip_netns and not args.small_only:
            parts += [netns(args, tools, n) for n in args.netns_ranks]
        text = "\n".join(parts)
        print(text)
        if args.out:
            with open(args.out, "w") as f:
                f.write(text)
    finally:
        shutil.rmtree(tools.tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
