//! What a channel does in a measurement: its part of the input and work buffers, the schedule
//! of its part, the timed iterations, the check, and the ping-pong's round trips.

use std::ops::Range;
use std::time::{Duration, Instant};

use bytes::Bytes;
use topologies::channels::part;
use topologies::layout::Layout;
use topologies::noise::Delay;
use topologies::pattern::Expect;
use topologies::reduce::finish_avg;
use topologies::{
    pattern, pingpong, Algorithm, BuildOptions, Case, Collective, DataType, ReduceOp, Schedule,
    Step,
};
use wire::control::Placement;

use crate::control::Position;
use crate::datalink::Links;
use crate::host::{thread_cpu_time, thread_runqueue_wait};
use crate::jitter::Jitter;
use crate::steps::run_steps;
use crate::NodeError;

/// One case, size and placement, as every channel it runs on sees it.
pub struct Measure {
    pub algorithm: Algorithm,
    /// The collective, its ranks, the elements of the whole buffer and the root.
    pub layout: Layout,
    /// Channels this size runs on; the buffer (or every block of it) is cut into as many parts.
    pub channels: usize,
    pub placement: Placement,
    pub dtype: DataType,
    pub op: ReduceOp,
    pub build: BuildOptions,
    pub warmup_iters: u32,
    pub iters: u32,
    /// Test hook (`--fault corrupt`): spoil one element of the checked result.
    pub corrupt: bool,
    /// `--fault jitter:DIST`: a delay before each step's sends of the warm-up and timed
    /// iterations.
    pub jitter: Option<Delay>,
    /// Operations per timed iteration, back to back (nccl-tests' `-m`).
    pub agg_iters: u32,
    /// Where the channels meet at the end of every iteration: an iteration is over when every
    /// part is.
    pub iteration_end: tokio::sync::Barrier,
}

/// One round trip of the ping-pong at one size.
pub struct PingPong {
    pub nranks: usize,
    /// Elements of the whole buffer.
    pub count: usize,
    pub channels: usize,
    pub dtype: DataType,
    pub op: ReduceOp,
    pub size: u64,
    pub iteration: u32,
}

/// One channel's warm-up and timed iterations.
pub struct Timed {
    /// When the channel began the first iteration.
    pub start: Instant,
    /// When each iteration (warm-up ones first) ended.
    pub ends: Vec<Instant>,
    /// CPU time of the channel's thread over the timed iterations, less `idle`.
    pub cpu: Duration,
    /// Time the thread spent in rounds of polling that found nothing to do.
    pub idle: Duration,
    /// Time the thread spent runnable but waiting for a core over the timed iterations (`None`
    /// where the kernel does not say).
    pub waited: Option<Duration>,
    /// Bytes the channel sends per iteration.
    pub sent_bytes: u64,
}

/// A channel's part of the input and of the work buffer, and the schedule of its part.
#[derive(Default)]
pub struct ChannelBuffers {
    /// Shared, so that sends of parts of it need no copy (it does not change while filled).
    input: Bytes,
    /// The runs of the whole buffer, the data type and the operator `input` holds.
    filled: Option<(Vec<Range<usize>>, DataType, ReduceOp)>,
    work: Vec<u8>,
    schedule: Option<(ScheduleKey, Schedule)>,
}

/// The channel a job runs on: its links, its index, the rank, and where the node reports its
/// position.
pub struct Lane<'a> {
    pub links: &'a mut Links,
    pub position: &'a Position,
    pub channel: usize,
    pub me: usize,
}

/// A channel's part of one measurement, ready to run.
struct Ready<'a> {
    /// The ranges of the whole buffer the channel's buffer holds, one after another.
    runs: Vec<Range<usize>>,
    input: &'a Bytes,
    work: &'a mut Vec<u8>,
    program: &'a [Step],
}

#[derive(Clone, Copy, PartialEq)]
struct ScheduleKey {
    collective: Collective,
    root: usize,
    algorithm: Algorithm,
    nranks: usize,
    count: usize,
    elem_size: usize,
    build: BuildOptions,
}

/// Elements per block of the input pattern: a multiple of its period, so every block starts
/// where the pattern does.
const PATTERN_BLOCK: usize = pattern::PERIOD * 65_536;

