//! `dotdir demo`: runs on a fresh machine (a clean `HOME`, nothing set up) and prints the tree.

use crate::{Env, code, json, stderr, stdout};

#[test]
fn demo_runs_in_a_clean_home_and_prints_the_tree() {
    let env = Env::new();
    let output = env.run(&["demo"]);
    let text = stdout(&output);
    assert_eq!(code(&output), 0, "{text}{}", stderr(&output));
    for expected in [
        "[pidlock] ollim-bot: state/bot.pid held by this process",
        "[jsonl-log]",
        "[git-journal]",
        "[ping-bucket] ollim-bot: spent 2 pings: budget: 3/5",
        "ollim-bot layout at",
        "omicos-home layout at",
        "omicos-workspace layout at",
        "  token.json ",
        "[secret] Google OAuth token",
        // A name longer than its column is cut in the middle.
        "  morning-check-in-re…s-and-calendar-for.md",
        "    history.jsonl",
        // The main job: a crash found, repaired, backed up and restored clean.
        "error   torn-jsonl        state/session_history.jsonl:3",
        "fixed secret-mode       state/token.json  mode set to 0600",
        "to re-create: state/credentials.json, state/token.json",
        "ollim-bot-restored: no problems",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from:\n{text}");
    }
    // The three built directories, the repaired one and the restored one.
    assert_eq!(text.matches(": no problems").count(), 5, "{text}");
    // The story comes first: the crash before the trees, the trees before how they were built.
    let crash = text.find("1. The crash").unwrap();
    let trees = text.find("ollim-bot layout at").unwrap();
    let built = text.find("[git-journal]").unwrap();
    assert!(crash < trees && crash < built, "{text}");
    // The temporary folder is gone, and HOME was not touched.
    assert_eq!(std::fs::read_dir(env.home.path()).unwrap().count(), 0);
}

#[test]
fn demo_json_lists_three_clean_directories() {
    let output = crate::dotdir(&["demo", "--json"]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let document = json(&output);
    let layouts: Vec<&str> = document["directories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["inspect"]["layout"].as_str().unwrap())
        .collect();
    assert_eq!(layouts, ["ollim-bot", "omicos-home", "omicos-workspace"]);
    for directory in document["directories"].as_array().unwrap() {
        assert_eq!(directory["check"]["problems"], serde_json::json!([]), "{directory}");
        let entries = directory["inspect"]["entries"].as_array().unwrap();
        assert!(entries.iter().all(|e| e["unknown"] == false));
        assert!(entries.iter().any(|e| e["secret"] == true));
    }
    let crates: Vec<&str> = document["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["crate"].as_str().unwrap())
        .collect();
    for krate in ["atomic-store", "pidlock", "jsonl-log", "git-journal", "ping-bucket"] {
        assert!(crates.contains(&krate), "{krate} not exercised: {crates:?}");
    }
}

/// Every file and directory the demo's writers made, with the mode its layout declares: the
/// entry's `write_mode` (private and secret entries), else what the umask (022 here) gives.
#[test]
fn every_writer_gives_the_mode_its_entry_declares() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let root = env.home.path().join("demo");
    // A known umask: the child runs under `sh -c 'umask 022; exec dotdir demo --dir …'`.
    let output = std::process::Command::new("sh")
        .args(["-c", "umask 022 && exec \"$0\" demo --dir \"$1\""])
        .arg(env!("CARGO_BIN_EXE_dotdir"))
        .arg(&root)
        .env("HOME", env.home.path())
        .env("DOTDIR_NOW", crate::NOW)
        .output()
        .unwrap();
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    // The restore next to them leaves nothing of its own in their parent (no lock file).
    let beside: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".lock") || name.contains("dotdir-restore"))
        .collect();
    assert!(beside.is_empty(), "{beside:?}");
    let layouts = [
        ("ollim-bot", &dotdir::ollim::LAYOUT),
        ("omicos-home", &dotdir::omicos::HOME_LAYOUT),
        ("workspace/.omicos", &dotdir::omicos::WORKSPACE_LAYOUT),
    ];
    let (mut checked, mut wrong, mut seen_entries) =
        (0, Vec::new(), std::collections::BTreeSet::new());
    for (dir, layout) in layouts {
        let base = root.join(dir);
        let mut stack = vec![base.clone()];
        while let Some(at) = stack.pop() {
            for item in std::fs::read_dir(&at).unwrap() {
                let path = item.unwrap().path();
                let meta = std::fs::symlink_metadata(&path).unwrap();
                let relative = path.strip_prefix(&base).unwrap().to_str().unwrap().to_owned();
                if relative == ".git" || meta.file_type().is_symlink() {
                    continue;
                }
                if meta.is_dir() {
                    stack.push(path.clone());
                }
                let Some(entry) = layout.entry_for(&relative) else { continue };
                let default = if meta.is_dir() { 0o755 } else { 0o644 };
                let expected = entry.write_mode().unwrap_or(default);
                let mode = meta.permissions().mode() & 0o777;
                checked += 1;
                seen_entries.insert((dir, entry.pattern));
                if mode != expected {
                    wrong.push(format!(
                        "{dir}/{relative}: {mode:o}, declared {expected:o} ({})",
                        entry.pattern
                    ));
                }
            }
        }
    }
    assert!(checked > 60, "only {checked} paths checked");
    assert!(
        wrong.is_empty(),
        "{} of {checked} paths ({} entries) disagree with their declaration:\n{}",
        wrong.len(),
        seen_entries.len(),
        wrong.join("\n")
    );
}
