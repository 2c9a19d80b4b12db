//! A unit: a named set of rendered objects applied and pruned together.

use serde_json::Value;
use std::sync::Arc;

/// A per-object transformation run before planning (for example unsealing
/// sealed secrets). It receives each object of the unit and returns the
/// object to apply; an error fails the plan naming the object.
pub trait Transform: Send + Sync {
    fn transform(&self, object: Value) -> anyhow::Result<Value>;
}

/// The objects of one unit, as rendered.
#[derive(Clone, Default)]
pub struct Unit {
    /// Names the inventory; a DNS label (lower-case alphanumerics and `-`).
    pub name: String,
    pub objects: Vec<Value>,
    /// Source revision (a Git commit, say), recorded in the inventory.
    pub revision: Option<String>,
    /// Run in order over every object before planning.
    pub transforms: Vec<Arc<dyn Transform>>,
}

impl std::fmt::Debug for Unit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unit")
            .field("name", &self.name)
            .field("objects", &self.objects.len())
            .field("revision", &self.revision)
            .field("transforms", &self.transforms.len())
            .finish()
    }
}

impl Unit {
    pub fn new(name: impl Into<String>, objects: Vec<Value>) -> Unit {
        Unit {
            name: name.into(),
            objects,
            ..Default::default()
        }
    }
}

/// Check a unit name: it becomes part of ConfigMap names and a label value.
pub fn validate_name(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        anyhow::bail!(
            "invalid unit name {name:?}: use 1-40 lower-case letters, digits and '-', starting and ending with a letter or digit"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_names() {
        assert!(validate_name("shop").is_ok());
        assert!(validate_name("shop-2").is_ok());
        for bad in ["", "Shop", "-a", "a-", "a_b", "a/b", &"x".repeat(41)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }
}
