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
//! [`Dialect::SigsYaml`] instead follows sigs.k8s.io/yaml over go-yaml v2,
//! which kustomize uses for kustomization files.
//!
//! Syntax follows libyaml (go-yaml's scanner) where YAML 1.2 parsers differ:
//! NEL is a line break, tabs may not start a line in block context, quoted
//! continuation lines need no indentation, `?` ends a plain scalar inside
//! `[...]`/`{...}`, control characters are refused, and error texts use
//! go-yaml's wording and line numbers ([`YamlError::go_message`]).
//!
//! Why `granit-parser` events rather than `serde-saphyr`'s deserializer: the
//! deserializer resolves scalars with its own (YAML 1.1 boolean) rules and
//! does not tell whether a scalar was quoted or which line a key was on, so
//! neither v3's typing nor its duplicate-key error could be reproduced.
//! `granit-parser` is the event parser serde-saphyr itself is built on.

use super::YamlError;
use super::scalar::{self, Resolved, Schema};
use granit_parser::{Event, Parser, ScalarStyle, ScanError, Span, StructureStyle, Tag};
use serde_json::{Map, Number, Value};
use std::borrow::Cow;
use std::collections::HashMap;

const CORE_TAG_PREFIX: &str = "tag:yaml.org,2002:";

/// One mapping under construction.
struct MapFrame {
    map: Map<String, Value>,
    anchor: usize,
    /// The document's root mapping: kyaml decodes it into
    /// `map[string]interface{}`, which takes any scalar key as text and
    /// drops null keys; nested mappings need string keys for JSON.
    is_root: bool,
    /// Line of each key of `map`, by index (duplicate-key messages).
    key_lines: Vec<usize>,
    /// Keys that do not end up in `map` (`<<`, dropped null keys), with
    /// their lines: they still count as duplicates.
    other_keys: Vec<(String, usize)>,
    /// The key waiting for its value, with its line.
    pending_key: Option<PendingKey>,
    /// Values of `<<` keys, applied when the mapping ends.
    merges: Vec<(Value, usize, usize)>,
}

enum PendingKey {
    Key(String, usize),
    Merge {
        line: usize,
        column: usize,
    },
    /// A null key of the root mapping: go-yaml cannot decode it into a Go
    /// string, so the entry is left out.
    Drop,
}

/// Which Go YAML reader kustomize uses for a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Dialect {
    /// kyaml (go-yaml v3 decoded into Go values): how kustomize reads
    /// resources, patches and generator inputs. Only `true`/`false` are
    /// booleans, unquoted timestamps become RFC 3339 text, a repeated key is
    /// an error.
    #[default]
    Kyaml,
    /// sigs.k8s.io/yaml `YAMLToJSON` (go-yaml v2): how kustomize reads
    /// kustomization files. YAML 1.1 booleans (`yes`, `on`, `y` …), a
    /// repeated key keeps its last value, timestamps stay as written, keys
    /// of any scalar type become text (a null key is an error), merges apply
    /// in place.
    SigsYaml,
}

impl Dialect {
    fn schema(self) -> Schema {
        match self {
            Dialect::Kyaml => Schema::V3,
            Dialect::SigsYaml => Schema::V2,
        }
    }
}

/// How a scalar key decodes, by its go-yaml v3 tag.
#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Str,
    Merge,
    Null,
    /// Int, float, bool, timestamp, binary or a custom tag.
    Other,
}

enum Frame {
    Seq { items: Vec<Value>, anchor: usize },
    Map(Box<MapFrame>),
}

/// Collection kinds, for locating an error's context.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Collection {
    BlockMap,
    BlockSeq,
    Flow,
}

struct Builder {
    dialect: Dialect,
    /// The first decoding error (a repeated key, a value its tag does not
    /// fit, …). go-yaml decodes only what parsed, so a syntax error anywhere
    /// in the stream is reported before it.
    decode_error: Option<YamlError>,
    stack: Vec<Frame>,
    /// Open collections with their start lines (parallel to `stack`).
    open: Vec<(Collection, usize)>,
    /// Anchored values by the parser's anchor id (aliases in the same
    /// document).
    anchors: HashMap<usize, Value>,
    /// Anchor names by id, and values by name: go-yaml lets an alias refer
    /// to an anchor of an earlier document in the stream.
    anchor_names: HashMap<usize, String>,
    named: HashMap<String, Value>,
    docs: Vec<Value>,
    root: Option<Value>,
}

