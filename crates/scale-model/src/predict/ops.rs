//! Collectives other than all-reduce (all-gather, reduce-scatter, all-to-all, broadcast, reduce,
//! send/receive), each algorithm priced flat over all ranks with its own cost form
//! ([`Collective::try_cost`]) and its own carried parameters: the lab's fit of that collective
//! and algorithm, or in target mode the hardware alone where no lab measured it.
//!
//! Flat as an all-reduce's flat algorithm is ([`super::strategy`]): messages pay the top level's
//! latency, bytes the slowest level's rate. Oversubscription: inside a single level every member
//! crosses it at once, so it applies; across several levels the ring, chain and tree schedules
//! cross a tier on a few edges per group and are not slowed, halving-doubling pays the top
//! tier's, and all-to-all pays each tier's bisection ([`bisection_us`]).
//!
//! A stack's protocols (NCCL's LL, LL128, Simple) price all-gather, reduce-scatter, broadcast
//! and reduce as they price all-reduce's flat algorithms ([`terms`]); all-gather and
//! reduce-scatter also have PAT ([`super::pat`]). Not modelled for these: the hierarchical and
//! rail compositions.

use topologies::{Algorithm, Case, Collective, CostTerms};

use super::carry::{Carried, LevelLink};
use super::levels::Level;
use super::strategy::{fused, terms_of, Pricing};
use crate::row::TermBreakdown;
use crate::stack::Family;

/// The carried parameters of `case` for a buffer of `bytes` bytes per rank (its regime's, else
/// its first).
pub fn case_carried(carried: &[Carried], case: Case, bytes: f64) -> Option<&Carried> {
    let mine = || carried.iter().filter(|c| c.case() == case);
    mine()
        .find(|c| c.sizes.contains(bytes))
        .or_else(|| mine().next())
}

/// Whether `case` run flat over several levels crosses a tier's groups on only a few edges per
/// group (the ring and the chain: one edge in and one out; the trees: their top levels' edges),
/// so that oversubscription does not slow it.
pub fn crosses_tiers_on_few_edges(case: Case) -> bool {
    matches!(
        case.algorithm,
        Algorithm::Ring | Algorithm::Chain | Algorithm::Tree | Algorithm::DbTree
    )
}

/// Whether a stack's protocols price `collective`: NCCL's tuning model prices all-gather,
/// reduce-scatter, broadcast and reduce (its ring, our ring and chain, and its tree family for
/// the others) besides all-reduce; all-to-all and send/receive are point-to-point operations
/// that it does not tune.
pub fn stack_prices(collective: Collective) -> bool {
    !matches!(collective, Collective::AllToAll | Collective::SendRecv)
}

/// [`flat_terms`] with the fastest of the stack's protocols (and its name), where the stack
/// prices the collective; with the carried links as they are otherwise.
pub(crate) fn terms(
    pricing: &Pricing<'_>,
    case: Case,
    ranks: usize,
    bytes: f64,
) -> Result<(TermBreakdown, Option<&'static str>), String> {
    if pricing.protocols.is_empty() || !stack_prices(case.collective) || ranks < 2 {
        let flat = Pricing {
            protocols: &[],
            ..*pricing
        };
        return flat_terms(&flat, case, ranks, bytes).map(|t| (t, None));
    }
    let best = pricing.fastest(Family::of(case.algorithm), |with| {
        let mut t = flat_terms(with, case, ranks, bytes)?;
        t.reduction_us = fused(t.reduction_us, t.bandwidth_us);
        Ok::<_, String>(t)
    })?;
    best.map(|(t, n)| (t, Some(n)))
        .ok_or_else(|| format!("{case}: the stack has no protocol that runs it"))
}

/// The terms of `case` flat over `ranks` ranks on `pricing`'s levels with a buffer of `bytes`
/// bytes per rank; `Err` says why it has no price (no parameters, a shape its form rejects).
pub(crate) fn flat_terms(
    pricing: &Pricing<'_>,
    case: Case,
    ranks: usize,
    bytes: f64,
) -> Result<TermBreakdown, String> {
    let levels = pricing.levels;
    let Some(top) = levels.last() else {
        return Ok(TermBreakdown::default());
    };
    if ranks < 2 {
        return Ok(TermBreakdown::default());
    }
    let carried =
        case_carried(pricing.carried, case, bytes).ok_or_else(|| format!("no fit for {case}"))?;
    let c = case
        .collective
        .try_cost(case.algorithm, ranks, bytes, pricing.build)
        .map_err(|e| e.to_string())?;
    let link = LevelLink {
        beta_us_per_byte: pricing.slowest_beta(carried, levels),
        ..pricing.link(carried, top)
    };
    if case.collective == Collective::AllToAll {
        let beta_at = |l: &Level| pricing.link(carried, l).beta_us_per_byte;
        let tiers = if case.algorithm == Algorithm::Bruck {
            bruck_tiers_us(levels, ranks, bytes, beta_at)
        } else {
            bisection_us(levels, ranks, bytes, beta_at)
        };
        return Ok(with_bisection(&c, link, tiers));
    }
    let oversubscription = if levels.len() > 1 && crosses_tiers_on_few_edges(case) {
        1.0
    } else {
        top.oversubscription
    };
    Ok(terms_of(&c, link, oversubscription))
}

