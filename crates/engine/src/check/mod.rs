//! Finds what is wrong in a data directory, from its declared [`Layout`] alone, and applies the
//! repairs that lose nothing.
//!
//! [`check`] walks the directory ([`crate::inspect`]) and reports [`Problem`]s of stable kinds
//! ([`ProblemKind`]): secrets readable by others, stale pid records, torn or corrupt JSON Lines,
//! JSON state that does not parse or has the wrong shape, spec files that do not parse,
//! duplicate spec ids, leftover temporary files, records past their retention, secrets in git,
//! a missing `.gitignore`, unknown entries. [`fix`] applies only the repairs that lose nothing
//! (tighten a mode, reclaim a stale lock, move torn tails and corrupt lines aside to a
//! `.corrupt` file, sweep abandoned temporary files, prune expired records, write `.gitignore`,
//! untrack secrets) and reports each one.
//!
//! ```
//! # fn main() -> Result<(), dotdir_engine::Error> {
//! use std::os::unix::fs::PermissionsExt;
//! use dotdir_engine::{Entry, Format, Layout, check};
//! const APP: Layout = Layout::new(
//!     "app",
//!     "an app",
//!     &[Entry::file("token.json", Format::Json, "an API token").secret()],
//! );
//! let dir = tempfile::tempdir().unwrap();
//! std::fs::write(dir.path().join("token.json"), "\"s3cr3t\"").unwrap();
//! std::fs::set_permissions(dir.path().join("token.json"), std::fs::Permissions::from_mode(0o644)).unwrap();
//!
//! let report = check::check(dir.path(), &APP, &check::Options::default())?;
//! assert_eq!(report.problems[0].kind, check::ProblemKind::SecretMode);
//! assert!(report.problems[0].fixable);
//!
//! let fixed = check::fix(dir.path(), &APP, &check::Options::default())?;
//! assert_eq!(fixed.repairs.len(), 1);
//! assert!(check::check(dir.path(), &APP, &check::Options::default())?.problems.is_empty());
//! # Ok(()) }
//! ```

use crate::Step;
use std::{
    collections::HashSet,
    fmt,
    path::{Path, PathBuf},
    time::SystemTime,
};

pub use crate::{Error, decl::Severity};
use crate::{
    Format, IoError, Layout, Program,
    inspect::{self, Tree},
    live::{self, Liveness},
};

mod content;
#[cfg(feature = "git")]
mod git;
mod problem;
mod repair;

pub use self::problem::{Problem, ProblemKind};
use self::{
    content::{check_node, check_specs},
    problem::Action,
    repair::apply,
};

/// Options of [`check`] and [`fix`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// The time retention is measured against (the default is now; tests pin it).
    pub now: SystemTime,
    /// Report paths the layout does not know (`unknown-entry`). Default: yes.
    pub report_unknown: bool,
    /// The program a pid record's holder must be running to count as alive (`ollim-bot`,
    /// `omicos`). Default: the layout's [`Layout::program`]; without either, any live pid
    /// counts (a reused pid then looks like a holder).
    pub program: Option<Program>,
    /// A person has said the application is stopped: [`fix`] and `restore --force` go ahead
    /// when whether it runs cannot be told ([`Liveness::Unknown`]). Never when it is seen
    /// running. Default: no.
    pub assume_stopped: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self { now: SystemTime::now(), report_unknown: true, program: None, assume_stopped: false }
    }
}

impl Options {
    /// Sets [`Options::now`].
    #[must_use]
    pub fn now(mut self, now: SystemTime) -> Self {
        self.now = now;
        self
    }

    /// Sets [`Options::program`] by its name (see [`Program::named`]).
    #[must_use]
    pub fn program(self, program: &'static str) -> Self {
        self.launched_as(Program::named(program))
    }

    /// Sets [`Options::program`], with all its launch forms.
    #[must_use]
    pub fn launched_as(mut self, program: Program) -> Self {
        self.program = Some(program);
        self
    }

    /// Sets [`Options::assume_stopped`].
    #[must_use]
    pub fn assume_stopped(mut self, stopped: bool) -> Self {
        self.assume_stopped = stopped;
        self
    }

    /// These options with the layout's defaults filled in.
    fn for_layout(&self, layout: &Layout) -> Options {
        Options { program: self.program.or(layout.program), ..self.clone() }
    }