/// A syntax error, with go-yaml's wording where it is known.
///
/// go-yaml reports a parser error on its context's line (0-based, so the
/// line before a block mapping's first key), falling back to the problem's
/// line, and a scanner error on the problem's line; line 0 is not printed.
fn scan_error(e: &ScanError, open: &[(Collection, usize)], text: &str) -> YamlError {
    let m = e.marker();
    let info = e.info();
    // go-yaml names an unclosed quote's line (its context), or when that is
    // the first line, the end of the stream where it gave up.
    let problem0 = match m.line().saturating_sub(1) {
        0 if info.ends_with("unclosed quote") => text.matches('\n').count(),
        line0 => line0,
    };
    let (context, problem) = match info.split_once(", ") {
        Some((c, p)) if c.starts_with("while parsing") => (Some(c), p.to_owned()),
        Some((c, p)) if c.starts_with("while scanning") => (None, p.to_owned()),
        _ => (None, info.clone()),
    };
    // go-yaml's (libyaml's) wording for the same problems.
    let problem =
        if problem.starts_with("tabs disallowed") || problem.starts_with("unexpected character") {
            "found character that cannot start any token".to_owned()
        } else if problem == "simple key expected ':'" {
            "could not find expected ':'".to_owned()
        } else if problem == "unclosed quote" {
            "found unexpected end of stream".to_owned()
        } else if problem == "found a tab" {
            "found a tab character that violates indentation".to_owned()
        } else {
            problem
        };
    let go_line = match context {
        Some(c) => {
            let kind = if c.starts_with("while parsing a block mapping") {
                Some(Collection::BlockMap)
            } else if c.starts_with("while parsing a block sequence") {
                Some(Collection::BlockSeq)
            } else if c.starts_with("while parsing a flow") {
                Some(Collection::Flow)
            } else {
                None
            };
            let context0 = kind
                .and_then(|k| open.iter().rev().find(|(c, _)| *c == k))
                .map_or(0, |(_, line)| line.saturating_sub(1));
            if context0 != 0 { context0 } else { problem0 }
        }
        // Parser errors (go-yaml reports their 0-based line) …
        None if problem == "did not find expected <document start>"
            || problem == "did not find expected node content" =>
        {
            problem0
        }
        // … and scanner errors (1-based).
        None if problem0 != 0 => problem0 + 1,
        None => 0,
    };
    let go = if go_line != 0 {
        format!("yaml: line {go_line}: {problem}")
    } else {
        format!("yaml: {problem}")
    };
    YamlError::at(info, m.line(), m.col() + 1).with_go_text(go)
}

/// go-yaml starts an implicit first document at the first token, so a
/// stream that begins with a document end marker `...` has a document with
/// no content: an error there (YAML 1.2 parsers skip the marker).
fn check_leading_document_end(text: &str) -> Result<(), YamlError> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start_matches([' ', '\t']);
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let is_end_marker = line
            .strip_prefix("...")
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']));
        if is_end_marker {
            let problem = "did not find expected node content";
            let go = if i != 0 {
                format!("yaml: line {i}: {problem}")
            } else {
                format!("yaml: {problem}")
            };
            return Err(YamlError::at(
                format!("{problem}: the stream starts with a document end marker"),
                i + 1,
                1,
            )
            .with_go_text(go));
        }
        break;
    }
    Ok(())
}

