//! `flotilla-source`: turns "a Git repository at a pin" or "a local directory" into a
//! read-only directory tree at a known revision.
//!
//! Git access uses `gix` (pure Rust): https via reqwest + rustls (the `ring` provider; trust
//! roots from the platform, so `SSL_CERT_FILE`/`SSL_CERT_DIR` work), ssh via the system `ssh`
//! binary, and `file://` (or plain paths) via `git-upload-pack`. A fetch first lists the
//! remote's refs (the protocol handshake / ls-refs), resolves the [`Pin`] to a commit id,
//! and only then fetches, shallowly (depth 1) and only the one ref it needs. When the commit's
//! tree is already checked out, nothing is fetched at all; a [`Pin::Commit`] whose tree is
//! checked out does not even contact the remote. A commit pin is fetched by id (protocol v2
//! servers serve any reachable commit); a server that refuses unadvertised ids (protocol v0
//! over ssh or git://) gets a full fetch of its branches and tags instead.
//!
//! # Cache layout (under [`SourceCache::new`]'s directory)
//!
//! ```text
//! repos/<sha256 of the credential-free URL>/       one bare repository per URL, fetched into incrementally
//! repos/<sha256 of the credential-free URL>.lock   serializes writers across processes
//! trees/<commit id>/                               the commit's tree, checked out once
//! tmp/                                             staging area; a checkout is written here, then renamed
//! ```
//!
//! # Invariants
//!
//! - A directory under `trees/` is complete and immutable once it is there: it is written
//!   under `tmp/` and renamed into place atomically, and never modified afterwards (files are
//!   made read-only). A second fetch resolving to the same commit reuses it.
//! - A [`Checkout::revision`] identifies content exactly: Git revisions name the commit id
//!   (Flux format `main@sha1:<40 hex>`, `v1.2.3@sha1:<40 hex>`, `sha1:<40 hex>`), local
//!   directories the SHA-256 of their paths, modes and contents (`dir:sha256:<64 hex>`).
//! - Credentials never appear in errors, logs or cache paths: URLs are shown and keyed with
//!   their user info, query and fragment removed. An https credential is only ever sent to
//!   the scheme and host of the source URL (never after a redirect to another host), never
//!   over plain http, and nothing ever prompts or asks a git credential helper.
//! - Blob contents are written verbatim (no `.gitattributes` filters or line-ending
//!   conversion), so a tree is the same on every machine. Entries named `.git` or `..`, or
//!   containing a path separator, are refused. Symlinks are kept as symlinks; whoever reads
//!   the tree must confine itself to the tree (as kustomize's load restrictor does).
//! - Repositories are opened isolated from user and system git configuration, so results
//!   do not depend on the machine. A cached bare repository that cannot be opened is
//!   recreated; it is only a cache.

mod git;
mod pin;
mod tree;
mod url;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub use pin::{Pin, SemverRange, select_tag, tag_version};
pub use url::redact as redact_url;

/// A Git repository and what to check out of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GitSource {
    /// `https://…`, `ssh://…`, `user@host:path`, `file://…` or a local path. Credentials in an
    /// http(s) URL (`https://user:token@host/…`) are used for that host only and never shown.
    pub url: String,
    pub pin: Pin,
    /// Credentials; `None` for public repositories (and for ssh, the ssh agent / default keys).
    pub auth: Option<GitAuth>,
}

impl GitSource {
    pub fn new(url: impl Into<String>, pin: Pin) -> GitSource {
        GitSource {
            url: url.into(),
            pin,
            auth: None,
        }
    }

    pub fn with_auth(mut self, auth: GitAuth) -> GitSource {
        self.auth = Some(auth);
        self
    }
}

/// How to authenticate to a Git remote. `Debug` never prints a secret.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum GitAuth {
    /// HTTP basic authentication (for tokens: any user name, e.g. `x-access-token`, and the
    /// token as password). Sent only to the scheme and host of the source URL.
    Basic { username: String, password: String },
    /// An ssh private key file, and optionally a `known_hosts` file to check the host key
    /// against strictly (otherwise ssh's own configuration decides).
    SshKey {
        private_key: PathBuf,
        known_hosts: Option<PathBuf>,
    },
}

impl fmt::Debug for GitAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GitAuth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            GitAuth::SshKey {
                private_key,
                known_hosts,
            } => f
                .debug_struct("SshKey")
                .field("private_key", private_key)
                .field("known_hosts", known_hosts)
                .finish(),
        }
    }
}

/// A directory tree at a known revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    /// Root of the tree. For Git sources it lies under the cache's `trees/` and is immutable.
    pub path: PathBuf,
    /// Flux-format revision: `main@sha1:<40 hex>`, `v1.2.3@sha1:<40 hex>`, `sha1:<40 hex>`
    /// for commit pins, `dir:sha256:<64 hex>` for local directories.
    pub revision: String,
    /// The commit id (40 hex digits), for Git sources.
    pub commit: Option<String>,
}

