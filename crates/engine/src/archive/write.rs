//! Writing an archive: the selection streamed into a `.tar.gz`, hashed on the way, verified before it takes its name.

use crate::Step;
use std::{
    collections::BTreeSet,
    fs::{self, File, OpenOptions},
    io::{self, BufWriter, Read, Write},
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

use super::{
    MANIFEST, archive_error, io_error,
    manifest::{FORMAT, Hashing, LeftOut, Manifest, manifest_file},
    read::verify,
};

use crate::{Error, backup::Selection};

/// What [`write()`] produced.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Archived {
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
/// its last complete line ([`Archived::torn`] says what stayed out).
pub fn write(
    selection: &Selection,
    out: &Path,
    replace: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<Archived, Error> {
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
                .map_err(io_error(Step::Read, &file.path))?;
            let meta = source.metadata().map_err(io_error(Step::Read, &file.path))?;
            if !meta.is_file() {
                return Err(archive_error(&file.path, "is no longer a regular file"));
            }
            let len = if file.complete_lines {
                complete_lines_end(&source, meta.len()).map_err(io_error(Step::Read, &file.path))?
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
            .map_err(io_error(Step::Write, out))?;
        let encoder = builder.into_inner().map_err(io_error(Step::Write, out))?;
        let mut inner = encoder.finish().map_err(io_error(Step::Write, out))?;
        inner.flush().map_err(io_error(Step::Write, out))?;
        files = manifest.files;
    }
    // Read back from the temporary file before it takes the name.
    let manifest = verify(archive.temp_path())?;
    if manifest.files != files {
        return Err(archive_error(out, "the archive does not read back as written"));
    }
    let archive_bytes = archive.as_file().metadata().map_err(io_error(Step::Write, out))?.len();
    let _ = archive.commit().map_err(|source| Error::Store { path: out.to_path_buf(), source })?;
    Ok(Archived {
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
        let meta = fs::symlink_metadata(root.join(&prefix)).map_err(io_error(Step::Read, root))?;
        let mut header = header(tar::EntryType::Directory, meta.permissions().mode() & 0o7777, 0);
        set_mtime(&mut header, &meta);
        builder
            .append_data(&mut header, Path::new(top).join(&prefix), io::empty())
            .map_err(io_error(Step::Write, out))?;
    }
    Ok(())
}
