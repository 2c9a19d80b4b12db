//! Table-driven tests of the kstatus port, in the spirit of kstatus'
//! `status_compute_test.go` (objects written for this crate).

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use crate::{ConditionStatus, ConditionType, Status, compute, compute_at};

/// One case: an object, the status it must get, the kstatus condition it
/// must carry (type and reason) or none, and a fragment of the message.
struct Case {
    name: &'static str,
    obj: Value,
    status: Status,
    condition: Option<(ConditionType, &'static str)>,
    message: &'static str,
}

fn case(name: &'static str, obj: Value, status: Status) -> Case {
    Case {
        name,
        obj,
        status,
        condition: None,
        message: "",
    }
}

impl Case {
    fn reconciling(mut self, reason: &'static str) -> Case {
        self.condition = Some((ConditionType::Reconciling, reason));
        self
    }
    fn stalled(mut self, reason: &'static str) -> Case {
        self.condition = Some((ConditionType::Stalled, reason));
        self
    }
    fn message(mut self, fragment: &'static str) -> Case {
        self.message = fragment;
        self
    }
}

fn run(cases: Vec<Case>) {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let mut failures = Vec::new();
    for c in &cases {
        let health = compute_at(&c.obj, now);
        let mut problems = Vec::new();
        if health.status != c.status {
            problems.push(format!("status {} (want {})", health.status, c.status));
        }
        match c.condition {
            Some((kind, reason)) => {
                if health.conditions.len() != 1
                    || health.conditions[0].condition_type != kind
                    || health.conditions[0].reason != reason
                    || health.conditions[0].status != ConditionStatus::True
                {
                    problems.push(format!(
                        "conditions {:?} (want one {kind:?} {reason})",
                        health.conditions
                    ));
                }
            }
            None => {
                if !health.conditions.is_empty() {
                    problems.push(format!("conditions {:?} (want none)", health.conditions));
                }
            }
        }
        if !health.message.contains(c.message) {
            problems.push(format!(
                "message {:?} (want it to contain {:?})",
                health.message, c.message
            ));
        }
        if !problems.is_empty() {
            failures.push(format!("{}: {}", c.name, problems.join(", ")));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// RFC 3339 for `secs` seconds before the fixed test clock.
fn seconds_before_now(secs: i64) -> String {
    chrono::DateTime::from_timestamp(1_700_000_000 - secs, 0)
        .map(|t| t.to_rfc3339())
        .unwrap_or_default()
}

fn pod(status: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "p", "namespace": "ns", "generation": 1}, "status": status})
}

#[test]
fn pods() {
    run(vec![
        case(
            "no status",
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "generation": 1}}),
            Status::InProgress,
        )
        .reconciling("PodNotObserved"),
        case(
            "running and ready",
            pod(json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]})),
            Status::Current,
        )
        .message("Pod is Ready"),
        case(
            "succeeded",
            pod(json!({"phase": "Succeeded",
                       "conditions": [{"type": "Ready", "status": "False", "reason": "PodCompleted"}]})),
            Status::Current,
        )
        .message("completed successfully"),
        case(
            "failed phase is done, so current in kstatus",
            pod(json!({"phase": "Failed",
                       "conditions": [{"type": "Ready", "status": "False", "reason": "PodCompleted"}]})),
            Status::Current,
        )
        .message("not successfully"),
        case(
            "running, not ready",
            pod(json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}]})),
            Status::InProgress,
        )
        .reconciling("PodRunningNotReady"),
        case(
            "crash looping",
            pod(json!({"phase": "Running",
                       "conditions": [{"type": "Ready", "status": "False"}],
                       "containerStatuses": [
                           {"name": "nginx", "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
                           {"name": "sidecar", "state": {"running": {}}},
                           {"name": "init", "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
                           "malformed",
                           {"state": {"waiting": {"reason": "CrashLoopBackOff"}}}
                       ]})),
            Status::Failed,
        )
        .stalled("ContainerCrashLooping")
        .message("Containers in CrashLoop state: nginx,init"),
        case(
            "pending",
            pod(json!({"phase": "Pending"})),
            Status::InProgress,
        )
        .reconciling("PodPending"),
        case(
            "unschedulable, created 5s ago",
            json!({"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": "p", "creationTimestamp": seconds_before_now(5)},
                   "status": {"phase": "Pending", "conditions": [
                       {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]}}),
            Status::InProgress,
        )
        .reconciling("PodNotScheduled"),
        case(
            "unschedulable, created a minute ago",
            json!({"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": "p", "creationTimestamp": seconds_before_now(60)},
                   "status": {"phase": "Pending", "conditions": [
                       {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]}}),
            Status::Failed,
        )
        .stalled("PodUnschedulable"),
        case(
            "unschedulable, no creation timestamp",
            pod(json!({"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]})),
            Status::Failed,
        )
        .stalled("PodUnschedulable"),
        case(
            "unknown phase",
            pod(json!({"phase": "Exploded"})),
            Status::Unknown,
        )
        .message("unknown phase Exploded"),
    ]);
}

#[test]
fn persistent_volume_claims() {
    run(vec![
        case(
            "no status",
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"}}),
            Status::InProgress,
        )
        .reconciling("NotBound")
        .message("phase: unknown"),
        case(
            "pending",
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"},
                   "status": {"phase": "Pending"}}),
            Status::InProgress,
        )
        .reconciling("NotBound"),
        case(
            "bound",
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"},
                   "status": {"phase": "Bound"}}),
            Status::Current,
        ),
    ]);
}

