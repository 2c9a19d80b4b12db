//! An order- and comment-preserving YAML reader and a go-yaml-v3-style
//! writer (indent 4, sequences indented under their key), for SOPS files.
//!
//! The reader covers the YAML that people put in secrets files: block
//! mappings and sequences, plain/quoted/block scalars (including multi-line),
//! flow collections, anchors and aliases, tags, comments and multiple
//! documents. Scalars resolve as go-yaml v3 does (see [`crate::tree`]).
//! Full-line comments belong to the collection that holds the next value
//! (go-yaml head comments); a line comment after a value becomes a comment
//! before its entry, as sops does.

use crate::tree::{Comment, Item, Node, Scalar, format_float_yaml, resolve_plain};
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
#[error("YAML line {line}: {message}")]
pub struct YamlError {
    pub line: usize,
    pub message: String,
}

/// Parse a YAML stream into documents. An empty document is an empty mapping.
pub fn parse(src: &str) -> Result<Vec<Node>, YamlError> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut docs = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut start_line = 1;
    // A document opened with `---` exists even when empty (go-yaml yields it).
    let mut explicit = false;
    for (n, raw) in src.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line == "---" || line.starts_with("--- ") || line == "..." {
            let comments_only = current
                .iter()
                .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
            if explicit || !comments_only {
                docs.push(parse_document(std::mem::take(&mut current), start_line)?);
                start_line = n + 2;
            }
            // Comments before the first `---` head the next document.
            explicit = line != "...";
            if let Some(rest) = line.strip_prefix("--- ")
                && !rest.trim().is_empty()
                && !rest.trim_start().starts_with('#')
            {
                current.push(rest.to_string());
            }
            continue;
        }
        if line.starts_with('%') && current.is_empty() {
            continue; // directives
        }
        current.push(line.to_string());
    }
    if explicit || !current.iter().all(|l| l.trim().is_empty()) || docs.is_empty() {
        docs.push(parse_document(current, start_line)?);
    }
    Ok(docs)
}

fn parse_document(lines: Vec<String>, first_line: usize) -> Result<Node, YamlError> {
    let mut p = Parser {
        lines,
        i: 0,
        first_line,
        pending: Vec::new(),
        anchors: HashMap::new(),
    };
    p.skip_blank_and_comments();
    let node = if p.i >= p.lines.len() {
        Node::Mapping(Vec::new())
    } else {
        let indent = p.indent_of(p.i);
        p.parse_block(indent)?
    };
    p.skip_blank_and_comments();
    if p.i < p.lines.len() {
        return Err(p.err("unexpected content (bad indentation?)"));
    }
    // Comments at the end of the document go into the top-level collection.
    let mut node = node;
    let pending: Vec<Comment> = std::mem::take(&mut p.pending)
        .into_iter()
        .map(|(_, c)| c)
        .collect();
    match &mut node {
        Node::Mapping(items) => items.extend(pending.into_iter().map(Item::Comment)),
        Node::Sequence(items) => items.extend(pending.into_iter().map(Node::Comment)),
        _ => {}
    }
    Ok(node)
}

struct Parser {
    lines: Vec<String>,
    i: usize,
    first_line: usize,
    /// Full-line comments not yet placed, with their column.
    pending: Vec<(usize, Comment)>,
    anchors: HashMap<String, Node>,
}

fn leading_spaces(s: &str) -> usize {
    s.len() - s.trim_start_matches(' ').len()
}

impl Parser {
    fn err(&self, message: impl Into<String>) -> YamlError {
        YamlError {
            line: self.first_line + self.i,
            message: message.into(),
        }
    }

    fn indent_of(&self, i: usize) -> usize {
        leading_spaces(&self.lines[i])
    }

    /// Skip blank lines, collecting full-line comments as pending.
    fn skip_blank_and_comments(&mut self) {
        while self.i < self.lines.len() {
            let t = self.lines[self.i].trim();
            if t.is_empty() {
                self.i += 1;
            } else if let Some(c) = t.strip_prefix('#') {
                let col = leading_spaces(&self.lines[self.i]);
                self.pending.push((
                    col,
                    Comment {
                        text: c.to_string(),
                        inline: false,
                    },
                ));
                self.i += 1;
            } else {
                break;
            }
        }
    }

    /// Parse the node starting at the current line, whose indent is `indent`.
    fn parse_block(&mut self, indent: usize) -> Result<Node, YamlError> {
        let content = self.lines[self.i][indent..].to_string();
        if content == "-" || content.starts_with("- ") || content.starts_with("-\t") {
            self.parse_sequence(indent, indent)
        } else if is_mapping_line(&content) {
            self.parse_mapping(indent)
        } else {
            // A bare scalar or flow collection as a whole node.
            let (node, _) = self.parse_inline_value(indent, indent, usize::MAX)?;
            Ok(node)
        }
    }

    fn flush_pending_into_items(&mut self, items: &mut Vec<Item>) {
        items.extend(self.pending.drain(..).map(|(_, c)| Item::Comment(c)));
    }

