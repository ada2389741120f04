//! Host noise priced where it synchronises: every rank waits a delay drawn from a distribution
//! before each step's sends (what `collbench run --fault jitter:DIST` injects), and a step that
//! waits on other ranks inherits the slowest of their delays, transitively, along the
//! schedule's dependency paths.
//!
//! The expected extra time is the mean, over draws, of the schedule's completion time in the
//! timing model with the delays and nothing else ([`completion_time_with_jitter`]): a Monte
//! Carlo estimate on the schedule itself, so each algorithm's dependency structure is what it
//! is. Up to [`CALIBRATION_RANKS`] ranks it is computed at the rank count; beyond, the cost per
//! dependency step at that many ranks is carried to the larger count's steps (the cost form's
//! latency steps). Measured on the model: a ring's cost per step settles at about 2 mean delays
//! from 16 ranks on (last-passage percolation: a path may wait on its own rank or its
//! neighbour's at every step), while halving-doubling's grows slowly with depth (2.4 mean
//! delays at 32 ranks, 2.6 at 256), so at 100k ranks the carried cost is a few percent low for
//! the logarithmic algorithms. A prescription that adds the expected slowest of all the ranks a
//! step waits on at every step counts the same delay again at every later step: 2.8x the
//! model's cost for a 256-rank ring, 1.9x for halving-doubling.
//!
//! A delay in proportion to the step ([`Noise::Scaled`]) is priced on the schedule's mean step:
//! its cost in shares of a step, over the schedule's dependency steps, times the iteration's
//! time without the noise. A pipelined schedule's segments shorten its steps as they add to
//! them, so this is the same however many segments it runs.
//!
//! Compositions add their parts (each phase starts when the previous one ends everywhere);
//! rail rings cost a ring over all ranks, rail trees a double binary tree over the nodes plus a
//! ring over a node's GPUs. A switch that reduces waits for every rank it reduces once: the
//! expected slowest of their draws ([`NoiseCost::slowest_of`]); nvls is one such wait over all
//! ranks, nvls-tree one inside a node plus a double binary tree over the nodes, collnet-direct
//! the switch's wait plus the node's exchange, collnet-chain a ring's worth of steps through a
//! node's GPUs plus the switch's wait on the nodes.

use std::collections::HashMap;

use topologies::noise::Delay;
use topologies::rng::SplitMix64;
use topologies::timing_model::{completion_time_with_jitter, LinkModel};
use topologies::{Algorithm, BuildOptions, Case, Schedule};

use crate::noise_form::Noise;
use crate::predict::levels::Level;
use crate::predict::Strategy;

/// Rank counts up to which the Monte Carlo runs at the rank count itself.
pub const CALIBRATION_RANKS: usize = 32;

/// Draws per estimate, each of `ITERATIONS - SETTLE` iterations: more for few ranks, whose
/// iterations are short and vary more, fewer for many (their iterations sum many steps' waits);
/// the standard error is a few percent of the mean either way.
fn samples(ranks: usize) -> usize {
    (512 / ranks.max(1)).clamp(16, 256)
}

/// Elements of the buffer the noise is priced on: small, so that the trees take one segment.
const COUNT_PER_RANK: usize = 8;

/// The expected noise of a distribution, per case (collective and algorithm) and rank count,
/// computed once each.
pub struct NoiseCost {
    noise: Noise,
    build: BuildOptions,
    cache: HashMap<(Case, usize), f64>,
}

/// A schedule's or strategy's noise, the same at every size: its expected cost in the
/// distribution's units over its dependency steps.
#[derive(Clone, Copy, Debug)]
pub struct PricedNoise {
    noise: Noise,
    cost: f64,
    steps: f64,
}

impl PricedNoise {
    /// What it adds to an iteration that takes `time_us` without it, microseconds.
    pub fn added_us(&self, time_us: f64) -> f64 {
        self.noise.added_us(self.cost, self.steps, time_us)
    }

    /// The time without it of an iteration measured at `time_us` with it.
    pub fn removed_us(&self, time_us: f64) -> f64 {
        self.noise.removed_us(self.cost, self.steps, time_us)
    }
}

/// A part of a strategy whose noise adds to the others': a schedule over some ranks, or a
/// switch that waits for `k` ranks' contributions (one dependency step).
#[derive(Clone, Copy, Debug)]
enum Part {
    Schedule(Case, usize),
    Switch(usize),
}

