//! A secret's value never appears in an error: a canary planted in every secret file of every
//! layout, in every shape that fails to decode, is absent from `check`'s and `fix`'s reports and
//! from every error of the typed readers, Display and Debug, down the whole source chain.

#![allow(clippy::unwrap_used, reason = "test helpers: a failing unwrap says where")]

use std::{fs, os::unix::fs::PermissionsExt, path::Path};

use dotdir::{
    Format, Kind, Layout, check,
    omicos::{self, CloudLogin, Flavor, GlobalHome, Workspace},
};

const CANARY: &str = "4242424242";

/// Content that fails to decode, each shape with the canary where serde or a validator might
/// echo it.
fn bad_contents() -> Vec<Vec<u8>> {
    let c = CANARY;
    [
        format!("{{\"user_token\": {c}, \"authenticated\": {c}, \"token\": {c}}}"),
        format!("{{\"user\": {{\"id\": {c}}}, \"server\": [\"{c}\"]}}"),
        format!("{{\"user_token\": \"{c}\", \"authenticated\": \"{c}\""),
        format!("{c} {c}"),
        format!("[\"{c}\", {c}]"),
        format!("\"{c}\\u12\""),
        format!("{c}.{c}"),
    ]
    .into_iter()
    .map(String::into_bytes)
    .chain([[b"\xff".as_slice(), CANARY.as_bytes()].concat()])
    .collect()
}

/// Every declared secret file of `layout`, globs given a concrete name, and whether it is JSON.
fn secret_files(layout: &Layout) -> Vec<(String, bool)> {
    layout
        .entries
        .iter()
        .filter(|e| e.secret && e.kind == Kind::File && !e.pattern.contains("**"))
        .map(|e| (e.pattern.replace('*', "canary-provider"), e.format == Format::Json))
        .collect()
}

/// The error and every source below it, Display and Debug.
fn full_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = format!("{error:?}");
    let mut next = Some(error);
    while let Some(e) = next {
        text.push_str(&format!(" | {e}"));
        next = e.source();
    }
    text
}

fn plant(root: &Path, relative: &str, content: &[u8]) {
    let path = root.join(relative);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, content).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
}

/// `check` and `fix` on `root`: the reports' texts, and the paths `check` flagged.
fn reports(root: &Path, layout: &Layout) -> (String, Vec<String>) {
    let options = check::Options::default().report_unknown(false);
    let report = check::check(root, layout, &options).unwrap();
    let flagged = report.problems.iter().map(|p| p.path.clone()).collect();
    let mut text: String =
        report.problems.iter().map(|p| format!("{p:?} {}\n", p.message)).collect();
    let fixed = check::fix(root, layout, &options).unwrap();
    text.push_str(&format!("{:?}", fixed.repairs));
    for failure in &fixed.failures {
        text.push_str(&format!("{failure:?} {}", failure.error));
    }
    (text, flagged)
}

#[test]
fn no_decode_error_of_a_secret_shows_its_value() {
    let tmp = tempfile::tempdir().unwrap();
    let layouts = [
        ("ollim", &dotdir::ollim::LAYOUT),
        ("home", &omicos::HOME_LAYOUT),
        ("workspace", &omicos::WORKSPACE_LAYOUT),
    ];
    let (mut paths, mut hits) = (0, Vec::new());
    for (name, layout) in layouts {
        let files = secret_files(layout);
        assert!(!files.is_empty(), "{name} declares secrets");
        for (i, content) in bad_contents().iter().enumerate() {
            let root = tmp.path().join(format!("{name}-{i}"));
            for (file, _) in &files {
                plant(&root, file, content);
            }
            paths += files.len();
            let (text, flagged) = reports(&root, layout);
            // `check` flags a secret that does not decode (without showing it).
            if serde_json::from_slice::<serde_json::Value>(content).is_err() {
                for (file, _) in files.iter().filter(|(_, json)| *json) {
                    assert!(flagged.contains(file), "{name}: {file} not flagged: {flagged:?}");
                }
            }
            if text.contains(CANARY) {
                hits.push(format!("{name} check/fix, content {i}: {text}"));
            }
        }
    }

    // The typed readers of the omicos secrets, on every bad content.
    let mut readers = 0;
    for (i, content) in bad_contents().iter().enumerate() {
        let root = tmp.path().join(format!("readers-{i}"));
        let home = GlobalHome::at(root.join("home"));
        let ws = Workspace::at(home.clone(), root.join("ws/.omicos"), Flavor::Serve);
        let _ = ws.login(&CloudLogin::new("https://auth.example", "u-a", None, "t")).unwrap();
        for file in ["cloud_login.json", "account.json", "settings/llm-config.json"] {
            plant(ws.data_dir(), file, content);
        }
        plant(home.root(), "cloud_login.json", content);
        let login = CloudLogin::new("https://auth.example", "u-b", None, "t");
        let errors: Vec<Box<dyn std::error::Error>> = [
            ws.account().read().err().map(|e| Box::new(e) as _),
            ws.cloud_login().read().err().map(|e| Box::new(e) as _),
            ws.llm_config().read().err().map(|e| Box::new(e) as _),
            home.read_cloud_login().err().map(|e| Box::new(e) as _),
            ws.credentials().err().map(|e| Box::new(e) as _),
            ws.owner().err().map(|e| Box::new(e) as _),
            ws.workspace_id().err().map(|e| Box::new(e) as _),
            ws.login(&login).err().map(|e| Box::new(e) as _),
            ws.switch_account("u-a").err().map(|e| Box::new(e) as _),
            ws.rotate_workspace_id().err().map(|e| Box::new(e) as _),
            ws.logout().err().map(|e| Box::new(e) as _),
        ]
        .into_iter()
        .flatten()
        .collect();
        assert!(errors.len() >= 4, "content {i}: the documents fail to decode");
        for error in &errors {
            readers += 1;
            let text = full_text(error.as_ref());
            if text.contains(CANARY) {
                hits.push(format!("reader, content {i}: {text}"));
            }
        }
    }
    eprintln!("{} hits in {paths} planted secret files and {readers} reader errors", hits.len());
    assert!(hits.is_empty(), "{hits:#?}");
}

#[test]
fn the_canary_would_be_seen_in_a_plain_documents_error() {
    // The negative control: the same content in a document that is not a secret is echoed by
    // serde, so the test above can see a leak.
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("account.json");
    fs::write(&path, &bad_contents()[0]).unwrap();
    let error = dotdir::atomic_store::Document::<omicos::Account>::new(&path).read().unwrap_err();
    assert!(full_text(&error).contains(CANARY), "{error}");
}
