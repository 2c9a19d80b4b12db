//! flotilla-patch: Kubernetes strategic merge patch and JSON Patch.
//!
//! - [`strategic_merge`] merges a patch object into a base object the way
//!   kustomize v5.5.0 does for `patches` / `patchesStrategicMerge` (kyaml's
//!   `merge2` walker with list elements from the patch placed first), driven
//!   by a [`MergeSchema`] of list merge keys. It additionally understands the
//!   apimachinery directives `$setElementOrder/<list>`, `$retainKeys` and
//!   `$deleteFromPrimitiveList/<list>`, which kustomize would copy verbatim.
//! - [`json_patch`] applies an RFC 6902 operations array.
//!
//! Invariants: inputs are never modified; nothing panics on input data; error
//! messages name the field path or JSON pointer and never include values from
//! the documents (they may be secrets).

mod json_patch;
mod schema;
mod smp;

pub use json_patch::json_patch;
pub use schema::MergeSchema;
pub use smp::{strategic_merge, strategic_merge_opt};

/// A patch could not be applied, or a schema could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    /// Base and patch disagree on the kind of a node (map, list, scalar).
    #[error("strategic merge patch at {path}: cannot merge a {patch} from the patch into a {base}")]
    KindMismatch {
        path: String,
        base: &'static str,
        patch: &'static str,
    },
    /// A `$patch` (or other `$`) directive is malformed or unknown.
    #[error("strategic merge patch at {path}: {message}")]
    Directive { path: String, message: String },
    /// A JSON Patch operation failed.
    #[error("JSON patch operation {index} ({op} {pointer:?}): {message}")]
    JsonPatch {
        index: usize,
        op: String,
        pointer: String,
        message: String,
    },
    /// A custom OpenAPI or CRD schema is malformed.
    #[error("merge schema: {message}")]
    Schema { message: String },
}
