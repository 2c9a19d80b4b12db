//! Custom health rules: CEL expressions in the shape of Flux's
//! `spec.healthCheckExprs`, evaluated with the semantics of
//! `fluxcd/pkg/runtime/cel` (`StatusEvaluator`, `StatusReader`).
//!
//! - A rule applies to objects of its API **group** and kind; the version in
//!   `apiVersion` is ignored. An empty `kind` makes it apply to the whole
//!   group; a rule naming the kind wins over a group-wide one. Two rules for
//!   the same group and kind are an error.
//! - `current` is required; `inProgress` and `failed` are optional (an empty
//!   string counts as absent). All are parsed when the rules are built.
//! - Evaluation: when `status.observedGeneration` and `metadata.generation`
//!   are both integers and differ, the object is `InProgress`, without
//!   evaluating anything. Otherwise `inProgress`, then `failed`, then
//!   `current` are evaluated; the first that is `true` gives the status
//!   (`InProgress`, `Failed`, `Current`). If none is, the status is
//!   `InProgress`.
//! - Expressions see each top-level field of the object as a variable, as in
//!   Flux (`status.conditions`, `metadata.generation`), and the whole object
//!   as `self` (`self.status.conditions`, `has(self.status)`).
//! - A missing field is an evaluation error, as in Flux (where the health
//!   check then waits until it times out): `status.conditions` on an object
//!   with no `status` fails. Guard with `has(...)`, e.g.
//!   `has(self.status) && has(self.status.conditions)`, or optional syntax,
//!   `status.?conditions.orValue([])`.
//! - An expression that yields anything but a bool is an error.
//! - A rule replaces kstatus entirely for its kinds: `deletionTimestamp` and
//!   the `Reconciling`/`Stalled` conditions are not checked (as in Flux).
//! - Only what the expressions can observe is converted to CEL on each
//!   evaluation: for `status.conditions.filter(...)`, the conditions, not
//!   `spec` or `metadata.managedFields`.
//! - The environment is Flux's: the CEL standard library with optional
//!   types, and the `strings`, `base64` (encoders) and `sets` extensions
//!   (`sets.contains`, `sets.equivalent`, `sets.intersects`). Expressions are
//!   parsed, not type-checked, as in Flux: type errors surface when
//!   evaluating.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use cel::common::types::{
    CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString, LIST_TYPE,
};
use cel::common::value::{CowVal, Val};
use cel::{Context, DeclarationError, Env, ExecutionError, Program};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::fields::{get_str_or, nested_i64};
use crate::kstatus::{generation_lag, group, kind};
use crate::projection::{self, Projection};
use crate::{Health, Status};

/// One entry of Flux's `healthCheckExprs`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheckExpr {
    /// `group/version` (or `version` for the core group); only the group is
    /// matched.
    pub api_version: String,
    /// The kind; empty applies the rule to every kind of the group.
    #[serde(default)]
    pub kind: String,
    /// True when the object has reached its desired state. Required.
    #[serde(default)]
    pub current: String,
    /// True while the object is still progressing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_progress: Option<String>,
    /// True when the object has failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

/// Which expression of a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum ExprRole {
    InProgress,
    Failed,
    Current,
}

impl ExprRole {
    /// The field name, as written in `healthCheckExprs`.
    pub fn field_name(self) -> &'static str {
        match self {
            ExprRole::InProgress => "inProgress",
            ExprRole::Failed => "failed",
            ExprRole::Current => "current",
        }
    }

    fn status(self) -> Status {
        match self {
            ExprRole::InProgress => Status::InProgress,
            ExprRole::Failed => Status::Failed,
            ExprRole::Current => Status::Current,
        }
    }
}

impl fmt::Display for ExprRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.field_name())
    }
}

