//! The journal: opening the repository in exactly the data directory, and committing paths.

use crate::IoError;
use std::{
    ffi::OsStr,
    fmt, fs, io,
    os::unix::fs::PermissionsExt,
    path::{Component, Path, PathBuf},
    thread,
    time::{Duration, Instant},
};

use dotdir_atomic_store::{Durability, WriteOptions};
use git2::{ErrorCode, Repository, RepositoryInitOptions, RepositoryOpenFlags, Signature};
use parking_lot::Mutex;

use crate::{
    Error, Exclusions, Result, Step,
    exclude::merge_gitignore,
    fsync::set_fsync_gitdir,
    gitdir,
    recover::{self, Phase},
    tree::{Edit, apply_edits},
};

/// The name and email written as author and committer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The name (`user.name`).
    pub name: String,
    /// The email (`user.email`).
    pub email: String,
}

impl Identity {
    /// An identity.
    pub fn new(name: impl Into<String>, email: impl Into<String>) -> Self {
        Identity { name: name.into(), email: email.into() }
    }
}

impl Default for Identity {
    /// `dotdir <dotdir@localhost>`.
    fn default() -> Self {
        Identity::new("dotdir", "dotdir@localhost")
    }
}

/// How long the journal retries when another process holds `index.lock` or a ref lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The total time spent retrying before [`Error::Locked`] is returned. Default: 10 s.
    pub max_wait: Duration,
    /// The first pause; each next pause doubles, with jitter. Default: 1 ms.
    pub first_backoff: Duration,
    /// The longest pause. Default: 100 ms.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_wait: Duration::from_secs(10),
            first_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(100),
        }
    }
}

/// How a [`Journal`] behaves. `JournalOptions::default()` excludes only the
/// [`crate::BUILTIN_EXCLUSIONS`], takes the identity from git config with `dotdir
/// <dotdir@localhost>` as the fallback, turns on libgit2's fsync and maintains `.gitignore`.
#[derive(Debug, Clone)]
pub struct JournalOptions {
    /// Paths that are never staged (and are written to `.gitignore`).
    pub exclusions: Exclusions,
    /// The author and committer when git config has no `user.name`/`user.email` (or when
    /// [`JournalOptions::identity_from_git_config`] is off).
    pub identity: Identity,
    /// Use `user.name` and `user.email` from git config (the repository's, the user's, the
    /// system's) when they are set. Default: on.
    pub identity_from_git_config: bool,
    /// How durable the journal's own changes are. [`Durability::Full`] (the default) turns on
    /// libgit2's fsync of the git directory when the journal opens (**process-wide**: see
    /// [`crate::set_fsync_gitdir`]) and makes removals and restores durable;
    /// [`Durability::None`] leaves the process-wide setting as it is and syncs nothing.
    pub durability: Durability,
    /// Keep the journal's block of `.gitignore` equal to the exclusion list, and commit it.
    /// Default: on.
    pub manage_gitignore: bool,
    /// The message of the commit that updates `.gitignore`.
    pub gitignore_message: String,
    /// Retry budget for locks held by other live processes.
    pub retry: RetryPolicy,
    /// A lock file (`index.lock`, a ref lock) not provably left by a dead journal writer is
    /// removed once it is older than this (a `git` command killed by its user). `None` never
    /// removes such a lock. Default: 10 minutes.
    pub foreign_lock_timeout: Option<Duration>,
    /// The branch a new repository starts on. `None` lets libgit2 decide (`init.defaultBranch`,
    /// else `master`).
    pub initial_branch: Option<String>,
    /// Push to this remote (a configured remote's name) in the background after every commit,
    /// through the user's `git`, after the audit of what would leave ([`crate::audit_outgoing`]).
    /// Opt-in (default `None`): a commit never waits for it or fails because of it; the outcome
    /// of the last push is in [`crate::push_status`].
    pub auto_push: Option<String>,
    /// The secret files: glob patterns ([`crate::glob_match`], from the top of the directory;
    /// one matching a directory covers the files under it). A push refuses any blob, under any
    /// path, whose bytes equal a secret file's current bytes ([`crate::SecretBlobs`]). These
    /// patterns are not added to the exclusions: exclude a secret too (a layout's `.secret()`
    /// entry does both). Default: none.
    pub secrets: Vec<String>,
    /// How long one `git` command run without a terminal may take before it is killed, with
    /// every process it started ([`crate::Error::GitStopped`]): each command of the background
    /// push ([`JournalOptions::auto_push`]) and of [`Journal::push_with_git`] or
    /// [`Journal::audit_outgoing`] with `interactive` off. `None` never kills one. Default: 60
    /// seconds.
    pub git_timeout: Option<Duration>,
}

impl Default for JournalOptions {
    fn default() -> Self {
        JournalOptions {
            exclusions: Exclusions::default(),
            identity: Identity::default(),
            identity_from_git_config: true,
            durability: Durability::Full,
            manage_gitignore: true,
            gitignore_message: "journal: update .gitignore".to_owned(),
            retry: RetryPolicy::default(),
            foreign_lock_timeout: Some(Duration::from_secs(600)),
            initial_branch: None,
            auto_push: None,
            secrets: Vec::new(),
            git_timeout: Some(Duration::from_secs(60)),
        }
    }
}