fn sts(spec: Value, status: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
           "metadata": {"name": "s", "generation": 1}, "spec": spec, "status": status})
}

#[test]
fn stateful_sets() {
    let healthy = json!({"observedGeneration": 1, "replicas": 2, "readyReplicas": 2,
                         "currentReplicas": 2, "updatedReplicas": 2,
                         "currentRevision": "r1", "updateRevision": "r1"});
    run(vec![
        case(
            "no status",
            json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"}}),
            Status::InProgress,
        )
        .reconciling("LessReplicas")
        .message("Replicas: 0/1"),
        case("all ok", sts(json!({"replicas": 2}), healthy.clone()), Status::Current)
            .message("Replicas: 2"),
        case(
            "fewer ready",
            sts(json!({"replicas": 2}), json!({"observedGeneration": 1, "replicas": 2, "readyReplicas": 1})),
            Status::InProgress,
        )
        .reconciling("LessReady")
        .message("Ready: 1/2"),
        case(
            "extra pods",
            sts(json!({"replicas": 2}),
                json!({"observedGeneration": 1, "replicas": 3, "readyReplicas": 3})),
            Status::InProgress,
        )
        .reconciling("ExtraPods")
        .message("Pending termination: 1"),
        case(
            "fewer current",
            sts(json!({"replicas": 2}),
                json!({"observedGeneration": 1, "replicas": 2, "readyReplicas": 2, "currentReplicas": 1})),
            Status::InProgress,
        )
        .reconciling("LessCurrent"),
        case(
            "revision mismatch",
            sts(json!({"replicas": 2}),
                json!({"observedGeneration": 1, "replicas": 2, "readyReplicas": 2, "currentReplicas": 2,
                       "currentRevision": "r1", "updateRevision": "r2"})),
            Status::InProgress,
        )
        .reconciling("RevisionMismatch"),
        case(
            "OnDelete is user managed",
            sts(json!({"replicas": 2, "updateStrategy": {"type": "OnDelete"}}), json!({})),
            Status::Current,
        )
        .message("ondelete"),
        case(
            "partition rollout complete",
            sts(json!({"replicas": 3, "updateStrategy": {"type": "RollingUpdate",
                        "rollingUpdate": {"partition": 2}}}),
                json!({"observedGeneration": 1, "replicas": 3, "readyReplicas": 3, "currentReplicas": 2,
                       "updatedReplicas": 1, "currentRevision": "r1", "updateRevision": "r2"})),
            Status::Current,
        )
        .message("Partition rollout complete. updated: 1"),
        case(
            "partition rollout in progress",
            sts(json!({"replicas": 3, "updateStrategy": {"type": "RollingUpdate",
                        "rollingUpdate": {"partition": 1}}}),
                json!({"observedGeneration": 1, "replicas": 3, "readyReplicas": 3, "currentReplicas": 2,
                       "updatedReplicas": 1, "currentRevision": "r1", "updateRevision": "r2"})),
            Status::InProgress,
        )
        .reconciling("PartitionRollout")
        .message("updated: 1/2"),
        case(
            "generation not observed",
            json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
                   "metadata": {"name": "s", "generation": 2}, "spec": {"replicas": 2},
                   "status": healthy}),
            Status::InProgress,
        )
        .reconciling("LatestGenerationNotObserved")
        .message("StatefulSet generation is 2, but latest observed generation is 1"),
    ]);
}

