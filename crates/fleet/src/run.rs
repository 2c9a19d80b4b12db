//! The fleet commands' engines: plan, sync and status across clusters, each
//! cluster in its own task with its own connection; one cluster's failure
//! or unreachability never blocks another.

use crate::config::{ClusterSpec, Fleet, ObjectDep};
use crate::connect;
use crate::desired::{ClusterDesired, DesiredUnit};
use flotilla_engine::{
    Action, ApplyOptions, ClusterHandle, PlanOptions, Summary, Unit, WaitOptions,
};
use serde::Serialize;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The record of which units a fleet applied to a cluster lives in this
/// namespace, in ConfigMap `fleet-<fleet name>`; units that left the fleet
/// (or stopped targeting the cluster) are pruned from it.
pub const RECORD_NAMESPACE: &str = flotilla_engine::inventory::INVENTORY_NAMESPACE;

fn record_name(fleet: &str) -> String {
    format!("fleet-{fleet}")
}

/// The units this fleet applied to the cluster, as recorded there.
pub async fn read_record(handle: &ClusterHandle, fleet: &str) -> anyhow::Result<BTreeSet<String>> {
    use k8s_openapi::api::core::v1::ConfigMap;
    let api: kube::Api<ConfigMap> =
        kube::Api::namespaced(handle.client().clone(), RECORD_NAMESPACE);
    let cm = api
        .get_opt(&record_name(fleet))
        .await
        .map_err(|e| anyhow::anyhow!("cluster {}: reading the fleet record: {e}", handle.name()))?;
    Ok(cm
        .and_then(|c| c.data)
        .and_then(|d| d.get("units").cloned())
        .map(|u| {
            u.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default())
}

async fn write_record(
    handle: &ClusterHandle,
    fleet: &str,
    units: &BTreeSet<String>,
) -> anyhow::Result<()> {
    use k8s_openapi::api::core::v1::ConfigMap;
    let api: kube::Api<ConfigMap> =
        kube::Api::namespaced(handle.client().clone(), RECORD_NAMESPACE);
    let joined: Vec<&str> = units.iter().map(String::as_str).collect();
    let cm = serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": record_name(fleet), "namespace": RECORD_NAMESPACE,
                     "labels": {"flotilla.dev/fleet": fleet}},
        "data": {"units": joined.join(",")},
    });
    let pp = kube::api::PatchParams::apply(flotilla_engine::FIELD_MANAGER).force();
    api.patch(&record_name(fleet), &pp, &kube::api::Patch::Apply(&cm))
        .await
        .map_err(|e| anyhow::anyhow!("cluster {}: writing the fleet record: {e}", handle.name()))?;
    Ok(())
}

/// Units recorded on the cluster that the fleet no longer puts there.
///
/// Returns the recorded units and those to prune. Nothing is pruned while
/// any unit of the cluster failed to render: a broken Flux directory or
/// Kustomization hides the units below it, which must not read as removal.
async fn removed_units(
    handle: &ClusterHandle,
    fleet: &str,
    d: &ClusterDesired,
) -> anyhow::Result<(BTreeSet<String>, Vec<String>)> {
    let recorded = read_record(handle, fleet).await?;
    if d.units.iter().any(|u| u.objects.is_err()) {
        return Ok((recorded, vec![]));
    }
    let removable = recorded
        .iter()
        .filter(|r| !d.units.iter().any(|u| u.name == **r))
        .cloned()
        .collect();
    Ok((recorded, removable))
}

/// How many clusters are worked on at once.
pub const DEFAULT_PARALLELISM: usize = 8;

/// One line of a unit's plan.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeView {
    pub object: String,
    pub action: Action,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub drift: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A unit's plan on one cluster.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UnitPlan {
    pub unit: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    pub summary: Summary,
    pub changes: Vec<ChangeView>,
    /// Planned without the cluster: everything counted as a create.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub offline: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterPlan {
    pub cluster: String,
    pub reachable: bool,
    /// Why the cluster could not be reached (it was planned as full creation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreachable: Option<String>,
    /// A problem with the cluster's units as a whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub units: Vec<UnitPlan>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FleetPlan {
    pub clusters: Vec<ClusterPlan>,
}

