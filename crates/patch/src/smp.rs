//! Strategic merge patch with kustomize's semantics.
//!
//! This follows kyaml's `merge2` walker as kustomize v5.5.0 drives it for
//! strategic merge patches (`ListIncreaseDirection: prepend`), including its
//! quirks, because rendered output must equal kustomize's:
//!
//! - maps merge key by key; `null` in the patch deletes; a base field that is
//!   `null` and untouched by the patch stays `null`; other `null`s vanish;
//! - a list merges element-wise only when the schema says `merge`; elements
//!   the patch names come first (patch order), then the base's others (base
//!   order); with several keys (ports), new elements come first, then all base
//!   elements in base order; `null` and `{}` elements are dropped;
//! - `$patch: replace` on a list element is undone by the final re-insertion of
//!   the base element (kyaml behaviour, checked against kustomize);
//! - a list element lacking its merge key makes every keyed base element go;
//! - where the base lacks a field, the patch's value is merged with itself,
//!   which strips directives and `null`s below it.
//!
//! Elements are kept in an arena and lists are index vectors, mirroring the
//! node identity kyaml relies on, so nothing is cloned per element except
//! patch content copied into the result.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::schema::{ArrayDef, SchemaData, Shape};
use crate::{MergeSchema, PatchError};

const PATCH_KEY: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ELEMENT_ORDER: &str = "$setElementOrder/";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList/";

/// Merge `patch` into `base` (both whole objects) as kustomize's strategic
/// merge does; the type for the schema is taken from `base` (then `patch`).
/// Returns `Value::Null` when the patch deletes the whole object
/// (`$patch: delete` at the top).
pub fn strategic_merge(
    base: &Value,
    patch: &Value,
    schema: &MergeSchema,
) -> Result<Value, PatchError> {
    Ok(strategic_merge_opt(base, patch, schema)?.unwrap_or(Value::Null))
}

/// As [`strategic_merge`], with `None` for a deleted object.
pub fn strategic_merge_opt(
    base: &Value,
    patch: &Value,
    schema: &MergeSchema,
) -> Result<Option<Value>, PatchError> {
    let mut walker = Walker {
        data: &schema.data,
        path: Vec::new(),
    };
    // kyaml elides directives from the patch as it applies them, and a patch
    // element visited twice (repeated keys) sees that: walk a copy.
    let mut patch = patch.clone();
    let merged = walker.merge(Some(base.clone()), Some(&mut patch), None)?;
    Ok(merged.filter(|v| !v.is_null()))
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Map,
    List,
    Scalar,
}

impl Kind {
    fn of(v: &Value) -> Option<Kind> {
        match v {
            Value::Null => None,
            Value::Object(_) => Some(Kind::Map),
            Value::Array(_) => Some(Kind::List),
            _ => Some(Kind::Scalar),
        }
    }
    fn name(self) -> &'static str {
        match self {
            Kind::Map => "map",
            Kind::List => "list",
            Kind::Scalar => "scalar",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Directive {
    Replace,
    Delete,
    Merge,
}

fn parse_directive(v: &Value) -> Result<Directive, String> {
    match scalar_text(v).as_str() {
        "replace" => Ok(Directive::Replace),
        "delete" => Ok(Directive::Delete),
        "merge" => Ok(Directive::Merge),
        other => Err(other.to_string()),
    }
}

/// The `$patch` directive of a map, if it has one.
fn map_directive(m: &Map<String, Value>) -> Option<Result<Directive, String>> {
    m.get(PATCH_KEY).map(parse_directive)
}

/// The `$patch` directive of a list: the first map element holding `$patch`,
/// if that is its only key (otherwise it belongs to the element).
fn list_directive(list: &[Value]) -> Option<Result<(Directive, String), String>> {
    let m = list
        .iter()
        .filter_map(Value::as_object)
        .find(|m| m.contains_key(PATCH_KEY))?;
    if m.len() > 1 {
        return None;
    }
    let v = m.get(PATCH_KEY)?;
    Some(parse_directive(v).map(|d| (d, scalar_text(v))))
}

/// Remove the directive elements (`$patch: <value>`) from a list, dropping
/// `null` and `{}` elements as kyaml's element setter does.
fn elide_list_directive(list: &mut Vec<Value>, value: &str) {
    list.retain(|e| {
        !is_null_or_empty_map(e)
            && match e.as_object() {
                Some(m) => m.get(PATCH_KEY).is_none_or(|p| scalar_text(p) != value),
                None => true,
            }
    });
}

/// A scalar's text as YAML holds it; "" for null, maps and lists.
fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// A YAML plain scalar as it would be read back.
fn typed_scalar(text: &str) -> Value {
    if let Ok(i) = text.parse::<i64>() {
        return Value::from(i);
    }
    match text {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => Value::String(text.to_string()),
    }
}

/// Whether a plain YAML scalar with this text would not be a string (YAML
/// 1.1 booleans, null, numbers), so a string with it was quoted.
fn reads_as_non_string(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", ".inf", "-.inf", "+.inf",
        ".nan",
    ];
    if s.is_empty() {
        return false;
    }
    if WORDS.iter().any(|w| w.eq_ignore_ascii_case(s)) {
        return true;
    }
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    !digits.is_empty()
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '_' || c == 'e' || c == 'E')
        && digits.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && digits.parse::<f64>().is_ok()
}

