//! Property test: arbitrary specs with arbitrary strings (and arbitrary unknown keys) survive
//! write → parse exactly, and re-rendering the parsed spec gives the same bytes.
//!
//! Cases: `DOTDIR_PROPTEST_CASES` (default 10,000) for routines with unknown keys; a tenth of
//! that for reminders.

use dotdir_frontmatter::{Extra, SpecFile, parse, render};
use proptest::prelude::*;
use serde_json::Value;

use crate::specs::{Reminder, Routine};

pub(crate) fn cases() -> u32 {
    std::env::var("DOTDIR_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000)
}

/// Strings that stress YAML: any characters, plus runs of the ones that matter most.
pub(crate) fn text() -> impl Strategy<Value = String> {
    let tokens = prop::sample::select(vec![
        "\"",
        "\\",
        "\n",
        "\r",
        "\r\n",
        "\t",
        "*",
        ":",
        ": ",
        " ",
        "  ",
        "-",
        "---",
        "#",
        " #",
        "'",
        "yes",
        "no",
        "null",
        "~",
        "123",
        "0x1F",
        "1e3",
        "1.5",
        "true",
        "{",
        "}",
        "[",
        "]",
        "&a",
        "*a",
        "!tag",
        "|",
        ">",
        "%",
        "@",
        "`",
        "\u{85}",
        "\u{2028}",
        "\u{2029}",
        "\u{feff}",
        "\u{0}",
        "\u{7f}",
        "\u{9f}",
        "\u{a0}",
        "\u{fffe}",
        "\u{ffff}",
        "é",
        "☕",
        "😀",
        "\\n",
        "C:\\new",
        "Say \"hi\"",
        "a",
        "Z",
        "0",
    ]);
    prop_oneof![
        prop::collection::vec(any::<char>(), 0..24).prop_map(String::from_iter),
        prop::collection::vec(tokens, 0..12).prop_map(|t| t.concat()),
        "[a-z][a-z0-9 ._/-]{0,12}",
    ]
}

fn tools() -> impl Strategy<Value = Option<Vec<String>>> {
    prop::option::of(prop::collection::vec(text(), 0..4))
}

fn routine() -> impl Strategy<Value = Routine> {
    (
        (text(), text(), text(), any::<bool>(), prop::option::of(text()), any::<bool>()),
        (any::<bool>(), text(), text(), any::<bool>(), tools(), tools()),
    )
        .prop_map(
            |(
                (id, message, cron, background, model, thinking),
                (isolated, description, update_main_session, allow_ping, allowed_tools, skills),
            )| Routine {
                id,
                message,
                cron,
                background,
                model,
                thinking,
                isolated,
                description,
                update_main_session,
                allow_ping,
                allowed_tools,
                skills,
            },
        )
}

fn reminder() -> impl Strategy<Value = Reminder> {
    (
        (text(), text(), text(), any::<u32>(), any::<u32>(), prop::option::of(text())),
        (any::<bool>(), text(), tools()),
    )
        .prop_map(
            |(
                (id, message, run_at, chain_depth, max_chain, chain_parent),
                (background, description, skills),
            )| {
                Reminder {
                    id,
                    message,
                    run_at,
                    chain_depth,
                    max_chain,
                    chain_parent,
                    background,
                    description,
                    skills,
                    ..Reminder::default()
                }
            },
        )
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..4)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

const ROUTINE_KEYS: [&str; 12] = [
    "id",
    "message",
    "cron",
    "background",
    "model",
    "thinking",
    "isolated",
    "description",
    "update-main-session",
    "allow-ping",
    "allowed-tools",
    "skills",
];

fn extra() -> impl Strategy<Value = Extra> {
    prop::collection::vec((text(), json_value()), 0..3).prop_map(|entries| {
        entries
            .into_iter()
            .filter(|(k, _)| !ROUTINE_KEYS.contains(&k.replace('_', "-").as_str()))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn routine_round_trips(spec in routine(), extra in extra()) {
        let file = SpecFile { spec, extra };
        let text = render(&file).unwrap();
        let parsed: SpecFile<Routine> = match parse(text.as_bytes()) {
            Ok(parsed) => parsed,
            Err(e) => return Err(TestCaseError::fail(format!("{e}\n{text}"))),
        };
        prop_assert_eq!(&parsed, &file, "{}", text);
        prop_assert_eq!(render(&parsed).unwrap(), text);
    }

}

proptest! {
    #![proptest_config(ProptestConfig { cases: (cases() / 10).max(1), ..ProptestConfig::default() })]

    #[test]
    fn reminder_round_trips(spec in reminder()) {
        let file = SpecFile::new(spec);
        let text = render(&file).unwrap();
        let parsed: SpecFile<Reminder> = match parse(text.as_bytes()) {
            Ok(parsed) => parsed,
            Err(e) => return Err(TestCaseError::fail(format!("{e}\n{text}"))),
        };
        prop_assert_eq!(&parsed, &file, "{}", text);
    }
}

#[test]
fn written_front_matter_never_contains_a_delimiter_run() {
    let spec = Routine {
        id: "---".into(),
        cron: "a----b".into(),
        description: "\n---\n".into(),
        message: "body\n---\nrule".into(),
        ..Routine::default()
    };
    let text = render(&SpecFile::new(spec.clone())).unwrap();
    let front = &text[4..text.find("\n---\n").unwrap()];
    assert!(!front.contains("---"), "{front}");
    assert_eq!(parse::<Routine>(text.as_bytes()).unwrap().spec, spec);
}
