//! The fleet file (`flotilla.yaml`): clusters, sources and units.
//!
//! ```yaml
//! apiVersion: flotilla.dev/v1alpha1
//! kind: Fleet
//! clusters:
//!   - name: production
//!     labels: {env: production, region: eu}
//!     owner: platform@example.com
//!     kubeconfig: {path: ~/.kube/prod, context: prod}   # or server/caFile/credentials
//!     fluxPath: clusters/production                     # optional Flux cluster directory
//!     sealedSecrets: unseal          # or controller (default): see SealedSecretsPolicy
//!     sealingKeysNamespace: kube-system                 # with unseal: where the keys are
//! sources:
//!   - name: repo
//!     path: .                                           # a local directory (default source)
//! units:
//!   - name: web
//!     path: apps/base
//!     targets:
//!       - selector: env=production
//!         path: apps/production
//!         variables: {replicas: "3"}
//! ```
//!
//! Every error names the fleet file and the entry it is about.

use crate::selector::LabelSelector;
use anyhow::{Context as _, anyhow, bail};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub const API_VERSION: &str = "flotilla.dev/v1alpha1";
pub const KIND: &str = "Fleet";
/// The name of the implicit source: the directory holding the fleet file.
pub const ROOT_SOURCE: &str = "root";

/// A loaded, validated fleet.
#[derive(Clone, Debug)]
pub struct Fleet {
    /// `metadata.name` (default `default`): names the record, kept in each
    /// cluster, of the units this fleet applied there.
    pub name: String,
    /// The fleet file, as given.
    pub file: PathBuf,
    /// The directory relative paths are resolved against.
    pub dir: PathBuf,
    pub clusters: Vec<ClusterSpec>,
    pub sources: Vec<SourceSpec>,
    pub units: Vec<UnitSpec>,
    pub sops: SopsSpec,
}

/// Where SOPS age identities come from, besides sops' own environment
/// variables and default paths (`SOPS_AGE_KEY_FILE`, ...).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SopsSpec {
    /// age identity files (relative to the fleet file).
    #[serde(default)]
    pub age_key_files: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterSpec {
    pub name: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub kubeconfig: Option<KubeconfigRef>,
    /// API server URL (with `caFile` and `credentials`), instead of a kubeconfig.
    #[serde(default)]
    pub server: Option<String>,
    #[serde(default)]
    pub ca_file: Option<String>,
    #[serde(default)]
    pub credentials: Option<Credentials>,
    /// A Flux cluster directory (`clusters/production`) whose Flux objects become units.
    #[serde(default)]
    pub flux_path: Option<String>,
    /// The source holding `fluxPath` (default: the fleet's directory).
    #[serde(default)]
    pub flux_source: Option<String>,
    /// Extra substitution variables for every unit on this cluster.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// What plan and sync do with SealedSecret objects on this cluster.
    #[serde(default)]
    pub sealed_secrets: SealedSecretsPolicy,
    /// With `sealedSecrets: unseal`: the namespace holding the cluster's
    /// sealing keys (default `kube-system`, the controller's).
    #[serde(default)]
    pub sealing_keys_namespace: Option<String>,
}

/// `clusters[].sealedSecrets` in the fleet file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SealedSecretsPolicy {
    /// Apply SealedSecrets as they are, for a controller installed in the cluster.
    #[default]
    Controller,
    /// Unseal them at apply time with the sealing keys read from the cluster
    /// (every active key tried); the cluster needs no controller.
    Unseal,
}

