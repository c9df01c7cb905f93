//! The YAML writer: the reference's layout, with strings escaped so every value round-trips.
//!
//! Top-level string values and the items of top-level lists are double-quoted, as ollim-bot
//! writes them (`id: "a1b2c3d4"`, `  - "WebFetch"`); inside nested mappings, simple words stay
//! plain (`type: object`), anything else is double-quoted. Inside double quotes, `"`, `\`, line
//! breaks and every character YAML 1.1 readers refuse or fold are escaped, and a third `-` in a
//! row is written `\x2D` so the text `---` never appears in the front matter (the reference splits
//! files on the first `---` anywhere). The output is valid YAML 1.1 (PyYAML) and 1.2 alike, and
//! reads back to the same values in both.

use std::fmt::Write as _;

use serde_json::{Number, Value};

/// Appends `key: value` (and the nested lines of a collection) at `indent`.
pub(crate) fn entry(out: &mut String, key: &str, value: &Value, indent: usize, top: bool) {
    pad(out, indent);
    key_text(out, key);
    out.push(':');
    after_key(out, value, indent, top);
}

fn after_key(out: &mut String, value: &Value, indent: usize, quote: bool) {
    match value {
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            sequence(out, items, indent + 2, quote);
        }
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            for (key, value) in map {
                entry(out, key, value, indent + 2, false);
            }
        }
        scalar => {
            out.push(' ');
            inline(out, scalar, quote);
            out.push('\n');
        }
    }
}

/// Block sequence items at column `indent`.
fn sequence(out: &mut String, items: &[Value], indent: usize, quote: bool) {
    for item in items {
        pad(out, indent);
        out.push('-');
        match item {
            Value::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                sequence(out, inner, indent + 2, quote);
            }
            Value::Object(map) if !map.is_empty() => {
                // `- key: value` with the following keys aligned under the first.
                for (i, (key, value)) in map.iter().enumerate() {
                    if i == 0 {
                        out.push(' ');
                        key_text(out, key);
                        out.push(':');
                        after_key(out, value, indent + 2, false);
                    } else {
                        entry(out, key, value, indent + 2, false);
                    }
                }
            }
            scalar => {
                out.push(' ');
                inline(out, scalar, quote);
                out.push('\n');
            }
        }
    }
}

/// A scalar or an empty collection on one line.
fn inline(out: &mut String, value: &Value, quote: bool) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => number(out, n),
        Value::String(s) if !quote && is_plain_safe(s) => out.push_str(s),
        Value::String(s) => double_quoted(out, s),
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
}

fn key_text(out: &mut String, key: &str) {
    if is_plain_safe(key) {
        out.push_str(key);
    } else {
        double_quoted(out, key);
    }
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// Integers as digits; floats with a `.` (YAML 1.1 reads `1e5` and `1` as a string and an int),
/// never in exponent form.
fn number(out: &mut String, n: &Number) {
    if let Some(u) = n.as_u64() {
        let _ = write!(out, "{u}");
    } else if let Some(i) = n.as_i64() {
        let _ = write!(out, "{i}");
    } else {
        let f = n.as_f64().unwrap_or(0.0);
        let start = out.len();
        let _ = write!(out, "{f}");
        if !out[start..].contains('.') {
            out.push_str(".0");
        }
    }
}

/// A string that reads back as the same string, unquoted, in YAML 1.1 and 1.2: a letter, then
/// letters, digits, `_`, `.`, `/`, `-` and inner single spaces; no `---`; no word a YAML 1.1
/// reader turns into a bool or null.
pub(crate) fn is_plain_safe(s: &str) -> bool {
    let bytes = s.as_bytes();
    let Some(&first) = bytes.first() else { return false };
    if !first.is_ascii_alphabetic() || bytes.last() == Some(&b' ') || s.contains("---") {
        return false;
    }
    if !bytes
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'/' | b'-' | b' '))
    {
        return false;
    }
    if s.contains("  ") {
        return false;
    }
    const WORDS: [&str; 9] = ["y", "n", "yes", "no", "on", "off", "true", "false", "null"];
    !WORDS.iter().any(|w| s.eq_ignore_ascii_case(w))
}

/// `"…"` with YAML escapes. Printable characters (YAML 1.1's set, which PyYAML enforces even
/// inside quotes) are written as they are, tab included; everything else is escaped.
pub(crate) fn double_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            '-' if out.ends_with("--") => out.push_str("\\x2D"),
            '\t' | ' '..='~' => out.push(c),
            // C0 controls, DEL, C1 controls (NEL is a line break in YAML 1.1).
            '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            // Line and paragraph separators (line breaks in YAML 1.1), the byte-order mark, and
            // the two non-characters outside YAML's printable set.
            '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}' => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            _ => out.push(c),
        }
    }
    out.push('"');
}
