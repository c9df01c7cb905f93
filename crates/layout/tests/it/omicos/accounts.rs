//! Credentials (workspace-local first, global fallback, deleting the local one logs out), the
//! account switch, secrets' modes and names that become path components.

use dotdir::omicos::{CredentialSource, Error, HOME_LAYOUT, Owner};
use serde_json::json;

use super::support::{assert_conforms, login_of, mode, serve_workspace};

#[test]
fn credentials_lookup_prefers_local_and_falls_back_to_global() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = serve_workspace(tmp.path());
    assert!(ws.credentials().unwrap().is_none());
    assert_eq!(ws.owner().unwrap(), Owner::Anonymous);

    // `omicos login` writes the global copy: a fresh workspace uses it.
    ws.home().write_cloud_login(&login_of("u-global")).unwrap();
    let c = ws.credentials().unwrap().unwrap();
    assert_eq!((c.source, c.login.user_id()), (CredentialSource::Global, Some("u-global")));
    assert_eq!(ws.owner().unwrap(), Owner::Account("u-global".into()));

    // A workspace login wins over the global one.
    let _ = ws.login(&login_of("u-local")).unwrap();
    let c = ws.credentials().unwrap().unwrap();
    assert_eq!((c.source, c.login.user_id()), (CredentialSource::Workspace, Some("u-local")));
    assert_eq!(c.path, ws.cloud_login_path());

    // Deleting the local file logs the workspace out: no silent fallback to the global login.
    std::fs::remove_file(ws.cloud_login_path()).unwrap();
    assert!(ws.credentials().unwrap().is_none());
    assert_eq!(ws.owner().unwrap(), Owner::Anonymous);
}

#[test]
fn logout_deletes_the_local_login_and_keeps_the_id_owner() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = serve_workspace(tmp.path());
    let a = ws.login(&login_of("u-a")).unwrap();
    assert!(ws.logout().unwrap());
    assert!(!ws.cloud_login_path().exists());
    assert!(!ws.logout().unwrap(), "nothing left to delete");
    let account = ws.account().read().unwrap().unwrap();
    assert!(!account.authenticated);
    assert_eq!(account.user_id.as_deref(), Some("u-a"));
    // Another account logging in now must not adopt u-a's id.
    let b = ws.login(&login_of("u-b")).unwrap();
    assert_eq!(b.previous_owner.as_deref(), Some("u-a"));
    assert_ne!(b.workspace_id, a.workspace_id);
    assert_eq!(
        std::fs::read_to_string(ws.workspace_id_backup_path("u-a").unwrap()).unwrap(),
        a.workspace_id.as_str()
    );
}

#[test]
fn switching_accounts_rotates_and_restores() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = serve_workspace(tmp.path());
    let anonymous_id = ws.workspace_id().unwrap();
    let a = ws.login(&login_of("u-a")).unwrap();
    assert_eq!(
        (a.previous_owner.clone(), a.workspace_id.clone()),
        (None, anonymous_id.clone()),
        "first login adopts"
    );
    let b = ws.login(&login_of("u-b")).unwrap();
    assert_eq!(b.previous_owner.as_deref(), Some("u-a"));
    assert!(!b.restored_id);
    assert_ne!(b.workspace_id, a.workspace_id);
    assert_eq!(
        b.backups,
        [ws.workspace_id_backup_path("u-a").unwrap(), ws.cloud_login_backup_path("u-a").unwrap()]
    );
    assert_eq!(mode(&ws.cloud_login_backup_path("u-a").unwrap()), 0o600);

    // Back to u-a from its backups: same id, same credentials, u-b's moved aside.
    let back = ws.switch_account("u-a").unwrap();
    assert!(back.restored_id);
    assert_eq!(back.workspace_id, a.workspace_id);
    assert_eq!(ws.cloud_login().read().unwrap().unwrap().user_token.as_deref(), Some("token-u-a"));
    assert!(!ws.cloud_login_backup_path("u-a").unwrap().exists());
    assert!(!ws.workspace_id_backup_path("u-a").unwrap().exists());
    assert_eq!(
        std::fs::read_to_string(ws.workspace_id_backup_path("u-b").unwrap()).unwrap(),
        b.workspace_id.as_str()
    );

    // No backup for an account that was never here: an error, and nothing changes.
    let before = super::support::snapshot(ws.data_dir());
    assert!(ws.switch_account("u-never").is_err());
    assert_eq!(super::support::snapshot(ws.data_dir()), before);
}

#[test]
fn a_second_rotation_never_overwrites_a_backup() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = serve_workspace(tmp.path());
    let _ = ws.login(&login_of("u-a")).unwrap();
    let first = ws.workspace_id().unwrap();
    let second = ws.rotate_workspace_id().unwrap();
    let third = ws.rotate_workspace_id().unwrap();
    assert!(first != second && second != third);
    let mut kept: Vec<String> = std::fs::read_dir(ws.data_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("workspace_id.u-a."))
        .map(|n| std::fs::read_to_string(ws.data_dir().join(n)).unwrap())
        .collect();
    kept.sort();
    let mut expected = vec![first.to_string(), second.to_string()];
    expected.sort();
    assert_eq!(kept, expected, "both earlier ids are kept");
}

