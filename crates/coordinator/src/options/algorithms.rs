//! The algorithms and their shapes: `--algo`, segments, `hier`'s groups and levels, `torus2d`'s
//! grid (from the flags or a topology file), each checked against the rank count.

use topologies::{Algorithm, BuildOptions, DataType};

use super::kinds::{bad, OptionError};
use crate::cli::RunArgs;
use crate::topology_file::Topology;

pub fn algorithms_of(
    a: &RunArgs,
    nranks: usize,
    dtype: DataType,
    topology: Option<&Topology>,
) -> Result<(Vec<Algorithm>, BuildOptions), OptionError> {
    let algorithms = Algorithm::parse_list(&a.algo).map_err(|e| bad("--algo", e.to_string()))?;
    if algorithms.is_empty() {
        return Err(bad(
            "--algo",
            format!(
                "no algorithm given; expected some of: {}",
                Algorithm::names()
            ),
        ));
    }
    let build = build_options(a, dtype, topology)?;
    // Each algorithm must accept this rank count and shape before any process starts.
    for algo in &algorithms {
        algo.build(nranks, nranks, dtype.size(), &build)
            .map_err(|e| {
                let flag = match algo {
                    Algorithm::Hier => "--group-size/--hier-inner/--hier-outer",
                    Algorithm::Torus2d => "--grid",
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
    Ok((algorithms, build))
}

fn build_options(
    a: &RunArgs,
    dtype: DataType,
    topology: Option<&Topology>,
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
        group_size: a.group_size.or(topology.map(|t| t.group_size)),
        grid: grid.or(topology.map(|t| (t.group_size, t.groups))),
        hier_inner: level("--hier-inner", &a.hier_inner)?,
        hier_outer: level("--hier-outer", &a.hier_outer)?,
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
        algorithms_of(&args(line), nranks, DataType::Float, None)
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
