//! The backup archive: a `.tar.gz` with one top-level folder (the layout's name) holding the
//! [`backup::select`](crate::backup::select)ed files under their exact names (raw bytes, never
//! re-encoded) with their modes, and a manifest, `<top>/.dotdir-backup.json` (the last entry),
//! with every file's size, mode and SHA-256 and the paths left out.
//!
//! - [`write()`] streams the archive into a temporary file next to the target (mode 0600 from
//!   creation), reads it back against the manifest, and only then gives it its name; an existing
//!   file is replaced only when asked.
//! - [`verify`] reads an archive and checks every file against the manifest.
//! - [`restore`] verifies the archive, extracts it into a staging directory beside the target
//!   (checking every digest again), and moves it into place: into a new or empty directory, or,
//!   when forced, after moving the existing one aside (never while its application runs).
//!
//! ```
//! # fn main() -> Result<(), dotdir_engine::Error> {
//! use dotdir_engine::{Entry, Format, Layout, archive, backup, check};
//! const APP: Layout = Layout::new(
//!     "app",
//!     "an app",
//!     &[
//!         Entry::file("token.json", Format::Json, "an API token").secret(),
//!         Entry::file("notes/*.md", Format::Text, "a note"),
//!     ],
//! );
//! let tmp = tempfile::tempdir().unwrap();
//! let dir = tmp.path().join("data");
//! std::fs::create_dir_all(dir.join("notes")).unwrap();
//! std::fs::write(dir.join("notes/a.md"), "hello").unwrap();
//! std::fs::write(dir.join("token.json"), "\"s3cr3t\"").unwrap();
//!
//! let out = tmp.path().join("app.tar.gz");
//! let written = archive::write(&backup::select(&dir, &APP)?, &out, false, &mut |_| {})?;
//! assert_eq!(written.files, 1);
//! assert_eq!(archive::verify(&out)?.files.len(), 1);
//!
//! let restored = archive::restore(&out, &tmp.path().join("copy"), &APP, &check::Options::default(), false)?;
//! assert_eq!(std::fs::read(tmp.path().join("copy/notes/a.md")).unwrap(), b"hello");
//! assert_eq!(restored.secrets, ["token.json"]); // to re-create: never archived
//! # Ok(()) }
//! ```

use crate::IoError;
use std::{
    collections::{BTreeMap, BTreeSet},
    ffi::OsStr,
    fs::{self, File, OpenOptions},
    io::{self, BufReader, BufWriter, Read, Write},
    os::unix::{
        ffi::OsStrExt,
        fs::{OpenOptionsExt, PermissionsExt},
    },
    path::{Path, PathBuf},
    time::{Duration, UNIX_EPOCH},
};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    Error, Layout,
    backup::{Selection, SkipReason},
    check,
};

/// Set when the process is asked to stop (a command registers SIGINT and SIGTERM on it):
/// [`write()`] and [`restore`] then stop at their next read, remove what they had written (the
/// temporary archive, the staging directory) and return an error that says so.
pub fn interrupt_flag() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    static FLAG: std::sync::LazyLock<std::sync::Arc<std::sync::atomic::AtomicBool>> =
        std::sync::LazyLock::new(Default::default);
    FLAG.clone()
}

/// Whether [`interrupt_flag`] is set.
pub fn interrupted() -> bool {
    interrupt_flag().load(std::sync::atomic::Ordering::Relaxed)
}

/// The manifest's name inside the top-level folder.
pub const MANIFEST: &str = ".dotdir-backup.json";

/// The most members an archive may hold (a bomb of empty files is refused before it fills an
/// inode table). The environment variable [`MAX_MEMBERS_ENV`] may lower it, never raise it.
pub const MAX_MEMBERS: u64 = 1_000_000;
/// `DOTDIR_ARCHIVE_MAX_MEMBERS`: a lower bound on members than [`MAX_MEMBERS`] (a person
/// restoring on a small filesystem; the hostile harness, which cannot generate a million
/// members quickly). A value above [`MAX_MEMBERS`] or not a number is ignored.
pub const MAX_MEMBERS_ENV: &str = "DOTDIR_ARCHIVE_MAX_MEMBERS";

