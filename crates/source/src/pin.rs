//! Pins (branch, tag, semver range, commit) and semver range matching over tag names.
//!
//! Ranges follow the syntax Flux accepts (Masterminds/semver): comparators separated by spaces
//! or commas are ANDed, `||` separates alternatives, `1.x`/`1.*`/`*` are wildcards, `~1.4`
//! and `^1.2` work as usual, `1.2 - 1.4.5` is an inclusive hyphen range and a bare version
//! means exactly that version. Pre-releases only match when a comparator of the same
//! alternative names a pre-release of the same major.minor.patch (the `semver` crate's rule,
//! which matches Flux for the common cases).

use std::fmt;

use semver::{Comparator, Op, Version, VersionReq};

/// What revision of a Git repository to check out.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Pin {
    /// The tip of a branch, e.g. `main` (a full `refs/heads/main` is accepted too).
    Branch(String),
    /// A tag, e.g. `v1.2.3` (a full `refs/tags/v1.2.3` is accepted too).
    Tag(String),
    /// The semver-highest tag matching a range, e.g. `>=1.2.0 <2`, `1.x`, `~1.4`.
    Semver(String),
    /// An exact commit id (40 hex digits).
    Commit(String),
}

impl fmt::Display for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pin::Branch(b) => write!(f, "branch {b:?}"),
            Pin::Tag(t) => write!(f, "tag {t:?}"),
            Pin::Semver(r) => write!(f, "semver range {r:?}"),
            Pin::Commit(c) => write!(f, "commit {c:?}"),
        }
    }
}

/// A parsed semver range: alternatives (`||`), each a conjunction of comparators.
#[derive(Debug, Clone)]
pub struct SemverRange {
    alternatives: Vec<Alternative>,
}

#[derive(Debug, Clone)]
struct Alternative {
    req: VersionReq,
    /// `!=` comparators, which `semver::VersionReq` lacks.
    excluded: Vec<Comparator>,
}

impl SemverRange {
    /// Parses a range as Flux accepts it; the error says which part is wrong.
    pub fn parse(range: &str) -> Result<SemverRange, String> {
        let trimmed = range.trim();
        if trimmed.is_empty() {
            return Err("the range is empty".to_string());
        }
        let mut alternatives = Vec::new();
        for alternative in trimmed.split("||") {
            alternatives.push(parse_alternative(alternative.trim())?);
        }
        Ok(SemverRange { alternatives })
    }

    /// True when `version` satisfies any alternative.
    pub fn matches(&self, version: &Version) -> bool {
        self.alternatives.iter().any(|alt| {
            alt.req.matches(version)
                && !alt.excluded.iter().any(|excluded| {
                    VersionReq {
                        comparators: vec![exact(excluded)],
                    }
                    .matches(version)
                })
        })
    }
}

fn exact(c: &Comparator) -> Comparator {
    Comparator {
        op: Op::Exact,
        ..c.clone()
    }
}

fn parse_alternative(text: &str) -> Result<Alternative, String> {
    if text.is_empty() {
        return Err("an alternative between `||` is empty".to_string());
    }
    let tokens = tokenize(text);
    let mut comparators: Vec<String> = Vec::new();
    let mut excluded = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        // Hyphen range `a - b` (inclusive).
        if i + 2 < tokens.len() && tokens[i + 1] == "-" && starts_with_digit_or_v(token) {
            comparators.push(format!(">={}", strip_v(token)));
            comparators.push(format!("<={}", strip_v(&tokens[i + 2])));
            i += 3;
            continue;
        }
        if let Some(rest) = token.strip_prefix("!=") {
            let comparator = Comparator::parse(&format!("={}", strip_v(rest)))
                .map_err(|e| format!("comparator {token:?}: {e}"))?;
            excluded.push(comparator);
            i += 1;
            continue;
        }
        let (op, version) = split_operator(token);
        let version = strip_v(version);
        let comparator = match op {
            // Masterminds reads a bare version as an exact match (Cargo would read it as `^`),
            // but a bare wildcard (`1.x`, `*`) stays a wildcard.
            "" if is_wildcard(version) => version.to_string(),
            "" => format!("={version}"),
            "==" => format!("={version}"),
            "=>" => format!(">={version}"),
            "=<" => format!("<={version}"),
            _ => format!("{op}{version}"),
        };
        comparators.push(comparator);
        i += 1;
    }
    let joined = if comparators.is_empty() {
        "*".to_string()
    } else {
        comparators.join(", ")
    };
    let req = VersionReq::parse(&joined).map_err(|e| format!("{text:?}: {e}"))?;
    Ok(Alternative { req, excluded })
}

/// Splits on spaces and commas, gluing a lone operator to the version that follows (`>= 1.2`).
fn tokenize(text: &str) -> Vec<String> {
    let raw: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .collect();
    let mut tokens = Vec::new();
    let mut pending_op: Option<&str> = None;
    for token in raw {
        let is_operator_only = !token.is_empty()
            && token
                .chars()
                .all(|c| matches!(c, '>' | '<' | '=' | '!' | '~' | '^'));
        if is_operator_only {
            pending_op = Some(token);
            continue;
        }
        match pending_op.take() {
            Some(op) => tokens.push(format!("{op}{token}")),
            None => tokens.push(token.to_string()),
        }
    }
    if let Some(op) = pending_op {
        tokens.push(op.to_string());
    }
    tokens
}

fn split_operator(token: &str) -> (&str, &str) {
    let end = token
        .find(|c: char| !matches!(c, '>' | '<' | '=' | '!' | '~' | '^'))
        .unwrap_or(token.len());
    token.split_at(end)
}