    /// When a collection at `indent` ends, comments indented at least as
    /// deep belong to it (go-yaml foot comments), not to the parent.
    fn take_trailing(&mut self, indent: usize) -> Vec<Comment> {
        let n = self
            .pending
            .iter()
            .take_while(|(col, _)| *col >= indent)
            .count();
        self.pending.drain(..n).map(|(_, c)| c).collect()
    }

    fn parse_mapping(&mut self, indent: usize) -> Result<Node, YamlError> {
        let mut items: Vec<Item> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        loop {
            self.skip_blank_and_comments();
            if self.i >= self.lines.len() || self.indent_of(self.i) != indent {
                break;
            }
            let content = self.lines[self.i][indent..].to_string();
            if !is_mapping_line(&content) {
                if content.starts_with("- ") || content == "-" {
                    break;
                }
                return Err(self.err("expected a `key: value` line"));
            }
            self.flush_pending_into_items(&mut items);
            let (key, after) = split_key(&content).ok_or_else(|| self.err("bad mapping key"))?;
            let key = self.resolve_key(&key)?;
            if !seen.insert(key.clone()) {
                return Err(self.err(format!("duplicate key '{key}'")));
            }
            let value_col = indent + content.len() - after.len();
            let (value, inline) = self.parse_value_after_indicator(indent, value_col)?;
            // sops (go-yaml) turns a line comment into a comment before its
            // entry; do the same so decrypted output matches `sops -d`.
            if let Some(c) = inline {
                items.push(Item::Comment(Comment { inline: false, ..c }));
            }
            items.push(Item::Pair(key, value));
        }
        items.extend(self.take_trailing(indent).into_iter().map(Item::Comment));
        Ok(Node::Mapping(items))
    }

    fn resolve_key(&self, raw: &str) -> Result<String, YamlError> {
        let raw = raw.trim_end();
        if raw.starts_with('"') || raw.starts_with('\'') {
            let (s, rest) = scan_quoted(raw).map_err(|m| self.err(m))?;
            if !rest.trim().is_empty() {
                return Err(self.err("bad quoted key"));
            }
            return Ok(s);
        }
        match resolve_plain(raw) {
            Scalar::Str(s) => Ok(s),
            Scalar::Time(_) => Ok(raw.to_string()),
            Scalar::Null if raw == "<<" => Ok(raw.to_string()),
            _ => Err(self.err(format!(
                "non-string key '{raw}' (sops requires string keys; quote it)"
            ))),
        }
    }

    /// A block sequence with dashes at `indent`; trailing comments from
    /// column `trailing_min` on belong to it (an indentless sequence under a
    /// key leaves comments at the key's column to the parent mapping).
    fn parse_sequence(&mut self, indent: usize, trailing_min: usize) -> Result<Node, YamlError> {
        let mut items: Vec<Node> = Vec::new();
        loop {
            self.skip_blank_and_comments();
            if self.i >= self.lines.len() || self.indent_of(self.i) != indent {
                break;
            }
            let content = self.lines[self.i][indent..].to_string();
            if !(content == "-" || content.starts_with("- ") || content.starts_with("-\t")) {
                break;
            }
            items.extend(self.pending.drain(..).map(|(_, c)| Node::Comment(c)));
            let rest = content[1..].trim_start_matches([' ', '\t']);
            if rest.is_empty() || rest.starts_with('#') {
                if let Some(c) = rest.strip_prefix('#') {
                    self.pending.push((
                        usize::MAX,
                        Comment {
                            text: c.to_string(),
                            inline: false,
                        },
                    ));
                }
                self.i += 1;
                self.skip_blank_and_comments();
                if self.i < self.lines.len() && self.indent_of(self.i) > indent {
                    let child = self.indent_of(self.i);
                    items.push(self.parse_block(child)?);
                } else {
                    items.push(Node::Scalar(Scalar::Null));
                }
                continue;
            }
            // Rewrite "- x" as "  x" so the item parses as a block at a deeper indent.
            let child_indent = indent + content.len() - rest.len();
            self.lines[self.i] = format!("{}{}", " ".repeat(child_indent), rest);
            if is_mapping_line(rest) && !rest.starts_with('{') && !rest.starts_with('[') {
                items.push(self.parse_mapping(child_indent)?);
            } else if rest == "-" || rest.starts_with("- ") {
                items.push(self.parse_sequence(child_indent, child_indent)?);
            } else {
                let (node, inline) = self.parse_inline_value(indent, child_indent, indent)?;
                if let Some(c) = inline {
                    items.push(Node::Comment(Comment { inline: false, ..c }));
                }
                items.push(node);
            }
        }
        items.extend(
            self.take_trailing(trailing_min)
                .into_iter()
                .map(Node::Comment),
        );
        Ok(Node::Sequence(items))
    }

