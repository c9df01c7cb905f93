//! The exclusion list: gitignore-style globs checked in code before anything is staged, and the
//! managed block of `.gitignore` derived from them.

use std::path::Path;

use crate::{Error, Result};

/// Patterns every journal excludes, whatever the caller adds: the temporary files and sidecar
/// locks of `dotdir-atomic-store`, pid files and the `.corrupt` files bad
/// data is set aside in (they hold what could not be read, and may hold a secret's bytes).
pub const BUILTIN_EXCLUSIONS: &[&str] = &["*.dotdir-tmp", "*.lock", "*.pid", "*.corrupt"];

/// The first line of the block of `.gitignore` the journal owns.
pub(crate) const BLOCK_BEGIN: &str =
    "# >>> dotdir-git-journal: generated from the exclusion list; edits inside are replaced";
/// The last line of that block.
pub(crate) const BLOCK_END: &str = "# <<< dotdir-git-journal";

/// A list of paths that are never staged, in gitignore's glob syntax.
///
/// The syntax is the part of gitignore that can be enforced without a file system walk:
/// - a pattern without a slash (`*.pid`, `token.json`) matches a file or directory name at any
///   depth;
/// - a pattern with a slash (`state/token.json`, `.claude/agents/*.md`, a leading `/` is allowed)
///   matches from the top of the directory;
/// - `*` matches within one path component, `?` one character, `[abc]`, `[a-z]` and `[!x]` a
///   character class, `**` any number of components (`**/x`, `a/**/b`, `a/**`), `\` escapes;
/// - a trailing `/` is accepted and ignored: a pattern that matches a directory excludes
///   everything under it, and a pattern naming a directory also excludes a file of that name
///   (over-excluding is the safe side).
///
/// Negation (`!pattern`) is not supported: an exclusion list only grows. Matching is
/// case-sensitive and byte-wise (see the crate's limitations).
///
/// **Deny by default.** With an allow-list ([`Exclusions::allow_only`]) a file may be staged
/// only when an allowed pattern matches it *and* no exclusion does; every other path is
/// undeclared ([`Exclusions::is_declared`]), refused by the journal
/// ([`crate::Error::Undeclared`]) and ignored by the generated `.gitignore`, which then ignores
/// everything (`/*`) and un-ignores only the allowed paths, exclusions last:
///
/// ```
/// use dotdir_git_journal::Exclusions;
/// let exclusions = Exclusions::new(["/state/token.json"])?
///     .allow_only(["/routines/*.md", "/state/session_history.jsonl"])?;
/// assert!(exclusions.allows("routines/a.md"));
/// assert!(exclusions.allows(".gitignore"), "always declared");
/// assert!(!exclusions.allows("state/token.json"), "excluded");
/// assert!(!exclusions.allows(".env"), "undeclared");
/// assert!(!exclusions.allows("state/token.json.bak"), "undeclared");
/// # Ok::<(), dotdir_git_journal::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exclusions {
    patterns: Vec<Pattern>,
    /// The paths that may be tracked, when the list denies by default.
    allowed: Option<Vec<Pattern>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    /// As the caller wrote it.
    source: String,
    /// Components of the glob, split at `/`.
    segments: Vec<String>,
    /// Whether the pattern matches a name at any depth (it had no inner slash).
    floating: bool,
}

impl Default for Exclusions {
    /// The [`BUILTIN_EXCLUSIONS`].
    fn default() -> Self {
        Self::builtin()
    }
}

impl Exclusions {
    /// The [`BUILTIN_EXCLUSIONS`] alone.
    pub fn builtin() -> Self {
        let mut exclusions = Exclusions { patterns: Vec::new(), allowed: None };
        for pattern in BUILTIN_EXCLUSIONS {
            exclusions
                .patterns
                .push(Pattern::parse(pattern).expect("the built-in patterns are valid"));
        }
        exclusions
    }

    /// The [`BUILTIN_EXCLUSIONS`] plus `patterns`. An invalid pattern is an
    /// [`Error::InvalidPattern`].
    pub fn new<I, S>(patterns: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut exclusions = Self::builtin();
        for pattern in patterns {
            exclusions.add(pattern.as_ref())?;
        }
        Ok(exclusions)
    }

    /// Adds one pattern (a duplicate is ignored).
    pub fn add(&mut self, pattern: &str) -> Result<()> {
        let parsed = Pattern::parse(pattern)?;
        if !self.patterns.iter().any(|p| p.source == parsed.source) {
            self.patterns.push(parsed);
        }
        Ok(())
    }

