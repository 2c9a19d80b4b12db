//! End-to-end: the fleet engine against the three real test clusters.
//!
//! Every test works in its own namespaces and unit names (suffixed with a
//! per-run id) so it never collides with other tests on the shared clusters.

use flotilla_fleet::run::{self, ClusterSync, FleetSync, Progress, SyncOptions};
use flotilla_fleet::{Fleet, RenderCache};
use flotilla_testkit::Cluster;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::Api;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Instant;

fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{:x}{:x}", std::process::id() % 0xfff, nanos % 0xffff)
}

struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Repo {
        let r = Repo {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        r.git(&["init", "-q", "-b", "main"]);
        r.git(&["config", "user.email", "e2e@flotilla.dev"]);
        r.git(&["config", "user.name", "e2e"]);
        r
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
    fn write(&self, rel: &str, text: &str) {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    fn remove(&self, rel: &str) {
        std::fs::remove_file(self.path().join(rel)).unwrap();
    }
    fn git(&self, args: &[&str]) {
        let out = Command::new("git")
            .args(args)
            .current_dir(self.path())
            .output()
            .expect("git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
    }
    fn fleet(&self) -> Arc<Fleet> {
        Arc::new(Fleet::load(&self.path().join("flotilla.yaml")).expect("fleet file"))
    }
}

/// The clusters block of a fleet file: cluster 1 is staging, 2 and 3 are
/// production (eu and us). `kubeconfig_of` may swap a cluster's kubeconfig.
fn clusters_yaml(
    clusters: &[Cluster],
    kubeconfig_of: impl Fn(usize) -> PathBuf,
    flux: Option<&str>,
) -> String {
    let labels = [
        "{env: staging, region: eu}",
        "{env: production, region: eu}",
        "{env: production, region: us}",
    ];
    let mut out = String::from("clusters:\n");
    for (i, c) in clusters.iter().enumerate() {
        out.push_str(&format!(
            "- name: {}\n  labels: {}\n  owner: e2e@flotilla.dev\n  kubeconfig: {{path: {}, context: {}}}\n",
            c.name,
            labels[i],
            kubeconfig_of(i).display(),
            c.context
        ));
        if let Some(f) = flux {
            out.push_str(&format!("  fluxPath: {f}/{}\n", c.name));
        }
    }
    out
}

fn three() -> Option<Vec<Cluster>> {
    let cs = flotilla_testkit::clusters()?;
    assert!(
        cs.len() >= 3,
        "the fleet tests need 3 clusters, found {}",
        cs.len()
    );
    Some(cs.into_iter().take(3).collect())
}

async fn sync(fleet: Arc<Fleet>) -> (FleetSync, Vec<(String, String)>) {
    let selected: Vec<_> = fleet.clusters.iter().collect();
    let desired = flotilla_fleet::resolve(&fleet, &selected, &RenderCache::default());
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let progress: run::ProgressFn = Arc::new(move |p| {
        if let Progress::UnitDone { cluster, unit } = p {
            sink.lock().unwrap().push((cluster, unit.unit));
        }
    });
    let result = run::sync(fleet.clone(), desired, SyncOptions::default(), progress).await;
    let events = events.lock().unwrap().clone();
    (result, events)
}

fn cluster_result<'a>(r: &'a FleetSync, name: &str) -> &'a ClusterSync {
    r.clusters
        .iter()
        .find(|c| c.cluster == name)
        .expect("cluster in result")
}

fn describe(r: &FleetSync) -> String {
    serde_json::to_string_pretty(r).unwrap_or_default()
}

async fn configmap(c: &Cluster, ns: &str, name: &str) -> Option<ConfigMap> {
    let api: Api<ConfigMap> = Api::namespaced(c.client().await.unwrap(), ns);
    api.get_opt(name).await.unwrap()
}

async fn deployment(c: &Cluster, ns: &str, name: &str) -> Option<Deployment> {
    let api: Api<Deployment> = Api::namespaced(c.client().await.unwrap(), ns);
    api.get_opt(name).await.unwrap()
}

/// Delete what a test made: its namespaces and its units' inventories and record.
async fn cleanup(clusters: &[Cluster], namespaces: &[String], units: &[String], fleet: &str) {
    for c in clusters {
        let Ok(client) = c.client().await else {
            continue;
        };
        let ns_api: Api<Namespace> = Api::all(client.clone());
        for ns in namespaces {
            let _ = ns_api.delete(ns, &Default::default()).await;
        }
        let cm: Api<ConfigMap> = Api::namespaced(client.clone(), "flotilla-system");
        for u in units {
            let lp =
                kube::api::ListParams::default().labels(&flotilla_engine::inventory::selector(u));
            let _ = cm.delete_collection(&Default::default(), &lp).await;
        }
        let _ = cm
            .delete(&format!("fleet-{fleet}"), &Default::default())
            .await;
    }
}

fn app_files(ns: &str) -> Vec<(String, String)> {
    vec![
        (
            "apps/base/kustomization.yaml".into(),
            "resources: [namespace.yaml, web.yaml, settings.yaml]\n".into(),
        ),
        (
            "apps/base/namespace.yaml".into(),
            format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n"),
        ),
        (
            "apps/base/settings.yaml".into(),
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: {ns}\ndata:\n  env: ${{cluster_env}}\n  size: small\n"
            ),
        ),
        (
            "apps/base/web.yaml".into(),
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: {ns}\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      containers:\n      - name: web\n        image: ghcr.io/example/web:1.0\n"
            ),
        ),
        (
            "apps/production/kustomization.yaml".into(),
            "resources: [../base, worker.yaml]\nreplicas:\n- name: web\n  count: 2\n".into(),
        ),
        (
            "apps/production/worker.yaml".into(),
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: worker\n  namespace: {ns}\ndata:\n  queue: jobs\n"
            ),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn initial_sync_then_production_only_change_then_prune() {
    let Some(clusters) = three() else { return };
    let id = run_id();
    let ns = format!("fleet-e2e-{id}");
    let unit = format!("shop-{id}");
    let fleet_name = format!("e2e-{id}");
    // The manifests live in a real Git repository, fetched over file:// by
    // flotilla-source; the fleet file lives elsewhere.
    let repo = Repo::new();
    for (p, t) in app_files(&ns) {
        repo.write(&p, &t);
    }
    repo.commit("initial");
    let fleet_dir = tempfile::tempdir().unwrap();
    let fleet_file = fleet_dir.path().join("flotilla.yaml");
    std::fs::write(
        &fleet_file,
        format!(
            "apiVersion: flotilla.dev/v1alpha1\nkind: Fleet\nmetadata: {{name: {fleet_name}}}\n{}sources:\n- name: repo\n  git: {{url: 'file://{}', branch: main}}\nunits:\n- name: {unit}\n  source: repo\n  path: apps/base\n  substitute: true\n  timeout: 2m\n  targets:\n  - selector: env=staging\n  - selector: env=production\n    path: apps/production\n",
            clusters_yaml(&clusters, |i| clusters[i].kubeconfig.clone(), None),
            repo.path().display()
        ),
    )
    .unwrap();
    let load = || Arc::new(Fleet::load(&fleet_file).expect("fleet file"));
    let head = || {
        let out = Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(repo.path())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };

    // 1. Initial sync converges everywhere.
    let (r, _) = sync(load()).await;
    let outcome = async {
        assert!(r.converged(), "initial sync: {}", describe(&r));
        for (i, c) in clusters.iter().enumerate() {
            let cm = configmap(c, &ns, "settings")
                .await
                .expect("settings exists");
            let env = if i == 0 { "staging" } else { "production" };
            assert_eq!(cm.data.unwrap()["env"], env);
            let web = deployment(c, &ns, "web").await.expect("web exists");
            assert_eq!(web.spec.unwrap().replicas, Some(if i == 0 { 1 } else { 2 }));
            assert_eq!(
                configmap(c, &ns, "worker").await.is_some(),
                i > 0,
                "worker only in production"
            );
        }
        // Status from the clusters: the revision applied is the commit.
        let fleet = load();
        let selected: Vec<_> = fleet.clusters.iter().collect();
        let desired = flotilla_fleet::resolve(&fleet, &selected, &RenderCache::default());
        let status = run::status(fleet.clone(), desired, 8).await;
        for s in &status {
            let u = &s.units[0];
            assert_eq!(
                u.applied_revision,
                Some(format!("main@sha1:{}", head())),
                "{u:?}"
            );
            assert_eq!(u.applied_revision, u.desired_revision);
            assert_eq!(
                (u.health.as_str(), u.pending, u.drift),
                ("Current", 0, 0),
                "{u:?}"
            );
        }

        // 2. A commit that changes only the production overlay changes only production.
        repo.write(
            "apps/production/kustomization.yaml",
            "resources: [../base, worker.yaml]\nreplicas:\n- name: web\n  count: 3\n",
        );
        let committed = Instant::now();
        repo.commit("production: 3 replicas");
        let fleet = load();
        let selected: Vec<_> = fleet.clusters.iter().collect();
        let desired = flotilla_fleet::resolve(&fleet, &selected, &RenderCache::default());
        let plan = run::plan(fleet.clone(), desired, 8, true).await;
        for c in &plan.clusters {
            let s = &c.units[0].summary;
            let expected = if c.cluster == clusters[0].name { 0 } else { 1 };
            assert_eq!(
                (s.create, s.update, s.prune),
                (0, expected, 0),
                "plan of {}: {s:?}",
                c.cluster
            );
        }
        let (r, _) = sync(fleet).await;
        let elapsed = committed.elapsed();
        assert!(r.converged(), "second sync: {}", describe(&r));
        eprintln!(
            "commit-to-converged on 3 clusters (plan + sync, with health wait): {} ms",
            elapsed.as_millis()
        );
        assert_eq!(
            cluster_result(&r, &clusters[0].name).units[0].applied,
            0,
            "staging untouched"
        );
        for c in &clusters[1..] {
            assert_eq!(
                cluster_result(&r, &c.name).units[0].applied,
                1,
                "{}: one update",
                c.name
            );
            assert_eq!(
                deployment(c, &ns, "web")
                    .await
                    .unwrap()
                    .spec
                    .unwrap()
                    .replicas,
                Some(3)
            );
        }
        assert_eq!(
            deployment(&clusters[0], &ns, "web")
                .await
                .unwrap()
                .spec
                .unwrap()
                .replicas,
            Some(1)
        );

        // 3. Removing an app prunes it where it was targeted (production only).
        repo.remove("apps/production/worker.yaml");
        repo.write(
            "apps/production/kustomization.yaml",
            "resources: [../base]\nreplicas:\n- name: web\n  count: 3\n",
        );
        repo.commit("remove the worker");
        let (r, _) = sync(load()).await;
        assert!(r.converged(), "prune sync: {}", describe(&r));
        assert_eq!(cluster_result(&r, &clusters[0].name).units[0].pruned, 0);
        for c in &clusters[1..] {
            assert_eq!(cluster_result(&r, &c.name).units[0].pruned, 1, "{}", c.name);
            assert!(
                configmap(c, &ns, "worker").await.is_none(),
                "worker pruned on {}",
                c.name
            );
        }

        // 4. A unit that stops targeting a cluster is pruned there.
        let text = std::fs::read_to_string(&fleet_file).unwrap();
        std::fs::write(
            &fleet_file,
            text.replace(
                "  - selector: env=production\n    path: apps/production\n",
                "",
            ),
        )
        .unwrap();
        let (r, _) = sync(load()).await;
        assert!(r.converged(), "retarget sync: {}", describe(&r));
        for c in &clusters[1..] {
            let u = &cluster_result(&r, &c.name).units;
            assert!(
                u.iter().any(|u| u.unit == unit && u.outcome == "removed"),
                "{}: {u:?}",
                c.name
            );
            assert!(
                deployment(c, &ns, "web").await.is_none(),
                "web pruned on {}",
                c.name
            );
        }
        assert!(
            deployment(&clusters[0], &ns, "web").await.is_some(),
            "staging keeps web"
        );
    };
    outcome.await;
    cleanup(
        &clusters,
        std::slice::from_ref(&ns),
        std::slice::from_ref(&unit),
        &fleet_name,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cluster_that_is_down_is_reported_while_the_others_converge() {
    let Some(clusters) = three() else { return };
    let id = run_id();
    let ns = format!("fleet-down-{id}");
    let unit = format!("down-{id}");
    let fleet_name = format!("down-{id}");
    let repo = Repo::new();
    repo.write(
        "app/cm.yaml",
        &format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hello\n  namespace: {ns}\ndata:\n  a: b\n"),
    );
    // Cluster 3's kubeconfig, pointed at a closed port.
    let original = std::fs::read_to_string(&clusters[2].kubeconfig).unwrap();
    let down = repo.path().join("down.kubeconfig");
    let mut patched = String::new();
    for line in original.lines() {
        if line.trim_start().starts_with("server:") {
            let indent = &line[..line.len() - line.trim_start().len()];
            patched.push_str(&format!("{indent}server: https://127.0.0.1:1\n"));
        } else {
            patched.push_str(line);
            patched.push('\n');
        }
    }
    std::fs::write(&down, patched).unwrap();
    let fleet_file = |down_now: bool| {
        format!(
            "apiVersion: flotilla.dev/v1alpha1\nkind: Fleet\nmetadata: {{name: {fleet_name}}}\n{}units:\n- name: {unit}\n  path: app\n",
            clusters_yaml(
                &clusters,
                |i| if i == 2 && down_now {
                    down.clone()
                } else {
                    clusters[i].kubeconfig.clone()
                },
                None
            )
        )
    };
    repo.write("flotilla.yaml", &fleet_file(true));
    repo.commit("initial");
    let outcome = async {
        let started = Instant::now();
        let (r, _) = sync(repo.fleet()).await;
        let took = started.elapsed();
        assert!(!r.converged());
        let third = cluster_result(&r, &clusters[2].name);
        assert!(!third.reachable && !third.converged, "{}", describe(&r));
        assert!(
            third.error.as_deref().unwrap_or("").contains("unreachable"),
            "{:?}",
            third.error
        );
        for c in &clusters[..2] {
            assert!(
                cluster_result(&r, &c.name).converged,
                "{}: {}",
                c.name,
                describe(&r)
            );
            assert!(configmap(c, &ns, "hello").await.is_some());
        }
        assert!(
            took.as_secs() < 30,
            "an unreachable cluster must not hold up the sync ({took:?})"
        );
        // It comes back: it converges, the others stay converged with no writes.
        repo.write("flotilla.yaml", &fleet_file(false));
        let (r, _) = sync(repo.fleet()).await;
        assert!(r.converged(), "{}", describe(&r));
        assert!(configmap(&clusters[2], &ns, "hello").await.is_some());
        for c in &clusters[..2] {
            assert_eq!(cluster_result(&r, &c.name).units[0].applied, 0);
        }
    };
    outcome.await;
    cleanup(
        &clusters,
        std::slice::from_ref(&ns),
        std::slice::from_ref(&unit),
        &fleet_name,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_depends_on_chain_applies_in_order_and_stops_at_a_failure() {
    let Some(clusters) = three() else { return };
    let id = run_id();
    let ns = format!("fleet-chain-{id}");
    let names: Vec<String> = ["db", "api", "web"]
        .iter()
        .map(|n| format!("{n}-{id}"))
        .collect();
    let fleet_name = format!("chain-{id}");
    let repo = Repo::new();
    repo.write(
        "db/all.yaml",
        &format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: db\n  namespace: {ns}\nspec:\n  selector:\n    matchLabels: {{app: db}}\n  template:\n    metadata:\n      labels: {{app: db}}\n    spec:\n      containers:\n      - name: db\n        image: postgres:16\n"),
    );
    for n in ["api", "web"] {
        repo.write(
            &format!("{n}/cm.yaml"),
            &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {n}\n  namespace: {ns}\ndata:\n  x: y\n"),
        );
    }
    // Declared in reverse: the order comes from dependsOn, not the file.
    let units = |db_path: &str| {
        format!(
            "units:\n- {{name: {w}, path: web, dependsOn: [{a}]}}\n- {{name: {a}, path: api, dependsOn: [{d}]}}\n- {{name: {d}, path: {db_path}, timeout: 2m}}\n",
            w = names[2],
            a = names[1],
            d = names[0]
        )
    };
    let head = format!(
        "apiVersion: flotilla.dev/v1alpha1\nkind: Fleet\nmetadata: {{name: {fleet_name}}}\n{}",
        clusters_yaml(&clusters, |i| clusters[i].kubeconfig.clone(), None)
    );
    repo.write("flotilla.yaml", &format!("{head}{}", units("db")));
    let outcome = async {
        let (r, events) = sync(repo.fleet()).await;
        assert!(r.converged(), "{}", describe(&r));
        for c in &clusters {
            let order: Vec<&str> = events
                .iter()
                .filter(|(k, _)| *k == c.name)
                .map(|(_, u)| u.as_str())
                .collect();
            assert_eq!(
                order,
                names.iter().map(String::as_str).collect::<Vec<_>>(),
                "{}",
                c.name
            );
            // The Deployment was healthy (waited for) before its dependants ran.
            let db = deployment(c, &ns, "db").await.unwrap();
            let api = configmap(c, &ns, "api").await.unwrap();
            let available = db.status.and_then(|s| s.available_replicas).unwrap_or(0);
            assert!(available >= 1, "db available on {}", c.name);
            assert!(api.metadata.creation_timestamp.is_some());
        }
        // A broken first link: the rest of the chain is skipped, nothing applied.
        std::fs::write(
            repo.path().join("web/cm.yaml"),
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web2\n  namespace: {ns}\n"
            ),
        )
        .unwrap();
        repo.write("flotilla.yaml", &format!("{head}{}", units("no-such-dir")));
        let (r, _) = sync(repo.fleet()).await;
        assert!(!r.converged());
        for c in &clusters {
            let u = &cluster_result(&r, &c.name).units;
            let outcome = |n: &str| u.iter().find(|x| x.unit == n).map(|x| x.outcome.clone());
            assert_eq!(outcome(&names[0]).as_deref(), Some("failed"));
            assert_eq!(outcome(&names[1]).as_deref(), Some("skipped"));
            assert_eq!(outcome(&names[2]).as_deref(), Some("skipped"));
            assert!(
                configmap(c, &ns, "web2").await.is_none(),
                "web not applied on {}",
                c.name
            );
        }
        // Dropping `web` from the fleet while `db` cannot render must not
        // prune it: a broken render is not a removal.
        let without_web = |db_path: &str| {
            units(db_path)
                .lines()
                .filter(|l| !l.contains(&format!("name: {}", names[2])))
                .map(|l| format!("{l}\n"))
                .collect::<String>()
        };
        repo.write(
            "flotilla.yaml",
            &format!("{head}{}", without_web("no-such-dir")),
        );
        let (r, _) = sync(repo.fleet()).await;
        for c in &clusters {
            let u = &cluster_result(&r, &c.name).units;
            assert!(
                !u.iter().any(|x| x.outcome == "removed"),
                "{}: {u:?}",
                c.name
            );
            assert!(
                configmap(c, &ns, "web").await.is_some(),
                "web kept on {}",
                c.name
            );
        }
        // Once everything renders again, the dropped unit is pruned.
        repo.write("flotilla.yaml", &format!("{head}{}", without_web("db")));
        let (r, _) = sync(repo.fleet()).await;
        assert!(r.converged(), "{}", describe(&r));
        for c in &clusters {
            let u = &cluster_result(&r, &c.name).units;
            assert!(
                u.iter()
                    .any(|x| x.unit == names[2] && x.outcome == "removed"),
                "{}: {u:?}",
                c.name
            );
            assert!(
                configmap(c, &ns, "web").await.is_none(),
                "web pruned on {}",
                c.name
            );
        }
    };
    outcome.await;
    cleanup(&clusters, std::slice::from_ref(&ns), &names, &fleet_name).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flux_layout_syncs_without_flux_installed() {
    let Some(clusters) = three() else { return };
    let id = run_id();
    let ns = format!("fleet-flux-{id}");
    let (infra, apps) = (format!("infra-{id}"), format!("apps-{id}"));
    let fleet_name = format!("flux-{id}");
    let repo = Repo::new();
    let ks = |name: &str, path: &str, deps: &str, extra: &str| {
        format!(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  interval: 10m\n  timeout: 2m\n  path: {path}\n  prune: true\n  wait: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  dependsOn: [{deps}]\n{extra}"
        )
    };
    for (i, c) in clusters.iter().enumerate() {
        let env = if i == 0 { "staging" } else { "production" };
        repo.write(
            &format!("clusters/{}/infra.yaml", c.name),
            &ks(
                &infra,
                "./infrastructure",
                "",
                &format!("  healthChecks:\n  - {{apiVersion: v1, kind: Namespace, name: {ns}}}\n"),
            ),
        );
        repo.write(
            &format!("clusters/{}/apps.yaml", c.name),
            &ks(
                &apps,
                &format!("./apps/{env}"),
                &format!("{{name: {infra}}}"),
                &format!("  targetNamespace: {ns}\n  postBuild:\n    substitute:\n      greeting: hello-{env}\n"),
            ),
        );
    }
    repo.write(
        "infrastructure/ns.yaml",
        &format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n"),
    );
    repo.write("apps/base/kustomization.yaml", "resources: [cm.yaml]\n");
    repo.write("apps/base/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: greeting\ndata:\n  text: ${greeting}\n  size: ${size:=small}\n");
    repo.write("apps/staging/kustomization.yaml", "resources: [../base]\n");
    repo.write(
        "apps/production/kustomization.yaml",
        "resources: [../base]\npatches:\n- target: {kind: ConfigMap, name: greeting}\n  patch: |\n    - op: add\n      path: /data/size\n      value: large\n",
    );
    repo.write(
        "flotilla.yaml",
        &format!(
            "apiVersion: flotilla.dev/v1alpha1\nkind: Fleet\nmetadata: {{name: {fleet_name}}}\n{}",
            clusters_yaml(
                &clusters,
                |i| clusters[i].kubeconfig.clone(),
                Some("clusters")
            )
        ),
    );
    repo.commit("flux layout");
    let outcome = async {
        let (r, events) = sync(repo.fleet()).await;
        assert!(r.converged(), "{}", describe(&r));
        for (i, c) in clusters.iter().enumerate() {
            let order: Vec<&str> = events
                .iter()
                .filter(|(k, _)| *k == c.name)
                .map(|(_, u)| u.as_str())
                .collect();
            assert_eq!(order, [infra.as_str(), apps.as_str()], "{}", c.name);
            let cm = configmap(c, &ns, "greeting")
                .await
                .expect("greeting applied")
                .data
                .unwrap();
            let env = if i == 0 { "staging" } else { "production" };
            assert_eq!(cm["text"], format!("hello-{env}"));
            assert_eq!(cm["size"], if i == 0 { "small" } else { "large" });
            // No Flux object reached the cluster: it has no Flux API at all.
            let discovery = kube::Discovery::new(c.client().await.unwrap())
                .run()
                .await
                .unwrap();
            assert!(
                !discovery
                    .groups()
                    .any(|g| g.name().ends_with("toolkit.fluxcd.io"))
            );
        }
    };
    outcome.await;
    cleanup(
        &clusters,
        std::slice::from_ref(&ns),
        &[infra, apps],
        &fleet_name,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_unit_waits_for_named_objects_to_be_healthy() {
    let Some(clusters) = three() else { return };
    let clusters = &clusters[..1];
    let id = run_id();
    let ns = format!("fleet-objdep-{id}");
    let (db, app, orphan) = (
        format!("db-{id}"),
        format!("app-{id}"),
        format!("orphan-{id}"),
    );
    let fleet_name = format!("objdep-{id}");
    let repo = Repo::new();
    repo.write(
        "db/all.yaml",
        &format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: db\n  namespace: {ns}\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {{app: db}}\n  template:\n    metadata:\n      labels: {{app: db}}\n    spec:\n      containers:\n      - name: db\n        image: postgres:16\n"),
    );
    repo.write(
        "app/cm.yaml",
        &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: {ns}\n"),
    );
    repo.write(
        "orphan/cm.yaml",
        &format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: orphan\n  namespace: {ns}\n"),
    );
    // `db` does not wait for its own health; `app` waits for the Deployment
    // by name; `orphan` waits for an object that never appears.
    repo.write(
        "flotilla.yaml",
        &format!(
            "apiVersion: flotilla.dev/v1alpha1\nkind: Fleet\nmetadata: {{name: {fleet_name}}}\n{}units:\n\
             - {{name: {db}, path: db, wait: false}}\n\
             - name: {app}\n  path: app\n  timeout: 2m\n  dependsOn: [{db}, {{apiVersion: apps/v1, kind: Deployment, name: db, namespace: {ns}}}]\n\
             - name: {orphan}\n  path: orphan\n  timeout: 3s\n  dependsOn: [{db}, {{apiVersion: apps/v1, kind: Deployment, name: ghost, namespace: {ns}}}]\n",
            clusters_yaml(clusters, |i| clusters[i].kubeconfig.clone(), None)
        ),
    );
    let outcome = async {
        let (r, _) = sync(repo.fleet()).await;
        let c = &r.clusters[0];
        let outcome = |n: &str| c.units.iter().find(|u| u.unit == n).unwrap().clone();
        assert_eq!(outcome(&db).outcome, "converged", "{}", describe(&r));
        assert_eq!(outcome(&app).outcome, "converged", "{}", describe(&r));
        let orphan_result = outcome(&orphan);
        assert_eq!(orphan_result.outcome, "skipped", "{}", describe(&r));
        assert!(
            orphan_result.problems[0].contains("Deployment/")
                && orphan_result.problems[0].contains("not found"),
            "{:?}",
            orphan_result.problems
        );
        // When `app` was applied, the Deployment it waited for was available.
        let dep = deployment(&clusters[0], &ns, "db").await.unwrap();
        assert_eq!(dep.status.and_then(|s| s.available_replicas), Some(2));
        assert!(configmap(&clusters[0], &ns, "app").await.is_some());
        assert!(configmap(&clusters[0], &ns, "orphan").await.is_none());
    };
    outcome.await;
    cleanup(
        clusters,
        std::slice::from_ref(&ns),
        &[db, app, orphan],
        &fleet_name,
    )
    .await;
}
