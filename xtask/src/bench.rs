//! `cargo xtask bench [--quick] [--json FILE]`: runs the comparison benchmarks and prints, for each
//! operation, ours, the peer and the floor from the same run, with the ratios and the target.
//!
//! Each criterion group in `benches/` is one operation with the functions `ours`, `peer:<name>`
//! and `floor`; the medians are read from criterion's `estimates.json`.

use std::{
    fs,
    path::{Path, PathBuf},
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
];

struct Row {
    op: String,
    ours_ns: f64,
    peer: Option<(String, f64)>,
    floor_ns: Option<f64>,
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    let quick = args.iter().any(|a| a == "--quick");
    let json_out =
        args.iter().position(|a| a == "--json").and_then(|i| args.get(i + 1)).map(PathBuf::from);
    let criterion_dir = target_dir().join("criterion");
    let _ = fs::remove_dir_all(&criterion_dir);
    let mut bench_args = vec!["bench", "-p", "dotdir-benches", "--locked", "--"];
    if quick {
        bench_args.extend(["--quick", "--measurement-time", "1"]);
    }
    cargo(&bench_args, &[])?;
    let rows = collect(&criterion_dir)?;
    print_table(&rows);
    print_scaling(&rows);
    if let Some(path) = json_out {
        let objects: Vec<Value> = rows.iter().map(row_json).collect();
        fs::write(&path, serde_json::to_string_pretty(&objects)? + "\n")
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

fn median_ns(dir: &Path) -> Option<f64> {
    let text = fs::read_to_string(dir.join("new/estimates.json")).ok()?;
    let value: Value = serde_json::from_str(&text).ok()?;
    value["median"]["point_estimate"].as_f64()
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
            let Some(ns) = median_ns(&function.path()) else { continue };
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
        if let Some(ours_ns) = ours {
            rows.push(Row {
                op: group.file_name().to_string_lossy().into_owned(),
                ours_ns,
                peer,
                floor_ns: floor,
            });
        }
    }
    Ok(rows)
}

fn ratio(a: f64, b: Option<f64>) -> Option<f64> {
    b.filter(|b| *b > 0.0).map(|b| a / b)
}

fn verdict(row: &Row) -> &'static str {
    let Some(target) = TARGETS.iter().find(|t| t.op == row.op) else { return "" };
    let vs_floor_ok = target
        .max_vs_floor
        .is_none_or(|max| ratio(row.ours_ns, row.floor_ns).is_none_or(|r| r <= max));
    let vs_peer_ok = target.max_vs_peer.is_none_or(|max| {
        ratio(row.ours_ns, row.peer.as_ref().map(|p| p.1)).is_none_or(|r| r <= max)
    });
    if vs_floor_ok && vs_peer_ok { "met" } else { "MISSED" }
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
        "| {:<32} | {:>10} | {:<28} | {:>10} | {:>9} | {:>10} | {:<6} |",
        "operation", "ours", "peer", "floor", "ours/peer", "ours/floor", "target"
    );
    println!(
        "|{:-<34}|{:->12}|{:-<30}|{:->12}|{:->11}|{:->12}|{:-<8}|",
        "", "", "", "", "", "", ""
    );
    for row in rows {
        let peer = row
            .peer
            .as_ref()
            .map_or("—".to_owned(), |(name, ns)| format!("{name} {}", human(*ns)));
        let fmt_ratio = |r: Option<f64>| r.map_or("—".to_owned(), |r| format!("{r:.2}×"));
        println!(
            "| {:<32} | {:>10} | {:<28} | {:>10} | {:>9} | {:>10} | {:<6} |",
            row.op,
            human(row.ours_ns),
            peer,
            row.floor_ns.map_or("—".to_owned(), human),
            fmt_ratio(ratio(row.ours_ns, row.peer.as_ref().map(|p| p.1))),
            fmt_ratio(ratio(row.ours_ns, row.floor_ns)),
            verdict(row),
        );
    }
}

/// The one target that compares two operations: a journal commit in 10,000 files within 1.5× of
/// one in 10 files.
fn print_scaling(rows: &[Row]) {
    let ours = |op: &str| rows.iter().find(|r| r.op == op).map(|r| r.ours_ns);
    for suffix in ["", "_nosync"] {
        if let (Some(small), Some(large)) = (
            ours(&format!("journal_commit_1_of_10{suffix}")),
            ours(&format!("journal_commit_1_of_10000{suffix}")),
        ) {
            let ratio = large / small;
            let verdict = if ratio <= 1.5 { "met" } else { "MISSED" };
            println!(
                "journal commit{suffix}, 10,000 vs 10 tracked files: {ratio:.2}× (target ≤ 1.50×: {verdict})"
            );
        }
    }
}

fn row_json(row: &Row) -> Value {
    json!({
        "op": row.op,
        "ours_ns": row.ours_ns,
        "peer": row.peer.as_ref().map(|p| p.0.clone()),
        "peer_ns": row.peer.as_ref().map(|p| p.1),
        "floor_ns": row.floor_ns,
        "ratio_vs_peer": ratio(row.ours_ns, row.peer.as_ref().map(|p| p.1)),
        "ratio_vs_floor": ratio(row.ours_ns, row.floor_ns),
        "target": verdict(row),
    })
}
