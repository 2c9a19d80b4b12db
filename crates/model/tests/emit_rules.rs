//! The writer's rules, one case each: JSON value in, kustomize's YAML out.
//!
//! Every expectation is what sigs.k8s.io/yaml v1.4.0 (go-yaml v2, the
//! writer inside kustomize v5.5.0) printed for the value after Go's
//! `json.Marshal`, checked case by case against go-yaml's emitter logic:
//! quoting (`"…"` when the text would read back as a bool/int/float/null/
//! timestamp under YAML 1.1, `'…'` when only the layout forbids a plain
//! scalar), escapes, literal blocks and their chomping indicators, folding
//! at 80 columns, number formatting, key order, complex keys.

use flotilla_model::yaml::emit;
use serde_json::Value;

fn check(cases: &[(&str, &str)]) {
    let mut failures = Vec::new();
    for (json, want) in cases {
        let v: Value = serde_json::from_str(json).expect("test JSON");
        let got = emit(&v);
        if got != *want {
            failures.push(format!("{json}\n  got:  {got:?}\n  want: {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn go_yaml_v2_writer_rules() {
    check(&[
        (r#"{"s":"plain"}"#, "s: plain\n"),
        (r#"{"s":"true"}"#, "s: \"true\"\n"),
        (r#"{"s":"yes"}"#, "s: \"yes\"\n"),
        (r#"{"s":"on"}"#, "s: \"on\"\n"),
        (r#"{"s":"Off"}"#, "s: \"Off\"\n"),
        (r#"{"s":"y"}"#, "s: \"y\"\n"),
        (r#"{"s":"null"}"#, "s: \"null\"\n"),
        (r#"{"s":"~"}"#, "s: \"~\"\n"),
        (r#"{"s":""}"#, "s: \"\"\n"),
        (r#"{"s":"1"}"#, "s: \"1\"\n"),
        (r#"{"s":"1.5"}"#, "s: \"1.5\"\n"),
        (r#"{"s":"0644"}"#, "s: \"0644\"\n"),
        (r#"{"s":"08"}"#, "s: \"08\"\n"),
        (r#"{"s":"0x1F"}"#, "s: \"0x1F\"\n"),
        (r#"{"s":"1_000"}"#, "s: \"1_000\"\n"),
        (r#"{"s":"1e3"}"#, "s: \"1e3\"\n"),
        (r#"{"s":".inf"}"#, "s: \".inf\"\n"),
        (r#"{"s":"2020-01-01"}"#, "s: \"2020-01-01\"\n"),
        (r#"{"s":"2020-13-01"}"#, "s: 2020-13-01\n"),
        (r#"{"s":"12:30:45"}"#, "s: \"12:30:45\"\n"),
        (r#"{"s":"<<"}"#, "s: <<\n"),
        (r#"{"s":" leading"}"#, "s: ' leading'\n"),
        (r#"{"s":"trailing "}"#, "s: 'trailing '\n"),
        (r#"{"s":"a: b"}"#, "s: 'a: b'\n"),
        (r#"{"s":"a:b"}"#, "s: a:b\n"),
        (r#"{"s":"a #b"}"#, "s: 'a #b'\n"),
        (r#"{"s":"a#b"}"#, "s: a#b\n"),
        (r#"{"s":"- a"}"#, "s: '- a'\n"),
        (r#"{"s":"-a"}"#, "s: -a\n"),
        (r#"{"s":"? x"}"#, "s: '? x'\n"),
        (r#"{"s":"*ref"}"#, "s: '*ref'\n"),
        (r#"{"s":"&anchor"}"#, "s: '&anchor'\n"),
        (r#"{"s":"!tag"}"#, "s: '!tag'\n"),
        (r#"{"s":"%x"}"#, "s: '%x'\n"),
        (r#"{"s":"@x"}"#, "s: '@x'\n"),
        (r#"{"s":"`x"}"#, "s: '`x'\n"),
        (r#"{"s":"[a]"}"#, "s: '[a]'\n"),
        (r#"{"s":"{a}"}"#, "s: '{a}'\n"),
        (r#"{"s":"'quoted'"}"#, "s: '''quoted'''\n"),
        (r#"{"s":"\"dq\""}"#, "s: '\"dq\"'\n"),
        (r#"{"s":"it's"}"#, "s: it's\n"),
        (r#"{"s":"---"}"#, "s: '---'\n"),
        (r#"{"s":"..."}"#, "s: '...'\n"),
        (r#"{"s":"tab\there"}"#, "s: \"tab\\there\"\n"),
        (r#"{"s":"bell\u0007"}"#, "s: \"bell\\a\"\n"),
        (r#"{"s":"é日本"}"#, "s: é日本\n"),
        (r#"{"s":"emoji 😀"}"#, "s: \"emoji \\U0001F600\"\n"),
        (r#"{"s":"nbsp\u00a0x"}"#, "s: nbsp\u{a0}x\n"),
        (r#"{"s":"\ufeffbom"}"#, "s: \"\\uFEFF\\x62\\x6F\\x6D\"\n"),
        (r#"{"s":"line1\nline2"}"#, "s: |-\n  line1\n  line2\n"),
        (r#"{"s":"line1\nline2\n"}"#, "s: |\n  line1\n  line2\n"),
        (r#"{"s":"line1\nline2\n\n"}"#, "s: |+\n  line1\n  line2\n\n"),
        (r#"{"s":"\n"}"#, "s: |2+\n\n"),
        (
            r#"{"s":"  indented\nsecond\n"}"#,
            "s: |2\n    indented\n  second\n",
        ),
        (
            r#"{"s":"trailing space \nnext"}"#,
            "s: \"trailing space \\nnext\"\n",
        ),
        (r#"{"s":"a\n b"}"#, "s: |-\n  a\n   b\n"),
        (r#"{"s":"a\r\nb"}"#, "s: \"a\\r\\nb\"\n"),
        (r#"{"s":"x\u2028y"}"#, "s: 'x\u{2028}  y'\n"),
        (
            r#"{"s":"lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua"}"#,
            "s: lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt\n  ut labore et dolore magna aliqua\n",
        ),
        (
            r#"{"s":"'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna"}"#,
            "s: '''lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor\n  incididunt ut labore et dolore magna'\n",
        ),
        (
            r#"{"s":"\tlorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna"}"#,
            "s: \"\\tlorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor\n  incididunt ut labore et dolore magna\"\n",
        ),
        (
            r#"{"s":"lorem  ipsum  dolor  sit  amet  consectetur  adipiscing  elit  sed  do  eiusmod  tempor  incididunt  ut labore"}"#,
            "s: lorem  ipsum  dolor  sit  amet  consectetur  adipiscing  elit  sed  do  eiusmod  tempor  incididunt  ut\n  labore\n",
        ),
        (
            r#"{"s":"averyveryveryveryveryveryveryveryveryveryveryveryveryveryveryveryveryveryveryveryverylongword and more"}"#,
            "s: averyveryveryveryveryveryveryveryveryveryveryveryveryveryveryveryveryveryveryveryverylongword\n  and more\n",
        ),
        (
            r#"{"n":0,"i":-42,"big":9223372036854775807,"neg":-9223372036854775808,"u":18446744073709551615}"#,
            "big: 9223372036854775807\ni: -42\n\"n\": 0\nneg: -9223372036854775808\nu: 18446744073709551615\n",
        ),
        (
            r#"{"f1":1.5,"f2":2.0,"f3":-0.0,"f4":1e6,"f5":1234567.5,"f6":123456.5,"f7":0.0001,"f8":0.00001,"f9":1e-7,"f10":1e20,"f11":1e21,"f12":1.7976931348623157e308,"f13":5e-324,"f14":12345678901234567890.0,"f15":0.1}"#,
            "f1: 1.5\nf2: 2\nf3: 0\nf4: 1000000\nf5: 1.2345675e+06\nf6: 123456.5\nf7: 0.0001\nf8: 1e-05\nf9: 1e-07\nf10: 1e+20\nf11: 1e+21\nf12: 1.7976931348623157e+308\nf13: 5e-324\nf14: 12345678901234567000\nf15: 0.1\n",
        ),
        (
            r#"{"b":true,"c":false,"z":null}"#,
            "b: true\nc: false\nz: null\n",
        ),
        (
            r#"{"empty_map":{},"empty_list":[],"nested":{"list":[[],{}]}}"#,
            "empty_list: []\nempty_map: {}\nnested:\n  list:\n  - []\n  - {}\n",
        ),
        (
            r#"{"containers":[{"name":"x","ports":[{"containerPort":80}]}],"args":["a","b"],"matrix":[[1,2],[3,[4]]]}"#,
            "args:\n- a\n- b\ncontainers:\n- name: x\n  ports:\n  - containerPort: 80\nmatrix:\n- - 1\n  - 2\n- - 3\n  - - 4\n",
        ),
        (
            r#"{"b":1,"a":2,"B":3,"_":4,"a10":5,"a2":6,"a1":7,"1":8,"10":9,"2":10,"é":11,"aB":12,"ab":13,"a-b":14,"a_b":15,"a.b":16}"#,
            "_: 4\n\"1\": 8\n\"2\": 10\n\"10\": 9\nB: 3\na: 2\na-b: 14\na.b: 16\na_b: 15\na1: 7\na2: 6\na10: 5\naB: 12\nab: 13\nb: 1\né: 11\n",
        ),
        (
            r#"{"x01":1,"x1":2,"x001":3,"x010":4,"x10":5}"#,
            "x1: 2\nx01: 1\nx001: 3\nx10: 5\nx010: 4\n",
        ),
        (
            r#"{"a: b":1,"":2,"true":3,"yes":4,"123":5,"-k":6," k":7}"#,
            "\"\": 2\n' k': 7\n-k: 6\n\"123\": 5\n'a: b': 1\n\"true\": 3\n\"yes\": 4\n",
        ),
        (
            r#"{"multi\nline key":1}"#,
            "? |-\n  multi\n  line key\n: 1\n",
        ),
        (
            r#"{"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk":1}"#,
            "? kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\n: 1\n",
        ),
        (
            r#"{"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk":{"a":1}}"#,
            "? kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\n: a: 1\n",
        ),
        (
            r#"{"list":["line1\nline2\n","lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore",{"k":"v\n"}]}"#,
            "list:\n- |\n  line1\n  line2\n- lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt\n  ut labore et dolore\n- k: |\n    v\n",
        ),
        (
            r#"{"deep":{"deeper":{"deepest":"lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt"}}}"#,
            "deep:\n  deeper:\n    deepest: lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod\n      tempor incididunt\n",
        ),
    ]);
}

#[test]
fn nel_folds_as_on_kustomizes_json_round_trip() {
    // Go's JSON encoder leaves U+0085 unescaped; go-yaml then folds it as a
    // line break inside the double-quoted JSON string.
    check(&[(
        r#"{"nel":"a \u0085 b","nel2":"a\u0085\u0085b","nel3":"\u0085lead","nel4":"trail  \u0085"}"#,
        "nel: a b\nnel2: |-\n  a\n  b\nnel3: ' lead'\nnel4: 'trail '\n",
    )]);
}

#[test]
fn stream_separators() {
    use flotilla_model::yaml::emit_stream;
    use serde_json::json;
    assert_eq!(emit_stream(&[]), "");
    assert_eq!(emit_stream(&[json!({"a": 1})]), "a: 1\n");
    assert_eq!(
        emit_stream(&[json!({"a": 1}), json!({"b": [1]})]),
        "a: 1\n---\nb:\n- 1\n"
    );
}
