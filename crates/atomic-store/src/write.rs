//! The atomic replace (temp file next to the target, write, fsync, rename, fsync the directory),
//! and its create-only and streaming forms.

use crate::IoError;
use std::{
    collections::BTreeSet,
    fs::{self, File, OpenOptions, Permissions},
    io::{self, Read, Write},
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

use crate::{
    Error, Result, Step,
    dir::{create_dirs, parent_of, sync_dir},
    read::open_regular,
    temp::{sweep_on_first_write, temp_name},
};

/// How much of a write is made durable before the call returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// fsync the file, rename, fsync the directory: the new content survives a power cut once the
    /// call returns. The default.
    #[default]
    Full,
    /// fsync the file, then rename: after a power cut the target is the old or the new version,
    /// never torn, but the last rename may be lost.
    FileOnly,
    /// Rename without any fsync: atomic against a crash of the process only. After a power cut the
    /// file may be empty on some filesystems (xfs, ext4 with `noauto_da_alloc`).
    None,
}

/// The mode of the file a write produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Mode {
    /// Keep the mode of the file being replaced; a new file gets `0o666` minus the umask.
    #[default]
    Preserve,
    /// Exactly these permission bits (for example `0o600` for a secret), from the moment the
    /// temporary file exists, whatever the umask and whatever the old file's mode.
    ///
    /// A mode with no group or other bits is treated as a secret: a symlink at the target is
    /// refused, and parent directories the write creates are `0o700`.
    Exact(u32),
}

impl Mode {
    /// The mode for secrets: `0o600`.
    pub const SECRET: Mode = Mode::Exact(0o600);

    pub(crate) fn is_secret(self) -> bool {
        matches!(self, Mode::Exact(bits) if bits & 0o077 == 0)
    }
}

/// Options of a write. `WriteOptions::default()` is durable, keeps the old mode and always writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteOptions {
    /// How much is synced before the write returns.
    pub durability: Durability,
    /// The mode of the result.
    pub mode: Mode,
    /// Compare with the current content first and skip the write when it is identical
    /// (no new inode, no mtime change, no spurious journal commit).
    pub skip_unchanged: bool,
}

impl WriteOptions {
    /// Durable, mode preserved, always written.
    pub fn new() -> Self {
        Self::default()
    }

    /// Options for a secret: exact mode `0o600`, durable.
    pub fn secret() -> Self {
        Self { mode: Mode::SECRET, ..Self::default() }
    }

    /// Sets [`WriteOptions::durability`].
    #[must_use]
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Sets [`WriteOptions::mode`].
    #[must_use]
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Sets [`WriteOptions::skip_unchanged`].
    #[must_use]
    pub fn skip_unchanged(mut self, skip: bool) -> Self {
        self.skip_unchanged = skip;
        self
    }
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Written {
    /// The target now holds the new bytes.
    Replaced,
    /// The target already held exactly these bytes (and mode); nothing was written.
    Unchanged,
}

/// Atomically replaces `path` with `bytes`.
///
/// The temporary file is created in the target's directory (`O_EXCL | O_NOFOLLOW`, with its final
/// mode), written, synced, renamed over the target, and the directory is synced, as
/// [`WriteOptions::durability`] asks. Missing parent directories are created and made durable.
/// On any error the temporary file is removed and the target is untouched.
///
/// ```
/// # fn main() -> Result<(), dotdir_atomic_store::Error> {
/// # let dir = tempfile::tempdir().unwrap();
/// use dotdir_atomic_store::{write, WriteOptions, Written};
/// let path = dir.path().join("state/token.json");
/// assert_eq!(write(&path, b"{}", &WriteOptions::secret())?, Written::Replaced);
/// # use std::os::unix::fs::PermissionsExt;
/// assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
/// # Ok(()) }
/// ```
pub fn write(path: &Path, bytes: &[u8], options: &WriteOptions) -> Result<Written> {
    let Some(staged) = stage(path, bytes, options)? else { return Ok(Written::Unchanged) };
    let _ = staged.publish(options.durability, Publish::Replace)?;
    Ok(Written::Replaced)
}

/// What a create-only write ([`write_new`], [`AtomicFile::commit_new`]) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Created {
    /// Nothing was at the path; it now holds the new bytes.
    New,
    /// Something was already at the path (a file, a symlink — dangling or not —, a directory):
    /// it was left exactly as it was, and nothing was written.
    AlreadyExists,
}

