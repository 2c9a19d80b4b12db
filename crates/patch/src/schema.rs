//! The merge-key schema: which lists merge by which keys, per Kubernetes type.
//!
//! kustomize (kyaml) decides list merging from the OpenAPI schema it embeds
//! (Kubernetes v1.21.2): a list is merged element-wise only when its field
//! carries `x-kubernetes-patch-strategy` containing `merge`; the element keys
//! are `x-kubernetes-list-map-keys` when present, else
//! `x-kubernetes-patch-merge-key`; a merge list without keys merges as a set
//! of scalars. Every other list is replaced. Objects without a schema (unknown
//! kinds) merge maps recursively and replace every list.
//!
//! The built-in table below is written from the `patchStrategy` /
//! `patchMergeKey` struct tags and `+listType=map` / `+listMapKey` markers of
//! the k8s.io/api v0.21.2 types (the version kustomize v5.5.0 embeds), and
//! names only the fields needed to reach those lists.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use serde_json::Value;

use crate::PatchError;

/// The schema of one node.
#[derive(Debug, Clone)]
pub(crate) enum Shape {
    /// Known, but nothing below it needs a schema (scalars, plain objects).
    Leaf,
    /// An object type, by index into [`SchemaData::types`].
    Obj(usize),
    /// A list field.
    Arr(Box<ArrayDef>),
}

