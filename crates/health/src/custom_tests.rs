//! Tests of the CEL health rules, after fluxcd/pkg's `status_evaluator_test.go`
//! and the Flux CEL cheatsheet (objects written for this crate).

use serde_json::{Value, json};

use super::*;

fn rule(api_version: &str, kind: &str, current: &str) -> HealthCheckExpr {
    HealthCheckExpr {
        api_version: api_version.to_owned(),
        kind: kind.to_owned(),
        current: current.to_owned(),
        in_progress: None,
        failed: None,
    }
}

fn with(
    mut r: HealthCheckExpr,
    in_progress: Option<&str>,
    failed: Option<&str>,
) -> HealthCheckExpr {
    r.in_progress = in_progress.map(str::to_owned);
    r.failed = failed.map(str::to_owned);
    r
}

fn rules(exprs: &[HealthCheckExpr]) -> CustomRules {
    match CustomRules::new(exprs) {
        Ok(rules) => rules,
        Err(err) => panic!("rules must build: {err}"),
    }
}

fn status_of(rules: &CustomRules, obj: &Value) -> Status {
    match rules.compute(obj) {
        Ok(health) => health.status,
        Err(err) => panic!("must evaluate: {err}"),
    }
}

fn error_of(rules: &CustomRules, obj: &Value) -> HealthError {
    match rules.compute(obj) {
        Ok(health) => panic!("must fail, got {health:?}"),
        Err(err) => err,
    }
}

/// The Cluster API rule of Flux's CEL cheatsheet, Flux-style (top-level
/// fields as variables).
fn capi_cluster_rule() -> HealthCheckExpr {
    with(
        rule(
            "cluster.x-k8s.io/v1beta1",
            "Cluster",
            "status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'True')",
        ),
        None,
        Some("status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'False')"),
    )
}

fn capi_cluster(status: Value) -> Value {
    json!({"apiVersion": "cluster.x-k8s.io/v1beta1", "kind": "Cluster",
           "metadata": {"name": "c1", "namespace": "fleet", "generation": 3},
           "status": status})
}

#[test]
fn flux_cheatsheet_cluster_api_cluster() {
    let rules = rules(&[capi_cluster_rule()]);
    let ready = |s: &str| {
        json!({"observedGeneration": 3, "conditions": [
        {"type": "ControlPlaneReady", "status": "True"},
        {"type": "Ready", "status": s}]})
    };
    assert_eq!(
        status_of(&rules, &capi_cluster(ready("True"))),
        Status::Current
    );
    assert_eq!(
        status_of(&rules, &capi_cluster(ready("False"))),
        Status::Failed
    );
    assert_eq!(
        status_of(&rules, &capi_cluster(ready("Unknown"))),
        Status::InProgress
    );
    // As in Flux: with no Ready condition, `filter` is empty and `all` holds,
    // so `failed` (evaluated before `current`) wins.
    assert_eq!(
        status_of(&rules, &capi_cluster(json!({"conditions": []}))),
        Status::Failed
    );
    // The version in apiVersion is not matched, only the group.
    let mut v1beta2 = capi_cluster(ready("True"));
    v1beta2["apiVersion"] = json!("cluster.x-k8s.io/v1beta2");
    assert_eq!(status_of(&rules, &v1beta2), Status::Current);
    let health = rules.compute(&capi_cluster(ready("True"))).ok();
    assert_eq!(
        health.map(|h| h.message),
        Some("healthCheckExprs[0]: `current` is true".to_owned())
    );
}

