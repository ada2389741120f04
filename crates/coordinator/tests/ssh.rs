//! The ssh launcher for real: each "host" is a network namespace this test creates (the netns
//! launcher's fabric, unshaped) with its own address and its own `sshd` (openssh-server); the
//! coordinator runs in the fabric's coordinator namespace and reaches the hosts with the system
//! `ssh` and a key made for the test.
//!
//! Needs root and openssh-server (CI installs it); without them the tests fail saying so. A
//! guard removes every namespace, sshd and file the test made, also when an assertion fails.

#![allow(clippy::unwrap_used)] // a panic in a test is a failing test

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::*;
use coordinator::launcher::netns::fabric::{self, FabricSpec};
use coordinator::launcher::netns::names::{node_addr, Names};
use coordinator::launcher::netns::{cmd, state};

/// One cluster at a time: they share /run/sshd and the CPUs.
static SERIAL: Mutex<()> = Mutex::new(());

const SSHD: &str = "/usr/sbin/sshd";

/// Root, iproute2 and OpenSSH, or one line saying why the test did not run.
fn runnable() -> bool {
    let mut missing = netns_missing();
    missing.extend(need_program(SSHD, "openssh-server"));
    missing.extend(need_program("ssh", "openssh-client"));
    common::runnable("ssh tests", &missing)
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A fabric of `hosts` namespaces, sshd running in those of `with_sshd`; removed on drop.
struct Cluster {
    names: Names,
    created: Vec<String>,
    sshd: Vec<Child>,
    dir: TestDir,
    made_run_sshd: bool,
}

impl Cluster {
    fn start(tag: &str, hosts: usize, with_sshd: &[usize]) -> Cluster {
        let names = Names::new(&format!("ssht-{}-{tag}", std::process::id())).unwrap();
        let owned = tempdir(&format!("ssh-{tag}"));
        let dir = owned.to_path_buf();
        let mut c = Cluster {
            names: names.clone(),
            created: Vec::new(),
            sshd: Vec::new(),
            dir: owned,
            made_run_sshd: false,
        };
        // Claimed, so a netns run's sweep of leftovers leaves this fabric alone.
        state::claim(&names).unwrap();
        let spec = FabricSpec {
            group_of: vec![0; hosts],
            ranks_per_node: 1,
            link: None,
            uplink: None,
            mtu: 1500,
        };
        for step in fabric::plan(&names, &spec) {
            for (i, cmd) in step.cmds.iter().enumerate() {
                cmd.run().unwrap();
                if i == 0 {
                    c.created.extend(step.creates.clone());
                }
            }
        }
        c.wait_for_ports(hosts + 1);
        std::fs::DirBuilder::new().mode(0o700).create(&dir).unwrap();
        for key in ["hostkey", "id", "other_id"] {
            run(Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(dir.join(key)));
        }
        std::fs::copy(dir.join("id.pub"), dir.join("authorized_keys")).unwrap();
        if !Path::new("/run/sshd").exists() {
            std::fs::create_dir_all("/run/sshd").unwrap();
            c.made_run_sshd = true;
        }
        for &h in with_sshd {
            let conf = dir.join(format!("sshd_config-{h}"));
            std::fs::write(
                &conf,
                format!(
                    "ListenAddress {addr}\nPort 22\nHostKey {d}/hostkey\n\
                     AuthorizedKeysFile {d}/authorized_keys\nPidFile none\nStrictModes no\n\
                     UsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                     PermitRootLogin prohibit-password\nLogLevel ERROR\n",
                    addr = node_addr(h),
                    d = dir.display()
                ),
            )
            .unwrap();
            let child = Command::new("ip")
                .args(["netns", "exec", &names.node_ns(h), SSHD, "-D", "-e", "-f"])
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            c.sshd.push(child);
        }
        for &h in with_sshd {
            c.wait_for_sshd(h);
        }
        c
    }

    fn wait_for_ports(&self, expected: usize) {
        let start = Instant::now();
        loop {
            let out =
                run(Command::new("bridge").args(["-n", &self.names.fabric_ns(), "link", "show"]));
            let fwd = String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| l.contains("forwarding"))
                .count();
            if fwd >= expected {
                return;
            }
            assert!(start.elapsed() < Duration::from_secs(5), "bridge ports");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_for_sshd(&self, h: usize) {
        let start = Instant::now();
        loop {
            let out = self
                .in_coordinator_ns("ssh")
                .args(
                    self.ssh_options("id")
                        .iter()
                        .flat_map(|o| ["-o", o.as_str()]),
                )
                .args(["-o", "BatchMode=yes", &node_addr(h).to_string(), "true"])
                .stdin(Stdio::null())
                .output()
                .unwrap();
            if out.status.success() {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "sshd on host {h} did not answer: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn ssh_options(&self, key: &str) -> Vec<String> {
        let d = self.dir.display();
        vec![
            format!("IdentityFile={d}/{key}"),
            "IdentitiesOnly=yes".into(),
            format!("UserKnownHostsFile={d}/known_hosts"),
            "StrictHostKeyChecking=no".into(),
            "User=root".into(),
            "LogLevel=ERROR".into(),
        ]
    }

    fn in_coordinator_ns(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.names.coordinator_ns(), program]);
        c
    }

    fn hostfile(&self, text: &str) -> PathBuf {
        let p = self.dir.join("hosts");
        std::fs::write(&p, text).unwrap();
        p
    }

    /// `collbench run --launcher ssh ...` in the coordinator's namespace.
    fn collbench(&self, hostfile: &Path, key: &str, args: &[&str], out: &Path) -> Command {
        let mut c = self.in_coordinator_ns(env!("CARGO_BIN_EXE_collbench"));
        c.env("RUST_LOG", "warn")
            .args(["run", "--launcher", "ssh", "--hostfile"])
            .arg(hostfile)
            .args(
                self.ssh_options(key)
                    .iter()
                    .flat_map(|o| ["--ssh-option".to_string(), o.clone()]),
            )
            .args(args)
            .arg("--out")
            .arg(out);
        c
    }

    /// PIDs of processes in host `h`'s namespace other than its sshd.
    fn others_in(&self, h: usize) -> Vec<i32> {
        let sshd: BTreeSet<i32> = self.sshd.iter().map(|c| c.id() as i32).collect();
        cmd::pids_in(&self.names.node_ns(h))
            .into_iter()
            .filter(|p| !sshd.contains(p))
            .collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in &mut self.sshd {
            let _ = c.kill();
            let _ = c.wait();
        }
        while let Some(ns) = self.created.pop() {
            let _ = state::remove_namespace(&ns);
        }
        state::release(&self.names);
        if self.made_run_sshd {
            let _ = std::fs::remove_dir("/run/sshd");
        }
    }
}

use std::os::unix::fs::DirBuilderExt;

/// Private directories the ssh launcher made for copies of the binary (all namespaces share
/// this machine's /tmp).
fn copies() -> BTreeSet<String> {
    std::fs::read_dir("/tmp")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("collbench."))
        .collect()
}

/// Whether any process in the hosts' namespaces shows credentials in argv or environment.
fn secrets_visible(cluster: &Cluster, hosts: usize) -> Option<String> {
    for h in 0..hosts {
        for pid in cmd::pids_in(&cluster.names.node_ns(h)) {
            for what in ["cmdline", "environ"] {
                let bytes = std::fs::read(format!("/proc/{pid}/{what}")).unwrap_or_default();
                let text = String::from_utf8_lossy(&bytes);
                if text.contains("COLLBENCH_TOKEN") || text.contains("COLLBENCH_NODE_KEY") {
                    return Some(format!("pid {pid} {what}: {text}"));
                }
            }
        }
    }
    None
}

#[test]
fn a_sweep_runs_across_two_ssh_hosts() {
    if !runnable() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cluster = Cluster::start("sweep", 2, &[0, 1]);
    let (h0, h1) = (node_addr(0).to_string(), node_addr(1).to_string());
    let hostfile = cluster.hostfile(&format!(
        "# two hosts, two ranks each\n{h0} slots=2\nroot@{h1} slots=2\n"
    ));
    let out = cluster.dir.join("results");
    let before = copies();
    // No -N (the hostfile's 4 slots) and no --listen (the address that reaches the first
    // host); the binary is copied to each host.
    let mut child = cluster
        .collbench(
            &hostfile,
            "id",
            &[
                "-b",
                "1K",
                "-e",
                "64K",
                "-f",
                "8",
                "-n",
                "3",
                "-w",
                "1",
                "--channels",
                "2",
                "--channel-min-bytes",
                "1K",
            ],
            &out,
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // While it runs: nodes are up on both hosts, and no credentials show in any argv or
    // environment there.
    let start = Instant::now();
    let mut saw_nodes = false;
    while start.elapsed() < Duration::from_secs(60) {
        if let Some(leak) = secrets_visible(&cluster, 2) {
            let _ = child.kill();
            panic!("credentials visible to other users: {leak}");
        }
        let running = (0..2).all(|h| {
            cluster.others_in(h).iter().any(|p| {
                std::fs::read(format!("/proc/{p}/cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains("--credentials-stdin"))
            })
        });
        saw_nodes |= running;
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "collbench failed:\n{}\n{}",
        stdout(&output),
        stderr(&output)
    );
    assert!(saw_nodes, "never saw a node running on both hosts");
    let results = results(&out);
    assert_eq!(results["config"]["launcher"], "ssh");
    assert_eq!(results["config"]["nranks"], 4);
    let hosts = results["config"]["hosts"].as_array().unwrap();
    let want = [&h0, &h0, &h1, &h1];
    for (rank, h) in hosts.iter().enumerate() {
        assert_eq!(h["rank"], rank);
        assert_eq!(h["host"], want[rank].as_str(), "rank {rank}");
        // --bind auto: each node's data plane, both channels, is on its host's own address.
        let data = h["data_addr"].as_str().unwrap();
        assert!(data.starts_with(&format!("{}:", want[rank])), "{data}");
        let channels = h["data_addrs"].as_array().unwrap();
        assert_eq!(channels.len(), 2, "{h}");
        for a in channels {
            assert!(
                a.as_str().unwrap().starts_with(&format!("{}:", want[rank])),
                "{h}"
            );
        }
    }
    let rows = results["results"].as_array().unwrap();
    let sizes: Vec<u64> = rows.iter().map(|r| r["size"].as_u64().unwrap()).collect();
    assert_eq!(sizes, [1024, 8192, 65536]);
    for row in rows {
        assert_eq!(row["nwrong"], 0, "out of place: {row}");
        assert_eq!(row["in_place"]["nwrong"], 0, "in place: {row}");
    }
    // Afterwards: the copies of the binary are gone, and nothing but sshd runs on the hosts.
    assert_eq!(copies(), before, "the binary's copies were not removed");
    let start = Instant::now();
    while (0..2).any(|h| !cluster.others_in(h).is_empty()) {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "processes left on the hosts: {:?} {:?}",
            cluster.others_in(0),
            cluster.others_in(1)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn each_host_that_cannot_take_part_is_named_before_anything_runs() {
    if !runnable() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Host 0 runs sshd; host 1 exists (an address that answers) but runs no sshd.
    let cluster = Cluster::start("bad", 2, &[0]);
    let (h0, h1) = (node_addr(0).to_string(), node_addr(1).to_string());
    let before = copies();
    let fail = |hostfile: &Path, key: &str, args: &[&str]| -> String {
        let out = cluster.dir.join("results-bad");
        let o = cluster
            .collbench(hostfile, key, args, &out)
            .output()
            .unwrap();
        assert!(!o.status.success(), "should fail:\n{}", stdout(&o));
        // Nothing ran: no results were written.
        assert!(!out.join("results.json").exists());
        stderr(&o)
    };

    // An unreachable host, next to a good one.
    let both = cluster.hostfile(&format!("{h0}\n# comment\n{h1} slots=3\n"));
    let err = fail(&both, "id", &["--np", "2"]);
    assert!(
        err.contains("1 of 2 hosts cannot take part; nothing was started"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{h1} (hostfile line 3): unreachable: ssh: connect to host {h1} port 22: Connection refused"
        )),
        "{err}"
    );
    assert!(!err.contains(&format!("{h0} (hostfile")), "{err}");
    // The good host's copy of the binary was removed again.
    assert_eq!(copies(), before);

    let good = cluster.hostfile(&format!("{h0}\n"));
    // A key the host does not accept.
    let err = fail(&good, "other_id", &[]);
    assert!(
        err.contains(&format!("{h0} (hostfile line 1): key refused")),
        "{err}"
    );
    // A binary that is not there.
    let err = fail(&good, "id", &["--remote-exe", "/nonexistent/collbench"]);
    assert!(
        err.contains(&format!(
            "{h0} (hostfile line 1): no collbench binary at /nonexistent/collbench"
        )),
        "{err}"
    );
    // A --listen address the host cannot reach (the coordinator's loopback).
    let err = fail(&good, "id", &["--listen", "127.0.0.1"]);
    assert!(
        err.contains(&format!(
            "{h0} (hostfile line 1): cannot reach the coordinator at 127.0.0.1:"
        )),
        "{err}"
    );
    assert_eq!(copies(), before);
    assert!(cluster.others_in(0).is_empty());
}
