//! Comparison benchmarks for dotdir, run by `cargo xtask bench`.
//!
//! Every benchmark group is one operation with three functions: `ours` (the dotdir crate), `peer`
//! (what a user would otherwise pick) and `floor` (the raw syscall sequence any correct
//! implementation must perform). `cargo xtask bench` reads criterion's estimates and prints the
//! ratios ours/peer and ours/floor from the same run.
//!
//! [`group`] gives every group the same settings: under `DOTDIR_BENCH_QUICK=1` (what
//! `cargo xtask bench --quick` sets) a short warm-up and a 1 s measurement, but never fewer than
//! 10 samples: criterion stretches the time of a slow operation (flat sampling) rather than
//! judging it on a handful of runs.

use std::time::Duration;

use criterion::{BenchmarkGroup, Criterion, SamplingMode, measurement::WallTime};

/// Whether this is a quick run (`DOTDIR_BENCH_QUICK=1`).
pub fn quick() -> bool {
    std::env::var_os("DOTDIR_BENCH_QUICK").is_some_and(|v| v == "1")
}

/// A benchmark group `name` measured for `full` (1 s in a quick run), with `samples` samples
/// (at least 10).
pub fn group<'a>(
    c: &'a mut Criterion,
    name: &str,
    full: Duration,
    samples: usize,
) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group.sample_size(samples.max(10));
    group.sampling_mode(SamplingMode::Auto);
    if quick() {
        group.warm_up_time(Duration::from_millis(300));
        group.measurement_time(Duration::from_secs(1));
    } else {
        group.measurement_time(full);
    }
    group
}
