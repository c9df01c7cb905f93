//! `claude-data`: inspect, check, repair, back up, restore and create the data directory of
//! Claude Code (`~/.claude`, or `$CLAUDE_CONFIG_DIR`) — the dotdir command, with this layout.

fn main() -> std::process::ExitCode {
    dotdir_cli::Cli::new("claude-data")
        .about("Look after Claude Code's data directory (~/.claude): inspect, check, back up, restore.")
        .version(env!("CARGO_PKG_VERSION"))
        .layout(&claude_data::LAYOUT)
        .run()
}
