//! Temporary file names, and the sweep of temporary files left behind by killed writers.

use crate::IoError;
use std::{
    collections::HashSet,
    ffi::{OsStr, OsString},
    fs,
    os::unix::{
        ffi::{OsStrExt, OsStringExt},
        fs::{MetadataExt, OpenOptionsExt},
    },
    path::{Path, PathBuf},
    sync::{Mutex, PoisonError},
    time::SystemTime,
};

use crate::{Error, Result, Step};

const SUFFIX: &[u8] = b".dotdir-tmp";
/// Room for the pid, the random part and the suffix inside `NAME_MAX` (255).
const MAX_PREFIX: usize = 200;

/// `.<name>.<pid>@<pid namespace>.<random>.dotdir-tmp`: hidden, recognisable, and naming its
/// writer, with the pid namespace the pid is counted in (a writer in a container and a sweeper
/// on the host see different pids for one process). Without a readable namespace:
/// `.<name>.<pid>.<random>.dotdir-tmp`.
pub(crate) fn temp_name(target: &OsStr) -> OsString {
    let mut name = b".".to_vec();
    name.extend_from_slice(truncated(target));
    let writer = match own_pid_namespace() {
        Some(ns) => format!("{}@{ns}", std::process::id()),
        None => std::process::id().to_string(),
    };
    name.extend_from_slice(format!(".{writer}.{:08x}", fastrand::u32(..)).as_bytes());
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
    /// The process that created it, as its own pid namespace counts it.
    pub writer_pid: u32,
    /// That pid namespace (the inode of `/proc/<pid>/ns/pid`), when the name records it.
    pub writer_ns: Option<u64>,
}

/// Recognises one of our temporary files; with `target`, only those written for that file name.
/// Returns the writer's pid and pid namespace.
pub(crate) fn parse_temp(name: &OsStr, target: Option<&OsStr>) -> Option<(u32, Option<u64>)> {
    let bytes = name.as_bytes();
    let rest = bytes.strip_prefix(b".")?.strip_suffix(SUFFIX)?;
    let (rest, random) = split_last_dot(rest)?;
    let (prefix, pid) = split_last_dot(rest)?;
    if random.len() != 8 || !random.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let writer = std::str::from_utf8(pid).ok()?;
    let (pid, ns) = match writer.split_once('@') {
        Some((pid, ns)) => (pid, Some(ns.parse().ok()?)),
        None => (writer, None),
    };
    let pid: u32 = pid.parse().ok()?;
    if let Some(target) = target
        && prefix != truncated(target)
    {
        return None;
    }
    Some((pid, ns))
}

fn split_last_dot(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let dot = bytes.iter().rposition(|&b| b == b'.')?;
    Some((&bytes[..dot], &bytes[dot + 1..]))
}

/// Lists our temporary files in `dir` (for `target` only, when given), without removing any.
pub fn find_temps(dir: &Path, target: Option<&OsStr>) -> Result<Vec<TempFile>> {
    find_temps_bounded(dir, target, usize::MAX)
}

/// [`find_temps`] looking at no more than `limit` directory entries.
fn find_temps_bounded(dir: &Path, target: Option<&OsStr>, limit: usize) -> Result<Vec<TempFile>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(Error::Io(IoError {
                step: Step::ListDir,
                path: dir.to_path_buf(),
                source,
            }));
        }
    };
    let mut found = Vec::new();
    for entry in entries.take(limit) {
        let entry = entry.map_err(IoError::on(Step::ListDir, dir))?;
        if let Some((writer_pid, writer_ns)) = parse_temp(&entry.file_name(), target) {
            found.push(TempFile { path: entry.path(), writer_pid, writer_ns });
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

/// Removes the temporary files in `dir` (for `target` only, when given) that no writer holds any
/// more (see [`TempFile::in_flight`]). Returns the removed paths.
///
/// A temp file of a live writer is in flight and is left alone, whatever the clocks say: sweeping
/// is safe to run while other processes write, and after the wall clock steps (a laptop resume,
/// NTP).
pub fn sweep_temps(dir: &Path, target: Option<&OsStr>) -> Result<Vec<PathBuf>> {
    sweep_bounded(dir, target, usize::MAX)
}

fn sweep_bounded(dir: &Path, target: Option<&OsStr>, limit: usize) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    for temp in find_temps_bounded(dir, target, limit)? {
        if temp.in_flight() {
            continue;
        }
        match fs::remove_file(&temp.path) {
            Ok(()) => removed.push(temp.path),
            // Another sweeper or the writer itself got there first.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(Error::Io(IoError { step: Step::RemoveTemp, path: temp.path, source }));
            }
        }
    }
    Ok(removed)
}