impl JournalOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`JournalOptions::exclusions`].
    #[must_use]
    pub fn exclusions(mut self, exclusions: Exclusions) -> Self {
        self.exclusions = exclusions;
        self
    }

    /// Sets [`JournalOptions::identity`].
    #[must_use]
    pub fn identity(mut self, identity: Identity) -> Self {
        self.identity = identity;
        self
    }

    /// Sets [`JournalOptions::identity_from_git_config`].
    #[must_use]
    pub fn identity_from_git_config(mut self, enabled: bool) -> Self {
        self.identity_from_git_config = enabled;
        self
    }

    /// Sets [`JournalOptions::auto_push`].
    #[must_use]
    pub fn auto_push(mut self, remote: impl Into<String>) -> Self {
        self.auto_push = Some(remote.into());
        self
    }

    /// Sets [`JournalOptions::git_timeout`].
    #[must_use]
    pub fn git_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.git_timeout = timeout;
        self
    }

    /// Sets [`JournalOptions::secrets`].
    #[must_use]
    pub fn secrets<I, S>(mut self, patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.secrets = patterns.into_iter().map(Into::into).collect();
        self
    }

    /// Sets [`JournalOptions::durability`].
    #[must_use]
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Sets [`JournalOptions::manage_gitignore`].
    #[must_use]
    pub fn manage_gitignore(mut self, enabled: bool) -> Self {
        self.manage_gitignore = enabled;
        self
    }

    /// Sets [`JournalOptions::retry`].
    #[must_use]
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets [`JournalOptions::foreign_lock_timeout`].
    #[must_use]
    pub fn foreign_lock_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.foreign_lock_timeout = timeout;
        self
    }

    /// Sets [`JournalOptions::initial_branch`].
    #[must_use]
    pub fn initial_branch(mut self, branch: impl Into<String>) -> Self {
        self.initial_branch = Some(branch.into());
        self
    }
}

/// The id of a commit (a SHA-1 object id).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommitId(pub(crate) git2::Oid);

impl CommitId {
    /// Parses a full 40-digit hexadecimal id.
    pub fn from_hex(hex: &str) -> Option<CommitId> {
        (hex.len() == 40).then(|| git2::Oid::from_str(hex).ok().map(CommitId)).flatten()
    }

    /// The 20 bytes of the id.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Display for CommitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for CommitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CommitId({})", self.0)
    }
}

/// An auto-committing journal over one directory's git repository.
///
/// Every mutating call holds an in-process mutex and the journal's cross-process `flock`, so
/// threads and processes that share the directory commit one after another, each on top of the
/// last: the history stays linear. See the crate documentation for crash recovery.
pub struct Journal {
    dir: PathBuf,
    /// The directory as the caller named it (made absolute), for absolute paths built from it.
    given_dir: PathBuf,
    git_dir: PathBuf,
    pub(crate) options: JournalOptions,
    repo: Mutex<Repository>,
    auto_push: crate::remote::AutoPush,
}

impl fmt::Debug for Journal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Journal")
            .field("dir", &self.dir)
            .field("git_dir", &self.git_dir)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// A validated path relative to the journal's directory, `/`-separated.
pub(crate) type RelPath = String;

/// Whether a path may be excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Excluded {
    /// An excluded path is an error (every call that stages).
    Refused,
    /// An excluded path is fine (untracking only removes).
    Allowed,
}

/// How the paths of a mutation are staged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Staging {
    /// As they are in the working tree: added, modified or deleted.
    WorkTree,
    /// Removed from the index and the tree whatever the working tree holds (`git rm --cached`).
    Untrack,
}

impl Staging {
    /// The paths the intent record names. Recovery commits a dead writer's paths as they are
    /// in the working tree, which would re-add an untracked file: an untrack records none.
    fn intent(self, rels: &[RelPath]) -> &[RelPath] {
        match self {
            Staging::WorkTree => rels,
            Staging::Untrack => &[],
        }
    }
}

/// What a path is in the working tree, decided under the lock.
enum Change {
    /// A file or symbolic link to stage.
    Upsert(RelPath),
    /// Gone from the working tree: remove it (and anything under it) from the tree.
    Delete(RelPath),
}

impl Journal {
    /// Opens the repository whose work tree is exactly `dir`, or initialises one there.
    ///
    /// `dir` is created when missing. A repository in an ancestor of `dir` is never used: the
    /// search stops at `dir` (`GIT_REPOSITORY_OPEN_NO_SEARCH`), and a repository found at `dir`
    /// whose work tree is somewhere else (a bare repository, `core.worktree`) is an
    /// [`Error::NotAWorkTree`]. With [`JournalOptions::manage_gitignore`], `.gitignore` is
    /// brought up to date and committed when it changed.
    pub fn open(dir: impl AsRef<Path>, options: JournalOptions) -> Result<Journal> {
        let given = dir.as_ref();
        fs::create_dir_all(given).map_err(IoError::on(Step::CreateDir, given))?;
        let dir = given.canonicalize().map_err(IoError::on(Step::Resolve, given))?;
        if options.durability == Durability::Full {
            set_fsync_gitdir(true)?;
        }
        let repo = open_or_init(&dir, &options)?;
        let git_dir = repo.path().to_path_buf();
        // Temporary files of intent records whose writer was killed mid-write.
        let _ = dotdir_atomic_store::sweep_temps(&git_dir, Some(OsStr::new(recover::INTENT_FILE)))?;
        let given_dir = std::path::absolute(given).unwrap_or_else(|_| dir.clone());
        let journal = Journal {
            dir,
            given_dir,
            git_dir,
            options,
            repo: Mutex::new(repo),
            auto_push: crate::remote::AutoPush::default(),
        };
        if journal.options.manage_gitignore {
            journal.sync_gitignore()?;
        }
        Ok(journal)
    }

