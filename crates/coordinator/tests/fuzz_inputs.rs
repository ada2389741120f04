//! Fuzzing the file parsers the coordinator reads (issue 7, item 5): results files given to the
//! model (the typed reader, the model's loader and its histogram expansion) and topology files.
//!
//! Each target feeds arbitrary bytes or text and structure-aware mutations of valid inputs (a
//! results.json made here from the writer's types, the shipped `topologies/*.toml`): byte
//! flips, splices, dictionary tokens, and JSON edits that swap a value, drop a field or add one.
//! Asserted: no panic; every error is clear (names the file and line or the field); no single
//! allocation during a parse beyond a stated bound (measured by a counting global allocator).
//! `scripts/fuzz.sh` runs a million or more inputs per target with `COLLBENCH_FUZZ_CASES`.

#![allow(clippy::unwrap_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::fmt::Debug;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use coordinator::model::load::{histogram_samples, load};
use coordinator::topology_file::Topology;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use topologies::{Algorithm, DataType, ReduceOp};
use wire::results::{Failure, Measured, RankHost, ResultRow, ResultsFile, RunConfig};
use wire::stats::IterStats;

// ---------------------------------------------------------------------------------------------
// Harness (the same in crates/wire/tests/fuzz_decoders.rs and
// crates/scale-model/tests/fuzz_scenarios.rs).

/// Records the largest single allocation request made on this thread since the last reset.
struct PeakAlloc;

thread_local! {
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = PEAK.try_with(|p| {
        if size > p.get() {
            p.set(size);
        }
    });
}

#[allow(unsafe_code)]
unsafe impl GlobalAlloc for PeakAlloc {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        note(l.size());
        System.alloc(l)
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        note(l.size());
        System.alloc_zeroed(l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        System.realloc(p, l, new_size)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
}

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

/// An input as text where it is text, for failure messages.
fn show<T: Debug>(input: &T) -> String {
    let d = format!("{input:?}");
    let bytes: Option<Vec<u8>> = d
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .and_then(|x| x.split(", ").map(|n| n.parse().ok()).collect());
    match bytes {
        Some(b) => format!("{:?}", String::from_utf8_lossy(&b)),
        None => d,
    }
}

/// What a decoder made of one input.
enum Outcome {
    Accepted,
    Refused,
}

/// Cases per target: `COLLBENCH_FUZZ_CASES` when set (scripts/fuzz.sh), else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("COLLBENCH_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Runs `check` on inputs drawn from `strategy`, counting panics, refusals and acceptances, and
/// fails if anything panicked, `check` reported a violation (an unclear error, an accepted value
/// out of range), or one allocation exceeded `alloc_bound(input)`.
fn fuzz<S>(
    target: &str,
    default_cases: u32,
    strategy: S,
    alloc_bound: impl Fn(&S::Value) -> usize,
    check: impl Fn(&S::Value) -> Result<Outcome, String>,
) where
    S: Strategy,
    S::Value: Debug,
{
    let n = cases(default_cases);
    let config = Config {
        cases: n,
        failure_persistence: None,
        ..Config::default()
    };
    // Reproducible in `cargo test`; a fresh seed for scripted runs.
    let mut runner = if std::env::var_os("COLLBENCH_FUZZ_CASES").is_some() {
        TestRunner::new(config)
    } else {
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha))
    };
    let (tried, panics, errors, accepted, peak) = (
        Cell::new(0u64),
        Cell::new(0u64),
        Cell::new(0u64),
        Cell::new(0u64),
        Cell::new(0usize),
    );
    let first_bad: RefCell<Vec<String>> = RefCell::new(Vec::new());
    let bad = |what: String| {
        let mut b = first_bad.borrow_mut();
        if b.len() < 5 {
            b.push(what);
        }
    };
    runner
        .run(&strategy, |input| {
            tried.set(tried.get() + 1);
            PEAK.with(|p| p.set(0));
            let result = catch_unwind(AssertUnwindSafe(|| check(&input)));
            let used = PEAK.with(|p| p.get());
            peak.set(peak.get().max(used));
            let bound = alloc_bound(&input);
            if used > bound {
                bad(format!(
                    "allocation of {used} bytes exceeds the bound {bound} for {}",
                    show(&input)
                ));
            }
            match result {
                Err(_) => {
                    panics.set(panics.get() + 1);
                    bad(format!("panic on {}", show(&input)));
                }
                Ok(Ok(Outcome::Accepted)) => accepted.set(accepted.get() + 1),
                Ok(Ok(Outcome::Refused)) => errors.set(errors.get() + 1),
                Ok(Err(why)) => {
                    errors.set(errors.get() + 1);
                    bad(format!("{why} (input {})", show(&input)));
                }
            }
            Ok(())
        })
        .unwrap();
    eprintln!(
        "fuzz target {target}: inputs {} panics {} errors {} accepted {} largest-allocation {}",
        tried.get(),
        panics.get(),
        errors.get(),
        accepted.get(),
        peak.get()
    );
    let first_bad = first_bad.into_inner();
    assert!(
        first_bad.is_empty(),
        "{target}: {} panic(s); first problems:\n{}",
        panics.get(),
        first_bad.join("\n")
    );
}

