//! Where a layout's data directory lives by default, and what makes a directory one of its own.

use std::path::PathBuf;

/// Where a layout's data directory lives when nobody names it, and the directory name by which
/// a tool recognises one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// In the user's home: `$env` when it is set (the directory itself), else `$HOME/<name>`
    /// (`~/.ollim-bot`, `~/.omicos`, `~/.claude`).
    Home {
        /// The directory's name in the home.
        name: &'static str,
        /// A variable that names the directory itself, overriding the default.
        env: Option<&'static str>,
    },
    /// In a project: `$env/<name>` when `env` is set (the project root), else `./<name>` in
    /// the current directory (`<workspace>/.omicos`).
    Project {
        /// The directory's name in the project.
        name: &'static str,
        /// A variable that names the project root.
        env: Option<&'static str>,
    },
    /// No default location: the directory is always named.
    Anywhere,
}

impl Location {
    /// The default directory, from the environment; `None` for [`Location::Anywhere`] or when
    /// `$HOME` is unset.
    pub fn default_dir(&self) -> Option<PathBuf> {
        self.dir_in(|name| std::env::var_os(name))
    }

    /// The default directory in an environment `var` looks names up in (another process's,
    /// read from `/proc/<pid>/environ`); relative to that process's working directory when
    /// relative.
    pub fn dir_in(&self, var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
        let var = |name: Option<&str>| var(name?).filter(|v| !v.is_empty()).map(PathBuf::from);
        match *self {
            Location::Home { name, env } => {
                var(env).or_else(|| var(Some("HOME")).map(|home| home.join(name)))
            }
            Location::Project { name, env } => {
                Some(var(env).unwrap_or_else(|| PathBuf::from(".")).join(name))
            }
            Location::Anywhere => None,
        }
    }

    /// The directory name a data directory of this layout has (`.ollim-bot`), if it has one.
    pub const fn dir_name(&self) -> Option<&'static str> {
        match *self {
            Location::Home { name, .. } | Location::Project { name, .. } => Some(name),
            Location::Anywhere => None,
        }
    }

    /// How people are told where it is: `$OLLIM_DATA_DIR or ~/.ollim-bot`.
    pub fn describe(&self) -> String {
        match *self {
            Location::Home { name, env: Some(env) } => format!("${env} or ~/{name}"),
            Location::Home { name, env: None } => format!("~/{name}"),
            Location::Project { name, env: Some(env) } => format!("${env}/{name} or ./{name}"),
            Location::Project { name, env: None } => format!("./{name}"),
            Location::Anywhere => "anywhere (always named)".to_owned(),
        }
    }
}

/// What must be present for a directory to be one of a layout's own: a data directory must fit
/// its layout before anything writes to it (`check --fix`, `init` over an existing directory,
/// `restore --force`, `clone`, `backup`), so a dotfiles repository at `$HOME` that holds a
/// `.claude/` is never taken for ollim-bot's directory.
///
/// Paths are relative, `/`-separated and literal (no globs). One ending in `/` must be a
/// directory; any other must exist and not be a directory (a file or a symlink). A directory
/// fits when **every** path of [`Fingerprint::all`] is there and, when [`Fingerprint::any`] is
/// not empty, **at least one** of its paths. Pick what the application always creates (its
/// state directory, its id file), never what a home directory may hold as well.
///
/// A layout that declares none gets a derived one: at least one of its literal top-level
/// entries (other than `.git` and `.gitignore`) — so an empty or foreign directory still fits
/// nothing. See [`crate::inspect::fit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Fingerprint {
    /// Every one of these must be present.
    pub all: &'static [&'static str],
    /// At least one of these must be present (ignored when empty).
    pub any: &'static [&'static str],
}

impl Fingerprint {
    /// Whether the layout declared no fingerprint (it gets the derived one).
    pub const fn is_empty(&self) -> bool {
        self.all.is_empty() && self.any.is_empty()
    }
}
