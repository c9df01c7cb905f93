//! The layouts a command serves, their default locations, and which layout a directory follows:
//! all of it read from the declarations ([`Layout::location`], [`Layout::program`]).

use std::{
    path::{Path, PathBuf},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, Result, bail};
use dotdir_engine::Layout;

/// The layouts a command was built with.
#[derive(Debug, Clone)]
pub(crate) struct Layouts {
    pub(crate) all: Vec<&'static Layout>,
    /// Where a newcomer without a data directory can start (`dotdir demo`).
    pub(crate) start_hint: Option<String>,
}

impl Layouts {
    /// The layout called `name` (`--layout`; clap has already refused other names).
    pub(crate) fn named(&self, name: Option<&str>) -> Result<Option<&'static Layout>> {
        let Some(name) = name else { return Ok(None) };
        match self.all.iter().find(|l| l.name == name) {
            Some(layout) => Ok(Some(layout)),
            None => bail!("no layout is called {name:?}: pass one of {}", self.names()),
        }
    }

    /// `a, b or c`.
    pub(crate) fn names(&self) -> String {
        let names: Vec<&str> = self.all.iter().map(|l| l.name).collect();
        match names.split_last() {
            Some((last, [])) => (*last).to_owned(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }

    /// [`Layouts::targets`] from the command line's `DIR` and `--layout`.
    pub(crate) fn resolve(&self, dir: Option<PathBuf>, layout: Option<String>) -> Result<Targets> {
        let list = self.targets(dir.as_deref(), self.named(layout.as_deref())?)?;
        Ok(Targets { list, named: dir.is_some() })
    }

    /// The directories a command works on: `dir` with its layout (forced or detected), or
    /// every default location that exists.
    pub(crate) fn targets(
        &self,
        dir: Option<&Path>,
        forced: Option<&'static Layout>,
    ) -> Result<Vec<Target>> {
        if let Some(dir) = dir {
            return Ok(vec![self.target(dir, forced)?]);
        }
        let candidates: Vec<&'static Layout> = match forced {
            Some(layout) => vec![layout],
            None => self.all.clone(),
        };
        // Run from inside a data directory: that one.
        if let Ok(cwd) = std::env::current_dir()
            && let Some(layout) = dotdir_engine::inspect::by_name(&cwd, &candidates)
        {
            return Ok(vec![Target { dir: cwd, layout }]);
        }
        let mut looked = Vec::new();
        let mut found = Vec::new();
        for layout in candidates {
            let Some(dir) = layout.location.default_dir() else { continue };
            if dir.is_dir() {
                found.push(Target { dir, layout });
            } else {
                looked.push(dir.display().to_string());
            }
        }
        if found.is_empty() {
            let hint = self.start_hint.as_deref().map(|h| format!(", or {h}")).unwrap_or_default();
            bail!("no data directory found (looked in {}): pass a DIR{hint}", looked.join(", "));
        }
        Ok(found)
    }

    /// One data directory with its layout, forced or recognised.
    pub(crate) fn target(&self, dir: &Path, forced: Option<&'static Layout>) -> Result<Target> {
        let meta = std::fs::metadata(dir)
            .with_context(|| format!("cannot open {}: check the path", dir.display()))?;
        if !meta.is_dir() {
            bail!("{} is not a directory: pass the data directory itself", dir.display());
        }
        if let Some(layout) = forced {
            return Ok(Target { dir: dir.to_path_buf(), layout });
        }
        if let [layout] = self.all[..] {
            return Ok(Target { dir: dir.to_path_buf(), layout });
        }
        match dotdir_engine::inspect::recognise(dir, &self.all) {
            Some(layout) => Ok(Target { dir: dir.to_path_buf(), layout }),
            None => bail!(
                "cannot tell which layout {} follows: pass --layout {}",
                dir.display(),
                self.names()
            ),
        }
    }

    /// The one layout `init` creates: `--layout`, or the only one there is.
    pub(crate) fn for_init(&self, forced: Option<&'static Layout>) -> Result<&'static Layout> {
        match (forced, &self.all[..]) {
            (Some(layout), _) | (None, &[layout]) => Ok(layout),
            (None, _) => bail!("which layout? pass --layout {}", self.names()),
        }
    }
}

/// The directories a command works on, and whether the user named one (its JSON is then one
/// document, not a list).
#[derive(Debug)]
pub(crate) struct Targets {
    pub(crate) list: Vec<Target>,
    pub(crate) named: bool,
}

/// A data directory and the layout it is read with.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) dir: PathBuf,
    pub(crate) layout: &'static Layout,
}

impl Target {
    /// Check options: the layout's own (its program), now or `DOTDIR_NOW`.
    pub(crate) fn check_options(&self) -> Result<dotdir_engine::check::Options> {
        Ok(dotdir_engine::check::Options::default().now(now()?))
    }
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
