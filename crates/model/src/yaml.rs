//! The YAML boundary.
//!
//! `parse_stream` reads a multi-document YAML stream into JSON-like values.
//! `emit_stream` writes values the way `kustomize build` prints them
//! (sigs.k8s.io/yaml over go-yaml v2: sorted keys, 2-space indent,
//! non-indented sequences, minimal quoting, `---` between documents).

use serde_json::Value;

/// A YAML document could not be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid YAML: {message}")]
pub struct YamlError {
    pub message: String,
}

/// Parse a YAML stream into one value per non-empty document.
pub fn parse_stream(text: &str) -> Result<Vec<Value>, YamlError> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(text).map_err(|e| YamlError {
        message: e.to_string(),
    })?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// Write one document in kustomize's output format (ends with a newline).
pub fn emit(doc: &Value) -> String {
    // Interim: the exact go-yaml v2 emitter replaces this.
    let mut s = serde_saphyr::to_string(doc).unwrap_or_default();
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// Write documents separated by `---` lines, as `kustomize build` does:
/// no leading or trailing separator, empty output for no documents.
pub fn emit_stream(docs: &[Value]) -> String {
    let mut out = String::new();
    for (i, d) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&emit(d));
    }
    out
}
