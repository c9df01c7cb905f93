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
//! # fn main() -> Result<(), dotdir::check::Error> {
//! use std::os::unix::fs::PermissionsExt;
//! use dotdir::{Entry, Format, Layout, check};
//! const APP: Layout = Layout {
//!     name: "app",
//!     description: "an app",
//!     entries: &[Entry::file("token.json", Format::Json, "an API token").secret()],
//! };
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

use std::{
    collections::{BTreeMap, HashSet},
    fmt, fs, io,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use dotdir_atomic_store::{self as store, JsonStyle};
use serde_json::Value;

pub use crate::decl::Severity;
use crate::{
    Format, Layout,
    inspect::{self, Node, NodeKind, Role, Tree},
};

/// Everything that can stop a check, a repair pass or a backup selection (problems in the data
/// are [`Problem`]s, not errors).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A system call failed.
    #[error("failed to {step} {}", path.display())]
    Io {
        /// What was being done.
        step: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The data directory is not a directory.
    #[error("{} is not a directory", path.display())]
    NotADirectory {
        /// The offending path.
        path: PathBuf,
    },
    /// A pid lock could not be probed or reclaimed.
    #[error("cannot reclaim the lock {}: {message}", path.display())]
    Lock {
        /// The pid record.
        path: PathBuf,
        /// What the lock crate said.
        message: String,
    },
    /// A JSON Lines log could not be read or repaired.
    #[error("cannot repair {}: {message}", path.display())]
    Log {
        /// The log.
        path: PathBuf,
        /// What the log crate said.
        message: String,
    },
    /// The data directory's git repository could not be read or committed to.
    #[error("cannot untrack {} in git: {message}", path.display())]
    Git {
        /// The path being untracked.
        path: PathBuf,
        /// What the journal crate said.
        message: String,
    },
    /// A backup archive is not what it should be (corrupt, not a dotdir backup, a digest that
    /// does not match), or a restore or backup target is refused.
    #[error("{}: {message}", path.display())]
    Archive {
        /// The archive or the directory.
        path: PathBuf,
        /// What is wrong, and what to do.
        message: String,
    },
    /// A read or write through `dotdir-atomic-store` failed.
    #[error("cannot read or write {}", path.display())]
    Store {
        /// The path the operation was about.
        path: PathBuf,
        /// The store's error (it names the step).
        #[source]
        source: store::Error,
    },
}

/// The stable kinds of problem. Their [`ProblemKind::as_str`] names are part of the JSON output
/// of `dotdir check` and never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ProblemKind {
    /// `secret-mode`: a secret readable or writable by group or others.
    SecretMode,
    /// `stale-lock`: a pid record whose holder is gone (or that does not parse).
    StaleLock,
    /// `torn-jsonl`: a JSON Lines file whose last line is unterminated (a crash mid-append).
    TornJsonl,
    /// `corrupt-jsonl`: a line before the end of a JSON Lines file that does not parse.
    CorruptJsonl,
    /// `oversized-record`: a valid JSON Lines record longer than the reader's cap (1 MiB); kept,
    /// but a reader with that cap skips it.
    OversizedRecord,
    /// `corrupt-json`: a JSON state file that does not parse or has the wrong shape.
    CorruptJson,
    /// `corrupt-spec`: a spec file whose front matter does not parse (with line and column).
    CorruptSpec,
    /// `duplicate-id`: two spec files in one directory with the same id.
    DuplicateId,
    /// `orphan-temp`: a temporary file left by a killed writer.
    OrphanTemp,
    /// `expired-entries`: records past the entry's retention still stored.
    ExpiredEntries,
    /// `tracked-secret`: a secret or excluded path in git's index.
    TrackedSecret,
    /// `missing-gitignore`: a git repository whose `.gitignore` lacks the layout's exclusions.
    MissingGitignore,
    /// `bad-workspace-id`: a workspace id that is not 32 lowercase hex characters.
    BadWorkspaceId,
    /// `unknown-entry`: a path the layout does not declare.
    UnknownEntry,
    /// `wrong-kind`: a declared file that is a directory, a secret that is a symlink, ….
    WrongKind,
    /// `unreadable`: a file or directory this process may not read (permissions): not corrupt,
    /// just not checked.
    Unreadable,
    /// `uncommitted-change`: a path git tracks (or should) that differs from HEAD: a writer
    /// stopped between its write and its commit.
    UncommittedChange,
    /// A kind declared by a layout's own [`crate::Validator`].
    Other(&'static str),
}

impl ProblemKind {
    /// Every built-in kind, in report order.
    pub const ALL: [ProblemKind; 17] = [
        ProblemKind::SecretMode,
        ProblemKind::StaleLock,
        ProblemKind::TornJsonl,
        ProblemKind::CorruptJsonl,
        ProblemKind::OversizedRecord,
        ProblemKind::CorruptJson,
        ProblemKind::CorruptSpec,
        ProblemKind::DuplicateId,
        ProblemKind::OrphanTemp,
        ProblemKind::ExpiredEntries,
        ProblemKind::TrackedSecret,
        ProblemKind::MissingGitignore,
        ProblemKind::BadWorkspaceId,
        ProblemKind::UnknownEntry,
        ProblemKind::WrongKind,
        ProblemKind::Unreadable,
        ProblemKind::UncommittedChange,
    ];

    /// The stable kebab-case name (`secret-mode`, `torn-jsonl`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::SecretMode => "secret-mode",
            ProblemKind::StaleLock => "stale-lock",
            ProblemKind::TornJsonl => "torn-jsonl",
            ProblemKind::CorruptJsonl => "corrupt-jsonl",
            ProblemKind::OversizedRecord => "oversized-record",
            ProblemKind::CorruptJson => "corrupt-json",
            ProblemKind::CorruptSpec => "corrupt-spec",
            ProblemKind::DuplicateId => "duplicate-id",
            ProblemKind::OrphanTemp => "orphan-temp",
            ProblemKind::ExpiredEntries => "expired-entries",
            ProblemKind::TrackedSecret => "tracked-secret",
            ProblemKind::MissingGitignore => "missing-gitignore",
            ProblemKind::BadWorkspaceId => "bad-workspace-id",
            ProblemKind::UnknownEntry => "unknown-entry",
            ProblemKind::WrongKind => "wrong-kind",
            ProblemKind::Unreadable => "unreadable",
            ProblemKind::UncommittedChange => "uncommitted-change",
            ProblemKind::Other(name) => name,
        }
    }

    /// The kind named `name` (a validator's problem name maps onto a built-in kind when it
    /// spells one).
    pub fn from_name(name: &'static str) -> Self {
        Self::ALL.into_iter().find(|k| k.as_str() == name).unwrap_or(ProblemKind::Other(name))
    }

    /// What a person should do about a problem of this kind that `--fix` cannot repair.
    pub fn advice(self) -> &'static str {
        match self {
            ProblemKind::CorruptJson => {
                "the application cannot read this file: restore it from a backup or git history, or fix the JSON by hand"
            }
            ProblemKind::CorruptSpec => {
                "this spec is skipped until its front matter parses: fix the YAML at the given line, or move the file away"
            }
            ProblemKind::DuplicateId => {
                "two specs share one id: keep one, or give the other a new id"
            }
            ProblemKind::BadWorkspaceId => {
                "the workspace id is not 32 lowercase hex characters: restore it from workspace_id.*.bak, or remove it to get a new identity"
            }
            ProblemKind::OversizedRecord => {
                "nothing to repair: the record is valid and stays; a reader capped at 1 MiB per record skips it"
            }
            ProblemKind::UnknownEntry => {
                "the layout does not know this path: move it out of the data directory if it is not yours to keep here"
            }
            ProblemKind::WrongKind => {
                "the path has the wrong type: move it aside and let the application recreate it"
            }
            ProblemKind::Unreadable => {
                "not checked: run dotdir as the directory's owner (or with sudo), or give this user read permission; --fix cannot change this"
            }
            ProblemKind::StaleLock => "the holder is gone: `dotdir check --fix` removes the record",
            ProblemKind::OrphanTemp => {
                "a writer may still be running: run `dotdir check --fix` again once it has finished"
            }
            ProblemKind::TrackedSecret => {
                "run `dotdir check --fix` to untrack it (`git rm --cached` and a commit; the file stays); rotate the secret, its old content stays in the history"
            }
            ProblemKind::SecretMode
            | ProblemKind::TornJsonl
            | ProblemKind::CorruptJsonl
            | ProblemKind::ExpiredEntries
            | ProblemKind::MissingGitignore
            | ProblemKind::UncommittedChange => "run `dotdir check --fix`",
            _ => "the application may not read this file as intended: fix or restore it by hand",
        }
    }
}

