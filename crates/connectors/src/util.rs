//! Shared helpers: BOM handling, JSON with located errors, safe error messages.

use custody_model::{InputError, Location};
use serde::de::DeserializeOwned;
use serde_json::Value;

pub fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// serde's messages quote offending values (`invalid type: string "…"`), and an
/// offending value may be secret material: replace every quoted value.
pub fn safe_message(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(start) = rest.find('"') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let mut end = None;
        let mut escaped = false;
        for (i, c) in after.char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    end = Some(i);
                    break;
                }
                _ => escaped = false,
            }
        }
        match end {
            Some(e) => {
                out.push_str("(value withheld)");
                rest = &after[e + 1..];
            }
            None => {
                out.push_str("(value withheld)");
                rest = "";
            }
        }
    }
    out.push_str(rest);
    // `unknown variant `x`` also quotes input, in backticks.
    if let Some(i) = out.find("unknown variant `") {
        out.truncate(i + "unknown variant".len());
    }
    out
}

/// Parses bytes as one JSON document; a syntax error is located by line and column.
pub fn parse_json(connector: &str, path: &str, bytes: &[u8]) -> Result<Value, InputError> {
    let text = strip_bom(bytes);
    if text.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(InputError::new(
            connector,
            path,
            Location::File,
            "the file is empty",
        ));
    }
    serde_json::from_slice(text).map_err(|e| json_error(connector, path, &e))
}

pub fn json_error(connector: &str, path: &str, e: &serde_json::Error) -> InputError {
    let msg = safe_message(&e.to_string());
    // serde_json appends " at line L column C"; we carry that in the location.
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    let what = if e.is_eof() {
        format!("truncated JSON: {msg}")
    } else {
        format!("invalid JSON: {msg}")
    };
    InputError::new(
        connector,
        path,
        Location::LineCol(e.line() as u64, e.column() as u64),
        what,
    )
}

/// Deserialises one record of a larger document; errors carry the JSON pointer of
/// the failing field (`base` is the record's own pointer).
pub fn record<T: DeserializeOwned>(
    connector: &str,
    path: &str,
    base: &str,
    value: &Value,
) -> Result<T, InputError> {
    serde_path_to_error::deserialize(value).map_err(
        |e: serde_path_to_error::Error<serde_json::Error>| {
            let mut pointer = base.to_string();
            for seg in e.path().iter() {
                use serde_path_to_error::Segment;
                match seg {
                    Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
                    Segment::Map { key } => {
                        pointer.push('/');
                        pointer.push_str(&Location::escape_token(key));
                    }
                    Segment::Enum { variant } => {
                        pointer.push('/');
                        pointer.push_str(&Location::escape_token(variant));
                    }
                    Segment::Unknown => pointer.push_str("/?"),
                }
            }
            InputError::new(
                connector,
                path,
                Location::Pointer(pointer),
                safe_message(&e.inner().to_string()),
            )
        },
    )
}

/// A node fact at a JSON pointer.
pub fn node_at(
    system: &str,
    label: custody_model::Label,
    kind: &str,
    keys: Vec<custody_model::Key>,
    name: Option<&str>,
    props: serde_json::Map<String, Value>,
    at: &str,
) -> custody_model::Fact {
    custody_model::Fact::Node(custody_model::NodeFact {
        label,
        kind: kind.into(),
        system: system.into(),
        keys,
        name: name.map(str::to_string),
        props,
        prov: custody_model::Provenance::at(Location::Pointer(at.to_string())),
    })
}

/// An edge fact at a JSON pointer; `props` is an object (anything else is none).
pub fn edge_at(
    kind: custody_model::EdgeKind,
    from: custody_model::Endpoint,
    to: custody_model::Endpoint,
    props: Value,
    at: &str,
) -> custody_model::Fact {
    custody_model::Fact::Edge(custody_model::EdgeFact {
        kind,
        from,
        to,
        props: match props {
            Value::Object(m) => m,
            _ => serde_json::Map::new(),
        },
        prov: custody_model::Provenance::at(Location::Pointer(at.to_string())),
    })
}

/// An edge fact between two (label, key) endpoints, at a JSON pointer.
pub fn edge_between(
    kind: custody_model::EdgeKind,
    from: (custody_model::Label, custody_model::Key),
    to: (custody_model::Label, custody_model::Key),
    props: Value,
    at: &str,
) -> custody_model::Fact {
    edge_at(
        kind,
        custody_model::Endpoint::new(from.0, from.1),
        custody_model::Endpoint::new(to.0, to.1),
        props,
        at,
    )
}

/// The JSON array a list endpoint returns; problems go to `parsed.errors`.
pub fn load_array(
    connector: &str,
    file: &crate::SourceFile<'_>,
    parsed: &mut crate::Parsed,
) -> Option<Vec<Value>> {
    match parse_json(connector, file.path, file.bytes) {
        Ok(Value::Array(items)) => Some(items),
        Ok(_) => {
            parsed.errors.push(InputError::new(
                connector,
                file.path,
                Location::Pointer(String::new()),
                "expected a JSON array (the API's response body)",
            ));
            None
        }
        Err(e) => {
            parsed.errors.push(e);
            None
        }
    }
}

