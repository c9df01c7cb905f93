//! `cargo xtask <task>`: the workspace's automation, one place for what CI runs.
//!
//! - `ci`: fmt check, clippy `-D warnings`, tests (nextest when installed) and doctests, docs with
//!   warnings denied, all `--locked`, then the power-cut test.
//! - `bench [--quick] [--json FILE]`: the comparison benchmarks as one table of ratios.
//! - `torture [--kills N] [--seconds S]`: SIGKILL a worker at random and verify every invariant.
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
mod faults;
mod fuzz;
mod powercut;
mod torture;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("powercut") => powercut::run().map(drop),
        Some("bench") => bench::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("faults") => faults::run(&args[1..]),
        Some("faults-child") => faults::child(&args[1..]),
        Some("hostile") => faults::hostile::run(&args[1..]),
        Some("hostile-child") => faults::hostile::child(&args[1..]),
        Some("torture") => torture::run(&args[1..]),
        Some("torture-child") => torture::child(&args[1..]),
        _ => bail!(
            "usage: cargo xtask ci | bench [--quick] [--json FILE] | torture [--kills N] [--seconds S] | fuzz [--seconds S] | faults | hostile | powercut"
        ),
    }
}

fn ci() -> Result<()> {
    cargo(&["fmt", "--all", "--check"], &[])?;
    cargo(&["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"], &[])?;
    if has_nextest() {
        cargo(&["nextest", "run", "--workspace", "--locked", "--no-fail-fast"], &[])?;
        cargo(&["test", "--workspace", "--doc", "--locked"], &[])?;
    } else {
        cargo(&["test", "--workspace", "--locked"], &[])?;
    }
    cargo(&["doc", "--workspace", "--no-deps", "--locked"], &[("RUSTDOCFLAGS", "-D warnings")])?;
    // The harnesses spawn `current_exe()` as their child; the builds above may have replaced this
    // very binary (then `/proc/self/exe` names a deleted file), so each runs as a fresh
    // `cargo xtask` process. Bounded passes: about 35 s of fuzzing, a sample of injection points,
    // the hostile corpus, 500 kills.
    for harness in [
        &["xtask", "powercut"][..],
        &["xtask", "fuzz", "--seconds", "2"],
        &["xtask", "faults"],
        &["xtask", "hostile"],
        &["xtask", "torture", "--kills", "500"],
    ] {
        cargo(harness, &[])?;
    }
    Ok(())
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
