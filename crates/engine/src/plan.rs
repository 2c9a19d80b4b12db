//! Planning: what applying a unit to a cluster would do, object by object.

use crate::cluster::{ClusterHandle, StoredInventory, api_status, describe};
use crate::compare::{Verdict, compare, owned_fields, project};
use crate::discovery::{ResourceInfo, is_crd};
use crate::inventory::ObjectKey;
use crate::render;
use crate::stage::{Stage, kind_rank};
use crate::unit::{Unit, validate_name};
use anyhow::Context as _;
use flotilla_model::ObjectRef;
use futures::{StreamExt, TryStreamExt, stream};
use serde::Serialize;
use serde_json::Value;
use sha2::Digest;
use std::collections::{BTreeMap, HashMap, HashSet};

/// How many objects of one resource in one namespace make a LIST cheaper
/// than one GET each.
const LIST_THRESHOLD: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Update,
    /// Delete and recreate: an immutable field changes and force is on.
    Replace,
    Unchanged,
    Prune,
    /// Left the unit but kept (`flotilla.dev/prune: disabled`, or another
    /// unit owns it now); dropped from the inventory.
    Orphan,
    /// Another field manager owns fields this object sets.
    Conflict,
    /// The server rejects the object (validation, immutable field, ...).
    Invalid,
}

impl Action {
    pub fn is_write(self) -> bool {
        matches!(
            self,
            Action::Create | Action::Update | Action::Replace | Action::Prune
        )
    }
    fn word(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Unchanged => "unchanged",
            Action::Prune => "prune",
            Action::Orphan => "orphan",
            Action::Conflict => "conflict",
            Action::Invalid => "invalid",
        }
    }
}

/// One line of a plan.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// `Kind/namespace/name`.
    pub object: String,
    pub api_version: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    pub action: Action,
    pub stage: Stage,
    /// Someone changed fields flotilla owns; the update puts them back.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub drift: bool,
    /// Unified diff (updates: only changed fields; creates: the object);
    /// Secret values masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// Why: the conflict, the rejection, the reason an object is kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Index into the plan's desired objects (none for prune/orphan).
    #[serde(skip)]
    pub(crate) desired: Option<usize>,
    /// Apply with force (drift of owned fields, or `--force-conflicts`).
    #[serde(skip)]
    pub(crate) force: bool,
    #[serde(skip)]
    pub(crate) key: ObjectKey,
    #[serde(skip)]
    pub(crate) info: Option<ResourceInfo>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub unchanged: usize,
    pub prune: usize,
    pub orphan: usize,
    pub conflict: usize,
    pub invalid: usize,
    pub drift: usize,
}

/// An object of the unit, ready to send.
#[derive(Clone, Debug)]
pub(crate) struct Desired {
    pub obj: Value,
    pub oref: ObjectRef,
    pub key: ObjectKey,
    pub info: ResourceInfo,
    pub stage: Stage,
    pub hash: String,
}

/// What applying a unit would do.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub unit: String,
    pub cluster: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    pub summary: Summary,
    pub changes: Vec<Change>,
    #[serde(skip)]
    pub(crate) desired: Vec<Desired>,
    #[serde(skip)]
    pub(crate) stored: Option<StoredInventory>,
}

#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// List objects that left the unit as `prune` (and apply the guard).
    pub prune: bool,
    /// Take over fields other managers own.
    pub force_conflicts: bool,
    /// Delete and recreate objects whose immutable fields change.
    pub force_replace: bool,
    /// Allow pruning everything when the unit renders no object at all.
    pub allow_empty: bool,
}

