//! The layouts the command knows, their default locations, and which layout a directory follows.

use std::{
    path::{Path, PathBuf},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, Result, bail};
use dotdir::Layout;

/// A layout by its command-line name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LayoutName {
    /// `~/.ollim-bot` (or `$OLLIM_DATA_DIR`).
    OllimBot,
    /// `~/.omicos` (or `$OMICOS_LOCAL_HOME`).
    OmicosHome,
    /// `<workspace>/.omicos`.
    OmicosWorkspace,
}

pub(crate) const ALL: [LayoutName; 3] =
    [LayoutName::OllimBot, LayoutName::OmicosHome, LayoutName::OmicosWorkspace];

impl LayoutName {
    pub(crate) fn layout(self) -> &'static Layout {
        match self {
            LayoutName::OllimBot => &dotdir::ollim::LAYOUT,
            LayoutName::OmicosHome => &dotdir::omicos::HOME_LAYOUT,
            LayoutName::OmicosWorkspace => &dotdir::omicos::WORKSPACE_LAYOUT,
        }
    }

    /// The program whose process holds the layout's pid lock.
    pub(crate) fn program(self) -> &'static str {
        match self {
            LayoutName::OllimBot => "ollim-bot",
            LayoutName::OmicosHome | LayoutName::OmicosWorkspace => "omicos",
        }
    }

    /// The default location, from the environment; `None` when it cannot be computed.
    pub(crate) fn default_dir(self) -> Option<PathBuf> {
        let env_dir =
            |var: &str| std::env::var_os(var).filter(|v| !v.is_empty()).map(PathBuf::from);
        let home = || env_dir("HOME");
        match self {
            LayoutName::OllimBot => {
                env_dir("OLLIM_DATA_DIR").or_else(|| home().map(|h| h.join(".ollim-bot")))
            }
            LayoutName::OmicosHome => {
                env_dir("OMICOS_LOCAL_HOME").or_else(|| home().map(|h| h.join(".omicos")))
            }
            LayoutName::OmicosWorkspace => Some(
                env_dir("OMICOS_WORKSPACE_ROOT")
                    .unwrap_or_else(|| PathBuf::from("."))
                    .join(".omicos"),
            ),
        }
    }

    fn from_layout_name(name: &str) -> Option<Self> {
        ALL.into_iter().find(|l| l.layout().name == name)
    }
}

/// A data directory and the layout it is read with.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) dir: PathBuf,
    pub(crate) name: LayoutName,
}

impl Target {
    pub(crate) fn layout(&self) -> &'static Layout {
        self.name.layout()
    }

    pub(crate) fn check_options(&self) -> Result<dotdir::check::Options> {
        Ok(dotdir::check::Options::default().now(now()?).program(self.name.program()))
    }
}

/// The directories a command works on: `dir` with its layout (forced or detected), or every
/// default location that exists.
pub(crate) fn targets(dir: Option<&Path>, forced: Option<LayoutName>) -> Result<Vec<Target>> {
    if let Some(dir) = dir {
        return Ok(vec![target(dir, forced)?]);
    }
    // Run from inside a data directory: that one.
    if let Ok(cwd) = std::env::current_dir()
        && let Some(name) = by_name(&cwd)
        && forced.is_none_or(|forced| forced == name)
    {
        return Ok(vec![Target { dir: cwd, name }]);
    }
    let candidates: Vec<LayoutName> = match forced {
        Some(name) => vec![name],
        None => ALL.to_vec(),
    };
    let mut looked = Vec::new();
    let mut found = Vec::new();
    for name in candidates {
        let Some(dir) = name.default_dir() else { continue };
        if dir.is_dir() {
            found.push(Target { dir, name });
        } else {
            looked.push(dir.display().to_string());
        }
    }
    if found.is_empty() {
        bail!(
            "no data directory found (looked in {}): pass a DIR, or run `dotdir demo` to see a sample",
            looked.join(", ")
        );
    }
    Ok(found)
}

/// One data directory with its layout, forced or detected.
pub(crate) fn target(dir: &Path, forced: Option<LayoutName>) -> Result<Target> {
    let meta = std::fs::metadata(dir)
        .with_context(|| format!("cannot open {}: check the path", dir.display()))?;
    if !meta.is_dir() {
        bail!("{} is not a directory: pass the data directory itself", dir.display());
    }
    if let Some(name) = forced {
        return Ok(Target { dir: dir.to_path_buf(), name });
    }
    let layouts: Vec<&Layout> = ALL.iter().map(|l| l.layout()).collect();
    let detected = dotdir::inspect::detect(dir, &layouts)
        .and_then(|l| LayoutName::from_layout_name(l.name))
        .or_else(|| by_name(dir));
    match detected {
        Some(name) => Ok(Target { dir: dir.to_path_buf(), name }),
        None => bail!(
            "cannot tell which layout {} follows: pass --layout ollim-bot, omicos-home or omicos-workspace",
            dir.display()
        ),
    }
}

/// The layout a directory's name suggests: `.ollim-bot…`, or `.omicos` (the home when it is the
/// home's default location, else a workspace's). `.` and `..` are resolved first.
fn by_name(dir: &Path) -> Option<LayoutName> {
    let dir = dir.canonicalize().ok()?;
    let name = dir.file_name()?.to_string_lossy();
    if name.starts_with(".ollim-bot") {
        return Some(LayoutName::OllimBot);
    }
    if name != ".omicos" {
        return None;
    }
    let home = LayoutName::OmicosHome.default_dir().and_then(|home| home.canonicalize().ok());
    Some(if home.as_deref() == Some(dir.as_path()) {
        LayoutName::OmicosHome
    } else {
        LayoutName::OmicosWorkspace
    })
}

/// The time checks measure retention against: now, or `DOTDIR_NOW` (unix seconds) for
/// reproducible runs.
pub(crate) fn now() -> Result<SystemTime> {
    match std::env::var("DOTDIR_NOW") {
        Ok(value) => {
            let secs: f64 = value
                .trim()
                .parse()
                .with_context(|| format!("DOTDIR_NOW={value:?} is not unix seconds: unset it"))?;
            Ok(UNIX_EPOCH + Duration::from_secs_f64(secs.max(0.0)))
        }
        Err(_) => Ok(SystemTime::now()),
    }
}
