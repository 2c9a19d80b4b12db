//! End-to-end tests of the engine against the real test clusters
//! (`flotilla_testkit::clusters`). Each test works in its own namespace and
//! unit, so tests run in parallel.

use flotilla_engine::{Action, ApplyOptions, ClusterHandle, PlanOptions, Unit, WaitOptions};
use flotilla_testkit::{Cluster, TestNamespace};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::ApiResource;
use serde_json::{Value, json};
use std::time::Duration;

fn cluster() -> Option<Cluster> {
    flotilla_testkit::clusters().map(|c| c[0].clone())
}

async fn handle(c: &Cluster) -> ClusterHandle {
    ClusterHandle::from_config(c.context.clone(), c.config().await.expect("kubeconfig"))
        .expect("client")
}

async fn setup(prefix: &str) -> Option<(Cluster, TestNamespace, ClusterHandle)> {
    let c = cluster()?;
    let ns = flotilla_testkit::namespace(&c, prefix)
        .await
        .expect("namespace");
    let h = handle(&c).await;
    Some((c, ns, h))
}

fn cm(ns: &str, name: &str, value: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns},
           "data": {"key": value}})
}

fn deployment(ns: &str, name: &str, replicas: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": name, "namespace": ns},
           "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": {"app": name}},
                                 "spec": {"containers": [{"name": "app", "image": "nginx:1.27",
                                          "ports": [{"containerPort": 80}],
                                          "resources": {"requests": {"cpu": 0.1, "memory": "64Mi"}}}]}}}})
}

fn api(
    client: &kube::Client,
    ns: &str,
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
) -> Api<DynamicObject> {
    let ar = ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: if group.is_empty() {
            version.into()
        } else {
            format!("{group}/{version}")
        },
        kind: kind.into(),
        plural: plural.into(),
    };
    Api::namespaced_with(client.clone(), ns, &ar)
}

fn configmaps(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    api(client, ns, "", "v1", "ConfigMap", "configmaps")
}

async fn names_in_unit(h: &ClusterHandle, ns: &str, unit: &str) -> Vec<String> {
    let list = configmaps(h.client(), ns)
        .list(&kube::api::ListParams::default().labels(&format!("flotilla.dev/unit={unit}")))
        .await
        .unwrap();
    let mut names: Vec<String> = list
        .items
        .iter()
        .filter_map(|o| o.metadata.name.clone())
        .collect();
    names.sort();
    names
}

fn apply_prune() -> ApplyOptions {
    ApplyOptions {
        prune: true,
        ..Default::default()
    }
}