fn is_null_or_empty_map(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

fn non_null(v: Value) -> Option<Value> {
    (!v.is_null()).then_some(v)
}

/// Where a list's patch elements come from.
enum Source<'a> {
    /// No patch list: the base list is walked alone.
    None,
    /// The patch list is the destination itself (kyaml aliases the nodes).
    Aliased,
    List(&'a mut Vec<Value>),
}

/// apimachinery directives carried by a patch map.
#[derive(Default)]
struct MapExtras {
    retain_keys: Option<Vec<String>>,
    set_order: Vec<(String, Vec<Value>)>,
    delete_from: Vec<(String, Vec<Value>)>,
}

fn is_extra_directive(key: &str) -> bool {
    key == RETAIN_KEYS
        || key.starts_with(SET_ELEMENT_ORDER)
        || key.starts_with(DELETE_FROM_PRIMITIVE_LIST)
}

struct Walker<'s> {
    data: &'s SchemaData,
    path: Vec<String>,
}

impl<'s> Walker<'s> {
    fn path_string(&self) -> String {
        if self.path.is_empty() {
            return "(root)".to_string();
        }
        let mut s = String::new();
        for p in &self.path {
            if !s.is_empty() && !p.starts_with('[') {
                s.push('.');
            }
            s.push_str(p);
        }
        s
    }

    fn directive_error(&self, message: String) -> PatchError {
        PatchError::Directive {
            path: self.path_string(),
            message,
        }
    }

    fn unknown_strategy(&self, value: &str) -> PatchError {
        self.directive_error(format!("unknown patch strategy {value:?}"))
    }

