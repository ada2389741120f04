//! Ring all-reduce: reduce-scatter then all-gather around the ring 0 -> 1 -> ... -> p-1 -> 0.
//!
//! The buffer is split into p nearly equal chunks. In reduce-scatter step s (0..p-1) rank r sends
//! chunk (r - s) mod p to its right neighbour and reduces chunk (r - s - 1) mod p arriving from
//! its left, so after p-1 steps rank r holds the full sum of chunk (r + 1) mod p. All-gather then
//! passes the finished chunks around the ring in p-1 more steps, copying instead of reducing.
//! Empty chunks (when count < p) are not sent.
//!
//! **Pipelining** ([`schedule`] with a segment smaller than a chunk): every chunk is cut into the
//! same number k of pieces, and each rank forwards a piece as soon as it has reduced (or copied)
//! it, instead of waiting for the whole chunk. Seen as one stream of 2(p-1)k pieces per rank,
//! send i needs receive i - k; a rank lets its receives run up to [`PIECES_AHEAD`] pieces behind
//! its sends (at most k - 1), so the link to the right never waits for a step boundary, a piece
//! that arrives late holds up only what depends on it, and only a few pieces' copies are in
//! flight at once. This is what Gloo's and NCCL's rings do with their slices. The beta and gamma
//! terms stay the textbook ring's (the pieces overlap on the links); the latency term grows when
//! a chunk has more pieces than can be in flight ([`pipelined_cost`]).

use std::ops::Range;

use crate::builder::ScheduleBuilder;
use crate::cost::CostTerms;
use crate::partition::{split, split_range};
use crate::scatter_gather::ScatterGather;
use crate::schedule::{RecvAction, Schedule};

/// How many pieces a rank's sends may run ahead of its receives. Two already keep a link busy
/// while the next piece arrives; four absorb some jitter. More only holds more send copies in
/// memory (each piece is copied when it is queued, and kept until the peer acknowledges it).
pub const PIECES_AHEAD: usize = 4;

/// The ring all-reduce over `count` elements, forwarding pieces of at most about `segment`
/// elements (0: whole chunks, the textbook ring).
pub fn schedule(nranks: usize, count: usize, segment: usize) -> Schedule {
    let p = nranks.max(1);
    let chunks = split(count, p);
    let pieces = pieces_per_chunk(count.div_ceil(p), segment);
    if pieces == 1 || nranks < 2 {
        return scatter_gather(nranks, count).all_reduce();
    }
    let cut: Vec<Vec<Range<usize>>> = chunks
        .iter()
        .map(|c| split_range(c.clone(), pieces))
        .collect();
    // Position q of a rank's stream: step s = q / pieces (reduce-scatter for s < p - 1, then
    // all-gather), piece j = q % pieces. At every step rank r sends chunk (r - s) and receives
    // chunk (r - s - 1), in both halves (the ring indices of ScatterGather, written mod p).
    let steps = 2 * (p - 1);
    let len = steps * pieces;
    let piece = |r: usize, q: usize, back: usize| {
        let (s, j) = (q / pieces, q % pieces);
        cut[(r + 2 * p - s % p - back) % p][j].clone()
    };
    let action = |q: usize| {
        if q / pieces < p - 1 {
            RecvAction::Reduce
        } else {
            RecvAction::Copy
        }
    };
    let lag = pieces_ahead(pieces);
    let mut b = ScheduleBuilder::new(nranks, count);
    for r in 0..nranks {
        let (right, left) = ((r + 1) % p, (r + p - 1) % p);
        for q in 0..len {
            b.send(r, right, piece(r, q, 0));
            if q >= lag {
                b.recv(r, left, piece(r, q - lag, 1), action(q - lag));
            }
        }
        for q in len - lag..len {
            b.recv(r, left, piece(r, q, 1), action(q));
        }
    }
    b.finish()
}

