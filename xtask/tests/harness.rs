//! The reliability harness tests itself: the fault injection catches a naive write (negative
//! control) and passes the atomic one, and the fuzzer runs and reports its counts.

use std::process::{Command, Output};

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask")).args(args).output().expect("xtask runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn fault_injection_catches_a_truncating_write() {
    let output = xtask(&["faults", "--op", "control-plain-fs-write", "--strict"]);
    let text = text(&output);
    assert!(!output.status.success(), "the negative control must fail:\n{text}");
    assert!(text.contains("doc.json is neither old nor new"), "{text}");
}

#[test]
fn fault_injection_passes_the_atomic_write_at_every_point() {
    let output = xtask(&["faults", "--op", "atomic-write", "--full", "--strict"]);
    let text = text(&output);
    assert!(output.status.success(), "{text}");
    // open temp, write, fsync, rename, open dir, fsync dir: 6 points × 3 errnos.
    assert!(text.contains("1 operations × 6 injection points (18 runs: 18 Err"), "{text}");
    assert!(text.contains(", 0 violations"), "{text}");
}

#[test]
fn fuzzer_runs_a_target_and_reports_counts() {
    let output = xtask(&["fuzz", "--target", "download-name", "--seconds", "0.5", "--seed", "7"]);
    let text = text(&output);
    assert!(output.status.success(), "{text}");
    let summary = text
        .lines()
        .find(|l| l.starts_with("fuzz: ") && l.contains("inputs,"))
        .expect("a summary line");
    let inputs: u64 = summary["fuzz: ".len()..].split(' ').next().unwrap().parse().unwrap();
    assert!(inputs > 50, "{summary}");
    assert!(summary.ends_with(" inputs, 0 crashes, 0 hangs"), "{summary}");
}
