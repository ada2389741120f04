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

use base64::Engine;
use fuzz_harness::*;
use proptest::prelude::*;
use topologies::{Algorithm, BuildOptions, DataType, ReduceOp};
use wire::control::{
    decode_from_coordinator, decode_from_node, FromCoordinator, FromNode, Heartbeat, PeerInfo,
    PingPongReport, Placement, Report, TransportParams, PROTOCOL,
};
use wire::frame::{parse_header, HEADER_LEN, MAX_FRAME};
use wire::histogram::{self, MAX_ENCODED_BYTES};
use wire::{Plan, WireError};

// The shared harness: counting allocator, runner and mutations.
#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

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
            cpus: "0-15".into(),
            machine: "4f1c2a9e-boot".into(),
            cpu_quota: Some(4.0),
            facts: wire::control::HostFacts {
                cpu_model: Some("AMD EPYC 7B13".into()),
                kernel: Some("6.1.0-40-cloud-amd64".into()),
                interface: Some("eth0".into()),
                link_speed_mbps: Some(25_000),
            },
        },
        FromNode::Channels {
            addrs: vec!["127.0.0.1:40001".into(), "127.0.0.1:40002".into()],
        },
        FromNode::Ready {},
        FromNode::Arrive { epoch: 7 },
        FromNode::Report(Report {
            series: series(Algorithm::Ring),
            size: 1024,
            placement: Placement::InPlace,
            iter_ns: vec![1000, 2000, 3000],
            histogram: histogram::to_base64(&h).unwrap(),
            nwrong: Some(0),
            channels: 2,
            cpu_ns: vec![500, 700],
            poll_idle_ns: vec![100, 0],
            runq_wait_ns: vec![50, 0],
            sent_bytes: 1536,
        }),
        FromNode::PingPong(PingPongReport {
            size: 1024,
            round_trip_ns: vec![90_000, 80_000],
        }),
        FromNode::Failed {
            context: "ring step 2".into(),
            error: "peer 1 closed".into(),
            peer: Some(1),
            step: Some(2),
        },
        FromNode::Heartbeat(Heartbeat {
            epoch: 9,
            step: Some(2),
            iteration: Some(1),
            awaiting: vec![1, 3],
            steps_done: 57,
            refused: 0,
        }),
    ]
}

fn from_coordinator_seeds() -> Vec<FromCoordinator> {
    let peers = (0..4)
        .map(|r| PeerInfo {
            rank: r,
            data_addrs: vec![
                format!("127.0.0.1:{}", 40000 + r),
                format!("127.0.0.1:{}", 41000 + r),
            ],
            cert_der_b64: "MIIB".into(),
        })
        .collect();
    vec![
        FromCoordinator::Plan(Plan {
            run_id: "run-1".into(),
            nranks: 4,
            peers,
            series: vec![series(Algorithm::Ring), series(Algorithm::DbTree)],
            root: 0,
            sizes: vec![1024, 4096],
            dtype: DataType::Float,
            op: ReduceOp::Sum,
            warmup_iters: 1,
            iters: 3,
            agg_iters: 2,
            check: true,
            check_iters: 2,
            build: BuildOptions::default(),
            transport: TransportParams {
                stream_receive_window: 1 << 20,
                receive_window: 1 << 22,
                send_window: 1 << 22,
                idle_timeout_ms: 10_000,
                datagram_bytes: 8952,
                unencrypted: false,
            },
            pingpong: true,
            poll_us: 0,
            channels: 2,
            channel_min_bytes: 65536,
            corrupt: vec![wire::control::Corrupt {
                rank: 1,
                size: 1024,
            }],
            jitter: Some(topologies::noise::Delay::Pareto {
                scale_us: 50.0,
                shape: 2.5,
            }),
        }),
        FromCoordinator::OpenChannels {
            count: 2,
            cpus: vec![3, 5],
        },
        FromCoordinator::Release { epoch: 3 },
        FromCoordinator::Abort {
            reason: "rank 2 failed".into(),
        },
        FromCoordinator::Done,
        FromCoordinator::Heartbeat,
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
/// accepted, so the reader (transport::control_io) never allocates more than MAX_FRAME bytes.
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

/// The all-reduce by `algorithm` in float sum.
fn series(algorithm: Algorithm) -> topologies::Series {
    topologies::Series {
        case: topologies::Case::all_reduce(algorithm),
        dtype: DataType::Float,
        op: ReduceOp::Sum,
    }
}