/// The bandwidth time of an all-to-all's busiest tier, microseconds: at a level whose groups are
/// made of groups of `g` ranks (the level below's span; 1 at the first level), a rank sends
/// the (p - g)/p share of its `bytes` that is bound outside its own group of g across the
/// level, every rank at once, so at the level's per-rank rate (`beta_at`, microseconds per byte)
/// divided by the level's oversubscription. The largest over the levels.
pub fn bisection_us(
    levels: &[Level],
    ranks: usize,
    bytes: f64,
    beta_at: impl Fn(&Level) -> f64,
) -> f64 {
    let p = ranks.max(1) as f64;
    busiest_tier_us(levels, bytes, beta_at, |below| {
        ranks.saturating_sub(below) as f64 / p
    })
}

/// The largest over the levels of the time a level takes to carry, from every rank at once, the
/// share `leaving(g)` of its `bytes` bound outside its group of g ranks (g: the level below's
/// span, 1 at the first level), at the level's per-rank rate divided by its oversubscription.
fn busiest_tier_us(
    levels: &[Level],
    bytes: f64,
    beta_at: impl Fn(&Level) -> f64,
    leaving: impl Fn(usize) -> f64,
) -> f64 {
    let mut below = 1usize;
    let mut worst = 0.0f64;
    for level in levels {
        let share = leaving(below);
        worst = worst.max(share * bytes * beta_at(level) * level.oversubscription.max(1.0));
        below = level.span;
    }
    worst
}

/// [`bisection_us`] for Bruck's all-to-all, whose blocks cross a tier on their hops rather than
/// once: in a round of hop h, the ranks whose partner r + h lies outside their group of g send
/// that round's blocks across the level ([`shift_crossing`]); the shares add over the rounds.
pub fn bruck_tiers_us(
    levels: &[Level],
    ranks: usize,
    bytes: f64,
    beta_at: impl Fn(&Level) -> f64,
) -> f64 {
    let p = ranks.max(1) as f64;
    let rounds = topologies::bruck::round_traffic(ranks);
    busiest_tier_us(levels, bytes, beta_at, |below| {
        rounds
            .iter()
            .map(|&(hop, blocks)| blocks as f64 / p * shift_crossing(hop, below, ranks))
            .sum()
    })
}

/// The share of `ranks` ranks, in consecutive groups of `group`, whose rank r + `hop` (mod
/// ranks) lies in another group: exact where the groups tile the ranks.
pub fn shift_crossing(hop: usize, group: usize, ranks: usize) -> f64 {
    if group >= ranks || group == 0 {
        return 0.0;
    }
    let groups = ranks.div_ceil(group);
    let (q, t) = ((hop % ranks) / group, (hop % ranks) % group);
    let g = group as f64;
    let stays_apart = |shift: usize| f64::from(u8::from(!shift.is_multiple_of(groups)));
    (g - t as f64) / g * stays_apart(q) + t as f64 / g * stays_apart(q + 1)
}

