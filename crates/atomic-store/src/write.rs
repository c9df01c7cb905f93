//! The atomic replace: temp file next to the target, write, fsync, rename, fsync the directory.

use std::{
    collections::BTreeSet,
    fs::{self, File, OpenOptions, Permissions},
    io::{self, Read, Write},
    os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

use crate::{Error, Result, Step, temp::temp_name};

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

    fn is_secret(self) -> bool {
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
    if options.durability != Durability::None {
        staged.file.sync_all().map_err(Error::io(Step::SyncFile, path))?;
    }
    let dir = staged.commit()?;
    if options.durability == Durability::Full {
        sync_dir(&dir, path)?;
    }
    Ok(Written::Replaced)
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
            s.file.sync_all().map_err(Error::io(Step::SyncFile, &s.target))?;
        }
        let count = staged.len();
        let mut dirs = BTreeSet::new();
        let mut pending = staged.into_iter();
        while let Some(s) = pending.next() {
            let target = s.target.clone();
            match s.commit() {
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

/// A written, not yet renamed, temporary file. Removed on drop unless committed.
#[derive(Debug)]
struct Staged {
    file: File,
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl Staged {
    /// Renames the temporary file over the target; returns the target's directory.
    fn commit(mut self) -> Result<PathBuf> {
        fs::rename(&self.temp, &self.target).map_err(Error::io(Step::Rename, &self.target))?;
        self.committed = true;
        Ok(parent_of(&self.target)?.to_path_buf())
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

pub(crate) fn parent_of(path: &Path) -> Result<&Path> {
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(_)) => {
            Ok(if parent.as_os_str().is_empty() { Path::new(".") } else { parent })
        }
        _ => Err(Error::InvalidPath { path: path.to_path_buf() }),
    }
}

/// Creates the temporary file with its final content and mode. `None` when unchanged content
/// lets the write be skipped.
fn stage(path: &Path, bytes: &[u8], options: &WriteOptions) -> Result<Option<Staged>> {
    let dir = parent_of(path)?;
    let file_name = path.file_name().expect("parent_of checked the file name");
    let secret = options.mode.is_secret();
    let existing = match fs::symlink_metadata(path) {
        Ok(meta) => Some(meta),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(Error::Io { step: Step::Stat, path: path.to_path_buf(), source });
        }
    };
    if let Some(meta) = &existing {
        if meta.file_type().is_symlink() {
            if secret {
                return Err(Error::Symlink { path: path.to_path_buf() });
            }
        } else if !meta.is_file() {
            return Err(Error::NotAFile { path: path.to_path_buf() });
        }
    }
    let existing_file = existing.filter(|m| m.is_file());
    // The mode the result must have exactly, or `None` to let the umask decide (a new plain file).
    let exact_mode = match options.mode {
        Mode::Exact(bits) => Some(bits & 0o7777),
        Mode::Preserve => existing_file.as_ref().map(|m| m.permissions().mode() & 0o7777),
    };
    let mode = exact_mode.unwrap_or(0o666);
    if options.skip_unchanged
        && let Some(meta) = &existing_file
        && meta.len() == bytes.len() as u64
        && (matches!(options.mode, Mode::Preserve) || meta.permissions().mode() & 0o7777 == mode)
        && content_equals(path, bytes)
    {
        return Ok(None);
    }
    create_dirs(dir, if secret { 0o700 } else { 0o777 }, options.durability != Durability::None)?;

    let temp = dir.join(temp_name(file_name));
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(
            rustix::fs::OFlags::NOFOLLOW.bits() as i32 | rustix::fs::OFlags::CLOEXEC.bits() as i32,
        )
        .open(&temp)
        .map_err(Error::io(Step::CreateTemp, path))?;
    let mut staged = Staged { file, temp, target: path.to_path_buf(), committed: false };
    // The umask may have cleared bits the caller asked for (never added any): restore exactly the
    // requested or preserved mode. This only ever sets that mode, which for a secret is 0600 or
    // narrower; a new plain file keeps what the umask gave it.
    let created = staged.file.metadata().map_err(Error::io(Step::SetMode, path))?;
    if exact_mode.is_some() && created.permissions().mode() & 0o7777 != mode {
        staged
            .file
            .set_permissions(Permissions::from_mode(mode))
            .map_err(Error::io(Step::SetMode, path))?;
    }
    staged.file.write_all(bytes).map_err(Error::io(Step::Write, path))?;
    Ok(Some(staged))
}

fn content_equals(path: &Path, bytes: &[u8]) -> bool {
    let Ok(mut file) = File::open(path) else { return false };
    let mut current = Vec::with_capacity(bytes.len());
    match (&mut file).take(bytes.len() as u64 + 1).read_to_end(&mut current) {
        Ok(_) => current == bytes,
        Err(_) => false,
    }
}

/// Creates `dir` and its missing ancestors with `mode`; when `durable`, syncs the parent of each
/// directory it created so the new names survive a power cut.
pub(crate) fn create_dirs(dir: &Path, mode: u32, durable: bool) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut cursor = dir;
    while !cursor.as_os_str().is_empty() && !cursor.exists() {
        missing.push(cursor);
        match cursor.parent() {
            Some(parent) => cursor = parent,
            None => break,
        }
    }
    for created in missing.into_iter().rev() {
        match fs::DirBuilder::new().mode(mode).create(created) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && created.is_dir() => continue,
            Err(source) => {
                return Err(Error::Io {
                    step: Step::CreateDir,
                    path: created.to_path_buf(),
                    source,
                });
            }
        }
        if durable {
            sync_dir(parent_of(created).unwrap_or(Path::new(".")), created)?;
        }
    }
    Ok(())
}

/// fsyncs a directory. `EINVAL` (filesystems that cannot sync a directory: some FUSE, SMB and
/// VirtualBox shares) is not an error: there is nothing more the process can do.
pub(crate) fn sync_dir(dir: &Path, target: &Path) -> Result<()> {
    let handle = File::open(dir).map_err(Error::io(Step::SyncDir, target))?;
    match handle.sync_all() {
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error()) => Ok(()),
        other => other.map_err(Error::io(Step::SyncDir, target)),
    }
}

/// Reads a whole file, refusing one larger than `limit` bytes without allocating it.
/// `Ok(None)` when the file does not exist.
pub fn read(path: &Path, limit: u64) -> Result<Option<Vec<u8>>> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Io { step: Step::Read, path: path.to_path_buf(), source });
        }
    };
    let meta = file.metadata().map_err(Error::io(Step::Read, path))?;
    if !meta.is_file() {
        return Err(Error::NotAFile { path: path.to_path_buf() });
    }
    if meta.len() > limit {
        return Err(Error::TooLarge { path: path.to_path_buf(), limit });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    (&mut file).take(limit + 1).read_to_end(&mut bytes).map_err(Error::io(Step::Read, path))?;
    if bytes.len() as u64 > limit {
        return Err(Error::TooLarge { path: path.to_path_buf(), limit });
    }
    Ok(Some(bytes))
}
