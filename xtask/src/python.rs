//! `cargo xtask python [--release] [PYTEST ARGS]`: the Python package's tests. Creates a venv
//! under the target directory (`<target>/python-venv`, with the system's site packages, so
//! `.ci/run`'s maturin and pytest are seen), installs maturin, pytest and PyYAML into it when
//! they are missing (from PyPI), builds the extension into it with `maturin develop` (the dev
//! profile and the workspace's target directory: the crates the tests built are reused), then
//! runs pytest on `crates/python/tests`. A missing tool is an error, never a skip.
//!
//! `bench_row` runs `crates/python/bench/bench_storage.py` (release build): the reference's
//! `append_jsonl` + `git_commit` against `dotdir.compat.ollim_storage`, both from Python.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

fn run(command: &mut Command) -> Result<()> {
    eprintln!("$ {command:?}");
    let status = command.status().with_context(|| format!("running {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}

fn succeeds(command: &mut Command) -> bool {
    command.output().is_ok_and(|o| o.status.success())
}

/// The venv, created if needed, with maturin, pytest and PyYAML; returns its directory.
fn venv() -> Result<PathBuf> {
    let venv = crate::harness::target_dir().join("python-venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        let interpreter = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
        run(Command::new(&interpreter).args(["-m", "venv", "--system-site-packages"]).arg(&venv))
            .context("creating the venv (on Debian: apt-get install python3-venv)")?;
    }
    // `python -m maturin` runs the `maturin` script of the venv's own `bin/`: one the system's
    // pip installed elsewhere is importable (system site packages) but not runnable, so it is
    // installed into the venv itself.
    if !succeeds(Command::new(&python).args(["-m", "maturin", "--version"])) {
        run(Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--ignore-installed"])
            .arg("maturin"))
        .context("installing maturin from PyPI into the venv")?;
    }
    let missing: Vec<&str> = [("pytest", "pytest"), ("yaml", "pyyaml")]
        .into_iter()
        .filter(|(module, _)| {
            !succeeds(Command::new(&python).args(["-c", &format!("import {module}")]))
        })
        .map(|(_, package)| package)
        .collect();
    if !missing.is_empty() {
        run(Command::new(&python).args(["-m", "pip", "install", "--quiet"]).args(&missing))
            .with_context(|| {
                format!("installing {} from PyPI into the venv", missing.join(", "))
            })?;
    }
    Ok(venv)
}

/// Builds the extension into the venv (`maturin develop`).
fn develop(venv: &Path, release: bool) -> Result<()> {
    let path =
        format!("{}:{}", venv.join("bin").display(), std::env::var("PATH").unwrap_or_default());
    let mut command = Command::new(venv.join("bin/python"));
    command
        .args(["-m", "maturin", "develop", "--quiet", "--manifest-path"])
        .arg(root().join("crates/python/Cargo.toml"))
        .env("VIRTUAL_ENV", venv)
        .env("PATH", path)
        .env("CARGO_TARGET_DIR", crate::harness::target_dir());
    if release {
        let _ = command.arg("--release");
    }
    run(&mut command)
}

/// `cargo xtask python`.
pub(crate) fn run_tests(release: bool, pytest_args: &[String]) -> Result<()> {
    let venv = venv()?;
    develop(&venv, release)?;
    run(Command::new(venv.join("bin/python"))
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(root().join("crates/python/tests"))
        .args(pytest_args)
        .current_dir(root().join("crates/python")))
}

/// The bench row of `cargo xtask bench`: the Python storage comparison, printed by the script.
pub(crate) fn bench_row(quick: bool) -> Result<()> {
    let venv = venv()?;
    develop(&venv, true)?;
    let mut command = Command::new(venv.join("bin/python"));
    let _ = command.arg(root().join("crates/python/bench/bench_storage.py"));
    if quick {
        let _ = command.arg("--quick");
    }
    run(&mut command)
}
