//! Writing a Git tree to disk, and hashing a plain directory tree.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use gix::objs::tree::EntryKind;
use sha2::{Digest, Sha256};

/// Writes the tree `tree_id` of `repo` below `target` (which must exist and be empty):
/// blobs as files (executable ones with mode 0755, others 0644, then made read-only),
/// symlinks as symlinks, submodules (gitlinks) as empty directories like `git` does.
/// Blob contents are written verbatim: no `.gitattributes` filters or line-ending conversion,
/// so the files are exactly what the commit holds. Returns the number of files written.
pub fn write_tree(
    repo: &gix::Repository,
    tree_id: gix::ObjectId,
    target: &Path,
) -> Result<u64, String> {
    let mut files = 0;
    let mut pending: Vec<(gix::ObjectId, PathBuf)> = vec![(tree_id, target.to_path_buf())];
    while let Some((id, dir)) = pending.pop() {
        let tree = repo
            .find_tree(id)
            .map_err(|e| format!("cannot read tree {id}: {}", crate::error_chain(&e)))?;
        let decoded = tree
            .decode()
            .map_err(|e| format!("cannot decode tree {id}: {e}"))?;
        for entry in &decoded.entries {
            let name = entry.filename;
            let name_str = std::str::from_utf8(name.as_ref())
                .map_err(|_| format!("tree {id} has an entry whose name is not UTF-8: {name:?}"))?;
            check_entry_name(name_str).map_err(|why| format!("tree {id}: {why}"))?;
            let path = dir.join(name_str);
            let oid = entry.oid.to_owned();
            match entry.mode.kind() {
                EntryKind::Tree => {
                    fs::create_dir(&path).map_err(|e| io_error(&path, e))?;
                    pending.push((oid, path));
                }
                EntryKind::Blob | EntryKind::BlobExecutable => {
                    let blob = repo.find_blob(oid).map_err(|e| {
                        format!(
                            "cannot read blob {oid} ({}): {}",
                            path.display(),
                            crate::error_chain(&e)
                        )
                    })?;
                    let executable = entry.mode.kind() == EntryKind::BlobExecutable;
                    write_file(&path, &blob.data, executable).map_err(|e| io_error(&path, e))?;
                    files += 1;
                }
                EntryKind::Link => {
                    let blob = repo.find_blob(oid).map_err(|e| {
                        format!(
                            "cannot read symlink {oid} ({}): {}",
                            path.display(),
                            crate::error_chain(&e)
                        )
                    })?;
                    let link_target = std::str::from_utf8(&blob.data).map_err(|_| {
                        format!("symlink {} has a target that is not UTF-8", path.display())
                    })?;
                    make_symlink(link_target, &path).map_err(|e| io_error(&path, e))?;
                    files += 1;
                }
                EntryKind::Commit => {
                    fs::create_dir(&path).map_err(|e| io_error(&path, e))?;
                }
            }
        }
    }
    Ok(files)
}

/// Refuses names that would escape the target directory or write into a `.git` directory
/// (a malicious tree could otherwise plant files outside the checkout).
fn check_entry_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
        return Err(format!("refusing an entry named {name:?}"));
    }
    if name.eq_ignore_ascii_case(".git") {
        return Err("refusing an entry named \".git\"".to_string());
    }
    Ok(())
}

fn write_file(path: &Path, data: &[u8], executable: bool) -> io::Result<()> {
    let mut file = fs::File::create(path)?;
    file.write_all(data)?;
    drop(file);
    set_read_only(path, executable)
}

#[cfg(unix)]
fn set_read_only(path: &Path, executable: bool) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = if executable { 0o555 } else { 0o444 };
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_read_only(path: &Path, _executable: bool) -> io::Result<()> {
    let mut permissions = fs::metadata(path)?.permissions();
    permissions.set_readonly(true);
    fs::set_permissions(path, permissions)
}

#[cfg(unix)]
fn make_symlink(target: &str, path: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, path)
}

#[cfg(not(unix))]
fn make_symlink(target: &str, path: &Path) -> io::Result<()> {
    // Without symlinks, keep the target path as the file's content, as `git` does with core.symlinks=false.
    write_file(path, target.as_bytes(), false)
}

fn io_error(path: &Path, e: io::Error) -> String {
    format!("{}: {e}", path.display())
}

