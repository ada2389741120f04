//! What can go wrong on one data-plane link, with quinn's own errors kept as sources.

/// A failed send or receive between this rank and one peer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LinkError {
    #[error("no link to rank {0}")]
    NoLink(usize),
    #[error("sending: {0}")]
    Write(#[source] quinn::WriteError),
    #[error("receiving a message header: {0}")]
    ReadHeader(#[source] quinn::ReadExactError),
    #[error("receiving: {0}")]
    Read(#[source] quinn::ReadError),
    #[error("stream ended mid-message")]
    EndedMidMessage,
    #[error(
        "out of step: got message {got_seq} of {got_len} bytes, expected message {want_seq} of \
         {want_len} bytes"
    )]
    OutOfStep {
        got_seq: u32,
        got_len: u64,
        want_seq: u32,
        want_len: u64,
    },
}

impl LinkError {
    /// The error with every source below it, one after another: what travels in a failure
    /// report.
    pub fn chain(&self) -> String {
        let mut s = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(e) = source {
            let text = e.to_string();
            if !s.ends_with(&text) {
                s.push_str(": ");
                s.push_str(&text);
            }
            source = e.source();
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_does_not_repeat_a_source_the_message_already_shows() {
        let e = LinkError::Read(quinn::ReadError::ClosedStream);
        assert_eq!(e.chain(), "receiving: closed stream");
        assert!(std::error::Error::source(&e).is_some());
        let e = LinkError::OutOfStep {
            got_seq: 3,
            got_len: 8,
            want_seq: 2,
            want_len: 8,
        };
        assert!(e.chain().starts_with("out of step: got message 3"));
    }
}
