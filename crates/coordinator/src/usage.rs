//! A usage error found after the flags were parsed (an output directory already in use, a
//! threshold that is not a percentage): exit status 2, like a bad flag.

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
