//! age identities and recipients: where sops finds keys, and wrapping the
//! data key for one recipient per metadata entry (sops writes one age file
//! per recipient).

use crate::sensitive::{SecretBytes, SecretString};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("invalid age recipient '{0}' (expected age1…, ssh-ed25519 … or ssh-rsa …)")]
    BadRecipient(String),
    #[error("invalid age identity in {source_name} line {line}")]
    BadIdentity { source_name: String, line: usize },
    #[error("reading age key file {path}: {err}")]
    Read { path: PathBuf, err: std::io::Error },
    #[error("wrapping the data key for age recipient {recipient}: {message}")]
    Wrap { recipient: String, message: String },
}

/// age identities used to unwrap data keys.
#[derive(Default)]
pub struct Keyring {
    x25519: Vec<age::x25519::Identity>,
    ssh: Vec<age::ssh::Identity>,
    /// Where the keys came from, for error messages.
    pub sources: Vec<String>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Keyring({} age, {} ssh identities from {:?})",
            self.x25519.len(),
            self.ssh.len(),
            self.sources
        )
    }
}

impl Keyring {
    pub fn is_empty(&self) -> bool {
        self.x25519.is_empty() && self.ssh.is_empty()
    }

    pub fn len(&self) -> usize {
        self.x25519.len() + self.ssh.len()
    }

    /// Add identities from key-file text: one `AGE-SECRET-KEY-1…` per line;
    /// blank lines and `#` comments are ignored.
    pub fn add_age_keys(&mut self, text: &str, source_name: &str) -> Result<(), KeyError> {
        let text = SecretString::new(text.to_string());
        for (n, line) in text.expose().lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let id: age::x25519::Identity = line.parse().map_err(|_| KeyError::BadIdentity {
                source_name: source_name.to_string(),
                line: n + 1,
            })?;
            self.x25519.push(id);
        }
        self.sources.push(source_name.to_string());
        Ok(())
    }

    /// Add an SSH private key (ed25519 or RSA, unencrypted) as an age identity.
    pub fn add_ssh_key(&mut self, pem: &[u8], source_name: &str) -> Result<(), KeyError> {
        let id =
            age::ssh::Identity::from_buffer(pem, Some(source_name.to_string())).map_err(|_| {
                KeyError::BadIdentity {
                    source_name: source_name.to_string(),
                    line: 1,
                }
            })?;
        // Unsupported key types and passphrase-protected keys (which would
        // need a prompt) are refused rather than failing later mid-decrypt.
        if matches!(
            id,
            age::ssh::Identity::Unsupported(_) | age::ssh::Identity::Encrypted(_)
        ) {
            return Err(KeyError::BadIdentity {
                source_name: source_name.to_string(),
                line: 1,
            });
        }
        self.ssh.push(id);
        self.sources.push(source_name.to_string());
        Ok(())
    }

    /// The identities sops would load, from the environment and default paths:
    /// `SOPS_AGE_SSH_PRIVATE_KEY_FILE`, `~/.ssh/id_ed25519`, `~/.ssh/id_rsa`,
    /// `SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`, `SOPS_AGE_KEY_CMD`, `$XDG_CONFIG_HOME/sops/age/keys.txt`.
    pub fn from_env() -> Result<Self, KeyError> {
        let mut k = Keyring::default();
        if let Some(p) = std::env::var_os("SOPS_AGE_SSH_PRIVATE_KEY_FILE") {
            let p = PathBuf::from(p);
            let pem = read_secret(&p)?;
            k.add_ssh_key(pem.expose(), &p.display().to_string())?;
        }
        if let Some(home) = std::env::var_os("HOME") {
            for name in ["id_ed25519", "id_rsa"] {
                let p = Path::new(&home).join(".ssh").join(name);
                if let Ok(pem) = read_secret(&p) {
                    // An unusable default SSH key (e.g. passphrase-protected) is skipped, as sops does.
                    let _ = k.add_ssh_key(pem.expose(), &p.display().to_string());
                }
            }
        }
        if let Ok(v) = std::env::var("SOPS_AGE_KEY") {
            let v = SecretString::new(v);
            k.add_age_keys(v.expose(), "SOPS_AGE_KEY")?;
        }
        if let Some(p) = std::env::var_os("SOPS_AGE_KEY_FILE") {
            let p = PathBuf::from(p);
            let text = read_secret(&p)?;
            k.add_age_keys(
                &String::from_utf8_lossy(text.expose()),
                &p.display().to_string(),
            )?;
        }
        if let Ok(cmd) = std::env::var("SOPS_AGE_KEY_CMD") {
            let failed = |err: std::io::Error| KeyError::Read {
                path: PathBuf::from("SOPS_AGE_KEY_CMD"),
                err,
            };
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(&cmd)
                .stderr(std::process::Stdio::inherit())
                .output()
                .map_err(failed)?;
            if !out.status.success() {
                return Err(failed(std::io::Error::other(format!(
                    "command exited with {}",
                    out.status
                ))));
            }
            let text = SecretString::new(String::from_utf8_lossy(&out.stdout).into_owned());
            k.add_age_keys(text.expose(), "SOPS_AGE_KEY_CMD")?;
        }
        if let Some(p) = default_key_file()
            && let Ok(text) = read_secret(&p)
        {
            k.add_age_keys(
                &String::from_utf8_lossy(text.expose()),
                &p.display().to_string(),
            )?;
        }
        Ok(k)
    }

    /// Unwrap an armored age file holding a data key (or Shamir share).
    pub fn unwrap(&self, armored: &str) -> Option<SecretBytes> {
        let reader = age::armor::ArmoredReader::new(armored.trim_start().as_bytes());
        let decryptor = age::Decryptor::new(reader).ok()?;
        let ids = self
            .x25519
            .iter()
            .map(|i| i as &dyn age::Identity)
            .chain(self.ssh.iter().map(|i| i as &dyn age::Identity));
        let mut r = decryptor.decrypt(ids).ok()?;
        let mut out = Vec::new();
        r.read_to_end(&mut out).ok()?;
        Some(SecretBytes::new(out))
    }
}

