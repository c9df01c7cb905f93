//! `backup` and `archive`: what a backup keeps (never a secret), a `.tar.gz` whose manifest
//! digests are verified, a restore that keeps modes (tamed) and refuses a non-empty target, and
//! hostile archives — `..`, absolute names, `.git`, symbolic links, secrets, undeclared files,
//! duplicates, a tampered byte — refused before anything is written.

use std::{
    fs,
    io::{Read, Write},
    path::{Path, PathBuf},
};

use dotdir_engine::{
    Backup, Entry, Error, Format, Layout, archive, backup,
    check::{self, Options},
};

use crate::{
    check::APP,
    support::{chmod, mode, write},
};

/// An ollim-bot-like layout for backups: a secret, private state, routines, a log, a cache.
const BOT: Layout = Layout::new(
    "bot",
    "an ollim-bot-like layout",
    &[
        Entry::dir("state", "state").private(),
        Entry::file("state/token.json", Format::Json, "an OAuth token").secret(),
        Entry::file("state/config.json", Format::Json, "settings").private().untracked(),
        Entry::file("state/history.jsonl", Format::Jsonl, "the history").untracked(),
        Entry::file("state/bot.pid", Format::PidRecord, "its pid").backup(Backup::Ephemeral),
        Entry::dir("routines", "routines"),
        Entry::file("routines/*.md", Format::Spec, "a routine"),
        Entry::dir("downloads", "downloads"),
        Entry::file("downloads/*", Format::Opaque, "a download"),
        Entry::dir("cache", "a cache").backup(Backup::Recreatable).untracked(),
    ],
);

const ROUTINE: &[u8] = b"---\nid: r1\ncron: \"0 8 * * *\"\n---\nhello\n";
const CANARY: &[u8] = b"secret-canary-4242";

/// A bot directory at `<tmp>/bot` with a secret, private state, a routine, a log with a torn
/// tail, an executable download and a cache.
fn bot_dir(tmp: &Path) -> PathBuf {
    let root = tmp.join("bot");
    write(&root, "state/token.json", &[b"\"", CANARY, b"\""].concat());
    chmod(&root, "state/token.json", 0o600);
    write(&root, "state/config.json", b"{\"tz\": \"UTC\"}");
    chmod(&root, "state/config.json", 0o600);
    write(&root, "state/history.jsonl", b"{\"a\":1}\n{\"torn\":");
    write(&root, "state/bot.pid", b"1\n");
    write(&root, "routines/a.md", ROUTINE);
    chmod(&root, "routines/a.md", 0o640);
    write(&root, "downloads/run.sh", b"#!/bin/sh\n");
    chmod(&root, "downloads/run.sh", 0o750);
    write(&root, "cache/blob", b"re-creatable");
    root
}

fn gunzip(archive: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(fs::File::open(archive).unwrap()).read_to_end(&mut bytes).unwrap();
    bytes
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Backs `root` up to `<tmp>/b.tar.gz`.
fn back_up(root: &Path, tmp: &Path) -> (PathBuf, archive::Archived) {
    let out = tmp.join("b.tar.gz");
    let written =
        archive::write(&backup::select(root, &BOT).unwrap(), &out, false, &mut |_| {}).unwrap();
    (out, written)
}

#[test]
fn backup_never_takes_a_secret_even_when_a_general_entry_matches_first() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "data/a.json", b"{}");
    write(dir.path(), "data/api-key.json", b"\"k\"");
    write(dir.path(), "vault/x", b"s");
    write(dir.path(), "cache/blob", b"c");
    write(dir.path(), "stray", b"?");
    let selection = backup::select(dir.path(), &APP).unwrap();
    let files: Vec<&str> = selection.files.iter().map(|f| f.relative.as_str()).collect();
    // Deny by default: a path the layout does not know stays out, listed as undeclared.
    assert_eq!(files, ["data/a.json"]);
    let skipped: Vec<(&str, &str)> =
        selection.skipped.iter().map(|s| (s.relative.as_str(), s.reason.label())).collect();
    assert_eq!(
        skipped,
        [
            ("cache", "re-creatable"),
            ("data/api-key.json", "secret"),
            ("stray", "undeclared"),
            ("vault", "secret")
        ]
    );
}

