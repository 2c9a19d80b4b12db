//! The `sops` metadata block: reading every layout sops 3.x wrote, and
//! writing the 3.13 layout (alphabetical keys). Master keys other than age
//! (PGP, cloud KMS, Vault) are kept verbatim so a file that also has them
//! keeps them when flotilla re-encrypts it with the same data key.

use super::SopsError;
use crate::tree::{Item, Node, Scalar};
use regex::Regex;
use serde_json::Value;
use std::collections::BTreeMap;

/// Master-key kinds in a key group, as named in metadata.
const OTHER_KINDS: [&str; 6] = ["kms", "gcp_kms", "hckms", "azure_kv", "hc_vault", "pgp"];

#[derive(Clone, Debug, PartialEq)]
pub struct AgeEntry {
    pub recipient: String,
    /// Armored age file wrapping the data key (or this group's Shamir share).
    pub enc: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct KeyGroup {
    pub age: Vec<AgeEntry>,
    /// Non-age master keys, by metadata name (`pgp`, `kms`, …), kept verbatim.
    pub others: BTreeMap<String, Vec<Value>>,
}

impl KeyGroup {
    pub fn is_empty(&self) -> bool {
        self.age.is_empty() && self.others.values().all(Vec::is_empty)
    }
}

/// Which values are encrypted (at most one rule per file).
#[derive(Clone, Debug)]
pub enum Rule {
    UnencryptedSuffix(String),
    EncryptedSuffix(String),
    UnencryptedRegex(Regex),
    EncryptedRegex(Regex),
    UnencryptedCommentRegex(Regex),
    EncryptedCommentRegex(Regex),
}

impl Default for Rule {
    fn default() -> Self {
        Rule::UnencryptedSuffix("_unencrypted".into())
    }
}

impl PartialEq for Rule {
    fn eq(&self, other: &Self) -> bool {
        self.field() == other.field()
    }
}

pub const RULE_FIELDS: [&str; 6] = [
    "unencrypted_suffix",
    "encrypted_suffix",
    "unencrypted_regex",
    "encrypted_regex",
    "unencrypted_comment_regex",
    "encrypted_comment_regex",
];

impl Rule {
    pub fn field(&self) -> (&'static str, String) {
        match self {
            Rule::UnencryptedSuffix(s) => ("unencrypted_suffix", s.clone()),
            Rule::EncryptedSuffix(s) => ("encrypted_suffix", s.clone()),
            Rule::UnencryptedRegex(r) => ("unencrypted_regex", r.as_str().to_string()),
            Rule::EncryptedRegex(r) => ("encrypted_regex", r.as_str().to_string()),
            Rule::UnencryptedCommentRegex(r) => {
                ("unencrypted_comment_regex", r.as_str().to_string())
            }
            Rule::EncryptedCommentRegex(r) => ("encrypted_comment_regex", r.as_str().to_string()),
        }
    }

    pub fn from_field(name: &str, value: &str) -> Result<Rule, SopsError> {
        let re = |v: &str| {
            Regex::new(v).map_err(|e| SopsError::Metadata(format!("invalid {name} '{v}': {e}")))
        };
        Ok(match name {
            "unencrypted_suffix" => Rule::UnencryptedSuffix(value.into()),
            "encrypted_suffix" => Rule::EncryptedSuffix(value.into()),
            "unencrypted_regex" => Rule::UnencryptedRegex(re(value)?),
            "encrypted_regex" => Rule::EncryptedRegex(re(value)?),
            "unencrypted_comment_regex" => Rule::UnencryptedCommentRegex(re(value)?),
            "encrypted_comment_regex" => Rule::EncryptedCommentRegex(re(value)?),
            other => return Err(SopsError::Metadata(format!("unknown rule '{other}'"))),
        })
    }