impl ClusterSpec {
    /// The engine's mode for this cluster's SealedSecrets.
    pub fn sealed_secret_mode(&self) -> flotilla_secrets::engine::SealedSecretMode {
        use flotilla_secrets::engine::SealedSecretMode;
        match self.sealed_secrets {
            SealedSecretsPolicy::Controller => SealedSecretMode::Controller,
            SealedSecretsPolicy::Unseal => SealedSecretMode::Unseal {
                keys_namespace: self.sealing_keys_namespace.clone().unwrap_or_else(|| {
                    flotilla_secrets::sealed::cluster::DEFAULT_CONTROLLER_NAMESPACE.to_owned()
                }),
            },
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KubeconfigRef {
    pub path: String,
    #[serde(default)]
    pub context: Option<String>,
}

/// Where a cluster's credential comes from; never the credential itself.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Credentials {
    /// Environment variable holding a bearer token.
    #[serde(default)]
    pub token_env: Option<String>,
    /// File holding a bearer token.
    #[serde(default)]
    pub token_file: Option<String>,
    #[serde(default)]
    pub client_certificate_file: Option<String>,
    #[serde(default)]
    pub client_key_file: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourceSpec {
    pub name: String,
    /// A local directory (relative to the fleet file).
    #[serde(default)]
    pub path: Option<String>,
    /// A Git repository.
    #[serde(default)]
    pub git: Option<GitSpec>,
    /// Flux `GitRepository` names (in Flux cluster directories) this source stands for.
    #[serde(default)]
    pub flux_names: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GitSpec {
    pub url: String,
    #[serde(default)]
    pub branch: Option<String>,
    #[serde(default)]
    pub tag: Option<String>,
    #[serde(default)]
    pub semver: Option<String>,
    #[serde(default)]
    pub commit: Option<String>,
    /// Credentials for this repository only (never sent anywhere else).
    #[serde(default)]
    pub auth: Option<GitAuthSpec>,
}

/// Where a Git source's credentials come from; never the credential itself.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GitAuthSpec {
    /// HTTP basic auth: environment variables holding the user name and password/token.
    #[serde(default)]
    pub username_env: Option<String>,
    #[serde(default)]
    pub password_env: Option<String>,
    /// ssh: a private key file, and optionally a known_hosts file.
    #[serde(default)]
    pub ssh_key_file: Option<String>,
    #[serde(default)]
    pub known_hosts_file: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Renderer {
    /// Kustomize when the directory has a kustomization file, otherwise all
    /// manifests under it (Flux's behaviour).
    #[default]
    Auto,
    Kustomize,
    /// The YAML files of the directory, recursively.
    Plain,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UnitSpec {
    pub name: String,
    #[serde(default)]
    pub source: Option<String>,
    pub path: String,
    #[serde(default)]
    pub renderer: Renderer,
    /// Where the unit goes; no targets means every cluster.
    #[serde(default)]
    pub targets: Vec<TargetSpec>,
    /// Units (by name) or objects (`{apiVersion, kind, name, namespace}`)
    /// that must be converged / healthy before this unit is applied.
    #[serde(default)]
    pub depends_on: Vec<Dependency>,
    /// Flux `targetNamespace`.
    #[serde(default)]
    pub target_namespace: Option<String>,
    #[serde(default)]
    pub name_prefix: Option<String>,
    /// Substitution variables (Flux `postBuild.substitute`).
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// ConfigMaps/Secrets in Git whose data are variables (Flux `postBuild.substituteFrom`).
    #[serde(default)]
    pub substitute_from: Vec<SubstituteRef>,
    /// Substitute even with no variables declared (cluster metadata only).
    #[serde(default)]
    pub substitute: Option<bool>,
    /// Fail on undefined variables.
    #[serde(default)]
    pub strict: bool,
    /// Wait for health after applying (default true).
    #[serde(default)]
    pub wait: Option<bool>,
    /// Health timeout, like `5m`, `90s` (default 5m).
    #[serde(default)]
    pub timeout: Option<String>,
    /// Delete objects that left the unit (default true).
    #[serde(default)]
    pub prune: Option<bool>,
    #[serde(default)]
    pub suspend: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TargetSpec {
    /// Label selector: a string (`env=prod,region in (eu)`) or `matchLabels`/`matchExpressions`.
    #[serde(default)]
    pub selector: Option<SelectorSpec>,
    /// Cluster names, in addition to the selector.
    #[serde(default)]
    pub clusters: Vec<String>,
    /// Another path (overlay) for these clusters.
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
}

/// What a unit waits for.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum Dependency {
    Unit(String),
    Object(ObjectDep),
}

/// An object that must be healthy (kstatus, or the unit's custom rules).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectDep {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
}

impl std::fmt::Display for ObjectDep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{}/{}", self.kind, ns, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum SelectorSpec {
    Text(String),
    Structured(LabelSelector),
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubstituteRef {
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub optional: bool,
}

impl SelectorSpec {
    pub fn resolve(&self) -> Result<LabelSelector, String> {
        match self {
            SelectorSpec::Text(t) => LabelSelector::parse(t),
            SelectorSpec::Structured(s) => Ok(s.clone()),
        }
    }
}

impl TargetSpec {
    /// Whether this target selects `cluster`. A target with neither a
    /// selector nor names selects nothing.
    pub fn selects(&self, cluster: &ClusterSpec) -> bool {
        if self.clusters.contains(&cluster.name) {
            return true;
        }
        match &self.selector {
            Some(s) => s.resolve().is_ok_and(|s| s.matches(&cluster.labels)),
            None => false,
        }
    }
}

impl UnitSpec {
    /// The units this unit depends on.
    pub fn unit_dependencies(&self) -> Vec<String> {
        self.depends_on
            .iter()
            .filter_map(|d| match d {
                Dependency::Unit(u) => Some(u.clone()),
                Dependency::Object(_) => None,
            })
            .collect()
    }

    /// The objects that must be healthy before this unit applies.
    pub fn object_dependencies(&self) -> Vec<ObjectDep> {
        self.depends_on
            .iter()
            .filter_map(|d| match d {
                Dependency::Object(o) => Some(o.clone()),
                Dependency::Unit(_) => None,
            })
            .collect()
    }

    /// The target that applies to `cluster` (the first matching one), or
    /// `None` if the unit does not go there.
    pub fn target_for(&self, cluster: &ClusterSpec) -> Option<Option<&TargetSpec>> {
        if self.targets.is_empty() {
            return Some(None);
        }
        self.targets.iter().find(|t| t.selects(cluster)).map(Some)
    }
}

impl Fleet {
    /// Read and validate a fleet file.
    pub fn load(file: &Path) -> anyhow::Result<Fleet> {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("reading fleet file {}", file.display()))?;
        let dir = file
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                }
            })
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        Fleet::parse(&text, file, &dir)
    }

