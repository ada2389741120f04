//! What can go wrong in the transport: the same texts bench-node's errors had when this code
//! was part of it (`TLS: ...`, `credentials: ...`, `protocol: ...`, plain I/O text), so that
//! moving it changed no message a user or a test sees.

/// An error of the QUIC plumbing: TLS set-up, credentials, sockets and endpoints, or a control
/// frame that does not parse.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("TLS: {0}")]
    Tls(String),
    #[error("credentials: {0}")]
    Credentials(String),
    #[error("{0}")]
    Io(String),
    #[error("protocol: {0}")]
    Protocol(#[from] wire::WireError),
}
