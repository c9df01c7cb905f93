//! `state/ping_budget.json` on `dotdir-ping-bucket`: the proactive ping budget.

use std::path::Path;

use dotdir_ping_bucket::{BudgetState, PingBudget};

use crate::ollim::{DataDir, files};

impl DataDir {
    /// The ping budget of this directory, on the directory's clock and time zone. Reads do not
    /// rewrite the file; spending is a read-modify-write under the file's cross-process lock.
    pub fn ping_budget(&self) -> PingBudget {
        let path = self.state_dir().join(files::PING_BUDGET);
        let options = self.dir.write_options(&path);
        PingBudget::new(path, self.tz.clone()).clock(self.clock.clone()).write_options(options)
    }
}

pub(crate) fn validate_budget(content: &[u8]) -> Result<(), String> {
    BudgetState::from_json(content, Path::new(files::PING_BUDGET))
        .map(|_| ())
        .map_err(|e| e.to_string())
}
