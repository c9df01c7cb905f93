//! `cargo xtask <task>`: the workspace's automation, one place for what CI runs. One program: the
//! tasks are one clap `Subcommand` enum (`Task`; `cargo xtask --help` lists them), each a thin
//! module over the harness library (`harness`: child processes, preload shims, scratch
//! filesystems, operations).
//!
//! - `ci [--allow-skip STEP]...`: fmt check, clippy `-D warnings`, the build without git, tests
//!   (nextest when installed) and doctests, the tests again with the wall clock three years ahead
//!   (an `LD_PRELOAD` shim), docs with warnings denied, all `--locked`, then the Python package,
//!   the power-cut and coarse-timestamp tests and the bounded harnesses. A step that cannot run on
//!   this machine (a missing tool, no root, no loop device) fails `ci` unless `--allow-skip STEP`
//!   names it; the steps that can skip are `powercut` and `coarse` (`python` never skips: a
//!   missing tool is an error).
//! - `python [--release]`: the Python package's pytest suite (a venv under the target directory,
//!   the extension built by maturin).
//! - `bench [--quick] [--only BENCH] [--json FILE]`: the comparison benchmarks as one table of
//!   ratios (`--only python`: the Python storage row alone).
//! - `torture [--kills N] [--seconds S] [--layout ollim|omicos|both]`: SIGKILL a worker at random
//!   and verify every invariant (omicos: account switching with a random next actor).
//! - `accounts [--full]`: the omicos account protocol as a model: every crash point × every
//!   next actor, invariants checked.
//! - `fuzz [--seconds S] [--target NAME] [--seed N] [--replay FILE]`: the mutation fuzzer.
//! - `faults [--full] [--strict] [--op NAME] [--points N]`: I/O-error injection.
//! - `hostile [--full]`: hostile inputs, planted symlinks, archives, repositories, special files.
//! - `coarse`: the one-file-per-id test on an ext2 loop mount (one-second timestamps), 10 runs.
//! - `powercut`: simulated power cuts on ext4, xfs and btrfs loop devices.
//!
//! Run alone, `coarse` and `powercut` report `SKIPPED (reason)` and exit 0 when the machine
//! cannot run them (they need root, losetup and the mkfs tools); within `ci` that skip is an
//! error naming the step and the flag that allows it.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line tool reports on its streams"
)]

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

mod bench;
mod coarse;
mod faults;
mod fuzz;
mod harness;
mod powercut;
mod python;
mod torture;

use harness::TaskOutcome;

