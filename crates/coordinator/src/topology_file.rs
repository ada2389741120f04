//! Topology files: where ranks live (hosts, racks, pods), so `hier` and `torus2d` follow physical
//! locality. The format is documented in `placements/README.md`.
//!
//! Ranks are numbered in file order, host by host, so every host's ranks are consecutive. Hosts
//! of one rack (or pod) must stand together in the file; `hier` groups ranks by the level named in
//! `hier_level`, and `torus2d` uses one row per group. Every error names the file, the line and
//! the field.

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    hier_level: Option<Spanned<String>>,
    host: Vec<RawHost>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHost {
    name: Spanned<String>,
    #[serde(default)]
    rack: Option<Spanned<String>>,
    #[serde(default)]
    pod: Option<Spanned<String>>,
    #[serde(default)]
    ranks: Option<Spanned<i64>>,
    #[serde(default)]
    address: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Node,
    Rack,
    Pod,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub name: String,
    pub rack: Option<String>,
    pub pod: Option<String>,
    pub address: Option<String>,
    /// Ranks on this host: `first_rank .. first_rank + ranks`.
    pub first_rank: usize,
    pub ranks: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    pub hosts: Vec<Host>,
    pub hier_level: Level,
    pub nranks: usize,
    /// Ranks per group at `hier_level` (every group has the same number).
    pub group_size: usize,
    pub groups: usize,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{file}:{line}: {field}: {message}")]
pub struct TopologyError {
    pub file: String,
    pub line: usize,
    pub field: String,
    pub message: String,
}

/// Where an error in the file is: its name and text, to turn a byte offset into a line.
struct Locator<'a> {
    file: &'a str,
    text: &'a str,
}

impl Locator<'_> {
    fn error(&self, offset: usize, field: &str, message: String) -> TopologyError {
        TopologyError {
            file: self.file.to_string(),
            line: line_of(self.text, offset),
            field: field.to_string(),
            message,
        }
    }
}

/// The hosts in file order, each with its first rank; names unique, rank counts in range.
fn hosts_of(raw: &RawFile, at: &Locator<'_>) -> Result<Vec<Host>, TopologyError> {
    let mut hosts: Vec<Host> = Vec::new();
    let mut next_rank = 0usize;
    for h in &raw.host {
        let name = h.name.get_ref().trim().to_string();
        if name.is_empty() {
            return Err(at.error(h.name.span().start, "name", "empty host name".into()));
        }
        if hosts.iter().any(|x| x.name == name) {
            return Err(at.error(
                h.name.span().start,
                "name",
                format!("host '{name}' appears twice"),
            ));
        }
        let ranks = match &h.ranks {
            None => 1,
            Some(r) if *r.get_ref() >= 1 && *r.get_ref() <= 4096 => *r.get_ref() as usize,
            Some(r) => {
                return Err(at.error(
                    r.span().start,
                    "ranks",
                    format!("{} is outside 1..=4096", r.get_ref()),
                ))
            }
        };
        hosts.push(Host {
            name,
            rack: h.rack.as_ref().map(|r| r.get_ref().clone()),
            pod: h.pod.as_ref().map(|p| p.get_ref().clone()),
            address: h.address.as_ref().map(|a| a.get_ref().clone()),
            first_rank: next_rank,
            ranks,
        });
        next_rank += ranks;
    }
    Ok(hosts)
}