fn ds(metadata: Value, status: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": metadata, "status": status})
}

#[test]
fn daemon_sets() {
    let meta = json!({"name": "d", "generation": 1});
    run(vec![
        case(
            "no status",
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta.clone()}),
            Status::InProgress,
        )
        .reconciling("NoObservedGeneration"),
        case(
            "no generation",
            ds(json!({"name": "d"}), json!({"observedGeneration": 1})),
            Status::InProgress,
        )
        .reconciling("NoGeneration"),
        case(
            "no desired number",
            ds(meta.clone(), json!({"observedGeneration": 1})),
            Status::InProgress,
        )
        .reconciling("NoDesiredNumber"),
        case(
            "all ok",
            ds(
                meta.clone(),
                json!({"observedGeneration": 1, "desiredNumberScheduled": 3,
                "currentNumberScheduled": 3, "updatedNumberScheduled": 3,
                "numberAvailable": 3, "numberReady": 3}),
            ),
            Status::Current,
        )
        .message("Replicas: 3"),
        case(
            "fewer current",
            ds(
                meta.clone(),
                json!({"observedGeneration": 1, "desiredNumberScheduled": 3,
                "currentNumberScheduled": 2}),
            ),
            Status::InProgress,
        )
        .reconciling("LessCurrent")
        .message("Current: 2/3"),
        case(
            "fewer updated",
            ds(
                meta.clone(),
                json!({"observedGeneration": 1, "desiredNumberScheduled": 3,
                "currentNumberScheduled": 3, "updatedNumberScheduled": 1}),
            ),
            Status::InProgress,
        )
        .reconciling("LessUpdated"),
        case(
            "fewer available",
            ds(
                meta.clone(),
                json!({"observedGeneration": 1, "desiredNumberScheduled": 3,
                "currentNumberScheduled": 3, "updatedNumberScheduled": 3, "numberAvailable": 2,
                "numberReady": 3}),
            ),
            Status::InProgress,
        )
        .reconciling("LessAvailable"),
        case(
            "fewer ready",
            ds(
                meta.clone(),
                json!({"observedGeneration": 1, "desiredNumberScheduled": 3,
                "currentNumberScheduled": 3, "updatedNumberScheduled": 3, "numberAvailable": 3,
                "numberReady": 0}),
            ),
            Status::InProgress,
        )
        .reconciling("LessReady"),
        case(
            "extensions group too",
            json!({"apiVersion": "extensions/v1beta1", "kind": "DaemonSet", "metadata": meta}),
            Status::InProgress,
        )
        .reconciling("NoObservedGeneration"),
    ]);
}

fn deploy(spec: Value, status: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "web", "namespace": "ns", "generation": 1},
           "spec": spec, "status": status})
}

