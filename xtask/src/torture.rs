//! `cargo xtask torture [--kills N] [--seconds S] [--layout ollim|omicos|both]`: a child works
//! on a data directory through the facade and reports each operation after the API returns; the
//! parent SIGKILLs it at random moments and verifies every invariant. Both layouts by default,
//! `N` kills each.
//!
//! **ollim-bot**: a random mix of document updates, session events, routine saves and removals,
//! budget grants and instance locks. After each kill the parent runs recovery
//! (`dotdir::check::fix`) and checks:
//!
//! - each document parses and is a version that was written (a counter: never below the last
//!   acknowledged value, at most one above it);
//! - no acknowledged append (session history), spec write or removal (routines), commit (HEAD's
//!   tree) or grant (ping budget) is lost;
//! - logs parse after repair; no temp file is left after recovery; the instance lock is free;
//!   no tracked file is left uncommitted (`git status` is clean);
//! - `git fsck` is clean (every 50 kills and at the end); recovery is idempotent (a second `fix`
//!   repairs nothing).
//!
//! **omicos**: account switching between four accounts with a random next actor after each kill
//! (module [`accounts`]).
//!
//! Each layout ends with `torture <layout>: <kills> kills, <ops> acknowledged operations checked,
//! <violations> violations`; any violation fails the run.

use dotdir_test_support::try_git;
use std::{
    collections::{BTreeMap, BTreeSet},
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use dotdir::{
    atomic_store::{Document, JsonStyle},
    check,
    ollim::{self, DataDir, Options, Routine, SessionEventKind},
};

mod accounts;

const COUNTER: &str = "state/torture-counter.json";
const BUDGET_CAPACITY: u32 = 1_000_000;

/// What the parent knows was acknowledged.
#[derive(Debug, Default)]
struct Acknowledged {
    counter: u64,
    sessions: BTreeSet<String>,
    routines: BTreeMap<String, String>,
    removed: BTreeSet<String>,
    grants: u64,
    ops: u64,
}

/// Which data directories `cargo xtask torture` works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Layout {
    /// ollim-bot's.
    Ollim,
    /// omicos's (account switching).
    Omicos,
    /// Both, one after the other.
    Both,
}

