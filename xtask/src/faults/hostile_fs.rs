//! `cargo xtask hostile`, second half: hostile archives, hostile repositories and special files.
//!
//! **Archives.** Each `.tar.gz` is built here with the `tar` crate, header bytes written raw (so
//! `..`, absolute, non-UTF-8 and control-character names go in as given), with a manifest that
//! agrees with it (SHA-256 per regular member): every member kind, hostile names and modes, a
//! secret, undeclared members, and bombs (more members than the bound, which the harness lowers
//! to 1,000 through `DOTDIR_ARCHIVE_MAX_MEMBERS`; a member of 2 GiB of zeros, far past
//! `RATIO_GRACE_BYTES`). A child (`xtask hostile-child archive`) runs `archive::verify`,
//! `check_members` and `restore` into a fresh directory under a scratch root; the harness then
//! judges the scratch root: the case must be refused (or tamed, for what a restore may hold),
//! nothing outside the target may change (a canary file, its link count, every other path), no
//! mode with setuid, setgid, sticky or group/world write, no `.git`, no symlink, FIFO or device,
//! no secret, no staging directory left. Negative control: `tar::Archive::unpack` with
//! permissions preserved on the same inputs (bombs: read to the end without a bound), judged the
//! same way, must show violations in every class.
//!
//! **Repositories.** With plain `git`: a tracked symlink pointing out of the directory, a `.git`
//! file (`gitdir:` another repository), a nested `.gitignore` negation that un-ignores
//! `state/credentials.json`. Each is opened with the ollim-bot layout's journal and checked by
//! the engine: nothing is read or written through the link or into the other repository, and
//! the un-ignored secret is `unignored-secret` and never committed. Negative controls: plain
//! `git` commits into the other repository and tracks the secret; a plain read follows the link.
//!
//! **Special files.** A FIFO at every path a command reads; `check`, `fix`, `inspect` and
//! `backup` (selection and write) each run in a child killed after 20 s: none may hang, and
//! `check` must report `special-file`. Negative control: a plain blocking `File::open` on the
//! FIFO does block.

use dotdir_test_support::try_git;
use std::{
    collections::BTreeMap,
    fs,
    io::{self, Read},
    os::unix::{
        ffi::OsStrExt,
        fs::{FileTypeExt, MetadataExt, PermissionsExt, symlink},
    },
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use dotdir::{archive, check, git_journal::Journal, ollim};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::{child, scratch::tmpfs};

/// The lowered member bound the harness restores under.
const MEMBER_BOUND: u64 = 1000;
/// The size of the zero member: past the ratio grace (256 MiB) and far enough past it that the
/// compressed bytes read ahead no longer hide the ratio.
const ZEROS: u64 = 2 << 30;
/// The longest a command may take on a directory holding a FIFO.
const SPECIAL_BOUND: Duration = Duration::from_secs(20);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    Refuse,
    Tame,
}

#[derive(Clone)]
enum Kind {
    File(Vec<u8>),
    Zeros(u64),
    Dir,
    Symlink(Vec<u8>),
    Hardlink(Vec<u8>),
    Fifo,
    Char,
    Block,
}

#[derive(Clone)]
struct Member {
    /// The whole name in the archive, raw.
    name: Vec<u8>,
    kind: Kind,
    mode: u32,
    /// Listed in the manifest (regular members only).
    manifested: bool,
}

fn member(name: &[u8], kind: Kind, mode: u32) -> Member {
    Member { name: name.to_vec(), kind, mode, manifested: true }
}

fn top(rel: &str) -> Vec<u8> {
    format!("ollim-bot/{rel}").into_bytes()
}

struct ArchiveCase {
    class: &'static str,
    name: &'static str,
    expect: Expect,
    /// The hostile members, given the case directory (for absolute names and link targets).
    members: fn(&Path) -> Vec<Member>,
    bomb: bool,
}

const SPEC: &str = "---\nid: \"a1b2c3d4\"\ncron: \"30 8 * * *\"\n---\nMorning check-in\n";

fn base() -> Vec<Member> {
    vec![
        member(&top("routines"), Kind::Dir, 0o755),
        member(&top("routines/morning.md"), Kind::File(SPEC.into()), 0o644),
        member(&top("state"), Kind::Dir, 0o700),
        member(&top("state/config.json"), Kind::File(b"{}\n".to_vec()), 0o600),
    ]
}

fn canary(case: &Path) -> PathBuf {
    case.join("canary/file")
}

fn bytes(path: &Path) -> Vec<u8> {
    path.as_os_str().as_bytes().to_vec()
}

