//! Scalar resolution and number formatting, as go-yaml and Go's `strconv`
//! do them.
//!
//! Two resolvers share this code: go-yaml v3's (how kyaml reads manifests:
//! only `true`/`false` are booleans) and go-yaml v2's (how the output writer
//! decides whether a string must be quoted: YAML 1.1, where `yes`, `on`, `y`
//! … are booleans too). Both also read ints (Go `ParseInt` base 0, so `0644`
//! is octal and `0x1F` hex, with `_` separators dropped), floats, nulls and
//! timestamps.

/// What an untagged plain scalar means.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Timestamp(Timestamp),
    /// The merge key `<<` (only meaningful as a mapping key).
    Merge,
    Str,
}

/// Which boolean spellings the resolver accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// go-yaml v3 (kyaml input): `true`/`false` in three casings.
    V3,
    /// go-yaml v2 (kustomize output): also `y`/`yes`/`on`/`n`/`no`/`off`.
    V2,
}

/// The resolution table's hint for the first byte.
fn hint(s: &str) -> u8 {
    match s.as_bytes().first() {
        None => b'N',
        Some(b'+' | b'-') => b'S',
        Some(b'0'..=b'9') => b'D',
        Some(b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~') => b'M',
        Some(b'.') => b'.',
        Some(_) => 0,
    }
}

fn lookup(s: &str, schema: Schema) -> Option<Resolved> {
    let r = match s {
        "true" | "True" | "TRUE" => Resolved::Bool(true),
        "false" | "False" | "FALSE" => Resolved::Bool(false),
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" if schema == Schema::V2 => {
            Resolved::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" if schema == Schema::V2 => {
            Resolved::Bool(false)
        }
        "" | "~" | "null" | "Null" | "NULL" => Resolved::Null,
        ".nan" | ".NaN" | ".NAN" => Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Resolved::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Resolved::Float(f64::NEG_INFINITY),
        "<<" => Resolved::Merge,
        _ => return None,
    };
    Some(r)
}

/// go-yaml's `resolve("", s)` for an untagged plain scalar.
pub fn resolve_plain(s: &str, schema: Schema) -> Resolved {
    let h = hint(s);
    if h == 0 {
        return Resolved::Str;
    }
    if let Some(r) = lookup(s, schema) {
        return r;
    }
    match h {
        b'.' => {
            if let Some(f) = go_parse_float(s) {
                return Resolved::Float(f);
            }
        }
        b'D' | b'S' => {
            if let Some(t) = parse_timestamp(s) {
                return Resolved::Timestamp(t);
            }
            let plain: std::borrow::Cow<str> = if s.contains('_') {
                s.replace('_', "").into()
            } else {
                s.into()
            };
            if let Some(i) = go_parse_int(&plain) {
                return Resolved::Int(i);
            }
            if let Some(u) = go_parse_uint_base0(&plain) {
                return Resolved::Uint(u);
            }
            if is_yaml_float(&plain)
                && let Some(f) = go_parse_float(&plain)
            {
                return Resolved::Float(f);
            }
            // `0b…`/`-0b…` and `0o…` are already covered by base-0 ParseInt.
        }
        _ => {}
    }
    Resolved::Str
}

