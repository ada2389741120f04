//! What every rank's buffer must hold after a collective, and how channels cut the buffer.
//!
//! Rank r's input element g is the [`pattern`](crate::pattern)'s value for (r, g). Afterwards,
//! element g of rank r holds ([`Layout::expect`]):
//!
//! | collective | element g of rank r (block b = g / m, offset i = g mod m, m = count / p) |
//! |---|---|
//! | all_reduce | the reduction of every rank's element g |
//! | all_gather | rank b's element g |
//! | reduce_scatter | in block r: the reduction of element g; elsewhere undefined |
//! | alltoall | rank b's element r m + i (what b had in its block for r) |
//! | broadcast | the root's element g |
//! | reduce | at the root: the reduction of element g; elsewhere undefined |
//! | sendrecv | rank r - 1's element g |
//!
//! Channels ([`channels`](crate::channels)) run the collective on parts of the buffer side by
//! side. The blocked collectives cut each block rather than the buffer, so that every channel
//! runs the same collective on p smaller blocks: channel k holds part k of every block, one
//! after another ([`Layout::channel_runs`]).

use std::ops::Range;

use crate::channels::{channels_for, part};
use crate::pattern::Expect;
use crate::Collective;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub collective: Collective,
    pub nranks: usize,
    /// Elements of the whole buffer (a multiple of `nranks` for the blocked collectives).
    pub count: usize,
    /// Broadcast's and reduce's root (ignored by the others).
    pub root: usize,
}

impl Layout {
    /// The layout of a buffer of `bytes` bytes per rank in elements of `elem_size` bytes: its
    /// element count as the collective rounds it ([`Collective::count_for`]).
    pub fn for_size(
        collective: Collective,
        nranks: usize,
        bytes: u64,
        elem_size: usize,
        root: usize,
    ) -> Layout {
        let count = collective.count_for(bytes, elem_size, nranks);
        Layout {
            collective,
            nranks,
            count: usize::try_from(count).unwrap_or(usize::MAX),
            root,
        }
    }

    fn block_len(&self) -> usize {
        self.count / self.nranks.max(1)
    }

    /// What element `g` of rank `rank`'s buffer must hold afterwards.
    pub fn expect(&self, rank: usize, g: usize) -> Expect {
        let p = self.nranks.max(1);
        let m = self.block_len().max(1);
        match self.collective {
            Collective::AllReduce => Expect::Reduced,
            Collective::AllGather => Expect::Input {
                rank: g / m,
                index: g,
            },
            Collective::ReduceScatter if g / m == rank => Expect::Reduced,
            Collective::AllToAll => Expect::Input {
                rank: g / m,
                index: rank * m + g % m,
            },
            Collective::Broadcast => Expect::Input {
                rank: self.root,
                index: g,
            },
            Collective::Reduce if rank == self.root => Expect::Reduced,
            Collective::SendRecv => Expect::Input {
                rank: (rank + p - 1) % p,
                index: g,
            },
            Collective::ReduceScatter | Collective::Reduce => Expect::Unchecked,
        }
    }

    /// The ranges of the whole buffer that channel `k` of `channels` holds, in the order its own
    /// buffer holds them: its part of the buffer, or of every block.
    pub fn channel_runs(&self, channels: usize, k: usize) -> Vec<Range<usize>> {
        if !self.collective.blocked() {
            return vec![part(self.count, channels, k)];
        }
        let m = self.block_len();
        let within = part(m, channels, k);
        (0..self.nranks)
            .map(|b| b * m + within.start..b * m + within.end)
            .collect()
    }

    /// How many channels the buffer uses with `max` open and at least `min_bytes` each
    /// ([`channels_for`]); a blocked collective also needs an element of every block per channel.
    pub fn channels_used(&self, elem_size: usize, max: usize, min_bytes: usize) -> usize {
        let c = channels_for(self.count, elem_size, max, min_bytes);
        if self.collective.blocked() {
            c.min(self.block_len()).max(1)
        } else {
            c
        }
    }

    /// The elements of a channel's buffer (which holds `runs` of the whole buffer one after
    /// another) that rank `rank` ends with a reduction in, as ranges of that buffer: where an
    /// average divides. A run lies inside one block, and what a rank holds is the same over a
    /// block, so each run is all reduced or not at all.
    pub fn reduced_parts(&self, rank: usize, runs: &[Range<usize>]) -> Vec<Range<usize>> {
        let mut out: Vec<Range<usize>> = Vec::new();
        let mut at = 0;
        for run in runs {
            let end = at + run.len();
            if !run.is_empty() && self.expect(rank, run.start) == Expect::Reduced {
                match out.last_mut() {
                    Some(last) if last.end == at => last.end = end,
                    _ => out.push(at..end),
                }
            }
            at = end;
        }
        out
    }

    /// Elements of channel `k`'s own buffer.
    pub fn channel_count(&self, channels: usize, k: usize) -> usize {
        self.channel_runs(channels, k).iter().map(|r| r.len()).sum()
    }
}
