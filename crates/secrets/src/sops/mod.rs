//! SOPS, byte-compatible with sops 3.x: values encrypted with AES-256-GCM
//! under a random data key, the key wrapped per age recipient, a MAC over
//! all values. See `shared/notes/secrets-formats.md` §A for the format.
//!
//! Invariants: nothing is returned decrypted unless the MAC verified;
//! errors name paths and files, never values.

pub mod cipher;
pub mod config;
pub mod keys;
pub mod metadata;
pub mod shamir;
pub mod stores;

use crate::sensitive::SecretBytes;
use crate::tree::{Item, Node, Scalar};
use cipher::{CipherError, Plain, ValueCipher};
pub use keys::{KeyError, Keyring, Recipient};
pub use metadata::{AgeEntry, KeyGroup, Metadata, Rule};
use rand::RngCore;
use sha2::{Digest, Sha256, Sha512};
pub use stores::Format;
use subtle::ConstantTimeEq;

/// The sops version whose file layout flotilla writes.
pub const SOPS_FORMAT_VERSION: &str = "3.13.3";

#[derive(Debug, thiserror::Error)]
pub enum SopsError {
    #[error("{0}")]
    Parse(String),
    #[error("sops metadata: {0}")]
    Metadata(String),
    #[error("file is not encrypted with sops (no 'sops' metadata)")]
    NotEncrypted,
    #[error("file is already encrypted with sops")]
    AlreadyEncrypted,
    #[error(
        "no key could decrypt the data key (tried {tried} identities from {sources}); the file is encrypted for: {recipients}"
    )]
    NoMatchingKey {
        tried: usize,
        sources: String,
        recipients: String,
    },
    #[error("value at '{path}': {err}")]
    Value { path: String, err: CipherError },
    #[error(
        "MAC mismatch: the file was modified outside sops or is corrupt; nothing was decrypted"
    )]
    MacMismatch,
    #[error("MAC mismatch: file has no MAC; nothing was decrypted")]
    NoMac,
    #[error("MAC could not be decrypted (tampered MAC or lastmodified); nothing was decrypted")]
    MacUnreadable,
    #[error("{0}")]
    Key(#[from] KeyError),
    #[error("{0}")]
    Unsupported(String),
}

/// Encryption settings for a new file (from `.sops.yaml` or flags).
#[derive(Clone, Debug, Default)]
pub struct CreationSettings {
    /// age recipients per key group (one group unless Shamir is wanted).
    pub key_groups: Vec<Vec<Recipient>>,
    pub shamir_threshold: Option<usize>,
    pub rule: Option<Rule>,
    pub mac_only_encrypted: bool,
}

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

/// An encrypted file: its documents (values still `ENC[...]`) and metadata.
#[derive(Clone, Debug)]
pub struct SopsFile {
    pub format: Format,
    pub docs: Vec<Node>,
    pub metadata: Metadata,
}

/// A decrypted file, holding the data key so it can be re-encrypted with
/// minimal changes (`edit`, `set`).
pub struct Decrypted {
    pub format: Format,
    pub docs: Vec<Node>,
    pub metadata: Metadata,
    cipher: ValueCipher,
}

/// Plaintext trees are wiped when dropped.
impl Drop for Decrypted {
    fn drop(&mut self) {
        for d in &mut self.docs {
            wipe(d);
        }
    }
}

fn wipe(node: &mut Node) {
    use zeroize::Zeroize;
    match node {
        Node::Mapping(items) => {
            for i in items {
                match i {
                    Item::Pair(k, v) => {
                        k.zeroize();
                        wipe(v);
                    }
                    Item::Comment(c) => c.text.zeroize(),
                }
            }
        }
        Node::Sequence(items) => items.iter_mut().for_each(wipe),
        Node::Comment(c) => c.text.zeroize(),
        Node::Scalar(Scalar::Str(s)) | Node::Scalar(Scalar::Time(s)) => s.zeroize(),
        Node::Scalar(Scalar::Int(i)) => *i = 0,
        Node::Scalar(_) => {}
    }
}