impl ProblemKind {
    /// The severity of every problem of this kind. A layout's own validator declares the
    /// severity of its kind ([`crate::Entry::validate_as`]); unknown to this function, it is an
    /// error.
    pub fn severity(self) -> Severity {
        match self {
            ProblemKind::ExpiredEntries
            | ProblemKind::UnknownEntry
            | ProblemKind::OversizedRecord => Severity::Notice,
            ProblemKind::StaleLock
            | ProblemKind::OrphanTemp
            | ProblemKind::MissingGitignore
            | ProblemKind::UncommittedChange => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing wrong in a data directory.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Problem {
    /// What kind of problem.
    pub kind: ProblemKind,
    /// How much it matters ([`ProblemKind::severity`]).
    pub severity: Severity,
    /// The path relative to the data directory, `/`-separated.
    pub path: String,
    /// One line for people.
    pub message: String,
    /// `dotdir check --fix` ([`fix`]) can repair it without losing anything.
    pub fixable: bool,
    /// The 1-based line the problem is on, when it has one.
    pub line: Option<u64>,
    /// The 1-based column, when it has one.
    pub column: Option<u64>,
    action: Option<(Action, PathBuf)>,
}

impl Problem {
    fn new(kind: ProblemKind, path: &str, message: impl Into<String>) -> Self {
        Self {
            kind,
            severity: kind.severity(),
            path: path.to_owned(),
            message: message.into(),
            fixable: false,
            line: None,
            column: None,
            action: None,
        }
    }

    /// Marks the problem fixable by `action` on `target` (the real path: a relative path
    /// printed lossily would not name a file whose name is not UTF-8).
    fn fix_with(mut self, action: Action, target: &Path) -> Self {
        self.fixable = true;
        self.action = Some((action, target.to_path_buf()));
        self
    }

    fn at(mut self, line: Option<u64>, column: Option<u64>) -> Self {
        self.line = line;
        self.column = column;
        self
    }
}

/// The repair a fixable problem gets.
#[derive(Debug, Clone, PartialEq)]
enum Action {
    /// Remove the group and other permission bits.
    Tighten { to: u32 },
    /// Remove a pid record whose holder is gone.
    RemoveStaleLock,
    /// Move the torn tail and the corrupt lines of a JSON Lines file to `<name>.corrupt`.
    SetAsideLines,
    /// Remove an abandoned temporary file.
    RemoveTemp,
    /// Drop the records older than the retention.
    Prune { ttl: Duration },
    /// Write the layout's exclusions into `.gitignore`, keeping what is there.
    WriteGitignore,
    /// Remove an excluded path from git's index and commit (`git rm --cached`); the file stays.
    Untrack,
    /// Commit every tracked path that differs from HEAD (what an interrupted write left).
    CommitChanged,
}

impl Action {
    /// Whether the repair rewrites or removes something the application itself writes, so that
    /// it could race a running application (which takes none of dotdir's locks). A mode and the
    /// record of a dead holder cannot.
    fn races_the_app(&self) -> bool {
        !matches!(self, Action::Tighten { .. } | Action::RemoveStaleLock)
    }
}

/// Options of [`check`] and [`fix`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// The time retention is measured against (the default is now; tests pin it).
    pub now: SystemTime,
    /// Report paths the layout does not know (`unknown-entry`). Default: yes.
    pub report_unknown: bool,
    /// The program a pid record's holder must be running to count as alive (`ollim-bot`,
    /// `omicos`); without it any live pid counts (a reused pid then looks like a holder).
    pub program: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self { now: SystemTime::now(), report_unknown: true, program: None }
    }
}

impl Options {
    /// Sets [`Options::now`].
    #[must_use]
    pub fn now(mut self, now: SystemTime) -> Self {
        self.now = now;
        self
    }

