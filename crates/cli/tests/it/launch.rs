//! The application is seen running however it was launched, and when it cannot be told, it
//! counts as running: `check --fix` makes no racy repair, `restore --force` moves nothing, the
//! pid record survives, and the message names the process or says liveness is unknown. Each
//! stand-in is a real process doing what the app does (ollim-bot's pid file, omicos' `serve.pid`,
//! Claude Code's working directory, Codex's `flock`); once it stops, `--fix` repairs as before.

use std::{
    fs,
    io::{BufRead, BufReader},
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
};

use crate::{Env, code, fixture, json, stderr, stdout};

/// ollim-bot's `main.py`, reduced to its pid-file behaviour: writes `state/bot.pid` (its own
/// pid, as the pid namespace it runs in counts it), says it is ready, and runs until its stdin
/// closes. The data directory comes from `OLLIM_DATA_DIR`, or from `STANDIN_ROOT` for a bot whose
/// directory cannot be told from its environment.
const MAIN_PY: &str = r#"
import os, sys

def main():
    root = os.environ.get("STANDIN_ROOT") or os.environ["OLLIM_DATA_DIR"]
    with open(os.path.join(root, "state", "bot.pid"), "w") as f:
        f.write(str(os.getpid()))
    print("ready", flush=True)
    sys.stdin.read()

if __name__ == "__main__":
    main()
"#;

/// The `ollim-bot` console script pip writes (`ollim-bot = ollim_bot.main:main`).
const CONSOLE_SCRIPT: &str = r#"#!/usr/bin/env python3
import os, sys
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from ollim_bot.main import main
sys.exit(main())
"#;

/// An installed stand-in of the bot: `<pkg>/ollim_bot/main.py` and `<pkg>/bin/ollim-bot`.
fn install() -> tempfile::TempDir {
    let pkg = tempfile::tempdir().unwrap();
    fs::create_dir_all(pkg.path().join("ollim_bot")).unwrap();
    fs::create_dir_all(pkg.path().join("bin")).unwrap();
    fs::write(pkg.path().join("ollim_bot/__init__.py"), "").unwrap();
    fs::write(pkg.path().join("ollim_bot/main.py"), MAIN_PY).unwrap();
    let script = pkg.path().join("bin/ollim-bot");
    fs::write(&script, CONSOLE_SCRIPT).unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    pkg
}

/// Spawns `command` with its stdin and stdout piped and waits for the `ready` it prints. It runs
/// in a process group of its own, as an app started from another terminal or a service does
/// (the other side of `dotdir`'s own pipe is never taken for the app).
fn spawn_ready(command: &mut Command) -> Child {
    use std::os::unix::process::CommandExt;
    let mut child = command
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{command:?} runs: {e}"));
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready", "{command:?} did not start");
    child
}

/// Starts `program args…` with its working directory in `pkg` (never in the data directory)
/// and waits for its `ready`.
fn start(pkg: &Path, program: &str, args: &[&str], env: &[(&str, &Path)]) -> Child {
    let mut command = Command::new(program);
    command.args(args).current_dir(pkg).env("PYTHONPATH", pkg).env_remove("OLLIM_DATA_DIR");
    for (name, value) in env {
        command.env(name, value);
    }
    spawn_ready(&mut command)
}

fn stop(mut child: Child) {
    drop(child.stdin.take());
    child.wait().unwrap();
}

/// A data directory with a repair that races the app (a torn history line), and a backup of it.
struct Bot {
    temp: tempfile::TempDir,
    dir: PathBuf,
    history: Vec<u8>,
    archive: PathBuf,
}

impl Bot {
    fn new() -> Self {
        let (temp, dir) = fixture("typical");
        let archive = temp.path().join("backup.tar.gz");
        let backup =
            Env::new().run(&["backup", dir.to_str().unwrap(), "--out", archive.to_str().unwrap()]);
        assert_eq!(code(&backup), 0, "{}", stderr(&backup));
        let mut history = fs::read(dir.join("state/session_history.jsonl")).unwrap();
        history.extend_from_slice(b"{\"torn");
        fs::write(dir.join("state/session_history.jsonl"), &history).unwrap();
        Self { temp, dir, history, archive }
    }

