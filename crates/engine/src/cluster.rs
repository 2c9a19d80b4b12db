//! One target cluster: a counted kube client, the discovery cache, object
//! and inventory I/O. Everything per cluster lives here; nothing is global.

use crate::counting::{RequestCounter, RequestCounts};
use crate::discovery::{ResourceInfo, ResourceMap};
use crate::inventory::{self, INVENTORY_NAMESPACE, Inventory};
use anyhow::Context as _;
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PropagationPolicy,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// A connection to one cluster, with its discovery cache and request counts.
pub struct ClusterHandle {
    name: String,
    client: kube::Client,
    counter: RequestCounter,
    resources: tokio::sync::Mutex<Option<Arc<ResourceMap>>>,
    /// Requests in flight at most, per stage.
    pub(crate) concurrency: usize,
}

impl std::fmt::Debug for ClusterHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterHandle")
            .field("name", &self.name)
            .finish()
    }
}

/// The inventory as stored: its content and each chunk's `data`.
#[derive(Clone, Debug, Default)]
pub(crate) struct StoredInventory {
    pub inventory: Inventory,
    pub chunk_data: BTreeMap<usize, Value>,
}

impl ClusterHandle {
    /// Connect using a kubeconfig file (or the default search: $KUBECONFIG,
    /// ~/.kube/config, in-cluster) and context (or the current one).
    pub async fn from_kubeconfig(
        kubeconfig: Option<&Path>,
        context: Option<&str>,
    ) -> anyhow::Result<ClusterHandle> {
        let options = KubeConfigOptions {
            context: context.map(str::to_owned),
            ..Default::default()
        };
        let config = match kubeconfig {
            Some(path) => {
                let kc = Kubeconfig::read_from(path)
                    .with_context(|| format!("reading kubeconfig {}", path.display()))?;
                kube::Config::from_custom_kubeconfig(kc, &options)
                    .await
                    .with_context(|| {
                        format!(
                            "kubeconfig {}: context {}",
                            path.display(),
                            context.unwrap_or("(current)")
                        )
                    })?
            }
            None if context.is_some() => kube::Config::from_kubeconfig(&options)
                .await
                .with_context(|| format!("kubeconfig context {}", context.unwrap_or_default()))?,
            None => kube::Config::infer()
                .await
                .context("finding a kubeconfig")?,
        };
        let name = context
            .map(str::to_owned)
            .unwrap_or_else(|| config.cluster_url.to_string());
        ClusterHandle::from_config(name, config)
    }

    /// Connect with a ready kube configuration; `name` is used in messages.
    pub fn from_config(
        name: impl Into<String>,
        config: kube::Config,
    ) -> anyhow::Result<ClusterHandle> {
        let name = name.into();
        let counter = RequestCounter::new();
        let client = kube::client::ClientBuilder::try_from(config)
            .with_context(|| format!("cluster {name}: building the client"))?
            .with_layer(&counter.layer())
            .build();
        Ok(ClusterHandle {
            name,
            client,
            counter,
            resources: tokio::sync::Mutex::new(None),
            concurrency: 16,
        })
    }

    /// The name used in messages (the kubeconfig context).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    /// Requests sent through this handle so far.
    pub fn requests(&self) -> RequestCounts {
        self.counter.snapshot()
    }

    /// Set how many requests a stage may have in flight (default 16).
    pub fn with_concurrency(mut self, n: usize) -> ClusterHandle {
        self.concurrency = n.max(1);
        self
    }

    /// The cluster's kinds, from the cache or from discovery.
    pub async fn resources(&self) -> anyhow::Result<Arc<ResourceMap>> {
        let mut cache = self.resources.lock().await;
        if let Some(map) = cache.as_ref() {
            return Ok(map.clone());
        }
        let map = Arc::new(self.discover().await?);
        *cache = Some(map.clone());
        Ok(map)
    }

