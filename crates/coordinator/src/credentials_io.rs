//! A run's credentials outside the process: as `KEY=VALUE` lines (the variables of
//! [`NodeCredentials::to_env`]) streamed over a pipe (ssh), or as files in a private directory
//! (Slurm on a shared filesystem, a Kubernetes Secret).
//!
//! Files are written only into a directory this process creates with mode 0700, each file with
//! mode 0600 and `create_new`, so nothing is ever readable by another user, not even briefly.
//! [`PrivateDir`] removes the directory when the run is over (and on drop).

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use base64::Engine;
use transport::credentials::{
    Identity, NodeCredentials, RunCredentials, ENV_CA, ENV_CERT, ENV_KEY, ENV_TOKEN,
};

/// The line that ends a credentials stream (the pipe stays open after it).
pub const END: &str = "END";
/// The coordinator's own credentials in a credentials directory.
pub const COORDINATOR_FILE: &str = "coordinator.env";
/// Mode of a credentials directory and of the files in it.
pub const DIR_MODE: u32 = 0o700;
pub const FILE_MODE: u32 = 0o600;

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("{source_name}: line {line}: {message}")]
    Syntax {
        source_name: String,
        line: usize,
        message: String,
    },
    #[error("{source_name}: {message}")]
    Invalid {
        source_name: String,
        message: String,
    },
    #[error("{path}: {error}")]
    Io { path: String, error: std::io::Error },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> CredentialsError + '_ {
    move |error| CredentialsError::Io {
        path: path.display().to_string(),
        error,
    }
}

/// The credentials as text: one `KEY=VALUE` line per variable.
pub fn to_text(creds: &NodeCredentials) -> String {
    creds
        .to_env()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}\n"))
        .collect()
}

/// Parses [`to_text`]'s format; `source_name` names the input in errors. Stops at a line
/// [`END`]. Every variable must appear exactly once.
pub fn parse_text(text: &str, source_name: &str) -> Result<NodeCredentials, CredentialsError> {
    let syntax = |line: usize, message: String| CredentialsError::Syntax {
        source_name: source_name.to_string(),
        line,
        message,
    };
    let mut vars: BTreeMap<&str, &str> = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line == END {
            break;
        }
        if line.is_empty() {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| syntax(i + 1, "expected KEY=VALUE".into()))?;
        if ![ENV_TOKEN, ENV_CA, ENV_CERT, ENV_KEY].contains(&key) {
            return Err(syntax(i + 1, format!("unknown variable '{key}'")));
        }
        if vars.insert(key, value).is_some() {
            return Err(syntax(i + 1, format!("'{key}' given twice")));
        }
    }
    let get = |key: &str| {
        vars.get(key)
            .copied()
            .ok_or_else(|| CredentialsError::Invalid {
                source_name: source_name.to_string(),
                message: format!("{key} is missing"),
            })
    };
    let der = |key: &str| -> Result<Vec<u8>, CredentialsError> {
        base64::engine::general_purpose::STANDARD
            .decode(get(key)?)
            .map_err(|e| CredentialsError::Invalid {
                source_name: source_name.to_string(),
                message: format!("{key} is not base64: {e}"),
            })
    };
    Ok(NodeCredentials {
        token: get(ENV_TOKEN)?.to_string(),
        ca_der: der(ENV_CA)?,
        identity: Identity {
            cert_der: der(ENV_CERT)?,
            key_der: der(ENV_KEY)?,
        },
    })
}

/// Reads a credentials stream up to its [`END`] line and no further, so the rest of the
/// stream (its end of file) can be watched afterwards.
pub fn read_stream(mut reader: impl BufRead) -> Result<NodeCredentials, CredentialsError> {
    let mut text = String::new();
    let mut ended = false;
    for _ in 0..64 {
        let mut line = String::new();
        let n = reader
            .read_line(&mut line)
            .map_err(io_err(Path::new("stdin")))?;
        if n == 0 {
            break;
        }
        if line.trim() == END {
            ended = true;
            break;
        }
        text.push_str(&line);
    }
    if !ended {
        return Err(CredentialsError::Invalid {
            source_name: "stdin".into(),
            message: format!("the credentials stream ended before its '{END}' line"),
        });
    }
    parse_text(&text, "stdin")
}

/// The file holding `rank`'s credentials in a credentials directory.
pub fn rank_file(dir: &Path, rank: usize) -> PathBuf {
    dir.join(format!("rank-{rank}.env"))
}

fn read_file(path: &Path) -> Result<NodeCredentials, CredentialsError> {
    let text = std::fs::read_to_string(path).map_err(io_err(path))?;
    parse_text(&text, &path.display().to_string())
}

/// Reads one rank's credentials from a credentials directory.
pub fn read_rank(dir: &Path, rank: usize) -> Result<NodeCredentials, CredentialsError> {
    read_file(&rank_file(dir, rank))
}

/// Reads a whole run's credentials (the coordinator's and every rank's certificate) from a
/// directory written by [`write_files`] with the coordinator's file.
pub fn read_run(dir: &Path, nranks: usize) -> Result<RunCredentials, CredentialsError> {
    let coordinator = read_file(&dir.join(COORDINATOR_FILE))?;
    let mut ranks = Vec::with_capacity(nranks);
    for rank in 0..nranks {
        let c = read_rank(dir, rank)?;
        if c.token != coordinator.token || c.ca_der != coordinator.ca_der {
            return Err(CredentialsError::Invalid {
                source_name: rank_file(dir, rank).display().to_string(),
                message: "belongs to another run (token or CA differ from the coordinator's)"
                    .into(),
            });
        }
        ranks.push(c.identity);
    }
    Ok(RunCredentials {
        ca_der: coordinator.ca_der,
        coordinator: coordinator.identity,
        ranks,
        token: coordinator.token,
    })
}