impl FleetPlan {
    pub fn has_changes(&self) -> bool {
        self.clusters.iter().flat_map(|c| &c.units).any(|u| {
            let s = &u.summary;
            s.create + s.update + s.replace + s.prune > 0
        })
    }
    pub fn has_errors(&self) -> bool {
        self.clusters
            .iter()
            .any(|c| c.error.is_some() || c.units.iter().any(|u| u.error.is_some()))
    }
    pub fn unreachable(&self) -> Vec<&str> {
        self.clusters
            .iter()
            .filter(|c| !c.reachable)
            .map(|c| c.cluster.as_str())
            .collect()
    }
}

/// Run `work` for every cluster in parallel (at most `parallelism` at once),
/// results in input order.
async fn per_cluster<T, F, Fut>(desired: Vec<ClusterDesired>, parallelism: usize, work: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(ClusterDesired) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let semaphore = Arc::new(tokio::sync::Semaphore::new(parallelism.max(1)));
    let mut tasks = Vec::new();
    for d in desired {
        let fut = work(d);
        let sem = semaphore.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire_owned().await;
            fut.await
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        match t.await {
            Ok(v) => out.push(v),
            Err(e) => tracing::error!("a cluster task failed: {e}"),
        }
    }
    out
}

/// The unit as the cluster gets it: SealedSecrets unsealed with the
/// cluster's keys when its policy says so (keys read once per unit). A
/// SealedSecret that cannot be opened fails the whole unit.
async fn prepare_unit(
    handle: &ClusterHandle,
    cluster: &crate::config::ClusterSpec,
    mut unit: Unit,
) -> anyhow::Result<Unit> {
    let mode = cluster.sealed_secret_mode();
    if mode == flotilla_secrets::engine::SealedSecretMode::Controller {
        return Ok(unit);
    }
    let client = handle.client();
    let default_namespace = client.default_namespace();
    let sealed: Vec<String> = unit
        .objects
        .iter()
        .filter(|o| flotilla_secrets::sealed::is_sealed_secret(o))
        .map(|o| {
            format!(
                "SealedSecret {}/{}",
                o["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or(default_namespace),
                o["metadata"]["name"].as_str().unwrap_or("<unnamed>")
            )
        })
        .collect();
    let objects = std::mem::take(&mut unit.objects);
    unit.objects = flotilla_secrets::engine::prepare_for_apply(
        client,
        objects,
        &mode,
        Some(default_namespace),
    )
    .await
    .map_err(|e| {
        anyhow::anyhow!(
            "unit {}: unsealing {} for cluster {}: {e}; nothing of the unit was applied",
            unit.name,
            sealed.join(", "),
            cluster.name
        )
    })?;
    Ok(unit)
}

fn engine_unit(u: &DesiredUnit) -> Option<Unit> {
    let objects = u.objects.as_ref().ok()?;
    let mut unit = Unit::new(u.name.clone(), objects.as_ref().clone());
    unit.revision = u.revision.clone();
    Some(unit)
}

/// Plan every cluster. Unreachable clusters are planned as full creation
/// and marked unreachable.
pub async fn plan(
    fleet: Arc<Fleet>,
    desired: Vec<ClusterDesired>,
    parallelism: usize,
    prune: bool,
) -> FleetPlan {
    let clusters = per_cluster(desired, parallelism, move |d| {
        let fleet = fleet.clone();
        async move { plan_cluster(&fleet, d, prune).await }
    })
    .await;
    FleetPlan { clusters }
}

async fn plan_cluster(fleet: &Fleet, d: ClusterDesired, prune: bool) -> ClusterPlan {
    let reached = connect::reach(fleet, &d.cluster).await;
    let (handle, reach_error) = match reached {
        Ok((h, _)) => (Some(h), None),
        Err(e) => (None, Some(e)),
    };
    let mut units = Vec::new();
    for u in &d.units {
        units.push(match (&handle, engine_unit(u)) {
            (_, None) => UnitPlan {
                unit: u.name.clone(),
                revision: u.revision.clone(),
                summary: Summary::default(),
                changes: vec![],
                offline: handle.is_none(),
                error: u.objects.as_ref().err().cloned(),
            },
            (None, Some(unit)) => offline_plan(&unit),
            (Some(h), Some(unit)) => {
                let opts = PlanOptions {
                    prune: prune && u.prune,
                    ..Default::default()
                };
                let planned = match prepare_unit(h, &d.cluster, unit).await {
                    Ok(unit) => h.plan(&unit, &opts).await,
                    Err(e) => Err(e),
                };
                match planned {
                    Ok(p) => UnitPlan {
                        unit: p.unit.clone(),
                        revision: p.revision.clone(),
                        summary: p.summary,
                        changes: p
                            .changes
                            .iter()
                            .map(|c| ChangeView {
                                object: c.object.clone(),
                                action: c.action,
                                drift: c.drift,
                                diff: c.diff.clone(),
                                reason: c.reason.clone(),
                            })
                            .collect(),
                        offline: false,
                        error: None,
                    },
                    Err(e) => UnitPlan {
                        unit: u.name.clone(),
                        revision: u.revision.clone(),
                        summary: Summary::default(),
                        changes: vec![],
                        offline: false,
                        error: Some(format!("{e:#}")),
                    },
                }
            }
        });
    }
    if let (Some(h), true) = (&handle, prune && d.error.is_none()) {
        match removed_units(h, &fleet.name, &d).await {
            Ok((_, removed)) => {
                for name in removed {
                    let opts = PlanOptions {
                        prune: true,
                        allow_empty: true,
                        ..Default::default()
                    };
                    let p = h.plan(&Unit::new(name.clone(), vec![]), &opts).await;
                    units.push(match p {
                        Ok(p) => UnitPlan {
                            unit: name,
                            revision: None,
                            summary: p.summary,
                            changes: p
                                .changes
                                .iter()
                                .map(|c| ChangeView {
                                    object: c.object.clone(),
                                    action: c.action,
                                    drift: c.drift,
                                    diff: None,
                                    reason: Some(
                                        "the unit left the fleet or no longer targets this cluster"
                                            .into(),
                                    ),
                                })
                                .collect(),
                            offline: false,
                            error: None,
                        },
                        Err(e) => UnitPlan {
                            unit: name,
                            revision: None,
                            summary: Summary::default(),
                            changes: vec![],
                            offline: false,
                            error: Some(format!("{e:#}")),
                        },
                    });
                }
            }
            Err(e) => tracing::warn!("{e:#}"),
        }
    }
    ClusterPlan {
        cluster: d.cluster.name.clone(),
        reachable: handle.is_some(),
        unreachable: reach_error,
        error: d.error.clone(),
        units,
    }
}

/// The plan of a unit on a cluster that cannot be reached: every object created.
pub fn offline_plan(unit: &Unit) -> UnitPlan {
    let changes: Vec<ChangeView> = unit
        .objects
        .iter()
        .map(|o| ChangeView {
            object: flotilla_model::ObjectRef::of(o)
                .map(|r| r.to_string())
                .unwrap_or_else(|| "(unnamed object)".into()),
            action: Action::Create,
            drift: false,
            diff: Some(flotilla_engine::render::create_text(o)),
            reason: None,
        })
        .collect();
    UnitPlan {
        unit: unit.name.clone(),
        revision: unit.revision.clone(),
        summary: Summary {
            create: changes.len(),
            ..Default::default()
        },
        changes,
        offline: true,
        error: None,
    }
}

/// What a sync did to one unit on one cluster.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UnitSync {
    pub unit: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// `converged`, `failed`, `skipped`, `suspended`, or `removed` (the
    /// unit left the fleet here and its objects were pruned).
    pub outcome: String,
    pub summary: Summary,
    pub applied: usize,
    pub pruned: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    pub duration_ms: u128,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSync {
    pub cluster: String,
    pub reachable: bool,
    pub converged: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub units: Vec<UnitSync>,
    pub duration_ms: u128,
}

#[derive(Clone, Debug, Serialize)]
pub struct FleetSync {
    pub clusters: Vec<ClusterSync>,
}

impl FleetSync {
    pub fn converged(&self) -> bool {
        self.clusters.iter().all(|c| c.converged)
    }
}

/// Progress of a sync, as it happens.
#[derive(Clone, Debug)]
pub enum Progress {
    Connecting {
        cluster: String,
    },
    Unreachable {
        cluster: String,
        error: String,
    },
    Applying {
        cluster: String,
        unit: String,
        index: usize,
        total: usize,
    },
    UnitDone {
        cluster: String,
        unit: UnitSync,
    },
    ClusterDone {
        cluster: String,
        converged: bool,
    },
}

pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

#[derive(Clone, Debug)]
pub struct SyncOptions {
    pub parallelism: usize,
    /// Wait for health (where the unit asks for it).
    pub wait: bool,
    pub force_conflicts: bool,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            parallelism: DEFAULT_PARALLELISM,
            wait: true,
            force_conflicts: false,
        }
    }
}

