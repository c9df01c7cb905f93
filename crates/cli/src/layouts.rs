//! The layouts a command serves, their default locations, and which layout a directory follows:
//! all of it read from the declarations ([`Layout::location`], [`Layout::program`]).

use std::{
    io::Write,
    path::{Path, PathBuf},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, Result, bail};
use dotdir_engine::{
    Layout,
    inspect::{Fit, is_home_or_root},
};

/// The layouts a command was built with.
#[derive(Debug, Clone)]
pub(crate) struct Layouts {
    pub(crate) all: Vec<&'static Layout>,
    /// Where a newcomer without a data directory can start (`dotdir demo`).
    pub(crate) start_hint: Option<String>,
    /// The command's name, as refusals tell people what to run.
    pub(crate) command: &'static str,
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

    /// One data directory with its layout, forced or recognised: `dir` itself when it fits
    /// one (the forced one, else any: [`dotdir_engine::inspect::detect`]); else the data
    /// directory `dir` lies inside, with a line on standard error saying so (a path inside a
    /// data directory is never a root of its own); else `dir` with the forced layout, the only
    /// one, or the one it is named after — which it does not fit, so every command that writes
    /// refuses it ([`Layouts::ensure_fits`]) and `check` and `inspect` report it.
    pub(crate) fn target(&self, dir: &Path, forced: Option<&'static Layout>) -> Result<Target> {
        let meta = std::fs::metadata(dir)
            .with_context(|| format!("cannot open {}: check the path", dir.display()))?;
        if !meta.is_dir() {
            bail!("{} is not a directory: pass the data directory itself", dir.display());
        }
        let candidates: Vec<&'static Layout> = match forced {
            Some(layout) => vec![layout],
            None => self.all.clone(),
        };
        if let Some(layout) = dotdir_engine::inspect::detect(dir, &candidates) {
            return Ok(Target { dir: dir.to_path_buf(), layout });
        }
        if let Some((root, layout)) = dotdir_engine::inspect::enclosing(dir, &candidates) {
            // On standard error: it never changes what a script reads on standard output.
            let _ = writeln!(
                std::io::stderr().lock(),
                "note: {} is inside the {} data directory {}: working on {}",
                dir.display(),
                layout.name,
                root.display(),
                root.display()
            );
            return Ok(Target { dir: root, layout });
        }
        let single = match self.all[..] {
            [layout] => Some(layout),
            _ => None,
        };
        if let Some(layout) = forced.or(single) {
            return Ok(Target { dir: dir.to_path_buf(), layout });
        }
        if is_home_or_root(dir) {
            bail!(
                "{} is your home directory (or /), never a data directory: pass the data directory itself{}",
                dir.display(),
                self.example_locations()
            );
        }
        match dotdir_engine::inspect::by_name(dir, &self.all) {
            Some(layout) => Ok(Target { dir: dir.to_path_buf(), layout }),
            None => bail!(
                "cannot tell which layout {} follows: it fits none ({}): pass --layout {} to read it with one",
                dir.display(),
                self.all
                    .iter()
                    .filter_map(|l| dotdir_engine::inspect::fit(dir, l).ok())
                    .map(|f| format!("{}: {}", f.layout, f.explain()))
                    .collect::<Vec<_>>()
                    .join("; "),
                self.names()
            ),
        }
    }

    /// ` (for example ~/.ollim-bot)`, from the layouts' default locations.
    fn example_locations(&self) -> String {
        let locations: Vec<String> = self
            .all
            .iter()
            .filter(|l| l.location.dir_name().is_some())
            .map(|l| l.location.describe())
            .collect();
        if locations.is_empty() { String::new() } else { format!(" ({})", locations.join(", ")) }
    }

    /// Refuses to `action` (`repair`, `back up`, …) `dir` — which the command would write to or
    /// archive — unless it fits `layout`. `$HOME` and `/` are refused always. A directory that
    /// does not fit is refused unless `overridden` (the person named the layout and passed
    /// `--force`); `retry` is the command that overrides, shown in the refusal.
    pub(crate) fn ensure_fits(
        &self,
        dir: &Path,
        layout: &'static Layout,
        action: &str,
        overridden: bool,
        retry: &str,
    ) -> Result<()> {
        if is_home_or_root(dir) {
            bail!(
                "refusing to {action} {}: it is your home directory (or /), never a data directory, and --force does not change that; pass the data directory itself{}",
                dir.display(),
                self.example_locations()
            );
        }
        let fit = dotdir_engine::inspect::fit(dir, layout).with_context(|| {
            format!("cannot read {}: check that you may read it", dir.display())
        })?;
        if fit.fits() || overridden {
            return Ok(());
        }
        bail!(
            "refusing to {action} {}: it does not fit the {} layout ({}){}; nothing was written. If it really is one, run `{retry}`",
            dir.display(),
            layout.name,
            fit.explain(),
            self.fitting_others(dir, layout)
        );
    }

    /// `; it fits the omicos-home layout`: the other layouts `dir` fits, if any.
    pub(crate) fn fitting_others(&self, dir: &Path, layout: &Layout) -> String {
        let others: Vec<&str> = self
            .all
            .iter()
            .filter(|l| l.name != layout.name)
            .filter(|l| dotdir_engine::inspect::fit(dir, l).is_ok_and(|f| f.fits()))
            .map(|l| l.name)
            .collect();
        match &others[..] {
            [] => String::new(),
            names => format!("; it fits the {} layout", names.join(" and ")),
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
    /// How the directory measures up to its layout.
    pub(crate) fn fit(&self) -> Result<Fit> {
        dotdir_engine::inspect::fit(&self.dir, self.layout).with_context(|| {
            format!("cannot read {}: check that you may read it", self.dir.display())
        })
    }

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