/// [`MAX_MEMBERS`], or the lower bound [`MAX_MEMBERS_ENV`] sets.
pub fn max_members() -> u64 {
    std::env::var(MAX_MEMBERS_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(MAX_MEMBERS, |n| n.min(MAX_MEMBERS))
}
/// The most bytes an archive may expand to.
pub const MAX_TOTAL_BYTES: u64 = 256 << 30;
/// The highest expansion ratio (bytes out per compressed byte read) past the first
/// [`RATIO_GRACE_BYTES`]: deflate's own ceiling is about 1,032 (a stream of one repeated
/// byte), which real data reaches only in short runs.
pub const MAX_RATIO: u64 = 1000;
/// Bytes an archive may expand to before [`MAX_RATIO`] is enforced.
pub const RATIO_GRACE_BYTES: u64 = 256 << 20;

/// The mode a restored file or directory gets: the archive's bits without setuid, setgid,
/// sticky, group-write or world-write, within what its entry declares (`0o600`/`0o700` for a
/// private or secret entry). An archive's mode never adds a permission.
pub fn restored_mode(mode: u32, declared: Option<u32>) -> u32 {
    mode & 0o755 & declared.unwrap_or(0o777)
}

/// Counts the compressed bytes read, for the expansion ratio.
struct Counting<R> {
    inner: R,
    read: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

/// The decompressed stream, refused as a bomb as soon as it expands past [`MAX_TOTAL_BYTES`],
/// or past [`MAX_RATIO`] times the compressed bytes read once beyond [`RATIO_GRACE_BYTES`] —
/// in the middle of a member if need be, before its bytes reach the disk.
struct Bounded<R> {
    inner: R,
    out: u64,
    compressed: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out += n as u64;
        if self.out > MAX_TOTAL_BYTES {
            return Err(io::Error::other(format!(
                "expands to more than {} GiB: refused as a bomb",
                MAX_TOTAL_BYTES >> 30
            )));
        }
        if self.out > RATIO_GRACE_BYTES && self.out / self.compressed.get().max(1) > MAX_RATIO {
            return Err(io::Error::other(format!(
                "expands more than {MAX_RATIO} times its compressed size: refused as a bomb"
            )));
        }
        Ok(n)
    }
}
const FORMAT: &str = "dotdir-backup/1";

/// What an archive holds, as its manifest says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Manifest {
    /// `dotdir-backup/1`.
    pub format: String,
    /// The layout the data directory follows.
    pub layout: String,
    /// The top-level folder every entry is in.
    pub top: String,
    /// Every file, in archive order.
    pub files: Vec<ManifestFile>,
    /// What stayed out, and why (`secret`, `ephemeral`, …).
    pub left_out: Vec<LeftOut>,
}

/// One archived file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ManifestFile {
    /// The relative path (lossy for people when the name is not UTF-8).
    pub path: String,
    /// The exact name as hex bytes, when it is not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_hex: Option<String>,
    /// Size in bytes.
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
    /// The layout does not declare it (archives written before deny-by-default; a backup no
    /// longer carries undeclared files).
    #[serde(default)]
    pub unknown: bool,
}

impl ManifestFile {
    /// The exact relative name, byte for byte.
    pub fn name(&self) -> PathBuf {
        match self.path_hex.as_deref().and_then(from_hex) {
            Some(bytes) => PathBuf::from(OsStr::from_bytes(&bytes)),
            None => PathBuf::from(&self.path),
        }
    }
}

/// A path left out of the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LeftOut {
    /// The relative path.
    pub path: String,
    /// Why ([`SkipReason::label`]).
    pub reason: String,
}

/// What [`write()`] produced.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Written {
    /// Files archived and verified.
    pub files: usize,
    /// Their total size.
    pub bytes: u64,
    /// The archive's size.
    pub archive_bytes: u64,
    /// The manifest it carries.
    pub manifest: Manifest,
    /// Logs whose unfinished last line stayed out (a write in progress, or a crash's torn
    /// tail: `dotdir check` reports it), with the bytes left out.
    pub torn: Vec<(String, u64)>,
}

/// What [`restore`] did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Restored {
    /// Files restored, each checked against its digest.
    pub files: usize,
    /// Their total size.
    pub bytes: u64,
    /// Where the directory that was there before went (with `force`).
    pub moved_aside: Option<PathBuf>,
    /// The secrets that were never archived: to re-create (log in again, OAuth, …).
    pub secrets: Vec<String>,
    /// The directory written: the target, or the directory it links to (the link stays).
    pub dir: PathBuf,
    /// What killed writers had left beside it (staging directories of killed restores, temporary
    /// files no live writer holds), removed under the restore's lock.
    pub swept: Vec<crate::leftover::Leftover>,
}

fn archive_error(path: &Path, message: impl Into<String>) -> Error {
    Error::Archive { path: path.to_path_buf(), message: message.into() }
}

fn io_error<'a>(step: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Error + 'a {
    move |source| Error::Io(IoError { step, path: path.to_path_buf(), source })
}

