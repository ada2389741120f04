//! Helpers for tests that run the real `collbench` binary.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn collbench() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_collbench"));
    c.env("RUST_LOG", "warn");
    c
}

/// A test's own directory under the system's temporary one, empty at the start and removed
/// with everything in it when the test ends (passing or failing).
pub struct TestDir(PathBuf);

impl std::ops::Deref for TestDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TestDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<std::ffi::OsStr> for TestDir {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn tempdir(name: &str) -> TestDir {
    let dir = std::env::temp_dir().join(format!("collbench-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    TestDir(dir)
}

pub fn schema() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../results/schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("schema file")).expect("schema JSON")
}

/// Reads `dir/results.json`, validates it against the committed schema and returns it.
pub fn results(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("results.json")).expect("results.json exists");
    let value: serde_json::Value = serde_json::from_str(&text).expect("results.json is JSON");
    let schema = schema();
    let validator = jsonschema::JSONSchema::compile(&schema).expect("schema compiles");
    if let Err(errors) = validator.validate(&value) {
        let msgs: Vec<String> = errors
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        panic!("results.json does not match results/schema.json: {msgs:#?}");
    }
    // The typed reader accepts it too.
    serde_json::from_value::<wire::results::ResultsFile>(value.clone()).expect("typed results");
    value
}

/// The repository's root (for its scenarios and labs).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `collbench model ARGS`, which must succeed (its output in the failure message).
pub fn model_ok(args: &[&str]) -> Output {
    let out = collbench().arg("model").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "model {args:?}:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    out
}

/// `collbench model ARGS`, which must fail with every one of `expect` in its error output, and
/// without a panic.
pub fn model_fails_with(args: &[&str], expect: &[&str]) {
    let out = collbench().arg("model").args(args).output().unwrap();
    assert!(!out.status.success(), "model {args:?} should fail");
    let err = stderr(&out);
    for e in expect {
        assert!(err.contains(e), "model {args:?}: expected '{e}' in:\n{err}");
    }
    assert!(!err.contains("panicked"), "model {args:?} panicked:\n{err}");
}

/// A JSON file, parsed.
pub fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A path as a command-line argument.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The PIDs recorded for each rank.
pub fn pids(results: &serde_json::Value) -> Vec<u32> {
    results["config"]["hosts"]
        .as_array()
        .expect("hosts")
        .iter()
        .map(|h| h["pid"].as_u64().expect("pid") as u32)
        .collect()
}

/// True while a process with this PID exists (and is not a zombie).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

/// The `config` of a synthetic results file: `nranks` ranks of `algorithms` over `sizes`, float
/// sum, 1 warm-up and 20 timed iterations, nothing recorded that a real run would add (link rate,
/// shapes, timing: the defaults of an older file). One place to extend when results grow a field.
pub fn synthetic_config(
    nranks: usize,
    algorithms: &[topologies::Algorithm],
    sizes: Vec<u64>,
    segment_bytes: u64,
) -> wire::results::RunConfig {
    wire::results::RunConfig {
        run_id: format!("synthetic-{nranks}"),
        started_at: "2026-01-01T00:00:00Z".into(),
        nranks,
        launcher: "local".into(),
        collectives: vec![topologies::Collective::AllReduce],
        algorithms: algorithms.to_vec(),
        root: None,
        minbytes: 1 << 10,
        maxbytes: 1 << 20,
        stepfactor: 2,
        sizes,
        dtype: topologies::DataType::Float,
        redop: topologies::ReduceOp::Sum,
        types: Vec::new(),
        redops: Vec::new(),
        warmup_iters: 1,
        iters: 20,
        check: true,
        check_iters: None,
        segment_bytes,
        ring_segment_bytes: None,
        hosts: (0..nranks)
            .map(|rank| wire::results::RankHost {
                rank,
                host: format!("h{rank}"),
                pid: 1,
                data_addr: "127.0.0.1:1".into(),
                data_addrs: Vec::new(),
                cpus: None,
                cores: None,
                bound_cpus: None,
                cpu_model: None,
                kernel: None,
                interface: None,
                link_speed_mbps: None,
            })
            .collect(),
        link_rate_bps: None,
        uplink_rate_bps: None,
        ranks_per_node: None,
        mtu: None,
        data_plane_unencrypted: false,
        jitter: None,
        poll_us: None,
        timing: None,
        group_size: None,
        hier_inner: None,
        hier_outer: None,
        grid: None,
        channels: None,
        channel_min_bytes: None,
        stepbytes: None,
        run_cycles: None,
        agg_iters: None,
        average: None,
        command_line: None,
        ended_at: None,
    }
}

