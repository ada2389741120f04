//! The algorithms and their shapes: `--algo`, segments, `hier`'s groups and levels, `torus2d`'s
//! grid (from the flags or a topology file), each checked against the rank count.

use topologies::{Algorithm, AlgorithmError, BuildOptions, Case, Collective, DataType};

use super::kinds::{bad, OptionError};
use crate::cli::RunArgs;
use crate::topology_file::Topology;

/// What a run measures: the collectives of `--collective`, each by the algorithms of `--algo`
/// that it has (every name given must exist for every collective given; `all` means each
/// collective's own; without `--algo`, each collective's default), with their shapes and the
/// root.
pub struct Cases {
    pub cases: Vec<Case>,
    pub build: BuildOptions,
    /// Broadcast's and reduce's root (0 where no collective of the run has one).
    pub root: usize,
}

/// `ranks_per_node`: the emulated cluster's (`--ranks-per-node`; 1 elsewhere), whose nodes are
/// `hier`'s and `rail`'s groups unless `--group-size` or a topology file says otherwise.
pub fn cases_of(
    a: &RunArgs,
    nranks: usize,
    dtype: DataType,
    topology: Option<&Topology>,
    ranks_per_node: usize,
) -> Result<Cases, OptionError> {
    let collectives =
        Collective::parse_list(&a.collective).map_err(|e| bad("--collective", e.to_string()))?;
    if collectives.is_empty() {
        return Err(bad(
            "--collective",
            format!(
                "no collective given; expected some of: {}",
                Collective::names()
            ),
        ));
    }
    let names = algorithm_names(a.algo.as_deref())?;
    let mut cases = Vec::new();
    for &c in &collectives {
        for algorithm in algorithms_for(names.as_deref(), c)? {
            cases.push(Case {
                collective: c,
                algorithm,
            });
        }
    }
    // A name that no collective of the run has is a mistake, not a choice for another one.
    for name in names.iter().flatten().flatten() {
        if !cases.iter().any(|c| c.algorithm == *name) {
            let has: Vec<String> = collectives
                .iter()
                .map(|c| format!("{c}: {}", c.algorithm_names()))
                .collect();
            return Err(bad(
                "--algo",
                format!(
                    "{name} is not an algorithm of {}; they have: {}",
                    names_of(&collectives),
                    has.join("; ")
                ),
            ));
        }
    }
    let root = root_of(a.nccl.root, nranks, &collectives)?;
    let build = build_options(a, dtype, topology, ranks_per_node)?;
    // Each case must accept this rank count and shape before any process starts.
    for case in &cases {
        case.collective
            .build(case.algorithm, nranks, nranks, dtype.size(), &build, root)
            .map_err(|e| {
                let flag = match case.algorithm {
                    Algorithm::Hier => "--group-size/--hier-inner/--hier-outer",
                    Algorithm::Torus2d => "--grid",
                    Algorithm::Rail => "--group-size",
                    _ => "--algo",
                };
                bad(flag, e.to_string())
            })?;
    }
    if a.pingpong && nranks < 2 {
        return Err(bad(
            "--pingpong",
            format!("{nranks} rank; a ping-pong needs at least 2 (--np 2 or more)"),
        ));
    }
    Ok(Cases { cases, build, root })
}

/// `--algo` parsed: `None` without it; each entry a name, or `None` for `all`.
fn algorithm_names(algo: Option<&str>) -> Result<Option<Vec<Option<Algorithm>>>, OptionError> {
    let Some(list) = algo else { return Ok(None) };
    let mut out = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if part.eq_ignore_ascii_case("all") {
            out.push(None);
        } else {
            let a: Algorithm = part
                .parse()
                .map_err(|e: AlgorithmError| bad("--algo", e.to_string()))?;
            out.push(Some(a));
        }
    }
    Ok(Some(out))
}

