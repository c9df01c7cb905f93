//! What the fault harnesses compare: a normalised snapshot of a directory, the old-or-new check,
//! leftover temporary files and `git fsck`.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::Result;

/// Every file of the directory (path → mode and content), normalised: `.git/` is replaced by the
/// list of commit messages, lock sidecars (`*.lock`) and temporary files are left out, the
/// child's pid in pid records becomes `<PID>`, random ids and wall-clock times are masked.
pub(crate) type Snapshot = BTreeMap<String, String>;

pub(crate) fn snapshot(dir: &Path, pid: Option<u32>) -> Result<Snapshot> {
    let mut out = Snapshot::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = fs::read_dir(&current) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = path.strip_prefix(dir).unwrap_or(&path).to_string_lossy().into_owned();
            let meta = fs::symlink_metadata(&path)?;
            if name == ".git" && meta.is_dir() {
                out.insert(".git (commit messages)".to_owned(), mask(&git_log(dir)));
                continue;
            }
            if name == ".faults-home" || name.ends_with(".lock") || name.ends_with(".dotdir-tmp") {
                continue;
            }
            if meta.file_type().is_symlink() {
                let target = fs::read_link(&path)?;
                out.insert(mask(&rel), format!("symlink -> {}", target.display()));
            } else if meta.is_dir() {
                pending.push(path);
            } else {
                let content = String::from_utf8_lossy(&fs::read(&path)?).into_owned();
                if name.ends_with(".pid") && names_dead_process(&content, pid) {
                    // A record of a dead process other than the child is as good as none: the
                    // next starter reclaims it.
                    continue;
                }
                let content = normalise(&name, &content, pid);
                out.insert(
                    mask(&rel),
                    format!("mode {:o}: {content}", meta.permissions().mode() & 0o7777),
                );
            }
        }
    }
    Ok(out)
}

/// Whether a pid record's first line names a process that is not running (and is not `child`).
fn names_dead_process(content: &str, child: Option<u32>) -> bool {
    let first = content.lines().next().unwrap_or_default().trim();
    match first.parse::<u32>() {
        Ok(pid) if Some(pid) == child => false,
        Ok(pid) => !Path::new(&format!("/proc/{pid}")).exists(),
        Err(_) => false,
    }
}

fn normalise(name: &str, content: &str, pid: Option<u32>) -> String {
    let mut text = content.to_owned();
    if let Some(pid) = pid
        && name.ends_with(".pid")
    {
        text = text
            .split('\n')
            .map(|line| if line == pid.to_string() { "<PID>" } else { line })
            .collect::<Vec<_>>()
            .join("\n");
    }
    if name == "inquiries.json"
        && let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(&text)
    {
        let masked: Vec<String> = map.values().map(|v| format!("<key>: {v}")).collect();
        text = masked.join(", ");
    }
    mask(&text)
}

/// Masks what differs between two runs of the same operation: lowercase hex runs of 32 to 40
/// digits and standalone 8-digit ones (ids), RFC 3339 UTC times with milliseconds, and
/// millisecond epoch numbers.
fn mask(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes[i..]
            .iter()
            .take_while(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            .count();
        let standalone = (i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
            && bytes.get(i + hex).is_none_or(|b| !b.is_ascii_alphanumeric());
        if (32..=40).contains(&hex) && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric()) {
            out.push_str("<hex>");
            i += hex;
            continue;
        }
        if hex == 8 && standalone {
            // Random 8-hex ids (specs, inquiries).
            out.push_str("<id8>");
            i += hex;
            continue;
        }
        let digits = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 4 && is_utc_time(&bytes[i..]) {
            out.push_str("<time>");
            i += 24;
            continue;
        }
        if digits == 13 {
            out.push_str("<ms>");
            i += digits;
            continue;
        }
        let step = text[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&text[i..i + step]);
        i += step;
    }
    out
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn is_utc_time(b: &[u8]) -> bool {
    const SHAPE: &[u8] = b"dddd-dd-ddTdd:dd:dd.dddZ";
    b.len() >= SHAPE.len()
        && SHAPE.iter().zip(b).all(|(s, c)| if *s == b'd' { c.is_ascii_digit() } else { s == c })
}

fn git_log(dir: &Path) -> String {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["log", "--format=%s", "HEAD"])
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .map(|o| {
            if o.status.success() {
                String::from_utf8_lossy(&o.stdout).into_owned()
            } else {
                String::new()
            }
        })
        .unwrap_or_default()
}

/// `git fsck` of the directory's repository, when there is one and git is installed.
pub(crate) fn git_fsck(dir: &Path) -> Option<String> {
    if !dir.join(".git").is_dir() {
        return None;
    }
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["fsck", "--no-progress", "--no-dangling"])
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .ok()?;
    (!output.status.success()).then(|| {
        format!(
            "git fsck failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// Each component of `after` must be its old or its new version; after `Ok`, the new one.
pub(crate) fn old_or_new(
    old: &Snapshot,
    new: &Snapshot,
    after: &Snapshot,
    ok: bool,
) -> Vec<String> {
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).chain(after.keys()).collect();
    let mut problems = Vec::new();
    for key in keys {
        let (o, n, a) = (old.get(key), new.get(key), after.get(key));
        if ok && a != n {
            problems.push(format!("Ok returned but {key} is not the new version: {}", show(a)));
        } else if a != o && a != n {
            problems.push(format!(
                "{key} is neither old nor new: {} (old {}, new {})",
                show(a),
                show(o),
                show(n)
            ));
        }
    }
    problems
}

fn show(v: Option<&String>) -> String {
    match v {
        None => "absent".to_owned(),
        Some(s) if s.len() > 160 => format!("{:?}…", &s[..s.floor_char_boundary(160)]),
        Some(s) => format!("{s:?}"),
    }
}

pub(crate) fn diff(a: &Snapshot, b: &Snapshot) -> String {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| format!("{k}: {} vs {}", show(a.get(k)), show(b.get(k))))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Temporary files of ours anywhere under `dir`.
pub(crate) fn temps(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = fs::read_dir(&current) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                pending.push(path);
            } else if entry.file_name().to_string_lossy().ends_with(".dotdir-tmp") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}