    /// kyaml looks a map's type up by its own apiVersion/kind when the
    /// enclosing schema says nothing.
    fn schema_from_meta(&self, maps: [Option<&Value>; 2]) -> Option<&'s Shape> {
        maps.into_iter().flatten().find_map(|v| {
            let m = v.as_object()?;
            let api_version = m.get("apiVersion")?.as_str()?;
            let kind = m.get("kind")?.as_str()?;
            if api_version.is_empty() || kind.is_empty() {
                return None;
            }
            self.data.for_kind(api_version, kind)
        })
    }

    /// Walk one node. `None` clears the field; `Some(Null)` keeps a `null`.
    /// Directives are elided from `origin` as they are applied.
    fn merge(
        &mut self,
        dest: Option<Value>,
        origin: Option<&mut Value>,
        sch: Option<&'s Shape>,
    ) -> Result<Option<Value>, PatchError> {
        let dest_kind = dest.as_ref().and_then(Kind::of);
        let origin_kind = origin.as_deref().and_then(Kind::of);
        let Some(kind) = dest_kind.or(origin_kind) else {
            // Both null or missing: a base null the patch leaves alone stays.
            return Ok(match (&dest, &origin) {
                (Some(Value::Null), None) => Some(Value::Null),
                _ => None,
            });
        };
        if let (Some(b), Some(p)) = (dest_kind, origin_kind)
            && b != p
        {
            return Err(PatchError::KindMismatch {
                path: self.path_string(),
                base: b.name(),
                patch: p.name(),
            });
        }
        match kind {
            Kind::Map => {
                let sch = sch.or_else(|| self.schema_from_meta([dest.as_ref(), origin.as_deref()]));
                self.merge_map(dest, origin, sch)
            }
            Kind::List => match sch {
                Some(Shape::Arr(ad)) if ad.merge => self.merge_assoc_list(dest, origin, ad),
                _ => Ok(match origin {
                    Some(o) => non_null(o.clone()),
                    None => dest,
                }),
            },
            Kind::Scalar => Ok(match origin {
                Some(o) => match (&dest, &*o) {
                    // kyaml gives the new scalar the quoting style of the one it
                    // replaces; a base string that reads as a non-string must
                    // have been quoted, so the patch's bool/number is one too.
                    (Some(Value::String(b)), Value::Bool(_) | Value::Number(_))
                        if reads_as_non_string(b) =>
                    {
                        Some(Value::String(scalar_text(o)))
                    }
                    _ => non_null(o.clone()),
                },
                None => dest,
            }),
        }
    }

    fn merge_map(
        &mut self,
        dest: Option<Value>,
        origin: Option<&mut Value>,
        sch: Option<&'s Shape>,
    ) -> Result<Option<Value>, PatchError> {
        let Some(Value::Object(mut d)) = dest else {
            // The base lacks the map: the patch's map, merged with itself.
            let Some(Value::Object(o)) = origin else {
                return Ok(None);
            };
            match map_directive(o) {
                Some(Ok(Directive::Delete)) => {
                    o.shift_remove(PATCH_KEY);
                    return Ok(None);
                }
                Some(Ok(_)) => {
                    o.shift_remove(PATCH_KEY);
                }
                // kyaml ignores a bad directive here and keeps it as a field.
                Some(Err(_)) | None => {}
            }
            self.self_merge_fields(o, sch)?;
            return Ok(Some(Value::Object(o.clone())));
        };
        let mut o = match origin {
            None => None,
            Some(Value::Object(o)) => Some(o),
            // A null (or, already rejected, non-map) patch value clears.
            Some(_) => return Ok(None),
        };
        if let Some(om) = o.as_deref_mut() {
            match map_directive(om) {
                None => {}
                Some(Ok(Directive::Delete)) => {
                    om.shift_remove(PATCH_KEY);
                    return Ok(None);
                }
                Some(Ok(Directive::Replace)) => {
                    om.shift_remove(PATCH_KEY);
                    self.self_merge_fields(om, sch)?;
                    return Ok(Some(Value::Object(om.clone())));
                }
                Some(Ok(Directive::Merge)) => {
                    om.shift_remove(PATCH_KEY);
                }
                Some(Err(v)) => return Err(self.unknown_strategy(&v)),
            }
        }
        let extras = match o.as_deref() {
            Some(om) => self.extras_of(om.iter().filter(|(k, _)| is_extra_directive(k)))?,
            None => MapExtras::default(),
        };
        let mut names: Vec<String> = d.keys().cloned().collect();
        if let Some(om) = o.as_deref() {
            names.extend(
                om.keys()
                    .filter(|k| !is_extra_directive(k) && !d.contains_key(*k))
                    .cloned(),
            );
        }
        names.sort_unstable();
        for name in names {
            let field_sch = self.data.field(sch, &name);
            let dv = d.get_mut(&name).map(std::mem::take);
            let ov = o.as_deref_mut().and_then(|om| om.get_mut(&name));
            self.path.push(name.clone());
            let merged = self.merge(dv, ov, field_sch);
            self.path.pop();
            set_field(&mut d, name, merged?);
        }
        self.apply_extras(&mut d, extras, sch);
        Ok(Some(Value::Object(d)))
    }

    /// Walk a map against itself, in place (kyaml's view of patch content the
    /// base lacks): directives below are applied, `null`s removed.
    fn self_merge_fields(
        &mut self,
        m: &mut Map<String, Value>,
        sch: Option<&'s Shape>,
    ) -> Result<(), PatchError> {
        let extra_keys: Vec<String> = m
            .keys()
            .filter(|k| is_extra_directive(k))
            .cloned()
            .collect();
        let mut taken = Vec::with_capacity(extra_keys.len());
        for k in extra_keys {
            if let Some(v) = m.shift_remove(&k) {
                taken.push((k, v));
            }
        }
        let extras = self.extras_of(taken.iter().map(|(k, v)| (k, v)))?;
        let mut names: Vec<String> = m.keys().cloned().collect();
        names.sort_unstable();
        for name in names {
            let field_sch = self.data.field(sch, &name);
            let Some(v) = m.get_mut(&name) else { continue };
            self.path.push(name.clone());
            let keep = self.self_merge(v, field_sch);
            self.path.pop();
            if !keep? {
                m.shift_remove(&name);
            }
        }
        self.apply_extras(m, extras, sch);
        Ok(())
    }

    /// Walk a node against itself, in place; `false` clears it.
    fn self_merge(&mut self, v: &mut Value, sch: Option<&'s Shape>) -> Result<bool, PatchError> {
        let sch = match sch {
            None if v.is_object() => self.schema_from_meta([Some(&*v), None]),
            s => s,
        };
        match v {
            Value::Null => Ok(false),
            Value::Object(m) => {
                match map_directive(m) {
                    None => {}
                    Some(Ok(Directive::Delete)) => {
                        m.shift_remove(PATCH_KEY);
                        return Ok(false);
                    }
                    Some(Ok(_)) => {
                        m.shift_remove(PATCH_KEY);
                    }
                    Some(Err(v)) => return Err(self.unknown_strategy(&v)),
                }
                self.self_merge_fields(m, sch)?;
                Ok(true)
            }
            Value::Array(list) => match sch {
                Some(Shape::Arr(ad)) if ad.merge => {
                    match list_directive(list) {
                        None => {}
                        Some(Ok((Directive::Delete, d))) => {
                            elide_list_directive(list, &d);
                            return Ok(false);
                        }
                        Some(Ok((_, d))) => elide_list_directive(list, &d),
                        Some(Err(v)) => return Err(self.unknown_strategy(&v)),
                    }
                    let taken = std::mem::take(list);
                    *list = self.assoc_elements(taken, Source::Aliased, ad)?;
                    Ok(true)
                }
                _ => Ok(true),
            },
            _ => Ok(true),
        }
    }

    fn merge_assoc_list(
        &mut self,
        dest: Option<Value>,
        origin: Option<&mut Value>,
        ad: &'s ArrayDef,
    ) -> Result<Option<Value>, PatchError> {
        let Some(Value::Array(d)) = dest else {
            // The base lacks the list: kyaml takes the patch list as it is
            // (its directive unprocessed) and merges it with itself.
            let Some(Value::Array(o)) = origin else {
                return Ok(None);
            };
            let taken = std::mem::take(o);
            *o = self.assoc_elements(taken, Source::Aliased, ad)?;
            return Ok(Some(Value::Array(o.clone())));
        };
        match origin {
            None => Ok(Some(Value::Array(self.assoc_elements(
                d,
                Source::None,
                ad,
            )?))),
            Some(Value::Array(o)) => match list_directive(o) {
                None => Ok(Some(Value::Array(self.assoc_elements(
                    d,
                    Source::List(o),
                    ad,
                )?))),
                Some(Ok((Directive::Delete, v))) => {
                    elide_list_directive(o, &v);
                    Ok(None)
                }
                Some(Ok((Directive::Replace, v))) => {
                    elide_list_directive(o, &v);
                    let taken = std::mem::take(o);
                    *o = self.assoc_elements(taken, Source::Aliased, ad)?;
                    Ok(Some(Value::Array(o.clone())))
                }
                Some(Ok((Directive::Merge, v))) => {
                    elide_list_directive(o, &v);
                    Ok(Some(Value::Array(self.assoc_elements(
                        d,
                        Source::List(o),
                        ad,
                    )?)))
                }
                Some(Err(v)) => Err(self.unknown_strategy(&v)),
            },
            // null in the patch clears the list
            Some(_) => Ok(None),
        }
    }

    /// kyaml's associative-sequence walk in prepend mode, over an arena.
    fn assoc_elements(
        &mut self,
        dest_values: Vec<Value>,
        mut origin: Source<'_>,
        ad: &'s ArrayDef,
    ) -> Result<Vec<Value>, PatchError> {
        let elem_sch = ad.items.as_ref();
        let primitive = ad.keys.is_empty();
        let keys: Vec<String> = if primitive {
            vec![String::new()]
        } else {
            ad.keys.clone()
        };
        let mut arena = dest_values;
        let mut dest: Vec<usize> = (0..arena.len()).collect();
        // The key fields of each arena element, read once.
        let mut cache: Vec<Vec<Option<String>>> = arena
            .iter()
            .map(|e| key_texts(e, &keys, primitive))
            .collect();

        // The elements' key values, patch elements first, without repeats.
        let mut values: Vec<Vec<String>> = Vec::new();
        {
            let mut seen: HashSet<Vec<String>> = HashSet::new();
            let mut add = |v: Vec<String>| {
                if !seen.contains(&v) {
                    seen.insert(v.clone());
                    values.push(v);
                }
            };
            let of = |e: &Value| {
                if primitive {
                    vec![scalar_text(e)]
                } else {
                    key_values(e, &keys)
                }
            };
            if let Source::List(o) = &origin {
                o.iter().for_each(|e| add(of(e)));
            }
            for &i in &dest {
                add(if primitive {
                    vec![scalar_text(&arena[i])]
                } else {
                    cache[i]
                        .iter()
                        .map(|t| t.clone().unwrap_or_default())
                        .collect()
                });
            }
        }
        if keys.len() > 1 {
            merge_values(&mut values);
        }

        let key_index = |names: &[String]| -> Vec<usize> {
            names
                .iter()
                .filter_map(|n| keys.iter().position(|k| k == n))
                .collect()
        };
        let mut items: Vec<usize> = Vec::new();
        let mut last_keys: Vec<usize> = (0..keys.len()).collect();
        for idx in 0..values.len() {
            let (vk, vv) = validate_keys(&values, &values[idx], &keys);
            let (k2, v2) = validate_keys(std::slice::from_ref(&vv), &vv, &vk);
            let vki = key_index(&vk);
            last_keys.clone_from(&vki);
            let d_pos = find_in_arena(&dest, &arena, &cache, &key_index(&k2), &v2, primitive);
            self.path.push(format!("[{}]", vv.join(",")));
            let walked = match &mut origin {
                Source::Aliased => match d_pos {
                    Some(ai) => self.self_merge_element(&mut arena, ai, elem_sch),
                    None => Ok(None),
                },
                Source::None => self.merge_element(&mut arena, d_pos, None, elem_sch),
                Source::List(o) => {
                    let o_elem = find_match(o.iter().enumerate(), &k2, &v2).map(|i| &mut o[i]);
                    self.merge_element(&mut arena, d_pos, o_elem, elem_sch)
                }
            };
            self.path.pop();
            let val = walked?;
            let kept = val.filter(|&ai| !is_null_or_empty_map(&arena[ai]));
            if let Some(ai) = kept
                && let Value::Object(m) = &mut arena[ai]
            {
                for (k, v) in vk.iter().zip(&vv) {
                    if !k.is_empty() && !v.is_empty() && !m.contains_key(k) {
                        m.insert(k.clone(), typed_scalar(v));
                    }
                }
            }
            // Refresh the key cache for what the walk touched or added.
            let known = cache.len();
            cache.extend(
                arena[known..]
                    .iter()
                    .map(|e| key_texts(e, &keys, primitive)),
            );
            for i in d_pos.into_iter().chain(val) {
                cache[i] = key_texts(&arena[i], &keys, primitive);
            }
            let Some(ai) = kept else {
                // Deleted (or never there): drop it from the base list.
                element_setter(&mut dest, &arena, &cache, None, &vki, &vv, primitive);
                continue;
            };
            element_setter(&mut items, &arena, &cache, Some(ai), &vki, &vv, primitive);
        }

        let result = if values.is_empty() {
            dest
        } else {
            append_list(&mut items, &dest, &arena, &cache, &last_keys, primitive);
            items
        };
        // Move each value out on its last use; repeats (rare) are copies.
        let mut uses = vec![0usize; arena.len()];
        for &i in &result {
            uses[i] += 1;
        }
        let mut out = Vec::with_capacity(result.len());
        for &i in &result {
            uses[i] -= 1;
            if uses[i] == 0 {
                out.push(std::mem::take(&mut arena[i]));
            } else {
                out.push(arena[i].clone());
            }
        }
        Ok(out)
    }

    /// Walk a base element against a patch element. The result is an arena
    /// index: the base element itself when kyaml merges in place, else new.
    fn merge_element(
        &mut self,
        arena: &mut Vec<Value>,
        d_pos: Option<usize>,
        mut o_elem: Option<&mut Value>,
        sch: Option<&'s Shape>,
    ) -> Result<Option<usize>, PatchError> {
        match d_pos {
            Some(ai) if arena[ai].is_object() => {
                match o_elem.as_deref_mut() {
                    Some(Value::Null) => return Ok(None),
                    Some(Value::Object(om)) => match map_directive(om) {
                        Some(Ok(Directive::Delete)) => {
                            om.shift_remove(PATCH_KEY);
                            return Ok(None);
                        }
                        Some(Ok(Directive::Replace)) => {
                            // kyaml returns the patch element but leaves the
                            // base element in the base list.
                            om.shift_remove(PATCH_KEY);
                            let sch =
                                sch.or_else(|| self.schema_from_meta([Some(&arena[ai]), None]));
                            self.self_merge_fields(om, sch)?;
                            let copy = Value::Object(om.clone());
                            return Ok(Some(push(arena, copy)));
                        }
                        Some(Err(v)) => return Err(self.unknown_strategy(&v)),
                        Some(Ok(Directive::Merge)) | None => {}
                    },
                    _ => {}
                }
                let base = std::mem::take(&mut arena[ai]);
                match self.merge(Some(base), o_elem, sch)? {
                    Some(v) => {
                        arena[ai] = v;
                        Ok(Some(ai))
                    }
                    None => Ok(None),
                }
            }
            Some(ai) => {
                let base = arena[ai].clone();
                Ok(self.merge(Some(base), o_elem, sch)?.map(|v| push(arena, v)))
            }
            None => Ok(self.merge(None, o_elem, sch)?.map(|v| push(arena, v))),
        }
    }

    /// Walk an element of an aliased list against itself, in place; kyaml
    /// keeps the node (directive elided) even when it is cleared.
    fn self_merge_element(
        &mut self,
        arena: &mut [Value],
        ai: usize,
        sch: Option<&'s Shape>,
    ) -> Result<Option<usize>, PatchError> {
        let mut v = std::mem::take(&mut arena[ai]);
        let keep = self.self_merge(&mut v, sch);
        arena[ai] = v;
        Ok(keep?.then_some(ai))
    }

    fn extras_of<'v>(
        &self,
        entries: impl Iterator<Item = (&'v String, &'v Value)>,
    ) -> Result<MapExtras, PatchError> {
        let mut extras = MapExtras::default();
        for (k, v) in entries {
            let list = v
                .as_array()
                .ok_or_else(|| self.directive_error(format!("{k} must be a list")))?;
            if k == RETAIN_KEYS {
                let keys = list
                    .iter()
                    .map(|x| x.as_str().map(String::from))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        self.directive_error(format!("{RETAIN_KEYS} must list field names"))
                    })?;
                extras.retain_keys = Some(keys);
            } else if let Some(field) = k.strip_prefix(SET_ELEMENT_ORDER) {
                extras.set_order.push((field.to_string(), list.clone()));
            } else if let Some(field) = k.strip_prefix(DELETE_FROM_PRIMITIVE_LIST) {
                extras.delete_from.push((field.to_string(), list.clone()));
            }
        }
        Ok(extras)
    }

    fn apply_extras(&self, m: &mut Map<String, Value>, extras: MapExtras, sch: Option<&'s Shape>) {
        for (field, remove) in extras.delete_from {
            if let Some(Value::Array(list)) = m.get_mut(&field) {
                list.retain(|e| !remove.contains(e));
            }
        }
        for (field, order) in extras.set_order {
            let keys: &[String] = match self.data.field(sch, &field) {
                Some(Shape::Arr(ad)) => &ad.keys,
                _ => &[],
            };
            if let Some(Value::Array(list)) = m.get_mut(&field) {
                set_element_order(list, &order, keys);
            }
        }
        if let Some(keep) = extras.retain_keys {
            m.retain(|k, _| keep.iter().any(|x| x == k));
        }
    }
}