    /// Sets [`Options::report_unknown`].
    #[must_use]
    pub fn report_unknown(mut self, report: bool) -> Self {
        self.report_unknown = report;
        self
    }
}

/// `n` and the noun that agrees with it (`1 record`, `2 records`): the messages a person reads.
pub(crate) fn plural<N>(n: N, one: &str, many: &str) -> String
where
    N: std::fmt::Display + PartialEq + From<u8>,
{
    let noun = if n == N::from(1) { one } else { many };
    format!("{n} {noun}")
}

/// What [`check`] found.
#[derive(Debug, Clone)]
pub struct Report {
    /// The layout's name.
    pub layout: &'static str,
    /// The data directory.
    pub root: PathBuf,
    /// Every problem, sorted by severity (errors first), then path, line and kind.
    pub problems: Vec<Problem>,
}

impl Report {
    /// The problems [`fix`] can repair.
    pub fn fixable(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| p.fixable)
    }

    /// How many problems have `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.problems.iter().filter(|p| p.severity == severity).count()
    }

    /// The highest severity found, `None` for a clean directory.
    pub fn worst(&self) -> Option<Severity> {
        self.problems.iter().map(|p| p.severity).max()
    }
}

/// Why racy work on a data directory is refused: its application is running, or whether it
/// runs cannot be told ([`live::liveness`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Running {
    /// It was seen running.
    Seen(live::Sighting),
    /// It cannot be told (why); a person who knows it is stopped may say so
    /// ([`Options::assume_stopped`]).
    Unknown(String),
}

impl Running {
    /// The pid of the process seen running.
    pub fn pid(&self) -> Option<u32> {
        match self {
            Running::Seen(seen) => Some(seen.pid),
            Running::Unknown(_) => None,
        }
    }

    /// Whether it was seen running (not merely impossible to tell).
    pub fn is_seen(&self) -> bool {
        matches!(self, Running::Seen(_))
    }
}

impl fmt::Display for Running {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Running::Seen(seen) => write!(f, "the application is running: {seen}"),
            Running::Unknown(why) => {
                write!(f, "whether the application is running cannot be told: {why}")
            }
        }
    }
}

/// One repair [`fix`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repair {
    /// The problem it repaired.
    pub kind: ProblemKind,
    /// The path relative to the data directory.
    pub path: String,
    /// What was done, for people.
    pub action: String,
}

/// A repair that was attempted and failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixFailure {
    /// The problem that is still there.
    pub kind: ProblemKind,
    /// The path relative to the data directory.
    pub path: String,
    /// Why the repair failed.
    pub error: String,
}

/// What [`fix`] did.
#[derive(Debug, Clone)]
pub struct FixReport {
    /// The layout's name.
    pub layout: &'static str,
    /// The repairs made.
    pub repairs: Vec<Repair>,
    /// The repairs that failed (the problem is left as it was), among them those refused
    /// because the application is running.
    pub failures: Vec<FixFailure>,
    /// The running application (or why it cannot be told that it is stopped): every repair
    /// that could race it was refused.
    pub running: Option<Running>,
}

/// Checks `root` against `layout`.
pub fn check(root: &Path, layout: &Layout, options: &Options) -> Result<Report, Error> {
    let tree = inspect::inspect(root, layout)?;
    let mut report = check_tree(&tree, options);
    report.problems.splice(0..0, leftovers_beside(root)?);
    Ok(report)
}

/// The staging directories killed restores left beside `root` (no restore holds the lock on
/// its parent): `orphan-temp` problems, fixable by removing them.
fn leftovers_beside(root: &Path) -> Result<Vec<Problem>, Error> {
    let parent = std::path::absolute(root).ok().and_then(|r| r.parent().map(Path::to_path_buf));
    let beside = |path: &Path| {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        match (&parent, path.parent()) {
            (Some(parent), Some(at)) if parent == at => format!("../{name}"),
            _ => path.display().to_string(),
        }
    };
    let mut problems: Vec<Problem> = crate::leftover::previous_dirs(root)
        .into_iter()
        .map(|(path, bytes)| {
            Problem::new(
                ProblemKind::PreviousDirectory,
                &beside(&path),
                format!(
                    "the directory `restore --force` moved aside ({bytes} bytes): it may hold secrets and untracked state the backup did not"
                ),
            )
        })
        .collect();
    problems.extend(crate::leftover::beside(root)?.into_iter().map(|leftover| {
        Problem::new(
            ProblemKind::OrphanTemp,
            &beside(&leftover.path),
            format!(
                "{} beside the data directory ({} bytes): no restore holds its lock",
                leftover.kind.describe(),
                leftover.bytes
            ),
        )
        .fix_with(Action::RemoveStaging { bytes: leftover.bytes }, &leftover.path)
    }));
    Ok(problems)
}