    /// After `key:` at `indent`, the value starts at column `col` of the current line.
    fn parse_value_after_indicator(
        &mut self,
        indent: usize,
        col: usize,
    ) -> Result<(Node, Option<Comment>), YamlError> {
        let line = self.lines[self.i].clone();
        let rest = line[col..].trim_start_matches([' ', '\t']);
        let (anchor, rest) = take_anchor(rest);
        let (tag, rest) = take_tag(rest);
        if rest.is_empty() || rest.starts_with('#') {
            let inline = rest.strip_prefix('#').map(|c| Comment {
                text: c.to_string(),
                inline: false,
            });
            if let Some(c) = inline {
                // A comment after `key:` heads the nested block.
                self.pending.push((usize::MAX, c));
            }
            self.i += 1;
            self.skip_blank_and_comments();
            let node = if self.i < self.lines.len() {
                let ind = self.indent_of(self.i);
                let content = &self.lines[self.i][ind..];
                if ind > indent {
                    self.parse_block(ind)?
                } else if ind == indent && (content == "-" || content.starts_with("- ")) {
                    self.parse_sequence(ind, ind + 1)?
                } else {
                    Node::Scalar(Scalar::Null)
                }
            } else {
                Node::Scalar(Scalar::Null)
            };
            let node = apply_tag(tag, node).map_err(|m| self.err(m))?;
            if let Some(a) = anchor {
                self.anchors.insert(a, node.clone());
            }
            return Ok((node, None));
        }
        let start = line.len() - rest.len();
        let (node, inline) = self.parse_inline_value(indent, start, indent)?;
        let node = apply_tag(tag, node).map_err(|m| self.err(m))?;
        if let Some(a) = anchor {
            self.anchors.insert(a, node.clone());
        }
        Ok((node, inline))
    }

    /// Parse a value that starts at column `col` of the current line: a block
    /// scalar header, a flow collection, a quoted or a plain scalar, or an
    /// alias. `parent` is the indent lines must exceed to continue the value.
    fn parse_inline_value(
        &mut self,
        _indent: usize,
        col: usize,
        parent: usize,
    ) -> Result<(Node, Option<Comment>), YamlError> {
        let line = self.lines[self.i].clone();
        let text = &line[col..];
        let (anchor, text) = take_anchor(text);
        let (tag, text) = take_tag(text);
        let result = if let Some(name) = text.strip_prefix('*') {
            let (name, after) = name.split_once(' ').unwrap_or((name, ""));
            let node = self
                .anchors
                .get(name)
                .cloned()
                .ok_or_else(|| self.err(format!("unknown alias '*{name}'")))?;
            self.i += 1;
            (node, trailing_comment(after))
        } else if text.starts_with('|') || text.starts_with('>') {
            let parent = if parent == usize::MAX { 0 } else { parent };
            (self.parse_block_scalar(text, parent)?, None)
        } else if text.starts_with('"')
            || text.starts_with('\'')
            || text.starts_with('[')
            || text.starts_with('{')
        {
            // May span lines: join the rest of the document and scan.
            let mut joined = text.to_string();
            for l in &self.lines[self.i + 1..] {
                joined.push('\n');
                joined.push_str(l);
            }
            let (node, rest) = if text.starts_with('[') || text.starts_with('{') {
                let mut fp = FlowParser {
                    s: &joined,
                    pos: 0,
                    anchors: &self.anchors,
                };
                let node = fp.parse_value().map_err(|m| self.err(m))?;
                (node, &joined[fp.pos..])
            } else {
                let (s, rest) = scan_quoted(&joined).map_err(|m| self.err(m))?;
                (Node::Scalar(Scalar::Str(s)), rest)
            };
            let consumed_newlines = joined.len() - rest.len();
            self.i += joined[..consumed_newlines].matches('\n').count();
            let tail = rest.split('\n').next().unwrap_or("");
            let comment = trailing_comment(tail);
            if !tail.trim().is_empty() && comment.is_none() {
                return Err(self.err(format!("unexpected text after value: '{}'", tail.trim())));
            }
            self.i += 1;
            (node, comment)
        } else {
            // Plain scalar, possibly continued on more-indented lines.
            let (value, comment) = split_plain_comment(text);
            let mut value = value.trim_end().to_string();
            self.i += 1;
            if comment.is_none() && parent != usize::MAX {
                let mut blank_run = 0;
                let mut j = self.i;
                while j < self.lines.len() {
                    let l = &self.lines[j];
                    let t = l.trim();
                    if t.is_empty() {
                        blank_run += 1;
                        j += 1;
                        continue;
                    }
                    if leading_spaces(l) <= parent || t.starts_with('#') {
                        break;
                    }
                    if blank_run > 0 {
                        value.push_str(&"\n".repeat(blank_run));
                    } else {
                        value.push(' ');
                    }
                    blank_run = 0;
                    let (v, _) = split_plain_comment(t);
                    value.push_str(v.trim_end());
                    j += 1;
                    self.i = j;
                }
            }
            (Node::Scalar(resolve_plain(&value)), comment)
        };
        let (node, comment) = result;
        let node = apply_tag(tag, node).map_err(|m| self.err(m))?;
        if let Some(a) = anchor {
            self.anchors.insert(a, node.clone());
        }
        Ok((node, comment))
    }

