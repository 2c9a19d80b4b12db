//! File formats ("stores" in sops): YAML, JSON, dotenv and the binary
//! store. Each turns bytes into documents and back; the encrypted form has
//! the metadata under a top-level `sops` key (flattened `sops_*` keys in dotenv).

use super::SopsError;
use crate::tree::{Comment, Item, Node, Scalar, format_float_json};
use crate::yaml;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
    Dotenv,
    Ini,
    Binary,
}

impl Format {
    /// Pick the store from the file name, as sops does.
    pub fn from_path(path: &Path) -> Format {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        match ext {
            "yaml" | "yml" => Format::Yaml,
            "json" => Format::Json,
            "env" => Format::Dotenv,
            "ini" => Format::Ini,
            _ if name == ".env" => Format::Dotenv,
            _ => Format::Binary,
        }
    }

    pub fn parse_name(s: &str) -> Option<Format> {
        Some(match s {
            "yaml" => Format::Yaml,
            "json" => Format::Json,
            "dotenv" => Format::Dotenv,
            "ini" => Format::Ini,
            "binary" => Format::Binary,
            _ => return None,
        })
    }
}

/// Parse a plaintext or encrypted file into documents.
pub fn load(format: Format, input: &[u8], encrypted: bool) -> Result<Vec<Node>, SopsError> {
    match format {
        Format::Yaml => {
            let text = std::str::from_utf8(input)
                .map_err(|_| SopsError::Parse("file is not UTF-8".into()))?;
            let docs = yaml::parse(text).map_err(|e| SopsError::Parse(e.to_string()))?;
            for d in &docs {
                if !matches!(d, Node::Mapping(_)) {
                    return Err(SopsError::Parse(
                        "YAML documents that are sequences or scalars are not supported".into(),
                    ));
                }
            }
            Ok(docs)
        }
        Format::Json => {
            let v: serde_json::Value = serde_json::from_slice(input).map_err(|e| {
                // serde_json errors carry a position, never the input text.
                SopsError::Parse(format!("invalid JSON: {e}"))
            })?;
            if !v.is_object() {
                return Err(SopsError::Parse(
                    "the top level of a JSON file must be an object".into(),
                ));
            }
            Ok(vec![Node::from_json(&v)])
        }
        Format::Binary => {
            if encrypted {
                load(Format::Json, input, true)
            } else {
                let text = String::from_utf8(input.to_vec()).map_err(|_| {
                    SopsError::Parse("binary input that is not UTF-8 is not supported".into())
                })?;
                Ok(vec![Node::Mapping(vec![Item::Pair(
                    "data".into(),
                    Node::str(text),
                )])])
            }
        }
        Format::Ini => {
            let text = std::str::from_utf8(input)
                .map_err(|_| SopsError::Parse("file is not UTF-8".into()))?;
            load_ini(text, encrypted)
        }
        Format::Dotenv => {
            let text = std::str::from_utf8(input)
                .map_err(|_| SopsError::Parse("file is not UTF-8".into()))?;
            let mut items = Vec::new();
            let mut sops_items: Vec<(String, String)> = Vec::new();
            for (n, line) in text.split('\n').enumerate() {
                if line.is_empty() {
                    continue;
                }
                if let Some(c) = line.strip_prefix('#') {
                    items.push(Item::Comment(Comment {
                        text: c.to_string(),
                        inline: false,
                    }));
                    continue;
                }
                let (k, v) = line.split_once('=').ok_or_else(|| {
                    SopsError::Parse(format!("line {}: expected KEY=VALUE", n + 1))
                })?;
                let v = v.replace("\\n", "\n");
                if encrypted && let Some(meta_key) = k.strip_prefix("sops_") {
                    sops_items.push((meta_key.to_string(), v));
                    continue;
                }
                items.push(Item::Pair(k.to_string(), Node::str(v)));
            }
            if !sops_items.is_empty() {
                items.push(Item::Pair("sops".into(), unflatten(&sops_items)));
            }
            Ok(vec![Node::Mapping(items)])
        }
    }
}