#[test]
fn a_backup_round_trips_without_its_secrets_keeping_modes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = bot_dir(tmp.path());
    let (out, written) = back_up(&root, tmp.path());
    assert_eq!(mode(&out), 0o600, "an archive is private from creation");
    let names: Vec<String> = written.manifest.files.iter().map(|f| f.path.clone()).collect();
    assert_eq!(
        names,
        ["downloads/run.sh", "routines/a.md", "state/config.json", "state/history.jsonl"]
    );
    assert_eq!(written.torn, [("state/history.jsonl".to_owned(), 8)], "the torn tail stays out");
    let left_out: Vec<(&str, &str)> =
        written.manifest.left_out.iter().map(|l| (l.path.as_str(), l.reason.as_str())).collect();
    assert!(left_out.contains(&("state/token.json", "secret")), "{left_out:?}");
    assert!(!contains(&gunzip(&out), CANARY), "no secret's bytes in the archive");
    assert!(!contains(&gunzip(&out), b"state/token.json\0"), "nor its name as a member");
    let manifest = archive::verify(&out).unwrap();
    assert_eq!(manifest, written.manifest);
    assert_eq!(manifest.layout, "bot");

    let target = tmp.path().join("restored/bot");
    let restored = archive::restore(&out, &target, &BOT, &Options::default(), false).unwrap();
    assert_eq!((restored.files, restored.moved_aside.as_ref()), (4, None));
    assert_eq!(restored.secrets, ["state/token.json"], "to re-create: never archived");
    assert!(!target.join("state/token.json").exists());
    assert!(!target.join("cache").exists() && !target.join("state/bot.pid").exists());
    for name in ["routines/a.md", "state/config.json", "downloads/run.sh"] {
        assert_eq!(fs::read(target.join(name)).unwrap(), fs::read(root.join(name)).unwrap());
    }
    assert_eq!(fs::read(target.join("state/history.jsonl")).unwrap(), b"{\"a\":1}\n");
    assert_eq!(mode(&target.join("routines/a.md")), 0o640);
    assert_eq!(mode(&target.join("downloads/run.sh")), 0o750, "an executable stays one");
    assert_eq!(mode(&target.join("state/config.json")), 0o600);
    assert_eq!(mode(&target.join("state")), 0o700, "a private directory");
    let problems = check::check(&target, &BOT, &Options::default()).unwrap().problems;
    assert_eq!(problems, vec![], "a restored directory checks clean");
}

#[test]
fn a_hard_link_to_a_secret_stays_out() {
    let tmp = tempfile::tempdir().unwrap();
    let root = bot_dir(tmp.path());
    fs::hard_link(root.join("state/token.json"), root.join("downloads/token-copy")).unwrap();
    let (out, written) = back_up(&root, tmp.path());
    assert!(!written.manifest.files.iter().any(|f| f.path == "downloads/token-copy"));
    assert!(!contains(&gunzip(&out), CANARY));
}

#[test]
fn an_existing_archive_is_replaced_only_when_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let root = bot_dir(tmp.path());
    let out = tmp.path().join("b.tar.gz");
    fs::write(&out, b"an older archive").unwrap();
    let selection = backup::select(&root, &BOT).unwrap();
    assert!(archive::write(&selection, &out, false, &mut |_| {}).is_err());
    assert_eq!(fs::read(&out).unwrap(), b"an older archive");
    let _ = archive::write(&selection, &out, true, &mut |_| {}).unwrap();
    assert_eq!(archive::verify(&out).unwrap().files.len(), 4);
}

#[test]
fn a_tampered_archive_is_refused_by_verify_and_restore() {
    let tmp = tempfile::tempdir().unwrap();
    let root = bot_dir(tmp.path());
    let (out, _) = back_up(&root, tmp.path());
    let mut tar = gunzip(&out);
    let at = tar.windows(5).position(|w| w == b"hello").unwrap();
    tar[at] = b'J';
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&tar).unwrap();
    fs::write(&out, encoder.finish().unwrap()).unwrap();
    let error = archive::verify(&out).unwrap_err();
    assert!(error.to_string().contains("routines/a.md"), "{error}");
    assert!(error.to_string().contains("SHA-256"), "{error}");
    let target = tmp.path().join("restored");
    assert!(archive::restore(&out, &target, &BOT, &Options::default(), false).is_err());
    assert!(!target.exists(), "nothing restored");
    // Not a gzip at all, and no manifest: refused too.
    fs::write(&out, b"not an archive").unwrap();
    assert!(matches!(archive::verify(&out), Err(Error::Archive { .. })));
}