/// A cert-manager Certificate rule written with `self`.
#[test]
fn cert_manager_certificate_with_self() {
    let rules = rules(&[with(
        rule(
            "cert-manager.io/v1",
            "Certificate",
            "self.status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'True')",
        ),
        Some(
            "!has(self.status) || !has(self.status.conditions) || self.status.conditions.exists(e, e.type == 'Issuing' && e.status == 'True')",
        ),
        Some(
            "self.status.conditions.exists(e, e.type == 'Ready' && e.status == 'False' && e.reason == 'Failed')",
        ),
    )]);
    let cert = |status: Value| {
        json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
               "metadata": {"name": "tls", "namespace": "web", "generation": 1},
               "spec": {"secretName": "tls"}, "status": status})
    };
    let no_status = json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                           "metadata": {"name": "tls", "namespace": "web"}});
    assert_eq!(status_of(&rules, &no_status), Status::InProgress);
    assert_eq!(status_of(&rules, &cert(json!({}))), Status::InProgress);
    assert_eq!(
        status_of(
            &rules,
            &cert(json!({"conditions": [
            {"type": "Ready", "status": "False", "reason": "DoesNotExist"},
            {"type": "Issuing", "status": "True"}]}))
        ),
        Status::InProgress
    );
    assert_eq!(
        status_of(
            &rules,
            &cert(json!({"conditions": [
            {"type": "Ready", "status": "False", "reason": "Failed"},
            {"type": "Issuing", "status": "False"}]}))
        ),
        Status::Failed
    );
    assert_eq!(
        status_of(
            &rules,
            &cert(json!({"observedGeneration": 1, "conditions": [
            {"type": "Ready", "status": "True", "reason": "Ready"}]}))
        ),
        Status::Current
    );
    // No expression true: InProgress.
    assert_eq!(
        status_of(
            &rules,
            &cert(json!({"conditions": [
            {"type": "Ready", "status": "False", "reason": "Pending"}]}))
        ),
        Status::InProgress
    );
}

#[test]
fn evaluation_order_is_in_progress_failed_current() {
    let r = with(
        rule("example.com/v1", "Thing", "data.current"),
        Some("data.inProgress"),
        Some("data.failed"),
    );
    let rules = rules(&[r]);
    let thing = |current: bool, in_progress: bool, failed: bool| {
        json!({"apiVersion": "example.com/v1", "kind": "Thing",
               "data": {"current": current, "inProgress": in_progress, "failed": failed}})
    };
    assert_eq!(
        status_of(&rules, &thing(true, true, true)),
        Status::InProgress
    );
    assert_eq!(status_of(&rules, &thing(true, false, true)), Status::Failed);
    assert_eq!(
        status_of(&rules, &thing(true, false, false)),
        Status::Current
    );
    assert_eq!(
        status_of(&rules, &thing(false, false, false)),
        Status::InProgress
    );
}

#[test]
fn generation_lag_is_in_progress_before_any_expression() {
    // The expression would fail to evaluate; it is never reached.
    let rules = rules(&[rule("example.com/v1", "Thing", "status.missing.field")]);
    let obj = json!({"apiVersion": "example.com/v1", "kind": "Thing",
                     "metadata": {"generation": 2}, "status": {"observedGeneration": 1}});
    let health = rules.compute(&obj).ok();
    assert_eq!(health.as_ref().map(|h| h.status), Some(Status::InProgress));
    assert_eq!(
        health.map(|h| h.message),
        Some("Thing generation is 2, but latest observed generation is 1".to_owned())
    );
}

#[test]
fn non_integer_generations_are_left_to_the_expressions() {
    let rules = rules(&[
        rule("example.com/v1", "A", "status.observedGeneration == '2'"),
        rule("example.com/v1", "B", "metadata.generation == '2'"),
    ]);
    let a = json!({"apiVersion": "example.com/v1", "kind": "A",
                   "metadata": {"generation": 2}, "status": {"observedGeneration": "2"}});
    let b = json!({"apiVersion": "example.com/v1", "kind": "B",
                   "metadata": {"generation": "2"}, "status": {"observedGeneration": 2}});
    assert_eq!(status_of(&rules, &a), Status::Current);
    assert_eq!(status_of(&rules, &b), Status::Current);
}