fn push(arena: &mut Vec<Value>, v: Value) -> usize {
    arena.push(v);
    arena.len() - 1
}

fn set_field(m: &mut Map<String, Value>, name: String, value: Option<Value>) {
    match value {
        None => {
            m.shift_remove(&name);
        }
        Some(v) => match m.get_mut(&name) {
            Some(slot) => *slot = v,
            None => {
                m.insert(name, v);
            }
        },
    }
}

/// Reorder the elements named by `$setElementOrder`: they take the positions
/// of the named elements, in the directive's order; others stay in place.
fn set_element_order(list: &mut [Value], order: &[Value], keys: &[String]) {
    let rank = |e: &Value| {
        order
            .iter()
            .position(|o| match (o.as_object(), e.as_object()) {
                (Some(om), Some(em)) if !keys.is_empty() => {
                    keys.iter()
                        .filter(|k| om.contains_key(*k))
                        .all(|k| om.get(k).map(scalar_text) == em.get(k).map(scalar_text))
                        && keys.iter().any(|k| om.contains_key(k))
                }
                _ => o == e,
            })
    };
    let mut ranked: Vec<(usize, usize)> = list
        .iter()
        .enumerate()
        .filter_map(|(i, e)| rank(e).map(|r| (r, i)))
        .collect();
    let slots: Vec<usize> = ranked.iter().map(|&(_, i)| i).collect();
    ranked.sort_by_key(|&(r, i)| (r, i));
    let moved: Vec<Value> = ranked
        .iter()
        .map(|&(_, i)| std::mem::take(&mut list[i]))
        .collect();
    for (slot, v) in slots.into_iter().zip(moved) {
        list[slot] = v;
    }
}