/// Checks an already classified tree.
pub fn check_tree(tree: &Tree, options: &Options) -> Report {
    let options = &options.for_layout(&tree.layout);
    let mut problems = Vec::new();
    for node in &tree.nodes {
        check_node(node, options, &mut problems);
    }
    check_specs(tree, &mut problems);
    if tree.has_git() {
        #[cfg(feature = "git")]
        git::check_git(tree, &mut problems);
    }
    // A record the pid lock calls stale (its pid is dead or another program here) may still
    // name the app: in a container's pid namespace, or under another launch. Only a holder
    // proven dead makes it stale.
    let stale = problems.iter().filter(|p| p.kind == ProblemKind::StaleLock).count();
    if stale > 0 {
        let table = dotdir_pidlock::scan::ProcessTable::read();
        problems.retain_mut(|problem| {
            if problem.kind != ProblemKind::StaleLock {
                return true;
            }
            let verdict = live::record_holder(
                &table,
                &tree.root,
                &tree.layout,
                &problem.path,
                options.program,
            );
            match verdict {
                Liveness::Live(_) => false,
                Liveness::Unknown(why) => {
                    problem.message = format!("cannot tell whether the lock is held: {why}");
                    true
                }
                Liveness::Stopped => true,
            }
        });
    }
    // Errors first: what matters most is read first, in text and JSON alike.
    problems.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.path.cmp(&b.path))
            .then(a.line.cmp(&b.line))
            .then(a.kind.cmp(&b.kind))
    });
    Report { layout: tree.layout.name, root: tree.root.clone(), problems }
}