impl std::fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Decrypted({:?}, <redacted>)", self.format)
    }
}

impl SopsFile {
    /// Parse an encrypted file.
    pub fn parse(input: &[u8], format: Format) -> Result<SopsFile, SopsError> {
        let mut docs = stores::load(format, input, true)?;
        let mut metadata_node = None;
        for (i, doc) in docs.iter_mut().enumerate() {
            if let Node::Mapping(items) = doc {
                let mut found = Vec::new();
                items.retain(|item| match item {
                    Item::Pair(k, v) if k == "sops" => {
                        found.push(v.clone());
                        false
                    }
                    _ => true,
                });
                if i == 0 {
                    if found.len() > 1 {
                        return Err(SopsError::Metadata("more than one 'sops' key".into()));
                    }
                    metadata_node = found.pop();
                }
            }
        }
        let node = metadata_node.ok_or(SopsError::NotEncrypted)?;
        let metadata = Metadata::from_node(&node)?;
        Ok(SopsFile {
            format,
            docs,
            metadata,
        })
    }

    /// Serialise, with the metadata as the last key of every document.
    pub fn to_bytes(&self) -> Result<Vec<u8>, SopsError> {
        let meta = self.metadata.to_node();
        let docs: Vec<Node> = self
            .docs
            .iter()
            .map(|d| {
                let mut d = d.clone();
                if let Node::Mapping(items) = &mut d {
                    items.push(Item::Pair("sops".into(), meta.clone()));
                }
                d
            })
            .collect();
        stores::emit(self.format, &docs, true)
    }

    /// All recipients named in the metadata (for messages).
    pub fn recipients(&self) -> Vec<String> {
        let mut out = Vec::new();
        for g in &self.metadata.key_groups {
            out.extend(g.age.iter().map(|a| a.recipient.clone()));
            for (kind, list) in &g.others {
                for v in list {
                    let id = [
                        "fp",
                        "arn",
                        "resource_id",
                        "vault_url",
                        "vault_address",
                        "key_id",
                    ]
                    .iter()
                    .find_map(|k| v.get(k).and_then(|x| x.as_str()))
                    .unwrap_or("?");
                    out.push(format!("{kind}:{id}"));
                }
            }
        }
        out
    }

    /// Unwrap the data key with the given identities.
    pub fn data_key(&self, keys: &Keyring) -> Result<SecretBytes, SopsError> {
        let groups = &self.metadata.key_groups;
        let no_key = || SopsError::NoMatchingKey {
            tried: keys.len(),
            sources: if keys.sources.is_empty() {
                "nowhere (set SOPS_AGE_KEY_FILE or SOPS_AGE_KEY)".into()
            } else {
                keys.sources.join(", ")
            },
            recipients: self.recipients().join(", "),
        };
        let unwrap_group = |g: &KeyGroup| g.age.iter().find_map(|a| keys.unwrap(&a.enc));
        if groups.len() == 1 {
            let key = unwrap_group(&groups[0]).ok_or_else(no_key)?;
            if key.len() != 32 {
                return Err(SopsError::Metadata("data key is not 32 bytes".into()));
            }
            return Ok(key);
        }
        let threshold = self.metadata.shamir_threshold.unwrap_or(groups.len());
        let shares: Vec<SecretBytes> = groups
            .iter()
            .filter_map(unwrap_group)
            .take(threshold)
            .collect();
        if shares.len() < threshold {
            return Err(no_key());
        }
        let key = shamir::combine(&shares).map_err(SopsError::Metadata)?;
        if key.len() != 32 {
            return Err(SopsError::Metadata(
                "combined data key is not 32 bytes".into(),
            ));
        }
        Ok(key)
    }

