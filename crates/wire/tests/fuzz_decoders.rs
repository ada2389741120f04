//! Fuzzing the decoders of untrusted wire input (issue 7, item 5): the frame header, the control
//! messages from either side, and the HDR histograms carried in reports and results files.
//!
//! Each target feeds arbitrary bytes and structure-aware mutations of valid encodings (byte flips,
//! splices, dictionary tokens, and JSON edits that swap a value, drop a field or add one) and
//! asserts: no panic; every error is clear (names the field, or the line/column or byte
//! position); and no single allocation during a decode beyond a stated bound (a counting global
//! allocator measures it). A few thousand cases per target run with `cargo test`;
//! `scripts/fuzz.sh` runs a million or more with `COLLBENCH_FUZZ_CASES`.

#![allow(clippy::unwrap_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::fmt::Debug;
use std::panic::{catch_unwind, AssertUnwindSafe};

use base64::Engine;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use topologies::{Algorithm, BuildOptions, DataType, ReduceOp};
use wire::control::{
    decode_from_coordinator, decode_from_node, FromCoordinator, FromNode, PeerInfo, Placement,
    Report, TransportParams, PROTOCOL,
};
use wire::frame::{parse_header, HEADER_LEN, MAX_FRAME};
use wire::histogram::{self, MAX_ENCODED_BYTES};
use wire::{Plan, WireError};

// ---------------------------------------------------------------------------------------------
// Harness (the same in crates/coordinator/tests/fuzz_inputs.rs and
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

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn valid_histograms() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for values in [
        &[][..],
        &[1u64],
        &[10_000, 20_000, 20_000, 5_000_000],
        &[1, 999, 1 << 40],
    ] {
        let mut h = histogram::new();
        for &v in values {
            histogram::record(&mut h, v);
        }
        let text = histogram::to_base64(&h).unwrap();
        out.push(
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .unwrap(),
        );
        let mut raw = Vec::new();
        use hdrhistogram::serialization::Serializer;
        hdrhistogram::serialization::V2Serializer::new()
            .serialize(&h, &mut raw)
            .unwrap();
        out.push(raw);
    }
    out
}

fn from_node_seeds() -> Vec<FromNode> {
    let mut h = histogram::new();
    for v in [1000u64, 2000, 3000] {
        histogram::record(&mut h, v);
    }
    vec![
        FromNode::Register {
            protocol: PROTOCOL,
            token: "0123456789abcdef".into(),
            rank: 3,
            nranks: 4,
            data_addr: "127.0.0.1:40000".into(),
            host: "vm".into(),
            pid: 4242,
        },
        FromNode::Ready {},
        FromNode::Arrive { epoch: 7 },
        FromNode::Report(Report {
            algorithm: Algorithm::Ring,
            size: 1024,
            placement: Placement::InPlace,
            iter_ns: vec![1000, 2000, 3000],
            histogram: histogram::to_base64(&h).unwrap(),
            nwrong: Some(0),
        }),
        FromNode::Failed {
            context: "ring step 2".into(),
            error: "peer 1 closed".into(),
        },
    ]
}

fn from_coordinator_seeds() -> Vec<FromCoordinator> {
    let peers = (0..4)
        .map(|r| PeerInfo {
            rank: r,
            data_addr: format!("127.0.0.1:{}", 40000 + r),
            cert_der_b64: "MIIB".into(),
        })
        .collect();
    vec![
        FromCoordinator::Plan(Plan {
            run_id: "run-1".into(),
            nranks: 4,
            peers,
            algorithms: vec![Algorithm::Ring, Algorithm::DbTree],
            sizes: vec![1024, 4096],
            dtype: DataType::Float,
            op: ReduceOp::Sum,
            warmup_iters: 1,
            iters: 3,
            check: true,
            build: BuildOptions::default(),
            transport: TransportParams {
                stream_receive_window: 1 << 20,
                receive_window: 1 << 22,
                send_window: 1 << 22,
                idle_timeout_ms: 10_000,
            },
        }),
        FromCoordinator::Release { epoch: 3 },
        FromCoordinator::Abort {
            reason: "rank 2 failed".into(),
        },
        FromCoordinator::Done,
    ]
}

fn json_seeds<T: serde::Serialize>(msgs: &[T]) -> Vec<serde_json::Value> {
    msgs.iter()
        .map(|m| serde_json::to_value(m).unwrap())
        .collect()
}

fn byte_seeds<T: serde::Serialize>(msgs: &[T]) -> Vec<Vec<u8>> {
    msgs.iter()
        .map(|m| serde_json::to_vec(m).unwrap())
        .collect()
}

