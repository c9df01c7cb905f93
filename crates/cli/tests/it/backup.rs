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

fn archive_paths(archive: &Path) -> BTreeSet<String> {
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(fs::File::open(archive).unwrap()));
    tar.entries()
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.header().entry_type() == tar::EntryType::Regular)
        .map(|e| e.path().unwrap().to_string_lossy().into_owned())
        .collect()
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
        let listed: BTreeSet<String> = listed["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap().to_owned())
            .collect();
        assert!(!listed.is_empty());
        assert_eq!(archive_paths(&archive), listed, "{name}");

        // Restored, it is a directory `check` finds clean.
        let restored = temp.path().join(format!("restored-{name}"));
        fs::create_dir(&restored).unwrap();
        tar::Archive::new(flate2::read::GzDecoder::new(fs::File::open(&archive).unwrap()))
            .unpack(&restored)
            .unwrap();
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
    let files: Vec<&str> =
        document["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
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
    let output = crate::dotdir(&["backup", dir.to_str().unwrap(), "--out", out.to_str().unwrap()]);
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
