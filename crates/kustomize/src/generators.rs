//! `configMapGenerator` and `secretGenerator`: key/value sources (env files,
//! literals, files), generator options, and the resulting objects.

use crate::error::KustomizeError;
use crate::kustomization::{check_fields, field, string_map};
use crate::loader::Loader;
use crate::resource::{Behavior, Resource};
use base64::Engine;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Default)]
pub struct GeneratorOptions {
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
    pub disable_hash: bool,
    pub immutable: bool,
}

impl GeneratorOptions {
    pub fn parse(v: Option<&Value>) -> Result<Option<GeneratorOptions>, KustomizeError> {
        let Some(v) = v else { return Ok(None) };
        let Some(m) = v.as_object() else {
            if v.is_null() {
                return Ok(None);
            }
            return Err(KustomizeError::new("generatorOptions must be a map"));
        };
        check_fields(
            "generatorOptions",
            m,
            &[
                "labels",
                "annotations",
                "disablenamesuffixhash",
                "immutable",
            ],
        )?;
        let mut o = GeneratorOptions::default();
        if let Some(l) = field(m, "labels") {
            o.labels = string_map("labels", l)?;
        }
        if let Some(a) = field(m, "annotations") {
            o.annotations = string_map("annotations", a)?;
        }
        o.disable_hash = field(m, "disableNameSuffixHash")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        o.immutable = field(m, "immutable")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok(Some(o))
    }

    /// kustomize's MergeGlobalOptionsIntoLocal: local entries win.
    pub fn merge_global(
        local: Option<GeneratorOptions>,
        global: Option<&GeneratorOptions>,
    ) -> GeneratorOptions {
        let mut l = local.unwrap_or_default();
        if let Some(g) = global {
            for (k, v) in &g.labels {
                if !l.labels.iter().any(|(lk, _)| lk == k) {
                    l.labels.push((k.clone(), v.clone()));
                }
            }
            for (k, v) in &g.annotations {
                if !l.annotations.iter().any(|(lk, _)| lk == k) {
                    l.annotations.push((k.clone(), v.clone()));
                }
            }
            l.disable_hash |= g.disable_hash;
            l.immutable |= g.immutable;
        }
        l
    }
}

fn strings(m: &Map<String, Value>, name: &str) -> Result<Vec<String>, KustomizeError> {
    match field(m, name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                other => Ok(other.to_string()),
            })
            .collect(),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(other) => Err(KustomizeError::new(format!(
            "{name} must be a list, got {other}"
        ))),
    }
}

fn remove_quotes(s: &str) -> &str {
    if s.len() >= 2 {
        let b = s.as_bytes();
        if (b[0] == b'"' && b[s.len() - 1] == b'"') || (b[0] == b'\'' && b[s.len() - 1] == b'\'') {
            return &s[1..s.len() - 1];
        }
    }
    s
}

fn is_env_var_name(k: &str) -> bool {
    !k.is_empty()
        && !k.starts_with(|c: char| c.is_ascii_digit())
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

fn is_config_map_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 253
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

enum Val {
    Text(String),
    Binary(Vec<u8>),
}

fn env_pairs(text: &str, file: &str) -> Result<Vec<(String, Val)>, KustomizeError> {
    let mut out = Vec::new();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k, v.to_string()),
            // kustomize would read the process environment here; a pure build
            // cannot, so the value is empty.
            None => (line, String::new()),
        };
        if !is_env_var_name(key) {
            return Err(KustomizeError::new(format!(
                "\"{key}\" is not a valid key name: a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (line {} of env file '{file}')",
                i + 1
            )));
        }
        out.push((key.to_string(), Val::Text(value)));
    }
    Ok(out)
}

/// Base64 as kyaml writes generated data: lines of 70 characters, each
/// ending in a newline once the text is 70 characters or longer.
pub fn encode_base64(bytes: &[u8]) -> String {
    let enc = base64::engine::general_purpose::STANDARD.encode(bytes);
    let lines = enc.len() / 70 + 1;
    if lines == 1 {
        return enc;
    }
    let mut out = String::with_capacity(enc.len() + lines);
    for chunk in enc.as_bytes().chunks(70) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or(""));
        out.push('\n');
    }
    out
}

