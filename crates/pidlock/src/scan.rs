//! One read of `/proc`: every process this one can see, with its pids in each pid namespace, its
//! user, its command line, its working directory and its open files — what `ps`, `fuser` and
//! `lsof +D` see — taken once per command and asked many questions.

use std::{
    collections::HashSet,
    fs,
    path::{Path, PathBuf},
};

/// At most this many processes are read; a table past it is incomplete, and says so.
pub const MAX_PROCESSES: usize = 1 << 20;
/// At most this many descriptors of one process are read; past it, its open files count as
/// unreadable.
pub const MAX_DESCRIPTORS: usize = 1 << 16;

/// One process, as `/proc/<pid>` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Process {
    /// Its pid in this process's pid namespace.
    pub pid: u32,
    /// Its pid in each pid namespace it is in, this one's first (`NSpid:`): the last is the pid
    /// the process sees for itself, and writes into a pid record (in a container, often `1`).
    pub ns_pids: Vec<u32>,
    /// Its user: the owner of `/proc/<pid>` (its effective user id).
    pub uid: Option<u32>,
    /// Its command line (empty for a kernel thread; `None` when unreadable).
    pub argv: Option<Vec<String>>,
    /// Its working directory, when readable.
    pub cwd: Option<PathBuf>,
    /// The paths of its open files (sockets, pipes and the like left out); `None` when they
    /// cannot be read (another user's process, too many descriptors).
    pub open: Option<Vec<PathBuf>>,
}

impl Process {
    /// Its command line for people: the arguments joined by spaces, cut to `max` characters.
    pub fn command(&self, max: usize) -> String {
        let Some(argv) = &self.argv else { return format!("pid {}", self.pid) };
        let line = argv.join(" ");
        if line.chars().count() <= max {
            return line;
        }
        let mut cut: String = line.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }

    /// Where the process uses `dir` (canonical), if it does: the first open file inside it, or
    /// else its working directory.
    pub fn uses(&self, dir: &Path) -> Option<&Path> {
        let inside = |path: &&PathBuf| path.starts_with(dir);
        self.open
            .iter()
            .flatten()
            .find(inside)
            .or_else(|| self.cwd.as_ref().filter(inside))
            .map(PathBuf::as_path)
    }
}

/// The processes this one can see, read once ([`ProcessTable::read`]).
#[derive(Debug, Clone, Default)]
pub struct ProcessTable {
    processes: Vec<Process>,
    own: HashSet<u32>,
    error: Option<String>,
}

impl ProcessTable {
    /// Reads `/proc`. Never fails: a table that could not be read says why in
    /// [`ProcessTable::error`], and then nothing can be told from it.
    pub fn read() -> Self {
        Self::read_from(Path::new("/proc"))
    }

    fn read_from(proc: &Path) -> Self {
        let mut table = Self::default();
        if fs::symlink_metadata(proc.join("self/stat")).is_err() {
            table.error = Some(format!("{} is not mounted or cannot be read", proc.display()));
            return table;
        }
        let entries = match fs::read_dir(proc) {
            Ok(entries) => entries,
            Err(e) => {
                table.error = Some(format!("cannot list {}: {e}", proc.display()));
                return table;
            }
        };
        for entry in entries {
            let Ok(entry) = entry else {
                table.error = Some(format!("cannot list {}", proc.display()));
                return table;
            };
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            if table.processes.len() == MAX_PROCESSES {
                table.error = Some(format!("more than {MAX_PROCESSES} processes"));
                return table;
            }
            if let Some(process) = read_process(&entry.path(), pid) {
                table.processes.push(process);
            }
        }
        table.own = lineage(proc);
        // A child this process forked that has not yet called exec (another thread spawning a
        // command) holds copies of this process's open files: it is this process, not a user
        // of the directory. Told by its parent and its arguments, which are still ours.
        let me = std::process::id();
        let argv = table.processes.iter().find(|p| p.pid == me).and_then(|p| p.argv.clone());
        let forks: Vec<u32> = table
            .processes
            .iter()
            .filter(|p| p.pid != me && argv.is_some() && p.argv == argv)
            .filter(|p| parent(proc, p.pid) == Some(me))
            .map(|p| p.pid)
            .collect();
        table.own.extend(forks);
        table
    }

    /// Why nothing can be told from this table (`/proc` not mounted, unreadable, too large).
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Every process read.
    pub fn processes(&self) -> &[Process] {
        &self.processes
    }

    /// Whether `pid` is this process, one of its ancestors (the shell it was started from,
    /// `sudo`, …) or a child it forked that has not yet run its own program: those use a
    /// directory *for* this command.
    pub fn is_own(&self, pid: u32) -> bool {
        self.own.contains(&pid)
    }