    /// Rediscover (after a CRD was added, or a kind was not found).
    pub async fn refresh_resources(&self) -> anyhow::Result<Arc<ResourceMap>> {
        let mut cache = self.resources.lock().await;
        let map = Arc::new(self.discover().await?);
        *cache = Some(map.clone());
        Ok(map)
    }

    async fn discover(&self) -> anyhow::Result<ResourceMap> {
        let discovery = match kube::Discovery::new(self.client.clone())
            .run_aggregated()
            .await
        {
            Ok(d) => d,
            Err(e) => {
                tracing::debug!(cluster = %self.name, error = %e, "aggregated discovery failed, using legacy discovery");
                kube::Discovery::new(self.client.clone())
                    .run()
                    .await
                    .with_context(|| format!("cluster {}: API discovery", self.name))?
            }
        };
        Ok(ResourceMap::from_discovery(&discovery))
    }

    fn api(&self, info: &ResourceInfo, namespace: Option<&str>) -> Api<DynamicObject> {
        let ar = info.api_resource();
        match namespace.filter(|_| info.namespaced) {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &ar),
            None => Api::all_with(self.client.clone(), &ar),
        }
    }

    /// GET one object; `None` if it does not exist.
    pub(crate) async fn get(
        &self,
        info: &ResourceInfo,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, kube::Error> {
        let obj = self.api(info, namespace).get_opt(name).await?;
        Ok(obj.map(to_value))
    }

    /// LIST all objects of a resource in a namespace (or cluster-wide), paged.
    pub(crate) async fn list(
        &self,
        info: &ResourceInfo,
        namespace: Option<&str>,
        selector: Option<&str>,
    ) -> Result<Vec<Value>, kube::Error> {
        let api = self.api(info, namespace);
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut lp = ListParams::default().limit(500);
            if let Some(s) = selector {
                lp = lp.labels(s);
            }
            if let Some(t) = &token {
                lp = lp.continue_token(t);
            }
            let page = api.list(&lp).await?;
            token = page.metadata.continue_.clone().filter(|t| !t.is_empty());
            out.extend(page.items.into_iter().map(to_value));
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    /// Server-side apply one object as field manager `flotilla`.
    pub(crate) async fn apply_object(
        &self,
        info: &ResourceInfo,
        obj: &Value,
        force: bool,
        dry_run: bool,
    ) -> Result<Value, kube::Error> {
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        let namespace = obj["metadata"]["namespace"].as_str();
        let mut pp = PatchParams::apply(crate::FIELD_MANAGER);
        if force {
            pp = pp.force();
        }
        if dry_run {
            pp = pp.dry_run();
        }
        let result = self
            .api(info, namespace)
            .patch(name, &pp, &Patch::Apply(obj))
            .await?;
        Ok(to_value(result))
    }

    /// DELETE one object (background propagation); `false` if it was gone.
    pub(crate) async fn delete_object(
        &self,
        info: &ResourceInfo,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<bool, kube::Error> {
        let dp = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            ..Default::default()
        };
        match self.api(info, namespace).delete(name, &dp).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Poll until an object is gone (after a delete), up to `timeout`.
    pub(crate) async fn wait_gone(
        &self,
        info: &ResourceInfo,
        namespace: Option<&str>,
        name: &str,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut delay = Duration::from_millis(100);
        loop {
            if self.get(info, namespace, name).await?.is_none() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                anyhow::bail!("still present {}s after deletion", timeout.as_secs());
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(1));
        }
    }

    fn configmaps() -> ResourceInfo {
        ResourceInfo {
            group: String::new(),
            version: "v1".into(),
            kind: "ConfigMap".into(),
            plural: "configmaps".into(),
            namespaced: true,
            pending_crd: false,
        }
    }

    /// Read a unit's inventory from the cluster (`None` if it has none).
    pub async fn inventory(&self, unit: &str) -> anyhow::Result<Option<Inventory>> {
        Ok(self.read_inventory(unit).await?.map(|s| s.inventory))
    }

    pub(crate) async fn read_inventory(
        &self,
        unit: &str,
    ) -> anyhow::Result<Option<StoredInventory>> {
        let chunks = self
            .list(
                &Self::configmaps(),
                Some(INVENTORY_NAMESPACE),
                Some(&inventory::selector(unit)),
            )
            .await
            .with_context(|| {
                format!(
                    "cluster {}: reading the inventory of unit {unit}",
                    self.name
                )
            })?;
        let Some(inv) = Inventory::from_chunks(unit, &chunks)? else {
            return Ok(None);
        };
        let chunk_data = chunks
            .iter()
            .filter_map(|c| {
                Some((
                    inventory::chunk_index(unit, c["metadata"]["name"].as_str()?)?,
                    c["data"].clone(),
                ))
            })
            .collect();
        Ok(Some(StoredInventory {
            inventory: inv,
            chunk_data,
        }))
    }

    /// Store `new` over `stored`, writing only chunks whose data changed, in
    /// the crash-safe order (see [`crate::inventory`]).
    pub(crate) async fn write_inventory(
        &self,
        new: &Inventory,
        stored: Option<&StoredInventory>,
        growing: bool,
    ) -> anyhow::Result<StoredInventory> {
        let chunks = new.chunks();
        let mut order: Vec<usize> = (0..chunks.len()).collect();
        if growing {
            order.reverse();
        }
        let mut written = BTreeMap::new();
        for index in order {
            let chunk = &chunks[index];
            if stored.and_then(|s| s.chunk_data.get(&index)) != Some(&chunk["data"]) {
                self.apply_inventory_chunk(chunk).await.with_context(|| {
                    format!(
                        "cluster {}: writing the inventory of unit {}",
                        self.name, new.unit
                    )
                })?;
            }
            written.insert(index, chunk["data"].clone());
        }
        if let Some(stored) = stored {
            for (&index, _) in stored.chunk_data.range(chunks.len()..) {
                self.delete_object(
                    &Self::configmaps(),
                    Some(INVENTORY_NAMESPACE),
                    &inventory::chunk_name(&new.unit, index),
                )
                .await
                .with_context(|| {
                    format!(
                        "cluster {}: shrinking the inventory of unit {}",
                        self.name, new.unit
                    )
                })?;
            }
        }
        Ok(StoredInventory {
            inventory: new.clone(),
            chunk_data: written,
        })
    }

    async fn apply_inventory_chunk(&self, chunk: &Value) -> anyhow::Result<()> {
        match self
            .apply_object(&Self::configmaps(), chunk, true, false)
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.is_not_found() => {
                let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": INVENTORY_NAMESPACE}});
                let ns_info = ResourceInfo {
                    group: String::new(),
                    version: "v1".into(),
                    kind: "Namespace".into(),
                    plural: "namespaces".into(),
                    namespaced: false,
                    pending_crd: false,
                };
                self.apply_object(&ns_info, &ns, true, false)
                    .await
                    .with_context(|| format!("creating namespace {INVENTORY_NAMESPACE}"))?;
                self.apply_object(&Self::configmaps(), chunk, true, false)
                    .await?;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}

fn to_value(obj: DynamicObject) -> Value {
    serde_json::to_value(obj).unwrap_or(Value::Null)
}

/// The API status of a failed request, if the server answered.
pub(crate) fn api_status(e: &kube::Error) -> Option<&kube::core::Status> {
    match e {
        kube::Error::Api(s) => Some(s),
        _ => None,
    }
}

/// A short, secret-free description of a request error.
pub(crate) fn describe(e: &kube::Error) -> String {
    match api_status(e) {
        Some(s) if !s.message.is_empty() => s.message.clone(),
        _ => e.to_string(),
    }
}

/// RFC 3339 UTC time stamp, seconds precision.
pub(crate) fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil-from-days (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_look_like_rfc3339() {
        let t = super::now_rfc3339();
        assert_eq!(t.len(), 20, "{t}");
        assert!(
            t.starts_with("20") && t.ends_with('Z') && &t[10..11] == "T",
            "{t}"
        );
    }
}
