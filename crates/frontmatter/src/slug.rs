//! File names from messages: the reference's `_slugify`, byte for byte.

/// The longest slug, in characters (all ASCII), as in the reference.
pub const MAX_SLUG: usize = 50;

/// The file stem used when a message has no letters or digits at all (the reference would write
/// a hidden `.md`).
pub const EMPTY_SLUG: &str = "untitled";

/// The reference's slug of `text`: full Unicode lowercasing, every run of characters outside
/// `[a-z0-9]` becomes one `-`, dashes trimmed at both ends, cut to 50 characters and trimmed
/// again. May be empty (see [`file_stem`]).
///
/// ```
/// use dotdir_frontmatter::slugify;
/// assert_eq!(slugify("Check email & summarize!"), "check-email-summarize");
/// assert_eq!(slugify("Café ☕ time"), "caf-time");
/// assert_eq!(slugify("\u{212A}elvin"), "kelvin"); // KELVIN SIGN lowercases to `k`
/// assert_eq!(slugify("☕☕"), "");
/// ```
pub fn slugify(text: &str) -> String {
    let mut slug = String::with_capacity(text.len().min(MAX_SLUG * 2));
    let mut pending_dash = false;
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            if pending_dash && !slug.is_empty() {
                slug.push('-');
            }
            pending_dash = false;
            slug.push(c);
            if slug.len() > MAX_SLUG {
                break;
            }
        } else {
            pending_dash = true;
        }
    }
    slug.truncate(MAX_SLUG);
    while slug.ends_with('-') {
        slug.pop();
    }
    slug
}

/// The file stem for a message: its slug, or [`EMPTY_SLUG`] when the slug is empty.
pub fn file_stem(message: &str) -> String {
    let slug = slugify(message);
    if slug.is_empty() { EMPTY_SLUG.to_owned() } else { slug }
}