impl ChannelBuffers {
    /// Makes the input hold `runs` of rank `me`'s input, one after another, and the work
    /// buffer as long.
    fn prepare(&mut self, dtype: DataType, op: ReduceOp, me: usize, runs: &[Range<usize>]) {
        if self
            .filled
            .as_ref()
            .is_none_or(|(r, d, o)| r != runs || *d != dtype || *o != op)
        {
            // Reuse the allocation when no earlier message still holds a piece of it.
            let mut input = std::mem::take(&mut self.input)
                .try_into_mut()
                .map(Vec::from)
                .unwrap_or_default();
            input.clear();
            let mut one = Vec::new();
            for run in runs {
                if runs.len() == 1 {
                    fill_part(dtype, op, me, run, &mut input);
                } else {
                    fill_part(dtype, op, me, run, &mut one);
                    input.extend_from_slice(&one);
                }
            }
            self.input = Bytes::from(input);
            self.filled = Some((runs.to_vec(), dtype, op));
        }
        self.work.resize(self.input.len(), 0);
    }

    /// Builds the schedule of `key`'s shape, unless it is the one built last.
    fn build_schedule(&mut self, key: ScheduleKey) -> Result<(), NodeError> {
        if self.schedule.as_ref().map(|(k, _)| *k) != Some(key) {
            let s = key
                .collective
                .build(
                    key.algorithm,
                    key.nranks,
                    key.count,
                    key.elem_size,
                    &key.build,
                    key.root,
                )
                .map_err(|e| NodeError::Schedule(e.to_string()))?;
            self.schedule = Some((key, s));
        }
        Ok(())
    }

    /// Channel `channel`'s part of `m`: its input and work buffers made ready, and its program.
    fn ready(&mut self, m: &Measure, channel: usize, me: usize) -> Result<Ready<'_>, NodeError> {
        let runs = m.layout.channel_runs(m.channels, channel);
        self.prepare(m.dtype, m.op, me, &runs);
        let count = runs.iter().map(|r| r.len()).sum();
        self.build_schedule(shape(m, count))?;
        let ChannelBuffers {
            input,
            work,
            schedule,
            ..
        } = self;
        let program = schedule
            .as_ref()
            .and_then(|(_, s)| s.programs.get(me))
            .ok_or_else(|| NodeError::Schedule(format!("no program for rank {me}")))?;
        Ok(Ready {
            runs,
            input,
            work,
            program,
        })
    }

    pub async fn timed(&mut self, m: &Measure, mut lane: Lane<'_>) -> Result<Timed, NodeError> {
        let Ready {
            runs,
            input,
            work,
            program,
        } = self.ready(m, lane.channel, lane.me)?;
        // An average divides what it reduced at the end of every operation, as NCCL's does.
        let averaged = match m.op {
            ReduceOp::Avg => m.layout.reduced_parts(lane.me, &runs),
            _ => Vec::new(),
        };
        let sent_bytes: u64 = program
            .iter()
            .flat_map(|s| &s.sends)
            .map(|s| (s.range.len() * m.dtype.size()) as u64)
            .sum();
        // Out of place every iteration reads the input afresh, where it has not written `work`
        // yet (no copy of the input first). In place the iterations reduce their own results,
        // as nccl-tests' do; only the check runs on the input.
        let source = (m.placement == Placement::OutOfPlace).then_some(input);
        if source.is_none() {
            work.copy_from_slice(input);
        }
        let total = m.warmup_iters + m.iters;
        let mut ends = Vec::with_capacity(total as usize);
        // Every rank's and channel's draws their own, the same in every run.
        let seed = ((lane.me as u64) << 40) ^ ((lane.channel as u64) << 32) ^ m.layout.count as u64;
        let mut jitter = m.jitter.map(|d| Jitter::new(d, seed));
        let start = Instant::now();
        let mut cpu_start = thread_cpu_time();
        let mut wait_start = thread_runqueue_wait();
        for it in 0..total {
            if it == m.warmup_iters {
                cpu_start = thread_cpu_time();
                wait_start = thread_runqueue_wait();
                lane.links.take_idle();
            }
            for _ in 0..m.agg_iters.max(1) {
                iteration(m, program, work, source, &mut lane, it, jitter.as_mut()).await?;
                divide(m, &averaged, work);
            }
            if m.channels > 1 {
                m.iteration_end.wait().await;
            }
            ends.push(Instant::now());
        }
        // The data plane's work: its CPU time less what it spent polling while nothing moved.
        let idle = lane.links.take_idle();
        Ok(Timed {
            start,
            ends,
            cpu: thread_cpu_time()
                .saturating_sub(cpu_start)
                .saturating_sub(idle),
            idle,
            waited: thread_runqueue_wait()
                .zip(wait_start)
                .map(|(end, start)| end.saturating_sub(start)),
            sent_bytes,
        })
    }

    /// One iteration from the input, untimed, and the wrong elements of this channel's part.
    pub async fn check(&mut self, m: &Measure, mut lane: Lane<'_>) -> Result<u64, NodeError> {
        let Ready {
            runs,
            input,
            work,
            program,
        } = self.ready(m, lane.channel, lane.me)?;
        let source = match m.placement {
            Placement::InPlace => {
                work.copy_from_slice(input);
                None
            }
            // Out of place, what the timed iterations left would pass the check by itself:
            // poison it, so a part the program neither wrote nor took from the input is wrong.
            Placement::OutOfPlace => {
                work.fill(0xFF);
                Some(input)
            }
        };
        let total = m.warmup_iters + m.iters;
        iteration(m, program, work, source, &mut lane, total, None).await?;
        if m.op == ReduceOp::Avg {
            divide(m, &m.layout.reduced_parts(lane.me, &runs), work);
        }
        if m.corrupt && lane.channel == 0 {
            // The first checked element's most significant byte (sign and exponent of a
            // float): far beyond any tolerance of the check.
            let checked = local_indices(&runs)
                .find(|&(_, g)| m.layout.expect(lane.me, g) != Expect::Unchecked);
            if let Some(byte) =
                checked.and_then(|(l, _)| work.get_mut((l + 1) * m.dtype.size() - 1))
            {
                *byte = !*byte;
            }
        }
        let check = Check {
            dtype: m.dtype,
            op: m.op,
            layout: &m.layout,
            me: lane.me,
        };
        Ok(check.count_wrong(&runs, work).await)
    }

    /// One round trip of the ping-pong over this channel's part.
    pub async fn pingpong(
        &mut self,
        pp: &PingPong,
        lane: Lane<'_>,
    ) -> Result<(Instant, Instant), NodeError> {
        let Lane {
            links,
            position,
            channel,
            me,
        } = lane;
        let part = part(pp.count, pp.channels, channel);
        let bytes = part.len() * pp.dtype.size();
        if self.work.len() < bytes {
            self.work.resize(bytes, 0);
        }
        let schedule = pingpong::schedule(pp.nranks, part.len());
        let at = || {
            let mut s = format!(
                "rank {me}: ping-pong {} bytes iteration {}",
                pp.size, pp.iteration
            );
            if pp.channels > 1 {
                s.push_str(&format!(" channel {channel}"));
            }
            s
        };
        let start = Instant::now();
        run_steps(
            &schedule.programs[me],
            &mut self.work[..bytes],
            None,
            links,
            (pp.dtype, pp.op),
            position,
            channel,
            &at,
            None,
        )
        .await?;
        Ok((start, Instant::now()))
    }
}