/// A rule set that cannot be built, or an expression that cannot be
/// evaluated on an object.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error(
        "healthCheckExprs[{index}] ({api_version} {kind}): the `current` expression is required"
    )]
    MissingCurrent {
        index: usize,
        api_version: String,
        kind: String,
    },
    #[error(
        "healthCheckExprs[{index}] ({api_version:?} {kind}): apiVersion must be `version` or `group/version`"
    )]
    InvalidApiVersion {
        index: usize,
        api_version: String,
        kind: String,
    },
    #[error(
        "healthCheckExprs[{index}] ({api_version} {kind}): duplicate rule, healthCheckExprs[{first}] already covers this group and kind"
    )]
    DuplicateRule {
        index: usize,
        first: usize,
        api_version: String,
        kind: String,
    },
    #[error(
        "healthCheckExprs[{index}] ({api_version} {kind}): the `{role}` expression does not parse: {reason}; expression: {expression}"
    )]
    Syntax {
        index: usize,
        api_version: String,
        kind: String,
        role: ExprRole,
        expression: String,
        reason: String,
    },
    #[error(
        "{object}: the `{role}` health expression of healthCheckExprs[{index}] failed: {reason}; expression: {expression}"
    )]
    Evaluation {
        /// `Kind namespace/name` of the object evaluated.
        object: String,
        index: usize,
        role: ExprRole,
        expression: String,
        reason: String,
    },
    #[error(
        "{object}: the `{role}` health expression of healthCheckExprs[{index}] returned a {got}, expected a bool; expression: {expression}"
    )]
    NotBoolean {
        object: String,
        index: usize,
        role: ExprRole,
        expression: String,
        got: String,
    },
}

struct CompiledExpr {
    role: ExprRole,
    source: String,
    program: Program,
}

struct Rule {
    index: usize,
    group: String,
    kind: String,
    /// In evaluation order: inProgress, failed, current.
    exprs: Vec<CompiledExpr>,
    /// What the expressions can observe through each identifier they use
    /// (`self`, top-level fields, and comprehension variables, which bind
    /// nothing): only that is converted to CEL on each evaluation.
    roots: Vec<(String, Projection)>,
}

/// Compiled custom health rules, falling back to kstatus for other kinds.
/// Cheap to share: `Send + Sync`, evaluation takes `&self`.
pub struct CustomRules {
    env: Arc<Env>,
    rules: Vec<Rule>,
}

impl fmt::Debug for CustomRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.rules.iter().map(|r| {
                (
                    &r.group,
                    &r.kind,
                    r.exprs.iter().map(|e| &e.source).collect::<Vec<_>>(),
                )
            }))
            .finish()
    }
}

fn environment() -> Env {
    let mut env = Env::stdlib();
    // The extensions only add overloads under fresh names; failing to add
    // one would be a bug in the cel crate, and the environment still works
    // for every expression not calling it.
    let _ = env.add_extension(cel::extensions::strings);
    let _ = env.add_extension(cel::extensions::encoders);
    let _ = env.add_extension(sets_extension);
    env
}

/// cel-go's `ext.Sets()`, which Flux enables: lists as sets, elements
/// compared with CEL equality (so `1`, `1u` and `1.0` are the same).
fn sets_extension(env: &mut Env) -> Result<(), DeclarationError> {
    let two_lists = || vec![LIST_TYPE, LIST_TYPE];
    env.add_overload(
        "sets.contains",
        "list_sets_contains_list",
        two_lists(),
        sets_contains,
    )?;
    env.add_overload(
        "sets.equivalent",
        "list_sets_equivalent_list",
        two_lists(),
        sets_equivalent,
    )?;
    env.add_overload(
        "sets.intersects",
        "list_sets_intersects_list",
        two_lists(),
        sets_intersects,
    )
}

