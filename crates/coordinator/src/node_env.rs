//! Where a bench-node's rank and rank count come from: its flags, or the environment a workload
//! manager gives each task (Slurm's `SLURM_PROCID`/`SLURM_NTASKS`, an Indexed Job's
//! `JOB_COMPLETION_INDEX`).

use clap::ValueEnum;

/// `collbench node --rank-from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RankFrom {
    /// SLURM_PROCID is the rank and SLURM_NTASKS the rank count (a task of `srun`).
    Slurm,
    /// JOB_COMPLETION_INDEX is the rank (a pod of a Kubernetes Indexed Job); --nranks is needed.
    K8s,
}

pub const SLURM_PROCID: &str = "SLURM_PROCID";
pub const SLURM_NTASKS: &str = "SLURM_NTASKS";
pub const JOB_COMPLETION_INDEX: &str = "JOB_COMPLETION_INDEX";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RankError {
    #[error("give either --rank or --rank-from, not both")]
    Both,
    #[error("--rank is needed (or --rank-from slurm|k8s)")]
    NoRank,
    #[error("--nranks is needed{0}")]
    NoCount(&'static str),
    #[error("{var} is not set; --rank-from {from} expects to run as {what}")]
    Unset {
        var: &'static str,
        from: &'static str,
        what: &'static str,
    },
    #[error("{var}='{value}' is not a whole number")]
    NotANumber { var: &'static str, value: String },
    #[error("{var}={value} but --nranks is {nranks}")]
    Mismatch {
        var: &'static str,
        value: usize,
        nranks: usize,
    },
    #[error("rank {rank} is not below the rank count {nranks}")]
    OutOfRange { rank: usize, nranks: usize },
}

/// The node's `(rank, nranks)` from its flags and, with `from`, the environment as `env`
/// reports it.
pub fn resolve(
    rank: Option<usize>,
    nranks: Option<usize>,
    from: Option<RankFrom>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(usize, usize), RankError> {
    let num = |var: &'static str, from: &'static str, what: &'static str| {
        let value = env(var).ok_or(RankError::Unset { var, from, what })?;
        value
            .trim()
            .parse::<usize>()
            .map_err(|_| RankError::NotANumber { var, value })
    };
    let (rank, nranks) = match (rank, from) {
        (Some(_), Some(_)) => return Err(RankError::Both),
        (None, None) => return Err(RankError::NoRank),
        (Some(r), None) => (r, nranks.ok_or(RankError::NoCount(""))?),
        (None, Some(RankFrom::Slurm)) => {
            let what = "a task of srun";
            let r = num(SLURM_PROCID, "slurm", what)?;
            let n = num(SLURM_NTASKS, "slurm", what)?;
            if let Some(given) = nranks.filter(|&g| g != n) {
                return Err(RankError::Mismatch {
                    var: SLURM_NTASKS,
                    value: n,
                    nranks: given,
                });
            }
            (r, n)
        }
        (None, Some(RankFrom::K8s)) => {
            let r = num(
                JOB_COMPLETION_INDEX,
                "k8s",
                "a pod of an Indexed Job (completionMode: Indexed)",
            )?;
            (
                r,
                nranks.ok_or(RankError::NoCount(
                    " with --rank-from k8s (the Job's completions)",
                ))?,
            )
        }
    };
    if rank >= nranks {
        return Err(RankError::OutOfRange { rank, nranks });
    }
    Ok((rank, nranks))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn flags_slurm_and_k8s() {
        assert_eq!(resolve(Some(2), Some(4), None, env(&[])), Ok((2, 4)));
        let slurm = env(&[("SLURM_PROCID", "3"), ("SLURM_NTASKS", "8")]);
        assert_eq!(
            resolve(None, None, Some(RankFrom::Slurm), &slurm),
            Ok((3, 8))
        );
        assert_eq!(
            resolve(None, Some(8), Some(RankFrom::Slurm), &slurm),
            Ok((3, 8))
        );
        let k8s = env(&[("JOB_COMPLETION_INDEX", "5")]);
        assert_eq!(
            resolve(None, Some(6), Some(RankFrom::K8s), &k8s),
            Ok((5, 6))
        );
    }

    #[test]
    fn every_mistake_is_named() {
        let slurm = env(&[("SLURM_PROCID", "3"), ("SLURM_NTASKS", "8")]);
        assert_eq!(
            resolve(None, Some(4), Some(RankFrom::Slurm), &slurm),
            Err(RankError::Mismatch {
                var: SLURM_NTASKS,
                value: 8,
                nranks: 4
            })
        );
        let e = resolve(None, None, Some(RankFrom::Slurm), env(&[])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "SLURM_PROCID is not set; --rank-from slurm expects to run as a task of srun"
        );
        let e = resolve(
            None,
            Some(2),
            Some(RankFrom::K8s),
            env(&[("JOB_COMPLETION_INDEX", "x1")]),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "JOB_COMPLETION_INDEX='x1' is not a whole number"
        );
        let k8s = env(&[("JOB_COMPLETION_INDEX", "5")]);
        assert!(matches!(
            resolve(None, None, Some(RankFrom::K8s), &k8s),
            Err(RankError::NoCount(_))
        ));
        assert_eq!(
            resolve(None, Some(5), Some(RankFrom::K8s), &k8s),
            Err(RankError::OutOfRange { rank: 5, nranks: 5 })
        );
        assert_eq!(
            resolve(Some(1), Some(2), Some(RankFrom::K8s), &k8s),
            Err(RankError::Both)
        );
        assert_eq!(resolve(None, Some(2), None, &k8s), Err(RankError::NoRank));
    }
}