/// The refusal to prune a whole unit away.
#[derive(Debug, thiserror::Error)]
#[error(
    "refusing to prune unit {unit} on cluster {cluster}: it now renders no objects while its inventory holds {owned}; \
     if the render is right, run again with --allow-empty to delete them all"
)]
pub struct EmptyUnitGuard {
    pub unit: String,
    pub cluster: String,
    pub owned: usize,
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action.is_write())
    }

    /// Changes that make an apply impossible as planned.
    pub fn blocking(&self) -> Vec<&Change> {
        self.changes
            .iter()
            .filter(|c| matches!(c.action, Action::Conflict | Action::Invalid))
            .collect()
    }

    fn summarise(&mut self) {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Replace => s.replace += 1,
                Action::Unchanged => s.unchanged += 1,
                Action::Prune => s.prune += 1,
                Action::Orphan => s.orphan += 1,
                Action::Conflict => s.conflict += 1,
                Action::Invalid => s.invalid += 1,
            }
            s.drift += usize::from(c.drift);
        }
        self.summary = s;
    }

    /// Human-readable plan: one line per change (unchanged objects only
    /// counted), diffs below, a summary line. `colour` adds ANSI colours.
    pub fn render_text(&self, colour: bool) -> String {
        let mut out = String::new();
        for c in &self.changes {
            if c.action == Action::Unchanged {
                continue;
            }
            let marker = match c.action {
                Action::Create => "+",
                Action::Update | Action::Replace => "~",
                Action::Prune => "-",
                _ => "!",
            };
            let mut line = format!("{marker} {} {}", c.action.word(), c.object);
            if c.drift {
                line.push_str(" (drift)");
            }
            if let Some(r) = &c.reason {
                line.push_str(": ");
                line.push_str(r);
            }
            if colour {
                let code = match c.action {
                    Action::Create => "32",
                    Action::Update | Action::Replace => "33",
                    Action::Prune | Action::Conflict | Action::Invalid => "31",
                    _ => "36",
                };
                line = format!("\x1b[{code}m{line}\x1b[0m");
            }
            out.push_str(&line);
            out.push('\n');
            if let Some(d) = &c.diff {
                let d = if c.action == Action::Create {
                    d.lines().map(|l| format!("    {l}\n")).collect::<String>()
                } else if colour {
                    render::colourise(d)
                } else {
                    d.clone()
                };
                out.push_str(&d);
            }
        }
        let s = &self.summary;
        out.push_str(&format!(
            "unit {} on {}: {} to create, {} to update, {} to replace, {} to prune, {} unchanged",
            self.unit, self.cluster, s.create, s.update, s.replace, s.prune, s.unchanged
        ));
        for (n, what) in [
            (s.drift, "drifted"),
            (s.orphan, "orphaned"),
            (s.conflict, "in conflict"),
            (s.invalid, "invalid"),
        ] {
            if n > 0 {
                out.push_str(&format!(", {n} {what}"));
            }
        }
        out.push('\n');
        out
    }
}

/// Stable digest of the object as sent, to tell drift from a desired change.
fn hash_of(obj: &Value) -> String {
    let bytes = serde_json::to_vec(obj).unwrap_or_default();
    let digest = sha2::Sha256::digest(&bytes);
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn conflict_managers(status: &kube::core::Status) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut scan = |text: &str| {
        let mut rest = text;
        while let Some(i) = rest.find("conflict with \"") {
            rest = &rest[i + "conflict with \"".len()..];
            if let Some(end) = rest.find('"') {
                let name = rest[..end].to_owned();
                if !names.contains(&name) {
                    names.push(name);
                }
                rest = &rest[end..];
            }
        }
    };
    scan(&status.message);
    for c in status.details.iter().flat_map(|d| &d.causes) {
        scan(&c.message);
    }
    names
}

/// The fields a conflict is about, as `.spec.replicas (kubectl-edit)`.
fn conflict_text(status: &kube::core::Status) -> String {
    let causes: Vec<String> = status
        .details
        .iter()
        .flat_map(|d| &d.causes)
        .map(|c| {
            let who = c
                .message
                .strip_prefix("conflict with ")
                .unwrap_or(&c.message);
            format!("{} ({})", c.field, who)
        })
        .collect();
    if causes.is_empty() {
        status.message.clone()
    } else {
        format!(
            "fields owned by other managers: {} (use --force-conflicts to take them over)",
            causes.join(", ")
        )
    }
}

/// `Some(field)` when the server rejected a change to an immutable field.
pub(crate) fn immutable_field(e: &kube::Error) -> Option<String> {
    let s = api_status(e)?;
    if s.code != 422 && s.reason != "Invalid" {
        return None;
    }
    for c in s.details.iter().flat_map(|d| &d.causes) {
        if c.message.contains("immutable") {
            return Some(c.field.clone());
        }
    }
    s.message.contains("immutable").then(|| {
        // "Deployment.apps \"web\" is invalid: spec.selector: Invalid value: ...: field is immutable"
        s.message
            .split(": ")
            .nth(1)
            .map(str::to_owned)
            .unwrap_or_else(|| "(unknown field)".into())
    })
}

