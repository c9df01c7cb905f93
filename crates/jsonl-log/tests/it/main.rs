//! Integration tests of dotdir-jsonl-log: fixtures, offsets, last N, caps, strict mode, rewrite,
//! fragments, threads, processes and SIGKILL torture.

mod alloc;
mod concurrency;
mod fixtures;
mod fragments;
mod kill;
mod last;
mod offsets;
mod oversized;
mod rewrite;
mod strict;

use std::process::Command;

use serde::{Deserialize, Serialize};

/// The role this process plays when a test spawned it as a child.
pub(crate) fn child_role() -> Option<String> {
    std::env::var("DOTDIR_CHILD").ok()
}

/// A command that re-runs this test binary as a child playing `role` inside the test `test`
/// (a full path such as `concurrency::eight_processes_tailing_reader`).
pub(crate) fn child(test: &str, role: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("the test binary has a path"));
    command.args([test, "--exact", "--nocapture", "--test-threads=1"]).env("DOTDIR_CHILD", role);
    command
}

/// How much work the slow tests do: `DOTDIR_SCALE` multiplies the CI default.
pub(crate) fn scale(ci_default: usize) -> usize {
    let factor: f64 = std::env::var("DOTDIR_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    ((ci_default as f64) * factor).max(1.0) as usize
}

/// A test record whose content is a function of `(writer, seq)`, so a reader can tell a record
/// that parses but was spliced from two others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Stamp {
    pub(crate) writer: u32,
    pub(crate) seq: u64,
    pub(crate) pad: String,
}

impl Stamp {
    /// The record whose compact line (newline included) is exactly `line_len` bytes.
    pub(crate) fn new(writer: u32, seq: u64, line_len: usize) -> Self {
        let empty = Stamp { writer, seq, pad: String::new() };
        let overhead = serde_json::to_vec(&empty).unwrap().len() + 1;
        let fill = char::from(b'a' + ((u64::from(writer) * 7 + seq) % 26) as u8);
        Stamp { writer, seq, pad: fill.to_string().repeat(line_len.saturating_sub(overhead)) }
    }

    /// Whether this record is exactly what writer `writer` wrote as `seq` with `line_len`.
    pub(crate) fn is_intact(&self, line_len: usize) -> bool {
        *self == Stamp::new(self.writer, self.seq, line_len)
    }
}