    fn fix(&self, env: &Env, extra: &[&str]) -> Output {
        let mut args = vec!["check", "--fix"];
        args.extend_from_slice(extra);
        args.push(self.dir.to_str().unwrap());
        env.run(&args)
    }

    /// `check --fix` and `restore --force` were both refused, and nothing changed.
    fn assert_untouched_by_fix_and_restore(&self, says: &str) {
        let env = Env::new();
        let record = fs::read(self.dir.join("state/bot.pid")).ok();
        let fixed = self.fix(&env, &[]);
        let text = stdout(&fixed);
        assert_eq!(code(&fixed), 1, "refused repairs are a failure:\n{text}");
        assert!(text.contains("refused") && text.contains(says), "says `{says}`:\n{text}");
        assert_eq!(fs::read(self.dir.join("state/session_history.jsonl")).unwrap(), self.history);
        assert_eq!(fs::read(self.dir.join("state/bot.pid")).ok(), record, "the record survives");
        let restored = env.run(&[
            "restore",
            "--force",
            self.archive.to_str().unwrap(),
            self.dir.to_str().unwrap(),
        ]);
        assert_eq!(code(&restored), 2, "{}", stdout(&restored));
        assert!(stderr(&restored).contains(says), "says `{says}`: {}", stderr(&restored));
        assert!(!self.temp.path().join(".ollim-bot.before-restore-1").exists(), "moved aside");
        assert_eq!(fs::read(self.dir.join("state/session_history.jsonl")).unwrap(), self.history);
    }

    /// The negative control: with the app stopped, `--fix` repairs as before, the stale
    /// record among the rest.
    fn assert_repaired_once_stopped(&self) {
        let fixed = self.fix(&Env::new(), &[]);
        let text = stdout(&fixed);
        assert!(!text.contains("refused"), "{text}");
        assert!(text.contains("fixed") && text.contains("torn-jsonl"), "{text}");
        assert_ne!(fs::read(self.dir.join("state/session_history.jsonl")).unwrap(), self.history);
        assert!(!self.dir.join("state/bot.pid").exists(), "the stale record is removed:\n{text}");
    }
}

#[test]
fn every_launch_form_of_ollim_bot_is_seen_running() {
    let pkg = install();
    let main_py = pkg.path().join("ollim_bot/main.py");
    let script = pkg.path().join("bin/ollim-bot");
    let forms: [(&str, Vec<&str>); 3] = [
        ("python3", vec!["-m", "ollim_bot.main"]),
        ("python3", vec![main_py.to_str().unwrap()]),
        (script.to_str().unwrap(), vec![]),
    ];
    for (program, args) in forms {
        let bot = Bot::new();
        let app = start(pkg.path(), program, &args, &[("OLLIM_DATA_DIR", &bot.dir)]);
        let says = format!("pid {}", app.id());
        bot.assert_untouched_by_fix_and_restore(&says);
        stop(app);
        bot.assert_repaired_once_stopped();
    }
}

#[test]
fn a_bot_in_its_own_pid_namespace_is_seen_through_its_record() {
    let pkg = install();
    let bot = Bot::new();
    // The record says `1`: the bot's pid in its namespace. Its environment does not say which
    // directory it uses, so only the record (matched against every process's NSpid) can tell.
    let app = start(
        pkg.path(),
        "unshare",
        &["--pid", "--fork", "--mount-proc", "python3", "-m", "ollim_bot.main"],
        &[("STANDIN_ROOT", &bot.dir)],
    );
    assert_eq!(fs::read_to_string(bot.dir.join("state/bot.pid")).unwrap(), "1");
    // `check` does not call the live bot's record stale either.
    let checked = Env::new().run(&["check", "--json", bot.dir.to_str().unwrap()]);
    let kinds = crate::problems(&json(&checked));
    assert!(!kinds.iter().any(|(kind, _)| kind == "stale-lock"), "{kinds:?}");
    bot.assert_untouched_by_fix_and_restore("is named by state/bot.pid");
    stop(app);
    bot.assert_repaired_once_stopped();
}