fn default_key_file() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(x) if !x.is_empty() => PathBuf::from(x),
        _ => PathBuf::from(std::env::var_os("HOME")?).join(".config"),
    };
    Some(base.join("sops").join("age").join("keys.txt"))
}

fn read_secret(p: &Path) -> Result<SecretBytes, KeyError> {
    std::fs::read(p)
        .map(SecretBytes::new)
        .map_err(|err| KeyError::Read {
            path: p.to_path_buf(),
            err,
        })
}

/// An age recipient as written in `.sops.yaml` and metadata.
#[derive(Clone)]
pub enum Recipient {
    X25519(age::x25519::Recipient),
    Ssh(age::ssh::Recipient),
}

impl std::fmt::Display for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Recipient::X25519(r) => write!(f, "{r}"),
            Recipient::Ssh(r) => write!(f, "{r}"),
        }
    }
}

impl std::str::FromStr for Recipient {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        let s = s.trim();
        if s.starts_with("ssh-") {
            return s
                .parse::<age::ssh::Recipient>()
                .map(Recipient::Ssh)
                .map_err(|_| KeyError::BadRecipient(s.to_string()));
        }
        s.parse::<age::x25519::Recipient>()
            .map(Recipient::X25519)
            .map_err(|_| KeyError::BadRecipient(s.to_string()))
    }
}

impl Recipient {
    /// Wrap `secret` in an armored age file for this recipient alone.
    pub fn wrap(&self, secret: &SecretBytes) -> Result<String, KeyError> {
        let err = |message: String| KeyError::Wrap {
            recipient: self.to_string(),
            message,
        };
        let r: &dyn age::Recipient = match self {
            Recipient::X25519(r) => r,
            Recipient::Ssh(r) => r,
        };
        let enc =
            age::Encryptor::with_recipients(std::iter::once(r)).map_err(|e| err(e.to_string()))?;
        let mut out = Vec::new();
        let armor =
            age::armor::ArmoredWriter::wrap_output(&mut out, age::armor::Format::AsciiArmor)
                .map_err(|e| err(e.to_string()))?;
        let mut w = enc.wrap_output(armor).map_err(|e| err(e.to_string()))?;
        w.write_all(secret.expose())
            .map_err(|e| err(e.to_string()))?;
        let armor = w.finish().map_err(|e| err(e.to_string()))?;
        armor.finish().map_err(|e| err(e.to_string()))?;
        String::from_utf8(out).map_err(|e| err(e.to_string()))
    }
}

/// Parse a comma/whitespace-separated recipient list (`.sops.yaml` style).
pub fn parse_recipients(list: &str) -> Result<Vec<Recipient>, KeyError> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_unwrap_round_trip() {
        let id = age::x25519::Identity::generate();
        let recipient: Recipient = id.to_public().to_string().parse().unwrap();
        let secret = SecretBytes::new(vec![9u8; 32]);
        let armored = recipient.wrap(&secret).unwrap();
        assert!(armored.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"));
        let mut k = Keyring::default();
        use age::secrecy::ExposeSecret;
        k.add_age_keys(id.to_string().expose_secret(), "test")
            .unwrap();
        assert_eq!(k.unwrap(&armored).unwrap(), secret);
        assert!(Keyring::default().unwrap(&armored).is_none());
        assert!("age1bogus".parse::<Recipient>().is_err());
    }
}
