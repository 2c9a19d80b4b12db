//! The reader: manifests to values, with the meaning kustomize gives them.
//!
//! kustomize reads manifests with kyaml (go-yaml v3) and, before printing,
//! decodes each object into Go `interface{}` values. So this reader follows
//! go-yaml v3's decoder: only `true`/`false` are booleans (`yes`/`on` stay
//! strings), ints are read with Go's base-0 `ParseInt` (`0644` is 420,
//! `0x1F` is 31, `_` separators dropped), unquoted timestamps become
//! `time.Time` (printed by JSON as RFC 3339, e.g. `2020-01-01` becomes
//! `2020-01-01T00:00:00Z`), explicit tags (`!!str`, `!!int`, `!!binary`…)
//! are honoured, aliases are expanded, merge keys (`<<`) fill in keys the
//! mapping does not set, and a key repeated in one mapping is an error.
//!
//! Why `granit-parser` events rather than `serde-saphyr`'s deserializer: the
//! deserializer resolves scalars with its own (YAML 1.1 boolean) rules and
//! does not tell whether a scalar was quoted or which line a key was on, so
//! neither v3's typing nor its duplicate-key error could be reproduced.
//! `granit-parser` is the event parser serde-saphyr itself is built on.

use super::YamlError;
use super::scalar::{self, Resolved, Schema};
use granit_parser::{Event, Parser, ScalarStyle, ScanError, Span, Tag};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

const CORE_TAG_PREFIX: &str = "tag:yaml.org,2002:";

/// One mapping under construction.
struct MapFrame {
    map: Map<String, Value>,
    anchor: usize,
    /// Raw key text → line where it was first seen (duplicate detection).
    seen: HashMap<String, usize>,
    /// The key waiting for its value, with its line.
    pending_key: Option<PendingKey>,
    /// Values of `<<` keys, applied when the mapping ends.
    merges: Vec<(Value, usize, usize)>,
}

enum PendingKey {
    Key(String),
    Merge { line: usize, column: usize },
}

enum Frame {
    Seq { items: Vec<Value>, anchor: usize },
    Map(Box<MapFrame>),
}

struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Value>,
    docs: Vec<Value>,
    root: Option<Value>,
}

fn scan_error(e: &ScanError) -> YamlError {
    let m = e.marker();
    YamlError::at(e.info(), m.line(), m.col() + 1)
}

/// Parse a stream; see the module documentation for the typing rules.
pub fn parse(text: &str) -> Result<Vec<Value>, YamlError> {
    let mut parser = Parser::new_from_str(text);
    let mut b = Builder {
        stack: Vec::new(),
        anchors: HashMap::new(),
        docs: Vec::new(),
        root: None,
    };
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| scan_error(&e))?;
        match event {
            Event::StreamStart | Event::StreamEnd => {}
            Event::DocumentStart(..) => {
                b.root = None;
                b.anchors.clear();
            }
            Event::DocumentEnd => {
                if let Some(v) = b.root.take()
                    && !v.is_null()
                {
                    b.docs.push(v);
                }
            }
            Event::Alias(id) => {
                let v = b.anchors.get(&id).cloned().ok_or_else(|| {
                    YamlError::at(
                        "alias refers to an unknown anchor".into(),
                        span.start.line(),
                        span.start.col() + 1,
                    )
                })?;
                b.add(v, None, &span)?;
            }
            Event::Scalar(value, style, anchor, tag) => {
                let key_text = value.to_string();
                let is_merge_key = style == ScalarStyle::Plain
                    && value == "<<"
                    && tag.as_deref().is_none_or(|t| {
                        (t.handle() == CORE_TAG_PREFIX && t.suffix() == "merge")
                            || (t.handle() == "!" && t.suffix().is_empty())
                    });
                if b.expecting_key() {
                    if anchor != 0 {
                        b.anchors.insert(anchor, Value::String(key_text.clone()));
                    }
                    b.set_key(key_text, is_merge_key, &span)?;
                    continue;
                }
                let v = scalar_value(&value, style, tag.as_deref(), &span)?;
                if anchor != 0 {
                    b.anchors.insert(anchor, v.clone());
                }
                b.add(v, None, &span)?;
            }
            Event::SequenceStart(_, anchor, _) => {
                b.check_collection_key(&span)?;
                b.stack.push(Frame::Seq {
                    items: Vec::new(),
                    anchor,
                });
            }
            Event::MappingStart(_, anchor, _) => {
                b.check_collection_key(&span)?;
                b.stack.push(Frame::Map(Box::new(MapFrame {
                    map: Map::new(),
                    anchor,
                    seen: HashMap::new(),
                    pending_key: None,
                    merges: Vec::new(),
                })));
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq { items, anchor }) = b.stack.pop() {
                    b.add(Value::Array(items), Some(anchor), &span)?;
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map(frame)) = b.stack.pop() {
                    let anchor = frame.anchor;
                    let v = finish_mapping(*frame)?;
                    b.add(v, Some(anchor), &span)?;
                }
            }
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }
    Ok(b.docs)
}

