//! Pushing the journal's branch to another repository.

use std::cell::RefCell;

use git2::{PushOptions, RemoteCallbacks};

use crate::{Error, Journal, Result, Step, redact_text, redact_url};

impl Journal {
    /// Pushes the current branch to the branch of the same name in `remote`: the name of a
    /// remote configured in the repository, or a URL or path (a bare repository on this
    /// machine works without any feature; `https://` needs the `https` feature and `ssh://` the
    /// `ssh` feature, with credentials from git's credential helper or the SSH agent).
    ///
    /// Audited first, as [`Journal::push_with_git`] is: the destination is asked which commits
    /// it holds, and a commit to send that holds an excluded path or a secret's content is
    /// [`Error::Leaks`]; a destination that cannot be listed is [`Error::DestinationUnknown`].
    /// Nothing is sent then. A push the remote refuses (not a fast-forward, for example) is an
    /// [`Error::PushRejected`]; nothing is ever forced. Credentials in a URL never appear in an
    /// error.
    pub fn push(&self, remote: &str) -> Result<()> {
        let destinations = self.list_with_libgit2(remote)?;
        let leaks = self.audit_destinations(&destinations)?;
        if !leaks.is_empty() {
            return Err(Error::Leaks { remote: redact_url(remote), leaks });
        }
        let redacted = redact_url(remote);
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
            Err(_) => repo
                .remote_anonymous(remote)
                .map_err(|e| Error::git(Step::Push, &redacted)(redacted_error(&e)))?,
        };
        let rejected: RefCell<Option<(String, String)>> = RefCell::new(None);
        let mut callbacks = callbacks(&repo);
        callbacks.push_update_reference(|reference, status| {
            if let Some(message) = status {
                rejected.borrow_mut().get_or_insert((reference.to_owned(), redact_text(message)));
            }
            Ok(())
        });
        let mut options = PushOptions::new();
        options.remote_callbacks(callbacks);
        let refspec = format!("{branch}:{branch}");
        if let Err(error) = handle.push(&[refspec.as_str()], Some(&mut options)) {
            if error.code() == git2::ErrorCode::NotFastForward {
                return Err(Error::PushRejected {
                    remote: redacted,
                    reference: branch,
                    message: redact_text(error.message()),
                });
            }
            return Err(Error::git(Step::Push, redacted)(redacted_error(&error)));
        }
        drop(options);
        if let Some((reference, message)) = rejected.into_inner() {
            return Err(Error::PushRejected { remote: redacted, reference, message });
        }
        Ok(())
    }
}

/// libgit2's `error` with every URL in its message redacted.
fn redacted_error(error: &git2::Error) -> git2::Error {
    git2::Error::new(error.code(), error.class(), redact_text(error.message()))
}

/// The callbacks of a connection to a remote: with the `https` or `ssh` feature, credentials.
pub(crate) fn callbacks<'a>(repo: &git2::Repository) -> RemoteCallbacks<'a> {
    #[cfg_attr(not(any(feature = "https", feature = "ssh")), expect(unused_mut))]
    let mut callbacks = RemoteCallbacks::new();
    #[cfg(any(feature = "https", feature = "ssh"))]
    add_credentials(&mut callbacks, repo);
    #[cfg(not(any(feature = "https", feature = "ssh")))]
    let _ = repo;
    callbacks
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