    /// Decrypt with a known data key, verifying the MAC first.
    pub fn decrypt_with_key(
        &self,
        key: SecretBytes,
        verify_mac: bool,
    ) -> Result<Decrypted, SopsError> {
        let mut cipher = ValueCipher::new(key);
        let mut docs = self.docs.clone();
        let mac = {
            let mut walker = Walker {
                cipher: &mut cipher,
                rule: &self.metadata.rule,
                mac_only: self.metadata.mac_only_encrypted,
                hasher: mac_hasher(self.metadata.mac_only_encrypted),
                encrypt: false,
            };
            for d in &mut docs {
                walker.node(d, &mut Vec::new(), &mut Vec::new())?;
            }
            hex::encode_upper(walker.hasher.finalize())
        };
        if verify_mac {
            let stored = self.metadata.mac.as_deref().ok_or(SopsError::NoMac)?;
            let aad =
                crate::tree::rfc3339_roundtrip(&self.metadata.lastmodified).ok_or_else(|| {
                    SopsError::Metadata("'lastmodified' is not an RFC 3339 time".into())
                })?;
            let stored = match cipher.decrypt(stored, &aad) {
                Ok(Plain::Value(Scalar::Str(s))) => s,
                _ => return Err(SopsError::MacUnreadable),
            };
            if !bool::from(stored.as_bytes().ct_eq(mac.as_bytes())) {
                return Err(SopsError::MacMismatch);
            }
        }
        Ok(Decrypted {
            format: self.format,
            docs,
            metadata: self.metadata.clone(),
            cipher,
        })
    }

    pub fn decrypt(&self, keys: &Keyring) -> Result<Decrypted, SopsError> {
        let key = self.data_key(keys)?;
        self.decrypt_with_key(key, true)
    }
}

fn mac_hasher(mac_only: bool) -> Sha512 {
    let mut h = Sha512::new();
    if mac_only {
        h.update(Sha256::digest(b"sops"));
    }
    h
}

/// Walks documents in order, encrypting or decrypting leaves and hashing
/// them into the MAC.
struct Walker<'a> {
    cipher: &'a mut ValueCipher,
    rule: &'a Rule,
    mac_only: bool,
    hasher: Sha512,
    encrypt: bool,
}

fn aad(path: &[String]) -> String {
    let mut s = path.join(":");
    s.push(':');
    s
}