fn archive_cases() -> Vec<ArchiveCase> {
    use Expect::*;
    macro_rules! case {
        ($class:literal, $name:literal, $expect:expr, $members:expr) => {
            ArchiveCase {
                class: $class,
                name: $name,
                expect: $expect,
                members: $members,
                bomb: false,
            }
        };
    }
    vec![
        case!("kind", "symlink pointing out", Refuse, |c| vec![member(
            &top("routines/evil.md"),
            Kind::Symlink(bytes(&canary(c))),
            0o777
        )]),
        case!("kind", "symlinked directory, then a file through it", Refuse, |c| vec![
            member(&top("skills/x"), Kind::Symlink(bytes(&c.join("canary"))), 0o777),
            member(&top("skills/x/SKILL.md"), Kind::File(b"through".to_vec()), 0o644),
        ]),
        case!("kind", "hard link to an absolute path outside", Refuse, |c| vec![member(
            &top("routines/hl.md"),
            Kind::Hardlink(bytes(&canary(c))),
            0o644
        )]),
        case!("kind", "hard link to ../ outside", Refuse, |_| vec![member(
            &top("routines/hl.md"),
            Kind::Hardlink(b"../canary/file".to_vec()),
            0o644
        )]),
        case!("kind", "FIFO", Refuse, |_| vec![member(
            &top("routines/fifo.md"),
            Kind::Fifo,
            0o644
        )]),
        case!("kind", "character device", Refuse, |_| vec![member(
            &top("routines/null.md"),
            Kind::Char,
            0o666
        )]),
        case!("kind", "block device", Refuse, |_| vec![member(
            &top("routines/loop.md"),
            Kind::Block,
            0o660
        )]),
        case!("kind", "directory (0777)", Tame, |_| vec![member(
            &top("reminders"),
            Kind::Dir,
            0o777
        )]),
        case!("kind", "regular file", Tame, |_| vec![member(
            &top("reminders/r.md"),
            Kind::File(SPEC.into()),
            0o644
        )]),
        case!("name", "`..` out of the top folder", Refuse, |_| vec![member(
            b"ollim-bot/../../escape.md",
            Kind::File(b"escaped".to_vec()),
            0o644
        )]),
        case!("name", "absolute name", Refuse, |c| vec![member(
            &bytes(&c.join("abs-escape.md")),
            Kind::File(b"escaped".to_vec()),
            0o644
        )]),
        case!("name", "duplicate name", Refuse, |_| vec![member(
            &top("routines/morning.md"),
            Kind::File(b"second".to_vec()),
            0o644
        )]),
        case!("name", ".git/hooks/pre-push", Refuse, |_| vec![member(
            &top(".git/hooks/pre-push"),
            Kind::File(b"#!/bin/sh\ntouch /tmp/pwned\n".to_vec()),
            0o755
        )]),
        case!("name", ".git file (gitdir:)", Refuse, |c| vec![member(
            &top(".git"),
            Kind::File(format!("gitdir: {}\n", c.join("canary").display()).into_bytes()),
            0o644
        )]),
        case!("name", "non-UTF-8 name", Tame, |_| vec![member(
            b"ollim-bot/routines/\xff\xfe.md",
            Kind::File(SPEC.into()),
            0o644
        )]),
        case!("name", "control characters", Tame, |_| vec![member(
            b"ollim-bot/routines/\x1b[2J\r\n\x07.md",
            Kind::File(SPEC.into()),
            0o644
        )]),
        case!("mode", "setuid", Tame, |_| vec![member(
            &top("routines/suid.md"),
            Kind::File(SPEC.into()),
            0o4755
        )]),
        case!("mode", "setgid", Tame, |_| vec![member(
            &top("routines/sgid.md"),
            Kind::File(SPEC.into()),
            0o2755
        )]),
        case!("mode", "sticky directory", Tame, |_| vec![member(
            &top("reminders"),
            Kind::Dir,
            0o1777
        )]),
        case!("mode", "0666 file", Tame, |_| vec![member(
            &top("routines/rw.md"),
            Kind::File(SPEC.into()),
            0o666
        )]),
        case!("mode", "0777 file", Tame, |_| vec![member(
            &top("routines/rwx.md"),
            Kind::File(SPEC.into()),
            0o777
        )]),
        case!("member", "a secret (state/token.json)", Refuse, |_| vec![member(
            &top("state/token.json"),
            Kind::File(b"{\"token\": \"s3cr3t\"}".to_vec()),
            0o600
        )]),
        case!("member", "undeclared, in the manifest", Refuse, |_| vec![member(
            &top("evil.sh"),
            Kind::File(b"#!/bin/sh\n".to_vec()),
            0o755
        )]),
        case!("member", "declared, missing from the manifest", Refuse, |_| vec![Member {
            manifested: false,
            ..member(&top("routines/extra.md"), Kind::File(SPEC.into()), 0o644)
        }]),
        ArchiveCase {
            class: "bomb",
            name: "more members than the bound",
            expect: Refuse,
            members: |_| {
                (0..=MEMBER_BOUND)
                    .map(|i| {
                        member(&top(&format!("routines/m{i}.md")), Kind::File(Vec::new()), 0o644)
                    })
                    .collect()
            },
            bomb: true,
        },
        ArchiveCase {
            class: "bomb",
            name: "2 GiB of zeros (ratio past the grace)",
            expect: Refuse,
            members: |_| vec![member(&top("routines/zeros.md"), Kind::Zeros(ZEROS), 0o644)],
            bomb: true,
        },
    ]
}

