//! The `dotdir` command as a library: `inspect`, `check [--fix]`, `backup`, `restore`, `init`,
//! `push` and `clone` for any declared [`Layout`] — ollim-bot's and omicos' (the `dotdir`
//! binary) or a downstream app's own data directory, in a few lines:
//!
//! ```no_run
//! use dotdir_engine::{Entry, Format, Layout, Location};
//!
//! const NOTES: Layout = Layout::new(
//!     "notes",
//!     "the data directory of a notes app",
//!     &[Entry::file("notes/*.md", Format::Text, "a note"), Entry::dir("notes", "the notes")],
//! )
//! .located(Location::Home { name: ".notes", env: Some("NOTES_DIR") });
//!
//! fn main() -> std::process::ExitCode {
//!     dotdir_cli::Cli::new("notes-data").about("Look after ~/.notes").layout(&NOTES).run()
//! }
//! ```
//!
//! Everything the command knows comes from the layouts it is given: their names (`--layout`),
//! default locations ([`Layout::location`]: where it looks when no DIR is given, and how it
//! recognises a directory by name), the program that owns them ([`Layout::program`]: what
//! `check --fix` will not race) and their entries. It only presents. Human output by default
//! (colour only on a terminal), `--json` on every command. Exit codes: 0 no errors, 1 errors
//! found, 2 usage or I/O error.
//!
//! A directory must fit its layout (its declared fingerprint, [`Layout::fingerprint`], not
//! `$HOME`) before anything writes to it: `check --fix`, `init` over a non-empty directory,
//! `restore --force`, `clone`, `backup` and `push` refuse one that does not, unless the person
//! names the layout and forces (`--layout L --force`); `$HOME` and `/` always. A path inside a
//! data directory works on its root. `check` and `inspect` still read a misfit and report it.
//!
//! # Features
//! - `builtin` (default): the ollim-bot and omicos layouts ([`Cli::builtin`]) and the `demo`
//!   command, through the `dotdir` facade. Without it the crate needs only the engine.
//!
//! # Limitations
//! - Unix only, as the engine. `run` reads the process' arguments and environment and writes to
//!   stdout/stderr; it is meant to be the whole of a `main`.

mod backup;
mod check;
#[cfg(feature = "builtin")]
mod demo;
mod init;
mod inspect;
mod layouts;
#[cfg(feature = "git")]
mod remote;
mod style;

use std::{io::Write, path::PathBuf, process::ExitCode};

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, builder::PossibleValuesParser};
use dotdir_engine::Layout;

use crate::layouts::Layouts;

/// A data-directory command for a set of layouts; [`Cli::run`] is the whole of a `main`.
#[derive(Debug, Clone)]
#[must_use]
pub struct Cli {
    name: &'static str,
    about: Option<&'static str>,
    version: Option<&'static str>,
    layouts: Vec<&'static Layout>,
    demo: bool,
}

impl Cli {
    /// A command called `name` (as its help and errors name it) serving no layout yet.
    pub fn new(name: &'static str) -> Self {
        Self { name, about: None, version: None, layouts: Vec::new(), demo: false }
    }

    /// The `dotdir` command: ollim-bot's and omicos' layouts, and `demo`.
    #[cfg(feature = "builtin")]
    pub fn builtin() -> Self {
        Self::new("dotdir")
            .about("Inspect, check, repair, back up and restore the data directory of a local agent app.")
            .layouts(dotdir::LAYOUTS)
            .with_demo()
    }

    /// The one-line description `--help` opens with.
    pub fn about(mut self, about: &'static str) -> Self {
        self.about = Some(about);
        self
    }

    /// The version `--version` prints (default: this crate's).
    pub fn version(mut self, version: &'static str) -> Self {
        self.version = Some(version);
        self
    }

    /// Serves `layout` too. The first layout that fits a directory wins when several could.
    pub fn layout(mut self, layout: &'static Layout) -> Self {
        debug_assert_eq!(
            layout.lint(),
            Vec::<String>::new(),
            "the layout {} is unsound",
            layout.name
        );
        self.layouts.push(layout);
        self
    }

    /// Serves every layout of `layouts`.
    pub fn layouts(mut self, layouts: impl IntoIterator<Item = &'static Layout>) -> Self {
        for layout in layouts {
            self = self.layout(layout);
        }
        self
    }

    /// Adds `demo`: builds populated ollim-bot and omicos directories through the library, then
    /// inspects, checks, repairs, backs up and restores them.
    #[cfg(feature = "builtin")]
    pub fn with_demo(mut self) -> Self {
        self.demo = true;
        self
    }

