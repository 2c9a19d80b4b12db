//! `spec.template.data` of SealedSecrets: Go `text/template` over the
//! unsealed values (a `map[string]string`), with the sprig functions people
//! use in Secrets. The supported subset is: text, `{{ }}` actions with `-`
//! trimming, pipelines, `.key`, `.`, string literals, and the functions
//! `index`, `printf` (`%s`/`%v`/`%q`/`%%`), `toJson`, `quote`, `squote`,
//! `b64enc`, `b64dec`, `upper`, `lower`, `trim`, `trimPrefix`, `trimSuffix`,
//! `replace`, `default`, `nospace`, `print`. Anything else is an error that
//! names the construct, so such objects can be left to the controller.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use std::collections::BTreeMap;

/// Render `template` with `data` (the unsealed values).
pub fn render(template: &str, data: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let mut text = &rest[..start];
        let mut action = &rest[start + 2..];
        if let Some(a) = action.strip_prefix('-')
            && a.starts_with([' ', '\t', '\n', '\r'])
        {
            text = text.trim_end();
            action = a;
        }
        out.push_str(text);
        let end = action.find("}}").ok_or("unterminated {{ action")?;
        let mut body = &action[..end];
        let mut after = &action[end + 2..];
        if let Some(b) = body.strip_suffix('-')
            && b.ends_with([' ', '\t', '\n', '\r'])
        {
            body = b;
            after = after.trim_start();
        }
        let body = body.trim();
        if !body.starts_with("/*") {
            out.push_str(&eval_pipeline(body, data)?);
        }
        rest = after;
    }
    out.push_str(rest);
    Ok(out)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Str(String),
    Field(String),
    Dot,
    Ident(String),
    Pipe,
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let mut toks = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '|' => {
                toks.push(Tok::Pipe);
                i += 1;
            }
            '"' => {
                let mut v = String::new();
                i += 1;
                loop {
                    let c = *chars.get(i).ok_or("unterminated string")?;
                    i += 1;
                    match c {
                        '"' => break,
                        '\\' => {
                            let e = *chars.get(i).ok_or("unterminated string")?;
                            i += 1;
                            v.push(match e {
                                'n' => '\n',
                                't' => '\t',
                                'r' => '\r',
                                '\\' => '\\',
                                '"' => '"',
                                other => return Err(format!("unsupported escape \\{other}")),
                            });
                        }
                        c => v.push(c),
                    }
                }
                toks.push(Tok::Str(v));
            }
            '`' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|c| *c == '`')
                    .ok_or("unterminated raw string")?;
                toks.push(Tok::Str(chars[i + 1..i + 1 + end].iter().collect()));
                i += end + 2;
            }
            '.' => {
                let start = i + 1;
                let mut j = start;
                while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                    j += 1;
                }
                if j == start {
                    toks.push(Tok::Dot);
                } else {
                    toks.push(Tok::Field(chars[start..j].iter().collect()));
                }
                i = j;
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                toks.push(Tok::Ident(chars[start..i].iter().collect()));
            }
            other => return Err(format!("unsupported template syntax at '{other}'")),
        }
    }
    Ok(toks)
}

#[derive(Clone)]
enum Val {
    Str(String),
    Map,
}

fn eval_pipeline(body: &str, data: &BTreeMap<String, String>) -> Result<String, String> {
    let toks = tokenize(body)?;
    let mut prev: Option<Val> = None;
    for cmd in toks.split(|t| *t == Tok::Pipe) {
        if cmd.is_empty() {
            return Err("empty command in pipeline".into());
        }
        let mut args: Vec<Val> = Vec::new();
        let (head, rest) = cmd.split_first().ok_or("empty command")?;
        for t in rest {
            args.push(operand(t, data)?);
        }
        if let Some(p) = prev.take() {
            args.push(p);
        }
        prev = Some(match head {
            Tok::Ident(f) => call(f, &args, data)?,
            other if args.is_empty() => operand(other, data)?,
            _ => return Err("a value cannot take arguments".into()),
        });
    }
    match prev {
        Some(Val::Str(s)) => Ok(s),
        Some(Val::Map) => Err("printing the whole data map is not supported".into()),
        None => Ok(String::new()),
    }
}

fn operand(t: &Tok, data: &BTreeMap<String, String>) -> Result<Val, String> {
    match t {
        Tok::Str(s) => Ok(Val::Str(s.clone())),
        // A missing key prints Go's "<no value>".
        Tok::Field(k) => Ok(Val::Str(
            data.get(k).cloned().unwrap_or_else(|| "<no value>".into()),
        )),
        Tok::Dot => Ok(Val::Map),
        Tok::Ident(f) => Err(format!(
            "function '{f}' used as an argument needs parentheses, which are not supported"
        )),
        Tok::Pipe => Err("unexpected |".into()),
    }
}

