//! The desired state of each cluster: which units go there, rendered, in
//! `dependsOn` order. Fleet-file units are targeted by label; a cluster's
//! Flux directory adds the units its Flux `Kustomization`s describe,
//! recursively. Renders are shared across clusters through [`RenderCache`].

use crate::config::{ClusterSpec, Fleet, ObjectDep, ROOT_SOURCE, Renderer, parse_duration};
use crate::flux::{self, FluxKustomization};
use crate::render::{Decryptor, RenderCache, RenderSpec, Substitution};
use flotilla_health::CustomRules;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// The unit holding the plain objects of a Flux cluster directory when no
/// Flux Kustomization points at the directory itself.
pub const FLUX_ROOT_UNIT: &str = "cluster-root";

/// One unit as it goes to one cluster.
#[derive(Clone)]
pub struct DesiredUnit {
    pub name: String,
    /// Where it was declared, for messages.
    pub origin: String,
    pub dir: PathBuf,
    pub revision: Option<String>,
    /// The rendered objects, or why there are none.
    pub objects: Result<Arc<Vec<Value>>, String>,
    pub depends_on: Vec<String>,
    /// Objects that must be healthy before the unit applies.
    pub wait_for: Vec<ObjectDep>,
    /// Objects that must be healthy after it applied (Flux `healthChecks`).
    pub health_checks: Vec<ObjectDep>,
    pub wait: bool,
    pub timeout: Duration,
    pub prune: bool,
    pub rules: Option<Arc<CustomRules>>,
    pub suspend: bool,
}

impl std::fmt::Debug for DesiredUnit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DesiredUnit")
            .field("name", &self.name)
            .field("origin", &self.origin)
            .field("objects", &self.objects.as_ref().map(|o| o.len()))
            .field("depends_on", &self.depends_on)
            .finish()
    }
}

/// Everything one cluster should run.
#[derive(Clone, Debug)]
pub struct ClusterDesired {
    pub cluster: ClusterSpec,
    /// In dependency order.
    pub units: Vec<DesiredUnit>,
    /// A problem with the cluster's units as a whole (a cycle, a name clash).
    pub error: Option<String>,
}

/// A resolved source: its directory and revision.
#[derive(Clone, Debug)]
struct SourceRoot {
    dir: PathBuf,
    revision: Option<String>,
}

/// Resolve and render the desired state of `clusters`.
pub fn resolve(
    fleet: &Fleet,
    clusters: &[&ClusterSpec],
    cache: &RenderCache,
) -> Vec<ClusterDesired> {
    let mut sources: HashMap<String, Result<SourceRoot, String>> = HashMap::new();
    let mut source = |name: &str| -> Result<SourceRoot, String> {
        sources
            .entry(name.to_owned())
            .or_insert_with(|| source_root(fleet, name))
            .clone()
    };
    let keys = Decryptor::new(fleet);
    clusters
        .iter()
        .map(|c| resolve_cluster(fleet, c, cache, &keys, &mut source))
        .collect()
}

fn resolve_cluster(
    fleet: &Fleet,
    cluster: &ClusterSpec,
    cache: &RenderCache,
    keys: &Decryptor,
    source: &mut dyn FnMut(&str) -> Result<SourceRoot, String>,
) -> ClusterDesired {
    let cvars = cluster_variables(cluster);
    let mut units: Vec<DesiredUnit> = Vec::new();
    // Objects found in Git on this cluster, for `substituteFrom`.
    let mut pool: Vec<Value> = Vec::new();
    let mut deferred = Vec::new();
    for spec in &fleet.units {
        let Some(target) = spec.target_for(cluster) else {
            continue;
        };
        if !spec.substitute_from.is_empty() {
            deferred.push((spec, target));
            continue;
        }
        let u = fleet_unit(fleet, spec, target, &cvars, &pool, cache, keys, source);
        if let Ok(objs) = &u.objects {
            pool.extend(objs.iter().cloned());
        }
        units.push(u);
    }
    if cluster.flux_path.is_some() {
        flux_units(
            fleet, cluster, &cvars, &mut pool, &mut units, cache, keys, source,
        );
    }
    for (spec, target) in deferred {
        let u = fleet_unit(fleet, spec, target, &cvars, &pool, cache, keys, source);
        units.push(u);
    }
    order_units(cluster, units)
}

