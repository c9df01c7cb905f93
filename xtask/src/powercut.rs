//! `cargo xtask powercut`: simulated power cuts on real filesystems (ext4 `noauto_da_alloc`, xfs,
//! btrfs) on loop devices.
//!
//! The recipe of `reliability.md` §1.2: write generation 1 and `sync`; write generation 2 through
//! atomic-store; then, with the writer stopped and *without* syncing, copy the image — the loop
//! device holds only what the filesystem submitted, so the copy is the disk after a power cut.
//! The copy is checked: every file must be generation 2 (acknowledged durable writes are never
//! lost) and never empty or torn. A negative control writes generation 2 without fsync and must
//! lose writes, proving the harness can see the bug.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};
use dotdir_atomic_store::{Durability, WriteOptions, write};

use crate::harness::{
    TaskOutcome,
    scratch::{attach, detach, is_root, missing_tool, run_cmd, unmount_and_detach},
};

const FILES: usize = 200;

#[derive(Debug, Clone, Copy)]
struct Filesystem {
    name: &'static str,
    mkfs: &'static [&'static str],
    mount_options: &'static str,
}

const FILESYSTEMS: &[Filesystem] = &[
    Filesystem {
        name: "ext4 (noauto_da_alloc)",
        mkfs: &["mkfs.ext4", "-q", "-F"],
        mount_options: "noauto_da_alloc",
    },
    Filesystem { name: "xfs", mkfs: &["mkfs.xfs", "-q", "-f"], mount_options: "defaults" },
    Filesystem { name: "btrfs", mkfs: &["mkfs.btrfs", "-q", "-f"], mount_options: "defaults" },
];

/// What one cut found.
#[derive(Debug, Default)]
struct Outcome {
    new: usize,
    old: usize,
    empty: usize,
    torn: usize,
    missing: usize,
}

impl Outcome {
    fn lost(&self) -> usize {
        self.old + self.empty + self.torn + self.missing
    }
}

/// Runs the power-cut test; [`TaskOutcome::Skipped`] when the machine cannot run it (reported
/// as SKIPPED with the reason).
pub(crate) fn run() -> Result<TaskOutcome> {
    if let Some(reason) = unavailable() {
        println!("powercut: SKIPPED ({reason})");
        return Ok(TaskOutcome::Skipped(reason));
    }
    let work = tempdir()?;
    let mut failures = Vec::new();
    for fs_kind in FILESYSTEMS {
        let durable = cut(&work, fs_kind, Durability::Full)?;
        let control = cut(&work, fs_kind, Durability::None)?;
        println!(
            "powercut: {:<24} durable: {}/{} new, {} lost ({} empty, {} torn, {} old) | no-fsync control: {} lost ({} empty, {} old)",
            fs_kind.name,
            durable.new,
            FILES,
            durable.lost(),
            durable.empty,
            durable.torn,
            durable.old,
            control.lost(),
            control.empty,
            control.old
        );
        if durable.lost() > 0 {
            failures.push(format!(
                "{}: {} acknowledged durable writes lost",
                fs_kind.name,
                durable.lost()
            ));
        }
        if control.lost() == 0 {
            failures.push(format!(
                "{}: the no-fsync control lost nothing — the harness cannot see the bug",
                fs_kind.name
            ));
        }
    }
    let _ = fs::remove_dir_all(&work);
    if !failures.is_empty() {
        bail!("powercut failed:\n  {}", failures.join("\n  "));
    }
    Ok(TaskOutcome::Ran)
}

fn unavailable() -> Option<String> {
    if !is_root() {
        return Some("needs root for losetup and mount".into());
    }
    let tools =
        ["losetup", "mount", "umount", "mkfs.ext4", "mkfs.xfs", "mkfs.btrfs", "e2fsck", "cp"];
    if let Some(tool) = missing_tool(&tools) {
        return Some(format!("`{tool}` is not installed"));
    }
    if !Command::new("losetup").arg("-f").output().is_ok_and(|o| o.status.success()) {
        return Some("no free loop device (losetup -f failed)".into());
    }
    None
}

fn tempdir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("dotdir-powercut-{}", std::process::id()));
    fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn content(generation: u32, index: usize) -> Vec<u8> {
    let line = format!("generation {generation} file {index}\n");
    line.repeat(4096 / line.len() + 1).into_bytes()
}

fn cut(work: &Path, fs_kind: &Filesystem, durability: Durability) -> Result<Outcome> {
    let image = work.join("image");
    let snapshot = work.join("snapshot");
    let mount_point = work.join("mnt");
    fs::create_dir_all(&mount_point)?;
    let _ = fs::remove_file(&image);
    run_cmd(Command::new("truncate").args(["-s", "400M"]).arg(&image))?;
    let device = attach(&image)?;
    let result = (|| -> Result<()> {
        run_cmd(Command::new(fs_kind.mkfs[0]).args(&fs_kind.mkfs[1..]).arg(&device))?;
        run_cmd(
            Command::new("mount")
                .args(["-o", fs_kind.mount_options])
                .arg(&device)
                .arg(&mount_point),
        )?;
        let data = mount_point.join("data");
        let durable = WriteOptions::new();
        for i in 0..FILES {
            let _ = write(&data.join(format!("state-{i}.json")), &content(1, i), &durable)?;
        }
        run_cmd(&mut Command::new("sync"))?;
        let gen2 = WriteOptions::new().durability(durability);
        for i in 0..FILES {
            let _ = write(&data.join(format!("state-{i}.json")), &content(2, i), &gen2)?;
        }
        // An unrelated fsync commits the filesystem journal (the renames) but not unsynced data:
        // the case that turns unsynced replaces into empty files on xfs and ext4.
        let unrelated = mount_point.join("unrelated");
        fs::write(&unrelated, b"x")?;
        fs::File::open(&unrelated)?.sync_all()?;
        // The power cut: the writer is stopped, nothing else is synced, the device is copied as is.
        run_cmd(Command::new("cp").arg("--sparse=always").arg(&image).arg(&snapshot))?;
        Ok(())
    })();
    unmount_and_detach(&mount_point, &device);
    result.with_context(|| format!("writing on {}", fs_kind.name))?;

    let device = attach(&snapshot)?;
    let checked = (|| -> Result<Outcome> {
        if fs_kind.mkfs[0] == "mkfs.ext4" {
            // Replays the journal; exit codes 1 and 2 mean "fixed", which a power cut can need.
            let _ = Command::new("e2fsck").args(["-fy"]).arg(&device).output()?;
        }
        run_cmd(Command::new("mount").arg(&device).arg(&mount_point))?;
        let outcome = inspect(&mount_point.join("data"));
        let _ = Command::new("umount").arg(&mount_point).status();
        Ok(outcome)
    })();
    detach(&device);
    let _ = fs::remove_file(&snapshot);
    let _ = fs::remove_file(&image);
    checked
}

fn inspect(data: &Path) -> Outcome {
    let mut outcome = Outcome::default();
    for i in 0..FILES {
        match fs::read(data.join(format!("state-{i}.json"))) {
            Err(_) => outcome.missing += 1,
            Ok(bytes) if bytes.is_empty() => outcome.empty += 1,
            Ok(bytes) if bytes == content(2, i) => outcome.new += 1,
            Ok(bytes) if bytes == content(1, i) => outcome.old += 1,
            Ok(_) => outcome.torn += 1,
        }
    }
    outcome
}