#[derive(Debug, Clone)]
pub(crate) struct ArrayDef {
    /// The patch strategy includes `merge`.
    pub merge: bool,
    /// Element keys (list-map-keys, else the patch merge key); empty for a
    /// merged list of scalars.
    pub keys: Vec<String>,
    /// The element schema, when the field is typed `array` with `items`.
    pub items: Option<Shape>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct TypeDef {
    pub props: HashMap<String, Shape>,
    pub additional: Option<Shape>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct SchemaData {
    pub types: Vec<TypeDef>,
    pub names: HashMap<String, usize>,
    /// apiVersion, then kind, to the root type (always a [`Shape::Obj`]).
    pub kinds: HashMap<String, HashMap<String, Shape>>,
}

impl SchemaData {
    pub(crate) fn for_kind(&self, api_version: &str, kind: &str) -> Option<&Shape> {
        self.kinds.get(api_version)?.get(kind)
    }

    fn set_kind(&mut self, api_version: String, kind: String, type_index: usize) {
        self.kinds
            .entry(api_version)
            .or_default()
            .insert(kind, Shape::Obj(type_index));
    }

    /// The schema of field `name` of an object node.
    pub(crate) fn field<'a>(&'a self, shape: Option<&'a Shape>, name: &str) -> Option<&'a Shape> {
        match shape? {
            Shape::Obj(i) => {
                let t = self.types.get(*i)?;
                t.props.get(name).or(t.additional.as_ref())
            }
            _ => None,
        }
    }

    /// The schema of the elements of a list node.
    #[cfg(test)]
    pub(crate) fn elements<'a>(&'a self, shape: Option<&'a Shape>) -> Option<&'a Shape> {
        match shape? {
            Shape::Arr(a) => a.items.as_ref(),
            _ => None,
        }
    }

    fn type_index(&mut self, name: &str) -> usize {
        if let Some(&i) = self.names.get(name) {
            return i;
        }
        self.types.push(TypeDef::default());
        let i = self.types.len() - 1;
        self.names.insert(name.to_string(), i);
        i
    }
}

/// List merge keys and strategies per Kubernetes type, and the root type of
/// each `(apiVersion, kind)`.
///
/// [`MergeSchema::builtin`] is cheap: the built-in table is parsed once and
/// shared; adding definitions copies it on first write.
#[derive(Debug, Clone)]
pub struct MergeSchema {
    pub(crate) data: Arc<SchemaData>,
}

static BUILTIN: LazyLock<Arc<SchemaData>> =
    LazyLock::new(|| Arc::new(parse_builtin(BUILTIN_TABLE)));

impl MergeSchema {
    /// The built-in Kubernetes schema (kustomize v5.5.0's, Kubernetes v1.21).
    pub fn builtin() -> MergeSchema {
        MergeSchema {
            data: Arc::clone(&BUILTIN),
        }
    }

    /// A schema that knows no types: every list is replaced. kustomize's
    /// `openapi: {path: ...}` custom schema *replaces* the built-in one, so
    /// start from this and [`add_openapi`](Self::add_openapi) to match it.
    pub fn empty() -> MergeSchema {
        MergeSchema {
            data: Arc::new(SchemaData::default()),
        }
    }

    /// Add the definitions of a swagger v2 document (kustomize's `openapi:`
    /// custom schema): `definitions` with `$ref`s, `x-kubernetes-patch-strategy`,
    /// `x-kubernetes-patch-merge-key`, `x-kubernetes-list-map-keys`, and
    /// `x-kubernetes-group-version-kind` naming the resource types. A
    /// definition replaces a built-in one of the same name or kind.
    pub fn add_openapi(&mut self, openapi_json: &Value) -> Result<(), PatchError> {
        let defs = openapi_json
            .get("definitions")
            .and_then(Value::as_object)
            .ok_or_else(|| PatchError::Schema {
                message: "the OpenAPI document has no `definitions` object".into(),
            })?;
        let data = Arc::make_mut(&mut self.data);
        // Allocate every definition first, so `$ref`s resolve in any order.
        let mut indices = Vec::with_capacity(defs.len());
        for (name, _) in defs {
            let i = data.type_index(name);
            data.types[i] = TypeDef::default();
            indices.push(i);
        }
        for ((name, def), &i) in defs.iter().zip(&indices) {
            if !def.is_object() {
                return Err(PatchError::Schema {
                    message: format!("definition {name:?} is not an object"),
                });
            }
            let t = object_type(data, def, &format!("definitions/{name}"), RefStyle::Swagger)?;
            data.types[i] = t;
            for (api_version, kind) in gvks(def.get("x-kubernetes-group-version-kind")) {
                data.set_kind(api_version, kind, i);
            }
        }
        Ok(())
    }

    /// Add the schema of a CustomResourceDefinition object (`apiextensions.k8s.io`
    /// v1 `spec.versions[].schema.openAPIV3Schema`, or v1beta1
    /// `spec.validation.openAPIV3Schema`). Lists marked
    /// `x-kubernetes-list-type: map` merge by their `x-kubernetes-list-map-keys`,
    /// `set` lists merge as sets, and explicit `x-kubernetes-patch-strategy` /
    /// `x-kubernetes-patch-merge-key` are honoured.
    ///
    /// kustomize itself does not use `crds:` for strategic merge (its CRD
    /// objects merge schema-less); callers wanting exact kustomize output
    /// should not add CRDs here.
    pub fn add_crd(&mut self, crd: &Value) -> Result<(), PatchError> {
        let spec = crd.get("spec").ok_or_else(|| PatchError::Schema {
            message: "the CRD has no spec".into(),
        })?;
        let group = spec.get("group").and_then(Value::as_str).unwrap_or("");
        let kind = spec
            .get("names")
            .and_then(|n| n.get("kind"))
            .and_then(Value::as_str)
            .ok_or_else(|| PatchError::Schema {
                message: "the CRD has no spec.names.kind".into(),
            })?;
        let api_version = |v: &str| {
            if group.is_empty() {
                v.to_string()
            } else {
                format!("{group}/{v}")
            }
        };
        let data = Arc::make_mut(&mut self.data);
        let shared = spec
            .get("validation")
            .and_then(|v| v.get("openAPIV3Schema"));
        let mut versions: Vec<(String, Option<&Value>)> = Vec::new();
        if let Some(vs) = spec.get("versions").and_then(Value::as_array) {
            for v in vs {
                if let Some(name) = v.get("name").and_then(Value::as_str) {
                    let s = v
                        .get("schema")
                        .and_then(|s| s.get("openAPIV3Schema"))
                        .or(shared);
                    versions.push((name.to_string(), s));
                }
            }
        }
        if versions.is_empty()
            && let Some(v) = spec.get("version").and_then(Value::as_str)
        {
            versions.push((v.to_string(), shared));
        }
        if versions.is_empty() {
            return Err(PatchError::Schema {
                message: format!("the CRD for kind {kind} names no version"),
            });
        }
        for (version, schema) in versions {
            let Some(schema) = schema else { continue };
            let av = api_version(&version);
            let path = format!("crd {kind} {av}");
            let mut t = object_type(data, schema, &path, RefStyle::None)?;
            // Every resource has ObjectMeta, whatever the CRD schema says of it.
            if let Some(&meta) = data.names.get(OBJECT_META) {
                t.props.insert("metadata".into(), Shape::Obj(meta));
            }
            data.types.push(t);
            let i = data.types.len() - 1;
            data.set_kind(av, kind.to_string(), i);
        }
        Ok(())
    }
}

#[derive(Clone, Copy, PartialEq)]
enum RefStyle {
    /// `$ref: #/definitions/<name>`.
    Swagger,
    /// OpenAPI v3 in CRDs: no references.
    None,
}

fn object_type(
    data: &mut SchemaData,
    def: &Value,
    path: &str,
    refs: RefStyle,
) -> Result<TypeDef, PatchError> {
    let mut t = TypeDef::default();
    if let Some(props) = def.get("properties") {
        let props = props.as_object().ok_or_else(|| PatchError::Schema {
            message: format!("{path}/properties is not an object"),
        })?;
        for (name, p) in props {
            let shape = shape_of(data, p, &format!("{path}/properties/{name}"), refs)?;
            if let Some(s) = shape {
                t.props.insert(name.clone(), s);
            }
        }
    }
    if let Some(ap) = def.get("additionalProperties")
        && ap.is_object()
    {
        t.additional = shape_of(data, ap, &format!("{path}/additionalProperties"), refs)?;
    }
    Ok(t)
}

/// `None` where kyaml would find no schema (an unresolvable reference).
fn shape_of(
    data: &mut SchemaData,
    p: &Value,
    path: &str,
    refs: RefStyle,
) -> Result<Option<Shape>, PatchError> {
    if !p.is_object() {
        return Err(PatchError::Schema {
            message: format!("{path} is not a schema object"),
        });
    }
    if let Some(r) = p.get("$ref").and_then(Value::as_str) {
        if refs == RefStyle::Swagger
            && let Some(name) = r.strip_prefix("#/definitions/")
        {
            return Ok(data.names.get(name).map(|&i| Shape::Obj(i)));
        }
        return Ok(None);
    }
    let ty = p.get("type").and_then(Value::as_str);
    let strategy = p.get("x-kubernetes-patch-strategy").and_then(Value::as_str);
    let list_type = p.get("x-kubernetes-list-type").and_then(Value::as_str);
    if ty == Some("array") || strategy.is_some() || list_type.is_some() {
        let map_keys: Option<Vec<String>> = p
            .get("x-kubernetes-list-map-keys")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|k| k.as_str().map(String::from))
                    .collect()
            });
        let merge_key = p
            .get("x-kubernetes-patch-merge-key")
            .and_then(Value::as_str);
        let (merge, keys) = match strategy {
            Some(s) => (
                s.split(',').any(|x| x == "merge"),
                map_keys
                    .or_else(|| merge_key.map(|k| vec![k.to_string()]))
                    .unwrap_or_default(),
            ),
            // CRD list types stand in for patch strategies (not used by kustomize).
            None if refs == RefStyle::None => match list_type {
                Some("map") => (true, map_keys.unwrap_or_default()),
                Some("set") => (true, Vec::new()),
                _ => (false, Vec::new()),
            },
            None => (false, Vec::new()),
        };
        let items = if ty == Some("array") {
            match p.get("items") {
                Some(i) if i.is_object() => shape_of(data, i, &format!("{path}/items"), refs)?,
                _ => None,
            }
        } else {
            None
        };
        return Ok(Some(Shape::Arr(Box::new(ArrayDef { merge, keys, items }))));
    }
    if p.get("properties").is_some() || p.get("additionalProperties").is_some_and(Value::is_object)
    {
        let t = object_type(data, p, path, refs)?;
        data.types.push(t);
        return Ok(Some(Shape::Obj(data.types.len() - 1)));
    }
    Ok(Some(Shape::Leaf))
}

