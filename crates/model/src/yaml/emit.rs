//! The writer: what `kustomize build` prints for one object.
//!
//! kustomize v5.5.0 marshals each resource to JSON and converts that JSON to
//! YAML with sigs.k8s.io/yaml v1.4.0, i.e. its vendored go-yaml v2 reading the
//! JSON into `map[interface{}]interface{}` and marshalling that back. So the
//! output is go-yaml v2's emitter (libyaml's algorithm) applied to JSON data:
//! keys sorted by go-yaml's natural order, block style, sequences not indented
//! under a mapping key, empty collections in flow style, strings quoted only
//! when a YAML 1.1 reader would not read them back as the same string, and
//! scalars folded at 80 columns.
//!
//! This module reproduces the emitter's state machine for exactly the events
//! such data produces (no anchors, tags or flow content), tracking the same
//! state (column, indent stack, `whitespace`/`indention` flags) so that line
//! breaks and folding land where go-yaml puts them. It writes straight into
//! one `String` in a single pass.

use super::scalar;
use serde_json::{Number, Value};
use std::cmp::Ordering;

/// go-yaml v2's `best_width`: where plain and quoted scalars are folded.
const BEST_WIDTH: usize = 80;
/// go-yaml v2's `best_indent`.
const BEST_INDENT: i64 = 2;
/// Keys longer than this (in bytes) are written as complex keys (`? key`).
const MAX_SIMPLE_KEY_LEN: usize = 128;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

/// What the emitter's scalar analysis finds out about a value
/// (`yaml_emitter_analyze_scalar`).
#[derive(Clone, Copy, Debug)]
struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

/// Emitter state, named after the go-yaml fields it mirrors.
struct Emitter {
    out: String,
    /// Characters (not bytes) written on the current line.
    column: usize,
    indent: i64,
    indents: Vec<i64>,
    whitespace: bool,
    indention: bool,
    mapping_context: bool,
    simple_key_context: bool,
}

/// Write one document (ends with a newline).
pub fn emit_document(doc: &Value, out: &mut String) {
    let mut e = Emitter {
        out: std::mem::take(out),
        column: 0,
        indent: -1,
        indents: Vec::with_capacity(16),
        whitespace: true,
        indention: true,
        mapping_context: false,
        simple_key_context: false,
    };
    e.node(doc, false, false);
    // DOCUMENT-END (implicit): just end the line.
    e.write_indent();
    *out = e.out;
}