    /// Opens the repository of `dir` only to read it, as `dotdir check` does: nothing is
    /// created, initialised, locked, swept or written, so it works on a directory the caller may
    /// only read. A directory without a repository of its own is an error, never a new one.
    /// Reading methods work; a commit through it is refused by git's own checks or writes.
    pub fn open_read_only(dir: impl AsRef<Path>, options: JournalOptions) -> Result<Journal> {
        let given = dir.as_ref();
        let dir = given.canonicalize().map_err(IoError::on(Step::Resolve, given))?;
        refuse_git_link(&dir)?;
        let repo = Repository::open_ext(
            &dir,
            RepositoryOpenFlags::NO_SEARCH,
            std::iter::empty::<&OsStr>(),
        )
        .map_err(Error::git(Step::Open, &dir))?;
        let repo = check_work_tree(repo, &dir)?;
        let git_dir = repo.path().to_path_buf();
        Ok(Journal {
            given_dir: std::path::absolute(given).unwrap_or_else(|_| dir.clone()),
            dir,
            git_dir,
            options: JournalOptions { manage_gitignore: false, ..options },
            repo: Mutex::new(repo),
            auto_push: crate::remote::AutoPush::default(),
        })
    }

    /// The directory (the top of the work tree), with symbolic links resolved.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The git directory (`<dir>/.git`).
    pub fn git_dir(&self) -> &Path {
        &self.git_dir
    }

    pub(crate) fn repo(&self) -> &Mutex<Repository> {
        &self.repo
    }

    /// The exclusion list in force.
    pub fn exclusions(&self) -> &Exclusions {
        &self.options.exclusions
    }

    /// The commit HEAD points to; `None` before the first commit.
    pub fn head(&self) -> Result<Option<CommitId>> {
        let repo = self.repo.lock();
        Ok(head_commit(&repo, &self.git_dir)?.map(|commit| CommitId(commit.id())))
    }

    /// Commits the current state of one path: a file added or modified, a file or directory
    /// deleted, or every file under a directory (excluded files under it are skipped).
    ///
    /// `Ok(None)` when HEAD already has exactly that content: no empty commit is made. An
    /// excluded path is an [`Error::Excluded`] and nothing is staged.
    pub fn commit_path(&self, path: impl AsRef<Path>, message: &str) -> Result<Option<CommitId>> {
        self.commit_paths(&[path.as_ref()], message)
    }

    /// Commits the current state of several paths in one commit (see [`Journal::commit_path`]).
    /// If any path is excluded or invalid, nothing is committed.
    ///
    /// The cost depends on the paths and the directories that hold them, not on the number of
    /// other files or the length of the history: each named file is hashed, the trees on its
    /// path are rewritten, and the index is read (when another process changed it) and written.
    pub fn commit_paths<P: AsRef<Path>>(
        &self,
        paths: &[P],
        message: &str,
    ) -> Result<Option<CommitId>> {
        let rels = self.validate_all(paths)?;
        self.mutate(&rels, message, |_| Ok(()))
    }

    /// Atomically writes `bytes` to `path` (through `dotdir-atomic-store` with `options`) and
    /// commits it, both under the journal's lock, so concurrent writers of one file each get
    /// their own commit. An excluded path is refused before anything is written.
    pub fn write(
        &self,
        path: impl AsRef<Path>,
        bytes: &[u8],
        options: &WriteOptions,
        message: &str,
    ) -> Result<Option<CommitId>> {
        let rel = self.validate(path.as_ref())?;
        let target = self.dir.join(&rel);
        self.mutate(std::slice::from_ref(&rel), message, |_| {
            let _ = dotdir_atomic_store::write(&target, bytes, options)?;
            Ok(())
        })
    }

    /// Deletes the file at `path` (when present; a symlink is removed, never followed) and
    /// commits the deletion. The removal is durable (`dotdir_atomic_store::remove`: unlink,
    /// then fsync the directory) before the commit is made.
    pub fn remove(&self, path: impl AsRef<Path>, message: &str) -> Result<Option<CommitId>> {
        let rel = self.validate(path.as_ref())?;
        let target = self.dir.join(&rel);
        self.mutate(std::slice::from_ref(&rel), message, |_| {
            let _ = dotdir_atomic_store::remove(&target, self.options.durability)?;
            Ok(())
        })
    }