#[test]
fn hostile_names_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = serve_workspace(tmp.path());
    for bad in ["../x", "a/b", "..", ".hidden", "", "anonymous"] {
        let err = ws.login(&login_of(bad)).unwrap_err();
        assert!(matches!(err, Error::InvalidName { .. } | Error::NoUserId { .. }), "{bad}: {err}");
    }
    for bad in ["../escape", "a/b", "..", ".x", ""] {
        assert!(matches!(ws.conversation(bad), Err(Error::InvalidName { .. })), "{bad}");
        assert!(ws.create_conversation(bad, "t").is_err(), "{bad}");
        assert!(ws.usage_log(bad).is_err(), "{bad}");
        assert!(ws.home().oauth_path(bad).is_err(), "{bad}");
    }
    assert!(!tmp.path().join("ws/escape").exists());
    assert!(ws.conversation("6f1c2c7e-8d4b-4b63-9a0e-2f7d1f1f0a11").is_ok());
    assert!(ws.conversation("dsh-run_42").is_ok());
}

#[test]
fn home_secrets_are_0600_in_0700_directories() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = serve_workspace(tmp.path());
    let home = ws.home();
    home.write_cloud_login(&login_of("u-a")).unwrap();
    home.write_auth(json!({"DEEPSEEK_API_KEY": "sk-1"}).as_object().unwrap()).unwrap();
    home.write_plan_token("eyJhbGciOiJIUzI1NiJ9.eyJwbGFuIjoibGFiIn0.c2ln").unwrap();
    home.write_oauth("codex", &json!({"access_token": "x"})).unwrap();
    let _ = home.usage_log("s1").unwrap().append(&json!({"input_tokens": 1})).unwrap();
    assert_eq!(mode(home.root()), 0o700);
    assert_eq!(mode(&home.oauth_dir()), 0o700);
    for secret in [
        home.cloud_login_path(),
        home.auth_path(),
        home.plan_token_path(),
        home.oauth_path("codex").unwrap(),
    ] {
        assert_eq!(mode(&secret), 0o600, "{}", secret.display());
    }
    // 4 secrets, oauth/, usage/, one usage log and its lock sidecar.
    assert_eq!(assert_conforms(&HOME_LAYOUT, home.root()), 8);
    // Debug output never shows a token.
    let shown = format!("{:?}", home.read_cloud_login().unwrap().unwrap());
    assert!(!shown.contains("token-u-a") && shown.contains("redacted"), "{shown}");
}

#[test]
fn an_existing_group_readable_home_is_made_private() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let ws = serve_workspace(tmp.path());
    std::fs::create_dir_all(ws.home().root()).unwrap();
    std::fs::set_permissions(ws.home().root(), std::fs::Permissions::from_mode(0o755)).unwrap();
    ws.home().write_cloud_login(&login_of("u-a")).unwrap();
    assert_eq!(mode(ws.home().root()), 0o700);
}

#[test]
fn a_switch_interrupted_between_link_and_unlink_completes_without_loss() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = serve_workspace(tmp.path());
    let a = ws.login(&login_of("u-a")).unwrap();
    // A crash after linking workspace_id to its backup, before the unlink: both names exist.
    std::fs::hard_link(ws.workspace_id_path(), ws.workspace_id_backup_path("u-a").unwrap())
        .unwrap();
    let b = ws.login(&login_of("u-b")).unwrap();
    assert_ne!(b.workspace_id, a.workspace_id);
    assert_eq!(
        std::fs::read_to_string(ws.workspace_id_backup_path("u-a").unwrap()).unwrap(),
        a.workspace_id.as_str()
    );
    let back = ws.switch_account("u-a").unwrap();
    assert_eq!(back.workspace_id, a.workspace_id);
}

#[test]
fn corrupt_credentials_are_an_error_not_a_logout() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = serve_workspace(tmp.path());
    let _ = ws.login(&login_of("u-a")).unwrap();
    std::fs::write(ws.cloud_login_path(), b"{\"user\": {\"id\": ").unwrap();
    let err = ws.credentials().unwrap_err();
    assert!(err.to_string().contains("cloud_login.json"), "{err}");
    assert!(ws.owner().is_err());
    assert!(ws.new_turn().is_err(), "no turn is written under a guessed owner");
}

#[test]
fn a_secret_that_does_not_decode_never_shows_its_value() {
    // serde names the offending value ("invalid type: integer `…`"): a canary in every
    // decode-error path of a secret, and in `check`'s report of it.
    let tmp = tempfile::tempdir().unwrap();
    let ws = serve_workspace(tmp.path());
    let _ = ws.login(&login_of("u-a")).unwrap();
    let canary = "4242424242";
    for bad in [
        format!("{{\"user_token\": {canary}}}"),
        format!("{{\"user\": {{\"id\": {canary}}}}}"),
        format!("{{\"server\": [\"{canary}\"], \"user_token\": {canary}}}"),
    ] {
        std::fs::write(ws.cloud_login_path(), &bad).unwrap();
        let errors = [
            ws.credentials().map(drop).unwrap_err().to_string(),
            ws.owner().map(drop).unwrap_err().to_string(),
            format!("{:?}", ws.credentials().map(drop).unwrap_err()),
        ];
        for error in &errors {
            assert!(!error.contains(canary), "{bad}: {error}");
            assert!(error.contains("cloud_login.json"), "{error}");
        }
        let report = dotdir::check::check(
            ws.data_dir(),
            &dotdir::omicos::WORKSPACE_LAYOUT,
            &dotdir::check::Options::default(),
        )
        .unwrap();
        let found: Vec<_> =
            report.problems.iter().filter(|p| p.path == "cloud_login.json").collect();
        assert_eq!(found.len(), 1, "{bad}: check flags it: {:?}", report.problems);
        assert_eq!(found[0].kind.as_str(), "corrupt-json");
        assert!(!found[0].message.contains(canary), "{}", found[0].message);
    }
}
