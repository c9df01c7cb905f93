//! `cargo xtask bench [--quick] [--only BENCH] [--json FILE]`: runs the comparison benchmarks and prints, for each
//! operation, ours, the peer and the floor from the same run, with the ratios and the target.
//!
//! Each criterion group in `benches/` is one operation with the functions `ours`, `peer:<name>`
//! and `floor`; every function's samples (at least 10) are read from criterion's `sample.json`.
//! A ratio is the ratio of the medians, printed with its spread: from the ratio of ours' first
//! quartile to the other's third, to the ratio of ours' third quartile to the other's first. A
//! target is `met` when the whole spread is within it, `MISSED` when the whole spread is beyond
//! it, and `noisy` when the spread straddles it (run again on an idle machine, or without
//! `--quick`).

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::cargo;

/// The target of an operation, as the issue states it: a bound on ours/floor and on ours/peer.
struct Target {
    op: &'static str,
    max_vs_floor: Option<f64>,
    max_vs_peer: Option<f64>,
}

const TARGETS: &[Target] = &[
    Target { op: "atomic_write_durable_1k", max_vs_floor: Some(1.10), max_vs_peer: Some(1.0) },
    Target { op: "jsonl_append_buffered", max_vs_floor: Some(1.2), max_vs_peer: None },
    Target { op: "jsonl_append_durable", max_vs_floor: Some(1.2), max_vs_peer: None },
    // A scan at least 2× faster than the peer and at least half the newline-counting speed.
    Target { op: "jsonl_full_scan", max_vs_floor: Some(2.0), max_vs_peer: Some(0.5) },
    Target { op: "journal_commit_1_of_10000", max_vs_floor: None, max_vs_peer: Some(0.05) },
    Target { op: "journal_commit_1_of_1000", max_vs_floor: None, max_vs_peer: Some(0.05) },
    Target { op: "journal_commit_1_of_10", max_vs_floor: None, max_vs_peer: Some(0.05) },
    Target { op: "spec_dir_relist_10000", max_vs_floor: None, max_vs_peer: Some(0.01) },
    // A background push to a remote that never answers must not slow a commit: within the
    // noise of a disk-bound commit (the floor is the same commit without the push).
    Target {
        op: "journal_commit_auto_push_blackholed",
        max_vs_floor: Some(1.25),
        max_vs_peer: None,
    },
];

/// The time per iteration of one function: median and quartiles, in nanoseconds.
#[derive(Debug, Clone, Copy)]
struct Timing {
    q1: f64,
    median: f64,
    q3: f64,
}

struct Row {
    op: String,
    ours: Timing,
    peer: Option<(String, Timing)>,
    floor: Option<Timing>,
}

/// A ratio of medians with its spread.
#[derive(Debug, Clone, Copy)]
struct Ratio {
    value: f64,
    low: f64,
    high: f64,
}

fn ratio(a: Timing, b: Option<Timing>) -> Option<Ratio> {
    let b = b.filter(|b| b.q1 > 0.0 && b.median > 0.0)?;
    Some(Ratio { value: a.median / b.median, low: a.q1 / b.q3, high: a.q3 / b.q1 })
}

pub(crate) fn run(quick: bool, only: Option<&str>, json_out: Option<&Path>) -> Result<()> {
    let criterion_dir = target_dir().join("criterion");
    let _ = fs::remove_dir_all(&criterion_dir);
    let mut env: Vec<(String, String)> = Vec::new();
    if quick {
        env.push(("DOTDIR_BENCH_QUICK".into(), "1".into()));
    }
    // The address-space layout changes from run to run, and with it the cache alignment of a
    // sub-microsecond operation: ratios of the same commit moved by a third between runs.
    // `setarch -R` runs each bench binary with the same layout.
    if Command::new("setarch").args(["-R", "true"]).status().is_ok_and(|s| s.success()) {
        env.push((crate::host_runner_var()?, "setarch -R".into()));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut bench = vec!["bench", "-p", "dotdir-benches", "--locked"];
    // `--only pidlock`: one bench file (benches/benches/pidlock.rs) instead of all of them.
    // `--only python`: the Python storage row alone (crates/python/bench/bench_storage.py).
    if only.is_some_and(|o| o == "python") {
        return crate::python::bench_row(quick);
    }
    if let Some(only) = only {
        bench.extend(["--bench", only]);
    }
    cargo(&bench, &env)?;
    let rows = collect(&criterion_dir)?;
    print_table(&rows);
    print_scaling(&rows);
    if only.is_none() {
        // The Python row: the reference's storage.py against dotdir.compat, both from Python.
        crate::python::bench_row(quick)?;
    }
    if let Some(path) = json_out {
        let objects: Vec<Value> = rows.iter().map(row_json).collect();
        fs::write(path, serde_json::to_string_pretty(&objects)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").join("target"),
        PathBuf::from,
    )
}

/// The quartiles of the time per iteration over criterion's samples of one function.
fn timing(dir: &Path) -> Option<Timing> {
    let text = fs::read_to_string(dir.join("new/sample.json")).ok()?;
    let value: Value = serde_json::from_str(&text).ok()?;
    let iters = value["iters"].as_array()?;
    let times = value["times"].as_array()?;
    let mut per_iter: Vec<f64> = iters
        .iter()
        .zip(times)
        .filter_map(|(n, t)| Some(t.as_f64()? / n.as_f64().filter(|n| *n > 0.0)?))
        .collect();
    if per_iter.is_empty() {
        return None;
    }
    per_iter.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let position = q * (per_iter.len() - 1) as f64;
        let (low, high) = (position.floor() as usize, position.ceil() as usize);
        per_iter[low] + (per_iter[high] - per_iter[low]) * (position - low as f64)
    };
    Some(Timing { q1: at(0.25), median: at(0.5), q3: at(0.75) })
}

fn collect(criterion_dir: &Path) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    let mut groups: Vec<_> = fs::read_dir(criterion_dir)
        .with_context(|| format!("no benchmark results in {}", criterion_dir.display()))?
        .flatten()
        .filter(|e| e.path().is_dir() && e.file_name() != "report")
        .collect();
    groups.sort_by_key(|e| e.file_name());
    for group in groups {
        let mut ours = None;
        let mut peer = None;
        let mut floor = None;
        for function in fs::read_dir(group.path())?.flatten() {
            let name = function.file_name().to_string_lossy().into_owned();
            let Some(ns) = timing(&function.path()) else { continue };
            match name.as_str() {
                "ours" => ours = Some(ns),
                "floor" => floor = Some(ns),
                other => {
                    if let Some(peer_name) = other.strip_prefix("peer_") {
                        peer = Some((peer_name.to_owned(), ns));
                    }
                }
            }
        }
        if let Some(ours) = ours {
            rows.push(Row {
                op: group.file_name().to_string_lossy().into_owned(),
                ours,
                peer,
                floor,
            });
        }
    }
    Ok(rows)
}