fn gvks(ext: Option<&Value>) -> Vec<(String, String)> {
    let Some(list) = ext.and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|g| {
            let version = g.get("version")?.as_str()?;
            let kind = g.get("kind")?.as_str()?;
            let group = g.get("group").and_then(Value::as_str).unwrap_or("");
            let av = if group.is_empty() {
                version.to_string()
            } else {
                format!("{group}/{version}")
            };
            Some((av, kind.to_string()))
        })
        .collect()
}

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

fn full_type_name(short: &str) -> String {
    match short.strip_prefix("meta.") {
        Some(rest) => format!("io.k8s.apimachinery.pkg.apis.meta.{rest}"),
        None => format!("io.k8s.api.{short}"),
    }
}

/// Parse the built-in table. Lines:
/// `kind <apiVersion> <Kind> <type>` names a resource's root type (which
/// always gets `metadata: ObjectMeta`);
/// `<type> <field> <target> [<strategy> [<key>,<key>...]]` where target is a
/// type, `[]<type>` or `[]-` (list of scalars).
fn parse_builtin(table: &str) -> SchemaData {
    let mut data = SchemaData::default();
    let meta = data.type_index(OBJECT_META);
    for line in table.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            [] => {}
            [w, ..] if w.starts_with('#') => {}
            ["kind", api_version, kind, ty] => {
                let i = data.type_index(&full_type_name(ty));
                data.types[i]
                    .props
                    .entry("metadata".into())
                    .or_insert(Shape::Obj(meta));
                data.set_kind(api_version.to_string(), kind.to_string(), i);
            }
            [ty, field, target, rest @ ..] => {
                let owner = data.type_index(&full_type_name(ty));
                let shape = match target.strip_prefix("[]") {
                    Some(elem) => {
                        let items = match elem {
                            "-" => Shape::Leaf,
                            t => Shape::Obj(data.type_index(&full_type_name(t))),
                        };
                        let merge = rest
                            .first()
                            .is_some_and(|s| s.split(',').any(|x| x == "merge"));
                        let keys = rest
                            .get(1)
                            .map(|k| k.split(',').map(String::from).collect())
                            .unwrap_or_default();
                        Shape::Arr(Box::new(ArrayDef {
                            merge,
                            keys,
                            items: Some(items),
                        }))
                    }
                    None => Shape::Obj(data.type_index(&full_type_name(target))),
                };
                data.types[owner].props.insert(field.to_string(), shape);
            }
            _ => panic!("malformed built-in schema line: {line}"),
        }
    }
    data
}

