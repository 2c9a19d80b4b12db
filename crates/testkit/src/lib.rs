//! Real Kubernetes control planes for tests.
//!
//! [`clusters`] starts the repo's test clusters (`testenv/up`: etcd,
//! kube-apiserver, kube-controller-manager, kube-scheduler and kwok fake nodes
//! per cluster) once per test run, or reuses the ones already running, and
//! hands out one [`Cluster`] per control plane. Tests isolate themselves with
//! [`namespace`], which creates a uniquely named namespace and deletes it when
//! dropped.
//!
//! Invariants:
//! - Real-cluster tests never skip silently. They skip only when the user opts
//!   out with `FLOTILLA_SKIP_CLUSTER_TESTS=1`, and then a warning is printed.
//! - Each cluster is reached only with its own kubeconfig (its own CA and
//!   client certificate); nothing here mixes credentials across clusters.
//! - `FLOTILLA_TEST_KUBECONFIGS` (a `:`-separated list of kubeconfig paths)
//!   points the tests at clusters that are already running instead.

use anyhow::{Context, Result, bail};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{DeleteParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// The environment variable that opts out of real-cluster tests.
pub const SKIP_ENV: &str = "FLOTILLA_SKIP_CLUSTER_TESTS";
/// The environment variable naming already-running clusters' kubeconfigs.
pub const KUBECONFIGS_ENV: &str = "FLOTILLA_TEST_KUBECONFIGS";
/// How many clusters `testenv/up` starts for the test suite.
pub const CLUSTER_COUNT: usize = 3;

/// One running test cluster, reached through its own kubeconfig.
#[derive(Clone, Debug)]
pub struct Cluster {
    /// A short name (`flotilla-1`, ...).
    pub name: String,
    /// The kubeconfig file that holds this cluster's server, CA and credentials.
    pub kubeconfig: PathBuf,
    /// The context to use in `kubeconfig`.
    pub context: String,
}

impl Cluster {
    /// Load this cluster's kubeconfig into a client configuration.
    pub async fn config(&self) -> Result<Config> {
        let kubeconfig = Kubeconfig::read_from(&self.kubeconfig)
            .with_context(|| format!("reading kubeconfig {}", self.kubeconfig.display()))?;
        let options = KubeConfigOptions {
            context: Some(self.context.clone()),
            ..Default::default()
        };
        Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .with_context(|| format!("loading kubeconfig of cluster {}", self.name))
    }

    /// A client for this cluster.
    pub async fn client(&self) -> Result<Client> {
        let config = self.config().await?;
        Client::try_from(config)
            .with_context(|| format!("building a client for cluster {}", self.name))
    }
}

/// Whether the user opted out of real-cluster tests.
pub fn skip_requested() -> bool {
    matches!(
        std::env::var(SKIP_ENV).as_deref().map(str::trim),
        Ok("1") | Ok("true") | Ok("yes")
    )
}

static CLUSTERS: OnceLock<Result<Vec<Cluster>, String>> = OnceLock::new();

/// The test clusters, started on first use in this process (or reused).
///
/// Returns `None` only when real-cluster tests were explicitly skipped, and
/// says so loudly. Panics with the cause when the clusters cannot be started:
/// a test that needs a cluster must fail, not pass, when there is none.
pub fn clusters() -> Option<Vec<Cluster>> {
    if skip_requested() {
        eprintln!(
            "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             !! {SKIP_ENV} is set: SKIPPING a test that needs real clusters.\n\
             !! Nothing about cluster behaviour was verified by this run.\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        );
        return None;
    }
    match CLUSTERS.get_or_init(|| start_or_reuse().map_err(|e| format!("{e:#}"))) {
        Ok(clusters) => Some(clusters.clone()),
        Err(e) => panic!(
            "cannot start the test clusters: {e}\n(set {SKIP_ENV}=1 to skip real-cluster tests explicitly)"
        ),
    }
}

fn start_or_reuse() -> Result<Vec<Cluster>> {
    let paths: Vec<PathBuf> = match std::env::var(KUBECONFIGS_ENV) {
        Ok(list) if !list.trim().is_empty() => std::env::split_paths(&list).collect(),
        _ => run_testenv_up()?,
    };
    if paths.is_empty() {
        bail!("no test clusters: testenv/up printed no kubeconfig");
    }
    paths
        .iter()
        .map(|p| {
            let kubeconfig = Kubeconfig::read_from(p)
                .with_context(|| format!("reading kubeconfig {}", p.display()))?;
            let context = kubeconfig
                .current_context
                .clone()
                .with_context(|| format!("kubeconfig {} has no current-context", p.display()))?;
            let name = context.strip_prefix("kwok-").unwrap_or(&context).to_owned();
            Ok(Cluster {
                name,
                kubeconfig: p.clone(),
                context,
            })
        })
        .collect()
}

/// The repository root (where `testenv/` lives).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run_testenv_up() -> Result<Vec<PathBuf>> {
    let script = repo_root().join("testenv/up");
    let output = Command::new(&script)
        .arg(CLUSTER_COUNT.to_string())
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !output.status.success() {
        bail!("{} failed with {}", script.display(), output.status);
    }
    let stdout = String::from_utf8(output.stdout).context("testenv/up printed non-UTF-8 output")?;
    Ok(stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(PathBuf::from)
        .collect())
}

/// A namespace that exists only for one test; deleted (without waiting) on drop.
#[derive(Debug)]
pub struct TestNamespace {
    pub name: String,
    cluster: Cluster,
}

static NAMESPACE_COUNTER: AtomicU32 = AtomicU32::new(0);

/// Create a uniquely named namespace `PREFIX-<pid>-<n>` in `cluster`.
pub async fn namespace(cluster: &Cluster, prefix: &str) -> Result<TestNamespace> {
    let name = format!(
        "{}-{}-{}",
        prefix.trim_end_matches('-'),
        std::process::id(),
        NAMESPACE_COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let api: Api<Namespace> = Api::all(cluster.client().await?);
    let ns: Namespace = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {"flotilla.dev/test": "true"}},
    }))?;
    api.create(&PostParams::default(), &ns)
        .await
        .with_context(|| format!("creating namespace {name} in cluster {}", cluster.name))?;
    Ok(TestNamespace {
        name,
        cluster: cluster.clone(),
    })
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        // Drop cannot be async, and it may run inside or outside a runtime:
        // delete from a helper thread with its own small runtime.
        let cluster = self.cluster.clone();
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(client) = cluster.client().await {
                    let api: Api<Namespace> = Api::all(client);
                    let _ = api.delete(&name, &DeleteParams::background()).await;
                }
            });
        })
        .join();
    }
}