    /// Sets [`Options::program`].
    #[must_use]
    pub fn program(mut self, program: impl Into<String>) -> Self {
        self.program = Some(program.into());
        self
    }

    /// Sets [`Options::report_unknown`].
    #[must_use]
    pub fn report_unknown(mut self, report: bool) -> Self {
        self.report_unknown = report;
        self
    }
}

/// What [`check`] found.
#[derive(Debug, Clone)]
pub struct Report {
    /// The layout's name.
    pub layout: &'static str,
    /// The data directory.
    pub root: PathBuf,
    /// Every problem, sorted by path, then line, then kind.
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

/// The application that owns a data directory, found running by its instance lock.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Running {
    /// The holder's pid, when known.
    pub pid: Option<u32>,
    /// The pid record that names it, relative to the data directory.
    pub record: String,
}

impl fmt::Display for Running {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pid {
            Some(pid) => write!(f, "the application is running (pid {pid}, {})", self.record),
            None => write!(f, "the application is running ({})", self.record),
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
    /// The running application, when one holds the layout's instance lock: every repair that
    /// could race it was refused.
    pub running: Option<Running>,
}

/// Checks `root` against `layout`.
pub fn check(root: &Path, layout: &Layout, options: &Options) -> Result<Report, Error> {
    let tree = inspect::inspect(root, layout)?;
    Ok(check_tree(&tree, options))
}

/// Checks an already classified tree.
pub fn check_tree(tree: &Tree, options: &Options) -> Report {
    let mut problems = Vec::new();
    for node in &tree.nodes {
        check_node(node, options, &mut problems);
    }
    check_specs(tree, &mut problems);
    if tree.has_git() {
        check_git(tree, &mut problems);
    }
    problems
        .sort_by(|a, b| a.path.cmp(&b.path).then(a.line.cmp(&b.line)).then(a.kind.cmp(&b.kind)));
    Report { layout: tree.layout.name, root: tree.root.clone(), problems }
}

/// Applies every repair that loses nothing, then reports what it did. Run [`check`] again to
/// see what is left.
///
/// The applications take none of dotdir's locks. While one runs (its pid record is held: by
/// dotdir's lock, or by a live process running the layout's program), only the repairs that
/// cannot race it run (a secret's mode; a stale record cannot be held); every other repair is
/// refused, named in [`FixReport::failures`], and [`FixReport::running`] says who runs.
pub fn fix(root: &Path, layout: &Layout, options: &Options) -> Result<FixReport, Error> {
    // Every repair names its path from the root: a relative root would be resolved against
    // whatever directory each tool (git) works in.
    let root = &std::path::absolute(root).map_err(|source| Error::Io {
        step: "resolve the path of",
        path: root.to_path_buf(),
        source,
    })?;
    let tree = inspect::inspect(root, layout)?;
    let report = check_tree(&tree, options);
    let running = running(&tree, options);
    let mut repairs = Vec::new();
    let mut failures = Vec::new();
    let mut done: HashSet<(PathBuf, std::mem::Discriminant<Action>)> = HashSet::new();
    // The commit of what changed comes last, so it takes the other repairs' changes too.
    let mut ordered: Vec<&Problem> = report.problems.iter().collect();
    ordered.sort_by_key(|p| matches!(p.action, Some((Action::CommitChanged, _))));
    for problem in ordered {
        let Some((action, path)) = &problem.action else { continue };
        if !done.insert((path.clone(), std::mem::discriminant(action))) {
            continue;
        }
        if let Some(running) = running.as_ref().filter(|_| action.races_the_app()) {
            failures.push(FixFailure {
                kind: problem.kind,
                path: problem.path.clone(),
                error: format!("not repaired: {running}; stop it first, then repair again"),
            });
            continue;
        }
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

/// The application running in `root`, when its instance lock (a pid record the layout
/// declares) is held: by dotdir's lock, or by a live process of [`Options::program`].
pub fn running_in(
    root: &Path,
    layout: &Layout,
    options: &Options,
) -> Result<Option<Running>, Error> {
    Ok(running(&inspect::inspect(root, layout)?, options))
}

/// The holder of the layout's instance lock, when one runs: the first declared pid record whose
/// holder is running (or whose state cannot be told: then nothing racy may run either).
fn running(tree: &Tree, options: &Options) -> Option<Running> {
    tree.nodes
        .iter()
        .filter(|node| node.entry.is_some_and(|e| e.format == Format::PidRecord))
        .find_map(|node| match pid_lock(&node.path, options).probe() {
            Ok(Some(holder)) if holder.running => {
                Some(Running { pid: holder.pid, record: node.relative.clone() })
            }
            Ok(_) => None,
            Err(_) => Some(Running { pid: None, record: node.relative.clone() }),
        })
}

fn check_node(node: &Node, options: &Options, problems: &mut Vec<Problem>) {
    if let Some(why) = &node.unreadable {
        let what = if node.kind == NodeKind::Dir { "directory" } else { "file" };
        problems.push(Problem::new(
            ProblemKind::Unreadable,
            &node.relative,
            format!("cannot read this {what}: {why}"),
        ));
        return;
    }
    match node.role {
        Role::Temp { writer_pid } => problems.push(orphan_temp(node, writer_pid, options)),
        Role::Unknown if options.report_unknown => problems.push(Problem::new(
            ProblemKind::UnknownEntry,
            &node.relative,
            match node.kind {
                NodeKind::Dir => "a directory the layout does not declare".to_owned(),
                kind => format!("a {} the layout does not declare", kind.as_str()),
            },
        )),
        Role::Declared => check_declared(node, options, problems),
        _ => {}
    }
}

/// A temporary file of a writer that names no pid (Python's `tempfile.mkstemp`) is abandoned
/// once it is this old.
const UNNAMED_TEMP_MAX_AGE: Duration = Duration::from_secs(15 * 60);

fn orphan_temp(node: &Node, writer_pid: Option<u32>, options: &Options) -> Problem {
    let (abandoned, why) = match writer_pid {
        // Ours name their writer: whether it still holds the file decides, no clock.
        Some(pid) => {
            let temp = store::TempFile { path: node.path.clone(), writer_pid: pid };
            if temp.in_flight() {
                (false, format!("its writer (pid {pid}) may still be writing"))
            } else if store::process_alive(pid) {
                (true, format!("pid {pid} is alive but no longer holds the file"))
            } else {
                (true, format!("its writer (pid {pid}) is gone"))
            }
        }
        None => {
            let age = options
                .now
                .duration_since(UNIX_EPOCH + Duration::from_secs(node.modified.max(0) as u64))
                .unwrap_or_default();
            if age > UNNAMED_TEMP_MAX_AGE {
                (true, format!("left by a Python writer {}s ago", age.as_secs()))
            } else {
                (false, "a Python writer may still be writing".to_owned())
            }
        }
    };
    let problem = Problem::new(
        ProblemKind::OrphanTemp,
        &node.relative,
        format!("leftover temporary file: {why}"),
    );
    if abandoned { problem.fix_with(Action::RemoveTemp, &node.path) } else { problem }
}

fn check_declared(node: &Node, options: &Options, problems: &mut Vec<Problem>) {
    let Some(entry) = node.entry else { return };
    if node.wrong_kind() {
        problems.push(Problem::new(
            ProblemKind::WrongKind,
            &node.relative,
            format!(
                "declared as a {} ({}) but is a {}",
                match entry.kind {
                    crate::Kind::File => "file",
                    crate::Kind::Dir => "directory",
                    crate::Kind::Symlink => "symlink",
                },
                entry.description,
                node.kind.as_str()
            ),
        ));
        return;
    }
    if entry.secret && matches!(node.kind, NodeKind::File | NodeKind::Dir) && node.mode & 0o077 != 0
    {
        let to = node.mode & !0o077;
        problems.push(
            Problem::new(
                ProblemKind::SecretMode,
                &node.relative,
                format!(
                    "a secret with mode {:04o}: group or others can access it (should be {to:04o})",
                    node.mode
                ),
            )
            .fix_with(Action::Tighten { to }, &node.path),
        );
    }
    if node.kind != NodeKind::File {
        return;
    }
    let content = match entry.format {
        Format::Json => check_json(node, options, problems),
        Format::Jsonl => {
            check_jsonl(node, problems);
            None
        }
        Format::PidRecord => {
            check_pid_record(node, options, problems);
            None
        }
        // Specs are checked per directory (duplicate ids) in `check_specs`.
        _ => None,
    };
    if let Some(validator) = entry.validator {
        let bytes = match content {
            Some(bytes) => Some(bytes),
            None => store::read(&node.path, store::DEFAULT_MAX_DOCUMENT).ok().flatten(),
        };
        if let Some(bytes) = bytes
            && let Err(reason) = (validator.check)(&bytes)
            && !problems
                .iter()
                .any(|p| p.path == node.relative && p.kind == ProblemKind::CorruptJson)
        {
            let mut problem =
                Problem::new(ProblemKind::from_name(validator.problem), &node.relative, reason);
            problem.severity = validator.severity;
            problems.push(problem);
        }
    }
}

/// Parses a JSON entry; reports corrupt JSON and expired records. Returns the bytes for the
/// validator.
fn check_json(node: &Node, options: &Options, problems: &mut Vec<Problem>) -> Option<Vec<u8>> {
    let bytes = match store::read(&node.path, store::DEFAULT_MAX_DOCUMENT) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return None,
        Err(e) => {
            problems.push(Problem::new(
                ProblemKind::CorruptJson,
                &node.relative,
                crate::error_chain(&e),
            ));
            return None;
        }
    };
    let value: Value = match serde_json::from_slice(&bytes) {
        Ok(value) => value,
        Err(e) => {
            let line = u64::try_from(e.line()).ok().filter(|l| *l > 0);
            let column = u64::try_from(e.column()).ok().filter(|c| *c > 0);
            problems.push(
                Problem::new(
                    ProblemKind::CorruptJson,
                    &node.relative,
                    format!("does not parse as JSON: {e}"),
                )
                .at(line, column),
            );
            return Some(bytes);
        }
    };
    if let Some(ttl) = node.entry.and_then(|e| e.retention) {
        let expired = expired_records(&value, options.now, ttl);
        if expired > 0 {
            problems.push(
                Problem::new(
                    ProblemKind::ExpiredEntries,
                    &node.relative,
                    format!(
                        "{expired} record(s) older than the {} retention are still stored",
                        human_duration(ttl)
                    ),
                )
                .fix_with(Action::Prune { ttl }, &node.path),
            );
        }
    }
    Some(bytes)
}

/// The `ts` (unix seconds) of a TTL record, when it has a numeric one.
fn record_ts(record: &Value) -> Option<f64> {
    record.get("ts").and_then(Value::as_f64)
}

fn cutoff(now: SystemTime, ttl: Duration) -> f64 {
    now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64() - ttl.as_secs_f64()
}

/// Records are expired when their `ts` is at or before `now - ttl` (the reference keeps
/// `ts > now - ttl`). A record without a numeric `ts` is kept: nothing is pruned that the check
/// does not understand.
fn is_expired(record: &Value, cutoff: f64) -> bool {
    record_ts(record).is_some_and(|ts| ts <= cutoff)
}

fn expired_records(value: &Value, now: SystemTime, ttl: Duration) -> usize {
    let cutoff = cutoff(now, ttl);
    match value {
        Value::Array(records) => records.iter().filter(|r| is_expired(r, cutoff)).count(),
        Value::Object(map) => map.values().filter(|r| is_expired(r, cutoff)).count(),
        _ => 0,
    }
}

fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        s if s % 86_400 == 0 => format!("{}-day", s / 86_400),
        s if s % 3_600 == 0 => format!("{}-hour", s / 3_600),
        s if s % 60 == 0 => format!("{}-minute", s / 60),
        s => format!("{s}-second"),
    }
}

fn check_jsonl(node: &Node, problems: &mut Vec<Problem>) {
    let log = dotdir_jsonl_log::Log::<Value>::new(&node.path);
    let records = match log.records() {
        Ok(records) => records,
        Err(e) => {
            problems.push(Problem::new(
                ProblemKind::CorruptJsonl,
                &node.relative,
                crate::error_chain(&e),
            ));
            return;
        }
    };
    for entry in records {
        let bad = match entry {
            Ok(dotdir_jsonl_log::Entry::Problem(bad)) => bad,
            Ok(_) => continue,
            Err(e) => {
                problems.push(Problem::new(
                    ProblemKind::CorruptJsonl,
                    &node.relative,
                    crate::error_chain(&e),
                ));
                return;
            }
        };
        if log.is_valid_oversized(&bad).unwrap_or(false) {
            problems.push(
                Problem::new(
                    ProblemKind::OversizedRecord,
                    &node.relative,
                    format!(
                        "a valid record of {} bytes at byte {}, over the reader's record cap",
                        bad.len, bad.offset
                    ),
                )
                .at(bad.line, None),
            );
            continue;
        }
        let (kind, message) = if bad.is_torn_tail() {
            (
                ProblemKind::TornJsonl,
                format!(
                    "the last line ({} bytes at byte {}) is unterminated: an append was interrupted",
                    bad.len, bad.offset
                ),
            )
        } else {
            (ProblemKind::CorruptJsonl, format!("{bad}"))
        };
        problems.push(
            Problem::new(kind, &node.relative, message)
                .at(bad.line, None)
                .fix_with(Action::SetAsideLines, &node.path),
        );
    }
}

fn check_pid_record(node: &Node, options: &Options, problems: &mut Vec<Problem>) {
    let lock = pid_lock(&node.path, options);
    let message = match lock.probe() {
        Ok(Some(holder)) if holder.running => return,
        Ok(Some(holder)) => match holder.pid {
            Some(pid) if holder.alive => {
                format!(
                    "pid {pid} is alive but is not the holder (the pid was reused): the lock is stale"
                )
            }
            Some(pid) => format!("pid {pid} is not running: the lock holder is gone"),
            None => "the record names no holder: the lock is stale".to_owned(),
        },
        Ok(None) => "the record does not name a valid pid: the lock is stale".to_owned(),
        Err(e) => {
            problems.push(Problem::new(
                ProblemKind::StaleLock,
                &node.relative,
                format!("cannot tell whether the lock is held: {}", crate::error_chain(&e)),
            ));
            return;
        }
    };
    problems.push(
        Problem::new(ProblemKind::StaleLock, &node.relative, message)
            .fix_with(Action::RemoveStaleLock, &node.path),
    );
}

fn pid_lock(path: &Path, options: &Options) -> dotdir_pidlock::PidLock {
    let lock = dotdir_pidlock::PidLock::new(path).durability(store::Durability::Full);
    match &options.program {
        Some(program) => lock.program(program.clone()),
        None => lock,
    }
}

fn check_specs(tree: &Tree, problems: &mut Vec<Problem>) {
    let specs: Vec<&Node> = tree
        .nodes
        .iter()
        .filter(|n| {
            n.role == Role::Declared
                && n.kind == NodeKind::File
                && n.unreadable.is_none()
                && n.entry.is_some_and(|e| e.format == Format::Spec)
        })
        .collect();
    let mut ids: BTreeMap<(String, String), Vec<&Node>> = BTreeMap::new();
    for node in specs {
        match spec_id(&node.path) {
            Ok(Some(id)) => {
                let dir = node.relative.rsplit_once('/').map_or("", |(d, _)| d).to_owned();
                ids.entry((dir, id)).or_default().push(node);
            }
            Ok(None) => {}
            Err(SpecError { message, line, column }) => problems.push(
                Problem::new(ProblemKind::CorruptSpec, &node.relative, message).at(line, column),
            ),
        }
    }
    for ((_, id), nodes) in ids {
        if nodes.len() < 2 {
            continue;
        }
        let names: Vec<&str> = nodes.iter().map(|n| n.relative.as_str()).collect();
        for node in &nodes {
            problems.push(Problem::new(
                ProblemKind::DuplicateId,
                &node.relative,
                format!("id {id:?} is used by {} specs: {}", nodes.len(), names.join(", ")),
            ));
        }
    }
}

struct SpecError {
    message: String,
    line: Option<u64>,
    column: Option<u64>,
}

/// Any spec: its id (`id`, or `name` for a skill); every other key is kept as unknown.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct AnySpec {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
}