    /// The clap command, with this command's name, help and layout names.
    fn command(&self) -> clap::Command {
        let names: Vec<&'static str> = self.layouts.iter().map(|l| l.name).collect();
        let locations: Vec<String> = self
            .layouts
            .iter()
            .filter(|l| l.location.dir_name().is_some())
            .map(|l| format!("{} ({})", l.location.describe(), l.name))
            .collect();
        let mut after_help = String::from(
            "Exit codes: 0 no errors (warnings and notices only), 1 errors found (with --strict also \
warnings; after --fix: a repair failed or was refused), 2 usage or I/O error.\n",
        );
        if !locations.is_empty() {
            after_help.push_str(&format!("Default locations: {}.\n", locations.join(", ")));
        }
        after_help
            .push_str("DOTDIR_NOW=<unix seconds> pins the time retention is measured against.");
        if self.demo {
            after_help.push_str(&format!(
                "\nStart with `{} demo` to see a populated sample data directory.",
                self.name
            ));
        }
        let mut command = Args::command()
            .name(self.name)
            .bin_name(self.name)
            .after_help(after_help)
            .mut_subcommand("demo", |c| c.hide(!self.demo));
        if let Some(about) = self.about {
            command = command.about(about);
        }
        if let Some(version) = self.version {
            command = command.version(version);
        }
        // A command whose layouts keep no git journal offers no `push` or `clone`.
        #[cfg(feature = "git")]
        {
            let git = self.layouts.iter().any(|l| l.has_journal());
            command = command
                .mut_subcommand("push", |c| c.hide(!git))
                .mut_subcommand("clone", |c| c.hide(!git));
        }
        let subcommands: Vec<String> =
            command.get_subcommands().map(|c| c.get_name().to_owned()).collect();
        for sub in subcommands.iter().filter(|s| s.as_str() != "demo") {
            let names = names.clone();
            command = command.mut_subcommand(sub, |c| {
                c.mut_arg("layout", |a| a.value_parser(PossibleValuesParser::new(names)))
            });
        }
        command
    }

    /// Parses the process' arguments, runs the command, and returns its exit code.
    pub fn run(self) -> ExitCode {
        self.run_from(std::env::args_os())
    }

    /// Like [`Cli::run`] with these arguments (the first is the program's name).
    pub fn run_from<I, T>(self, args: I) -> ExitCode
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
        let matches = match self.command().try_get_matches_from(&args) {
            Ok(matches) => matches,
            // A usage error is a JSON document too when `--json` was asked for (help and
            // version are not errors).
            Err(error)
                if args.iter().any(|a| a == "--json")
                    && !matches!(
                        error.kind(),
                        clap::error::ErrorKind::DisplayHelp
                            | clap::error::ErrorKind::DisplayVersion
                            | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                    ) =>
            {
                let message = error.render().to_string();
                let message = message.trim().trim_start_matches("error: ").to_owned();
                let document = serde_json::json!({"error": message, "causes": [], "usage": true});
                let _ = print_json(&mut std::io::stdout().lock(), "usage", None, document);
                return ExitCode::from(2);
            }
            Err(error) => error.exit(),
        };
        let cli = match Args::from_arg_matches(&matches) {
            Ok(cli) => cli,
            Err(error) => error.exit(),
        };
        let start_hint = self.demo.then(|| format!("run `{} demo` to see a sample", self.name));
        let layouts = Layouts { all: self.layouts.clone(), start_hint, command: self.name };
        let style = style::Style::new(cli.color, self.name);
        let name = cli.command.name();
        let result = self.dispatch(&layouts, cli.command, cli.json, &style);
        finish(result, cli.json.then_some(name), &style)
    }

    fn dispatch(
        &self,
        layouts: &Layouts,
        command: Command,
        json: bool,
        style: &style::Style,
    ) -> anyhow::Result<Outcome> {
        match command {
            #[cfg(feature = "builtin")]
            Command::Demo { dir } if self.demo => demo::run(dir.as_deref(), json, style),
            Command::Demo { .. } => anyhow::bail!("{} has no demo", self.name),
            Command::Inspect { dir, layout, all } => {
                inspect::run(layouts.resolve(dir, layout)?, all, json, style)
            }
            Command::Check { dir, layout, fix, strict, force, assume_stopped } => {
                // Naming the layout and forcing is what says a person means it.
                let overridden = layout.is_some() && force;
                let targets = layouts.resolve(dir, layout)?;
                if fix {
                    for target in &targets.list {
                        let retry = format!(
                            "{} check --fix --layout {} --force {}",
                            self.name,
                            target.layout.name,
                            target.dir.display()
                        );
                        layouts.ensure_fits(
                            &target.dir,
                            target.layout,
                            "repair",
                            overridden,
                            &retry,
                        )?;
                    }
                }
                check::run(targets, fix.then_some(assume_stopped), strict, json, style)
            }
            Command::Backup { verify: Some(archive), .. } => {
                backup::verify(layouts, &archive, json, style)
            }
            Command::Backup { dir, layout, out, list, force, verify: None } => {
                let overridden = layout.is_some() && force;
                let targets = layouts.resolve(dir, layout)?;
                let options = backup::Options { list, force, overridden };
                backup::run(layouts, targets, out.as_deref(), options, json, style)
            }
            Command::Restore { archive, dir, force, layout, assume_stopped } => {
                let force = force.then_some(assume_stopped);
                backup::restore(layouts, &archive, &dir, force, layout.as_deref(), json, style)
            }
            Command::Init { layout: name, dir, force } => {
                let overridden = name.is_some() && force;
                let layout = layouts.for_init(layouts.named(name.as_deref())?)?;
                init::ensure_may_init(layouts, &dir, layout, overridden)?;
                init::run(&dir, layout, json, style)
            }
            #[cfg(feature = "git")]
            Command::Push { dir, layout, to, remote, force } => {
                let overridden = layout.is_some() && force;
                let targets = layouts.resolve(dir, layout)?;
                for target in &targets.list {
                    let retry = format!(
                        "{} push --layout {} --force {}",
                        self.name,
                        target.layout.name,
                        target.dir.display()
                    );
                    layouts.ensure_fits(&target.dir, target.layout, "push", overridden, &retry)?;
                }
                remote::push(targets, to.as_deref(), &remote, json, style)
            }
            #[cfg(feature = "git")]
            Command::Clone { url, dir, layout, force } => {
                let layout = layouts.named(layout.as_deref())?;
                let overridden = layout.is_some() && force;
                remote::clone(layouts, &url, &dir, layout, overridden, json, style)
            }
        }
    }
}

