//! The emulated cluster (`--launcher netns`): real namespaces, veths, bridges and tbf shapers.
//!
//! These tests need root, as CI has; without it they fail with a message saying so (they are
//! never skipped). Each builds its own fabric under a fresh run id and checks that nothing of it
//! remains afterwards. They run one at a time, so that measurements do not share the CPUs.

#![allow(clippy::unwrap_used, clippy::zombie_processes)] // a panic in a test is a failing test

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::*;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Root and iproute2, or one line saying why the test did not run.
fn runnable() -> bool {
    common::runnable("netns tests", &netns_missing())
}

fn netns_run(args: &[&str], out: &Path) -> Output {
    collbench()
        .args(["run", "--launcher", "netns"])
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .expect("collbench runs")
}

fn namespaces() -> BTreeSet<String> {
    let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

fn namespaces_of(run_id: &str) -> Vec<String> {
    let prefix = format!("cb-{run_id}-");
    namespaces()
        .into_iter()
        .filter(|n| n.starts_with(&prefix))
        .collect()
}

/// Interface names in the root namespace.
fn root_links() -> BTreeSet<String> {
    let out = Command::new("ip").args(["-o", "link"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split(':').nth(1))
        .map(|s| s.trim().split('@').next().unwrap_or("").to_string())
        .collect()
}

fn claim_dir(run_id: &str) -> std::path::PathBuf {
    Path::new("/run/collbench").join(run_id)
}

/// Everything the run made is gone: namespaces, its claim, its processes, and nothing new in the
/// root namespace.
fn assert_gone(run_id: &str, pids: &[u32], links_before: &BTreeSet<String>) {
    assert_eq!(
        namespaces_of(run_id),
        Vec::<String>::new(),
        "namespaces left"
    );
    assert!(!claim_dir(run_id).exists(), "claim of {run_id} left");
    let deadline = Instant::now() + Duration::from_secs(5);
    while pids.iter().any(|&p| alive(p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    for &p in pids {
        assert!(!alive(p), "node process {p} still runs");
    }
    let new: Vec<_> = root_links().difference(links_before).cloned().collect();
    assert!(
        new.is_empty(),
        "interfaces appeared in the root namespace: {new:?}"
    );
}

fn rows(v: &serde_json::Value) -> &Vec<serde_json::Value> {
    v["results"].as_array().unwrap()
}

#[test]
fn four_nodes_run_ring_and_tree_correctly_and_leave_nothing() {
    if !runnable() {
        return;
    }
    let _s = serial();
    let links_before = root_links();
    let dir = tempdir("netns-basic");
    let out = netns_run(
        &[
            "--np",
            "4",
            "--link-rate",
            "200mbit",
            "-b",
            "1K",
            "-e",
            "256K",
            "-f",
            "16",
            "-n",
            "3",
            "-w",
            "1",
            "--algo",
            "ring,tree",
        ],
        &dir,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v = results(&dir);
    let run_id = v["config"]["run_id"].as_str().unwrap().to_string();
    assert_eq!(v["config"]["launcher"], "netns");
    assert_eq!(v["config"]["link_rate_bps"].as_f64(), Some(200e6));
    // Every node ran in the fabric, on its own address.
    let addrs: BTreeSet<String> = v["config"]["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["data_addr"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(addrs.len(), 4);
    assert!(addrs.iter().all(|a| a.starts_with("10.77.")), "{addrs:?}");
    // Each node names the interface its data plane used: the namespace's veth, whose speed the
    // kernel reports.
    for h in v["config"]["hosts"].as_array().unwrap() {
        assert_eq!(h["interface"], "eth0", "{h}");
        assert!(h["link_speed_mbps"].as_u64().is_some_and(|s| s > 0), "{h}");
        assert!(h["kernel"].as_str().is_some_and(|k| !k.is_empty()), "{h}");
    }
    let rows = rows(&v);
    assert_eq!(rows.len(), 2 * 3, "ring and tree at 1K, 16K, 256K");
    for r in rows {
        // Out of place at the top level (nccl-tests' -J layout), in place nested.
        assert_eq!(r["nwrong"], 0, "{r}");
        assert_eq!(r["in_place"]["nwrong"], 0, "{r}");
        let eff = r["link_efficiency"].as_f64().expect("link_efficiency");
        let bus_bw = r["bus_bw"].as_f64().unwrap();
        assert!(
            eff > 0.0 && (eff - bus_bw * 8e9 / 200e6).abs() < 1e-9,
            "{eff} {r}"
        );
        // No faster than the link where tc's 64 KiB bucket cannot carry it: at 16 KiB a ring
        // link's 24 KiB per iteration fit in the bucket, which refills while the ranks compute,
        // and back-to-back iterations measure 1.0-2.5 x the link rate there.
        if r["size"].as_u64() == Some(256 << 10) {
            assert!(eff < 1.05, "{eff} {r}");
        }
        assert_eq!(r["link_rate_bps"].as_f64(), Some(200e6));
    }
    let algos: BTreeSet<&str> = rows
        .iter()
        .map(|r| r["algorithm"].as_str().unwrap())
        .collect();
    assert_eq!(algos, BTreeSet::from(["ring", "tree"]));
    let text = stdout(&out);
    assert!(text.contains("# Link efficiency"), "{text}");
    assert_gone(&run_id, &pids(&v), &links_before);
}

/// Two nodes of two ranks: each rank on its own NIC (`eth0`, `eth1`), the ranks of a node on one
/// host; ring and rail run correctly across them (rail in the nodes as groups) and everything is
/// removed.
#[test]
fn nodes_with_two_nics_run_ring_and_rail_correctly_and_leave_nothing() {
    if !runnable() {
        return;
    }
    let _s = serial();
    let links_before = root_links();
    let dir = tempdir("netns-two-nics");
    let args = "--np 4 --ranks-per-node 2 --link-rate 200mbit -b 1K -e 256K -f 16 -n 3 -w 1 \
                --algo ring,rail";
    let out = netns_run(&args.split_whitespace().collect::<Vec<_>>(), &dir);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = results(&dir);
    let run_id = v["config"]["run_id"].as_str().unwrap().to_string();
    assert_eq!(v["config"]["ranks_per_node"], 2);
    let hosts = v["config"]["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 4);
    for h in hosts {
        let r = h["rank"].as_u64().unwrap() as usize;
        // Rank r: node r / 2's namespace, its NIC eth<r % 2>, its own address.
        assert_eq!(
            h["host"].as_str().unwrap(),
            format!("cb-{run_id}-n{}", r / 2),
            "{h}"
        );
        assert_eq!(h["interface"], format!("eth{}", r % 2), "{h}");
        let addr = coordinator::launcher::netns::names::node_addr(r).to_string();
        assert!(
            h["data_addr"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{addr}:")),
            "{h}"
        );
    }
    let rows = rows(&v);
    assert_eq!(rows.len(), 6, "ring and rail at 1K, 16K, 256K");
    assert_eq!(v["config"]["group_size"], 2, "rail's groups are the nodes");
    for r in rows {
        assert_eq!(r["nwrong"], 0, "{r}");
        assert_eq!(r["in_place"]["nwrong"], 0, "{r}");
    }
    assert_gone(&run_id, &pids(&v), &links_before);
}

/// `ip netns exec NS cat /sys/class/net/DEV/statistics/STAT`.
fn nic_counter(ns: &str, dev: &str, stat: &str) -> u64 {
    let path = format!("/sys/class/net/{dev}/statistics/{stat}");
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "cat", &path])
        .output()
        .unwrap();
    assert!(out.status.success(), "{ns} {path}: {}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// The fabric itself, through the launcher: a datagram from rank 1's address leaves node 0 by
/// `eth1` (not `eth0`) and reaches node 1 on rank 2's `eth0`; between the two ranks of node 0 it
/// stays on loopback, off both NICs.
#[test]
fn a_ranks_traffic_leaves_by_its_own_nic_and_a_nodes_own_stays_inside() {
    use coordinator::launcher::netns::names::{node_addr, Names};
    use coordinator::launcher::netns::{spawn, Netns};
    use coordinator::launcher::Launcher;
    use std::net::{IpAddr, SocketAddr};

    if !runnable() {
        return;
    }
    let _s = serial();
    let links_before = root_links();
    let run_id = format!("nic-{}", std::process::id());
    let names = Names::new(&run_id).unwrap();
    // Unshaped: the test counts bytes, not time. Drop tears down if an assertion fails.
    let mut fabric = Netns::new(vec![0; 4], 2, None, None, 9000);
    fabric.prepare(&run_id).unwrap();
    assert_eq!(
        namespaces_of(&run_id).len(),
        2 + 2,
        "switch, coordinator, 2 nodes"
    );
    let (node0, node1) = (names.node_ns(0), names.node_ns(1));
    let socket = |ns: &str, rank: usize| {
        let s = spawn::udp_socket_in(ns, SocketAddr::new(IpAddr::V4(node_addr(rank)), 0)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s
    };
    let (rank0, rank1, rank2) = (socket(&node0, 0), socket(&node0, 1), socket(&node1, 2));
    const N: usize = 200;
    const LEN: usize = 1000;
    // Sends N datagrams, each answered by a receive that names its sender.
    let send = |from: &std::net::UdpSocket, to: &std::net::UdpSocket| {
        let payload = [7u8; LEN];
        let dest = to.local_addr().unwrap();
        let mut buf = [0u8; 2 * LEN];
        for _ in 0..N {
            from.send_to(&payload, dest).unwrap();
            let (n, src) = to.recv_from(&mut buf).unwrap();
            assert_eq!((n, src), (LEN, from.local_addr().unwrap()));
        }
    };
    let counters = || {
        [
            nic_counter(&node0, "eth0", "tx_bytes"),
            nic_counter(&node0, "eth1", "tx_bytes"),
            nic_counter(&node1, "eth0", "rx_bytes"),
            nic_counter(&node1, "eth1", "rx_bytes"),
        ]
    };
    let moved = |before: [u64; 4], after: [u64; 4]| -> Vec<u64> {
        before.iter().zip(after).map(|(b, a)| a - b).collect()
    };
    let sent = (N * LEN) as u64;
    // Noise a NIC may carry meanwhile: ARP, IPv6 neighbour and router solicitations.
    let noise = 10_000;

    let before = counters();
    send(&rank1, &rank2);
    let d = moved(before, counters());
    assert!(
        d[1] >= sent,
        "rank 1's eth1 sent {} of {sent} bytes: {d:?}",
        d[1]
    );
    assert!(
        d[0] < noise,
        "rank 0's eth0 carried rank 1's traffic: {d:?}"
    );
    assert!(d[2] >= sent, "rank 2's eth0 received {}: {d:?}", d[2]);
    assert!(
        d[3] < noise,
        "node 1's eth1 received rank 2's traffic: {d:?}"
    );

    // The answer goes back the same way: rank 2's eth0 to rank 1's eth1.
    let back = [
        nic_counter(&node1, "eth0", "tx_bytes"),
        nic_counter(&node0, "eth1", "rx_bytes"),
        nic_counter(&node0, "eth0", "rx_bytes"),
    ];
    send(&rank2, &rank1);
    let after = [
        nic_counter(&node1, "eth0", "tx_bytes"),
        nic_counter(&node0, "eth1", "rx_bytes"),
        nic_counter(&node0, "eth0", "rx_bytes"),
    ];
    let d: Vec<u64> = back.iter().zip(after).map(|(b, a)| a - b).collect();
    assert!(d[0] >= sent && d[1] >= sent && d[2] < noise, "{d:?}");

    // Rank 0 to rank 1, one node: loopback, neither NIC.
    let before = counters();
    send(&rank0, &rank1);
    let d = moved(before, counters());
    assert!(
        d[0] < noise && d[1] < noise,
        "a node's own traffic left it: {d:?}"
    );

    drop((rank0, rank1, rank2));
    fabric.teardown().unwrap();
    assert_gone(&run_id, &[], &links_before);
}

/// Starts a long netns sweep and returns once its first row is written.
fn start_long_run(dir: &Path) -> (std::process::Child, serde_json::Value) {
    let mut child = collbench()
        .args([
            "run",
            "--launcher",
            "netns",
            "--np",
            "2",
            "--link-rate",
            "100mbit",
            "-b",
            "1K",
            "-e",
            "64M",
            "-n",
            "5",
            "--out",
        ])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        let parsed = std::fs::read_to_string(dir.join("results.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
        if let Some(v) = parsed.filter(|v| !rows(v).is_empty()) {
            return (child, v);
        }
        if start.elapsed() > Duration::from_secs(60) || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the run did not reach its first row");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn ctrl_c_removes_the_fabric() {
    if !runnable() {
        return;
    }
    let _s = serial();
    let links_before = root_links();
    let dir = tempdir("netns-ctrl-c");
    let (mut child, v) = start_long_run(&dir);
    let run_id = v["config"]["run_id"].as_str().unwrap().to_string();
    assert!(!namespaces_of(&run_id).is_empty());
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("the coordinator did not stop after Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!status.success());
    let v = results(&dir);
    assert!(v["failure"]["message"]
        .as_str()
        .unwrap()
        .contains("interrupted"));
    assert_gone(&run_id, &pids(&v), &links_before);
}

#[test]
fn a_killed_run_leaves_state_that_the_next_run_removes() {
    if !runnable() {
        return;
    }
    let _s = serial();
    let links_before = root_links();
    let dir = tempdir("netns-killed");
    let (mut child, v) = start_long_run(&dir);
    child.kill().unwrap(); // SIGKILL: no teardown runs
    child.wait().unwrap();
    let run_id = v["config"]["run_id"].as_str().unwrap().to_string();
    let node_pids = pids(&v);
    let left = namespaces_of(&run_id);
    assert_eq!(
        left.len(),
        2 + 2,
        "switch, coordinator and 2 nodes left: {left:?}"
    );
    assert!(claim_dir(&run_id).exists());

    // The next run finds the dead run's fabric and removes it before building its own.
    let dir2 = tempdir("netns-after-kill");
    let out = netns_run(
        &[
            "--np",
            "2",
            "--link-rate",
            "100mbit",
            "-b",
            "1K",
            "-e",
            "1K",
            "-n",
            "1",
            "-w",
            "0",
        ],
        &dir2,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v2 = results(&dir2);
    assert_gone(&run_id, &node_pids, &links_before);
    let run2 = v2["config"]["run_id"].as_str().unwrap().to_string();
    assert_gone(&run2, &pids(&v2), &links_before);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&dir2);
}

/// Two groups of two behind a spine: the ring crosses each uplink once in each direction. At
/// 8 x the node rate the uplinks do not limit; at 0.4 x (5:1 oversubscribed) they do, and busbw
/// drops to about 0.4 x. The rates are low so that even a debug build on a busy 2-core machine
/// fills the links.
#[test]
fn an_oversubscribed_uplink_lowers_busbw() {
    if !runnable() {
        return;
    }
    let _s = serial();
    let links_before = root_links();
    let mut busbw = Vec::new();
    for uplink in ["400mbit", "20mbit"] {
        let dir = tempdir(&format!("netns-uplink-{uplink}"));
        let out = netns_run(
            &[
                "--np",
                "4",
                "--groups",
                "2",
                "--link-rate",
                "50mbit",
                "--uplink-rate",
                uplink,
                "-b",
                "1M",
                "-e",
                "1M",
                "-n",
                "3",
                "-w",
                "1",
            ],
            &dir,
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let v = results(&dir);
        let row = &rows(&v)[0];
        assert_eq!(row["nwrong"], 0);
        let up = row["uplink_rate_bps"].as_f64().expect("uplink_rate_bps");
        assert_eq!(up, parse(uplink));
        // The better of the two placements: the fabric's capacity, less scheduling noise.
        let best = row["bus_bw"]
            .as_f64()
            .unwrap()
            .max(row["in_place"]["bus_bw"].as_f64().unwrap());
        busbw.push(best);
        let run_id = v["config"]["run_id"].as_str().unwrap().to_string();
        assert_gone(&run_id, &pids(&v), &links_before);
    }
    let (full, over) = (busbw[0], busbw[1]);
    eprintln!("busbw: non-blocking uplinks {full} GB/s, 5:1 oversubscribed {over} GB/s");
    // The uplink holds the ring to 0.4 of its rate; allow for noise.
    assert!(
        over < 0.75 * full,
        "oversubscribed busbw {over} GB/s is not clearly below non-blocking {full} GB/s"
    );
}

/// A link far slower than the CPU: the link sets the number, so no row is called CPU-bound;
/// and channels (each its own socket and endpoint) run inside the namespaces too.
#[test]
fn a_link_well_below_the_cpu_is_not_called_cpu_bound() {
    if !runnable() {
        return;
    }
    let _s = serial();
    let links_before = root_links();
    let dir = tempdir("netns-cpu-quiet");
    let out = netns_run(
        &[
            "--np",
            "4",
            "--link-rate",
            "100mbit",
            "-b",
            "1M",
            "-e",
            "4M",
            "-f",
            "4",
            "-n",
            "2",
            "-w",
            "1",
            "--channels",
            "2",
        ],
        &dir,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(!text.contains("measures the host's CPU"), "{text}");
    let v = results(&dir);
    assert_eq!(v["config"]["channels"], 2);
    for h in v["config"]["hosts"].as_array().unwrap() {
        let addrs = h["data_addrs"].as_array().unwrap();
        assert_eq!(addrs.len(), 2);
        assert!(
            addrs
                .iter()
                .all(|a| a.as_str().unwrap().starts_with("10.77.")),
            "{h}"
        );
    }
    for r in rows(&v) {
        assert_eq!(r["nwrong"], 0, "{r}");
        assert_eq!(r["in_place"]["nwrong"], 0, "{r}");
        assert_eq!(r["channels"], 2, "{r}");
        assert!(r.get("cpu_bound_ranks").is_none(), "{r}");
        for cpu in r["rank_cpu"].as_array().unwrap() {
            // A 100 Mbit/s link leaves each rank's half core mostly idle.
            assert!(cpu["busy_cores"].as_f64().unwrap() < 0.3, "{cpu}");
        }
    }
    let run_id = v["config"]["run_id"].as_str().unwrap().to_string();
    assert_gone(&run_id, &pids(&v), &links_before);
}

fn parse(rate: &str) -> f64 {
    rate.trim_end_matches("mbit").parse::<f64>().unwrap() * 1e6
}

/// `--fault`: a killed node and a link taken down both end the run with an error naming the
/// rank, and the fabric is removed all the same.
#[test]
fn fault_hooks_kill_a_node_and_take_a_link_down() {
    if !runnable() {
        return;
    }
    let _s = serial();
    let links_before = root_links();
    // The link-down again on two channels: the cut reaches every channel's connections.
    let two_channels: &[&str] = &["--channels", "2", "--channel-min-bytes", "1K"];
    for (fault, expect, extra) in [
        ("kill:1@64K", "rank 1", &[][..]),
        ("link-down:2@64K", "rank", &[][..]),
        ("link-down:2@64K", "rank", two_channels),
    ] {
        let dir = tempdir("netns-fault");
        let args = [
            &[
                "--np",
                "3",
                "--link-rate",
                "200mbit",
                "-b",
                "16K",
                "-e",
                "1M",
                "-f",
                "4",
                "-n",
                "2",
                "-w",
                "1",
                "--timeout",
                "4",
                "--fault",
                fault,
            ][..],
            extra,
        ]
        .concat();
        let out = netns_run(&args, &dir);
        let err = stderr(&out);
        assert!(!out.status.success(), "{fault}: the run should fail");
        assert!(err.contains(expect), "{fault}: {err}");
        assert!(
            stdout(&out).contains(&format!("# fault {fault}")),
            "{fault}: {}",
            stdout(&out)
        );
        let v = results(&dir);
        // The size before the fault was measured and kept.
        assert_eq!(rows(&v)[0]["size"], 16384);
        assert!(v["failure"].is_object());
        let run_id = v["config"]["run_id"].as_str().unwrap().to_string();
        assert_gone(&run_id, &pids(&v), &links_before);
    }
}

#[test]
fn netns_flags_are_validated_before_anything_starts() {
    let cases: [(&[&str], &str); 10] = [
        (
            &["--launcher", "netns", "--link-rate", "10bit"],
            "--link-rate: below 1kbit",
        ),
        (&["--groups", "2"], "--groups: only the netns launcher"),
        (
            &[
                "--launcher",
                "netns",
                "--groups",
                "2",
                "--np",
                "4",
                "--uplink-rate",
                "fast",
            ],
            "--uplink-rate",
        ),
        (
            &["--launcher", "netns", "--np", "4", "--uplink-rate", "1gbit"],
            "--uplink-rate: needs a fabric of 2 or more groups",
        ),
        (
            &["--launcher", "netns", "--np", "2", "--groups", "3"],
            "--groups: 3 is outside",
        ),
        (
            &["--fault", "link-down:0@1K"],
            "link-down needs --launcher netns",
        ),
        (
            &["--np", "4", "--ranks-per-node", "2"],
            "--ranks-per-node: 2: only the netns launcher",
        ),
        (
            &["--launcher", "netns", "--np", "4", "--ranks-per-node", "0"],
            "--ranks-per-node: 0 ranks per node",
        ),
        (
            &["--launcher", "netns", "--np", "6", "--ranks-per-node", "4"],
            "--ranks-per-node: 4 does not divide the 6 ranks",
        ),
        (
            &[
                "--launcher",
                "netns",
                "--np",
                "4",
                "--ranks-per-node",
                "2",
                "--groups",
                "4",
            ],
            "--ranks-per-node: node 0 (ranks 0..=1) would be split across groups 0 and 1",
        ),
    ];
    for (args, expect) in cases {
        let out = collbench().arg("run").args(args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr(&out).contains(expect), "{args:?}: {}", stderr(&out));
    }
}

/// A topology file whose hosts name racks gives the groups: `--uplink-rate` (which needs two or
/// more groups) is accepted without `--groups`, and `hier` by rack runs correctly across it.
#[test]
fn racks_of_a_topology_file_become_groups() {
    if !runnable() {
        return;
    }
    let _s = serial();
    let links_before = root_links();
    let dir = tempdir("netns-racks");
    let topo =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../placements/2-racks-x-2-nodes.toml");
    let out = netns_run(
        &[
            "--topology",
            topo.to_str().unwrap(),
            "--link-rate",
            "200mbit",
            "--uplink-rate",
            "200mbit",
            "--algo",
            "hier",
            "-b",
            "64K",
            "-e",
            "64K",
            "-n",
            "2",
            "-w",
            "1",
        ],
        &dir,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v = results(&dir);
    let row = &rows(&v)[0];
    assert_eq!(row["nranks"], 8);
    assert_eq!(row["nwrong"], 0);
    assert_eq!(row["uplink_rate_bps"].as_f64(), Some(200e6));
    let run_id = v["config"]["run_id"].as_str().unwrap().to_string();
    assert_gone(&run_id, &pids(&v), &links_before);
}