    fn parse_block_scalar(&mut self, header: &str, parent: usize) -> Result<Node, YamlError> {
        let (header, _comment) = split_plain_comment(header);
        let header = header.trim_end();
        let folded = header.starts_with('>');
        let mut chomp = ' ';
        let mut explicit: Option<usize> = None;
        for c in header[1..].chars() {
            match c {
                '-' | '+' => chomp = c,
                '1'..='9' => explicit = Some(c as usize - '0' as usize),
                _ => return Err(self.err(format!("bad block scalar header '{header}'"))),
            }
        }
        self.i += 1;
        let mut raw: Vec<&str> = Vec::new();
        let start = self.i;
        let mut content_indent = explicit.map(|e| parent + e);
        let mut j = self.i;
        while j < self.lines.len() {
            let l = &self.lines[j];
            if l.trim().is_empty() {
                j += 1;
                continue;
            }
            let ind = leading_spaces(l);
            let ci = *content_indent.get_or_insert(ind);
            if ind < ci || ind <= parent {
                break;
            }
            j += 1;
        }
        // Trailing blank lines belong to the scalar only for chomping.
        for l in &self.lines[start..j] {
            raw.push(l);
        }
        let end = j;
        let ci = content_indent.unwrap_or(parent + 1);
        let mut lines: Vec<String> = raw
            .iter()
            .map(|l| {
                if l.len() >= ci {
                    l[ci..].to_string()
                } else {
                    String::new()
                }
            })
            .collect();
        // Blank lines after the last content line: keep count for `+`.
        let mut trailing_blank = 0;
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
            trailing_blank += 1;
        }
        // Lines beyond `end` that are blank were not consumed; that is fine.
        self.i = end;
        let mut body = if folded {
            fold_lines(&lines)
        } else {
            lines.join("\n")
        };
        if !lines.is_empty() {
            match chomp {
                '-' => {}
                '+' => {
                    body.push('\n');
                    body.push_str(&"\n".repeat(trailing_blank));
                }
                _ => body.push('\n'),
            }
        } else if chomp == '+' {
            body.push_str(&"\n".repeat(trailing_blank));
        }
        Ok(Node::Scalar(Scalar::Str(body)))
    }
}

fn fold_lines(lines: &[String]) -> String {
    let mut out = String::new();
    let mut prev_more_indented = false;
    let mut first = true;
    let mut pending_breaks = 0;
    for l in lines {
        if l.is_empty() {
            pending_breaks += 1;
            continue;
        }
        let more = l.starts_with(' ') || l.starts_with('\t');
        if !first {
            if pending_breaks > 0 {
                out.push_str(
                    &"\n".repeat(pending_breaks + usize::from(more || prev_more_indented)),
                );
            } else if more || prev_more_indented {
                out.push('\n');
            } else {
                out.push(' ');
            }
        } else if pending_breaks > 0 {
            out.push_str(&"\n".repeat(pending_breaks));
        }
        pending_breaks = 0;
        out.push_str(l);
        prev_more_indented = more;
        first = false;
    }
    out
}

fn take_anchor(s: &str) -> (Option<String>, &str) {
    if let Some(r) = s.strip_prefix('&') {
        let end = r.find([' ', '\t']).unwrap_or(r.len());
        (Some(r[..end].to_string()), r[end..].trim_start())
    } else {
        (None, s)
    }
}

fn take_tag(s: &str) -> (Option<String>, &str) {
    if s.starts_with('!') {
        let end = s.find([' ', '\t']).unwrap_or(s.len());
        (Some(s[..end].to_string()), s[end..].trim_start())
    } else {
        (None, s)
    }
}

fn apply_tag(tag: Option<String>, node: Node) -> Result<Node, String> {
    let Some(tag) = tag else { return Ok(node) };
    match (tag.as_str(), node) {
        ("!!str", Node::Scalar(s)) => Ok(Node::Scalar(Scalar::Str(match s {
            Scalar::Str(s) | Scalar::Time(s) => s,
            Scalar::Null => String::new(),
            other => String::from_utf8_lossy(&other.to_sops_bytes()).into_owned(),
        }))),
        ("!!binary", Node::Scalar(Scalar::Str(s))) => {
            use base64::Engine;
            let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(clean)
                .map_err(|e| format!("bad !!binary value: {e}"))?;
            Ok(Node::str(String::from_utf8_lossy(&bytes).into_owned()))
        }
        (_, node) => Ok(node),
    }
}

/// `text` after a value: `# comment` or nothing.
fn trailing_comment(text: &str) -> Option<Comment> {
    let t = text.trim_start();
    t.strip_prefix('#').map(|c| Comment {
        text: c.to_string(),
        inline: true,
    })
}

/// Split a plain scalar from a trailing ` # comment`.
fn split_plain_comment(text: &str) -> (&str, Option<Comment>) {
    if let Some(c) = text.strip_prefix('#') {
        return (
            "",
            Some(Comment {
                text: c.to_string(),
                inline: true,
            }),
        );
    }
    let b = text.as_bytes();
    for i in 1..b.len() {
        if b[i] == b'#' && (b[i - 1] == b' ' || b[i - 1] == b'\t') {
            return (
                &text[..i],
                Some(Comment {
                    text: text[i + 1..].to_string(),
                    inline: true,
                }),
            );
        }
    }
    (text, None)
}

