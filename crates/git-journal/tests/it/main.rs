//! Integration tests of dotdir-git-journal: one binary, a module per topic.
//!
//! Multi-process tests spawn this binary again with `DOTDIR_CHILD=<role>` and `--exact <test>`;
//! the child test runs the role and the parent checks the result. Size knobs:
//! `DOTDIR_JOURNAL_PROCS` × `DOTDIR_JOURNAL_COMMITS` (default 8 × 40, the full run is
//! 8 × 250) and `DOTDIR_JOURNAL_KILL_COMMITS` (default 200 acknowledged commits under SIGKILL).

// clippy.toml allows unwrap in `#[test]` functions only; the child roles and helpers are tests too.
#![expect(clippy::unwrap_used, reason = "test helpers: a failing unwrap says where")]

mod auto_push;
mod basics;
mod checkout;
mod common;
mod concurrency;
mod crash;
mod deny;
mod history;
mod push;
mod push_audit;
mod scaling;
mod secrets;
mod symlinks;
mod untrack;
