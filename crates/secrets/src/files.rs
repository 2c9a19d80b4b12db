//! File-level SOPS operations behind `flotilla secrets`: each reads a file,
//! does one chore, and writes the result atomically (temp file + rename in
//! the same directory, keeping permissions). Plaintext only ever touches
//! disk in `edit`, in a 0600 file inside a 0700 directory that is removed
//! on every exit path.

use crate::sensitive::SecretBytes;
use crate::sops::{
    self, CreationSettings, Decrypted, Format, Keyring, Recipient, SopsError, SopsFile,
};
use crate::tree::{Node, Scalar};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: {err}")]
    Io { path: PathBuf, err: std::io::Error },
    #[error("{path}: {err}")]
    Sops { path: PathBuf, err: SopsError },
    #[error("{0}")]
    Other(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FileError + '_ {
    move |err| FileError::Io {
        path: path.to_path_buf(),
        err,
    }
}

fn sops_err(path: &Path) -> impl FnOnce(SopsError) -> FileError + '_ {
    move |err| FileError::Sops {
        path: path.to_path_buf(),
        err,
    }
}

/// Read and decrypt a SOPS file (MAC verified).
pub fn open(path: &Path, format: Option<Format>, keys: &Keyring) -> Result<Decrypted, FileError> {
    let format = format.unwrap_or_else(|| Format::from_path(path));
    let bytes = std::fs::read(path).map_err(io(path))?;
    let file = SopsFile::parse(&bytes, format).map_err(sops_err(path))?;
    file.decrypt(keys).map_err(sops_err(path))
}

/// `sops -d`: the plaintext.
pub fn decrypt(
    path: &Path,
    format: Option<Format>,
    keys: &Keyring,
) -> Result<SecretBytes, FileError> {
    open(path, format, keys)?
        .to_plain_bytes()
        .map_err(sops_err(path))
}

/// `sops decrypt --extract`: one value (strings raw, trees in the file's format).
pub fn extract(
    path: &Path,
    format: Option<Format>,
    keys: &Keyring,
    key: &[String],
) -> Result<SecretBytes, FileError> {
    let d = open(path, format, keys)?;
    let mut node = d
        .docs
        .first()
        .ok_or_else(|| FileError::Other(format!("{}: empty file", path.display())))?;
    for k in key {
        node = node.get(k).ok_or_else(|| {
            FileError::Other(format!(
                "{}: key '{}' not found",
                path.display(),
                key.join(".")
            ))
        })?;
    }
    match node {
        Node::Scalar(s) => Ok(SecretBytes::new(s.to_sops_bytes())),
        tree => {
            let fmt = match d.format {
                Format::Json => Format::Json,
                _ => Format::Yaml,
            };
            sops::stores::emit(fmt, std::slice::from_ref(tree), false)
                .map(SecretBytes::new)
                .map_err(sops_err(path))
        }
    }
}

/// `sops edit` of a file that does not exist yet: edit an empty document,
/// then encrypt it with `settings`. Nothing is written if it stays empty.
pub fn create_with_editor(
    path: &Path,
    format: Option<Format>,
    settings: &CreationSettings,
    editor: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<EditOutcome, FileError> {
    let format = format.unwrap_or_else(|| Format::from_path(path));
    let dir = private_tempdir().map_err(io(path))?;
    let name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "secret".into());
    let tmp_path = dir.path().join(name);
    write_private(&tmp_path, b"").map_err(io(&tmp_path))?;
    editor(&tmp_path).map_err(|e| {
        FileError::Other(format!(
            "editor failed: {e}; {} was not created",
            path.display()
        ))
    })?;
    let edited = SecretBytes::new(std::fs::read(&tmp_path).map_err(io(&tmp_path))?);
    drop(dir);
    if edited.expose().iter().all(u8::is_ascii_whitespace) {
        return Ok(EditOutcome::Unchanged);
    }
    let file = sops::encrypt(edited.expose(), format, settings).map_err(sops_err(path))?;
    write_atomic(path, &file.to_bytes().map_err(sops_err(path))?)?;
    Ok(EditOutcome::Saved)
}