/// kyaml's element key values: "" where the key is missing or empty.
fn key_values(e: &Value, keys: &[String]) -> Vec<String> {
    keys.iter()
        .map(|k| e.get(k).map(scalar_text).unwrap_or_default())
        .collect()
}

/// Keep the keys that have a value in some element (kyaml `validateKeys`).
fn validate_keys(
    all: &[Vec<String>],
    values: &[String],
    keys: &[String],
) -> (Vec<String>, Vec<String>) {
    let mut valid = vec![false; keys.len()];
    for vals in all {
        for (i, v) in vals.iter().enumerate() {
            if !v.is_empty()
                && let Some(slot) = valid.get_mut(i)
            {
                *slot = true;
            }
        }
    }
    if !valid.iter().any(|&b| b) {
        return (keys.to_vec(), values.to_vec());
    }
    let vk = keys
        .iter()
        .zip(&valid)
        .filter(|&(_, &ok)| ok)
        .map(|(k, _)| k.clone())
        .collect();
    let vv = values
        .iter()
        .enumerate()
        .filter(|&(i, v)| !v.is_empty() || valid.get(i).copied().unwrap_or(false))
        .map(|(_, v)| v.clone())
        .collect();
    (vk, vv)
}

/// Unify key tuples that agree where both are set (kyaml `mergeValues`;
/// like Go's `range`, the outer tuple is the one read at the outer step).
fn merge_values(list: &mut [Vec<String>]) {
    for i in 0..list.len() {
        let outer = list[i].clone();
        for j in 0..list.len() {
            if let Some(m) = match_values(&outer, &list[j]) {
                list[i].clone_from(&m);
                list[j] = m;
            }
        }
    }
}