impl Created {
    /// Whether this call created the file.
    pub fn is_new(self) -> bool {
        self == Created::New
    }
}

/// Creates `path` with `bytes` only if nothing is there: never replaces, never follows a symlink.
///
/// The temporary file is staged exactly as by [`write()`] (same directory, exclusive create, final
/// mode from the start, written and synced as [`WriteOptions::durability`] asks), then published
/// with `link(2)`, which fails when the name exists — so of any number of processes racing to
/// create one file, exactly one gets [`Created::New`] and the file is never half-written or
/// replaced. The temporary name is then removed and the directory synced. On a filesystem
/// without hard links, `renameat2(RENAME_NOREPLACE)` publishes instead.
/// [`WriteOptions::skip_unchanged`] does not apply. On any error the temporary file is removed
/// and nothing is published: a step that fails after the link (removing the temporary name,
/// syncing the directory) takes the new file back, so retrying after `Err` creates it once.
///
/// ```
/// # fn main() -> Result<(), dotdir_atomic_store::Error> {
/// # let dir = tempfile::tempdir().unwrap();
/// use dotdir_atomic_store::{write_new, Created, WriteOptions};
/// let path = dir.path().join("IDENTITY.md");
/// assert_eq!(write_new(&path, b"first", &WriteOptions::new())?, Created::New);
/// assert_eq!(write_new(&path, b"second", &WriteOptions::new())?, Created::AlreadyExists);
/// assert_eq!(std::fs::read(&path).unwrap(), b"first");
/// # Ok(()) }
/// ```
pub fn write_new(path: &Path, bytes: &[u8], options: &WriteOptions) -> Result<Created> {
    parent_of(path)?;
    // The cheap answer first: no temporary file when something is already there.
    if lstat(path)?.is_some() {
        return Ok(Created::AlreadyExists);
    }
    let mut file = AtomicFile::create(path, options)?;
    file.staged.file.write_all(bytes).map_err(IoError::on(Step::Write, path))?;
    file.commit_new()
}

/// A file written as a stream and published atomically: [`std::io::Write`] into a temporary
/// file next to the target, then [`AtomicFile::commit`] (replace, like [`write()`]) or
/// [`AtomicFile::commit_new`] (create only, like [`write_new`]). Dropping it without a commit
/// discards what was written: the temporary file is removed and the target is untouched.
///
/// The temporary file is the one [`write()`] uses (same name, exclusive create with its final mode,
/// a symlink refused for a secret); [`WriteOptions::skip_unchanged`] does not apply. Writes go
/// straight to the file: wrap it in a [`std::io::BufWriter`] for small pieces.
///
/// ```
/// # fn main() -> Result<(), dotdir_atomic_store::Error> {
/// # let dir = tempfile::tempdir().unwrap();
/// use std::io::Write;
/// use dotdir_atomic_store::{AtomicFile, WriteOptions, Written};
/// let path = dir.path().join("backup.tar.gz");
/// let mut file = AtomicFile::create(&path, &WriteOptions::secret())?;
/// file.write_all(b"part 1, ").unwrap();
/// file.write_all(b"part 2").unwrap();
/// assert!(!path.exists(), "nothing is visible before the commit");
/// assert_eq!(file.commit()?, Written::Replaced);
/// assert_eq!(std::fs::read(&path).unwrap(), b"part 1, part 2");
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "an AtomicFile dropped without commit discards what was written"]
pub struct AtomicFile {
    staged: Staged,
    durability: Durability,
}

