//! The `dotdir` command: [`dotdir_cli::Cli::builtin`], the library with ollim-bot's and
//! omicos' layouts and `demo`, through its public API only.

fn main() -> std::process::ExitCode {
    dotdir_cli::Cli::builtin().run()
}
