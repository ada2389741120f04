//! The fault-injection suite (issue 7) on the emulated cluster (`--launcher netns`; needs root,
//! as CI has).
//!
//! Each run picks at random: SIGKILL a node at a random moment, SIGSTOP a node, take a node's
//! link down, or SIGKILL the coordinator (its nodes must then exit by themselves, and the next
//! run must remove its namespaces). The run's rank count, algorithm, faulted rank and moment are
//! random too. Counted: runs; hangs (a run not over within `HANG_BOUND`); invalid results files
//! (not valid against results/schema.json, or missing a completed size, or a failure record);
//! leftovers (processes, namespaces, root links, claims, credentials); and wrongly named
//! culprits (the failure record and the error message must name the faulted rank).
//!
//! `cargo test` runs `COLLBENCH_FAULT_RUNS` runs (default 4: one of each kind, then random);
//! `scripts/faults/suite.sh --runs 50` runs more. `COLLBENCH_FAULT_SEED` repeats a sequence.

#![allow(clippy::unwrap_used)] // a panic in a test is a failing test

#[path = "../common/mod.rs"]
mod common;
mod inject;
mod leftovers;
mod verdict;

use std::path::Path;
use std::time::{Duration, SystemTime};

use common::netns_missing;
use inject::{Kind, Spec, ALGORITHMS, SIZES};

/// xorshift64*: enough randomness to pick faults, repeatable from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn between(&mut self, lo: Duration, hi: Duration) -> Duration {
        lo + (hi - lo).mul_f64((self.next() % 10_000) as f64 / 10_000.0)
    }
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.parse().ok()
}

fn spec(rng: &mut Rng, i: usize) -> Spec {
    // The first four runs cover every kind once; then any.
    // COLLBENCH_FAULT_KINDS=stop,coordinator runs only those kinds.
    let kinds: Vec<Kind> = match std::env::var("COLLBENCH_FAULT_KINDS") {
        Ok(list) => Kind::ALL
            .into_iter()
            .filter(|k| list.split(',').any(|n| n.trim() == k.name()))
            .collect(),
        Err(_) => Kind::ALL.to_vec(),
    };
    assert!(
        !kinds.is_empty(),
        "COLLBENCH_FAULT_KINDS names none of kill, stop, link-down, coordinator"
    );
    let kind = if i < kinds.len() {
        kinds[i]
    } else {
        kinds[rng.below(kinds.len())]
    };
    let nranks = 3 + rng.below(3);
    let hook = match kind {
        Kind::LinkDown => true,
        Kind::Stop => rng.below(2) == 0,
        Kind::Kill | Kind::Coordinator => false,
    };
    // A healthy run takes about 3-4 s here, 2-3 s of it from the nodes' start; some signals
    // land after it.
    // Half the coordinator kills land within 0.5 s of its nodes' start, while they connect and
    // register (before they have heard from it).
    let after_nodes = kind == Kind::Coordinator && rng.below(2) == 0;
    let delay = match kind {
        Kind::Coordinator if after_nodes => {
            // COLLBENCH_FAULT_EARLY_MS narrows the window (to aim at the nodes' connect).
            let ms = env_number("COLLBENCH_FAULT_EARLY_MS").unwrap_or(500);
            rng.between(Duration::ZERO, Duration::from_millis(ms))
        }
        Kind::Coordinator => rng.between(Duration::from_millis(200), Duration::from_millis(3200)),
        _ => rng.between(Duration::ZERO, Duration::from_millis(2500)),
    };
    Spec {
        kind,
        nranks,
        rank: rng.below(nranks),
        algorithm: ALGORITHMS[rng.below(ALGORITHMS.len())],
        hook,
        size: SIZES[rng.below(SIZES.len())],
        delay,
        after_nodes,
    }
}

#[derive(Default)]
struct Counts {
    runs: usize,
    by_kind: [usize; 4],
    missed: usize,
    hangs: usize,
    invalid: usize,
    leftovers: usize,
    wrong_culprits: usize,
    reactions: [Vec<Duration>; 4],
}

/// Root and iproute2, or one line saying why the suite did not run.
fn runnable() -> bool {
    common::runnable("the fault suite", &netns_missing())
}

