//! `dotdir backup`: only what the layout keeps, never a secret, verified, restorable.

use std::{
    collections::BTreeSet,
    fs,
    io::Read,
    path::{Path, PathBuf},
};

use crate::{Env, code, demo_dirs, json, stderr, stdout};

const CANARY: &str = "dotdir-demo-secret-canary";

/// Plants a canary in every secret of `dir` (found through the library's reading of the
/// layout) and returns the secrets' paths and canaries.
fn plant_canaries(dir: &Path, layout: &dotdir::Layout) -> Vec<(PathBuf, String)> {
    let tree = dotdir::inspect::inspect(dir, layout).unwrap();
    let mut planted = Vec::new();
    for node in tree.nodes.iter().filter(|n| n.is_secret() && n.path.is_file()) {
        let original = fs::read(&node.path).unwrap();
        assert!(
            String::from_utf8_lossy(&original).contains(CANARY),
            "the demo plants a canary in {}",
            node.relative
        );
        let canary = format!("canary-{}-{}", layout.name, planted.len());
        let mut bytes = original;
        bytes.extend_from_slice(canary.as_bytes());
        fs::write(&node.path, bytes).unwrap();
        planted.push((node.path.clone(), canary));
    }
    planted
}

fn gunzip(archive: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(fs::File::open(archive).unwrap()).read_to_end(&mut bytes).unwrap();
    bytes
}

/// The data files in an archive, relative to its one top-level folder (the manifest left out).
pub(crate) fn archive_paths(archive: &Path) -> BTreeSet<String> {
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(fs::File::open(archive).unwrap()));
    let mut tops = BTreeSet::new();
    let paths = tar
        .entries()
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.header().entry_type() == tar::EntryType::Regular)
        .filter_map(|e| {
            let path = e.path().unwrap().to_string_lossy().into_owned();
            let (top, rest) = path.split_once('/').unwrap();
            tops.insert(top.to_owned());
            (rest != dotdir::archive::MANIFEST).then(|| rest.to_owned())
        })
        .collect();
    assert_eq!(tops.len(), 1, "one top-level folder: {tops:?}");
    paths
}

#[test]
fn backup_of_the_demo_holds_no_secret_and_restores_clean() {
    let temp = tempfile::tempdir().unwrap();
    let env = Env::new();
    let dirs = demo_dirs(&env, temp.path());
    let layouts = [
        ("ollim-bot", &dotdir::ollim::LAYOUT),
        ("omicos-home", &dotdir::omicos::HOME_LAYOUT),
        ("omicos-workspace", &dotdir::omicos::WORKSPACE_LAYOUT),
    ];
    let mut secrets = 0;
    for (dir, (name, layout)) in dirs.iter().zip(layouts) {
        let planted = plant_canaries(dir, layout);
        assert!(!planted.is_empty(), "{name} has secrets");
        secrets += planted.len();
        let archive = temp.path().join(format!("{name}.tar.gz"));
        let output =
            env.run(&["backup", dir.to_str().unwrap(), "--out", archive.to_str().unwrap()]);
        assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));
        assert!(stdout(&output).contains("verified"), "{}", stdout(&output));

        // No secret's bytes, and no secret's path, anywhere in the decompressed archive.
        let bytes = gunzip(&archive);
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(CANARY), "{name}: a demo secret leaked");
        for (path, canary) in &planted {
            assert!(!text.contains(canary.as_str()), "{name}: {} leaked", path.display());
            let relative = path.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            assert!(!archive_paths(&archive).contains(&relative), "{name}: {relative} archived");
        }

        // It holds exactly what `--list` says.
        let listed = json(&env.run(&["backup", "--list", "--json", dir.to_str().unwrap()]));
        let listed: BTreeSet<String> = listed["included"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap().to_owned())
            .collect();
        assert!(!listed.is_empty());
        assert_eq!(archive_paths(&archive), listed, "{name}");

        // Restored, it is a directory `check` finds clean.
        let restored = temp.path().join(format!("restored-{name}"));
        let output = env.run(&["restore", archive.to_str().unwrap(), restored.to_str().unwrap()]);
        assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));
        assert!(stdout(&output).contains("re-create"), "{}", stdout(&output));
        assert!(assert_restored_exactly(dir, &restored, &archive) > 0, "{name}");
        let output = env.run(&["check", "--json", "--layout", name, restored.to_str().unwrap()]);
        assert_eq!(json(&output)["problems"], serde_json::json!([]), "{name}");
        assert_eq!(code(&output), 0);
    }
    assert!(secrets >= 8, "{secrets} secrets planted");
}

