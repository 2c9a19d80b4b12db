//! Kubernetes objects as plain data.
//!
//! Every renderer produces, and the engine consumes, objects as
//! `serde_json::Value` (with `preserve_order`, so input key order survives).
//! This crate owns the identity of an object ([`ObjectRef`]) and the YAML
//! boundary: parsing manifests ([`yaml::parse_stream`]) and writing them in the
//! exact format `kustomize build` prints ([`yaml::emit_stream`]).
//!
//! Invariants of the YAML boundary:
//! - Reading gives values the meaning kustomize gives them: go-yaml v3 as
//!   kyaml uses it for manifests, go-yaml v2 as sigs.k8s.io/yaml uses it for
//!   kustomization files ([`yaml::Dialect`]). Input go-yaml rejects is
//!   rejected, with line and column (and go-yaml's wording via
//!   [`yaml::YamlError::go_message`]).
//! - Writing is a pure function of the value and matches kustomize v5.5.0
//!   byte for byte (checked against every output of the conformance corpus
//!   and against go-yaml itself on generated values); it never fails.
//! - Neither side panics on any input.

pub mod gojson;
pub mod object;
pub mod yaml;

pub use object::{ObjectRef, group_version};
pub use serde_json::Value;