/// Iteration `it` of `m`'s program on this channel; a failure names where it was.
async fn iteration(
    m: &Measure,
    program: &[Step],
    work: &mut [u8],
    source: Option<&Bytes>,
    lane: &mut Lane<'_>,
    it: u32,
    jitter: Option<&mut Jitter>,
) -> Result<(), NodeError> {
    let (me, channel) = (lane.me, lane.channel);
    lane.position.iteration(channel, it);
    let at = || {
        context(
            Case {
                collective: m.layout.collective,
                algorithm: m.algorithm,
            },
            m.layout.count,
            m.dtype,
            m.placement,
            me,
            it,
            channel,
            m.channels,
        )
    };
    run_steps(
        program,
        work,
        source,
        lane.links,
        (m.dtype, m.op),
        lane.position,
        channel,
        &at,
        jitter,
    )
    .await
}

fn shape(m: &Measure, count: usize) -> ScheduleKey {
    ScheduleKey {
        collective: m.layout.collective,
        root: m.layout.root,
        algorithm: m.algorithm,
        nranks: m.layout.nranks,
        count,
        elem_size: m.dtype.size(),
        build: m.build,
    }
}

/// What a failure's context says before the step: "rank 2: ring 1024 bytes out-of-place
/// iteration 3" ("rank 2: all_gather ring ..." for the collectives other than all-reduce), and
/// the channel when the size runs on more than one.
#[allow(clippy::too_many_arguments)]
fn context(
    algorithm: Case,
    count: usize,
    dtype: DataType,
    placement: Placement,
    me: usize,
    iteration: u32,
    channel: usize,
    channels: usize,
) -> String {
    let placement = match placement {
        Placement::OutOfPlace => "out-of-place",
        Placement::InPlace => "in-place",
    };
    let mut s = format!(
        "rank {me}: {algorithm} {} bytes {placement} iteration {iteration}",
        count * dtype.size()
    );
    if channels > 1 {
        s.push_str(&format!(" channel {channel}"));
    }
    s
}

