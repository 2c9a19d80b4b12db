//! One kustomization directory and the build pipeline kustomize runs on it:
//! resources, configurations, CRDs, generators, components, transformers,
//! vars; then, at the top only, hash suffixes, name references and vars.

use crate::error::{Context, KustomizeError};
use crate::fieldspec::{FieldSpec, MergeCache, TransformerConfig};
use crate::generators::{self, GeneratorOptions};
use crate::kustomization::{FILE_NAMES, Kustomization, field, string_map};
use crate::loader::{Loader, is_remote};
use crate::origin;
use crate::patches::{self, PatchEntry};
use crate::resource::{self, Behavior, Resource};
use crate::transforms;
use crate::vars::{self, Var};
use flotilla_patch::MergeSchema;
use serde_json::Value;
use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The merge schema in effect, and whether some kustomization already chose
/// it (kustomize: the first `openapi` setting wins, the top level always).
#[derive(Clone)]
pub struct SchemaState {
    pub schema: Arc<MergeSchema>,
    pub set: bool,
}

impl SchemaState {
    fn same(&self, other: &SchemaState) -> bool {
        Arc::ptr_eq(&self.schema, &other.schema) && self.set == other.set
    }
}

/// State of one build, as seen from one thread.
pub struct Session<'a> {
    /// Memoised field-spec merges, shared by all threads of the build.
    pub merge_cache: Arc<Mutex<MergeCache>>,
    pub schema: RefCell<SchemaState>,
    /// Whether sibling bases may be built on several threads.
    pub parallel: bool,
    pub _fs: std::marker::PhantomData<&'a ()>,
}

impl Session<'_> {
    fn merge_tc(
        &self,
        a: &Arc<TransformerConfig>,
        b: &Arc<TransformerConfig>,
    ) -> Result<Arc<TransformerConfig>, KustomizeError> {
        let mut cache = self.merge_cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.merge(a, b)
    }
}

#[derive(Default)]
pub struct Accumulator {
    pub res: Vec<Resource>,
    /// Ids of `res` while only appends happen; `None` after any change.
    pub ids: Option<std::collections::HashSet<resource::IdKey>>,
    pub tc: Arc<TransformerConfig>,
    pub vars: Vec<Var>,
}

impl Accumulator {
    pub fn new() -> Accumulator {
        Accumulator {
            res: Vec::new(),
            ids: None,
            tc: TransformerConfig::empty(),
            vars: Vec::new(),
        }
    }

    fn merge(&mut self, other: Accumulator, session: &Session) -> Result<(), KustomizeError> {
        self.tc = session.merge_tc(&self.tc, &other.tc)?;
        for v in other.vars {
            vars::add_var(&mut self.vars, v)?;
        }
        resource::append_all(&mut self.res, other.res, &mut self.ids)
    }
}

pub struct Target<'a, 's> {
    pub session: &'s Session<'a>,
    pub ldr: Loader<'a>,
    pub k: Kustomization,
    pub file_name: String,
    /// Origin path prefix when buildMetadata asks for origin annotations.
    pub origin: Option<origin::OriginCtx>,
}

/// Label and annotation values are strings in kustomize's model: `8080`
/// and `true` become `"8080"` and `"true"`.
fn stringify_metadata_maps(d: &mut Value) {
    for key in ["labels", "annotations"] {
        if let Some(Value::Object(m)) = d.pointer_mut(&format!("/metadata/{key}")) {
            for (_, v) in m.iter_mut() {
                if let Some(t) = crate::hash::scalar_text(v)
                    && !v.is_string()
                {
                    *v = Value::String(t);
                }
            }
        }
    }
}

/// Parse a YAML stream of objects, expanding `List` kinds.
pub fn parse_resources(text: &str, what: &str) -> Result<Vec<Value>, KustomizeError> {
    let docs = flotilla_model::yaml::parse_stream(text).map_err(|e| {
        KustomizeError::new(format!("MalformedYAMLError: {} in File: {what}", e.message))
    })?;
    let mut out = Vec::new();
    for d in docs {
        match d {
            Value::Object(ref m) if m.is_empty() => {}
            Value::Object(ref m) => {
                let kind = m.get("kind").and_then(Value::as_str).unwrap_or("");
                if kind.ends_with("List")
                    && let Some(Value::Array(items)) = m.get("items")
                {
                    for i in items {
                        if i.is_object() {
                            out.push(i.clone());
                        }
                    }
                    continue;
                }
                out.push(d);
            }
            Value::Null => {}
            other => {
                return Err(KustomizeError::new(format!(
                    "MalformedYAMLError: expected a map, got {other} in File: {what}"
                )));
            }
        }
    }
    for d in out.iter_mut() {
        stringify_metadata_maps(d);
    }
    for d in &out {
        if d.get("kind")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(KustomizeError::new(format!(
                "missing Resource metadata: kind is required in File: {what}"
            )));
        }
    }
    Ok(out)
}