/// How many directories one process sweeps on its first write into each (past that, writes
/// into new directories do not sweep; `sweep_temps` still does).
const MAX_SWEPT_DIRS: usize = 4096;
/// How many entries of one directory that sweep looks at: a write never waits on a listing of a
/// huge directory.
const MAX_SWEPT_ENTRIES: usize = 10_000;

/// The first write of this process into `dir` sweeps it: temporary files that killed writers
/// left there go, whichever directory of whichever layout it is. Best effort and bounded (one
/// listing of at most [`MAX_SWEPT_ENTRIES`] entries per directory per process): a failure here
/// never fails the write.
pub(crate) fn sweep_on_first_write(dir: &Path) {
    static SWEPT: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);
    {
        let mut swept = SWEPT.lock().unwrap_or_else(PoisonError::into_inner);
        let swept = swept.get_or_insert_with(HashSet::new);
        if swept.len() >= MAX_SWEPT_DIRS || !swept.insert(dir.to_path_buf()) {
            return;
        }
    }
    let _ = sweep_bounded(dir, None, MAX_SWEPT_ENTRIES);
}

impl TempFile {
    /// Whether the file's writer may still be writing it: its pid is alive and holds the file
    /// open. A writer holds its temporary file open from creation to rename, so a live pid that
    /// does not hold it is an unrelated process that reused the pid. When the writer's open files
    /// cannot be read (another user's process, no `/proc`), a live pid counts as in flight.
    ///
    /// The writer's pid is judged in the pid namespace its name records. A writer in another
    /// namespace (a container, or the host seen from one) is looked up among the processes of
    /// that namespace this one can see; when none of them can be seen, or their open files
    /// cannot be read, whether it still writes cannot be told, and the file counts as in flight.
    ///
    /// No clock is read: a file's age says nothing about its writer after the wall clock steps.
    pub fn in_flight(&self) -> bool {
        match (self.writer_ns, own_pid_namespace()) {
            (Some(writer), Some(own)) if writer != own => {
                foreign_writer_holds(writer, &self.path) != Some(false)
            }
            (Some(_), None) => true,
            _ => {
                process_alive(self.writer_pid)
                    && holds_open(self.writer_pid, &self.path) != Some(false)
            }
        }
    }
}

/// The inode of this process's pid namespace (`/proc/self/ns/pid`), read once: a process never
/// changes its own pid namespace.
pub fn own_pid_namespace() -> Option<u64> {
    static OWN: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    *OWN.get_or_init(|| pid_namespace("self"))
}

/// The inode of the pid namespace of `/proc/<pid>` (`pid` may be `self`), when readable.
pub fn pid_namespace(pid: &str) -> Option<u64> {
    let link = fs::read_link(format!("/proc/{pid}/ns/pid")).ok()?;
    let link = link.to_str()?;
    link.strip_prefix("pid:[")?.strip_suffix(']')?.parse().ok()
}