/// Is this line (without indent) a `key: value` mapping entry?
fn is_mapping_line(content: &str) -> bool {
    split_key(content).is_some()
}

/// Split `key: rest` into the raw key text and the text after the colon.
fn split_key(content: &str) -> Option<(String, &str)> {
    if content.starts_with('"') || content.starts_with('\'') {
        let (_, rest) = scan_quoted(content).ok()?;
        let rest_trim = rest.trim_start_matches([' ', '\t']);
        let after = rest_trim.strip_prefix(':')?;
        if !(after.is_empty() || after.starts_with(' ') || after.starts_with('\t')) {
            return None;
        }
        let key_len = content.len() - rest.len();
        return Some((content[..key_len].to_string(), after));
    }
    if content.starts_with(['#', '[', '{', '&', '*', '!', '|', '>', '?'])
        && !content.starts_with("!!")
        && !content.starts_with('&')
        && !content.starts_with('*')
    {
        return None;
    }
    if content.starts_with("- ") || content == "-" {
        return None;
    }
    let b = content.as_bytes();
    for i in 0..b.len() {
        if b[i] == b'#' && i > 0 && (b[i - 1] == b' ' || b[i - 1] == b'\t') {
            return None;
        }
        if b[i] == b':' && (i + 1 == b.len() || b[i + 1] == b' ' || b[i + 1] == b'\t') {
            if i == 0 {
                return None;
            }
            return Some((content[..i].to_string(), &content[i + 1..]));
        }
    }
    None
}

/// Scan a single- or double-quoted scalar at the start of `s` (which may
/// span lines); return the value and the text after the closing quote.
fn scan_quoted(s: &str) -> Result<(String, &str), String> {
    let quote = s.chars().next().ok_or("empty")?;
    let mut out = String::new();
    let mut chars = s.char_indices().skip(1).peekable();
    let mut pending_ws = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c == quote => {
                if quote == '\'' && chars.peek().map(|p| p.1) == Some('\'') {
                    chars.next();
                    out.push_str(&pending_ws);
                    pending_ws.clear();
                    out.push('\'');
                    continue;
                }
                out.push_str(&pending_ws);
                return Ok((out, &s[i + 1..]));
            }
            '\n' => {
                // Line folding: one break -> space, n breaks -> n-1 newlines.
                pending_ws.clear();
                let mut breaks = 1;
                loop {
                    while chars.peek().is_some_and(|p| p.1 == ' ' || p.1 == '\t') {
                        chars.next();
                    }
                    if chars.peek().is_some_and(|p| p.1 == '\n') {
                        chars.next();
                        breaks += 1;
                    } else {
                        break;
                    }
                }
                if breaks == 1 {
                    out.push(' ');
                } else {
                    out.push_str(&"\n".repeat(breaks - 1));
                }
            }
            ' ' | '\t' => pending_ws.push(c),
            '\\' if quote == '"' => {
                out.push_str(&pending_ws);
                pending_ws.clear();
                let (_, e) = chars.next().ok_or("unterminated escape")?;
                let mut hex = |n: usize| -> Result<char, String> {
                    let mut v = 0u32;
                    for _ in 0..n {
                        let (_, h) = chars.next().ok_or("short escape")?;
                        v = v * 16 + h.to_digit(16).ok_or("bad hex escape")?;
                    }
                    char::from_u32(v).ok_or_else(|| "bad unicode escape".to_string())
                };
                match e {
                    'n' => out.push('\n'),
                    't' | '\t' => out.push('\t'),
                    'r' => out.push('\r'),
                    '0' => out.push('\0'),
                    'a' => out.push('\x07'),
                    'b' => out.push('\x08'),
                    'e' => out.push('\x1b'),
                    'f' => out.push('\x0c'),
                    'v' => out.push('\x0b'),
                    ' ' => out.push(' '),
                    '/' => out.push('/'),
                    '"' => out.push('"'),
                    '\\' => out.push('\\'),
                    'N' => out.push('\u{85}'),
                    '_' => out.push('\u{a0}'),
                    'L' => out.push('\u{2028}'),
                    'P' => out.push('\u{2029}'),
                    'x' => out.push(hex(2)?),
                    'u' => out.push(hex(4)?),
                    'U' => out.push(hex(8)?),
                    '\n' => {
                        while chars.peek().is_some_and(|p| p.1 == ' ' || p.1 == '\t') {
                            chars.next();
                        }
                    }
                    other => return Err(format!("unknown escape '\\{other}'")),
                }
            }
            c => {
                out.push_str(&pending_ws);
                pending_ws.clear();
                out.push(c);
            }
        }
    }
    Err("unterminated quoted scalar".into())
}

/// Flow collections (`[a, b]`, `{k: v}`), possibly spanning lines.
struct FlowParser<'a> {
    s: &'a str,
    pos: usize,
    anchors: &'a HashMap<String, Node>,
}

