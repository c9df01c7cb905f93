//! `SkillDir`: `skills/<name>/SKILL.md`, names that escape the directory refused.

use dotdir_frontmatter::{Error, SkillDir, SpecProblem};

use crate::specs::{Skill, copy_dir, data, strings};

fn skill(name: &str) -> Skill {
    Skill {
        name: name.into(),
        description: "Sort the inbox".into(),
        message: "Read mail.".into(),
        allowed_tools: strings(&["WebFetch"]),
    }
}

#[test]
fn fixture_skills_list_and_get() {
    let dir = tempfile::tempdir().unwrap();
    let skills_dir = dir.path().join("skills");
    copy_dir(&data("typical/skills"), &skills_dir);
    let skills = SkillDir::<Skill>::new(&skills_dir);
    let listing = skills.list().unwrap();
    assert!(listing.problems.is_empty(), "{:?}", listing.problems);
    assert_eq!(listing.entries.len(), 1);
    assert_eq!(listing.entries[0].spec.description, "Sort the inbox by urgency");
    let got = skills.get("email-triage").unwrap().unwrap();
    assert_eq!(got.spec.allowed_tools, strings(&["Bash(ollim-bot gmail *)"]));
    assert!(skills.get("missing").unwrap().is_none());
}

#[test]
fn write_get_remove() {
    let dir = tempfile::tempdir().unwrap();
    let skills = SkillDir::<Skill>::new(dir.path().join("skills"));
    let saved = skills.write(&skill("triage")).unwrap();
    assert_eq!(saved.path, dir.path().join("skills/triage/SKILL.md"));
    assert_eq!(
        std::fs::read_to_string(&saved.path).unwrap(),
        "---\nname: \"triage\"\ndescription: \"Sort the inbox\"\nallowed-tools:\n  - \"WebFetch\"\n---\nRead mail.\n"
    );
    assert_eq!(skills.get("triage").unwrap().unwrap().spec, skill("triage"));
    assert!(skills.remove("triage").unwrap());
    assert!(!dir.path().join("skills/triage").exists());
    assert!(!skills.remove("triage").unwrap());
}

#[test]
fn names_that_escape_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let skills = SkillDir::<Skill>::new(dir.path().join("skills"));
    for name in ["", ".", "..", "../etc", "/etc/passwd", "a/b", "a\\b", "a\0b", ".hidden", "a\nb"] {
        match skills.write(&skill(name)) {
            Err(Error::InvalidName { name: refused, .. }) => assert_eq!(refused, name),
            other => panic!("{name:?}: {other:?}"),
        }
        assert!(matches!(skills.get(name), Err(Error::InvalidName { .. })), "{name:?}");
        assert!(matches!(skills.remove(name), Err(Error::InvalidName { .. })), "{name:?}");
    }
    // Nothing was created outside (or inside) the skills directory.
    assert!(
        !dir.path().join("skills").exists()
            || dir.path().join("skills").read_dir().unwrap().next().is_none()
    );
    assert!(!dir.path().join("etc").exists());
}

#[test]
fn symlinked_and_corrupt_skills_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let skills_dir = dir.path().join("skills");
    let skills = SkillDir::<Skill>::new(&skills_dir);
    skills.write(&skill("good")).unwrap();
    let outside = dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("SKILL.md"), "---\nname: \"linked\"\ndescription: \"d\"\n---\nx\n")
        .unwrap();
    std::os::unix::fs::symlink(&outside, skills_dir.join("linked")).unwrap();
    std::fs::create_dir(skills_dir.join("broken")).unwrap();
    std::fs::write(skills_dir.join("broken/SKILL.md"), "no front matter\n").unwrap();
    std::fs::create_dir(skills_dir.join("renamed")).unwrap();
    std::fs::write(
        skills_dir.join("renamed/SKILL.md"),
        "---\nname: \"other\"\ndescription: \"d\"\n---\nx\n",
    )
    .unwrap();
    std::fs::write(skills_dir.join("stray.md"), "not a skill").unwrap();

    let listing = skills.list().unwrap();
    let listed: Vec<_> = listing.entries.iter().map(|e| e.spec.name.as_str()).collect();
    assert_eq!(listed, ["good", "other"]);
    assert_eq!(listing.problems.len(), 3, "{:?}", listing.problems);
    assert!(
        matches!(&listing.problems[0], SpecProblem::Corrupt(e) if e.path.ends_with("broken/SKILL.md"))
    );
    assert!(
        matches!(&listing.problems[1], SpecProblem::Unreadable { path, .. } if path.ends_with("linked"))
    );
    assert!(
        matches!(&listing.problems[2], SpecProblem::NameMismatch { name, .. } if name == "other")
    );
    assert!(matches!(skills.get("linked"), Err(Error::InvalidName { .. })));
}