    /// Parse fleet file text; `file` is used in messages, `dir` resolves paths.
    pub fn parse(text: &str, file: &Path, dir: &Path) -> anyhow::Result<Fleet> {
        let where_ = file.display().to_string();
        let docs = flotilla_model::yaml::parse_stream(text)
            .map_err(|e| anyhow!("fleet file {where_}: {e}"))?;
        let doc = match docs.as_slice() {
            [doc] => doc,
            [] => bail!("fleet file {where_}: empty"),
            _ => bail!(
                "fleet file {where_}: holds {} documents, expected one",
                docs.len()
            ),
        };
        let Some(map) = doc.as_object() else {
            bail!("fleet file {where_}: expected a mapping at the top level");
        };
        match map.get("apiVersion").and_then(Value::as_str) {
            Some(API_VERSION) => {}
            other => {
                bail!("fleet file {where_}: apiVersion must be {API_VERSION}, found {other:?}")
            }
        }
        match map.get("kind").and_then(Value::as_str) {
            Some(KIND) => {}
            other => bail!("fleet file {where_}: kind must be {KIND}, found {other:?}"),
        }
        for key in map.keys() {
            if ![
                "apiVersion",
                "kind",
                "metadata",
                "clusters",
                "sources",
                "units",
                "sops",
            ]
            .contains(&key.as_str())
            {
                bail!("fleet file {where_}: unknown top-level field {key:?}");
            }
        }
        let clusters: Vec<ClusterSpec> = entries(map.get("clusters"), &where_, "clusters")?;
        let sources: Vec<SourceSpec> = entries(map.get("sources"), &where_, "sources")?;
        let units: Vec<UnitSpec> = entries(map.get("units"), &where_, "units")?;
        let name = match map.get("metadata").and_then(|m| m.get("name")) {
            None | Some(Value::Null) => "default".to_owned(),
            Some(Value::String(n)) => n.clone(),
            Some(other) => {
                bail!("fleet file {where_}: metadata.name must be a string, found {other}")
            }
        };
        flotilla_engine::unit::validate_name(&name)
            .map_err(|e| anyhow!("fleet file {where_}: metadata.name: {e}"))?;
        let sops: SopsSpec = match map.get("sops") {
            None | Some(Value::Null) => SopsSpec::default(),
            Some(v) => serde_json::from_value(v.clone())
                .map_err(|e| anyhow!("fleet file {where_}: sops: {e}"))?,
        };
        let fleet = Fleet {
            sops,
            name,
            file: file.to_path_buf(),
            dir: dir.to_path_buf(),
            clusters,
            sources,
            units,
        };
        fleet.validate()?;
        Ok(fleet)
    }

