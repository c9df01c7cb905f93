//! The contents of the secret files in the work tree, as git blob ids: what a push must not send
//! under any path, since a copy (`state/token.json.bak`, `State/Token.json`) committed by hand
//! escapes every path pattern.

use std::{
    collections::{BTreeMap, HashMap},
    fs::{File, OpenOptions},
    io::{self, Read},
    os::unix::fs::{FileTypeExt, OpenOptionsExt},
    path::{Path, PathBuf},
};

use git2::{ObjectType, Oid};

use crate::{Error, IoError, Result, Step, glob_match};

/// The largest secret file hashed (8 MiB); a larger one is compared by its path only.
pub const SECRET_SIZE_LIMIT: u64 = 8 << 20;

/// The git blob ids of the secret files' current contents, each with the secret's path and the
/// pattern that declares it. Only ids and paths are kept, never the bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretBlobs {
    by_id: HashMap<Oid, (String, String)>,
}

impl SecretBlobs {
    /// No secret.
    pub fn new() -> Self {
        Self::default()
    }

    /// Hashes every secret file under `dir`: each existing, non-empty regular file (of at most
    /// [`SECRET_SIZE_LIMIT`] bytes) that one of the glob `patterns` ([`glob_match`], from the
    /// top of `dir`) matches, or that lies in a directory one matches. Symbolic links are never
    /// followed (neither a link at a secret's path nor a linked directory on the way), and a
    /// FIFO, socket or device at a secret's path is skipped without blocking: it is opened
    /// non-blocking with `O_NOFOLLOW` and must be a regular file by `fstat`. `.git` is never
    /// entered. A directory or file that cannot be read (other than missing) is an error: the
    /// audit cannot vouch for what it did not read.
    pub fn from_work_tree<S: AsRef<str>>(dir: &Path, patterns: &[S]) -> Result<Self> {
        let mut files: BTreeMap<String, (PathBuf, String)> = BTreeMap::new();
        for pattern in patterns {
            let pattern = pattern.as_ref();
            let segments: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
            let mut found = Vec::new();
            expand(dir, String::new(), &segments, &mut found)?;
            for (rel, path) in found {
                files.entry(rel).or_insert_with(|| (path, pattern.to_owned()));
            }
        }
        let mut blobs = SecretBlobs::new();
        for (rel, (path, pattern)) in files {
            if let Some(bytes) = read_secret(&path)? {
                blobs.insert(rel, pattern, &bytes);
            }
        }
        Ok(blobs)
    }

    /// Adds the secret `path` (declared by `pattern`) whose content is `bytes`; empty content is
    /// not a secret (the empty blob is in many histories) and is ignored.
    pub fn insert(&mut self, path: impl Into<String>, pattern: impl Into<String>, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if let Ok(id) = Oid::hash_object(ObjectType::Blob, bytes) {
            self.by_id.entry(id).or_insert_with(|| (path.into(), pattern.into()));
        }
    }

    /// How many distinct secret contents there are.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The secret path and its pattern whose content is the blob `id`.
    pub(crate) fn get(&self, id: Oid) -> Option<(&str, &str)> {
        self.by_id.get(&id).map(|(path, pattern)| (path.as_str(), pattern.as_str()))
    }
}

/// Whether a glob component is a plain name (nothing to expand).
fn is_literal(segment: &str) -> bool {
    !segment.contains(['*', '?', '[', '\\'])
}

/// The paths under `dir` that `segments` (a pattern's components, below `rel`) reach.
fn expand(
    dir: &Path,
    rel: String,
    segments: &[&str],
    found: &mut Vec<(String, PathBuf)>,
) -> Result<()> {
    let join = |name: &str| if rel.is_empty() { name.to_owned() } else { format!("{rel}/{name}") };
    match segments.split_first() {
        None => collect(dir, rel, found),
        Some((&"**", [])) => collect(dir, rel, found),
        Some((&"**", rest)) => {
            expand(dir, rel.clone(), rest, found)?;
            for name in subdirectories(dir, &rel)? {
                expand(dir, join(&name), segments, found)?;
            }
            Ok(())
        }
        Some((segment, rest)) if is_literal(segment) => {
            if *segment == "." || *segment == ".." || (rel.is_empty() && *segment == ".git") {
                return Ok(());
            }
            let next = join(segment);
            if rest.is_empty() || lstat(dir, &next)?.is_some_and(|m| m.is_dir()) {
                expand(dir, next, rest, found)?;
            }
            Ok(())
        }
        Some((segment, rest)) => {
            for name in entries(dir, &rel)? {
                if glob_match(segment, &name) {
                    let next = join(&name);
                    if rest.is_empty() || lstat(dir, &next)?.is_some_and(|m| m.is_dir()) {
                        expand(dir, next, rest, found)?;
                    }
                }
            }
            Ok(())
        }
    }
}

