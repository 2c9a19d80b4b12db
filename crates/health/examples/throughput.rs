//! Measures health computation per object, as the engine polls:
//! `cargo run --release -p flotilla-health --example throughput`.

use std::hint::black_box;
use std::time::Instant;

use flotilla_health::{CustomRules, HealthCheckExpr, compute};
use serde_json::{Value, json};

fn managed_fields(n: usize) -> Value {
    Value::Array(
        (0..n)
            .map(|i| {
                json!({"manager": format!("manager-{i}"), "operation": "Apply",
                       "apiVersion": "apps/v1", "time": "2024-01-01T00:00:00Z",
                       "fieldsType": "FieldsV1",
                       "fieldsV1": {"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {
                           "f:containers": {"k:{\"name\":\"app\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}}})
            })
            .collect(),
    )
}

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "prod", "generation": 7,
                     "labels": {"app": "web", "tier": "frontend"},
                     "annotations": {"deployment.kubernetes.io/revision": "7"},
                     "managedFields": managed_fields(4)},
        "spec": {"replicas": 3, "progressDeadlineSeconds": 600,
                 "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "app", "image": "nginx:1.27",
                                  "ports": [{"containerPort": 80}],
                                  "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]}}},
        "status": {"observedGeneration": 7, "replicas": 3, "updatedReplicas": 3,
                   "readyReplicas": 3, "availableReplicas": 3,
                   "conditions": [
                       {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                        "message": "Deployment has minimum availability.",
                        "lastTransitionTime": "2024-01-01T00:00:00Z", "lastUpdateTime": "2024-01-01T00:00:00Z"},
                       {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                        "message": "ReplicaSet \"web-7\" has successfully progressed.",
                        "lastTransitionTime": "2024-01-01T00:00:00Z", "lastUpdateTime": "2024-01-01T00:00:00Z"}]}
    })
}

fn certificate() -> Value {
    json!({
        "apiVersion": "cert-manager.io/v1", "kind": "Certificate",
        "metadata": {"name": "tls", "namespace": "prod", "generation": 2,
                     "managedFields": managed_fields(4)},
        "spec": {"secretName": "tls", "dnsNames": ["a.example.com", "b.example.com"],
                 "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer"}},
        "status": {"observedGeneration": 2, "notAfter": "2025-01-01T00:00:00Z", "revision": 3,
                   "conditions": [{"type": "Ready", "status": "True", "reason": "Ready",
                                   "message": "Certificate is up to date and has not expired"}]}
    })
}

fn time_per_call(label: &str, iterations: u32, mut f: impl FnMut()) {
    for _ in 0..iterations / 10 {
        f();
    }
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    let per_call = start.elapsed() / iterations;
    println!("{label:<58} {per_call:>10.2?} per object");
}

fn main() {
    let deployment = deployment();
    let certificate = certificate();
    let n = 200_000;
    time_per_call("kstatus compute, Deployment", n, || {
        black_box(compute(black_box(&deployment)));
    });
    time_per_call("kstatus compute, Certificate (generic Ready)", n, || {
        black_box(compute(black_box(&certificate)));
    });

    let flux_style = HealthCheckExpr {
        api_version: "cert-manager.io/v1".into(),
        kind: "Certificate".into(),
        current: "status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'True')".into(),
        in_progress: None,
        failed: Some(
            "status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'False')".into(),
        ),
    };
    let self_style = HealthCheckExpr {
        current: "self.status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'True')"
            .into(),
        failed: Some(
            "self.status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'False')"
                .into(),
        ),
        ..flux_style.clone()
    };
    for (label, rule) in [
        ("CEL rule, Certificate, `status.` (Flux style)", flux_style),
        ("CEL rule, Certificate, `self.status.`", self_style),
    ] {
        let rules = match CustomRules::new(&[rule]) {
            Ok(rules) => rules,
            Err(err) => panic!("{err}"),
        };
        time_per_call(label, n / 4, || {
            black_box(rules.compute(black_box(&certificate)).ok());
        });
    }
    let rules = match CustomRules::new(&[]) {
        Ok(rules) => rules,
        Err(err) => panic!("{err}"),
    };
    time_per_call("CustomRules without a matching rule, Deployment", n, || {
        black_box(rules.compute(black_box(&deployment)).ok());
    });
}