/// go-yaml's reader refuses control characters before parsing anything:
/// only tab, line feed, carriage return, NEL and printable characters
/// (excluding U+FFFE and U+FFFF) may appear.
fn check_characters(text: &str) -> Result<(), YamlError> {
    let bad = text.char_indices().find(|&(_, c)| {
        !matches!(c, '\t' | '\n' | '\r' | '\u{85}' | '\u{20}'..='\u{7E}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
    });
    match bad {
        None => Ok(()),
        Some((at, c)) => {
            let line = text[..at].matches('\n').count() + 1;
            let column = at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
            let problem = "control characters are not allowed";
            Err(
                YamlError::at(format!("{problem} (U+{:04X})", c as u32), line, column)
                    .with_go_text(format!("yaml: {problem}")),
            )
        }
    }
}

/// Parse a stream; see the module documentation for the typing rules.
pub fn parse(text: &str, dialect: Dialect) -> Result<Vec<Value>, YamlError> {
    // go-yaml (YAML 1.1) reads NEL as a line break everywhere and normalizes
    // it to `\n` (in quoted and block scalars too); YAML 1.2 parsers take it
    // as an ordinary character. Replacing it first gives go-yaml's reading
    // and its line numbers.
    let normalized;
    let text = if text.contains('\u{85}') {
        normalized = text.replace('\u{85}', "\n");
        normalized.as_str()
    } else {
        text
    };
    check_characters(text)?;
    check_leading_document_end(text)?;
    // go-yaml does not check the indentation of a quoted scalar's
    // continuation lines; YAML 1.2 (granit) wants them indented past the
    // enclosing block. Their leading spaces are not part of the value, so
    // indenting such a line further reads the same as go-yaml does.
    let mut reindented: Option<String> = None;
    for _ in 0..MAX_REINDENTS {
        let current = reindented.as_deref().unwrap_or(text);
        match parse_events(current, dialect) {
            Err(Failure::UnderIndentedQuoted(line, e)) => match indent_line(current, line) {
                Some(fixed) => reindented = Some(fixed),
                None => {
                    // A document marker inside the quoted scalar.
                    let problem = "found unexpected document indicator";
                    let go = format!("yaml: line {line}: {problem}");
                    let column = e.column.unwrap_or(1);
                    return Err(YamlError::at(problem.to_owned(), line, column).with_go_text(go));
                }
            },
            Err(Failure::Yaml(e)) => return Err(e),
            Ok(docs) => return Ok(docs),
        }
    }
    match parse_events(reindented.as_deref().unwrap_or(text), dialect) {
        Ok(docs) => Ok(docs),
        Err(Failure::Yaml(e) | Failure::UnderIndentedQuoted(_, e)) => Err(e),
    }
}

/// Retries for under-indented quoted continuation lines; each is a reparse.
const MAX_REINDENTS: usize = 64;

enum Failure {
    Yaml(YamlError),
    /// A quoted scalar's continuation on this (1-based) line is not
    /// indented past its block.
    UnderIndentedQuoted(usize, YamlError),
}

impl From<YamlError> for Failure {
    fn from(e: YamlError) -> Failure {
        Failure::Yaml(e)
    }
}

/// Indent 1-based `line` past every earlier line's indentation; `None`
/// when that would hide a document marker go-yaml stops at.
fn indent_line(text: &str, line: usize) -> Option<String> {
    let mut offset = 0;
    let mut widest = 0;
    for (n, l) in text.split('\n').enumerate() {
        if n + 1 == line {
            if l.starts_with("---") || l.starts_with("...") {
                return None;
            }
            let mut out = String::with_capacity(text.len() + widest + 1);
            out.push_str(&text[..offset]);
            out.extend(std::iter::repeat_n(' ', widest + 1));
            out.push_str(&text[offset..]);
            return Some(out);
        }
        widest = widest.max(l.len() - l.trim_start_matches(' ').len());
        offset += l.len() + 1;
    }
    None
}

fn parse_events(text: &str, dialect: Dialect) -> Result<Vec<Value>, Failure> {
    let options = granit_parser::options! {
        emit_unresolved_aliases: true,
        emit_anchor_events: true,
    };
    let mut parser = Parser::new_from_str_with_options(text, options);
    let mut b = Builder {
        dialect,
        decode_error: None,
        stack: Vec::new(),
        open: Vec::new(),
        anchors: HashMap::new(),
        anchor_names: HashMap::new(),
        named: HashMap::new(),
        docs: Vec::new(),
        root: None,
    };
    // Byte ranges where a line may start with a tab (scalars and flow
    // collections); only tracked when the text has a tab at all.
    let track_tabs = text.contains('\t');
    let mut tab_ok: Vec<(usize, usize)> = Vec::new();
    let mut flow_starts: Vec<usize> = Vec::new();
    let mut plain_ends: Vec<usize> = Vec::new();
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| {
            let err = scan_error(&e, &b.open, text);
            if *e.kind() == granit_parser::ErrorKind::InvalidQuotedScalarIndent {
                Failure::UnderIndentedQuoted(e.marker().line(), err)
            } else {
                Failure::Yaml(err)
            }
        })?;
        match event {
            Event::StreamStart | Event::StreamEnd => {}
            Event::DocumentStart(..) => b.root = None,
            Event::Anchor(id, name) => {
                if let Some(v) = b.anchors.get(&id) {
                    b.named.insert(name.to_string(), v.clone());
                }
                b.anchor_names.insert(id, name.into_owned());
            }
            Event::UnresolvedAlias(name) => {
                let v = b.named.get(name.as_ref()).cloned().ok_or_else(|| {
                    YamlError::at(
                        format!("unknown anchor '{name}' referenced"),
                        span.start.line(),
                        span.start.col() + 1,
                    )
                    .with_go_text(format!("yaml: unknown anchor '{name}' referenced"))
                })?;
                b.add(v, None, &span)?;
            }
            Event::DocumentEnd => {
                if let Some(v) = b.root.take()
                    && !v.is_null()
                {
                    if dialect == Dialect::SigsYaml && contains_null_key(&v) {
                        let message = "unsupported map key of type: %!s(<nil>), key: <nil>";
                        b.defer(YamlError {
                            message: message.to_owned(),
                            line: None,
                            column: None,
                            go_text: None,
                        });
                    }
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
                if track_tabs
                    && let (Some(start), Some(end)) =
                        (span.start.byte_offset(), span.end.byte_offset())
                {
                    // A block scalar's span starts at its content, after
                    // the indentation.
                    let from = if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
                        text.get(..start)
                            .and_then(|t| t.rfind('\n'))
                            .map_or(0, |i| i + 1)
                    } else {
                        start
                    };
                    tab_ok.push((from, end));
                    if style == ScalarStyle::Plain {
                        plain_ends.push(end);
                    }
                }
                b.check_tab_after_dash(text, &span)?;
                b.check_flow_plain(&value, style, &span)?;
                check_scalar_source(text, style, &span)?;
                if b.expecting_key() {
                    if anchor != 0 {
                        let v = scalar_value(value.clone(), style, tag.as_deref(), &span, dialect)
                            .unwrap_or_else(|_| Value::String(value.to_string()));
                        b.anchors.insert(anchor, v);
                    }
                    match dialect {
                        Dialect::Kyaml => {
                            if tag.is_some()
                                && !b.skipping()
                                && let Err(e) = scalar_value(
                                    value.clone(),
                                    style,
                                    tag.as_deref(),
                                    &span,
                                    dialect,
                                )
                            {
                                // A tag the key's text does not fit.
                                b.defer(e);
                            }
                            let kind = key_kind(&value, style, tag.as_deref());
                            b.set_key(value.into_owned(), kind, &span)?;
                        }
                        Dialect::SigsYaml => {
                            let text = value.to_string();
                            let (key, kind) = match sigs_key(value, style, tag.as_deref(), &span) {
                                Ok(k) => k,
                                Err(e) => {
                                    b.defer(e);
                                    (text, KeyKind::Str)
                                }
                            };
                            b.set_key(key, kind, &span)?;
                        }
                    }
                    continue;
                }
                let v = match scalar_value(value, style, tag.as_deref(), &span, dialect) {
                    Ok(v) => v,
                    // go-yaml never decodes the value of a dropped key.
                    Err(_) if b.skipping() => Value::Null,
                    Err(e) => {
                        b.defer(e);
                        Value::Null
                    }
                };
                if anchor != 0 {
                    b.anchors.insert(anchor, v.clone());
                }
                b.add(v, None, &span)?;
            }
            Event::SequenceStart(style, anchor, _) => {
                if style == StructureStyle::Flow {
                    flow_starts.push(span.start.byte_offset().unwrap_or(0));
                }
                b.check_tab_after_dash(text, &span)?;
                b.check_collection_key(&span)?;
                b.open
                    .push((collection(style, Collection::BlockSeq), span.start.line()));
                b.stack.push(Frame::Seq {
                    items: Vec::new(),
                    anchor,
                });
            }
            Event::MappingStart(style, anchor, _) => {
                if style == StructureStyle::Flow {
                    flow_starts.push(span.start.byte_offset().unwrap_or(0));
                }
                b.check_tab_after_dash(text, &span)?;
                b.check_collection_key(&span)?;
                b.open
                    .push((collection(style, Collection::BlockMap), span.start.line()));
                let is_root = b.stack.is_empty();
                b.stack.push(Frame::Map(Box::new(MapFrame {
                    map: Map::new(),
                    anchor,
                    is_root,
                    key_lines: Vec::new(),
                    other_keys: Vec::new(),
                    pending_key: None,
                    merges: Vec::new(),
                })));
            }
            Event::SequenceEnd => {
                if let Some((Collection::Flow, _)) = b.open.pop()
                    && let Some(start) = flow_starts.pop()
                {
                    tab_ok.push((start, span.end.byte_offset().unwrap_or(usize::MAX)));
                }
                if let Some(Frame::Seq { items, anchor }) = b.stack.pop() {
                    b.add(Value::Array(items), Some(anchor), &span)?;
                }
            }
            Event::MappingEnd => {
                if let Some((Collection::Flow, _)) = b.open.pop()
                    && let Some(start) = flow_starts.pop()
                {
                    tab_ok.push((start, span.end.byte_offset().unwrap_or(usize::MAX)));
                }
                if let Some(Frame::Map(frame)) = b.stack.pop() {
                    let anchor = frame.anchor;
                    let v = match finish_mapping(*frame) {
                        Ok(v) => v,
                        Err(_) if b.skipping() => Value::Null,
                        Err(e) => {
                            b.defer(e);
                            Value::Null
                        }
                    };
                    b.add(v, Some(anchor), &span)?;
                }
            }
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }
    if track_tabs {
        check_line_start_tabs(text, tab_ok, &plain_ends)?;
    }
    if let Some(e) = b.decode_error {
        return Err(e.into());
    }
    Ok(b.docs)
}

