//! The omicos global home and workspace layouts.

// clippy.toml allows unwrap and print in `#[test]` functions only; the child roles and helpers
// are tests too, and a child reports its result on stdout.
#![expect(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "test helpers: a failing unwrap says where"
)]

mod accounts;
mod concurrency;
mod durability;
mod failures;
mod isolation;
mod layouts;
mod lifetime;
mod resolve;
mod support;
mod symlinks;
mod workspace_id;
