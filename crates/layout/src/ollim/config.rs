//! `state/config.json`: the ten runtime keys of `/config`, their defaults, validation and the
//! legacy boolean `thinking_*` migration.

use serde::{Deserialize, Serialize};

/// The runtime configuration, fields in the reference's order (the order of keys in the file).
/// The file always holds all ten keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "RawConfig")]
pub struct RuntimeConfig {
    /// Model of the main session: `opus`, `sonnet`, `haiku`, or `None` for the default.
    pub model_main: Option<String>,
    /// Model of forks; `None` inherits the main model.
    pub model_fork: Option<String>,
    /// Thinking of the main session: `off`, `adaptive` or a positive token budget (digits, kept
    /// as written).
    pub thinking_main: String,
    /// Thinking of forks.
    pub thinking_fork: String,
    /// Background fork timeout, seconds.
    pub bg_fork_timeout: u64,
    /// Interactive fork idle timeout, minutes.
    pub fork_idle_timeout: u64,
    /// Permission mode: `dontAsk`, `default`, `acceptEdits`, `bypassPermissions`.
    pub permission_mode: String,
    /// Whether the bot updates itself.
    pub auto_update: bool,
    /// Minutes between update checks.
    pub auto_update_interval: u64,
    /// Hour of day (0-23) of the update.
    pub auto_update_hour: u64,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            model_main: None,
            model_fork: None,
            thinking_main: "off".to_owned(),
            thinking_fork: "adaptive".to_owned(),
            bg_fork_timeout: 1800,
            fork_idle_timeout: 10,
            permission_mode: "dontAsk".to_owned(),
            auto_update: false,
            auto_update_interval: 60,
            auto_update_hour: 6,
        }
    }
}

/// The ten keys, in file order.
pub const CONFIG_KEYS: [&str; 10] = [
    "model_main",
    "model_fork",
    "thinking_main",
    "thinking_fork",
    "bg_fork_timeout",
    "fork_idle_timeout",
    "permission_mode",
    "auto_update",
    "auto_update_interval",
    "auto_update_hour",
];

const MODELS: [&str; 3] = ["haiku", "opus", "sonnet"];
const PERMISSION_MODES: [&str; 4] = ["dontAsk", "default", "acceptEdits", "bypassPermissions"];

/// What the file may hold: any subset of the keys, unknown keys ignored, legacy booleans for
/// the `thinking_*` keys.
#[derive(Deserialize)]
#[serde(default)]
struct RawConfig {
    model_main: Option<String>,
    model_fork: Option<String>,
    thinking_main: Thinking,
    thinking_fork: Thinking,
    bg_fork_timeout: u64,
    fork_idle_timeout: u64,
    permission_mode: String,
    auto_update: bool,
    auto_update_interval: u64,
    auto_update_hour: u64,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Thinking {
    Legacy(bool),
    Value(String),
}

impl Thinking {
    fn migrate(self) -> String {
        match self {
            Thinking::Legacy(true) => "adaptive".to_owned(),
            Thinking::Legacy(false) => "off".to_owned(),
            Thinking::Value(value) => value,
        }
    }
}

impl Default for RawConfig {
    fn default() -> Self {
        let d = RuntimeConfig::default();
        Self {
            model_main: d.model_main,
            model_fork: d.model_fork,
            thinking_main: Thinking::Value(d.thinking_main),
            thinking_fork: Thinking::Value(d.thinking_fork),
            bg_fork_timeout: d.bg_fork_timeout,
            fork_idle_timeout: d.fork_idle_timeout,
            permission_mode: d.permission_mode,
            auto_update: d.auto_update,
            auto_update_interval: d.auto_update_interval,
            auto_update_hour: d.auto_update_hour,
        }
    }
}

impl From<RawConfig> for RuntimeConfig {
    fn from(raw: RawConfig) -> Self {
        Self {
            model_main: raw.model_main,
            model_fork: raw.model_fork,
            thinking_main: raw.thinking_main.migrate(),
            thinking_fork: raw.thinking_fork.migrate(),
            bg_fork_timeout: raw.bg_fork_timeout,
            fork_idle_timeout: raw.fork_idle_timeout,
            permission_mode: raw.permission_mode,
            auto_update: raw.auto_update,
            auto_update_interval: raw.auto_update_interval,
            auto_update_hour: raw.auto_update_hour,
        }
    }
}

impl RuntimeConfig {
    /// Parses `raw` for `key` with the reference's rules and sets it. An unknown key is
    /// `unknown key: <key>`; a bad value gives the reference's message (`must be one of: haiku,
    /// opus, sonnet`, `must be a positive integer`, `must be on/off`, `must be an integer 0-23`,
    /// …). Unlike the reference, only ASCII digits count as digits.
    pub fn set_value(&mut self, key: &str, raw: &str) -> Result<(), String> {
        match key {
            "model_main" => self.model_main = parse_model(raw)?,
            "model_fork" => self.model_fork = parse_model(raw)?,
            "thinking_main" => self.thinking_main = parse_thinking(raw)?,
            "thinking_fork" => self.thinking_fork = parse_thinking(raw)?,
            "bg_fork_timeout" => self.bg_fork_timeout = parse_positive(raw)?,
            "fork_idle_timeout" => self.fork_idle_timeout = parse_positive(raw)?,
            "permission_mode" => self.permission_mode = parse_permission_mode(raw)?,
            "auto_update" => self.auto_update = parse_bool(raw)?,
            "auto_update_interval" => self.auto_update_interval = parse_positive(raw)?,
            "auto_update_hour" => self.auto_update_hour = parse_hour(raw)?,
            _ => return Err(format!("unknown key: {key}")),
        }
        Ok(())
    }