/// Converge every cluster, units in dependency order; a unit whose
/// dependency did not converge is skipped.
pub async fn sync(
    fleet: Arc<Fleet>,
    desired: Vec<ClusterDesired>,
    opts: SyncOptions,
    progress: ProgressFn,
) -> FleetSync {
    let parallelism = opts.parallelism;
    let clusters = per_cluster(desired, parallelism, move |d| {
        let fleet = fleet.clone();
        let progress = progress.clone();
        let opts = opts.clone();
        async move { sync_cluster(&fleet, d, &opts, &progress).await }
    })
    .await;
    FleetSync { clusters }
}

async fn sync_cluster(
    fleet: &Fleet,
    d: ClusterDesired,
    opts: &SyncOptions,
    progress: &ProgressFn,
) -> ClusterSync {
    let started = Instant::now();
    let name = d.cluster.name.clone();
    progress(Progress::Connecting {
        cluster: name.clone(),
    });
    let finish = |reachable, error: Option<String>, units: Vec<UnitSync>| {
        let converged = error.is_none()
            && units
                .iter()
                .all(|u| matches!(u.outcome.as_str(), "converged" | "suspended" | "removed"));
        progress(Progress::ClusterDone {
            cluster: name.clone(),
            converged,
        });
        ClusterSync {
            cluster: name.clone(),
            reachable,
            converged,
            error,
            units,
            duration_ms: started.elapsed().as_millis(),
        }
    };
    if let Some(e) = &d.error {
        return finish(true, Some(e.clone()), vec![]);
    }
    let handle = match connect::reach(fleet, &d.cluster).await {
        Ok((h, _)) => h,
        Err(e) => {
            progress(Progress::Unreachable {
                cluster: name.clone(),
                error: e.clone(),
            });
            return finish(false, Some(e), vec![]);
        }
    };
    let mut failed: BTreeSet<String> = BTreeSet::new();
    let mut units = Vec::new();
    let total = d.units.len();
    for (index, u) in d.units.iter().enumerate() {
        progress(Progress::Applying {
            cluster: name.clone(),
            unit: u.name.clone(),
            index,
            total,
        });
        let result = sync_unit(&handle, &d.cluster, u, &failed, opts).await;
        if result.outcome != "converged" && result.outcome != "suspended" {
            failed.insert(u.name.clone());
        }
        progress(Progress::UnitDone {
            cluster: name.clone(),
            unit: result.clone(),
        });
        units.push(result);
    }
    // Prune units this fleet applied here before but no longer targets.
    let mut record: BTreeSet<String> = d.units.iter().map(|u| u.name.clone()).collect();
    match removed_units(&handle, &fleet.name, &d).await {
        Ok((recorded, removed)) => {
            // Units kept back (not removable now) stay recorded.
            record.extend(recorded.into_iter().filter(|r| !removed.contains(r)));
            for unit_name in removed {
                let started = Instant::now();
                let opts = ApplyOptions {
                    prune: true,
                    allow_empty: true,
                    ..Default::default()
                };
                let mut out = UnitSync {
                    unit: unit_name.clone(),
                    revision: None,
                    outcome: "removed".into(),
                    summary: Summary::default(),
                    applied: 0,
                    pruned: 0,
                    problems: vec![],
                    duration_ms: 0,
                };
                match handle
                    .apply(&Unit::new(unit_name.clone(), vec![]), &opts)
                    .await
                {
                    Ok(r) if r.succeeded() => {
                        out.summary = r.plan.summary;
                        out.pruned = r.pruned.len();
                    }
                    Ok(r) => {
                        out.outcome = "failed".into();
                        out.problems.extend(
                            r.failures
                                .iter()
                                .map(|f| format!("{}: {}", f.object, f.error)),
                        );
                        record.insert(unit_name.clone());
                    }
                    Err(e) => {
                        out.outcome = "failed".into();
                        out.problems.push(format!("{e:#}"));
                        record.insert(unit_name.clone());
                    }
                }
                out.duration_ms = started.elapsed().as_millis();
                progress(Progress::UnitDone {
                    cluster: name.clone(),
                    unit: out.clone(),
                });
                units.push(out);
            }
            if let Err(e) = write_record(&handle, &fleet.name, &record).await {
                return finish(true, Some(format!("{e:#}")), units);
            }
        }
        Err(e) => return finish(true, Some(format!("{e:#}")), units),
    }
    finish(true, None, units)
}

