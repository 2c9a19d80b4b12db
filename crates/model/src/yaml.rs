//! The YAML boundary.
//!
//! [`parse_stream`] reads a multi-document YAML stream into JSON-like values
//! with the meaning kustomize (kyaml, go-yaml v3) gives manifests: see
//! [Reading](self#reading) below. [`parse_stream_with`] with
//! [`Dialect::SigsYaml`] reads as kustomize reads kustomization files
//! (sigs.k8s.io/yaml over go-yaml v2). [`emit()`] / [`emit_stream`] write
//! values byte-for-byte as `kustomize build` (v5.5.0) prints them.
//! [`YamlError::go_message`] words errors as go-yaml does.
//!
//! # Reading
//! Only `true`/`false` (any of three casings) are booleans; `yes`, `on`, `y`
//! stay strings. Ints follow Go's base-0 `ParseInt` (`0644` = 420, `0x1F` =
//! 31, `1_000` = 1000) and stay ints; floats stay floats. Unquoted
//! timestamps become RFC 3339 strings (`2020-01-01` →
//! `2020-01-01T00:00:00Z`), as kustomize's JSON round trip makes them.
//! Anchors/aliases are expanded, `<<` merges fill in missing keys, explicit
//! tags are honoured. Duplicate keys, `.nan`/`.inf` (not representable in
//! JSON) and non-scalar keys are errors carrying line and column.
//!
//! # Writing
//! sigs.k8s.io/yaml over go-yaml v2: keys in go-yaml's natural sort order,
//! 2-space indentation, sequences not indented under their key, `{}`/`[]`
//! for empty collections, strings quoted (double quotes) when a YAML 1.1
//! reader would not read them back as that string, single quotes when only
//! the layout forbids a plain scalar, literal blocks for multi-line text,
//! folding at 80 columns, and numbers as Go prints them after a JSON round
//! trip (`1e+06`-style floats past six digits, floats that are whole
//! numbers printed as ints).

mod emit;
mod parse;
mod scalar;

use serde_json::Value;
use std::fmt;

pub use emit::{format_number, key_order};
pub use parse::Dialect;
pub use scalar::is_yaml_float;

/// A YAML document could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// What is wrong, without the position.
    pub message: String,
    /// 1-based line of the problem, when known.
    pub line: Option<usize>,
    /// 1-based column of the problem, when known.
    pub column: Option<usize>,
    /// The text go-yaml v3 gives for the same problem, when it differs from
    /// the default `yaml: line {line}: {message}` (see [`Self::go_message`]).
    pub(crate) go_text: Option<String>,
}

impl YamlError {
    pub(crate) fn at(message: String, line: usize, column: usize) -> YamlError {
        YamlError {
            message,
            line: Some(line),
            column: Some(column),
            go_text: None,
        }
    }

    pub(crate) fn with_go_text(mut self, text: String) -> YamlError {
        self.go_text = Some(text);
        self
    }

    /// The error as go-yaml v3 (and so kustomize) words it, e.g.
    /// `yaml: line 8: did not find expected key` (go-yaml reports the line
    /// before the enclosing mapping's first key there) or
    /// `yaml: unmarshal errors:\n  line 20: mapping key "env" already defined
    /// at line 17`. Line numbers are those of the text given to
    /// [`parse_stream`]. Best effort for syntax errors: the wording of
    /// uncommon scanner errors may differ from go-yaml's.
    pub fn go_message(&self) -> String {
        if let Some(t) = &self.go_text {
            return t.clone();
        }
        match self.line {
            Some(l) => format!("yaml: line {l}: {}", self.message),
            None => format!("yaml: {}", self.message),
        }
    }
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "invalid YAML: line {l}, column {c}: {}", self.message),
            (Some(l), None) => write!(f, "invalid YAML: line {l}: {}", self.message),
            _ => write!(f, "invalid YAML: {}", self.message),
        }
    }
}

impl std::error::Error for YamlError {}

/// Parse a YAML stream into one value per document, skipping empty and
/// `null` documents.
pub fn parse_stream(text: &str) -> Result<Vec<Value>, YamlError> {
    parse::parse(text, Dialect::Kyaml)
}

/// Parse a stream with the given reader's semantics: [`Dialect::Kyaml`]
/// for resources (what [`parse_stream`] does), [`Dialect::SigsYaml`] for
/// kustomization files. (sigs.k8s.io/yaml itself reads only the first
/// document; all are returned here.)
pub fn parse_stream_with(text: &str, dialect: Dialect) -> Result<Vec<Value>, YamlError> {
    parse::parse(text, dialect)
}

/// Write one document in kustomize's output format (ends with a newline).
pub fn emit(doc: &Value) -> String {
    let mut out = String::with_capacity(256);
    emit::emit_document(doc, &mut out);
    out
}

/// Write documents separated by `---` lines, as `kustomize build` does:
/// no leading or trailing separator, empty output for no documents.
pub fn emit_stream(docs: &[Value]) -> String {
    let mut out = String::with_capacity(docs.len() * 512);
    for (i, d) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        emit::emit_document(d, &mut out);
    }
    out
}
