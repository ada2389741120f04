//! The sweep's flags: sizes, iterations, data type and operator, checking, polling, channels,
//! the stall limit.

use std::time::Duration;

use run_core::polling::Polling;
use topologies::{DataType, ReduceOp};
use wire::control::{MAX_ITERS, MAX_SIZE};

use super::kinds::{bad, OptionError};
use crate::cli::RunArgs;
use crate::sizes::{linear_sweep, sweep};
use run_core::channels::ChannelCount;

/// The sweep as the flags describe it, checked.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub minbytes: u64,
    pub maxbytes: u64,
    /// 1 when the sweep adds `stepbytes` instead.
    pub stepfactor: u64,
    pub stepbytes: Option<u64>,
    pub sizes: Vec<u64>,
    pub iters: u32,
    pub warmup_iters: u32,
    /// Checked iterations after the timed ones (`-c`); 0: no check.
    pub check_iters: u32,
    /// `-d`: every type the run measures (`all`: nccl-tests' list), in order.
    pub dtypes: Vec<DataType>,
    /// `-o`: every operator, in order.
    pub ops: Vec<ReduceOp>,
    /// The largest element of `dtypes`: every size holds whole elements of each.
    pub dtype: DataType,
    pub poll_us: Polling,
    pub channels: ChannelCount,
    pub channel_min_bytes: u64,
    pub stall_timeout: Duration,
    /// `--min-busbw` / `NCCL_TESTS_MIN_BW`, GB/s.
    pub min_busbw: Option<f64>,
}

/// A minimum bus bandwidth in GB/s: a positive number.
fn min_busbw_of(text: &str) -> Result<f64, OptionError> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(bad(
            "--min-busbw/NCCL_TESTS_MIN_BW",
            format!("'{text}' is not a positive number of GB/s"),
        )),
    }
}

pub fn sweep_of(a: &RunArgs) -> Result<Sweep, OptionError> {
    let dtypes = list_of("-d/--datatype", &a.datatype, &DataType::ALL)?;
    let ops = list_of("-o/--op", &a.op, &ReduceOp::ALL)?;
    let dtype = dtypes
        .iter()
        .copied()
        .max_by_key(|d| d.size())
        .unwrap_or(DataType::Float);
    let (minbytes, maxbytes) = size_range(a, dtype)?;
    let (stepfactor, stepbytes) = steps(a, dtype)?;
    iterations(a)?;
    let poll_us: Polling = a.poll_us.parse().map_err(|e: String| bad("--poll-us", e))?;
    let channels: ChannelCount = a
        .channels
        .parse()
        .map_err(|e: String| bad("--channels", e))?;
    let channel_min_bytes = a.channel_min_bytes;
    if a.check > MAX_ITERS {
        return Err(bad(
            "-c/--check",
            format!("{} is above {MAX_ITERS} checked iterations", a.check),
        ));
    }
    if a.timeout == 0 {
        return Err(bad("--timeout", "must be at least 1 second"));
    }
    let min_busbw = a.min_busbw.as_deref().map(min_busbw_of).transpose()?;
    Ok(Sweep {
        minbytes,
        maxbytes,
        stepfactor,
        stepbytes,
        // Every size holds whole elements: both ends do, and the steps multiply or add whole
        // elements.
        sizes: match stepbytes {
            Some(step) => linear_sweep(minbytes, maxbytes, step),
            None => sweep(minbytes, maxbytes, stepfactor),
        },
        iters: a.iters,
        warmup_iters: a.warmup_iters,
        check_iters: a.check,
        dtypes,
        ops,
        dtype,
        poll_us,
        channels,
        channel_min_bytes,
        stall_timeout: Duration::from_secs(a.timeout),
        min_busbw,
    })
}

