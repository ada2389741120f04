//! What a node can learn about the cores it runs on: the CPUs it may use (its affinity), the
//! machine it shares them on, its control group's CPU quota, and the CPU time of a thread.
//!
//! The coordinator divides a machine's CPUs among the ranks it runs (`--channels auto`) and
//! compares the CPU each rank's data plane used with the cores it was given, so a run can say
//! when a number was set by a host's CPU rather than by its links.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The CPUs this process may run on, in the kernel's list syntax ("0-3,8"), from
/// `/proc/self/status`; all of `available_parallelism` when that cannot be read.
pub fn affinity() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| cpus_allowed_list(&s))
        .unwrap_or_else(|| {
            let n = std::thread::available_parallelism().map_or(1, |n| n.get());
            format!("0-{}", n.saturating_sub(1))
        })
}

/// The `Cpus_allowed_list` of a `/proc/<pid>/status` text, when it parses.
fn cpus_allowed_list(status: &str) -> Option<String> {
    let list = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))?
        .trim();
    wire::cpus::parse(list).ok()?;
    Some(list.to_string())
}

/// The machine this process runs on: the kernel's boot id, which every network namespace and
/// container on one machine shares; the host name when it cannot be read.
pub fn machine(fallback: &str) -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty() && s.len() <= 64)
        .unwrap_or_else(|| fallback.chars().take(64).collect())
}

/// The cores this process's control group may use (cgroup v2 `cpu.max`, the tightest of the
/// group and its parents); `None` when unlimited or unknown.
pub fn cpu_quota() -> Option<f64> {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let own = cgroup.lines().find_map(|l| l.strip_prefix("0::"))?.trim();
    let root = Path::new("/sys/fs/cgroup");
    let mut dir: PathBuf = root.join(own.trim_start_matches('/'));
    let mut tightest: Option<f64> = None;
    // Bounded walk from the group up to the root.
    for _ in 0..64 {
        if let Some(q) = std::fs::read_to_string(dir.join("cpu.max"))
            .ok()
            .and_then(|s| parse_cpu_max(&s))
        {
            tightest = Some(tightest.map_or(q, |t| t.min(q)));
        }
        if dir == root || !dir.pop() {
            break;
        }
    }
    tightest
}

/// Cores from a `cpu.max` text: "QUOTA PERIOD" gives QUOTA / PERIOD, "max PERIOD" none.
fn parse_cpu_max(text: &str) -> Option<f64> {
    let mut it = text.split_whitespace();
    let quota: f64 = it.next()?.parse().ok()?;
    let period: f64 = it.next()?.parse().ok()?;
    (quota > 0.0 && period > 0.0).then_some(quota / period)
}

/// Time the calling thread has spent runnable but waiting for a core (Linux's run-queue delay,
/// the second field of /proc/thread-self/schedstat), or `None` where the kernel does not say.
pub fn thread_runqueue_wait() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    parse_schedstat_wait(&text)
}

/// The run-queue wait of a schedstat text: "RUN_NS WAIT_NS TIMESLICES".
fn parse_schedstat_wait(text: &str) -> Option<Duration> {
    let mut fields = text.split_whitespace();
    let _run: u64 = fields.next()?.parse().ok()?;
    let wait: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_nanos(wait))
}

/// Binds the calling thread to CPU `cpu` alone.
pub fn bind_this_thread(cpu: u32) -> nix::Result<()> {
    let mut set = nix::sched::CpuSet::new();
    set.set(cpu as usize)?;
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
}

/// CPU time the calling thread has used (user and system), or zero if the clock cannot be read.
pub fn thread_cpu_time() -> Duration {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)
        .map(Duration::from)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allowed_list_is_read_from_the_status_text() {
        let status =
            "Name:\tcollbench\nCpus_allowed:\tff\nCpus_allowed_list:\t0-7\nMems_allowed_list:\t0\n";
        assert_eq!(cpus_allowed_list(status).as_deref(), Some("0-7"));
        assert_eq!(cpus_allowed_list("Name:\tx\n"), None);
        assert_eq!(cpus_allowed_list("Cpus_allowed_list:\tgarbage\n"), None);
        // This process's own.
        assert!(wire::cpus::parse(&affinity()).is_ok());
    }

    #[test]
    fn a_cpu_max_limit_is_cores_and_max_is_none() {
        assert_eq!(parse_cpu_max("200000 100000\n"), Some(2.0));
        assert_eq!(parse_cpu_max("50000 100000"), Some(0.5));
        assert_eq!(parse_cpu_max("max 100000\n"), None);
        assert_eq!(parse_cpu_max(""), None);
    }

    #[test]
    fn the_run_queue_wait_is_the_second_schedstat_field() {
        assert_eq!(
            parse_schedstat_wait("390933 4840 2\n"),
            Some(Duration::from_nanos(4840))
        );
        assert_eq!(parse_schedstat_wait("390933"), None);
        assert_eq!(parse_schedstat_wait("a b c"), None);
        assert_eq!(parse_schedstat_wait(""), None);
    }

    #[test]
    fn a_busy_thread_uses_cpu_time() {
        let before = thread_cpu_time();
        let mut x = 0u64;
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_millis(20) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        assert!(thread_cpu_time() > before);
    }
}
