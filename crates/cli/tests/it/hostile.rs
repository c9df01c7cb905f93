//! Hostile archives through the command: a self-consistent `.tar.gz` (its manifest lists every
//! member with the right size, mode and SHA-256) that is a compression bomb. `restore` refuses
//! it before anything is written (exit code, message), and `backup --verify` refuses what
//! `restore` refuses (exit 1, "does not verify"). The engine's own tests
//! (`crates/engine/tests/it/archive.rs`) cover the other hostile members: `..`, absolute names,
//! `.git`, symbolic links, secrets, undeclared files, duplicates and unsafe modes.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use serde_json::json;

use crate::{Env, code, stderr, stdout};

/// One member: its name below the top folder, mode, content (`None`: a directory).
type Member<'a> = (&'a str, u32, Option<&'a [u8]>);

fn sha256_hex(bytes: &[u8]) -> String {
    // The system's sha256sum keeps this test free of a hashing dependency of its own.
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_owned()
}

/// Writes a `.tar.gz` of the ollim-bot layout holding `members` and a manifest that lists every
/// file exactly as it is.
fn archive(dir: &Path, name: &str, members: &[Member<'_>]) -> PathBuf {
    let path = dir.join(name);
    let file = fs::File::create(&path).unwrap();
    let encoder = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut builder = tar::Builder::new(encoder);
    let mut files = Vec::new();
    for (member, mode, content) in members {
        let mut header = tar::Header::new_gnu();
        header.set_mode(*mode);
        header.set_mtime(1_700_000_000);
        match content {
            None => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                builder
                    .append_data(&mut header, format!("ollim-bot/{member}/"), std::io::empty())
                    .unwrap();
            }
            Some(bytes) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(bytes.len() as u64);
                builder.append_data(&mut header, format!("ollim-bot/{member}"), *bytes).unwrap();
                files.push(json!({
                    "path": member, "size": bytes.len(), "mode": mode, "sha256": sha256_hex(bytes)
                }));
            }
        }
    }
    let manifest = serde_json::to_vec(&json!({
        "format": "dotdir-backup/1", "layout": "ollim-bot", "top": "ollim-bot",
        "files": files, "left_out": [],
    }))
    .unwrap();
    let mut header = tar::Header::new_gnu();
    header.set_mode(0o600);
    header.set_size(manifest.len() as u64);
    header.set_entry_type(tar::EntryType::Regular);
    builder.append_data(&mut header, "ollim-bot/.dotdir-backup.json", manifest.as_slice()).unwrap();
    builder.into_inner().unwrap().finish().unwrap();
    path
}

/// `restore` must refuse `members`, write nothing at the target, and `--verify` must refuse too.
fn assert_refused(members: &[Member<'_>], what: &str) {
    let temp = tempfile::tempdir().unwrap();
    let env = Env::new();
    let tar = archive(temp.path(), "hostile.tar.gz", members);
    let target = temp.path().join("restored/.ollim-bot");
    let output = env.run(&["restore", tar.to_str().unwrap(), target.to_str().unwrap()]);
    assert_ne!(code(&output), 0, "{what}: restored: {}{}", stdout(&output), stderr(&output));
    assert!(stderr(&output).contains(what), "{what}: {}", stderr(&output));
    assert!(!target.exists(), "{what}: the target was created");
    let leftovers: Vec<_> = fs::read_dir(target.parent().unwrap())
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "{what}: staging left behind: {leftovers:?}");
    let verify = env.run(&["backup", "--verify", tar.to_str().unwrap()]);
    assert_eq!(
        code(&verify),
        1,
        "{what}: --verify passed what restore refuses: {}",
        stderr(&verify)
    );
    assert!(stderr(&verify).contains("does not verify"), "{what}: {}", stderr(&verify));
}

#[test]
fn a_compression_bomb_is_refused_before_it_fills_the_disk() {
    let zeros = vec![0u8; 300 << 20];
    assert_refused(
        &[("downloads", 0o755, None), ("downloads/zeros.bin", 0o644, Some(&zeros))],
        "bomb",
    );
}