/// Parse a kustomization file the way sigs.k8s.io/yaml (go-yaml v2) reads
/// it: a repeated mapping key is not an error, the last one wins.
pub fn parse_lenient(text: &str) -> Result<Vec<Value>, flotilla_model::yaml::YamlError> {
    let mut text = text.to_string();
    for _ in 0..64 {
        match flotilla_model::yaml::parse_stream(&text) {
            Ok(docs) => return Ok(docs),
            Err(e) => {
                let Some(first) = e
                    .message
                    .split("already defined at line ")
                    .nth(1)
                    .and_then(|n| n.trim().parse::<usize>().ok())
                else {
                    return Err(e);
                };
                match remove_key_block(&text, first) {
                    Some(t) => text = t,
                    None => return Err(e),
                }
            }
        }
    }
    flotilla_model::yaml::parse_stream(&text)
}

/// Drop the mapping entry that starts on 1-based `line`, with its value.
fn remove_key_block(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.split('\n').collect();
    let start = line.checked_sub(1)?;
    let head = *lines.get(start)?;
    let indent_of = |l: &str| l.len() - l.trim_start_matches(' ').len();
    let mut key_indent = indent_of(head);
    let mut prefix_keep = String::new();
    let rest = &head[key_indent..];
    if let Some(after_dash) = rest.strip_prefix("- ") {
        // `- key: v` as the first entry of a list item: keep the dash.
        prefix_keep = format!("{}- ", " ".repeat(key_indent));
        key_indent += 2 + (after_dash.len() - after_dash.trim_start_matches(' ').len());
    }
    let mut end = start + 1;
    while end < lines.len() {
        let l = lines[end];
        if l.trim().is_empty() {
            end += 1;
            continue;
        }
        let ind = indent_of(l);
        if ind > key_indent
            || (ind == key_indent && l[ind..].starts_with("- ") && prefix_keep.is_empty())
        {
            end += 1;
        } else {
            break;
        }
    }
    let mut out: Vec<String> = lines[..start].iter().map(|s| s.to_string()).collect();
    if !prefix_keep.is_empty() {
        // Keep the list item alive with the next entry, if any, on the dash line.
        if end < lines.len() && indent_of(lines[end]) == key_indent {
            out.push(format!("{prefix_keep}{}", lines[end].trim_start()));
            end += 1;
        } else {
            out.push(format!("{prefix_keep}{{}}"));
        }
    }
    out.extend(lines[end..].iter().map(|s| s.to_string()));
    Some(out.join("\n"))
}

impl<'a, 's> Target<'a, 's> {
    pub fn load(
        session: &'s Session<'a>,
        ldr: Loader<'a>,
    ) -> Result<Target<'a, 's>, KustomizeError> {
        let mut found = Vec::new();
        for name in FILE_NAMES {
            let p = ldr.root.join(name);
            if ldr.fs.kind(&p) == Some(crate::fs::EntryKind::File) {
                found.push(name);
            }
        }
        let file_name = match found.as_slice() {
            [] => {
                return Err(KustomizeError::new(format!(
                    "unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '{}'",
                    ldr.root.display()
                )));
            }
            [one] => one.to_string(),
            _ => {
                return Err(KustomizeError::new(format!(
                    "Found multiple kustomization files under: {}",
                    ldr.root.display()
                )));
            }
        };
        let path = ldr.root.join(&file_name);
        let text = ldr
            .fs
            .read(&path)
            .map_err(|e| KustomizeError::new(format!("reading {}: {e}", path.display())))?;
        let text = String::from_utf8_lossy(&text);
        let docs = parse_lenient(&text)
            .map_err(|e| KustomizeError::new(format!("{}: {e}", path.display())))?;
        let doc = docs.into_iter().next().unwrap_or(Value::Null);
        let k = Kustomization::parse(&doc).ctx(path.display())?;
        let is_empty = match &doc {
            Value::Object(m) => m.keys().all(|key| {
                key.eq_ignore_ascii_case("apiVersion") || key.eq_ignore_ascii_case("kind")
            }),
            _ => true,
        };
        if is_empty {
            return Err(KustomizeError::new(format!(
                "kustomization.yaml is empty: {}",
                path.display()
            )));
        }
        let errs = k.enforce();
        if !errs.is_empty() {
            return Err(KustomizeError::new(format!(
                "Failed to read kustomization file under {}:\n{}",
                ldr.root.display(),
                errs.join("\n")
            )));
        }
        if k.helm {
            return Err(KustomizeError::new(format!(
                "{}: helmCharts are not supported yet",
                path.display()
            )));
        }
        Ok(Target {
            session,
            ldr,
            k,
            file_name,
            origin: None,
        })
    }

    pub fn kfile(&self) -> String {
        self.ldr.root.join(&self.file_name).display().to_string()
    }