/// Applies every repair that loses nothing, then reports what it did. Run [`check`] again to
/// see what is left.
///
/// The applications take none of dotdir's locks. While one runs — or whether it runs cannot be
/// told and [`Options::assume_stopped`] is not set ([`live::liveness`]) — only the repairs that
/// cannot race it run (a secret's mode, a killed restore's staging); every other repair,
/// removing a stale pid record among them, is refused, named in [`FixReport::failures`], and
/// [`FixReport::running`] says who runs or why it cannot be told.
pub fn fix(root: &Path, layout: &Layout, options: &Options) -> Result<FixReport, Error> {
    // Every repair names its path from the root: a relative root would be resolved against
    // whatever directory each tool (git) works in.
    let root = &std::path::absolute(root).map_err(|source| {
        Error::Io(IoError { step: Step::Resolve, path: root.to_path_buf(), source })
    })?;
    let options = &options.for_layout(layout);
    let tree = inspect::inspect(root, layout)?;
    let mut report = check_tree(&tree, options);
    report.problems.splice(0..0, leftovers_beside(root)?);
    let running = running(&tree, options);
    let refusal = running.as_ref().map(|running| match running {
        Running::Seen(_) => format!("not repaired: {running}; stop it first, then repair again"),
        Running::Unknown(_) => format!(
            "not repaired: {running}; if it is stopped, say so (--assume-stopped) and repair again"
        ),
    });
    let mut repairs = Vec::new();
    let mut failures = Vec::new();
    let mut done: HashSet<(PathBuf, std::mem::Discriminant<Action>)> = HashSet::new();
    #[cfg(feature = "git")]
    let mut untracked: Option<Result<git::Untracked, String>> = None;
    // The commit of what changed comes last, so it takes the other repairs' changes too.
    let mut ordered: Vec<&Problem> = report.problems.iter().collect();
    ordered.sort_by_key(|p| p.action.as_ref().is_some_and(|(action, _)| action.comes_last()));
    for problem in ordered {
        let Some((action, path)) = &problem.action else { continue };
        if !done.insert((path.clone(), std::mem::discriminant(action))) {
            continue;
        }
        if let Some(refusal) = refusal.as_ref().filter(|_| action.races_the_app()) {
            failures.push(FixFailure {
                kind: problem.kind,
                path: problem.path.clone(),
                error: refusal.clone(),
            });
            continue;
        }
        #[cfg(feature = "git")]
        if *action == Action::Untrack {
            // Every untracked path in one commit: a `git add -A` of a whole directory is
            // undone by one commit, not one per path.
            if untracked.is_none() {
                let paths: Vec<PathBuf> = report
                    .problems
                    .iter()
                    .filter_map(|p| match &p.action {
                        Some((Action::Untrack, path)) => Some(path.clone()),
                        _ => None,
                    })
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                untracked =
                    Some(git::untrack(root, layout, &paths).map_err(|e| crate::error_chain(&e)));
            }
            let rel = path.strip_prefix(root).unwrap_or(path);
            match untracked.as_ref().expect("set above") {
                Ok(done) if !done.still_tracked.iter().any(|p| p == rel) => repairs.push(Repair {
                    kind: problem.kind,
                    path: problem.path.clone(),
                    action: done.describe(layout, rel),
                }),
                Ok(_) => failures.push(FixFailure {
                    kind: problem.kind,
                    path: problem.path.clone(),
                    error: "still tracked after `git rm --cached`".to_owned(),
                }),
                Err(error) => failures.push(FixFailure {
                    kind: problem.kind,
                    path: problem.path.clone(),
                    error: error.clone(),
                }),
            }
            continue;
        }
        // A change the repairs above already committed is not a repair of its own.
        #[cfg(feature = "git")]
        if *action == Action::CommitChanged
            && git::open_journal(root, layout)
                .and_then(|tracker| tracker.journal().uncommitted())
                .is_ok_and(|paths| paths.is_empty())
        {
            continue;
        }
        // The application's own lock on the file, when the layout declares one: held for the
        // repair, and the repair refused while the application holds it.
        let entry =
            path.strip_prefix(root).ok().and_then(|rel| layout.entry_for(&rel.to_string_lossy()));
        let _app_lock = match entry.and_then(|e| e.app_lock) {
            Some(lock) if action.races_the_app() => match live::take_app_lock(path, lock) {
                Ok(guard) => guard,
                Err(error) => {
                    failures.push(FixFailure {
                        kind: problem.kind,
                        path: problem.path.clone(),
                        error: format!("not repaired: {error}; stop it first, then repair again"),
                    });
                    continue;
                }
            },
            _ => None,
        };
        match apply(root, path, layout, action, options) {
            Ok(what) => repairs.push(Repair {
                kind: problem.kind,
                path: problem.path.clone(),
                action: what,
            }),
            Err(error) => failures.push(FixFailure {
                kind: problem.kind,
                path: problem.path.clone(),
                error: crate::error_chain(&error),
            }),
        }
    }
    // Every repair is verified by reading the directory again: one whose problem is still
    // there is a failure, never a claim.
    if !repairs.is_empty() {
        let after = check(root, layout, options)?;
        let (verified, unverified): (Vec<Repair>, Vec<Repair>) = repairs
            .into_iter()
            .partition(|r| !after.problems.iter().any(|p| p.kind == r.kind && p.path == r.path));
        repairs = verified;
        failures.extend(unverified.into_iter().map(|r| FixFailure {
            kind: r.kind,
            path: r.path,
            error: format!("{}, yet a second check still finds the problem", r.action),
        }));
    }
    Ok(FixReport { layout: layout.name, repairs, failures, running })
}

/// The application running on `root`, or why it cannot be told that it is stopped
/// ([`live::liveness`]); `None` when it is proven stopped, or cannot be told and
/// [`Options::assume_stopped`] is set.
pub fn running_in(
    root: &Path,
    layout: &Layout,
    options: &Options,
) -> Result<Option<Running>, Error> {
    Ok(running(&inspect::inspect(root, layout)?, &options.for_layout(layout)))
}

fn running(tree: &Tree, options: &Options) -> Option<Running> {
    let records: Vec<String> = tree
        .nodes
        .iter()
        .filter(|node| node.entry.is_some_and(|e| e.format == Format::PidRecord))
        .map(|node| node.relative.clone())
        .collect();
    match live::liveness(&tree.root, &tree.layout, &records, options.program) {
        Liveness::Stopped => None,
        Liveness::Live(seen) => Some(Running::Seen(seen)),
        Liveness::Unknown(_) if options.assume_stopped => None,
        Liveness::Unknown(why) => Some(Running::Unknown(why)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_their_names() {
        for kind in ProblemKind::ALL {
            assert_eq!(ProblemKind::from_name(kind.as_str()), kind);
        }
        assert_eq!(ProblemKind::from_name("odd-thing").as_str(), "odd-thing");
    }
}
