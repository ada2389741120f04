//! Send/receive as nccl-tests' sendrecv runs it: every rank sends its buffer to the next rank
//! and receives the previous rank's into its own (one step; in place too, since a step's sends
//! read the buffer as it began). One rank sends to itself: nothing moves.

use crate::builder::ScheduleBuilder;
use crate::cost::CostTerms;
use crate::schedule::{RecvAction, Schedule};

/// The ring of pairs over `count` elements.
pub fn ring(nranks: usize, count: usize) -> Schedule {
    let mut b = ScheduleBuilder::new(nranks, count);
    if nranks >= 2 {
        for r in 0..nranks {
            b.send(r, (r + 1) % nranks, 0..count);
            b.recv(r, (r + nranks - 1) % nranks, 0..count, RecvAction::Copy);
        }
    }
    b.finish()
}

/// alpha + n beta.
pub fn cost(nranks: usize, bytes: f64) -> CostTerms {
    if nranks < 2 {
        return CostTerms::default();
    }
    CostTerms {
        latency_steps: 1.0,
        bytes,
        reduced_bytes: 0.0,
    }
}
