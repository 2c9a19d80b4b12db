//! Variable substitution compatible with Flux `postBuild.substitute`
//! (fluxcd/pkg/envsubst): only the braced form is recognised.
//!
//! - `${var}`: the value; unset gives "" (or an error in strict mode)
//! - `${var:=default}` / `${var:-default}`: default when unset or empty
//! - `${var=default}` / `${var-default}`: default when unset
//! - `$${var}`: the literal text `${var}` (escape)
//! - `$var` (no braces) is left alone, as Flux leaves it.

use std::collections::BTreeMap;

/// Why a substitution failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubstError {
    #[error("variable not set (strict mode): {0}")]
    Unset(String),
    #[error("bad substitution: {0}")]
    Bad(String),
}

/// Whether `name` is a valid variable name (`^[_[:alpha:]][_[:alpha:][:digit:]]*$`).
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// Substitute `vars` into `text`.
pub fn substitute(
    text: &str,
    vars: &BTreeMap<String, String>,
    strict: bool,
) -> Result<String, SubstError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(escaped) = after.strip_prefix("${") {
            // `$${...}` stays as `${...}`.
            out.push_str("${");
            rest = escaped;
            continue;
        }
        let Some(body_start) = after.strip_prefix('{') else {
            out.push('$');
            rest = after;
            continue;
        };
        let Some(end) = find_closing(body_start) else {
            return Err(SubstError::Bad(format!(
                "unterminated ${{ in {:?}",
                preview(&rest[pos..])
            )));
        };
        let body = &body_start[..end];
        out.push_str(&expand(body, vars, strict)?);
        rest = &body_start[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The index of the `}` closing an expression, allowing nested `${...}` in defaults.
fn find_closing(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

fn preview(s: &str) -> String {
    s.chars().take(40).collect()
}

fn expand(body: &str, vars: &BTreeMap<String, String>, strict: bool) -> Result<String, SubstError> {
    let name_len = body
        .char_indices()
        .find(|&(_, c)| !(c == '_' || c.is_ascii_alphanumeric()))
        .map_or(body.len(), |(i, _)| i);
    let (name, op) = body.split_at(name_len);
    if !valid_name(name) {
        return Err(SubstError::Bad(format!("${{{body}}}")));
    }
    let value = vars.get(name);
    let (default, when_empty) = if op.is_empty() {
        (None, false)
    } else if let Some(d) = op.strip_prefix(":=").or_else(|| op.strip_prefix(":-")) {
        (Some(d), true)
    } else if let Some(d) = op.strip_prefix('=').or_else(|| op.strip_prefix('-')) {
        (Some(d), false)
    } else {
        return Err(SubstError::Bad(format!("${{{body}}}")));
    };
    match (value, default) {
        (Some(v), Some(d)) if when_empty && v.is_empty() => substitute(d, vars, strict),
        (Some(v), _) => Ok(v.clone()),
        (None, Some(d)) => substitute(d, vars, strict),
        (None, None) if strict => Err(SubstError::Unset(name.to_owned())),
        (None, None) => Ok(String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn plain_and_default_forms() {
        let v = vars(&[("env", "prod"), ("empty", "")]);
        assert_eq!(substitute("a-${env}-b", &v, false).unwrap(), "a-prod-b");
        assert_eq!(substitute("${missing:=3}", &v, false).unwrap(), "3");
        assert_eq!(substitute("${missing:-x y}", &v, false).unwrap(), "x y");
        assert_eq!(substitute("${env:=dev}", &v, false).unwrap(), "prod");
        assert_eq!(substitute("${empty:=d}", &v, false).unwrap(), "d");
        assert_eq!(substitute("${empty=d}", &v, false).unwrap(), "");
        assert_eq!(substitute("${missing=d}", &v, false).unwrap(), "d");
        assert_eq!(substitute("${missing:=${env}}", &v, false).unwrap(), "prod");
    }

    #[test]
    fn unset_is_empty_unless_strict() {
        let v = vars(&[]);
        assert_eq!(substitute("x${nope}y", &v, false).unwrap(), "xy");
        assert_eq!(
            substitute("x${nope}y", &v, true).unwrap_err(),
            SubstError::Unset("nope".into())
        );
        // A default satisfies strict mode.
        assert_eq!(substitute("${nope:=1}", &v, true).unwrap(), "1");
    }

    #[test]
    fn escapes_and_unbraced_dollars_are_kept() {
        let v = vars(&[("a", "1")]);
        assert_eq!(substitute("$${a}", &v, true).unwrap(), "${a}");
        assert_eq!(
            substitute("$a and $ and $1", &v, true).unwrap(),
            "$a and $ and $1"
        );
        assert_eq!(substitute("cost: 5$", &v, true).unwrap(), "cost: 5$");
    }

    #[test]
    fn malformed_expressions_fail() {
        let v = vars(&[]);
        assert!(matches!(
            substitute("${a", &v, false),
            Err(SubstError::Bad(_))
        ));
        assert!(matches!(
            substitute("${1a}", &v, false),
            Err(SubstError::Bad(_))
        ));
        assert!(matches!(
            substitute("${a?x}", &v, false),
            Err(SubstError::Bad(_))
        ));
    }

    #[test]
    fn names() {
        assert!(valid_name("cluster_env"));
        assert!(valid_name("_x1"));
        assert!(!valid_name("1x"));
        assert!(!valid_name("a-b"));
        assert!(!valid_name(""));
    }
}
