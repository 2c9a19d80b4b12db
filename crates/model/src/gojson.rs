//! Go `encoding/json` string encoding, which several formats hash or sign
//! over: kustomize's generator hashes, SOPS' JSON store, Sealed Secrets'
//! `toJson` template function. One implementation keeps them byte-identical.

/// Append `s` as Go's `json.Marshal` writes a string (Go 1.22 and later):
/// HTML-safe (`<`, `>`, `&` escaped), U+2028/U+2029 escaped, `\b` and `\f`
/// short escapes, other control characters as `\u00XX`.
pub fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// [`write_string`] into a new `String`.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    write_string(s, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::string;

    #[test]
    fn escapes_as_go_encoding_json() {
        assert_eq!(string("plain"), r#""plain""#);
        assert_eq!(string("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(string("<a&b>"), r#""\u003ca\u0026b\u003e""#);
        assert_eq!(string("\n\r\t\u{8}\u{c}\u{1}"), r#""\n\r\t\b\f\u0001""#);
        assert_eq!(string("\u{2028}\u{2029}é"), "\"\\u2028\\u2029é\"");
    }
}
