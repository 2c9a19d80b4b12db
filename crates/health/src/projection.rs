//! Which parts of an object CEL expressions can observe, so that only those
//! are converted to CEL values on each evaluation.
//!
//! An expression reaches the object through identifiers (`self`, or a
//! top-level field such as `status`) followed by field selections
//! (`status.conditions`, `has(self.metadata.generation)`). A selection
//! chain observes only the fields it names, until its value is used in any
//! other way (passed to a function, iterated, compared, indexed with `[]`,
//! `.?`-selected), at which point the whole value at the end of the chain is
//! observable. A [`Projection`] records that, as a tree per identifier; an
//! object converted through it holds exactly the observable parts, so the
//! expression evaluates as it would on the whole object.
//!
//! The analysis is conservative: a comprehension variable that shadows an
//! identifier only widens the projection.

use cel::common::ast::{EntryExpr, Expr, IdedExpr};
use cel::common::types::{CelMap, CelMapKey};
use cel::common::value::Val;
use serde_json::Value;

use crate::custom::to_cel;

/// The observable part of one value.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Projection {
    /// The whole value is observable.
    full: bool,
    /// Otherwise only these fields of it (when it is an object).
    fields: Vec<(String, Projection)>,
}

impl Projection {
    fn child(&mut self, field: &str) -> &mut Projection {
        let index = match self.fields.iter().position(|(name, _)| name == field) {
            Some(index) => index,
            None => {
                self.fields.push((field.to_owned(), Projection::default()));
                self.fields.len() - 1
            }
        };
        &mut self.fields[index].1
    }

    /// `value`, as a CEL value holding the observable parts only. Strings
    /// are borrowed, not copied.
    pub(crate) fn apply<'v>(&self, value: &'v Value) -> Box<dyn Val + 'v> {
        match value {
            Value::Object(map) if !self.full => Box::new(CelMap::from(
                self.fields
                    .iter()
                    .filter_map(|(name, projection)| {
                        let (key, child) = map.get_key_value(name.as_str())?;
                        Some((CelMapKey::from(key.as_str()), projection.apply(child)))
                    })
                    .collect::<std::collections::HashMap<_, _>>(),
            )),
            // Selecting a field of a non-object fails just the same on the
            // whole value, so the whole value is used.
            _ => to_cel(value),
        }
    }
}

/// The projections of every identifier an expression uses, merged into
/// `roots`.
pub(crate) fn collect(expr: &IdedExpr, roots: &mut Vec<(String, Projection)>) {
    match &expr.expr {
        Expr::Ident(_) | Expr::Select(_) => {
            let mut path: Vec<&str> = Vec::new();
            let mut current = expr;
            loop {
                match &current.expr {
                    Expr::Select(select) => {
                        path.push(&select.field);
                        current = &select.operand;
                    }
                    Expr::Ident(root) => {
                        let mut node = root_projection(roots, root);
                        for field in path.iter().rev() {
                            if node.full {
                                return;
                            }
                            node = node.child(field);
                        }
                        node.full = true;
                        node.fields.clear();
                        return;
                    }
                    // `f(x).a.b`: the chain starts at a computed value.
                    _ => return collect(current, roots),
                }
            }
        }
        Expr::Call(call) => {
            if let Some(target) = &call.target {
                collect(target, roots);
            }
            for arg in &call.args {
                collect(arg, roots);
            }
        }
        Expr::Comprehension(comprehension) => {
            for part in [
                &comprehension.iter_range,
                &comprehension.accu_init,
                &comprehension.loop_cond,
                &comprehension.loop_step,
                &comprehension.result,
            ] {
                collect(part, roots);
            }
        }
        Expr::List(list) => {
            for element in &list.elements {
                collect(element, roots);
            }
        }
        Expr::Map(map) => {
            for entry in &map.entries {
                collect_entry(&entry.expr, roots);
            }
        }
        Expr::Struct(structure) => {
            for entry in &structure.entries {
                collect_entry(&entry.expr, roots);
            }
        }
        Expr::Literal(_) | Expr::Unspecified => {}
    }
}

