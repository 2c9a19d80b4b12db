//! Connecting to one cluster with its own credentials, with short timeouts
//! so an unreachable cluster is reported quickly and never blocks others.

use crate::config::{ClusterSpec, Fleet};
use anyhow::{Context as _, anyhow};
use flotilla_engine::ClusterHandle;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::json;
use std::time::Duration;

/// How long connecting to an API server may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long the reachability probe may take in all.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(6);

/// The kube client configuration of one cluster, from its own kubeconfig or
/// its own server/CA/credential reference; nothing is shared between clusters.
pub async fn config(fleet: &Fleet, cluster: &ClusterSpec) -> anyhow::Result<kube::Config> {
    let at = || format!("cluster {}", cluster.name);
    let (kubeconfig, context) = if let Some(k) = &cluster.kubeconfig {
        let path = fleet.resolve_path(&k.path).with_context(at)?;
        let kc = Kubeconfig::read_from(&path).with_context(|| {
            format!(
                "cluster {}: reading kubeconfig {}",
                cluster.name,
                path.display()
            )
        })?;
        (kc, k.context.clone())
    } else {
        let server = cluster.server.clone().unwrap_or_default();
        let mut kcluster = json!({"server": server});
        if let Some(ca) = &cluster.ca_file {
            kcluster["certificate-authority"] =
                json!(fleet.resolve_path(ca).with_context(at)?.to_string_lossy());
        }
        let cred = cluster.credentials.clone().unwrap_or_default();
        let mut user = json!({});
        if let Some(var) = &cred.token_env {
            let token = std::env::var(var).map_err(|_| {
                anyhow!(
                    "cluster {}: credentials.tokenEnv: environment variable {var} is not set",
                    cluster.name
                )
            })?;
            user["token"] = json!(token);
        }
        if let Some(f) = &cred.token_file {
            user["tokenFile"] = json!(fleet.resolve_path(f).with_context(at)?.to_string_lossy());
        }
        if let Some(f) = &cred.client_certificate_file {
            user["client-certificate"] =
                json!(fleet.resolve_path(f).with_context(at)?.to_string_lossy());
        }
        if let Some(f) = &cred.client_key_file {
            user["client-key"] = json!(fleet.resolve_path(f).with_context(at)?.to_string_lossy());
        }
        let kc: Kubeconfig = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": cluster.name, "cluster": kcluster}],
            "users": [{"name": cluster.name, "user": user}],
            "contexts": [{"name": cluster.name, "context": {"cluster": cluster.name, "user": cluster.name}}],
            "current-context": cluster.name,
        }))
        .with_context(at)?;
        (kc, None)
    };
    let options = KubeConfigOptions {
        context: context.clone(),
        ..Default::default()
    };
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .with_context(|| {
            format!(
                "cluster {}: context {}",
                cluster.name,
                context.as_deref().unwrap_or("(current)")
            )
        })?;
    config.connect_timeout = Some(CONNECT_TIMEOUT);
    config.read_timeout = Some(Duration::from_secs(60));
    Ok(config)
}

/// A handle for one cluster, named by its fleet name.
pub async fn connect(fleet: &Fleet, cluster: &ClusterSpec) -> anyhow::Result<ClusterHandle> {
    let config = config(fleet, cluster).await?;
    ClusterHandle::from_config(cluster.name.clone(), config)
}

/// Connect and check that the API server answers; its version if so.
pub async fn reach(
    fleet: &Fleet,
    cluster: &ClusterSpec,
) -> Result<(ClusterHandle, String), String> {
    let handle = connect(fleet, cluster)
        .await
        .map_err(|e| format!("{e:#}"))?;
    match tokio::time::timeout(PROBE_TIMEOUT, handle.client().apiserver_version()).await {
        Ok(Ok(v)) => Ok((handle, v.git_version)),
        Ok(Err(e)) => Err(format!(
            "cluster {} is unreachable: {}",
            cluster.name,
            short(&e)
        )),
        Err(_) => Err(format!(
            "cluster {} is unreachable: no answer within {}s",
            cluster.name,
            PROBE_TIMEOUT.as_secs()
        )),
    }
}

fn short(e: &kube::Error) -> String {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg = format!("{msg}: {s}");
        source = s.source();
    }
    msg
}
