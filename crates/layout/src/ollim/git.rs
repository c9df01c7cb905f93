//! Git tracking of the data directory on `dotdir-git-journal`: the repository is initialised
//! in the data directory itself on first use, the exclusion list (and `.gitignore`) and the
//! secrets a push refuses by content are derived from the layout (`Options::layout`,
//! [`crate::ollim::LAYOUT`] unless extended), and commit messages are the reference's. Commits
//! go through [`DeferringJournal`]: one that fails after its change is on disk is deferred,
//! never lost, and what a killed writer left uncommitted is committed by the first write after
//! open.

use dotdir_git_journal::DeferringJournal;

use crate::ollim::Result;

/// The message of the commit that brings `.gitignore` up to date.
pub const GITIGNORE_MESSAGE: &str = "update .gitignore";

/// Opens (or initialises) the repository of the ollim-bot directory at `root`.
pub(crate) fn open(dir: &dotdir_engine::Dir, options: &super::Options) -> Result<DeferringJournal> {
    let mut journal =
        dir.journal_options().identity_from_git_config(options.git_identity_from_config);
    journal.gitignore_message = GITIGNORE_MESSAGE.to_owned();
    journal.auto_push.clone_from(&options.auto_push);
    match dir.journal(journal) {
        Ok(journal) => Ok(journal),
        Err(dotdir_engine::Error::Git { source, .. }) => Err(source.into()),
        Err(other) => Err(other.into()),
    }
}
