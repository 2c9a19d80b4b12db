//! The SOPS document tree: ordered mappings whose items may be comments,
//! sequences, and typed scalars, as sops' Go `TreeBranch` holds them.
//!
//! Order and comments are kept so that a decrypt/encrypt round trip changes
//! only the values. Scalar typing follows go-yaml v3 (what sops uses), not
//! YAML 1.1: `yes`/`no` are strings, `0777` is an integer.

/// One node of a document.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Mapping(Vec<Item>),
    Sequence(Vec<Node>),
    Scalar(Scalar),
    /// A comment inside a sequence (sops keeps those as sequence elements).
    Comment(Comment),
}

/// A mapping item: a key/value pair or a comment line.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Pair(String, Node),
    Comment(Comment),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Comment {
    /// Text after `#`, including any leading space.
    pub text: String,
    /// A trailing comment on the same line as the previous value.
    pub inline: bool,
}

/// A typed leaf value.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    Null,
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A timestamp, kept as its RFC 3339 text (what Go's `MarshalText` writes).
    Time(String),
}

impl Scalar {
    /// The bytes sops encrypts and feeds into the MAC (`ToBytes` in sops.go).
    pub fn to_sops_bytes(&self) -> Vec<u8> {
        match self {
            Scalar::Null => Vec::new(),
            Scalar::Str(s) | Scalar::Time(s) => s.as_bytes().to_vec(),
            Scalar::Int(i) => i.to_string().into_bytes(),
            Scalar::Float(f) => format_float_f(*f).into_bytes(),
            Scalar::Bool(true) => b"True".to_vec(),
            Scalar::Bool(false) => b"False".to_vec(),
        }
    }

    /// The `type:` name in an `ENC[...]` value.
    pub fn sops_type(&self) -> &'static str {
        match self {
            Scalar::Null | Scalar::Str(_) => "str",
            Scalar::Int(_) => "int",
            Scalar::Float(_) => "float",
            Scalar::Bool(_) => "bool",
            Scalar::Time(_) => "time",
        }
    }
}

impl Node {
    pub fn str(s: impl Into<String>) -> Node {
        Node::Scalar(Scalar::Str(s.into()))
    }

    /// The value under `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Mapping(items) => items.iter().find_map(|i| match i {
                Item::Pair(k, v) if k == key => Some(v),
                _ => None,
            }),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Scalar(Scalar::Str(s)) | Node::Scalar(Scalar::Time(s)) => Some(s),
            _ => None,
        }
    }

    /// Convert to JSON (comments dropped), e.g. to read metadata or hand a
    /// decrypted manifest to the engine.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Node::Mapping(items) => {
                let mut m = serde_json::Map::new();
                for i in items {
                    if let Item::Pair(k, v) = i {
                        m.insert(k.clone(), v.to_json());
                    }
                }
                Value::Object(m)
            }
            Node::Sequence(items) => Value::Array(
                items
                    .iter()
                    .filter(|n| !matches!(n, Node::Comment(_)))
                    .map(Node::to_json)
                    .collect(),
            ),
            Node::Comment(_) => Value::Null,
            Node::Scalar(s) => match s {
                Scalar::Null => Value::Null,
                Scalar::Str(s) | Scalar::Time(s) => Value::String(s.clone()),
                Scalar::Int(i) => Value::from(*i),
                Scalar::Float(f) => serde_json::Number::from_f64(*f)
                    .map(Value::Number)
                    .unwrap_or(Value::Null),
                Scalar::Bool(b) => Value::Bool(*b),
            },
        }
    }

    /// Build from JSON, keeping key order; integers that fit i64 stay ints.
    pub fn from_json(v: &serde_json::Value) -> Node {
        use serde_json::Value;
        match v {
            Value::Null => Node::Scalar(Scalar::Null),
            Value::Bool(b) => Node::Scalar(Scalar::Bool(*b)),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Node::Scalar(Scalar::Int(i)),
                None => Node::Scalar(Scalar::Float(n.as_f64().unwrap_or(0.0))),
            },
            Value::String(s) => Node::str(s.clone()),
            Value::Array(a) => Node::Sequence(a.iter().map(Node::from_json).collect()),
            Value::Object(o) => Node::Mapping(
                o.iter()
                    .map(|(k, v)| Item::Pair(k.clone(), Node::from_json(v)))
                    .collect(),
            ),
        }
    }
}

