//! How an application is launched: the names its process can run under, matched against a
//! `/proc/<pid>/cmdline` in every form a real launch takes.

/// The program a data directory's application runs as, in every way it is really launched.
///
/// A command line (`argv`) is the program's when:
/// - its executable is its [`Program::name`] or one of its [`Program::aliases`] (`ollim-bot`,
///   `/venv/bin/ollim-bot`, a renamed binary the layout declares);
/// - it is an interpreter (`python3`, `/venv/bin/python`, `node`, `bun`, `deno`, `ruby`, …) whose
///   script is one of the names (a console script: the kernel runs `python /venv/bin/ollim-bot`),
///   whose `-m` module is one of [`Program::modules`] or inside it (`python -m ollim_bot.main`),
///   or whose script lies in a directory named like a module (`python …/ollim_bot/main.py`,
///   `node …/claude-code/cli.js`);
/// - it is a launcher (`uv run`, `uvx`, `pipx run`, `poetry run`, `npx`, …) of one of the names
///   or modules, in any of the forms above.
///
/// Anything else does not match: `grep ollim-bot` and `vim ~/.ollim-bot/x` are not the bot.
///
/// ```
/// use dotdir_pidlock::Program;
///
/// const BOT: Program = Program::named("ollim-bot").modules(&["ollim_bot"]);
/// let argv = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
/// assert!(BOT.matches(&argv("/home/u/.venv/bin/python3 /home/u/.venv/bin/ollim-bot")));
/// assert!(BOT.matches(&argv("python3 -u -m ollim_bot.main")));
/// assert!(BOT.matches(&argv("/usr/bin/python3.12 /src/ollim_bot/main.py --debug")));
/// assert!(BOT.matches(&argv("uv run ollim-bot")));
/// assert!(!BOT.matches(&argv("grep ollim-bot log.txt")));
/// assert!(!BOT.matches(&argv("vim /home/u/.ollim-bot/state/config.json")));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Program {
    /// The program's name for people, and its executable or console-script name.
    pub name: &'static str,
    /// Other executable names it runs under (a renamed binary, a second console script).
    pub aliases: &'static [&'static str],
    /// Python modules (`ollim_bot`) and script packages (`claude-code`) it runs from.
    pub modules: &'static [&'static str],
}

/// Interpreters whose first non-option argument is the script they run (`python3.12`, `pypy3`
/// and `node20` count: a version may follow the name).
const INTERPRETERS: &[&str] = &["python", "pypy", "node", "nodejs", "bun", "deno", "ruby", "perl"];
/// Interpreter options that take the next argument as their value.
const WITH_VALUE: &[&str] = &["-X", "-W", "-Q", "-r", "--require", "--import", "--loader"];
/// Launchers that run a program named somewhere in their arguments.
const LAUNCHERS: &[&str] = &[
    "uv",
    "uvx",
    "pipx",
    "poetry",
    "pdm",
    "hatch",
    "rye",
    "pixi",
    "npx",
    "pnpm",
    "pnpx",
    "yarn",
    "bunx",
    "env",
    "nohup",
    "setsid",
    "sudo",
    "doas",
    "runuser",
    "nice",
    "ionice",
    "taskset",
    "chrt",
    "stdbuf",
    "timeout",
    "unshare",
    "nsenter",
    "systemd-run",
    "tini",
    "dumb-init",
    "catatonit",
];
/// How many arguments after a launcher are looked at, and how many launchers deep.
const LAUNCHER_ARGS: usize = 32;
const LAUNCHER_DEPTH: usize = 4;

impl Program {
    /// A program known by one name (a binary, or a console script) and no module.
    pub const fn named(name: &'static str) -> Self {
        Self { name, aliases: &[], modules: &[] }
    }