impl FlowParser<'_> {
    fn skip_ws(&mut self) {
        let b = self.s.as_bytes();
        while self.pos < b.len() {
            match b[self.pos] {
                b' ' | b'\t' | b'\n' | b'\r' => self.pos += 1,
                b'#' => {
                    while self.pos < b.len() && b[self.pos] != b'\n' {
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn parse_value(&mut self) -> Result<Node, String> {
        self.skip_ws();
        match self.peek() {
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    if self.peek() == Some(b']') {
                        self.pos += 1;
                        return Ok(Node::Sequence(items));
                    }
                    items.push(self.parse_value()?);
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {}
                        _ => return Err("expected ',' or ']' in flow sequence".into()),
                    }
                }
            }
            Some(b'{') => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    if self.peek() == Some(b'}') {
                        self.pos += 1;
                        return Ok(Node::Mapping(items));
                    }
                    let key = match self.parse_value()? {
                        Node::Scalar(Scalar::Str(s)) | Node::Scalar(Scalar::Time(s)) => s,
                        Node::Scalar(other) => {
                            String::from_utf8_lossy(&other.to_sops_bytes()).into_owned()
                        }
                        _ => return Err("non-scalar key in flow mapping".into()),
                    };
                    self.skip_ws();
                    let value = if self.peek() == Some(b':') {
                        self.pos += 1;
                        self.skip_ws();
                        if matches!(self.peek(), Some(b',') | Some(b'}')) {
                            Node::Scalar(Scalar::Null)
                        } else {
                            self.parse_value()?
                        }
                    } else {
                        Node::Scalar(Scalar::Null)
                    };
                    items.push(Item::Pair(key, value));
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {}
                        _ => return Err("expected ',' or '}' in flow mapping".into()),
                    }
                }
            }
            Some(b'"') | Some(b'\'') => {
                let (v, rest) = scan_quoted(&self.s[self.pos..])?;
                self.pos = self.s.len() - rest.len();
                Ok(Node::Scalar(Scalar::Str(v)))
            }
            Some(b'*') => {
                let start = self.pos + 1;
                let end = self.s[start..]
                    .find([',', ']', '}', ' ', '\n'])
                    .map_or(self.s.len(), |e| start + e);
                self.pos = end;
                let name = &self.s[start..end];
                self.anchors
                    .get(name)
                    .cloned()
                    .ok_or_else(|| format!("unknown alias '*{name}'"))
            }
            Some(_) => {
                let b = self.s.as_bytes();
                let start = self.pos;
                while self.pos < b.len() {
                    let c = b[self.pos];
                    if matches!(c, b',' | b']' | b'}' | b'\n')
                        || (c == b':'
                            && matches!(
                                b.get(self.pos + 1),
                                None | Some(b' ' | b',' | b']' | b'}' | b'\n')
                            ))
                    {
                        break;
                    }
                    self.pos += 1;
                }
                Ok(Node::Scalar(resolve_plain(self.s[start..self.pos].trim())))
            }
            None => Err("unterminated flow collection".into()),
        }
    }
}

// ---------------------------------------------------------------- emitter

/// Emit documents as go-yaml v3 does with indent 4 (sops' default).
pub fn emit(docs: &[Node]) -> String {
    emit_with_indent(docs, 4)
}

pub fn emit_with_indent(docs: &[Node], indent: usize) -> String {
    let mut out = String::new();
    for (n, doc) in docs.iter().enumerate() {
        if n > 0 {
            out.push_str("---\n");
        }
        let e = Emitter {
            step: indent.max(2),
        };
        match doc {
            Node::Mapping(items) if items.is_empty() => out.push_str("{}\n"),
            Node::Mapping(items) => e.mapping(items, 0, 0, &mut out, false),
            Node::Sequence(items) if items.is_empty() => out.push_str("[]\n"),
            Node::Sequence(items) => e.sequence(items, 0, &mut out),
            Node::Scalar(s) => {
                e.scalar_value(s, 0, &mut out);
            }
            Node::Comment(c) => {
                out.push('#');
                out.push_str(&c.text);
                out.push('\n');
            }
        }
    }
    out
}

struct Emitter {
    step: usize,
}

