//! Whether a data directory's application is running — told by the OS, not by a pid record.
//!
//! The applications take none of dotdir's locks and may run while `dotdir` does. Before a repair
//! that rewrites a file the application also writes, and before `restore --force` moves the
//! directory aside, [`liveness`] reads `/proc` once ([`ProcessTable`]) and finds the application
//! in any of these ways:
//!
//! 1. **dotdir's own lock** on a declared pid record is held (`flock`, from the kernel's lock
//!    table).
//! 2. **A declared pid record names a process** — in this pid namespace or any nested one (a
//!    record written in a container names the container's pid: it is matched against every
//!    process's `NSpid`) — that runs the layout's [`Program`] or uses the directory.
//! 3. **A process runs the layout's program** in any launch form ([`Program::matches`]: console
//!    script, `python -m module`, `python …/module/main.py`, `uv run`, a node package, a declared
//!    renamed binary) **and its default directory is this one**: the layout's [`Location`]
//!    resolved in *its* environment and working directory, compared by device and inode through
//!    `/proc/<pid>/root` (so a container's bind mount counts).
//! 4. **A process uses the directory**: its working directory or an open file lies inside it (what
//!    `fuser` and `lsof +D` see), whatever it is called.
//!
//! This command and its ancestors (the shell it was started from, `sudo`) are left out, and a
//! working directory alone does not count for the other side of its own pipe (its process
//! group) or for a shell or pager: `cd ~/.ollim-bot && dotdir check --fix . | less` is no app.
//!
//! **When it cannot be told, it counts.** [`Liveness::Unknown`] — never [`Liveness::Stopped`] —
//! when `/proc` cannot be read; when a pid record names a process that cannot be seen (`hidepid`)
//! or whose command line and open files cannot be read (another user's); when the program runs as
//! another user who could reach the directory and its environment cannot be read. A caller
//! refuses racy work on `Unknown` unless a person says the application is stopped
//! ([`check::Options::assume_stopped`](crate::check::Options::assume_stopped)).
//!
//! A stale pid record is one whose holder is *proven* dead: no process anywhere in sight calls
//! itself that pid, or every one that does is readable, runs another program and keeps nothing
//! open in the directory.
//!
//! # Limitations
//! - Linux: other systems have no `/proc`, and everything there is `Unknown`.
//! - A process in a pid namespace that is an *ancestor* of this one (the host, seen from a
//!   container) cannot be seen at all; run `dotdir` where the application runs, or on the host.
//! - A program that keeps no file open in the directory, is not declared by the layout, and
//!   writes no pid record cannot be told from any other process.

use std::{
    ffi::OsString,
    fmt,
    os::unix::{ffi::OsStringExt, fs::MetadataExt},
    path::{Path, PathBuf},
};

use dotdir_pidlock::{
    Program,
    scan::{Process, ProcessTable},
};

use crate::{AppLock, Layout, Location};

/// How much of a command line a message shows.
const COMMAND_CHARS: usize = 80;

/// Whether the application is running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Liveness {
    /// Nothing in sight runs it or uses the directory.
    Stopped,
    /// It runs: who, and how it was found.
    Live(Sighting),
    /// It cannot be told; why. Count it as running.
    Unknown(String),
}

/// A process found running the application.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sighting {
    /// Its pid (in this pid namespace).
    pub pid: u32,
    /// Its command line, cut for people.
    pub command: String,
    /// How it was found (`holds dotdir's lock on state/bot.pid`, `has … open`).
    pub why: String,
}

impl fmt::Display for Sighting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pid {} (`{}`) {}", self.pid, self.command, self.why)
    }
}

/// Whether `layout`'s application runs on the data directory `root`, from one read of `/proc`.
/// `records` are the declared pid records present in it, relative to `root`, and `program`
/// the program to look for (the layout's, unless the caller names another).
pub fn liveness(
    root: &Path,
    layout: &Layout,
    records: &[String],
    program: Option<Program>,
) -> Liveness {
    let table = ProcessTable::read();
    judge(&table, root, layout, records, program)
}

fn judge(
    table: &ProcessTable,
    root: &Path,
    layout: &Layout,
    records: &[String],
    program: Option<Program>,
) -> Liveness {
    let mut unknown: Option<String> = None;
    for record in records {
        match record_holder(table, root, layout, record, program) {
            Liveness::Live(seen) => return Liveness::Live(seen),
            Liveness::Unknown(why) => {
                unknown.get_or_insert(why);
            }
            Liveness::Stopped => {}
        }
    }
    if let Some(error) = table.error() {
        return Liveness::Unknown(format!("the processes cannot be listed: {error}"));
    }
    let canonical = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let identity = std::fs::metadata(root).ok().map(|m| (m.dev(), m.ino(), m.uid(), m.mode()));
    for process in table.processes().iter().filter(|p| !table.is_own(p.pid)) {
        if let Some(path) = process.uses(&canonical) {
            match process.cwd.as_deref() == Some(path) {
                // A working directory alone: not a shell, pager or the other side of our pipe.
                true if table.is_bystander(process) => {}
                true => {
                    let why = format!("works in {}", path.display());
                    return Liveness::Live(sighting(process, why));
                }
                false => {
                    let why = format!("has {} open", path.display());
                    return Liveness::Live(sighting(process, why));
                }
            }
        }
        let Some(program) = program else { continue };
        if !process.argv.as_ref().is_some_and(|argv| program.matches(argv)) {
            continue;
        }
        if names_dir(process, identity) {
            let why = format!("runs {} on this directory (named in its arguments)", program.name);
            return Liveness::Live(sighting(process, why));
        }
        match default_dir_is(process, &layout.location, identity) {
            Some(true) => {
                let why = format!("runs {} on this directory", program.name);
                return Liveness::Live(sighting(process, why));
            }
            Some(false) => {}
            None => {
                unknown.get_or_insert_with(|| {
                    format!(
                        "pid {} runs {} as another user, and which directory it uses cannot be read",
                        process.pid, program.name
                    )
                });
            }
        }
    }
    unknown.map_or(Liveness::Stopped, Liveness::Unknown)
}

