//! Rendering one unit's directory into objects, with Flux Kustomization
//! semantics: a kustomization file is generated when the directory has none
//! (every manifest under it; sub-directories with their own kustomization
//! file as a whole), `targetNamespace`, `namePrefix`, `patches` and `images`
//! are merged into the kustomization before the build (as Flux's
//! kustomize-controller does), and `postBuild` substitution runs on each
//! rendered object.

use crate::config::{Fleet, Renderer};
use crate::subst;
use flotilla_kustomize::{BuildOptions, DiskFs, FileSystem, LoadRestrictor, Reorder};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];
/// Objects carrying this annotation or label with value `disabled` are not substituted.
pub const SUBSTITUTE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/substitute";

/// Everything that decides a render; equal specs render equal output.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RenderSpec {
    pub dir: PathBuf,
    pub renderer: Renderer,
    pub target_namespace: Option<String>,
    pub name_prefix: Option<String>,
    pub patches: Vec<Value>,
    pub images: Vec<Value>,
    pub substitution: Option<Substitution>,
    /// Decrypt SOPS-encrypted files as kustomize reads them.
    pub decrypt: bool,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Substitution {
    pub variables: BTreeMap<String, String>,
    pub strict: bool,
}

impl Serialize for Renderer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            Renderer::Auto => "auto",
            Renderer::Kustomize => "kustomize",
            Renderer::Plain => "plain",
        })
    }
}

/// SOPS decryption of rendered objects, with identities loaded once, on
/// first need: the fleet's `sops.ageKeyFiles` plus sops' environment.
pub struct Decryptor {
    files: Vec<PathBuf>,
    ring: std::sync::OnceLock<Result<flotilla_secrets::sops::Keyring, String>>,
}

impl Default for Decryptor {
    /// Identities from sops' environment and default paths only.
    fn default() -> Decryptor {
        Decryptor::with_key_files(vec![])
    }
}

impl Decryptor {
    pub fn new(fleet: &Fleet) -> Decryptor {
        Decryptor::with_key_files(
            fleet
                .sops
                .age_key_files
                .iter()
                .filter_map(|f| fleet.resolve_path(f).ok())
                .collect(),
        )
    }

    /// Identities from these age key files, plus sops' environment.
    pub fn with_key_files(files: Vec<PathBuf>) -> Decryptor {
        Decryptor {
            files,
            ring: std::sync::OnceLock::new(),
        }
    }