/// Settings for encrypting `path`: explicit ones, else the first matching
/// `.sops.yaml` creation rule found from `config_search_dir` upwards.
pub fn settings_for(
    path: &Path,
    explicit: Option<CreationSettings>,
    config_search_dir: &Path,
) -> Result<CreationSettings, FileError> {
    if let Some(s) = explicit {
        return Ok(s);
    }
    let Some(cfg) = sops::config::find_config(config_search_dir) else {
        return Err(FileError::Other(format!(
            "{}: no recipients: pass --age or add a .sops.yaml with creation_rules",
            path.display()
        )));
    };
    let text = std::fs::read_to_string(&cfg).map_err(io(&cfg))?;
    sops::config::settings_for(&cfg, &text, path)
        .map_err(sops_err(path))?
        .ok_or_else(|| FileError::Other(format!("{}: has no creation_rules", cfg.display())))
}

/// `sops -e`: encrypt a plaintext file; returns the encrypted bytes.
pub fn encrypt(
    path: &Path,
    format: Option<Format>,
    settings: &CreationSettings,
) -> Result<Vec<u8>, FileError> {
    let format = format.unwrap_or_else(|| Format::from_path(path));
    let plain = SecretBytes::new(std::fs::read(path).map_err(io(path))?);
    let file = sops::encrypt(plain.expose(), format, settings).map_err(sops_err(path))?;
    file.to_bytes().map_err(sops_err(path))
}

/// Write `bytes` to `path` atomically, keeping the file's permissions.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".flotilla-")
        .tempfile_in(dir)
        .map_err(io(path))?;
    tmp.write_all(bytes).map_err(io(path))?;
    tmp.as_file().sync_all().map_err(io(path))?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(tmp.path(), meta.permissions());
    }
    tmp.persist(path).map_err(|e| FileError::Io {
        path: path.to_path_buf(),
        err: e.error,
    })?;
    Ok(())
}

/// Decrypt, apply `change`, re-encrypt (unchanged values keep their
/// ciphertext) and write back.
pub fn modify(
    path: &Path,
    format: Option<Format>,
    keys: &Keyring,
    change: impl FnOnce(&mut Decrypted) -> Result<(), SopsError>,
) -> Result<(), FileError> {
    let mut d = open(path, format, keys)?;
    change(&mut d).map_err(sops_err(path))?;
    let out = d.encrypt().map_err(sops_err(path))?;
    write_atomic(path, &out.to_bytes().map_err(sops_err(path))?)
}

/// Parse a key path: `a.b.c` or sops' `["a"]["b"]`.
pub fn parse_key_path(key: &str) -> Result<Vec<String>, FileError> {
    let key = key.trim();
    if key.starts_with('[') {
        let mut out = Vec::new();
        let mut rest = key;
        while let Some(r) = rest.strip_prefix('[') {
            let end = r
                .find(']')
                .ok_or_else(|| FileError::Other(format!("bad key path '{key}'")))?;
            let part = r[..end].trim();
            let part = part
                .strip_prefix('"')
                .and_then(|p| p.strip_suffix('"'))
                .or_else(|| part.strip_prefix('\'').and_then(|p| p.strip_suffix('\'')))
                .ok_or_else(|| {
                    FileError::Other(format!("key path '{key}': only string keys are supported"))
                })?;
            out.push(part.to_string());
            rest = &r[end + 1..];
        }
        if !rest.is_empty() {
            return Err(FileError::Other(format!("bad key path '{key}'")));
        }
        return Ok(out);
    }
    if key.is_empty() {
        return Err(FileError::Other("empty key path".into()));
    }
    Ok(key.split('.').map(str::to_string).collect())
}

/// The value for `set`: a string, or (with `json`) any JSON value.
pub fn parse_value(value: &str, json: bool) -> Result<Node, FileError> {
    if json {
        let v: serde_json::Value = serde_json::from_str(value)
            .map_err(|e| FileError::Other(format!("value is not valid JSON: {e}")))?;
        Ok(Node::from_json(&v))
    } else {
        Ok(Node::Scalar(Scalar::Str(value.to_string())))
    }
}

pub fn set(
    path: &Path,
    format: Option<Format>,
    keys: &Keyring,
    key: &[String],
    value: Node,
) -> Result<(), FileError> {
    modify(path, format, keys, |d| d.set(key, value))
}

pub fn unset(
    path: &Path,
    format: Option<Format>,
    keys: &Keyring,
    key: &[String],
) -> Result<(), FileError> {
    modify(path, format, keys, |d| {
        if d.unset(key)? {
            Ok(())
        } else {
            Err(SopsError::Parse(format!(
                "key '{}' not found",
                key.join(".")
            )))
        }
    })
}

