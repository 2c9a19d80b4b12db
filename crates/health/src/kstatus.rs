//! The port of kstatus `Compute` (sigs.k8s.io/cli-utils/pkg/kstatus/status):
//! generic checks first, then the per-kind rules, then the `Ready` condition,
//! and `Current` when nothing decides.

use std::time::{Duration, SystemTime};

use serde_json::Value;

use crate::fields::{
    RawCondition, conditions, get_bool_or, get_int_or, get_str_or, nested_i64, nested_str,
};
use crate::{Condition, ConditionType, Health, Status};

/// How long a Pod may be unschedulable before kstatus calls it `Failed`.
pub const SCHEDULE_WINDOW: Duration = Duration::from_secs(15);

/// A rule's verdict: `Ok(None)` when it cannot decide, `Err` when the object
/// is malformed (kstatus returns an error, which we surface as `Unknown`).
type Verdict = Result<Option<Health>, String>;

pub(crate) fn compute_at(obj: &Value, now: SystemTime) -> Health {
    match try_compute(obj, now) {
        Ok(health) => health,
        Err(reason) => Health {
            status: Status::Unknown,
            message: format!("cannot compute the status of this {}: {reason}", kind(obj)),
            conditions: Vec::new(),
        },
    }
}

fn try_compute(obj: &Value, now: SystemTime) -> Result<Health, String> {
    if let Some(ts) = nested_str(obj, &["metadata", "deletionTimestamp"])?
        && !ts.is_empty()
    {
        return Ok(Health {
            status: Status::Terminating,
            message: "Resource scheduled for deletion".to_owned(),
            conditions: Vec::new(),
        });
    }
    if let Some(health) = generation_observed(obj)? {
        return Ok(health);
    }
    // Read once, shared by the generic and the per-kind rules.
    let conds = conditions(obj)?;
    if let Some(health) = standard_conditions(&conds) {
        return Ok(health);
    }
    if let Some(rule) = kind_rule(obj) {
        // Every per-kind rule decides; `None` would be a bug in the table.
        if let Some(health) = rule(obj, &conds, now)? {
            return Ok(health);
        }
    }
    if let Some(health) = ready_condition(&conds) {
        return Ok(health);
    }
    Ok(current("Resource is current"))
}

/// The object's kind, for messages (`u.GetKind()`).
pub(crate) fn kind(obj: &Value) -> &str {
    get_str_or(obj, &["kind"], "")
}

/// The API group of the object's `apiVersion` ("" for the core group).
pub(crate) fn group(obj: &Value) -> &str {
    let api_version = get_str_or(obj, &["apiVersion"], "");
    match api_version.split_once('/') {
        Some((group, _version)) => group,
        None => "",
    }
}

