//! The strict splitter and the error positions of parse failures.

use dotdir_frontmatter::{Error, Reason, SpecFile, parse, split};

use crate::specs::Routine;

fn parse_error(text: &str) -> (usize, usize, Reason) {
    match parse::<Routine>(text.as_bytes()) {
        Err(Error::Parse(e)) => (e.line, e.column, e.reason),
        other => panic!("expected a parse error for {text:?}, got {other:?}"),
    }
}

#[test]
fn front_matter_only_at_the_start() {
    let (line, column, reason) =
        parse_error("preamble text ---\nid: \"x\"\ncron: \"y\"\n---\nbody\n");
    assert_eq!((line, column, reason), (1, 1, Reason::MissingFrontMatter));
    assert_eq!(parse_error("\n---\nid: \"x\"\n---\n").2, Reason::MissingFrontMatter);
    assert_eq!(parse_error("----\nid: \"x\"\n---\n").2, Reason::MissingFrontMatter);
}

#[test]
fn missing_closing_delimiter_is_an_error() {
    assert_eq!(parse_error("---\nid: \"x\"\ncron: \"y\"\n"), (1, 1, Reason::Unclosed));
    assert_eq!(parse_error("---\n").2, Reason::Unclosed);
}

#[test]
fn bom_crlf_and_dashes_in_body_and_values() {
    let text = "\u{feff}---\r\nid: \"a---b\"\r\ncron: \"0 9 * * *\"\r\n---\r\nline one\r\n---\r\nafter a rule\r\n";
    let parts = split(text).unwrap();
    assert!(parts.bom && parts.crlf);
    let file: SpecFile<Routine> = parse(text.as_bytes()).unwrap();
    assert_eq!(file.spec.id, "a---b");
    assert_eq!(file.spec.message, "line one\r\n---\r\nafter a rule");

    // An indented `---` inside a block scalar is YAML content, not a delimiter.
    let text = "---\nid: \"x\"\ncron: \"y\"\ndescription: |\n  ---\n  more\n---\nbody\n";
    let file: SpecFile<Routine> = parse(text.as_bytes()).unwrap();
    assert_eq!(file.spec.description, "---\nmore\n");
    assert_eq!(file.spec.message, "body");

    // Closing delimiter at the end of the file without a newline: empty body.
    let file: SpecFile<Routine> = parse(b"---\nid: \"x\"\ncron: \"y\"\n---").unwrap();
    assert_eq!(file.spec.message, "");
    // Leading and trailing whitespace of the body is kept (the reference strips it).
    let file: SpecFile<Routine> =
        parse(b"---\nid: \"x\"\ncron: \"y\"\n---\n\n  indented\n\n").unwrap();
    assert_eq!(file.spec.message, "\n  indented\n");
}

#[test]
fn errors_carry_file_line_and_column() {
    // A type error points at the key's line.
    let (line, column, reason) =
        parse_error("---\nid: \"x\"\ncron: \"y\"\nallow-ping: [1]\n---\nbody\n");
    assert_eq!((line, column), (4, 1));
    assert!(
        matches!(&reason, Reason::Field { key: Some(k), .. } if k == "allow-ping"),
        "{reason:?}"
    );
    // A missing required field.
    let (_, _, reason) = parse_error("---\nid: \"x\"\n---\nbody\n");
    assert!(
        matches!(&reason, Reason::Field { message, .. } if message.contains("cron")),
        "{reason:?}"
    );
    // Not a mapping.
    assert_eq!(parse_error("---\n- a\n- b\n---\n"), (2, 1, Reason::NotAMapping));
    // Duplicate keys are rejected, at the second one.
    let (line, _, reason) = parse_error("---\nid: \"x\"\ncron: \"y\"\nid: \"z\"\n---\n");
    assert_eq!(reason, Reason::DuplicateKey("id".into()));
    assert_eq!(line, 4);
    // A key too long to be written back as valid YAML (found by the fuzzer: a 1,133-character
    // unknown key parsed, and its quoted re-render no longer did) is refused, at any depth.
    let long = "k".repeat(dotdir_frontmatter::MAX_KEY_CHARS + 1);
    let (line, _, reason) = parse_error(&format!("---\nid: \"x\"\ncron: \"y\"\n{long}: 1\n---\n"));
    assert!(matches!(reason, Reason::KeyTooLong { .. }), "{reason:?}");
    assert_eq!(line, 4);
    let (_, _, reason) =
        parse_error(&format!("---\nid: \"x\"\ncron: \"y\"\nx:\n  - {{{long}: 1}}\n---\n"));
    assert!(matches!(reason, Reason::KeyTooLong { .. }), "{reason:?}");
    let fits = "k".repeat(dotdir_frontmatter::MAX_KEY_CHARS);
    assert!(
        parse::<Routine>(format!("---\nid: \"x\"\ncron: \"y\"\n{fits}: 1\n---\n").as_bytes())
            .is_ok()
    );
    // Invalid UTF-8: line and column of the first bad byte.
    match parse::<Routine>(b"---\nid: \"x\"\ncron: \"\xff\"\n---\n") {
        Err(Error::Parse(e)) => assert_eq!((e.line, e.column, e.reason), (3, 8, Reason::NotUtf8)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn loose_values_are_normalised() {
    let text = "---\nid: 0x1F\ncron: 5\nthinking: off\nallow_ping: Yes\nbackground: false\n\
                update_main_session: always\nextra-key: {a: [1, 2]}\n---\nx\n";
    let file: SpecFile<Routine> = parse(text.as_bytes()).unwrap();
    assert_eq!(file.spec.id, "31"); // as the reference's `str()` coercion gives
    assert_eq!(file.spec.cron, "5");
    assert!(!file.spec.thinking);
    assert!(file.spec.allow_ping);
    assert_eq!(file.spec.update_main_session, "always");
    assert_eq!(file.extra.get("extra-key").unwrap(), &serde_json::json!({"a": [1, 2]}));
    // Unquoted timestamps stay strings (the reference turned them into datetimes and crashed).
    let text = "---\nid: \"r\"\nrun-at: 2026-02-24T14:00:00-08:00\n---\nx\n";
    let file: SpecFile<crate::specs::Reminder> = parse(text.as_bytes()).unwrap();
    assert_eq!(file.spec.run_at, "2026-02-24T14:00:00-08:00");
}
