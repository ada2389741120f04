//! A reduce-scatter paired with the all-gather that undoes its scatter.
//!
//! Ring and recursive halving-doubling are both "reduce-scatter, then all-gather". Keeping the
//! halves apart lets a two-level algorithm ([`hier`](crate::hier),
//! [`torus2d`](crate::torus2d)) run something else between them on each rank's shard.

use std::ops::Range;

use crate::builder::ScheduleBuilder;
use crate::embed::embed;
use crate::schedule::Schedule;

/// The two halves of a reduce-scatter/all-gather all-reduce over k ranks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScatterGather {
    /// Leaves rank r holding the fully reduced `shards[r]`.
    pub reduce_scatter: Schedule,
    /// What each rank holds after the reduce-scatter: disjoint, together the whole buffer; a
    /// rank may hold an empty shard.
    pub shards: Vec<Range<usize>>,
    /// Starting from `shards`, leaves every rank with the whole reduced buffer.
    pub all_gather: Schedule,
}

impl ScatterGather {
    /// The all-reduce: the reduce-scatter followed by the all-gather.
    pub fn all_reduce(&self) -> Schedule {
        let s = &self.reduce_scatter;
        let ranks: Vec<usize> = (0..s.nranks).collect();
        let mut b = ScheduleBuilder::new(s.nranks, s.count);
        embed(&mut b, s, &ranks, 0..s.count);
        embed(&mut b, &self.all_gather, &ranks, 0..s.count);
        b.finish()
    }
}