/// Serialise documents (plaintext, or encrypted with `sops` inside).
pub fn emit(format: Format, docs: &[Node], encrypted: bool) -> Result<Vec<u8>, SopsError> {
    match format {
        Format::Yaml => Ok(yaml::emit(docs).into_bytes()),
        Format::Json => {
            let doc = docs
                .first()
                .ok_or_else(|| SopsError::Parse("no document".into()))?;
            let mut out = String::new();
            emit_json(doc, 0, &mut out);
            out.push('\n');
            Ok(out.into_bytes())
        }
        Format::Binary => {
            let doc = docs
                .first()
                .ok_or_else(|| SopsError::Parse("no document".into()))?;
            if encrypted {
                emit(Format::Json, docs, true)
            } else {
                match doc.get("data") {
                    Some(Node::Scalar(Scalar::Str(s))) => Ok(s.clone().into_bytes()),
                    _ => Err(SopsError::Parse("binary store: no 'data' string".into())),
                }
            }
        }
        Format::Ini => emit_ini(docs, encrypted),
        Format::Dotenv => {
            let Some(Node::Mapping(items)) = docs.first() else {
                return Err(SopsError::Parse("no document".into()));
            };
            let mut out = String::new();
            for item in items {
                match item {
                    Item::Comment(c) => {
                        out.push('#');
                        out.push_str(&c.text);
                        out.push('\n');
                    }
                    Item::Pair(k, v) if k == "sops" && encrypted => {
                        let mut flat = Vec::new();
                        flatten(v, "sops_", &mut flat);
                        for (fk, fv) in flat {
                            out.push_str(&format!("{fk}={}\n", fv.replace('\n', "\\n")));
                        }
                    }
                    Item::Pair(k, Node::Scalar(s)) => {
                        let v = String::from_utf8_lossy(&s.to_sops_bytes()).into_owned();
                        out.push_str(&format!("{k}={}\n", v.replace('\n', "\\n")));
                    }
                    Item::Pair(k, _) => {
                        return Err(SopsError::Parse(format!(
                            "dotenv: value of '{k}' is not a scalar"
                        )));
                    }
                }
            }
            Ok(out.into_bytes())
        }
    }
}

/// INI (gopkg.in/ini.v1 as sops uses it): sections are top-level mappings
/// of strings; a comment above a section heads it, a comment above a key
/// follows that key; `[sops]` holds the flattened metadata.
fn load_ini(text: &str, encrypted: bool) -> Result<Vec<Node>, SopsError> {
    let mut sections: Vec<Item> = Vec::new();
    let mut current: Option<(String, Vec<Item>)> = None;
    let mut default_items: Vec<Item> = Vec::new();
    let mut pending: Vec<String> = Vec::new();
    let mut sops_items: Vec<(String, String)> = Vec::new();
    let lines: Vec<&str> = text.split('\n').collect();
    let mut i = 0;
    let close = |cur: &mut Option<(String, Vec<Item>)>, sections: &mut Vec<Item>| {
        if let Some((name, items)) = cur.take()
            && !(name == "sops" && encrypted)
        {
            sections.push(Item::Pair(name, Node::Mapping(items)));
        }
    };
    while i < lines.len() {
        let raw = lines[i].trim_end_matches('\r');
        let line = raw.trim();
        i += 1;
        if line.is_empty() {
            continue;
        }
        if line.starts_with(';') || line.starts_with('#') {
            pending.push(line.trim_start_matches([';', '#']).trim().to_string());
            continue;
        }
        if let Some(name) = line.strip_prefix('[') {
            let name = name.strip_suffix(']').ok_or_else(|| {
                SopsError::Parse(format!("INI line {i}: unterminated section header"))
            })?;
            close(&mut current, &mut sections);
            let mut items = Vec::new();
            for c in pending.drain(..) {
                items.push(Item::Comment(Comment {
                    text: c,
                    inline: false,
                }));
            }
            current = Some((name.trim().to_string(), items));
            continue;
        }
        let (k, v) = line
            .split_once(['=', ':'])
            .ok_or_else(|| SopsError::Parse(format!("INI line {i}: expected key = value")))?;
        let key = k.trim().to_string();
        let v = v.trim();
        let value = if let Some(rest) = v.strip_prefix("\"\"\"") {
            // Multi-line value up to the closing triple quote.
            let mut buf = String::new();
            let mut rest = rest.to_string();
            loop {
                if let Some(end) = rest.find("\"\"\"") {
                    buf.push_str(&rest[..end]);
                    break;
                }
                buf.push_str(&rest);
                if i >= lines.len() {
                    return Err(SopsError::Parse(format!(
                        "INI: unterminated \"\"\" value for '{key}'"
                    )));
                }
                buf.push('\n');
                rest = lines[i].trim_end_matches('\r').to_string();
                i += 1;
            }
            buf
        } else if v.len() >= 2
            && ((v.starts_with('"') && v.ends_with('"'))
                || (v.starts_with('`') && v.ends_with('`')))
        {
            v[1..v.len() - 1].to_string()
        } else {
            match v.find(['#', ';']) {
                Some(p) => v[..p].trim().to_string(),
                None => v.to_string(),
            }
        };
        let in_sops = encrypted && current.as_ref().is_some_and(|(n, _)| n == "sops");
        if in_sops {
            sops_items.push((key, value.replace("\\n", "\n")));
            pending.clear();
            continue;
        }
        let target = match &mut current {
            Some((_, items)) => items,
            None => &mut default_items,
        };
        target.push(Item::Pair(key, Node::str(value)));
        for c in pending.drain(..) {
            target.push(Item::Comment(Comment {
                text: c,
                inline: false,
            }));
        }
    }
    close(&mut current, &mut sections);
    if !default_items.is_empty() {
        sections.insert(
            0,
            Item::Pair("DEFAULT".into(), Node::Mapping(default_items)),
        );
    }
    if !sops_items.is_empty() {
        sections.push(Item::Pair("sops".into(), unflatten(&sops_items)));
    }
    Ok(vec![Node::Mapping(sections)])
}