    /// Every value that breaks a rule, as `key: reason` lines (empty when valid).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut check = |key: &str, ok: bool, reason: &str| {
            if !ok {
                out.push(format!("{key}: {reason}"));
            }
        };
        let model_ok = |m: &Option<String>| m.as_deref().is_none_or(|m| MODELS.contains(&m));
        check("model_main", model_ok(&self.model_main), "must be one of: haiku, opus, sonnet");
        check("model_fork", model_ok(&self.model_fork), "must be one of: haiku, opus, sonnet");
        let thinking_ok = |t: &str| parse_thinking(t).is_ok_and(|p| p == t);
        check(
            "thinking_main",
            thinking_ok(&self.thinking_main),
            "must be off, adaptive or a positive integer",
        );
        check(
            "thinking_fork",
            thinking_ok(&self.thinking_fork),
            "must be off, adaptive or a positive integer",
        );
        check("bg_fork_timeout", self.bg_fork_timeout > 0, "must be a positive integer");
        check("fork_idle_timeout", self.fork_idle_timeout > 0, "must be a positive integer");
        check(
            "permission_mode",
            PERMISSION_MODES.contains(&self.permission_mode.as_str()),
            "must be one of: dontAsk, default, acceptEdits, bypassPermissions",
        );
        check("auto_update_interval", self.auto_update_interval > 0, "must be a positive integer");
        check("auto_update_hour", self.auto_update_hour <= 23, "must be an integer 0-23");
        out
    }

    /// The reference's `/config` display: one `**key**: value` line per key, ` (default)` when
    /// the value is the default.
    pub fn format_all(&self) -> String {
        let d = Self::default();
        let suffix = |is_default: bool| if is_default { " (default)" } else { "" };
        let model = |m: &Option<String>, none: &str| m.clone().unwrap_or_else(|| none.to_owned());
        // The reference: `f"{int(value) // 1000}k budget"` (1500 shows as `1k budget`).
        let thinking = |t: &str| match t.parse::<u64>() {
            Ok(n) => format!("{}k budget", n / 1000),
            Err(_) => t.to_owned(),
        };
        let on_off = |b: bool| if b { "on" } else { "off" };
        [
            format!(
                "**model.main**: {}",
                if self.model_main.is_none() {
                    "(default)".to_owned()
                } else {
                    model(&self.model_main, "")
                }
            ),
            format!("**model.fork**: {}", model(&self.model_fork, "(inherit main)")),
            format!(
                "**thinking.main**: {}{}",
                thinking(&self.thinking_main),
                suffix(self.thinking_main == d.thinking_main)
            ),
            format!(
                "**thinking.fork**: {}{}",
                thinking(&self.thinking_fork),
                suffix(self.thinking_fork == d.thinking_fork)
            ),
            format!(
                "**bg_fork_timeout**: {}s{}",
                self.bg_fork_timeout,
                suffix(self.bg_fork_timeout == d.bg_fork_timeout)
            ),
            format!(
                "**fork_idle_timeout**: {}m{}",
                self.fork_idle_timeout,
                suffix(self.fork_idle_timeout == d.fork_idle_timeout)
            ),
            format!(
                "**permission_mode**: {}{}",
                self.permission_mode,
                suffix(self.permission_mode == d.permission_mode)
            ),
            format!(
                "**auto_update**: {}{}",
                on_off(self.auto_update),
                suffix(self.auto_update == d.auto_update)
            ),
            format!(
                "**auto_update_interval**: {}m{}",
                self.auto_update_interval,
                suffix(self.auto_update_interval == d.auto_update_interval)
            ),
            format!(
                "**auto_update_hour**: {}:00{}",
                self.auto_update_hour,
                suffix(self.auto_update_hour == d.auto_update_hour)
            ),
        ]
        .join("\n")
    }
}