/// `cargo xtask torture`: `kills` per layout, each layout stopped after `seconds` if given.
pub(crate) fn run(kills: usize, seconds: Option<u64>, layout: Layout) -> Result<()> {
    let (ollim, omicos) = match layout {
        Layout::Ollim => (true, false),
        Layout::Omicos => (false, true),
        Layout::Both => (true, true),
    };
    let work = std::env::temp_dir().join(format!("dotdir-torture-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let deadline = || seconds.map(|s| Instant::now() + Duration::from_secs(s));
    if ollim {
        run_ollim(&work.join("ollim-bot"), kills, deadline())?;
    }
    if omicos {
        run_omicos(&work.join("omicos"), kills, deadline())?;
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}

fn run_omicos(root: &Path, kills: usize, deadline: Option<Instant>) -> Result<()> {
    std::fs::create_dir_all(root)?;
    let mut model = accounts::Model::default();
    let mut violations = Vec::new();
    let mut done = 0;
    while done < kills && deadline.is_none_or(|d| Instant::now() < d) {
        let lines = run_child_until_killed("omicos", root, done, fastrand::u64(..))?;
        let found = model.apply(&lines);
        accounts::verify_files(root, &mut violations);
        done += 1;
        if !found.is_empty() {
            println!("kill {done}: {}", found.join("; "));
            println!("last acknowledgements: {:?}", lines.iter().rev().take(8).collect::<Vec<_>>());
            violations.extend(found);
            break;
        }
        if done % 250 == 0 {
            println!("torture omicos: {done} kills, {} operations acknowledged so far", model.ops);
        }
    }
    model.verify_end(root, &mut violations)?;
    report("omicos", root, done, model.ops, &violations)
}

fn report(layout: &str, root: &Path, kills: usize, ops: u64, violations: &[String]) -> Result<()> {
    for v in violations.iter().take(20) {
        println!("violation: {v}");
    }
    println!(
        "torture {layout}: {kills} kills, {ops} acknowledged operations checked, {} violations",
        violations.len()
    );
    if !violations.is_empty() {
        bail!(
            "torture found {} violations; the data directory is kept in {}",
            violations.len(),
            root.display()
        );
    }
    Ok(())
}

fn run_ollim(root: &Path, kills: usize, deadline: Option<Instant>) -> Result<()> {
    std::fs::create_dir_all(root)?;
    let root = root.to_path_buf();
    let mut acked = Acknowledged::default();
    let mut violations = Vec::new();
    let mut done = 0;
    while done < kills && deadline.is_none_or(|d| Instant::now() < d) {
        let lines = run_child_until_killed("ollim", &root, done, fastrand::u64(..))?;
        for line in &lines {
            apply_ack(&mut acked, line);
        }
        // A removal that started but was not acknowledged may or may not have happened.
        if let Some(id) = lines.last().and_then(|l| l.strip_prefix("TRY remove ")) {
            acked.routines.remove(id);
        }
        done += 1;
        let before = violations.len();
        verify(&root, &acked, done % 50 == 0, &mut violations).with_context(|| {
            format!("after kill {done}; the data directory is kept in {}", root.display())
        })?;
        if violations.len() > before {
            println!("kill {done}: {}", violations[before..].join("; "));
            println!("last acknowledgements: {:?}", lines.iter().rev().take(5).collect::<Vec<_>>());
            break;
        }
        // An increment the killed child made but could not acknowledge is durable now: it is
        // the floor from here on (two such kills in a row are not a lost update).
        if let Ok(Some(value)) = Document::<u64>::new(root.join(COUNTER)).read() {
            acked.counter = acked.counter.max(value);
        }
        if done % 100 == 0 {
            println!("torture ollim: {done} kills, {} operations acknowledged so far", acked.ops);
        }
    }
    verify(&root, &acked, true, &mut violations)?;
    report("ollim", &root, done, acked.ops, &violations)
}

fn options() -> Options {
    Options::new().time_zone(jiff::tz::TimeZone::UTC)
}

/// Starts a child, lets it work for a random while and SIGKILLs it; returns its acknowledgements.
fn run_child_until_killed(
    layout: &str,
    root: &Path,
    round: usize,
    seed: u64,
) -> Result<Vec<String>> {
    let mut child = crate::harness::child::xtask("torture-child")?
        .args([layout, &root.display().to_string(), &round.to_string(), &seed.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting the torture child")?;
    let stdout = child.stdout.take().context("child stdout")?;
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout).lines().map_while(Result::ok).collect::<Vec<_>>()
    });
    // Mostly mid-operation, sometimes during start-up (open and its recovery).
    let delay = if fastrand::u8(..5) == 0 { fastrand::u64(0..15) } else { fastrand::u64(20..90) };
    std::thread::sleep(Duration::from_millis(delay));
    let _ = child.kill();
    let status = child.wait()?;
    let lines = reader.join().map_err(|_| anyhow::anyhow!("reader thread panicked"))?;
    if status.success() || status.code().is_some() {
        let mut stderr = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
        }
        bail!("the torture child exited by itself ({status}) instead of being killed: {stderr}");
    }
    Ok(lines)
}

fn apply_ack(acked: &mut Acknowledged, line: &str) {
    let mut words = line.split_whitespace();
    let (Some("ACK"), Some(kind)) = (words.next(), words.next()) else { return };
    let arg = words.next().unwrap_or_default().to_owned();
    acked.ops += 1;
    match kind {
        "counter" => acked.counter = arg.parse().unwrap_or(acked.counter),
        "append" => {
            acked.sessions.insert(arg);
        }
        "save" => {
            let file = words.next().unwrap_or_default().to_owned();
            acked.routines.insert(arg, file);
        }
        "remove" => {
            acked.routines.remove(&arg);
            acked.removed.insert(arg);
        }
        "grant" => acked.grants += 1,
        _ => {}
    }
}

/// The child: open the data directory, then operate until killed.
pub(crate) fn child(args: &[String]) -> Result<()> {
    let [layout, root, round, seed] = args else {
        bail!("usage: torture-child LAYOUT ROOT ROUND SEED")
    };
    let root = PathBuf::from(root);
    let round: u64 = round.parse()?;
    fastrand::seed(seed.parse()?);
    if layout == "omicos" {
        return accounts::child(&root);
    }
    let dir = DataDir::open(&root, options())?;
    let counter: Document<u64> = Document::open(root.join(COUNTER))?.style(JsonStyle::Python);
    let budget = dir.ping_budget();
    budget.set_capacity(BUDGET_CAPACITY)?;
    let mut saved_here: Vec<String> = Vec::new();
    for n in 0.. {
        let tag = format!("r{round}n{n}");
        match fastrand::u8(..6) {
            0 => {
                let value = counter.update(|v| {
                    *v += 1;
                    *v
                })?;
                ack(&format!("counter {value}"));
            }
            1 => {
                let _ = dir.log_session_event(SessionEventKind::Created, &tag, None)?;
                ack(&format!("append {tag}"));
            }
            2 => {
                let routine = Routine::new("0 9 * * *", &format!("torture routine {tag}"));
                let path = dir.save_routine(&routine)?;
                let relative = path.strip_prefix(&root).unwrap_or(&path).display().to_string();
                ack(&format!("save {} {relative}", routine.id));
                saved_here.push(routine.id);
            }
            3 if !saved_here.is_empty() => {
                let id = saved_here.swap_remove(fastrand::usize(..saved_here.len()));
                // Announced first: if the kill lands inside the removal, it may have happened.
                ack_line(&format!("TRY remove {id}"));
                let _ = dir.remove_routine(&id)?;
                ack(&format!("remove {id}"));
            }
            4 => {
                if budget.try_use()? {
                    ack("grant -");
                }
            }
            _ => {
                let guard = dir.lock_instance()?;
                guard.release()?;
                ack("lock -");
            }
        }
    }
    Ok(())
}

fn ack(line: &str) {
    ack_line(&format!("ACK {line}"));
}

#[expect(clippy::print_stdout, reason = "the acknowledgement protocol is the child's stdout")]
fn ack_line(line: &str) {
    println!("{line}");
}

fn verify(
    root: &Path,
    acked: &Acknowledged,
    fsck: bool,
    violations: &mut Vec<String>,
) -> Result<()> {
    let check_options = check::Options::default().program("xtask").report_unknown(false);
    let first = check::fix(root, &ollim::LAYOUT, &check_options)?;
    for failure in &first.failures {
        violations.push(format!(
            "recovery failed: {} {}: {}",
            failure.kind.as_str(),
            failure.path,
            failure.error
        ));
    }
    let second = check::fix(root, &ollim::LAYOUT, &check_options)?;
    if !second.repairs.is_empty() {
        violations
            .push(format!("recovery is not idempotent: a second fix made {:?}", second.repairs));
    }
    let leftover_temps =
        walk(root).into_iter().filter(|p| p.to_string_lossy().ends_with(".dotdir-tmp")).count();
    if leftover_temps > 0 {
        violations.push(format!("{leftover_temps} temp files left after recovery"));
    }
    // Everything the layout tracks is committed: no modified, deleted or untracked file that
    // git does not ignore.
    if root.join(".git").exists() {
        let dirty = try_git(root, &["status", "--porcelain", "--untracked-files=all"])?;
        let dirty: Vec<&str> = dirty.lines().collect();
        if !dirty.is_empty() {
            violations.push(format!(
                "{} files uncommitted after recovery: {:?}",
                dirty.len(),
                &dirty[..dirty.len().min(5)]
            ));
        }
    }

    let dir = DataDir::open(root, options())?;
    match Document::<u64>::new(root.join(COUNTER)).read() {
        Ok(value) => {
            let value = value.unwrap_or(0);
            if value < acked.counter || value > acked.counter + 1 {
                violations.push(format!("counter is {value}, acknowledged {}", acked.counter));
            }
        }
        Err(e) => violations.push(format!("counter does not parse: {e}")),
    }

    let history = dir.session_history()?;
    if !history.problems.is_empty() {
        violations
            .push(format!("session history has {} bad lines after repair", history.problems.len()));
    }
    let logged: BTreeSet<&str> = history.events.iter().map(|e| e.session_id.as_str()).collect();
    let lost_appends = acked.sessions.iter().filter(|s| !logged.contains(s.as_str())).count();
    if lost_appends > 0 {
        violations.push(format!("{lost_appends} acknowledged appends lost"));
    }

    let listing = dir.list_routines()?;
    for (id, file) in &acked.routines {
        if listing.get(id).is_none() {
            violations.push(format!("acknowledged routine {id} ({file}) is gone"));
        }
    }
    for id in &acked.removed {
        if listing.get(id).is_some() {
            violations.push(format!("acknowledged removal of routine {id} undone"));
        }
    }
    // A child killed before its first commit leaves a repository without HEAD: an empty tree.
    let has_head = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "--verify", "-q", "HEAD"])
        .output()?;
    let head_files = if has_head.status.success() {
        try_git(root, &["ls-tree", "-r", "--name-only", "HEAD"])?
    } else {
        String::new()
    };
    let head_files: BTreeSet<&str> = head_files.lines().collect();
    for (id, file) in &acked.routines {
        if !head_files.contains(file.as_str()) {
            violations.push(format!("acknowledged commit of routine {id} ({file}) is not in HEAD"));
        }
    }

    let state = dir.ping_budget().state()?;
    let used = u64::from(BUDGET_CAPACITY) as f64 - state.available();
    if (used.round() as u64) < acked.grants {
        violations.push(format!(
            "{} grants acknowledged but the budget shows {used:.0} used",
            acked.grants
        ));
    }

    match dir.lock_instance() {
        Ok(guard) => guard.release()?,
        Err(e) => violations.push(format!("the instance lock is not free after a kill: {e}")),
    }
    if fsck {
        let output = Command::new("git")
            .arg("-C")
            .arg(root)
            .args(["fsck", "--full", "--no-progress"])
            .output()?;
        if !output.status.success() {
            violations
                .push(format!("git fsck: {}", String::from_utf8_lossy(&output.stderr).trim()));
        }
    }
    Ok(())
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
