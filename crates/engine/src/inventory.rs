//! The inventory: which objects a unit owns, stored in the target cluster.
//!
//! Stored as ConfigMaps `flotilla-inventory-<unit>-<n>` in `flotilla-system`,
//! labelled `flotilla.dev/unit=<unit>`. Each holds at most
//! [`ENTRIES_PER_CHUNK`] compact entries (`group/kind/namespace/name hash`,
//! one per line, sorted), so even maximal-length names stay far below the
//! 1 MiB object limit, and 10,000 objects take 10 small chunks. The size of
//! the unit's objects never matters: only their identities are recorded.
//!
//! Crash safety relies on two write orders (see [`Inventory::chunks`]):
//! growing writes chunks from the last to the first, shrinking from the
//! first to the last. With sorted entries and fixed-size chunks, an entry
//! only moves to a later chunk when the set grows and to an earlier one when
//! it shrinks, so at every moment of a partial write every entry of both the
//! old and the new set is in some chunk. Readers take the union of all
//! chunks present.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt;

pub const INVENTORY_NAMESPACE: &str = "flotilla-system";
pub const ENTRIES_PER_CHUNK: usize = 1000;
const INVENTORY_LABEL: &str = "flotilla.dev/inventory";

/// The identity of an object as the inventory records it (no version: an
/// object keeps its identity across API versions).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    pub group: String,
    pub kind: String,
    /// Empty for cluster-scoped objects.
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    pub fn of(r: &flotilla_model::ObjectRef) -> ObjectKey {
        ObjectKey {
            group: r.group.clone(),
            kind: r.kind.clone(),
            namespace: r.namespace.clone().unwrap_or_default(),
            name: r.name.clone(),
        }
    }

    /// `group/kind/namespace/name`.
    pub fn encode(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.group, self.kind, self.namespace, self.name
        )
    }

    pub fn decode(s: &str) -> Option<ObjectKey> {
        let mut parts = s.splitn(4, '/');
        let group = parts.next()?;
        let kind = parts.next()?;
        let namespace = parts.next()?;
        let name = parts.next()?;
        if kind.is_empty() || name.is_empty() || name.contains('/') {
            return None;
        }
        Some(ObjectKey {
            group: group.to_owned(),
            kind: kind.to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        })
    }
}

impl fmt::Display for ObjectKey {
    /// `Kind/namespace/name` or `Kind/name`, as [`flotilla_model::ObjectRef`] prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// The recorded state of one unit on one cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inventory {
    pub unit: String,
    /// Each owned object with the hash of the desired state last applied
    /// (empty until the object was applied successfully).
    pub entries: BTreeMap<ObjectKey, String>,
    /// The unit's source revision at the last successful apply.
    pub revision: Option<String>,
    /// RFC 3339 time of the last inventory change.
    pub applied_at: Option<String>,
}

/// The inventory data could not be read.
#[derive(Debug, thiserror::Error)]
#[error("inventory of unit {unit}: ConfigMap {chunk}: {reason}")]
pub struct InventoryError {
    pub unit: String,
    pub chunk: String,
    pub reason: String,
}

pub fn chunk_name(unit: &str, index: usize) -> String {
    format!("flotilla-inventory-{unit}-{index}")
}

/// The label selector listing a unit's chunks.
pub fn selector(unit: &str) -> String {
    format!("{}={unit},{INVENTORY_LABEL}=true", crate::UNIT_LABEL)
}