    /// Denies by default: only a file one of `patterns` matches (and no exclusion does) may be
    /// staged; every other path is undeclared. `.gitignore` is always declared. Patterns are
    /// paths from the top of the directory (a leading `/` is allowed and changes nothing),
    /// with the same wildcards as exclusions. An invalid pattern is an
    /// [`Error::InvalidPattern`].
    pub fn allow_only<I, S>(mut self, patterns: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut allowed = vec![Pattern::parse("/.gitignore")?];
        for pattern in patterns {
            let pattern = pattern.as_ref();
            let anchored =
                if pattern.starts_with('/') { pattern.to_owned() } else { format!("/{pattern}") };
            let parsed = Pattern::parse(&anchored)?;
            if !allowed.iter().any(|p| p.segments == parsed.segments) {
                allowed.push(parsed);
            }
        }
        self.allowed = Some(allowed);
        Ok(self)
    }

    /// The patterns, as written.
    pub fn patterns(&self) -> impl Iterator<Item = &str> {
        self.patterns.iter().map(|p| p.source.as_str())
    }

    /// The allowed patterns ([`Exclusions::allow_only`]), anchored with `/`; `None` when the
    /// list does not deny by default.
    pub fn allowed_patterns(&self) -> Option<impl Iterator<Item = &str>> {
        self.allowed.as_ref().map(|allowed| allowed.iter().map(|p| p.source.as_str()))
    }

    /// Whether the file at `rel` is declared: the list does not deny by default, or an allowed
    /// pattern matches the path itself (a directory is never declared on its own: its files
    /// are). Exclusions are not consulted: see [`Exclusions::allows`].
    pub fn is_declared(&self, rel: &str) -> bool {
        let Some(allowed) = &self.allowed else { return true };
        let components: Vec<&str> = rel.split('/').filter(|c| !c.is_empty()).collect();
        allowed.iter().any(|p| {
            // As in git, a trailing `/**` matches what is inside, never the directory itself.
            let inside_only = match p.segments.split_last() {
                Some((last, prefix)) if last == "**" => !path_matches(prefix, &components),
                _ => true,
            };
            inside_only && path_matches(&p.segments, &components)
        })
    }

    /// Whether the file at `rel` may be staged: no exclusion matches it (or a parent) and it
    /// is declared. A path that is not valid UTF-8 may not be.
    pub fn allows(&self, rel: &str) -> bool {
        self.matching(rel).is_none() && self.is_declared(rel)
    }

    /// The first pattern that excludes `rel` (a `/`-separated path relative to the top of the
    /// directory), if any. A path is excluded when a pattern matches it or any of its parent
    /// directories.
    pub fn matching(&self, rel: &str) -> Option<&str> {
        let components: Vec<&str> = rel.split('/').filter(|c| !c.is_empty()).collect();
        self.patterns.iter().find(|p| p.excludes(&components)).map(|p| p.source.as_str())
    }

    /// Whether `rel` is excluded (see [`Exclusions::matching`]). A path that is not valid UTF-8
    /// counts as excluded.
    pub fn is_excluded(&self, rel: &Path) -> bool {
        match rel.to_str() {
            Some(rel) => self.matching(rel).is_some(),
            None => true,
        }
    }

    /// The patterns that the `.gitignore` text `gitignore` does not cover: for each pattern, a
    /// path it matches (its wildcards replaced by a plain name) is not ignored by any line of
    /// `gitignore` (comments, negations and lines this syntax cannot read are not counted).
    /// Patterns for `.git` itself are never reported: git does not track its own directory.
    pub fn uncovered_by(&self, gitignore: &str) -> Vec<&str> {
        let mut lines = Exclusions { patterns: Vec::new(), allowed: None };
        for line in gitignore.lines().map(str::trim) {
            if !line.is_empty() && !line.starts_with('#') {
                let _ = lines.add(line);
            }
        }
        self.patterns
            .iter()
            .filter(|p| p.segments.first().is_none_or(|first| first != ".git"))
            .filter(|p| lines.matching(&p.sample_path()).is_none())
            .map(|p| p.source.as_str())
            .collect()
    }

    /// Whether the `.gitignore` text `existing` already ends with this list's block, as
    /// [`crate::Journal::sync_gitignore`] would leave it.
    pub fn gitignore_is_current(&self, existing: &str) -> bool {
        merge_gitignore(existing, &self.gitignore_block()) == existing
    }

    /// The `.gitignore` block for these patterns, between the journal's markers: what
    /// [`crate::Journal::sync_gitignore`] keeps at the end of `.gitignore`, so that no line of
    /// the user's can un-ignore what it ignores. With an allow-list it ignores everything,
    /// un-ignores each allowed path (and the directories on the way to it), then ignores the
    /// exclusions again: git then ignores exactly what the journal refuses, and `git add
    /// <path>` of a declared file works as before.
    pub fn gitignore_block(&self) -> String {
        let mut block = String::new();
        block.push_str(BLOCK_BEGIN);
        block.push('\n');
        if let Some(allowed) = &self.allowed {
            for line in allow_lines(allowed) {
                block.push_str(&line);
                block.push('\n');
            }
        }
        for pattern in &self.patterns {
            block.push_str(&pattern.gitignore_line());
            block.push('\n');
        }
        block.push_str(BLOCK_END);
        block.push('\n');
        block
    }
}