    fn keyring(&self) -> Result<&flotilla_secrets::sops::Keyring, String> {
        self.ring
            .get_or_init(|| {
                let mut ring = flotilla_secrets::sops::Keyring::from_env()
                    .map_err(|e| format!("loading SOPS keys: {e}"))?;
                for f in &self.files {
                    let text = std::fs::read_to_string(f)
                        .map_err(|e| format!("reading age key file {}: {e}", f.display()))?;
                    ring.add_age_keys(&text, &f.display().to_string())
                        .map_err(|e| format!("age key file {}: {e}", f.display()))?;
                }
                Ok(ring)
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The plaintext of a SOPS-encrypted manifest file (MAC verified), or
    /// `None` when the file is not encrypted.
    fn decrypt_file(&self, path: &Path, bytes: &[u8]) -> Result<Option<Vec<u8>>, String> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let format = if name.ends_with(".yaml") || name.ends_with(".yml") {
            flotilla_secrets::sops::Format::Yaml
        } else if name.ends_with(".json") {
            flotilla_secrets::sops::Format::Json
        } else {
            return Ok(None);
        };
        let text = String::from_utf8_lossy(bytes);
        if !(text.contains("ENC[") && text.contains("sops")) {
            return Ok(None);
        }
        let ring = self.keyring()?;
        let docs = flotilla_secrets::engine::decrypt_manifests(bytes, format, ring)
            .map_err(|e| format!("{}: SOPS decryption failed: {e}", path.display()))?;
        Ok(Some(flotilla_model::yaml::emit_stream(&docs).into_bytes()))
    }
}

/// One render's outcome, shared.
pub type Rendered = Arc<Result<Vec<Value>, String>>;

/// Renders shared across clusters: each distinct spec is built once.
#[derive(Default)]
pub struct RenderCache {
    done: Mutex<HashMap<String, Rendered>>,
}

impl RenderCache {
    pub fn render(&self, spec: &RenderSpec, keys: &Decryptor) -> Rendered {
        let key = serde_json::to_string(spec).unwrap_or_default();
        if let Some(hit) = self.done.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return hit;
        }
        let result = Arc::new(render(spec, keys));
        if let Ok(mut m) = self.done.lock() {
            m.insert(key, result.clone());
        }
        result
    }

    /// How many distinct renders ran.
    pub fn len(&self) -> usize {
        self.done.lock().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Render a unit directory. Errors name the directory and the cause.
pub fn render(spec: &RenderSpec, keys: &Decryptor) -> Result<Vec<Value>, String> {
    let dir = std::fs::canonicalize(&spec.dir)
        .map_err(|e| format!("path {}: {e}", spec.dir.display()))?;
    if !dir.is_dir() {
        return Err(format!("path {} is not a directory", dir.display()));
    }
    let existing = KUSTOMIZATION_FILES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file());
    let (kfile, mut kustomization, generated) = match (spec.renderer, existing) {
        (Renderer::Kustomize, None) => {
            return Err(format!("path {}: no kustomization file", dir.display()));
        }
        (Renderer::Plain, _) | (Renderer::Auto, None) => (
            dir.join("kustomization.yaml"),
            generate_kustomization(&dir)?,
            true,
        ),
        (_, Some(file)) => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("reading {}: {e}", file.display()))?;
            let docs = flotilla_model::yaml::parse_stream_with(
                &text,
                flotilla_model::yaml::Dialect::SigsYaml,
            )
            .map_err(|e| format!("{}: {e}", file.display()))?;
            let doc = docs.into_iter().next().unwrap_or_else(|| json!({}));
            (file, doc, false)
        }
    };
    let changed = merge_transforms(&mut kustomization, spec)
        .map_err(|e| format!("{}: {e}", kfile.display()))?;
    // As Flux's kustomize-controller builds: no load restriction, no legacy reorder.
    let options = BuildOptions {
        load_restrictor: LoadRestrictor::None,
        reorder: Reorder::None,
        ..Default::default()
    };
    let fs = Overlay {
        kustomization: (generated || changed).then(|| {
            (
                kfile.clone(),
                flotilla_model::yaml::emit(&kustomization).into_bytes(),
            )
        }),
        keys: spec.decrypt.then_some(keys),
    };
    let objects = flotilla_kustomize::build_with(&fs, &dir, &options)
        .map_err(|e| format!("building {}: {e}", dir.display()))?;
    match &spec.substitution {
        Some(s) => objects
            .into_iter()
            .map(|o| substitute_object(o, s))
            .collect(),
        None => Ok(objects),
    }
}

/// Merge Flux's transforms into a kustomization; whether anything changed.
fn merge_transforms(k: &mut Value, spec: &RenderSpec) -> Result<bool, String> {
    let Some(map) = k.as_object_mut() else {
        return Err("the kustomization is not a mapping".into());
    };
    let mut changed = false;
    if let Some(ns) = &spec.target_namespace {
        map.insert("namespace".into(), json!(ns));
        changed = true;
    }
    if let Some(prefix) = &spec.name_prefix {
        map.insert("namePrefix".into(), json!(prefix));
        changed = true;
    }
    for (field, extra) in [("patches", &spec.patches), ("images", &spec.images)] {
        if extra.is_empty() {
            continue;
        }
        let list = map.entry(field).or_insert_with(|| json!([]));
        let Some(items) = list.as_array_mut() else {
            return Err(format!("{field} is not a list"));
        };
        if field == "images" {
            // A Flux image entry replaces the kustomization's entry of the same name.
            for img in extra {
                items.retain(|i| i.get("name") != img.get("name"));
            }
        }
        items.extend(extra.iter().cloned());
        changed = true;
    }
    Ok(changed)
}

