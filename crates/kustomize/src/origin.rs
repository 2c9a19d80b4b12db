//! `buildMetadata`: origin and transformer annotations that say which file
//! produced each resource and which transformers touched it.

use crate::resource::Resource;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    pub path: String,
    pub configured_in: String,
    pub configured_by_api_version: String,
    pub configured_by_kind: String,
    pub configured_by_name: String,
    pub configured_by_namespace: String,
}

impl Origin {
    fn yaml_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if !self.path.is_empty() {
            lines.push(format!("path: {}", self.path));
        }
        if !self.configured_in.is_empty() {
            lines.push(format!("configuredIn: {}", self.configured_in));
        }
        if !self.configured_by_kind.is_empty() {
            lines.push("configuredBy:".into());
            lines.push(format!("  apiVersion: {}", self.configured_by_api_version));
            lines.push(format!("  kind: {}", self.configured_by_kind));
            if !self.configured_by_name.is_empty() {
                lines.push(format!("  name: {}", self.configured_by_name));
            }
            if !self.configured_by_namespace.is_empty() {
                lines.push(format!("  namespace: {}", self.configured_by_namespace));
            }
        }
        lines
    }

    pub fn to_yaml(&self) -> String {
        self.yaml_lines().iter().map(|l| format!("{l}\n")).collect()
    }
}

pub fn transformations_yaml(list: &[Origin]) -> String {
    let mut out = String::new();
    for o in list {
        for (i, l) in o.yaml_lines().iter().enumerate() {
            out.push_str(if i == 0 { "- " } else { "  " });
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

/// Join paths as Go's filepath.Join does (then clean).
pub fn join(a: &str, b: &str) -> String {
    let joined = if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}/{b}")
    };
    let cleaned = crate::fs::clean(std::path::Path::new(&joined));
    cleaned.to_string_lossy().into_owned()
}

/// Where in the tree the current kustomization sits, relative to the top.
#[derive(Debug, Clone, Default)]
pub struct OriginCtx {
    pub path: String,
}

impl OriginCtx {
    pub fn for_path(&self, p: &str) -> Origin {
        Origin {
            path: join(&self.path, p),
            ..Origin::default()
        }
    }

    pub fn child(&self, p: &str) -> OriginCtx {
        OriginCtx {
            path: join(&self.path, p),
        }
    }

    pub fn configured(&self, file: &str) -> ConfiguredIn {
        ConfiguredIn {
            file: join(&self.path, file),
        }
    }
}

pub struct ConfiguredIn {
    file: String,
}

impl ConfiguredIn {
    pub fn by_builtin(&self, kind: &str) -> Origin {
        Origin {
            configured_in: self.file.clone(),
            configured_by_api_version: "builtin".into(),
            configured_by_kind: kind.to_string(),
            ..Origin::default()
        }
    }
}

/// The origin of objects made or changed by a plugin configured by `cfg`,
/// which itself came from `cfg_origin` (kustomize's OriginFromCustomPlugin).
pub fn from_plugin(cfg_origin: &Origin, cfg: &Value) -> Origin {
    let s = |p: &str| {
        cfg.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    Origin {
        path: String::new(),
        configured_in: cfg_origin.path.clone(),
        configured_by_api_version: s("/apiVersion"),
        configured_by_kind: s("/kind"),
        configured_by_name: s("/metadata/name"),
        configured_by_namespace: s("/metadata/namespace"),
    }
}

pub fn set_origin(r: &mut Resource, o: &Origin) {
    if r.origin.is_none() {
        r.origin = Some(o.clone());
    }
}

pub fn add_transformation(list: &mut [Resource], o: &Origin) {
    for r in list.iter_mut() {
        if r.origin.is_none() {
            r.origin = Some(o.clone());
        } else {
            r.transformations.push(o.clone());
        }
    }
}

/// Write the annotations the build metadata options ask for.
pub fn finish(r: &mut Resource, origins: bool, transformers: bool) {
    let mut annos = Vec::new();
    if let (true, Some(o)) = (origins, &r.origin) {
        annos.push(("config.kubernetes.io/origin", o.to_yaml()));
    }
    if transformers && !r.transformations.is_empty() {
        annos.push((
            "alpha.config.kubernetes.io/transformations",
            transformations_yaml(&r.transformations),
        ));
    }
    if annos.is_empty() {
        return;
    }
    let md = r.metadata_mut();
    let a = md
        .entry("annotations")
        .or_insert_with(|| Value::Object(serde_json::Map::new()));
    let a = crate::resource::ensure_object(a);
    for (k, v) in annos {
        a.insert(k.to_string(), Value::String(v));
    }
}