impl Emitter {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn write_str(&mut self, s: &str) {
        self.out.push_str(s);
        self.column += if s.is_ascii() {
            s.len()
        } else {
            s.chars().count()
        };
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT } else { 0 };
        } else if !indentless {
            self.indent += BEST_INDENT;
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        self.write_str(indicator);
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    /// `yaml_emitter_emit_node` for one value.
    fn node(&mut self, v: &Value, mapping: bool, simple_key: bool) {
        self.mapping_context = mapping;
        self.simple_key_context = simple_key;
        match v {
            Value::Null => self.plain_token("null"),
            Value::Bool(true) => self.plain_token("true"),
            Value::Bool(false) => self.plain_token("false"),
            Value::Number(n) => {
                let text = format_number(n);
                self.plain_token(&text);
            }
            Value::String(s) => self.string(&fold_nel(s)),
            Value::Array(items) if items.is_empty() => self.empty_flow("[", "]"),
            Value::Object(map) if map.is_empty() => self.empty_flow("{", "}"),
            Value::Array(items) => {
                let indentless = self.mapping_context && !self.indention;
                self.increase_indent(false, indentless);
                for item in items {
                    self.write_indent();
                    self.write_indicator("-", true, false, true);
                    self.node(item, false, false);
                }
                self.pop_indent();
            }
            Value::Object(map) => {
                let mut keys: Vec<(&String, &Value)> = map.iter().collect();
                merge_sort_by_key_less(&mut keys);
                self.increase_indent(false, false);
                for (k, val) in keys {
                    self.write_indent();
                    let k = fold_nel(k);
                    let k = k.as_ref();
                    let analysis = analyze(k);
                    if !analysis.multiline && k.len() <= MAX_SIMPLE_KEY_LEN {
                        self.mapping_context = true;
                        self.simple_key_context = true;
                        self.string_analyzed(k, analysis);
                        self.write_indicator(":", false, false, false);
                    } else {
                        self.write_indicator("?", true, false, true);
                        self.mapping_context = true;
                        self.simple_key_context = false;
                        self.string_analyzed(k, analysis);
                        self.write_indent();
                        self.write_indicator(":", true, false, true);
                    }
                    self.node(val, true, false);
                }
                self.pop_indent();
            }
        }
    }

    fn empty_flow(&mut self, open: &str, close: &str) {
        self.write_indicator(open, true, true, false);
        self.increase_indent(true, false);
        self.pop_indent();
        self.write_indicator(close, false, false, false);
    }

    /// A null, bool or number: always plain and always safe to write plain.
    fn plain_token(&mut self, text: &str) {
        self.increase_indent(true, false);
        self.write_plain(text, !self.simple_key_context);
        self.pop_indent();
    }

    fn string(&mut self, s: &str) {
        let analysis = analyze(s);
        self.string_analyzed(s, analysis);
    }

    /// go-yaml v2 `encoder.stringv` + `yaml_emitter_emit_scalar`.
    fn string_analyzed(&mut self, s: &str, a: Analysis) {
        let requested = if s.contains('\n') {
            Style::Literal
        } else if scalar::plain_reads_back_as_string(s) {
            Style::Plain
        } else {
            Style::DoubleQuoted
        };
        let style = self.select_style(requested, s, a);
        self.increase_indent(true, false);
        let allow_breaks = !self.simple_key_context;
        match style {
            Style::Plain => self.write_plain(s, allow_breaks),
            Style::SingleQuoted => self.write_single_quoted(s, allow_breaks),
            Style::DoubleQuoted => self.write_double_quoted(s, allow_breaks),
            Style::Literal => self.write_literal(s),
        }
        self.pop_indent();
    }

    /// `yaml_emitter_select_scalar_style` (block context: flow level 0).
    fn select_style(&self, requested: Style, s: &str, a: Analysis) -> Style {
        let mut style = requested;
        if self.simple_key_context && a.multiline {
            style = Style::DoubleQuoted;
        }
        if style == Style::Plain {
            if !a.block_plain_allowed {
                style = Style::SingleQuoted;
            }
            if s.is_empty() && self.simple_key_context {
                style = Style::SingleQuoted;
            }
        }
        if style == Style::SingleQuoted && !a.single_quoted_allowed {
            style = Style::DoubleQuoted;
        }
        if style == Style::Literal && (!a.block_allowed || self.simple_key_context) {
            style = Style::DoubleQuoted;
        }
        style
    }

    fn write_plain(&mut self, value: &str, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        // Fast path: nothing to fold or break.
        if !value.contains([' ', '\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'])
            || (!allow_breaks && !has_break(value))
        {
            self.write_str(value);
        } else {
            let mut spaces = false;
            let mut breaks = false;
            let mut chars = value.chars().peekable();
            while let Some(c) = chars.next() {
                if c == ' ' {
                    let next_is_space = chars.peek() == Some(&' ');
                    if allow_breaks && !spaces && self.column > BEST_WIDTH && !next_is_space {
                        self.write_indent();
                    } else {
                        self.put(c);
                    }
                    spaces = true;
                } else if is_break_char(c) {
                    if !breaks && c == '\n' {
                        self.put_break();
                    }
                    self.write_break(c);
                    self.indention = true;
                    breaks = true;
                } else {
                    if breaks {
                        self.write_indent();
                    }
                    self.put(c);
                    self.indention = false;
                    spaces = false;
                    breaks = false;
                }
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    fn write_single_quoted(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let mut spaces = false;
        let mut breaks = false;
        let bytes = value.as_bytes();
        for (i, c) in value.char_indices() {
            if c == ' ' {
                let last = i + 1 >= bytes.len();
                let next_is_space = !last && bytes[i + 1] == b' ';
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && !last
                    && !next_is_space
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break_char(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double_quoted(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        // go-yaml's `is_bom(value, i)` looks at the start of the value, not at
        // `i`: a value starting with U+FEFF has every character escaped.
        let bom = value.starts_with('\u{FEFF}');
        let bytes = value.as_bytes();
        let mut spaces = false;
        for (i, c) in value.char_indices() {
            if bom || !is_printable(c) || is_break_char(c) || c == '"' || c == '\\' {
                self.put('\\');
                match c {
                    '\0' => self.put('0'),
                    '\u{7}' => self.put('a'),
                    '\u{8}' => self.put('b'),
                    '\t' => self.put('t'),
                    '\n' => self.put('n'),
                    '\u{b}' => self.put('v'),
                    '\u{c}' => self.put('f'),
                    '\r' => self.put('r'),
                    '\u{1b}' => self.put('e'),
                    '"' => self.put('"'),
                    '\\' => self.put('\\'),
                    '\u{85}' => self.put('N'),
                    '\u{a0}' => self.put('_'),
                    '\u{2028}' => self.put('L'),
                    '\u{2029}' => self.put('P'),
                    _ => {
                        let v = c as u32;
                        let (marker, width) = if v <= 0xFF {
                            ('x', 2)
                        } else if v <= 0xFFFF {
                            ('u', 4)
                        } else {
                            ('U', 8)
                        };
                        self.put(marker);
                        for k in (0..width).rev() {
                            let digit = (v >> (k * 4)) & 0xF;
                            let d = char::from_digit(digit, 16).unwrap_or('0');
                            self.put(d.to_ascii_uppercase());
                        }
                    }
                }
                spaces = false;
            } else if c == ' ' {
                let last = i + 1 >= bytes.len();
                if allow_breaks && !spaces && self.column > BEST_WIDTH && i > 0 && !last {
                    self.write_indent();
                    if bytes[i + 1] == b' ' {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_literal(&mut self, value: &str) {
        self.write_indicator("|", true, false, false);
        // Block scalar hints: explicit indentation when the text starts with
        // a space or break, and the chomping indicator.
        if value.starts_with(' ') || value.chars().next().is_some_and(is_break_char) {
            let hint = char::from_digit(BEST_INDENT as u32, 10).unwrap_or('2');
            self.write_indicator(hint.encode_utf8(&mut [0; 4]), false, false, false);
        }
        let mut rev = value.chars().rev();
        let chomp = match rev.next() {
            None => Some("-"),
            Some(last) if !is_break_char(last) => Some("-"),
            Some(_) => match rev.next() {
                None => Some("+"),
                Some(prev) if is_break_char(prev) => Some("+"),
                Some(_) => None,
            },
        };
        if let Some(ch) = chomp {
            self.write_indicator(ch, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for line in LinesWithBreaks::new(value) {
            match line {
                Piece::Break(c) => {
                    self.write_break(c);
                    self.indention = true;
                    breaks = true;
                }
                Piece::Text(t) => {
                    if breaks {
                        self.write_indent();
                    }
                    self.write_str(t);
                    self.indention = false;
                    breaks = false;
                }
            }
        }
    }
}

/// What a string becomes on kustomize's JSON round trip when it contains
/// NEL (U+0085): Go's JSON encoder leaves NEL unescaped, and go-yaml then
/// reads it inside the double-quoted JSON string as a line break, folding
/// it with the spaces around it (one break becomes a space, further breaks
/// stay as newlines, spaces before a break and after it are dropped).
/// Every other character that could fold is escaped by the JSON encoder.
fn fold_nel(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('\u{85}') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    loop {
        while let Some(&c) = chars.peek() {
            if c == ' ' || c == '\u{85}' {
                break;
            }
            out.push(c);
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut whitespace = 0usize;
        let mut leading_break = false;
        let mut trailing_breaks = 0usize;
        while let Some(&c) = chars.peek() {
            match c {
                ' ' if !leading_break => whitespace += 1,
                ' ' => {}
                '\u{85}' if !leading_break => {
                    whitespace = 0;
                    leading_break = true;
                }
                '\u{85}' => trailing_breaks += 1,
                _ => break,
            }
            chars.next();
        }
        if leading_break {
            if trailing_breaks == 0 {
                out.push(' ');
            } else {
                out.extend(std::iter::repeat_n('\n', trailing_breaks));
            }
        } else {
            out.extend(std::iter::repeat_n(' ', whitespace));
        }
    }
    std::borrow::Cow::Owned(out)
}

enum Piece<'a> {
    Text(&'a str),
    Break(char),
}

/// Splits text into runs of non-break characters and single breaks.
struct LinesWithBreaks<'a> {
    rest: &'a str,
}

impl<'a> LinesWithBreaks<'a> {
    fn new(s: &'a str) -> Self {
        LinesWithBreaks { rest: s }
    }
}

impl<'a> Iterator for LinesWithBreaks<'a> {
    type Item = Piece<'a>;
    fn next(&mut self) -> Option<Piece<'a>> {
        let mut chars = self.rest.char_indices();
        let (_, first) = chars.next()?;
        if is_break_char(first) {
            self.rest = &self.rest[first.len_utf8()..];
            return Some(Piece::Break(first));
        }
        let end = self
            .rest
            .char_indices()
            .find(|&(_, c)| is_break_char(c))
            .map_or(self.rest.len(), |(i, _)| i);
        let (text, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(Piece::Text(text))
    }
}

fn is_break_char(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn has_break(s: &str) -> bool {
    s.contains(is_break_char)
}

/// libyaml's `is_printable`, on a decoded character.
fn is_printable(c: char) -> bool {
    match c as u32 {
        0x0A => true,
        0x20..=0x7E => true,
        0xA0..=0xD7FF => true,
        0xE000..=0xFFFD => c != '\u{FEFF}',
        _ => false,
    }
}

/// Fast path of [`analyze`] for the common case: printable ASCII without
/// spaces or breaks. Then only the first character, a `---`/`...` prefix
/// and a trailing `:` (followed by the end, which counts as whitespace) can
/// rule out a plain scalar.
fn analyze_simple(value: &str) -> Option<Analysis> {
    let b = value.as_bytes();
    let (&first, &last) = (b.first()?, b.last()?);
    if !b.iter().all(|&c| (0x21..=0x7E).contains(&c)) {
        return None;
    }
    let first_is_indicator = matches!(
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
    ) || (matches!(first, b'?' | b':' | b'-') && b.len() == 1);
    let block_indicators =
        first_is_indicator || value.starts_with("---") || value.starts_with("...") || last == b':';
    Some(Analysis {
        multiline: false,
        block_plain_allowed: !block_indicators,
        single_quoted_allowed: true,
        block_allowed: true,
    })
}

/// `yaml_emitter_analyze_scalar`, reduced to the flags a block-context
/// emitter consults.
fn analyze(value: &str) -> Analysis {
    if let Some(a) = analyze_simple(value) {
        return a;
    }
    if value.is_empty() {
        return Analysis {
            multiline: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let bytes = value.as_bytes();
    let mut block_indicators = value.starts_with("---") || value.starts_with("...");
    let mut line_breaks = false;
    let mut special_characters = false;
    let mut leading_space = false;
    let mut leading_break = false;
    let mut trailing_space = false;
    let mut trailing_break = false;
    let mut break_space = false;
    let mut space_break = false;
    let mut preceded_by_whitespace = true;
    let mut previous_space = false;
    let mut previous_break = false;

    let mut iter = value.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        let next = iter.peek().map(|&(_, n)| n);
        let followed_by_whitespace = next.is_none_or(|n| n == ' ' || n == '\t');
        let last = i + c.len_utf8() == bytes.len();
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_indicators = true,
                '?' | ':' | '-' if followed_by_whitespace => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_whitespace => block_indicators = true,
                '#' if preceded_by_whitespace => block_indicators = true,
                _ => {}
            }
        }
        if !is_printable(c) {
            special_characters = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if last {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break_char(c) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if last {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        // `is_blankz`: space, tab, break or NUL.
        preceded_by_whitespace = matches!(c, ' ' | '\t' | '\0') || is_break_char(c);
    }

    let mut a = Analysis {
        multiline: line_breaks,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special_characters {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks || block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// Sort entries by go-yaml's key order with a merge sort that tolerates an
/// inconsistent comparison.
///
/// go-yaml's `keyList.Less` is not transitive for some key sets (`"10"`,
/// `"1a"`, `"2"`: 10 < 1a < 2 < 10); for those, kustomize's order depends on
/// Go's random map iteration and is not reproducible. `slice::sort_by` may
/// panic on such comparisons, so a plain stable merge sort is used: it gives
/// go-yaml's order whenever that order is well defined.
fn merge_sort_by_key_less<V: Copy>(items: &mut Vec<(&String, V)>) {
    if items.len() <= 1 {
        return;
    }
    if items.len() <= 16 {
        // Insertion sort: small mappings dominate.
        for i in 1..items.len() {
            let mut j = i;
            while j > 0 && key_less(items[j].0, items[j - 1].0) {
                items.swap(j, j - 1);
                j -= 1;
            }
        }
        return;
    }
    let mut right = items.split_off(items.len() / 2);
    merge_sort_by_key_less(items);
    merge_sort_by_key_less(&mut right);
    let left = std::mem::take(items);
    items.reserve(left.len() + right.len());
    let (mut l, mut r) = (left.into_iter().peekable(), right.into_iter().peekable());
    while let (Some(a), Some(b)) = (l.peek(), r.peek()) {
        if key_less(b.0, a.0) {
            items.extend(r.next());
        } else {
            items.extend(l.next());
        }
    }
    items.extend(l);
    items.extend(r);
}

/// go-yaml v2's `keyList.Less` for two string keys as an ordering: letters
/// sort before non-letters, and runs of digits compare by numeric value.
/// (Not a total order for every key set; see `merge_sort_by_key_less`.)
pub fn key_order(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    if key_less(a, b) {
        Ordering::Less
    } else if key_less(b, a) {
        Ordering::Greater
    } else {
        a.cmp(b)
    }
}

fn key_less(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        key_less_runes(a.as_bytes(), b.as_bytes(), |c| c as char)
    } else {
        let ar: Vec<char> = a.chars().collect();
        let br: Vec<char> = b.chars().collect();
        key_less_runes(&ar, &br, |c| c)
    }
}

fn key_less_runes<T: Copy + PartialEq + PartialOrd>(
    ar: &[T],
    br: &[T],
    ch: impl Fn(T) -> char,
) -> bool {
    let is_letter = |c: char| c.is_alphabetic();
    let is_digit = |c: char| c.is_ascii_digit() || (!c.is_ascii() && c.is_numeric());
    let digit_value = |c: char| (c as i64).wrapping_sub('0' as i64);
    let n = ar.len().min(br.len());
    for i in 0..n {
        if ar[i] == br[i] {
            continue;
        }
        let (ac, bc) = (ch(ar[i]), ch(br[i]));
        let al = is_letter(ac);
        let bl = is_letter(bc);
        if al && bl {
            return ac < bc;
        }
        if al || bl {
            return bl;
        }
        let (mut an, mut bn): (i64, i64) = (0, 0);
        if ac == '0' || bc == '0' {
            let mut j = i;
            while j > 0 && is_digit(ch(ar[j - 1])) {
                if ch(ar[j - 1]) != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
                j -= 1;
            }
        }
        let mut ai = i;
        while ai < ar.len() && is_digit(ch(ar[ai])) {
            an = an.wrapping_mul(10).wrapping_add(digit_value(ch(ar[ai])));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && is_digit(ch(br[bi])) {
            bn = bn.wrapping_mul(10).wrapping_add(digit_value(ch(br[bi])));
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ac < bc;
    }
    ar.len() < br.len()
}

/// A number as it comes out of kustomize: Go's `encoding/json` prints it,
/// go-yaml v2 reads that text back (integer if it fits in 64 bits, else
/// float) and prints ints in decimal and floats with `strconv` `'g'`.
pub fn format_number(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return itoa(i);
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    format_float(f)
}

fn itoa(i: i64) -> String {
    i.to_string()
}

/// See [`format_number`]; `f` is finite (JSON has no NaN/Inf).
pub fn format_float(f: f64) -> String {
    let json = scalar::go_json_float(f);
    // go-yaml v2 resolution of the JSON text: int64, then uint64, then float.
    if let Ok(i) = json.parse::<i64>() {
        return itoa(i);
    }
    if let Ok(u) = json.parse::<u64>() {
        return u.to_string();
    }
    scalar::go_format_g(f)
}