/// An all-to-all's terms: the flat form's (no oversubscription), with the extra time of the
/// busiest tier's bisection, where it is slower than the flat bandwidth term, in the
/// oversubscription term. The total is the latency term plus the larger of the two.
pub fn with_bisection(c: &CostTerms, link: LevelLink, tiers_us: f64) -> TermBreakdown {
    let mut t = terms_of(c, link, 1.0);
    t.oversubscription_us = (tiers_us - t.bandwidth_us).max(0.0);
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn level(span: usize, size: usize, oversubscription: f64) -> Level {
        Level {
            name: format!("l{span}"),
            size,
            span,
            bytes_per_s: 1e9,
            latency_us: 1.0,
            oversubscription,
            extended: false,
            topology: Default::default(),
        }
    }

    /// Levels of fan-outs `sizes`, each with its oversubscription.
    fn stack(sizes: &[(usize, f64)]) -> Vec<Level> {
        let mut span = 1;
        sizes
            .iter()
            .map(|&(size, o)| {
                span *= size;
                level(span, size, o)
            })
            .collect()
    }

    proptest! {
        /// Without oversubscription every tier carries at most the (p-1)/p share the flat
        /// pairwise form already prices, so the bisection never adds time.
        #[test]
        fn full_bisection_adds_nothing(
            fanouts in proptest::collection::vec(2usize..6, 1..4),
            bytes in 1.0f64..1e9,
        ) {
            let levels = stack(&fanouts.iter().map(|&f| (f, 1.0)).collect::<Vec<_>>());
            let p = levels.last().map_or(1, |l| l.span);
            let beta = 1e-3;
            let c = topologies::Collective::AllToAll
                .try_cost(Algorithm::Pairwise, p, bytes, &Default::default())
                .unwrap();
            let link = LevelLink { alpha_us: 1.0, beta_us_per_byte: beta, gamma_us_per_byte: 0.0 };
            let t = with_bisection(&c, link, bisection_us(&levels, p, bytes, |_| beta));
            prop_assert!(t.oversubscription_us <= 1e-9 * t.bandwidth_us.max(1.0), "{t:?}");
        }

        /// More oversubscription at a tier never makes the all-to-all faster, and the total is
        /// never below the flat form's.
        #[test]
        fn oversubscription_only_slows(
            fanouts in proptest::collection::vec(2usize..6, 2..4),
            o in 1.0f64..16.0,
            extra in 1.0f64..4.0,
            bytes in 1.0f64..1e9,
        ) {
            let p_of = |l: &[Level]| l.last().map_or(1, |l| l.span);
            let with = |top: f64| {
                let mut f: Vec<(usize, f64)> = fanouts.iter().map(|&f| (f, 1.0)).collect();
                if let Some(last) = f.last_mut() { last.1 = top; }
                stack(&f)
            };
            let (a, b) = (with(o), with(o * extra));
            let p = p_of(&a);
            let beta = 1e-3;
            let (ta, tb) = (
                bisection_us(&a, p, bytes, |_| beta),
                bisection_us(&b, p, bytes, |_| beta),
            );
            prop_assert!(tb >= ta);
            let c = topologies::Collective::AllToAll
                .try_cost(Algorithm::Linear, p, bytes, &Default::default())
                .unwrap();
            let link = LevelLink { alpha_us: 1.0, beta_us_per_byte: beta, gamma_us_per_byte: 0.0 };
            let flat = terms_of(&c, link, 1.0).total();
            prop_assert!(with_bisection(&c, link, tb).total() >= flat);
        }

        /// The crossing share of a shift is the share of ranks counted one by one.
        #[test]
        fn a_shifts_crossing_share_is_counted_exactly(
            groups in 1usize..20,
            group in 1usize..12,
            hop in 0usize..400,
        ) {
            let p = groups * group;
            let apart = (0..p).filter(|&r| r / group != (r + hop) % p / group).count();
            let want = apart as f64 / p as f64;
            prop_assert!((shift_crossing(hop, group, p) - want).abs() < 1e-12);
        }
    }

    /// Bruck's tier share is what its schedule sends across the groups, counted message by
    /// message.
    #[test]
    fn bruck_tiers_price_the_blocks_its_schedule_sends_across_groups() {
        for (nodes, per_node) in [(2, 4), (4, 2), (3, 4), (5, 3), (4, 8), (6, 5)] {
            let p = nodes * per_node;
            let s = topologies::Collective::AllToAll
                .build(Algorithm::Bruck, p, p, 1, &Default::default(), 0)
                .unwrap();
            let across: usize = (0..p)
                .flat_map(|r| {
                    s.programs[r]
                        .iter()
                        .flat_map(move |st| st.sends.iter().map(move |x| (r, x)))
                })
                .filter(|(r, x)| r / per_node != x.peer / per_node)
                .map(|(_, x)| x.range.len())
                .sum();
            let levels = stack(&[(per_node, 1.0), (nodes, 1.0)]);
            // One byte per element: the blocks sent across per rank, at 1 us per byte on the
            // top level (free on the first, where every block crosses a rank's own link).
            let top = |l: &Level| f64::from(u8::from(l.span == p));
            let t = bruck_tiers_us(&levels, p, p as f64, top);
            let want = across as f64 / p as f64;
            assert!((t - want).abs() < 1e-9, "{nodes}x{per_node}: {t} vs {want}");
        }
    }

    #[test]
    fn the_top_tier_of_an_oversubscribed_cluster_is_its_bisection() {
        // 4 nodes of 8 under one 1:4 tier: 24 of 32 ranks' shares leave a node, at a quarter
        // of the rate.
        let levels = stack(&[(8, 1.0), (4, 4.0)]);
        let t = bisection_us(&levels, 32, 1000.0, |_| 1.0);
        assert!((t - 24.0 / 32.0 * 1000.0 * 4.0).abs() < 1e-9, "{t}");
    }
}
