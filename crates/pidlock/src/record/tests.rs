//! Unit tests of the record formats and the lenient parser.

use std::path::Path;

use super::{Parsed, RecordFormat, parse};

fn check_parse(input: &[u8], expected: Parsed) {
    assert_eq!(parse(input), expected, "input {:?}", String::from_utf8_lossy(input));
}

fn pid(pid: i64, payload: &[&str]) -> Parsed {
    Parsed::Pid { pid, payload: payload.iter().map(|s| (*s).to_owned()).collect() }
}

#[test]
fn bare_pid() {
    check_parse(b"999999", pid(999999, &[]));
}

#[test]
fn python_strip_whitespace() {
    check_parse(b" 999999 \n", pid(999999, &[]));
}

#[test]
fn serve_pid_lines() {
    check_parse(b"42\n8765\n", pid(42, &["8765"]));
}

#[test]
fn empty_payload_line_survives() {
    check_parse(b"42\n\n", pid(42, &[""]));
}

#[test]
fn zero_and_negative_parse_but_are_invalid() {
    check_parse(b"0", pid(0, &[]));
    check_parse(b"-1", pid(-1, &[]));
    assert_eq!(parse(b"0").valid_pid(), None);
    assert_eq!(parse(b"-1").valid_pid(), None);
    assert_eq!(parse(b"4294967297").valid_pid(), None);
    assert_eq!(parse(b"7").valid_pid(), Some(7));
}

#[test]
fn corrupt_inputs() {
    for input in [&b""[..], b"garbage", b"\n", b"12 34", b"\xff\xfe", b"0x10", b"1.5"] {
        check_parse(input, Parsed::Corrupt);
    }
}

#[test]
fn encode_is_byte_exact() {
    let p = Path::new("x");
    let none: [&str; 0] = [];
    assert_eq!(RecordFormat::BarePid.encode(p, 1234, &none).unwrap(), b"1234");
    assert_eq!(RecordFormat::Lines.encode(p, 1234, &["8765"]).unwrap(), b"1234\n8765\n");
    assert_eq!(RecordFormat::Lines.encode(p, 1234, &none).unwrap(), b"1234\n");
    assert!(RecordFormat::BarePid.encode(p, 1, &["8765"]).is_err());
    assert!(RecordFormat::Lines.encode(p, 1, &["a\nb"]).is_err());
}

#[test]
fn encode_then_parse_round_trips() {
    let p = Path::new("x");
    for payload in [vec![], vec!["8765"], vec!["", "a b", "ünï"]] {
        let bytes = RecordFormat::Lines.encode(p, 77, &payload).unwrap();
        check_parse(&bytes, pid(77, &payload));
    }
}