/// The hosts grouped at `level` (each group's hosts consecutive in the file, every group with
/// as many ranks): the ranks per group and the number of groups.
fn groups_of(
    raw: &RawFile,
    hosts: &[Host],
    level: Level,
    at: &Locator<'_>,
) -> Result<(usize, usize), TopologyError> {
    let field = match level {
        Level::Node => "name",
        Level::Rack => "rack",
        Level::Pod => "pod",
    };
    let key = |i: usize| -> Result<String, TopologyError> {
        let value = match level {
            Level::Node => Some(hosts[i].name.clone()),
            Level::Rack => hosts[i].rack.clone(),
            Level::Pod => hosts[i].pod.clone(),
        };
        value.ok_or_else(|| {
            at.error(
                raw.host[i].name.span().start,
                field,
                format!(
                    "host '{}' has no {field}, but hier_level groups by it",
                    hosts[i].name
                ),
            )
        })
    };
    let mut groups: Vec<(String, usize, usize)> = Vec::new(); // (name, ranks, first host index)
    for (i, host) in hosts.iter().enumerate() {
        let k = key(i)?;
        match groups.last_mut() {
            Some((name, ranks, _)) if *name == k => *ranks += host.ranks,
            _ => {
                if groups.iter().any(|(n, _, _)| *n == k) {
                    let span = match level {
                        Level::Rack => raw.host[i].rack.as_ref().map(|r| r.span().start),
                        Level::Pod => raw.host[i].pod.as_ref().map(|r| r.span().start),
                        Level::Node => None,
                    }
                    .unwrap_or(raw.host[i].name.span().start);
                    return Err(at.error(
                        span,
                        field,
                        format!("the hosts of '{k}' must stand together in the file"),
                    ));
                }
                groups.push((k, host.ranks, i));
            }
        }
    }
    let group_size = groups[0].1;
    if let Some((name, ranks, first)) = groups.iter().find(|g| g.1 != group_size) {
        return Err(at.error(
            raw.host[*first].name.span().start,
            "ranks",
            format!(
                "group '{name}' has {ranks} ranks but '{}' has {group_size}; hier needs equal groups",
                groups[0].0
            ),
        ));
    }
    Ok((group_size, groups.len()))
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl Topology {
    pub fn load(path: &Path) -> Result<Topology, TopologyError> {
        let text = std::fs::read_to_string(path).map_err(|e| TopologyError {
            file: path.display().to_string(),
            line: 0,
            field: "file".into(),
            message: e.to_string(),
        })?;
        Self::parse(&path.display().to_string(), &text)
    }

    pub fn parse(file: &str, text: &str) -> Result<Topology, TopologyError> {
        let at = Locator { file, text };
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            at.error(offset, "syntax", e.message().to_string())
        })?;
        let hier_level = match &raw.hier_level {
            None => Level::Node,
            Some(l) => match l.get_ref().as_str() {
                "node" => Level::Node,
                "rack" => Level::Rack,
                "pod" => Level::Pod,
                other => {
                    return Err(at.error(
                        l.span().start,
                        "hier_level",
                        format!("'{other}' is not node, rack or pod"),
                    ))
                }
            },
        };
        if raw.host.is_empty() {
            return Err(at.error(0, "host", "no [[host]] entries".into()));
        }
        let hosts = hosts_of(&raw, &at)?;
        let (group_size, groups) = groups_of(&raw, &hosts, hier_level, &at)?;
        Ok(Topology {
            nranks: hosts.iter().map(|h| h.ranks).sum(),
            group_size,
            groups,
            hosts,
            hier_level,
        })
    }

    /// The host each rank lives on, by rank.
    pub fn host_of_rank(&self) -> Vec<&Host> {
        self.hosts
            .iter()
            .flat_map(|h| std::iter::repeat_n(h, h.ranks))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_RACKS: &str = r#"
hier_level = "rack"
[[host]]
name = "a"
rack = "r0"
ranks = 2
[[host]]
name = "b"
rack = "r0"
ranks = 2
[[host]]
name = "c"
rack = "r1"
ranks = 4
"#;

    #[test]
    fn ranks_follow_file_order_and_groups_follow_the_level() {
        let t = Topology::parse("t.toml", TWO_RACKS).unwrap();
        assert_eq!((t.nranks, t.group_size, t.groups), (8, 4, 2));
        assert_eq!(t.hosts[2].first_rank, 4);
        assert_eq!(t.host_of_rank()[5].name, "c");
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let unknown = "[[host]]\nname = \"a\"\ncolour = \"red\"\n";
        let e = Topology::parse("t.toml", unknown).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (3, "syntax"), "{e}");
        assert!(e.to_string().starts_with("t.toml:3:"), "{e}");

        let zero = "[[host]]\nname = \"a\"\nranks = 0\n";
        let e = Topology::parse("t.toml", zero).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (3, "ranks"), "{e}");

        let unequal = TWO_RACKS.replace("ranks = 4", "ranks = 3");
        let e = Topology::parse("t.toml", &unequal).unwrap_err();
        assert_eq!(e.field, "ranks");
        assert!(e.message.contains("equal groups"), "{e}");

        let split = "hier_level = \"rack\"\n[[host]]\nname = \"a\"\nrack = \"r0\"\n[[host]]\nname = \"b\"\nrack = \"r1\"\n[[host]]\nname = \"c\"\nrack = \"r0\"\n";
        let e = Topology::parse("t.toml", split).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (10, "rack"), "{e}");

        let missing = "hier_level = \"pod\"\n[[host]]\nname = \"a\"\n";
        let e = Topology::parse("t.toml", missing).unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (3, "pod"), "{e}");

        let dup = "[[host]]\nname = \"a\"\n[[host]]\nname = \"a\"\n";
        assert_eq!(Topology::parse("t.toml", dup).unwrap_err().line, 4);
    }
}

#[cfg(test)]
mod shipped_examples {
    use super::*;

    #[test]
    fn the_example_files_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../placements");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let t = Topology::load(&path).unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(t.nranks, 8, "{}", path.display());
                seen += 1;
            }
        }
        assert!(seen >= 2);
    }
}