#[tokio::test]
async fn apply_noop_and_prune_after_removal() {
    let Some((_c, ns, h)) = setup("e2e-prune").await else {
        return;
    };
    let n = &ns.name;
    let mut keep = cm(n, "keep", "1");
    keep["metadata"]["annotations"] = json!({"flotilla.dev/prune": "disabled"});
    let objects = vec![
        cm(n, "a", "1"),
        cm(n, "b", "2"),
        keep,
        deployment(n, "web", 1),
    ];
    let unit = Unit::new(n.clone(), objects.clone());
    let first = h.apply(&unit, &apply_prune()).await.unwrap();
    assert!(first.failures.is_empty(), "{:?}", first.failures);
    assert_eq!(first.plan.summary.create, 4);
    assert_eq!(first.applied.len(), 4);
    let inv = h.inventory(n).await.unwrap().expect("inventory written");
    assert_eq!(inv.len(), 4);

    // No-op re-apply from a fresh handle (cold caches): no writes, no dry-runs.
    let fresh = handle(&_c).await;
    let again = fresh.apply(&unit, &apply_prune()).await.unwrap();
    assert_eq!(
        again.plan.summary.unchanged,
        4,
        "{}",
        again.plan.render_text(false)
    );
    assert_eq!(again.requests.writes(), 0, "{}", again.requests);
    assert_eq!(again.requests.dry_run, 0, "{}", again.requests);
    assert_eq!(fresh.requests().writes(), 0);

    // Remove `b` and `keep`: b is pruned, keep is orphaned (prune disabled).
    let unit2 = Unit::new(n.clone(), vec![objects[0].clone(), objects[3].clone()]);
    let plan = h
        .plan(
            &unit2,
            &PlanOptions {
                prune: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let actions: Vec<(String, Action)> = plan
        .changes
        .iter()
        .map(|c| (c.object.clone(), c.action))
        .collect();
    assert!(
        actions.contains(&(format!("ConfigMap/{n}/b"), Action::Prune)),
        "{actions:?}"
    );
    assert!(
        actions.contains(&(format!("ConfigMap/{n}/keep"), Action::Orphan)),
        "{actions:?}"
    );
    let third = h.apply(&unit2, &apply_prune()).await.unwrap();
    assert_eq!(third.pruned, vec![format!("ConfigMap/{n}/b")]);
    let cms = configmaps(h.client(), n);
    assert!(cms.get_opt("b").await.unwrap().is_none(), "b pruned");
    assert!(
        cms.get_opt("keep").await.unwrap().is_some(),
        "keep survives"
    );
    assert!(cms.get_opt("a").await.unwrap().is_some());
    let inv = h.inventory(n).await.unwrap().unwrap();
    assert_eq!(inv.len(), 2, "{:?}", inv.entries.keys().collect::<Vec<_>>());

    // Without --prune nothing is deleted and the object stays owned.
    let unit3 = Unit::new(n.clone(), vec![objects[3].clone()]);
    let r = h.apply(&unit3, &ApplyOptions::default()).await.unwrap();
    assert!(r.pruned.is_empty());
    assert!(cms.get_opt("a").await.unwrap().is_some());
    assert_eq!(h.inventory(n).await.unwrap().unwrap().len(), 2);
    let r = h.apply(&unit3, &apply_prune()).await.unwrap();
    assert_eq!(r.pruned, vec![format!("ConfigMap/{n}/a")]);
}

#[tokio::test]
async fn prune_never_touches_objects_outside_the_inventory() {
    let Some((_c, ns, h)) = setup("e2e-foreign").await else {
        return;
    };
    let n = &ns.name;
    // An object created by someone else, even labelled with our unit name.
    let mut foreign = cm(n, "foreign", "x");
    foreign["metadata"]["labels"] = json!({"flotilla.dev/unit": n});
    configmaps(h.client(), n)
        .patch(
            "foreign",
            &PatchParams::apply("someone-else"),
            &Patch::Apply(&foreign),
        )
        .await
        .unwrap();
    let unit = Unit::new(n.clone(), vec![cm(n, "mine", "1")]);
    h.apply(&unit, &apply_prune()).await.unwrap();
    let unit = Unit::new(n.clone(), vec![cm(n, "mine2", "1")]);
    let r = h.apply(&unit, &apply_prune()).await.unwrap();
    assert_eq!(r.pruned, vec![format!("ConfigMap/{n}/mine")]);
    assert!(
        configmaps(h.client(), n)
            .get_opt("foreign")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn mass_deletion_guard_refuses_empty_render() {
    let Some((_c, ns, h)) = setup("e2e-guard").await else {
        return;
    };
    let n = &ns.name;
    let unit = Unit::new(
        n.clone(),
        (0..5).map(|i| cm(n, &format!("c{i}"), "v")).collect(),
    );
    h.apply(&unit, &apply_prune()).await.unwrap();
    let empty = Unit::new(n.clone(), vec![]);
    let err = h.apply(&empty, &apply_prune()).await.unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("refusing to prune")
            && msg.contains("holds 5")
            && msg.contains("--allow-empty"),
        "{msg}"
    );
    assert_eq!(names_in_unit(&h, n, n).await.len(), 5, "nothing deleted");
    let opts = ApplyOptions {
        prune: true,
        allow_empty: true,
        ..Default::default()
    };
    let r = h.apply(&empty, &opts).await.unwrap();
    assert_eq!(r.pruned.len(), 5);
    assert!(names_in_unit(&h, n, n).await.is_empty());
    assert!(h.inventory(n).await.unwrap().unwrap().is_empty());
}

#[tokio::test]
async fn drift_is_reported_and_corrected() {
    let Some((_c, ns, h)) = setup("e2e-drift").await else {
        return;
    };
    let n = &ns.name;
    let unit = Unit::new(
        n.clone(),
        vec![cm(n, "conf", "desired"), deployment(n, "web", 2)],
    );
    h.apply(&unit, &ApplyOptions::default()).await.unwrap();
    // Someone edits owned fields imperatively (like kubectl edit / scale).
    let pp = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..Default::default()
    };
    configmaps(h.client(), n)
        .patch(
            "conf",
            &pp,
            &Patch::Merge(json!({"data": {"key": "edited"}})),
        )
        .await
        .unwrap();
    api(h.client(), n, "apps", "v1", "Deployment", "deployments")
        .patch("web", &pp, &Patch::Merge(json!({"spec": {"replicas": 5}})))
        .await
        .unwrap();
    let plan = h.plan(&unit, &PlanOptions::default()).await.unwrap();
    let conf = plan.changes.iter().find(|c| c.name == "conf").unwrap();
    assert_eq!(conf.action, Action::Update);
    assert!(conf.drift);
    let diff = conf.diff.as_deref().unwrap();
    assert!(
        diff.contains("-  key: edited") && diff.contains("+  key: desired"),
        "{diff}"
    );
    let web = plan.changes.iter().find(|c| c.name == "web").unwrap();
    assert!(
        web.drift && web.diff.as_deref().unwrap().contains("replicas"),
        "{:?}",
        web
    );
    assert_eq!(plan.summary.drift, 2);
    let r = h.apply(&unit, &ApplyOptions::default()).await.unwrap();
    assert!(r.failures.is_empty(), "{:?}", r.failures);
    let live = configmaps(h.client(), n).get("conf").await.unwrap();
    assert_eq!(live.data["data"]["key"], "desired");
    let live = api(h.client(), n, "apps", "v1", "Deployment", "deployments")
        .get("web")
        .await
        .unwrap();
    assert_eq!(live.data["spec"]["replicas"], 2);
    // And it is quiet again.
    let r = h.apply(&unit, &ApplyOptions::default()).await.unwrap();
    assert_eq!(r.requests.writes(), 0, "{}", r.requests);
}

#[tokio::test]
async fn conflicts_with_another_applier_need_force() {
    let Some((_c, ns, h)) = setup("e2e-conflict").await else {
        return;
    };
    let n = &ns.name;
    let other = cm(n, "shared", "theirs");
    configmaps(h.client(), n)
        .patch(
            "shared",
            &PatchParams::apply("other-tool"),
            &Patch::Apply(&other),
        )
        .await
        .unwrap();
    let unit = Unit::new(n.clone(), vec![cm(n, "shared", "ours")]);
    let err = h.apply(&unit, &ApplyOptions::default()).await.unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains(&format!("ConfigMap/{n}/shared"))
            && msg.contains(".data.key")
            && msg.contains("other-tool"),
        "{msg}"
    );
    assert!(msg.contains("--force-conflicts"), "{msg}");
    assert_eq!(
        configmaps(h.client(), n).get("shared").await.unwrap().data["data"]["key"],
        "theirs"
    );
    let opts = ApplyOptions {
        force_conflicts: true,
        ..Default::default()
    };
    h.apply(&unit, &opts).await.unwrap();
    assert_eq!(
        configmaps(h.client(), n).get("shared").await.unwrap().data["data"]["key"],
        "ours"
    );
}

#[tokio::test]
async fn immutable_field_fails_clearly_and_force_replaces() {
    let Some((_c, ns, h)) = setup("e2e-immutable").await else {
        return;
    };
    let n = &ns.name;
    let mut d = deployment(n, "web", 1);
    h.apply(
        &Unit::new(n.clone(), vec![d.clone()]),
        &ApplyOptions::default(),
    )
    .await
    .unwrap();
    let deployments = api(h.client(), n, "apps", "v1", "Deployment", "deployments");
    let uid_before = deployments.get("web").await.unwrap().metadata.uid;
    d["spec"]["selector"]["matchLabels"] = json!({"app": "web", "tier": "front"});
    d["spec"]["template"]["metadata"]["labels"] = json!({"app": "web", "tier": "front"});
    let unit = Unit::new(n.clone(), vec![d.clone()]);
    let err = h.apply(&unit, &ApplyOptions::default()).await.unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains(&format!("Deployment/{n}/web"))
            && msg.contains("spec.selector")
            && msg.contains("immutable"),
        "{msg}"
    );
    assert!(msg.contains("flotilla.dev/force"), "{msg}");
    d["metadata"]["annotations"] = json!({"flotilla.dev/force": "enabled"});
    let unit = Unit::new(n.clone(), vec![d.clone()]);
    let plan = h.plan(&unit, &PlanOptions::default()).await.unwrap();
    assert_eq!(plan.changes[0].action, Action::Replace);
    let r = h.apply(&unit, &ApplyOptions::default()).await.unwrap();
    assert!(r.failures.is_empty(), "{:?}", r.failures);
    let live = deployments.get("web").await.unwrap();
    assert_ne!(live.metadata.uid, uid_before, "recreated");
    assert_eq!(
        live.data["spec"]["selector"]["matchLabels"]["tier"],
        "front"
    );
}