/// Writes the archive of `members` (after the base ones) and its manifest at `path`.
fn build_archive(path: &Path, members: &[Member]) -> Result<()> {
    let level = if members.iter().any(|m| matches!(m.kind, Kind::Zeros(_))) {
        flate2::Compression::best()
    } else {
        flate2::Compression::fast()
    };
    let file = fs::File::create(path)?;
    let mut builder =
        tar::Builder::new(flate2::write::GzEncoder::new(io::BufWriter::new(file), level));
    let mut files = Vec::new();
    for m in members {
        let mut header = tar::Header::new_gnu();
        let (entry, size) = match &m.kind {
            Kind::File(data) => (tar::EntryType::Regular, data.len() as u64),
            Kind::Zeros(n) => (tar::EntryType::Regular, *n),
            Kind::Dir => (tar::EntryType::Directory, 0),
            Kind::Symlink(_) => (tar::EntryType::Symlink, 0),
            Kind::Hardlink(_) => (tar::EntryType::Link, 0),
            Kind::Fifo => (tar::EntryType::Fifo, 0),
            Kind::Char => (tar::EntryType::Char, 0),
            Kind::Block => (tar::EntryType::Block, 0),
        };
        header.set_entry_type(entry);
        header.set_mode(m.mode);
        header.set_size(size);
        header.set_mtime(1_700_000_000);
        header.set_uid(0);
        header.set_gid(0);
        if matches!(m.kind, Kind::Char) {
            header.set_device_major(1)?;
            header.set_device_minor(3)?;
        }
        if matches!(m.kind, Kind::Block) {
            header.set_device_major(7)?;
            header.set_device_minor(0)?;
        }
        if m.name.len() > 100 {
            bail!("name too long for a raw header");
        }
        let raw = header.as_mut_bytes();
        raw[..100].fill(0);
        raw[..m.name.len()].copy_from_slice(&m.name);
        if let Kind::Symlink(target) | Kind::Hardlink(target) = &m.kind {
            raw[157..257].fill(0);
            raw[157..157 + target.len()].copy_from_slice(target);
        }
        header.set_cksum();
        let content: Box<dyn Read> = match &m.kind {
            Kind::File(data) => Box::new(io::Cursor::new(data.clone())),
            Kind::Zeros(n) => Box::new(io::repeat(0).take(*n)),
            _ => Box::new(io::empty()),
        };
        builder.append(&header, content)?;
        if m.manifested && matches!(m.kind, Kind::File(_) | Kind::Zeros(_)) {
            let mut hasher = Sha256::new();
            match &m.kind {
                Kind::File(data) => hasher.update(data),
                Kind::Zeros(n) => {
                    let block = vec![0u8; 1 << 20];
                    let mut left = *n;
                    while left > 0 {
                        let take = left.min(block.len() as u64) as usize;
                        hasher.update(&block[..take]);
                        left -= take as u64;
                    }
                }
                _ => {}
            }
            let rel = m.name.strip_prefix(b"ollim-bot/").unwrap_or(&m.name);
            let utf8 = std::str::from_utf8(rel).is_ok();
            let mut file = json!({
                "path": String::from_utf8_lossy(rel),
                "size": size,
                "mode": m.mode & 0o7777,
                "sha256": hex(&hasher.finalize()),
            });
            if !utf8 {
                file["path_hex"] = json!(hex(rel));
            }
            files.push(file);
        }
    }
    let manifest = serde_json::to_vec_pretty(&json!({
        "format": "dotdir-backup/1",
        "layout": "ollim-bot",
        "top": "ollim-bot",
        "files": files,
        "left_out": [],
    }))?;
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(0o600);
    header.set_size(manifest.len() as u64);
    builder.append_data(&mut header, format!("ollim-bot/{}", archive::MANIFEST), &manifest[..])?;
    builder.into_inner()?.finish()?.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every path under `dir` (not followed) with what identifies it, `skip` and below left out.
fn snapshot(dir: &Path, skip: &Path) -> BTreeMap<PathBuf, (u32, u64, u64, u64)> {
    let mut out = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = fs::read_dir(&current) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path == skip {
                continue;
            }
            let Ok(meta) = fs::symlink_metadata(&path) else { continue };
            if meta.is_dir() {
                pending.push(path.clone());
            }
            out.insert(path, (meta.mode(), meta.len(), meta.nlink(), meta.ino()));
        }
    }
    out
}