fn summary(c: &Counts, seed: u64) -> String {
    let mut s = format!(
        "# fault suite: {} runs (seed {seed}): {}\n",
        c.runs,
        Kind::ALL
            .iter()
            .zip(c.by_kind)
            .map(|(k, n)| format!("{} {n}", k.name()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (name, n) in [
        ("runs", c.runs),
        ("hangs", c.hangs),
        ("invalid results files", c.invalid),
        ("leftovers", c.leftovers),
        ("wrongly named culprits", c.wrong_culprits),
        ("faults that landed after the sweep", c.missed),
    ] {
        s += &format!("  {name:<36} {n}\n");
    }
    for (k, times) in Kind::ALL.iter().zip(&c.reactions) {
        if times.is_empty() {
            continue;
        }
        let mut t = times.clone();
        t.sort();
        s += &format!(
            "  {:<36} median {:.1} s, max {:.1} s\n",
            match k {
                Kind::Coordinator => "coordinator killed -> nodes gone".to_string(),
                _ => format!("{} -> run ended, culprit named", k.name()),
            },
            t[t.len() / 2].as_secs_f64(),
            t[t.len() - 1].as_secs_f64()
        );
    }
    s
}

#[test]
fn faults_never_hang_lose_results_leave_anything_or_blame_the_wrong_rank() {
    if !runnable() {
        return;
    }
    let exe = Path::new(env!("CARGO_BIN_EXE_collbench"));
    let runs = env_number("COLLBENCH_FAULT_RUNS").unwrap_or(4) as usize;
    let seed = env_number("COLLBENCH_FAULT_SEED").unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            | 1
    });
    let mut rng = Rng(seed);
    let mut c = Counts::default();
    // Runs whose coordinator was killed: the next run must have removed their fabric.
    let mut orphaned: Vec<(String, Vec<u32>)> = Vec::new();
    let base = common::tempdir("fault-suite");
    std::fs::create_dir_all(&base).unwrap();
    for i in 0..runs + 1 {
        // One more, healthy, run at the end sweeps what a killed coordinator left.
        let final_sweep = i == runs;
        let before = leftovers::Before::now();
        let dir = base.join(format!("run-{i}"));
        let outcome = if final_sweep {
            let out = common::collbench()
                .args([
                    "run",
                    "--launcher",
                    "netns",
                    "--np",
                    "2",
                    "-b",
                    "1K",
                    "-e",
                    "1K",
                    "--out",
                ])
                .arg(&dir)
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", common::stderr(&out));
            let _ = std::fs::remove_dir_all(&dir);
            None
        } else {
            let spec = spec(&mut rng, i);
            Some(inject::run(exe, spec, dir))
        };
        // What killed coordinators left is gone once a later run has started.
        for (id, pids) in orphaned.drain(..) {
            let left = leftovers::find(&before, Some(&id), &pids, exe);
            if !left.is_empty() {
                println!("  run of {id} (coordinator killed): left {left:?} after the next run");
                c.leftovers += 1;
            }
        }
        let Some(o) = outcome else { break };
        c.runs += 1;
        let k = Kind::ALL.iter().position(|&k| k == o.spec.kind).unwrap();
        c.by_kind[k] += 1;
        let mut notes = Vec::new();
        if o.status.is_none() {
            c.hangs += 1;
            notes.push(format!("HANG (not over within {:?})", inject::HANG_BOUND));
        }
        if !o.lingering.is_empty() {
            c.hangs += 1;
            notes.push(format!(
                "HANG: nodes {:?} still running {:?} after the coordinator was killed",
                o.lingering,
                inject::NODE_EXIT_BOUND
            ));
        }
        let problems = verdict::results_problems(&o);
        if !problems.is_empty() {
            c.invalid += 1;
            notes.push(format!("INVALID RESULTS: {problems:?}"));
        }
        if let Some(p) = verdict::culprit_problem(&o) {
            c.wrong_culprits += 1;
            notes.push(format!("WRONG CULPRIT: {p}"));
        }
        let failed = o.status.is_some_and(|s| !s.success());
        if matches!(o.spec.kind, Kind::Kill | Kind::Stop)
            && !o.spec.hook
            && !failed
            && o.status.is_some()
        {
            c.missed += 1;
            notes.push("the signal landed after the sweep".into());
        }
        if o.spec.kind == Kind::Coordinator {
            if o.injected {
                if let Some(id) = &o.run_id {
                    orphaned.push((id.clone(), o.pids.clone()));
                }
            } else {
                c.missed += 1;
                notes.push("the coordinator had finished before the kill".into());
            }
        } else {
            let left = leftovers::find(&before, o.run_id.as_deref(), &o.pids, exe);
            if !left.is_empty() {
                c.leftovers += 1;
                notes.push(format!("LEFTOVERS: {left:?}"));
            }
        }
        // Times of faults that ended the run (or, for the coordinator, its nodes).
        let counted = o.injected && (failed || o.spec.kind == Kind::Coordinator);
        if let Some(t) = o.reaction.filter(|_| counted) {
            c.reactions[k].push(t);
        }
        let ending = match o.status {
            None => "hung".to_string(),
            Some(s) if s.success() => "passed".into(),
            Some(_) => o
                .stderr
                .lines()
                .rfind(|l| l.starts_with("collbench: error"))
                .unwrap_or("failed")
                .chars()
                .take(400)
                .collect(),
        };
        println!(
            "run {i}: {} [{}]: {}{}",
            o.spec.describe(),
            o.reaction
                .map_or("-".into(), |t| format!("{:.1} s", t.as_secs_f64())),
            ending,
            if notes.is_empty() {
                String::new()
            } else {
                format!("\n    {}", notes.join("\n    "))
            }
        );
        if notes.iter().any(|n| n.contains("HANG")) {
            let tail: Vec<&str> = o.stderr.lines().rev().take(40).collect();
            println!("    stderr (last lines):");
            for l in tail.into_iter().rev() {
                println!("      {l}");
            }
        }
        if problems.is_empty() && notes.iter().all(|n| !n.contains("HANG")) {
            let _ = std::fs::remove_dir_all(&o.dir);
        }
    }
    let text = summary(&c, seed);
    println!("{text}");
    let _ = std::fs::remove_dir(&base);
    assert_eq!(
        (c.hangs, c.invalid, c.leftovers, c.wrong_culprits),
        (0, 0, 0, 0),
        "{text}"
    );
}