pub fn rotate(
    path: &Path,
    format: Option<Format>,
    keys: &Keyring,
    add: &[Recipient],
    remove: &[String],
) -> Result<(), FileError> {
    modify(path, format, keys, |d| {
        if !add.is_empty() {
            d.add_recipients(add)?;
        }
        if !remove.is_empty() {
            d.remove_recipients(remove)?;
        } else {
            d.rotate_data_key()?;
        }
        Ok(())
    })
}

pub fn add_recipients(
    path: &Path,
    format: Option<Format>,
    keys: &Keyring,
    add: &[Recipient],
) -> Result<(), FileError> {
    modify(path, format, keys, |d| d.add_recipients(add))
}

pub fn remove_recipients(
    path: &Path,
    format: Option<Format>,
    keys: &Keyring,
    remove: &[String],
) -> Result<(), FileError> {
    modify(path, format, keys, |d| d.remove_recipients(remove))
}

/// What `edit` did.
#[derive(Debug, PartialEq, Eq)]
pub enum EditOutcome {
    Saved,
    Unchanged,
}

/// `sops edit`: decrypt to a private temp file, run `editor` on it,
/// re-encrypt only what changed. The temp file is removed on every path
/// (its directory is a `TempDir`, dropped on return and on unwinding;
/// callers must keep SIGINT from killing the process while the editor runs).
pub fn edit(
    path: &Path,
    format: Option<Format>,
    keys: &Keyring,
    editor: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<EditOutcome, FileError> {
    let mut d = open(path, format, keys)?;
    let plain = d.to_plain_bytes().map_err(sops_err(path))?;
    let dir = private_tempdir().map_err(io(path))?;
    let name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "secret".into());
    let tmp_path = dir.path().join(name);
    write_private(&tmp_path, plain.expose()).map_err(io(&tmp_path))?;
    editor(&tmp_path).map_err(|e| {
        FileError::Other(format!(
            "editor failed: {e}; {} was not changed",
            path.display()
        ))
    })?;
    let edited = SecretBytes::new(std::fs::read(&tmp_path).map_err(io(&tmp_path))?);
    drop(dir);
    if edited == plain {
        return Ok(EditOutcome::Unchanged);
    }
    d.replace_plaintext(edited.expose())
        .map_err(sops_err(path))?;
    let out = d.encrypt().map_err(sops_err(path))?;
    write_atomic(path, &out.to_bytes().map_err(sops_err(path))?)?;
    Ok(EditOutcome::Saved)
}