impl Row {
    fn vs_peer(&self) -> Option<Ratio> {
        ratio(self.ours, self.peer.as_ref().map(|p| p.1))
    }

    fn vs_floor(&self) -> Option<Ratio> {
        ratio(self.ours, self.floor)
    }
}

/// `met`, `MISSED` or `noisy` (the spread straddles a bound); empty without a target.
fn verdict(row: &Row) -> &'static str {
    let Some(target) = TARGETS.iter().find(|t| t.op == row.op) else { return "" };
    let checks = [(target.max_vs_floor, row.vs_floor()), (target.max_vs_peer, row.vs_peer())];
    let mut noisy = false;
    for (max, ratio) in checks {
        let (Some(max), Some(ratio)) = (max, ratio) else { continue };
        if ratio.low > max {
            return "MISSED";
        }
        noisy |= ratio.high > max;
    }
    if noisy { "noisy" } else { "met" }
}

fn fmt_ratio(ratio: Option<Ratio>) -> String {
    ratio.map_or("—".to_owned(), |r| format!("{:.2}× ({:.2}–{:.2})", r.value, r.low, r.high))
}

fn human(ns: f64) -> String {
    match ns {
        n if n >= 1e9 => format!("{:.2} s", n / 1e9),
        n if n >= 1e6 => format!("{:.2} ms", n / 1e6),
        n if n >= 1e3 => format!("{:.2} µs", n / 1e3),
        n => format!("{n:.0} ns"),
    }
}

fn print_table(rows: &[Row]) {
    println!(
        "| {:<32} | {:>10} | {:<28} | {:>10} | {:>23} | {:>23} | {:<6} |",
        "operation", "ours", "peer", "floor", "ours/peer (spread)", "ours/floor (spread)", "target"
    );
    println!(
        "|{:-<34}|{:->12}|{:-<30}|{:->12}|{:->25}|{:->25}|{:-<8}|",
        "", "", "", "", "", "", ""
    );
    for row in rows {
        let peer = row
            .peer
            .as_ref()
            .map_or("—".to_owned(), |(name, t)| format!("{name} {}", human(t.median)));
        println!(
            "| {:<32} | {:>10} | {:<28} | {:>10} | {:>23} | {:>23} | {:<6} |",
            row.op,
            human(row.ours.median),
            peer,
            row.floor.map_or("—".to_owned(), |t| human(t.median)),
            fmt_ratio(row.vs_peer()),
            fmt_ratio(row.vs_floor()),
            verdict(row),
        );
    }
}

/// The one target that compares two operations: a journal commit in 10,000 files within 1.5× of
/// one in 10 files.
fn print_scaling(rows: &[Row]) {
    let ours = |op: &str| rows.iter().find(|r| r.op == op).map(|r| r.ours);
    for suffix in ["", "_nosync"] {
        if let (Some(small), Some(large)) = (
            ours(&format!("journal_commit_1_of_10{suffix}")),
            ours(&format!("journal_commit_1_of_10000{suffix}")),
        ) && let Some(ratio) = ratio(large, Some(small))
        {
            let verdict = match ratio {
                r if r.high <= 1.5 => "met",
                r if r.low > 1.5 => "MISSED",
                _ => "noisy",
            };
            println!(
                "journal commit{suffix}, 10,000 vs 10 tracked files: {} (target ≤ 1.50×: {verdict})",
                fmt_ratio(Some(ratio))
            );
        }
    }
}

fn row_json(row: &Row) -> Value {
    let spread = |r: Option<Ratio>| r.map(|r| json!([r.low, r.high]));
    json!({
        "op": row.op,
        "ours_ns": row.ours.median,
        "peer": row.peer.as_ref().map(|p| p.0.clone()),
        "peer_ns": row.peer.as_ref().map(|p| p.1.median),
        "floor_ns": row.floor.map(|t| t.median),
        "ratio_vs_peer": row.vs_peer().map(|r| r.value),
        "ratio_vs_peer_spread": spread(row.vs_peer()),
        "ratio_vs_floor": row.vs_floor().map(|r| r.value),
        "ratio_vs_floor_spread": spread(row.vs_floor()),
        "target": verdict(row),
    })
}