    /// Apply the kustomization's openapi setting (custom merge keys).
    /// Apply the kustomization's `openapi` setting (custom merge keys).
    /// The first level that sets a schema wins; the top level always may.
    pub fn set_openapi(&self, reset: bool) -> Result<(), KustomizeError> {
        let oa = &self.k.openapi;
        let path = field(oa, "path").and_then(Value::as_str);
        let version = field(oa, "version").and_then(Value::as_str).unwrap_or("");
        let text = match path {
            Some(p) => Some(self.ldr.load_string(p)?),
            None => None,
        };
        if self.session.schema.borrow().set && !reset {
            return Ok(());
        }
        if let (Some(p), Some(text)) = (path, text) {
            if !version.is_empty() {
                return Err(KustomizeError::new(
                    "builtin version and custom schema provided, cannot use both",
                ));
            }
            let json: Value = if text.trim_start().starts_with('{') {
                serde_json::from_str(&text).map_err(|e| {
                    KustomizeError::new(format!("parsing OpenAPI schema '{p}': {e}"))
                })?
            } else {
                flotilla_model::yaml::parse_stream(&text)
                    .map_err(|e| {
                        KustomizeError::new(format!("parsing OpenAPI schema '{p}': {}", e.message))
                    })?
                    .into_iter()
                    .next()
                    .unwrap_or(Value::Null)
            };
            let mut schema = MergeSchema::builtin();
            schema
                .add_openapi(&json)
                .map_err(|e| KustomizeError::new(format!("loading OpenAPI schema '{p}': {e}")))?;
            *self.session.schema.borrow_mut() = SchemaState {
                schema: Arc::new(schema),
                set: true,
            };
            return Ok(());
        }
        if version.is_empty() {
            return Ok(());
        }
        if version != "v1.21.2" && version != "v1212" {
            return Err(KustomizeError::new(
                "the specified OpenAPI version is not built in",
            ));
        }
        *self.session.schema.borrow_mut() = SchemaState {
            schema: Arc::new(MergeSchema::builtin()),
            set: true,
        };
        Ok(())
    }

    pub fn accumulate(&mut self, acc: Accumulator) -> Result<Accumulator, KustomizeError> {
        let kfile = self.kfile();
        self.accumulate_inner(acc).map_err(|e| e.in_file(&kfile))
    }

    fn accumulate_inner(&mut self, acc: Accumulator) -> Result<Accumulator, KustomizeError> {
        let resources = self.k.resources.clone();
        let mut acc = self
            .accumulate_resources(acc, &resources)
            .ctx("accumulating resources")?;

        let mut custom = TransformerConfig::default();
        for c in &self.k.configurations.clone() {
            let text = self.ldr.load_string(c)?;
            for doc in flotilla_model::yaml::parse_stream(&text)
                .map_err(|e| KustomizeError::new(format!("{c}: {}", e.message)))?
            {
                let mut one = TransformerConfig::default();
                one.merge_value(&doc)?;
                one.sort();
                custom = custom.merged(&one)?;
            }
        }
        let tconfig = if custom.is_empty() {
            TransformerConfig::builtin()
        } else {
            Arc::new(TransformerConfig::builtin().merged(&custom)?)
        };
        acc.tc = self
            .session
            .merge_tc(&acc.tc, &tconfig)
            .ctx("merging config")?;
        let mut crd_tc = TransformerConfig::default();
        for crd in &self.k.crds.clone() {
            let text = self
                .ldr
                .load_string(crd)
                .ctx(format!("loading CRDs {:?}", self.k.crds))?;
            let docs = flotilla_model::yaml::parse_stream(&text)
                .map_err(|e| KustomizeError::new(format!("{crd}: {}", e.message)))?;
            for d in docs {
                // `crds:` only feeds transformer configs; kustomize never
                // uses these schemas for strategic merges.
                crate::crds::add_crd_config(&mut crd_tc, &d)?;
            }
        }
        if !crd_tc.is_empty() {
            let crd_tc = Arc::new(crd_tc);
            acc.tc = self
                .session
                .merge_tc(&acc.tc, &crd_tc)
                .ctx("merging CRDs")?;
        }
        self.run_generators(&mut acc)?;
        let components = self.k.components.clone();
        for c in &components {
            acc = self
                .accumulate_directory(acc, c, true)
                .ctx("accumulating components")?;
        }
        self.run_transformers(&mut acc)?;
        if let Some(v) = self.k.validators.first() {
            return Err(KustomizeError::new(format!(
                "{}: validators ('{v}') are not supported yet",
                self.kfile()
            )));
        }
        let incoming: Vec<Var> = self
            .k
            .vars
            .iter()
            .map(Var::parse)
            .collect::<Result<_, _>>()?;
        vars::merge_vars(&mut acc.vars, &incoming, &mut acc.res).map_err(|e| {
            e.context(format!(
                "merging vars [{}]",
                incoming
                    .iter()
                    .map(Var::describe)
                    .collect::<Vec<_>>()
                    .join(" ")
            ))
        })?;
        Ok(acc)
    }