fn strip_v(version: &str) -> &str {
    version
        .strip_prefix('v')
        .or_else(|| version.strip_prefix('V'))
        .unwrap_or(version)
}

fn starts_with_digit_or_v(token: &str) -> bool {
    strip_v(token).starts_with(|c: char| c.is_ascii_digit())
}

fn is_wildcard(version: &str) -> bool {
    version
        .split('.')
        .any(|part| matches!(part, "x" | "X" | "*"))
}

/// Parses a tag name as a version the way Flux does: a leading `v` is optional and a
/// missing minor or patch is read as 0 (`v1.2` is 1.2.0). Returns `None` for other tags.
pub fn tag_version(tag: &str) -> Option<Version> {
    let text = strip_v(tag);
    if let Ok(version) = Version::parse(text) {
        return Some(version);
    }
    // Pad a partial core version, keeping any pre-release/build suffix.
    let suffix_at = text.find(['-', '+']).unwrap_or(text.len());
    let (core, suffix) = text.split_at(suffix_at);
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty()
        || parts.len() > 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let mut padded = parts.join(".");
    for _ in parts.len()..3 {
        padded.push_str(".0");
    }
    Version::parse(&format!("{padded}{suffix}")).ok()
}

/// Picks the semver-highest tag matching `range`. On equal versions (`v1.0.0` and `1.0.0`)
/// the name that sorts first wins, so the choice is deterministic.
pub fn select_tag<'a>(
    range: &SemverRange,
    tags: impl IntoIterator<Item = &'a str>,
) -> Option<(&'a str, Version)> {
    let mut best: Option<(&'a str, Version)> = None;
    for tag in tags {
        let Some(version) = tag_version(tag) else {
            continue;
        };
        if !range.matches(&version) {
            continue;
        }
        let better = match &best {
            None => true,
            Some((best_tag, best_version)) => {
                version > *best_version || (version == *best_version && tag < *best_tag)
            }
        };
        if better {
            best = Some((tag, version));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick<'a>(range: &str, tags: &[&'a str]) -> Option<&'a str> {
        let range = SemverRange::parse(range).unwrap();
        select_tag(&range, tags.iter().copied()).map(|(t, _)| t)
    }

    const TAGS: &[&str] = &[
        "v0.9.0",
        "v1.0.0",
        "v1.2.0",
        "v1.4.3",
        "v1.4.7",
        "v1.10.0",
        "v2.0.0-rc.1",
        "v2.0.0",
        "v2.1.0-beta.1",
        "release-3",
        "latest",
    ];

    #[test]
    fn space_separated_and_comma_separated_ranges() {
        assert_eq!(pick(">=1.0.0 <2.0.0", TAGS), Some("v1.10.0"));
        assert_eq!(pick(">=1.0.0, <1.5", TAGS), Some("v1.4.7"));
        assert_eq!(pick(">= 1.0.0 < 1.3", TAGS), Some("v1.2.0"));
        assert_eq!(pick(">=1.2.0 <2", TAGS), Some("v1.10.0"));
    }

    #[test]
    fn wildcards_tilde_caret() {
        assert_eq!(pick("1.x", TAGS), Some("v1.10.0"));
        assert_eq!(pick("1.4.*", TAGS), Some("v1.4.7"));
        assert_eq!(pick("~1.4", TAGS), Some("v1.4.7"));
        assert_eq!(pick("^1.2", TAGS), Some("v1.10.0"));
        assert_eq!(pick("*", TAGS), Some("v2.0.0"));
    }

    #[test]
    fn prereleases_are_ignored_unless_the_range_names_one() {
        assert_eq!(pick("*", &["v1.0.0", "v2.0.0-rc.1"]), Some("v1.0.0"));
        assert_eq!(
            pick(">=2.0.0-rc.0", &["v1.0.0", "v2.0.0-rc.1"]),
            Some("v2.0.0-rc.1")
        );
        assert_eq!(pick(">=2.1.0-0", TAGS), Some("v2.1.0-beta.1"));
    }

    #[test]
    fn bare_version_is_exact_and_hyphen_and_or_ranges() {
        assert_eq!(pick("1.2.0", TAGS), Some("v1.2.0"));
        assert_eq!(pick("v1.4.3", TAGS), Some("v1.4.3"));
        assert_eq!(pick("1.0 - 1.4.3", TAGS), Some("v1.4.3"));
        assert_eq!(pick("<1.0.0 || >=1.4.0 <1.5", TAGS), Some("v1.4.7"));
        assert_eq!(pick("~1.4, != 1.4.7", TAGS), Some("v1.4.3"));
    }

    #[test]
    fn no_match_and_bad_ranges() {
        assert_eq!(pick(">=5", TAGS), None);
        assert!(SemverRange::parse("").is_err());
        assert!(SemverRange::parse(">=banana").is_err());
        assert!(SemverRange::parse("1.0 ||").is_err());
    }

    #[test]
    fn tag_versions_like_flux() {
        assert_eq!(tag_version("v1.2"), Some(Version::new(1, 2, 0)));
        assert_eq!(tag_version("3"), Some(Version::new(3, 0, 0)));
        assert_eq!(
            tag_version("v2.0-rc.1").map(|v| v.to_string()),
            Some("2.0.0-rc.1".to_string())
        );
        assert_eq!(tag_version("release-3"), None);
        assert_eq!(tag_version("latest"), None);
    }

    #[test]
    fn equal_versions_pick_a_deterministic_name() {
        assert_eq!(pick("*", &["v1.0.0", "1.0.0"]), Some("1.0.0"));
        assert_eq!(pick("*", &["1.0.0", "v1.0.0"]), Some("1.0.0"));
    }
}
