//! The problems `check` reports: their stable kinds, severities and advice, and the repair
//! each one allows.

use std::{
    fmt,
    path::{Path, PathBuf},
    time::Duration,
};

use crate::decl::Severity;

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
    /// `orphan-temp`: a temporary file left by a killed writer, or the staging directory a
    /// killed restore left beside the data directory (`../.<name>.dotdir-restore`).
    OrphanTemp,
    /// `expired-entries`: records past the entry's retention still stored.
    ExpiredEntries,
    /// `tracked-secret`: a declared secret in git's index or HEAD.
    TrackedSecret,
    /// `tracked-excluded`: a path the layout excludes from git (not a secret: a pid record,
    /// ephemeral state, …) in git's index or HEAD.
    TrackedExcluded,
    /// `missing-gitignore`: a git repository whose `.gitignore` lacks the layout's exclusions.
    MissingGitignore,
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
    /// `push-failed`: the last push of the journal (by `dotdir push` or the background push)
    /// failed; nothing is lost, the commits wait for the next push.
    PushFailed,
    /// `unignored-secret`: git's own ignore stack (a negation in a `.gitignore`,
    /// `.git/info/exclude`, `core.excludesFile`) does not ignore a secret, so `git add -A` or
    /// the application's own `git add` would commit it.
    UnignoredSecret,
    /// `tracked-undeclared`: a path the layout does not declare is tracked by git (a `git add
    /// -A`, a commit by hand); the journal only ever commits declared files.
    TrackedUndeclared,
    /// `special-file`: a FIFO, socket or device in the data directory: never read (a read could
    /// block forever), never backed up.
    SpecialFile,
    /// `set-aside-mode`: a `.corrupt` copy more readable than the file it was set aside from
    /// (a private log's torn tail made world-readable).
    SetAsideMode,
    /// `damaged-record`: the journal's record of deferred commits
    /// (`.git/dotdir-pending-commits.json`) is not a readable list; the journal goes on without
    /// it, and the changes it named are found by scanning.
    DamagedRecord,
    /// `previous-directory`: the directory `restore --force` moved aside beside the data
    /// directory (`<dir>.before-restore-<n>`): it may hold secrets and untracked state the backup
    /// did not. dotdir never removes it.
    PreviousDirectory,
    /// `secret-in-history`: a declared secret that git no longer tracks but a recent commit
    /// holds: every clone or push of the history carries it.
    SecretInHistory,
    /// `corrupt-document`: a YAML or TOML document, or a Markdown file's front matter, that
    /// does not parse (with its line and column).
    CorruptDocument,
    /// A kind declared by a layout's own [`crate::Validator`].
    Other(&'static str),
}

