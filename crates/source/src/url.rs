//! Small URL helpers: strip credentials for display and cache keys, and compare hosts so a
//! credential for one host is never handed to another.

/// The URL without anything secret: the password (and, for http(s), the whole user part),
/// the query and the fragment are removed. For ssh the user name stays (`git@host:repo`),
/// as it is part of the address and not a secret.
pub fn redact(url: &str) -> String {
    let url = url.trim();
    let Some(scheme_end) = url.find("://") else {
        // scp-like `user@host:path` or a plain path: only a `user:password@` could be secret.
        return match scp_like_parts(url) {
            Some((Some(user), host_and_path)) => {
                let user = user.split(':').next().unwrap_or("");
                format!("{user}@{host_and_path}")
            }
            _ => url.to_string(),
        };
    };
    let scheme = &url[..scheme_end];
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let tail = tail.split(['?', '#']).next().unwrap_or("");
    let host = match authority.rfind('@') {
        Some(at) => {
            let user = authority[..at].split(':').next().unwrap_or("");
            let host = &authority[at + 1..];
            if scheme.eq_ignore_ascii_case("ssh") && !user.is_empty() {
                format!("{user}@{host}")
            } else {
                host.to_string()
            }
        }
        None => authority.to_string(),
    };
    format!("{scheme}://{host}{tail}")
}

/// `user@host:path` split into the optional user part and `host:path`, when `url` has that form.
fn scp_like_parts(url: &str) -> Option<(Option<&str>, &str)> {
    let slash = url.find('/').unwrap_or(url.len());
    let (user, rest) = match url[..slash].rfind('@') {
        Some(at) => (Some(&url[..at]), &url[at + 1..]),
        None => (None, url),
    };
    let colon = rest.find(':')?;
    if colon > rest.find('/').unwrap_or(rest.len()) {
        return None;
    }
    Some((user, rest))
}

/// Scheme and `host[:port]` of a URL, lower-cased, for comparing where a request goes.
pub fn scheme_and_host(url: &str) -> Option<(String, String)> {
    let scheme_end = url.find("://")?;
    let scheme = url[..scheme_end].to_ascii_lowercase();
    let rest = &url[scheme_end + 3..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let host = match authority.rfind('@') {
        Some(at) => &authority[at + 1..],
        None => authority,
    };
    Some((scheme, host.to_ascii_lowercase()))
}

/// The user name and password embedded in an http(s) URL (`https://user:token@host/...`),
/// percent-decoded, and the URL without them.
pub fn split_http_userinfo(url: &str) -> (String, Option<(String, String)>) {
    let Some(scheme_end) = url.find("://") else {
        return (url.to_string(), None);
    };
    let scheme = &url[..scheme_end];
    if !(scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http")) {
        return (url.to_string(), None);
    }
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return (url.to_string(), None);
    };
    let userinfo = &authority[..at];
    let (user, password) = match userinfo.split_once(':') {
        Some((u, p)) => (percent_decode(u), percent_decode(p)),
        None => (percent_decode(userinfo), String::new()),
    };
    let stripped = format!(
        "{scheme}://{}{}",
        &authority[at + 1..],
        &rest[authority_end..]
    );
    (stripped, Some((user, password)))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex_value(bytes[i + 1]), hex_value(bytes[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_http_credentials_query_and_fragment() {
        assert_eq!(
            redact("https://user:s3cr3t@github.com/org/repo.git?token=abc#frag"),
            "https://github.com/org/repo.git"
        );
        assert_eq!(
            redact("https://ghp_token@github.com/org/repo"),
            "https://github.com/org/repo"
        );
        assert_eq!(
            redact("https://github.com/org/repo"),
            "https://github.com/org/repo"
        );
    }

    #[test]
    fn keeps_ssh_user_but_not_password() {
        assert_eq!(
            redact("ssh://git:pw@example.com:2222/org/repo.git"),
            "ssh://git@example.com:2222/org/repo.git"
        );
        assert_eq!(
            redact("git@github.com:org/repo.git"),
            "git@github.com:org/repo.git"
        );
        assert_eq!(
            redact("git:pw@github.com:org/repo.git"),
            "git@github.com:org/repo.git"
        );
        assert_eq!(redact("file:///tmp/repo"), "file:///tmp/repo");
        assert_eq!(redact("/tmp/repo"), "/tmp/repo");
    }

    #[test]
    fn hosts_compare_with_port_and_case() {
        assert_eq!(
            scheme_and_host("HTTPS://u:p@Example.com:8443/x"),
            Some(("https".to_string(), "example.com:8443".to_string()))
        );
        assert_eq!(scheme_and_host("git@github.com:org/repo"), None);
    }

    #[test]
    fn splits_userinfo_from_http_urls_only() {
        let (url, creds) = split_http_userinfo("https://bot:p%40ss@git.example.com/r.git");
        assert_eq!(url, "https://git.example.com/r.git");
        assert_eq!(creds, Some(("bot".to_string(), "p@ss".to_string())));
        let (url, creds) = split_http_userinfo("ssh://git@host/r.git");
        assert_eq!(url, "ssh://git@host/r.git");
        assert_eq!(creds, None);
    }
}