#[test]
fn missing_fields_are_evaluation_errors() {
    let flux_style = with(
        rule(
            "example.com/v1",
            "Thing",
            "status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'True')",
        ),
        Some("has(status.observedGeneration) && metadata.generation != status.observedGeneration"),
        Some("status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'False')"),
    );
    let rules = rules(&[flux_style]);

    // No status at all: the top-level variable does not exist.
    let err = error_of(
        &rules,
        &json!({"apiVersion": "example.com/v1", "kind": "Thing",
                "metadata": {"name": "t", "namespace": "ns", "generation": 1}}),
    );
    let text = err.to_string();
    assert!(
        matches!(
            err,
            HealthError::Evaluation {
                role: ExprRole::InProgress,
                ..
            }
        ),
        "{text}"
    );
    assert!(
        text.starts_with("Thing ns/t: the `inProgress` health expression"),
        "{text}"
    );
    assert!(text.contains("no top-level field `status`"), "{text}");

    // A status without conditions: no such key.
    let err = error_of(
        &rules,
        &json!({"apiVersion": "example.com/v1", "kind": "Thing",
                "metadata": {"name": "t", "generation": 1}, "status": {}}),
    );
    let text = err.to_string();
    assert!(
        matches!(
            err,
            HealthError::Evaluation {
                role: ExprRole::Failed,
                ..
            }
        ),
        "{text}"
    );
    assert!(text.contains("no such key: conditions"), "{text}");
    assert!(
        text.contains("expression: status.conditions.filter"),
        "{text}"
    );

    // Empty conditions evaluate (Flux: Failed).
    assert_eq!(
        status_of(
            &rules,
            &json!({"apiVersion": "example.com/v1", "kind": "Thing",
                    "metadata": {"generation": 1}, "status": {"conditions": []}})
        ),
        Status::Failed
    );
}

