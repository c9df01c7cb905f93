//! Opening the repository in exactly the data directory (never an ancestor's), initialising it
//! when there is none, and keeping `.gitignore` in step with the exclusion list.

use crate::IoError;
use std::{ffi::OsStr, fs, io, os::unix::fs::PermissionsExt, path::Path};

use dotdir_atomic_store::{Durability, WriteOptions};
use git2::{ErrorCode, Repository, RepositoryInitOptions, RepositoryOpenFlags};
use parking_lot::Mutex;

use super::Journal;
use crate::{
    CommitId, Error, JournalOptions, Result, Step, exclude::merge_gitignore,
    fsync::set_fsync_gitdir, push::AutoPush, recovery::intent,
};

impl Journal {
    /// Opens the repository whose work tree is exactly `dir`, or initialises one there.
    ///
    /// `dir` is created when missing. A repository in an ancestor of `dir` is never used: the
    /// search stops at `dir` (`GIT_REPOSITORY_OPEN_NO_SEARCH`), and a repository found at `dir`
    /// whose work tree is somewhere else (a bare repository, `core.worktree`) is an
    /// [`Error::NotAWorkTree`]. With [`JournalOptions::manage_gitignore`], `.gitignore` is
    /// brought up to date and committed when it changed.
    pub fn open(dir: impl AsRef<Path>, options: JournalOptions) -> Result<Journal> {
        let given = dir.as_ref();
        fs::create_dir_all(given).map_err(IoError::on(Step::CreateDir, given))?;
        let dir = given.canonicalize().map_err(IoError::on(Step::Resolve, given))?;
        if options.durability == Durability::Full {
            set_fsync_gitdir(true)?;
        }
        let repo = open_or_init(&dir, &options)?;
        let git_dir = repo.path().to_path_buf();
        // Temporary files of intent records whose writer was killed mid-write.
        let _ = dotdir_atomic_store::sweep_temps(&git_dir, Some(OsStr::new(intent::INTENT_FILE)))?;
        let given_dir = std::path::absolute(given).unwrap_or_else(|_| dir.clone());
        let journal = Journal {
            dir,
            given_dir,
            git_dir,
            options,
            repo: Mutex::new(repo),
            auto_push: AutoPush::default(),
        };
        if journal.options.manage_gitignore {
            journal.sync_gitignore()?;
        }
        Ok(journal)
    }

    /// Opens the repository of `dir` only to read it, as `dotdir check` does: nothing is
    /// created, initialised, locked, swept or written, so it works on a directory the caller may
    /// only read. A directory without a repository of its own is an error, never a new one.
    /// Reading methods work; a commit through it is refused by git's own checks or writes.
    pub fn open_read_only(dir: impl AsRef<Path>, options: JournalOptions) -> Result<Journal> {
        let given = dir.as_ref();
        let dir = given.canonicalize().map_err(IoError::on(Step::Resolve, given))?;
        refuse_git_link(&dir)?;
        let repo = Repository::open_ext(
            &dir,
            RepositoryOpenFlags::NO_SEARCH,
            std::iter::empty::<&OsStr>(),
        )
        .map_err(Error::libgit2(Step::Open, &dir))?;
        let repo = check_work_tree(repo, &dir)?;
        let git_dir = repo.path().to_path_buf();
        Ok(Journal {
            given_dir: std::path::absolute(given).unwrap_or_else(|_| dir.clone()),
            dir,
            git_dir,
            options: JournalOptions { manage_gitignore: false, ..options },
            repo: Mutex::new(repo),
            auto_push: AutoPush::default(),
        })
    }

    /// Brings the journal's block of `.gitignore` up to date with the exclusion list, and
    /// commits `.gitignore` if it changed. Lines outside the block are kept.
    pub fn sync_gitignore(&self) -> Result<Option<CommitId>> {
        let path = self.dir.join(".gitignore");
        let block = self.options.exclusions.gitignore_block();
        let wanted = |path: &Path| -> Result<Option<String>> {
            let existing = dotdir_atomic_store::read(path, 1024 * 1024)?.unwrap_or_default();
            let existing = String::from_utf8(existing).map_err(|_| Error::InvalidPath {
                path: path.to_path_buf(),
                reason: "not UTF-8",
            })?;
            let merged = merge_gitignore(&existing, &block);
            Ok((merged != existing).then_some(merged))
        };
        if wanted(&path)?.is_none() {
            return Ok(None);
        }
        let rel = ".gitignore".to_owned();
        if self.options.exclusions.matching(&rel).is_some() {
            // The caller excluded .gitignore itself: keep it up to date, never commit it.
            if let Some(merged) = wanted(&path)? {
                let _ = dotdir_atomic_store::write(&path, merged.as_bytes(), &WriteOptions::new())?;
            }
            return Ok(None);
        }
        let message = self.options.gitignore_message.clone();
        self.mutate(std::slice::from_ref(&rel), &message, |_| {
            if let Some(merged) = wanted(&path)? {
                let _ = dotdir_atomic_store::write(&path, merged.as_bytes(), &WriteOptions::new())?;
            }
            Ok(())
        })
    }
}