    fn accumulate_resources(
        &mut self,
        mut acc: Accumulator,
        paths: &[String],
    ) -> Result<Accumulator, KustomizeError> {
        let mut prebuilt = if self.session.parallel {
            self.prebuild_bases(paths)
        } else {
            Vec::new()
        };
        // Whether a base built earlier in this list changed the schema state,
        // which invalidates bases prebuilt with the old state.
        let mut schema_moved = false;
        for (index, path) in paths.iter().enumerate() {
            if let Some(slot) = prebuilt.get_mut(index).and_then(Option::take)
                && !schema_moved
            {
                let (built, start, end) = slot;
                let sub_acc = built.ctx(format!(
                    "accumulation err='accumulating resources from '{path}'"
                ))?;
                acc.merge(sub_acc, self.session).ctx(format!(
                    "accumulation err='accumulating resources from '{path}': recursed merging from path '{}'",
                    self.ldr.resolve(path).display()
                ))?;
                if !start.same(&end) {
                    *self.session.schema.borrow_mut() = end;
                    schema_moved = true;
                }
                continue;
            }
            if is_remote(path) {
                return Err(KustomizeError::new(format!(
                    "{}: resource '{path}': remote resources are not supported yet",
                    self.kfile()
                )));
            }
            let full = self.ldr.resolve(path);
            let kind = self.ldr.fs.kind(&full);
            let is_file = kind == Some(crate::fs::EntryKind::File);
            if is_file {
                let text = self.ldr.load(path).ctx(format!(
                    "accumulation err='accumulating resources from '{path}'"
                ));
                let bytes = text?;
                let text = String::from_utf8_lossy(&bytes);
                let docs = parse_resources(&text, path)
                    .ctx(format!("accumulating resources from '{path}'"))?;
                let mut list = Vec::new();
                for d in docs {
                    let mut r = Resource::new(d);
                    if let Some(o) = &self.origin {
                        origin::set_origin(&mut r, &o.for_path(path));
                    }
                    list.push(r);
                }
                resource::append_all(&mut acc.res, list, &mut acc.ids)
                    .ctx(format!("merging resources from '{path}'"))?;
            } else if kind == Some(crate::fs::EntryKind::Dir) {
                acc = self.accumulate_directory(acc, path, false).ctx(format!(
                    "accumulation err='accumulating resources from '{path}'"
                ))?;
            } else {
                return Err(KustomizeError::new(format!(
                    "{}: accumulation err='accumulating resources from '{path}': evalsymlink failure on '{}' : lstat {}: no such file or directory'",
                    self.kfile(),
                    full.display(),
                    full.display()
                )));
            }
        }
        Ok(acc)
    }