fn private_tempdir() -> std::io::Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix("flotilla-edit-")
        .tempdir()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(dir)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::secrecy::ExposeSecret;

    fn setup() -> (tempfile::TempDir, PathBuf, Keyring, CreationSettings) {
        let dir = tempfile::tempdir().unwrap();
        let id = age::x25519::Identity::generate();
        let mut keys = Keyring::default();
        keys.add_age_keys(id.to_string().expose_secret(), "test")
            .unwrap();
        let settings = CreationSettings {
            key_groups: vec![vec![id.to_public().to_string().parse().unwrap()]],
            ..Default::default()
        };
        let path = dir.path().join("s.yaml");
        std::fs::write(
            &path,
            "# db creds\ndb:\n    user: admin # who\n    password: hunter2\nport: 5432\n",
        )
        .unwrap();
        let enc = encrypt(&path, None, &settings).unwrap();
        std::fs::write(&path, enc).unwrap();
        (dir, path, keys, settings)
    }

    #[test]
    fn set_unset_keep_other_ciphertexts_and_comments() {
        let (_d, path, keys, _) = setup();
        let before = std::fs::read_to_string(&path).unwrap();
        assert!(!before.contains("hunter2"));
        set(
            &path,
            None,
            &keys,
            &parse_key_path("db.host").unwrap(),
            parse_value("db.local", false).unwrap(),
        )
        .unwrap();
        let after = std::fs::read_to_string(&path).unwrap();
        let pw_line = |s: &str| {
            s.lines()
                .find(|l| l.trim_start().starts_with("password:"))
                .unwrap()
                .to_string()
        };
        assert_eq!(pw_line(&before), pw_line(&after));
        let plain =
            String::from_utf8(decrypt(&path, None, &keys).unwrap().expose().to_vec()).unwrap();
        assert_eq!(
            plain,
            "# db creds\ndb:\n    # who\n    user: admin\n    password: hunter2\n    host: db.local\nport: 5432\n"
        );
        unset(
            &path,
            None,
            &keys,
            &parse_key_path("[\"db\"][\"user\"]").unwrap(),
        )
        .unwrap();
        let plain =
            String::from_utf8(decrypt(&path, None, &keys).unwrap().expose().to_vec()).unwrap();
        assert!(!plain.contains("admin"));
        assert!(unset(&path, None, &keys, &["nope".to_string()]).is_err());
    }

    #[test]
    fn rotate_changes_data_key_and_recipients() {
        let (_d, path, keys, _) = setup();
        let key_before = open(&path, None, &keys).unwrap().data_key().clone();
        rotate(&path, None, &keys, &[], &[]).unwrap();
        let key_after = open(&path, None, &keys).unwrap().data_key().clone();
        assert_ne!(key_before, key_after);
        let other = age::x25519::Identity::generate();
        let other_pub: Recipient = other.to_public().to_string().parse().unwrap();
        add_recipients(&path, None, &keys, std::slice::from_ref(&other_pub)).unwrap();
        let mut other_keys = Keyring::default();
        other_keys
            .add_age_keys(other.to_string().expose_secret(), "other")
            .unwrap();
        assert!(open(&path, None, &other_keys).is_ok());
        remove_recipients(&path, None, &keys, &[other_pub.to_string()]).unwrap();
        assert!(open(&path, None, &other_keys).is_err());
        assert!(open(&path, None, &keys).is_ok());
    }

    #[test]
    fn edit_reencrypts_only_changes_and_cleans_up() {
        let (_d, path, keys, _) = setup();
        let before = std::fs::read_to_string(&path).unwrap();
        let mut seen = None;
        let outcome = edit(&path, None, &keys, |p| {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                assert_eq!(
                    std::fs::metadata(p).unwrap().permissions().mode() & 0o777,
                    0o600
                );
            }
            seen = Some(p.to_path_buf());
            let t = std::fs::read_to_string(p).unwrap().replace("5432", "6543");
            std::fs::write(p, t).unwrap();
            Ok(())
        })
        .unwrap();
        assert_eq!(outcome, EditOutcome::Saved);
        assert!(!seen.unwrap().exists(), "plaintext temp file removed");
        let after = std::fs::read_to_string(&path).unwrap();
        let pw = |s: &str| {
            s.lines()
                .find(|l| l.contains("password:"))
                .unwrap()
                .to_string()
        };
        assert_eq!(pw(&before), pw(&after));
        assert!(
            String::from_utf8(decrypt(&path, None, &keys).unwrap().expose().to_vec())
                .unwrap()
                .contains("6543")
        );
        // editor failure: file untouched, temp removed
        let mut seen = None;
        let err = edit(&path, None, &keys, |p| {
            seen = Some(p.to_path_buf());
            Err("exit status 1".into())
        })
        .unwrap_err();
        assert!(err.to_string().contains("was not changed"));
        assert!(!seen.unwrap().exists());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), after);
        assert_eq!(
            edit(&path, None, &keys, |_| Ok(())).unwrap(),
            EditOutcome::Unchanged
        );
    }

    #[test]
    fn extract_and_create() {
        let (d, path, keys, settings) = setup();
        let v = extract(&path, None, &keys, &["db".into(), "password".into()]).unwrap();
        assert_eq!(v.expose(), b"hunter2");
        let tree = extract(&path, None, &keys, &["db".into()]).unwrap();
        assert_eq!(tree.expose(), b"# who\nuser: admin\npassword: hunter2\n");
        let new = d.path().join("new.yaml");
        let out = create_with_editor(&new, None, &settings, |p| {
            std::fs::write(p, "k: v\n").map_err(|e| e.to_string())
        })
        .unwrap();
        assert_eq!(out, EditOutcome::Saved);
        assert_eq!(decrypt(&new, None, &keys).unwrap().expose(), b"k: v\n");
        let none = d.path().join("none.yaml");
        assert_eq!(
            create_with_editor(&none, None, &settings, |_| Ok(())).unwrap(),
            EditOutcome::Unchanged
        );
        assert!(!none.exists());
    }
}
