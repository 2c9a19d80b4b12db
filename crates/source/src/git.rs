//! Resolving pins against a remote, fetching shallowly into a per-URL bare repository, and
//! checking commits out into the content-addressed `trees/` directory.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use gix::bstr::ByteSlice;
use gix::remote::Direction;
use sha2::{Digest, Sha256};

use crate::pin::{SemverRange, select_tag};
use crate::url::{redact, scheme_and_host, split_http_userinfo};
use crate::{Checkout, GitAuth, GitSource, Pin, SourceCache, SourceError, error_chain, tree};

/// Everything about one fetch that the steps below need.
struct Request<'a> {
    cache: &'a SourceCache,
    /// The URL gix connects to: credentials removed from http(s) URLs.
    connect_url: String,
    /// The URL as shown in errors and logs.
    display_url: String,
    pin: &'a Pin,
    basic: Option<(String, String)>,
    ssh_key: Option<(PathBuf, Option<PathBuf>)>,
    /// Strings that must never appear in an error (passwords, the raw URL).
    secrets: Vec<String>,
}

/// Where a fetch failed: before the pack negotiation (the remote is unreachable or refuses
/// us) or while receiving the pack.
enum FetchStep {
    Connect(SourceError),
    Receive(SourceError),
}

/// A pin resolved against the remote.
struct Resolved {
    /// The short ref name shown in the revision (`main`, `v1.2.0`); `None` for commit pins.
    name: Option<String>,
    commit: gix::ObjectId,
}

pub(crate) fn fetch(cache: &SourceCache, source: &GitSource) -> Result<Checkout, SourceError> {
    let raw_url = source.url.trim();
    let display_url = redact(raw_url);
    if raw_url.is_empty() {
        return Err(SourceError::BadUrl {
            url: display_url,
            reason: "the URL is empty".to_string(),
        });
    }
    let (connect_url, url_credentials) = split_http_userinfo(raw_url);
    let mut secrets = vec![raw_url.to_string()];
    let basic = match &source.auth {
        Some(GitAuth::Basic { username, password }) => Some((username.clone(), password.clone())),
        _ => url_credentials.filter(|(_, password)| !password.is_empty()),
    };
    if let Some((_, password)) = &basic {
        secrets.push(password.clone());
    }
    let ssh_key = match &source.auth {
        Some(GitAuth::SshKey {
            private_key,
            known_hosts,
        }) => Some((private_key.clone(), known_hosts.clone())),
        _ => None,
    };
    let request = Request {
        cache,
        connect_url,
        display_url,
        pin: &source.pin,
        basic,
        ssh_key,
        secrets,
    };
    request.check_url()?;
    install_tls_provider();
    request.run()
}

