//! Waiting for health: poll the unit's objects (LIST where many share a
//! resource and namespace, GET otherwise) with backoff until every object is
//! Current, nothing is left but failures, or the timeout passes; report the
//! status of each object.

use crate::cluster::ClusterHandle;
use crate::plan::{Desired, Plan};
use crate::unit::Unit;
use flotilla_health::{CustomRules, Health, Status};
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone)]
pub struct WaitOptions {
    pub timeout: Duration,
    /// Custom health rules (Flux `healthCheckExprs`), checked before kstatus.
    pub rules: Option<Arc<CustomRules>>,
}

impl WaitOptions {
    pub fn new(timeout: Duration) -> WaitOptions {
        WaitOptions {
            timeout,
            rules: None,
        }
    }
}

impl std::fmt::Debug for WaitOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitOptions")
            .field("timeout", &self.timeout)
            .field("rules", &self.rules.is_some())
            .finish()
    }
}

/// The health of one object at the end of a wait.
#[derive(Clone, Debug, Serialize)]
pub struct ObjectHealth {
    pub object: String,
    pub status: Status,
    pub message: String,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WaitReport {
    pub objects: Vec<ObjectHealth>,
    pub all_current: bool,
    pub timed_out: bool,
    pub elapsed_ms: u128,
}

impl WaitReport {
    /// Objects that are not Current.
    pub fn not_current(&self) -> impl Iterator<Item = &ObjectHealth> {
        self.objects.iter().filter(|o| o.status != Status::Current)
    }

    pub fn render_text(&self) -> String {
        let mut out = String::new();
        for o in &self.objects {
            out.push_str(&format!("{:<11} {}", o.status.as_str(), o.object));
            if !o.message.is_empty() && o.status != Status::Current {
                out.push_str(": ");
                out.push_str(&o.message);
            }
            out.push('\n');
        }
        let bad = self.not_current().count();
        if self.all_current {
            out.push_str(&format!("all {} objects are Current\n", self.objects.len()));
        } else if self.timed_out {
            out.push_str(&format!(
                "timed out after {} ms: {bad} objects not Current\n",
                self.elapsed_ms
            ));
        } else {
            out.push_str(&format!("{bad} objects not Current\n"));
        }
        out
    }
}

/// Health of one live object: custom rules first where they cover the kind.
pub fn health_of(obj: &Value, rules: Option<&CustomRules>) -> Health {
    if let Some(rules) = rules {
        let api_version = obj["apiVersion"].as_str().unwrap_or_default();
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        let kind = obj["kind"].as_str().unwrap_or_default();
        if rules.covers(group, kind) {
            return rules
                .compute(obj)
                .unwrap_or_else(|e| Health::unknown(format!("health rule: {e}")));
        }
    }
    flotilla_health::compute(obj)
}

impl ClusterHandle {
    /// Wait for the objects of a unit to become healthy.
    pub async fn wait(&self, unit: &Unit, opts: &WaitOptions) -> anyhow::Result<WaitReport> {
        let desired = self.prepare(unit).await?;
        self.wait_objects(&desired, opts).await
    }

    pub(crate) async fn wait_for(
        &self,
        plan: &Plan,
        opts: &WaitOptions,
    ) -> anyhow::Result<WaitReport> {
        // Objects whose CRD was pending are served now.
        let mut desired = plan.desired.clone();
        for d in &mut desired {
            d.info.pending_crd = false;
        }
        self.wait_objects(&desired, opts).await
    }

    async fn wait_objects(
        &self,
        desired: &[Desired],
        opts: &WaitOptions,
    ) -> anyhow::Result<WaitReport> {
        let started = Instant::now();
        let deadline = started + opts.timeout;
        let mut objects: Vec<ObjectHealth> = desired
            .iter()
            .map(|d| ObjectHealth {
                object: d.oref.to_string(),
                status: Status::Unknown,
                message: "not checked yet".into(),
            })
            .collect();
        let mut pending: Vec<usize> = (0..desired.len()).collect();
        let mut delay = Duration::from_millis(200);
        let mut timed_out = false;
        loop {
            let batch: Vec<Desired> = pending.iter().map(|&i| desired[i].clone()).collect();
            let live = self.fetch_live(&batch).await?;
            for (&i, live) in pending.iter().zip(live) {
                let h = match live {
                    Some(obj) => health_of(&obj, opts.rules.as_deref()),
                    None => Health::not_found(),
                };
                objects[i].status = h.status;
                objects[i].message = h.message;
            }
            pending.retain(|&i| objects[i].status != Status::Current);
            if pending.iter().all(|&i| objects[i].status == Status::Failed) {
                break;
            }
            let now = Instant::now();
            if now >= deadline {
                timed_out = true;
                break;
            }
            tokio::time::sleep(delay.min(deadline - now)).await;
            delay = (delay * 3 / 2).min(Duration::from_secs(3));
        }
        Ok(WaitReport {
            all_current: pending.is_empty(),
            objects,
            timed_out,
            elapsed_ms: started.elapsed().as_millis(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn custom_rules_take_precedence_for_their_kind() {
        let rules = CustomRules::new(&[flotilla_health::HealthCheckExpr {
            api_version: "example.com/v1".into(),
            kind: "Widget".into(),
            current: "status.phase == 'Ready'".into(),
            in_progress: None,
            failed: Some("status.phase == 'Broken'".into()),
        }])
        .unwrap();
        let w = |phase: &str| {
            json!({"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w", "generation": 1}, "status": {"phase": phase}})
        };
        assert_eq!(health_of(&w("Ready"), Some(&rules)).status, Status::Current);
        assert_eq!(health_of(&w("Broken"), Some(&rules)).status, Status::Failed);
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        assert_eq!(health_of(&cm, Some(&rules)).status, Status::Current);
    }

    #[test]
    fn report_text_names_unhealthy_objects() {
        let r = WaitReport {
            objects: vec![
                ObjectHealth {
                    object: "Deployment/a/web".into(),
                    status: Status::Current,
                    message: "ok".into(),
                },
                ObjectHealth {
                    object: "Job/a/j".into(),
                    status: Status::Failed,
                    message: "Job Failed".into(),
                },
            ],
            all_current: false,
            timed_out: false,
            elapsed_ms: 10,
        };
        let t = r.render_text();
        assert!(t.contains("Failed      Job/a/j: Job Failed"), "{t}");
        assert!(t.contains("1 objects not Current"), "{t}");
    }
}