#[test]
fn guards_against_missing_fields() {
    let rules = rules(&[
        rule(
            "example.com/v1",
            "Guarded",
            "has(self.status) && has(self.status.conditions) && self.status.conditions.exists(e, e.type == 'Ready' && e.status == 'True')",
        ),
        rule(
            "example.com/v1",
            "Optional",
            "status.?conditions.orValue([]).exists(e, e.type == 'Ready' && e.status == 'True')",
        ),
    ]);
    for kind in ["Guarded", "Optional"] {
        let bare = json!({"apiVersion": "example.com/v1", "kind": kind, "status": {}});
        assert_eq!(status_of(&rules, &bare), Status::InProgress, "{kind}");
        let ready = json!({"apiVersion": "example.com/v1", "kind": kind,
                           "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        assert_eq!(status_of(&rules, &ready), Status::Current, "{kind}");
    }
    let no_status = json!({"apiVersion": "example.com/v1", "kind": "Guarded"});
    assert_eq!(status_of(&rules, &no_status), Status::InProgress);
}

#[test]
fn common_cel_features() {
    let obj = json!({
        "apiVersion": "example.com/v1", "kind": "Thing",
        "metadata": {"name": "t", "generation": 4, "labels": {"tier": "web"}},
        "spec": {"replicas": 3},
        "status": {
            "observedGeneration": 4, "readyReplicas": 3, "ratio": 1.5, "phase": "Running",
            "conditions": [
                {"type": "Ready", "status": "True"},
                {"type": "Synced", "status": "True"},
                {"type": "Degraded", "status": "False"}
            ]
        }
    });
    let cases: &[(&str, bool)] = &[
        (
            "self.status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'True')",
            true,
        ),
        (
            "self.status.observedGeneration == self.metadata.generation",
            true,
        ),
        ("status.observedGeneration == metadata.generation", true),
        ("has(self.status)", true),
        ("has(self.status.nothing)", false),
        ("has(status.phase)", true),
        ("status.readyReplicas >= spec.replicas", true),
        ("status.readyReplicas > 3", false),
        ("status.ratio > 1", true),
        ("status.readyReplicas == 3.0", true),
        ("status.phase == 'Running'", true),
        ("status.phase != \"Pending\"", true),
        (
            "status.phase.startsWith('Run') && status.phase.endsWith('ing')",
            true,
        ),
        ("status.phase.contains('unn')", true),
        ("status.phase.lowerAscii() == 'running'", true),
        ("status.phase.matches('^R.*g$')", true),
        (
            "status.conditions.exists(c, c.type == 'Degraded' && c.status == 'True')",
            false,
        ),
        ("status.conditions.exists_one(c, c.status == 'False')", true),
        ("status.conditions.exists_one(c, c.status == 'True')", false),
        ("size(status.conditions) == 3", true),
        ("status.conditions.size() == 3", true),
        (
            "status.conditions.map(c, c.type).filter(t, t != 'Degraded') == ['Ready', 'Synced']",
            true,
        ),
        ("'Ready' in status.conditions.map(c, c.type)", true),
        (
            "'tier' in metadata.labels && metadata.labels.tier == 'web'",
            true,
        ),
        ("metadata.?annotations.orValue({}).size() == 0", true),
        (
            "self.kind == 'Thing' && self.apiVersion.startsWith('example.com/')",
            true,
        ),
        ("int(status.ratio) == 1", true),
        ("string(status.readyReplicas) == '3'", true),
        (
            "sets.contains(status.conditions.map(c, c.type), ['Ready', 'Synced'])",
            true,
        ),
        (
            "sets.contains(status.conditions.map(c, c.type), ['Ready', 'Missing'])",
            false,
        ),
        ("sets.contains([1, 2, 3], [1.0, 2u])", true),
        ("sets.equivalent(['a', 'b', 'b'], ['b', 'a'])", true),
        ("sets.equivalent(['a'], ['a', 'c'])", false),
        (
            "sets.intersects(status.conditions.map(c, c.status), ['False'])",
            true,
        ),
        ("sets.intersects([], ['x'])", false),
        ("base64.decode('aGk=') == b'hi'", true),
        ("status.phase.split('n') == ['Ru', '', 'i', 'g']", true),
    ];
    let mut failures = Vec::new();
    for (index, (expression, want)) in cases.iter().enumerate() {
        let rules = match CustomRules::new(&[rule("example.com/v1", "Thing", expression)]) {
            Ok(rules) => rules,
            Err(err) => {
                failures.push(format!("#{index} {expression}: {err}"));
                continue;
            }
        };
        let want = if *want {
            Status::Current
        } else {
            Status::InProgress
        };
        match rules.compute(&obj) {
            Ok(health) if health.status == want => {}
            Ok(health) => failures.push(format!("#{index} {expression}: {}", health.status)),
            Err(err) => failures.push(format!("#{index} {expression}: {err}")),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn syntax_errors_name_the_rule_and_expression() {
    for (role, r) in [
        (ExprRole::Current, rule("example.com/v1", "Thing", "data.")),
        (
            ExprRole::InProgress,
            with(
                rule("example.com/v1", "Thing", "true"),
                Some("status.conditions.all(e,"),
                None,
            ),
        ),
        (
            ExprRole::Failed,
            with(rule("example.com/v1", "Thing", "true"), None, Some("1 +")),
        ),
    ] {
        let exprs = [rule("other.io/v1", "Fine", "true"), r];
        let err = match CustomRules::new(&exprs) {
            Ok(_) => panic!("{role} must not parse"),
            Err(err) => err,
        };
        let text = err.to_string();
        assert!(
            matches!(&err, HealthError::Syntax { index: 1, role: r, .. } if *r == role),
            "{text}"
        );
        assert!(
            text.starts_with(&format!(
                "healthCheckExprs[1] (example.com/v1 Thing): the `{role}` expression does not parse: "
            )),
            "{text}"
        );
    }
}

#[test]
fn non_boolean_results_are_errors() {
    let rules = rules(&[
        rule("example.com/v1", "Str", "status.phase"),
        rule("example.com/v1", "Int", "size(status.conditions)"),
        rule("example.com/v1", "Null", "status.nothing"),
    ]);
    for (kind, got) in [("Str", "string"), ("Int", "int"), ("Null", "null")] {
        let obj = json!({"apiVersion": "example.com/v1", "kind": kind,
                         "metadata": {"name": "x"},
                         "status": {"phase": "Running", "conditions": [], "nothing": null}});
        let err = error_of(&rules, &obj);
        let text = err.to_string();
        assert!(matches!(err, HealthError::NotBoolean { .. }), "{text}");
        assert!(
            text.contains(&format!("returned a {got}, expected a bool")),
            "{text}"
        );
    }
}

#[test]
fn rule_set_validation() {
    let missing_current = CustomRules::new(&[rule("example.com/v1", "Thing", "")]);
    assert!(matches!(
        missing_current,
        Err(HealthError::MissingCurrent { index: 0, .. })
    ));

    let duplicate = CustomRules::new(&[
        rule("example.com/v1", "Thing", "true"),
        rule("example.com/v2", "Thing", "false"),
    ]);
    match duplicate {
        Err(
            err @ HealthError::DuplicateRule {
                index: 1, first: 0, ..
            },
        ) => {
            assert!(
                err.to_string()
                    .contains("healthCheckExprs[0] already covers")
            );
        }
        other => panic!("want a duplicate error, got {other:?}"),
    }

    for bad in ["", "a/b/c", "example.com/"] {
        let invalid = CustomRules::new(&[rule(bad, "Thing", "true")]);
        assert!(
            matches!(invalid, Err(HealthError::InvalidApiVersion { .. })),
            "{bad:?}"
        );
    }

    // Empty optional expressions count as absent, as in Flux.
    let rules = rules(&[with(
        rule("example.com/v1", "Thing", "true"),
        Some(""),
        Some(""),
    )]);
    let obj = json!({"apiVersion": "example.com/v1", "kind": "Thing"});
    assert_eq!(status_of(&rules, &obj), Status::Current);
}

#[test]
fn kind_rules_win_over_group_rules_and_kstatus_covers_the_rest() {
    let rules = rules(&[
        rule("example.com/v1", "", "false"),
        rule("example.com/v1", "Special", "true"),
        rule(
            "apps/v1",
            "Deployment",
            "has(status.readyReplicas) && status.readyReplicas >= 1",
        ),
    ]);
    assert!(rules.covers("example.com", "Anything"));
    assert!(rules.covers("apps", "Deployment"));
    assert!(!rules.covers("apps", "StatefulSet"));
    assert!(!rules.is_empty());

    let special = json!({"apiVersion": "example.com/v1", "kind": "Special"});
    let other = json!({"apiVersion": "example.com/v1beta1", "kind": "Other"});
    assert_eq!(status_of(&rules, &special), Status::Current);
    assert_eq!(status_of(&rules, &other), Status::InProgress);

    // The Deployment rule replaces kstatus: kstatus would want Available.
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "generation": 1},
        "spec": {"replicas": 3}, "status": {"observedGeneration": 1, "readyReplicas": 1}});
    assert_eq!(status_of(&rules, &deployment), Status::Current);
    assert_eq!(crate::compute(&deployment).status, Status::InProgress);

    // Not covered: kstatus decides, including Terminating.
    let sts = json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "db", "deletionTimestamp": "2024-01-01T00:00:00Z"}});
    assert_eq!(status_of(&rules, &sts), Status::Terminating);
    let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    assert_eq!(status_of(&rules, &config_map), Status::Current);
}