/// The end of the last complete line among the first `len` bytes of `file` (0 when it has
/// none): what of a log being appended to is whole.
fn complete_lines_end(file: &File, len: u64) -> io::Result<u64> {
    use std::os::unix::fs::FileExt;
    let mut end = len;
    let mut chunk = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let piece = &mut chunk[..(end - start) as usize];
        file.read_exact_at(piece, start)?;
        if let Some(i) = piece.iter().rposition(|&b| b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// Writes `selection` as a verified `.tar.gz` at `out`; `progress` is told the bytes as they are
/// archived. An existing `out` is an error unless `replace`. A log (JSON Lines) goes in up to
/// its last complete line ([`Written::torn`] says what stayed out).
pub fn write(
    selection: &Selection,
    out: &Path,
    replace: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<Written, Error> {
    match fs::symlink_metadata(out) {
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(archive_error(out, "is a symlink: refused, nothing is written through it"));
        }
        Ok(_) if !replace => {
            return Err(archive_error(out, "already exists: choose another name, or pass --force"));
        }
        _ => {}
    }
    let top = selection.layout.to_owned();
    let mut archive =
        dotdir_atomic_store::AtomicFile::create(out, &dotdir_atomic_store::WriteOptions::secret())
            .map_err(|source| Error::Store { path: out.to_path_buf(), source })?;
    let mut files = Vec::with_capacity(selection.files.len());
    let mut torn = Vec::new();
    {
        let encoder = flate2::write::GzEncoder::new(
            BufWriter::new(&mut archive),
            flate2::Compression::default(),
        );
        let mut builder = tar::Builder::new(encoder);
        builder.mode(tar::HeaderMode::Deterministic);
        let mut dirs = BTreeSet::new();
        for file in &selection.files {
            add_parents(&mut builder, &selection.root, &top, &file.name, &mut dirs, out)?;
            let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
            let source = OpenOptions::new()
                .read(true)
                .custom_flags(flags.bits() as i32)
                .open(&file.path)
                .map_err(io_error("read", &file.path))?;
            let meta = source.metadata().map_err(io_error("read", &file.path))?;
            if !meta.is_file() {
                return Err(archive_error(&file.path, "is no longer a regular file"));
            }
            let len = if file.complete_lines {
                complete_lines_end(&source, meta.len()).map_err(io_error("read", &file.path))?
            } else {
                meta.len()
            };
            if len < meta.len() {
                torn.push((file.relative.clone(), meta.len() - len));
            }
            let mode = meta.permissions().mode() & 0o7777;
            let mut header = header(tar::EntryType::Regular, mode, len);
            set_mtime(&mut header, &meta);
            let mut reader = Hashing::new(source.take(len), progress);
            builder
                .append_data(&mut header, Path::new(&top).join(&file.name), &mut reader)
                .map_err(|e| {
                    archive_error(
                        &file.path,
                        format!("cannot archive (it changed while read?): {e}"),
                    )
                })?;
            files.push(manifest_file(&file.name, len, mode, reader.finish()));
        }
        let manifest = Manifest {
            format: FORMAT.to_owned(),
            layout: selection.layout.to_owned(),
            top: top.clone(),
            files,
            left_out: selection
                .skipped
                .iter()
                .map(|s| LeftOut { path: s.relative.clone(), reason: s.reason.label().to_owned() })
                .collect(),
        };
        let bytes = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| archive_error(out, format!("cannot encode the manifest: {e}")))?;
        let mut header = header(tar::EntryType::Regular, 0o600, bytes.len() as u64);
        builder
            .append_data(&mut header, Path::new(&top).join(MANIFEST), bytes.as_slice())
            .map_err(io_error("write", out))?;
        let encoder = builder.into_inner().map_err(io_error("write", out))?;
        let mut inner = encoder.finish().map_err(io_error("write", out))?;
        inner.flush().map_err(io_error("write", out))?;
        files = manifest.files;
    }
    // Read back from the temporary file before it takes the name.
    let manifest = verify(archive.temp_path())?;
    if manifest.files != files {
        return Err(archive_error(out, "the archive does not read back as written"));
    }
    let archive_bytes = archive.as_file().metadata().map_err(io_error("write", out))?.len();
    let _ = archive.commit().map_err(|source| Error::Store { path: out.to_path_buf(), source })?;
    Ok(Written {
        files: manifest.files.len(),
        bytes: manifest.files.iter().map(|f| f.size).sum(),
        archive_bytes,
        manifest,
        torn,
    })
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header
}

fn set_mtime(header: &mut tar::Header, meta: &fs::Metadata) {
    use std::os::unix::fs::MetadataExt;
    header.set_mtime(u64::try_from(meta.mtime()).unwrap_or(0));
}

/// Adds the directories above `name` (with their modes), each once.
fn add_parents<W: Write>(
    builder: &mut tar::Builder<W>,
    root: &Path,
    top: &str,
    name: &Path,
    added: &mut BTreeSet<PathBuf>,
    out: &Path,
) -> Result<(), Error> {
    let mut prefix = PathBuf::new();
    for component in name.parent().into_iter().flat_map(Path::iter) {
        prefix.push(component);
        if !added.insert(prefix.clone()) {
            continue;
        }
        let meta = fs::symlink_metadata(root.join(&prefix)).map_err(io_error("read", root))?;
        let mut header = header(tar::EntryType::Directory, meta.permissions().mode() & 0o7777, 0);
        set_mtime(&mut header, &meta);
        builder
            .append_data(&mut header, Path::new(top).join(&prefix), io::empty())
            .map_err(io_error("write", out))?;
    }
    Ok(())
}

fn manifest_file(name: &Path, size: u64, mode: u32, sha256: String) -> ManifestFile {
    let bytes = name.as_os_str().as_bytes();
    let utf8 = std::str::from_utf8(bytes).is_ok();
    ManifestFile {
        path: name.to_string_lossy().into_owned(),
        path_hex: (!utf8).then(|| hex(bytes)),
        size,
        mode,
        sha256,
        unknown: false,
    }
}

/// A reader that hashes what passes through it and reports progress.
struct Hashing<'a, R> {
    inner: R,
    hasher: Sha256,
    progress: &'a mut dyn FnMut(u64),
}