    /// Stops tracking `paths` — what `git rm --cached -r` does: each path (a directory: every
    /// file under it) is removed from the index and from the new commit's tree, and the files
    /// stay on disk untouched. Unlike every other call this accepts excluded paths, since it
    /// only ever removes them: it is how a secret someone force-added (`git add -f`, reported
    /// by [`Journal::audit`]) leaves the index. Their earlier content stays in the history:
    /// rotate such a secret.
    ///
    /// `Ok(None)` when none of the paths was tracked (no empty commit). If any path is invalid
    /// (outside the directory, inside `.git`, not UTF-8), nothing is changed. A process killed
    /// during the call leaves the paths tracked or untracked, never re-added; calling again
    /// finishes the job.
    pub fn untrack<P: AsRef<Path>>(&self, paths: &[P], message: &str) -> Result<Option<CommitId>> {
        let mut rels = Vec::with_capacity(paths.len());
        for path in paths {
            let rel = self.validate_path(path.as_ref(), Excluded::Allowed)?;
            if !rels.contains(&rel) {
                rels.push(rel);
            }
        }
        self.mutate_as(&rels, message, Staging::Untrack, |_| Ok(()))
    }

    /// Commits everything that differs from HEAD (new, modified and deleted files), except
    /// excluded paths, which are skipped silently. Unlike the other calls this scans the whole
    /// working tree (libgit2's status), so its cost grows with the repository.
    pub fn commit_all_changed(&self, message: &str) -> Result<Option<CommitId>> {
        let rels = self.uncommitted_rels()?;
        if rels.is_empty() {
            return Ok(None);
        }
        self.mutate(&rels, message, |_| Ok(()))
    }

    /// The paths that differ from HEAD (modified, new or deleted) and that the journal would
    /// commit, excluded paths left out: what a writer killed between its write and its commit
    /// left behind. Scans the whole working tree (libgit2's status); writes nothing.
    pub fn uncommitted(&self) -> Result<Vec<String>> {
        self.uncommitted_rels()
    }

    fn uncommitted_rels(&self) -> Result<Vec<RelPath>> {
        let paths = {
            let repo = self.repo.lock();
            changed_paths(&repo, &self.dir)?
        };
        Ok(paths.into_iter().filter_map(|path| self.validate(Path::new(&path)).ok()).collect())
    }

    /// Excluded and undeclared paths that git tracks anyway (in HEAD's tree or in the index),
    /// for example a secret a person force-added with `git add -f`, or a file a `git add -A`
    /// picked up. The journal never stages them, but their earlier content is in the history:
    /// a caller should report them. Scans the whole tree.
    pub fn audit(&self) -> Result<Vec<PathBuf>> {
        let repo = self.repo.lock();
        let mut found = std::collections::BTreeSet::new();
        if let Some(commit) = head_commit(&repo, &self.git_dir)? {
            let tree = commit.tree().map_err(Error::git(Step::ReadHistory, &self.git_dir))?;
            tree.walk(git2::TreeWalkMode::PreOrder, |root, entry| {
                if let Ok(name) = entry.name() {
                    let path = format!("{root}{name}");
                    let is_tree = entry.kind() == Some(git2::ObjectType::Tree);
                    if self.options.exclusions.matching(&path).is_some()
                        || (!is_tree && !self.options.exclusions.is_declared(&path))
                    {
                        found.insert(PathBuf::from(path));
                        return git2::TreeWalkResult::Skip;
                    }
                }
                git2::TreeWalkResult::Ok
            })
            .map_err(Error::git(Step::ReadHistory, &self.git_dir))?;
        }
        let mut index = repo.index().map_err(Error::git(Step::ReadIndex, &self.git_dir))?;
        index.read(false).map_err(Error::git(Step::ReadIndex, &self.git_dir))?;
        for entry in index.iter() {
            let path = String::from_utf8_lossy(&entry.path).into_owned();
            if !self.options.exclusions.allows(&path) {
                found.insert(PathBuf::from(path));
            }
        }
        Ok(found.into_iter().collect())
    }

    /// Whether git itself ignores `rel` (a `/`-separated path inside the directory), judged by
    /// its whole ignore stack as `git check-ignore` does: `.gitignore` files at every level
    /// with their negations, `.git/info/exclude` and `core.excludesFile`. What the journal
    /// refuses is refused in code whatever this says; this tells whether the `git` command
    /// line (`git add -A`, the real application) would pick the path up.
    pub fn is_ignored(&self, rel: &str) -> Result<bool> {
        gitdir::refuse_special_files(&self.dir, &self.git_dir, false)?;
        let repo = self.repo.lock();
        repo.is_path_ignored(rel).map_err(Error::git(Step::Status, &self.git_dir))
    }