impl AtomicFile {
    /// Creates the temporary file for `path` (and missing parent directories), with the mode
    /// `options` asks for; nothing is visible at `path` until a commit.
    pub fn create(path: impl AsRef<Path>, options: &WriteOptions) -> Result<AtomicFile> {
        let path = path.as_ref();
        let target = inspect_target(path, options)?;
        let staged = Staged::create(path, options, &target)?;
        Ok(AtomicFile { staged, durability: options.durability })
    }

    /// The target: where a commit publishes the file.
    pub fn path(&self) -> &Path {
        &self.staged.target
    }

    /// The temporary file being written (to read it back and verify it before the commit).
    pub fn temp_path(&self) -> &Path {
        &self.staged.temp
    }

    /// The open temporary file (for `metadata`, positioned reads, `set_len`).
    pub fn as_file(&self) -> &File {
        &self.staged.file
    }

    /// Syncs the file, renames it over the target and syncs the directory, as the durability
    /// asks — the sequence of [`write()`]. Returns [`Written::Replaced`].
    pub fn commit(self) -> Result<Written> {
        let _ = self.staged.publish(self.durability, Publish::Replace)?;
        Ok(Written::Replaced)
    }

    /// Like [`AtomicFile::commit`], but never replaces: publishes with `link(2)` as
    /// [`write_new`] does, and returns [`Created::AlreadyExists`] (discarding the temporary
    /// file) when something is at the target.
    pub fn commit_new(self) -> Result<Created> {
        Ok(match self.staged.publish(self.durability, Publish::NoReplace)? {
            true => Created::New,
            false => Created::AlreadyExists,
        })
    }

    /// Removes the temporary file and reports a failure to remove it (dropping does the same,
    /// silently).
    pub fn discard(mut self) -> Result<()> {
        self.staged.committed = true;
        fs::remove_file(&self.staged.temp).map_err(|source| {
            Error::Io(IoError { step: Step::RemoveTemp, path: self.staged.temp.clone(), source })
        })
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.staged.file.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.staged.file.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.staged.file.flush()
    }
}

/// Several atomic replaces made durable together: each file is synced, then renamed, then each
/// touched directory is synced once, at [`Batch::commit`].
///
/// Each file is still replaced atomically (a crash leaves every target old or new, never torn),
/// but the batch as a whole is not a transaction: a crash during `commit` may leave some targets
/// new and others old. Dropping an uncommitted batch removes its temporary files.
///
/// ```
/// # fn main() -> Result<(), dotdir_atomic_store::Error> {
/// # let dir = tempfile::tempdir().unwrap();
/// use dotdir_atomic_store::{Batch, WriteOptions};
/// let mut batch = Batch::new();
/// for i in 0..3 {
///     batch.write(&dir.path().join(format!("{i}.txt")), b"x", &WriteOptions::new())?;
/// }
/// assert_eq!(batch.commit()?, 3);
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
pub struct Batch {
    staged: Vec<Staged>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stages a write of `bytes` to `path`. `options.durability` is ignored: the batch syncs
    /// everything at commit.
    pub fn write(&mut self, path: &Path, bytes: &[u8], options: &WriteOptions) -> Result<Written> {
        match stage(path, bytes, options)? {
            Some(staged) => {
                self.staged.push(staged);
                Ok(Written::Replaced)
            }
            None => Ok(Written::Unchanged),
        }
    }

    /// Syncs every staged file, renames each over its target, then syncs each directory once.
    /// Returns the number of files replaced.
    pub fn commit(mut self) -> Result<usize> {
        let staged = std::mem::take(&mut self.staged);
        for s in &staged {
            s.file.sync_all().map_err(IoError::on(Step::SyncFile, &s.target))?;
        }
        let count = staged.len();
        let mut dirs = BTreeSet::new();
        let mut pending = staged.into_iter();
        while let Some(mut s) = pending.next() {
            let target = s.target.clone();
            match s.rename() {
                Ok(dir) => {
                    dirs.insert((dir, target));
                }
                Err(e) => {
                    self.staged = pending.collect();
                    return Err(e);
                }
            }
        }
        let mut synced = BTreeSet::new();
        for (dir, target) in dirs {
            if synced.insert(dir.clone()) {
                sync_dir(&dir, &target)?;
            }
        }
        Ok(count)
    }
}