impl<'a, R> Hashing<'a, R> {
    fn new(inner: R, progress: &'a mut dyn FnMut(u64)) -> Self {
        Self { inner, hasher: Sha256::new(), progress }
    }

    fn finish(self) -> String {
        hex(&self.hasher.finalize())
    }
}

impl<R: Read> Read for Hashing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if interrupted() {
            return Err(io::Error::other("interrupted by a signal"));
        }
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        (self.progress)(n as u64);
        Ok(n)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// One entry of an archive being read: its name below the top-level folder.
enum Item {
    Dir { name: PathBuf, mode: u32 },
    File { name: PathBuf, mode: u32, mtime: u64 },
    Manifest,
}

/// Reads `archive`, calling `visit` for each entry (with a reader for a file's content), and
/// returns the manifest. Refuses anything but directories and regular files, names outside the
/// top-level folder, `..` and absolute names.
fn read_archive(
    archive: &Path,
    mut visit: impl FnMut(&Item, &mut dyn Read) -> Result<(), Error>,
) -> Result<Manifest, Error> {
    // The archive is the user's to name, through a link if they like; never a FIFO.
    let file = dotdir_atomic_store::open_regular_following(archive)
        .map_err(io_error("open the archive", archive))?;
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Err(archive_error(archive, "is not a regular file"));
    }
    let compressed = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let counting = Counting { inner: BufReader::new(file), read: compressed.clone() };
    let decoder = flate2::read::GzDecoder::new(counting);
    let bounded = Bounded { inner: decoder, out: 0, compressed: compressed.clone() };
    let mut tar = tar::Archive::new(bounded);
    let corrupt = |e: io::Error| archive_error(archive, format!("not a readable .tar.gz: {e}"));
    let mut top: Option<PathBuf> = None;
    let mut manifest = None;
    let (mut members, mut expanded) = (0u64, 0u64);
    let mut names = BTreeSet::new();
    let max_members = max_members();
    for entry in tar.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        members += 1;
        expanded = expanded.saturating_add(entry.header().size().unwrap_or(0)).saturating_add(512);
        if members > max_members {
            return Err(archive_error(
                archive,
                format!("holds more than {max_members} members: refused as a bomb"),
            ));
        }
        // A member that declares more than the bound is refused before a byte of it is read.
        if expanded > MAX_TOTAL_BYTES {
            return Err(archive_error(
                archive,
                format!("expands to more than {} GiB: refused as a bomb", MAX_TOTAL_BYTES >> 30),
            ));
        }
        let raw = PathBuf::from(OsStr::from_bytes(&entry.path_bytes()));
        let mut components = raw.components();
        let first = match components.next() {
            Some(std::path::Component::Normal(first)) => PathBuf::from(first),
            _ => return Err(archive_error(archive, format!("unsafe name {}", raw.display()))),
        };
        let name: PathBuf = components.as_path().to_path_buf();
        if name.components().any(|c| !matches!(c, std::path::Component::Normal(_))) {
            return Err(archive_error(archive, format!("unsafe name {}", raw.display())));
        }
        // A backup never holds git's directory: one in an archive could plant hooks or point
        // the journal at another repository.
        if name.components().any(|c| c.as_os_str().eq_ignore_ascii_case(".git")) {
            return Err(archive_error(
                archive,
                format!("{} is inside a .git: a backup never holds one, refused", raw.display()),
            ));
        }
        if !name.as_os_str().is_empty() && !names.insert(name.clone()) {
            return Err(archive_error(
                archive,
                format!("{} appears twice: refused", raw.display()),
            ));
        }
        match &top {
            Some(top) if *top != first => {
                return Err(archive_error(archive, "more than one top-level folder"));
            }
            _ => top = Some(first),
        }
        let header = entry.header();
        let mode = header.mode().map_err(corrupt)? & 0o7777;
        let item = match header.entry_type() {
            tar::EntryType::Directory if name.as_os_str().is_empty() => continue,
            tar::EntryType::Directory => Item::Dir { name, mode },
            tar::EntryType::Regular if name == Path::new(MANIFEST) => Item::Manifest,
            tar::EntryType::Regular => {
                Item::File { name, mode, mtime: header.mtime().map_err(corrupt)? }
            }
            other => {
                return Err(archive_error(
                    archive,
                    format!(
                        "{} is a {other:?} entry: only files and directories are restored",
                        raw.display()
                    ),
                ));
            }
        };
        if let Item::Manifest = item {
            let mut bytes = Vec::new();
            (&mut entry).take(64 << 20).read_to_end(&mut bytes).map_err(corrupt)?;
            let parsed: Manifest = serde_json::from_slice(&bytes)
                .map_err(|e| archive_error(archive, format!("the manifest does not parse: {e}")))?;
            if parsed.format != FORMAT {
                return Err(archive_error(archive, format!("unknown format {:?}", parsed.format)));
            }
            manifest = Some(parsed);
            continue;
        }
        visit(&item, &mut entry)?;
    }
    manifest.ok_or_else(|| archive_error(archive, "no manifest: not a dotdir backup"))
}

