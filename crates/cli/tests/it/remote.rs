//! `dotdir push` and `dotdir clone` against a real git server the test starts on loopback
//! (`git daemon --enable=receive-pack` on 127.0.0.1).

use std::{
    fs,
    net::TcpListener,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use dotdir_test_support::git;

use crate::{Env, code, demo_dirs, json, stderr, stdout};

/// A `git daemon` serving the bare repositories under `base`, killed on drop.
pub(crate) struct Daemon {
    child: Child,
    pub(crate) port: u16,
}

impl Daemon {
    pub(crate) fn start(base: &Path) -> Daemon {
        // A free port: bound, released, then taken by the daemon (retried if someone else won).
        for _ in 0..20 {
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let mut child = Command::new("git")
                .args(["daemon", "--enable=receive-pack", "--export-all", "--reuseaddr"])
                .arg("--listen=127.0.0.1")
                .arg(format!("--port={port}"))
                .arg(format!("--base-path={}", base.display()))
                .arg(base)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(10) {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Daemon { child, port };
                }
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("git daemon did not start");
    }

    pub(crate) fn url(&self, repo: &str) -> String {
        format!("git://127.0.0.1:{}/{repo}", self.port)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server directory holding one empty bare repository, `data.git`.
fn server(tmp: &Path) -> PathBuf {
    let base = tmp.join("srv");
    fs::create_dir_all(&base).unwrap();
    git(&base, &["init", "-q", "--bare", "data.git"]);
    base
}

#[test]
fn push_then_clone_gives_every_tracked_file_back_and_no_secret() {
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    let [ollim, _, _] = demo_dirs(&env, tmp.path());
    assert!(ollim.join("state/token.json").exists(), "the demo writes the secret");
    let base = server(tmp.path());
    let daemon = Daemon::start(&base);
    let url = daemon.url("data.git");

    let output = env.run(&["push", ollim.to_str().unwrap(), "--to", &url]);
    assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));
    // What git does not carry is said before anyone relies on the remote: the user's settings.
    assert!(ollim.join("state/config.json").exists());
    let said = stdout(&output);
    assert!(
        said.contains("not in git, so not pushed") && said.contains("state/config.json"),
        "{said}"
    );
    // The URL is remembered: a second push needs none.
    let output = env.run(&["push", ollim.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));

    let clone = tmp.path().join("elsewhere/.ollim-bot");
    let output = env.run(&["clone", &url, clone.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));
    let listed = stdout(&output);
    assert!(
        listed.contains("not in git, so not cloned") && listed.contains("state/config.json"),
        "{listed}"
    );
    for secret in ["state/token.json", "state/credentials.json"] {
        assert!(listed.contains(secret), "{secret} is not listed to re-create:\n{listed}");
        assert!(!clone.join(secret).exists(), "{secret} came back");
    }
    let tracked = git(&ollim, &["ls-files", "-z"]);
    let tracked: Vec<&str> = tracked.split('\0').filter(|p| !p.is_empty()).collect();
    assert!(tracked.len() >= 5 && tracked.contains(&"state/session_history.jsonl"), "{tracked:?}");
    for path in &tracked {
        assert_eq!(
            fs::read(ollim.join(path)).unwrap(),
            fs::read(clone.join(path)).unwrap(),
            "{path} differs in the clone"
        );
    }
    // The untracked structure has the layout's modes (git made them by the umask).
    for private in [&clone, &clone.join("state")] {
        let mode = fs::metadata(private).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", private.display());
    }
    let output = env.run(&["check", clone.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));
    // Nothing the layout excludes reached the server, in any commit.
    let on_server = git(&base.join("data.git"), &["log", "--all", "--name-only", "--format="]);
    for line in on_server.lines().filter(|l| !l.is_empty()) {
        assert!(
            !line.starts_with("state/") || line == "state/session_history.jsonl",
            "{line} is on the server"
        );
    }
}

#[test]
fn a_history_that_once_committed_a_secret_is_refused_and_the_server_stays_without_it() {
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    let [ollim, _, _] = demo_dirs(&env, tmp.path());
    // Somebody commits the token by hand, then untracks it: it stays in the history.
    git(&ollim, &["-c", "user.name=t", "-c", "user.email=t@t", "add", "-f", "state/token.json"]);
    git(&ollim, &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "oops"]);
    git(&ollim, &["rm", "-q", "--cached", "state/token.json"]);
    git(&ollim, &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "untrack"]);
    let base = server(tmp.path());
    let daemon = Daemon::start(&base);

    let output = env.run(&["push", ollim.to_str().unwrap(), "--to", &daemon.url("data.git")]);
    assert_eq!(code(&output), 1, "{}{}", stdout(&output), stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("state/token.json") && text.contains("nothing was sent"), "{text}");
    let refs = git(&base.join("data.git"), &["for-each-ref"]);
    assert!(refs.is_empty(), "the server got {refs}");

    // A refused push does not remember its destination.
    assert_eq!(git(&ollim, &["remote"]), "", "the refused destination was remembered");
    let output =
        env.run(&["push", "--json", ollim.to_str().unwrap(), "--to", &daemon.url("data.git")]);
    assert_eq!(code(&output), 1);
    let document = json(&output);
    assert_eq!(document["pushed"], false);
    assert_eq!(document["leaks"][0]["path"], "state/token.json");
}

