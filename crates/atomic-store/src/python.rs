//! A `serde_json` formatter that writes exactly what Python's `json.dumps(obj)` writes.
//!
//! Python's defaults: `", "` between items, `": "` after keys, `ensure_ascii=True` (every character
//! outside printable ASCII, DEL included, as `\uXXXX`, astral characters as surrogate pairs), floats
//! as `repr(float)` (`5.0`, `1e+16`, `1e-05`), no trailing newline.

use std::io::{self, Write};

use serde_json::ser::Formatter;

/// The formatter; use it through [`crate::JsonStyle::Python`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PythonFormatter;

impl Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { writer.write_all(b", ") }
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { writer.write_all(b", ") }
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn write_f32<W: ?Sized + Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(writer, f64::from(value))
    }

    fn write_f64<W: ?Sized + Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(python_float_repr(value).as_bytes())
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut plain_start = 0;
        for (index, ch) in fragment.char_indices() {
            if (ch as u32) < 0x7f {
                continue;
            }
            writer.write_all(&fragment.as_bytes()[plain_start..index])?;
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            plain_start = index + ch.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[plain_start..])
    }
}

/// `repr(x)` of a finite Python float: the shortest digits that round-trip, in fixed notation
/// when the decimal exponent is in `-4..16`, otherwise `d.ddde±XX`.
pub(crate) fn python_float_repr(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "-1.2345e-5".
    let scientific = format!("{value:e}");
    let (sign, unsigned) = match scientific.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", scientific.as_str()),
    };
    let (mantissa, exponent) = unsigned.split_once('e').expect("`{:e}` always has an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` exponent is an integer");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let decimal_point = exponent + 1; // value = 0.<digits> × 10^decimal_point
    let count = digits.len() as i32;
    let body = if (-3..=16).contains(&decimal_point) {
        if decimal_point <= 0 {
            format!("0.{}{digits}", "0".repeat((-decimal_point) as usize))
        } else if decimal_point < count {
            format!("{}.{}", &digits[..decimal_point as usize], &digits[decimal_point as usize..])
        } else {
            format!("{digits}{}.0", "0".repeat((decimal_point - count) as usize))
        }
    } else {
        let fraction =
            if count > 1 { format!("{}.{}", &digits[..1], &digits[1..]) } else { digits };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        format!("{fraction}e{exp_sign}{:02}", exponent.abs())
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::python_float_repr;

    fn check(value: f64, expected: &str) {
        assert_eq!(python_float_repr(value), expected, "repr({value:?})");
    }

    #[test]
    fn floats_match_python_repr() {
        check(0.0, "0.0");
        check(-0.0, "-0.0");
        check(5.0, "5.0");
        check(2.5, "2.5");
        check(3.0000002300000004, "3.0000002300000004");
        check(1795298520.8155055, "1795298520.8155055");
        check(1e15, "1000000000000000.0");
        check(1e16, "1e+16");
        check(1.5e16, "1.5e+16");
        check(0.0001, "0.0001");
        check(0.00001, "1e-05");
        check(1.25e-7, "1.25e-07");
        check(-123.456, "-123.456");
        check(1.7976931348623157e308, "1.7976931348623157e+308");
        check(5e-324, "5e-324");
        check(0.1, "0.1");
        check(100.0, "100.0");
    }
}