impl NoiseCost {
    pub fn new(noise: Noise, build: BuildOptions) -> NoiseCost {
        NoiseCost {
            noise,
            build,
            cache: HashMap::new(),
        }
    }

    pub fn noise(&self) -> Noise {
        self.noise
    }

    /// The noise of `case` over `ranks` ranks, priced once for every size.
    pub fn case(&mut self, case: Case, ranks: usize) -> PricedNoise {
        self.parts(&[Part::Schedule(case, ranks)])
    }

    /// The noise of `strategy` over `ranks` ranks on `levels`, priced once for every size.
    pub fn strategy(&mut self, strategy: Strategy, ranks: usize, levels: &[Level]) -> PricedNoise {
        self.parts(&strategy_parts(strategy, ranks, levels))
    }

    /// Expected extra time of `case` over `ranks` ranks whose iteration takes `time_us`
    /// without the noise, microseconds.
    pub fn case_us(&mut self, case: Case, ranks: usize, time_us: f64) -> f64 {
        self.case(case, ranks).added_us(time_us)
    }

    /// The time without the noise of `case` over `ranks` ranks measured at `time_us` with it
    /// (never below a twentieth of it).
    pub fn quiet_us(&mut self, case: Case, ranks: usize, time_us: f64) -> f64 {
        self.case(case, ranks).removed_us(time_us)
    }

    /// Expected extra time of one call of `case` over `ranks` ranks in a loop of back-to-back
    /// calls of `bytes` each in segments of `segment_bytes` (what a lab times), whose call takes
    /// `time_us` without the noise, microseconds. Broadcast and reduce cost only their busiest
    /// link's bytes there
    /// ([`Collective::try_cost_looped`](topologies::Collective::try_cost_looped)): the root
    /// starts the next call while this one travels, and a rank's delays overlap the transfers
    /// that its link drains meanwhile, as the latencies do. They cost only what a call's
    /// delays add up to beyond its time: one draw before each of the busiest rank's steps, one
    /// step per segment (a share of the step adds up to that share of the call, so one under
    /// 100% costs nothing). Every other collective's call costs in a loop what it costs alone.
    pub fn looped_us(
        &mut self,
        case: Case,
        ranks: usize,
        (bytes, segment_bytes): (f64, usize),
        time_us: f64,
    ) -> f64 {
        if !case.collective.rooted() {
            return self.case_us(case, ranks, time_us);
        }
        if ranks < 2 {
            return 0.0;
        }
        let delays_us = match self.noise {
            Noise::Fixed(d) => {
                d.mean_us() * topologies::rooted::segment_count(bytes, segment_bytes)
            }
            Noise::Scaled(d) => d.mean_us() / 100.0 * time_us,
        };
        (delays_us - time_us).max(0.0)
    }

    /// The time without the noise of one call of `case` over `ranks` ranks in a loop, measured
    /// at `time_us` with it (never below a twentieth of it). A broadcast's or reduce's delays
    /// show only where they outlast the call's transfers ([`looped_us`](Self::looped_us)),
    /// and then the transfers' time is not in the measurement: it is kept as measured.
    pub fn looped_quiet_us(&mut self, case: Case, ranks: usize, time_us: f64) -> f64 {
        if case.collective.rooted() {
            time_us
        } else {
            self.quiet_us(case, ranks, time_us)
        }
    }

    /// The parts' costs and steps added: a share of the step is of the mean step over all
    /// their steps.
    fn parts(&mut self, parts: &[Part]) -> PricedNoise {
        PricedNoise {
            noise: self.noise,
            cost: parts.iter().map(|&p| self.part_cost(p)).sum(),
            steps: parts.iter().map(|&p| self.part_steps(p)).sum(),
        }
    }

    /// Expected extra time of a part, in the distribution's units.
    fn part_cost(&mut self, part: Part) -> f64 {
        match part {
            Part::Schedule(case, ranks) => self.case_cost(case, ranks),
            Part::Switch(k) => self.slowest_of(k),
        }
    }

    /// A part's dependency steps (its cost form's latency steps; a switch's wait is one).
    fn part_steps(&self, part: Part) -> f64 {
        match part {
            Part::Schedule(case, ranks) if ranks >= 2 => self.steps(case, ranks),
            Part::Schedule(..) => 0.0,
            Part::Switch(k) => f64::from(u8::from(k >= 1)),
        }
    }