/// The algorithms `--algo` gives collective `c`: those named that it has (`all`: every one it
/// has), or its default without `--algo`. A collective left with none is refused, naming its
/// own.
fn algorithms_for(
    names: Option<&[Option<Algorithm>]>,
    c: Collective,
) -> Result<Vec<Algorithm>, OptionError> {
    let Some(names) = names else {
        return Ok(vec![c.default_algorithm()]);
    };
    let mut out = Vec::new();
    for name in names {
        match name {
            None => out.extend_from_slice(c.algorithms()),
            Some(a) if c.algorithms().contains(a) => out.push(*a),
            Some(_) => {}
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|a| seen.insert(*a));
    if out.is_empty() {
        let given: Vec<Algorithm> = names.iter().flatten().copied().collect();
        let why = match given.as_slice() {
            [] => format!("no algorithm given; {c} has: {}", c.algorithm_names()),
            [one] => c
                .check(*one)
                .err()
                .map_or_else(String::new, |e| e.to_string()),
            many => format!(
                "none of {} is an algorithm of {c}; {c} has: {}",
                many.iter().map(|a| a.name()).collect::<Vec<_>>().join(", "),
                c.algorithm_names()
            ),
        };
        return Err(bad("--algo", why));
    }
    Ok(out)
}

fn names_of(collectives: &[Collective]) -> String {
    collectives
        .iter()
        .map(|c| c.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `-r`: a rank, where a collective of the run has a root; ignored (0) otherwise.
fn root_of(root: i64, nranks: usize, collectives: &[Collective]) -> Result<usize, OptionError> {
    if !collectives.iter().any(|c| c.rooted()) {
        return Ok(0);
    }
    usize::try_from(root)
        .ok()
        .filter(|&r| r < nranks)
        .ok_or_else(|| {
            bad(
                "-r/--root",
                format!(
                    "{root} is not a rank of {nranks} (0..={}); broadcast and reduce need one root",
                    nranks - 1
                ),
            )
        })
}

fn build_options(
    a: &RunArgs,
    dtype: DataType,
    topology: Option<&Topology>,
    ranks_per_node: usize,
) -> Result<BuildOptions, OptionError> {
    let esize = dtype.size() as u64;
    let segment = a.segment;
    if segment < esize {
        return Err(bad(
            "--segment",
            format!("{segment} bytes is smaller than one {dtype} element"),
        ));
    }
    let ring_segment = a.ring_segment;
    if ring_segment != 0 && ring_segment < esize {
        return Err(bad(
            "--ring-segment",
            format!(
                "{ring_segment} bytes is smaller than one {dtype} element (0 turns pieces off)"
            ),
        ));
    }
    let level =
        |flag: &'static str, v: &str| v.parse::<Algorithm>().map_err(|e| bad(flag, e.to_string()));
    let grid = a
        .grid
        .as_deref()
        .map(|g| parse_grid(g).map_err(|m| bad("--grid", m)))
        .transpose()?;
    if topology.is_some() && (a.group_size.is_some() || grid.is_some()) {
        return Err(bad(
            "--topology",
            "give either a topology file or --group-size/--grid, not both",
        ));
    }
    Ok(BuildOptions {
        segment_bytes: segment as usize,
        ring_segment_bytes: ring_segment as usize,
        group_size: a
            .group_size
            .or(topology.map(|t| t.group_size))
            .or((ranks_per_node > 1).then_some(ranks_per_node)),
        grid: grid.or(topology.map(|t| (t.group_size, t.groups))),
        hier_inner: level("--hier-inner", &a.hier_inner)?,
        hier_outer: level("--hier-outer", &a.hier_outer)?,
        // Costs only; the model reads it from where the ranks ran (results' hosts).
        groups_are_nodes: false,
    })
}

/// Parses `4x2` into (4, 2).
fn parse_grid(s: &str) -> Result<(usize, usize), String> {
    let (x, y) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("'{s}' is not XxY (for example 4x2)"))?;
    let num = |v: &str| v.trim().parse::<usize>().ok().filter(|&n| n > 0);
    match (num(x), num(y)) {
        (Some(x), Some(y)) => Ok((x, y)),
        _ => Err(format!(
            "'{s}' is not XxY with positive whole numbers (for example 4x2)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::test_args::{args, refused};

    fn of(line: &str, nranks: usize) -> Result<(Vec<Algorithm>, BuildOptions), OptionError> {
        cases_of(&args(line), nranks, DataType::Float, None, 1)
            .map(|c| (c.cases.iter().map(|c| c.algorithm).collect(), c.build))
    }

    fn cases(line: &str, nranks: usize) -> Result<Vec<String>, OptionError> {
        cases_of(&args(line), nranks, DataType::Float, None, 1)
            .map(|c| c.cases.iter().map(|c| c.to_string()).collect())
    }

    #[test]
    fn each_collective_takes_the_algorithms_it_has() {
        assert_eq!(cases("", 4).unwrap(), ["ring"]);
        assert_eq!(
            cases("--collective all_gather,alltoall", 4).unwrap(),
            ["all_gather ring", "alltoall pairwise"]
        );
        assert_eq!(
            cases("--collective broadcast,reduce --algo all", 4).unwrap(),
            [
                "broadcast chain",
                "broadcast tree",
                "reduce chain",
                "reduce tree"
            ]
        );
        assert_eq!(cases("--collective all", 3).unwrap().len(), 7);
        let (flag, why) = refused(cases("--collective alltoall --algo ring", 4));
        assert_eq!(flag, "--algo");
        assert_eq!(
            why,
            "ring is not an algorithm of alltoall; alltoall has: pairwise, linear, bruck"
        );
        // A list may name each collective's own; a name none of them has is refused.
        assert_eq!(
            cases("--collective all_gather,alltoall --algo ring,linear", 4).unwrap(),
            ["all_gather ring", "alltoall linear"]
        );
        let (_, why) = refused(cases("--collective sendrecv,all_gather --algo ring,rd", 4));
        assert!(why.starts_with("rd is not an algorithm of sendrecv, all_gather; they have: sendrecv: ring; all_gather: ring, rhd"), "{why}");
        let (_, why) = refused(cases("--collective alltoall --algo ring,rd", 4));
        assert!(
            why.starts_with("none of ring, rd is an algorithm of alltoall"),
            "{why}"
        );
        assert_eq!(refused(cases("--collective gather", 4)).0, "--collective");
        let (flag, why) = refused(cases("--collective broadcast -r 4", 4));
        assert_eq!(flag, "-r/--root");
        assert!(why.contains("0..=3"), "{why}");
        assert!(cases("-r 4", 4).is_ok(), "all-reduce has no root to check");
    }

    #[test]
    fn algorithms_are_named_and_every_one_fits_the_rank_count() {
        assert_eq!(
            of("--algo ring,rd", 4).map(|x| x.0).ok(),
            Some(vec![Algorithm::Ring, Algorithm::Rd])
        );
        assert_eq!(refused(of("--algo nope", 4)).0, "--algo");
        assert_eq!(refused(of("--algo ,", 4)).0, "--algo");
        assert_eq!(refused(of("--algo torus2d --grid 4x2", 6)).0, "--grid");
        assert_eq!(
            refused(of("--algo hier --group-size 4", 6)).0,
            "--group-size/--hier-inner/--hier-outer"
        );
        assert_eq!(
            refused(of("--algo hier --hier-outer bogus", 4)).0,
            "--hier-outer"
        );
        assert_eq!(refused(of("--pingpong", 1)).0, "--pingpong");
    }

    #[test]
    fn segments_hold_an_element_and_grids_are_x_by_y() {
        assert_eq!(refused(of("--segment 2", 4)).0, "--segment");
        assert_eq!(refused(of("--ring-segment 2", 4)).0, "--ring-segment");
        assert_eq!(
            of("--ring-segment 0", 4)
                .map(|x| x.1.ring_segment_bytes)
                .ok(),
            Some(0)
        );
        assert_eq!(parse_grid("4x2"), Ok((4, 2)));
        assert_eq!(parse_grid("3X3"), Ok((3, 3)));
        assert!(parse_grid("4").is_err() && parse_grid("0x2").is_err());
    }
}
