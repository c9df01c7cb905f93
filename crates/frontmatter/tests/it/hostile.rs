//! Hostile input: an alias bomb and 100,000-deep nesting are rejected by the byte-level scan
//! (the reason says which limit), before the YAML parser allocates anything. The time each
//! rejection took is printed; speed itself is measured by the benchmarks.

use std::time::{Duration, Instant};

use dotdir_frontmatter::{Error, Limits, Reason, parse_with};

use crate::specs::Routine;

/// The fastest of five attempts (printed, never asserted), and the reason.
fn best_of_five(text: &str, limits: &Limits) -> (Duration, Reason) {
    let mut best = Duration::MAX;
    let mut reason = None;
    for _ in 0..5 {
        let start = Instant::now();
        let result = parse_with::<Routine>(text.as_bytes(), limits);
        best = best.min(start.elapsed());
        match result {
            Err(Error::Parse(e)) => reason = Some(e.reason),
            other => panic!("hostile input accepted: {other:?}"),
        }
    }
    (best, reason.unwrap())
}

/// The classic billion-laughs document: 9 levels of 9 aliases each.
fn alias_bomb() -> String {
    let mut text = String::from(
        "---\nid: \"x\"\ncron: \"y\"\na0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for level in 1..=9 {
        let prev = level - 1;
        let refs = vec![format!("*a{prev}"); 9].join(",");
        text.push_str(&format!("a{level}: &a{level} [{refs}]\n"));
    }
    text.push_str("---\nbody\n");
    text
}

#[test]
fn alias_bomb_is_rejected_fast() {
    let text = alias_bomb();
    assert!(text.len() < 1024);
    let (elapsed, reason) = best_of_five(&text, &Limits::default());
    assert_eq!(reason, Reason::TooManyAliases { limit: 0 });
    println!("alias bomb ({} bytes): rejected by the scan in {elapsed:?}", text.len());

    // With aliases allowed, serde_yaml's own repetition limit is the second line of defence.
    let limits = Limits { max_aliases: 1000, ..Limits::default() };
    let (elapsed, reason) = best_of_five(&text, &limits);
    assert!(matches!(&reason, Reason::Yaml(m) if m.contains("repetition limit")), "{reason:?}");
    println!("alias bomb with 1000 aliases allowed: rejected by serde_yaml in {elapsed:?}");
}