/// A temporary file next to its target, not yet published. Removed on drop unless committed.
#[derive(Debug)]
struct Staged {
    file: File,
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

/// How a staged file is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Publish {
    /// `rename(2)` over whatever is at the target.
    Replace,
    /// `link(2)`, which fails when the target exists, then the temporary name is removed.
    NoReplace,
}

impl Staged {
    /// Creates the temporary file for `path` with its final mode (and the missing parent
    /// directories).
    fn create(path: &Path, options: &WriteOptions, target: &Target) -> Result<Staged> {
        let dir = parent_of(path)?;
        let file_name = path.file_name().expect("parent_of checked the file name");
        let secret = options.mode.is_secret();
        create_dirs(dir, if secret { 0o700 } else { 0o777 }, options.durability)?;
        sweep_on_first_write(dir);
        let temp = dir.join(temp_name(file_name));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(target.mode)
            .custom_flags(
                rustix::fs::OFlags::NOFOLLOW.bits() as i32
                    | rustix::fs::OFlags::CLOEXEC.bits() as i32,
            )
            .open(&temp)
            .map_err(IoError::on(Step::CreateTemp, path))?;
        let staged = Staged { file, temp, target: path.to_path_buf(), committed: false };
        // The umask may have cleared bits the caller asked for (never added any): restore exactly
        // the requested or preserved mode. This only ever sets that mode, which for a secret is
        // 0600 or narrower; a new plain file keeps what the umask gave it.
        let created = staged.file.metadata().map_err(IoError::on(Step::SetMode, path))?;
        if target.exact_mode.is_some() && created.permissions().mode() & 0o7777 != target.mode {
            staged
                .file
                .set_permissions(Permissions::from_mode(target.mode))
                .map_err(IoError::on(Step::SetMode, path))?;
        }
        Ok(staged)
    }

    /// Renames the temporary file over the target; returns the target's directory.
    fn rename(&mut self) -> Result<PathBuf> {
        fs::rename(&self.temp, &self.target).map_err(IoError::on(Step::Rename, &self.target))?;
        self.committed = true;
        Ok(parent_of(&self.target)?.to_path_buf())
    }

