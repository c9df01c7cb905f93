//! `DataDir`'s policy operations (the types are in `ollim::policy`).

use super::{DataDir, Error, Result};

use crate::ollim::policy::{TOOL_POLICY_FILE, ToolPolicy};

impl DataDir {
    /// The tool policy (`tool-policy.yaml`; the empty policy when there is none). Broken YAML
    /// is [`Error::Invalid`] naming the line and column.
    pub fn tool_policy(&self) -> Result<ToolPolicy> {
        let path = self.root().join(TOOL_POLICY_FILE);
        let limit = dotdir_frontmatter::Limits::default().max_front_matter_bytes as u64;
        match dotdir_atomic_store::read(&path, limit + 1)? {
            None => Ok(ToolPolicy::default()),
            Some(bytes) => {
                ToolPolicy::parse(&bytes).map_err(|reason| Error::Invalid { path, reason })
            }
        }
    }
}
