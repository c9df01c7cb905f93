//! `tool-policy.yaml`: the optional, user-edited tool policy at the root of the data directory
//! (upstream `tool_policy.py`), parsed through `dotdir-frontmatter`'s guarded YAML parser.
//!
//! A missing file and a file that is not a mapping are the empty policy, as upstream. Unlike
//! upstream, a section that is `null` (`main_session:` with nothing under it) is empty rather
//! than a crash, and broken YAML is an error naming the file, line and column.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The file name, at the root of the data directory.
pub const TOOL_POLICY_FILE: &str = "tool-policy.yaml";

/// The tools a background fork may use unless the policy overrides them (upstream
/// `DEFAULT_BG_TOOLS`).
pub const DEFAULT_BG_TOOLS: [&str; 5] = [
    "Bash(ollim-bot help)",
    "Bash(ollim-bot tasks *)",
    "Read(./**.md)",
    "Glob(./**.md)",
    "Grep(./**.md)",
];

/// The tool policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolPolicy {
    /// `main_session`.
    #[serde(default, deserialize_with = "null_is_default")]
    pub main_session: MainSession,
    /// `bg_forks`.
    #[serde(default, deserialize_with = "null_is_default")]
    pub bg_forks: BgForks,
}

/// `main_session` of the tool policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MainSession {
    /// `additional_allowed`: appended to the main session's tools.
    #[serde(default, deserialize_with = "null_is_default")]
    pub additional_allowed: Vec<String>,
}

/// `bg_forks` of the tool policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BgForks {
    /// `override`: replaces [`DEFAULT_BG_TOOLS`], even when empty.
    #[serde(default, rename = "override")]
    pub replace: Option<Vec<String>>,
    /// `additional_allowed`: appended.
    #[serde(default, deserialize_with = "null_is_default")]
    pub additional_allowed: Vec<String>,
}

fn null_is_default<'de, D, T>(deserializer: D) -> std::result::Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

impl ToolPolicy {
    /// Parses the file's bytes (see the module docs).
    pub fn parse(bytes: &[u8]) -> std::result::Result<ToolPolicy, String> {
        let limits = dotdir_frontmatter::Limits::default();
        let value: Value = dotdir_frontmatter::parse_yaml(bytes, &limits)
            .map_err(|e| format!("{TOOL_POLICY_FILE}: {e}"))?;
        if !value.is_object() {
            return Ok(ToolPolicy::default());
        }
        serde_json::from_value(value).map_err(|e| format!("{TOOL_POLICY_FILE}: {e}"))
    }

    /// The main session's tools: `base` and then `additional_allowed`, without duplicates.
    pub fn main_session_tools(&self, base: &[&str]) -> Vec<String> {
        dedup(
            base.iter()
                .map(|t| (*t).to_owned())
                .chain(self.main_session.additional_allowed.clone()),
        )
    }

    /// A background fork's tools: `override` (else [`DEFAULT_BG_TOOLS`]) and then
    /// `additional_allowed`, without duplicates.
    pub fn bg_fork_tools(&self) -> Vec<String> {
        let base = match &self.bg_forks.replace {
            Some(tools) => tools.clone(),
            None => DEFAULT_BG_TOOLS.iter().map(|t| (*t).to_owned()).collect(),
        };
        dedup(base.into_iter().chain(self.bg_forks.additional_allowed.clone()))
    }
}

fn dedup(tools: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for tool in tools {
        if !out.contains(&tool) {
            out.push(tool);
        }
    }
    out
}

/// The declaration's validator of `tool-policy.yaml`.
/// The tool policy's validator: broken YAML at its line and column, a wrong shape without.
pub(crate) fn validate_tool_policy(
    bytes: &[u8],
) -> std::result::Result<(), dotdir_engine::Finding> {
    let limits = dotdir_frontmatter::Limits::default();
    if let Err(e) = dotdir_frontmatter::parse_yaml::<Value>(bytes, &limits) {
        let reason = format!("{TOOL_POLICY_FILE}: {}", e.reason);
        return Err(dotdir_engine::Finding::at(reason, e.line as u64, e.column as u64));
    }
    ToolPolicy::parse(bytes).map(drop).map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upstream_schema() {
        let policy = ToolPolicy::parse(
            b"main_session:\n  additional_allowed: [WebFetch, Read]\nbg_forks:\n  override: []\n  additional_allowed: [Grep]\nother: 1\n",
        )
        .unwrap();
        assert_eq!(policy.main_session_tools(&["Read", "Write"]), ["Read", "Write", "WebFetch"]);
        assert_eq!(policy.bg_fork_tools(), ["Grep"], "an empty override replaces the defaults");
        let defaults =
            ToolPolicy::parse(b"bg_forks:\n  additional_allowed: [\"Read(./**.md)\", X]\n")
                .unwrap();
        assert_eq!(defaults.bg_fork_tools().len(), DEFAULT_BG_TOOLS.len() + 1);
        // Empty, a non-mapping and null sections are the empty policy (upstream crashed on null).
        for empty in [&b""[..], b"# nothing\n", b"- a list\n", b"main_session:\nbg_forks: ~\n"] {
            assert_eq!(ToolPolicy::parse(empty).unwrap(), ToolPolicy::default(), "{empty:?}");
        }
        for bad in [
            &b"main_session: [\n"[..],
            b"a: &x 1\nb: *x\n",
            b"main_session:\n  additional_allowed: 3\n",
        ] {
            let error = ToolPolicy::parse(bad).unwrap_err();
            assert!(error.starts_with(TOOL_POLICY_FILE), "{error}");
        }
    }
}
