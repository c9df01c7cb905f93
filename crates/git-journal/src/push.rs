//! Pushing the journal's branch to another repository.

use std::cell::RefCell;

use git2::{PushOptions, RemoteCallbacks};

use crate::{Error, Journal, Result, Step};

impl Journal {
    /// Pushes the current branch to the branch of the same name in `remote`: the name of a
    /// remote configured in the repository, or a URL or path (a bare repository on this
    /// machine works without any feature; `https://` needs the `https` feature and `ssh://` the
    /// `ssh` feature, with credentials from git's credential helper or the SSH agent).
    ///
    /// A push the remote refuses (not a fast-forward, for example) is an
    /// [`Error::PushRejected`]; nothing is ever forced.
    pub fn push(&self, remote: &str) -> Result<()> {
        let repo = self.repo().lock();
        let git_dir = self.git_dir();
        let head = repo.find_reference("HEAD").map_err(Error::git(Step::Push, git_dir))?;
        let branch = match head.symbolic_target().ok().flatten() {
            Some(target) => target.to_owned(),
            None => {
                return Err(Error::Git {
                    step: Step::Push,
                    path: git_dir.to_path_buf(),
                    source: git2::Error::from_str("HEAD is detached: there is no branch to push"),
                });
            }
        };
        let mut handle = match repo.find_remote(remote) {
            Ok(found) => found,
            Err(_) => repo.remote_anonymous(remote).map_err(Error::git(Step::Push, remote))?,
        };
        let rejected: RefCell<Option<(String, String)>> = RefCell::new(None);
        let mut callbacks = RemoteCallbacks::new();
        callbacks.push_update_reference(|reference, status| {
            if let Some(message) = status {
                rejected.borrow_mut().get_or_insert((reference.to_owned(), message.to_owned()));
            }
            Ok(())
        });
        #[cfg(any(feature = "https", feature = "ssh"))]
        add_credentials(&mut callbacks, &repo);
        let mut options = PushOptions::new();
        options.remote_callbacks(callbacks);
        let refspec = format!("{branch}:{branch}");
        if let Err(error) = handle.push(&[refspec.as_str()], Some(&mut options)) {
            if error.code() == git2::ErrorCode::NotFastForward {
                return Err(Error::PushRejected {
                    remote: remote.to_owned(),
                    reference: branch,
                    message: error.message().to_owned(),
                });
            }
            return Err(Error::git(Step::Push, remote)(error));
        }
        drop(options);
        if let Some((reference, message)) = rejected.into_inner() {
            return Err(Error::PushRejected { remote: remote.to_owned(), reference, message });
        }
        Ok(())
    }
}

/// Credentials for network transports: git's credential helper for HTTPS, the SSH agent for SSH.
#[cfg(any(feature = "https", feature = "ssh"))]
fn add_credentials(callbacks: &mut RemoteCallbacks<'_>, repo: &git2::Repository) {
    let config = repo.config().ok();
    callbacks.credentials(move |url, username, allowed| {
        if allowed.contains(git2::CredentialType::SSH_KEY) {
            return git2::Cred::ssh_key_from_agent(username.unwrap_or("git"));
        }
        if allowed.contains(git2::CredentialType::USER_PASS_PLAINTEXT)
            && let Some(config) = &config
        {
            return git2::Cred::credential_helper(config, url, username);
        }
        git2::Cred::default()
    });
}