/// Whether the pid record `record` (relative to `root`) names a live holder, judged on `table`
/// as [`liveness`] judges it: dotdir's lock, the program's name or a launch form, or a process in
/// any pid namespace calling itself that pid and using this directory.
pub fn record_holder(
    table: &ProcessTable,
    root: &Path,
    layout: &Layout,
    record: &str,
    program: Option<Program>,
) -> Liveness {
    let path = root.join(record);
    let lock = match program {
        // The reference's own rule (the name anywhere in the command line) or a launch form.
        Some(program) => {
            dotdir_pidlock::PidLock::new(&path).program(program.name).launched_as(program)
        }
        None => dotdir_pidlock::PidLock::new(&path),
    };
    let holder = match lock.probe() {
        Ok(Some(holder)) => holder,
        Ok(None) => return Liveness::Stopped,
        Err(e) => {
            return Liveness::Unknown(format!(
                "{record} cannot be read: {}",
                crate::error_chain(&e)
            ));
        }
    };
    let Some(pid) = holder.pid else {
        return match holder.locked {
            true => Liveness::Unknown(format!("dotdir's lock on {record} is held")),
            false => Liveness::Stopped,
        };
    };
    let command = || {
        table
            .processes()
            .iter()
            .find(|p| p.pid == pid)
            .map_or_else(|| format!("pid {pid}"), |p| p.command(COMMAND_CHARS))
    };
    if holder.locked {
        let why = format!("holds the lock on {record}");
        return Liveness::Live(Sighting { pid, command: command(), why });
    }
    // The pid lock's own judgement in this namespace: the program's name in its command line
    // (the reference's rule), a launch form, or dotdir's stamp.
    if holder.running {
        return Liveness::Live(Sighting {
            pid,
            command: command(),
            why: format!("is named by {record}"),
        });
    }
    if table.error().is_some() {
        return Liveness::Unknown(format!(
            "{record} names pid {pid}, which cannot be checked without /proc"
        ));
    }
    let canonical = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let identity = std::fs::metadata(root).ok().map(|m| (m.dev(), m.ino(), m.uid(), m.mode()));
    let mut unreadable = false;
    let mut seen = false;
    for process in table.named_by(pid).filter(|p| !table.is_own(p.pid)) {
        seen = true;
        let is_program = match (program, &process.argv) {
            (Some(program), Some(argv)) => program.matches(argv),
            // No program declared: any live process the record names may be the holder.
            (None, _) => true,
            (Some(_), None) => false,
        };
        // Named by the record, and this directory is the one it uses: its working directory or
        // an open file, its arguments, or the layout's location in its environment.
        if is_program
            || process.uses(&canonical).is_some()
            || names_dir(process, identity)
            || default_dir_is(process, &layout.location, identity) == Some(true)
        {
            let why = format!("is named by {record}");
            return Liveness::Live(sighting(process, why));
        }
        unreadable |= process.argv.is_none() || process.open.is_none();
    }
    if unreadable {
        return Liveness::Unknown(format!(
            "{record} names pid {pid}, whose command line or open files cannot be read \
             (another user's process)"
        ));
    }
    if !seen && dotdir_atomic_store::process_alive(pid) {
        return Liveness::Unknown(format!(
            "{record} names pid {pid}, which exists but is hidden from this user"
        ));
    }
    // From inside a container, the host's processes are out of sight: a pid not seen here may
    // be the app's there (unless no pid namespace can have it).
    if !seen && !dotdir_atomic_store::in_initial_pid_namespace() && pid <= pid_max() {
        return Liveness::Unknown(format!(
            "{record} names pid {pid}, which this pid namespace cannot see: dotdir runs in a container, and the app may run on the host"
        ));
    }
    Liveness::Stopped
}