#[test]
fn deployments() {
    let available = json!([
        {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
        {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}
    ]);
    let counts = |r: i64, u: i64, a: i64, ready: i64| {
        json!({"observedGeneration": 1, "replicas": r, "updatedReplicas": u,
               "availableReplicas": a, "readyReplicas": ready, "conditions": available.clone()})
    };
    run(vec![
        case(
            "no status",
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}),
            Status::InProgress,
        )
        .reconciling("LessReplicas")
        .message("Replicas: 0/1"),
        case(
            "available",
            deploy(json!({"replicas": 2, "progressDeadlineSeconds": 600}), counts(2, 2, 2, 2)),
            Status::Current,
        )
        .message("Deployment is available. Replicas: 2"),
        case(
            "rolling out: fewer updated",
            deploy(json!({"replicas": 2}), counts(2, 1, 2, 2)),
            Status::InProgress,
        )
        .reconciling("LessUpdated")
        .message("Updated: 1/2"),
        case(
            "replica shortfall",
            deploy(json!({"replicas": 3}), counts(2, 2, 2, 2)),
            Status::InProgress,
        )
        .reconciling("LessReplicas")
        .message("Replicas: 2/3"),
        case(
            "old pods terminating",
            deploy(json!({"replicas": 2}), counts(3, 2, 2, 2)),
            Status::InProgress,
        )
        .reconciling("ExtraPods"),
        case(
            "updated but not available",
            deploy(json!({"replicas": 2}), counts(2, 2, 1, 2)),
            Status::InProgress,
        )
        .reconciling("LessAvailable")
        .message("Available: 1/2"),
        case(
            "not ready",
            deploy(json!({"replicas": 2}), counts(2, 2, 2, 1)),
            Status::InProgress,
        )
        .reconciling("LessReady"),
        case(
            "progress deadline exceeded is Failed with Stalled",
            deploy(json!({"replicas": 2, "progressDeadlineSeconds": 600}),
                json!({"observedGeneration": 1, "replicas": 2, "updatedReplicas": 1,
                       "conditions": [
                           {"type": "Available", "status": "False"},
                           {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                            "message": "ReplicaSet \"web-1\" has timed out progressing."}]})),
            Status::Failed,
        )
        .stalled("ProgressDeadlineExceeded")
        .message("Progress deadline exceeded"),
        case(
            "deadline set but new replica set not yet available",
            deploy(json!({"replicas": 1, "progressDeadlineSeconds": 600}),
                json!({"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1,
                       "availableReplicas": 1, "readyReplicas": 1, "conditions": [
                           {"type": "Available", "status": "True"},
                           {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"}]})),
            Status::InProgress,
        )
        .reconciling("ReplicaSetNotAvailable"),
        case(
            "no deadline: Progressing is not needed",
            deploy(json!({"replicas": 1}),
                json!({"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1,
                       "availableReplicas": 1, "readyReplicas": 1,
                       "conditions": [{"type": "Available", "status": "True"}]})),
            Status::Current,
        ),
        case(
            "Available=False",
            deploy(json!({"replicas": 1}),
                json!({"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1,
                       "availableReplicas": 1, "readyReplicas": 1, "conditions": [
                           {"type": "Available", "status": "False"},
                           {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]})),
            Status::InProgress,
        )
        .reconciling("DeploymentNotAvailable"),
        case(
            "scaled to zero",
            deploy(json!({"replicas": 0}),
                json!({"observedGeneration": 1, "conditions": available.clone()})),
            Status::Current,
        ),
        case(
            "generation lag beats everything",
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"name": "web", "generation": 5},
                   "spec": {"replicas": 1}, "status": counts(1, 1, 1, 1)}),
            Status::InProgress,
        )
        .reconciling("LatestGenerationNotObserved")
        .message("Deployment generation is 5, but latest observed generation is 1"),
        case(
            "same kind in another group is generic",
            json!({"apiVersion": "example.com/v1", "kind": "Deployment", "metadata": {"name": "x"}}),
            Status::Current,
        )
        .message("Resource is current"),
    ]);
}

fn rs(spec: Value, status: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "r", "generation": 1},
           "spec": spec, "status": status})
}