fn match_values(a: &[String], b: &[String]) -> Option<Vec<String>> {
    if a.len() != b.len() {
        return None;
    }
    let mut common = false;
    let mut res = Vec::with_capacity(a.len());
    for (x, y) in a.iter().zip(b) {
        if x == y {
            common = true;
            res.push(x.clone());
        } else if !x.is_empty() && !y.is_empty() {
            return None;
        } else if !x.is_empty() {
            res.push(x.clone());
        } else {
            res.push(y.clone());
        }
    }
    common.then_some(res)
}

/// The first element whose key fields hold exactly these values (kyaml
/// `MatchElementList`); with an empty key, the first scalar of that value.
fn find_match<'v>(
    elems: impl Iterator<Item = (usize, &'v Value)>,
    keys: &[String],
    values: &[String],
) -> Option<usize> {
    let primitive = keys.first().is_none_or(|k| k.is_empty());
    let mut elems = elems;
    if primitive {
        let want = values.first().map(String::as_str).unwrap_or("");
        return elems.find(|(_, e)| scalar_text(e) == want).map(|(i, _)| i);
    }
    elems
        .find(|(_, e)| {
            let Some(m) = e.as_object() else {
                return false;
            };
            keys.iter()
                .zip(values)
                .all(|(k, v)| m.get(k).is_some_and(|f| scalar_text(f) == *v))
                && keys.len() == values.len()
        })
        .map(|(i, _)| i)
}