/// go-yaml never skips a tab at the start of a line in block context (it
/// is neither indentation nor separation there), so a line whose first
/// non-space character is a tab is an error unless it lies inside a scalar
/// or a flow collection. YAML 1.2 parsers accept some of these lines.
fn check_line_start_tabs(
    text: &str,
    mut allowed: Vec<(usize, usize)>,
    plain_ends: &[usize],
) -> Result<(), YamlError> {
    allowed.sort_unstable();
    let mut ranges = allowed.into_iter().peekable();
    let mut current: Option<(usize, usize)> = None;
    let mut offset = 0;
    for (n, line) in text.split('\n').enumerate() {
        let indent = line.len() - line.trim_start_matches(' ').len();
        if line[indent..].starts_with('\t') {
            let pos = offset + indent;
            // Advance through ranges starting at or before `pos`, keeping
            // the one reaching furthest.
            while let Some(&(start, end)) = ranges.peek() {
                if start > pos {
                    break;
                }
                if current.is_none_or(|(_, e)| end > e) {
                    current = Some((start, end));
                }
                ranges.next();
            }
            if current.is_none_or(|(_, end)| pos >= end) {
                // Right after a plain scalar, go-yaml's plain scalar scanner
                // is still looking for continuation lines and words it so.
                let after_plain = plain_ends
                    .partition_point(|&e| e <= pos)
                    .checked_sub(1)
                    .and_then(|i| plain_ends.get(i))
                    .is_some_and(|&e| {
                        text.get(e..pos)
                            .is_some_and(|t| t.bytes().all(|c| c.is_ascii_whitespace()))
                    });
                let problem = if after_plain {
                    "found a tab character that violates indentation"
                } else {
                    "found character that cannot start any token"
                };
                let go = if n != 0 {
                    format!("yaml: line {}: {problem}", n + 1)
                } else {
                    format!("yaml: {problem}")
                };
                return Err(YamlError::at(
                    format!("{problem} (a tab at the start of a line)"),
                    n + 1,
                    indent + 1,
                )
                .with_go_text(go));
            }
        }
        offset += line.len() + 1;
    }
    Ok(())
}