#[test]
fn replica_sets() {
    run(vec![
        case(
            "no status",
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "r"}}),
            Status::InProgress,
        )
        .reconciling("LessLabelled"),
        case(
            "all ok",
            rs(json!({"replicas": 2}), json!({"observedGeneration": 1, "replicas": 2,
                "readyReplicas": 2, "availableReplicas": 2, "fullyLabeledReplicas": 2})),
            Status::Current,
        )
        .message("ReplicaSet is available. Replicas: 2"),
        case(
            "replica failure",
            rs(json!({"replicas": 2}), json!({"observedGeneration": 1, "replicas": 2,
                "readyReplicas": 2, "availableReplicas": 2, "fullyLabeledReplicas": 2,
                "conditions": [{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate"}]})),
            Status::InProgress,
        )
        .reconciling("ReplicaFailure"),
        case(
            "fewer available",
            rs(json!({"replicas": 2}), json!({"observedGeneration": 1, "replicas": 2,
                "readyReplicas": 2, "availableReplicas": 1, "fullyLabeledReplicas": 2})),
            Status::InProgress,
        )
        .reconciling("LessAvailable"),
        case(
            "fewer ready",
            rs(json!({"replicas": 2}), json!({"observedGeneration": 1, "replicas": 2,
                "readyReplicas": 1, "availableReplicas": 2, "fullyLabeledReplicas": 2})),
            Status::InProgress,
        )
        .reconciling("LessReady"),
        case(
            "extra pods",
            rs(json!({"replicas": 2}), json!({"observedGeneration": 1, "replicas": 4,
                "readyReplicas": 2, "availableReplicas": 2, "fullyLabeledReplicas": 2})),
            Status::InProgress,
        )
        .reconciling("ExtraPods"),
    ]);
}

#[test]
fn pod_disruption_budgets() {
    run(vec![
        case(
            "not observed",
            json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                   "metadata": {"name": "b", "generation": 2}, "status": {"observedGeneration": 1}}),
            Status::InProgress,
        )
        .reconciling("LatestGenerationNotObserved"),
        case(
            "observed",
            json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                   "metadata": {"name": "b", "generation": 1}, "status": {"observedGeneration": 1}}),
            Status::Current,
        )
        .message("AllowedDisruptions has been computed."),
    ]);
}

fn job(spec: Value, status: Value) -> Value {
    json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j", "generation": 1},
           "spec": spec, "status": status})
}

#[test]
fn jobs_and_cron_jobs() {
    run(vec![
        case(
            "not started",
            json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}}),
            Status::InProgress,
        )
        .reconciling("JobNotStarted"),
        case(
            "complete",
            job(json!({"completions": 3}), json!({"succeeded": 3, "startTime": "2024-01-01T00:00:00Z",
                "conditions": [{"type": "Complete", "status": "True"}]})),
            Status::Current,
        )
        .message("Job Completed. succeeded: 3/3"),
        case(
            "failed",
            job(json!({"parallelism": 2}), json!({"failed": 6, "startTime": "2024-01-01T00:00:00Z",
                "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]})),
            Status::Failed,
        )
        .stalled("JobFailed")
        .message("Job Failed. failed: 6/2"),
        case(
            "running",
            job(json!({}), json!({"active": 1, "startTime": "2024-01-01T00:00:00Z"})),
            Status::Current,
        )
        .message("Job in progress. success:0, active: 1, failed: 0"),
        case(
            "suspended",
            job(json!({"suspend": true}),
                json!({"conditions": [{"type": "Suspended", "status": "True"}]})),
            Status::Current,
        )
        .message("Job is suspended"),
        case(
            "Suspended condition left over after resume",
            job(json!({"suspend": false}),
                json!({"conditions": [{"type": "Suspended", "status": "True"}]})),
            Status::InProgress,
        )
        .reconciling("JobNotStarted"),
        case(
            "cron job",
            json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"}}),
            Status::Current,
        )
        .message("always ready"),
    ]);
}

fn svc(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": spec})
}