impl Walker<'_> {
    fn node(
        &mut self,
        node: &mut Node,
        path: &mut Vec<String>,
        comments: &mut Vec<Vec<String>>,
    ) -> Result<(), SopsError> {
        match node {
            Node::Mapping(items) => {
                comments.push(Vec::new());
                for item in items.iter_mut() {
                    match item {
                        Item::Comment(c) => {
                            self.comment(&mut c.text, path, comments);
                        }
                        Item::Pair(k, v) => {
                            path.push(k.clone());
                            self.node(v, path, comments)?;
                            path.pop();
                            if let Some(level) = comments.last_mut() {
                                level.clear();
                            }
                        }
                    }
                }
                comments.pop();
            }
            Node::Sequence(items) => {
                comments.push(Vec::new());
                for item in items.iter_mut() {
                    match item {
                        Node::Comment(c) => self.comment(&mut c.text, path, comments),
                        Node::Scalar(Scalar::Str(v))
                            if !self.encrypt
                                && cipher::is_enc(v)
                                && v.ends_with(",type:comment]") =>
                        {
                            // sops writes comments inside sequences as items.
                            let mut text = v.clone();
                            self.comment(&mut text, path, comments);
                            *item = Node::Comment(crate::tree::Comment {
                                text,
                                inline: false,
                            });
                        }
                        other => {
                            self.node(other, path, comments)?;
                            if let Some(level) = comments.last_mut() {
                                level.clear();
                            }
                        }
                    }
                }
                comments.pop();
            }
            Node::Comment(c) => self.comment(&mut c.text, path, comments),
            Node::Scalar(s) => self.leaf(s, path, comments)?,
        }
        Ok(())
    }

    fn comment(&mut self, text: &mut String, path: &[String], comments: &mut [Vec<String>]) {
        let encrypted = self.rule.should_encrypt(path, comments, Some(text));
        if encrypted {
            if self.encrypt {
                if !text.is_empty() {
                    let plain = SecretBytes::new(text.as_bytes().to_vec());
                    *text = self
                        .cipher
                        .encrypt_bytes(plain.expose(), &aad(path), "comment");
                }
            } else if cipher::is_enc(text) {
                match self.cipher.decrypt(text, &aad(path)) {
                    Ok(Plain::Comment(c)) => *text = c,
                    // sops keeps comments it cannot decrypt verbatim (hand edits, old files).
                    _ => {
                        tracing::warn!(path = %aad(path), "keeping a comment that does not decrypt as it is")
                    }
                }
            }
        }
        if let Some(level) = comments.last_mut() {
            level.push(text.clone());
        }
    }

    fn leaf(
        &mut self,
        s: &mut Scalar,
        path: &[String],
        comments: &[Vec<String>],
    ) -> Result<(), SopsError> {
        if matches!(s, Scalar::Null) {
            return Ok(());
        }
        let encrypted = self.rule.should_encrypt(path, comments, None);
        let p = aad(path);
        if self.encrypt {
            if encrypted || !self.mac_only {
                self.hasher
                    .update(SecretBytes::new(s.to_sops_bytes()).expose());
            }
            if encrypted {
                let enc = self.cipher.encrypt_scalar(s, &p);
                *s = Scalar::Str(enc);
            }
            return Ok(());
        }
        if encrypted {
            match s {
                Scalar::Str(v) if v.is_empty() => {}
                Scalar::Str(v) => {
                    let plain = self.cipher.decrypt(v, &p).map_err(|err| SopsError::Value {
                        path: p.trim_end_matches(':').to_string(),
                        err,
                    })?;
                    match plain {
                        Plain::Value(v) => *s = v,
                        Plain::Comment(_) => {
                            return Err(SopsError::Value {
                                path: p.trim_end_matches(':').to_string(),
                                err: CipherError::UnknownType("comment".into()),
                            });
                        }
                    }
                }
                // Non-string values in encrypted positions are left as they are.
                _ => {}
            }
        }
        if encrypted || !self.mac_only {
            self.hasher
                .update(SecretBytes::new(s.to_sops_bytes()).expose());
        }
        Ok(())
    }
}

/// Current time as sops writes `lastmodified`.
fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    crate::tree::format_rfc3339_nano(now)
}

fn new_data_key() -> SecretBytes {
    let mut k = vec![0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut k);
    SecretBytes::new(k)
}

/// Wrap `key` for every group (splitting it with Shamir for several groups).
fn wrap_for_groups(
    key: &SecretBytes,
    groups: &[Vec<Recipient>],
    threshold: Option<usize>,
) -> Result<Vec<KeyGroup>, SopsError> {
    if groups.is_empty() || groups.iter().all(Vec::is_empty) {
        return Err(SopsError::Unsupported(
            "no recipients: pass --age or add a creation rule to .sops.yaml".into(),
        ));
    }
    let secrets: Vec<SecretBytes> = if groups.len() == 1 {
        vec![key.clone()]
    } else {
        let t = threshold.unwrap_or(groups.len());
        shamir::split(key, groups.len(), t).map_err(SopsError::Metadata)?
    };
    groups
        .iter()
        .zip(secrets.iter())
        .map(|(recipients, secret)| {
            Ok(KeyGroup {
                age: recipients
                    .iter()
                    .map(|r| {
                        Ok(AgeEntry {
                            recipient: r.to_string(),
                            enc: r.wrap(secret)?,
                        })
                    })
                    .collect::<Result<_, SopsError>>()?,
                others: Default::default(),
            })
        })
        .collect()
}

impl Decrypted {
    /// The plaintext file (what `sops -d` prints).
    pub fn to_plain_bytes(&self) -> Result<SecretBytes, SopsError> {
        stores::emit(self.format, &self.docs, false).map(SecretBytes::new)
    }

    pub fn data_key(&self) -> &SecretBytes {
        self.cipher.key()
    }

