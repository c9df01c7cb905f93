//! Off the machine: the audit of what a push would send, the remote's URL, a push through the
//! user's own `git` (every transport, their credentials), the record of the last push, and the
//! opt-in background push after commits.
//!
//! The network goes through the user's `git` rather than libgit2's transports: `git push`
//! already speaks file, ssh, https and git with the user's ssh agent, `~/.ssh/config`,
//! credential helpers, proxies and `insteadOf` rules, and a person debugging a push can run the
//! same command. libgit2 would need TLS and libssh2 builds and would still miss most of that
//! configuration. [`Journal::push`] (libgit2) stays for a machine without `git` (file and git
//! transports without any feature).
//!
//! Before anything leaves, the destination is asked which commits it holds (`git ls-remote` on
//! each push URL, as `git remote get-url --push --all` resolves it: `pushurl`, `pushInsteadOf`
//! and `insteadOf` applied), and [`audit_outgoing`] walks every commit of HEAD's history that
//! those commits do not reach. It refuses when any of them holds a path the exclusions refuse
//! (a secret, ephemeral state) or a blob whose bytes are a secret file's current bytes
//! ([`SecretBlobs`]), under whatever path. Local tracking refs (`refs/remotes/*`) are never
//! trusted: a re-created remote, a `pushurl` to another repository or a fresh clone pushed to
//! a new remote all have tracking refs that say nothing about the destination. A destination
//! that cannot be listed is [`Error::DestinationUnknown`], and nothing is sent.
//!
//! Every URL dotdir shows or records goes through [`crate::redact_url`], and `git`'s own
//! stderr through [`crate::redact_text`]: credentials in a URL are never printed.

mod audit;
mod auto;
mod git;
mod libgit2;

pub(crate) use self::auto::AutoPush;
pub use self::{
    audit::{Leak, UNDECLARED, audit_history, audit_outgoing, paths_in_recent_history},
    auto::{PUSH_STATUS_FILE, PushStatus, push_status},
};