async fn sync_unit(
    handle: &ClusterHandle,
    cluster: &crate::config::ClusterSpec,
    u: &DesiredUnit,
    failed: &BTreeSet<String>,
    opts: &SyncOptions,
) -> UnitSync {
    let started = Instant::now();
    let mut out = UnitSync {
        unit: u.name.clone(),
        revision: u.revision.clone(),
        outcome: "failed".into(),
        summary: Summary::default(),
        applied: 0,
        pruned: 0,
        problems: vec![],
        duration_ms: 0,
    };
    if u.suspend {
        out.outcome = "suspended".into();
        return out;
    }
    if let Some(dep) = u.depends_on.iter().find(|d| failed.contains(*d)) {
        out.outcome = "skipped".into();
        out.problems
            .push(format!("dependency {dep} did not converge"));
        return out;
    }
    let Some(unit) = engine_unit(u) else {
        out.problems
            .push(u.objects.as_ref().err().cloned().unwrap_or_default());
        return out;
    };
    let unit = match prepare_unit(handle, cluster, unit).await {
        Ok(unit) => unit,
        Err(e) => {
            out.problems.push(format!("{e:#}"));
            out.duration_ms = started.elapsed().as_millis();
            return out;
        }
    };
    if !u.wait_for.is_empty()
        && let Err(e) = wait_healthy(handle, &u.wait_for, u.timeout, u.rules.as_deref()).await
    {
        out.outcome = "skipped".into();
        out.problems.push(format!("waiting for dependencies: {e}"));
        out.duration_ms = started.elapsed().as_millis();
        return out;
    }
    let apply_opts = ApplyOptions {
        prune: u.prune,
        force_conflicts: opts.force_conflicts,
        wait: (opts.wait && u.wait).then(|| WaitOptions {
            timeout: u.timeout,
            rules: u.rules.clone(),
        }),
        ..Default::default()
    };
    match handle.apply(&unit, &apply_opts).await {
        Ok(report) => {
            out.summary = report.plan.summary;
            out.applied = report.applied.len();
            out.pruned = report.pruned.len();
            out.problems.extend(
                report
                    .failures
                    .iter()
                    .map(|f| format!("{}: {}", f.object, f.error)),
            );
            if let Some(h) = &report.health {
                out.problems.extend(
                    h.not_current()
                        .map(|o| format!("{}: {} {}", o.object, o.status.as_str(), o.message)),
                );
            }
            if report.succeeded() {
                out.outcome = "converged".into();
                if opts.wait
                    && !u.health_checks.is_empty()
                    && let Err(e) =
                        wait_healthy(handle, &u.health_checks, u.timeout, u.rules.as_deref()).await
                {
                    out.outcome = "failed".into();
                    out.problems.push(format!("health checks: {e}"));
                }
            }
        }
        Err(e) => out.problems.push(format!("{e:#}")),
    }
    out.duration_ms = started.elapsed().as_millis();
    out
}

