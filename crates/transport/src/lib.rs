//! transport: the QUIC plumbing every collbench process shares.
//!
//! The coordinator and every bench-node talk QUIC with the same settings: mutual TLS 1.3 against
//! the run's own CA ([`credentials`], [`tls`]), flow-control windows from the bandwidth-delay
//! product and datagrams from the network's MTU ([`settings`]), GSO batches the kernel accepts
//! ([`gso`]), optionally payloads in clear ([`unencrypted`]), and framed control messages on
//! streams ([`control_io`]); refused connection attempts are counted and summarised
//! ([`refusals`]). They live here, apart from bench-node, so that the coordinator
//! needs bench-node only for its `node` subcommand, and so that measurements of the transport
//! alone (`examples/transport_floor.rs`) use these settings instead of copies of them.

pub mod control_io;
pub mod credentials;
pub mod error;
pub mod gso;
pub mod refusals;
pub mod settings;
pub mod tls;
pub mod unencrypted;

pub use error::TransportError;
