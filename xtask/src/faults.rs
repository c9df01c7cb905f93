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
mod ops;

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    os::unix::{fs::PermissionsExt, process::ExitStatusExt},
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::atomic::{AtomicBool, Ordering},
    time::Instant,
};

use anyhow::{Context, Result, bail};

pub(crate) use self::ops::{CONTROLS, OPS, Op};

const ERRNOS: [(i32, &str); 3] = [(28, "ENOSPC"), (5, "EIO"), (13, "EACCES")];
/// Exit code of a child whose operation returned `Err`.
const EXIT_ERR: i32 = 3;
/// Exit code of a child whose setup (before arming) failed.
const EXIT_SETUP: i32 = 4;

static ARMED: AtomicBool = AtomicBool::new(false);
static CHILD_DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Arms the shim: from now on intercepted calls are counted (and the k-th fails). Without the
/// shim this is a failed `open` of a path that does not exist.
///
/// First the child records the directory as it is now (after its own setup, such as taking a
/// lock): that is the old version the parent compares with.
pub(crate) fn arm() {
    if let (Some(dir), Some(out)) = (CHILD_DIR.get(), std::env::var_os("DOTDIR_FAULT_OLD"))
        && let Ok(snap) = snapshot(dir, Some(std::process::id()))
    {
        let _ = serde_json::to_vec(&snap).map(|bytes| fs::write(out, bytes));
    }
    ARMED.store(true, Ordering::SeqCst);
    let _ = fs::File::open("/dotdir-fault/arm");
}

fn disarm() {
    let _ = fs::File::open("/dotdir-fault/disarm");
}