impl dotdir_frontmatter::Spec for AnySpec {
    fn id(&self) -> &str {
        if self.id.is_empty() { &self.name } else { &self.id }
    }
}

/// The id of a spec file, parsed by `dotdir-frontmatter` (strict delimiters, YAML errors with
/// line and column). `Ok(None)` for a spec without an id.
fn spec_id(path: &Path) -> Result<Option<String>, SpecError> {
    use dotdir_frontmatter::Spec;
    let bytes = store::read(path, store::DEFAULT_MAX_DOCUMENT)
        .map_err(|e| SpecError { message: crate::error_chain(&e), line: None, column: None })?
        .unwrap_or_default();
    match dotdir_frontmatter::parse::<AnySpec>(&bytes) {
        Ok(file) => {
            let id = file.spec.id();
            Ok((!id.is_empty()).then(|| id.to_owned()))
        }
        Err(dotdir_frontmatter::Error::Parse(e)) => Err(SpecError {
            message: e.reason.to_string(),
            line: Some(e.line as u64),
            column: Some(e.column as u64),
        }),
        Err(e) => Err(SpecError { message: crate::error_chain(&e), line: None, column: None }),
    }
}

fn check_git(tree: &Tree, problems: &mut Vec<Problem>) {
    let path = tree.root.join(".gitignore");
    let current = fs::read_to_string(&path).unwrap_or_default();
    let exclusions = tree.layout.journal_exclusions();
    let missing = exclusions.uncovered_by(&current);
    if !missing.is_empty() {
        let message = if current.trim().is_empty() {
            "the data directory is a git repository without a .gitignore: secrets and ephemeral files can be committed".to_owned()
        } else {
            format!(".gitignore does not exclude: {}", missing.join(" "))
        };
        problems.push(
            Problem::new(ProblemKind::MissingGitignore, ".gitignore", message)
                .fix_with(Action::WriteGitignore, &path),
        );
    }
    let uncommitted = open_journal(&tree.root, &tree.layout)
        .and_then(|journal| Ok((journal.head()?.is_none(), journal.uncommitted()?)));
    match uncommitted {
        // A repository without a commit yet (as the reference leaves it at start-up): one
        // problem, not one per file.
        Ok((true, paths)) if !paths.is_empty() => problems.push(
            Problem::new(
                ProblemKind::UncommittedChange,
                ".git",
                format!("the repository has no commit yet: {} path(s) to commit", paths.len()),
            )
            .fix_with(Action::CommitChanged, &tree.root),
        ),
        Ok((_, paths)) => {
            for rel in paths {
                problems.push(
                    Problem::new(
                        ProblemKind::UncommittedChange,
                        &rel,
                        "differs from the last commit: a write was not committed (the writer stopped, or another tool changed it)",
                    )
                    .fix_with(Action::CommitChanged, &tree.root),
                );
            }
        }
        Err(error) => problems.push(Problem::new(
            ProblemKind::UncommittedChange,
            ".git",
            format!(
                "cannot read the git repository to look for uncommitted changes: {}",
                crate::error_chain(&error)
            ),
        )),
    }
    match tracked_exclusions(tree) {
        Ok(tracked) => {
            for path in tracked {
                let rel = path.to_string_lossy().into_owned();
                let what = if tree.layout.entry_for(&rel).is_some_and(|e| e.secret) {
                    "a secret"
                } else {
                    "a path the layout excludes from git"
                };
                problems.push(
                    Problem::new(
                        ProblemKind::TrackedSecret,
                        &rel,
                        format!(
                            "{what} is tracked by git (in HEAD or the index): `dotdir check --fix` untracks it (`git rm --cached {rel}` and a commit, the file stays); its old content stays in the history, so rotate a secret"
                        ),
                    )
                    .fix_with(Action::Untrack, &tree.root.join(&path)),
                );
            }
        }
        Err(message) => problems.push(Problem::new(
            ProblemKind::TrackedSecret,
            ".git",
            format!("cannot read the git repository to look for tracked secrets: {message}"),
        )),
    }
}