impl Builder {
    /// Inside the value of a dropped (null) root key, which go-yaml skips
    /// without decoding, so nothing in it is an error.
    fn skipping(&self) -> bool {
        matches!(self.stack.first(), Some(Frame::Map(m)) if matches!(m.pending_key, Some(PendingKey::Drop)))
    }

    /// go-yaml ends a plain scalar at `?` inside `[...]`/`{...}` and then
    /// fails on the stray `?`; YAML 1.2 (and granit) keep it in the scalar.
    fn check_flow_plain(
        &self,
        text: &str,
        style: ScalarStyle,
        span: &Span,
    ) -> Result<(), YamlError> {
        let Some(&(Collection::Flow, start)) = self.open.last() else {
            return Ok(());
        };
        if style != ScalarStyle::Plain || !text.get(1..).is_some_and(|t| t.contains('?')) {
            return Ok(());
        }
        let closer = match self.stack.last() {
            Some(Frame::Map(_)) => '}',
            _ => ']',
        };
        let problem = format!("did not find expected ',' or '{closer}'");
        let context0 = start.saturating_sub(1);
        let line0 = if context0 != 0 {
            context0
        } else {
            span.start.line().saturating_sub(1)
        };
        let go = if line0 != 0 {
            format!("yaml: line {line0}: {problem}")
        } else {
            format!("yaml: {problem}")
        };
        let at = text.find('?').unwrap_or(0);
        Err(YamlError::at(
            format!("{problem}: go-yaml ends a plain scalar at '?' inside a flow collection; quote {text:?}"),
            span.start.line(),
            span.start.col() + 1 + at,
        )
        .with_go_text(go))
    }

    fn defer(&mut self, e: YamlError) {
        self.decode_error.get_or_insert(e);
    }