    /// Syncs the file, publishes it as `how` says and syncs the directory, as `durability`
    /// asks. `Ok(false)` when `how` is [`Publish::NoReplace`] and the target exists (the
    /// temporary file is then removed on drop).
    fn publish(mut self, durability: Durability, how: Publish) -> Result<bool> {
        if durability != Durability::None {
            self.file.sync_all().map_err(IoError::on(Step::SyncFile, &self.target))?;
        }
        let dir = match how {
            Publish::Replace => self.rename()?,
            Publish::NoReplace => {
                let temp_left = match link_no_replace(&self.temp, &self.target) {
                    Ok(temp_left) => temp_left,
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
                    Err(source) => {
                        return Err(Error::Io(IoError {
                            step: Step::Link,
                            path: self.target.clone(),
                            source,
                        }));
                    }
                };
                // The target is ours now. When a later step fails it is taken back, so that
                // `Err` means "not created" and a retry creates it once.
                let settled = (|| {
                    if temp_left {
                        fs::remove_file(&self.temp).map_err(|source| {
                            Error::Io(IoError {
                                step: Step::RemoveTemp,
                                path: self.temp.clone(),
                                source,
                            })
                        })?;
                    }
                    let dir = parent_of(&self.target)?.to_path_buf();
                    if durability == Durability::Full {
                        sync_dir(&dir, &self.target)?;
                    }
                    Ok(())
                })();
                if let Err(error) = settled {
                    let _ = fs::remove_file(&self.target);
                    return Err(error);
                }
                self.committed = true;
                return Ok(true);
            }
        };
        if durability == Durability::Full {
            sync_dir(&dir, &self.target)?;
        }
        Ok(true)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: a leftover is recognised and swept by `sweep_temps` later.
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Publishes `temp` as `target` unless `target` exists: `link(2)` (a second name for the same
/// inode, `EEXIST` when taken), or, on a filesystem without hard links, `renameat2` with
/// `RENAME_NOREPLACE`. Returns whether the temporary name is still there (after a link).
fn link_no_replace(temp: &Path, target: &Path) -> io::Result<bool> {
    match fs::hard_link(temp, target) {
        Ok(()) => Ok(true),
        Err(e)
            if [
                rustix::io::Errno::PERM,
                rustix::io::Errno::NOTSUP,
                rustix::io::Errno::OPNOTSUPP,
            ]
            .iter()
            .any(|errno| e.raw_os_error() == Some(errno.raw_os_error())) =>
        {
            rustix::fs::renameat_with(
                rustix::fs::CWD,
                temp,
                rustix::fs::CWD,
                target,
                rustix::fs::RenameFlags::NOREPLACE,
            )
            .map(|()| false)
            .map_err(io::Error::from)
        }
        Err(e) => Err(e),
    }
}

/// What is at a write's target, and the mode the result gets.
#[derive(Debug)]
struct Target {
    /// The regular file being replaced, if any (a symlink being replaced is not one).
    existing_file: Option<fs::Metadata>,
    /// The mode the result must have exactly, or `None` to let the umask decide (a new plain
    /// file).
    exact_mode: Option<u32>,
    /// The mode the temporary file is created with.
    mode: u32,
}

/// `lstat`, with "nothing there" as `None`.
fn lstat(path: &Path) -> Result<Option<fs::Metadata>> {
    match fs::symlink_metadata(path) {
        Ok(meta) => Ok(Some(meta)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => {
            Err(Error::Io(IoError { step: Step::Stat, path: path.to_path_buf(), source }))
        }
    }
}

/// Refuses what a write must not replace (a symlink for a secret, anything but a regular file)
/// and works out the mode of the result.
fn inspect_target(path: &Path, options: &WriteOptions) -> Result<Target> {
    parent_of(path)?;
    let existing = lstat(path)?;
    if let Some(meta) = &existing {
        if meta.file_type().is_symlink() {
            if options.mode.is_secret() {
                return Err(Error::Symlink { path: path.to_path_buf() });
            }
        } else if !meta.is_file() {
            return Err(Error::NotAFile { path: path.to_path_buf() });
        }
    }
    let existing_file = existing.filter(|m| m.is_file());
    let exact_mode = match options.mode {
        Mode::Exact(bits) => Some(bits & 0o7777),
        Mode::Preserve => existing_file.as_ref().map(|m| m.permissions().mode() & 0o7777),
    };
    Ok(Target { existing_file, exact_mode, mode: exact_mode.unwrap_or(0o666) })
}

/// Creates the temporary file with its final content and mode. `None` when unchanged content
/// lets the write be skipped.
fn stage(path: &Path, bytes: &[u8], options: &WriteOptions) -> Result<Option<Staged>> {
    let target = inspect_target(path, options)?;
    if options.skip_unchanged
        && let Some(meta) = &target.existing_file
        && meta.len() == bytes.len() as u64
        && (matches!(options.mode, Mode::Preserve)
            || meta.permissions().mode() & 0o7777 == target.mode)
        && content_equals(path, bytes)
    {
        return Ok(None);
    }
    let mut staged = Staged::create(path, options, &target)?;
    staged.file.write_all(bytes).map_err(IoError::on(Step::Write, path))?;
    Ok(Some(staged))
}

fn content_equals(path: &Path, bytes: &[u8]) -> bool {
    let Ok(mut file) = open_regular(path) else { return false };
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return false;
    }
    let mut current = Vec::with_capacity(bytes.len());
    match (&mut file).take(bytes.len() as u64 + 1).read_to_end(&mut current) {
        Ok(_) => current == bytes,
        Err(_) => false,
    }
}