#[test]
fn services() {
    run(vec![
        case("default type", svc(json!({})), Status::Current),
        case(
            "node port",
            svc(json!({"type": "NodePort", "clusterIP": "10.0.0.2"})),
            Status::Current,
        ),
        case(
            "load balancer without cluster IP",
            svc(json!({"type": "LoadBalancer"})),
            Status::InProgress,
        )
        .reconciling("NoIPAssigned"),
        // kstatus waits for the cluster IP only, not for status.loadBalancer.ingress.
        case(
            "load balancer with cluster IP but no ingress yet",
            svc(json!({"type": "LoadBalancer", "clusterIP": "10.0.0.3"})),
            Status::Current,
        )
        .message("Service is ready"),
    ]);
}

fn crd(conditions: Value) -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.example.com", "generation": 1},
           "status": {"conditions": conditions}})
}

#[test]
fn custom_resource_definitions() {
    run(vec![
        case(
            "no status",
            json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                   "metadata": {"name": "widgets.example.com"}}),
            Status::InProgress,
        )
        .reconciling("Installing"),
        case(
            "installing",
            crd(json!([{"type": "NamesAccepted", "status": "True"},
                       {"type": "Established", "status": "False", "reason": "Installing"}])),
            Status::InProgress,
        )
        .reconciling("Installing"),
        case(
            "names not accepted",
            crd(json!([{"type": "NamesAccepted", "status": "False", "reason": "MultipleNamesNotAllowed",
                        "message": "plural conflicts"},
                       {"type": "Established", "status": "False", "reason": "NotAccepted"}])),
            Status::Failed,
        )
        .stalled("MultipleNamesNotAllowed")
        .message("plural conflicts"),
        case(
            "not established",
            crd(json!([{"type": "Established", "status": "False", "reason": "NotAccepted"}])),
            Status::Failed,
        )
        .stalled("NotAccepted"),
        case(
            "established",
            crd(json!([{"type": "NamesAccepted", "status": "True"},
                       {"type": "Established", "status": "True"}])),
            Status::Current,
        )
        .message("CRD is established"),
    ]);
}

fn cr(status: Value) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget",
           "metadata": {"name": "w", "namespace": "ns", "generation": 1}, "status": status})
}

#[test]
fn generic_resources() {
    run(vec![
        case(
            "no status",
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "generation": 1}}),
            Status::Current,
        )
        .message("Resource is current"),
        case(
            "Ready=True",
            cr(json!({"conditions": [{"type": "Ready", "status": "True", "reason": "AllOk"}]})),
            Status::Current,
        )
        .message("Resource is Ready"),
        case(
            "Ready=False",
            cr(json!({"observedGeneration": 1,
                      "conditions": [{"type": "Ready", "status": "False", "reason": "NotReadyYet",
                                      "message": "waiting for backend"}]})),
            Status::InProgress,
        )
        .reconciling("NotReadyYet")
        .message("waiting for backend"),
        case(
            "Ready=Unknown",
            cr(json!({"conditions": [{"type": "Ready", "status": "Unknown", "reason": "Probing"}]})),
            Status::InProgress,
        )
        .reconciling("Probing"),
        case(
            "other conditions only",
            cr(json!({"conditions": [{"type": "SomeCondition", "status": "False"}]})),
            Status::Current,
        ),
        case(
            "Ready=False and Stalled=True is Failed",
            cr(json!({"conditions": [
                {"type": "Ready", "status": "False", "reason": "Broken"},
                {"type": "Stalled", "status": "True", "reason": "InvalidSpec", "message": "bad spec"}]})),
            Status::Failed,
        )
        .stalled("InvalidSpec")
        .message("bad spec"),
        case(
            "Reconciling=True",
            cr(json!({"conditions": [
                {"type": "Ready", "status": "True"},
                {"type": "Reconciling", "status": "True", "reason": "Progressing", "message": "working"}]})),
            Status::InProgress,
        )
        .reconciling("Progressing")
        .message("working"),
        case(
            "first of Reconciling and Stalled wins",
            cr(json!({"conditions": [
                {"type": "Reconciling", "status": "True", "reason": "Retrying"},
                {"type": "Stalled", "status": "True", "reason": "Oops"}]})),
            Status::InProgress,
        )
        .reconciling("Retrying"),
        case(
            "Stalled=False is ignored",
            cr(json!({"conditions": [
                {"type": "Stalled", "status": "False"}, {"type": "Ready", "status": "True"}]})),
            Status::Current,
        ),
        case(
            "observedGeneration lag",
            json!({"apiVersion": "example.com/v1", "kind": "Widget",
                   "metadata": {"name": "w", "generation": 2},
                   "status": {"observedGeneration": 1,
                              "conditions": [{"type": "Ready", "status": "True"}]}}),
            Status::InProgress,
        )
        .reconciling("LatestGenerationNotObserved")
        .message("Widget generation is 2, but latest observed generation is 1"),
        case(
            "Stalled overrides a built-in kind's rule",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                   "status": {"conditions": [{"type": "Stalled", "status": "True", "reason": "X"}]}}),
            Status::Failed,
        )
        .stalled("X"),
        case(
            "secret",
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "dg=="}}),
            Status::Current,
        )
        .message("always ready"),
        case(
            "config map",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
            Status::Current,
        ),
        case(
            "namespace",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"},
                   "status": {"phase": "Active"}}),
            Status::Current,
        ),
    ]);
}

