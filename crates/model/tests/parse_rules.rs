//! The reader's typing and error rules.
//!
//! Round-trip expectations are what kustomize's pipeline prints for the
//! same input: go-yaml v3 decoding into Go values (as kyaml does), Go's
//! `json.Marshal`, then sigs.k8s.io/yaml v1.4.0 `JSONToYAML`.

use flotilla_model::yaml::{YamlError, emit_stream, parse_stream};
use serde_json::json;

fn round_trip(input: &str) -> String {
    emit_stream(&parse_stream(input).expect("valid YAML"))
}

fn error(input: &str) -> YamlError {
    parse_stream(input).expect_err("must be rejected")
}

#[test]
fn scalars_are_typed_as_kyaml_types_them() {
    let input = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: typing
data:
  yes_plain: yes
  on_plain: on
  y_plain: y
  true_plain: true
  True_plain: True
  octal: 0644
  hex: 0x1F
  underscored: 1_000
  sci: 1e3
  float: 1.50
  half: .5
  neg_zero: -0.0
  big: 18446744073709551615
  bigger: 18446744073709551616
  leading_zero: 08
  quoted_octal: "0644"
  date: 2020-01-01
  datetime: 2001-12-14t21:59:43.10-05:00
  spaced: 2001-12-14 21:59:43.10
  tilde: ~
  empty:
  str_tag: !!str 123
  int_tag: !!int "12"
  float_tag: !!float 1
  bin: !!binary aGVsbG8=
  custom: !thing 42
  nonspecific: ! 42
  folded: >
    folded text
    continues here

    new paragraph
  literal_keep: |+
    kept

  literal_strip: |-
    stripped
"#;
    let want = r#"apiVersion: v1
data:
  True_plain: true
  big: 18446744073709551615
  bigger: 1.8446744073709552e+19
  bin: hello
  custom: "42"
  date: "2020-01-01T00:00:00Z"
  datetime: "2001-12-14T21:59:43.1-05:00"
  empty: null
  float: 1.5
  float_tag: 1
  folded: |
    folded text continues here
    new paragraph
  half: 0.5
  hex: 31
  int_tag: 12
  leading_zero: 8
  literal_keep: |+
    kept

  literal_strip: stripped
  neg_zero: 0
  nonspecific: 42
  octal: 420
  on_plain: "on"
  quoted_octal: "0644"
  sci: 1000
  spaced: "2001-12-14T21:59:43.1Z"
  str_tag: "123"
  tilde: null
  true_plain: true
  underscored: 1000
  y_plain: "y"
  yes_plain: "yes"
kind: ConfigMap
metadata:
  name: typing
"#;
    assert_eq!(round_trip(input), want);
}

#[test]
fn ints_stay_ints_and_floats_stay_floats() {
    let docs = parse_stream("a: 1\nb: 1.0\nc: -7\nd: 0644\ne: 1e3\n").unwrap();
    let d = &docs[0];
    assert!(d["a"].is_i64());
    assert!(d["b"].is_f64());
    assert_eq!(d["c"], json!(-7));
    assert_eq!(d["d"], json!(420));
    assert!(d["e"].is_f64());
    assert_eq!(d["e"].as_f64(), Some(1000.0));
}

#[test]
fn anchors_aliases_and_merge_keys() {
    let input = r#"base: &base
  a: 1
  b: 2
other: &other
  b: 20
  c: 30
merged:
  <<: [*base, *other]
  a: 100
single:
  <<: *base
list: &l [x, y]
again: *l
---
fromPrevious: *base
---
# only a comment
---
"#;
    let want = r#"again:
- x
- "y"
base:
  a: 1
  b: 2
list:
- x
- "y"
merged:
  a: 100
  b: 2
  c: 30
other:
  b: 20
  c: 30
single:
  a: 1
  b: 2
---
fromPrevious:
  a: 1
  b: 2
"#;
    assert_eq!(round_trip(input), want);
    let docs = parse_stream(input).unwrap();
    // Keys the mapping sets win over merged ones; earlier sources win.
    assert_eq!(docs[0]["merged"], json!({"a": 100, "b": 2, "c": 30}));
}

#[test]
fn flow_collections_and_quoted_scalars() {
    let input = r#"spec: {ports: [{port: 80, name: "http"}, {port: 443}], empty: {}, none: []}
args: ['--flag=1', "a\tb", 'it''s']
multi: "line one
  line two"
"#;
    let want = r#"args:
- --flag=1
- "a\tb"
- it's
multi: line one line two
spec:
  empty: {}
  none: []
  ports:
  - name: http
    port: 80
  - port: 443
"#;
    assert_eq!(round_trip(input), want);
}