/// Whether go-yaml v2 writes `s` as a plain scalar from the value side:
/// it must resolve back to a string and not look like a YAML 1.1 base-60
/// float (`encoder.stringv`).
pub fn plain_reads_back_as_string(s: &str) -> bool {
    // Fast path: the resolver only looks further for these first bytes.
    if hint(s) == 0 {
        return true;
    }
    resolve_plain(s, Schema::V2) == Resolved::Str && !is_base60_float(s)
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !(b[0] == b'+' || b[0] == b'-' || b[0].is_ascii_digit()) || !s.contains(':')
    {
        return false;
    }
    let mut i = usize::from(b[0] == b'+' || b[0] == b'-');
    if i >= b.len() || !b[i].is_ascii_digit() {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        // [0-5]?[0-9]: one or two digits, the first of two at most 5.
        let d1 = i < b.len() && b[i].is_ascii_digit();
        let d2 = i + 1 < b.len() && b[i + 1].is_ascii_digit();
        if d1 && d2 && b[i] <= b'5' {
            i += 2;
        } else if d1 {
            i += 1;
        } else {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
/// Whether a plain scalar matches go-yaml's float pattern (before the
/// `.inf`/`.nan` forms).
pub fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go `strconv.ParseInt(s, 0, 64)` on text without underscores.
pub fn go_parse_int(s: &str) -> Option<i64> {
    let (neg, rest) = match s.as_bytes().first()? {
        b'+' => (false, &s[1..]),
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    let mag = go_parse_uint_base0(rest)?;
    if neg {
        if mag <= 1u64 << 63 {
            Some((mag as i64).wrapping_neg())
        } else {
            None
        }
    } else if mag < 1u64 << 63 {
        Some(mag as i64)
    } else {
        None
    }
}

/// Go `strconv.ParseUint(s, 0, 64)` on text without underscores.
pub fn go_parse_uint_base0(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.is_empty() {
        return None;
    }
    let (base, digits): (u64, &[u8]) = if b[0] == b'0' {
        if b.len() >= 3 {
            match b[1] | 0x20 {
                b'b' => (2, &b[2..]),
                b'o' => (8, &b[2..]),
                b'x' => (16, &b[2..]),
                _ => (8, &b[1..]),
            }
        } else {
            (8, &b[1..])
        }
    } else {
        (10, b)
    };
    let mut n: u64 = 0;
    for &c in digits {
        let d = match c {
            b'0'..=b'9' => u64::from(c - b'0'),
            b'a'..=b'z' => u64::from(c - b'a') + 10,
            b'A'..=b'Z' => u64::from(c - b'A') + 10,
            _ => return None,
        };
        if d >= base {
            return None;
        }
        n = n.checked_mul(base)?.checked_add(d)?;
    }
    Some(n)
}

/// Go `strconv.ParseFloat(s, 64)` for decimal text (with Go's rules for `_`
/// separators); `None` on a syntax error or overflow to infinity.
pub fn go_parse_float(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let mut saw_digits = false;
    let mut saw_dot = false;
    let mut underscores = false;
    while i < b.len() {
        match b[i] {
            b'_' => underscores = true,
            b'.' if !saw_dot => saw_dot = true,
            b'0'..=b'9' => saw_digits = true,
            _ => break,
        }
        i += 1;
    }
    if !saw_digits {
        return None;
    }
    if i < b.len() && (b[i] | 0x20) == b'e' {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if i >= b.len() || !b[i].is_ascii_digit() {
            return None;
        }
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            if b[i] == b'_' {
                underscores = true;
            }
            i += 1;
        }
    }
    if i != b.len() {
        return None;
    }
    let text: std::borrow::Cow<str> = if underscores {
        if !underscore_ok(s) {
            return None;
        }
        s.replace('_', "").into()
    } else {
        s.into()
    };
    let f: f64 = text.parse().ok()?;
    f.is_finite().then_some(f)
}

/// Go's `underscoreOK` for decimal numbers: each `_` sits between digits.
fn underscore_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut saw = b'^';
    let mut i = usize::from(!b.is_empty() && (b[0] == b'+' || b[0] == b'-'));
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// The shortest decimal digits of a finite `f` and its decimal point
/// position: `f = ±0.d1d2…dn × 10^dp` (as Go's `strconv` computes them).
fn shortest_digits(f: f64) -> (bool, Vec<u8>, i32) {
    digits_of_e_format(&format!("{:e}", f))
}

/// Digits and decimal point position from Rust's shortest `{:e}` text.
fn digits_of_e_format(text: &str) -> (bool, Vec<u8>, i32) {
    let (neg, text) = match text.strip_prefix('-') {
        Some(t) => (true, t),
        None => (false, text),
    };
    let (mantissa, exp) = text.split_once('e').unwrap_or((text, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    while digits.len() > 1 && digits.last() == Some(&b'0') {
        digits.pop();
    }
    if digits == [b'0'] {
        return (neg, digits, 1);
    }
    (neg, digits, exp + 1)
}

/// Go's `encoding/json` text for a finite float64.
pub fn go_json_float(f: f64) -> String {
    let abs = f.abs();
    let (neg, digits, dp) = shortest_digits(f);
    let mut out = String::new();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        fmt_e(&mut out, neg, &digits, dp, digits.len().saturating_sub(1));
        // Go's JSON encoder shortens `e-07` to `e-7`.
        let b = out.as_bytes();
        let n = b.len();
        if n >= 4 && b[n - 4] == b'e' && b[n - 3] == b'-' && b[n - 2] == b'0' {
            out.remove(n - 2);
        }
    } else {
        let prec = (digits.len() as i32 - dp).max(0) as usize;
        fmt_f(&mut out, neg, &digits, dp, prec);
    }
    out
}

/// Go `strconv.FormatFloat(f, 'g', -1, 64)` for a finite `f`.
pub fn go_format_g(f: f64) -> String {
    let (neg, digits, dp) = shortest_digits(f);
    let mut out = String::new();
    let exp = dp - 1;
    if !(-4..6).contains(&exp) {
        fmt_e(&mut out, neg, &digits, dp, digits.len().saturating_sub(1));
    } else {
        let prec = (digits.len() as i32 - dp).max(0) as usize;
        fmt_f(&mut out, neg, &digits, dp, prec);
    }
    out
}

/// Go `strconv.FormatFloat(f, 'g', -1, 32)`: shortest digits of the value
/// as a float32 (how sigs.k8s.io/yaml writes float map keys).
pub fn go_format_g32(f: f64) -> String {
    let f32v = f as f32;
    if f32v.is_nan() {
        return ".nan".into();
    }
    if f32v.is_infinite() {
        return if f32v > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        };
    }
    let text = format!("{:e}", f32v);
    let (neg, digits, dp) = digits_of_e_format(&text);
    let mut out = String::new();
    let exp = dp - 1;
    if !(-4..6).contains(&exp) {
        fmt_e(&mut out, neg, &digits, dp, digits.len().saturating_sub(1));
    } else {
        let prec = (digits.len() as i32 - dp).max(0) as usize;
        fmt_f(&mut out, neg, &digits, dp, prec);
    }
    out
}

fn fmt_e(out: &mut String, neg: bool, digits: &[u8], dp: i32, prec: usize) {
    if neg {
        out.push('-');
    }
    out.push(char::from(digits.first().copied().unwrap_or(b'0')));
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push(char::from(digits.get(i).copied().unwrap_or(b'0')));
        }
    }
    out.push('e');
    let exp = if digits == [b'0'] { 0 } else { dp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    let e = exp.unsigned_abs();
    if e < 10 {
        out.push('0');
    }
    out.push_str(&e.to_string());
}

fn fmt_f(out: &mut String, neg: bool, digits: &[u8], dp: i32, prec: usize) {
    if neg {
        out.push('-');
    }
    if dp > 0 {
        for i in 0..dp as usize {
            out.push(char::from(digits.get(i).copied().unwrap_or(b'0')));
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec as i32 {
            let j = dp + i - 1;
            let d = if j < 0 {
                b'0'
            } else {
                digits.get(j as usize).copied().unwrap_or(b'0')
            };
            out.push(char::from(d));
        }
    }
}

/// A YAML timestamp as go-yaml reads it with Go's `time.Parse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
    /// Offset east of UTC in seconds; `None` for UTC (`Z` or no zone).
    offset: Option<i32>,
}

impl Timestamp {
    /// The text Go's `encoding/json` writes for the `time.Time`
    /// (RFC 3339 with nanoseconds, trailing zeros dropped).
    pub fn to_rfc3339_nano(self) -> String {
        let mut s = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        );
        if self.nanos > 0 {
            let frac = format!("{:09}", self.nanos);
            s.push('.');
            s.push_str(frac.trim_end_matches('0'));
        }
        match self.offset {
            None | Some(0) => s.push('Z'),
            Some(off) => {
                let sign = if off < 0 { '-' } else { '+' };
                let a = off.unsigned_abs() / 60;
                s.push_str(&format!("{sign}{:02}:{:02}", a / 60, a % 60));
            }
        }
        s
    }
}

/// go-yaml's `parseTimestamp`: the layouts `2006-1-2T15:4:5.999999999Z07:00`
/// (also with `t` or a space, the latter without zone) and `2006-1-2`, with
/// `time.Parse`'s rules for one-or-two-digit fields and range checks.
pub fn parse_timestamp(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    for sep in [Some(b'T'), Some(b't'), Some(b' '), None] {
        if let Some(t) = parse_layout(b, sep) {
            return Some(t);
        }
    }
    None
}

/// Go's `getnum(s, false)`: one or two digits.
fn getnum(b: &[u8], i: &mut usize) -> Option<u32> {
    let d0 = *b.get(*i).filter(|c| c.is_ascii_digit())?;
    *i += 1;
    match b.get(*i) {
        Some(d1) if d1.is_ascii_digit() => {
            *i += 1;
            Some(u32::from(d0 - b'0') * 10 + u32::from(d1 - b'0'))
        }
        _ => Some(u32::from(d0 - b'0')),
    }
}

fn expect(b: &[u8], i: &mut usize, c: u8) -> Option<()> {
    if b.get(*i) == Some(&c) {
        *i += 1;
        Some(())
    } else {
        None
    }
}

fn parse_layout(b: &[u8], sep: Option<u8>) -> Option<Timestamp> {
    let year = (b[0] - b'0') as u32 * 1000
        + (b[1] - b'0') as u32 * 100
        + (b[2] - b'0') as u32 * 10
        + (b[3] - b'0') as u32;
    let mut i = 5;
    let month = getnum(b, &mut i)?;
    if !(1..=12).contains(&month) {
        return None;
    }
    expect(b, &mut i, b'-')?;
    let day = getnum(b, &mut i)?;
    let mut t = Timestamp {
        year,
        month,
        day,
        hour: 0,
        minute: 0,
        second: 0,
        nanos: 0,
        offset: None,
    };
    if let Some(sep) = sep {
        if sep == b' ' {
            // A space in a Go layout matches any run of spaces.
            if i < b.len() && b[i] != b' ' {
                return None;
            }
            while i < b.len() && b[i] == b' ' {
                i += 1;
            }
        } else {
            expect(b, &mut i, sep)?;
        }
        t.hour = getnum(b, &mut i)?;
        if t.hour >= 24 {
            return None;
        }
        expect(b, &mut i, b':')?;
        t.minute = getnum(b, &mut i)?;
        if t.minute >= 60 {
            return None;
        }
        expect(b, &mut i, b':')?;
        t.second = getnum(b, &mut i)?;
        if t.second >= 60 {
            return None;
        }
        // Optional fraction (`.` or `,` then digits), any number of digits.
        if i + 1 < b.len() && (b[i] == b'.' || b[i] == b',') && b[i + 1].is_ascii_digit() {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let frac = &b[start..i.min(start + 9)];
            let mut ns: u32 = 0;
            for k in 0..9 {
                ns = ns * 10 + frac.get(k).map_or(0, |d| u32::from(d - b'0'));
            }
            t.nanos = ns;
        }
        if sep != b' ' {
            if b.get(i) == Some(&b'Z') {
                i += 1;
                t.offset = Some(0);
            } else {
                if b.len() < i + 6 || b[i + 3] != b':' {
                    return None;
                }
                let sign = b[i];
                let two = |j: usize| -> Option<i32> {
                    let (x, y) = (b[j], b[j + 1]);
                    (x.is_ascii_digit() && y.is_ascii_digit())
                        .then(|| i32::from(x - b'0') * 10 + i32::from(y - b'0'))
                };
                let hh = two(i + 1)?;
                let mm = two(i + 4)?;
                if hh > 24 || mm > 60 || (sign != b'+' && sign != b'-') {
                    return None;
                }
                let off = (hh * 60 + mm) * 60;
                t.offset = Some(if sign == b'-' { -off } else { off });
                i += 6;
            }
        }
    }
    if i != b.len() {
        return None;
    }
    if day < 1 || day > days_in(month, year) {
        return None;
    }
    Some(t)
}

fn days_in(month: u32, year: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_quoting_decisions() {
        for s in [
            "true",
            "yes",
            "Yes",
            "on",
            "OFF",
            "n",
            "Y",
            "null",
            "~",
            "",
            "1",
            "-1",
            "+1",
            "1.5",
            "0644",
            "0x1F",
            "0o17",
            "0b101",
            "1_000",
            "1e3",
            "1E+3",
            ".5",
            "-.5",
            "1.",
            ".inf",
            "-.Inf",
            ".NaN",
            "08",
            "09.5",
            "2020-01-01",
            "2001-12-14t21:59:43.10-05:00",
            "2001-12-14 21:59:43.10",
            "190:20:30",
            "1:20",
            "12345678901234567890",
            "123456789012345678901234567890",
            "-9223372036854775808",
            ".5_0",
            "1_",
        ] {
            assert!(!plain_reads_back_as_string(s), "{s:?} must be quoted");
        }
        for s in [
            "nginx",
            "True1",
            "yess",
            "0x",
            "1e400",
            "2020-13-01",
            "2020-02-30",
            "1:60",
            "0b",
            "+",
            "-",
            ".",
            "..",
            "1.2.3",
            "v1",
            "1-2",
            "2020-01-01T",
            "<<",
            "._5",
            "0xg",
            "1e",
            "Null1",
            "0.0.0.0",
            "1,000",
        ] {
            assert!(plain_reads_back_as_string(s), "{s:?} must stay plain");
        }
    }

    #[test]
    fn v3_reads_only_true_false_as_bool() {
        assert_eq!(resolve_plain("yes", Schema::V3), Resolved::Str);
        assert_eq!(resolve_plain("on", Schema::V3), Resolved::Str);
        assert_eq!(resolve_plain("True", Schema::V3), Resolved::Bool(true));
        assert_eq!(resolve_plain("0644", Schema::V3), Resolved::Int(420));
        assert_eq!(resolve_plain("0x1F", Schema::V3), Resolved::Int(31));
        assert_eq!(resolve_plain("1_000", Schema::V3), Resolved::Int(1000));
        assert_eq!(resolve_plain("-0", Schema::V3), Resolved::Int(0));
        assert_eq!(
            resolve_plain("18446744073709551615", Schema::V3),
            Resolved::Uint(u64::MAX)
        );
        assert_eq!(resolve_plain("1e3", Schema::V3), Resolved::Float(1000.0));
        assert_eq!(resolve_plain("08", Schema::V3), Resolved::Float(8.0));
        assert_eq!(resolve_plain("1e400", Schema::V3), Resolved::Str);
    }

    #[test]
    fn go_float_formats() {
        assert_eq!(go_format_g(1.5), "1.5");
        assert_eq!(go_format_g(1e6), "1e+06");
        assert_eq!(go_format_g(1234567.5), "1.2345675e+06");
        assert_eq!(go_format_g(123456.5), "123456.5");
        assert_eq!(go_format_g(0.0001), "0.0001");
        assert_eq!(go_format_g(0.00001), "1e-05");
        assert_eq!(go_format_g(-2.5e-10), "-2.5e-10");
        assert_eq!(go_format_g(1e100), "1e+100");
        assert_eq!(go_format_g(1e20), "1e+20");
        assert_eq!(go_json_float(1e20), "100000000000000000000");
        assert_eq!(go_json_float(1e21), "1e+21");
        assert_eq!(go_json_float(1e-7), "1e-7");
        assert_eq!(go_json_float(1.5e-7), "1.5e-7");
        assert_eq!(go_json_float(0.000001), "0.000001");
        assert_eq!(go_json_float(-0.0), "-0");
        assert_eq!(go_json_float(2f64.powi(63)), "9223372036854776000");
        assert_eq!(go_json_float(12.25), "12.25");
    }

    #[test]
    fn timestamps() {
        let t = parse_timestamp("2020-01-01").unwrap();
        assert_eq!(t.to_rfc3339_nano(), "2020-01-01T00:00:00Z");
        let t = parse_timestamp("2001-12-14t21:59:43.10-05:00").unwrap();
        assert_eq!(t.to_rfc3339_nano(), "2001-12-14T21:59:43.1-05:00");
        let t = parse_timestamp("2001-12-14 21:59:43.10").unwrap();
        assert_eq!(t.to_rfc3339_nano(), "2001-12-14T21:59:43.1Z");
        let t = parse_timestamp("2001-2-3T4:5:6+00:00").unwrap();
        assert_eq!(t.to_rfc3339_nano(), "2001-02-03T04:05:06Z");
        assert!(parse_timestamp("2001-02-29").is_none());
        assert!(parse_timestamp("2000-02-29").is_some());
        assert!(parse_timestamp("2001-12-14 21:59:43.10 -5").is_none());
        assert!(parse_timestamp("20011-12-14").is_none());
    }
}