fn wants_force_replace(obj: &Value) -> bool {
    obj["metadata"]["annotations"][crate::FORCE_ANNOTATION].as_str() == Some("enabled")
}

impl ClusterHandle {
    /// Resolve, normalise and check the objects of a unit.
    pub(crate) async fn prepare(&self, unit: &Unit) -> anyhow::Result<Vec<Desired>> {
        validate_name(&unit.name)?;
        let mut objects = Vec::with_capacity(unit.objects.len());
        for (i, obj) in unit.objects.iter().enumerate() {
            let mut obj = obj.clone();
            for t in &unit.transforms {
                let what = ObjectRef::of(&obj)
                    .map_or_else(|| format!("object #{}", i + 1), |r| r.to_string());
                obj = t
                    .transform(obj)
                    .with_context(|| format!("unit {}: transforming {what}", unit.name))?;
            }
            let oref = ObjectRef::of(&obj).ok_or_else(|| {
                anyhow::anyhow!(
                    "unit {}: object #{} has no apiVersion, kind or metadata.name",
                    unit.name,
                    i + 1
                )
            })?;
            objects.push((obj, oref));
        }
        let crds: Vec<Value> = objects
            .iter()
            .filter(|(o, _)| is_crd(o))
            .map(|(o, _)| o.clone())
            .collect();
        let mut map = self.resources().await?.with_crds(&crds);
        let unresolved = |map: &crate::discovery::ResourceMap| {
            objects
                .iter()
                .filter(|(_, r)| map.resolve(&r.group, &r.version, &r.kind).is_none())
                .map(|(_, r)| r.clone())
                .collect::<Vec<_>>()
        };
        if !unresolved(&map).is_empty() {
            // A CRD may have appeared since the cache was filled.
            map = self.refresh_resources().await?.with_crds(&crds);
            let missing = unresolved(&map);
            if !missing.is_empty() {
                let list: Vec<String> = missing
                    .iter()
                    .map(|r| format!("{r} (apiVersion {}, kind {})", r.api_version(), r.kind))
                    .collect();
                anyhow::bail!(
                    "unit {}: cluster {} does not serve the kind of {} and no CustomResourceDefinition in the unit defines it",
                    unit.name,
                    self.name(),
                    list.join(", ")
                );
            }
        }
        let default_ns = self.client().default_namespace().to_owned();
        let mut seen: HashMap<ObjectKey, usize> = HashMap::new();
        let mut desired = Vec::with_capacity(objects.len());
        for (i, (mut obj, mut oref)) in objects.into_iter().enumerate() {
            let Some(info) = map.resolve(&oref.group, &oref.version, &oref.kind).cloned() else {
                continue;
            };
            let meta = obj["metadata"]
                .as_object_mut()
                .ok_or_else(|| anyhow::anyhow!("{oref}: metadata is not a mapping"))?;
            if info.namespaced {
                let ns = oref.namespace.clone().unwrap_or_else(|| default_ns.clone());
                meta.insert("namespace".into(), Value::String(ns.clone()));
                oref.namespace = Some(ns);
            } else {
                meta.remove("namespace");
                oref.namespace = None;
            }
            let labels = meta
                .entry("labels")
                .or_insert_with(|| Value::Object(Default::default()));
            let Some(labels) = labels.as_object_mut() else {
                anyhow::bail!("{oref}: metadata.labels is not a mapping");
            };
            labels.insert(crate::UNIT_LABEL.into(), Value::String(unit.name.clone()));
            let key = ObjectKey::of(&oref);
            if let Some(first) = seen.insert(key.clone(), i) {
                anyhow::bail!(
                    "unit {}: {oref} appears twice (objects #{} and #{})",
                    unit.name,
                    first + 1,
                    i + 1
                );
            }
            let hash = hash_of(&obj);
            desired.push(Desired {
                stage: Stage::of(&oref.group, &oref.kind),
                obj,
                oref,
                key,
                info,
                hash,
            });
        }
        desired.sort_by(|a, b| {
            (a.stage, kind_rank(&a.oref.kind), &a.key).cmp(&(
                b.stage,
                kind_rank(&b.oref.kind),
                &b.key,
            ))
        });
        Ok(desired)
    }

