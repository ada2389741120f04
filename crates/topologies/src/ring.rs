//! Ring all-reduce: reduce-scatter then all-gather around the ring 0 -> 1 -> ... -> p-1 -> 0.
//!
//! The buffer is split into p nearly equal chunks. In reduce-scatter step s (0..p-1) rank r sends
//! chunk (r - s) mod p to its right neighbour and reduces chunk (r - s - 1) mod p arriving from
//! its left, so after p-1 steps rank r holds the full sum of chunk (r + 1) mod p. All-gather then
//! passes the finished chunks around the ring in p-1 more steps, copying instead of reducing.
//! Empty chunks (when count < p) are not sent.

use crate::cost::CostTerms;
use crate::partition::split;
use crate::schedule::{Recv, RecvAction, Schedule, Send, Step};

pub fn schedule(nranks: usize, count: usize) -> Schedule {
    let p = nranks;
    let mut s = Schedule::empty(p, count);
    if p < 2 {
        return s;
    }
    let chunks = split(count, p);
    let chunk = |i: isize| chunks[i.rem_euclid(p as isize) as usize].clone();
    for r in 0..p {
        let right = (r + 1) % p;
        let left = (r + p - 1) % p;
        let ri = r as isize;
        let phases = [
            (0isize, -1isize, RecvAction::Reduce),
            (1, 0, RecvAction::Copy),
        ];
        for (send_offset, recv_offset, action) in phases {
            for step in 0..p as isize - 1 {
                let send = chunk(ri + send_offset - step);
                let recv = chunk(ri + recv_offset - step);
                let mut st = Step::default();
                if !send.is_empty() {
                    st.sends.push(Send {
                        peer: right,
                        range: send,
                    });
                }
                if !recv.is_empty() {
                    st.recvs.push(Recv {
                        peer: left,
                        range: recv,
                        action,
                    });
                }
                s.programs[r].push(st);
            }
        }
    }
    s
}

/// 2(p-1) alpha + 2((p-1)/p) n beta + ((p-1)/p) n gamma, for n bytes per rank.
pub fn cost(nranks: usize, bytes: f64) -> CostTerms {
    if nranks < 2 {
        return CostTerms::default();
    }
    let p = nranks as f64;
    let share = (p - 1.0) / p * bytes;
    CostTerms {
        latency_steps: 2.0 * (p - 1.0),
        bytes: 2.0 * share,
        reduced_bytes: share,
    }
}