/// What is wrong in `target` after an extraction, and whether anything outside it changed.
fn judge(
    case: &Path,
    target: &Path,
    before: &BTreeMap<PathBuf, (u32, u64, u64, u64)>,
) -> Vec<String> {
    let mut found = Vec::new();
    let after = snapshot(case, target);
    for (path, was) in before {
        match after.get(path) {
            Some(now) if now == was => {}
            Some(_) => found.push(format!("changed outside the target: {}", path.display())),
            None => found.push(format!("removed outside the target: {}", path.display())),
        }
    }
    for path in after.keys().filter(|p| !before.contains_key(*p)) {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.ends_with(".dotdir-restore") {
            found.push(format!("staging left: {}", path.display()));
        } else {
            found.push(format!("written outside the target: {}", path.display()));
        }
    }
    let mut pending = vec![target.to_path_buf()];
    let mut members = 0u64;
    while let Some(current) = pending.pop() {
        let Ok(entries) = fs::read_dir(&current) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = fs::symlink_metadata(&path) else { continue };
            members += 1;
            let rel = path.strip_prefix(target).unwrap_or(&path).to_path_buf();
            let kind = meta.file_type();
            if rel.components().any(|c| c.as_os_str().eq_ignore_ascii_case(".git")) {
                found.push(format!(".git created: {}", rel.display()));
            }
            if kind.is_symlink() {
                found.push(format!(
                    "symlink created: {} -> {:?}",
                    rel.display(),
                    fs::read_link(&path).ok()
                ));
                continue;
            }
            if kind.is_fifo() || kind.is_char_device() || kind.is_block_device() || kind.is_socket()
            {
                found.push(format!("special file created: {}", rel.display()));
            }
            if meta.mode() & 0o7022 != 0 {
                found.push(format!("unsafe mode {:04o}: {}", meta.mode() & 0o7777, rel.display()));
            }
            if kind.is_file() && meta.nlink() > 1 {
                found.push(format!("hard link created: {}", rel.display()));
            }
            if rel.ends_with("state/token.json") {
                found.push(format!("secret written: {}", rel.display()));
            }
            if meta.is_dir() {
                pending.push(path);
            }
        }
    }
    if members > MEMBER_BOUND {
        found.push(format!("{members} members created (bound {MEMBER_BOUND})"));
    }
    found
}

#[derive(Default)]
struct ClassTally {
    inputs: usize,
    refused: usize,
    tamed: usize,
    escapes: usize,
    naive: usize,
}

