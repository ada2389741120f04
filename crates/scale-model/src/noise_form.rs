//! Host noise as the model prices it: a per-step delay distribution that is either fixed in
//! time (`exp:35us`: every step waits as long, however long the step) or a share of the step's
//! own time (`exp:12%`: a step twice as long waits twice as long).
//!
//! A fixed delay is what a scheduler's wake-up or a co-located job's burst adds, and what
//! `collbench run --fault jitter:DIST` injects. A delay in proportion to the step is what a
//! host's interruptions add to work spread over the step (the longer a step runs, the more
//! of them it meets), and what a lab's shaper adds where it lets a step through in one burst
//! or at its rate. A lab's own noise fitted in proportion to its step time carries to a target
//! whose steps are shorter or longer: there the same share of a different step.
//!
//! Written as a [`Delay`], durations in `ns`/`us`/`ms`/`s` (fixed) or in `%` of the step's
//! time (in proportion): `exp:12%`, `pareto:5%:2.5`.

use std::fmt;
use std::str::FromStr;

use topologies::noise::{Delay, DelaySyntax};

/// The largest mean share of a step accepted, percent: a step waiting ten times its own length
/// is no longer a step delayed by noise.
pub const MAX_MEAN_PERCENT: f64 = 1000.0;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Noise {
    /// Delays in microseconds, whatever the step.
    Fixed(Delay),
    /// Delays in percent of the step's own time: the distribution's microseconds read as
    /// hundredths of the step.
    Scaled(Delay),
}

impl Noise {
    /// The distribution, in microseconds ([`Noise::Fixed`]) or percent of a step
    /// ([`Noise::Scaled`]).
    pub fn delay(&self) -> Delay {
        match *self {
            Noise::Fixed(d) | Noise::Scaled(d) => d,
        }
    }

    pub fn is_scaled(&self) -> bool {
        matches!(self, Noise::Scaled(_))
    }

    /// The expected delay of a step of `step_us` microseconds, microseconds.
    pub fn mean_for_step_us(&self, step_us: f64) -> f64 {
        match *self {
            Noise::Fixed(d) => d.mean_us(),
            Noise::Scaled(d) => d.mean_us() * step_us / 100.0,
        }
    }

    /// What the expected cost of the noise on a schedule adds to an iteration, microseconds:
    /// `cost` is that cost in the distribution's units over `steps` dependency steps, and
    /// `time_us` the iteration's time without the noise (its steps' mean length is `time_us /
    /// steps`).
    pub fn added_us(&self, cost: f64, steps: f64, time_us: f64) -> f64 {
        match self {
            Noise::Fixed(_) => cost,
            Noise::Scaled(_) if steps > 0.0 => cost / steps / 100.0 * time_us,
            Noise::Scaled(_) => 0.0,
        }
    }

    /// The time without the noise of an iteration measured at `time_us` with it (never below a
    /// twentieth of the measured time).
    pub fn removed_us(&self, cost: f64, steps: f64, time_us: f64) -> f64 {
        let quiet = match self {
            Noise::Fixed(_) => time_us - cost,
            Noise::Scaled(_) if steps > 0.0 => time_us / (1.0 + cost / steps / 100.0),
            Noise::Scaled(_) => time_us,
        };
        quiet.max(time_us / 20.0)
    }
}

impl fmt::Display for Noise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Noise::Fixed(d) => d.fmt(f),
            Noise::Scaled(Delay::Exp { mean_us }) => write!(f, "exp:{mean_us}%"),
            Noise::Scaled(Delay::Pareto { scale_us, shape }) => {
                write!(f, "pareto:{scale_us}%:{shape}")
            }
        }
    }
}

impl FromStr for Noise {
    type Err = DelaySyntax;