    /// Re-encrypt (after edits) with the same data key; unchanged values
    /// keep their ciphertext.
    pub fn encrypt(&mut self) -> Result<SopsFile, SopsError> {
        let mut docs = self.docs.clone();
        let mac = {
            let mut walker = Walker {
                cipher: &mut self.cipher,
                rule: &self.metadata.rule,
                mac_only: self.metadata.mac_only_encrypted,
                hasher: mac_hasher(self.metadata.mac_only_encrypted),
                encrypt: true,
            };
            for d in &mut docs {
                walker.node(d, &mut Vec::new(), &mut Vec::new())?;
            }
            hex::encode_upper(walker.hasher.finalize())
        };
        let mut metadata = self.metadata.clone();
        metadata.lastmodified = now_rfc3339();
        metadata.mac = Some(self.cipher.encrypt_bytes(
            mac.as_bytes(),
            &metadata.lastmodified,
            "str",
        ));
        metadata.version = SOPS_FORMAT_VERSION.into();
        if !metadata.rule_written && self.format != Format::Binary {
            metadata.rule_written = true;
        }
        Ok(SopsFile {
            format: self.format,
            docs,
            metadata,
        })
    }

    fn age_groups(&self) -> Result<Vec<Vec<Recipient>>, SopsError> {
        let mut groups = Vec::new();
        for g in &self.metadata.key_groups {
            if !g.others.is_empty() {
                return Err(SopsError::Unsupported(format!(
                    "this file also uses {} master keys, which flotilla cannot wrap a new data key for; use sops for this file",
                    g.others.keys().cloned().collect::<Vec<_>>().join(", ")
                )));
            }
            groups.push(
                g.age
                    .iter()
                    .map(|a| a.recipient.parse())
                    .collect::<Result<Vec<Recipient>, _>>()?,
            );
        }
        Ok(groups)
    }

    /// Replace the data key (`sops rotate`), re-wrapping it for the same recipients.
    pub fn rotate_data_key(&mut self) -> Result<(), SopsError> {
        let groups = self.age_groups()?;
        self.rewrap(groups, new_data_key())
    }

    fn rewrap(&mut self, groups: Vec<Vec<Recipient>>, key: SecretBytes) -> Result<(), SopsError> {
        let wrapped = wrap_for_groups(&key, &groups, self.metadata.shamir_threshold)?;
        self.metadata.key_groups = wrapped;
        self.cipher = ValueCipher::new(key);
        Ok(())
    }

    /// Add age recipients to the first key group (wrapping the current data key).
    pub fn add_recipients(&mut self, recipients: &[Recipient]) -> Result<(), SopsError> {
        let key = self.cipher.key().clone();
        if self.metadata.key_groups.len() > 1 {
            return Err(SopsError::Unsupported(
                "adding recipients to a file with several key groups (Shamir)".into(),
            ));
        }
        let group = self
            .metadata
            .key_groups
            .first_mut()
            .ok_or_else(|| SopsError::Metadata("no key groups".into()))?;
        for r in recipients {
            let name = r.to_string();
            if group.age.iter().any(|a| a.recipient == name) {
                continue;
            }
            group.age.push(AgeEntry {
                recipient: name,
                enc: r.wrap(&key)?,
            });
        }
        Ok(())
    }

    /// Remove age recipients and rotate the data key, so removed keys can no
    /// longer read future versions of the file.
    pub fn remove_recipients(&mut self, recipients: &[String]) -> Result<(), SopsError> {
        let mut groups = self.age_groups()?;
        let before: usize = groups.iter().map(Vec::len).sum();
        for g in &mut groups {
            g.retain(|r| !recipients.iter().any(|x| x.trim() == r.to_string()));
        }
        let after: usize = groups.iter().map(Vec::len).sum();
        if before == after {
            return Err(SopsError::Unsupported(format!(
                "none of {} is a recipient of this file",
                recipients.join(", ")
            )));
        }
        if groups.iter().any(Vec::is_empty) {
            return Err(SopsError::Unsupported(
                "refusing to remove the last recipient of a key group".into(),
            ));
        }
        self.rewrap(groups, new_data_key())
    }