    /// Brings the journal's block of `.gitignore` up to date with the exclusion list, and
    /// commits `.gitignore` if it changed. Lines outside the block are kept.
    pub fn sync_gitignore(&self) -> Result<Option<CommitId>> {
        let path = self.dir.join(".gitignore");
        let block = self.options.exclusions.gitignore_block();
        let wanted = |path: &Path| -> Result<Option<String>> {
            let existing = dotdir_atomic_store::read(path, 1024 * 1024)?.unwrap_or_default();
            let existing = String::from_utf8(existing).map_err(|_| Error::InvalidPath {
                path: path.to_path_buf(),
                reason: "not UTF-8",
            })?;
            let merged = merge_gitignore(&existing, &block);
            Ok((merged != existing).then_some(merged))
        };
        if wanted(&path)?.is_none() {
            return Ok(None);
        }
        let rel = ".gitignore".to_owned();
        if self.options.exclusions.matching(&rel).is_some() {
            // The caller excluded .gitignore itself: keep it up to date, never commit it.
            if let Some(merged) = wanted(&path)? {
                let _ = dotdir_atomic_store::write(&path, merged.as_bytes(), &WriteOptions::new())?;
            }
            return Ok(None);
        }
        let message = self.options.gitignore_message.clone();
        self.mutate(std::slice::from_ref(&rel), &message, |_| {
            if let Some(merged) = wanted(&path)? {
                let _ = dotdir_atomic_store::write(&path, merged.as_bytes(), &WriteOptions::new())?;
            }
            Ok(())
        })
    }

    /// Checks a path and turns it into a `/`-separated path relative to the directory. An
    /// excluded path is [`Error::Excluded`].
    pub(crate) fn validate(&self, path: &Path) -> Result<RelPath> {
        self.validate_path(path, Excluded::Refused)
    }