    /// Build the directory entries of `paths` (bases) on several threads.
    /// Slot `i` holds base `i`'s result with the schema state before and
    /// after; entries that are not directories stay `None`.
    #[allow(clippy::type_complexity)]
    fn prebuild_bases(
        &self,
        paths: &[String],
    ) -> Vec<
        Option<(
            Result<Accumulator, KustomizeError>,
            SchemaState,
            SchemaState,
        )>,
    > {
        let dirs: Vec<usize> = paths
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                !is_remote(p)
                    && self.ldr.fs.kind(&self.ldr.resolve(p)) == Some(crate::fs::EntryKind::Dir)
            })
            .map(|(i, _)| i)
            .collect();
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(dirs.len());
        if threads < 2 {
            return Vec::new();
        }
        let start = self.session.schema.borrow().clone();
        let slots: Vec<Mutex<Option<_>>> = paths.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let cache = self.session.merge_cache.clone();
        let parent = BaseParent {
            ldr: self.ldr.clone(),
            build_metadata: self.k.build_metadata.clone(),
            origin: self.origin.clone(),
        };
        std::thread::scope(|scope| {
            for _ in 0..threads {
                let work = || loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&i) = dirs.get(n) else { break };
                    let session = Session {
                        merge_cache: cache.clone(),
                        schema: RefCell::new(start.clone()),
                        parallel: false,
                        _fs: std::marker::PhantomData,
                    };
                    let built = build_base(&session, &parent, &paths[i]);
                    let end = session.schema.borrow().clone();
                    *slots[i].lock().unwrap_or_else(|p| p.into_inner()) =
                        Some((built, start.clone(), end));
                };
                if std::thread::Builder::new()
                    .spawn_scoped(scope, work)
                    .is_err()
                {
                    // No thread: the remaining bases are built in order below.
                    break;
                }
            }
        });
        slots
            .into_iter()
            .map(|m| m.into_inner().unwrap_or_else(|p| p.into_inner()))
            .collect()
    }

    fn accumulate_directory(
        &mut self,
        acc: Accumulator,
        path: &str,
        component: bool,
    ) -> Result<Accumulator, KustomizeError> {
        let ldr = self.ldr.child(path).map_err(|e| {
            if component {
                e.context("loader.New")
            } else {
                e
            }
        })?;
        let root = ldr.root.clone();
        let mut sub = Target::load(self.session, ldr).ctx(format!(
            "couldn't make target for path '{}'",
            root.display()
        ))?;
        sub.k.build_metadata = self.k.build_metadata.clone();
        sub.origin = self.origin.as_ref().map(|o| o.child(path));
        sub.set_openapi(false)
            .map_err(|e| e.in_file(&sub.kfile()))?;
        if component && sub.k.kind != "Component" {
            return Err(KustomizeError::new(format!(
                "expected kind 'Component' for path '{}' but got '{}'",
                root.display(),
                sub.k.kind
            )));
        }
        if !component && sub.k.kind == "Component" {
            return Err(KustomizeError::new(format!(
                "expected kind != 'Component' for path '{}'",
                root.display()
            )));
        }
        if component {
            sub.accumulate(acc).ctx(format!(
                "recursed accumulation of path '{}'",
                root.display()
            ))
        } else {
            let sub_acc = sub.accumulate(Accumulator::new()).ctx(format!(
                "recursed accumulation of path '{}'",
                root.display()
            ))?;
            let mut acc = acc;
            acc.merge(sub_acc, self.session)
                .ctx(format!("recursed merging from path '{}'", root.display()))?;
            Ok(acc)
        }
    }

    fn absorb(&self, acc: &mut Accumulator, res: Resource) -> Result<(), KustomizeError> {
        acc.ids = None;
        let id = res.cur_id();
        let matches = resource::matching_any_id(&acc.res, &id);
        match matches.as_slice() {
            [] => match res.behavior {
                Behavior::Merge | Behavior::Replace => Err(KustomizeError::new(format!(
                    "id {id} does not exist; cannot merge or replace"
                ))),
                Behavior::Create => {
                    acc.ids = None;
                    resource::append(&mut acc.res, res)
                }
            },
            [i] => {
                let old = acc.res[*i].clone();
                let mut res = res;
                match res.behavior {
                    Behavior::Replace => copy_merge_metadata(&mut res, &old, false),
                    Behavior::Merge => copy_merge_metadata(&mut res, &old, true),
                    Behavior::Create => {
                        return Err(KustomizeError::new(format!(
                            "id {id} exists; behavior must be merge or replace"
                        )));
                    }
                }
                acc.res[*i] = res;
                Ok(())
            }
            _ => Err(KustomizeError::new(format!(
                "found multiple objects that could accept merge of {id}"
            ))),
        }
    }

    fn run_generators(&mut self, acc: &mut Accumulator) -> Result<(), KustomizeError> {
        acc.ids = None;
        let global = GeneratorOptions::parse(self.k.generator_options.as_ref())?;
        let gen_origin = self.origin.as_ref().map(|o| o.configured(&self.file_name));
        for (list, is_secret, kind) in [
            (
                self.k.config_map_generator.clone(),
                false,
                "ConfigMapGenerator",
            ),
            (self.k.secret_generator.clone(), true, "SecretGenerator"),
        ] {
            for args in &list {
                let mut r = generators::generate(args, is_secret, global.as_ref(), &self.ldr, true)
                    .ctx(format!(
                        "{}: {}",
                        self.kfile(),
                        if is_secret {
                            "secretGenerator"
                        } else {
                            "configMapGenerator"
                        }
                    ))?;
                if let Some(o) = &gen_origin {
                    origin::set_origin(&mut r, &o.by_builtin(kind));
                }
                self.absorb(acc, r).ctx("merging from generator")?;
            }
        }
        let configs = self.plugin_configs(&self.k.generators.clone())?;
        for (cfg, cfg_origin) in configs {
            let made = self.run_generator_plugin(&cfg)?;
            for mut r in made {
                if let Some(o) = &cfg_origin {
                    origin::set_origin(&mut r, &origin::from_plugin(o, &cfg));
                }
                self.absorb(acc, r).ctx("merging from generator")?;
            }
        }
        Ok(())
    }

    /// Plugin configs named in `generators:`/`transformers:` (inline or files/dirs).
    /// Each config comes with its own origin when build metadata is on.
    fn plugin_configs(
        &mut self,
        entries: &[String],
    ) -> Result<Vec<(Value, Option<origin::Origin>)>, KustomizeError> {
        let mut out = Vec::new();
        let mut paths = Vec::new();
        let inline_origin = self.origin.as_ref().map(|o| o.for_path(&self.file_name));
        for e in entries {
            match crate::patches::parse_sm(e) {
                Some(docs) if !docs.is_empty() && docs.iter().all(|d| d.get("kind").is_some()) => {
                    out.extend(docs.into_iter().map(|d| (d, inline_origin.clone())))
                }
                _ => paths.push(e.clone()),
            }
        }
        if !paths.is_empty() {
            let acc = self.accumulate_resources(Accumulator::new(), &paths)?;
            out.extend(acc.res.into_iter().map(|r| (r.obj, r.origin)));
        }
        Ok(out)
    }

    fn check_builtin(cfg: &Value) -> Result<String, KustomizeError> {
        let kind = cfg
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let api = cfg.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let annotations = cfg
            .pointer("/metadata/annotations")
            .and_then(Value::as_object);
        if annotations.is_some_and(|a| {
            a.contains_key("config.kubernetes.io/function")
                || a.contains_key("config.k8s.io/function")
        }) {
            return Err(KustomizeError::new(format!(
                "plugin '{kind}': KRM functions (exec/container) are not supported yet"
            )));
        }
        if api != "builtin" {
            return Err(KustomizeError::new(format!(
                "external plugins disabled; unable to load external plugin '{kind}' (external and exec plugins are not supported yet)"
            )));
        }
        Ok(kind)
    }

    fn run_generator_plugin(&self, cfg: &Value) -> Result<Vec<Resource>, KustomizeError> {
        let kind = Self::check_builtin(cfg)?;
        match kind.as_str() {
            "ConfigMapGenerator" | "SecretGenerator" => {
                let mut args = cfg.clone();
                if let Some(m) = args.as_object_mut() {
                    let md = m.remove("metadata");
                    m.remove("apiVersion");
                    m.remove("kind");
                    if let Some(Value::Object(md)) = md {
                        for k in ["name", "namespace"] {
                            if let Some(v) = md.get(k) {
                                m.entry(k).or_insert(v.clone());
                            }
                        }
                    }
                }
                let r =
                    generators::generate(&args, kind == "SecretGenerator", None, &self.ldr, false)?;
                Ok(vec![r])
            }
            "IAMPolicyGenerator" => iam_policy(cfg).map(|r| vec![r]),
            other => Err(KustomizeError::new(format!(
                "unable to load builtin {other}.builtin.[noGrp] as a generator"
            ))),
        }
    }

    fn run_transformers(&mut self, acc: &mut Accumulator) -> Result<(), KustomizeError> {
        acc.ids = None;
        let k = self.k.clone();
        let kfile = self.kfile();
        let tc = acc.tc.clone();
        let schema = self.session.schema.borrow().schema.clone();
        let trans_origin = self.origin.as_ref().map(|o| o.configured(&self.file_name));
        let note = |acc: &mut Accumulator, kind: &str| {
            if let Some(o) = &trans_origin {
                origin::add_transformation(&mut acc.res, &o.by_builtin(kind));
            }
        };
        if !k.patches_strategic_merge.is_empty() {
            let patches = patches::load_psm(&k.patches_strategic_merge, &self.ldr).map_err(|e| {
                e.context(format!("{kfile}: trouble configuring builtin PatchStrategicMergeTransformer with config: paths {:?}", k.patches_strategic_merge))
            })?;
            patches::apply_psm(&mut acc.res, &patches, &schema)?;
            note(acc, "PatchStrategicMergeTransformer");
        }
        for p in &k.patches {
            let entry = PatchEntry::parse(p, &self.ldr).ctx(format!(
                "{kfile}: trouble configuring builtin PatchTransformer with config: `{p}`"
            ))?;
            entry.apply(&mut acc.res, &schema)?;
            note(acc, "PatchTransformer");
        }
        if !k.namespace.is_empty() {
            transforms::namespace(
                &mut acc.res,
                &k.namespace,
                &tc.namespace,
                "defaultOnly",
                false,
            )?;
            note(acc, "NamespaceTransformer");
        }
        if !k.name_prefix.is_empty() {
            transforms::prefix_suffix(&mut acc.res, &k.name_prefix, "", &tc.name_prefix)?;
            note(acc, "PrefixTransformer");
        }
        if !k.name_suffix.is_empty() {
            transforms::prefix_suffix(&mut acc.res, "", &k.name_suffix, &tc.name_suffix)?;
            note(acc, "SuffixTransformer");
        }
        if !k.labels.is_empty() || !k.common_labels.is_empty() {
            for l in &k.labels {
                let (pairs, specs) = transforms::label_entry(l, &tc).ctx(&kfile)?;
                transforms::set_entries(&mut acc.res, &pairs, &specs)?;
            }
            transforms::set_entries(&mut acc.res, &k.common_labels, &tc.common_labels)?;
            note(acc, "LabelTransformer");
        }
        if !k.common_annotations.is_empty() {
            transforms::set_entries(&mut acc.res, &k.common_annotations, &tc.common_annotations)?;
            note(acc, "AnnotationsTransformer");
        }
        for p in &k.patches_json6902 {
            let (target, ops) = patches::legacy_json6902(p, &self.ldr).ctx(format!(
                "{kfile}: trouble configuring builtin PatchJson6902Transformer"
            ))?;
            patches::apply_json(&mut acc.res, &target, &ops)?;
            note(acc, "PatchJson6902Transformer");
        }
        for r in &k.replicas {
            transforms::replicas(&mut acc.res, r, &tc.replicas).ctx(&kfile)?;
            note(acc, "ReplicaCountTransformer");
        }
        for i in &k.images {
            let rule = transforms::ImageRule::parse(i).ctx(&kfile)?;
            transforms::images(&mut acc.res, &rule, &tc.images).ctx(&kfile)?;
            note(acc, "ImageTagTransformer");
        }
        if !k.replacements.is_empty() {
            let reps = crate::replacements::load(&k.replacements, &self.ldr).ctx(&kfile)?;
            crate::replacements::apply(&mut acc.res, &reps)?;
            note(acc, "ReplacementTransformer");
        }
        let configs = self.plugin_configs(&k.transformers)?;
        for (cfg, cfg_origin) in configs {
            self.run_transformer_plugin(acc, &cfg, &schema)?;
            if let Some(o) = &cfg_origin {
                origin::add_transformation(&mut acc.res, &origin::from_plugin(o, &cfg));
            }
        }
        Ok(())
    }

    fn run_transformer_plugin(
        &self,
        acc: &mut Accumulator,
        cfg: &Value,
        schema: &MergeSchema,
    ) -> Result<(), KustomizeError> {
        let kind = Self::check_builtin(cfg)?;
        let m = cfg.as_object().cloned().unwrap_or_default();
        let specs = |name: &str| -> Result<Option<Vec<FieldSpec>>, KustomizeError> {
            match field(&m, name) {
                Some(Value::Array(a)) => Ok(Some(
                    a.iter()
                        .map(FieldSpec::from_value)
                        .collect::<Result<_, _>>()?,
                )),
                _ => Ok(None),
            }
        };
        let s = |name: &str| {
            field(&m, name)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let ctx = format!("{}: transformer {kind}", self.kfile());
        match kind.as_str() {
            "PatchTransformer" => {
                let mut p = serde_json::Map::new();
                for key in ["path", "patch", "target", "options"] {
                    if let Some(v) = field(&m, key) {
                        p.insert(key.into(), v.clone());
                    }
                }
                let entry = PatchEntry::parse(&Value::Object(p), &self.ldr).ctx(&ctx)?;
                entry.apply(&mut acc.res, schema)
            }
            "PatchStrategicMergeTransformer" => {
                let mut entries: Vec<String> = Vec::new();
                if let Some(Value::Array(ps)) = field(&m, "paths") {
                    entries.extend(ps.iter().filter_map(Value::as_str).map(str::to_string));
                }
                if let Some(Value::String(p)) = field(&m, "patches") {
                    entries.push(p.clone());
                }
                let patches = patches::load_psm(&entries, &self.ldr).ctx(&ctx)?;
                patches::apply_psm(&mut acc.res, &patches, schema)
            }
            "PatchJson6902Transformer" => {
                let mut p = serde_json::Map::new();
                for (key, to) in [("target", "target"), ("path", "path"), ("jsonOp", "patch")] {
                    if let Some(v) = field(&m, key) {
                        p.insert(to.into(), v.clone());
                    }
                }
                let (target, ops) =
                    patches::legacy_json6902(&Value::Object(p), &self.ldr).ctx(&ctx)?;
                patches::apply_json(&mut acc.res, &target, &ops)
            }
            "PrefixSuffixTransformer" | "PrefixTransformer" | "SuffixTransformer" => {
                let fss = specs("fieldSpecs")?.unwrap_or_default();
                transforms::prefix_suffix(&mut acc.res, &s("prefix"), &s("suffix"), &fss)
            }
            "LabelTransformer" | "AnnotationsTransformer" => {
                let key = if kind == "LabelTransformer" {
                    "labels"
                } else {
                    "annotations"
                };
                let pairs = match field(&m, key) {
                    Some(v) => string_map(key, v)?,
                    None => Vec::new(),
                };
                let fss = specs("fieldSpecs")?.unwrap_or_default();
                transforms::set_entries(&mut acc.res, &pairs, &fss)
            }
            "NamespaceTransformer" => {
                let ns = cfg
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let fss = specs("fieldSpecs")?.unwrap_or_default();
                let mode = s("setRoleBindingSubjects");
                let mode = if mode.is_empty() {
                    "defaultOnly".to_string()
                } else {
                    mode
                };
                if !["defaultOnly", "allServiceAccounts", "none"].contains(&mode.as_str()) {
                    return Err(KustomizeError::new(format!(
                        "{ctx}: invalid value \"{mode}\" for setRoleBindingSubjects: must be one of \"defaultOnly\", \"none\" or \"allServiceAccounts\""
                    )));
                }
                let unset_only = field(&m, "unsetOnly")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                transforms::namespace(&mut acc.res, ns, &fss, &mode, unset_only)
            }
            "ImageTagTransformer" => {
                let rule =
                    transforms::ImageRule::parse(field(&m, "imageTag").unwrap_or(&Value::Null))
                        .ctx(&ctx)?;
                let fss = specs("fieldSpecs")?.unwrap_or_else(|| acc.tc.images.clone());
                transforms::images(&mut acc.res, &rule, &fss)
            }
            "ReplicaCountTransformer" => {
                let fss = specs("fieldSpecs")?.unwrap_or_default();
                transforms::replicas(
                    &mut acc.res,
                    field(&m, "replica").unwrap_or(&Value::Null),
                    &fss,
                )
            }
            "ReplacementTransformer" => {
                let list = match field(&m, "replacements") {
                    Some(Value::Array(a)) => a.clone(),
                    _ => Vec::new(),
                };
                let reps = crate::replacements::load(&list, &self.ldr).ctx(&ctx)?;
                crate::replacements::apply(&mut acc.res, &reps)
            }
            "HashTransformer" => {
                for r in acc.res.iter_mut() {
                    if r.needs_hash {
                        let h = crate::hash::hash(&r.obj);
                        r.store_previous_id();
                        let n = format!("{}-{h}", r.name());
                        r.set_name(&n);
                        r.needs_hash = false;
                    }
                }
                Ok(())
            }
            other => Err(KustomizeError::new(format!(
                "unable to load builtin {other}.builtin.[noGrp]"
            ))),
        }
    }
}