fn list_elements<'b, 'v>(
    list: &'b (dyn Val + 'v),
) -> Result<Vec<&'b (dyn Val + 'v)>, ExecutionError> {
    let iterable = list
        .as_iterable()
        .ok_or_else(|| ExecutionError::UnexpectedType {
            got: list.get_type().name().to_owned(),
            want: "list".to_owned(),
        })?;
    let mut iter = iterable.iter();
    let mut out = Vec::new();
    while let Some(item) = iter.next() {
        out.push(item);
    }
    Ok(out)
}

fn two_list_args<'b, 'v>(
    function: &str,
    args: Vec<CowVal<'b, 'v>>,
) -> Result<[CowVal<'b, 'v>; 2], ExecutionError> {
    args.try_into()
        .map_err(|args: Vec<_>| ExecutionError::FunctionError {
            function: function.to_owned(),
            message: format!("expected 2 arguments, got {}", args.len()),
        })
}

/// Whether every element of `subset` is in `set`.
fn contains_all(set: &[&dyn Val], subset: &[&dyn Val]) -> bool {
    subset
        .iter()
        .all(|wanted| set.iter().any(|have| have.equals(*wanted)))
}

fn sets_contains<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let [set, subset] = two_list_args("sets.contains", args)?;
    let (set, subset) = (
        list_elements(set.as_ref())?,
        list_elements(subset.as_ref())?,
    );
    Ok(CowVal::owned(CelBool::from(contains_all(&set, &subset))))
}

fn sets_equivalent<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let [a, b] = two_list_args("sets.equivalent", args)?;
    let (a, b) = (list_elements(a.as_ref())?, list_elements(b.as_ref())?);
    Ok(CowVal::owned(CelBool::from(
        contains_all(&a, &b) && contains_all(&b, &a),
    )))
}

fn sets_intersects<'b, 'v>(args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let [a, b] = two_list_args("sets.intersects", args)?;
    let (a, b) = (list_elements(a.as_ref())?, list_elements(b.as_ref())?);
    Ok(CowVal::owned(CelBool::from(
        a.iter().any(|x| b.iter().any(|y| x.equals(*y))),
    )))
}

impl CustomRules {
    /// Parses every expression up front; the first problem found is returned.
    pub fn new(exprs: &[HealthCheckExpr]) -> Result<CustomRules, HealthError> {
        let env = environment();
        let mut rules: Vec<Rule> = Vec::with_capacity(exprs.len());
        for (index, spec) in exprs.iter().enumerate() {
            let rule_group = match spec.api_version.split('/').collect::<Vec<_>>()[..] {
                [version] if !version.is_empty() => "",
                [group, version] if !version.is_empty() => group,
                _ => {
                    return Err(HealthError::InvalidApiVersion {
                        index,
                        api_version: spec.api_version.clone(),
                        kind: spec.kind.clone(),
                    });
                }
            };
            if let Some(first) = rules
                .iter()
                .find(|r| r.group == rule_group && r.kind == spec.kind)
            {
                return Err(HealthError::DuplicateRule {
                    index,
                    first: first.index,
                    api_version: spec.api_version.clone(),
                    kind: spec.kind.clone(),
                });
            }
            if spec.current.is_empty() {
                return Err(HealthError::MissingCurrent {
                    index,
                    api_version: spec.api_version.clone(),
                    kind: spec.kind.clone(),
                });
            }
            let mut compiled = Vec::with_capacity(3);
            let mut roots = Vec::new();
            for (role, source) in [
                (ExprRole::InProgress, spec.in_progress.as_deref()),
                (ExprRole::Failed, spec.failed.as_deref()),
                (ExprRole::Current, Some(spec.current.as_str())),
            ] {
                let Some(source) = source.filter(|s| !s.is_empty()) else {
                    continue;
                };
                let program = env.compile(source).map_err(|e| HealthError::Syntax {
                    index,
                    api_version: spec.api_version.clone(),
                    kind: spec.kind.clone(),
                    role,
                    expression: source.to_owned(),
                    reason: parse_error_text(&e.to_string()),
                })?;
                projection::collect(program.expression(), &mut roots);
                compiled.push(CompiledExpr {
                    role,
                    source: source.to_owned(),
                    program,
                });
            }
            rules.push(Rule {
                index,
                group: rule_group.to_owned(),
                kind: spec.kind.clone(),
                exprs: compiled,
                roots,
            });
        }
        Ok(CustomRules {
            env: Arc::new(env),
            rules,
        })
    }

