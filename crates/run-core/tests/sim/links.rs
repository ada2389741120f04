//! The simulated data plane: between every ordered pair of ranks, the messages in the order sent,
//! each with the virtual time it arrives. A link that goes silent loses everything sent on it from
//! then, in both directions; a rank that stops or dies sends nothing more.

use std::collections::VecDeque;

/// Virtual time, microseconds since the run started.
pub type Micros = u64;

/// Every message takes this long, plus its bytes at [`BYTES_PER_US`].
pub const LATENCY_US: Micros = 20;
pub const BYTES_PER_US: u64 = 1_250;

pub struct Links {
    nranks: usize,
    /// `queues[from * nranks + to]`: arrival times of messages not yet taken.
    queues: Vec<VecDeque<Micros>>,
    /// The pair whose link is silent, and since when.
    cut: Option<([usize; 2], Micros)>,
}

impl Links {
    pub fn new(nranks: usize) -> Links {
        Links {
            nranks,
            queues: vec![VecDeque::new(); nranks * nranks],
            cut: None,
        }
    }

    /// The link between `a` and `b` carries nothing from `at` on.
    pub fn cut(&mut self, a: usize, b: usize, at: Micros) {
        self.cut = Some(([a, b], at));
    }

    /// When the link between `a` and `b` went silent, if it did.
    pub fn cut_since(&self, a: usize, b: usize) -> Option<Micros> {
        let ([x, y], at) = self.cut?;
        ((x, y) == (a, b) || (x, y) == (b, a)).then_some(at)
    }

    /// Sends `bytes` from `from` to `to` at `now`; lost when the link is silent.
    pub fn send(&mut self, from: usize, to: usize, bytes: u64, now: Micros) {
        if self.cut_since(from, to).is_some_and(|at| now >= at) {
            return;
        }
        let arrival = now + LATENCY_US + bytes / BYTES_PER_US;
        self.queues[from * self.nranks + to].push_back(arrival);
    }

    /// Messages from `from` waiting at `to`.
    pub fn waiting(&self, from: usize, to: usize) -> usize {
        self.queues[from * self.nranks + to].len()
    }

    /// Takes the oldest message from `from` at `to`: when it arrives.
    pub fn take(&mut self, from: usize, to: usize) -> Option<Micros> {
        self.queues[from * self.nranks + to].pop_front()
    }
}