    fn validate_path(&self, path: &Path, excluded: Excluded) -> Result<RelPath> {
        let invalid = |reason| Error::InvalidPath { path: path.to_path_buf(), reason };
        let relative = if path.is_absolute() {
            path.strip_prefix(&self.dir)
                .or_else(|_| path.strip_prefix(&self.given_dir))
                .map_err(|_| invalid("outside the journal's directory"))?
        } else {
            path
        };
        let mut components = Vec::new();
        for component in relative.components() {
            match component {
                Component::Normal(name) => {
                    let name = name.to_str().ok_or_else(|| invalid("not UTF-8"))?;
                    if name.eq_ignore_ascii_case(".git") {
                        return Err(invalid("inside a git directory"));
                    }
                    if name.contains(['\n', '\r', '\\']) {
                        return Err(invalid("contains a line break or a backslash"));
                    }
                    components.push(name);
                }
                Component::CurDir => {}
                _ => return Err(invalid("has a `..` or root component")),
            }
        }
        if components.is_empty() {
            return Err(invalid("names the directory itself"));
        }
        let rel = components.join("/");
        if excluded == Excluded::Refused {
            if let Some(pattern) = self.options.exclusions.matching(&rel) {
                let pattern = pattern.to_owned();
                return Err(Error::Excluded { path: PathBuf::from(rel), pattern });
            }
            // A directory is walked file by file (each one judged then); anything else must
            // be declared.
            let is_dir = fs::symlink_metadata(self.dir.join(&rel)).is_ok_and(|m| m.is_dir());
            if !is_dir && !self.options.exclusions.is_declared(&rel) {
                return Err(Error::Undeclared { path: PathBuf::from(rel) });
            }
        }
        // A path through a symbolic link would make git read outside the directory.
        let mut prefix = self.dir.clone();
        for (depth, name) in components.iter().enumerate().take(components.len() - 1) {
            prefix.push(name);
            match fs::symlink_metadata(&prefix) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(Error::BeyondSymlink {
                        path: PathBuf::from(&rel),
                        link: PathBuf::from(components[..=depth].join("/")),
                    });
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        Ok(rel)
    }

    fn validate_all<P: AsRef<Path>>(&self, paths: &[P]) -> Result<Vec<RelPath>> {
        let mut rels = Vec::with_capacity(paths.len());
        for path in paths {
            let rel = self.validate(path.as_ref())?;
            if !rels.contains(&rel) {
                rels.push(rel);
            }
        }
        Ok(rels)
    }

    /// The one path every mutation takes: the in-process mutex, the journal's flock, recovery
    /// of a dead writer, the intent record, `before` (the write itself), the commit with
    /// retries, and the removal of the intent record.
    pub(crate) fn mutate(
        &self,
        rels: &[RelPath],
        message: &str,
        before: impl FnOnce(&Repository) -> Result<()>,
    ) -> Result<Option<CommitId>> {
        self.mutate_as(rels, message, Staging::WorkTree, before)
    }

    /// [`Journal::mutate`], staging `rels` as `staging` says.
    fn mutate_as(
        &self,
        rels: &[RelPath],
        message: &str,
        staging: Staging,
        before: impl FnOnce(&Repository) -> Result<()>,
    ) -> Result<Option<CommitId>> {
        let repo = self.repo.lock();
        let _flock = dotdir_atomic_store::lock(&self.git_dir.join(recover::LOCK_BASE))?;
        // Before anything is written (the caller's file, the recovery of a dead writer).
        gitdir::check_write_paths(&repo, &self.git_dir)?;
        self.recover(&repo)?;
        recover::write_intent(&self.git_dir, Phase::Commit, message, staging.intent(rels))?;
        let result =
            before(&repo).and_then(|()| self.commit_with_retry(&repo, rels, message, staging));
        if result.is_err() {
            // Leave nothing half-staged in memory; the next call rereads the index.
            if let Ok(mut index) = repo.index() {
                let _ = index.read(true);
            }
        }
        // The work is done or failed cleanly (libgit2 removes its own locks on error).
        recover::clear_intent(&self.git_dir)?;
        drop(repo);
        if let (Ok(Some(_)), Some(remote)) = (&result, &self.options.auto_push) {
            self.auto_push.request(&self.dir, &self.git_dir, &self.options, remote);
        }
        result
    }

    /// Removes provably stale locks and finishes the commit of a dead writer.
    fn recover(&self, repo: &Repository) -> Result<()> {
        let recovery = recover::recover(repo, &self.git_dir, self.options.foreign_lock_timeout)?;
        let Some(intent) = recovery.intent else { return Ok(()) };
        let rels: Vec<RelPath> =
            intent.paths.iter().filter_map(|path| self.validate(Path::new(path)).ok()).collect();
        if !rels.is_empty()
            && let Err(error) =
                self.commit_with_retry(repo, &rels, &intent.message, Staging::WorkTree)
        {
            // Keep the dead writer's paths for the next attempt, in the phase that claims no
            // lock file: whatever is locked now is someone else's.
            recover::write_intent(&self.git_dir, Phase::Wait, &intent.message, &rels)?;
            return Err(error);
        }
        recover::clear_intent(&self.git_dir)
    }

    fn commit_with_retry(
        &self,
        repo: &Repository,
        rels: &[RelPath],
        message: &str,
        staging: Staging,
    ) -> Result<Option<CommitId>> {
        let retry = self.options.retry;
        let started = Instant::now();
        let mut backoff = retry.first_backoff;
        loop {
            let error = match self.try_commit(repo, rels, message, staging) {
                Ok(id) => return Ok(id),
                Err(error) => error,
            };
            let Error::Git { source, .. } = &error else { return Err(error) };
            if !matches!(source.code(), ErrorCode::Locked | ErrorCode::Modified) {
                return Err(error);
            }
            let waited = started.elapsed();
            if waited >= retry.max_wait {
                let Error::Git { source, .. } = error else { return Err(error) };
                return Err(Error::Locked {
                    lock: lock_named_in(&source, &self.git_dir),
                    waited,
                    source,
                });
            }
            // Whatever libgit2 locked in this attempt it released when it failed; while we
            // sleep, a lock file that appears is someone else's.
            if let Ok(mut index) = repo.index() {
                let _ = index.read(true);
            }
            recover::write_intent(&self.git_dir, Phase::Wait, message, staging.intent(rels))?;
            let jitter = backoff.mul_f64(0.5 + fastrand::f64());
            thread::sleep(jitter.min(retry.max_wait.saturating_sub(waited)));
            backoff = (backoff * 2).min(retry.max_backoff);
            // A `git` killed while we waited may have left its lock behind for good.
            let _ = recover::recover(repo, &self.git_dir, self.options.foreign_lock_timeout)?;
            recover::write_intent(&self.git_dir, Phase::Commit, message, staging.intent(rels))?;
        }
    }

    /// One attempt: stage each path in the index, build the new tree from HEAD's tree, write
    /// the index, commit.
    fn try_commit(
        &self,
        repo: &Repository,
        rels: &[RelPath],
        message: &str,
        staging: Staging,
    ) -> Result<Option<CommitId>> {
        let git_dir = &self.git_dir;
        let mut index = repo.index().map_err(Error::git(Step::ReadIndex, git_dir))?;
        index.read(false).map_err(Error::git(Step::ReadIndex, git_dir))?;
        let head = head_commit(repo, git_dir)?;
        let base = match &head {
            Some(commit) => Some(commit.tree().map_err(Error::git(Step::ReadHistory, git_dir))?),
            None => None,
        };
        let mut changes = Vec::new();
        for rel in rels {
            match staging {
                Staging::WorkTree => self.classify(rel, &mut changes)?,
                Staging::Untrack => changes.push(Change::Delete(rel.clone())),
            }
        }
        let mut edits = Vec::with_capacity(changes.len());
        let mut index_dirty = false;
        for change in &changes {
            match change {
                Change::Upsert(rel) => {
                    let path = Path::new(rel);
                    let before = index.get_path(path, 0);
                    add_path_stable(&mut index, path, &self.dir.join(path))
                        .map_err(Error::git(Step::Stage, rel))?;
                    let entry = index.get_path(path, 0).ok_or_else(|| Error::Git {
                        step: Step::Stage,
                        path: rel.into(),
                        source: git2::Error::from_str("the staged entry is missing from the index"),
                    })?;
                    index_dirty |= before.is_none_or(|before| !same_entry(&before, &entry));
                    edits.push(Edit {
                        path: rel.clone(),
                        entry: Some((entry.id, entry.mode as i32)),
                    });
                }
                Change::Delete(rel) => {
                    let path = Path::new(rel);
                    if index.get_path(path, 0).is_some() {
                        index.remove_path(path).map_err(Error::git(Step::Stage, rel))?;
                        index_dirty = true;
                    }
                    let count = index.len();
                    index.remove_dir(path, 0).map_err(Error::git(Step::Stage, rel))?;
                    index_dirty |= index.len() != count;
                    edits.push(Edit { path: rel.clone(), entry: None });
                }
            }
        }
        let tree_id = match apply_edits(repo, base.as_ref(), &edits)? {
            Some(id) => id,
            None => repo
                .treebuilder(None)
                .and_then(|builder| builder.write())
                .map_err(Error::git(Step::WriteTree, git_dir))?,
        };
        if index_dirty {
            index.write().map_err(Error::git(Step::WriteIndex, git_dir.join("index")))?;
        }
        let unchanged = match &base {
            Some(base) => base.id() == tree_id,
            None => edits.iter().all(|edit| edit.entry.is_none()),
        };
        if unchanged {
            return Ok(None);
        }
        let tree = repo.find_tree(tree_id).map_err(Error::git(Step::WriteTree, git_dir))?;
        let signature = self.signature(repo)?;
        let parents: Vec<&git2::Commit<'_>> = head.iter().collect();
        let id = repo
            .commit(Some("HEAD"), &signature, &signature, message, &tree, &parents)
            .map_err(Error::git(Step::Commit, git_dir))?;
        Ok(Some(CommitId(id)))
    }

    /// Decides what `rel` is in the working tree and appends the changes it means.
    fn classify(&self, rel: &RelPath, changes: &mut Vec<Change>) -> Result<()> {
        let full = self.dir.join(rel);
        let meta = match fs::symlink_metadata(&full) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(20) => {
                // ENOTDIR: a parent is now a file; the path is gone either way.
                changes.push(Change::Delete(rel.clone()));
                return Ok(());
            }
            Err(e) => return Err(IoError::on(Step::Inspect, full)(e).into()),
        };
        let kind = meta.file_type();
        if kind.is_file() || kind.is_symlink() {
            changes.push(Change::Upsert(rel.clone()));
        } else if kind.is_dir() {
            // The directory replaces whatever was tracked there: drop it, then add every file.
            changes.push(Change::Delete(rel.clone()));
            self.walk(&full, rel, changes)?;
        } else {
            return Err(Error::InvalidPath {
                path: rel.into(),
                reason: "not a regular file, symbolic link or directory",
            });
        }
        Ok(())
    }

