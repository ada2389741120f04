//! How long a rank keeps polling for its next message before its thread sleeps (`--poll-us
//! N|auto`).
//!
//! Polling spares a process wake-up per message, most of a small collective's cost where a
//! rank has a core to itself or shares it with one other rank. Where more ranks share a core, a
//! rank that polls holds the core another rank needs to send what it waits for: on a 2-core
//! machine, small all-reduces and all-gathers at 6 and 8 ranks took 1.2-1.7x as long with
//! polling as without, at 2 and 4 ranks about as long or less (docs/performance.md). `auto`
//! therefore polls only where every rank was given at least [`MIN_CORES_TO_POLL`] of a core.
//!
//! Pure: the setting and the cores each rank was given in, microseconds out.

use std::fmt;
use std::str::FromStr;

/// What `auto` polls for where the ranks have the cores for it, microseconds.
pub const AUTO_POLL_US: u32 = 500;
/// The least share of a core every rank needs for `auto` to poll.
pub const MIN_CORES_TO_POLL: f64 = 0.5;
/// The longest poll that may be asked for: one second.
pub const MAX_POLL_US: u32 = wire::control::MAX_POLL_US;

/// `--poll-us`: microseconds, or `auto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Polling {
    Auto,
    Fixed(u32),
}

impl Polling {
    /// The microseconds to poll, given the cores each rank was given
    /// ([`cores_given`](crate::channels::cores_given)).
    pub fn poll_us(self, cores: &[f64]) -> u32 {
        match self {
            Polling::Fixed(us) => us,
            Polling::Auto if cores.iter().all(|&c| c >= MIN_CORES_TO_POLL) => AUTO_POLL_US,
            Polling::Auto => 0,
        }
    }
}

impl FromStr for Polling {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(Polling::Auto);
        }
        match s.parse::<u32>() {
            Ok(us) if us <= MAX_POLL_US => Ok(Polling::Fixed(us)),
            Ok(us) => Err(format!("{us} is above {MAX_POLL_US} (one second)")),
            Err(_) => Err(format!(
                "'{s}' is not 'auto' or a number of microseconds (0 to {MAX_POLL_US})"
            )),
        }
    }
}

impl fmt::Display for Polling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Polling::Auto => f.write_str("auto"),
            Polling::Fixed(us) => write!(f, "{us}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// auto polls exactly where no rank has less than half a core; a number is kept.
        #[test]
        fn auto_polls_only_where_every_rank_has_half_a_core(
            cores in proptest::collection::vec(0.05f64..8.0, 1..16),
            us in 0u32..=MAX_POLL_US,
        ) {
            let enough = cores.iter().all(|&c| c >= 0.5);
            prop_assert_eq!(Polling::Auto.poll_us(&cores), if enough { AUTO_POLL_US } else { 0 });
            prop_assert_eq!(Polling::Fixed(us).poll_us(&cores), us);
            let parsed: Polling = Polling::Fixed(us).to_string().parse().unwrap();
            prop_assert_eq!(parsed, Polling::Fixed(us));
        }
    }

    #[test]
    fn two_cores_poll_for_four_ranks_and_not_for_six() {
        assert_eq!(Polling::Auto.poll_us(&[0.5; 4]), AUTO_POLL_US);
        assert_eq!(Polling::Auto.poll_us(&[2.0 / 6.0; 6]), 0);
        assert_eq!("AUTO".parse::<Polling>(), Ok(Polling::Auto));
        assert!("1000001"
            .parse::<Polling>()
            .unwrap_err()
            .contains("one second"));
        assert!("soon".parse::<Polling>().unwrap_err().contains("'soon'"));
    }
}
