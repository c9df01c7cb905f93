//! `JsonStyle::Python` writes byte for byte what Python's `json.dumps(obj)` writes: proven on the
//! real ollim-bot state files and against python3 itself.

use std::{
    fs,
    io::Write,
    process::{Command, Stdio},
};

use dotdir_atomic_store::{JsonStyle, to_json_bytes};
use dotdir_test_support::fixtures;
use serde_json::Value;

fn reemit(bytes: &[u8]) -> Vec<u8> {
    let value: Value = serde_json::from_slice(bytes).unwrap();
    to_json_bytes(&value, JsonStyle::Python).unwrap()
}

#[test]
fn every_fixture_state_file_reemits_identically() {
    let files = [
        "typical/state/config.json",
        "typical/state/fork_messages.json",
        "typical/state/inquiries.json",
        "typical/state/pending_updates.json",
        "typical/state/ping_budget.json",
        "hazards/state/fork_messages.json",
        "hazards/state/ping_budget.json",
    ];
    let mut checked = 0;
    for relative in files {
        let path = fixtures::ollim_bot_file(relative);
        let original = fs::read(&path).unwrap();
        let again = reemit(&original);
        assert_eq!(
            String::from_utf8_lossy(&again),
            String::from_utf8_lossy(&original),
            "{}",
            path.display()
        );
        checked += 1;
    }
    assert_eq!(checked, 7, "all fixture state files are JSON and were checked");
}

/// Values Python writes in ways serde_json does not: non-ASCII, astral characters (surrogate
/// pairs), DEL and control characters, and floats in both notations.
fn corpus() -> Vec<Value> {
    let strings = [
        "plain",
        "quote \" backslash \\ slash /",
        "tab\tnewline\nreturn\r",
        "\u{0}\u{1}\u{1f}\u{7f}\u{80}",
        "café — ünïcödé",
        "emoji 😀 and 𝄞",
        "\u{2028}\u{2029}\u{feff}",
        "日本語",
    ];
    let floats = [
        0.0,
        -0.0,
        0.1,
        2.5,
        1e15,
        1e16,
        1.5e-5,
        0.0001,
        123456789.12345679,
        1e300,
        5e-324,
        3.0000002300000004,
    ];
    let mut values: Vec<Value> = strings.iter().map(|s| Value::from(*s)).collect();
    values.extend(floats.iter().map(|f| Value::from(*f)));
    values.push(serde_json::json!({"a": [1, -2, 18446744073709551615u64, -9223372036854775808i64], "b": {}, "c": [], "d": null, "e": true}));
    values.push(serde_json::json!({"k é": {"nested": ["x", 1.0, {"y": false}]}}));
    values
}

#[test]
fn matches_python_json_dumps_on_a_hostile_corpus() {
    let values = corpus();
    let input: String = values.iter().map(|v| serde_json::to_string(v).unwrap() + "\n").collect();
    let mut python = Command::new("python3")
        .args(["-c", "import json,sys\nfor line in sys.stdin: sys.stdout.write(json.dumps(json.loads(line)) + '\\n')"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 is needed for this test");
    python.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let output = python.wait_with_output().unwrap();
    assert!(output.status.success());
    let expected: Vec<&str> = std::str::from_utf8(&output.stdout).unwrap().lines().collect();
    assert_eq!(expected.len(), values.len());
    for (value, python_bytes) in values.iter().zip(expected) {
        let ours = String::from_utf8(to_json_bytes(value, JsonStyle::Python).unwrap()).unwrap();
        assert_eq!(ours, python_bytes, "value {value}");
    }
}