    fn validate(&self) -> anyhow::Result<()> {
        let f = self.file.display();
        unique(self.clusters.iter().map(|c| c.name.as_str()), &f, "cluster")?;
        unique(self.sources.iter().map(|s| s.name.as_str()), &f, "source")?;
        unique(self.units.iter().map(|u| u.name.as_str()), &f, "unit")?;
        for c in &self.clusters {
            let at = format!("fleet file {f}: cluster {}", c.name);
            if c.name.is_empty() {
                bail!("fleet file {f}: a cluster has an empty name");
            }
            match (&c.kubeconfig, &c.server) {
                (Some(_), Some(_)) => bail!("{at}: set either kubeconfig or server, not both"),
                (None, None) => bail!(
                    "{at}: set kubeconfig (path, context) or server (with caFile and credentials)"
                ),
                (None, Some(_)) if c.credentials.is_none() => {
                    bail!(
                        "{at}: server needs credentials (tokenEnv, tokenFile or client certificate files)"
                    )
                }
                _ => {}
            }
            if let Some(cred) = &c.credentials {
                let n = [&cred.token_env, &cred.token_file]
                    .iter()
                    .filter(|x| x.is_some())
                    .count();
                let cert = cred.client_certificate_file.is_some() || cred.client_key_file.is_some();
                if n > 1 || (n == 1 && cert) || n == 0 && !cert {
                    bail!(
                        "{at}: credentials must name exactly one of tokenEnv, tokenFile, or clientCertificateFile + clientKeyFile"
                    );
                }
                if cert
                    && (cred.client_certificate_file.is_none() || cred.client_key_file.is_none())
                {
                    bail!("{at}: clientCertificateFile and clientKeyFile go together");
                }
            }
            match (&c.sealing_keys_namespace, c.sealed_secrets) {
                (Some(_), SealedSecretsPolicy::Controller) => bail!(
                    "{at}: sealingKeysNamespace needs sealedSecrets: unseal (a controller reads its own keys)"
                ),
                (Some(ns), SealedSecretsPolicy::Unseal) => {
                    let valid = !ns.is_empty()
                        && ns.len() <= 63
                        && ns
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                        && !ns.starts_with('-')
                        && !ns.ends_with('-');
                    if !valid {
                        bail!("{at}: sealingKeysNamespace {ns:?} is not a valid namespace name");
                    }
                }
                (None, _) => {}
            }
            if let Some(s) = &c.flux_source {
                self.source(s).with_context(|| at.clone())?;
            }
            for k in c.variables.keys() {
                if !crate::subst::valid_name(k) {
                    bail!("{at}: invalid variable name {k:?}");
                }
            }
        }
        for s in &self.sources {
            let at = format!("fleet file {f}: source {}", s.name);
            match (&s.path, &s.git) {
                (Some(_), Some(_)) => bail!("{at}: set either path or git, not both"),
                (None, None) => bail!("{at}: set path (a local directory) or git (url and pin)"),
                (None, Some(g)) => {
                    let pins = [&g.branch, &g.tag, &g.semver, &g.commit]
                        .iter()
                        .filter(|p| p.is_some())
                        .count();
                    if pins > 1 {
                        bail!("{at}: pin by one of branch, tag, semver or commit");
                    }
                }
                _ => {}
            }
        }
        let names: BTreeSet<&str> = self.units.iter().map(|u| u.name.as_str()).collect();
        for u in &self.units {
            let at = format!("fleet file {f}: unit {}", u.name);
            flotilla_engine::unit::validate_name(&u.name).with_context(|| at.clone())?;
            if let Some(s) = &u.source {
                self.source(s).with_context(|| at.clone())?;
            }
            // Units from Flux cluster directories are only known after
            // rendering; without any, every dependency must be a fleet unit.
            let has_flux = self.clusters.iter().any(|c| c.flux_path.is_some());
            for d in &u.unit_dependencies() {
                if !names.contains(d.as_str()) && !has_flux {
                    bail!("{at}: dependsOn names {d}, which is not a unit");
                }
            }
            for (i, t) in u.targets.iter().enumerate() {
                if t.selector.is_none() && t.clusters.is_empty() {
                    bail!("{at}: targets[{i}] needs a selector or cluster names");
                }
                if let Some(s) = &t.selector {
                    s.resolve()
                        .map_err(|e| anyhow!("{at}: targets[{i}]: {e}"))?;
                }
                for c in &t.clusters {
                    if !self.clusters.iter().any(|k| k.name == *c) {
                        bail!("{at}: targets[{i}] names cluster {c}, which is not declared");
                    }
                }
                for k in t.variables.keys() {
                    if !crate::subst::valid_name(k) {
                        bail!("{at}: targets[{i}]: invalid variable name {k:?}");
                    }
                }
            }
            for k in u.variables.keys() {
                if !crate::subst::valid_name(k) {
                    bail!("{at}: invalid variable name {k:?}");
                }
            }
            if let Some(t) = &u.timeout {
                parse_duration(t).map_err(|e| anyhow!("{at}: timeout: {e}"))?;
            }
        }
        crate::dag::order(
            &self
                .units
                .iter()
                .map(|u| {
                    let deps = u
                        .unit_dependencies()
                        .into_iter()
                        .filter(|d| names.contains(d.as_str()));
                    (u.name.clone(), deps.collect())
                })
                .collect::<Vec<_>>(),
        )
        .map_err(|e| anyhow!("fleet file {f}: {e}"))?;
        Ok(())
    }

