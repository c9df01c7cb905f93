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
        ollim-bot layout at <DIR>/.ollim-bot
        the data directory of ollim-bot (~/.ollim-bot, or $OLLIM_DATA_DIR)
        path                                           size  mode  git  backup  what
        reminders/                                        -  0755  yes          one-shot and chained reminder specs
          check-the-report.md                          100B  0644  yes  yes     a reminder (deleted after it fires)
          take-a-break.md                              110B  0644  yes  yes     a reminder (deleted after it fires)
        routines/                                         -  0755  yes          recurring routine specs
          email-triage.md                              254B  0644  yes  yes     a routine (YAML front matter + prompt)
          morning-check-in-re…s-and-calendar-for.md    158B  0644  yes  yes     a routine (YAML front matter + prompt)
          weekly-review-2.md                            92B  0644  yes  yes     a routine (YAML front matter + prompt)
          weekly-review.md                              56B  0644  yes  yes     a routine (YAML front matter + prompt)
        skills/                                           -  0755  yes          reusable instruction sets
          email-triage/                                   -  0755  yes          one skill
            SKILL.md                                   174B  0644  yes  yes     a skill (name, description, instructions)
        state/                                            -  0755  yes          infrastructure state, write-protected from agent tools
          config.json                                  244B  0644  no   yes     runtime configuration (the ten /config keys)
          fork_messages.json                           266B  0644  no   no      [ttl 7d] Discord message -> fork session mapping (7-day TTL)
          inquiries.json                               176B  0644  no   no      [ttl 7d] button inquiry prompts (7-day TTL)
          pending_updates.json                         122B  0644  no   no      background fork updates queued for the main session (max 10)
          ping_budget.json                             234B  0644  no   no      ping budget token bucket (ephemeral)
          session_history.jsonl                        662B  0644  yes  yes     append-only session lifecycle events (committed on every event)
          sessions.json                                 11B  0644  no   yes     current Agent SDK session id (raw string)
        webhooks/                                         -  0755  yes          webhook endpoint specs
          github-pr.md                                 226B  0644  yes  yes     a webhook spec (JSON Schema fields + template)
        21 entries, 2.8K; 0 secret files; backup keeps 11 files, 2.0K; nothing unknown

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
    let unknown =
        document["entries"].as_array().unwrap().iter().filter(|e| e["unknown"] == true).count();
    assert_eq!(unknown, 5, "routines, reminders, skills, state, webhooks");
}

#[test]
fn hazards_tree() {
    let (temp, dir) = fixture("hazards");
    let output = dotdir(&["inspect", dir.to_str().unwrap()]);
    assert_eq!(code(&output), 0);
    let text = normalise(&stdout(&output), temp.path());
    expect![[r#"
        ollim-bot layout at <DIR>/.ollim-bot
        the data directory of ollim-bot (~/.ollim-bot, or $OLLIM_DATA_DIR)
        path                                           size  mode  git  backup  what
        routines/                                         -  0755  yes          recurring routine specs
          .md                                           49B  0644  yes  yes     a routine (YAML front matter + prompt)
          empty-tools.md                                69B  0644  yes  yes     a routine (YAML front matter + prompt)
          hand-written.md                              110B  0644  yes  yes     a routine (YAML front matter + prompt)
          no-frontmatter.md                             10B  0644  yes  yes     a routine (YAML front matter + prompt)
          notes.txt                                     11B  0644  no   no      [unknown] not declared by the layout
          paths.md                                      77B  0644  yes  yes     a routine (YAML front matter + prompt)
          say-hi-to-the-team.md                         86B  0644  yes  yes     a routine (YAML front matter + prompt)
        state/                                            -  0755  yes          infrastructure state, write-protected from agent tools
          bot.pid                                        6B  0644  no   no      pid of the running bot (single instance)
          fork_messages.json                           192B  0644  no   no      [ttl 7d] Discord message -> fork session mapping (7-day TTL)
          ping_budget.json                             212B  0644  no   no      ping budget token bucket (ephemeral)
          session_history.jsonl                        259B  0644  yes  yes     append-only session lifecycle events (committed on every event)
          sessions.json                                 18B  0644  no   yes     current Agent SDK session id (raw string)
        14 entries, 1.1K; 0 secret files; backup keeps 8 files, 678B; 1 unknown entry

    "#]].assert_eq(&text);
}
