//! kustomize's file loader: paths relative to a kustomization root, the load
//! restrictor, and cycle detection between kustomization directories.

use crate::error::KustomizeError;
use crate::fs::{EntryKind, FileSystem, LoadRestrictor, clean};
use std::path::{Path, PathBuf};

#[derive(Clone)]
pub struct Loader<'a> {
    pub fs: &'a dyn FileSystem,
    pub root: PathBuf,
    pub restrictor: LoadRestrictor,
    /// Kustomization roots on the way here, for cycle detection.
    pub visited: Vec<PathBuf>,
}

pub fn is_remote(target: &str) -> bool {
    target.contains("://")
        || target.starts_with("git@")
        || target.starts_with("github.com/")
        || target.starts_with("gitlab.com/")
        || target.starts_with("bitbucket.org/")
}

impl<'a> Loader<'a> {
    pub fn resolve(&self, rel: &str) -> PathBuf {
        let p = Path::new(rel);
        if p.is_absolute() {
            clean(p)
        } else {
            clean(&self.root.join(p))
        }
    }

    fn not_found(path: &Path) -> KustomizeError {
        KustomizeError::new(format!(
            "evalsymlink failure on '{}' : lstat {}: no such file or directory",
            path.display(),
            path.display()
        ))
    }

    /// Read a file named relative to the root, enforcing the restrictor.
    pub fn load(&self, rel: &str) -> Result<Vec<u8>, KustomizeError> {
        if is_remote(rel) {
            return Err(KustomizeError::new(format!(
                "loading '{rel}': remote files are not supported yet"
            )));
        }
        let path = self.resolve(rel);
        let kind = self.fs.kind(&path);
        if kind.is_none() {
            return Err(Self::not_found(&path));
        }
        if self.restrictor == LoadRestrictor::RootOnly && !path.starts_with(&self.root) {
            return Err(KustomizeError::new(format!(
                "security; file '{}' is not in or below '{}'",
                path.display(),
                self.root.display()
            )));
        }
        if kind == Some(EntryKind::Dir) {
            return Err(KustomizeError::new(format!(
                "read {}: is a directory",
                path.display()
            )));
        }
        self.fs
            .read(&path)
            .map_err(|e| KustomizeError::new(format!("reading '{}': {e}", path.display())))
    }

    pub fn load_string(&self, rel: &str) -> Result<String, KustomizeError> {
        let bytes = self.load(rel)?;
        String::from_utf8(bytes)
            .map_err(|_| KustomizeError::new(format!("'{rel}' is not valid UTF-8 text")))
    }

    /// A loader for a sub-directory (a base or component).
    pub fn child(&self, rel: &str) -> Result<Loader<'a>, KustomizeError> {
        if is_remote(rel) {
            return Err(KustomizeError::new(format!(
                "'{rel}': remote bases are not supported yet"
            )));
        }
        let path = self.resolve(rel);
        let kind = self.fs.kind(&path);
        if kind.is_none() {
            return Err(Self::not_found(&path));
        }
        if kind != Some(EntryKind::Dir) {
            return Err(KustomizeError::new(format!(
                "must build at directory: '{}': file is not directory",
                path.display()
            )));
        }
        let mut visited = self.visited.clone();
        visited.push(self.root.clone());
        for v in &visited {
            if v.starts_with(&path) {
                return Err(KustomizeError::new(format!(
                    "cycle detected: candidate root '{}' contains visited root '{}'",
                    path.display(),
                    v.display()
                )));
            }
        }
        Ok(Loader {
            fs: self.fs,
            root: path,
            restrictor: self.restrictor,
            visited,
        })
    }
}