    fn walk(&self, dir: &Path, rel: &str, changes: &mut Vec<Change>) -> Result<()> {
        let entries = fs::read_dir(dir).map_err(IoError::on(Step::List, dir))?;
        let mut names: Vec<_> = entries
            .map(|entry| entry.map(|e| e.file_name()))
            .collect::<io::Result<_>>()
            .map_err(IoError::on(Step::List, dir))?;
        names.sort();
        for name in names {
            let Some(name) = name.to_str() else { continue };
            let child_rel = format!("{rel}/{name}");
            // Nested repositories, excluded and unnameable paths are not the caller's request.
            if name.eq_ignore_ascii_case(".git")
                || name.contains(['\n', '\r', '\\'])
                || self.options.exclusions.matching(&child_rel).is_some()
            {
                continue;
            }
            let child = dir.join(name);
            let Ok(meta) = fs::symlink_metadata(&child) else { continue };
            let kind = meta.file_type();
            if kind.is_file() || kind.is_symlink() {
                if self.options.exclusions.is_declared(&child_rel) {
                    changes.push(Change::Upsert(child_rel));
                }
            } else if kind.is_dir() && !child.join(".git").exists() {
                self.walk(&child, &child_rel, changes)?;
            }
        }
        Ok(())
    }

    fn signature(&self, repo: &Repository) -> Result<Signature<'static>> {
        if self.options.identity_from_git_config
            && let Ok(signature) = repo.signature()
        {
            return Ok(signature);
        }
        let Identity { name, email } = &self.options.identity;
        Signature::now(name, email).map_err(Error::git(Step::Commit, &self.git_dir))
    }
}

fn same_entry(a: &git2::IndexEntry, b: &git2::IndexEntry) -> bool {
    a.id == b.id
        && a.mode == b.mode
        && a.file_size == b.file_size
        && a.ino == b.ino
        && a.mtime == b.mtime
        && a.ctime == b.ctime
}

/// The commit HEAD points to, `None` on an unborn branch.
pub(crate) fn head_commit<'r>(
    repo: &'r Repository,
    git_dir: &Path,
) -> Result<Option<git2::Commit<'r>>> {
    match repo.head() {
        Ok(head) => head.peel_to_commit().map(Some).map_err(Error::git(Step::ReadHistory, git_dir)),
        Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => Ok(None),
        Err(e) => Err(Error::git(Step::ReadHistory, git_dir)(e)),
    }
}

/// The paths that differ between HEAD, the index and the working tree (libgit2 status).
fn changed_paths(repo: &Repository, dir: &Path) -> Result<Vec<String>> {
    gitdir::refuse_special_files(dir, repo.path(), true)?;
    let mut options = git2::StatusOptions::new();
    options
        .include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .exclude_submodules(true)
        .renames_head_to_index(false)
        .renames_index_to_workdir(false);
    let statuses = repo.statuses(Some(&mut options)).map_err(Error::git(Step::Status, dir))?;
    Ok(statuses
        .iter()
        .filter(|entry| entry.status() != git2::Status::CURRENT && !entry.status().is_ignored())
        .filter_map(|entry| entry.path().ok().map(str::to_owned))
        .collect())
}

