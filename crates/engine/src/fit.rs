//! Whether a directory fits a layout: its declared [`Fingerprint`](crate::Fingerprint) is there,
//! and it is not the user's home directory or `/`. A directory must fit its layout before
//! anything writes to it; [`fit`] says what is missing and what is foreign, so a refusal can
//! name both. Re-exported from [`crate::inspect`].

use crate::Step;
use std::{
    fs,
    path::{Path, PathBuf},
};

use crate::{Error, IoError, Layout, inspect::could_contain};

/// How a directory measures up to a layout ([`fit`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Fit {
    /// The directory.
    pub root: PathBuf,
    /// The layout it was measured against.
    pub layout: &'static str,
    /// The parts of the fingerprint that are absent: a path (`state/`), or `one of a, b, c`
    /// for an any-of part none of whose paths is there.
    pub missing: Vec<String>,
    /// Top-level names the layout does not declare (sorted; `.git` and `.gitignore` are never
    /// foreign).
    pub foreign: Vec<String>,
    /// The directory is the user's home directory (`$HOME`, or the home the password database
    /// gives) or `/`: never a data directory, whatever it holds.
    pub home: bool,
}

impl Fit {
    /// Whether the directory fits: the whole fingerprint is there and it is not a home or `/`.
    /// Foreign names alone do not make a misfit (a person may keep notes in a data directory).
    pub fn fits(&self) -> bool {
        !self.home && self.missing.is_empty()
    }

    /// One line for people: what is missing and what is foreign (the first few foreign names).
    pub fn explain(&self) -> String {
        let mut parts = Vec::new();
        if self.home {
            parts.push("it is your home directory (or /), never a data directory".to_owned());
        }
        if !self.missing.is_empty() {
            parts.push(format!("missing {}", self.missing.join(" and ")));
        }
        if !self.foreign.is_empty() {
            const SHOWN: usize = 8;
            let mut names = self.foreign.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
            if self.foreign.len() > SHOWN {
                names.push_str(&format!(" and {} more", self.foreign.len() - SHOWN));
            }
            parts.push(format!("not declared by the {} layout: {names}", self.layout));
        }
        if parts.is_empty() {
            return format!("fits the {} layout", self.layout);
        }
        parts.join("; ")
    }
}

/// Measures `dir` against `layout`: which parts of its fingerprint
/// ([`Layout::fingerprint_paths`]) are missing, which top-level names it does not declare, and
/// whether `dir` is a home directory or `/` ([`is_home_or_root`]).
///
/// ```
/// use dotdir_engine::{Entry, Format, Layout, inspect};
///
/// const NOTES: Layout = Layout::new("notes", "a notes app", &[
///     Entry::dir("notes", "the notes"),
///     Entry::file("notes/*.md", Format::Text, "a note"),
/// ])
/// .fingerprint(&["notes/"]);
///
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join(".npmrc"), "//registry/:_authToken=x").unwrap();
/// let fit = inspect::fit(dir.path(), &NOTES).unwrap();
/// assert!(!fit.fits());
/// assert_eq!((fit.missing.as_slice(), fit.foreign.as_slice()), (&["notes/".to_owned()][..], &[".npmrc".to_owned()][..]));
/// std::fs::create_dir(dir.path().join("notes")).unwrap();
/// assert!(inspect::fit(dir.path(), &NOTES).unwrap().fits());
/// ```
pub fn fit(dir: &Path, layout: &Layout) -> Result<Fit, Error> {
    let meta = fs::metadata(dir).map_err(|source| {
        Error::Io(IoError { step: Step::Open, path: dir.to_path_buf(), source })
    })?;
    if !meta.is_dir() {
        return Err(Error::NotADirectory { path: dir.to_path_buf() });
    }
    let (all, any) = layout.fingerprint_paths();
    let present = |path: &str| match path.strip_suffix('/') {
        Some(d) => fs::symlink_metadata(dir.join(d)).is_ok_and(|m| m.is_dir()),
        None => fs::symlink_metadata(dir.join(path)).is_ok_and(|m| !m.is_dir()),
    };
    let mut missing: Vec<String> = all.iter().filter(|p| !present(p)).cloned().collect();
    if !any.is_empty() && !any.iter().any(|p| present(p)) {
        missing.push(match &any[..] {
            [one] => one.clone(),
            many => format!("one of {}", many.join(", ")),
        });
    }
    let mut foreign = Vec::new();
    let entries = fs::read_dir(dir).map_err(|source| {
        Error::Io(IoError { step: Step::ListDir, path: dir.to_path_buf(), source })
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| {
            Error::Io(IoError { step: Step::ListDir, path: dir.to_path_buf(), source })
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let known = name == ".git"
            || name == ".gitignore"
            || layout.entry_for(&name).is_some()
            || layout.all_entries().any(|e| could_contain(e.pattern, &name));
        if !known {
            foreign.push(name);
        }
    }
    foreign.sort();
    Ok(Fit {
        root: dir.to_path_buf(),
        layout: layout.name,
        missing,
        foreign,
        home: is_home_or_root(dir),
    })
}

/// The user's home directories, canonical: `$HOME` and the home the password database gives
/// the real user id (when they differ, both). Missing or unreadable ones are left out.
pub fn home_dirs() -> Vec<PathBuf> {
    let mut homes = Vec::new();
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty())
        && let Ok(home) = Path::new(&home).canonicalize()
    {
        homes.push(home);
    }
    // The password database is read once per process: the real user id does not change.
    static PASSWD_HOME: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    if let Some(home) = PASSWD_HOME.get_or_init(passwd_home)
        && let Ok(home) = home.canonicalize()
        && !homes.contains(&home)
    {
        homes.push(home);
    }
    homes
}

/// The home directory `/etc/passwd` gives the real user id, if it lists one.
fn passwd_home() -> Option<PathBuf> {
    let uid = rustix::process::getuid().as_raw().to_string();
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() >= 6 && fields[2] == uid && !fields[5].is_empty())
            .then(|| PathBuf::from(fields[5]))
    })
}