/// Written from k8s.io/api v0.21.2 and k8s.io/apimachinery v0.21.2 struct tags.
const BUILTIN_TABLE: &str = r#"
# --- metadata
meta.v1.ObjectMeta ownerReferences []meta.v1.OwnerReference merge uid
meta.v1.ObjectMeta finalizers []- merge

# --- core/v1 pods
core.v1.PodTemplateSpec metadata meta.v1.ObjectMeta
core.v1.PodTemplateSpec spec core.v1.PodSpec
core.v1.PodSpec volumes []core.v1.Volume merge,retainKeys name
core.v1.PodSpec initContainers []core.v1.Container merge name
core.v1.PodSpec containers []core.v1.Container merge name
core.v1.PodSpec ephemeralContainers []core.v1.EphemeralContainer merge name
core.v1.PodSpec imagePullSecrets []core.v1.LocalObjectReference merge name
core.v1.PodSpec hostAliases []core.v1.HostAlias merge ip
core.v1.PodSpec topologySpreadConstraints []core.v1.TopologySpreadConstraint merge topologyKey,whenUnsatisfiable
core.v1.Container ports []core.v1.ContainerPort merge containerPort,protocol
core.v1.Container env []core.v1.EnvVar merge name
core.v1.Container volumeMounts []core.v1.VolumeMount merge mountPath
core.v1.Container volumeDevices []core.v1.VolumeDevice merge devicePath
core.v1.EphemeralContainer env []core.v1.EnvVar merge name
core.v1.EphemeralContainer volumeMounts []core.v1.VolumeMount merge mountPath
core.v1.EphemeralContainer volumeDevices []core.v1.VolumeDevice merge devicePath
core.v1.PodStatus conditions []core.v1.PodCondition merge type
core.v1.PodStatus podIPs []core.v1.PodIP merge ip
core.v1.Pod spec core.v1.PodSpec
core.v1.Pod status core.v1.PodStatus
core.v1.PodTemplate template core.v1.PodTemplateSpec
core.v1.EphemeralContainers ephemeralContainers []core.v1.EphemeralContainer merge name
core.v1.ReplicationController spec core.v1.ReplicationControllerSpec
core.v1.ReplicationController status core.v1.ReplicationControllerStatus
core.v1.ReplicationControllerSpec template core.v1.PodTemplateSpec
core.v1.ReplicationControllerStatus conditions []core.v1.ReplicationControllerCondition merge type

