//! Executing a plan: grow the inventory, apply stage by stage, prune in
//! reverse stage order, shrink the inventory, optionally wait for health.

use crate::cluster::{ClusterHandle, api_status, describe, now_rfc3339};
use crate::counting::RequestCounts;
use crate::discovery::ResourceInfo;
use crate::inventory::Inventory;
use crate::plan::{Action, Change, Plan, PlanOptions, immutable_field};
use crate::stage::Stage;
use crate::unit::Unit;
use crate::wait::{WaitOptions, WaitReport};
use futures::{StreamExt, stream};
use serde::Serialize;
use serde_json::Value;
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct ApplyOptions {
    /// Delete objects that left the unit.
    pub prune: bool,
    /// Take over fields other appliers own.
    pub force_conflicts: bool,
    /// Delete and recreate objects whose immutable fields change.
    pub force_replace: bool,
    /// Allow pruning everything when the unit renders no object at all.
    pub allow_empty: bool,
    /// Wait for health after applying, with these settings.
    pub wait: Option<WaitOptions>,
    /// How long to wait for CRDs to become Established and for replaced
    /// objects to disappear.
    pub settle_timeout: Duration,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            prune: false,
            force_conflicts: false,
            force_replace: false,
            allow_empty: false,
            wait: None,
            settle_timeout: Duration::from_secs(60),
        }
    }
}

impl ApplyOptions {
    pub fn plan_options(&self) -> PlanOptions {
        PlanOptions {
            prune: self.prune,
            force_conflicts: self.force_conflicts,
            force_replace: self.force_replace,
            allow_empty: self.allow_empty,
        }
    }
}

/// An object that could not be applied or pruned.
#[derive(Clone, Debug, Serialize)]
pub struct ObjectFailure {
    pub object: String,
    pub error: String,
}

/// What an apply did.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyReport {
    pub plan: Plan,
    /// Objects created, updated or replaced.
    pub applied: Vec<String>,
    pub pruned: Vec<String>,
    pub failures: Vec<ObjectFailure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<WaitReport>,
    pub requests: RequestCounts,
    pub duration_ms: u128,
}

impl ApplyReport {
    /// Everything applied and pruned, and healthy if waited for.
    pub fn succeeded(&self) -> bool {
        self.failures.is_empty() && self.health.as_ref().is_none_or(|h| h.all_current)
    }
}

/// The apply was refused before anything was written.
#[derive(Debug, thiserror::Error)]
#[error("unit {unit} on cluster {cluster}: nothing applied:\n{}", problems.join("\n"))]
pub struct PlanBlocked {
    pub unit: String,
    pub cluster: String,
    pub problems: Vec<String>,
}

impl ClusterHandle {
    /// Plan and apply a unit.
    /// The report counts every request, planning included.
    pub async fn apply(&self, unit: &Unit, opts: &ApplyOptions) -> anyhow::Result<ApplyReport> {
        let started = Instant::now();
        let before = self.requests();
        let plan = self.plan(unit, &opts.plan_options()).await?;
        self.execute(plan, opts, started, before).await
    }

    /// Apply a plan made by [`ClusterHandle::plan`] with the same options
    /// (the report counts the requests of this call only).
    pub async fn apply_plan(&self, plan: Plan, opts: &ApplyOptions) -> anyhow::Result<ApplyReport> {
        self.execute(plan, opts, Instant::now(), self.requests())
            .await
    }

