//! `cargo xtask coarse`: the one-file-per-id test of `dotdir-frontmatter` (4 processes saving one
//! routine id with a changing message) on an ext2 loop mount, whose one-second timestamps hide a
//! rename made in the same second from a directory-mtime cache. Root only (SKIPPED with the
//! reason otherwise).

use std::{fs, process::Command};

use anyhow::{Context, Result, bail};

use crate::harness::{
    TaskOutcome,
    scratch::{attach, is_root, missing_tool, run_cmd, unmount_and_detach},
};

const RUNS: usize = 10;
const WRITES: &str = "300";

/// Runs the test; [`TaskOutcome::Skipped`] when the machine cannot run it (reported as
/// SKIPPED with the reason).
pub(crate) fn run() -> Result<TaskOutcome> {
    if let Some(reason) = unavailable() {
        println!("coarse: SKIPPED ({reason})");
        return Ok(TaskOutcome::Skipped(reason));
    }
    let work = std::env::temp_dir().join(format!("dotdir-coarse-{}", std::process::id()));
    let mount_point = work.join("mnt");
    fs::create_dir_all(&mount_point)?;
    let image = work.join("ext2.img");
    run_cmd(Command::new("truncate").args(["-s", "256M"]).arg(&image))?;
    let device = attach(&image)?;
    let result = (|| -> Result<usize> {
        run_cmd(Command::new("mkfs.ext2").args(["-q", "-F"]).arg(&device))?;
        run_cmd(Command::new("mount").arg(&device).arg(&mount_point))?;
        let mut failed = 0;
        for round in 1..=RUNS {
            let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .args(["test", "-q", "--locked", "-p", "dotdir-frontmatter", "--test", "it", "--"])
                .args([
                    "--exact",
                    "dir::writers_in_several_processes_never_share_a_name_or_leave_duplicates",
                ])
                .env("TMPDIR", &mount_point)
                .env("DOTDIR_SPEC_WRITES", WRITES)
                .output()
                .context("running the frontmatter test")?;
            let status = output.status;
            if !status.success() {
                // Only a failing run's output is worth reading.
                print!("{}", String::from_utf8_lossy(&output.stdout));
                eprint!("{}", String::from_utf8_lossy(&output.stderr));
            }
            println!(
                "coarse: ext2 run {round}/{RUNS}: {}",
                if status.success() { "one file per id" } else { "FAILED" }
            );
            failed += usize::from(!status.success());
        }
        Ok(failed)
    })();
    unmount_and_detach(&mount_point, &device);
    let _ = fs::remove_dir_all(&work);
    let failed = result?;
    println!("coarse: {RUNS} runs of 4 processes x {WRITES} saves on ext2: {failed} failed");
    if failed > 0 {
        bail!("{failed} of {RUNS} runs on ext2 left duplicates or lost a save");
    }
    Ok(TaskOutcome::Ran)
}

/// Why this machine cannot run the test, if it cannot.
fn unavailable() -> Option<String> {
    if !is_root() {
        return Some("needs root for losetup and mount".into());
    }
    missing_tool(&["losetup", "mount", "umount", "mkfs.ext2", "truncate"])
        .map(|tool| format!("`{tool}` is not installed"))
}
