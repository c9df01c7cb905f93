//! `cargo xtask hostile [--full]`: the hostile-input corpus and symlinks planted at every path a
//! write operation touches.
//!
//! **Inputs.** Each case of `xtask/corpus/hostile/` (YAML bombs, invalid UTF-8, duplicate keys,
//! tags, NaN) and each generated one (10 MB newline-free lines, 100,000-deep JSON and YAML
//! nesting, a 10 MB scalar, 100,000 keys) is fed, in a child process (`xtask hostile-child`), to
//! the parser that would meet it: the front-matter parser and a spec-directory listing, the
//! lenient and strict JSONL readers, the facade's typed state-file readers, the pid-record probe.
//! Each must reject it (a typed `Err`, or a reported problem for the lenient readers) within one
//! second, and the child's peak RSS (`VmHWM`) may grow by at most 64 MiB while it parses.
//!
//! **Symlinks.** For every write operation of `cargo xtask faults`, a fault-free run shows which
//! files and directories it creates or changes (lock sidecars and `.git/` included). Then, one at
//! a time, each of those files is replaced by a symlink to a file outside the data directory (a
//! canary that exists, or one that does not yet), and each directory the operation writes into
//! by a symlink to a canary directory; the operation runs again and the canary must be
//! unchanged: no write lands outside the data directory. The operation may fail (`Err`) but must
//! not crash.

use std::{
    fs,
    os::unix::fs::symlink,
    path::{Path, PathBuf},
    time::Instant,
};

use anyhow::{Context, Result, bail};
use dotdir::{
    frontmatter::{self, SpecDir},
    jsonl_log::Log,
    ollim,
};
use serde_json::Value;

use crate::harness::{
    child::{self, Outcome, describe, spawn},
    ops::{CONTROLS, OPS, Op, prepare},
    scratch::tmpfs,
    snapshot::{diff, snapshot, temps},
};

/// The most a parse may raise the peak RSS.
const RSS_BUDGET_KIB: u64 = 64 * 1024;
/// The slowest a rejection may be.
const TIME_BUDGET_MS: f64 = 1000.0;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Consumer {
    Spec,
    Jsonl,
    State,
    Budget,
    Pid,
}

impl Consumer {
    fn name(self) -> &'static str {
        match self {
            Consumer::Spec => "spec",
            Consumer::Jsonl => "jsonl",
            Consumer::State => "state",
            Consumer::Budget => "budget",
            Consumer::Pid => "pid",
        }
    }

    fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "spec" => Consumer::Spec,
            "jsonl" => Consumer::Jsonl,
            "state" => Consumer::State,
            "budget" => Consumer::Budget,
            "pid" => Consumer::Pid,
            other => bail!("no consumer {other}"),
        })
    }
}

/// Whether the case must be refused, or only survived (parsed or refused, no harm).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    Reject,
    Survive,
}

struct Case {
    name: &'static str,
    consumer: Consumer,
    expect: Expect,
    bytes: fn() -> Vec<u8>,
}

fn corpus(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/hostile").join(name);
    fs::read(&path)
        .unwrap_or_else(|e| format!("missing corpus file {}: {e}", path.display()).into_bytes())
}

const SPEC_HEAD: &str = "---\nid: \"a1b2c3d4\"\ncron: \"* * * * *\"\n";
const TEN_MB: usize = 10 << 20;