/// The lines of a deny-by-default block before the exclusions: `/*`, then for every directory
/// on the way to an allowed path (shallowest first) the directory un-ignored and its content
/// ignored again, then every allowed path un-ignored. Git cannot re-include a file whose parent
/// directory is ignored, hence the directories; after `**` every directory is un-ignored and
/// every file ignored again.
fn allow_lines(allowed: &[Pattern]) -> Vec<String> {
    // (depth, lines) for each directory to open, deduplicated by its path.
    let mut opened: Vec<(usize, String, [String; 3])> = Vec::new();
    let mut leaves = Vec::new();
    for pattern in allowed {
        let segments = &pattern.segments;
        for depth in 1..segments.len() {
            let prefix = segments[..depth].join("/");
            let lines = if segments[depth] == "**" && depth + 1 < segments.len() {
                [format!("!/{prefix}/"), format!("/{prefix}/**"), format!("!/{prefix}/**/")]
            } else {
                [format!("!/{prefix}/"), format!("/{prefix}/*"), String::new()]
            };
            if !opened.iter().any(|(_, p, _)| *p == prefix) {
                opened.push((depth, prefix, lines));
            }
            if segments[depth] == "**" {
                break;
            }
        }
        leaves.push(format!("!/{}", segments.join("/")));
    }
    opened.sort_by_key(|(depth, ..)| *depth);
    let mut lines = vec!["/*".to_owned()];
    for (_, _, dir_lines) in opened {
        lines.extend(dir_lines.into_iter().filter(|l| !l.is_empty()));
    }
    lines.extend(leaves);
    lines
}

/// `existing` with its journal block replaced by `block`, at the end (the last matching line
/// of a `.gitignore` wins, so the block must have the last word); lines outside the block are
/// kept as they are, in their order.
pub(crate) fn merge_gitignore(existing: &str, block: &str) -> String {
    let mut before = String::new();
    let mut after = String::new();
    let mut state = 0; // 0: before the block, 1: inside, 2: after
    for line in existing.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        match state {
            0 if bare == BLOCK_BEGIN => state = 1,
            0 => before.push_str(line),
            1 if bare == BLOCK_END => state = 2,
            1 => {}
            _ => after.push_str(line),
        }
    }
    if state == 1 {
        // An unterminated block: everything after its start was ours.
        after.clear();
    }
    let mut merged = before;
    merged.push_str(&after);
    if !merged.is_empty() && !merged.ends_with('\n') {
        merged.push('\n');
    }
    merged.push_str(block);
    merged
}

impl Pattern {
    fn parse(pattern: &str) -> Result<Pattern> {
        let invalid =
            |reason: &'static str| Error::InvalidPattern { pattern: pattern.to_owned(), reason };
        if pattern.trim().is_empty() {
            return Err(invalid("the pattern is empty"));
        }
        if pattern.contains(['\n', '\r', '\0']) {
            return Err(invalid("the pattern contains a line break or NUL"));
        }
        if pattern.starts_with('!') {
            return Err(invalid(
                "negated patterns are not supported: an exclusion list only grows",
            ));
        }
        let body = pattern.strip_prefix('/').unwrap_or(pattern);
        let body = body.strip_suffix('/').unwrap_or(body);
        if body.is_empty() {
            return Err(invalid("the pattern names the whole directory"));
        }
        let segments: Vec<String> = body.split('/').map(str::to_owned).collect();
        for segment in &segments {
            if segment.is_empty() {
                return Err(invalid("the pattern has an empty component (`//`)"));
            }
            if segment == "." || segment == ".." {
                return Err(invalid("the pattern has a `.` or `..` component"));
            }
            check_segment(segment).map_err(invalid)?;
        }
        let floating = !pattern.starts_with('/') && segments.len() == 1;
        Ok(Pattern { source: pattern.to_owned(), segments, floating })
    }

    fn excludes(&self, components: &[&str]) -> bool {
        if self.floating {
            return components.iter().any(|c| segment_matches(&self.segments[0], c));
        }
        // The path itself or one of its parent directories.
        (1..=components.len()).any(|n| path_matches(&self.segments, &components[..n]))
    }

    /// A path the pattern matches: every wildcard component replaced by a plain name.
    fn sample_path(&self) -> String {
        let names: Vec<String> = self
            .segments
            .iter()
            .map(|s| if s == "**" { "x".to_owned() } else { s.replace(['*', '?'], "x") })
            .collect();
        names.join("/")
    }