/// Poll `objects` until every one is healthy (Current), or fail after
/// `timeout` naming those that are not, with their status.
pub async fn wait_healthy(
    handle: &ClusterHandle,
    objects: &[ObjectDep],
    timeout: Duration,
    rules: Option<&flotilla_health::CustomRules>,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let mut delay = Duration::from_millis(200);
    loop {
        let mut waiting = Vec::new();
        for o in objects {
            match object_health(handle, o, rules).await {
                Ok(None) => {}
                Ok(Some(why)) => waiting.push(format!("{o}: {why}")),
                Err(e) => return Err(format!("{o}: {e}")),
            }
        }
        if waiting.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "not healthy after {}s: {}",
                timeout.as_secs(),
                waiting.join("; ")
            ));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

/// `None` when the object is Current; otherwise why not.
async fn object_health(
    handle: &ClusterHandle,
    o: &ObjectDep,
    rules: Option<&flotilla_health::CustomRules>,
) -> Result<Option<String>, String> {
    let (group, _) = flotilla_model::group_version(&o.api_version);
    let resources = handle.resources().await.map_err(|e| format!("{e:#}"))?;
    let info = match resources.resolve_group_kind(group, &o.kind) {
        Some(i) => i.clone(),
        None => return Ok(Some(format!("kind {} is not served", o.api_version))),
    };
    let ar = info.api_resource();
    let api: kube::Api<kube::api::DynamicObject> = match (&o.namespace, info.namespaced) {
        (Some(ns), true) => kube::Api::namespaced_with(handle.client().clone(), ns, &ar),
        _ => kube::Api::all_with(handle.client().clone(), &ar),
    };
    let live = api.get_opt(&o.name).await.map_err(|e| e.to_string())?;
    let Some(live) = live else {
        return Ok(Some("not found".into()));
    };
    let value = serde_json::to_value(live).map_err(|e| e.to_string())?;
    let health = match rules {
        Some(r) if r.covers(group, &o.kind) => r.compute(&value).map_err(|e| e.to_string())?,
        _ => flotilla_health::compute(&value),
    };
    Ok((health.status != flotilla_health::Status::Current)
        .then(|| format!("{} {}", health.status.as_str(), health.message)))
}

