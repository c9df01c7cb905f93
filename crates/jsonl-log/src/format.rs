//! Line formats: how one record becomes one line and back.

use dotdir_atomic_store::{JsonStyle, to_json_bytes};
use serde::{Serialize, de::DeserializeOwned};

use crate::LineProblemKind;

/// How records are laid out on a line. Every format ends each record with one `\n` and never
/// writes a raw newline inside a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LineStyle {
    /// Byte for byte what Python's `json.dumps(obj) + "\n"` writes (`", "` and `": "`, ASCII
    /// escapes): for logs shared with the Python reference, such as ollim-bot's
    /// `state/session_history.jsonl`.
    Python,
    /// serde_json's compact form: plain JSON Lines that every tool reads.
    #[default]
    Compact,
    /// Compact JSON wrapped in an envelope carrying a CRC-32 of the record's bytes:
    /// `{"crc32":"89abcdef","record":{…}}`. Still one JSON object per line (`jq '.record'` reads
    /// it), and torn, zero-filled or garbage bytes are always detected, even when what is left
    /// happens to be valid JSON. For logs whose format is ours to define.
    Checksummed,
}

const ENVELOPE_HEAD: &[u8] = b"{\"crc32\":\"";
const ENVELOPE_MIDDLE: &[u8] = b"\",\"record\":";
const CRC_HEX_LEN: usize = 8;

impl LineStyle {
    /// Appends `value` as one line (with its `\n`) to `out`.
    pub(crate) fn encode<T: Serialize + ?Sized>(
        self,
        value: &T,
        out: &mut Vec<u8>,
    ) -> serde_json::Result<()> {
        match self {
            LineStyle::Python => out.extend_from_slice(&to_json_bytes(value, JsonStyle::Python)?),
            LineStyle::Compact => serde_json::to_writer(&mut *out, value)?,
            LineStyle::Checksummed => {
                let record = serde_json::to_vec(value)?;
                let crc = crc32fast::hash(&record);
                out.extend_from_slice(ENVELOPE_HEAD);
                out.extend_from_slice(format!("{crc:08x}").as_bytes());
                out.extend_from_slice(ENVELOPE_MIDDLE);
                out.extend_from_slice(&record);
                out.push(b'}');
            }
        }
        out.push(b'\n');
        Ok(())
    }

    /// Decodes one line (without its `\n`).
    pub(crate) fn decode<T: DeserializeOwned>(self, line: &[u8]) -> Result<T, LineProblemKind> {
        let json = match self {
            LineStyle::Python | LineStyle::Compact => line,
            LineStyle::Checksummed => unwrap_envelope(line).ok_or(LineProblemKind::Checksum)?,
        };
        // One UTF-8 check of the whole line, then the `&str` parser, which skips the per-string
        // validation `from_slice` does (the scan benchmark's largest cost after parsing itself).
        let text = std::str::from_utf8(json).map_err(|error| LineProblemKind::Malformed {
            message: format!("invalid UTF-8 at byte {}", error.valid_up_to()),
        })?;
        serde_json::from_str(text).map_err(|error| {
            let message = error.to_string();
            if error.is_data() {
                LineProblemKind::Mismatch { message }
            } else {
                LineProblemKind::Malformed { message }
            }
        })
    }
}

/// Reads `len` bytes of a file from `offset` without moving any cursor (`pread`).
struct Range<'a> {
    file: &'a std::fs::File,
    offset: u64,
    left: u64,
}

impl std::io::Read for Range<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let want = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let read = self.file.read_at(&mut buf[..want], self.offset)?;
        self.offset += read as u64;
        self.left -= read as u64;
        Ok(read)
    }
}

impl LineStyle {
    /// Whether the `len` bytes at `offset` of `file` are one valid JSON record, parsed as a
    /// stream in constant memory: how a line over the record cap (a memory guard, not a
    /// validity rule) is judged. A checksummed line cannot be over the cap (its writer refuses
    /// that), so one that is counts as invalid.
    pub(crate) fn is_valid_stream(self, file: &std::fs::File, offset: u64, len: u64) -> bool {
        if self == LineStyle::Checksummed {
            return false;
        }
        let reader = std::io::BufReader::new(Range { file, offset, left: len });
        serde_json::from_reader::<_, serde::de::IgnoredAny>(reader).is_ok()
    }
}

/// The record bytes of a checksummed line, when the envelope is intact and the CRC matches.
fn unwrap_envelope(line: &[u8]) -> Option<&[u8]> {
    let rest = line.strip_prefix(ENVELOPE_HEAD)?;
    let (hex, rest) = rest.split_at_checked(CRC_HEX_LEN)?;
    let record = rest.strip_prefix(ENVELOPE_MIDDLE)?.strip_suffix(b"}")?;
    let hex = std::str::from_utf8(hex).ok()?;
    if !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    let expected = u32::from_str_radix(hex, 16).ok()?;
    (crc32fast::hash(record) == expected).then_some(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(format: LineStyle, value: &serde_json::Value) -> Vec<u8> {
        let mut out = Vec::new();
        format.encode(value, &mut out).unwrap();
        out
    }

    #[test]
    fn python_line_is_json_dumps() {
        let value = serde_json::json!({"session_id": "s1", "parent_session_id": null, "n": 1.0});
        assert_eq!(
            line(LineStyle::Python, &value),
            b"{\"session_id\": \"s1\", \"parent_session_id\": null, \"n\": 1.0}\n"
        );
    }

    #[test]
    fn checksummed_round_trips_and_detects_every_single_byte_change() {
        let value = serde_json::json!({"a": [1, 2, 3], "b": "x"});
        let encoded = line(LineStyle::Checksummed, &value);
        let body = &encoded[..encoded.len() - 1];
        assert_eq!(LineStyle::Checksummed.decode::<serde_json::Value>(body), Ok(value.clone()));
        // Every single-byte change and every strict prefix is refused.
        for index in 0..body.len() {
            for flip in [0x01u8, 0x20, 0x80] {
                let mut broken = body.to_vec();
                broken[index] ^= flip;
                assert!(LineStyle::Checksummed.decode::<serde_json::Value>(&broken).is_err());
            }
            assert!(LineStyle::Checksummed.decode::<serde_json::Value>(&body[..index]).is_err());
        }
        // Plain JSON without an envelope is not a checksummed record.
        assert_eq!(
            LineStyle::Checksummed.decode::<serde_json::Value>(br#"{"a":1}"#),
            Err(LineProblemKind::Checksum)
        );
    }

    #[test]
    fn decode_tells_malformed_from_mismatch() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code, reason = "only the shape matters")]
        struct Event {
            id: u32,
        }
        assert!(matches!(
            LineStyle::Compact.decode::<Event>(br#"{"id": 1"#),
            Err(LineProblemKind::Malformed { .. })
        ));
        assert!(matches!(
            LineStyle::Compact.decode::<Event>(br#"{"id": "x"}"#),
            Err(LineProblemKind::Mismatch { .. })
        ));
        assert!(LineStyle::Compact.decode::<Event>(br#"{"id": 1, "unknown": [1]}"#).is_ok());
    }
}