/// `xtask faults-child <op> <dir>`: runs one operation and reports through the exit code.
pub(crate) fn child(args: &[String]) -> Result<()> {
    let [name, dir] = args else { bail!("usage: xtask faults-child <op> <dir>") };
    let op = find(name)?;
    let _ = CHILD_DIR.set(PathBuf::from(dir));
    let result = (op.run)(Path::new(dir));
    disarm();
    match result {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            eprintln!("{name}: {e:#}");
            std::process::exit(if ARMED.load(Ordering::SeqCst) { EXIT_ERR } else { EXIT_SETUP })
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
    let shim = build_shim()?;
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

/// Builds the shim into `<target>/faults/` when its source changed.
pub(crate) fn build_shim() -> Result<PathBuf> {
    build_preload("faults", "libdotdir_faults.so", include_str!("faults/shim.c"))
}

/// Builds an `LD_PRELOAD` library from C `source` into `<target>/<dir>/<name>` when the source
/// changed since the last build.
pub(crate) fn build_preload(dir: &str, name: &str, source: &str) -> Result<PathBuf> {
    let dir = crate::fuzz::target_dir().join(dir);
    fs::create_dir_all(&dir)?;
    let library = dir.join(name);
    let built_from = library.with_extension("c");
    if library.exists() && fs::read_to_string(&built_from).is_ok_and(|s| s == source) {
        return Ok(library);
    }
    // Build under names of our own, then rename: concurrent runs never see a half-written file.
    let own_source = dir.join(format!("{name}-{}.c", std::process::id()));
    let own_library = dir.join(format!("{name}-{}", std::process::id()));
    fs::write(&own_source, source)?;
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let status = Command::new(&cc)
        .args(["-shared", "-fPIC", "-O2", "-Wall", "-o"])
        .arg(&own_library)
        .arg(&own_source)
        .arg("-ldl")
        .status()
        .with_context(|| format!("running {cc} to build {name}"))?;
    if !status.success() {
        bail!("{cc} failed to build {}", own_source.display());
    }
    fs::rename(&own_library, &library)?;
    fs::rename(&own_source, &built_from)?;
    Ok(library)
}

/// A scratch directory on tmpfs when there is one (fsync is cheap there; the injected errors are
/// the same).
pub(crate) fn scratch() -> Result<tempfile::TempDir> {
    let shm = Path::new("/dev/shm");
    let builder = {
        let mut b = tempfile::Builder::new();
        b.prefix("dotdir-faults-");
        b
    };
    Ok(if shm.is_dir() { builder.tempdir_in(shm)? } else { builder.tempdir()? })
}

struct Run {
    /// 0 Ok, 3 Err, anything else a violation.
    outcome: Outcome,
    hit: Option<String>,
    calls: Option<usize>,
    output: Output,
    pid: u32,
    /// The directory as the child saw it just before arming.
    old: Option<Snapshot>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    Err,
    Setup,
    Crash,
}

fn spawn(op: &Op, dir: &Path, shim: Option<(&Path, usize, i32)>, report: &Path) -> Result<Run> {
    let _ = fs::remove_file(report);
    let old = report.with_extension("old");
    let _ = fs::remove_file(&old);
    let exe = std::env::current_exe()?;
    let home = dir.join(".faults-home");
    let mut command = Command::new(exe);
    command
        .args(["faults-child", op.name])
        .arg(dir)
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", &home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("DOTDIR_FAULT_REPORT", report)
        .env("DOTDIR_FAULT_OLD", &old)
        .env_remove("LD_PRELOAD");
    if let Some((library, k, errno)) = shim {
        command
            .env("LD_PRELOAD", library)
            .env("DOTDIR_FAULT_K", k.to_string())
            .env("DOTDIR_FAULT_ERRNO", errno.to_string());
    }
    let child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    let pid = child.id();
    let output = child.wait_with_output()?;
    let outcome = match (output.status.code(), output.status.signal()) {
        (Some(0), _) => Outcome::Ok,
        (Some(EXIT_ERR), _) => Outcome::Err,
        (Some(EXIT_SETUP), _) => Outcome::Setup,
        _ => Outcome::Crash,
    };
    let lines = fs::read_to_string(report).unwrap_or_default();
    let hit = lines.lines().find(|l| l.starts_with("hit ")).map(str::to_owned);
    let calls =
        lines.lines().find_map(|l| l.strip_prefix("calls ")).and_then(|n| n.trim().parse().ok());
    let old = fs::read(&old).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
    Ok(Run { outcome, hit, calls, output, pid, old })
}

fn describe(run: &Run) -> String {
    format!(
        "exit {} ({:?}); stderr: {}",
        run.output.status,
        run.outcome,
        String::from_utf8_lossy(&run.output.stderr).trim()
    )
}

fn prepare(op: &Op, scratch: &Path, name: &str) -> Result<PathBuf> {
    let dir = scratch.join(name);
    fs::create_dir_all(&dir)?;
    (op.prepare)(&dir).with_context(|| format!("preparing {}", op.name))?;
    Ok(dir)
}

fn run_op(op: &Op, shim: &Path, options: &Options) -> Result<Stats> {
    let scratch = scratch()?;
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

/// Every file of the directory (path → mode and content), normalised: `.git/` is replaced by the
/// list of commit messages, lock sidecars (`*.lock`) and temporary files are left out, the
/// child's pid in pid records becomes `<PID>`, random ids and wall-clock times are masked.
pub(crate) type Snapshot = BTreeMap<String, String>;

pub(crate) fn snapshot(dir: &Path, pid: Option<u32>) -> Result<Snapshot> {
    let mut out = Snapshot::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = fs::read_dir(&current) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = path.strip_prefix(dir).unwrap_or(&path).to_string_lossy().into_owned();
            let meta = fs::symlink_metadata(&path)?;
            if name == ".git" && meta.is_dir() {
                out.insert(".git (commit messages)".to_owned(), mask(&git_log(dir)));
                continue;
            }
            if name == ".faults-home" || name.ends_with(".lock") || name.ends_with(".dotdir-tmp") {
                continue;
            }
            if meta.file_type().is_symlink() {
                let target = fs::read_link(&path)?;
                out.insert(mask(&rel), format!("symlink -> {}", target.display()));
            } else if meta.is_dir() {
                pending.push(path);
            } else {
                let content = String::from_utf8_lossy(&fs::read(&path)?).into_owned();
                if name.ends_with(".pid") && names_dead_process(&content, pid) {
                    // A record of a dead process other than the child is as good as none: the
                    // next starter reclaims it.
                    continue;
                }
                let content = normalise(&name, &content, pid);
                out.insert(
                    mask(&rel),
                    format!("mode {:o}: {content}", meta.permissions().mode() & 0o7777),
                );
            }
        }
    }
    Ok(out)
}

/// Whether a pid record's first line names a process that is not running (and is not `child`).
fn names_dead_process(content: &str, child: Option<u32>) -> bool {
    let first = content.lines().next().unwrap_or_default().trim();
    match first.parse::<u32>() {
        Ok(pid) if Some(pid) == child => false,
        Ok(pid) => !Path::new(&format!("/proc/{pid}")).exists(),
        Err(_) => false,
    }
}

fn normalise(name: &str, content: &str, pid: Option<u32>) -> String {
    let mut text = content.to_owned();
    if let Some(pid) = pid
        && name.ends_with(".pid")
    {
        text = text
            .split('\n')
            .map(|line| if line == pid.to_string() { "<PID>" } else { line })
            .collect::<Vec<_>>()
            .join("\n");
    }
    if name == "inquiries.json"
        && let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(&text)
    {
        let masked: Vec<String> = map.values().map(|v| format!("<key>: {v}")).collect();
        text = masked.join(", ");
    }
    mask(&text)
}

/// Masks what differs between two runs of the same operation: lowercase hex runs of 32 to 40
/// digits and standalone 8-digit ones (ids), RFC 3339 UTC times with milliseconds, and
/// millisecond epoch numbers.
fn mask(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes[i..]
            .iter()
            .take_while(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            .count();
        let standalone = (i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
            && bytes.get(i + hex).is_none_or(|b| !b.is_ascii_alphanumeric());
        if (32..=40).contains(&hex) && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric()) {
            out.push_str("<hex>");
            i += hex;
            continue;
        }
        if hex == 8 && standalone {
            // Random 8-hex ids (specs, inquiries).
            out.push_str("<id8>");
            i += hex;
            continue;
        }
        let digits = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 4 && is_utc_time(&bytes[i..]) {
            out.push_str("<time>");
            i += 24;
            continue;
        }
        if digits == 13 {
            out.push_str("<ms>");
            i += digits;
            continue;
        }
        let step = text[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&text[i..i + step]);
        i += step;
    }
    out
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn is_utc_time(b: &[u8]) -> bool {
    const SHAPE: &[u8] = b"dddd-dd-ddTdd:dd:dd.dddZ";
    b.len() >= SHAPE.len()
        && SHAPE.iter().zip(b).all(|(s, c)| if *s == b'd' { c.is_ascii_digit() } else { s == c })
}

fn git_log(dir: &Path) -> String {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["log", "--format=%s", "HEAD"])
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .map(|o| {
            if o.status.success() {
                String::from_utf8_lossy(&o.stdout).into_owned()
            } else {
                String::new()
            }
        })
        .unwrap_or_default()
}

/// `git fsck` of the directory's repository, when there is one and git is installed.
fn git_fsck(dir: &Path) -> Option<String> {
    if !dir.join(".git").is_dir() {
        return None;
    }
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["fsck", "--no-progress", "--no-dangling"])
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .ok()?;
    (!output.status.success()).then(|| {
        format!(
            "git fsck failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// Each component of `after` must be its old or its new version; after `Ok`, the new one.
fn old_or_new(old: &Snapshot, new: &Snapshot, after: &Snapshot, ok: bool) -> Vec<String> {
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).chain(after.keys()).collect();
    let mut problems = Vec::new();
    for key in keys {
        let (o, n, a) = (old.get(key), new.get(key), after.get(key));
        if ok && a != n {
            problems.push(format!("Ok returned but {key} is not the new version: {}", show(a)));
        } else if a != o && a != n {
            problems.push(format!(
                "{key} is neither old nor new: {} (old {}, new {})",
                show(a),
                show(o),
                show(n)
            ));
        }
    }
    problems
}

fn show(v: Option<&String>) -> String {
    match v {
        None => "absent".to_owned(),
        Some(s) if s.len() > 160 => format!("{:?}…", &s[..s.floor_char_boundary(160)]),
        Some(s) => format!("{s:?}"),
    }
}

fn diff(a: &Snapshot, b: &Snapshot) -> String {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| format!("{k}: {} vs {}", show(a.get(k)), show(b.get(k))))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Temporary files of ours anywhere under `dir`.
pub(crate) fn temps(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = fs::read_dir(&current) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(path);
            } else if entry.file_name().to_string_lossy().ends_with(".dotdir-tmp") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}
