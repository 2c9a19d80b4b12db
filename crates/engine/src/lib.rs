//! flotilla-engine: make one cluster match one *unit* (a named set of
//! rendered objects), safely.
//!
//! Pipeline for `apply`: validate the unit, run per-object transforms (the
//! hook for sealed-secret unsealing), map every kind to its resource through
//! discovery (cached per cluster, refreshed when a kind is unknown), read live
//! state, **plan** (create / update with a diff of only changed fields /
//! unchanged / prune), then apply with server-side apply (field manager
//! `flotilla`) in stages (CRDs, Namespaces, cluster-wide RBAC first; CRDs
//! waited on until Established), prune what left the unit, and optionally wait
//! for health.
//!
//! Invariants:
//! - The set of objects a unit owns lives in the target cluster (the
//!   *inventory*, chunked ConfigMaps in `flotilla-system`). It is grown to the
//!   union of old and new **before** anything is applied and shrunk only
//!   **after** pruning succeeded, so a crash at any point leaves no orphans.
//! - Prune only ever deletes objects listed in the unit's inventory, never one
//!   annotated `flotilla.dev/prune: disabled`, and refuses to run when the
//!   unit suddenly renders nothing while its inventory is not empty.
//! - An unchanged unit re-applied sends no write request: desired state is
//!   compared with live state over the fields flotilla owns, and a dry-run
//!   apply is sent only where that comparison cannot decide.
//! - Secret values never appear in plans, diffs or errors.
//! - Conflicts: fields another *applier* owns, or an object labelled for
//!   another unit, block the apply (nothing is written) unless
//!   `force_conflicts`. Fields flotilla applied before and someone changed
//!   imperatively (an `Update` manager such as `kubectl edit`) are drift:
//!   reported as such and taken back on the next apply.
//! - All per-cluster state is held by [`ClusterHandle`]; there are no globals.

pub mod compare;
pub mod counting;
pub mod discovery;
pub mod inventory;
pub mod render;
pub mod stage;
pub mod unit;

mod apply;
mod cluster;
mod plan;
mod wait;

pub use apply::{ApplyOptions, ApplyReport, ObjectFailure};
pub use cluster::ClusterHandle;
pub use counting::{RequestCounter, RequestCounts};
pub use inventory::{Inventory, ObjectKey};
pub use plan::{Action, Change, Plan, PlanOptions, Summary};
pub use unit::{Transform, Unit};
pub use wait::{ObjectHealth, WaitOptions, WaitReport};

/// The field manager every write uses.
pub const FIELD_MANAGER: &str = "flotilla";
/// Label put on every applied object, naming the unit that owns it.
pub const UNIT_LABEL: &str = "flotilla.dev/unit";
/// Annotation: `disabled` keeps an object from ever being pruned.
pub const PRUNE_ANNOTATION: &str = "flotilla.dev/prune";
/// Annotation: `enabled` lets an immutable-field change delete and recreate.
pub const FORCE_ANNOTATION: &str = "flotilla.dev/force";
