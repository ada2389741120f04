//! The vocabulary of option checking: which launcher, and what was wrong with a flag.

/// `--launcher`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LauncherKind {
    Local,
    Netns,
    Ssh,
    Slurm,
    K8s,
}

/// A flag that was refused: which, and why (with what was given and what would be accepted).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{flag}: {message}")]
pub struct OptionError {
    pub flag: &'static str,
    pub message: String,
}

pub(crate) fn bad(flag: &'static str, message: impl Into<String>) -> OptionError {
    OptionError {
        flag,
        message: message.into(),
    }
}