    fn gitignore_line(&self) -> String {
        let mut line = String::new();
        if !self.floating && !self.source.starts_with('/') {
            line.push('/');
        }
        if self.source.starts_with('#') {
            line.push('\\');
        }
        line.push_str(&self.source);
        // Trailing spaces are stripped by git unless escaped.
        let trimmed = line.trim_end_matches(' ').len();
        if trimmed < line.len() {
            let spaces = line.len() - trimmed;
            line.truncate(trimmed);
            for _ in 0..spaces {
                line.push_str("\\ ");
            }
        }
        line
    }
}

fn check_segment(segment: &str) -> std::result::Result<(), &'static str> {
    let bytes = segment.as_bytes();
    if segment.contains("**") && segment != "**" {
        return Err("`**` must be a whole path component");
    }
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                if i + 1 >= bytes.len() {
                    return Err("the pattern ends with a lone `\\`");
                }
                i += 2;
            }
            b'[' => match class_end(bytes, i) {
                Some(end) => i = end + 1,
                None => return Err("unterminated `[` character class"),
            },
            _ => i += 1,
        }
    }
    Ok(())
}

/// Whether the glob `pattern` matches the whole `/`-separated `path`, both taken from the top
/// of the directory: `*`, `?` and `[…]` within one component, `**` any number of components,
/// `\` escapes — the matcher of [`Exclusions`], for callers that match declared paths.
///
/// ```
/// use dotdir_git_journal::glob_match;
/// assert!(glob_match("state/*.json", "state/token.json"));
/// assert!(glob_match("oauth/**", "oauth/a/b.json"));
/// assert!(!glob_match("*.json", "state/token.json"));
/// ```
pub fn glob_match(pattern: &str, path: &str) -> bool {
    let segments: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
    let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
    path_matches(&segments, &components)
}

/// Glob components against path components; `**` spans zero or more components.
fn path_matches<S: AsRef<str>>(segments: &[S], components: &[&str]) -> bool {
    match segments.split_first() {
        None => components.is_empty(),
        Some((first, rest)) if first.as_ref() == "**" => {
            (0..=components.len()).any(|skip| path_matches(rest, &components[skip..]))
        }
        Some((first, rest)) => match components.split_first() {
            Some((component, remaining)) => {
                segment_matches(first.as_ref(), component) && path_matches(rest, remaining)
            }
            None => false,
        },
    }
}

/// One glob component against one path component.
fn segment_matches(glob: &str, name: &str) -> bool {
    if glob == "**" {
        return true;
    }
    glob_bytes(glob.as_bytes(), name.as_bytes())
}

fn glob_bytes(glob: &[u8], name: &[u8]) -> bool {
    // Iterative matcher with one backtrack point for the last `*` (linear in practice).
    let (mut g, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if g < glob.len() {
            match glob[g] {
                b'*' => {
                    star = Some((g, n));
                    g += 1;
                    continue;
                }
                b'?' => {
                    g += 1;
                    n += 1;
                    continue;
                }
                b'[' => {
                    if let Some(end) = class_end(glob, g)
                        && class_matches(&glob[g + 1..end], name[n])
                    {
                        g = end + 1;
                        n += 1;
                        continue;
                    }
                }
                b'\\' if g + 1 < glob.len() => {
                    if glob[g + 1] == name[n] {
                        g += 2;
                        n += 1;
                        continue;
                    }
                }
                literal => {
                    if literal == name[n] {
                        g += 1;
                        n += 1;
                        continue;
                    }
                }
            }
        }
        match star {
            Some((star_g, star_n)) => {
                g = star_g + 1;
                n = star_n + 1;
                star = Some((star_g, star_n + 1));
            }
            None => return false,
        }
    }
    glob[g..].iter().all(|&b| b == b'*')
}

/// The index of the `]` closing the class that opens at `start`.
fn class_end(glob: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    if i < glob.len() && (glob[i] == b'!' || glob[i] == b'^') {
        i += 1;
    }
    // A `]` right after the opening (or the negation) is a literal.
    if i < glob.len() && glob[i] == b']' {
        i += 1;
    }
    while i < glob.len() {
        match glob[i] {
            b'\\' => i += 2,
            b']' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

fn class_matches(class: &[u8], byte: u8) -> bool {
    let (negated, class) = match class.first() {
        Some(b'!' | b'^') => (true, &class[1..]),
        _ => (false, class),
    };
    let mut found = false;
    let mut i = 0;
    while i < class.len() {
        let mut low = class[i];
        if low == b'\\' && i + 1 < class.len() {
            i += 1;
            low = class[i];
        }
        if i + 2 < class.len() && class[i + 1] == b'-' {
            let high = class[i + 2];
            if low <= byte && byte <= high {
                found = true;
            }
            i += 3;
        } else {
            if low == byte {
                found = true;
            }
            i += 1;
        }
    }
    found != negated
}

#[cfg(test)]
mod tests;
