//! Reading an archive: members counted and bounded as they decompress, checked against the manifest and the layout.

use crate::Step;
use std::{
    collections::{BTreeMap, BTreeSet},
    ffi::OsStr,
    io::{self, BufReader, Read},
    os::unix::ffi::OsStrExt,
    path::{Path, PathBuf},
};

use super::{
    MANIFEST, MAX_RATIO, MAX_TOTAL_BYTES, RATIO_GRACE_BYTES, archive_error, io_error,
    manifest::{FORMAT, Hashing, Manifest},
    max_members,
};

use crate::{Error, Layout};

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

/// One entry of an archive being read: its name below the top-level folder.
pub(super) enum Item {
    Dir { name: PathBuf, mode: u32 },
    File { name: PathBuf, mode: u32, mtime: u64 },
    Manifest,
}

/// Reads `archive`, calling `visit` for each entry (with a reader for a file's content), and
/// returns the manifest. Refuses anything but directories and regular files, names outside the
/// top-level folder, `..` and absolute names.
pub(super) fn read_archive(
    archive: &Path,
    mut visit: impl FnMut(&Item, &mut dyn Read) -> Result<(), Error>,
) -> Result<Manifest, Error> {
    // The archive is the user's to name, through a link if they like; never a FIFO.
    let file = dotdir_atomic_store::open_regular_following(archive)
        .map_err(io_error(Step::Open, archive))?;
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
/// within the bomb bounds ([`MAX_MEMBERS`](super::MAX_MEMBERS), [`MAX_TOTAL_BYTES`], [`MAX_RATIO`]). Returns the
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
                io::copy(&mut hashing, &mut io::sink()).map_err(io_error(Step::Read, archive))?;
            found.insert(name.clone(), (size, *mode, hashing.finish()));
        }
        Ok(())
    })?;
    compare(archive, &manifest, &found)?;
    Ok(manifest)
}

/// The layout's rules for what a restore may create, checked on a verified manifest: every file
/// must be one the layout declares and backs up (or a `.corrupt` copy of one), never a secret
/// or what the layout never backs up. Whatever [`restore`](super::restore) refuses, `backup --verify` with the
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

pub(super) fn compare(
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
