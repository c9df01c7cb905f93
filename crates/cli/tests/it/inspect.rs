//! `dotdir inspect`: the annotated tree.

use expect_test::expect;

use crate::{code, dotdir, fixture, json, normalise, stdout};

#[test]
fn typical_tree() {
    let (temp, dir) = fixture("typical");
    let output = dotdir(&["inspect", dir.to_str().unwrap()]);
    assert_eq!(code(&output), 0);
    let text = normalise(&stdout(&output), temp.path());
    expect![[r#"
    "#]]
    .assert_eq(&text);
}

#[test]
fn unknown_entries_are_flagged_in_json() {
    let (_temp, dir) = fixture("hazards");
    let document = json(&dotdir(&["inspect", "--json", dir.to_str().unwrap()]));
    let unknown: Vec<&str> = document["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["unknown"] == true)
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(unknown, ["routines/notes.txt"]);
    let fork = document["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == "state/fork_messages.json")
        .unwrap();
    assert_eq!(fork["retention_seconds"], 7 * 86_400);
    assert_eq!(fork["tracked"], false);
    assert_eq!(fork["backed_up"], false);
}

#[test]
fn forced_layout_flags_what_it_does_not_know() {
    let (_temp, dir) = fixture("typical");
    let document =
        json(&dotdir(&["inspect", "--json", "--layout", "omicos-home", dir.to_str().unwrap()]));
    assert_eq!(document["layout"], "omicos-home");
    let unknown = document["entries"].as_array().unwrap().iter().filter(|e| e["unknown"] == true).count();
    assert_eq!(unknown, 5, "routines, reminders, skills, state, webhooks");
}