    /// Whether `pid` runs beside this command rather than as the application: in this
    /// command's process group (the other side of a pipe, `dotdir check --fix . | less`), or a
    /// shell, multiplexer or pager, which work in a directory without writing its files. Used
    /// for a working directory alone; an open file always counts.
    pub fn is_bystander(&self, process: &Process) -> bool {
        const BYSTANDERS: &[&str] = &[
            "bash", "sh", "dash", "zsh", "fish", "ksh", "tcsh", "csh", "nu", "tmux", "screen",
            "less", "more", "most", "head", "tail", "cat", "tee", "grep", "watch", "sudo", "su",
        ];
        let name = process
            .argv
            .as_ref()
            .and_then(|argv| argv.first())
            .map(|arg0| arg0.rsplit('/').next().unwrap_or(arg0).trim_start_matches('-'))
            .unwrap_or_default();
        BYSTANDERS.contains(&name)
            || process_group(process.pid)
                .is_some_and(|group| Some(group) == process_group_of_self())
    }

    /// The processes that call themselves `pid` in some pid namespace: the process a pid record
    /// names, whichever namespace wrote it.
    pub fn named_by(&self, pid: u32) -> impl Iterator<Item = &Process> {
        self.processes.iter().filter(move |p| p.pid == pid || p.ns_pids.contains(&pid))
    }
}

fn read_process(dir: &Path, pid: u32) -> Option<Process> {
    use std::os::unix::fs::MetadataExt;
    // A process that exits while it is read is left out: it holds nothing any more.
    let uid = Some(fs::metadata(dir).ok()?.uid());
    // Its pids in nested namespaces (`NSpid:` of its status, the costliest file to read) only
    // for a process outside this pid namespace: inside it, its pid is its only one.
    let own = dotdir_atomic_store::own_pid_namespace();
    let name = pid.to_string();
    let mut ns_pids = match dotdir_atomic_store::pid_namespace(&name) {
        Some(ns) if Some(ns) == own => Vec::new(),
        _ => fs::read_to_string(dir.join("status"))
            .map(|status| dotdir_atomic_store::namespace_pids(&status))
            .unwrap_or_default(),
    };
    if ns_pids.is_empty() {
        ns_pids.push(pid);
    }
    let argv = fs::read(dir.join("cmdline")).ok().map(|c| crate::program::split_cmdline(&c));
    let argv = argv.map(|a| if a == [""] { Vec::new() } else { a });
    let cwd = fs::read_link(dir.join("cwd")).ok();
    let open = open_files(&dir.join("fd"));
    Some(Process { pid, ns_pids, uid, argv, cwd, open })
}

fn open_files(fd_dir: &Path) -> Option<Vec<PathBuf>> {
    let mut open = Vec::new();
    for (n, fd) in fs::read_dir(fd_dir).ok()?.enumerate() {
        if n == MAX_DESCRIPTORS {
            return None;
        }
        let Ok(fd) = fd else { return None };
        // Closed meanwhile: it no longer holds anything.
        let Ok(target) = fs::read_link(fd.path()) else { continue };
        if target.is_absolute() {
            open.push(target);
        }
    }
    Some(open)
}

/// The process group of `pid` (`/proc/<pid>/stat` field 5).
fn process_group(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_ascii_whitespace().nth(2)?.parse().ok()
}

fn process_group_of_self() -> Option<u32> {
    process_group(std::process::id())
}

/// This process and its ancestors, from the `PPid:` lines.
fn lineage(proc: &Path) -> HashSet<u32> {
    let mut own = HashSet::new();
    let mut pid = std::process::id();
    while pid > 1 && own.insert(pid) {
        match parent(proc, pid) {
            Some(parent) => pid = parent,
            None => break,
        }
    }
    own
}

/// The parent of `pid` (its `PPid:` line).
fn parent(proc: &Path, pid: u32) -> Option<u32> {
    let status = fs::read_to_string(proc.join(pid.to_string()).join("status")).ok()?;
    status.lines().find_map(|line| line.strip_prefix("PPid:")).and_then(|p| p.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_sees_this_process_and_what_it_holds() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path().canonicalize().unwrap();
        let file = fs::File::create(dir.join("held")).unwrap();
        let table = ProcessTable::read();
        assert_eq!(table.error(), None);
        let me = table.processes().iter().find(|p| p.pid == std::process::id()).unwrap();
        assert_eq!(me.uses(&dir), Some(dir.join("held").as_path()));
        assert!(table.is_own(std::process::id()));
        assert!(table.named_by(std::process::id()).any(|p| p.pid == me.pid));
        drop(file);
        let table = ProcessTable::read();
        let me = table.processes().iter().find(|p| p.pid == std::process::id()).unwrap();
        assert_eq!(me.uses(&dir), None);
    }

    #[test]
    fn a_table_without_proc_says_nothing_can_be_told() {
        let empty = tempfile::tempdir().unwrap();
        let table = ProcessTable::read_from(empty.path());
        assert!(table.error().is_some_and(|e| e.contains("not mounted")));
        assert!(table.processes().is_empty());
    }

    #[test]
    fn a_long_command_is_cut() {
        let p = Process {
            pid: 7,
            ns_pids: vec![7],
            uid: None,
            argv: Some(vec!["python3".into(), "-m".into(), "ollim_bot.main".into()]),
            cwd: None,
            open: None,
        };
        assert_eq!(p.command(80), "python3 -m ollim_bot.main");
        assert_eq!(p.command(8), "python3…");
        assert_eq!(Process { argv: None, ..p }.command(80), "pid 7");
    }
}