fn order_units(cluster: &ClusterSpec, units: Vec<DesiredUnit>) -> ClusterDesired {
    let mut seen = BTreeMap::new();
    for u in &units {
        if let Some(prev) = seen.insert(u.name.clone(), u.origin.clone()) {
            return ClusterDesired {
                cluster: cluster.clone(),
                error: Some(format!(
                    "cluster {}: unit name {} is used twice ({prev}; {})",
                    cluster.name, u.name, u.origin
                )),
                units,
            };
        }
    }
    let graph: Vec<(String, Vec<String>)> = units
        .iter()
        .map(|u| {
            let deps = u
                .depends_on
                .iter()
                .filter(|d| seen.contains_key(*d))
                .cloned()
                .collect();
            (u.name.clone(), deps)
        })
        .collect();
    match crate::dag::order(&graph) {
        Ok(order) => {
            let mut by_name: BTreeMap<String, DesiredUnit> =
                units.into_iter().map(|u| (u.name.clone(), u)).collect();
            let mut ordered: Vec<DesiredUnit> =
                order.iter().filter_map(|n| by_name.remove(n)).collect();
            // Dependencies that are not on this cluster: Flux ones are
            // errors (Flux would wait forever); fleet ones are dropped.
            for u in &mut ordered {
                if u.origin.starts_with("Flux")
                    && let Some(missing) = u.depends_on.iter().find(|d| !seen.contains_key(*d))
                {
                    u.objects = Err(format!(
                        "depends on {missing}, which is not a unit on this cluster"
                    ));
                }
                u.depends_on.retain(|d| seen.contains_key(d));
            }
            ClusterDesired {
                cluster: cluster.clone(),
                units: ordered,
                error: None,
            }
        }
        Err(e) => ClusterDesired {
            cluster: cluster.clone(),
            error: Some(format!("cluster {}: {e}", cluster.name)),
            units,
        },
    }
}

/// Variables every unit on a cluster can use: `cluster_name`, one
/// `cluster_<label>` per label (non-alphanumerics as `_`), and the cluster's
/// declared variables.
pub fn cluster_variables(cluster: &ClusterSpec) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    vars.insert("cluster_name".to_owned(), cluster.name.clone());
    for (k, v) in &cluster.labels {
        let key: String = k
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        vars.insert(format!("cluster_{key}"), v.clone());
    }
    vars.extend(cluster.variables.clone());
    vars
}

#[allow(clippy::too_many_arguments)]
fn fleet_unit(
    fleet: &Fleet,
    spec: &crate::config::UnitSpec,
    target: Option<&crate::config::TargetSpec>,
    cvars: &BTreeMap<String, String>,
    pool: &[Value],
    cache: &RenderCache,
    keys: &Decryptor,
    source: &mut dyn FnMut(&str) -> Result<SourceRoot, String>,
) -> DesiredUnit {
    let path = target
        .and_then(|t| t.path.clone())
        .unwrap_or_else(|| spec.path.clone());
    let source_name = spec.source.as_deref().unwrap_or(ROOT_SOURCE);
    let origin = format!("unit {} in {}", spec.name, fleet.file.display());
    let mut unit = DesiredUnit {
        name: spec.name.clone(),
        origin,
        dir: PathBuf::from(&path),
        revision: None,
        objects: Err(String::new()),
        depends_on: spec.unit_dependencies(),
        wait_for: spec.object_dependencies(),
        health_checks: vec![],
        wait: spec.wait.unwrap_or(true),
        timeout: spec
            .timeout
            .as_deref()
            .and_then(|t| parse_duration(t).ok())
            .unwrap_or(DEFAULT_TIMEOUT),
        prune: spec.prune.unwrap_or(true),
        rules: None,
        suspend: spec.suspend,
    };
    let root = match source(source_name) {
        Ok(r) => r,
        Err(e) => {
            unit.objects = Err(e);
            return unit;
        }
    };
    unit.dir = root.dir.join(&path);
    unit.revision = root.revision.clone();
    let target_vars = target.map(|t| t.variables.clone()).unwrap_or_default();
    let enabled = spec.substitute.unwrap_or(
        !spec.variables.is_empty() || !target_vars.is_empty() || !spec.substitute_from.is_empty(),
    );
    let substitution = if enabled {
        let mut vars = cvars.clone();
        for r in &spec.substitute_from {
            match lookup_vars(pool, &r.kind, &r.name, r.optional) {
                Ok(v) => vars.extend(v),
                Err(e) => {
                    unit.objects = Err(e);
                    return unit;
                }
            }
        }
        vars.extend(spec.variables.clone());
        vars.extend(target_vars);
        Some(Substitution {
            variables: vars,
            strict: spec.strict,
        })
    } else {
        None
    };
    let render_spec = RenderSpec {
        dir: unit.dir.clone(),
        renderer: spec.renderer,
        target_namespace: spec.target_namespace.clone(),
        name_prefix: spec.name_prefix.clone(),
        substitution,
        // SOPS-encrypted files are decrypted as they are read.
        decrypt: true,
        ..Default::default()
    };
    unit.objects = rendered(cache, &render_spec, keys).and_then(|objs| match encrypted(&objs) {
        Some(o) => Err(format!("{o} is still SOPS-encrypted after the build")),
        None => Ok(objs),
    });
    unit
}