#[tokio::test]
async fn crd_and_custom_resources_in_one_unit() {
    let Some((_c, ns, h)) = setup("e2e-crd").await else {
        return;
    };
    let n = &ns.name;
    let group = format!("{n}.flotilla.test");
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("widgets.{group}")},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                               "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                   "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}}}]}});
    let widget = json!({"apiVersion": format!("{group}/v1"), "kind": "Widget",
                        "metadata": {"name": "w1", "namespace": n}, "spec": {"size": 3}});
    let unit = Unit::new(n.clone(), vec![widget.clone(), crd.clone()]);
    // The plan works before the CRD exists.
    let plan = h
        .plan(
            &unit,
            &PlanOptions {
                prune: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(plan.summary.create, 2, "{}", plan.render_text(false));
    assert_eq!(
        plan.changes[0].kind, "CustomResourceDefinition",
        "CRD first"
    );
    let r = h.apply(&unit, &apply_prune()).await.unwrap();
    assert!(r.failures.is_empty(), "{:?}", r.failures);
    let widgets = api(h.client(), n, &group, "v1", "Widget", "widgets");
    assert_eq!(widgets.get("w1").await.unwrap().data["spec"]["size"], 3);
    // Re-apply is a no-op.
    let r = h.apply(&unit, &apply_prune()).await.unwrap();
    assert_eq!(r.requests.writes(), 0, "{}", r.requests);
    // An unknown kind not defined in the unit is a clear error.
    let bad = json!({"apiVersion": "nope.flotilla.test/v1", "kind": "Gizmo", "metadata": {"name": "g", "namespace": n}});
    let err = h
        .plan(&Unit::new(n.clone(), vec![bad]), &PlanOptions::default())
        .await
        .unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("Gizmo") && msg.contains("no CustomResourceDefinition"),
        "{msg}"
    );
    // Removing both prunes the CR before the CRD.
    let opts = ApplyOptions {
        prune: true,
        allow_empty: true,
        ..Default::default()
    };
    let r = h.apply(&Unit::new(n.clone(), vec![]), &opts).await.unwrap();
    assert_eq!(r.pruned.len(), 2, "{:?}", r.pruned);
}

