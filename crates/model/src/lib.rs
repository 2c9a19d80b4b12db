//! Kubernetes objects as plain data.
//!
//! Every renderer produces, and the engine consumes, objects as
//! `serde_json::Value` (with `preserve_order`, so input key order survives).
//! This crate owns the identity of an object ([`ObjectRef`]) and the YAML
//! boundary: parsing manifests ([`yaml::parse_stream`]) and writing them in the
//! exact format `kustomize build` prints ([`yaml::emit_stream`]).

pub mod object;
pub mod yaml;

pub use object::{ObjectRef, group_version};
pub use serde_json::Value;
