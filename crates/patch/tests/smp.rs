//! Table-driven strategic merge tests: each directive and list strategy,
//! the apimachinery directives kustomize lacks, errors, and cases from the
//! kustomize conformance corpus.

use flotilla_patch::{MergeSchema, PatchError, strategic_merge, strategic_merge_opt};
use serde_json::Value;

fn yaml(text: &str) -> Value {
    let mut docs = flotilla_model::yaml::parse_stream(text).unwrap();
    assert_eq!(docs.len(), 1, "one document expected in:\n{text}");
    docs.remove(0)
}

fn deployment(pod_spec: &str) -> String {
    let indented: String = pod_spec
        .trim_matches('\n')
        .lines()
        .map(|l| format!("      {l}\n"))
        .collect();
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  template:\n    spec:\n{indented}"
    )
}

fn merge(base: &str, patch: &str) -> Result<Value, PatchError> {
    strategic_merge(&yaml(base), &yaml(patch), &MergeSchema::builtin())
}

/// (name, base pod spec, patch pod spec, expected pod spec)
const POD_SPEC_CASES: &[(&str, &str, &str, &str)] = &[
    (
        "containers merge by name; patch-named first, then the base's others",
        "containers: [{name: a, image: a}, {name: b, image: b}]",
        "containers: [{name: b, image: b2}, {name: c, image: c}]",
        "containers: [{name: b, image: b2}, {name: c, image: c}, {name: a, image: a}]",
    ),
    (
        "$patch: delete on an element",
        "containers: [{name: a, image: a}, {name: b, image: b}]",
        "containers: [{name: a, $patch: delete}]",
        "containers: [{name: b, image: b}]",
    ),
    (
        "$patch: delete of every element leaves an empty list",
        "containers: [{name: a, image: a}]",
        "containers: [{name: a, $patch: delete}]",
        "containers: []",
    ),
    (
        "$patch: replace on a list",
        "containers: [{name: a, image: a}, {name: b, image: b}]",
        "containers: [{name: n, image: n}, {$patch: replace}]",
        "containers: [{name: n, image: n}]",
    ),
    (
        "$patch: delete on a list removes the field",
        "containers: [{name: a, image: a}]\nhostname: h",
        "containers: [{$patch: delete}]",
        "hostname: h",
    ),
    (
        "$patch: merge on a list is the default",
        "containers: [{name: a, image: a}]",
        "containers: [{name: b, image: b}, {$patch: merge}]",
        "containers: [{name: b, image: b}, {name: a, image: a}]",
    ),
    (
        "$patch: replace on a map",
        "containers: [{name: a, resources: {limits: {cpu: '1'}, requests: {cpu: '1'}}}]",
        "containers: [{name: a, resources: {$patch: replace, limits: {cpu: '2'}}}]",
        "containers: [{name: a, resources: {limits: {cpu: '2'}}}]",
    ),
    (
        "$patch: delete on a map",
        "containers: [{name: a, resources: {limits: {cpu: '1'}}}]",
        "containers: [{name: a, resources: {$patch: delete}}]",
        "containers: [{name: a}]",
    ),
    (
        "$patch: replace on a list element is undone (kyaml re-inserts the base element)",
        "containers: [{name: a, image: a, args: [x]}]",
        "containers: [{name: a, $patch: replace, image: b}]",
        "containers: [{name: a, image: a, args: [x]}]",
    ),
    (
        "null deletes map keys and lists",
        "containers: [{name: a, command: [x], image: a}]\nnodeSelector: {a: b, c: d}",
        "containers: [{name: a, command: null}]\nnodeSelector: {a: null}",
        "containers: [{name: a, image: a}]\nnodeSelector: {c: d}",
    ),
    (
        "lists without a merge strategy are replaced",
        "containers: [{name: a, args: [x, y]}]\ntolerations: [{key: a}]",
        "containers: [{name: a, args: [z]}]\ntolerations: [{key: b}]",
        "containers: [{name: a, args: [z]}]\ntolerations: [{key: b}]",
    ),
    (
        "env by name, volumeMounts by mountPath",
        "containers: [{name: a, env: [{name: A, value: '1'}, {name: B, value: '2'}], volumeMounts: [{name: v, mountPath: /a}]}]",
        "containers: [{name: a, env: [{name: B, value: '3'}], volumeMounts: [{name: w, mountPath: /a}]}]",
        "containers: [{name: a, env: [{name: B, value: '3'}, {name: A, value: '1'}], volumeMounts: [{name: w, mountPath: /a}]}]",
    ),
    (
        "ports keyed by containerPort and protocol: new first, then base order",
        "containers: [{name: a, ports: [{containerPort: 53, protocol: UDP, name: u}, {containerPort: 53, protocol: TCP, name: t}]}]",
        "containers: [{name: a, ports: [{containerPort: 53, protocol: TCP, name: t2}, {containerPort: 80}]}]",
        "containers: [{name: a, ports: [{containerPort: 80}, {containerPort: 53, protocol: UDP, name: u}, {containerPort: 53, protocol: TCP, name: t2}]}]",
    ),
    (
        "volumes by name; the base element merges with the patch's",
        "volumes: [{name: v, emptyDir: {}}, {name: w, configMap: {name: c}}]",
        "volumes: [{name: v, emptyDir: null, persistentVolumeClaim: {claimName: p}}]",
        "volumes: [{name: v, persistentVolumeClaim: {claimName: p}}, {name: w, configMap: {name: c}}]",
    ),
    (
        "an element without its merge key drops every keyed base element",
        "containers: [{name: a, image: a}, {name: b, image: b}]",
        "containers: [{image: x}, {name: b, image: b2}]",
        "containers: [{name: b, image: b2}]",
    ),
    (
        "a list the base lacks is the patch's, directives applied",
        "hostname: h",
        "initContainers: [{name: i, env: [{name: X, value: null}, {name: Y, $patch: delete}]}]",
        "hostname: h\ninitContainers: [{name: i, env: [{name: X}]}]",
    ),
    (
        "imagePullSecrets by name, hostAliases by ip",
        "imagePullSecrets: [{name: a}]\nhostAliases: [{ip: 1.1.1.1, hostnames: [a]}]",
        "imagePullSecrets: [{name: b}]\nhostAliases: [{ip: 1.1.1.1, hostnames: [b]}]",
        "imagePullSecrets: [{name: b}, {name: a}]\nhostAliases: [{ip: 1.1.1.1, hostnames: [b]}]",
    ),
    (
        "topologySpreadConstraints keyed by topologyKey and whenUnsatisfiable",
        "topologySpreadConstraints: [{topologyKey: z, whenUnsatisfiable: DoNotSchedule, maxSkew: 1}]",
        "topologySpreadConstraints: [{topologyKey: z, whenUnsatisfiable: ScheduleAnyway, maxSkew: 2}]",
        "topologySpreadConstraints: [{topologyKey: z, whenUnsatisfiable: ScheduleAnyway, maxSkew: 2}, {topologyKey: z, whenUnsatisfiable: DoNotSchedule, maxSkew: 1}]",
    ),
    (
        "$setElementOrder reorders the merged list",
        "containers: [{name: a}, {name: b}, {name: c}]",
        "$setElementOrder/containers: [{name: c}, {name: b}, {name: a}]\ncontainers: [{name: b, image: b}]",
        "containers: [{name: c}, {name: b, image: b}, {name: a}]",
    ),
    (
        "$setElementOrder leaves unnamed elements in place",
        "containers: [{name: a}, {name: b}, {name: c}]",
        "$setElementOrder/containers: [{name: c}, {name: a}]",
        "containers: [{name: c}, {name: b}, {name: a}]",
    ),
    (
        "$retainKeys drops the other fields",
        "containers: [{name: a}]\nvolumes: [{name: v, emptyDir: {}}]",
        "volumes: [{name: v, $retainKeys: [name, hostPath], hostPath: {path: /x}}]",
        "containers: [{name: a}]\nvolumes: [{name: v, hostPath: {path: /x}}]",
    ),
];