fn cases() -> Vec<Case> {
    use Consumer::*;
    use Expect::*;
    macro_rules! file {
        ($name:literal, $consumer:expr, $expect:expr) => {
            Case { name: $name, consumer: $consumer, expect: $expect, bytes: || corpus($name) }
        };
    }
    vec![
        file!("billion-laughs-6.md", Spec, Reject),
        file!("billion-laughs-9.md", Spec, Reject),
        file!("billion-laughs-in-description.md", Spec, Reject),
        file!("merge-key-bomb.md", Spec, Reject),
        file!("invalid-utf8.md", Spec, Reject),
        file!("duplicate-keys.md", Spec, Reject),
        file!("python-tag.md", Spec, Survive),
        file!("yaml-directive.md", Spec, Survive),
        Case {
            name: "yaml-flow-nesting-100k.md (generated)",
            consumer: Spec,
            expect: Reject,
            bytes: || {
                format!("{SPEC_HEAD}x: {}{}\n---\nbody\n", "[".repeat(100_000), "]".repeat(100_000))
                    .into_bytes()
            },
        },
        Case {
            name: "yaml-flow-nesting-10k.md (generated, under the size cap)",
            consumer: Spec,
            expect: Reject,
            bytes: || {
                format!("{SPEC_HEAD}x: {}{}\n---\nbody\n", "[".repeat(10_000), "]".repeat(10_000))
                    .into_bytes()
            },
        },
        Case {
            name: "yaml-block-nesting-300.md (generated)",
            consumer: Spec,
            expect: Reject,
            bytes: || {
                let mut s = SPEC_HEAD.to_owned();
                for depth in 0..300 {
                    s.push_str(&" ".repeat(depth));
                    s.push_str("k:\n");
                }
                s.push_str("---\nbody\n");
                s.into_bytes()
            },
        },
        Case {
            name: "yaml-10mb-scalar.md (generated)",
            consumer: Spec,
            expect: Reject,
            bytes: || {
                format!("{SPEC_HEAD}description: \"{}\"\n---\nbody\n", "x".repeat(TEN_MB))
                    .into_bytes()
            },
        },
        Case {
            name: "yaml-100k-keys.md (generated)",
            consumer: Spec,
            expect: Reject,
            bytes: || {
                let mut s = SPEC_HEAD.to_owned();
                for i in 0..100_000 {
                    s.push_str(&format!("k{i}: {i}\n"));
                }
                s.push_str("---\nbody\n");
                s.into_bytes()
            },
        },
        Case {
            name: "body-10mb-no-newline.md (generated)",
            consumer: Spec,
            expect: Reject,
            bytes: || format!("{SPEC_HEAD}---\n{}", "y".repeat(TEN_MB)).into_bytes(),
        },
        file!("invalid-utf8.jsonl", Jsonl, Reject),
        file!("nul-bytes.jsonl", Jsonl, Reject),
        Case {
            name: "jsonl-10mb-no-newline (generated)",
            consumer: Jsonl,
            expect: Reject,
            bytes: || format!("{{\"a\": \"{}", "z".repeat(TEN_MB)).into_bytes(),
        },
        Case {
            name: "jsonl-10mb-record (generated)",
            consumer: Jsonl,
            expect: Reject,
            bytes: || format!("{{\"a\": \"{}\"}}\n", "z".repeat(TEN_MB)).into_bytes(),
        },
        Case {
            name: "jsonl-nesting-100k (generated)",
            consumer: Jsonl,
            expect: Reject,
            bytes: || format!("{}{}\n", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
        },
        file!("invalid-utf8.json", State, Reject),
        file!("trailing-garbage.json", State, Reject),
        Case {
            name: "json-nesting-100k (generated)",
            consumer: State,
            expect: Reject,
            bytes: || format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
        },
        Case {
            name: "json-10mb (generated, under the 16 MiB document cap)",
            consumer: State,
            expect: Survive,
            bytes: || format!("{{\"model_main\": \"{}\"}}", "m".repeat(TEN_MB)).into_bytes(),
        },
        Case {
            name: "json-20mb (generated, over the document cap)",
            consumer: State,
            expect: Reject,
            bytes: || format!("{{\"model_main\": \"{}\"}}", "m".repeat(2 * TEN_MB)).into_bytes(),
        },
        file!("nan-budget.json", Budget, Reject),
        file!("huge-number-budget.json", Budget, Reject),
        Case {
            name: "budget-nesting-100k (generated)",
            consumer: Budget,
            expect: Reject,
            bytes: || {
                format!("{{\"capacity\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000))
                    .into_bytes()
            },
        },
        Case {
            name: "pid-10mb-digits (generated)",
            consumer: Pid,
            expect: Reject,
            bytes: || "9".repeat(TEN_MB).into_bytes(),
        },
        Case {
            name: "pid-10mb-no-newline-garbage (generated)",
            consumer: Pid,
            expect: Reject,
            bytes: || "\u{feff}1\0".repeat(TEN_MB / 5).into_bytes(),
        },
    ]
}

/// What a child measured.
#[derive(Debug)]
struct Measured {
    rejected: bool,
    detail: String,
    ms: f64,
    rss_growth_kib: u64,
}

/// `cargo xtask hostile`.
pub(crate) fn run(full: bool) -> Result<()> {
    let started = Instant::now();
    let mut violations = Vec::new();
    inputs(&mut violations)?;
    symlinks(full, &mut violations)?;
    super::hostile_fs::run(&mut violations)?;
    if !violations.is_empty() {
        for v in &violations {
            eprintln!("  VIOLATION {v}");
        }
        bail!("hostile: {} violations", violations.len());
    }
    println!("hostile: done in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn inputs(violations: &mut Vec<String>) -> Result<()> {
    let scratch = tmpfs()?;
    let mut slowest = 0.0f64;
    let mut most_rss = 0u64;
    let all = cases();
    let mut rejected = 0;
    for case in &all {
        let dir = scratch.path().join(format!("case-{}", rejected + violations.len()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir)?;
        let file = place(&dir, case.consumer, &(case.bytes)())?;
        let output = child::xtask("hostile-child")?
            .arg(case.consumer.name())
            .arg(&dir)
            .arg(&file)
            // A home of its own beside the case (the data directory is never the home).
            .env("HOME", scratch.path())
            .output()?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let Some(measured) = stdout.lines().find_map(parse_measured) else {
            violations.push(format!(
                "{}: the child did not finish normally ({}): {}",
                case.name,
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
            continue;
        };
        println!(
            "hostile {:<58} {:<6} {:>8.1} ms  +{:>6} KiB  {}",
            case.name,
            case.consumer.name(),
            measured.ms,
            measured.rss_growth_kib,
            measured.detail
        );
        slowest = slowest.max(measured.ms);
        most_rss = most_rss.max(measured.rss_growth_kib);
        if case.expect == Expect::Reject && !measured.rejected {
            violations.push(format!("{}: accepted ({})", case.name, measured.detail));
        } else {
            rejected += 1;
        }
        if measured.ms > TIME_BUDGET_MS {
            violations.push(format!("{}: took {:.0} ms", case.name, measured.ms));
        }
        if measured.rss_growth_kib > RSS_BUDGET_KIB {
            violations
                .push(format!("{}: peak RSS grew by {} KiB", case.name, measured.rss_growth_kib));
        }
        let _ = fs::remove_dir_all(&dir);
    }
    println!(
        "hostile: {} inputs, {} handled as expected, slowest {:.1} ms, peak RSS growth {} KiB (budget {} ms, {} KiB)",
        all.len(),
        rejected,
        slowest,
        most_rss,
        TIME_BUDGET_MS,
        RSS_BUDGET_KIB
    );
    Ok(())
}

/// Puts the input where its consumer looks for it; returns the file.
fn place(dir: &Path, consumer: Consumer, bytes: &[u8]) -> Result<PathBuf> {
    let file = match consumer {
        Consumer::Spec => dir.join("routines/hostile.md"),
        Consumer::Jsonl => dir.join("state/session_history.jsonl"),
        Consumer::State => dir.join("state/config.json"),
        Consumer::Budget => dir.join("state/ping_budget.json"),
        Consumer::Pid => dir.join("state/bot.pid"),
    };
    if let Some(parent) = file.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(&file, bytes)?;
    Ok(file)
}

fn parse_measured(line: &str) -> Option<Measured> {
    let value: Value = serde_json::from_str(line.strip_prefix("measured ")?).ok()?;
    Some(Measured {
        rejected: value["rejected"].as_bool()?,
        detail: value["detail"].as_str()?.to_owned(),
        ms: value["ms"].as_f64()?,
        rss_growth_kib: value["rss_growth_kib"].as_u64()?,
    })
}

fn vm_hwm_kib() -> u64 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// `xtask hostile-child <consumer> <data dir> <file>`: parses and prints one `measured {json}`.
pub(crate) fn child(args: &[String]) -> Result<()> {
    if let Some(done) = super::hostile_fs::child(args) {
        return done;
    }
    let [consumer, dir, file] = args else {
        bail!("usage: xtask hostile-child <consumer> <dir> <file>")
    };
    let consumer = Consumer::parse(consumer)?;
    let (dir, file) = (Path::new(dir), Path::new(file));
    // The spec parser takes bytes: reading them is not part of what is measured.
    let bytes = if consumer == Consumer::Spec { fs::read(file)? } else { Vec::new() };
    let before = vm_hwm_kib();
    let started = Instant::now();
    let (rejected, detail) = consume(consumer, dir, file, &bytes)?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    let growth = vm_hwm_kib().saturating_sub(before);
    let detail: String = detail.chars().take(100).collect();
    println!(
        "measured {}",
        serde_json::json!({"rejected": rejected, "detail": detail, "ms": ms, "rss_growth_kib": growth})
    );
    Ok(())
}

fn consume(consumer: Consumer, dir: &Path, file: &Path, bytes: &[u8]) -> Result<(bool, String)> {
    Ok(match consumer {
        Consumer::Spec => {
            let parsed = frontmatter::parse::<ollim::Routine>(bytes);
            let specs = SpecDir::<ollim::Routine>::new(file.parent().context("spec dir")?);
            let listing = specs.list().context("a listing must survive a hostile file")?;
            let listed = !listing.entries.is_empty();
            match parsed {
                Err(e) if !listed => (true, format!("Err: {e}")),
                Err(e) => (false, format!("parse refused ({e}) but the listing has an entry")),
                Ok(_) => (false, "parsed".to_owned()),
            }
        }
        Consumer::Jsonl => {
            let log: Log<Value> = Log::new(file);
            let lenient = log.read().context("the lenient reader must not fail on content")?;
            let strict = log.read_strict();
            let kinds: Vec<String> =
                lenient.problems.iter().map(|p| format!("{:?}", p.kind)).collect();
            let rejected = lenient.records.is_empty() && !lenient.problems.is_empty();
            let strict_note = match &strict {
                Ok(scan) if scan.torn_tail().is_some() => "strict: torn tail reported".to_owned(),
                Ok(_) => "strict: Ok".to_owned(),
                Err(e) => format!("strict Err: {e}"),
            };
            let detail: String = kinds.join(",").chars().take(60).collect();
            (rejected, format!("lenient problems [{detail}]; {strict_note}"))
        }
        Consumer::State | Consumer::Budget => {
            let data = ollim::DataDir::open(
                dir,
                ollim::Options::new().track_in_git(false).time_zone(jiff::tz::TimeZone::UTC),
            )?;
            let result = if consumer == Consumer::State {
                data.config().map(|_| ()).map_err(|e| e.to_string())
            } else {
                data.ping_budget().full_status().map(|_| ()).map_err(|e| e.to_string())
            };
            match result {
                Err(e) => (true, format!("Err: {e}")),
                Ok(()) => (false, "accepted".to_owned()),
            }
        }
        Consumer::Pid => match dotdir::pidlock::probe(file) {
            Err(e) => (true, format!("Err: {e}")),
            Ok(Some(holder)) if holder.pid.is_none() => {
                (true, "probe: corrupt record, no pid".to_owned())
            }
            Ok(None) => (true, "probe: no holder (the corrupt record is not one)".to_owned()),
            Ok(other) => (false, format!("probe: {other:?}")),
        },
    })
}

// ---- symlinks --------------------------------------------------------------------------------

/// Whether an entry is a directory, and its inode, mtime (seconds, nanoseconds) and size.
type Version = (bool, u64, i64, i64, u64);

/// The entries of a directory tree with what identifies their current version.
fn tree(dir: &Path) -> Result<std::collections::BTreeMap<PathBuf, Version>> {
    use std::os::unix::fs::MetadataExt;
    let mut out = std::collections::BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = fs::read_dir(&current) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let meta = fs::symlink_metadata(&path)?;
            let rel = path.strip_prefix(dir)?.to_path_buf();
            if rel.starts_with(".faults-home") {
                continue;
            }
            if meta.is_dir() {
                pending.push(path);
            }
            out.insert(
                rel,
                (meta.is_dir(), meta.ino(), meta.mtime(), meta.mtime_nsec(), meta.size()),
            );
        }
    }
    Ok(out)
}

/// The files and directories `op` creates or changes, relative to the data directory.
fn written_paths(op: &Op, scratch: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let dir = prepare(op, scratch, "written")?;
    let before = tree(&dir)?;
    let report = scratch.join("report");
    let run = spawn(op, &dir, None, &report)?;
    if run.outcome != Outcome::Ok {
        bail!("{} fails without a planted symlink: {}", op.name, describe(&run));
    }
    let after = tree(&dir)?;
    let mut files = Vec::new();
    let mut dirs = std::collections::BTreeSet::new();
    for (path, meta) in &after {
        let is_dir = meta.0;
        let changed = before.get(path) != Some(meta);
        if !changed
            || path.file_name().is_some_and(|n| n.to_string_lossy().ends_with(".dotdir-tmp"))
        {
            continue;
        }
        if is_dir {
            if !before.contains_key(path) {
                dirs.insert(path.clone());
            }
        } else {
            files.push(path.clone());
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                dirs.insert(parent.to_path_buf());
            }
        }
    }
    // Only the outermost directories: planting one replaces everything under it.
    let dirs: Vec<PathBuf> = dirs
        .iter()
        .filter(|d| !dirs.iter().any(|o| o != *d && d.starts_with(o)))
        .cloned()
        .collect();
    fs::remove_dir_all(&dir)?;
    Ok((files, dirs))
}

#[derive(Default)]
struct Tally {
    plants: usize,
    escapes: usize,
    errs: usize,
    known: usize,
}

fn symlinks(full: bool, violations: &mut Vec<String>) -> Result<()> {
    let scratch = tmpfs()?;
    let canary = scratch.path().join("canary");
    let mut files_tally = Tally::default();
    let mut dirs_tally = Tally::default();
    let mut dir_escapes = Vec::new();
    let started = Instant::now();
    for op in OPS {
        let (files, dirs) = written_paths(op, scratch.path())
            .with_context(|| format!("written paths of {}", op.name))?;
        for (index, rel) in files.iter().enumerate() {
            let variants: &[bool] = if full {
                &[true, false]
            } else if index % 2 == 0 {
                &[true]
            } else {
                &[false]
            };
            for &existing in variants {
                let outcome = plant(op, scratch.path(), &canary, rel, false, existing)?;
                files_tally.plants += 1;
                files_tally.errs += usize::from(outcome.err);
                if let Some(problem) = outcome.problem {
                    let message = format!("symlink at {}: {problem}", rel.display());
                    if super::known(op.name, &message) {
                        files_tally.known += 1;
                        println!("  known {}: {message}", op.name);
                    } else {
                        files_tally.escapes += 1;
                        violations.push(format!("{}: {message}", op.name));
                    }
                }
            }
        }
        for rel in &dirs {
            let outcome = plant(op, scratch.path(), &canary, rel, true, true)?;
            dirs_tally.plants += 1;
            dirs_tally.errs += usize::from(outcome.err);
            if let Some(problem) = outcome.problem {
                dirs_tally.escapes += 1;
                dir_escapes.push(format!("{}: {}/ -> outside: {problem}", op.name, rel.display()));
            }
        }
    }
    for e in &dir_escapes {
        println!("  directory symlink followed: {e}");
    }
    println!(
        "hostile: symlinks planted at {} written files in {} operations: {} refused with Err, {} writes outside the data \
         directory ({} more known, xtask/corpus/faults-known.txt)",
        files_tally.plants,
        OPS.len(),
        files_tally.errs,
        files_tally.escapes,
        files_tally.known
    );
    println!(
        "hostile: directories replaced by symlinks: {} plants, {} refused with Err, {} followed outside (reported, not enforced: \
         a symlinked directory inside the data directory is followed, as documented)",
        dirs_tally.plants, dirs_tally.errs, dirs_tally.escapes
    );
    for control in CONTROLS {
        let (files, _) = written_paths(control, scratch.path())?;
        let mut escapes = 0;
        for rel in &files {
            for existing in [true, false] {
                escapes += usize::from(
                    plant(control, scratch.path(), &canary, rel, false, existing)?
                        .problem
                        .is_some(),
                );
            }
        }
        println!(
            "hostile: negative control {}: {escapes} writes outside found (must be > 0)",
            control.name
        );
        if escapes == 0 {
            violations.push(format!("{}: the negative control found no escape", control.name));
        }
    }
    println!("hostile: symlink phase took {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

struct Planted {
    err: bool,
    problem: Option<String>,
}

/// Prepares a fresh directory, replaces `rel` with a symlink into a fresh canary directory, runs
/// the operation, and checks the canary.
fn plant(
    op: &Op,
    scratch: &Path,
    canary_root: &Path,
    rel: &Path,
    is_dir: bool,
    existing: bool,
) -> Result<Planted> {
    let dir = prepare(op, scratch, "plant")?;
    let _ = fs::remove_dir_all(canary_root);
    fs::create_dir_all(canary_root.join("dir"))?;
    fs::write(canary_root.join("file"), "canary\n")?;
    fs::write(canary_root.join("dir/inside"), "canary\n")?;
    let target = match (is_dir, existing) {
        (true, _) => canary_root.join("dir"),
        (false, true) => canary_root.join("file"),
        (false, false) => canary_root.join("missing"),
    };
    let path = dir.join(rel);
    if let Ok(meta) = fs::symlink_metadata(&path) {
        if meta.is_dir() {
            fs::remove_dir_all(&path)?;
        } else {
            fs::remove_file(&path)?;
        }
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    symlink(&target, &path)?;
    let canary_before = snapshot(canary_root, None)?;
    let report = scratch.join("report");
    let run = spawn(op, &dir, None, &report)?;
    let canary_after = snapshot(canary_root, None)?;
    let mut problem = None;
    if canary_after != canary_before {
        problem = Some(format!(
            "the canary outside the data directory changed: {}",
            diff(&canary_before, &canary_after)
        ));
    } else if run.outcome == Outcome::Crash {
        problem = Some(format!("the operation did not return Ok or Err: {}", describe(&run)));
    } else if let Some(temp) = temps(&dir).first() {
        problem = Some(format!("temporary file left: {}", temp.display()));
    }
    fs::remove_dir_all(&dir)?;
    // A setup that refuses the planted symlink (opening a lock before the operation) is a refusal.
    Ok(Planted { err: matches!(run.outcome, Outcome::Err | Outcome::Setup), problem })
}
