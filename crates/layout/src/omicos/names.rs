//! Names that become path components, random hex ids and timestamps.

use crate::IoError;
use dotdir_engine::Step;
use std::{fs::File, io::Read, path::Path};

use super::{Error, Result};

/// The longest name accepted as a path component.
pub(crate) const MAX_NAME: usize = 128;

/// Checks that `name` is safe as one path component: 1 to 128 bytes of `[A-Za-z0-9._@+-]`, not
/// starting with `.` (so never `.`, `..` or a hidden file) and never containing a separator.
/// UUIDs, `dsh-…` ids, hex ids and e-mail addresses pass.
pub fn validate_name(what: &'static str, name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name.len() > MAX_NAME {
        Some("it is longer than 128 bytes")
    } else if name.starts_with('.') {
        Some("it starts with a dot")
    } else if name.contains(['/', '\\']) {
        Some("it contains a path separator")
    } else if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._@+-".contains(&b)) {
        Some("only ASCII letters, digits and . _ @ + - are allowed")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidName { what, name: name.to_owned(), reason }),
        None => Ok(()),
    }
}

/// `bytes` random bytes from the kernel, as lowercase hex.
pub(crate) fn random_hex(bytes: usize) -> Result<String> {
    let path = Path::new("/dev/urandom");
    let mut buf = vec![0u8; bytes];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(IoError::on(Step::ReadRandom, path))?;
    Ok(hex(&buf))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// The current time as milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The current time as an RFC 3339 UTC timestamp with millisecond precision
/// (`2026-05-12T10:11:00.123Z`).
pub(crate) fn now_rfc3339() -> String {
    rfc3339(now_ms())
}

pub(crate) fn rfc3339(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(i64::try_from(days).unwrap_or(i64::MAX));
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        ms % 1000
    )
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, u32::try_from(m).unwrap_or(1), u32::try_from(d).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["a", "3f2a-uuid", "dsh-abc_1", "alice@example.com", "x.y"] {
            assert!(validate_name("id", ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", ".hidden", "a/b", "a\\b", "a b", "é", &"x".repeat(129)] {
            assert!(validate_name("id", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_778_580_660_123), "2026-05-12T10:11:00.123Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }
}