/// Excluded paths git tracks anyway, from the journal's audit (HEAD's tree and the index).
fn tracked_exclusions(tree: &Tree) -> Result<Vec<PathBuf>, String> {
    let journal = open_journal(&tree.root, &tree.layout).map_err(|e| crate::error_chain(&e))?;
    journal.audit().map_err(|e| crate::error_chain(&e))
}

/// The data directory's journal with the layout's exclusions, touching nothing on open (no
/// `.gitignore` rewrite). A repair's commit is authored `dotdir <dotdir@localhost>`: the tool
/// made it, whoever runs it.
fn open_journal(
    root: &Path,
    layout: &Layout,
) -> Result<dotdir_git_journal::Journal, dotdir_git_journal::Error> {
    let options = dotdir_git_journal::JournalOptions::new()
        .exclusions(layout.journal_exclusions())
        .manage_gitignore(false)
        .fsync_gitdir(false)
        .identity_from_git_config(false);
    dotdir_git_journal::Journal::open(root, options)
}

fn apply(
    root: &Path,
    path: &Path,
    layout: &Layout,
    action: &Action,
    options: &Options,
) -> Result<String, Error> {
    match action {
        Action::Tighten { to } => {
            fs::set_permissions(path, fs::Permissions::from_mode(*to)).map_err(|source| {
                Error::Io { step: "change the mode of", path: path.to_path_buf(), source }
            })?;
            Ok(format!("mode set to {to:04o}"))
        }
        Action::RemoveStaleLock => {
            // Reclaim under the OS lock, as a starter would, then release: the stale record is
            // judged and removed by exactly one process, never while a holder runs.
            let guard = pid_lock(path, options).acquire().map_err(|e| Error::Lock {
                path: path.to_path_buf(),
                message: crate::error_chain(&e),
            })?;
            let previous = match guard.previous() {
                dotdir_pidlock::Previous::Dead(pid) => format!("pid {pid} was gone"),
                dotdir_pidlock::Previous::Reused(pid) => {
                    format!("pid {pid} belonged to another program")
                }
                dotdir_pidlock::Previous::InvalidPid(pid) => format!("{pid} is not a pid"),
                dotdir_pidlock::Previous::Corrupt => "the record was corrupt".to_owned(),
                _ => "the record was stale".to_owned(),
            };
            guard.release().map_err(|e| Error::Lock {
                path: path.to_path_buf(),
                message: crate::error_chain(&e),
            })?;
            Ok(format!("reclaimed the stale lock ({previous}) and removed the record"))
        }
        Action::RemoveTemp => {
            let _ = store::remove(path, store::Durability::Full)
                .map_err(|source| Error::Store { path: path.to_path_buf(), source })?;
            Ok("removed the abandoned temporary file".to_owned())
        }
        Action::SetAsideLines => set_aside_lines(path),
        Action::Prune { ttl } => prune(path, options.now, *ttl),
        Action::WriteGitignore => {
            // The journal's own block, as every writer of the layout keeps it (lines outside
            // it are kept), committed when the repository tracks `.gitignore`.
            let journal = open_journal(root, layout).map_err(|e| Error::Git {
                path: root.to_path_buf(),
                message: crate::error_chain(&e),
            })?;
            let _ = journal.sync_gitignore().map_err(|e| Error::Git {
                path: root.to_path_buf(),
                message: crate::error_chain(&e),
            })?;
            Ok("wrote the layout's exclusions into .gitignore".to_owned())
        }
        Action::CommitChanged => {
            let git_error = |e: dotdir_git_journal::Error| Error::Git {
                path: root.to_path_buf(),
                message: crate::error_chain(&e),
            };
            let journal = open_journal(root, layout).map_err(git_error)?;
            let changed = journal.uncommitted().map_err(git_error)?;
            let _ = journal
                .commit_all_changed("dotdir check --fix: commit changes an interrupted write left")
                .map_err(git_error)?;
            Ok(format!("committed {} uncommitted path(s)", changed.len()))
        }
        Action::Untrack => {
            let git_error = |e: dotdir_git_journal::Error| Error::Git {
                path: path.to_path_buf(),
                message: crate::error_chain(&e),
            };
            let journal = open_journal(root, layout).map_err(git_error)?;
            let rel = path.strip_prefix(root).unwrap_or(path).to_string_lossy().into_owned();
            let commit = journal.untrack(&[path], &format!("untrack {rel}")).map_err(git_error)?;
            // Verified by re-reading git's index and HEAD, never claimed.
            if journal.audit().map_err(git_error)?.iter().any(|p| Path::new(&rel) == p) {
                return Err(Error::Git {
                    path: path.to_path_buf(),
                    message: "still tracked after `git rm --cached`".to_owned(),
                });
            }
            Ok(match commit {
                Some(_) => "removed from git's index and committed (the file is kept); its old content stays in the history: rotate the secret".to_owned(),
                None => "no longer tracked by git".to_owned(),
            })
        }
    }
}