    async fn execute(
        &self,
        plan: Plan,
        opts: &ApplyOptions,
        started: Instant,
        before: RequestCounts,
    ) -> anyhow::Result<ApplyReport> {
        let blocking: Vec<String> = plan
            .blocking()
            .iter()
            .map(|c| {
                format!(
                    "  {}: {}",
                    c.object,
                    c.reason.as_deref().unwrap_or("rejected")
                )
            })
            .collect();
        if !blocking.is_empty() {
            return Err(PlanBlocked {
                unit: plan.unit.clone(),
                cluster: self.name().to_owned(),
                problems: blocking,
            }
            .into());
        }

        // 1. Record ownership of every new object before creating any.
        let old = plan.stored.as_ref().map(|s| s.inventory.clone());
        let mut grown = old.clone().unwrap_or_else(|| Inventory::new(&plan.unit));
        for d in &plan.desired {
            grown.entries.entry(d.key.clone()).or_default();
        }
        let mut stored = plan.stored.clone();
        if old.as_ref().is_none_or(|o| !o.same_content(&grown)) {
            grown.applied_at = Some(now_rfc3339());
            stored = Some(self.write_inventory(&grown, stored.as_ref(), true).await?);
        }

        // 2. Apply, stage by stage.
        let mut applied = Vec::new();
        let mut failures = Vec::new();
        let mut succeeded = vec![false; plan.desired.len()];
        for stage in Stage::ALL {
            let todo: Vec<usize> = (0..plan.changes.len())
                .filter(|&j| plan.changes[j].stage == stage && plan.changes[j].desired.is_some())
                .collect();
            let plan_ref = &plan;
            let results: Vec<(usize, Result<bool, String>)> = stream::iter(todo)
                .map(move |j: usize| async move {
                    let c = &plan_ref.changes[j];
                    let i = c.desired.unwrap_or_default();
                    (i, self.apply_change(plan_ref, c, opts).await)
                })
                .buffer_unordered(self.concurrency)
                .collect()
                .await;
            for (i, result) in results {
                let d = &plan.desired[i];
                match result {
                    Ok(wrote) => {
                        succeeded[i] = true;
                        if wrote {
                            applied.push(d.oref.to_string());
                        }
                    }
                    Err(error) => failures.push(ObjectFailure {
                        object: d.oref.to_string(),
                        error,
                    }),
                }
            }
            if !failures.is_empty() {
                break;
            }
            if stage == Stage::ClusterDefinitions
                && let Err(e) = self.settle_crds(&plan, opts.settle_timeout).await
            {
                failures.push(ObjectFailure {
                    object: "CustomResourceDefinitions".into(),
                    error: format!("{e:#}"),
                });
                break;
            }
        }

        // 3. Prune (only after everything applied), reverse stage order.
        let mut pruned = Vec::new();
        let mut prune_done = true;
        if opts.prune && failures.is_empty() {
            for stage in Stage::ALL.iter().rev() {
                let todo: Vec<Change> = plan
                    .changes
                    .iter()
                    .filter(|c| c.action == Action::Prune && c.stage == *stage)
                    .cloned()
                    .collect();
                let results: Vec<(String, Result<bool, kube::Error>)> = stream::iter(todo)
                    .map(|c: Change| async move {
                        let info = c.info.clone().unwrap_or_else(|| unreachable_info(&c));
                        let ns = c.namespace.as_deref();
                        (
                            c.object.clone(),
                            self.delete_object(&info, ns, &c.name).await,
                        )
                    })
                    .buffer_unordered(self.concurrency)
                    .collect()
                    .await;
                for (object, r) in results {
                    match r {
                        Ok(_) => pruned.push(object),
                        Err(e) => {
                            prune_done = false;
                            failures.push(ObjectFailure {
                                object,
                                error: format!("prune failed: {}", describe(&e)),
                            });
                        }
                    }
                }
                if !prune_done {
                    break;
                }
            }
        }

        // 4. Shrink the inventory to what the unit owns now.
        if failures.is_empty() {
            let mut final_inv = Inventory::new(&plan.unit);
            final_inv.revision = plan
                .revision
                .clone()
                .or_else(|| old.as_ref().and_then(|o| o.revision.clone()));
            for (i, d) in plan.desired.iter().enumerate() {
                if succeeded[i] {
                    final_inv.entries.insert(d.key.clone(), d.hash.clone());
                }
            }
            if !opts.prune {
                // Objects that left the unit stay owned until a prune removes them.
                for (k, h) in &grown.entries {
                    final_inv
                        .entries
                        .entry(k.clone())
                        .or_insert_with(|| h.clone());
                }
            }
            let current = stored.as_ref().map(|s| &s.inventory);
            if current.is_none_or(|c| !c.same_content(&final_inv)) {
                final_inv.applied_at = Some(now_rfc3339());
                self.write_inventory(&final_inv, stored.as_ref(), false)
                    .await?;
            }
        }

        // 5. Health.
        let health = match (&opts.wait, failures.is_empty()) {
            (Some(w), true) => Some(self.wait_for(&plan, w).await?),
            _ => None,
        };
        applied.sort();
        pruned.sort();
        Ok(ApplyReport {
            plan,
            applied,
            pruned,
            failures,
            health,
            requests: self.requests().since(&before),
            duration_ms: started.elapsed().as_millis(),
        })
    }