#[tokio::test]
async fn plan_masks_secrets_and_serialises() {
    let Some((_c, ns, h)) = setup("e2e-secret").await else {
        return;
    };
    let n = &ns.name;
    let secret = |v: &str| {
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": n},
               "stringData": {"password": v}, "data": {"user": "YWRtaW4="}})
    };
    let unit = Unit::new(n.clone(), vec![secret("hunter2-initial")]);
    let plan = h.plan(&unit, &PlanOptions::default()).await.unwrap();
    let json = serde_json::to_string(&plan).unwrap();
    assert!(
        !json.contains("hunter2") && !json.contains("YWRtaW4"),
        "{json}"
    );
    h.apply(&unit, &ApplyOptions::default()).await.unwrap();
    let unit = Unit::new(n.clone(), vec![secret("hunter2-rotated")]);
    let plan = h.plan(&unit, &PlanOptions::default()).await.unwrap();
    assert_eq!(plan.changes[0].action, Action::Update);
    let json = serde_json::to_string(&plan).unwrap();
    let text = plan.render_text(false);
    for out in [&json, &text] {
        assert!(
            !out.contains("hunter2") && !out.contains("aHVudGVy") && !out.contains("YWRtaW4"),
            "{out}"
        );
    }
    assert!(text.contains("*** (changed)"), "{text}");
    // A namespace that does not exist yet is fine for a plan.
    let other = format!("{n}-later");
    let unit = Unit::new(
        n.clone(),
        vec![
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": other}}),
            cm(&other, "x", "1"),
        ],
    );
    let plan = h.plan(&unit, &PlanOptions::default()).await.unwrap();
    assert_eq!(plan.summary.create, 2);
}

