//! nccl-tests' flags (`crate::nccl_flags`): what each means here. `-N`, `-a`, `-m` and `-I` are
//! implemented; a flag where only nccl-tests' default makes sense here is accepted at that value
//! (with a one-line note when it was given) and refused with the reason otherwise.

use run_core::aggregate::Average;
use wire::control::MAX_ITERS;

use super::kinds::{bad, OptionError};
use crate::nccl_flags::NcclFlags;

/// The most cycles `-N` takes.
pub const MAX_RUN_CYCLES: u32 = 1_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Nccl {
    pub run_cycles: u32,
    pub average: Average,
    pub agg_iters: u32,
    /// `-I 1`: per-iteration columns in the table.
    pub per_iter_columns: bool,
    /// `-J`: where nccl-tests' JSON goes ("-": stdout).
    pub output_file: Option<std::path::PathBuf>,
    /// One line per flag accepted at a value that changes nothing here.
    pub notes: Vec<String>,
}

pub fn nccl_of(f: &NcclFlags) -> Result<Nccl, OptionError> {
    let mut notes = Vec::new();
    if f.run_cycles == 0 || f.run_cycles > MAX_RUN_CYCLES {
        return Err(bad(
            "-N/--run_cycles",
            format!(
                "{} is not 1..={MAX_RUN_CYCLES} (0, endless, is not supported: a run here ends \
                 with its files written; for the rank count use --np)",
                f.run_cycles
            ),
        ));
    }
    let average = Average::from_flag(f.average).ok_or_else(|| {
        bad(
            "-a/--average",
            format!(
                "{} is not 0 (rank 0), 1 (mean), 2 (min) or 3 (max)",
                f.average
            ),
        )
    })?;
    if f.agg_iters == 0 || f.agg_iters > MAX_ITERS {
        return Err(bad(
            "-m/--agg_iters",
            format!("{} is not 1..={MAX_ITERS}", f.agg_iters),
        ));
    }
    let per_iter_columns = match f.per_iter_timing {
        0 => false,
        1 => true,
        v => return Err(bad("-I/--per_iter_timing", format!("{v} is not 0 or 1"))),
    };
    one_only(f, &mut notes)?;
    zero_only(f)?;
    Ok(Nccl {
        run_cycles: f.run_cycles,
        average,
        agg_iters: f.agg_iters,
        per_iter_columns,
        output_file: f.output_file.clone(),
        notes,
    })
}

/// Flags whose only meaning here is nccl-tests' default: given at it, a note; otherwise refused.
fn one_only(f: &NcclFlags, notes: &mut Vec<String>) -> Result<(), OptionError> {
    match f.nthreads {
        None => {}
        Some(1) => notes.push("-t 1: one rank per process here, as ever".into()),
        Some(n) => {
            return Err(bad(
                "-t/--nthreads",
                format!("{n}: each rank here is a process of its own; --np N runs N ranks"),
            ))
        }
    }
    match f.ngpus {
        None => {}
        Some(1) => notes.push(
            "-g 1: no GPUs here; each rank is a process with host buffers (--np sets how many)"
                .into(),
        ),
        Some(n) => {
            return Err(bad(
                "-g/--ngpus",
                format!("{n}: there are no GPUs here; each rank is a process with host buffers, and --np N runs N ranks"),
            ))
        }
    }
    match f.parallel_init {
        0 => {}
        1 => notes.push("-p 1: ranks always start and connect in parallel here".into()),
        v => return Err(bad("-p/--parallel_init", format!("{v} is not 0 or 1"))),
    }
    match f.blocking {
        0 => {}
        2 => notes.push(
            "-z 2: iterations run back to back without a barrier, as they always do here".into(),
        ),
        v @ (1 | 3) => {
            return Err(bad(
                "-z/--blocking",
                format!(
                    "{v} puts a barrier after each iteration; collbench times its iterations back \
                     to back, without one (docs/output.md)"
                ),
            ))
        }
        v => return Err(bad("-z/--blocking", format!("{v} is not 0, 1, 2 or 3"))),
    }
    match f.report_cputime {
        0 => {}
        1 => notes.push(
            "-C 1: every time here is already taken on the host's clock; nothing changes".into(),
        ),
        v => return Err(bad("-C/--report_cputime", format!("{v} is not 0 or 1"))),
    }
    Ok(())
}