/// reqwest is built without a default crypto provider (see Cargo.toml); make `ring` the
/// process default unless the application installed one already.
fn install_tls_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl Request<'_> {
    fn check_url(&self) -> Result<(), SourceError> {
        gix::url::parse(self.connect_url.as_bytes().as_bstr())
            .map(|_| ())
            .map_err(|e| SourceError::BadUrl {
                url: self.display_url.clone(),
                reason: self.scrub(&error_chain(&e)),
            })
    }

    fn run(&self) -> Result<Checkout, SourceError> {
        let repo_key = hex::encode(Sha256::digest(self.display_url.as_bytes()));
        let lock = self.cache.url_lock(&repo_key);
        let _guard = match lock.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let repos_dir = self.cache.dir.join("repos");
        let repo_dir = repos_dir.join(&repo_key);
        // Other processes sharing the cache directory: one writer per bare repository.
        let _file_lock = lock_file(&repos_dir.join(format!("{repo_key}.lock")))?;

        match self.pin {
            Pin::Commit(commit) => {
                let commit = self.parse_commit(commit)?;
                if let Some(checkout) = self.cached_checkout(None, commit) {
                    return Ok(checkout);
                }
                let repo = self.open_repo(&repo_dir)?;
                if !repo.has_object(commit) {
                    self.fetch_commit(&repo, commit)?;
                }
                self.checkout(&repo, None, commit)
            }
            Pin::Branch(branch) => {
                let short = self.ref_short_name(branch, "refs/heads/")?;
                let repo = self.open_repo(&repo_dir)?;
                self.fetch_ref(&repo, &format!("refs/heads/{short}"), &short)
            }
            Pin::Tag(tag) => {
                let short = self.ref_short_name(tag, "refs/tags/")?;
                let repo = self.open_repo(&repo_dir)?;
                self.fetch_ref(&repo, &format!("refs/tags/{short}"), &short)
            }
            Pin::Semver(range_text) => {
                let range =
                    SemverRange::parse(range_text).map_err(|reason| self.bad_pin(reason))?;
                let repo = self.open_repo(&repo_dir)?;
                let tags = self.list_tags(&repo)?;
                let Some((tag, _version)) =
                    select_tag(&range, tags.iter().map(|(t, _)| t.as_str()))
                else {
                    return Err(SourceError::NoMatchingTag {
                        url: self.display_url.clone(),
                        pin: self.pin.clone(),
                        tags: tags.len(),
                    });
                };
                let tag = tag.to_string();
                let listed_commit = tags
                    .iter()
                    .find(|(t, _)| *t == tag)
                    .map(|(_, commit)| *commit);
                if let Some(commit) = listed_commit
                    && let Some(checkout) = self.cached_checkout(Some(&tag), commit)
                {
                    return Ok(checkout);
                }
                self.fetch_ref(&repo, &format!("refs/tags/{tag}"), &tag)
            }
        }
    }

    /// Lists the remote's tags: (short name, commit id the tag peels to).
    fn list_tags(
        &self,
        repo: &gix::Repository,
    ) -> Result<Vec<(String, gix::ObjectId)>, SourceError> {
        let remote = self.remote(repo, "+refs/tags/*:refs/tags/*")?;
        let connection = remote
            .connect(Direction::Fetch)
            .map_err(|e| self.unreachable(&e))?
            .with_credentials(self.credentials());
        let (ref_map, _handshake) = connection
            .ref_map(gix::progress::Discard, Default::default())
            .map_err(|e| self.unreachable(&e))?;
        self.cache.count_ref_listing();
        let mut tags = Vec::new();
        for remote_ref in &ref_map.remote_refs {
            let (name, target, peeled) = remote_ref.unpack();
            let Some(short) = name.strip_prefix(b"refs/tags/") else {
                continue;
            };
            let (Ok(short), Some(id)) = (short.to_str(), peeled.or(target)) else {
                continue;
            };
            tags.push((short.to_string(), id.to_owned()));
        }
        Ok(tags)
    }

    /// Lists `full_ref` on the remote, and fetches it (depth 1) unless its commit is already
    /// checked out or present locally.
    fn fetch_ref(
        &self,
        repo: &gix::Repository,
        full_ref: &str,
        short: &str,
    ) -> Result<Checkout, SourceError> {
        let remote = self.remote(repo, &format!("+{full_ref}:{full_ref}"))?;
        let connection = remote
            .connect(Direction::Fetch)
            .map_err(|e| self.unreachable(&e))?
            .with_credentials(self.credentials());
        let prepare = connection
            .prepare_fetch(gix::progress::Discard, Default::default())
            .map_err(|e| self.unreachable(&e))?;
        self.cache.count_ref_listing();
        let listed = prepare.ref_map().remote_refs.iter().find_map(|remote_ref| {
            let (name, target, peeled) = remote_ref.unpack();
            (name == full_ref)
                .then(|| peeled.or(target).map(ToOwned::to_owned))
                .flatten()
        });
        let Some(commit) = listed else {
            return Err(SourceError::RefNotFound {
                url: self.display_url.clone(),
                pin: self.pin.clone(),
            });
        };
        let resolved = Resolved {
            name: Some(short.to_string()),
            commit,
        };
        if let Some(checkout) = self.cached_checkout(resolved.name.as_deref(), commit) {
            return Ok(checkout);
        }
        if !repo.has_object(commit) {
            prepare
                .with_shallow(shallow_depth_one())
                .receive(gix::progress::Discard, &AtomicBool::new(false))
                .map_err(|e| self.fetch_failed(&e))?;
            self.cache.count_fetch();
        } else {
            drop(prepare);
        }
        self.checkout(repo, resolved.name.as_deref(), resolved.commit)
    }

    /// Fetches one commit by id, shallowly: protocol v2 servers accept any object id.
    /// Servers that only serve advertised tips (protocol v0/v1 without
    /// `uploadpack.allowReachableSHA1InWant`) refuse that; then every branch and tag is
    /// fetched with full history and the commit looked for there.
    fn fetch_commit(
        &self,
        repo: &gix::Repository,
        commit: gix::ObjectId,
    ) -> Result<(), SourceError> {
        let by_id = format!("+{commit}:refs/flotilla/commits/{commit}");
        let first_error = match self.fetch_specs(repo, &[by_id.as_str()], shallow_depth_one()) {
            Ok(()) if repo.has_object(commit) => return Ok(()),
            Ok(()) => None,
            Err(FetchStep::Connect(e)) => return Err(e),
            Err(FetchStep::Receive(e)) => {
                tracing::debug!(url = %self.display_url, %commit, error = %e, "fetch by id refused; fetching all branches and tags");
                Some(e)
            }
        };
        let everything = [
            "+refs/heads/*:refs/flotilla/heads/*",
            "+refs/tags/*:refs/flotilla/tags/*",
        ];
        let shallow = if repo.is_shallow().unwrap_or(true) {
            gix::remote::fetch::Shallow::undo()
        } else {
            gix::remote::fetch::Shallow::NoChange
        };
        match self.fetch_specs(repo, &everything, shallow) {
            Ok(()) => {}
            Err(FetchStep::Connect(e) | FetchStep::Receive(e)) => {
                return Err(first_error.unwrap_or(e));
            }
        }
        if !repo.has_object(commit) {
            return Err(SourceError::RefNotFound {
                url: self.display_url.clone(),
                pin: self.pin.clone(),
            });
        }
        Ok(())
    }

    fn fetch_specs(
        &self,
        repo: &gix::Repository,
        specs: &[&str],
        shallow: gix::remote::fetch::Shallow,
    ) -> Result<(), FetchStep> {
        let remote = self
            .remote_with_specs(repo, specs)
            .map_err(FetchStep::Connect)?;
        let connection = remote
            .connect(Direction::Fetch)
            .map_err(|e| FetchStep::Connect(self.unreachable(&e)))?
            .with_credentials(self.credentials());
        let prepare = connection
            .prepare_fetch(gix::progress::Discard, Default::default())
            .map_err(|e| FetchStep::Connect(self.unreachable(&e)))?;
        self.cache.count_ref_listing();
        prepare
            .with_shallow(shallow)
            .receive(gix::progress::Discard, &AtomicBool::new(false))
            .map_err(|e| FetchStep::Receive(self.fetch_failed(&e)))?;
        self.cache.count_fetch();
        Ok(())
    }

    fn remote<'r>(
        &self,
        repo: &'r gix::Repository,
        spec: &str,
    ) -> Result<gix::Remote<'r>, SourceError> {
        self.remote_with_specs(repo, &[spec])
    }

    fn remote_with_specs<'r>(
        &self,
        repo: &'r gix::Repository,
        specs: &[&str],
    ) -> Result<gix::Remote<'r>, SourceError> {
        repo.remote_at(self.connect_url.as_str())
            .and_then(|remote| remote.with_refspecs(specs.iter().copied(), Direction::Fetch))
            .map(|remote| remote.with_fetch_tags(gix::remote::fetch::Tags::None))
            .map_err(|e| SourceError::BadUrl {
                url: self.display_url.clone(),
                reason: self.scrub(&error_chain(&e)),
            })
    }

    /// Answers the transport's request for credentials: the configured ones, and only for
    /// the scheme and host of the source URL. Never prompts and never asks a helper.
    fn credentials(
        &self,
    ) -> impl FnMut(
        gix::credentials::helper::Action,
    ) -> gix::Result<Option<gix::credentials::protocol::Outcome>>
    + 'static {
        let basic = self.basic.clone();
        let expected = scheme_and_host(&self.connect_url);
        let is_ssh = gix::url::parse(self.connect_url.as_bytes().as_bstr())
            .is_ok_and(|url| url.scheme == gix::url::Scheme::Ssh);
        move |action| {
            let gix::credentials::helper::Action::Get(context) = action else {
                // Store/erase notifications: there is no credential store to update.
                return Ok(None);
            };
            let requested = context
                .url
                .as_ref()
                .and_then(|url| url.to_str().ok())
                .and_then(scheme_and_host);
            if is_ssh {
                return Err(gix::Error::from_error(gix::error::message(
                    "the ssh server denied access (permission denied); check the key and the user name",
                )));
            }
            let Some((username, password)) = basic.clone() else {
                return Err(gix::Error::from_error(gix::error::message(
                    "the server asks for credentials and none are configured",
                )));
            };
            if requested.is_none() || requested != expected {
                return Err(gix::Error::from_error(gix::error::message(
                    "the server asks for credentials for a different scheme or host than the source URL; none were sent",
                )));
            }
            Ok(Some(gix::credentials::protocol::Outcome {
                identity: gix::sec::identity::Account {
                    username,
                    password,
                    oauth_refresh_token: None,
                },
                next: context.into(),
            }))
        }
    }

    /// Opens (creating if needed) the bare repository for this URL, configured in isolation
    /// from user and system git configuration so that results do not depend on the machine.
    fn open_repo(&self, dir: &Path) -> Result<gix::Repository, SourceError> {
        let cache_error = |cause: String| SourceError::Cache {
            path: dir.to_path_buf(),
            cause,
        };
        // The bare repository is only a cache: when it is missing, half-created or cannot
        // be opened, start it afresh.
        let recreate = || -> Result<(), SourceError> {
            if dir.exists() {
                std::fs::remove_dir_all(dir).map_err(|e| cache_error(e.to_string()))?;
            }
            std::fs::create_dir_all(dir).map_err(|e| cache_error(e.to_string()))?;
            gix::init_bare(dir).map_err(|e| cache_error(error_chain(&e)))?;
            Ok(())
        };
        if !dir.join("HEAD").is_file() {
            recreate()?;
        }
        let mut overrides: Vec<String> = vec!["gc.auto=0".to_string()];
        if let Some((key, known_hosts)) = &self.ssh_key {
            let mut command = format!(
                "ssh -i {} -o IdentitiesOnly=yes -o BatchMode=yes",
                shell_quote(&key.to_string_lossy())
            );
            if let Some(known_hosts) = known_hosts {
                command.push_str(&format!(
                    " -o StrictHostKeyChecking=yes -o UserKnownHostsFile={}",
                    shell_quote(&known_hosts.to_string_lossy())
                ));
            }
            overrides.push(format!("core.sshCommand={command}"));
            // The command is OpenSSH; say so rather than let gix probe it with `ssh -G`.
            overrides.push("ssh.variant=ssh".to_string());
        }
        let open = || {
            gix::open_opts(
                dir,
                gix::open::Options::isolated()
                    .config_overrides(overrides.iter().map(String::as_str)),
            )
        };
        match open() {
            Ok(repo) => Ok(repo),
            Err(e) => {
                tracing::warn!(path = %dir.display(), error = %error_chain(&e), "recreating the cached repository");
                recreate()?;
                open().map_err(|e| cache_error(error_chain(&e)))
            }
        }
    }

    fn cached_checkout(&self, name: Option<&str>, commit: gix::ObjectId) -> Option<Checkout> {
        let path = self.tree_dir(commit);
        path.is_dir().then(|| checkout_at(path, name, commit))
    }

    fn tree_dir(&self, commit: gix::ObjectId) -> PathBuf {
        self.cache.dir.join("trees").join(commit.to_string())
    }

    /// Writes the commit's tree into `tmp/`, then renames it to `trees/<commit>`. If another
    /// process renamed the same commit into place first, its (identical) tree is used.
    fn checkout(
        &self,
        repo: &gix::Repository,
        name: Option<&str>,
        commit: gix::ObjectId,
    ) -> Result<Checkout, SourceError> {
        let target = self.tree_dir(commit);
        if target.is_dir() {
            return Ok(checkout_at(target, name, commit));
        }
        let checkout_error = |cause: String| SourceError::Checkout {
            url: self.display_url.clone(),
            commit: commit.to_string(),
            cause,
        };
        let tree_id = repo
            .find_object(commit)
            .map_err(|e| checkout_error(error_chain(&e)))?
            .peel_to_tree()
            .map_err(|e| checkout_error(error_chain(&e)))?
            .id;
        let tmp_root = self.cache.dir.join("tmp");
        let trees_root = self.cache.dir.join("trees");
        for dir in [&tmp_root, &trees_root] {
            std::fs::create_dir_all(dir).map_err(|e| SourceError::Cache {
                path: dir.clone(),
                cause: e.to_string(),
            })?;
        }
        remove_stale_staging(&tmp_root);
        let staging = tempfile::Builder::new()
            .prefix(&format!("{commit}-"))
            .tempdir_in(&tmp_root)
            .map_err(|e| SourceError::Cache {
                path: tmp_root.clone(),
                cause: e.to_string(),
            })?;
        let files = tree::write_tree(repo, tree_id, staging.path()).map_err(checkout_error)?;
        let staged = staging.keep();
        match std::fs::rename(&staged, &target) {
            Ok(()) => {
                self.cache.count_checkout();
                tracing::debug!(url = %self.display_url, %commit, files, "checked out");
            }
            Err(_) if target.is_dir() => {
                // Someone else won the race; their tree has the same content.
                let _ = std::fs::remove_dir_all(&staged);
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staged);
                return Err(SourceError::Cache {
                    path: target,
                    cause: e.to_string(),
                });
            }
        }
        Ok(checkout_at(target, name, commit))
    }

    fn parse_commit(&self, commit: &str) -> Result<gix::ObjectId, SourceError> {
        let commit = commit.trim();
        if commit.len() != 40 || !commit.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(self.bad_pin("a commit pin must be a full 40-digit hex SHA-1".to_string()));
        }
        gix::ObjectId::from_hex(commit.to_ascii_lowercase().as_bytes())
            .map_err(|e| self.bad_pin(e.to_string()))
    }

    /// The short ref name (accepting a full `refs/heads/x` / `refs/tags/x`), validated.
    fn ref_short_name(&self, name: &str, prefix: &str) -> Result<String, SourceError> {
        let name = name.trim();
        let short = name.strip_prefix(prefix).unwrap_or(name);
        if short.is_empty() {
            return Err(self.bad_pin("the name is empty".to_string()));
        }
        let full = format!("{prefix}{short}");
        gix::validate::reference::name(full.as_bytes().as_bstr())
            .map_err(|e| self.bad_pin(format!("not a valid ref name: {e}")))?;
        if short.contains('*') {
            return Err(self.bad_pin("a ref name must not contain '*'".to_string()));
        }
        Ok(short.to_string())
    }

    fn bad_pin(&self, reason: String) -> SourceError {
        SourceError::BadPin {
            url: self.display_url.clone(),
            pin: self.pin.clone(),
            reason,
        }
    }

    fn unreachable(&self, e: &gix::Error) -> SourceError {
        SourceError::Unreachable {
            url: self.display_url.clone(),
            cause: self.scrub(&error_chain(e)),
        }
    }

    fn fetch_failed(&self, e: &gix::Error) -> SourceError {
        SourceError::Fetch {
            url: self.display_url.clone(),
            pin: self.pin.clone(),
            cause: self.scrub(&error_chain(e)),
        }
    }

    /// Removes anything secret from a message produced by gix (which may quote the URL).
    fn scrub(&self, message: &str) -> String {
        let mut text = message.replace(&self.connect_url, &self.display_url);
        for secret in &self.secrets {
            if secret.is_empty() {
                continue;
            }
            let replacement = if *secret == self.secrets[0] {
                self.display_url.as_str()
            } else {
                "<redacted>"
            };
            text = text.replace(secret.as_str(), replacement);
        }
        text
    }
}