/// Every file of a credentials directory: `rank-<r>.env` for each rank, and the
/// coordinator's when `with_coordinator` (what a coordinator started elsewhere needs).
pub fn files(creds: &RunCredentials, with_coordinator: bool) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = (0..creds.ranks.len())
        .map(|r| (format!("rank-{r}.env"), to_text(&creds.for_rank(r))))
        .collect();
    if with_coordinator {
        out.push((
            COORDINATOR_FILE.to_string(),
            to_text(&creds.coordinator_credentials()),
        ));
    }
    out
}

/// A directory only this user can enter, removed by [`PrivateDir::remove`] or on drop.
#[derive(Debug)]
pub struct PrivateDir {
    path: Option<PathBuf>,
}

impl PrivateDir {
    /// Creates `path` with mode 0700 (its parent must exist); fails if it exists.
    pub fn create(path: &Path) -> Result<PrivateDir, CredentialsError> {
        std::fs::DirBuilder::new()
            .mode(DIR_MODE)
            .create(path)
            .map_err(io_err(path))?;
        Ok(PrivateDir {
            path: Some(path.to_path_buf()),
        })
    }

    pub fn path(&self) -> &Path {
        self.path.as_deref().unwrap_or(Path::new(""))
    }

    /// Writes a new file with mode 0600.
    pub fn write(&self, name: &str, contents: &str) -> Result<(), CredentialsError> {
        let path = self.path().join(name);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(&path)
            .map_err(io_err(&path))?;
        f.write_all(contents.as_bytes()).map_err(io_err(&path))?;
        f.sync_all().map_err(io_err(&path))
    }

    /// Removes the directory and everything in it; safe to call twice.
    pub fn remove(&mut self) -> Result<(), CredentialsError> {
        match self.path.take() {
            Some(p) => match std::fs::remove_dir_all(&p) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err(&p)(e)),
                _ => Ok(()),
            },
            None => Ok(()),
        }
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        if let Err(e) = self.remove() {
            tracing::warn!("{e}");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn err<T>(r: Result<T, CredentialsError>) -> CredentialsError {
        match r {
            Ok(_) => panic!("expected an error"),
            Err(e) => e,
        }
    }

    fn creds() -> RunCredentials {
        RunCredentials::generate("t", 3).unwrap()
    }

    #[test]
    fn text_round_trips_and_the_stream_stops_at_end() {
        let c = creds();
        let node = c.for_rank(2);
        let back = parse_text(&to_text(&node), "x").unwrap();
        assert_eq!(back.identity.key_der, node.identity.key_der);
        assert_eq!(back.token, c.token);
        let stream = format!("{}{END}\nnot read\n", to_text(&node));
        let mut reader = std::io::Cursor::new(stream.into_bytes());
        let got = read_stream(&mut reader).unwrap();
        assert_eq!(got.identity.cert_der, node.identity.cert_der);
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut reader, &mut rest).unwrap();
        assert_eq!(rest, "not read\n");
    }

    #[test]
    fn bad_text_names_the_line_or_the_variable() {
        let e = err(parse_text("COLLBENCH_TOKEN=a\nnonsense\n", "in"));
        assert_eq!(e.to_string(), "in: line 2: expected KEY=VALUE");
        let e = err(parse_text("FOO=1\n", "in"));
        assert_eq!(e.to_string(), "in: line 1: unknown variable 'FOO'");
        let e = err(parse_text("COLLBENCH_TOKEN=a\nCOLLBENCH_TOKEN=b\n", "in"));
        assert!(e
            .to_string()
            .contains("line 2: 'COLLBENCH_TOKEN' given twice"));
        let e = err(parse_text("COLLBENCH_TOKEN=a\n", "in"));
        assert!(e.to_string().contains("is missing"), "{e}");
        let e = err(read_stream(std::io::Cursor::new(
            b"COLLBENCH_TOKEN=a\n".to_vec(),
        )));
        assert!(e.to_string().contains("before its 'END' line"), "{e}");
    }

    #[test]
    fn a_private_dir_is_0700_with_0600_files_and_goes_away() {
        let path = std::env::temp_dir().join(format!("cb-private-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        let c = creds();
        let mut dir = PrivateDir::create(&path).unwrap();
        for (name, text) in files(&c, true) {
            dir.write(&name, &text).unwrap();
        }
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o700);
        assert_eq!(mode(&rank_file(&path, 1)), 0o600);
        assert_eq!(mode(&path.join(COORDINATOR_FILE)), 0o600);
        // A file is never replaced.
        assert!(dir.write("rank-0.env", "x").is_err());
        let run = read_run(&path, 3).unwrap();
        assert_eq!(run.ranks[2].cert_der, c.ranks[2].cert_der);
        assert_eq!(run.coordinator.key_der, c.coordinator.key_der);
        assert_eq!(read_rank(&path, 0).unwrap().token, c.token);
        assert!(read_run(&path, 4).is_err());
        // A directory that exists is refused: it could be someone else's.
        assert!(PrivateDir::create(&path).is_err());
        dir.remove().unwrap();
        assert!(!path.exists());
        dir.remove().unwrap();
    }
}
