//! Clean-up on every path out: wait for the nodes to exit (run-core told them to stop), kill
//! the ones that do not.

use std::time::Duration;

use tracing::{info, warn};

use super::Driver;
use crate::events::Event;

impl Driver {
    /// Kills `rank`'s node now (one that no longer responds will not take an abort).
    pub(super) fn kill_rank(&mut self, rank: usize) {
        if let Some(n) = self.nodes.iter_mut().find(|n| n.rank == rank) {
            info!(rank, pid = ?n.pid, "killing the node that stopped responding");
            n.kill();
        }
    }

    /// Waits for every launched node to exit; kills those that do not in time.
    pub(super) async fn reap(&mut self, grace: Duration) {
        let deadline = tokio::time::Instant::now() + grace;
        while self.exited.len() < self.nodes.len() {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(Event::Exited { rank, status })) => {
                    info!(rank, "node {status}");
                    self.exited.insert(rank);
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => {
                    for n in self
                        .nodes
                        .iter_mut()
                        .filter(|n| !self.exited.contains(&n.rank))
                    {
                        warn!(rank = n.rank, pid = ?n.pid, "node did not exit; killing it");
                        n.kill();
                    }
                    // Give the kills a moment to be reported.
                    let _ = tokio::time::timeout(Duration::from_secs(2), async {
                        while self.exited.len() < self.nodes.len() {
                            match self.events.recv().await {
                                Some(Event::Exited { rank, .. }) => {
                                    self.exited.insert(rank);
                                }
                                Some(_) => {}
                                None => break,
                            }
                        }
                    })
                    .await;
                    break;
                }
            }
        }
        if self.nodes.is_empty() {
            // Nodes started elsewhere (a Kubernetes Job) are not watched: they close their
            // connections when they are done.
            let _ = tokio::time::timeout_at(deadline, async {
                for slot in self.slots.iter().flatten() {
                    slot.conn.closed().await;
                }
            })
            .await;
        }
        for slot in self.slots.iter().flatten() {
            slot.conn.close(0u32.into(), b"run over");
        }
    }
}
