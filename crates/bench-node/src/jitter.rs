//! `--fault jitter:DIST`: before each step's sends a channel's program waits a delay drawn from
//! DIST. The wait runs on the runtime's blocking pool, so the channel's QUIC connections keep
//! running meanwhile (what was sent goes out, what arrives is taken in and acknowledged): the
//! delay holds back this rank's next sends, as the model's noise does, and nothing else. (A
//! blocking sleep on the channel's own thread would also hold back the previous step's sends
//! still queued in quinn, and every acknowledgement, and cost the ring about three times the
//! delays it drew.)

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

    /// Waits one draw (a thread's sleep: tokio's timer would round it up to a millisecond).
    pub async fn wait(&mut self) {
        let wait = Duration::from_secs_f64(self.delay.quantile_us(self.rng.next_f64()) / 1e6);
        if tokio::task::spawn_blocking(move || std::thread::sleep(wait))
            .await
            .is_err()
        {
            // The pool is shutting down with the node; nothing left to delay.
        }
    }
}