/// Tokens spliced into inputs: JSON and TOML structure, and numbers at the edges of their types.
const TOKENS: &[&str] = &[
    "\"",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "=",
    "\n",
    "null",
    "true",
    "false",
    "-1",
    "0",
    "-0",
    "1e400",
    "-1e400",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "1.5",
    "18446744073709551615",
    "18446744073709551616",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "\"\"",
    "\\u0000",
    "\\ud800",
    "#",
    "'''",
    "\"\"\"",
    "[[host]]",
    "[cluster]",
    "[[network.tiers]]",
    "\u{e9}",
    "\u{0}",
    "\u{feff}",
    "type",
    "name",
];

#[derive(Clone, Debug)]
enum Mutation {
    Flip(usize, u8),
    Set(usize, u8),
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    Token(usize, usize),
    Duplicate(usize, usize, usize),
    Truncate(usize),
    Number(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(p, b)| Mutation::Flip(p, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::Set(p, b)),
        (any::<usize>(), 1usize..32).prop_map(|(p, n)| Mutation::Delete(p, n)),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(p, b)| Mutation::Insert(p, b)),
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(p, t)| Mutation::Token(p, t)),
        (any::<usize>(), 1usize..64, any::<usize>())
            .prop_map(|(p, n, to)| Mutation::Duplicate(p, n, to)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(p, t)| Mutation::Number(p, t)),
    ]
}

fn apply(mut b: Vec<u8>, ms: &[Mutation]) -> Vec<u8> {
    for m in ms {
        let len = b.len();
        let at = |p: usize| if len == 0 { 0 } else { p % (len + 1) };
        match m {
            Mutation::Flip(p, bit) if len > 0 => b[p % len] ^= 1 << bit,
            Mutation::Set(p, v) if len > 0 => b[p % len] = *v,
            Mutation::Delete(p, n) => {
                let s = at(*p);
                let e = (s + n).min(len);
                b.drain(s..e);
            }
            Mutation::Insert(p, bytes) => {
                let s = at(*p);
                b.splice(s..s, bytes.iter().copied());
            }
            Mutation::Token(p, t) => {
                let s = at(*p);
                b.splice(s..s, TOKENS[*t].bytes());
            }
            Mutation::Duplicate(p, n, to) => {
                let s = at(*p);
                let piece: Vec<u8> = b[s..(s + n).min(len)].to_vec();
                let t = at(*to);
                b.splice(t..t, piece);
            }
            Mutation::Truncate(p) => b.truncate(at(*p)),
            Mutation::Number(p, t) => {
                // Replace the run of digits at or after `p` with a token.
                let s = at(*p);
                if let Some(start) = b[s..].iter().position(u8::is_ascii_digit) {
                    let start = s + start;
                    let end = b[start..]
                        .iter()
                        .position(|c| !c.is_ascii_digit())
                        .map_or(b.len(), |e| start + e);
                    b.splice(start..end, TOKENS[*t].bytes());
                }
            }
            _ => {}
        }
    }
    b
}