/// `rel` when it is not a directory, every such path under it when it is one (links to a
/// directory not followed). Devices and sockets are left out; a link or a FIFO is kept for
/// [`read_secret`], which opens it without following or blocking and keeps only a regular file.
fn collect(dir: &Path, rel: String, found: &mut Vec<(String, PathBuf)>) -> Result<()> {
    let mut stack = vec![rel];
    while let Some(rel) = stack.pop() {
        if rel.is_empty() {
            // A pattern that matches the whole directory: everything in it but `.git`.
            stack.extend(entries(dir, &rel)?.into_iter().filter(|n| n != ".git"));
            continue;
        }
        match lstat(dir, &rel)? {
            Some(meta) if meta.is_dir() => {
                stack.extend(entries(dir, &rel)?.into_iter().map(|name| format!("{rel}/{name}")));
            }
            Some(meta) => {
                let kind = meta.file_type();
                if !(kind.is_block_device() || kind.is_char_device() || kind.is_socket()) {
                    found.push((rel.clone(), dir.join(&rel)));
                }
            }
            None => {}
        }
    }
    Ok(())
}

/// `lstat` of `dir/rel`; `None` when it does not exist.
fn lstat(dir: &Path, rel: &str) -> Result<Option<std::fs::Metadata>> {
    let path = dir.join(rel);
    match std::fs::symlink_metadata(&path) {
        Ok(meta) => Ok(Some(meta)),
        Err(e) if is_absent(&e) => Ok(None),
        Err(source) => Err(Error::Io(IoError { step: Step::ReadSecret, path, source })),
    }
}

/// The names in the directory `dir/rel` (none when it is missing or not a directory).
fn entries(dir: &Path, rel: &str) -> Result<Vec<String>> {
    let path = dir.join(rel);
    let listing = match std::fs::read_dir(&path) {
        Ok(listing) => listing,
        Err(e) if is_absent(&e) => return Ok(Vec::new()),
        Err(source) => return Err(Error::Io(IoError { step: Step::ReadSecret, path, source })),
    };
    let mut names = Vec::new();
    for entry in listing {
        let entry = entry.map_err(|source| IoError {
            step: Step::ReadSecret,
            path: path.clone(),
            source,
        })?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    Ok(names)
}

/// The subdirectories (not links to one) of `dir/rel`.
fn subdirectories(dir: &Path, rel: &str) -> Result<Vec<String>> {
    let mut dirs = Vec::new();
    for name in entries(dir, rel)? {
        let child = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
        if (!rel.is_empty() || name != ".git") && lstat(dir, &child)?.is_some_and(|m| m.is_dir()) {
            dirs.push(name);
        }
    }
    Ok(dirs)
}

/// Missing, or something on the way is not a directory: there is no file to read.
fn is_absent(error: &io::Error) -> bool {
    matches!(error.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory)
}

/// The bytes of the secret file at `path`: `None` when it is missing, empty, larger than
/// [`SECRET_SIZE_LIMIT`], a symbolic link or not a regular file.
fn read_secret(path: &Path) -> Result<Option<Vec<u8>>> {
    // `O_NOFOLLOW | O_NONBLOCK`: a link is not followed, a FIFO does not block. Not
    // `dotdir_atomic_store::open_regular`, which follows a link (a linked spec is read): a
    // link at a secret's path may point at any file, which is then no secret of this directory.
    let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
    let opened = OpenOptions::new().read(true).custom_flags(flags.bits() as i32).open(path);
    let file: File = match opened {
        Ok(file) => file,
        Err(e) if is_absent(&e) => return Ok(None),
        // A symbolic link (`O_NOFOLLOW`), or a socket (no reader end).
        Err(e)
            if [rustix::io::Errno::LOOP, rustix::io::Errno::NXIO]
                .iter()
                .any(|errno| e.raw_os_error() == Some(errno.raw_os_error())) =>
        {
            return Ok(None);
        }
        Err(source) => {
            return Err(Error::Io(IoError {
                step: Step::ReadSecret,
                path: path.to_path_buf(),
                source,
            }));
        }
    };
    let fail =
        |source| Error::Io(IoError { step: Step::ReadSecret, path: path.to_path_buf(), source });
    let meta = file.metadata().map_err(fail)?;
    if !meta.is_file() || meta.len() == 0 || meta.len() > SECRET_SIZE_LIMIT {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    file.take(SECRET_SIZE_LIMIT + 1).read_to_end(&mut bytes).map_err(fail)?;
    if bytes.is_empty() || bytes.len() as u64 > SECRET_SIZE_LIMIT {
        return Ok(None);
    }
    Ok(Some(bytes))
}