    /// sops' `shouldBeEncrypted`: `path` is the mapping keys to the value,
    /// `comments` the comments currently above it at every level.
    pub fn should_encrypt(
        &self,
        path: &[String],
        comments: &[Vec<String>],
        own_comment: Option<&str>,
    ) -> bool {
        let active = || comments.iter().flatten();
        match self {
            Rule::UnencryptedSuffix(s) => !path.iter().any(|p| p.ends_with(s.as_str())),
            Rule::EncryptedSuffix(s) => path.iter().any(|p| p.ends_with(s.as_str())),
            Rule::UnencryptedRegex(r) => !path.iter().any(|p| r.is_match(p)),
            Rule::EncryptedRegex(r) => path.iter().any(|p| r.is_match(p)),
            Rule::UnencryptedCommentRegex(r) => {
                !(active().any(|c| r.is_match(c)) || own_comment.is_some_and(|c| r.is_match(c)))
            }
            Rule::EncryptedCommentRegex(r) => {
                // The matching comment itself stays in clear.
                if own_comment.is_some_and(|c| r.is_match(c)) {
                    return false;
                }
                active().any(|c| r.is_match(c))
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Metadata {
    pub key_groups: Vec<KeyGroup>,
    pub shamir_threshold: Option<usize>,
    pub lastmodified: String,
    pub mac: Option<String>,
    pub rule: Rule,
    /// Whether the file's metadata named its rule (binary files may not).
    pub rule_written: bool,
    pub mac_only_encrypted: bool,
    pub version: String,
}

fn as_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn parse_group(obj: &serde_json::Map<String, Value>) -> Result<KeyGroup, SopsError> {
    let mut g = KeyGroup::default();
    if let Some(Value::Array(list)) = obj.get("age") {
        for (i, e) in list.iter().enumerate() {
            let field = |k: &str| {
                e.get(k)
                    .and_then(as_string)
                    .ok_or_else(|| SopsError::Metadata(format!("sops.age[{i}] has no '{k}'")))
            };
            g.age.push(AgeEntry {
                recipient: field("recipient")?,
                enc: field("enc")?,
            });
        }
    }
    for kind in OTHER_KINDS {
        if let Some(Value::Array(list)) = obj.get(kind)
            && !list.is_empty()
        {
            g.others.insert(kind.to_string(), list.clone());
        }
    }
    Ok(g)
}

impl Metadata {
    pub fn from_node(node: &Node) -> Result<Metadata, SopsError> {
        let v = node.to_json();
        let Value::Object(obj) = v else {
            return Err(SopsError::Metadata("'sops' is not a mapping".into()));
        };
        let flat = parse_group(&obj)?;
        let mut key_groups = Vec::new();
        if !flat.is_empty() {
            key_groups.push(flat);
        } else if let Some(Value::Array(groups)) = obj.get("key_groups") {
            for g in groups {
                let Value::Object(g) = g else {
                    return Err(SopsError::Metadata(
                        "key_groups entry is not a mapping".into(),
                    ));
                };
                key_groups.push(parse_group(g)?);
            }
        }
        if key_groups.is_empty() {
            return Err(SopsError::Metadata("No keys found in file".into()));
        }
        let mut rules = Vec::new();
        for f in RULE_FIELDS {
            if let Some(s) = obj.get(f).and_then(as_string)
                && !s.is_empty()
            {
                rules.push(Rule::from_field(f, &s)?);
            }
        }
        if rules.len() > 1 {
            return Err(SopsError::Metadata(
                "more than one of unencrypted_suffix, encrypted_suffix, unencrypted_regex, encrypted_regex, unencrypted_comment_regex, encrypted_comment_regex is set".into(),
            ));
        }
        let rule_written = !rules.is_empty();
        let rule = rules.pop().unwrap_or_default();
        let lastmodified = obj
            .get("lastmodified")
            .and_then(as_string)
            .ok_or_else(|| SopsError::Metadata("no 'lastmodified'".into()))?;
        Ok(Metadata {
            key_groups,
            shamir_threshold: obj
                .get("shamir_threshold")
                .and_then(as_string)
                .and_then(|s| s.parse().ok())
                .filter(|t| *t > 0),
            lastmodified,
            mac: obj.get("mac").and_then(as_string).filter(|s| !s.is_empty()),
            rule,
            rule_written,
            mac_only_encrypted: obj
                .get("mac_only_encrypted")
                .and_then(as_string)
                .is_some_and(|s| s == "true"),
            version: obj.get("version").and_then(as_string).unwrap_or_default(),
        })
    }

    /// The metadata as sops 3.13 writes it: keys sorted alphabetically.
    pub fn to_node(&self) -> Node {
        let mut top: BTreeMap<String, Node> = BTreeMap::new();
        let group_node = |g: &KeyGroup, in_group: bool| -> BTreeMap<String, Node> {
            let mut m = BTreeMap::new();
            if !g.age.is_empty() || in_group {
                m.insert(
                    "age".to_string(),
                    Node::Sequence(
                        g.age
                            .iter()
                            .map(|a| {
                                Node::Mapping(vec![
                                    Item::Pair("enc".into(), Node::str(a.enc.clone())),
                                    Item::Pair("recipient".into(), Node::str(a.recipient.clone())),
                                ])
                            })
                            .collect(),
                    ),
                );
            }
            if in_group {
                m.insert("hc_vault".into(), Node::Sequence(Vec::new()));
            }
            for (kind, list) in &g.others {
                m.insert(
                    kind.clone(),
                    Node::Sequence(list.iter().map(|v| Node::from_json(&sorted(v))).collect()),
                );
            }
            m
        };
        if self.key_groups.len() == 1 {
            top.extend(group_node(&self.key_groups[0], false));
        } else {
            top.insert(
                "key_groups".into(),
                Node::Sequence(
                    self.key_groups
                        .iter()
                        .map(|g| Node::Mapping(to_items(group_node(g, true))))
                        .collect(),
                ),
            );
            if let Some(t) = self.shamir_threshold {
                top.insert(
                    "shamir_threshold".into(),
                    Node::Scalar(Scalar::Int(t as i64)),
                );
            }
        }
        top.insert("lastmodified".into(), Node::str(self.lastmodified.clone()));
        if let Some(mac) = &self.mac {
            top.insert("mac".into(), Node::str(mac.clone()));
        }
        if self.mac_only_encrypted {
            top.insert(
                "mac_only_encrypted".into(),
                Node::Scalar(Scalar::Bool(true)),
            );
        }
        if self.rule_written {
            let (name, value) = self.rule.field();
            top.insert(name.into(), Node::str(value));
        }
        top.insert("version".into(), Node::str(self.version.clone()));
        Node::Mapping(to_items(top))
    }
}

fn to_items(m: BTreeMap<String, Node>) -> Vec<Item> {
    m.into_iter().map(|(k, v)| Item::Pair(k, v)).collect()
}

fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&o[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}