    /// Read the live state of each desired object (`None`: absent).
    pub(crate) async fn fetch_live(
        &self,
        desired: &[Desired],
    ) -> anyhow::Result<Vec<Option<Value>>> {
        let mut groups: BTreeMap<(String, String, String, String), Vec<usize>> = BTreeMap::new();
        for (i, d) in desired.iter().enumerate() {
            if d.info.pending_crd {
                continue;
            }
            groups
                .entry((
                    d.info.group.clone(),
                    d.info.version.clone(),
                    d.info.plural.clone(),
                    d.key.namespace.clone(),
                ))
                .or_default()
                .push(i);
        }
        let mut live: Vec<Option<Value>> = vec![None; desired.len()];
        let mut singles = Vec::new();
        for ((_, _, _, ns), members) in groups {
            if members.len() < LIST_THRESHOLD {
                singles.extend(members);
                continue;
            }
            let d0 = &desired[members[0]];
            let ns = (!ns.is_empty()).then_some(ns.as_str());
            let items = self.list(&d0.info, ns, None).await.with_context(|| {
                format!(
                    "cluster {}: listing {} in {}",
                    self.name(),
                    d0.info.plural,
                    ns.unwrap_or("the cluster")
                )
            })?;
            let by_name: HashMap<&str, &Value> = items
                .iter()
                .filter_map(|o| Some((o["metadata"]["name"].as_str()?, o)))
                .collect();
            for i in members {
                live[i] = by_name.get(desired[i].key.name.as_str()).map(|v| {
                    // List items come without apiVersion and kind.
                    let mut v = (*v).clone();
                    if let Some(m) = v.as_object_mut() {
                        m.insert(
                            "apiVersion".into(),
                            Value::String(desired[i].info.api_version()),
                        );
                        m.insert("kind".into(), Value::String(desired[i].info.kind.clone()));
                    }
                    v
                });
            }
        }
        let fetched: Vec<(usize, Option<Value>)> = stream::iter(singles)
            .map(|i| async move {
                let d = &desired[i];
                let ns = (!d.key.namespace.is_empty()).then_some(d.key.namespace.as_str());
                self.get(&d.info, ns, &d.key.name)
                    .await
                    .map(|v| (i, v))
                    .with_context(|| format!("cluster {}: reading {}", self.name(), d.oref))
            })
            .buffer_unordered(self.concurrency)
            .try_collect()
            .await?;
        for (i, v) in fetched {
            live[i] = v;
        }
        Ok(live)
    }

    /// Plan applying `unit`: read live state and the inventory, decide each
    /// object's action. Sends no writes (dry-run applies only where needed).
    pub async fn plan(&self, unit: &Unit, opts: &PlanOptions) -> anyhow::Result<Plan> {
        let desired = self.prepare(unit).await?;
        let stored = self.read_inventory(&unit.name).await?;
        let owned = stored.as_ref().map_or(0, |s| s.inventory.len());
        if opts.prune && desired.is_empty() && owned > 0 && !opts.allow_empty {
            return Err(EmptyUnitGuard {
                unit: unit.name.clone(),
                cluster: self.name().to_owned(),
                owned,
            }
            .into());
        }
        let live = self.fetch_live(&desired).await?;
        let inventory = stored.as_ref().map(|s| &s.inventory);
        let desired_ref = &desired;
        let changes: Vec<Change> = stream::iter(live.into_iter().enumerate())
            .map(move |(i, live): (usize, Option<Value>)| async move {
                let d = &desired_ref[i];
                let recorded_hash = inventory
                    .and_then(|inv| inv.entries.get(&d.key))
                    .map(String::as_str);
                self.decide(i, d, live, recorded_hash, opts).await
            })
            .buffered(self.concurrency)
            .collect()
            .await;
        let mut plan = Plan {
            unit: unit.name.clone(),
            cluster: self.name().to_owned(),
            revision: unit.revision.clone(),
            summary: Summary::default(),
            changes,
            desired,
            stored,
        };
        if opts.prune {
            let prunes = self.plan_prune(&plan).await?;
            plan.changes.extend(prunes);
        }
        plan.summarise();
        Ok(plan)
    }