#[test]
fn empty_and_null_documents_are_skipped() {
    assert!(parse_stream("").unwrap().is_empty());
    assert!(
        parse_stream("---\n---\n# comment\n...\n")
            .unwrap()
            .is_empty()
    );
    assert!(parse_stream("--- null\n--- ~\n").unwrap().is_empty());
    let docs = parse_stream("---\na: 1\n---\n---\nb: 2\n").unwrap();
    assert_eq!(docs, vec![json!({"a": 1}), json!({"b": 2})]);
}

#[test]
fn key_order_is_preserved_on_read() {
    let docs = parse_stream("z: 1\na: 2\nm: 3\n").unwrap();
    let keys: Vec<&String> = docs[0].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["z", "a", "m"]);
}

#[test]
fn root_mapping_takes_scalar_keys_as_text_and_drops_null_keys() {
    // kyaml decodes the object into map[string]interface{}: `1` is "1",
    // a null key cannot become a Go string and is left out.
    let docs = parse_stream("1: a\ntrue: b\nnull: c\n~: d\nk: e\n").unwrap();
    assert_eq!(docs[0], json!({"1": "a", "true": "b", "k": "e"}));
}

#[test]
fn duplicate_key_is_an_error_with_both_lines() {
    let e = error("a: 1\nb:\n  c: 2\n  c: 3\n");
    assert_eq!(e.message, "mapping key \"c\" already defined at line 3");
    assert_eq!((e.line, e.column), (Some(4), Some(3)));
    assert_eq!(
        e.go_message(),
        "yaml: unmarshal errors:\n  line 4: mapping key \"c\" already defined at line 3"
    );
    // Quoted and plain spellings of a key are the same key.
    let e = error("a: 1\n\"a\": 2\n");
    assert_eq!(e.line, Some(2));
}

#[test]
fn syntax_errors_come_before_decoding_errors() {
    // go-yaml decodes only what parsed: the repeated key is not reported.
    let e = error("a: 1\na: 2\nb: [\n");
    assert_eq!(e.line, Some(3));
    assert!(!e.message.contains("already defined"), "{}", e.message);
}

#[test]
fn bad_indentation_is_an_error_with_its_line() {
    let e = error("a: 1\nb:\n  c: 2\n   d: 3\n");
    assert_eq!(e.line, Some(4));
    assert_eq!(
        e.go_message(),
        "yaml: line 4: mapping values are not allowed in this context"
    );
    let e = error("key: value\n  bad: indent\n");
    assert_eq!(e.line, Some(2));
    // go-yaml names the line before the enclosing mapping's first key.
    let e = error("spec:\n  selector:\n    app: x\n    - name: http\n");
    assert_eq!(e.line, Some(4));
    assert_eq!(e.go_message(), "yaml: line 2: did not find expected key");
}

#[test]
fn tab_indentation_is_an_error_with_its_line() {
    let e = error("a: 1\nb:\n\tc: 2\n");
    assert_eq!(e.line, Some(3));
    assert_eq!(
        e.go_message(),
        "yaml: line 3: found character that cannot start any token"
    );
}

#[test]
fn values_kustomize_cannot_print_are_errors() {
    let e = error("a: !!int yes\n");
    assert_eq!(e.message, "cannot decode !!str `yes` as a !!int");
    assert_eq!(e.line, Some(1));
    let e = error("a: .inf\n");
    assert!(e.message.contains("NaN or infinity"), "{}", e.message);
    // Nested mappings need string keys to become JSON objects.
    let e = error("a:\n  1: x\n");
    assert_eq!(e.line, Some(2));
    let e = error("a: *nope\n");
    assert_eq!(e.message, "unknown anchor 'nope' referenced");
    let e = error("a: !!binary not-base64\n");
    assert_eq!(e.message, "!!binary value contains invalid base64 data");
    let e = error("a:\n  <<: 1\n");
    assert_eq!(e.line, Some(2));
}

#[test]
fn errors_display_position() {
    let e = error("a: 1\na: 2\n");
    assert_eq!(
        e.to_string(),
        "invalid YAML: line 2, column 1: mapping key \"a\" already defined at line 1"
    );
}

