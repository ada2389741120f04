//! PAT (NCCL's Parallel Aggregated Trees) for all-gather and reduce-scatter: a logarithmic
//! schedule whose steps pair ranks 2^i apart, moving what a ring moves ((p - 1)/p of the
//! buffer per rank) in ceil(lg p) steps instead of p - 1. NCCL runs it with one GPU per node
//! only (src/graph/tuning.cc, `ncclPatEnable`: "PAT only supports 1 GPU per node"), so it is
//! priced where each node holds one rank of the group, from the hardware alone (no lab runs
//! it). Its steps send across the top tier from every rank at once, so it pays the top tier's
//! oversubscription, as halving-doubling does.
//!
//! Under NCCL's stack its latency is NCCL's own (`ncclTopoTuneModel`): a base of 8 us, each of
//! the ceil(lg p) steps at 1/3.5 of its network step, and 2.8 us per rank
//! ([`NCCL_PAT_PER_RANK_US`]); its bandwidth 0.75 of the link's; Simple only.

use topologies::{Algorithm, Collective};

use super::levels::Level;
use super::strategy::{terms_of, Pricing, Skip};
use crate::row::TermBreakdown;
use crate::stack::{Family, NCCL_PAT_PER_RANK_US, NCCL_PAT_STEP_SHARE};

/// Whether `collective` has a PAT row.
pub fn runs(collective: Collective) -> bool {
    matches!(
        collective,
        Collective::AllGather | Collective::ReduceScatter
    )
}

impl Pricing<'_> {
    /// PAT's terms for `collective` over `ranks` ranks with `bytes` per rank, with the fastest
    /// of the stack's protocols that runs it (its name), or the links as they are.
    pub(crate) fn pat(
        &self,
        collective: Collective,
        ranks: usize,
        bytes: f64,
    ) -> Result<(TermBreakdown, Option<&'static str>), Skip> {
        if self.levels.first().is_some_and(|l| l.name == "node") {
            return Err(Skip::Unsupported(format!(
                "{collective} pat: NCCL runs PAT only where every node holds one rank of the \
                 group (here a node holds {})",
                self.levels[0].size
            )));
        }
        if self.protocols.is_empty() {
            return self.pat_with(collective, ranks, bytes).map(|t| (t, None));
        }
        let best = self.fastest(Family::Pat, |with| {
            let mut t = with.pat_with(collective, ranks, bytes)?;
            t.latency_us += NCCL_PAT_PER_RANK_US * ranks as f64;
            Ok(t)
        })?;
        best.map(|(t, n)| (t, Some(n)))
            .ok_or_else(|| Skip::Unsupported("pat: the stack has no protocol that runs it".into()))
    }

    fn pat_with(
        &self,
        collective: Collective,
        ranks: usize,
        bytes: f64,
    ) -> Result<TermBreakdown, Skip> {
        let (Some(carried), Some(top)) = (self.unmeasured_links, self.levels.last()) else {
            return Err(Skip::Unsupported(
                "pat is priced from a target's hardware (target mode) only".into(),
            ));
        };
        if ranks < 2 {
            return Ok(TermBreakdown::default());
        }
        let link = |l: &Level| self.link_in(carried, Family::Pat, l);
        let mut c = collective
            .try_cost(Algorithm::Ring, ranks, bytes, self.build)
            .map_err(|e| Skip::Cannot(e.to_string()))?;
        c.latency_steps = f64::from(ranks.next_power_of_two().ilog2());
        let mut top_link = link(top);
        if self.protocol.is_some() {
            top_link.alpha_us *= NCCL_PAT_STEP_SHARE;
        }
        top_link.beta_us_per_byte = self
            .levels
            .iter()
            .map(|l| link(l).beta_us_per_byte)
            .fold(0.0, f64::max);
        Ok(terms_of(&c, top_link, top.oversubscription))
    }
}
