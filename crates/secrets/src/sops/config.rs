//! `.sops.yaml` creation rules: found by walking up from the working
//! directory; the first rule whose `path_regex` matches the file (relative
//! to the config's directory) gives recipients and the encryption rule.

use super::keys::parse_recipients;
use super::metadata::{RULE_FIELDS, Rule};
use super::{CreationSettings, SopsError};
use crate::tree::Node;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Find `.sops.yaml` in `start` or its parents (at most 100 levels, as sops).
pub fn find_config(start: &Path) -> Option<PathBuf> {
    let mut dir = Some(start.to_path_buf());
    for _ in 0..100 {
        let d = dir?;
        let candidate = d.join(".sops.yaml");
        if candidate.is_file() {
            return Some(candidate);
        }
        dir = d.parent().map(Path::to_path_buf);
    }
    None
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => s
            .split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str())
            .flat_map(|s| s.split(','))
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

/// Creation settings for `file` from the config text at `config_path`.
/// `Ok(None)` when the config has no `creation_rules`.
pub fn settings_for(
    config_path: &Path,
    config_text: &str,
    file: &Path,
) -> Result<Option<CreationSettings>, SopsError> {
    let cfg_err = |m: String| SopsError::Parse(format!("{}: {m}", config_path.display()));
    let docs = crate::yaml::parse(config_text).map_err(|e| cfg_err(e.to_string()))?;
    let root = docs.first().map(Node::to_json).unwrap_or(Value::Null);
    let Some(Value::Array(rules)) = root.get("creation_rules") else {
        return Ok(None);
    };
    let config_dir = config_path
        .parent()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()))
        .unwrap_or_default();
    let abs_file = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    let abs_str = abs_file.to_string_lossy().to_string();
    let prefix = format!("{}/", config_dir.to_string_lossy().trim_end_matches('/'));
    let rel = abs_str
        .strip_prefix(&prefix)
        .unwrap_or(&abs_str)
        .to_string();
    for (i, rule) in rules.iter().enumerate() {
        if let Some(re) = rule.get("path_regex").and_then(Value::as_str)
            && !re.is_empty()
        {
            let re = regex::Regex::new(re)
                .map_err(|e| cfg_err(format!("creation_rules[{i}].path_regex: {e}")))?;
            if !re.is_match(&rel) {
                continue;
            }
        }
        let mut settings = CreationSettings::default();
        let groups = rule.get("key_groups").and_then(Value::as_array);
        match groups {
            Some(groups) if !groups.is_empty() => {
                for g in groups {
                    let mut list = string_list(g.get("age"));
                    if let Some(Value::Array(merge)) = g.get("merge") {
                        for m in merge {
                            list.extend(string_list(m.get("age")));
                        }
                    }
                    settings
                        .key_groups
                        .push(parse_recipients(&list.join(",")).map_err(SopsError::Key)?);
                }
                settings.shamir_threshold = rule
                    .get("shamir_threshold")
                    .and_then(Value::as_u64)
                    .map(|t| t as usize);
            }
            _ => {
                let list = string_list(rule.get("age"));
                settings
                    .key_groups
                    .push(parse_recipients(&list.join(",")).map_err(SopsError::Key)?);
            }
        }
        let mut chosen = Vec::new();
        for f in RULE_FIELDS {
            if let Some(v) = rule.get(f).and_then(Value::as_str)
                && !v.is_empty()
            {
                chosen.push(Rule::from_field(f, v)?);
            }
        }
        if chosen.len() > 1 {
            return Err(cfg_err(format!(
                "creation_rules[{i}] sets more than one of {}",
                RULE_FIELDS.join(", ")
            )));
        }
        settings.rule = chosen.pop();
        settings.mac_only_encrypted =
            rule.get("mac_only_encrypted").and_then(Value::as_bool) == Some(true);
        if settings.key_groups.iter().all(Vec::is_empty) {
            let others: Vec<&str> = [
                "pgp",
                "kms",
                "gcp_kms",
                "azure_keyvault",
                "hc_vault_transit_uri",
                "hckms",
            ]
            .into_iter()
            .filter(|k| rule.get(*k).is_some())
            .collect();
            return Err(cfg_err(format!(
                "creation_rules[{i}] has no age recipients{}",
                if others.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (only {}, which flotilla does not support)",
                        others.join(", ")
                    )
                }
            )));
        }
        return Ok(Some(settings));
    }
    Err(cfg_err(format!(
        "no matching creation rules found for {}",
        file.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_matching_rule_wins() {
        let id = age::x25519::Identity::generate().to_public().to_string();
        let id2 = age::x25519::Identity::generate().to_public().to_string();
        let cfg = format!(
            "creation_rules:\n  - path_regex: ^prod/.*\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    key_groups:\n      - age:\n          - {id}\n      - age: [{id2}]\n    shamir_threshold: 1\n  - age: {id},{id2}\n"
        );
        let p = Path::new("/repo/.sops.yaml");
        let s = settings_for(p, &cfg, Path::new("/repo/prod/x.yaml"))
            .unwrap()
            .unwrap();
        assert_eq!(s.key_groups.len(), 2);
        assert_eq!(s.shamir_threshold, Some(1));
        assert_eq!(s.rule.unwrap().field().0, "encrypted_regex");
        let s = settings_for(p, &cfg, Path::new("/repo/dev/x.yaml"))
            .unwrap()
            .unwrap();
        assert_eq!(s.key_groups.len(), 1);
        assert_eq!(s.key_groups[0].len(), 2);
        assert!(s.rule.is_none());
    }
}
