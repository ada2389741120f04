//! Registration: every rank connects back, proves who it is (checked by the control server) and
//! is given its slot; a second claim on a rank is refused.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use tracing::warn;

use super::failure::RunFailure;
use super::wait::Deadline;
use super::{Orchestrator, Slot};
use crate::events::{Event, Registered};

impl Orchestrator {
    fn missing(&self, have: &BTreeSet<usize>) -> Vec<usize> {
        (0..self.nranks).filter(|r| !have.contains(r)).collect()
    }

    pub(super) async fn register(&mut self) -> Result<(), RunFailure> {
        let mut registered = BTreeSet::new();
        while registered.len() < self.nranks {
            let unregistered =
                |o: &Self, limit: Duration| o.unregistered(&o.missing(&registered), limit);
            let ev = self
                .next_event(Deadline::Fixed(
                    self.opts.cluster.setup_timeout,
                    &unregistered,
                ))
                .await?;
            match self.common(ev)? {
                Some(Event::Registered(reg)) => {
                    let Registered {
                        rank,
                        host,
                        pid,
                        data_addr,
                        conn,
                        send,
                    } = *reg;
                    if registered.contains(&rank) {
                        warn!(
                            rank,
                            "refused a second registration for a rank already taken"
                        );
                        conn.close(0x52u32.into(), b"rank already taken");
                        continue;
                    }
                    registered.insert(rank);
                    self.liveness.heard(rank, Instant::now());
                    self.slots[rank] = Some(Slot::new(host, pid, data_addr, conn, send));
                }
                Some(Event::Node { rank, msg }) => {
                    return Err(self.blame(rank, &format!("sent {msg:?} before the plan")))
                }
                _ => {}
            }
        }
        Ok(())
    }
}