/// Whether `dir` is a user's home directory ([`home_dirs`]) or the filesystem root `/`,
/// compared as canonical paths: never a data directory. Every command that writes or archives
/// refuses it, even when forced. A path that does not exist is neither.
pub fn is_home_or_root(dir: &Path) -> bool {
    is_one_of(dir, &home_dirs())
}

fn is_one_of(dir: &Path, homes: &[PathBuf]) -> bool {
    let Ok(dir) = dir.canonicalize() else { return false };
    dir.parent().is_none() || homes.contains(&dir)
}

/// The data directory `dir` lies inside: the nearest ancestor that fits one of `candidates`
/// ([`crate::inspect::detect`]), never a home directory or `/`. `None` when no ancestor fits.
/// `dir` itself is not considered; the path returned is canonical.
pub fn enclosing<'a>(dir: &Path, candidates: &[&'a Layout]) -> Option<(PathBuf, &'a Layout)> {
    let dir = dir.canonicalize().ok()?;
    let homes = home_dirs();
    dir.ancestors().skip(1).filter(|a| !is_one_of(a, &homes)).find_map(|ancestor| {
        crate::inspect::detect(ancestor, candidates).map(|layout| (ancestor.to_path_buf(), layout))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Entry, Format};

    const LAYOUT: Layout = Layout::new(
        "bot",
        "a bot",
        &[
            Entry::dir("state", "state"),
            Entry::file("state/bot.pid", Format::PidRecord, "pid"),
            Entry::dir("routines", "routines"),
            Entry::file("routines/*.md", Format::Spec, "a routine"),
            Entry::file("*.md", Format::Text, "a note"),
        ],
    )
    .fingerprint(&["state/"])
    .fingerprint_any(&["state/bot.pid", "routines/"]);

    const DERIVED: Layout = Layout::new(
        "derived",
        "no fingerprint declared",
        &[
            Entry::dir(".git/**", "git").untracked(),
            Entry::file(".gitignore", Format::Text, "ignore list"),
            Entry::file("token.json", Format::Json, "a token").secret(),
            Entry::dir("notes", "notes"),
            Entry::file("notes/*.md", Format::Text, "a note"),
        ],
    );

    fn mkdir(dir: &Path, path: &str) {
        fs::create_dir_all(dir.join(path)).unwrap();
    }

    #[test]
    fn all_and_any_parts() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let fit = fit(dir, &LAYOUT).unwrap();
        assert!(!fit.fits());
        assert_eq!(fit.missing, ["state/", "one of state/bot.pid, routines/"]);
        assert!(fit.foreign.is_empty());
        assert!(!fit.home);

        mkdir(dir, "state");
        let fit = super::fit(dir, &LAYOUT).unwrap();
        assert_eq!(fit.missing, ["one of state/bot.pid, routines/"], "state/ alone is not enough");
        // A directory where the fingerprint wants a file does not count, nor the reverse.
        mkdir(dir, "state/bot.pid");
        fs::write(dir.join("routines"), "not a directory").unwrap();
        assert!(!super::fit(dir, &LAYOUT).unwrap().fits());
        fs::remove_file(dir.join("routines")).unwrap();
        mkdir(dir, "routines");
        fs::write(dir.join(".npmrc"), "token").unwrap();
        fs::write(dir.join("notes.md"), "declared by *.md").unwrap();
        let fit = super::fit(dir, &LAYOUT).unwrap();
        assert!(fit.fits(), "{fit:?}");
        assert_eq!(fit.foreign, [".npmrc"], "foreign names alone are no misfit");
        assert!(
            fit.explain().contains("not declared by the bot layout: .npmrc"),
            "{}",
            fit.explain()
        );
    }

    #[test]
    fn a_layout_without_a_fingerprint_needs_one_of_its_top_level_entries() {
        assert_eq!(
            DERIVED.fingerprint_paths(),
            (vec![], vec!["token.json".into(), "notes/".into()])
        );
        let tmp = tempfile::tempdir().unwrap();
        mkdir(tmp.path(), ".git");
        fs::write(tmp.path().join(".gitignore"), "").unwrap();
        let fit = fit(tmp.path(), &DERIVED).unwrap();
        assert_eq!(
            fit.missing,
            ["one of token.json, notes/"],
            "git alone is no sign of the layout"
        );
        mkdir(tmp.path(), "notes");
        assert!(super::fit(tmp.path(), &DERIVED).unwrap().fits());
    }

    #[test]
    fn home_and_root_never_fit() {
        let tmp = tempfile::tempdir().unwrap();
        mkdir(tmp.path(), "state/bot.pid");
        mkdir(tmp.path(), "routines");
        let homes = vec![tmp.path().canonicalize().unwrap()];
        assert!(is_one_of(tmp.path(), &homes));
        assert!(is_one_of(&tmp.path().join("state/.."), &homes), "compared canonically");
        assert!(!is_one_of(&tmp.path().join("state"), &homes));
        assert!(is_one_of(Path::new("/"), &[]));
        assert!(is_home_or_root(Path::new("/")));
        assert!(!fit(Path::new("/"), &LAYOUT).unwrap().fits());
        assert!(!is_one_of(&tmp.path().join("missing"), &homes));
    }

    #[test]
    fn a_path_inside_a_data_directory_finds_its_root() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("bot");
        mkdir(&root, "state");
        mkdir(&root, "routines/deep");
        let (found, layout) = enclosing(&root.join("routines/deep"), &[&LAYOUT]).unwrap();
        assert_eq!(found, root.canonicalize().unwrap());
        assert_eq!(layout.name, "bot");
        assert!(enclosing(&root, &[&LAYOUT]).is_none(), "the root itself is not inside one");
        assert!(enclosing(tmp.path(), &[&LAYOUT]).is_none());
    }

    #[test]
    fn detect_recognises_only_a_layout_whose_fingerprint_is_there() {
        // A home-like directory: `.claude/` and notes the bot layout declares, no `state/`.
        const SDK: Layout = Layout::new(
            "sdk",
            "declares .claude",
            &[Entry::dir(".claude", "sdk"), Entry::file("*.md", Format::Text, "a note")],
        )
        .fingerprint(&[".claude/", "state/"]);
        let tmp = tempfile::tempdir().unwrap();
        mkdir(tmp.path(), ".claude/agents");
        fs::write(tmp.path().join("README.md"), "").unwrap();
        fs::write(tmp.path().join(".npmrc"), "").unwrap();
        assert!(crate::inspect::detect(tmp.path(), &[&LAYOUT, &SDK]).is_none());
        mkdir(tmp.path(), "state");
        mkdir(tmp.path(), "routines");
        // Both fit now; the bot declares more of the top level.
        assert_eq!(
            crate::inspect::detect(tmp.path(), &[&LAYOUT, &SDK]).map(|l| l.name),
            Some("bot")
        );
    }

    #[test]
    fn errors_name_the_path() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("file");
        fs::write(&file, "").unwrap();
        assert!(matches!(fit(&file, &LAYOUT), Err(Error::NotADirectory { .. })));
        assert!(matches!(fit(&tmp.path().join("missing"), &LAYOUT), Err(Error::Io(_))));
    }
}