    async fn decide(
        &self,
        index: usize,
        d: &Desired,
        live: Option<Value>,
        recorded_hash: Option<&str>,
        opts: &PlanOptions,
    ) -> Change {
        let mut change = Change {
            object: d.oref.to_string(),
            api_version: d.oref.api_version(),
            kind: d.oref.kind.clone(),
            namespace: d.oref.namespace.clone(),
            name: d.oref.name.clone(),
            action: Action::Unchanged,
            stage: d.stage,
            drift: false,
            diff: None,
            reason: None,
            desired: Some(index),
            force: opts.force_conflicts,
            key: d.key.clone(),
            info: Some(d.info.clone()),
        };
        let Some(live) = live else {
            change.action = Action::Create;
            change.diff = Some(render::create_text(&d.obj));
            return change;
        };
        if let Some(other) = live["metadata"]["labels"][crate::UNIT_LABEL].as_str()
            && other
                != d.obj["metadata"]["labels"][crate::UNIT_LABEL]
                    .as_str()
                    .unwrap_or_default()
            && !opts.force_conflicts
        {
            // Two units claiming one object would flip it back and forth.
            change.action = Action::Conflict;
            change.reason = Some(format!(
                "owned by unit {other} (use --force-conflicts to move it to this unit)"
            ));
            return change;
        }
        if live["metadata"]["deletionTimestamp"].is_string() {
            // Applying to an object being deleted would be lost (or, for a
            // namespace, refused): wait until it is gone, then create it.
            change.action = Action::Replace;
            change.reason = Some("being deleted: recreate once it is gone".into());
            change.diff = Some(render::create_text(&d.obj));
            return change;
        }
        match compare(&d.obj, &live) {
            Verdict::Same => return change,
            Verdict::Unsure(why) => {
                tracing::debug!(object = %d.oref, %why, "confirming with a dry-run apply")
            }
        }
        let in_inventory = recorded_hash.is_some();
        let mut result = self
            .apply_object(&d.info, &d.obj, opts.force_conflicts, true)
            .await;
        if let Err(e) = &result
            && let Some(status) = api_status(e)
            && status.is_conflict()
            && !opts.force_conflicts
        {
            // Fields flotilla applied before and someone changed with an
            // imperative update (kubectl edit/patch/scale): that is drift,
            // and correcting it is what flotilla is for. Fields another
            // *applier* owns stay a conflict unless forced.
            let managers = conflict_managers(status);
            let operations: HashMap<&str, &str> = live["metadata"]["managedFields"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| Some((e["manager"].as_str()?, e["operation"].as_str()?)))
                .collect();
            let only_updates = !managers.is_empty()
                && managers
                    .iter()
                    .all(|m| operations.get(m.as_str()).is_some_and(|op| *op == "Update"));
            if in_inventory && only_updates {
                change.force = true;
                change.drift = true;
                result = self.apply_object(&d.info, &d.obj, true, true).await;
            } else {
                change.action = Action::Conflict;
                change.reason = Some(conflict_text(status));
                return change;
            }
        }
        match result {
            Ok(after) => {
                let mut live = live;
                let stripped_after = render::strip_server_fields(&after);
                let mut same_values = stripped_after == render::strip_server_fields(&live);
                let owned_same =
                    owned_fields(&after).is_some_and(|f| project(&after, f) == project(&live, f));
                if !same_values && owned_same {
                    // Only unowned parts differ (a controller annotating
                    // since the read, or a write-only field like Secret
                    // stringData): judge against a fresh read.
                    let ns = (!d.key.namespace.is_empty()).then_some(d.key.namespace.as_str());
                    if let Ok(Some(fresh)) = self.get(&d.info, ns, &d.key.name).await {
                        same_values = stripped_after == render::strip_server_fields(&fresh);
                        live = fresh;
                    }
                }
                // Taking over fields set by someone else is a write even when
                // no value changes; skipping it would leave flotilla unable
                // to remove those fields later, and re-checking every run.
                let same_ownership = owned_fields(&after) == owned_fields(&live);
                if same_values && same_ownership {
                    change.force = false;
                    change.drift = false;
                    return change;
                }
                change.action = Action::Update;
                change.drift = change.drift || recorded_hash == Some(d.hash.as_str());
                if same_values {
                    change.reason =
                        Some("flotilla takes ownership of fields; no value changes".into());
                } else {
                    change.diff = Some(render::update_diff(&live, &after));
                }
            }
            Err(e) => {
                if let Some(field) = immutable_field(&e) {
                    if opts.force_replace || wants_force_replace(&d.obj) {
                        change.action = Action::Replace;
                        change.reason = Some(format!(
                            "immutable field {field} changes: delete and recreate"
                        ));
                        change.diff = Some(render::update_diff(&live, &d.obj));
                    } else {
                        change.action = Action::Invalid;
                        change.reason = Some(format!(
                            "immutable field {field} cannot be changed; annotate the object with {}: enabled or use --force to delete and recreate it",
                            crate::FORCE_ANNOTATION
                        ));
                    }
                } else {
                    change.action = Action::Invalid;
                    change.reason = Some(describe(&e));
                }
            }
        }
        change
    }

