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
pub mod host_facts;
pub mod jitter;
pub mod link_error;
pub mod node;
pub mod pingpong;
pub mod refused;
pub mod steps;
pub mod unwritten;

pub use link_error::LinkError;
pub use node::{run_node, NodeConfig};

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The QUIC plumbing's errors keep their own texts (`TLS: ...`, `credentials: ...`).
    #[error(transparent)]
    Transport(#[from] transport::TransportError),
    #[error("{0}")]
    Io(String),
    #[error("protocol: {0}")]
    Protocol(#[from] wire::WireError),
    #[error("coordinator: {0}")]
    Coordinator(String),
    #[error("coordinator gone: {0}")]
    CoordinatorGone(String),
    /// A data-plane link failed: where (`context`, `step`), with which peer, and why.
    #[error("{context}: {source}")]
    Peer {
        context: String,
        /// The rank the node was waiting for or sending to.
        peer: usize,
        /// The step of the schedule; `None` after the last step (while its sends drain).
        step: Option<u32>,
        #[source]
        source: LinkError,
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

    /// A data-plane failure keeps its fields and quinn's error as its source.
    #[test]
    fn a_peer_failure_keeps_its_step_and_source() {
        let e = NodeError::Peer {
            context: "rank 1: ring 1024 bytes in-place iteration 0 step 3: waiting for rank 2"
                .into(),
            peer: 2,
            step: Some(3),
            source: crate::LinkError::Read(quinn::ReadError::ClosedStream),
        };
        assert!(e
            .to_string()
            .ends_with("step 3: waiting for rank 2: receiving: closed stream"));
        let source = std::error::Error::source(&e).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("receiving: closed stream"));
    }

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
