//! The file-system view the engine reads through, and kustomize's loader rules.
//!
//! The engine never touches `std::fs` directly: everything goes through
//! [`FileSystem`], so a build can read from a Git object database as well as a
//! directory. Paths are cleaned lexically (no symlink resolution), so the same
//! tree gives the same result wherever it lives.

use std::io;
use std::path::{Component, Path, PathBuf};

/// A read-only file tree.
pub trait FileSystem: Sync {
    /// The whole content of a regular file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// The names of a directory's entries, sorted.
    fn read_dir(&self, path: &Path) -> io::Result<Vec<String>>;
    /// Whether `path` is a directory.
    fn is_dir(&self, path: &Path) -> bool;
    /// Whether anything exists at `path`.
    fn exists(&self, path: &Path) -> bool;
    /// What is at `path` (one lookup where the implementation can).
    fn kind(&self, path: &Path) -> Option<EntryKind> {
        if self.is_dir(path) {
            Some(EntryKind::Dir)
        } else if self.exists(path) {
            Some(EntryKind::File)
        } else {
            None
        }
    }
}

/// A directory entry's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
}

/// The real disk.
#[derive(Debug, Default, Clone, Copy)]
pub struct DiskFs;

impl FileSystem for DiskFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(path)? {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }
    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }
    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }
    fn kind(&self, path: &Path) -> Option<EntryKind> {
        let md = std::fs::metadata(path).ok()?;
        Some(if md.is_dir() {
            EntryKind::Dir
        } else {
            EntryKind::File
        })
    }
}

/// Lexically clean a path: drop `.`, resolve `..` against earlier parts.
pub fn clean(path: &Path) -> PathBuf {
    let mut out: Vec<Component> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir) | Some(Component::Prefix(_)) => {}
                _ => out.push(c),
            },
            other => out.push(other),
        }
    }
    if out.is_empty() {
        return PathBuf::from(".");
    }
    out.iter().collect()
}

/// Whether loads are confined to the kustomization root (kustomize's default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadRestrictor {
    #[default]
    RootOnly,
    None,
}

/// An in-memory tree (tests, fuzzing, and trees read from a Git object database).
#[derive(Debug, Default, Clone)]
pub struct MemFs {
    files: std::collections::BTreeMap<PathBuf, Vec<u8>>,
    dirs: std::collections::BTreeSet<PathBuf>,
}

impl MemFs {
    pub fn new() -> MemFs {
        MemFs::default()
    }

    /// Add a directory (and its parents).
    pub fn add_dir(&mut self, path: &Path) {
        let mut p = clean(path);
        loop {
            self.dirs.insert(p.clone());
            match p.parent() {
                Some(parent) if parent != p && !parent.as_os_str().is_empty() => {
                    p = parent.to_path_buf()
                }
                _ => break,
            }
        }
    }

    /// Add a file (and its parent directories).
    pub fn add_file(&mut self, path: &Path, content: impl Into<Vec<u8>>) {
        let p = clean(path);
        if let Some(parent) = p.parent() {
            self.add_dir(parent);
        }
        self.files.insert(p, content.into());
    }
}

impl FileSystem for MemFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.files.get(&clean(path)).cloned().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{}: not found", path.display()),
            )
        })
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        let p = clean(path);
        let mut names: Vec<String> = self
            .files
            .keys()
            .chain(self.dirs.iter())
            .filter(|k| k.parent() == Some(p.as_path()))
            .filter_map(|k| k.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }
    fn is_dir(&self, path: &Path) -> bool {
        self.dirs.contains(&clean(path))
    }
    fn exists(&self, path: &Path) -> bool {
        let p = clean(path);
        self.dirs.contains(&p) || self.files.contains_key(&p)
    }
}
