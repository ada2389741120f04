//! bench-node: one rank of a collbench run.
//!
//! It connects back to the coordinator over QUIC with the run's credentials, registers, receives
//! the plan, dials its data-plane peers, and then runs every algorithm and size of the plan,
//! meeting the other ranks at a barrier before each size's iterations, which run back to back,
//! and timing each iteration itself.
//! The same [`execute`] loop runs every schedule from `topologies`; no algorithm has network code
//! of its own, and neither has the [`pingpong`] that measures one link after the sweep.

pub mod apply;
pub mod channel;
pub mod channel_set;
pub mod channel_work;
pub mod control;
pub mod datalink;
pub mod execute;
pub mod host;
pub mod node;
pub mod pingpong;
pub mod steps;
pub mod unwritten;

pub use node::{run_node, NodeConfig};

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The QUIC plumbing's errors keep their own texts (`TLS: ...`, `credentials: ...`).
    #[error(transparent)]
    Transport(#[from] transport::TransportError),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("credentials: {0}")]
    Credentials(String),
    #[error("{0}")]
    Io(String),
    #[error("protocol: {0}")]
    Protocol(#[from] wire::WireError),
    #[error("coordinator: {0}")]
    Coordinator(String),
    #[error("coordinator gone: {0}")]
    CoordinatorGone(String),
    #[error("{context}: {error}")]
    Peer {
        context: String,
        error: String,
        /// The rank the node was waiting for or sending to.
        peer: usize,
    },
    #[error("aborted by the coordinator: {0}")]
    Aborted(String),
    #[error("schedule: {0}")]
    Schedule(String),
}

#[cfg(test)]
mod tests {
    use super::NodeError;
    use transport::TransportError;

    /// The transport's errors read as they did when that code was part of bench-node.
    #[test]
    fn transport_errors_keep_their_texts() {
        let text = |e: TransportError| NodeError::from(e).to_string();
        assert_eq!(text(TransportError::Tls("x".into())), "TLS: x");
        assert_eq!(
            text(TransportError::Credentials("y".into())),
            "credentials: y"
        );
        assert_eq!(
            text(TransportError::Io("bind 1.2.3.4:5: z".into())),
            "bind 1.2.3.4:5: z"
        );
    }
}