fn collect_entry(entry: &EntryExpr, roots: &mut Vec<(String, Projection)>) {
    match entry {
        EntryExpr::MapEntry(entry) => {
            collect(&entry.key, roots);
            collect(&entry.value, roots);
        }
        EntryExpr::StructField(field) => collect(&field.value, roots),
    }
}

fn root_projection<'a>(roots: &'a mut Vec<(String, Projection)>, name: &str) -> &'a mut Projection {
    let index = match roots.iter().position(|(root, _)| root == name) {
        Some(index) => index,
        None => {
            roots.push((name.to_owned(), Projection::default()));
            roots.len() - 1
        }
    };
    &mut roots[index].1
}

#[cfg(test)]
mod tests {
    use super::*;
    use cel::Env;
    use serde_json::json;

    fn roots_of(source: &str) -> Vec<(String, Projection)> {
        let program = match Env::stdlib().compile(source) {
            Ok(program) => program,
            Err(err) => panic!("{err}"),
        };
        let mut roots = Vec::new();
        collect(program.expression(), &mut roots);
        roots
    }

    fn full() -> Projection {
        Projection {
            full: true,
            fields: Vec::new(),
        }
    }

    fn fields(fields: Vec<(&str, Projection)>) -> Projection {
        Projection {
            full: false,
            fields: fields
                .into_iter()
                .map(|(name, p)| (name.to_owned(), p))
                .collect(),
        }
    }

    #[test]
    fn selections_narrow_and_other_uses_widen() {
        let roots = roots_of(
            "status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'True') && metadata.generation == status.observedGeneration",
        );
        let status = roots
            .iter()
            .find(|(n, _)| n == "status")
            .map(|(_, p)| p.clone());
        assert_eq!(
            status,
            Some(fields(vec![
                ("conditions", full()),
                ("observedGeneration", full())
            ]))
        );
        let metadata = roots
            .iter()
            .find(|(n, _)| n == "metadata")
            .map(|(_, p)| p.clone());
        assert_eq!(metadata, Some(fields(vec![("generation", full())])));

        let roots = roots_of("has(self.status.x) && self.status.x.y > 1 && size(self.spec) > 0");
        assert_eq!(
            roots,
            vec![(
                "self".to_owned(),
                fields(vec![
                    ("status", fields(vec![("x", full())])),
                    ("spec", full())
                ])
            )]
        );

        // Bare, indexed and optional uses need the whole value.
        for source in [
            "self == {}",
            "self['status'].x",
            "self.?status.orValue(1) == 1",
            "'a' in self",
        ] {
            let roots = roots_of(source);
            assert_eq!(
                roots.iter().find(|(n, _)| n == "self").map(|(_, p)| p.full),
                Some(true),
                "{source}"
            );
        }
    }

    #[test]
    fn applying_keeps_only_observable_parts() {
        let obj = json!({"status": {"conditions": [{"type": "Ready"}], "big": [1, 2, 3]},
                         "metadata": {"generation": 1, "managedFields": [{}]},
                         "spec": "not an object"});
        let p = fields(vec![
            (
                "status",
                fields(vec![("conditions", full()), ("missing", full())]),
            ),
            ("spec", fields(vec![("x", full())])),
        ]);
        let env = std::sync::Arc::new(Env::stdlib());
        let mut context = cel::Context::with_env(std::sync::Arc::clone(&env));
        context.add_variable_as_val("self", p.apply(&obj));
        let program = match env.compile(
            "size(self) == 2 && size(self.status) == 1 && self.status.conditions[0].type == 'Ready' \
             && !has(self.status.big) && !has(self.metadata) && self.spec == 'not an object'",
        ) {
            Ok(program) => program,
            Err(err) => panic!("{err}"),
        };
        assert_eq!(program.execute(&context), Ok(cel::Value::Bool(true)));
    }
}