    /// A source by name; `root` is the fleet's directory unless declared.
    pub fn source(&self, name: &str) -> anyhow::Result<SourceSpec> {
        if let Some(s) = self.sources.iter().find(|s| s.name == name) {
            return Ok(s.clone());
        }
        if name == ROOT_SOURCE {
            return Ok(SourceSpec {
                name: ROOT_SOURCE.into(),
                path: Some(".".into()),
                git: None,
                flux_names: vec![],
            });
        }
        bail!("source {name} is not declared in the fleet file")
    }

    /// Clusters selected by `selector` (all when `None`).
    pub fn select_clusters(&self, selector: Option<&LabelSelector>) -> Vec<&ClusterSpec> {
        self.clusters
            .iter()
            .filter(|c| selector.is_none_or(|s| s.matches(&c.labels)))
            .collect()
    }

    /// Resolve a path from the fleet file: `~` and `$VAR`/`${VAR}` expanded,
    /// relative paths taken from the fleet's directory.
    pub fn resolve_path(&self, path: &str) -> anyhow::Result<PathBuf> {
        let expanded = expand_path(path)?;
        Ok(if expanded.is_absolute() {
            expanded
        } else {
            self.dir.join(expanded)
        })
    }
}

fn entries<T: serde::de::DeserializeOwned>(
    value: Option<&Value>,
    file: &str,
    field: &str,
) -> anyhow::Result<Vec<T>> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(vec![]);
    };
    let Some(items) = value.as_array() else {
        bail!("fleet file {file}: {field} must be a list");
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let label = item
                .get("name")
                .and_then(Value::as_str)
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            serde_json::from_value(item.clone())
                .map_err(|e| anyhow!("fleet file {file}: {field}[{i}]{label}: {e}"))
        })
        .collect()
}

fn unique<'a>(
    names: impl Iterator<Item = &'a str>,
    file: &impl std::fmt::Display,
    what: &str,
) -> anyhow::Result<()> {
    let mut seen = BTreeSet::new();
    for n in names {
        if !seen.insert(n) {
            bail!("fleet file {file}: {what} {n} is declared twice");
        }
    }
    Ok(())
}

/// Expand a leading `~` and `$VAR` / `${VAR}`; an unset variable is an error.
pub fn expand_path(path: &str) -> anyhow::Result<PathBuf> {
    let mut out = String::new();
    let mut rest = path;
    if let Some(tail) = rest
        .strip_prefix('~')
        .filter(|t| t.is_empty() || t.starts_with('/'))
    {
        let home = std::env::var("HOME").map_err(|_| anyhow!("path {path}: HOME is not set"))?;
        out.push_str(&home);
        rest = tail;
    }
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let (name, tail) = if let Some(b) = after.strip_prefix('{') {
            let end = b
                .find('}')
                .ok_or_else(|| anyhow!("path {path}: unterminated ${{"))?;
            (&b[..end], &b[end + 1..])
        } else {
            let end = after
                .find(|c: char| !(c == '_' || c.is_ascii_alphanumeric()))
                .unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        if name.is_empty() {
            out.push('$');
        } else {
            let value = std::env::var(name)
                .map_err(|_| anyhow!("path {path}: environment variable {name} is not set"))?;
            out.push_str(&value);
        }
        rest = tail;
    }
    out.push_str(rest);
    Ok(PathBuf::from(out))
}