/// A control decoder's error is clear when it names a field, a line and column, a variant, or
/// (for a wrong type inside a tagged message, where serde keeps no position) the message.
fn clear_wire_error(e: &WireError) -> Result<(), String> {
    match e {
        WireError::Invalid { field, .. } if !field.is_empty() => Ok(()),
        WireError::Malformed(m)
            if (m.contains("line ") && m.contains("column "))
                || m.contains("field `")
                || m.contains("variant `")
                || m.contains(" message)") =>
        {
            Ok(())
        }
        other => Err(format!("unclear error: {other}")),
    }
}

/// serde_json's allocations follow the input: a generous multiple of its length.
fn json_bound(input: &[u8]) -> usize {
    (64 << 10) + 16 * input.len()
}

// ---------------------------------------------------------------------------------------------
// Targets.

/// The frame header: only a collbench frame of this version with a length within MAX_FRAME is
/// accepted, so the reader (bench-node control_io) never allocates more than MAX_FRAME bytes.
#[test]
fn fuzz_frame_header() {
    let valid = wire::frame::encode(br#"{"type":"ready"}"#).unwrap();
    let strategy = prop_oneof![
        bytes(HEADER_LEN + 1),
        mutated(vec![valid[..HEADER_LEN].to_vec()]),
        // Valid magic and version, any length.
        any::<u32>().prop_map(|n| {
            let mut h = b"CLBN\x00\x01".to_vec();
            h.extend_from_slice(&n.to_be_bytes());
            h
        }),
    ];
    fuzz(
        "frame_header",
        4000,
        strategy,
        |_| 1024,
        |b| {
            let mut h = [0u8; HEADER_LEN];
            let n = b.len().min(HEADER_LEN);
            h[..n].copy_from_slice(&b[..n]);
            match parse_header(&h) {
                Ok(len) if len <= MAX_FRAME => Ok(Outcome::Accepted),
                Ok(len) => Err(format!("accepted a length {len} above MAX_FRAME")),
                Err(WireError::BadMagic(_) | WireError::Version { .. }) => Ok(Outcome::Refused),
                Err(WireError::TooLarge { len, max }) if len > max => Ok(Outcome::Refused),
                Err(e) => Err(format!("unexpected error: {e}")),
            }
        },
    );
}

/// Whole frames: the header is checked before anything is sized from it, then the payload is
/// decoded as either side's message.
#[test]
fn fuzz_framed_messages() {
    let mut seeds: Vec<Vec<u8>> = from_node_seeds()
        .iter()
        .map(|m| wire::control::encode(m).unwrap())
        .collect();
    seeds.extend(
        from_coordinator_seeds()
            .iter()
            .map(|m| wire::control::encode(m).unwrap()),
    );
    fuzz(
        "framed_messages",
        2000,
        prop_oneof![bytes(64), mutated(seeds)],
        |b| json_bound(b),
        |b| {
            if b.len() < HEADER_LEN {
                return Ok(Outcome::Refused);
            }
            let h: [u8; HEADER_LEN] = b[..HEADER_LEN].try_into().unwrap();
            let len = match parse_header(&h) {
                Ok(len) if len <= MAX_FRAME => len,
                Ok(len) => return Err(format!("length {len} above MAX_FRAME")),
                Err(_) => return Ok(Outcome::Refused),
            };
            // The reader would now allocate `len` (<= MAX_FRAME) and wait for that many bytes.
            let Some(payload) = b.get(HEADER_LEN..HEADER_LEN + len) else {
                return Ok(Outcome::Refused);
            };
            let a = decode_from_node(payload);
            let c = decode_from_coordinator(payload);
            for e in a.as_ref().err().into_iter().chain(c.as_ref().err()) {
                clear_wire_error(e)?;
            }
            Ok(if a.is_ok() || c.is_ok() {
                Outcome::Accepted
            } else {
                Outcome::Refused
            })
        },
    );
}

fn check_from_node(b: &[u8]) -> Result<Outcome, String> {
    match decode_from_node(b) {
        Ok(FromNode::Register { rank, nranks, .. }) if rank >= nranks => {
            Err(format!("accepted rank {rank} of {nranks}"))
        }
        Ok(FromNode::Report(r)) => {
            // What the coordinator does next with a report's histogram must not panic either.
            if let Err(e) = histogram::from_base64(&r.histogram) {
                clear_histogram_error(&e)?;
            }
            Ok(Outcome::Accepted)
        }
        Ok(_) => Ok(Outcome::Accepted),
        Err(e) => clear_wire_error(&e).map(|()| Outcome::Refused),
    }
}

#[test]
fn fuzz_control_from_node() {
    let msgs = from_node_seeds();
    fuzz(
        "control_from_node",
        3000,
        prop_oneof![
            bytes(256),
            mutated(byte_seeds(&msgs)),
            json_mutated(json_seeds(&msgs)),
        ],
        // A report's histogram is decoded too (bound: see fuzz_histogram).
        |b| json_bound(b) + (4 << 20),
        |b| check_from_node(b),
    );
}

#[test]
fn fuzz_control_from_coordinator() {
    let msgs = from_coordinator_seeds();
    fuzz(
        "control_from_coordinator",
        3000,
        prop_oneof![
            bytes(256),
            mutated(byte_seeds(&msgs)),
            json_mutated(json_seeds(&msgs)),
        ],
        |b| json_bound(b),
        |b| match decode_from_coordinator(b) {
            Ok(FromCoordinator::Plan(p)) => {
                if p.nranks as usize != p.peers.len() || p.sizes.is_empty() || p.iters == 0 {
                    return Err(format!("accepted an inconsistent plan {p:?}"));
                }
                Ok(Outcome::Accepted)
            }
            Ok(_) => Ok(Outcome::Accepted),
            Err(e) => clear_wire_error(&e).map(|()| Outcome::Refused),
        },
    );
}

/// A histogram error is clear when it says which part was wrong (base64 offset, byte position,
/// cookie, payload, limit).
fn clear_histogram_error(e: &WireError) -> Result<(), String> {
    let m = e.to_string();
    let named = [
        "base64", "byte", "cookie", "payload", "limit", "inflat", "header",
    ]
    .iter()
    .any(|w| m.contains(w));
    if named && m.contains("histogram") {
        Ok(())
    } else {
        Err(format!("unclear histogram error: {m}"))
    }
}

/// An uncompressed V2 header with chosen fields, then payload bytes.
fn v2_with(payload_len: u32, digits: u32, low: u64, high: u64, payload: &[u8]) -> Vec<u8> {
    let mut b = 0x1c84_9313u32.to_be_bytes().to_vec();
    b.extend_from_slice(&payload_len.to_be_bytes());
    b.extend_from_slice(&0u32.to_be_bytes());
    b.extend_from_slice(&digits.to_be_bytes());
    b.extend_from_slice(&low.to_be_bytes());
    b.extend_from_slice(&high.to_be_bytes());
    b.extend_from_slice(&1.0f64.to_be_bytes());
    b.extend_from_slice(payload);
    b
}

/// The histogram decoder reads base64 from reports and results files. Bound: no single
/// allocation above 4 MiB (1 MiB decoded, inflation capped at 1 MiB + growth, the counts array
/// of `histogram::new()`), whatever the header's length, digits or range fields say.
#[test]
fn fuzz_histogram() {
    let valid = valid_histograms();
    let header_fields = (
        prop_oneof![Just(u32::MAX), any::<u32>(), 0u32..64],
        prop_oneof![0u32..8, any::<u32>()],
        prop_oneof![Just(1u64), any::<u64>()],
        prop_oneof![Just(histogram::MAX_NS), Just(u64::MAX), any::<u64>()],
        bytes(32),
    )
        .prop_map(|(n, d, lo, hi, p)| v2_with(n, d, lo, hi, &p));
    let strategy = prop_oneof![
        // Any text, and text from the base64 alphabet (which gets past the base64 decoder).
        any::<String>().prop_map(String::into_bytes),
        "[A-Za-z0-9+/]{0,200}={0,2}".prop_map(String::into_bytes),
        bytes(128).prop_map(|b| b64(&b).into_bytes()),
        mutated(valid).prop_map(|b| b64(&b).into_bytes()),
        header_fields.prop_map(|b| b64(&b).into_bytes()),
    ];
    fuzz(
        "histogram",
        3000,
        strategy,
        |_| 4 << 20,
        |text| {
            let text = String::from_utf8_lossy(text);
            match histogram::from_base64(&text) {
                Ok(h) => {
                    // What the model does with one: walk its recorded values.
                    let n: u64 = h
                        .iter_recorded()
                        .map(|v| v.count_at_value())
                        .fold(0u64, u64::saturating_add);
                    if n > h.len() {
                        return Err(format!("recorded {n} but len {}", h.len()));
                    }
                    Ok(Outcome::Accepted)
                }
                Err(e) => clear_histogram_error(&e).map(|()| Outcome::Refused),
            }
        },
    );
}

/// The header fields that used to reach hdrhistogram unchecked: refused by position, not by
/// allocating.
#[test]
fn histogram_length_fields_are_refused_before_allocation() {
    for (bytes, want) in [
        (v2_with(u32::MAX, 3, 1, histogram::MAX_NS, &[]), "(byte 4)"),
        (v2_with(0, 200, 1, histogram::MAX_NS, &[]), "(byte 12)"),
        (v2_with(0, 3, 1, u64::MAX, &[]), "(byte 24)"),
    ] {
        PEAK.with(|p| p.set(0));
        let e = histogram::from_base64(&b64(&bytes)).unwrap_err();
        assert!(e.to_string().contains(want), "{e}");
        assert!(PEAK.with(|p| p.get()) < 1 << 20);
    }
    let too_long = "A".repeat(MAX_ENCODED_BYTES * 2);
    assert!(histogram::from_base64(&too_long).is_err());
}