    fn steps(&self, case: Case, ranks: usize) -> f64 {
        schedule_steps(case, ranks, &self.build)
    }

    /// Expected extra time of `case` over `ranks` ranks, in the distribution's units: the
    /// Monte Carlo at up to [`CALIBRATION_RANKS`] ranks, its cost per step carried beyond.
    fn case_cost(&mut self, case: Case, ranks: usize) -> f64 {
        if ranks < 2 {
            return 0.0;
        }
        let at = ranks.min(CALIBRATION_RANKS);
        let measured = self.at(case, at);
        if at == ranks {
            return measured;
        }
        let (here, there) = (self.steps(case, at), self.steps(case, ranks));
        if here > 0.0 {
            measured * there / here
        } else {
            measured
        }
    }

    /// Expected slowest of `k` draws, in the distribution's units: what a switch that waits for `k` ranks'
    /// contributions adds. E[max] = the integral over v in (0, 1) of the quantile at v^(1/k)
    /// (midpoint rule).
    pub fn slowest_of(&self, k: usize) -> f64 {
        if k < 2 {
            return if k == 1 {
                self.noise.delay().mean_us()
            } else {
                0.0
            };
        }
        const POINTS: usize = 4096;
        let inv_k = 1.0 / k as f64;
        (0..POINTS)
            .map(|i| {
                let v = (i as f64 + 0.5) / POINTS as f64;
                self.noise.delay().quantile_us(v.powf(inv_k))
            })
            .sum::<f64>()
            / POINTS as f64
    }

    /// The Monte Carlo estimate at `ranks` ranks (cached).
    fn at(&mut self, algorithm: Case, ranks: usize) -> f64 {
        if let Some(&v) = self.cache.get(&(algorithm, ranks)) {
            return v;
        }
        let v = monte_carlo_case(self.noise.delay(), algorithm, ranks, &self.build).unwrap_or(0.0);
        self.cache.insert((algorithm, ranks), v);
        v
    }
}

/// The parts whose noise a strategy adds up.
fn strategy_parts(strategy: Strategy, ranks: usize, levels: &[Level]) -> Vec<Part> {
    use Part::{Schedule, Switch};
    let flat = |a: Algorithm, p: usize| Schedule(Case::all_reduce(a), p);
    // The first level's group (a node's GPUs) and how many such groups there are.
    let g = levels.first().map_or(1, |l| l.size);
    let nodes = ranks.div_ceil(g.max(1));
    match strategy {
        Strategy::Flat(a) => vec![flat(a, ranks)],
        Strategy::RailRings => vec![flat(Algorithm::Ring, ranks)],
        Strategy::RailTrees => vec![flat(Algorithm::DbTree, nodes), flat(Algorithm::Ring, g)],
        Strategy::Nvls => vec![Switch(ranks)],
        Strategy::NvlsTree => vec![Switch(g), flat(Algorithm::DbTree, nodes)],
        Strategy::CollNetDirect => vec![Switch(ranks), Switch(g)],
        Strategy::CollNetChain => vec![flat(Algorithm::Ring, g), Switch(nodes)],
        Strategy::HierNode(a) => vec![flat(Algorithm::Ring, g), flat(a, nodes)],
        Strategy::HierTier(a) => {
            let Some((top, below)) = levels.split_last() else {
                return Vec::new();
            };
            below
                .iter()
                .map(|l| flat(Algorithm::Ring, l.size))
                .chain([flat(a, top.size)])
                .collect()
        }
    }
}

/// The latency steps of `case`'s form over `ranks` ranks on the buffer noise is priced on (0
/// where it has no form there).
pub(crate) fn schedule_steps(case: Case, ranks: usize, build: &BuildOptions) -> f64 {
    case.collective
        .try_cost(
            case.algorithm,
            ranks,
            (ranks * COUNT_PER_RANK * 4) as f64,
            build,
        )
        .map(|c| c.latency_steps)
        .unwrap_or(0.0)
}

/// One iteration of `case`'s schedule over `ranks` ranks as noise is priced on it: a small
/// buffer of whole blocks (so the trees take one segment and the blocked collectives build),
/// rooted ones at root 0; `None` where the algorithm has no schedule there.
pub(crate) fn noise_schedule(case: Case, ranks: usize, build: &BuildOptions) -> Option<Schedule> {
    case.collective
        .build(case.algorithm, ranks, ranks * COUNT_PER_RANK, 4, build, 0)
        .ok()
}