    /// Set the value at a path of mapping keys (creating mappings on the way).
    pub fn set(&mut self, path: &[String], value: Node) -> Result<(), SopsError> {
        let doc = self
            .docs
            .first_mut()
            .ok_or_else(|| SopsError::Parse("empty file".into()))?;
        set_path(doc, path, value)
    }

    /// Remove the value at a path; returns whether it existed.
    pub fn unset(&mut self, path: &[String]) -> Result<bool, SopsError> {
        let doc = self
            .docs
            .first_mut()
            .ok_or_else(|| SopsError::Parse("empty file".into()))?;
        Ok(unset_path(doc, path))
    }

    /// Replace the plaintext documents (after `edit`), keeping key and metadata.
    pub fn replace_plaintext(&mut self, input: &[u8]) -> Result<(), SopsError> {
        let docs = stores::load(self.format, input, false)?;
        for d in &docs {
            if d.get("sops").is_some() {
                return Err(SopsError::Parse(
                    "the edited file contains a top-level 'sops' key, which is reserved".into(),
                ));
            }
        }
        self.docs = docs;
        Ok(())
    }
}

fn set_path(node: &mut Node, path: &[String], value: Node) -> Result<(), SopsError> {
    let Some((first, rest)) = path.split_first() else {
        *node = value;
        return Ok(());
    };
    let Node::Mapping(items) = node else {
        return Err(SopsError::Parse(format!(
            "cannot set '{first}': parent is not a mapping"
        )));
    };
    for item in items.iter_mut() {
        if let Item::Pair(k, v) = item
            && k == first
        {
            return set_path(v, rest, value);
        }
    }
    let mut child = Node::Mapping(Vec::new());
    set_path(&mut child, rest, value)?;
    items.push(Item::Pair(first.clone(), child));
    Ok(())
}

fn unset_path(node: &mut Node, path: &[String]) -> bool {
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let Node::Mapping(items) = node else {
        return false;
    };
    let Some(pos) = items
        .iter()
        .position(|i| matches!(i, Item::Pair(k, _) if k == first))
    else {
        return false;
    };
    if rest.is_empty() {
        items.remove(pos);
        return true;
    }
    match &mut items[pos] {
        Item::Pair(_, v) => unset_path(v, rest),
        Item::Comment(_) => false,
    }
}

/// Encrypt a plaintext file (`sops -e`).
pub fn encrypt(
    input: &[u8],
    format: Format,
    settings: &CreationSettings,
) -> Result<SopsFile, SopsError> {
    let docs = stores::load(format, input, false)?;
    for d in &docs {
        if d.get("sops").is_some() {
            return Err(SopsError::AlreadyEncrypted);
        }
    }
    let key = new_data_key();
    let key_groups = wrap_for_groups(&key, &settings.key_groups, settings.shamir_threshold)?;
    let metadata = Metadata {
        key_groups,
        shamir_threshold: if settings.key_groups.len() > 1 {
            Some(
                settings
                    .shamir_threshold
                    .unwrap_or(settings.key_groups.len()),
            )
        } else {
            None
        },
        lastmodified: String::new(),
        mac: None,
        rule: settings.rule.clone().unwrap_or_default(),
        rule_written: format != Format::Binary || settings.rule.is_some(),
        mac_only_encrypted: settings.mac_only_encrypted,
        version: SOPS_FORMAT_VERSION.into(),
    };
    let mut d = Decrypted {
        format,
        docs,
        metadata,
        cipher: ValueCipher::new(key),
    };
    d.encrypt()
}

/// Is this file SOPS-encrypted? (cheap check on the parsed tree)
pub fn is_encrypted(input: &[u8], format: Format) -> bool {
    stores::load(format, input, true)
        .ok()
        .and_then(|d| d.first().map(|d| d.get("sops").is_some()))
        .unwrap_or(false)
}