/// Reads `archive` and checks every file against its manifest (name, size, mode, SHA-256; none
/// missing, none extra, none twice), and the rules every restore applies to members whatever
/// the layout: only files and directories, no `..`, absolute or duplicate name, no `.git`,
/// within the bomb bounds ([`MAX_MEMBERS`], [`MAX_TOTAL_BYTES`], [`MAX_RATIO`]). Returns the
/// manifest. [`check_members`] adds the layout's rules.
pub fn verify(archive: &Path) -> Result<Manifest, Error> {
    verify_with_progress(archive, &mut |_| {})
}

/// [`verify`], telling `progress` the bytes as they are checked.
pub fn verify_with_progress(
    archive: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<Manifest, Error> {
    let mut found = BTreeMap::new();
    let manifest = read_archive(archive, |item, content| {
        if let Item::File { name, mode, .. } = item {
            let mut hashing = Hashing::new(content, &mut *progress);
            let size =
                io::copy(&mut hashing, &mut io::sink()).map_err(io_error("read", archive))?;
            found.insert(name.clone(), (size, *mode, hashing.finish()));
        }
        Ok(())
    })?;
    compare(archive, &manifest, &found)?;
    Ok(manifest)
}

/// The layout's rules for what a restore may create, checked on a verified manifest: every file
/// must be one the layout declares and backs up (or a `.corrupt` copy of one), never a secret
/// or what the layout never backs up. Whatever [`restore`] refuses, `backup --verify` with the
/// layout refuses too.
pub fn check_members(archive: &Path, manifest: &Manifest, layout: &Layout) -> Result<(), Error> {
    for file in &manifest.files {
        let name = file.name();
        let relative = name.to_string_lossy();
        let stem = relative.strip_suffix(".corrupt").map(|s| match s.rsplit_once('.') {
            Some((base, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => base,
            _ => s,
        });
        let entry = layout.entry_for(&relative);
        let source = stem.and_then(|s| layout.entry_for(s));
        let secret = |e: Option<&crate::Entry>| {
            e.is_some_and(|e| e.secret || e.backup == crate::Backup::Never)
        };
        if secret(entry) || secret(source) {
            return Err(archive_error(
                archive,
                format!(
                    "{relative} is a secret of the {} layout: a backup never holds one, refused",
                    layout.name
                ),
            ));
        }
        if entry.is_none() && source.is_none() {
            return Err(archive_error(
                archive,
                format!("{relative} is not declared by the {} layout: refused", layout.name),
            ));
        }
    }
    Ok(())
}

fn compare(
    archive: &Path,
    manifest: &Manifest,
    found: &BTreeMap<PathBuf, (u64, u32, String)>,
) -> Result<(), Error> {
    let mut expected = BTreeMap::new();
    for file in &manifest.files {
        expected.insert(file.name(), (file.size, file.mode, file.sha256.clone()));
    }
    if expected.len() != manifest.files.len() {
        return Err(archive_error(archive, "the manifest names a file twice"));
    }
    for (name, want) in &expected {
        match found.get(name) {
            None => return Err(archive_error(archive, format!("{} is missing", name.display()))),
            Some(got) if got != want => {
                return Err(archive_error(
                    archive,
                    format!(
                        "{} does not match its manifest entry (size, mode or SHA-256)",
                        name.display()
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = found.keys().find(|name| !expected.contains_key(*name)) {
        return Err(archive_error(archive, format!("{} is not in the manifest", extra.display())));
    }
    Ok(())
}

/// Restores `archive` into `dir`, read with `layout`: verifies it, extracts it into a staging
/// directory beside `dir` (every digest checked again), then moves it into place.
///
/// `dir` must not exist or be empty; a non-empty `dir` is moved aside first (to
/// `<dir>.before-restore-<n>`, nothing deleted) only with `force`, and never while the
/// application that owns it runs (its pid record held). Safe to repeat after a crash: the
/// staging directory is rebuilt, and `dir` is either what it was or the complete restore.
pub fn restore(
    archive: &Path,
    dir: &Path,
    layout: &Layout,
    options: &check::Options,
    force: bool,
) -> Result<Restored, Error> {
    restore_with_progress(archive, dir, layout, options, force, &mut |_| {})
}

/// [`restore`], telling `progress` the bytes as they are verified and then extracted (each
/// file's size counts twice).
pub fn restore_with_progress(
    archive: &Path,
    dir: &Path,
    layout: &Layout,
    options: &check::Options,
    force: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<Restored, Error> {
    let manifest = verify_with_progress(archive, &mut *progress)?;
    if manifest.layout != layout.name {
        return Err(archive_error(
            archive,
            format!("is a backup of the {} layout, not {}", manifest.layout, layout.name),
        ));
    }
    check_members(archive, &manifest, layout)?;
    let dir = resolve_target(&std::path::absolute(dir).map_err(io_error("resolve", dir))?)?;
    let (parent, name) = match (dir.parent(), dir.file_name()) {
        (Some(parent), Some(name)) => (parent.to_path_buf(), name.to_owned()),
        _ => return Err(archive_error(&dir, "cannot restore into a filesystem root")),
    };
    let occupied = match fs::read_dir(&dir) {
        Ok(mut entries) => entries.next().is_some(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(source) => return Err(Error::Io(IoError { step: "open", path: dir.clone(), source })),
    };
    if occupied {
        if let Some(running) = check::running_in(&dir, layout, options)? {
            let what = match running.is_seen() {
                true => "stop it first, then restore",
                false => "if it is stopped, say so (--assume-stopped) and restore again",
            };
            return Err(archive_error(&dir, format!("{running}: {what}; nothing was moved")));
        }
        if !force {
            return Err(archive_error(
                &dir,
                "is not empty: restore into a new directory, or pass --force to move it aside first",
            ));
        }
    }
    store_dirs(&parent, 0o777)?;
    let staging = parent.join(crate::leftover::staging_name(&name));
    // One restore at a time into this parent directory (its own `flock`: no lock file is left
    // beside the user's directories). Under it, every staging directory here is a killed
    // restore's, and every temporary file no live writer holds is a killed writer's: removed,
    // and named in `Restored::swept`.
    let parent_lock = File::open(&parent).map_err(io_error("open", &parent))?;
    parent_lock.lock().map_err(io_error("lock", &parent))?;
    let swept = crate::leftover::sweep_locked(&parent)?;
    // From here on, every error removes the staging directory (and puts back what was moved).
    let empty_mode = (!occupied)
        .then(|| fs::symlink_metadata(&dir).ok())
        .flatten()
        .map(|m| m.permissions().mode() & 0o7777);
    let mut moved_aside = None;
    let placed = (|| {
        store_dirs(&staging, 0o700)?;
        let (files, bytes, mut dir_modes) =
            extract(archive, &manifest, &staging, layout, progress)?;
        // Directory modes last (deepest first), so a read-only directory did not block its
        // files.
        dir_modes.sort_by_key(|(path, _)| std::cmp::Reverse(path.components().count()));
        for (relative, mode) in dir_modes {
            let path = staging.join(&relative);
            let declared = layout.entry_for_path(&relative).and_then(crate::Entry::write_mode);
            fail_point("set the mode of").map_err(io_error("set the mode of", &path))?;
            fs::set_permissions(&path, fs::Permissions::from_mode(restored_mode(mode, declared)))
                .map_err(io_error("set the mode of", &path))?;
        }
        let mode = fs::metadata(&dir).ok().map_or(0o700, |m| m.permissions().mode() & 0o777);
        fail_point("set the mode of").map_err(io_error("set the mode of", &staging))?;
        fs::set_permissions(&staging, fs::Permissions::from_mode(restored_mode(mode, None)))
            .map_err(io_error("set the mode of", &staging))?;
        fail_point("sync").map_err(io_error("sync", &staging))?;
        sync_dir(&staging)?;
        if occupied {
            let aside = (1..)
                .map(|n| {
                    let mut aside = name.clone();
                    aside.push(format!(".before-restore-{n}"));
                    parent.join(aside)
                })
                .find(|p| fs::symlink_metadata(p).is_err())
                .unwrap_or_else(|| parent.join("before-restore"));
            fail_point("move aside").map_err(io_error("move aside", &dir))?;
            fs::rename(&dir, &aside).map_err(io_error("move aside", &dir))?;
            moved_aside = Some(aside);
        } else if fs::symlink_metadata(&dir).is_ok() {
            fail_point("replace the empty directory")
                .map_err(io_error("replace the empty directory", &dir))?;
            fs::remove_dir(&dir).map_err(io_error("replace the empty directory", &dir))?;
        }
        fail_point("move the restored directory to")
            .map_err(io_error("move the restored directory to", &dir))?;
        fs::rename(&staging, &dir).map_err(io_error("move the restored directory to", &dir))?;
        Ok((files, bytes))
    })();
    let (files, bytes) = match placed {
        Ok(done) => done,
        Err(error) => {
            // Put back what was there: the directory moved aside, or the empty one removed.
            if let Some(aside) = &moved_aside {
                let _ = fs::rename(aside, &dir);
            } else if let Some(mode) = empty_mode
                && fs::symlink_metadata(&dir).is_err()
            {
                let _ = std::os::unix::fs::DirBuilderExt::mode(&mut fs::DirBuilder::new(), mode)
                    .create(&dir);
            }
            let _ = fs::remove_dir_all(&staging);
            return Err(error);
        }
    };
    sync_dir(&parent)?;
    drop(parent_lock);
    let secrets = manifest
        .left_out
        .iter()
        .filter(|l| l.reason == SkipReason::Secret.label())
        .map(|l| l.path.clone())
        .collect();
    Ok(Restored { files, bytes, moved_aside, secrets, dir, swept })
}

/// The directory a restore into `dir` writes: `dir` itself, or, when `dir` is a symlink, the
/// directory it points to (the staging is built beside that directory and renamed into its
/// place; the link stays). A link to nothing, or to something not a directory, is refused
/// before anything is extracted.
fn resolve_target(dir: &Path) -> Result<PathBuf, Error> {
    match fs::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_symlink() => {
            let target = fs::canonicalize(dir).map_err(|e| {
                archive_error(
                    dir,
                    format!(
                        "is a symlink to a directory that does not exist ({e}): create the directory it points to, or restore into another path"
                    ),
                )
            })?;
            if !fs::metadata(&target).is_ok_and(|m| m.is_dir()) {
                return Err(archive_error(
                    dir,
                    format!(
                        "is a symlink to {}, which is not a directory: refused",
                        target.display()
                    ),
                ));
            }
            Ok(target)
        }
        _ => Ok(dir.to_path_buf()),
    }
}

#[cfg(test)]
thread_local! {
    /// The step of a restore that fails (tests of the staging's removal on every error).
    static FAIL_AT: std::cell::Cell<Option<&'static str>> = const { std::cell::Cell::new(None) };
}

/// Fails at `step` when a test asked for it; nothing otherwise.
#[cfg(test)]
fn fail_point(step: &'static str) -> io::Result<()> {
    if FAIL_AT.with(|f| f.get()) == Some(step) {
        return Err(io::Error::other(format!("injected failure at {step}")));
    }
    Ok(())
}

#[cfg(not(test))]
#[inline(always)]
fn fail_point(_step: &'static str) -> io::Result<()> {
    Ok(())
}

type Extracted = (usize, u64, Vec<(PathBuf, u32)>);

/// Creates `dir` and its missing ancestors durably (restored modes are applied at the end).
fn store_dirs(dir: &Path, mode: u32) -> Result<(), Error> {
    dotdir_atomic_store::create_dirs(dir, mode, dotdir_atomic_store::Durability::Full)
        .map_err(|source| Error::Store { path: dir.to_path_buf(), source })
}

fn extract(
    archive: &Path,
    manifest: &Manifest,
    staging: &Path,
    layout: &Layout,
    progress: &mut dyn FnMut(u64),
) -> Result<Extracted, Error> {
    let mut found = BTreeMap::new();
    let mut dirs = Vec::new();
    let mut bytes = 0;
    let again = read_archive(archive, |item, content| {
        match item {
            Item::Dir { name, mode } => {
                let path = staging.join(name);
                store_dirs(&path, 0o700)?;
                dirs.push((name.clone(), *mode));
            }
            Item::File { name, mode, mtime } => {
                let path = staging.join(name);
                if let Some(parent) = path.parent() {
                    store_dirs(parent, 0o700)?;
                }
                let file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
                    .open(&path)
                    .map_err(io_error("create", &path))?;
                let mut hashing = Hashing::new(content, &mut *progress);
                let mut writer = BufWriter::new(&file);
                let size = io::copy(&mut hashing, &mut writer).map_err(io_error("write", &path))?;
                writer.flush().map_err(io_error("write", &path))?;
                drop(writer);
                let declared = layout.entry_for_path(name).and_then(crate::Entry::write_mode);
                file.set_permissions(fs::Permissions::from_mode(restored_mode(*mode, declared)))
                    .map_err(io_error("set the mode of", &path))?;
                let _ = file.set_modified(UNIX_EPOCH + Duration::from_secs(*mtime));
                file.sync_all().map_err(io_error("sync", &path))?;
                bytes += size;
                found.insert(name.clone(), (size, *mode, hashing.finish()));
            }
            Item::Manifest => {}
        }
        Ok(())
    })?;
    if again != *manifest {
        return Err(archive_error(archive, "changed between its verification and its restore"));
    }
    compare(archive, manifest, &found)?;
    for (name, _) in &dirs {
        sync_dir(&staging.join(name))?;
    }
    Ok((found.len(), bytes, dirs))
}

fn sync_dir(dir: &Path) -> Result<(), Error> {
    let handle = File::open(dir).map_err(io_error("sync", dir))?;
    match handle.sync_all() {
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error()) => Ok(()),
        other => other.map_err(io_error("sync", dir)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Entry, Format};

    const APP: Layout = Layout::new(
        "app",
        "an app",
        &[Entry::dir("notes", "notes"), Entry::file("notes/*.md", Format::Text, "a note")],
    );

    fn archive_of(root: &Path) -> PathBuf {
        let dir = root.join("data");
        fs::create_dir_all(dir.join("notes")).unwrap();
        fs::write(dir.join("notes/a.md"), "hello").unwrap();
        let out = root.join("app.tar.gz");
        let _ =
            write(&crate::backup::select(&dir, &APP).unwrap(), &out, false, &mut |_| {}).unwrap();
        out
    }

    fn names(dir: &Path) -> BTreeSet<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    /// Every step after the staging directory exists fails in turn: the error comes back, the
    /// staging directory is gone, and the target is as it was (moved-aside content put back).
    #[test]
    fn every_error_after_staging_removes_it_and_keeps_the_target() {
        let steps = [
            "set the mode of",
            "sync",
            "move aside",
            "replace the empty directory",
            "move the restored directory to",
        ];
        let mut failed = 0;
        for step in steps {
            for occupied in [false, true] {
                let tmp = tempfile::tempdir().unwrap();
                let out = archive_of(tmp.path());
                let target = tmp.path().join("copy");
                fs::create_dir(&target).unwrap();
                if occupied {
                    fs::write(target.join("mine"), "kept").unwrap();
                }
                let before = names(tmp.path());
                FAIL_AT.with(|f| f.set(Some(step)));
                let result = restore(&out, &target, &APP, &check::Options::default(), true);
                FAIL_AT.with(|f| f.set(None));
                let reached = !matches!(
                    (step, occupied),
                    ("move aside", false) | ("replace the empty directory", true)
                );
                if !reached {
                    assert!(result.is_ok(), "{step}: not on this path, the restore succeeds");
                    continue;
                }
                failed += 1;
                let error = crate::error_chain(&result.expect_err(step));
                assert!(error.contains("injected failure"), "{step}: {error}");
                assert_eq!(names(tmp.path()), before, "{step} (occupied: {occupied})");
                assert!(!tmp.path().join(".copy.dotdir-restore").exists(), "{step}");
                let inside = names(&target);
                let expected: BTreeSet<String> =
                    if occupied { ["mine".to_owned()].into() } else { BTreeSet::new() };
                assert_eq!(inside, expected, "{step}: the target is as it was");
            }
        }
        assert_eq!(failed, 8);
    }

    #[test]
    fn a_restore_into_a_symlink_writes_the_directory_it_points_to() {
        let tmp = tempfile::tempdir().unwrap();
        let out = archive_of(tmp.path());
        let real = tmp.path().join("disk/real");
        fs::create_dir_all(&real).unwrap();
        let link = tmp.path().join("home/.app");
        fs::create_dir_all(link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let restored = restore(&out, &link, &APP, &check::Options::default(), false).unwrap();
        assert_eq!(restored.dir, fs::canonicalize(&real).unwrap());
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(fs::read(link.join("notes/a.md")).unwrap(), b"hello");
        assert_eq!(names(tmp.path().join("disk").as_path()), ["real".to_owned()].into());
        assert_eq!(names(tmp.path().join("home").as_path()), [".app".to_owned()].into());

        let dangling = tmp.path().join("home/.gone");
        std::os::unix::fs::symlink(tmp.path().join("nowhere"), &dangling).unwrap();
        let error = restore(&out, &dangling, &APP, &check::Options::default(), false)
            .unwrap_err()
            .to_string();
        assert!(error.contains("does not exist"), "{error}");
        assert_eq!(
            names(tmp.path().join("home").as_path()),
            [".app".to_owned(), ".gone".to_owned()].into()
        );
    }
}
