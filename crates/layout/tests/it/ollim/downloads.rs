//! Download names from a hostile corpus all land as safe files inside `downloads/`, with
//! `-2`, `-3` suffixes on collision; sanitising is idempotent.

use std::fs;

use dotdir::ollim::{MAX_DOWNLOAD_NAME, numbered_name, sanitize_download_name};
use proptest::prelude::*;

use super::{clock_at, open};

fn corpus() -> Vec<String> {
    let mut names: Vec<String> = [
        "../../etc/passwd",
        "..\\..\\windows\\system32\\config",
        "/etc/shadow",
        "/",
        "..",
        ".",
        "...",
        "",
        " ",
        "a\0b.txt",
        "\0",
        "evil\n.txt",
        "tab\there.pdf",
        ".git",
        ".git/config",
        ".Git",
        ".GIT/hooks/pre-commit",
        ".g\u{200c}it",
        "\u{feff}.git",
        "GIT~1",
        "git~1.txt",
        ".gitignore",
        ".gitmodules",
        ".bashrc",
        "-rf",
        "--help.txt",
        "CON",
        "con.txt",
        "NUL.tar.gz",
        "COM1",
        "LPT9.log",
        "aux",
        "name.",
        "name. . .",
        "trailing space ",
        "\u{2215}etc\u{2215}passwd",
        "\u{ff0f}etc\u{ff0f}passwd",
        "..\u{2215}..\u{2215}x",
        "\u{ff0e}\u{ff0e}\u{ff0f}x",
        "\u{202e}fdp.exe",
        "C:\\Users\\me\\report.pdf",
        "file:stream.txt",
        "what?.txt",
        "a|b<c>d*e\"f.txt",
        "caf\u{e9} r\u{e9}sum\u{e9}.pdf",
        "\u{1F600}.png",
        "report.pdf",
        "report.pdf",
        "report.pdf",
        "~",
        "\u{7f}del",
        "\u{85}nel",
        "state",
        "IDENTITY.md",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    names.push("a".repeat(300));
    names.push(format!("{}.txt", "b".repeat(300)));
    names.push(format!("{}.pdf", "\u{e9}".repeat(200)));
    names.push(format!("{}.{}", "c".repeat(10), "x".repeat(300)));
    names.push("../".repeat(100) + "deep");
    names
}

fn is_safe(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.contains(['/', '\\', '\0'])
        && !name.chars().any(char::is_control)
        && !name.starts_with(['.', '-', ' '])
        && !name.ends_with(['.', ' '])
        && !name.to_ascii_lowercase().starts_with("git~")
        && !["con", "nul", "aux", "prn", "com1", "lpt9"]
            .contains(&name.split('.').next().unwrap().to_ascii_lowercase().as_str())
}

#[test]
fn hostile_corpus_lands_as_safe_files_inside_downloads() {
    let tmp = tempfile::tempdir().unwrap();
    let dd = open(&tmp.path().join("d"), &clock_at("2026-11-21T14:00:00-08:00"), false);
    let downloads = fs::canonicalize(dd.root()).unwrap().join("downloads");
    let corpus = corpus();
    for (i, name) in corpus.iter().enumerate() {
        let content = format!("attachment {i}");
        let path = dd.save_download(name, content.as_bytes()).unwrap();
        let path = fs::canonicalize(&path).unwrap();
        assert_eq!(path.parent().unwrap(), downloads, "{name:?} -> {}", path.display());
        let file_name = path.file_name().unwrap().to_str().unwrap();
        assert!(is_safe(file_name), "{name:?} -> {file_name:?}");
        assert!(fs::symlink_metadata(&path).unwrap().is_file());
        assert_eq!(fs::read_to_string(&path).unwrap(), content);
    }
    // Every attachment is its own file (collisions got suffixes), nothing was overwritten, and
    // nothing escaped: the only other entry is the name lock.
    let mut names: Vec<String> = fs::read_dir(&downloads)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != ".names.lock")
        .collect();
    names.sort();
    assert_eq!(names.len(), corpus.len());
    assert!(names.contains(&"report.pdf".to_owned()));
    assert!(names.contains(&"report-2.pdf".to_owned()));
    assert!(names.contains(&"report-3.pdf".to_owned()));
    assert!(!tmp.path().join("etc").exists() && !tmp.path().join("d/.git").exists());
}

#[test]
fn named_sanitisations() {
    let check = |input: &str, expected: &str| {
        assert_eq!(sanitize_download_name(input), expected, "{input:?}")
    };
    check("../../etc/passwd", "passwd");
    check("C:\\Users\\me\\report.pdf", "report.pdf");
    check(".git", "git");
    check(".g\u{200c}it", "git");
    check("a\0b.txt", "a_b.txt");
    check("CON", "_CON");
    check("nul.txt", "_nul.txt");
    check("GIT~1", "_GIT~1");
    check("name. . .", "name");
    check("\u{ff0f}etc\u{ff0f}passwd", "_etc_passwd");
    check("caf\u{e9} r\u{e9}sum\u{e9}.pdf", "caf\u{e9} r\u{e9}sum\u{e9}.pdf");
    check("", "download");
    check("..", "download");
    assert_eq!(sanitize_download_name(&"a".repeat(300)).len(), MAX_DOWNLOAD_NAME);
    let long = sanitize_download_name(&format!("{}.txt", "b".repeat(300)));
    assert!(long.ends_with(".txt") && long.len() == MAX_DOWNLOAD_NAME);
    assert_eq!(numbered_name("file.txt", 2), "file-2.txt");
    assert_eq!(numbered_name("file.tar.gz", 3), "file.tar-3.gz");
    assert_eq!(numbered_name("README", 2), "README-2");
    assert_eq!(numbered_name("file.txt", 1), "file.txt");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn sanitising_is_safe_and_idempotent(name in any::<String>()) {
        let once = sanitize_download_name(&name);
        prop_assert!(is_safe(&once), "{:?} -> {:?}", name, once);
        prop_assert!(once.len() <= MAX_DOWNLOAD_NAME);
        prop_assert_eq!(sanitize_download_name(&once), once.clone());
        for n in [2, 99999] {
            prop_assert!(is_safe(&numbered_name(&once, n)));
        }
    }
}

#[test]
fn concurrent_savers_in_several_processes_never_share_a_name() {
    const ROLE: &str = "DOTDIR_OLLIM_DOWNLOAD_CHILD";
    const PER_CHILD: usize = 25;
    if let Ok(dir) = std::env::var(ROLE) {
        let dd = open(std::path::Path::new(&dir), &clock_at("2026-11-21T14:00:00-08:00"), false);
        for i in 0..PER_CHILD {
            dd.save_download("same.txt", format!("{}-{i}", std::process::id()).as_bytes()).unwrap();
        }
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dd = open(&tmp.path().join("d"), &clock_at("2026-11-21T14:00:00-08:00"), false);
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| {
            std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "ollim::downloads::concurrent_savers_in_several_processes_never_share_a_name",
                ])
                .env(ROLE, dd.root())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let mut contents: Vec<String> = fs::read_dir(dd.root().join("downloads"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .map(|p| fs::read_to_string(p).unwrap())
        .collect();
    contents.sort();
    contents.dedup();
    assert_eq!(contents.len(), 4 * PER_CHILD, "an attachment was overwritten");
    assert!(dd.root().join("downloads/same-100.txt").exists());
}