/// The workspace's automation: `cargo xtask <task>`.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// The whole test suite, exactly as CI runs it; a step that cannot run here (a missing tool,
    /// no root) fails it.
    Ci {
        /// Let STEP be skipped when this machine cannot run it (repeatable).
        #[arg(long, value_enum, value_name = "STEP")]
        allow_skip: Vec<Step>,
    },
    /// The Python package's pytest suite (a venv under the target directory, maturin develop).
    Python {
        /// Build the extension with the release profile.
        #[arg(long)]
        release: bool,
        /// Passed on to pytest.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        pytest_args: Vec<String>,
    },
    /// Simulated power cuts on ext4, xfs and btrfs loop devices (root only; SKIPPED otherwise).
    Powercut {
        /// Where `ci` learns of a skip: the reason is written to FILE.
        #[arg(long, hide = true, value_name = "FILE")]
        skip_report: Option<PathBuf>,
    },
    /// The one-file-per-id test on an ext2 loop mount (one-second timestamps), 10 runs (root
    /// only; SKIPPED otherwise).
    Coarse {
        /// Where `ci` learns of a skip: the reason is written to FILE.
        #[arg(long, hide = true, value_name = "FILE")]
        skip_report: Option<PathBuf>,
    },
    /// The comparison benchmarks as one table of ratios.
    Bench {
        /// Fewer samples (`DOTDIR_BENCH_QUICK=1`).
        #[arg(long)]
        quick: bool,
        /// One bench file of `benches/benches/` (`python`: the Python storage row alone).
        #[arg(long, value_name = "BENCH")]
        only: Option<String>,
        /// Also write the rows as JSON to FILE.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// The mutation fuzzer over every parser of the workspace.
    Fuzz {
        /// How long each target runs.
        #[arg(long, value_name = "S", default_value_t = 3.0)]
        seconds: f64,
        /// One target only.
        #[arg(long, value_name = "NAME")]
        target: Option<String>,
        /// The seed (default: `DOTDIR_FUZZ_SEED`, else random).
        #[arg(long, value_name = "N")]
        seed: Option<u64>,
        /// Run one saved input again (with `--target`).
        #[arg(long, value_name = "FILE")]
        replay: Option<PathBuf>,
    },
    /// I/O-error injection into every public write operation.
    Faults {
        /// Every injection point with every errno.
        #[arg(long)]
        full: bool,
        /// Known violations fail the run too.
        #[arg(long)]
        strict: bool,
        /// One operation only.
        #[arg(long, value_name = "NAME")]
        op: Option<String>,
        /// Injection points sampled per operation (without `--full`).
        #[arg(long, value_name = "N", default_value_t = 24)]
        points: usize,
    },
    /// The omicos account protocol as a model: every crash point × every next actor.
    Accounts {
        /// EIO at every injection point too (not every other one).
        #[arg(long)]
        full: bool,
    },
    /// The hostile-input corpus, planted symlinks, hostile archives, repositories and special
    /// files.
    Hostile {
        /// Both kinds of planted file symlink (to an existing canary and to a missing one) at
        /// every path, not one of them in turn.
        #[arg(long)]
        full: bool,
    },
    /// SIGKILL a worker at random and verify every invariant.
    Torture {
        /// Kills per layout.
        #[arg(long, value_name = "N", default_value_t = 500)]
        kills: usize,
        /// Stop each layout after S seconds.
        #[arg(long, value_name = "S")]
        seconds: Option<u64>,
        /// Which layout (omicos: account switching with a random next actor).
        #[arg(long, value_enum, default_value_t = torture::Layout::Both)]
        layout: torture::Layout,
    },
    /// A child of `faults`: `faults-child <op> <dir>`.
    #[command(hide = true)]
    FaultsChild {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// A child of `hostile`: `hostile-child <consumer> <dir> <file>`, `archive …`, `special …`.
    #[command(hide = true)]
    HostileChild {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// A child of `torture`: `torture-child <layout> <root> <round> <seed>`.
    #[command(hide = true)]
    TortureChild {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

/// A step of `cargo xtask ci` that cannot run on every machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Step {
    /// `cargo xtask powercut`: root, losetup, mount, mkfs.ext4, mkfs.xfs, mkfs.btrfs, e2fsck.
    Powercut,
    /// `cargo xtask coarse`: root, losetup, mount, mkfs.ext2.
    Coarse,
}

impl Step {
    fn name(self) -> &'static str {
        match self {
            Self::Powercut => "powercut",
            Self::Coarse => "coarse",
        }
    }
}

fn main() -> Result<()> {
    match Cli::parse().task {
        Task::Ci { allow_skip } => ci(&allow_skip),
        Task::Python { mut release, mut pytest_args } => {
            // `--release` anywhere, also among the pytest arguments.
            release |= pytest_args.iter().any(|a| a == "--release");
            pytest_args.retain(|a| a != "--release");
            python::run_tests(release, &pytest_args)
        }
        Task::Powercut { skip_report } => report_skip(&powercut::run()?, skip_report.as_deref()),
        Task::Coarse { skip_report } => report_skip(&coarse::run()?, skip_report.as_deref()),
        Task::Bench { quick, only, json } => bench::run(quick, only.as_deref(), json.as_deref()),
        Task::Fuzz { seconds, target, seed, replay } => {
            fuzz::run(&fuzz::Options { seconds, only: target, seed, replay })
        }
        Task::Faults { full, strict, op, points } => {
            faults::run(&faults::Options { full, only: op, points, strict })
        }
        Task::Accounts { full } => faults::accounts::run(full),
        Task::Hostile { full } => faults::hostile::run(full),
        Task::Torture { kills, seconds, layout } => torture::run(kills, seconds, layout),
        Task::FaultsChild { args } => faults::child(&args),
        Task::HostileChild { args } => faults::hostile::child(&args),
        Task::TortureChild { args } => torture::child(&args),
    }
}

/// Run alone, a skipped task has said SKIPPED and exits 0; for `ci` (`--skip-report FILE`) the
/// reason is also written to FILE.
fn report_skip(outcome: &TaskOutcome, file: Option<&Path>) -> Result<()> {
    if let (TaskOutcome::Skipped(reason), Some(file)) = (outcome, file) {
        fs::write(file, reason).with_context(|| format!("writing {}", file.display()))?;
    }
    Ok(())
}

/// Runs a step that may be skipped as a fresh `cargo xtask` process; its outcome.
fn run_skippable(step: Step) -> Result<TaskOutcome> {
    let dir = tempfile::tempdir()?;
    let report = dir.path().join("skipped");
    let report_arg = report.to_string_lossy().into_owned();
    cargo(&["xtask", step.name(), "--skip-report", &report_arg], &[])?;
    Ok(match fs::read_to_string(&report) {
        Ok(reason) => TaskOutcome::Skipped(reason),
        Err(_) => TaskOutcome::Ran,
    })
}

/// Within `ci`, a skipped step is an error unless `--allow-skip STEP` names it.
fn decide(outcome: &TaskOutcome, step: Step, allowed: &[Step]) -> Result<()> {
    let name = step.name();
    match outcome {
        TaskOutcome::Ran => Ok(()),
        TaskOutcome::Skipped(reason) if allowed.contains(&step) => {
            eprintln!("{name}: SKIPPED ({reason}), allowed by --allow-skip {name}");
            Ok(())
        }
        TaskOutcome::Skipped(reason) => bail!(
            "the {name} step could not run ({reason}): a missing tool fails `cargo xtask ci` \
             (.ci/run installs them); `cargo xtask ci --allow-skip {name}` allows the skip"
        ),
    }
}

fn ci(allow_skip: &[Step]) -> Result<()> {
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
    //
    // The Python package: built by maturin into a venv, then pytest (a missing tool is an
    // error there, never a skip).
    cargo(&["xtask", "python"], &[])?;
    // The loop-mount steps report a skip; it fails the run unless `--allow-skip` names the step.
    for step in [Step::Powercut, Step::Coarse] {
        decide(&run_skippable(step)?, step, allow_skip)?;
    }
    for harness in [
        &["xtask", "fuzz", "--seconds", "2"][..],
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
    let library = harness::preload::clock_ahead()?;
    let runner = host_runner_var()?;
    // What this run checks is time, not scale: the deny-by-default property (the suite's long
    // pole, 1,000 cases in the first run) runs 200 cases here.
    let wrapper = format!(
        "env LD_PRELOAD={} DOTDIR_CLOCK_AHEAD_SECONDS={CLOCK_AHEAD_SECONDS} DOTDIR_DENY_CASES=200",
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
    let started = std::time::Instant::now();
    let status = Command::new(env_or("CARGO", "cargo"))
        .args(args)
        .envs(envs.iter().copied())
        .status()
        .with_context(|| format!("running cargo {}", args.join(" ")))?;
    let took = started.elapsed().as_secs_f64();
    if !status.success() {
        bail!("`cargo {}` failed ({status}) after {took:.0} s", args.join(" "));
    }
    eprintln!("[{took:.0} s] cargo {}", args.join(" "));
    Ok(())
}

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_owned())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Cli, Step, Task, TaskOutcome, decide, torture::Layout};

    fn parse(args: &[&str]) -> Task {
        Cli::try_parse_from(std::iter::once("xtask").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"))
            .task
    }

    #[test]
    fn options_keep_their_defaults() {
        assert!(matches!(
            parse(&["torture"]),
            Task::Torture { kills: 500, seconds: None, layout: Layout::Both }
        ));
        assert!(matches!(
            parse(&["faults"]),
            Task::Faults { full: false, strict: false, op: None, points: 24 }
        ));
        let Task::Fuzz { seconds, target: None, seed: None, replay: None } = parse(&["fuzz"])
        else {
            panic!("fuzz")
        };
        assert!((seconds - 3.0).abs() < f64::EPSILON);
        assert!(matches!(parse(&["bench"]), Task::Bench { quick: false, only: None, json: None }));
    }

    #[test]
    fn ci_invocations_parse() {
        assert!(matches!(
            parse(&["torture", "--kills", "1000", "--layout", "omicos"]),
            Task::Torture { kills: 1000, seconds: None, layout: Layout::Omicos }
        ));
        assert!(matches!(parse(&["fuzz", "--seconds", "2"]), Task::Fuzz { .. }));
        assert!(matches!(
            parse(&["faults", "--op", "atomic-write", "--full", "--strict"]),
            Task::Faults { full: true, strict: true, op: Some(_), points: 24 }
        ));
        assert!(matches!(parse(&["accounts", "--full"]), Task::Accounts { full: true }));
        assert!(matches!(parse(&["hostile"]), Task::Hostile { full: false }));
    }

    #[test]
    fn pytest_arguments_pass_through() {
        let Task::Python { release, pytest_args } = parse(&["python", "--release", "-k", "gil"])
        else {
            panic!("python")
        };
        assert!(release);
        assert_eq!(pytest_args, ["-k", "gil"]);
        let Task::Python { release, pytest_args } = parse(&["python", "-x", "--release"]) else {
            panic!("python")
        };
        assert!(!release, "main takes `--release` out of the pytest arguments");
        assert_eq!(pytest_args, ["-x", "--release"]);
    }

    #[test]
    fn child_roles_take_their_arguments_as_they_are() {
        let Task::HostileChild { args } =
            parse(&["hostile-child", "special", "check", "/tmp/x", "state/a.json"])
        else {
            panic!("hostile-child")
        };
        assert_eq!(args, ["special", "check", "/tmp/x", "state/a.json"]);
        let Task::TortureChild { args } = parse(&["torture-child", "ollim", "/tmp/r", "3", "42"])
        else {
            panic!("torture-child")
        };
        assert_eq!(args, ["ollim", "/tmp/r", "3", "42"]);
        assert!(matches!(
            parse(&["faults-child", "atomic-write", "/tmp/d"]),
            Task::FaultsChild { .. }
        ));
    }

    #[test]
    fn a_skip_fails_ci_unless_allowed() {
        let skipped = TaskOutcome::Skipped("`mkfs.xfs` is not installed".into());
        let error = decide(&skipped, Step::Powercut, &[]).expect_err("a skip fails ci").to_string();
        assert!(error.contains("powercut"), "{error}");
        assert!(error.contains("`mkfs.xfs` is not installed"), "{error}");
        assert!(error.contains("--allow-skip powercut"), "{error}");
        // Allowing another step does not allow this one.
        assert!(decide(&skipped, Step::Powercut, &[Step::Coarse]).is_err());
        assert!(decide(&skipped, Step::Powercut, &[Step::Coarse, Step::Powercut]).is_ok());
        assert!(decide(&TaskOutcome::Ran, Step::Coarse, &[]).is_ok());
    }

    #[test]
    fn allow_skip_is_repeatable_and_names_a_step() {
        let Task::Ci { allow_skip } =
            parse(&["ci", "--allow-skip", "powercut", "--allow-skip", "coarse"])
        else {
            panic!("ci")
        };
        assert_eq!(allow_skip, [Step::Powercut, Step::Coarse]);
        assert!(matches!(parse(&["ci"]), Task::Ci { allow_skip } if allow_skip.is_empty()));
        assert!(Cli::try_parse_from(["xtask", "ci", "--allow-skip", "fuzz"]).is_err());
    }
}
