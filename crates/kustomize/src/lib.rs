//! flotilla-kustomize: a native implementation of `kustomize build` (v5.5.0
//! semantics), with no kustomize binary.
//!
//! [`build`] renders a kustomization directory into the list of objects
//! `kustomize build` would print, in the same order; [`build_to_string`]
//! prints them as kustomize does (via `flotilla_model::yaml::emit_stream`).
//!
//! Invariants:
//! - Pure and deterministic: all input is read through a [`FileSystem`]; no
//!   clock, no network, no environment variables.
//! - Files outside the kustomization root are refused unless the load
//!   restrictor is [`LoadRestrictor::None`], as in kustomize.
//! - Remote bases, Helm charts, exec/container plugins and KRM functions are
//!   refused with a "not supported yet" error, never skipped.
//! - Errors name the kustomization file and the offending entry.

mod crds;
mod error;
mod fieldspec;
pub mod fs;
mod generators;
mod hash;
mod kustomization;
mod loader;
mod nameref;
mod origin;
mod patches;
mod replacements;
mod resid;
mod resource;
mod selector;
mod sort;
mod target;
mod transforms;
mod vars;

pub use error::KustomizeError;
pub use fs::{DiskFs, FileSystem, LoadRestrictor, MemFs};
pub use hash::hash as content_hash;

use serde_json::Value;
use std::cell::RefCell;
use std::path::Path;

/// Resource order of the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reorder {
    /// kustomize's legacy order (the CLI default): namespaces and cluster
    /// types first, webhooks last.
    #[default]
    Legacy,
    /// Input (depth-first accumulation) order.
    None,
}

/// Options of one build, named after the `kustomize build` flags.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub load_restrictor: LoadRestrictor,
    pub reorder: Reorder,
    /// Add `app.kubernetes.io/managed-by` (`--enable-managedby-label`).
    pub enable_managed_by_label: bool,
    /// Build sibling bases on several threads. The output is identical
    /// either way; only the time differs.
    pub parallel: bool,
}

/// The value kustomize puts into `app.kubernetes.io/managed-by`.
pub const MANAGED_BY: &str = "kustomize-(devel)";

/// Build the kustomization in `dir` from the real disk.
pub fn build(dir: &Path, options: &BuildOptions) -> Result<Vec<Value>, KustomizeError> {
    let abs = if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| KustomizeError::new(format!("cannot read the current directory: {e}")))?
            .join(dir)
    };
    build_with(&DiskFs, &abs, options)
}

/// Build and print the YAML stream exactly as `kustomize build` prints it.
pub fn build_to_string(dir: &Path, options: &BuildOptions) -> Result<String, KustomizeError> {
    Ok(flotilla_model::yaml::emit_stream(&build(dir, options)?))
}

/// Build the kustomization at the absolute path `dir` of `fs`.
pub fn build_with(
    fs: &dyn FileSystem,
    dir: &Path,
    options: &BuildOptions,
) -> Result<Vec<Value>, KustomizeError> {
    let root = fs::clean(dir);
    if !fs.is_dir(&root) {
        return Err(KustomizeError::new(format!(
            "must build at directory: not a valid directory: evalsymlink failure on '{}' : lstat {}: no such file or directory",
            root.display(),
            root.display()
        )));
    }
    let session = target::Session {
        merge_cache: std::sync::Arc::new(std::sync::Mutex::new(fieldspec::MergeCache::default())),
        schema: RefCell::new(target::SchemaState {
            schema: std::sync::Arc::new(flotilla_patch::MergeSchema::builtin()),
            set: false,
        }),
        parallel: options.parallel,
        _fs: std::marker::PhantomData,
    };
    let ldr = loader::Loader {
        fs,
        root,
        restrictor: options.load_restrictor,
        visited: Vec::new(),
    };
    let mut top = target::Target::load(&session, ldr)?;
    top.set_openapi(true).map_err(|e| e.in_file(&top.kfile()))?;
    if !top.k.build_metadata.is_empty() {
        for b in &top.k.build_metadata {
            if ![
                "originAnnotations",
                "transformerAnnotations",
                "managedByLabel",
            ]
            .contains(&b.as_str())
            {
                return Err(KustomizeError::new(format!(
                    "invalid buildMetadata option: {b}; must be one of originAnnotations, transformerAnnotations, managedByLabel"
                )));
            }
        }
        top.origin = Some(origin::OriginCtx::default());
    }
    let kfile = top.kfile();
    let mut acc = top.accumulate(target::Accumulator::new())?;
    finish(&mut acc, &top.k, options).map_err(|e| e.in_file(&kfile))?;
    Ok(acc.res.into_iter().map(|r| r.obj).collect())
}

/// The steps kustomize runs once, at the top: hash suffixes, name
/// references, vars, local-config removal, order, build metadata.
fn finish(
    acc: &mut target::Accumulator,
    k: &kustomization::Kustomization,
    options: &BuildOptions,
) -> Result<(), KustomizeError> {
    for r in acc.res.iter_mut() {
        if r.needs_hash {
            let h = hash::hash(&r.obj);
            r.store_previous_id();
            let name = format!("{}-{h}", r.name());
            r.set_name(&name);
        }
    }
    nameref::fix(&mut acc.res, &acc.tc)?;
    vars::resolve(&mut acc.res, &acc.vars, &acc.tc.var_reference)?;
    acc.res.retain(|r| {
        r.obj
            .pointer("/metadata/annotations/config.kubernetes.io~1local-config")
            .and_then(Value::as_str)
            != Some("true")
    });

    sort::apply(&mut acc.res, k.sort_options.as_ref(), options.reorder)?;

    let bm = &k.build_metadata;
    if options.enable_managed_by_label || bm.iter().any(|b| b == "managedByLabel") {
        for r in acc.res.iter_mut() {
            let md = r.metadata_mut();
            let labels = md
                .entry("labels")
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            resource::ensure_object(labels).insert(
                "app.kubernetes.io/managed-by".into(),
                Value::String(MANAGED_BY.into()),
            );
        }
    }
    let origins = bm.iter().any(|b| b == "originAnnotations");
    let transformers = bm.iter().any(|b| b == "transformerAnnotations");
    for r in acc.res.iter_mut() {
        origin::finish(r, origins, transformers);
    }
    Ok(())
}
