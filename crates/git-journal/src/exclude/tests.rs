//! Unit tests of the glob matcher and the `.gitignore` block.

use super::*;

fn check(patterns: &[&str], path: &str, expected: Option<&str>) {
    let exclusions = Exclusions::new(patterns).unwrap();
    assert_eq!(exclusions.matching(path), expected, "path {path:?} against {patterns:?}");
}

#[test]
fn exact_anchored_path() {
    check(&["state/token.json"], "state/token.json", Some("state/token.json"));
    check(&["state/token.json"], "other/state/token.json", None);
    check(&["state/token.json"], "state/token.json.bak", None);
    check(&["/state/token.json"], "state/token.json", Some("/state/token.json"));
}

#[test]
fn floating_name_matches_at_any_depth() {
    check(&["token.json"], "a/b/token.json", Some("token.json"));
    check(&["*.pid"], "state/bot.pid", Some("*.pid"));
    check(&[], "state/bot.pid", Some("*.pid"));
    check(&[], "routines/.x.md.123.abc.dotdir-tmp", Some("*.dotdir-tmp"));
    check(&[], "state/sessions.json.lock", Some("*.lock"));
}

#[test]
fn directory_excludes_everything_below() {
    check(&[".claude/skills"], ".claude/skills/foo/SKILL.md", Some(".claude/skills"));
    check(&[".claude/skills/"], ".claude/skills/foo/SKILL.md", Some(".claude/skills/"));
    check(&["cache/"], "a/cache/x", Some("cache/"));
    check(&[".claude/skills"], ".claude/skillset/x", None);
}

#[test]
fn star_stays_in_one_component() {
    check(&[".claude/agents/*.md"], ".claude/agents/a.md", Some(".claude/agents/*.md"));
    check(&[".claude/agents/*.md"], ".claude/agents/sub/a.md", None);
    check(&[".claude/agents/*.md"], ".claude/agents/a.txt", None);
    check(&["state/*.json"], "state/x/y.json", None);
}

#[test]
fn double_star_spans_components() {
    check(&["**/secret.txt"], "secret.txt", Some("**/secret.txt"));
    check(&["**/secret.txt"], "a/b/secret.txt", Some("**/secret.txt"));
    check(&["a/**/b"], "a/b", Some("a/**/b"));
    check(&["a/**/b"], "a/x/y/b", Some("a/**/b"));
    check(&["a/**"], "a/x/y", Some("a/**"));
    check(&["a/**/b"], "c/a/b", None);
}

#[test]
fn classes_question_marks_and_escapes() {
    check(&["file[0-9].txt"], "file7.txt", Some("file[0-9].txt"));
    check(&["file[0-9].txt"], "filex.txt", None);
    check(&["file[!0-9].txt"], "filex.txt", Some("file[!0-9].txt"));
    check(&["?.txt"], "a.txt", Some("?.txt"));
    check(&["?.txt"], "ab.txt", None);
    check(&["\\*.txt"], "*.txt", Some("\\*.txt"));
    check(&["\\*.txt"], "a.txt", None);
    check(&["a*b*c"], "axxbyyc", Some("a*b*c"));
    check(&["a*b*c"], "axxbyy", None);
}

#[test]
fn invalid_patterns_are_typed_errors() {
    for bad in ["", "  ", "!x", "a//b", "../x", "a/./b", "x[", "a\\", "a**b", "/", "a\nb"] {
        let err = Exclusions::new([bad]).unwrap_err();
        assert!(matches!(err, Error::InvalidPattern { .. }), "{bad:?}: {err}");
    }
}

#[test]
fn gitignore_block_anchors_patterns_with_a_slash() {
    let exclusions = Exclusions::new(["state/token.json", "cache/", "#odd", "a/**"]).unwrap();
    let block = exclusions.gitignore_block();
    let lines: Vec<&str> = block.lines().collect();
    assert_eq!(
        lines,
        [
            BLOCK_BEGIN,
            "*.dotdir-tmp",
            "*.lock",
            "*.pid",
            "*.corrupt",
            "/state/token.json",
            "cache/",
            "\\#odd",
            "/a/**",
            BLOCK_END
        ]
    );
}

#[test]
fn merge_keeps_user_lines_and_replaces_the_block() {
    let block = format!("{BLOCK_BEGIN}\n*.new\n{BLOCK_END}\n");
    assert_eq!(merge_gitignore("", &block), block);
    assert_eq!(merge_gitignore("mine", &block), format!("mine\n{block}"));
    let existing = format!("top\n{BLOCK_BEGIN}\n*.old\n{BLOCK_END}\nbottom\n");
    assert_eq!(
        merge_gitignore(&existing, &block),
        format!("top\nbottom\n{block}"),
        "the block moves to the end, where no user line can undo it"
    );
    // Idempotent.
    let once = merge_gitignore(&existing, &block);
    assert_eq!(merge_gitignore(&once, &block), once);
    // A truncated block is replaced whole.
    let truncated = format!("top\n{BLOCK_BEGIN}\n*.old\n");
    assert_eq!(merge_gitignore(&truncated, &block), format!("top\n{block}"));
}

#[test]
fn uncovered_by_judges_a_gitignore_with_the_same_engine() {
    let exclusions =
        Exclusions::new(["/state/token.json", "/.git/**/", "/state/credentials.json"]).unwrap();
    let wanted: Vec<&str> = exclusions.patterns().filter(|p| !p.starts_with("/.git")).collect();
    assert_eq!(exclusions.uncovered_by(""), wanted, "git's own directory is never reported");
    let builtins = BUILTIN_EXCLUSIONS.join("\n");
    assert!(exclusions.uncovered_by(&format!("{builtins}\nstate/\n")).is_empty());
    let partial = format!("# a comment\n!negated\n/token.json\n{builtins}\n/state/token.json\n");
    assert_eq!(exclusions.uncovered_by(&partial), ["/state/credentials.json"]);
    assert_eq!(
        exclusions.uncovered_by("*.lock\n/state/[ct]*.json\n"),
        ["*.dotdir-tmp", "*.pid", "*.corrupt"],
        "classes are read as git reads them"
    );
    assert!(exclusions.uncovered_by(&exclusions.gitignore_block()).is_empty());
}

#[test]
fn glob_match_is_anchored_and_whole_path() {
    assert!(glob_match("state/*.json", "state/token.json"));
    assert!(glob_match("/state/*.json", "state/token.json"));
    assert!(!glob_match("*.json", "state/token.json"));
    assert!(glob_match("**/*.lock", "a/b/c.lock"));
    assert!(glob_match("oauth/**", "oauth"));
    assert!(glob_match("reflections/*/[0-9]*.md", "reflections/x/2026.md"));
    assert!(!glob_match("state", "state/token.json"));
}
