//! flotilla-health: the health of a live Kubernetes object, as pure functions
//! over its JSON (`serde_json::Value`, as read from the API server).
//!
//! # Built-in rules: a port of kstatus
//!
//! [`compute`] follows `sigs.k8s.io/cli-utils/pkg/kstatus/status.Compute`:
//!
//! 1. `metadata.deletionTimestamp` set: [`Status::Terminating`].
//! 2. `metadata.generation` and `status.observedGeneration` both set and
//!    different: [`Status::InProgress`] (reason `LatestGenerationNotObserved`).
//! 3. A `Reconciling=True` condition: `InProgress`; a `Stalled=True`
//!    condition: [`Status::Failed`]. The first of the two in list order wins,
//!    and it overrides every per-kind rule.
//! 4. Per-kind rules, by API group and kind (any version):
//!    - `apps` / `extensions` Deployment: `Progressing` with reason
//!      `ProgressDeadlineExceeded` is `Failed`; otherwise `InProgress` until
//!      `status.replicas`, `updatedReplicas`, `availableReplicas` and
//!      `readyReplicas` match `spec.replicas` (default 1), no extra pods are
//!      terminating, `Progressing` says `NewReplicaSetAvailable` (unless no
//!      `progressDeadlineSeconds` is set) and `Available=True`.
//!    - `apps` StatefulSet: `OnDelete` strategy is always `Current`; otherwise
//!      replicas, ready, no extra pods; with a rolling-update `partition`,
//!      `updatedReplicas >= replicas - partition` is enough; without one,
//!      `currentReplicas` and `currentRevision == updateRevision`.
//!    - `apps` / `extensions` DaemonSet: generation and observedGeneration
//!      must be set; then desired = current = updated = available = ready.
//!    - `apps` / `extensions` ReplicaSet: `ReplicaFailure=True` is
//!      `InProgress`; labelled, available, ready replicas; no extra pods.
//!    - Pod: `Succeeded` and `Failed` phases are `Current` (the Pod is done);
//!      `Running` is `Current` when `Ready=True`, `Failed` when a container
//!      waits in `CrashLoopBackOff`, else `InProgress`; `Pending` and
//!      unschedulable for more than 15 s after creation is `Failed`; no phase
//!      is `InProgress`; an unknown phase is [`Status::Unknown`].
//!    - `batch` Job: `Complete=True` `Current`, `Failed=True` `Failed`,
//!      `Suspended=True` with `spec.suspend` `Current`, not started
//!      `InProgress`, started and running `Current`.
//!    - PersistentVolumeClaim: `Current` when `status.phase` is `Bound`.
//!    - Service: a LoadBalancer is `InProgress` only while `spec.clusterIP`
//!      is empty (kstatus does not wait for `status.loadBalancer.ingress`).
//!    - `policy` PodDisruptionBudget: `Current` (the generation check
//!      already ran).
//!    - `apiextensions.k8s.io` CustomResourceDefinition: `NamesAccepted=False`
//!      or `Established=False` (reason other than `Installing`) is `Failed`,
//!      `Established=True` is `Current`, otherwise `InProgress`.
//!    - Secret, ConfigMap, `batch` CronJob: always `Current`.
//! 5. Other kinds: a `Ready` condition decides (`True` is `Current`, `False`
//!    or `Unknown` is `InProgress`).
//! 6. Otherwise `Current`.
//!
//! A malformed object (say `status.conditions` that is not a list, or a
//! non-integer `metadata.generation`) is [`Status::Unknown`] with a message
//! naming the field; kstatus returns an error there. [`Status::NotFound`] is
//! never computed: it is for callers that looked for an object and found none.
//!
//! # Custom rules: Flux `healthCheckExprs`
//!
//! [`CustomRules`] evaluates CEL rules with the semantics of Flux's
//! `fluxcd/pkg/runtime/cel` status evaluator; see [`custom`] for details.
//!
//! # Invariants
//!
//! - Nothing here panics on input, touches the network, or logs.
//! - Messages never contain field values other than names, reasons,
//!   messages and counts already shown by the object's own status; CEL
//!   errors name types, never values (a rule could read a Secret).
//! - Built-in health borrows from the object: it allocates the result and
//!   one list of borrowed conditions. Custom rules convert to CEL values only
//!   the parts of the object their expressions can observe (see
//!   [`custom`]), borrowing every string.

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use serde::Serialize;