fn emit_ini(docs: &[Node], encrypted: bool) -> Result<Vec<u8>, SopsError> {
    let Some(Node::Mapping(sections)) = docs.first() else {
        return Err(SopsError::Parse("no document".into()));
    };
    let mut out = String::new();
    let write_section = |name: &str, items: Vec<(Option<String>, String)>, out: &mut String| {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!("[{name}]\n"));
        let width = items
            .iter()
            .filter_map(|(k, _)| k.as_ref().map(String::len))
            .max()
            .unwrap_or(0);
        for (k, v) in items {
            match k {
                Some(k) => out.push_str(&format!("{k:width$} = {v}\n")),
                None => out.push_str(&format!("; {v}\n")),
            }
        }
    };
    for item in sections {
        let Item::Pair(name, node) = item else {
            continue;
        };
        if name == "sops" && encrypted {
            let mut flat = Vec::new();
            flatten(node, "", &mut flat);
            let items = flat
                .into_iter()
                .map(|(k, v)| (Some(k), v.replace('\n', "\\n")))
                .collect();
            write_section("sops", items, &mut out);
            continue;
        }
        let Node::Mapping(entries) = node else {
            return Err(SopsError::Parse(format!("INI: '{name}' is not a section")));
        };
        let mut items = Vec::new();
        for e in entries {
            match e {
                Item::Comment(c) => items.push((None, c.text.clone())),
                Item::Pair(k, Node::Scalar(s)) => items.push((
                    Some(k.clone()),
                    String::from_utf8_lossy(&s.to_sops_bytes()).into_owned(),
                )),
                Item::Pair(k, _) => {
                    return Err(SopsError::Parse(format!(
                        "INI: value of '{name}.{k}' is not a scalar"
                    )));
                }
            }
        }
        write_section(name, items, &mut out);
    }
    Ok(out.into_bytes())
}

/// sops' flattening of metadata for dotenv/INI: `__map_` and `__list_<i>`.
fn flatten(node: &Node, prefix: &str, out: &mut Vec<(String, String)>) {
    match node {
        Node::Mapping(items) => {
            for item in items {
                if let Item::Pair(k, v) = item {
                    let p = format!("{prefix}{k}");
                    match v {
                        Node::Mapping(_) => flatten(v, &format!("{p}__map_"), out),
                        Node::Sequence(_) => flatten(v, &format!("{p}__list_"), out),
                        Node::Scalar(s) => {
                            out.push((p, String::from_utf8_lossy(&s.to_sops_bytes()).into_owned()))
                        }
                        Node::Comment(_) => {}
                    }
                }
            }
        }
        Node::Sequence(items) => {
            for (i, v) in items.iter().enumerate() {
                let p = format!("{prefix}{i}");
                match v {
                    Node::Mapping(_) => flatten(v, &format!("{p}__map_"), out),
                    Node::Sequence(_) => flatten(v, &format!("{p}__list_"), out),
                    Node::Scalar(s) => {
                        out.push((p, String::from_utf8_lossy(&s.to_sops_bytes()).into_owned()))
                    }
                    Node::Comment(_) => {}
                }
            }
        }
        _ => {}
    }
}

/// Inverse of [`flatten`] for keys without the `sops_` prefix.
fn unflatten(items: &[(String, String)]) -> Node {
    let mut root = Node::Mapping(Vec::new());
    for (key, value) in items {
        // Split "age__list_0__map_enc" into ["age", list 0, map "enc"].
        let mut segs: Vec<Seg> = Vec::new();
        let mut rest = key.as_str();
        let first_end = rest.find("__").unwrap_or(rest.len());
        segs.push(Seg::Key(rest[..first_end].to_string()));
        rest = &rest[first_end..];
        while !rest.is_empty() {
            let (seg, after) = if let Some(r) = rest.strip_prefix("__map_") {
                let end = r.find("__").unwrap_or(r.len());
                (Seg::Key(r[..end].to_string()), &r[end..])
            } else if let Some(r) = rest.strip_prefix("__list_") {
                let end = r.find("__").unwrap_or(r.len());
                (Seg::Index(r[..end].parse().unwrap_or(0)), &r[end..])
            } else {
                break;
            };
            segs.push(seg);
            rest = after;
        }
        insert_path(&mut root, &segs, value);
    }
    root
}