/// Iterations run back to back per draw, as a timed loop runs them; the first [`SETTLE`] are
/// left out, so the estimate is the loop's steady cost per iteration, not a single call's.
const ITERATIONS: usize = 6;
const SETTLE: usize = 2;

/// Mean time per iteration of `algorithm`'s schedule over `ranks` ranks, run back to back with
/// every step's sends delayed by a draw and nothing else; `None` where the algorithm has no
/// schedule there.
pub fn monte_carlo(
    delay: Delay,
    algorithm: Algorithm,
    ranks: usize,
    build: &BuildOptions,
) -> Option<f64> {
    monte_carlo_case(delay, Case::all_reduce(algorithm), ranks, build)
}

/// [`monte_carlo`] of any collective's schedule (rooted ones at root 0); the buffer is a whole
/// number of blocks, so the blocked collectives build too.
pub fn monte_carlo_case(
    delay: Delay,
    case: Case,
    ranks: usize,
    build: &BuildOptions,
) -> Option<f64> {
    let one = noise_schedule(case, ranks, build)?;
    let (settled, all) = (one.back_to_back(SETTLE), one.back_to_back(ITERATIONS));
    let none = LinkModel {
        alpha: 0.0,
        beta: 0.0,
        gamma: 0.0,
    };
    let mut rng = SplitMix64::new(0x5eed ^ ranks as u64);
    let mut total = 0.0;
    let samples = samples(ranks);
    for _ in 0..samples {
        let mut draw = || delay.quantile_us(rng.next_f64());
        total += completion_time_with_jitter(&all, 4, none, &mut draw).ok()?;
        total -= completion_time_with_jitter(&settled, 4, none, &mut draw).ok()?;
    }
    Some(total / (samples * (ITERATIONS - SETTLE)) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXP: Delay = Delay::Exp { mean_us: 100.0 };

    #[test]
    fn two_ranks_wait_for_the_slower_of_two_draws_per_step() {
        // Recursive doubling at p = 2: one exchange, E[max of two exponentials] = 1.5 means.
        let v = monte_carlo(EXP, Algorithm::Rd, 2, &BuildOptions::default()).unwrap();
        assert!((v / 150.0 - 1.0).abs() < 0.15, "{v}");
    }

    #[test]
    fn a_ring_costs_about_two_means_a_step_at_scale() {
        let mut n = NoiseCost::new(Noise::Fixed(EXP), BuildOptions::default());
        let at = n.case_cost(Case::all_reduce(Algorithm::Ring), CALIBRATION_RANKS);
        let steps = 2.0 * (CALIBRATION_RANKS as f64 - 1.0);
        assert!((at / steps / 100.0 - 2.0).abs() < 0.15, "{at}");
        // Carried per step beyond the calibration count.
        let far = n.case_cost(Case::all_reduce(Algorithm::Ring), 1024);
        assert!((far / at - 2046.0 / steps).abs() < 1e-9);
    }

    #[test]
    fn more_ranks_never_cost_less() {
        let mut n = NoiseCost::new(
            Noise::Fixed(Delay::Pareto {
                scale_us: 50.0,
                shape: 2.5,
            }),
            BuildOptions::default(),
        );
        for a in Algorithm::ALL {
            let mut last = 0.0;
            for p in [2usize, 4, 8, 16, 32, 64, 1024, 131_072] {
                let v = n.case_cost(Case::all_reduce(a), p);
                assert!(v >= 0.95 * last, "{a} at {p}: {v} after {last}");
                last = v;
            }
        }
    }

    const ROOTED: [Case; 4] = [
        Case {
            collective: topologies::Collective::Broadcast,
            algorithm: Algorithm::Chain,
        },
        Case {
            collective: topologies::Collective::Broadcast,
            algorithm: Algorithm::Tree,
        },
        Case {
            collective: topologies::Collective::Reduce,
            algorithm: Algorithm::Chain,
        },
        Case {
            collective: topologies::Collective::Reduce,
            algorithm: Algorithm::Tree,
        },
    ];

    proptest::proptest! {
        /// In a loop, a broadcast's or reduce's delays cost only what they add up to beyond the
        /// call's time: nothing for a share under 100% of the step, whatever the ranks, size and
        /// time; and a longer call never pays more of a fixed delay.
        #[test]
        fn rooted_calls_in_a_loop_hide_the_delays_their_transfers_outlast(
            case in proptest::sample::select(ROOTED.to_vec()),
            ranks in 2usize..64,
            kib in 1u32..8192,
            share in 0.1f64..99.0,
            time_us in 1.0f64..1e6,
            mean_us in 1.0f64..1e4,
        ) {
            let bytes = f64::from(kib) * 1024.0;
            let segment = 64 << 10;
            let mut scaled = NoiseCost::new(
                Noise::Scaled(Delay::Exp { mean_us: share }),
                BuildOptions::default(),
            );
            let added = scaled.looped_us(case, ranks, (bytes, segment), time_us);
            proptest::prop_assert_eq!(added, 0.0);
            proptest::prop_assert_eq!(scaled.looped_quiet_us(case, ranks, time_us), time_us);
            let mut fixed = NoiseCost::new(
                Noise::Fixed(Delay::Exp { mean_us }),
                BuildOptions::default(),
            );
            let segments = topologies::rooted::segment_count(bytes, segment);
            let added = fixed.looped_us(case, ranks, (bytes, segment), time_us);
            proptest::prop_assert!((added - (segments * mean_us - time_us).max(0.0)).abs() < 1e-6);
            let longer = fixed.looped_us(case, ranks, (bytes, segment), 2.0 * time_us);
            proptest::prop_assert!(longer <= added);
        }
    }

    /// Delays that outlast a broadcast's transfers set its call's time; every other collective
    /// costs in a loop what one call costs.
    #[test]
    fn a_loop_prices_other_collectives_as_one_call() {
        let build = BuildOptions::default();
        let mut n = NoiseCost::new("exp:150%".parse().unwrap(), build);
        let chain = ROOTED[0];
        let added = n.looped_us(chain, 8, (1024.0, build.segment_bytes), 100.0);
        assert!((added - 50.0).abs() < 1e-9, "{added}");
        for case in [
            Case::all_reduce(Algorithm::Ring),
            Case {
                collective: topologies::Collective::AllToAll,
                algorithm: Algorithm::Pairwise,
            },
        ] {
            let one = n.case_us(case, 8, 1000.0);
            assert!(one > 0.0);
            assert_eq!(
                n.looped_us(case, 8, (1024.0, build.segment_bytes), 1000.0),
                one
            );
            assert_eq!(
                n.looped_quiet_us(case, 8, 1000.0),
                n.quiet_us(case, 8, 1000.0)
            );
        }
    }

    /// A share of the step costs what a fixed delay of that share of the mean step costs, and
    /// grows with the iteration's time.
    #[test]
    fn a_share_of_the_step_is_priced_on_the_mean_step() {
        let build = BuildOptions::default();
        let ring = Case::all_reduce(Algorithm::Ring);
        let mut scaled = NoiseCost::new("exp:10%".parse().unwrap(), build);
        for (p, time_us) in [(4usize, 600.0), (8, 1400.0), (64, 25_200.0)] {
            let steps = scaled.steps(ring, p);
            let mut fixed = NoiseCost::new(
                Noise::Fixed(Delay::Exp {
                    mean_us: 0.1 * time_us / steps,
                }),
                build,
            );
            let (s, f) = (
                scaled.case_us(ring, p, time_us),
                fixed.case_us(ring, p, 0.0),
            );
            assert!((s / f - 1.0).abs() < 1e-9, "{p}: {s} against {f}");
            let twice = scaled.case_us(ring, p, 2.0 * time_us);
            assert!((twice / s - 2.0).abs() < 1e-9);
        }
        let level = |size: usize, span: usize| Level {
            name: "level".into(),
            size,
            span,
            bytes_per_s: 1e9,
            latency_us: 1.0,
            oversubscription: 1.0,
            extended: false,
            topology: Default::default(),
        };
        let levels = [level(8, 8), level(4, 32)];
        let strategy = Strategy::HierNode(Algorithm::Ring);
        let priced = scaled.strategy(strategy, 32, &levels);
        assert!(priced.added_us(1000.0) > 0.0);
        assert_eq!(priced.added_us(0.0), 0.0);
    }
}
