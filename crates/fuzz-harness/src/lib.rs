//! The fuzzing harness shared by collbench's fuzz targets (issue 7, item 5): a counting
//! allocator, the `fuzz` runner that counts panics, refusals and acceptances, and byte- and
//! JSON-level mutation strategies.
//!
//! A test binary installs the allocator itself:
//! `#[global_allocator] static ALLOC: fuzz_harness::PeakAlloc = fuzz_harness::PeakAlloc;`

#![allow(clippy::unwrap_used)] // test support: a panic here is a failing test

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::fmt::Debug;
use std::panic::{catch_unwind, AssertUnwindSafe};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// Records the largest single allocation request made on this thread since the last reset.
pub struct PeakAlloc;

thread_local! {
    pub static PEAK: Cell<usize> = const { Cell::new(0) };
}

pub fn note(size: usize) {
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

/// An input as text where it is text, for failure messages.
pub fn show<T: Debug>(input: &T) -> String {
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
pub enum Outcome {
    Accepted,
    Refused,
}

/// Cases per target: `COLLBENCH_FUZZ_CASES` when set (scripts/fuzz.sh), else `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("COLLBENCH_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Runs `check` on inputs drawn from `strategy`, counting panics, refusals and acceptances, and
/// fails if anything panicked, `check` reported a violation (an unclear error, an accepted value
/// out of range), or one allocation exceeded `alloc_bound(input)`.
pub fn fuzz<S>(
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
pub const TOKENS: &[&str] = &[
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
pub enum Mutation {
    Flip(usize, u8),
    Set(usize, u8),
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    Token(usize, usize),
    Duplicate(usize, usize, usize),
    Truncate(usize),
    Number(usize, usize),
}

pub fn mutation() -> impl Strategy<Value = Mutation> {
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

pub fn apply(mut b: Vec<u8>, ms: &[Mutation]) -> Vec<u8> {
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
pub fn mutated(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let n = seeds.len();
    (0..n, proptest::collection::vec(mutation(), 1..6))
        .prop_map(move |(i, ms)| apply(seeds[i].clone(), &ms))
}

/// JSON Pointers of every value in `v`.
pub fn pointers(v: &serde_json::Value, at: String, out: &mut Vec<String>) {
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
pub fn edit(v: &mut serde_json::Value, which: prop::sample::Index, kind: u8) {
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
pub fn json_mutated(seeds: Vec<serde_json::Value>) -> impl Strategy<Value = Vec<u8>> {
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

pub fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}
