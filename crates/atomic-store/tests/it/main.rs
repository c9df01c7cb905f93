//! Integration tests of dotdir-atomic-store: concurrency, syscall order, modes, kills, Python bytes.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "test helpers fail loudly and tests print what they measured"
)]

mod basics;
mod kill;
mod modes;
mod multiprocess;
mod namespaces;
mod publish;
mod python_compat;
mod syscalls;

pub(crate) use dotdir_test_support::{child, child_role, scale};
