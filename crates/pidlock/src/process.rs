//! What `/proc` says about a pid (alive, start time, cmdline) and who holds a `flock`.
//!
//! Nothing here signals a process: liveness comes from `/proc/<pid>/stat`, and only where `/proc`
//! is not mounted from `kill(pid, 0)` (which sends no signal).

use std::{fs, io, sync::OnceLock};

/// What is known about the process a record names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProcessInfo {
    /// A process with this pid exists and is not a zombie.
    pub(crate) alive: bool,
    /// `/proc/<pid>/stat` field 22 (clock ticks after boot), when readable.
    pub(crate) start_time: Option<u64>,
    /// `/proc/<pid>/cmdline` (NUL-separated argv), when readable.
    pub(crate) cmdline: Option<Vec<u8>>,
}

impl ProcessInfo {
    pub(crate) const GONE: ProcessInfo =
        ProcessInfo { alive: false, start_time: None, cmdline: None };
}

/// Inspects `pid` through `/proc`, failing closed: whatever cannot be read counts as alive.
pub(crate) fn inspect(pid: u32) -> ProcessInfo {
    let stat = match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat,
        Err(e) if is_gone(&e) && proc_mounted() => return ProcessInfo::GONE,
        Err(_) => {
            let alive = dotdir_atomic_store::process_alive(pid);
            return ProcessInfo { alive, start_time: None, cmdline: None };
        }
    };
    let Some((state, start_time)) = parse_stat(&stat) else {
        return ProcessInfo { alive: true, start_time: None, cmdline: None };
    };
    if state == 'Z' || state == 'X' {
        // A zombie has exited: it holds nothing and runs nothing.
        return ProcessInfo::GONE;
    }
    let cmdline = match fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(bytes) => Some(bytes),
        // It exited between the two reads.
        Err(e) if is_gone(&e) => return ProcessInfo::GONE,
        Err(_) => None,
    };
    ProcessInfo { alive: true, start_time: Some(start_time), cmdline }
}

fn is_gone(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound
        || e.raw_os_error() == Some(rustix::io::Errno::SRCH.raw_os_error())
}

fn proc_mounted() -> bool {
    fs::metadata("/proc/self/stat").is_ok()
}

/// The state letter (field 3) and start time (field 22) of a `/proc/<pid>/stat` line. The command
/// name (field 2) is in parentheses and may itself contain spaces and parentheses, so fields are
/// counted after the last `)`.
pub(crate) fn parse_stat(stat: &str) -> Option<(char, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    // Field 3 was `state`; field 22 is 19 further on.
    let start_time = fields.nth(18)?.parse().ok()?;
    Some((state, start_time))
}

/// This process's start time (read once: it never changes, and `exec` starts a new image).
pub(crate) fn own_start_time() -> Option<u64> {
    static START: OnceLock<Option<u64>> = OnceLock::new();
    *START.get_or_init(|| {
        let stat = fs::read_to_string("/proc/self/stat").ok()?;
        parse_stat(&stat).map(|(_, start)| start)
    })
}

/// The kernel's boot id: start times are only comparable within one boot (read once).
pub(crate) fn boot_id() -> Option<String> {
    static BOOT_ID: OnceLock<Option<String>> = OnceLock::new();
    BOOT_ID
        .get_or_init(|| {
            let id = fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
            let id = id.trim();
            (!id.is_empty() && !id.contains(char::is_whitespace)).then(|| id.to_owned())
        })
        .clone()
}

/// Whether the NUL-separated `cmdline` contains `program` (Python's
/// `"ollim-bot" in cmdline.decode(errors="replace")`, on bytes).
pub(crate) fn cmdline_matches(cmdline: &[u8], program: &str) -> bool {
    let needle = program.as_bytes();
    needle.is_empty() || cmdline.windows(needle.len()).any(|window| window == needle)
}

/// Who holds a `flock` on the file `(dev, ino)`, from `/proc/locks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockTable {
    /// `/proc/locks` could not be read.
    Unavailable,
    /// No `flock` on that file.
    Free,
    /// A `flock` taken by this pid.
    HeldBy(u32),
}

/// Looks the file up in `/proc/locks`.
pub(crate) fn lock_table(dev: u64, ino: u64) -> LockTable {
    for _ in 0..3 {
        let Some((table, reads)) = read_lock_table() else { return LockTable::Unavailable };
        match find_flock(&String::from_utf8_lossy(&table), dev, ino) {
            // A table read in several chunks is not one snapshot (see below): look again.
            LockTable::Free if reads > 1 => continue,
            found => return found,
        }
    }
    LockTable::Free
}

/// Reads `/proc/locks` with large reads; returns the text and how many reads it took. The kernel
/// fills each `read(2)` (up to a page or so) from one walk of its lock lists, but the next read
/// restarts the walk at an entry index, so an entry removed in between shifts later ones past the
/// cursor, out of sight. One read — a table of up to ~60 locks — is one snapshot.
fn read_lock_table() -> Option<(Vec<u8>, usize)> {
    use std::io::Read;
    let mut file = fs::File::open("/proc/locks").ok()?;
    let mut table = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut reads = 0;
    loop {
        match file.read(&mut chunk) {
            Ok(0) => return Some((table, reads)),
            Ok(len) => {
                reads += 1;
                table.extend_from_slice(&chunk[..len]);
                if table.len() > 64 * 1024 * 1024 {
                    return None;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}

/// Finds the `FLOCK` entry for `(dev, ino)` in the text of `/proc/locks`. Lines look like
/// `1: FLOCK  ADVISORY  WRITE 9198 fe:00:10010704 0 EOF` (waiters have `->` after the index and
/// are skipped). An entry whose device does not match but whose inode does is accepted when it is
/// the only one (overlay filesystems report the device of the layer below).
pub(crate) fn find_flock(table: &str, dev: u64, ino: u64) -> LockTable {
    let (major, minor) = (u64::from(rustix::fs::major(dev)), u64::from(rustix::fs::minor(dev)));
    let mut same_ino = Vec::new();
    for line in table.lines() {
        let mut fields = line.split_ascii_whitespace().skip(1);
        let Some(kind) = fields.next() else { continue };
        if kind != "FLOCK" {
            continue;
        }
        let mut fields = fields.skip(2);
        let (Some(pid), Some(file)) = (fields.next(), fields.next()) else { continue };
        let Ok(pid) = pid.parse::<u32>() else { continue };
        let mut parts = file.split(':');
        let (Some(maj), Some(min), Some(num)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let (Ok(maj), Ok(min), Ok(num)) =
            (u64::from_str_radix(maj, 16), u64::from_str_radix(min, 16), num.parse::<u64>())
        else {
            continue;
        };
        if num != ino {
            continue;
        }
        if (maj, min) == (major, minor) {
            return LockTable::HeldBy(pid);
        }
        same_ino.push(pid);
    }
    match same_ino.as_slice() {
        [pid] => LockTable::HeldBy(*pid),
        _ => LockTable::Free,
    }
}

#[cfg(test)]
mod tests;