    fn from_str(s: &str) -> Result<Noise, DelaySyntax> {
        if !s.contains('%') {
            return s.parse().map(Noise::Fixed);
        }
        let bad = |reason: String| DelaySyntax {
            spec: s.to_string(),
            reason,
        };
        // Each share read as that many microseconds, then checked as a share.
        let as_us: Vec<String> = s
            .split(':')
            .map(|field| match field.trim().strip_suffix('%') {
                Some(n) if !n.is_empty() && n.trim().parse::<f64>().is_ok() => {
                    format!("{}us", n.trim())
                }
                Some(_) => format!("{field}?"),
                None => field.to_string(),
            })
            .collect();
        if as_us.iter().any(|f| f.ends_with('?')) {
            return Err(bad("a share of the step is a number followed by %".into()));
        }
        let delay = as_us
            .join(":")
            .parse::<Delay>()
            .map_err(|e| bad(e.reason))?;
        if delay.mean_us() > MAX_MEAN_PERCENT {
            return Err(bad(format!(
                "a mean delay above {MAX_MEAN_PERCENT}% of the step"
            )));
        }
        Ok(Noise::Scaled(delay))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn written_forms() {
        assert_eq!(
            "exp:12%".parse::<Noise>(),
            Ok(Noise::Scaled(Delay::Exp { mean_us: 12.0 }))
        );
        assert_eq!(
            "pareto:5%:2.5".parse::<Noise>(),
            Ok(Noise::Scaled(Delay::Pareto {
                scale_us: 5.0,
                shape: 2.5
            }))
        );
        assert_eq!(
            "exp:35us".parse::<Noise>(),
            Ok(Noise::Fixed(Delay::Exp { mean_us: 35.0 }))
        );
        let reason = |s: &str| s.parse::<Noise>().unwrap_err().reason;
        assert!(reason("exp:%").contains("followed by %"));
        assert!(reason("exp:x%").contains("followed by %"));
        assert!(reason("exp:0%").contains("positive"));
        assert!(reason("exp:2000%").contains("1000%"));
        assert!(reason("pareto:5%:1").contains("above 1"));
        assert_eq!(
            Noise::Scaled(Delay::Exp { mean_us: 2.5 }).to_string(),
            "exp:2.5%"
        );
    }

    #[test]
    fn a_share_of_the_step_scales_with_the_step() {
        let scaled: Noise = "exp:10%".parse().unwrap();
        assert_eq!(scaled.mean_for_step_us(200.0), 20.0);
        let fixed: Noise = "exp:20us".parse().unwrap();
        assert_eq!(fixed.mean_for_step_us(5.0), 20.0);
        // A cost of 8 percent-of-a-step over 4 steps: 2% of the iteration's 400 us.
        assert!((scaled.added_us(8.0, 4.0, 400.0) - 8.0).abs() < 1e-12);
        assert_eq!(fixed.added_us(8.0, 4.0, 400.0), 8.0);
        // Taking it off what it added gives the time back.
        assert!((scaled.removed_us(8.0, 4.0, 408.0) - 400.0).abs() < 1e-9);
        assert_eq!(fixed.removed_us(8.0, 4.0, 408.0), 400.0);
        assert_eq!(fixed.removed_us(1000.0, 4.0, 400.0), 20.0);
    }

    proptest! {
        #[test]
        fn written_and_read_back(mean in 0.001f64..1000.0, scale in 0.001f64..300.0, shape in 1.01f64..10.0) {
            for d in [Delay::Exp { mean_us: mean }, Delay::Pareto { scale_us: scale, shape }] {
                for n in [Noise::Fixed(d), Noise::Scaled(d)] {
                    if n.delay().mean_us() <= MAX_MEAN_PERCENT {
                        prop_assert_eq!(n.to_string().parse::<Noise>(), Ok(n));
                    }
                }
            }
        }

        #[test]
        fn removing_undoes_adding(cost in 0.0f64..500.0, steps in 1.0f64..100.0, time in 1.0f64..1e6) {
            for n in [Noise::Fixed(Delay::Exp { mean_us: 1.0 }), Noise::Scaled(Delay::Exp { mean_us: 1.0 })] {
                let with = time + n.added_us(cost, steps, time);
                let back = n.removed_us(cost, steps, with);
                prop_assert!((back - time).abs() <= 1e-9 * with.max(1.0) || back == with / 20.0);
            }
        }
    }
}