/// One all-reduce row of a synthetic results file: `size` bytes (float sum) taking `time_us` on
/// every rank and in both placements, with `histogram` (base64 HDR, or empty) as the per-rank
/// latencies.
pub fn synthetic_row(
    algorithm: topologies::Algorithm,
    nranks: usize,
    size: u64,
    time_us: f64,
    histogram: String,
) -> wire::results::ResultRow {
    synthetic_case_row(
        topologies::Case::all_reduce(algorithm),
        nranks,
        size,
        time_us,
        histogram,
    )
}

/// [`synthetic_row`] of any collective: its element count as nccl-tests rounds it, a root of 0
/// for the rooted collectives (-1 for the others), no reduction operator where it has none.
pub fn synthetic_case_row(
    case: topologies::Case,
    nranks: usize,
    size: u64,
    time_us: f64,
    histogram: String,
) -> wire::results::ResultRow {
    let collective = case.collective;
    let measured = |histogram| wire::results::Measured {
        iter_us: Vec::new(),
        time: time_us,
        alg_bw: 0.0,
        bus_bw: 0.0,
        nwrong: Some(0),
        per_iter: wire::stats::IterStats {
            mean_us: time_us,
            min_us: time_us,
            p50_us: time_us,
            p95_us: time_us,
            p99_us: time_us,
            max_us: time_us,
            stdev_us: 0.0,
        },
        rank_histogram: histogram,
        rank_mean_us: vec![time_us; nranks],
        rank_iter_us: vec![vec![time_us]; nranks],
        rank_cpu: Vec::new(),
        cpu_bound_ranks: Vec::new(),
        sched_bound_ranks: Vec::new(),
    };
    wire::results::ResultRow {
        collective,
        algorithm: case.algorithm,
        nranks,
        size,
        count: collective.count_for(size, 4, nranks),
        dtype: topologies::DataType::Float,
        redop: topologies::ReduceOp::Sum,
        root: if collective.rooted() { 0 } else { -1 },
        channels: None,
        out_of_place: measured(histogram.clone()),
        in_place: measured(histogram),
        link_rate_bps: None,
        uplink_rate_bps: None,
        link_efficiency: None,
    }
}

/// Set (CI sets it) to make a test whose prerequisite is missing fail rather than skip.
pub const REQUIRE_ALL: &str = "COLLBENCH_REQUIRE_ALL_TESTS";

/// Whether test `what` can run here: `missing` names what it lacks. A test that cannot says so
/// in one line on stderr (written past the test harness's capture) and passes, unless
/// [`REQUIRE_ALL`] is set, where it fails with the same line.
pub fn runnable(what: &str, missing: &[String]) -> bool {
    use std::io::Write;
    if missing.is_empty() {
        return true;
    }
    let why = format!("{what}: not run: needs {}", missing.join(", "));
    assert!(
        std::env::var_os(REQUIRE_ALL).is_none(),
        "{why} ({REQUIRE_ALL} is set)"
    );
    let _ = writeln!(std::io::stderr(), "{why}");
    false
}

/// "root" when this process is not root.
pub fn need_root(why: &str) -> Option<String> {
    (!nix::unistd::geteuid().is_root()).then(|| format!("root ({why}; run as root or sudo -E)"))
}

/// The program `name` from package `package`, when it is neither on PATH nor in an sbin
/// directory (where a user's PATH often does not reach), nor at its path.
pub fn need_program(name: &str, package: &str) -> Option<String> {
    let found = if name.starts_with('/') {
        Path::new(name).is_file()
    } else {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
            .any(|d| d.join(name).is_file())
    };
    (!found).then(|| format!("{name} (package {package})"))
}

/// What the network-namespace tests need that is missing: root and iproute2.
pub fn netns_missing() -> Vec<String> {
    let mut missing: Vec<String> = need_root("it builds network namespaces")
        .into_iter()
        .collect();
    for tool in ["ip", "tc", "bridge"] {
        missing.extend(need_program(tool, "iproute2"));
    }
    missing
}