/// The texts of an element's key fields (`None`: absent); for a list of
/// scalars, the element's own text (`None` for null, maps and lists).
fn key_texts(e: &Value, keys: &[String], primitive: bool) -> Vec<Option<String>> {
    if primitive {
        return vec![match e {
            Value::Null | Value::Object(_) | Value::Array(_) => None,
            scalar => Some(scalar_text(scalar)),
        }];
    }
    keys.iter()
        .map(|k| e.as_object().and_then(|m| m.get(k)).map(scalar_text))
        .collect()
}

/// [`find_match`] over arena elements through their cached key texts.
fn find_in_arena(
    list: &[usize],
    arena: &[Value],
    cache: &[Vec<Option<String>>],
    key_idx: &[usize],
    values: &[String],
    primitive: bool,
) -> Option<usize> {
    if primitive {
        let want = values.first().map(String::as_str).unwrap_or("");
        return list
            .iter()
            .copied()
            .find(|&i| scalar_text(&arena[i]) == want);
    }
    if key_idx.is_empty() || key_idx.len() != values.len() {
        return None;
    }
    list.iter().copied().find(|&i| {
        arena[i].is_object()
            && key_idx
                .iter()
                .zip(values)
                .all(|(&k, v)| cache[i].get(k).and_then(Option::as_deref) == Some(v.as_str()))
    })
}