/// Build one generated ConfigMap or Secret.
pub fn generate(
    args: &Value,
    is_secret: bool,
    global: Option<&GeneratorOptions>,
    ldr: &Loader,
    strict: bool,
) -> Result<Resource, KustomizeError> {
    let what = if is_secret {
        "secretGenerator"
    } else {
        "configMapGenerator"
    };
    let m = args
        .as_object()
        .ok_or_else(|| KustomizeError::new(format!("{what} entry must be a map, got {args}")))?;
    let mut known = vec![
        "name",
        "namespace",
        "behavior",
        "files",
        "literals",
        "envs",
        "env",
        "options",
        "kvsources",
    ];
    if is_secret {
        known.push("type");
    }
    // Kustomization entries are decoded strictly; plugin configs are not.
    if strict {
        check_fields(what, m, &known)?;
    }
    let get_str = |n: &str| {
        field(m, n)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let name = get_str("name");
    let namespace = get_str("namespace");
    let behavior = match get_str("behavior").as_str() {
        "" | "create" => Behavior::Create,
        "merge" => Behavior::Merge,
        "replace" => Behavior::Replace,
        other => {
            return Err(KustomizeError::new(format!(
                "{what} '{name}': invalid behavior '{other}', must be one of create, merge, replace"
            )));
        }
    };
    let local = GeneratorOptions::parse(field(m, "options"))?;
    let opts = GeneratorOptions::merge_global(local, global);

    let mut pairs: Vec<(String, Val)> = Vec::new();
    let mut envs = strings(m, "envs")?;
    if let Some(Value::String(e)) = field(m, "env") {
        envs.push(e.clone());
    }
    for env in &envs {
        let text = ldr.load_string(env)?;
        pairs.extend(env_pairs(&text, env)?);
    }
    for lit in strings(m, "literals")? {
        let Some((k, v)) = lit.split_once('=') else {
            return Err(KustomizeError::new(format!(
                "invalid literal source {lit}, expected key=value"
            )));
        };
        pairs.push((k.to_string(), Val::Text(remove_quotes(v).to_string())));
    }
    for file in strings(m, "files")? {
        let (key, path) = match file.split_once('=') {
            Some((k, p)) => {
                if k.is_empty() {
                    return Err(KustomizeError::new(format!(
                        "key names or file paths cannot be empty: {file}"
                    )));
                }
                (k.to_string(), p.to_string())
            }
            None => {
                let base = file.rsplit('/').next().unwrap_or(&file).to_string();
                (base, file.clone())
            }
        };
        let bytes = ldr.load(&path)?;
        let val = match String::from_utf8(bytes) {
            Ok(s) => Val::Text(s),
            Err(e) => Val::Binary(e.into_bytes()),
        };
        pairs.push((key, val));
    }

    let mut data = Map::new();
    let mut binary = Map::new();
    for (k, v) in pairs {
        if !is_config_map_key(&k) {
            return Err(KustomizeError::new(format!(
                "{what} '{name}': \"{k}\" is not a valid key name for a {}",
                if is_secret { "Secret" } else { "ConfigMap" }
            )));
        }
        if data.contains_key(&k) || binary.contains_key(&k) {
            return Err(KustomizeError::new(format!(
                "{what} '{name}': cannot add key {k}, another key by that name already exists"
            )));
        }
        match (v, is_secret) {
            (Val::Text(s), false) => {
                data.insert(k, Value::String(s));
            }
            (Val::Binary(b), false) => {
                binary.insert(k, Value::String(encode_base64(&b)));
            }
            (Val::Text(s), true) => {
                data.insert(k, Value::String(encode_base64(s.as_bytes())));
            }
            (Val::Binary(b), true) => {
                data.insert(k, Value::String(encode_base64(&b)));
            }
        }
    }

    let mut md = Map::new();
    md.insert("name".into(), Value::String(name.clone()));
    if !namespace.is_empty() {
        md.insert("namespace".into(), Value::String(namespace));
    }
    if !opts.labels.is_empty() {
        md.insert(
            "labels".into(),
            Value::Object(
                opts.labels
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            ),
        );
    }
    if !opts.annotations.is_empty() {
        md.insert(
            "annotations".into(),
            Value::Object(
                opts.annotations
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            ),
        );
    }
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), Value::String("v1".into()));
    obj.insert(
        "kind".into(),
        Value::String(if is_secret { "Secret" } else { "ConfigMap" }.into()),
    );
    obj.insert("metadata".into(), Value::Object(md));
    if is_secret {
        let t = get_str("type");
        obj.insert(
            "type".into(),
            Value::String(if t.is_empty() { "Opaque".into() } else { t }),
        );
    }
    // Secrets always get a data map; ConfigMaps only when there is data.
    if is_secret || !data.is_empty() {
        obj.insert("data".into(), Value::Object(data));
    }
    if !binary.is_empty() {
        obj.insert("binaryData".into(), Value::Object(binary));
    }
    if opts.immutable {
        obj.insert("immutable".into(), Value::Bool(true));
    }
    let mut res = Resource::new(Value::Object(obj));
    res.behavior = behavior;
    res.needs_hash = !opts.disable_hash;
    Ok(res)
}