#[tokio::test]
async fn health_wait_reports_available_and_failed() {
    let Some((_c, ns, h)) = setup("e2e-health").await else {
        return;
    };
    let n = &ns.name;
    let good = Unit::new(n.clone(), vec![deployment(n, "web", 2), cm(n, "conf", "1")]);
    let opts = ApplyOptions {
        wait: Some(WaitOptions::new(Duration::from_secs(90))),
        ..Default::default()
    };
    let r = h.apply(&good, &opts).await.unwrap();
    let health = r.health.as_ref().unwrap();
    assert!(health.all_current, "{}", health.render_text());
    assert!(r.succeeded());

    // A Deployment whose pods can never be scheduled, with a 3 s progress
    // deadline: kstatus reports it Failed (ProgressDeadlineExceeded).
    let mut stuck = deployment(n, "stuck", 1);
    stuck["spec"]["progressDeadlineSeconds"] = json!(3);
    stuck["spec"]["template"]["spec"]["nodeSelector"] =
        json!({"flotilla.dev/no-such-node": "true"});
    // A Job that fails (its deadline passes before its pod can be scheduled),
    // judged by a Flux-style CEL health rule: kstatus alone calls a started
    // Job Current.
    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "doomed", "namespace": n},
        "spec": {"activeDeadlineSeconds": 2, "backoffLimit": 0,
                 "template": {"spec": {"restartPolicy": "Never", "nodeSelector": {"flotilla.dev/no-such-node": "true"},
                                       "containers": [{"name": "c", "image": "busybox"}]}}}});
    let rules = flotilla_health::CustomRules::new(&[flotilla_health::HealthCheckExpr {
        api_version: "batch/v1".into(),
        kind: "Job".into(),
        current: "has(status.conditions) && status.conditions.exists(c, c.type == 'Complete' && c.status == 'True')".into(),
        in_progress: None,
        failed: Some("has(status.conditions) && status.conditions.exists(c, c.type == 'Failed' && c.status == 'True')".into()),
    }])
    .unwrap();
    let bad = Unit::new(format!("{n}-bad"), vec![stuck, job]);
    let opts = ApplyOptions {
        wait: Some(WaitOptions {
            timeout: Duration::from_secs(60),
            rules: Some(std::sync::Arc::new(rules)),
        }),
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let r = h.apply(&bad, &opts).await.unwrap();
    let health = r.health.as_ref().unwrap();
    let text = health.render_text();
    assert!(!health.all_current && !health.timed_out, "{text}");
    for o in &health.objects {
        assert_eq!(o.status, flotilla_health::Status::Failed, "{text}");
    }
    assert!(text.contains("Progress deadline exceeded"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(!r.succeeded());
}

#[tokio::test]
async fn crash_at_any_point_leaves_no_orphans() {
    let Some((_c, ns, h)) = setup("e2e-crash").await else {
        return;
    };
    let n = ns.name.clone();
    let version = |v: usize| -> Unit {
        Unit::new(
            n.clone(),
            (0..30).map(|i| cm(&n, &format!("v{v}-{i}"), "x")).collect(),
        )
    };
    h.apply(&version(0), &apply_prune()).await.unwrap();
    // Interrupt the switch to the next version at increasing points in time,
    // then let a full run converge: only the final version's objects remain.
    for (round, delay_ms) in [0u64, 5, 15, 30, 60, 120, 250].into_iter().enumerate() {
        let v = round + 1;
        let crash = {
            let unit = version(v);
            let h2 = handle(&_c).await;
            tokio::spawn(async move { h2.apply(&unit, &apply_prune()).await })
        };
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        crash.abort();
        let _ = crash.await;
        // The next run is for yet another version: the interrupted run's
        // objects must be owned (in the inventory) and pruned now.
        let next = version(v + 100);
        let r = h.apply(&next, &apply_prune()).await.unwrap();
        assert!(r.failures.is_empty(), "{:?}", r.failures);
        let names = names_in_unit(&h, &n, &n).await;
        let expected: Vec<String> = {
            let mut e: Vec<String> = (0..30).map(|i| format!("v{}-{i}", v + 100)).collect();
            e.sort();
            e
        };
        assert_eq!(
            names, expected,
            "round {round} (interrupted after {delay_ms} ms)"
        );
        assert_eq!(h.inventory(&n).await.unwrap().unwrap().len(), 30);
    }
}

#[tokio::test]
async fn adopting_an_existing_object_takes_ownership_once() {
    let Some((_c, ns, h)) = setup("e2e-adopt").await else {
        return;
    };
    let n = &ns.name;
    // Created imperatively (an Update-operation manager), same values as desired
    // apart from our unit label.
    let existing: DynamicObject = serde_json::from_value(cm(n, "adopted", "v")).unwrap();
    let pp = kube::api::PostParams {
        field_manager: Some("kubectl-create".into()),
        ..Default::default()
    };
    configmaps(h.client(), n)
        .create(&pp, &existing)
        .await
        .unwrap();
    let unit = Unit::new(n.clone(), vec![cm(n, "adopted", "v")]);
    let plan = h.plan(&unit, &PlanOptions::default()).await.unwrap();
    assert_eq!(
        plan.changes[0].action,
        Action::Update,
        "{}",
        plan.render_text(false)
    );
    h.apply(&unit, &ApplyOptions::default()).await.unwrap();
    let r = h.apply(&unit, &ApplyOptions::default()).await.unwrap();
    assert_eq!(r.plan.changes[0].action, Action::Unchanged);
    assert_eq!(
        (r.requests.writes(), r.requests.dry_run),
        (0, 0),
        "{}",
        r.requests
    );
}

/// Many objects per kind are read with LIST (not GET): the no-op check must
/// hold there too, for the benchmark's kinds (atomic selectors, headless
/// Service, Ingress, named ports).
#[tokio::test]
async fn noop_reapply_of_listed_objects_sends_no_writes() {
    let Some((c, ns, h)) = setup("e2e-list").await else {
        return;
    };
    let n = &ns.name;
    let mut objects = Vec::new();
    for i in 0..12 {
        let name = format!("app-{i}");
        objects.push(json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": n}}));
        objects.push(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": n},
            "spec": {"clusterIP": "None", "selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}));
        let mut d = deployment(n, &name, 0);
        d["spec"]["template"]["spec"]["containers"][0]["ports"] =
            json!([{"containerPort": 8080, "name": "http"}]);
        objects.push(d);
        objects.push(json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": name, "namespace": n},
            "spec": {"rules": [{"host": format!("{name}.example.com"), "http": {"paths": [{"path": "/", "pathType": "Prefix",
                "backend": {"service": {"name": name, "port": {"number": 80}}}}]}}]}}));
    }
    let unit = Unit::new(n.clone(), objects);
    let r = h.apply(&unit, &apply_prune()).await.unwrap();
    assert!(r.failures.is_empty(), "{:?}", r.failures);
    let fresh = handle(&c).await;
    let r = fresh.apply(&unit, &apply_prune()).await.unwrap();
    assert_eq!(
        r.plan.summary.unchanged,
        48,
        "{}",
        r.plan.render_text(false)
    );
    assert_eq!(
        (r.requests.writes(), r.requests.dry_run),
        (0, 0),
        "{}",
        r.requests
    );
    assert!(
        r.requests.list >= 4,
        "objects read with LIST: {}",
        r.requests
    );
}

/// An inventory larger than one chunk is written in several ConfigMaps,
/// grows and shrinks, and reads back whole.
#[tokio::test]
async fn inventory_spans_chunks_and_shrinks() {
    let Some((_c, ns, h)) = setup("e2e-chunks").await else {
        return;
    };
    let n = &ns.name;
    let objects: Vec<Value> = (0..1250).map(|i| cm(n, &format!("c{i:04}"), "v")).collect();
    let r = h
        .apply(&Unit::new(n.clone(), objects.clone()), &apply_prune())
        .await
        .unwrap();
    assert!(
        r.failures.is_empty(),
        "{:?}",
        &r.failures[..r.failures.len().min(3)]
    );
    let chunks = |h: &ClusterHandle| {
        let api = configmaps(h.client(), "flotilla-system");
        let unit = n.clone();
        async move {
            api.list(&kube::api::ListParams::default().labels(&format!("flotilla.dev/unit={unit}")))
                .await
                .unwrap()
                .items
                .len()
        }
    };
    assert_eq!(chunks(&h).await, 2);
    assert_eq!(h.inventory(n).await.unwrap().unwrap().len(), 1250);
    let r = h
        .apply(
            &Unit::new(n.clone(), objects[..900].to_vec()),
            &apply_prune(),
        )
        .await
        .unwrap();
    assert_eq!(r.pruned.len(), 350);
    assert_eq!(chunks(&h).await, 1, "the emptied chunk is deleted");
    assert_eq!(h.inventory(n).await.unwrap().unwrap().len(), 900);
    assert_eq!(names_in_unit(&h, n, n).await.len(), 900);
}

#[tokio::test]
async fn an_object_of_another_unit_is_a_conflict_unless_forced() {
    let Some((_c, ns, h)) = setup("e2e-units").await else {
        return;
    };
    let n = &ns.name;
    let first = format!("{n}-a");
    let second = format!("{n}-b");
    h.apply(
        &Unit::new(first.clone(), vec![cm(n, "shared", "a")]),
        &ApplyOptions::default(),
    )
    .await
    .unwrap();
    let err = h
        .apply(
            &Unit::new(second.clone(), vec![cm(n, "shared", "b")]),
            &ApplyOptions::default(),
        )
        .await
        .unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains(&format!("owned by unit {first}")), "{msg}");
    let opts = ApplyOptions {
        force_conflicts: true,
        ..Default::default()
    };
    h.apply(
        &Unit::new(second.clone(), vec![cm(n, "shared", "b")]),
        &opts,
    )
    .await
    .unwrap();
    // The first unit no longer prunes it: it belongs to the second now.
    let r = h
        .apply(
            &Unit::new(first.clone(), vec![cm(n, "other", "x")]),
            &apply_prune(),
        )
        .await
        .unwrap();
    assert!(r.pruned.is_empty(), "{:?}", r.pruned);
    assert_eq!(
        configmaps(h.client(), n).get("shared").await.unwrap().data["data"]["key"],
        "b"
    );
}
