//! Safe names from untrusted input: download file names, reflection item ids.

/// The longest sanitised download name, in bytes: room is left under `NAME_MAX` (255) for a
/// collision suffix such as `-12345`.
pub const MAX_DOWNLOAD_NAME: usize = 200;

/// The name used when nothing safe is left of the original.
pub const FALLBACK_DOWNLOAD_NAME: &str = "download";

/// Whether `c` is a default-ignorable or invisible formatting code point (zero-width spaces and
/// joiners, bidi controls, variation selectors, the BOM, soft hyphen, tags …): characters a
/// file system or a reader may drop, so that `.g\u{200c}it` would read as `.git`.
pub(crate) fn is_default_ignorable(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F
        | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFF8 | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A
        | 0xE0000..=0xE0FFF)
}

/// Characters that look like a path separator, a dot or a drive colon, or are reserved on
/// Windows: mapped to `_` so that a name never reads as a path.
fn is_confusable_or_reserved(c: char) -> bool {
    matches!(
        c,
        '<' | '>'
            | ':'
            | '"'
            | '|'
            | '?'
            | '*'
            | '\u{2215}'
            | '\u{2044}'
            | '\u{FF0F}'
            | '\u{29F8}'
            | '\u{FF3C}'
            | '\u{2216}'
            | '\u{FE68}'
            | '\u{29F5}'
            | '\u{29F9}'
            | '\u{FF0E}'
            | '\u{2024}'
            | '\u{FE52}'
            | '\u{2025}'
            | '\u{2026}'
            | '\u{FF1A}'
            | '\u{A789}'
            | '\u{2236}'
    )
}

const RESERVED_STEMS: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// A safe file name for an attachment called `name` by its sender.
///
/// The result is one non-empty path component: no `/`, `\`, NUL or control characters (the
/// part after the last separator is kept, so `../../etc/passwd` becomes `passwd`), no invisible
/// characters, no look-alikes of `/`, `\`, `.` or `:`, no leading `.`, `-` or space (no hidden
/// files, no `.git`, nothing that reads as an option), no trailing dot or space, no Windows
/// reserved name (`CON`, `nul.txt` get a `_` prefix, as do NTFS short names like `GIT~1`), at
/// most [`MAX_DOWNLOAD_NAME`] bytes with the extension kept. Sanitising is idempotent.
pub fn sanitize_download_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut out: String = base
        .chars()
        .filter(|c| !is_default_ignorable(*c))
        .map(|c| if c.is_control() || is_confusable_or_reserved(c) { '_' } else { c })
        .collect();
    out = trim_edges(&out).to_owned();
    out = truncate_keeping_extension(&out, MAX_DOWNLOAD_NAME);
    if out.is_empty() {
        return FALLBACK_DOWNLOAD_NAME.to_owned();
    }
    let stem = out.split('.').next().unwrap_or_default().trim_end().to_ascii_uppercase();
    let folded = out.to_ascii_lowercase();
    if RESERVED_STEMS.contains(&stem.as_str()) || folded.starts_with("git~") {
        out.insert(0, '_');
        out = truncate_keeping_extension(&out, MAX_DOWNLOAD_NAME);
    }
    out
}

fn trim_edges(name: &str) -> &str {
    name.trim_start_matches(|c: char| c == '.' || c == '-' || c.is_whitespace())
        .trim_end_matches(|c: char| c == '.' || c.is_whitespace())
}

/// Cuts `name` to at most `max` bytes on a character boundary, keeping a short extension.
fn truncate_keeping_extension(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    let (stem, ext) = match name.rfind('.') {
        Some(dot) if dot > 0 && name.len() - dot <= 16 => name.split_at(dot),
        _ => (name, ""),
    };
    let mut cut = max.saturating_sub(ext.len());
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    let stem = trim_edges(&stem[..cut]);
    format!("{stem}{ext}")
}

/// The `n`th candidate for a sanitised `name`: `name` itself for 1, then `file-2.txt`,
/// `file-3.txt`, … (the suffix goes before the last extension).
pub fn numbered_name(name: &str, n: u32) -> String {
    if n <= 1 {
        return name.to_owned();
    }
    match name.rfind('.') {
        Some(dot) if dot > 0 => format!("{}-{n}{}", &name[..dot], &name[dot..]),
        _ => format!("{name}-{n}"),
    }
}

/// Whether `id` may name a directory under `reflections/`: a non-empty ASCII slug of letters,
/// digits, `-` and `_`, at most 64 bytes, not starting with `-` or `.`.
pub(crate) fn is_safe_item_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && !id.starts_with('-')
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