fn s(v: &Val) -> Result<&str, String> {
    match v {
        Val::Str(s) => Ok(s),
        Val::Map => Err("expected a string, got the data map".into()),
    }
}

fn go_quote(v: &str) -> String {
    // strconv.Quote for printable text: escape \ and " and control characters.
    let mut out = String::from("\"");
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn call(f: &str, args: &[Val], data: &BTreeMap<String, String>) -> Result<Val, String> {
    let want = |n: usize| {
        if args.len() == n {
            Ok(())
        } else {
            Err(format!("{f} takes {n} arguments, got {}", args.len()))
        }
    };
    Ok(Val::Str(match f {
        "index" => {
            want(2)?;
            if !matches!(args[0], Val::Map) {
                return Err("index needs . as its first argument".into());
            }
            data.get(s(&args[1])?).cloned().unwrap_or_default()
        }
        "toJson" => {
            want(1)?;
            flotilla_model::gojson::string(s(&args[0])?)
        }
        "quote" => args
            .iter()
            .map(|a| s(a).map(go_quote))
            .collect::<Result<Vec<_>, _>>()?
            .join(" "),
        "squote" => args
            .iter()
            .map(|a| s(a).map(|v| format!("'{v}'")))
            .collect::<Result<Vec<_>, _>>()?
            .join(" "),
        "b64enc" => {
            want(1)?;
            B64.encode(s(&args[0])?)
        }
        "b64dec" => {
            want(1)?;
            match B64.decode(s(&args[0])?) {
                Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                Err(e) => e.to_string(),
            }
        }
        "upper" => {
            want(1)?;
            s(&args[0])?.to_uppercase()
        }
        "lower" => {
            want(1)?;
            s(&args[0])?.to_lowercase()
        }
        "trim" => {
            want(1)?;
            s(&args[0])?.trim().to_string()
        }
        "nospace" => {
            want(1)?;
            s(&args[0])?
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect()
        }
        "trimPrefix" => {
            want(2)?;
            let v = s(&args[1])?;
            v.strip_prefix(s(&args[0])?).unwrap_or(v).to_string()
        }
        "trimSuffix" => {
            want(2)?;
            let v = s(&args[1])?;
            v.strip_suffix(s(&args[0])?).unwrap_or(v).to_string()
        }
        "replace" => {
            want(3)?;
            s(&args[2])?.replace(s(&args[0])?, s(&args[1])?)
        }
        "default" => {
            want(2)?;
            let v = s(&args[1])?;
            if v.is_empty() {
                s(&args[0])?.to_string()
            } else {
                v.to_string()
            }
        }
        "print" => {
            // Go's fmt.Sprint adds spaces only between operands when neither is a string.
            args.iter().map(s).collect::<Result<Vec<_>, _>>()?.concat()
        }
        "printf" => {
            let (fmt, rest) = args.split_first().ok_or("printf needs a format")?;
            let fmt = s(fmt)?;
            let mut out = String::new();
            let mut it = rest.iter();
            let mut chars = fmt.chars();
            while let Some(c) = chars.next() {
                if c != '%' {
                    out.push(c);
                    continue;
                }
                match chars.next() {
                    Some('%') => out.push('%'),
                    Some('s') | Some('v') => {
                        out.push_str(s(it.next().ok_or("printf: missing argument")?)?)
                    }
                    Some('q') => out.push_str(&go_quote(s(it
                        .next()
                        .ok_or("printf: missing argument")?)?)),
                    Some(o) => return Err(format!("printf verb %{o} is not supported")),
                    None => out.push_str("%!(NOVERB)"),
                }
            }
            out
        }
        other => return Err(format!("template function '{other}' is not supported")),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> BTreeMap<String, String> {
        [("user", "admin"), ("password", "p\"<w>"), ("dash-key", "d")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn common_templates() {
        let d = data();
        assert_eq!(
            render("{{ .user }}:{{ .password }}", &d).unwrap(),
            "admin:p\"<w>"
        );
        assert_eq!(
            render(r#"{"pw": {{ toJson .password }}}"#, &d).unwrap(),
            r#"{"pw": "p\"\u003cw\u003e"}"#
        );
        assert_eq!(render(r#"{{ index . "dash-key" }}"#, &d).unwrap(), "d");
        assert_eq!(
            render("{{ .user | upper | quote }}", &d).unwrap(),
            "\"ADMIN\""
        );
        assert_eq!(render("{{ .user | b64enc }}", &d).unwrap(), "YWRtaW4=");
        assert_eq!(
            render(r#"{{ printf "%s@%s" .user "host" }}"#, &d).unwrap(),
            "admin@host"
        );
        assert_eq!(render("a\n  {{- .user -}}  \nb", &d).unwrap(), "aadminb");
        assert_eq!(render("{{ .missing }}", &d).unwrap(), "<no value>");
        assert!(render("{{ env \"HOME\" }}", &d).is_err());
        assert!(render("{{ .user", &d).is_err());
    }
}
