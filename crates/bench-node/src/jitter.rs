//! `--fault jitter:DIST`: before each step's sends a channel waits a delay drawn from DIST,
//! blocking its thread as a descheduled process would (its receives wait too, in the socket).

use std::time::Duration;

use topologies::noise::Delay;
use topologies::rng::SplitMix64;

pub struct Jitter {
    delay: Delay,
    rng: SplitMix64,
}

impl Jitter {
    /// Draws from `delay`; `seed` makes every rank's and channel's draws their own.
    pub fn new(delay: Delay, seed: u64) -> Jitter {
        Jitter {
            delay,
            rng: SplitMix64::new(seed),
        }
    }

    /// Waits one draw.
    pub fn wait(&mut self) {
        let us = self.delay.quantile_us(self.rng.next_f64());
        std::thread::sleep(Duration::from_secs_f64(us / 1e6));
    }
}
