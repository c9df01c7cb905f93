//! [`Dir`]: one data directory under its layout — the one handle every typed writer builds on
//! (ollim-bot's `DataDir`, omicos' `GlobalHome` and `Workspace`, the `dotdir` command's `init`,
//! `clone`, `push` and `check --fix`). From root + layout + durability it derives, once:
//!
//! - the symbolic-link policy: nothing below the root may be a link (a write through it would
//!   land outside); the root itself may be one only when the layout says so
//!   ([`Layout::root_may_be_a_link`]);
//! - each path's write options and directory mode, from its entry;
//! - declared writes, and secret writes that check the entry is a secret;
//! - the journal's options (feature `git`).

use crate::Step;
use std::path::{Component, Path, PathBuf};

use dotdir_atomic_store::{self as store, Document, Durability, WriteOptions};

use crate::{Entry, Error, IoError, Kind, Layout, inspect};

/// One data directory under its [`Layout`]. Cheap to build; touches nothing until a method
/// writes.
///
/// ```
/// use dotdir_engine::{Dir, Entry, Format, Layout};
/// use std::os::unix::fs::PermissionsExt;
///
/// static APP: Layout = Layout::new(
///     "app",
///     "an app's data directory",
///     &[
///         Entry::file("keys/*.json", Format::Json, "an API token").secret(),
///         Entry::dir("keys", "the tokens").secret(),
///         Entry::file("notes/*.md", Format::Markdown, "a note"),
///     ],
/// );
/// let tmp = tempfile::tempdir()?;
/// let dir = Dir::new(tmp.path().join("app"), &APP);
/// dir.write_secret("keys/openai.json", br#""sk-canary""#)?;
/// let mode = std::fs::metadata(dir.path("keys/openai.json"))?.permissions().mode();
/// assert_eq!(mode & 0o777, 0o600);
/// // A note is not a secret, and an undeclared file is no file of this layout.
/// assert!(dir.write_secret("notes/a.md", b"# a").is_err());
/// assert!(dir.write_declared("notes.txt", b"x").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Dir {
    root: PathBuf,
    layout: &'static Layout,
    durability: Durability,
}

impl PartialEq for Dir {
    fn eq(&self, other: &Self) -> bool {
        self.root == other.root
            && self.durability == other.durability
            && std::ptr::eq(self.layout, other.layout)
    }
}

impl Eq for Dir {}

impl Dir {
    /// The directory at `root` under `layout`, with durable writes ([`Durability::Full`]).
    pub fn new(root: impl Into<PathBuf>, layout: &'static Layout) -> Self {
        Self { root: root.into(), layout, durability: Durability::Full }
    }

    /// Sets the durability of every write, removal and directory creation.
    #[must_use]
    pub fn with_durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Follows `layout` instead (a downstream extension of the same application's).
    #[must_use]
    pub fn with_layout(mut self, layout: &'static Layout) -> Self {
        self.layout = layout;
        self
    }

    /// The data directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The declaration it follows.
    pub fn layout(&self) -> &'static Layout {
        self.layout
    }

    /// The durability of its writes.
    pub fn durability(&self) -> Durability {
        self.durability
    }

    /// The absolute path of `relative` (`/`-separated, inside the directory).
    pub fn path(&self, relative: impl AsRef<Path>) -> PathBuf {
        self.root.join(relative)
    }

    /// Why this directory must not become a data directory of its layout, if it must not: it
    /// is the user's home directory or `/`; or, with `foreign_content`, it exists and holds
    /// names the layout does not declare and none of its fingerprint (a new, empty or partly
    /// created directory is fine). Every writer asks before its first write.
    pub fn refusal(&self, foreign_content: bool) -> Option<String> {
        if inspect::is_home_or_root(&self.root) {
            return Some("it is the home directory (or /), never a data directory".to_owned());
        }
        if !foreign_content {
            return None;
        }
        let fit = inspect::fit(&self.root, self.layout).ok()?;
        let (all, any) = self.layout.fingerprint_paths();
        let parts = all.len() + usize::from(!any.is_empty());
        (!fit.foreign.is_empty() && parts > 0 && fit.missing.len() == parts).then(|| fit.explain())
    }

