//! The ssh launcher's host list: one host per line as MPI hostfiles have it.
//!
//! ```text
//! # comment
//! node1 slots=4      # four ranks on node1
//! alice@node2        # one rank (slots defaults to 1)
//! ```
//!
//! A host is passed to `ssh` as written (so `~/.ssh/config` aliases, users and jump hosts
//! apply). Ranks fill the hosts' slots in file order: with `a slots=2` and `b slots=2`, ranks 0
//! and 1 run on `a`, 2 and 3 on `b`.

use std::path::Path;

/// The most slots one line may give (a typo guard, far above any host's cores).
pub const MAX_SLOTS: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEntry {
    /// As written, `[user@]host`; what `ssh` is given.
    pub host: String,
    pub slots: usize,
    /// 1-based line of the hostfile.
    pub line: usize,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HostfileError {
    #[error("{path}: {error}")]
    Read { path: String, error: String },
    #[error("{path}: line {line}: {message}")]
    Line {
        path: String,
        line: usize,
        message: String,
    },
    #[error("{path}: no hosts (every line is empty or a comment)")]
    Empty { path: String },
}

/// Parses hostfile text; `path` names it in errors.
pub fn parse(text: &str, path: &str) -> Result<Vec<HostEntry>, HostfileError> {
    let mut hosts = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let err = |message: String| HostfileError::Line {
            path: path.to_string(),
            line,
            message,
        };
        let content = raw.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let mut words = content.split_whitespace();
        let host = words.next().unwrap_or_default();
        check_host(host).map_err(err)?;
        let mut slots = None;
        for word in words {
            let (key, value) = word.split_once('=').ok_or_else(|| {
                err(format!(
                    "'{word}' after the host is not KEY=VALUE (only slots=N is known)"
                ))
            })?;
            match key {
                "slots" => {
                    if slots.is_some() {
                        return Err(err("slots given twice".into()));
                    }
                    let n = value
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=MAX_SLOTS).contains(n))
                        .ok_or_else(|| {
                            err(format!(
                                "slots={value} is not a whole number in 1..={MAX_SLOTS}"
                            ))
                        })?;
                    slots = Some(n);
                }
                other => {
                    return Err(err(format!(
                        "unknown key '{other}' (only slots=N is known)"
                    )))
                }
            }
        }
        if let Some(first) = hosts.iter().find(|h: &&HostEntry| h.host == host) {
            return Err(err(format!(
                "host '{host}' is already listed on line {}; give it slots=N once",
                first.line
            )));
        }
        hosts.push(HostEntry {
            host: host.to_string(),
            slots: slots.unwrap_or(1),
            line,
        });
    }
    if hosts.is_empty() {
        return Err(HostfileError::Empty {
            path: path.to_string(),
        });
    }
    Ok(hosts)
}

/// A host must not be taken for an ssh option or break the remote command.
fn check_host(host: &str) -> Result<(), String> {
    if host.starts_with('-') {
        return Err(format!(
            "host '{host}' starts with '-' (ssh would read it as an option)"
        ));
    }
    let ok = host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-@:[]%".contains(c));
    if !ok {
        return Err(format!(
            "host '{host}' has a character outside letters, digits and . _ - @ : [ ] %"
        ));
    }
    Ok(())
}

/// Reads and parses a hostfile.
pub fn load(path: &Path) -> Result<Vec<HostEntry>, HostfileError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| HostfileError::Read {
        path: name.clone(),
        error: e.to_string(),
    })?;
    parse(&text, &name)
}

/// Total slots of a host list.
pub fn total_slots(hosts: &[HostEntry]) -> usize {
    hosts.iter().map(|h| h.slots).sum()
}

/// The host (index into `hosts`) of each of `nranks` ranks, filling slots in file order.
/// `None` when the hosts have fewer slots than ranks.
pub fn place(hosts: &[HostEntry], nranks: usize) -> Option<Vec<usize>> {
    let placed: Vec<usize> = hosts
        .iter()
        .enumerate()
        .flat_map(|(i, h)| std::iter::repeat_n(i, h.slots))
        .take(nranks)
        .collect();
    (placed.len() == nranks).then_some(placed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_slots_and_comments() {
        let text = "# lab\n\nnode1 slots=2\n  alice@node2   # one rank\nnode3\tslots=3 # x\n";
        let hosts = parse(text, "h").unwrap();
        assert_eq!(
            hosts,
            vec![
                HostEntry {
                    host: "node1".into(),
                    slots: 2,
                    line: 3
                },
                HostEntry {
                    host: "alice@node2".into(),
                    slots: 1,
                    line: 4
                },
                HostEntry {
                    host: "node3".into(),
                    slots: 3,
                    line: 5
                },
            ]
        );
        assert_eq!(total_slots(&hosts), 6);
        assert_eq!(place(&hosts, 4), Some(vec![0, 0, 1, 2]));
        assert_eq!(place(&hosts, 6), Some(vec![0, 0, 1, 2, 2, 2]));
        assert_eq!(place(&hosts, 7), None);
    }

    #[test]
    fn errors_name_the_line_and_what_was_wrong() {
        let cases = [
            ("a slots=0\n", "h: line 1: slots=0 is not a whole number in 1..=4096"),
            ("a\nb slots=x\n", "h: line 2: slots=x is not a whole number in 1..=4096"),
            ("a max_slots=4\n", "h: line 1: unknown key 'max_slots' (only slots=N is known)"),
            (
                "a 4\n",
                "h: line 1: '4' after the host is not KEY=VALUE (only slots=N is known)",
            ),
            ("a slots=1 slots=2\n", "h: line 1: slots given twice"),
            (
                "\n-oProxyCommand=x\n",
                "h: line 2: host '-oProxyCommand=x' starts with '-' (ssh would read it as an option)",
            ),
            (
                "a;rm\n",
                "h: line 1: host 'a;rm' has a character outside letters, digits and . _ - @ : [ ] %",
            ),
            (
                "a\nb\na slots=2\n",
                "h: line 3: host 'a' is already listed on line 1; give it slots=N once",
            ),
            ("# only\n\n", "h: no hosts (every line is empty or a comment)"),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text, "h").unwrap_err().to_string(), want, "{text:?}");
        }
        let e = load(Path::new("/nonexistent/hosts")).unwrap_err();
        assert!(e.to_string().starts_with("/nonexistent/hosts: "), "{e}");
    }
}