#[test]
fn a_process_working_in_the_directory_is_seen_whatever_its_name() {
    // Claude Code writes no pid record; a session works in its directory.
    let bot = Bot::new();
    let app = spawn_ready(
        Command::new("python3")
            .args(["-c", "import sys; print('ready', flush=True); sys.stdin.read()"])
            .current_dir(bot.dir.join("state")),
    );
    bot.assert_untouched_by_fix_and_restore("works in");
    stop(app);
    let fixed = bot.fix(&Env::new(), &[]);
    assert!(stdout(&fixed).contains("fixed"), "{}", stdout(&fixed));
    assert_ne!(fs::read(bot.dir.join("state/session_history.jsonl")).unwrap(), bot.history);
}

#[test]
fn a_process_holding_a_lock_on_a_declared_log_is_seen() {
    // Codex locks its history file itself (`File::try_lock`).
    let bot = Bot::new();
    let log = bot.dir.join("state/session_history.jsonl");
    let holder = r#"
import fcntl, sys
f = open(sys.argv[1], "rb")
fcntl.flock(f, fcntl.LOCK_EX)
print("ready", flush=True)
sys.stdin.read()
"#;
    let app = spawn_ready(Command::new("python3").args(["-c", holder, log.to_str().unwrap()]));
    bot.assert_untouched_by_fix_and_restore("has ");
    stop(app);
    bot.assert_repaired_once_stopped();
}

#[test]
fn without_a_readable_proc_liveness_is_unknown_and_counts_as_running() {
    let bot = Bot::new();
    // `/proc` hidden under an empty filesystem, in a mount namespace of the command's own.
    let hidden = |extra: &[&str]| {
        let mut args = vec![
            "--mount",
            "sh",
            "-c",
            "mount -t tmpfs none /proc && exec \"$@\"",
            "sh",
            env!("CARGO_BIN_EXE_dotdir"),
            "check",
            "--fix",
        ];
        args.extend_from_slice(extra);
        args.push(bot.dir.to_str().unwrap());
        let home = tempfile::tempdir().unwrap();
        let mut unshare = Command::new("unshare");
        unshare
            .args(&args)
            .env("HOME", home.path())
            .env("DOTDIR_NOW", crate::NOW)
            .env("NO_COLOR", "1")
            .env_remove("OLLIM_DATA_DIR");
        unshare.output().expect("unshare runs")
    };
    let refused = hidden(&[]);
    let text = stdout(&refused);
    assert_eq!(code(&refused), 1, "{text}{}", stderr(&refused));
    assert!(text.contains("cannot be told") && text.contains("--assume-stopped"), "{text}");
    assert_eq!(fs::read(bot.dir.join("state/session_history.jsonl")).unwrap(), bot.history);
    // A person who knows it is stopped says so.
    let forced = hidden(&["--assume-stopped"]);
    assert!(stdout(&forced).contains("fixed"), "{}", stdout(&forced));
    assert_ne!(fs::read(bot.dir.join("state/session_history.jsonl")).unwrap(), bot.history);
}

#[test]
fn a_record_naming_another_users_process_that_cannot_be_read_is_unknown() {
    let bot = Bot::new();
    // Everyone may read and write the copy, so that `nobody` can check it.
    let chmod = Command::new("chmod").args(["-R", "a+rwX"]).arg(bot.temp.path()).status();
    assert!(chmod.unwrap().success());
    // A root process under another name, named by the record: `nobody` cannot read its open
    // files, so whether it is the bot cannot be told.
    let app = spawn_ready(Command::new("python3").args([
        "-c",
        "import sys; print('ready', flush=True); sys.stdin.read()",
        "server",
    ]));
    fs::write(bot.dir.join("state/bot.pid"), app.id().to_string()).unwrap();
    let run = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", env!("CARGO_BIN_EXE_dotdir")])
        .args(["check", "--fix", bot.dir.to_str().unwrap()])
        .env("HOME", bot.temp.path())
        .env("NO_COLOR", "1")
        .env_remove("OLLIM_DATA_DIR")
        .output()
        .expect("setpriv runs");
    let text = stdout(&run);
    assert_eq!(code(&run), 1, "{text}{}", stderr(&run));
    assert!(text.contains("cannot be told") && text.contains("another user"), "{text}");
    assert_eq!(fs::read(bot.dir.join("state/session_history.jsonl")).unwrap(), bot.history);
    assert!(bot.dir.join("state/bot.pid").exists(), "the record survives");
    stop(app);
}

