//! Smoke tests of the test environment itself: the control planes really run
//! controllers, a scheduler and fake nodes, and the clusters are independent.

use anyhow::{Context, Result};
use flotilla_testkit::{Cluster, clusters, namespace};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client};
use std::time::{Duration, Instant};

fn deployment(name: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}
            }
        }
    })
}

fn is_available(d: &Deployment) -> bool {
    d.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c.type_ == "Available" && c.status == "True")
        })
        && d.status.as_ref().and_then(|s| s.available_replicas) == Some(2)
}

async fn deploy_and_wait(cluster: &Cluster) -> Result<Duration> {
    let ns = namespace(cluster, "smoke").await?;
    let api: Api<Deployment> = Api::namespaced(cluster.client().await?, &ns.name);
    let start = Instant::now();
    api.patch(
        "web",
        &PatchParams::apply("flotilla-testkit"),
        &Patch::Apply(deployment("web")),
    )
    .await
    .with_context(|| format!("applying the Deployment to {}", cluster.name))?;
    let deadline = start + Duration::from_secs(120);
    loop {
        let d = api.get("web").await?;
        if is_available(&d) {
            return Ok(start.elapsed());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "Deployment web in {} not Available after 120s: {:?}",
            cluster.name,
            d.status
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn deployment_becomes_available_on_three_clusters() -> Result<()> {
    let Some(clusters) = clusters() else {
        return Ok(());
    };
    assert!(
        clusters.len() >= 3,
        "expected 3 test clusters, got {}",
        clusters.len()
    );
    let results = futures::future::join_all(clusters.iter().take(3).map(deploy_and_wait)).await;
    for (cluster, result) in clusters.iter().zip(results) {
        let took = result?;
        println!(
            "{}: Deployment web (2 replicas) Available=True after {:.1}s",
            cluster.name,
            took.as_secs_f64()
        );
    }
    Ok(())
}

async fn namespace_exists(client: Client, name: &str) -> Result<bool> {
    Ok(Api::<Namespace>::all(client).get_opt(name).await?.is_some())
}

#[tokio::test]
async fn clusters_are_independent() -> Result<()> {
    let Some(clusters) = clusters() else {
        return Ok(());
    };
    let (a, others) = clusters.split_first().context("no clusters")?;
    assert!(others.len() >= 2);

    // A namespace made in one cluster is absent from the others.
    let ns = namespace(a, "independent").await?;
    assert!(namespace_exists(a.client().await?, &ns.name).await?);
    for b in others {
        assert!(
            !namespace_exists(b.client().await?, &ns.name).await?,
            "namespace {} made in {} is visible in {}",
            ns.name,
            a.name,
            b.name
        );
    }

    // Cluster A's credentials are rejected by cluster B: present A's client
    // certificate to B's server (trusting B's CA, so TLS itself succeeds).
    let b = &others[0];
    let config_a = a.config().await?;
    let config_b = b.config().await?;
    assert_ne!(config_a.cluster_url, config_b.cluster_url);
    let mut crossed = config_a.clone();
    crossed.cluster_url = config_b.cluster_url.clone();
    crossed.root_cert = config_b.root_cert.clone();
    let err = Api::<Namespace>::all(Client::try_from(crossed)?)
        .list(&Default::default())
        .await
        .expect_err("cluster B accepted cluster A's credentials");
    match &err {
        kube::Error::Api(status) => assert_eq!(
            status.code, 401,
            "expected 401 Unauthorized, got {status:?}"
        ),
        other => panic!("expected 401 Unauthorized from {}, got {other}", b.name),
    }
    // The same credentials work on their own cluster.
    Api::<Namespace>::all(Client::try_from(config_a)?)
        .list(&Default::default())
        .await?;
    Ok(())
}
