//! Pushing through libgit2 (for a machine without `git`: file and git transports without any
//! feature), listing a destination with libgit2's transports, and the remote configuration.

use std::cell::RefCell;

use git2::{PushOptions, RemoteCallbacks};

use super::audit::Destination;
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
        let head = repo.find_reference("HEAD").map_err(Error::libgit2(Step::Push, git_dir))?;
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
                .map_err(|e| Error::libgit2(Step::Push, &redacted)(redacted_error(&e)))?,
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
            return Err(Error::libgit2(Step::Push, redacted)(redacted_error(&error)));
        }
        drop(options);
        if let Some((reference, message)) = rejected.into_inner() {
            return Err(Error::PushRejected { remote: redacted, reference, message });
        }
        Ok(())
    }

    /// What the destination of a push to `remote` (a remote's name, or a URL or path) holds,
    /// asked with libgit2's transports (its push URL, `insteadOf` rules applied).
    pub(super) fn list_with_libgit2(&self, remote: &str) -> Result<Vec<Destination>> {
        let repo = self.repo().lock();
        let unknown = |url: &str, e: &git2::Error| Error::DestinationUnknown {
            remote: redact_url(remote),
            url: redact_url(url),
            message: redact_text(e.message()),
        };
        let mut handle = match repo.find_remote(remote) {
            Ok(found) => found,
            Err(_) => repo.remote_anonymous(remote).map_err(|e| unknown(remote, &e))?,
        };
        let url = match (handle.pushurl(), handle.url()) {
            (Ok(Some(url)), _) | (_, Ok(url)) => url.to_owned(),
            _ => remote.to_owned(),
        };
        let connection = handle
            .connect_auth(git2::Direction::Push, Some(callbacks(&repo)), None)
            .map_err(|e| unknown(&url, &e))?;
        let advertised = connection.list().map_err(|e| unknown(&url, &e))?;
        let advertised = advertised.iter().map(git2::RemoteHead::oid).collect();
        Ok(vec![Destination { advertised }])
    }

    /// The URL of remote `name`, when it is configured, as configured: it may hold credentials,
    /// so show it only through [`crate::redact_url`].
    pub fn remote_url(&self, name: &str) -> Result<Option<String>> {
        let repo = self.repo().lock();
        match repo.find_remote(name) {
            Ok(remote) => Ok(remote.url().ok().map(str::to_owned)),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(e) => Err(Error::libgit2(Step::Push, self.git_dir())(e)),
        }
    }

    /// Remembers `url` as remote `name` (created, or its URL replaced).
    pub fn set_remote_url(&self, name: &str, url: &str) -> Result<()> {
        let repo = self.repo().lock();
        let result = match repo.find_remote(name) {
            Ok(_) => repo.remote_set_url(name, url),
            Err(_) => repo.remote(name, url).map(|_| ()),
        };
        result.map_err(Error::libgit2(Step::Push, self.git_dir()))
    }

    /// Forgets remote `name` (its configuration and its remote-tracking branches); nothing to
    /// do when there is none.
    pub fn remove_remote(&self, name: &str) -> Result<()> {
        let repo = self.repo().lock();
        match repo.remote_delete(name) {
            Err(e) if e.code() != git2::ErrorCode::NotFound => {
                Err(Error::libgit2(Step::Push, self.git_dir())(e))
            }
            _ => Ok(()),
        }
    }

    /// The branch HEAD is on, when it is on one.
    pub fn current_branch(&self) -> Result<Option<String>> {
        let repo = self.repo().lock();
        let head = repo
            .find_reference("HEAD")
            .map_err(Error::libgit2(Step::ReadHistory, self.git_dir()))?;
        Ok(head
            .symbolic_target()
            .ok()
            .flatten()
            .and_then(|target| target.strip_prefix("refs/heads/"))
            .map(str::to_owned))
    }
}

/// libgit2's `error` with every URL in its message redacted.
fn redacted_error(error: &git2::Error) -> git2::Error {
    git2::Error::new(error.code(), error.class(), redact_text(error.message()))
}

/// The callbacks of a connection to a remote: with the `https` or `ssh` feature, credentials.
fn callbacks<'a>(repo: &git2::Repository) -> RemoteCallbacks<'a> {
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
