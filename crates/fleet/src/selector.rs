//! Label selectors, as Kubernetes defines them: `matchLabels` plus
//! `matchExpressions` (In, NotIn, Exists, DoesNotExist), and the string form
//! used on command lines (`env=prod,region in (eu,us),!legacy`).

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelSelector {
    #[serde(default)]
    pub match_labels: BTreeMap<String, String>,
    #[serde(default)]
    pub match_expressions: Vec<Requirement>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    pub key: String,
    pub operator: Operator,
    #[serde(default)]
    pub values: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

impl LabelSelector {
    /// Whether `labels` satisfy every term. An empty selector matches everything.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|r| r.matches(labels))
    }

    /// Parse the string form: comma-separated `k=v`, `k==v`, `k!=v`,
    /// `k in (a,b)`, `k notin (a,b)`, `k`, `!k`.
    pub fn parse(text: &str) -> Result<LabelSelector, String> {
        let mut sel = LabelSelector::default();
        for term in split_terms(text)? {
            let term = term.trim();
            if term.is_empty() {
                continue;
            }
            let bad = || format!("invalid label selector term {term:?} in {text:?}");
            if let Some(key) = term.strip_prefix('!') {
                sel.match_expressions.push(Requirement {
                    key: check_key(key.trim()).ok_or_else(bad)?,
                    operator: Operator::DoesNotExist,
                    values: vec![],
                });
            } else if let Some((k, v)) = term.split_once("!=") {
                sel.match_expressions.push(Requirement {
                    key: check_key(k.trim()).ok_or_else(bad)?,
                    operator: Operator::NotIn,
                    values: vec![v.trim().to_owned()],
                });
            } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                sel.match_labels
                    .insert(check_key(k.trim()).ok_or_else(bad)?, v.trim().to_owned());
            } else if let Some((k, op, values)) = set_term(term) {
                sel.match_expressions.push(Requirement {
                    key: check_key(k).ok_or_else(bad)?,
                    operator: op,
                    values,
                });
            } else {
                sel.match_expressions.push(Requirement {
                    key: check_key(term).ok_or_else(bad)?,
                    operator: Operator::Exists,
                    values: vec![],
                });
            }
        }
        Ok(sel)
    }
}

impl Requirement {
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        match self.operator {
            Operator::In => value.is_some_and(|v| self.values.contains(v)),
            Operator::NotIn => value.is_none_or(|v| !self.values.contains(v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
        }
    }
}

fn check_key(key: &str) -> Option<String> {
    let ok = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    ok.then(|| key.to_owned())
}

/// Split on commas outside parentheses.
fn split_terms(text: &str) -> Result<Vec<&str>, String> {
    let mut terms = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                terms.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        if depth < 0 {
            return Err(format!("unbalanced ')' in label selector {text:?}"));
        }
    }
    if depth != 0 {
        return Err(format!("unbalanced '(' in label selector {text:?}"));
    }
    terms.push(&text[start..]);
    Ok(terms)
}

fn set_term(term: &str) -> Option<(&str, Operator, Vec<String>)> {
    let open = term.find('(')?;
    let inner = term[open + 1..].strip_suffix(')')?;
    let mut head = term[..open].split_whitespace();
    let key = head.next()?;
    let op = match head.next()? {
        "in" => Operator::In,
        "notin" => Operator::NotIn,
        _ => return None,
    };
    if head.next().is_some() {
        return None;
    }
    let values = inner
        .split(',')
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect();
    Some((key, op, values))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn string_form() {
        let prod_eu = labels(&[("env", "prod"), ("region", "eu")]);
        let staging = labels(&[("env", "staging"), ("legacy", "1")]);
        let s = LabelSelector::parse("env=prod").unwrap();
        assert!(s.matches(&prod_eu) && !s.matches(&staging));
        let s = LabelSelector::parse("env in (prod, staging),!legacy").unwrap();
        assert!(s.matches(&prod_eu) && !s.matches(&staging));
        let s = LabelSelector::parse("env!=prod").unwrap();
        assert!(!s.matches(&prod_eu) && s.matches(&staging));
        let s = LabelSelector::parse("region").unwrap();
        assert!(s.matches(&prod_eu) && !s.matches(&staging));
        let s = LabelSelector::parse("env notin (prod)").unwrap();
        assert!(!s.matches(&prod_eu) && s.matches(&staging));
        assert!(LabelSelector::parse("").unwrap().matches(&staging));
    }

    #[test]
    fn bad_string_forms_fail() {
        for bad in ["env in (a", "env)", "a b", "=x", "!"] {
            assert!(LabelSelector::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn structured_form() {
        let s: LabelSelector = serde_json::from_value(serde_json::json!({
            "matchLabels": {"env": "prod"},
            "matchExpressions": [{"key": "region", "operator": "In", "values": ["eu", "us"]}]
        }))
        .unwrap();
        assert!(s.matches(&labels(&[("env", "prod"), ("region", "us")])));
        assert!(!s.matches(&labels(&[("env", "prod"), ("region", "ap")])));
    }
}
