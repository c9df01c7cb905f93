//! Temporary file names, and the sweep of temporary files left behind by killed writers.

use std::{
    ffi::{OsStr, OsString},
    fs,
    os::unix::ffi::{OsStrExt, OsStringExt},
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use crate::{Error, Result, Step};

const SUFFIX: &[u8] = b".dotdir-tmp";
/// Room for the pid, the random part and the suffix inside `NAME_MAX` (255).
const MAX_PREFIX: usize = 200;

/// `.<name>.<pid>.<random>.dotdir-tmp`: hidden, recognisable, and naming its writer.
pub(crate) fn temp_name(target: &OsStr) -> OsString {
    let mut name = b".".to_vec();
    name.extend_from_slice(truncated(target));
    name.extend_from_slice(format!(".{}.{:08x}", std::process::id(), fastrand::u32(..)).as_bytes());
    name.extend_from_slice(SUFFIX);
    OsString::from_vec(name)
}

fn truncated(target: &OsStr) -> &[u8] {
    let bytes = target.as_bytes();
    &bytes[..bytes.len().min(MAX_PREFIX)]
}

/// A temporary file of ours: which target it was for (truncated) and which process wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TempFile {
    /// Full path of the temporary file.
    pub path: PathBuf,
    /// The process that created it.
    pub writer_pid: u32,
}

/// Recognises one of our temporary files; with `target`, only those written for that file name.
pub(crate) fn parse_temp(name: &OsStr, target: Option<&OsStr>) -> Option<u32> {
    let bytes = name.as_bytes();
    let rest = bytes.strip_prefix(b".")?.strip_suffix(SUFFIX)?;
    let (rest, random) = split_last_dot(rest)?;
    let (prefix, pid) = split_last_dot(rest)?;
    if random.len() != 8 || !random.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let pid: u32 = std::str::from_utf8(pid).ok()?.parse().ok()?;
    if let Some(target) = target
        && prefix != truncated(target)
    {
        return None;
    }
    Some(pid)
}

fn split_last_dot(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let dot = bytes.iter().rposition(|&b| b == b'.')?;
    Some((&bytes[..dot], &bytes[dot + 1..]))
}

/// When a leftover temporary file may be removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepOptions {
    /// A temp file whose writer is still alive is removed only once it is this old (the pid may
    /// have been reused by an unrelated process). Default: 15 minutes.
    pub max_age: Duration,
}

impl Default for SweepOptions {
    fn default() -> Self {
        Self { max_age: Duration::from_secs(15 * 60) }
    }
}

/// Lists our temporary files in `dir` (for `target` only, when given), without removing any.
pub fn find_temps(dir: &Path, target: Option<&OsStr>) -> Result<Vec<TempFile>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(Error::Io { step: Step::ListDir, path: dir.to_path_buf(), source });
        }
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(Error::io(Step::ListDir, dir))?;
        if let Some(writer_pid) = parse_temp(&entry.file_name(), target) {
            found.push(TempFile { path: entry.path(), writer_pid });
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

/// Removes the temporary files in `dir` (for `target` only, when given) whose writer is gone, or
/// that are older than [`SweepOptions::max_age`]. Returns the removed paths.
///
/// A temp file of a live writer is in flight and is left alone: sweeping is safe to run while
/// other processes write.
pub fn sweep_temps(
    dir: &Path,
    target: Option<&OsStr>,
    options: &SweepOptions,
) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    for temp in find_temps(dir, target)? {
        if !is_abandoned(&temp, options) {
            continue;
        }
        match fs::remove_file(&temp.path) {
            Ok(()) => removed.push(temp.path),
            // Another sweeper or the writer itself got there first.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(Error::Io { step: Step::RemoveTemp, path: temp.path, source });
            }
        }
    }
    Ok(removed)
}

fn is_abandoned(temp: &TempFile, options: &SweepOptions) -> bool {
    if !process_alive(temp.writer_pid) {
        return true;
    }
    let age = fs::symlink_metadata(&temp.path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|mtime| SystemTime::now().duration_since(mtime).ok());
    age.is_some_and(|age| age > options.max_age)
}

/// Whether a process with this pid exists (it may be an unrelated one that reused the pid).
pub fn process_alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        // It exists but belongs to someone else.
        Err(e) => e == rustix::io::Errno::PERM,
    }
}
