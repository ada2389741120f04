//! How many ranks, started how: `-N`, `--topology`, `--launcher`, and each launcher's limit.

use super::kinds::{bad, LauncherKind, OptionError};
use crate::cli::RunArgs;
use crate::launcher::cluster_args::default_nodes;
use crate::launcher::netns::names::MAX_NODES as MAX_NETNS_NODES;
use crate::topology_file::Topology;

/// The most ranks one machine's local launcher will start.
pub const MAX_LOCAL_RANKS: usize = 256;

/// The ranks of the run, the launcher that starts them, and the topology file placing them.
pub struct Ranks {
    pub nranks: usize,
    pub launcher: LauncherKind,
    pub topology: Option<Topology>,
}

pub fn ranks_of(a: &RunArgs) -> Result<Ranks, OptionError> {
    let topology = a
        .topology
        .as_deref()
        .map(|path| Topology::load(path).map_err(|e| bad("--topology", e.to_string())))
        .transpose()?;
    let nranks = match (a.nodes, &topology) {
        (Some(n), Some(t)) if n != t.nranks => {
            return Err(bad(
                "--np/--nodes",
                format!("{n} ranks, but the topology file places {}", t.nranks),
            ));
        }
        (Some(n), _) => n,
        (None, Some(t)) => t.nranks,
        (None, None) => default_nodes(&a.cluster, &a.launcher)?.unwrap_or(4),
    };
    if nranks == 0 {
        return Err(bad("--np/--nodes", "0 ranks; at least 1 is needed"));
    }
    let launcher = launcher_of(&a.launcher)?;
    if launcher == LauncherKind::Netns && nranks > MAX_NETNS_NODES {
        return Err(bad(
            "--np/--nodes",
            format!(
                "{nranks} ranks is more than the netns launcher's limit of {MAX_NETNS_NODES} (an address and a switch port each)"
            ),
        ));
    }
    if launcher == LauncherKind::Local && nranks > MAX_LOCAL_RANKS {
        return Err(bad(
            "--np/--nodes",
            format!(
                "{nranks} local processes is more than the local launcher's limit of {MAX_LOCAL_RANKS}"
            ),
        ));
    }
    Ok(Ranks {
        nranks,
        launcher,
        topology,
    })
}

fn launcher_of(name: &str) -> Result<LauncherKind, OptionError> {
    Ok(match name {
        "local" => LauncherKind::Local,
        "netns" => LauncherKind::Netns,
        "ssh" => LauncherKind::Ssh,
        "slurm" => LauncherKind::Slurm,
        "k8s" => LauncherKind::K8s,
        other => {
            return Err(bad(
                "--launcher",
                format!("unknown launcher '{other}'; expected: local, netns, ssh, slurm, k8s"),
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::test_args::{args, refused};

    #[test]
    fn the_rank_count_has_a_default_a_floor_and_each_launchers_ceiling() {
        assert_eq!(ranks_of(&args("")).map(|r| r.nranks).ok(), Some(4));
        assert_eq!(refused(ranks_of(&args("--np 0"))).0, "--np/--nodes");
        let (flag, why) = refused(ranks_of(&args("--np 300")));
        assert_eq!(flag, "--np/--nodes");
        assert!(why.contains("local launcher's limit of 256"), "{why}");
        let (_, why) = refused(ranks_of(&args("--np 1001 --launcher netns")));
        assert!(why.contains("netns launcher's limit"), "{why}");
        let (flag, why) = refused(ranks_of(&args("--launcher carrier-pigeon")));
        assert_eq!(flag, "--launcher");
        assert!(
            why.contains("expected: local, netns, ssh, slurm, k8s"),
            "{why}"
        );
    }

    #[test]
    fn a_topology_file_sets_the_count_and_must_agree_with_n() {
        let dir = std::env::temp_dir().join(format!("collbench-ranks-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let file = dir.join("two.toml");
        let _ = std::fs::write(
            &file,
            "[[host]]\nname = \"a\"\nranks = 2\n[[host]]\nname = \"b\"\nranks = 2\n",
        );
        let path = file.display();
        assert_eq!(
            ranks_of(&args(&format!("--topology {path}")))
                .map(|r| r.nranks)
                .ok(),
            Some(4)
        );
        let (flag, why) = refused(ranks_of(&args(&format!("--topology {path} --np 3"))));
        assert_eq!(flag, "--np/--nodes");
        assert!(why.contains("the topology file places 4"), "{why}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