impl Emitter {
    /// Emit mapping items with keys at column `col`; `base` is go-yaml's
    /// indent for this mapping (for a mapping inside a sequence item it is
    /// the dash column, and keys sit two columns further). If
    /// `first_inline`, the first key continues the current line (after "- ").
    fn mapping(
        &self,
        items: &[Item],
        col: usize,
        base: usize,
        out: &mut String,
        first_inline: bool,
    ) {
        let pad = " ".repeat(col);
        let mut first = first_inline;
        let mut last_was_scalar_line = false;
        for item in items {
            match item {
                Item::Comment(c) => {
                    if c.inline && last_was_scalar_line && out.ends_with('\n') {
                        out.pop();
                        out.push_str(" #");
                        out.push_str(&c.text);
                        out.push('\n');
                    } else {
                        if !first {
                            out.push_str(&pad);
                        }
                        out.push('#');
                        out.push_str(&c.text);
                        out.push('\n');
                    }
                    last_was_scalar_line = false;
                    first = false;
                }
                Item::Pair(k, v) => {
                    if !first {
                        out.push_str(&pad);
                    }
                    first = false;
                    out.push_str(&quote_key(k));
                    out.push(':');
                    last_was_scalar_line = false;
                    match v {
                        Node::Mapping(m) if m.is_empty() => out.push_str(" {}\n"),
                        Node::Sequence(s) if s.is_empty() => out.push_str(" []\n"),
                        Node::Mapping(m) => {
                            out.push('\n');
                            self.mapping(m, base + self.step, base + self.step, out, false);
                        }
                        Node::Sequence(s) => {
                            out.push('\n');
                            self.sequence(s, base + self.step, out);
                        }
                        Node::Scalar(s) => {
                            out.push(' ');
                            last_was_scalar_line = self.scalar_value(s, base + self.step, out);
                        }
                        Node::Comment(c) => {
                            out.push_str(" #");
                            out.push_str(&c.text);
                            out.push('\n');
                        }
                    }
                }
            }
        }
    }

    fn sequence(&self, items: &[Node], col: usize, out: &mut String) {
        let pad = " ".repeat(col);
        let mut last_was_scalar_line = false;
        for item in items {
            match item {
                Node::Comment(c) => {
                    if c.inline && last_was_scalar_line && out.ends_with('\n') {
                        out.pop();
                        out.push_str(" #");
                    } else {
                        out.push_str(&pad);
                        out.push('#');
                    }
                    out.push_str(&c.text);
                    out.push('\n');
                    last_was_scalar_line = false;
                }
                Node::Mapping(m) if !m.is_empty() => {
                    out.push_str(&pad);
                    out.push_str("- ");
                    self.mapping(m, col + 2, col, out, true);
                    last_was_scalar_line = false;
                }
                Node::Sequence(s) if !s.is_empty() => {
                    out.push_str(&pad);
                    out.push_str("-\n");
                    self.sequence(s, col + self.step, out);
                    last_was_scalar_line = false;
                }
                Node::Mapping(_) => {
                    out.push_str(&pad);
                    out.push_str("- {}\n");
                }
                Node::Sequence(_) => {
                    out.push_str(&pad);
                    out.push_str("- []\n");
                }
                Node::Scalar(s) => {
                    out.push_str(&pad);
                    out.push_str("- ");
                    last_was_scalar_line = self.scalar_value(s, col + 2, out);
                }
            }
        }
    }

    /// Emit a scalar after "key: " or "- "; block scalars indent their
    /// lines at `block_col`. Returns whether the value fit on one line.
    fn scalar_value(&self, s: &Scalar, block_col: usize, out: &mut String) -> bool {
        match s {
            Scalar::Null => out.push_str("null"),
            Scalar::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Scalar::Int(i) => out.push_str(&i.to_string()),
            Scalar::Float(f) => out.push_str(&format_float_yaml(*f)),
            Scalar::Time(t) => out.push_str(t),
            Scalar::Str(s) => {
                if s.contains('\n') && literal_allowed(s) {
                    let body = s.trim_end_matches('\n');
                    let trailing = s.len() - body.len();
                    out.push('|');
                    // Leading space or break: an explicit indentation indicator.
                    if s.starts_with([' ', '\n']) {
                        out.push_str(&self.step.to_string());
                    }
                    match trailing {
                        0 => out.push('-'),
                        1 => {}
                        _ => out.push('+'),
                    }
                    out.push('\n');
                    let pad = " ".repeat(block_col);
                    let mut lines: Vec<&str> = body.split('\n').collect();
                    if trailing > 1 {
                        lines.extend(std::iter::repeat_n("", trailing - 1));
                    }
                    for l in lines {
                        if !l.is_empty() {
                            out.push_str(&pad);
                            out.push_str(l);
                        }
                        out.push('\n');
                    }
                    return false;
                }
                out.push_str(&quote_scalar(s));
            }
        }
        out.push('\n');
        true
    }
}

/// libyaml's analysis: a literal block needs printable text (no tabs), no
/// space before a line break and no trailing space.
fn literal_allowed(s: &str) -> bool {
    !s.contains(" \n")
        && !s.ends_with(' ')
        && s.chars()
            .all(|c| c == '\n' || (c != '\t' && is_printable(c)))
}

fn is_printable(c: char) -> bool {
    !(c.is_control() || c == '\u{feff}')
}

fn quote_key(k: &str) -> String {
    if k.contains('\n') {
        return double_quote(k);
    }
    quote_scalar(k)
}

/// Quote a string as go-yaml v3 would: plain when safe; double quotes when
/// plain text would resolve to another type; else single, else double quotes.
pub fn quote_scalar(s: &str) -> String {
    if s.is_empty() {
        return "\"\"".into();
    }
    if !matches!(resolve_plain(s), Scalar::Str(_))
        || s == "<<"
        || is_old_bool(s)
        || is_base60_float(s)
    {
        return double_quote(s);
    }
    if plain_allowed(s) {
        return s.to_string();
    }
    if !s.contains('\n') && s.chars().all(is_printable) && !s.contains('\t') {
        return format!("'{}'", s.replace('\'', "''"));
    }
    double_quote(s)
}