/// Moves the torn tail and corrupt lines of a JSON Lines file to `<name>.corrupt` through the
/// log's own repair (under its append lock), keeping every good line byte for byte.
fn set_aside_lines(path: &Path) -> Result<String, Error> {
    let log = dotdir_jsonl_log::Log::<Value>::new(path);
    let rewrite = log
        .repair()
        .map_err(|e| Error::Log { path: path.to_path_buf(), message: crate::error_chain(&e) })?;
    let bytes: u64 = rewrite.quarantined.iter().map(|p| p.len).sum();
    let mut what = format!(
        "moved {} line(s) ({bytes} bytes) to {}; {} record(s) kept",
        rewrite.quarantined.len(),
        file_name(&log.corrupt_path()),
        rewrite.kept
    );
    if rewrite.blank > 0 {
        what.push_str(&format!("; dropped {} blank line(s)", rewrite.blank));
    }
    Ok(what)
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn prune(path: &Path, now: SystemTime, ttl: Duration) -> Result<String, Error> {
    let bytes = store::read(path, store::DEFAULT_MAX_DOCUMENT)
        .map_err(|source| Error::Store { path: path.to_path_buf(), source })?
        .unwrap_or_default();
    let style = guess_style(&bytes);
    let document = store::Document::<Value>::new(path).style(style);
    let cutoff = cutoff(now, ttl);
    let removed = document
        .update(|value| match value {
            Value::Array(records) => {
                let before = records.len();
                records.retain(|r| !is_expired(r, cutoff));
                before - records.len()
            }
            Value::Object(map) => {
                let before = map.len();
                map.retain(|_, r| !is_expired(r, cutoff));
                before - map.len()
            }
            _ => 0,
        })
        .map_err(|source| Error::Store { path: path.to_path_buf(), source })?;
    Ok(format!("pruned {removed} expired record(s)"))
}

/// The style an existing JSON file was written in, so a rewrite keeps it.
fn guess_style(bytes: &[u8]) -> JsonStyle {
    let text = String::from_utf8_lossy(bytes);
    if text.contains("\n  ") {
        JsonStyle::Pretty
    } else if text.contains(", ") || text.contains(": ") {
        JsonStyle::Python
    } else {
        JsonStyle::Compact
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
