//! Every collective's schedules and cost forms, by algorithm: the one entry point the executors
//! and the model use.

use crate::alltoall;
use crate::blocked_hier;
use crate::blocked_rhd;
use crate::blocked_ring;
use crate::bruck;
use crate::collective::{Collective, CollectiveError};
use crate::cost::CostTerms;
use crate::hier::group_size;
use crate::partition::segment_elems;
use crate::ring;
use crate::rooted::{self, Direction};
use crate::schedule::Schedule;
use crate::sendrecv;
use crate::{Algorithm, BuildOptions};

impl Collective {
    /// The schedule of `algorithm` for this collective on `nranks` ranks over a buffer of
    /// `count` elements of `elem_size` bytes; `root` for broadcast and reduce (ignored by the
    /// others).
    pub fn build(
        self,
        algorithm: Algorithm,
        nranks: usize,
        count: usize,
        elem_size: usize,
        opts: &BuildOptions,
        root: usize,
    ) -> Result<Schedule, CollectiveError> {
        self.check_shape(algorithm, nranks, count, root)?;
        let segment = segment_elems(opts.segment_bytes, elem_size);
        use Algorithm::*;
        use Collective::*;
        Ok(match (self, algorithm) {
            (AllReduce, a) => a.build(nranks, count, elem_size, opts)?,
            (AllGather, Ring) => blocked_ring::all_gather(nranks, count),
            (AllGather, Hier) => blocked_hier::all_gather(nranks, count, group_size(nranks, opts)?),
            (AllGather, _) => blocked_rhd::all_gather(nranks, count),
            (ReduceScatter, Ring) => blocked_ring::reduce_scatter(nranks, count),
            (ReduceScatter, Hier) => {
                blocked_hier::reduce_scatter(nranks, count, group_size(nranks, opts)?)
            }
            (ReduceScatter, _) => blocked_rhd::reduce_scatter(nranks, count),
            (AllToAll, Pairwise) => alltoall::pairwise(nranks, count),
            (AllToAll, Bruck) => bruck::schedule(nranks, count),
            (AllToAll, _) => alltoall::linear(nranks, count),
            (Broadcast | Reduce, a) => {
                let dir = direction(self);
                if a == Chain {
                    rooted::chain(nranks, count, segment, root, dir)
                } else {
                    rooted::tree(nranks, count, segment, root, dir)
                }
            }
            (SendRecv, _) => sendrecv::ring(nranks, count),
        })
    }

    /// The cost terms of `algorithm` for this collective with a buffer of `bytes` bytes per
    /// rank; [`CostTerms::UNDEFINED`] for a shape [`try_cost`](Self::try_cost) rejects.
    pub fn cost(
        self,
        algorithm: Algorithm,
        nranks: usize,
        bytes: f64,
        opts: &BuildOptions,
    ) -> CostTerms {
        self.try_cost(algorithm, nranks, bytes, opts)
            .unwrap_or(CostTerms::UNDEFINED)
    }

    /// The cost terms of `algorithm` for this collective with a buffer of `bytes` bytes per
    /// rank (the whole buffer: nccl-tests' size).
    pub fn try_cost(
        self,
        algorithm: Algorithm,
        nranks: usize,
        bytes: f64,
        opts: &BuildOptions,
    ) -> Result<CostTerms, CollectiveError> {
        self.check(algorithm)?;
        use Algorithm::*;
        use Collective::*;
        Ok(match (self, algorithm) {
            (AllReduce, a) => a.try_cost(nranks, bytes, opts)?,
            (AllGather, Ring) => ring::all_gather_cost(nranks, bytes),
            (AllGather | ReduceScatter, Hier) => {
                let g = group_size(nranks, opts)?;
                blocked_hier::cost(
                    nranks,
                    bytes,
                    g,
                    self == ReduceScatter,
                    opts.groups_are_nodes,
                )
            }
            (AllGather, _) => blocked_rhd::all_gather_cost(nranks, bytes),
            (ReduceScatter, Ring) => ring::reduce_scatter_cost(nranks, bytes),
            (ReduceScatter, _) => blocked_rhd::reduce_scatter_cost(nranks, bytes),
            (AllToAll, Pairwise) => alltoall::pairwise_cost(nranks, bytes),
            (AllToAll, Bruck) => bruck::cost(nranks, bytes),
            (AllToAll, _) => alltoall::linear_cost(nranks, bytes),
            (Broadcast | Reduce, Chain) => {
                rooted::chain_cost(nranks, bytes, opts.segment_bytes, direction(self))
            }
            (Broadcast | Reduce, _) => rooted::tree_cost(nranks, bytes, direction(self)),
            (SendRecv, _) => sendrecv::cost(nranks, bytes),
        })
    }

    /// The cost terms of one call in a loop of back-to-back calls, as a timed loop (nccl-tests',
    /// collbench's) measures it: [`try_cost`](Self::try_cost) where a call ends everywhere
    /// before the next can start; for broadcast and reduce, whose root starts the next call while
    /// this one still travels, the busiest link's bytes with the latencies overlapped
    /// ([`rooted::chain_looped_cost`], [`rooted::tree_looped_cost`]).
    pub fn try_cost_looped(
        self,
        algorithm: Algorithm,
        nranks: usize,
        bytes: f64,
        opts: &BuildOptions,
    ) -> Result<CostTerms, CollectiveError> {
        if !self.rooted() {
            return self.try_cost(algorithm, nranks, bytes, opts);
        }
        self.check(algorithm)?;
        Ok(match algorithm {
            Algorithm::Chain => rooted::chain_looped_cost(nranks, bytes, direction(self)),
            _ => rooted::tree_looped_cost(nranks, bytes, direction(self)),
        })
    }

    fn check_shape(
        self,
        algorithm: Algorithm,
        nranks: usize,
        count: usize,
        root: usize,
    ) -> Result<(), CollectiveError> {
        self.check(algorithm)?;
        if nranks == 0 {
            return Err(crate::AlgorithmError::Shape {
                algorithm,
                nranks,
                reason: "a collective needs at least one rank".to_string(),
            }
            .into());
        }
        if self.blocked() && !count.is_multiple_of(nranks) {
            return Err(CollectiveError::Blocks {
                collective: self,
                count,
                nranks,
            });
        }
        if self.rooted() && root >= nranks {
            return Err(CollectiveError::Root { root, nranks });
        }
        Ok(())
    }
}

fn direction(c: Collective) -> Direction {
    if c == Collective::Reduce {
        Direction::Reduce
    } else {
        Direction::Broadcast
    }
}