impl ProblemKind {
    /// Every built-in kind, in report order.
    pub const ALL: [ProblemKind; 26] = [
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
        ProblemKind::UnknownEntry,
        ProblemKind::WrongKind,
        ProblemKind::Unreadable,
        ProblemKind::UncommittedChange,
        ProblemKind::PushFailed,
        ProblemKind::UnignoredSecret,
        ProblemKind::TrackedUndeclared,
        ProblemKind::SpecialFile,
        ProblemKind::SetAsideMode,
        ProblemKind::DamagedRecord,
        ProblemKind::TrackedExcluded,
        ProblemKind::PreviousDirectory,
        ProblemKind::SecretInHistory,
        ProblemKind::CorruptDocument,
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
            ProblemKind::UnknownEntry => "unknown-entry",
            ProblemKind::WrongKind => "wrong-kind",
            ProblemKind::Unreadable => "unreadable",
            ProblemKind::UncommittedChange => "uncommitted-change",
            ProblemKind::PushFailed => "push-failed",
            ProblemKind::UnignoredSecret => "unignored-secret",
            ProblemKind::TrackedUndeclared => "tracked-undeclared",
            ProblemKind::SpecialFile => "special-file",
            ProblemKind::SetAsideMode => "set-aside-mode",
            ProblemKind::DamagedRecord => "damaged-record",
            ProblemKind::TrackedExcluded => "tracked-excluded",
            ProblemKind::PreviousDirectory => "previous-directory",
            ProblemKind::SecretInHistory => "secret-in-history",
            ProblemKind::CorruptDocument => "corrupt-document",
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
                "the application cannot read this file until its front matter parses: fix the YAML at the given line, or move the file away"
            }
            ProblemKind::DuplicateId => {
                "two specs share one id: keep one, or give the other a new id"
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
            ProblemKind::PushFailed => {
                "run `dotdir push` to see why and push again; the commits are safe here meanwhile"
            }
            ProblemKind::OrphanTemp => {
                "a writer may still be running: run `dotdir check --fix` again once it has finished"
            }
            ProblemKind::TrackedSecret => {
                "run `dotdir check --fix` to untrack it (`git rm --cached` and a commit; the file stays); rotate the secret, its old content stays in the history"
            }
            ProblemKind::TrackedExcluded => {
                "run `dotdir check --fix` to untrack it; the file stays"
            }
            ProblemKind::UnignoredSecret => {
                "run `dotdir check --fix` (the layout's block goes to the end of .gitignore); if a nested .gitignore or git's own configuration still un-ignores it, remove that line by hand"
            }
            ProblemKind::SpecialFile => {
                "remove it (or move it out of the data directory): no application keeps a FIFO, socket or device here"
            }
            ProblemKind::TrackedUndeclared => {
                "run `dotdir check --fix` to untrack it (the file stays); declare it in the layout if it should be tracked"
            }
            ProblemKind::CorruptDocument => {
                "the application cannot read this file: fix it at the given line and column, or restore it from a backup or the git history"
            }
            ProblemKind::SecretInHistory => {
                "rotate the secret (log in again, revoke the old token): its old content stays in this history and every copy of it; `git filter-repo` and a force-push rewrite the history, but clones already made keep it"
            }
            ProblemKind::PreviousDirectory => {
                "copy back what you still need (secrets such as OAuth tokens, state the backup did not hold), then delete it yourself"
            }
            ProblemKind::SecretMode
            | ProblemKind::DamagedRecord
            | ProblemKind::SetAsideMode
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
            | ProblemKind::PreviousDirectory
            | ProblemKind::OversizedRecord => Severity::Notice,
            ProblemKind::StaleLock
            | ProblemKind::OrphanTemp
            | ProblemKind::MissingGitignore
            | ProblemKind::UncommittedChange
            | ProblemKind::TrackedUndeclared
            | ProblemKind::TrackedExcluded
            | ProblemKind::DamagedRecord
            | ProblemKind::PushFailed => Severity::Warning,
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
    /// What a person should do about it when `--fix` cannot: the kind's
    /// [`ProblemKind::advice`], or the layout validator's own.
    pub advice: &'static str,
    /// `dotdir check --fix` ([`fix`](super::fix)) can repair it without losing anything.
    pub fixable: bool,
    /// The 1-based line the problem is on, when it has one.
    pub line: Option<u64>,
    /// The 1-based column, when it has one.
    pub column: Option<u64>,
    pub(super) action: Option<(Action, PathBuf)>,
}

impl Problem {
    pub(super) fn new(kind: ProblemKind, path: &str, message: impl Into<String>) -> Self {
        Self {
            kind,
            severity: kind.severity(),
            path: path.to_owned(),
            message: message.into(),
            advice: kind.advice(),
            fixable: false,
            line: None,
            column: None,
            action: None,
        }
    }

    /// Marks the problem fixable by `action` on `target` (the real path: a relative path
    /// printed lossily would not name a file whose name is not UTF-8).
    pub(super) fn fix_with(mut self, action: Action, target: &Path) -> Self {
        self.fixable = true;
        self.action = Some((action, target.to_path_buf()));
        self
    }

    pub(super) fn at(mut self, line: Option<u64>, column: Option<u64>) -> Self {
        self.line = line;
        self.column = column;
        self
    }
}

/// The repair a fixable problem gets.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Action {
    /// Remove the group and other permission bits.
    Tighten { to: u32 },
    /// Remove a pid record whose holder is gone.
    RemoveStaleLock,
    /// Move the torn tail and the corrupt lines of a JSON Lines file to `<name>.corrupt`.
    SetAsideLines,
    /// Remove an abandoned temporary file.
    RemoveTemp,
    /// Remove the staging directory a killed restore left beside the data directory (under
    /// the restores' lock on its parent).
    RemoveStaging { bytes: u64 },
    /// Drop the records older than the retention.
    Prune { ttl: Duration },
    #[cfg(feature = "git")]
    /// Write the layout's exclusions into `.gitignore`, keeping what is there.
    WriteGitignore,
    #[cfg(feature = "git")]
    /// Remove an excluded path from git's index and commit (`git rm --cached`); the file stays.
    Untrack,
    #[cfg(feature = "git")]
    /// Commit every tracked path that differs from HEAD (what an interrupted write left).
    CommitChanged,
    #[cfg(feature = "git")]
    /// Move a damaged journal record aside, then commit what differs from HEAD (what it named).
    SetAsideRecord,
}

impl Action {
    /// Whether the repair runs after every other (the commit of what changed, so it takes
    /// the other repairs' changes too).
    pub(super) fn comes_last(&self) -> bool {
        #[cfg(feature = "git")]
        let last = *self == Action::CommitChanged;
        #[cfg(not(feature = "git"))]
        let last = false;
        last
    }

    /// Whether the repair rewrites or removes something the application itself writes, so that
    /// it could race a running application (which takes none of dotdir's locks). A mode and a
    /// killed restore's staging cannot; a pid record is removed only once its holder is proven
    /// dead, which a running (or untellable) application is not.
    pub(super) fn races_the_app(&self) -> bool {
        !matches!(self, Action::Tighten { .. } | Action::RemoveStaging { .. })
    }
}