/// go-yaml v3 resolution of a plain (unquoted) scalar.
pub fn resolve_plain(s: &str) -> Scalar {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Scalar::Null,
        "true" | "True" | "TRUE" => return Scalar::Bool(true),
        "false" | "False" | "FALSE" => return Scalar::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Scalar::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Scalar::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Scalar::Float(f64::NAN),
        _ => {}
    }
    let first = s.as_bytes()[0];
    if first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.') {
        let plain: String = s.chars().filter(|c| *c != '_').collect();
        if let Some(i) = parse_go_int(&plain) {
            return Scalar::Int(i);
        }
        if flotilla_model::yaml::is_yaml_float(&plain)
            && let Ok(f) = plain.parse::<f64>()
        {
            return Scalar::Float(f);
        }
        if first.is_ascii_digit() && is_timestamp(s) {
            return Scalar::Time(normalize_timestamp(s));
        }
    }
    Scalar::Str(s.to_string())
}

/// `strconv.ParseInt(s, 0, 64)`: sign, then 0x/0o/0b prefixes or a leading 0 for octal.
fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return None;
    }
    let (radix, digits) = if let Some(r) = body.strip_prefix("0x").or(body.strip_prefix("0X")) {
        (16, r)
    } else if let Some(r) = body.strip_prefix("0o").or(body.strip_prefix("0O")) {
        (8, r)
    } else if let Some(r) = body.strip_prefix("0b").or(body.strip_prefix("0B")) {
        (2, r)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = i128::from_str_radix(digits, radix).ok()?;
    let v = if neg { -magnitude } else { magnitude };
    i64::try_from(v).ok()
}

/// The timestamp forms go-yaml v3 accepts (RFC 3339, `2006-1-2T15:4:5.999999999Z07:00`,
/// `2006-1-2t15:4:5...`, `2006-1-2 15:4:5.999999999`, `2006-1-2`).
fn is_timestamp(s: &str) -> bool {
    parse_timestamp(s).is_some()
}

fn parse_timestamp(s: &str) -> Option<time::OffsetDateTime> {
    use time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};
    let num = |t: &str, min: usize, max: usize| -> Option<u32> {
        if t.len() < min || t.len() > max || !t.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    };
    let (date_part, rest) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mut d = date_part.split('-');
    let year = num(d.next()?, 4, 4)? as i32;
    let month = num(d.next()?, 1, 2)? as u8;
    let day = num(d.next()?, 1, 2)? as u8;
    if d.next().is_some() {
        return None;
    }
    let date = Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()?;
    let Some(rest) = rest else {
        return Some(PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_utc());
    };
    let rest = rest.trim_start_matches(' ');
    // split off zone
    let (clock, zone) = if let Some(r) = rest.strip_suffix('Z') {
        (r, Some(UtcOffset::UTC))
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let z = &rest[i..];
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let mut parts = z[1..].split(':');
        let h = num(parts.next()?, 1, 2)? as i8;
        let m = match parts.next() {
            Some(p) => num(p, 2, 2)? as i8,
            None => 0,
        };
        (
            rest[..i].trim_end(),
            Some(UtcOffset::from_hms(sign * h, sign * m, 0).ok()?),
        )
    } else {
        (rest, None)
    };
    let (hms, frac) = match clock.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (clock, None),
    };
    let mut t = hms.split(':');
    let h = num(t.next()?, 1, 2)? as u8;
    let mi = num(t.next()?, 1, 2)? as u8;
    let se = num(t.next()?, 1, 2)? as u8;
    if t.next().is_some() {
        return None;
    }
    let nanos = match frac {
        Some(f) => {
            if f.is_empty() || f.len() > 9 || !f.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            format!("{f:0<9}").parse::<u32>().ok()?
        }
        None => 0,
    };
    let time = Time::from_hms_nano(h, mi, se, nanos).ok()?;
    let pdt = PrimitiveDateTime::new(date, time);
    Some(match zone {
        Some(z) => pdt.assume_offset(z),
        None => pdt.assume_utc(),
    })
}

/// Go's `time.Time.MarshalText` form: RFC 3339 with nanoseconds when present.
fn normalize_timestamp(s: &str) -> String {
    match parse_timestamp(s) {
        Some(t) => format_rfc3339_nano(t),
        None => s.to_string(),
    }
}