    /// Whether no rules were given (every object goes to kstatus).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether a custom rule decides the health of objects of this group
    /// (`""` for core) and kind.
    pub fn covers(&self, group: &str, kind: &str) -> bool {
        self.rule_for(group, kind).is_some()
    }

    fn rule_for(&self, group: &str, kind: &str) -> Option<&Rule> {
        self.rules
            .iter()
            .find(|r| r.group == group && r.kind == kind)
            .or_else(|| {
                self.rules
                    .iter()
                    .find(|r| r.group == group && r.kind.is_empty())
            })
    }

    /// The health of `obj`: by the rule for its group and kind if there is
    /// one, else by kstatus ([`crate::compute`], which never fails).
    pub fn compute(&self, obj: &Value) -> Result<Health, HealthError> {
        match self.rule_for(group(obj), kind(obj)) {
            Some(rule) => self.evaluate(rule, obj),
            None => Ok(crate::compute(obj)),
        }
    }

    fn evaluate(&self, rule: &Rule, obj: &Value) -> Result<Health, HealthError> {
        // Flux's built-in check; non-integer fields (some CRDs use strings)
        // are left to the expressions.
        if let (Ok(Some(observed)), Ok(Some(generation))) = (
            nested_i64(obj, &["status", "observedGeneration"]),
            nested_i64(obj, &["metadata", "generation"]),
        ) && observed != generation
        {
            return Ok(generation_lag(obj, generation, observed));
        }

        let mut context = Context::with_env(Arc::clone(&self.env));
        for (name, projection) in &rule.roots {
            if name == "self" {
                context.add_variable_as_val("self", projection.apply(obj));
            } else if let Some(field) = obj.get(name.as_str()) {
                context.add_variable_as_val(name.as_str(), projection.apply(field));
            }
        }

        for expr in &rule.exprs {
            match expr.program.execute(&context) {
                Ok(cel::Value::Bool(true)) => {
                    return Ok(Health {
                        status: expr.role.status(),
                        message: format!(
                            "healthCheckExprs[{}]: `{}` is true",
                            rule.index, expr.role
                        ),
                        conditions: Vec::new(),
                    });
                }
                Ok(cel::Value::Bool(false)) => {}
                Ok(other) => {
                    return Err(HealthError::NotBoolean {
                        object: describe_object(obj),
                        index: rule.index,
                        role: expr.role,
                        expression: expr.source.clone(),
                        got: other.type_of().to_string(),
                    });
                }
                Err(err) => {
                    return Err(HealthError::Evaluation {
                        object: describe_object(obj),
                        index: rule.index,
                        role: expr.role,
                        expression: expr.source.clone(),
                        reason: describe_error(&err, obj),
                    });
                }
            }
        }
        Ok(Health {
            status: Status::InProgress,
            message: format!(
                "healthCheckExprs[{}]: no expression is true yet",
                rule.index
            ),
            conditions: Vec::new(),
        })
    }
}

/// The object as a CEL value, borrowing its strings: only containers are
/// allocated. Integers that fit `i64` are `int`, other numbers `double`, as
/// apimachinery decodes JSON.
pub(crate) fn to_cel(value: &Value) -> Box<dyn Val + '_> {
    match value {
        Value::Null => Box::new(CelNull),
        Value::Bool(b) => Box::new(CelBool::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Box::new(CelInt::from(i)),
            None => Box::new(CelDouble::from(n.as_f64().unwrap_or(f64::NAN))),
        },
        Value::String(s) => Box::new(CelString::from(s.as_str())),
        Value::Array(items) => {
            Box::new(CelList::from(items.iter().map(to_cel).collect::<Vec<_>>()))
        }
        Value::Object(map) => Box::new(CelMap::from(
            map.iter()
                .map(|(k, v)| (CelMapKey::from(k.as_str()), to_cel(v)))
                .collect::<HashMap<_, _>>(),
        )),
    }
}