fn rendered(
    cache: &RenderCache,
    spec: &RenderSpec,
    keys: &Decryptor,
) -> Result<Arc<Vec<Value>>, String> {
    match cache.render(spec, keys).as_ref() {
        Ok(objs) => Ok(Arc::new(objs.clone())),
        Err(e) => Err(e.clone()),
    }
}

/// Variables from a ConfigMap/Secret found in Git on this cluster.
fn lookup_vars(
    pool: &[Value],
    kind: &str,
    name: &str,
    optional: bool,
) -> Result<BTreeMap<String, String>, String> {
    match pool
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
    {
        Some(obj) => flux::variables_of(obj),
        None if optional => Ok(BTreeMap::new()),
        None => Err(format!(
            "substituteFrom: {kind} {name} not found in the repository's objects for this cluster"
        )),
    }
}

#[allow(clippy::too_many_arguments)]
/// Walk a cluster's Flux directory: every Flux Kustomization found becomes a
/// unit, and the Kustomizations its path renders are walked in turn.
fn flux_units(
    fleet: &Fleet,
    cluster: &ClusterSpec,
    cvars: &BTreeMap<String, String>,
    pool: &mut Vec<Value>,
    units: &mut Vec<DesiredUnit>,
    cache: &RenderCache,
    keys: &Decryptor,
    source: &mut dyn FnMut(&str) -> Result<SourceRoot, String>,
) {
    let flux_path = cluster.flux_path.clone().unwrap_or_default();
    let root_source = cluster
        .flux_source
        .clone()
        .unwrap_or_else(|| ROOT_SOURCE.to_owned());
    let origin_root = format!("Flux directory {flux_path} of cluster {}", cluster.name);
    let root = match source(&root_source) {
        Ok(r) => r,
        Err(e) => {
            units.push(error_unit(FLUX_ROOT_UNIT, &origin_root, e));
            return;
        }
    };
    let root_dir = normalise(&root.dir.join(&flux_path));
    let root_render = rendered(
        cache,
        &RenderSpec {
            dir: root_dir.clone(),
            ..Default::default()
        },
        keys,
    );
    let root_objects = match root_render {
        Ok(o) => o,
        Err(e) => {
            units.push(error_unit(FLUX_ROOT_UNIT, &origin_root, e));
            return;
        }
    };
    let (mut queue, plain, helm): (VecDeque<Value>, Vec<Value>, Option<String>) =
        split(&root_objects);
    // Flux GitRepository objects found along the way, fetchable as sources.
    let mut repos: BTreeMap<String, crate::config::GitSpec> = BTreeMap::new();
    let mut repo_roots: HashMap<String, Result<SourceRoot, String>> = HashMap::new();
    collect_git_repositories(&root_objects, &mut repos);
    pool.extend(plain.iter().cloned());
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut root_claimed = false;
    while let Some(obj) = queue.pop_front() {
        let k = match FluxKustomization::parse(&obj) {
            Ok(k) => k,
            Err(e) => {
                let name = obj["metadata"]["name"]
                    .as_str()
                    .unwrap_or("unnamed")
                    .to_owned();
                units.push(error_unit(&name, &origin_root, e));
                continue;
            }
        };
        if !seen.insert(k.id()) {
            continue;
        }
        let origin = format!("Flux Kustomization {} (cluster {})", k.id(), cluster.name);
        let mut unit = DesiredUnit {
            name: k.name.clone(),
            origin,
            dir: PathBuf::new(),
            revision: None,
            objects: Err(String::new()),
            depends_on: k.spec.depends_on.iter().map(|d| d.name.clone()).collect(),
            wait_for: vec![],
            health_checks: vec![],
            wait: k.spec.wait || !k.spec.health_checks.is_empty(),
            timeout: k
                .spec
                .timeout
                .as_deref()
                .or(k.spec.interval.as_deref())
                .and_then(|t| parse_duration(t).ok())
                .unwrap_or(DEFAULT_TIMEOUT),
            prune: k.spec.prune,
            rules: None,
            suspend: k.spec.suspend,
        };
        if let Err(e) = flotilla_engine::unit::validate_name(&k.name) {
            unit.objects = Err(format!("{e:#}"));
            units.push(unit);
            continue;
        }
        match k
            .spec
            .health_checks
            .iter()
            .map(|h| serde_json::from_value::<ObjectDep>(h.clone()))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(checks) => unit.health_checks = checks,
            Err(e) => {
                unit.objects = Err(format!("Flux Kustomization {}: healthChecks: {e}", k.id()));
                units.push(unit);
                continue;
            }
        }
        if !k.spec.health_check_exprs.is_empty() {
            match CustomRules::new(&k.spec.health_check_exprs) {
                Ok(r) => unit.rules = Some(Arc::new(r)),
                Err(e) => {
                    unit.objects = Err(format!("healthCheckExprs: {e}"));
                    units.push(unit);
                    continue;
                }
            }
        }
        let found = match flux_source(fleet, &k, &root_source) {
            Ok(s) => source(&s),
            Err(e) => match k
                .spec
                .source_ref
                .as_ref()
                .and_then(|r| repos.get(&r.name).map(|g| (r, g)))
            {
                // A GitRepository from the repository itself: fetched as Flux would.
                Some((r, g)) => repo_roots
                    .entry(r.name.clone())
                    .or_insert_with(|| {
                        git_source_root(fleet, &format!("GitRepository {}", r.name), g)
                    })
                    .clone(),
                None => Err(e),
            },
        };
        let sroot = match found {
            Ok(r) => r,
            Err(e) => {
                unit.objects = Err(e);
                units.push(unit);
                continue;
            }
        };
        unit.revision = sroot.revision.clone();
        let path = k.spec.path.clone().unwrap_or_else(|| "./".into());
        unit.dir = normalise(&sroot.dir.join(path.trim_start_matches("./")));
        let substitution = k.spec.post_build.as_ref().map(|pb| {
            let mut vars = cvars.clone();
            let mut problem = None;
            for r in &pb.substitute_from {
                match lookup_vars(pool, &r.kind, &r.name, r.optional) {
                    Ok(v) => vars.extend(v),
                    Err(e) => problem = Some(e),
                }
            }
            vars.extend(pb.substitute.clone());
            (
                Substitution {
                    variables: vars,
                    strict: false,
                },
                problem,
            )
        });
        if let Some((_, Some(problem))) = &substitution {
            unit.objects = Err(problem.clone());
            units.push(unit);
            continue;
        }
        let spec = RenderSpec {
            dir: unit.dir.clone(),
            renderer: Renderer::Auto,
            target_namespace: k.spec.target_namespace.clone(),
            name_prefix: k.spec.name_prefix.clone(),
            patches: k.spec.patches.clone(),
            images: k.spec.images.clone(),
            substitution: substitution.map(|(s, _)| s),
            decrypt: k
                .spec
                .decryption
                .as_ref()
                .is_some_and(|d| d["provider"] == "sops"),
        };
        let objects = match rendered(cache, &spec, keys) {
            Ok(o) => o,
            Err(e) => {
                unit.objects = Err(e);
                units.push(unit);
                continue;
            }
        };
        if unit.dir == root_dir {
            root_claimed = true;
        }
        let (nested, plain, helm) = split(&objects);
        collect_git_repositories(&objects, &mut repos);
        queue.extend(nested);
        unit.objects = if let Some(h) = helm {
            Err(h)
        } else if let Some(enc) = encrypted(&plain) {
            Err(format!(
                "{enc} is SOPS-encrypted but Flux Kustomization {} sets no spec.decryption (provider: sops)",
                k.id()
            ))
        } else {
            Ok(Arc::new(plain.clone()))
        };
        pool.extend(plain);
        units.push(unit);
    }
    if !root_claimed && (!plain.is_empty() || helm.is_some()) {
        let mut u = error_unit(FLUX_ROOT_UNIT, &origin_root, String::new());
        u.dir = root_dir;
        u.revision = root.revision;
        u.prune = true;
        u.objects = match helm {
            Some(h) => Err(h),
            None => Ok(Arc::new(plain)),
        };
        units.push(u);
    }
}

