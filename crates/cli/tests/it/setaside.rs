//! What `--fix` sets aside is kept, and kept private: a `.corrupt` copy gets its source's mode,
//! goes into backups (unless its source is a secret) and comes back from a restore; a copy
//! looser than its source is flagged and tightened.

use std::{fs, path::Path};

use dotdir_test_support::{mode, set_mode};

use crate::{Env, code, demo_dirs, json, problems, stderr, stdout};

#[test]
fn a_private_logs_torn_tail_is_set_aside_private_backed_up_and_restored() {
    let temp = tempfile::tempdir().unwrap();
    let env = Env::new();
    let [ollim, _, _] = demo_dirs(&env, temp.path());
    let log = ollim.join("state/session_history.jsonl");
    let mut bytes = fs::read(&log).unwrap();
    bytes.extend_from_slice(b"{\"session_id\": \"torn-private-canary");
    fs::write(&log, bytes).unwrap();
    set_mode(&log, 0o600);
    let path = ollim.to_str().unwrap();
    let fixed = env.run(&["check", "--fix", path]);
    assert_eq!(code(&fixed), 0, "{}{}", stdout(&fixed), stderr(&fixed));
    let aside = ollim.join("state/session_history.jsonl.corrupt");
    assert!(fs::read_to_string(&aside).unwrap().contains("torn-private-canary"));
    assert_eq!(mode(&aside), 0o600, "the set-aside copy keeps its source's mode");

    let archive = temp.path().join("b.tar.gz");
    let backup = env.run(&["backup", path, "--out", archive.to_str().unwrap()]);
    assert_eq!(code(&backup), 0, "{}{}", stdout(&backup), stderr(&backup));
    let restored = temp.path().join("restored/.ollim-bot");
    let output = env.run(&["restore", archive.to_str().unwrap(), restored.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));
    let back = restored.join("state/session_history.jsonl.corrupt");
    assert!(fs::read_to_string(&back).unwrap().contains("torn-private-canary"), "salvage lost");
    assert_eq!(mode(&back), 0o600);
}

#[test]
fn a_set_aside_copy_looser_than_its_source_is_flagged_and_tightened() {
    let temp = tempfile::tempdir().unwrap();
    let env = Env::new();
    let [ollim, _, _] = demo_dirs(&env, temp.path());
    let log = ollim.join("state/session_history.jsonl");
    set_mode(&log, 0o600);
    let aside = ollim.join("state/session_history.jsonl.corrupt");
    fs::write(&aside, "{\"torn\n").unwrap();
    set_mode(&aside, 0o644);
    let path = ollim.to_str().unwrap();
    let found = problems(&json(&env.run(&["check", "--json", path])));
    assert!(
        found.contains(&(
            "set-aside-mode".to_owned(),
            "state/session_history.jsonl.corrupt".to_owned()
        )),
        "{found:?}"
    );
    let fixed = env.run(&["check", "--fix", path]);
    assert_eq!(code(&fixed), 0, "{}{}", stdout(&fixed), stderr(&fixed));
    assert_eq!(mode(&aside), 0o600);
}

/// The lines of `member` in the `.tar.gz` at `archive`.
fn member_bytes(archive: &Path, member: &str) -> Vec<u8> {
    use std::io::Read;
    let file = fs::File::open(archive).unwrap();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().ends_with(member) {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            return bytes;
        }
    }
    panic!("{member} is not in {}", archive.display());
}

#[test]
fn a_backup_beside_a_python_appender_archives_only_whole_lines() {
    let temp = tempfile::tempdir().unwrap();
    let env = Env::new();
    let [ollim, _, _] = demo_dirs(&env, temp.path());
    let log = ollim.join("state/session_history.jsonl");
    // The reference's own append: `open("a").write(json.dumps(record) + "\n")`, records up to
    // 600 KB, no lock; it appends until the test creates the stop file, so every backup below
    // runs beside it however slow the machine is (no clock decides).
    let stop = temp.path().join("stop");
    let script = format!(
        "import json, os\ni = 0\nwhile not os.path.exists({:?}):\n    \
         with open({:?}, 'a') as f:\n        f.write(json.dumps({{'session_id': 'p%d' % i, 'event': 'created', 'timestamp': 'x', 'pad': 'y' * (i * 7919 % 600000)}}) + '\\n')\n    i += 1\n",
        stop.to_str().unwrap(),
        log.to_str().unwrap()
    );
    let mut appender = std::process::Command::new("python3").args(["-c", &script]).spawn().unwrap();
    for backup in 0..6 {
        let archive = temp.path().join(format!("b{backup}.tar.gz"));
        let output =
            env.run(&["backup", ollim.to_str().unwrap(), "--out", archive.to_str().unwrap()]);
        assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));
        let bytes = member_bytes(&archive, "state/session_history.jsonl");
        assert!(bytes.is_empty() || bytes.ends_with(b"\n"), "backup {backup} archived a torn tail");
        for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            assert!(serde_json::from_slice::<serde_json::Value>(line).is_ok(), "a torn line");
        }
        assert!(appender.try_wait().unwrap().is_none(), "the appender stopped early");
    }
    fs::write(&stop, "").unwrap();
    assert!(appender.wait().unwrap().success());
}
