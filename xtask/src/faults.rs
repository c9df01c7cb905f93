//! `cargo xtask faults [--full] [--op NAME] [--points N]`: I/O-error injection into every public
//! write operation.
//!
//! A tiny `LD_PRELOAD` shim (`faults/shim.c`, built here at run time with `cc`) makes the k-th
//! intercepted libc call (`open*`, `creat`, `write`/`pwrite`/`writev`, `fsync`, `fdatasync`,
//! `fchmod`, `rename*`, `mkdir*`, `link*`, `symlink*`, `unlink*`) fail with ENOSPC, EIO or EACCES.
//! For each operation the parent prepares the old version of a directory, runs the operation once
//! in a child without a fault to learn the new version and how many calls it makes, then for each
//! injection point k runs it again in a child (`xtask faults-child <op> <dir>`) with the k-th call
//! failing, and checks:
//!
//! - the child exits normally: 0 when the API returned `Ok`, 3 when it returned `Err` (never a
//!   panic, an abort or a signal);
//! - every file of the directory is its old or its new version (and all new after `Ok`);
//! - no temporary file (`*.dotdir-tmp`) is left;
//! - after an `Err`, the operation run again without a fault succeeds (nothing stays locked or
//!   stuck) and ends in exactly the new version — one clean call's, for appends too: an `Err`
//!   is safe to retry — and `git fsck` is clean.
//!
//! CI runs a sample of injection points per operation with the errno rotating; `--full` runs
//! every point with every errno. `cargo xtask hostile` (module [`hostile`]) is the hostile-input
//! and planted-symlink check.

pub(crate) mod accounts;
pub(crate) mod hostile;
mod hostile_fs;

use std::{collections::BTreeSet, fs, path::Path, time::Instant};

use anyhow::{Context, Result, bail};

use crate::harness::{
    child::{self, EXIT_ERR, EXIT_SETUP, Outcome, describe, spawn},
    ops::{self, CONTROLS, OPS, Op, prepare},
    preload::fault_shim,
    scratch::tmpfs,
    snapshot::{diff, git_fsck, old_or_new, snapshot, temps},
};

const ERRNOS: [(i32, &str); 3] = [(28, "ENOSPC"), (5, "EIO"), (13, "EACCES")];

/// `xtask faults-child <op> <dir>`: runs one operation and reports through the exit code.
pub(crate) fn child(args: &[String]) -> Result<()> {
    let [name, dir] = args else { bail!("usage: xtask faults-child <op> <dir>") };
    let op = find(name)?;
    child::set_dir(Path::new(dir));
    let result = (op.run)(Path::new(dir));
    child::disarm();
    match result {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            eprintln!("{name}: {e:#}");
            std::process::exit(if child::armed() { EXIT_ERR } else { EXIT_SETUP })
        }
    }
}

fn find(name: &str) -> Result<&'static Op> {
    OPS.iter().chain(CONTROLS).chain(accounts::INTERRUPTED).find(|op| op.name == name).with_context(
        || {
            let names: Vec<&str> = OPS.iter().map(|op| op.name).collect();
            format!("no operation {name}; operations: {}", names.join(", "))
        },
    )
}

/// `cargo xtask faults`'s options.
pub(crate) struct Options {
    /// Every injection point with every errno.
    pub(crate) full: bool,
    /// One operation only.
    pub(crate) only: Option<String>,
    /// Injection points sampled per operation (without `full`).
    pub(crate) points: usize,
    /// Known violations fail the run too.
    pub(crate) strict: bool,
}

/// Violations already reported to the crates' owners: `<op>: <text the violation contains>` per
/// line (`*` for any operation; `#` comments), for `faults` and for `hostile`'s planted symlinks. They are printed and counted as known, and fail the run only with
/// `--strict`, so that CI catches new ones.
const KNOWN: &str = include_str!("../corpus/faults-known.txt");

pub(crate) fn known(op: &str, violation: &str) -> bool {
    KNOWN.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).any(|line| {
        line.split_once(": ")
            .is_some_and(|(name, text)| (name == op || name == "*") && violation.contains(text))
    })
}

/// `cargo xtask faults`.
pub(crate) fn run(options: &Options) -> Result<()> {
    let shim = fault_shim()?;
    let ops: Vec<&Op> = match &options.only {
        Some(name) => vec![find(name)?],
        None => OPS.iter().collect(),
    };
    let started = Instant::now();
    let mut total = Stats::default();
    let mut failures = Vec::new();
    let mut known_count = 0;
    for op in &ops {
        let stats = run_op(op, &shim, options)
            .with_context(|| format!("fault injection of {}", op.name))?;
        let (old, new): (Vec<&String>, Vec<&String>) =
            stats.violations.iter().partition(|v| known(op.name, v) && !options.strict);
        println!(
            "faults {:<34} {:>4} calls  {:>4} runs  {:>4} Err  {:>3} Ok  {:>2} violations  {:>2} known",
            op.name,
            stats.calls,
            stats.runs,
            stats.errs,
            stats.oks,
            new.len(),
            old.len()
        );
        for v in &old {
            eprintln!("  known {}: {v}", op.name);
        }
        for v in &new {
            eprintln!("  VIOLATION {}: {v}", op.name);
        }
        known_count += old.len();
        failures.extend(new.iter().map(|v| format!("{}: {v}", op.name)));
        total.calls += stats.calls;
        total.runs += stats.runs;
        total.errs += stats.errs;
        total.oks += stats.oks;
    }
    println!(
        "faults: {} operations × {} injection points ({} runs: {} Err, {} Ok despite a fault), \
         {} violations ({} known, xtask/corpus/faults-known.txt), {:.0} s",
        ops.len(),
        total.calls,
        total.runs,
        total.errs,
        total.oks,
        failures.len(),
        known_count,
        started.elapsed().as_secs_f64()
    );
    if options.only.is_none() {
        for control in CONTROLS {
            let stats = run_op(control, &shim, options)?;
            println!(
                "faults: negative control {}: {} violations found in {} runs (must be > 0)",
                control.name,
                stats.violations.len(),
                stats.runs
            );
            if stats.violations.is_empty() {
                failures.push(format!("{}: the negative control found nothing", control.name));
            }
        }
    }
    if !failures.is_empty() {
        bail!("fault injection found {} violations:\n{}", failures.len(), failures.join("\n"));
    }
    Ok(())
}