pub mod custom;
mod fields;
mod kstatus;
mod projection;

pub use custom::{CustomRules, ExprRole, HealthCheckExpr, HealthError};
pub use kstatus::SCHEDULE_WINDOW;

/// The health of an object, with kstatus' names and meanings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Status {
    /// Not yet reconciled: the controller is still working towards the spec.
    InProgress,
    /// Reconciliation failed and will not succeed without a change.
    Failed,
    /// Fully reconciled.
    Current,
    /// Being deleted.
    Terminating,
    /// The object does not exist (set by callers; [`compute`] never returns it).
    NotFound,
    /// The status could not be determined.
    Unknown,
}

impl Status {
    /// The kstatus name: `InProgress`, `Failed`, `Current`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Status::InProgress => "InProgress",
            Status::Failed => "Failed",
            Status::Current => "Current",
            Status::Terminating => "Terminating",
            Status::NotFound => "NotFound",
            Status::Unknown => "Unknown",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name is not one of kstatus' statuses.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "unknown health status {0:?} (expected InProgress, Failed, Current, Terminating, NotFound or Unknown)"
)]
pub struct ParseStatusError(String);

impl FromStr for Status {
    type Err = ParseStatusError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "InProgress" => Status::InProgress,
            "Failed" => Status::Failed,
            "Current" => Status::Current,
            "Terminating" => Status::Terminating,
            "NotFound" => Status::NotFound,
            "Unknown" => Status::Unknown,
            _ => return Err(ParseStatusError(s.to_owned())),
        })
    }
}

/// The standard conditions kstatus derives ("abnormal-true" convention).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum ConditionType {
    /// The object is not yet reconciled (goes with [`Status::InProgress`]).
    Reconciling,
    /// The object's reconciliation is stuck (goes with [`Status::Failed`]).
    Stalled,
}

/// A Kubernetes condition status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

/// A derived kstatus condition, serialized like a Kubernetes condition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Condition {
    #[serde(rename = "type")]
    pub condition_type: ConditionType,
    pub status: ConditionStatus,
    pub reason: String,
    pub message: String,
}

impl Condition {
    fn new(condition_type: ConditionType, reason: &str, message: &str) -> Condition {
        Condition {
            condition_type,
            status: ConditionStatus::True,
            reason: reason.to_owned(),
            message: message.to_owned(),
        }
    }
}

/// The computed health of one object.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Health {
    pub status: Status,
    /// Why, for humans (kstatus' message).
    pub message: String,
    /// The kstatus `Reconciling`/`Stalled` condition behind an `InProgress`
    /// or `Failed` status, when kstatus derives one.
    pub conditions: Vec<Condition>,
}

impl Health {
    /// The health of an object that does not exist.
    pub fn not_found() -> Health {
        Health {
            status: Status::NotFound,
            message: "Resource not found".to_owned(),
            conditions: Vec::new(),
        }
    }

    /// A health whose status could not be determined, with the reason.
    pub fn unknown(message: impl Into<String>) -> Health {
        Health {
            status: Status::Unknown,
            message: message.into(),
            conditions: Vec::new(),
        }
    }
}

/// kstatus `Compute`: the health of a live object by the built-in rules
/// (see the crate documentation). Never fails: a malformed object is
/// [`Status::Unknown`] with the reason in the message.
pub fn compute(obj: &serde_json::Value) -> Health {
    kstatus::compute_at(obj, SystemTime::now())
}

/// [`compute`] at a given time; only the Pod rule reads the clock (an
/// unschedulable Pod fails once [`SCHEDULE_WINDOW`] has passed).
pub fn compute_at(obj: &serde_json::Value, now: SystemTime) -> Health {
    kstatus::compute_at(obj, now)
}

#[cfg(test)]
mod tests;