/// kyaml's field matcher as the element setter uses it: for map elements an
/// empty value matches any present field; scalars match by text.
fn cached_field_matches(text: Option<&str>, value: &str, primitive: bool) -> bool {
    match text {
        Some(t) => (!primitive && value.is_empty()) || t == value,
        None => false,
    }
}

/// kyaml's `ElementSetter` on an index list: drop `null`/`{}` elements,
/// replace every element matching the keys with `element` (or remove them
/// when there is none), append `element` if nothing matched.
fn element_setter(
    list: &mut Vec<usize>,
    arena: &[Value],
    cache: &[Vec<Option<String>>],
    element: Option<usize>,
    key_idx: &[usize],
    values: &[String],
    primitive: bool,
) {
    let first_key = [0usize];
    let key_idx = if key_idx.is_empty() {
        &first_key[..]
    } else {
        key_idx
    };
    let mapping_setter = !primitive && values.first().is_some_and(|v| !v.is_empty());
    let mut matched_any = false;
    let mut out = Vec::with_capacity(list.len() + 1);
    for &ai in list.iter() {
        let e = &arena[ai];
        if is_null_or_empty_map(e) {
            continue;
        }
        if !e.is_object() && mapping_setter {
            out.push(ai);
            continue;
        }
        let mut found = false;
        for (j, &k) in key_idx.iter().enumerate() {
            if let Some(v) = values.get(j) {
                found =
                    cached_field_matches(cache[ai].get(k).and_then(Option::as_deref), v, primitive);
            }
            if !found {
                break;
            }
        }
        if !found {
            if !values.is_empty() {
                out.push(ai);
            }
            continue;
        }
        matched_any = true;
        if let Some(el) = element {
            out.push(el);
        }
    }
    *list = out;
    if let Some(el) = element
        && !arena[el].is_null()
        && !matched_any
    {
        list.push(el);
    }
}

/// kyaml `appendListNode(items, dest, keys)`: each base element replaces its
/// match among the items, or is appended; with several keys the base
/// element is first taken out, so base elements end up last, in base order.
fn append_list(
    items: &mut Vec<usize>,
    dest: &[usize],
    arena: &[Value],
    cache: &[Vec<Option<String>>],
    key_idx: &[usize],
    primitive: bool,
) {
    for &ai in dest {
        if primitive {
            let text = [scalar_text(&arena[ai])];
            element_setter(items, arena, cache, Some(ai), &[0], &text, true);
            continue;
        }
        let mut v = Vec::with_capacity(key_idx.len());
        for &k in key_idx {
            match cache[ai].get(k).and_then(Option::as_ref) {
                Some(t) => v.push(t.clone()),
                None => items.push(ai),
            }
        }
        if key_idx.len() > 1 {
            element_setter(items, arena, cache, None, key_idx, &v, false);
        }
        element_setter(items, arena, cache, Some(ai), key_idx, &v, false);
    }
}