fn parse_model(raw: &str) -> Result<Option<String>, String> {
    let lowered = raw.trim().to_lowercase();
    match lowered.as_str() {
        "" | "null" | "none" | "default" => Ok(None),
        m if MODELS.contains(&m) => Ok(Some(lowered)),
        _ => Err("must be one of: haiku, opus, sonnet".to_owned()),
    }
}

fn ascii_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn parse_thinking(raw: &str) -> Result<String, String> {
    let lowered = raw.trim().to_lowercase();
    match lowered.as_str() {
        "off" | "adaptive" => Ok(lowered),
        digits if ascii_digits(digits) && digits.bytes().any(|b| b != b'0') => Ok(lowered),
        _ => Err("must be off, adaptive, or a positive integer (token budget)".to_owned()),
    }
}

fn parse_positive(raw: &str) -> Result<u64, String> {
    let trimmed = raw.trim();
    match trimmed.parse::<u64>() {
        Ok(n) if ascii_digits(trimmed) && n > 0 => Ok(n),
        _ => Err("must be a positive integer".to_owned()),
    }
}

fn parse_permission_mode(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim();
    if PERMISSION_MODES.contains(&trimmed) {
        Ok(trimmed.to_owned())
    } else {
        Err("must be one of: dontAsk, default, acceptEdits, bypassPermissions".to_owned())
    }
}

fn parse_bool(raw: &str) -> Result<bool, String> {
    match raw.trim().to_lowercase().as_str() {
        "on" | "true" | "1" | "yes" => Ok(true),
        "off" | "false" | "0" | "no" => Ok(false),
        _ => Err("must be on/off".to_owned()),
    }
}

fn parse_hour(raw: &str) -> Result<u64, String> {
    let trimmed = raw.trim();
    match trimmed.parse::<u64>() {
        Ok(n) if ascii_digits(trimmed) && n <= 23 => Ok(n),
        _ => Err("must be an integer 0-23".to_owned()),
    }
}

pub(crate) fn validate_config(content: &[u8]) -> Result<(), String> {
    let config: RuntimeConfig = serde_json::from_slice(content).map_err(|e| e.to_string())?;
    match config.problems().as_slice() {
        [] => Ok(()),
        problems => Err(problems.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::RuntimeConfig;

    #[test]
    fn thinking_budgets_display_as_the_reference_does() {
        for (value, shown) in [("1500", "1k budget"), ("08000", "8k budget"), ("999", "0k budget")]
        {
            let config =
                RuntimeConfig { thinking_main: value.to_owned(), ..RuntimeConfig::default() };
            let line = format!("**thinking.main**: {shown}");
            assert!(config.format_all().contains(&line), "{value}: {}", config.format_all());
        }
    }
}
