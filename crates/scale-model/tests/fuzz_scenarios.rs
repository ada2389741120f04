//! Fuzzing the scenario parser (issue 7, item 5): arbitrary text and structure-aware mutations
//! of the shipped `scenarios/*.toml` (byte flips, splices, TOML and number tokens). Asserted: no
//! panic; every error names the file, line and column (and the field where the file is
//! well-formed); no single allocation beyond a bound proportional to the input (a counting
//! global allocator measures it). `scripts/fuzz.sh` runs a million or more inputs with
//! `COLLBENCH_FUZZ_CASES`.

#![allow(clippy::unwrap_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::fmt::Debug;
use std::panic::{catch_unwind, AssertUnwindSafe};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use scale_model::scenario::{Scenario, ScenarioError};

// ---------------------------------------------------------------------------------------------
// Harness (the same in crates/wire/tests/fuzz_decoders.rs and
// crates/coordinator/tests/fuzz_inputs.rs).

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

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

// ---------------------------------------------------------------------------------------------
// Target.

const SHIPPED: [&str; 3] = [
    include_str!("../../../scenarios/lab.toml"),
    include_str!("../../../scenarios/llama3-24k.toml"),
    include_str!("../../../scenarios/h100-100k.toml"),
];

#[test]
fn fuzz_scenario_files() {
    let seeds: Vec<Vec<u8>> = SHIPPED.iter().map(|s| s.as_bytes().to_vec()).collect();
    for s in SHIPPED {
        Scenario::parse(s, "shipped.toml").unwrap();
    }
    fuzz(
        "scenario_files",
        3000,
        prop_oneof![
            any::<String>().prop_map(String::into_bytes),
            bytes(256),
            mutated(seeds),
        ],
        |b| (64 << 10) + 32 * b.len(),
        |b| {
            let text = String::from_utf8_lossy(b);
            match Scenario::parse(&text, "s.toml") {
                Ok(s) => {
                    if s.cluster.gpus == 0
                        || s.cluster.gpus_per_node == 0
                        || s.cluster.gpus % s.cluster.gpus_per_node != 0
                        || s.network.nic_gbit_per_s.is_nan()
                        || s.network.nic_gbit_per_s <= 0.0
                    {
                        return Err(format!("accepted an inconsistent scenario {s:?}"));
                    }
                    Ok(Outcome::Accepted)
                }
                Err(e) => {
                    let msg = e.to_string();
                    let named = match &e {
                        ScenarioError::Invalid { field, .. } => !field.is_empty(),
                        ScenarioError::Syntax { message, .. } => !message.is_empty(),
                    };
                    if named && e.line() >= 1 && msg.starts_with("s.toml:") {
                        Ok(Outcome::Refused)
                    } else {
                        Err(format!("unclear error: {msg}"))
                    }
                }
            }
        },
    );
}