/// A `.git` that is a file (`gitdir: <elsewhere>`, a worktree's or a submodule's link) or a
/// symlink would point the journal at another repository: its branch moved, its index
/// rewritten. A data directory's repository is always its own `.git` directory.
fn refuse_git_link(dir: &Path) -> Result<()> {
    if let Ok(meta) = fs::symlink_metadata(dir.join(".git"))
        && !meta.is_dir()
    {
        return Err(Error::NotAWorkTree {
            dir: dir.to_path_buf(),
            reason: ".git is not a directory (a `gitdir:` file or a link pointing at another repository): refused; move it aside".to_owned(),
        });
    }
    Ok(())
}

fn open_or_init(dir: &Path, options: &JournalOptions) -> Result<Repository> {
    refuse_git_link(dir)?;
    let open =
        || Repository::open_ext(dir, RepositoryOpenFlags::NO_SEARCH, std::iter::empty::<&OsStr>());
    if let Ok(repo) = open() {
        return check_work_tree(repo, dir);
    }
    // Initialisation runs under a flock on the directory itself (opened read-only: no lock file
    // is left in the data directory), so a `.git` that still does not open once we hold it was
    // abandoned by an initialiser that died.
    let git_dir = dir.join(".git");
    let _init_lock = lock_dir(dir)?;
    match open() {
        Ok(repo) => return check_work_tree(repo, dir),
        Err(e) if e.code() != ErrorCode::NotFound => {
            return Err(Error::libgit2(Step::Open, dir)(e));
        }
        Err(_) => {}
    }
    if git_dir.exists() {
        if holds_objects(&git_dir) {
            return Err(Error::NotAWorkTree {
                dir: dir.to_path_buf(),
                reason: format!(
                    "{} holds objects but does not open as a repository",
                    git_dir.display()
                ),
            });
        }
        // A SIGKILL during `git init` leaves a `.git` with a few files and no objects: nothing
        // to lose, and every later open would fail on it.
        fs::remove_dir_all(&git_dir).map_err(IoError::on(Step::RemoveAbandonedInit, &git_dir))?;
    }
    let mut init = RepositoryInitOptions::new();
    init.no_reinit(true).mkdir(false).mkpath(false);
    if let Some(branch) = &options.initial_branch {
        init.initial_head(branch);
    }
    let repo = Repository::init_opts(dir, &init).map_err(Error::libgit2(Step::Init, dir))?;
    // The history of a data directory is nobody else's business.
    fs::set_permissions(repo.path(), fs::Permissions::from_mode(0o700))
        .map_err(IoError::on(Step::RestrictMode, repo.path()))?;
    check_work_tree(repo, dir)
}

/// An exclusive `flock` on the directory `dir` itself, held until the returned file is dropped.
fn lock_dir(dir: &Path) -> Result<fs::File> {
    let file = fs::File::open(dir).map_err(IoError::on(Step::LockInit, dir))?;
    loop {
        match file.lock() {
            Ok(()) => return Ok(file),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(IoError::on(Step::LockInit, dir)(e).into()),
        }
    }
}

/// Whether a git directory stores any object (a loose object directory or a pack).
fn holds_objects(git_dir: &Path) -> bool {
    let Ok(entries) = fs::read_dir(git_dir.join("objects")) else { return false };
    entries.flatten().any(|entry| {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        (name.len() == 2 && name.bytes().all(|b| b.is_ascii_hexdigit()))
            || (name == "pack" && fs::read_dir(entry.path()).is_ok_and(|mut p| p.next().is_some()))
    })
}

fn check_work_tree(repo: Repository, dir: &Path) -> Result<Repository> {
    let not = |reason: String| Error::NotAWorkTree { dir: dir.to_path_buf(), reason };
    if repo.is_bare() {
        return Err(not("the repository there is bare".to_owned()));
    }
    let Some(workdir) = repo.workdir() else {
        return Err(not("the repository has no work tree".to_owned()));
    };
    let workdir = workdir.canonicalize().map_err(IoError::on(Step::Resolve, workdir))?;
    if workdir != dir {
        return Err(not(format!("the repository's work tree is {}", workdir.display())));
    }
    Ok(repo)
}
