//! Per-step delay distributions: the noise a rank's host adds before it sends (the scheduler,
//! interrupts, a co-located job). `--fault jitter:DIST` makes every rank draw one before each
//! step's sends; the model prices the same distributions at scale.
//!
//! Written `exp:MEAN` (exponential with that mean) or `pareto:SCALE:SHAPE` (Pareto type I: at
//! least SCALE, tail index SHAPE > 1 so that the mean is finite), durations with a unit (`ns`,
//! `us`, `ms`, `s`): `exp:200us`, `pareto:50us:2.5`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The longest mean delay accepted: a second per step is already far beyond any real host's.
pub const MAX_MEAN_US: f64 = 1e6;

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Delay {
    /// Exponential with mean `mean_us` microseconds.
    Exp { mean_us: f64 },
    /// Pareto type I: at least `scale_us` microseconds, P(X > x) = (scale / x)^shape.
    Pareto { scale_us: f64, shape: f64 },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{spec}': {reason}; expected exp:MEAN or pareto:SCALE:SHAPE (for example exp:200us, pareto:50us:2.5)")]
pub struct DelaySyntax {
    pub spec: String,
    pub reason: String,
}

impl Delay {
    /// The mean delay, microseconds.
    pub fn mean_us(&self) -> f64 {
        match *self {
            Delay::Exp { mean_us } => mean_us,
            Delay::Pareto { scale_us, shape } => shape * scale_us / (shape - 1.0),
        }
    }

    /// The delay at quantile `u` in [0, 1) (inverse transform), microseconds.
    pub fn quantile_us(&self, u: f64) -> f64 {
        let tail = (1.0 - u.clamp(0.0, 1.0 - f64::EPSILON)).max(f64::MIN_POSITIVE);
        match *self {
            Delay::Exp { mean_us } => -mean_us * tail.ln(),
            Delay::Pareto { scale_us, shape } => scale_us * tail.powf(-1.0 / shape),
        }
    }

    /// Why the parameters are not a usable distribution, if they are not.
    pub fn check(&self) -> Result<(), String> {
        let positive = |what: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(format!("{what} must be a positive duration"))
            }
        };
        match *self {
            Delay::Exp { mean_us } => positive("the mean", mean_us)?,
            Delay::Pareto { scale_us, shape } => {
                positive("the scale", scale_us)?;
                if !(shape.is_finite() && shape > 1.0) {
                    return Err("the shape must be above 1 (the mean is infinite at 1)".into());
                }
            }
        }
        if self.mean_us() > MAX_MEAN_US {
            return Err(format!("a mean delay above {} s", MAX_MEAN_US / 1e6));
        }
        Ok(())
    }
}

impl fmt::Display for Delay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Delay::Exp { mean_us } => write!(f, "exp:{}", Duration(mean_us)),
            Delay::Pareto { scale_us, shape } => {
                write!(f, "pareto:{}:{shape}", Duration(scale_us))
            }
        }
    }
}

/// Microseconds written in ms or s where that reads back exactly, else in us.
struct Duration(f64);

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0;
        for (unit, scale) in [("s", 1e6), ("ms", 1e3)] {
            let v = us / scale;
            if us >= scale && v.fract() == 0.0 && v * scale == us {
                return write!(f, "{v}{unit}");
            }
        }
        write!(f, "{us}us")
    }
}

impl FromStr for Delay {
    type Err = DelaySyntax;

    fn from_str(s: &str) -> Result<Delay, DelaySyntax> {
        let bad = |reason: String| DelaySyntax {
            spec: s.to_string(),
            reason,
        };
        let parts: Vec<&str> = s.split(':').map(str::trim).collect();
        let d = match parts.as_slice() {
            ["exp", mean] => Delay::Exp {
                mean_us: duration_us(mean).map_err(bad)?,
            },
            ["pareto", scale, shape] => Delay::Pareto {
                scale_us: duration_us(scale).map_err(bad)?,
                shape: shape
                    .parse::<f64>()
                    .map_err(|_| bad(format!("the shape '{shape}' is not a number")))?,
            },
            [kind, ..] if !["exp", "pareto"].contains(kind) => {
                return Err(bad(format!("unknown distribution '{kind}'")))
            }
            _ => return Err(bad("wrong number of fields".into())),
        };
        d.check().map_err(bad)?;
        Ok(d)
    }
}