#[test]
fn errors_do_not_reveal_secret_values() {
    let rules = rules(&[
        rule("v1", "Secret", "data.password > 5"),
        rule("v1", "ConfigMap", "int(data.password) == 1"),
    ]);
    let secret = json!({"apiVersion": "v1", "kind": "Secret",
                        "metadata": {"name": "creds", "namespace": "ns"},
                        "data": {"password": "aHVudGVyMg=="}});
    let text = error_of(&rules, &secret).to_string();
    assert!(!text.contains("aHVudGVyMg"), "{text}");
    assert!(text.contains("Secret ns/creds"), "{text}");

    let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": "c"}, "data": {"password": "hunter2"}});
    let text = error_of(&rules, &config_map).to_string();
    assert!(
        text.starts_with("ConfigMap c: the `current` health expression"),
        "{text}"
    );
}

#[test]
fn deserializes_flux_field_names() {
    let exprs: Vec<HealthCheckExpr> = match serde_json::from_value(json!([
        {"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
         "current": "status.conditions.all(e, e.status == 'True')",
         "inProgress": "!has(status.conditions)",
         "failed": "false"},
        {"apiVersion": "bitnami.com/v1alpha1", "current": "true"}
    ])) {
        Ok(exprs) => exprs,
        Err(err) => panic!("{err}"),
    };
    assert_eq!(
        exprs[0].in_progress.as_deref(),
        Some("!has(status.conditions)")
    );
    assert_eq!(exprs[0].failed.as_deref(), Some("false"));
    assert_eq!(exprs[1].kind, "");
    assert_eq!(exprs[1].in_progress, None);
    assert!(CustomRules::new(&exprs).is_ok());
    assert_eq!(
        serde_json::to_value(&exprs[1]).ok(),
        Some(json!({"apiVersion": "bitnami.com/v1alpha1", "kind": "", "current": "true"}))
    );
}

