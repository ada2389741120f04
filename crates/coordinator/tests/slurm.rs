//! The Slurm launcher for real: a one-host Slurm (slurmctld, slurmd, munge; started by
//! scripts/slurm/single-host.sh, which installs them when missing) runs the shipped
//! scripts/slurm/collbench.sbatch with `sbatch --wait`; the batch script's coordinator starts
//! the bench-nodes with `srun`.
//!
//! Needs root (CI runs as root). A guard stops Slurm and removes its state, also when an
//! assertion fails. Both checks share one Slurm start, which is the slow part.

#![allow(clippy::unwrap_used)] // a panic in a test is a failing test

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts/slurm")
        .join(name)
}

/// A running single-host Slurm; stopped on drop.
struct Slurm {
    state: TestDir,
}

impl Slurm {
    fn start() -> Slurm {
        assert!(
            nix::unistd::geteuid().is_root(),
            "the Slurm test starts slurmctld, slurmd and munged and needs root (CI runs as root)"
        );
        let state = tempdir("slurm-state");
        let s = Slurm { state };
        let out = Command::new(script("single-host.sh"))
            .arg("start")
            .env("COLLBENCH_SLURM_STATE", &s.state)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "starting Slurm failed:\n{}",
            stderr(&out)
        );
        s
    }
}

impl Drop for Slurm {
    fn drop(&mut self) {
        let _ = Command::new(script("single-host.sh"))
            .arg("stop")
            .env("COLLBENCH_SLURM_STATE", &self.state)
            .output();
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_sweep_runs_as_a_batch_job_and_too_many_ranks_are_refused() {
    let mut missing: Vec<String> = need_root("it starts slurmctld, slurmd and munged")
        .into_iter()
        .collect();
    for (program, package) in [
        ("slurmctld", "slurmctld"),
        ("slurmd", "slurmd"),
        ("srun", "slurm-client"),
        ("munged", "munge"),
    ] {
        missing.extend(need_program(program, package));
    }
    if !common::runnable("the Slurm test", &missing) {
        return;
    }
    let _slurm = Slurm::start();
    let dir = tempdir("slurm-run");
    let shared = dir.join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    let out = dir.join("results");
    let log = dir.join("job.out");

    let mut job = Command::new("timeout")
        .args(["120", "sbatch", "--wait", "-n", "4", "-o"])
        .arg(&log)
        .arg(script("collbench.sbatch"))
        .args(["-b", "1K", "-e", "16K", "-f", "4", "-n", "3", "-w", "1"])
        .args(["--channels", "2", "--channel-min-bytes", "512"])
        .arg("--shared-dir")
        .arg(&shared)
        .arg("--out")
        .arg(&out)
        .env("COLLBENCH", env!("CARGO_BIN_EXE_collbench"))
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // While the job runs, the credentials sit in a 0700 directory with 0600 files.
    let start = Instant::now();
    let mut checked = false;
    while job.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(130) {
        if let Some(run) = std::fs::read_dir(&shared).unwrap().flatten().next() {
            let files: Vec<PathBuf> = std::fs::read_dir(run.path())
                .map(|d| d.flatten().map(|e| e.path()).collect())
                .unwrap_or_default();
            if files.len() == 4 {
                assert_eq!(mode(&run.path()), 0o700);
                for f in &files {
                    assert_eq!(mode(f), 0o600, "{}", f.display());
                }
                checked = true;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = job.wait().unwrap();
    let job_log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        status.success(),
        "sbatch --wait failed ({status}):\n{job_log}"
    );
    assert!(
        checked,
        "never saw the run's credentials directory:\n{job_log}"
    );
    assert!(job_log.contains("# collbench on job"), "{job_log}");
    assert!(
        job_log.contains("# Out of bounds values : 0 OK"),
        "{job_log}"
    );
    // The credentials directory is gone.
    assert_eq!(std::fs::read_dir(&shared).unwrap().count(), 0);

    let results = results(&out);
    assert_eq!(results["config"]["launcher"], "slurm");
    assert_eq!(results["config"]["nranks"], 4);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string();
    let hosts = results["config"]["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 4);
    for (rank, h) in hosts.iter().enumerate() {
        assert_eq!(h["rank"], rank);
        assert_eq!(h["host"], host.as_str());
    }
    let pids = pids(&results);
    assert_eq!(
        pids.iter().collect::<std::collections::BTreeSet<_>>().len(),
        4,
        "four distinct tasks: {pids:?}"
    );
    // Two channels each (a socket, endpoint and thread per channel), every size split over them.
    assert_eq!(results["config"]["channels"], 2);
    for row in results["results"].as_array().unwrap() {
        assert_eq!(row["nwrong"], 0, "{row}");
        assert_eq!(row["in_place"]["nwrong"], 0, "{row}");
        assert_eq!(row["channels"], 2, "{row}");
    }

    // More ranks than the allocation's tasks: refused at once instead of pending.
    let start = Instant::now();
    let o = Command::new("timeout")
        .args(["60", "salloc", "-n", "2"])
        .arg(env!("CARGO_BIN_EXE_collbench"))
        .args(["run", "--launcher", "slurm", "--np", "4", "--shared-dir"])
        .arg(&shared)
        .arg("--out")
        .arg(dir.join("refused"))
        .output()
        .unwrap();
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("--np 4 is more than the allocation's 2 tasks (SLURM_NTASKS)"),
        "{err}"
    );
    assert!(start.elapsed() < Duration::from_secs(30));
}

#[test]
fn outside_an_allocation_the_slurm_launcher_says_so() {
    let o = collbench()
        .args(["run", "--launcher", "slurm", "--np", "2"])
        .env_remove("SLURM_JOB_ID")
        .env_remove("SLURM_NTASKS")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--launcher slurm runs inside a Slurm allocation"),
        "{}",
        stderr(&o)
    );
}
