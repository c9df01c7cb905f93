//! Under strace, every replace is create-temp (exclusive, with its final mode) → write →
//! fsync(file) → rename → fsync(dir), and no chmod widens a mode.

use std::{fs, process::Command};

use dotdir_atomic_store::{WriteOptions, write};

use crate::child_role;

#[test]
fn replace_follows_the_durable_syscall_order() {
    if child_role().is_some() {
        let d = std::path::PathBuf::from(std::env::var("DOTDIR_DIR").unwrap());
        let _ = write(&d.join("token.json"), b"{\"t\": 1}", &WriteOptions::secret()).unwrap();
        let _ = write(&d.join("token.json"), b"{\"t\": 2}", &WriteOptions::secret()).unwrap();
        let _ = write(&d.join("config.json"), b"{}", &WriteOptions::new()).unwrap();
        std::process::exit(0);
    }
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace");
    let status = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=openat,open,write,fsync,fdatasync,rename,renameat,renameat2,chmod,fchmod,fchmodat,close"])
        .arg("-o")
        .arg(&trace)
        .arg(std::env::current_exe().unwrap())
        .args(["syscalls::replace_follows_the_durable_syscall_order", "--exact", "--test-threads=1"])
        .env("DOTDIR_CHILD", "writer")
        .env("DOTDIR_DIR", dir.path().join("data"))
        .status()
        .expect("strace is needed for this test: `apt-get install strace` (.ci/run installs it)");
    assert!(status.success());
    let text = fs::read_to_string(&trace).unwrap();
    let replaces = parse_replaces(&text);
    assert_eq!(replaces.len(), 3, "three replaces expected in:\n{text}");
    for r in &replaces {
        assert_eq!(
            r.steps,
            ["create-temp", "write", "fsync-file", "rename", "fsync-dir"],
            "replace of {} out of order:\n{text}",
            r.target
        );
        assert!(
            r.create_flags.contains("O_EXCL") && r.create_flags.contains("O_NOFOLLOW"),
            "{}",
            r.create_flags
        );
    }
    assert!(
        replaces[0].create_mode == "0600" && replaces[1].create_mode == "0600",
        "secrets are created 0600"
    );
    let chmods: Vec<&str> = text.lines().filter(|l| l.contains("chmod")).collect();
    assert!(chmods.is_empty(), "no chmod when the umask allows the final mode: {chmods:#?}");
}

#[derive(Debug)]
struct Replace {
    target: String,
    create_flags: String,
    create_mode: String,
    steps: Vec<&'static str>,
}

/// Follows each temp file's fd through the trace: `openat(…".x.dotdir-tmp"…) = fd`, `write(fd)`,
/// `fsync(fd)`, `rename(temp, target)`, `openat(dir) = dirfd`, `fsync(dirfd)`.
fn parse_replaces(text: &str) -> Vec<Replace> {
    let mut out: Vec<Replace> = Vec::new();
    let mut temp_fd: Option<String> = None;
    let mut dir_fd: Option<String> = None;
    for line in text.lines() {
        // With -f, each line starts with the pid.
        let call = match line.split_once(' ') {
            Some((pid, rest)) if pid.bytes().all(|b| b.is_ascii_digit()) => rest.trim(),
            _ => line.trim(),
        };
        let result = call
            .rsplit_once("= ")
            .map(|(_, r)| r.split_whitespace().next().unwrap_or(""))
            .unwrap_or("");
        if call.starts_with("openat(") && call.contains(".dotdir-tmp") {
            let args: Vec<&str> = call.split(", ").collect();
            out.push(Replace {
                target: args.get(1).copied().unwrap_or("").to_owned(),
                create_flags: args.get(2).copied().unwrap_or("").to_owned(),
                create_mode: args.get(3).and_then(|m| m.split(')').next()).unwrap_or("").to_owned(),
                steps: vec!["create-temp"],
            });
            temp_fd = Some(result.to_owned());
            continue;
        }
        let Some(current) = out.last_mut() else { continue };
        let fd_arg =
            call.split_once('(').and_then(|(_, a)| a.split([',', ')']).next()).unwrap_or("");
        if call.starts_with("write(") && Some(fd_arg) == temp_fd.as_deref() {
            if current.steps.last() != Some(&"write") {
                current.steps.push("write");
            }
        } else if call.starts_with("fsync(") && Some(fd_arg) == temp_fd.as_deref() {
            current.steps.push("fsync-file");
        } else if call.starts_with("rename") && call.contains(".dotdir-tmp") {
            current.steps.push("rename");
            temp_fd = None;
        } else if call.starts_with("openat(") && current.steps.last() == Some(&"rename") {
            dir_fd = Some(result.to_owned());
        } else if call.starts_with("fsync(") && Some(fd_arg) == dir_fd.as_deref() {
            current.steps.push("fsync-dir");
            dir_fd = None;
        }
    }
    out
}

