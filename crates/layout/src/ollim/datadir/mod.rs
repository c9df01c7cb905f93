//! [`DataDir`]: the handle on one ollim-bot data directory — opens or creates it, initialises
//! git, and hands out the typed files.

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::{Arc, atomic::AtomicBool},
};

use dotdir_atomic_store::{Document, JsonStyle};
use jiff::tz::TimeZone;

use crate::ollim::{
    Clock, Error, Result, SystemClock, configured_time_zone, isoformat,
    paths::{STATE_DIR_NAME, resolve_data_dir},
};

pub(crate) mod budget;
pub(crate) mod extras;
pub(crate) mod history;
pub(crate) mod pid;
mod policy;
mod profile;
mod specs;
pub(crate) mod state;

/// The directories of the layout a [`DataDir`] writes under: each must be a real directory
/// (checked at open, and before each write under it), never a symbolic link.
pub(crate) const LAYOUT_DIRS: &[&str] = &[
    STATE_DIR_NAME,
    "routines",
    "reminders",
    "webhooks",
    "skills",
    "downloads",
    "reflections",
    ".claude",
    ".claude/agents",
    ".git",
];

/// How a [`DataDir`] is opened.
#[derive(Clone)]
pub struct Options {
    /// The time zone of timestamps and daily resets; `None` reads `OLLIM_TIMEZONE`, else the
    /// system zone.
    pub time_zone: Option<TimeZone>,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
    /// Initialise and auto-commit the git repository (the seed's behaviour). Off: no git at all.
    pub git: bool,
    /// Use `user.name`/`user.email` from git config for commits (else the journal's fixed
    /// identity). Tests turn it off to stay independent of the machine.
    pub git_identity_from_config: bool,
    /// How writes are synced.
    pub durability: dotdir_atomic_store::Durability,
    /// Push the journal to this remote (a configured remote's name, as `dotdir push --to`
    /// leaves it: `origin`) in the background after every commit. Opt-in; a commit never waits
    /// for it, and a failed push is a `push-failed` warning of `dotdir check`.
    pub auto_push: Option<String>,
    /// The declaration the handle follows: [`LAYOUT`](crate::ollim::LAYOUT), or a downstream
    /// crate's extension of it ([`crate::Layout::extend`]) — then its own files get their
    /// declared modes, and the journal's allow-list, exclusions and `.gitignore` follow the
    /// extension (a secret it adds is never committed). [`DataDir::open`] refuses a layout that
    /// is not ollim-bot's or an extension of it.
    pub layout: &'static crate::Layout,
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("time_zone", &self.time_zone.as_ref().and_then(|tz| tz.iana_name()))
            .field("clock", &self.clock)
            .field("git", &self.git)
            .field("git_identity_from_config", &self.git_identity_from_config)
            .field("durability", &self.durability)
            .field("auto_push", &self.auto_push)
            .field("layout", &self.layout.name)
            .finish()
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            time_zone: None,
            clock: Arc::new(SystemClock),
            git: true,
            git_identity_from_config: true,
            durability: dotdir_atomic_store::Durability::Full,
            auto_push: None,
            layout: &super::LAYOUT,
        }
    }
}

impl Options {
    /// The defaults: system clock, zone from the environment, git on, durable writes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the time zone.
    #[must_use]
    pub fn time_zone(mut self, tz: TimeZone) -> Self {
        self.time_zone = Some(tz);
        self
    }

    /// Sets the clock.
    #[must_use]
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Turns git tracking on or off.
    #[must_use]
    pub fn track_in_git(mut self, git: bool) -> Self {
        self.git = git;
        self
    }

    /// Whether commits take their author from git config (see
    /// [`Options::git_identity_from_config`]).
    #[must_use]
    pub fn git_identity_from_config(mut self, enabled: bool) -> Self {
        self.git_identity_from_config = enabled;
        self
    }

    /// Sets [`Options::auto_push`].
    #[must_use]
    pub fn auto_push(mut self, remote: impl Into<String>) -> Self {
        self.auto_push = Some(remote.into());
        self
    }

    /// Sets [`Options::layout`]: ollim-bot's layout extended with a downstream crate's entries.
    ///
    /// ```
    /// use dotdir::{Entry, Format, Layout, ollim};
    ///
    /// const PLUGINS: Layout = Layout::extend(
    ///     &ollim::LAYOUT,
    ///     &[Entry::file("plugins/*.json", Format::Json, "a plugin's API token").secret()],
    /// );
    /// let dir = tempfile::tempdir()?;
    /// let data = ollim::DataDir::open(dir.path(), ollim::Options::new().layout(&PLUGINS))?;
    /// let gitignore = std::fs::read_to_string(dir.path().join(".gitignore"))?;
    /// assert!(gitignore.contains("/plugins/*.json"));
    /// # drop(data);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn layout(mut self, layout: &'static crate::Layout) -> Self {
        self.layout = layout;
        self
    }

    /// Sets the durability of writes.
    #[must_use]
    pub fn durability(mut self, durability: dotdir_atomic_store::Durability) -> Self {
        self.durability = durability;
        self
    }
}