/// A `.git` that is a file (`gitdir: <elsewhere>`, a worktree's or a submodule's link) or a
/// symlink would point the journal at another repository: its branch moved, its index
/// rewritten. A data directory's repository is always its own `.git` directory.
fn refuse_git_link(dir: &Path) -> Result<()> {
    if let Ok(meta) = fs::symlink_metadata(dir.join(".git"))
        && !meta.is_dir()
    {
        return Err(Error::NotAWorkTree {
            dir: dir.to_path_buf(),
            reason: ".git is not a directory (a `gitdir:` file or a link pointing at another repository): refused; move it aside".to_owned(),
        });
    }
    Ok(())
}

fn open_or_init(dir: &Path, options: &JournalOptions) -> Result<Repository> {
    refuse_git_link(dir)?;
    let open =
        || Repository::open_ext(dir, RepositoryOpenFlags::NO_SEARCH, std::iter::empty::<&OsStr>());
    if let Ok(repo) = open() {
        return check_work_tree(repo, dir);
    }
    // Initialisation runs under a flock on the directory itself (opened read-only: no lock file
    // is left in the data directory), so a `.git` that still does not open once we hold it was
    // abandoned by an initialiser that died.
    let git_dir = dir.join(".git");
    let _init_lock = lock_dir(dir)?;
    match open() {
        Ok(repo) => return check_work_tree(repo, dir),
        Err(e) if e.code() != ErrorCode::NotFound => return Err(Error::git(Step::Open, dir)(e)),
        Err(_) => {}
    }
    if git_dir.exists() {
        if holds_objects(&git_dir) {
            return Err(Error::NotAWorkTree {
                dir: dir.to_path_buf(),
                reason: format!(
                    "{} holds objects but does not open as a repository",
                    git_dir.display()
                ),
            });
        }
        // A SIGKILL during `git init` leaves a `.git` with a few files and no objects: nothing
        // to lose, and every later open would fail on it.
        fs::remove_dir_all(&git_dir).map_err(IoError::on(Step::RemoveAbandonedInit, &git_dir))?;
    }
    let mut init = RepositoryInitOptions::new();
    init.no_reinit(true).mkdir(false).mkpath(false);
    if let Some(branch) = &options.initial_branch {
        init.initial_head(branch);
    }
    let repo = Repository::init_opts(dir, &init).map_err(Error::git(Step::Init, dir))?;
    // The history of a data directory is nobody else's business.
    fs::set_permissions(repo.path(), fs::Permissions::from_mode(0o700))
        .map_err(IoError::on(Step::RestrictMode, repo.path()))?;
    check_work_tree(repo, dir)
}

/// An exclusive `flock` on the directory `dir` itself, held until the returned file is dropped.
fn lock_dir(dir: &Path) -> Result<fs::File> {
    let file = fs::File::open(dir).map_err(IoError::on(Step::LockInit, dir))?;
    loop {
        match file.lock() {
            Ok(()) => return Ok(file),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(IoError::on(Step::LockInit, dir)(e).into()),
        }
    }
}

/// Whether a git directory stores any object (a loose object directory or a pack).
fn holds_objects(git_dir: &Path) -> bool {
    let Ok(entries) = fs::read_dir(git_dir.join("objects")) else { return false };
    entries.flatten().any(|entry| {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        (name.len() == 2 && name.bytes().all(|b| b.is_ascii_hexdigit()))
            || (name == "pack" && fs::read_dir(entry.path()).is_ok_and(|mut p| p.next().is_some()))
    })
}

fn check_work_tree(repo: Repository, dir: &Path) -> Result<Repository> {
    let not = |reason: String| Error::NotAWorkTree { dir: dir.to_path_buf(), reason };
    if repo.is_bare() {
        return Err(not("the repository there is bare".to_owned()));
    }
    let Some(workdir) = repo.workdir() else {
        return Err(not("the repository has no work tree".to_owned()));
    };
    let workdir = workdir.canonicalize().map_err(IoError::on(Step::Resolve, workdir))?;
    if workdir != dir {
        return Err(not(format!("the repository's work tree is {}", workdir.display())));
    }
    Ok(repo)
}

/// The lock file libgit2's error is about: the index, or the file its message names
/// (`failed to lock file '<path>' for writing`).
fn lock_named_in(error: &git2::Error, git_dir: &Path) -> PathBuf {
    let message = error.message();
    if error.class() == git2::ErrorClass::Index || message.contains("index is locked") {
        return git_dir.join("index.lock");
    }
    message
        .split('\'')
        .nth(1)
        .filter(|path| path.ends_with(".lock"))
        .map(PathBuf::from)
        .unwrap_or_else(|| git_dir.to_path_buf())
}

/// `index.add_path`, again when the file changed while libgit2 read it (an append-only log
/// written by another process: "failed to read file into stream"). A file that keeps changing
/// is an error after a few tries.
fn add_path_stable(
    index: &mut git2::Index,
    path: &Path,
    full: &Path,
) -> std::result::Result<(), git2::Error> {
    use std::os::unix::fs::MetadataExt;
    let stamp =
        || fs::symlink_metadata(full).ok().map(|m| (m.len(), m.mtime(), m.mtime_nsec(), m.ino()));
    let mut tries = 0;
    loop {
        let before = stamp();
        match index.add_path(path) {
            Err(_) if tries < 16 && stamp() != before => tries += 1,
            other => return other,
        }
    }
}