/// `write_new` stages exactly like `write` and publishes with `link(2)`: create-temp (exclusive,
/// no-follow) → write → fsync(file) → link(temp, target) → unlink(temp) → fsync(dir); and a
/// second call on the existing target makes no temporary file at all.
#[test]
fn write_new_links_then_syncs_the_directory() {
    if child_role().is_some() {
        let d = std::path::PathBuf::from(std::env::var("DOTDIR_DIR").unwrap());
        let path = d.join("IDENTITY.md");
        let _ = dotdir_atomic_store::write_new(&path, b"new", &WriteOptions::secret()).unwrap();
        let _ = dotdir_atomic_store::write_new(&path, b"again", &WriteOptions::new()).unwrap();
        std::process::exit(0);
    }
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace");
    let status = Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-e",
            "trace=openat,write,fsync,rename,renameat,renameat2,link,linkat,unlink,unlinkat",
        ])
        .arg("-o")
        .arg(&trace)
        .arg(std::env::current_exe().unwrap())
        .args(["syscalls::write_new_links_then_syncs_the_directory", "--exact", "--test-threads=1"])
        .env("DOTDIR_CHILD", "writer")
        .env("DOTDIR_DIR", dir.path().join("data"))
        .status()
        .expect("strace is needed for this test");
    assert!(status.success());
    let text = fs::read_to_string(&trace).unwrap();
    let mut steps = Vec::new();
    let (mut temp_fd, mut dir_fd) = (None::<String>, None::<String>);
    for line in text.lines() {
        let call = line.split_once(' ').map_or(line, |(_, rest)| rest).trim();
        let result = call.rsplit_once("= ").map(|(_, r)| r.trim().to_owned()).unwrap_or_default();
        let fd_arg = call.split_once('(').and_then(|(_, a)| a.split([',', ')']).next());
        if call.starts_with("openat(") && call.contains(".dotdir-tmp") {
            assert!(call.contains("O_EXCL") && call.contains("O_NOFOLLOW"), "{call}");
            steps.push("create-temp");
            temp_fd = Some(result);
        } else if call.starts_with("write(") && fd_arg == temp_fd.as_deref() {
            steps.push("write");
        } else if call.starts_with("fsync(") && fd_arg == temp_fd.as_deref() {
            steps.push("fsync-file");
        } else if call.starts_with("link") && call.contains(".dotdir-tmp") {
            assert!(call.contains("IDENTITY.md\""), "{call}");
            steps.push("link");
        } else if call.starts_with("rename") && call.contains(".dotdir-tmp") {
            steps.push("rename");
        } else if call.starts_with("unlink") && call.contains(".dotdir-tmp") {
            steps.push("unlink-temp");
        } else if call.starts_with("openat(") && steps.last() == Some(&"unlink-temp") {
            dir_fd = Some(result);
        } else if call.starts_with("fsync(") && fd_arg == dir_fd.as_deref() {
            steps.push("fsync-dir");
            dir_fd = None;
        }
    }
    assert_eq!(
        steps,
        ["create-temp", "write", "fsync-file", "link", "unlink-temp", "fsync-dir"],
        "in:\n{text}"
    );
}
