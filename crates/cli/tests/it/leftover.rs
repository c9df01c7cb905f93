//! What killed backups and restores leave behind: a later command removes it only on proof that
//! its writer is gone, and names it; a restore into a symlink writes the directory it points to.

use std::{
    fs,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
};

use crate::{Env, code, json, problems, stderr, stdout};

/// A pid above the kernel's maximum (2^22): never a live process.
const DEAD_PID: u32 = 4_194_304;

/// A child process, killed and reaped when dropped.
struct Holder(Child);

impl Holder {
    /// Runs `sh -c script args…` and waits for it to print `ready`.
    fn spawn(script: &str, args: &[&Path]) -> Self {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("sh")
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "the holder started");
        Self(child)
    }

    /// A live process that keeps a backup's temporary archive named after itself open in `dir`.
    fn temp_in(dir: &Path) -> (Self, PathBuf) {
        let holder = Self::spawn(
            r#"f="$1/.other.tar.gz.$$.0badf00d.dotdir-tmp"; printf live > "$f"; exec 3<"$f"; echo ready; exec sleep 120"#,
            &[dir],
        );
        let path = dir.join(format!(".other.tar.gz.{}.0badf00d.dotdir-tmp", holder.0.id()));
        assert!(path.exists());
        (holder, path)
    }

    /// A live process holding `flock` on `dir`, as a running restore into it does.
    fn lock_on(dir: &Path) -> Self {
        // flock(1) locks the shell's descriptor 9; `sleep` keeps it, under the child's own pid.
        Self::spawn(r#"exec 9<"$1"; flock 9; echo ready; exec sleep 120"#, &[dir])
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A backup of the typical fixture; returns the temporary directory, the data directory and
/// the archive.
fn backed_up(env: &Env) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let (temp, dir) = crate::fixture("typical");
    let archive = temp.path().join("ollim.tar.gz");
    let output = env.run(&["backup", dir.to_str().unwrap(), "--out", archive.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));
    (temp, dir, archive)
}

/// A staging directory a killed restore left: `<parent>/.<name>.dotdir-restore` with 7 bytes.
fn plant_staging(parent: &Path, name: &str) -> PathBuf {
    let staging = parent.join(format!(".{name}.dotdir-restore"));
    fs::create_dir_all(staging.join("state")).unwrap();
    fs::write(staging.join("state/config.json"), "partial").unwrap();
    staging
}

#[test]
fn restore_into_a_symlink_to_an_empty_directory_restores_the_directory_it_points_to() {
    let env = Env::new();
    let (temp, _dir, archive) = backed_up(&env);
    let data = temp.path().join("data/ollim");
    fs::create_dir_all(&data).unwrap();
    let home = temp.path().join("home");
    fs::create_dir(&home).unwrap();
    let link = home.join(".ollim-bot");
    std::os::unix::fs::symlink(&data, &link).unwrap();
    let output = env.run(&["restore", archive.to_str().unwrap(), link.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));
    assert!(stdout(&output).contains("is a symlink"), "{}", stdout(&output));
    assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link stays");
    assert!(data.join("state").is_dir(), "the target holds the restore");
    assert_eq!(names(&home), [".ollim-bot"], "no staging left beside the link");
    assert_eq!(names(&temp.path().join("data")), ["ollim"], "no staging beside the target");
    let check = env.run(&["check", "--json", link.to_str().unwrap()]);
    assert_eq!(code(&check), 0, "{}{}", stdout(&check), stderr(&check));

    // A link to nothing is refused before anything is extracted.
    let dangling = home.join(".gone");
    std::os::unix::fs::symlink(temp.path().join("nowhere"), &dangling).unwrap();
    let output = env.run(&["restore", archive.to_str().unwrap(), dangling.to_str().unwrap()]);
    assert_eq!(code(&output), 2, "{}{}", stdout(&output), stderr(&output));
    assert!(stderr(&output).contains("does not exist"), "{}", stderr(&output));
    assert_eq!(names(&home), [".gone", ".ollim-bot"]);
    assert!(!temp.path().join("nowhere").exists());
}

#[test]
fn backup_removes_and_names_a_killed_backups_partial_archive_but_not_a_live_ones() {
    let env = Env::new();
    let (temp, dir) = crate::fixture("typical");
    let out_dir = temp.path().join("backups");
    fs::create_dir(&out_dir).unwrap();
    let dead = out_dir.join(format!(".ollim.tar.gz.{DEAD_PID}.0badf00d.dotdir-tmp"));
    fs::write(&dead, "partial").unwrap();
    let (holder, live) = Holder::temp_in(&out_dir);
    let out = out_dir.join("ollim.tar.gz");
    let output = env.run(&["backup", dir.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));
    let line = format!("removed a partial archive a killed backup left: {} (7B)", dead.display());
    assert!(stdout(&output).contains(&line), "{line} in:\n{}", stdout(&output));
    assert!(!stdout(&output).contains(".other.tar.gz"), "{}", stdout(&output));
    assert!(!dead.exists());
    assert!(live.exists(), "a live writer's temporary archive is left alone");
    drop(holder);
    // Its writer gone, the next backup removes it too (JSON: listed, named on stderr).
    let again = env.run(&[
        "backup",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--force",
        "--json",
    ]);
    assert_eq!(code(&again), 0, "{}{}", stdout(&again), stderr(&again));
    assert_eq!(json(&again)["swept"][0]["path"], live.display().to_string());
    assert!(stderr(&again).contains("removed a partial archive a killed backup left"));
    assert_eq!(names(&out_dir), ["ollim.tar.gz"]);
}

#[test]
fn restore_removes_and_names_a_killed_restores_staging() {
    let env = Env::new();
    let (temp, _dir, archive) = backed_up(&env);
    let parent = temp.path().join("restores");
    fs::create_dir(&parent).unwrap();
    let staging = plant_staging(&parent, "old");
    let target = parent.join("new");
    let output = env.run(&["restore", archive.to_str().unwrap(), target.to_str().unwrap()]);
    assert_eq!(code(&output), 0, "{}{}", stdout(&output), stderr(&output));
    let line = format!("removed a partial copy a killed restore left: {} (7B)", staging.display());
    assert!(stdout(&output).contains(&line), "{line} in:\n{}", stdout(&output));
    assert_eq!(names(&parent), ["new"]);
}

#[test]
fn check_reports_a_killed_restores_staging_fix_removes_it_and_a_held_lock_keeps_it() {
    let env = Env::new();
    let (temp, dir) = crate::fixture("typical");
    let staging = plant_staging(temp.path(), ".ollim-bot");
    let leftover = ("orphan-temp".to_owned(), "../..ollim-bot.dotdir-restore".to_owned());

    // check and inspect name it and delete nothing.
    let checked = env.run(&["check", "--json", dir.to_str().unwrap()]);
    let document = json(&checked);
    assert!(problems(&document).contains(&leftover), "{document:#}");
    let problem = document["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["path"] == leftover.1.as_str())
        .unwrap();
    assert_eq!(problem["fixable"], true);
    let inspected = env.run(&["inspect", dir.to_str().unwrap()]);
    assert!(
        stdout(&inspected).contains(&format!(
            "found a partial copy a killed restore left: {} (7B)",
            staging.display()
        )),
        "{}",
        stdout(&inspected)
    );
    assert!(staging.exists(), "check and inspect delete nothing");

    // While a restore holds the lock on the parent, it is no leftover.
    {
        let _restore = Holder::lock_on(temp.path());
        let held = json(&env.run(&["check", "--json", dir.to_str().unwrap()]));
        assert!(!problems(&held).contains(&leftover), "{held:#}");
        let fixed = env.run(&["check", "--fix", dir.to_str().unwrap()]);
        assert!(!stdout(&fixed).contains("killed restore"), "{}", stdout(&fixed));
        assert!(staging.exists(), "a live restore's staging is left alone");
    }

    let fixed = env.run(&["check", "--fix", dir.to_str().unwrap()]);
    let line =
        format!("removed a partial copy a killed restore left: {} (7 bytes)", staging.display());
    assert!(stdout(&fixed).contains(&line), "{line} in:\n{}", stdout(&fixed));
    assert!(!staging.exists());
    let after = json(&env.run(&["check", "--json", dir.to_str().unwrap()]));
    assert!(!problems(&after).contains(&leftover), "{after:#}");
}