/// Flux `GitRepository` objects: name -> URL and ref (Flux's default ref is
/// branch `master`). Credentials (`secretRef`) live in clusters and are not read.
fn collect_git_repositories(
    objects: &[Value],
    repos: &mut BTreeMap<String, crate::config::GitSpec>,
) {
    for o in objects {
        if flux::group_of(o) != flux::SOURCE_GROUP || o["kind"] != "GitRepository" {
            continue;
        }
        let (Some(name), Some(url)) = (o["metadata"]["name"].as_str(), o["spec"]["url"].as_str())
        else {
            continue;
        };
        let r = &o["spec"]["ref"];
        let text = |k: &str| r[k].as_str().map(str::to_owned);
        let mut spec = crate::config::GitSpec {
            url: url.to_owned(),
            branch: text("branch"),
            tag: text("tag"),
            semver: text("semver"),
            commit: text("commit"),
            auth: None,
        };
        if [&spec.branch, &spec.tag, &spec.semver, &spec.commit]
            .iter()
            .all(|p| p.is_none())
        {
            spec.branch = Some("master".into());
        }
        repos.entry(name.to_owned()).or_insert(spec);
    }
}

/// Flux Kustomizations to walk, plain objects to apply, a Helm refusal.
fn split(objects: &[Value]) -> (VecDeque<Value>, Vec<Value>, Option<String>) {
    let mut kustomizations = VecDeque::new();
    let mut plain = Vec::new();
    let mut flux_other = Vec::new();
    for o in objects {
        if flux::is_flux_object(o) {
            if flux::group_of(o) == flux::KUSTOMIZE_GROUP && o["kind"] == "Kustomization" {
                kustomizations.push_back(o.clone());
            } else {
                flux_other.push(o);
            }
        } else {
            plain.push(o.clone());
        }
    }
    (kustomizations, plain, flux::helm_refusal(&flux_other))
}