/// Flux's fallback when a directory has no kustomization file: every
/// Kubernetes manifest under it, and sub-directories that have their own
/// kustomization file as one resource each.
pub fn generate_kustomization(dir: &Path) -> Result<Value, String> {
    let mut resources = Vec::new();
    collect_resources(dir, dir, &mut resources)?;
    Ok(json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
    }))
}

fn collect_resources(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), String> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("reading {}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        let rel = path
            .strip_prefix(root)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        if path.is_dir() {
            if KUSTOMIZATION_FILES.iter().any(|k| path.join(k).is_file()) {
                out.push(rel);
            } else {
                collect_resources(root, &path, out)?;
            }
        } else if (name.ends_with(".yaml") || name.ends_with(".yml")) && is_manifest_file(&path)? {
            out.push(rel);
        }
    }
    Ok(())
}

/// A file whose documents all look like Kubernetes objects (and are not a
/// kustomization or a SOPS config).
fn is_manifest_file(path: &Path) -> Result<bool, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let docs = flotilla_model::yaml::parse_stream(&text)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let docs: Vec<&Value> = docs.iter().filter(|d| !d.is_null()).collect();
    Ok(!docs.is_empty()
        && docs.iter().all(|d| {
            d.get("apiVersion").is_some_and(Value::is_string)
                && d.get("kind").is_some_and(Value::is_string)
                && !d["apiVersion"]
                    .as_str()
                    .is_some_and(|a| a.starts_with("kustomize.config.k8s.io/"))
        }))
}

/// Substitute variables into one object's YAML text, as Flux does.
pub fn substitute_object(obj: Value, s: &Substitution) -> Result<Value, String> {
    let disabled =
        |field: &str| obj["metadata"][field][SUBSTITUTE_ANNOTATION].as_str() == Some("disabled");
    if disabled("annotations") || disabled("labels") {
        return Ok(obj);
    }
    let name = flotilla_model::ObjectRef::of(&obj)
        .map(|r| r.to_string())
        .unwrap_or_else(|| "object".into());
    let text = flotilla_model::yaml::emit(&obj);
    let out =
        subst::substitute(&text, &s.variables, s.strict).map_err(|e| format!("{name}: {e}"))?;
    let mut docs = flotilla_model::yaml::parse_stream(&out)
        .map_err(|e| format!("{name}: after substitution: {e}"))?;
    match docs.len() {
        1 => Ok(docs.remove(0)),
        n => Err(format!(
            "{name}: after substitution the object is {n} documents"
        )),
    }
}

/// The disk, with one kustomization file replaced (or added) and, when
/// asked, SOPS-encrypted files decrypted as they are read (so the MAC is
/// checked over the file as written, before kustomize reorders anything).
struct Overlay<'a> {
    kustomization: Option<(PathBuf, Vec<u8>)>,
    keys: Option<&'a Decryptor>,
}

impl Overlay<'_> {
    fn is_kfile(&self, path: &Path) -> bool {
        self.kustomization.as_ref().is_some_and(|(f, _)| f == path)
    }
}