# --- core/v1 others
core.v1.Service spec core.v1.ServiceSpec
core.v1.Service status core.v1.ServiceStatus
core.v1.ServiceSpec ports []core.v1.ServicePort merge port,protocol
core.v1.ServiceStatus conditions []meta.v1.Condition merge type
core.v1.ServiceAccount secrets []core.v1.ObjectReference merge name
core.v1.Node spec core.v1.NodeSpec
core.v1.Node status core.v1.NodeStatus
core.v1.NodeSpec podCIDRs []- merge
core.v1.NodeStatus conditions []core.v1.NodeCondition merge type
core.v1.NodeStatus addresses []core.v1.NodeAddress merge type
core.v1.Namespace status core.v1.NamespaceStatus
core.v1.NamespaceStatus conditions []core.v1.NamespaceCondition merge type
core.v1.PersistentVolumeClaim status core.v1.PersistentVolumeClaimStatus
core.v1.PersistentVolumeClaimStatus conditions []core.v1.PersistentVolumeClaimCondition merge type
core.v1.ComponentStatus conditions []core.v1.ComponentCondition merge type

# --- apps/v1
apps.v1.Deployment spec apps.v1.DeploymentSpec
apps.v1.Deployment status apps.v1.DeploymentStatus
apps.v1.DeploymentSpec template core.v1.PodTemplateSpec
apps.v1.DeploymentStatus conditions []apps.v1.DeploymentCondition merge type
apps.v1.StatefulSet spec apps.v1.StatefulSetSpec
apps.v1.StatefulSet status apps.v1.StatefulSetStatus
apps.v1.StatefulSetSpec template core.v1.PodTemplateSpec
apps.v1.StatefulSetStatus conditions []apps.v1.StatefulSetCondition merge type
apps.v1.DaemonSet spec apps.v1.DaemonSetSpec
apps.v1.DaemonSet status apps.v1.DaemonSetStatus
apps.v1.DaemonSetSpec template core.v1.PodTemplateSpec
apps.v1.DaemonSetStatus conditions []apps.v1.DaemonSetCondition merge type
apps.v1.ReplicaSet spec apps.v1.ReplicaSetSpec
apps.v1.ReplicaSet status apps.v1.ReplicaSetStatus
apps.v1.ReplicaSetSpec template core.v1.PodTemplateSpec
apps.v1.ReplicaSetStatus conditions []apps.v1.ReplicaSetCondition merge type

# --- batch
batch.v1.Job spec batch.v1.JobSpec
batch.v1.Job status batch.v1.JobStatus
batch.v1.JobSpec template core.v1.PodTemplateSpec
batch.v1.JobStatus conditions []batch.v1.JobCondition merge type
batch.v1.CronJob spec batch.v1.CronJobSpec
batch.v1.CronJobSpec jobTemplate batch.v1.JobTemplateSpec
batch.v1.JobTemplateSpec metadata meta.v1.ObjectMeta
batch.v1.JobTemplateSpec spec batch.v1.JobSpec
batch.v1beta1.CronJob spec batch.v1beta1.CronJobSpec
batch.v1beta1.CronJobSpec jobTemplate batch.v1beta1.JobTemplateSpec
batch.v1beta1.JobTemplateSpec metadata meta.v1.ObjectMeta
batch.v1beta1.JobTemplateSpec spec batch.v1.JobSpec

# --- policy, admissionregistration, storage
policy.v1.PodDisruptionBudget status policy.v1.PodDisruptionBudgetStatus
policy.v1.PodDisruptionBudgetStatus conditions []meta.v1.Condition merge type
policy.v1beta1.PodDisruptionBudget status policy.v1beta1.PodDisruptionBudgetStatus
policy.v1beta1.PodDisruptionBudgetStatus conditions []meta.v1.Condition merge type
admissionregistration.v1.MutatingWebhookConfiguration webhooks []admissionregistration.v1.MutatingWebhook merge name
admissionregistration.v1.ValidatingWebhookConfiguration webhooks []admissionregistration.v1.ValidatingWebhook merge name
admissionregistration.v1beta1.MutatingWebhookConfiguration webhooks []admissionregistration.v1beta1.MutatingWebhook merge name
admissionregistration.v1beta1.ValidatingWebhookConfiguration webhooks []admissionregistration.v1beta1.ValidatingWebhook merge name
storage.v1.CSINode spec storage.v1.CSINodeSpec
storage.v1.CSINodeSpec drivers []storage.v1.CSINodeDriver merge name
storage.v1beta1.CSINode spec storage.v1beta1.CSINodeSpec
storage.v1beta1.CSINodeSpec drivers []storage.v1beta1.CSINodeDriver merge name

