//! Colour for people on a terminal, plain text everywhere else, and human sizes and modes.

use std::io::IsTerminal;

/// When to colour the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ColorChoice {
    /// Only when standard output is a terminal and `NO_COLOR` is not set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Paints text when colour is on, and names the command in what it tells people to run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    color: bool,
    /// The command's name (`dotdir`, or a downstream app's).
    pub(crate) command: &'static str,
}

impl Style {
    pub(crate) fn new(choice: ColorChoice, command: &'static str) -> Self {
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::env::var("TERM").map_or(true, |t| t != "dumb")
            }
        };
        Self { color, command }
    }

    /// `text` with the engine's `` `dotdir <subcommand>` `` advice naming this command instead.
    pub(crate) fn commands(&self, text: &str) -> String {
        text.replace("`dotdir ", &format!("`{} ", self.command))
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
    }

    pub(crate) fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    pub(crate) fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }

    pub(crate) fn error(&self, text: &str) -> String {
        self.paint("1;31", text)
    }

    pub(crate) fn bad(&self, text: &str) -> String {
        self.paint("31", text)
    }

    pub(crate) fn warn(&self, text: &str) -> String {
        self.paint("33", text)
    }

    pub(crate) fn good(&self, text: &str) -> String {
        self.paint("32", text)
    }

    pub(crate) fn info(&self, text: &str) -> String {
        self.paint("36", text)
    }
}

/// `512B`, `1.2K`, `3.4M`, `1.0G`.
pub(crate) fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["K", "M", "G", "T"];
    if bytes < 1024 {
        return format!("{bytes}B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1}{}", UNITS[unit])
}

/// `n` and the noun that agrees with it: `1 file`, `0 files`, `2 files`.
pub(crate) fn plural<N>(n: N, one: &str, many: &str) -> String
where
    N: std::fmt::Display + PartialEq + From<u8>,
{
    let noun = if n == N::from(1) { one } else { many };
    format!("{n} {noun}")
}

/// `7d`, `12h`, `30m`, `45s`.
pub(crate) fn duration(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s >= 86_400 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s >= 3_600 && s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s >= 60 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// Pads `text` to `width` characters (counting chars, not bytes), ignoring colour codes the
/// caller adds afterwards.
/// `text` cut to `width` characters in the middle (`morning-check-in…calendar-for.md`), so a
/// long name keeps its start and its extension and the columns after it stay aligned.
pub(crate) fn shorten(text: &str, width: usize) -> String {
    let len = text.chars().count();
    if len <= width || width < 5 {
        return text.to_owned();
    }
    let tail = (width - 1) / 2;
    let head = width - 1 - tail;
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(len - tail).collect();
    format!("{start}…{end}")
}

/// A spinner on standard error for work that may take a while (the walk of a large directory):
/// it appears only after a second, and only on a terminal. Finish it with `finish_and_clear`.
pub(crate) fn working(message: String) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    let bar = indicatif::ProgressBar::hidden();
    if !std::io::stderr().is_terminal() {
        return bar;
    }
    if let Ok(template) = indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        bar.set_style(template);
    }
    bar.set_message(message);
    let later = bar.clone();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(1));
        if !later.is_finished() {
            later.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            later.enable_steady_tick(std::time::Duration::from_millis(120));
        }
    });
    bar
}

pub(crate) fn pad(text: &str, width: usize) -> String {
    let len = text.chars().count();
    if len >= width { text.to_owned() } else { format!("{text}{}", " ".repeat(width - len)) }
}

/// `text` safe for a terminal: every control character (C0, DEL, C1) shown as an escape —
/// `\e` for ESC, `\t`, `\n`, `\r`, `\xNN` for the rest — so a hostile file name, manifest entry
/// or error cannot move the cursor, erase a line or recolour what follows. Colour codes are
/// added around the cleaned text, never inside it.
pub(crate) fn clean(text: &str) -> std::borrow::Cow<'_, str> {
    let control = |c: char| c.is_control();
    if !text.chars().any(control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\x1b' => out.push_str("\\e"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if control(c) => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod plural_tests {
    #[test]
    fn the_noun_agrees_with_the_count() {
        assert_eq!(super::plural(0usize, "file", "files"), "0 files");
        assert_eq!(super::plural(1usize, "file", "files"), "1 file");
        assert_eq!(super::plural(2u64, "entry", "entries"), "2 entries");
    }
}

#[cfg(test)]
mod clean_tests {
    #[test]
    fn control_characters_are_shown_never_sent() {
        assert_eq!(super::clean("note\x1b[1A\x1b[2K.md"), "note\\e[1A\\e[2K.md");
        assert_eq!(super::clean("a\u{9b}2Jb\x07"), "a\\x9b2Jb\\x07");
        assert_eq!(super::clean("plain / ünïcode"), "plain / ünïcode");
    }
}

#[cfg(test)]
mod shorten_tests {
    #[test]
    fn a_long_name_is_cut_in_the_middle_to_the_width() {
        let name = "morning-check-in-review-my-tasks-and-calendar-for.md";
        let short = super::shorten(name, 30);
        assert_eq!(short.chars().count(), 30);
        assert!(
            short.starts_with("morning-check-i") && short.ends_with("alendar-for.md"),
            "{short}"
        );
        assert_eq!(super::shorten("short.md", 30), "short.md");
    }
}