    /// Other executable names it runs under.
    pub const fn aliases(self, aliases: &'static [&'static str]) -> Self {
        Self { aliases, ..self }
    }

    /// The Python modules or script packages it runs from.
    pub const fn modules(self, modules: &'static [&'static str]) -> Self {
        Self { modules, ..self }
    }

    /// Whether the command line `argv` runs this program, in any launch form (see [`Program`]).
    pub fn matches<S: AsRef<str>>(&self, argv: &[S]) -> bool {
        let argv: Vec<&str> = argv.iter().map(AsRef::as_ref).collect();
        self.matches_at(&argv, 0, 0)
    }

    /// Whether `cmdline` (NUL-separated, as `/proc/<pid>/cmdline` holds it) runs this program.
    pub fn matches_cmdline(&self, cmdline: &[u8]) -> bool {
        self.matches(&split_cmdline(cmdline))
    }

    fn matches_at(&self, argv: &[&str], at: usize, depth: usize) -> bool {
        let Some(&first) = argv.get(at) else { return false };
        if self.is_name(first) {
            return true;
        }
        let base = base_name(first);
        if is_interpreter(base) {
            return self.runs_script(&argv[at + 1..]);
        }
        if depth < LAUNCHER_DEPTH && LAUNCHERS.contains(&base) {
            let end = argv.len().min(at + 1 + LAUNCHER_ARGS);
            return (at + 1..end).any(|next| self.matches_at(argv, next, depth + 1));
        }
        false
    }

    /// An interpreter's arguments: options, then `-m module` or a script.
    fn runs_script(&self, args: &[&str]) -> bool {
        let mut args = args.iter();
        while let Some(&arg) = args.next() {
            match arg {
                "-m" => return args.next().is_some_and(|m| self.is_module(m)),
                "-c" | "-e" | "--eval" | "-p" | "--print" => return false,
                "--" => return args.next().is_some_and(|script| self.is_script(script)),
                _ if arg.starts_with("-m") && arg.len() > 2 && !arg.starts_with("--") => {
                    return self.is_module(&arg[2..]);
                }
                _ if WITH_VALUE.contains(&arg) => {
                    args.next();
                }
                _ if arg.starts_with('-') => {}
                script => return self.is_script(script),
            }
        }
        false
    }

    fn is_name(&self, arg: &str) -> bool {
        let base = base_name(arg);
        !base.is_empty() && (base == self.name || self.aliases.contains(&base))
    }

    /// `module` is one of the modules or inside one (`ollim_bot.main`).
    fn is_module(&self, module: &str) -> bool {
        self.modules.iter().any(|m| {
            module.strip_prefix(m).is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
        })
    }

    /// A script that is the program: a name (a console script), a module's file
    /// (`ollim_bot.py`), or a file in a directory named like a module (`ollim_bot/main.py`).
    fn is_script(&self, script: &str) -> bool {
        if self.is_name(script) {
            return true;
        }
        let mut components: Vec<&str> = script.split('/').filter(|c| !c.is_empty()).collect();
        let Some(file) = components.pop() else { return false };
        let stem = file.split('.').next().unwrap_or(file);
        self.modules.iter().any(|m| stem == *m || components.contains(m))
    }
}

/// The arguments of a NUL-separated command line, decoded lossily.
pub(crate) fn split_cmdline(cmdline: &[u8]) -> Vec<String> {
    let cmdline = cmdline.strip_suffix(b"\0").unwrap_or(cmdline);
    cmdline.split(|&b| b == 0).map(|arg| String::from_utf8_lossy(arg).into_owned()).collect()
}

fn base_name(arg: &str) -> &str {
    arg.rsplit('/').next().unwrap_or(arg)
}

fn is_interpreter(base: &str) -> bool {
    INTERPRETERS.iter().any(|name| {
        base.strip_prefix(name)
            .is_some_and(|version| version.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOT: Program = Program::named("ollim-bot").modules(&["ollim_bot"]);
    const CLAUDE: Program = Program::named("claude").modules(&["claude-code"]);

    fn argv(line: &str) -> Vec<&str> {
        line.split(' ').collect()
    }

    #[test]
    fn every_launch_form_of_the_bot_matches() {
        for line in [
            "ollim-bot",
            "/home/u/.local/bin/ollim-bot --verbose",
            "/home/u/.venv/bin/python3 /home/u/.venv/bin/ollim-bot",
            "python -m ollim_bot",
            "python3 -m ollim_bot.main",
            "python3 -u -X dev -m ollim_bot.main",
            "python3 -mollim_bot.main",
            "/usr/bin/python3.12 /src/ollim/src/ollim_bot/main.py",
            "python3 ollim_bot.py",
            "uv run ollim-bot",
            "uv run --project /src python -m ollim_bot.main",
            "uvx ollim-bot",
            "pipx run ollim-bot",
            "nohup env OLLIM_DATA_DIR=/x /venv/bin/python /venv/bin/ollim-bot",
            "unshare --pid --fork --mount-proc python3 -m ollim_bot.main",
        ] {
            assert!(BOT.matches(&argv(line)), "{line}");
        }
    }

    #[test]
    fn other_programs_do_not_match() {
        for line in [
            "grep ollim-bot log.txt",
            "vim /home/u/.ollim-bot/state/config.json",
            "tail -f /home/u/.ollim-bot/state/session_history.jsonl",
            "python3 -c import ollim_bot",
            "python3 /src/other/main.py ollim-bot",
            "python3 -m pytest tests/ollim_bot",
            "dotdir check --layout ollim-bot",
            "bash",
            "",
        ] {
            assert!(!BOT.matches(&argv(line)), "{line}");
        }
    }

    #[test]
    fn a_node_script_matches_by_its_package() {
        assert!(CLAUDE.matches(&argv(
            "node /usr/lib/node_modules/@anthropic-ai/claude-code/cli.js --resume"
        )));
        assert!(CLAUDE.matches(&argv("/home/u/.local/share/claude/versions/2.0.1/claude")));
        assert!(!CLAUDE.matches(&argv("node /srv/app/server.js")));
    }

    #[test]
    fn a_cmdline_is_split_on_nul() {
        assert!(BOT.matches_cmdline(b"python3\0-m\0ollim_bot.main\0"));
        assert!(!BOT.matches_cmdline(b"python3\0-m\0other\0"));
        assert!(!BOT.matches_cmdline(b""));
    }

    #[test]
    fn a_renamed_binary_matches_where_declared() {
        let omicos = Program::named("omicos").aliases(&["omi"]);
        assert!(omicos.matches(&argv("/usr/local/bin/omi serve")));
        assert!(!Program::named("omicos").matches(&argv("/usr/local/bin/omi serve")));
    }
}
