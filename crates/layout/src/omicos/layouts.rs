//! The declared omicos layouts: [`HOME_LAYOUT`] (`~/.omicos`) and [`WORKSPACE_LAYOUT`]
//! (`<workspace>/.omicos`, with the cli data directory `cli/` nested inside it).
//!
//! Backup policies follow §11.6 of the seed: `memory/`, `conversations/` and `trajectories/` are
//! backed up; the `cloud-*/` caches, `env/`, `updater/` and `tool_outputs/` are re-creatable;
//! `cloud_login.json`, `auth.json`, `plan_token.jwt` and `oauth/` are secrets that never leave
//! the machine. Where the seed is silent the choice is documented on the entry.

use crate::{Backup, Entry, Format, Kind, Layout, Location};

/// Builds an [`Entry`] of any kind from the uniform form the layout macros use.
const fn entry(
    pattern: &'static str,
    kind: Kind,
    format: Format,
    description: &'static str,
) -> Entry {
    Entry { kind, ..Entry::file(pattern, format, description) }
}

/// What to do about a `bad-workspace-id` problem.
const BAD_WORKSPACE_ID_ADVICE: &str = "the workspace id is not 32 lowercase hex characters: restore it from workspace_id.*.bak, or remove it to get a new identity";

/// The temporary files dotdir itself leaves next to the files it writes. (Its sidecars,
/// `<file>.lock` and `<file>.corrupt`, are known by their exact names beside a declared file:
/// `dotdir_engine::inspect::sidecar`.)
macro_rules! own_files {
    () => {
        [Entry::file(
            "**/.*.dotdir-tmp",
            Format::Opaque,
            "a temporary file of an interrupted atomic write (may hold a secret's bytes)",
        )
        .untracked()
        .backup(Backup::Never)]
    };
}

/// The entries of one workspace data directory, emitted twice by [`WORKSPACE_LAYOUT`]: for the
/// serve data directory itself and, prefixed with `cli/`, for the nested cli data directory.
macro_rules! workspace_entries {
    ($prefix:literal; $( [$pattern:literal, $kind:ident, $format:ident, $description:literal]
        $( . $method:ident ( $($arg:expr),* ) )* ; )*) => {
        [ $( entry(concat!($prefix, $pattern), Kind::$kind, Format::$format, $description)
            $( . $method ( $($arg),* ) )* , )* ]
    };
}

macro_rules! workspace_layout_entries {
    ($prefix:literal) => {
        workspace_entries![$prefix;
            ["workspace_id", File, Text,
                "persistent 32-char lowercase hex id; the cloud process id is local-<workspace_id>"]
                .validate("bad-workspace-id", |b| check_workspace_id(b).map_err(Into::into)).advise(BAD_WORKSPACE_ID_ADVICE);
            ["workspace_id.*.bak", File, Text,
                "the workspace id of another account, kept while that account is switched away"]
                .validate("bad-workspace-id", |b| check_workspace_id(b).map_err(Into::into)).advise(BAD_WORKSPACE_ID_ADVICE);
            ["serve.pid", File, PidRecord,
                "daemon lock record: the pid on line 1, the port on line 2"]
                .untracked().backup(Backup::Ephemeral);
            ["cloud_login.json", File, Json,
                "workspace-local login credentials, preferred over the global copy (0600)"]
                .secret().validate("corrupt-json", |b| check_cloud_login(b).map_err(Into::into));
            ["cloud_login.json.*.bak", File, Json,
                "login credentials of another account, kept while it is switched away (0600)"]
                .secret().validate("corrupt-json", |b| check_cloud_login(b).map_err(Into::into));
            ["account.json", File, Json,
                "local session record (authenticated, token, plan, email, owner); holds a token, so secret"]
                .secret();
            ["settings", Dir, Opaque, "LLM settings of the workspace"];
            ["settings/llm-config.json", File, Json,
                "selected provider and models, custom providers (may hold their API keys, so secret)"]
                .secret();
            ["settings/llm-providers-state.json", File, Json,
                "which providers are enabled, hidden or deleted"];
            ["settings/*.json", File, Json, "a further settings file"];
            ["conversations", Dir, Opaque, "conversation content, one directory per conversation"];
            ["conversations/*", Dir, Opaque, "one conversation (its id is a validated path component)"];
            ["conversations/*/history.jsonl", File, Jsonl,
                "the conversation's persisted records, append-only"];
            ["conversations/*/meta.json", File, Json,
                "the conversation's metadata (title, times, owner, goal)"];
            ["conversations/*/outputs", Dir, Opaque, "files the conversation generated"];
            ["conversations/*/outputs/**", File, Opaque, "a file the conversation generated"];
            ["conversations/*/uploads", Dir, Opaque, "files attached to the conversation"];
            ["conversations/*/uploads/**", File, Opaque, "a file attached to the conversation"];
            ["conversations.json", File, Json, "conversation index"];
            ["conversation_sync.state.json", File, Json,
                "conversation sync high-water marks per cloud process (used by the cloud stale filter)"];
            ["trajectories", Dir, Opaque, "audit logs of each analysis turn"];
            ["trajectories/.sync_state.json", File, Json,
                "trajectory upload state: byte offsets per device_id"];
            ["trajectories/anonymous", Dir, Opaque, "trajectories written before login"];
            ["trajectories/*", Dir, Opaque, "trajectories of one login account (owner id)"];
            ["trajectories/*/turn_*.jsonl", File, Jsonl, "one turn's audit log, append-only"];
            ["usage", Dir, Opaque, "usage audit counted per LLM call"];
            ["usage/*.jsonl", File, Jsonl, "usage records of one session, append-only"];
            ["tool_outputs", Dir, Opaque, "tool-result overflow storage"]
                .untracked().backup(Backup::Recreatable);
            ["tool_outputs/**", File, Opaque, "one spooled tool result (<unix_ms>__<tool_call_id>.txt)"]
                .untracked().backup(Backup::Recreatable);
            ["timeline", Dir, Opaque, "timeline (may be empty)"];
            ["timeline/**", File, Opaque, "a timeline file"];
            // A plain-text log (the seed says nothing of JSON): never parsed, never "repaired".
            ["sidecar-restart.log", File, Text, "sidecar restart log (plain text)"]
                .untracked().backup(Backup::Ephemeral);
            ["agents", Dir, Opaque, "local agent overrides (lab+), only once one is created"];
            ["agents/*.md", File, Spec, "a local agent override"];
            ["skills", Dir, Opaque, "local skill overrides (lab+), only once one is created"];
            ["skills/*", Dir, Opaque, "one local skill"];
            ["skills/*/SKILL.md", File, Spec, "a local skill's definition"];
            ["skills/**", File, Opaque, "a resource file of a local skill"];
            ["templates", Dir, Opaque, "workspace overrides of the embedded templates"];
            ["templates/**", File, Text, "a template override (templates/goals/<name>.md)"];
            ["updater", Dir, Opaque, "updater state, only once used"]
                .untracked().backup(Backup::Recreatable);
            ["updater/**", File, Opaque, "an updater file"]
                .untracked().backup(Backup::Recreatable);
            [".kernel_choice", File, Json, "the chosen kernel (kernel_id, python_path) of this machine"]
                .untracked().backup(Backup::Recreatable);
        ]
    };
}