/// One cell of the status matrix.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UnitStatus {
    pub unit: String,
    /// The revision Git holds now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired_revision: Option<String>,
    /// The revision last applied, read from the cluster's inventory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied_revision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_sync: Option<String>,
    /// `Current`, `InProgress`, `Failed`, ..., or `NotApplied`.
    pub health: String,
    /// Objects whose live state drifted from what flotilla applied.
    pub drift: usize,
    /// Writes a sync would make now.
    pub pending: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterStatus {
    pub cluster: String,
    pub reachable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub units: Vec<UnitStatus>,
}

/// Read every cluster's state: inventory revision and time, drift, health.
pub async fn status(
    fleet: Arc<Fleet>,
    desired: Vec<ClusterDesired>,
    parallelism: usize,
) -> Vec<ClusterStatus> {
    per_cluster(desired, parallelism, move |d| {
        let fleet = fleet.clone();
        async move { status_cluster(&fleet, d).await }
    })
    .await
}

async fn status_cluster(fleet: &Fleet, d: ClusterDesired) -> ClusterStatus {
    let handle = match connect::reach(fleet, &d.cluster).await {
        Ok((h, _)) => h,
        Err(e) => {
            return ClusterStatus {
                cluster: d.cluster.name.clone(),
                reachable: false,
                error: Some(e),
                units: d
                    .units
                    .iter()
                    .map(|u| UnitStatus {
                        unit: u.name.clone(),
                        desired_revision: u.revision.clone(),
                        applied_revision: None,
                        last_sync: None,
                        health: "Unknown".into(),
                        drift: 0,
                        pending: 0,
                        error: None,
                    })
                    .collect(),
            };
        }
    };
    let mut units = Vec::new();
    for u in &d.units {
        let mut s = UnitStatus {
            unit: u.name.clone(),
            desired_revision: u.revision.clone(),
            applied_revision: None,
            last_sync: None,
            health: "NotApplied".into(),
            drift: 0,
            pending: 0,
            error: u.objects.as_ref().err().cloned(),
        };
        match handle.inventory(&u.name).await {
            Ok(Some(inv)) => {
                s.applied_revision = inv.revision.clone();
                s.last_sync = inv.applied_at.clone();
            }
            Ok(None) => {}
            Err(e) => s.error = Some(format!("{e:#}")),
        }
        if let (Some(unit), true) = (engine_unit(u), s.last_sync.is_some()) {
            let unit = match prepare_unit(&handle, &d.cluster, unit).await {
                Ok(unit) => unit,
                Err(e) => {
                    s.error = Some(format!("{e:#}"));
                    units.push(s);
                    continue;
                }
            };
            match handle
                .plan(
                    &unit,
                    &PlanOptions {
                        prune: u.prune,
                        ..Default::default()
                    },
                )
                .await
            {
                Ok(p) => {
                    s.drift = p.summary.drift;
                    s.pending = p.changes.iter().filter(|c| c.action.is_write()).count();
                }
                Err(e) => s.error = Some(format!("{e:#}")),
            }
            let wait = WaitOptions {
                timeout: Duration::ZERO,
                rules: u.rules.clone(),
            };
            match handle.wait(&unit, &wait).await {
                Ok(r) if r.all_current => s.health = "Current".into(),
                Ok(r) => {
                    s.health = r
                        .not_current()
                        .next()
                        .map(|o| o.status.as_str().to_owned())
                        .unwrap_or_else(|| "Unknown".into())
                }
                Err(e) => s.error = Some(format!("{e:#}")),
            }
        }
        units.push(s);
    }
    ClusterStatus {
        cluster: d.cluster.name.clone(),
        reachable: true,
        error: d.error.clone(),
        units,
    }
}