#[test]
fn omicos_serve_under_another_name_is_seen_through_its_record() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("ws/.omicos");
    let env = Env::new();
    let init = env.run(&["init", "--layout", "omicos-workspace", dir.to_str().unwrap()]);
    assert_eq!(code(&init), 0, "{}", stderr(&init));
    // A daemon renamed `omi-server.py`, started in the workspace (its data directory is the
    // default `./.omicos`: nothing in its command line says `omicos`), writing `serve.pid` as
    // omicos does and keeping nothing open inside.
    let server = r#"
import os, sys
root = os.path.join(os.getcwd(), ".omicos")
with open(os.path.join(root, "serve.pid"), "w") as f:
    f.write(f"{os.getpid()}\n8765\n")
print("ready", flush=True)
sys.stdin.read()
"#;
    let script = temp.path().join("omi-server.py");
    fs::write(&script, server).unwrap();
    let app = spawn_ready(
        Command::new("python3")
            .arg(&script)
            .args(["serve", "--no-browser"])
            .current_dir(temp.path().join("ws")),
    );
    let fixed = env.run(&["check", "--fix", "--json", dir.to_str().unwrap()]);
    let report = json(&fixed);
    let running = &report["running"];
    assert_eq!(running["seen"], true, "{report}");
    assert_eq!(running["pid"], app.id(), "{report}");
    assert!(dir.join("serve.pid").exists(), "the record survives");
    stop(app);
    let fixed = env.run(&["check", "--fix", "--json", dir.to_str().unwrap()]);
    assert!(json(&fixed).get("running").is_none(), "{}", stdout(&fixed));
    assert!(!dir.join("serve.pid").exists(), "the stale record is removed");
}

#[test]
fn a_bot_on_the_host_seen_from_a_container_is_unknown() {
    let pkg = install();
    let bot = Bot::new();
    let app =
        start(pkg.path(), "python3", &["-m", "ollim_bot.main"], &[("OLLIM_DATA_DIR", &bot.dir)]);
    // `dotdir` in a pid namespace of its own: the host's bot is out of its sight.
    let output = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", env!("CARGO_BIN_EXE_dotdir"), "check", "--fix"])
        .arg(&bot.dir)
        .env("HOME", bot.temp.path())
        .env("DOTDIR_NOW", crate::NOW)
        .env("NO_COLOR", "1")
        .env_remove("OLLIM_DATA_DIR")
        .output()
        .expect("unshare runs");
    let text = stdout(&output);
    assert_eq!(code(&output), 1, "{text}{}", stderr(&output));
    assert!(text.contains("cannot be told") && text.contains("container"), "{text}");
    assert_eq!(fs::read(bot.dir.join("state/session_history.jsonl")).unwrap(), bot.history);
    assert!(bot.dir.join("state/bot.pid").exists(), "the record survives");
    stop(app);
}

#[test]
fn a_pager_on_dotdirs_own_pipe_or_a_shell_in_the_directory_is_not_the_app() {
    let bot = Bot::new();
    // `cd ~/.ollim-bot && dotdir check --fix . | less`: the shell and the pager work in the
    // directory; neither is the app.
    let shell = spawn_ready(
        Command::new("bash")
            .args(["-c", "echo ready; read line"])
            .current_dir(bot.dir.join("state")),
    );
    let output = Command::new("sh")
        .args(["-c", "\"$0\" check --fix \"$1\" | cat", env!("CARGO_BIN_EXE_dotdir")])
        .arg(&bot.dir)
        .current_dir(bot.dir.join("state"))
        .env("HOME", bot.temp.path())
        .env("DOTDIR_NOW", crate::NOW)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = stdout(&output);
    assert!(!text.contains("refused"), "{text}");
    assert!(text.contains("fixed") && text.contains("torn-jsonl"), "{text}");
    stop(shell);
}