/// A comma-separated list of names (`all`: every one in `every`'s order), without repeats, and
/// at least one.
fn list_of<T>(flag: &'static str, text: &str, every: &[T]) -> Result<Vec<T>, OptionError>
where
    T: std::str::FromStr + Copy + Eq + std::hash::Hash,
    T::Err: std::fmt::Display,
{
    let out = topologies::names::parse_list(text, every).map_err(|e| bad(flag, e.to_string()))?;
    if out.is_empty() {
        return Err(bad(flag, "no value given"));
    }
    Ok(out)
}

/// `-f` (multiply, at least 2; the default, 2) or `-i` (add whole elements), not both (clap
/// refuses both).
fn steps(a: &RunArgs, dtype: DataType) -> Result<(u64, Option<u64>), OptionError> {
    if let Some(step) = a.stepbytes {
        let esize = dtype.size() as u64;
        if step == 0 || !step.is_multiple_of(esize) {
            return Err(bad(
                "-i/--stepbytes",
                format!("{step} bytes is not a positive multiple of the {dtype} element size ({esize} bytes)"),
            ));
        }
        return Ok((1, Some(step)));
    }
    match a.stepfactor.unwrap_or(2) {
        f if f < 2 => Err(bad("-f/--stepfactor", format!("{f} must be 2 or more"))),
        f => Ok((f, None)),
    }
}

/// `-b` and `-e`: whole elements, within the limit, in order.
fn size_range(a: &RunArgs, dtype: DataType) -> Result<(u64, u64), OptionError> {
    let (minbytes, maxbytes) = (a.minbytes, a.maxbytes);
    let esize = dtype.size() as u64;
    for (flag, v) in [("-b/--minbytes", minbytes), ("-e/--maxbytes", maxbytes)] {
        if v == 0 {
            return Err(bad(flag, "must be at least one element"));
        }
        if !v.is_multiple_of(esize) {
            return Err(bad(
                flag,
                format!("{v} bytes is not a multiple of the {dtype} element size ({esize} bytes)"),
            ));
        }
        if v > MAX_SIZE {
            return Err(bad(
                flag,
                format!("{v} bytes is above the limit of {MAX_SIZE} bytes"),
            ));
        }
    }
    if minbytes > maxbytes {
        return Err(bad(
            "-b/--minbytes",
            format!("{minbytes} bytes is larger than -e/--maxbytes ({maxbytes} bytes)"),
        ));
    }
    Ok((minbytes, maxbytes))
}

fn iterations(a: &RunArgs) -> Result<(), OptionError> {
    if a.iters == 0 || a.iters > MAX_ITERS {
        return Err(bad(
            "-n/--iters",
            format!("{} is outside 1..={MAX_ITERS}", a.iters),
        ));
    }
    if a.warmup_iters > MAX_ITERS {
        return Err(bad(
            "-w/--warmup_iters",
            format!("{} is above {MAX_ITERS}", a.warmup_iters),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::test_args::{args, refused};

    #[test]
    fn sizes_are_whole_elements_in_order_and_within_the_limit() {
        let s = sweep_of(&args("-b 1K -e 8K -f 2")).unwrap();
        assert_eq!(s.sizes, [1024, 2048, 4096, 8192]);
        assert_eq!(
            refused(sweep_of(&args("-b 0"))),
            ("-b/--minbytes", "must be at least one element".into())
        );
        let (flag, why) = refused(sweep_of(&args("-d double -b 12")));
        assert_eq!(flag, "-b/--minbytes");
        assert!(
            why.contains("not a multiple of the double element size (8 bytes)"),
            "{why}"
        );
        let (flag, why) = refused(sweep_of(&args("-b 64M -e 1K")));
        assert_eq!(flag, "-b/--minbytes");
        assert!(why.contains("larger than -e/--maxbytes"), "{why}");
        assert_eq!(refused(sweep_of(&args("-e 32G"))).0, "-e/--maxbytes");
        assert_eq!(refused(sweep_of(&args("-f 1"))).0, "-f/--stepfactor");
    }

    #[test]
    fn iterations_check_and_types_have_their_ranges() {
        assert_eq!(refused(sweep_of(&args("-n 0"))).0, "-n/--iters");
        assert_eq!(
            refused(sweep_of(&args("-w 2000000"))).0,
            "-w/--warmup_iters"
        );
        assert_eq!(refused(sweep_of(&args("-c 2000000"))).0, "-c/--check");
        assert_eq!(sweep_of(&args("-c 0")).unwrap().check_iters, 0);
        assert_eq!(sweep_of(&args("-c 3")).unwrap().check_iters, 3);
        assert_eq!(refused(sweep_of(&args("-d float,fp8"))).0, "-d/--datatype");
        assert_eq!(refused(sweep_of(&args("-o mean"))).0, "-o/--op");
        let all = sweep_of(&args("-d all -o all")).unwrap();
        assert_eq!(all.dtypes, DataType::ALL);
        assert_eq!(all.ops, ReduceOp::ALL);
        // Every size holds whole elements of the largest type.
        assert_eq!(all.dtype.size(), 8);
        let two = sweep_of(&args("-d int32,float,int32 -o max")).unwrap();
        assert_eq!(two.dtypes, [DataType::Int32, DataType::Float]);
        assert_eq!(two.ops, [ReduceOp::Max]);
        assert_eq!(refused(sweep_of(&args("-o ,"))).0, "-o/--op");
        assert_eq!(refused(sweep_of(&args("--poll-us 2000000"))).0, "--poll-us");
        assert_eq!(refused(sweep_of(&args("--timeout 0"))).0, "--timeout");
    }

    #[test]
    fn channels_take_auto_or_a_count() {
        assert_eq!(sweep_of(&args("")).unwrap().channels, ChannelCount::Auto);
        assert_eq!(
            sweep_of(&args("--channels 3")).unwrap().channels,
            ChannelCount::Fixed(3)
        );
        assert_eq!(refused(sweep_of(&args("--channels 0"))).0, "--channels");
    }
}