/// Rank `me`'s input over `part`: one block of the pattern, then copies of it (the pattern
/// repeats), so a large buffer is made at memcpy speed rather than element by element.
fn fill_part(dtype: DataType, op: ReduceOp, me: usize, part: &Range<usize>, input: &mut Vec<u8>) {
    let block = part.start..part.start + part.len().min(PATTERN_BLOCK);
    pattern::fill_part_into(dtype, op, me, block, input);
    let want = part.len() * dtype.size();
    let block = input.len();
    input.reserve(want - block);
    while input.len() < want {
        let n = (want - input.len()).min(block);
        input.extend_from_within(..n);
    }
}

/// Each element of a channel's buffer with the index in the whole buffer it stands for.
fn local_indices(runs: &[Range<usize>]) -> impl Iterator<Item = (usize, usize)> + '_ {
    runs.iter().flat_map(|r| r.clone()).enumerate()
}

/// Ends an average, as part of the collective: the ranks combined with the sum, so the
/// elements of `work` in `reduced` (those holding a reduction: [`Layout::reduced_parts`]) are
/// divided by the number of ranks, once ([`finish_avg`]).
fn divide(m: &Measure, reduced: &[Range<usize>], work: &mut [u8]) {
    let esize = m.dtype.size();
    for r in reduced {
        if let Some(bytes) = work.get_mut(r.start * esize..r.end * esize) {
            finish_avg(m.dtype, m.layout.nranks, bytes);
        }
    }
}

/// What a rank's result is checked against.
struct Check<'a> {
    dtype: DataType,
    op: ReduceOp,
    layout: &'a Layout,
    me: usize,
}

impl Check<'_> {
    /// nccl-tests' #wrong over a channel's buffer that holds `runs` of the whole buffer, a block
    /// at a time, yielding between blocks so that QUIC's keep-alives go on while a large buffer
    /// is checked.
    async fn count_wrong(&self, runs: &[Range<usize>], work: &[u8]) -> u64 {
        let esize = self.dtype.size();
        let mut wrong = 0;
        let mut at = 0;
        for run in runs {
            let end = (at + run.len() * esize).min(work.len());
            for (i, block) in work[at..end].chunks(PATTERN_BLOCK * esize).enumerate() {
                let first = run.start + i * PATTERN_BLOCK;
                wrong += pattern::count_wrong_expected(
                    self.dtype,
                    self.op,
                    self.layout.nranks,
                    first,
                    block,
                    |g| self.layout.expect(self.me, g),
                );
                tokio::task::yield_now().await;
            }
            at = end;
        }
        // A trailing partial element, or a buffer shorter than its runs.
        wrong + u64::from(at != work.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_filled_a_block_at_a_time_is_that_part_of_the_input() {
        for (start, len) in [
            (0, 0),
            (0, 13),
            (5, 12),
            (7, PATTERN_BLOCK - 1),
            (3, PATTERN_BLOCK),
            (11, 2 * PATTERN_BLOCK + 7),
        ] {
            for dtype in [DataType::Float, DataType::Int64] {
                let part = start..start + len;
                let mut fast = Vec::new();
                fill_part(dtype, ReduceOp::Sum, 3, &part, &mut fast);
                let mut slow = Vec::new();
                pattern::fill_part_into(dtype, ReduceOp::Sum, 3, part.clone(), &mut slow);
                assert_eq!(fast, slow, "{part:?} {dtype:?}");
            }
        }
    }

    #[test]
    fn wrong_elements_are_counted_in_every_block_from_the_part_start() {
        let rt = tokio::runtime::Builder::new_current_thread().build();
        let Ok(rt) = rt else { return };
        let (first, count) = (7, 2 * PATTERN_BLOCK + 5);
        let table = pattern::expected_table(DataType::Float, ReduceOp::Sum, 4);
        let mut sum = vec![0u8; count * 4];
        for (i, c) in sum.chunks_exact_mut(4).enumerate() {
            let v = table[(first + i) % pattern::PERIOD].int as f32;
            c.copy_from_slice(&v.to_ne_bytes());
        }
        let layout = Layout {
            collective: Collective::AllReduce,
            nranks: 4,
            count: first + count,
            root: 0,
        };
        let check = Check {
            dtype: DataType::Float,
            op: ReduceOp::Sum,
            layout: &layout,
            me: 1,
        };
        let runs = std::iter::once(first..first + count).collect::<Vec<_>>();
        let count_all = |s: &[u8]| rt.block_on(check.count_wrong(&runs, s));
        assert_eq!(count_all(&sum), 0);
        // Two wrong elements, in different blocks, and a trailing partial element.
        sum[0] ^= 0xff;
        sum[(PATTERN_BLOCK + 3) * 4] ^= 0xff;
        sum.push(0);
        assert_eq!(count_all(&sum), 3);
    }
}
