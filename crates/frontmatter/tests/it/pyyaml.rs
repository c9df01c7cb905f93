//! Files we write parse in the reference: PyYAML `yaml.safe_load` (YAML 1.1) on the reference's
//! own split (`text.split("---", 2)`) gives the values we wrote. Needs `python3` with PyYAML
//! (CI installs it); the test fails, not skips, without them.

use std::process::Command;

use dotdir_frontmatter::{DirOptions, SpecDir};
use proptest::{
    strategy::{Strategy, ValueTree},
    test_runner::{Config, TestRunner},
};
use serde_json::{Value, json};

use crate::{
    roundtrip::text,
    specs::{Routine, Webhook, strings},
};

const SCRIPT: &str = r#"
import json, sys, yaml
for path in sys.argv[1:]:
    text = open(path, "rb").read().decode("utf-8")
    parts = text.split("---", 2)
    data = yaml.safe_load(parts[1])
    print(json.dumps({"path": path, "data": data, "rest": parts[2]}))
"#;

/// What PyYAML read from each file, keyed by path.
fn python_reads(paths: &[std::path::PathBuf]) -> Vec<Value> {
    let output = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .args(paths)
        .output()
        .expect("python3 is required for the reference cross-check");
    assert!(
        output.status.success(),
        "python3 with PyYAML failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Every key PyYAML read equals the field we wrote; every field it did not read is at its
/// default; the body follows the closing `---` exactly.
fn assert_same<T: serde::Serialize + Default>(spec: &T, read: &Value) {
    let ours = serde_json::to_value(spec).unwrap();
    let defaults = serde_json::to_value(T::default()).unwrap();
    let data = read["data"].as_object().unwrap();
    for key in data.keys() {
        assert!(ours.get(key).is_some(), "PyYAML read an unexpected key {key}: {read}");
    }
    for (key, value) in ours.as_object().unwrap() {
        if key == "message" {
            assert_eq!(read["rest"].as_str().unwrap(), format!("\n{}\n", value.as_str().unwrap()));
            continue;
        }
        match data.get(key) {
            Some(python) => assert_eq!(python, value, "{key} in {read}"),
            None => assert_eq!(&defaults[key], value, "{key} omitted but not default: {read}"),
        }
    }
}

#[test]
fn pyyaml_reads_what_we_write() {
    let dir = tempfile::tempdir().unwrap();
    let options =
        DirOptions { durability: dotdir_atomic_store::Durability::None, ..DirOptions::default() };
    let routines = SpecDir::<Routine>::with_options(dir.path().join("routines"), options);

    let tricky = [
        "Say \"hi\"",
        "C:\\new folder",
        "C:\\path",
        "line\nbreak",
        "cr\rlf\r\n",
        "tab\there",
        "*/5 * * * *",
        "key: value",
        "  leading",
        "trailing  ",
        "yes",
        "no",
        "on",
        "off",
        "null",
        "~",
        "123",
        "0x1F",
        "1e3",
        "1.5",
        "2026-02-24T14:00:00-08:00",
        "#not a comment",
        "a---b",
        "---",
        "\u{85}nel",
        "\u{2028}ls",
        "\u{feff}bom",
        "\u{0}nul",
        "\u{7f}del",
        "é☕😀",
        "'single'",
        "&anchor",
        "!tag",
        "|",
        ">",
        "%",
        "@",
        "`",
        "{a: b}",
        "[x]",
        "",
    ];
    let mut specs = Vec::new();
    for (i, s) in tricky.iter().enumerate() {
        specs.push(Routine {
            id: format!("t{i}"),
            message: format!("message {i} {s}"),
            cron: (*s).to_owned(),
            model: Some((*s).to_owned()),
            description: (*s).to_owned(),
            update_main_session: (*s).to_owned(),
            allow_ping: i % 2 == 0,
            allowed_tools: Some(vec![(*s).to_owned(), "WebFetch".into()]),
            skills: Some(Vec::new()),
            ..Routine::default()
        });
    }
    // And arbitrary strings from the property test's generator.
    let mut runner = TestRunner::new(Config::default());
    let strategy = text();
    for i in 0..300 {
        let mut s = || strategy.new_tree(&mut runner).unwrap().current();
        specs.push(Routine {
            id: format!("r{i}"),
            message: format!("random {i}"),
            cron: s(),
            description: s(),
            model: Some(s()),
            allowed_tools: Some(vec![s(), s()]),
            ..Routine::default()
        });
    }
    let mut paths = Vec::new();
    for spec in &specs {
        paths.push(routines.write(spec).unwrap().path);
    }
    let reads = python_reads(&paths);
    assert_eq!(reads.len(), specs.len());
    for (spec, read) in specs.iter().zip(&reads) {
        assert_same(spec, read);
    }

    // Nested values stay plain only when YAML 1.1 reads them as the same string.
    let webhook = Webhook {
        id: "hook".into(),
        message: "{repo}".into(),
        fields: json!({
            "type": "object",
            "enum": ["yes", "no", "on", "off", "y", "n", "Y", "NO", "null", "~", "1e3", "0x1F",
                     "012", "1_000", "1:20", "2026-01-01", ".inf", "=", "<<", "a: b", "a #b",
                     "- x", "plain words", "a/b.c-d_e", "", " ", "a  b"],
            "properties": {"yes": {"type": "string", "maxLength": 500}, "1": true, "x y": null},
            "list": [[1, 2], [], {}, {"a": "b", "c": ["d"]}],
        }),
        allowed_tools: strings(&[]),
        ..Webhook::default()
    };
    let hooks = SpecDir::<Webhook>::with_options(dir.path().join("webhooks"), options);
    let path = hooks.write(&webhook).unwrap().path;
    let reads = python_reads(&[path]);
    assert_same(&webhook, &reads[0]);
}