/// Byte-level mutations (one to five) of one of `seeds`.
fn mutated(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let n = seeds.len();
    (0..n, proptest::collection::vec(mutation(), 1..6))
        .prop_map(move |(i, ms)| apply(seeds[i].clone(), &ms))
}

/// JSON Pointers of every value in `v`.
fn pointers(v: &serde_json::Value, at: String, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                pointers(
                    x,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                pointers(x, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

/// One structural edit of a JSON document: replace a value, drop a field, add an unknown one.
fn edit(v: &mut serde_json::Value, which: prop::sample::Index, kind: u8) {
    let mut ps = Vec::new();
    pointers(v, String::new(), &mut ps);
    let p = which.get(&ps).clone();
    if kind == 0 {
        // Drop the field (or array element) at p.
        if let Some(cut) = p.rfind('/') {
            let key = p[cut + 1..].replace("~1", "/").replace("~0", "~");
            match v.pointer_mut(&p[..cut]) {
                Some(serde_json::Value::Object(m)) => {
                    m.remove(&key);
                }
                Some(serde_json::Value::Array(a)) => {
                    if let Ok(i) = key.parse::<usize>() {
                        if i < a.len() {
                            a.remove(i);
                        }
                    }
                }
                _ => {}
            }
        }
        return;
    }
    let Some(slot) = v.pointer_mut(&p) else {
        return;
    };
    *slot = match kind {
        1 => serde_json::Value::Null,
        2 => serde_json::json!(-1),
        3 => serde_json::json!(0),
        4 => serde_json::json!(u64::MAX),
        5 => serde_json::json!(i64::MIN),
        6 => serde_json::json!(1e308),
        7 => serde_json::json!(""),
        8 => serde_json::json!("x".repeat(4096)),
        9 => serde_json::json!([]),
        10 => serde_json::json!({}),
        11 => serde_json::json!([slot.clone(), slot.clone(), slot.clone()]),
        12 => {
            if let serde_json::Value::Object(m) = slot {
                m.insert("unexpected".into(), serde_json::json!(1));
            }
            slot.clone()
        }
        13 => serde_json::json!(true),
        14 => serde_json::json!(4_294_967_296u64),
        _ => serde_json::json!(0.5),
    };
}

/// One to three structural edits of one of `seeds`, serialised.
fn json_mutated(seeds: Vec<serde_json::Value>) -> impl Strategy<Value = Vec<u8>> {
    let n = seeds.len();
    (
        0..n,
        proptest::collection::vec((any::<prop::sample::Index>(), 0u8..16), 1..4),
    )
        .prop_map(move |(i, edits)| {
            let mut v = seeds[i].clone();
            for (which, kind) in edits {
                edit(&mut v, which, kind);
            }
            serde_json::to_vec(&v).unwrap()
        })
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

// ---------------------------------------------------------------------------------------------
// Valid inputs to mutate.

/// An encoded histogram of `(value ns, count)`; empty where a count exceeds what the format
/// holds (i64::MAX).
fn try_histogram_of(values: &[(u64, u64)]) -> String {
    let mut h = wire::histogram::new();
    for &(v, n) in values {
        h.saturating_record_n(v.clamp(1, wire::histogram::MAX_NS), n);
    }
    wire::histogram::to_base64(&h).unwrap_or_default()
}

fn histogram_of(values: &[(u64, u64)]) -> String {
    let t = try_histogram_of(values);
    assert!(!t.is_empty());
    t
}

fn measured(time: f64) -> Measured {
    Measured {
        time,
        alg_bw: 0.01,
        bus_bw: 0.015,
        nwrong: Some(0),
        per_iter: IterStats {
            mean_us: time,
            min_us: time * 0.9,
            p50_us: time,
            p95_us: time * 1.1,
            p99_us: time * 1.2,
            max_us: time * 1.3,
            stdev_us: 1.0,
        },
        rank_histogram: histogram_of(&[(1_000_000, 3), (1_200_000, 2)]),
        rank_mean_us: vec![time; 4],
    }
}

/// A small valid results file as `collbench run` writes it.
fn valid_results(failure: bool) -> ResultsFile {
    let row = |algorithm, size: u64| ResultRow {
        algorithm,
        nranks: 4,
        size,
        count: size / 4,
        dtype: DataType::Float,
        redop: ReduceOp::Sum,
        root: -1,
        out_of_place: measured(100.0 + size as f64 / 100.0),
        in_place: measured(90.0 + size as f64 / 100.0),
        link_rate_bps: Some(5e8),
        uplink_rate_bps: None,
        link_efficiency: Some(0.5),
    };
    ResultsFile {
        schema_version: wire::results::SCHEMA_VERSION,
        tool: "collbench 0.1.0".into(),
        config: RunConfig {
            run_id: "20260101-000000-abcd".into(),
            started_at: "2026-01-01T00:00:00Z".into(),
            nranks: 4,
            launcher: "local".into(),
            algorithms: vec![Algorithm::Ring, Algorithm::DbTree],
            minbytes: 1024,
            maxbytes: 4096,
            stepfactor: 4,
            sizes: vec![1024, 4096],
            dtype: DataType::Float,
            redop: ReduceOp::Sum,
            warmup_iters: 1,
            iters: 3,
            check: true,
            segment_bytes: 1 << 20,
            hosts: (0..4)
                .map(|r| RankHost {
                    rank: r,
                    host: "vm".into(),
                    pid: 1000 + r as u32,
                    data_addr: format!("127.0.0.1:{}", 40000 + r),
                })
                .collect(),
            link_rate_bps: Some(5e8),
            uplink_rate_bps: None,
        },
        results: vec![
            row(Algorithm::Ring, 1024),
            row(Algorithm::Ring, 4096),
            row(Algorithm::DbTree, 1024),
        ],
        failure: failure.then(|| Failure {
            message: "rank 2 timed out".into(),
            rank: Some(2),
            host: Some("vm".into()),
            algorithm: Some(Algorithm::DbTree),
            size: Some(4096),
        }),
    }
}

fn results_seeds() -> Vec<serde_json::Value> {
    [false, true]
        .iter()
        .map(|&f| serde_json::to_value(valid_results(f)).unwrap())
        .collect()
}

fn results_strategy() -> impl Strategy<Value = Vec<u8>> {
    let seeds = results_seeds();
    let pretty: Vec<Vec<u8>> = seeds
        .iter()
        .map(|v| serde_json::to_vec_pretty(v).unwrap())
        .collect();
    prop_oneof![bytes(512), mutated(pretty), json_mutated(seeds),]
}

/// serde_json errors on untagged structs always carry a line and column.
fn clear_json_error(e: &serde_json::Error) -> Result<(), String> {
    if e.line() > 0 {
        Ok(())
    } else {
        Err(format!("error without a position: {e}"))
    }
}

// ---------------------------------------------------------------------------------------------
// Targets.

/// The typed reader of results files (what the writer's own tests and the model share).
#[test]
fn fuzz_results_typed() {
    fuzz(
        "results_typed",
        2000,
        results_strategy(),
        |b| (64 << 10) + 16 * b.len(),
        |b| match serde_json::from_slice::<ResultsFile>(b) {
            Ok(_) => Ok(Outcome::Accepted),
            Err(e) => clear_json_error(&e).map(|()| Outcome::Refused),
        },
    );
}

/// A scratch directory for this test process.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("collbench-fuzz-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The model's loader (`collbench model fit|predict|validate` read results this way): each
/// input is written to a results.json and loaded. Its errors name the file.
#[test]
fn fuzz_results_model_load() {
    let dir = scratch("load");
    let path = dir.join("results.json");
    let seeds = results_seeds();
    // The loader reads a valid file.
    std::fs::write(&path, serde_json::to_vec(&seeds[0]).unwrap()).unwrap();
    let loaded = load(std::slice::from_ref(&path), Default::default()).unwrap();
    assert_eq!(loaded.measurements.len(), 3);
    fuzz(
        "results_model_load",
        1500,
        results_strategy(),
        |b| (4 << 20) + 16 * b.len(),
        |b| {
            std::fs::write(&path, b).unwrap();
            match load(std::slice::from_ref(&path), Default::default()) {
                Ok(l) => {
                    for m in &l.measurements {
                        if !(m.time_us.is_finite() && m.time_us > 0.0) {
                            return Err(format!("accepted a time of {} us", m.time_us));
                        }
                    }
                    Ok(Outcome::Accepted)
                }
                Err(e) => {
                    let msg = format!("{e:#}");
                    if msg.contains("results.json") {
                        Ok(Outcome::Refused)
                    } else {
                        Err(format!("error does not name the file: {msg}"))
                    }
                }
            }
        },
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The model's expansion of a row's latency histogram into samples (the straggler term),
/// from valid histograms with extreme counts and from mutated encodings. (Found: three counts
/// near i64::MAX overflowed the sum of counts in `scale_model::measurement::expand_histogram`.) Bound: 4 MiB (the
/// histogram decoder's) and at most MAX_SAMPLES + one sample per distinct value.
#[test]
fn fuzz_histogram_samples() {
    let valid: Vec<Vec<u8>> = [
        histogram_of(&[(1000, 1)]),
        histogram_of(&[(1_000_000, 3), (1_200_000, 2)]),
    ]
    .iter()
    .map(|t| t.clone().into_bytes())
    .collect();
    let extreme = proptest::collection::vec(
        (
            any::<u64>(),
            prop_oneof![
                3 => Just(i64::MAX as u64),
                1 => Just(i64::MAX as u64 / 2),
                1 => 1u64..1000,
            ],
        ),
        0..6,
    )
    .prop_map(|pairs| try_histogram_of(&pairs).into_bytes());
    fuzz(
        "histogram_samples",
        2000,
        prop_oneof![extreme, mutated(valid), bytes(64)],
        |_| 4 << 20,
        |b| {
            let text = String::from_utf8_lossy(b);
            match histogram_samples(&text) {
                Ok(s) => {
                    if s.len() > coordinator::model::load::MAX_SAMPLES + 40_000 {
                        return Err(format!("{} samples", s.len()));
                    }
                    Ok(Outcome::Accepted)
                }
                Err(e) => {
                    let msg = format!("{e:#}");
                    if msg.contains("rank_histogram") {
                        Ok(Outcome::Refused)
                    } else {
                        Err(format!("error does not name the field: {msg}"))
                    }
                }
            }
        },
    );
}

/// Topology files: errors name the file, the line and the field.
#[test]
fn fuzz_topology_files() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../topologies");
    let mut seeds = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "toml") {
            seeds.push(std::fs::read(&p).unwrap());
        }
    }
    assert!(seeds.len() >= 2);
    fuzz(
        "topology_files",
        3000,
        prop_oneof![
            any::<String>().prop_map(String::into_bytes),
            bytes(256),
            mutated(seeds),
        ],
        |b| (64 << 10) + 32 * b.len(),
        |b| {
            let text = String::from_utf8_lossy(b);
            match Topology::parse("t.toml", &text) {
                Ok(t) => {
                    let sum: usize = t.hosts.iter().map(|h| h.ranks).sum();
                    if t.nranks != sum || t.nranks == 0 || t.group_size * t.groups != t.nranks {
                        return Err(format!("inconsistent topology {t:?}"));
                    }
                    Ok(Outcome::Accepted)
                }
                Err(e) => {
                    let msg = e.to_string();
                    if e.line >= 1 && !e.field.is_empty() && msg.starts_with("t.toml:") {
                        Ok(Outcome::Refused)
                    } else {
                        Err(format!("unclear error: {msg}"))
                    }
                }
            }
        },
    );
}
