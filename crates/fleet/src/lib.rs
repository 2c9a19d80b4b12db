//! flotilla-fleet: one Git repository describes many clusters, and flotilla
//! keeps all of them converged from one place.
//!
//! A fleet file ([`config::Fleet`]) declares clusters (labels, owner, how to
//! connect), sources and units targeted at clusters by label selector.
//! Clusters with a Flux directory add the units its Flux `Kustomization`s
//! describe ([`flux`]), read without any Flux controller. [`desired`]
//! resolves and renders what each cluster should run (renders shared across
//! clusters, units in `dependsOn` order); [`run`] plans, syncs and reads
//! status on all clusters in parallel through `flotilla-engine`; [`query`]
//! answers `where` and `compare` from the desired state.
//!
//! Invariants:
//! - Each cluster is reached only with its own kubeconfig or credential
//!   reference; no credential is ever read for, or sent to, another cluster.
//! - One cluster being unreachable or failing never blocks or fails the
//!   others; it is reported by name.
//! - A unit whose dependency did not converge is not applied.
//! - Rendering never writes to the repository (Flux's generated
//!   kustomization lives in an overlay file system).

pub mod config;
pub mod connect;
pub mod dag;
pub mod desired;
pub mod flux;
pub mod query;
pub mod render;
pub mod run;
pub mod selector;
pub mod subst;

pub use config::Fleet;
pub use desired::{ClusterDesired, DesiredUnit, resolve};
pub use render::RenderCache;
pub use selector::LabelSelector;