/// The first object still carrying SOPS metadata.
fn encrypted(objects: &[Value]) -> Option<String> {
    objects.iter().find(|o| o.get("sops").is_some()).map(|o| {
        flotilla_model::ObjectRef::of(o)
            .map(|r| r.to_string())
            .unwrap_or_else(|| "an object".into())
    })
}

/// Which fleet source a Flux Kustomization's `sourceRef` names: a source
/// listing the name in `fluxNames`, a source of that name, or the cluster
/// directory's own source (the `flux-system` bootstrap layout).
fn flux_source(fleet: &Fleet, k: &FluxKustomization, root_source: &str) -> Result<String, String> {
    let Some(r) = &k.spec.source_ref else {
        return Ok(root_source.to_owned());
    };
    if !r.kind.is_empty() && r.kind != "GitRepository" {
        return Err(format!(
            "Flux Kustomization {}: sourceRef kind {} is not supported yet (GitRepository only)",
            k.id(),
            r.kind
        ));
    }
    if let Some(s) = fleet
        .sources
        .iter()
        .find(|s| s.flux_names.contains(&r.name))
    {
        return Ok(s.name.clone());
    }
    if fleet.sources.iter().any(|s| s.name == r.name) {
        return Ok(r.name.clone());
    }
    if r.name == "flux-system" {
        return Ok(root_source.to_owned());
    }
    Err(format!(
        "Flux Kustomization {}: GitRepository {} is neither in the repository nor mapped to a fleet source (add it to a source's fluxNames)",
        k.id(),
        r.name
    ))
}

fn error_unit(name: &str, origin: &str, e: String) -> DesiredUnit {
    DesiredUnit {
        name: name.to_owned(),
        origin: origin.to_owned(),
        dir: PathBuf::new(),
        revision: None,
        objects: Err(e),
        depends_on: vec![],
        wait_for: vec![],
        health_checks: vec![],
        wait: false,
        timeout: DEFAULT_TIMEOUT,
        prune: false,
        rules: None,
        suspend: false,
    }
}