/// The pids of a process in each pid namespace it is in, outermost (the reader's) first, from
/// the `NSpid:` line of `/proc/<pid>/status`.
pub fn namespace_pids(status: &str) -> Vec<u32> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("NSpid:"))
        .map(|pids| pids.split_ascii_whitespace().filter_map(|p| p.parse().ok()).collect())
        .unwrap_or_default()
}

/// Whether the writer that namespace `ns` calls `pid` still holds `path` open: `None` when it
/// cannot be told. A writer holds its file open from creation to rename, so the file is in
/// flight while any process holds it; when none in sight does, the writer is gone only if it
/// would be in sight: this is the initial pid namespace (which sees every process), or `ns` has
/// a process in sight (it is nested in ours). Otherwise `ns` may be an ancestor of ours (the
/// host seen from a container), whose processes are out of sight.
fn foreign_writer_holds(ns: u64, path: &Path) -> Option<bool> {
    if held_by_any(path)? {
        return Some(true);
    }
    if own_pid_namespace() == Some(INITIAL_PID_NAMESPACE) {
        return Some(false);
    }
    let in_sight = fs::read_dir("/proc").ok()?.flatten().any(|entry| {
        entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()).is_some()
            && pid_namespace(&entry.file_name().to_string_lossy()) == Some(ns)
    });
    in_sight.then_some(false)
}

/// Whether this process runs in the initial pid namespace, which sees every process: outside
/// it (in a container), a pid this process cannot see may belong to a process of the host.
pub fn in_initial_pid_namespace() -> bool {
    own_pid_namespace() == Some(INITIAL_PID_NAMESPACE)
}

/// The inode of the initial pid namespace (the kernel's `PROC_PID_INIT_INO`).
const INITIAL_PID_NAMESPACE: u64 = 0xEFFF_FFFC;

/// Whether any process holds `path` open: `None` when some process's descriptors cannot be read.
fn held_by_any(path: &Path) -> Option<bool> {
    let Ok(meta) = fs::symlink_metadata(path) else { return Some(false) };
    for entry in fs::read_dir("/proc").ok()? {
        let Ok(entry) = entry else { return None };
        if entry.file_name().to_str().is_none_or(|n| n.parse::<u32>().is_err()) {
            continue;
        }
        let fds = match fs::read_dir(entry.path().join("fd")) {
            Ok(fds) => fds,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(_) => return None,
        };
        for fd in fds.flatten() {
            if let Ok(open) = fs::metadata(fd.path())
                && open.dev() == meta.dev()
                && open.ino() == meta.ino()
            {
                return Some(true);
            }
        }
    }
    Some(false)
}

/// Whether process `pid` has `path` open: `None` when its descriptors cannot be listed.
fn holds_open(pid: u32, path: &Path) -> Option<bool> {
    let Ok(meta) = fs::symlink_metadata(path) else { return Some(false) };
    let fds = fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    let mut listed = false;
    for fd in fds {
        let Ok(fd) = fd else { return None };
        listed = true;
        // `metadata` follows the magic link to the open file, even once it is unlinked.
        if let Ok(open) = fs::metadata(fd.path())
            && open.dev() == meta.dev()
            && open.ino() == meta.ino()
        {
            return Some(true);
        }
    }
    // A live process always has a descriptor; an empty listing is a process that is exiting.
    listed.then_some(false)
}

/// The current time on the clock of the filesystem holding `dir`: the modification time of a
/// file created there and removed at once. File times compared with this are free of the
/// process's clock (a clock stepped since the files were written, an NFS server whose clock
/// differs from the client's).
pub fn filesystem_now(dir: &Path) -> Result<SystemTime> {
    let probe = dir.join(temp_name(OsStr::new("clock")));
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(&probe)
        .map_err(IoError::on(Step::CreateTemp, &probe))?;
    let modified = file.metadata().and_then(|m| m.modified());
    let _ = fs::remove_file(&probe);
    modified.map_err(|e| Error::from(IoError::on(Step::CreateTemp, &probe)(e)))
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