#[test]
fn restore_refuses_a_non_empty_directory_and_another_layouts_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let root = bot_dir(tmp.path());
    let (out, _) = back_up(&root, tmp.path());
    let target = tmp.path().join("t");
    fs::create_dir(&target).unwrap();
    fs::write(target.join("mine.txt"), b"precious").unwrap();
    let error = archive::restore(&out, &target, &BOT, &Options::default(), false).unwrap_err();
    assert!(matches!(error, Error::Archive { .. }), "{error:?}");
    assert_eq!(fs::read_dir(&target).unwrap().count(), 1);
    assert_eq!(fs::read(target.join("mine.txt")).unwrap(), b"precious");
    // The archive of one layout is not restored as another's.
    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let error = archive::restore(&out, &empty, &APP, &Options::default(), false).unwrap_err();
    assert!(error.to_string().contains("bot layout"), "{error}");
    assert_eq!(fs::read_dir(&empty).unwrap().count(), 0);
    // An empty directory is fine.
    let _ = archive::restore(&out, &empty, &BOT, &Options::default(), false).unwrap();
    assert_eq!(fs::read(empty.join("routines/a.md")).unwrap(), ROUTINE);
}

#[test]
fn restored_modes_never_add_a_permission() {
    assert_eq!(archive::restored_mode(0o4755, None), 0o755, "no setuid");
    assert_eq!(archive::restored_mode(0o2666, None), 0o644, "no setgid, no group or world write");
    assert_eq!(archive::restored_mode(0o1777, None), 0o755, "no sticky bit");
    assert_eq!(archive::restored_mode(0o644, Some(0o600)), 0o600, "within the declared mode");
    assert_eq!(archive::restored_mode(0o640, None), 0o640);
}

/// One member of a hand-built archive.
enum Member<'a> {
    /// A regular file: its raw name (the top folder included), mode and content; the
    /// manifest lists it under its name below the top folder.
    File(&'a [u8], u32, &'a [u8]),
    /// A directory.
    Dir(&'a [u8], u32),
    /// A symbolic link to a target.
    Symlink(&'a [u8], &'a str),
}

/// SHA-256 of `bytes`, lowercase hex, by the system's `sha256sum` (no hashing dependency of the
/// tests' own).
fn sha256_hex(bytes: &[u8]) -> String {
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_owned()
}