    fn expecting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map(m)) if m.pending_key.is_none())
    }

    /// go-yaml skips tabs before a token only where a simple key cannot
    /// start, so a tab between a block sequence's `- ` and its item is "a
    /// character that cannot start any token"; YAML 1.2 allows it.
    fn check_tab_after_dash(&self, input: &str, span: &Span) -> Result<(), YamlError> {
        if !matches!(self.open.last(), Some((Collection::BlockSeq, _))) {
            return Ok(());
        }
        let Some(before) = span.start.byte_offset().and_then(|o| input.get(..o)) else {
            return Ok(());
        };
        let gap = before.trim_end_matches([' ', '\t']);
        if !gap.ends_with('-') || !before[gap.len()..].contains('\t') {
            return Ok(());
        }
        let line = span.start.line();
        let problem = "found character that cannot start any token";
        let go = if line > 1 {
            format!("yaml: line {line}: {problem}")
        } else {
            format!("yaml: {problem}")
        };
        let column = gap.len() - gap.rfind('\n').map_or(0, |i| i + 1) + 2;
        Err(YamlError::at(
            format!("{problem} (a tab after a sequence entry's `-`)"),
            line,
            column,
        )
        .with_go_text(go))
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

    fn set_key(&mut self, key: String, kind: KeyKind, span: &Span) -> Result<(), YamlError> {
        let skipping = self.skipping();
        let Some(Frame::Map(m)) = self.stack.last_mut() else {
            return Ok(());
        };
        let line = span.start.line();
        let column = span.start.col() + 1;
        if skipping || self.dialect == Dialect::SigsYaml {
            // sigs.k8s.io/yaml decodes without duplicate checks: the last
            // value of a repeated key wins.
            m.pending_key = Some(match kind {
                KeyKind::Merge => PendingKey::Merge { line, column },
                _ => PendingKey::Key(key, line),
            });
            return Ok(());
        }
        let first = if m.map.contains_key(&key) {
            // Only on the error path: find the earlier key's line.
            let index = m.map.keys().position(|k| *k == key);
            index.and_then(|i| m.key_lines.get(i).copied())
        } else {
            m.other_keys
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, l)| *l)
        };
        let mut deferred = first.map(|first| {
            let message = format!("mapping key {key:?} already defined at line {first}");
            let go = format!("yaml: unmarshal errors:\n  line {line}: {message}");
            YamlError::at(message, line, column).with_go_text(go)
        });
        m.pending_key = Some(match kind {
            KeyKind::Merge => {
                m.other_keys.push((key, line));
                PendingKey::Merge { line, column }
            }
            KeyKind::Str => PendingKey::Key(key, line),
            KeyKind::Null if m.is_root => {
                m.other_keys.push((key, line));
                PendingKey::Drop
            }
            KeyKind::Other if m.is_root => PendingKey::Key(key, line),
            KeyKind::Null | KeyKind::Other => {
                let e = YamlError::at(
                    format!(
                        "mapping key {key:?} is not a string; a nested mapping with \
                         non-string keys cannot be converted to JSON"
                    ),
                    line,
                    column,
                );
                deferred.get_or_insert(e);
                PendingKey::Key(key, line)
            }
        });
        if let Some(e) = deferred {
            self.defer(e);
        }
        Ok(())
    }

    /// Attach a finished node to its parent (or make it the document root).
    fn add(&mut self, v: Value, anchor: Option<usize>, span: &Span) -> Result<(), YamlError> {
        if let Some(a) = anchor
            && a != 0
        {
            if let Some(name) = self.anchor_names.get(&a) {
                self.named.insert(name.clone(), v.clone());
            }
            self.anchors.insert(a, v.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(v),
            Some(Frame::Seq { items, .. }) => items.push(v),
            Some(Frame::Map(m)) => match m.pending_key.take() {
                Some(PendingKey::Key(k, line)) => {
                    m.map.insert(k, v);
                    m.key_lines.push(line);
                }
                Some(PendingKey::Merge { line, column }) => match self.dialect {
                    Dialect::Kyaml => m.merges.push((v, line, column)),
                    // go-yaml v2 merges in place: keys after `<<` override
                    // merged ones, merged ones override keys before it, and
                    // earlier maps of a merge list take precedence.
                    Dialect::SigsYaml => match merge_sources(v, line, column) {
                        Ok(sources) => {
                            for source in sources.into_iter().rev() {
                                for (k, val) in source {
                                    m.map.insert(k, val);
                                }
                            }
                        }
                        Err(e) => {
                            self.decode_error.get_or_insert(e);
                        }
                    },
                },
                Some(PendingKey::Drop) => {}
                None => {
                    // An alias used as a key.
                    let (key, kind) = match &v {
                        Value::String(s) => (s.clone(), KeyKind::Str),
                        Value::Bool(_) | Value::Number(_) if self.dialect == Dialect::SigsYaml => {
                            (v.to_string(), KeyKind::Str)
                        }
                        Value::Null => ("null".to_owned(), KeyKind::Null),
                        Value::Bool(_) | Value::Number(_) => (v.to_string(), KeyKind::Other),
                        _ => {
                            return Err(YamlError::at(
                                "a mapping key must be a scalar".into(),
                                span.start.line(),
                                span.start.col() + 1,
                            ));
                        }
                    };
                    self.set_key(key, kind, span)?;
                }
            },
        }
        Ok(())
    }
}

fn collection(style: StructureStyle, block: Collection) -> Collection {
    match style {
        StructureStyle::Block => block,
        StructureStyle::Flow => Collection::Flow,
    }
}

/// Apply `<<` merges: keys the mapping sets win, then earlier sources win.
fn finish_mapping(frame: MapFrame) -> Result<Value, YamlError> {
    let MapFrame {
        mut map, merges, ..
    } = frame;
    for (source, line, column) in merges {
        for m in merge_sources(source, line, column)? {
            for (k, v) in m {
                map.entry(k).or_insert(v);
            }
        }
    }
    Ok(Value::Object(map))
}

/// The mappings a `<<` value names: one mapping or a list of mappings.
fn merge_sources(
    source: Value,
    line: usize,
    column: usize,
) -> Result<Vec<Map<String, Value>>, YamlError> {
    match source {
        Value::Object(m) => Ok(vec![m]),
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::Object(m) => Ok(m),
                _ => Err(merge_error(line, column)),
            })
            .collect(),
        _ => Err(merge_error(line, column)),
    }
}

fn merge_error(line: usize, column: usize) -> YamlError {
    let problem = "map merge requires map or sequence of maps as the value";
    YamlError::at(problem.into(), line, column).with_go_text(format!("yaml: {problem}"))
}