    /// `path` relative to the root: as given when relative, the part below the root when
    /// absolute inside it; an absolute path elsewhere is refused.
    fn relative<'p>(&self, path: &'p Path) -> Result<&'p Path, Error> {
        if !path.is_absolute() {
            return Ok(path);
        }
        path.strip_prefix(&self.root)
            .map_err(|_| Error::Undeclared { path: path.to_path_buf(), layout: self.layout.name })
    }

    /// `relative` (a directory inside, or an absolute path inside; `""` is the root), after
    /// checking that it and every
    /// directory on the way to it is a real directory where it exists: a symbolic link is
    /// [`Error::NotADirectory`], so no write follows it out of the directory. The root itself
    /// may be a link only when [`Layout::root_may_be_a_link`]; what is above it may be.
    pub fn real_dir(&self, relative: impl AsRef<Path>) -> Result<PathBuf, Error> {
        let relative = relative.as_ref();
        let dir = if relative.as_os_str().is_empty() {
            self.root.clone()
        } else {
            self.root.join(relative)
        };
        let from = match self.root.parent() {
            Some(parent) if !self.layout.root_link => parent,
            _ => &self.root,
        };
        match store::first_non_directory(from, &dir) {
            Ok(None) => Ok(dir),
            Ok(Some(path)) => Err(Error::NotADirectory { path }),
            Err(source) => Err(Error::Io(IoError { step: Step::Inspect, path: dir, source })),
        }
    }

    /// Creates `relative` (and what is missing on the way) with its entry's mode — `0o700`
    /// for the root (a data directory holds secrets) and a private or secret directory, which
    /// also takes group and other permissions away from an existing one; the umask's default
    /// otherwise — after [`Dir::real_dir`]'s check, and checks again once it exists.
    pub fn create_dir(&self, relative: impl AsRef<Path>) -> Result<PathBuf, Error> {
        let relative = self.relative(relative.as_ref())?;
        let dir = self.real_dir(relative)?;
        let private = relative.as_os_str().is_empty()
            || self
                .layout
                .entry_for_path(relative)
                .is_some_and(|e| e.kind == Kind::Dir && e.private);
        // A root that may be a link is created (or tightened) where the link leads.
        let target = match std::fs::canonicalize(&dir) {
            Ok(resolved) if relative.as_os_str().is_empty() && self.layout.root_link => resolved,
            _ => dir.clone(),
        };
        let created = if private {
            store::create_private_dir(&target, self.durability)
        } else {
            store::create_dirs(&target, 0o777, self.durability)
        };
        created.map_err(|source| Error::Store { path: dir.clone(), source })?;
        self.real_dir(relative)
    }

    /// The write options of `path` (absolute inside the directory, or relative to it), from
    /// its entry ([`Entry::write_options`]): `0o600` for a secret or private file whatever the
    /// umask; this handle's durability.
    pub fn write_options(&self, path: impl AsRef<Path>) -> WriteOptions {
        let path = path.as_ref();
        let relative = path.strip_prefix(&self.root).unwrap_or(path);
        self.layout.write_options(relative, self.durability)
    }

    /// The JSON document at `path` (absolute inside the directory, or relative to it), written
    /// with [`Dir::write_options`].
    pub fn document<T>(&self, path: impl AsRef<Path>) -> Document<T> {
        let path = self.root.join(path.as_ref());
        let options = self.write_options(&path);
        Document::new(path).options(options)
    }

    /// Writes `relative` — a file the layout declares — atomically with its entry's mode,
    /// creating its parent with the parent's declared mode. Returns the entry. An undeclared
    /// path, a directory entry, a path with `..` or a symbolic link on the way is refused;
    /// nothing is written then.
    pub fn write_declared(&self, relative: &str, bytes: &[u8]) -> Result<&'static Entry, Error> {
        let rel = Path::new(relative);
        let plain = rel.components().all(|c| matches!(c, Component::Normal(_)));
        let entry = self.layout.entry_for(relative);
        let Some(entry) = entry.filter(|e| plain && e.kind == Kind::File) else {
            return Err(Error::Undeclared { path: self.root.join(rel), layout: self.layout.name });
        };
        let parent = rel.parent().unwrap_or(Path::new(""));
        let _ = self.create_dir(parent)?;
        let path = self.root.join(rel);
        let _ = store::write(&path, bytes, &self.write_options(&path))
            .map_err(|source| Error::Store { path: path.clone(), source })?;
        Ok(entry)
    }

    /// [`Dir::write_declared`] for a secret: refused ([`Error::NotASecret`]) unless the layout
    /// declares `relative` secret, so a secret never lands where a backup or the journal would
    /// carry it.
    pub fn write_secret(&self, relative: &str, bytes: &[u8]) -> Result<(), Error> {
        match self.layout.entry_for(relative) {
            Some(entry) if entry.secret => self.write_declared(relative, bytes).map(|_| ()),
            _ => {
                Err(Error::NotASecret { path: self.root.join(relative), layout: self.layout.name })
            }
        }
    }

    /// Creates the directory (`0o700`) and the layout's own directories with their modes
    /// ([`Layout::initial_dirs`]) — what `dotdir init` does — and, when the layout keeps a
    /// journal ([`Layout::has_journal`]) and the `git` feature is on, opens or initialises its
    /// repository, which writes the derived `.gitignore`. A layout without one gets no `.git`.
    /// Returns the directories it created (`routines/`). Nothing existing is overwritten; a
    /// private directory that exists loses its group and other permissions.
    pub fn init(&self) -> Result<Vec<String>, Error> {
        let _ = self.create_dir("")?;
        let mut created = Vec::new();
        for (pattern, _) in self.layout.initial_dirs() {
            if !self.root.join(pattern).exists() {
                created.push(format!("{pattern}/"));
            }
            let _ = self.create_dir(pattern)?;
        }
        #[cfg(feature = "git")]
        if self.layout.has_journal() {
            let options = self.journal_options().identity_from_git_config(false);
            let _ = dotdir_git_journal::Journal::open(&self.root, options)
                .map_err(|source| Error::Git { path: self.root.clone(), source })?;
        }
        Ok(created)
    }

    /// The journal's options of this directory: the layout's ([`Layout::journal_options`])
    /// with this handle's durability. Every journal of a layout starts here; a caller adds
    /// only what is its own (commit identity, `.gitignore` management, auto-push).
    #[cfg(feature = "git")]
    pub fn journal_options(&self) -> dotdir_git_journal::JournalOptions {
        self.layout.journal_options().durability(self.durability)
    }

    /// The directory's journal, through the commit queue that defers a commit failing after
    /// its change is on disk ([`dotdir_git_journal::DeferringJournal`]), with `options`
    /// (start from [`Dir::journal_options`]). Opening initialises the repository when there is
    /// none.
    #[cfg(feature = "git")]
    pub fn journal(
        &self,
        options: dotdir_git_journal::JournalOptions,
    ) -> Result<dotdir_git_journal::DeferringJournal, Error> {
        dotdir_git_journal::DeferringJournal::open(&self.root, options, self.durability)
            .map_err(|source| Error::Git { path: self.root.clone(), source })
    }
}