/// A deterministic digest of a directory tree: every entry's relative path (with `/`
/// separators, in byte order), its kind, the executable bit of files, file contents and
/// symlink targets. `.git` directories are skipped, as they are not part of the content.
pub fn hash_dir(root: &Path) -> Result<String, String> {
    let mut hasher = Sha256::new();
    hash_dir_into(root, root, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

fn hash_dir_into(root: &Path, dir: &Path, hasher: &mut Sha256) -> Result<(), String> {
    let mut entries: Vec<(Vec<u8>, PathBuf)> = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
        let entry = entry.map_err(|e| io_error(dir, e))?;
        entries.push((path_bytes(&entry.file_name()), entry.path()));
    }
    entries.sort();
    for (name, path) in entries {
        if name == b".git" {
            continue;
        }
        // Raw bytes, so that distinct non-UTF-8 names never collide.
        let relative = path.strip_prefix(root).unwrap_or(&path);
        let relative = relative
            .components()
            .map(|c| path_bytes(c.as_os_str()))
            .collect::<Vec<_>>()
            .join(&b'/');
        let meta = fs::symlink_metadata(&path).map_err(|e| io_error(&path, e))?;
        let kind: &[u8] = if meta.file_type().is_symlink() {
            b"link"
        } else if meta.is_dir() {
            b"dir"
        } else if meta.is_file() {
            if is_executable(&meta) {
                b"exec"
            } else {
                b"file"
            }
        } else {
            // Sockets, fifos and devices carry no content worth rendering; skip them.
            continue;
        };
        hasher.update(kind);
        hasher.update([0]);
        hasher.update(&relative);
        hasher.update([0]);
        if meta.file_type().is_symlink() {
            let target = fs::read_link(&path).map_err(|e| io_error(&path, e))?;
            let target = path_bytes(target.as_os_str());
            hasher.update((target.len() as u64).to_le_bytes());
            hasher.update(&target);
        } else if meta.is_dir() {
            hash_dir_into(root, &path, hasher)?;
            hasher.update(b"end\0");
        } else {
            hasher.update(meta.len().to_le_bytes());
            let mut file = fs::File::open(&path).map_err(|e| io_error(&path, e))?;
            let mut buffer = vec![0u8; 64 * 1024];
            let mut total = 0u64;
            loop {
                let n = file.read(&mut buffer).map_err(|e| io_error(&path, e))?;
                if n == 0 {
                    break;
                }
                total += n as u64;
                hasher.update(&buffer[..n]);
            }
            if total != meta.len() {
                return Err(format!(
                    "{} changed while it was being read",
                    path.display()
                ));
            }
        }
    }
    Ok(())
}

#[cfg(unix)]
fn path_bytes(name: &std::ffi::OsStr) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    name.as_bytes().to_vec()
}

#[cfg(not(unix))]
fn path_bytes(name: &std::ffi::OsStr) -> Vec<u8> {
    name.to_string_lossy().as_bytes().to_vec()
}

#[cfg(unix)]
fn is_executable(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &fs::Metadata) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_that_escape_are_refused() {
        for bad in ["", ".", "..", "a/b", ".git", ".GIT", "a\\b"] {
            assert!(check_entry_name(bad).is_err(), "{bad:?} should be refused");
        }
        for good in ["a", ".gitignore", "..a", "kustomization.yaml"] {
            assert!(
                check_entry_name(good).is_ok(),
                "{good:?} should be accepted"
            );
        }
    }

    #[test]
    fn dir_hash_tracks_paths_contents_and_modes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir(root.join("sub")).unwrap();
        fs::write(root.join("sub/a.yaml"), "a: 1\n").unwrap();
        fs::write(root.join("b.yaml"), "b: 2\n").unwrap();
        let first = hash_dir(root).unwrap();
        assert_eq!(first, hash_dir(root).unwrap());
        assert_eq!(first.len(), 64);

        fs::write(root.join("sub/a.yaml"), "a: 2\n").unwrap();
        let changed = hash_dir(root).unwrap();
        assert_ne!(first, changed);
        fs::write(root.join("sub/a.yaml"), "a: 1\n").unwrap();
        assert_eq!(first, hash_dir(root).unwrap());

        // Moving content between files changes the hash even though the bytes are the same.
        fs::rename(root.join("b.yaml"), root.join("c.yaml")).unwrap();
        assert_ne!(first, hash_dir(root).unwrap());
        fs::rename(root.join("c.yaml"), root.join("b.yaml")).unwrap();

        // `.git` is not content.
        fs::create_dir(root.join(".git")).unwrap();
        fs::write(root.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
        assert_eq!(first, hash_dir(root).unwrap());

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(root.join("b.yaml"), fs::Permissions::from_mode(0o755)).unwrap();
            assert_ne!(first, hash_dir(root).unwrap());
        }
    }
}