/// What a `describe`/`get` (one object) or a `list` (an array of them) prints:
/// the objects; problems go to `parsed.errors`.
pub fn load_one_or_many(
    connector: &str,
    file: &crate::SourceFile<'_>,
    parsed: &mut crate::Parsed,
) -> Option<Vec<Value>> {
    match parse_json(connector, file.path, file.bytes) {
        Ok(Value::Array(items)) => Some(items),
        Ok(other) => Some(vec![other]),
        Err(e) => {
            parsed.errors.push(e);
            None
        }
    }
}

/// A list answer that may come wrapped (`{"value": [...]}` from Graph,
/// `{"data": [...]}` from `az graph query`) or bare: the list's JSON pointer
/// prefix and its items; problems go to `parsed.errors`, naming `what` the
/// answer should be.
pub fn load_list(
    connector: &str,
    file: &crate::SourceFile<'_>,
    parsed: &mut crate::Parsed,
    field: &str,
    what: &str,
) -> Option<(String, Vec<Value>)> {
    let doc = match parse_json(connector, file.path, file.bytes) {
        Ok(d) => d,
        Err(e) => {
            parsed.errors.push(e);
            return None;
        }
    };
    let (pointer, message) = match doc {
        Value::Array(items) => return Some((String::new(), items)),
        Value::Object(mut o) => match o.remove(field) {
            Some(Value::Array(items)) => return Some((format!("/{field}"), items)),
            _ => (format!("/{field}"), format!("expected `{field}`: {what}")),
        },
        _ => (String::new(), format!("expected {what}")),
    };
    parsed.errors.push(InputError::new(
        connector,
        file.path,
        Location::Pointer(pointer),
        message,
    ));
    None
}

/// The array at `key` of a JSON object, or an error at that pointer.
pub fn array_at<'v>(
    connector: &str,
    path: &str,
    doc: &'v Value,
    key: &str,
) -> Result<&'v [Value], InputError> {
    match doc.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(InputError::new(
            connector,
            path,
            Location::pointer(&[&key]),
            format!("`{key}` should be a list"),
        )),
    }
}

/// Reads the URL-encoded policy documents of the raw IAM API as well as the decoded
/// objects the AWS CLI prints.
pub fn policy_document(v: &Value) -> Value {
    match v {
        Value::String(s) => {
            let decoded = percent_decode(s);
            serde_json::from_str(&decoded).unwrap_or(Value::String(decoded))
        }
        other => other.clone(),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Where and what a CSV reading error is, without quoting the row.
pub fn csv_error(connector: &str, path: &str, e: &csv::Error) -> InputError {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    let msg = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("row has {len} fields, the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "row is not valid UTF-8".to_string(),
        _ => "unreadable row".to_string(),
    };
    InputError::new(connector, path, Location::Line(line), msg)
}

/// A CSV cell that the system uses to say "nothing here".
pub fn csv_value(cell: &str) -> Option<&str> {
    let c = cell.trim();
    match c {
        "" | "N/A" | "n/a" | "not_supported" | "no_information" | "null" | "-" => None,
        _ => Some(c),
    }
}

/// Each record of a list, deserialised: `(its JSON pointer, the record)`.
/// Every item counts in `parsed.records`; one that does not deserialise is
/// an error at its pointer in `parsed.errors` and is left out, and the rest
/// of the list is kept. `prefix` is the list's own pointer (`""` for a
/// top-level array).
pub fn records<T: DeserializeOwned>(
    connector: &str,
    path: &str,
    prefix: &str,
    items: &[Value],
    parsed: &mut crate::Parsed,
) -> Vec<(String, T)> {
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        parsed.records += 1;
        let base = format!("{prefix}/{i}");
        match record(connector, path, &base, item) {
            Ok(r) => out.push((base, r)),
            Err(e) => parsed.errors.push(e),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_never_echo_values() {
        let m = safe_message(r#"invalid type: string "ghp_secretvalue", expected a sequence"#);
        assert_eq!(
            m,
            "invalid type: string (value withheld), expected a sequence"
        );
        assert_eq!(
            safe_message("missing field `UserName`"),
            "missing field `UserName`"
        );
        assert_eq!(
            safe_message("unknown variant `hunter2`, expected one of"),
            "unknown variant"
        );
    }

    #[test]
    fn url_encoded_policies_decode() {
        let v = Value::String("%7B%22Version%22%3A%222012-10-17%22%7D".into());
        assert_eq!(
            policy_document(&v),
            serde_json::json!({"Version": "2012-10-17"})
        );
    }

    #[test]
    fn truncated_json_is_located() {
        let e = parse_json("c", "f.json", b"{\n \"a\": [1,\n").unwrap_err();
        assert!(matches!(e.location, Location::LineCol(3, _)), "{e:?}");
        assert!(e.message.starts_with("truncated JSON"));
    }
}