#[test]
fn go_yaml_syntax_quirks_are_errors_too() {
    // go-yaml ends a plain scalar at `?` inside a flow collection.
    let e = error("args: [--url=http://x/y?z=1]\n");
    assert_eq!(e.go_message(), "yaml: did not find expected ',' or ']'");
    assert_eq!(e.line, Some(1));
    // Quoted, or outside flow collections, it is fine.
    assert_eq!(
        round_trip("a: ['http://x/y?z=1']\nb: http://x/y?z=1\n"),
        "a:\n- http://x/y?z=1\nb: http://x/y?z=1\n"
    );
    // A block scalar whose first line starts with a tab after the
    // (auto-detected) indentation; later tab-indented lines are content.
    let e = error("b: 1\na: |\n  \tx\n");
    assert_eq!(
        e.go_message(),
        "yaml: line 2: found a tab character where an indentation space is expected"
    );
    assert_eq!(
        round_trip("make: |\n  all:\n  \techo hi\nexplicit: |2\n  \tx\n"),
        "explicit: \"\\tx\\n\"\nmake: \"all:\\n\\techo hi\\n\"\n"
    );
    // go-yaml knows no `\/` escape.
    let e = error("a: \"x\\/\"\n");
    assert_eq!(e.go_message(), "yaml: found unknown escape character");
    // go-yaml takes quoted continuation lines at any indentation, but not
    // a document marker inside a quoted scalar.
    assert_eq!(
        round_trip("a:\n  b: \"x\n  y\"\n  c: 'p\nq'\n"),
        "a:\n  b: x y\n  c: p q\n"
    );
    let e = error("b: \"x\n---\ny\"\n");
    assert_eq!(
        e.go_message(),
        "yaml: line 2: found unexpected document indicator"
    );
    // A tab between `- ` and a sequence item.
    let e = error("a:\n- \tx\n");
    assert_eq!(
        e.go_message(),
        "yaml: line 2: found character that cannot start any token"
    );
    assert_eq!(
        round_trip("a: \tb\nc: |\n  - \tx\n"),
        "a: b\nc: \"- \\tx\\n\"\n"
    );
    // A tab starting a line in block context, outside scalars.
    let e = error("a:\n  \tb: 1\n");
    assert_eq!(
        e.go_message(),
        "yaml: line 2: found character that cannot start any token"
    );
    let e = error("a: 1\n\t# comment\nb: 2\n");
    assert_eq!(
        e.go_message(),
        "yaml: line 2: found a tab character that violates indentation"
    );
    assert_eq!(
        round_trip("a: [1,\n\t2]\nb: c\n \td\n"),
        "a:\n- 1\n- 2\nb: c d\n"
    );
    // A key's tag must fit its text.
    let e = error("!!int resources: 1\n");
    assert_eq!(
        e.go_message(),
        "yaml: cannot decode !!str `resources` as a !!int"
    );
    // Control characters are refused before parsing.
    let e = error("a: 1\n\u{1}\n");
    assert_eq!(e.go_message(), "yaml: control characters are not allowed");
    assert_eq!(e.line, Some(2));
    // Syntax errors in go-yaml's words.
    assert_eq!(
        error("a: 1\nb\nc: 2\n").go_message(),
        "yaml: line 2: could not find expected ':'"
    );
    assert_eq!(
        error("a: \"unterminated\n").go_message(),
        "yaml: line 2: found unexpected end of stream"
    );
    // A stream may not begin with a document end marker.
    let e = error("# comment\n...\n---\na: 1\n");
    assert_eq!(
        e.go_message(),
        "yaml: line 1: did not find expected node content"
    );
    assert_eq!(round_trip("a: 1\n...\n---\nb: 2\n"), "a: 1\n---\nb: 2\n");
}

#[test]
fn kustomization_files_read_as_sigs_yaml() {
    use flotilla_model::yaml::{Dialect, emit, parse_stream_with};
    // YAML 1.1 booleans, last duplicate wins, timestamps stay text, scalar
    // keys become text, `<<` merges in place (keys after it override).
    let input = r#"a: 1
b: yes
c: on
d: 2020-01-01
e: 0644
f: ! 12
g: 1
g: 2
yes: key
1.5: float key
3: int key
base: &b {x: 1, z: 2}
m:
  x: before
  <<: *b
  z: after
l:
  <<: [{p: first}, {p: second, q: 2}]
"#;
    let want = r#""1.5": float key
"3": int key
a: 1
b: true
base:
  x: 1
  z: 2
c: true
d: "2020-01-01"
e: 420
f: "12"
g: 2
l:
  p: first
  q: 2
m:
  x: 1
  z: after
"true": key
"#;
    let docs = parse_stream_with(input, Dialect::SigsYaml).unwrap();
    assert_eq!(emit(&docs[0]), want);
    // A null key fails only if its mapping survives.
    assert!(parse_stream_with("a:\n  ~: 1\n", Dialect::SigsYaml).is_err());
    let replaced = parse_stream_with("a:\n  ~: 1\na: 2\n", Dialect::SigsYaml).unwrap();
    assert_eq!(replaced[0], json!({"a": 2}));
}
