//! `check --fix` beside a running application that takes none of dotdir's locks: the real
//! ollim-bot's read-modify-write (json load, change, `mkstemp` + `os.replace`), run by `python3`
//! with `state/bot.pid` naming it. Every repair that could race it is refused, naming its pid;
//! the repairs that cannot (a secret's mode) still run; not one of its entries is lost.

use std::{
    fs,
    os::unix::fs::PermissionsExt,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use crate::{Env, NOW, code, fixture, stdout};

/// The reference's unlocked read-modify-write of `state/inquiries.json`, looping until the stop
/// file exists; prints how many entries it added. `ollim-bot` in its argv makes its cmdline match
/// the layout's program, as the real bot's does.
const WRITER: &str = r#"
import json, os, sys, tempfile, time
root, stop = sys.argv[2], sys.argv[3]
state = os.path.join(root, "state")
path = os.path.join(state, "inquiries.json")
with open(os.path.join(state, "bot.pid"), "w") as f:
    f.write(str(os.getpid()))
n = 0
while not os.path.exists(stop):
    with open(path) as f:
        data = json.load(f)
    data[format(0xa0000000 + n, "08x")] = {"prompt": "live", "ts": time.time()}
    fd, tmp = tempfile.mkstemp(dir=state, suffix=".tmp")
    try:
        os.write(fd, json.dumps(data).encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)
    n += 1
print(n)
"#;

#[test]
fn fix_beside_a_live_unlocked_writer_refuses_racy_repairs_and_loses_nothing() {
    let (temp, dir) = fixture("typical");
    let stop = temp.path().join("stop");
    // Something for every kind of repair: expired records (the fixture's, eight days on), a torn
    // history line, a secret readable by others.
    let mut history = fs::read(dir.join("state/session_history.jsonl")).unwrap();
    history.extend_from_slice(b"{\"torn");
    fs::write(dir.join("state/session_history.jsonl"), &history).unwrap();
    fs::write(dir.join("state/token.json"), b"{\"t\": 1}").unwrap();
    fs::set_permissions(dir.join("state/token.json"), fs::Permissions::from_mode(0o644)).unwrap();
    let later = (NOW.parse::<u64>().unwrap() + 8 * 86_400).to_string();

    let writer = Command::new("python3")
        .args(["-c", WRITER, "ollim-bot", dir.to_str().unwrap(), stop.to_str().unwrap()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let pid = writer.id();
    let started = Instant::now();
    while fs::read_to_string(dir.join("state/bot.pid")).unwrap_or_default() != pid.to_string() {
        assert!(started.elapsed() < Duration::from_secs(30), "the writer never started");
        std::thread::sleep(Duration::from_millis(5));
    }

    let env = Env::new();
    let runs = 200;
    for run in 0..runs {
        let output = env
            .command(&["check", "--fix", dir.to_str().unwrap()])
            .env("DOTDIR_NOW", &later)
            .output()
            .unwrap();
        let text = stdout(&output);
        assert_eq!(code(&output), 1, "run {run}: refused repairs are a failure:\n{text}");
        assert!(text.contains(&format!("pid {pid}")), "run {run}: names the pid:\n{text}");
        assert!(text.contains("Stop it first"), "run {run}: says what to do:\n{text}");
        assert!(!text.contains("fixed   expired-entries"), "run {run}: pruned:\n{text}");
    }
    fs::write(&stop, b"").unwrap();
    let output = writer.wait_with_output().unwrap();
    assert!(output.status.success());
    let added: u32 = String::from_utf8_lossy(&output.stdout).trim().parse().unwrap();

    // Every entry the writer added is there, and the fixture's expired ones were left alone.
    let inquiries: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("state/inquiries.json")).unwrap()).unwrap();
    let inquiries = inquiries.as_object().unwrap();
    for n in 0..added {
        let id = format!("{:08x}", 0xa000_0000_u32 + n);
        assert!(inquiries.contains_key(&id), "entry {n} of {added} lost");
    }
    assert!(inquiries.contains_key("9f6406b5"), "an expired record was pruned under the app");
    assert!(history.ends_with(b"{\"torn")); // the torn history was not set aside either:
    assert_eq!(fs::read(dir.join("state/session_history.jsonl")).unwrap(), history);
    // The repair that cannot race the app ran.
    let mode = fs::metadata(dir.join("state/token.json")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    println!("{runs} check --fix runs beside a live writer that added {added} entries: 0 lost");
}

#[test]
fn a_refused_fix_is_not_followed_by_a_hint_to_run_the_fix() {
    let (_temp, dir) = fixture("typical");
    // Something fixable that races the app: a torn history line.
    let mut history = fs::read(dir.join("state/session_history.jsonl")).unwrap();
    history.extend_from_slice(b"{\"torn");
    fs::write(dir.join("state/session_history.jsonl"), &history).unwrap();
    // A live process whose command line names the program, blocked on its stdin until the test
    // closes it: the running app of `state/bot.pid`.
    let mut app = Command::new("python3")
        .args(["-c", "import sys; sys.stdin.read()", "ollim-bot"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    fs::write(dir.join("state/bot.pid"), app.id().to_string()).unwrap();
    let output = Env::new().run(&["check", "--fix", dir.to_str().unwrap()]);
    drop(app.stdin.take());
    assert!(app.wait().unwrap().success());
    let text = stdout(&output);
    assert_eq!(code(&output), 1, "{text}");
    assert!(text.contains("refused") && text.contains("Stop it first"), "{text}");
    assert!(text.contains("fixable"), "the torn line is still fixable: {text}");
    let last = text.lines().last().unwrap();
    assert!(!last.starts_with("Run `"), "a hint contradicting the refusal: {text}");
    assert_eq!(text.matches("check --fix").count(), 1, "only the refusal's advice: {text}");
}