/// Remove `.` and `..` components without touching the disk.
fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn source_root(fleet: &Fleet, name: &str) -> Result<SourceRoot, String> {
    let spec = fleet.source(name).map_err(|e| format!("{e:#}"))?;
    if let Some(g) = &spec.git {
        return git_source_root(fleet, name, g);
    }
    let dir = fleet
        .resolve_path(spec.path.as_deref().unwrap_or("."))
        .map_err(|e| format!("source {name}: {e:#}"))?;
    let dir = std::fs::canonicalize(&dir)
        .map_err(|e| format!("source {name}: {}: {e}", dir.display()))?;
    // A work tree's checked-out commit, else a digest of the directory's content.
    let revision = git_revision(&dir).or_else(|| {
        flotilla_source::SourceCache::new(flotilla_source::SourceCache::default_dir())
            .local(&dir)
            .ok()
            .map(|c| c.revision)
    });
    Ok(SourceRoot { revision, dir })
}

/// Fetch a Git source into the content-addressed cache (`$FLOTILLA_CACHE_DIR`,
/// else `~/.cache/flotilla`), shallowly, at its pin (default: branch `main`).
fn git_source_root(
    fleet: &Fleet,
    name: &str,
    g: &crate::config::GitSpec,
) -> Result<SourceRoot, String> {
    use flotilla_source::{GitAuth, GitSource, Pin, SourceCache};
    let pin = if let Some(c) = &g.commit {
        Pin::Commit(c.clone())
    } else if let Some(t) = &g.tag {
        Pin::Tag(t.clone())
    } else if let Some(r) = &g.semver {
        Pin::Semver(r.clone())
    } else {
        Pin::Branch(g.branch.clone().unwrap_or_else(|| "main".into()))
    };
    let mut source = GitSource::new(g.url.clone(), pin);
    if let Some(a) = &g.auth {
        let env = |var: &Option<String>, what: &str| -> Result<String, String> {
            let var = var
                .as_deref()
                .ok_or_else(|| format!("source {name}: auth needs {what}"))?;
            std::env::var(var)
                .map_err(|_| format!("source {name}: environment variable {var} is not set"))
        };
        if let Some(key) = &a.ssh_key_file {
            let path = |p: &str| {
                fleet
                    .resolve_path(p)
                    .map_err(|e| format!("source {name}: {e:#}"))
            };
            source = source.with_auth(GitAuth::SshKey {
                private_key: path(key)?,
                known_hosts: a.known_hosts_file.as_deref().map(path).transpose()?,
            });
        } else {
            source = source.with_auth(GitAuth::Basic {
                username: env(&a.username_env, "usernameEnv")?,
                password: env(&a.password_env, "passwordEnv")?,
            });
        }
    }
    // gix's blocking transport must not run on an async runtime's thread.
    let fetched = std::thread::scope(|scope| {
        scope
            .spawn(|| SourceCache::new(SourceCache::default_dir()).fetch(&source))
            .join()
    });
    match fetched {
        Ok(Ok(checkout)) => Ok(SourceRoot {
            dir: checkout.path,
            revision: Some(checkout.revision),
        }),
        Ok(Err(e)) => Err(format!("source {name}: {e}")),
        Err(_) => Err(format!("source {name}: the fetch failed unexpectedly")),
    }
}