/// Writes a `.tar.gz` at `path` for the layout `layout` with top folder `top`: every member
/// with its raw name (no `..` or absolute check: the header's name bytes are set directly),
/// then a manifest that lists every regular file exactly as it is (its name below `top/`).
fn hostile_archive(path: &Path, layout: &str, top: &str, members: &[Member<'_>]) {
    let file = fs::File::create(path).unwrap();
    let encoder = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut builder = tar::Builder::new(encoder);
    let mut files = Vec::new();
    let raw_header = |name: &[u8], kind: tar::EntryType, mode: u32, size: u64| {
        let mut header = tar::Header::new_old();
        header.as_old_mut().name[..name.len()].copy_from_slice(name);
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_size(size);
        header.set_mtime(1_700_000_000);
        header.set_cksum();
        header
    };
    for member in members {
        match member {
            Member::File(name, mode, content) => {
                let header = raw_header(name, tar::EntryType::Regular, *mode, content.len() as u64);
                builder.append(&header, *content).unwrap();
                let listed = String::from_utf8_lossy(name);
                let listed = listed.strip_prefix(&format!("{top}/")).unwrap_or(&listed);
                files.push(serde_json::json!({
                    "path": listed, "size": content.len(), "mode": mode,
                    "sha256": sha256_hex(content),
                }));
            }
            Member::Dir(name, mode) => {
                let header = raw_header(name, tar::EntryType::Directory, *mode, 0);
                builder.append(&header, std::io::empty()).unwrap();
            }
            Member::Symlink(name, target) => {
                let mut header = raw_header(name, tar::EntryType::Symlink, 0o777, 0);
                header.set_link_name(target).unwrap();
                header.set_cksum();
                builder.append(&header, std::io::empty()).unwrap();
            }
        }
    }
    let manifest = serde_json::to_vec(&serde_json::json!({
        "format": "dotdir-backup/1", "layout": layout, "top": top,
        "files": files, "left_out": [],
    }))
    .unwrap();
    let name = format!("{top}/{}", dotdir_engine::archive::MANIFEST);
    let header = raw_header(name.as_bytes(), tar::EntryType::Regular, 0o600, manifest.len() as u64);
    builder.append(&header, manifest.as_slice()).unwrap();
    builder.into_inner().unwrap().finish().unwrap();
}

/// `members` (after the `bot/` folder and a routine) as an archive: verify and restore refuse
/// it with an error that says `what`, and nothing is written at the target or beside it.
fn assert_refused(members: &[Member<'_>], what: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("hostile.tar.gz");
    let mut all = vec![
        Member::Dir(b"bot/", 0o755),
        Member::Dir(b"bot/routines/", 0o755),
        Member::File(b"bot/routines/a.md", 0o644, ROUTINE),
    ];
    all.extend(members.iter().map(|m| match m {
        Member::File(n, mode, c) => Member::File(n, *mode, c),
        Member::Dir(n, mode) => Member::Dir(n, *mode),
        Member::Symlink(n, t) => Member::Symlink(n, t),
    }));
    hostile_archive(&out, "bot", "bot", &all);
    let target = tmp.path().join("restored/bot");
    let error = archive::restore(&out, &target, &BOT, &Options::default(), false).unwrap_err();
    assert!(error.to_string().contains(what), "{what}: {error}");
    assert!(!target.exists(), "{what}: the target was created");
    let beside: Vec<_> = fs::read_dir(tmp.path().join("restored"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(beside.is_empty(), "{what}: staging left behind: {beside:?}");
    assert!(!tmp.path().join("escaped").exists() && !Path::new("/escaped-by-dotdir").exists());
    // What restore refuses, verify (with the layout's rules) refuses too.
    let verified =
        archive::verify(&out).and_then(|manifest| archive::check_members(&out, &manifest, &BOT));
    assert!(verified.is_err(), "{what}: verified");
}

#[test]
fn a_well_formed_hand_built_archive_restores() {
    // The control: the same builder, no hostile member, restores.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("ok.tar.gz");
    hostile_archive(
        &out,
        "bot",
        "bot",
        &[
            Member::Dir(b"bot/", 0o755),
            Member::Dir(b"bot/routines/", 0o755),
            Member::File(b"bot/routines/a.md", 0o644, ROUTINE),
        ],
    );
    let target = tmp.path().join("restored/bot");
    let _ = archive::restore(&out, &target, &BOT, &Options::default(), false).unwrap();
    assert_eq!(fs::read(target.join("routines/a.md")).unwrap(), ROUTINE);
}

#[test]
fn a_member_with_dotdot_or_an_absolute_name_is_refused() {
    assert_refused(&[Member::File(b"bot/../escaped", 0o644, b"x")], "unsafe name");
    assert_refused(&[Member::File(b"bot/routines/../../escaped", 0o644, b"x")], "unsafe name");
    assert_refused(&[Member::File(b"/escaped-by-dotdir", 0o644, b"x")], "unsafe name");
}

#[test]
fn a_git_directory_or_file_in_an_archive_is_refused() {
    assert_refused(
        &[Member::File(b"bot/.git/hooks/pre-push", 0o755, b"#!/bin/sh\ntouch /tmp/hook\n")],
        ".git",
    );
    assert_refused(&[Member::File(b"bot/.git", 0o644, b"gitdir: /tmp/elsewhere\n")], ".git");
    assert_refused(&[Member::File(b"bot/.GIT/config", 0o644, b"[core]\n")], ".GIT");
}

#[test]
fn a_symbolic_link_member_is_refused() {
    assert_refused(&[Member::Symlink(b"bot/downloads/link", "/etc/passwd")], "Symlink");
    assert_refused(&[Member::Symlink(b"bot/state", "/tmp")], "only files and directories");
}

#[test]
fn secrets_undeclared_files_and_duplicates_are_refused() {
    assert_refused(&[Member::File(b"bot/state/token.json", 0o600, b"\"x\"")], "secret");
    assert_refused(&[Member::File(b"bot/.env", 0o644, b"KEY=x\n")], "not declared");
    assert_refused(&[Member::File(b"bot/routines/a.md", 0o644, b"evil")], "twice");
    assert_refused(&[Member::File(b"other/routines/b.md", 0o644, ROUTINE)], "top-level");
}

#[test]
fn unsafe_modes_in_an_archive_are_tamed() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("modes.tar.gz");
    hostile_archive(
        &out,
        "bot",
        "bot",
        &[
            Member::Dir(b"bot/", 0o755),
            Member::Dir(b"bot/routines/", 0o1777),
            Member::File(b"bot/routines/setuid.md", 0o4755, ROUTINE),
            Member::File(b"bot/routines/shared.md", 0o666, ROUTINE),
            Member::Dir(b"bot/state/", 0o777),
            Member::File(b"bot/state/history.jsonl", 0o2666, b""),
            Member::File(b"bot/state/config.json", 0o644, b"{}"),
        ],
    );
    let target = tmp.path().join("restored/bot");
    let _ = archive::restore(&out, &target, &BOT, &Options::default(), false).unwrap();
    let at = |rel: &str| mode(&target.join(rel));
    assert_eq!(
        (at("routines"), at("routines/setuid.md"), at("routines/shared.md")),
        (0o755, 0o755, 0o644)
    );
    assert_eq!(at("state"), 0o700, "a private directory");
    assert_eq!(at("state/history.jsonl"), 0o644);
    assert_eq!(at("state/config.json"), 0o600, "a private file");
}
