//! The `dotdir` command: inspect, check, repair and back up the data directory of a local agent
//! application (ollim-bot's `~/.ollim-bot`, omicos' `~/.omicos` and `<workspace>/.omicos`).
//!
//! Everything it knows comes from the layouts the `dotdir` library declares; this binary only
//! presents. Human output by default (colour only on a terminal), `--json` on every command.
//! Exit codes: 0 clean, 1 problems found, 2 usage or I/O error.

mod backup;
mod check;
mod demo;
mod init;
mod inspect;
mod layouts;
mod style;

use std::{io::Write, path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};

use crate::layouts::LayoutName;

/// Inspect, check, repair and back up the data directory of a local agent app.
#[derive(Debug, Parser)]
#[command(name = "dotdir", version, about, long_about = None)]
#[command(
    after_help = "Exit codes: 0 no errors (warnings and notices only), 1 errors found (with \
--strict also warnings; after --fix: a repair failed or was refused), 2 usage or I/O error.\n\
Default locations: $OLLIM_DATA_DIR or ~/.ollim-bot, $OMICOS_LOCAL_HOME or ~/.omicos, \
$OMICOS_WORKSPACE_ROOT/.omicos or ./.omicos.\n\
DOTDIR_NOW=<unix seconds> pins the time retention is measured against.\n\
Start with `dotdir demo` to see a populated sample data directory."
)]
struct Cli {
    /// Print JSON for scripts instead of text for people.
    #[arg(long, global = true)]
    json: bool,
    /// When to use colour: auto (on a terminal), always, never.
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    color: style::ColorChoice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build a populated ollim-bot data directory and an omicos home and workspace in a temporary
    /// folder through the library, then inspect and check them.
    Demo {
        /// Build into this directory and keep it (default: a temporary folder, removed after).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Show the annotated tree of a data directory: what each entry is, size, mode, secret,
    /// tracked by git, backed up, retention; unknown entries are flagged.
    Inspect {
        /// The data directory (default: every default location that exists).
        dir: Option<PathBuf>,
        /// The layout to read it with (default: detected).
        #[arg(long, value_enum)]
        layout: Option<LayoutName>,
        /// Also list the empty lock sidecars (`<file>.lock`) next to the files they guard.
        #[arg(long)]
        all: bool,
    },
    /// Find every problem the layout can detect; `--fix` repairs what can be repaired without
    /// losing anything.
    Check {
        /// The data directory (default: every default location that exists).
        dir: Option<PathBuf>,
        /// The layout to read it with (default: detected).
        #[arg(long, value_enum)]
        layout: Option<LayoutName>,
        /// Apply the repairs that lose nothing and report what was done. While the application
        /// runs, only repairs that cannot race it are made.
        #[arg(long)]
        fix: bool,
        /// Count warnings as errors (exit 1).
        #[arg(long)]
        strict: bool,
    },
    /// Archive everything the layout does not mark re-creatable or ephemeral (never a secret)
    /// into a .tar.gz with a SHA-256 manifest, verified before it takes its name.
    Backup {
        /// The data directory (default: the one default location that exists).
        dir: Option<PathBuf>,
        /// The layout to read it with (default: detected).
        #[arg(long, value_enum)]
        layout: Option<LayoutName>,
        /// The archive to write (`.tar.gz`).
        #[arg(long, value_name = "FILE", required_unless_present_any = ["list", "verify"])]
        out: Option<PathBuf>,
        /// Replace an existing archive at --out.
        #[arg(long, requires = "out")]
        force: bool,
        /// Only show what would go in, and what stays out.
        #[arg(long, conflicts_with = "out")]
        list: bool,
        /// Check an existing archive against its manifest instead of writing one.
        #[arg(long, value_name = "ARCHIVE", conflicts_with_all = ["out", "list", "dir"])]
        verify: Option<PathBuf>,
    },
    /// Restore a backup into a new or empty directory: verified first, then extracted beside it
    /// and moved into place; lists the secrets to re-create.
    Restore {
        /// The archive `dotdir backup` wrote.
        archive: PathBuf,
        /// Where to restore it (must not exist or be empty).
        dir: PathBuf,
        /// Restore over a non-empty directory, moving it aside first (never while its
        /// application runs).
        #[arg(long)]
        force: bool,
    },
    /// Create a data directory: its directories with their modes, a git repository and the
    /// derived `.gitignore`.
    Init {
        /// The layout to create.
        #[arg(long, value_enum)]
        layout: LayoutName,
        /// Where to create it.
        dir: PathBuf,
    },
}

/// What a command found: decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Clean,
    Problems,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let style = style::Style::new(cli.color);
    let result = match cli.command {
        Command::Demo { dir } => demo::run(dir.as_deref(), cli.json, &style),
        Command::Inspect { dir, layout, all } => {
            inspect::run(dir.as_deref(), layout, all, cli.json, &style)
        }
        Command::Check { dir, layout, fix, strict } => {
            check::run(dir.as_deref(), layout, fix, strict, cli.json, &style)
        }
        Command::Backup { verify: Some(archive), .. } => backup::verify(&archive, cli.json, &style),
        Command::Backup { dir, layout, out, list, force, verify: None } => {
            backup::run(dir.as_deref(), layout, out.as_deref(), list, force, cli.json, &style)
        }
        Command::Restore { archive, dir, force } => {
            backup::restore(&archive, &dir, force, cli.json, &style)
        }
        Command::Init { layout, dir } => init::run(&dir, layout, cli.json, &style),
    };
    match result {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Problems) => ExitCode::from(1),
        // A reader that stopped reading (`dotdir inspect | head`) is not an error.
        Err(error)
            if error
                .chain()
                .filter_map(|e| e.downcast_ref::<std::io::Error>())
                .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(error) if cli.json => {
            // Scripts read stdout: the error is a JSON document there too.
            let causes: Vec<String> = error.chain().map(ToString::to_string).collect();
            let document = serde_json::json!({"error": format!("{error:#}"), "causes": causes});
            let _ = writeln!(std::io::stdout().lock(), "{document:#}");
            ExitCode::from(2)
        }
        Err(error) => {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{} {error:#}", style.error("error:"));
            ExitCode::from(2)
        }
    }
}