fn checkout_at(path: PathBuf, name: Option<&str>, commit: gix::ObjectId) -> Checkout {
    let revision = match name {
        Some(name) => format!("{name}@sha1:{commit}"),
        None => format!("sha1:{commit}"),
    };
    Checkout {
        path,
        revision,
        commit: Some(commit.to_string()),
    }
}

/// Staging directories older than this were left by a process that died mid-checkout.
const STALE_STAGING: std::time::Duration = std::time::Duration::from_secs(6 * 60 * 60);

/// Removes what crashed checkouts left in `tmp/` (best effort: failures only cost disk).
fn remove_stale_staging(tmp_root: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp_root) else {
        return;
    };
    let now = std::time::SystemTime::now();
    for entry in entries.flatten() {
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|modified| now.duration_since(modified).ok())
            .is_some_and(|age| age > STALE_STAGING);
        if stale {
            let path = entry.path();
            tracing::debug!(path = %path.display(), "removing a stale checkout staging directory");
            make_writable(&path);
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// Staged files are read-only; on platforms where that blocks removal, undo it first.
#[cfg(not(unix))]
fn make_writable(path: &Path) {
    for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            make_writable(&p);
        } else if let Ok(meta) = std::fs::metadata(&p) {
            let mut permissions = meta.permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            permissions.set_readonly(false);
            let _ = std::fs::set_permissions(&p, permissions);
        }
    }
}

#[cfg(unix)]
fn make_writable(_path: &Path) {
    // Removing a read-only file only needs a writable directory on unix.
}

/// Creates and exclusively locks `path`; the lock is released when the file is dropped.
fn lock_file(path: &Path) -> Result<std::fs::File, SourceError> {
    let cache_error = |e: std::io::Error| SourceError::Cache {
        path: path.to_path_buf(),
        cause: e.to_string(),
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(cache_error)?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(cache_error)?;
    file.lock().map_err(cache_error)?;
    Ok(file)
}

fn shallow_depth_one() -> gix::remote::fetch::Shallow {
    gix::remote::fetch::Shallow::DepthAtRemote(NonZeroU32::MIN)
}

/// Single-quotes `text` for a POSIX shell (`core.sshCommand` runs through one).
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}