/// The arguments; the command's name, help and `--layout` values are set at run time from the
/// [`Cli`] that parses them.
#[derive(Debug, Parser)]
#[command(version, long_about = None)]
struct Args {
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
        #[arg(long)]
        layout: Option<String>,
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
        #[arg(long)]
        layout: Option<String>,
        /// Apply the repairs that lose nothing and report what was done. While the application
        /// runs, only repairs that cannot race it are made.
        #[arg(long)]
        fix: bool,
        /// Count warnings as errors (exit 1).
        #[arg(long)]
        strict: bool,
        /// With --fix and --layout: repair a directory that does not fit the layout (its
        /// fingerprint is missing). Never your home directory or /.
        #[arg(long, requires = "fix")]
        force: bool,
        /// With --fix: you know the application is stopped. Used only when dotdir cannot tell
        /// (no /proc, another user's process, a pid record it cannot verify); never against a
        /// process it sees running.
        #[arg(long, requires = "fix")]
        assume_stopped: bool,
    },
    /// Archive everything the layout does not mark re-creatable or ephemeral (never a secret)
    /// into a .tar.gz with a SHA-256 manifest, verified before it takes its name.
    Backup {
        /// The data directory (default: the one default location that exists).
        dir: Option<PathBuf>,
        /// The layout to read it with (default: detected).
        #[arg(long)]
        layout: Option<String>,
        /// The archive to write (`.tar.gz`).
        #[arg(long, value_name = "FILE", required_unless_present_any = ["list", "verify"])]
        out: Option<PathBuf>,
        /// Replace an existing archive at --out; with --layout also back up a directory that
        /// does not fit the layout. Never your home directory or /.
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
        /// Restore over a non-empty directory that fits the archive's layout, moving it aside
        /// first (never while its application runs; never your home directory or /).
        #[arg(long)]
        force: bool,
        /// With --force: the archive's layout, named to replace a directory that does not fit
        /// it (moved aside all the same).
        #[arg(long, requires = "force")]
        layout: Option<String>,
        /// With --force: you know the application is stopped. Used only when dotdir cannot
        /// tell; never against a process it sees running.
        #[arg(long, requires = "force")]
        assume_stopped: bool,
    },
    /// Create a data directory: its directories with their modes, a git repository and the
    /// derived `.gitignore`.
    Init {
        /// The layout to create (default: the only one the command serves).
        #[arg(long)]
        layout: Option<String>,
        /// Where to create it (new, empty, or a data directory of the layout).
        dir: PathBuf,
        /// With --layout: initialise an existing directory that does not fit the layout. Never
        /// your home directory or /.
        #[arg(long)]
        force: bool,
    },
    /// Push the data directory's git journal with your own `git` (file, ssh, https, git
    /// transports, your credentials). Every commit to send is audited first: a path the layout
    /// excludes (a secret, ephemeral state) anywhere in it refuses the push.
    #[cfg(feature = "git")]
    Push {
        /// The data directory (default: the one default location that exists).
        dir: Option<PathBuf>,
        /// The layout to read it with (default: detected).
        #[arg(long)]
        layout: Option<String>,
        /// Where to push (a URL, `host:path`, or a path relative to the working directory);
        /// remembered as the remote once a push to it succeeded, so it is needed once.
        #[arg(long, value_name = "URL")]
        to: Option<String>,
        /// The remote's name.
        #[arg(long, value_name = "NAME", default_value = "origin")]
        remote: String,
        /// With --layout: push a directory that does not fit the layout. Never your home
        /// directory or /.
        #[arg(long)]
        force: bool,
    },
    /// Bring a data directory up from a remote: clone it, create the layout's untracked
    /// directories with their modes, and list what must be re-created (secrets, ephemeral state).
    #[cfg(feature = "git")]
    Clone {
        /// The repository to clone (a URL or a path).
        url: String,
        /// Where to put it (must not exist, or be empty).
        dir: PathBuf,
        /// The layout it follows (default: detected after the clone).
        #[arg(long)]
        layout: Option<String>,
        /// With --layout: keep a clone that does not fit the layout.
        #[arg(long)]
        force: bool,
    },
}

