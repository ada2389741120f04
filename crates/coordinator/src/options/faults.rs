//! `--fault KIND:RANK@SIZE`: a rank of the run, a size of the sweep, a launcher that can; and
//! `--fault jitter:DIST`, a delay before every step's sends of every rank.

use topologies::noise::Delay;

use super::kinds::{bad, LauncherKind, OptionError};
use crate::launcher::netns::faults::{Fault, FaultKind, FaultSyntax};

/// The prefix of the run-wide fault: `jitter:DIST`.
const JITTER: &str = "jitter:";

/// `--fault jitter:DIST`, at most once: the delay every rank draws before each step's sends
/// (any launcher: it travels in the plan).
pub fn jitter_of(specs: &[String]) -> Result<Option<Delay>, OptionError> {
    let mut jitter = specs.iter().filter_map(|s| s.trim().strip_prefix(JITTER));
    let first = jitter
        .next()
        .map(|d| {
            d.parse::<Delay>()
                .map_err(|e| bad("--fault", format!("jitter: {e}")))
        })
        .transpose()?;
    if jitter.next().is_some() {
        return Err(bad("--fault", "jitter is given more than once"));
    }
    Ok(first)
}

/// `--fault` specs other than jitter, checked against the rank count, the sweep's sizes and
/// the launcher.
pub fn faults_of(
    specs: &[String],
    launcher: LauncherKind,
    nranks: usize,
    sizes: &[u64],
) -> Result<Vec<Fault>, OptionError> {
    specs
        .iter()
        .filter(|spec| !spec.trim().starts_with(JITTER))
        .map(|spec| {
            let f: Fault = spec
                .parse()
                .map_err(|e: FaultSyntax| bad("--fault", e.to_string()))?;
            if f.rank >= nranks {
                return Err(bad(
                    "--fault",
                    format!(
                        "'{spec}': rank {} is not below the rank count {nranks}",
                        f.rank
                    ),
                ));
            }
            if !sizes.contains(&f.size) {
                return Err(bad(
                    "--fault",
                    format!(
                        "'{spec}': {} bytes is not a size of the sweep (-b/-e/-f)",
                        f.size
                    ),
                ));
            }
            if f.kind != FaultKind::Corrupt
                && !matches!(launcher, LauncherKind::Local | LauncherKind::Netns)
            {
                return Err(bad(
                    "--fault",
                    format!("'{spec}': faults need --launcher local or netns"),
                ));
            }
            if f.kind == FaultKind::LinkDown && launcher != LauncherKind::Netns {
                return Err(bad(
                    "--fault",
                    format!("'{spec}': link-down needs --launcher netns"),
                ));
            }
            Ok(f)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_is_a_distribution_given_once() {
        let specs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            jitter_of(&specs(&["kill:1@1K", "jitter:exp:200us"])),
            Ok(Some(Delay::Exp { mean_us: 200.0 }))
        );
        assert_eq!(jitter_of(&specs(&["kill:1@1K"])), Ok(None));
        let e = jitter_of(&specs(&["jitter:exp:1us", "jitter:exp:2us"])).unwrap_err();
        assert!(e.message.contains("more than once"), "{}", e.message);
        let e = jitter_of(&specs(&["jitter:gauss:1us"])).unwrap_err();
        assert!(e.message.contains("unknown distribution"), "{}", e.message);
        // The other faults leave it alone.
        let f = faults_of(&specs(&["jitter:exp:1us"]), LauncherKind::Ssh, 4, &[1024]).unwrap();
        assert!(f.is_empty());
    }

    fn of(spec: &str, launcher: LauncherKind) -> Result<Vec<Fault>, OptionError> {
        faults_of(&[spec.to_string()], launcher, 4, &[1024, 1 << 20])
    }

    #[test]
    fn a_fault_names_a_rank_a_size_of_the_sweep_and_a_launcher_that_can() {
        assert_eq!(
            of("kill:2@1M", LauncherKind::Local).map(|f| f.len()).ok(),
            Some(1)
        );
        let why =
            |r: Result<Vec<Fault>, OptionError>| r.err().map(|e| e.message).unwrap_or_default();
        assert!(why(of("kill:4@1M", LauncherKind::Local)).contains("not below the rank count 4"));
        assert!(why(of("kill:1@4K", LauncherKind::Local)).contains("not a size of the sweep"));
        assert!(why(of("kill:1@1M", LauncherKind::Ssh)).contains("need --launcher local or netns"));
        assert!(why(of("link-down:1@1M", LauncherKind::Local)).contains("needs --launcher netns"));
        assert!(of("link-down:1@1M", LauncherKind::Netns).is_ok());
        assert_eq!(
            of("explode:1@1M", LauncherKind::Local)
                .err()
                .map(|e| e.flag),
            Some("--fault")
        );
    }
}