    /// Objects in the inventory that left the unit.
    async fn plan_prune(&self, plan: &Plan) -> anyhow::Result<Vec<Change>> {
        let Some(stored) = &plan.stored else {
            return Ok(Vec::new());
        };
        let keep: HashSet<&ObjectKey> = plan.desired.iter().map(|d| &d.key).collect();
        let map = self.resources().await?;
        let candidates: Vec<(ObjectKey, ResourceInfo)> = stored
            .inventory
            .entries
            .keys()
            .filter(|k| !keep.contains(k))
            // A kind no longer served cannot have objects left to delete.
            .filter_map(|k| {
                Some((
                    k.clone(),
                    map.resolve_group_kind(&k.group, &k.kind)?.clone(),
                ))
            })
            .collect();
        let unit = plan.unit.clone();
        let found: Vec<Option<Change>> = stream::iter(candidates)
            .map(|(key, info)| {
                let unit = unit.clone();
                async move {
                    let ns = (!key.namespace.is_empty()).then_some(key.namespace.as_str());
                    let live = self.get(&info, ns, &key.name).await.with_context(|| {
                        format!("cluster {}: reading {key} to prune it", self.name())
                    })?;
                    let Some(live) = live else {
                        return Ok::<_, anyhow::Error>(None);
                    };
                    let meta = &live["metadata"];
                    let (action, reason) = if meta["annotations"][crate::PRUNE_ANNOTATION].as_str()
                        == Some("disabled")
                    {
                        (
                            Action::Orphan,
                            Some(format!("{}: disabled", crate::PRUNE_ANNOTATION)),
                        )
                    } else if let Some(other) = meta["labels"][crate::UNIT_LABEL]
                        .as_str()
                        .filter(|o| *o != unit)
                    {
                        (Action::Orphan, Some(format!("now owned by unit {other}")))
                    } else if meta["deletionTimestamp"].is_string() {
                        (Action::Prune, Some("already being deleted".to_owned()))
                    } else {
                        (Action::Prune, None)
                    };
                    Ok(Some(Change {
                        object: key.to_string(),
                        api_version: info.api_version(),
                        kind: key.kind.clone(),
                        namespace: ns.map(str::to_owned),
                        name: key.name.clone(),
                        action,
                        stage: Stage::of(&key.group, &key.kind),
                        drift: false,
                        diff: None,
                        reason,
                        desired: None,
                        force: false,
                        key,
                        info: Some(info),
                    }))
                }
            })
            .buffer_unordered(self.concurrency)
            .try_collect()
            .await?;
        let mut prunes: Vec<Change> = found.into_iter().flatten().collect();
        prunes.sort_by(|a, b| {
            (a.stage, kind_rank(&a.kind), &a.key).cmp(&(b.stage, kind_rank(&b.kind), &b.key))
        });
        Ok(prunes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(
        code: u16,
        reason: &str,
        message: &str,
        causes: &[(&str, &str)],
    ) -> kube::core::Status {
        let mut s = kube::core::Status::failure(message, reason).with_code(code);
        s.details = Some(kube::core::response::StatusDetails {
            causes: causes
                .iter()
                .map(|(field, message)| kube::core::response::StatusCause {
                    reason: "FieldValueInvalid".into(),
                    message: (*message).into(),
                    field: (*field).into(),
                })
                .collect(),
            name: String::new(),
            group: String::new(),
            kind: String::new(),
            uid: String::new(),
            retry_after_seconds: 0,
        });
        s
    }

    #[test]
    fn conflicts_name_fields_and_managers() {
        let s = status(
            409,
            "Conflict",
            "Apply failed with 2 conflicts: conflict with \"kubectl-edit\" using apps/v1: .spec.replicas",
            &[
                (
                    ".spec.replicas",
                    "conflict with \"kubectl-edit\" using apps/v1",
                ),
                (".spec.paused", "conflict with \"helm\" using apps/v1"),
            ],
        );
        assert_eq!(
            conflict_managers(&s),
            vec!["kubectl-edit".to_owned(), "helm".to_owned()]
        );
        let t = conflict_text(&s);
        assert!(
            t.contains(".spec.replicas (\"kubectl-edit\" using apps/v1)"),
            "{t}"
        );
        assert!(t.contains("--force-conflicts"), "{t}");
    }

    #[test]
    fn immutable_fields_are_recognised() {
        let s = status(
            422,
            "Invalid",
            "Deployment.apps \"web\" is invalid: spec.selector: Invalid value: ...: field is immutable",
            &[("spec.selector", "Invalid value: ...: field is immutable")],
        );
        assert_eq!(
            immutable_field(&kube::Error::Api(s.boxed())).as_deref(),
            Some("spec.selector")
        );
        let s = status(
            422,
            "Invalid",
            "Job.batch \"j\" is invalid: spec.template: Invalid value: x: field is immutable",
            &[],
        );
        assert_eq!(
            immutable_field(&kube::Error::Api(s.boxed())).as_deref(),
            Some("spec.template")
        );
        let s = status(
            422,
            "Invalid",
            "spec.replicas: must be >= 0",
            &[("spec.replicas", "must be >= 0")],
        );
        assert_eq!(immutable_field(&kube::Error::Api(s.boxed())), None);
    }

    #[test]
    fn hashes_are_stable_and_short() {
        let a = serde_json::json!({"a": 1, "b": [1, 2]});
        assert_eq!(hash_of(&a), hash_of(&a.clone()));
        assert_eq!(hash_of(&a).len(), 16);
        assert_ne!(
            hash_of(&a),
            hash_of(&serde_json::json!({"a": 2, "b": [1, 2]}))
        );
    }

    #[test]
    fn text_plan_lists_changes_and_summary() {
        let change = |object: &str, action: Action, diff: Option<&str>| Change {
            object: object.into(),
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: Some("a".into()),
            name: "x".into(),
            action,
            stage: Stage::Resources,
            drift: action == Action::Update,
            diff: diff.map(str::to_owned),
            reason: None,
            desired: None,
            force: false,
            key: ObjectKey::decode("/ConfigMap/a/x").unwrap(),
            info: None,
        };
        let mut plan = Plan {
            unit: "shop".into(),
            cluster: "c1".into(),
            revision: None,
            summary: Summary::default(),
            changes: vec![
                change("ConfigMap/a/new", Action::Create, Some("kind: ConfigMap\n")),
                change(
                    "ConfigMap/a/upd",
                    Action::Update,
                    Some("--- live\n+++ desired\n-a\n+b\n"),
                ),
                change("ConfigMap/a/same", Action::Unchanged, None),
                change("ConfigMap/a/old", Action::Prune, None),
            ],
            desired: vec![],
            stored: None,
        };
        plan.summarise();
        let text = plan.render_text(false);
        assert!(
            text.contains("+ create ConfigMap/a/new\n    kind: ConfigMap\n"),
            "{text}"
        );
        assert!(
            text.contains("~ update ConfigMap/a/upd (drift)\n--- live"),
            "{text}"
        );
        assert!(text.contains("- prune ConfigMap/a/old"), "{text}");
        assert!(!text.contains("same"), "{text}");
        assert!(
            text.contains(
                "1 to create, 1 to update, 0 to replace, 1 to prune, 1 unchanged, 1 drifted"
            ),
            "{text}"
        );
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(json["summary"]["create"], 1);
        assert_eq!(json["changes"][1]["action"], "update");
        assert_eq!(json["changes"][1]["drift"], true);
        assert!(json["changes"][0].get("desired").is_none());
        assert!(plan.has_changes());
    }
}