/// One row of `flotilla clusters`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterInfo {
    pub name: String,
    pub labels: std::collections::BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// `kubeconfig PATH (context)` or the server URL; never a credential.
    pub connection: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flux_path: Option<String>,
    pub reachable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// List clusters with their metadata and whether they answer.
pub async fn clusters(fleet: Arc<Fleet>, selected: Vec<ClusterSpec>) -> Vec<ClusterInfo> {
    let mut tasks = Vec::new();
    for c in selected {
        let fleet = fleet.clone();
        tasks.push(tokio::spawn(async move {
            let reached = connect::reach(&fleet, &c).await;
            let connection = match (&c.kubeconfig, &c.server) {
                (Some(k), _) => format!(
                    "kubeconfig {} ({})",
                    k.path,
                    k.context.as_deref().unwrap_or("current context")
                ),
                (None, Some(s)) => s.clone(),
                _ => String::new(),
            };
            ClusterInfo {
                name: c.name.clone(),
                labels: c.labels.clone(),
                owner: c.owner.clone(),
                connection,
                flux_path: c.flux_path.clone(),
                reachable: reached.is_ok(),
                version: reached.as_ref().ok().map(|(_, v)| v.clone()),
                error: reached.err(),
            }
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        if let Ok(i) = t.await {
            out.push(i);
        }
    }
    out
}