#[test]
fn rules_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CustomRules>();
}

#[test]
fn logical_operators_absorb_errors_like_cel_go() {
    // CEL's && and || are commutative over errors: a decided side wins.
    let obj = json!({"apiVersion": "example.com/v1", "kind": "Thing", "status": {}});
    let cases: &[(&str, Option<bool>)] = &[
        ("false && status.missing", Some(false)),
        ("status.missing && false", Some(false)),
        ("status.missing || true", Some(true)),
        ("true || nothing.at.all", Some(true)),
        ("status.missing || false", None),
        ("has(status.missing) || status.missing", None),
        ("has(status.missing) ? status.missing : true", Some(true)),
    ];
    let mut failures = Vec::new();
    for (source, want) in cases {
        let rules = rules(&[rule("example.com/v1", "Thing", source)]);
        let got = rules
            .compute(&obj)
            .ok()
            .map(|h| h.status == Status::Current);
        if got != *want {
            failures.push(format!("{source}: got {got:?}, want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn has_needs_a_field_selection() {
    // As in cel-go: `has(status)` is rejected when parsing; use
    // `has(self.status)`.
    let built = CustomRules::new(&[rule("example.com/v1", "Thing", "has(status)")]);
    assert!(
        matches!(built, Err(HealthError::Syntax { .. })),
        "{built:?}"
    );
    let rules = rules(&[rule("example.com/v1", "Thing", "has(self.status)")]);
    let bare = json!({"apiVersion": "example.com/v1", "kind": "Thing"});
    assert_eq!(status_of(&rules, &bare), Status::InProgress);
}

#[test]
fn error_texts_read_well() {
    let err = CustomRules::new(&[rule(
        "cert-manager.io/v1",
        "Certificate",
        "status.conditions.all(e,",
    )]);
    assert_eq!(
        err.err().map(|e| e.to_string()),
        Some(
            "healthCheckExprs[0] (cert-manager.io/v1 Certificate): the `current` expression does not parse: \
             1:25: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', \
             'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}; expression: status.conditions.all(e,"
                .to_owned()
        )
    );
    let rules = rules(&[
        rule(
            "cert-manager.io/v1",
            "Certificate",
            "status.conditions.exists(e, e.type == 'Ready')",
        ),
        rule("v1", "Pod", "status.phase"),
    ]);
    let cert = json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                      "metadata": {"name": "tls", "namespace": "web"}});
    assert_eq!(
        error_of(&rules, &cert).to_string(),
        "Certificate web/tls: the `current` health expression of healthCheckExprs[0] failed: no such attribute: \
         the object has no top-level field `status`; expression: status.conditions.exists(e, e.type == 'Ready')"
    );
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "status": {"phase": "Running"}});
    assert_eq!(
        error_of(&rules, &pod).to_string(),
        "Pod p: the `current` health expression of healthCheckExprs[1] returned a string, expected a bool; \
         expression: status.phase"
    );
}