/// Why a source could not be fetched. URLs in here never carry credentials.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("git source {url}: invalid URL: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("git source {url}: invalid {pin}: {reason}")]
    BadPin {
        url: String,
        pin: Pin,
        reason: String,
    },
    #[error("git source {url}: cannot reach the repository: {cause}")]
    Unreachable { url: String, cause: String },
    #[error("git source {url}: {pin} not found in the repository")]
    RefNotFound { url: String, pin: Pin },
    #[error("git source {url}: no tag matches {pin} ({tags} tags looked at)")]
    NoMatchingTag { url: String, pin: Pin, tags: usize },
    #[error("git source {url}: fetching {pin} failed: {cause}")]
    Fetch {
        url: String,
        pin: Pin,
        cause: String,
    },
    #[error("git source {url}: checking out commit {commit} failed: {cause}")]
    Checkout {
        url: String,
        commit: String,
        cause: String,
    },
    #[error("local source {}: {cause}", dir.display())]
    Local { dir: PathBuf, cause: String },
    #[error("source cache {}: {cause}", path.display())]
    Cache { path: PathBuf, cause: String },
}

/// Counters of the work a cache did, for tests and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Remote ref listings (handshakes) performed.
    pub ref_listings: u64,
    /// Fetches that downloaded objects.
    pub fetches: u64,
    /// Trees written under `trees/`.
    pub checkouts: u64,
}

/// Content-addressed checkouts of Git sources under one cache directory. Safe to share
/// between threads; fetches of the same URL are serialized, others run in parallel.
pub struct SourceCache {
    dir: PathBuf,
    url_locks: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    ref_listings: AtomicU64,
    fetches: AtomicU64,
    checkouts: AtomicU64,
}

impl fmt::Debug for SourceCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceCache")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl SourceCache {
    pub fn new(dir: impl Into<PathBuf>) -> SourceCache {
        SourceCache {
            dir: dir.into(),
            url_locks: Mutex::new(HashMap::new()),
            ref_listings: AtomicU64::new(0),
            fetches: AtomicU64::new(0),
            checkouts: AtomicU64::new(0),
        }
    }

    /// `$FLOTILLA_CACHE_DIR`, else `$XDG_CACHE_HOME/flotilla`, else `~/.cache/flotilla`
    /// (`./.flotilla-cache` when not even a home directory is known).
    pub fn default_dir() -> PathBuf {
        let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        if let Some(dir) = non_empty("FLOTILLA_CACHE_DIR") {
            return PathBuf::from(dir);
        }
        if let Some(dir) = non_empty("XDG_CACHE_HOME") {
            return PathBuf::from(dir).join("flotilla");
        }
        if let Some(home) = non_empty("HOME") {
            return PathBuf::from(home).join(".cache").join("flotilla");
        }
        PathBuf::from(".flotilla-cache")
    }

    /// The cache's root directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            ref_listings: self.ref_listings.load(Ordering::Relaxed),
            fetches: self.fetches.load(Ordering::Relaxed),
            checkouts: self.checkouts.load(Ordering::Relaxed),
        }
    }

    /// Resolves the pin, fetches what is missing (shallow where the pin allows) and checks
    /// the commit's tree out under `trees/<commit>/` once. Blocking: call it from a blocking
    /// thread in async code.
    pub fn fetch(&self, source: &GitSource) -> Result<Checkout, SourceError> {
        git::fetch(self, source)
    }

    /// A plain directory as a source: the checkout is the directory itself, with the
    /// revision `dir:sha256:<digest of its paths, modes and contents>` (`.git` excluded).
    /// Unlike Git checkouts the directory is not copied, so it is only as stable as its owner
    /// keeps it.
    pub fn local(&self, dir: &Path) -> Result<Checkout, SourceError> {
        let local_error = |cause: String| SourceError::Local {
            dir: dir.to_path_buf(),
            cause,
        };
        let meta = std::fs::metadata(dir).map_err(|e| local_error(e.to_string()))?;
        if !meta.is_dir() {
            return Err(local_error("not a directory".to_string()));
        }
        let digest = tree::hash_dir(dir).map_err(local_error)?;
        Ok(Checkout {
            path: dir.to_path_buf(),
            revision: format!("dir:sha256:{digest}"),
            commit: None,
        })
    }

    fn url_lock(&self, key: &str) -> Arc<Mutex<()>> {
        let mut locks = match self.url_locks.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        locks.entry(key.to_string()).or_default().clone()
    }

    fn count_ref_listing(&self) {
        self.ref_listings.fetch_add(1, Ordering::Relaxed);
    }

    fn count_fetch(&self) {
        self.fetches.fetch_add(1, Ordering::Relaxed);
    }

    fn count_checkout(&self) {
        self.checkouts.fetch_add(1, Ordering::Relaxed);
    }
}

/// An error and its sources, joined with `: `, skipping repeats.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}