/// Whether `process`'s default data directory (the layout's location in its environment) is
/// the directory with `identity`: `None` when its environment cannot be read and it could reach
/// the directory.
fn default_dir_is(
    process: &Process,
    location: &Location,
    identity: Option<(u64, u64, u32, u32)>,
) -> Option<bool> {
    let Some((dev, ino, owner, mode)) = identity else { return Some(false) };
    let environ = match std::fs::read(format!("/proc/{}/environ", process.pid)) {
        Ok(environ) => environ,
        // Another user who cannot enter the directory (`0700`, not theirs) is not its app.
        Err(_) if process.uid.is_some_and(|uid| uid != 0 && uid != owner) && mode & 0o011 == 0 => {
            return Some(false);
        }
        Err(_) => return None,
    };
    let var = |name: &str| {
        environ.split(|&b| b == 0).find_map(|pair| {
            let value = pair.strip_prefix(name.as_bytes())?.strip_prefix(b"=")?;
            Some(OsString::from_vec(value.to_vec()))
        })
    };
    let Some(dir) = location.dir_in(var) else {
        // No default location: which directory it works on cannot be told.
        return None;
    };
    is_dir_of(process, &dir, (dev, ino))
}

/// Whether `path`, as `process` sees it (from its root or its working directory), is the
/// directory `(dev, ino)`: `None` when that cannot be read.
fn is_dir_of(process: &Process, path: &Path, (dev, ino): (u64, u64)) -> Option<bool> {
    let seen_from = match path.strip_prefix("/") {
        Ok(absolute) => PathBuf::from(format!("/proc/{}/root", process.pid)).join(absolute),
        Err(_) => PathBuf::from(format!("/proc/{}/cwd", process.pid)).join(path),
    };
    match std::fs::metadata(&seen_from) {
        Ok(meta) => Some(meta.dev() == dev && meta.ino() == ino),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(false),
        Err(_) => None,
    }
}

/// Whether one of `process`'s arguments names the directory (`--data-dir <ws>/.omicos`,
/// `--data-dir=…`): the launchers of a daemon pass it explicitly.
fn names_dir(process: &Process, identity: Option<(u64, u64, u32, u32)>) -> bool {
    let (Some((dev, ino, ..)), Some(argv)) = (identity, &process.argv) else { return false };
    argv.iter().skip(1).take(64).any(|arg| {
        let value = arg.split_once('=').map_or(arg.as_str(), |(_, value)| value);
        (value.contains('/') || value.starts_with('.'))
            && is_dir_of(process, Path::new(value), (dev, ino)) == Some(true)
    })
}

/// The largest pid the kernel hands out (`/proc/sys/kernel/pid_max`; its ceiling, 2^22, when
/// unreadable).
fn pid_max() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(1 << 22)
}

fn sighting(process: &Process, why: String) -> Sighting {
    Sighting { pid: process.pid, command: process.command(COMMAND_CHARS), why }
}

/// An application's own lock on one of its files, held by dotdir for the length of a repair
/// ([`take_app_lock`]); dropping it releases the lock.
#[derive(Debug)]
pub struct AppLockGuard {
    _file: std::fs::File,
}

/// Takes the application's own `lock` on `path` without waiting, as the application takes it
/// ([`Entry::locked_by_app`](crate::Entry::locked_by_app)). `Ok(None)`: the file does not exist,
/// there is nothing to lock. `Err`: why the repair must not run — the application holds the
/// lock, or it cannot be taken.
pub fn take_app_lock(path: &Path, lock: AppLock) -> Result<Option<AppLockGuard>, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
    let mut options = std::fs::OpenOptions::new();
    options.custom_flags(flags.bits() as i32);
    let (target, how) = match lock {
        AppLock::Flock => (path.to_path_buf(), "flock"),
        AppLock::Fcntl => (path.to_path_buf(), "fcntl"),
        AppLock::LockFile(suffix) => {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            (PathBuf::from(name), "flock")
        }
    };
    match lock {
        AppLock::Flock => options.read(true),
        AppLock::Fcntl => options.read(true).write(true),
        AppLock::LockFile(_) => options.read(true).write(true).create(true).mode(0o600),
    };
    let file = match options.open(&target) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(format!("cannot take the application's lock on {}: {e}", target.display()));
        }
    };
    let held = |pid: Option<u32>| {
        let by = pid.map_or_else(String::new, |pid| format!(" (pid {pid})"));
        format!("the application holds its lock ({how}) on {}{by}", target.display())
    };
    match lock {
        AppLock::Fcntl => match rustix::fs::fcntl_lock(
            &file,
            rustix::fs::FlockOperation::NonBlockingLockExclusive,
        ) {
            Ok(()) => {}
            Err(e) if e == rustix::io::Errno::AGAIN || e == rustix::io::Errno::ACCESS => {
                return Err(held(None));
            }
            Err(e) => {
                return Err(format!(
                    "cannot take the application's lock on {}: {e}",
                    target.display()
                ));
            }
        },
        _ => match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(held(None)),
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(format!(
                    "cannot take the application's lock on {}: {e}",
                    target.display()
                ));
            }
        },
    }
    if lock == AppLock::LockFile(".lock") {
        // The application's lock file is dotdir's own sidecar: the repair takes that very lock
        // itself, so it is only tested here.
        let _ = file.unlock();
        return Ok(None);
    }
    Ok(Some(AppLockGuard { _file: file }))
}