    /// Apply one planned change; `Ok(true)` when it wrote something.
    async fn apply_change(
        &self,
        plan: &Plan,
        c: &Change,
        opts: &ApplyOptions,
    ) -> Result<bool, String> {
        let Some(d) = c.desired.and_then(|i| plan.desired.get(i)) else {
            return Ok(false);
        };
        match c.action {
            Action::Create | Action::Update => {}
            Action::Replace => return self.replace(&d.info, &d.obj, opts).await.map(|_| true),
            _ => return Ok(false),
        }
        let force = c.force || opts.force_conflicts;
        match self.apply_object(&d.info, &d.obj, force, false).await {
            Ok(_) => Ok(true),
            Err(e) => {
                if let Some(field) = immutable_field(&e) {
                    if opts.force_replace
                        || d.obj["metadata"]["annotations"][crate::FORCE_ANNOTATION] == "enabled"
                    {
                        return self.replace(&d.info, &d.obj, opts).await.map(|_| true);
                    }
                    return Err(format!(
                        "immutable field {field} cannot be changed; annotate the object with {}: enabled or use --force to delete and recreate it",
                        crate::FORCE_ANNOTATION
                    ));
                }
                if let Some(s) = api_status(&e)
                    && s.is_conflict()
                {
                    return Err(format!(
                        "{} (use --force-conflicts to take them over)",
                        s.message
                    ));
                }
                Err(describe(&e))
            }
        }
    }

    async fn replace(
        &self,
        info: &ResourceInfo,
        obj: &Value,
        opts: &ApplyOptions,
    ) -> Result<(), String> {
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        let ns = obj["metadata"]["namespace"].as_str();
        self.delete_object(info, ns, name)
            .await
            .map_err(|e| format!("deleting to recreate: {}", describe(&e)))?;
        self.wait_gone(info, ns, name, opts.settle_timeout)
            .await
            .map_err(|e| format!("deleting to recreate: {e:#}"))?;
        self.apply_object(info, obj, true, false)
            .await
            .map(|_| ())
            .map_err(|e| format!("recreating: {}", describe(&e)))
    }

    /// Wait until the unit's CRDs are Established, then refresh discovery
    /// if custom resources of the unit were waiting for them.
    async fn settle_crds(&self, plan: &Plan, timeout: Duration) -> anyhow::Result<()> {
        let crds: Vec<&crate::plan::Desired> = plan
            .desired
            .iter()
            .zip(&plan.changes)
            .filter(|(d, c)| crate::discovery::is_crd(&d.obj) && c.action != Action::Unchanged)
            .map(|(d, _)| d)
            .collect();
        let pending = plan.desired.iter().any(|d| d.info.pending_crd);
        if crds.is_empty() && !pending {
            return Ok(());
        }
        let deadline = tokio::time::Instant::now() + timeout;
        for crd in crds {
            let mut delay = Duration::from_millis(50);
            loop {
                let live = self.get(&crd.info, None, &crd.key.name).await?;
                let established = live.as_ref().is_some_and(|l| {
                    l["status"]["conditions"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|c| c["type"] == "Established" && c["status"] == "True")
                });
                if established {
                    break;
                }
                if tokio::time::Instant::now() >= deadline {
                    anyhow::bail!("{} not Established after {}s", crd.oref, timeout.as_secs());
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_millis(500));
            }
        }
        if pending {
            self.refresh_resources().await?;
        }
        Ok(())
    }
}

fn unreachable_info(c: &Change) -> ResourceInfo {
    // Prune changes always carry their resource; this keeps the types total.
    ResourceInfo {
        group: c.key.group.clone(),
        version: c.api_version.rsplit('/').next().unwrap_or("v1").to_owned(),
        kind: c.kind.clone(),
        plural: String::new(),
        namespaced: c.namespace.is_some(),
        pending_crd: false,
    }
}
