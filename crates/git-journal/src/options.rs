//! How a journal behaves: [`JournalOptions`], the fallback [`Identity`], the [`RetryPolicy`].

use std::time::Duration;

use dotdir_atomic_store::Durability;

use crate::Exclusions;

/// The name and email written as author and committer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The name (`user.name`).
    pub name: String,
    /// The email (`user.email`).
    pub email: String,
}

impl Identity {
    /// An identity.
    pub fn new(name: impl Into<String>, email: impl Into<String>) -> Self {
        Identity { name: name.into(), email: email.into() }
    }
}

impl Default for Identity {
    /// `dotdir <dotdir@localhost>`.
    fn default() -> Self {
        Identity::new("dotdir", "dotdir@localhost")
    }
}

/// How long the journal retries when another process holds `index.lock` or a ref lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The total time spent retrying before [`Error::Locked`] is returned. Default: 10 s.
    ///
    /// [`Error::Locked`]: crate::Error::Locked
    pub max_wait: Duration,
    /// The first pause; each next pause doubles, with jitter. Default: 1 ms.
    pub first_backoff: Duration,
    /// The longest pause. Default: 100 ms.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_wait: Duration::from_secs(10),
            first_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(100),
        }
    }
}

/// How a [`Journal`] behaves. `JournalOptions::default()` excludes only the
/// [`crate::BUILTIN_EXCLUSIONS`], takes the identity from git config with `dotdir
/// <dotdir@localhost>` as the fallback, turns on libgit2's fsync and maintains `.gitignore`.
///
/// [`Journal`]: crate::Journal
#[derive(Debug, Clone)]
pub struct JournalOptions {
    /// Paths that are never staged (and are written to `.gitignore`).
    pub exclusions: Exclusions,
    /// The author and committer when git config has no `user.name`/`user.email` (or when
    /// [`JournalOptions::identity_from_git_config`] is off).
    pub identity: Identity,
    /// Use `user.name` and `user.email` from git config (the repository's, the user's, the
    /// system's) when they are set. Default: on.
    pub identity_from_git_config: bool,
    /// How durable the journal's own changes are. [`Durability::Full`] (the default) turns on
    /// libgit2's fsync of the git directory when the journal opens (**process-wide**: see
    /// [`crate::set_fsync_gitdir`]) and makes removals and restores durable;
    /// [`Durability::None`] leaves the process-wide setting as it is and syncs nothing.
    pub durability: Durability,
    /// Keep the journal's block of `.gitignore` equal to the exclusion list, and commit it.
    /// Default: on.
    pub manage_gitignore: bool,
    /// The message of the commit that updates `.gitignore`.
    pub gitignore_message: String,
    /// Retry budget for locks held by other live processes.
    pub retry: RetryPolicy,
    /// A lock file (`index.lock`, a ref lock) not provably left by a dead journal writer is
    /// removed once it is older than this (a `git` command killed by its user). `None` never
    /// removes such a lock. Default: 10 minutes.
    pub foreign_lock_timeout: Option<Duration>,
    /// The branch a new repository starts on. `None` lets libgit2 decide (`init.defaultBranch`,
    /// else `master`).
    pub initial_branch: Option<String>,
    /// Push to this remote (a configured remote's name) in the background after every commit,
    /// through the user's `git`, after the audit of what would leave ([`crate::audit_outgoing`]).
    /// Opt-in (default `None`): a commit never waits for it or fails because of it; the outcome
    /// of the last push is in [`crate::push_status`].
    pub auto_push: Option<String>,
    /// The secret files: glob patterns ([`crate::glob_match`], from the top of the directory;
    /// one matching a directory covers the files under it). A push refuses any blob, under any
    /// path, whose bytes equal a secret file's current bytes ([`crate::SecretBlobs`]). These
    /// patterns are not added to the exclusions: exclude a secret too (a layout's `.secret()`
    /// entry does both). Default: none.
    pub secrets: Vec<String>,
    /// How long one `git` command run without a terminal may take before it is killed, with
    /// every process it started ([`crate::Error::GitStopped`]): each command of the background
    /// push ([`JournalOptions::auto_push`]) and of [`Journal::push_with_git`] or
    /// [`Journal::audit_outgoing`] with `interactive` off. `None` never kills one. Default: 60
    /// seconds.
    ///
    /// [`Journal::push_with_git`]: crate::Journal::push_with_git
    /// [`Journal::audit_outgoing`]: crate::Journal::audit_outgoing
    pub git_timeout: Option<Duration>,
}

impl Default for JournalOptions {
    fn default() -> Self {
        JournalOptions {
            exclusions: Exclusions::default(),
            identity: Identity::default(),
            identity_from_git_config: true,
            durability: Durability::Full,
            manage_gitignore: true,
            gitignore_message: "journal: update .gitignore".to_owned(),
            retry: RetryPolicy::default(),
            foreign_lock_timeout: Some(Duration::from_secs(600)),
            initial_branch: None,
            auto_push: None,
            secrets: Vec::new(),
            git_timeout: Some(Duration::from_secs(60)),
        }
    }
}

impl JournalOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`JournalOptions::exclusions`].
    #[must_use]
    pub fn exclusions(mut self, exclusions: Exclusions) -> Self {
        self.exclusions = exclusions;
        self
    }

    /// Sets [`JournalOptions::identity`].
    #[must_use]
    pub fn identity(mut self, identity: Identity) -> Self {
        self.identity = identity;
        self
    }

    /// Sets [`JournalOptions::identity_from_git_config`].
    #[must_use]
    pub fn identity_from_git_config(mut self, enabled: bool) -> Self {
        self.identity_from_git_config = enabled;
        self
    }

    /// Sets [`JournalOptions::auto_push`].
    #[must_use]
    pub fn auto_push(mut self, remote: impl Into<String>) -> Self {
        self.auto_push = Some(remote.into());
        self
    }

    /// Sets [`JournalOptions::git_timeout`].
    #[must_use]
    pub fn git_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.git_timeout = timeout;
        self
    }

    /// Sets [`JournalOptions::secrets`].
    #[must_use]
    pub fn secrets<I, S>(mut self, patterns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.secrets = patterns.into_iter().map(Into::into).collect();
        self
    }

    /// Sets [`JournalOptions::durability`].
    #[must_use]
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Sets [`JournalOptions::manage_gitignore`].
    #[must_use]
    pub fn manage_gitignore(mut self, enabled: bool) -> Self {
        self.manage_gitignore = enabled;
        self
    }

    /// Sets [`JournalOptions::retry`].
    #[must_use]
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets [`JournalOptions::foreign_lock_timeout`].
    #[must_use]
    pub fn foreign_lock_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.foreign_lock_timeout = timeout;
        self
    }

    /// Sets [`JournalOptions::initial_branch`].
    #[must_use]
    pub fn initial_branch(mut self, branch: impl Into<String>) -> Self {
        self.initial_branch = Some(branch.into());
        self
    }
}