/// Several rings side by side, as one schedule: ring k runs over `rings[k].0` (the ranks in ring
/// order, every rank once) on the part `rings[k].1` of the buffer, pipelined as [`schedule`]
/// with pieces of at most about `segment` elements. Every ring cuts its chunks into as many
/// pieces as the largest part needs, and each rank's program takes the rings' sends of one
/// position of the stream, then their receives of it, before the next: a receive never waits
/// for a send that comes later in the stream, so the rings cannot deadlock each other, and
/// messages between a pair of ranks pair up in the same (position, ring) order at both ends.
pub fn side_by_side(
    nranks: usize,
    count: usize,
    rings: &[(Vec<usize>, Range<usize>)],
    segment: usize,
) -> Schedule {
    let p = nranks.max(1);
    let largest = rings.iter().map(|(_, part)| part.len()).max().unwrap_or(0);
    let pieces = pieces_per_chunk(largest.div_ceil(p), segment);
    let lag = pieces_ahead(pieces);
    // Per ring: its chunks, each cut into the same number of pieces.
    let cut: Vec<Vec<Vec<Range<usize>>>> = rings
        .iter()
        .map(|(_, part)| {
            split_range(part.clone(), p)
                .into_iter()
                .map(|c| split_range(c, pieces))
                .collect()
        })
        .collect();
    // Each rank's position in every ring.
    let mut position = vec![vec![0; rings.len()]; nranks];
    for (k, (order, _)) in rings.iter().enumerate() {
        for (i, &r) in order.iter().enumerate() {
            position[r][k] = i;
        }
    }
    let steps = 2 * (p - 1);
    let len = steps * pieces;
    let piece = |k: usize, i: usize, q: usize, back: usize| {
        let (s, j) = (q / pieces, q % pieces);
        cut[k][(i + 2 * p - s % p - back) % p][j].clone()
    };
    let action = |q: usize| {
        if q / pieces < p - 1 {
            RecvAction::Reduce
        } else {
            RecvAction::Copy
        }
    };
    let mut b = ScheduleBuilder::new(nranks, count);
    if nranks < 2 {
        return b.finish();
    }
    for (r, at) in position.iter().enumerate() {
        let sends = |b: &mut ScheduleBuilder, q: usize| {
            for (k, ((order, _), &i)) in rings.iter().zip(at).enumerate() {
                b.send(r, order[(i + 1) % p], piece(k, i, q, 0));
            }
        };
        let recvs = |b: &mut ScheduleBuilder, q: usize| {
            for (k, ((order, _), &i)) in rings.iter().zip(at).enumerate() {
                b.recv(r, order[(i + p - 1) % p], piece(k, i, q, 1), action(q));
            }
        };
        for q in 0..len {
            sends(&mut b, q);
            if q >= lag {
                recvs(&mut b, q - lag);
            }
        }
        for q in len - lag..len {
            recvs(&mut b, q);
        }
    }
    b.finish()
}

/// Pieces per chunk of `chunk` units (elements or bytes) cut at `segment` units (0: one piece).
fn pieces_per_chunk(chunk: usize, segment: usize) -> usize {
    match segment {
        0 => 1,
        s => chunk.div_ceil(s).max(1),
    }
}

/// How far a rank's receives run behind its sends, in pieces.
fn pieces_ahead(pieces: usize) -> usize {
    (pieces - 1).min(PIECES_AHEAD)
}

/// The pipelined ring's cost for n bytes per rank in pieces of `segment_bytes` (0: whole
/// chunks): the textbook [`cost`], except that with k pieces per chunk and receives running
/// a = min(k - 1, [`PIECES_AHEAD`]) pieces behind the sends, each message on the critical path
/// releases the next a + 1 pieces, so the 2(p-1)k pieces take ceil(2(p-1)k / (a + 1)) alphas
/// (2(p-1) when a = k - 1).
pub fn pipelined_cost(nranks: usize, bytes: f64, segment_bytes: usize) -> CostTerms {
    let mut c = cost(nranks, bytes);
    if nranks < 2 || !bytes.is_finite() || bytes <= 0.0 {
        return c;
    }
    let chunk = (bytes / nranks as f64).ceil().min(usize::MAX as f64) as usize;
    let k = pieces_per_chunk(chunk, segment_bytes);
    // Saturating: a projection may ask for any size at any p.
    let stream = (2 * (nranks - 1)).saturating_mul(k);
    c.latency_steps = stream.div_ceil(pieces_ahead(k) + 1) as f64;
    c
}

/// The two halves of the ring all-reduce; rank r's shard is chunk (r + 1) mod p.
pub fn scatter_gather(nranks: usize, count: usize) -> ScatterGather {
    let p = nranks.max(1);
    let chunks = split(count, p);
    let chunk = |i: usize| chunks[i % p].clone();
    let mut rs = ScheduleBuilder::new(nranks, count);
    let mut ag = ScheduleBuilder::new(nranks, count);
    for step in 0..nranks.saturating_sub(1) {
        for r in 0..nranks {
            let right = (r + 1) % p;
            let left = (r + p - 1) % p;
            // Offsets by multiples of p keep the indices non-negative.
            rs.send(r, right, chunk(r + p - step));
            rs.recv(r, left, chunk(r + 2 * p - step - 1), RecvAction::Reduce);
            ag.send(r, right, chunk(r + 1 + p - step));
            ag.recv(r, left, chunk(r + p - step), RecvAction::Copy);
        }
    }
    ScatterGather {
        reduce_scatter: rs.finish(),
        shards: (0..nranks).map(|r| chunk(r + 1)).collect(),
        all_gather: ag.finish(),
    }
}

/// 2(p-1) alpha + 2((p-1)/p) n beta + ((p-1)/p) n gamma, for n bytes per rank.
pub fn cost(nranks: usize, bytes: f64) -> CostTerms {
    reduce_scatter_cost(nranks, bytes).plus(all_gather_cost(nranks, bytes))
}

/// (p-1) alpha + ((p-1)/p) n beta + ((p-1)/p) n gamma.
pub fn reduce_scatter_cost(nranks: usize, bytes: f64) -> CostTerms {
    let c = all_gather_cost(nranks, bytes);
    CostTerms {
        reduced_bytes: c.bytes,
        ..c
    }
}

/// (p-1) alpha + ((p-1)/p) n beta.
pub fn all_gather_cost(nranks: usize, bytes: f64) -> CostTerms {
    if nranks < 2 {
        return CostTerms::default();
    }
    let p = nranks as f64;
    CostTerms {
        latency_steps: p - 1.0,
        bytes: (p - 1.0) / p * bytes,
        reduced_bytes: 0.0,
    }
}