/// Parse a Go-style duration: `90s`, `5m`, `1h30m`, `500ms`.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let mut total = 0f64;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err("empty duration".into());
    }
    if rest == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("duration {text:?} lacks a unit (s, m, h)"))?;
        let n: f64 = rest[..num_end]
            .parse()
            .map_err(|_| format!("invalid duration {text:?}"))?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_end] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            u => return Err(format!("invalid duration {text:?}: unknown unit {u:?}")),
        };
        total += n * factor;
        rest = &rest[unit_end..];
    }
    Ok(std::time::Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<Fleet> {
        Fleet::parse(text, Path::new("fleet.yaml"), Path::new("/repo"))
    }

    const HEAD: &str = "apiVersion: flotilla.dev/v1alpha1\nkind: Fleet\n";

    #[test]
    fn a_valid_fleet_targets_by_label() {
        let f = parse(&format!(
            "{HEAD}clusters:\n\
             - name: prod\n  labels: {{env: production}}\n  kubeconfig: {{path: k, context: p}}\n\
             - name: stage\n  labels: {{env: staging}}\n  kubeconfig: {{path: /abs/k}}\n\
             units:\n\
             - name: web\n  path: apps/base\n  targets:\n  - selector: env=production\n    path: apps/prod\n\
             - name: infra\n  path: infra\n"
        ))
        .unwrap();
        let (prod, stage) = (&f.clusters[0], &f.clusters[1]);
        let web = &f.units[0];
        assert_eq!(
            web.target_for(prod).unwrap().unwrap().path.as_deref(),
            Some("apps/prod")
        );
        assert!(web.target_for(stage).is_none());
        assert!(f.units[1].target_for(stage).is_some());
        assert_eq!(f.resolve_path("k").unwrap(), PathBuf::from("/repo/k"));
        assert_eq!(f.resolve_path("/abs/k").unwrap(), PathBuf::from("/abs/k"));
    }

    #[test]
    fn errors_name_file_and_entry() {
        let e = parse(&format!(
            "{HEAD}clusters:\n- name: a\n  kubeconfig: {{path: k}}\n  bogus: 1\n"
        ))
        .unwrap_err();
        let msg = format!("{e:#}");
        assert!(
            msg.contains("fleet.yaml: clusters[0] (a): unknown field `bogus`"),
            "{msg}"
        );

        let e = parse(&format!("{HEAD}clusters:\n- name: a\n")).unwrap_err();
        assert!(
            format!("{e:#}").contains("cluster a: set kubeconfig"),
            "{e:#}"
        );

        let e = parse(&format!(
            "{HEAD}units:\n- name: a\n  path: x\n  dependsOn: [b]\n- name: b\n  path: y\n  dependsOn: [a]\n"
        ))
        .unwrap_err();
        assert!(
            format!("{e:#}").contains("dependency cycle: a -> b -> a"),
            "{e:#}"
        );

        let e = parse(&format!("{HEAD}units:\n- name: Bad_Name\n  path: x\n")).unwrap_err();
        assert!(format!("{e:#}").contains("unit Bad_Name"), "{e:#}");

        let e = parse("apiVersion: v1\nkind: Fleet\n").unwrap_err();
        assert!(format!("{e:#}").contains("apiVersion must be"), "{e:#}");

        let e = parse(&format!(
            "{HEAD}units:\n- name: a\n  path: x\n  targets:\n  - clusters: [ghost]\n"
        ))
        .unwrap_err();
        assert!(format!("{e:#}").contains("names cluster ghost"), "{e:#}");
    }

    #[test]
    fn sealed_secrets_policy_per_cluster() {
        use flotilla_secrets::engine::SealedSecretMode;
        let f = parse(&format!(
            "{HEAD}clusters:\n\
             - name: plain\n  kubeconfig: {{path: k}}\n\
             - name: ctl\n  kubeconfig: {{path: k}}\n  sealedSecrets: controller\n\
             - name: un\n  kubeconfig: {{path: k}}\n  sealedSecrets: unseal\n\
             - name: unkeys\n  kubeconfig: {{path: k}}\n  sealedSecrets: unseal\n  sealingKeysNamespace: sealing-keys\n"
        ))
        .unwrap();
        let modes: Vec<SealedSecretMode> = f
            .clusters
            .iter()
            .map(ClusterSpec::sealed_secret_mode)
            .collect();
        assert_eq!(
            modes,
            [
                SealedSecretMode::Controller,
                SealedSecretMode::Controller,
                SealedSecretMode::Unseal {
                    keys_namespace: "kube-system".into()
                },
                SealedSecretMode::Unseal {
                    keys_namespace: "sealing-keys".into()
                },
            ]
        );

        let e = parse(&format!(
            "{HEAD}clusters:\n- name: a\n  kubeconfig: {{path: k}}\n  sealedSecrets: decrypt\n"
        ))
        .unwrap_err();
        let msg = format!("{e:#}");
        assert!(
            msg.contains("fleet.yaml: clusters[0] (a): unknown variant `decrypt`")
                && msg.contains("controller")
                && msg.contains("unseal"),
            "{msg}"
        );

        let e = parse(&format!(
            "{HEAD}clusters:\n- name: a\n  kubeconfig: {{path: k}}\n  sealingKeysNamespace: keys\n"
        ))
        .unwrap_err();
        let msg = format!("{e:#}");
        assert!(
            msg.contains(
                "fleet file fleet.yaml: cluster a: sealingKeysNamespace needs sealedSecrets: unseal"
            ),
            "{msg}"
        );

        let e = parse(&format!(
            "{HEAD}clusters:\n- name: a\n  kubeconfig: {{path: k}}\n  sealedSecrets: unseal\n  sealingKeysNamespace: Bad_NS\n"
        ))
        .unwrap_err();
        let msg = format!("{e:#}");
        assert!(
            msg.contains("fleet file fleet.yaml: cluster a: sealingKeysNamespace \"Bad_NS\" is not a valid namespace name"),
            "{msg}"
        );
    }

    #[test]
    fn depends_on_takes_units_and_objects() {
        let f = parse(&format!(
            "{HEAD}units:\n- name: db\n  path: db\n- name: app\n  path: app\n  dependsOn:\n  - db\n  - {{apiVersion: apps/v1, kind: Deployment, name: db, namespace: data}}\n"
        ))
        .unwrap();
        let app = &f.units[1];
        assert_eq!(app.unit_dependencies(), ["db"]);
        let objs = app.object_dependencies();
        assert_eq!(objs.len(), 1);
        assert_eq!(objs[0].to_string(), "Deployment/data/db");
        let e = parse(&format!(
            "{HEAD}units:\n- name: app\n  path: app\n  dependsOn: [{{kind: Deployment}}]\n"
        ))
        .unwrap_err();
        assert!(format!("{e:#}").contains("units[0] (app)"), "{e:#}");
    }

    #[test]
    fn credentials_are_checked() {
        let e = parse(&format!(
            "{HEAD}clusters:\n- name: a\n  server: https://x\n  credentials: {{tokenEnv: T, tokenFile: f}}\n"
        ))
        .unwrap_err();
        assert!(format!("{e:#}").contains("exactly one"), "{e:#}");
        parse(&format!(
            "{HEAD}clusters:\n- name: a\n  server: https://x\n  caFile: ca.pem\n  credentials: {{tokenEnv: T}}\n"
        ))
        .unwrap();
    }

    #[test]
    fn paths_expand_home_and_variables() {
        // SAFETY-free: HOME is always set in the test environment.
        let home = std::env::var("HOME").unwrap();
        assert_eq!(
            expand_path("~/x").unwrap(),
            PathBuf::from(format!("{home}/x"))
        );
        assert_eq!(
            expand_path("${HOME}/y").unwrap(),
            PathBuf::from(format!("{home}/y"))
        );
        assert!(expand_path("$FLOTILLA_SURELY_UNSET_VAR/x").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap().as_secs(), 90);
        assert_eq!(parse_duration("1h30m").unwrap().as_secs(), 5400);
        assert_eq!(parse_duration("500ms").unwrap().as_millis(), 500);
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5d").is_err());
    }
}