#[test]
fn the_canary_scan_can_fail() {
    // Negative control: a canary in a file the layout backs up is found by the same scan.
    let temp = tempfile::tempdir().unwrap();
    let env = Env::new();
    let [ollim, _, _] = demo_dirs(&env, temp.path());
    fs::write(ollim.join("USER.md"), format!("not a secret: {CANARY}\n")).unwrap();
    let archive = temp.path().join("ollim.tar.gz");
    let output = env.run(&["backup", ollim.to_str().unwrap(), "--out", archive.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(String::from_utf8_lossy(&gunzip(&archive)).contains(CANARY));
}

#[test]
fn list_shows_what_stays_out_and_why() {
    let temp = tempfile::tempdir().unwrap();
    let env = Env::new();
    let [_, home, _] = demo_dirs(&env, temp.path());
    let document = json(&env.run(&["backup", "--list", "--json", home.to_str().unwrap()]));
    let skipped: BTreeSet<(String, String)> = document["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["path"].as_str().unwrap().to_owned(), s["reason"].as_str().unwrap().to_owned()))
        .collect();
    for (path, reason) in [
        ("auth.json", "secret"),
        ("cloud_login.json", "secret"),
        ("oauth", "secret"),
        ("plan_token.jwt", "secret"),
        ("env", "re-creatable"),
        ("cloud-models", "re-creatable"),
    ] {
        assert!(
            skipped.contains(&(path.to_owned(), reason.to_owned())),
            "{path} {reason}: {skipped:?}"
        );
    }
    let files: Vec<&str> = document["included"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["memory/preferences.md", "usage/sess-global.jsonl"]);
}

#[test]
fn backup_refuses_to_write_inside_the_directory() {
    let (_temp, dir) = crate::fixture("typical");
    let out = dir.join("backup.tar.gz");
    let output = crate::dotdir(&["backup", dir.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("outside"), "{}", stderr(&output));
    assert!(!out.exists());
}

#[test]
fn backup_is_published_atomically_0600_and_leaves_no_temporary_file() {
    let (temp, dir) = crate::fixture("typical");
    let out_dir = temp.path().join("backups");
    fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("ollim.tar.gz");
    // An older archive is replaced whole, never truncated in place.
    fs::write(&out, b"an older archive").unwrap();
    let refused = crate::dotdir(&["backup", dir.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code(&refused), 2, "never overwritten without --force");
    assert!(stderr(&refused).contains("--force"), "{}", stderr(&refused));
    assert_eq!(fs::read(&out).unwrap(), b"an older archive");
    let output = crate::dotdir(&[
        "backup",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--force",
    ]);
    assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(!archive_paths(&out).is_empty());
    let names: Vec<String> = fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["ollim.tar.gz"], "no temporary file is left next to --out");
}

#[test]
fn backup_refuses_a_symlink_at_out_and_writes_nothing_through_it() {
    let (temp, dir) = crate::fixture("typical");
    let outside = temp.path().join("outside.txt");
    fs::write(&outside, b"precious").unwrap();
    let out = temp.path().join("link.tar.gz");
    std::os::unix::fs::symlink(&outside, &out).unwrap();
    let output = crate::dotdir(&["backup", dir.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code(&output), 2, "{}{}", stdout(&output), stderr(&output));
    assert!(stderr(&output).contains("symlink"), "{}", stderr(&output));
    assert_eq!(fs::read(&outside).unwrap(), b"precious");
    assert!(fs::symlink_metadata(&out).unwrap().file_type().is_symlink());
    let leftovers: Vec<String> = fs::read_dir(temp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("dotdir-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// Every file of `selection`'s tree that went in is in `restored`, byte for byte, mode for mode.
fn assert_restored_exactly(source: &Path, restored: &Path, archive: &Path) -> usize {
    use std::os::unix::fs::PermissionsExt;
    let manifest = dotdir::archive::verify(archive).unwrap();
    for file in &manifest.files {
        let name = file.name();
        let (from, to) = (source.join(&name), restored.join(&name));
        let (original, copy) = (fs::read(&from).unwrap(), fs::read(&to).unwrap());
        if name.extension().is_some_and(|e| e == "jsonl") {
            // A log comes back up to its last complete line: a torn tail stays out.
            let tail = &original[copy.len().min(original.len())..];
            assert!(original.starts_with(&copy) && !tail.contains(&b'\n'), "{}", name.display());
            assert!(copy.is_empty() || copy.ends_with(b"\n"), "{}", name.display());
        } else {
            assert_eq!(original, copy, "{}", name.display());
        }
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        // The source's mode, tamed as every restore tames it: within the declared mode (a
        // private state file comes back 0600), never group- or world-writable.
        let layout = dotdir::LAYOUTS.iter().find(|l| l.name == manifest.layout).unwrap();
        let declared = layout.entry_for_path(&name).and_then(dotdir::Entry::write_mode);
        let expected = dotdir::archive::restored_mode(mode(&from), declared);
        assert_eq!(expected, mode(&to), "{}", name.display());
    }
    manifest.files.len()
}

#[test]
fn backup_and_restore_round_trip_byte_for_byte() {
    use std::os::unix::{ffi::OsStrExt, fs::PermissionsExt};
    let env = Env::new();
    for fixture in ["typical", "hazards"] {
        let (temp, dir) = crate::fixture(fixture);
        // Hostile and large contents: names that are not UTF-8 (two that a lossy name would
        // merge), a symlink, an empty file, 50 MB, a hard link to a secret, the agent's own notes.
        let downloads = dir.join("downloads");
        fs::create_dir_all(&downloads).unwrap();
        for byte in [0xe9u8, 0xe8] {
            let name = [b'a', byte, b'.', b't', b'x', b't'];
            fs::write(downloads.join(std::ffi::OsStr::from_bytes(&name)), [byte]).unwrap();
        }
        fs::write(downloads.join("empty.txt"), b"").unwrap();
        // 50 MB once; the second fixture keeps the suite short.
        let size = if fixture == "typical" { 50_000_000u32 } else { 1_000_000 };
        let block: Vec<u8> =
            (0..65_536u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
        let big = block.repeat(size as usize / block.len() + 1);
        fs::write(downloads.join("big.bin"), &big).unwrap();
        fs::set_permissions(downloads.join("big.bin"), fs::Permissions::from_mode(0o640)).unwrap();
        std::os::unix::fs::symlink("empty.txt", downloads.join("link.txt")).unwrap();
        fs::write(dir.join("state/token.json"), b"{\"token\": \"hard-link-canary\"}").unwrap();
        fs::create_dir_all(dir.join("memory")).unwrap();
        fs::hard_link(dir.join("state/token.json"), dir.join("memory/token-copy.json")).unwrap();
        fs::create_dir_all(dir.join("scratch")).unwrap();
        fs::write(dir.join("scratch/notes.txt"), b"the agent's own notes").unwrap();

        let archive = temp.path().join("b.tar.gz");
        let path = dir.to_str().unwrap();
        let output = env.run(&["backup", path, "--out", archive.to_str().unwrap()]);
        assert_eq!(code(&output), 0, "{fixture}: {}{}", stdout(&output), stderr(&output));
        assert!(
            stdout(&output).contains("not backed up:") && stdout(&output).contains("scratch"),
            "undeclared files stay out and are listed: {}",
            stdout(&output)
        );
        assert!(
            !String::from_utf8_lossy(&gunzip(&archive)).contains("the agent's own notes"),
            "{fixture}: an undeclared file was archived"
        );
        assert!(
            !String::from_utf8_lossy(&gunzip(&archive)).contains("hard-link-canary"),
            "{fixture}"
        );

        let verify = env.run(&["backup", "--verify", archive.to_str().unwrap()]);
        assert_eq!(code(&verify), 0, "{}", stderr(&verify));
        let restored = temp.path().join("restored");
        let output = env.run(&["restore", archive.to_str().unwrap(), restored.to_str().unwrap()]);
        assert_eq!(code(&output), 0, "{fixture}: {}{}", stdout(&output), stderr(&output));
        assert!(
            stdout(&output).contains("state/token.json"),
            "secrets listed: {}",
            stdout(&output)
        );
        let files = assert_restored_exactly(&dir, &restored, &archive);
        assert!(
            restored.join("downloads/big.bin").exists()
                && !restored.join("scratch/notes.txt").exists()
        );
        assert_eq!(
            fs::read_dir(restored.join("downloads")).unwrap().count(),
            4,
            "both non-UTF-8 names"
        );
        assert!(
            !restored.join("state/token.json").exists()
                && !restored.join("memory/token-copy.json").exists()
        );
        // The restored directory is as healthy as its source: `typical` is clean, and every
        // error in the restored `hazards` was already in the source.
        let errors = |dir: &Path| -> BTreeSet<(String, String)> {
            let document = json(&env.run(&["check", "--json", dir.to_str().unwrap()]));
            document["problems"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["severity"] == "error")
                .map(|p| {
                    (p["kind"].as_str().unwrap().to_owned(), p["path"].as_str().unwrap().to_owned())
                })
                .collect()
        };
        let (before, after) = (errors(&dir), errors(&restored));
        assert!(after.is_subset(&before), "{fixture}: new errors {:?}", after.difference(&before));
        if fixture == "typical" {
            assert_eq!(code(&env.run(&["check", restored.to_str().unwrap()])), 0);
        }
        println!("{fixture}: {files} files restored byte for byte");
    }
}

#[test]
fn backup_refuses_stdout_other_formats_and_a_tampered_archive_is_caught() {
    let (temp, dir) = crate::fixture("typical");
    let env = Env::new();
    let path = dir.to_str().unwrap();
    for (out, says) in [("-", "standard output"), ("x.zip", ".tar.gz")] {
        let output =
            env.command(&["backup", path, "--out", out]).current_dir(temp.path()).output().unwrap();
        assert_eq!(code(&output), 2, "{out}");
        assert!(stderr(&output).contains(says), "{out}: {}", stderr(&output));
        assert!(!temp.path().join(out).exists(), "{out} was created");
    }
    // A changed byte inside the compressed stream: verify and restore refuse, nothing restored.
    let archive = temp.path().join("b.tar.gz");
    assert_eq!(code(&env.run(&["backup", path, "--out", archive.to_str().unwrap()])), 0);
    let mut tar = gunzip(&archive);
    let at = tar.windows(5).position(|w| w == b"sess-").unwrap();
    tar[at] = b'X';
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut encoder, &tar).unwrap();
    fs::write(&archive, encoder.finish().unwrap()).unwrap();
    let verify = env.run(&["backup", "--verify", archive.to_str().unwrap()]);
    assert_eq!(code(&verify), 1, "a digest mismatch is a failed verification: {}", stderr(&verify));
    assert!(stderr(&verify).contains("does not verify"), "{}", stderr(&verify));
    assert!(stderr(&verify).contains("SHA-256"), "{}", stderr(&verify));
    let verify = env.run(&["backup", "--verify", archive.to_str().unwrap(), "--json"]);
    assert_eq!(code(&verify), 1, "{}", stdout(&verify));
    assert_eq!(json(&verify)["verified"], false);
    let target = temp.path().join("restored");
    assert_eq!(
        code(&env.run(&["restore", archive.to_str().unwrap(), target.to_str().unwrap()])),
        2
    );
    assert!(!target.exists());
}

#[test]
fn restore_needs_an_empty_directory_or_force_and_keeps_what_was_there() {
    let (temp, dir) = crate::fixture("typical");
    // A secret, which the backup leaves out.
    fs::write(dir.join("state/token.json"), b"{\"t\": 1}").unwrap();
    let env = Env::new();
    let archive = temp.path().join("b.tar.gz");
    assert_eq!(
        code(&env.run(&["backup", dir.to_str().unwrap(), "--out", archive.to_str().unwrap()])),
        0
    );
    let target = temp.path().join("t");
    fs::create_dir(&target).unwrap();
    fs::write(target.join("mine.txt"), b"precious").unwrap();
    let refused = env.run(&["restore", archive.to_str().unwrap(), target.to_str().unwrap()]);
    assert_eq!(code(&refused), 2);
    assert!(stderr(&refused).contains("--force"), "{}", stderr(&refused));
    assert_eq!(fs::read(target.join("mine.txt")).unwrap(), b"precious");
    // `t` is no ollim-bot directory: --force alone does not replace it.
    let misfit =
        env.run(&["restore", "--force", archive.to_str().unwrap(), target.to_str().unwrap()]);
    assert_eq!(code(&misfit), 2);
    assert!(stderr(&misfit).contains("--force --layout ollim-bot"), "{}", stderr(&misfit));
    assert_eq!(fs::read(target.join("mine.txt")).unwrap(), b"precious");
    assert!(!temp.path().join("t.before-restore-1").exists(), "nothing moved aside");
    let forced = env.run(&[
        "restore",
        "--force",
        "--layout",
        "ollim-bot",
        archive.to_str().unwrap(),
        target.to_str().unwrap(),
    ]);
    assert_eq!(code(&forced), 0, "{}", stderr(&forced));
    assert_eq!(fs::read(temp.path().join("t.before-restore-1/mine.txt")).unwrap(), b"precious");
    assert!(target.join("state/sessions.json").exists());
    // It says where the old directory went, and where the secrets it did not restore still are.
    let said = stdout(&forced);
    assert!(said.contains("kept at") && said.contains("t.before-restore-1"), "{said}");
    assert!(said.contains("copy them back from"), "{said}");
    // `check` keeps saying so until the person deletes it.
    let checked = env.run(&["check", "--json", target.to_str().unwrap()]);
    let found = crate::problems(&json(&checked));
    assert!(
        found.contains(&("previous-directory".to_owned(), "../t.before-restore-1".to_owned())),
        "{found:?}"
    );
    // Never over a directory whose application runs (its pid record names a live ollim-bot).
    let mut bot = std::process::Command::new("python3")
        .args(["-c", "import time; time.sleep(60)", "ollim-bot"])
        .spawn()
        .unwrap();
    fs::write(target.join("state/bot.pid"), bot.id().to_string()).unwrap();
    let live =
        env.run(&["restore", "--force", archive.to_str().unwrap(), target.to_str().unwrap()]);
    bot.kill().unwrap();
    bot.wait().unwrap();
    assert_eq!(code(&live), 2);
    assert!(stderr(&live).contains("running"), "{}", stderr(&live));
    assert!(!temp.path().join("t.before-restore-2").exists());
}

#[test]
fn an_error_prints_each_cause_once() {
    // Every error type keeps its cause in `source()`, never in its message too: the CLI's chain
    // names the OS error once ("… (os error 2): … (os error 2)" before).
    let env = Env::new();
    let temp = tempfile::tempdir().unwrap();
    let missing = temp.path().join("missing.tar.gz");
    let out = temp.path().join("out");
    for as_json in [false, true] {
        let mut args = vec!["restore", missing.to_str().unwrap(), out.to_str().unwrap()];
        if as_json {
            args.insert(0, "--json");
        }
        let output = env.run(&args);
        assert_eq!(code(&output), 2);
        let error = if as_json {
            json(&output)["error"].as_str().unwrap().to_owned()
        } else {
            stderr(&output)
        };
        assert_eq!(error.matches("No such file or directory").count(), 1, "{error}");
    }
}

#[test]
fn an_archive_that_cannot_be_read_exits_2_and_is_not_said_to_fail_verification() {
    use std::os::unix::fs::PermissionsExt;
    let temp = tempfile::tempdir().unwrap();
    let env = Env::new();
    let missing = temp.path().join("missing.tar.gz");
    let directory = temp.path().join("dir.tar.gz");
    fs::create_dir(&directory).unwrap();
    let mut cases = vec![(missing, "No such file"), (directory, "a directory")];
    // Root reads a file whatever its mode: the permission case only means something without it.
    let unreadable = temp.path().join("unreadable.tar.gz");
    fs::write(&unreadable, b"whatever").unwrap();
    fs::set_permissions(&unreadable, fs::Permissions::from_mode(0o000)).unwrap();
    if fs::File::open(&unreadable).is_err() {
        cases.push((unreadable, "Permission denied"));
    }
    for (archive, reason) in cases {
        let path = archive.to_str().unwrap();
        let verify = env.run(&["backup", "--verify", path]);
        assert_eq!(code(&verify), 2, "{path}: {}", stderr(&verify));
        assert!(
            stderr(&verify).contains(&format!("cannot read {path}: ")),
            "{path}: {}",
            stderr(&verify)
        );
        assert!(stderr(&verify).contains(reason), "{path}: {}", stderr(&verify));
        assert!(!stderr(&verify).contains("does not verify"), "{path}: {}", stderr(&verify));
        let verify = env.run(&["backup", "--verify", path, "--json"]);
        assert_eq!(code(&verify), 2, "{path}: {}", stdout(&verify));
        assert!(json(&verify)["error"].as_str().unwrap().contains("cannot read"), "{path}");
    }
}
