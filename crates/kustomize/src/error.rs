//! The one error type: a message that names the kustomization and entry.

use std::fmt;

/// A build failed. The message says which kustomization file, which entry
/// and why; no secret values are ever put into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KustomizeError {
    message: String,
    /// The innermost kustomization file the error arose in.
    file: Option<String>,
}

impl KustomizeError {
    pub fn new(message: impl Into<String>) -> KustomizeError {
        KustomizeError {
            message: message.into(),
            file: None,
        }
    }

    /// Prefix the message with context, kustomize-style (`context: cause`).
    pub fn context(self, ctx: impl fmt::Display) -> KustomizeError {
        KustomizeError {
            message: format!("{ctx}: {}", self.message),
            file: self.file,
        }
    }

    /// Record the kustomization file, unless an inner one is already named.
    pub fn in_file(mut self, file: &str) -> KustomizeError {
        if self.file.is_none() && !self.message.contains(file) {
            self.file = Some(file.to_string());
        }
        self
    }

    /// The kustomization file the error arose in, when known.
    pub fn file(&self) -> Option<&str> {
        self.file.as_deref()
    }

    /// The message without the file.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether this is a "not supported yet" refusal (remote, helm, plugins).
    pub fn is_unsupported(&self) -> bool {
        self.message.contains("not supported yet")
    }
}

impl fmt::Display for KustomizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) => write!(f, "{file}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for KustomizeError {}

pub(crate) trait Context<T> {
    fn ctx(self, c: impl fmt::Display) -> Result<T, KustomizeError>;
}

impl<T> Context<T> for Result<T, KustomizeError> {
    fn ctx(self, c: impl fmt::Display) -> Result<T, KustomizeError> {
        self.map_err(|e| e.context(c))
    }
}
