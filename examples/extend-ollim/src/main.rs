//! `extend-ollim DIR`: creates or opens DIR as an ollim-bot directory with the plugin layout,
//! writes the `slack` plugin's token from `EXTEND_CANARY`, and saves one routine.

use std::process::ExitCode;

#[expect(clippy::print_stdout, clippy::print_stderr, reason = "a command: it prints what it did")]
fn main() -> ExitCode {
    let (Some(dir), Ok(token)) = (std::env::args_os().nth(1), std::env::var("EXTEND_CANARY"))
    else {
        eprintln!("usage: EXTEND_CANARY=<token> extend-ollim DIR");
        return ExitCode::from(2);
    };
    match extend_ollim::install(std::path::Path::new(&dir), "slack", &token) {
        Ok(done) => {
            println!("{}, {}", done.token.display(), done.routine.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(1)
        }
    }
}