/// The builtin IAMPolicyGenerator: a GKE workload-identity ServiceAccount.
fn iam_policy(cfg: &Value) -> Result<Resource, KustomizeError> {
    let s = |p: &str| {
        cfg.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let cloud = s("/cloud");
    if cloud != "gke" {
        return Err(KustomizeError::new(format!(
            "IAMPolicyGenerator: cloud '{cloud}' is not supported; only gke is"
        )));
    }
    let (name, ns) = (
        s("/kubernetesService/name"),
        s("/kubernetesService/namespace"),
    );
    let (gsa, project) = (s("/serviceAccount/name"), s("/serviceAccount/projectId"));
    if name.is_empty() || gsa.is_empty() || project.is_empty() {
        return Err(KustomizeError::new(
            "IAMPolicyGenerator: kubernetesService.name, serviceAccount.name and serviceAccount.projectId are required",
        ));
    }
    let mut md = serde_json::Map::new();
    md.insert(
        "annotations".into(),
        serde_json::json!({"iam.gke.io/gcp-service-account": format!("{gsa}@{project}.iam.gserviceaccount.com")}),
    );
    md.insert("name".into(), Value::String(name));
    if !ns.is_empty() {
        md.insert("namespace".into(), Value::String(ns));
    }
    Ok(Resource::new(serde_json::json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": Value::Object(md),
    })))
}

