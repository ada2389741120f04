//! `collbench run --dry-run`: every flag checked, and what the run would do, without starting
//! anything.

use std::fmt::Write;

use crate::options::RunOptions;
use crate::sizes::format_size;

pub fn describe(o: &RunOptions) -> String {
    let mut s = String::new();
    let cases: Vec<String> = o.cases.iter().map(|c| c.to_string()).collect();
    let _ = writeln!(
        s,
        "# dry run: {} ranks ({:?} launcher), {} {}, algorithms {}",
        o.nranks,
        o.launcher,
        o.dtype,
        o.op,
        cases.join(",")
    );
    let _ = writeln!(
        s,
        "# sizes: {} from {} to {} ({}), {} warm-up and {} timed iterations of {} operation(s) each, \
         {} cycle(s), time = the {} rank mean",
        o.sizes.len(),
        format_size(o.minbytes),
        format_size(o.maxbytes),
        match o.stepbytes {
            Some(b) => format!("+{} each step", format_size(b)),
            None => format!("x{} each step", o.stepfactor),
        },
        o.warmup_iters,
        o.iters,
        o.nccl.agg_iters,
        o.nccl.run_cycles,
        o.nccl.average.name()
    );
    let rows = o.sizes.len() * o.cases.len() * o.nccl.run_cycles as usize;
    let _ = writeln!(s, "# {rows} rows; nothing was started");
    s
}