#[test]
fn a_layout_without_a_journal_points_to_backup_and_restore() {
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    let [_, home, _] = demo_dirs(&env, tmp.path());
    let output = env.run(&["push", home.to_str().unwrap(), "--to", "/nowhere.git"]);
    assert_eq!(code(&output), 2, "{}", stdout(&output));
    assert!(
        stderr(&output).contains("backup") && stderr(&output).contains("restore"),
        "{}",
        stderr(&output)
    );
    let target = tmp.path().join("x");
    let output =
        env.run(&["clone", "--layout", "omicos-home", "/nowhere.git", target.to_str().unwrap()]);
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("no git journal"), "{}", stderr(&output));
    assert!(!target.exists());
}

#[test]
fn a_failed_push_is_reported_by_check() {
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    let [ollim, _, _] = demo_dirs(&env, tmp.path());
    // A port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let output = env.run(&[
        "push",
        ollim.to_str().unwrap(),
        "--to",
        &format!("git://127.0.0.1:{port}/x.git"),
    ]);
    assert_eq!(code(&output), 2, "{}", stdout(&output));
    let output = env.run(&["check", "--json", ollim.to_str().unwrap()]);
    let kinds = crate::problems(&json(&output));
    assert!(kinds.contains(&("push-failed".to_owned(), ".git".to_owned())), "{kinds:?}");
}

#[test]
fn a_relative_destination_is_the_working_directory_s_and_only_a_successful_push_is_remembered() {
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    let [ollim, _, _] = demo_dirs(&env, tmp.path());
    let base = server(tmp.path());
    // A port nobody listens on: a push there fails, and is not remembered.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let unreachable = format!("git://127.0.0.1:{port}/x.git");
    let output = env.run(&["push", ollim.to_str().unwrap(), "--to", &unreachable]);
    assert_eq!(code(&output), 2, "{}{}", stdout(&output), stderr(&output));
    assert_eq!(git(&ollim, &["remote"]), "", "a failed destination was remembered");
    let output = env.run(&["push", ollim.to_str().unwrap()]);
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("has no remote"), "{}", stderr(&output));

    // `srv/data.git` is relative to where the command runs, not to the data directory.
    let output = env
        .command(&["push", ollim.to_str().unwrap(), "--to", "srv/data.git"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));
    let absolute = base.join("data.git");
    assert_eq!(git(&ollim, &["remote", "get-url", "origin"]).trim(), absolute.to_str().unwrap());
    let on_server = git(&absolute, &["for-each-ref", "--format=%(refname)"]);
    assert!(!on_server.trim().is_empty(), "nothing reached {}", absolute.display());

    // A failed push to another destination leaves the remembered one as it was.
    let output = env.run(&["push", ollim.to_str().unwrap(), "--to", &unreachable]);
    assert_eq!(code(&output), 2, "{}{}", stdout(&output), stderr(&output));
    assert_eq!(git(&ollim, &["remote", "get-url", "origin"]).trim(), absolute.to_str().unwrap());
    let output = env.run(&["push", ollim.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));
}

#[test]
fn sigterm_during_a_clone_stops_git_and_leaves_nothing_behind() {
    let env = Env::new();
    let tmp = tempfile::tempdir().unwrap();
    // A remote that accepts and never answers: the clone hangs until it is stopped.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in listener.incoming().take(4) {
            open.push(stream);
            std::thread::sleep(Duration::from_secs(30));
        }
    });
    let target = tmp.path().join("new/.ollim-bot");
    fs::create_dir_all(target.parent().unwrap()).unwrap();
    let staging = tmp.path().join("new/.ollim-bot.dotdir-clone");
    let url = format!("git://127.0.0.1:{port}/data.git");
    let child = env
        .command(&["clone", &url, target.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let started = Instant::now();
    while !staging.exists() {
        assert!(started.elapsed() < Duration::from_secs(30), "git never started cloning");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(200));
    let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    let output = child.wait_with_output().unwrap();
    assert_ne!(output.status.code(), Some(0));
    assert!(stderr(&output).contains("interrupted"), "{}", stderr(&output));
    assert!(!staging.exists(), "the partial clone was left");
    assert!(!target.exists());
    // No `git` of this clone is left running (this test's staging path: another test's clone,
    // running meanwhile, is not this one's).
    let staging_name = staging.to_str().unwrap();
    let leftover = fs::read_dir("/proc").unwrap().flatten().any(|entry| {
        fs::read(entry.path().join("cmdline"))
            .is_ok_and(|c| String::from_utf8_lossy(&c).contains(staging_name))
    });
    assert!(!leftover, "a git clone is still running");
    drop(held);
}
