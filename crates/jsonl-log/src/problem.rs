//! What a reader reports about a line it could not turn into a record.

use std::fmt;

/// What is wrong with a line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LineProblemKind {
    /// The line is not valid JSON (or not valid UTF-8): typically a torn record that a later
    /// append closed off, or garbage bytes.
    Malformed {
        /// serde_json's description.
        message: String,
    },
    /// The line is valid JSON but not the record type (a missing field, a wrong type).
    Mismatch {
        /// serde_json's description.
        message: String,
    },
    /// [`LineStyle::Checksummed`](crate::LineStyle::Checksummed) only: the line is not a checksummed
    /// envelope, or its CRC-32 does not match its bytes.
    Checksum,
    /// The line is longer than the record cap; it was skipped without being read into memory.
    Oversized,
    /// The file ends without a newline: a record still being written, or torn by a crash. Not an
    /// error for any reader; [`Log::repair`](crate::Log::repair) moves it aside.
    TornTail,
}

/// A line a reader skipped (lenient) or stopped at (strict), and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProblem {
    /// What is wrong.
    pub kind: LineProblemKind,
    /// The 1-based line number, counted from where the read started (the start of the file for
    /// full reads); `None` for [`Log::last`](crate::Log::last), which reads backwards.
    pub line: Option<u64>,
    /// The byte offset of the line's first byte in the file.
    pub offset: u64,
    /// The length of the line in bytes, without its newline.
    pub len: u64,
}

impl LineProblem {
    /// Whether this is an unterminated last line rather than a corrupt one.
    pub fn is_torn_tail(&self) -> bool {
        self.kind == LineProblemKind::TornTail
    }
}

impl fmt::Display for LineProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineProblemKind::Malformed { message } => write!(f, "malformed JSON ({message})"),
            LineProblemKind::Mismatch { message } => write!(f, "not a valid record ({message})"),
            LineProblemKind::Checksum => f.write_str("checksum mismatch"),
            LineProblemKind::Oversized => f.write_str("line longer than the record cap"),
            LineProblemKind::TornTail => {
                f.write_str("unterminated last line (torn or in progress)")
            }
        }
    }
}

impl fmt::Display for LineProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}")?,
            None => f.write_str("a line")?,
        }
        write!(f, " at byte {} ({} bytes): {}", self.offset, self.len, self.kind)
    }
}