#[test]
fn deletion_and_malformed_objects() {
    run(vec![
        case(
            "deletion timestamp wins over a healthy Deployment",
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"name": "web", "generation": 1, "deletionTimestamp": "2024-01-01T00:00:00Z"},
                   "spec": {"replicas": 0}, "status": {"observedGeneration": 1}}),
            Status::Terminating,
        )
        .message("scheduled for deletion"),
        case(
            "deletion timestamp on a custom resource with a generation lag",
            json!({"apiVersion": "example.com/v1", "kind": "Widget",
                   "metadata": {"name": "w", "generation": 3, "deletionTimestamp": "2024-01-01T00:00:00Z"},
                   "status": {"observedGeneration": 1}}),
            Status::Terminating,
        ),
        case(
            "empty deletion timestamp is not deletion",
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "c", "deletionTimestamp": ""}}),
            Status::Current,
        ),
        case(
            "conditions not a list",
            cr(json!({"conditions": {"type": "Ready"}})),
            Status::Unknown,
        )
        .message(".status.conditions is a object, expected a list"),
        case(
            "condition status not a string",
            cr(json!({"conditions": [{"type": "Ready", "status": true}]})),
            Status::Unknown,
        )
        .message(".status.conditions[0].status"),
        case(
            "generation not an integer",
            json!({"apiVersion": "example.com/v1", "kind": "Widget",
                   "metadata": {"name": "w", "generation": "2"}}),
            Status::Unknown,
        )
        .message("metadata.generation"),
        case(
            "metadata not an object",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": "oops"}),
            Status::Unknown,
        ),
        case("not even an object", json!("just a string"), Status::Unknown)
            .message("the object is a string"),
    ]);
}

#[test]
fn compute_uses_the_wall_clock() {
    // Created just now: still inside the schedule window.
    let now = chrono::Utc::now().to_rfc3339();
    let obj = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "creationTimestamp": now},
        "status": {"phase": "Pending", "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]}});
    assert_eq!(compute(&obj).status, Status::InProgress);
}

#[test]
fn status_names_round_trip() {
    for status in [
        Status::InProgress,
        Status::Failed,
        Status::Current,
        Status::Terminating,
        Status::NotFound,
        Status::Unknown,
    ] {
        assert_eq!(status.to_string().parse::<Status>(), Ok(status));
        assert_eq!(
            serde_json::to_value(status).ok(),
            Some(Value::String(status.to_string()))
        );
    }
    assert!("Ready".parse::<Status>().is_err());
}

#[test]
fn health_serializes_like_kstatus_conditions() {
    let health = compute(&cr(
        json!({"conditions": [{"type": "Ready", "status": "False", "reason": "Wait", "message": "m"}]}),
    ));
    assert_eq!(
        serde_json::to_value(&health).ok(),
        Some(json!({"status": "InProgress", "message": "m",
                    "conditions": [{"type": "Reconciling", "status": "True", "reason": "Wait", "message": "m"}]}))
    );
}
