//! `cargo xtask <task>`: the workspace's automation, one place for what CI runs.
//!
//! - `ci`: fmt check, clippy `-D warnings`, tests (nextest when installed) and doctests, the tests
//!   again with the wall clock three years ahead (an `LD_PRELOAD` shim), docs with warnings denied, all
//!   `--locked`, then the power-cut test and the bounded harnesses.
//! - `python [--release]`: the Python package's pytest suite (a venv under the target directory,
//!   the extension built by maturin).
//! - `bench [--quick] [--only BENCH] [--json FILE]`: the comparison benchmarks as one table of
//!   ratios (`--only python`: the Python storage row alone).
//! - `torture [--kills N] [--seconds S] [--layout ollim|omicos|both]`: SIGKILL a worker at random
//!   and verify every invariant (omicos: account switching with a random next actor).
//! - `accounts [--full]`: the omicos account protocol as a model: every crash point × every
//!   next actor, invariants checked.
//! - `coarse`: the one-file-per-id test on an ext2 loop mount (one-second timestamps), 10 runs.
//! - `powercut`: simulated power cuts on ext4, xfs and btrfs loop devices (root only; SKIPPED with
//!   the reason otherwise).

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool reports on its streams"
)]

use std::process::Command;

use anyhow::{Context, Result, bail};

mod bench;
mod coarse;
mod faults;
mod fuzz;
mod powercut;
mod python;
mod torture;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("python") => python::run_tests(&args[1..]),
        Some("powercut") => powercut::run().map(drop),
        Some("coarse") => coarse::run(),
        Some("bench") => bench::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("faults") => faults::run(&args[1..]),
        Some("faults-child") => faults::child(&args[1..]),
        Some("accounts") => faults::accounts::run(&args[1..]),
        Some("hostile") => faults::hostile::run(&args[1..]),
        Some("hostile-child") => faults::hostile::child(&args[1..]),
        Some("torture") => torture::run(&args[1..]),
        Some("torture-child") => torture::child(&args[1..]),
        _ => bail!(
            "usage: cargo xtask ci | python [--release] [PYTEST ARGS] | bench [--quick] [--only BENCH] [--json FILE] | torture [--kills N] [--seconds S] [--layout L] | fuzz [--seconds S] | faults | accounts [--full] | hostile | powercut | coarse"
        ),
    }
}

fn ci() -> Result<()> {
    cargo(&["fmt", "--all", "--check"], &[])?;
    cargo(&["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"], &[])?;
    without_git()?;
    let tests: &[&str] = if has_nextest() {
        &["nextest", "run", "--workspace", "--locked", "--no-fail-fast"]
    } else {
        &["test", "--workspace", "--locked", "--tests"]
    };
    cargo(tests, &[])?;
    cargo(&["test", "--workspace", "--doc", "--locked"], &[])?;
    clock_ahead(tests)?;
    cargo(&["doc", "--workspace", "--no-deps", "--locked"], &[("RUSTDOCFLAGS", "-D warnings")])?;
    // The crates that depend on no other dotdir crate can be packaged as they are (the others
    // need theirs on crates.io first).
    cargo(
        &["package", "-p", "dotdir-atomic-store", "--no-verify", "--locked", "--allow-dirty"],
        &[],
    )?;
    // The harnesses spawn `current_exe()` as their child; the builds above may have replaced this
    // very binary (then `/proc/self/exe` names a deleted file), so each runs as a fresh
    // `cargo xtask` process. Bounded passes: about 35 s of fuzzing, a sample of injection points,
    // the hostile corpus, 500 kills.
    for harness in [
        // The Python package: built by maturin into a venv, then pytest.
        &["xtask", "python"][..],
        &["xtask", "powercut"],
        &["xtask", "coarse"],
        &["xtask", "fuzz", "--seconds", "2"],
        &["xtask", "faults"],
        &["xtask", "accounts"],
        &["xtask", "hostile"],
        &["xtask", "torture", "--kills", "500", "--layout", "ollim"],
        &["xtask", "torture", "--kills", "1000", "--layout", "omicos"],
    ] {
        cargo(harness, &[])?;
    }
    Ok(())
}

/// A layout that keeps no journal builds without git: the Codex example (engine and command
/// without their `git` features) is linted on its own, so the code without git compiles, and
/// its dependency tree must hold no libgit2.
fn without_git() -> Result<()> {
    let lint = ["clippy", "-p", "codex-data", "--all-targets", "--locked", "--", "-D", "warnings"];
    cargo(&lint, &[])?;
    let output = Command::new(env_or("CARGO", "cargo"))
        .args(["tree", "-p", "codex-data", "-e", "normal", "--locked", "--prefix", "none"])
        .output()?;
    let tree = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() || tree.lines().any(|l| l.starts_with("libgit2-sys ")) {
        bail!("`cargo tree -p codex-data` failed or holds libgit2:\n{tree}");
    }
    eprintln!("codex-data (no journal) builds without libgit2");
    Ok(())
}

/// How far ahead of the real clock the second test run puts the test binaries' wall clock:
/// three years.
const CLOCK_AHEAD_SECONDS: u64 = 1095 * 24 * 3600;

/// Runs the tests again with every test binary's wall clock three years ahead (an `LD_PRELOAD`
/// shim around the test binaries only, inherited by the processes they spawn: cargo and rustc
/// are left alone). No test may compare a pinned date with the wall clock, and no code may
/// trust a file's age across a clock step. The monotonic clock and the kernel's file times are
/// left alone, as a real forward step leaves them.
///
/// The shim (`clock/ahead.c`) replaces libfaketime, which shares a semaphore between a process
/// and its children: a test that SIGKILLs a child holding it hangs every other process of the
/// run (two CI runs hung that way, through the `faketime` wrapper and with the library
/// preloaded directly).
fn clock_ahead(tests: &[&str]) -> Result<()> {
    let library =
        faults::build_preload("clock", "libdotdir_clock_ahead.so", include_str!("clock/ahead.c"))?;
    let runner = host_runner_var()?;
    let wrapper = format!(
        "env LD_PRELOAD={} DOTDIR_CLOCK_AHEAD_SECONDS={CLOCK_AHEAD_SECONDS}",
        library.display()
    );
    eprintln!("the tests again, the wall clock {CLOCK_AHEAD_SECONDS} s ahead:");
    cargo(tests, &[(&runner, &wrapper)])
}

/// `CARGO_TARGET_<HOST>_RUNNER`: the variable that wraps the host's test and bench binaries.
pub(crate) fn host_runner_var() -> Result<String> {
    let output = Command::new(env_or("RUSTC", "rustc")).arg("-vV").output()?;
    let host = String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: ").map(str::to_owned))
        .context("rustc -vV names no host")?;
    Ok(format!("CARGO_TARGET_{}_RUNNER", host.to_uppercase().replace(['-', '.'], "_")))
}

fn has_nextest() -> bool {
    Command::new("cargo").args(["nextest", "--version"]).output().is_ok_and(|o| o.status.success())
}

pub(crate) fn cargo(args: &[&str], envs: &[(&str, &str)]) -> Result<()> {
    eprintln!("$ cargo {}", args.join(" "));
    let status = Command::new(env_or("CARGO", "cargo"))
        .args(args)
        .envs(envs.iter().copied())
        .status()
        .with_context(|| format!("running cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_owned())
}