enum Seg {
    Key(String),
    Index(usize),
}

fn insert_path(node: &mut Node, segs: &[Seg], value: &str) {
    let Some((first, rest)) = segs.split_first() else {
        *node = Node::str(value);
        return;
    };
    let make_child = || match rest.first() {
        Some(Seg::Index(_)) => Node::Sequence(Vec::new()),
        Some(Seg::Key(_)) => Node::Mapping(Vec::new()),
        None => Node::Scalar(Scalar::Null),
    };
    match first {
        Seg::Key(k) => {
            if !matches!(node, Node::Mapping(_)) {
                *node = Node::Mapping(Vec::new());
            }
            if let Node::Mapping(items) = node {
                let pos = items
                    .iter()
                    .position(|i| matches!(i, Item::Pair(ik, _) if ik == k));
                let idx = match pos {
                    Some(p) => p,
                    None => {
                        items.push(Item::Pair(k.clone(), make_child()));
                        items.len() - 1
                    }
                };
                if let Item::Pair(_, child) = &mut items[idx] {
                    insert_path(child, rest, value);
                }
            }
        }
        Seg::Index(i) => {
            if !matches!(node, Node::Sequence(_)) {
                *node = Node::Sequence(Vec::new());
            }
            if let Node::Sequence(items) = node {
                while items.len() <= *i {
                    items.push(make_child());
                }
                insert_path(&mut items[*i], rest, value);
            }
        }
    }
}

/// JSON as sops writes it: `json.Indent` with a tab.
fn emit_json(node: &Node, depth: usize, out: &mut String) {
    let pad = |d: usize, out: &mut String| out.push_str(&"\t".repeat(d));
    match node {
        Node::Mapping(items) => {
            let pairs: Vec<(&String, &Node)> = items
                .iter()
                .filter_map(|i| match i {
                    Item::Pair(k, v) => Some((k, v)),
                    Item::Comment(_) => None,
                })
                .collect();
            if pairs.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push_str("{\n");
            for (n, (k, v)) in pairs.iter().enumerate() {
                pad(depth + 1, out);
                flotilla_model::gojson::write_string(k, out);
                out.push_str(": ");
                emit_json(v, depth + 1, out);
                if n + 1 < pairs.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            pad(depth, out);
            out.push('}');
        }
        Node::Sequence(items) => {
            let items: Vec<&Node> = items
                .iter()
                .filter(|n| !matches!(n, Node::Comment(_)))
                .collect();
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push_str("[\n");
            for (n, v) in items.iter().enumerate() {
                pad(depth + 1, out);
                emit_json(v, depth + 1, out);
                if n + 1 < items.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            pad(depth, out);
            out.push(']');
        }
        Node::Comment(_) => out.push_str("null"),
        Node::Scalar(s) => match s {
            Scalar::Null => out.push_str("null"),
            Scalar::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Scalar::Int(i) => out.push_str(&i.to_string()),
            Scalar::Float(f) => out.push_str(&format_float_json(*f)),
            Scalar::Str(s) | Scalar::Time(s) => flotilla_model::gojson::write_string(s, out),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_keeps_order_and_go_escaping() {
        let src =
            "{\n\t\"b\": \"<x>&\",\n\t\"a\": [\n\t\t1,\n\t\t2.5,\n\t\ttrue\n\t],\n\t\"e\": {}\n}\n";
        let docs = load(Format::Json, src.as_bytes(), false).unwrap();
        let out = String::from_utf8(emit(Format::Json, &docs, false).unwrap()).unwrap();
        assert_eq!(out, src.replace("<x>&", "\\u003cx\\u003e\\u0026"));
    }

    #[test]
    fn dotenv_metadata_flattening_round_trips() {
        let src = "#c\nfoo =  bar\nsops_age__list_0__map_enc=-----BEGIN\\nX\\n\nsops_age__list_0__map_recipient=age1x\nsops_version=3.13.3\n";
        let docs = load(Format::Dotenv, src.as_bytes(), true).unwrap();
        let sops = docs[0].get("sops").unwrap();
        assert_eq!(sops.to_json()["age"][0]["enc"], "-----BEGIN\nX\n");
        assert_eq!(docs[0].get("foo "), Some(&Node::str("  bar")));
        let out = String::from_utf8(emit(Format::Dotenv, &docs, true).unwrap()).unwrap();
        assert_eq!(out, src);
    }
}