/// cel's parse errors on one line: `line:column: message` per error, without
/// the source excerpt and caret (the expression is quoted whole instead).
fn parse_error_text(text: &str) -> String {
    text.lines()
        .filter(|line| !line.trim_start().starts_with('|'))
        .map(|line| {
            line.trim_start_matches("ERROR: ")
                .trim_start_matches("<input>:")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `Kind namespace/name` (or `Kind name`), for error messages.
fn describe_object(obj: &Value) -> String {
    let kind = kind(obj);
    let name = get_str_or(obj, &["metadata", "name"], "");
    match get_str_or(obj, &["metadata", "namespace"], "") {
        "" => format!("{kind} {name}"),
        ns => format!("{kind} {ns}/{name}"),
    }
}

fn is_secret(obj: &Value) -> bool {
    group(obj).is_empty() && kind(obj) == "Secret"
}

/// The error in words, naming types rather than values: the values could be
/// secret. On a Secret, free-form messages from functions are dropped too.
fn describe_error(err: &ExecutionError, obj: &Value) -> String {
    match err {
        ExecutionError::NoSuchKey(key) => format!("no such key: {key}"),
        ExecutionError::UndeclaredReference(name) => {
            if obj.get(name.as_str()).is_none() && name.as_str() != "self" {
                format!("no such attribute: the object has no top-level field `{name}`")
            } else {
                format!("undeclared reference to `{name}`")
            }
        }
        ExecutionError::NoSuchOverload(overload) => overload.to_string(),
        ExecutionError::UnexpectedType { got, want } => {
            format!("unexpected type: got {got}, want {want}")
        }
        ExecutionError::InvalidArgumentCount { expected, actual } => {
            format!("wrong number of arguments: expected {expected}, got {actual}")
        }
        ExecutionError::ValuesNotComparable(a, b) => {
            format!("a {} cannot be compared to a {}", a.type_of(), b.type_of())
        }
        ExecutionError::UnsupportedBinaryOperator(op, a, b) => format!(
            "operator `{op}` does not apply to {} and {}",
            a.type_of(),
            b.type_of()
        ),
        ExecutionError::UnsupportedTargetType { target } => {
            format!("unsupported argument type {}", target.type_of())
        }
        ExecutionError::NotSupportedAsMethod { method, target } => {
            format!("method `{method}` is not supported on {}", target.type_of())
        }
        ExecutionError::UnsupportedKeyType(key) => {
            format!("a {} cannot be a map key", key.type_of())
        }
        ExecutionError::UnsupportedIndex(index, target) => {
            format!("a {} cannot index a {}", index.type_of(), target.type_of())
        }
        ExecutionError::MissingArgumentOrTarget => "missing argument or target".to_owned(),
        ExecutionError::DivisionByZero(_) => "division by zero".to_owned(),
        ExecutionError::RemainderByZero(_) => "remainder by zero".to_owned(),
        ExecutionError::Overflow(op, _, _) => format!("integer overflow in `{op}`"),
        ExecutionError::IndexOutOfBounds(_) => "list index out of bounds".to_owned(),
        ExecutionError::DuplicateKey(_) => "duplicate map key".to_owned(),
        ExecutionError::FunctionError { function, message } => {
            if is_secret(obj) {
                format!("function `{function}` failed")
            } else {
                format!("function `{function}` failed: {message}")
            }
        }
        _ => "CEL evaluation error".to_owned(),
    }
}

#[cfg(test)]
#[path = "custom_tests.rs"]
mod tests;