type KindRule = fn(&Value, &[RawCondition<'_>], SystemTime) -> Verdict;

/// kstatus `legacyTypes`, keyed by group and kind.
fn kind_rule(obj: &Value) -> Option<KindRule> {
    let rule: KindRule = match (group(obj), kind(obj)) {
        ("", "Service") => service,
        ("", "Pod") => pod,
        ("", "Secret") | ("", "ConfigMap") | ("batch", "CronJob") => always_ready,
        ("", "PersistentVolumeClaim") => pvc,
        ("apps", "StatefulSet") => stateful_set,
        ("apps" | "extensions", "DaemonSet") => daemon_set,
        ("apps" | "extensions", "Deployment") => deployment,
        ("apps" | "extensions", "ReplicaSet") => replica_set,
        ("policy", "PodDisruptionBudget") => pdb,
        ("batch", "Job") => job,
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crd,
        _ => return None,
    };
    Some(rule)
}

fn current(message: impl Into<String>) -> Health {
    Health {
        status: Status::Current,
        message: message.into(),
        conditions: Vec::new(),
    }
}

fn in_progress(reason: &str, message: String) -> Health {
    Health {
        status: Status::InProgress,
        conditions: vec![Condition::new(ConditionType::Reconciling, reason, &message)],
        message,
    }
}

fn failed(reason: &str, message: String) -> Health {
    Health {
        status: Status::Failed,
        conditions: vec![Condition::new(ConditionType::Stalled, reason, &message)],
        message,
    }
}

/// The end of kstatus `checkGenericProperties` (deletion and generation come
/// first): the standard `Reconciling`/`Stalled` conditions override every
/// per-kind rule.
fn standard_conditions(conds: &[RawCondition<'_>]) -> Option<Health> {
    for cond in conds {
        if cond.status != "True" {
            continue;
        }
        if cond.type_ == "Reconciling" {
            return Some(in_progress(cond.reason, cond.message.to_owned()));
        }
        if cond.type_ == "Stalled" {
            return Some(failed(cond.reason, cond.message.to_owned()));
        }
    }
    None
}

/// kstatus `checkGeneration`: lenient, it only speaks when both fields are set.
pub(crate) fn generation_observed(obj: &Value) -> Verdict {
    let Some(generation) = nested_i64(obj, &["metadata", "generation"])? else {
        return Ok(None);
    };
    let Some(observed) = nested_i64(obj, &["status", "observedGeneration"])? else {
        return Ok(None);
    };
    if observed == generation {
        return Ok(None);
    }
    Ok(Some(generation_lag(obj, generation, observed)))
}

pub(crate) fn generation_lag(obj: &Value, generation: i64, observed: i64) -> Health {
    in_progress(
        "LatestGenerationNotObserved",
        format!(
            "{} generation is {generation}, but latest observed generation is {observed}",
            kind(obj)
        ),
    )
}

/// kstatus `checkReadyCondition`: the first `Ready` condition with a known
/// status decides.
fn ready_condition(conds: &[RawCondition<'_>]) -> Option<Health> {
    for cond in conds {
        if cond.type_ != "Ready" {
            continue;
        }
        match cond.status {
            "True" => return Some(current("Resource is Ready")),
            "False" | "Unknown" => {
                return Some(in_progress(cond.reason, cond.message.to_owned()));
            }
            _ => {}
        }
    }
    None
}

fn always_ready(_: &Value, _: &[RawCondition<'_>], _: SystemTime) -> Verdict {
    Ok(Some(current("Resource is always ready")))
}

fn find_condition<'a>(
    conds: &[RawCondition<'a>],
    type_: &str,
    status: &str,
) -> Option<RawCondition<'a>> {
    conds
        .iter()
        .find(|c| c.type_ == type_ && c.status == status)
        .copied()
}

/// StatefulSets never set conditions: status comes from the replica counts.
fn stateful_set(obj: &Value, _: &[RawCondition<'_>], _: SystemTime) -> Verdict {
    if get_str_or(obj, &["spec", "updateStrategy", "type"], "") == "OnDelete" {
        return Ok(Some(current(
            "StatefulSet is using the ondelete update strategy",
        )));
    }
    let spec_replicas = get_int_or(obj, &["spec", "replicas"], 1);
    let ready = get_int_or(obj, &["status", "readyReplicas"], 0);
    let current_replicas = get_int_or(obj, &["status", "currentReplicas"], 0);
    let updated = get_int_or(obj, &["status", "updatedReplicas"], 0);
    let status_replicas = get_int_or(obj, &["status", "replicas"], 0);
    let partition = get_int_or(
        obj,
        &["spec", "updateStrategy", "rollingUpdate", "partition"],
        -1,
    );

    if spec_replicas > status_replicas {
        return Ok(Some(in_progress(
            "LessReplicas",
            format!("Replicas: {status_replicas}/{spec_replicas}"),
        )));
    }
    if spec_replicas > ready {
        return Ok(Some(in_progress(
            "LessReady",
            format!("Ready: {ready}/{spec_replicas}"),
        )));
    }
    if status_replicas > spec_replicas {
        return Ok(Some(in_progress(
            "ExtraPods",
            format!("Pending termination: {}", status_replicas - spec_replicas),
        )));
    }
    if partition != -1 {
        if updated < spec_replicas - partition {
            return Ok(Some(in_progress(
                "PartitionRollout",
                format!("updated: {updated}/{}", spec_replicas - partition),
            )));
        }
        return Ok(Some(current(format!(
            "Partition rollout complete. updated: {updated}"
        ))));
    }
    if spec_replicas > current_replicas {
        return Ok(Some(in_progress(
            "LessCurrent",
            format!("current: {current_replicas}/{spec_replicas}"),
        )));
    }
    let current_revision = get_str_or(obj, &["status", "currentRevision"], "");
    let update_revision = get_str_or(obj, &["status", "updateRevision"], "");
    if current_revision != update_revision {
        return Ok(Some(in_progress(
            "RevisionMismatch",
            "Waiting for updated revision to match current".to_owned(),
        )));
    }
    Ok(Some(current(format!(
        "All replicas scheduled as expected. Replicas: {status_replicas}"
    ))))
}

/// Deployments: `ProgressDeadlineExceeded` is `Failed`; otherwise replica
/// counts, then the `Progressing` and `Available` conditions.
fn deployment(obj: &Value, conds: &[RawCondition<'_>], _: SystemTime) -> Verdict {
    // Without progressDeadlineSeconds the controller never sets Progressing,
    // so kstatus treats it as progressing. i32::MAX is the controller's
    // "no deadline" value.
    let mut progressing = get_int_or(obj, &["spec", "progressDeadlineSeconds"], i32::MAX.into())
        == i64::from(i32::MAX);
    let mut available = false;

    for cond in conds {
        match cond.type_ {
            "Progressing" => {
                if cond.reason == "ProgressDeadlineExceeded" {
                    return Ok(Some(Health {
                        status: Status::Failed,
                        message: "Progress deadline exceeded".to_owned(),
                        conditions: vec![Condition::new(
                            ConditionType::Stalled,
                            cond.reason,
                            cond.message,
                        )],
                    }));
                }
                if cond.status == "True" && cond.reason == "NewReplicaSetAvailable" {
                    progressing = true;
                }
            }
            "Available" if cond.status == "True" => available = true,
            _ => {}
        }
    }

    let spec_replicas = get_int_or(obj, &["spec", "replicas"], 1);
    let status_replicas = get_int_or(obj, &["status", "replicas"], 0);
    let updated = get_int_or(obj, &["status", "updatedReplicas"], 0);
    let ready = get_int_or(obj, &["status", "readyReplicas"], 0);
    let available_replicas = get_int_or(obj, &["status", "availableReplicas"], 0);

    if spec_replicas > status_replicas {
        return Ok(Some(in_progress(
            "LessReplicas",
            format!("Replicas: {status_replicas}/{spec_replicas}"),
        )));
    }
    if spec_replicas > updated {
        return Ok(Some(in_progress(
            "LessUpdated",
            format!("Updated: {updated}/{spec_replicas}"),
        )));
    }
    if status_replicas > spec_replicas {
        return Ok(Some(in_progress(
            "ExtraPods",
            format!("Pending termination: {}", status_replicas - spec_replicas),
        )));
    }
    if updated > available_replicas {
        return Ok(Some(in_progress(
            "LessAvailable",
            format!("Available: {available_replicas}/{updated}"),
        )));
    }
    if spec_replicas > ready {
        return Ok(Some(in_progress(
            "LessReady",
            format!("Ready: {ready}/{spec_replicas}"),
        )));
    }
    if !progressing {
        return Ok(Some(in_progress(
            "ReplicaSetNotAvailable",
            "ReplicaSet not Available".to_owned(),
        )));
    }
    if !available {
        return Ok(Some(in_progress(
            "DeploymentNotAvailable",
            "Deployment not Available".to_owned(),
        )));
    }
    Ok(Some(current(format!(
        "Deployment is available. Replicas: {status_replicas}"
    ))))
}

fn replica_set(obj: &Value, conds: &[RawCondition<'_>], _: SystemTime) -> Verdict {
    if find_condition(conds, "ReplicaFailure", "True").is_some() {
        return Ok(Some(in_progress(
            "ReplicaFailure",
            "Replica Failure condition. Check Pods".to_owned(),
        )));
    }
    let spec_replicas = get_int_or(obj, &["spec", "replicas"], 1);
    let status_replicas = get_int_or(obj, &["status", "replicas"], 0);
    let ready = get_int_or(obj, &["status", "readyReplicas"], 0);
    let available = get_int_or(obj, &["status", "availableReplicas"], 0);
    let labelled = get_int_or(obj, &["status", "fullyLabeledReplicas"], 0);

    if spec_replicas > labelled {
        return Ok(Some(in_progress(
            "LessLabelled",
            format!("Labelled: {labelled}/{spec_replicas}"),
        )));
    }
    if spec_replicas > available {
        return Ok(Some(in_progress(
            "LessAvailable",
            format!("Available: {available}/{spec_replicas}"),
        )));
    }
    if spec_replicas > ready {
        return Ok(Some(in_progress(
            "LessReady",
            format!("Ready: {ready}/{spec_replicas}"),
        )));
    }
    if status_replicas > spec_replicas {
        return Ok(Some(in_progress(
            "ExtraPods",
            format!("Pending termination: {}", status_replicas - spec_replicas),
        )));
    }
    Ok(Some(current(format!(
        "ReplicaSet is available. Replicas: {status_replicas}"
    ))))
}

fn daemon_set(obj: &Value, _: &[RawCondition<'_>], _: SystemTime) -> Verdict {
    // The generic generation check is lenient about missing fields; a
    // DaemonSet the controller has acted on always has both, so require them.
    if let Some(health) = generation_set(obj)? {
        return Ok(Some(health));
    }
    let desired = get_int_or(obj, &["status", "desiredNumberScheduled"], -1);
    let current_scheduled = get_int_or(obj, &["status", "currentNumberScheduled"], 0);
    let updated = get_int_or(obj, &["status", "updatedNumberScheduled"], 0);
    let available = get_int_or(obj, &["status", "numberAvailable"], 0);
    let ready = get_int_or(obj, &["status", "numberReady"], 0);

    if desired == -1 {
        return Ok(Some(in_progress(
            "NoDesiredNumber",
            "Missing .status.desiredNumberScheduled".to_owned(),
        )));
    }
    if desired > current_scheduled {
        return Ok(Some(in_progress(
            "LessCurrent",
            format!("Current: {current_scheduled}/{desired}"),
        )));
    }
    if desired > updated {
        return Ok(Some(in_progress(
            "LessUpdated",
            format!("Updated: {updated}/{desired}"),
        )));
    }
    if desired > available {
        return Ok(Some(in_progress(
            "LessAvailable",
            format!("Available: {available}/{desired}"),
        )));
    }
    if desired > ready {
        return Ok(Some(in_progress(
            "LessReady",
            format!("Ready: {ready}/{desired}"),
        )));
    }
    Ok(Some(current(format!(
        "All replicas scheduled as expected. Replicas: {desired}"
    ))))
}

/// kstatus `checkGenerationSet`.
fn generation_set(obj: &Value) -> Verdict {
    if nested_i64(obj, &["metadata", "generation"])?.is_none() {
        return Ok(Some(in_progress(
            "NoGeneration",
            format!("{} metadata.generation not found", kind(obj)),
        )));
    }
    if nested_i64(obj, &["status", "observedGeneration"])?.is_none() {
        return Ok(Some(in_progress(
            "NoObservedGeneration",
            format!("{} status.observedGeneration not found", kind(obj)),
        )));
    }
    Ok(None)
}

fn pvc(obj: &Value, _: &[RawCondition<'_>], _: SystemTime) -> Verdict {
    let phase = get_str_or(obj, &["status", "phase"], "unknown");
    if phase != "Bound" {
        return Ok(Some(in_progress(
            "NotBound",
            format!("PVC is not Bound. phase: {phase}"),
        )));
    }
    Ok(Some(current("PVC is Bound")))
}

/// Pods: a finished Pod (Succeeded or Failed) is `Current` in kstatus; a
/// running one is `Current` once Ready and `Failed` while crash-looping; a
/// pending one is `Failed` once unschedulable for longer than
/// [`SCHEDULE_WINDOW`].
fn pod(obj: &Value, conds: &[RawCondition<'_>], now: SystemTime) -> Verdict {
    match get_str_or(obj, &["status", "phase"], "") {
        "Succeeded" => Ok(Some(current("Pod has completed successfully"))),
        "Failed" => Ok(Some(current("Pod has completed, but not successfully"))),
        "Running" => {
            if find_condition(conds, "Ready", "True").is_some() {
                return Ok(Some(current("Pod is Ready")));
            }
            let crash_looping = crash_looping_containers(obj);
            if !crash_looping.is_empty() {
                return Ok(Some(failed(
                    "ContainerCrashLooping",
                    format!("Containers in CrashLoop state: {}", crash_looping.join(",")),
                )));
            }
            Ok(Some(in_progress(
                "PodRunningNotReady",
                "Pod is running but is not Ready".to_owned(),
            )))
        }
        "Pending" => {
            let unschedulable = find_condition(conds, "PodScheduled", "False")
                .is_some_and(|c| c.reason == "Unschedulable");
            if unschedulable {
                if created_within_schedule_window(obj, now) {
                    return Ok(Some(in_progress(
                        "PodNotScheduled",
                        "Pod has not been scheduled".to_owned(),
                    )));
                }
                return Ok(Some(failed(
                    "PodUnschedulable",
                    "Pod could not be scheduled".to_owned(),
                )));
            }
            Ok(Some(in_progress(
                "PodPending",
                "Pod is in the Pending phase".to_owned(),
            )))
        }
        "" => Ok(Some(in_progress(
            "PodNotObserved",
            "Pod phase not available".to_owned(),
        ))),
        other => Err(format!("unknown phase {other}")),
    }
}

/// `now - 15s < creationTimestamp`; a missing or unparsable timestamp reads
/// as the zero time, as `GetCreationTimestamp` does, so it is never recent.
fn created_within_schedule_window(obj: &Value, now: SystemTime) -> bool {
    let created = get_str_or(obj, &["metadata", "creationTimestamp"], "");
    let Ok(created) = chrono::DateTime::parse_from_rfc3339(created) else {
        return false;
    };
    let created = SystemTime::from(created.with_timezone(&chrono::Utc));
    match now.checked_sub(SCHEDULE_WINDOW) {
        Some(window_start) => window_start < created,
        None => true,
    }
}

/// Names of containers waiting with reason `CrashLoopBackOff`. Malformed
/// entries are skipped (kstatus would panic on them).
fn crash_looping_containers(obj: &Value) -> Vec<&str> {
    let Ok(Some(Value::Array(statuses))) =
        crate::fields::lookup(obj, &["status", "containerStatuses"])
    else {
        return Vec::new();
    };
    statuses
        .iter()
        .filter(|cs| {
            cs.pointer("/state/waiting/reason").and_then(Value::as_str) == Some("CrashLoopBackOff")
        })
        .filter_map(|cs| cs.get("name").and_then(Value::as_str))
        .collect()
}

/// PDBs are current once the disruption controller observed the latest
/// generation, which the generic check already ensured.
fn pdb(_: &Value, _: &[RawCondition<'_>], _: SystemTime) -> Verdict {
    Ok(Some(current("AllowedDisruptions has been computed.")))
}

/// Jobs: `Complete` is `Current`, `Failed` is `Failed`, a suspended Job is
/// `Current`, and a started one is `Current` while it runs.
fn job(obj: &Value, conds: &[RawCondition<'_>], _: SystemTime) -> Verdict {
    let parallelism = get_int_or(obj, &["spec", "parallelism"], 1);
    let completions = get_int_or(obj, &["spec", "completions"], parallelism);
    let succeeded = get_int_or(obj, &["status", "succeeded"], 0);
    let active = get_int_or(obj, &["status", "active"], 0);
    let failed_pods = get_int_or(obj, &["status", "failed"], 0);
    let start_time = get_str_or(obj, &["status", "startTime"], "");
    let suspended = get_bool_or(obj, &["spec", "suspend"], false);

    for cond in conds {
        if cond.status != "True" {
            continue;
        }
        match cond.type_ {
            "Complete" => {
                return Ok(Some(current(format!(
                    "Job Completed. succeeded: {succeeded}/{completions}"
                ))));
            }
            "Failed" => {
                return Ok(Some(failed(
                    "JobFailed",
                    format!("Job Failed. failed: {failed_pods}/{completions}"),
                )));
            }
            "Suspended" if suspended => return Ok(Some(current("Job is suspended"))),
            _ => {}
        }
    }
    if start_time.is_empty() {
        return Ok(Some(in_progress(
            "JobNotStarted",
            "Job not started".to_owned(),
        )));
    }
    Ok(Some(current(format!(
        "Job in progress. success:{succeeded}, active: {active}, failed: {failed_pods}"
    ))))
}

/// Services: kstatus only waits for a LoadBalancer Service to get a
/// `spec.clusterIP`; it does not wait for `status.loadBalancer.ingress`.
fn service(obj: &Value, _: &[RawCondition<'_>], _: SystemTime) -> Verdict {
    let spec_type = get_str_or(obj, &["spec", "type"], "ClusterIP");
    let cluster_ip = get_str_or(obj, &["spec", "clusterIP"], "");
    if spec_type == "LoadBalancer" && cluster_ip.is_empty() {
        return Ok(Some(in_progress(
            "NoIPAssigned",
            "ClusterIP not set. Service type: LoadBalancer".to_owned(),
        )));
    }
    Ok(Some(current("Service is ready")))
}

/// CRDs: `NamesAccepted=False` or `Established=False` (other than while
/// installing) is `Failed`; `Established=True` is `Current`. The first
/// deciding condition in list order wins.
fn crd(_: &Value, conds: &[RawCondition<'_>], _: SystemTime) -> Verdict {
    for cond in conds {
        if cond.type_ == "NamesAccepted" && cond.status == "False" {
            return Ok(Some(failed(cond.reason, cond.message.to_owned())));
        }
        if cond.type_ == "Established" {
            if cond.status == "False" && cond.reason != "Installing" {
                return Ok(Some(failed(cond.reason, cond.message.to_owned())));
            }
            if cond.status == "True" {
                return Ok(Some(current("CRD is established")));
            }
        }
    }
    Ok(Some(in_progress(
        "Installing",
        "Install in progress".to_owned(),
    )))
}