/// What building a base needs from the kustomization that lists it.
struct BaseParent<'a> {
    ldr: Loader<'a>,
    build_metadata: Vec<String>,
    origin: Option<origin::OriginCtx>,
}

/// Build one base (a `resources:` directory) into its own accumulator.
fn build_base(
    session: &Session,
    parent: &BaseParent,
    path: &str,
) -> Result<Accumulator, KustomizeError> {
    let ldr = parent.ldr.child(path)?;
    let root = ldr.root.clone();
    let mut sub = Target::load(session, ldr).ctx(format!(
        "couldn't make target for path '{}'",
        root.display()
    ))?;
    sub.k.build_metadata = parent.build_metadata.clone();
    sub.origin = parent.origin.as_ref().map(|o| o.child(path));
    sub.set_openapi(false)
        .map_err(|e| e.in_file(&sub.kfile()))?;
    if sub.k.kind == "Component" {
        return Err(KustomizeError::new(format!(
            "expected kind != 'Component' for path '{}'",
            root.display()
        )));
    }
    sub.accumulate(Accumulator::new()).ctx(format!(
        "recursed accumulation of path '{}'",
        root.display()
    ))
}

/// kustomize's CopyMergeMetaDataFieldsFrom (+ data merge for `merge`).
fn copy_merge_metadata(res: &mut Resource, old: &Resource, merge_data: bool) {
    let mut labels = old.labels();
    for (k, v) in res.labels() {
        labels.insert(k, v);
    }
    let mut annos = old.annotations();
    for (k, v) in res.annotations() {
        annos.insert(k, v);
    }
    let name = old.name().to_string();
    let ns = old.namespace().to_string();
    {
        let md = res.metadata_mut();
        md.insert("name".into(), Value::String(name));
        if ns.is_empty() {
            md.remove("namespace");
        } else {
            md.insert("namespace".into(), Value::String(ns));
        }
        if labels.is_empty() {
            md.remove("labels");
        } else {
            md.insert("labels".into(), Value::Object(labels));
        }
        if annos.is_empty() {
            md.remove("annotations");
        } else {
            md.insert("annotations".into(), Value::Object(annos));
        }
    }
    if merge_data {
        for key in ["data", "binaryData"] {
            if let Some(Value::Object(od)) = old.obj.get(key) {
                let mut merged = od.clone();
                if let Some(Value::Object(nd)) = res.obj.get(key) {
                    for (k, v) in nd {
                        merged.insert(k.clone(), v.clone());
                    }
                }
                resource::ensure_object(&mut res.obj).insert(key.into(), Value::Object(merged));
            }
        }
    }
    res.prev = old.prev.clone();
    res.ref_vars = old.ref_vars.clone();
    res.prefixes = old.prefixes.clone();
    res.suffixes = old.suffixes.clone();
    res.needs_hash = res.needs_hash && old.needs_hash;
    if merge_data && old.origin.is_some() {
        res.origin = old.origin.clone();
    }
}
