//! Strict parsing of `application/x-www-form-urlencoded` bodies.
//!
//! RFC 6749 section 3.1 says parameters sent without a value are treated as omitted and that a
//! parameter must not be sent more than once. Lenient parsers (DOT's among them) take the last
//! of two values or replace bad UTF-8 silently; here each of those is an error the endpoint
//! answers with `invalid_request`.

use std::fmt;

/// Why a body is not a valid form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormError {
    /// A `%` not followed by two hexadecimal digits.
    BadPercentEncoding,
    /// A name or value that does not decode to UTF-8.
    InvalidUtf8,
    /// A NUL character in a name or value.
    NulByte,
    /// The same parameter twice.
    Duplicate(String),
}

impl FormError {
    /// A description safe to send back: names a parameter at most, never a value.
    pub fn description(&self) -> &'static str {
        match self {
            Self::BadPercentEncoding => "The request body has a malformed percent-encoding.",
            Self::InvalidUtf8 => "The request body is not valid UTF-8.",
            Self::NulByte => "The request body contains a NUL character.",
            Self::Duplicate(_) => "A parameter was included more than once.",
        }
    }
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Duplicate(name) => write!(f, "parameter {name:?} repeated"),
            other => f.write_str(other.description()),
        }
    }
}

/// A parsed form: each name once, in the order sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// The value of `name`, or `None` when it is absent or empty (RFC 6749 section 3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

/// Up to this many parameters, a repeated name is found by scanning (faster than hashing for
/// the handful a real request sends); beyond it, by a set, so the check stays linear however
/// many parameters a hostile body carries.
const SCAN_LIMIT: usize = 16;

/// Parses a form body. Empty segments (`a=1&&b=2`) are skipped; a segment without `=` is a
/// name with an empty value.
pub fn parse(body: &[u8]) -> Result<Form, FormError> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    for segment in body.split(|&b| b == b'&') {
        if segment.is_empty() {
            continue;
        }
        let (name, value) = match segment.iter().position(|&b| b == b'=') {
            Some(i) => (&segment[..i], &segment[i + 1..]),
            None => (segment, &[][..]),
        };
        let name = decode(name)?;
        let value = decode(value)?;
        let repeated = if pairs.len() < SCAN_LIMIT {
            pairs.iter().any(|(k, _)| *k == name)
        } else {
            if seen.is_empty() {
                seen.extend(pairs.iter().map(|(k, _)| k.clone()));
            }
            !seen.insert(name.clone())
        };
        if repeated {
            return Err(FormError::Duplicate(name));
        }
        pairs.push((name, value));
    }
    Ok(Form { pairs })
}

/// Whether `path` is an absolute path on this server, safe to redirect a browser to after
/// sign-in: no control character, whitespace or backslash anywhere (browsers drop tabs and
/// newlines and read `\` as `/`, turning `/\t/evil.example` into `//evil.example`), no `//`
/// prefix, and its path part (before any query) still so once percent-decoded.
pub fn is_local_path(path: &str) -> bool {
    fn local(p: &str) -> bool {
        p.starts_with('/')
            && !p.starts_with("//")
            && !p
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    }
    let path_part = path.split(['?', '#']).next().unwrap_or(path);
    local(path) && decode(path_part.as_bytes()).is_ok_and(|d| local(&d))
}

/// Decodes one component: `+` is a space, `%XX` a byte; the result must be UTF-8 without NUL.
pub fn decode(input: &[u8]) -> Result<String, FormError> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = input.get(i + 1).and_then(|&c| hex(c));
                let lo = input.get(i + 2).and_then(|&c| hex(c));
                match (hi, lo) {
                    (Some(h), Some(l)) => out.push(h << 4 | l),
                    _ => return Err(FormError::BadPercentEncoding),
                }
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    if out.contains(&0) {
        return Err(FormError::NulByte);
    }
    String::from_utf8(out).map_err(|_| FormError::InvalidUtf8)
}

/// Percent-encodes a value for a query string or form body: everything but the unreserved
/// characters (`A-Z a-z 0-9 - . _ ~`) is escaped.
pub fn encode(value: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(value.len());
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
    out
}

/// Encodes pairs as `a=1&b=2`.
pub fn encode_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .into_iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_names_values_and_decoding() {
        let form = parse(b"token=abc%2Bd&client_id=my+app&flag").expect("valid form");
        assert_eq!(form.get("token"), Some("abc+d"));
        assert_eq!(form.get("client_id"), Some("my app"));
        assert_eq!(
            form.get("flag"),
            None,
            "a parameter without value is omitted"
        );
        assert_eq!(form.len(), 3);
    }

    #[test]
    fn empty_values_count_as_omitted() {
        let form = parse(b"client_secret=&token=x").expect("valid form");
        assert_eq!(form.get("client_secret"), None);
        assert!(!form.contains("client_secret"));
    }

    #[test]
    fn refuses_duplicates_even_with_equal_values() {
        assert_eq!(
            parse(b"token=a&token=a"),
            Err(FormError::Duplicate("token".into()))
        );
        assert_eq!(
            parse(b"a=1&b=2&%61=3"),
            Err(FormError::Duplicate("a".into())),
            "names are compared after decoding"
        );
    }

    #[test]
    fn duplicates_are_found_among_many_parameters_in_linear_time() {
        let many: Vec<String> = (0..10_000).map(|i| format!("p{i}=v")).collect();
        let body = many.join("&");
        assert_eq!(parse(body.as_bytes()).expect("distinct").len(), 10_000);
        for repeated in ["p3", "p9999", "p20"] {
            let body = format!("{body}&{repeated}=again");
            assert_eq!(
                parse(body.as_bytes()),
                Err(FormError::Duplicate(repeated.into())),
                "{repeated}"
            );
        }
        let early = "a=1&b=2&a=3";
        assert_eq!(
            parse(early.as_bytes()),
            Err(FormError::Duplicate("a".into()))
        );
    }

    #[test]
    fn refuses_bad_encodings() {
        assert_eq!(parse(b"token=%zz"), Err(FormError::BadPercentEncoding));
        assert_eq!(parse(b"token=%4"), Err(FormError::BadPercentEncoding));
        assert_eq!(parse(b"token=%ff%fe"), Err(FormError::InvalidUtf8));
        assert_eq!(parse(b"token=\xff"), Err(FormError::InvalidUtf8));
        assert_eq!(parse(b"token=a%00b"), Err(FormError::NulByte));
    }

    #[test]
    fn skips_empty_segments() {
        let form = parse(b"&&a=1&&").expect("valid form");
        assert_eq!(form.get("a"), Some("1"));
        assert_eq!(form.len(), 1);
    }

    #[test]
    fn encode_then_decode() {
        assert_eq!(encode("a b&c=d/é~"), "a%20b%26c%3Dd%2F%C3%A9~");
        assert_eq!(
            decode(encode("a b&c=d/é~").as_bytes()).as_deref(),
            Ok("a b&c=d/é~")
        );
        assert_eq!(encode_pairs([("x", "1 2"), ("y", "")]), "x=1%202&y=");
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse(&body);
        }

        #[test]
        fn round_trips_encoded_pairs(
            pairs in proptest::collection::btree_map("[^\u{0}]{1,12}", "[^\u{0}]{1,24}", 0..6)
        ) {
            let body = pairs
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect::<Vec<_>>()
                .join("&");
            let form = parse(body.as_bytes()).expect("encoded pairs parse");
            for (k, v) in &pairs {
                prop_assert_eq!(form.get(k), Some(v.as_str()));
            }
        }
    }
}
