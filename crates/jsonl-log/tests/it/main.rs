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
mod quarantine;
mod rewrite;
mod strict;

pub(crate) use dotdir_test_support::{child, child_role, scale};

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A test record whose content is a function of `(writer, seq)`, so a reader can tell a record
/// that parses but was spliced from two others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Stamp {
    pub(crate) writer: u32,
    pub(crate) seq: u64,
    pub(crate) pad: String,
}

impl Stamp {
    /// The record whose compact line (newline included) is exactly `line_len` bytes. The pad is
    /// one byte per writer repeated, so the bytes of two writers glued together show.
    pub(crate) fn new(writer: u32, seq: u64, line_len: usize) -> Self {
        let fill = char::from(b'a' + (writer % 26) as u8);
        Stamp { writer, seq, pad: fill.to_string().repeat(Self::pad_len(writer, seq, line_len)) }
    }

    #[expect(clippy::unwrap_used, reason = "a test helper: a failure panics where it happens")]
    fn pad_len(writer: u32, seq: u64, line_len: usize) -> usize {
        let empty = Stamp { writer, seq, pad: String::new() };
        line_len.saturating_sub(serde_json::to_vec(&empty).unwrap().len() + 1)
    }

    /// Whether this record is exactly what writer `writer` wrote as `seq` with `line_len`.
    pub(crate) fn is_intact(&self, line_len: usize) -> bool {
        *self == Stamp::new(self.writer, self.seq, line_len)
    }
}

/// What a writer process appends: the same JSON as [`Stamp::new`], with a pad serialised once
/// per length, so that writers spend their time in `write(2)` rather than in string escaping
/// (unoptimised in test builds, about 10 MB/s).
#[derive(Debug, Serialize)]
pub(crate) struct RawStamp {
    writer: u32,
    seq: u64,
    pad: &'static RawValue,
}

/// Makes [`RawStamp`]s for one writer, caching each pad length.
#[derive(Debug, Default)]
pub(crate) struct RawStamps {
    pads: HashMap<usize, &'static RawValue>,
}

impl RawStamps {
    #[expect(clippy::unwrap_used, reason = "a test helper: a failure panics where it happens")]
    pub(crate) fn stamp(&mut self, writer: u32, seq: u64, line_len: usize) -> RawStamp {
        let pad_len = Stamp::pad_len(writer, seq, line_len);
        let pad = *self.pads.entry(pad_len).or_insert_with(|| {
            let fill = char::from(b'a' + (writer % 26) as u8);
            let json = format!("\"{}\"", fill.to_string().repeat(pad_len));
            Box::leak(RawValue::from_string(json).unwrap())
        });
        RawStamp { writer, seq, pad }
    }
}
