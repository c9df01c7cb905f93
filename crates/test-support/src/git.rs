//! The real `git` command line for tests: hermetic (no user or system configuration, no
//! inherited repository variables, a fixed identity, no stdin), panicking with git's output
//! when a command must succeed and does not.

use std::{
    io::Write,
    path::Path,
    process::{Command, Output, Stdio},
};

/// The author and committer name of the commits tests make with [`git`].
pub const NAME: &str = "Human";
/// The author and committer e-mail of the commits tests make with [`git`].
pub const EMAIL: &str = "human@test.invalid";

/// A `git` command run in `dir` that reads no user or system configuration, inherits no
/// `GIT_DIR`, `GIT_WORK_TREE` or `GIT_INDEX_FILE`, commits as [`NAME`] <[`EMAIL`]> and reads
/// nothing from stdin.
pub fn git_command(dir: &Path) -> Command {
    let mut command = Command::new("git");
    command
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", NAME)
        .env("GIT_AUTHOR_EMAIL", EMAIL)
        .env("GIT_COMMITTER_NAME", NAME)
        .env("GIT_COMMITTER_EMAIL", EMAIL)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .stdin(Stdio::null());
    command
}

/// Runs `git args…` in `dir` ([`git_command`]) and returns its outcome, success or not.
pub fn git_output(dir: &Path, args: &[&str]) -> Output {
    git_command(dir).args(args).output().expect("git runs")
}

/// Runs `git args…` in `dir` ([`git_command`]), asserts it succeeded (else panics with its
/// output), returns its stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    succeeded(args, git_output(dir, args))
}

/// [`git`] for a harness that reports instead of panicking: git's stdout, or what failed (its
/// status and stderr) as an error.
pub fn try_git(dir: &Path, args: &[&str]) -> Result<String, GitFailed> {
    let output = git_command(dir).args(args).output().map_err(|e| GitFailed(format!("{e}")))?;
    if !output.status.success() {
        return Err(GitFailed(format!(
            "git {} ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    String::from_utf8(output.stdout).map_err(|e| GitFailed(format!("git {}: {e}", args.join(" "))))
}

/// What [`try_git`] could not do.
#[derive(Debug)]
pub struct GitFailed(pub String);

impl std::fmt::Display for GitFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GitFailed {}

/// [`git`] with `input` written to git's stdin.
pub fn git_with_input(dir: &Path, args: &[&str], input: impl AsRef<[u8]>) -> String {
    let mut child = git_command(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("git runs");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.as_ref())
        .expect("git reads its stdin");
    succeeded(args, child.wait_with_output().expect("git runs"))
}

fn succeeded(args: &[&str], output: Output) -> String {
    assert!(
        output.status.success(),
        "git {args:?} failed ({}): {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("git printed UTF-8")
}