#[derive(Debug, Default)]
struct Stats {
    /// Injection points of the operation (intercepted calls of a fault-free run).
    calls: usize,
    /// Injected runs.
    runs: usize,
    /// Runs where the API returned `Err`.
    errs: usize,
    /// Runs where a call failed and the API still returned `Ok` (handled or retried).
    oks: usize,
    violations: Vec<String>,
}

fn run_op(op: &Op, shim: &Path, options: &Options) -> Result<Stats> {
    let scratch = tmpfs()?;
    let report = scratch.path().join("report");
    let mut stats = Stats::default();

    // The new version, and the number of injection points, from fault-free runs (twice: the
    // new version must be the same each time for the comparison to mean anything).
    let mut reference = None;
    for attempt in 0..2 {
        let dir = prepare(op, scratch.path(), &format!("reference-{attempt}"))?;
        let run = spawn(op, &dir, Some((shim, 0, 0)), &report)?;
        if run.outcome != Outcome::Ok {
            bail!("{} fails without any fault: {}", op.name, describe(&run));
        }
        let snap = snapshot(&dir, Some(run.pid))?;
        let calls = run.calls.context("the shim did not report (is LD_PRELOAD honoured?)")?;
        match &reference {
            None => reference = Some((snap, calls)),
            Some((first, _)) if *first != snap => {
                bail!(
                    "{} is not deterministic: two fault-free runs differ: {}",
                    op.name,
                    diff(first, &snap)
                )
            }
            Some(_) => {}
        }
    }
    let (new, calls) = reference.context("reference run")?;
    stats.calls = calls;

    let points: Vec<usize> = if options.full || calls <= options.points {
        (1..=calls).collect()
    } else {
        let n = options.points.max(2);
        let mut picked: BTreeSet<usize> = (0..n).map(|i| 1 + i * (calls - 1) / (n - 1)).collect();
        picked.insert(calls);
        picked.into_iter().collect()
    };
    let errnos: &[(i32, &str)] = if options.full { &ERRNOS } else { &ERRNOS[..1] };
    for (index, &k) in points.iter().enumerate() {
        for (j, &(errno, errno_name)) in errnos.iter().enumerate() {
            let (errno, errno_name) =
                if options.full { (errno, errno_name) } else { ERRNOS[(index + j) % ERRNOS.len()] };
            let label = format!("k={k} {errno_name}");
            let dir = prepare(op, scratch.path(), &format!("k{k}-{errno}"))?;
            let prepared = snapshot(&dir, None)?;
            let run = spawn(op, &dir, Some((shim, k, errno)), &report)?;
            let old = run.old.clone().unwrap_or(prepared);
            stats.runs += 1;
            let mut violation =
                |message: String| stats.violations.push(format!("{label}: {message}"));
            match run.outcome {
                Outcome::Crash | Outcome::Setup => {
                    violation(format!("the child did not return Ok or Err: {}", describe(&run)));
                    continue;
                }
                Outcome::Err if run.hit.is_none() => {
                    violation(format!("Err without an injected fault: {}", describe(&run)));
                }
                Outcome::Err => stats.errs += 1,
                Outcome::Ok if run.hit.is_some() => stats.oks += 1,
                Outcome::Ok => {}
            }
            ops::settle(&dir)?;
            let after = snapshot(&dir, Some(run.pid))?;
            for problem in old_or_new(&old, &new, &after, run.outcome == Outcome::Ok) {
                violation(format!("{problem} (fault: {})", run.hit.as_deref().unwrap_or("none")));
            }
            for temp in temps(&dir) {
                violation(format!("temporary file left: {}", temp.display()));
            }
            if run.outcome == Outcome::Err {
                let retry = spawn(op, &dir, None, &report)?;
                if retry.outcome != Outcome::Ok {
                    violation(format!(
                        "after {}, the operation run again without a fault fails: {}",
                        run.hit.as_deref().unwrap_or("?"),
                        describe(&retry)
                    ));
                } else {
                    // Every `Err` is safe to retry: the retry ends where one clean call does
                    // (no duplicate record, event, file or commit).
                    let after = snapshot(&dir, Some(retry.pid))?;
                    if after != new {
                        violation(format!(
                            "after a failure and a clean retry the directory is not one clean call's: {}",
                            diff(&new, &after)
                        ));
                    }
                }
                for temp in temps(&dir) {
                    violation(format!("temporary file left after the retry: {}", temp.display()));
                }
            }
            if let Some(problem) = git_fsck(&dir) {
                violation(problem);
            }
            let _ = fs::remove_dir_all(&dir);
        }
    }
    Ok(stats)
}