pub(crate) fn format_rfc3339_nano(t: time::OffsetDateTime) -> String {
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if t.nanosecond() != 0 {
        let frac = format!("{:09}", t.nanosecond());
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    let off = t.offset();
    if off.is_utc() {
        out.push('Z');
    } else {
        let (h, m, _) = off.as_hms();
        let sign = if off.is_negative() { '-' } else { '+' };
        out.push_str(&format!("{sign}{:02}:{:02}", h.abs(), m.abs()));
    }
    out
}

/// Go `time.RFC3339` (no fractional seconds) reformatting of a timestamp, the
/// MAC's AAD: `time.Parse(RFC3339, s).Format(RFC3339)`.
pub fn rfc3339_roundtrip(s: &str) -> Option<String> {
    let t = parse_timestamp(s)?;
    let t = t.replace_nanosecond(0).ok()?;
    Some(format_rfc3339_nano(t))
}

/// Shortest decimal digits and decimal exponent of a finite non-zero f64:
/// value = 0.d1d2d3... * 10^exp.
fn shortest_digits(f: f64) -> (String, i32) {
    // `{:e}` gives the shortest round-trip digits in the form d.ddddde±x.
    let s = format!("{:e}", f.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    (digits, exp + 1)
}

/// `strconv.FormatFloat(f, 'f', -1, 64)`: shortest digits, never an exponent.
pub fn format_float_f(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let (digits, dp) = shortest_digits(f);
    let mut out = String::new();
    if f < 0.0 {
        out.push('-');
    }
    if dp <= 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat((-dp) as usize));
        out.push_str(&digits);
    } else if dp as usize >= digits.len() {
        out.push_str(&digits);
        out.push_str(&"0".repeat(dp as usize - digits.len()));
    } else {
        out.push_str(&digits[..dp as usize]);
        out.push('.');
        out.push_str(&digits[dp as usize..]);
    }
    out
}

/// `strconv.FormatFloat(f, 'g', -1, 64)` as go-yaml v3 writes floats, with
/// its `.inf`/`.nan` spellings.
pub fn format_float_yaml(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let (digits, dp) = shortest_digits(f);
    let exp = dp - 1;
    if !(-4..6).contains(&exp) {
        // %e form with at least two exponent digits.
        exponent_form(f < 0.0, &digits, exp, 2)
    } else {
        format_float_f(f)
    }
}

/// `d.ddde±X`: the shortest digits in exponent form, the exponent padded to
/// `exp_width` digits (strconv's 'e' pads to 2, encoding/json does not pad).
fn exponent_form(negative: bool, digits: &str, exp: i32, exp_width: usize) -> String {
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    out.push_str(&format!("{:0exp_width$}", exp.abs()));
    out
}

/// Go `encoding/json` float formatting (ES6-like): 'f' in [1e-6, 1e21), else 'e'.
pub fn format_float_json(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let (digits, dp) = shortest_digits(f);
        exponent_form(f < 0.0, &digits, dp - 1, 1)
    } else {
        format_float_f(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_yaml_v3_resolution() {
        assert_eq!(resolve_plain("yes"), Scalar::Str("yes".into()));
        assert_eq!(resolve_plain("True"), Scalar::Bool(true));
        assert_eq!(resolve_plain("0777"), Scalar::Int(511));
        assert_eq!(resolve_plain("0x1F"), Scalar::Int(31));
        assert_eq!(resolve_plain("1_000"), Scalar::Int(1000));
        assert_eq!(resolve_plain("-12"), Scalar::Int(-12));
        assert_eq!(resolve_plain("1234.56789"), Scalar::Float(1234.56789));
        assert_eq!(resolve_plain("1e3"), Scalar::Float(1000.0));
        assert_eq!(resolve_plain("~"), Scalar::Null);
        assert_eq!(resolve_plain("1.2.3"), Scalar::Str("1.2.3".into()));
        assert_eq!(
            resolve_plain("2024-01-01"),
            Scalar::Time("2024-01-01T00:00:00Z".into())
        );
        assert_eq!(
            resolve_plain("2024-01-01T10:00:00.5+02:00"),
            Scalar::Time("2024-01-01T10:00:00.5+02:00".into())
        );
        assert_eq!(resolve_plain("12:30"), Scalar::Str("12:30".into()));
    }

    #[test]
    fn float_formats_match_go() {
        assert_eq!(format_float_f(1234568000.0), "1234568000");
        assert_eq!(format_float_f(1e21), "1000000000000000000000");
        assert_eq!(format_float_f(1234.56789), "1234.56789");
        assert_eq!(format_float_f(0.000123), "0.000123");
        assert_eq!(format_float_json(25.4), "25.4");
        assert_eq!(format_float_json(1e21), "1e+21");
        assert_eq!(format_float_yaml(1234.56789), "1234.56789");
        assert_eq!(format_float_yaml(1e-7), "1e-07");
        assert_eq!(format_float_yaml(1234568000.0), "1.234568e+09");
    }

    #[test]
    fn mac_aad_reformat() {
        assert_eq!(
            rfc3339_roundtrip("2023-12-25T10:31:01.123+00:00").unwrap(),
            "2023-12-25T10:31:01Z"
        );
    }
}