/// Flags of GPU and NCCL features with no counterpart here: only their off value.
fn zero_only(f: &NcclFlags) -> Result<(), OptionError> {
    let nonzero = |v: u32| (v != 0).then(|| v.to_string());
    let given: [(&'static str, Option<String>, &str); 10] = [
        (
            "-K/--per_iter_skip",
            nonzero(f.per_iter_skip),
            "the per-iteration columns use every timed iteration here",
        ),
        (
            "-y/--stream_null",
            nonzero(f.stream_null.into()),
            "no CUDA streams here",
        ),
        (
            "-G/--cudagraph",
            nonzero(f.cudagraph),
            "no CUDA graphs here",
        ),
        (
            "-S/--report_timestamps",
            nonzero(f.report_timestamps.into()),
            "rows carry no timestamps here; results.json records when the run started",
        ),
        (
            "-R/--local_register",
            nonzero(f.local_register.into()),
            "buffer registration is NCCL's; buffers here are host memory",
        ),
        (
            "-M/--memory",
            nonzero(f.memory.into()),
            "there is no device memory here, and host memory use is not reported yet",
        ),
        (
            "-u/--unalign",
            nonzero(f.unalign),
            "buffers are not misaligned here",
        ),
        (
            "-x/--cta_policy",
            f.cta_policy.map(|v| v.to_string()),
            "NCCL's CTA policy; no GPU here",
        ),
        (
            "-D/--device_implementation",
            nonzero(f.device_implementation),
            "NCCL's device implementation; no GPU here",
        ),
        (
            "-V/--device_cta_count",
            f.device_cta_count.map(|v| v.to_string()),
            "NCCL's CTAs; no GPU here",
        ),
    ];
    for (flag, value, why) in given {
        if let Some(value) = value {
            return Err(bad(
                flag,
                format!("{value}: {why}; only the default is accepted"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::test_args::{args, refused};

    fn of(line: &str) -> Result<Nccl, OptionError> {
        nccl_of(&args(line).nccl)
    }

    #[test]
    fn implemented_flags_take_their_values() {
        let n = of("-N 3 -a 1 -m 4 -I 1").unwrap();
        assert_eq!(
            (n.run_cycles, n.average, n.agg_iters, n.per_iter_columns),
            (3, Average::Mean, 4, true)
        );
        let d = of("").unwrap();
        assert_eq!((d.run_cycles, d.average, d.agg_iters), (1, Average::Max, 1));
        assert!(d.notes.is_empty());
        assert_eq!(refused(of("-N 0")).0, "-N/--run_cycles");
        assert_eq!(refused(of("-a 4")).0, "-a/--average");
        assert_eq!(refused(of("-m 0")).0, "-m/--agg_iters");
        assert_eq!(refused(of("-I 2")).0, "-I/--per_iter_timing");
    }

    #[test]
    fn defaults_are_accepted_some_with_a_note_and_the_rest_refused_with_the_reason() {
        let n = of("-g 1 -t 1 -p 1 -z 2 -C 1 -r 0").unwrap();
        assert_eq!(n.notes.len(), 5, "{:?}", n.notes);
        for (line, flag, why) in [
            ("-g 8", "-g/--ngpus", "no GPUs"),
            ("-t 2", "-t/--nthreads", "--np"),
            ("-z 1", "-z/--blocking", "back to back"),
            ("-G 10", "-G/--cudagraph", "CUDA graphs"),
            ("-R 1", "-R/--local_register", "registration"),
            ("-M 1", "-M/--memory", "memory"),
            ("-S 1", "-S/--report_timestamps", "timestamps"),
            ("-y 1", "-y/--stream_null", "streams"),
            ("-K 2", "-K/--per_iter_skip", "every timed iteration"),
            ("-u 1", "-u/--unalign", "misaligned"),
            ("-x 1", "-x/--cta_policy", "CTA"),
            ("-D 1", "-D/--device_implementation", "device"),
            ("-V 4", "-V/--device_cta_count", "CTAs"),
        ] {
            let (f, message) = refused(of(line));
            assert_eq!(f, flag, "{line}");
            assert!(message.contains(why), "{line}: {message}");
        }
    }
}