/// A duration with its unit (`ns`, `us`, `ms` or `s`), in microseconds.
fn duration_us(text: &str) -> Result<f64, String> {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or_else(|| format!("'{text}' has no unit (ns, us, ms or s)"))?;
    let (number, unit) = text.split_at(split);
    let v: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number with a unit"))?;
    let scale = match unit.trim() {
        "ns" => 1e-3,
        "us" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        other => return Err(format!("unknown unit '{other}' (ns, us, ms or s)")),
    };
    Ok(v * scale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;
    use proptest::prelude::*;

    #[test]
    fn written_forms() {
        assert_eq!(
            "exp:200us".parse::<Delay>(),
            Ok(Delay::Exp { mean_us: 200.0 })
        );
        assert_eq!(
            "pareto:50us:2.5".parse::<Delay>(),
            Ok(Delay::Pareto {
                scale_us: 50.0,
                shape: 2.5
            })
        );
        assert_eq!(
            "exp:1.5ms".parse::<Delay>(),
            Ok(Delay::Exp { mean_us: 1500.0 })
        );
        let reason = |s: &str| s.parse::<Delay>().unwrap_err().reason;
        assert!(reason("exp:200").contains("no unit"));
        assert!(reason("exp:200m").contains("unknown unit"));
        assert!(reason("normal:1us").contains("unknown distribution"));
        assert!(reason("pareto:50us").contains("number of fields"));
        assert!(reason("pareto:50us:1").contains("above 1"));
        assert!(reason("exp:0us").contains("positive"));
        assert!(reason("exp:2s").contains("above 1 s"));
        assert_eq!(Delay::Exp { mean_us: 2000.0 }.to_string(), "exp:2ms");
        assert_eq!(Delay::Exp { mean_us: 2500.5 }.to_string(), "exp:2500.5us");
    }

    /// The sample mean of many draws is the distribution's mean.
    #[test]
    fn draws_have_the_stated_mean() {
        for d in [
            Delay::Exp { mean_us: 200.0 },
            Delay::Pareto {
                scale_us: 50.0,
                shape: 2.5,
            },
        ] {
            let mut rng = SplitMix64::new(7);
            let n = 400_000;
            let mean = (0..n).map(|_| d.quantile_us(rng.next_f64())).sum::<f64>() / n as f64;
            assert!((mean / d.mean_us() - 1.0).abs() < 0.02, "{d}: {mean}");
        }
    }

    proptest! {
        #[test]
        fn written_and_read_back(mean in 0.001f64..1e5, scale in 0.001f64..1e4, shape in 1.01f64..10.0) {
            for d in [Delay::Exp { mean_us: mean }, Delay::Pareto { scale_us: scale, shape }] {
                prop_assert_eq!(d.to_string().parse::<Delay>(), Ok(d));
            }
        }

        #[test]
        fn quantiles_rise_and_stay_at_or_above_the_floor(u in 0.0f64..1.0, v in 0.0f64..1.0) {
            let p = Delay::Pareto { scale_us: 50.0, shape: 2.5 };
            let e = Delay::Exp { mean_us: 200.0 };
            let (lo, hi) = (u.min(v), u.max(v));
            for d in [p, e] {
                prop_assert!(d.quantile_us(lo) <= d.quantile_us(hi));
                prop_assert!(d.quantile_us(lo).is_finite());
            }
            prop_assert!(p.quantile_us(lo) >= 50.0);
            prop_assert!(e.quantile_us(lo) >= 0.0);
        }
    }
}
