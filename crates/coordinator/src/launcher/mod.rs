//! Starting bench-nodes. A launcher starts one node per rank and reports each exit as an
//! [`Event::Exited`](crate::events::Event); [`NodeProcess::kill`] stops one.

pub mod local;

use tokio::sync::oneshot;

/// A started node the coordinator can stop.
pub struct NodeProcess {
    pub rank: usize,
    pub pid: Option<u32>,
    kill: Option<oneshot::Sender<()>>,
}

impl NodeProcess {
    pub fn new(rank: usize, pid: Option<u32>, kill: oneshot::Sender<()>) -> Self {
        NodeProcess {
            rank,
            pid,
            kill: Some(kill),
        }
    }

    /// Asks the node's watcher to kill it (SIGKILL); the exit still arrives as an event.
    pub fn kill(&mut self) {
        if let Some(tx) = self.kill.take() {
            let _ = tx.send(());
        }
    }
}
