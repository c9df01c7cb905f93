//! Scratch space: a directory on tmpfs for the fault harnesses, and loop-mounted filesystems of
//! a chosen kind for the ones that need a real one (`powercut`, `coarse`), with the root and tool
//! checks that decide whether those can run at all.

use std::{path::Path, process::Command};

use anyhow::{Context, Result, bail};

/// A scratch directory on tmpfs when there is one (fsync is cheap there; the injected errors are
/// the same).
pub(crate) fn tmpfs() -> Result<tempfile::TempDir> {
    let shm = Path::new("/dev/shm");
    let builder = {
        let mut b = tempfile::Builder::new();
        b.prefix("dotdir-faults-");
        b
    };
    Ok(if shm.is_dir() { builder.tempdir_in(shm)? } else { builder.tempdir()? })
}

/// Whether this process runs as root (`losetup` and `mount` need it).
pub(crate) fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// The first of `tools` that is not on the `PATH`.
pub(crate) fn missing_tool<'a>(tools: &[&'a str]) -> Option<&'a str> {
    tools.iter().copied().find(|tool| {
        !Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// Attaches `image` to a free loop device; returns the device.
pub(crate) fn attach(image: &Path) -> Result<String> {
    let output = Command::new("losetup").args(["-f", "--show"]).arg(image).output()?;
    if !output.status.success() {
        bail!("losetup {}: {}", image.display(), String::from_utf8_lossy(&output.stderr));
    }
    let device = String::from_utf8(output.stdout)?.trim().to_owned();
    if device.is_empty() {
        bail!("losetup found no free loop device");
    }
    Ok(device)
}

/// Unmounts `mount_point` and detaches `device`, ignoring failures (cleanup).
pub(crate) fn unmount_and_detach(mount_point: &Path, device: &str) {
    let _ = Command::new("umount").arg(mount_point).status();
    detach(device);
}

/// Detaches a loop device, ignoring failures (cleanup).
pub(crate) fn detach(device: &str) {
    let _ = Command::new("losetup").arg("-d").arg(device).status();
}

/// Runs `command`; its stderr is the error when it fails.
pub(crate) fn run_cmd(command: &mut Command) -> Result<()> {
    let output = command.output().with_context(|| format!("running {command:?}"))?;
    if !output.status.success() {
        bail!("{command:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}
