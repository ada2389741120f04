//! Micro-benchmarks of the pieces every iteration runs: the reduction kernel (per byte, as a
//! node applies arriving data, and split over channels, each part on its own thread) and
//! building and replaying schedules (per collective, and per channel's part).
//!
//! `cargo bench -p topologies` prints time and throughput per case. These are for finding where
//! time goes and comparing commits on one machine, not for absolute claims.

use divan::counter::BytesCount;
use divan::{black_box, Bencher};
use topologies::channels::{channels_for, parts};
use topologies::executor::execute;
use topologies::pattern::fill;
use topologies::reduce::reduce_into;
use topologies::{Algorithm, BuildOptions, DataType, ReduceOp};

fn main() {
    divan::main();
}

const KERNEL_BYTES: usize = 1 << 20;

/// Every type's sum. half and bfloat16 convert to f32 and back for each pair, so they show what
/// that costs beside float's plain loop.
#[divan::bench(args = DataType::ALL)]
fn reduce_sum_1mib(bencher: Bencher, dtype: DataType) {
    let count = KERNEL_BYTES / dtype.size();
    let src = fill(dtype, ReduceOp::Sum, 1, count);
    let mut dst = fill(dtype, ReduceOp::Sum, 2, count);
    bencher
        .counter(BytesCount::new(KERNEL_BYTES))
        .bench_local(|| reduce_into(dtype, ReduceOp::Sum, black_box(&mut dst), black_box(&src)));
}

/// The source one byte off alignment, as a network chunk often is.
#[divan::bench(args = [DataType::Half, DataType::Float, DataType::Double, DataType::Bfloat16])]
fn reduce_sum_1mib_unaligned_source(bencher: Bencher, dtype: DataType) {
    let count = KERNEL_BYTES / dtype.size();
    let mut src = vec![0u8; KERNEL_BYTES + 1];
    src[1..].copy_from_slice(&fill(dtype, ReduceOp::Sum, 1, count));
    let mut dst = fill(dtype, ReduceOp::Sum, 2, count);
    bencher
        .counter(BytesCount::new(KERNEL_BYTES))
        .bench_local(|| {
            reduce_into(
                dtype,
                ReduceOp::Sum,
                black_box(&mut dst),
                black_box(&src[1..]),
            )
        });
}

#[divan::bench(args = ReduceOp::ALL)]
fn reduce_float_1mib(bencher: Bencher, op: ReduceOp) {
    let count = KERNEL_BYTES / 4;
    let src = fill(DataType::Float, op, 1, count);
    let mut dst = fill(DataType::Float, op, 2, count);
    bencher
        .counter(BytesCount::new(KERNEL_BYTES))
        .bench_local(|| reduce_into(DataType::Float, op, black_box(&mut dst), black_box(&src)));
}

const ALGORITHMS: [Algorithm; 5] = [
    Algorithm::Ring,
    Algorithm::Tree,
    Algorithm::DbTree,
    Algorithm::Rhd,
    Algorithm::Rd,
];

/// Schedule construction, as every node does once per size: p = 64, 16 MiB of floats.
#[divan::bench(args = ALGORITHMS)]
fn build_p64_16mib(algo: Algorithm) {
    let schedule = algo
        .build(64, 4 << 20, 4, &BuildOptions::default())
        .expect("a valid schedule");
    black_box(schedule);
}

/// In-memory replay (the executor the property tests use): p = 8, 64 Ki floats per rank.
#[divan::bench(args = ALGORITHMS)]
fn execute_p8_256kib(bencher: Bencher, algo: Algorithm) {
    let (p, count) = (8, 1 << 16);
    let schedule = algo
        .build(p, count, 4, &BuildOptions::default())
        .expect("a valid schedule");
    let inputs: Vec<Vec<f32>> = (0..p).map(|r| vec![r as f32; count]).collect();
    bencher
        .counter(BytesCount::new(p * count * 4))
        .with_inputs(|| inputs.clone())
        .bench_local_values(|inputs| execute(&schedule, ReduceOp::Sum, inputs).expect("replays"));
}

const CHANNELS: [usize; 4] = [1, 2, 4, 8];

/// What a node does for each size: cut the buffer into its channels' parts and build each
/// part's schedule (p = 64, 16 MiB of floats, 64 KiB per channel at least).
#[divan::bench(args = CHANNELS)]
fn channel_schedules_p64_16mib(channels: usize) {
    let count = 4 << 20;
    let used = channels_for(count, 4, channels, 64 << 10);
    for part in parts(count, used) {
        let s = Algorithm::Ring
            .build(64, part.len(), 4, &BuildOptions::default())
            .expect("a valid schedule");
        black_box(s);
    }
}

/// The reduction of a 16 MiB float buffer split over channels, each part reduced on its own
/// thread as a channel's part is: how far the kernel scales with threads before memory
/// bandwidth caps it (the threads are started in each run: tens of microseconds beside the
/// milliseconds of 16 MiB).
#[divan::bench(args = CHANNELS)]
fn reduce_sum_16mib_over_channels(bencher: Bencher, channels: usize) {
    let count = 4 << 20;
    let src = fill(DataType::Float, ReduceOp::Sum, 1, count);
    let mut dst = fill(DataType::Float, ReduceOp::Sum, 2, count);
    let cut: Vec<usize> = parts(count, channels).iter().map(|p| p.len() * 4).collect();
    bencher.counter(BytesCount::new(count * 4)).bench_local(|| {
        std::thread::scope(|scope| {
            let (mut d, mut s) = (&mut dst[..], &src[..]);
            for &len in &cut {
                let (dh, dt) = d.split_at_mut(len);
                let (sh, st) = s.split_at(len);
                (d, s) = (dt, st);
                scope.spawn(move || reduce_into(DataType::Float, ReduceOp::Sum, dh, sh));
            }
        });
    });
}