fn archives(violations: &mut Vec<String>) -> Result<()> {
    let scratch = tmpfs()?;
    let mut tallies: BTreeMap<&str, ClassTally> = BTreeMap::new();
    let started = Instant::now();
    for (index, case) in archive_cases().iter().enumerate() {
        let dir = scratch.path().join(format!("archive-{index}"));
        fs::create_dir_all(dir.join("canary"))?;
        fs::write(canary(&dir), "canary\n")?;
        let mut members = base();
        members.extend((case.members)(&dir));
        let path = dir.join("hostile.tar.gz");
        build_archive(&path, &members).with_context(|| format!("building {}", case.name))?;
        let target = dir.join("target");
        let before = snapshot(&dir, &target);
        let output = child::xtask("hostile-child")?
            .arg("archive")
            .arg(&path)
            .arg(&target)
            .env(archive::MAX_MEMBERS_ENV, MEMBER_BOUND.to_string())
            .env("HOME", scratch.path())
            .output()?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let Some(result) = stdout.lines().find_map(|l| l.strip_prefix("result ")) else {
            violations.push(format!(
                "archive {}: the child did not finish ({}): {}",
                case.name,
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
            continue;
        };
        let result: Value = serde_json::from_str(result)?;
        let restored = result["restore"] == "ok";
        let verified = result["verify"] == "ok";
        let problems = judge(&dir, &target, &before);
        let tally = tallies.entry(case.class).or_default();
        tally.inputs += 1;
        let outcome = match (case.expect, restored) {
            (Expect::Refuse, false) if !verified => {
                tally.refused += 1;
                "refused"
            }
            (Expect::Refuse, _) => {
                violations.push(format!(
                    "archive {}: not refused (verify {}, restore {})",
                    case.name, result["verify"], result["restore"]
                ));
                "ACCEPTED"
            }
            (Expect::Tame, true) => {
                tally.tamed += 1;
                "tamed"
            }
            (Expect::Tame, false) => {
                violations.push(format!(
                    "archive {}: a tame input was refused: {}",
                    case.name, result["restore"]
                ));
                "refused (expected tamed)"
            }
        };
        tally.escapes += problems.len();
        for problem in &problems {
            violations.push(format!("archive {}: {problem}", case.name));
        }
        let detail: String = result[if restored { "verify" } else { "restore" }]
            .as_str()
            .unwrap_or_default()
            .chars()
            .take(90)
            .collect();
        println!(
            "hostile archive {:<6} {:<46} {:<8} {} escape(s)  {}",
            case.class,
            case.name,
            outcome,
            problems.len(),
            detail.escape_debug()
        );
        // The negative control: a naive extractor on the same input.
        let naive_target = dir.join("naive");
        fs::create_dir_all(&naive_target)?;
        let before = snapshot(&dir, &naive_target);
        let naive = if case.bomb {
            naive_read(&path)?
        } else {
            naive_unpack(&path, &dir, &naive_target, &before)
        };
        tally.naive += naive;
        let _ = fs::remove_dir_all(&dir);
    }
    let mut total = ClassTally::default();
    for (class, t) in &tallies {
        println!(
            "hostile: archives, class {class}: {} inputs, {} refused, {} tamed, {} escapes; negative control (tar::Archive::unpack): {} escapes or unsafe results (must be > 0)",
            t.inputs, t.refused, t.tamed, t.escapes, t.naive
        );
        if t.naive == 0 {
            violations.push(format!("archives, class {class}: the negative control found nothing"));
        }
        total.inputs += t.inputs;
        total.refused += t.refused;
        total.tamed += t.tamed;
        total.escapes += t.escapes;
        total.naive += t.naive;
    }
    println!(
        "hostile: archives: {} classes, {} generated inputs, {} refused, {} tamed, {} escapes; naive extractor: {} ({:.0} s)",
        tallies.len(),
        total.inputs,
        total.refused,
        total.tamed,
        total.escapes,
        total.naive,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `tar::Archive::unpack` with permissions preserved: what it did wrong, judged like a restore.
fn naive_unpack(
    path: &Path,
    case: &Path,
    target: &Path,
    before: &BTreeMap<PathBuf, (u32, u64, u64, u64)>,
) -> usize {
    if let Ok(file) = fs::File::open(path) {
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
        tar.set_preserve_permissions(true);
        let _ = tar.unpack(target);
    }
    judge(case, target, before).len()
}

/// A bomb read to its end with no bound: one finding per bound it goes past.
fn naive_read(path: &Path) -> Result<usize> {
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(fs::File::open(path)?));
    let (mut members, mut bytes) = (0u64, 0u64);
    for entry in tar.entries()? {
        let mut entry = entry?;
        members += 1;
        bytes += io::copy(&mut entry, &mut io::sink())?;
    }
    let compressed = fs::metadata(path)?.len().max(1);
    Ok(usize::from(members > MEMBER_BOUND)
        + usize::from(
            bytes > archive::RATIO_GRACE_BYTES && bytes / compressed > archive::MAX_RATIO,
        ))
}

/// `xtask hostile-child archive <archive> <target>`: verify, check the members, restore.
fn child_archive(path: &Path, target: &Path) -> Result<()> {
    let verify = archive::verify(path)
        .and_then(|manifest| archive::check_members(path, &manifest, &ollim::LAYOUT));
    let restore = archive::restore(path, target, &ollim::LAYOUT, &check::Options::default(), false);
    let show = |r: Result<(), dotdir::Error>| match r {
        Ok(()) => "ok".to_owned(),
        Err(e) => dotdir::error_chain(&e),
    };
    println!("result {}", json!({"verify": show(verify), "restore": show(restore.map(drop))}));
    Ok(())
}

// ---- repositories ----------------------------------------------------------------------------

/// A minimal ollim-bot data directory (it fits the layout).
fn data_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir.join("routines"))?;
    fs::create_dir_all(dir.join("state"))?;
    fs::set_permissions(dir.join("state"), fs::Permissions::from_mode(0o700))?;
    fs::write(dir.join("routines/morning.md"), SPEC)?;
    Ok(())
}

fn kinds(report: &check::Report) -> Vec<(String, String)> {
    report.problems.iter().map(|p| (p.kind.as_str().to_owned(), p.path.clone())).collect()
}

fn repositories(violations: &mut Vec<String>) -> Result<()> {
    let scratch = tmpfs()?;
    let root = scratch.path();
    let (mut inputs, mut refusals, mut escapes, mut controls) = (0, 0, 0, 0);
    let mut fail = |what: String| {
        violations.push(format!("repository {what}"));
        1
    };

    // 1. A tracked symlink pointing out of the directory.
    {
        inputs += 1;
        let dir = root.join("symlink/data");
        data_dir(&dir)?;
        fs::create_dir_all(root.join("symlink/outside"))?;
        let canary = root.join("symlink/outside/secret.txt");
        fs::write(&canary, "CANARY-OUTSIDE-THE-DATA-DIRECTORY\n")?;
        try_git(&dir, &["init", "-q"])?;
        symlink(&canary, dir.join("routines/evil.md"))?;
        try_git(&dir, &["add", "-f", "routines/morning.md", "routines/evil.md"])?;
        try_git(&dir, &["commit", "-qm", "a tracked symlink"])?;
        let journal = Journal::open(&dir, ollim::LAYOUT.journal_options());
        let committed = match &journal {
            Ok(journal) => {
                fs::write(dir.join("routines/morning.md"), format!("{SPEC}changed\n"))?;
                let a = journal.commit_paths(&["routines/evil.md"], "through the link?");
                let b = journal.commit_all_changed("everything");
                format!("commit of the link: {}; commit_all_changed: {}", ok(&a), ok(&b))
            }
            Err(e) => format!("open refused: {e}"),
        };
        let report = check::check(&dir, &ollim::LAYOUT, &check::Options::default())?;
        let flagged = report.problems.iter().any(|p| p.path == "routines/evil.md");
        let history = try_git(&dir, &["log", "--all", "-p", "--format=%H"])?;
        let leaked = history.contains("CANARY-OUTSIDE");
        let unchanged = fs::read_to_string(&canary)? == "CANARY-OUTSIDE-THE-DATA-DIRECTORY\n";
        refusals += usize::from(flagged);
        if !flagged {
            escapes += fail(format!(
                "tracked symlink: check does not flag routines/evil.md: {:?}",
                kinds(&report)
            ));
        }
        if leaked || !unchanged {
            escapes += fail(
                "tracked symlink: the outside file's content reached git, or it changed".into(),
            );
        }
        println!(
            "hostile repository tracked symlink out: check {:?}; {committed}; outside content in history: {leaked}",
            kinds(&report).iter().filter(|(_, p)| p == "routines/evil.md").collect::<Vec<_>>()
        );
        // Negative control: a plain read follows the link out.
        let followed = fs::read_to_string(dir.join("routines/evil.md")).unwrap_or_default();
        let control = usize::from(followed.contains("CANARY-OUTSIDE"));
        controls += control;
        if control == 0 {
            fail(
                "tracked symlink: the negative control (a plain read) did not reach outside".into(),
            );
        }
    }

    // 2. A `.git` file pointing the directory at another repository.
    {
        inputs += 1;
        let pair = |name: &str| -> Result<(PathBuf, PathBuf)> {
            let other = root.join(format!("{name}/other"));
            fs::create_dir_all(&other)?;
            try_git(&other, &["init", "-q"])?;
            let dir = root.join(format!("{name}/data"));
            data_dir(&dir)?;
            fs::write(dir.join(".git"), format!("gitdir: {}\n", other.join(".git").display()))?;
            Ok((dir, other))
        };
        let (dir, other) = pair("gitfile")?;
        let refs_before = try_git(&other, &["for-each-ref"])?;
        let objects_before = snapshot(&other.join(".git/objects"), Path::new("/nonexistent"));
        let report = check::check(&dir, &ollim::LAYOUT, &check::Options::default())?;
        let flagged = kinds(&report).contains(&("wrong-kind".to_owned(), ".git".to_owned()));
        let opened = Journal::open(&dir, ollim::LAYOUT.journal_options())
            .and_then(|journal| journal.commit_all_changed("into the other repository?"));
        let refs_after = try_git(&other, &["for-each-ref"])?;
        let objects_after = snapshot(&other.join(".git/objects"), Path::new("/nonexistent"));
        let wrote = refs_before != refs_after || objects_before != objects_after;
        refusals += usize::from(flagged);
        if !flagged {
            escapes += fail(format!(".git file: check does not flag it: {:?}", kinds(&report)));
        }
        if wrote {
            // crates/git-journal is another engineer's: reported, listed as known.
            let message = ".git file: the journal opened it and wrote the other repository";
            if super::known("hostile-repository", message) {
                println!("  known hostile-repository: {message}");
            } else {
                escapes += fail(message.to_owned());
            }
        }
        println!(
            "hostile repository .git file (gitdir:): check {:?}; journal {}; other repository written: {wrote}",
            kinds(&report).iter().filter(|(_, p)| p == ".git").collect::<Vec<_>>(),
            ok(&opened)
        );
        // Negative control: plain git commits into the other repository.
        let (dir, other) = pair("gitfile-control")?;
        let refs_before = try_git(&other, &["for-each-ref"])?;
        try_git(&dir, &["add", "-f", "routines/morning.md"])?;
        try_git(&dir, &["commit", "-qm", "plain git"])?;
        let control = usize::from(try_git(&other, &["for-each-ref"])? != refs_before);
        controls += control;
        if control == 0 {
            fail(
                ".git file: the negative control (plain git) did not write the other repository"
                    .into(),
            );
        }
    }

    // 3. A nested `.gitignore` negation un-ignoring the credentials.
    {
        inputs += 1;
        let dir = root.join("negation/data");
        data_dir(&dir)?;
        let journal = Journal::open(&dir, ollim::LAYOUT.journal_options())?;
        fs::write(
            dir.join("state/credentials.json"),
            "{\"client_secret\": \"CANARY-CREDENTIAL\"}\n",
        )?;
        fs::set_permissions(dir.join("state/credentials.json"), fs::Permissions::from_mode(0o600))?;
        fs::write(dir.join("state/.gitignore"), "!credentials.json\n")?;
        let committed = journal.commit_all_changed("after the negation");
        let refused = journal.commit_paths(&["state/credentials.json"], "the credentials");
        let report = check::check(&dir, &ollim::LAYOUT, &check::Options::default())?;
        let unignored = kinds(&report)
            .contains(&("unignored-secret".to_owned(), "state/credentials.json".to_owned()));
        let tracked = try_git(&dir, &["ls-files"])?.lines().any(|l| l == "state/credentials.json");
        refusals += usize::from(unignored && refused.is_err());
        if !unignored || tracked || refused.is_ok() {
            escapes += fail(format!(
                ".gitignore negation: unignored-secret reported: {unignored}; tracked: {tracked}; journal commit of the secret: {}",
                ok(&refused)
            ));
        }
        println!(
            "hostile repository .gitignore negation: check unignored-secret: {unignored}; journal commit_all_changed {}; commit of the secret {}; tracked: {tracked}",
            ok(&committed),
            ok(&refused)
        );
        // Negative control: plain git tracks the secret.
        try_git(&dir, &["add", "-A"])?;
        let control = usize::from(
            try_git(&dir, &["ls-files"])?.lines().any(|l| l == "state/credentials.json"),
        );
        controls += control;
        if control == 0 {
            fail(
                ".gitignore negation: the negative control (git add -A) did not track the secret"
                    .into(),
            );
        }
    }
    println!(
        "hostile: repositories: 3 classes, {inputs} inputs, {refusals} refused or flagged, {escapes} escapes; negative controls (plain git, a plain read): {controls} of 3 escaped"
    );
    Ok(())
}

fn ok<T, E: std::fmt::Display>(result: &Result<T, E>) -> String {
    match result {
        Ok(_) => "Ok".to_owned(),
        Err(e) => format!("refused ({})", e.to_string().chars().take(70).collect::<String>()),
    }
}

// ---- special files ---------------------------------------------------------------------------

/// Every path a command reads, relative to the data directory.
const SPECIAL_PATHS: &[&str] = &[
    ".gitignore",
    ".git/dotdir-push.json",
    ".git/dotdir-pending-commits.json",
    "state/config.json",
    "state/session_history.jsonl",
    "routines/fifo.md",
    "state/bot.pid",
    "state/token.json",
    "state/credentials.json",
    "unknown-name",
];

const SPECIAL_OPS: &[&str] = &["check", "fix", "inspect", "backup"];

fn specials(violations: &mut Vec<String>) -> Result<()> {
    let scratch = tmpfs()?;
    let started = Instant::now();
    let (mut runs, mut hangs, mut reported) = (0, 0, 0);
    for (index, rel) in SPECIAL_PATHS.iter().enumerate() {
        let mut line = Vec::new();
        for op in SPECIAL_OPS {
            let dir = scratch.path().join(format!("special-{index}-{op}/data"));
            data_dir(&dir)?;
            Journal::open(&dir, ollim::LAYOUT.journal_options())?;
            let fifo = dir.join(rel);
            let _ = fs::remove_file(&fifo);
            if let Some(parent) = fifo.parent() {
                fs::create_dir_all(parent)?;
            }
            rustix::fs::mknodat(
                rustix::fs::CWD,
                &fifo,
                rustix::fs::FileType::Fifo,
                rustix::fs::Mode::from_raw_mode(0o600),
                0,
            )?;
            runs += 1;
            let mut child = child::xtask("hostile-child")?
                .args(["special", op])
                .arg(&dir)
                .arg(rel)
                .env("HOME", scratch.path())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()?;
            let begun = Instant::now();
            let status = loop {
                if let Some(status) = child.try_wait()? {
                    break Some(status);
                }
                if begun.elapsed() > SPECIAL_BOUND {
                    child.kill()?;
                    let _ = child.wait();
                    break None;
                }
                std::thread::sleep(Duration::from_millis(10));
            };
            let mut stdout = String::new();
            if let Some(mut out) = child.stdout.take() {
                let _ = out.read_to_string(&mut stdout);
            }
            let Some(_) = status else {
                hangs += 1;
                violations.push(format!(
                    "special {rel}: {op} hung (killed after {} s)",
                    SPECIAL_BOUND.as_secs()
                ));
                line.push(format!("{op}: HUNG"));
                continue;
            };
            let result: Value = stdout
                .lines()
                .find_map(|l| l.strip_prefix("result "))
                .and_then(|l| serde_json::from_str(l).ok())
                .unwrap_or(Value::Null);
            if result.is_null() {
                violations.push(format!("special {rel}: {op} did not finish normally"));
                line.push(format!("{op}: CRASHED"));
                continue;
            }
            if *op == "check" {
                let special = result["kinds"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k[0] == "special-file" && k[1] == *rel));
                reported += usize::from(special);
                if !special {
                    violations.push(format!(
                        "special {rel}: check does not report special-file: {}",
                        result["kinds"]
                    ));
                }
            }
            line.push(format!("{op}: {}", result["outcome"].as_str().unwrap_or("?")));
        }
        println!("hostile special FIFO at {rel:<34} {}", line.join("; "));
    }
    // Negative control: a plain blocking open of a FIFO blocks.
    let fifo = scratch.path().join("control.fifo");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )?;
    let (sender, receiver) = std::sync::mpsc::channel();
    let opener = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let _ = fs::File::open(&fifo);
            let _ = sender.send(());
        })
    };
    let blocked = receiver.recv_timeout(Duration::from_millis(500)).is_err();
    // Release it: a writer's open completes the reader's.
    let _ = fs::OpenOptions::new().write(true).open(&fifo);
    let _ = opener.join();
    if !blocked {
        violations.push(
            "special: the negative control (a plain File::open of a FIFO) did not block".into(),
        );
    }
    println!(
        "hostile: special files: {} paths x {} commands = {runs} runs, {hangs} hangs (bound {} s each), special-file reported at {reported} of {} paths; negative control: a plain File::open blocked: {blocked} ({:.0} s)",
        SPECIAL_PATHS.len(),
        SPECIAL_OPS.len(),
        SPECIAL_BOUND.as_secs(),
        SPECIAL_PATHS.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `xtask hostile-child special <op> <dir> <rel>`.
fn child_special(op: &str, dir: &Path) -> Result<()> {
    let options = check::Options::default();
    let (outcome, kinds) = match op {
        "check" => match check::check(dir, &ollim::LAYOUT, &options) {
            Ok(report) => ("Ok".to_owned(), kinds(&report)),
            Err(e) => (format!("Err: {e}"), Vec::new()),
        },
        "fix" => match check::fix(dir, &ollim::LAYOUT, &options) {
            Ok(fixed) => (
                format!("Ok ({} repairs, {} failed)", fixed.repairs.len(), fixed.failures.len()),
                Vec::new(),
            ),
            Err(e) => (format!("Err: {e}"), Vec::new()),
        },
        "inspect" => match dotdir::inspect::inspect(dir, &ollim::LAYOUT) {
            Ok(tree) => (format!("Ok ({} nodes)", tree.nodes.len()), Vec::new()),
            Err(e) => (format!("Err: {e}"), Vec::new()),
        },
        "backup" => {
            let out = dir.with_file_name("out.tar.gz");
            match dotdir::backup::select(dir, &ollim::LAYOUT)
                .and_then(|selection| archive::write(&selection, &out, true, &mut |_| {}))
            {
                Ok(written) => (format!("Ok ({} files)", written.files), Vec::new()),
                Err(e) => (format!("Err: {e}"), Vec::new()),
            }
        }
        other => bail!("no special op {other}"),
    };
    println!("result {}", json!({"outcome": outcome, "kinds": kinds}));
    Ok(())
}

/// The three phases, for `cargo xtask hostile`.
pub(crate) fn run(violations: &mut Vec<String>) -> Result<()> {
    archives(violations)?;
    repositories(violations)?;
    specials(violations)
}

/// `xtask hostile-child archive …` and `xtask hostile-child special …`; `None` for another child.
pub(crate) fn child(args: &[String]) -> Option<Result<()>> {
    match args {
        [kind, archive, target] if kind == "archive" => {
            Some(child_archive(Path::new(archive), Path::new(target)))
        }
        [kind, op, dir, _rel] if kind == "special" => Some(child_special(op, Path::new(dir))),
        _ => None,
    }
}