impl FileSystem for Overlay<'_> {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        if let Some((file, content)) = &self.kustomization
            && path == file
        {
            return Ok(content.clone());
        }
        let bytes = DiskFs.read(path)?;
        match self.keys {
            Some(keys) => match keys.decrypt_file(path, &bytes) {
                Ok(Some(plain)) => Ok(plain),
                Ok(None) => Ok(bytes),
                Err(e) => Err(io::Error::other(e)),
            },
            None => Ok(bytes),
        }
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        let mut names = DiskFs.read_dir(path)?;
        if let Some((file, _)) = &self.kustomization
            && Some(path) == file.parent()
            && let Some(name) = file.file_name().and_then(|n| n.to_str())
            && !names.iter().any(|n| n == name)
        {
            names.push(name.to_owned());
            names.sort();
        }
        Ok(names)
    }
    fn is_dir(&self, path: &Path) -> bool {
        !self.is_kfile(path) && DiskFs.is_dir(path)
    }
    fn exists(&self, path: &Path) -> bool {
        self.is_kfile(path) || DiskFs.exists(path)
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

    const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  env: ${env:=dev}\n  replicas: \"${replicas}\"\n";

    #[test]
    fn generates_a_kustomization_like_flux() {
        let t = tempfile::tempdir().unwrap();
        write(t.path(), "a.yaml", CM);
        write(t.path(), "notes.yaml", "just: data\n");
        write(
            t.path(),
            "sub/b.yaml",
            &CM.replace("name: cfg", "name: cfg2"),
        );
        write(t.path(), "kust/kustomization.yaml", "resources: [c.yaml]\n");
        write(
            t.path(),
            "kust/c.yaml",
            &CM.replace("name: cfg", "name: cfg3"),
        );
        write(
            t.path(),
            "kust/ignored.yaml",
            &CM.replace("name: cfg", "name: nope"),
        );
        let k = generate_kustomization(t.path()).unwrap();
        assert_eq!(k["resources"], json!(["a.yaml", "kust", "sub/b.yaml"]));
        let objs = render(
            &RenderSpec {
                dir: t.path().into(),
                ..Default::default()
            },
            &Decryptor::default(),
        )
        .unwrap();
        let names: Vec<_> = objs
            .iter()
            .map(|o| o["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["cfg", "cfg3", "cfg2"]);
    }

    #[test]
    fn flux_transforms_and_substitution() {
        let t = tempfile::tempdir().unwrap();
        write(t.path(), "kustomization.yaml", "resources: [a.yaml]\n");
        write(t.path(), "a.yaml", CM);
        let spec = RenderSpec {
            dir: t.path().into(),
            target_namespace: Some("shop".into()),
            name_prefix: Some("p-".into()),
            patches: vec![
                json!({"patch": "- op: add\n  path: /data/extra\n  value: x\n", "target": {"kind": "ConfigMap"}}),
            ],
            substitution: Some(Substitution {
                variables: [("replicas".to_string(), "3".to_string())].into(),
                strict: false,
            }),
            ..Default::default()
        };
        let objs = render(&spec, &Decryptor::default()).unwrap();
        assert_eq!(objs.len(), 1);
        let o = &objs[0];
        assert_eq!(o["metadata"]["name"], "p-cfg");
        assert_eq!(o["metadata"]["namespace"], "shop");
        // As in Flux, substitution works on YAML text: a quoted "${replicas}"
        // is emitted plain, so a number substituted there becomes a number.
        assert_eq!(
            o["data"],
            json!({"env": "dev", "replicas": 3, "extra": "x"})
        );
        // The file on disk is untouched.
        assert_eq!(
            std::fs::read_to_string(t.path().join("kustomization.yaml")).unwrap(),
            "resources: [a.yaml]\n"
        );
        // Strict mode fails on the undefined variable, naming the object.
        let mut strict = spec.clone();
        strict.substitution = Some(Substitution {
            variables: BTreeMap::new(),
            strict: true,
        });
        let e = render(&strict, &Decryptor::default()).unwrap_err();
        assert!(
            e.contains("ConfigMap/shop/p-cfg") && e.contains("replicas"),
            "{e}"
        );
    }

    #[test]
    fn substitution_can_be_disabled_per_object() {
        let obj = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x", "annotations": {SUBSTITUTE_ANNOTATION: "disabled"}},
            "data": {"a": "${v}"}});
        let s = Substitution {
            variables: [("v".to_string(), "1".to_string())].into(),
            strict: true,
        };
        assert_eq!(substitute_object(obj.clone(), &s).unwrap(), obj);
    }

    #[test]
    fn missing_directory_is_named() {
        let e = render(
            &RenderSpec {
                dir: "/no/such/dir".into(),
                ..Default::default()
            },
            &Decryptor::default(),
        )
        .unwrap_err();
        assert!(e.contains("/no/such/dir"), "{e}");
    }
}