# --- resource kinds (apiVersion, kind, root type), as served by Kubernetes v1.21
kind v1 Pod core.v1.Pod
kind v1 PodTemplate core.v1.PodTemplate
kind v1 EphemeralContainers core.v1.EphemeralContainers
kind v1 ReplicationController core.v1.ReplicationController
kind v1 Service core.v1.Service
kind v1 ServiceAccount core.v1.ServiceAccount
kind v1 Node core.v1.Node
kind v1 Namespace core.v1.Namespace
kind v1 PersistentVolumeClaim core.v1.PersistentVolumeClaim
kind v1 PersistentVolume core.v1.PersistentVolume
kind v1 ComponentStatus core.v1.ComponentStatus
kind v1 ConfigMap core.v1.ConfigMap
kind v1 Secret core.v1.Secret
kind v1 Endpoints core.v1.Endpoints
kind v1 Event core.v1.Event
kind v1 LimitRange core.v1.LimitRange
kind v1 ResourceQuota core.v1.ResourceQuota
kind v1 Binding core.v1.Binding
kind apps/v1 Deployment apps.v1.Deployment
kind apps/v1 StatefulSet apps.v1.StatefulSet
kind apps/v1 DaemonSet apps.v1.DaemonSet
kind apps/v1 ReplicaSet apps.v1.ReplicaSet
kind apps/v1 ControllerRevision apps.v1.ControllerRevision
kind batch/v1 Job batch.v1.Job
kind batch/v1 CronJob batch.v1.CronJob
kind batch/v1beta1 CronJob batch.v1beta1.CronJob
kind autoscaling/v1 HorizontalPodAutoscaler autoscaling.v1.HorizontalPodAutoscaler
kind autoscaling/v2beta1 HorizontalPodAutoscaler autoscaling.v2beta1.HorizontalPodAutoscaler
kind autoscaling/v2beta2 HorizontalPodAutoscaler autoscaling.v2beta2.HorizontalPodAutoscaler
kind networking.k8s.io/v1 Ingress networking.v1.Ingress
kind networking.k8s.io/v1 IngressClass networking.v1.IngressClass
kind networking.k8s.io/v1 NetworkPolicy networking.v1.NetworkPolicy
kind networking.k8s.io/v1beta1 Ingress networking.v1beta1.Ingress
kind networking.k8s.io/v1beta1 IngressClass networking.v1beta1.IngressClass
kind extensions/v1beta1 Ingress extensions.v1beta1.Ingress
kind rbac.authorization.k8s.io/v1 Role rbac.v1.Role
kind rbac.authorization.k8s.io/v1 ClusterRole rbac.v1.ClusterRole
kind rbac.authorization.k8s.io/v1 RoleBinding rbac.v1.RoleBinding
kind rbac.authorization.k8s.io/v1 ClusterRoleBinding rbac.v1.ClusterRoleBinding
kind rbac.authorization.k8s.io/v1beta1 Role rbac.v1beta1.Role
kind rbac.authorization.k8s.io/v1beta1 ClusterRole rbac.v1beta1.ClusterRole
kind rbac.authorization.k8s.io/v1beta1 RoleBinding rbac.v1beta1.RoleBinding
kind rbac.authorization.k8s.io/v1beta1 ClusterRoleBinding rbac.v1beta1.ClusterRoleBinding
kind policy/v1 PodDisruptionBudget policy.v1.PodDisruptionBudget
kind policy/v1beta1 PodDisruptionBudget policy.v1beta1.PodDisruptionBudget
kind policy/v1beta1 PodSecurityPolicy policy.v1beta1.PodSecurityPolicy
kind admissionregistration.k8s.io/v1 MutatingWebhookConfiguration admissionregistration.v1.MutatingWebhookConfiguration
kind admissionregistration.k8s.io/v1 ValidatingWebhookConfiguration admissionregistration.v1.ValidatingWebhookConfiguration
kind admissionregistration.k8s.io/v1beta1 MutatingWebhookConfiguration admissionregistration.v1beta1.MutatingWebhookConfiguration
kind admissionregistration.k8s.io/v1beta1 ValidatingWebhookConfiguration admissionregistration.v1beta1.ValidatingWebhookConfiguration
kind storage.k8s.io/v1 StorageClass storage.v1.StorageClass
kind storage.k8s.io/v1 CSIDriver storage.v1.CSIDriver
kind storage.k8s.io/v1 CSINode storage.v1.CSINode
kind storage.k8s.io/v1 VolumeAttachment storage.v1.VolumeAttachment
kind storage.k8s.io/v1beta1 StorageClass storage.v1beta1.StorageClass
kind storage.k8s.io/v1beta1 CSIDriver storage.v1beta1.CSIDriver
kind storage.k8s.io/v1beta1 CSINode storage.v1beta1.CSINode
kind storage.k8s.io/v1beta1 CSIStorageCapacity storage.v1beta1.CSIStorageCapacity
kind storage.k8s.io/v1beta1 VolumeAttachment storage.v1beta1.VolumeAttachment
kind apiextensions.k8s.io/v1 CustomResourceDefinition apiextensions.v1.CustomResourceDefinition
kind apiextensions.k8s.io/v1beta1 CustomResourceDefinition apiextensions.v1beta1.CustomResourceDefinition
kind apiregistration.k8s.io/v1 APIService apiregistration.v1.APIService
kind apiregistration.k8s.io/v1beta1 APIService apiregistration.v1beta1.APIService
kind coordination.k8s.io/v1 Lease coordination.v1.Lease
kind coordination.k8s.io/v1beta1 Lease coordination.v1beta1.Lease
kind discovery.k8s.io/v1 EndpointSlice discovery.v1.EndpointSlice
kind discovery.k8s.io/v1beta1 EndpointSlice discovery.v1beta1.EndpointSlice
kind events.k8s.io/v1 Event events.v1.Event
kind events.k8s.io/v1beta1 Event events.v1beta1.Event
kind scheduling.k8s.io/v1 PriorityClass scheduling.v1.PriorityClass
kind scheduling.k8s.io/v1beta1 PriorityClass scheduling.v1beta1.PriorityClass
kind node.k8s.io/v1 RuntimeClass node.v1.RuntimeClass
kind node.k8s.io/v1beta1 RuntimeClass node.v1beta1.RuntimeClass
kind certificates.k8s.io/v1 CertificateSigningRequest certificates.v1.CertificateSigningRequest
kind certificates.k8s.io/v1beta1 CertificateSigningRequest certificates.v1beta1.CertificateSigningRequest
kind flowcontrol.apiserver.k8s.io/v1beta1 FlowSchema flowcontrol.v1beta1.FlowSchema
kind flowcontrol.apiserver.k8s.io/v1beta1 PriorityLevelConfiguration flowcontrol.v1beta1.PriorityLevelConfiguration
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn list_def<'a>(
        data: &'a SchemaData,
        api_version: &str,
        kind: &str,
        path: &[&str],
    ) -> Option<&'a ArrayDef> {
        let mut shape: &Shape = data.for_kind(api_version, kind)?;
        for p in path {
            shape = if *p == "[]" {
                data.elements(Some(shape))?
            } else {
                data.field(Some(shape), p)?
            };
        }
        match shape {
            Shape::Arr(a) => Some(a),
            _ => None,
        }
    }

    #[test]
    fn builtin_merge_keys() {
        let s = MergeSchema::builtin();
        let d = &s.data;
        let c = ["spec", "template", "spec", "containers"];
        let a = list_def(d, "apps/v1", "Deployment", &c).unwrap();
        assert!(a.merge);
        assert_eq!(a.keys, ["name"]);
        let ports = list_def(
            d,
            "apps/v1",
            "StatefulSet",
            &["spec", "template", "spec", "containers", "[]", "ports"],
        )
        .unwrap();
        assert_eq!(ports.keys, ["containerPort", "protocol"]);
        let cron = list_def(
            d,
            "batch/v1",
            "CronJob",
            &["spec", "jobTemplate", "spec", "template", "spec", "volumes"],
        )
        .unwrap();
        assert_eq!(cron.keys, ["name"]);
        let fin = list_def(d, "v1", "ConfigMap", &["metadata", "finalizers"]).unwrap();
        assert!(fin.merge && fin.keys.is_empty());
        let svc = list_def(d, "v1", "Service", &["spec", "ports"]).unwrap();
        assert_eq!(svc.keys, ["port", "protocol"]);
        assert!(list_def(d, "example.com/v1", "Foo", &["metadata", "finalizers"]).is_none());
        // args is not in the table: replaced.
        assert!(
            list_def(
                d,
                "apps/v1",
                "Deployment",
                &["spec", "template", "spec", "containers", "[]", "args"]
            )
            .is_none()
        );
    }

    #[test]
    fn builtin_is_shared() {
        let a = MergeSchema::builtin();
        let b = MergeSchema::builtin();
        assert!(Arc::ptr_eq(&a.data, &b.data));
    }

    #[test]
    fn openapi_definitions_and_refs() {
        let mut s = MergeSchema::builtin();
        s.add_openapi(&json!({
            "definitions": {
                "v1alpha1.MyCRD": {
                    "properties": {
                        "spec": {"properties": {"template": {"$ref": "#/definitions/io.k8s.api.core.v1.PodTemplateSpec"}}, "type": "object"},
                        "items": {"type": "array", "items": {"$ref": "#/definitions/v1alpha1.Item"},
                                  "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "id"}
                    },
                    "x-kubernetes-group-version-kind": [{"group": "example.com", "version": "v1alpha1", "kind": "MyCRD"}]
                },
                "v1alpha1.Item": {"properties": {"id": {"type": "string"}}}
            }
        }))
        .unwrap();
        let d = &s.data;
        let items = list_def(d, "example.com/v1alpha1", "MyCRD", &["items"]).unwrap();
        assert_eq!(items.keys, ["id"]);
        // The reference resolves to the built-in PodTemplateSpec.
        let c = list_def(
            d,
            "example.com/v1alpha1",
            "MyCRD",
            &["spec", "template", "spec", "containers"],
        )
        .unwrap();
        assert_eq!(c.keys, ["name"]);
        // The built-in table is untouched.
        assert!(
            MergeSchema::builtin()
                .data
                .for_kind("example.com/v1alpha1", "MyCRD")
                .is_none()
        );
    }

    #[test]
    fn openapi_errors() {
        let mut s = MergeSchema::builtin();
        let e = s.add_openapi(&json!({"swagger": "2.0"})).unwrap_err();
        assert!(e.to_string().contains("definitions"), "{e}");
        let e = s
            .add_openapi(&json!({"definitions": {"X": {"properties": {"a": 3}}}}))
            .unwrap_err();
        assert!(e.to_string().contains("definitions/X/properties/a"), "{e}");
    }

    #[test]
    fn crd_list_types() {
        let mut s = MergeSchema::builtin();
        s.add_crd(&json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "spec": {
                "group": "example.com",
                "names": {"kind": "Widget"},
                "versions": [{"name": "v1", "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {"spec": {"type": "object", "properties": {
                        "parts": {"type": "array", "x-kubernetes-list-type": "map",
                                  "x-kubernetes-list-map-keys": ["name", "slot"],
                                  "items": {"type": "object"}},
                        "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                        "plain": {"type": "array", "items": {"type": "string"}}
                    }}}
                }}}]
            }
        }))
        .unwrap();
        let d = &s.data;
        assert_eq!(
            list_def(d, "example.com/v1", "Widget", &["spec", "parts"])
                .unwrap()
                .keys,
            ["name", "slot"]
        );
        let tags = list_def(d, "example.com/v1", "Widget", &["spec", "tags"]).unwrap();
        assert!(tags.merge && tags.keys.is_empty());
        assert!(
            !list_def(d, "example.com/v1", "Widget", &["spec", "plain"])
                .unwrap()
                .merge
        );
        assert!(
            list_def(d, "example.com/v1", "Widget", &["metadata", "finalizers"])
                .unwrap()
                .merge
        );
        let e = s.add_crd(&json!({"spec": {"group": "x"}})).unwrap_err();
        assert!(e.to_string().contains("names.kind"), "{e}");
    }
}