#[test]
fn pod_spec_directives_and_list_strategies() {
    let mut failures = Vec::new();
    for (name, base, patch, expected) in POD_SPEC_CASES {
        let got = merge(&deployment(base), &deployment(patch));
        let want = yaml(&deployment(expected));
        match got {
            Ok(v) if v == want => {}
            Ok(v) => failures.push(format!(
                "{name}:\n  got      {}\n  expected {}",
                v["spec"]["template"]["spec"], want["spec"]["template"]["spec"]
            )),
            Err(e) => failures.push(format!("{name}: error {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn primitive_merge_lists_and_delete_from_primitive_list() {
    let base = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  finalizers: [a, b]\n";
    let got = merge(
        base,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  finalizers: [c, a]\n",
    )
    .unwrap();
    assert_eq!(got["metadata"]["finalizers"], yaml("[c, a, b]"));
    let got = merge(
        base,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  $deleteFromPrimitiveList/finalizers: [a]\n",
    )
    .unwrap();
    assert_eq!(got["metadata"]["finalizers"], yaml("[b]"));
    assert!(
        got["metadata"]
            .get("$deleteFromPrimitiveList/finalizers")
            .is_none()
    );
    // Unknown kinds have no schema: the list is replaced.
    let crd = "apiVersion: x.io/v1\nkind: Foo\nmetadata:\n  name: c\n  finalizers: [a, b]\n";
    let got = merge(
        crd,
        "apiVersion: x.io/v1\nkind: Foo\nmetadata:\n  finalizers: [c]\n",
    )
    .unwrap();
    assert_eq!(got["metadata"]["finalizers"], yaml("[c]"));
}

#[test]
fn service_ports_by_port_and_protocol() {
    let base = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports:\n  - {port: 30900, targetPort: 30900, protocol: TCP}\n";
    let patch = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports:\n  - {port: 30901, targetPort: 30901}\n";
    let got = merge(base, patch).unwrap();
    assert_eq!(
        got["spec"]["ports"],
        yaml("[{port: 30901, targetPort: 30901}, {port: 30900, targetPort: 30900, protocol: TCP}]")
    );
}

#[test]
fn whole_object_delete_and_unknown_kind_maps() {
    let base = deployment("containers: [{name: a}]");
    let patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n$patch: delete\n";
    assert_eq!(merge(&base, patch).unwrap(), Value::Null);
    assert!(
        strategic_merge_opt(&yaml(&base), &yaml(patch), &MergeSchema::builtin())
            .unwrap()
            .is_none()
    );

    let base = "apiVersion: x.io/v1\nkind: Foo\nmetadata: {name: f}\nspec: {a: {b: 1, c: null}, l: [1, 2]}\n";
    let patch = "apiVersion: x.io/v1\nkind: Foo\nmetadata: {name: f}\nspec: {a: {d: 2}, l: [3], n: {x: null, y: 1}}\n";
    let got = merge(base, patch).unwrap();
    // base nulls stay, patch nulls vanish, lists are replaced
    assert_eq!(
        got["spec"],
        yaml("{a: {b: 1, c: null, d: 2}, l: [3], n: {y: 1}}")
    );
}

#[test]
fn custom_openapi_schema_merges_crd_lists() {
    let mut schema = MergeSchema::builtin();
    schema
        .add_openapi(&serde_json::json!({"definitions": {"v1.Foo": {
            "properties": {"spec": {"properties": {"items": {
                "type": "array", "items": {"type": "object"},
                "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "id"}}}},
            "x-kubernetes-group-version-kind": [{"group": "x.io", "version": "v1", "kind": "Foo"}]}}}))
        .unwrap();
    let base = yaml(
        "apiVersion: x.io/v1\nkind: Foo\nmetadata: {name: f}\nspec: {items: [{id: a, v: 1}, {id: b, v: 1}]}\n",
    );
    let patch = yaml(
        "apiVersion: x.io/v1\nkind: Foo\nmetadata: {name: f}\nspec: {items: [{id: b, v: 2}]}\n",
    );
    let got = strategic_merge(&base, &patch, &schema).unwrap();
    assert_eq!(got["spec"]["items"], yaml("[{id: b, v: 2}, {id: a, v: 1}]"));
    // The built-in schema does not know the kind: replaced.
    let got = strategic_merge(&base, &patch, &MergeSchema::builtin()).unwrap();
    assert_eq!(got["spec"]["items"], yaml("[{id: b, v: 2}]"));
}

#[test]
fn errors_name_the_field_path() {
    let e = merge(
        &deployment("containers: [{name: a, image: a, resources: {}}]"),
        &deployment("containers: [{name: a, resources: {$patch: frob}}]"),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "strategic merge patch at spec.template.spec.containers[a].resources: unknown patch strategy \"frob\""
    );
    let e = merge(
        &deployment("containers: [{name: a}]"),
        &deployment("containers: {name: a}"),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "strategic merge patch at spec.template.spec.containers: cannot merge a map from the patch into a list"
    );
    let e = merge(&deployment("hostname: h"), &deployment("hostname: [h]")).unwrap_err();
    assert!(matches!(e, PatchError::KindMismatch { .. }), "{e}");
    let e = merge(
        &deployment("containers: [{name: a}]"),
        &deployment("containers: [{$patch: frob}]"),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("unknown patch strategy \"frob\""),
        "{e}"
    );
    let e = merge(
        &deployment("hostname: h"),
        &deployment("$retainKeys: hostname"),
    )
    .unwrap_err();
    assert!(e.to_string().contains("$retainKeys must be a list"), "{e}");
}

#[test]
fn inputs_are_not_modified() {
    let base = yaml(&deployment("containers: [{name: a, image: a}]"));
    let patch = yaml(&deployment("containers: [{name: a, $patch: delete}]"));
    let (b0, p0) = (base.clone(), patch.clone());
    strategic_merge(&base, &patch, &MergeSchema::builtin()).unwrap();
    assert_eq!((base, patch), (b0, p0));
}

/// Cases from the kustomize conformance corpus: the patch files applied to
/// the base resources directly.
#[test]
fn corpus_cases() {
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus/kustomize/cases");
    // (case, resource file, patch file)
    let cases = [
        (
            "multiplepatch__TestPatchAddNewServicePort",
            "service.yaml",
            "patch.yaml",
        ),
        (
            "multiplepatch__TestPatchPortHasNoProtocol",
            "service.yaml",
            "patch.yaml",
        ),
        (
            "multiplepatch__TestSmpWithDifferentKeysOnDifferentPorts",
            "resource.yaml",
            "patch.yaml",
        ),
        (
            "patchdelete__TestPatchDeleteOfNotExistingAttributesShouldNotAddExtraElements",
            "resource.yaml",
            "patch.yaml",
        ),
    ];
    for (case, resource, patch) in cases {
        let dir = root.join(case);
        let read = |p: std::path::PathBuf| {
            let text =
                std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            yaml(&text)
        };
        let got = strategic_merge(
            &read(dir.join("in").join(resource)),
            &read(dir.join("in").join(patch)),
            &MergeSchema::builtin(),
        )
        .unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(got, read(dir.join("expected.yaml")), "{case}");
    }
}

/// kustomize's `openapi:` schema replaces the built-in one: with only a
/// custom schema, built-in kinds lose their merge keys (checked against
/// kustomize v5.5.0).
#[test]
fn custom_openapi_replaces_builtin_schema() {
    let mut schema = MergeSchema::empty();
    schema
        .add_openapi(&serde_json::json!({"definitions": {"v1.Foo": {
            "properties": {"spec": {"properties": {"items": {
                "type": "array", "items": {"type": "object"},
                "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "id"}}}},
            "x-kubernetes-group-version-kind": [{"group": "example.com", "version": "v1", "kind": "Foo"}]}}}))
        .unwrap();
    let got = strategic_merge(
        &yaml(&deployment("containers: [{name: a, image: a}]")),
        &yaml(&deployment("containers: [{name: b, image: b}]")),
        &schema,
    )
    .unwrap();
    assert_eq!(
        got["spec"]["template"]["spec"]["containers"],
        yaml("[{name: b, image: b}]")
    );
    let got = strategic_merge(
        &yaml("apiVersion: example.com/v1\nkind: Foo\nmetadata: {name: f}\nspec: {items: [{id: a, v: 1}]}\n"),
        &yaml("apiVersion: example.com/v1\nkind: Foo\nmetadata: {name: f}\nspec: {items: [{id: b, v: 2}]}\n"),
        &schema,
    )
    .unwrap();
    assert_eq!(got["spec"]["items"], yaml("[{id: b, v: 2}, {id: a, v: 1}]"));
}

/// The corpus case openapicustomschema__TestCustomOpenApiFieldBasicUsage:
/// its schema file, resource, and the inline patch of its kustomization.
#[test]
fn corpus_custom_openapi_schema() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../tests/corpus/kustomize/cases/openapicustomschema__TestCustomOpenApiFieldBasicUsage",
    );
    let read =
        |p: &str| std::fs::read_to_string(dir.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    let openapi: Value = serde_json::from_str(&read("in/mycrd_schema.json")).unwrap();
    let mut schema = MergeSchema::empty();
    schema.add_openapi(&openapi).unwrap();
    let patch = yaml(
        "apiVersion: example.com/v1alpha1\nkind: MyCRD\nmetadata:\n  name: service\nspec:\n  template:\n    spec:\n      containers:\n      - name: server\n        image: nginx\n",
    );
    let got = strategic_merge(&yaml(&read("in/mycrd.yaml")), &patch, &schema).unwrap();
    assert_eq!(got, yaml(&read("expected.yaml")));
    // Without the schema the containers list would be replaced.
    let plain = strategic_merge(
        &yaml(&read("in/mycrd.yaml")),
        &patch,
        &MergeSchema::builtin(),
    )
    .unwrap();
    assert_ne!(plain, got);
}
