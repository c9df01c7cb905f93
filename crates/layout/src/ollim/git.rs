//! Git tracking of the data directory on `dotdir-git-journal`: the repository is initialised
//! in the data directory itself on first use, the exclusion list (and `.gitignore`) is derived
//! from [`crate::ollim::LAYOUT`], and commit messages are the reference's.

use std::path::Path;

use dotdir_git_journal::{CommitId, Exclusions, Journal, JournalOptions};

use crate::ollim::{LAYOUT, Result};

/// The message of the commit that brings `.gitignore` up to date.
pub const GITIGNORE_MESSAGE: &str = "update .gitignore";

/// The journal's exclusion list: every excluded entry of [`LAYOUT`], anchored at the top of
/// the directory (the shared ignore patterns stay floating).
pub fn exclusions() -> Result<Exclusions> {
    Ok(Exclusions::new(LAYOUT.anchored_git_exclusions())?)
}

/// The repository of a data directory.
#[derive(Debug)]
pub(crate) struct Tracker {
    journal: Journal,
}

impl Tracker {
    pub(crate) fn open(root: &Path, identity_from_git_config: bool) -> Result<Self> {
        let mut options = JournalOptions::new()
            .exclusions(exclusions()?)
            .identity_from_git_config(identity_from_git_config);
        options.gitignore_message = GITIGNORE_MESSAGE.to_owned();
        Ok(Self { journal: Journal::open(root, options)? })
    }

    pub(crate) fn commit(&self, relative: &str, message: &str) -> Result<Option<CommitId>> {
        Ok(self.journal.commit_path(relative, message)?)
    }

    pub(crate) fn journal(&self) -> &Journal {
        &self.journal
    }
}