#[test]
fn few_aliases_are_fine_when_allowed() {
    let text = "---\nid: &i \"x\"\ncron: *i\n---\nb\n";
    let limits = Limits { max_aliases: 1, ..Limits::default() };
    let file = parse_with::<Routine>(text.as_bytes(), &limits).unwrap();
    assert_eq!(file.spec.cron, "x");
    // An unquoted cron starting with `*` is an alias: reported with a hint.
    let text = "---\nid: \"x\"\ncron: */5 * * * *\n---\nb\n";
    match parse_with::<Routine>(text.as_bytes(), &Limits::default()) {
        Err(Error::Parse(e)) => {
            assert_eq!((e.line, e.column), (3, 7));
            assert!(e.to_string().contains("must be quoted"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    // A `*` inside a plain value is not an alias.
    let text = "---\nid: \"x\"\ncron: \"y\"\ndescription: do *this* now\n---\nb\n";
    let file = parse_with::<Routine>(text.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(file.spec.description, "do *this* now");
}

fn deep(kind: &str, depth: usize) -> String {
    let mut text = String::from("---\nid: \"x\"\ncron: \"y\"\nnested: ");
    match kind {
        "flow-seq" => {
            text.push_str(&"[".repeat(depth));
            text.push_str(&"]".repeat(depth));
        }
        "flow-map" => {
            text.push_str(&"{a: ".repeat(depth));
            text.push('1');
            text.push_str(&"}".repeat(depth));
        }
        "block-seq" => {
            text.push('\n');
            text.push_str(&"- ".repeat(depth));
            text.push('x');
        }
        "block-map" => {
            for level in 0..depth {
                text.push('\n');
                text.push_str(&" ".repeat(level + 1));
                text.push_str("a:");
            }
            text.push_str(" 1");
        }
        _ => unreachable!(),
    }
    text.push_str("\n---\nbody\n");
    text
}

#[test]
fn nesting_100000_deep_is_rejected_fast() {
    // With the default limits the front-matter size cap already refuses it.
    let text = deep("flow-seq", 100_000);
    let (elapsed, reason) = best_of_five(&text, &Limits::default());
    assert_eq!(reason, Reason::FrontMatterTooLarge { limit: 64 << 10 });
    println!("flow-seq nesting 100000 deep, default limits: rejected in {elapsed:?}");

    // With the size caps lifted, the depth scan refuses every shape of nesting.
    let open = Limits {
        max_file_bytes: usize::MAX,
        max_front_matter_bytes: usize::MAX,
        ..Limits::default()
    };
    for kind in ["flow-seq", "flow-map", "block-seq", "block-map"] {
        let depth = if kind == "block-map" { 3_000 } else { 100_000 };
        let text = deep(kind, depth);
        let (elapsed, reason) = best_of_five(&text, &open);
        assert_eq!(reason, Reason::TooDeep { limit: 32 }, "{kind}");
        println!("{kind} nesting {depth} deep ({} bytes): rejected in {elapsed:?}", text.len());
    }
}

#[test]
fn depth_within_the_limit_parses() {
    let text = deep("flow-seq", 20);
    let file = parse_with::<Routine>(text.as_bytes(), &Limits::default()).unwrap();
    assert!(file.extra.contains_key("nested"));
    let text = deep("block-map", 20);
    assert!(parse_with::<Routine>(text.as_bytes(), &Limits::default()).is_ok());
    // Brackets inside quoted strings do not count.
    let text =
        format!("---\nid: \"x\"\ncron: \"y\"\ndescription: \"{}\"\n---\nb\n", "[".repeat(100));
    assert!(parse_with::<Routine>(text.as_bytes(), &Limits::default()).is_ok());
}

#[test]
fn oversized_file_is_rejected() {
    let limits = Limits { max_file_bytes: 100, ..Limits::default() };
    let text = format!("---\nid: \"x\"\ncron: \"y\"\n---\n{}\n", "b".repeat(200));
    match parse_with::<Routine>(text.as_bytes(), &limits) {
        Err(Error::Parse(e)) => assert_eq!(e.reason, Reason::FileTooLarge { limit: 100 }),
        other => panic!("{other:?}"),
    }
}

fn front_matter_soup() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    let pieces = prop::sample::select(vec![
        "---\n",
        "---\r\n",
        "\n",
        "  ",
        "- ",
        "a: ",
        "*a",
        "&a ",
        "[",
        "]",
        "{",
        "}",
        ",",
        "\"",
        "'",
        "\\",
        "|\n",
        ">-\n",
        "#",
        "? ",
        ": ",
        "!!str ",
        "id: ",
        "cron: ",
        "\u{feff}",
        "\t",
        "...\n",
        "%YAML 1.1\n",
        "x",
        "1",
        "\u{0}",
    ]);
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        prop::collection::vec(pieces, 0..40).prop_map(|p| p.concat().into_bytes()),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: (crate::roundtrip::cases() / 5).max(1),
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// Arbitrary bytes never panic: every input is a spec or a positioned parse error.
    #[test]
    fn arbitrary_input_is_a_spec_or_a_parse_error(bytes in front_matter_soup()) {
        match parse_with::<Routine>(&bytes, &Limits::default()) {
            Ok(_) => {}
            Err(Error::Parse(e)) => {
                proptest::prop_assert!(e.line >= 1 && e.column >= 1, "{e}");
            }
            Err(other) => proptest::prop_assert!(false, "{other:?}"),
        }
    }
}