const fn join<const A: usize, const B: usize, const C: usize, const N: usize>(
    a: [Entry; A],
    b: [Entry; B],
    c: [Entry; C],
) -> [Entry; N] {
    assert!(A + B + C + 1 == N, "the joined layout has the wrong length");
    let mut out = [c[0]; N];
    let mut i = 0;
    while i < A {
        out[i] = a[i];
        i += 1;
    }
    let mut j = 0;
    while j < B {
        out[A + j] = b[j];
        j += 1;
    }
    out[A + B] = entry(
        "cli",
        Kind::Dir,
        Format::Opaque,
        "the cli data dir (omicos cli): its own workspace, isolated from serve; the cli/ entries",
    )
    .private()
    .created_by_app();
    let mut k = 0;
    while k < C {
        out[A + B + 1 + k] = c[k];
        k += 1;
    }
    out
}

const OWN_FILES: [Entry; 1] = own_files!();
const SERVE_ENTRIES: [Entry; 43] = workspace_layout_entries!("");
const CLI_ENTRIES: [Entry; 43] = workspace_layout_entries!("cli/");
const WORKSPACE_ENTRIES: [Entry; 88] = join(OWN_FILES, SERVE_ENTRIES, CLI_ENTRIES);

/// The omicos workspace data directory `<workspace>/.omicos` (serve), with the cli data
/// directory `cli/` (`<workspace>/.omicos/cli`) declared inside it entry for entry.
pub const WORKSPACE_LAYOUT: Layout = Layout::new(
    "omicos-workspace",
    "an omicos workspace data directory (<workspace>/.omicos; the cli one is .omicos/cli)",
    &WORKSPACE_ENTRIES,
)
.located(Location::Project { name: ".omicos", env: Some("OMICOS_WORKSPACE_ROOT") })
.launched_as(super::LAUNCHED_AS)
// The daemon writes `workspace_id` at its first start (the cli data directory its own under
// `cli/`); `dotdir init` makes `conversations/` and `trajectories/`. None of them is the home's.
.fingerprint_any(&[
    "workspace_id",
    "cli/workspace_id",
    "conversations/",
    "conversations.json",
    "trajectories/",
]);