/// One ollim-bot data directory.
///
/// Opening refuses the user's home directory (and `/`), and an existing directory that holds
/// what the layout does not declare and none of its fingerprint
/// ([`Error::NotADataDirectory`]); a new or empty directory is created.
///
/// Opening creates the directory and `state/` (both `0o700`: `state/` holds secrets) and, with
/// git on, initialises the repository in exactly this directory — never an ancestor's — with
/// the `.gitignore` derived from [`crate::ollim::LAYOUT`]. The typed files are methods:
/// sessions, history, fork messages, inquiries, pending updates, config, budget, pid lock,
/// routines, reminders, webhooks, skills, reflections, downloads, the profile and the SDK layout.
pub struct DataDir {
    /// The directory under [`Options::layout`], with [`Options::durability`]: every path,
    /// mode, symlink check and journal option comes from it.
    pub(crate) dir: dotdir_engine::Dir,
    pub(crate) tz: TimeZone,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) options: Options,
    pub(crate) swap_in_progress: AtomicBool,
    pub(crate) journal: Option<dotdir_git_journal::DeferringJournal>,
    pub(crate) specs: crate::ollim::specs::SpecDirs,
}

impl fmt::Debug for DataDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataDir")
            .field("root", &self.dir.root())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl DataDir {
    /// Opens (creating on first use) the data directory at `root`, an absolute path.
    pub fn open(root: impl Into<PathBuf>, options: Options) -> Result<Self> {
        let root = root.into();
        if !root.is_absolute() {
            return Err(Error::DataDir {
                source_name: "DataDir::open",
                value: root.display().to_string(),
                reason: "must be an absolute path",
            });
        }
        let mut base = Some(options.layout);
        while let Some(layout) =
            base.filter(|l| l.name != super::LAYOUT.name || l.extends.is_some())
        {
            base = layout.extends;
        }
        if base.is_none() {
            return Err(Error::Refused {
                what: format!("the layout {:?}", options.layout.name),
                reason: "an ollim-bot DataDir takes ollim::LAYOUT or an extension of it (Layout::extend)".into(),
            });
        }
        let dir = dotdir_engine::Dir::new(root, options.layout).with_durability(options.durability);
        // Never the home directory, nor a directory of something else (deny by default).
        if let Some(reason) = dir.refusal(true) {
            return Err(Error::NotADataDirectory { path: dir.root().to_path_buf(), reason });
        }
        // No layout directory may be a symbolic link: a write through it would land outside.
        for name in LAYOUT_DIRS {
            let _ = dir.real_dir(name)?;
        }
        let _ = dir.create_dir("")?;
        let state = dir.create_dir(STATE_DIR_NAME)?;
        // Temporary files of writers killed mid-write (only when their writer is gone or old).
        let _ = dotdir_atomic_store::sweep_temps(&state, None)?;
        let tz = match &options.time_zone {
            Some(tz) => tz.clone(),
            None => configured_time_zone()?,
        };
        let journal =
            if options.git { Some(crate::ollim::git::open(&dir, &options)?) } else { None };
        let specs = crate::ollim::specs::SpecDirs::new(dir.root(), options.durability);
        Ok(Self {
            specs,
            dir,
            tz,
            clock: options.clock.clone(),
            options,
            swap_in_progress: AtomicBool::new(false),
            journal,
        })
    }

    /// Opens the directory named by the environment (`OLLIM_DATA_DIR`, else `~/.ollim-bot`).
    pub fn open_default(options: Options) -> Result<Self> {
        Self::open(resolve_data_dir()?, options)
    }

    /// The data directory.
    pub fn root(&self) -> &Path {
        self.dir.root()
    }

    /// `state/`.
    pub fn state_dir(&self) -> PathBuf {
        self.dir.path(STATE_DIR_NAME)
    }

    /// The absolute path of `relative` (a `/`-separated path inside the data directory).
    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path(relative)
    }

    /// Checks that `state/` is a real directory ([`dotdir_engine::Dir::real_dir`]), before a
    /// write.
    pub(crate) fn check_state_dir(&self) -> Result<()> {
        Ok(self.dir.real_dir(STATE_DIR_NAME).map(|_| ())?)
    }

    /// The time zone of timestamps.
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The [`check`](crate::check::check) options for this directory: retention measured at the
    /// directory's clock, a pid record held only by an `ollim-bot` process.
    pub fn check_options(&self) -> crate::check::Options {
        crate::check::Options::default()
            .now(std::time::SystemTime::from(self.clock.now()))
            .launched_as(super::LAUNCHED_AS)
    }

    /// Now, as Python's `datetime.now(TZ).isoformat()`.
    pub fn now_iso(&self) -> String {
        isoformat(self.clock.now(), &self.tz)
    }

    /// Writes `relative` — a file [`Options::layout`] declares, typically one an extension of
    /// ollim-bot's layout adds — atomically with its entry's mode (`0o600` for a secret or
    /// private entry, whatever the umask), and commits it with `message` when the layout
    /// tracks it (a secret never is). Returns whether the file is tracked. An undeclared path,
    /// a directory entry, a path with `..` or a symbolic link on the way is refused; nothing
    /// is written then.
    pub fn write_declared(&self, relative: &str, bytes: &[u8], message: &str) -> Result<bool> {
        let _ = self.dir.write_declared(relative, bytes)?;
        let tracked = self.options.layout.journal_exclusions().allows(relative);
        if tracked {
            self.commit(relative, message)?;
        }
        Ok(tracked)
    }

    /// A Python-style JSON document under `state/`.
    pub(crate) fn state_document<T>(&self, name: &str) -> Document<T> {
        self.dir.document(Path::new(STATE_DIR_NAME).join(name)).style(JsonStyle::Python)
    }

    /// Commits every changed or new file the layout tracks (excluded files are skipped), for a
    /// directory written by another program (the Python bot, a person). Returns whether a
    /// commit was made; always `false` with git off. Commits left pending by a failed call are
    /// made first, each with its own message.
    pub fn commit_all_changed(&self, message: &str) -> Result<bool> {
        let Some(tracker) = &self.journal else { return Ok(false) };
        tracker.settle()?;
        Ok(tracker.journal().commit_all_changed(message)?.is_some())
    }

    /// Commits several paths (absolute, inside the directory) in one commit when git is on.
    ///
    /// Commits left pending by an earlier failure are made first. When this commit fails, the
    /// change is already on disk: the commit is deferred — recorded as pending (in
    /// `.git/dotdir-pending-commits.json`), to be made by the next commit or the next open —
    /// and `Ok` returned, so that no caller retries a change that was made (see
    /// `DeferringJournal::commit_paths`). With no paths, only the pending commits are made.
    pub(crate) fn commit_paths(&self, paths: &[PathBuf], message: &str) -> Result<()> {
        let Some(tracker) = &self.journal else { return Ok(()) };
        let rels: Vec<&Path> =
            paths.iter().filter_map(|p| p.strip_prefix(self.dir.root()).ok()).collect();
        let _ = tracker.commit_paths(&rels, message)?;
        Ok(())
    }

    /// Runs the change of an operation that then commits `touched` (absolute paths: files, or
    /// a directory for every file under it) with `message`, for an operation a repeated call
    /// of which finds nothing left to do once its change took effect (a removal, a
    /// create-once). When the change fails it may have taken effect all the same (an error
    /// syncing the directory after the rename or the unlink): when `landed` says it did, the
    /// commit is recorded as pending before the error is returned (making it commits what
    /// differs from HEAD under those paths, nothing when nothing does). When it did not, the
    /// repeated call makes the change and its commit itself. (Saves, which a repeated call
    /// makes again in full, need neither.)
    pub(crate) fn change<T, E>(
        &self,
        touched: &[PathBuf],
        message: &str,
        change: impl FnOnce() -> std::result::Result<T, E>,
        landed: impl FnOnce() -> bool,
    ) -> Result<T>
    where
        Error: From<E>,
    {
        change().map_err(|error| {
            if let Some(tracker) = &self.journal
                && landed()
            {
                let rels: Vec<&Path> =
                    touched.iter().filter_map(|p| p.strip_prefix(self.dir.root()).ok()).collect();
                let _ = tracker.defer(&rels, message);
            }
            Error::from(error)
        })
    }

    /// The messages of the commits that failed after their change was made and are deferred
    /// to the next commit or open, oldest first (empty with git off). A write returns `Ok` once
    /// its change is on disk, so this is where an app sees that history is behind — to log
    /// it, or to call [`DataDir::commit_all_changed`]. `dotdir check` reports the same files as
    /// `uncommitted-change`.
    pub fn pending_commits(&self) -> Result<Vec<String>> {
        match &self.journal {
            Some(tracker) => Ok(tracker.deferred()?),
            None => Ok(Vec::new()),
        }
    }

    /// Makes the commits a failed call left pending (for a call that has nothing of its own
    /// to commit, such as a retried removal that finds the file already gone).
    pub(crate) fn settle_commits(&self) -> Result<()> {
        match &self.journal {
            Some(tracker) => Ok(tracker.settle()?),
            None => Ok(()),
        }
    }

    /// The git journal of the directory (history queries, restore, push); `None` with git off.
    pub fn journal(&self) -> Option<&dotdir_git_journal::Journal> {
        self.journal.as_ref().map(|tracker| tracker.journal())
    }

    /// Commits `relative` with `message` when git is on (an excluded path is never committed;
    /// unchanged content makes no commit; a failed commit is deferred, as for
    /// [`DataDir::commit_paths`]).
    pub(crate) fn commit(&self, relative: &str, message: &str) -> Result<()> {
        match &self.journal {
            Some(tracker) => {
                let _ = tracker.commit_paths(&[Path::new(relative)], message)?;
                Ok(())
            }
            None => Ok(()),
        }
    }
}