/// The value of a scalar node (go-yaml v3 `decoder.scalar` into
/// `interface{}`, then JSON).
fn scalar_value(
    text: Cow<'_, str>,
    style: ScalarStyle,
    tag: Option<&Tag>,
    span: &Span,
    dialect: Dialect,
) -> Result<Value, YamlError> {
    // go-yaml v3's parser drops the non-specific tag `!`; v2 keeps it, and
    // as a tag it cannot resolve, it makes the scalar a string.
    let tag = tag.filter(|t| dialect == Dialect::SigsYaml || !is_non_specific(t));
    let err = |msg: String| {
        let go = format!("yaml: {msg}");
        YamlError::at(msg, span.start.line(), span.start.col() + 1).with_go_text(go)
    };
    let core = tag.and_then(|t| (t.handle() == CORE_TAG_PREFIX).then(|| t.suffix()));
    let resolvable = match (tag, core) {
        (None, _) => true,
        (Some(_), Some(s)) => matches!(s, "str" | "bool" | "int" | "float" | "null" | "timestamp"),
        // Local and other tags (`!foo`, `!`) keep the text as a string.
        (Some(_), None) => false,
    };
    if core == Some("binary") {
        return decode_binary(&text)
            .map(Value::String)
            .ok_or_else(|| err("!!binary value contains invalid base64 data".into()));
    }
    if !resolvable || core == Some("str") || (tag.is_none() && style != ScalarStyle::Plain) {
        return Ok(Value::String(text.into_owned()));
    }
    let resolved = scalar::resolve_plain(&text, dialect.schema());
    let value = match (&resolved, core) {
        // go-yaml v2 keeps timestamps as their text in `interface{}`.
        (Resolved::Timestamp(_), None | Some("timestamp")) if dialect == Dialect::SigsYaml => {
            Value::String(text.into_owned())
        }
        (Resolved::Merge, _) | (Resolved::Str, None) => Value::String(text.into_owned()),
        (Resolved::Null, None | Some("null")) => Value::Null,
        (Resolved::Bool(b), None | Some("bool")) => Value::Bool(*b),
        (Resolved::Int(i), None | Some("int")) => Value::Number(Number::from(*i)),
        (Resolved::Uint(u), None | Some("int")) => Value::Number(Number::from(*u)),
        (Resolved::Int(i), Some("float")) => float(*i as f64, &text).map_err(err)?,
        (Resolved::Float(f), None | Some("float")) => float(*f, &text).map_err(err)?,
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

/// The non-specific tag `!`: go-yaml v3's parser treats it as no tag at all
/// (so `! 12` is still an int).
fn is_non_specific(t: &Tag) -> bool {
    (t.handle().is_empty() && t.suffix() == "!") || (t.handle() == "!" && t.suffix().is_empty())
}

/// A key as sigs.k8s.io/yaml's `YAMLToJSON` writes it: go-yaml v2 decodes
/// it (YAML 1.1, so `yes` is `true`), then bools, ints and floats become
/// their text; a null key is an error.
fn sigs_key(
    text: Cow<'_, str>,
    style: ScalarStyle,
    tag: Option<&Tag>,
    span: &Span,
) -> Result<(String, KeyKind), YamlError> {
    let core = tag.and_then(|t| (t.handle() == CORE_TAG_PREFIX).then(|| t.suffix()));
    if core == Some("merge") || (tag.is_none() && style == ScalarStyle::Plain && text == "<<") {
        return Ok((text.into_owned(), KeyKind::Merge));
    }
    let unsupported = |what: &str| {
        let message = format!("unsupported map key of type: {what}, key: {text:?}");
        YamlError::at(message.clone(), span.start.line(), span.start.col() + 1)
            .with_go_text(message)
    };
    let value = scalar_value(text.clone(), style, tag, span, Dialect::SigsYaml)?;
    let key = match value {
        Value::String(s) => s,
        Value::Bool(b) => b.to_string(),
        // go-yaml v2 accepts a null key; sigs.k8s.io/yaml fails only if the
        // mapping survives into the result (a later duplicate may replace
        // it), so it is marked here and checked per document.
        Value::Null => return Ok((NULL_KEY_MARK.to_owned(), KeyKind::Str)),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, _) if n.is_u64() => return Err(unsupported("uint64")),
            (None, Some(f)) => scalar::go_format_g32(f),
            (None, None) => return Err(unsupported("number")),
        },
        Value::Array(_) | Value::Object(_) => return Err(unsupported("collection")),
    };
    Ok((key, KeyKind::Str))
}

/// Stands for a null key in [`Dialect::SigsYaml`] until the document is
/// complete; no YAML text can produce it (NUL is not allowed in YAML).
const NULL_KEY_MARK: &str = "\u{0}null-key\u{0}";

fn contains_null_key(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.contains_key(NULL_KEY_MARK) || m.values().any(contains_null_key),
        Value::Array(items) => items.iter().any(contains_null_key),
        _ => false,
    }
}