impl Builder {
    fn expecting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map(m)) if m.pending_key.is_none())
    }

    /// Mappings and sequences as mapping keys cannot become JSON objects.
    fn check_collection_key(&self, span: &Span) -> Result<(), YamlError> {
        if self.expecting_key() {
            return Err(YamlError::at(
                "a mapping key must be a scalar, not a mapping or sequence".into(),
                span.start.line(),
                span.start.col() + 1,
            ));
        }
        Ok(())
    }

    fn set_key(&mut self, key: String, is_merge: bool, span: &Span) -> Result<(), YamlError> {
        let Some(Frame::Map(m)) = self.stack.last_mut() else {
            return Ok(());
        };
        let line = span.start.line();
        let column = span.start.col() + 1;
        if let Some(first) = m.seen.get(&key) {
            return Err(YamlError::at(
                format!("mapping key {key:?} already defined at line {first}"),
                line,
                column,
            ));
        }
        m.seen.insert(key.clone(), line);
        m.pending_key = Some(if is_merge {
            PendingKey::Merge { line, column }
        } else {
            PendingKey::Key(key)
        });
        Ok(())
    }

    /// Attach a finished node to its parent (or make it the document root).
    fn add(&mut self, v: Value, anchor: Option<usize>, span: &Span) -> Result<(), YamlError> {
        if let Some(a) = anchor
            && a != 0
        {
            self.anchors.insert(a, v.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(v),
            Some(Frame::Seq { items, .. }) => items.push(v),
            Some(Frame::Map(m)) => match m.pending_key.take() {
                Some(PendingKey::Key(k)) => {
                    m.map.insert(k, v);
                }
                Some(PendingKey::Merge { line, column }) => m.merges.push((v, line, column)),
                None => {
                    // An alias used as a key.
                    let key = match &v {
                        Value::String(s) => s.clone(),
                        Value::Null | Value::Bool(_) | Value::Number(_) => v.to_string(),
                        _ => {
                            return Err(YamlError::at(
                                "a mapping key must be a scalar".into(),
                                span.start.line(),
                                span.start.col() + 1,
                            ));
                        }
                    };
                    self.set_key(key, false, span)?;
                }
            },
        }
        Ok(())
    }
}

/// Apply `<<` merges: keys the mapping sets win, then earlier sources win.
fn finish_mapping(frame: MapFrame) -> Result<Value, YamlError> {
    let MapFrame {
        mut map, merges, ..
    } = frame;
    for (source, line, column) in merges {
        let sources = match source {
            Value::Object(m) => vec![m],
            Value::Array(items) => {
                let mut maps = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Value::Object(m) => maps.push(m),
                        _ => return Err(merge_error(line, column)),
                    }
                }
                maps
            }
            _ => return Err(merge_error(line, column)),
        };
        for m in sources {
            for (k, v) in m {
                map.entry(k).or_insert(v);
            }
        }
    }
    Ok(Value::Object(map))
}

fn merge_error(line: usize, column: usize) -> YamlError {
    YamlError::at(
        "map merge requires map or sequence of maps as the value".into(),
        line,
        column,
    )
}

/// The value of a scalar node (go-yaml v3 `decoder.scalar` into
/// `interface{}`, then JSON).
fn scalar_value(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    span: &Span,
) -> Result<Value, YamlError> {
    let err = |msg: String| YamlError::at(msg, span.start.line(), span.start.col() + 1);
    let core = tag.and_then(|t| (t.handle() == CORE_TAG_PREFIX).then(|| t.suffix()));
    let resolvable = match (tag, core) {
        (None, _) => true,
        (Some(_), Some(s)) => matches!(s, "str" | "bool" | "int" | "float" | "null" | "timestamp"),
        // Local and other tags (`!foo`, `!`) keep the text as a string.
        (Some(_), None) => false,
    };
    if core == Some("binary") {
        return decode_binary(text)
            .map(Value::String)
            .ok_or_else(|| err("!!binary value contains invalid base64 data".into()));
    }
    if !resolvable || core == Some("str") || (tag.is_none() && style != ScalarStyle::Plain) {
        return Ok(Value::String(text.to_owned()));
    }
    let resolved = scalar::resolve_plain(text, Schema::V3);
    let value = match (&resolved, core) {
        (Resolved::Merge, _) | (Resolved::Str, None) => Value::String(text.to_owned()),
        (Resolved::Null, None | Some("null")) => Value::Null,
        (Resolved::Bool(b), None | Some("bool")) => Value::Bool(*b),
        (Resolved::Int(i), None | Some("int")) => Value::Number(Number::from(*i)),
        (Resolved::Uint(u), None | Some("int")) => Value::Number(Number::from(*u)),
        (Resolved::Int(i), Some("float")) => float(*i as f64, text).map_err(err)?,
        (Resolved::Float(f), None | Some("float")) => float(*f, text).map_err(err)?,
        (Resolved::Timestamp(t), None | Some("timestamp")) => Value::String(t.to_rfc3339_nano()),
        (_, Some(wanted)) => {
            return Err(err(format!(
                "cannot decode {} `{}` as a !!{}",
                short_tag(&resolved),
                text,
                wanted
            )));
        }
    };
    Ok(value)
}

fn float(f: f64, text: &str) -> Result<Value, String> {
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| format!("unsupported value {text}: JSON cannot represent NaN or infinity"))
}

fn short_tag(r: &Resolved) -> &'static str {
    match r {
        Resolved::Null => "!!null",
        Resolved::Bool(_) => "!!bool",
        Resolved::Int(_) | Resolved::Uint(_) => "!!int",
        Resolved::Float(_) => "!!float",
        Resolved::Timestamp(_) => "!!timestamp",
        Resolved::Merge => "!!merge",
        Resolved::Str => "!!str",
    }
}

/// Standard base64 (whitespace ignored, as YAML folds long `!!binary`
/// values); bytes that are not UTF-8 become U+FFFD as Go's JSON encoder
/// writes them.
fn decode_binary(text: &str) -> Option<String> {
    let mut buf: u32 = 0;
    let mut bits = 0;
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut padding = 0;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                padding += 1;
                continue;
            }
            b' ' | b'\t' | b'\n' | b'\r' => continue,
            _ => return None,
        };
        if padding > 0 {
            return None;
        }
        buf = (buf << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}
