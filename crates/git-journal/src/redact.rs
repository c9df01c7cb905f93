//! Credentials never printed: a URL's user information (`user:password@`) is dropped before a
//! URL, or a text that may hold one (git's own stderr), is shown, recorded or put in an error.
//!
//! The whole user information goes, not only the password, as `git` does when it anonymises a
//! URL: a token is often the user name (`https://<token>@github.com/...`). The scp-like form
//! (`git@host:repo`) has no password and is left as it is.

/// `url` without its user information: `https://x-access-token:SECRET@host/repo.git` is
/// `https://host/repo.git`, `ssh://user:pw@host/repo` is `ssh://host/repo`. Anything else (a
/// path, `git@host:repo`, a URL without credentials) is returned unchanged.
///
/// ```
/// use dotdir_git_journal::redact_url;
/// assert_eq!(redact_url("https://x-access-token:s3cr3t@example.com/a.git"), "https://example.com/a.git");
/// assert_eq!(redact_url("git@example.com:a.git"), "git@example.com:a.git");
/// ```
pub fn redact_url(url: &str) -> String {
    redact_text(url)
}

/// `text` with the user information of every `scheme://user:password@host` in it dropped (see
/// [`redact_url`]): for messages that may quote a URL, such as `git`'s stderr.
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(found) = rest.find("://") {
        let after = found + 3;
        out.push_str(&rest[..after]);
        rest = &rest[after..];
        // The URL runs to the next white space or quote.
        let end =
            rest.find(|c: char| c.is_whitespace() || "'\"<>`".contains(c)).unwrap_or(rest.len());
        let url = &rest[..end];
        if let Some(at) = userinfo_end(url) {
            rest = &rest[at + 1..];
        }
    }
    out.push_str(rest);
    out
}

/// Where the user information of `url` (the part after `scheme://`) ends: the last `@` of the
/// authority. A password with an unescaped `/` (not a valid URL, but what a person may type)
/// makes the authority look like `user:pa` with a port that is not a number: then the first
/// `@` after it ends the user information too.
fn userinfo_end(url: &str) -> Option<usize> {
    let authority_end = url.find(['/', '?', '#']).unwrap_or(url.len());
    let authority = &url[..authority_end];
    if let Some(at) = authority.rfind('@') {
        return Some(at);
    }
    let (_, port) = authority.rsplit_once(':')?;
    if port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let tail = &url[authority_end..];
    let at = tail.find('@')?;
    Some(authority_end + at)
}

#[cfg(test)]
mod tests {
    use super::{redact_text, redact_url};

    #[test]
    fn user_information_is_dropped_and_nothing_else() {
        for (url, redacted) in [
            ("https://x-access-token:CANARY@127.0.0.1:9/x.git", "https://127.0.0.1:9/x.git"),
            ("https://CANARY@github.com/o/r.git", "https://github.com/o/r.git"),
            ("ssh://user:CANARY@host/repo", "ssh://host/repo"),
            ("ssh://git@host:22/repo", "ssh://host:22/repo"),
            ("https://u:CAN@RY@host/r", "https://host/r"),
            ("https://u:CAN/ARY@host/r", "https://host/r"),
            ("https://host/r.git", "https://host/r.git"),
            ("https://host:8443/@scope/r.git", "https://host:8443/@scope/r.git"),
            ("git@host:repo.git", "git@host:repo.git"),
            ("/srv/data.git", "/srv/data.git"),
            ("", ""),
            ("://", "://"),
            ("https://@", "https://"),
        ] {
            assert_eq!(redact_url(url), redacted, "{url}");
        }
    }

    #[test]
    fn every_url_in_a_text_is_redacted() {
        let text = "fatal: unable to access 'https://x:CANARY@h/r.git/': refused\nalso ssh://u:CANARY@h2/r and https://ok/r";
        let redacted = redact_text(text);
        assert!(!redacted.contains("CANARY"), "{redacted}");
        assert_eq!(
            redacted,
            "fatal: unable to access 'https://h/r.git/': refused\nalso ssh://h2/r and https://ok/r"
        );
    }
}