/// The checked-out commit of the Git work tree holding `dir`, in Flux's
/// revision format (`main@sha1:…`), read from `.git` directly.
pub fn git_revision(dir: &Path) -> Option<String> {
    let mut at = Some(dir);
    let git_dir = loop {
        let d = at?;
        let candidate = d.join(".git");
        if candidate.is_dir() {
            break candidate;
        }
        at = d.parent();
    };
    let head = std::fs::read_to_string(git_dir.join("HEAD")).ok()?;
    let head = head.trim();
    if let Some(reference) = head.strip_prefix("ref: ") {
        let branch = reference.rsplit('/').next().unwrap_or(reference);
        let sha = std::fs::read_to_string(git_dir.join(reference))
            .ok()
            .map(|s| s.trim().to_owned())
            .or_else(|| {
                let packed = std::fs::read_to_string(git_dir.join("packed-refs")).ok()?;
                packed.lines().find_map(|l| {
                    let (sha, name) = l.split_once(' ')?;
                    (name == reference).then(|| sha.to_owned())
                })
            })?;
        Some(format!("{branch}@sha1:{sha}"))
    } else {
        Some(format!("sha1:{head}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn cm(name: &str) -> String {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: default\ndata:\n  env: \"${{cluster_env:=none}}\"\n"
        )
    }

    fn ks(name: &str, path: &str, deps: &[&str]) -> String {
        let deps: Vec<String> = deps.iter().map(|d| format!("{{name: {d}}}")).collect();
        format!(
            "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: {path}\n  prune: true\n  sourceRef: {{kind: GitRepository, name: flux-system}}\n  dependsOn: [{}]\n  postBuild:\n    substitute: {{}}\n",
            deps.join(", ")
        )
    }

    #[test]
    fn fleet_units_target_and_substitute_cluster_metadata() {
        let t = tempfile::tempdir().unwrap();
        write(t.path(), "apps/base/cm.yaml", &cm("web"));
        write(
            t.path(),
            "apps/base/kustomization.yaml",
            "resources: [cm.yaml]\n",
        );
        write(
            t.path(),
            "apps/prod/kustomization.yaml",
            "resources: [../base]\nnamePrefix: prod-\n",
        );
        write(
            t.path(),
            "flotilla.yaml",
            "apiVersion: flotilla.dev/v1alpha1\nkind: Fleet\nclusters:\n\
             - {name: a, labels: {env: staging}, kubeconfig: {path: k}}\n\
             - {name: b, labels: {env: production}, kubeconfig: {path: k}}\n\
             units:\n- name: web\n  path: apps/base\n  substitute: true\n  targets:\n  - selector: env=staging\n  - selector: env=production\n    path: apps/prod\n",
        );
        let fleet = Fleet::load(&t.path().join("flotilla.yaml")).unwrap();
        let cache = RenderCache::default();
        let all: Vec<_> = fleet.clusters.iter().collect();
        let desired = resolve(&fleet, &all, &cache);
        let a = desired[0].units[0].objects.as_ref().unwrap();
        let b = desired[1].units[0].objects.as_ref().unwrap();
        assert_eq!(a[0]["metadata"]["name"], "web");
        assert_eq!(a[0]["data"]["env"], "staging");
        assert_eq!(b[0]["metadata"]["name"], "prod-web");
        assert_eq!(b[0]["data"]["env"], "production");
    }

    #[test]
    fn flux_directories_become_units_recursively() {
        let t = tempfile::tempdir().unwrap();
        write(
            t.path(),
            "clusters/prod/infra.yaml",
            &ks("infra", "./infrastructure", &[]),
        );
        write(
            t.path(),
            "clusters/prod/apps.yaml",
            &ks("apps", "./apps", &["infra"]),
        );
        write(t.path(), "clusters/prod/vars.yaml", &cm("cluster-vars"));
        write(t.path(), "infrastructure/ns.yaml", &cm("infra-cm"));
        write(t.path(), "apps/cm.yaml", &cm("app-cm"));
        write(
            t.path(),
            "apps/nested.yaml",
            &ks("nested", "./nested", &["apps"]),
        );
        write(t.path(), "nested/cm.yaml", &cm("nested-cm"));
        write(
            t.path(),
            "nested/hr.yaml",
            "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: redis, namespace: db}\nspec: {}\n",
        );
        write(
            t.path(),
            "flotilla.yaml",
            "apiVersion: flotilla.dev/v1alpha1\nkind: Fleet\nclusters:\n- {name: p, labels: {env: prod}, kubeconfig: {path: k}, fluxPath: clusters/prod}\n",
        );
        let fleet = Fleet::load(&t.path().join("flotilla.yaml")).unwrap();
        let desired = resolve(&fleet, &[&fleet.clusters[0]], &RenderCache::default());
        let d = &desired[0];
        assert!(d.error.is_none(), "{:?}", d.error);
        let names: Vec<&str> = d.units.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["infra", "apps", "nested", FLUX_ROOT_UNIT]);
        let apps = d.units.iter().find(|u| u.name == "apps").unwrap();
        let objs = apps.objects.as_ref().unwrap();
        assert_eq!(
            objs.len(),
            1,
            "the nested Kustomization is not applied as an object"
        );
        assert_eq!(objs[0]["data"]["env"], "prod");
        let nested = d.units.iter().find(|u| u.name == "nested").unwrap();
        assert_eq!(
            nested.objects.as_ref().unwrap_err(),
            "Helm not supported yet: HelmRelease/db/redis"
        );
    }

    #[test]
    fn flux_git_repositories_are_fetched_as_sources() {
        let upstream = tempfile::tempdir().unwrap();
        write(upstream.path(), "deploy/cm.yaml", &cm("from-git"));
        let git = |args: &[&str]| {
            let out = std::process::Command::new("git")
                .args(args)
                .current_dir(upstream.path())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        git(&["init", "-q", "-b", "release"]);
        git(&["add", "-A"]);
        git(&[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "-m",
            "x",
        ]);
        let t = tempfile::tempdir().unwrap();
        let url = format!("file://{}", upstream.path().display());
        write(
            t.path(),
            "clusters/x/sources.yaml",
            &format!(
                "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: podinfo\n  namespace: flux-system\nspec:\n  interval: 1m\n  url: {url}\n  ref:\n    branch: release\n"
            ),
        );
        write(
            t.path(),
            "clusters/x/app.yaml",
            &ks("app", "./deploy", &[]).replace("name: flux-system}", "name: podinfo}"),
        );
        write(
            t.path(),
            "flotilla.yaml",
            "apiVersion: flotilla.dev/v1alpha1\nkind: Fleet\nclusters:\n- {name: x, kubeconfig: {path: k}, fluxPath: clusters/x}\n",
        );
        let fleet = Fleet::load(&t.path().join("flotilla.yaml")).unwrap();
        let d = &resolve(&fleet, &[&fleet.clusters[0]], &RenderCache::default())[0];
        let app = d.units.iter().find(|u| u.name == "app").unwrap();
        let objs = app.objects.as_ref().unwrap();
        assert_eq!(objs[0]["metadata"]["name"], "from-git");
        assert!(
            app.revision
                .as_deref()
                .unwrap()
                .starts_with("release@sha1:"),
            "{:?}",
            app.revision
        );
    }

    #[test]
    fn flux_dependency_cycles_are_named() {
        let t = tempfile::tempdir().unwrap();
        write(t.path(), "clusters/x/a.yaml", &ks("a", "./a", &["b"]));
        write(t.path(), "clusters/x/b.yaml", &ks("b", "./b", &["a"]));
        write(t.path(), "a/cm.yaml", &cm("a"));
        write(t.path(), "b/cm.yaml", &cm("b"));
        write(
            t.path(),
            "flotilla.yaml",
            "apiVersion: flotilla.dev/v1alpha1\nkind: Fleet\nclusters:\n- {name: x, kubeconfig: {path: k}, fluxPath: clusters/x}\n",
        );
        let fleet = Fleet::load(&t.path().join("flotilla.yaml")).unwrap();
        let d = &resolve(&fleet, &[&fleet.clusters[0]], &RenderCache::default())[0];
        assert_eq!(
            d.error.as_deref(),
            Some("cluster x: dependency cycle: a -> b -> a")
        );
    }

    #[test]
    fn renders_are_shared_across_clusters() {
        let t = tempfile::tempdir().unwrap();
        write(t.path(), "base/cm.yaml", &cm("c"));
        write(
            t.path(),
            "flotilla.yaml",
            "apiVersion: flotilla.dev/v1alpha1\nkind: Fleet\nclusters:\n- {name: a, kubeconfig: {path: k}}\n- {name: b, kubeconfig: {path: k}}\nunits:\n- {name: u, path: base}\n",
        );
        let fleet = Fleet::load(&t.path().join("flotilla.yaml")).unwrap();
        let cache = RenderCache::default();
        let all: Vec<_> = fleet.clusters.iter().collect();
        resolve(&fleet, &all, &cache);
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn reads_the_git_revision() {
        let t = tempfile::tempdir().unwrap();
        write(t.path(), ".git/HEAD", "ref: refs/heads/main\n");
        write(t.path(), ".git/refs/heads/main", "0123abcd\n");
        std::fs::create_dir_all(t.path().join("sub")).unwrap();
        assert_eq!(
            git_revision(&t.path().join("sub")).as_deref(),
            Some("main@sha1:0123abcd")
        );
    }
}