/// YAML 1.1 booleans, which go-yaml v3 quotes for older parsers.
fn is_old_bool(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "on"
            | "On"
            | "ON"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$` (YAML 1.1 sexagesimal).
fn is_base60_float(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (main, frac) = match s.split_once('.') {
        Some((m, f)) => (m, Some(f)),
        None => (s, None),
    };
    if frac.is_some_and(|f| !f.chars().all(|c| c.is_ascii_digit() || c == '_')) {
        return false;
    }
    let mut parts = main.split(':');
    let head = parts.next().unwrap_or("");
    if head.is_empty()
        || !head.starts_with(|c: char| c.is_ascii_digit())
        || !head.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return false;
    }
    let mut n = 0;
    for p in parts {
        n += 1;
        let ok = match p.len() {
            1 => p.as_bytes()[0].is_ascii_digit(),
            2 => (b'0'..=b'5').contains(&p.as_bytes()[0]) && p.as_bytes()[1].is_ascii_digit(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    n > 0
}

fn plain_allowed(s: &str) -> bool {
    let b = s.as_bytes();
    let first = b[0];
    if s.starts_with([' ', '\t']) || s.ends_with([' ', '\t']) {
        return false;
    }
    if matches!(
        first,
        b'#' | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
    ) {
        return false;
    }
    if matches!(first, b'-' | b'?' | b':') && (b.len() == 1 || matches!(b[1], b' ' | b'\t')) {
        return false;
    }
    if s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.contains("\t#") || s.ends_with(':') {
        return false;
    }
    s.chars().all(|c| c != '\n' && c != '\t' && is_printable(c))
}

fn double_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0b' => out.push_str("\\v"),
            '\x0c' => out.push_str("\\f"),
            '\x1b' => out.push_str("\\e"),
            '\u{85}' => out.push_str("\\N"),
            '\u{a0}' => out.push_str("\\_"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02X}", c as u32)),
            c if !is_printable(c) => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(src: &str) -> String {
        emit(&parse(src).unwrap())
    }

    #[test]
    fn keeps_order_comments_and_go_yaml_layout() {
        let src = "# top\nb: 1\na:\n  # inner\n  x: \"yes\"   # trailing\n  list:\n  - one\n  - k: v\n    z: |\n      line1\n      line2\nc: 'it''s'\n";
        let out = round(src);
        assert_eq!(
            out,
            "# top\nb: 1\na:\n    # inner\n    # trailing\n    x: \"yes\"\n    list:\n        - one\n        - k: v\n          z: |\n            line1\n            line2\nc: it's\n"
        );
        // and the output parses back to the same tree
        assert_eq!(parse(&out).unwrap(), parse(src).unwrap());
    }

    #[test]
    fn scalars_and_quoting() {
        let docs = parse("a: \"true\"\nb: true\nc: 0777\nd: \"\"\ne: ~\nf: [1, \"x\", {k: v}]\ng: >-\n  folded\n  text\n").unwrap();
        let d = &docs[0];
        assert_eq!(d.get("a"), Some(&Node::str("true")));
        assert_eq!(d.get("b"), Some(&Node::Scalar(Scalar::Bool(true))));
        assert_eq!(d.get("c"), Some(&Node::Scalar(Scalar::Int(511))));
        assert_eq!(d.get("d"), Some(&Node::str("")));
        assert_eq!(d.get("e"), Some(&Node::Scalar(Scalar::Null)));
        assert_eq!(d.get("g"), Some(&Node::str("folded text")));
        let out = emit(&docs);
        assert!(out.contains("a: \"true\"\n"), "{out}");
        assert!(out.contains("d: \"\"\n"), "{out}");
        assert!(out.contains("f:\n    - 1\n    - x\n    - k: v\n"), "{out}");
    }

    #[test]
    fn multi_document_and_errors() {
        let docs = parse("a: 1\n---\nb: 2\n").unwrap();
        assert_eq!(docs.len(), 2);
        // `---` then nothing: an empty document, as go-yaml reads it.
        assert_eq!(parse("a: 1\n---\n").unwrap().len(), 2);
        // comments before the first `---` head the first document
        let headed = parse("# head\n---\na: 1\n").unwrap();
        assert_eq!(headed.len(), 1);
        assert_eq!(emit(&headed), "# head\na: 1\n");
        assert_eq!(emit(&docs), "a: 1\n---\nb: 2\n");
        assert!(parse("a: 1\na: 2\n").is_err());
        assert!(parse("a: \"unterminated\n").is_err());
        assert!(parse("1: x\n").is_err());
    }

    #[test]
    fn anchors_and_multiline_quoted() {
        let docs = parse("base: &b\n  k: v\nother: *b\nq: \"one\n  two\"\n").unwrap();
        assert_eq!(docs[0].get("other"), docs[0].get("base"));
        assert_eq!(docs[0].get("q"), Some(&Node::str("one two")));
    }
}
