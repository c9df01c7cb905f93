//! `codex-data`: inspect, check, repair, back up, restore and create the data directory of
//! OpenAI Codex CLI (`~/.codex`, or `$CODEX_HOME`) — the dotdir command, with this layout.

fn main() -> std::process::ExitCode {
    dotdir_cli::Cli::new("codex-data")
        .about("Look after OpenAI Codex CLI's data directory (~/.codex): inspect, check, back up, restore.")
        .version(env!("CARGO_PKG_VERSION"))
        .layout(&codex_data::LAYOUT)
        .run()
}