impl Inventory {
    pub fn new(unit: &str) -> Inventory {
        Inventory {
            unit: unit.to_owned(),
            ..Default::default()
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn contains(&self, key: &ObjectKey) -> bool {
        self.entries.contains_key(key)
    }

    /// Same entries, hashes and revision (the time stamp is not compared).
    pub fn same_content(&self, other: &Inventory) -> bool {
        self.entries == other.entries && self.revision == other.revision
    }

    /// The ConfigMaps holding this inventory, in index order.
    pub fn chunks(&self) -> Vec<Value> {
        let lines: Vec<String> = self
            .entries
            .iter()
            .map(|(k, hash)| {
                if hash.is_empty() {
                    k.encode()
                } else {
                    format!("{} {hash}", k.encode())
                }
            })
            .collect();
        let groups: Vec<&[String]> = if lines.is_empty() {
            vec![&[]]
        } else {
            lines.chunks(ENTRIES_PER_CHUNK).collect()
        };
        let total = groups.len();
        groups
            .into_iter()
            .enumerate()
            .map(|(index, group)| {
                let mut data = serde_json::Map::new();
                let mut entries = group.join("\n");
                if !entries.is_empty() {
                    entries.push('\n');
                }
                data.insert("entries".into(), Value::String(entries));
                if index == 0 {
                    data.insert("unit".into(), json!(self.unit));
                    data.insert("objects".into(), json!(self.entries.len().to_string()));
                    data.insert("chunks".into(), json!(total.to_string()));
                    if let Some(r) = &self.revision {
                        data.insert("revision".into(), json!(r));
                    }
                    if let Some(t) = &self.applied_at {
                        data.insert("appliedAt".into(), json!(t));
                    }
                }
                json!({
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {
                        "name": chunk_name(&self.unit, index),
                        "namespace": INVENTORY_NAMESPACE,
                        "labels": {crate::UNIT_LABEL: self.unit, INVENTORY_LABEL: "true"},
                        "annotations": {"flotilla.dev/chunk": format!("{index}/{total}")},
                    },
                    "data": data,
                })
            })
            .collect()
    }

    /// Read an inventory back from its ConfigMaps (any order; the union of
    /// all of them, so a partially written inventory loses nothing).
    pub fn from_chunks(unit: &str, chunks: &[Value]) -> Result<Option<Inventory>, InventoryError> {
        if chunks.is_empty() {
            return Ok(None);
        }
        let mut inv = Inventory::new(unit);
        for cm in chunks {
            let name = cm["metadata"]["name"].as_str().unwrap_or("?").to_owned();
            let err = |reason: String| InventoryError {
                unit: unit.to_owned(),
                chunk: name.clone(),
                reason,
            };
            let data = &cm["data"];
            let entries = data["entries"].as_str().unwrap_or("");
            for line in entries.lines().filter(|l| !l.trim().is_empty()) {
                let (key, hash) = line.split_once(' ').unwrap_or((line, ""));
                let key = ObjectKey::decode(key)
                    .ok_or_else(|| err(format!("malformed entry {line:?}")))?;
                let slot = inv.entries.entry(key).or_default();
                if slot.is_empty() {
                    *slot = hash.to_owned();
                }
            }
            if name == chunk_name(unit, 0) {
                inv.revision = data["revision"].as_str().map(str::to_owned);
                inv.applied_at = data["appliedAt"].as_str().map(str::to_owned);
            }
        }
        Ok(Some(inv))
    }
}

/// Chunk index of a ConfigMap name of `unit`'s inventory.
pub fn chunk_index(unit: &str, name: &str) -> Option<usize> {
    name.strip_prefix(&format!("flotilla-inventory-{unit}-"))?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: usize) -> ObjectKey {
        ObjectKey {
            group: if i.is_multiple_of(2) {
                "apps".into()
            } else {
                String::new()
            },
            kind: if i.is_multiple_of(2) {
                "Deployment".into()
            } else {
                "Service".into()
            },
            namespace: format!("ns{}", i % 7),
            name: format!("app-{i:05}"),
        }
    }

    fn inventory(n: usize) -> Inventory {
        let mut inv = Inventory::new("shop");
        for i in 0..n {
            inv.entries.insert(key(i), format!("h{i}"));
        }
        inv.revision = Some("abc123".into());
        inv
    }

    #[test]
    fn entries_round_trip_including_cluster_scoped_and_core() {
        let k = ObjectKey {
            group: String::new(),
            kind: "Namespace".into(),
            namespace: String::new(),
            name: "shop".into(),
        };
        assert_eq!(k.encode(), "/Namespace//shop");
        assert_eq!(ObjectKey::decode("/Namespace//shop"), Some(k.clone()));
        assert_eq!(k.to_string(), "Namespace/shop");
        assert_eq!(ObjectKey::decode("apps/Deployment"), None);
        assert_eq!(ObjectKey::decode("a/b/c/d/e"), None);
    }

    #[test]
    fn ten_thousand_objects_chunk_well_below_the_object_limit() {
        let inv = inventory(10_000);
        let chunks = inv.chunks();
        assert_eq!(chunks.len(), 10);
        for c in &chunks {
            let size = serde_json::to_string(c).unwrap().len();
            assert!(size < 256 * 1024, "chunk of {size} bytes");
        }
        let back = Inventory::from_chunks("shop", &chunks).unwrap().unwrap();
        assert_eq!(back.entries, inv.entries);
        assert_eq!(back.revision.as_deref(), Some("abc123"));
    }

    #[test]
    fn maximal_names_still_fit() {
        let mut inv = Inventory::new("u");
        for i in 0..ENTRIES_PER_CHUNK {
            let long = format!("{i:0>253}");
            inv.entries.insert(
                ObjectKey {
                    group: "g".repeat(253),
                    kind: "K".repeat(63),
                    namespace: "n".repeat(63),
                    name: long,
                },
                "0123456789abcdef".into(),
            );
        }
        let chunks = inv.chunks();
        assert_eq!(chunks.len(), 1);
        assert!(serde_json::to_string(&chunks[0]).unwrap().len() < 900 * 1024);
    }

    #[test]
    fn empty_inventory_is_one_empty_chunk() {
        let inv = Inventory::new("u");
        let chunks = inv.chunks();
        assert_eq!(chunks.len(), 1);
        let back = Inventory::from_chunks("u", &chunks).unwrap().unwrap();
        assert!(back.is_empty());
        assert_eq!(Inventory::from_chunks("u", &[]).unwrap(), None);
    }

    /// Simulate a crash after each chunk write, in the documented orders:
    /// every entry of the old and the new set is always readable.
    #[test]
    fn partial_writes_never_lose_an_entry() {
        let old = inventory(2500);
        let stored: Vec<Value> = old.chunks();
        // Grow: insert keys sorting before and among the old ones.
        let mut grown = old.clone();
        for i in 0..1700 {
            grown.entries.insert(
                ObjectKey {
                    group: String::new(),
                    kind: "AConfigMap".into(),
                    namespace: "a".into(),
                    name: format!("x{i}"),
                },
                String::new(),
            );
        }
        let new_chunks = grown.chunks();
        // Growing: last chunk first.
        let mut state: BTreeMap<usize, Value> = stored.iter().cloned().enumerate().collect();
        for (i, c) in new_chunks.iter().enumerate().rev() {
            state.insert(i, c.clone());
            let seen = Inventory::from_chunks("shop", &state.values().cloned().collect::<Vec<_>>())
                .unwrap()
                .unwrap();
            for k in old.entries.keys() {
                assert!(
                    seen.contains(k),
                    "lost {k} after writing chunk {i} while growing"
                );
            }
        }
        // Shrink back to a subset: first chunk first, then delete the tail.
        let mut shrunk = grown.clone();
        shrunk
            .entries
            .retain(|k, _| k.name.ends_with('3') || k.kind == "Service");
        let small = shrunk.chunks();
        for (i, c) in small.iter().enumerate() {
            state.insert(i, c.clone());
            let seen = Inventory::from_chunks("shop", &state.values().cloned().collect::<Vec<_>>())
                .unwrap()
                .unwrap();
            for k in shrunk.entries.keys() {
                assert!(
                    seen.contains(k),
                    "lost {k} after writing chunk {i} while shrinking"
                );
            }
        }
        state.retain(|i, _| *i < small.len());
        let seen = Inventory::from_chunks("shop", &state.values().cloned().collect::<Vec<_>>())
            .unwrap()
            .unwrap();
        assert_eq!(
            seen.entries.keys().collect::<Vec<_>>(),
            shrunk.entries.keys().collect::<Vec<_>>()
        );
    }

    #[test]
    fn malformed_chunks_are_reported_with_their_name() {
        let cm = json!({"metadata": {"name": "flotilla-inventory-u-0"}, "data": {"entries": "nonsense\n"}});
        let e = Inventory::from_chunks("u", &[cm]).unwrap_err();
        assert!(e.to_string().contains("flotilla-inventory-u-0"), "{e}");
        assert_eq!(chunk_index("u", "flotilla-inventory-u-12"), Some(12));
        assert_eq!(chunk_index("u", "flotilla-inventory-uv-1"), None);
    }
}