/// Scalar syntax YAML 1.2 (and granit) accepts but go-yaml rejects:
/// the escape `\/` in a double-quoted scalar, and a tab right after the
/// indentation of a block scalar's first line when the indentation is
/// auto-detected (go-yaml takes it for indentation).
fn check_scalar_source(input: &str, style: ScalarStyle, span: &Span) -> Result<(), YamlError> {
    if !matches!(
        style,
        ScalarStyle::DoubleQuoted | ScalarStyle::Literal | ScalarStyle::Folded
    ) {
        return Ok(());
    }
    let (Some(start), Some(end)) = (span.start.byte_offset(), span.end.byte_offset()) else {
        return Ok(());
    };
    let Some(raw) = input.get(start..end) else {
        return Ok(());
    };
    let line0 = span.start.line().saturating_sub(1);
    if style == ScalarStyle::DoubleQuoted {
        let mut bytes = raw.bytes().enumerate();
        while let Some((i, c)) = bytes.next() {
            if c != b'\\' {
                continue;
            }
            if let Some((_, b'/')) = bytes.next() {
                let line = span.start.line() + raw[..i].matches('\n').count();
                let problem = "found unknown escape character";
                let go = if line0 != 0 {
                    format!("yaml: line {}: {problem}", line0 + 1)
                } else {
                    format!("yaml: {problem}")
                };
                return Err(YamlError::at(
                    format!("{problem} '/' (go-yaml does not know the escape \\/)"),
                    line,
                    1,
                )
                .with_go_text(go));
            }
        }
        return Ok(());
    }
    // Block scalar: its span starts at the first content character. A tab
    // there, with the indentation auto-detected, is what go-yaml rejects.
    if !input
        .get(start..)
        .is_some_and(|rest| rest.starts_with('\t'))
    {
        return Ok(());
    }
    // Walk back over the blank lines and indentation to the header line.
    let Some(before) = input.get(..start) else {
        return Ok(());
    };
    let header_end = before.trim_end_matches([' ', '\t', '\n', '\r']).len();
    let header_line_start = before[..header_end].rfind('\n').map_or(0, |i| i + 1);
    let header = &before[header_line_start..header_end];
    let header = header.split(" #").next().unwrap_or(header);
    let indicators = header.rsplit([' ', '\t']).next().unwrap_or(header);
    if indicators.bytes().any(|c| c.is_ascii_digit()) {
        return Ok(());
    }
    let header_line = span
        .start
        .line()
        .saturating_sub(before[header_line_start..].matches('\n').count());
    let problem = "found a tab character where an indentation space is expected";
    let go_line = if header_line > 1 {
        header_line
    } else {
        span.start.line()
    };
    Err(
        YamlError::at(problem.to_owned(), span.start.line(), span.start.col() + 1)
            .with_go_text(format!("yaml: line {go_line}: {problem}")),
    )
}

/// go-yaml v3's `ShortTag` of a key node, reduced to what decoding needs.
fn key_kind(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> KeyKind {
    match tag.filter(|t| !is_non_specific(t)) {
        Some(t) if t.handle() == CORE_TAG_PREFIX => match t.suffix() {
            "str" => KeyKind::Str,
            "merge" => KeyKind::Merge,
            "null" => KeyKind::Null,
            _ => KeyKind::Other,
        },
        Some(_) => KeyKind::Other,
        None if style != ScalarStyle::Plain => KeyKind::Str,
        // The parser, not the resolver, tags a plain `<<` as a merge.
        None if text == "<<" => KeyKind::Merge,
        None => match scalar::resolve_plain(text, Schema::V3) {
            Resolved::Str => KeyKind::Str,
            Resolved::Merge => KeyKind::Merge,
            Resolved::Null => KeyKind::Null,
            _ => KeyKind::Other,
        },
    }
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

/// Go's `base64.StdEncoding.DecodeString`: padded standard alphabet, line
/// breaks ignored. Bytes that are not UTF-8 become U+FFFD, as Go's JSON
/// encoder writes them.
fn decode_binary(text: &str) -> Option<String> {
    let symbols: Vec<u8> = text.bytes().filter(|&c| c != b'\n' && c != b'\r').collect();
    if !symbols.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(symbols.len() / 4 * 3);
    for (q, quad) in symbols.chunks(4).enumerate() {
        let last = q + 1 == symbols.len() / 4;
        let mut buf: u32 = 0;
        let mut n = 0;
        for (i, &c) in quad.iter().enumerate() {
            let v = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                // Padding: only in the last quantum, after two or three symbols.
                b'=' if last && i >= 2 && quad[i..].iter().all(|&p| p == b'=') => break,
                _ => return None,
            };
            buf = (buf << 6) | u32::from(v);
            n += 1;
        }
        match n {
            4 => out.extend_from_slice(&[(buf >> 16) as u8, (buf >> 8) as u8, buf as u8]),
            3 => out.extend_from_slice(&[(buf >> 10) as u8, (buf >> 2) as u8]),
            2 => out.push((buf >> 4) as u8),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}