impl Command {
    /// The command's name, as `--json` documents carry it (`"command"`).
    fn name(&self) -> &'static str {
        match self {
            Command::Demo { .. } => "demo",
            Command::Inspect { .. } => "inspect",
            Command::Check { .. } => "check",
            Command::Backup { verify: Some(_), .. } => "verify",
            Command::Backup { .. } => "backup",
            Command::Restore { .. } => "restore",
            Command::Init { .. } => "init",
            #[cfg(feature = "git")]
            Command::Push { .. } => "push",
            #[cfg(feature = "git")]
            Command::Clone { .. } => "clone",
        }
    }
}

/// What a command found: decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Clean,
    Problems,
}

/// The version of the shape of every `--json` document, described by `docs/json-schema.json`.
pub const JSON_SCHEMA_VERSION: u32 = 1;

/// Prints one `--json` document: an object that opens with `"schema"` (its version),
/// `"command"` and `"root"` (the data directory, `null` when the command has none or works on
/// several, which are then in `"directories"`), then the command's own fields.
pub(crate) fn print_json(
    out: &mut impl Write,
    command: &str,
    root: Option<&std::path::Path>,
    fields: serde_json::Value,
) -> anyhow::Result<()> {
    let mut document = serde_json::Map::new();
    document.insert("schema".into(), JSON_SCHEMA_VERSION.into());
    document.insert("command".into(), command.into());
    document.insert(
        "root".into(),
        root.map_or(serde_json::Value::Null, |r| r.display().to_string().into()),
    );
    if let serde_json::Value::Object(fields) = fields {
        for (key, value) in fields {
            if key != "root" {
                document.insert(key, value);
            }
        }
    }
    writeln!(out, "{}", serde_json::to_string_pretty(&serde_json::Value::Object(document))?)?;
    Ok(())
}

/// The exit code of a command's result, with the error printed (as JSON under `--json`).
fn finish(result: anyhow::Result<Outcome>, json: Option<&str>, style: &style::Style) -> ExitCode {
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
        // Every message is redacted once more: no credential in a URL is ever printed, whoever
        // quoted it.
        Err(error) if let Some(command) = json => {
            // Scripts read stdout: the error is a JSON document there too.
            let causes: Vec<String> =
                error.chain().map(|e| dotdir_git_journal::redact_text(&e.to_string())).collect();
            let message = dotdir_git_journal::redact_text(&format!("{error:#}"));
            let document = serde_json::json!({"error": message, "causes": causes});
            let _ = print_json(&mut std::io::stdout().lock(), command, None, document);
            ExitCode::from(2)
        }
        Err(error) => {
            let mut err = std::io::stderr().lock();
            let message = dotdir_git_journal::redact_text(&format!("{error:#}"));
            let _ = writeln!(err, "{} {}", style.error("error:"), style::clean(&message));
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The subcommands `--help` lists.
    fn listed(cli: &Cli) -> Vec<String> {
        cli.command()
            .get_subcommands()
            .filter(|c| !c.is_hide_set())
            .map(|c| c.get_name().to_owned())
            .collect()
    }

    #[test]
    fn a_command_without_a_git_journal_offers_no_push_or_clone() {
        let without = Cli::new("omicos-data").layout(&dotdir::omicos::HOME_LAYOUT);
        let listed_without = listed(&without);
        assert!(!listed_without.iter().any(|c| c == "push" || c == "clone"), "{listed_without:?}");
        assert!(listed_without.iter().any(|c| c == "backup"), "{listed_without:?}");
        let with = Cli::new("bot-data").layout(&dotdir::ollim::LAYOUT);
        let listed_with = listed(&with);
        assert!(
            listed_with.iter().any(|c| c == "push") && listed_with.iter().any(|c| c == "clone")
        );
    }
}