const HOME_ENTRIES: [Entry; 25] = {
    let own = own_files!();
    [
        own[0],
        Entry::file(
            "cloud_login.json",
            Format::Json,
            "global copy/fallback of the login credentials (omicos login writes here), 0600",
        )
        .secret()
        .validate("corrupt-json", |b| check_cloud_login(b).map_err(Into::into)),
        Entry::file("auth.json", Format::Json, "API key fallback storage, 0600").secret(),
        Entry::file(
            "plan_token.jwt",
            Format::Text,
            "subscription-tier JWT, renewed in the background, 0600",
        )
        .secret()
        .validate("bad-plan-token", |b| check_jwt(b).map_err(Into::into)),
        Entry::dir("oauth", "third-party OAuth credentials, 0700").secret(),
        Entry::file("oauth/*.json", Format::Json, "OAuth credentials of one provider, 0600")
            .secret(),
        Entry::file("oauth/**", Format::Opaque, "any other file under oauth/: a secret").secret(),
        Entry::dir(
            "env",
            "the shared Python kernel environment (.venv); omicos env setup rebuilds it",
        )
        .untracked()
        .backup(Backup::Recreatable),
        Entry::file("env/**", Format::Opaque, "a file of the shared kernel environment")
            .untracked()
            .backup(Backup::Recreatable),
        Entry::dir("memory", "long-term memory across conversations"),
        Entry::file("memory/**", Format::Text, "a memory entry (.md)"),
        Entry::dir("cloud-agents", "agent cache synced from omicos-admin")
            .untracked()
            .backup(Backup::Recreatable),
        Entry::file("cloud-agents/**", Format::Opaque, "a cached agent file (re-synced)")
            .untracked()
            .backup(Backup::Recreatable),
        Entry::dir("cloud-skills", "skill cache").untracked().backup(Backup::Recreatable),
        Entry::file("cloud-skills/**", Format::Opaque, "a cached skill file (re-synced)")
            .untracked()
            .backup(Backup::Recreatable),
        Entry::dir("cloud-models", "model catalog cache").untracked().backup(Backup::Recreatable),
        Entry::file("cloud-models/models.json", Format::Json, "the cached model catalog")
            .untracked()
            .backup(Backup::Recreatable),
        Entry::file("cloud-models/**", Format::Opaque, "a cached model catalog file")
            .untracked()
            .backup(Backup::Recreatable),
        Entry::dir("cloud-memory", "memory sync cache").untracked().backup(Backup::Recreatable),
        Entry::file("cloud-memory/**", Format::Opaque, "a cached memory file (re-synced)")
            .untracked()
            .backup(Backup::Recreatable),
        Entry::dir("usage", "usage-audit fallback when there is no workspace"),
        Entry::file("usage/*.jsonl", Format::Jsonl, "usage records of one session, append-only"),
        Entry::file(".kernel_choice", Format::Json, "the chosen kernel of this machine")
            .untracked()
            .backup(Backup::Recreatable),
        // The seed: "directories like agents/, skills/, and updater/ appear only when they're
        // used"; "you don't need to back up … updater/".
        Entry::dir("updater", "updater state, only once used")
            .untracked()
            .backup(Backup::Recreatable),
        Entry::file("updater/**", Format::Opaque, "an updater file")
            .untracked()
            .backup(Backup::Recreatable),
    ]
};

/// The omicos global home `~/.omicos` (or `$OMICOS_LOCAL_HOME`).
pub const HOME_LAYOUT: Layout = Layout::new(
    "omicos-home",
    "the omicos global home (~/.omicos or $OMICOS_LOCAL_HOME), shared by all workspaces",
    &HOME_ENTRIES,
)
.located(Location::Home { name: ".omicos", env: Some("OMICOS_LOCAL_HOME") })
.launched_as(super::LAUNCHED_AS)
// What only the global home holds (the documented listing, §11.1): never `cloud_login.json`,
// `usage/` or `.kernel_choice`, which a workspace holds as well — a workspace taken for the
// home would have its `account.json` (a secret there, unknown here) backed up.
.fingerprint_any(&[
    "plan_token.jwt",
    "auth.json",
    "oauth/",
    "memory/",
    "env/",
    "cloud-agents/",
    "cloud-skills/",
    "cloud-models/",
    "cloud-memory/",
]);

/// Checks a `workspace_id` file: 32 lowercase hex digits, optionally followed by one newline.
pub(crate) fn check_workspace_id(bytes: &[u8]) -> Result<(), String> {
    let id = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if id.len() != 32 {
        return Err(format!("expected 32 lowercase hex digits, found {} bytes", id.len()));
    }
    match id.iter().position(|b| !matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Some(at) => {
            Err(format!("byte {at} is {:?}, not a lowercase hex digit", char::from(id[at])))
        }
        None => Ok(()),
    }
}

/// Checks the shape of a JWT: three base64url segments separated by dots (the signature is not
/// verified; the content is never echoed, it is a secret).
/// Login credentials decode as [`super::CloudLogin`]; the reason never shows a value (a secret).
fn check_cloud_login(bytes: &[u8]) -> Result<(), String> {
    serde_json::from_slice::<super::CloudLogin>(bytes)
        .map(drop)
        .map_err(|e| format!("cloud_login.json {}", dotdir_atomic_store::redacted(&e)))
}

fn check_jwt(bytes: &[u8]) -> Result<(), String> {
    let token = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let segments: Vec<&[u8]> = token.split(|b| *b == b'.').collect();
    if segments.len() != 3 {
        return Err(format!("expected 3 dot-separated segments, found {}", segments.len()));
    }
    let base64url = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'=');
    if segments[..2].iter().any(|s| s.is_empty())
        || !segments.iter().all(|s| s.iter().all(base64url))
    {
        return Err("a segment is empty or not base64url".to_owned());
    }
    Ok(())
}
